# accordctl's habits (issue 17): what a command does not take is a usage
# error (exit 2, with the usage), online and --offline; help COMMAND;
# list by next deadline with the time left, paged in that order; reload
# answers with the configuration's errors; the bash completion.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 25
make_workdir accordctl
SEED="$ACCORD_BUILDDIR/tests/helpers/seed_cases"
log="$work/accordd.log"
sock="$work/run/kz/control.sock"
conf="$work/conf/accordd.xml"
ctl() { "$ACCORDCTL" -s "$sock" "$@"; }
has() { printf '%s\n' "$1" | grep -q -- "$2"; }
rc_has() { [ "$1" -eq "$2" ] && has "$3" "$4"; }

"$SEED" "$work" >"$work/seed.out" 2>"$work/seed.err" || cat "$work/seed.err"
"$ACCORDD" -d -c "$conf" >"$log" 2>&1 &
pid=$!
wait_for "$log" "started: KZ/MVD" || cat "$log"

# ---- usage errors ---------------------------------------------------------
out=$(ctl list --overdu 2>&1); rc=$?
check "list --overdu: exit 2, the unknown flag named, the usage" \
	sh -c '[ $1 -eq 2 ] && printf "%s" "$2" | grep -q "does not take --overdu" &&
	       printf "%s" "$2" | grep -q "^usage: accordctl list \[state=S\]"' _ $rc "$out"
out=$(ctl list foo=bar 2>&1); rc=$?
check "list foo=bar: exit 2" rc_has $rc 2 "$out" "list does not take foo="
out=$(ctl list extra 2>&1); rc=$?
check "list with a positional argument: exit 2" rc_has $rc 2 "$out" "'extra' is one too many"
out=$(ctl status "$(awk '$1 == "accepted" {print $2}' "$work/seed.out")" more 2>&1); rc=$?
check "status CASE more: exit 2" rc_has $rc 2 "$out" "usage: accordctl status CASE"
out=$(ctl ping --verbose 2>&1); rc=$?
check "the daemon's own commands too: ping --verbose" rc_has $rc 2 "$out" "usage: accordctl ping"
out=$(ctl pause FR colour=red 2>&1); rc=$?
check "and the case commands: pause FR colour=red changes nothing" \
	sh -c '[ $1 -eq 2 ] && ! "$2" -s "$3" queues | grep -q "paused"' _ $rc "$ACCORDCTL" "$sock"
out=$(ctl list partner 2>&1); rc=$?
check "list partner (no =value) is a positional argument: refused" rc_has $rc 2 "$out" "one too many"
out=$(echo '{"cmd":"stats","args":{"cvs":true}}' | ctl -r); rc=$?
check "the protocol: BAD_REQUEST with the usage in the error" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "\"code\":\"BAD_REQUEST\"" &&
	       printf "%s" "$2" | grep -q "\"usage\":\"usage: accordctl stats \[partner=CC\]"' _ $rc "$out"
out=$(ctl list --overdue partner=FR limit=5)
check "what a command declares still passes" has "$out" "^0 cases"

# ---- help COMMAND -----------------------------------------------------------
out=$(ctl help list); rc=$?
check "help list: the usage line and the description" \
	sh -c '[ $1 -eq 0 ] && printf "%s" "$2" | grep -q "^usage: accordctl list \[state=S\].*\[after=DUE/CC/CASE\]$" &&
	       printf "%s" "$2" | grep -q "the next deadline first" &&
	       [ $(printf "%s\n" "$2" | grep -c "^usage:") -eq 1 ]' _ $rc "$out"
out=$(ctl help nosuch 2>&1); rc=$?
check "help of no command: UNKNOWN_COMMAND" rc_has $rc 1 "$out" "UNKNOWN_COMMAND"

# ---- list: by next deadline, the time left, pages -----------------------------
rows() { grep '^[A-Z][A-Z] ' | grep -v '^CC CASE'; }
all=$(ctl list | rows)
check "list: the next deadline first, cases without one last" \
	sh -c 'printf "%s\n" "$1" | awk "{ print (\$5 == \"-\" ? \"~\" : \$5) }" | sort -c' _ "$all"
