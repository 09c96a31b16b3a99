# Encryption at rest (issue 19, item 3).
#
# Both gateways run with <keys master=>: three cases whose every personal
# field carries a marker go between them (two requests from France, one
# from Kazakhstan).  A copy of each state directory taken while the
# daemons run (the store's WAL with it) and one after they stop -- the
# journal, the store, the key store, everything -- hold no marker: a
# stolen disk or backup without the master key yields no personal data.
# The counter-checks show the markers are there to be found by a holder
# of the keys: inbox --reveal (the engine unseals what it reads from the
# journal), accord-audit verify and export with --master-key, and with
# the one case key that export-key gives (journalled with the uid and the
# reason).  Without a key, verify passes the chain and says what it could
# not check.  rotate-master-key re-wraps the keys under a new master key
# file and destroys the old one; the daemon restarts on the new one and
# still reads every message; --rebuild-store works on sealed records.  A
# case whose key assignment a crash lost (keys.db is written ahead of the
# journal, the assignment after: it is emptied here by hand) seals its
# next message under its own key again, found from the journal.  erase
# deletes a final case's keys (journalled with uid, reason and key ids);
# after a rotation, the state directory and the current master key give
# no marker of it, while verify and replay still pass.
# accordd -n refuses a master key file others may read.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 39
make_workdir at-rest
kzlog="$work/kz.log"
frlog="$work/fr.log"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
KZJ="$work/var/kz/journal"
KZCERT="$work/pki/kz/sign-rsa.pem"
MARK=ATREST5280		# fits a Name, a DocumentNumber, a ShortText
BIRTH=1911-03-29	# the birth date: a marker of its own
holds() {
	grep -rl -a -e "$MARK" -e "$BIRTH" "$@" 2>/dev/null | head -1
}
marked() {
	sed -e "s@>[^<]*</\(Surname\|GivenNames\|Locality\|Line\|PostalCode\|PhotoRef\|Number\|CopyRef\|Description\|Details\|AssistanceNeeds\|HealthNotes\)>@>$MARK</\1>@g" \
	    -e "s|<BirthDate>[^<]*<|<BirthDate>$BIRTH<|" "$@"
}
# the master keys, and <keys master=> in both configurations
use_master_keys

# ---- accordd -n checks the master key file -------------------------------
chmod 644 "$work/conf/master.key"
"$ACCORDD" -n -c "$work/conf/accordd.xml" >"$work/n.out" 2>&1
check "accordd -n refuses a master key others may read" \
	grep -q "keys master: .*mode 0644" "$work/n.out"
chmod 600 "$work/conf/master.key"
"$ACCORDD" -n -c "$work/conf/accordd.xml" >"$work/n.out" 2>&1
check "... and takes it at mode 0600" \
	sh -c '! grep -q "keys master" "$1"' _ "$work/n.out"

kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_kz
start_fr

# ---- three marked cases, both ways -------------------------------------------
body ReadmissionRequest | marked >"$work/request.xml"
cases=
for g in fr fr kz; do
	to=KZ
	[ $g = kz ] && to=FR
	out=$($g submit $to document=@"$work/request.xml" 2>&1)
	cases="$cases $(printf '%s' "$out" | sed -n 's/.*case //p')"
done
set -- $cases
case1=$1 case2=$2 case3=$3
ok=1
for c in $cases; do both 20 PENDING_REPLY "$c" || ok=0; done
check "three marked cases reach the other side ($cases)" [ $ok = 1 ]
# one process: the submits above were signed on the pool, off the loop
# (engine_submit_async.c), and journalled, sealed, when signed
check "the submits were signed on the signing pool" \
	grep -q "signing on [0-9]* threads" "$frlog"
kz inbox --reveal >"$work/reveal.out" 2>&1
check "inbox --reveal shows Kazakhstan the markers (unsealed from the journal)" \
	[ "$(holds "$work/reveal.out")" = "$work/reveal.out" ]
kz inbox --body >"$work/body.out" 2>&1
check "inbox --body shows the request, masked" \
	sh -c 'grep -q "<Surname>\*\*\*</Surname>" "$1" &&
	       ! grep -q "$2" "$1"' _ "$work/body.out" "$MARK"

# ---- a stolen copy: while they run (the WAL with it), and after -------------
cp -a "$work/var" "$work/stolen-live"
check "the live copy has the store's WAL and the key store" \
	sh -c '[ -s "$1/kz/store.db-wal" ] && [ -s "$1/kz/keys.db" ] &&
	       [ -s "$1/fr/keys.db" ]' _ "$work/stolen-live"
f=$(holds "$work/stolen-live")
check "no marker in any byte of the live state directories (${f:-none})" \
	[ -z "$f" ]

# ---- the export key: journalled, and it opens one case ------------------------
kz export-key "$case1" reason=subject-access-1 out="$work/case1.key" \
    >"$work/xk.out" 2>&1
