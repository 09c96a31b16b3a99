#!/bin/sh
# signer_log.sh -- the signer's log against the journal (issue 18, item
# 5): with privilege separation the signer appends a line per signature
# to state/signer.log (root's, 0600: the engine cannot rewrite it), and
# accord-audit verify --signer-log finds a journalled message or
# checkpoint the log lacks (a line removed) and a signature no record
# holds (a line added: a message signed and never journalled).
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1 ||
    ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP needs root, setpriv and the user nobody"
	exit 0
fi
plan 13
make_workdir signer_log
use_system_groups
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
kzlog="$work/kz.log"
frlog="$work/fr.log"
slog="$work/var/kz/signer.log"
out="$work/out"
sed -i 's|</state-directory>|</state-directory>\n  <user name="nobody"/>|' \
    "$work/conf/accordd.xml"
"$ACCORDD" -d -c "$work/conf/demo-fr/accordd.xml" >>"$frlog" 2>&1 &
frpid=$!
wait_for "$frlog" "started: FR/DGEF" || cat "$frlog"
start_kz

# a request of ours (MESSAGE_SENT) and France's (our Receipt given)
body ReadmissionRequest >"$work/rr.xml"
mine=$(kz submit FR document=@"$work/rr.xml" 2>&1 | sed -n 's/.*case //p')
theirs=$(fr submit KZ document=@"$work/rr.xml" 2>&1 | sed -n 's/.*case //p')
check "Kazakhstan's request is receipted" \
	wait_cmd 15 "out ReadmissionRequest *RECEIPTED" kz status "$mine"
check "France's request is receipted by Kazakhstan" \
	wait_cmd 15 "out ReadmissionRequest *RECEIPTED" fr status "$theirs"
# submits are signed off the loop in both modes: in one process on a pool
# of threads with their own keys (France); under privilege separation on
# the signer process's lanes (Kazakhstan), each signature logged there
check "a pool on the signer's lanes with a signer process, of threads without" \
	sh -c 'grep -q "signing on [1-9][0-9]* lanes of the signer process" "$1" &&
	    ! grep -q "signing on [0-9]* threads" "$1" &&
	    grep -q "signing on [1-9][0-9]* threads" "$2"' _ "$kzlog" "$frlog"
check "the signer's log is root's, mode 0600" \
	[ "$(stat -c '%u %a' "$slog")" = "0 600" ]
check "... which the engine's user cannot write" \
	sh -c '! setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    sh -c "echo forged >>\"\$1\"" _ "$1" 2>/dev/null' _ "$slog"
kill -TERM $kzpid
wait_gone $kzpid 15
kill -TERM $frpid
wait_gone $frpid 15
check "it has a line per message and per checkpoint signed" \
	sh -c 'grep -Eq "^[0-9]+ MESSAGE ReadmissionRequest [^ ]+ [0-9a-f]{64}$" "$1" &&
	    grep -Eq "^[0-9]+ MESSAGE Receipt [^ ]+ [0-9a-f]{64}$" "$1" &&
	    grep -Eq "^[0-9]+ CHECKPOINT [0-9]+ [0-9a-f]{64}$" "$1"' _ "$slog"

audit() {
	"$AUDIT" verify --json "$@" >"$out" 2>&1
	st=$?
}
# finding PATTERN: a signer_log finding whose text matches
finding() {
	jq -e --arg p "$1" '.findings[] | select(.kind == "signer_log") |
	    select(.text | test($p))' "$out" >/dev/null
}
# found DESCRIPTION PATTERN: verify exited 1 with that finding
found() {
	if [ "$st" -eq 1 ] && finding "$2"; then
		ok "$1"
	else
		sed 's/^/# /' "$out" | head -20
		not_ok "$1 (exit $st)"
	fi
}
audit --signer-log "$slog" "$work/var/kz/journal"
check "verify --signer-log: the log and the journal agree" \
	sh -c '[ $1 -eq 0 ] && [ "$(jq .summary.signer_log_matched "$2")" -ge 3 ]' \
	    _ $st "$out"

# a journalled message whose line is gone
grep -v " MESSAGE ReadmissionRequest " "$slog" >"$work/removed.log"
audit --signer-log "$work/removed.log" "$work/var/kz/journal"
found "a journalled message without its line in the log is a finding" \
	"^ReadmissionRequest .* is journalled but the signer.s log .* has no signature of it"
check "... naming the record's file, offset and number" \
	sh -c 'jq -e ".findings[] | select(.kind == \"signer_log\") |
	    .file and .offset != null and .record > 0" "$1" >/dev/null' _ "$out"

# a checkpoint whose line is gone
awk '!/ CHECKPOINT / || n++' "$slog" >"$work/nocp.log"
audit --signer-log "$work/nocp.log" "$work/var/kz/journal"
found "a journalled checkpoint without its line is a finding" \
	"^the checkpoint covering record [0-9]+ is journalled but"

# a signature that no record holds: the line of a message signed and never
# journalled
t=$(awk 'NR == 1 { print $1 }' "$slog")
cp "$slog" "$work/added.log"
echo "$t MESSAGE ReadmissionRequest 0b1e7c3a-1111-4222-8333-444455556666 $(printf leaked | sha256sum | cut -c1-64)" \
    >>"$work/added.log"
audit --signer-log "$work/added.log" "$work/var/kz/journal"
found "a signature no record holds is a finding" \
	"line [0-9]+: the signer signed ReadmissionRequest 0b1e7c3a-1111-4222-8333-444455556666 .* but no journal record holds it"
# an Error signed and never journalled is how refusals beyond the rate go
cp "$slog" "$work/error.log"
echo "$t MESSAGE Error 0b1e7c3a-1111-4222-8333-777788889999 $(printf refused | sha256sum | cut -c1-64)" \
    >>"$work/error.log"
audit --signer-log "$work/error.log" "$work/var/kz/journal"
check "an Error signed and not journalled is counted, not a finding" \
	sh -c '[ $1 -eq 0 ] && [ "$(jq .summary.signer_log_unjournalled_errors "$2")" -ge 1 ]' \
	    _ $st "$out"
echo "garbage" >>"$work/added.log"
audit --signer-log "$work/added.log" "$work/var/kz/journal"
check "a line that is none of the log's is a finding" \
	finding "line [0-9]+: not a line of the signer.s log"
finish
