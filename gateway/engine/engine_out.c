/*
 * engine_out.c -- what we sent: its facts kept for its receipt, its bytes
 * read back from the journal, a Redelivery of it; and the partner's
 * answer to it (a Receipt, an Error, or something disputed), its
 * undelivered end, and the outbox for the transport.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "conf/calendar.h"
#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/envelope.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/xmalloc.h"
#include "msg/parser.h"
#include "msg/xmlsig.h"

/* ---- what we sent ------------------------------------------------------ */

/* A message of ours whose receipt we still wait for (or never got)? */
int
engine_msg_pending(enum record_msg_state st)
{
	return st == RECORD_MS_QUEUED || st == RECORD_MS_SENT ||
	    st == RECORD_MS_UNDELIVERED;
}

/* FNV-1a of a MessageId: a receipt finds its message among the
 * ENGINE_SENT_MAX remembered by comparing integers, not strings (issue 20:
 * the strcmp of this search was a visible part of taking receipts). */
static uint32_t
engine_sent_hash(const char *message_id)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = message_id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

void
engine_remember_sent(struct engine *e, const char *partner,
    const char *message_id, const struct fsm_event *ev)
{
	struct engine_sent *s;

	if (e->sent == NULL)
		e->sent = xcalloc(ENGINE_SENT_MAX, sizeof(*e->sent));
	s = &e->sent[e->nsent++ % ENGINE_SENT_MAX];
	s->hash = engine_sent_hash(message_id);
	snprintf(s->partner, sizeof(s->partner), "%s", partner);
	snprintf(s->message_id, sizeof(s->message_id), "%s", message_id);
	s->ev = *ev;
}

/* A message record fetched is given in clear (engine_unseal()). */
static int
engine_fetched(struct engine *e, enum journal_kind kind,
    const uint8_t *key_id, char **out, size_t *len)
{
	if (kind != JOURNAL_MESSAGE_RECEIVED && kind != JOURNAL_MESSAGE_SENT)
		return 0;
	if (engine_unseal(e, key_id, out, len) == 0)
		return 0;
	free(*out);
	*out = NULL;
	return -1;
}

/*
 * The journal record with this sequence number (free() *out): from the
 * records not yet applied, else read where the store's records index
 * says it is -- one record, never a scan of the journal.
 */
static int
engine_journal_fetch(struct engine *e, uint64_t seq, char **out,
    size_t *len)
{
	struct store_recpos sp;
	struct journal_pos pos;
	struct journal_rec rec;
	uint8_t *buf;
	size_t i;

	for (i = 0; i < e->npending; i++)
		if (e->pending[i].seq == seq) {
			*out = xmalloc(e->pending[i].len + 1);
			memcpy(*out, e->pending[i].payload, e->pending[i].len);
			(*out)[e->pending[i].len] = '\0';
			*len = e->pending[i].len;
			return engine_fetched(e, e->pending[i].kind, NULL, out,
			    len);
		}
	if (store_record_pos(e->store, seq, &sp) != 1) {
		log_warnx(ETAG, "journal record %llu is not in the store's "
		    "records index", (unsigned long long)seq);
		return -1;
	}
	pos.file = sp.file;
	pos.offset = sp.offset;
	pos.seq = seq;
	if (journal_read_at(e->journal_dir, &pos, &rec, &buf) == -1)
		return -1;
	/* the payload, NUL-terminated, moves to the front of buf */
	*len = rec.len;
	memmove(buf, rec.payload, rec.len + 1);
	*out = (char *)buf;
	return engine_fetched(e, rec.kind, rec.cipher ==
	    JOURNAL_CIPHER_AES256GCM ? rec.key_id : NULL, out, len);
}

