# Resource limits (issue 16, items 3 and 4).  France's messages are all
# receipted while 500 idle TCP connections and 50 half-open TLS handshakes
# are held against Kazakhstan's gateway (from other loopback addresses,
# opened again as fast as they are closed); a control-socket flood by a
# uid without a role does not keep root's accordctl ping out, and an idle
# control connection is closed; a body over the limit gets a signed
# TOO_LARGE Error and what evhttp refuses itself gets plain text, never an
# HTML page; refused messages beyond refusals-per-minute grow the journal
# by a count, not by their size, and accord-audit finds nothing in that.
#
# Messages are signed with tests/helpers/xmlsig_tool and posted with curl
# on France's TLS certificate, as hostile.sh does; tests/helpers/connflood
# holds the connections.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP the curl command is not installed"
	exit 0
fi
plan 19
make_workdir limits
XMLSIG_TOOL="$ACCORD_BUILDDIR/tests/helpers/xmlsig_tool"
FLOOD="$ACCORD_BUILDDIR/tests/helpers/connflood"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
export ACCORD_SRCDIR	# xmlsig_tool finds the schemas there
use_system_groups
ulimit -n 4096 2>/dev/null
kzlog="$work/kz.log"
pki="$work/pki"
sock="$work/run/kz/control.sock"
url="https://127.0.0.1:$kz_port/accord/v1/messages"
# five refusals a minute journalled in full, the rest counted
sed -i 's|clock-skew-seconds="300"/>|clock-skew-seconds="300" refusals-per-minute="5"/>|' \
    "$work/conf/accordd.xml"
uuid() { cat /proc/sys/kernel/random/uuid; }
now() { date -u +%FT%TZ; }
skip() { ok "# SKIP $*"; }
# envelope FILE ID CASE: an unsigned envelope from France to Kazakhstan
envelope() {
	sed -e "s|<MessageId>.*</MessageId>|<MessageId>$2</MessageId>|" \
	    -e "s|<CaseId>.*</CaseId>|<CaseId>$3</CaseId>|" \
	    -e "s|<From>.*</From>|<From><Country>FR</Country><Authority>DGEF</Authority></From>|" \
	    -e "s|<To>.*</To>|<To><Country>KZ</Country><Authority>MVD</Authority></To>|" \
	    -e "s|<Created>.*</Created>|<Created>$(now)</Created>|" \
	    -e "s|<AgreementId>.*</AgreementId>|<AgreementId>KZ-FR-READMISSION-1</AgreementId>|" \
	    "$ACCORD_SRCDIR/protocols/examples/valid/$1.xml"
}
sign() {
	"$XMLSIG_TOOL" sign "$pki/fr/sign-rsa.key" "$pki/fr/sign-rsa.pem" \
	    "$1" "$1.signed"
}
# post FILE [CURL-ARGS]: post FILE on France's certificate; prints the
# HTTP status, the answer in $work/out, its headers in $work/headers
post() {
	f=$1
	shift
	curl -sS -o "$work/out" -D "$work/headers" -w '%{http_code}' \
	    --max-time 20 --cacert "$pki/kz/ca.pem" \
	    --cert "$pki/fr/tls-client.pem" --key "$pki/fr/tls-client.key" \
	    -H 'Content-Type: application/xml' "$@" --data-binary @"$f" \
	    "$url" 2>"$work/curl.err"
}
signed_error() {	# a signed Error with this code in $work/out
	grep -q "<Code>$1</Code>" "$work/out" &&
	    grep -q "<ds:SignatureValue>" "$work/out"
}
no_html() { ! grep -qi "<html" "$work/out" && ! grep -qi "text/html" "$work/headers"; }

kzpid=
floodpid=
idlepid=
trap 'kill -TERM $kzpid $floodpid $idlepid 2>/dev/null' EXIT
start_kz

# ---- an idle control connection is closed (runs meanwhile) ------------------
"$FLOOD" unix "$sock" 1 34 >"$work/idle.out" 2>&1 &
idlepid=$!

# ---- 100 messages under a flood of idle and half-open connections ------------
"$FLOOD" tcp "$kz_port" 500 50 90 >"$work/flood.out" 2>&1 &
floodpid=$!
wait_for "$work/flood.out" "ready" 30
for i in $(seq 1 100); do
	envelope ReadmissionRequest "$(uuid)" "FR-KZ-2026-lim$i" >"$work/m$i.xml"
	sign "$work/m$i.xml" || echo "# cannot sign m$i.xml"
done
n=0
for i in $(seq 1 100); do
	code=$(post "$work/m$i.xml.signed")
	if [ "$code" = 200 ] && grep -q "<ds:SignatureValue>" "$work/out" &&
	    ! grep -q "<Code>" "$work/out"; then
		n=$((n + 1))
	else
		echo "# message $i: $code $(head -c 200 "$work/out" "$work/curl.err")"
	fi
done
check "100 messages, 500 idle connections and 50 half-open handshakes held: all receipted ($n)" \
	[ $n -eq 100 ]
check "... at the connection limit the oldest unauthenticated were closed" \
	grep -q "closing the oldest without a completed handshake" "$kzlog"
