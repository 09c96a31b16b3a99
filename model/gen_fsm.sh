#!/bin/sh
# gen_fsm.sh -- generate the Promela view of the case state machine.
#
#   model/gen_fsm.sh SRCDIR OUTFILE
#
# Reads SRCDIR/gateway/fsm/fsm.h (enum fsm_state) and SRCDIR/gateway/fsm/fsm.c
# (fsm_table[], fsm_senders[], fsm_opening[], fsm_final[]) and writes
# OUTFILE (fsm_gen.pml), which model/accord.pml includes.  The model
# therefore runs the very rows the gateway runs: change a readmission row
# for one of the triggers below in fsm.c and the model changes with it.
#
# What is taken from fsm.c:
#   * every readmission row (kind RA) whose trigger is one of
#       ReadmissionRequest, ReadmissionReply, TransferNotice,
#       the reply deadline (DL(FSM_DL_REPLY)), a failed opening (FAIL);
#     each becomes one guarded line of the inline fsm_next();
#   * CK_TIMELY on a row (the row needs a timely message) and the SILENCE
#     flag (the outcome of a deadline row depends on silence-means-consent);
#   * who sends each of the three messages (fsm_senders[RA]);
#   * which message opens a readmission case (fsm_opening[RA]);
#   * the final states (fsm_final[]).
#
# It fails (exit 1, nothing written) when it cannot find any of those,
# when a row does not have the 11 fields of struct fsm_rule, when a row it
# needs uses a target the model does not know (FSM_TO_RESUME), or when
# one of the rows listed in REQUIRED below is missing.  POSIX sh + awk.

set -u

