# TLS revocation and pinning between two live gateways (issue 16, item 2):
# the partner's configured CRL applies to its server certificate (nothing
# is sent to a revoked one) and to its client certificate (a revoked one
# with the partner's exact subject is refused); a server-pin refuses
# another certificate of the partner's CA and accepts the pinned one; a
# reload's new CRL applies to connections already open; a CRL past its
# nextUpdate is a warning of accordd -n and an alert, and still applies.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP the curl command is not installed"
	exit 0
fi
plan 31
make_workdir tls_revocation
# this test revokes a certificate of France's CA: a private PKI
own_pki
use_system_groups
kzlog="$work/kz.log"
frlog="$work/fr.log"
pki="$work/pki"
frconf="$work/conf/demo-fr/accordd.xml"
kzfr="$work/conf/partners/fr.xml"
url="https://127.0.0.1:$kz_port/accord/v1/messages"
start_fr() {
	"$ACCORDD" -d -c "$frconf" >>"$frlog" 2>&1 &
	frpid=$!
	wait_for "$frlog" "started: FR/DGEF, .*, pid $frpid$" || cat "$frlog"
}
stop_fr() {
	kill -TERM $frpid
	wait_gone $frpid 10
}
kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
serial() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'; }
fp() { sed -n "s/^$1.pem //p" "$pki/fr/fingerprints.txt"; }
# fr_cert ROLE NAME: France's gateway uses fr/NAME.pem and .key as its
# TLS server certificate (ROLE tls) or client certificate (ROLE client)
fr_cert() {
	case $1 in
	tls) from='<tls certificate="fr/[a-z-]*\.pem" key="fr/[a-z-]*\.key"'
	    to="<tls certificate=\"fr/$2.pem\" key=\"fr/$2.key\"" ;;
	client) from='client-certificate="fr/[a-z-]*\.pem" client-key="fr/[a-z-]*\.key"'
	    to="client-certificate=\"fr/$2.pem\" client-key=\"fr/$2.key\"" ;;
	esac
	sed -i "s|$from|$to|" "$frconf"
	grep -q "$to" "$frconf" || echo "# fr_cert $1 $2: not set"
}
# the metric's value, 0 when absent
metric() {
	v=$(kz metrics 2>/dev/null | sed -n "s/^accord_tls_refused_total{partner=\"FR\",direction=\"$1\",reason=\"$2\"} //p")
	echo "${v:-0}"
}
metric_above() {	# DIRECTION REASON N SECONDS: poll until above N
	i=$(( $4 * 10 ))
	while [ $i -gt 0 ]; do
		[ "$(metric "$1" "$2")" -gt "$3" ] && return 0
		sleep 0.1
		i=$((i - 1))
	done
	return 1
}
state_of() {	# CASE: the state of our ReadmissionRequest in CASE at KZ
	kz status "$1" 2>/dev/null | sed -n 's/.*out ReadmissionRequest *\([A-Z]*\).*/\1/p'
}
body ReadmissionRequest >"$work/rr.xml"

fr_cert tls tls-server-revoked
start_fr
start_kz

# ---- outbound: France serves a certificate its CRL revokes ------------------
rserial=$(serial "$pki/fr/tls-server-revoked.pem")
out=$(kz submit FR document=@"$work/rr.xml" 2>&1)
case1=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "Kazakhstan queues a ReadmissionRequest to France ($case1)" \
	[ -n "$case1" ]
check "the revoked server certificate is refused, logged with partner, subject, serial" \
	wait_for "$kzlog" "tls: to https://127.0.0.1:$fr_port/accord/v1/messages: server certificate of FR refused, revoked by the partner's CRL: subject CN=gw.fr.accord.test,O=Accord Test PKI,C=FR, serial $rserial" 20
check "... the attempt fails as revoked and is retried" \
	wait_for "$kzlog" "to FR: attempt 1 failed: .*revoked.*; next in" 20
