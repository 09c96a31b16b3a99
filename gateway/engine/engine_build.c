/*
 * engine_build.c -- what the engine writes: its journal records (a
 * message, a decision, a message's state, a JSON record), and its own
 * signed messages (any envelope, a Receipt, an Error).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/signer.h"
#include "msg/envelope.h"
#include "persist/journal.h"
#include "persist/keystore.h"
#include "util/aead.h"
#include "util/log.h"
#include "persist/record.h"
#include "util/xmalloc.h"
#include "msg/xmlsig.h"

/* ---- journalling helpers ---------------------------------------------- */

/* The metrics' part of the message record just appended. */
static void
engine_note_message(struct engine *e, const struct record_message *m)
{
	struct engine_msgnote *n = &e->pending[e->npending - 1].note;

	n->set = 1;
	n->type = m->type;
	snprintf(n->partner, sizeof(n->partner), "%s", m->partner);
	snprintf(n->ref_to, sizeof(n->ref_to), "%s", m->ref_to);
}

int
engine_journal_message(struct engine *e, enum journal_kind kind,
    const char *partner, const struct envelope_header *h,
    const struct model_grounds *g, enum record_dir dir,
    accord_time_t received_at, const char *bytes, size_t len,
    char sha256[RECORD_SHA256_HEX])
{
	struct record_message m;
	char *payload;
	size_t plen;
	int i;

	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "%s", partner);
	snprintf(m.case_id, sizeof(m.case_id), "%s", h->case_id);
	snprintf(m.message_id, sizeof(m.message_id), "%s", h->message_id);
	snprintf(m.ref_to, sizeof(m.ref_to), "%s", h->ref_to);
	m.type = h->type;
	m.direction = dir;
	m.created = h->created;
	m.received_at = received_at;
	/* the store counts refusals by these, never by reading the XML */
	if (h->type == MSG_READMISSION_REPLY || h->type == MSG_TRANSIT_REPLY) {
		m.has_grounds = 1;
		for (i = 0; g != NULL && i < g->n && i < RECORD_GROUNDS_MAX;
		    i++)
			snprintf(m.grounds[m.ngrounds++],
			    sizeof(m.grounds[0]), "%s", g->name[i]);
	}
	if (sha256 != NULL)
		record_sha256_hex(bytes, len, sha256);
	if (engine_seals(e, kind, h->type) && h->case_id[0] != '\0') {
		uint8_t id[KEYSTORE_ID_LEN], key[AEAD_KEY_LEN];
		struct journal_seal seal;
		int rc;

		rc = engine_case_key(e, partner, h->case_id, id, key);
		if (rc == 0)
			rc = record_message_seal(&m, bytes, len, key, id,
			    &payload, &plen, &seal);
		aead_wipe(key, sizeof(key));
		if (rc == -1 ||
		    engine_append_sealed(e, kind, payload, plen, &seal) == -1)
			return -1;
	} else if (record_message_encode(&m, bytes, len, &payload,
	    &plen) == -1 || engine_append(e, kind, payload, plen) == -1)
		return -1;
	engine_note_message(e, &m);
	return 0;
}

int
engine_journal_decision(struct engine *e, const char *partner,
    const char *case_id, const char *message_id, const struct fsm_case *c,
    const struct fsm_event *ev, accord_time_t now,
    const struct fsm_decision *d)
{
	struct record_decision rd;
	char *payload;
	size_t plen;

	memset(&rd, 0, sizeof(rd));
	snprintf(rd.partner, sizeof(rd.partner), "%s", partner);
	snprintf(rd.case_id, sizeof(rd.case_id), "%s", case_id);
	snprintf(rd.message_id, sizeof(rd.message_id), "%s",
	    message_id != NULL ? message_id : "");
	rd.kind = d->next.kind;
	rd.role = d->next.role;
	if (d->refusal != AE_OK) {
		rd.kind = c->kind;
		rd.role = c->role;
	}
	rd.ev = *ev;
	rd.now = now;
	rd.d = *d;
	if (record_decision_encode(&rd, &payload, &plen) == -1)
		return -1;
	if (engine_append(e, d->refusal == AE_OK ? JOURNAL_DECISION :
	    JOURNAL_REFUSAL, payload, plen) == -1)
		return -1;
	if (d->refusal == AE_OK && !(d->effects & FSM_EFF_NO_CHANGE))
		engine_overlay_case(e, partner, case_id, &d->next);
	return 0;
}

