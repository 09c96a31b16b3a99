/*
 * engine_submit.c -- a business document from the back office: its
 * request-id (idempotency key) checked, read, checked by the fsm, sealed,
 * journalled and queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "conf/calendar.h"
#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_priv.h"
#include "engine/engine_state_priv.h"
#include "msg/envelope.h"
#include "msg/parser.h"
#include "msg/signer.h"
#include "msg/xmlsig.h"
#include "util/hex.h"
#include "util/aead.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/xmalloc.h"

/* ---- submit --------------------------------------------------------- */

/* What a request-id stands for: every input of the submit. */
static void
engine_request_sha(const struct engine_submission *sub, const char *doc,
    size_t len, char out[RECORD_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	const char *parts[3];
	char urgent = sub->accelerated ? '1' : '0';

	parts[0] = sub->partner;
	parts[1] = sub->case_id != NULL ? sub->case_id : "";
	parts[2] = sub->ref_to != NULL ? sub->ref_to : "";
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		xalloc_failed("EVP_MD_CTX_new");
	for (i = 0; i < 3; i++)
		EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
	EVP_DigestUpdate(ctx, &urgent, 1);
	EVP_DigestUpdate(ctx, doc, len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, mdlen, out);
}

/*
 * Was this request-id used by uid before (unapplied records first)?
 * *in_flight says whether that submit's records are still being
 * committed (its answer may not be given again yet).
 * @return 1 with *r filled, 0 if not, -1 on error.
 */
static int
engine_request_find(struct engine *e, uid_t uid, const char *request_id,
    struct store_request *r, int *in_flight)
{
	size_t i;

	*in_flight = 0;
	for (i = e->npreqs; i-- > 0; )
		if (e->preqs[i].uid == uid &&
		    strcmp(e->preqs[i].request_id, request_id) == 0) {
			*r = e->preqs[i].r;
			*in_flight = engine_seq_in_flight(e, e->preqs[i].seq);
			return 1;
		}
	return store_request_get(e->store, uid, request_id, r);
}

/*
 * "KZ-FR-2026-1a2b3c4d": only we open cases that start with our country,
 * so an id is new when none of our cases has it.  Eight hex digits meet
 * again by chance (at 77,000 cases a year with one partner, one time in
 * two): an id taken is drawn again.  @return 0, or -1 (store error).
 */
static int (*engine_uuid)(char *, size_t) = envelope_uuid;

void
engine_test_uuid(int (*fn)(char *, size_t))
{
	engine_uuid = fn != NULL ? fn : envelope_uuid;
}

static int
engine_new_case_id(struct engine *e, const char *partner, char *buf,
    size_t len)
{
	char uuid[ENVELOPE_UUID_LEN + 1];
	struct fsm_case c;
	int y, m, d, tries, got;

	calendar_ymd_from_day(calendar_local_day(&e->conf->calendar,
	    clock_now()), &y, &m, &d);
	for (tries = 0; tries < 16; tries++) {
		engine_uuid(uuid, sizeof(uuid));
		snprintf(buf, len, "%s-%s-%04d-%.8s", e->conf->country,
		    partner, y, uuid);
		if ((got = engine_case_get(e, partner, buf, &c)) != 1)
			return got;
	}
	return -1;
}

/* The journal seq of a case's first business message. */
static int
engine_first_message(void *arg, const struct store_message *m)
{
	uint64_t *seq = arg;

	if (*seq == 0 && m->type != MSG_RECEIPT && m->type != MSG_ERROR &&
	    m->type != MSG_REDELIVERY)
		*seq = m->journal_seq;
	return 0;
}

/*
 * The protocol version of the message that opened a case (by either
 * side), which every later message of the case keeps (protocols/README.md,
 * "Negotiation"); 0 when the agreement leaves no choice, the case is not
 * in the store yet, or the agreement no longer accepts that version: the
 * agreement's wire version applies then.
 */
static int
engine_case_version(struct engine *e, const struct agreement *a,
    const char *case_id)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlDocPtr doc = NULL;
	uint64_t seq = 0;
	char *bytes = NULL;
	size_t len;
	int v = 0;

	if (agreement_min_version(a) == agreement_wire_version(a))
		return 0;
	if (store_case_messages(e->store, a->country, case_id,
	    engine_first_message, &seq) == -1 || seq == 0 ||
	    engine_message_bytes(e, seq, &bytes, &len) == -1 ||
	    envelope_parse(bytes, len, NULL, &doc, &err) == -1 ||
	    envelope_read(doc, &h, NULL) == -1)
		goto done;
	if (agreement_accepts_version(a, h.version))
		v = h.version;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(bytes);
	return v;
}

