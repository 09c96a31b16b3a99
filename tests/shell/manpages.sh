#!/bin/sh
# manpages.sh -- every manual page in man/ is clean under mandoc's lint
# (issue 17): mandoc -T lint -W warning prints nothing and exits 0.
#
# The list is the one Makefile.am installs, so a page added there and not
# here (or the other way round) fails too.

. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

pages="accordd.8 accordctl.8 accord-audit.8 accordd.xml.5 accord-agreement.5"
plan 7
if ! command -v mandoc >/dev/null 2>&1; then
	not_ok "mandoc not found (Debian package mandoc; ./quickstart installs it)"
	exit 1
fi
for p in $pages; do
	out=$(mandoc -T lint -W warning "$ACCORD_SRCDIR/man/$p" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		ok "mandoc -T lint -W warning man/$p"
	else
		not_ok "mandoc -T lint -W warning man/$p (exit $rc)"
		echo "$out" | sed 's/^/# /'
	fi
done
listed=$(sed -n '/^dist_man[58]_MANS/,/^$/p' "$ACCORD_SRCDIR/Makefile.am" |
    tr ' \\\t' '\n\n\n' | sed -n 's|^man/||p' | sort | tr '\n' ' ')
want=$(printf '%s\n' $pages | sort | tr '\n' ' ')
check "Makefile.am installs exactly these pages ($listed)" \
    test "$listed" = "$want"
have=$(cd "$ACCORD_SRCDIR/man" && ls | sort | tr '\n' ' ')
check "man/ holds exactly these pages ($have)" test "$have" = "$want"
finish
