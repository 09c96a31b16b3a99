# Protocol versions between two gateways (protocols/README.md, "Version 2"
# and "Negotiation").  France's gateway is version 1 only: its agreement
# with Kazakhstan lists protocol-versions="1".  Kazakhstan's agreement with
# France lists "1 2", so it builds new messages in version 2.
#
#  1. A case France opens is conducted in version 1 both ways: the request
#     and its reply, and both receipts, are version 1 bytes in both
#     journals.
#  2. A version 2 message posted to France is refused before
#     authentication (SCHEMA_INVALID, in a version 1 Error), and nothing
#     is committed; the same message in version 1 is receipted.
#  3. A case Kazakhstan opens goes out in version 2: France refuses it,
#     and the case is NOT_SENT on Kazakhstan's side.
#  4. France's agreement is reloaded with "1 2": a new case goes through in
#     version 2, while the case opened in version 1 keeps version 1.
#
# The journalled bytes are read back with `accord-audit export`, one file
# per message, and their root's namespace is checked.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP the curl command is not installed"
	exit 0
fi
plan 28
make_workdir protocol-versions
XMLSIG_TOOL="$ACCORD_BUILDDIR/tests/helpers/xmlsig_tool"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
export ACCORD_SRCDIR	# xmlsig_tool finds the schemas there
use_system_groups
sed -i 's|protocol-versions="1 2"|protocol-versions="1"|' \
    "$work/conf/demo-fr/partners/kz.xml"
kzlog="$work/kz.log"
frlog="$work/fr.log"
pki="$work/pki"
fr_url="https://127.0.0.1:$fr_port/accord/v1/messages"
V1=urn:accord:envelope:1
V2=urn:accord:envelope:2
uuid() { cat /proc/sys/kernel/random/uuid; }
now() { date -u +%FT%TZ; }
jsize() { cat "$work/var/$1/journal/"*.log | wc -c; }
in_journal() { cat "$work/var/$1/journal/"*.log | grep -a -q -- "$2"; }
# exported kz|fr CASE: export the case's messages from that journal into
# a new directory under $work/export (the messages in its messages/);
# prints the directory
exported() {
	mkdir -p "$work/export"
	d=$(mktemp -d "$work/export/$1-$2.XXXXXX")
	rmdir "$d"
	"$AUDIT" export "$2" --out "$d" "$work/var/$1/journal" >/dev/null 2>&1
	echo "$d"
}
# namespaces DIR [TYPE]: the root namespace of each exported message (of
# that type), one per line, sorted and unique
namespaces() {
	for f in "$1"/messages/[0-9]*-"${2:-}"*.xml; do
		[ -e "$f" ] || continue
		xmllint --nonet --xpath 'namespace-uri(/*)' "$f" 2>/dev/null ||
		    echo "(unreadable)"
	done | sort -u
}
# count DIR: how many messages were exported
count() { ls "$1"/messages/[0-9]*.xml 2>/dev/null | wc -l; }
# envelope FILE ID CASE CREATED: an unsigned envelope from Kazakhstan to
# France, from the example FILE, with this header
envelope() {
	sed -e "s|<MessageId>.*</MessageId>|<MessageId>$2</MessageId>|" \
	    -e "s|<CaseId>.*</CaseId>|<CaseId>$3</CaseId>|" \
	    -e "s|<From>.*</From>|<From><Country>KZ</Country><Authority>MVD</Authority></From>|" \
	    -e "s|<To>.*</To>|<To><Country>FR</Country><Authority>DGEF</Authority></To>|" \
	    -e "s|<Created>.*</Created>|<Created>$4</Created>|" \
	    -e "s|<AgreementId>.*</AgreementId>|<AgreementId>KZ-FR-READMISSION-1</AgreementId>|" \
	    "$ACCORD_SRCDIR/protocols/examples/valid/$1"
}
# post_to_fr FILE: POST FILE to France as Kazakhstan; the HTTP status,
# the answer in $work/out
post_to_fr() {
	curl -sS -o "$work/out" -w '%{http_code}' --max-time 20 \
	    --cacert "$pki/fr/ca.pem" --cert "$pki/kz/tls-client.pem" \
	    --key "$pki/kz/tls-client.key" -H 'Content-Type: application/xml' \
	    --data-binary @"$1" "$fr_url" 2>"$work/curl.err"
}
root_ns() { xmllint --nonet --xpath 'namespace-uri(/*)' "$1" 2>/dev/null; }
body ReadmissionRequest >"$work/request.xml"
body ReadmissionReply >"$work/reply.xml"
body Consultation >"$work/consultation.xml"

kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_kz
start_fr
check "France's summary shows version 1 only for Kazakhstan" \
	sh -c '"$1" -n -c "$2" 2>&1 | grep -q "^partner KZ .*protocol 1, "' \
	    _ "$ACCORDD" "$work/conf/demo-fr/accordd.xml"
check "Kazakhstan's shows versions 1 and 2 for France" \
	sh -c '"$1" -n -c "$2" 2>&1 | grep -q "^partner FR .*protocol 1,2, "' \
	    _ "$ACCORDD" "$work/conf/accordd.xml"

# ---- 1. a case France opens: version 1 both ways ---------------------------
out=$(fr submit KZ document=@"$work/request.xml" 2>&1)
case1=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "France's request reaches Kazakhstan ($case1)" \
	both 20 PENDING_REPLY "$case1"
out=$(kz submit FR case="$case1" document=@"$work/reply.xml" 2>&1)
check "Kazakhstan replies in that case ($out)" \
	sh -c 'printf "%s" "$1" | grep -q "^queued "' _ "$out"
check "the reply takes effect on both sides: ACCEPTED" \
	both 20 ACCEPTED "$case1"
check "... Kazakhstan's reply is RECEIPTED" \
	wait_cmd 10 "out ReadmissionReply *RECEIPTED" kz status "$case1"
d=$(exported kz "$case1")
check "Kazakhstan's journal holds the 4 messages of the case ($(count "$d"))" \
	[ "$(count "$d")" -eq 4 ]
check "... every one a version 1 envelope ($(namespaces "$d" | xargs))" \
	[ "$(namespaces "$d")" = "$V1" ]
check "... with version 1 documents only" \
	sh -c '! grep -l "urn:accord:msg:2\|urn:accord:envelope:2" "$1"/messages/*.xml' \
	    _ "$d"
d=$(exported fr "$case1")
check "France's journal: the same 4 messages, all version 1 ($(namespaces "$d" | xargs))" \
	[ "$(count "$d")" -eq 4 -a "$(namespaces "$d")" = "$V1" ]

# ---- 2. a version 2 message posted to France ------------------------------
id2=$(uuid)
case2="KZ-FR-2026-pv2-$(date +%s)"
envelope ReadmissionRequest.v2.xml "$id2" "$case2" "$(now)" >"$work/v2.xml"
"$XMLSIG_TOOL" sign "$pki/kz/sign-rsa.key" "$pki/kz/sign-rsa.pem" \
    "$work/v2.xml" "$work/v2.signed"
j0=$(jsize fr)
code=$(post_to_fr "$work/v2.signed")
check "a signed version 2 request posted to France: 400 ($code)" \
	[ "$code" = 400 ]
check "... a signed Error SCHEMA_INVALID naming the version" \
	sh -c 'grep -q "<Code>SCHEMA_INVALID</Code>" "$1" &&
	       grep -q "protocol version 2 is not accepted" "$1" &&
	       grep -q "<ds:SignatureValue>" "$1"' _ "$work/out"
check "... in version 1, the version France speaks ($(root_ns "$work/out"))" \
	[ "$(root_ns "$work/out")" = "$V1" ]
