#!/bin/sh
# check_asan.sh SRCDIR BUILDDIR -- make check-asan: the whole of make check
# on a build with AddressSanitizer and UndefinedBehaviorSanitizer.  Not a
# TAP test: it drives one.  Any sanitizer report fails it, even one from a
# daemon that died after the test's last check had passed.
#
# The build is its own VPATH build in BUILDDIR/asan-build/obj.  A VPATH
# build needs a source tree that is not configured in place (configure
# refuses, and make would take the in-place objects for its own), so when
# SRCDIR is configured in place (./quickstart, CI) the build reads a copy
# of the working tree in asan-build/src: the files git sees, tracked or
# not, without the ignored ones, plus the generated build system.  The
# copy keeps the files' times, so a second run rebuilds only what changed.
#
# How a report is seen:
#   - ASan writes every report to asan-build/reports/asan.PID (log_path),
#     whatever the process did with its stderr;
#   - UBSan, in the same runtime, writes to stderr whatever log_path says:
#     its reports are looked for in the tests' logs and, through
#     tests/helpers/lib.sh finish(), in the logs of the daemons each test
#     started;
#   - both abort the process (abort_on_error, halt_on_error, and
#     -fno-sanitize-recover), so a unit test stops there and fails.
#
# Leak checking is off (detect_leaks=0): the daemons and tools leave
# libxml2's, xmlsec's and OpenSSL's global state and some of their own
# allocations to exit, and a clean leak run is work of its own.
set -u
src=${1:?usage: check_asan.sh SRCDIR BUILDDIR}
top=${2:?usage: check_asan.sh SRCDIR BUILDDIR}
make=${MAKE:-make}
asan="$top/asan-build"
obj="$asan/obj"
reports="$asan/reports"

say() { printf 'check-asan: %s\n' "$*"; }
die() { printf 'check-asan: %s\n' "$*" >&2; exit 1; }

mkdir -p "$asan" || die "cannot make $asan"

if [ -f "$src/config.status" ]; then
	git -C "$src" rev-parse --git-dir >/dev/null 2>&1 ||
	    die "$src is configured in place and is not a git checkout:" \
		"run make check-asan from a VPATH build of a clean tree"
	say "copying the working tree of $src to $asan/src"
	rm -rf "$asan/src.new" && mkdir -p "$asan/src.new" ||
	    die "cannot make $asan/src.new"
	(cd "$src" &&
	    git ls-files -z --cached --others --exclude-standard -- . \
		':!asan-build' >"$asan/files" &&
	    printf '%s\0' configure Makefile.in aclocal.m4 accord-build.h.in \
		build-aux m4 >>"$asan/files") ||
	    die "cannot list the working tree's files"
	# Tracked files deleted from the working tree are listed too: tar
	# says so and goes on (--ignore-failed-read).
	(cd "$src" && tar -cf - --null --ignore-failed-read -T "$asan/files") |
	    tar -xf - -C "$asan/src.new" ||
	    die "cannot copy the working tree"
	rm -rf "$asan/src" && mv "$asan/src.new" "$asan/src" ||
	    die "cannot replace $asan/src"
	src="$asan/src"
fi

# Configured once; later runs let make's rebuild rules follow configure.
if [ ! -f "$obj/config.status" ] ||
    [ "$(cat "$asan/obj.srcdir" 2>/dev/null)" != "$src" ]; then
	say "configuring $obj (log: $asan/configure.log)"
	rm -rf "$obj" && mkdir -p "$obj" || die "cannot make $obj"
	(cd "$obj" && "$src/configure" --enable-test-clock CC=gcc \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined") \
	    >"$asan/configure.log" 2>&1 ||
	    { tail -30 "$asan/configure.log"; die "configure failed"; }
	printf '%s\n' "$src" >"$asan/obj.srcdir"
fi

# A fresh start for what is scanned afterwards: the reports and the
# scratch directories failed tests leave behind.
rm -rf "$reports" "$obj/tests/tmp" && mkdir -p "$reports" ||
    die "cannot make $reports"
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/asan"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
export ASAN_OPTIONS UBSAN_OPTIONS

say "make check in $obj"
rc=0
(cd "$obj" && $make check) || rc=$?

# One finding often fails many processes: the first reports in full.
found=0
for f in "$reports"/asan.*; do
	[ -f "$f" ] || continue
	found=$((found + 1))
	if [ $found -le 3 ]; then
		say "sanitizer report $f:"
		head -60 "$f"
	else
		say "sanitizer report $f (not shown)"
	fi
done
pattern='ERROR: (Address|Leak)Sanitizer|^[^ ]+:[0-9]+:[0-9]+: runtime error: '
for f in $(grep -rlE "$pattern" "$obj"/tests/*/*.log "$obj"/model/*.log \
    "$obj/tests/tmp" 2>/dev/null); do
	found=$((found + 1))
	if [ $found -le 3 ]; then
		say "sanitizer report in $f:"
		grep -E -A 20 "$pattern" "$f" | head -60
	else
		say "sanitizer report in $f (not shown)"
	fi
done

if [ -f "$obj/test-suite.log" ]; then
	sed -n '/^# TOTAL/,/^# ERROR/p' "$obj/test-suite.log"
fi
[ $rc -eq 0 ] || die "make check failed under the sanitizers" \
    "(logs in $obj/tests/unit, $obj/tests/shell)"
[ $found -eq 0 ] || die "sanitizer reports (above)"
say "no sanitizer report, every test passed"
