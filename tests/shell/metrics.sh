# Metrics over HTTP (issue 17, item 8): <metrics listen=> on both gateways
# of a pair; GET /metrics is a Prometheus exposition that promtool
# accepts; the counters move by what happened (messages out and in by
# partner and type, delivery attempts, failures and latency, inbound
# processing time, refusals by code); partner_up goes 0 while France is
# down; other paths get a 404; a bad <metrics listen=> is a clear error
# of accordd -n.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
for c in curl promtool; do
	if ! command -v $c >/dev/null 2>&1; then
		# quickstart installs both (curl, prometheus)
		echo "1..0 # SKIP the $c command is not installed"
		exit 0
	fi
done
plan 36
make_workdir metrics
use_system_groups
kzlog="$work/kz.log"
frlog="$work/fr.log"
pki="$work/pki"
# two free loopback ports of our own for the endpoints
while :; do
	kz_mport=$(( 32000 + ($(od -An -N2 -tu2 /dev/urandom) % 400) * 2 ))
	fr_mport=$((kz_mport + 1))
	ss -ltn 2>/dev/null | grep -q ":$kz_mport \|:$fr_mport " || break
done
kzconf="$work/conf/accordd.xml"
frconf="$work/conf/demo-fr/accordd.xml"
cp "$kzconf" "$work/plain.xml"
# <metrics> goes after <control> (accordd.xsd's order)
with_metrics() {	# FILE ATTRIBUTES: insert <metrics ATTRIBUTES/>
	sed -i "s|^\(  *\)<limits |\1<metrics $2/>\n\1<limits |" "$1"
}
with_metrics "$kzconf" "listen=\"127.0.0.1:$kz_mport\""
with_metrics "$frconf" "listen=\"127.0.0.1:$fr_mport\""

# ---- accordd -n: what <metrics listen=> may be ----------------------------
conf_check() {	# ATTRIBUTES: accordd -n on a copy with <metrics ATTRIBUTES/>
	cp "$work/plain.xml" "$work/conf/bad.xml"
	with_metrics "$work/conf/bad.xml" "$1"
	"$ACCORDD" -n -c "$work/conf/bad.xml" >"$work/check.out" 2>&1
}
check "accordd -n takes <metrics listen=\"127.0.0.1:PORT\"/>" \
	sh -c '"$1" -n -c "$2" 2>&1 | grep -q "^configuration OK"' _ \
	    "$ACCORDD" "$kzconf"
conf_check 'listen="10.1.2.3:9464"'; rc=$?
check "a non-loopback address is an error naming it and allow-remote" \
	sh -c '[ $1 -eq 1 ] && grep -q "bad.xml:[0-9]*: metrics listen: 10.1.2.3 is not a loopback address.*allow-remote=\"true\"" "$2"' \
	    _ $rc "$work/check.out"
conf_check 'listen="10.1.2.3:9464" allow-remote="true"'; rc=$?
check "... which allow-remote=\"true\" allows" \
	sh -c '[ $1 -eq 0 ] && grep -q "^configuration OK" "$2"' _ $rc \
	    "$work/check.out"
conf_check 'listen="127.0.0.1:99999"'; rc=$?
check "a port out of range is an error naming it" \
	sh -c '[ $1 -eq 1 ] && grep -q "metrics listen: port .99999. is not a number from 1 to 65535" "$2"' \
	    _ $rc "$work/check.out"
conf_check 'listen="127.0.0.1"'; rc=$?
check "an address without a port is an error" \
	sh -c '[ $1 -eq 1 ] && grep -q "metrics listen: .127.0.0.1. is not address:port" "$2"' \
	    _ $rc "$work/check.out"
conf_check 'listen="localhost:9464"'; rc=$?
check "a host name is an error (numeric addresses only)" \
	sh -c '[ $1 -eq 1 ] && grep -q "metrics listen: .localhost. is not a numeric IPv4 address" "$2"' \
	    _ $rc "$work/check.out"
conf_check 'listen="[::1]:9464"'; rc=$?
check "[::1]:PORT is a loopback address" \
	sh -c '[ $1 -eq 0 ] && grep -q "^configuration OK" "$2"' _ $rc \
	    "$work/check.out"

