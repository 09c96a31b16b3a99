/*
 * report_case.c -- status, list, timeline: one case or many, read-only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/calendar.h"
#include "report/report.h"
#include "util/clock.h"

const struct config *
report_conf(const struct report_ctx *ctx)
{
	return ctx->conf != NULL ? *ctx->conf : NULL;
}

/* Find the case: "CASE" alone when the id is unique across partners, or
 * with partner=CC.  @return 1 found, 0 not (text set), -1 error. */
/* The query selects the case id: each row is one partner's case. */
struct report_find {
	struct store_case	 found;
	int			 n;
};

static int
report_find_cb(void *arg, const struct store_case *c)
{
	struct report_find *f = arg;

	if (f->n++ == 0)
		f->found = *c;
	return 0;
}

int
report_find_case(struct report_ctx *ctx, json_t *args,
    struct store_case *out, const char **code, char *text, size_t len)
{
	struct store_case_filter flt;
	struct report_find f;
	const char *case_id = cmd_arg(args, 0);

	if (case_id == NULL) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "which case? (give its CaseId)");
		return 0;
	}
	store_case_filter_init(&flt);
	flt.partner = cmd_opt(args, "partner");
	flt.case_id = case_id;		/* an index lookup, not a listing */
	memset(&f, 0, sizeof(f));
	if (store_list_cases(ctx->store, &flt, report_find_cb,
	    &f) == -1) {
		*code = "INTERNAL";
		snprintf(text, len, "store query failed");
		return -1;
	}
	if (f.n == 0) {
		*code = "UNKNOWN_CASE";
		snprintf(text, len, "no case %.64s", case_id);
		return 0;
	}
	if (f.n > 1) {
		*code = "AMBIGUOUS";
		snprintf(text, len, "case %.64s exists with several partners: "
		    "add partner=CC", case_id);
		return 0;
	}
	*out = f.found;
	return 1;
}

/* ---- status ----------------------------------------------------------- */

struct report_msgs {
	json_t	*list;
	FILE	*fp;
	struct report_ctx *ctx;
};

/* How many delivery attempts status lists per message, the latest. */
#define REPORT_ATTEMPTS_SHOWN	20

static int
report_msg_cb(void *arg, const struct store_message *m)
{
	struct report_msgs *cm = arg;
	char tb[32], rb[32];

	clock_format_utc(m->created, tb, sizeof(tb));
	clock_format_utc(m->received_at, rb, sizeof(rb));
	json_array_append_new(cm->list, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s, s:b}", "message_id", m->message_id, "type",
	    agreement_msg_type_name(m->type), "direction",
	    record_dir_name(m->direction), "state",
	    record_msg_state_name(m->state), "created", tb, "received_at",
	    m->received_at ? rb : "", "reason", m->reason, "receipted",
	    m->receipt_seq != 0));
	fprintf(cm->fp, "  %-3s %-24s %-12s %s  %s%s%s\n",
	    m->direction == RECORD_DIR_IN ? "in" : "out",
	    agreement_msg_type_name(m->type), record_msg_state_name(m->state),
	    tb, m->message_id, m->reason[0] ? "  " : "", m->reason);
	/* its delivery attempts, as the daemon's transport remembers them
	 * (memory only: not journalled, lost at a restart) */
	if (m->direction == RECORD_DIR_OUT && cm->ctx != NULL &&
	    cm->ctx->attempts != NULL) {
		struct report_attempt at[REPORT_ATTEMPTS_SHOWN];
		json_t *al = json_array();
		int i, n;

		n = cm->ctx->attempts(m->partner, m->message_id, at,
		    REPORT_ATTEMPTS_SHOWN);
		for (i = 0; i < n; i++) {
			clock_format_utc(at[i].time, tb, sizeof(tb));
			json_array_append_new(al, json_pack("{s:s, s:s}",
			    "time", tb, "error", at[i].error));
			fprintf(cm->fp, "      attempt %s  %s\n", tb,
			    at[i].error[0] ? at[i].error : "answered");
		}
		json_object_set_new(json_array_get(cm->list,
		    json_array_size(cm->list) - 1), "attempts", al);
	}
	return 0;
}

