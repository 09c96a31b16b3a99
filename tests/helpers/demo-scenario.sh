# tests/helpers/demo-scenario.sh -- the two-gateway demo of issue 8,
# shared by `./quickstart demo` (against conf/) and tests/shell/demo.sh
# (make check, in a scratch copy with its own ports).  Sourced, POSIX sh.
#
# The caller sets:
#   DEMO_CTL DEMO_DAEMON     accordctl and accordd
#   DEMO_EXAMPLES            protocols/examples/valid
#   DEMO_TMP                 a directory for the documents it writes
#   kz_conf kz_sock kz_log kz_state   the Kazakhstan gateway: its
#   fr_conf fr_sock fr_log fr_state   configuration, control socket, log
#                                     and state directory; and France's
# and defines:
#   step TEXT        narrate a step
#   show             print stdin (a command's output) indented
#   demo_ok DESC     a check passed
#   demo_fail DESC   a check failed; must not return (demo_kill first)
#
# demo_run runs the three cases; DEMO_CHECKS is how many checks it makes.
#   (a) France asks readmission of a Kazakh citizen, urgent procedure;
#       Kazakhstan accepts, issues a travel document; France notifies the
#       transfer; Kazakhstan confirms the handover: COMPLETED on both.
#   (b) Kazakhstan sends a request while France's gateway is stopped: it
#       waits in the outbox, retried, and is delivered once France is
#       back (before (c): a restarted daemon starts on the real clock).
#   (c) France's standard-procedure request goes unanswered: both clocks
#       move past the reply deadline, both show DEEMED_ACCEPTED.
# Then both daemons stop with status 0, and both journals hold every
# message and its receipt.

DEMO_CHECKS=26
demo_pid_kz=
demo_pid_fr=

demo_check() {	# DESC COMMAND...
	_d=$1
	shift
	if "$@"; then demo_ok "$_d"; else demo_fail "$_d"; fi
}

kzctl() { "$DEMO_CTL" -s "$kz_sock" "$@"; }
frctl() { "$DEMO_CTL" -s "$fr_sock" "$@"; }

# The business document of a protocol example.
demo_body() {
	sed -n "/<$1 /,/<\/$1>/p" "$DEMO_EXAMPLES/$1.xml"
}

# demo_start kz|fr: start a gateway in the background, wait for it.
demo_start() {
	if [ "$1" = kz ]; then _c=$kz_conf _l=$kz_log; else _c=$fr_conf _l=$fr_log; fi
	_before=$(demo_count "started:" "$_l")
	"$DEMO_DAEMON" -d -c "$_c" >>"$_l" 2>&1 &
	eval "demo_pid_$1=\$!"
	_i=0
	while [ "$(demo_count "started:" "$_l")" -le "$_before" ]; do
		eval "kill -0 \$demo_pid_$1" 2>/dev/null || return 1
		_i=$((_i + 1))
		[ $_i -gt 200 ] && return 1
		sleep 0.1
	done
}

demo_count() {	# PATTERN FILE: lines of FILE that match, 0 without FILE
	_k=$(grep -c -- "$1" "$2" 2>/dev/null) || :
	echo "${_k:-0}"
}

# demo_stop kz|fr: SIGTERM, and the daemon's exit status must be 0.
demo_stop() {
	eval "_p=\$demo_pid_$1"
	eval "demo_pid_$1="
	[ -n "$_p" ] || return 1
	kill -TERM "$_p" 2>/dev/null || return 1
	wait "$_p"
}

demo_kill() {
	[ -z "$demo_pid_kz" ] || kill -TERM "$demo_pid_kz" 2>/dev/null || :
	[ -z "$demo_pid_fr" ] || kill -TERM "$demo_pid_fr" 2>/dev/null || :
	demo_pid_kz=
	demo_pid_fr=
	return 0
}

# demo_state SOCKET CASE: the case's state on that gateway.
demo_state() {
	"$DEMO_CTL" -s "$1" status "$2" 2>/dev/null |
	    sed -n '1s/^case [^ ]* with [A-Z]*: \([A-Z_]*\) .*/\1/p'
}

# demo_wait SECONDS STATE CASE: until both gateways show the state.
demo_wait() {
	_n=$(($1 * 10))
	while [ $_n -gt 0 ]; do
		[ "$(demo_state "$kz_sock" "$3")" = "$2" ] &&
		    [ "$(demo_state "$fr_sock" "$3")" = "$2" ] && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "    case $3: Kazakhstan $(demo_state "$kz_sock" "$3")," \
	    "France $(demo_state "$fr_sock" "$3"), expected $2" >&2
	return 1
}