int
engine_message_bytes(struct engine *e, uint64_t seq, char **out,
    size_t *len)
{
	struct record_message rm;
	char *payload = NULL;
	size_t plen;
	int rc = -1;

	*out = NULL;
	if (engine_journal_fetch(e, seq, &payload, &plen) == -1 ||
	    record_message_decode(payload, plen, &rm) == -1)
		goto done;
	*out = xmalloc(rm.body_len + 1);
	memcpy(*out, rm.body, rm.body_len);
	(*out)[rm.body_len] = '\0';
	*len = rm.body_len;
	rc = 0;
done:
	if (rc == -1)
		log_warnx(ETAG, "journal record %llu holds no message",
		    (unsigned long long)seq);
	free(payload);
	return rc;
}

/*
 * The business facts of a message we sent (a receipted message runs the
 * same transition as on the receiving side, which needs them): from
 * memory, or after a restart from our own journalled bytes.
 */
static int
engine_event_from_sent(struct engine *e, const struct store_message *m,
    struct fsm_event *ev)
{
	struct envelope_header h;
	const struct agreement *a;
	struct envelope_error err;
	struct fsm_event facts;
	struct model own;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	char *bytes = NULL;
	size_t i, n, len;
	uint32_t hash;
	int rc = -1;

	n = e->nsent < ENGINE_SENT_MAX ? e->nsent : ENGINE_SENT_MAX;
	hash = engine_sent_hash(m->message_id);
	for (i = 0; i < n; i++)
		if (e->sent[i].hash == hash &&
		    strcmp(e->sent[i].partner, m->partner) == 0 &&
		    strcmp(e->sent[i].message_id, m->message_id) == 0) {
			facts = e->sent[i].ev;
			goto found;
		}
	/* our own bytes, from our journal: no partner input */
	if (engine_message_bytes(e, m->journal_seq, &bytes, &len) == -1 ||
	    envelope_parse(bytes, len, NULL, &doc, &err) == -1 ||
	    envelope_read(doc, &h, &body) == -1)
		goto done;
	memset(&facts, 0, sizeof(facts));
	memset(&own, 0, sizeof(own));
	parser_facts(&h, body, &own);
	engine_event_facts(&own, &facts);
	if ((a = config_partner(e->conf, m->partner)) != NULL)
		engine_facts_verdicts(a, &facts);
	model_clear(&own);
found:
	/* keep the kind, times and adopted deadlines already set */
	facts.kind = ev->kind;
	facts.at = ev->at;
	memcpy(facts.given_due, ev->given_due, sizeof(facts.given_due));
	*ev = facts;
	rc = 0;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(bytes);
	return rc;
}

int
engine_redelivery_build(struct engine *e, const char *partner,
    const char *message_id, struct engine_outgoing *out)
{
	const struct agreement *a;
	struct store_message m;
	struct envelope_header oh, h;
	struct envelope_error err;
	xmlDocPtr odoc = NULL, bdoc = NULL;
	xmlNodePtr obody;
	char *bytes = NULL;
	size_t len;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((a = config_partner(e->conf, partner)) == NULL ||
	    agreement_wire_version(a) < 2) {
		log_warnx(ETAG, "%s: no Redelivery to %s (protocol v2 not "
		    "agreed)", message_id, partner);
		return -1;
	}
	if (store_message_find(e->store, partner, message_id, RECORD_DIR_OUT,
	    &m) != 1 || engine_message_bytes(e, m.journal_seq, &bytes,
	    &len) == -1)
		goto done;
	/* our own bytes, as journalled: read for their header only */
	if (envelope_parse(bytes, len, NULL, &odoc, &err) == -1 ||
	    envelope_read(odoc, &oh, &obody) == -1 ||
	    envelope_redelivery_body(&oh, bytes, len, &bdoc) == -1)
		goto done;
	memset(&h, 0, sizeof(h));
	snprintf(h.case_id, sizeof(h.case_id), "%s", oh.case_id);
	h.type = MSG_REDELIVERY;
	h.version = 2;
	h.created = clock_now();
	if (engine_seal(e, a, &h, xmlDocGetRootElement(bdoc), &out->body,
	    &out->len) == -1)
		goto done;
	snprintf(out->partner, sizeof(out->partner), "%s", partner);
	snprintf(out->message_id, sizeof(out->message_id), "%s", message_id);
	snprintf(out->case_id, sizeof(out->case_id), "%s", oh.case_id);
	rc = 0;
done:
	if (odoc != NULL)
		xmlFreeDoc(odoc);
	if (bdoc != NULL)
		xmlFreeDoc(bdoc);
	free(bytes);
	return rc;
}

