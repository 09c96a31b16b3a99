/*
 * report_ops.c -- queues, alerts, stats, the store's gauges, and the
 * lookups the daemon's commands make: read-only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/calendar.h"
#include "conf/conffile.h"
#include "report/report.h"
#include "persist/journal.h"
#include "util/clock.h"
#include "util/metric.h"
#include "util/stage.h"
#include "util/xmalloc.h"

#define DAY		86400
#define ALERT_DUE_SOON	DAY		/* deadlines due within a day */
#define ALERT_HANDOVER_CLAIM (30 * DAY)	/* handovers under a claim shown */
#define ALERT_CERT_DAYS	30		/* certificates expiring */
#define ALERT_CAL_MONTHS 12		/* calendar data running out */

/* ---- queues ---------------------------------------------------------- */

/* Days until the first of a partner's signing certificates expires. */
static long long
report_cert_days(const struct agreement *a, accord_time_t now)
{
	long long d, min = -1;
	int i;

	for (i = 0; i < a->nsigning; i++) {
		d = (long long)((a->signing[i].not_after - now) / DAY);
		if (min == -1 || d < min)
			min = d;
	}
	return min;
}

json_t *
report_queues(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct report_ctx *ctx = arg;
	const struct config *conf = report_conf(ctx);
	const struct agreement *a;
	const char *only = cmd_opt(args, "partner");
	struct store_queue q;
	accord_time_t now = clock_now();
	json_t *list, *res;
	struct report_link l;
	char *buf = NULL, ob[32], lc[32], age[32], ls[32], le[32], fs[32];
	size_t blen = 0;
	FILE *fp;
	int i;

	if (conf == NULL)
		return cmd_fail(code, text, len, "UNAVAILABLE", "queues "
		    "needs the configuration in force");
	if (only != NULL && config_partner(conf, only) == NULL)
		return cmd_fail(code, text, len, "UNKNOWN_PARTNER", "no "
		    "agreement with '%.8s'", only);
	if ((fp = open_memstream(&buf, &blen)) == NULL)
		return cmd_fail(code, text, len, "INTERNAL", "no memory");
	list = json_array();
	fprintf(fp, "%-2s %-6s %6s %-10s %5s %-20s %-9s %-20s %s\n", "CC",
	    "STATE", "QUEUED", "OLDEST", "STUCK", "LAST CONTACT (UTC)",
	    "CERT DAYS", "LAST SUCCESS (UTC)", "LAST ERROR");
	for (i = 0; i < conf->npartners; i++) {
		a = &conf->partners[i];
		if (only != NULL && strcmp(only, a->country) != 0)
			continue;
		if (store_partner_queue(ctx->store, a->country, &q) ==
		    -1) {
			fclose(fp);
			free(buf);
			json_decref(list);
			return cmd_fail(code, text, len, "INTERNAL",
			    "store query failed");
		}
		if (q.oldest_queued != 0) {
			clock_format_utc(q.oldest_queued, ob, sizeof(ob));
			cmd_left((long long)(now - q.oldest_queued), age,
			    sizeof(age));
		} else {
			ob[0] = '\0';
			snprintf(age, sizeof(age), "-");
		}
		if (q.last_contact != 0)
			clock_format_utc(q.last_contact, lc, sizeof(lc));
		else
			snprintf(lc, sizeof(lc), "never");
		json_array_append_new(list, json_pack("{s:s, s:b, s:i, s:s, "
		    "s:I, s:i, s:s, s:I}", "partner", a->country, "paused",
		    q.paused, "queued", q.depth, "oldest_queued", ob,
		    "oldest_age_seconds", (json_int_t)(q.oldest_queued != 0 ?
		    now - q.oldest_queued : 0), "undelivered_or_disputed",
		    q.stuck, "last_contact", q.last_contact != 0 ? lc : "",
		    "certificate_days_left", (json_int_t)report_cert_days(a,
		    now)));
		/* the live link, from the daemon's transport */
		if (ctx->link == NULL || ctx->link(a->country, &l) != 1)
			memset(&l, 0, sizeof(l));
		if (l.last_success_at != 0)
			clock_format_utc(l.last_success_at, ls, sizeof(ls));
		else
			snprintf(ls, sizeof(ls), ctx->link != NULL ? "-" :
			    "(offline)");
		fs[0] = '\0';
		if (l.failing_since != 0)
			clock_format_utc(l.failing_since, fs, sizeof(fs));
		if (l.last_error_at != 0)
			clock_format_utc(l.last_error_at, le, sizeof(le));
		else
			le[0] = '\0';
		json_object_set_new(json_array_get(list,
		    json_array_size(list) - 1), "link", json_pack("{s:s, s:s, "
		    "s:s, s:s, s:b}", "last_success", l.last_success_at != 0 ?
		    ls : "", "last_error", l.last_error, "last_error_at", le,
		    "failing_since", l.failing_since != 0 ? fs : "",
		    "failing", l.failing_since != 0));
		fprintf(fp, "%-2s %-6s %6d %-10s %5d %-20s %-9lld %-20s "
		    "%s%s%s%s\n", a->country, q.paused ? "paused" : "active",
		    q.depth, age,
		    q.stuck, lc, report_cert_days(a, now), ls, le,
		    le[0] ? " " : "", l.last_error[0] ? l.last_error : "-",
		    "");
	}
	res = json_pack("{s:o}", "partners", list);
	return cmd_text_result(res, fp, &buf, &blen);
}

/* ---- alerts ------------------------------------------------------------ */

/* How urgent an alert is; alerts list the most urgent first. */
enum report_severity {
	SEV_CRITICAL = 0,
	SEV_WARNING,
	SEV_NOTICE
};
static const char *const report_severity_names[] = {
	"critical", "warning", "notice"
};

struct report_alertrow {
	enum report_severity sev;
	accord_time_t	 due;		/* what it is about falls due; 0 */
	char		 kind[16];
	char		 partner[256];	/* folded calendars: "AT,BE,..." */
	char		 subject[512];	/* a CRL or certificate path: whole */
	char		 detail[320];
	json_t		*extra;		/* more fields, or NULL */
};

struct report_alertset {
	struct report_alertrow *rows;
	size_t		 n;
	size_t		 cap;
	accord_time_t	 now;
	const char	*kind;
	/* of the next report_alert() (reset by it) */
	int		 sev;		/* -1: by kind */
	accord_time_t	 due;
	json_t		*extra;
};

/* The severity of an alert of kind, unless its caller says. */
static enum report_severity
report_alert_severity(const char *kind)
{
	if (strcmp(kind, "PROTECTION") == 0)
		return SEV_CRITICAL;
	if (strcmp(kind, "due-soon") == 0 || strcmp(kind, "calendar") == 0)
		return SEV_NOTICE;
	return SEV_WARNING;
}

static void
report_alert(struct report_alertset *al, const char *kind, const char *partner,
    const char *subject, const char *fmt, ...)
{
	struct report_alertrow *r;
	va_list ap;

	if (al->n == al->cap) {
		al->cap = al->cap ? al->cap * 2 : 16;
		al->rows = xreallocarray(al->rows, al->cap, sizeof(*al->rows));
	}
	r = &al->rows[al->n++];
	memset(r, 0, sizeof(*r));
	r->sev = al->sev >= 0 ? (enum report_severity)al->sev :
	    report_alert_severity(kind);
	r->due = al->due;
	r->extra = al->extra;
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->partner, sizeof(r->partner), "%s", partner);
	snprintf(r->subject, sizeof(r->subject), "%s", subject);
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	al->sev = -1;
	al->due = 0;
	al->extra = NULL;
}

