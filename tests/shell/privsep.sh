#!/bin/sh
# privsep.sh -- privilege separation (issue 16, item 1): Kazakhstan's
# gateway with <user name="nobody"/> runs as a root parent, an engine and a
# signer, both as nobody; the engine cannot read the signing key nor have
# the signer sign what is not a message of ours; the signer's memory is
# out of the engine's reach; messages and checkpoints are still signed; a
# reload with a changed agreement and a new TLS key works, the root parent
# reading the key the engine may not (no "Permission denied"), and a new
# signing certificate is refused back to accordctl; a dead signer ends the
# whole tree with a failure status, and a parent killed outright takes the
# engine, the signer and the parser with it; the listening sockets (partners'
# HTTPS, metrics) are bound by the root parent, never by the engine, which
# accepts on them, and the engine is nobody before it opens its journal
# and never opens a key file (strace); a state
# directory <user> cannot reach by its path stops the start with a message
# naming the directory in the way.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1 ||
    ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP needs root, setpriv and the user nobody"
	exit 0
fi
if ! grep -q '^#define ACCORD_TEST_CLOCK 1' "$ACCORD_BUILDDIR/accord-build.h" \
    2>/dev/null; then
	echo "1..0 # SKIP needs a build with --enable-test-clock (its probe)"
	exit 0
fi
plan 31
make_workdir privsep
own_pki		# a TLS key is replaced below
use_system_groups
AUDIT="$ACCORD_BUILDDIR/gateway/accord-audit"
kzlog="$work/kz.log"
frlog="$work/fr.log"
nobody=$(id -u nobody)
sed -i 's|</state-directory>|</state-directory>\n  <user name="nobody"/>|' \
    "$work/conf/accordd.xml"
"$ACCORDD" -n -c "$work/conf/accordd.xml" >"$work/n.out" 2>&1
check "accordd -n warns that the signer has the engine's user (no signer=)" \
	grep -q "no <user signer=>: the signer runs as nobody, the engine's user" \
	    "$work/n.out"
# uid_of PID: the real, effective, saved and file-system uids
uid_of() { awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"; }

ACCORD_TEST_SEP_PROBE=1 "$ACCORDD" -d -c "$work/conf/accordd.xml" \
    >>"$kzlog" 2>&1 &
kzpid=$!
wait_for "$kzlog" "started: KZ/MVD" || cat "$kzlog"
start_fr
engine=$(sed -n 's/.*privilege separation: engine pid \([0-9]*\),.*/\1/p' \
    "$kzlog")
signer=$(sed -n 's/.*signer pid \([0-9]*\), as .*/\1/p' "$kzlog")
check "the parent names its engine ($engine) and signer ($signer)" \
	sh -c '[ -n "$1" ] && [ -n "$2" ] && [ "$(cat /proc/$1/status |
	    awk "/^PPid:/ {print \$2}")" = "$3" ]' _ "$engine" "$signer" "$kzpid"
wait_for "$kzlog" "probe: the signer tried to open" 10
check "the parent stays root" [ "$(uid_of $kzpid)" = "0 0 0 0" ]
check "the engine runs as nobody" \
	[ "$(uid_of $engine)" = "$nobody $nobody $nobody $nobody" ]
check "the signer runs as nobody" \
	[ "$(uid_of $signer)" = "$nobody $nobody $nobody $nobody" ]
check "engine and signer: NoNewPrivs 1; the signer under seccomp (2)" \
	sh -c 'grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$1/status &&
	    grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$2/status &&
	    grep -q "^Seccomp:[[:space:]]*2" /proc/$2/status' _ "$engine" "$signer"
