/*
 * test_fsm.c -- the case state machines: every row of the table for both
 * roles, every refusal, scenarios with exact deadlines, and a property
 * test over random message sequences fed to both roles' machines.
 *
 * The requested state's calendar is built here (UTC, Saturday and Sunday
 * off, a few holidays) so that deadlines can be read off by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fsm/fsm.h"

#define HOUR	3600
#define DAY	86400

static struct agreement	 ag;
static struct calendar	 cal;
static cal_day_t	 cal_hol[4];

static accord_time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	return (accord_time_t)calendar_day_from_ymd(y, mo, d) * DAY +
	    h * 3600 + mi * 60 + s;
}

static cal_day_t
ymd(int y, int m, int d)
{
	return calendar_day_from_ymd(y, m, d);
}

/* Monday 2 March 2026, 09:00 UTC. */
#define T0	utc(2026, 3, 2, 9, 0, 0)

static void
setup_world(void)
{
	struct timelines *tl = &ag.timelines;
	struct programme *p = &ag.programme;

	memset(&ag, 0, sizeof(ag));
	snprintf(ag.country, sizeof(ag.country), "FR");
	/* the defaults of DESIGN.md section 1, transfer extension up to 90 */
	agreement_timelines_default(tl);
	tl->transfer_extension_max_days = 90;
	p->present = 1;
	snprintf(p->name, sizeof(p->name), "KR-VD-2026");
	p->window_from = ymd(2025, 12, 1);
	p->window_until = ymd(2026, 12, 31);
	p->notice_min_days = 3;
	p->notice_max_days = 15;
	p->exclude_criminal_offences = 1;
	p->exclude_illegal_entry = 1;
	p->illegal_entry_after = ymd(2025, 12, 1);
	p->requires_passport = 1;
	p->requires_application = 1;
	p->requires_ticket = 1;

	memset(&cal, 0, sizeof(cal));
	snprintf(cal.zone, sizeof(cal.zone), "UTC");
	cal.weekend = (1u << 0) | (1u << 6);
	cal_hol[0] = ymd(2026, 3, 16);	/* a Monday */
	cal_hol[1] = ymd(2026, 4, 6);
	cal_hol[2] = ymd(2026, 5, 1);
	cal_hol[3] = ymd(2026, 12, 25);
	cal.holidays = cal_hol;
	cal.nholidays = 4;
	cal.data_from = ymd(2026, 1, 1);
	cal.data_until = ymd(2027, 12, 31);
}

static int
setup(void **state)
{
	(void)state;
	setup_world();
	return 0;
}

static struct fsm_event
msg(enum fsm_ev_kind kind, enum msg_type type, accord_time_t t)
{
	struct fsm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.type = type;
	ev.created = t;
	ev.at = t;
	ev.procedure = FSM_PROC_STANDARD;
	ev.reason = FSM_REASON_DELIBERATE;
	ev.positive = 1;
	return ev;
}

static struct fsm_event
fire(enum fsm_deadline dl)
{
	struct fsm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = FSM_EV_DEADLINE;
	ev.deadline = dl;
	return ev;
}

static struct fsm_event
record(enum fsm_record rec)
{
	struct fsm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = FSM_EV_RECORD;
	ev.record = rec;
	return ev;
}

/* Decide and apply; the event must be allowed. */
static struct fsm_decision
ok(struct fsm_case *c, const struct fsm_event *ev, accord_time_t now)
{
	struct fsm_decision d;
	char buf[256];

	if (fsm_decide(c, ev, &ag, &cal, now, &d) != 0) {
		fsm_describe(&d, buf, sizeof(buf));
		fail_msg("refused: %s", buf);
	}
	assert_int_equal(d.version, FSM_VERSION);
	assert_int_equal(d.refusal, AE_OK);
	fsm_apply(c, &d);
	return d;
}

/* Decide; the event must be refused with code e and change nothing. */
static void
no(struct fsm_case *c, const struct fsm_event *ev, accord_time_t now,
    enum accord_err e)
{
	struct fsm_decision d;
	struct fsm_case before = *c;
	char buf[256];

	if (fsm_decide(c, ev, &ag, &cal, now, &d) != -1) {
		fsm_describe(&d, buf, sizeof(buf));
		fail_msg("allowed: %s (wanted %s)", buf, errcode_name(e));
	}
	if (d.refusal != e)
		fail_msg("refused %s, wanted %s: %s", errcode_name(d.refusal),
		    errcode_name(e), d.text);
	assert_int_equal(d.new_state, c->state);
	assert_int_equal(d.ndlops, 0);
	fsm_apply(c, &d);
	assert_memory_equal(&before, c, sizeof(before));
}

/* A readmission case in PENDING_REPLY, received by Q at t (or sent by R
 * and receipted at t). */
static struct fsm_case
opened(enum fsm_role role, enum fsm_procedure proc, accord_time_t t)
{
	struct fsm_case c;
	struct fsm_event ev;

	memset(&c, 0, sizeof(c));
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REQUEST, t);
	ev.procedure = proc;
	if (role == ROLE_REQUESTING) {
		ev.kind = FSM_EV_SENDING;
		ok(&c, &ev, t);
		assert_int_equal(c.state, FSM_SUBMITTED);
		ev.kind = FSM_EV_RECEIPTED;
	}
	ok(&c, &ev, t);
	assert_int_equal(c.state, FSM_PENDING_REPLY);
	assert_int_equal(c.role, role);
	return c;
}

/* Event kind for a message sent by sender, seen by a case of role. */
static enum fsm_ev_kind
seen(enum fsm_role role, enum fsm_role sender)
{
	return role == sender ? FSM_EV_RECEIPTED : FSM_EV_RECEIVED;
}

/* ---- the table, row by row ---- */

struct walk {
	int	rows;
	int	checked;
	unsigned char states[FSM_KIND_COUNT][FSM_STATE_COUNT];
};

/* A case in row->from with the flags and deadlines the row's checks
 * need, and an event that passes them. */
static void
fixture(const struct fsm_row_info *row, enum fsm_role role,
    struct fsm_case *c, struct fsm_event *ev, accord_time_t *now)
{
	int t = row->trigger;

	memset(c, 0, sizeof(*c));
	c->kind = row->kind;
	c->role = role;
	c->state = row->from;
	c->reason = FSM_REASON_DELIBERATE;
	*now = T0;
	switch (row->from) {
	case FSM_PENDING_REPLY:
		c->armed = 1u << FSM_DL_REPLY;
		c->due[FSM_DL_REPLY] = T0 + 10 * DAY;
		break;
	case FSM_DEEMED_ACCEPTED:
	case FSM_EXPIRED:
		c->due[FSM_DL_REPLY] = T0 - HOUR;
		if (row->from == FSM_DEEMED_ACCEPTED) {
			c->armed = 1u << FSM_DL_TRANSFER;
			c->due[FSM_DL_TRANSFER] = T0 + 80 * DAY;
			c->deemed = 1;
		}
		break;
	case FSM_ACCEPTED:
	case FSM_DOCUMENTED:
	case FSM_TRANSFER_SCHEDULED:
		c->armed = 1u << FSM_DL_TRANSFER;
		c->due[FSM_DL_TRANSFER] = T0 + 80 * DAY;
		c->has_doc = row->from != FSM_ACCEPTED;
		c->doc_valid_until = ymd(2026, 12, 1);
		break;
	case FSM_TRANSFER_OVERDUE:
		c->due[FSM_DL_TRANSFER] = T0 - HOUR;
		c->resume = FSM_DOCUMENTED;
		break;
	case FSM_TRANSFER_SUSPENDED:	/* a claim waits: the window paused */
		c->due[FSM_DL_TRANSFER] = T0 + 80 * DAY;
		c->transfer_days_left = 60;
		c->has_doc = 1;
		c->doc_valid_until = ymd(2026, 12, 1);
		c->protection_claim = 1;
		break;
	case FSM_PROTECTED:
		c->protection_claim = c->assessment = c->assessment_risk = 1;
		break;
	case FSM_TRANSIT_PENDING:
		c->armed = 1u << FSM_DL_TRANSIT_REPLY;
		c->due[FSM_DL_TRANSIT_REPLY] = T0 + 5 * DAY;
		break;
	case FSM_TRANSIT_CONSENTED:
		c->due[FSM_DL_TRANSIT_REPLY] = T0 - 10 * DAY;
		c->armed = 1u << FSM_DL_TRANSIT_VALIDITY;
		c->due[FSM_DL_TRANSIT_VALIDITY] = T0 + 20 * DAY;
		break;
	case FSM_TRANSIT_EXPIRED:
		c->due[FSM_DL_TRANSIT_REPLY] = T0 - HOUR;
		break;
	default:
		break;
	}
	if (t < MSG_TYPE_COUNT) {
		*ev = msg(FSM_EV_RECEIVED, t, T0);
		if (row->from == FSM_DEEMED_ACCEPTED ||
		    row->from == FSM_EXPIRED || row->from ==
		    FSM_TRANSIT_EXPIRED) {
			/* a timely message that arrives late */
			ev->created = T0 - 2 * HOUR;
		}
		ev->grounds = 1;
		ev->ext_days = 6;
		ev->ext_subject = row->from == FSM_PENDING_REPLY ?
		    FSM_EXT_REPLY_PERIOD : FSM_EXT_TRANSFER_WINDOW;
		ev->transfer_at = T0 + 14 * DAY;
		ev->doc_valid_from = ymd(2026, 3, 2);
		ev->doc_valid_until = ymd(2027, 3, 2);
		ev->departure_date = ymd(2026, 3, 12);
		ev->entry_date = ymd(2024, 5, 1);
		ev->passport = ev->application = ev->ticket = 1;
		if (t == MSG_EXTENSION_REPLY) {
			c->ext_reply = FSM_EXTST_ASKED;
			c->ext_transfer = FSM_EXTST_ASKED;
		}
		if (t == MSG_PROTECTION_NOTICE)	/* what R recorded */
			ev->protection = row->from == FSM_TRANSFER_SCHEDULED ?
			    FSM_PROT_PENDING : row->from == FSM_PROTECTED ?
			    FSM_PROT_UPHELD : FSM_PROT_REJECTED;
		if (t == MSG_IDENTIFICATION_RESPONSE) {
			c->ident_pending = 1;
			c->ident_suspended = 1;
			c->ident_remaining = 5 * DAY;
			c->armed = 0;
		}
	} else if (t < FSM_TR_RECORD) {
		*ev = fire(t - FSM_TR_DEADLINE);
		*now = c->due[t - FSM_TR_DEADLINE] + 1;
		if (row->from == FSM_PENDING_REPLY)
			*now = T0 + 11 * DAY;
	} else if (t < FSM_TR_FAILED_OPEN) {
		*ev = record(t - FSM_TR_RECORD);
		c->protection_claim = t == FSM_TR_RECORD + FSM_REC_ASSESSMENT ||
		    row->from == FSM_TRANSFER_SUSPENDED;
	} else {
		*ev = msg(FSM_EV_FAILED, MSG_READMISSION_REQUEST, T0);
		if (row->kind == FSM_KIND_TRANSIT)
			ev->type = MSG_TRANSIT_REQUEST;
		else if (row->kind == FSM_KIND_VOLUNTARY)
			ev->type = MSG_VOLUNTARY_DEPARTURE_NOTICE;
	}
}

/* Where a protection row goes: our own notice, receipted, moves nothing
 * (the records did); otherwise the status decides. */
static int
protection_target(const struct fsm_case *c, const struct fsm_event *ev)
{
	enum fsm_protection p = ev->protection;

	if (ev->kind == FSM_EV_RECEIPTED)
		return c->state;
	if (ev->kind == FSM_EV_RECORD)
		p = ev->record == FSM_REC_PROTECTION_CLAIM ? FSM_PROT_PENDING :
		    ev->risk_found ? FSM_PROT_UPHELD : FSM_PROT_REJECTED;
	return p == FSM_PROT_PENDING ? FSM_TRANSFER_SUSPENDED :
	    p == FSM_PROT_REJECTED ? FSM_TRANSFER_SCHEDULED : FSM_PROTECTED;
}