/* Most urgent first, then the earliest due (none last), then as found. */
static int
report_alert_cmp(const void *pa, const void *pb)
{
	const struct report_alertrow *a = pa, *b = pb;

	if (a->sev != b->sev)
		return a->sev < b->sev ? -1 : 1;
	if (a->due != b->due) {
		if (a->due == 0 || b->due == 0)
			return a->due == 0 ? 1 : -1;
		return a->due < b->due ? -1 : 1;
	}
	return a < b ? -1 : a > b;
}

/*
 * Sort, fold the calendar warnings that say the same (every partner's
 * calendar data ending the same day: one line naming them all), and
 * write them out.
 */
static int
report_alert_emit(struct report_alertset *al, json_t *list, FILE *fp)
{
	struct report_alertrow *r, *o;
	size_t i, j;
	json_t *obj;
	int n = 0;

	if (al->n > 0)		/* no rows: no array either */
		qsort(al->rows, al->n, sizeof(*al->rows), report_alert_cmp);
	for (i = 0; i < al->n; i++) {
		r = &al->rows[i];
		if (r->kind[0] == '\0')
			continue;	/* folded into an earlier one */
		if (strcmp(r->kind, "calendar") == 0)
			for (j = i + 1; j < al->n; j++) {
				o = &al->rows[j];
				if (strcmp(o->kind, "calendar") != 0 ||
				    strcmp(o->detail, r->detail) != 0)
					continue;
				if (strlen(r->partner) + strlen(o->partner) +
				    2 < sizeof(r->partner)) {
					strcat(r->partner, ",");
					strcat(r->partner, o->partner);
				}
				o->kind[0] = '\0';
			}
		obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "severity",
		    report_severity_names[r->sev], "kind", r->kind, "partner",
		    r->partner, "subject", r->subject, "detail", r->detail);
		if (r->due != 0) {
			char tb[32];

			clock_format_utc(r->due, tb, sizeof(tb));
			json_object_set_new(obj, "due", json_string(tb));
		}
		if (r->extra != NULL) {
			json_object_update(obj, r->extra);
			json_decref(r->extra);
			r->extra = NULL;
		}
		json_array_append_new(list, obj);
		/* the text keeps its columns; a critical one says so first
		 * in its detail, and the order shows the rest */
		fprintf(fp, "%-12s %-2s %-36s %s\n", r->kind, r->partner,
		    r->subject, r->detail);
		n++;
	}
	return n;
}

static void
report_alert_free(struct report_alertset *al)
{
	size_t i;

	for (i = 0; i < al->n; i++)
		json_decref(al->rows[i].extra);
	free(al->rows);
}

static int
report_alert_case_cb(void *arg, const struct store_case *c)
{
	struct report_alertset *al = arg;
	char tb[32], left[32];

	if (strcmp(al->kind, "due-soon") == 0 && c->next_due < al->now)
		return 0;	/* overdue: listed as such */
	if (c->next_due != 0) {
		clock_format_utc(c->next_due, tb, sizeof(tb));
		cmd_left((long long)(c->next_due - al->now), left,
		    sizeof(left));
	} else {
		snprintf(tb, sizeof(tb), "-");
		snprintf(left, sizeof(left), "-");
	}
	al->due = c->next_due;
	report_alert(al, al->kind, c->partner, c->case_id, "%s, next "
	    "deadline %s (%s)", fsm_state_name(c->c.state), tb, left);
	return 0;
}

/* Critical: a transfer suspended by a protection claim, and a handover
 * that happened while a claim was not assessed. */
static int
report_alert_protection_cb(void *arg, const struct store_case *c)
{
	struct report_alertset *al = arg;

	if (c->c.state == FSM_TRANSFER_SUSPENDED)
		report_alert(al, "PROTECTION", c->partner, c->case_id,
		    "CRITICAL: transfer suspended, protection claim %s",
		    c->c.assessment ? "assessed" : "not yet assessed");
	else if (c->c.protection_claim && !c->c.assessment)
		report_alert(al, "PROTECTION", c->partner, c->case_id,
		    "CRITICAL: %s while a protection claim was not yet "
		    "assessed", fsm_state_name(c->c.state));
	return 0;
}

static int
report_alert_msg_cb(void *arg, const struct store_message *m)
{
	struct report_alertset *al = arg;

	report_alert(al, al->kind, m->partner, m->message_id, "%s %s of case "
	    "%s%s%s", record_msg_state_name(m->state),
	    agreement_msg_type_name(m->type), m->case_id, m->reason[0] ?
	    ": " : "", m->reason);
	return 0;
}

static void
report_alert_calendar(struct report_alertset *al, const struct calendar *cal,
    const char *who)
{
	cal_day_t today, horizon;
	char db[16];

	if (cal->data_until < cal->data_from)
		return;		/* no range set: nothing runs out */
	today = calendar_local_day(cal, al->now);
	horizon = calendar_add_months(today, ALERT_CAL_MONTHS);
	if (cal->data_until >= horizon)
		return;
	calendar_format_date(cal->data_until, db, sizeof(db));
	report_alert(al, "calendar", who, "holidays", "calendar data ends "
	    "%s (%lld days): add the next year's holidays", db,
	    (long long)(cal->data_until - today));
}

static void
report_alert_certs(struct report_alertset *al, const struct config *conf)
{
	const struct agreement *a;
	accord_time_t nb, na;
	long long d;
	int i, j;

	if (conf->sign_x509 != NULL && conf_cert_times(conf->sign_x509, &nb,
	    &na) == 0 && (d = (long long)((na - al->now) / DAY)) <
	    ALERT_CERT_DAYS)
		report_alert(al, "certificate", conf->country, "our signing "
		    "certificate", "expires in %lld days", d);
	for (i = 0; i < conf->npartners; i++) {
		a = &conf->partners[i];
		for (j = 0; j < a->nsigning; j++) {
			d = (long long)((a->signing[j].not_after - al->now) /
			    DAY);
			if (d < ALERT_CERT_DAYS)
				report_alert(al, "certificate", a->country,
				    a->signing[j].path, "signing certificate "
				    "expires in %lld days", d);
		}
		if (a->tls_ca != NULL && conf_cert_times(a->tls_ca, &nb,
		    &na) == 0 && (d = (long long)((na - al->now) / DAY)) <
		    ALERT_CERT_DAYS)
			report_alert(al, "certificate", a->country,
			    a->tls_ca_path, "TLS CA expires in %lld days", d);
		if (agreement_crl_stale(a, al->now)) {
			char tb[32];

			clock_format_utc(a->crl_next_update, tb, sizeof(tb));
			report_alert(al, "crl", a->country,
			    a->crl_path, "CRL past its nextUpdate (%s): fetch "
			    "the partner's current CRL", tb);
		}
		report_alert_calendar(al, &a->calendar, a->country);
	}
	report_alert_calendar(al, &conf->calendar, conf->country);
}

/* The messages waiting for a failing partner, and what they put at risk. */
struct report_outage {
	struct report_ctx *ctx;
	accord_time_t	 window;	/* the partner's retry window */
	int		 waiting;
	accord_time_t	 nearest;	/* earliest armed deadline; 0 */
	char		 nearest_case[RECORD_ID_MAX];
	char		 urgent_case[RECORD_ID_MAX];	/* at risk, or "" */
	accord_time_t	 urgent_due;	/* its deadline; 0: none armed */
	int		 err;
};