/*
 * The steps of engine_submit(), in their order.  Each returns 0 to go
 * on, or -1 with ans filled: refused, and nothing was journalled.
 */

/* A request-id used before by this uid: refused when it stood for
 * another request or its submit is still being committed, else the first
 * submit's answer again.  @return 1 when answered here (*rc is what
 * engine_submit returns), 0 for a new request (its digest in rsha). */
static int
engine_submit_again(struct engine *e, const struct engine_submission *sub,
    const char *docbytes, size_t len, char rsha[RECORD_SHA256_HEX],
    struct engine_outgoing *out, struct engine_answer *ans, int *rc)
{
	struct store_request req;
	int found, flying;

	engine_request_sha(sub, docbytes, len, rsha);
	found = engine_request_find(e, sub->uid, sub->request_id, &req,
	    &flying);
	if (found == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup "
		    "failed");
		*rc = -1;
		return 1;
	}
	if (found == 1 && strcmp(req.sha256, rsha) != 0) {
		engine_answer_set(ans, 409, AE_CONFLICT, "request-id "
		    "%s was used for another request (message %s)",
		    sub->request_id, req.message_id);
		*rc = -1;
		return 1;
	}
	if (found == 1 && flying) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "the first "
		    "submit with request-id %s is being committed; "
		    "retry", sub->request_id);
		*rc = -1;
		return 1;
	}
	if (found == 1) {
		/* the back office lost our answer: give it again */
		engine_answer_set(ans, 200, AE_OK, "already queued "
		    "with request-id %s", sub->request_id);
		snprintf(ans->message_id, sizeof(ans->message_id),
		    "%s", req.message_id);
		snprintf(ans->case_id, sizeof(ans->case_id), "%s",
		    req.case_id);
		snprintf(out->partner, sizeof(out->partner), "%s",
		    req.partner);
		snprintf(out->message_id, sizeof(out->message_id),
		    "%s", req.message_id);
		snprintf(out->case_id, sizeof(out->case_id), "%s",
		    req.case_id);
		*rc = 0;
		return 1;
	}
	return 0;
}

/* The back office's document: within the size limit, well-formed, a
 * business document the agreement carries; and its case (the one given,
 * or a new one for a message that opens a case).  The document into
 * *bdocp (the caller frees it), its root into *rootp, its type into
 * *typep, the case into case_id (caselen bytes). */
