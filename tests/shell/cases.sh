# The case commands over the control socket: submit, list, status,
# timeline, record, clock; refusals that queue nothing; restart and
# --rebuild-store keep every case.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 22
make_workdir cases
log="$work/accordd.log"
sock="$work/run/kz/control.sock"
use_system_groups
ctl() { "$ACCORDCTL" -s "$sock" "$@"; }
start() {
	"$ACCORDD" -d -c "$work/conf/accordd.xml" >"$log" 2>&1 &
	pid=$!
	wait_for "$log" "started: KZ/MVD" || cat "$log"
}
stop() { kill -TERM $pid; wait_gone $pid 10; : >"$log"; }
start
body ReadmissionRequest >"$work/ReadmissionRequest.xml"
body ReadmissionReply >"$work/ReadmissionReply.xml"
body Withdrawal >"$work/Withdrawal.xml"

out=$(ctl submit FR document=@"$work/ReadmissionRequest.xml" --urgent 2>&1); rc=$?
check "submit queues a ReadmissionRequest to France" \
	sh -c '[ $1 -eq 0 ] && printf "%s" "$2" | grep -q "^queued .* for FR, case KZ-FR-"' _ $rc "$out"
case=$(printf '%s' "$out" | sed 's/.*case //')
out=$(ctl list)
check "list shows the case SUBMITTED, our role R" \
	sh -c 'printf "%s" "$1" | grep -q "^FR $2 *SUBMITTED *R "' _ "$out" "$case"
out=$(ctl status "$case")
check "status shows the accelerated procedure and the queued message" \
	sh -c 'printf "%s" "$1" | grep -q "accelerated" &&
	       printf "%s" "$1" | grep -q "out ReadmissionRequest *QUEUED"' _ "$out"
out=$(ctl timeline "$case")
check "timeline shows the operator, the message and the decision" \
	sh -c 'printf "%s" "$1" | grep -q "operator  uid 0: submit" &&
	       printf "%s" "$1" | grep -q "decision  NONE -> SUBMITTED"' _ "$out"
n0=$(ctl -j list | grep -o '"count":[0-9]*')

sed 's|<Surname>Nurlanov</Surname>|<Nickname>Nurlanov</Nickname>|' \
    "$work/ReadmissionRequest.xml" > "$work/bad.xml"
out=$(ctl submit FR document=@"$work/bad.xml" 2>&1); rc=$?
check "an invalid document is refused with the schema error" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "SCHEMA_INVALID"' _ $rc "$out"
out=$(ctl submit FR document='<ReadmissionRequest' 2>&1); rc=$?
check "a malformed document is refused" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "MALFORMED"' _ $rc "$out"
out=$(ctl submit XX document=@"$work/ReadmissionRequest.xml" 2>&1); rc=$?
check "an unknown partner is refused" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "UNKNOWN_PARTNER"' _ $rc "$out"
out=$(ctl submit FR document=@"$work/Withdrawal.xml" 2>&1); rc=$?
check "a Withdrawal without a case is refused" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "UNKNOWN_CASE"' _ $rc "$out"
out=$(ctl submit FR document=@"$work/ReadmissionReply.xml" case="$case" 2>&1); rc=$?
check "a reply from the requesting side is refused by the fsm" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "ROLE_NOT_ALLOWED"' _ $rc "$out"
n1=$(ctl -j list | grep -o '"count":[0-9]*')
check "nothing was queued by the refusals" [ "$n1" = "$n0" ]

out=$(ctl status NO-SUCH-CASE 2>&1); rc=$?
check "status of an unknown case says so" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "UNKNOWN_CASE"' _ $rc "$out"
out=$(ctl record "$case" bribe 2>&1); rc=$?
check "record with an unknown fact is refused" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "BAD_REQUEST"' _ $rc "$out"
out=$(ctl record "$case" protection-claim note="claims a risk" 2>&1); rc=$?
check "a claim on a case not yet open at the partner is refused" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "NOT_ALLOWED_IN_STATE"' _ $rc "$out"
out=$(ctl timeline "$case")
check "the refused claim left no trace in the case's timeline" \
	sh -c '! printf "%s" "$1" | grep -q "record protection-claim"' _ "$out"
out=$(ctl list due-within=bogus 2>&1); rc=$?
check "a bad duration is refused" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "not a duration"' _ $rc "$out"

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=65534 --regid=daemon --groups=bin -- \
	    "$ACCORDCTL" -s "$sock" submit FR document=@"$work/ReadmissionRequest.xml" 2>&1); rc=$?
	check "a read-role caller may not submit" \
		sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "FORBIDDEN.*submit role"' _ $rc "$out"
	out=$(setpriv --reuid=65534 --regid=daemon --groups=sys -- \
	    "$ACCORDCTL" -s "$sock" record "$case" assessment 2>&1); rc=$?
	check "a submit-role caller may not record" \
		sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "FORBIDDEN.*admin role"' _ $rc "$out"
else
	ok "# SKIP role checks need root and setpriv"
	ok "# SKIP role checks need root and setpriv"
fi

if ctl help | grep -q '^clock'; then
	out=$(ctl clock advance 3d 2>&1); rc=$?
	check "the test clock advances" [ $rc -eq 0 ]
else
	ok "# SKIP built without --enable-test-clock"
fi

# the delivery attempts are in the daemon's memory only: not compared
before=$(ctl status "$case" | grep -v "^      attempt ")
stop
start
after=$(ctl status "$case" | grep -v "^      attempt ")
check "after a restart the case is as it was" [ "$after" = "$before" ]
stop
"$ACCORDD" -c "$work/conf/accordd.xml" --rebuild-store >"$log" 2>&1; rc=$?
check "--rebuild-store succeeds" [ $rc -eq 0 ]
start
after=$(ctl status "$case" | grep -v "^      attempt ")
check "after --rebuild-store the case is as it was" [ "$after" = "$before" ]
stop
check "the daemon stopped cleanly" [ ! -e "$sock" ]
finish