json_t *
report_status(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct report_ctx *ctx = arg;
	const struct config *conf = report_conf(ctx);
	const struct agreement *a;
	struct store_case sc;
	struct report_msgs cm;
	json_t *res, *dls, *retain;
	accord_time_t now = clock_now();
	char *buf = NULL, tb[32], lb[40], left[32];
	size_t blen = 0;
	int dl;

	if (report_find_case(ctx, args, &sc, code, text, len) != 1)
		return NULL;
	a = conf != NULL ? config_partner(conf, sc.partner) : NULL;
	cm.ctx = ctx;
	cm.list = json_array();
	if ((cm.fp = open_memstream(&buf, &blen)) == NULL)
		return NULL;
	fprintf(cm.fp, "case %s with %s: %s (%s, we are %s%s)\n", sc.case_id,
	    sc.partner, fsm_state_name(sc.c.state), fsm_kind_name(sc.c.kind),
	    fsm_role_name(sc.c.role), sc.c.kind == FSM_KIND_READMISSION ?
	    (sc.c.procedure == FSM_PROC_ACCELERATED ? ", accelerated" :
	    ", standard") : "");
	dls = json_array();
	for (dl = 0; dl < FSM_DL_COUNT; dl++) {
		if (sc.c.due[dl] == 0)
			continue;
		clock_format_utc(sc.c.due[dl], tb, sizeof(tb));
		if (a != NULL)
			calendar_format_local(&a->calendar, sc.c.due[dl], lb,
			    sizeof(lb));
		else
			lb[0] = '\0';
		cmd_left((long long)(sc.c.due[dl] - now), left,
		    sizeof(left));
		json_array_append_new(dls, json_pack("{s:s, s:s, s:s, s:I, "
		    "s:b}", "deadline", fsm_deadline_name(dl), "due_utc", tb,
		    "due_partner_local", lb, "seconds_left",
		    (json_int_t)(sc.c.due[dl] - now), "armed",
		    (sc.c.armed >> dl) & 1));
		fprintf(cm.fp, "  deadline %-16s %s  (%s %s)  %s%s\n",
		    fsm_deadline_name(dl), tb, sc.partner, lb,
		    (sc.c.armed >> dl) & 1 ? "left " : "",
		    (sc.c.armed >> dl) & 1 ? left : "(not running)");
	}
	retain = report_retain(ctx, &sc, now, cm.fp);
	fprintf(cm.fp, "messages:\n");
	if (store_case_messages(ctx->store, sc.partner,
	    sc.case_id, report_msg_cb, &cm) == -1) {
		fclose(cm.fp);
		free(buf);
		json_decref(cm.list);
		json_decref(dls);
		json_decref(retain);
		*code = "INTERNAL";
		snprintf(text, len, "store query failed");
		return NULL;
	}
	fclose(cm.fp);
	res = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s%}",
	    "case", sc.case_id, "partner", sc.partner, "state",
	    fsm_state_name(sc.c.state), "kind", fsm_kind_name(sc.c.kind),
	    "role", fsm_role_name(sc.c.role), "deadlines", dls, "messages",
	    cm.list, "retention", retain, "text", buf, blen);
	free(buf);
	return res;
}

/* ---- list ---------------------------------------------------------------- */

/* The largest page of list and timeline. */
#define REPORT_LIMIT_MAX	100000

/* list's page when no limit= is given. */
#define REPORT_LIST_PAGE	1000

/* A page's last line as the next page's after=: the sort key, "DUE/CC/CASE"
 * (DUE the next deadline in UTC, "-" without one). */
#define REPORT_AFTER_MAX	(32 + RECORD_PARTNER_MAX + RECORD_ID_MAX + 2)

struct report_rows {
	json_t		*list;
	FILE		*fp;
	accord_time_t	 now;
	int		 n;
	char		 last[REPORT_AFTER_MAX];
};

static int
report_row_cb(void *arg, const struct store_case *c)
{
	struct report_rows *rows = arg;
	char tb[32], left[40];
	json_t *row;

	rows->n++;
	if (c->next_due != 0) {
		clock_format_utc(c->next_due, tb, sizeof(tb));
		cmd_due((long long)(c->next_due - rows->now), left,
		    sizeof(left));
	} else {
		snprintf(tb, sizeof(tb), "-");
		left[0] = '\0';
	}
	snprintf(rows->last, sizeof(rows->last), "%s/%s/%s", tb, c->partner,
	    c->case_id);
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "case", c->case_id,
	    "partner", c->partner, "state", fsm_state_name(c->c.state),
	    "kind", fsm_kind_name(c->c.kind), "role",
	    fsm_role_name(c->c.role), "next_due", tb);
	if (c->next_due != 0) {
		json_object_set_new(row, "seconds_left", json_integer(
		    (json_int_t)(c->next_due - rows->now)));
		json_object_set_new(row, "left", json_string(left));
	}
	json_array_append_new(rows->list, row);
	fprintf(rows->fp, "%-2s %-32s %-20s %-2s %-20s %s\n", c->partner,
	    c->case_id, fsm_state_name(c->c.state), fsm_role_name(c->c.role),
	    tb, left);
	return 0;
}

