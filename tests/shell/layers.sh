# The floors of DESIGN.md section 3 hold in the tree, and the script that
# enforces them (tests/helpers/check_layers.sh) fails on each kind of
# violation planted in a copy of gateway/.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 11
script="$ACCORD_SRCDIR/tests/helpers/check_layers.sh"
mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/layers.XXXXXX")

out=$(sh "$script" "$ACCORD_SRCDIR" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
check "the tree keeps to its floors" [ "$rc" -eq 0 ]

# plant VIOLATION-FILE LINE: a copy of the tree's gateway/ with LINE added
# at the top of FILE; the script must fail naming FILE.
plant() {
	rm -rf "$work/tree"
	mkdir -p "$work/tree"
	cp -R "$ACCORD_SRCDIR/gateway" "$work/tree/gateway"
	{ printf '%s\n' "$2"; cat "$work/tree/gateway/$1"; } >"$work/t.c"
	mv "$work/t.c" "$work/tree/gateway/$1"
	out=$(sh "$script" "$work/tree" 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && printf '%s\n' "$out" |
	    grep -q "^$1: "
}
check "a planted upward include (fsm/fsm.c uses the engine) fails" \
	plant fsm/fsm.c '#include "engine/engine.h"'
check "a face using another face (inbound.c uses outbound.h) fails" \
	plant faces/inbound.c '#include "faces/outbound.h"'
check "a face reaching the journal (control.c uses journal.h) fails" \
	plant faces/control.c '#include "persist/journal.h"'
check "a face reaching the store (opscmd.c uses store.h) fails" \
	plant faces/opscmd.c '#include "persist/store.h"'
check "libevent in the core (persist/store.c) fails" \
	plant persist/store.c '#include <event2/event.h>'
check "the audit tool using the engine fails" \
	plant audit/audit.c '#include "engine/engine.h"'
check "accordctl using a daemon module (control.h) fails" \
	plant programs/accordctl.c '#include "faces/control.h"'
check "the engine's private header outside engine/ fails" \
	plant faces/outbound.c '#include "engine/engine_priv.h"'

# the audit tool links the core only (DESIGN.md 3)
libs=$(ldd "$ACCORD_BUILDDIR/gateway/accord-audit" 2>&1)
check "accord-audit links neither libcurl nor libevent" \
	sh -c '! printf "%s" "$1" | grep -Eq "libcurl|libevent"' _ "$libs"
libs=$(ldd "$ACCORD_BUILDDIR/gateway/accordctl" 2>&1)
check "accordctl links neither libcurl nor libevent" \
	sh -c '! printf "%s" "$1" | grep -Eq "libcurl|libevent"' _ "$libs"

[ "$tap_failed" -eq 0 ] && rm -rf "$work"
exit 0
