/*
 * casecmd.c -- status, list, timeline, submit, record, clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "accord-build.h"
#include "conf/calendar.h"
#include "faces/casecmd.h"
#include "util/clock.h"
#include "faces/opscmd.h"
#include "persist/store.h"

/* ---- argument helpers ---------------------------------------------------- */

/* argv[i] of the request, or NULL. */
const char *
casecmd_arg(json_t *args, size_t i)
{
	return json_string_value(json_array_get(json_object_get(args,
	    "argv"), i));
}

const char *
casecmd_opt(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

int
casecmd_flag(json_t *args, const char *name)
{
	json_t *v = json_object_get(args, name);

	return json_is_true(v) || (json_is_string(v) &&
	    strcmp(json_string_value(v), "true") == 0);
}

int
casecmd_parse_duration(const char *s, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (v < 0 || v > 100LL * 365 * 86400)
		return -1;
	if (strcmp(end, "d") == 0)
		v *= 86400;
	else if (strcmp(end, "h") == 0)
		v *= 3600;
	else if (strcmp(end, "m") == 0)
		v *= 60;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* "3d 04h", "-1d 02h" (overdue): how an operator reads time left. */
char *
casecmd_left(long long secs, char *buf, size_t len)
{
	long long a = secs < 0 ? -secs : secs;

	if (a >= 86400)
		snprintf(buf, len, "%s%lldd %02lldh", secs < 0 ? "-" : "",
		    a / 86400, (a % 86400) / 3600);
	else
		snprintf(buf, len, "%s%lldh %02lldm", secs < 0 ? "-" : "",
		    a / 3600, (a % 3600) / 60);
	return buf;
}

struct store *
casecmd_store(struct casecmd_ctx *ctx)
{
	return ctx->engine != NULL ? engine_store(ctx->engine) : ctx->store;
}

const struct config *
casecmd_conf(struct casecmd_ctx *ctx)
{
	return ctx->conf != NULL ? *ctx->conf : NULL;
}

/* Find the case: "CASE" alone when the id is unique across partners, or
 * with partner=CC.  @return 1 found, 0 not (text set), -1 error. */
struct casecmd_find {
	const char		*case_id;
	struct store_case	 found;
	int			 n;
};

static int
casecmd_find_cb(void *arg, const struct store_case *c)
{
	struct casecmd_find *f = arg;

	if (strcmp(c->case_id, f->case_id) == 0) {
		if (f->n++ == 0)
			f->found = *c;
	}
	return 0;
}

static int
casecmd_find(struct casecmd_ctx *ctx, json_t *args, struct store_case *out,
    const char **code, char *text, size_t len)
{
	struct store_case_filter flt;
	struct casecmd_find f;
	const char *case_id = casecmd_arg(args, 0);

	if (case_id == NULL) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "which case? (give its CaseId)");
		return 0;
	}
	store_case_filter_init(&flt);
	flt.partner = casecmd_opt(args, "partner");
	memset(&f, 0, sizeof(f));
	f.case_id = case_id;
	if (store_list_cases(casecmd_store(ctx), &flt, casecmd_find_cb,
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

struct casecmd_msgs {
	json_t	*list;
	FILE	*fp;
};

static int
casecmd_msg_cb(void *arg, const struct store_message *m)
{
	struct casecmd_msgs *cm = arg;
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
	return 0;
}

json_t *
casecmd_status(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	const struct config *conf = casecmd_conf(ctx);
	const struct agreement *a;
	struct store_case sc;
	struct casecmd_msgs cm;
	json_t *res, *dls;
	accord_time_t now = clock_now();
	char *buf = NULL, tb[32], lb[40], left[32];
	size_t blen = 0;
	int dl;

	if (casecmd_find(ctx, args, &sc, code, text, len) != 1)
		return NULL;
	a = conf != NULL ? config_partner(conf, sc.partner) : NULL;
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
		casecmd_left((long long)(sc.c.due[dl] - now), left,
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
	fprintf(cm.fp, "messages:\n");
	if (store_case_messages(casecmd_store(ctx), sc.partner,
	    sc.case_id, casecmd_msg_cb, &cm) == -1) {
		fclose(cm.fp);
		free(buf);
		json_decref(cm.list);
		json_decref(dls);
		*code = "INTERNAL";
		snprintf(text, len, "store query failed");
		return NULL;
	}
	fclose(cm.fp);
	res = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s%}", "case",
	    sc.case_id, "partner", sc.partner, "state",
	    fsm_state_name(sc.c.state), "kind", fsm_kind_name(sc.c.kind),
	    "role", fsm_role_name(sc.c.role), "deadlines", dls, "messages",
	    cm.list, "text", buf, blen);
	free(buf);
	return res;
}

/* ---- list ---------------------------------------------------------------- */

struct casecmd_rows {
	json_t		*list;
	FILE		*fp;
	accord_time_t	 now;
	int		 n;
};

static int
casecmd_row_cb(void *arg, const struct store_case *c)
{
	struct casecmd_rows *rows = arg;
	char tb[32], left[32];

	rows->n++;
	if (c->next_due != 0) {
		clock_format_utc(c->next_due, tb, sizeof(tb));
		casecmd_left((long long)(c->next_due - rows->now), left,
		    sizeof(left));
	} else {
		snprintf(tb, sizeof(tb), "-");
		left[0] = '\0';
	}
	json_array_append_new(rows->list, json_pack("{s:s, s:s, s:s, s:s, "
	    "s:s, s:s}", "case", c->case_id, "partner", c->partner, "state",
	    fsm_state_name(c->c.state), "kind", fsm_kind_name(c->c.kind),
	    "role", fsm_role_name(c->c.role), "next_due", tb));
	fprintf(rows->fp, "%-2s %-32s %-20s %-2s %-20s %s\n", c->partner,
	    c->case_id, fsm_state_name(c->c.state), fsm_role_name(c->c.role),
	    tb, left);
	return 0;
}

json_t *
casecmd_list(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store_case_filter f;
	struct casecmd_rows rows;
	const char *s;
	long long dur;
	char *buf = NULL;
	size_t blen = 0;
	json_t *res;

	store_case_filter_init(&f);
	rows.now = clock_now();
	if ((s = casecmd_opt(args, "state")) != NULL &&
	    (f.state = fsm_state_from_name(s)) < 0) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "unknown state '%.40s'", s);
		return NULL;
	}
	f.partner = casecmd_opt(args, "partner");
	if (casecmd_flag(args, "overdue")) {
		f.overdue_at = rows.now;
		f.overdue_states = 1;
	}
	if ((s = casecmd_opt(args, "due-within")) != NULL) {
		if (casecmd_parse_duration(s, &dur) == -1) {
			*code = "BAD_REQUEST";
			snprintf(text, len, "due-within: '%.40s' is not a "
			    "duration (2d, 36h, 90m)", s);
			return NULL;
		}
		f.due_by = rows.now + dur;
	}
	if ((s = casecmd_opt(args, "updated-since")) != NULL &&
	    clock_parse_utc(s, &f.updated_since) == -1) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "updated-since: '%.40s' is not a UTC time "
		    "(2026-11-22T00:00:00Z)", s);
		return NULL;
	}
	rows.list = json_array();
	rows.n = 0;
	if ((rows.fp = open_memstream(&buf, &blen)) == NULL)
		return NULL;
	fprintf(rows.fp, "%-2s %-32s %-20s %-2s %-20s %s\n", "CC", "CASE",
	    "STATE", "WE", "NEXT DEADLINE (UTC)", "LEFT");
	if (store_list_cases(casecmd_store(ctx), &f, casecmd_row_cb,
	    &rows) == -1) {
		fclose(rows.fp);
		free(buf);
		json_decref(rows.list);
		*code = "INTERNAL";
		snprintf(text, len, "store query failed");
		return NULL;
	}
	fprintf(rows.fp, "%d case%s\n", rows.n, rows.n == 1 ? "" : "s");
	fclose(rows.fp);
	res = json_pack("{s:o, s:i, s:s%}", "cases", rows.list, "count",
	    rows.n, "text", buf, blen);
	free(buf);
	return res;
}