check "... nothing committed (journal size, id not journalled)" \
	sh -c '[ "$(cat "$1"/*.log | wc -c)" -eq "$2" ] &&
	       ! cat "$1"/*.log | grep -a -q -- "$3"' _ \
	    "$work/var/fr/journal" "$j0" "$id2"
envelope ReadmissionRequest.xml "$(uuid)" "$case2" "$(now)" >"$work/v1.xml"
"$XMLSIG_TOOL" sign "$pki/kz/sign-rsa.key" "$pki/kz/sign-rsa.pem" \
    "$work/v1.xml" "$work/v1.signed"
code=$(post_to_fr "$work/v1.signed")
check "the same request in version 1 is receipted ($code)" \
	sh -c '[ "$1" = 200 ] && grep -q "<Type>Receipt</Type>" "$2"' _ \
	    "$code" "$work/out"
check "... by a version 1 Receipt" [ "$(root_ns "$work/out")" = "$V1" ]

# ---- 3. a case Kazakhstan opens goes out in version 2 -----------------------
out=$(kz submit FR document=@"$work/request.xml" 2>&1)
case3=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "Kazakhstan opens a case ($case3): France refuses its version 2 request" \
	wait_cmd 20 "out ReadmissionRequest *REJECTED" kz status "$case3"
s_kz=$(state kz "$case3")
s_fr=$(state fr "$case3")
check "... the case is NOT_SENT on Kazakhstan's side ($s_kz), unknown to France" \
	[ "$s_kz" = NOT_SENT -a -z "$s_fr" ]
d=$(exported kz "$case3")
check "... the request was version 2, France's Error version 1" \
	[ "$(namespaces "$d" ReadmissionRequest)" = "$V2" -a \
	  "$(namespaces "$d" Error)" = "$V1" ]
n=$(grep -c "SCHEMA_INVALID: protocol version 2 is not accepted" "$frlog")
check "... refused by France before authentication, as in part 2 ($n)" \
	[ "$n" -eq 2 ]

# ---- 4. France accepts version 2 too ----------------------------------------
sed -i 's|protocol-versions="1"|protocol-versions="1 2"|' \
    "$work/conf/demo-fr/partners/kz.xml"
check "France reloads its agreement with versions 1 and 2" \
	sh -c '"$@" >/dev/null' _ "$ACCORDCTL" -s "$work/run/fr/control.sock" \
	    reload
out=$(kz submit FR document=@"$work/request.xml" 2>&1)
case4=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "a new case from Kazakhstan goes through ($case4)" \
	both 20 PENDING_REPLY "$case4"
d=$(exported fr "$case4")
check "... in version 2: the request and its Receipt ($(namespaces "$d" | xargs))" \
	[ "$(count "$d")" -eq 2 -a "$(namespaces "$d")" = "$V2" ]
out=$(kz submit FR case="$case1" document=@"$work/consultation.xml" 2>&1)
msg=$(printf '%s' "$out" | sed -n 's/^queued \([^ ]*\) .*/\1/p')
check "a Consultation in the case opened in version 1 ($msg)" \
	wait_cmd 20 "out Consultation *RECEIPTED" kz status "$case1"
d=$(exported fr "$case1")
check "... keeps version 1: the case's version ($(namespaces "$d" Consultation | xargs))" \
	[ "$(namespaces "$d" Consultation)" = "$V1" ]
out=$(fr submit KZ document=@"$work/request.xml" 2>&1)
case5=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "France now opens its cases in version 2 too ($case5)" \
	both 20 PENDING_REPLY "$case5"
d=$(exported kz "$case5")
check "... its request and Kazakhstan's Receipt ($(namespaces "$d" | xargs))" \
	[ "$(count "$d")" -eq 2 -a "$(namespaces "$d")" = "$V2" ]

kill -TERM $kzpid
wait $kzpid
rk=$?
kill -TERM $frpid
wait $frpid
rf=$?
check "both gateways stop cleanly ($rk, $rf)" [ $rk -eq 0 -a $rf -eq 0 ]
finish
