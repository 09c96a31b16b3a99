# The demo of `./quickstart demo` (issue 8), as a test: the same scenario
# (tests/demo-scenario.sh) in a scratch copy of conf/ with its own ports,
# each check a TAP line.  Needs the test clock (--enable-test-clock).
. "$ACCORD_SRCDIR/tests/lib.sh"
if ! grep -q '^#define ACCORD_TEST_CLOCK 1' "$ACCORD_BUILDDIR/accord-build.h" \
    2>/dev/null; then
	echo "1..0 # SKIP the demo needs a build with --enable-test-clock"
	exit 0
fi
. "$ACCORD_SRCDIR/tests/demo-scenario.sh"
plan "$DEMO_CHECKS"
make_workdir demo
chmod 755 "$work"
# groups every Debian system has: socket group daemon, roles bin/sys/adm
for f in "$work/conf/accordd.xml" "$work/conf/demo-fr/accordd.xml"; do
	sed -i -e 's|group="accord">|group="daemon">|' \
	    -e 's|group="accord-read"|group="bin"|' \
	    -e 's|group="accord-submit"|group="sys"|' \
	    -e 's|group="accord-admin"|group="adm"|' "$f"
done

DEMO_CTL="$ACCORD_BUILDDIR/gateway/accordctl"
DEMO_DAEMON=$ACCORDD
DEMO_EXAMPLES="$ACCORD_SRCDIR/protocols/examples/valid"
DEMO_TMP=$work
kz_conf="$work/conf/accordd.xml"
kz_sock="$work/run/kz/control.sock"
kz_log="$work/kz.log"
kz_state="$work/var/kz"
fr_conf="$work/conf/demo-fr/accordd.xml"
fr_sock="$work/run/fr/control.sock"
fr_log="$work/fr.log"
fr_state="$work/var/fr"

step() { echo "# $*"; }
show() { sed 's/^/#     /'; }
demo_ok() { ok "$1"; }
demo_fail() {
	not_ok "$1"
	echo "# --- Kazakhstan's log"; tail -20 "$kz_log" | show
	echo "# --- France's log"; tail -20 "$fr_log" | show
	demo_kill
	echo "Bail out! the demo stopped at: $1"
	exit 1
}
trap 'demo_kill' EXIT
demo_run
trap - EXIT
finish
