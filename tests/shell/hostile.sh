# A hostile partner on a live link: messages that are schema-valid and well
# signed by France's keys, posted on France's TLS certificate, but wrong in
# what they mean (protocols/README.md, "Semantic checks").  A reply with a
# wrong or missing RefToMessageId, a request with a birth date in the
# future, a message from another authority of France, and a receipt whose
# deadlines the calendars cannot explain: none of them changes a case.
# The sender gets a signed Error, or our message goes DISPUTED.
#
# Messages are built from protocols/examples/valid, signed with
# tests/helpers/xmlsig_tool and posted with curl, as integration.sh does.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP the curl command is not installed"
	exit 0
fi
plan 24
make_workdir hostile
XMLSIG_TOOL="$ACCORD_BUILDDIR/tests/helpers/xmlsig_tool"
export ACCORD_SRCDIR	# xmlsig_tool finds the schemas there
use_system_groups
kzlog="$work/kz.log"
frlog="$work/fr.log"
pki="$work/pki"
url="https://127.0.0.1:$kz_port/accord/v1/messages"
uuid() { cat /proc/sys/kernel/random/uuid; }
now() { date -u +%FT%TZ; }
# envelope FILE ID CASE FROM-AUTH [SED...]: an unsigned envelope from
# France to Kazakhstan from the example FILE, with this header.
envelope() {
	f=$1 id=$2 c=$3 fa=$4
	shift 4
	sed -e "s|<MessageId>.*</MessageId>|<MessageId>$id</MessageId>|" \
	    -e "s|<CaseId>.*</CaseId>|<CaseId>$c</CaseId>|" \
	    -e "s|<From>.*</From>|<From><Country>FR</Country><Authority>$fa</Authority></From>|" \
	    -e "s|<To>.*</To>|<To><Country>KZ</Country><Authority>MVD</Authority></To>|" \
	    -e "s|<Created>.*</Created>|<Created>$(now)</Created>|" \
	    -e "s|<AgreementId>.*</AgreementId>|<AgreementId>KZ-FR-READMISSION-1</AgreementId>|" \
	    "$@" "$ACCORD_SRCDIR/protocols/examples/valid/$f.xml"
}
# sign_post IN: sign IN with France's key and post it to Kazakhstan on
# France's TLS certificate; prints the HTTP status, the answer in $work/out
sign_post() {
	"$XMLSIG_TOOL" sign "$pki/fr/sign-rsa.key" "$pki/fr/sign-rsa.pem" \
	    "$1" "$1.signed" &&
	curl -sS -o "$work/out" -w '%{http_code}' --max-time 20 \
	    --cacert "$pki/kz/ca.pem" --cert "$pki/fr/tls-client.pem" \
	    --key "$pki/fr/tls-client.key" -H 'Content-Type: application/xml' \
	    --data-binary @"$1.signed" "$url" 2>"$work/curl.err"
}
signed_error() {	# a signed Error with this code in $work/out
	grep -q "<Code>$1</Code>" "$work/out" &&
	    grep -q "<ds:SignatureValue>" "$work/out"
}
cases() { kz list | awk '$1 == "FR" {print $2, $3}' | sort; }
body ReadmissionRequest >"$work/request.xml"

kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_kz
start_fr

# ---- two cases Kazakhstan opened, both PENDING_REPLY --------------------------
out=$(kz submit FR document=@"$work/request.xml" 2>&1)
case_a=$(printf '%s' "$out" | sed -n 's/.*case //p')
out=$(kz submit FR document=@"$work/request.xml" 2>&1)
case_b=$(printf '%s' "$out" | sed -n 's/.*case //p')
req_b=$(printf '%s' "$out" | sed -n 's/^queued \([^ ]*\) .*/\1/p')
check "Kazakhstan's first request reaches France ($case_a)" \
	both 20 PENDING_REPLY "$case_a"
check "... and its second ($case_b, $req_b)" both 20 PENDING_REPLY "$case_b"
cases >"$work/cases.before"

# ---- item 12: a reply must name our request of its case ---------------------
# reply_refused DESCRIPTION SED...: France's ReadmissionReply in case A,
# its header edited by SED, is refused with INVALID_FIELD
reply_refused() {
	d=$1
	shift
	envelope ReadmissionReply "$(uuid)" "$case_a" DGEF "$@" >"$work/m.xml"
	code=$(sign_post "$work/m.xml")
	check "a reply $d: 422 INVALID_FIELD ($code)" \
	    sh -c '[ "$1" = 422 ] && grep -q "<Code>INVALID_FIELD</Code>" "$2" &&
	        grep -q "<ds:SignatureValue>" "$2"' _ "$code" "$work/out"
	check "... case A stays PENDING_REPLY" \
	    [ "$(state kz "$case_a")" = PENDING_REPLY ]
}
reply_refused "without RefToMessageId" -e '/<RefToMessageId>/d'
reply_refused "naming a message nobody sent" \
    -e "s|<RefToMessageId>.*</RefToMessageId>|<RefToMessageId>$(uuid)</RefToMessageId>|"
reply_refused "naming the request of case B" \
    -e "s|<RefToMessageId>.*</RefToMessageId>|<RefToMessageId>$req_b</RefToMessageId>|"
