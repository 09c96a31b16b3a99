/*
 * engine_in.c -- a partner's message: checked before and after
 * authentication, a duplicate answered with its original answer, a
 * Redelivery unwrapped, a standalone Receipt taken, anything else decided
 * by the fsm, journalled and answered with a signed Receipt or Error.
 */
#include <stdio.h>
#include <string.h>

#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/envelope.h"
#include "msg/model.h"
#include "msg/parser.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/xmalloc.h"

/* ---- inbound ------------------------------------------------------------ */

/*
 * A standalone Receipt (v2), already parsed and verified: taken like the
 * answer to our POST when the message it names is ours and still waits
 * for it.  Signals are never answered with a signal: the answer is a
 * plain status (200 taken or known, 409 not ours), never journalled when
 * refused.
 */
static int
engine_standalone_receipt(struct engine *e, const struct agreement *a,
    const struct model *m, const char *bytes, size_t len,
    struct engine_answer *ans)
{
	char id[RECORD_ID_MAX];
	int rc;

	if (!m->received_id.has || strlen(m->received_id.text) >= sizeof(id)) {
		engine_answer_set(ans, 409, AE_SCHEMA_INVALID, "Receipt "
		    "without ReceivedMessageId");
		return 0;
	}
	snprintf(id, sizeof(id), "%s", m->received_id.text);
	rc = engine_receipt_take(e, a->country, id, bytes, len, ans, 0, m,
	    NULL);
	if (rc == -1) {
		if (ans->status == 0)
			engine_answer_set(ans, 503, AE_TEMPORARY, "the receipt "
			    "could not be recorded");
		return -1;
	}
	engine_answer_clear(ans);	/* no signal answers a signal */
	if (ans->code == AE_OK) {
		ans->status = 200;
		log_info(ETAG, "standalone receipt from %s for %s: %s",
		    a->country, id, ans->text);
	} else {
		ans->status = 409;
		log_warnx(ETAG, "standalone receipt from %s for %s not taken: "
		    "%s", a->country, id, ans->text);
	}
	return 0;
}

/*
 * Is the latest message of ours in this case still without its receipt?
 * Messages of one case leave in order, so only the latest can be.  While
 * it is, a partner message the fsm does not allow may only have overtaken
 * that receipt: it gets NOT_YET, not a final refusal (DESIGN.md 3).
 */
static int
engine_awaiting_receipt(struct engine *e, const char *partner,
    const char *case_id)
{
	struct store_message m;

	return store_case_last_message(e->store, partner, case_id,
	    RECORD_DIR_OUT, &m) == 1 && engine_msg_pending(m.state);
}

/* Refused before authentication: logged and answered, not journalled. */
static int
engine_refuse_early(struct engine *e, const struct agreement *a,
    const struct envelope_header *h, enum accord_err code, const char *text,
    struct engine_answer *ans)
{
	engine_answer_set(ans, errcode_http_status(code), code, "%s", text);
	log_warnx(ETAG, "refused a message from %s: %s: %s", a->country,
	    errcode_name(code), text);
	if (engine_make_error(e, a, h, code, text, ans, NULL) == -1)
		return -1;
	return 0;
}

/* What engine_duplicate() found for a received (partner, MessageId). */
enum engine_dup {
	ENGINE_DUP_ERROR = -1,	/* the lookup failed (logged) */
	ENGINE_DUP_NEW = 0,	/* not seen before */
	ENGINE_DUP_SAME,	/* seen with these bytes: the original answer
				 * is in ans */
	ENGINE_DUP_CONFLICT,	/* seen with other bytes */
	ENGINE_DUP_COMMITTING	/* seen, and still being committed: its
				 * answer may not leave yet */
};

