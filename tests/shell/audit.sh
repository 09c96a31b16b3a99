#!/bin/sh
# audit.sh -- accord-audit on the journals of two in-process gateways
# (tests/helpers/audit_gen): verify, replay, witness and export pass on genuine
# journals, and every kind of tampering is found and located.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
GEN="$ACCORD_BUILDDIR/tests/helpers/audit_gen"
TAMPER="$ACCORD_BUILDDIR/tests/helpers/audit_tamper"

plan 43
make_workdir audit
mkdir -p "$work/var/kz" "$work/var/fr"
KZJ="$work/var/kz/journal"
FRJ="$work/var/fr/journal"
KZCERT="$work/pki/kz/sign-rsa.pem"
KZKEY="$work/pki/kz/sign-rsa.key"
out="$work/out"

check "two gateways exchange messages (audit_gen)" "$GEN" "$work"
accepted=$(awk '$1 == "accepted" { print $2 }' "$work/cases.txt")
refused=$(awk '$1 == "refused" { print $2 }' "$work/cases.txt")

# audit ARGS...: run accord-audit, output in $out, exit status in $st.
audit() {
	"$AUDIT" "$@" >"$out" 2>&1
	st=$?
}

# expect STATUS PATTERN DESC: the last audit exited STATUS and its output
# matches PATTERN (grep -E).
expect() {
	if [ "$st" -eq "$1" ] && grep -Eq -- "$2" "$out"; then
		ok "$3"
	else
		sed 's/^/# /' "$out" | head -20
		not_ok "$3 (exit $st)"
	fi
}

# flip FILE OFFSET: invert one byte of a copy of the KZ journal.
copy_kz() {
	rm -rf "$work/j"
	cp -R "$KZJ" "$work/j"
}
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# ---- genuine journals -----------------------------------------------------
audit verify --cert "$KZCERT" --trust "$work/pki" "$KZJ"
expect 0 "verify: 0 findings" "verify: KZ's journal is clean"
expect 0 "checkpoints_verified +[1-9]" "verify: KZ's checkpoints verified with its pinned certificate"
expect 0 "signatures_verified +[1-9]" "verify: every message and receipt signature verified"
audit verify "$FRJ"
expect 0 "verify: 0 findings" "verify: FR's journal is clean"
audit verify --json "$KZJ"
expect 0 '"findings": \[\]' "verify --json"
audit verify --html "$work/verify.html" "$KZJ"
check "verify --html writes a page" grep -q "No findings" "$work/verify.html"

# ---- one flipped byte: in a message, a decision, a checkpoint ----------------
copy_kz
f="$work/j/journal-000002.log"
pos=$(grep -abo Nurlanov "$f" | head -1 | cut -d: -f1)
flip "$f" "$pos"
audit verify "$work/j"
expect 1 "journal-000002.log: offset [0-9]+: record [0-9]+: journal broken: record hash does not match" \
    "a flipped byte in a message is located (file, offset, record)"
off=$(sed -n 's/.*journal-000002.log: offset \([0-9]*\):.*/\1/p' "$out" | head -1)
if [ -n "$off" ] && [ "$off" -le "$pos" ]; then ok "the offset is the damaged record's ($off <= $pos)"; else not_ok "offset $off vs byte $pos"; fi

copy_kz
f="$work/j/journal-000003.log"
pos=$(grep -abo '"new_state"' "$f" | head -1 | cut -d: -f1)
flip "$f" "$((pos + 14))"
audit verify "$work/j"
expect 1 "journal-000003.log: offset [0-9]+: record [0-9]+: journal broken" \
    "a flipped byte in a decision is located"

copy_kz
# record 2 of the first file is the checkpoint engine_open asks for; the
# FILE_START before it is 198 bytes in format 2 (160 + 6 + 32)
flip "$work/j/journal-000001.log" 380
audit verify "$work/j"
expect 1 "journal-000001.log: offset 198: record 2: journal broken" \
    "a flipped byte in a checkpoint is located"

# ---- records deleted, files truncated or missing ----------------------------
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --drop 15
audit verify --cert "$KZCERT" "$work/j"
expect 1 "record [0-9]+: checkpoint signature does not verify" \
    "a deleted record (chain recomputed) is caught by the checkpoint signature"

