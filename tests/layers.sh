# The floors of DESIGN.md section 3 hold in the tree, and the script that
# enforces them (tests/check_layers.sh) fails on each kind of violation
# planted in a copy of gateway/.
. "$ACCORD_SRCDIR/tests/lib.sh"
plan 7
script="$ACCORD_SRCDIR/tests/check_layers.sh"
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
	[ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -v "(known" |
	    grep -q "^$1: "
}
check "a planted upward include (fsm.c uses the engine) fails" \
	plant fsm.c '#include "engine.h"'
check "a face using another face (inbound.c uses outbound.h) fails" \
	plant inbound.c '#include "outbound.h"'
check "a face reaching the journal (control.c uses journal.h) fails" \
	plant control.c '#include "journal.h"'
check "libevent in the core (store.c) fails" \
	plant store.c '#include <event2/event.h>'
check "the audit tool using the engine fails" \
	plant audit.c '#include "engine.h"'

# the audit tool links the core only (DESIGN.md 3)
libs=$(ldd "$ACCORD_BUILDDIR/gateway/accord-audit" 2>&1)
check "accord-audit links neither libcurl nor libevent" \
	sh -c '! printf "%s" "$1" | grep -Eq "libcurl|libevent"' _ "$libs"

[ "$tap_failed" -eq 0 ] && rm -rf "$work"
exit 0