/* ---- the partner's answer to our message ------------------------------ */

/*
 * The steps of engine_receipt_take(), in their order.
 */

/* The message of ours (partner, message_id) into *m and its agreement
 * into *ap, when it still waits for its answer.  @return 1 when answered
 * here (*rc is what engine_receipt_take returns), 0 to go on. */
static int
engine_receipt_ours(struct engine *e, const char *partner,
    const char *message_id, const struct agreement **ap,
    struct store_message *m, struct engine_answer *ans, int *rc)
{
	size_t i;
	int found;

	*ap = config_partner(e->conf, partner);
	found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_OUT, m);
	if (*ap == NULL || found != 1) {
		engine_answer_set(ans, 0, AE_UNKNOWN_CASE, "no message %s of "
		    "ours to %s", message_id, partner);
		*rc = found == -1 ? -1 : 0;
		return 1;
	}
	/* answered already (in this batch, or before): nothing happens
	 * twice (a standalone receipt and the response to a retry) */
	for (i = 0; i < e->npmsgs; i++)
		if (e->pmsgs[i].dir == RECORD_DIR_OUT &&
		    strcmp(e->pmsgs[i].partner, partner) == 0 &&
		    strcmp(e->pmsgs[i].message_id, message_id) == 0)
			m->state = RECORD_MS_RECEIPTED;
	if (!engine_msg_pending(m->state)) {
		engine_answer_set(ans, 0, AE_OK, "%s was answered already "
		    "(%s): nothing to take", message_id,
		    record_msg_state_name(m->state));
		*rc = 0;
		return 1;
	}
	return 0;
}

/* The answer read and authenticated, by a parser into *m (the caller
 * clears it) unless inbound's parser did already (verified), or a reader
 * did (pre: its model is moved into *m).  Why it is not authentic into
 * why (whylen bytes), left empty if it is.
 * @return 0, or -1 when no parser could read it (retry later). */
static int
engine_receipt_read(struct engine *e, const struct agreement *a,
    const char *bytes, size_t len, const struct model *verified,
    struct engine_rx *pre, accord_time_t now, struct model *m,
    const struct model **mp, char *why, size_t whylen)
{
	char sha256[RECORD_SHA256_HEX];

	if (verified != NULL) {
		*mp = verified;
		return 0;
	}
	*mp = m;
	if (engine_parse(e, a, bytes, len, NULL, now, pre, m) == -1)
		return -1;
	if (record_sha256_hex(bytes, len, sha256) == -1 ||
	    strcmp(sha256, m->sha256) != 0)
		return -1;	/* a model of other bytes */
	if (m->stage == MODEL_REFUSED)
		snprintf(why, whylen, "answer refused: %s: %.150s",
		    errcode_name(m->code), m->text);
	else if (m->stage == MODEL_NO_HEADER)
		snprintf(why, whylen, "answer has no readable header");
	else if (m->stage != MODEL_VERIFIED)
		snprintf(why, whylen, "answer signature: %s: %.150s",
		    errcode_name(m->code), m->text);
	return 0;
}

/* An authentic answer: is it a Receipt or Error of the partner's
 * authority for m, naming m wherever it names a message, with m's digest
 * and a ReceivedAt (into *at) between m's creation and now (when we got
 * it), each within the clock skew?  A receipt of a retry may be as old as
 * the first copy's arrival: the original receipt is given again.  Why
 * not into why (whylen bytes), left empty if it is. */
