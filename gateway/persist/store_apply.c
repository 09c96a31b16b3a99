/*
 * store_apply.c -- applying journal records to the store: what a record
 * says -- a decision's fsm_case snapshot and deadline operations, a
 * message's header and delivery state, an inbox acknowledgement, a pause
 * -- written in one transaction with the last applied seq, so that a
 * record applied twice, or an older one, changes nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sqlite3.h>

#include "util/errcode.h"
#include "fsm/fsm.h"
#include "util/log.h"
#include "msg/parser.h"
#include "persist/record.h"
#include "persist/store.h"
#include "persist/store_priv.h"
#include "persist/store_retain.h"

/* The state a message takes when its answer is journalled. */
static const char *
store_answer_state(enum msg_type t)
{
	return record_msg_state_name(t == MSG_ERROR ? RECORD_MS_REJECTED :
	    RECORD_MS_RECEIPTED);
}

/* The case a record belongs to, for the records index. */
struct store_where {
	char	partner[RECORD_PARTNER_MAX];
	char	case_id[RECORD_ID_MAX];
};

static void
store_where_set(struct store_where *w, const char *partner,
    const char *case_id)
{
	snprintf(w->partner, sizeof(w->partner), "%s", partner);
	snprintf(w->case_id, sizeof(w->case_id), "%s", case_id);
}

/* The first element under n, n included, with this local name. */
static xmlNodePtr
store_find_element(xmlNodePtr n, const char *name)
{
	xmlNodePtr c, found;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, BAD_CAST name) == 0)
			return n;
		if ((c = n->children) != NULL &&
		    (found = store_find_element(c, name)) != NULL)
			return found;
	}
	return NULL;
}

/*
 * The grounds of a record written before they were journalled: read from
 * the refusing ReadmissionReply's or TransitReply's XML (Refused/Ground+,
 * Refusal/Ground+).  The bytes are the message as signed, schema-valid
 * when it was journalled; they are read without network or entities.  A
 * body that does not parse stores no grounds (its refusal then counts
 * under "unknown"): the index must not refuse what the journal holds.
 * Only a gateway without privilege separation and accordd
 * --rebuild-store (offline) come here: a privilege-separated engine
 * never parses partner XML (parser_forbid()), so it indexes such a
 * record without grounds and says so.
 */