# demo_submit SOCKET ARGS...: submit, print the answer, set $demo_case.
demo_submit() {
	_s=$1
	shift
	demo_out=$("$DEMO_CTL" -s "$_s" submit "$@" 2>&1)
	_rc=$?
	printf '%s\n' "$demo_out" | show
	demo_case=$(printf '%s' "$demo_out" | sed -n 's/^queued .*, case //p')
	demo_msg=$(printf '%s' "$demo_out" | sed -n 's/^queued \([^ ]*\) .*/\1/p')
	[ $_rc -eq 0 ] && [ -n "$demo_case" ]
}

# Both gateways list the same cases in the same states.
demo_agree() {
	kzctl list | awk 'NR > 1 && NF >= 3 && $1 == "FR" {print $2, $3}' |
	    sort >"$DEMO_TMP/kz.cases"
	frctl list | awk 'NR > 1 && NF >= 3 && $1 == "KZ" {print $2, $3}' |
	    sort >"$DEMO_TMP/fr.cases"
	[ -s "$DEMO_TMP/kz.cases" ] &&
	    cmp -s "$DEMO_TMP/kz.cases" "$DEMO_TMP/fr.cases"
}

# The message ids of a case's timeline on one gateway, sorted: all of
# them, or only the receipts (given or received), or only the others.
demo_ids() {	# SOCKET CASE [all|receipts|business]
	"$DEMO_CTL" -s "$1" timeline "$2" | awk -v w="${3:-all}" '
	    $3 == "message" && (w == "all" ||
	    (w == "receipts") == ($4 == "Receipt")) {print $5}' | sort
}

# Every case's timeline holds the same messages on both sides, and as
# many receipts as business messages.
demo_timelines() {
	for _c in $demo_cases; do
		demo_ids "$kz_sock" "$_c" >"$DEMO_TMP/kz.ids" || return 1
		demo_ids "$fr_sock" "$_c" >"$DEMO_TMP/fr.ids" || return 1
		cmp -s "$DEMO_TMP/kz.ids" "$DEMO_TMP/fr.ids" || return 1
		_m=$(demo_ids "$kz_sock" "$_c" business | wc -l)
		_r=$(demo_ids "$kz_sock" "$_c" receipts | wc -l)
		printf 'case %s: %s messages, %s receipts, on both sides\n' \
		    "$_c" "$_m" "$_r" | show
		[ "$_m" -gt 0 ] && [ "$_m" -eq "$_r" ] || return 1
	done
}

