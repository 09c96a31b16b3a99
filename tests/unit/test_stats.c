/*
 * test_stats.c -- the stats report on a fixture whose totals are
 * computed by hand: events counted in the month they happened, by our
 * role and partner; returns completed with and without an entry ban and
 * the ban's years; refusals by ground; deemed acceptances; voluntary
 * departures; cases overdue now; the text, JSON and CSV forms, since=
 * and partner=.
 *
 * The fixture is a journal of decisions and messages applied to a store
 * (as test_store.c builds one): the store writes what a decision says,
 * so the decisions need only be consistent.  Three months, 2026-03 to
 * 2026-05, the clock in June:
 *
 *	A  FR, we are R, deliberate violation: request 03, accepted 04,
 *	   transfer window missed 04 and extended (back to ACCEPTED: no
 *	   second acceptance), handover 05 with a ban of 5 years
 *	B  FR, R, objective reason: request 03, deemed accepted 03 (the
 *	   reply deadline), handover 05: the ban rule ran, 0 years
 *	C  FR, R, deliberate: request 03, refused 04 (NotOwnNational,
 *	   InsufficientEvidence); a late second reply refused by the fsm
 *	D  DE, we are Q, deliberate: request 04, our refusal 04
 *	   (IdentityNotEstablished)
 *	E  DE, Q, deliberate: request 05, our reply overdue since 05-20
 *	F  KR, Q, voluntary departure: notified 03, departed 04
 *	G  KR, Q, voluntary departure: notified 04, cancelled 05
 *	H  FR, R, transit: request 05, consent 05
 *	I  FR, R, transit: request 05, refused 05 (a reply whose grounds
 *	   cannot be read: "unknown")
 *
 * A last test adds a case whose refusal's record states its grounds
 * (test_grounds_from_record).
 *
 * The old report counted an entry ban for every case of a deliberate
 * violation (A, C, D, E: four) and months by opening; here there is one
 * return with a ban, in May.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/clock.h"
#include "util/errcode.h"
#include "util/log.h"
#include "fsm/fsm.h"
#include "msg/parser.h"
#include "persist/record.h"
#include "persist/store.h"
#include "report/report.h"
#include "testutil.h"

#define M3	((accord_time_t)1772323200)	/* 2026-03-01T00:00:00Z */
#define M4	((accord_time_t)1775001600)	/* 2026-04-01 */
#define M5	((accord_time_t)1777593600)	/* 2026-05-01 */
#define M6	((accord_time_t)1780272000)	/* 2026-06-01 */
#define DAY	86400

static char tmpdir[512];
static char logbuf[16384];

#define MAXRECS	128
static struct store_record recs[MAXRECS];
static int nrecs;
static struct store *st;

static void
add(int kind, accord_time_t t, char *p, size_t len)
{
	assert_true(nrecs < MAXRECS);
	recs[nrecs].kind = kind;
	recs[nrecs].seq = (uint64_t)nrecs + 1;
	recs[nrecs].time = t;
	recs[nrecs].payload = p;
	recs[nrecs].len = len;
	nrecs++;
}

/* A reply refusing on these grounds (NULL: accepting), as signed. */
static char *
reply_body(const char *root, const char *refused, const char *g1,
    const char *g2)
{
	char *b;

	if (refused == NULL)
		assert_true(asprintf(&b, "<Message xmlns=\"urn:accord:"
		    "envelope:1\"><Header/><Body><%s xmlns=\"urn:accord:msg:1\">"
		    "<Accepted/></%s></Body></Message>", root, root) > 0);
	else
		assert_true(asprintf(&b, "<Message xmlns=\"urn:accord:"
		    "envelope:1\"><Header/><Body><%s xmlns=\"urn:accord:msg:1\">"
		    "<%s><Ground>%s</Ground>%s%s%s<Text>No.</Text></%s></%s>"
		    "</Body></Message>", root, refused, g1,
		    g2 != NULL ? "<Ground>" : "", g2 != NULL ? g2 : "",
		    g2 != NULL ? "</Ground>" : "", refused, root) > 0);
	return b;
}

