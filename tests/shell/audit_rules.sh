#!/bin/sh
# audit_rules.sh -- replay by the rules journalled with each configuration
# load (issue 18).  Two live gateways; France opens a case with
# Kazakhstan under standard-reply-days 25, Kazakhstan's fr.xml is changed
# to 20 and reloaded (and France's kz.xml), France opens another case:
# Kazakhstan's journal holds decisions under each.
#
#  1. replay without --config: 0 findings, every decision re-run by the
#     rules in force at it;
#  2. replay --config (the second configuration): the override is said in
#     text and JSON, and the decision made under 25 is a finding;
#  3. the rules journalled must match their digest;
#  4. a journal whose configuration loads carry no rules (as an older
#     build wrote them) still replays: without --config it says that
#     --config is needed, with --config every decision is re-run.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 16
make_workdir audit-rules
use_system_groups
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
TAMPER="$ACCORD_BUILDDIR/tests/helpers/audit_tamper"
kzlog="$work/kz.log"
frlog="$work/fr.log"
KZJ="$work/var/kz/journal"
out="$work/out"
audit() {
	"$AUDIT" "$@" >"$out" 2>&1
	st=$?
}
expect() {
	if [ "$st" -eq "$1" ] && grep -Eq -- "$2" "$out"; then
		ok "$3"
	else
		sed 's/^/# /' "$out" | grep -v '^#   20' | head -20
		not_ok "$3 (exit $st)"
	fi
}
# reply_due CASE: Kazakhstan's reply deadline of the case
reply_due() {
	kz status "$1" | awk '$1 == "deadline" && $2 == "reply" { print $3 }'
}
body ReadmissionRequest >"$work/request.xml"

kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
grep -q '<standard-reply-days>25<' "$work/conf/partners/fr.xml" ||
    echo "# fr.xml's standard-reply-days is not 25"
start_kz
start_fr

out1=$(fr submit KZ document=@"$work/request.xml" 2>&1)
case1=$(printf '%s' "$out1" | sed -n 's/.*case //p')
check "France's first request reaches Kazakhstan ($case1)" \
	both 20 PENDING_REPLY "$case1"
# the agreement changes on both sides (France's receipt checks the
# deadline Kazakhstan gives)
sed -i 's|<standard-reply-days>25<|<standard-reply-days>20<|' \
    "$work/conf/partners/fr.xml" "$work/conf/demo-fr/partners/kz.xml"
check "both reload the agreement with standard-reply-days 20" \
	sh -c '"$1" -s "$2" reload >/dev/null && "$1" -s "$3" reload >/dev/null' \
	    _ "$ACCORDCTL" "$work/run/kz/control.sock" "$work/run/fr/control.sock"
out1=$(fr submit KZ document=@"$work/request.xml" 2>&1)
case2=$(printf '%s' "$out1" | sed -n 's/.*case //p')
check "France's second request reaches Kazakhstan ($case2)" \
	both 20 PENDING_REPLY "$case2"
d1=$(reply_due "$case1")
d2=$(reply_due "$case2")
check "the two reply deadlines were set under different timelines ($d1, $d2)" \
	sh -c '[ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]' _ "$d1" "$d2"
kill -TERM $kzpid $frpid
wait_gone $kzpid 10
wait_gone $frpid 10
kzpid=
frpid=

# ---- 1. the rules in force at each record ------------------------------
audit replay "$KZJ"
expect 0 "replay: 0 findings" \
    "replay without --config: 0 findings across the two configurations"
expect 0 "rules +journalled \([2-9] configuration loads with rules" \
    "... by the rules journalled with each configuration load"
expect 0 "decisions_rerun +[1-9]" "... the decisions were re-run"

# ---- 2. --config: an explicit override ------------------------------------
audit replay --config "$work/conf/accordd.xml" "$KZJ"
expect 1 "^warning: rules overridden by --config $work/conf/accordd.xml" \
    "replay --config: the override is reported"
expect 1 "case FR/$case1: the replayed decision differs in its deadline operations" \
    "... and the decision made under 25 days is a finding under 20"
expect 1 "the rules journalled here .* are not those of --config" \
    "... the configuration load whose rules differ from --config's is named"
audit replay --json --config "$work/conf/accordd.xml" "$KZJ"
expect 1 '"rules": "overridden by --config ' \
    "replay --json --config: the summary says the rules were overridden"

# ---- 3. the journalled rules match their digest -------------------------
# the first configuration load: the second record of the first file (its
# sequence number is 152 bytes before its payload in journal format 2)
cl=$(grep -abo '{"authority":"MVD"' "$KZJ/journal-000001.log" | head -1 |
    cut -d: -f1)
seq1=$(od -An -tu1 -j $((cl - 152)) -N8 "$KZJ/journal-000001.log" |
    awk '{ s = 0; for (i = 1; i <= NF; i++) s = s * 256 + $i; print s }')
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$work/pki/kz/sign-rsa.key" \
    --replace "$seq1" '"standard-reply-days":25' '"standard-reply-days":24'
audit replay "$work/j"
expect 1 "record $seq1: the rules journalled by this configuration load do not match their digest" \
    "rules altered behind their digest are a finding"

# ---- 4. a journal from before rules were journalled ------------------------
# every configuration load loses its rules (an older build's records)
edits=
for f in "$KZJ"/journal-*.log; do
	for cl in $(grep -abo '{"authority":"MVD"' "$f" | cut -d: -f1); do
		s=$(od -An -tu1 -j $((cl - 152)) -N8 "$f" | awk \
		    '{ s = 0; for (i = 1; i <= NF; i++) s = s * 256 + $i; print s }')
		edits="$edits --replace $s \"rules\":{ \"old\":{"
	done
done
rm -rf "$work/j" && mkdir "$work/j"
# shellcheck disable=SC2086
"$TAMPER" "$KZJ" "$work/j" --key "$work/pki/kz/sign-rsa.key" $edits
check "an old-style journal (no rules in its configuration loads)" \
	sh -c '! grep -aq "\"rules\":{" "$1"/*.log' _ "$work/j"
audit replay "$work/j"
expect 0 "warning: [0-9]+ decisions had no rules to be re-run by.*give --config" \
    "replay of it without --config says --config is needed"
expect 0 "decisions_rerun +0" "... and re-ran nothing"
audit replay --config "$work/conf/accordd.xml" "$work/j"
expect 1 "decisions_without_rules +0" \
    "replay of it with --config re-runs every decision"

finish
