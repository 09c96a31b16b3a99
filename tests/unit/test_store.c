/*
 * test_store.c -- the SQLite store: applying a journal's worth of records
 * and querying it; idempotence and replays out of order; a rebuild from
 * the same records gives the same database; a record that fails (bad
 * payload, full disk) leaves nothing half-applied; a database of a newer
 * schema is refused.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "util/errcode.h"
#include "fsm/fsm.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "persist/store_priv.h"
#include "testutil.h"

#define T0	((accord_time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define DAY	86400

static char tmpdir[512];
static char logbuf[16384];

/* The journal of the scenario, seq = index + 1. */
#define MAXRECS	64
static struct store_record recs[MAXRECS];
static int nrecs;
/* Phase one ends here: the checks of test_apply_query run between. */
static int phase1;

/* The test's own copy of each case, which decisions carry as next. */
static struct fsm_case c1, c2, c3;

/* A growing text, for dumps. */
struct text {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->s == NULL) {
		t->cap = 256;
		t->s = malloc(t->cap);
		assert_non_null(t->s);
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (size_t)n + 64;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	t->len += (size_t)n;
}

static char *
path(const char *name)
{
	static char buf[4][1024];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void
add(int type, accord_time_t t, char *p, size_t len)
{
	assert_true(nrecs < MAXRECS);
	recs[nrecs].kind = type;
	recs[nrecs].seq = (uint64_t)nrecs + 1;
	recs[nrecs].time = t;
	recs[nrecs].payload = p;
	recs[nrecs].len = len;
	nrecs++;
}

/* The body a message of this id has: NUL and newline included. */
static size_t
body_of(const char *mid, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "<Message id=\"%s\">\n", mid);
	assert_true(n > 0 && (size_t)n + 8 < size);
	memcpy(buf + n, "\0x\ny</M>", 8);
	return (size_t)n + 8;
}

static void
add_msg(int type, accord_time_t t, const char *partner, const char *case_id,
    const char *mid, enum msg_type mt, const char *ref_to)
{
	struct record_message m;
	char body[256], *p;
	size_t blen, len;

	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "%s", partner);
	snprintf(m.case_id, sizeof(m.case_id), "%s", case_id);
	snprintf(m.message_id, sizeof(m.message_id), "%s", mid);
	snprintf(m.ref_to, sizeof(m.ref_to), "%s", ref_to);
	m.type = mt;
	m.direction = (type == JOURNAL_MESSAGE_RECEIVED ||
	    type == JOURNAL_RECEIPT_GOT) ? RECORD_DIR_IN : RECORD_DIR_OUT;
	m.created = t - 5;
	m.received_at = t;
	blen = body_of(mid, body, sizeof(body));
	assert_int_equal(record_message_encode(&m, body, blen, &p, &len), 0);
	add(type, t, p, len);
}

/*
 * A decision moving *c to state to with the given deadline operations.
 * The store must write what it says, so its content need only be
 * consistent, not what the fsm would decide.
 */
static void
add_decision(int type, accord_time_t t, const char *partner,
    const char *case_id, const char *mid, enum fsm_ev_kind evk,
    enum msg_type mt, struct fsm_case *c, enum fsm_state to,
    unsigned effects, enum accord_err refusal, int ndl,
    const struct fsm_dlop *dl)
{
	struct record_decision rd;
	char *p;
	size_t len;
	int i;

	memset(&rd, 0, sizeof(rd));
	snprintf(rd.partner, sizeof(rd.partner), "%s", partner);
	snprintf(rd.case_id, sizeof(rd.case_id), "%s", case_id);
	snprintf(rd.message_id, sizeof(rd.message_id), "%s", mid);
	rd.kind = c->kind;
	rd.role = c->role;
	rd.ev.kind = evk;
	rd.ev.type = mt;
	rd.ev.created = t - 5;
	rd.ev.at = t;
	rd.now = t;
	rd.d.version = FSM_VERSION;
	rd.d.refusal = refusal;
	snprintf(rd.d.event, sizeof(rd.d.event), "%s",
	    agreement_msg_type_name(mt));
	rd.d.old_state = c->state;
	rd.d.effects = effects;
	if (refusal == AE_OK && !(effects & FSM_EFF_NO_CHANGE)) {
		c->state = to;
		for (i = 0; i < ndl; i++) {
			rd.d.dlops[i] = dl[i];
			c->due[dl[i].which] = dl[i].op == FSM_DLOP_SET ?
			    dl[i].due : c->due[dl[i].which];
			if (dl[i].op == FSM_DLOP_SET)
				c->armed |= 1u << dl[i].which;
			else
				c->armed &= ~(1u << dl[i].which);
		}
		rd.d.ndlops = ndl;
	}
	rd.d.new_state = c->state;
	rd.d.next = *c;
	assert_int_equal(record_decision_encode(&rd, &p, &len), 0);
	add(type, t, p, len);
}

static void
add_msgstate(accord_time_t t, const char *partner, const char *mid,
    enum record_msg_state ms, const char *reason, accord_time_t next,
    int attempts)
{
	struct record_msgstate r;
	char *p;
	size_t len;

	memset(&r, 0, sizeof(r));
	snprintf(r.partner, sizeof(r.partner), "%s", partner);
	snprintf(r.message_id, sizeof(r.message_id), "%s", mid);
	r.direction = RECORD_DIR_OUT;
	r.state = ms;
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	r.next_attempt = next;
	r.attempts = attempts;
	assert_int_equal(record_msgstate_encode(&r, &p, &len), 0);
	add(JOURNAL_MESSAGE_STATE, t, p, len);
}

static void
add_opaque(int type, accord_time_t t, const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	add(type, t, p, strlen(p));
}