# the signer's lanes (one thread each: the loop's and the signing pool's)
# are all bound by the filter, installed after they exist (TSYNC)
lanes=$(sed -n 's/.*info: signer: signing for .*, \([0-9]*\) lanes$/\1/p' "$kzlog")
check "every thread of the signer ($lanes lanes) is under seccomp (2), NoNewPrivs 1" \
	sh -c '[ "$1" -ge 2 ] && [ "$(ls /proc/$2/task | wc -l)" -eq "$1" ] &&
	    for t in /proc/$2/task/*; do
		grep -q "^Seccomp:[[:space:]]*2" $t/status &&
		grep -q "^NoNewPrivs:[[:space:]]*1" $t/status || exit 1
	    done' _ "$lanes" "$signer"
check "the signer's filter forbids opening a file (its probe)" \
	grep -q "probe: the signer tried to open a file: open: Permission denied" \
	    "$kzlog"
check "the engine has no way back to root (no capabilities)" \
	sh -c 'awk "/^CapEff:/ {print \$2}" /proc/$1/status |
	    grep -q "^0*$"' _ "$engine"
check "the engine cannot open the signing key (logged by its probe)" \
	grep -q "probe: the engine cannot open the signing key: Permission denied" \
	    "$kzlog"
check "the signer refuses bytes that are no message of ours" \
	sh -c 'grep -q "probe: the signer refused to sign arbitrary bytes" "$1" &&
	    grep -q "warning: signer: refused to sign: not a valid Accord message" "$1"' \
	    _ "$kzlog"
check "the signer's memory is out of reach of its own uid (undumpable)" \
	sh -c '! setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    cat /proc/$1/maps >/dev/null 2>&1' _ "$signer"

body ReadmissionRequest >"$work/rr.xml"
out=$(fr submit KZ document=@"$work/rr.xml" 2>&1)
case1=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "France's request is receipted by Kazakhstan's engine" \
	wait_cmd 15 "out ReadmissionRequest *RECEIPTED" fr status "$case1"
check "... whose receipt the signer signed (logged with type and id)" \
	grep -q "info: signer: signed Receipt [0-9a-f-]* case $case1 to FR" \
	    "$kzlog"
# A reload with a changed agreement and a new TLS server key, root's and
# 0600 as the old one: the engine may not read it, the parent sends it.
served_fp() {
	openssl s_client -connect "127.0.0.1:$kz_port" \
	    -cert "$work/pki/fr/tls-client.pem" -key "$work/pki/fr/tls-client.key" \
	    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256
}
old_fp=$(served_fp)
(cd "$work/pki/kz" &&
    openssl req -new -config ca-db/openssl.cnf -newkey ec \
	-pkeyopt ec_paramgen_curve:P-256 -noenc -keyout tls-server.key.new \
	-subj "/C=KZ/O=Accord Test PKI/CN=gw.kz.accord.test" \
	-out ca-db/new.csr &&
    openssl ca -batch -notext -config ca-db/openssl.cnf \
	-extensions tls_server -in ca-db/new.csr -out tls-server.pem.new &&
    chmod 600 tls-server.key.new && mv tls-server.key.new tls-server.key &&
    mv tls-server.pem.new tls-server.pem) >"$work/newkey.out" 2>&1 ||
    sed 's/^/# /' "$work/newkey.out"
new_fp=$(openssl x509 -in "$work/pki/kz/tls-server.pem" -noout -fingerprint \
    -sha256)
sed -i 's|<title>Agreement between|<title>Amended agreement between|' \
    "$work/conf/partners/fr.xml"
out=$(kz reload 2>&1); rc=$?
check "a reload with a changed agreement and a new TLS key works ($out)" \
	sh -c '[ $1 -eq 0 ] && grep -q "reload: the TLS keys, as the parent read them" "$2"' \
	    _ $rc "$kzlog"
check "... with no Permission denied in the log (but the probes'): no key opened" \
	sh -c '! grep -v "probe: " "$1" | grep -q "Permission denied"' _ "$kzlog"
fp=$(served_fp)
check "... the new key is the one served now" \
	sh -c '[ -n "$2" ] && [ "$1" != "$2" ] && [ "$3" = "$2" ]' _ \
	    "$old_fp" "$new_fp" "$fp"
out=$(fr submit KZ document=@"$work/rr.xml" 2>&1)
case2=$(printf '%s' "$out" | sed -n 's/.*case //p')
check "... and France's next request is receipted over it" \
	wait_cmd 15 "out ReadmissionRequest *RECEIPTED" fr status "$case2"
# a new signing certificate: refused back to accordctl, in force stays
cp "$work/conf/accordd.xml" "$work/accordd.xml.keep"
sed -i 's|kz/sign-rsa.pem" key="kz/sign-rsa.key"|kz/sign-ec.pem" key="kz/sign-ec.key"|' \
    "$work/conf/accordd.xml"
out=$(kz reload 2>&1); rc=$?
check "a new signing certificate: the reload is refused, and accordctl says why" \
	sh -c '[ $1 -ne 0 ] && printf "%s" "$2" | grep -q "a new signing key takes a restart"' \
	    _ $rc "$out"
cp "$work/accordd.xml.keep" "$work/conf/accordd.xml"
check "the state directory is nobody's now" \
	[ "$(stat -c %u "$work/var/kz/journal")" = "$nobody" ]

kill -TERM $kzpid
wait_gone $kzpid 10
wait $kzpid; rc=$?
check "SIGTERM to the parent stops the tree cleanly (status $rc)" \
	sh -c '[ $1 -eq 0 ] && ! kill -0 $2 2>/dev/null &&
	    ! kill -0 $3 2>/dev/null' _ $rc "$engine" "$signer"
"$AUDIT" verify --cert "$work/pki/kz/sign-rsa.pem" --trust "$work/pki" \
    "$work/var/kz/journal" >"$work/verify.out" 2>&1
check "the journal's checkpoints, signed by the signer, verify" \
	grep -Eq "checkpoints_verified +[1-9]" "$work/verify.out"

# A signer that dies takes the tree down, with a failure status.
kzlog2="$work/kz2.log"
"$ACCORDD" -d -c "$work/conf/accordd.xml" >"$kzlog2" 2>&1 &
kzpid=$!
wait_for "$kzlog2" "started: KZ/MVD" || cat "$kzlog2"
signer=$(sed -n 's/.*signer pid \([0-9]*\), as .*/\1/p' "$kzlog2")
engine=$(sed -n 's/.*privilege separation: engine pid \([0-9]*\),.*/\1/p' \
    "$kzlog2")
