/*
 * engine_facts.c -- reading a message's business facts into an fsm
 * event, preparing the case an event applies to, and the facts the fsm
 * does not judge: what a reply answers, and dates that cannot be.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "conf/calendar.h"
#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/envelope.h"

/* ---- reading business facts into an fsm event ------------------------- */

static int
engine_child_bool(xmlNodePtr body, const char *name)
{
	char buf[16];

	if (envelope_child_text(body, name, buf, sizeof(buf)) == -1)
		return 0;
	return strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0;
}

static cal_day_t
engine_child_date(xmlNodePtr body, const char *name)
{
	char buf[32];
	cal_day_t d = 0;

	if (envelope_child_text(body, name, buf, sizeof(buf)) == 0)
		calendar_parse_date(buf, &d);
	return d;
}

static int
engine_count_children(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;
	int count = 0;

	if (parent == NULL)
		return 0;
	for (n = parent->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, BAD_CAST name) == 0)
			count++;
	return count;
}

/* Version 2: the end of the transfer window the requested side states. */
static void
engine_given_transfer(xmlNodePtr n, struct fsm_event *ev)
{
	char buf[32];

	if (n != NULL && envelope_child_text(n, "TransferDeadline", buf,
	    sizeof(buf)) == 0)
		clock_parse_utc(buf, &ev->given_due[FSM_DL_TRANSFER]);
}

/* Fill the message-dependent fields of ev from a schema-valid body. */
void
engine_event_facts(const struct envelope_header *h, xmlNodePtr body,
    struct fsm_event *ev)
{
	xmlNodePtr n;
	char buf[64];
	long v;

