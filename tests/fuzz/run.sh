#!/bin/sh
# run.sh SRCDIR BUILDDIR -- make fuzz: build the libFuzzer harnesses of
# tests/fuzz with clang, make their seeds, run each for $FUZZ_SECONDS
# seconds and fail if any of them crashes.  README says what each covers.
#
# The environment (Makefile.am's fuzz target sets it):
#   FUZZ_CC          clang (default: clang)
#   FUZZ_SECONDS     seconds per harness (default 10)
#   FUZZ_HARNESSES   which harnesses (default: all, in the order below)
#   FUZZ_CPPFLAGS    the build's preprocessor flags (pkg-config's -I...)
#   FUZZ_LIBS        the libraries the daemon links
#   FUZZ_SOURCES     the gateway's library sources (the .c are compiled)
#
# Everything is made in BUILDDIR/fuzz: obj/ (the gateway compiled with
# clang, -fsanitize=fuzzer-no-link,address,undefined), the harnesses,
# seeds/ (made once per build tree: the test PKI's signatures, the
# journals and store of tests/helpers/seed_cases), corpus/NAME (what each
# harness found worth keeping, carried over between runs), crashes/ (a
# crashing input, to reproduce with ./fuzz/fuzz_NAME FILE) and NAME.log.
# The normal build is left alone: it keeps its compiler.
set -u
src=${1:?usage: run.sh SRCDIR BUILDDIR}
top=${2:?usage: run.sh SRCDIR BUILDDIR}
cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-10}
all="envelope xmlsig journal record control config"
harnesses=${FUZZ_HARNESSES:-$all}
fz="$top/fuzz"
pki="$top/tests/pki"

say() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: %s\n' "$*" >&2; exit 1; }

case $seconds in
''|*[!0-9]*) die "FUZZ_SECONDS must be a number of seconds, not '$seconds'" ;;
esac
for h in $harnesses; do
	case " $all " in
	*" $h "*) ;;
	*) die "no harness '$h' (there are: $all)" ;;
	esac
done
mkdir -p "$fz/obj" "$fz/seeds" "$fz/corpus" "$fz/crashes" "$fz/tmp" ||
    die "cannot make $fz"

# ---- clang and libFuzzer --------------------------------------------------
command -v "$cc" >/dev/null 2>&1 ||
    die "no $cc: the harnesses need clang and its libFuzzer" \
	"(Debian: apt-get install clang libclang-rt-dev; ./quickstart installs them)"
printf '#include <stddef.h>\n#include <stdint.h>\n%s\n' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }' \
    >"$fz/tmp/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined "$fz/tmp/probe.c" \
    -o "$fz/tmp/probe" >"$fz/tmp/probe.log" 2>&1 ||
    { cat "$fz/tmp/probe.log" >&2; die "$cc cannot build a libFuzzer" \
	"harness (-fsanitize=fuzzer,address,undefined): install clang" \
	"(Debian: apt-get install clang libclang-rt-dev)"; }
rm -f "$fz/tmp/probe" "$fz/tmp/probe.c" "$fz/tmp/probe.log"

