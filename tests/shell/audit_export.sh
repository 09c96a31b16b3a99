#!/bin/sh
# audit_export.sh -- journal format 2 and accord-audit export (issue 18
# item 3): three cases about three different people (audit_gen with
# AUDIT_GEN_PEOPLE); each case's export holds none of the other people's
# surnames or document numbers anywhere, binary files included; its
# verify.sh, run with nothing but sh, coreutils, openssl and xmlsec1 on
# PATH, passes every check with clean xmlsec1 output and fails on a
# flipped byte; files 0600 in 0700 directories.  And the upgrade: a
# journal written in format 1 then 2 (AUDIT_GEN_UPGRADE) verifies,
# replays, exports, rebuilds the store and is read directly; the format-1
# journal the code before wrote (tests/data/journal-v1) verifies and
# replays.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"

AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
GEN="$ACCORD_BUILDDIR/tests/helpers/audit_gen"

plan 40
make_workdir audit_export
mkdir -p "$work/var/kz" "$work/var/fr"
KZJ="$work/var/kz/journal"
FRJ="$work/var/fr/journal"
KZCERT="$work/pki/kz/sign-rsa.pem"
out="$work/out"

check "three cases about three people (audit_gen)" \
    env AUDIT_GEN_PEOPLE=1 "$GEN" "$work"