prog=gen_fsm.sh
die() { echo "$prog: error: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $prog SRCDIR OUTFILE"
src=$1
out=$2
fsm_c=$src/gateway/fsm/fsm.c
fsm_h=$src/gateway/fsm/fsm.h
[ -r "$fsm_c" ] || die "cannot read $fsm_c"
[ -r "$fsm_h" ] || die "cannot read $fsm_h"

# Rows the model cannot do without: "from trigger" pairs of fsm_table[].
REQUIRED="
FSM_NONE:MSG_READMISSION_REQUEST
FSM_SUBMITTED:MSG_READMISSION_REQUEST
FSM_SUBMITTED:FAIL
FSM_PENDING_REPLY:MSG_READMISSION_REPLY
FSM_DEEMED_ACCEPTED:MSG_READMISSION_REPLY
FSM_PENDING_REPLY:DL(FSM_DL_REPLY)
FSM_ACCEPTED:MSG_TRANSFER_NOTICE
FSM_DEEMED_ACCEPTED:MSG_TRANSFER_NOTICE
"

tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT HUP INT TERM

awk -v fsm_c="$fsm_c" -v fsm_h="$fsm_h" -v required="$REQUIRED" '
function fail(msg) {
	print "gen_fsm.sh: error: " msg > "/dev/stderr"
	failed = 1
	exit 1
}

# The whole file in one string, comments replaced by the newlines they
# held (so that line numbers stay right).
function slurp(path,    s, line, rest, out, i, c, nl) {
	s = ""
	while ((getline line < path) > 0)
		s = s line "\n"
	close(path)
	if (s == "")
		fail("cannot read " path)
	out = ""
	rest = s
	while ((i = index(rest, "/*")) > 0) {
		out = out substr(rest, 1, i - 1)
		rest = substr(rest, i + 2)
		c = index(rest, "*/")
		if (c == 0)
			fail(path ": unterminated comment")
		nl = substr(rest, 1, c - 1)
		gsub(/[^\n]/, "", nl)
		out = out " " nl
		rest = substr(rest, c + 2)
	}
	out = out rest
	# line comments
	gsub(/\/\/[^\n]*/, "", out)
	return out
}

function trim(s) {
	gsub(/^[ \t\n]+|[ \t\n]+$/, "", s)
	return s
}

function lineof(s, pos,    pre) {
	pre = substr(s, 1, pos - 1)
	return gsub(/\n/, "", pre) + 1
}

# The text between the brace that ends (or follows) the first match of re
# and the brace that closes it; sets BODY_AT to its offset in s.
function block(s, re, what,    i, j, depth, c) {
	if (!match(s, re))
		fail("cannot find " what)
	i = RSTART + RLENGTH - 1
	while (i <= length(s) && substr(s, i, 1) != "{")
		i++
	if (i > length(s))
		fail("no opening brace for " what)
	depth = 0
	for (j = i; j <= length(s); j++) {
		c = substr(s, j, 1)
		if (c == "{")
			depth++
		else if (c == "}" && --depth == 0)
			break
	}
	if (depth != 0)
		fail("unbalanced braces in " what)
	BODY_AT = i + 1
	return substr(s, i + 1, j - i - 1)
}

# Identifiers defined as identifiers in fsm.c (#define RA FSM_KIND_...).
function read_aliases(s,    n, lines, k, f) {
	n = split(s, lines, "\n")
	for (k = 1; k <= n; k++) {
		if (lines[k] !~ /^#define[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*$/)
			continue
		split(lines[k], f, /[ \t]+/)
		alias[f[2]] = f[3]
	}
}

function resolve(tok,    guard) {
	tok = trim(tok)
	for (guard = 0; (tok in alias) && guard < 8; guard++)
		tok = alias[tok]
	return tok
}

# Names of the model: FSM_PENDING_REPLY -> PENDING_REPLY.
function sname(tok) {
	tok = resolve(tok)
	if (!(tok in is_state))
		fail("unknown state " tok " in fsm.c")
	sub(/^FSM_/, "", tok)
	return tok
}

BEGIN {
	h = slurp(fsm_h)
	c = slurp(fsm_c)
	read_aliases(c)

	# ---- enum fsm_state (fsm.h) -------------------------------------
	body = block(h, "enum[ \t\n]+fsm_state[ \t\n]*\\{", "enum fsm_state in fsm.h")
	n = split(body, items, ",")
	nstates = 0
	for (k = 1; k <= n; k++) {
		it = trim(items[k])
		sub(/[ \t\n]*=.*$/, "", it)
		if (it == "" || it == "FSM_STATE_COUNT")
			continue
		if (it !~ /^FSM_[A-Z_]+$/)
			fail("unexpected enum fsm_state item \"" it "\"")
		state[++nstates] = it
		is_state[it] = 1
	}
	if (!("FSM_NONE" in is_state) || !("FSM_PENDING_REPLY" in is_state))
		fail("enum fsm_state lacks FSM_NONE or FSM_PENDING_REPLY")

	# ---- triggers the model uses -------------------------------------
	trig["MSG_READMISSION_REQUEST"] = "T_REQ"
	trig["MSG_READMISSION_REPLY"] = "T_REP"
	trig["MSG_TRANSFER_NOTICE"] = "T_TN"
	trig["DL(FSM_DL_REPLY)"] = "T_DL_REPLY"
	trig["FSM_TR_FAILED_OPEN"] = "T_FAIL"

	# ---- fsm_table[] ---------------------------------------------------
	tbl = block(c, "fsm_rule[ \t\n]+fsm_table[ \t\n]*\\[[ \t\n]*\\][ \t\n]*=", "fsm_table[] in fsm.c")
	tbl_at = BODY_AT
	nrows = 0
	nused = 0
	rest = tbl
	off = 0
	while (match(rest, /\{[^{}]*\}/)) {
		row = substr(rest, RSTART + 1, RLENGTH - 2)
		rowline = lineof(c, tbl_at + off + RSTART - 1)
		off += RSTART + RLENGTH - 1
		rest = substr(rest, RSTART + RLENGTH)
		nrows++
		# DL(x) has no comma, but name it before splitting anyway
		gsub(/[ \t\n]+/, " ", row)
		nf = split(row, f, ",")
		if (nf != 11)
			fail("fsm.c:" rowline ": row has " nf " fields, struct fsm_rule has 11")
		kind = resolve(f[1])
		if (kind != "FSM_KIND_READMISSION")
			continue
		from = resolve(f[2])
		tr = trim(f[3])
		if (tr ~ /^DL[ ]*\(/) {
			gsub(/[ ]/, "", tr)
			sub(/^DL\(/, "", tr); sub(/\)$/, "", tr)
			tr = "DL(" resolve(tr) ")"
		} else
			tr = resolve(tr)
		have[from ":" tr] = rowline
		# the REQUIRED list names the failed opening FAIL
		if (tr == "FSM_TR_FAILED_OPEN")
			have[from ":FAIL"] = rowline
		if (!(tr in trig))
			continue
		to = resolve(f[4])
		neg = resolve(f[5])
		checks = f[7]
		flags = f[11]
		if (to == "FSM_TO_RESUME" || neg == "FSM_TO_RESUME")
			fail("fsm.c:" rowline ": FSM_TO_RESUME in a row the model uses")
		pos = to == "FSM_TO_SAME" ? "s" : sname(to)
		if (neg == "FSM_NONE")
			expr = pos
		else {
			ng = neg == "FSM_TO_SAME" ? "s" : sname(neg)
			if (flags ~ /SILENCE/)
				expr = "(SILENCE_CONSENT -> " pos " : " ng ")"
			else
				expr = "(p -> " pos " : " ng ")"
		}
		if (checks ~ /CK_TIMELY/)
			expr = "(tm -> " expr " : NOPE)"
		used[++nused] = sprintf("\t:: (s == %s && t == %s) -> r = %s\t/* fsm.c:%d */", \
		    sname(from), trig[tr], expr, rowline)
	}
	if (nrows == 0)
		fail("fsm_table[] has no rows")

	nreq = split(required, req, "\n")
	for (k = 1; k <= nreq; k++) {
		r = trim(req[k])
		if (r == "")
			continue
		if (!(r in have))
			fail("fsm_table[] has no row " r " (the model needs it)")
	}

	# ---- fsm_senders[RA] and fsm_opening[RA] -------------------------
	snd = block(c, "fsm_senders[ \t\n]*\\[", "fsm_senders[] in fsm.c")
	ra = block(snd, "\\[[ \t\n]*RA[ \t\n]*\\][ \t\n]*=", "fsm_senders[RA]")
	n = split(ra, items, ",")
	for (k = 1; k <= n; k++) {
		it = trim(items[k])
		if (it == "")
			continue
		if (!match(it, /^\[[ \t\n]*[A-Z_]+[ \t\n]*\][ \t\n]*=/))
			fail("unexpected fsm_senders[RA] item \"" it "\"")
		key = substr(it, 1, RLENGTH)
		gsub(/[\[\]= \t\n]/, "", key)
		val = trim(substr(it, RLENGTH + 1))
		sender[key] = val
	}
	for (m in trig) {
		if (m !~ /^MSG_/)
			continue
		if (!(m in sender))
			fail("fsm_senders[RA] does not name the sender of " m)
		if (sender[m] == "R")
			side[m] = "SIDE_R"
		else if (sender[m] == "Q")
			side[m] = "SIDE_Q"
		else
			fail("fsm_senders[RA][" m "] is " sender[m] ", the model needs R or Q")
	}

	if (!match(c, /fsm_opening[ \t\n]*\[[^]]*\][ \t\n]*=[ \t\n]*\{[^}]*\}/))
		fail("cannot find fsm_opening[] in fsm.c")
	op = substr(c, RSTART, RLENGTH)
	if (!match(op, /\[[ \t\n]*RA[ \t\n]*\][ \t\n]*=[ \t\n]*[A-Z_]+/))
		fail("fsm_opening[] has no RA entry")
	opening = substr(op, RSTART, RLENGTH)
	sub(/^.*=[ \t\n]*/, "", opening)
	if (!(opening in trig) || opening !~ /^MSG_/)
		fail("fsm_opening[RA] is " opening ", not a message the model has")

	# ---- fsm_final[] ------------------------------------------------
	fin = block(c, "fsm_final[ \t\n]*\\[[^]]*\\][ \t\n]*=", "fsm_final[] in fsm.c")
	n = split(fin, items, ",")
	finals = ""
	for (k = 1; k <= n; k++) {
		it = trim(items[k])
		if (it == "")
			continue
		if (!match(it, /^\[[ \t\n]*FSM_[A-Z_]+[ \t\n]*\][ \t\n]*=[ \t\n]*1$/))
			fail("unexpected fsm_final[] item \"" it "\"")
		key = it
		sub(/^\[[ \t\n]*/, "", key)
		sub(/[ \t\n]*\].*$/, "", key)
		finals = finals (finals == "" ? "" : " || ") "(s) == " sname(key)
	}
	if (finals == "")
		fail("fsm_final[] is empty")

	# ---- output -----------------------------------------------------
	print "/*"
	print " * fsm_gen.pml -- GENERATED by model/gen_fsm.sh from gateway/fsm/fsm.h and"
	print " * gateway/fsm/fsm.c.  Do not edit: change fsm.c and regenerate."
	print " */"
	print ""
	print "/* Triggers of fsm_table[] the model uses.  The first three are also"
	print " * the model'"'"'s message numbers (REQ, REP, TN). */"
	print "#define T_REQ\t\t0\t/* MSG_READMISSION_REQUEST */"
	print "#define T_REP\t\t1\t/* MSG_READMISSION_REPLY */"
	print "#define T_TN\t\t2\t/* MSG_TRANSFER_NOTICE */"
	print "#define T_DL_REPLY\t3\t/* DL(FSM_DL_REPLY) */"
	print "#define T_FAIL\t\t4\t/* FAIL: the opening message failed */"
	print ""
	print "/* Case states: enum fsm_state (fsm.h) without the FSM_ prefix;"
	print " * NOPE is the model'"'"'s \"not allowed in this state\". */"
	line = "mtype = { NOPE"
	for (k = 1; k <= nstates; k++) {
		nm = state[k]
		sub(/^FSM_/, "", nm)
		line = line ", " nm
	}
	print line " };"
	print ""
	print "/* fsm_final[] */"
	print "#define FINAL(s)\t(" finals ")"
	print ""
	print "/* fsm_senders[RA] and fsm_opening[RA] */"
	print "#define SENDER_REQ\t" side["MSG_READMISSION_REQUEST"]
	print "#define SENDER_REP\t" side["MSG_READMISSION_REPLY"]
	print "#define SENDER_TN\t" side["MSG_TRANSFER_NOTICE"]
	print "#define OPENING\t\t" trig[opening]
	print ""
	print "/*"
	print " * fsm_next(s, t, p, tm, r): r = the state after trigger t in state s,"
	print " * or NOPE when fsm_table[] has no row for it (NOT_ALLOWED_IN_STATE)."
	print " * p: positive outcome (reply accepted); tm: the message is timely"
	print " * (CK_TIMELY rows); SILENCE_CONSENT: the agreement'"'"'s silence rule."
	print " * The row checks other than CK_TIMELY are abstracted away (they pass)."
	print " * One line per readmission row of fsm_table[] for these triggers."
	print " */"
	print "inline fsm_next(s, t, p, tm, r)"
	print "{"
	print "\tif"
	for (k = 1; k <= nused; k++)
		print used[k]
	print "\t:: else -> r = NOPE"
	print "\tfi"
	print "}"
}
END { if (failed) exit 1 }
' > "$tmp" || die "generation failed; $out not written"

mv "$tmp" "$out" || die "cannot write $out"
trap - EXIT HUP INT TERM
exit 0
