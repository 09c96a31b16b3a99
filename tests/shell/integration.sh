# Two gateways on loopback (issue 8, item 4), beyond
# tests/shell/transport.sh: duplicates, forged and misdirected messages, a
# reply that arrives after the deadline but was created before it (on either
# side), and a receipt with a wrong digest.  After each part both gateways
# must report the same state for every case they share.
#
# Messages with chosen headers are built from protocols/examples/valid,
# signed with tests/helpers/xmlsig_tool and posted with curl; the wrong
# receipt comes from `openssl s_server` standing in for France's gateway.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP the curl command is not installed"
	exit 0
fi
if ! grep -q '^#define ACCORD_TEST_CLOCK 1' "$ACCORD_BUILDDIR/accord-build.h" \
    2>/dev/null; then
	echo "1..0 # SKIP needs a build with --enable-test-clock"
	exit 0
fi
plan 45
make_workdir integration
XMLSIG_TOOL="$ACCORD_BUILDDIR/tests/helpers/xmlsig_tool"
export ACCORD_SRCDIR	# xmlsig_tool finds the schemas there
use_system_groups
# A retry window of 7 days on both sides (the agreement's is 2): a reply
# created before an urgent deadline (2 working days and the rest of the
# receipt day) must still be inside the window of accepted Created times
# when it arrives after the deadline.
sed -i 's|window-seconds="172800"|window-seconds="604800"|' \
    "$work/conf/partners/fr.xml" "$work/conf/demo-fr/partners/kz.xml"