static void
engine_receipt_match(struct engine *e, const struct agreement *a,
    const struct store_message *m, const char *message_id,
    const struct model *r, accord_time_t now, accord_time_t *at, char *why,
    size_t whylen)
{
	const struct envelope_header *h = &r->h;

	if (strcmp(h->from_country, a->country) != 0 ||
	    strcmp(h->from_authority, a->authority) != 0 ||
	    (h->type != MSG_RECEIPT && h->type != MSG_ERROR))
		snprintf(why, whylen, "answer is not a Receipt or Error "
		    "from %s's authority", a->country);
	else if (h->type == MSG_RECEIPT && strcmp(h->case_id, m->case_id) != 0)
		snprintf(why, whylen, "receipt is for another case");
	else if (h->type == MSG_ERROR && strcmp(h->ref_to, message_id) != 0)
		snprintf(why, whylen, "Error answers another message");
	else if (h->type == MSG_ERROR && r->error_ref.has &&
	    strcmp(r->error_ref.text, message_id) != 0)
		snprintf(why, whylen, "Error's RefToMessageId names another "
		    "message");
	else if (h->type == MSG_RECEIPT && h->ref_to[0] != '\0' &&
	    strcmp(h->ref_to, message_id) != 0)
		snprintf(why, whylen, "receipt's RefToMessageId names another "
		    "message");
	else if (h->type == MSG_RECEIPT && (!r->received_id.has ||
	    strcmp(r->received_id.text, message_id) != 0))
		snprintf(why, whylen, "receipt names another message");
	else if (h->type == MSG_RECEIPT && (!r->receipt_sha256.has ||
	    strcmp(r->receipt_sha256.text, m->sha256) != 0))
		snprintf(why, whylen, "receipt digest %.64s is not the "
		    "digest of the bytes we sent", r->receipt_sha256.text);
	else if (h->type == MSG_RECEIPT && !r->has_received_at)
		snprintf(why, whylen, "receipt has no ReceivedAt");
	else if (h->type == MSG_RECEIPT && (*at = r->received_at) <
	    m->created - e->conf->clock_skew)
		snprintf(why, whylen, "receipt's ReceivedAt is before the "
		    "message was created");
	else if (h->type == MSG_RECEIPT && *at > now + e->conf->clock_skew)
		snprintf(why, whylen, "receipt's ReceivedAt is after we got "
		    "the receipt");
}

/* A signed, retryable Error (NOT_YET): no effect, no record; the
 * transport tries again.  @return 1 (ans filled) if the answer is one. */
static int
engine_receipt_retryable(const char *partner, const struct store_message *m,
    const struct model *r, struct engine_answer *ans)
{
	const char *code = r->error_code.text;

	if (r->h.type == MSG_ERROR && r->error_code.has &&
	    errcode_from_name(code) >= 0 &&
	    errcode_retryable((enum accord_err)errcode_from_name(code))) {
		engine_answer_set(ans, 0, (enum accord_err)errcode_from_name(
		    code), "%s answered %s: retry", partner, code);
		snprintf(ans->case_id, sizeof(ans->case_id), "%s", m->case_id);
		return 1;
	}
	return 0;
}

/* An answer that is not the partner's authentic answer to our message:
 * the message is DISPUTED (DESIGN.md 5: not retried forever, an operator
 * looks), committed when commit is set.  @return 0, or -1 on our fault. */
static int
engine_receipt_disputed(struct engine *e, const char *partner,
    const char *message_id, const char *why, int commit,
    struct engine_answer *ans)
{
	log_warnx(ETAG, "%s to %s DISPUTED: %s", message_id, partner, why);
	if (engine_journal_msgstate(e, partner, message_id, RECORD_DIR_OUT,
	    RECORD_MS_DISPUTED, why) == -1)
		return -1;
	/* answered: not due again while the record waits for the store */
	engine_overlay_msg(e, partner, message_id, RECORD_DIR_OUT, "", NULL,
	    0);
	if (commit && engine_flush(e) == -1)
		return -1;
	engine_answer_set(ans, 0, AE_SIGNATURE_INVALID, "%s", why);
	return 0;
}

/* The requested side computed the deadlines: adopt those a Receipt
 * carries into ev->given_due. */
static void
engine_receipt_deadlines(const struct model *r, struct fsm_event *ev)
{
	int i, dl;

	for (i = 0; i < r->ndeadlines; i++)
		if ((dl = engine_deadline_from_kind(r->deadlines[i].kind)) >= 0)
			ev->given_due[dl] = r->deadlines[i].due;
}