/* A message record; body NULL: a stand-in that is not XML. */
static void
add_msg(int kind, accord_time_t t, const char *partner, const char *case_id,
    const char *mid, enum msg_type mt, const char *body)
{
	struct record_message m;
	const char *b = body != NULL ? body : "not xml <";
	char *p;
	size_t len;

	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "%s", partner);
	snprintf(m.case_id, sizeof(m.case_id), "%s", case_id);
	snprintf(m.message_id, sizeof(m.message_id), "%s", mid);
	m.type = mt;
	m.direction = kind == JOURNAL_MESSAGE_RECEIVED ? RECORD_DIR_IN :
	    RECORD_DIR_OUT;
	m.created = t - 5;
	assert_int_equal(record_message_encode(&m, b, strlen(b), &p, &len),
	    0);
	add(kind, t, p, len);
}

/* A partner's refusing reply whose record states grounds g1 and g2 (the
 * body is not XML: only the record can say them). */
static void
add_refusal_grounds(accord_time_t t, const char *partner,
    const char *case_id, const char *mid, const char *g1, const char *g2)
{
	struct record_message m;
	const char *b = "not xml <";
	char *p;
	size_t len;

	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "%s", partner);
	snprintf(m.case_id, sizeof(m.case_id), "%s", case_id);
	snprintf(m.message_id, sizeof(m.message_id), "%s", mid);
	m.type = MSG_READMISSION_REPLY;
	m.direction = RECORD_DIR_IN;
	m.created = t - 5;
	m.has_grounds = 1;
	snprintf(m.grounds[m.ngrounds++], sizeof(m.grounds[0]), "%s", g1);
	snprintf(m.grounds[m.ngrounds++], sizeof(m.grounds[0]), "%s", g2);
	assert_int_equal(record_message_encode(&m, b, strlen(b), &p, &len),
	    0);
	add(JOURNAL_MESSAGE_RECEIVED, t, p, len);
}

/*
 * A decision moving *c to state to (FSM_TO_SAME: a check, no change),
 * with effects, the entry ban's years, and at most one deadline op.
 */
static void
add_decision(int kind, accord_time_t t, const char *partner,
    const char *case_id, const char *mid, enum fsm_ev_kind evk,
    enum msg_type mt, struct fsm_case *c, int to, unsigned effects,
    int ban, const struct fsm_dlop *dl)
{
	struct record_decision rd;
	char *p;
	size_t len;

	memset(&rd, 0, sizeof(rd));
	snprintf(rd.partner, sizeof(rd.partner), "%s", partner);
	snprintf(rd.case_id, sizeof(rd.case_id), "%s", case_id);
	snprintf(rd.message_id, sizeof(rd.message_id), "%s", mid);
	rd.kind = c->kind;
	rd.role = c->role;
	rd.ev.kind = evk;
	rd.ev.type = mt;
	rd.ev.at = t;
	rd.now = t;
	rd.d.version = FSM_VERSION;
	rd.d.old_state = c->state;
	rd.d.effects = effects;
	rd.d.entry_ban_years = ban;
	if (kind == JOURNAL_REFUSAL) {
		rd.d.refusal = AE_NOT_ALLOWED_IN_STATE;
	} else if (to != FSM_TO_SAME) {
		c->state = to;
		if (dl != NULL) {
			rd.d.dlops[0] = *dl;
			rd.d.ndlops = 1;
			c->due[dl->which] = dl->due;
			c->armed |= 1u << dl->which;
		}
	}
	rd.d.new_state = c->state;
	rd.d.next = *c;
	assert_int_equal(record_decision_encode(&rd, &p, &len), 0);
	add(kind, t, p, len);
}