check "export-key writes the case key to a file of mode 0600" \
	sh -c '[ "$(stat -c %a "$1")" = 600 ] &&
	       grep -q "^accord-case-key 1$" "$1"' _ "$work/case1.key"
check "... and the key is not on the screen" \
	sh -c '! grep -q "$(sed -n 3p "$1")" "$2"' _ "$work/case1.key" \
	    "$work/xk.out"
kz export-key "$case1" out="$work/nokey" >"$work/xk2.out" 2>&1
check "export-key without reason= is refused" \
	sh -c '! [ -e "$1" ] && grep -q "reason=" "$2"' _ "$work/nokey" \
	    "$work/xk2.out"

# ---- rotation -------------------------------------------------------------------
cp "$work/conf/master.key" "$work/old-master.key"
kz rotate-master-key reason=scheduled >"$work/rot.out" 2>&1
check "rotate-master-key re-wraps the keys (${cases# })" \
	grep -q "3 case key(s) re-wrapped" "$work/rot.out"
check "... the master key file holds a new key, the old one is gone" \
	sh -c '! cmp -s "$1" "$2" && [ "$(stat -c %a "$2")" = 600 ] &&
	       ! [ -e "$2.new" ]' _ "$work/old-master.key" \
	    "$work/conf/master.key"
stop_both
cp -a "$work/var" "$work/stolen"
f=$(holds "$work/stolen")
check "no marker in any byte of the stopped state directories (${f:-none})" \
	[ -z "$f" ]
check "the journal holds the key commands with uid and reason" \
	sh -c 'grep -a -q "\"command\":\"export-key\".*\"reason\":\"subject-access-1\".*\"uid\":" "$1"/journal-*.log &&
	       grep -a -q "\"command\":\"rotate-master-key\".*\"reason\":\"scheduled\".*\"uid\":" "$1"/journal-*.log' \
	    _ "$KZJ"

# ---- the auditor: without a key, with the master key, with the case key ---------
"$AUDIT" verify --cert "$KZCERT" "$KZJ" >"$work/v0.out" 2>&1
st=$?
check "verify without a key passes the chain ($st)" [ $st = 0 ]
check "... and says which signatures it could not check" \
	grep -q "sealed messages not opened (no --master-key" "$work/v0.out"
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/conf/master.key" \
    "$KZJ" >"$work/v1.out" 2>&1
st=$?
check "verify with the (rotated) master key passes ($st)" [ $st = 0 ]
check "... opening every sealed message" \
	sh -c '! grep -q "not opened" "$1" &&
	       grep -q "sealed_opened" "$1"' _ "$work/v1.out"
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/old-master.key" \
    "$KZJ" >"$work/v2.out" 2>&1
st=$?
check "the destroyed master key no longer opens the key store ($st)" \
	[ $st = 2 ]
"$AUDIT" export "$case1" --out "$work/ex0" --cert "$KZCERT" \
    --trust "$work/pki" "$KZJ" >"$work/ex0.out" 2>&1
f=$(holds "$work/ex0")
check "export without a key: no marker in the bundle (${f:-none})" [ -z "$f" ]
"$AUDIT" export "$case1" --out "$work/ex1" --cert "$KZCERT" \
    --trust "$work/pki" --case-key "$work/case1.key" "$KZJ" \
    >"$work/ex1.out" 2>&1
check "export with the case's key: the request in clear" \
	sh -c 'grep -rlaq "$1" "$2"/messages' _ "$MARK" "$work/ex1"
(cd "$work/ex1" && sh verify.sh) >"$work/ex1.verify" 2>&1
# (its step 2 wants a checkpoint after the case's last record, which
# this short run may not have written yet)
check "... and its verify.sh checks the request: the plaintext its sealed record's header names, signed" \
	sh -c 'grep -q "ReadmissionRequest-.*signature OK" "$1" &&
	       grep -q "Receipt-.* is the SHA-256 of " "$1" &&
	       ! grep -q "is not the" "$1"' _ "$work/ex1.verify"
"$AUDIT" export "$case2" --out "$work/ex2" --cert "$KZCERT" \
    --trust "$work/pki" --case-key "$work/case1.key" "$KZJ" \
    >"$work/ex2.out" 2>&1
f=$(holds "$work/ex2")
check "... and another case's key opens nothing of it (${f:-none})" \
	[ -z "$f" ]
"$AUDIT" export "$case2" --out "$work/ex3" --cert "$KZCERT" \
    --trust "$work/pki" --master-key "$work/conf/master.key" "$KZJ" \
    >"$work/ex3.out" 2>&1
check "export with the master key: the request in clear" \
	sh -c 'grep -rlaq "$1" "$2"/messages' _ "$MARK" "$work/ex3"

