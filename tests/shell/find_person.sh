# Subject access and the access log (issue 19, item 5).
#
# Both gateways run with <keys master=>.  France sends Kazakhstan four
# readmission requests: two about one person (Nurlanov, born 1991-07-14),
# the second written "nur-lanov" with its given names in lower case; one
# with the same surname and another birth date; one with another surname
# and the same birth date.  Kazakhstan sends France one about the same
# person (a message of ours is indexed too).  find-person (admin, reason=
# required) finds exactly the three cases of that person, journalled
# before it answers with the uid, the reason and the keyed hash -- and no
# name anywhere in the state directory in clear.  Erasing a case takes it
# out of the index; accordd --rebuild-store leaves the index whole.
# Offline, accord-audit with the master key writes a line to the state
# directory's access.log (mode 0600) before it reads, and refuses to
# read when it cannot; accord-audit access lists the reveals, find-person
# lookups and erasures by case, and the offline reads.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 23
make_workdir find-person
use_system_groups
kzlog="$work/kz.log"
frlog="$work/fr.log"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
KZ="$work/var/kz"
KZJ="$KZ/journal"
KZCERT="$work/pki/kz/sign-rsa.pem"
use_master_keys
kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_kz
start_fr

# person SURNAME GIVEN BIRTHDATE: the example request about that person
person() {
	body ReadmissionRequest | sed \
	    -e "0,/<Surname>[^<]*</s||<Surname>$1<|" \
	    -e "0,/<GivenNames>[^<]*</s||<GivenNames>$2<|" \
	    -e "s|<BirthDate>[^<]*<|<BirthDate>$3<|"
}
submit() {	# submit FROM TO FILE: the new case's id
	$1 submit $2 document=@"$3" 2>&1 | sed -n 's/.*case //p'
}
person Nurlanov "Aidar Serikovich" 1991-07-14 >"$work/a.xml"
person "nur-lanov" "aidar serikovich" 1991-07-14 >"$work/b.xml"
person Nurlanov "Aidar Serikovich" 1991-07-15 >"$work/c.xml"
person Seitkali "Aidar Serikovich" 1991-07-14 >"$work/d.xml"
caseA=$(submit fr KZ "$work/a.xml")
caseB=$(submit fr KZ "$work/b.xml")
caseC=$(submit fr KZ "$work/c.xml")
caseD=$(submit fr KZ "$work/d.xml")
caseE=$(submit kz FR "$work/a.xml")
ok=1
for c in $caseA $caseB $caseC $caseD $caseE; do
	both 20 PENDING_REPLY "$c" || ok=0
done
check "five cases reach the other side ($caseA $caseB $caseC $caseD $caseE)" \
	[ $ok = 1 ]

# ---- find-person ---------------------------------------------------------------
found() {	# the case ids of find-person's answer, sorted
	awk '$1 ~ /^[A-Z][A-Z]$/ && $2 != "CASE" { print $2 }' "$1" | sort |
	    tr '\n' ' '
}
want=$(printf '%s\n' "$caseA" "$caseB" "$caseE" | sort | tr '\n' ' ')
kz find-person surname=NURLANOV birth-date=1991-07-14 reason=dpo-req-17 \
    >"$work/f1.out" 2>&1
check "find-person finds the person's three cases, received and sent, however written ($(found "$work/f1.out"))" \
	[ "$(found "$work/f1.out")" = "$want" ]
check "... with each case's partner, state and opening date" \
	grep -q "^FR  *$caseA  *PENDING_REPLY  *20[0-9-]*T" "$work/f1.out"
kz find-person surname="Nur Lanov" given="AIDAR-SERIKOVICH" \
    birth-date=1991-07-14 reason=dpo-req-17 >"$work/f2.out" 2>&1
check "given= narrows to given names, surname and birth date: the same three" \
	[ "$(found "$work/f2.out")" = "$want" ]