/* Our message, sent then receipted at t, moving c to to. */
static void
ours(accord_time_t t, const char *cc, const char *id, const char *mid,
    enum msg_type mt, struct fsm_case *c, int to, unsigned eff, int ban,
    const char *body)
{
	int opening = c->state == FSM_NONE;

	add_msg(JOURNAL_MESSAGE_SENT, t, cc, id, mid, mt, body);
	add_decision(JOURNAL_DECISION, t, cc, id, mid, FSM_EV_SENDING, mt, c,
	    opening ? FSM_SUBMITTED : FSM_TO_SAME, opening ?
	    FSM_EFF_CASE_OPENED : FSM_EFF_NO_CHANGE, 0, NULL);
	add_decision(JOURNAL_DECISION, t + 60, cc, id, mid, FSM_EV_RECEIPTED,
	    mt, c, to, eff, ban, NULL);
}

/* The partner's message, received at t, moving c to to. */
static void
theirs(accord_time_t t, const char *cc, const char *id, const char *mid,
    enum msg_type mt, struct fsm_case *c, int to, unsigned eff, int ban,
    const char *body, const struct fsm_dlop *dl)
{
	add_msg(JOURNAL_MESSAGE_RECEIVED, t, cc, id, mid, mt, body);
	add_decision(JOURNAL_DECISION, t, cc, id, mid, FSM_EV_RECEIVED, mt,
	    c, to, eff, ban, dl);
}

static void
a_case(struct fsm_case *c, enum fsm_kind k, enum fsm_role r,
    enum fsm_reason why)
{
	memset(c, 0, sizeof(*c));
	c->kind = k;
	c->role = r;
	c->reason = why;
}

