# The transport between two gateways on loopback (issue 8): the inbound
# endpoint's TLS and HTTP refusals, each answered without committing
# anything, then delivery end to end, with the partner down and back up.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP the curl command is not installed"
	exit 0
fi
plan 22
make_workdir transport
use_system_groups
kzlog="$work/kz.log"
frlog="$work/fr.log"
pki="$work/pki"
url="https://127.0.0.1:$kz_port/accord/v1/messages"
# post [curl options]: the HTTP status (000: no HTTP answer); body in $work/out
post() {
	curl -sS -o "$work/out" -w '%{http_code}' --max-time 20 \
	    --cacert "$pki/kz/ca.pem" "$@" 2>"$work/curl.err"
}
as_fr() {
	post --cert "$pki/fr/tls-client.pem" --key "$pki/fr/tls-client.key" "$@"
}
body ReadmissionRequest >"$work/rr.xml"

start_kz
start_fr

# ---- TLS: who may talk to us at all ---------------------------------------
code=$(post -H 'Content-Type: application/xml' --data 'x' "$url")
check "a client without a certificate gets no HTTP answer ($code)" \
	[ "$code" = 000 ]
check "... and the refused handshake is logged" \
	wait_for "$kzlog" "inbound: TLS from 127.0.0.1:[0-9]*: handshake failed"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 \
    "http://127.0.0.1:$kz_port/accord/v1/messages" 2>/dev/null)
check "plain HTTP to the HTTPS port gets no HTTP answer ($code)" \
	[ "$code" = 000 ]

# a certificate of France's CA with another subject
printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$work/ext.cnf"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/other.key" -out "$work/other.csr" \
    -subj "/C=FR/O=Accord Test PKI/OU=Gateway/CN=other.fr.accord.test" \
    2>/dev/null
openssl x509 -req -in "$work/other.csr" -CA "$pki/fr/ca.pem" \
    -CAkey "$pki/fr/ca.key" -CAserial "$work/other.srl" -CAcreateserial \
    -days 30 -extfile "$work/ext.cnf" -out "$work/other.pem" 2>/dev/null
code=$(post --cert "$work/other.pem" --key "$work/other.key" \
    -H 'Content-Type: application/xml' --data 'x' "$url")
check "France's CA but another subject: 403 ($code)" [ "$code" = 403 ]
check "... logged with the subject that matched no partner" \
	wait_for "$kzlog" "CN=other.fr.accord.test,OU=Gateway,O=Accord Test PKI,C=FR .*matches no partner"
code=$(post --cert "$pki/fr/tls-server.pem" --key "$pki/fr/tls-server.key" \
    -H 'Content-Type: application/xml' --data 'x' "$url")
check "France's server certificate (no clientAuth) is refused ($code)" \
	[ "$code" = 000 ]

# ---- HTTP: the one resource -------------------------------------------------
code=$(as_fr "$url")
check "GET: 405 ($code)" [ "$code" = 405 ]
code=$(as_fr -H 'Content-Type: application/xml' --data 'x' \
    "https://127.0.0.1:$kz_port/accord/v1/other")
check "another path: 404 ($code)" [ "$code" = 404 ]
code=$(as_fr -H 'Content-Type: text/plain' --data 'x' "$url")
check "another Content-Type: 415 ($code)" [ "$code" = 415 ]
head -c 1048577 /dev/zero | tr '\0' a >"$work/big"
code=$(as_fr -H 'Content-Type: application/xml' --data-binary @"$work/big" \
    "$url")
check "a body over max-message-size: 413 ($code)" [ "$code" = 413 ]
code=$(as_fr -H 'Content-Type: application/xml' --data 'garbage' "$url")
check "garbage from France: 400 ($code)" [ "$code" = 400 ]
check "... with a signed Error, code MALFORMED" \
	sh -c 'grep -q "<Code>MALFORMED</Code>" "$1" &&
	       grep -q "<ds:SignatureValue>" "$1"' _ "$work/out"
check "none of this opened a case" \
	sh -c '"$@" | grep -q "^0 cases"' _ "$ACCORDCTL" -s \
	    "$work/run/kz/control.sock" list

# ---- delivery ----------------------------------------------------------------
out=$(fr submit KZ document=@"$work/rr.xml" --urgent 2>&1)
case1=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "France submits a ReadmissionRequest ($case1)" [ -n "$case1" ]
check "Kazakhstan has the case, PENDING_REPLY, as requested state" \
	wait_cmd 10 "^FR $case1 *PENDING_REPLY *Q " kz list
check "France's message is RECEIPTED" \
	wait_cmd 10 "out ReadmissionRequest *RECEIPTED" fr status "$case1"

kill -TERM $kzpid
wait_gone $kzpid 10
out=$(fr submit KZ document=@"$work/rr.xml" 2>&1)
case2=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "with Kazakhstan down, the attempt fails and is retried" \
	wait_for "$frlog" "to KZ: attempt 1 failed: .*; next in [0-9]*s"
check "... the message stays QUEUED" \
	sh -c '"$@" | grep -q "out ReadmissionRequest *QUEUED"' _ \
	    "$ACCORDCTL" -s "$work/run/fr/control.sock" status "$case2"
start_kz
check "once Kazakhstan is back it is delivered" \
	wait_cmd 40 "out ReadmissionRequest *RECEIPTED" fr status "$case2"
n=$(grep -c "ReadmissionRequest from FR case $case2" "$kzlog")
check "... exactly once ($n)" [ "$n" -eq 1 ]
kz list | awk '/^FR /{print $2, $3}' | sort >"$work/kz.cases"
fr list | awk '/^KZ /{print $2, $3}' | sort >"$work/fr.cases"
check "both gateways show the same state for every case" \
	sh -c '[ -s "$1" ] && cmp -s "$1" "$2"' _ "$work/kz.cases" \
	    "$work/fr.cases"

kill -TERM $kzpid $frpid
wait_gone $kzpid 10
wait_gone $frpid 10
check "both gateways stop cleanly" \
	sh -c 'grep -q "accordd: stopped" "$1" && grep -q "accordd: stopped" "$2"' \
	    _ "$kzlog" "$frlog"
finish
