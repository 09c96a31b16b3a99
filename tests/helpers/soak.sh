#!/bin/sh
# tests/helpers/soak.sh -- two live gateways under faults, with back offices on
# both sides, then an account of what survived.
#
#   KZ gateway --> faultproxy A --> FR gateway      (KZ's partner URL)
#   FR gateway --> faultproxy B --> KZ gateway      (FR's partner URL)
#
# Kazakhstan's back office submits readmission requests to France (one
# idempotency key each, request-id=K); France's back office answers every
# request it finds in its inbox with a ReadmissionReply (accepted or
# refused, at random) and acknowledges it; Kazakhstan's acknowledges the
# replies.  A submit whose answer was cut (the daemon died, accordctl timed
# out) is retried with the same key when the daemon honours request-id
# (probed at start); otherwise it is not retried, and the output says so.
# Meanwhile the proxies delay, stall and cut connections
# (tests/helpers/faultproxy, seeded), blackholes come and go
# (SIGUSR1/SIGUSR2 to a proxy), and either gateway is SIGKILLed at random
# moments and restarted.  Then the faults stop (SIGHUP: the proxies go
# calm), the run waits for the two gateways to settle, and counts, from both
# journals (accord-audit) and both stores (accordctl): cases submitted and
# settled, lost, processed twice, replies refused for good, disagreeing
# cases, audit findings, the settle time and each daemon's peak RSS.  TAP;
# figures as "# " lines.
#
# Environment:
#   SOAK_SECONDS      length of the fault phase (default 600)
#   SOAK_CASES        readmission requests to submit (default 2000)
#   SOAK_KILLS        SIGKILLs, spread over the fault phase (default 25)
#   SOAK_SEED         seed of everything random here (default: random;
#                     always printed: rerun with it to replay the plan and
#                     the proxies' per-connection faults)
#   SOAK_BLACKHOLES   blackholes (default: one per 60 s of fault phase)
#   SOAK_SETTLE_MAX   seconds to wait for settling (default 300)
#   SOAK_WORKERS      Kazakhstan's submitters working in parallel
#                     (default 3)
#   SOAK_KILL_TREE    1: kill a random member of a gateway's process tree
#                     rather than its top process (for the split daemon)
#   SOAK_USER         run both gateways privilege-separated: <user
#                     name="SOAK_USER"/> (needs root; with SOAK_KILL_TREE=1
#                     the kills hit the parser, the signer and the engine)
#   SOAK_MAX_BACKOFF  if set, the agreements' max-backoff-seconds in the
#                     scratch configuration (default: as shipped)
#   SOAK_PROXY_OPTS   the proxies' fault options (see faultproxy --help)
#   SOAK_KEEP         1: keep the work directory even when all passed
#
# Needs tests/helpers/faultproxy (built by make check) and a test PKI; the
# request-id probe and the retries need the daemon's idempotent submit.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
LC_ALL=C
export LC_ALL

FAULTPROXY="$ACCORD_BUILDDIR/tests/helpers/faultproxy"
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
if [ ! -x "$FAULTPROXY" ]; then
	echo "1..0 # SKIP $FAULTPROXY is not built"
	exit 0
