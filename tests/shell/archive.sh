#!/bin/sh
# archive.sh -- sealed journal files moved to journal/archive/ (issue 14):
# the daemon starts reading only the tail of the journal, still reads an
# archived record where the store says it is, and the audit and a store
# rebuild find the archived files in their place.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
make_workdir archive
SEED="$ACCORD_BUILDDIR/tests/helpers/seed_cases"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
log="$work/accordd.log"
sock="$work/run/kz/control.sock"
conf="$work/conf/accordd.xml"
jdir="$work/var/kz/journal"
ctl() { "$ACCORDCTL" -s "$sock" "$@"; }
start() {
	: >"$log"
	"$ACCORDD" -d -c "$conf" >"$log" 2>&1 &
	pid=$!
	wait_for "$log" "started: KZ/MVD" || cat "$log"
}
stop() { kill -TERM $pid; wait_gone $pid 10; }
nfiles() { ls "$jdir"/journal-*.log 2>/dev/null | wc -l; }

plan 12
"$SEED" "$work" >"$work/seed.out" 2>"$work/seed.err"
id_of() { awk -v n="$1" '$1 == n { print $2 }' "$work/seed.out"; }
case1=$(id_of accepted)

# Three days, three files: the journal rotates at each new UTC date.
start
for d in 1 2 3; do
	ctl clock advance 1d >/dev/null
	ctl pause FR >/dev/null
	ctl resume FR >/dev/null
done
before=$(ctl timeline "$case1")
# the time left depends on the clock, which a restart resets
status_before=$(ctl status "$case1" | sed 's/left .*//')
stop
check "the journal has four files" test "$(nfiles)" -eq 4

# Archive every sealed file; damage the first one.
mkdir "$jdir/archive"
mv "$jdir/journal-000001.log" "$jdir/journal-000002.log" \
    "$jdir/journal-000003.log" "$jdir/archive/"
check "one file is left beside archive/" test "$(nfiles)" -eq 1

start
check "the daemon starts with its sealed files archived" kill -0 $pid
check "the start-up read only the journal's tail" \
	grep -q "opened at seq" "$log"
check "timeline reads the archived records where the store says" \
	test "$(ctl timeline "$case1")" = "$before"
stop

"$AUDIT" verify "$jdir" >"$work/verify.out" 2>&1; rc=$?
check "accord-audit verify reads the archive with the rest" \
	sh -c '[ $1 -eq 0 ] && grep -q "verify: 0 findings" "$2"' _ $rc \
	    "$work/verify.out"

"$ACCORDD" --rebuild-store -c "$conf" >"$work/rebuild.out" 2>&1; rc=$?
check "accordd --rebuild-store reads the archived files" \
	sh -c '[ $1 -eq 0 ] && grep -q "store rebuilt" "$2"' _ $rc \
	    "$work/rebuild.out"
start
status_after=$(ctl status "$case1" | sed 's/left .*//')
check "the rebuilt store gives the same status" \
	test "$status_after" = "$status_before"
[ "$status_after" = "$status_before" ] ||
    { echo "$status_before"; echo "$status_after"; } | sed 's/^/# /'
stop

# A byte flipped in an archived, sealed file: the start-up does not read
# it (the audit's to find), the audit does.
f="$jdir/archive/journal-000001.log"
b=$(od -An -tu1 -j 200 -N1 "$f" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$f" bs=1 seek=200 \
    conv=notrunc 2>/dev/null
start
check "damage in a sealed file does not stop the start-up" kill -0 $pid
stop
"$AUDIT" verify "$jdir" >"$work/verify.out" 2>&1; rc=$?
check "accord-audit verify finds it, with file and offset" \
	sh -c '[ $1 -ne 0 ] && grep -q "archive/journal-000001.log: offset" "$2"' \
	    _ $rc "$work/verify.out"

# The same file in both places, and the live file archived: refused.
live=$(ls "$jdir"/journal-*.log | tail -1)
cp "$live" "$jdir/archive/"
"$ACCORDD" -d -c "$conf" >"$log" 2>&1; rc=$?
check "the same file in journal/ and archive/ is refused" \
	sh -c '[ $1 -ne 0 ] && grep -q "the same journal file twice" "$2"' \
	    _ $rc "$log"
rm "$live"
"$ACCORDD" -d -c "$conf" >"$log" 2>&1; rc=$?
check "archiving the file still written to is refused" \
	sh -c '[ $1 -ne 0 ] && grep -q "still written to" "$2"' _ $rc "$log"
finish
