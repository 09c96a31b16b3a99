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

/* A message or a receipt. */
static void
report_h_message(const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_message rm;
	char tb[32];

	if (record_message_decode(rec->payload, rec->len, &rm) == -1)
		return;
	h->what = "message";
	snprintf(h->text, sizeof(h->text), "%s %s %s (Created %s)",
	    agreement_msg_type_name(rm.type), rm.message_id,
	    rec->kind == JOURNAL_MESSAGE_SENT ? "queued to send" :
	    rec->kind == JOURNAL_MESSAGE_RECEIVED ? "received" :
	    rec->kind == JOURNAL_RECEIPT_GIVEN ? "answered by us" :
	    "answered by the partner",
	    clock_format_utc(rm.created, tb, sizeof(tb)));
}

/* An fsm decision or a refusal. */
static void
report_h_decision(const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_decision rd;
	char desc[200];

	if (record_decision_decode(rec->payload, rec->len, &rd) == -1)
		return;
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
}

static void
report_h_deadline(const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_deadline rdl;
	char tb[32];

	if (record_deadline_decode(rec->payload, rec->len, &rdl) == -1)
		return;
	h->what = "deadline";
	snprintf(h->text, sizeof(h->text), "%s deadline due %s fired",
	    fsm_deadline_name(rdl.which),
	    clock_format_utc(rdl.due, tb, sizeof(tb)));
}

/* A delivery state of one of the case's messages. */
static void
report_h_delivery(const struct journal_rec *rec,
    struct report_history *h)
{
	struct record_msgstate ms;

	if (record_msgstate_decode(rec->payload, rec->len, &ms) == -1)
		return;
	h->what = "delivery";
	snprintf(h->text, sizeof(h->text), "%s %s%s%s", ms.message_id,
	    record_msg_state_name(ms.state), ms.reason[0] ? ": " : "",
	    ms.reason);
}

static const char *
report_json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* An operator's command: a record's fact, or what a reveal showed. */
static void
report_h_operator(const struct journal_rec *rec,
    struct report_history *h)
{
	const char *detail, *command, *by, *reason;
	json_t *obj;
	int n;

	obj = json_loadb((const char *)rec->payload, rec->len, 0, NULL);
	if (obj == NULL)
		return;
	h->what = "operator";
	if ((detail = report_json_str(obj, "fact")) == NULL)
		detail = report_json_str(obj, "what");
	if ((command = report_json_str(obj, "command")) == NULL)
		command = "?";
	/* a job (the retention job's erase) names itself instead of a
	 * uid; hold, release and erase say why */
	if ((by = report_json_str(obj, "by")) != NULL)
		n = snprintf(h->text, sizeof(h->text), "%s job: %s", by,
		    command);
	else
		n = snprintf(h->text, sizeof(h->text), "uid %lld: %s%s%s",
		    (long long)json_integer_value(json_object_get(obj, "uid")),
		    command, detail != NULL ? " " : "", detail != NULL ?
		    detail : "");
	if ((reason = report_json_str(obj, "reason")) != NULL && n > 0 &&
	    (size_t)n < sizeof(h->text))
		snprintf(h->text + n, sizeof(h->text) - n, " (%s)", reason);
	json_decref(obj);
}

/* One record of the case, read where the records index says it is. */
struct report_hwalk {
	const char		*dir;
	int			(*cb)(void *, const struct report_history *);
	void			*arg;
	int			 failed;
};

static int
report_history_one(void *arg, const struct store_recpos *p)
{
	struct report_hwalk *hw = arg;
	struct journal_pos pos = { p->file, p->offset, p->seq };
	struct journal_rec rec;
	struct report_history h;
	uint8_t *buf;
	int stop = 0;

	if (journal_read_at(hw->dir, &pos, &rec, &buf) == -1) {
		hw->failed = 1;
		return 1;
	}
	memset(&h, 0, sizeof(h));
	h.seq = rec.seq;
	h.time = rec.time;
	/* the index says whose it is; the helpers write its line */
	switch (rec.kind) {
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		report_h_message(&rec, &h);
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		report_h_decision(&rec, &h);
		break;
	case JOURNAL_DEADLINE_FIRED:
		report_h_deadline(&rec, &h);
		break;
	case JOURNAL_MESSAGE_STATE:
		report_h_delivery(&rec, &h);
		break;
	case JOURNAL_OPERATOR_COMMAND:
		report_h_operator(&rec, &h);
		break;
	default:
		break;
	}
	if (h.what != NULL)
		stop = hw->cb(hw->arg, &h);
	free(buf);
	return stop;
}

int
report_case_history(const char *journal_dir, struct store *st,
    const char *partner, const char *case_id, uint64_t after, int limit,
    int (*cb)(void *, const struct report_history *), void *arg)
{
	struct report_hwalk hw = { journal_dir, cb, arg, 0 };

	if (store_case_records(st, partner, case_id, after, limit,
	    report_history_one, &hw) == -1 || hw.failed)
		return -1;
	return 0;
}