fi

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_CASES=${SOAK_CASES:-2000}
SOAK_KILLS=${SOAK_KILLS:-25}
SOAK_SEED=${SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
SOAK_BLACKHOLES=${SOAK_BLACKHOLES:-$((SOAK_SECONDS / 60))}
SOAK_SETTLE_MAX=${SOAK_SETTLE_MAX:-300}
SOAK_KILL_TREE=${SOAK_KILL_TREE:-0}
SOAK_WORKERS=${SOAK_WORKERS:-3}
SOAK_PROXY_OPTS=${SOAK_PROXY_OPTS:-"-d 120 -p 250 -S 30:1000-6000 -c 50 -r 50 -k 9000 -g 50"}
SOAK_NAME=${SOAK_NAME:-soak}

plan 21
echo "# $SOAK_NAME: seed $SOAK_SEED (SOAK_SEED=$SOAK_SEED replays the plan" \
    "and the proxies' faults)"
echo "# $SOAK_NAME: $SOAK_SECONDS s of faults, $SOAK_CASES cases," \
    "$SOAK_KILLS kills, $SOAK_BLACKHOLES blackholes, $SOAK_WORKERS" \
    "submitters, kill tree: $SOAK_KILL_TREE, user: ${SOAK_USER:-none};" \
    "proxies: $SOAK_PROXY_OPTS"

make_workdir "$SOAK_NAME"
if [ -n "${SOAK_USER:-}" ]; then
	# as parser.sh: the engine, as SOAK_USER, reaches its state directory
	use_system_groups
	mkdir -p "$work/var" && chmod 755 "$work/var"
	for f in "$work/conf/accordd.xml" "$work/conf/demo-fr/accordd.xml"; do
		sed -i "s|</state-directory>|</state-directory>\n  <user name=\"$SOAK_USER\"/>|" "$f"
		grep -q "<user name=\"$SOAK_USER\"/>" "$f" ||
		    { echo "Bail out! cannot set <user> in $f"; exit 1; }
	done
fi
bo="$work/bo"
mkdir -p "$bo"
: >"$bo/kz.sub"
: >"$bo/kz.cuts"
: >"$bo/kz.acked"
: >"$bo/fr.rep"
: >"$bo/fr.cuts"
: >"$bo/fr.acked"
: >"$bo/fr.done"
kzlog="$work/kz.log"
frlog="$work/fr.log"

# ---- ports: the gateways' (lib.sh) and one per proxy ---------------------
free_port() {
	while :; do
		p=$(( 32000 + $(od -An -N2 -tu2 /dev/urandom) % 8000 ))
		[ "$p" != "$kz_port" ] && [ "$p" != "$fr_port" ] &&
		    [ "$p" != "${pa_port:-}" ] &&
		    ! ss -ltn 2>/dev/null | grep -q ":$p " && break
	done
	echo "$p"
}
pa_port=$(free_port)		# A: KZ -> FR
pb_port=$(free_port)		# B: FR -> KZ
sed -i "s|127.0.0.1:$fr_port/|127.0.0.1:$pa_port/|" "$work/conf/partners/fr.xml"
sed -i "s|127.0.0.1:$kz_port/|127.0.0.1:$pb_port/|" \
    "$work/conf/demo-fr/partners/kz.xml"
if [ -n "${SOAK_MAX_BACKOFF:-}" ]; then
	sed -i "s|max-backoff-seconds=\"[0-9]*\"|max-backoff-seconds=\"$SOAK_MAX_BACKOFF\"|" \
	    "$work/conf/partners/fr.xml" "$work/conf/demo-fr/partners/kz.xml"
fi
backoff=$(sed -n 's|.*<retry \(.*\)/>.*|\1|p' "$work/conf/partners/fr.xml")
echo "# ports: KZ $kz_port, FR $fr_port, proxy A $pa_port -> FR," \
    "proxy B $pb_port -> KZ; retry: $backoff"

# ---- time, randomness ----------------------------------------------------
now_ms() { date +%s%3N; }
T0=$(now_ms)
elapsed() { echo $(( ($(now_ms) - T0) / 1000 )); }
# a number from the seed and a label: the same on every replay
seeded() {	# LABEL MODULUS
	printf '%s:%s' "$SOAK_SEED" "$1" | cksum | awk -v m="$2" '{ printf "%.0f\n", $1 % m }'
}

# ---- the gateways -----------------------------------------------------------
conf_of() { [ "$1" = kz ] && echo "$work/conf/accordd.xml" ||
    echo "$work/conf/demo-fr/accordd.xml"; }
log_of() { [ "$1" = kz ] && echo "$kzlog" || echo "$frlog"; }
sock_of() { echo "$work/run/$1/control.sock"; }
pid_of() { cat "$work/$1.pid" 2>/dev/null; }
count_in() { _k=$(grep -c -- "$1" "$2" 2>/dev/null) || :; echo "${_k:-0}"; }

# start_gw kz|fr: start, wait for its "started:" line; 1 if it did not
start_gw() {
	_l=$(log_of "$1")
	_n0=$(count_in "started: " "$_l")
	"$ACCORDD" -d -c "$(conf_of "$1")" >>"$_l" 2>&1 &
	echo $! >"$work/$1.pid"
	_i=0
	while [ "$(count_in "started: " "$_l")" -le "$_n0" ]; do
		kill -0 "$(pid_of "$1")" 2>/dev/null || return 1
		_i=$((_i + 1))
		[ $_i -gt 300 ] && return 1
		sleep 0.1
	done
	return 0
}
gw_up() { _p=$(pid_of "$1"); [ -n "$_p" ] && kill -0 "$_p" 2>/dev/null; }

# the gateway's process tree, top first (pgrep -P, breadth first)
tree_pids() {
	_q=$1
	_all=
	while [ -n "$_q" ]; do
		set -- $_q
		_p=$1
		shift
		_q=$*
		_all="$_all $_p"
		for _c in $(pgrep -P "$_p" 2>/dev/null); do
			_q="$_q $_c"
		done
	done
	echo $_all
}

# peak RSS: VmHWM of every process of the tree, summed; the max is kept
rss_kz=0
rss_fr=0
sample_rss() {	# kz|fr
	gw_up "$1" || return 0
	_s=0
	for _p in $(tree_pids "$(pid_of "$1")"); do
		_v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$_p/status" 2>/dev/null)
		_s=$((_s + ${_v:-0}))
	done
	if [ "$1" = kz ]; then
		[ $_s -gt $rss_kz ] && rss_kz=$_s
	else
		[ $_s -gt $rss_fr ] && rss_fr=$_s
	fi
	return 0
}

kills=0
kills_failed=0
inplace=0
restarts=0
restarts_failed=0
last_fault=$T0
# kill_gw kz|fr N: SIGKILL the gateway, or with SOAK_KILL_TREE=1 a random
# member of its process tree; 0 when the gateway is then down
kill_gw() {
	sample_rss "$1"
	_top=$(pid_of "$1")
	_victim=$_top
	if [ "$SOAK_KILL_TREE" = 1 ]; then
		set -- "$1" "$2" $(tree_pids "$_top")
		_gw=$1
		_k=$(seeded "kill-member-$2" $(($# - 2)))
		shift $((2 + _k))
		_victim=$1
		set -- "$_gw"
	fi
	kill -KILL "$_victim" 2>/dev/null || { kills_failed=$((kills_failed + 1)); return 1; }
	kills=$((kills + 1))
	echo "# t=$(elapsed)s: kill -9 $1 (pid $_victim of $_top)"
	if [ "$_victim" != "$_top" ]; then
		# a member: the tree exits (the supervisor would restart it),
		# or replaces the member in place
		_i=0
		while kill -0 "$_top" 2>/dev/null && [ $_i -lt 100 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		if kill -0 "$_top" 2>/dev/null; then
			echo "# t=$(elapsed)s: $1 replaced the member in place"
			inplace=$((inplace + 1))
			return 1
		fi
	fi
	wait "$_top" 2>/dev/null
	return 0
}
restart_gw() {
	if start_gw "$1"; then
		restarts=$((restarts + 1))
	else
		restarts_failed=$((restarts_failed + 1))
		echo "# t=$(elapsed)s: $1 did not restart; see its log"
	fi
	last_fault=$(now_ms)
}

# ---- the proxies -----------------------------------------------------------
start_proxy() {	# NAME LISTEN TARGET SEED
	# shellcheck disable=SC2086
	"$FAULTPROXY" -n "$1" -l "127.0.0.1:$2" -t "127.0.0.1:$3" -s "$4" \
	    -m mix $SOAK_PROXY_OPTS 2>>"$work/proxy-$1.log" &
	echo $! >"$work/proxy-$1.pid"
	wait_for "$work/proxy-$1.log" "$1: listening on" 10
}
proxy_pid() { cat "$work/proxy-$1.pid" 2>/dev/null; }
seed_a=$(seeded proxy-A 4294967296)
seed_b=$(seeded proxy-B 4294967296)

cleanup() {
	touch "$bo/stop"
	for _g in kz fr; do
		_p=$(pid_of $_g)
		[ -n "$_p" ] && kill -KILL $(tree_pids "$_p") 2>/dev/null
	done
	for _x in A B; do
		_p=$(proxy_pid $_x)
		[ -n "$_p" ] && kill -TERM "$_p" 2>/dev/null
	done
	for _p in ${bo_pids:-}; do
		kill -TERM "$_p" 2>/dev/null
	done
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- documents ---------------------------------------------------------------
body ReadmissionRequest >"$work/request.xml"
sed 's|<Details>[^<]*</Details>|<Details>Another text for the same key.</Details>|' \
    "$work/request.xml" >"$work/request-other.xml"
cmp -s "$work/request.xml" "$work/request-other.xml" &&
    sed -i 's|Nurlanov|Nurlanova|' "$work/request-other.xml"
body ReadmissionReply >"$work/reply-accepted.xml"
cat >"$work/reply-refused.xml" <<'EOF'
<ReadmissionReply xmlns="urn:accord:msg:1">
      <Refused>
        <Ground>InsufficientEvidence</Ground>
        <Text>The evidence does not establish nationality.</Text>
      </Refused>
    </ReadmissionReply>
EOF

# ---- start -------------------------------------------------------------------
ok_start=yes
start_proxy A "$pa_port" "$fr_port" "$seed_a" || ok_start=no
start_proxy B "$pb_port" "$kz_port" "$seed_b" || ok_start=no
start_gw kz || ok_start=no
start_gw fr || ok_start=no
echo "# proxy A seed $seed_a, proxy B seed $seed_b"
check "two gateways, each behind its faultproxy, start" [ $ok_start = yes ]
if [ $ok_start != yes ]; then
	for f in "$kzlog" "$frlog" "$work"/proxy-*.log; do tail -n 5 "$f"; done | sed 's/^/# /'
	echo "Bail out! the gateways did not start"
	exit 1
fi

# ---- accordctl with a deadline; classify a failure --------------------------
# ctl kz|fr ERRFILE ARGS...: sets ctl_out, ctl_rc, ctl_err
ctl() {
	_s=$1 _e=$2
	shift 2
	ctl_out=$(timeout 20 "$ACCORDCTL" -s "$work/run/$_s/control.sock" "$@" \
	    2>"$_e")
	ctl_rc=$?
	ctl_err=$(cat "$_e")
}
# what a failed ctl means: down (nothing was sent: retry), temp (TEMPORARY:
# nothing changed, retry), cut (sent, answer lost: unknown), error CODE
classify() {
	if [ "$ctl_rc" -eq 124 ] || [ "$ctl_rc" -gt 128 ]; then
		echo cut
		return
	fi
	case $ctl_err in
	*"cannot connect to"*|*"did not greet"*) echo down ;;
	*"accordctl: TEMPORARY"*) echo temp ;;
	*"closed the connection"*|*"connection closed"*|*"cannot send"*|\
	*"bad response"*) echo cut ;;
	"accordctl: "[A-Z]*:*)
		echo "error $(printf '%s' "$ctl_err" |
		    sed -n '1s/^accordctl: \([A-Z_]*\):.*/\1/p')" ;;
	*) echo cut ;;
	esac
}
queued_ids() {	# → "MESSAGE CASE" from a submit's answer
	printf '%s\n' "$ctl_out" |
	    sed -n 's/^queued \([^ ]*\) for [A-Z]*, case \([^ ]*\).*$/\1 \2/p'
}