static int
engine_submit_read(struct engine *e, const struct agreement *a,
    const struct engine_submission *sub, const char *docbytes, size_t len,
    xmlDocPtr *bdocp, xmlNodePtr *rootp, int *typep, char *case_id,
    size_t caselen, struct engine_answer *ans)
{
	xmlDocPtr bdoc;
	xmlNodePtr root;
	int type;

	if (len > e->conf->max_message_size) {
		engine_answer_set(ans, 413, AE_TOO_LARGE, "document over %zu "
		    "bytes", e->conf->max_message_size);
		return -1;
	}
	/* the back office's document: no network, no DTD, no entities */
	bdoc = xmlReadMemory(docbytes, (int)len, "submitted.xml", "UTF-8",
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	*bdocp = bdoc;
	if (bdoc == NULL || bdoc->intSubset != NULL ||
	    (root = xmlDocGetRootElement(bdoc)) == NULL) {
		engine_answer_set(ans, 400, AE_MALFORMED, "the document is not "
		    "well-formed XML (or carries a DOCTYPE)");
		return -1;
	}
	type = agreement_msg_type_from_name((const char *)root->name);
	/* either version's namespace: the envelope moves it to the version
	 * the message goes out in */
	if (type < 0 || type == MSG_RECEIPT || type == MSG_ERROR ||
	    type == MSG_REDELIVERY || root->ns == NULL ||
	    (xmlStrcmp(root->ns->href, BAD_CAST ENVELOPE_MSG_NS) != 0 &&
	    xmlStrcmp(root->ns->href, BAD_CAST ENVELOPE_MSG_NS_2) != 0)) {
		engine_answer_set(ans, 400, AE_SCHEMA_INVALID, "the root must "
		    "be a business document in namespace %s or %s",
		    ENVELOPE_MSG_NS, ENVELOPE_MSG_NS_2);
		return -1;
	}
	if (!agreement_allows(a, type)) {
		engine_answer_set(ans, 400, AE_TYPE_NOT_AGREED, "the agreement "
		    "with %s does not carry %s", a->country,
		    agreement_msg_type_name(type));
		return -1;
	}
	if (sub->case_id != NULL && sub->case_id[0] != '\0')
		snprintf(case_id, caselen, "%s", sub->case_id);
	else if (engine_opens(type)) {
		if (engine_new_case_id(e, a->country, case_id, caselen) ==
		    -1) {
			engine_answer_set(ans, 503, AE_TEMPORARY, "no new case "
			    "id could be checked; try again");
			return -1;
		}
	} else {
		engine_answer_set(ans, 400, AE_UNKNOWN_CASE, "%s needs a case",
		    agreement_msg_type_name(type));
		return -1;
	}
	*rootp = root;
	*typep = type;
	return 0;
}

/* The latest message of the wanted type the partner sent in a case. */
struct engine_answered {
	enum msg_type	 want;
	char		 message_id[RECORD_ID_MAX];
};

static int
engine_answered_cb(void *arg, const struct store_message *m)
{
	struct engine_answered *q = arg;

	if (m->direction == RECORD_DIR_IN && m->type == q->want &&
	    m->state != RECORD_MS_REJECTED)
		snprintf(q->message_id, sizeof(q->message_id), "%s",
		    m->message_id);
	return 0;
}

/*
 * The RefToMessageId of our message, by the rule a partner checks
 * (protocols/README.md, "Semantic checks"): a reply names the partner's
 * message it answers -- the latest of that type in the case when the back
 * office names none --, any other message names none or a message the
 * partner sent in the case.  Into h->ref_to.  @return 0, or -1 with ans
 * filled.
 */
static int
engine_submit_ref(struct engine *e, const struct agreement *a,
    const struct engine_submission *sub, int type, const char *case_id,
    struct envelope_header *h, struct engine_answer *ans)
{
	struct engine_answered q;
	struct store_message m;
	int want, found;

	want = engine_reply_to(type);
	if (sub->ref_to != NULL && sub->ref_to[0] != '\0') {
		found = store_message_find(e->store, a->country, sub->ref_to,
		    RECORD_DIR_IN, &m);
		if (found == -1)
			goto fault;
		if (found == 0 || strcmp(m.case_id, case_id) != 0 ||
		    (want >= 0 && m.type != (enum msg_type)want)) {
			engine_answer_set(ans, 422, AE_INVALID_FIELD, "ref %s "
			    "is no %s received in case %s", sub->ref_to,
			    want >= 0 ? agreement_msg_type_name(want) :
			    "message", case_id);
			return -1;
		}
		snprintf(h->ref_to, sizeof(h->ref_to), "%s", sub->ref_to);
		return 0;
	}
	if (want < 0)
		return 0;
	memset(&q, 0, sizeof(q));
	q.want = want;
	if (store_case_messages(e->store, a->country, case_id,
	    engine_answered_cb, &q) == -1)
		goto fault;
	if (q.message_id[0] == '\0') {
		engine_answer_set(ans, 422, AE_INVALID_FIELD, "no %s received "
		    "in case %s for this %s to answer",
		    agreement_msg_type_name(want), case_id,
		    agreement_msg_type_name(type));
		return -1;
	}
	/* a received MessageId: a UUID, as the schema says */
	snprintf(h->ref_to, sizeof(h->ref_to), "%.*s", ENVELOPE_UUID_LEN,
	    q.message_id);
	return 0;
fault:
	engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
	return -1;
}

/*
 * Version 2: the requested side states the end of the transfer window it
 * owns (DESIGN.md 4) in its acceptance, and in a granted extension of the
 * window: the due the message will arm once receipted, computed now by
 * the fsm itself, replaces any TransferDeadline in the document.
 */
static void
engine_submit_transfer_deadline(struct engine *e, const struct agreement *a,
    const struct envelope_header *h, const struct fsm_case *c,
    const struct fsm_event *ev, xmlNodePtr root, accord_time_t now)
{
	struct fsm_event sim = *ev;
	struct fsm_decision sd;
	xmlNodePtr parent, k, next;
	char tb[32];
	int i;

	if (c->role != ROLE_REQUESTED || !ev->positive ||
	    (h->version != 0 ? h->version : agreement_wire_version(a)) < 2)
		return;
	if (h->type == MSG_READMISSION_REPLY)
		parent = envelope_child(root, "Accepted");
	else if (h->type == MSG_EXTENSION_REPLY &&
	    ev->ext_subject == FSM_EXT_TRANSFER_WINDOW)
		parent = envelope_child(root, "Granted");
	else
		return;
	sim.kind = FSM_EV_RECEIPTED;
	if (parent == NULL || fsm_decide(c, &sim, a,
	    engine_requested_cal(e, a, c), now, &sd) == -1)
		return;
	for (i = 0; i < sd.ndlops; i++)
		if (sd.dlops[i].which == FSM_DL_TRANSFER &&
		    sd.dlops[i].op == FSM_DLOP_SET)
			break;
	if (i == sd.ndlops)
		return;
	for (k = parent->children; k != NULL; k = next) {
		next = k->next;
		if (k->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(k->name, BAD_CAST "TransferDeadline") == 0) {
			xmlUnlinkNode(k);
			xmlFreeNode(k);
		}
	}
	xmlNewTextChild(parent, parent->ns, BAD_CAST "TransferDeadline",
	    BAD_CAST clock_format_utc(sd.dlops[i].due, tb, sizeof(tb)));
}

/* The message's header into *h; its case (which must exist unless the
 * message opens one, and not exist when it does) into *c; the fsm's
 * event and decision into *ev and *d. */
static int
engine_submit_decide(struct engine *e, const struct agreement *a,
    const struct engine_submission *sub, int type, const char *case_id,
    xmlNodePtr root, accord_time_t now, struct envelope_header *h,
    struct fsm_case *c, struct fsm_event *ev, struct fsm_decision *d,
    struct engine_answer *ans)
{
	struct model own;
	int found;

	char why[sizeof(ans->text)];

	memset(h, 0, sizeof(*h));
	snprintf(h->case_id, sizeof(h->case_id), "%s", case_id);
	h->type = type;
	h->created = now;
	if (type == MSG_READMISSION_REQUEST)
		h->procedure = sub->accelerated ? ENVELOPE_PROC_ACCELERATED :
		    ENVELOPE_PROC_STANDARD;

	found = engine_case_for(e, a->country, case_id, type, 0, c);
	if (found == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		return -1;
	}
	if (found == 0 && !engine_opens(type)) {
		engine_answer_set(ans, 400, AE_UNKNOWN_CASE, "no case %s with "
		    "%s", case_id, a->country);
		return -1;
	}
	if (found == 1 && engine_opens(type) &&
	    type != MSG_VOLUNTARY_DEPARTURE_NOTICE) {
		engine_answer_set(ans, 400, AE_CASE_EXISTS, "case %s exists",
		    case_id);
		return -1;
	}
	if (found == 1)		/* a case keeps the version it opened in */
		h->version = engine_case_version(e, a, case_id);
	if (type == MSG_PROTECTION_NOTICE)	/* ... but this one is v2 */
		h->version = 2;
	memset(ev, 0, sizeof(*ev));
	ev->kind = FSM_EV_SENDING;
	ev->at = now;
	/* the operator's own document: its facts read here, as a parser
	 * reads a partner's */
	memset(&own, 0, sizeof(own));
	parser_facts(h, root, &own);
	engine_event_facts(&own, ev);
	engine_facts_verdicts(a, ev);
	if (fsm_decide(c, ev, a, engine_requested_cal(e, a, c), now,
	    d) == -1) {
		engine_answer_set(ans, 422, d->refusal, "%s", d->text);
		model_clear(&own);
		return -1;
	}
	/* what the partner checks once its fsm allows the message */
	if (engine_submit_ref(e, a, sub, type, case_id, h, ans) == -1) {
		model_clear(&own);
		return -1;
	}
	if (engine_check_dates(&own, &e->conf->calendar, now,
	    e->conf->clock_skew, why, sizeof(why)) == -1) {
		engine_answer_set(ans, 422, AE_INVALID_FIELD, "%s", why);
		model_clear(&own);
		return -1;
	}
	model_clear(&own);
	engine_submit_transfer_deadline(e, a, h, c, ev, root, now);
	return 0;
}

/* Journalled -- the command (with its request-id), the message, the
 * decision -- and committed unless the caller defers it; on failure out
 * is cleared. */
static int
engine_submit_journal(struct engine *e, const struct agreement *a,
    const struct engine_submission *sub, int type, const char *rsha,
    const struct envelope_header *h, const struct model_grounds *g,
    const struct model_person *p, const char *case_id, accord_time_t now,
    const struct fsm_case *c, const struct fsm_event *ev,
    const struct fsm_decision *d, struct engine_outgoing *out,
    struct engine_answer *ans)
{
	json_t *cmd;

	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "command", "submit",
	    "uid", (int)sub->uid, "partner", a->country, "case", case_id,
	    "message", h->message_id, "type", agreement_msg_type_name(type));
	if (cmd != NULL && sub->request_id != NULL) {
		json_object_set_new(cmd, "request_id",
		    json_string(sub->request_id));
		json_object_set_new(cmd, "request_sha256", json_string(rsha));
	}
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    engine_journal_message(e, JOURNAL_MESSAGE_SENT, a->country, h,
	    g, RECORD_DIR_OUT, 0, out->body, out->len, NULL) == -1 ||
	    engine_journal_decision(e, a->country, case_id, h->message_id, c,
	    ev, now, d) == -1 || (!sub->defer_commit &&
	    engine_flush(e) == -1)) {
		engine_outgoing_clear(out);
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: nothing was queued");
		return -1;
	}
	/* the person it names, for subject access (engine_person.c) */
	engine_person_index(e, a->country, case_id, p);
	return 0;
}