/* The scenario: three cases with two partners, every kind of record. */
static void
build_journal(void)
{
	struct record_ack ack;
	struct record_pause pz;
	struct record_deadline fired;
	struct fsm_dlop set_reply1 = { FSM_DL_REPLY, FSM_DLOP_SET, T0 + 12 * DAY };
	struct fsm_dlop clr_reply = { FSM_DL_REPLY, FSM_DLOP_CLEAR, 0 };
	struct fsm_dlop set_reply2 = { FSM_DL_REPLY, FSM_DLOP_SET, T0 + 5 * DAY };
	struct fsm_dlop deemed[2] = {
		{ FSM_DL_REPLY, FSM_DLOP_CLEAR, 0 },
		{ FSM_DL_TRANSFER, FSM_DLOP_SET, T0 + 95 * DAY }
	};
	struct fsm_case none;
	char *p;
	size_t len;

	memset(&c1, 0, sizeof(c1));
	c1.kind = FSM_KIND_READMISSION;
	c1.role = ROLE_REQUESTING;
	c2 = c1;
	c2.role = ROLE_REQUESTED;
	c3 = c1;
	memset(&none, 0, sizeof(none));

	/* 1-4: our request to FR opens C1 and is receipted */
	add_msg(JOURNAL_MESSAGE_SENT, T0, "FR", "C1", "m1",
	    MSG_READMISSION_REQUEST, "");
	add_decision(JOURNAL_DECISION, T0, "FR", "C1", "m1", FSM_EV_SENDING,
	    MSG_READMISSION_REQUEST, &c1, FSM_SUBMITTED, FSM_EFF_CASE_OPENED,
	    AE_OK, 0, NULL);
	add_msg(JOURNAL_RECEIPT_GOT, T0 + 10, "FR", "C1", "r1", MSG_RECEIPT,
	    "m1");
	add_decision(JOURNAL_DECISION, T0 + 10, "FR", "C1", "m1",
	    FSM_EV_RECEIPTED, MSG_READMISSION_REQUEST, &c1,
	    FSM_PENDING_REPLY, 0, AE_OK, 1, &set_reply1);
	/* 5-7: FR asks for identification: the reply clock stops */
	add_msg(JOURNAL_MESSAGE_RECEIVED, T0 + 100, "FR", "C1", "m2",
	    MSG_IDENTIFICATION_REQUEST, "");
	add_msg(JOURNAL_RECEIPT_GIVEN, T0 + 100, "FR", "C1", "r2", MSG_RECEIPT,
	    "m2");
	add_decision(JOURNAL_DECISION, T0 + 100, "FR", "C1", "m2",
	    FSM_EV_RECEIVED, MSG_IDENTIFICATION_REQUEST, &c1,
	    FSM_PENDING_REPLY, 0, AE_OK, 1, &clr_reply);
	/* 8-10: FR's request opens C2, where we are Q */
	add_msg(JOURNAL_MESSAGE_RECEIVED, T0 + 200, "FR", "C2", "m3",
	    MSG_READMISSION_REQUEST, "");
	add_msg(JOURNAL_RECEIPT_GIVEN, T0 + 200, "FR", "C2", "r3", MSG_RECEIPT,
	    "m3");
	add_decision(JOURNAL_DECISION, T0 + 200, "FR", "C2", "m3",
	    FSM_EV_RECEIVED, MSG_READMISSION_REQUEST, &c2, FSM_PENDING_REPLY,
	    FSM_EFF_CASE_OPENED, AE_OK, 1, &set_reply2);
	/* 11-12: two messages of ours in C1: the second waits for the first */
	add_msg(JOURNAL_MESSAGE_SENT, T0 + 300, "FR", "C1", "m4",
	    MSG_CONSULTATION, "");
	add_msg(JOURNAL_MESSAGE_SENT, T0 + 301, "FR", "C1", "m5",
	    MSG_CONSULTATION, "");
	/* 13: the back office took m2 */
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.partner, sizeof(ack.partner), "FR");
	snprintf(ack.message_id, sizeof(ack.message_id), "m2");
	assert_int_equal(record_ack_encode(&ack, &p, &len), 0);
	add(JOURNAL_INBOX_ACK, T0 + 400, p, len);
	/* 14: nothing for the store */
	add_opaque(JOURNAL_OPERATOR_COMMAND, T0 + 401,
	    "{\"command\":\"show case FR C1\",\"uid\":1000}");
	/* 15: m4's first attempt failed */
	add_msgstate(T0 + 500, "FR", "m4", RECORD_MS_QUEUED, "HTTP 503",
	    T0 + 1000, 1);
	/* 16-18: DE paused; our request to DE waits in the outbox */
	memset(&pz, 0, sizeof(pz));
	snprintf(pz.partner, sizeof(pz.partner), "DE");
	pz.paused = 1;
	assert_int_equal(record_pause_encode(&pz, &p, &len), 0);
	add(JOURNAL_PARTNER_PAUSE, T0 + 600, p, len);
	add_msg(JOURNAL_MESSAGE_SENT, T0 + 601, "DE", "C3", "m6",
	    MSG_READMISSION_REQUEST, "");
	add_decision(JOURNAL_DECISION, T0 + 601, "DE", "C3", "m6",
	    FSM_EV_SENDING, MSG_READMISSION_REQUEST, &c3, FSM_SUBMITTED,
	    FSM_EFF_CASE_OPENED, AE_OK, 0, NULL);
	/* 19-21: a reply for a case that does not exist: refused, Error */
	add_msg(JOURNAL_MESSAGE_RECEIVED, T0 + 700, "FR", "C9", "m7",
	    MSG_TRANSIT_REPLY, "");
	add_decision(JOURNAL_REFUSAL, T0 + 700, "FR", "C9", "m7",
	    FSM_EV_RECEIVED, MSG_TRANSIT_REPLY, &none, FSM_NONE, 0,
	    AE_UNKNOWN_CASE, 0, NULL);
	add_msg(JOURNAL_RECEIPT_GIVEN, T0 + 700, "FR", "C9", "e7", MSG_ERROR,
	    "m7");
	/* 22: m4 passed its checks: nothing moves */
	add_decision(JOURNAL_DECISION, T0 + 800, "FR", "C1", "m4",
	    FSM_EV_SENDING, MSG_CONSULTATION, &c1, FSM_PENDING_REPLY,
	    FSM_EFF_NO_CHANGE, AE_OK, 0, NULL);
	phase1 = nrecs;

	/* 23-24: C2's reply deadline fires: deemed accepted */
	memset(&fired, 0, sizeof(fired));
	snprintf(fired.partner, sizeof(fired.partner), "FR");
	snprintf(fired.case_id, sizeof(fired.case_id), "C2");
	fired.which = FSM_DL_REPLY;
	fired.due = T0 + 5 * DAY;
	assert_int_equal(record_deadline_encode(&fired, &p, &len), 0);
	add(JOURNAL_DEADLINE_FIRED, T0 + 5 * DAY + 1, p, len);
	add_decision(JOURNAL_DECISION, T0 + 5 * DAY + 1, "FR", "C2", "",
	    FSM_EV_DEADLINE, MSG_READMISSION_REQUEST, &c2,
	    FSM_DEEMED_ACCEPTED, FSM_EFF_DEEMED_ACCEPTED, AE_OK, 2, deemed);
	/* 25: m4 receipted at last: m5 may go */
	add_msg(JOURNAL_RECEIPT_GOT, T0 + 5 * DAY + 2, "FR", "C1", "r4",
	    MSG_RECEIPT, "m4");
}

static int
setup_group(void **state)
{

	assert_int_equal(test_scratch(tmpdir, sizeof(tmpdir), "store"), 0);
	log_capture(logbuf, sizeof(logbuf));
	build_journal();
	return 0;
}

static int
teardown_group(void **state)
{
	int i;

	for (i = 0; i < nrecs; i++)
		free((void *)recs[i].payload);
	assert_int_equal(test_rmtree(tmpdir), 0);
	return 0;
}

