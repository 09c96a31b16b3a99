# tests/helpers/lib.sh -- TAP helpers for the shell tests.
#
# Each test script sources this, calls plan N, then ok/fail per check.

: "${ACCORD_BUILDDIR:?run through make check}"
: "${ACCORD_SRCDIR:?run through make check}"
: "${ACCORD_PKI:?run through make check}"
# The uninstalled programs read the schemas from the source tree (make
# check sets this; so does make soak).
: "${ACCORD_DATADIR:=$ACCORD_SRCDIR}"
export ACCORD_DATADIR

ACCORDD="$ACCORD_BUILDDIR/gateway/accordd"
ACCORDCTL="$ACCORD_BUILDDIR/gateway/accordctl"
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

# A scratch copy of conf/ beside pki, a link to the shared test PKI (made
# once per build tree and read in place); sets $work.  A test that changes
# a file of the PKI calls own_pki first.
make_workdir() {
	mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
	work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/$1.XXXXXX")
	cp -R "$ACCORD_SRCDIR/conf" "$work/conf"
	chmod -R u+w "$work"
	ln -s "$ACCORD_PKI" "$work/pki"
	use_ports
}

# Replace $work/pki, the link to the shared test PKI, by a private copy.
own_pki() {
	rm "$work/pki" && cp -pR "$ACCORD_PKI" "$work/pki" &&
	    chmod -R u+w "$work/pki"
}

# Tests run in parallel and every gateway listens: give this work dir's
# Kazakhstan and France gateways their own loopback ports ($kz_port,
# $fr_port, below the ephemeral range) and point each one's partner file
# at the other.
use_ports() {
	while :; do
		kz_port=$(( 20000 + ($(od -An -N2 -tu2 /dev/urandom) % 6000) * 2 ))
		fr_port=$((kz_port + 1))
		ss -ltn 2>/dev/null | grep -q ":$kz_port \|:$fr_port " || break
	done
	sed -i "s|port=\"8443\"|port=\"$kz_port\"|" "$work/conf/accordd.xml"
	sed -i "s|port=\"8444\"|port=\"$fr_port\"|" \
	    "$work/conf/demo-fr/accordd.xml"
	sed -i "s|127.0.0.1:8444/|127.0.0.1:$fr_port/|" \
	    "$work/conf/partners/fr.xml"
	sed -i "s|127.0.0.1:8443/|127.0.0.1:$kz_port/|" \
	    "$work/conf/demo-fr/partners/kz.xml"
}

# Groups every Debian system has, for the control socket and its roles
# (daemon; read = bin, submit = sys, admin = adm), so tests can run
# accordctl as other users with setpriv; and a work dir others may enter.
use_system_groups() {
	chmod 755 "$work"
	for f in "$work/conf/accordd.xml" "$work/conf/demo-fr/accordd.xml"; do
		sed -i -e 's|group="accord">|group="daemon">|' \
		    -e 's|group="accord-read"|group="bin"|' \
		    -e 's|group="accord-submit"|group="sys"|' \
		    -e 's|group="accord-admin"|group="adm"|' "$f"
	done
}

# The two gateways of a work dir: accordctl on each one's socket, and the
# Kazakhstan gateway started with its log in $kzlog (set by the caller).
kz() { "$ACCORDCTL" -s "$work/run/kz/control.sock" "$@"; }
fr() { "$ACCORDCTL" -s "$work/run/fr/control.sock" "$@"; }
start_kz() {
	"$ACCORDD" -d -c "$work/conf/accordd.xml" >>"$kzlog" 2>&1 &
	kzpid=$!
	wait_for "$kzlog" "started: KZ/MVD" || cat "$kzlog"
}
# ... and France's, with its log in $frlog; stop_both stops the two.
start_fr() {
	"$ACCORDD" -d -c "$work/conf/demo-fr/accordd.xml" >>"$frlog" 2>&1 &
	frpid=$!
	wait_for "$frlog" "started: FR/DGEF" || cat "$frlog"
}
stop_both() {
	kill -TERM $kzpid $frpid 2>/dev/null
	wait_gone "$kzpid" 10
	wait_gone "$frpid" 10
	kzpid=
	frpid=
}

# newkey FILE: a master key for <keys master=> (64 hex digits, mode 0600).
newkey() {
	(umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$1")
}
# use_master_keys: encryption at rest on both gateways of the work dir.
use_master_keys() {
	newkey "$work/conf/master.key"
	newkey "$work/conf/demo-fr/master.key"
	for f in "$work/conf/accordd.xml" "$work/conf/demo-fr/accordd.xml"; do
		sed -i 's|^\(  <limits \)|  <keys master="master.key"/>\n\1|' "$f"
	done
}

# body TYPE: the business document of the valid example of TYPE.
body() {
	sed -n "/<$1 /,/<\/$1>/p" "$ACCORD_SRCDIR/protocols/examples/valid/$1.xml"
}

# state kz|fr CASE: the case's state on that gateway ("" if none).
state() {
	$1 status "$2" 2>/dev/null |
	    sed -n '1s/^case [^ ]* with [A-Z]*: \([A-Z_]*\) .*/\1/p'
}
# both SECONDS STATE CASE: poll until both gateways show the case in STATE.
both() {
	n=$(( $1 * 10 ))
	while [ $n -gt 0 ]; do
		[ "$(state kz "$3")" = "$2" ] && [ "$(state fr "$3")" = "$2" ] &&
		    return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "# $3: KZ $(state kz "$3"), FR $(state fr "$3"); expected $2"
	return 1
}

# wait_cmd SECONDS PATTERN COMMAND...: poll a command's output.
wait_cmd() {
	n=$(( $1 * 10 )); pat=$2; shift 2
	while [ $n -gt 0 ]; do
		"$@" 2>/dev/null | grep -q -- "$pat" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
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

# A sanitizer's report in a log of the work dir fails the test (make
# check-asan): a daemon may have died of one after the last check passed.
# UBSan writes its reports to stderr only, which the daemons' logs hold.
sanitizer_reports() {
	[ -n "${work:-}" ] && [ -d "$work" ] || return 0
	pat='ERROR: (Address|Leak)Sanitizer|^[^ ]+:[0-9]+:[0-9]+: runtime error: '
	for f in $(grep -rlE "$pat" "$work" 2>/dev/null); do
		echo "# sanitizer report in $f:"
		grep -E -A 20 "$pat" "$f" | head -40 | sed 's/^/#   /'
		tap_failed=$((tap_failed + 1))
	done
}

finish() {
	sanitizer_reports
	[ -n "${work:-}" ] && [ "$tap_failed" -eq 0 ] && rm -rf "$work"
	[ "$tap_failed" -eq 0 ]
}
