# No personal data in logs, metrics or control outputs (issue 19, item 2).
#
# A ReadmissionRequest with a marker in every personal field a marker fits
# (names, aliases, birth date, places, address, document numbers,
# references, free text) goes from France to Kazakhstan and is accepted;
# schema-invalid variants (a BirthDate, a passport number and a surname
# carrying the marker) are posted to Kazakhstan as France and refused, and
# one is submitted to France's own gateway.  Then every log (both
# gateways' stderr), the HTTP answers (the signed Errors returned to the
# partner), `metrics`, and the control outputs (status, timeline, list,
# inbox, inbox --body without --reveal, alerts, queues, monitor) are
# grepped for the markers: none may hold one.  The reveal path is the
# counter-check: `inbox --reveal` does show them, so the grep can find
# them where they are.
. "$ACCORD_SRCDIR/tests/helpers/lib.sh"
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP the curl command is not installed"
	exit 0
fi
plan 16
make_workdir pd-logs
kzlog="$work/kz.log"
frlog="$work/fr.log"
pki="$work/pki"
kz_url="https://127.0.0.1:$kz_port/accord/v1/messages"
MARK=PDMARK7391		# fits a Name, a DocumentNumber, a ShortText
BIRTH=1913-02-27	# the birth date: a marker of its own
# holds FILE...: does any of them hold a marker?  (names the first)
holds() {
	grep -l -a -e "$MARK" -e "$BIRTH" "$@" 2>/dev/null | head -1
}
uuid() { cat /proc/sys/kernel/random/uuid; }
now() { date -u +%FT%TZ; }
# marked: the example request with the marker in every personal value
marked() {
	sed -e "s@>[^<]*</\(Surname\|GivenNames\|Locality\|Line\|PostalCode\|PhotoRef\|Number\|CopyRef\|Description\|Details\|AssistanceNeeds\|HealthNotes\)>@>$MARK</\1>@g" \
	    -e "s|<BirthDate>[^<]*<|<BirthDate>$BIRTH<|" "$@"
}
# invalid FROM TO ID CASE: the example envelope from France to
# Kazakhstan, marked, with one value made schema-invalid.  Unsigned: a
# receiver checks the schema before the signature (xmlsig_tool would not
# sign it), so the refusal is the same as for a signed one.
invalid() {
	marked "$ACCORD_SRCDIR/protocols/examples/valid/ReadmissionRequest.xml" |
	sed -e "s|$1|$2|" \
	    -e "s|<MessageId>.*</MessageId>|<MessageId>$3</MessageId>|" \
	    -e "s|<CaseId>.*</CaseId>|<CaseId>$4</CaseId>|" \
	    -e "s|<Created>.*</Created>|<Created>$(now)</Created>|" \
	    -e "s|<AgreementId>.*</AgreementId>|<AgreementId>KZ-FR-READMISSION-1</AgreementId>|" \
	    >"$work/bad.xml"
	grep -q -e "$2" "$work/bad.xml"
}
# post_to_kz FILE OUT: POST FILE to Kazakhstan as France; the HTTP status
post_to_kz() {
	curl -sS -o "$2" -w '%{http_code}' --max-time 20 \
	    --cacert "$pki/kz/ca.pem" --cert "$pki/fr/tls-client.pem" \
	    --key "$pki/fr/tls-client.key" -H 'Content-Type: application/xml' \
	    --data-binary @"$1" "$kz_url" 2>"$work/curl.err"
}

kzpid=
frpid=
monpid=
trap 'kill -TERM $kzpid $frpid $monpid 2>/dev/null' EXIT
start_kz
start_fr
kz monitor >"$work/monitor.out" 2>&1 &
monpid=$!
wait_for "$work/monitor.out" "following" 5

# ---- a valid request, a marker in every personal field -------------------
body ReadmissionRequest | marked >"$work/request.xml"
check "the marked request holds the markers (18 fields)" \
	[ "$(grep -o -e "$MARK" -e "$BIRTH" "$work/request.xml" | wc -l)" -eq 18 ]