static int
store_apply_grounds_xml(struct store *st, const struct record_message *m)
{
	xmlDocPtr doc;
	xmlNodePtr reply, refused, n;
	xmlChar *g;
	int rv = 0;

	if (parser_forbidden()) {
		log_warnx("store", "message %s from %s: its grounds are in "
		    "its XML alone (an older record), not read by a "
		    "privilege-separated engine: counted as unknown "
		    "(accordd --rebuild-store reads them)",
		    m->message_id, m->partner);
		return 0;
	}
	if (m->body == NULL)	/* sealed, written with its grounds */
		return 0;
	if (m->body_len > INT32_MAX || (doc = xmlReadMemory(
	    (const char *)m->body, (int)m->body_len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) ==
	    NULL)
		return 0;
	reply = store_find_element(xmlDocGetRootElement(doc),
	    agreement_msg_type_name(m->type));
	refused = reply == NULL ? NULL : store_find_element(reply->children,
	    m->type == MSG_READMISSION_REPLY ? "Refused" : "Refusal");
	for (n = refused == NULL ? NULL : refused->children; n != NULL &&
	    rv == 0; n = n->next) {
		if (n->type != XML_ELEMENT_NODE ||
		    xmlStrcmp(n->name, BAD_CAST "Ground") != 0)
			continue;
		if ((g = xmlNodeGetContent(n)) == NULL)
			continue;
		rv = store_exec(st, SQ_GROUND_ADD, "ssss", m->partner,
		    m->message_id, record_dir_name(m->direction),
		    (const char *)g);
		xmlFree(g);
	}
	xmlFreeDoc(doc);
	return rv;
}

/*
 * The grounds a refusing ReadmissionReply or TransitReply states, for
 * the stats' refusals by ground: those its record states (the parser
 * read them from the verified DOM), or, in an older record, its XML's.
 */
static int
store_apply_grounds(struct store *st, const struct record_message *m)
{
	int i;

	if (m->type != MSG_READMISSION_REPLY && m->type != MSG_TRANSIT_REPLY)
		return 0;
	if (!m->has_grounds)
		return store_apply_grounds_xml(st, m);
	for (i = 0; i < m->ngrounds; i++)
		if (store_exec(st, SQ_GROUND_ADD, "ssss", m->partner,
		    m->message_id, record_dir_name(m->direction),
		    m->grounds[i]) == -1)
			return -1;
	return 0;
}

static int
store_apply_message(struct store *st, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const void *p, size_t len, struct store_where *w)
{
	struct record_message m;
	enum record_dir want;
	enum record_msg_state ms;
	const char *tname, *dir;
	int answer;

	if (record_message_decode(p, len, &m) == -1) {
		store_seterr(st, "malformed message payload");
		return -1;
	}
	want = (kind == JOURNAL_MESSAGE_RECEIVED ||
	    kind == JOURNAL_RECEIPT_GOT) ? RECORD_DIR_IN : RECORD_DIR_OUT;
	answer = kind == JOURNAL_RECEIPT_GIVEN || kind == JOURNAL_RECEIPT_GOT;
	if (m.direction != want) {
		store_seterr(st, "message %s: direction %s in a %s record",
		    m.message_id, record_dir_name(m.direction),
		    journal_kind_name(kind));
		return -1;
	}
	/* an answer is a Receipt, or the signed Error that stands for one */
	if (answer && ((m.type != MSG_RECEIPT && m.type != MSG_ERROR) ||
	    m.ref_to[0] == '\0')) {
		store_seterr(st, "message %s: a %s record holds a %s",
		    m.message_id, journal_kind_name(kind),
		    agreement_msg_type_name(m.type));
		return -1;
	}
	tname = agreement_msg_type_name(m.type);
	dir = record_dir_name(m.direction);
	store_where_set(w, m.partner, m.case_id);

	switch (kind) {
	case JOURNAL_MESSAGE_RECEIVED:
		ms = RECORD_MS_RECEIVED;
		break;
	case JOURNAL_MESSAGE_SENT:
		ms = RECORD_MS_QUEUED;
		break;
	case JOURNAL_RECEIPT_GIVEN:
		ms = RECORD_MS_SENT;	/* it went back in the response */
		break;
	default:
		ms = RECORD_MS_RECEIVED;
		break;
	}
	if (store_exec(st, SQ_MSG_INSERT, "ssssssssIII", m.partner,
	    m.message_id, dir, m.case_id, m.ref_to, tname,
	    record_msg_state_name(ms), m.sha256, (int64_t)m.created,
	    (int64_t)m.received_at, (int64_t)seq) == -1)
		return -1;

	if ((kind == JOURNAL_MESSAGE_RECEIVED ||
	    kind == JOURNAL_MESSAGE_SENT) && store_apply_grounds(st, &m) == -1)
		return -1;
	switch (kind) {
	case JOURNAL_MESSAGE_RECEIVED:
		if (m.type == MSG_RECEIPT || m.type == MSG_ERROR)
			return 0;
		/* for the back office to take */
		return store_exec(st, SQ_INBOX_ADD, "ssssI", m.partner,
		    m.message_id, m.case_id, tname, (int64_t)seq);
	case JOURNAL_MESSAGE_SENT:
		return store_exec(st, SQ_OUTBOX_ADD, "sssII", m.partner,
		    m.message_id, m.case_id, (int64_t)seq, (int64_t)time);
	case JOURNAL_RECEIPT_GIVEN:
		if (store_exec(st, SQ_MSG_ANSWER, "ssssI", m.partner, m.ref_to,
		    "in", store_answer_state(m.type), (int64_t)seq) == -1)
			return -1;
		if (sqlite3_changes(st->db) == 0)
			log_warnx("store", "record %llu: answer %s to unknown "
			    "message %s", (unsigned long long)seq,
			    m.message_id, m.ref_to);
		if (m.type == MSG_ERROR)
			return store_exec(st, SQ_INBOX_DEL, "ss", m.partner,
			    m.ref_to);
		return 0;
	default:	/* JOURNAL_RECEIPT_GOT */
		if (store_exec(st, SQ_MSG_ANSWER, "ssssI", m.partner, m.ref_to,
		    "out", store_answer_state(m.type), (int64_t)seq) == -1)
			return -1;
		if (sqlite3_changes(st->db) == 0)
			log_warnx("store", "record %llu: answer %s to unknown "
			    "message %s", (unsigned long long)seq,
			    m.message_id, m.ref_to);
		return store_exec(st, SQ_OUTBOX_DEL, "ss", m.partner,
		    m.ref_to);
	}
}

/*
 * What a decision counts as in the stats, or NULL: the request taking
 * effect (ours receipted, or theirs received), the reply (accepted,
 * refused) or the silence (deemed), a deadline missed, the end of the
 * case.  A case going back to a state (an extension granted out of
 * TRANSFER_OVERDUE) is no new event, nor is a check that moves nothing.
 */
static const char *
store_event_what(const struct record_decision *rd)
{
	enum fsm_state from = rd->d.old_state, to = rd->d.next.state;
	int opening = from == FSM_NONE || from == FSM_SUBMITTED;
	int reply = rd->ev.kind != FSM_EV_DEADLINE &&
	    rd->ev.kind != FSM_EV_RECORD &&
	    (rd->ev.type == MSG_READMISSION_REPLY ||
	    rd->ev.type == MSG_TRANSIT_REPLY);

	if (from == to)
		return NULL;
	switch (to) {
	case FSM_PENDING_REPLY:
	case FSM_TRANSIT_PENDING:
		return opening ? "request" : NULL;
	case FSM_VD_NOTIFIED:
		return opening ? "notified" : NULL;
	case FSM_ACCEPTED:
	case FSM_TRANSIT_CONSENTED:
		return reply ? "accepted" : NULL;
	case FSM_DEEMED_ACCEPTED:
		return (rd->d.effects & FSM_EFF_DEEMED_ACCEPTED) ? "deemed" :
		    NULL;
	case FSM_REFUSED:
	case FSM_TRANSIT_REFUSED:
		return "refused";
	case FSM_EXPIRED:
	case FSM_TRANSIT_EXPIRED:
		return "expired";
	case FSM_TRANSFER_OVERDUE:
		return "transfer-overdue";
	case FSM_COMPLETED:
	case FSM_TRANSIT_COMPLETED:
		return "completed";
	case FSM_VD_DEPARTED:
		return "departed";
	case FSM_VD_CANCELLED:
		return "cancelled";
	case FSM_WITHDRAWN:
		return "withdrawn";
	case FSM_NOT_SENT:
		return "not-sent";
	default:
		return NULL;
	}
}

/* Note the event a decision is, with the journal time it happened at
 * and the entry ban it applied (-1: none). */
static int
store_apply_event(struct store *st, uint64_t seq, accord_time_t time,
    const struct record_decision *rd)
{
	const char *what, *dir = "";

	if ((what = store_event_what(rd)) == NULL)
		return 0;
	if (rd->message_id[0] != '\0' && rd->ev.kind == FSM_EV_RECEIVED)
		dir = record_dir_name(RECORD_DIR_IN);
	else if (rd->message_id[0] != '\0' &&
	    rd->ev.kind != FSM_EV_DEADLINE && rd->ev.kind != FSM_EV_RECORD)
		dir = record_dir_name(RECORD_DIR_OUT);
	return store_exec(st, SQ_EVENT_ADD, "IsssssIiss", (int64_t)seq,
	    rd->partner, rd->case_id, fsm_kind_name(rd->d.next.kind),
	    fsm_role_name(rd->d.next.role), what, (int64_t)time,
	    (rd->d.effects & FSM_EFF_ENTRY_BAN) ? rd->d.entry_ban_years : -1,
	    dir[0] != '\0' ? rd->message_id : "", dir);
}

static int
store_apply_decision(struct store *st, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const void *p, size_t len, struct store_where *w)
{
	struct record_decision rd;
	const struct fsm_case *c;
	const struct fsm_dlop *op;
	json_t *j = NULL;
	char *fsm = NULL;
	int i, rv = -1;

	if (record_decision_decode(p, len, &rd) == -1) {
		store_seterr(st, "malformed decision payload");
		return -1;
	}
	store_where_set(w, rd.partner, rd.case_id);
	if (kind == JOURNAL_REFUSAL || rd.d.refusal != AE_OK) {
		/* a refusal never changes the case; a refused message of
		 * the partner is answered with an Error */
		if (rd.ev.kind != FSM_EV_RECEIVED || rd.message_id[0] == '\0')
			return 0;
		if (store_exec(st, SQ_MSG_STATE, "sssss", rd.partner,
		    rd.message_id, "in",
		    record_msg_state_name(RECORD_MS_REJECTED),
		    errcode_name(rd.d.refusal)) == -1)
			return -1;
		return store_exec(st, SQ_INBOX_DEL, "ss", rd.partner,
		    rd.message_id);
	}
	if (rd.d.effects & FSM_EFF_NO_CHANGE)
		return 0;
	c = &rd.d.next;
	if (c->state == FSM_NONE) {
		store_seterr(st, "decision leaves case %s/%s in NONE",
		    rd.partner, rd.case_id);
		return -1;
	}
	if ((j = record_case_to_json(c)) == NULL ||
	    (fsm = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		store_seterr(st, "case %s/%s: cannot encode", rd.partner,
		    rd.case_id);
		goto done;
	}
	if (store_exec(st, SQ_CASE_UPSERT, "sssssiIs", rd.partner, rd.case_id,
	    fsm_kind_name(c->kind), fsm_role_name(c->role),
	    fsm_state_name(c->state), (int)c->procedure, (int64_t)time,
	    fsm) == -1)
		goto done;
	for (i = 0; i < rd.d.ndlops; i++) {
		op = &rd.d.dlops[i];
		if (store_exec(st, op->op == FSM_DLOP_SET ? SQ_DL_SET :
		    SQ_DL_CLEAR, "sssI", rd.partner, rd.case_id,
		    fsm_deadline_name(op->which), (int64_t)op->due) == -1)
			goto done;
	}
	if (store_apply_event(st, seq, time, &rd) == -1)
		goto done;
	rv = 0;
 done:
	free(fsm);
	json_decref(j);
	return rv;
}

/* A submit with an idempotency key: remember what it queued. */
static int
store_apply_command(struct store *st, const struct store_record *r,
    struct store_where *w)
{
	json_t *j;
	json_error_t err;
	const char *cmd = NULL, *rid = NULL, *sha = NULL, *partner = NULL,
	    *msg = NULL, *case_id = NULL, *by = NULL, *reason = NULL;
	char who[32];
	int uid = -1, rc = 0, ok;

	if ((j = json_loadb(r->payload, r->len, 0, &err)) == NULL) {
		store_seterr(st, "operator command: %s", err.text);
		return -1;
	}
	ok = json_unpack(j, "{s:s, s?i, s?s, s?s, s?s, s?s, s?s, s?s, s?s}",
	    "command", &cmd, "uid", &uid, "request_id", &rid,
	    "request_sha256", &sha, "partner", &partner, "message", &msg,
	    "case", &case_id, "by", &by, "reason", &reason) == 0;
	if (ok && partner != NULL && case_id != NULL)
		store_where_set(w, partner, case_id);
	if (ok && strcmp(cmd, "submit") == 0 && rid != NULL && sha != NULL &&
	    partner != NULL && msg != NULL && case_id != NULL && uid >= 0)
		rc = store_exec(st, SQ_REQUEST_ADD, "isssssI", uid, rid, sha,
		    partner, msg, case_id, (int64_t)r->time);
	/* a legal hold, its release, an erasure: by a uid or the job */
	if (ok && rc == 0 && partner != NULL && case_id != NULL) {
		if (by == NULL)
			snprintf(who, sizeof(who), "uid %d", uid);
		rc = store_retain_apply(st, cmd, partner, case_id,
		    by != NULL ? by : who, reason, r->time);
	}
	json_decref(j);
	return rc;
}

static int
store_apply_one(struct store *st, const struct store_record *r,
    struct store_where *w)
{
	struct record_deadline dl;
	struct record_msgstate ms;
	struct record_ack ack;
	struct record_pause pause;

	switch (r->kind) {
	case JOURNAL_OPERATOR_COMMAND:
		return store_apply_command(st, r, w);
	case JOURNAL_FILE_START:
	case JOURNAL_TORN_TAIL_CUT:
	case JOURNAL_CHECKPOINT:
	case JOURNAL_CONFIG_LOAD:
	case JOURNAL_REFUSALS_COUNTED:
	case JOURNAL_TIMESTAMP:
	case JOURNAL_SIGNATURE_VOID:
		/* journalled for the audit; nothing to index */
		return 0;
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		return store_apply_message(st, r->kind, r->seq, r->time,
		    r->payload, r->len, w);
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		return store_apply_decision(st, r->kind, r->seq, r->time,
		    r->payload, r->len, w);
	case JOURNAL_DEADLINE_FIRED:
		if (record_deadline_decode(r->payload, r->len, &dl) == -1)
			break;
		store_where_set(w, dl.partner, dl.case_id);
		/* only the instant that fired: a deadline re-armed since
		 * stays armed */
		return store_exec(st, SQ_DL_FIRED, "sssI", dl.partner,
		    dl.case_id, fsm_deadline_name(dl.which), (int64_t)dl.due);
	case JOURNAL_MESSAGE_STATE:
		if (record_msgstate_decode(r->payload, r->len, &ms) == -1)
			break;
		/* the case is the message's: the index takes it from there */
		if (r->file != 0 && store_exec(st, SQ_REC_ADD_MSG, "IsIIsss",
		    (int64_t)r->seq, journal_kind_name(r->kind),
		    (int64_t)r->file, (int64_t)r->offset, ms.partner,
		    ms.message_id, record_dir_name(ms.direction)) == -1)
			return -1;
		/* QUEUED again after UNDELIVERED or DISPUTED: a resend */
		if (ms.direction == RECORD_DIR_OUT &&
		    ms.state == RECORD_MS_QUEUED && store_exec(st,
		    SQ_OUTBOX_REQUEUE, "ssI", ms.partner, ms.message_id,
		    (int64_t)(ms.next_attempt != 0 ? ms.next_attempt :
		    r->time)) == -1)
			return -1;
		if (store_exec(st, SQ_MSG_STATE, "sssss", ms.partner,
		    ms.message_id, record_dir_name(ms.direction),
		    record_msg_state_name(ms.state), ms.reason) == -1)
			return -1;
		if (ms.direction != RECORD_DIR_OUT)
			return 0;
		if (ms.state != RECORD_MS_QUEUED && ms.state != RECORD_MS_SENT)
			return store_exec(st, SQ_OUTBOX_DEL, "ss", ms.partner,
			    ms.message_id);
		if (ms.next_attempt == 0)
			return 0;
		return store_exec(st, SQ_OUTBOX_RETRY, "ssIi", ms.partner,
		    ms.message_id, (int64_t)ms.next_attempt, ms.attempts);
	case JOURNAL_INBOX_ACK:
		if (record_ack_decode(r->payload, r->len, &ack) == -1)
			break;
		return store_exec(st, SQ_INBOX_ACK, "ss", ack.partner,
		    ack.message_id);
	case JOURNAL_PARTNER_PAUSE:
		if (record_pause_decode(r->payload, r->len, &pause) == -1)
			break;
		return store_exec(st, SQ_PAUSE, "si", pause.partner,
		    pause.paused);
	default:
		store_seterr(st, "unknown record type %d", (int)r->kind);
		return -1;
	}
	store_seterr(st, "malformed %s payload", journal_kind_name(r->kind));
	return -1;
}

/* Apply r, and note where it is when it belongs to a case. */
static int
store_apply_record(struct store *st, const struct store_record *r)
{
	struct store_where w;

	w.partner[0] = w.case_id[0] = '\0';
	if (store_apply_one(st, r, &w) == -1)
		return -1;
	if (r->file == 0 || w.case_id[0] == '\0')
		return 0;
	return store_exec(st, SQ_REC_ADD, "IsIIss", (int64_t)r->seq,
	    journal_kind_name(r->kind), (int64_t)r->file, (int64_t)r->offset,
	    w.partner, w.case_id);
}

int
store_run_begin(struct store *st)
{
	if (store_exec(st, SQ_BEGIN, "") == -1) {
		log_errx("store", "%s: begin: %s", st->path, st->err);
		return -1;
	}
	st->run_open = 1;
	st->run_last = st->last;
	st->run_last_file = 0;
	st->run_failed_seq = 0;
	return 0;
}

int
store_run_apply(struct store *st, const struct store_record *r)
{
	if (r->seq <= st->run_last) {
		/* applied before (a replay after a crash) */
		log_debug("store", "record %llu already applied",
		    (unsigned long long)r->seq);
		return 0;
	}
	if (store_apply_record(st, r) == -1) {
		st->run_failed_seq = r->seq;
		st->run_failed_kind = r->kind;
		return -1;
	}
	st->run_last = r->seq;
	if (r->file != 0)
		st->run_last_file = r->file;
	return 0;
}

int
store_run_commit(struct store *st)
{
	if (st->run_last != st->last && store_exec(st, SQ_SET_LAST, "II",
	    (int64_t)st->run_last, (int64_t)st->run_last_file) == -1)
		goto fail;
	if (store_exec(st, SQ_COMMIT, "") == -1)
		goto fail;
	st->run_open = 0;
	st->last = st->run_last;
	if (st->run_last_file != 0)
		st->last_file = st->run_last_file;
	return 0;
 fail:
	log_errx("store", "%s: commit failed: %s; nothing of the batch "
	    "applied, last applied stays %llu", st->path, st->err,
	    (unsigned long long)st->last);
	store_run_abort(st);
	return -1;
}

void
store_run_abort(struct store *st)
{
	if (!st->run_open)
		return;
	st->run_open = 0;
	store_rollback(st);
	/* a record that failed says why; a run the caller stops (a break
	 * in the journal, which it logs) rolls back without a word */
	if (st->run_failed_seq != 0)
		log_errx("store", "%s: record %llu (%s) not applied: %s; "
		    "nothing of its batch applied, last applied stays %llu",
		    st->path, (unsigned long long)st->run_failed_seq,
		    journal_kind_name(st->run_failed_kind), st->err,
		    (unsigned long long)st->last);
}

int
store_apply_batch(struct store *st, const struct store_record *recs,
    size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	if (store_run_begin(st) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (store_run_apply(st, &recs[i]) == -1) {
			store_run_abort(st);
			return -1;
		}
	return store_run_commit(st);
}

int
store_apply(struct store *st, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const void *payload, size_t len)
{
	struct store_record r;

	r.kind = kind;
	r.seq = seq;
	r.time = time;
	r.payload = payload;
	r.len = len;
	r.file = 0;
	r.offset = 0;
	return store_apply_batch(st, &r, 1);
}

uint64_t
store_last_applied(struct store *st)
{
	return st->last;
}

uint32_t
store_last_applied_file(struct store *st)
{
	return st->last_file;
}
