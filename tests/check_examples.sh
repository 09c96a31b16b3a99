#!/bin/sh
# check_examples.sh -- validate protocols/examples with xmllint --schema.
#
# Every file in examples/valid must validate against envelope.xsd.  Every
# file in examples/invalid whose first-line comment says
# "expect: SCHEMA_INVALID" must fail, unless it also says "level: envelope"
# (a rule envelope_parse() checks after the schema, which xmllint cannot
# know).  Files expected to fail before the schema (MALFORMED,
# FORBIDDEN_XML, TOO_DEEP...) are left to tests/test_envelope, but each
# invalid file must carry an expect comment.
#
# Usage: check_examples.sh [top_srcdir]; else ACCORD_SRCDIR; else "..".
# Output is TAP; exit status 0 if every example behaved, 1 otherwise.

srcdir=${1:-${ACCORD_SRCDIR:-$(dirname "$0")/..}}
proto="$srcdir/protocols"
schema="$proto/envelope.xsd"
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

if [ ! -f "$schema" ]; then
	echo "not ok 1 - $schema not found"
	echo "1..1"
	exit 1
fi

nvalid=0
for f in "$proto"/examples/valid/*.xml; do
	[ -e "$f" ] || continue
	nvalid=$((nvalid + 1))
	if out=$(xmllint --nonet --noout --schema "$schema" "$f" 2>&1); then
		result ok "valid/${f##*/} validates"
	else
		result not-ok "valid/${f##*/} rejected"
		echo "$out" | sed 's/^/# /'
	fi
done
if [ "$nvalid" -gt 0 ]; then
	result ok "$nvalid valid examples"
else
	result not-ok "no valid examples under $proto/examples/valid"
fi

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
	if xmllint --nonet --noout --schema "$schema" "$f" >/dev/null 2>&1
	then
		result not-ok "$name accepted by the schema"
	else
		result ok "$name rejected by the schema"
	fi
done

echo "1..$n"
exit $fail
