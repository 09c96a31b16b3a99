/*
 * engine_facts.c -- reading a message's business facts into an fsm
 * event, preparing the case an event applies to, and the facts the fsm
 * does not judge: what a reply answers, and dates that cannot be.
 */
#include <stdio.h>
#include <string.h>

#include "conf/calendar.h"
#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/envelope.h"
#include "msg/model.h"

/* ---- business facts into an fsm event ---------------------------------- */

/* Fill the message-dependent fields of ev from a message's model (the
 * parser read them from the DOM it verified). */
void
engine_event_facts(const struct model *m, struct fsm_event *ev)
{
	const struct envelope_header *h = &m->h;
	long v;

	ev->type = h->type;
	ev->created = h->created;
	switch (h->type) {
	case MSG_READMISSION_REQUEST:
		ev->procedure = h->procedure == ENVELOPE_PROC_ACCELERATED ?
		    FSM_PROC_ACCELERATED : FSM_PROC_STANDARD;
		if (m->reason == MODEL_REASON_DELIBERATE)
			ev->reason = FSM_REASON_DELIBERATE;
		else if (m->reason == MODEL_REASON_OBJECTIVE)
			ev->reason = FSM_REASON_OBJECTIVE;
		break;
	case MSG_READMISSION_REPLY:
	case MSG_TRANSIT_REPLY:
		ev->positive = m->positive;
		ev->grounds = m->grounds;
		if (h->type == MSG_READMISSION_REPLY && m->given_transfer != 0)
			ev->given_due[FSM_DL_TRANSFER] = m->given_transfer;
		break;
	case MSG_EXTENSION_REQUEST:
	case MSG_EXTENSION_REPLY:
		ev->ext_subject = m->ext_transfer_window ?
		    FSM_EXT_TRANSFER_WINDOW : FSM_EXT_REPLY_PERIOD;
		ev->positive = m->positive;
		if (h->type == MSG_EXTENSION_REPLY && m->given_transfer != 0)
			ev->given_due[FSM_DL_TRANSFER] = m->given_transfer;
		ev->ext_days = m->ext_days;
		break;
	case MSG_TRAVEL_DOCUMENT_NOTICE:
		ev->doc_extended = m->doc_extended;
		ev->doc_valid_from = m->doc_valid_from;
		ev->doc_valid_until = m->doc_valid_until;
		break;
	case MSG_TRANSFER_NOTICE:
		ev->transfer_at = m->transfer_at;
		break;
	case MSG_PROTECTION_NOTICE:
		if (m->protection[0] != '\0' &&
		    (v = fsm_protection_from_name(m->protection)) > 0)
			ev->protection = (enum fsm_protection)v;
		break;
	case MSG_VOLUNTARY_DEPARTURE_NOTICE:
		ev->departure_date = m->departure_date;
		ev->passport = m->passport;
		ev->application = m->application;
		ev->ticket = m->ticket;
		ev->criminal_offence = m->criminal_offence;
		ev->entry_illegal = m->entry_illegal;
		ev->entry_date = m->entry_date;
		break;
	default:
		break;
	}
}

/*
 * Checks on personal fields are journalled as verdicts (issue 19): the
 * voluntary-departure programme's exclusions read a criminal offence, an
 * illegal entry and the date of entry (personal fields: the pd:data of
 * VoluntaryDepartureNotice.xsd), which the DECISION record, kept in
 * clear, must not hold.  They are replaced by what the fsm concludes from
 * them under the agreement's programme (fsm_check_programme): excluded
 * for an offence, excluded for an illegal entry after the programme's
 * date, or neither.  The fsm decides the same, replay included, and the
 * record says no more than the decision does.
 */
void
engine_facts_verdicts(const struct agreement *a, struct fsm_event *ev)
{
	const struct programme *p = &a->programme;
	int illegal;

	if (ev->type != MSG_VOLUNTARY_DEPARTURE_NOTICE)
		return;
	illegal = p->exclude_illegal_entry && ev->entry_illegal &&
	    ev->entry_date > p->illegal_entry_after;
	ev->criminal_offence = p->exclude_criminal_offences &&
	    ev->criminal_offence;
	ev->entry_illegal = illegal;
	ev->entry_date = illegal ? p->illegal_entry_after + 1 : 0;
}

/* 1 if t opens a case. */
int
engine_opens(enum msg_type t)
{
	struct fsm_case c;

	return fsm_case_open(t, 0, &c) == 0;
}

/* The calendar the fsm counts case c in (the requested state's, or for
 * voluntary departure the receiving state's): ours when we hold that
 * role, else the partner's. */
const struct calendar *
engine_requested_cal(const struct engine *e, const struct agreement *a,
    const struct fsm_case *c)
{
	return c->role == fsm_calendar_role(c->kind, FSM_VERSION) ?
	    &e->conf->calendar : &a->calendar;
}

/* Prepare the case an event applies to: the stored one, or a fresh one
 * for an opening message (kind and our role set). */
int
engine_case_for(struct engine *e, const char *partner, const char *case_id,
    enum msg_type type, int incoming, struct fsm_case *c)
{
	int found;

	memset(c, 0, sizeof(*c));
	found = engine_case_get(e, partner, case_id, c);
	if (found != 0)
		return found;
	fsm_case_open(type, incoming, c);	/* zeroed if t opens none */
	return 0;
}

/* ---- what a reply answers --------------------------------------------- */

/* The type of the message a reply answers (its RefToMessageId names one
 * of the other side's), or -1 when t is no reply. */
int
engine_reply_to(enum msg_type t)
{
	switch (t) {
	case MSG_READMISSION_REPLY:
		return MSG_READMISSION_REQUEST;
	case MSG_IDENTIFICATION_RESPONSE:
		return MSG_IDENTIFICATION_REQUEST;
	case MSG_EXTENSION_REPLY:
		return MSG_EXTENSION_REQUEST;
	case MSG_TRANSIT_REPLY:
		return MSG_TRANSIT_REQUEST;
	default:
		return -1;
	}
}

/* ---- plausible dates ---------------------------------------------------- */

/*
 * Values are personal data: a refusal names the element's path, never
 * its value, in logs and in the Error's text.  The parser lists the date
 * facts in document order; the first that cannot be is the refusal.
 */
int
engine_check_dates(const struct model *m, const struct calendar *sender_cal,
    accord_time_t now, int skew, char *why, size_t whylen)
{
	const struct model_date *d;
	cal_day_t created_day;
	size_t i;

	created_day = calendar_local_day(sender_cal, m->h.created);
	for (i = 0; i < m->ndates; i++) {
		d = &m->dates[i];
		switch (d->kind) {
		case MODEL_DATE_REVERSED:
			snprintf(why, whylen, "%s/%s is before %s/%s",
			    d->path, d->until, d->path, d->from);
			return -1;
		case MODEL_DATE_BIRTH:
			if (d->day <= created_day)
				break;
			snprintf(why, whylen, "%s/BirthDate is after the "
			    "message's Created", d->path);
			return -1;
		case MODEL_DATE_TRANSFER:
			if (d->at >= now - skew)
				break;
			snprintf(why, whylen, "%s/TransferAt is in the past",
			    d->path);
			return -1;
		}
	}
	return 0;
}