# ---- does the daemon honour request-id? ------------------------------------
idem=no
pk="soak-$SOAK_SEED-probe"
ctl kz "$bo/err.probe" submit FR document=@"$work/request.xml" \
    request-id="$pk"
p1=$(queued_ids)
ctl kz "$bo/err.probe" submit FR document=@"$work/request.xml" \
    request-id="$pk"
p2=$(queued_ids)
if [ -n "$p1" ]; then
	set -- $p1
	echo "ok $pk $1 $2 1 0" >>"$bo/kz.sub"
fi
if [ -n "$p1" ] && [ "$p1" = "$p2" ]; then
	idem=yes
	ok "request-id: the same key and document give the original answer"
	ctl kz "$bo/err.probe" submit FR document=@"$work/request-other.xml" \
	    request-id="$pk"
	case $(classify) in
	"error CONFLICT") ok "request-id: the same key with another document: CONFLICT" ;;
	*) not_ok "request-id: the same key with another document: CONFLICT (rc $ctl_rc: $ctl_out$ctl_err)"
	   set -- $(queued_ids)
	   [ -n "${1:-}" ] && echo "ok $pk-other $1 $2 1 0" >>"$bo/kz.sub" ;;
	esac
	echo "# request-id: supported: cut submits are retried with the same key"
else
	[ -n "$p2" ] && { set -- $p2; echo "ok $pk-dup $1 $2 1 0" >>"$bo/kz.sub"; }
	ok "request-id: not supported yet (two submits, two messages) # SKIP cut submits are not retried"
	ok "request-id: CONFLICT # SKIP request-id not supported"
	echo "# request-id: NOT supported by this daemon: a submit whose answer" \
	    "is cut is not retried (counted as unanswered); France's back" \
	    "office reads the case's status before it answers a request again"