check "list: cases without a deadline are ordered by case id" \
	sh -c 'printf "%s\n" "$1" | awk "\$5 == \"-\" { print \$1, \$2 }" | sort -c' _ "$all"
check "list says the time left: due in Nd Nh" \
	sh -c 'printf "%s\n" "$1" | grep -q " due in [0-9]*d [0-9]*h$"' _ "$all"
n=$(printf '%s\n' "$all" | wc -l)
pages=""
after=""
while :; do
	page=$(ctl list limit=2 ${after:+after="$after"})
	pages="$pages$(printf '%s\n' "$page" | rows)
"
	after=$(printf '%s\n' "$page" | sed -n 's/^(more: add after=\(.*\))$/\1/p')
	[ -n "$after" ] || break
done
check "pages of two follow the new order: every case once ($n)" \
	sh -c '[ "$(printf "%s" "$1" | sed "/^$/d")" = "$2" ]' _ "$pages" "$all"
third=$(printf '%s\n' "$all" | sed -n 3p | awk '{ print $1 "/" $2 }')
rest=$(ctl list after="$third" | rows)
check "after=CC/CASE (the old form) starts after that case" \
	sh -c '[ "$1" = "$(printf "%s\n" "$2" | sed 1,3d)" ]' _ "$rest" "$all"
out=$(ctl list after=nonsense 2>&1); rc=$?
check "after= neither form is refused" rc_has $rc 1 "$out" "BAD_REQUEST"

# ---- reload: the errors in the answer ---------------------------------------
cp "$conf" "$work/accordd.xml.good"
sed -i 's|<state-directory>|<no-such-element/><state-directory>|' "$conf"
out=$(ctl reload 2>&1); rc=$?
check "reload of a bad file: CONFIG_INVALID with each error line, as accordd -n" \
	sh -c '[ $1 -eq 1 ] && printf "%s" "$2" | grep -q "CONFIG_INVALID" &&
	       printf "%s" "$2" | grep -q "^error: .*accordd.xml:[0-9]*: .*no-such-element" &&
	       ! printf "%s" "$2" | grep -q "see the log"' _ $rc "$out"
check "... the same error lines accordd -n prints" \
	sh -c '"$1" -n -c "$2" 2>&1 | grep "^error: " >"$4.n";
	       printf "%s\n" "$3" | grep "^error: " | cmp -s - "$4.n"' _ "$ACCORDD" "$conf" "$out" "$work/errs"
cp "$work/accordd.xml.good" "$conf"
out=$(ctl reload 2>&1); rc=$?
check "reload of the good file again" rc_has $rc 0 "$out" "configuration reloaded"

# ---- bash completion ------------------------------------------------------------
comp() {	# comp WORD...: COMPREPLY for the line "accordctl -s SOCK WORD..."
	bash -c '. "$1/contrib/accordctl.bash-completion"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_accordctl; printf "%s\n" "${COMPREPLY[@]}"' _ \
	    "$ACCORD_SRCDIR" "$ACCORDCTL" -s "$sock" "$@"
}
check "completion: st completes to the commands status and stats" \
	sh -c '[ "$(printf "%s\n" "$1" | sort | tr "\n" " ")" = "stats status " ]' _ "$(comp st)"
case1=$(printf '%s\n' "$all" | awk 'NR == 1 { print $2 }')
check "completion: status completes case ids ($case1)" \
	sh -c 'printf "%s\n" "$1" | grep -qx "$2"' _ "$(comp status "$(printf %s "$case1" | cut -c1-8)")" "$case1"
check "completion: pause completes partner codes" \
	sh -c 'printf "%s\n" "$1" | grep -qx FR' _ "$(comp pause F)"
check "completion: list --o completes the flag --overdue" \
	sh -c '[ "$1" = "--overdue" ]' _ "$(comp list --o)"

kill -TERM $pid
wait_gone $pid 10
out=$("$ACCORDCTL" -c "$conf" --offline list --overdu 2>&1); rc=$?
check "--offline refuses what the command does not take, with the usage" \
	sh -c '[ $1 -eq 2 ] && printf "%s" "$2" | grep -q "does not take --overdu" &&
	       printf "%s" "$2" | grep -q "^usage: accordctl list"' _ $rc "$out"
finish