/* Same (partner, MessageId) seen before, unapplied records first? */
static enum engine_dup
engine_duplicate(struct engine *e, const char *partner,
    const char *message_id, const char *sha256, struct engine_answer *ans)
{
	struct store_message m;
	size_t i;
	int found;

	for (i = 0; i < e->npmsgs; i++) {
		if (strcmp(e->pmsgs[i].partner, partner) != 0 ||
		    strcmp(e->pmsgs[i].message_id, message_id) != 0 ||
		    e->pmsgs[i].dir != RECORD_DIR_IN)
			continue;
		if (strcmp(e->pmsgs[i].sha256, sha256) != 0)
			return ENGINE_DUP_CONFLICT;
		if (engine_seq_in_flight(e, e->pmsgs[i].seq))
			return ENGINE_DUP_COMMITTING;
		if (e->pmsgs[i].answer == NULL)
			return ENGINE_DUP_ERROR;
		ans->body = xmalloc(e->pmsgs[i].answer_len);
		memcpy(ans->body, e->pmsgs[i].answer, e->pmsgs[i].answer_len);
		ans->len = e->pmsgs[i].answer_len;
		return ENGINE_DUP_SAME;
	}
	found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_IN, &m);
	if (found == -1)
		return ENGINE_DUP_ERROR;
	if (found == 0)
		return ENGINE_DUP_NEW;
	if (strcmp(m.sha256, sha256) != 0)
		return ENGINE_DUP_CONFLICT;
	/* the original answer's bytes are in the journal */
	if (m.receipt_seq == 0 ||
	    engine_message_bytes(e, m.receipt_seq, &ans->body, &ans->len) == -1)
		return ENGINE_DUP_ERROR;
	return ENGINE_DUP_SAME;
}

int
engine_refuse_unread(struct engine *e, const char *tls_partner,
    enum accord_err code, const char *text, struct engine_answer *ans)
{
	const struct agreement *a;

	memset(ans, 0, sizeof(*ans));
	if ((a = config_partner(e->conf, tls_partner)) == NULL) {
		engine_answer_set(ans, 403, AE_UNKNOWN_PARTNER, "no agreement "
		    "with %s", tls_partner);
		return 0;
	}
	if (engine_refuse_early(e, a, NULL, code, text, ans) == -1)
		return -1;
	engine_metrics_answer(tls_partner, ans);
	return 0;
}

/* A message carried by a Redelivery (v2): the outer envelope's facts. */
struct engine_redelivered {
	const struct envelope_header	*outer;
	const struct envelope_redelivery *r;
	accord_time_t			 now;	/* the Redelivery's arrival */
};

static int engine_receive_rx(struct engine *, const char *, const char *,
    size_t, struct engine_answer *, const struct engine_redelivered *,
    struct engine_rx *);

int
engine_receive(struct engine *e, const char *tls_partner, const char *bytes,
    size_t len, struct engine_answer *ans)
{
	if (engine_receive_rx(e, tls_partner, bytes, len, ans, NULL,
	    NULL) == -1)
		return -1;
	engine_metrics_answer(tls_partner, ans);
	return 0;
}

void
engine_rx_prepare(struct engine *e, const char *tls_partner,
    struct engine_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	snprintf(rx->partner, sizeof(rx->partner), "%s", tls_partner);
	rx->lim.max_size = e->conf->max_message_size;
	rx->lim.max_depth = e->conf->max_xml_depth;
	rx->now = clock_now();
	rx->pc = e->parser;
	rx->rc = -1;
}

void
engine_rx_parse(struct engine_rx *rx, const char *bytes, size_t len)
{
	if (rx->pc != NULL)
		rx->rc = parser_client_read(rx->pc, rx->partner, bytes, len,
		    &rx->lim, rx->now, &rx->m);
}

int
engine_receive_parsed(struct engine *e, struct engine_rx *rx,
    const char *bytes, size_t len, struct engine_answer *ans)
{
	int rc;

	rc = engine_receive_rx(e, rx->partner, bytes, len, ans, NULL, rx);
	model_clear(&rx->m);
	if (rc == -1)
		return -1;
	engine_metrics_answer(rx->partner, ans);
	return 0;
}

