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
#
# The kill times come from a seed, printed first; JOURNAL_CRASH_SEED=S
# replays the same kill times (with the same ROUNDS and MAXMS).  What the
# writer managed to commit by then still depends on the machine's timing.

. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

WRITER="$ACCORD_BUILDDIR/tests/helpers/journal_writer"
rounds=${JOURNAL_CRASH_ROUNDS:-50}
maxms=${JOURNAL_CRASH_MAXMS:-120}
seed=${JOURNAL_CRASH_SEED:-$(( $(od -An -N4 -tu4 /dev/urandom) % 2147483648 ))}
case $seed in
''|*[!0-9]*)
	echo "journal_crash.sh: JOURNAL_CRASH_SEED must be a number" >&2
	exit 2 ;;
esac

plan 4
echo "# seed $seed: replay with JOURNAL_CRASH_SEED=$seed" \
    "JOURNAL_CRASH_ROUNDS=$rounds JOURNAL_CRASH_MAXMS=$maxms"

mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/crash.XXXXXX")
dir="$work/journal"
key="$work/key.pem"
seqs="$work/seqs"
: > "$seqs"
tails=0

# The next number in [20, maxms] from the seed: a 31-bit linear
# congruential generator (dash has no $RANDOM, and its arithmetic is 64-bit,
# wide enough for the product).  The high bits are the random ones.
rng=$((seed % 2147483648))
random_ms() {
	rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
	ms=$(( 20 + (rng / 65536) % (maxms - 19) ))
}

# Each round must kill a running writer: a writer that exited by itself
# (a crash, a sanitizer report, a refused journal) fails the test.  The
# rounds are written to $work/rounds, and shown when one went wrong.
killed=0
i=1
while [ $i -le "$rounds" ]; do
	before=$(wc -l < "$seqs")
	"$WRITER" write "$dir" "$key" >> "$seqs" 2>> "$work/stderr" &
	pid=$!
	random_ms
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
		killed=$((killed + 1))
		echo "round $i: killed after $ms ms," \
		    "$((after - before)) seqs acknowledged$torn" >> "$work/rounds"
	else
		echo "round $i: the writer exited $status before the kill" \
		    "at $ms ms" >> "$work/rounds"
	fi
	i=$((i + 1))
done

if [ $killed -eq "$rounds" ]; then
	ok "each of the $rounds rounds killed a running writer"
else
	not_ok "$((rounds - killed)) of $rounds rounds: the writer was not" \
	    "running when killed (seed $seed)"
	sed 's/^/# /' "$work/rounds"
	sed 's/^/# /' "$work/stderr"
fi

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
	not_ok "verification after $rounds kills (seed $seed, kept in $work)"
	not_ok "torn tails not checked"
fi

finish