static int
report_outage_case_cb(void *arg, const struct store_case *c)
{
	*(struct store_case *)arg = *c;
	return 1;
}

static int
report_outage_msg_cb(void *arg, const struct store_message *m)
{
	struct report_outage *o = arg;
	struct store_case_filter cf;
	struct store_case c;

	o->waiting++;
	memset(&c, 0, sizeof(c));
	store_case_filter_init(&cf);
	cf.partner = m->partner;
	cf.case_id = m->case_id;
	if (store_list_cases(o->ctx->store, &cf, report_outage_case_cb,
	    &c) == -1) {
		o->err = 1;
		return 1;
	}
	if (c.next_due != 0 && (o->nearest == 0 || c.next_due < o->nearest)) {
		o->nearest = c.next_due;
		snprintf(o->nearest_case, sizeof(o->nearest_case), "%s",
		    c.case_id);
	}
	/*
	 * An urgent case is at risk when its deadline falls within the
	 * message's retry window, or when none is armed yet: its request
	 * has not arrived, and the partner's 2 working days, shorter than
	 * the window, have not even started.
	 */
	if (c.c.procedure == FSM_PROC_ACCELERATED && (c.next_due == 0 ||
	    c.next_due <= m->created + o->window) && (o->urgent_case[0] ==
	    '\0' || (c.next_due != 0 && (o->urgent_due == 0 ||
	    c.next_due < o->urgent_due)))) {
		snprintf(o->urgent_case, sizeof(o->urgent_case), "%s",
		    c.case_id);
		o->urgent_due = c.next_due;
	}
	return 0;
}

/*
 * A partner the transport has failed to reach for longer than its
 * agreement's <retry alert-after-seconds> (300): an outage, critical when
 * an urgent case waits on it.
 */
static int
report_alert_outages(struct report_ctx *ctx, struct report_alertset *al,
    const struct config *conf)
{
	const struct agreement *a;
	struct store_message_filter mf;
	struct report_outage o;
	struct report_link l;
	char since[32], next[32], nd[64], left[32];
	int i;

	if (ctx->link == NULL)
		return 0;	/* offline: no live transport to ask */
	for (i = 0; i < conf->npartners; i++) {
		a = &conf->partners[i];
		if (ctx->link(a->country, &l) != 1 || l.failing_since == 0 ||
		    al->now - l.failing_since < a->retry.alert_after_seconds)
			continue;
		memset(&o, 0, sizeof(o));
		o.ctx = ctx;
		o.window = a->retry.window_seconds;
		store_message_filter_init(&mf);
		mf.direction = RECORD_DIR_OUT;
		mf.partner = a->country;
		mf.state = RECORD_MS_QUEUED;
		if (store_list_messages(ctx->store, &mf, report_outage_msg_cb,
		    &o) == -1 || o.err)
			return -1;
		mf.state = RECORD_MS_SENT;
		if (store_list_messages(ctx->store, &mf, report_outage_msg_cb,
		    &o) == -1 || o.err)
			return -1;
		clock_format_utc(l.failing_since, since, sizeof(since));
		if (l.next_attempt != 0)
			clock_format_utc(l.next_attempt, next, sizeof(next));
		else
			snprintf(next, sizeof(next), "none planned");
		if (o.nearest != 0) {
			clock_format_utc(o.nearest, nd, sizeof(nd));
			cmd_left((long long)(o.nearest - al->now), left,
			    sizeof(left));
			snprintf(nd + strlen(nd), sizeof(nd) - strlen(nd),
			    " (%s, case %.20s)", left, o.nearest_case);
		} else
			snprintf(nd, sizeof(nd), "none armed");
		al->sev = o.urgent_case[0] != '\0' ? SEV_CRITICAL :
		    SEV_WARNING;
		al->due = o.urgent_due != 0 ? o.urgent_due : o.nearest;
		if (o.urgent_case[0] != '\0' && al->due == 0)
			al->due = al->now;	/* its time is running now */
		al->extra = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
		    "failing_since", since, "last_error", l.last_error,
		    "next_attempt", l.next_attempt != 0 ? next : "",
		    "nearest_deadline", nd, "waiting", o.waiting,
		    "nearest_case", o.nearest_case, "urgent_case",
		    o.urgent_case);
		report_alert(al, "outage", a->country, "delivery failing",
		    "%sfailing since %s (%d attempts), last error: %.100s; "
		    "next attempt %s; %d message(s) waiting; nearest deadline "
		    "%s%s%s", o.urgent_case[0] != '\0' ? "CRITICAL: " : "",
		    since, l.failures, l.last_error, next, o.waiting, nd,
		    o.urgent_case[0] != '\0' ? "; urgent case at risk: " : "",
		    o.urgent_case);
	}
	return 0;
}

/* The time-stamp authority failing: checkpoints go without trusted time
 * (tokens are asked again; a later one covers the records before it). */
static void
report_alert_tsa(struct report_ctx *ctx, struct report_alertset *al)
{
	struct report_tsa t;
	char since[32], next[32];

	if (ctx->tsa == NULL || ctx->tsa(&t) != 1 || t.failing_since == 0)
		return;
	clock_format_utc(t.failing_since, since, sizeof(since));
	if (t.next_attempt != 0)
		clock_format_utc(t.next_attempt, next, sizeof(next));
	else
		snprintf(next, sizeof(next), "none planned");
	al->extra = json_pack("{s:s, s:s, s:i, s:s, s:s, s:I}", "url", t.url,
	    "failing_since", since, "failures", t.failures, "last_error",
	    t.last_error, "next_attempt", t.next_attempt != 0 ? next : "",
	    "checkpoint_waiting", (json_int_t)t.waiting);
	report_alert(al, "timestamp", "", "time-stamp authority",
	    "time-stamp authority unreachable since %s (%d failures), last "
	    "error: %.100s; next attempt %s; checkpoint at record %llu "
	    "waits for its token", since, t.failures, t.last_error, next,
	    (unsigned long long)t.waiting);
}

json_t *
report_alerts(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct report_ctx *ctx = arg;
	const struct config *conf = report_conf(ctx);
	struct store *st = ctx->store;
	struct store_case_filter cf;
	struct store_message_filter mf;
	struct report_alertset al;
	json_t *res, *list;
	char *buf = NULL;
	size_t blen = 0;
	FILE *fp;
	int rc = 0, n;

	memset(&al, 0, sizeof(al));
	al.now = clock_now();
	al.sev = -1;
	if ((fp = open_memstream(&buf, &blen)) == NULL)
		return cmd_fail(code, text, len, "INTERNAL", "no memory");
	list = json_array();
	if (conf != NULL)
		rc |= report_alert_outages(ctx, &al, conf);
	report_alert_tsa(ctx, &al);

	/* first, what must not wait: non-refoulement */
	store_case_filter_init(&cf);
	cf.state = FSM_TRANSFER_SUSPENDED;
	rc |= store_list_cases(st, &cf, report_alert_protection_cb, &al);
	store_case_filter_init(&cf);
	cf.state = FSM_COMPLETED;
	cf.updated_since = al.now - ALERT_HANDOVER_CLAIM;
	rc |= store_list_cases(st, &cf, report_alert_protection_cb, &al);

	store_case_filter_init(&cf);
	cf.overdue_at = al.now;
	cf.overdue_states = 1;
	al.kind = "overdue";
	rc |= store_list_cases(st, &cf, report_alert_case_cb, &al);
	store_case_filter_init(&cf);
	cf.due_by = al.now + ALERT_DUE_SOON;
	al.kind = "due-soon";
	rc |= store_list_cases(st, &cf, report_alert_case_cb, &al);
	store_message_filter_init(&mf);
	mf.direction = RECORD_DIR_OUT;
	mf.state = RECORD_MS_UNDELIVERED;
	al.kind = "undelivered";
	rc |= store_list_messages(st, &mf, report_alert_msg_cb, &al);
	mf.state = RECORD_MS_DISPUTED;
	al.kind = "disputed";
	rc |= store_list_messages(st, &mf, report_alert_msg_cb, &al);
	if (rc != 0) {
		fclose(fp);
		free(buf);
		json_decref(list);
		report_alert_free(&al);
		return cmd_fail(code, text, len, "INTERNAL",
		    "store query failed");
	}
	if (conf != NULL)
		report_alert_certs(&al, conf);
	n = report_alert_emit(&al, list, fp);
	report_alert_free(&al);
	if (conf == NULL)
		fprintf(fp, "(certificates, calendars and outages not checked: "
		    "no configuration; give accordctl -c)\n");
	if (n == 0)
		fprintf(fp, "no alerts\n");
	res = json_pack("{s:o, s:i, s:b}", "alerts", list, "count", n,
	    "configuration_checked", conf != NULL);
	return cmd_text_result(res, fp, &buf, &blen);
}