static void
build_journal(void)
{
	struct fsm_case a, b, cc, d, e, f, g, h, i;
	struct fsm_dlop e_reply = { FSM_DL_REPLY, FSM_DLOP_SET,
	    M5 + 19 * DAY };
	const unsigned ban = FSM_EFF_ENTRY_BAN | FSM_EFF_CLOSED;
	char *b1, *b2, *b3, *b4;

	a_case(&a, FSM_KIND_READMISSION, ROLE_REQUESTING,
	    FSM_REASON_DELIBERATE);
	a_case(&b, FSM_KIND_READMISSION, ROLE_REQUESTING,
	    FSM_REASON_OBJECTIVE);
	a_case(&cc, FSM_KIND_READMISSION, ROLE_REQUESTING,
	    FSM_REASON_DELIBERATE);
	a_case(&d, FSM_KIND_READMISSION, ROLE_REQUESTED,
	    FSM_REASON_DELIBERATE);
	a_case(&e, FSM_KIND_READMISSION, ROLE_REQUESTED,
	    FSM_REASON_DELIBERATE);
	a_case(&f, FSM_KIND_VOLUNTARY, ROLE_REQUESTED, FSM_REASON_NONE);
	a_case(&g, FSM_KIND_VOLUNTARY, ROLE_REQUESTED, FSM_REASON_NONE);
	a_case(&h, FSM_KIND_TRANSIT, ROLE_REQUESTING, FSM_REASON_NONE);
	a_case(&i, FSM_KIND_TRANSIT, ROLE_REQUESTING, FSM_REASON_NONE);
	b1 = reply_body("ReadmissionReply", NULL, NULL, NULL);
	b2 = reply_body("ReadmissionReply", "Refused", "NotOwnNational",
	    "InsufficientEvidence");
	b3 = reply_body("ReadmissionReply", "Refused",
	    "IdentityNotEstablished", NULL);
	b4 = reply_body("TransitReply", "Consent", "x", NULL);

	/* March */
	ours(M3 + DAY, "FR", "A", "a1", MSG_READMISSION_REQUEST, &a,
	    FSM_PENDING_REPLY, 0, 0, NULL);
	ours(M3 + 2 * DAY, "FR", "B", "b1", MSG_READMISSION_REQUEST, &b,
	    FSM_PENDING_REPLY, 0, 0, NULL);
	ours(M3 + 3 * DAY, "FR", "C", "c1", MSG_READMISSION_REQUEST, &cc,
	    FSM_PENDING_REPLY, 0, 0, NULL);
	add_decision(JOURNAL_DECISION, M3 + 20 * DAY, "FR", "B", "",
	    FSM_EV_DEADLINE, MSG_READMISSION_REQUEST, &b,
	    FSM_DEEMED_ACCEPTED, FSM_EFF_DEEMED_ACCEPTED, 0, NULL);
	ours(M3 + 25 * DAY, "KR", "F", "f1", MSG_VOLUNTARY_DEPARTURE_NOTICE,
	    &f, FSM_VD_NOTIFIED, FSM_EFF_CASE_OPENED, 0, NULL);

	/* April */
	theirs(M4 + DAY, "FR", "A", "a2", MSG_READMISSION_REPLY, &a,
	    FSM_ACCEPTED, 0, 0, b1, NULL);
	theirs(M4 + 2 * DAY, "FR", "C", "c2", MSG_READMISSION_REPLY, &cc,
	    FSM_REFUSED, FSM_EFF_CLOSED, 0, b2, NULL);
	/* a second reply in C: refused by the fsm, no event */
	add_msg(JOURNAL_MESSAGE_RECEIVED, M4 + 3 * DAY, "FR", "C", "c3",
	    MSG_READMISSION_REPLY, b1);
	add_decision(JOURNAL_REFUSAL, M4 + 3 * DAY, "FR", "C", "c3",
	    FSM_EV_RECEIVED, MSG_READMISSION_REPLY, &cc, FSM_TO_SAME, 0, 0,
	    NULL);
	theirs(M4 + 4 * DAY, "DE", "D", "d1", MSG_READMISSION_REQUEST, &d,
	    FSM_PENDING_REPLY, FSM_EFF_CASE_OPENED, 0, NULL, NULL);
	ours(M4 + 5 * DAY, "DE", "D", "d2", MSG_READMISSION_REPLY, &d,
	    FSM_REFUSED, FSM_EFF_CLOSED, 0, b3);
	ours(M4 + 6 * DAY, "KR", "G", "g1", MSG_VOLUNTARY_DEPARTURE_NOTICE,
	    &g, FSM_VD_NOTIFIED, FSM_EFF_CASE_OPENED, 0, NULL);
	ours(M4 + 7 * DAY, "KR", "F", "f2", MSG_HANDOVER_CONFIRMATION, &f,
	    FSM_VD_DEPARTED, ban, 0, NULL);
	add_decision(JOURNAL_DECISION, M4 + 20 * DAY, "FR", "A", "",
	    FSM_EV_DEADLINE, MSG_READMISSION_REQUEST, &a,
	    FSM_TRANSFER_OVERDUE, 0, 0, NULL);
	/* the window extended: back to ACCEPTED, no new acceptance */
	theirs(M4 + 21 * DAY, "FR", "A", "a3", MSG_EXTENSION_REPLY, &a,
	    FSM_ACCEPTED, 0, 0, NULL, NULL);

	/* May */
	ours(M5 + DAY, "FR", "A", "a4", MSG_TRANSFER_NOTICE, &a,
	    FSM_TRANSFER_SCHEDULED, 0, 0, NULL);
	theirs(M5 + 2 * DAY, "FR", "A", "a5", MSG_HANDOVER_CONFIRMATION, &a,
	    FSM_COMPLETED, ban, 5, NULL, NULL);
	ours(M5 + 3 * DAY, "FR", "B", "b2", MSG_TRANSFER_NOTICE, &b,
	    FSM_TRANSFER_SCHEDULED, 0, 0, NULL);
	theirs(M5 + 4 * DAY, "FR", "B", "b3", MSG_HANDOVER_CONFIRMATION, &b,
	    FSM_COMPLETED, ban, 0, NULL, NULL);
	theirs(M5 + 5 * DAY, "DE", "E", "e1", MSG_READMISSION_REQUEST, &e,
	    FSM_PENDING_REPLY, FSM_EFF_CASE_OPENED, 0, NULL, &e_reply);
	ours(M5 + 6 * DAY, "KR", "G", "g2", MSG_WITHDRAWAL, &g,
	    FSM_VD_CANCELLED, FSM_EFF_CLOSED, 0, NULL);
	ours(M5 + 7 * DAY, "FR", "H", "h1", MSG_TRANSIT_REQUEST, &h,
	    FSM_TRANSIT_PENDING, 0, 0, NULL);
	theirs(M5 + 8 * DAY, "FR", "H", "h2", MSG_TRANSIT_REPLY, &h,
	    FSM_TRANSIT_CONSENTED, 0, 0, b4, NULL);
	ours(M5 + 9 * DAY, "FR", "I", "i1", MSG_TRANSIT_REQUEST, &i,
	    FSM_TRANSIT_PENDING, 0, 0, NULL);
	theirs(M5 + 10 * DAY, "FR", "I", "i2", MSG_TRANSIT_REPLY, &i,
	    FSM_TRANSIT_REFUSED, FSM_EFF_CLOSED, 0, NULL, NULL);
	free(b1);
	free(b2);
	free(b3);
	free(b4);
}