# ---- the endpoint --------------------------------------------------------
start_fr() {
	"$ACCORDD" -d -c "$frconf" >>"$frlog" 2>&1 &
	frpid=$!
	wait_for "$frlog" "started: FR/DGEF" || cat "$frlog"
}
# scrape kz|fr FILE: GET /metrics into FILE, headers into FILE.h
scrape() {
	port=$kz_mport
	[ "$1" = fr ] && port=$fr_mport
	curl -sS -D "$2.h" -o "$2" -w '%{http_code}' --max-time 20 \
	    "http://127.0.0.1:$port/metrics" 2>"$work/curl.err"
}
# value FILE SAMPLE: the value of one sample (0 when absent: a counter
# not yet counted has no series)
value() {
	v=$(awk -v s="$2" '$1 == s { print $2; exit }' "$1")
	echo "${v:-0}"
}
# promtool check metrics prints what it finds; nothing is clean
promcheck() {
	promtool check metrics <"$1" >"$1.lint" 2>&1 && [ ! -s "$1.lint" ] ||
	    { sed 's/^/# /' "$1.lint"; return 1; }
}
body ReadmissionRequest >"$work/rr.xml"
kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_fr
# France's endpoint holds its port: a Kazakhstan that wants it stops
sed "s|127.0.0.1:$kz_mport|127.0.0.1:$fr_mport|" "$kzconf" >"$work/conf/busy.xml"
"$ACCORDD" -d -c "$work/conf/busy.xml" >"$work/busy.log" 2>&1; rc=$?
check "a metrics port already taken stops the daemon at start (exit $rc), naming it" \
	sh -c '[ $1 -eq 1 ] && grep -q "metrics: cannot listen on 127.0.0.1:$2" "$3"' \
	    _ $rc $fr_mport "$work/busy.log"
# test builds: Kazakhstan's scrapes take a second longer, so that the
# loop can be seen answering while one is built
export ACCORD_TEST_METRICS_DELAY_MS=1000
start_kz
unset ACCORD_TEST_METRICS_DELAY_MS
check "the daemon logs where it serves the metrics" \
	grep -q "metrics: serving http://127.0.0.1:$kz_mport/metrics" "$kzlog"

code=$(scrape kz "$work/m0")
check "GET /metrics: 200 ($code)" [ "$code" = 200 ]
check "... Content-Type text/plain; version=0.0.4" \
	grep -qi "^Content-Type: text/plain; version=0.0.4" "$work/m0.h"
check "... promtool check metrics finds nothing" promcheck "$work/m0"
check "... # HELP and # TYPE of the counters and histograms before any event" \
	sh -c 'grep -q "^# TYPE accord_messages_out_total counter" "$1" &&
	       grep -q "^# TYPE accord_delivery_latency_seconds histogram" "$1" &&
	       grep -q "^# TYPE accord_inbound_processing_seconds histogram" "$1" &&
	       grep -q "^# TYPE accord_partner_up gauge" "$1" &&
	       grep -q "^# TYPE accord_journal_size_bytes gauge" "$1"' _ "$work/m0"
if grep -q '^#define ACCORD_TEST_CLOCK 1' "$ACCORD_BUILDDIR/accord-build.h"; then
	scrape kz "$work/slow" >"$work/slow.code" &
	spid=$!
	sleep 0.2
	kz ping >/dev/null 2>&1; prc=$?
	kill -0 $spid 2>/dev/null; running=$?
	wait $spid
	check "the loop answers a ping while a scrape is built (ping $prc, scrape still running: $running, then $(cat "$work/slow.code"))" \
		sh -c '[ $1 -eq 0 ] && [ $2 -eq 0 ] && [ "$3" = 200 ]' _ \
		    $prc $running "$(cat "$work/slow.code")"
else
	ok "# SKIP the scrape delay needs a build with --enable-test-clock"
fi
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 \
    "http://127.0.0.1:$kz_mport/other" 2>/dev/null)
check "another path: 404 ($code)" [ "$code" = 404 ]
code=$(curl -sS -I -o "$work/head" -w '%{http_code}:%{size_download}' \
    --max-time 20 "http://127.0.0.1:$kz_mport/metrics" 2>/dev/null)
check "HEAD /metrics: 200 without a body ($code)" [ "$code" = 200:0 ]
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 \
    --data x "http://127.0.0.1:$kz_mport/metrics" 2>/dev/null)
check "POST /metrics: 405 ($code)" [ "$code" = 405 ]

# ---- counters move by what happened ---------------------------------------
out_rr='accord_messages_out_total{partner="FR",type="ReadmissionRequest"}'
in_rr='accord_messages_in_total{partner="KZ",type="ReadmissionRequest"}'
n=3	# (wait_cmd has an n of its own: this one is $N)
N=$n
i=0
while [ $i -lt $N ]; do
	kz submit FR document=@"$work/rr.xml" >/dev/null 2>&1
	i=$((i + 1))
done
check "$N requests delivered to France" \
	wait_cmd 30 "^FR active *0 " kz queues
scrape kz "$work/m1" >/dev/null
scrape fr "$work/f1" >/dev/null
check "$out_rr went up by $N ($(value "$work/m0" "$out_rr") -> $(value "$work/m1" "$out_rr"))" \
	[ "$(value "$work/m1" "$out_rr")" -eq $(( $(value "$work/m0" "$out_rr") + N )) ]
