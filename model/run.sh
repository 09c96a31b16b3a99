#!/bin/sh
# run.sh -- check the Promela model of the exchange protocol with spin.
#
#   model/run.sh [MODE] [SRCDIR [WORKDIR]]
#
# MODE
#   check   (default) reduced bounds, well under a minute; TAP output.
#   full    the stated bounds, exhaustive (minutes); TAP output:
#           three safety searches of the fixed protocol, the L1 liveness
#           search with weak fairness, and the search on today's protocol
#           that must find the S4 counterexample.
#   replay  print the committed S4 counterexample (model/s4-old-protocol.trail)
#           as a message sequence.
# SRCDIR   the source tree (default $ACCORD_SRCDIR, else this script's ..).
# WORKDIR  scratch directory for fsm_gen.pml, pan and trails (default
#          $ACCORD_MODEL_WORKDIR, else $ACCORD_BUILDDIR/model-work, else a
#          new directory under ${TMPDIR:-/tmp}).  Nothing is written into
#          SRCDIR.
# Environment: CC (default cc), SPIN (default spin), JOBS (check mode's
# parallel searches, default 2).
#
# Exit status 0 only if every test passed.  A test passes when spin finds
# no error in the fixed protocol, and when it does find the expected one
# in today's protocol or in a deliberately broken variant (a mutation):
# a property that cannot fail proves nothing.

set -u

mode=${1:-check}
srcdir=${2:-${ACCORD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}}
if [ $# -ge 3 ]; then
	work=$3
elif [ -n "${ACCORD_MODEL_WORKDIR:-}" ]; then
	work=$ACCORD_MODEL_WORKDIR
elif [ -n "${ACCORD_BUILDDIR:-}" ]; then
	work=$ACCORD_BUILDDIR/model-work
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/accord-model.XXXXXX") || exit 1
fi
CC=${CC:-cc}
SPIN=${SPIN:-spin}
JOBS=${JOBS:-2}

case $mode in
check|full|replay) ;;
*)	echo "usage: $0 [check|full|replay] [SRCDIR [WORKDIR]]" >&2; exit 2 ;;
esac

srcdir=$(cd "$srcdir" && pwd) || exit 1
model=$srcdir/model
mkdir -p "$work" || exit 1
work=$(cd "$work" && pwd)

n=0
failed=0
plan=

# ok DESC / notok DESC [DIAG...]
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}

# Tools first: without them nothing below means anything.
tools() {
	if ! command -v "$SPIN" >/dev/null 2>&1; then
		echo "1..1"
		echo "not ok 1 - spin is installed (apt-get install spin)"
		exit 1
	fi
	if ! command -v "$CC" >/dev/null 2>&1; then
		echo "1..1"
		echo "not ok 1 - a C compiler ($CC) is installed"
		exit 1
	fi
}

# Generate fsm_gen.pml from gateway/fsm/fsm.c into the work directory.
generate() {
	if sh "$model/gen_fsm.sh" "$srcdir" "$work/fsm_gen.pml" \
	    2>"$work/gen.err"; then
		cp "$model/accord.pml" "$work/accord.pml"
		return 0
	fi
	return 1
}

# search NAME KIND "SPIN DEFINES" [PAN OPTIONS]
#   KIND safety | liveness.  Builds pan in WORK/NAME and runs it; leaves
#   pan.out (and a trail if pan found an error) there.
search() {
	name=$1 kind=$2 defs=$3
	shift 3
	d=$work/$name
	rm -rf "$d"
	mkdir -p "$d" || return 1
	cp "$work/accord.pml" "$work/fsm_gen.pml" "$d/" || return 1
	# shellcheck disable=SC2086
	(cd "$d" && "$SPIN" -a $defs accord.pml) >"$d/spin.out" 2>&1 ||
	    { echo "spin -a failed" >"$d/pan.out"; return 1; }
	if [ "$kind" = safety ]; then
		ccdefs="-DSAFETY -DNOCLAIM"
		runopts="-m20000"
	else
		ccdefs=""
		runopts="-a -f -m200000"
	fi
	# shellcheck disable=SC2086
	(cd "$d" && $CC $COPT -DMEMLIM=$MEMLIM -DNOBOUNDCHECK $ccdefs \
	    -o pan pan.c) >"$d/cc.out" 2>&1 ||
	    { echo "cc pan.c failed" >"$d/pan.out"; return 1; }
	start=$(date +%s)
	# shellcheck disable=SC2086
	(cd "$d" && ./pan $runopts -w$HASH "$@") >"$d/pan.out" 2>&1
	end=$(date +%s)
	echo "$((end - start))" >"$d/seconds"
	return 0
}