check "... and was journalled as refused" \
	sh -c '"$@" | grep -q "INVALID_FIELD"' _ "$ACCORDCTL" -s \
	    "$work/run/kz/control.sock" timeline "$case_a"

# ---- item 13: a birth date after the message was created -------------------
envelope ReadmissionRequest "$(uuid)" FR-KZ-2026-bornlater DGEF \
    -e 's|<BirthDate>.*</BirthDate>|<BirthDate>2031-07-14</BirthDate>|' \
    >"$work/m.xml"
code=$(sign_post "$work/m.xml")
check "a request with BirthDate 2031: 422 INVALID_FIELD ($code)" \
	sh -c '[ "$1" = 422 ] && grep -q "<Code>INVALID_FIELD</Code>" "$2"' \
	    _ "$code" "$work/out"
check "... the Error names the element, not its value" \
	sh -c 'grep -q "Person/BirthDate" "$1" &&
	    ! sed -n "s/.*<Text>\(.*\)<\/Text>.*/\1/p" "$1" | grep -q "2031"' _ \
	    "$work/out"
check "... no case was opened" \
	sh -c '! "$@" >/dev/null 2>&1' _ "$ACCORDCTL" -s \
	    "$work/run/kz/control.sock" status FR-KZ-2026-bornlater
check "... and the value is in no log" \
	sh -c '! grep -q "2031-07-14" "$1" "$2"' _ "$kzlog" "$frlog"

# ---- item 14: another authority on France's certificate ---------------------
envelope ReadmissionRequest "$(uuid)" FR-KZ-2026-wrongauth WRONG \
    >"$work/m.xml"
code=$(sign_post "$work/m.xml")
check "From FR/WRONG, signed by France: 403 PARTNER_MISMATCH ($code)" \
	sh -c '[ "$1" = 403 ] && grep -q "<Code>PARTNER_MISMATCH</Code>" "$2"' \
	    _ "$code" "$work/out"
check "... no case was opened" \
	sh -c '! "$@" >/dev/null 2>&1' _ "$ACCORDCTL" -s \
	    "$work/run/kz/control.sock" status FR-KZ-2026-wrongauth

# ---- item 15: receipts whose deadlines the calendars cannot explain ---------
# With France down, Kazakhstan's request waits; France's "receipt" for it
# is posted by itself (a version 2 standalone Receipt), with the right
# digest (from Kazakhstan's journal) and a deadline DUE.
kill -TERM $frpid
wait_gone $frpid 10
# hostile_receipt DESCRIPTION DUE RECEIVED-AT
hostile_receipt() {
	out=$(kz submit FR document=@"$work/request.xml" 2>&1)
	msg=$(printf '%s' "$out" | sed -n 's/^queued \([^ ]*\) .*/\1/p')
	c=$(printf '%s' "$out" | sed -n 's/.*case //p')
	wait_for "$kzlog" "$msg to FR: attempt 1 failed" 20
	sha=$(cat "$work/var/kz/journal/"*.log | grep -a "\"$msg\"" |
	    grep -ao '"sha256":"[0-9a-f]\{64\}"' | head -1 | cut -d'"' -f4)
	envelope Receipt.standalone.v2 "$(uuid)" "$c" DGEF \
	    -e "s|<RefToMessageId>.*</RefToMessageId>|<RefToMessageId>$msg</RefToMessageId>|" \
	    -e "s|<ReceivedMessageId>.*</ReceivedMessageId>|<ReceivedMessageId>$msg</ReceivedMessageId>|" \
	    -e "s|<Sha256>.*</Sha256>|<Sha256>$sha</Sha256>|" \
	    -e "s|<ReceivedAt>.*</ReceivedAt>|<ReceivedAt>$3</ReceivedAt>|" \
	    -e "s|<Due>.*</Due>|<Due>$2</Due>|" >"$work/m.xml"
	code=$(sign_post "$work/m.xml")
	check "a receipt $1 ($code, digest ${sha:-none}): our message DISPUTED" \
	    wait_cmd 10 "out ReadmissionRequest *DISPUTED" kz status "$c"
	check "... the case stays SUBMITTED" [ "$(state kz "$c")" = SUBMITTED ]
}
hostile_receipt "due in 2099" 2099-01-01T00:00:00Z "$(now)"
hostile_receipt "due yesterday" \
    "$(date -u -d '1 day ago' +%FT%TZ)" "$(now)"
hostile_receipt "received in 2099" \
    "$(date -u -d '30 days' +%FT%TZ)" 2099-01-01T00:00:00Z
check "the disputed receipts are alerts" \
	sh -c '"$@" | grep -q "disputed"' _ "$ACCORDCTL" -s \
	    "$work/run/kz/control.sock" alerts

# ---- nothing moved -------------------------------------------------------------
cases | grep -v " SUBMITTED$" >"$work/cases.after"
check "every case Kazakhstan had is as it was" \
	sh -c 'cmp -s "$1" "$2" || { diff "$1" "$2" | sed "s/^/# /"; false; }' \
	    _ "$work/cases.before" "$work/cases.after"

kill -TERM $kzpid
wait $kzpid
rk=$?
check "Kazakhstan's gateway stops cleanly ($rk)" [ $rk -eq 0 ]
finish