fi

# ---- the back offices ---------------------------------------------------------
# Kazakhstan: submit SOAK_CASES requests, paced over 85 % of the fault
# phase, each with its key; stop submitting new ones when it ends.
# Worker W of SOAK_WORKERS takes the cases W+1, W+1+SOAK_WORKERS...
bo_kz_submit() {	# W
	_ef="$bo/err.kzsub$1"
	_win=$((SOAK_SECONDS * 850))	# ms
	_i=$1
	while [ $_i -lt "$SOAK_CASES" ] && [ ! -f "$bo/stop" ] &&
	    [ ! -f "$bo/faults-over" ]; do
		_i=$((_i + 1))
		_due=$((T0 + _win * (_i - 1) / SOAK_CASES))
		_now=$(now_ms)
		[ $_due -gt "$_now" ] &&
		    sleep "$(awk -v d=$((_due - _now)) 'BEGIN { print d / 1000 }')"
		_key="soak-$SOAK_SEED-$_i"
		_tries=0 _cuts=0
		while :; do
			_tries=$((_tries + 1))
			if [ $idem = yes ]; then
				ctl kz "$_ef" submit FR document=@"$work/request.xml" \
				    request-id="$_key"
			else
				ctl kz "$_ef" submit FR document=@"$work/request.xml"
			fi
			if [ $ctl_rc -eq 0 ]; then
				echo "ok $_key $(queued_ids) $_tries $_cuts" >>"$bo/kz.sub"
				break
			fi
			_c=$(classify)
			case $_c in
			down|temp) ;;
			cut)
				_cuts=$((_cuts + 1))
				echo "cut $_key $(now_ms)" >>"$bo/kz.cuts"
				if [ $idem = no ]; then
					echo "unanswered $_key $_tries" >>"$bo/kz.sub"
					break
				fi ;;
			*)
				echo "error $_key ${_c#error } $_tries" >>"$bo/kz.sub"
				break ;;
			esac
			if [ -f "$bo/stop" ]; then
				echo "abandoned $_key $_tries" >>"$bo/kz.sub"
				break
			fi
			sleep 0.3
		done
		_i=$((_i + SOAK_WORKERS - 1))
	done
	touch "$bo/kz.sub.done.$1"
}

# Kazakhstan: acknowledge every reply in the inbox.
bo_kz_inbox() {
	_ef="$bo/err.kzinbox"
	while [ ! -f "$bo/stop" ]; do
		ctl kz "$_ef" inbox partner=FR
		if [ $ctl_rc -ne 0 ]; then
			sleep 0.5
			continue
		fi
		printf '%s\n' "$ctl_out" |
		    awk 'NR > 1 && NF >= 5 && $1 == "FR" { print $4, $2, $3 }' \
		    >"$bo/kz.inbox"
		if [ ! -s "$bo/kz.inbox" ]; then
			sleep 0.5
			continue
		fi
		while read -r _m _c _t; do
			ctl kz "$_ef" ack "$_m" partner=FR
			if [ $ctl_rc -eq 0 ] ||
			    [ "$(classify)" = "error UNKNOWN_MESSAGE" ]; then
				echo "$_m $_c $_t" >>"$bo/kz.acked"
			fi
		done <"$bo/kz.inbox"
	done
}

# France: answer each request (accepted or refused, from the seed and the
# message id), then acknowledge it.  A request answered once is only
# acknowledged when the inbox offers it again.
fr_answer() {	# MSG CASE
	_m=$1 _c=$2
	if ! grep -q "^$_m " "$bo/fr.done" 2>/dev/null; then
		if [ $idem = no ] && grep -q "^$_m$" "$bo/fr.cutpending" 2>/dev/null
		then
			# the last answer was cut: did the reply commit?
			ctl fr "$_ef" status "$_c"
			[ $ctl_rc -eq 0 ] || return 0
			if printf '%s\n' "$ctl_out" | grep -q "out ReadmissionReply"
			then
				echo "reconciled $_m $_c" >>"$bo/fr.rep"
				echo "$_m reconciled" >>"$bo/fr.done"
			fi
		fi
	fi
	if ! grep -q "^$_m " "$bo/fr.done" 2>/dev/null; then
		if [ "$(seeded "decision-$_m" 4)" -eq 0 ]; then
			_d=refused
		else
			_d=accepted
		fi
		_rid=
		[ $idem = yes ] && _rid="request-id=reply-$_m"
		# shellcheck disable=SC2086
		ctl fr "$_ef" submit KZ case="$_c" ref="$_m" \
		    document=@"$work/reply-$_d.xml" $_rid
		if [ $ctl_rc -eq 0 ]; then
			echo "ok $_m $_c $_d $(queued_ids)" >>"$bo/fr.rep"
			echo "$_m ok" >>"$bo/fr.done"
		else
			_k=$(classify)
			case $_k in
			down|temp) return 0 ;;
			cut)
				echo "cut $_m $(now_ms)" >>"$bo/fr.cuts"
				[ $idem = no ] && echo "$_m" >>"$bo/fr.cutpending"
				return 0 ;;
			*)
				echo "error $_m $_c ${_k#error }" >>"$bo/fr.rep"
				echo "$_m error" >>"$bo/fr.done" ;;
			esac
		fi
	fi
	ctl fr "$_ef" ack "$_m" partner=KZ
	if [ $ctl_rc -eq 0 ] || [ "$(classify)" = "error UNKNOWN_MESSAGE" ]; then
		echo "$_m $_c" >>"$bo/fr.acked"
	fi
}
bo_fr() {
	_ef="$bo/err.fr"
	while [ ! -f "$bo/stop" ]; do
		ctl fr "$_ef" inbox partner=KZ
		if [ $ctl_rc -ne 0 ]; then
			sleep 0.3
			continue
		fi
		printf '%s\n' "$ctl_out" | awk 'NR > 1 && NF >= 5 && $1 == "KZ" &&
		    $3 == "ReadmissionRequest" { print $4, $2 }' >"$bo/fr.inbox"
		if [ ! -s "$bo/fr.inbox" ]; then
			sleep 0.3
			continue
		fi
		while read -r _m _c; do
			[ -f "$bo/stop" ] && break
			fr_answer "$_m" "$_c"
		done <"$bo/fr.inbox"
	done
}