/* ---- timeline ------------------------------------------------------------ */

struct casecmd_tl {
	json_t	*list;
	FILE	*fp;
};

static int
casecmd_tl_cb(void *arg, const struct engine_history *h)
{
	struct casecmd_tl *tl = arg;
	char tb[32];

	clock_format_utc(h->time, tb, sizeof(tb));
	json_array_append_new(tl->list, json_pack("{s:I, s:s, s:s, s:s}",
	    "seq", (json_int_t)h->seq, "time", tb, "what", h->what, "text",
	    h->text));
	fprintf(tl->fp, "%s  #%-6llu %-9s %s\n", tb,
	    (unsigned long long)h->seq, h->what, h->text);
	return 0;
}

json_t *
casecmd_timeline(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store_case sc;
	struct casecmd_tl tl;
	char *buf = NULL;
	size_t blen = 0;
	json_t *res;

	if (casecmd_find(ctx, args, &sc, code, text, len) != 1)
		return NULL;
	tl.list = json_array();
	if ((tl.fp = open_memstream(&buf, &blen)) == NULL)
		return NULL;
	fprintf(tl.fp, "timeline of case %s with %s (now %s)\n", sc.case_id,
	    sc.partner, fsm_state_name(sc.c.state));
	if ((ctx->engine != NULL ? engine_case_history(ctx->engine,
	    sc.partner, sc.case_id, casecmd_tl_cb, &tl) :
	    engine_case_history_at(ctx->journal_dir, ctx->store, sc.partner,
	    sc.case_id, casecmd_tl_cb, &tl)) == -1) {
		fclose(tl.fp);
		free(buf);
		json_decref(tl.list);
		*code = "INTERNAL";
		snprintf(text, len, "journal read failed");
		return NULL;
	}
	fclose(tl.fp);
	res = json_pack("{s:s, s:s, s:o, s:s%}", "case", sc.case_id,
	    "partner", sc.partner, "events", tl.list, "text", buf, blen);
	free(buf);
	return res;
}