/*
 * A Redelivery (v2), authenticated and fresh by its own Created: the
 * original it carries is received as if it came now by itself, except
 * that it is judged by its own Created for timeliness and never refused
 * as stale; a duplicate of it (by its own MessageId) gets its original
 * receipt.  The answer is the original's.
 */
static int
engine_redelivery(struct engine *e, const struct agreement *a,
    const struct model *m, accord_time_t now, struct engine_answer *ans)
{
	const struct envelope_redelivery *r = &m->rdv;
	struct engine_redelivered rdv;

	/* the parser decoded the Original of the Redelivery it verified */
	if (m->rdv_code != AE_OK || r->original == NULL)
		return engine_refuse_early(e, a, &m->h, m->rdv_code != AE_OK ?
		    m->rdv_code : AE_SCHEMA_INVALID, m->rdv_code != AE_OK ?
		    m->rdv_text : "no Original", ans);
	rdv.outer = &m->h;
	rdv.r = r;
	rdv.now = now;
	log_info(ETAG, "%s from %s: a Redelivery of %s %s", m->h.message_id,
	    a->country, agreement_msg_type_name(r->original_type),
	    r->original_id);
	return engine_receive_rx(e, a->country, r->original, r->original_len,
	    ans, &rdv, NULL);
}

/*
 * The steps of engine_receive_rx(), in their order.  A step that returns
 * 1 has answered the message (*rc is what engine_receive returns); 0
 * goes on to the next step.
 */

/* 1. size, parse, schema: before authentication.  A parser reads the
 * bytes into *m (the caller clears it), the signature verified or not
 * (step 2 judges it), unless pre is the read done already (its model is
 * moved into *m); sha256 is the engine's own digest of the bytes. */
static int
engine_rx_read(struct engine *e, const struct agreement *a,
    const char *bytes, size_t len, const char *sha256, accord_time_t now,
    const struct engine_redelivered *rdv, struct engine_rx *pre,
    struct model *m, struct engine_answer *ans, int *rc)
{
	const struct envelope_header *h = &m->h;
	struct envelope_limits lim;
	struct envelope_error err;

	lim.max_size = e->conf->max_message_size;
	lim.max_depth = e->conf->max_xml_depth;
	if (engine_parse(e, a, bytes, len, &lim, now, pre, m) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "the message could "
		    "not be read on our side; retry");
		*rc = -1;
		return 1;
	}
	if (strcmp(m->sha256, sha256) != 0) {
		/* a model of other bytes: a parser gone wrong */
		log_warnx(ETAG, "a parser answered for other bytes than %s's",
		    a->country);
		engine_answer_set(ans, 503, AE_TEMPORARY, "the message could "
		    "not be read on our side; retry");
		*rc = -1;
		return 1;
	}
	if (m->stage == MODEL_REFUSED) {
		*rc = engine_refuse_early(e, a, NULL, m->code, m->text, ans);
		return 1;
	}
	if (m->stage == MODEL_NO_HEADER) {
		*rc = engine_refuse_early(e, a, NULL, AE_SCHEMA_INVALID,
		    "unreadable header", ans);
		return 1;
	}
	snprintf(ans->message_id, sizeof(ans->message_id), "%s",
	    h->message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", h->case_id);
	if (rdv != NULL && envelope_redelivery_check(rdv->r, rdv->outer, h,
	    &err) == -1) {
		*rc = engine_refuse_early(e, a, rdv->outer, err.code, err.text,
		    ans);
		return 1;
	}
	/* a protocol version the agreement does not list is refused as a
	 * gateway without that version's schemas would refuse it */
	if (!agreement_accepts_version(a, h->version)) {
		char why[128];

		snprintf(why, sizeof(why), "protocol version %d is not "
		    "accepted under agreement %s", h->version,
		    a->agreement_id);
		*rc = engine_refuse_early(e, a, h, AE_SCHEMA_INVALID, why,
		    ans);
		return 1;
	}
	return 0;
}

