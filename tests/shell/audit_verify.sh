#!/bin/sh
# audit_verify.sh -- accord-audit verify reports every break, not only the
# first (issue 18): after a damaged record, garbage, a missing, extra or
# reordered file it reads on and checks the records after, naming each
# finding's file, offset and record; and every command's report as text,
# JSON and a page, the pages rendered by headless Chromium.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
GEN="$ACCORD_BUILDDIR/tests/helpers/audit_gen"
TAMPER="$ACCORD_BUILDDIR/tests/helpers/audit_tamper"

plan 47
make_workdir audit_verify
mkdir -p "$work/var/kz" "$work/var/fr"
KZJ="$work/var/kz/journal"
FRJ="$work/var/fr/journal"
KZCERT="$work/pki/kz/sign-rsa.pem"
KZKEY="$work/pki/kz/sign-rsa.key"
out="$work/out"

check "two gateways exchange messages (audit_gen)" "$GEN" "$work"
refused=$(awk '$1 == "refused" { print $2 }' "$work/cases.txt")

audit() {
	"$AUDIT" "$@" >"$out" 2>&1
	st=$?
}
expect() {
	if [ "$st" -eq "$1" ] && grep -Eq -- "$2" "$out"; then
		ok "$3"
	else
		sed 's/^/# /' "$out" | head -30
		not_ok "$3 (exit $st)"
	fi
}
# summary KEY: the value of KEY in the last text report's summary.
summary() {
	awk -v k="$1" '$1 == k { print $2 }' "$out"
}
# is WHAT GOT WANT: a number as expected.
is() {
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else not_ok "$1: $2, not $3"; fi
}
copy_kz() {
	rm -rf "$work/j"
	cp -R "$KZJ" "$work/j"
}
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# heads FILE: the offsets of FILE's records (the magic of each header).
heads() {
	grep -abo AJRN "$1" | cut -d: -f1
}

# Chromium refuses to run as root without --no-sandbox (tests run as root
# in containers and CI); the pages have no script and nothing external,
# so there is nothing for a sandbox to hold.
CHROMIUM=$(command -v chromium || command -v chromium-browser)
# render PAGE: the page as Chromium renders it at 1024 pixels, as text,
# into $work/rendered.
render() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --window-size=1024,768 --dump-dom "file://$1" 2>/dev/null |
	    sed -e 's/<[^>]*>/ /g' -e 's/&lt;/</g' -e 's/&gt;/>/g' \
	    -e 's/&amp;/\&/g' -e 's/  */ /g' >"$work/rendered"
}
# rendered DESC PATTERN...: the rendered text matches every pattern.
rendered() {
	d="$1"
	shift
	for p in "$@"; do
		if ! grep -Eq -- "$p" "$work/rendered"; then
			head -c 3000 "$work/rendered" | sed 's/^/# /'
			not_ok "$d (no \"$p\")"
			return
		fi
	done
	ok "$d"
}
# width PAGE: how wide the page lays out in a 1024 pixel window (a copy
# with a script that writes it; the page itself has none).
width() {
	sed 's|</body>|<script>document.title="w="+document.documentElement.scrollWidth</script></body>|' \
	    "$1" >"$work/w.html"
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --window-size=1024,768 --dump-dom "file://$work/w.html" \
	    2>/dev/null | sed -n 's/.*<title>w=\([0-9]*\)<.*/\1/p'
}

audit verify --cert "$KZCERT" "$KZJ"
expect 0 "verify: 0 findings" "the genuine journal verifies"
total=$(summary records)
n3=$(heads "$KZJ/journal-000003.log" | wc -l)
is "every record was read, one header each" "$(cat "$KZJ"/journal-*.log |
    grep -abo AJRN | wc -l)" "$total"

# ---- a flipped byte in file 1 and file 3 deleted ----------------------------
copy_kz
f1="$work/j/journal-000001.log"
o5=$(heads "$f1" | sed -n 5p)
o6=$(heads "$f1" | sed -n 6p)
flip "$f1" $((o5 + 100))
rm "$work/j/journal-000003.log"
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-000001.log: offset $o5: record 5: journal broken: record hash does not match; read on at [^ ]*journal-000001.log offset $o6\$" \
    "the flipped byte is located (file, offset, record) and reading goes on at the next record"
