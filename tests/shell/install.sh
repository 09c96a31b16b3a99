#!/bin/sh
# install.sh -- make install (issue 17): the programs, the schemas, the
# manual pages, a sample accordd.xml and the agreements under
# $sysconfdir/accord; a second install keeps an edited accordd.xml; the
# installed sample points at the installed places and runs as <user>,
# and accordd -n on it names the PKI files it lacks instead of saying
# "configuration OK".
#
# make install DESTDIR=$tmp prefix=/opt/accord-test from the build tree:
# the prefix given on the command line is the one the hook substitutes
# (the compiled-in $pkgdatadir is not under $tmp, so ACCORD_DATADIR names
# the installed one: the installed schemas are the ones read).

. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

plan 13
mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/install.XXXXXX")
dest=$work/dest
pfx=/opt/accord-test
etc=$dest$pfx/etc/accord
inst() {
	# not the parent's jobs: a make of its own, quiet
	env -u MAKEFLAGS -u MFLAGS make -s -C "$ACCORD_BUILDDIR" install \
	    DESTDIR="$dest" prefix="$pfx" >"$work/install$1.log" 2>&1
}

check "make install DESTDIR=... prefix=$pfx" inst 1
[ "$tap_failed" -eq 0 ] || sed 's/^/# /' "$work/install1.log" | tail -20

missing=""
for f in sbin/accordd bin/accordctl bin/accord-audit \
    etc/accord/accordd.xml etc/accord/partners/fr.xml \
    etc/accord/partners/kr.xml share/accord/conf/schema/accordd.xsd \
    share/accord/conf/schema/agreement.xsd \
    share/accord/protocols/envelope.xsd \
    share/man/man8/accordd.8 share/man/man8/accordctl.8 \
    share/man/man8/accord-audit.8 share/man/man5/accordd.xml.5 \
    share/man/man5/accord-agreement.5; do
	[ -f "$dest$pfx/$f" ] || missing="$missing $f"
done
check "installed: programs, schemas, manual pages, sample${missing:+ (missing:$missing)}" \
    test -z "$missing"
np=$(ls "$ACCORD_SRCDIR"/conf/partners/*.xml | wc -l)
ni=$(ls "$etc"/partners/*.xml 2>/dev/null | wc -l)
check "every agreement installed ($ni of $np)" test "$ni" -eq "$np"

# the sample's places are the installed ones
check "sample: <pki> under \$sysconfdir/accord" \
    grep -q "<pki directory=\"$pfx/etc/accord/pki\"/>" "$etc/accordd.xml"
check "sample: state in \$localstatedir/lib/accord" \
    grep -q "<state-directory>$pfx/var/lib/accord</state-directory>" \
    "$etc/accordd.xml" 2>/dev/null
check "sample: socket in \$runstatedir/accord" \
    grep -q "<control socket=\"$pfx/var/run/accord/control.sock\"" \
    "$etc/accordd.xml" 2>/dev/null
check "sample: <user name=\"accord\" signer=\"accord-sign\" parser=\"accord-parse\"/>" \
    grep -q '^  <user name="accord" signer="accord-sign" parser="accord-parse"/>$' \
    "$etc/accordd.xml"
check "sample: valid against the installed schema" \
    xmllint --noout --schema "$dest$pfx/share/accord/conf/schema/accordd.xsd" \
    "$etc/accordd.xml" 2>/dev/null

# a second install keeps what the operator changed, and adds what is gone
echo '<!-- edited by the operator -->' >>"$etc/accordd.xml"
cp "$etc/accordd.xml" "$work/edited.xml"
echo '<!-- edited -->' >>"$etc/partners/fr.xml"
rm "$etc/partners/kr.xml"
inst 2
check "second install: the edited accordd.xml is kept" \
    cmp -s "$etc/accordd.xml" "$work/edited.xml"
check "second install: the edited fr.xml is kept, the removed kr.xml back" \
    sh -c "grep -q 'edited' '$etc/partners/fr.xml' &&
	cmp -s '$ACCORD_SRCDIR/conf/partners/kr.xml' '$etc/partners/kr.xml'"

# the installed daemon on the installed sample, without a PKI
ACCORD_DATADIR=$dest$pfx/share/accord "$dest$pfx/sbin/accordd" -n \
    -c "$etc/accordd.xml" >"$work/n.out" 2>&1
rc=$?
check "accordd -n without a PKI exits 1 (exit $rc)" test "$rc" -eq 1
check "accordd -n does not say configuration OK" \
    sh -c "! grep -q 'configuration OK' '$work/n.out'"
check "accordd -n names the missing key and certificate files" \
    sh -c "grep -q '$pfx/etc/accord/pki/kz/tls-server.key' '$work/n.out' &&
	grep -q '$pfx/etc/accord/pki/kz/sign-rsa.pem' '$work/n.out'"
[ "$tap_failed" -eq 0 ] || sed 's/^/# /' "$work/n.out" | head -20
finish
