#!/bin/sh
# detached_log.sh -- where a detached accordd (no -d) logs (issue 17):
# under systemd (JOURNAL_STREAM set) to stderr, which daemon() must not
# have pointed at /dev/null; without a syslog socket to stderr too,
# saying so once; with one, to syslog and not to stderr.

. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

plan 6
make_workdir detached_log
pidfile=$work/var/kz/accordd.pid

# detach: run ENV... and wait for the daemon's start line in $1
detach() {
	log=$1
	shift
	env "$@" "$ACCORDD" -c "$work/conf/accordd.xml" </dev/null \
	    >/dev/null 2>"$log"
}
stop() {
	pid=$(cat "$pidfile" 2>/dev/null)
	[ -n "$pid" ] && kill -TERM "$pid" && wait_gone "$pid" 20
}

detach "$work/journal.log" JOURNAL_STREAM=9:12345
check "JOURNAL_STREAM: the detached daemon logs its start to stderr" \
    wait_for "$work/journal.log" "started: KZ/MVD"
check "JOURNAL_STREAM: the daemon detached, its pid file written" \
    test -s "$pidfile"
stop
check "JOURNAL_STREAM: its stop logged to stderr too" \
    grep -q "accordd: info: accordd: stopped" "$work/journal.log"
check "JOURNAL_STREAM: no word about a syslog socket" \
    sh -c "! grep -q 'no syslog socket' '$work/journal.log'"
sed 's/^/# /' "$work/journal.log" | head -5

# without JOURNAL_STREAM: what this machine has decides
if [ -e /dev/log ]; then
	what="a syslog socket: nothing on stderr"
	detach "$work/plain.log" -u JOURNAL_STREAM
	sleep 2
	check "$what" test ! -s "$work/plain.log"
	check "$what (daemon running)" test -s "$pidfile"
else
	what="no /dev/log: stderr"
	detach "$work/plain.log" -u JOURNAL_STREAM
	check "$what, the start logged" \
	    wait_for "$work/plain.log" "started: KZ/MVD"
	check "$what, said once" test "$(grep -c \
	    'no syslog socket at /dev/log: logging to stderr' \
	    "$work/plain.log")" -eq 1
fi
stop
sed 's/^/# /' "$work/plain.log" | head -5
finish