/* Every row of every table, read through a connection of its own. */
static char *
dump_db(const char *file)
{
	static const char *q[] = {
		"SELECT * FROM meta",
		"SELECT * FROM cases ORDER BY 1, 2",
		"SELECT * FROM messages ORDER BY 1, 2, 3",
		"SELECT * FROM deadlines ORDER BY 1, 2, 3",
		"SELECT * FROM outbox ORDER BY 1, 2",
		"SELECT * FROM inbox ORDER BY 1, 2",
		"SELECT * FROM partners ORDER BY 1",
	};
	struct text t = { NULL, 0, 0 };
	sqlite3 *db;
	sqlite3_stmt *s;
	const unsigned char *v;
	size_t i;
	int c;

	assert_int_equal(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		text_add(&t, "-- %s\n", q[i]);
		assert_int_equal(sqlite3_prepare_v2(db, q[i], -1, &s, NULL),
		    SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (c = 0; c < sqlite3_column_count(s); c++) {
				v = sqlite3_column_text(s, c);
				text_add(&t, "%s|", v != NULL ?
				    (const char *)v : "NULL");
			}
			text_add(&t, "\n");
		}
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return t.s;
}

static int
dump_case(void *arg, const struct store_case *c)
{
	json_t *j = record_case_to_json(&c->c);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);

	text_add(arg, "case %s/%s %lld %lld %lld %s\n", c->partner,
	    c->case_id, (long long)c->opened_at, (long long)c->updated_at,
	    (long long)c->next_due, s);
	free(s);
	json_decref(j);
	return 0;
}

static int
dump_message(void *arg, const struct store_message *m)
{
	text_add(arg, "msg %s/%s %s %s %s %s %s %s %lld %lld %llu %llu\n",
	    m->partner, m->message_id, record_dir_name(m->direction),
	    m->case_id, m->ref_to, agreement_msg_type_name(m->type),
	    record_msg_state_name(m->state), m->sha256,
	    (long long)m->created, (long long)m->received_at,
	    (unsigned long long)m->journal_seq,
	    (unsigned long long)m->receipt_seq);
	return 0;
}

static int
dump_deadline(void *arg, const struct store_deadline *d)
{
	text_add(arg, "dl %s/%s %s %lld\n", d->partner, d->case_id,
	    fsm_deadline_name(d->which), (long long)d->due);
	return 0;
}

static int
dump_outbox(void *arg, const struct store_outbox *o)
{
	text_add(arg, "out %s/%s %s %llu %lld %d\n", o->partner,
	    o->message_id, o->case_id, (unsigned long long)o->journal_seq,
	    (long long)o->next_attempt, o->attempts);
	return 0;
}

static int
dump_inbox(void *arg, const struct store_inbox *in)
{
	text_add(arg, "in %s/%s %s %s %llu\n", in->partner, in->message_id,
	    in->case_id, agreement_msg_type_name(in->type),
	    (unsigned long long)in->journal_seq);
	return 0;
}

