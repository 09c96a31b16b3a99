# rotate-master-key in slices (issue 14, item 3: no call on the event loop
# takes long).  Kazakhstan runs with encryption at rest and, in this test
# build, re-wraps one key a slice with 500 ms between slices
# (ACCORD_TEST_ROTATE_SLICE, ACCORD_TEST_ROTATE_PAUSE_MS), so that a
# rotation of a few keys lasts seconds.  While one runs, the loop serves
# other requests (ping, inbox --body, which opens sealed records with keys
# wrapped under either master key), a second rotation is refused, and the
# command answers only when it has ended, with the number of slices.
# Killed (SIGKILL) in the middle of one, the gateway keeps the old master
# key file untouched and the new one beside it; restarted, it goes on with
# the rotation from where it stopped and finishes it; every sealed record
# still opens (verify with the new master key), the old key opens nothing.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 16
make_workdir rotate-slices
kzlog="$work/kz.log"
frlog="$work/fr.log"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
KZJ="$work/var/kz/journal"
KZCERT="$work/pki/kz/sign-rsa.pem"
MK="$work/conf/master.key"
use_master_keys
export ACCORD_TEST_ROTATE_SLICE=1 ACCORD_TEST_ROTATE_PAUSE_MS=500

kzpid=
frpid=
rotpid=
trap 'kill -TERM $kzpid $frpid $rotpid 2>/dev/null' EXIT
start_kz
start_fr

# ---- four cases: four case keys in Kazakhstan's key store -------------------
body ReadmissionRequest >"$work/request.xml"
cases=
for g in fr fr fr kz; do
	to=KZ
	[ $g = kz ] && to=FR
	out=$($g submit $to document=@"$work/request.xml" 2>&1)
	cases="$cases $(printf '%s' "$out" | sed -n 's/.*case //p')"
done
ok=1
for c in $cases; do both 20 PENDING_REPLY "$c" || ok=0; done
check "four cases reach the other side ($cases)" [ $ok = 1 ]

# ---- a rotation in slices, the loop serving between them ----------------------
cp "$MK" "$work/old1.key"
kz rotate-master-key reason=slices >"$work/rot1.out" 2>&1 &
rotpid=$!
wait_for "$kzlog" "master key rotation begun"
kz ping >"$work/ping.out" 2>&1
check "ping answers while the rotation runs, and says so" \
	sh -c 'grep -q "\"gateway\": \"KZ\"" "$1" &&
	       grep -q "\"master_key_rotation\": \"under way\"" "$1"' _ \
	    "$work/ping.out"
kz inbox --body >"$work/body.out" 2>&1
check "inbox --body opens the sealed requests mid-rotation" \
	sh -c '[ "$(grep -c "<ReadmissionRequest" "$1")" -ge 3 ]' _ \
	    "$work/body.out"
kz rotate-master-key reason=again >"$work/rot2.out" 2>&1
check "a second rotation is refused while one runs" \
	grep -q "under way already" "$work/rot2.out"
check "... the rotating gateway still holds the old master key file" \
	sh -c 'cmp -s "$1" "$2" && [ -s "$1.new" ]' _ "$MK" "$work/old1.key"
wait_gone "$rotpid" 30
rotpid=
check "the command answers at the end: every key re-wrapped, in slices" \
	grep -q "master key rotated: [4-9] case key(s) re-wrapped in [5-9] slice(s)" \
	    "$work/rot1.out"
check "... the master key file replaced, no new key left beside it" \
	sh -c '! cmp -s "$1" "$2" && ! [ -e "$1.new" ] &&
	       [ "$(stat -c %a "$1")" = 600 ]' _ "$MK" "$work/old1.key"
kz ping >"$work/ping2.out" 2>&1
check "... and ping no longer mentions a rotation" \
	sh -c 'grep -q "\"gateway\": \"KZ\"" "$1" &&
	       ! grep -q master_key_rotation "$1"' _ "$work/ping2.out"

# ---- killed in the middle of one, restarted: it goes on -----------------------
cp "$MK" "$work/old2.key"
kz rotate-master-key reason=crash >"$work/rot3.out" 2>&1 &
rotpid=$!
wait_for "$kzlog" "master key rotation begun by uid .*" 
sleep 0.8
kill -KILL $kzpid
wait_gone "$kzpid" 10
wait_gone "$rotpid" 10
rotpid=
check "SIGKILL mid-rotation: the old key file in force, the new one beside it" \
	sh -c 'cmp -s "$1" "$2" && [ -s "$1.new" ] &&
	       ! grep -q "rotated:" "$3"' _ "$MK" "$work/old2.key" \
	    "$work/rot3.out"
: >"$kzlog"
start_kz
check "restarted, it goes on with the rotation" \
	grep -q "a master key rotation is under way: going on with it" "$kzlog"
check "... ping answers while it does" wait_cmd 5 "\"gateway\"" kz ping
check "... and finishes it" \
	wait_for "$kzlog" "master key rotation finished: [0-9]* key(s)" 30
check "... the master key file replaced, no new key left beside it" \
	sh -c '! cmp -s "$1" "$2" && ! [ -e "$1.new" ]' _ "$MK" \
	    "$work/old2.key"
kz inbox --body >"$work/body2.out" 2>&1
check "inbox --body opens the sealed requests after the restart" \
	sh -c '[ "$(grep -c "<ReadmissionRequest" "$1")" -ge 3 ]' _ \
	    "$work/body2.out"
stop_both

# ---- the auditor: the new key opens every record, the old one does not ---------
"$AUDIT" verify --cert "$KZCERT" --master-key "$MK" "$KZJ" \
    >"$work/v1.out" 2>&1
st=$?
check "verify with the new master key passes, opening every sealed message ($st)" \
	sh -c '[ $2 = 0 ] && ! grep -q "not opened" "$1" &&
	       grep -q "sealed_opened" "$1"' _ "$work/v1.out" $st
"$AUDIT" verify --cert "$KZCERT" --master-key "$work/old2.key" "$KZJ" \
    >"$work/v2.out" 2>&1
check "... and the old master key opens nothing" \
	sh -c '! grep -q "sealed_opened\": [1-9]" "$1"' _ "$work/v2.out"
finish
