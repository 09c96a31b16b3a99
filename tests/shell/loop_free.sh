# The event loop never waits for a report (issue 14, DESIGN.md 3): the
# read-only reports (status, list, timeline, queues, alerts, stats) run on
# the control socket's worker thread.  With each report held 3 s first
# (ACCORD_TEST_REPORT_DELAY_MS, test-clock builds), a ping on another
# connection is answered while a report runs, one connection's answers
# keep their order, a reload and a vanished client during a report harm
# nothing.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
make_workdir loopfree
log="$work/accordd.log"
sock="$work/run/kz/control.sock"
ctl() { "$ACCORDCTL" -s "$sock" "$@"; }

ACCORD_TEST_REPORT_DELAY_MS=3000 "$ACCORDD" -d -c "$work/conf/accordd.xml" \
    >"$log" 2>&1 &
pid=$!
wait_for "$log" "started:" || cat "$log"

if ! ctl help | grep -q '^clock'; then
	ok "# SKIP built without --enable-test-clock (no report delay)"
	ok "# SKIP built without --enable-test-clock (no report delay)"
	ok "# SKIP built without --enable-test-clock (no report delay)"
	ok "# SKIP built without --enable-test-clock (no report delay)"
else
	ctl stats >"$work/stats.out" 2>&1 &
	st=$!
	sleep 0.5
	out=$(ctl ping); rc=$?
	running=0
	[ -s "$work/stats.out" ] || running=1
	check "a ping is answered while a stats report runs" \
		sh -c '[ $1 -eq 0 ] && [ $2 -eq 1 ] && printf "%s" "$3" | grep -q roles' \
		_ $rc $running "$out"
	wait $st
	check "... and the report completes" grep -q '^cases: 0' "$work/stats.out"

	# one connection: the report's answer comes before the ping's
	out=$(printf '{"cmd":"list","id":1}\n{"cmd":"ping","id":2}\n' |
	    ctl -r | sed -n 's/.*"id":\([0-9]\).*/\1/p' | tr -d '\n')
	check "one connection's answers keep their order (report, then ping)" \
		[ "$out" = "12" ]

	# a reload while a report reads the configuration; a client that
	# leaves while its report runs
	ctl alerts >"$work/alerts.out" 2>&1 &
	al=$!
	timeout 1 "$ACCORDCTL" -s "$sock" queues >/dev/null 2>&1
	sleep 0.3
	ctl reload >/dev/null 2>&1
	wait $al
	check "a reload and a vanished client during reports: answers, alive" \
		sh -c 'grep -q "no alerts\|^certificate\|^calendar" "$1" &&
		       kill -0 $2 && "$3" -s "$4" ping >/dev/null' \
		_ "$work/alerts.out" $pid "$ACCORDCTL" "$sock"
fi

kill -TERM $pid
check "the daemon stops cleanly with the worker" wait_gone $pid 15
check "no error in its log" sh -c '! grep -q "error:" "$1"' _ "$log"
plan $tap_n
finish
