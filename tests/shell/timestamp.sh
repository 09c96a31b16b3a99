#!/bin/sh
# timestamp.sh -- trusted time (issue 18, item 4): with <timestamp url= ca=>
# each checkpoint is time-stamped by an RFC 3161 authority (a local one:
# tests/helpers/tsa_responder, OpenSSL's TS API behind a small HTTP
# server) and the token journalled; accord-audit verify checks every token
# against the authority's CA.  An authority that is down: checkpoints are
# still written, an alert and a counter show it, and the token comes once
# it is back.  A reply that does not verify is refused by the daemon; a
# token from another authority's key is a finding of verify.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
TSA="$ACCORD_BUILDDIR/tests/helpers/tsa_responder"

plan 22
make_workdir timestamp
kzlog="$work/kz.log"
conf="$work/conf/accordd.xml"
tsa="$work/tsa"
out="$work/out"
mkdir -p "$tsa"

# mktsa NAME: a CA and a time-stamping certificate it issues
# (extendedKeyUsage critical timeStamping, as RFC 3161 wants)
mktsa() {
	d="$tsa/$1"
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/ca.key" -out "$d/ca.pem" -days 30 \
	    -subj "/CN=$1 time-stamp CA" \
	    -addext basicConstraints=critical,CA:true \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/tsa.key" -out "$d/tsa.csr" -subj "/CN=$1 TSA" \
	    2>/dev/null &&
	printf '%s\n' 'extendedKeyUsage=critical,timeStamping' \
	    'keyUsage=critical,digitalSignature' 'basicConstraints=CA:false' \
	    >"$d/ext" &&
	openssl x509 -req -in "$d/tsa.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -days 30 -extfile "$d/ext" -out "$d/tsa.pem" \
	    2>/dev/null
}
check "a time-stamp authority's CA and certificate" mktsa good
check "... and another authority's" mktsa rogue

