#!/bin/sh
# parser.sh -- the parser process (issue 16, item 1): Kazakhstan's gateway
# with <user name="nobody" signer="bin" parser="daemon"/> reads partner
# XML in a parser process of its own uid (daemon, not the engine's nobody
# nor the signer's bin: three uids), NoNewPrivs,
# under seccomp; the parser can neither open the signing key nor reach
# the signer (its probe); the engine reads no partner XML itself (in test
# builds it would abort), not even to show a stored one (inbox --body);
# a parser killed mid-request gets the partner a 503 and a new parser
# takes the retry, and accord_parser_deaths_total counts it; while a
# parser reads, the engine (its reader thread waits) still answers ping,
# and the connection of a message held past its deadline stays open for
# the answer; the partner's receipts of our messages are read off the
# loop too; a
# reload starts a new parser; a partner's refusal is
# journalled with its grounds as the parser read them, which the store
# counts without reading the XML.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1 ||
    ! id daemon >/dev/null 2>&1 || ! id bin >/dev/null 2>&1; then
	echo "1..0 # SKIP needs root and the users nobody, daemon and bin"
	exit 0
fi
if ! grep -q '^#define ACCORD_TEST_CLOCK 1' "$ACCORD_BUILDDIR/accord-build.h" \
    2>/dev/null; then
	echo "1..0 # SKIP needs a build with --enable-test-clock (its hooks)"
	exit 0
fi
plan 29
make_workdir parser
use_system_groups
# the engine re-opens journal segments by path (inbox --body): as under
# /var/lib, <user> may pass through the state directory's parent
mkdir -p "$work/var" && chmod 755 "$work/var"
kzlog="$work/kz.log"
frlog="$work/fr.log"
nobody=$(id -u nobody)
daemon=$(id -u daemon)
bin=$(id -u bin)
sed -i 's|</state-directory>|</state-directory>\n  <user name="nobody" signer="bin" parser="daemon"/>|' \
    "$work/conf/accordd.xml"