/* 2. signature, with the TLS partner's pinned certificates (as the
 * parser found it); 3. belonging (authenticated from here on, but still
 * refused without a trace in the journal: it was not for us to decide). */
static int
engine_rx_authentic(struct engine *e, const struct agreement *a,
    const struct model *m, struct engine_answer *ans, int *rc)
{
	const struct envelope_header *h = &m->h;

	if (m->stage != MODEL_VERIFIED) {
		*rc = engine_refuse_early(e, a, h, m->code, m->text, ans);
		return 1;
	}
	if (strcmp(h->from_country, a->country) != 0) {
		*rc = engine_refuse_early(e, a, h, AE_PARTNER_MISMATCH,
		    "From is not the partner of this TLS connection", ans);
		return 1;
	}
	/* the partner's certificate signs for its own authority only */
	if (strcmp(h->from_authority, a->authority) != 0) {
		*rc = engine_refuse_early(e, a, h, AE_PARTNER_MISMATCH,
		    "From/Authority is not the partner's authority under "
		    "this agreement", ans);
		return 1;
	}
	if (strcmp(h->to_country, e->conf->country) != 0 ||
	    strcmp(h->to_authority, e->conf->authority) != 0) {
		*rc = engine_refuse_early(e, a, h, AE_WRONG_RECIPIENT,
		    "To is not this gateway", ans);
		return 1;
	}
	if (strcmp(h->agreement_id, a->agreement_id) != 0) {
		*rc = engine_refuse_early(e, a, h, AE_AGREEMENT_MISMATCH,
		    "AgreementId is not the one with this partner", ans);
		return 1;
	}
	return 0;
}

/* A signal posted by itself (a v2 Receipt) or a Redelivery: taken here. */
static int
engine_rx_signal(struct engine *e, const struct agreement *a,
    const struct model *m, const char *bytes, size_t len, accord_time_t now,
    const struct engine_redelivered *rdv, struct engine_answer *ans,
    int *rc)
{
	const struct envelope_header *h = &m->h;
	accord_time_t window;

	if (h->type == MSG_RECEIPT && h->version >= 2) {
		/* v2: a partner's stored Receipt for one of our messages,
		 * posted after we answered NOT_YET (not stale: it may be as
		 * old as the message it answers; a replay changes nothing) */
		if (h->created > now + e->conf->clock_skew) {
			engine_answer_set(ans, 409, AE_STALE_OR_FUTURE,
			    "Receipt created in the future");
			*rc = 0;
			return 1;
		}
		if (e->alive != NULL)
			e->alive(e->alive_arg, a->country);
		*rc = engine_standalone_receipt(e, a, m, bytes, len, ans);
		return 1;
	}
	if (h->type == MSG_REDELIVERY && rdv == NULL) {
		window = (accord_time_t)a->retry.window_seconds +
		    e->conf->clock_skew;
		if (h->created > now + e->conf->clock_skew ||
		    h->created < now - window) {
			*rc = engine_refuse_early(e, a, h, AE_STALE_OR_FUTURE,
			    "the Redelivery's Created is outside the accepted "
			    "window", ans);
			return 1;
		}
		*rc = engine_redelivery(e, a, m, now, ans);
		return 1;
	}
	return 0;
}

/* A business message the agreement carries here, created within the
 * accepted window. */
static int
engine_rx_admit(struct engine *e, const struct agreement *a,
    const struct envelope_header *h, accord_time_t now,
    const struct engine_redelivered *rdv, struct engine_answer *ans,
    int *rc)
{
	accord_time_t window;

	if (h->type == MSG_RECEIPT || h->type == MSG_ERROR ||
	    h->type == MSG_REDELIVERY || !agreement_allows(a, h->type)) {
		*rc = engine_refuse_early(e, a, h, AE_TYPE_NOT_AGREED,
		    "the agreement does not carry this message type here",
		    ans);
		return 1;
	}
	window = (accord_time_t)a->retry.window_seconds + e->conf->clock_skew;
	/* a redelivered original may be old: its Redelivery was fresh */
	if (h->created > now + e->conf->clock_skew ||
	    (rdv == NULL && h->created < now - window)) {
		*rc = engine_refuse_early(e, a, h, AE_STALE_OR_FUTURE,
		    "Created is outside the accepted window", ans);
		return 1;
	}
	return 0;
}

