#!/bin/sh
# package.sh -- the Debian package (issue 17, item 3), after make deb:
# make check-package runs it (minutes with make deb: not in make check).
#
# The contents (dpkg-deb -c): the programs, the unit, the sysusers.d and
# tmpfiles.d snippets, the manual pages, every schema, the sample and
# every agreement as conffiles, the bash completion, the copyright; the
# postinst that makes the user; lintian with no error and no warning.
# Then the package is extracted into a scratch root (no dpkg -i on a
# shared machine) and its accordd -n, on the untouched sample, must name
# each key and certificate file the sample refers to.  Last, with a test
# PKI (certs/mkpki.sh) and a copy of the sample whose paths alone are
# changed, the packaged accordd -n says "configuration OK": in a mount
# namespace of its own, over a copy of /etc, after the package's postinst
# has made the accord user it runs as (the real /etc is never written).

. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

plan 19
mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/package.XXXXXX")
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' \
    "$ACCORD_BUILDDIR/accord-build.h")
deb=$ACCORD_BUILDDIR/accord_${version}_$(dpkg --print-architecture).deb
check "make deb built $(basename "$deb")" test -f "$deb"

dpkg-deb -c "$deb" 2>/dev/null | awk '{ print $6 }' | sed 's|^\./|/|' \
    >"$work/contents"
dpkg-deb -e "$deb" "$work/control" 2>/dev/null
dpkg-deb -f "$deb" Version Depends >"$work/fields" 2>/dev/null
check "the package's version is configure's ($version)" \
    grep -qx "Version: $version" "$work/fields"

# has LABEL FILE...: every FILE is in the package
has() {
	label=$1
	shift
	missing=""
	for f in "$@"; do
		grep -qx "$f" "$work/contents" || missing="$missing $f"
	done
	check "contents: $label${missing:+ (missing:$missing)}" \
	    test -z "$missing"
}
has "the programs" /usr/sbin/accordd /usr/bin/accordctl /usr/bin/accord-audit
has "the unit, sysusers.d and tmpfiles.d" \
    /lib/systemd/system/accordd.service /usr/lib/sysusers.d/accord.conf \
    /usr/lib/tmpfiles.d/accord.conf
has "the manual pages" /usr/share/man/man8/accordd.8.gz \
    /usr/share/man/man8/accordctl.8.gz /usr/share/man/man8/accord-audit.8.gz \
    /usr/share/man/man5/accordd.xml.5.gz \
    /usr/share/man/man5/accord-agreement.5.gz
schemas=$(cd "$ACCORD_SRCDIR" && ls conf/schema/*.xsd protocols/*.xsd |
    sed 's|^|/usr/share/accord/|')
has "every schema ($(echo "$schemas" | wc -l))" $schemas
has "the bash completion, the copyright" \
    /usr/share/bash-completion/completions/accordctl \
    /usr/share/doc/accord/copyright

# conffiles: the sample and every agreement, and nothing else
{
	echo /etc/accord/accordd.xml
	(cd "$ACCORD_SRCDIR/conf" && ls partners/*.xml) |
	    sed 's|^|/etc/accord/|'
} | sort >"$work/conffiles.want"
sort "$work/control/conffiles" >"$work/conffiles.got" 2>/dev/null
check "conffiles: accordd.xml and the $(ls "$ACCORD_SRCDIR"/conf/partners/*.xml |
    wc -l) agreements" cmp -s "$work/conffiles.want" "$work/conffiles.got"
[ "$tap_failed" -eq 0 ] ||
    diff "$work/conffiles.want" "$work/conffiles.got" | sed 's/^/# /'

check "postinst runs adduser --system, and Depends: adduser" \
    sh -c "grep -q 'adduser --system' '$work/control/postinst' &&
	grep -q '^Depends: adduser' '$work/fields'"
check "postinst enables accordd.service" \
    grep -q "deb-systemd-helper enable 'accordd.service'" \
    "$work/control/postinst"

# lintian: errors and warnings fail; information is shown
lintian --info "$deb" >"$work/lintian" 2>&1
check "lintian: no error, no warning" \
    sh -c "! grep -q '^[EW]: ' '$work/lintian'"
grep '^[EWI]: ' "$work/lintian" | sed 's/^/# /'

# the package, extracted
root=$work/root
dpkg-deb -x "$deb" "$root"
pkg_accordd() {
	ACCORD_DATADIR=$root/usr/share/accord "$root/usr/sbin/accordd" "$@"
}
check "the unit starts the packaged daemon (ExecStart=/usr/sbin/accordd)" \
    grep -q '^ExecStart=/usr/sbin/accordd ' \
    "$root/lib/systemd/system/accordd.service"

# 1. the untouched sample: every key and certificate file named
pkg_accordd -n -c "$root/etc/accord/accordd.xml" >"$work/n1.out" 2>&1
rc=$?
check "accordd -n on the untouched sample exits 1 (exit $rc)" test "$rc" -eq 1
# the files the sample names, relative to its <pki directory>
conf=$root/etc/accord
pki=$(xmllint --xpath 'string(//*[local-name()="pki"]/@directory)' \
    "$conf/accordd.xml")
{
	xmllint --xpath '//*[local-name()="tls" or local-name()="signing"]/@*[
	    contains(local-name(), "certificate") or
	    contains(local-name(), "key")]' "$conf/accordd.xml"
	for p in "$conf"/partners/*.xml; do
		xmllint --xpath '//*[local-name()="tls"]/*[local-name()="ca"] |
		    //*[local-name()="signing"]/*/@file' "$p"
	done
} 2>/dev/null | sed -e 's/^ *[a-z-]*="\(.*\)"$/\1/' \
    -e 's|^<ca>\(.*\)</ca>$|\1|' >"$work/files"