# uid_of PID: the real, effective, saved and file-system uids
uid_of() { awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"; }
parser_of() {
	sed -n 's/.*parser: reading partner messages as daemon, pid \([0-9]*\).*/\1/p' \
	    "$kzlog" | tail -1
}

# a connection's deadline of 3 s (30 in production), which a message
# held by a busy parser outlasts below
ACCORD_TEST_PARSER_PROBE=1 ACCORD_TEST_PARSER_SLEEP=1 \
    ACCORD_TEST_INBOUND_DEADLINE=3 \
    "$ACCORDD" -d -c "$work/conf/accordd.xml" >>"$kzlog" 2>&1 &
kzpid=$!
wait_for "$kzlog" "started: KZ/MVD" || cat "$kzlog"
"$ACCORDD" -d -c "$work/conf/demo-fr/accordd.xml" >>"$frlog" 2>&1 &
frpid=$!
wait_for "$frlog" "started: FR/DGEF" || cat "$frlog"
wait_for "$kzlog" "probe: the parser's descriptors" 10
engine=$(sed -n 's/.*privilege separation: engine pid \([0-9]*\),.*/\1/p' \
    "$kzlog")
parser=$(parser_of)
check "the parent names its parser ($parser), a child of its own" \
	sh -c '[ -n "$1" ] && [ "$(awk "/^PPid:/ {print \$2}" \
	    /proc/$1/status)" = "$2" ]' _ "$parser" "$kzpid"
check "the parser runs as daemon, the engine as nobody" \
	[ "$(uid_of $parser)/$(uid_of $engine)" = \
	    "$daemon $daemon $daemon $daemon/$nobody $nobody $nobody $nobody" ]
check "the parser: NoNewPrivs 1, Seccomp 2, no capabilities" \
	sh -c 'grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$1/status &&
	    grep -q "^Seccomp:[[:space:]]*2" /proc/$1/status &&
	    awk "/^CapEff:/ {print \$2}" /proc/$1/status | grep -q "^0*$"' \
	    _ "$parser"
check "the parser cannot open the signing key (its probe)" \
	grep -q "probe: the parser cannot open the signing key: Permission denied" \
	    "$kzlog"
check "the parser cannot open a socket to reach the signer (its probe)" \
	grep -q "probe: the parser cannot open a socket to ask the signer: Permission denied" \
	    "$kzlog"
signer=$(sed -n 's/.*signer pid \([0-9]*\), as .*/\1/p' "$kzlog")
check "the signer runs as bin: engine, signer and parser, three uids" \
	[ "$(uid_of $signer)/$(uid_of $engine)/$(uid_of $parser)" = \
	    "$bin $bin $bin $bin/$nobody $nobody $nobody $nobody/$daemon $daemon $daemon $daemon" ]
check "... as the signer and the parent say" \
	sh -c 'grep -q "info: signer: signing for KZ/MVD as bin" "$1" &&
	    grep -q "as nobody and bin; parser pid [0-9]* as daemon" "$1"' _ \
	    "$kzlog"
# socket inodes a process holds
socks_of() { ls -l "/proc/$1/fd" | grep -o 'socket:\[[0-9]*\]' | sort -u; }
socks_of "$parser" >"$work/parser.socks"
{ socks_of "$engine"; socks_of "$signer"; } >"$work/others.socks"
check "the parser holds one socket, its own end: none of the engine's or the signer's" \
	sh -c '[ "$(wc -l <"$1")" -eq 1 ] && ! grep -qxFf "$1" "$2"' _ \
	    "$work/parser.socks" "$work/others.socks"

# every system call of the parser while it serves, for the check below
strace -f -p "$parser" -o "$work/parser.strace" 2>/dev/null &
stracepid=$!
sleep 1
body ReadmissionRequest >"$work/rr.xml"
out=$(fr submit KZ document=@"$work/rr.xml" 2>&1)
case1=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "France's request is receipted: the parser read it" \
	wait_cmd 15 "out ReadmissionRequest *RECEIPTED" fr status "$case1"
check "the engine read no partner XML itself (and is alive)" \
	sh -c '! grep -q "must not read partner XML" "$1" && kill -0 $2' \
	    _ "$kzlog" "$engine"

# The operator's view of a stored partner message: read by the parser.
out=$(kz inbox --body 2>&1)
check "inbox --body: the parser masks the stored message for the engine" \
	sh -c 'printf "%s" "$1" | grep -q "<Surname>\*\*\*</Surname>" &&
	    ! printf "%s" "$1" | grep -q "Nurlanov\|unreadable" && kill -0 $2' \
	    _ "$out" "$engine"
out=$(kz inbox --reveal 2>&1)
check "inbox --reveal (root): the parser returns it unmasked" \
	sh -c 'printf "%s" "$1" | grep -q "<Surname>Nurlanov</Surname>" &&
	    kill -0 $2' _ "$out" "$engine"

kill $stracepid
wait $stracepid
check "serving, the parser only reads and writes: its filter refused nothing (strace)" \
	sh -c 'grep -Eq "^[0-9]+ +read\(" "$1" && ! grep -q "EACCES" "$1" &&
	    ! grep -Eq "^[0-9]+ +(open|openat|socket|connect|execve)\(" "$1"' \
	    _ "$work/parser.strace"

check "no parser died yet: accord_parser_deaths_total 0" \
	sh -c '"$1" -s "$2" metrics | grep -q "^accord_parser_deaths_total 0$"' \
	    _ "$ACCORDCTL" "$work/run/kz/control.sock"
# A message with the test marker keeps the parser busy: killed there.
sed 's|<ReadmissionRequest \([^>]*\)>|&<!-- accord-test-parser-sleep -->|' \
    "$work/rr.xml" >"$work/rr-sleep.xml"
out=$(fr submit KZ document=@"$work/rr-sleep.xml" 2>&1)
case2=$(printf '%s' "$out" | sed -n 's/.*case //p')
wait_for "$kzlog" "test: sleeping on the marker" 15
# the parser reads on the engine's reader thread: the loop goes on
check "while the parser is busy on a message, the engine answers ping" \
	timeout 5 "$ACCORDCTL" -s "$work/run/kz/control.sock" ping
# longer than the connection's deadline: a request read whole is ours to
# answer, and its connection stays open until the answer
sleep 5
kill -KILL "$parser"
check "the parser killed mid-request, past the deadline: France gets a 503" \
	wait_for "$frlog" "attempt 1 failed: HTTP 503" 15
check "... the parent logs and counts the death" \
	grep -q "the parser died (signal 9; 1 so far)" "$kzlog"
check "... which the engine's metrics show: accord_parser_deaths_total 1" \
	sh -c '"$1" -s "$2" metrics | grep -q "^accord_parser_deaths_total 1$"' \
	    _ "$ACCORDCTL" "$work/run/kz/control.sock"
check "... and starts another parser" \
	sh -c 'wait_p() { i=0; while [ $i -lt 100 ]; do
	    p=$(sed -n "s/.*reading partner messages as daemon, pid \([0-9]*\).*/\1/p" "$1" | tail -1)
	    [ -n "$p" ] && [ "$p" != "$2" ] && kill -0 "$p" && return 0
	    sleep 0.1; i=$((i + 1)); done; return 1; }; wait_p "$1" "$2"' \
	    _ "$kzlog" "$parser"