/* Which role sends the row's message (the opening sender for NONE). */
static int
row_sender(const struct fsm_row_info *row, enum fsm_ext_subject subj)
{
	if (fsm_may_send(row->kind, ROLE_REQUESTING, row->trigger, subj) &&
	    fsm_may_send(row->kind, ROLE_REQUESTED, row->trigger, subj))
		return -1;	/* either */
	return fsm_may_send(row->kind, ROLE_REQUESTING, row->trigger, subj) ?
	    ROLE_REQUESTING : ROLE_REQUESTED;
}

static void
walk_row(void *arg, const struct fsm_row_info *row)
{
	struct walk *w = arg;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t now;
	int role, sender, expect, neg;

	w->rows++;
	w->states[row->kind][row->from] = 1;
	if (row->to >= 0)
		w->states[row->kind][row->to] = 1;
	if (row->to_neg > 0)
		w->states[row->kind][row->to_neg] = 1;

	for (role = 0; role < ROLE_COUNT; role++) {
		for (neg = 0; neg <= (row->to_neg != FSM_NONE); neg++) {
			fixture(row, role, &c, &ev, &now);
			if (neg) {
				ev.positive = 0;
				ag.timelines.silence_means_consent = 0;
			}
			if (row->trigger < MSG_TYPE_COUNT) {
				sender = row_sender(row, ev.ext_subject);
				/* Q revokes a consent it gave, not a request
				 * it has not answered */
				if (sender == -1 && row->trigger ==
				    MSG_TRANSIT_REVOCATION && row->from ==
				    FSM_TRANSIT_PENDING)
					sender = ROLE_REQUESTING;
				if (sender == -1)
					sender = role;
				if (row->from == FSM_NONE)
					ev.kind = role == sender ?
					    FSM_EV_SENDING : FSM_EV_RECEIVED;
				else
					ev.kind = seen(role, sender);
				if (row->from == FSM_SUBMITTED &&
				    role != sender)
					continue;	/* no such case */
			} else if (row->trigger == FSM_TR_FAILED_OPEN) {
				sender = row_sender(row, 0);
				/* only the sender holds a SUBMITTED case */
				if (role != (row->kind ==
				    FSM_KIND_VOLUNTARY ? ROLE_REQUESTED :
				    ROLE_REQUESTING))
					continue;
			}
			if (fsm_decide(&c, &ev, &ag, &cal, now, &d) != 0)
				fail_msg("%s %s from %s by %s (%s): %s: %s",
				    fsm_kind_name(row->kind),
				    fsm_trigger_name(row->trigger),
				    fsm_state_name(row->from),
				    fsm_role_name(role), neg ? "neg" : "pos",
				    errcode_name(d.refusal), d.text);
			expect = neg ? row->to_neg : row->to;
			if (ev.kind == FSM_EV_SENDING)
				expect = FSM_SUBMITTED;
			else if (expect == FSM_TO_SAME)
				expect = row->from;
			else if (expect == FSM_TO_RESUME)
				expect = c.resume;
			else if (expect == FSM_TO_PROTECTION)
				expect = protection_target(&c, &ev);
			if ((int)d.new_state != expect)
				fail_msg("%s %s from %s by %s: got %s want %s",
				    fsm_kind_name(row->kind),
				    fsm_trigger_name(row->trigger),
				    fsm_state_name(row->from),
				    fsm_role_name(role),
				    fsm_state_name(d.new_state),
				    fsm_state_name(expect));
			fsm_apply(&c, &d);
			assert_int_equal(c.state, expect);
			if (fsm_state_final(expect))
				assert_int_equal(c.armed, 0);
			w->checked++;
			setup_world();
		}
	}
}

static void
test_table_walk(void **state)
{
	struct walk w;
	int k, s, n;

	(void)state;
	memset(&w, 0, sizeof(w));
	fsm_table_walk(walk_row, &w);
	assert_true(w.rows > 60);
	assert_true(w.checked > w.rows);
	/* every state is reachable in some machine */
	for (s = 1; s < FSM_STATE_COUNT; s++) {
		for (n = 0, k = 0; k < FSM_KIND_COUNT; k++)
			n += w.states[k][s];
		if (n == 0)
			fail_msg("state %s is in no row", fsm_state_name(s));
	}
}

/* Everything the table does not list is refused. */
struct negwalk {
	unsigned char has[FSM_KIND_COUNT][FSM_STATE_COUNT][FSM_TR_COUNT];
	unsigned char states[FSM_KIND_COUNT][FSM_STATE_COUNT];
};

static void
neg_row(void *arg, const struct fsm_row_info *row)
{
	struct negwalk *w = arg;

	w->has[row->kind][row->from][row->trigger] = 1;
	w->states[row->kind][row->from] = 1;
	if (row->to >= 0)
		w->states[row->kind][row->to] = 1;
	if (row->to_neg > 0)
		w->states[row->kind][row->to_neg] = 1;
}

static void
test_table_refusals(void **state)
{
	static struct negwalk w;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	int k, s, t, role, sender, subj, n = 0;

	(void)state;
	memset(&w, 0, sizeof(w));
	fsm_table_walk(neg_row, &w);
	for (k = 0; k < FSM_KIND_COUNT; k++)
	for (s = 0; s < FSM_STATE_COUNT; s++) {
		if (!w.states[k][s])
			continue;
		for (t = 0; t < MSG_TYPE_COUNT; t++)
		for (subj = 0; subj < 2; subj++)
		for (role = 0; role < ROLE_COUNT; role++)
		for (sender = 0; sender < ROLE_COUNT; sender++) {
			memset(&c, 0, sizeof(c));
			c.kind = k;
			c.role = role;
			c.state = s;
			ev = msg(role == sender ? FSM_EV_RECEIPTED :
			    FSM_EV_RECEIVED, t, T0);
			ev.ext_subject = subj;
			if (fsm_decide(&c, &ev, &ag, &cal, T0, &d) == 0) {
				/* allowed: it must be a listed row, or the
				 * dispute channel, with the right sender */
				if (s == FSM_NONE) {
					/* the type picks the machine */
					assert_true(w.has[d.next.kind][s][t]);
					continue;
				}
				if (!w.has[k][s][t] && t != MSG_CONSULTATION)
					fail_msg("%s %s in %s allowed",
					    fsm_kind_name(k),
					    fsm_trigger_name(t),
					    fsm_state_name(s));
				assert_true(w.has[k][s][t] ||
				    (t == MSG_CONSULTATION && s != FSM_NONE &&
				    s != FSM_SUBMITTED));
				/* an opening message's sender is fixed by
				 * its type; the new case takes the role */
				if (s == FSM_NONE)
					assert_true(fsm_may_send(k,
					    fsm_role_other(d.next.role), t,
					    subj));
				else
					assert_true(fsm_may_send(k, sender, t,
					    subj));
				continue;
			}
			n++;
			if (t == MSG_RECEIPT || t == MSG_ERROR) {
				assert_int_equal(d.refusal,
				    AE_NOT_ALLOWED_IN_STATE);
				continue;
			}
			if (s == FSM_NONE) {
				/* an opening message seen as receipted
				 * without a case, or any other type; or a
				 * received opening message whose own checks
				 * (the programme's rules here) refused it */
				if (ev.kind == FSM_EV_RECEIVED &&
				    t == MSG_VOLUNTARY_DEPARTURE_NOTICE)
					assert_int_equal(d.refusal,
					    AE_PROGRAMME_RULE);
				else
					assert_int_equal(d.refusal,
					    AE_UNKNOWN_CASE);
				continue;
			}
			if (!fsm_may_send(k, sender, t, subj) &&
			    d.refusal == AE_ROLE_NOT_ALLOWED)
				continue;
			if (d.refusal == AE_NOT_ALLOWED_IN_STATE ||
			    d.refusal == AE_CASE_EXISTS)
				continue;
			/* otherwise a row's own check refused it: the
			 * row must exist */
			assert_true(w.has[k][s][t]);
		}
	}
	assert_true(n > 1000);
}

/* ---- scenarios ---- */

static void
test_names(void **state)
{
	int s;
	struct fsm_decision d;
	struct fsm_case c;
	struct fsm_event ev;
	char buf[128];

	(void)state;
	for (s = 0; s < FSM_STATE_COUNT; s++)
		assert_int_equal(fsm_state_from_name(fsm_state_name(s)), s);
	assert_int_equal(fsm_state_from_name("NOPE"), -1);
	assert_string_equal(fsm_state_name(FSM_STATE_COUNT), "?");
	assert_string_equal(fsm_role_name(ROLE_REQUESTING), "R");
	assert_string_equal(fsm_role_name(ROLE_REQUESTED), "Q");
	assert_string_equal(fsm_trigger_name(FSM_TR_DEADLINE), "deadline:reply");
	c = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	ev = msg(FSM_EV_SENDING, MSG_READMISSION_REPLY, T0 + DAY);
	assert_int_equal(fsm_decide(&c, &ev, &ag, &cal, T0 + DAY, &d), 0);
	assert_true(d.effects & FSM_EFF_NO_CHANGE);
	ev.kind = FSM_EV_RECEIPTED;
	assert_int_equal(fsm_decide(&c, &ev, &ag, &cal, T0 + DAY, &d), 0);
	assert_string_equal(fsm_describe(&d, buf, sizeof(buf)),
	    "PENDING_REPLY -> ACCEPTED (ReadmissionReply receipted)");
	ev.positive = 0;
	assert_int_equal(fsm_decide(&c, &ev, &ag, &cal, T0 + DAY, &d), -1);
	assert_string_equal(fsm_describe(&d, buf, sizeof(buf)),
	    "PENDING_REPLY refused ReadmissionReply receipted "
	    "(GROUNDS_REQUIRED): a refusal must state its grounds");
}

static void
test_reply_deadlines(void **state)
{
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;

	(void)state;
	/* standard: Mon 2 March + 12 = Sat 14, rolled past the weekend
	 * and the Monday holiday to Tue 17 March 23:59:59 */
	c = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	assert_int_equal(c.due[FSM_DL_REPLY], utc(2026, 3, 17, 23, 59, 59));
	assert_true(c.armed & (1u << FSM_DL_REPLY));
	/* accelerated: Friday 13 March 20:00 -> Tue 17 (Mon 16 is off) */
	c = opened(ROLE_REQUESTING, FSM_PROC_ACCELERATED,
	    utc(2026, 3, 13, 20, 0, 0));
	assert_int_equal(c.due[FSM_DL_REPLY], utc(2026, 3, 18, 23, 59, 59));
	assert_int_equal(c.procedure, FSM_PROC_ACCELERATED);
	/* no roll */
	ag.timelines.roll_to_working_day = 0;
	c = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	assert_int_equal(c.due[FSM_DL_REPLY], utc(2026, 3, 14, 23, 59, 59));
	setup_world();
	/* the requesting side adopts the receipt's due time */
	memset(&c, 0, sizeof(c));
	ev = msg(FSM_EV_SENDING, MSG_READMISSION_REQUEST, T0);
	ok(&c, &ev, T0);
	ev.kind = FSM_EV_RECEIPTED;
	ev.given_due[FSM_DL_REPLY] = T0 + 7 * DAY;
	d = ok(&c, &ev, T0);
	assert_int_equal(c.due[FSM_DL_REPLY], T0 + 7 * DAY);
	assert_int_equal(d.ndlops, 1);
	assert_int_equal(d.dlops[0].which, FSM_DL_REPLY);
	assert_int_equal(d.dlops[0].op, FSM_DLOP_SET);
	assert_true(d.effects == 0);
	/* an opening message needs a reason and a known procedure */
	memset(&c, 0, sizeof(c));
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REQUEST, T0);
	ev.reason = FSM_REASON_NONE;
	no(&c, &ev, T0, AE_INVALID_FIELD);
	ev.reason = FSM_REASON_OBJECTIVE;
	ev.procedure = 7;
	no(&c, &ev, T0, AE_INVALID_FIELD);
}