static int
setup_group(void **state)
{
	char db[1024];

	assert_int_equal(test_scratch(tmpdir, sizeof(tmpdir), "stats"), 0);
	log_capture(logbuf, sizeof(logbuf));
	build_journal();
	snprintf(db, sizeof(db), "%s/store.db", tmpdir);
	assert_non_null(st = store_open(db));
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	clock_test_set(M6 + 10 * DAY);
	return 0;
}

static int
teardown_group(void **state)
{
	int i;

	store_close(st);
	for (i = 0; i < nrecs; i++)
		free((void *)recs[i].payload);
	assert_int_equal(test_rmtree(tmpdir), 0);
	return 0;
}

/* The stats report's result for these arguments (JSON text). */
static json_t *
stats(const char *args)
{
	struct report_ctx ctx;
	struct cmd_caller who;
	const char *code = NULL;
	char text[256] = "";
	json_t *a, *res;

	memset(&ctx, 0, sizeof(ctx));
	memset(&who, 0, sizeof(who));
	ctx.store = st;
	who.command = "stats";
	a = json_loads(args, 0, NULL);
	assert_non_null(a);
	res = report_stats(&ctx, &who, a, &code, text, sizeof(text));
	json_decref(a);
	if (res == NULL)
		fail_msg("stats %s: %s %s", args, code, text);
	return res;
}

/* The integer at a path of keys ("total", "events", "R", ...). */
static long long
at(json_t *o, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, o);
	while ((k = va_arg(ap, const char *)) != NULL)
		o = json_object_get(o, k);
	va_end(ap);
	return o == NULL ? -1 : (long long)json_integer_value(o);
}

static const char *
text_of(json_t *res)
{
	const char *t = json_string_value(json_object_get(res, "text"));

	assert_non_null(t);
	return t;
}

/* 1 if text has a line exactly like line (spaces squeezed). */
static int
has_line(const char *text, const char *line)
{
	char buf[512], *p, *q;
	const char *s = text, *e;
	size_t n;

	while (*s != '\0') {
		e = strchr(s, '\n');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		for (p = q = buf; *p != '\0'; p++)
			if (*p != ' ' || (q > buf && q[-1] != ' '))
				*q++ = *p;
		while (q > buf && (q[-1] == ' ' || q[-1] == '\r'))
			q--;
		*q = '\0';
		if (strcmp(buf, line) == 0)
			return 1;
		s = e != NULL ? e + 1 : s + n;
	}
	return 0;
}

#define assert_line(text, line) do {					\
	if (!has_line((text), (line)))					\
		fail_msg("no line \"%s\" in:\n%s", (line), (text));	\
} while (0)