/* What the engine and the control socket would see. */
static char *
dump_queries(struct store *st, accord_time_t now)
{
	static const char *cases[][2] = {
		{ "FR", "C1" }, { "FR", "C2" }, { "DE", "C3" }, { "FR", "C9" }
	};
	struct text t = { NULL, 0, 0 };
	size_t i;

	text_add(&t, "last %llu\n",
	    (unsigned long long)store_last_applied(st));
	assert_int_equal(store_list_cases(st, NULL, dump_case, &t), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(store_case_messages(st, cases[i][0],
		    cases[i][1], dump_message, &t), 0);
	assert_int_equal(store_deadlines_due(st, now, dump_deadline, &t), 0);
	assert_int_equal(store_outbox_due(st, now, dump_outbox, &t), 0);
	assert_int_equal(store_inbox_pending(st, dump_inbox, &t), 0);
	return t.s;
}

/* Collect case ids matching f. */
static int
collect_id(void *arg, const struct store_case *c)
{
	text_add(arg, "%s/%s ", c->partner, c->case_id);
	return 0;
}

static void
expect_cases(struct store *st, const struct store_case_filter *f,
    const char *want)
{
	struct text t = { NULL, 0, 0 };

	text_add(&t, "%s", "");
	assert_int_equal(store_list_cases(st, f, collect_id, &t), 0);
	assert_string_equal(t.s, want);
	free(t.s);
}

static int
collect_outbox(void *arg, const struct store_outbox *o)
{
	text_add(arg, "%s ", o->message_id);
	return 0;
}

static void
expect_outbox(struct store *st, accord_time_t now, const char *want)
{
	struct text t = { NULL, 0, 0 };

	text_add(&t, "%s", "");
	assert_int_equal(store_outbox_due(st, now, collect_outbox, &t), 0);
	assert_string_equal(t.s, want);
	free(t.s);
}

/* The partner named by arg is full; the partners asked about are
 * counted. */
static int	full_asked;
static int
full_partner(void *arg, const char *partner)
{
	full_asked++;
	return strcmp(partner, arg) == 0;
}

static void
expect_outbox_some(struct store *st, accord_time_t now, const char *full,
    const char *want)
{
	struct text t = { NULL, 0, 0 };

	text_add(&t, "%s", "");
	assert_int_equal(store_outbox_due_some(st, now, full_partner,
	    (void *)full, collect_outbox, &t), 0);
	assert_string_equal(t.s, want);
	free(t.s);
}

static int
count_cb(void *arg, const struct store_deadline *d)
{
	(*(int *)arg)++;
	return 0;
}

/* Stops after the first, to show a callback can end a listing. */
static int
first_only(void *arg, const struct store_message *m)
{
	text_add(arg, "%s ", m->message_id);
	return 1;
}

static void
test_apply_query(void **state)
{
	struct store_case_filter f;
	struct store_message m;
	struct store_deadline dl;
	struct fsm_case c;
	struct text t = { NULL, 0, 0 };
	char body[256], hex[RECORD_SHA256_HEX];
	struct store *st;
	int i, n;

	st = store_open(path("apply.db"));
	assert_non_null(st);
	assert_int_equal(store_last_applied(st), 0);
	for (i = 0; i < phase1; i++)
		if (store_apply(st, recs[i].kind, recs[i].seq, recs[i].time,
		    recs[i].payload, recs[i].len) != 0)
			fail_msg("record %d: %s", i + 1, logbuf);
	assert_int_equal(store_last_applied(st), phase1);

	/* cases: the snapshot the last decision carried */
	assert_int_equal(store_case_get(st, "FR", "C1", &c), 1);
	assert_int_equal(c.state, FSM_PENDING_REPLY);
	assert_int_equal(c.armed, 0);
	assert_int_equal(c.due[FSM_DL_REPLY], T0 + 12 * DAY);
	assert_memory_equal(&c, &c1, sizeof(c));
	assert_int_equal(store_case_get(st, "FR", "C2", &c), 1);
	assert_int_equal(c.role, ROLE_REQUESTED);
	assert_int_equal(store_case_get(st, "FR", "C9", &c), 0);
	assert_int_equal(store_case_get(st, "DE", "C1", &c), 0);

	/* messages: for duplicate detection and delivery state */
	assert_int_equal(store_message_find(st, "FR", "m1", RECORD_DIR_OUT,
	    &m), 1);
	assert_int_equal(m.state, RECORD_MS_RECEIPTED);
	assert_int_equal(m.journal_seq, 1);
	assert_int_equal(m.receipt_seq, 3);
	assert_int_equal(m.type, MSG_READMISSION_REQUEST);
	assert_string_equal(m.case_id, "C1");
	assert_int_equal(m.created, T0 - 5);
	assert_int_equal(record_sha256_hex(body, body_of("m1", body,
	    sizeof(body)), hex), 0);
	assert_string_equal(m.sha256, hex);
	assert_int_equal(store_message_find(st, "FR", "m1", RECORD_DIR_IN,
	    &m), 0);
	assert_int_equal(store_message_find(st, "FR", "m2", RECORD_DIR_IN,
	    &m), 1);
	assert_int_equal(m.state, RECORD_MS_RECEIPTED);
	assert_int_equal(m.receipt_seq, 6);
	assert_int_equal(store_message_find(st, "FR", "r2", RECORD_DIR_OUT,
	    &m), 1);
	assert_int_equal(m.type, MSG_RECEIPT);
	assert_string_equal(m.ref_to, "m2");
	assert_int_equal(m.state, RECORD_MS_SENT);
	assert_int_equal(store_message_find(st, "FR", "m7", RECORD_DIR_IN,
	    &m), 1);
	assert_int_equal(m.state, RECORD_MS_REJECTED);
	assert_string_equal(m.reason, "UNKNOWN_CASE");
	assert_int_equal(m.receipt_seq, 21);
	assert_int_equal(store_message_find(st, "FR", "m4", RECORD_DIR_OUT,
	    &m), 1);
	assert_int_equal(m.state, RECORD_MS_QUEUED);
	assert_string_equal(m.reason, "HTTP 503");

	/* deadlines: C1's was cleared, C2's is armed */
	assert_int_equal(store_next_deadline(st, &dl), 1);
	assert_string_equal(dl.partner, "FR");
	assert_string_equal(dl.case_id, "C2");
	assert_int_equal(dl.which, FSM_DL_REPLY);
	assert_int_equal(dl.due, T0 + 5 * DAY);
	n = 0;
	assert_int_equal(store_deadlines_due(st, T0 + 5 * DAY - 1, count_cb,
	    &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_deadlines_due(st, T0 + 5 * DAY, count_cb,
	    &n), 0);
	assert_int_equal(n, 1);

	/* listings for the control socket */
	expect_cases(st, NULL, "DE/C3 FR/C1 FR/C2 ");
	store_case_filter_init(&f);
	f.state = FSM_PENDING_REPLY;
	expect_cases(st, &f, "FR/C1 FR/C2 ");
	store_case_filter_init(&f);
	f.partner = "DE";
	expect_cases(st, &f, "DE/C3 ");
	store_case_filter_init(&f);
	f.kind = FSM_KIND_TRANSIT;
	expect_cases(st, &f, "");
	store_case_filter_init(&f);
	f.overdue_at = T0 + 5 * DAY;
	expect_cases(st, &f, "");
	f.overdue_at = T0 + 5 * DAY + 1;
	expect_cases(st, &f, "FR/C2 ");
	store_case_filter_init(&f);
	f.due_by = T0 + 5 * DAY;
	expect_cases(st, &f, "FR/C2 ");
	/* the NO_CHANGE decision (22) did not touch C1 */
	store_case_filter_init(&f);
	f.updated_since = T0 + 200;
	expect_cases(st, &f, "DE/C3 FR/C2 ");
	f.state = FSM_SUBMITTED;
	f.partner = "DE";
	expect_cases(st, &f, "DE/C3 ");

	/* a case's messages, in journal order; a callback may stop */
	assert_int_equal(store_case_messages(st, "FR", "C1", dump_message,
	    &t), 0);
	assert_non_null(strstr(t.s, "msg FR/m1 out"));
	n = 0;
	for (i = 0; t.s[i] != '\0'; i++)
		n += t.s[i] == '\n';
	assert_int_equal(n, 6);
	assert_true(strstr(t.s, "FR/m1 ") < strstr(t.s, "FR/r1 "));
	assert_true(strstr(t.s, "FR/r2 ") < strstr(t.s, "FR/m5 "));
	free(t.s);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_case_messages(st, "FR", "C1", first_only,
	    &t), 0);
	assert_string_equal(t.s, "m1 ");
	free(t.s);

	/* outbox: m5 waits for m4, m6 for DE to be resumed */
	expect_outbox(st, T0 + 999, "");
	expect_outbox(st, T0 + 1000, "m4 ");
	/* a partner whose connections are all busy is not asked for its
	 * messages; another's are (DE, paused, is not asked about) */
	full_asked = 0;
	expect_outbox_some(st, T0 + 1000, "FR", "");
	assert_int_equal(full_asked, 1);
	expect_outbox_some(st, T0 + 1000, "DE", "m4 ");
	assert_int_equal(full_asked, 2);
	/* a failing partner's probe: its oldest message, due or not; none
	 * for a paused partner */
	memset(&t, 0, sizeof(t));
	text_add(&t, "%s", "");
	assert_int_equal(store_outbox_oldest(st, "FR", collect_outbox, &t), 0);
	assert_string_equal(t.s, "m4 ");
	free(t.s);
	memset(&t, 0, sizeof(t));
	text_add(&t, "%s", "");
	assert_int_equal(store_outbox_oldest(st, "DE", collect_outbox, &t), 0);
	assert_string_equal(t.s, "");
	free(t.s);

	/* inbox: m2 acknowledged, m7 refused, receipts are not business */
	memset(&t, 0, sizeof(t));
	text_add(&t, "%s", "");
	assert_int_equal(store_inbox_pending(st, dump_inbox, &t), 0);
	assert_string_equal(t.s, "in FR/m3 C2 ReadmissionRequest 8\n");
	free(t.s);

	/* phase two: the deadline fires, m4's receipt comes back */
	assert_int_equal(store_apply_batch(st, recs + phase1,
	    (size_t)(nrecs - phase1)), 0);
	assert_int_equal(store_last_applied(st), nrecs);
	assert_int_equal(store_case_get(st, "FR", "C2", &c), 1);
	assert_int_equal(c.state, FSM_DEEMED_ACCEPTED);
	assert_int_equal(store_next_deadline(st, &dl), 1);
	assert_string_equal(dl.case_id, "C2");
	assert_int_equal(dl.which, FSM_DL_TRANSFER);
	assert_int_equal(dl.due, T0 + 95 * DAY);
	expect_outbox(st, T0 + 5 * DAY + 2, "m5 ");
	assert_int_equal(store_message_find(st, "FR", "m4", RECORD_DIR_OUT,
	    &m), 1);
	assert_int_equal(m.state, RECORD_MS_RECEIPTED);
	assert_int_equal(m.receipt_seq, nrecs);
	store_close(st);

	/* and it is all still there after a reopen */
	st = store_open(path("apply.db"));
	assert_non_null(st);
	assert_int_equal(store_last_applied(st), nrecs);
	assert_int_equal(store_case_get(st, "FR", "C2", &c), 1);
	assert_memory_equal(&c, &c2, sizeof(c));
	store_close(st);
}

/* Collect the seqs of a case's records. */
static int
collect_seq(void *arg, const struct store_recpos *r)
{
	text_add(arg, "%llu ", (unsigned long long)r->seq);
	/* where the test put it */
	assert_int_equal(r->file, 1 + r->seq / 10);
	assert_int_equal(r->offset, r->seq * 1000);
	return 0;
}

static char *
case_seqs(struct store *st, const char *partner, const char *case_id,
    uint64_t after, int limit)
{
	struct text t = { NULL, 0, 0 };

	text_add(&t, "%s", "");
	assert_int_equal(store_case_records(st, partner, case_id, after,
	    limit, collect_seq, &t), 0);
	return t.s;
}

/* The plan SQLite picks for sql on db: "SEARCH ..." lines joined. */
static void
query_plan(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *s;
	char q[1024];
	size_t n = 0;

	buf[0] = '\0';
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s; ",
		    (const char *)sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
}

/* Commit n transactions of a page's worth each on the store's own
 * connection (what the loop's commits do to the WAL). */
static void
ckpt_commits(struct store *st, int n)
{
	char sql[256];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO ckpt_fill(b) "
		    "VALUES(randomblob(3000))");
		assert_int_equal(sqlite3_exec(st->db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
	}
}

/* Wait (5 s at most) until the checkpointer has run more than n. */
static uint64_t
ckpt_wait_past(struct store *st, uint64_t n)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 500 && store_checkpoints(st) <= n; i++)
		nanosleep(&ts, NULL);
	return store_checkpoints(st);
}