/* ---- stats ------------------------------------------------------------- */

/*
 * Two kinds of figures.  Cases count in the month they opened and
 * messages in the month of their Created (the operator's view).  The
 * ministry's figures count events in the month they happened: a request
 * taking effect (ours receipted, or theirs received), the reply
 * (accepted or refused) or the silence (deemed), a return completed (the
 * handover) with the entry ban it applied, a voluntary departure
 * notified, departed or cancelled; each by our role (R: we asked the
 * partner to take the person, a removal from our territory; Q: the
 * partner asked us, a readmission of one of ours) and partner.  The
 * store keeps one row per event (persist/store_apply.c) and SQLite
 * counts them: nothing here lists a case.
 */
struct report_tally {
	json_t		*total;
	json_t		*months;
	const char	*since;		/* "2026-01" or NULL */
	const char	*partner;
};

/* The month's object, or NULL when before since. */
static json_t *
report_stats_month(struct report_tally *s, const char *m)
{
	json_t *o;

	if (s->since != NULL && strcmp(m, s->since) < 0)
		return NULL;
	if ((o = json_object_get(s->months, m)) == NULL) {
		o = json_object();
		json_object_set_new(s->months, m, o);
	}
	return o;
}

static int
report_stats_case_cb(void *arg, const struct store_tally *t)
{
	struct report_tally *s = arg;
	json_t *m, *dst[2];
	int i;

	if ((m = report_stats_month(s, t->month)) == NULL)
		return 0;
	dst[0] = s->total;
	dst[1] = m;
	for (i = 0; i < 2; i++) {
		cmd_add(dst[i], t->n, "cases", "by_state", t->state, NULL);
		cmd_add(dst[i], t->n, "cases", "by_partner", t->partner,
		    t->state, NULL);
		cmd_add(dst[i], t->n, "cases", "total", NULL);
	}
	return 0;
}

static int
report_stats_msg_cb(void *arg, const struct store_tally *t)
{
	struct report_tally *s = arg;
	const char *code = t->code;
	json_t *m, *dst[2];
	int i;

	if ((m = report_stats_month(s, t->month)) == NULL)
		return 0;
	if (code[0] == '\0')
		code = strcmp(t->direction, "out") == 0 ? "partner-error" :
		    "unknown";
	dst[0] = s->total;
	dst[1] = m;
	for (i = 0; i < 2; i++) {
		cmd_add(dst[i], t->n, "messages", t->direction, NULL);
		cmd_add(dst[i], t->n, "messages", "by_state", t->direction,
		    t->state, NULL);
		if (strcmp(t->state, record_msg_state_name(
		    RECORD_MS_REJECTED)) == 0)
			cmd_add(dst[i], t->n, "rejections", t->direction, code,
			    NULL);
	}
	return 0;
}

/* events.ROLE.CC.KIND.WHAT; a readmission completed is a return, with
 * or without the entry ban, and the ban's years. */
static int
report_stats_event_cb(void *arg, const struct store_tally *t)
{
	struct report_tally *s = arg;
	json_t *m, *dst[2];
	char years[16];
	int i;

	if ((m = report_stats_month(s, t->month)) == NULL)
		return 0;
	dst[0] = s->total;
	dst[1] = m;
	snprintf(years, sizeof(years), "%d", t->ban);
	for (i = 0; i < 2; i++) {
		cmd_add(dst[i], t->n, "events", t->role, t->partner, t->kind,
		    t->what, NULL);
		if (strcmp(t->kind, fsm_kind_name(FSM_KIND_READMISSION)) !=
		    0 || strcmp(t->what, "completed") != 0)
			continue;
		cmd_add(dst[i], t->n, "returns", t->role, t->partner,
		    t->ban > 0 ? "with_ban" : "without_ban", NULL);
		if (t->ban > 0)
			cmd_add(dst[i], t->n, "returns", t->role, t->partner,
			    "ban_years", years, NULL);
	}
	return 0;
}

static int
report_stats_ground_cb(void *arg, const struct store_tally *t)
{
	struct report_tally *s = arg;
	json_t *m;

	if ((m = report_stats_month(s, t->month)) == NULL)
		return 0;
	cmd_add(s->total, t->n, "refusals_by_ground", t->role, t->partner,
	    t->kind, t->ground, NULL);
	cmd_add(m, t->n, "refusals_by_ground", t->role, t->partner, t->kind,
	    t->ground, NULL);
	return 0;
}

/* Overdue is a state, now: in the total only, whatever since says. */
static int
report_stats_overdue_cb(void *arg, const struct store_tally *t)
{
	struct report_tally *s = arg;

	cmd_add(s->total, t->n, "overdue", t->role, t->partner, t->kind,
	    NULL);
	return 0;
}

static long long
report_get(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return (long long)json_integer_value(v);
}

static long long
report_sum(json_t *o)
{
	const char *k;
	json_t *v;
	long long n = 0;

	json_object_foreach(o, k, v)
		n += json_is_object(v) ? report_sum(v) :
		    (long long)json_integer_value(v);
	return n;
}

/* A two-level object {a: {b: n}} as lines "  a b n". */
static void
report_print2(FILE *fp, json_t *o, const char *w1)
{
	const char **k1, **k2;
	size_t n1, n2, i, j;
	json_t *inner;

	if ((k1 = cmd_keys(o, &n1)) == NULL)
		return;
	for (i = 0; i < n1; i++) {
		inner = json_object_get(o, k1[i]);
		if (!json_is_object(inner)) {
			fprintf(fp, "  %-*s %6lld\n", (int)strlen(w1) + 21,
			    k1[i], (long long)json_integer_value(inner));
			continue;
		}
		if ((k2 = cmd_keys(inner, &n2)) == NULL)
			continue;
		for (j = 0; j < n2; j++)
			fprintf(fp, "  %-*s %-20s %6lld\n", (int)strlen(w1),
			    k1[i], k2[j], (long long)json_integer_value(
			    json_object_get(inner, k2[j])));
		free(k2);
	}
	free(k1);
}

/* The sum of what over every partner and role of one kind in an
 * events object. */