# hexat FILE OFFSET COUNT
hexat() { od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
check "the journal is written in format 2" \
    [ "$(hexat "$KZJ/journal-000001.log" 4 2)" = 0002 ]

"$AUDIT" verify --cert "$KZCERT" --trust "$work/pki" "$KZJ" >"$out" 2>&1
check "verify: format 2 is clean" grep -q "verify: 0 findings" "$out"

# A PATH with nothing but sh, coreutils, openssl and xmlsec1.
mkdir "$work/bin"
for t in sh openssl xmlsec1; do
	ln -s "$(command -v $t)" "$work/bin/$t"
done
ncore=0
for t in $(dpkg -L coreutils | grep '/bin/'); do
	[ -f "$t" ] && [ -x "$t" ] || continue
	ln -sf "$t" "$work/bin/${t##*/}" && ncore=$((ncore + 1))
done
check "a PATH of coreutils ($ncore tools), sh, openssl and xmlsec1" \
    [ "$ncore" -gt 50 -a ! -e "$work/bin/grep" -a ! -e "$work/bin/sed" \
    -a ! -e "$work/bin/cmp" ]

# bundle_run DIR: verify.sh with that PATH only, output in $out
bundle_run() {
	(cd "$1" && env -i PATH="$work/bin" sh verify.sh) >"$out" 2>&1
	st=$?
}

while read -r name surname passport card; do
	id=$(awk -v n="$name" '$1 == n { print $2 }' "$work/cases.txt")
	ex="$work/export-$name"
	"$AUDIT" export "$id" --out "$ex" --cert "$KZCERT" --trust "$work/pki" \
	    "$KZJ" >"$out" 2>&1
	check "export $name ($id)" grep -q "messages_exported" "$out"
	check "$name: its own person is in it ($surname)" \
	    grep -rqaF "$surname" "$ex"
	# every other person's surname and document numbers: nowhere
	leak=
	while read -r n2 s2 p2 c2; do
		[ "$n2" = "$name" ] && continue
		for v in "$s2" "$p2" "$c2"; do
			if grep -rlaF "$v" "$ex" >"$work/leak"; then
				leak="$leak $v in $(tr '\n' ' ' <"$work/leak")"
			fi
		done
	done <"$work/people.txt"
	check "$name: no other person's surname or document number in any file" \
	    [ -z "$leak" ]
	[ -z "$leak" ] || echo "# $leak"
	bundle_run "$ex"
	if [ $st -eq 0 ] && [ "$(tail -1 "$out")" = "ALL CHECKS PASSED" ]; then
		ok "$name: verify.sh passes with sh, coreutils, openssl, xmlsec1"
	else
		sed 's/^/# /' "$out" | tail -20
		not_ok "$name: verify.sh (exit $st)"
	fi
	nrec=$(ls "$ex/records" | grep -c '\.hdr$')
	check "$name: every record's hash is checked ($nrec)" \
	    [ "$(grep -c '^   record [0-9]*: [0-9a-f]\{64\}$' "$out")" -eq "$nrec" ]
done <"$work/people.txt"

ex="$work/export-accepted"
nmsg=$(ls "$ex/messages" | wc -l)
bundle_run "$ex"
check "each of the $nmsg messages verifies against its CA" \
    [ "$(grep -c 'signature OK (--trusted-pem ca/' "$out")" -eq "$nmsg" ]
check "xmlsec1 says nothing but OK" sh -c \
    "! grep -qi 'verification failed\|error' '$out'"
check "each receipt's digest is checked" \
    [ "$(grep -c 'is the SHA-256 of messages/' "$out")" -eq \
    "$(ls "$ex/messages" | grep -c Receipt)" ]
check "the chain is signed by the gateway's checkpoint" \
    grep -q 'checkpoint [0-9]*: signature OK' "$out"
# (patterns like records/SEQ.hdr are in capitals; every name is checked)
grep -oE '(certs|ca)/[0-9a-f]{64}\.pem|messages/[^ ]+\.xml|records/[0-9]{12}\.(hdr|payload|hash)|gateway-(cert|pubkey)\.pem|verify\.sh|chain\.json|case\.html' \
    "$ex/README.txt" | sort -u >"$work/named"
missing=$(cd "$ex" && while read -r f; do [ -e "$f" ] || echo "$f"; done \
    <"$work/named")
check "the README names $(wc -l <"$work/named") files, all in the bundle" \
    [ -z "$missing" -a "$(wc -l <"$work/named")" -gt 10 ]
[ -z "$missing" ] || echo "# missing: $missing"
check "the README runs verify.sh and loops over every record" \
    grep -q 'sh verify.sh' "$ex/README.txt"
check "files are 0600, directories 0700" sh -c \
    "[ -z \"\$(find '$ex' -type f ! -perm 600)\" ] &&
     [ -z \"\$(find '$ex' -type d ! -perm 700)\" ]"

# flipped bytes: in a record of the case, in a header of another's, in a
# message, in the checkpoint's signature
flipped() {
	rm -rf "$work/flip"
	cp -pR "$ex" "$work/flip"
	f="$work/flip/$1"
	b=$(od -An -tu1 -j "$2" -N1 "$f" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" |
	    dd of="$f" bs=1 seek="$2" conv=notrunc 2>/dev/null
	bundle_run "$work/flip"
	[ $st -eq 1 ] && [ "$(tail -1 "$out")" = "SOME CHECKS FAILED" ] &&
	    grep -q "^FAIL: $3" "$out"
}
first=$(ls "$ex/records" | grep '\.payload$' | head -1)
other=$(ls "$ex/records" | grep '\.hdr$' | while read -r h; do
	[ -e "$ex/records/${h%.hdr}.payload" ] || { echo "$h"; break; }; done)
last=$(ls "$ex/records" | grep '\.payload$' | tail -1)
msg=$(ls "$ex/messages" | head -1)
check "a flipped byte in the case's record fails verify.sh" \
    flipped "records/$first" 40 "record [0-9]*: its payload is not the one"
check "a flipped byte in another's header fails it" \
    flipped "records/$other" 20 "record [0-9]*: its previous hash"
check "a flipped byte in a message fails it" \
    flipped "messages/$msg" 200 "messages/$msg is not the message"
check "a flipped byte in the checkpoint's signature fails it" \
    flipped "records/$last" 80 "the checkpoint's signature"

# ---- the upgrade: format 1, then 2 ----------------------------------------
up="$work/up"
mkdir -p "$up/var/kz" "$up/var/fr"
cp -R "$work/conf" "$up/conf"
ln -s "$ACCORD_PKI" "$up/pki"
check "a journal written in format 1, upgraded to 2 (audit_gen)" \
    env AUDIT_GEN_UPGRADE=1 "$GEN" "$up"
n=$(ls "$up/var/kz/journal" | wc -l)
check "its first file is format 1, its last format 2" \
    [ "$(hexat "$up/var/kz/journal/journal-000001.log" 4 2)" = 0001 -a \
    "$(hexat "$up/var/kz/journal/journal-$(printf %06d "$n").log" 4 2)" = \
    0002 ]
"$AUDIT" verify --cert "$KZCERT" --trust "$work/pki" "$up/var/kz/journal" \
    >"$out" 2>&1
check "verify: the mixed journal is clean, checkpoints of both formats" \
    grep -q "verify: 0 findings" "$out"
"$AUDIT" replay "$up/var/kz/journal" >"$out" 2>&1
check "replay: the mixed journal, no divergence" \
    grep -Eq "divergences +0" "$out"
id=$(awk '$1 == "accepted" { print $2 }' "$up/cases.txt")
"$AUDIT" export "$id" --out "$up/ex" --cert "$KZCERT" --trust "$work/pki" \
    "$up/var/kz/journal" >"$out" 2>&1
bundle_run "$up/ex"
check "an export across the upgrade passes verify.sh" \
    [ "$(tail -1 "$out")" = "ALL CHECKS PASSED" ]
# the store rebuilt from both formats; the timeline reads each record
# where the store says it is (journal_read_at), in either format
"$ACCORD_BUILDDIR/gateway/accordd" -c "$up/conf/accordd.xml" \
    --rebuild-store >"$out" 2>&1
check "accordd --rebuild-store reads the mixed journal" \
    grep -q "store rebuilt from the journal" "$out"
"$ACCORD_BUILDDIR/gateway/accordctl" --offline -c "$up/conf/accordd.xml" \
    timeline "$id" >"$out" 2>&1
check "its timeline reads records of format 1 and of format 2 directly" \
    sh -c "grep -q '#5 .*ReadmissionRequest' '$out' &&
    grep -q 'ACCEPTED -> WITHDRAWN' '$out'"

# ---- the journal the code before format 2 wrote ------------------------------
v1="$ACCORD_SRCDIR/tests/data/journal-v1"
mkdir -p "$work/v1" && cp "$v1"/journal-*.log "$work/v1/"
"$AUDIT" verify --cert "$v1/fr-sign-ec.pem" "$work/v1" >"$out" 2>&1
check "verify: the old format-1 journal is clean" \
    grep -q "verify: 0 findings" "$out"
check "... its checkpoints verify" grep -Eq "checkpoints_verified +[1-9]" "$out"
"$AUDIT" replay "$work/v1" >"$out" 2>&1
check "replay: the old format-1 journal, no divergence" \
    grep -Eq "divergences +0" "$out"

finish