copy_kz
sz=$(wc -c <"$work/j/journal-000002.log")
truncate -s $((sz - 100)) "$work/j/journal-000002.log"
audit verify "$work/j"
expect 1 "journal-000002.log: offset [0-9]+: record [0-9]+: journal broken: incomplete record" \
    "a truncated earlier file is located"

copy_kz
rm "$work/j/journal-000003.log"
audit verify "$work/j"
expect 1 "journal-000004.log: offset 0: record [0-9]+: journal broken: missing file journal-000003.log" \
    "a file removed from the middle of the series is named"

copy_kz
sz=$(wc -c <"$work/j/journal-000005.log")
truncate -s $((sz - 10)) "$work/j/journal-000005.log"
audit verify "$work/j"
expect 0 "warning: .*journal-000005.log.*torn tail" \
    "a torn end of the last file is a warning, as accordd would cut it"

# ---- forgeries with a recomputed chain -----------------------------------
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --insert 15
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-[0-9]+.log: offset [0-9]+: record [0-9]+: checkpoint signature does not verify" \
    "a record inserted with a recomputed chain is caught by the next checkpoint"

rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$KZKEY" --replace 15 Nurlanov Nurlanow
audit verify --cert "$KZCERT" "$work/j"
expect 1 "record 15: ReadmissionRequest .* signature does not verify" \
    "a message altered inside a re-signed chain fails its XML signature"
expect 1 "record 17: Receipt .* is not the digest" \
    "... and the receipt we gave no longer matches its digest"

rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$KZKEY" --resign 15 \
    "$work/pki/fr/sign-selfsigned.key" "$work/pki/fr/sign-selfsigned.pem"
audit verify --cert "$KZCERT" "$work/j"
expect 1 "record 15: ReadmissionRequest .* is not one journalled for FR" \
    "a message re-signed with a key that is not the partner's"

rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$work/pki/kz/sign-ec.key"
audit verify --cert "$KZCERT" "$work/j"
expect 1 "checkpoint signed by key [0-9a-f]+, not the gateway's key" \
    "a journal re-signed with another key fails the pinned certificate"

# ---- two records swapped (a message and the decision on it) ---------------
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --swap 15
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-000002.log: offset [0-9]+: record 15: decision on case FR/$refused: message [0-9a-f-]+ is not journalled before it" \
    "two records swapped are located (file, offset, record)"
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$KZKEY" --swap 15
audit verify --cert "$KZCERT" "$work/j"
expect 1 "journal-000002.log: offset [0-9]+: record 15: decision on case" \
    "... also when the chain and checkpoints are re-signed with the gateway's key"

# ---- replay ------------------------------------------------------------------
audit replay --config "$work/conf/accordd.xml" "$KZJ"
expect 0 "divergences +0" "replay: KZ's decisions replay as journalled"
expect 0 "decisions_rerun +[1-9]" "replay: the fsm was re-run"
audit replay --config "$work/conf/demo-fr/accordd.xml" "$FRJ"
expect 0 "replay: 0 findings" "replay: FR's decisions replay as journalled"
audit replay --config "$work/conf/accordd.xml" --case "$refused" \
    --html "$work/case.html" "$KZJ"
expect 0 "case $refused with FR .*: REFUSED" "replay --case prints the final state"
check "replay --html writes the case timeline" grep -q "REFUSED" "$work/case.html"
audit replay --config "$work/conf/accordd.xml" \
    --compare "$work/var/kz/store.db" "$KZJ"
expect 0 "store_cases_compared +[1-9]" "replay --compare: the live store agrees"
cp "$work/var/kz/store.db" "$work/tampered.db"
"$TAMPER" --store "$work/tampered.db" "$refused"
audit replay --config "$work/conf/accordd.xml" \
    --compare "$work/tampered.db" "$KZJ"
expect 1 "case FR/$refused: the store holds ACCEPTED" \
    "replay --compare: a tampered store is found"
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$KZKEY" --replace 16 \
    '"new_state":"PENDING_REPLY"' '"new_state":"ACCEPTED"'
audit replay --config "$work/conf/accordd.xml" "$work/j"
expect 1 "record 16: case FR/$refused: the replayed decision differs in its state" \
    "replay: a falsified decision diverges from the fsm"