static long long
report_events_sum(json_t *events, const char *kind, const char *what)
{
	const char *role, *cc;
	json_t *r, *p;
	long long n = 0;

	json_object_foreach(events, role, r)
		json_object_foreach(r, cc, p)
			n += report_get(json_object_get(p, kind), what, NULL);
	return n;
}

/* returns.ROLE.CC.key summed over roles and partners. */
static long long
report_returns_sum(json_t *t, const char *key)
{
	const char *role, *cc;
	json_t *r, *p;
	long long n = 0;

	json_object_foreach(json_object_get(t, "returns"), role, r)
		json_object_foreach(r, cc, p)
			n += report_get(p, key, NULL);
	return n;
}

/* Calls fn for each (role, partner, kind) of a three-level object, in
 * sorted order. */
static void
report_walk3(json_t *o, void (*fn)(void *, const char *, const char *,
    const char *, json_t *), void *arg)
{
	const char **k1, **k2, **k3;
	size_t n1, n2, n3, i, j, l;
	json_t *v1, *v2;

	if ((k1 = cmd_keys(o, &n1)) == NULL)
		return;
	for (i = 0; i < n1; i++) {
		v1 = json_object_get(o, k1[i]);
		if ((k2 = cmd_keys(v1, &n2)) == NULL)
			continue;
		for (j = 0; j < n2; j++) {
			v2 = json_object_get(v1, k2[j]);
			if ((k3 = cmd_keys(v2, &n3)) == NULL)
				continue;
			for (l = 0; l < n3; l++)
				fn(arg, k1[i], k2[j], k3[l],
				    json_object_get(v2, k3[l]));
			free(k3);
		}
		free(k2);
	}
	free(k1);
}

/* One line of the events tables. */
struct report_line {
	FILE		*fp;
	const char	*month;		/* "2026-11", or "total" */
	json_t		*returns;	/* returns.ROLE.CC of the same span */
	int		 voluntary;	/* the voluntary-departure table */
};

static void
report_event_line(void *arg, const char *role, const char *cc,
    const char *kind, json_t *o)
{
	struct report_line *l = arg;
	json_t *ret;

	if ((strcmp(kind, fsm_kind_name(FSM_KIND_VOLUNTARY)) == 0) !=
	    l->voluntary)
		return;
	if (l->voluntary) {
		fprintf(l->fp, "  %-7s %-3s %-3s %8lld %8lld %9lld\n",
		    l->month, role, cc, report_get(o, "notified", NULL),
		    report_get(o, "departed", NULL),
		    report_get(o, "cancelled", NULL));
		return;
	}
	ret = json_object_get(json_object_get(l->returns, role), cc);
	if (strcmp(kind, fsm_kind_name(FSM_KIND_READMISSION)) != 0)
		ret = NULL;
	fprintf(l->fp, "  %-7s %-3s %-3s %-11s %8lld %8lld %6lld %7lld "
	    "%7lld %7lld %9lld %8lld %9lld %9lld\n", l->month, role, cc,
	    kind, report_get(o, "request", NULL),
	    report_get(o, "accepted", NULL), report_get(o, "deemed", NULL),
	    report_get(o, "refused", NULL), report_get(o, "expired", NULL),
	    report_get(o, "transfer-overdue", NULL),
	    report_get(o, "completed", NULL),
	    report_get(ret, "with_ban", NULL),
	    report_get(ret, "without_ban", NULL),
	    report_get(o, "withdrawn", NULL));
}

/* The events of every month, then the total, as one table. */
static void
report_event_table(FILE *fp, struct report_tally *s, int voluntary)
{
	struct report_line l;
	const char **months;
	size_t nm, i;
	json_t *m;

	l.fp = fp;
	l.voluntary = voluntary;
	if ((months = cmd_keys(s->months, &nm)) != NULL) {
		for (i = 0; i < nm; i++) {
			m = json_object_get(s->months, months[i]);
			l.month = months[i];
			l.returns = json_object_get(m, "returns");
			report_walk3(json_object_get(m, "events"),
			    report_event_line, &l);
		}
		free(months);
	}
	l.month = "total";
	l.returns = json_object_get(s->total, "returns");
	report_walk3(json_object_get(s->total, "events"), report_event_line,
	    &l);
}

/* A refusal ground line, or an overdue one. */
static void
report_ground_line(void *arg, const char *role, const char *cc,
    const char *kind, json_t *o)
{
	FILE *fp = arg;
	const char **k;
	size_t n, i;

	if (!json_is_object(o)) {
		fprintf(fp, "  %-3s %-3s %-11s %6lld\n", role, cc, kind,
		    (long long)json_integer_value(o));
		return;
	}
	if ((k = cmd_keys(o, &n)) == NULL)
		return;
	for (i = 0; i < n; i++)
		fprintf(fp, "  %-3s %-3s %-11s %-30s %6lld\n", role, cc, kind,
		    k[i], report_get(o, k[i], NULL));
	free(k);
}

/* A return's entry ban, by years, per role and partner. */
static void
report_ban_lines(FILE *fp, json_t *returns)
{
	const char **k1, **k2, **k3;
	size_t n1, n2, n3, i, j, l;
	json_t *r, *p, *y;

	if ((k1 = cmd_keys(returns, &n1)) == NULL)
		return;
	for (i = 0; i < n1; i++) {
		r = json_object_get(returns, k1[i]);
		if ((k2 = cmd_keys(r, &n2)) == NULL)
			continue;
		for (j = 0; j < n2; j++) {
			p = json_object_get(r, k2[j]);
			y = json_object_get(p, "ban_years");
			fprintf(fp, "  %-3s %-3s with a ban %6lld, without "
			    "%6lld\n", k1[i], k2[j],
			    report_get(p, "with_ban", NULL),
			    report_get(p, "without_ban", NULL));
			if ((k3 = cmd_keys(y, &n3)) == NULL)
				continue;
			for (l = 0; l < n3; l++)
				fprintf(fp, "  %-3s %-3s   ban of %s years "
				    "%6lld\n", k1[i], k2[j], k3[l],
				    report_get(y, k3[l], NULL));
			free(k3);
		}
		free(k2);
	}
	free(k1);
}

/* ---- stats --csv: one row per figure, for a spreadsheet -------------- */

/* A CSV field: quoted (RFC 4180) when it holds a comma, a quote or a
 * line break. */
static void
report_csv_field(FILE *fp, const char *v)
{
	const char *p;

	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, fp);
		return;
	}
	fputc('"', fp);
	for (p = v; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', fp);
		fputc(*p, fp);
	}
	fputc('"', fp);
}

struct report_csv {
	FILE		*fp;
	const char	*section;
	const char	*month;		/* "" for overdue (now) */
};

static void
report_csv_row(struct report_csv *c, const char *role, const char *cc,
    const char *kind, const char *item, const char *detail, long long n)
{
	const char *f[7];
	int i;

	f[0] = c->section;
	f[1] = c->month;
	f[2] = role;
	f[3] = cc;
	f[4] = kind;
	f[5] = item;
	f[6] = detail;
	for (i = 0; i < 7; i++) {
		report_csv_field(c->fp, f[i]);
		fputc(',', c->fp);
	}
	fprintf(c->fp, "%lld\r\n", n);
}

/* Every leaf under o as rows: o is KIND-level ({WHAT: n} or
 * {GROUND: n}) or a count. */