/* 4. duplicates, unapplied records included: answered with the original
 * answer, refused, or (new) gone on with. */
static int
engine_rx_duplicate(struct engine *e, const struct agreement *a,
    const struct envelope_header *h, const char *sha256,
    struct engine_answer *ans, int *rc)
{
	switch (engine_duplicate(e, a->country, h->message_id, sha256, ans)) {
	case ENGINE_DUP_NEW:
		break;
	case ENGINE_DUP_SAME:
		engine_answer_set(ans, 200, AE_OK, "duplicate: the original "
		    "answer again");
		*rc = 0;
		return 1;
	case ENGINE_DUP_CONFLICT:
		*rc = engine_refuse_early(e, a, h, AE_DUPLICATE_CONFLICT,
		    "this MessageId was received with other bytes", ans);
		return 1;
	case ENGINE_DUP_ERROR:
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		*rc = -1;
		return 1;
	case ENGINE_DUP_COMMITTING:
		engine_answer_set(ans, 503, AE_TEMPORARY, "the first copy of "
		    "this message is being committed; retry");
		*rc = -1;
		return 1;
	}
	return 0;
}

/*
 * RefToMessageId: a reply (engine_reply_to) names the message of ours it
 * answers, of the type it answers, in its own case; any other message
 * names none, or a message of ours in its case.  @return 0 when it does,
 * 1 when not (why set), -1 when the store cannot tell.
 */
static int
engine_rx_ref(struct engine *e, const struct agreement *a,
    const struct envelope_header *h, char *why, size_t whylen)
{
	struct store_message m;
	int want, found;

	want = engine_reply_to(h->type);
	if (h->ref_to[0] == '\0') {
		if (want < 0)
			return 0;
		snprintf(why, whylen, "Header/RefToMessageId is missing: a %s "
		    "names the %s it answers",
		    agreement_msg_type_name(h->type),
		    agreement_msg_type_name(want));
		return 1;
	}
	found = store_message_find(e->store, a->country, h->ref_to,
	    RECORD_DIR_OUT, &m);
	if (found == -1)
		return -1;
	if (found == 0 || strcmp(m.case_id, h->case_id) != 0) {
		snprintf(why, whylen, "Header/RefToMessageId names no message "
		    "of ours in this case");
		return 1;
	}
	if (want >= 0 && m.type != (enum msg_type)want) {
		snprintf(why, whylen, "Header/RefToMessageId names a %s, not "
		    "the %s a %s answers", agreement_msg_type_name(m.type),
		    agreement_msg_type_name(want),
		    agreement_msg_type_name(h->type));
		return 1;
	}
	return 0;
}

/* *d refuses the message for what why says (INVALID_FIELD): refused
 * like a refusal of the fsm (journalled, a signed Error), and the case
 * stays as it was. */
static void
engine_rx_invalid(const struct envelope_header *h, const struct fsm_case *c,
    const char *why, struct fsm_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->version = FSM_VERSION;
	d->refusal = AE_INVALID_FIELD;
	d->old_state = d->new_state = c->state;
	d->next = *c;
	snprintf(d->text, sizeof(d->text), "%s", why);
	snprintf(d->event, sizeof(d->event), "%s received",
	    agreement_msg_type_name(h->type));
}

/* 5. the fsm: the case, the event, the decision into *c, *ev and *d; a
 * message that may only have overtaken our receipt is refused to retry.
 * Dates that cannot be (in the partner's calendar) are refused before the
 * fsm, like a field the schema refuses; what the fsm allows must still
 * name, in RefToMessageId, a message of ours that exists. */
