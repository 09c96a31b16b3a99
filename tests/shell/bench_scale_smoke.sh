#!/bin/sh
# bench_scale_smoke.sh -- bench/bench_scale run small (2,000 cases seeded
# through the engines, 200 replies queued) and its answers checked: every
# lookup answered right, none scanned the journal, the counts are what
# was seeded.  Never its timings (issue 14, item 5; `make bench` runs it
# at 10k and 100k for the figures).
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

N=2000
plan 15
mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/bench_scale.XXXXXX")
out="$work/bench_scale.out"

# -k: the bench's work directory stays for finish (sanitizer reports in
# the daemon's log, and the evidence when a check fails)
# ACCORD_TEST_CATCHUP_BULK: the rebuild of these 2,000 cases is a bulk
# one, its indexes built at the end, as at 1M (test builds)
ACCORD_TEST_CATCHUP_BULK=1000 \
"$ACCORD_BUILDDIR/bench/bench_scale" -k -S -q 200 -s 10 -t 10 -p 100 \
    -T 60 -w "$work" "$ACCORD_PKI" $N >"$out" 2>&1
rc=$?

# fig KEY: the value bench_scale printed for KEY
fig() { awk -v k="$1" -v l="N=$N" '$1 == l && $2 == k { print $3 }' "$out"; }
# figs KEY=VALUE...: every figure has its value
figs() {
	for kv in "$@"; do
		[ "$(fig "${kv%%=*}")" = "${kv#*=}" ] || return 1
	done
}
# between KEY LOW HIGH: a figure within bounds
between() {
	v=$(fig "$1")
	[ -n "$v" ] && [ "$v" -ge "$2" ] && [ "$v" -le "$3" ]
}
not_in() { ! grep -q "$1" "$2"; }

check "bench_scale ran and found every answer right (exit $rc)" [ $rc -eq 0 ]
check "seeded $N cases, every 10th answered" \
    figs seed.cases=$N seed.replies=$((N / 10))
check "status: every call answered its case" \
    figs status.failed=0 status.ok=10
check "timeline: every call answered its case, with events" \
    figs timeline.failed=0 timeline.ok=10
check "the lookups read no whole journal (0 scans)" figs lookup.scans=0
check "the rebuild deferred its indexes and built them at the end" \
    sh -c 'grep -q "indexes deferred to the end of the rebuild" "$1" &&
	   grep -q "deferred indexes built" "$1"' _ "$out"
check "list and stats count the $N cases seeded" \
    figs list.cases=$N stats.cases=$N
# pages of 1,000 cases: two full ones, then an empty one after the last
check "list pages through every case (after= each page's next_after)" \
    figs list.pages=3
check "list --overdue lists some cases, not all" \
    between list_overdue.cases 1 $((N - 1))
check "inbox --body: the $N requests, every body read" \
    figs inbox.rows=$N inbox_body.failed=0
check "drain: 200 queued, the outbox hands out 32, every message read" \
    figs queue.messages=200 drain.due_rows=32 drain.failed=0
check "accordd on the seeded state: pings and every loader's requests answered" \
    figs ping.failed=0 daemon.failed=0
# loaded: pings answered while each loader answered at least twice
loaded() {
	between ping.load.count 100 100000 && between load.stats 2 100000 &&
	    between load.timeline 2 100000 && between load.metrics 2 100000 &&
	    between load.inbox 2 100000
}
check "accordd answered pings while stats, timeline, metrics and inbox ran" \
    loaded
check "accordd read no whole journal while serving them" figs daemon.scans=0
check "every lookup step measured (none stopped over time)" \
    not_in "NOT MEASURED" "$out"

if [ "$tap_failed" -ne 0 ]; then
	echo "# bench_scale's output ($out):"
	sed 's/^/#   /' "$out"
fi
finish
