# tests/lib.sh -- TAP helpers for the shell tests.
#
# Each test script sources this, calls plan N, then ok/fail per check.

: "${ACCORD_BUILDDIR:?run through make check}"
: "${ACCORD_SRCDIR:?run through make check}"
: "${ACCORD_PKI:?run through make check}"

ACCORDD="$ACCORD_BUILDDIR/gateway/accordd"
tap_n=0
tap_failed=0

plan() { echo "1..$1"; }

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# A scratch copy of conf/ beside a copy of the test PKI; sets $work.
make_workdir() {
	mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
	work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/$1.XXXXXX")
	cp -R "$ACCORD_SRCDIR/conf" "$work/conf"
	cp -pR "$ACCORD_PKI" "$work/pki"
	chmod -R u+w "$work"
}

# wait_for FILE PATTERN [SECONDS]: poll a log until PATTERN appears.
wait_for() {
	i=0
	limit=$(( ${3:-10} * 10 ))
	while [ $i -lt $limit ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_gone PID [SECONDS]: poll until the process has exited.
wait_gone() {
	i=0
	limit=$(( ${2:-10} * 10 ))
	while [ $i -lt $limit ]; do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

finish() {
	[ -n "${work:-}" ] && [ "$tap_failed" -eq 0 ] && rm -rf "$work"
	[ "$tap_failed" -eq 0 ]
}