/* Days a partner's due instant may differ from ours without a dispute:
 * every day between the two (the later one's included) is a rest day in
 * our calendar or in our copy of the partner's, but one (the zone). */
#define ENGINE_DUE_SPAN_MAX	400	/* days: any more is no holiday */

static int
engine_due_tolerated(const struct engine *e, const struct agreement *a,
    const struct calendar *cal, accord_time_t own, accord_time_t given)
{
	cal_day_t lo, hi, day;
	int working = 0;

	lo = calendar_local_day(cal, own < given ? own : given);
	hi = calendar_local_day(cal, own < given ? given : own);
	if (hi - lo > ENGINE_DUE_SPAN_MAX)
		return 0;
	for (day = lo + 1; day <= hi; day++)
		if (calendar_is_working_day(&e->conf->calendar, day) &&
		    calendar_is_working_day(&a->calendar, day) &&
		    ++working > 1)
			return 0;
	return 1;
}

/*
 * The deadlines a receipt made d set (the partner's due instants,
 * ev->given_due), each against the one we compute ourselves in the
 * requested state's calendar from the same event (DESIGN.md 4,
 * "Deadlines"): a due instant out of tolerance would let the partner move
 * our legal deadlines (silence means consent, the transfer window).
 * @return 0 when all are tolerated, 1 with why set when one is not.
 */
int
engine_dues_checked(struct engine *e, const struct agreement *a,
    const struct fsm_case *c, const struct fsm_event *ev,
    const struct fsm_decision *d, accord_time_t now, char *why,
    size_t whylen)
{
	const struct calendar *cal = engine_requested_cal(e, a, c);
	struct fsm_event own = *ev;
	struct fsm_decision od;
	accord_time_t own_due;
	int i, j;

	if (d->refusal != AE_OK)
		return 0;
	memset(own.given_due, 0, sizeof(own.given_due));
	if (fsm_decide(c, &own, a, cal, now, &od) == -1)
		return 0;
	for (i = 0; i < d->ndlops; i++) {
		if (d->dlops[i].op != FSM_DLOP_SET)
			continue;
		for (j = 0; j < od.ndlops; j++)
			if (od.dlops[j].which == d->dlops[i].which &&
			    od.dlops[j].op == FSM_DLOP_SET)
				break;
		if (j == od.ndlops || engine_due_tolerated(e, a, cal,
		    od.dlops[j].due, d->dlops[i].due))
			continue;
		snprintf(why, whylen, "the %s deadline given is more than the "
		    "calendars allow from the one the agreement gives",
		    fsm_deadline_name(d->dlops[i].which));
		return 1;
	}
	/* the window Q states, should silence mean consent */
	if (d->next.deemed_transfer_due != 0 &&
	    d->next.deemed_transfer_due != c->deemed_transfer_due &&
	    (own_due = fsm_transfer_if_deemed(&d->next, a, cal)) != 0 &&
	    !engine_due_tolerated(e, a, cal, own_due,
	    d->next.deemed_transfer_due)) {
		snprintf(why, whylen, "the transfer window given for a deemed "
		    "acceptance is more than the calendars allow from the one "
		    "the agreement gives");
		return 1;
	}
	return 0;
}

/* The fsm event of m's answer h: FAILED by an Error now, RECEIPTED at
 * the Receipt's ReceivedAt with the deadlines it carries. */
static void
engine_receipt_event(const struct store_message *m, const struct model *r,
    accord_time_t at, accord_time_t now, struct fsm_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = m->type;
	ev->created = m->created;
	if (r->h.type == MSG_ERROR) {
		ev->kind = FSM_EV_FAILED;
		ev->at = now;
	} else {
		ev->kind = FSM_EV_RECEIPTED;
		ev->at = at;
		engine_receipt_deadlines(r, ev);
	}
}

/*
 * The partner's answer to our message: in the response to our POST, or
 * posted by itself (a standalone Receipt, v2; verified is then the
 * model of the document inbound's parser already verified, never read
 * again).
 */
