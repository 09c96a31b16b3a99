#!/bin/sh
# systemd_unit.sh -- accordd.service, accord.sysusers and accord.tmpfiles
# as make install makes them (issue 17, item 2).
#
# Installed with Debian's paths (prefix /usr, /etc, /var, /run) into a
# DESTDIR: the unit names the installed accordd and accordd.xml and uses
# StateDirectory=, RuntimeDirectory= and ConfigurationDirectory=;
# `systemd-analyze verify` passes and `systemd-analyze security
# --offline=true` rates it at most 2.5 (README, "systemd"); the
# capabilities are the six the process model needs; systemd-sysusers and
# systemd-tmpfiles, run on the DESTDIR as root directory, make the user
# accord (the <user> of the installed accordd.xml), the control socket's
# groups and the state directory, 0750 and accord's; make uninstall
# removes the three files.  Installed under another prefix, the unit
# opens the state and socket directories with ReadWritePaths= and still
# verifies.
#
# systemd-analyze verify checks that ExecStart's program exists and that
# the Documentation= manual pages open: the copy it verifies has
# ExecStart's path prefixed with the DESTDIR (nothing else changed), and
# MANPATH names the installed pages.  Everything else is the installed
# file.  No systemd runs here; systemd (the package) provides the tools,
# and their absence is a failure, not a skip.

. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

EXPOSURE_MAX=2.5	# README, "systemd"
plan 16
mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/systemd_unit.XXXXXX")
dest=$work/dest

missing=""
for t in systemd-analyze systemd-sysusers systemd-tmpfiles man; do
	command -v $t >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
	echo "# missing:$missing: install the Debian packages systemd and man-db (./quickstart does)"
	i=0
	while [ $i -lt 16 ]; do
		not_ok "needs$missing (Debian packages systemd, man-db)"
		i=$((i + 1))
	done
	finish
	exit
fi

# where configure put them (systemd.pc, or --with-...; make distcheck's
# are under $(prefix))
mkvar() {
	sed -n "s|^$1 = ||p" "$ACCORD_BUILDDIR/Makefile" |
	    sed "s|[$][({]prefix[)}]|$2|"
}
unitdir=$(mkvar systemdsystemunitdir /usr)
sysusersdir=$(mkvar sysusersdir /usr)
tmpfilesdir=$(mkvar tmpfilesdir /usr)
inst() {
	env -u MAKEFLAGS -u MFLAGS make -s -C "$ACCORD_BUILDDIR" "$@" \
	    >>"$work/make.log" 2>&1
}
check "make install DESTDIR=... with Debian's paths" \
    inst install DESTDIR="$dest" prefix=/usr sysconfdir=/etc \
    localstatedir=/var runstatedir=/run
[ "$tap_failed" -eq 0 ] || sed 's/^/# /' "$work/make.log" | tail -20
unit=$dest$unitdir/accordd.service
check "installed: $unitdir/accordd.service, $sysusersdir/accord.conf, $tmpfilesdir/accord.conf" \
    test -f "$unit" -a -f "$dest$sysusersdir/accord.conf" \
    -a -f "$dest$tmpfilesdir/accord.conf"
check "the unit runs the installed accordd in the foreground, Type=notify" \
    sh -c 'grep -qx "ExecStart=/usr/sbin/accordd -d -c /etc/accord/accordd.xml" "$1" &&
	grep -qx "Type=notify" "$1" && grep -qx "NotifyAccess=main" "$1" &&
	grep -qx "WatchdogSec=60s" "$1"' _ "$unit"
check "... its directories are systemd's: StateDirectory, RuntimeDirectory, ConfigurationDirectory" \
    sh -c 'grep -qx "StateDirectory=accord" "$1" &&
	grep -qx "RuntimeDirectory=accord" "$1" &&
	grep -qx "ConfigurationDirectory=accord" "$1" &&
	! grep -q "^ReadWritePaths=" "$1"' _ "$unit"
check "... with the capabilities of the process model, and no other" \
    grep -qx "CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_DAC_OVERRIDE CAP_KILL CAP_NET_BIND_SERVICE" \
    "$unit"

# verify: a copy whose ExecStart is the DESTDIR's program
mkdir -p "$work/verify"
sed "s|^ExecStart=/|ExecStart=$dest/|" "$unit" >"$work/verify/accordd.service"
MANPATH=$dest/usr/share/man systemd-analyze verify \
    "$work/verify/accordd.service" >"$work/verify.out" 2>&1
rc=$?
check "systemd-analyze verify passes (exit $rc)" \
    sh -c '[ $1 -eq 0 ] && ! [ -s "$2" ]' _ $rc "$work/verify.out"