static void
test_case_existence(void **state)
{
	struct fsm_case c, none;
	struct fsm_event ev;
	struct fsm_decision d;

	(void)state;
	memset(&none, 0, sizeof(none));
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REPLY, T0);
	no(&none, &ev, T0, AE_UNKNOWN_CASE);
	ev = fire(FSM_DL_REPLY);
	no(&none, &ev, T0, AE_UNKNOWN_CASE);
	c = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REQUEST, T0);
	no(&c, &ev, T0, AE_CASE_EXISTS);
	ev = msg(FSM_EV_RECEIVED, MSG_RECEIPT, T0);
	no(&c, &ev, T0, AE_NOT_ALLOWED_IN_STATE);
	/* a transit message in a readmission case */
	ev = msg(FSM_EV_RECEIVED, MSG_TRANSIT_REPLY, T0);
	no(&c, &ev, T0, AE_NOT_ALLOWED_IN_STATE);
	/* not delivered: the case never opened */
	memset(&c, 0, sizeof(c));
	ev = msg(FSM_EV_SENDING, MSG_READMISSION_REQUEST, T0);
	d = ok(&c, &ev, T0);
	assert_true(d.effects & FSM_EFF_CASE_OPENED);
	assert_int_equal(c.state, FSM_SUBMITTED);
	ev.kind = FSM_EV_FAILED;
	d = ok(&c, &ev, T0 + HOUR);
	assert_int_equal(c.state, FSM_NOT_SENT);
	assert_true(d.effects & FSM_EFF_CLOSED);
	/* a failed later message has no effect on the case */
	c = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	ev = msg(FSM_EV_FAILED, MSG_WITHDRAWAL, T0 + HOUR);
	d = ok(&c, &ev, T0 + HOUR);
	assert_true(d.effects & FSM_EFF_NO_CHANGE);
	assert_int_equal(c.state, FSM_PENDING_REPLY);
}

static void
test_roles(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;

	(void)state;
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	/* R may not reply, Q may not withdraw, either way round */
	ev = msg(FSM_EV_SENDING, MSG_READMISSION_REPLY, T0);
	no(&r, &ev, T0, AE_ROLE_NOT_ALLOWED);
	ev.kind = FSM_EV_RECEIVED;
	no(&q, &ev, T0, AE_ROLE_NOT_ALLOWED);
	ev = msg(FSM_EV_SENDING, MSG_WITHDRAWAL, T0);
	no(&q, &ev, T0, AE_ROLE_NOT_ALLOWED);
	ev.kind = FSM_EV_RECEIVED;
	no(&r, &ev, T0, AE_ROLE_NOT_ALLOWED);
	ev = msg(FSM_EV_RECEIVED, MSG_IDENTIFICATION_REQUEST, T0);
	no(&q, &ev, T0, AE_ROLE_NOT_ALLOWED);
	/* extensions: the subject decides who asks */
	ev = msg(FSM_EV_SENDING, MSG_EXTENSION_REQUEST, T0);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 6;
	no(&r, &ev, T0, AE_ROLE_NOT_ALLOWED);
	ok(&q, &ev, T0);
	ev.ext_subject = FSM_EXT_TRANSFER_WINDOW;
	no(&q, &ev, T0, AE_ROLE_NOT_ALLOWED);
	/* R may ask for a transfer extension, but not before acceptance */
	no(&r, &ev, T0, AE_NOT_ALLOWED_IN_STATE);
	/* consultation both ways, any existing state */
	ev = msg(FSM_EV_SENDING, MSG_CONSULTATION, T0);
	ok(&r, &ev, T0);
	ok(&q, &ev, T0);
	assert_true(fsm_may_send(FSM_KIND_VOLUNTARY, ROLE_REQUESTED,
	    MSG_VOLUNTARY_DEPARTURE_NOTICE, 0));
	assert_false(fsm_may_send(FSM_KIND_VOLUNTARY, ROLE_REQUESTING,
	    MSG_VOLUNTARY_DEPARTURE_NOTICE, 0));
}

static void
test_timeliness(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t due;

	(void)state;
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	due = q.due[FSM_DL_REPLY];
	assert_int_equal(r.due[FSM_DL_REPLY], due);
	/* Q will not create a reply once the deadline passed */
	ev = msg(FSM_EV_SENDING, MSG_READMISSION_REPLY, due + 1);
	no(&q, &ev, due + 1, AE_DEADLINE_PASSED);
	ev.created = due;
	no(&q, &ev, due + 1, AE_DEADLINE_PASSED);
	/* ... but may at the last second */
	ev = msg(FSM_EV_SENDING, MSG_READMISSION_REPLY, due);
	ok(&q, &ev, due);
	/* a reply signed after the deadline does not count */
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REPLY, due + 1);
	no(&r, &ev, due + 2, AE_DEADLINE_PASSED);
	/* the deadline fires on both sides, at the first second after
	 * due: silence means consent */
	ev = fire(FSM_DL_REPLY);
	no(&r, &ev, due - 1, AE_INVALID_FIELD);
	no(&r, &ev, due, AE_INVALID_FIELD);
	d = ok(&r, &ev, due + 1);
	assert_int_equal(r.state, FSM_DEEMED_ACCEPTED);
	assert_true(d.effects & FSM_EFF_DEEMED_ACCEPTED);
	assert_true(r.deemed);
	/* transfer window: 90 days from the deadline (Tue 17 March) =
	 * Mon 15 June */
	assert_int_equal(r.due[FSM_DL_TRANSFER], utc(2026, 6, 15, 23, 59,
	    59));
	assert_false(r.armed & (1u << FSM_DL_REPLY));
	ok(&q, &ev, due + 1);
	assert_int_equal(q.state, FSM_DEEMED_ACCEPTED);
	no(&q, &ev, due + 5, AE_NOT_ALLOWED_IN_STATE);	/* fired once */
	/* the timely reply, receipted late, still takes effect */
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REPLY, due);
	ev.at = due + 3 * HOUR;
	ok(&r, &ev, due + 3 * HOUR);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&q, &ev, due + 3 * HOUR);
	assert_int_equal(r.state, FSM_ACCEPTED);
	assert_int_equal(q.state, FSM_ACCEPTED);
	assert_false(r.deemed);
	assert_int_equal(r.due[FSM_DL_TRANSFER], q.due[FSM_DL_TRANSFER]);
	/* a timely refusal after deemed consent refuses */
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	ev = fire(FSM_DL_REPLY);
	ok(&r, &ev, due + 10);
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REPLY, due - 10);
	ev.positive = 0;
	no(&r, &ev, due + 20, AE_GROUNDS_REQUIRED);
	ev.grounds = 2;
	d = ok(&r, &ev, due + 20);
	assert_int_equal(r.state, FSM_REFUSED);
	assert_int_equal(r.armed, 0);
	/* without the silence rule the case expires */
	ag.timelines.silence_means_consent = 0;
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	ev = fire(FSM_DL_REPLY);
	d = ok(&r, &ev, due + 1);
	assert_int_equal(r.state, FSM_EXPIRED);
	assert_false(d.effects & FSM_EFF_DEEMED_ACCEPTED);
	assert_int_equal(r.armed, 0);
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REPLY, due);
	ok(&r, &ev, due + HOUR);
	assert_int_equal(r.state, FSM_ACCEPTED);
}

static void
test_identification(void **state)
{
	struct fsm_case q;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t due, t1, t2;

	(void)state;
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	due = q.due[FSM_DL_REPLY];
	t1 = T0 + 3 * DAY;
	ev = msg(FSM_EV_RECEIPTED, MSG_IDENTIFICATION_REQUEST, t1);
	d = ok(&q, &ev, t1);
	assert_true(q.ident_pending);
	assert_true(q.ident_suspended);
	/* Thu 5 March to the due date, Tue 17 March: 12 days left */
	assert_true(q.ident_days);
	assert_int_equal(q.ident_remaining, 12);
	assert_false(q.armed & (1u << FSM_DL_REPLY));
	assert_int_equal(d.dlops[0].op, FSM_DLOP_CLEAR);
	no(&q, &ev, t1, AE_NOT_ALLOWED_IN_STATE);	/* one at a time */
	/* no deadline runs meanwhile */
	ev = fire(FSM_DL_REPLY);
	no(&q, &ev, due + DAY, AE_NOT_ALLOWED_IN_STATE);
	/* nor can the frozen period be extended */
	ev = msg(FSM_EV_SENDING, MSG_EXTENSION_REQUEST, t1);
	ev.ext_days = 6;
	no(&q, &ev, t1, AE_EXTENSION_REFUSED);
	/* the response resumes the 12 days from its receipt, Sun 22
	 * March: Fri 3 April, at the end of the day */
	t2 = T0 + 20 * DAY;
	ev = msg(FSM_EV_RECEIVED, MSG_IDENTIFICATION_RESPONSE, t2);
	ok(&q, &ev, t2);
	assert_false(q.ident_pending);
	assert_int_equal(q.due[FSM_DL_REPLY], utc(2026, 4, 3, 23, 59, 59));
	assert_true(q.armed & (1u << FSM_DL_REPLY));
	no(&q, &ev, t2, AE_NOT_ALLOWED_IN_STATE);	/* nothing open */

	/* an agreement where the clock keeps running */
	ag.timelines.identification_suspends = 0;
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	ev = msg(FSM_EV_RECEIPTED, MSG_IDENTIFICATION_REQUEST, t1);
	ok(&q, &ev, t1);
	assert_true(q.ident_pending);
	assert_false(q.ident_suspended);
	assert_int_equal(q.due[FSM_DL_REPLY], due);
	ev = msg(FSM_EV_RECEIVED, MSG_IDENTIFICATION_RESPONSE, t2);
	ok(&q, &ev, t2);
	assert_int_equal(q.due[FSM_DL_REPLY], due);
}

static void
test_reply_extension(void **state)
{
	struct fsm_case q, r;
	struct fsm_event ev;
	accord_time_t due;

	(void)state;
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	due = q.due[FSM_DL_REPLY];	/* Tue 17 March */
	ev = msg(FSM_EV_SENDING, MSG_EXTENSION_REQUEST, T0 + DAY);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 5;
	no(&q, &ev, T0 + DAY, AE_EXTENSION_REFUSED);
	ev.ext_days = 61;
	no(&q, &ev, T0 + DAY, AE_EXTENSION_REFUSED);
	ev.ext_days = 6;
	ok(&q, &ev, T0 + DAY);		/* checks only */
	assert_int_equal(q.ext_reply, FSM_EXTST_NONE);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&q, &ev, T0 + DAY);
	ev.kind = FSM_EV_RECEIVED;
	ok(&r, &ev, T0 + DAY);
	assert_int_equal(q.ext_reply, FSM_EXTST_ASKED);
	/* one extension each */
	ev.kind = FSM_EV_SENDING;
	no(&q, &ev, T0 + DAY, AE_EXTENSION_REFUSED);
	/* R grants it: 12 + 6 = 18 days from Mon 2 March = Fri 20 March
	 * (not 6 days on the rolled Tue 17) */
	ev = msg(FSM_EV_SENDING, MSG_EXTENSION_REPLY, T0 + 2 * DAY);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 6;
	ok(&r, &ev, T0 + 2 * DAY);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&r, &ev, T0 + 2 * DAY);
	ev.kind = FSM_EV_RECEIVED;
	ok(&q, &ev, T0 + 2 * DAY);
	assert_int_equal(q.due[FSM_DL_REPLY], utc(2026, 3, 20, 23, 59, 59));
	assert_int_equal(r.due[FSM_DL_REPLY], q.due[FSM_DL_REPLY]);
	assert_true(q.due[FSM_DL_REPLY] > due);
	assert_int_equal(q.ext_reply, FSM_EXTST_GRANTED);
	no(&q, &ev, T0 + 2 * DAY, AE_NOT_ALLOWED_IN_STATE);
	/* a refused extension leaves the deadline */
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	ev = msg(FSM_EV_RECEIPTED, MSG_EXTENSION_REQUEST, T0);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 10;
	ok(&q, &ev, T0);
	ev = msg(FSM_EV_RECEIVED, MSG_EXTENSION_REPLY, T0);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.positive = 0;
	ok(&q, &ev, T0);
	assert_int_equal(q.due[FSM_DL_REPLY], due);
	assert_int_equal(q.ext_reply, FSM_EXTST_REFUSED);
	ev = msg(FSM_EV_SENDING, MSG_EXTENSION_REQUEST, T0);
	ev.ext_days = 10;
	no(&q, &ev, T0, AE_EXTENSION_REFUSED);
}

