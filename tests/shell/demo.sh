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
    --out "$ex" --cert "$work/pki/kz/sign-rsa.pem" "$kzj"

# Every command of the README, as an auditor would type it.
readme_ok() {
	r=$ex/README.txt
	n=0
	grep -q '^   xmlsec1 --verify --pubkey-cert-pem' "$r" || return 1
	grep '^   xmlsec1 --verify --pubkey-cert-pem' "$r" >"$work/c1"
	while read -r cmd; do
		(cd "$ex" && sh -c "$cmd" >/dev/null 2>&1) ||
		    { echo "failed: $cmd" | show; return 1; }
		n=$((n + 1))
	done <"$work/c1"
	grep '^   openssl dgst -sha256 [0-9]' "$r" >"$work/c2"
	while read -r _o _d _a f _h _e want; do
		(cd "$ex" && openssl dgst -sha256 "$f") | grep -q "$want" ||
		    { echo "digest of $f is not $want" | show; return 1; }
		n=$((n + 1))
	done <"$work/c2"
	grep '^   record [0-9]* (.*): offset' "$r" >"$work/c3"
	while read -r _r _s _k _o off _l len _h want; do
		got=$(cd "$ex" && dd if=chain.bin bs=1 skip="$off" \
		    count=$((len - 32)) 2>/dev/null | openssl dgst -sha256)
		case $got in
		*"$want") ;;
		*) echo "record $_s: hash $got" | show; return 1 ;;
		esac
		n=$((n + 1))
	done <"$work/c3"
	grep '^   dd if=chain.bin .* | cmp - ' "$r" >"$work/c4"
	while read -r cmd; do
		(cd "$ex" && sh -c "$cmd") ||
		    { echo "failed: $cmd" | show; return 1; }
		n=$((n + 1))
	done <"$work/c4"
	# section 4: the checkpoint, two commands over three lines
	(cd "$ex" && sh -c "$(sed -n '/^   { printf/,/checkpoint-signed.bin$/p' \
	    "$r" | grep -v openssl)") || { echo "checkpoint bytes" | show; return 1; }
	(cd "$ex" && openssl dgst -sha256 -verify gateway-pubkey.pem \
	    -signature checkpoint.sig checkpoint-signed.bin >/dev/null) ||
	    { echo "checkpoint signature" | show; return 1; }
	grep -q '^   openssl dgst -sha256 -verify gateway-pubkey.pem' "$r" ||
	    return 1
	echo "$n commands of the README succeeded, and the checkpoint's" | show
}
if readme_ok; then
	ok "the export's README commands succeed (xmlsec1, openssl)"
else
	not_ok "the export's README commands succeed (xmlsec1, openssl)"
fi
finish