check "... the message stays QUEUED" [ "$(state_of "$case1")" = QUEUED ]
sleep 1
check "... France received nothing: it does not know the case" \
	sh -c '! "$@" >/dev/null 2>&1' _ "$ACCORDCTL" -s \
	    "$work/run/fr/control.sock" status "$case1"
check "... and no request in France's log" \
	sh -c '! grep -q "ReadmissionRequest from KZ" "$1"' _ "$frlog"
v=$(metric outbound revoked)
check "accord_tls_refused_total{FR,outbound,revoked} counts it ($v)" \
	[ "$v" -ge 1 ]

# ---- inbound: France's exact client subject, revoked ------------------------
post() {
	curl -sS -o "$work/out" -w '%{http_code}' --max-time 20 \
	    --cacert "$pki/kz/ca.pem" -H 'Content-Type: application/xml' \
	    --data 'x' "$@" "$url" 2>"$work/curl.err"
}
a=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$pki/fr/tls-client.pem")
b=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$pki/fr/tls-client-revoked.pem")
check "the revoked client certificate has France's exact subject" \
	[ "$a" = "$b" ]
code=$(post --cert "$pki/fr/tls-client-revoked.pem" \
    --key "$pki/fr/tls-client-revoked.key")
check "a revoked client certificate with France's subject gets no HTTP answer ($code)" \
	[ "$code" = 000 ]
cserial=$(serial "$pki/fr/tls-client-revoked.pem")
check "... logged with partner, subject, serial and revoked" \
	wait_for "$kzlog" "tls: from 127.0.0.1:[0-9]*: client certificate of FR refused, revoked by the partner's CRL: subject CN=gw.fr.accord.test,OU=Gateway,O=Accord Test PKI,C=FR, serial $cserial"
v=$(metric inbound revoked)
check "accord_tls_refused_total{FR,inbound,revoked} counts it ($v)" \
	[ "$v" -ge 1 ]
code=$(post --cert "$pki/fr/tls-client.pem" --key "$pki/fr/tls-client.key")
check "France's good client certificate still passes TLS (garbage: 400, $code)" \
	[ "$code" = 400 ]

# ---- the live France gateway with the revoked client certificate ------------
stop_fr
fr_cert client tls-client-revoked
start_fr
out=$(fr submit KZ document=@"$work/rr.xml" 2>&1)
case2=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "France's gateway with a revoked client certificate: Kazakhstan refuses it ($case2)" \
	wait_for "$kzlog" "tls: from 127.0.0.1:[0-9]*: client certificate of FR refused, revoked by the partner's CRL: subject CN=gw.fr.accord.test,OU=Gateway,O=Accord Test PKI,C=FR, serial $cserial" 20
check "... France's attempt fails" \
	wait_for "$frlog" "to KZ: attempt 1 failed" 20
check "... France's message stays QUEUED" \
	wait_cmd 5 "out ReadmissionRequest *QUEUED" fr status "$case2"
check "... Kazakhstan does not know the case" \
	sh -c '! "$@" >/dev/null 2>&1' _ "$ACCORDCTL" -s \
	    "$work/run/kz/control.sock" status "$case2"
stop_fr

# ---- server-pin: another certificate of France's CA, then the pinned one ----
# (pinned before France serves a good certificate: nothing may go first)
sed -i "s|</client-subject>|</client-subject>\n    <server-pin>$(fp tls-client)</server-pin>|" "$kzfr"
out=$(kz reload 2>&1)
check "Kazakhstan reloads with a server-pin that is not France's server certificate" \
	sh -c 'printf "%s" "$1" | grep -q "configuration reloaded"' _ "$out"
fr_cert client tls-client
fr_cert tls tls-server
start_fr
check "the unpinned server certificate is refused, logged as such" \
	wait_for "$kzlog" "server certificate of FR refused, not the pinned server certificate: subject CN=gw.fr.accord.test,O=Accord Test PKI,C=FR, serial $(serial "$pki/fr/tls-server.pem"); certificate $(fp tls-server), server-pin $(fp tls-client)" 30