/* ---- submit -------------------------------------------------------------- */

/* An idempotency key: short, printable, no spaces (it is logged). */
static int
casecmd_request_id_ok(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n >= ENGINE_REQUEST_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '.' ||
		    id[i] == '_' || id[i] == ':' || id[i] == '-'))
			return 0;
	return 1;
}

json_t *
casecmd_submit(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct engine_submission sub;
	struct engine_outgoing out;
	struct engine_answer a;
	struct store_message m;
	const char *doc, *state = "QUEUED";
	json_t *res;

	memset(&sub, 0, sizeof(sub));
	sub.partner = casecmd_arg(args, 0);
	doc = casecmd_opt(args, "document");
	sub.request_id = casecmd_opt(args, "request-id");
	if (sub.partner == NULL || doc == NULL) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "usage: submit PARTNER document=<XML> "
		    "[case=ID] [ref=MESSAGEID] [--urgent] [request-id=KEY]");
		return NULL;
	}
	if (sub.request_id != NULL && !casecmd_request_id_ok(sub.request_id)) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "request-id: 1 to %d characters of "
		    "A-Z a-z 0-9 . _ : -", ENGINE_REQUEST_ID_MAX - 1);
		return NULL;
	}
	sub.case_id = casecmd_opt(args, "case");
	sub.ref_to = casecmd_opt(args, "ref");
	sub.accelerated = casecmd_flag(args, "urgent");
	sub.uid = who->uid;
	sub.defer_commit = ctx->group_commit;
	if (engine_submit(ctx->engine, &sub, doc, strlen(doc), &out, &a) ==
	    -1) {
		*code = errcode_name(a.code);
		snprintf(text, len, "%s", a.text);
		return NULL;
	}
	if (out.body == NULL) {
		/* a repeated request-id: the first answer again, with the
		 * message's state now */
		if (store_message_find(engine_store(ctx->engine), out.partner,
		    out.message_id, RECORD_DIR_OUT, &m) == 1)
			state = record_msg_state_name(m.state);
	} else if (ctx->queued != NULL)
		ctx->queued(ctx->queued_arg, &out);
	res = json_pack("{s:s, s:s, s:s, s:s, s:b}", "message_id",
	    out.message_id, "case", out.case_id, "partner", out.partner,
	    "state", state, "repeated", out.body == NULL);
	json_object_set_new(res, "text", json_sprintf("queued %s for %s, case "
	    "%s%s", out.message_id, out.partner, out.case_id,
	    out.body == NULL ? " (repeated request-id: nothing new queued)" :
	    ""));
	engine_outgoing_clear(&out);
	return res;
}

/* ---- record ---------------------------------------------------------------- */

json_t *
casecmd_record(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store_case sc;
	struct engine_answer a;
	const char *fact = casecmd_arg(args, 1);
	enum fsm_record rec;

	if (fact == NULL || (strcmp(fact, "protection-claim") != 0 &&
	    strcmp(fact, "assessment") != 0)) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "usage: record CASE protection-claim|"
		    "assessment [--risk] [note=TEXT] [partner=CC]");
		return NULL;
	}
	if (casecmd_find(ctx, args, &sc, code, text, len) != 1)
		return NULL;
	rec = strcmp(fact, "protection-claim") == 0 ?
	    FSM_REC_PROTECTION_CLAIM : FSM_REC_ASSESSMENT;
	if (engine_record(ctx->engine, who->uid, sc.partner, sc.case_id, rec,
	    casecmd_flag(args, "risk"), casecmd_opt(args, "note"), &a) == -1) {
		*code = errcode_name(a.code);
		snprintf(text, len, "%s", a.text);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:s}", "case", sc.case_id,
	    "partner", sc.partner, "recorded", fact, "text", a.text);
}