# ---- after the rotation: a restart, and a rebuilt store --------------------------
"$ACCORDD" --rebuild-store -c "$work/conf/accordd.xml" >"$work/rb.out" 2>&1
st=$?
check "accordd --rebuild-store on sealed records ($st)" [ $st = 0 ]
kzlog="$work/kz2.log"
frlog="$work/fr2.log"
start_kz
start_fr
check "the cases are there after the rebuild" \
	sh -c '[ "$1" = PENDING_REPLY ] && [ "$2" = PENDING_REPLY ]' _ \
	    "$(state kz "$case1")" "$(state kz "$case3")"
kz inbox --reveal >"$work/reveal2.out" 2>&1
check "after the rotation and a restart, the engine still reads them" \
	[ "$(holds "$work/reveal2.out")" = "$work/reveal2.out" ]

# ---- a key's assignment lost in a crash: the journal gives it back --------------
stop_both
kdb="$work/var/kz/keys.db"
id3=$(sqlite3 "$kdb" "SELECT hex(id) FROM keys WHERE case_id = '$case3'")
sqlite3 "$kdb" "UPDATE keys SET partner = NULL, case_id = NULL
    WHERE case_id = '$case3'"
kzlog="$work/kz3.log"
frlog="$work/fr3.log"
start_kz
start_fr
body Withdrawal | sed "s|<Text>[^<]*</Text>|<Text>$MARK</Text>|" \
    >"$work/withdrawal.xml"
kz submit FR document=@"$work/withdrawal.xml" case="$case3" \
    >"$work/w.out" 2>&1
check "a marked Withdrawal of case 3 goes to France" \
	both 20 WITHDRAWN "$case3"
check "... sealed under the case's own key, found again from the journal" \
	[ -n "$id3" ] && [ "$(sqlite3 "$kdb" \
	    "SELECT hex(id) FROM keys WHERE case_id = '$case3'")" = "$id3" ]
kz export-key "$case3" reason=audit-3 out="$work/case3.key" >/dev/null 2>&1

# ---- erasure: a final case's keys deleted, then the master key rotated ------------
kz erase "$case1" reason=too-early >"$work/e1.out" 2>&1
check "erase refuses a case that is not final" \
	grep -q "NOT_ALLOWED_IN_STATE" "$work/e1.out"
kz erase "$case3" reason=retention-test >"$work/e3.out" 2>&1
check "erase deletes the keys of the withdrawn case 3" \
	sh -c 'grep -q "erased: 1 key(s) deleted" "$1" &&
	       [ "$(sqlite3 "$2" "SELECT count(*) FROM keys WHERE case_id = '"'$3'"'")" = 0 ]' \
	    _ "$work/e3.out" "$kdb" "$case3"
kz status "$case3" >"$work/status3.out" 2>&1
check "... the case stays, without personal data" \
	sh -c '[ "$1" = WITHDRAWN ] && ! grep -q "$2" "$3"' _ \
	    "$(state kz "$case3")" "$MARK" "$work/status3.out"
kz rotate-master-key reason=after-erasure >/dev/null 2>&1
stop_both
check "the journal holds the erasure with uid, reason and key id" \
	grep -a -q "\"case\":\"$case3\",\"command\":\"erase\",\"key_ids\":\[\"$(echo "$id3" |
	    tr A-F a-f)\"\],\"partner\":\"FR\",\"reason\":\"retention-test\",\"uid\":" \
	    "$KZJ"/journal-*.log
"$AUDIT" export "$case3" --out "$work/ex4" --cert "$KZCERT" \
    --trust "$work/pki" --case-key "$work/case3.key" "$KZJ" \
    >"$work/ex4.out" 2>&1
check "a case key exported before the erasure opens both messages" \
	[ "$(grep -rla "$MARK" "$work/ex4/messages" | wc -l)" -eq 2 ]
"$AUDIT" export "$case3" --out "$work/ex5" --cert "$KZCERT" \
    --trust "$work/pki" --master-key "$work/conf/master.key" "$KZJ" \
    >"$work/ex5.out" 2>&1
f=$(holds "$work/ex5")
check "the state directory and the current master key: no marker of the erased case (${f:-none})" \
	sh -c '[ -z "$1" ] && grep -q "its case key is erased" "$2"' _ "$f" \
	    "$work/ex5.out"
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/conf/master.key" \
    "$KZJ" >"$work/v3.out" 2>&1
st=$?
check "verify passes the whole chain after the erasure ($st)" \
	sh -c '[ "$1" = 0 ] && grep -q "2 of .* sealed messages not opened (no key for their case: erased" "$2"' \
	    _ $st "$work/v3.out"
"$AUDIT" replay "$KZJ" >"$work/r.out" 2>&1
st=$?
check "replay reproduces every decision, the erased case's too ($st)" \
	[ $st = 0 ]
f=$(holds "$work/var")
check "no marker in the state directories after all that (${f:-none})" \
	[ -z "$f" ]
finish