check "... the message is still QUEUED" [ "$(state_of "$case1")" = QUEUED ]
check "... France still does not know the case" \
	sh -c '! "$@" >/dev/null 2>&1' _ "$ACCORDCTL" -s \
	    "$work/run/fr/control.sock" status "$case1"
v=$(metric outbound pin)
check "accord_tls_refused_total{FR,outbound,pin} counts it ($v)" [ "$v" -ge 1 ]
sed -i "s|<server-pin>[^<]*</server-pin>|<server-pin>$(fp tls-server)</server-pin>|" "$kzfr"
kz reload >/dev/null 2>&1
check "with the right server-pin the message is delivered" \
	wait_cmd 40 "out ReadmissionRequest *RECEIPTED" kz status "$case1"

# ---- a reload's new CRL applies to connections already open -----------------
# France's server certificate revoked, while Kazakhstan's connection to it
# (just used) is kept for reuse
(cd "$pki/fr" &&
    openssl ca -batch -config ca-db/openssl.cnf -revoke tls-server.pem \
	-crl_reason keyCompromise &&
    openssl ca -batch -config ca-db/openssl.cnf -gencrl -crldays 30 \
	-out crl.pem) >"$work/ca.log" 2>&1
check "France's CA revokes its server certificate (new crl.pem)" \
	sh -c 'openssl crl -in "$1" -noout -text | grep -q "$2"' _ \
	    "$pki/fr/crl.pem" "$(serial "$pki/fr/tls-server.pem")"
before=$(metric outbound revoked)
kz reload >/dev/null 2>&1
out=$(kz submit FR document=@"$work/rr.xml" 2>&1)
case3=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "after the reload, the next message is not sent on the open connection" \
	wait_for "$kzlog" "serial $(serial "$pki/fr/tls-server.pem"); CRL " 20
sleep 1
check "... it stays QUEUED ($case3)" [ "$(state_of "$case3")" = QUEUED ]
check "... France does not know the case" \
	sh -c '! "$@" >/dev/null 2>&1' _ "$ACCORDCTL" -s \
	    "$work/run/fr/control.sock" status "$case3"
v=$(metric outbound revoked)
check "... counted ($before, then $v)" [ "$v" -gt "$before" ]

# ---- a CRL past its nextUpdate ----------------------------------------------
(cd "$pki/fr" &&
    openssl ca -batch -config ca-db/openssl.cnf -gencrl \
	-crl_lastupdate 20250101000000Z -crl_nextupdate 20250201000000Z \
	-out crl-stale.pem) >>"$work/ca.log" 2>&1
sed -i 's|<crl file="fr/crl.pem"/>|<crl file="fr/crl-stale.pem"/>|' "$kzfr"
out=$("$ACCORDD" -n -c "$work/conf/accordd.xml" 2>&1); rc=$?
check "accordd -n: a CRL past its nextUpdate is a warning, not an error" \
	sh -c '[ $1 -eq 0 ] && printf "%s\n" "$2" | grep -q "^warning: .*partners/fr.xml:[0-9]*: CRL .*fr/crl-stale.pem of FR is past its nextUpdate (2025-02-01"' \
	    _ $rc "$out"
kz reload >/dev/null 2>&1
check "alerts: the CRL past its nextUpdate" \
	wait_cmd 10 "^crl  *FR .*crl-stale.pem  *CRL past its nextUpdate" \
	    kz alerts
before=$(metric outbound revoked)
check "... and the stale CRL still applies: France's server refused again" \
	metric_above outbound revoked "$before" 30

kill -TERM $kzpid $frpid
wait_gone $kzpid 10
wait_gone $frpid 10
check "both gateways stop cleanly" \
	sh -c 'grep -q "accordd: stopped" "$1" && grep -q "accordd: stopped" "$2"' \
	    _ "$kzlog" "$frlog"
finish