check "... one address's connections over its limit were closed" \
	grep -q "without a completed handshake: closing new ones" "$kzlog"
kill -TERM $floodpid
wait $floodpid
floodpid=
check "... and the flood was closed and opened again: $(tail -1 "$work/flood.out")" \
	awk '/^connects/ { ok = $2 > 550 && $4 > 50 } END { exit !ok }' \
	    "$work/flood.out"
# below the connection limit nothing is evicted: 20 half-open handshakes
# meet the handshake deadline (checked once the next parts are done)
"$FLOOD" tcp "$kz_port" 0 20 30 >"$work/flood2.out" 2>&1 &
floodpid=$!

# ---- refused input: never an HTML page ---------------------------------------
head -c 2000000 /dev/zero | tr '\0' 'a' >"$work/big.xml"
code=$(post "$work/big.xml" -H 'Expect: 100-continue')
check "a declared body over the limit: 413 ($code)" [ "$code" = 413 ]
check "... a signed TOO_LARGE Error, the body unread" signed_error TOO_LARGE
check "... no HTML" no_html
code=$(post "$work/m1.xml.signed" -X 'FOO')
check "a method evhttp does not know: refused ($code) in plain text" \
	sh -c '[ "$1" -ge 400 ] && grep -qi "^content-type: text/plain" "$2"' \
	    _ "$code" "$work/headers"
check "... no HTML" no_html

# ---- refused messages: a count in the journal, not their size -----------------
# a ReadmissionReply in a case Kazakhstan never heard of: UNKNOWN_CASE,
# decided and journalled (the first five a minute)
for i in $(seq 1 30); do
	envelope ReadmissionReply "$(uuid)" "FR-KZ-2026-none$i" >"$work/r$i.xml"
	sign "$work/r$i.xml"
done
n=0
for i in $(seq 1 30); do
	code=$(post "$work/r$i.xml.signed")
	signed_error UNKNOWN_CASE && n=$((n + 1))
done
code=$(post "$work/r30.xml.signed")
signed_error UNKNOWN_CASE && n=$((n + 1))
check "31 refused messages (one of them twice): each a signed UNKNOWN_CASE Error ($n)" \
	[ $n -eq 31 ]
kz clock advance 2m >/dev/null
wait_for "$kzlog" "refused messages counted" 10
full=$(cat "$work/var/kz/journal/"*.log | grep -ao '"refusal":"UNKNOWN_CASE"' | wc -l)
counted=$(cat "$work/var/kz/journal/"*.log |
    grep -ao '"refused":[0-9]*,"repeated":[0-9]*' | tr -dc '0-9,\n' |
    awk -F, '{ r += $1; p += $2 } END { print r + 0, p + 0 }')
check "at most 5 a minute journalled in full ($full), the rest counted ($counted)" \
	sh -c '[ "$1" -ge 5 ] && [ "$1" -le 10 ] &&
	    [ $(( $1 + ${2% *} )) -eq 31 ] && [ "${2#* }" -ge 1 ]' _ "$full" "$counted"

check "half-open handshakes are closed at the 10 s handshake deadline" \
	wait_for "$kzlog" "no TLS handshake with a partner's certificate within 10 s" 15
kill -TERM $floodpid
wait $floodpid
floodpid=

# ---- the control socket: a flood of a uid without a role ------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=daemon --clear-groups -- \
	    "$FLOOD" unix "$sock" 70 10 >"$work/cflood.out" 2>&1 &
	cfloodpid=$!
	wait_for "$work/cflood.out" "greeted" 10
	check "a uid without a role gets 8 of its 70 connections: $(head -1 "$work/cflood.out")" \
		grep -q "^greeted 8 refused 62" "$work/cflood.out"
	check "... and root's accordctl ping is answered meanwhile" kz ping
	check "... the refusals are logged" \
		grep -q "uid 65534 has 8 connections open" "$kzlog"
	kill -TERM $cfloodpid
	wait $cfloodpid
else
	for i in 1 2 3; do skip "the control flood needs root and setpriv"; done
fi
wait $idlepid
idlepid=
check "a control connection without a request for 30 s is closed: $(tail -1 "$work/idle.out")" \
	grep -q "^idle-closed 1" "$work/idle.out"

kill -TERM $kzpid
wait $kzpid
rk=$?
kzpid=
check "Kazakhstan's gateway stops cleanly ($rk)" [ $rk -eq 0 ]
"$AUDIT" verify "$work/var/kz/journal" >"$work/verify.out" 2>&1; rv=$?
check "accord-audit verify finds nothing in the counted refusals ($rv)" \
	sh -c '[ $1 -eq 0 ] && grep -q "REFUSALS_COUNTED\|0 findings\|no finding" "$2" || { sed "s/^/# /" "$2" | tail -5; [ $1 -eq 0 ]; }' \
	    _ $rv "$work/verify.out"
"$AUDIT" replay --config "$work/conf/accordd.xml" "$work/var/kz/journal" \
    >"$work/replay.out" 2>&1; rr=$?
check "accord-audit replay finds nothing either ($rr)" [ $rr -eq 0 ]
finish
