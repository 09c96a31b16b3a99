/*
 * engine_ops.c -- operator commands: a domestic fact recorded on a case,
 * an inbox acknowledgement, pausing a partner, resending a message of
 * ours, and journalling who was shown personal data.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "msg/envelope.h"

/* ---- operator commands on messages and partners ---------------------- */

/*
 * Tell the partner what a protection claim does to the transfer it was
 * told of: a ProtectionNotice, always in protocol version 2 (a case opened
 * in version 1 keeps its other messages there).  @return 0 queued in
 * *out, -1 with ans saying why the partner could not be told.
 */
static int
engine_tell_protection(struct engine *e, const struct agreement *a,
    uid_t uid, const char *case_id, const struct fsm_case *c,
    accord_time_t now, struct engine_outgoing *out,
    struct engine_answer *ans)
{
	struct engine_submission sub;
	const char *status;
	char doc[512], at[32];

	status = fsm_protection_name(fsm_protection_status(c));
	if (status == NULL)
		return 0;
	if (!agreement_allows(a, MSG_PROTECTION_NOTICE)) {
		engine_answer_set(ans, 200, AE_OK, "%s cannot be told in a "
		    "ProtectionNotice (protocol version 2 not agreed): tell "
		    "them %s by other means", a->country, status);
		log_warnx(ETAG, "case %s with %s: %s", case_id, a->country,
		    ans->text);
		return -1;
	}
	clock_format_utc(now, at, sizeof(at));
	snprintf(doc, sizeof(doc), "<ProtectionNotice xmlns=\"%s\">"
	    "<Status>%s</Status><RecordedAt>%s</RecordedAt>"
	    "</ProtectionNotice>", ENVELOPE_MSG_NS_2, status, at);
	memset(&sub, 0, sizeof(sub));
	sub.partner = a->country;
	sub.case_id = case_id;
	sub.uid = uid;
	if (engine_submit(e, &sub, doc, strlen(doc), out, ans) == -1) {
		log_warnx(ETAG, "case %s with %s: no ProtectionNotice: %s",
		    case_id, a->country, ans->text);
		return -1;
	}
	return 0;
}

int
engine_record(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, enum fsm_record fact, int risk_found,
    const char *note, struct engine_outgoing *out, struct engine_answer *ans)
{
	const struct agreement *a;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t now = clock_now();
	struct engine_answer told;
	char buf[256];
	json_t *cmd;

	memset(ans, 0, sizeof(*ans));
	memset(out, 0, sizeof(*out));
	if (engine_lagging(e, ans))
		return -1;
	a = config_partner(e->conf, partner);
	if (a == NULL || engine_case_get(e, partner, case_id, &c) != 1) {
		engine_answer_set(ans, 404, AE_UNKNOWN_CASE, "no case %s with "
		    "%s", case_id, partner);
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = FSM_EV_RECORD;
	ev.record = fact;
	ev.risk_found = risk_found;
	ev.at = now;
	if (fsm_decide(&c, &ev, a, engine_requested_cal(e, a, &c), now,
	    &d) == -1) {
		engine_answer_set(ans, 422, d.refusal, "%s", d.text);
		return -1;
	}
	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s, s:b, s:s}", "command",
	    "record", "uid", (int)uid, "partner", partner, "case", case_id,
	    "fact", fact == FSM_REC_PROTECTION_CLAIM ? "protection-claim" :
	    "assessment", "risk_found", risk_found, "note",
	    note != NULL ? note : "");
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    engine_journal_decision(e, partner, case_id, NULL, &c, &ev, now,
	    &d) == -1 || engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed");
		return -1;
	}
	if (d.effects & FSM_EFF_TELL_PROTECTION) {
		fsm_apply(&c, &d);
		if (engine_tell_protection(e, a, uid, case_id, &c, now, out,
		    &told) == -1) {
			engine_answer_set(ans, 200, AE_OK, "%s; %s",
			    fsm_describe(&d, buf, sizeof(buf)), told.text);
			return 0;
		}
		engine_answer_set(ans, 200, AE_OK, "%s; ProtectionNotice %s "
		    "queued for %s", fsm_describe(&d, buf, sizeof(buf)),
		    told.message_id, a->country);
		return 0;
	}
	engine_answer_set(ans, 200, AE_OK, "%s", d.event);
	return 0;
}

int
engine_inbox_ack(struct engine *e, uid_t uid, const char *partner,
    const char *message_id, struct engine_answer *ans)
{
	struct store_message m;
	struct record_ack ack;
	char *payload;
	size_t plen;
	json_t *cmd;
	int acked, inbox, found;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	if (engine_flush(e) == -1 ||
	    (inbox = store_inbox_get(e->store, partner, message_id,
	    &acked)) == -1 ||
	    (found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_IN, &m)) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		return -1;
	}
	if (found != 1 || inbox != 1) {
		engine_answer_set(ans, 404, AE_INVALID_FIELD, "no received "
		    "business message %s from %s", message_id, partner);
		return -1;
	}
	if (acked) {
		/* at least once: a second ack changes nothing */
		engine_answer_set(ans, 200, AE_OK, "%s was already "
		    "acknowledged", message_id);
		return 0;
	}
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.partner, sizeof(ack.partner), "%s", partner);
	snprintf(ack.message_id, sizeof(ack.message_id), "%s", message_id);
	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s}", "command", "ack", "uid",
	    (int)uid, "partner", partner, "case", m.case_id, "message",
	    message_id);
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    record_ack_encode(&ack, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_INBOX_ACK, payload, plen) == -1 ||
	    engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: not acknowledged");
		return -1;
	}
	snprintf(ans->message_id, sizeof(ans->message_id), "%s", message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", m.case_id);
	engine_answer_set(ans, 200, AE_OK, "%s acknowledged", message_id);
	log_info(ETAG, "%s from %s acknowledged by uid %u", message_id,
	    partner, (unsigned)uid);
	return 0;
}