/*
 * after= of list into f (its strings in buf): "DUE/CC/CASE" as a page's
 * last line gives it, or "CC/CASE" (before the order by deadline), which
 * starts after that case where its next deadline puts it now.
 * @return 0, or -1 with code and text.
 */
static int
report_list_after(struct report_ctx *ctx, const char *s,
    struct store_case_filter *f, char *buf, size_t size, const char **code,
    char *text, size_t len)
{
	struct store_case_filter one;
	struct report_find found;
	char *p, *q;

	snprintf(buf, size, "%s", s);
	if ((p = strchr(buf, '/')) == NULL)
		goto bad;
	*p++ = '\0';
	if ((q = strchr(p, '/')) != NULL && (strcmp(buf, "-") == 0 ||
	    clock_parse_utc(buf, &f->after_due) == 0)) {
		if (strcmp(buf, "-") == 0)
			f->after_due = 0;
		*q++ = '\0';
		f->after_partner = p;
		f->after_case = q;
		return 0;
	}
	/* CC/CASE: that case's place in the order */
	f->after_partner = buf;
	f->after_case = p;
	store_case_filter_init(&one);
	one.partner = buf;
	one.case_id = p;
	memset(&found, 0, sizeof(found));
	if (store_list_cases(ctx->store, &one, report_find_cb, &found) == -1) {
		cmd_fail(code, text, len, "INTERNAL", "store query failed");
		return -1;
	}
	if (found.n == 0)
		goto bad;
	f->after_due = found.found.next_due;
	return 0;
bad:
	cmd_fail(code, text, len, "BAD_REQUEST", "after: '%.60s' is not "
	    "DUE/CC/CASE (a page's next_after)", s);
	return -1;
}

json_t *
report_list(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct report_ctx *ctx = arg;
	struct store_case_filter f;
	struct report_rows rows;
	const char *s;
	long long dur, limit;
	char *buf = NULL, after[REPORT_AFTER_MAX];
	size_t blen = 0;
	json_t *res;

	store_case_filter_init(&f);
	rows.now = clock_now();
	if (cmd_limit(args, &limit, REPORT_LIMIT_MAX, code, text, len) == -1)
		return NULL;
	if (limit == 0)
		limit = REPORT_LIST_PAGE;	/* never the whole store at once */
	f.limit = (int)limit;
	f.by_due = 1;		/* what needs doing first, first */
	if ((s = cmd_opt(args, "after")) != NULL && report_list_after(ctx, s,
	    &f, after, sizeof(after), code, text, len) == -1)
		return NULL;
	if ((s = cmd_opt(args, "state")) != NULL &&
	    (f.state = fsm_state_from_name(s)) < 0) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "unknown state '%.40s'", s);
		return NULL;
	}
	f.partner = cmd_opt(args, "partner");
	if (cmd_flag(args, "overdue")) {
		f.overdue_at = rows.now;
		f.overdue_states = 1;
	}
	if ((s = cmd_opt(args, "due-within")) != NULL) {
		if (cmd_parse_duration(s, &dur) == -1) {
			*code = "BAD_REQUEST";
			snprintf(text, len, "due-within: '%.40s' is not a "
			    "duration (2d, 36h, 90m)", s);
			return NULL;
		}
		f.due_by = rows.now + dur;
	}
	if ((s = cmd_opt(args, "updated-since")) != NULL &&
	    clock_parse_utc(s, &f.updated_since) == -1) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "updated-since: '%.40s' is not a UTC time "
		    "(2026-11-22T00:00:00Z)", s);
		return NULL;
	}
	rows.list = json_array();
	rows.n = 0;
	rows.last[0] = '\0';
	if ((rows.fp = open_memstream(&buf, &blen)) == NULL)
		return NULL;
	fprintf(rows.fp, "%-2s %-32s %-20s %-2s %-20s %s\n", "CC", "CASE",
	    "STATE", "WE", "NEXT DEADLINE (UTC)", "LEFT");
	if (store_list_cases(ctx->store, &f, report_row_cb,
	    &rows) == -1) {
		fclose(rows.fp);
		free(buf);
		json_decref(rows.list);
		*code = "INTERNAL";
		snprintf(text, len, "store query failed");
		return NULL;
	}
	fprintf(rows.fp, "%d case%s\n", rows.n, rows.n == 1 ? "" : "s");
	if (limit > 0 && rows.n == limit)
		fprintf(rows.fp, "(more: add after=%s)\n", rows.last);
	fclose(rows.fp);
	res = json_pack("{s:o, s:i, s:s%}", "cases", rows.list, "count",
	    rows.n, "text", buf, blen);
	if (limit > 0 && rows.n == limit)
		json_object_set_new(res, "next_after", json_string(rows.last));
	free(buf);
	return res;
}