kz find-person surname=Nurlanov given=Aidar birth-date=1991-07-14 \
    reason=dpo-req-17 >"$work/f3.out" 2>&1
check "other given names find nothing" grep -q "^0 case(s)" "$work/f3.out"
kz find-person surname=Nurlanov birth-date=1991-07-14 >"$work/f4.out" 2>&1
st=$?
check "find-person without reason= is refused ($st)" \
	sh -c '[ "$1" != 0 ] && grep -q "reason=" "$2" && ! grep -q "$3" "$2"' \
	    _ $st "$work/f4.out" "$caseA"
out=$(setpriv --reuid=65534 --regid=daemon --groups=sys -- \
    "$ACCORDCTL" -s "$work/run/kz/control.sock" find-person \
    surname=Nurlanov birth-date=1991-07-14 reason=curious 2>&1); st=$?
check "a caller without the admin role is refused ($st)" \
	sh -c '[ "$1" = 1 ] && printf "%s" "$2" | grep -q "FORBIDDEN.*admin role" &&
	       ! printf "%s" "$2" | grep -q "$3"' _ $st "$out" "$caseA"
# (metrics show the engine's counters as last copied, within a second)
check "accord_person_lookups_total counts the three lookups answered" \
	wait_cmd 5 "^accord_person_lookups_total 3$" kz metrics
kz inbox --reveal >"$work/reveal.out" 2>&1

# ---- the journal: who looked, why, for which hash -- never the name -------------
check "the journal holds the lookup with uid, reason, hash and cases found" \
	sh -c 'grep -a -q "\"cases\":\[[^]]*\"FR/$2\"[^]]*\],\"command\":\"find-person\",\"hmac\":\"[0-9a-f]\{64\}\",\"match\":\"surname+birth-date\",\"reason\":\"dpo-req-17\",\"uid\":0" "$1"/journal-*.log' \
	    _ "$KZJ" "$caseA"
check "... and the refused lookups are not journalled" \
	sh -c '! grep -a -q "\"reason\":\"curious\"" "$1"/journal-*.log' _ "$KZJ"
f=$(grep -rl -a -i -e nurlanov -e nur-lanov -e seitkali "$work/var" 2>/dev/null |
    head -1)
check "no surname in clear in any byte of either state directory (${f:-none})" \
	[ -z "$f" ]
check "the index is in the key store: rows for the cases, hashes only" \
	sh -c '[ "$(sqlite3 "$1" "SELECT count(DISTINCT case_id) FROM persons")" = 5 ] &&
	       [ "$(sqlite3 "$1" "SELECT count(*) FROM persons WHERE length(hmac) <> 32")" = 0 ]' \
	    _ "$KZ/keys.db"

# ---- erasure takes a case out of the index --------------------------------------
body Withdrawal >"$work/withdrawal.xml"
kz submit FR document=@"$work/withdrawal.xml" case="$caseE" >/dev/null 2>&1
both 20 WITHDRAWN "$caseE" >/dev/null
kz erase "$caseE" reason=retention >"$work/e.out" 2>&1
kz find-person surname=Nurlanov birth-date=1991-07-14 reason=dpo-req-18 \
    >"$work/f5.out" 2>&1
want2=$(printf '%s\n' "$caseA" "$caseB" | sort | tr '\n' ' ')
check "after erase the erased case is no longer found ($(found "$work/f5.out"))" \
	sh -c 'grep -q "erased" "$1" && [ "$2" = "$3" ]' _ "$work/e.out" \
	    "$(found "$work/f5.out")" "$want2"
kz -j find-person surname=Nurlanov birth-date=1991-07-14 reason=dpo-json \
    >"$work/f6.out" 2>&1
check "-j gives the cases as JSON" \
	grep -q "\"cases\":\[{[^]]*\"case\":\"$caseA\"" "$work/f6.out"