# Figures of a finished search, for the TAP diagnostics.
figures() {
	d=$work/$1
	st=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$d/pan.out")
	tr=$(sed -n 's/^ *\([0-9.e+]*\) transitions.*/\1/p' "$d/pan.out")
	mem=$(sed -n 's/^ *\([0-9.]*\)[ 	]*total actual memory usage.*/\1/p' \
	    "$d/pan.out")
	dep=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$d/pan.out")
	echo "states stored ${st:-?}, transitions ${tr:-?}, depth ${dep:-?}, memory ${mem:-?} MB, $(cat "$d/seconds" 2>/dev/null || echo ?) s"
}

# judge NAME EXPECT DESC
#   EXPECT: none (no error allowed) or the property that must be violated
#   (S1 S2 S3 S4 S4b: an assertion "(P||..."; L1: an acceptance cycle).
judge() {
	name=$1 expect=$2 desc=$3
	d=$work/$name
	out=$d/pan.out
	errs=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out")
	if [ -z "$errs" ]; then
		notok "$desc" "no result from pan; see $out" \
		    "$(tail -n 3 "$out" 2>/dev/null | tr '\n' ' ')"
		return
	fi
	if grep -q "out of memory\|max search depth too small" "$out" ||
	    { [ "$errs" -eq 0 ] && grep -q "Search not completed" "$out"; }; then
		notok "$desc" "search incomplete (memory or depth); see $out"
		return
	fi
	viol=$(grep -m1 "assertion violated\|acceptance cycle\|invalid end state" \
	    "$out" | cut -c1-160)
	if [ "$expect" = none ]; then
		if [ "$errs" -eq 0 ]; then
			ok "$desc"
			echo "# $(figures "$name")"
		else
			notok "$desc" "$viol" "trail: $d/accord.pml.trail"
		fi
		return
	fi
	case $expect in
	L1)	pat="acceptance cycle" ;;
	*)	pat="assertion violated ((${expect}||" ;;
	esac
	if [ "$errs" -ge 1 ] && grep -qF "$pat" "$out"; then
		ok "$desc"
		echo "# found: $viol"
		echo "# trail: $d/accord.pml.trail"
	else
		notok "$desc" "expected a $expect violation, got: ${viol:-none}"
	fi
}

# ---- tests of the generator ----------------------------------------------------

gen_tests() {
	if generate; then
		ok "gen_fsm.sh generates fsm_gen.pml from gateway/fsm/fsm.c"
	else
		notok "gen_fsm.sh generates fsm_gen.pml from gateway/fsm/fsm.c" \
		    "$(cat "$work/gen.err")"
		echo "1..$n"
		exit 1
	fi

	m=$work/mut-src
	rm -rf "$m"
	mkdir -p "$m/gateway/fsm"
	cp "$srcdir/gateway/fsm/fsm.h" "$m/gateway/fsm/"
	# a row the model needs goes missing: the generator must refuse
	sed 's/RA, FSM_PENDING_REPLY, MSG_READMISSION_REPLY,/RA, FSM_PENDING_REPLY, MSG_CONSULTATION,/' \
	    "$srcdir/gateway/fsm/fsm.c" >"$m/gateway/fsm/fsm.c"
	if ! sh "$model/gen_fsm.sh" "$m" "$m/fsm_gen.pml" 2>"$m/err" &&
	    [ ! -f "$m/fsm_gen.pml" ] &&
	    grep -q "no row FSM_PENDING_REPLY:MSG_READMISSION_REPLY" "$m/err"
	then
		ok "gen_fsm.sh fails loudly when a row it needs is missing"
		sed 's/^/# /' "$m/err"
	else
		notok "gen_fsm.sh fails loudly when a row it needs is missing"
	fi
	# a row changes: the model changes with it
	sed 's/{ RA, FSM_ACCEPTED, MSG_TRANSFER_NOTICE, FSM_TRANSFER_SCHEDULED,/{ RA, FSM_ACCEPTED, MSG_TRANSFER_NOTICE, FSM_COMPLETED,/' \
	    "$srcdir/gateway/fsm/fsm.c" >"$m/gateway/fsm/fsm.c"
	if sh "$model/gen_fsm.sh" "$m" "$m/fsm_gen.pml" 2>"$m/err" &&
	    grep -q "s == ACCEPTED && t == T_TN) -> r = COMPLETED" \
	    "$m/fsm_gen.pml" &&
	    ! cmp -s "$m/fsm_gen.pml" "$work/fsm_gen.pml"; then
		ok "a changed row of fsm_table[] changes the generated model"
	else
		notok "a changed row of fsm_table[] changes the generated model"
	fi
}

# ---- the searches ----------------------------------------------------------------

# run_batch PAR: run the searches listed in $work/batch (NAME|KIND|DEFS|
# PAN OPTIONS), PAR at a time, and judge each by $work/expect (NAME|
# EXPECT|DESC) in order, as soon as its group is done.
run_batch() {
	par=$1
	total=$(wc -l <"$work/batch")
	first=1
	while [ "$first" -le "$total" ]; do
		last=$((first + par - 1))
		sed -n "${first},${last}p" "$work/batch" >"$work/group"
		while IFS='|' read -r name kind defs popts; do
			# shellcheck disable=SC2086
			search "$name" "$kind" "$defs" $popts &
		done <"$work/group"
		wait
		sed -n "${first},${last}p" "$work/expect" >"$work/group"
		while IFS='|' read -r name expect desc; do
			judge "$name" "$expect" "$desc"
		done <"$work/group"
		first=$((last + 1))
	done
}