static void
test_json_totals(void **state)
{
	json_t *r = stats("{}"), *t = json_object_get(r, "total");
	json_t *m;

	/* requests by role and partner, in the month they took effect */
	assert_int_equal(at(t, "events", "R", "FR", "readmission", "request",
	    NULL), 3);
	assert_int_equal(at(t, "events", "Q", "DE", "readmission", "request",
	    NULL), 2);
	assert_int_equal(at(t, "events", "R", "FR", "transit", "request",
	    NULL), 2);
	/* replies: one acceptance (not two: the extension is none), one
	 * deemed, refusals on both sides */
	assert_int_equal(at(t, "events", "R", "FR", "readmission", "accepted",
	    NULL), 1);
	assert_int_equal(at(t, "events", "R", "FR", "readmission", "deemed",
	    NULL), 1);
	assert_int_equal(at(t, "events", "R", "FR", "readmission", "refused",
	    NULL), 1);
	assert_int_equal(at(t, "events", "Q", "DE", "readmission", "refused",
	    NULL), 1);
	assert_int_equal(at(t, "events", "R", "FR", "transit", "accepted",
	    NULL), 1);
	assert_int_equal(at(t, "events", "R", "FR", "transit", "refused",
	    NULL), 1);
	assert_int_equal(at(t, "events", "R", "FR", "readmission",
	    "transfer-overdue", NULL), 1);
	/* returns: two handovers, one with a ban of 5 years */
	assert_int_equal(at(t, "events", "R", "FR", "readmission",
	    "completed", NULL), 2);
	assert_int_equal(at(t, "returns", "R", "FR", "with_ban", NULL), 1);
	assert_int_equal(at(t, "returns", "R", "FR", "without_ban", NULL), 1);
	assert_int_equal(at(t, "returns", "R", "FR", "ban_years", "5", NULL),
	    1);
	assert_null(json_object_get(json_object_get(t, "returns"), "Q"));
	/* refusals by ground */
	assert_int_equal(at(t, "refusals_by_ground", "R", "FR", "readmission",
	    "NotOwnNational", NULL), 1);
	assert_int_equal(at(t, "refusals_by_ground", "R", "FR", "readmission",
	    "InsufficientEvidence", NULL), 1);
	assert_int_equal(at(t, "refusals_by_ground", "Q", "DE", "readmission",
	    "IdentityNotEstablished", NULL), 1);
	assert_int_equal(at(t, "refusals_by_ground", "R", "FR", "transit",
	    "unknown", NULL), 1);
	/* the consent's Ground-like child is no refusal */
	assert_int_equal(at(t, "refusals_by_ground", "R", "FR", "transit",
	    "x", NULL), -1);
	/* voluntary departures */
	assert_int_equal(at(t, "events", "Q", "KR", "voluntary", "notified",
	    NULL), 2);
	assert_int_equal(at(t, "events", "Q", "KR", "voluntary", "departed",
	    NULL), 1);
	assert_int_equal(at(t, "events", "Q", "KR", "voluntary", "cancelled",
	    NULL), 1);
	/* overdue now: E's reply, due 05-20 */
	assert_int_equal(at(t, "overdue", "Q", "DE", "readmission", NULL), 1);
	assert_int_equal(at(t, "overdue", "R", "FR", "readmission", NULL), -1);

	/* by month of the event, not of the opening */
	m = json_object_get(r, "months");
	assert_int_equal(at(m, "2026-03", "events", "R", "FR", "readmission",
	    "request", NULL), 3);
	assert_int_equal(at(m, "2026-03", "events", "R", "FR", "readmission",
	    "deemed", NULL), 1);
	assert_int_equal(at(m, "2026-04", "events", "R", "FR", "readmission",
	    "accepted", NULL), 1);
	assert_int_equal(at(m, "2026-04", "events", "R", "FR", "readmission",
	    "completed", NULL), -1);
	assert_int_equal(at(m, "2026-05", "events", "R", "FR", "readmission",
	    "completed", NULL), 2);
	assert_int_equal(at(m, "2026-05", "returns", "R", "FR", "with_ban",
	    NULL), 1);
	assert_int_equal(at(m, "2026-04", "refusals_by_ground", "Q", "DE",
	    "readmission", "IdentityNotEstablished", NULL), 1);
	assert_int_equal(at(m, "2026-04", "events", "Q", "KR", "voluntary",
	    "departed", NULL), 1);
	assert_int_equal(at(m, "2026-05", "events", "Q", "KR", "voluntary",
	    "cancelled", NULL), 1);
	/* the cases still count by their opening, as before */
	assert_int_equal(at(t, "cases", "total", NULL), 9);
	json_decref(r);
}