out=$(fr submit KZ document=@"$work/request.xml" 2>&1)
case1=$(printf '%s' "$out" | sed -n 's/.*case //p')
printf '%s\n' "$out" >"$work/submit.out"
check "France's marked request reaches Kazakhstan ($case1)" \
	both 20 PENDING_REPLY "$case1"

# ---- schema-invalid variants, posted to Kazakhstan as France -----------------
n=0
for v in "<BirthDate>$BIRTH<|<BirthDate>$MARK#<" \
    "<Number>$MARK<|<Number>#$MARK#<" \
    "<Surname>$MARK<|<Surname>${MARK}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx<"
do
	n=$((n + 1))
	invalid "${v%%|*}" "${v#*|}" "$(uuid)" "FR-KZ-2026-pd$n-$(date +%s)"
	code=$(post_to_kz "$work/bad.xml" "$work/answer$n.xml")
	check "invalid variant $n is refused: 400, SCHEMA_INVALID ($code)" \
		sh -c '[ "$1" = 400 ] &&
		       grep -q "<Code>SCHEMA_INVALID</Code>" "$2"' _ "$code" \
		    "$work/answer$n.xml"
done
check "... each Error names the element, not the value" \
	sh -c 'grep -q "element Message/Body/ReadmissionRequest/Person/BirthDate" "$1" &&
	       grep -q "MeansOfProof/Number" "$2" &&
	       grep -q "Person/Surname" "$3"' _ "$work/answer1.xml" \
	    "$work/answer2.xml" "$work/answer3.xml"
# and France's operator submits an invalid one: refused by France itself
body ReadmissionRequest | marked |
    sed "s|<BirthDate>$BIRTH<|<BirthDate>$MARK<|" >"$work/bad-submit.xml"
fr submit KZ document=@"$work/bad-submit.xml" >"$work/bad-submit.out" 2>&1
check "France refuses its own operator's invalid request, naming the element" \
	grep -q "BirthDate" "$work/bad-submit.out"

# ---- every output -----------------------------------------------------------
for g in kz fr; do
	$g status "$case1" >"$work/$g.status" 2>&1
	$g timeline "$case1" >"$work/$g.timeline" 2>&1
	$g list >"$work/$g.list" 2>&1
	$g alerts >"$work/$g.alerts" 2>&1
	$g queues >"$work/$g.queues" 2>&1
	$g metrics >"$work/$g.metrics" 2>&1
	$g inbox >"$work/$g.inbox" 2>&1
	$g inbox --body >"$work/$g.body" 2>&1
done
kz inbox --reveal >"$work/reveal.out" 2>&1
check "inbox --reveal shows the markers (what the greps look for is there)" \
	[ "$(holds "$work/reveal.out")" = "$work/reveal.out" ]
check "inbox --body shows Kazakhstan the request, masked" \
	grep -q "<Surname>\*\*\*</Surname>" "$work/kz.body"
check "status, timeline and list name the case" \
	grep -q "$case1" "$work/kz.status" "$work/kz.timeline" "$work/kz.list"
kill -TERM $monpid 2>/dev/null
wait $monpid 2>/dev/null
monpid=
check "the monitor saw the request" \
	grep -q "MESSAGE_RECEIVED *ReadmissionRequest" "$work/monitor.out"
check "metrics answer (Prometheus text)" grep -q "^# TYPE" "$work/kz.metrics"
kill -TERM $kzpid $frpid 2>/dev/null
wait_gone "$kzpid" 10
wait_gone "$frpid" 10
kzpid=
frpid=
check "Kazakhstan's log has the refusals, by element (where values were)" \
	grep -q "SCHEMA_INVALID.*element Message/Body/ReadmissionRequest/Person/BirthDate" \
	    "$kzlog"
f=$(holds "$kzlog" "$frlog")
check "no marker in either gateway's log (${f:-none})" [ -z "$f" ]
f=$(holds "$work"/answer*.xml "$work/curl.err")
check "no marker in the Errors returned to the partner (${f:-none})" [ -z "$f" ]
f=$(holds "$work"/kz.* "$work"/fr.* "$work/monitor.out" "$work/submit.out" \
    "$work/bad-submit.out")
check "no marker in any control output, metrics included (${f:-none})" \
	[ -z "$f" ]
finish