/* Bring an R and a Q case to ACCEPTED with the reply receipted at t. */
static void
accepted(struct fsm_case *r, struct fsm_case *q, accord_time_t t)
{
	struct fsm_event ev;

	*r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	*q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REPLY, t);
	ok(r, &ev, t);
	ev.kind = FSM_EV_RECEIPTED;
	ok(q, &ev, t);
	assert_int_equal(r->state, FSM_ACCEPTED);
}

static void
test_transfer(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t t = utc(2026, 3, 4, 10, 0, 0);	/* Wednesday */

	(void)state;
	accepted(&r, &q, t);
	/* window: Wed 4 March + 90 = Tue 2 June */
	assert_int_equal(r.due[FSM_DL_TRANSFER], utc(2026, 6, 2, 23, 59, 59));
	/* notice Thu 5 March: 3 working days ahead is Tue 10 March */
	ev = msg(FSM_EV_SENDING, MSG_TRANSFER_NOTICE,
	    utc(2026, 3, 5, 8, 0, 0));
	ev.transfer_at = utc(2026, 3, 9, 23, 0, 0);
	no(&r, &ev, ev.created, AE_NOTICE_TOO_SHORT);
	ev.transfer_at = 0;
	no(&r, &ev, ev.created, AE_INVALID_FIELD);
	ev.transfer_at = utc(2026, 6, 3, 8, 0, 0);
	no(&r, &ev, ev.created, AE_INVALID_FIELD);	/* after window */
	ev.transfer_at = utc(2026, 3, 10, 6, 0, 0);
	ok(&r, &ev, ev.created);
	/* received an hour later, the same day: still 3 working days */
	ev.kind = FSM_EV_RECEIVED;
	ev.at = utc(2026, 3, 5, 9, 0, 0);
	ok(&q, &ev, ev.at);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&r, &ev, ev.at);
	assert_int_equal(r.state, FSM_TRANSFER_SCHEDULED);
	assert_int_equal(q.state, FSM_TRANSFER_SCHEDULED);
	assert_int_equal(r.transfer_at, utc(2026, 3, 10, 6, 0, 0));
	/* the handover closes it; deliberate violation: 5-year ban */
	ev = msg(FSM_EV_RECEIVED, MSG_HANDOVER_CONFIRMATION,
	    utc(2026, 3, 10, 9, 0, 0));
	d = ok(&r, &ev, ev.at);
	assert_int_equal(r.state, FSM_COMPLETED);
	assert_true(d.effects & FSM_EFF_ENTRY_BAN);
	assert_true(d.effects & FSM_EFF_CLOSED);
	assert_int_equal(d.entry_ban_years, 5);
	assert_int_equal(r.armed, 0);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&q, &ev, ev.at);
	assert_int_equal(q.state, FSM_COMPLETED);
	ev = msg(FSM_EV_RECEIVED, MSG_WITHDRAWAL, ev.at);
	no(&q, &ev, ev.at, AE_NOT_ALLOWED_IN_STATE);
	ev.kind = FSM_EV_RECEIPTED;
	no(&r, &ev, ev.at, AE_NOT_ALLOWED_IN_STATE);

	/* objective reason: no entry ban */
	memset(&r, 0, sizeof(r));
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REQUEST, T0);
	ev.reason = FSM_REASON_OBJECTIVE;
	ok(&r, &ev, T0);
	assert_int_equal(r.reason, FSM_REASON_OBJECTIVE);
	r.state = FSM_TRANSFER_SCHEDULED;
	ev = msg(FSM_EV_RECEIPTED, MSG_HANDOVER_CONFIRMATION, T0 + DAY);
	d = ok(&r, &ev, T0 + DAY);
	assert_true(d.effects & FSM_EFF_ENTRY_BAN);
	assert_int_equal(d.entry_ban_years, 0);
}

static void
test_transfer_window(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;
	accord_time_t t = utc(2026, 3, 4, 10, 0, 0), end;

	(void)state;
	accepted(&r, &q, t);
	end = r.due[FSM_DL_TRANSFER];
	ev = msg(FSM_EV_RECEIVED, MSG_TRAVEL_DOCUMENT_NOTICE, t);
	ev.doc_valid_from = ymd(2026, 3, 4);
	ev.doc_valid_until = ymd(2026, 9, 3);	/* one day short */
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	ev.doc_valid_until = ymd(2026, 3, 1);
	no(&r, &ev, t, AE_INVALID_FIELD);
	ev.doc_valid_until = ymd(2026, 9, 4);
	ok(&r, &ev, t);
	assert_int_equal(r.state, FSM_DOCUMENTED);
	/* extension of the document: 6 to 12 months */
	ev.doc_extended = 1;
	ev.doc_valid_until = ymd(2027, 1, 4);
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	ev.doc_valid_until = ymd(2027, 9, 5);
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	ev.doc_valid_until = ymd(2027, 3, 4);
	ok(&r, &ev, t);
	assert_int_equal(r.doc_valid_until, ymd(2027, 3, 4));
	assert_int_equal(r.state, FSM_DOCUMENTED);
	/* extending what was never issued */
	ev.kind = FSM_EV_RECEIPTED;
	no(&q, &ev, t, AE_NOT_ALLOWED_IN_STATE);

	/* the window passes */
	ev = fire(FSM_DL_TRANSFER);
	ok(&r, &ev, end + 1);
	assert_int_equal(r.state, FSM_TRANSFER_OVERDUE);
	assert_int_equal(r.resume, FSM_DOCUMENTED);
	ev = msg(FSM_EV_SENDING, MSG_TRANSFER_NOTICE, end + HOUR);
	ev.transfer_at = end + 10 * DAY;
	no(&r, &ev, end + HOUR, AE_NOT_ALLOWED_IN_STATE);
	/* R asks for more time, within the agreement's maximum */
	ev = msg(FSM_EV_SENDING, MSG_EXTENSION_REQUEST, end + HOUR);
	ev.ext_subject = FSM_EXT_TRANSFER_WINDOW;
	ev.ext_days = 91;
	no(&r, &ev, end + HOUR, AE_EXTENSION_REFUSED);
	ev.ext_days = 30;
	ev.kind = FSM_EV_RECEIPTED;
	ok(&r, &ev, end + HOUR);
	/* Q grants 30 days: back to DOCUMENTED, window to 2 July */
	ev = msg(FSM_EV_RECEIVED, MSG_EXTENSION_REPLY, end + DAY);
	ev.ext_subject = FSM_EXT_TRANSFER_WINDOW;
	ev.ext_days = 30;
	ok(&r, &ev, end + DAY);
	assert_int_equal(r.state, FSM_DOCUMENTED);
	assert_int_equal(r.due[FSM_DL_TRANSFER], utc(2026, 7, 2, 23, 59, 59));
	assert_true(r.armed & (1u << FSM_DL_TRANSFER));
	ev = msg(FSM_EV_SENDING, MSG_EXTENSION_REQUEST, end + DAY);
	ev.ext_subject = FSM_EXT_TRANSFER_WINDOW;
	ev.ext_days = 10;
	no(&r, &ev, end + DAY, AE_EXTENSION_REFUSED);
}

static void
test_protection(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev, tn;
	accord_time_t t = utc(2026, 3, 4, 10, 0, 0);

	(void)state;
	accepted(&r, &q, t);
	tn = msg(FSM_EV_SENDING, MSG_TRANSFER_NOTICE, t);
	tn.transfer_at = t + 14 * DAY;
	ev = record(FSM_REC_ASSESSMENT);
	no(&r, &ev, t, AE_NOT_ALLOWED_IN_STATE);	/* nothing to assess */
	ev = record(FSM_REC_PROTECTION_CLAIM);
	ok(&r, &ev, t);
	assert_int_equal(r.state, FSM_ACCEPTED);
	no(&r, &tn, t, AE_PROTECTION_PENDING);
	tn.kind = FSM_EV_RECEIPTED;
	no(&r, &tn, t, AE_PROTECTION_PENDING);
	ev = record(FSM_REC_ASSESSMENT);
	ev.risk_found = 1;
	ok(&r, &ev, t);
	no(&r, &tn, t, AE_PROTECTION_PENDING);
	ev.risk_found = 0;
	ok(&r, &ev, t);
	tn.kind = FSM_EV_SENDING;
	ok(&r, &tn, t);
	tn.kind = FSM_EV_RECEIPTED;
	ok(&r, &tn, t);
	assert_int_equal(r.state, FSM_TRANSFER_SCHEDULED);
}

static void
test_withdrawal(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;
	struct fsm_decision d;

	(void)state;
	r = opened(ROLE_REQUESTING, FSM_PROC_ACCELERATED, T0);
	q = opened(ROLE_REQUESTED, FSM_PROC_ACCELERATED, T0);
	ev = msg(FSM_EV_RECEIPTED, MSG_WITHDRAWAL, T0 + HOUR);
	d = ok(&r, &ev, T0 + HOUR);
	assert_int_equal(r.state, FSM_WITHDRAWN);
	assert_int_equal(d.ndlops, 1);
	assert_int_equal(d.dlops[0].op, FSM_DLOP_CLEAR);
	ev.kind = FSM_EV_RECEIVED;
	ok(&q, &ev, T0 + HOUR);
	assert_int_equal(q.state, FSM_WITHDRAWN);
	assert_int_equal(q.armed, 0);
	ev = fire(FSM_DL_REPLY);
	no(&q, &ev, T0 + 30 * DAY, AE_NOT_ALLOWED_IN_STATE);
}

