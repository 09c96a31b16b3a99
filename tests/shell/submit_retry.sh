# A back office whose submit answer is cut by a crash retries it with the
# same request-id (issue 12): the Kazakhstan gateway is SIGKILLed at a
# random moment while it answers `submit request-id=K`, restarted, and
# the submit repeated until it is answered.  Exactly one message per key
# leaves: France receives one request per key and Kazakhstan holds one
# case per key.  The same key with another document is a CONFLICT.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
rounds=${SUBMIT_RETRY_ROUNDS:-8}
seed=${SUBMIT_RETRY_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
plan $((rounds + 7))
echo "# seed $seed (SUBMIT_RETRY_SEED=$seed to replay the kill delays)"
make_workdir submit_retry
kzlog="$work/kz.log"
frlog="$work/fr.log"
body ReadmissionRequest >"$work/rr.xml"
body TransitRequest >"$work/tr.xml"
start_kz
start_fr

# the delay before each kill: 0 to 39 ms, from the seed (awk's srand)
delays=$(awk -v s="$seed" -v n="$rounds" 'BEGIN { srand(s);
    for (i = 0; i < n; i++) printf "%d ", int(rand() * 40) }')
r=0	# not i: lib.sh's wait_for uses it
for d in $delays; do
	r=$((r + 1))
	key="bo-$seed-$r"
	kz submit FR document=@"$work/rr.xml" request-id="$key" \
	    >"$work/cut.$r" 2>&1 &
	cpid=$!
	sleep "0.0$(printf '%02d' "$d")"
	kill -KILL "$kzpid"
	wait "$kzpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	start_kz
	n=0
	until kz submit FR document=@"$work/rr.xml" request-id="$key" \
	    >"$work/answer.$r" 2>&1 || [ $n -ge 20 ]; do
		n=$((n + 1))
		sleep 0.2
	done
	first=$(sed -n 's/^queued \([^ ]*\) .*/\1/p' "$work/cut.$r")
	again=$(sed -n 's/^queued \([^ ]*\) .*/\1/p' "$work/answer.$r")
	# if the cut submit was answered, the retry names the same message
	check "round $r (kill after ${d} ms): the retry is answered ($again)${first:+, as the cut one was}" \
	    [ -n "$again" ] && { [ -z "$first" ] || [ "$first" = "$again" ]; }
done

check "France received exactly one request per key ($rounds)" \
	wait_cmd 30 "^$rounds\$" sh -c '"$@" | grep -c " ReadmissionRequest "' _ \
	    "$ACCORDCTL" -s "$work/run/fr/control.sock" inbox
n=$(kz list | grep -c "^FR ")
check "Kazakhstan holds exactly one case per key ($n)" [ "$n" -eq "$rounds" ]
out=$(kz submit FR document=@"$work/rr.xml" request-id="bo-$seed-1" 2>&1)
check "the same key again: the first answer, nothing new queued" \
	sh -c 'printf "%s" "$1" | grep -q "repeated request-id: nothing new queued"' _ "$out"
out=$(kz submit FR document=@"$work/tr.xml" request-id="bo-$seed-1" 2>&1)
check "the same key with another document: CONFLICT ($out)" \
	sh -c 'printf "%s" "$1" | grep -q "CONFLICT"' _ "$out"
out=$(kz submit FR document=@"$work/rr.xml" request-id="bad key" 2>&1)
check "a request-id with a space is a BAD_REQUEST" \
	sh -c 'printf "%s" "$1" | grep -q "BAD_REQUEST"' _ "$out"
n=$(kz list | grep -c "^FR ")
check "... and neither queued anything ($n cases)" [ "$n" -eq "$rounds" ]

# DESIGN.md 3: submits are committed on the journal's writer thread (a
# fresh one: this daemon may have answered only repeats so far)
kz submit FR document=@"$work/rr.xml" request-id="bo-$seed-fresh" >/dev/null
w=$(kz metrics | sed -n 's/^accord_journal_commits_total{sync="writer"} //p')
check "submits were committed by the writer thread (${w:-none})" \
	[ "${w:-0}" -gt 0 ]

kill -TERM "$kzpid" "$frpid"
wait "$kzpid" "$frpid" 2>/dev/null
finish