check "France: $in_rr is $N" [ "$(value "$work/f1" "$in_rr")" -eq $N ]
# at least one attempt a message (a message may go twice: the partner
# answers a duplicate with its receipt)
a='accord_delivery_attempts_total{partner="FR"}'
check "$a went up by at least $N ($(value "$work/m1" "$a"))" \
	[ "$(value "$work/m1" "$a")" -ge $(( $(value "$work/m0" "$a") + N )) ]
check "... and no delivery failed" \
	[ "$(value "$work/m1" 'accord_delivery_failures_total{partner="FR"}')" -eq 0 ]
c='accord_delivery_latency_seconds_count{partner="FR"}'
b='accord_delivery_latency_seconds_bucket{partner="FR",le="+Inf"}'
check "delivery latency: $N observations, the +Inf bucket equal to the count" \
	sh -c '[ "$1" -eq "$3" ] && [ "$2" -eq "$3" ]' _ \
	    "$(value "$work/m1" "$c")" "$(value "$work/m1" "$b")" $N
c='accord_inbound_processing_seconds_count{partner="KZ"}'
a=$(value "$work/f1" "$c")
b=$(value "$work/f1" 'accord_inbound_processing_seconds_bucket{partner="KZ",le="10"}')
check "France: inbound processing time of each POST from KZ ($a, at least $N; $b within 10 s)" \
	sh -c '[ "$1" -ge "$3" ] && [ "$2" -le "$1" ]' _ "$a" "$b" $N
check "accord_partner_up{partner=\"FR\"} 1" \
	grep -q '^accord_partner_up{partner="FR"} 1$' "$work/m1"
check "last contact with FR is a unix time of this run" \
	sh -c '[ "$1" -gt 1700000000 ]' _ \
	    "$(value "$work/m1" 'accord_partner_last_contact_timestamp_seconds{partner="FR"}')"
check "journal size in bytes, certificates in seconds (ours and France's)" \
	sh -c '[ "$(awk "\$1 == \"accord_journal_size_bytes\" { print \$2 }" "$1")" -gt 0 ] &&
	       grep -q "^accord_certificate_expiry_seconds{owner=\"KZ\",use=\"tls-server\",sha256=\"[0-9a-f]*\"} [0-9]" "$1" &&
	       grep -q "^accord_certificate_expiry_seconds{owner=\"FR\",use=\"signing\",sha256=\"[0-9a-f]*\"} [0-9]" "$1"' \
	    _ "$work/m1"

# an authenticated partner's garbage is refused with a signed Error
curl -sS -o /dev/null --max-time 20 --cacert "$pki/kz/ca.pem" \
    --cert "$pki/fr/tls-client.pem" --key "$pki/fr/tls-client.key" \
    -H 'Content-Type: application/xml' --data garbage \
    "https://127.0.0.1:$kz_port/accord/v1/messages" 2>/dev/null
scrape kz "$work/m2" >/dev/null
r='accord_refusals_total{partner="FR",code="MALFORMED"}'
check "$r went up by 1" \
	[ "$(value "$work/m2" "$r")" -eq $(( $(value "$work/m1" "$r") + 1 )) ]

# ---- France down ------------------------------------------------------------
kill -TERM $frpid
wait_gone $frpid 10
kz submit FR document=@"$work/rr.xml" >/dev/null 2>&1
check "with France down, the attempt fails" \
	wait_for "$kzlog" "to FR: attempt 1 failed"
scrape kz "$work/m3" >/dev/null
check "accord_partner_up{partner=\"FR\"} 0" \
	grep -q '^accord_partner_up{partner="FR"} 0$' "$work/m3"
f='accord_delivery_failures_total{partner="FR"}'
check "$f went up ($(value "$work/m2" "$f") -> $(value "$work/m3" "$f"))" \
	[ "$(value "$work/m3" "$f")" -gt "$(value "$work/m2" "$f")" ]
check "outbox depth for FR is 1, its oldest message's age at least 0" \
	sh -c 'grep -q "^accord_outbox_depth{partner=\"FR\"} 1$" "$1" &&
	       grep -q "^accord_outbox_oldest_age_seconds{partner=\"FR\"} [0-9]" "$1"' \
	    _ "$work/m3"
check "... and promtool still finds nothing" promcheck "$work/m3"
kz reload >/dev/null 2>&1; rc=$?
code=$(scrape kz "$work/m4")
check "after a reload ($rc) the endpoint still answers ($code)" \
	sh -c '[ $1 -eq 0 ] && [ "$2" = 200 ]' _ $rc "$code"
kz metrics >"$work/ctl"
check "accordctl metrics prints the same exposition" \
	sh -c 'grep -q "^accord_partner_up{partner=\"FR\"} 0" "$1" &&
	       grep -q "^# TYPE accord_delivery_latency_seconds histogram" "$1"' \
	    _ "$work/ctl"

kill -TERM $kzpid
wait_gone $kzpid 10
check "the gateway stops cleanly" grep -q "accordd: stopped" "$kzlog"
finish