static int
engine_rx_decide(struct engine *e, const struct agreement *a,
    const struct model *m, accord_time_t now, struct fsm_case *c,
    struct fsm_event *ev, struct fsm_decision *d, struct engine_answer *ans,
    int *rc)
{
	const struct envelope_header *h = &m->h;
	char why[sizeof(d->text)];
	int found, ref = 0;

	found = engine_case_for(e, a->country, h->case_id, h->type, 1, c);
	if (found == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		*rc = -1;
		return 1;
	}
	memset(ev, 0, sizeof(*ev));
	ev->kind = FSM_EV_RECEIVED;
	ev->at = now;
	engine_event_facts(m, ev);
	engine_facts_verdicts(a, ev);
	if (found == 0 && !engine_opens(h->type)) {
		memset(d, 0, sizeof(*d));
		d->version = FSM_VERSION;
		d->refusal = AE_UNKNOWN_CASE;
		snprintf(d->text, sizeof(d->text), "no case %s with %s",
		    h->case_id, a->country);
	} else if (engine_check_dates(m, &a->calendar, now,
	    e->conf->clock_skew, why, sizeof(why)) == -1)
		engine_rx_invalid(h, c, why, d);
	else if (fsm_decide(c, ev, a, engine_requested_cal(e, a, c),
	    now, d) == 0 && (ref = engine_rx_ref(e, a, h, why,
	    sizeof(why))) == 1)
		engine_rx_invalid(h, c, why, d);
	else if (d->refusal == AE_OK &&
	    ev->given_due[FSM_DL_TRANSFER] != 0 &&
	    engine_dues_checked(e, a, c, ev, d, now, why, sizeof(why)))
		engine_rx_invalid(h, c, why, d);	/* its TransferDeadline */
	if (ref == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		*rc = -1;
		return 1;
	}
	if (d->refusal == AE_NOT_ALLOWED_IN_STATE && found == 1 &&
	    engine_awaiting_receipt(e, a->country, h->case_id)) {
		/* retryable, so not journalled: nothing was decided */
		/* v1 has no NOT_YET: TEMPORARY is retryable there too,
		 * and our own retries bring the missing receipt */
		*rc = engine_refuse_early(e, a, h, h->version >= 2 ?
		    AE_NOT_YET : AE_TEMPORARY, "a message of ours in this "
		    "case has no receipt yet; retry (and post its receipt)",
		    ans);
		return 1;
	}
	return 0;
}

/* 6. journal: the message, the decision, the answer we give (a signed
 * Receipt or Error, into ans); a refusal over the partner's rate is
 * answered alike but only counted (engine_refusals.c).  @return 0, or -1
 * with a plain 503. */
static int
engine_rx_journal(struct engine *e, const struct agreement *a,
    const struct envelope_header *h, const struct model_grounds *g,
    const struct model_person *person, const char *bytes, size_t len,
    const char *sha256, accord_time_t now, const struct fsm_case *c,
    const struct fsm_event *ev, const struct fsm_decision *d,
    struct engine_answer *ans)
{
	struct envelope_header sh;
	struct engine_answer sig;