static void
test_text(void **state)
{
	json_t *r = stats("{}");
	const char *t = text_of(r);

	assert_line(t, "2026-03 R FR readmission 3 0 1 0 0 0 0 0 0 0");
	assert_line(t, "2026-04 R FR readmission 0 1 0 1 0 1 0 0 0 0");
	assert_line(t, "2026-05 R FR readmission 0 0 0 0 0 0 2 1 1 0");
	assert_line(t, "total R FR readmission 3 1 1 1 0 1 2 1 1 0");
	assert_line(t, "total Q DE readmission 2 0 0 1 0 0 0 0 0 0");
	assert_line(t, "total R FR transit 2 1 0 1 0 0 0 0 0 0");
	assert_line(t, "returns completed (readmission handovers): 1 with an "
	    "entry ban, 1 without");
	assert_line(t, "R FR ban of 5 years 1");
	assert_line(t, "Q DE readmission IdentityNotEstablished 1");
	assert_line(t, "R FR readmission NotOwnNational 1");
	assert_line(t, "R FR transit unknown 1");
	assert_line(t, "voluntary departures: 2 notified, 1 departed, 1 "
	    "cancelled");
	assert_line(t, "2026-04 Q KR 1 1 0");
	assert_line(t, "total Q KR 2 1 1");
	assert_line(t, "overdue now (as list --overdue): 1");
	assert_line(t, "Q DE readmission 1");
	json_decref(r);
}

static void
test_csv(void **state)
{
	json_t *r = stats("{\"csv\": true}");
	const char *t = text_of(r);
	const char *want[] = {
		"section,month,role,partner,kind,item,detail,count",
		"events,2026-03,R,FR,readmission,request,,3",
		"events,2026-03,R,FR,readmission,deemed,,1",
		"events,2026-03,Q,KR,voluntary,notified,,1",
		"events,2026-04,Q,DE,readmission,refused,,1",
		"events,2026-05,R,FR,readmission,completed,,2",
		"returns,2026-05,R,FR,readmission,with_ban,,1",
		"returns,2026-05,R,FR,readmission,without_ban,,1",
		"returns,2026-05,R,FR,readmission,ban_years,5,1",
		"refusals_by_ground,2026-04,R,FR,readmission,refused,"
		    "NotOwnNational,1",
		"refusals_by_ground,2026-05,R,FR,transit,refused,unknown,1",
		"overdue,,Q,DE,readmission,overdue,,1",
	};
	size_t i, lines = 0;
	const char *p;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_line(t, want[i]);
	/* the first line is the header; every row ends with CR LF */
	assert_true(strncmp(t, want[0], strlen(want[0])) == 0);
	for (p = t; (p = strchr(p, '\n')) != NULL; p++) {
		assert_true(p > t && p[-1] == '\r');
		lines++;
	}
	/* the header; event rows (one per role, partner, kind and what):
	 * 3 in March, 7 in April, 6 in May; 3 of returns, 4 of grounds,
	 * 1 overdue */
	assert_int_equal(lines, 1 + 3 + 7 + 6 + 3 + 4 + 1);
	/* the JSON is there with --csv too */
	assert_int_equal(at(r, "total", "returns", "R", "FR", "with_ban",
	    NULL), 1);
	json_decref(r);
}