expect 1 "journal-000004.log: offset 0: record [0-9]+: journal broken: missing file journal-000003.log" \
    "... and the deleted file 3 is named too"
is "records checked: all but the damaged one and file 3's" \
    "$(summary records)" $((total - 1 - n3))
is "files read" "$(summary files_read)" 4
# record 5 is a message: the decision and the receipt on it name what the
# break took, after it
expect 1 "journal-000001.log: offset $o6: record 6: decision on case .* is not journalled before it" \
    "the records after the break are checked: the decision on the lost message"
expect 1 "findings_by_kind +record 1, decision 1, receipt 1, missing_file 1" \
    "the summary counts the findings by kind"
expect 1 "verify: 4 findings" "four findings, no more"
expect 1 "^  resynchronisations +[1-9]" "the summary says reading resynchronised"
expect 1 "checkpoints_verified +[1-9]" "checkpoints after the breaks are verified"

audit verify --json --cert "$KZCERT" "$work/j"
expect 1 '"kind": "missing_file"' "verify --json: a finding's kind"
expect 1 "\"offset\": $o5," "verify --json: the damaged record's offset"
expect 1 "\"records\": $((total - 1 - n3))," "verify --json: records checked"
expect 1 '"read_on_offset": '"$o6" "verify --json: where reading went on"
expect 1 '"missing_file": 1' "verify --json: findings by kind"

audit verify --cert "$KZCERT" --html "$work/verify.html" "$work/j"
if [ -n "$CHROMIUM" ]; then ok "chromium is installed ($CHROMIUM)"; else not_ok "chromium is not installed (quickstart installs it)"; fi
render "$work/verify.html"
rendered "verify.html rendered: verdict and summary" "Verdict: 4 findings" \
    "Summary" "records $((total - 1 - n3))" "findings_by_kind"
rendered "verify.html rendered: the findings with file, offset and record" \
    "record [^ ]*journal-000001.log $o5 5 journal broken: record hash does not match" \
    "missing_file [^ ]*journal-000004.log 0 [0-9]+ journal broken: missing file journal-000003.log"
w=$(width "$work/verify.html")
if [ -n "$w" ] && [ "$w" -le 1024 ]; then ok "verify.html fits 1024 pixels ($w)"; else not_ok "verify.html is $w pixels wide"; fi
if grep -Eq '<script|<link|src=|@import|url\(' "$work/verify.html"; then not_ok "verify.html fetches or runs something"; else ok "verify.html is self-contained"; fi

# ---- garbage in the middle of a file ---------------------------------------
copy_kz
f2="$work/j/journal-000002.log"
o=$(heads "$f2" | sed -n 4p)
r=$(( $(heads "$KZJ/journal-000001.log" | wc -l) + 4 ))
printf 'AJRN\000\001\000\005garbage that begins like a header' >"$work/junk"
glen=$(wc -c <"$work/junk")
{ head -c "$o" "$KZJ/journal-000002.log"; cat "$work/junk"
  tail -c +$((o + 1)) "$KZJ/journal-000002.log"; } >"$f2"
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-000002.log: offset $o: record $r: journal broken: .*; read on at [^ ]*journal-000002.log offset $((o + glen))\$" \
    "garbage between records: located, and reading goes on after it"
is "garbage: every record still checked" "$(summary records)" "$total"
expect 1 "verify: 1 finding" "garbage: one finding"

# ---- a truncated record in an earlier file ------------------------------------
copy_kz
sz=$(wc -c <"$work/j/journal-000002.log")
truncate -s $((sz - 100)) "$work/j/journal-000002.log"
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-000002.log: offset [0-9]+: record [0-9]+: journal broken: incomplete record.*read on at [^ ]*journal-000003.log offset 0" \
    "a truncated file: reading goes on at the next file"
is "truncated: the rest is checked" "$(summary records)" $((total - 1))

# ---- a file that cannot be read -------------------------------------------
copy_kz
rm "$work/j/journal-000003.log"
mkdir "$work/j/journal-000003.log"
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-000003.log: offset 0: record [0-9]+: journal broken: cannot read.*read on at [^ ]*journal-000004.log offset 0" \
    "an unreadable file: named, and reading goes on at the next"