static void
test_transit(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;
	accord_time_t t = utc(2026, 3, 5, 12, 0, 0);	/* Thursday */
	accord_time_t due;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	ev = msg(FSM_EV_SENDING, MSG_TRANSIT_REQUEST, t);
	ok(&r, &ev, t);
	assert_int_equal(r.kind, FSM_KIND_TRANSIT);
	assert_int_equal(r.state, FSM_SUBMITTED);
	ev.kind = FSM_EV_RECEIVED;
	ok(&q, &ev, t);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&r, &ev, t);
	assert_int_equal(q.state, FSM_TRANSIT_PENDING);
	assert_int_equal(q.role, ROLE_REQUESTED);
	/* 5 calendar days: Tue 10 March */
	due = utc(2026, 3, 10, 23, 59, 59);
	assert_int_equal(q.due[FSM_DL_TRANSIT_REPLY], due);
	assert_int_equal(r.due[FSM_DL_TRANSIT_REPLY], due);
	/* refusal needs grounds; late consent does not count */
	ev = msg(FSM_EV_RECEIVED, MSG_TRANSIT_REPLY, t + DAY);
	ev.positive = 0;
	no(&r, &ev, t + DAY, AE_GROUNDS_REQUIRED);
	ev = msg(FSM_EV_SENDING, MSG_TRANSIT_REPLY, due + 1);
	no(&q, &ev, due + 1, AE_DEADLINE_PASSED);
	/* no reply: expired; a timely consent arriving later still
	 * counts */
	ev = fire(FSM_DL_TRANSIT_REPLY);
	ok(&r, &ev, due + 1);
	assert_int_equal(r.state, FSM_TRANSIT_EXPIRED);
	ev = msg(FSM_EV_RECEIVED, MSG_TRANSIT_REPLY, due - HOUR);
	ev.at = due + HOUR;
	ok(&r, &ev, due + HOUR);
	assert_int_equal(r.state, FSM_TRANSIT_CONSENTED);
	/* consent valid 30 days from the reply's effect, not rolled */
	assert_int_equal(r.due[FSM_DL_TRANSIT_VALIDITY],
	    utc(2026, 4, 10, 23, 59, 59));
	/* the transit is done within validity */
	ev = msg(FSM_EV_RECEIVED, MSG_HANDOVER_CONFIRMATION,
	    utc(2026, 4, 11, 0, 0, 0));
	no(&r, &ev, ev.created, AE_DEADLINE_PASSED);
	ev.created = utc(2026, 3, 20, 0, 0, 0);
	ev.at = ev.created;
	q = r;
	ok(&q, &ev, ev.created);
	assert_int_equal(q.state, FSM_TRANSIT_COMPLETED);
	/* revocation of a consent */
	q = r;
	ev = msg(FSM_EV_RECEIPTED, MSG_TRANSIT_REVOCATION, due + DAY);
	ok(&q, &ev, due + DAY);
	assert_int_equal(q.state, FSM_TRANSIT_REVOKED);
	assert_int_equal(q.armed, 0);
	/* consent lapses */
	q = r;
	ev = fire(FSM_DL_TRANSIT_VALIDITY);
	ok(&q, &ev, r.due[FSM_DL_TRANSIT_VALIDITY] + 1);
	assert_int_equal(q.state, FSM_TRANSIT_EXPIRED);
	ev = msg(FSM_EV_RECEIVED, MSG_TRANSIT_REPLY, due - HOUR);
	no(&q, &ev, due + 40 * DAY, AE_NOT_ALLOWED_IN_STATE);
	/* R may not reply */
	ev = msg(FSM_EV_SENDING, MSG_TRANSIT_REPLY, due);
	r.state = FSM_TRANSIT_PENDING;
	no(&r, &ev, due, AE_ROLE_NOT_ALLOWED);
}

static struct fsm_event
vd_notice(enum fsm_ev_kind kind, accord_time_t t)
{
	struct fsm_event ev = msg(kind, MSG_VOLUNTARY_DEPARTURE_NOTICE, t);

	ev.reason = FSM_REASON_NONE;
	ev.departure_date = calendar_local_day(&cal, t) + 10;
	ev.entry_date = ymd(2025, 6, 1);
	ev.entry_illegal = 1;	/* before the programme's date: fine */
	ev.passport = ev.application = ev.ticket = 1;
	return ev;
}

static void
test_voluntary(void **state)
{
	struct fsm_case r, q, none;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t t = utc(2026, 2, 2, 10, 0, 0);

	(void)state;
	memset(&none, 0, sizeof(none));
	ev = vd_notice(FSM_EV_RECEIVED, t);
	r = none;
	ok(&r, &ev, t);
	assert_int_equal(r.kind, FSM_KIND_VOLUNTARY);
	assert_int_equal(r.role, ROLE_REQUESTING);
	assert_int_equal(r.state, FSM_VD_NOTIFIED);
	/* the person's state sends it */
	q = none;
	ev.kind = FSM_EV_SENDING;
	ok(&q, &ev, t);
	assert_int_equal(q.role, ROLE_REQUESTED);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&q, &ev, t);
	assert_int_equal(q.state, FSM_VD_NOTIFIED);
	assert_int_equal(q.departure_date, ev.departure_date);

	/* the notice period: 3 to 15 days */
	ev = vd_notice(FSM_EV_RECEIVED, t);
	ev.departure_date = calendar_local_day(&cal, t) + 2;
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ev.departure_date += 1;
	r = none;
	ok(&r, &ev, t);
	ev.departure_date = calendar_local_day(&cal, t) + 16;
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ev.departure_date -= 1;
	r = none;
	ok(&r, &ev, t);
	/* the window */
	ev = vd_notice(FSM_EV_RECEIVED, utc(2026, 12, 27, 10, 0, 0));
	no(&none, &ev, ev.created, AE_PROGRAMME_RULE);
	/* exclusions */
	ev = vd_notice(FSM_EV_RECEIVED, t);
	ev.criminal_offence = 1;
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ev = vd_notice(FSM_EV_RECEIVED, t);
	ev.entry_date = ymd(2025, 12, 2);
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ev.entry_illegal = 0;		/* a legal entry then is fine */
	r = none;
	ok(&r, &ev, t);
	ev = vd_notice(FSM_EV_RECEIVED, t);
	ev.passport = 0;
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ev = vd_notice(FSM_EV_RECEIVED, t);
	ev.application = 0;
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ev = vd_notice(FSM_EV_SENDING, t);
	ev.ticket = 0;
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ag.programme.present = 0;
	ev = vd_notice(FSM_EV_RECEIVED, t);
	no(&none, &ev, t, AE_PROGRAMME_RULE);
	ag.programme.present = 1;

	/* departure, and cancellation */
	r = q;
	r.role = ROLE_REQUESTING;
	ev = msg(FSM_EV_RECEIVED, MSG_HANDOVER_CONFIRMATION, t + 10 * DAY);
	d = ok(&r, &ev, t + 10 * DAY);
	assert_int_equal(r.state, FSM_VD_DEPARTED);
	assert_int_equal(d.entry_ban_years, 0);
	ev = msg(FSM_EV_RECEIPTED, MSG_WITHDRAWAL, t + DAY);
	ok(&q, &ev, t + DAY);
	assert_int_equal(q.state, FSM_VD_CANCELLED);
	/* an opening message that failed */
	q = none;
	ev = vd_notice(FSM_EV_SENDING, t);
	ok(&q, &ev, t);
	ev.kind = FSM_EV_FAILED;
	ok(&q, &ev, t);
	assert_int_equal(q.state, FSM_NOT_SENT);
}

/* ---- property: random settled sequences ---- */

static uint64_t rng_state;