T0=$(now_ms)
bo_pids=
w=0
while [ $w -lt "$SOAK_WORKERS" ]; do
	bo_kz_submit $w &
	bo_pids="$bo_pids $!"
	w=$((w + 1))
done
bo_kz_inbox &
bo_pids="$bo_pids $!"
bo_fr &
bo_pids="$bo_pids $!"

# ---- the fault plan: kills and blackholes, from the seed ---------------------
# "TIME kill GW DOWNTIME_MS" and "TIME bh on|off A|B|AB", TIME in ms from
# the start, sorted
awk -v seed="$SOAK_SEED" -v secs="$SOAK_SECONDS" -v nk="$SOAK_KILLS" \
    -v nb="$SOAK_BLACKHOLES" 'BEGIN {
	srand(seed)
	T = secs * 1000
	if (nk > 0) {
		slot = (T - 2000) / nk
		for (i = 0; i < nk; i++) {
			t = int(1000 + slot * i + rand() * slot * 0.8)
			gw = rand() < 0.5 ? "kz" : "fr"
			printf "%d kill %s %d\n", t, gw, int(300 + rand() * 2700)
		}
	}
	if (nb > 0) {
		slot = (T - 5000) / nb
		for (i = 0; i < nb; i++) {
			lo = secs >= 300 ? 8000 : 6000
			span = secs >= 300 ? 17000 : 6000
			len = int(lo + rand() * span)
			if (len > slot * 0.9)
				len = int(slot * 0.9)
			t = int(2000 + slot * i + rand() * (slot - len))
			r = rand()
			p = "AB"
			if (r < 0.4)
				p = "A"
			else if (r < 0.8)
				p = "B"
			printf "%d bh on %s\n", t, p
			printf "%d bh off %s\n", t + len, p
		}
	}
}' | sort -n >"$work/plan"
echo "# plan: $(grep -c kill "$work/plan") kills, $(grep -c 'bh on' "$work/plan")" \
    "blackholes (SIGUSR1/SIGUSR2 to the proxies), in $work/plan"

# ---- the fault phase ---------------------------------------------------------
T_END=$((T0 + SOAK_SECONDS * 1000))
: >"$work/restarts"
bh_count=0
while read -r at what a b; do
	while [ "$(now_ms)" -lt $((T0 + at)) ]; do
		# restarts due meanwhile
		while read -r rt rg; do
			if [ "$(now_ms)" -ge "$rt" ]; then
				restart_gw "$rg"
				grep -v "^$rt $rg\$" "$work/restarts" >"$work/restarts.tmp"
				mv "$work/restarts.tmp" "$work/restarts"
			fi
		done <"$work/restarts"
		sample_rss kz
		sample_rss fr
		sleep 0.2
	done
	case $what in
	kill)
		# a gateway still down: its restart first
		if ! gw_up "$a"; then
			while read -r rt rg; do
				restart_gw "$rg"
			done <"$work/restarts"
			: >"$work/restarts"
			gw_up "$a" || restart_gw "$a"
		fi
		if gw_up "$a" && kill_gw "$a" "$at"; then
			echo "$(( $(now_ms) + b )) $a" >>"$work/restarts"
		fi
		last_fault=$(now_ms) ;;
	bh)
		for x in $(echo "$b" | sed 's/./& /g'); do
			if [ "$a" = on ]; then
				kill -USR1 "$(proxy_pid "$x")"
			else
				kill -USR2 "$(proxy_pid "$x")"
			fi
		done
		[ "$a" = on ] && bh_count=$((bh_count + 1))
		echo "# t=$(elapsed)s: blackhole $a, proxy $b"
		last_fault=$(now_ms) ;;
	esac
done <"$work/plan"
while [ "$(now_ms)" -lt "$T_END" ]; do
	sample_rss kz
	sample_rss fr
	sleep 0.5
done
# the faults stop: every gateway up, the proxies calm
while read -r rt rg; do
	while [ "$(now_ms)" -lt "$rt" ]; do sleep 0.1; done
	restart_gw "$rg"
done <"$work/restarts"
for g in kz fr; do gw_up $g || restart_gw $g; done
kill -HUP "$(proxy_pid A)" "$(proxy_pid B)"
touch "$bo/faults-over"
last_fault=$(now_ms)
echo "# t=$(elapsed)s: faults over ($kills kills, $restarts restarts," \
    "$bh_count blackholes); waiting for the gateways to settle"
check "$kills kills of $SOAK_KILLS planned, each gateway restarted ($restarts restarts, $inplace in place, $restarts_failed failed)" \
	[ "$kills" -ge "$SOAK_KILLS" -a "$restarts_failed" -eq 0 -a \
	  $((restarts + inplace)) -ge "$kills" ]