/*
 * A submit up to its signature: checked, read, decided by the fsm and
 * wrapped into *sdoc (unsigned, validated) with what the rest needs in
 * st.  @return 0 (sign *sdoc, then engine_submit_complete()), 1 when
 * answered already (a repeated request-id: *rcp is the result), or -1
 * (refused: ans says why).
 */
int
engine_submit_prepare(struct engine *e, const struct engine_submission *sub,
    const char *docbytes, size_t len, int validate,
    struct engine_submit_state *st, xmlDocPtr *sdoc,
    struct engine_outgoing *out, struct engine_answer *ans, int *rcp)
{
	struct envelope_error verr;
	xmlDocPtr bdoc = NULL;
	xmlNodePtr root;
	int rc = -1, sealed;

	memset(ans, 0, sizeof(*ans));
	memset(out, 0, sizeof(*out));
	memset(st, 0, sizeof(*st));
	*sdoc = NULL;
	st->now = clock_now();
	if (engine_lagging(e, ans))
		return -1;
	st->a = config_partner(e->conf, sub->partner);
	if (st->a == NULL) {
		engine_answer_set(ans, 400, AE_UNKNOWN_PARTNER, "no agreement "
		    "with '%s'", sub->partner);
		return -1;
	}
	if (sub->request_id != NULL && engine_submit_again(e, sub, docbytes,
	    len, st->rsha, out, ans, rcp))
		return 1;
	if (engine_submit_read(e, st->a, sub, docbytes, len, &bdoc, &root,
	    &st->type, st->case_id, sizeof(st->case_id), ans) == -1 ||
	    engine_submit_decide(e, st->a, sub, st->type, st->case_id, root,
	    st->now, &st->h, &st->c, &st->ev, &st->d, ans) == -1)
		goto done;
	/* the operator's own reply: its grounds, as a parser reads them,
	 * taken now (the body is freed before the journal) */
	parser_grounds(st->h.type, root, &st->g);
	sealed = engine_seal_wrap(e, st->a, &st->h, root, sdoc, &verr,
	    validate);
	if (sealed == -2)
		engine_answer_set(ans, 400, AE_SCHEMA_INVALID, "%s",
		    verr.text);
	else if (sealed == -1)
		engine_answer_set(ans, 503, AE_INTERNAL, "building the "
		    "message failed");
	else {
		/* the person it names, for the index once journalled;
		 * wiped by whoever holds st (engine_submit_state_wipe) */
		parser_person(st->h.type, root, &st->p);
		rc = 0;
	}
done:
	if (bdoc != NULL)
		xmlFreeDoc(bdoc);
	return rc;
}

