#!/bin/sh
# bench_transport_smoke.sh -- bench/bench_transport run small, once as it
# runs by default (one process per gateway, with -l: the latency phase
# matches every receipt to its submit) and, as root, once with -u
# nobody (both gateways with privilege separation, issue 16): each time
# every submit accepted and receipted, both gateways stopped cleanly, and
# the run says which process model it measured.  Never its timings (`make
# bench-transport` prints the figures).
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

N=20
BENCH="$ACCORD_BUILDDIR/bench/bench_transport"
plan 8
mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/bench_transport.XXXXXX")

# run NAME FLAGS...: the bench's output in $work/NAME.out, its status in rc
run() {
	name=$1
	shift
	"$BENCH" "$@" -n $N -t 60 "$ACCORD_PKI" >"$work/$name.out" 2>&1
	rc=$?
}
# all_receipted FILE: every exchange receipted, both gateways exit 0
all_receipted() {
	grep -q "^submitted $N: $N accepted, 0 refused" "$1" &&
	    grep -q "^receipted $N of $N in" "$1" &&
	    grep -q "^gateways stopped: Kazakhstan exit 0, France exit 0" "$1"
}

run plain -l
check "bench_transport ran (exit $rc)" [ $rc -eq 0 ]
check "... one process per gateway" \
	grep -q "^One process per gateway" "$work/plain.out"
check "... all $N exchanges receipted, both gateways stopped cleanly" \
	all_receipted "$work/plain.out"
check "... the gateways' CPU per exchange is printed" \
	grep -q "^gateway CPU per exchange, both sides" "$work/plain.out"
check "... -l: $N more at half the rate, each receipt matched to its submit" \
	grep -Eq "^latency, submit written to receipt committed .*: $N submitted, $N answered, $N receipted; p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms$" \
	    "$work/plain.out"

if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1; then
	ok "# SKIP -u nobody needs root and the user nobody"
	ok "# SKIP"
	ok "# SKIP"
else
	run sep -u nobody
	check "bench_transport -u nobody ran (exit $rc)" [ $rc -eq 0 ]
	check "... both gateways split into parent, signer and engine" \
		grep -q "^Privilege separation on both: a root parent, a signer and an engine as nobody" \
		    "$work/sep.out"
	check "... all $N exchanges receipted, both gateways stopped cleanly" \
		all_receipted "$work/sep.out"
fi
if [ "$tap_failed" -ne 0 ]; then
	for f in "$work"/*.out; do
		echo "# $f:"
		sed 's/^/#   /' "$f"
	done
fi
finish