static void
test_since_and_partner(void **state)
{
	json_t *r = stats("{\"since\": \"2026-04\"}"), *t;

	t = json_object_get(r, "total");
	assert_int_equal(at(t, "events", "R", "FR", "readmission", "request",
	    NULL), -1);
	assert_int_equal(at(t, "events", "R", "FR", "readmission",
	    "completed", NULL), 2);
	assert_null(json_object_get(json_object_get(r, "months"), "2026-03"));
	json_decref(r);

	r = stats("{\"partner\": \"DE\", \"csv\": true}");
	t = json_object_get(r, "total");
	assert_null(json_object_get(json_object_get(t, "events"), "R"));
	assert_int_equal(at(t, "events", "Q", "DE", "readmission", "request",
	    NULL), 2);
	assert_int_equal(at(t, "overdue", "Q", "DE", "readmission", NULL), 1);
	assert_null(strstr(text_of(r), ",FR,"));
	json_decref(r);
}

/* A rebuild from the same journal gives the same figures. */
static void
test_rebuild_same_figures(void **state)
{
	json_t *before = stats("{\"csv\": true}"), *after;

	assert_int_equal(store_rebuild(st), 0);
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	/* applied twice: nothing counts twice */
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	after = stats("{\"csv\": true}");
	assert_string_equal(text_of(before), text_of(after));
	json_decref(before);
	json_decref(after);
}

/*
 * The grounds the store counts are those the record states, never read
 * from the XML by a privilege-separated engine (parser_forbid()): a
 * refusal journalled with its grounds counts under them though its body
 * is no XML; one journalled before grounds were (C's) keeps its refusal,
 * counted under "unknown", and the log says why.  Last: the flag stays.
 */
static void
test_grounds_from_record(void **state)
{
	struct fsm_case k;
	json_t *r, *t;

	(void)state;
	a_case(&k, FSM_KIND_READMISSION, ROLE_REQUESTING,
	    FSM_REASON_DELIBERATE);
	ours(M5 + 11 * DAY, "PL", "K", "k1", MSG_READMISSION_REQUEST, &k,
	    FSM_PENDING_REPLY, 0, 0, NULL);
	add_refusal_grounds(M5 + 12 * DAY, "PL", "K", "k2", "RiskOfTorture",
	    "Other");
	add_decision(JOURNAL_DECISION, M5 + 12 * DAY, "PL", "K", "k2",
	    FSM_EV_RECEIVED, MSG_READMISSION_REPLY, &k, FSM_REFUSED,
	    FSM_EFF_CLOSED, 0, NULL);

	parser_forbid();
	logbuf[0] = '\0';
	assert_int_equal(store_rebuild(st), 0);
	assert_int_equal(store_apply_batch(st, recs, (size_t)nrecs), 0);
	r = stats("{}");
	t = json_object_get(r, "total");
	assert_int_equal(at(t, "refusals_by_ground", "R", "PL", "readmission",
	    "RiskOfTorture", NULL), 1);
	assert_int_equal(at(t, "refusals_by_ground", "R", "PL", "readmission",
	    "Other", NULL), 1);
	assert_int_equal(at(t, "refusals_by_ground", "R", "PL", "readmission",
	    "unknown", NULL), -1);
	/* C's reply, journalled with its XML alone */
	assert_int_equal(at(t, "refusals_by_ground", "R", "FR", "readmission",
	    "NotOwnNational", NULL), -1);
	assert_int_equal(at(t, "refusals_by_ground", "R", "FR", "readmission",
	    "unknown", NULL), 1);
	assert_non_null(strstr(logbuf, "message c2 from FR: its grounds are "
	    "in its XML alone"));
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_totals),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_since_and_partner),
		cmocka_unit_test(test_rebuild_same_figures),
		cmocka_unit_test(test_grounds_from_record),
	};

	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