static uint32_t
rng(void)
{
	/* xorshift64*: fixed seed, same sequence everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static uint32_t
rnd(uint32_t n)
{
	return n == 0 ? 0 : rng() % n;
}

static const enum msg_type prop_types[FSM_KIND_COUNT][10] = {
	{ MSG_IDENTIFICATION_REQUEST, MSG_IDENTIFICATION_RESPONSE,
	  MSG_EXTENSION_REQUEST, MSG_EXTENSION_REPLY, MSG_READMISSION_REPLY,
	  MSG_TRAVEL_DOCUMENT_NOTICE, MSG_TRANSFER_NOTICE,
	  MSG_HANDOVER_CONFIRMATION, MSG_WITHDRAWAL, MSG_CONSULTATION },
	{ MSG_TRANSIT_REPLY, MSG_TRANSIT_REPLY, MSG_TRANSIT_REVOCATION,
	  MSG_ESCORT_NOTICE, MSG_HANDOVER_CONFIRMATION, MSG_WITHDRAWAL,
	  MSG_CONSULTATION, MSG_READMISSION_REPLY, MSG_TRANSIT_REPLY,
	  MSG_HANDOVER_CONFIRMATION },
	{ MSG_HANDOVER_CONFIRMATION, MSG_WITHDRAWAL, MSG_CONSULTATION,
	  MSG_TRANSFER_NOTICE, MSG_HANDOVER_CONFIRMATION, MSG_CONSULTATION,
	  MSG_WITHDRAWAL, MSG_CONSULTATION, MSG_CONSULTATION,
	  MSG_CONSULTATION },
};

static void
prop_facts(struct fsm_event *ev, accord_time_t now)
{
	cal_day_t today = calendar_local_day(&cal, now);

	ev->procedure = rnd(2);
	ev->reason = 1 + rnd(2);
	ev->positive = rnd(3) != 0;
	ev->grounds = rnd(4) != 0;
	ev->ext_subject = rnd(2);
	ev->ext_days = rnd(70);
	ev->doc_extended = rnd(3) == 0;
	ev->doc_valid_from = today;
	ev->doc_valid_until = today + 150 + rnd(300);
	ev->transfer_at = now + rnd(20) * DAY;
	ev->departure_date = today + rnd(18);
	ev->criminal_offence = rnd(8) == 0;
	ev->entry_illegal = rnd(3) == 0;
	ev->entry_date = ymd(2025, 6, 1) + rnd(300);
	ev->passport = rnd(10) != 0;
	ev->application = rnd(10) != 0;
	ev->ticket = rnd(10) != 0;
}

/* States each machine may be in: the table's plus "no case". */
static unsigned char prop_states[FSM_KIND_COUNT][FSM_STATE_COUNT];

static void
prop_row(void *arg, const struct fsm_row_info *row)
{
	(void)arg;
	prop_states[row->kind][row->from] = 1;
	if (row->to >= 0)
		prop_states[row->kind][row->to] = 1;
	if (row->to_neg > 0)
		prop_states[row->kind][row->to_neg] = 1;
}

static void
prop_check(const struct fsm_case *side, enum fsm_kind kind)
{
	if (side->state == FSM_NONE)
		return;
	assert_int_equal(side->kind, kind);
	if (!prop_states[kind][side->state])
		fail_msg("%s case reached %s, outside the table",
		    fsm_kind_name(kind), fsm_state_name(side->state));
	if (fsm_state_final(side->state))
		assert_int_equal(side->armed, 0);
}

static void
test_property(void **state)
{
	struct fsm_case side[ROLE_COUNT];
	struct fsm_event ev;
	struct fsm_decision d, dr;
	accord_time_t now, at;
	enum fsm_kind kind;
	int run, step, s, rcv, i, moves = 0, refusals = 0, tell;
	enum fsm_deadline dl;

	(void)state;
	fsm_table_walk(prop_row, NULL);
	rng_state = 0x5eed2026acc0dULL;
	for (run = 0; run < 4000; run++) {
		setup_world();
		ag.timelines.silence_means_consent = rnd(2);
		ag.timelines.identification_suspends = rnd(2);
		ag.timelines.roll_to_working_day = rnd(2);
		memset(side, 0, sizeof(side));
		kind = rnd(FSM_KIND_COUNT);
		now = T0 + rnd(60) * DAY + rnd(DAY);
		for (step = 0; step < 40; step++) {
			now += rnd(3) == 0 ? rnd(6 * DAY) : rnd(6 * HOUR);
			/* deadlines due fire on both sides alike */
			for (dl = 0; dl < FSM_DL_COUNT; dl++) {
				for (s = 0; s < ROLE_COUNT; s++)
					if ((side[s].armed & (1u << dl)) &&
					    side[s].due[dl] <= now)
						break;
				if (s == ROLE_COUNT)
					continue;
				ev = fire(dl);
				for (s = 0; s < ROLE_COUNT; s++) {
					if (fsm_decide(&side[s], &ev, &ag,
					    &cal, now, &d) == 0)
						fsm_apply(&side[s], &d);
				}
			}
			tell = 0;
			if (rnd(8) == 0 && side[ROLE_REQUESTING].state) {
				ev = record(rnd(2));
				ev.risk_found = rnd(4) == 0;
				ev.at = now;
				if (fsm_decide(&side[ROLE_REQUESTING], &ev,
				    &ag, &cal, now, &d) == 0) {
					fsm_apply(&side[ROLE_REQUESTING], &d);
					/* the engine tells Q at once */
					tell = (d.effects &
					    FSM_EFF_TELL_PROTECTION) != 0;
				}
				if (!tell)
					continue;
			}
			memset(&ev, 0, sizeof(ev));
			if (tell) {
				ev.type = MSG_PROTECTION_NOTICE;
				ev.protection = fsm_protection_status(
				    &side[ROLE_REQUESTING]);
			} else if (side[0].state == FSM_NONE &&
			    side[1].state == FSM_NONE && step == 0) {
				static const enum msg_type open[] = {
					MSG_READMISSION_REQUEST,
					MSG_TRANSIT_REQUEST,
					MSG_VOLUNTARY_DEPARTURE_NOTICE
				};
				ev.type = open[kind];
			} else if (rnd(20) == 0)
				ev.type = rnd(MSG_TYPE_COUNT);
			else
				ev.type = prop_types[kind][rnd(10)];
			if (!tell)
				prop_facts(&ev, now);
			s = rnd(ROLE_COUNT);		/* the sender */
			if (ev.type == MSG_READMISSION_REQUEST ||
			    ev.type == MSG_TRANSIT_REQUEST ||
			    ev.type == MSG_PROTECTION_NOTICE)
				s = ROLE_REQUESTING;
			else if (ev.type == MSG_VOLUNTARY_DEPARTURE_NOTICE)
				s = ROLE_REQUESTED;
			rcv = 1 - s;
			if (side[s].state == FSM_NONE && step > 0)
				continue;	/* nothing to send from */
			at = now + rnd(120);
			ev.created = now;
			ev.at = at;
			ev.kind = FSM_EV_SENDING;
			if (fsm_decide(&side[s], &ev, &ag, &cal, now, &d) !=
			    0) {
				refusals++;
				continue;
			}
			fsm_apply(&side[s], &d);
			ev.kind = FSM_EV_RECEIVED;
			if (fsm_decide(&side[rcv], &ev, &ag, &cal, at,
			    &dr) != 0) {
				/* signed Error: no effect on either side */
				ev.kind = FSM_EV_FAILED;
				assert_int_equal(fsm_decide(&side[s], &ev,
				    &ag, &cal, at, &d), 0);
				fsm_apply(&side[s], &d);
				refusals++;
			} else {
				fsm_apply(&side[rcv], &dr);
				ev.kind = FSM_EV_RECEIPTED;
				/* Q's receipt carries a resumed window */
				for (i = 0; tell && i < dr.ndlops; i++)
					if (dr.dlops[i].op == FSM_DLOP_SET)
						ev.given_due[dr.dlops[i].which] =
						    dr.dlops[i].due;
				if (fsm_decide(&side[s], &ev, &ag, &cal, at,
				    &d) != 0)
					fail_msg("run %d: receiver took %s, "
					    "sender's receipt refused: %s",
					    run, fsm_trigger_name(ev.type),
					    d.text);
				fsm_apply(&side[s], &d);
				if (!(d.effects & FSM_EFF_NO_CHANGE) &&
				    d.new_state != d.old_state)
					moves++;
			}
			prop_check(&side[0], kind);
			prop_check(&side[1], kind);
			/* settled: the same state and the same deadlines */
			if (side[s].state == FSM_NOT_SENT &&
			    side[rcv].state == FSM_NONE)
				break;
			if (side[0].state != side[1].state)
				fail_msg("run %d step %d: R %s, Q %s", run,
				    step, fsm_state_name(side[0].state),
				    fsm_state_name(side[1].state));
			assert_int_equal(side[0].armed, side[1].armed);
			for (i = 0; i < FSM_DL_COUNT; i++)
				if (side[0].armed & (1u << i))
					assert_int_equal(side[0].due[i],
					    side[1].due[i]);
		}
	}
	/* the walk went somewhere */
	assert_true(moves > 4000);
	assert_true(refusals > 1000);
}

/* ---- fsm 2: the rules of DESIGN.md section 4, against fsm 1 ---- */

/* Decide by the rules of fsm version v; the case is not touched. */
static int
decide_v(const struct fsm_case *c, const struct fsm_event *ev,
    accord_time_t now, int v, struct fsm_decision *d)
{
	int rc;

	rc = fsm_decide_v(c, ev, &ag, &cal, now, v, d);
	assert_int_equal(d->version, v);
	return rc;
}

/* An R case ACCEPTED by a reply receipted at t (Wed 4 March). */
static struct fsm_case
accepted_r(accord_time_t t)
{
	struct fsm_case r, q;

	accepted(&r, &q, t);
	return r;
}

static struct fsm_event
doc_notice(accord_time_t at, cal_day_t from, cal_day_t until)
{
	struct fsm_event ev = msg(FSM_EV_RECEIVED, MSG_TRAVEL_DOCUMENT_NOTICE,
	    at);

	ev.doc_valid_from = from;
	ev.doc_valid_until = until;
	return ev;
}

/* Item 1: the document's validity is measured from the notice's receipt,
 * not from ValidFrom. */
static void
test_doc_validity_from_receipt(void **state)
{
	struct fsm_case r;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t t = utc(2026, 3, 4, 10, 0, 0);

	(void)state;
	r = accepted_r(t);
	/* a document of 2020: six months long, but long expired */
	ev = doc_notice(t, ymd(2020, 1, 1), ymd(2021, 1, 1));
	assert_int_equal(decide_v(&r, &ev, t, 1, &d), 0);	/* fsm 1 */
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	/* six days left at the receipt */
	ev = doc_notice(t, ymd(2025, 9, 10), ymd(2026, 3, 10));
	assert_int_equal(decide_v(&r, &ev, t, 1, &d), 0);
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	/* six months from the receipt date, 4 September: one day short,
	 * then exactly enough */
	ev = doc_notice(t, ymd(2026, 3, 1), ymd(2026, 9, 3));
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	/* the receipt counts in the requested state's date, not Created */
	ev.doc_valid_until = ymd(2026, 9, 4);
	ev.created = t - 3 * DAY;
	ev.at = t;
	d = ok(&r, &ev, t);
	assert_int_equal(r.state, FSM_DOCUMENTED);
	assert_int_equal(r.doc_valid_from, ymd(2026, 3, 1));
	/* ValidFrom: at most the day after the receipt */
	r = accepted_r(t);
	ev = doc_notice(t, ymd(2026, 3, 6), ymd(2027, 3, 6));
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	assert_int_equal(decide_v(&r, &ev, t, 1, &d), 0);
	ev.doc_valid_from = ymd(2026, 3, 5);
	ok(&r, &ev, t);
	/* a transfer outside the validity: before it starts, or after it
	 * ends (the document of 5 March .. 6 March 2027) */
	ev = msg(FSM_EV_RECEIPTED, MSG_TRANSFER_NOTICE, t);
	r.doc_valid_until = ymd(2026, 3, 20);	/* as if it ran out */
	ev.transfer_at = utc(2026, 3, 23, 9, 0, 0);
	assert_int_equal(decide_v(&r, &ev, t, 1, &d), 0);
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	ev.transfer_at = utc(2026, 3, 20, 9, 0, 0);
	ok(&r, &ev, t);
	assert_int_equal(r.state, FSM_TRANSFER_SCHEDULED);
	r.doc_valid_until = ymd(2027, 3, 6);
	r.doc_valid_from = ymd(2026, 3, 25);
	ev.transfer_at = utc(2026, 3, 24, 9, 0, 0);
	no(&r, &ev, t, AE_DOCUMENT_VALIDITY);
	/* an extension is held to the same rule: within 6 to 12 months of
	 * the old end, and six months from its own receipt */
	r = accepted_r(t);
	ev = doc_notice(t, ymd(2026, 3, 4), ymd(2026, 9, 4));
	ok(&r, &ev, t);
	/* received 20 September: to 10 March 2027 is within the range
	 * but under six months from the receipt */
	ev = doc_notice(utc(2026, 9, 20, 10, 0, 0), ymd(2026, 3, 4),
	    ymd(2027, 3, 10));
	ev.doc_extended = 1;
	assert_int_equal(decide_v(&r, &ev, ev.at, 1, &d), 0);
	no(&r, &ev, ev.at, AE_DOCUMENT_VALIDITY);
	ev.doc_valid_until = ymd(2027, 3, 1);		/* under the range */
	no(&r, &ev, ev.at, AE_DOCUMENT_VALIDITY);
	assert_int_equal(decide_v(&r, &ev, ev.at, 1, &d), -1);
	ev.doc_valid_until = ymd(2027, 3, 20);
	ok(&r, &ev, ev.at);
	assert_int_equal(r.doc_valid_until, ymd(2027, 3, 20));
	assert_int_equal(r.doc_valid_from, ymd(2026, 3, 4));
}

/* Item 4: a suspended period resumes with its days, not its seconds. */
static void
test_identification_resume_days(void **state)
{
	struct fsm_case q, q1;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t t1, t2;

	(void)state;
	/* accelerated: Mon 2 March -> Wed 4 March 23:59:59; suspended Tue
	 * 3 March 22:59:59, 25 hours and 1 working day left */
	q = opened(ROLE_REQUESTED, FSM_PROC_ACCELERATED, T0);
	assert_int_equal(q.due[FSM_DL_REPLY], utc(2026, 3, 4, 23, 59, 59));
	t1 = utc(2026, 3, 3, 22, 59, 59);
	ev = msg(FSM_EV_RECEIPTED, MSG_IDENTIFICATION_REQUEST, t1);
	q1 = q;
	assert_int_equal(decide_v(&q1, &ev, t1, 1, &d), 0);
	fsm_apply(&q1, &d);
	ok(&q, &ev, t1);
	assert_int_equal(q.ident_remaining, 1);
	assert_int_equal(q1.ident_remaining, 25 * HOUR);
	/* resumed Friday 6 March at 20:00 */
	t2 = utc(2026, 3, 6, 20, 0, 0);
	ev = msg(FSM_EV_RECEIVED, MSG_IDENTIFICATION_RESPONSE, t2);
	assert_int_equal(decide_v(&q1, &ev, t2, 1, &d), 0);
	/* fsm 1: Saturday 21:00, an instant in the weekend */
	assert_int_equal(d.dlops[0].due, t2 + 25 * HOUR);
	/* fsm 2: one working day after Friday: Monday, end of day */
	d = ok(&q, &ev, t2);
	assert_int_equal(q.due[FSM_DL_REPLY], utc(2026, 3, 9, 23, 59, 59));
	assert_int_equal(d.dlops[0].due, q.due[FSM_DL_REPLY]);
	assert_false(q.ident_suspended);

	/* calendar days, rolled like any period: 2 days left from Sun 15
	 * March; resumed Thu 12 March -> Sat 14 -> rolled past Sunday and
	 * the Monday holiday to Tue 17 March */
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	ev = msg(FSM_EV_RECEIPTED, MSG_IDENTIFICATION_REQUEST,
	    utc(2026, 3, 15, 10, 0, 0));
	ok(&q, &ev, ev.at);
	assert_int_equal(q.ident_remaining, 2);
	ev = msg(FSM_EV_RECEIVED, MSG_IDENTIFICATION_RESPONSE,
	    utc(2026, 3, 12, 10, 0, 0));
	ok(&q, &ev, ev.at);
	assert_int_equal(q.due[FSM_DL_REPLY], utc(2026, 3, 17, 23, 59, 59));
	/* the resumed period is the one an extension lengthens: 2 + 6
	 * days from Thu 12 March = Fri 20 March */
	ev = msg(FSM_EV_RECEIPTED, MSG_EXTENSION_REQUEST, ev.at);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 6;
	ok(&q, &ev, ev.at);
	ev.type = MSG_EXTENSION_REPLY;
	ev.kind = FSM_EV_RECEIVED;
	ok(&q, &ev, ev.at);
	assert_int_equal(q.due[FSM_DL_REPLY], utc(2026, 3, 20, 23, 59, 59));
}

/* Item 5: asking for time after the reply deadline is refused like a
 * late reply. */
static void
test_ask_after_deadline(void **state)
{
	struct fsm_case q, r;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t due;

	(void)state;
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	due = q.due[FSM_DL_REPLY];
	/* an IdentificationRequest signed 30 s late */
	ev = msg(FSM_EV_RECEIVED, MSG_IDENTIFICATION_REQUEST, due + 30);
	assert_int_equal(decide_v(&r, &ev, due + 40, 1, &d), 0);
	assert_int_equal(d.dlops[0].op, FSM_DLOP_CLEAR);	/* fsm 1 */
	no(&r, &ev, due + 40, AE_DEADLINE_PASSED);
	ev.kind = FSM_EV_RECEIPTED;
	no(&q, &ev, due + 40, AE_DEADLINE_PASSED);
	ev.kind = FSM_EV_SENDING;
	ev.created = due;
	no(&q, &ev, due + 1, AE_DEADLINE_PASSED);	/* now is late */
	/* so the deadline still fires: silence means consent */
	ev = fire(FSM_DL_REPLY);
	ok(&r, &ev, due + 60);
	assert_int_equal(r.state, FSM_DEEMED_ACCEPTED);
	/* an ExtensionRequest likewise; at the last second it counts */
	ev = msg(FSM_EV_RECEIVED, MSG_EXTENSION_REQUEST, due + 1);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 6;
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	assert_int_equal(decide_v(&r, &ev, due + 5, 1, &d), 0);
	no(&r, &ev, due + 5, AE_DEADLINE_PASSED);
	ev.created = due;
	ok(&r, &ev, due + 5);
	assert_int_equal(r.ext_reply, FSM_EXTST_ASKED);
	ev = msg(FSM_EV_RECEIVED, MSG_IDENTIFICATION_REQUEST, due);
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	ok(&r, &ev, due + 5);
	assert_true(r.ident_pending);
}

/* Item 6: the advance notice counts from the notice's receipt. */
static void
test_notice_from_receipt(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;
	struct fsm_decision d;

	(void)state;
	accepted(&r, &q, utc(2026, 3, 4, 10, 0, 0));
	/* signed Thu 5 March for Tue 10 March: 3 working days ahead */
	ev = msg(FSM_EV_RECEIVED, MSG_TRANSFER_NOTICE,
	    utc(2026, 3, 5, 8, 0, 0));
	ev.transfer_at = utc(2026, 3, 10, 6, 0, 0);
	/* delivered 48 hours late, Sat 7 March: 1 working day ahead */
	ev.at = ev.created + 48 * HOUR;
	assert_int_equal(decide_v(&q, &ev, ev.at, 1, &d), 0);	/* fsm 1 */
	no(&q, &ev, ev.at, AE_NOTICE_TOO_SHORT);
	ev.kind = FSM_EV_RECEIPTED;
	no(&r, &ev, ev.at, AE_NOTICE_TOO_SHORT);
	/* received the day it was signed, it is enough */
	ev.at = ev.created + HOUR;
	ok(&r, &ev, ev.at);
	assert_int_equal(r.state, FSM_TRANSFER_SCHEDULED);
	/* sending: now is the earliest receipt */
	ev.kind = FSM_EV_SENDING;
	no(&q, &ev, utc(2026, 3, 6, 8, 0, 0), AE_ROLE_NOT_ALLOWED);
	accepted(&r, &q, utc(2026, 3, 4, 10, 0, 0));
	no(&r, &ev, utc(2026, 3, 6, 8, 0, 0), AE_NOTICE_TOO_SHORT);
}

/* Item 7: the Korea programme's notice window is counted on the
 * receiving state's dates: fsm_calendar_role() names it, and the fsm
 * counts in the calendar it is given. */
static void
test_voluntary_receiver_calendar(void **state)
{
	struct calendar kr, kz;
	const struct calendar *use;
	struct fsm_case none, r;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t t;

	(void)state;
	assert_int_equal(fsm_calendar_role(FSM_KIND_VOLUNTARY, FSM_VERSION),
	    ROLE_REQUESTING);
	assert_int_equal(fsm_calendar_role(FSM_KIND_VOLUNTARY, 1),
	    ROLE_REQUESTED);
	assert_int_equal(fsm_calendar_role(FSM_KIND_READMISSION,
	    FSM_VERSION), ROLE_REQUESTED);
	assert_int_equal(fsm_calendar_role(FSM_KIND_TRANSIT, FSM_VERSION),
	    ROLE_REQUESTED);
	kr = cal;
	snprintf(kr.zone, sizeof(kr.zone), "Asia/Seoul");
	kz = cal;
	snprintf(kz.zone, sizeof(kz.zone), "Asia/Almaty");
	/* Mon 2 Feb 2026 17:00 UTC: Tue 3 Feb in Seoul, still Mon 2 Feb
	 * in Almaty; departure Thu 5 Feb is 2 days ahead in Korea */
	t = utc(2026, 2, 2, 17, 0, 0);
	memset(&none, 0, sizeof(none));
	ev = vd_notice(FSM_EV_RECEIVED, t);
	ev.departure_date = ymd(2026, 2, 5);
	/* Korea (R) receives it: its calendar is the one to count in */
	r = none;
	fsm_case_open(MSG_VOLUNTARY_DEPARTURE_NOTICE, 1, &r);
	use = r.role == fsm_calendar_role(r.kind, FSM_VERSION) ? &kr : &kz;
	assert_ptr_equal(use, &kr);
	assert_int_equal(fsm_decide(&r, &ev, &ag, use, t, &d), -1);
	assert_int_equal(d.refusal, AE_PROGRAMME_RULE);
	/* fsm 1 counted in Kazakhstan's dates and took it */
	use = r.role == fsm_calendar_role(r.kind, 1) ? &kr : &kz;
	assert_ptr_equal(use, &kz);
	assert_int_equal(fsm_decide_v(&r, &ev, &ag, use, t, 1, &d), 0);
	/* a day later in both zones it is fine in Korea's too */
	ev.departure_date = ymd(2026, 2, 6);
	assert_int_equal(fsm_decide(&r, &ev, &ag, &kr, t, &d), 0);
}

/* Item 8: the transit state revokes the consent it gave. */
static void
test_transit_revoked_by_transit_state(void **state)
{
	struct fsm_case r, q;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t t = utc(2026, 3, 5, 12, 0, 0);

	(void)state;
	assert_true(fsm_may_send(FSM_KIND_TRANSIT, ROLE_REQUESTED,
	    MSG_TRANSIT_REVOCATION, 0));
	assert_true(fsm_may_send(FSM_KIND_TRANSIT, ROLE_REQUESTING,
	    MSG_TRANSIT_REVOCATION, 0));
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	ev = msg(FSM_EV_SENDING, MSG_TRANSIT_REQUEST, t);
	ok(&r, &ev, t);
	ev.kind = FSM_EV_RECEIVED;
	ok(&q, &ev, t);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&r, &ev, t);
	/* before consenting, Q has nothing to revoke: it refuses */
	ev = msg(FSM_EV_SENDING, MSG_TRANSIT_REVOCATION, t + HOUR);
	no(&q, &ev, t + HOUR, AE_NOT_ALLOWED_IN_STATE);
	ev = msg(FSM_EV_SENDING, MSG_TRANSIT_REPLY, t + DAY);
	ok(&q, &ev, t + DAY);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&q, &ev, t + DAY);
	ev.kind = FSM_EV_RECEIVED;
	ok(&r, &ev, t + DAY);
	assert_int_equal(q.state, FSM_TRANSIT_CONSENTED);
	/* Q revokes its consent; both sides close */
	ev = msg(FSM_EV_SENDING, MSG_TRANSIT_REVOCATION, t + 2 * DAY);
	assert_int_equal(decide_v(&q, &ev, t + 2 * DAY, 1, &d), -1);
	assert_int_equal(d.refusal, AE_ROLE_NOT_ALLOWED);	/* fsm 1 */
	ok(&q, &ev, t + 2 * DAY);
	ev.kind = FSM_EV_RECEIPTED;
	ok(&q, &ev, t + 2 * DAY);
	ev.kind = FSM_EV_RECEIVED;
	assert_int_equal(decide_v(&r, &ev, t + 2 * DAY, 1, &d), -1);
	ok(&r, &ev, t + 2 * DAY);
	assert_int_equal(q.state, FSM_TRANSIT_REVOKED);
	assert_int_equal(r.state, FSM_TRANSIT_REVOKED);
	assert_int_equal(r.armed, 0);
}

