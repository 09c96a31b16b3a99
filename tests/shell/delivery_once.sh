# Each message goes once to a healthy partner (issue 20): N submits from
# France to a Kazakhstan that answers every POST give exactly N delivery
# attempts on France's side and N POSTs answered on Kazakhstan's.  The
# outbox scan reads the store, which takes a receipt only when its batch
# is committed and applied: a scan in between must not post the message
# again (the partner would answer the copy with its receipt once more).
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 6
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
# submits in parallel, four at a time: receipts come back while other
# submits commit and kick the sender
i=0
while [ $i -lt "$n" ]; do
	pids=
	for j in 1 2 3 4; do
		fr submit KZ document=@"$work/rr.xml" >>"$work/submits" 2>&1 &
		pids="$pids $!"
	done
	wait $pids
	i=$((i + 4))
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
kill -TERM $kzpid $frpid
wait_gone $kzpid 10
wait_gone $frpid 10
check "both gateways stop cleanly" \
	sh -c 'grep -q "accordd: stopped" "$1" && grep -q "accordd: stopped" "$2"' \
	    _ "$kzlog" "$frlog"
finish
