# The demo of `./quickstart demo` (issue 8), as a test: the same scenario
# (tests/helpers/demo-scenario.sh) in a scratch copy of conf/ with its own
# ports, each check a TAP line.  Needs the test clock (--enable-test-clock).
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! grep -q '^#define ACCORD_TEST_CLOCK 1' "$ACCORD_BUILDDIR/accord-build.h" \
    2>/dev/null; then
	echo "1..0 # SKIP the demo needs a build with --enable-test-clock"
	exit 0
fi
. "$ACCORD_SRCDIR/tests/helpers/demo-scenario.sh"
plan $((DEMO_CHECKS + 7))
make_workdir demo
use_system_groups

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

# ---- issue 9's done-when: accord-audit on the demo's journals ---------------
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
kzj=$kz_state/journal
frj=$fr_state/journal
out=$work/audit.out
audit_check() {	# DESC ARGS...: accord-audit ARGS exits 0
	_d=$1
	shift
	if "$AUDIT" "$@" >"$out" 2>&1; then
		ok "$_d"
	else
		grep -E '^(FINDING|warning)|: [0-9]+ finding' "$out" |
		    head -10 | show
		not_ok "$_d"
	fi
}
audit_check "audit verify: Kazakhstan's journal" verify \
    --cert "$work/pki/kz/sign-rsa.pem" --trust "$work/pki" "$kzj"
audit_check "audit verify: France's journal" verify \
    --cert "$work/pki/fr/sign-ec.pem" --trust "$work/pki" "$frj"
audit_check "audit replay --compare: Kazakhstan's store agrees" replay \
    --config "$kz_conf" --compare "$kz_state/store.db" "$kzj"
audit_check "audit replay --compare: France's store agrees" replay \
    --config "$fr_conf" --compare "$fr_state/store.db" "$frj"
audit_check "audit witness: the two journals agree" witness "$kzj" \
    --partner "$frj"
ex=$work/export
audit_check "audit export of the urgent case $case_a" export "$case_a" \
    --out "$ex" --cert "$work/pki/kz/sign-rsa.pem" --trust "$work/pki" "$kzj"

# Every check of the README, as verify.sh runs them (audit_export.sh runs
# it with nothing but sh, coreutils, openssl and xmlsec1).
readme_ok() {
	grep -q 'sh verify.sh' "$ex/README.txt" || return 1
	(cd "$ex" && sh verify.sh) >"$work/verify.out" 2>&1 ||
	    { show <"$work/verify.out"; return 1; }
	tail -1 "$work/verify.out" | grep -q '^ALL CHECKS PASSED$' || return 1
	echo "$(grep -c 'signature OK' "$work/verify.out") signatures, \
$(grep -c '^   record ' "$work/verify.out") records checked" | show
}
if readme_ok; then
	ok "the export's README commands succeed (xmlsec1, openssl)"
else
	not_ok "the export's README commands succeed (xmlsec1, openssl)"
fi
finish