static void
report_csv_leaf(void *arg, const char *role, const char *cc,
    const char *kind, json_t *o)
{
	struct report_csv *c = arg;
	const char **k;
	size_t n, i;

	if (!json_is_object(o)) {
		report_csv_row(c, role, cc, kind, c->section, "",
		    (long long)json_integer_value(o));
		return;
	}
	if ((k = cmd_keys(o, &n)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (strcmp(c->section, "refusals_by_ground") == 0)
			report_csv_row(c, role, cc, kind, "refused", k[i],
			    report_get(o, k[i], NULL));
		else
			report_csv_row(c, role, cc, kind, k[i], "",
			    report_get(o, k[i], NULL));
	}
	free(k);
}

/* returns.ROLE.CC: {with_ban, without_ban, ban_years: {Y: n}}. */
static void
report_csv_returns(struct report_csv *c, json_t *returns)
{
	const char **k1, **k2, **k3;
	const char *rk = fsm_kind_name(FSM_KIND_READMISSION);
	size_t n1, n2, n3, i, j, l;
	json_t *p, *y;

	if ((k1 = cmd_keys(returns, &n1)) == NULL)
		return;
	for (i = 0; i < n1; i++) {
		if ((k2 = cmd_keys(json_object_get(returns, k1[i]),
		    &n2)) == NULL)
			continue;
		for (j = 0; j < n2; j++) {
			p = json_object_get(json_object_get(returns, k1[i]),
			    k2[j]);
			report_csv_row(c, k1[i], k2[j], rk, "with_ban", "",
			    report_get(p, "with_ban", NULL));
			report_csv_row(c, k1[i], k2[j], rk, "without_ban", "",
			    report_get(p, "without_ban", NULL));
			y = json_object_get(p, "ban_years");
			if ((k3 = cmd_keys(y, &n3)) == NULL)
				continue;
			for (l = 0; l < n3; l++)
				report_csv_row(c, k1[i], k2[j], rk,
				    "ban_years", k3[l], report_get(y, k3[l],
				    NULL));
			free(k3);
		}
		free(k2);
	}
	free(k1);
}

/* Months in order; in each, events, returns, refusals by ground; then
 * the cases overdue now.  No totals: a spreadsheet sums. */
static void
report_stats_csv(FILE *fp, struct report_tally *s)
{
	struct report_csv c;
	const char **months;
	size_t nm, i;
	json_t *m;

	c.fp = fp;
	fputs("section,month,role,partner,kind,item,detail,count\r\n", fp);
	if ((months = cmd_keys(s->months, &nm)) != NULL) {
		for (i = 0; i < nm; i++) {
			m = json_object_get(s->months, months[i]);
			c.month = months[i];
			c.section = "events";
			report_walk3(json_object_get(m, "events"),
			    report_csv_leaf, &c);
			c.section = "returns";
			report_csv_returns(&c, json_object_get(m,
			    "returns"));
			c.section = "refusals_by_ground";
			report_walk3(json_object_get(m,
			    "refusals_by_ground"), report_csv_leaf, &c);
		}
		free(months);
	}
	c.month = "";
	c.section = "overdue";
	report_walk3(json_object_get(s->total, "overdue"), report_csv_leaf,
	    &c);
}

/* The operator's and the ministry's figures as aligned text. */
static void
report_stats_text(FILE *fp, struct report_tally *s)
{
	const char **months;
	size_t nm, i;
	json_t *m, *t = s->total, *ev = json_object_get(t, "events");
	const char *ra = fsm_kind_name(FSM_KIND_READMISSION);
	const char *vd = fsm_kind_name(FSM_KIND_VOLUNTARY);

	fprintf(fp, "cases: %lld\n", report_get(t, "cases", "total"));
	report_print2(fp, json_object_get(json_object_get(t, "cases"),
	    "by_partner"), "CC");
	fprintf(fp, "messages: in %lld, out %lld\n",
	    report_get(t, "messages", "in"), report_get(t, "messages", "out"));
	report_print2(fp, json_object_get(json_object_get(t, "messages"),
	    "by_state"), "out");
	fprintf(fp, "rejections by code: %lld\n",
	    report_sum(json_object_get(t, "rejections")));
	report_print2(fp, json_object_get(t, "rejections"), "out");
	fprintf(fp, "per month (cases by opening, messages by Created):\n");
	fprintf(fp, "  %-7s %6s %6s %6s %9s\n", "MONTH", "CASES", "IN",
	    "OUT", "REJECTED");
	if ((months = cmd_keys(s->months, &nm)) != NULL) {
		for (i = 0; i < nm; i++) {
			m = json_object_get(s->months, months[i]);
			if (report_get(m, "cases", "total") == 0 &&
			    report_sum(json_object_get(m, "messages")) == 0)
				continue;
			fprintf(fp, "  %-7s %6lld %6lld %6lld %9lld\n",
			    months[i], report_get(m, "cases", "total"),
			    report_get(m, "messages", "in"),
			    report_get(m, "messages", "out"),
			    report_sum(json_object_get(m, "rejections")));
		}
		free(months);
	}

	fprintf(fp, "events by the month they happened (R: we asked the "
	    "partner, a removal; Q: the partner asked us, a readmission of "
	    "ours):\n");
	fprintf(fp, "  %-7s %-3s %-3s %-11s %8s %8s %6s %7s %7s %7s %9s "
	    "%8s %9s %9s\n", "MONTH", "DIR", "CC", "KIND", "REQUESTS",
	    "ACCEPTED", "DEEMED", "REFUSED", "EXPIRED", "OVERDUE",
	    "COMPLETED", "WITH_BAN", "NO_BAN", "WITHDRAWN");
	report_event_table(fp, s, 0);
	fprintf(fp, "returns completed (readmission handovers): %lld with "
	    "an entry ban, %lld without\n", report_returns_sum(t,
	    "with_ban"), report_returns_sum(t, "without_ban"));
	report_ban_lines(fp, json_object_get(t, "returns"));
	fprintf(fp, "refusals by ground: %lld refusals (one counts under "
	    "each ground it states)\n", report_events_sum(ev, ra,
	    "refused") + report_events_sum(ev,
	    fsm_kind_name(FSM_KIND_TRANSIT), "refused"));
	report_walk3(json_object_get(t, "refusals_by_ground"),
	    report_ground_line, fp);
	fprintf(fp, "voluntary departures: %lld notified, %lld departed, "
	    "%lld cancelled\n", report_events_sum(ev, vd, "notified"),
	    report_events_sum(ev, vd, "departed"),
	    report_events_sum(ev, vd, "cancelled"));
	fprintf(fp, "  %-7s %-3s %-3s %8s %8s %9s\n", "MONTH", "DIR", "CC",
	    "NOTIFIED", "DEPARTED", "CANCELLED");
	report_event_table(fp, s, 1);
	fprintf(fp, "overdue now (as list --overdue): %lld\n",
	    report_sum(json_object_get(t, "overdue")));
	report_walk3(json_object_get(t, "overdue"), report_ground_line, fp);
}

json_t *
report_stats(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct report_ctx *ctx = arg;
	struct store *st = ctx->store;
	struct report_tally s;
	json_t *res;
	char *buf = NULL;
	size_t blen = 0;
	FILE *fp;

	memset(&s, 0, sizeof(s));
	s.since = cmd_opt(args, "since");
	s.partner = cmd_opt(args, "partner");
	if (s.since != NULL && (strlen(s.since) != 7 || s.since[4] != '-' ||
	    strspn(s.since, "0123456789-") != 7))
		return cmd_fail(code, text, len, "BAD_REQUEST", "since: "
		    "'%.20s' is not a month (2026-01)", s.since);
	if (cmd_arg(args, 0) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "stats [partner=CC] [since=YYYY-MM] [--csv]");
	s.total = json_object();
	s.months = json_object();
	if (store_tally_cases(st, s.partner, report_stats_case_cb, &s) == -1 ||
	    store_tally_messages(st, s.partner, report_stats_msg_cb, &s) ==
	    -1 || store_tally_events(st, s.partner, report_stats_event_cb,
	    &s) == -1 || store_tally_grounds(st, s.partner,
	    report_stats_ground_cb, &s) == -1 || store_tally_overdue(st,
	    s.partner, clock_now(), report_stats_overdue_cb, &s) == -1) {
		json_decref(s.total);
		json_decref(s.months);
		return cmd_fail(code, text, len, "INTERNAL",
		    "store query failed");
	}
	if ((fp = open_memstream(&buf, &blen)) == NULL) {
		json_decref(s.total);
		json_decref(s.months);
		return cmd_fail(code, text, len, "INTERNAL", "no memory");
	}
	if (cmd_flag(args, "csv"))
		report_stats_csv(fp, &s);
	else
		report_stats_text(fp, &s);
	res = json_pack("{s:o, s:o}", "total", s.total, "months", s.months);
	return cmd_text_result(res, fp, &buf, &blen);
}

/* ---- the store's gauges (metrics) ---------------------------------------- */

/* One exposition line per gauge row: name{l1="k1",l2="k2"} n, or the bare
 * name for a one-row count. */
struct report_expo {
	FILE		*fp;
	const char	*name;
	const char	*l1;
	const char	*l2;
};

static int
report_expo_row(void *arg, const char *k1, const char *k2, long long n)
{
	struct report_expo *x = arg;

	if (x->l1 == NULL)
		fprintf(x->fp, "%s %lld\n", x->name, n);
	else
		fprintf(x->fp, "%s{%s=\"%s\",%s=\"%s\"} %lld\n", x->name,
		    x->l1, k1, x->l2, k2, n);
	return 0;
}

static int
report_expose(struct report_ctx *ctx, FILE *fp, enum store_gauge g,
    accord_time_t now, const char *name, const char *l1, const char *l2)
{
	struct report_expo x = { fp, name, l1, l2 };

	return store_gauge(ctx->store, g, now, report_expo_row, &x);
}

/* One certificate's seconds left. */
static void
report_metrics_cert(FILE *fp, const char *owner, const char *use,
    const char *sha256, accord_time_t not_after, accord_time_t now)
{
	static const char *const names[] = { "owner", "use", "sha256", NULL };

	metric_sample(fp, "accord_certificate_expiry_seconds", names,
	    (const char *[]){ owner, use, sha256 }, (double)(not_after - now));
}

/* Every certificate the configuration holds: ours (TLS server and
 * client, signing) and each partner's (signing, TLS CA). */
static void
report_metrics_certs(const struct config *conf, FILE *fp, accord_time_t now)
{
	const struct agreement *a;
	accord_time_t nb, na;
	char sha[65];
	int i, j;

	metric_head(fp, "accord_certificate_expiry_seconds", METRIC_GAUGE,
	    "Seconds until a certificate expires (negative: expired), by "
	    "owner (our country or the partner's), use and SHA-256.");
	if (conf->tls_not_after != 0)
		report_metrics_cert(fp, conf->country, "tls-server",
		    conf->tls_sha256, conf->tls_not_after, now);
	if (conf->tls_client_not_after != 0)
		report_metrics_cert(fp, conf->country, "tls-client",
		    conf->tls_client_sha256, conf->tls_client_not_after, now);
	if (conf->sign_x509 != NULL && conf_cert_times(conf->sign_x509, &nb,
	    &na) == 0)
		report_metrics_cert(fp, conf->country, "signing",
		    conf->sign_sha256, na, now);
	for (i = 0; i < conf->npartners; i++) {
		a = &conf->partners[i];
		for (j = 0; j < a->nsigning; j++)
			report_metrics_cert(fp, a->country, "signing",
			    a->signing[j].sha256, a->signing[j].not_after,
			    now);
		if (a->tls_ca != NULL && conf_cert_times(a->tls_ca, &nb,
		    &na) == 0) {
			conf_cert_sha256(a->tls_ca, sha);
			report_metrics_cert(fp, a->country, "tls-ca", sha, na,
			    now);
		}
	}
}

/* What the daemon's transport knows of each partner (memory only): up
 * or down, and the last contact (that or the store's, the later). */
static void
report_metrics_links(struct report_ctx *ctx, const struct config *conf,
    const struct store_queue *qs, const int *ok, FILE *fp)
{
	static const char *const names[] = { "partner", NULL };
	struct report_link l;
	accord_time_t last;
	int i;

	metric_head(fp, "accord_partner_up", METRIC_GAUGE, "1 when the "
	    "latest delivery to the partner (or probe) was answered, 0 while "
	    "deliveries fail; no sample until the daemon has tried since it "
	    "started.");
	for (i = 0; ctx->link != NULL && i < conf->npartners; i++)
		if (ctx->link(conf->partners[i].country, &l) == 1 &&
		    (l.failing_since != 0 || l.last_success_at != 0))
			metric_sample(fp, "accord_partner_up", names,
			    (const char *[]){ conf->partners[i].country },
			    l.failing_since == 0 ? 1 : 0);
	metric_head(fp, "accord_partner_last_contact_timestamp_seconds",
	    METRIC_GAUGE, "Unix time of the partner's latest sign of life: "
	    "a message of theirs, a receipt of ours, or an answered "
	    "delivery.");
	for (i = 0; i < conf->npartners; i++) {
		last = ok[i] ? qs[i].last_contact : 0;
		if (ctx->link != NULL && ctx->link(conf->partners[i].country,
		    &l) == 1 && l.last_success_at > last)
			last = l.last_success_at;
		if (last != 0)
			metric_sample(fp, "accord_partner_last_contact_"
			    "timestamp_seconds", names,
			    (const char *[]){ conf->partners[i].country },
			    (double)last);
	}
}

/* The outbox gauges (one queue query per partner feeds them), the
 * partners' links, and the certificates'. */
static void
report_metrics_partners(struct report_ctx *ctx, const struct config *conf,
    FILE *fp, accord_time_t now)
{
	static const char *const names[] = { "partner", NULL };
	struct store_queue *qs;
	const char *cc;
	int *ok, i;

	qs = xcalloc((size_t)conf->npartners + 1, sizeof(*qs));
	ok = xcalloc((size_t)conf->npartners + 1, sizeof(*ok));
	for (i = 0; i < conf->npartners; i++)
		ok[i] = store_partner_queue(ctx->store,
		    conf->partners[i].country, &qs[i]) == 0;
	metric_head(fp, "accord_outbox_depth", METRIC_GAUGE, "Messages "
	    "waiting for delivery, by partner.");
	for (i = 0; i < conf->npartners; i++)
		if (ok[i])
			metric_sample(fp, "accord_outbox_depth", names,
			    (const char *[]){ conf->partners[i].country },
			    qs[i].depth);
	metric_head(fp, "accord_outbox_oldest_age_seconds", METRIC_GAUGE,
	    "Seconds since the Created of the oldest message waiting for "
	    "delivery to the partner (0: none waits).");
	for (i = 0; i < conf->npartners; i++) {
		cc = conf->partners[i].country;
		if (ok[i])
			metric_sample(fp, "accord_outbox_oldest_age_seconds",
			    names, &cc, qs[i].oldest_queued == 0 ? 0 :
			    (double)(now - qs[i].oldest_queued));
	}
	metric_head(fp, "accord_partner_paused", METRIC_GAUGE, "1 when "
	    "delivery to the partner is paused.");
	for (i = 0; i < conf->npartners; i++)
		if (ok[i])
			metric_sample(fp, "accord_partner_paused", names,
			    (const char *[]){ conf->partners[i].country },
			    qs[i].paused);
	report_metrics_links(ctx, conf, qs, ok, fp);
	free(qs);
	free(ok);
	report_metrics_certs(conf, fp, now);
}

/* The journal's files (archive/ too) and the room left on their disk. */
static void
report_metrics_journal(struct report_ctx *ctx, FILE *fp, accord_time_t now)
{
	struct journal_space sp;

	if (ctx->journal_dir == NULL ||
	    journal_space(ctx->journal_dir, now, &sp) == -1)
		return;
	metric_head(fp, "accord_journal_size_bytes", METRIC_GAUGE, "Bytes "
	    "of every journal file, archive/ included.");
	metric_sample(fp, "accord_journal_size_bytes", NULL, NULL,
	    (double)sp.journal_bytes);
	metric_head(fp, "accord_journal_disk_free_bytes", METRIC_GAUGE,
	    "Bytes free for the daemon on the journal's disk.");
	metric_sample(fp, "accord_journal_disk_free_bytes", NULL, NULL,
	    (double)sp.free_bytes);
}

int
report_metrics(struct report_ctx *ctx, FILE *fp)
{
	const struct config *conf = report_conf(ctx);
	struct store_deadline dl;
	accord_time_t now = clock_now();

	/* first: the CPU by stage is read before this scrape's own queries
	 * (a few hundred ms with thousands of cases) add to it */
	stage_expose(fp);
	fprintf(fp, "# HELP accord_cases Cases by partner and state.\n"
	    "# TYPE accord_cases gauge\n");
	if (report_expose(ctx, fp, STORE_GAUGE_CASES, now, "accord_cases",
	    "partner", "state") == -1)
		return -1;
	fprintf(fp, "# HELP accord_messages Business messages by direction "
	    "and delivery state.\n# TYPE accord_messages gauge\n");
	if (report_expose(ctx, fp, STORE_GAUGE_MESSAGES, now,
	    "accord_messages", "direction", "state") == -1)
		return -1;
	fprintf(fp, "# HELP accord_cases_overdue Cases with a missed "
	    "deadline.\n# TYPE accord_cases_overdue gauge\n");
	if (report_expose(ctx, fp, STORE_GAUGE_OVERDUE, now,
	    "accord_cases_overdue", NULL, NULL) == -1)
		return -1;
	fprintf(fp, "# HELP accord_inbox_pending Received messages the back "
	    "office has not acknowledged.\n"
	    "# TYPE accord_inbox_pending gauge\n");
	if (report_expose(ctx, fp, STORE_GAUGE_INBOX, now,
	    "accord_inbox_pending", NULL, NULL) == -1)
		return -1;
	fprintf(fp, "# HELP accord_deadline_next_seconds Seconds until the "
	    "earliest armed deadline (negative: overdue).\n"
	    "# TYPE accord_deadline_next_seconds gauge\n");
	if (store_next_deadline(ctx->store, &dl) == 1)
		fprintf(fp, "accord_deadline_next_seconds %lld\n",
		    (long long)(dl.due - now));
	/* a sequence number, not a count of events: a gauge (promtool
	 * wants a counter's name to end in _total) */
	fprintf(fp, "# HELP accord_journal_applied_seq The last journal "
	    "record applied to the store.\n"
	    "# TYPE accord_journal_applied_seq gauge\n"
	    "accord_journal_applied_seq %llu\n",
	    (unsigned long long)store_last_applied(ctx->store));
	report_metrics_journal(ctx, fp, now);
	if (conf != NULL)
		report_metrics_partners(ctx, conf, fp, now);
	if (ctx->more_metrics != NULL)
		ctx->more_metrics(ctx->more_arg, fp);
	/* the counters and histograms of the engine and the faces */
	metric_expose(fp);
	return 0;
}

json_t *
report_metrics_cmd(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct report_ctx *ctx = arg;
	char *buf = NULL;
	size_t blen = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &blen)) == NULL)
		return cmd_fail(code, text, len, "INTERNAL", "no memory");
	if (report_metrics(ctx, fp) == -1) {
		fclose(fp);
		free(buf);
		return cmd_fail(code, text, len, "INTERNAL",
		    "store query failed");
	}
	return cmd_text_result(json_object(), fp, &buf, &blen);
}