/* ---- timeline ------------------------------------------------------------ */

struct report_tl {
	json_t		*list;
	FILE		*fp;
	uint64_t	 last;		/* seq of the last line */
	struct report_ctx *ctx;
	json_t		*attempts;
};

/* The delivery attempts of one message of the case (memory only). */
static int
report_tl_attempts_cb(void *arg, const struct store_message *m)
{
	struct report_tl *tl = arg;
	struct report_attempt at[REPORT_ATTEMPTS_SHOWN];
	char tb[32];
	int i, n;

	if (m->direction != RECORD_DIR_OUT)
		return 0;
	n = tl->ctx->attempts(m->partner, m->message_id, at,
	    REPORT_ATTEMPTS_SHOWN);
	for (i = 0; i < n; i++) {
		clock_format_utc(at[i].time, tb, sizeof(tb));
		json_array_append_new(tl->attempts, json_pack("{s:s, s:s, "
		    "s:s}", "message_id", m->message_id, "time", tb, "error",
		    at[i].error));
		fprintf(tl->fp, "%s  %-7s %-9s %s %s\n", tb, "", "attempt",
		    m->message_id, at[i].error[0] ? at[i].error :
		    "answered");
	}
	return 0;
}


static int
report_tl_cb(void *arg, const struct report_history *h)
{
	struct report_tl *tl = arg;
	char tb[32];

	tl->last = h->seq;
	clock_format_utc(h->time, tb, sizeof(tb));
	json_array_append_new(tl->list, json_pack("{s:I, s:s, s:s, s:s}",
	    "seq", (json_int_t)h->seq, "time", tb, "what", h->what, "text",
	    h->text));
	fprintf(tl->fp, "%s  #%-6llu %-9s %s\n", tb,
	    (unsigned long long)h->seq, h->what, h->text);
	return 0;
}

json_t *
report_timeline(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct report_ctx *ctx = arg;
	struct store_case sc;
	struct report_tl tl;
	long long after = 0, limit = 0;
	char *buf = NULL;
	size_t blen = 0;
	json_t *res;

	if (cmd_page(args, &after, &limit, REPORT_LIMIT_MAX, code, text,
	    len) == -1 ||
	    report_find_case(ctx, args, &sc, code, text, len) != 1)
		return NULL;
	tl.list = json_array();
	tl.attempts = json_array();
	tl.ctx = ctx;
	tl.last = 0;
	if ((tl.fp = open_memstream(&buf, &blen)) == NULL)
		return NULL;
	fprintf(tl.fp, "timeline of case %s with %s (now %s)\n", sc.case_id,
	    sc.partner, fsm_state_name(sc.c.state));
	if (report_case_history(ctx->journal_dir, ctx->store, sc.partner,
	    sc.case_id, (uint64_t)after, (int)limit, report_tl_cb, &tl) ==
	    -1) {
		fclose(tl.fp);
		free(buf);
		json_decref(tl.list);
		*code = "INTERNAL";
		snprintf(text, len, "journal read failed");
		return NULL;
	}
	/* a full page: the next one starts after its last record */
	if (limit > 0 && json_array_size(tl.list) == (size_t)limit)
		fprintf(tl.fp, "(more: timeline %s after=%llu limit=%lld)\n",
		    sc.case_id, (unsigned long long)tl.last, limit);
	else if (ctx->attempts != NULL) {
		/* after the journal's last page: the delivery attempts the
		 * daemon remembers (not journalled) */
		fprintf(tl.fp, "delivery attempts (the daemon's memory, not "
		    "journalled):\n");
		if (store_case_messages(ctx->store, sc.partner, sc.case_id,
		    report_tl_attempts_cb, &tl) == -1) {
			fclose(tl.fp);
			free(buf);
			json_decref(tl.list);
			json_decref(tl.attempts);
			*code = "INTERNAL";
			snprintf(text, len, "store query failed");
			return NULL;
		}
	}
	fclose(tl.fp);
	res = json_pack("{s:s, s:s, s:o, s:o, s:s%}", "case", sc.case_id,
	    "partner", sc.partner, "events", tl.list, "attempts", tl.attempts,
	    "text", buf, blen);
	if (limit > 0 && json_array_size(tl.list) == (size_t)limit)
		json_object_set_new(res, "next_after", json_integer(
		    (json_int_t)tl.last));
	free(buf);
	return res;
}

