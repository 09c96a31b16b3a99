# accordd -n, -V and the command line: the shipped configuration checks
# clean; a broken agreement is named with file and line and exits 1.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
plan 11
make_workdir check

out=$("$ACCORDD" -n -c "$work/conf/accordd.xml" 2>&1); rc=$?
check "accordd -n exits 0 on the shipped configuration" [ $rc -eq 0 ]
check "accordd -n prints 'configuration OK'" \
	sh -c 'printf "%s\n" "$1" | grep -qx "configuration OK"' _ "$out"
n=$(printf '%s\n' "$out" | grep -c '^partner ')
check "one summary line per partner ($n)" [ "$n" -ge 21 ]
check "the summary names France's agreement" \
	sh -c 'printf "%s\n" "$1" | grep -q "^partner FR KZ-FR-READMISSION-1"' _ "$out"

check "no disk-space warning on an empty state directory" \
	sh -c '! printf "%s\n" "$1" | grep -q "days at the last"' _ "$out"
# a journal written at 2 TB a week (a sparse file: no disk used) leaves
# the disk less than 30 days
mkdir -p "$work/var/kz/journal"
truncate -s 2T "$work/var/kz/journal/journal-000001.log"
out=$("$ACCORDD" -n -c "$work/conf/accordd.xml" 2>&1); rc=$?
rm -f "$work/var/kz/journal/journal-000001.log"
check "accordd -n warns when the journal's disk lasts under 30 days" \
	sh -c '[ $1 -eq 0 ] && printf "%s\n" "$2" | grep -q "^warning: .*journal: .* GB free .* days at the last 7 days. rate"' _ $rc "$out"

sed -i 's|<standard-reply-days>25</standard-reply-days>|<standard-reply-days>0</standard-reply-days>|' \
	"$work/conf/partners/fr.xml"
line=$(grep -n '<standard-reply-days>' "$work/conf/partners/fr.xml" | cut -d: -f1)
out=$("$ACCORDD" -n -c "$work/conf/accordd.xml" 2>&1); rc=$?
check "a broken agreement makes accordd -n exit 1" [ $rc -eq 1 ]
check "the error names the file and line (fr.xml:$line)" \
	sh -c 'printf "%s\n" "$1" | grep -q "partners/fr.xml:$2: .*standard-reply-days"' _ "$out" "$line"
check "no 'configuration OK' on errors" \
	sh -c '! printf "%s\n" "$1" | grep -q "configuration OK"' _ "$out"

out=$("$ACCORDD" -V); rc=$?
check "accordd -V prints the version" \
	sh -c '[ $1 -eq 0 ] && printf "%s\n" "$2" | grep -q "^accordd [0-9]"' _ $rc "$out"
"$ACCORDD" -x >/dev/null 2>&1; rc=$?
check "an unknown option exits 2 with usage" [ $rc -eq 2 ]
finish