/*
 * The rest of a submit once out->body holds the signed bytes (taken
 * over): journalled, and committed unless the caller defers it.
 * @return 0, or -1 (ans says why; out is cleared).
 */
int
engine_submit_complete(struct engine *e, const struct engine_submission *sub,
    const struct engine_submit_state *st, struct engine_outgoing *out,
    struct engine_answer *ans)
{
	struct store_request req;

	if (out->body == NULL) {
		engine_answer_set(ans, 503, AE_INTERNAL, "building or "
		    "signing the message failed");
		return -1;
	}
	snprintf(out->partner, sizeof(out->partner), "%s", st->a->country);
	snprintf(out->message_id, sizeof(out->message_id), "%s",
	    st->h.message_id);
	snprintf(out->case_id, sizeof(out->case_id), "%s", st->case_id);
	if (engine_submit_journal(e, st->a, sub, st->type, st->rsha, &st->h,
	    &st->g, &st->p, st->case_id, st->now, &st->c, &st->ev, &st->d, out, ans) == -1)
		return -1;
	if (sub->request_id != NULL) {
		memset(&req, 0, sizeof(req));
		snprintf(req.sha256, sizeof(req.sha256), "%s", st->rsha);
		snprintf(req.partner, sizeof(req.partner), "%s",
		    st->a->country);
		snprintf(req.message_id, sizeof(req.message_id), "%s",
		    st->h.message_id);
		snprintf(req.case_id, sizeof(req.case_id), "%s", st->case_id);
		req.created = st->now;
		engine_overlay_request(e, sub->uid, sub->request_id, &req);
	}
	engine_remember_sent(e, st->a->country, st->h.message_id, &st->ev);
	engine_answer_set(ans, 200, AE_OK, "queued");
	snprintf(ans->message_id, sizeof(ans->message_id), "%s",
	    st->h.message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", st->case_id);
	log_info(ETAG, "%s %s to %s case %s queued (uid %u)",
	    st->h.message_id, agreement_msg_type_name(st->type),
	    st->a->country, st->case_id, (unsigned)sub->uid);
	return 0;
}

int
engine_submit(struct engine *e, const struct engine_submission *sub,
    const char *docbytes, size_t len, struct engine_outgoing *out,
    struct engine_answer *ans)
{
	struct engine_submit_state st;
	xmlDocPtr sdoc;
	char why[512];
	int rc = -1;

	switch (engine_submit_prepare(e, sub, docbytes, len, 1, &st, &sdoc, out,
	    ans, &rc)) {
	case 1:
		return rc;
	case -1:
		return -1;
	}
	/* validated by engine_submit_prepare(): -2 cannot be */
	if (engine_sign_doc(e, sdoc, &out->body, &out->len, why,
	    sizeof(why)) != 0) {
		free(out->body);
		out->body = NULL;
	}
	xmlFreeDoc(sdoc);
	rc = engine_submit_complete(e, sub, &st, out, ans);
	engine_submit_state_wipe(&st);
	return rc;
}

void
engine_submit_state_wipe(struct engine_submit_state *st)
{
	aead_wipe(&st->p, sizeof(st->p));
}