/* The size of a file, in bytes. */
static off_t
file_size(const char *file)
{
	struct stat sb;

	assert_int_equal(stat(file, &sb), 0);
	return sb.st_size;
}

/*
 * WAL checkpoints off the loop (store_ckpt.c): with the checkpointer
 * started, the loop's commits copy nothing into the database, even past
 * the threshold SQLite itself would checkpoint at (the database file
 * keeps its size while the WAL grows); a commit past the checkpointer's
 * threshold makes its thread checkpoint (counted; the database grows);
 * after a bulk phase (a PRAGMA that puts SQLite's own hook back) the
 * thread still does them.
 */
static void
test_checkpoints_off_the_loop(void **state)
{
	struct store *st;
	char db[1024];
	off_t size;
	uint64_t n;

	snprintf(db, sizeof(db), "%s", path("ckpt.db"));
	assert_non_null(st = store_open(db));
	assert_int_equal(sqlite3_exec(st->db, "CREATE TABLE ckpt_fill(b)",
	    NULL, NULL, NULL), SQLITE_OK);
	ckpt_commits(st, 5);
	assert_int_equal(store_checkpoints(st), 0);	/* not started */

	/* a threshold never reached: nobody checkpoints, though SQLite's
	 * own hook would at every commit */
	assert_int_equal(store_checkpointer_start(st, 1000000), 0);
	assert_int_equal(sqlite3_wal_autocheckpoint(st->db, 1), SQLITE_OK);
	store_ckpt_hook_install(st);
	size = file_size(db);
	ckpt_commits(st, 30);
	assert_int_equal(file_size(db), size);
	assert_int_equal(store_checkpoints(st), 0);
	store_checkpointer_stop(st);

	/* past 20 pages: a commit wakes the thread, which copies them */
	assert_int_equal(store_checkpointer_start(st, 20), 0);
	ckpt_commits(st, 1);
	assert_true((n = ckpt_wait_past(st, 0)) >= 1);
	assert_true(file_size(db) > size);
	/* a bulk phase and back: still the thread's */
	assert_int_equal(store_set_bulk(st, 1), 0);
	assert_int_equal(store_set_bulk(st, 0), 0);
	ckpt_commits(st, 30);
	assert_true(ckpt_wait_past(st, n) > n);
	store_close(st);	/* stops the thread */
}

/*
 * Issue 20: the per-partner summary (`queues`, the metrics) reads the
 * stuck messages and the latest contact through partial indexes, not
 * every message the partner ever exchanged; a store made before the
 * indexes gets them when it is opened.  The figures are those of the
 * plain queries.
 */
