# Retention and erasure by schedule, legal hold (issue 19, item 4).
#
# Kazakhstan's agreement with France keeps cases 30 days after a final
# state and 60 days without an event when they never close (the shipped
# defaults are 5 and 10 years; days keep the test clock's moves short).
# A bad period makes accordd -n fail naming the file and line.  Five
# marked requests go from Kazakhstan to France: A, B and C are withdrawn
# (final), D never closes (its reply deadline leaves it EXPIRED: silence
# does not mean consent here), E stays open.  B and E go on legal hold;
# erase refuses B, naming the hold.  The test clock moves 31 days: the
# retention job erases A and C (journalled by the job, with the period,
# its end and the agreement), not B (held) nor D (open, its period runs
# from its last event).  status shows A erased, without personal data;
# the metrics count two erasures by the job.  B released is erased at
# the job's next run, a day later; D once 60 days passed since it
# expired; E, held, never.  The store rebuilt from the journal still has
# E's hold and the erasures.  accord-audit verify passes the whole chain
# reporting the erased cases' messages as not opened, export says the
# case key is erased, replay reproduces every decision.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 30
make_workdir retention
kzlog="$work/kz.log"
frlog="$work/fr.log"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
KZJ="$work/var/kz/journal"
KZCERT="$work/pki/kz/sign-rsa.pem"
MARK=RETAIN7741
FRX="$work/conf/partners/fr.xml"
# status's retention line for a case on Kazakhstan's side
retain() {
	kz status "$1" 2>/dev/null | sed -n 's/^retention: //p'
}
use_master_keys
sed -i 's|<silence-means-consent>true<|<silence-means-consent>false<|' "$FRX"

# ---- a bad period: accordd -n names the file and the line ------------------
sed -i 's|after-final="5y"|after-final="0y"|' "$FRX"
"$ACCORDD" -n -c "$work/conf/accordd.xml" >"$work/n.out" 2>&1
st=$?
line=$(grep -n '<retention ' "$FRX" | cut -d: -f1)
check "accordd -n refuses retention after-final=\"0y\" ($st)" \
	sh -c '[ "$1" != 0 ] && grep -q "fr.xml:$2: retention after-final '"'0y'"' is not a period" "$3"' \
	    _ $st "$line" "$work/n.out"
sed -i 's|after-final="0y" never-closed="10y"|after-final="30d" never-closed="60d"|' "$FRX"
"$ACCORDD" -n -c "$work/conf/accordd.xml" >"$work/n2.out" 2>&1
st=$?
check "... and takes 30d and 60d ($st)" [ $st = 0 ]

kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_kz
start_fr
check "the retention job is a metric from the start" \
	sh -c 'kz() { "$1" -s "$2" "$3"; }; kz "$@" |
	    grep -q "^accord_cases_erased_total{by=\"retention\"} 0"' _ \
	    "$ACCORDCTL" "$work/run/kz/control.sock" metrics

# ---- five marked cases; A, B, C withdrawn ----------------------------------
body ReadmissionRequest |
    sed -e "s@>[^<]*</\(Surname\|GivenNames\|Number\)>@>$MARK</\1>@g" \
    >"$work/request.xml"
body Withdrawal >"$work/withdrawal.xml"
cases=
for i in 1 2 3 4 5; do
	out=$(kz submit FR document=@"$work/request.xml" 2>&1)
	cases="$cases $(printf '%s' "$out" | sed -n 's/.*case //p')"
done
set -- $cases
A=$1 B=$2 C=$3 D=$4 E=$5
ok=1
for c in $cases; do both 20 PENDING_REPLY "$c" || ok=0; done
check "five cases open on both sides" [ $ok = 1 ]
for c in $A $B $C; do
	kz submit FR document=@"$work/withdrawal.xml" case="$c" >/dev/null 2>&1
done
ok=1
for c in $A $B $C; do both 20 WITHDRAWN "$c" || ok=0; done
check "A, B and C withdrawn" [ $ok = 1 ]
check "status says when A will be erased" \
	sh -c 'echo "$1" | grep -q "^to be erased on .* (30 days after a final state per agreement FR, "' \
	    _ "$(retain $A)"
check "... and D, open, by the other period" \
	sh -c 'echo "$1" | grep -q "^to be erased on .* (60 days without an event per agreement FR, "' \
	    _ "$(retain $D)"

# ---- legal hold ----------------------------------------------------------------
kz hold "$B" reason=court-order-7 >"$work/h.out" 2>&1
check "hold puts B on legal hold" \
	sh -c 'grep -q "is on legal hold" "$1" &&
	       echo "$2" | grep -q "^on legal hold since .* by uid [0-9]* (court-order-7)"' \
	    _ "$work/h.out" "$(retain $B)"
kz hold "$E" reason=inquiry-12 >/dev/null 2>&1
kz hold "$E" reason=again >"$work/h2.out" 2>&1
check "a second hold is refused" grep -q "on legal hold already" "$work/h2.out"
kz hold "$B" >"$work/h3.out" 2>&1
check "hold without reason= is refused" grep -q "reason=" "$work/h3.out"
kz erase "$B" reason=too-soon >"$work/e.out" 2>&1
st=$?
check "erase refuses B, naming the hold ($st)" \
	sh -c '[ "$1" != 0 ] && grep -q "on legal hold (by uid [0-9]* at .*: court-order-7)" "$2"' \
	    _ $st "$work/e.out"