/* ---- clock (test builds) ----------------------------------------------- */

json_t *
casecmd_clock(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	const char *verb = casecmd_arg(args, 0), *val = casecmd_arg(args, 1);
	accord_time_t t;
	long long d;
	char tb[32];

#ifndef ACCORD_TEST_CLOCK
	*code = "UNKNOWN_COMMAND";
	snprintf(text, len, "this build has no test clock");
	return NULL;
#endif
	if (verb == NULL || strcmp(verb, "show") == 0) {
		/* nothing to change */
	} else if (strcmp(verb, "set") == 0 && val != NULL &&
	    clock_parse_utc(val, &t) == 0) {
		/* a daemon's clock keeps running from there: retries and
		 * timers scheduled after the move still fall due */
		clock_test_set(t);
		clock_test_running(1);
	} else if (strcmp(verb, "advance") == 0 && val != NULL &&
	    casecmd_parse_duration(val, &d) == 0) {
		if (!clock_is_test())
			clock_test_set(clock_now());
		clock_test_advance(d);
		clock_test_running(1);
	} else if (strcmp(verb, "real") == 0) {
		clock_use_real();
	} else {
		*code = "BAD_REQUEST";
		snprintf(text, len, "usage: clock show | set "
		    "2026-11-22T12:00:00Z | advance 3d | real");
		return NULL;
	}
	if (verb != NULL && strcmp(verb, "show") != 0 &&
	    ctx->clock_moved != NULL)
		ctx->clock_moved(ctx->clock_arg);
	clock_format_utc(clock_now(), tb, sizeof(tb));
	return json_pack("{s:s, s:b, s:s}", "now", tb, "test_clock",
	    clock_is_test(), "text", tb);
}

const struct control_command casecmd_commands[] = {
	{ "status", CONTROL_ROLE_READ, casecmd_status,
	    "status CASE [partner=CC]: state, deadlines, messages" },
	{ "list", CONTROL_ROLE_READ, casecmd_list,
	    "list [state=S] [partner=CC] [--overdue] [due-within=2d] "
	    "[updated-since=T]" },
	{ "timeline", CONTROL_ROLE_READ, casecmd_timeline,
	    "timeline CASE: messages, decisions, deadlines in order" },
	{ "submit", CONTROL_ROLE_SUBMIT, casecmd_submit,
	    "submit PARTNER document=@FILE [case=ID] [ref=MSG] [--urgent] "
	    "[request-id=KEY]" },
	{ "record", CONTROL_ROLE_ADMIN, casecmd_record,
	    "record CASE protection-claim|assessment [--risk] [note=TEXT]" },
	{ "inbox", CONTROL_ROLE_SUBMIT, opscmd_inbox,
	    "inbox [partner=CC] [--body] [--reveal] [--follow]: received "
	    "messages not yet acknowledged" },
	{ "ack", CONTROL_ROLE_SUBMIT, opscmd_ack,
	    "ack MESSAGE-ID [partner=CC]: the back office took it" },
	{ "resend", CONTROL_ROLE_ADMIN, opscmd_resend,
	    "resend MESSAGE-ID [partner=CC]: UNDELIVERED or DISPUTED, again" },
	{ "pause", CONTROL_ROLE_ADMIN, opscmd_pause,
	    "pause PARTNER: hold delivery to a partner" },
	{ "resume", CONTROL_ROLE_ADMIN, opscmd_pause,
	    "resume PARTNER: deliver to a partner again" },
	{ "queues", CONTROL_ROLE_READ, opscmd_queues,
	    "queues [partner=CC]: outbox depth, oldest, stuck, last contact" },
	{ "alerts", CONTROL_ROLE_READ, opscmd_alerts,
	    "alerts: overdue, due within 24 h, stuck messages, certificates, "
	    "calendars" },
	{ "stats", CONTROL_ROLE_READ, opscmd_stats,
	    "stats [partner=CC] [since=YYYY-MM]: cases, messages, "
	    "rejections, returns, per month" },
	{ "metrics", CONTROL_ROLE_READ, opscmd_metrics,
	    "metrics: Prometheus text exposition" },
	{ "monitor", CONTROL_ROLE_READ, opscmd_monitor,
	    "monitor: stream every committed record" },
#ifdef ACCORD_TEST_CLOCK
	{ "clock", CONTROL_ROLE_ADMIN, casecmd_clock,
	    "clock show|set TIME|advance 3d|real (test builds only)" },
#endif
	{ NULL, 0, NULL, NULL }
};