int
engine_journal_msgstate(struct engine *e, const char *partner,
    const char *message_id, enum record_dir dir, enum record_msg_state st,
    const char *reason)
{
	struct record_msgstate ms;
	char *payload;
	size_t plen;

	memset(&ms, 0, sizeof(ms));
	snprintf(ms.partner, sizeof(ms.partner), "%s", partner);
	snprintf(ms.message_id, sizeof(ms.message_id), "%s", message_id);
	ms.direction = dir;
	ms.state = st;
	snprintf(ms.reason, sizeof(ms.reason), "%s", reason ? reason : "");
	if (record_msgstate_encode(&ms, &payload, &plen) == -1)
		return -1;
	return engine_append(e, JOURNAL_MESSAGE_STATE, payload, plen);
}

/* A free-form JSON record (operator command, configuration load). */
int
engine_journal_json(struct engine *e, enum journal_kind kind, json_t *obj)
{
	char *s;

	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	if (s == NULL)
		return -1;
	return engine_append(e, kind, s, strlen(s));
}

/* ---- building our own messages ---------------------------------------- */

static xmlNodePtr
engine_body_new(xmlDocPtr *docp, const char *name)
{
	xmlDocPtr doc;
	xmlNodePtr root;

	doc = xmlNewDoc(BAD_CAST "1.0");
	root = xmlNewNode(NULL, BAD_CAST name);
	if (doc == NULL || root == NULL)
		xalloc_failed("xmlNewDoc");
	xmlSetNs(root, xmlNewNs(root, BAD_CAST ENVELOPE_MSG_NS, NULL));
	xmlDocSetRootElement(doc, root);
	*docp = doc;
	return root;
}

static void
engine_body_add(xmlNodePtr parent, const char *name, const char *value)
{
	xmlNewTextChild(parent, parent->ns, BAD_CAST name, BAD_CAST value);
}

/* Wrap body for partner a, unsigned, into *docp (the id and Created into
 * h), and validate it unless validate is 0 (the signing pool's thread
 * then does it before signing: signpool_job.validate).  @return 0, -1 on
 * a fault, or -2 when the message does not validate (verr says why). */
int
engine_seal_wrap(struct engine *e, const struct agreement *a,
    struct envelope_header *h, xmlNodePtr body, xmlDocPtr *docp,
    struct envelope_error *verr, int validate)
{
	struct envelope_error err;
	xmlDocPtr doc = NULL;

	*docp = NULL;
	snprintf(h->from_country, sizeof(h->from_country), "%s",
	    e->conf->country);
	snprintf(h->from_authority, sizeof(h->from_authority), "%s",
	    e->conf->authority);
	snprintf(h->to_country, sizeof(h->to_country), "%s", a->country);
	snprintf(h->to_authority, sizeof(h->to_authority), "%s",
	    a->authority);
	snprintf(h->agreement_id, sizeof(h->agreement_id), "%s",
	    a->agreement_id);
	/* an answer or a case's message has its version already; anything
	 * else goes out in the highest both sides accept */
	if (h->version == 0)
		h->version = agreement_wire_version(a);
	if (envelope_build(h, body, &doc) == -1)
		return -1;
	if (validate && envelope_validate(doc, &err) == -1) {
		xmlFreeDoc(doc);
		if (verr != NULL) {
			*verr = err;
			return -2;
		}
		log_errx(ETAG, "our own %s does not validate: %s",
		    agreement_msg_type_name(h->type), err.text);
		return -1;
	}
	if (envelope_read(doc, h, NULL) == -1) {	/* id and Created */
		xmlFreeDoc(doc);
		return -1;
	}
	*docp = doc;
	return 0;
}