kill -KILL "$signer"
wait_gone $kzpid 10
wait $kzpid; rc=$?
check "a killed signer ends the tree with a failure ($rc)" \
	sh -c '[ $1 -ne 0 ] && ! kill -0 $2 2>/dev/null' _ $rc "$engine"
check "... and says so" grep -q "the signer (pid $signer) ended" "$kzlog2"
# A parent killed outright takes its children with it: each set its
# parent-death signal again after taking its uid (which clears it).
kzlog4="$work/kz4.log"
"$ACCORDD" -d -c "$work/conf/accordd.xml" >"$kzlog4" 2>&1 &
kzpid=$!
wait_for "$kzlog4" "started: KZ/MVD" || cat "$kzlog4"
children=$(sed -n 's/.*engine pid \([0-9]*\), signer pid \([0-9]*\),.*parser pid \([0-9]*\).*/\1 \2 \3/p' "$kzlog4")
kill -KILL "$kzpid"
wait $kzpid
check "a parent killed with SIGKILL: engine, signer and parser end too ($children)" \
	sh -c '[ $# -eq 3 ] || exit 1
	    alive() { grep -qs "^State:[[:space:]]*[^Z]" /proc/$1/status; }
	    i=0; while [ $i -lt 50 ]; do
	    ! alive $1 && ! alive $2 && ! alive $3 && exit 0
	    sleep 0.1; i=$((i + 1)); done; exit 1' _ $children
# The listening sockets: the parent binds them, the engine serves them.
mport=$((kz_port - 10001))
sed -i "s|<limits |<metrics listen=\"127.0.0.1:$mport\"/>\n  &|" \
    "$work/conf/accordd.xml"
kzlog3="$work/kz3.log"
strace -f -qq -e trace=bind,setresuid,openat -o "$work/bind.strace" \
    "$ACCORDD" -d -c "$work/conf/accordd.xml" >"$kzlog3" 2>&1 &
tracer=$!
wait_for "$kzlog3" "started: KZ/MVD" 20 || cat "$kzlog3"
engine=$(sed -n 's/.*privilege separation: engine pid \([0-9]*\),.*/\1/p' \
    "$kzlog3")
parent=$(awk "/^PPid:/ {print \$2}" "/proc/$engine/status")
check "both ports are bound by the root parent ($parent)" \
	sh -c 'grep -q "^$1 *bind(.*sin_port=htons($2)" "$4" &&
	    grep -q "^$1 *bind(.*sin_port=htons($3)" "$4"' _ "$parent" \
	    "$kz_port" "$mport" "$work/bind.strace"
check "... and never by the engine, which serves them" \
	sh -c '! grep -q "^$1 *bind(.*AF_INET" "$2" &&
	    curl -sf "http://127.0.0.1:$3/metrics" | grep -q "^accord_"' _ \
	    "$engine" "$work/bind.strace" "$mport"
check "the engine is nobody before it opens anything: the journal as nobody, no key file" \
	sh -c 'grep "^$1 " "$2" >"$2.engine"
	    u=$(grep -n "setresuid(" "$2.engine" | head -1 | cut -d: -f1)
	    j=$(grep -n "openat(.*/journal" "$2.engine" | head -1 | cut -d: -f1)
	    [ -n "$u" ] && [ -n "$j" ] && [ "$u" -lt "$j" ] &&
	    ! grep -q "openat(.*tls-\(server\|client\)\.key" "$2.engine"' _ \
	    "$engine" "$work/bind.strace"
check "the parent holds no listening socket once the engine has them" \
	sh -c 'for f in /proc/$1/fd/*; do
	    l=$(readlink "$f"); case $l in socket:*) i=${l#socket:[};
	    i=${i%]}; awk -v i=$i "\$10 == i && \$4 == \"0A\"" \
	    /proc/net/tcp | grep -q . && exit 1;; esac; done; exit 0' _ \
	    "$parent"
kill -TERM "$parent"
wait $tracer

# A state directory behind a directory nobody cannot pass (root's, 0700):
# the engine opens journal segments and the store's files by path later,
# so it stops at once, naming that directory.
mkdir -m 700 "$work/locked"
sed 's|<state-directory>[^<]*<|<state-directory>../locked/kz<|' \
    "$work/conf/accordd.xml" >"$work/conf/locked.xml"
timeout 30 "$ACCORDD" -d -c "$work/conf/locked.xml" >"$work/locked.log" 2>&1
rc=$?
check "a state directory out of nobody's reach: the start fails (exit $rc)" \
	[ $rc -ne 0 -a $rc -ne 124 ]
check "... naming the directory nobody cannot pass" \
	grep -q "the state directory .*/locked/kz is out of the reach of user nobody: it cannot pass through .*/locked (Permission denied)" \
	    "$work/locked.log"

kill -TERM $frpid
wait_gone $frpid 10
finish