# ---- settling --------------------------------------------------------------
# Settled: the submitter is done, both inboxes are empty, nothing is
# queued on either side, and both list the same cases in the same states.
cases_of() {	# kz|fr FILE: "CASE STATE" of the cases with the other
	_o=FR
	[ "$1" = fr ] && _o=KZ
	# every case: list pages 1000 unless limit= says otherwise
	ctl "$1" "$bo/err.main" list partner=$_o limit=100000 || :
	[ $ctl_rc -eq 0 ] || return 1
	printf '%s\n' "$ctl_out" | awk -v o=$_o 'NR > 1 && $1 == o { print $2, $3 }' |
	    sort >"$2"
}
queued() {	# kz|fr
	_o=FR
	[ "$1" = fr ] && _o=KZ
	ctl "$1" "$bo/err.main" queues partner=$_o
	[ $ctl_rc -eq 0 ] || { echo x; return; }
	printf '%s\n' "$ctl_out" | awk -v o=$_o '$1 == o { print $3 }'
}
inbox_empty() {	# kz|fr
	ctl "$1" "$bo/err.main" -j inbox
	[ $ctl_rc -eq 0 ] && printf '%s' "$ctl_out" | grep -q '"count":0'
}
submitters_done() {
	[ "$(ls "$bo" | grep -c '^kz\.sub\.done\.')" -eq "$SOAK_WORKERS" ]
}
settled() {
	submitters_done || return 1
	[ "$(queued kz)" = 0 ] && [ "$(queued fr)" = 0 ] || return 1
	inbox_empty fr && inbox_empty kz || return 1
	cases_of kz "$work/kz.cases" && cases_of fr "$work/fr.cases" || return 1
	cmp -s "$work/kz.cases" "$work/fr.cases"
}
settle_ms=
limit=$(( $(now_ms) + SOAK_SETTLE_MAX * 1000 ))
while [ "$(now_ms)" -lt $limit ]; do
	sample_rss kz
	sample_rss fr
	if settled; then
		settle_ms=$(( $(now_ms) - last_fault ))
		break
	fi
	sleep 1
done
if [ -n "$settle_ms" ]; then
	settle_txt="$((settle_ms / 1000)).$(printf '%03d' $((settle_ms % 1000))) s"
else
	settle_txt="not settled after $SOAK_SETTLE_MAX s"
	echo "# not settled: KZ queued $(queued kz), FR queued $(queued fr)," \
	    "submitters done: $(submitters_done && echo yes || echo no)"
fi
check "the gateways settle after the last fault ($settle_txt)" [ -n "$settle_ms" ]

# ---- stop the back offices; take the stores' view ---------------------------
touch "$bo/stop"
for p in $bo_pids; do wait "$p" 2>/dev/null; done
bo_pids=
cases_of kz "$work/kz.cases"
cases_of fr "$work/fr.cases"
ctl kz "$bo/err.main" -j queues partner=FR
kzq=$ctl_out
ctl fr "$bo/err.main" -j queues partner=KZ
frq=$ctl_out
sample_rss kz
sample_rss fr

# ---- stop everything ------------------------------------------------------------
stop_rc=
for g in kz fr; do
	p=$(pid_of $g)
	kill -TERM "$p"
	wait "$p"
	stop_rc="$stop_rc $?"
	rm -f "$work/$g.pid"
done
check "both gateways stop cleanly on SIGTERM (exit$stop_rc)" \
	[ "$stop_rc" = " 0 0" ]
prc=
for x in A B; do
	p=$(proxy_pid $x)
	kill -TERM "$p"
	wait "$p"
	prc="$prc $?"
	rm -f "$work/proxy-$x.pid"
done
check "both proxies exit cleanly on SIGTERM (exit$prc)" \
	sh -c '[ "$1" = " 0 0" ] && grep -q "A: exit:" "$2" &&
	    grep -q "B: exit:" "$3"' _ "$prc" "$work/proxy-A.log" \
	    "$work/proxy-B.log"
trap - EXIT

# ---- the journals, as the auditor reads them ------------------------------------
kzj="$work/var/kz/journal"
frj="$work/var/fr/journal"
"$AUDIT" verify --cert "$work/pki/kz/sign-rsa.pem" --trust "$work/pki" \
    "$kzj" >"$work/audit-verify-kz" 2>&1
"$AUDIT" verify --cert "$work/pki/fr/sign-ec.pem" --trust "$work/pki" \
    "$frj" >"$work/audit-verify-fr" 2>&1
"$AUDIT" replay --config "$work/conf/accordd.xml" \
    --compare "$work/var/kz/store.db" "$kzj" >"$work/audit-replay-kz" 2>&1
"$AUDIT" replay --config "$work/conf/demo-fr/accordd.xml" \
    --compare "$work/var/fr/store.db" "$frj" >"$work/audit-replay-fr" 2>&1
"$AUDIT" witness "$kzj" --partner "$frj" >"$work/audit-witness-kz" 2>&1
"$AUDIT" witness "$frj" --partner "$kzj" >"$work/audit-witness-fr" 2>&1
findings() {	# FILE: the "N findings" of its verdict line (x: none)
	_f=$(sed -n 's/^[a-z]*: \([0-9]*\) finding.*/\1/p' "$1" | head -1)
	echo "${_f:-x}"
}
audit_total=0
audit_bad=0
for f in verify-kz verify-fr replay-kz replay-fr witness-kz witness-fr; do
	n=$(findings "$work/audit-$f")
	eval "af_$(echo $f | tr - _)=\$n"
	if [ "$n" = x ]; then
		audit_bad=$((audit_bad + 1))
	else
		audit_total=$((audit_total + n))
	fi
done
show_findings() {	# FILE
	grep -E '^(FINDING|finding|warning|error)|: [0-9]+ finding|record [0-9]+:' \
	    "$1" | head -8 | sed 's/^/#   /'
}
for f in verify-kz verify-fr; do
	eval "n=\$af_$(echo $f | tr - _)"
	if [ "$n" = 0 ]; then ok "accord-audit $f: 0 findings"; else
		show_findings "$work/audit-$f"; not_ok "accord-audit $f: $n findings"; fi
done
for f in replay-kz replay-fr; do
	eval "n=\$af_$(echo $f | tr - _)"
	if [ "$n" = 0 ]; then ok "accord-audit $f --compare: 0 findings (the store agrees)"; else
		show_findings "$work/audit-$f"; not_ok "accord-audit $f --compare: $n findings"; fi