is "unreadable: the other files are checked" "$(summary records)" $((total - n3))

# ---- extra and reordered files, and archive/ ---------------------------------
copy_kz
mv "$work/j/journal-000002.log" "$work/j/x"
mv "$work/j/journal-000003.log" "$work/j/journal-000002.log"
mv "$work/j/x" "$work/j/journal-000003.log"
cp "$work/j/journal-000004.log" "$work/j/journal-000004.log.orig"
touch "$work/j/journal-7.log"
mkdir "$work/j/archive"
mv "$work/j/journal-000001.log" "$work/j/archive/"
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-000002.log: offset 0: record [0-9]+: reordered file: it holds journal-000003.log" \
    "a file swapped with another is named as reordered"
expect 1 "journal-000003.log: offset 0: record [0-9]+: reordered file: it holds journal-000002.log" \
    "... and the other"
expect 1 "journal-000004.log.orig: offset 0: record 0: extra file" \
    "an extra file is named"
expect 1 "journal-7.log: offset 0: record 0: extra file" \
    "a name not in the scheme is named"
expect 1 "verify: 4 findings" "four findings: no break is reported for the swap"
is "reordered: every record checked, archive/ included" "$(summary records)" \
    "$total"

copy_kz
cd "$work/j" && tail -c +$((o5 + 1)) journal-000001.log >x &&
    head -c "$o5" journal-000001.log >y && cat x y >journal-000001.log &&
    rm x y && cd - >/dev/null
audit verify "$work/j"
expect 1 "journal-000001.log: offset 0: record 1: journal broken: file does not begin with FILE_START; read on at [^ ]*journal-000001.log offset [1-9]" \
    "records moved within a file: the first break, and reading goes on"
expect 1 "journal-000001.log: offset [0-9]+: record [0-9]+: journal broken: FILE_START inside a file" \
    "... the FILE_START moved to the middle"
is "each break reported once" "$(grep -c 'does not begin with FILE_START' "$out")" 1

# ---- replay: differences as a table -------------------------------------------
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$KZKEY" --replace 16 \
    '"new_state":"PENDING_REPLY"' '"new_state":"ACCEPTED"'
# the --config path is in the page's title: a long one with nowhere to
# break must not widen the page
long="$work/configuration_directory_with_a_long_name_and_nowhere_to_break"
ln -s "$work/conf" "$long"
audit replay --config "$long/accordd.xml" --html "$work/replay.html" \
    "$work/j"
expect 1 "record 16: case FR/$refused: the replayed decision differs in its state" \
    "replay: the falsified decision is found"
render "$work/replay.html"
rendered "replay.html: verdict, a finding with its record, the differences as a table" \
    "Verdict: 1 finding" "Summary" "journal-[0-9]+.log [0-9]+ 16 case FR/$refused" \
    "Field Journalled Replayed" "new_state ACCEPTED PENDING_REPLY"
if grep -q '{&quot;' "$work/replay.html"; then not_ok "replay.html shows raw JSON"; else ok "replay.html shows no raw JSON"; fi
w=$(width "$work/replay.html")
if [ -n "$w" ] && [ "$w" -le 1024 ]; then ok "replay.html fits 1024 pixels ($w)"; else not_ok "replay.html is $w pixels wide"; fi
audit replay --json --config "$work/conf/accordd.xml" "$work/j"
expect 1 '"journalled": \{' "replay --json: the journalled decision beside the finding"

# ---- witness and export: every command has its page ---------------------------
rm -f "$work/witness.html"
audit witness --html "$work/witness.html" "$KZJ" --partner "$FRJ"
expect 0 "witness: 0 findings" "witness --html: a genuine pair agrees"
render "$work/witness.html"
rendered "witness --html writes a page: verdict and summary" \
    "Verdict: clean" "our_checkpoints [1-9]"
audit witness --json "$KZJ" --partner "$FRJ"
expect 0 '"command": "witness"' "witness --json"
audit export "$refused" --out "$work/export" --html "$work/export.html" \
    "$KZJ"
render "$work/export.html"
rendered "export --html: the case page with verdict and summary" \
    "Verdict: clean" "Summary" "Case $refused"

finish