kzlog="$work/kz.log"
frlog="$work/fr.log"
pki="$work/pki"
url="https://127.0.0.1:$kz_port/accord/v1/messages"
start_fr() {
	n0=$(grep -c "started: FR/DGEF" "$frlog" 2>/dev/null) || :
	"$ACCORDD" -d -c "$work/conf/demo-fr/accordd.xml" >>"$frlog" 2>&1 &
	frpid=$!
	i=0
	# cat | grep -c: 0, not an error, before the log file exists
	while [ "$(cat "$frlog" 2>/dev/null | grep -c "started: FR/DGEF")" \
	    -le "${n0:-0}" ] &&
	    [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
stop_fr() {
	kill -TERM $frpid
	wait $frpid
}
uuid() { cat /proc/sys/kernel/random/uuid; }
now() { date -u +%FT%TZ; }
# envelope TYPE ID CASE FROM-CC FROM-AUTH TO-CC TO-AUTH CREATED [SED...]:
# an unsigned envelope from the example of TYPE, with this header.
envelope() {
	t=$1 id=$2 c=$3 fc=$4 fa=$5 tc=$6 ta=$7 cr=$8
	shift 8
	sed -e "s|<MessageId>.*</MessageId>|<MessageId>$id</MessageId>|" \
	    -e "s|<CaseId>.*</CaseId>|<CaseId>$c</CaseId>|" \
	    -e "s|<From>.*</From>|<From><Country>$fc</Country><Authority>$fa</Authority></From>|" \
	    -e "s|<To>.*</To>|<To><Country>$tc</Country><Authority>$ta</Authority></To>|" \
	    -e "s|<Created>.*</Created>|<Created>$cr</Created>|" \
	    -e "s|<AgreementId>.*</AgreementId>|<AgreementId>KZ-FR-READMISSION-1</AgreementId>|" \
	    "$@" "$ACCORD_SRCDIR/protocols/examples/valid/$t.xml"
}
sign() {	# CC IN OUT: sign with that country's RSA signing key
	"$XMLSIG_TOOL" sign "$pki/$1/sign-rsa.key" "$pki/$1/sign-rsa.pem" \
	    "$2" "$3"
}
# post_as CC FILE: POST FILE to Kazakhstan with CC's TLS client
# certificate; prints the HTTP status; the answer is in $work/out.
post_as() {
	curl -sS -o "$work/out" -w '%{http_code}' --max-time 20 \
	    --cacert "$pki/kz/ca.pem" --cert "$pki/$1/tls-client.pem" \
	    --key "$pki/$1/tls-client.key" -H 'Content-Type: application/xml' \
	    --data-binary @"$2" "$url" 2>"$work/curl.err"
}
# a signed Error with this code in $work/out
signed_error() {
	grep -q "<Code>$1</Code>" "$work/out" &&
	    grep -q "<ds:SignatureValue>" "$work/out"
}
jsize() { cat "$work/var/$1/journal/"*.log | wc -c; }
in_journal() { cat "$work/var/$1/journal/"*.log | grep -a -q -- "$2"; }
# agree [CASE...]: both gateways list the same cases in the same states,
# apart from the cases named (messages France's gateway never sent or
# never received, made by this test).
agree() {
	kz list | awk 'NR > 1 && $1 == "FR" {print $2, $3}' | sort >"$work/kz.all"
	fr list | awk 'NR > 1 && $1 == "KZ" {print $2, $3}' | sort >"$work/fr.cases"
	cp "$work/kz.all" "$work/kz.cases"
	for c in "$@"; do
		grep -v "^$c " "$work/kz.cases" >"$work/kz.tmp"
		mv "$work/kz.tmp" "$work/kz.cases"
	done
	[ -s "$work/fr.cases" ] && cmp -s "$work/kz.cases" "$work/fr.cases" ||
	    { diff "$work/kz.cases" "$work/fr.cases" | sed 's/^/# /'; return 1; }
}
body ReadmissionRequest >"$work/request.xml"
body ReadmissionReply >"$work/reply.xml"

kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_kz
start_fr

# ---- a case both gateways share, to begin with --------------------------------
out=$(fr submit KZ document=@"$work/request.xml" 2>&1)
case0=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "France's request reaches Kazakhstan ($case0)" both 20 PENDING_REPLY "$case0"

# ---- the same message twice --------------------------------------------------
d_id=$(uuid)
d_case=FR-KZ-2026-itdup01
envelope ReadmissionRequest "$d_id" "$d_case" FR DGEF KZ MVD "$(now)" \
    >"$work/dup.xml"
sign fr "$work/dup.xml" "$work/dup.signed"
code=$(post_as fr "$work/dup.signed")
cp "$work/out" "$work/receipt1"
check "a signed request from France is receipted ($code)" \
	sh -c '[ "$1" = 200 ] && grep -q "<Type>Receipt</Type>" "$2"' _ "$code" \
	    "$work/receipt1"
j0=$(jsize kz)
code=$(post_as fr "$work/dup.signed")
check "the same bytes again: 200 ($code)" [ "$code" = 200 ]
check "... with the original receipt, byte for byte" \
	cmp -s "$work/receipt1" "$work/out"
check "... and nothing journalled for it ($j0 bytes before and after)" \
	[ "$(jsize kz)" -eq "$j0" ]
n=$(kz timeline "$d_case" | grep -c "ReadmissionRequest $d_id received")
r=$(kz timeline "$d_case" | grep -c "Receipt .* answered by us")
check "the message was processed once: one record, one receipt ($n, $r)" \
	[ "$n" -eq 1 -a "$r" -eq 1 ]
# the same MessageId, other bytes (another text, signed again)
envelope ReadmissionRequest "$d_id" "$d_case" FR DGEF KZ MVD "$(now)" \
    -e 's|<Details>.*</Details>|<Details>Another text.</Details>|' \
    >"$work/conflict.xml"
sign fr "$work/conflict.xml" "$work/conflict.signed"
t0=$(kz timeline "$d_case" | wc -l)
code=$(post_as fr "$work/conflict.signed")
check "the same MessageId with other bytes: 409 ($code)" [ "$code" = 409 ]
check "... a signed Error DUPLICATE_CONFLICT" signed_error DUPLICATE_CONFLICT
check "... nothing committed: journal and timeline unchanged" \
	[ "$(jsize kz)" -eq "$j0" -a "$(kz timeline "$d_case" | wc -l)" -eq "$t0" ]

# ---- forged and misdirected messages: refused, nothing committed ----------
# refused DESCRIPTION CODE TLS-CC FILE ID: a 403 with a signed Error of
# that code, and nothing committed
refused() {
	j0=$(jsize kz)
	c0=$(kz list | tail -1)
	code=$(post_as "$3" "$4")
	check "$1: 403 $2 ($code)" \
	    sh -c '[ "$1" = 403 ] && grep -q "<Code>$2</Code>" "$3" &&
	        grep -q "<ds:SignatureValue>" "$3"' _ "$code" "$2" "$work/out"
	if [ "$(jsize kz)" -eq "$j0" ] && [ "$(kz list | tail -1)" = "$c0" ] &&
	    ! in_journal kz "$5"; then
		ok "... nothing committed (journal size, cases, id not journalled)"
	else
		not_ok "... nothing committed (journal size, cases, id not journalled)"
	fi
}
id=$(uuid)
envelope ReadmissionRequest "$id" FR-KZ-2026-itbad01 FR DGEF KZ MVD "$(now)" \
    >"$work/m.xml"
sign fr "$work/m.xml" "$work/m.signed"
sed 's|<Surname>Nurlanov</Surname>|<Surname>Nurlanow</Surname>|' \
    "$work/m.signed" >"$work/bad.signed"
refused "a signed message changed after signing" SIGNATURE_INVALID fr \
    "$work/bad.signed" "$id"
id=$(uuid)
envelope ReadmissionRequest "$id" FR-KZ-2026-itbad02 FR DGEF KZ MVD "$(now)" \
    >"$work/m.xml"
sign de "$work/m.xml" "$work/m.signed"
refused "From France, signed with Germany's key" UNKNOWN_SIGNER fr \
    "$work/m.signed" "$id"
id=$(uuid)
envelope ReadmissionRequest "$id" FR-KZ-2026-itbad03 DE BAMF KZ MVD "$(now)" \
    >"$work/m.xml"
sign fr "$work/m.xml" "$work/m.signed"
refused "From Germany on France's TLS connection, signed by France" \
    PARTNER_MISMATCH fr "$work/m.signed" "$id"
id=$(uuid)
envelope ReadmissionRequest "$id" FR-KZ-2026-itbad04 FR DGEF DE BAMF "$(now)" \
    >"$work/m.xml"
sign fr "$work/m.xml" "$work/m.signed"
refused "To Germany, posted to Kazakhstan" WRONG_RECIPIENT fr \
    "$work/m.signed" "$id"
id=$(uuid)
envelope ReadmissionRequest "$id" FR-KZ-2026-itbad05 FR DGEF KZ MVD "$(now)" \
    >"$work/m.xml"
sign fr "$work/m.xml" "$work/m.signed"
refused "France's message on Germany's TLS client certificate" \
    UNKNOWN_SIGNER de "$work/m.signed" "$id"
code=$(post_as fr "$work/m.signed")
check "... the same bytes on France's certificate are receipted ($code)" \
	[ "$code" = 200 ]
check "both gateways agree on every case they share" \
	agree "$d_case" FR-KZ-2026-itbad05

# ---- a reply created before the deadline, arriving after it ---------------
# (1) France's clock has passed the deadline when Kazakhstan's reply
# arrives: Kazakhstan holds delivery to France while it replies, then both
# clocks pass the deadline (one time on both sides: a receipt received
# beyond the clock skew of its arrival is DISPUTED, protocols/README.md,
# "Semantic checks")
out=$(fr submit KZ document=@"$work/request.xml" --urgent 2>&1)
late1=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "an urgent request ($late1) reaches Kazakhstan" \
	both 20 PENDING_REPLY "$late1"
due=$(fr list | awk -v c="$late1" '$2 == c {print $5}')
kz pause FR >/dev/null
out=$(kz submit FR case="$late1" document=@"$work/reply.xml" 2>&1)
check "Kazakhstan replies before the deadline, held back ($out)" \
	sh -c 'printf "%s" "$1" | grep -q "^queued "' _ "$out"
fr clock set "$(date -u -d "$due + 60 seconds" +%FT%TZ)" >/dev/null
kz clock set "$(date -u -d "$due + 60 seconds" +%FT%TZ)" >/dev/null
check "France's clock passes the deadline ($due): DEEMED_ACCEPTED there" \
	wait_cmd 10 "^KZ $late1 *DEEMED_ACCEPTED" fr list
kz resume FR >/dev/null
check "the timely reply takes effect on both sides: ACCEPTED" \
	both 20 ACCEPTED "$late1"
check "... on France's side, over its deemed acceptance" \
	sh -c '"$@" | grep -q "DEEMED_ACCEPTED -> ACCEPTED (ReadmissionReply received)"' \
	    _ "$ACCORDCTL" -s "$work/run/fr/control.sock" timeline "$late1"
fr clock real >/dev/null
kz clock real >/dev/null

# (2) the reply waits in Kazakhstan's outbox while France is down and
# Kazakhstan's clock passes the deadline; France comes back in time
out=$(fr submit KZ document=@"$work/request.xml" --urgent 2>&1)
late2=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "another urgent request ($late2) reaches Kazakhstan" \
	both 20 PENDING_REPLY "$late2"
due=$(kz list | awk -v c="$late2" '$2 == c {print $5}')
check "France's gateway stops" stop_fr
out=$(kz submit FR case="$late2" document=@"$work/reply.xml" 2>&1)
msg=$(printf '%s' "$out" | sed -n 's/^queued \([^ ]*\) .*/\1/p')
check "Kazakhstan replies; the delivery fails and is retried" \
	wait_for "$kzlog" "$msg to FR: attempt 1 failed: .*; next in"
kz clock set "$(date -u -d "$due + 60 seconds" +%FT%TZ)" >/dev/null
# Kazakhstan is the requested side: its timely reply is on its way, so
# silence does not mean consent there (DESIGN.md 3, issue 12)
check "Kazakhstan's clock passes the deadline ($due): held, not deemed" \
	wait_for "$kzlog" "FR/$late2: .* deadline held while our reply $msg"
check "... the case stays PENDING_REPLY there" \
	wait_cmd 10 "^FR $late2 *PENDING_REPLY" kz list
start_fr
# the test clock stands still: move it on so that the retry falls due
kz clock advance 1h >/dev/null
check "the retried reply takes effect on both sides: ACCEPTED" \
	both 30 ACCEPTED "$late2"
check "... on Kazakhstan's side, from the held PENDING_REPLY" \
	sh -c '"$@" | grep -q "PENDING_REPLY -> ACCEPTED (ReadmissionReply receipted)"' \
	    _ "$ACCORDCTL" -s "$work/run/kz/control.sock" timeline "$late2"
n=$(grep -c "ReadmissionReply from KZ case $late2" "$frlog")
check "... France processed it once ($n)" [ "$n" -eq 1 ]
kz clock real >/dev/null
check "both gateways agree on every case they share" \
	agree "$d_case" FR-KZ-2026-itbad05

# ---- a receipt with a wrong digest: DISPUTED ----------------------------------
check "France's gateway stops" stop_fr
out=$(kz submit FR document=@"$work/request.xml" 2>&1)
msg=$(printf '%s' "$out" | sed -n 's/^queued \([^ ]*\) .*/\1/p')
disp=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "Kazakhstan's request ($msg) waits for France" \
	wait_for "$kzlog" "$msg to FR: attempt 1 failed: .*; next in"
# France's receipt for it, signed with France's key, with a wrong digest
t=$(now)
envelope Receipt "$(uuid)" "$disp" FR DGEF KZ MVD "$t" \
    -e "s|<RefToMessageId>.*</RefToMessageId>|<RefToMessageId>$msg</RefToMessageId>|" \
    -e "s|<ReceivedMessageId>.*</ReceivedMessageId>|<ReceivedMessageId>$msg</ReceivedMessageId>|" \
    -e "s|<Sha256>.*</Sha256>|<Sha256>$(printf '%064d' 0)</Sha256>|" \
    -e "s|<ReceivedAt>.*</ReceivedAt>|<ReceivedAt>$t</ReceivedAt>|" \
    -e '/<Deadline>/,/<\/Deadline>/d' >"$work/receipt.xml"
sign fr "$work/receipt.xml" "$work/receipt.signed"
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' \
    "$(wc -c <"$work/receipt.signed")" >"$work/response"
cat "$work/receipt.signed" >>"$work/response"
# a stand-in for France's gateway, with its server certificate: answers
# the first connection with that receipt (its input stays open meanwhile,
# so it reads the whole request before it closes)
mkfifo "$work/s_server.in"
timeout 60 openssl s_server -accept "127.0.0.1:$fr_port" -naccept 1 \
    -cert "$pki/fr/tls-server.pem" -key "$pki/fr/tls-server.key" \
    -Verify 2 -CAfile "$pki/kz/ca.pem" <"$work/s_server.in" \
    >"$work/s_server.out" 2>&1 &
spid=$!
(cat "$work/response"; exec sleep 60) >"$work/s_server.in" 2>/dev/null &
feeder=$!
check "the partner's receipt with a wrong digest: DISPUTED" \
	wait_cmd 40 "out ReadmissionRequest *DISPUTED .*is not the digest" \
	    kz status "$disp"
check "... it was posted to the stand-in" \
	grep -q "POST /accord/v1/messages" "$work/s_server.out"
kill $spid $feeder 2>/dev/null
wait $spid $feeder 2>/dev/null
check "... the case stays SUBMITTED on Kazakhstan's side" \
	[ "$(state kz "$disp")" = SUBMITTED ]
start_fr
# France is back: a new exchange goes through, the disputed one is not
# sent again (an operator must look at it)
out=$(fr submit KZ document=@"$work/request.xml" 2>&1)
last=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "with France back, a new request goes through ($last)" \
	both 20 PENDING_REPLY "$last"
check "... the disputed message is still DISPUTED, France never had it" \
	sh -c '"$1" -s "$2" status "$3" | grep -q "out ReadmissionRequest *DISPUTED" &&
	       ! "$1" -s "$4" status "$3" >/dev/null 2>&1' _ "$ACCORDCTL" \
	    "$work/run/kz/control.sock" "$disp" "$work/run/fr/control.sock"
check "both gateways agree on every case they share" \
	agree "$d_case" FR-KZ-2026-itbad05 "$disp"
check "... and France has every case that Kazakhstan had from it" \
	sh -c '[ "$(wc -l <"$1")" -eq $(( $(wc -l <"$2") + 3 )) ]' _ \
	    "$work/kz.all" "$work/fr.cases"

kill -TERM $kzpid
wait $kzpid
rk=$?
kill -TERM $frpid
wait $frpid
rf=$?
check "both gateways stop cleanly ($rk, $rf)" [ $rk -eq 0 -a $rf -eq 0 ]
finish