nfiles=$(wc -l <"$work/files")
unnamed=""
while read -r f; do
	grep -qF "$pki/$f" "$work/n1.out" || unnamed="$unnamed $f"
done <"$work/files"
check "accordd -n names each of the $nfiles key and certificate files${unnamed:+ (not named:$unnamed)}" \
    sh -c "[ $nfiles -gt 60 ] && [ -z '$unnamed' ]"
check "accordd -n does not say configuration OK" \
    sh -c "! grep -q 'configuration OK' '$work/n1.out'"

# 2. a test PKI, and a copy of the sample with only its paths changed
sh "$ACCORD_SRCDIR/certs/mkpki.sh" "$work/pki" >"$work/mkpki.log" 2>&1 ||
    sed 's/^/# /' "$work/mkpki.log"
cp -R "$conf" "$work/etc"
sed -i -e "s|<pki directory=\"$pki\"/>|<pki directory=\"$work/pki\"/>|" \
    -e "s|<state-directory>[^<]*<|<state-directory>$work/state<|" \
    -e "s|<control socket=\"[^\"]*\"|<control socket=\"$work/run/control.sock\"|" \
    "$work/etc/accordd.xml"
diff "$conf/accordd.xml" "$work/etc/accordd.xml" | grep '^>' >"$work/diff"
diff -r -x accordd.xml "$conf" "$work/etc" >/dev/null
others=$?
check "the copy differs in its three paths only" \
    sh -c "[ \$(wc -l <'$work/diff') -eq 3 ] && [ $others -eq 0 ] &&
	grep -q '$work/pki' '$work/diff' && grep -q '$work/state' '$work/diff' &&
	grep -q '$work/run/control.sock' '$work/diff'"

# The postinst as dpkg runs it (configure), in a namespace whose /etc is
# a copy: the user it makes is seen by accordd there and nowhere else.
# The systemd commands of its debhelper parts only log what they would do.
mkdir -p "$work/stub"
for c in deb-systemd-helper deb-systemd-invoke systemctl systemd-tmpfiles; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$work/stub.log" \
	    >"$work/stub/$c"
	chmod +x "$work/stub/$c"
done
cp -a /etc "$work/etc.ns"
cp /etc/passwd "$work/passwd.before"
cp /etc/group "$work/group.before"
unshare -m sh -c '
	mount --bind "$1/etc.ns" /etc || exit 3
	PATH=$1/stub:$PATH sh "$1/control/postinst" configure || exit 4
	getent passwd accord >"$1/user" || exit 5
	ACCORD_DATADIR=$2/usr/share/accord "$2/usr/sbin/accordd" -n \
	    -c "$1/etc/accordd.xml"' sh "$work" "$root" >"$work/n2.out" 2>&1
rc=$?
rm -rf "$work/etc.ns"	# a copy of /etc/shadow among others
[ "$(id -u)" -eq 0 ] || echo "# not root: unshare -m and mount need root"
check "postinst made the system user accord ($(cut -d: -f1,3,6 \
    "$work/user" 2>/dev/null))" \
    sh -c "uid=\$(cut -d: -f3 '$work/user') && [ \"\$uid\" -gt 0 ] &&
	[ \"\$uid\" -lt 1000 ]"
check "the machine's /etc/passwd and /etc/group are untouched" \
    sh -c "cmp -s /etc/passwd '$work/passwd.before' &&
	cmp -s /etc/group '$work/group.before'"
check "the packaged accordd -n on the copy: configuration OK (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && grep -q 'configuration OK' '$work/n2.out'"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$work/n2.out" | head -20
finish