/* Sign doc on this thread, or have the signer process check, sign and
 * serialize it (it validates what it signs: the caller need not).
 * @return 0 with *out, -1 on a fault (logged), or -2 when the signer
 * found it does not validate (why says why). */
int
engine_sign_doc(struct engine *e, xmlDocPtr doc, char **out, size_t *len,
    char *why, size_t whylen)
{
	*out = NULL;
	if (e->remote != NULL)
		return signer_client_sign_doc(e->remote, doc, out, len, why,
		    whylen);
	if (xmlsig_sign(e->signer, doc) == -1 ||
	    envelope_serialize(doc, out, len) == -1)
		return -1;
	return 0;
}

/* Wrap body for partner a (a message of ours), sign, serialize.
 * @return 0, or -1 on a fault (logged). */
int
engine_seal(struct engine *e, const struct agreement *a,
    struct envelope_header *h, xmlNodePtr body, char **out, size_t *len)
{
	xmlDocPtr doc = NULL;
	char why[512];
	int rc;

	/* a signer process validates it: not twice */
	if (engine_seal_wrap(e, a, h, body, &doc, NULL, e->remote == NULL) != 0)
		return -1;
	if ((rc = engine_sign_doc(e, doc, out, len, why, sizeof(why))) == -2)
		log_errx(ETAG, "our own %s does not validate: %s",
		    agreement_msg_type_name(h->type), why);
	xmlFreeDoc(doc);
	return rc == 0 ? 0 : -1;
}

static const char *
engine_deadline_kind(enum fsm_deadline dl)
{
	switch (dl) {
	case FSM_DL_REPLY:		return "Reply";
	case FSM_DL_TRANSFER:		return "Transfer";
	case FSM_DL_TRANSIT_REPLY:	return "TransitReply";
	case FSM_DL_TRANSIT_VALIDITY:	return "TransitValidity";
	default:			return NULL;
	}
}

int
engine_deadline_from_kind(const char *kind)
{
	int dl;

	for (dl = 0; dl < FSM_DL_COUNT; dl++)
		if (strcmp(engine_deadline_kind(dl), kind) == 0)
			return dl;
	return -1;
}

/* The version of a signal answering rh: rh's own, so that its sender can
 * read it; the agreement's lowest when rh is unreadable (NULL) or of a
 * version the agreement does not accept. */
static int
engine_answer_version(const struct agreement *a,
    const struct envelope_header *rh)
{
	if (rh != NULL && agreement_accepts_version(a, rh->version))
		return rh->version;
	return agreement_min_version(a);
}

/* The signed Receipt for a message we just took; its own header into
 * *out (may be NULL). */
int
engine_make_receipt(struct engine *e, const struct agreement *a,
    const struct envelope_header *rh, const char *sha256,
    accord_time_t received_at, const struct fsm_decision *d,
    struct engine_answer *ans, struct envelope_header *out)
{
	struct envelope_header h;
	xmlDocPtr bdoc;
	xmlNodePtr body, dl;
	accord_time_t deemed = 0;
	const char *cp;
	char tb[32];
	int i, rc, v;