done
for f in witness-kz witness-fr; do
	eval "n=\$af_$(echo $f | tr - _)"
	if [ "$n" = 0 ]; then ok "accord-audit $f: 0 findings"; else
		show_findings "$work/audit-$f"; not_ok "accord-audit $f: $n findings"; fi
done

# ---- the stores offline agree with what the daemons said ----------------------
offline_list() {	# kz|fr FILE
	_o=FR
	[ "$1" = fr ] && _o=KZ
	"$ACCORDCTL" --offline -S "$work/var/$1" list partner=$_o \
	    limit=100000 2>/dev/null |
	    awk -v o=$_o 'NR > 1 && $1 == o { print $2, $3 }' | sort >"$2"
}
offline_list kz "$work/kz.offline"
offline_list fr "$work/fr.offline"
check "accordctl --offline: both stores list what the daemons listed" \
	sh -c 'cmp -s "$1" "$2" && cmp -s "$3" "$4" && [ -s "$1" ]' _ \
	    "$work/kz.cases" "$work/kz.offline" "$work/fr.cases" "$work/fr.offline"

# ---- the counts ----------------------------------------------------------------
# per journal (replay's timelines): messages with more than one "received"
# record, and cases with more than one decision on the same event
twice() {	# REPLAY-OUTPUT → "MESSAGES DECISIONS" (and the ids in FILE.twice)
	awk '
	/^case [^ ]+ with / { c = $2; next }
	$3 == "message" && $6 == "received" { m[$5]++ }
	$3 == "decision" && match($0, /\([A-Za-z]+ (received|receipted)\)/) {
		d[c " " substr($0, RSTART + 1, RLENGTH - 2)]++
	}
	END {
		nm = 0; nd = 0
		for (k in m) if (m[k] > 1) { nm++; print "message " k " received " m[k] " times" > "/dev/stderr" }
		for (k in d) if (d[k] > 1) { nd++; print "case " k ": " d[k] " decisions" > "/dev/stderr" }
		print nm, nd
	}' "$1" 2>"$1.twice"
}
set -- $(twice "$work/audit-replay-kz")
twice_kz_m=$1 twice_kz_d=$2
set -- $(twice "$work/audit-replay-fr")
twice_fr_m=$1 twice_fr_d=$2
twice_total=$((twice_kz_m + twice_kz_d + twice_fr_m + twice_fr_d))

# the requests Kazakhstan's back office had answered, and their cases
awk '$1 == "ok" && NF >= 4 { print $4 }' "$bo/kz.sub" | sort -u >"$work/acked.cases"
awk '$1 == "ok" && NF >= 4 { print $3 }' "$bo/kz.sub" | sort -u >"$work/acked.msgs"
submitted=$(wc -l <"$work/acked.cases")
unanswered=$(grep -c '^unanswered' "$bo/kz.sub") || :
abandoned=$(grep -c '^abandoned' "$bo/kz.sub") || :
sub_errors=$(grep -c '^error' "$bo/kz.sub") || :
kz_cuts=$(wc -l <"$bo/kz.cuts" 2>/dev/null || echo 0)
fr_cuts=$(wc -l <"$bo/fr.cuts" 2>/dev/null || echo 0)
# lost: an acknowledged submit with no case at the partner, or whose
# message the partner's journal never received; and likewise at home
cut -d" " -f1 "$work/fr.cases" | sort >"$work/fr.ids"
cut -d" " -f1 "$work/kz.cases" | sort >"$work/kz.ids"
lost_fr=$(comm -23 "$work/acked.cases" "$work/fr.ids" | wc -l)
lost_kz=$(comm -23 "$work/acked.cases" "$work/kz.ids" | wc -l)
awk '$3 == "message" && $4 == "ReadmissionRequest" && $6 == "received" { print $5 }' \
    "$work/audit-replay-fr" | sort -u >"$work/fr.received"
lost_msg=$(comm -23 "$work/acked.msgs" "$work/fr.received" | wc -l)
# France's acknowledged replies that Kazakhstan's journal never received
awk '$1 == "ok" && NF >= 6 { print $5 }' "$bo/fr.rep" 2>/dev/null | sort -u \
    >"$work/replies.msgs"
awk '$3 == "message" && $4 == "ReadmissionReply" && $6 == "received" { print $5 }' \
    "$work/audit-replay-kz" | sort -u >"$work/kz.received"
lost_reply=$(comm -23 "$work/replies.msgs" "$work/kz.received" | wc -l)
replies=$(wc -l <"$work/replies.msgs")
reply_err=$(grep -c '^error' "$bo/fr.rep" 2>/dev/null) || :
reconciled=$(grep -c '^reconciled' "$bo/fr.rep" 2>/dev/null) || :
lost=$((lost_fr + lost_kz + lost_msg + lost_reply))
# cases Kazakhstan opened that its back office never had an answer for
# (unanswered cut submits that had committed)
orphans=$(comm -13 "$work/acked.cases" "$work/kz.ids" | wc -l)
# settled: the case reached a reply state, the same on both sides
join "$work/kz.cases" "$work/fr.cases" >"$work/both.cases"
settled_n=$(awk '$2 == $3 && ($2 == "ACCEPTED" || $2 == "REFUSED")' \
    "$work/both.cases" | join - "$work/acked.cases" | wc -l)
# disagreeing: another state, or a case on one side only
disagree=$(awk '$2 != $3' "$work/both.cases" | wc -l)
only=$(cut -d' ' -f1 "$work/kz.cases" "$work/fr.cases" | sort | uniq -u | wc -l)
# replies refused for good: a ReadmissionReply that Kazakhstan's journal
# refused with NOT_ALLOWED_IN_STATE and that France's store holds as
# REJECTED (no retry will follow)
awk '$3 == "message" && $4 == "ReadmissionReply" && $6 == "received" { r[$5] = 1 }
    /^case [^ ]+ with / { c = $2 }
    $3 == "refusal" && $5 ~ /^NOT_ALLOWED_IN_STATE/ && ($4 in r) { print c, $4 }' \
    "$work/audit-replay-kz" | sort -u >"$work/refused.nais"
