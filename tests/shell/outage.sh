# A partner's outage (issue 17, items 5 and 6): France's gateway stops with
# two requests of ours queued for it, one urgent.  Within 5 minutes (test
# clock) alerts shows a critical outage naming France and the urgent case,
# and queues the last error; after 49 hours both messages are UNDELIVERED
# but their cases stay open, and resend delivers them, inside a
# Redelivery, once France is back: both gateways then agree on the cases.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! grep -q '^#define ACCORD_TEST_CLOCK 1' "$ACCORD_BUILDDIR/accord-build.h" \
    2>/dev/null; then
	echo "1..0 # SKIP needs a build with --enable-test-clock"
	exit 0
fi
plan 22
make_workdir outage
use_system_groups
kzlog="$work/kz.log"
frlog="$work/fr.log"
start_fr() {
	n0=$(cat "$frlog" 2>/dev/null | grep -c "started: FR/DGEF") || :
	"$ACCORDD" -d -c "$work/conf/demo-fr/accordd.xml" >>"$frlog" 2>&1 &
	frpid=$!
	i=0
	while [ "$(cat "$frlog" 2>/dev/null | grep -c "started: FR/DGEF")" \
	    -le "${n0:-0}" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
stop_fr() {
	kill -TERM $frpid
	wait $frpid
}
state() {	# kz|fr CASE
	$1 status "$2" 2>/dev/null |
	    sed -n '1s/^case [^ ]* with [A-Z]*: \([A-Z_]*\) .*/\1/p'
}
both() {	# SECONDS STATE CASE: both gateways show the case in STATE
	n=$(( $1 * 10 ))
	while [ $n -gt 0 ]; do
		[ "$(state kz "$3")" = "$2" ] && [ "$(state fr "$3")" = "$2" ] &&
		    return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "# $3: KZ $(state kz "$3"), FR $(state fr "$3"); expected $2"
	return 1
}
msgid() {	# CASE: our opening message's id
	kz status "$1" | awk '$1 == "out" && $2 == "ReadmissionRequest" {
	    print $5; exit }'
}
body ReadmissionRequest >"$work/request.xml"

kzpid=
frpid=
trap 'kill -TERM $kzpid $frpid 2>/dev/null' EXIT
start_kz
start_fr
stop_fr

out=$(kz submit FR document=@"$work/request.xml" --urgent 2>&1)
urgent=$(printf '%s' "$out" | sed -n 's/.*case //p')
out=$(kz submit FR document=@"$work/request.xml" 2>&1)
plain=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "two requests queued for France ($urgent urgent, $plain)" \
	sh -c '[ -n "$1" ] && [ -n "$2" ]' _ "$urgent" "$plain"
check "queues shows France's last error" \
	wait_cmd 20 "^FR active .*[Cc]onnect" kz queues
kz alerts >"$work/alerts0"
check "no outage alert before France has failed for 5 minutes" \
	sh -c '! grep -q outage "$1"' _ "$work/alerts0"
kz clock advance 6m >/dev/null
check "after 5 minutes: a critical outage alert naming FR" \
	wait_cmd 10 "^outage *FR .*CRITICAL: " kz alerts
kz alerts >"$work/alerts1"
check "... naming the urgent case, the last error, the next attempt and the messages waiting" \
	sh -c 'grep "^outage *FR .*CRITICAL: " "$1" | grep -q "urgent case at risk: $2" &&
	    grep "^outage *FR .*CRITICAL: " "$1" | grep -q "last error: .*next attempt 20.*2 message(s) waiting"' \
	    _ "$work/alerts1" "$urgent"
check "... listed first (alerts sort by severity)" \
	sh -c 'head -1 "$1" | grep -q "^outage *FR .*CRITICAL: "' _ "$work/alerts1"
kz --json alerts >"$work/alerts.json"
check "alerts --json gives the outage's fields" \
	sh -c 'grep -q "\"urgent_case\": *\"$2\"" "$1" &&
	    grep -q "\"severity\": *\"critical\"" "$1"' _ "$work/alerts.json" \
	    "$urgent"
out=$(kz retry FR 2>&1)
check "retry FR: delivery retried now ($out)" \
	sh -c 'printf "%s" "$1" | grep -q "retried now"' _ "$out"
out=$(kz retry XX 2>&1); rc=$?
check "retry of an unknown partner is refused ($rc)" [ $rc -ne 0 ]

# ---- 49 hours later: undelivered, the cases still open ----------------------
kz clock advance 49h >/dev/null
check "after 49 h the urgent request is UNDELIVERED" \
	wait_cmd 30 "UNDELIVERED" kz status "$urgent"
check "... and the other one" wait_cmd 30 "UNDELIVERED" kz status "$plain"
check "status lists each delivery attempt, with its time and error" \
	wait_cmd 5 "^      attempt 20.*onnect" kz status "$urgent"
check "... and so does timeline, after the journal's records" \
	wait_cmd 5 "attempt *$(msgid "$urgent") .*onnect" kz timeline "$urgent"
check "... their cases stay SUBMITTED, open for the operator" \
	sh -c '[ "$1" = SUBMITTED ] && [ "$2" = SUBMITTED ]' _ \
	    "$(state kz "$urgent")" "$(state kz "$plain")"

# ---- France is back: resend, as a Redelivery -------------------------------
start_fr
# France's test clock where Kazakhstan's is: the Redelivery is fresh
fr clock set "$(kz clock show)" >/dev/null
mu=$(msgid "$urgent")
mp=$(msgid "$plain")
out=$(kz resend "$mu" 2>&1); rc=$?
check "resend of the urgent request is accepted ($rc: $out)" [ $rc -eq 0 ]
out=$(kz resend "$mp" 2>&1); rc=$?
check "resend of the other request is accepted ($rc)" [ $rc -eq 0 ]
check "the urgent case reaches France: PENDING_REPLY on both sides" \
	both 30 PENDING_REPLY "$urgent"
check "the other case too" both 30 PENDING_REPLY "$plain"
check "it went as a Redelivery" \
	sh -c 'grep -q "$1 to FR: resent as a Redelivery" "$2" &&
	    grep -q "a Redelivery of" "$3"' _ "$mu" "$kzlog" "$frlog"
check "France keeps the original's identity: the same message id" \
	wait_cmd 5 "$mu" fr status "$urgent"
check "the resend is journalled with the operator's uid" \
	wait_cmd 5 "resen.*uid" kz timeline "$urgent"

# ---- calendars: one line for all that end the same day ----------------------
# every calendar's holiday data ends 2027-12-31: by mid-2027 each one warns
kz clock set 2027-06-01T00:00:00Z >/dev/null
kz alerts >"$work/alerts2"
check "the calendar warnings that say the same are folded into one line" \
	sh -c '[ "$(grep -c "^calendar " "$1")" -eq 1 ] &&
	    grep "^calendar " "$1" | grep -q "KZ" &&
	    grep "^calendar " "$1" | grep -q "FR,\|,FR"' _ "$work/alerts2"