	v = engine_answer_version(a, rh);
	body = engine_body_new(&bdoc, agreement_msg_type_name(MSG_RECEIPT));
	engine_body_add(body, "ReceivedMessageId", rh->message_id);
	engine_body_add(body, "Sha256", sha256);
	engine_body_add(body, "ReceivedAt", clock_format_utc(received_at, tb,
	    sizeof(tb)));
	for (i = 0; d != NULL && i < d->ndlops; i++) {
		if (d->dlops[i].op != FSM_DLOP_SET)
			continue;
		dl = xmlNewChild(body, body->ns, BAD_CAST "Deadline", NULL);
		engine_body_add(dl, "Kind",
		    engine_deadline_kind(d->dlops[i].which));
		engine_body_add(dl, "Due", clock_format_utc(d->dlops[i].due,
		    tb, sizeof(tb)));
		if (d->dlops[i].which == FSM_DL_TRANSFER)
			deemed = -1;	/* the window itself is set */
	}
	/* version 2, the requested side: the transfer window that applies
	 * should the case be deemed accepted (DESIGN.md 4) */
	if (v >= 2 && d != NULL && d->refusal == AE_OK && deemed == 0 &&
	    d->next.role == ROLE_REQUESTED &&
	    (deemed = fsm_transfer_if_deemed(&d->next, a,
	    engine_requested_cal(e, a, &d->next))) > 0) {
		dl = xmlNewChild(body, body->ns, BAD_CAST "Deadline", NULL);
		engine_body_add(dl, "Kind",
		    engine_deadline_kind(FSM_DL_TRANSFER));
		engine_body_add(dl, "Due", clock_format_utc(deemed, tb,
		    sizeof(tb)));
	}
	cp = journal_latest_checkpoint_hash(e->journal);
	engine_body_add(body, "CheckpointHash", cp[0] != '\0' ? cp :
	    "0000000000000000000000000000000000000000000000000000000000000000");
	memset(&h, 0, sizeof(h));
	snprintf(h.case_id, sizeof(h.case_id), "%s", rh->case_id);
	snprintf(h.ref_to, sizeof(h.ref_to), "%s", rh->message_id);
	h.type = MSG_RECEIPT;
	h.created = clock_now();
	h.version = v;
	rc = engine_seal(e, a, &h, body, &ans->body, &ans->len);
	if (rc == 0 && out != NULL)
		*out = h;	/* id and Created as signed */
	xmlFreeDoc(bdoc);
	return rc;
}

/* A signed Error about a message (rh may be NULL: nothing readable);
 * its own header into *out (may be NULL). */
int
engine_make_error(struct engine *e, const struct agreement *a,
    const struct envelope_header *rh, enum accord_err code,
    const char *text, struct engine_answer *ans, struct envelope_header *out)
{
	struct envelope_header h;
	xmlDocPtr bdoc;
	xmlNodePtr body;
	char buf[sizeof(ans->text)];
	int rc, v;

	/* in the version of what it answers, with a code that version has
	 * (a version 1 partner gets TEMPORARY for NOT_YET) */
	v = engine_answer_version(a, rh);
	code = errcode_for_version(code, v);
	body = engine_body_new(&bdoc, agreement_msg_type_name(MSG_ERROR));
	engine_body_add(body, "Code", errcode_name(code));
	if (rh != NULL && rh->message_id[0] != '\0')
		engine_body_add(body, "RefToMessageId", rh->message_id);
	engine_body_add(body, "Retryable", errcode_retryable(code) ? "true" :
	    "false");
	snprintf(buf, sizeof(buf), "%s", text[0] ? text : errcode_name(code));
	engine_body_add(body, "Text", buf);
	memset(&h, 0, sizeof(h));
	/* errors.md: CaseId 0 when the message's own could not be read */
	snprintf(h.case_id, sizeof(h.case_id), "%s", rh != NULL &&
	    rh->case_id[0] ? rh->case_id : "0");
	if (rh != NULL)
		snprintf(h.ref_to, sizeof(h.ref_to), "%s", rh->message_id);
	h.type = MSG_ERROR;
	h.created = clock_now();
	h.version = v;
	rc = engine_seal(e, a, &h, body, &ans->body, &ans->len);
	if (rc == 0 && out != NULL)
		*out = h;	/* id and Created as signed */
	xmlFreeDoc(bdoc);
	return rc;
}