sed 's/^/# /' "$work/verify.out"
systemd-analyze security --offline=true \
    --threshold=$(echo "$EXPOSURE_MAX" | tr -d .) \
    "$work/verify/accordd.service" >"$work/security.out" 2>&1
rc=$?
level=$(sed -n 's/.*Overall exposure level for accordd.service: \([0-9.]*\).*/\1/p' \
    "$work/security.out")
check "systemd-analyze security --offline=true: exposure $level, at most $EXPOSURE_MAX (exit $rc)" \
    sh -c '[ $1 -eq 0 ] && [ -n "$2" ]' _ $rc "$level"
[ $rc -eq 0 ] || grep "✗" "$work/security.out" | sed 's/^/# /'

# the users and the state directory, made in the DESTDIR as a root
systemd-sysusers --root="$dest" "$dest$sysusersdir/accord.conf" \
    >"$work/sysusers.out" 2>&1
check "systemd-sysusers makes the user accord" \
    grep -q "^accord:x:[0-9]*:[0-9]*:.*:/var/lib/accord:" "$dest/etc/passwd"
user=$(sed -n 's|^  <user name="\([^"]*\)"/>$|\1|p' "$dest/etc/accord/accordd.xml")
check "the installed accordd.xml runs as that user (<user name=\"$user\"/>)" \
    grep -q "^$user:" "$dest/etc/passwd"
groups=$(sed -n 's/.*group="\([^"]*\)".*/\1/p' "$dest/etc/accord/accordd.xml")
gmissing=""
for g in $groups; do
	grep -q "^$g:" "$dest/etc/group" || gmissing="$gmissing $g"
done
check "... and its control socket's groups exist ($(echo $groups))${gmissing:+ (missing:$gmissing)}" \
    test -n "$groups" -a -z "$gmissing"
systemd-tmpfiles --root="$dest" --create "$dest$tmpfilesdir/accord.conf" \
    >"$work/tmpfiles.out" 2>&1
uid=$(awk -F: '$1 == "accord" { print $3 }' "$dest/etc/passwd")
check "systemd-tmpfiles makes /var/lib/accord, 0750, accord's" \
    sh -c '[ "$(stat -c "%a %u" "$1/var/lib/accord")" = "750 $2" ]' _ \
    "$dest" "$uid"
check "... which is the installed accordd.xml's state directory; its socket in /run/accord" \
    sh -c 'grep -q "<state-directory>/var/lib/accord</state-directory>" "$1" &&
	grep -q "<control socket=\"/run/accord/control.sock\"" "$1"' _ \
    "$dest/etc/accord/accordd.xml"

inst uninstall DESTDIR="$dest" prefix=/usr sysconfdir=/etc \
    localstatedir=/var runstatedir=/run
check "make uninstall removes the unit and both snippets" \
    test ! -e "$unit" -a ! -e "$dest$sysusersdir/accord.conf" \
    -a ! -e "$dest$tmpfilesdir/accord.conf"

# another prefix: the directories by ReadWritePaths=, made by tmpfiles
pfx=/opt/accord-unit
dest2=$work/dest2
inst install DESTDIR="$dest2" prefix="$pfx"
unit2=$dest2$(mkvar systemdsystemunitdir "$pfx")/accordd.service
check "under $pfx: ReadWritePaths= for the state and the socket, no StateDirectory=" \
    sh -c 'grep -qx "ReadWritePaths=$2/var/lib/accord" "$1" &&
	grep -qx "ReadWritePaths=$2/var/run/accord" "$1" &&
	! grep -q "^StateDirectory=\|^RuntimeDirectory=\|^ConfigurationDirectory=" "$1" &&
	grep -qx "d $2/var/run/accord 0755 root root -" "$3"' _ "$unit2" \
    "$pfx" "$dest2$(mkvar tmpfilesdir "$pfx")/accord.conf"
sed "s|^ExecStart=/|ExecStart=$dest2/|" "$unit2" >"$work/verify/accordd.service"
MANPATH=$dest2$pfx/share/man systemd-analyze verify \
    "$work/verify/accordd.service" >"$work/verify2.out" 2>&1
rc=$?
check "... systemd-analyze verify passes (exit $rc)" \
    sh -c '[ $1 -eq 0 ] && ! [ -s "$2" ]' _ $rc "$work/verify2.out"
sed 's/^/# /' "$work/verify2.out"
systemd-analyze security --offline=true \
    --threshold=$(echo "$EXPOSURE_MAX" | tr -d .) \
    "$work/verify/accordd.service" >/dev/null 2>&1
check "... and its exposure is at most $EXPOSURE_MAX too" [ $? -eq 0 ]
finish
