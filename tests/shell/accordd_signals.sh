# The daemon's loop: starts, reloads on SIGHUP (refusing a bad file and
# keeping the old configuration), stops cleanly on SIGTERM and SIGINT.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 14
make_workdir signals
log="$work/accordd.log"

"$ACCORDD" -d -c "$work/conf/accordd.xml" >"$log" 2>&1 &
pid=$!
check "accordd starts and logs every agreement" wait_for "$log" "started: KZ/MVD"
check "each partner is logged" wait_for "$log" "config: partner KR "
check "the pid file is written" [ -s "$work/var/kz/accordd.pid" ]

cp "$work/conf/partners/fr.xml" "$work/fr.xml.good"
sed -i 's|Europe/Paris|Europe/Atlantis|' "$work/conf/partners/fr.xml"
kill -HUP $pid
check "a bad configuration on SIGHUP is refused" \
	wait_for "$log" "reload refused: 1 error in the new configuration; keeping"
check "the error is logged with file and line" \
	wait_for "$log" "partners/fr.xml:[0-9]*: unknown time zone 'Europe/Atlantis'"
check "the daemon keeps running" kill -0 $pid

cp "$work/fr.xml.good" "$work/conf/partners/fr.xml"
rm "$work/conf/partners/lt.xml"
n=$(ls "$work/conf/partners"/*.xml | wc -l)
kill -HUP $pid
check "a good configuration on SIGHUP is taken ($n partners)" \
	wait_for "$log" "configuration reloaded: $n partners"

kill -TERM $pid
wait_gone $pid 10
wait $pid; rc=$?
check "SIGTERM stops it with status 0" [ $rc -eq 0 ]
check "the pid file is removed" [ ! -e "$work/var/kz/accordd.pid" ]

# A fresh log for each run: waiting for "started" in the last run's log
# could send the signal before the handlers are in place (and a
# background job of sh ignores SIGINT until then).
log="$work/accordd-sigint.log"
"$ACCORDD" -d -c "$work/conf/accordd.xml" >"$log" 2>&1 &
pid=$!
wait_for "$log" "started: KZ/MVD"
kill -INT $pid
wait_gone $pid 10
wait $pid; rc=$?
check "SIGINT stops it with status 0" \
	sh -c '[ $1 -eq 0 ] && grep -q "SIGINT: shutting down" "$2"' _ $rc "$log"

# detached, from a relative configuration path: it must still find its
# files after daemon() moved it to /
log="$work/accordd-detached.log"
(cd "$work" && "$ACCORDD" -c conf/accordd.xml) >"$log" 2>&1; rc=$?
check "without -d it detaches (the parent exits 0)" [ $rc -eq 0 ]
check "the detached daemon writes its pid file" \
	wait_for "$work/var/kz/accordd.pid" "[0-9]"
dpid=$(cat "$work/var/kz/accordd.pid" 2>/dev/null)
i=0
until [ -S "$work/run/kz/control.sock" ] || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
out=$("$ACCORD_BUILDDIR/gateway/accordctl" -s "$work/run/kz/control.sock" ping 2>&1)
check "the detached daemon answers on its control socket" \
	sh -c 'printf "%s" "$1" | grep -q "\"gateway\": \"KZ\""' _ "$out"
kill -TERM "$dpid" 2>/dev/null
wait_gone "$dpid" 10
check "SIGTERM stops the detached daemon and removes its pid file" \
	sh -c '! kill -0 "$1" 2>/dev/null && [ ! -e "$2" ]' _ "$dpid" "$work/var/kz/accordd.pid"
finish