/* ---- lookups for the daemon's commands ----------------------------------- */

int
report_message_find(struct report_ctx *ctx, const char *partner,
    const char *message_id, enum record_dir dir, struct store_message *out)
{
	return store_message_find(ctx->store, partner, message_id, dir, out);
}

int
report_inbox_get(struct report_ctx *ctx, const char *partner,
    const char *message_id, int *acked)
{
	return store_inbox_get(ctx->store, partner, message_id, acked);
}

int
report_inbox(struct report_ctx *ctx, const char *partner, uint64_t after,
    int limit, int (*cb)(void *, const struct store_inbox *), void *arg)
{
	return store_inbox_page(ctx->store, partner, after, limit, cb, arg);
}

int
report_which_partner(struct report_ctx *ctx, const char *message_id,
    int inbox, char *partner)
{
	char found[2][RECORD_PARTNER_MAX];
	int n = store_which_partner(ctx->store, message_id, inbox, found);

	if (n >= 1)
		snprintf(partner, RECORD_PARTNER_MAX, "%s", found[0]);
	return n;
}

/* ---- the table ------------------------------------------------------------ */

const struct cmd_command report_commands[] = {
	{ "status", CMD_ROLE_READ, report_status,
	    "a case: state, deadlines, messages", CMD_WORKER,
	    "CASE [partner=CC]" },
	{ "list", CMD_ROLE_READ, report_list,
	    "cases, the next deadline first, with the time left",
	    CMD_WORKER, "[state=S] [partner=CC] [--overdue] [due-within=2d] "
	    "[updated-since=T] [limit=N] [after=DUE/CC/CASE]" },
	{ "timeline", CMD_ROLE_READ, report_timeline,
	    "a case's messages, decisions, deadlines in order", CMD_WORKER,
	    "CASE [partner=CC] [after=SEQ] [limit=N]" },
	{ "queues", CMD_ROLE_READ, report_queues,
	    "outbox depth, oldest, stuck, last contact", CMD_WORKER,
	    "[partner=CC]" },
	{ "alerts", CMD_ROLE_READ, report_alerts,
	    "overdue, due within 24 h, stuck messages, certificates, "
	    "calendars", CMD_WORKER, "" },
	{ "stats", CMD_ROLE_READ, report_stats,
	    "cases, messages, rejections; requests, replies, returns (entry "
	    "bans), refusal grounds, voluntary departures by month, role and "
	    "partner; overdue; --csv: one row per figure", CMD_WORKER,
	    "[partner=CC] [since=YYYY-MM] [--csv]" },
	{ "metrics", CMD_ROLE_READ, report_metrics_cmd,
	    "Prometheus text exposition", CMD_WORKER, "" },
	{ NULL, 0, NULL, NULL, 0, NULL }
};
