#!/bin/sh
# check_examples.sh -- validate protocols/examples with xmllint --schema.
#
# Every file in examples/valid must validate against the top-level schema
# of its protocol version, chosen as the gateway chooses it, by the root
# element's namespace: envelope.xsd for urn:accord:envelope:1,
# envelope-2.xsd for urn:accord:envelope:2 (any other namespace is checked
# against envelope.xsd, which refuses it).  Every file in examples/invalid
# whose first-line comment says "expect: SCHEMA_INVALID" must fail, unless
# it also says "level: envelope" (a rule envelope_parse() checks after the
# schema, which xmllint cannot know).  Files expected to fail before the
# schema (MALFORMED, FORBIDDEN_XML, TOO_DEEP...) are left to
# tests/unit/test_envelope, but each invalid file must carry an expect comment.
# Each version must have valid examples.
#
# Usage: check_examples.sh [top_srcdir]; else ACCORD_SRCDIR; else "..".
# Output is TAP; exit status 0 if every example behaved, 1 otherwise.

srcdir=${1:-${ACCORD_SRCDIR:-$(dirname "$0")/../..}}
proto="$srcdir/protocols"
n=0
fail=0

if ! command -v xmllint >/dev/null 2>&1; then
	echo "not ok 1 - xmllint not found (Debian package libxml2-utils)"
	echo "1..1"
	exit 1
fi

result() {	# result ok|not-ok description
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}

for v in envelope.xsd envelope-2.xsd; do
	if [ ! -f "$proto/$v" ]; then
		echo "not ok 1 - $proto/$v not found"
		echo "1..1"
		exit 1
	fi
done

# version FILE: the protocol version of a document, from its root's
# namespace ("" when it has none we know, or is not XML).
version() {
	case $(xmllint --nonet --xpath 'namespace-uri(/*)' "$1" 2>/dev/null) in
	urn:accord:envelope:1) echo 1 ;;
	urn:accord:envelope:2) echo 2 ;;
	*) echo "" ;;
	esac
}

# schema_for FILE: the top-level schema that judges it.
schema_for() {
	case $(version "$1") in
	2) echo "$proto/envelope-2.xsd" ;;
	*) echo "$proto/envelope.xsd" ;;
	esac
}

nv1=0
nv2=0
for f in "$proto"/examples/valid/*.xml; do
	[ -e "$f" ] || continue
	v=$(version "$f")
	case $v in
	1) nv1=$((nv1 + 1)) ;;
	2) nv2=$((nv2 + 1)) ;;
	*)
		result not-ok "valid/${f##*/} is in no known envelope namespace"
		continue
		;;
	esac
	if out=$(xmllint --nonet --noout --schema "$(schema_for "$f")" "$f" \
	    2>&1); then
		result ok "valid/${f##*/} validates (version $v)"
	else
		result not-ok "valid/${f##*/} rejected (version $v)"
		echo "$out" | sed 's/^/# /'
	fi
done
for v in 1 2; do
	eval "nv=\$nv$v"
	if [ "$nv" -gt 0 ]; then
		result ok "$nv valid examples of version $v"
	else
		result not-ok "no valid example of version $v under" \
		    "$proto/examples/valid"
	fi
done

for f in "$proto"/examples/invalid/*.xml; do
	[ -e "$f" ] || continue
	name="invalid/${f##*/}"
	first=$(head -n 1 "$f")
	case "$first" in
	"<!-- expect: "*) ;;
	*)
		result not-ok "$name has no expect comment on line 1"
		continue
		;;
	esac
	case "$first" in
	*"expect: SCHEMA_INVALID;"*) ;;
	*)
		continue	# refused before the schema: test_envelope
		;;
	esac
	case "$first" in
	*"level: envelope"*)
		continue	# checked by envelope_parse: test_envelope
		;;
	esac
	if xmllint --nonet --noout --schema "$(schema_for "$f")" "$f" \
	    >/dev/null 2>&1
	then
		result not-ok "$name accepted by the schema"
	else
		result ok "$name rejected by the schema"
	fi
done

echo "1..$n"
exit $fail