# Every one of those ids is in both journals' files (the signed bytes).
demo_journals() {
	_n=0
	for _c in $demo_cases; do
		for _id in $(demo_ids "$kz_sock" "$_c"); do
			cat "$kz_state"/journal/*.log | grep -a -q -- "$_id" ||
			    { echo "    $_id not in Kazakhstan's journal" >&2; return 1; }
			cat "$fr_state"/journal/*.log | grep -a -q -- "$_id" ||
			    { echo "    $_id not in France's journal" >&2; return 1; }
			_n=$((_n + 1))
		done
	done
	printf '%s messages and receipts, each in both journals\n' "$_n" |
	    show
	[ $_n -gt 0 ]
}

demo_documents() {
	today=$(date -u +%F)
	demo_body ReadmissionRequest >"$DEMO_TMP/request.xml"
	demo_body ReadmissionReply >"$DEMO_TMP/reply.xml"
	# a travel document valid 7 months from today (the agreement: 6)
	demo_body TravelDocumentNotice | sed \
	    -e "s|<ValidFrom>.*</ValidFrom>|<ValidFrom>$today</ValidFrom>|" \
	    -e "s|<ValidUntil>.*</ValidUntil>|<ValidUntil>$(date -u -d '+7 months' +%F)</ValidUntil>|" \
	    -e "s|RT-2026-00917|RT-$(date -u +%Y)-00917|" \
	    >"$DEMO_TMP/traveldoc.xml"
	# the transfer in 14 days (at least 5 working days' notice, inside
	# the 90-day transfer window)
	demo_transfer_at=$(date -u -d '+14 days' +%FT06:00:00Z)
	demo_body TransferNotice | sed \
	    -e "s|<TransferAt>.*</TransferAt>|<TransferAt>$demo_transfer_at</TransferAt>|" \
	    -e "s|<DepartureAt>.*</DepartureAt>|<DepartureAt>$(date -u -d '+13 days' +%FT20:10:00Z)</DepartureAt>|" \
	    >"$DEMO_TMP/transfer.xml"
	demo_body HandoverConfirmation | sed \
	    -e "s|<HandedOverAt>.*</HandedOverAt>|<HandedOverAt>$(date -u -d '+14 days' +%FT06:25:00Z)</HandedOverAt>|" \
	    >"$DEMO_TMP/handover.xml"
	# Kazakhstan's request: a French citizen
	demo_body ReadmissionRequest | sed \
	    -e 's|<Surname>Nurlanov</Surname>|<Surname>Morel</Surname>|' \
	    -e 's|<GivenNames>Aidar Serikovich</GivenNames>|<GivenNames>Julien</GivenNames>|' \
	    -e '/<Alias>/d' \
	    -e 's|Shymkent|Lyon|g' -e 's|<Country>KZ</Country>|<Country>FR</Country>|g' \
	    -e 's|<NationalityClaimed>KZ|<NationalityClaimed>FR|' \
	    -e 's|<Language>kk</Language>|<Language>fr</Language>|' \
	    -e 's|Kazakh driving licence|French driving licence|' \
	    -e 's|Almaty-Paris|Paris-Almaty|' \
	    >"$DEMO_TMP/request-kz.xml"
}

demo_run() {
	demo_documents
	step "starting the Kazakhstan gateway and the France gateway"
	demo_check "the Kazakhstan gateway starts" demo_start kz
	demo_check "the France gateway starts" demo_start fr

	# ---- (a) urgent procedure, to the end -------------------------------
	step "case 1: France asks readmission of a Kazakh citizen, urgent procedure"
	demo_check "France submits a ReadmissionRequest (--urgent)" \
	    demo_submit "$fr_sock" KZ document=@"$DEMO_TMP/request.xml" --urgent
	case_a=$demo_case
	demo_check "both gateways show $case_a PENDING_REPLY" \
	    demo_wait 20 PENDING_REPLY "$case_a"
	step "Kazakhstan received it; the reply deadline runs in its calendar"
	kzctl status "$case_a" | show
	step "Kazakhstan accepts (ReadmissionReply)"
	demo_check "Kazakhstan submits its ReadmissionReply" \
	    demo_submit "$kz_sock" FR case="$case_a" document=@"$DEMO_TMP/reply.xml"
	demo_check "both gateways show $case_a ACCEPTED" \
	    demo_wait 20 ACCEPTED "$case_a"
	step "Kazakhstan issues a travel document, valid until $(date -u -d '+7 months' +%F)"
	demo_check "Kazakhstan submits a TravelDocumentNotice" \
	    demo_submit "$kz_sock" FR case="$case_a" document=@"$DEMO_TMP/traveldoc.xml"
	demo_check "both gateways show $case_a DOCUMENTED" \
	    demo_wait 20 DOCUMENTED "$case_a"
	step "France notifies the transfer for $demo_transfer_at"
	demo_check "France submits a TransferNotice" \
	    demo_submit "$fr_sock" KZ case="$case_a" document=@"$DEMO_TMP/transfer.xml"
	demo_check "both gateways show $case_a TRANSFER_SCHEDULED" \
	    demo_wait 20 TRANSFER_SCHEDULED "$case_a"
	step "Kazakhstan confirms the handover"
	demo_check "Kazakhstan submits a HandoverConfirmation" \
	    demo_submit "$kz_sock" FR case="$case_a" document=@"$DEMO_TMP/handover.xml"
	demo_check "both gateways show $case_a COMPLETED" \
	    demo_wait 20 COMPLETED "$case_a"
	step "France's view of case 1"
	frctl status "$case_a" | show

	# ---- (b) France's gateway down ----------------------------------------
	step "case 2: France's gateway stops; Kazakhstan sends a request meanwhile"
	demo_check "France's gateway stops (exit status 0)" demo_stop fr
	demo_check "Kazakhstan submits a ReadmissionRequest to France" \
	    demo_submit "$kz_sock" FR document=@"$DEMO_TMP/request-kz.xml"
	case_b=$demo_case
	demo_check "the delivery fails and is retried; the message stays QUEUED" \
	    demo_queued "$demo_msg" "$case_b"
	kzctl status "$case_b" | show
	grep "$demo_msg to FR: attempt" "$kz_log" | sed 's/^accordd: //' | show
	step "France's gateway comes back"
	demo_check "France's gateway starts again" demo_start fr
	demo_check "the retry delivers $case_b: both show PENDING_REPLY" \
	    demo_wait 90 PENDING_REPLY "$case_b"
	grep "$demo_msg" "$kz_log" | tail -1 | sed 's/^accordd: //' | show

	# ---- (c) standard procedure, silence ------------------------------------
	step "case 3: France asks readmission under the standard procedure"
	demo_check "France submits a ReadmissionRequest" \
	    demo_submit "$fr_sock" KZ document=@"$DEMO_TMP/request.xml"
	case_c=$demo_case
	demo_check "both gateways show $case_c PENDING_REPLY" \
	    demo_wait 20 PENDING_REPLY "$case_c"
	due=$(kzctl list | awk -v c="$case_c" '$2 == c {print $5}')
	now=$(kzctl clock show 2>/dev/null)
	days=$(( ($(date -u -d "$due" +%s) - $(date -u -d "${now:-now}" +%s)) / 86400 + 1 ))
	step "Kazakhstan does not answer: both clocks advance ${days}d, past the reply deadline $due"
	demo_check "both clocks advance ${days}d" demo_advance "${days}d"
	demo_check "both gateways show $case_c DEEMED_ACCEPTED (silence means consent)" \
	    demo_wait 20 DEEMED_ACCEPTED "$case_c"
	step "(case 2's reply deadline, in France's calendar, has passed as well)"

	# ---- the end ----------------------------------------------------------
	step "both gateways' cases"
	kzctl list | show
	frctl list | show
	demo_check "both gateways show the same state for every case" demo_agree
	demo_cases="$case_a $case_b $case_c"
	step "the journals: every message and its receipt"
	demo_check "each case's timeline holds the same messages on both sides, each with its receipt" \
	    demo_timelines
	demo_check "every message and receipt is in both journals" demo_journals
	step "stopping both gateways"
	demo_check "the Kazakhstan gateway stops (exit status 0)" demo_stop kz
	demo_check "the France gateway stops (exit status 0)" demo_stop fr
}

# After demo_run (both daemons stopped): accord-audit's verdict on both
# journals, one line each.  The caller sets DEMO_AUDIT (accord-audit) and
# DEMO_PKI (the PKI directory: trust anchors and signing certificates).
# @return 0 if every verdict is "0 findings".
demo_audit() {
	_rc=0
	for _g in kz fr; do
		if [ $_g = kz ]; then
			_n=Kazakhstan _j=$kz_state/journal
			_c=$DEMO_PKI/kz/sign-rsa.pem
		else
			_n=France _j=$fr_state/journal
			_c=$DEMO_PKI/fr/sign-ec.pem
		fi
		_v=$("$DEMO_AUDIT" verify --cert "$_c" --trust "$DEMO_PKI" \
		    "$_j" 2>&1) || _rc=1
		printf '%s\n' "$_v" | awk -v n="$_n" '
		    /^verify:/ { v = $0 } $1 == "records" { r = $2 }
		    $1 == "checkpoints_verified" { c = $2 }
		    END { printf "accord-audit verify, %s'"'"'s journal: %s " \
			"(%s records, %s checkpoints verified)\n", n, v, r, c }'
	done
	_w=$("$DEMO_AUDIT" witness "$kz_state/journal" \
	    --partner "$fr_state/journal" 2>&1) || _rc=1
	printf 'accord-audit witness, Kazakhstan against France: %s\n' \
	    "$(printf '%s\n' "$_w" | grep '^witness:')"
	return $_rc
}

# The first attempt failed (logged), a retry is scheduled, still QUEUED.
demo_queued() {	# MESSAGE CASE
	_n=200
	until grep -q "$1 to FR: attempt 1 failed: .*; next in" "$kz_log"; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || return 1
		sleep 0.1
	done
	kzctl status "$2" | grep -q "out ReadmissionRequest *QUEUED"
}

demo_advance() {
	_t1=$(kzctl clock advance "$1") && _t2=$(frctl clock advance "$1") ||
	    return 1
	echo "Kazakhstan's clock: $_t1, France's clock: $_t2" | show
}