# ---- build ------------------------------------------------------------------
# The same flags for every object; a change of flags rebuilds them all.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=c11 -pthread -g -O1 -fno-omit-frame-pointer $san"
cppflags="-D_GNU_SOURCE -I$top -I$src/gateway -I$src/tests/fuzz \
-DPKGDATADIR=\"/nonexistent\" -DSYSCONFDIR=\"/nonexistent\" \
${FUZZ_CPPFLAGS:-}"
flags="$cc $cflags $cppflags"
if [ "$(cat "$fz/obj/flags" 2>/dev/null)" != "$flags" ]; then
	rm -f "$fz"/obj/*.o
	printf '%s\n' "$flags" >"$fz/obj/flags"
fi
# An object is stale when its source, a header of the gateway or of
# tests/fuzz, or the build's accord-build.h is newer.
newest_h=$(ls -t $(find "$src/gateway" "$src/tests/fuzz" -name '*.h') \
    "$top/accord-build.h" | head -1)
: >"$fz/obj/todo"
objs=""
for s in ${FUZZ_SOURCES:-} tests/fuzz/fuzzutil.c; do
	case $s in *.c) ;; *) continue ;; esac
	o="$fz/obj/$(printf '%s' "$s" | sed 's|/|_|g; s|\.c$|.o|')"
	objs="$objs $o"
	if [ ! -f "$o" ] || [ "$src/$s" -nt "$o" ] || [ "$newest_h" -nt "$o" ]
	then
		printf '%s %s\n' "$src/$s" "$o" >>"$fz/obj/todo"
	fi
done
[ -n "${FUZZ_SOURCES:-}" ] || die "FUZZ_SOURCES is empty: run make fuzz"
if [ -s "$fz/obj/todo" ]; then
	say "compiling $(wc -l <"$fz/obj/todo") gateway sources with $cc"
	# two at a time: the machine is shared
	# shellcheck disable=SC2086
	# (the flags through the environment: the inner shell splits them
	# as this one does, leaving the quotes of -DPKGDATADIR alone)
	FZ_CC=$cc FZ_CFLAGS="$cflags -fsanitize=fuzzer-no-link" \
	    FZ_CPPFLAGS=$cppflags xargs -P 2 -n 2 sh -c \
	    '$FZ_CC $FZ_CFLAGS $FZ_CPPFLAGS -c "$0" -o "$1" || exit 255' \
	    <"$fz/obj/todo" || die "compiling the gateway with $cc failed"
fi
for h in $harnesses; do
	bin="$fz/fuzz_$h"
	hs="$src/tests/fuzz/fuzz_$h.c"
	stale=0
	[ -f "$bin" ] || stale=1
	for f in "$hs" $objs; do
		[ "$f" -nt "$bin" ] && stale=1
	done
	[ "$stale" -eq 0 ] && continue
	say "building fuzz_$h"
	# shellcheck disable=SC2086
	$cc $cflags -fsanitize=fuzzer $cppflags "$hs" $objs \
	    ${FUZZ_LIBS:-} -o "$bin" || die "building fuzz_$h failed"
done

# ---- seeds ------------------------------------------------------------------
# Made once per build tree (the test PKI is the build tree's); the
# examples, tests/data/attacks and conf/ are read in place, not copied.
seeds="$fz/seeds"
harness_env() {
	env ACCORD_DATADIR="$src" ACCORD_SRCDIR="$src" ACCORD_PKI="$pki" \
	    FUZZ_TMP="$fz/tmp" FUZZ_STATE="$seeds/work/var/kz" \
	    FUZZ_CONF="$seeds/work/conf/accordd.xml" "$@"
}
if [ ! -f "$seeds/.stamp" ]; then
	say "making the seeds in $seeds"
	rm -rf "$seeds" && mkdir -p "$seeds/xmlsig" "$seeds/journal" \
	    "$seeds/record" "$seeds/control" "$seeds/config" ||
	    die "cannot make $seeds"
	tool="$top/tests/helpers/xmlsig_tool"
	# signed messages: every valid example, by France's RSA key and,
	# every third, its EC key; and every attack of tests/data/attacks
	n=0
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	for f in "$src"/protocols/examples/valid/*.xml; do
		# an example signed already (by example-signer.crt) stays as
		# it is: the envelope harness reads it in place
		grep -q ':Signature' "$f" && continue
		n=$((n + 1))
		k=rsa
		[ $((n % 3)) -eq 0 ] && k=ec
		# Created now: the test PKI's certificates are new
		sed "s|<Created>[^<]*</Created>|<Created>$now</Created>|" \
		    "$f" >"$seeds/unsigned.xml" || die "cannot copy $f"
		ACCORD_SRCDIR="$src" "$tool" sign "$pki/fr/sign-$k.key" \
		    "$pki/fr/sign-$k.pem" "$seeds/unsigned.xml" \
		    "$seeds/xmlsig/$(basename "$f" .xml).$k.xml" \
		    >/dev/null 2>&1 || die "xmlsig_tool sign $f failed"
	done
	for f in "$src"/tests/data/attacks/*.xml; do
		ACCORD_SRCDIR="$src" "$tool" attack "$f" "$pki" \
		    "$seeds/xmlsig/attack-$(basename "$f")" >/dev/null 2>&1 ||
		    die "xmlsig_tool attack $f failed"
	done
	rm -f "$seeds/unsigned.xml"
	# a store with cases in every state, and its journals
	mkdir -p "$seeds/work" && cp -R "$src/conf" "$seeds/work/conf" &&
	    chmod -R u+w "$seeds/work" && ln -s "$pki" "$seeds/work/pki" ||
	    die "cannot make $seeds/work"
	harness_env ACCORD_BUILDDIR="$top" \
	    "$top/tests/helpers/seed_cases" "$seeds/work" >"$seeds/cases.txt" \
	    2>"$seeds/seed_cases.log" ||
	    { cat "$seeds/seed_cases.log" >&2; die "seed_cases failed"; }
	for d in kz fr; do
		for f in "$seeds/work/var/$d/journal"/journal-*.log; do
			cp "$f" "$seeds/journal/$d-$(basename "$f")" ||
			    die "cannot copy $f"
		done
	done
	# and the format-1 journal of the code before format 2
	for f in "$src/tests/data/journal-v1"/journal-*.log; do
		cp "$f" "$seeds/journal/v1-$(basename "$f")" ||
		    die "cannot copy $f"
	done
	# the records of those journals, for fuzz_record
	harness_env FUZZ_RECORD_SEEDS="$seeds/record" "$fz/fuzz_journal" \
	    "$seeds"/journal/*.log >"$seeds/record.log" 2>&1 ||
	    { tail -20 "$seeds/record.log" >&2;
	    die "fuzz_journal could not read the seeded journals"; }
	# one request line per report, with the seeded cases' ids
	pending=$(awk '$1 == "pending" { print $2 }' "$seeds/cases.txt")
	accepted=$(awk '$1 == "accepted" { print $2 }' "$seeds/cases.txt")
	c="$seeds/control"
	printf '{"cmd":"status","args":{"argv":["%s"]},"id":1}\n' \
	    "$pending" >"$c/status"
	printf '{"cmd":"status","args":{"argv":["%s"],"partner":"FR"}}\n' \
	    "$accepted" >"$c/status-partner"
	printf '{"cmd":"timeline","args":{"argv":["%s"],"after":"2","limit":"5"}}\n' \
	    "$accepted" >"$c/timeline"
	printf '{"cmd":"list","args":{"state":"ACCEPTED","partner":"FR","due-within":"2d","limit":"3"}}\n' \
	    >"$c/list"
	printf '{"cmd":"list","args":{"overdue":true,"updated-since":"2026-01-01T00:00:00Z","after":"FR/%s"}}\n' \
	    "$pending" >"$c/list-overdue"
	printf '{"cmd":"queues","args":{"partner":"FR"}}\n' >"$c/queues"
	printf '{"cmd":"alerts","id":"a"}\n{"cmd":"metrics"}\n' >"$c/alerts"
	printf '{"cmd":"stats","args":{"partner":"FR","since":"2026-01","csv":true}}\n' \
	    >"$c/stats"
	printf '{"cmd":"nosuch"}\n{"cmd":1}\n{"cmd":"list","args":[]}\n[1]\n' \
	    >"$c/bad"
	# accordd.xml, NUL, one agreement
	w="$seeds/config"
	for p in fr be ru; do
		{ cat "$src/conf/accordd.xml"; printf '\0';
		    cat "$src/conf/partners/$p.xml"; } >"$w/kz-$p.xml"
	done
	{ cat "$src/conf/demo-fr/accordd.xml"; printf '\0';
	    cat "$src/conf/demo-fr/partners/kz.xml"; } >"$w/fr-kz.xml"
	cp "$src/conf/accordd.xml" "$w/kz-alone.xml"
	touch "$seeds/.stamp"
fi

# ---- run ----------------------------------------------------------------------
# Where each harness's seeds are: its own corpus first (libFuzzer adds
# what it finds there), then the directories it only reads.
seed_dirs() {
	case $1 in
	envelope) echo "$src/protocols/examples/valid" \
	    "$src/protocols/examples/invalid" "$src/tests/data/attacks" \
	    "$seeds/xmlsig" ;;
	xmlsig) echo "$seeds/xmlsig" ;;
	journal) echo "$seeds/journal" ;;
	record) echo "$seeds/record" ;;
	control) echo "$seeds/control" ;;
	config) echo "$seeds/config" ;;
	esac
}

failed=""
summary=""
for h in $harnesses; do
	log="$fz/$h.log"
	mkdir -p "$fz/corpus/$h" "$fz/crashes/$h"
	touch "$fz/crashes/$h.start"
	say "fuzz_$h for $seconds s"
	# shellcheck disable=SC2046
	harness_env "$fz/fuzz_$h" -max_total_time="$seconds" -timeout=30 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$fz/crashes/$h/" "$fz/corpus/$h" \
	    $(seed_dirs "$h") >"$log" 2>&1
	rc=$?
	rm -rf "$fz/tmp"/scratch.*
	# "#123456 DONE cov: 1234 ft: 5678 corp: ..." ends a clean run
	line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	[ -n "$line" ] || line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1)
	execs=$(printf '%s' "$line" | sed -n 's/^#\([0-9]*\).*/\1/p')
	cov=$(printf '%s' "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s' "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s' "$line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	# this run's (libFuzzer stops at the first); older ones stay
	crashes=$(find "$fz/crashes/$h" -type f -newer "$fz/crashes/$h.start" |
	    wc -l)
	if [ "$rc" -eq 0 ]; then
		verdict="ok"
	else
		verdict="FAILED (exit $rc; log $log; input in $fz/crashes/$h)"
		failed="$failed $h"
		grep -E 'ERROR: |runtime error|SUMMARY' "$log" | head -5 >&2
	fi
	summary="${summary}fuzz_$h: ${seconds} s, ${execs:-0} execs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, crashes $crashes: $verdict
"
done
printf '%s' "$summary"
[ -z "$failed" ] || die "crashed:$failed"
exit 0