	ev->type = h->type;
	ev->created = h->created;
	switch (h->type) {
	case MSG_READMISSION_REQUEST:
		ev->procedure = h->procedure == ENVELOPE_PROC_ACCELERATED ?
		    FSM_PROC_ACCELERATED : FSM_PROC_STANDARD;
		n = envelope_child(body, "ReturnReason");
		if (envelope_child(n, "DeliberateViolation") != NULL)
			ev->reason = FSM_REASON_DELIBERATE;
		else if (envelope_child(n, "ObjectiveReason") != NULL)
			ev->reason = FSM_REASON_OBJECTIVE;
		break;
	case MSG_READMISSION_REPLY:
		ev->positive = envelope_child(body, "Accepted") != NULL;
		engine_given_transfer(envelope_child(body, "Accepted"), ev);
		ev->grounds = engine_count_children(envelope_child(body,
		    "Refused"), "Ground");
		break;
	case MSG_TRANSIT_REPLY:
		ev->positive = envelope_child(body, "Consent") != NULL;
		ev->grounds = engine_count_children(envelope_child(body,
		    "Refusal"), "Ground");
		break;
	case MSG_EXTENSION_REQUEST:
	case MSG_EXTENSION_REPLY:
		if (envelope_child_text(body, "Subject", buf, sizeof(buf)) ==
		    0 && strcmp(buf, "TransferWindow") == 0)
			ev->ext_subject = FSM_EXT_TRANSFER_WINDOW;
		else
			ev->ext_subject = FSM_EXT_REPLY_PERIOD;
		n = h->type == MSG_EXTENSION_REQUEST ? body :
		    envelope_child(body, "Granted");
		ev->positive = h->type == MSG_EXTENSION_REPLY && n != NULL;
		if (h->type == MSG_EXTENSION_REPLY)
			engine_given_transfer(n, ev);
		if (envelope_child_text(n, h->type == MSG_EXTENSION_REQUEST ?
		    "DaysRequested" : "Days", buf, sizeof(buf)) == 0) {
			v = strtol(buf, NULL, 10);
			ev->ext_days = (int)(v > 0 && v < 100000 ? v : 0);
		}
		break;
	case MSG_TRAVEL_DOCUMENT_NOTICE:
		ev->doc_extended = envelope_child_text(body, "Action", buf,
		    sizeof(buf)) == 0 && strcmp(buf, "Extended") == 0;
		ev->doc_valid_from = engine_child_date(body, "ValidFrom");
		ev->doc_valid_until = engine_child_date(body, "ValidUntil");
		break;
	case MSG_TRANSFER_NOTICE:
		if (envelope_child_text(body, "TransferAt", buf, sizeof(buf)) ==
		    0)
			clock_parse_utc(buf, &ev->transfer_at);
		break;
	case MSG_PROTECTION_NOTICE:
		if (envelope_child_text(body, "Status", buf, sizeof(buf)) ==
		    0 && (v = fsm_protection_from_name(buf)) > 0)
			ev->protection = (enum fsm_protection)v;
		break;
	case MSG_VOLUNTARY_DEPARTURE_NOTICE:
		ev->departure_date = engine_child_date(body, "DepartureDate");
		ev->passport = engine_child_bool(body, "PassportPresent");
		ev->application = engine_child_bool(body,
		    "ApplicationPresent");
		ev->ticket = engine_child_bool(body, "AirlineTicket");
		ev->criminal_offence = engine_child_bool(body,
		    "CriminalOffence");
		ev->entry_illegal = engine_child_bool(body, "EntryIllegal");
		ev->entry_date = engine_child_date(body, "EntryDate");
		break;
	default:
		break;
	}
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
 * its value, in logs and in the Error's text.
 */

struct engine_dates {
	cal_day_t	 created_day;	/* Created, in the sender's calendar */
	accord_time_t	 earliest_transfer;	/* now less the clock skew */
	char		*why;
	size_t		 whylen;
};

static int
engine_date_of(xmlNodePtr parent, const char *name, cal_day_t *d)
{
	char buf[32];

	return envelope_child_text(parent, name, buf, sizeof(buf)) == 0 &&
	    calendar_parse_date(buf, d) == 0;
}

static int
engine_time_of(xmlNodePtr parent, const char *name, accord_time_t *t)
{
	char buf[64];

	return envelope_child_text(parent, name, buf, sizeof(buf)) == 0 &&
	    clock_parse_utc(buf, t) == 0;
}

/* from and until, children of n, both present and out of order? */
static int
engine_range_reversed(xmlNodePtr n, const char *from, const char *until,
    int instants)
{
	cal_day_t df, du;
	accord_time_t tf, tu;

	if (instants)
		return engine_time_of(n, from, &tf) &&
		    engine_time_of(n, until, &tu) && tf > tu;
	return engine_date_of(n, from, &df) && engine_date_of(n, until, &du) &&
	    df > du;
}

/* The checks of one element (its path in path); recurses. */
static int
engine_dates_walk(struct engine_dates *dt, xmlNodePtr n, char *path,
    size_t pathlen, size_t used)
{
	static const struct {
		const char	*from, *until;
		int		 instants;
	} ranges[] = {
		{ "ValidFrom", "ValidUntil", 0 },	/* TransitReply,
							 * TravelDocumentNotice */
		{ "IssuedOn", "ValidUntil", 0 },	/* MeansOfProof */
		{ "DepartureAt", "ArrivalAt", 1 },	/* EscortNotice legs */
	};
	xmlNodePtr k;
	cal_day_t day;
	accord_time_t t;
	size_t i;
	int w;

	w = snprintf(path + used, pathlen - used, "%s%s", used ? "/" : "",
	    (const char *)n->name);
	if (w < 0 || (size_t)w >= pathlen - used)
		w = (int)(pathlen - used - 1);
	used += (size_t)w;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (engine_range_reversed(n, ranges[i].from, ranges[i].until,
		    ranges[i].instants)) {
			snprintf(dt->why, dt->whylen, "%s/%s is before %s/%s",
			    path, ranges[i].until, path, ranges[i].from);
			return -1;
		}
	if (engine_date_of(n, "BirthDate", &day) && day > dt->created_day) {
		snprintf(dt->why, dt->whylen, "%s/BirthDate is after the "
		    "message's Created", path);
		return -1;
	}
	if (engine_time_of(n, "TransferAt", &t) && t < dt->earliest_transfer) {
		snprintf(dt->why, dt->whylen, "%s/TransferAt is in the past",
		    path);
		return -1;
	}
	for (k = n->children; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE && k->children != NULL &&
		    engine_dates_walk(dt, k, path, pathlen, used) == -1)
			return -1;
	path[used - (size_t)w] = '\0';
	return 0;
}

int
engine_check_dates(const struct envelope_header *h, xmlNodePtr body,
    const struct calendar *sender_cal, accord_time_t now, int skew,
    char *why, size_t whylen)
{
	struct engine_dates dt;
	char path[256];

	if (body == NULL)
		return 0;
	dt.created_day = calendar_local_day(sender_cal, h->created);
	dt.earliest_transfer = now - skew;
	dt.why = why;
	dt.whylen = whylen;
	path[0] = '\0';
	return engine_dates_walk(&dt, body, path, sizeof(path), 0);
}