int
engine_receipt_take(struct engine *e, const char *partner,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *ans, int commit, const struct model *verified,
    struct engine_rx *pre)
{
	const struct agreement *a;
	struct store_message m;
	struct model rm;
	const struct model *r;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	/* read by a reader: when it came */
	accord_time_t now = pre != NULL ? pre->now : clock_now(), at = 0;
	char why[200];
	int rc = -1;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;	/* not taken: the message goes again */
	if (engine_receipt_ours(e, partner, message_id, &a, &m, ans, &rc))
		return rc;
	why[0] = '\0';
	memset(&rm, 0, sizeof(rm));
	if (engine_receipt_read(e, a, bytes, len, verified, pre, now, &rm,
	    &r, why, sizeof(why)) == -1) {
		/* not taken: the message goes again */
		engine_answer_set(ans, 0, AE_TEMPORARY, "the answer could not "
		    "be read on our side");
		goto done;
	}
	if (why[0] == '\0')	/* authentic: is it the answer to ours? */
		engine_receipt_match(e, a, &m, message_id, r, now, &at, why,
		    sizeof(why));
	if (why[0] == '\0' &&
	    engine_receipt_retryable(partner, &m, r, ans)) {
		rc = 0;
		goto done;
	}
	if (why[0] != '\0') {
		rc = engine_receipt_disputed(e, partner, message_id, why,
		    commit, ans);
		goto done;
	}

	memset(&c, 0, sizeof(c));
	if (engine_case_get(e, partner, m.case_id, &c) != 1) {
		engine_answer_set(ans, 0, AE_UNKNOWN_CASE, "case %s is gone",
		    m.case_id);
		goto done;
	}
	engine_receipt_event(&m, r, at, now, &ev);
	/* the message's own facts, from our journalled bytes' DOM is not at
	 * hand: re-derive them from the decision journalled when we sent */
	if (engine_event_from_sent(e, &m, &ev) == -1) {
		engine_answer_set(ans, 0, AE_INTERNAL, "cannot read back %s",
		    message_id);
		goto done;
	}
	fsm_decide(&c, &ev, a, engine_requested_cal(e, a, &c), now, &d);
	if (r->h.type == MSG_RECEIPT &&
	    engine_dues_checked(e, a, &c, &ev, &d, now, why, sizeof(why))) {
		rc = engine_receipt_disputed(e, partner, message_id, why,
		    commit, ans);
		goto done;
	}
	if (engine_journal_message(e, JOURNAL_RECEIPT_GOT, partner, &r->h,
	    NULL, RECORD_DIR_IN, at, bytes, len, NULL) == -1 ||
	    engine_journal_decision(e, partner, m.case_id, message_id, &c,
	    &ev, now, &d) == -1)
		goto done;
	engine_overlay_msg(e, partner, message_id, RECORD_DIR_OUT, m.sha256,
	    NULL, 0);
	if (commit && engine_flush(e) == -1)
		goto done;
	if (r->h.type == MSG_ERROR)
		engine_answer_set(ans, 0, AE_OK, "rejected by %s", partner);
	else
		engine_answer_set(ans, 0, AE_OK, "%s", d.refusal == AE_OK ?
		    d.event : d.text);
	log_info(ETAG, "%s to %s: %s", message_id, partner, ans->text);
	rc = 0;
done:
	model_clear(&rm);
	return rc;
}

int
engine_receipt(struct engine *e, const char *partner, const char *message_id,
    const char *bytes, size_t len, struct engine_answer *ans)
{
	return engine_receipt_take(e, partner, message_id, bytes, len, ans, 1,
	    NULL, NULL);
}

int
engine_receipt_batched(struct engine *e, const char *partner,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *ans)
{
	return engine_receipt_take(e, partner, message_id, bytes, len, ans, 0,
	    NULL, NULL);
}

int
engine_receipt_parsed(struct engine *e, struct engine_rx *rx,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *ans)
{
	int rc;

	rc = engine_receipt_take(e, rx->partner, message_id, bytes, len, ans,
	    0, NULL, rx);
	model_clear(&rx->m);
	return rc;
}