static void
test_partner_queue_indexed(void **state)
{
	static const char *const stuck = "SELECT count(*) FROM messages "
	    "WHERE partner = 'FR' AND direction = 'out' AND state IN "
	    "('UNDELIVERED', 'DISPUTED')";
	static const char *const last_in = "SELECT coalesce(max(created), "
	    "0) FROM messages WHERE partner = 'FR' AND direction = 'in'";
	struct store_queue q;
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *s;
	char plan[1024];
	int64_t nstuck, last;

	st = store_open(path("queue.db"));
	assert_non_null(st);
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	assert_int_equal(store_partner_queue(st, "FR", &q), 0);
	store_close(st);

	assert_int_equal(sqlite3_open_v2(path("queue.db"), &db,
	    SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	query_plan(db, stuck, plan, sizeof(plan));
	assert_non_null(strstr(plan, "messages_stuck"));
	query_plan(db, last_in, plan, sizeof(plan));
	assert_non_null(strstr(plan, "messages_in_created"));
	/* the figures are the plain queries' */
	assert_int_equal(sqlite3_prepare_v2(db, stuck, -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	nstuck = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	assert_int_equal(q.stuck, nstuck);
	assert_int_equal(sqlite3_prepare_v2(db, last_in, -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	last = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	assert_true(q.last_contact >= last);
	/* a store of before: no indexes; opened, it has them again */
	assert_int_equal(sqlite3_exec(db, "DROP INDEX messages_stuck; "
	    "DROP INDEX messages_in_created; DROP INDEX "
	    "messages_out_received", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = store_open(path("queue.db"));
	assert_non_null(st);
	store_close(st);
	assert_int_equal(sqlite3_open_v2(path("queue.db"), &db,
	    SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	query_plan(db, stuck, plan, sizeof(plan));
	assert_non_null(strstr(plan, "messages_stuck"));
	query_plan(db, "SELECT coalesce(max(received_at), 0) FROM messages "
	    "WHERE partner = 'FR' AND direction = 'out'", plan, sizeof(plan));
	assert_non_null(strstr(plan, "messages_out_received"));
	sqlite3_close(db);
}

/* A page of the inbox into t, "partner/message_id " each; the last seq in
 * *last.  @return the rows. */
struct inbox_page {
	struct text	 t;
	uint64_t	 last;
	int		 n;
};

static int
collect_inbox(void *arg, const struct store_inbox *in)
{
	struct inbox_page *p = arg;

	text_add(&p->t, "%s/%s ", in->partner, in->message_id);
	assert_true(in->journal_seq > p->last);	/* journal order */
	p->last = in->journal_seq;
	p->n++;
	return 0;
}

/* Full-table steps and sorts a statement of the store has made. */
static int
stmt_scans(struct store *st, enum store_stmt id)
{
	return sqlite3_stmt_status(st->stmt[id],
	    SQLITE_STMTSTATUS_FULLSCAN_STEP, 0) +
	    sqlite3_stmt_status(st->stmt[id], SQLITE_STMTSTATUS_SORT, 0);
}

/* The VM steps of a statement since the last call (reset). */
static int
which_steps(struct store *st, enum store_stmt id)
{
	return sqlite3_stmt_status(st->stmt[id], SQLITE_STMTSTATUS_VM_STEP,
	    1);
}

/*
 * Issue 14: inbox runs on the event loop, so it reads a page at a time
 * (after= a journal seq, limit=), each an indexed range; and ack or
 * resend without partner= find the partner by key, one lookup per
 * partner, never by listing the inbox or every message.  3,000 pending
 * messages from three partners, one acknowledged, one id sent by two.
 */
static void
test_inbox_pages(void **state)
{
	static const char *const cc[] = { "FR", "DE", "PL" };
	char partners[2][RECORD_PARTNER_MAX], sql[512];
	struct inbox_page p;
	struct store *st;
	int i, pages, total;

	st = store_open(path("inbox.db"));
	assert_non_null(st);
	assert_int_equal(sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 1; i <= 3000; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO inbox VALUES('%s', "
		    "'m%d', 'C%d', 'ReadmissionRequest', %d, %d)", cc[i % 3],
		    i, i, 10 * i, i == 7);
		assert_int_equal(sqlite3_exec(st->db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
	}
	assert_int_equal(sqlite3_exec(st->db, "INSERT INTO inbox VALUES("
	    "'DE', 'm5', 'C5', 'ReadmissionRequest', 99999, 0);"
	    "INSERT INTO messages VALUES('PL', 'o1', 'out', 'C1', '', "
	    "'ReadmissionRequest', 'QUEUED', '', '', 0, 0, 11, 0);"
	    "COMMIT", NULL, NULL, NULL), SQLITE_OK);

	/* every pending message once, in journal order, 250 a page */
	memset(&p, 0, sizeof(p));
	text_add(&p.t, "%s", "");
	for (pages = 0, total = 0;; pages++) {
		p.n = 0;
		assert_int_equal(store_inbox_page(st, NULL, p.last, 250,
		    collect_inbox, &p), 0);
		total += p.n;
		if (p.n < 250)
			break;
	}
	assert_int_equal(total, 3000);	/* 3,001 less the acknowledged */
	assert_int_equal(pages, 12);
	assert_non_null(strstr(p.t.s, "DE/m5 "));
	assert_null(strstr(p.t.s, "/m7 "));
	assert_int_equal(strncmp(p.t.s, "DE/m1 PL/m2 FR/m3 ", 18), 0);
	free(p.t.s);
	/* one partner's pages; a page after the last is empty */
	memset(&p, 0, sizeof(p));
	text_add(&p.t, "%s", "");
	assert_int_equal(store_inbox_page(st, "PL", 0, 2, collect_inbox, &p),
	    0);
	assert_string_equal(p.t.s, "PL/m2 PL/m5 ");
	assert_int_equal(store_inbox_page(st, "PL", p.last, 1, collect_inbox,
	    &p), 0);
	assert_string_equal(p.t.s, "PL/m2 PL/m5 PL/m8 ");
	p.n = 0;
	assert_int_equal(store_inbox_page(st, NULL, 99999, 0, collect_inbox,
	    &p), 0);
	assert_int_equal(p.n, 0);
	free(p.t.s);
	/* no page read the table whole or sorted it */
	assert_int_equal(stmt_scans(st, SQ_INBOX_PENDING), 0);
	assert_int_equal(stmt_scans(st, SQ_INBOX_PENDING_PARTNER), 0);

	/* which partner: by key, a few dozen steps each (three partners),
	 * where a listing of the 3,001 rows would take thousands */
	assert_int_equal(store_which_partner(st, "m4", 1, partners), 1);
	assert_string_equal(partners[0], "DE");
	assert_true(which_steps(st, SQ_INBOX_WHICH) < 200);
	assert_int_equal(store_which_partner(st, "m5", 1, partners), 2);
	assert_true(which_steps(st, SQ_INBOX_WHICH) < 200);
	assert_int_equal(store_which_partner(st, "m7", 1, partners), 0);
	assert_int_equal(store_which_partner(st, "nope", 1, partners), 0);
	assert_true(which_steps(st, SQ_INBOX_WHICH) < 400);
	assert_int_equal(store_which_partner(st, "o1", 0, partners), 1);
	assert_string_equal(partners[0], "PL");
	assert_int_equal(store_which_partner(st, "m4", 0, partners), 0);
	assert_true(which_steps(st, SQ_MSG_WHICH_OUT) < 400);
	store_close(st);
}

/* The records index (issue 14): every record of a case is found by case
 * and by seq where the journal holds it; records of no case are not. */
static void
test_records_index(void **state)
{
	struct store_record *pr;
	struct store_recpos pos;
	struct store *st;
	char *c1s, *c2s, *page;
	int i;

	pr = calloc((size_t)nrecs, sizeof(*pr));
	assert_non_null(pr);
	for (i = 0; i < nrecs; i++) {
		pr[i] = recs[i];
		pr[i].file = (uint32_t)(1 + pr[i].seq / 10);
		pr[i].offset = pr[i].seq * 1000;
	}
	st = store_open(path("records.db"));
	assert_non_null(st);
	/* the last record comes without a position: it is not indexed */
	pr[nrecs - 1].file = 0;
	assert_int_equal(store_apply_batch(st, pr, (size_t)nrecs), 0);

	c1s = case_seqs(st, "FR", "C1", 0, 0);
	c2s = case_seqs(st, "FR", "C2", 0, 0);
	/* C1's first seven records, then C2's three, in journal order */
	assert_true(strncmp(c1s, "1 2 3 4 5 6 7 ", 14) == 0);
	assert_true(strncmp(c2s, "8 9 10 ", 7) == 0);
	assert_null(strstr(c1s, " 8 "));
	/* a page: after 3, two of them */
	page = case_seqs(st, "FR", "C1", 3, 2);
	assert_string_equal(page, "4 5 ");
	free(page);
	page = case_seqs(st, "FR", "NO-SUCH-CASE", 0, 0);
	assert_string_equal(page, "");
	free(page);

	assert_int_equal(store_record_pos(st, 2, &pos), 1);
	assert_int_equal(pos.kind, JOURNAL_DECISION);
	assert_int_equal(pos.file, 1);
	assert_int_equal(pos.offset, 2000);
	assert_int_equal(store_record_pos(st, (uint64_t)nrecs, &pos), 0);
	for (i = 0; i < nrecs; i++)
		if (pr[i].kind == JOURNAL_PARTNER_PAUSE ||
		    pr[i].kind == JOURNAL_INBOX_ACK)
			assert_int_equal(store_record_pos(st, pr[i].seq, &pos),
			    0);
	/* where catching up starts: the file of the last record that had
	 * one (the last had none), kept across a reopen */
	assert_int_equal(store_last_applied_file(st),
	    pr[nrecs - 2].file);
	store_close(st);
	st = store_open(path("records.db"));
	assert_non_null(st);
	assert_int_equal(store_last_applied_file(st),
	    pr[nrecs - 2].file);
	free(c1s);
	free(c2s);
	free(pr);
	store_close(st);
}

static void
test_idempotent(void **state)
{
	struct store_message m;
	struct store *st;
	char *once, *twice;
	int i;

	st = store_open(path("idem.db"));
	assert_non_null(st);
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	once = dump_db(path("idem.db"));

	/* the whole journal again, in one batch and one by one */
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	for (i = 0; i < nrecs; i++)
		assert_int_equal(store_apply(st, recs[i].kind, recs[i].seq,
		    recs[i].time, recs[i].payload, recs[i].len), 0);
	twice = dump_db(path("idem.db"));
	assert_string_equal(once, twice);
	assert_int_equal(store_last_applied(st), nrecs);
	free(once);
	free(twice);
	store_close(st);

	/* out of order: once 8 is applied, 6 (r2 given for m2) is old */
	st = store_open(path("order.db"));
	assert_non_null(st);
	assert_int_equal(store_apply_batch(st, recs, 5), 0);
	assert_int_equal(store_apply(st, recs[7].kind, recs[7].seq,
	    recs[7].time, recs[7].payload, recs[7].len), 0);
	assert_int_equal(store_last_applied(st), 8);
	once = dump_db(path("order.db"));
	assert_int_equal(store_apply(st, recs[5].kind, recs[5].seq,
	    recs[5].time, recs[5].payload, recs[5].len), 0);
	assert_int_equal(store_last_applied(st), 8);
	twice = dump_db(path("order.db"));
	assert_string_equal(once, twice);
	assert_int_equal(store_message_find(st, "FR", "m2", RECORD_DIR_IN,
	    &m), 1);
	assert_int_equal(m.state, RECORD_MS_RECEIVED);
	assert_int_equal(store_message_find(st, "FR", "r2", RECORD_DIR_OUT,
	    &m), 0);
	free(once);
	free(twice);
	store_close(st);
}

/* The store's index names and definitions, one a line, sorted. */
static char *
index_defs(struct store *st)
{
	struct text t = { NULL, 0, 0 };
	sqlite3_stmt *s;

	text_add(&t, "%s", "");
	assert_int_equal(sqlite3_prepare_v2(st->db, "SELECT name, sql FROM "
	    "sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY "
	    "name", -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		text_add(&t, "%s: %s\n", sqlite3_column_text(s, 0),
		    sqlite3_column_text(s, 1));
	sqlite3_finalize(s);
	return t.s;
}

/*
 * Issue 14: a rebuild from empty builds the secondary indexes once, at
 * the end.  Deferred, they are gone while the records are applied and
 * come back the same; a rebuild interrupted in between (a reopen) gets
 * them back at the next restore; the store then answers as one built
 * with its indexes throughout.
 */
static void
test_deferred_indexes(void **state)
{
	struct store *a, *b;
	char *before, *after, *qa, *qb;

	a = store_open(path("idx-a.db"));
	assert_non_null(a);
	assert_int_equal(store_apply_batch(a, recs, (size_t)nrecs), 0);
	b = store_open(path("idx-b.db"));
	assert_non_null(b);
	before = index_defs(b);
	assert_non_null(strstr(before, "messages_case: CREATE INDEX"));
	assert_non_null(strstr(before, "inbox_pending: CREATE INDEX"));
	/* nothing deferred: nothing to do */
	assert_int_equal(store_restore_indexes(b), 0);

	assert_int_equal(store_defer_indexes(b), 0);
	after = index_defs(b);
	assert_string_equal(after, "");
	free(after);
	assert_int_equal(store_apply_batch(b, recs, (size_t)phase1), 0);
	/* interrupted: a reopen makes the late indexes again, not all */
	store_close(b);
	b = store_open(path("idx-b.db"));
	assert_non_null(b);
	after = index_defs(b);
	assert_null(strstr(after, "messages_case:"));
	assert_non_null(strstr(after, "inbox_pending:"));
	free(after);
	assert_int_equal(store_apply_batch(b, recs, (size_t)nrecs), 0);
	assert_true(store_restore_indexes(b) > 0);
	after = index_defs(b);
	assert_string_equal(after, before);
	assert_int_equal(store_restore_indexes(b), 0);	/* done once */

	qa = dump_queries(a, INT64_MAX);
	qb = dump_queries(b, INT64_MAX);
	assert_string_equal(qa, qb);
	assert_non_null(strstr(qa, "case FR/C2"));
	free(qa);
	free(qb);
	free(before);
	free(after);
	store_close(a);
	store_close(b);
}

static void
test_rebuild(void **state)
{
	struct store *a, *b;
	char *da, *db, *qa, *qb;
	int i;

	/* a: record by record, as the daemon applies them */
	a = store_open(path("a.db"));
	assert_non_null(a);
	for (i = 0; i < nrecs; i++)
		assert_int_equal(store_apply(a, recs[i].kind, recs[i].seq,
		    recs[i].time, recs[i].payload, recs[i].len), 0);

	/* b: half the journal, then rebuilt and fed all of it at once */
	b = store_open(path("b.db"));
	assert_non_null(b);
	assert_int_equal(store_apply_batch(b, recs, (size_t)nrecs / 2), 0);
	assert_int_equal(store_rebuild(b), 0);
	assert_int_equal(store_last_applied(b), 0);
	qb = dump_queries(b, INT64_MAX);
	assert_string_equal(qb, "last 0\n");
	free(qb);
	assert_int_equal(store_apply_batch(b, recs, (size_t)nrecs), 0);

	da = dump_db(path("a.db"));
	db = dump_db(path("b.db"));
	assert_string_equal(da, db);
	qa = dump_queries(a, INT64_MAX);
	qb = dump_queries(b, INT64_MAX);
	assert_string_equal(qa, qb);
	/* the dumps are not empty by accident */
	assert_non_null(strstr(qa, "case FR/C2"));
	assert_non_null(strstr(qa, "dl FR/C2 transfer"));
	assert_non_null(strstr(qa, "out FR/m5"));
	free(da);
	free(db);
	free(qa);
	free(qb);
	store_close(a);
	store_close(b);
}

static void
test_rollback(void **state)
{
	struct store_record bad[3];
	struct record_pause pz;
	struct record_message mm;
	struct store *st;
	char *before, *after, *p, *q;
	size_t len, qlen;
	uint64_t last;

	st = store_open(path("rollback.db"));
	assert_non_null(st);
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	last = store_last_applied(st);
	before = dump_db(path("rollback.db"));

	/* a good record, then a malformed decision: neither is applied */
	memset(&pz, 0, sizeof(pz));
	snprintf(pz.partner, sizeof(pz.partner), "FR");
	pz.paused = 1;
	assert_int_equal(record_pause_encode(&pz, &p, &len), 0);
	bad[0].kind = JOURNAL_PARTNER_PAUSE;
	bad[0].seq = last + 1;
	bad[0].time = T0 + 10 * DAY;
	bad[0].payload = p;
	bad[0].len = len;
	bad[1] = bad[0];
	bad[1].kind = JOURNAL_DECISION;
	bad[1].seq = last + 2;
	bad[1].payload = "{\"case_id\":";
	bad[1].len = strlen(bad[1].payload);
	logbuf[0] = '\0';
	assert_int_equal(store_apply_batch(st, bad, 2), -1);
	assert_non_null(strstr(logbuf, "not applied"));
	assert_non_null(strstr(logbuf, "DECISION"));
	assert_int_equal(store_last_applied(st), last);
	after = dump_db(path("rollback.db"));
	assert_string_equal(before, after);
	free(after);

	/* one by one: each refused, nothing moves */
	assert_int_equal(store_apply(st, JOURNAL_DECISION, last + 1, T0, "{}",
	    2), -1);
	assert_int_equal(store_apply(st, 77, last + 1, T0, "{}", 2), -1);
	assert_non_null(strstr(logbuf, "unknown record type 77"));
	/* a received message in a "sent" record */
	memset(&mm, 0, sizeof(mm));
	snprintf(mm.partner, sizeof(mm.partner), "FR");
	snprintf(mm.message_id, sizeof(mm.message_id), "m99");
	mm.type = MSG_CONSULTATION;
	mm.direction = RECORD_DIR_IN;
	assert_int_equal(record_message_encode(&mm, "x", 1, &q, &qlen), 0);
	assert_int_equal(store_apply(st, JOURNAL_MESSAGE_SENT, last + 1, T0, q,
	    qlen), -1);
	/* a Consultation is not an answer */
	assert_int_equal(store_apply(st, JOURNAL_RECEIPT_GOT, last + 1, T0, q,
	    qlen), -1);
	/* the body changed after the header was written */
	q[qlen - 1] = 'y';
	assert_int_equal(store_apply(st, JOURNAL_MESSAGE_RECEIVED, last + 1, T0,
	    q, qlen), -1);
	assert_int_equal(store_last_applied(st), last);
	after = dump_db(path("rollback.db"));
	assert_string_equal(before, after);
	free(after);

	/* and the good record alone goes through */
	assert_int_equal(store_apply_batch(st, bad, 1), 0);
	assert_int_equal(store_last_applied(st), last + 1);
	free(p);
	free(q);
	free(before);
	store_close(st);
}

static void
test_disk_full(void **state)
{
	struct store_record big[400];
	struct record_message m;
	struct store *st;
	char body[2048], *before, *after;
	uint64_t last;
	size_t len;
	char *p;
	int i;

	st = store_open(path("full.db"));
	assert_non_null(st);
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	last = store_last_applied(st);
	before = dump_db(path("full.db"));

	memset(body, 'B', sizeof(body));
	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "FR");
	m.type = MSG_CONSULTATION;
	m.direction = RECORD_DIR_OUT;
	for (i = 0; i < 400; i++) {
		snprintf(m.case_id, sizeof(m.case_id), "CASE-%040d", i);
		snprintf(m.message_id, sizeof(m.message_id),
		    "%08d-0000-4000-8000-000000000000", i);
		assert_int_equal(record_message_encode(&m, body,
		    sizeof(body), &p, &len), 0);
		big[i].kind = JOURNAL_MESSAGE_SENT;
		big[i].seq = last + 1 + (uint64_t)i;
		big[i].time = T0 + 20 * DAY;
		big[i].payload = p;
		big[i].len = len;
	}

	/* no page beyond the current size: as a full disk */
	assert_int_equal(store_test_max_pages(st, 1), 0);
	logbuf[0] = '\0';
	assert_int_equal(store_apply_batch(st, big, 400), -1);
	assert_non_null(strstr(logbuf, "full"));
	assert_non_null(strstr(logbuf, "not applied"));
	assert_int_equal(store_last_applied(st), last);
	after = dump_db(path("full.db"));
	assert_string_equal(before, after);
	free(after);

	/* room again: the same batch goes through */
	assert_int_equal(store_test_max_pages(st, 0), 0);
	assert_int_equal(store_apply_batch(st, big, 400), 0);
	assert_int_equal(store_last_applied(st), last + 400);
	for (i = 0; i < 400; i++)
		free((void *)big[i].payload);
	free(before);
	store_close(st);
}

/* The value of a pragma of the database at file, as text. */
static const char *
pragma(const char *file, const char *name)
{
	static char buf[64];
	sqlite3 *db;
	sqlite3_stmt *s;
	char sql[128];

	snprintf(sql, sizeof(sql), "PRAGMA %s", name);
	assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return buf;
}

static void
test_versions(void **state)
{
	struct store *st;
	sqlite3 *db;

	st = store_open(path("v.db"));
	assert_non_null(st);
	assert_int_equal(store_apply_batch(st, recs, 4), 0);
	store_close(st);

	/* a newer accordd wrote it */
	assert_int_equal(sqlite3_open(path("v.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	logbuf[0] = '\0';
	assert_null(store_open(path("v.db")));
	assert_non_null(strstr(logbuf, "newer"));
	/* ... and it was left alone */
	assert_string_equal(pragma(path("v.db"), "user_version"), "99");

	/* an older accordd's (schema 1, before submit request-ids): refused,
	 * and the daemon rebuilds it from the journal */
	assert_int_equal(sqlite3_open(path("v.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	logbuf[0] = '\0';
	assert_null(store_open(path("v.db")));
	assert_non_null(strstr(logbuf, "rebuild it from the journal"));

	/* somebody else's database */
	assert_int_equal(sqlite3_open(path("other.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	logbuf[0] = '\0';
	assert_null(store_open(path("other.db")));
	assert_non_null(strstr(logbuf, "not an Accord store"));

	/* a refused store is removed and rebuilt */
	assert_int_equal(store_remove(path("v.db")), 0);
	st = store_open(path("v.db"));
	assert_non_null(st);
	assert_int_equal(store_last_applied(st), 0);
	store_close(st);
	assert_string_equal(pragma(path("v.db"), "user_version"),
	    STORE_SCHEMA_VERSION_S);
	assert_string_equal(pragma(path("v.db"), "journal_mode"), "wal");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_query),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_records_index),
		cmocka_unit_test(test_partner_queue_indexed),
		cmocka_unit_test(test_inbox_pages),
		cmocka_unit_test(test_checkpoints_off_the_loop),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_deferred_indexes),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_versions),
	};

	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