# start_tsa NAME [MODE]: the authority NAME on $tport (a free one at first)
tport=0
start_tsa() {
	rm -f "$tsa/port"
	"$TSA" -k "$tsa/$1/tsa.key" -c "$tsa/$1/tsa.pem" -p "$tport" \
	    -P "$tsa/port" -m "${2:-ok}" >>"$tsa/log" 2>&1 &
	tsapid=$!
	i=0
	while [ ! -s "$tsa/port" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	tport=$(cat "$tsa/port")
}
stop_tsa() {
	kill "$tsapid" 2>/dev/null
	wait "$tsapid" 2>/dev/null
}
stop_kz() {
	kill "$kzpid" 2>/dev/null
	wait_gone "$kzpid" 15
}
# with_timestamp FILE CA: <timestamp> before <limits> (accordd.xsd's order)
with_timestamp() {
	sed -i -e '/<timestamp /d' -e "s|^\(  *\)<limits |\1<timestamp url=\"http://127.0.0.1:$tport/tsa\" ca=\"$2\" retry-seconds=\"1\"/>\n\1<limits |" "$1"
}
# stamped N: the daemon's log says N tokens were journalled
stamped() {
	[ "$(grep -c 'checkpoint at record [0-9]* time-stamped by' "$kzlog")" -ge "$1" ]
}
wait_stamped() {
	i=0
	while ! stamped "$1" && [ $i -lt 150 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	stamped "$1"
}
audit() {
	"$AUDIT" "$@" >"$out" 2>&1
	st=$?
}
# jsum KEY: the JSON report's summary value
jsum() {
	jq -r ".summary.$1" "$out"
}

start_tsa good
with_timestamp "$conf" "$tsa/good/ca.pem"
check "accordd -n takes <timestamp url= ca= retry-seconds=>" \
	sh -c '"$1" -n -c "$2" 2>&1 | grep -q "^configuration OK"' _ \
	    "$ACCORDD" "$conf"

# ---- a time-stamped checkpoint --------------------------------------------
start_kz
check "the start-up checkpoint is time-stamped and journalled" \
	wait_stamped 1
check "... the authority answered one request" \
	grep -q "answered request 1 (ok)" "$tsa/log"
check "no alert while the authority answers" \
	sh -c '! "$1" -s "$2" alerts | grep -q timestamp' _ "$ACCORDCTL" \
	    "$work/run/kz/control.sock"

# ---- the authority down -----------------------------------------------------
stop_tsa
stop_kz
start_kz
check "with the authority down the daemon starts and its checkpoint is written" \
	wait_for "$kzlog" "no token for the checkpoint at record .*Could not connect\|no token for the checkpoint at record .*Couldn't connect" 10
check "accordctl alerts: time-stamp authority unreachable since ..." \
	wait_cmd 5 "time-stamp authority unreachable since" kz alerts
kz -j alerts >"$out" 2>&1
check "... as JSON, with its URL and the checkpoint waiting" \
	sh -c 'jq -e "[.. | objects | select(.kind? == \"timestamp\")] | .[0] | .url and .checkpoint_waiting > 0" "$1" >/dev/null' _ "$out"
check "accord_timestamp_failures_total counts the failures" \
	sh -c '"$1" -s "$2" metrics | awk "\$1 == \"accord_timestamp_failures_total\" && \$2 >= 1 { f = 1 } END { exit !f }"' \
	    _ "$ACCORDCTL" "$work/run/kz/control.sock"
check "... and retries with backoff" \
	wait_for "$kzlog" "no token for the checkpoint at record .*trying again in 2 s" 10

# ---- it comes back ------------------------------------------------------------
start_tsa good
check "the authority back on its port, the token is journalled" \
	wait_stamped 2
check "the alert is gone" \
	sh -c '! "$1" -s "$2" alerts | grep -q timestamp' _ "$ACCORDCTL" \
	    "$work/run/kz/control.sock"

# ---- a reply that does not verify -------------------------------------------
stop_tsa
start_tsa rogue
stop_kz
start_kz
check "a reply signed by another authority is refused (not journalled)" \
	wait_for "$kzlog" "no token for the checkpoint at record .*the reply does not verify" 10
stop_tsa
start_tsa good bad
check "a reply that is no TimeStampResp is refused" \
	wait_for "$kzlog" "no token for the checkpoint at record .*the reply is no TimeStampResp" 10
stop_tsa
stop_kz

# ---- verify ---------------------------------------------------------------------
audit verify --json --tsa-ca "$tsa/good/ca.pem" "$work/var/kz/journal"
check "verify --tsa-ca: no finding, both tokens verified" \
	sh -c '[ $1 -eq 0 ] && [ "$(jq -r .summary.timestamps_verified "$2")" = 2 ]' _ $st "$out"
check "... and the checkpoints without a token are a warning" \
	sh -c 'jq -r ".warnings[].text" "$1" | grep -q "have no token"' _ "$out"
audit verify --json "$work/var/kz/journal"
check "without --tsa-ca the journalled CA verifies them, with a warning" \
	sh -c '[ $1 -eq 0 ] && [ "$(jq -r .summary.timestamps_verified "$2")" = 2 ] && jq -r ".warnings[].text" "$2" | grep -q "pin it with --tsa-ca"' _ $st "$out"

# ---- a token from another authority's key ---------------------------------------
# the rogue authority, configured as if it were the one: its tokens are
# journalled, and an auditor who holds the real CA finds them
start_tsa rogue
with_timestamp "$conf" "$tsa/rogue/ca.pem"
start_kz
check "(the rogue authority's token journalled)" wait_stamped 3
stop_kz
stop_tsa
audit verify --json --tsa-ca "$tsa/good/ca.pem" "$work/var/kz/journal"
check "verify finds the token of another authority's key" \
	sh -c '[ $1 -eq 1 ] && jq -e ".findings[] | select(.kind == \"timestamp\") | select(.text | test(\"does not verify\"))" "$2" >/dev/null' _ $st "$out"
check "... naming file, offset and record" \
	sh -c 'jq -e ".findings[] | select(.kind == \"timestamp\") | .file and .offset != null and .record" "$1" >/dev/null' _ "$out"
audit verify --tsa-ca "$tsa/good/ca.pem" "$work/var/kz/journal"
check "... in the text report too" \
	sh -c '[ $1 -eq 1 ] && grep -q "time-stamp token of the checkpoint at record [0-9]* (http://127.0.0.1:[0-9]*/tsa): the token does not verify" "$2"' _ $st "$out"

finish
