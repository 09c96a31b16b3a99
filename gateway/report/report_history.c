/*
 * report_history.c -- a case's timeline, read back from the journal.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "conf/agreement.h"
#include "fsm/fsm.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "report/report.h"
#include "util/clock.h"
#include "util/errcode.h"

/* The case a history walk looks for. */
struct report_walk {
	struct store	*st;
	const char	*partner;
	const char	*case_id;
};

static int
report_is_case(const struct report_walk *w, const char *partner,
    const char *case_id)
{
	return strcmp(partner, w->partner) == 0 &&
	    strcmp(case_id, w->case_id) == 0;
}

/* A message or a receipt.  @return 1 if it is the case's. */
static int
report_h_message(const struct report_walk *w, const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_message rm;
	char tb[32];

	if (record_message_decode(rec->payload, rec->len, &rm) == -1)
		return 0;
	h->what = "message";
	snprintf(h->text, sizeof(h->text), "%s %s %s (Created %s)",
	    agreement_msg_type_name(rm.type), rm.message_id,
	    rec->kind == JOURNAL_MESSAGE_SENT ? "queued to send" :
	    rec->kind == JOURNAL_MESSAGE_RECEIVED ? "received" :
	    rec->kind == JOURNAL_RECEIPT_GIVEN ? "answered by us" :
	    "answered by the partner",
	    clock_format_utc(rm.created, tb, sizeof(tb)));
	return report_is_case(w, rm.partner, rm.case_id);
}

/* An fsm decision or a refusal. */
static int
report_h_decision(const struct report_walk *w, const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_decision rd;
	char desc[200];

	if (record_decision_decode(rec->payload, rec->len, &rd) == -1)
		return 0;
	if (rec->kind == JOURNAL_REFUSAL) {
		h->what = "refusal";
		snprintf(h->text, sizeof(h->text), "refused %s: %s: %s",
		    rd.message_id, errcode_name(rd.d.refusal), rd.d.text);
	} else {
		h->what = "decision";
		fsm_describe(&rd.d, desc, sizeof(desc));
		snprintf(h->text, sizeof(h->text), "%s (fsm %d)", desc,
		    rd.d.version);
	}
	return report_is_case(w, rd.partner, rd.case_id);
}

static int
report_h_deadline(const struct report_walk *w, const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_deadline rdl;
	char tb[32];

	if (record_deadline_decode(rec->payload, rec->len, &rdl) == -1)
		return 0;
	h->what = "deadline";
	snprintf(h->text, sizeof(h->text), "%s deadline due %s fired",
	    fsm_deadline_name(rdl.which),
	    clock_format_utc(rdl.due, tb, sizeof(tb)));
	return report_is_case(w, rdl.partner, rdl.case_id);
}

/* A delivery state names the message, not the case: the store says
 * whose message it is. */
static int
report_h_delivery(const struct report_walk *w, const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_msgstate ms;
	struct store_message m;

	if (record_msgstate_decode(rec->payload, rec->len, &ms) == -1)
		return 0;
	h->what = "delivery";
	snprintf(h->text, sizeof(h->text), "%s %s%s%s", ms.message_id,
	    record_msg_state_name(ms.state), ms.reason[0] ? ": " : "",
	    ms.reason);
	return strcmp(ms.partner, w->partner) == 0 &&
	    store_message_find(w->st, w->partner, ms.message_id,
	    RECORD_DIR_OUT, &m) == 1 && strcmp(m.case_id, w->case_id) == 0;
}

static const char *
report_json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* An operator's command: a record's fact, or what a reveal showed. */
static int
report_h_operator(const struct report_walk *w, const struct journal_rec *rec,
    struct report_history *h)
{
	const char *detail, *command, *c, *p;
	json_t *obj;
	int match;

	obj = json_loadb((const char *)rec->payload, rec->len, 0, NULL);
	if (obj == NULL)
		return 0;
	c = report_json_str(obj, "case");
	p = report_json_str(obj, "partner");
	match = c != NULL && p != NULL && report_is_case(w, p, c);
	h->what = "operator";
	if ((detail = report_json_str(obj, "fact")) == NULL)
		detail = report_json_str(obj, "what");
	if ((command = report_json_str(obj, "command")) == NULL)
		command = "?";
	snprintf(h->text, sizeof(h->text), "uid %lld: %s%s%s",
	    (long long)json_integer_value(json_object_get(obj, "uid")),
	    command, detail != NULL ? " " : "", detail != NULL ? detail : "");
	json_decref(obj);
	return match;
}

int
report_case_history(const char *journal_dir, struct store *st,
    const char *partner, const char *case_id,
    int (*cb)(void *, const struct report_history *), void *arg)
{
	struct report_walk w = { st, partner, case_id };
	struct journal_reader *r;
	struct journal_rec rec;
	struct report_history h;
	int got, match, rc = 0;

	if ((r = journal_reader_open(journal_dir)) == NULL)
		return -1;
	while ((got = journal_reader_next(r, &rec)) == 1) {
		memset(&h, 0, sizeof(h));
		h.seq = rec.seq;
		h.time = rec.time;
		switch (rec.kind) {
		case JOURNAL_MESSAGE_RECEIVED:
		case JOURNAL_MESSAGE_SENT:
		case JOURNAL_RECEIPT_GIVEN:
		case JOURNAL_RECEIPT_GOT:
			match = report_h_message(&w, &rec, &h);
			break;
		case JOURNAL_DECISION:
		case JOURNAL_REFUSAL:
			match = report_h_decision(&w, &rec, &h);
			break;
		case JOURNAL_DEADLINE_FIRED:
			match = report_h_deadline(&w, &rec, &h);
			break;
		case JOURNAL_MESSAGE_STATE:
			match = report_h_delivery(&w, &rec, &h);
			break;
		case JOURNAL_OPERATOR_COMMAND:
			match = report_h_operator(&w, &rec, &h);
			break;
		default:
			match = 0;
			break;
		}
		if (match && cb(arg, &h) != 0)
			break;
	}
	if (got == -1)
		rc = -1;
	journal_reader_close(r);
	return rc;
}