: >"$work/refused.cases"
while read -r c m; do
	"$ACCORDCTL" --offline -j -S "$work/var/fr" status "$c" 2>/dev/null |
	    grep -q "\"message_id\":\"$m\",\"reason\":\"[^\"]*\",\"receipted\":[a-z]*,\"received_at\":\"[^\"]*\",\"state\":\"REJECTED\",\"type\":\"ReadmissionReply\"" &&
	    echo "$c $m" >>"$work/refused.cases"
done <"$work/refused.nais"
refused_good=$(wc -l <"$work/refused.cases")
refused_nais=$(wc -l <"$work/refused.nais")
awk '$2 != "ACCEPTED" && $2 != "REFUSED"' "$work/kz.cases" >"$work/open.cases"
open_n=$(wc -l <"$work/open.cases")
stuck_kz=$(printf '%s' "$kzq" | sed -n 's/.*"undelivered_or_disputed":\([0-9]*\).*/\1/p')
stuck_fr=$(printf '%s' "$frq" | sed -n 's/.*"undelivered_or_disputed":\([0-9]*\).*/\1/p')

echo "# ---- figures (seed $SOAK_SEED) ----"
echo "# cases submitted (answered submits): $submitted of $SOAK_CASES planned" \
    "(+ probe); unanswered cut submits: $unanswered; abandoned: $abandoned;" \
    "submit errors: $sub_errors; cases at KZ the back office has no answer" \
    "for: $orphans"
echo "# cut answers: $kz_cuts KZ submits, $fr_cuts FR replies" \
    "(request-id: $idem; FR replies reconciled from status: $reconciled)"
echo "# replies: $replies submitted by FR, $reply_err refused at submit;" \
    "$(wc -l <"$bo/kz.acked" 2>/dev/null || echo 0) acknowledged by KZ's back office"
echo "# cases settled (same reply state on both sides): $settled_n of $submitted;" \
    "without a reply at KZ: $open_n"
echo "# lost: $lost (no case at FR: $lost_fr, no case at KZ: $lost_kz," \
    "request not received by FR: $lost_msg, reply not received by KZ: $lost_reply)"
echo "# processed twice: $twice_total (KZ: $twice_kz_m messages received" \
    "twice, $twice_kz_d double decisions; FR: $twice_fr_m, $twice_fr_d)"
echo "# replies refused for good (REJECTED, NOT_ALLOWED_IN_STATE): $refused_good" \
    "($refused_nais NOT_ALLOWED_IN_STATE refusals of a reply at KZ)"
echo "# disagreeing cases: $disagree (plus $only on one side only)"
echo "# undelivered or disputed: KZ ${stuck_kz:-?}, FR ${stuck_fr:-?}"
echo "# audit findings: $audit_total (verify $af_verify_kz/$af_verify_fr," \
    "replay --compare $af_replay_kz/$af_replay_fr, witness" \
    "$af_witness_kz/$af_witness_fr)"
echo "# settle time after the last fault: $settle_txt"
echo "# peak RSS (VmHWM, max over restarts): KZ $rss_kz kB, FR $rss_fr kB"
for x in A B; do
	sed -n "s/^$x: exit: /# proxy $x: /p" "$work/proxy-$x.log"
done

d="every case submitted was answered ($unanswered unanswered, $abandoned abandoned, $sub_errors errors; request-id: $idem)"
if [ "$unanswered" -eq 0 ] && [ "$abandoned" -eq 0 ] && [ "$sub_errors" -eq 0 ]
then
	ok "$d"
elif [ $idem = no ] && [ "$abandoned" -eq 0 ] && [ "$sub_errors" -eq 0 ]; then
	# without request-id a cut submit cannot be retried: expected
	tap_n=$((tap_n + 1))
	echo "not ok $tap_n - $d # TODO request-id not supported: cut submits are not retried"
else
	not_ok "$d"
fi
check "no case lost ($lost)" [ "$lost" -eq 0 ]
[ -s "$work/audit-replay-kz.twice" ] && sed 's/^/#   KZ: /' "$work/audit-replay-kz.twice" | head -5
[ -s "$work/audit-replay-fr.twice" ] && sed 's/^/#   FR: /' "$work/audit-replay-fr.twice" | head -5
check "no message processed twice ($twice_total)" [ "$twice_total" -eq 0 ]
[ -s "$work/refused.cases" ] && head -5 "$work/refused.cases" | sed 's/^/#   refused for good: /'
check "no reply refused for good ($refused_good)" [ "$refused_good" -eq 0 ]
if [ "$disagree" -ne 0 ] || [ "$only" -ne 0 ]; then
	awk '$2 != $3' "$work/both.cases" | head -5 | sed 's/^/#   KZ vs FR: /'
fi
check "both gateways agree on every case ($disagree disagree, $only on one side)" \
	[ "$disagree" -eq 0 -a "$only" -eq 0 ]
check "every case submitted settled with a reply on both sides ($settled_n of $submitted)" \
	[ "$settled_n" -eq "$submitted" ]
check "nothing undelivered or disputed (KZ ${stuck_kz:-?}, FR ${stuck_fr:-?})" \
	[ "${stuck_kz:-1}" -eq 0 -a "${stuck_fr:-1}" -eq 0 ]

if [ "$tap_failed" -ne 0 ] || [ "${SOAK_KEEP:-0}" = 1 ]; then
	echo "# work directory (kept): $work"
	[ "$tap_failed" -eq 0 ]
	exit
fi
finish