# ---- each decision replays by the rules of the fsm version it holds --------
# The deemed case's deadline decision, journalled as fired at its due
# instant: fsm 1 fired then, fsm 2 fires a second later.
deemed=$(awk '$1 == "deemed" { print $2 }' "$work/cases.txt")
audit replay --config "$work/conf/accordd.xml" --case "$deemed" "$KZJ"
dseq=$(sed -n 's/.*#\([0-9]*\) *decision *PENDING_REPLY -> DEEMED_ACCEPTED (reply deadline fired).*/\1/p' "$out")
dfile=$(grep -la '"event_text":"reply deadline fired"' "$KZJ"/*.log)
dnow=$(grep -a '"event_text":"reply deadline fired"' "$dfile" |
    grep -ao '"now":[0-9]*' | head -1)
ddue=$(grep -a '"event_text":"reply deadline fired"' "$dfile" |
    grep -ao '"at":[0-9]*' | head -1)
ddue=${ddue#\"at\":}
# fsm 1 kept no period: the case after it holds none for the window
pdays=$(grep -a '"event_text":"reply deadline fired"' "$dfile" |
    grep -ao '"period_days":{"reply":[0-9]*,"transfer":[0-9]*' | head -1)
pfrom=$(grep -a '"event_text":"reply deadline fired"' "$dfile" |
    grep -ao '"period_from":{"reply":[0-9]*,"transfer":[0-9]*' | head -1)
# tamper_deadline EDITS...: the KZ journal with record $dseq edited
tamper_deadline() {
	rm -rf "$work/j" && mkdir "$work/j"
	"$TAMPER" "$KZJ" "$work/j" --key "$KZKEY" "$@"
}
tamper_deadline --replace "$dseq" "$dnow" "\"now\":$ddue" \
    --replace "$dseq" '"fsm_version":2' '"fsm_version":1' \
    --replace "$dseq" "$pdays" "${pdays%:*}:0" \
    --replace "$dseq" "$pfrom" "${pfrom%:*}:0"
audit replay --config "$work/conf/accordd.xml" "$work/j"
expect 0 "divergences +0" \
    "replay: a version-1 decision (fired at due) replays as version 1"
expect 0 "warning: .*record $dseq: case FR/$deemed: decided by fsm 1 as journalled; fsm 2 \(this build's\) would differ in its refusal" \
    "... fsm 2's other decision is reported apart, as a warning"
audit replay --json --config "$work/conf/accordd.xml" "$work/j"
expect 0 '"version_differences": 1,?$' \
    "... and counted in the summary, with 0 findings"
audit replay "$KZJ"
expect 0 "replay: 0 findings" \
    "replay without --config: the rules journalled with each load"
tamper_deadline --replace "$dseq" "$dnow" "\"now\":$ddue"
audit replay --config "$work/conf/accordd.xml" "$work/j"
expect 1 "record $dseq: case FR/$deemed: the replayed decision differs in its refusal" \
    "replay: the same decision as version 2 diverges (fires after due)"
tamper_deadline --replace "$dseq" '"fsm_version":2' '"fsm_version":99'
audit replay --config "$work/conf/accordd.xml" "$work/j"
expect 1 "record $dseq: case FR/$deemed: decision journalled by fsm version 99, which this build" \
    "replay: a version unknown to this build is reported"

# ---- witness ----------------------------------------------------------------
audit witness "$KZJ" --partner "$FRJ"
expect 0 "witness: 0 findings" "witness: a genuine pair agrees"
rm -rf "$work/j" && mkdir "$work/j"
"$TAMPER" "$KZJ" "$work/j" --key "$KZKEY" --drop 33
audit verify --cert "$KZCERT" "$work/j"
expect 0 "verify: 0 findings" "a journal rewritten with the gateway's own key passes verify"
audit witness "$work/j" --partner "$FRJ"
expect 1 "holds checkpoint hash [0-9a-f]+ of KZ .* that journal was rewritten" \
    "... and witness catches it"

# ---- export --------------------------------------------------------------
ex="$work/export"
audit export "$accepted" --out "$ex" --cert "$KZCERT" "$KZJ"
expect 0 "messages_exported +[1-9]" "export writes the case's messages"
# (tests/shell/audit_export.sh checks the bundle in depth)
check "the export's verify.sh passes" sh -c "cd '$ex' && sh verify.sh | \
    tail -1 | grep -q '^ALL CHECKS PASSED$'"
check "its messages' signatures verify" sh -c "cd '$ex' && sh verify.sh | \
    grep -q 'signature OK'"

"$AUDIT" frobnicate >/dev/null 2>&1
st=$?
check "an unknown command is a usage error (2)" [ $st -eq 2 ]

finish