kz release "$A" reason=nothing >"$work/r0.out" 2>&1
check "release of a case not held is refused" \
	grep -q "not on legal hold" "$work/r0.out"

# ---- 31 days on: the job erases A and C ----------------------------------------
kz clock advance 31d >/dev/null 2>&1
check "the job erases A and C" \
	wait_cmd 20 "^retention: erased .* by retention" kz status "$C"
kz status "$A" >"$work/statusA.out" 2>&1
check "... A too, and status shows it erased without personal data" \
	sh -c 'grep -q "^retention: erased .* by retention" "$1" &&
	       ! grep -q "$2" "$1"' _ "$work/statusA.out" "$MARK"
check "... not B (on hold), not D (open: its own period), not E" \
	sh -c 'echo "$1" | grep -q "^on legal hold" &&
	       echo "$2" | grep -q "^to be erased on .* (60 days without an event" &&
	       echo "$3" | grep -q "^on legal hold"' _ "$(retain $B)" \
	    "$(retain $D)" "$(retain $E)"
check "D expired (it never closes)" [ "$(state kz "$D")" = EXPIRED ]
keys() {
	sqlite3 "$work/var/kz/keys.db" \
	    "SELECT count(*) FROM keys WHERE case_id = '$1'"
}
check "the keys of A and C are gone, B's are there" \
	sh -c '[ "$1" = 0 ] && [ "$2" = 0 ] && [ "$3" -ge 1 ]' _ \
	    "$(keys $A)" "$(keys $C)" "$(keys $B)"
check "the metrics count two erasures by the job" \
	sh -c 'kz() { "$1" -s "$2" "$3"; }; kz "$@" |
	    grep -q "^accord_cases_erased_total{by=\"retention\"} 2"' _ \
	    "$ACCORDCTL" "$work/run/kz/control.sock" metrics
check "the timeline names the job and the period" \
	sh -c 'kz() { "$1" -s "$2" timeline "$3"; }; kz "$@" |
	    grep -q "retention job: erase (retention period of 30 days after a final state ended on .* per agreement FR)"' \
	    _ "$ACCORDCTL" "$work/run/kz/control.sock" "$A"

# ---- released: erased at the next run ---------------------------------------------
kz release "$B" reason=order-lifted >"$work/r.out" 2>&1
check "release ends B's hold; the job has not run since" \
	sh -c 'grep -q "released from legal hold" "$1" &&
	       echo "$2" | grep -q "at the retention job'"'"'s next run"' \
	    _ "$work/r.out" "$(retain $B)"
kz clock advance 2d >/dev/null 2>&1
check "B is erased at the job's next run" \
	wait_cmd 20 "^retention: erased .* by retention" kz status "$B"
check "... D not yet" \
	sh -c 'echo "$1" | grep -q "^to be erased on"' _ "$(retain $D)"

# ---- the never-closed period ----------------------------------------------------------
kz clock advance 60d >/dev/null 2>&1
check "D is erased 60 days after it expired" \
	wait_cmd 20 "^retention: erased .* by retention" kz status "$D"
check "... E, on hold, is not" \
	sh -c 'echo "$1" | grep -q "^on legal hold"' _ "$(retain $E)"
stop_both
check "the journal holds the job's erasures, with the period and the agreement" \
	[ "$(grep -a -o "\"by\":\"retention\",\"case\":\"[^\"]*\",\"command\":\"erase\"" \
	    "$KZJ"/journal-*.log | wc -l)" = 4 ]

# ---- the store rebuilt from the journal --------------------------------------------
"$ACCORDD" --rebuild-store -c "$work/conf/accordd.xml" >"$work/rb.out" 2>&1
kzlog="$work/kz2.log"
start_kz
check "after --rebuild-store: E still on hold, A still erased" \
	sh -c 'echo "$1" | grep -q "^on legal hold since .* (inquiry-12)" &&
	       echo "$2" | grep -q "^erased .* by retention"' _ \
	    "$(retain $E)" "$(retain $A)"
kz erase "$E" reason=try >"$work/e2.out" 2>&1
check "... and erase still refuses it" grep -q "on legal hold" "$work/e2.out"
stop_both

# ---- the auditor --------------------------------------------------------------------
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/conf/master.key" \
    "$KZJ" >"$work/v.out" 2>&1
st=$?
check "verify passes the whole chain, the erased cases' messages not opened ($st)" \
	sh -c '[ "$1" = 0 ] && grep -q "sealed messages not opened (no key for their case: erased" "$2"' \
	    _ $st "$work/v.out"
"$AUDIT" export "$A" --out "$work/ex" --cert "$KZCERT" --trust "$work/pki" \
    --master-key "$work/conf/master.key" "$KZJ" >"$work/ex.out" 2>&1
check "export of A says its case key is erased, and holds no marker" \
	sh -c 'grep -q "its case key is erased" "$1" &&
	       ! grep -rqa "$2" "$3"' _ "$work/ex.out" "$MARK" "$work/ex"
"$AUDIT" replay "$KZJ" >"$work/rp.out" 2>&1
st=$?
check "replay reproduces every decision ($st)" [ $st = 0 ]
finish
