# The control socket: greeting, commands, errors for bad requests, the
# socket's mode, and roles from the caller's groups (SO_PEERCRED).
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 18
make_workdir control
log="$work/accordd.log"
sock="$work/run/kz/control.sock"
use_system_groups

"$ACCORDD" -d -c "$work/conf/accordd.xml" >"$log" 2>&1 &
pid=$!
wait_for "$log" "started:" || { cat "$log"; }
ctl() { "$ACCORDCTL" -s "$sock" "$@"; }

check "the socket is mode 0660, group daemon" \
	sh -c '[ "$(stat -c %a:%G "$1")" = "660:daemon" ]' _ "$sock"
out=$(printf '' | ctl -r)
check "the greeting names the protocol and version" \
	sh -c 'printf "%s" "$1" | grep -q "\"hello\":\"accord-control\".*\"version\":1" ||
	       printf "%s" "$1" | grep -q "\"version\":1.*\"hello\":\"accord-control\""' _ "$out"
out=$(ctl ping)
check "ping answers with the gateway and roles" \
	sh -c 'printf "%s" "$1" | grep -q "\"roles\": \"read,submit,admin\""' _ "$out"
out=$(ctl help)
check "help lists partners and reload" \
	sh -c 'printf "%s" "$1" | grep -q "^partners" && printf "%s" "$1" | grep -q "^reload"' _ "$out"
n=$(ctl partners | grep -c '^[A-Z][A-Z] ')
check "partners lists every agreement ($n)" [ "$n" -ge 21 ]

out=$(ctl nosuchcommand 2>&1); rc=$?
check "an unknown command is an error" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "UNKNOWN_COMMAND"' _ $rc "$out"
out=$(echo '{"cmd": "ping"' | ctl -r); rc=$?
check "malformed JSON gets BAD_REQUEST" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "\"code\":\"BAD_REQUEST\""' _ $rc "$out"
out=$(echo '[1,2]' | ctl -r)
check "a non-object gets BAD_REQUEST" \
	sh -c 'printf "%s" "$1" | grep -q "BAD_REQUEST"' _ "$out"
out=$(echo '{"args": {}}' | ctl -r)
check "a request without cmd gets BAD_REQUEST" \
	sh -c 'printf "%s" "$1" | grep -q "has no \\\\\"cmd\\\\\" string"' _ "$out"
out=$(echo '{"cmd": "ping", "args": 5}' | ctl -r)
check "non-object args get BAD_REQUEST" \
	sh -c 'printf "%s" "$1" | grep -q "must be an object"' _ "$out"
out=$(echo '{"cmd": "ping", "id": 42}' | ctl -r)
check "the request id is echoed" \
	sh -c 'printf "%s" "$1" | grep -q "\"id\":42"' _ "$out"
out=$(printf '{"cmd":"ping"}\n{"cmd":"help"}\n' | ctl -r | wc -l)
check "one response per request line, in order" [ "$out" -eq 3 ]

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	as() { setpriv --reuid=65534 --regid="$1" --groups="$2" -- "$ACCORDCTL" -s "$sock" "$3"; }
	out=$(as daemon bin partners 2>&1); rc=$?
	check "a read-role caller (group bin) may list partners" [ $rc -eq 0 ]
	out=$(as daemon bin reload 2>&1); rc=$?
	check "a read-role caller may not reload: FORBIDDEN with its uid" \
		sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "FORBIDDEN.*needs the admin role; uid 65534 has read"' _ $rc "$out"
	check "the refusal is logged with the uid" \
		wait_for "$log" "refused: 'reload' needs the admin role; uid 65534"
	out=$(as daemon adm reload 2>&1); rc=$?
	check "an admin-role caller (group adm) may reload" \
		sh -c '[ $1 -eq 0 ] && printf "%s" "$2" | grep -q "configuration reloaded"' _ $rc "$out"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ACCORDCTL" -s "$sock" ping 2>&1); rc=$?
	check "a caller outside the socket group cannot connect" \
		sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "Permission denied"' _ $rc "$out"
else
	for i in 1 2 3 4 5; do ok "# SKIP role checks need root and setpriv"; done
fi

kill -TERM $pid
wait_gone $pid 10
check "the socket file is removed at shutdown" [ ! -e "$sock" ]
finish