/* Item 9: an extension of M days makes the period N + M days from the
 * same receipt date, rolled once at its end; over random cases. */
static void
test_extension_from_receipt(void **state)
{
	struct fsm_case q, a;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t t, want;
	int i, m, n, differ = 0;

	(void)state;
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < 2000; i++) {
		setup_world();
		ag.timelines.roll_to_working_day = rnd(2);
		ag.timelines.standard_reply_days = n = 10 + rnd(16);
		t = T0 + rnd(300) * DAY + rnd(DAY);
		m = 6 + rnd(55);
		q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, t);
		ev = msg(FSM_EV_RECEIPTED, MSG_EXTENSION_REQUEST, t);
		ev.ext_subject = FSM_EXT_REPLY_PERIOD;
		ev.ext_days = m;
		ok(&q, &ev, t);
		ev = msg(FSM_EV_RECEIVED, MSG_EXTENSION_REPLY, t + HOUR);
		ev.ext_subject = FSM_EXT_REPLY_PERIOD;
		ev.ext_days = m;
		a = q;
		assert_int_equal(decide_v(&a, &ev, t + HOUR, 1, &d), 0);
		ok(&q, &ev, t + HOUR);
		want = calendar_due_calendar_days(&cal, t, n + m,
		    ag.timelines.roll_to_working_day);
		assert_int_equal(q.due[FSM_DL_REPLY], want);
		differ += d.dlops[0].due != want;
	}
	/* fsm 1 added days to the rolled deadline: it differs often */
	assert_true(differ > 100);

	/* accelerated: N + M working days */
	setup_world();
	q = opened(ROLE_REQUESTED, FSM_PROC_ACCELERATED, T0);
	ev = msg(FSM_EV_RECEIPTED, MSG_EXTENSION_REQUEST, T0);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 6;
	ok(&q, &ev, T0);
	ev.type = MSG_EXTENSION_REPLY;
	ev.kind = FSM_EV_RECEIVED;
	ok(&q, &ev, T0);
	/* 2 + 6 = 8 working days after Mon 2 March: Thu 12 March */
	assert_int_equal(q.due[FSM_DL_REPLY], utc(2026, 3, 12, 23, 59, 59));

	/* the transfer window too: 90 + M from the acceptance */
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	t = utc(2026, 3, 6, 10, 0, 0);		/* Friday */
	ev = msg(FSM_EV_RECEIPTED, MSG_READMISSION_REPLY, t);
	ok(&q, &ev, t);
	/* 90 days: Thu 4 June */
	assert_int_equal(q.due[FSM_DL_TRANSFER], utc(2026, 6, 4, 23, 59, 59));
	ev = msg(FSM_EV_RECEIVED, MSG_EXTENSION_REQUEST, t);
	ev.ext_subject = FSM_EXT_TRANSFER_WINDOW;
	ev.ext_days = 2;
	ok(&q, &ev, t);
	ev = msg(FSM_EV_RECEIPTED, MSG_EXTENSION_REPLY, t);
	ev.ext_subject = FSM_EXT_TRANSFER_WINDOW;
	ev.ext_days = 2;
	ok(&q, &ev, t);
	/* 92 days: Sat 6 June, rolled once to Mon 8 June */
	assert_int_equal(q.due[FSM_DL_TRANSFER], utc(2026, 6, 8, 23, 59, 59));
}

/* Item 10: a deadline fires at the first second after its due
 * instant. */