check "France's retry is receipted by the new parser" \
	wait_cmd 30 "out ReadmissionRequest *RECEIPTED" fr status "$case2"
check "the engine lived through it" kill -0 "$engine"

parser=$(parser_of)
socks_of "$parser" >"$work/parser2.socks"
{ socks_of "$engine"; socks_of "$signer"; } >"$work/others2.socks"
check "the parser started again holds one socket too: not the parent's channel to the engine" \
	sh -c '[ "$(wc -l <"$1")" -eq 1 ] && ! grep -qxFf "$1" "$2"' _ \
	    "$work/parser2.socks" "$work/others2.socks"
out=$(kz reload 2>&1); rc=$?
# the old parser's last line comes when it has ended, after the answer
ended=1
[ $rc -eq 0 ] && wait_for "$kzlog" "the parser ended for a reload" 20 &&
    ended=0
check "a reload starts a parser of the new configuration ($out)" \
	[ $ended -eq 0 ]
body ReadmissionRequest >"$work/rr3.xml"
out=$(fr submit KZ document=@"$work/rr3.xml" 2>&1)
case3=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "... which reads the next message" \
	wait_cmd 15 "out ReadmissionRequest *RECEIPTED" fr status "$case3"

# France refuses Kazakhstan's request: the grounds come in the model.
cat >"$work/refused.xml" <<'EOF2'
<ReadmissionReply xmlns="urn:accord:msg:1"><Refused><Ground>NotOwnNational</Ground><Ground>Other</Ground><Text>Not in the register.</Text></Refused></ReadmissionReply>
EOF2
out=$(kz submit FR document=@"$work/rr.xml" 2>&1)
case4=$(printf '%s' "$out" | sed -n 's/.*case //p')
wait_cmd 15 "PENDING_REPLY" fr status "$case4" >/dev/null
check "Kazakhstan takes France's receipt of its request" \
	wait_cmd 15 "out ReadmissionRequest *RECEIPTED" kz status "$case4"
check "... read by its parser on the outbound reader thread" \
	grep -q "answers to our messages are read by the parser process" \
	    "$kzlog"
fr submit KZ document=@"$work/refused.xml" case="$case4" >/dev/null 2>&1
check "France's refusal reaches the engine ($case4)" \
	wait_cmd 15 ": REFUSED " kz status "$case4"
check "... journalled with its grounds, which the stats count" \
	sh -c 'grep -aq "\"grounds\":\[\"NotOwnNational\",\"Other\"\]" \
	    "$1"/var/kz/journal/* && "$2" -s "$1/run/kz/control.sock" stats |
	    grep -q "NotOwnNational"' _ "$work" "$ACCORDCTL"

kill -TERM $kzpid
wait_gone $kzpid 10
wait $kzpid; rc=$?
check "SIGTERM stops the tree, the parser with it (status $rc)" \
	sh -c '[ $1 -eq 0 ] && ! kill -0 $2 2>/dev/null' _ $rc "$(parser_of)"
kill -TERM $frpid
wait_gone $frpid 10
finish