int
engine_pause(struct engine *e, uid_t uid, const char *partner, int paused,
    struct engine_answer *ans)
{
	struct record_pause rp;
	char *payload;
	size_t plen;
	json_t *cmd;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	if (config_partner(e->conf, partner) == NULL) {
		engine_answer_set(ans, 400, AE_UNKNOWN_PARTNER, "no agreement "
		    "with '%s'", partner);
		return -1;
	}
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.partner, sizeof(rp.partner), "%s", partner);
	rp.paused = paused != 0;
	cmd = json_pack("{s:s, s:i, s:s}", "command", paused ? "pause" :
	    "resume", "uid", (int)uid, "partner", partner);
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    record_pause_encode(&rp, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_PARTNER_PAUSE, payload, plen) == -1 ||
	    engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: nothing changed");
		return -1;
	}
	engine_answer_set(ans, 200, AE_OK, "delivery to %s %s", partner,
	    paused ? "paused" : "resumed");
	log_info(ETAG, "delivery to %s %s by uid %u", partner, paused ?
	    "paused" : "resumed", (unsigned)uid);
	return 0;
}

int
engine_resend(struct engine *e, uid_t uid, const char *partner,
    const char *message_id, struct engine_answer *ans)
{
	struct record_msgstate ms;
	struct store_message m;
	struct fsm_case c;
	char *payload;
	size_t plen;
	json_t *cmd;
	int found;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	if (engine_flush(e) == -1 || (found = store_message_find(e->store,
	    partner, message_id, RECORD_DIR_OUT, &m)) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		return -1;
	}
	if (found == 0) {
		engine_answer_set(ans, 404, AE_INVALID_FIELD, "no message %s "
		    "of ours to %s", message_id, partner);
		return -1;
	}
	if (m.state != RECORD_MS_UNDELIVERED && m.state != RECORD_MS_DISPUTED) {
		engine_answer_set(ans, 409, AE_NOT_ALLOWED_IN_STATE, "%s is %s: "
		    "only UNDELIVERED or DISPUTED messages are resent",
		    message_id, record_msg_state_name(m.state));
		return -1;
	}
	/* an opening message that never arrived leaves its case SUBMITTED
	 * (engine_undelivered): only a final Error closed it, and then
	 * sending it again would open a case this side no longer has */
	if (engine_case_get(e, partner, m.case_id, &c) == 1 &&
	    fsm_state_final(c.state)) {
		engine_answer_set(ans, 409, AE_NOT_ALLOWED_IN_STATE, "case %s "
		    "is %s: submit a new message instead", m.case_id,
		    fsm_state_name(c.state));
		return -1;
	}
	memset(&ms, 0, sizeof(ms));
	snprintf(ms.partner, sizeof(ms.partner), "%s", partner);
	snprintf(ms.message_id, sizeof(ms.message_id), "%s", message_id);
	ms.direction = RECORD_DIR_OUT;
	ms.state = RECORD_MS_QUEUED;
	snprintf(ms.reason, sizeof(ms.reason), "resent by uid %u (was %s)",
	    (unsigned)uid, record_msg_state_name(m.state));
	/* when it was asked: the transport's retry window runs from here,
	 * and attempts counted mark it as resent, so it goes inside a
	 * Redelivery (v2) with the original's identity and meaning */
	ms.next_attempt = clock_now();
	ms.attempts = 1;
	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "command", "resend",
	    "uid", (int)uid, "partner", partner, "case", m.case_id, "message",
	    message_id, "was", record_msg_state_name(m.state));
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    record_msgstate_encode(&ms, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_MESSAGE_STATE, payload, plen) == -1 ||
	    engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: nothing was queued");
		return -1;
	}
	snprintf(ans->message_id, sizeof(ans->message_id), "%s", message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", m.case_id);
	engine_answer_set(ans, 200, AE_OK, "%s queued again for %s",
	    message_id, partner);
	log_info(ETAG, "%s to %s queued again by uid %u (was %s)", message_id,
	    partner, (unsigned)uid, record_msg_state_name(m.state));
	return 0;
}

int
engine_reveal_journal(struct engine *e, uid_t uid, const char *command,
    const char *partner, const char *case_id, const char *message_id)
{
	json_t *cmd;

	if (e->store_behind)
		return -1;	/* shows nothing until it can be journalled */

	cmd = json_pack("{s:s, s:s, s:b, s:i, s:s, s:s, s:s}", "command",
	    "reveal", "what", command, "reveal", 1, "uid", (int)uid,
	    "partner", partner != NULL ? partner : "", "case",
	    case_id != NULL ? case_id : "", "message",
	    message_id != NULL ? message_id : "");
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    engine_flush(e) == -1) {
		log_errx(ETAG, "reveal to uid %u could not be journalled: "
		    "refused", (unsigned)uid);
		return -1;
	}
	log_info(ETAG, "personal data of %s/%s shown to uid %u (%s)",
	    partner != NULL ? partner : "-", message_id != NULL &&
	    *message_id ? message_id : case_id != NULL ? case_id : "-",
	    (unsigned)uid, command);
	return 0;
}
