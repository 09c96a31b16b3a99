#!/bin/sh
# journal_crash.sh -- kill the journal writer with SIGKILL at random points,
# restart it on the same journal each time, then check that every sequence
# number it acknowledged (printed after its commit) is in the journal, with
# its payload, and that the chain and the checkpoint signatures hold.
#
# JOURNAL_CRASH_ROUNDS (default 50) and JOURNAL_CRASH_MAXMS (default 120)
# make it longer: `make soak` runs it ten times with 30 rounds of up to a
# second each (start-up re-verifies the whole journal, so one ever-growing
# journal would spend the soak reading).

. "$ACCORD_SRCDIR/tests/lib.sh"

WRITER="$ACCORD_BUILDDIR/tests/journal_writer"
rounds=${JOURNAL_CRASH_ROUNDS:-50}
maxms=${JOURNAL_CRASH_MAXMS:-120}

plan $((rounds + 3))

mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/crash.XXXXXX")
dir="$work/journal"
key="$work/key.pem"
seqs="$work/seqs"
: > "$seqs"
tails=0

# A random number of milliseconds in [20, maxms], from /dev/urandom (dash
# has no $RANDOM).
random_ms() {
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((20 + r % (maxms - 19)))
}

i=1
while [ $i -le "$rounds" ]; do
	before=$(wc -l < "$seqs")
	"$WRITER" write "$dir" "$key" >> "$seqs" 2>> "$work/stderr" &
	pid=$!
	ms=$(random_ms)
	sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	status=$?
	after=$(wc -l < "$seqs")
	# A power cut can leave a torn record.  Every other round, leave
	# what one would: the first 100 bytes of a record (here the first
	# file's FILE_START) at the end of the last file.  A kill can cut a
	# large write short too, so first let an open cut that one: two
	# tails never pile up.
	torn=""
	if [ $((i % 2)) -eq 0 ] && [ "$after" -gt "$before" ] &&
	    "$WRITER" open "$dir" "$key" 2>> "$work/stderr"; then
		last=$(ls "$dir"/journal-*.log | tail -n 1)
		head -c 100 "$dir/journal-000001.log" >> "$last"
		torn=", torn tail left"
		tails=$((tails + 1))
	fi
	# 137 = killed by SIGKILL: the writer was still going.
	if [ $status -eq 137 ]; then
		n=$((after - before))
		ok "round $i: killed after $ms ms, $n seqs acknowledged$torn"
	else
		not_ok "round $i: writer exited $status before the kill"
		sed 's/^/# /' "$work/stderr"
	fi
	i=$((i + 1))
done

total=$(wc -l < "$seqs")
check "the writer acknowledged records ($total)" [ "$total" -gt 0 ]

if out=$("$WRITER" verify "$dir" "$key" "$seqs" 2>&1); then
	echo "$out" | grep '^#'
	ok "every acknowledged seq is in the journal, chain and" \
	    "checkpoints intact"
	cuts=$(echo "$out" | sed -n 's/.* \([0-9]*\) torn tails cut.*/\1/p')
	# More cuts than tails left is right: a kill between creating a
	# new file and writing it leaves an empty file, cut at start-up.
	check "each torn tail cut and journalled ($cuts cuts, $tails left)" \
	    [ "${cuts:-0}" -ge "$tails" ]
else
	echo "$out" | sed 's/^/# /'
	not_ok "verification after $rounds kills (kept in $work)"
	not_ok "torn tails not checked"
fi

finish
