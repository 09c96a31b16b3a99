# Each message goes once to a healthy partner (issue 20): N submits from
# France to a Kazakhstan that answers every POST give exactly N delivery
# attempts on France's side and N POSTs answered on Kazakhstan's.  The
# outbox scan reads the store, which takes a receipt only when its batch
# is committed and applied: a scan in between must not post the message
# again (the partner would answer the copy with its receipt once more).
# And the connections are kept open and reused: no more TLS handshakes,
# on either side, than France's connections-per-partner.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 8
make_workdir delivery_once
use_system_groups
kzlog="$work/kz.log"
frlog="$work/fr.log"
n=${DELIVERY_ONCE_N:-40}
"$ACCORDD" -d -c "$work/conf/demo-fr/accordd.xml" >>"$frlog" 2>&1 &
frpid=$!
wait_for "$frlog" "started: FR/DGEF" || cat "$frlog"
start_kz
body ReadmissionRequest >"$work/rr.xml"

# metric kz|fr NAME: a sample's value in that gateway's metrics (0: none)
metric() {
	$1 metrics 2>/dev/null | awk -v k="$2" '$1 == k { v = $2 } END {
	    print v == "" ? 0 : v }'
}
# submits in parallel, eight at a time: receipts come back while other
# submits commit and kick the sender, and up to 8 go at once
i=0
while [ $i -lt "$n" ]; do
	pids=
	for j in 1 2 3 4 5 6 7 8; do
		fr submit KZ document=@"$work/rr.xml" >>"$work/submits" 2>&1 &
		pids="$pids $!"
	done
	wait $pids
	i=$((i + 8))
done
ok=$(grep -c "case " "$work/submits")
check "France took $n submits ($ok)" [ "$ok" -eq "$n" ]
receipted() {
	[ "$(metric fr 'accord_messages{direction="out",state="RECEIPTED"}')" \
	    -eq "$n" ]
}
i=0
while [ $i -lt 300 ] && ! receipted; do
	sleep 0.1
	i=$((i + 1))
done
check "all $n are RECEIPTED" receipted
# a copy would follow within the second of the outbox's poll
sleep 2
att=$(metric fr 'accord_delivery_attempts_total{partner="KZ"}')
fail=$(metric fr 'accord_delivery_failures_total{partner="KZ"}')
check "France made exactly $n delivery attempts ($att)" [ "$att" -eq "$n" ]
check "... none of them failed ($fail)" [ "$fail" -eq 0 ]
posts=$(metric kz 'accord_inbound_processing_seconds_count{partner="FR"}')
check "Kazakhstan answered exactly $n POSTs ($posts)" [ "$posts" -eq "$n" ]
# connections-per-partner is 8 by default
hs=$(metric fr 'accord_tls_handshakes_total{direction="outbound"}')
check "France opened between 1 and 8 connections for them ($hs)" \
	[ "$hs" -ge 1 -a "$hs" -le 8 ]
hs=$(metric kz 'accord_tls_handshakes_total{direction="inbound"}')
check "Kazakhstan made between 1 and 8 TLS handshakes ($hs)" \
	[ "$hs" -ge 1 -a "$hs" -le 8 ]
kill -TERM $kzpid $frpid
wait_gone $kzpid 10
wait_gone $frpid 10
check "both gateways stop cleanly" \
	sh -c 'grep -q "accordd: stopped" "$1" && grep -q "accordd: stopped" "$2"' \
	    _ "$kzlog" "$frlog"
finish