# ---- the index lives in the key store: a rebuilt store keeps it -------------------
kill -TERM $kzpid $frpid 2>/dev/null
wait_gone "$kzpid" 10
wait_gone "$frpid" 10
kzpid=
frpid=
"$ACCORDD" --rebuild-store -c "$work/conf/accordd.xml" >"$work/rb.out" 2>&1
kzlog="$work/kz2.log"
start_kz
kz find-person surname=Nurlanov birth-date=1991-07-14 reason=after-rebuild \
    >"$work/f7.out" 2>&1
check "after accordd --rebuild-store the same cases are found ($(found "$work/f7.out"))" \
	[ "$(found "$work/f7.out")" = "$want2" ]
kill -TERM $kzpid 2>/dev/null
wait_gone "$kzpid" 10
kzpid=

# ---- offline: the access log -------------------------------------------------------
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/conf/master.key" \
    --reason "dpo-req-17 check" "$KZJ" >"$work/v1.out" 2>&1
st=$?
check "verify with the master key reads ($st)" \
	sh -c '[ "$1" = 0 ] && grep -q "sealed_opened" "$2"' _ $st "$work/v1.out"
check "... after a line in the state directory's access.log, mode 0600" \
	sh -c '[ "$(stat -c %a "$1")" = 600 ] &&
	       grep -q "^20[0-9-]*T[0-9:]*Z uid=0 user=root command=accord-audit-verify key=master cases=all reason=\"dpo-req-17 check\"$" "$1"' \
	    _ "$KZ/access.log"
"$AUDIT" export "$caseA" --out "$work/ex" --cert "$KZCERT" \
    --master-key "$work/conf/master.key" "$KZJ" >"$work/ex.out" 2>&1
check "export with the master key logs the case it reads" \
	grep -q "command=accord-audit-export key=master cases=$caseA reason=\"\"$" \
	    "$KZ/access.log"
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/conf/master.key" \
    --access-log "$work/no/such/dir/access.log" "$KZJ" >"$work/v2.out" 2>&1
st=$?
check "a read whose access log cannot be written is refused ($st)" \
	sh -c '[ "$1" = 2 ] && grep -q "cannot write the access log" "$2" &&
	       ! grep -q "sealed_opened" "$2"' _ $st "$work/v2.out"
mv "$KZ/access.log" "$KZ/access.log.kept"
ln -s /nonexistent/access.log "$KZ/access.log"
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/conf/master.key" \
    "$KZJ" >"$work/v3.out" 2>&1
st=$?
check "... the default one too (a symbolic link in its place) ($st)" \
	sh -c '[ "$1" = 2 ] && grep -q "cannot write the access log" "$2"' \
	    _ $st "$work/v3.out"
rm "$KZ/access.log"
mv "$KZ/access.log.kept" "$KZ/access.log"
"$AUDIT" verify --cert "$KZCERT" "$KZJ" >/dev/null 2>&1
check "verify without a key reads nothing sealed and logs nothing" \
	[ "$(wc -l <"$KZ/access.log")" = 2 ]

# ---- the access report -----------------------------------------------------------
"$AUDIT" access "$KZJ" >"$work/acc.out" 2>&1
st=$?
check "accord-audit access lists the reveals and lookups of a case ($st)" \
	sh -c '[ "$1" = 0 ] &&
	       sed -n "/^case FR\/$3\$/,/^case /p" "$2" | grep -q "find-person uid 0 .*reason \"dpo-req-17\"" &&
	       sed -n "/^case FR\/$3\$/,/^case /p" "$2" | grep -q "reveal .*uid 0  inbox"' \
	    _ $st "$work/acc.out" "$caseA"
check "... the erasure of the case erased, and the offline reads" \
	sh -c 'sed -n "/^case FR\/$2\$/,/^case /p" "$1" | grep -q "erase .*reason \"retention\"" &&
	       grep -q "^offline reads" "$1" && grep -q "accord-audit-export key=master cases=$3" "$1"' \
	    _ "$work/acc.out" "$caseE" "$caseA"
finish