int
engine_undelivered(struct engine *e, const char *partner,
    const char *message_id, const char *reason)
{
	const struct agreement *a;
	struct store_message m;

	if (e->store_behind)
		return -1;
	a = config_partner(e->conf, partner);
	if (a == NULL || store_message_find(e->store, partner, message_id,
	    RECORD_DIR_OUT, &m) != 1)
		return -1;
	if (engine_journal_msgstate(e, partner, message_id, RECORD_DIR_OUT,
	    RECORD_MS_UNDELIVERED, reason) == -1)
		return -1;
	/*
	 * An opening message never delivered leaves its case SUBMITTED, not
	 * NOT_SENT: the partner may have it (every answer lost), and then a
	 * late Receipt or the operator's Redelivery settles both sides
	 * (model/README.md, rule 4; spin finds the two sides split for good
	 * otherwise).  Only a final Error closes the case NOT_SENT.
	 */
	log_warnx(ETAG, "%s to %s UNDELIVERED: %s", message_id, partner,
	    reason);
	return engine_flush(e);
}

/*
 * The outbox is the store's, which learns of an answer only once its
 * record is committed and applied; until then the answer is in the
 * overlay (engine_receipt_take, engine_receipt_disputed).  The transport
 * must not see such a message as due: it would post it again and the
 * partner answer the copy (issue 20).  Should the batch fail, the overlay
 * entry goes with it and the message is due again.
 */
struct engine_outbox_walk {
	const struct engine	*e;
	store_outbox_cb		 cb;
	void			*arg;
};

/* Is our message answered in a record not yet applied? */
static int
engine_outbox_answered(const struct engine *e, const char *partner,
    const char *message_id)
{
	size_t i;

	for (i = 0; i < e->npmsgs; i++)
		if (e->pmsgs[i].dir == RECORD_DIR_OUT &&
		    strcmp(e->pmsgs[i].message_id, message_id) == 0 &&
		    strcmp(e->pmsgs[i].partner, partner) == 0)
			return 1;
	return 0;
}

static int
engine_outbox_pass(void *arg, const struct store_outbox *o)
{
	struct engine_outbox_walk *w = arg;

	if (engine_outbox_answered(w->e, o->partner, o->message_id))
		return 0;
	return w->cb(w->arg, o);
}

int
engine_outbox_due(struct engine *e, accord_time_t now, store_outbox_cb cb,
    void *arg)
{
	return engine_outbox_due_some(e, now, NULL, NULL, cb, arg);
}

int
engine_outbox_due_some(struct engine *e, accord_time_t now,
    int (*full)(void *, const char *), void *full_arg, store_outbox_cb cb,
    void *arg)
{
	struct engine_outbox_walk w = { e, cb, arg };

	return store_outbox_due_some(e->store, now, full, full_arg,
	    engine_outbox_pass, &w);
}

int
engine_outbox_oldest(struct engine *e, const char *partner,
    store_outbox_cb cb, void *arg)
{
	struct engine_outbox_walk w = { e, cb, arg };

	return store_outbox_oldest(e->store, partner, engine_outbox_pass, &w);
}

int
engine_message_created(struct engine *e, const char *partner,
    const char *message_id, accord_time_t *created)
{
	struct store_message m;
	int found;

	found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_OUT, &m);
	if (found == 1)
		*created = m.created;
	return found;
}

int
engine_partner_receipt(struct engine *e, const char *partner,
    const char *case_id, char *id, size_t idlen, char **body, size_t *len)
{
	struct store_message m;
	int found;

	*body = NULL;
	found = store_case_last_message(e->store, partner, case_id,
	    RECORD_DIR_IN, &m);
	if (found != 1)
		return found;
	if (m.state != RECORD_MS_RECEIPTED || m.receipt_seq == 0)
		return 0;	/* refused, or not answered yet */
	if (engine_message_bytes(e, m.receipt_seq, body, len) == -1)
		return -1;
	snprintf(id, idlen, "%s", m.message_id);
	return 1;
}