# add NAME KIND EXPECT "DEFS" "DESC" ["PAN OPTIONS"]
add() {
	echo "$1|$2|$4|${6:-}" >>"$work/batch"
	echo "$1|$3|$5" >>"$work/expect"
}

check_mode() {
	COPT=-O0
	MEMLIM=2048
	HASH=22
	# reduced bounds: one retry, no duplication or overtaking
	R="-DRETRIES=1 -DDUPS=0 -DREORDERS=0"
	: >"$work/batch"
	: >"$work/expect"
	add fixed safety none "$R" \
	    "fixed protocol, reduced bounds: S1 S2 S3 S4 S4b hold (exhaustive)"
	add fixed-l1 liveness none "$R -DCRASHES=0" \
	    "fixed protocol, reduced bounds: L1 holds under weak fairness"
	add old-s4 safety S4 "$R -DOLD_PROTOCOL -DONLY_S4" \
	    "today's protocol: spin finds the S4 counterexample"
	add mut-overlay safety S2 "$R -DMUT_NO_OVERLAY" \
	    "mutation, duplicates checked against the store only: S2 fails"
	add mut-outer safety S2 "$R -DMUT_DEDUP_OUTER" \
	    "mutation, duplicates judged by the Redelivery envelope: S2 fails"
	add mut-closes safety S1 "$R -DMUT_UNDELIVERED_CLOSES" \
	    "mutation, an undelivered opening closes the case: S1 fails"
	add mut-holdback safety S1 "$R -DMUT_NO_HOLDBACK" \
	    "mutation, a pending reply does not hold back silence: S1 fails"
	add narrow safety S4b "$R -DNARROW_NOT_YET" \
	    "variant, NOT_YET only for the referenced message: S4b fails"
	add broad safety none "$R -DBROAD_NOT_YET" \
	    "variant, NOT_YET while any message of ours is pending: no error"
	add revive safety S1 "$R -DNOT_SENT_REVIVES" \
	    "variant, undelivered opening NOT_SENT revived by a late Receipt: S1 fails"
	add mut-window liveness L1 "$R -DCRASHES=0 -DMUT_NO_WINDOW_END -DPROPS_OFF" \
	    "mutation, a retry window that never ends: L1 fails"
	echo "1..14"
	gen_tests
	run_batch "$JOBS"
}

full_mode() {
	COPT=-O2
	MEMLIM=16384
	HASH=27
	: >"$work/batch"
	: >"$work/expect"
	add full-net safety none "" \
	    "fixed protocol, full bounds, network faults (outage, duplicate, overtaking): S1 S2 S3 S4 S4b hold"
	add full-redelivery safety none "-DREDELIVER=1 -DDUPS=0 -DREORDERS=0" \
	    "fixed protocol, full bounds, Redelivery while the network misbehaves: S1 S2 S3 S4 S4b hold"
	add full-backoffice safety none "-DANSWER_LOSS=1 -DDUPS=0 -DREORDERS=0" \
	    "fixed protocol, full bounds, lost answers to the back office: S1 S2 S3 S4 S4b hold"
	add full-l1 liveness none "-DDUPS=0 -DREORDERS=0" \
	    "fixed protocol, full bounds without duplication/overtaking: L1 holds under weak fairness"
	add full-old-s4 safety S4 "-DOLD_PROTOCOL -DONLY_S4" \
	    "today's protocol, full bounds: spin finds the S4 counterexample" \
	    "-i"	# keep the shortest trail: model/s4-old-protocol.trail
	echo "1..8"
	gen_tests
	run_batch 1
}

replay_mode() {
	generate || { cat "$work/gen.err" >&2; exit 1; }
	cd "$work" || exit 1
	"$SPIN" -DOLD_PROTOCOL -DONLY_S4 -t -k "$model/s4-old-protocol.trail" \
	    accord.pml >replay.out 2>&1
	sed -n 's/^ *MSC: /  /p; s/^spin: text of failed assertion: /  VIOLATED: /p' \
	    replay.out
	if ! grep -q "text of failed assertion" replay.out; then
		echo "$0: the trail does not replay against this model (accord.pml" \
		    "or fsm_table[] changed since it was found); \`$0 full\`" \
		    "finds the counterexample again: see its work directory" >&2
		exit 1
	fi
	exit 0
}

tools
case $mode in
check)	check_mode ;;
full)	full_mode ;;
replay)	replay_mode ;;
esac
echo "# work directory: $work"
[ "$failed" -eq 0 ]