	if (d->refusal != AE_OK && !engine_refusal_admit(e, a->country,
	    h->message_id, now)) {
		/* over the partner's rate: answered alike, only counted */
		engine_answer_set(ans, errcode_http_status(d->refusal),
		    d->refusal, "%s", d->text);
		if (engine_make_error(e, a, h, d->refusal, d->text, ans,
		    NULL) == -1)
			goto fault;
		log_info(ETAG, "%s %s from %s case %s: %s (counted)",
		    h->message_id, agreement_msg_type_name(h->type),
		    a->country, h->case_id, errcode_name(d->refusal));
		return 0;
	}
	if (engine_journal_message(e, JOURNAL_MESSAGE_RECEIVED, a->country, h,
	    g, RECORD_DIR_IN, now, bytes, len, NULL) == -1 ||
	    engine_journal_decision(e, a->country, h->case_id, h->message_id,
	    c, ev, now, d) == -1)
		goto fault;
	/* the case holds the person's data now, refused or not */
	engine_person_index(e, a->country, h->case_id, person);
	memset(&sig, 0, sizeof(sig));
	if (d->refusal == AE_OK) {
		if (engine_make_receipt(e, a, h, sha256, now, d, &sig,
		    &sh) == -1)
			goto fault;
		engine_answer_set(ans, 200, AE_OK, "%s", d->event);
	} else {
		if (engine_make_error(e, a, h, d->refusal, d->text, &sig,
		    &sh) == -1)
			goto fault;
		engine_answer_set(ans, errcode_http_status(d->refusal),
		    d->refusal, "%s", d->text);
	}
	ans->body = sig.body;
	ans->len = sig.len;
	/* journal the signal as the receipt given */
	if (engine_journal_message(e, JOURNAL_RECEIPT_GIVEN, a->country, &sh,
	    NULL, RECORD_DIR_OUT, now, ans->body, ans->len, NULL) == -1)
		goto fault;
	engine_overlay_msg(e, a->country, h->message_id, RECORD_DIR_IN, sha256,
	    ans->body, ans->len);
	log_info(ETAG, "%s %s from %s case %s: %s", h->message_id,
	    agreement_msg_type_name(h->type), a->country, h->case_id,
	    d->refusal == AE_OK ? d->event : errcode_name(d->refusal));
	return 0;
fault:
	engine_answer_clear(ans);
	engine_answer_set(ans, 503, AE_TEMPORARY, "journal or signing "
	    "failed on our side");
	return -1;
}

static int
engine_receive_rx(struct engine *e, const char *tls_partner,
    const char *bytes, size_t len, struct engine_answer *ans,
    const struct engine_redelivered *rdv, struct engine_rx *pre)
{
	const struct agreement *a;
	struct model m;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	/* read off the loop: judged at its arrival, as the parser read it;
	 * a Redelivery's original at the Redelivery's */
	accord_time_t now = pre != NULL ? pre->now : rdv != NULL ? rdv->now :
	    clock_now();
	char sha256[RECORD_SHA256_HEX];
	int rc = -1;

	memset(ans, 0, sizeof(*ans));
	memset(&m, 0, sizeof(m));
	a = config_partner(e->conf, tls_partner);
	if (a == NULL) {
		/* the TLS layer only admits configured partners */
		engine_answer_set(ans, 403, AE_UNKNOWN_PARTNER, "no agreement "
		    "with %s", tls_partner);
		return 0;
	}
	record_sha256_hex(bytes, len, sha256);

	/* 1. to 3.: read, authenticated, ours; a signal is taken apart */
	if (engine_rx_read(e, a, bytes, len, sha256, now, rdv, pre, &m, ans,
	    &rc) || engine_rx_authentic(e, a, &m, ans, &rc) ||
	    engine_rx_signal(e, a, &m, bytes, len, now, rdv, ans, &rc) ||
	    engine_rx_admit(e, a, &m.h, now, rdv, ans, &rc))
		goto done;

	/* an authenticated message: the partner is up, whatever we decide */
	if (e->alive != NULL)
		e->alive(e->alive_arg, a->country);

	/* 4. duplicates, then 5. the fsm, then 6. the journal */
	if (engine_rx_duplicate(e, a, &m.h, sha256, ans, &rc) ||
	    engine_lagging(e, ans) ||
	    engine_rx_decide(e, a, &m, now, &c, &ev, &d, ans, &rc))
		goto done;
	rc = engine_rx_journal(e, a, &m.h, &m.ground_names, &m.person, bytes,
	    len, sha256, now, &c, &ev, &d, ans);
done:
	model_clear(&m);
	return rc;
}