static void
test_deadline_fires_after_due(void **state)
{
	struct fsm_case q;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t due;

	(void)state;
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	due = q.due[FSM_DL_REPLY];
	assert_int_equal(due, utc(2026, 3, 17, 23, 59, 59));
	ev = fire(FSM_DL_REPLY);
	assert_int_equal(decide_v(&q, &ev, due, 1, &d), 0);	/* fsm 1 */
	no(&q, &ev, due, AE_INVALID_FIELD);
	/* a reply created at the last second still counts */
	ev = msg(FSM_EV_SENDING, MSG_READMISSION_REPLY, due);
	ok(&q, &ev, due);
	ev = fire(FSM_DL_REPLY);
	d = ok(&q, &ev, due + 1);
	assert_int_equal(q.state, FSM_DEEMED_ACCEPTED);
}

/* Item 11: "entered illegally after 2025-12-01": entry on that day is
 * not excluded, the day after is. */
static void
test_voluntary_entry_on_programme_date(void **state)
{
	struct fsm_case none, r;
	struct fsm_event ev;
	accord_time_t t = utc(2026, 2, 2, 10, 0, 0);

	(void)state;
	memset(&none, 0, sizeof(none));
	ev = vd_notice(FSM_EV_RECEIVED, t);
	ev.entry_illegal = 1;
	ev.entry_date = ymd(2025, 12, 1);
	r = none;
	ok(&r, &ev, t);
	assert_int_equal(r.state, FSM_VD_NOTIFIED);
	ev.entry_date = ymd(2025, 12, 2);
	no(&none, &ev, t, AE_PROGRAMME_RULE);
}

/*
 * Issue 15, item 3: the requested side owns the transfer window.  It runs
 * from the reply's signed Created (not from when each side got it); Q
 * keeps its own value whatever R's receipt says; R adopts the one Q gives
 * (the TransferDeadline of the reply), and on a deemed acceptance the one
 * Q's receipt gave for that case; fsm 1 kept the old rules.
 */
static void
test_transfer_window_owned_by_q(void **state)
{
	struct fsm_case q, r;
	struct fsm_event ev;
	struct fsm_decision d1, d2;
	accord_time_t created = T0 + 2 * DAY, want, given;

	(void)state;
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	want = fsm_transfer_if_deemed(&q, &ag, &cal);
	assert_true(want > q.due[FSM_DL_REPLY]);

	/* Q: its reply receipted three days after it was created, with a
	 * wrong window in R's receipt */
	ev = msg(FSM_EV_RECEIPTED, MSG_READMISSION_REPLY, created);
	ev.at = created + 3 * DAY;
	ev.given_due[FSM_DL_TRANSFER] = created + 200 * DAY;
	assert_int_equal(decide_v(&q, &ev, ev.at, 2, &d2), 0);
	assert_int_equal(d2.new_state, FSM_ACCEPTED);
	assert_int_equal(d2.next.due[FSM_DL_TRANSFER],
	    calendar_due_calendar_days(&cal, created,
	    ag.timelines.transfer_window_days,
	    ag.timelines.roll_to_working_day));
	assert_int_equal(decide_v(&q, &ev, ev.at, 1, &d1), 0);
	assert_int_equal(d1.next.due[FSM_DL_TRANSFER], created + 200 * DAY);

	/* R: adopts what Q stated */
	r = opened(ROLE_REQUESTING, FSM_PROC_STANDARD, T0);
	given = created + 93 * DAY;
	ev = msg(FSM_EV_RECEIVED, MSG_READMISSION_REPLY, created);
	ev.at = created + 3 * DAY;
	ev.given_due[FSM_DL_TRANSFER] = given;
	assert_int_equal(decide_v(&r, &ev, ev.at, 2, &d2), 0);
	assert_int_equal(d2.next.due[FSM_DL_TRANSFER], given);

	/* R: a receipt from Q (here for an IdentificationResponse) states
	 * the window should silence mean consent; the deadline uses it */
	ev = msg(FSM_EV_RECEIPTED, MSG_CONSULTATION, T0 + DAY);
	ev.given_due[FSM_DL_TRANSFER] = want + DAY;
	assert_int_equal(decide_v(&r, &ev, T0 + DAY, 2, &d2), 0);
	assert_int_equal(d2.next.deemed_transfer_due, want + DAY);
	fsm_apply(&r, &d2);
	ev = fire(FSM_DL_REPLY);
	assert_int_equal(decide_v(&r, &ev, r.due[FSM_DL_REPLY] + 1, 2, &d2),
	    0);
	assert_int_equal(d2.new_state, FSM_DEEMED_ACCEPTED);
	assert_int_equal(d2.next.due[FSM_DL_TRANSFER], want + DAY);
	assert_int_equal(decide_v(&r, &ev, r.due[FSM_DL_REPLY] + 1, 1, &d1),
	    0);
	assert_int_equal(d1.next.due[FSM_DL_TRANSFER], want);
}

/* Versions: the same inputs decided by fsm 1 and fsm 2 give the old and
 * the new answers (items 5, 9 and 10); the version is in the decision;
 * an unknown version is refused, not guessed. */
static void
test_versions(void **state)
{
	struct fsm_case q;
	struct fsm_event ev;
	struct fsm_decision d1, d2;
	accord_time_t due;

	(void)state;
	assert_int_equal(FSM_VERSION, 2);
	q = opened(ROLE_REQUESTED, FSM_PROC_STANDARD, T0);
	due = q.due[FSM_DL_REPLY];
	/* 10: firing at due */
	ev = fire(FSM_DL_REPLY);
	assert_int_equal(decide_v(&q, &ev, due, 1, &d1), 0);
	assert_int_equal(d1.new_state, FSM_DEEMED_ACCEPTED);
	assert_int_equal(decide_v(&q, &ev, due, 2, &d2), -1);
	assert_int_equal(d2.refusal, AE_INVALID_FIELD);
	/* 5: a late IdentificationRequest */
	ev = msg(FSM_EV_RECEIPTED, MSG_IDENTIFICATION_REQUEST, due + 30);
	assert_int_equal(decide_v(&q, &ev, due + 30, 1, &d1), 0);
	assert_int_equal(decide_v(&q, &ev, due + 30, 2, &d2), -1);
	assert_int_equal(d2.refusal, AE_DEADLINE_PASSED);
	/* 9: the extension, on a case fsm 1 opened (no period kept: the
	 * fsm 1 rule is all there is) and on one fsm 2 opened */
	ev = msg(FSM_EV_RECEIPTED, MSG_EXTENSION_REQUEST, T0);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 6;
	fsm_apply(&q, (decide_v(&q, &ev, T0, 2, &d2), &d2));
	ev = msg(FSM_EV_RECEIVED, MSG_EXTENSION_REPLY, T0);
	ev.ext_subject = FSM_EXT_REPLY_PERIOD;
	ev.ext_days = 6;
	assert_int_equal(decide_v(&q, &ev, T0, 1, &d1), 0);
	assert_int_equal(decide_v(&q, &ev, T0, 2, &d2), 0);
	assert_int_equal(d1.dlops[0].due, utc(2026, 3, 23, 23, 59, 59));
	assert_int_equal(d2.dlops[0].due, utc(2026, 3, 20, 23, 59, 59));
	/* fsm 1 leaves the fields it did not know untouched, so that its
	 * journalled "next" case replays exactly */
	{
		struct fsm_case c1;
		struct fsm_event op = msg(FSM_EV_RECEIVED,
		    MSG_READMISSION_REQUEST, T0);

		memset(&c1, 0, sizeof(c1));
		assert_int_equal(decide_v(&c1, &op, T0, 1, &d1), 0);
		assert_int_equal(d1.next.period_from[FSM_DL_REPLY], 0);
		assert_int_equal(decide_v(&c1, &op, T0, 2, &d2), 0);
		assert_int_equal(d2.next.period_from[FSM_DL_REPLY], T0);
		assert_int_equal(d2.next.period_days[FSM_DL_REPLY], 12);
		fsm_apply(&c1, &d1);
		ev.kind = FSM_EV_RECEIPTED;
		ev.type = MSG_EXTENSION_REQUEST;
		fsm_apply(&c1, (decide_v(&c1, &ev, T0, 2, &d2), &d2));
		ev.kind = FSM_EV_RECEIVED;
		ev.type = MSG_EXTENSION_REPLY;
		/* an fsm 1 period extended under fsm 2: the old rule */
		assert_int_equal(decide_v(&c1, &ev, T0, 2, &d2), 0);
		assert_int_equal(d2.dlops[0].due, utc(2026, 3, 23, 23, 59,
		    59));
	}
	/* 2 (issue 15, item 2): a claim after the transfer was announced
	 * suspends it; fsm 1 left the case as it was */
	{
		struct fsm_case s;
		struct fsm_event rec = record(FSM_REC_PROTECTION_CLAIM);

		memset(&s, 0, sizeof(s));
		s.kind = FSM_KIND_READMISSION;
		s.role = ROLE_REQUESTING;
		s.state = FSM_TRANSFER_SCHEDULED;
		s.armed = 1u << FSM_DL_TRANSFER;
		s.due[FSM_DL_TRANSFER] = T0 + 80 * DAY;
		rec.at = T0;
		assert_int_equal(decide_v(&s, &rec, T0, 1, &d1), 0);
		assert_int_equal(d1.new_state, FSM_TRANSFER_SCHEDULED);
		assert_false(d1.effects & FSM_EFF_TELL_PROTECTION);
		assert_int_equal(decide_v(&s, &rec, T0, 2, &d2), 0);
		assert_int_equal(d2.new_state, FSM_TRANSFER_SUSPENDED);
		assert_true(d2.effects & FSM_EFF_TELL_PROTECTION);
	}
	/* unknown versions */
	assert_int_equal(fsm_decide_v(&q, &ev, &ag, &cal, T0, 0, &d1), -1);
	assert_int_equal(d1.refusal, AE_INTERNAL);
	assert_int_equal(fsm_decide_v(&q, &ev, &ag, &cal, T0, FSM_VERSION + 1,
	    &d1), -1);
	assert_int_equal(d1.refusal, AE_INTERNAL);
	assert_int_equal(d1.version, FSM_VERSION + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_table_walk, setup),
		cmocka_unit_test_setup(test_table_refusals, setup),
		cmocka_unit_test_setup(test_names, setup),
		cmocka_unit_test_setup(test_reply_deadlines, setup),
		cmocka_unit_test_setup(test_case_existence, setup),
		cmocka_unit_test_setup(test_roles, setup),
		cmocka_unit_test_setup(test_timeliness, setup),
		cmocka_unit_test_setup(test_identification, setup),
		cmocka_unit_test_setup(test_reply_extension, setup),
		cmocka_unit_test_setup(test_transfer, setup),
		cmocka_unit_test_setup(test_transfer_window, setup),
		cmocka_unit_test_setup(test_protection, setup),
		cmocka_unit_test_setup(test_withdrawal, setup),
		cmocka_unit_test_setup(test_transit, setup),
		cmocka_unit_test_setup(test_voluntary, setup),
		cmocka_unit_test_setup(test_property, setup),
		cmocka_unit_test_setup(test_doc_validity_from_receipt, setup),
		cmocka_unit_test_setup(test_identification_resume_days,
		    setup),
		cmocka_unit_test_setup(test_ask_after_deadline, setup),
		cmocka_unit_test_setup(test_notice_from_receipt, setup),
		cmocka_unit_test_setup(test_voluntary_receiver_calendar,
		    setup),
		cmocka_unit_test_setup(test_transit_revoked_by_transit_state,
		    setup),
		cmocka_unit_test_setup(test_extension_from_receipt, setup),
		cmocka_unit_test_setup(test_deadline_fires_after_due, setup),
		cmocka_unit_test_setup(test_voluntary_entry_on_programme_date,
		    setup),
		cmocka_unit_test_setup(test_versions, setup),
		cmocka_unit_test_setup(test_transfer_window_owned_by_q, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
