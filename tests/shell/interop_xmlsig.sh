#!/bin/sh
# interop_xmlsig.sh -- Accord's XML signatures against two independent
# implementations: the xmlsec1 command line and the JDK's javax.xml.crypto
# (tests/data/interop/XmlDsigTool.java, compiled here).  Both directions,
# both RSA-SHA256 and ECDSA-SHA256.  A missing java or xmlsec1 is a failure,
# not a skip: without them this test would prove nothing.

. "${ACCORD_SRCDIR:?run through make check}/tests/helpers/lib.sh"

TOOL="$ACCORD_BUILDDIR/tests/helpers/xmlsig_tool"
CLASSES="$ACCORD_BUILDDIR/tests/data/interop/classes"
pki="$ACCORD_PKI/fr"

plan 24

mkdir -p "$ACCORD_BUILDDIR/tests/tmp"
work=$(mktemp -d "$ACCORD_BUILDDIR/tests/tmp/interop.XXXXXX")

# An unsigned message created now, so the certificates are in force.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sed "s/2026-03-02T09:15:00Z/$now/" \
    "$ACCORD_SRCDIR/protocols/examples/valid/ReadmissionRequest.xml" \
    >"$work/msg.xml"

# Short-lived JVMs: the client compiler alone and the serial collector
# start in two thirds of the time; the JDK's signature code is the same.
JVM_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

have_java=no
if command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1
then
	mkdir -p "$CLASSES"
	# shellcheck disable=SC2086
	if javac $(printf -- '-J%s ' $JVM_OPTS) -d "$CLASSES" \
	    "$ACCORD_SRCDIR/tests/data/interop/XmlDsigTool.java" \
	    2>"$work/javac.err"
	then
		have_java=yes
		ok "XmlDsigTool.java compiles"
	else
		sed 's/^/# /' "$work/javac.err"
		not_ok "XmlDsigTool.java compiles"
	fi
else
	not_ok "java and javac found (Debian: default-jdk-headless)"
fi
have_xmlsec1=no
if command -v xmlsec1 >/dev/null 2>&1; then
	have_xmlsec1=yes
	ok "xmlsec1 found"
else
	not_ok "xmlsec1 found (Debian: xmlsec1)"
fi

# run DESC EXPECT(0|1) COMMAND...: ok when the exit status says so.
run() {
	desc=$1
	want=$2
	shift 2
	"$@" >"$work/out" 2>&1
	st=$?
	if { [ "$want" = 0 ] && [ $st -eq 0 ]; } ||
	    { [ "$want" = 1 ] && [ $st -ne 0 ]; }; then
		ok "$desc"
	else
		sed 's/^/# /' "$work/out"
		not_ok "$desc (exit $st)"
	fi
}

jrun() {
	if [ $have_java = yes ]; then
		# shellcheck disable=SC2086
		java $JVM_OPTS -cp "$CLASSES" XmlDsigTool "$@"
	else
		echo "no java"
		return 2
	fi
}

x1() {
	if [ $have_xmlsec1 = yes ]; then
		xmlsec1 "$@"
	else
		echo "no xmlsec1"
		return 2
	fi
}

for alg in rsa ec; do
	key="$pki/sign-$alg.key"
	crt="$pki/sign-$alg.pem"
	a="$work/accord-$alg.xml"
	j="$work/java-$alg.xml"

	# Accord signs; the others verify.
	run "$alg: Accord signs" 0 "$TOOL" sign "$key" "$crt" "$work/msg.xml" "$a"
	run "$alg: xmlsec1 verifies Accord's signature with the pinned key" 0 \
	    x1 --verify --pubkey-cert-pem "$crt" "$a"
	run "$alg: xmlsec1 verifies Accord's signature against the CA" 0 \
	    x1 --verify --trusted-pem "$pki/ca.pem" \
	    --enabled-key-data x509 "$a"
	run "$alg: the JDK verifies Accord's signature" 0 jrun verify "$crt" "$a"
	sed 's/Nurlanov</Nurlanow</' "$a" >"$a.bad"
	run "$alg: the JDK refuses Accord's message once altered" 1 \
	    jrun verify "$crt" "$a.bad"

	# The JDK signs; Accord verifies.
	run "$alg: the JDK signs" 0 jrun sign "$key" "$crt" "$work/msg.xml" "$j"
	run "$alg: Accord verifies the JDK's signature" 0 "$TOOL" verify "$crt" "$j"
	run "$alg: xmlsec1 verifies the JDK's signature" 0 \
	    x1 --verify --pubkey-cert-pem "$crt" "$j"
	sed 's/Nurlanov</Nurlanow</' "$j" >"$j.bad"
	run "$alg: Accord refuses the JDK's message once altered" 1 \
	    "$TOOL" verify "$crt" "$j.bad"
	other=rsa
	[ $alg = rsa ] && other=ec
	run "$alg: Accord refuses the JDK's message as from another key" 1 \
	    "$TOOL" verify "$pki/sign-$other.pem" "$j"
done

# A signature that verifies cryptographically but uses RSA-SHA1 (which
# xmlsec1 accepts by default) is still refused.
run "an RSA-SHA1 message is generated" 0 \
    "$TOOL" attack "$ACCORD_SRCDIR/tests/data/attacks/sig-rsa-sha1.xml" \
    "$ACCORD_PKI" "$work/sha1.xml"
run "Accord refuses RSA-SHA1" 1 "$TOOL" verify "$pki/sign-rsa.pem" \
    "$work/sha1.xml"

finish
