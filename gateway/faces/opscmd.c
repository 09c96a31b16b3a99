/*
 * opscmd.c -- inbox, ack, resend, pause/resume, metrics, monitor: the
 * operations commands of the daemon (queues, alerts and stats are
 * report/'s, read-only).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "conf/calendar.h"
#include "faces/casecmd.h"
#include "util/clock.h"
#include "conf/conffile.h"
#include "engine/engine.h"
#include "util/log.h"
#include "msg/pdmask.h"
#include "faces/opscmd.h"
#include "persist/record.h"
#include "report/report.h"
#include "util/xmalloc.h"
#include "msg/parser.h"
#include "accord-build.h"


/* May the caller see personal data?  The admin role (accordctl
 * --offline serves no document at all). */
static int
opscmd_may_reveal(const struct cmd_caller *who)
{
	return (who->roles & CMD_ROLE_ADMIN) != 0;
}

/* ---- personal data --------------------------------------------------- */

char *
opscmd_document(const char *bytes, size_t len, int reveal)
{
	xmlDocPtr doc = NULL, out = NULL;
	xmlNodePtr n, body = NULL;
	xmlBufferPtr xb = NULL;
	char *s = NULL;
	int blen;

	if (parser_forbidden()) {	/* a parser process does it */
		log_errx("opscmd", "this process must not read partner XML");
#ifdef ACCORD_TEST_CLOCK
		abort();
#endif
		return NULL;
	}
	/* our own journalled bytes, verified when they came: still no
	 * network, no DTD, no entities */
	doc = xmlReadMemory(bytes, (int)len, "message.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || (n = xmlDocGetRootElement(doc)) == NULL)
		goto done;
	for (n = n->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, BAD_CAST "Body") == 0)
			break;
	if (n == NULL)
		goto done;
	for (body = n->children; body != NULL &&
	    body->type != XML_ELEMENT_NODE; body = body->next)
		;
	if (body == NULL)
		goto done;
	if ((out = xmlNewDoc(BAD_CAST "1.0")) == NULL)
		goto done;
	xmlDocSetRootElement(out, xmlDocCopyNode(body, out, 1));
	/* by allowlist: what the schemas do not mark pd:data="none" */
	if (!reveal && pdmask_doc(out) == -1)
		goto done;
	/* the element alone: no XML declaration in front of it */
	if ((xb = xmlBufferCreate()) == NULL)
		goto done;
	if ((blen = xmlNodeDump(xb, out, xmlDocGetRootElement(out), 0, 0)) >=
	    0 && (s = malloc((size_t)blen + 1)) != NULL) {
		memcpy(s, xmlBufferContent(xb), (size_t)blen);
		s[blen] = '\0';
	}
done:
	if (xb != NULL)
		xmlBufferFree(xb);
	if (out != NULL)
		xmlFreeDoc(out);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return s;
}

/* A stored partner message's body for an operator: read by the parser
 * process when there is one, else here.  NULL when unreadable. */
static char *
opscmd_view(struct engine *e, const char *bytes, size_t len, int reveal)
{
	struct parser_client *pc = engine_parser(e);
	char *doc;

	if (pc == NULL)
		return opscmd_document(bytes, len, reveal);
	if (parser_client_view(pc, bytes, len, reveal, &doc) == -1)
		return NULL;
	return doc;
}

/* ---- streams ----------------------------------------------------------- */

/* A record as a monitor event: what it is about, in one line. */
static json_t *
opscmd_event(enum journal_kind kind, uint64_t seq, accord_time_t time,
    const char *payload, size_t len)
{
	struct record_message rm;
	struct record_decision rd;
	struct record_deadline rdl;
	struct record_msgstate ms;
	struct record_ack ack;
	struct record_pause rp;
	struct record_counted rc;
	struct record_void rv;
	const char *partner = "", *case_id = "", *msg = "";
	char line[320], desc[200], tb[32], *t = NULL;
	json_t *obj = NULL, *ev;

	line[0] = '\0';
	switch (kind) {
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		if (record_message_decode(payload, len, &rm) == -1)
			break;
		partner = rm.partner;
		case_id = rm.case_id;
		msg = rm.message_id;
		snprintf(line, sizeof(line), "%s %s %s %s%s%s",
		    agreement_msg_type_name(rm.type), rm.message_id,
		    kind == JOURNAL_MESSAGE_RECEIVED ? "received from" :
		    kind == JOURNAL_MESSAGE_SENT ? "queued for" :
		    kind == JOURNAL_RECEIPT_GIVEN ? "answered by us to" :
		    "answered by", rm.partner, rm.ref_to[0] ? " re " : "",
		    rm.ref_to);
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		if (record_decision_decode(payload, len, &rd) == -1)
			break;
		partner = rd.partner;
		case_id = rd.case_id;
		msg = rd.message_id;
		if (kind == JOURNAL_REFUSAL)
			snprintf(line, sizeof(line), "refused %s: %s: %s",
			    rd.message_id, errcode_name(rd.d.refusal),
			    rd.d.text);
		else
			snprintf(line, sizeof(line), "%s",
			    fsm_describe(&rd.d, desc, sizeof(desc)));
		break;
	case JOURNAL_DEADLINE_FIRED:
		if (record_deadline_decode(payload, len, &rdl) == -1)
			break;
		partner = rdl.partner;
		case_id = rdl.case_id;
		snprintf(line, sizeof(line), "%s deadline due %s fired",
		    fsm_deadline_name(rdl.which),
		    clock_format_utc(rdl.due, tb, sizeof(tb)));
		break;
	case JOURNAL_MESSAGE_STATE:
		if (record_msgstate_decode(payload, len, &ms) == -1)
			break;
		partner = ms.partner;
		msg = ms.message_id;
		snprintf(line, sizeof(line), "%s %s%s%s", ms.message_id,
		    record_msg_state_name(ms.state), ms.reason[0] ? ": " : "",
		    ms.reason);
		break;
	case JOURNAL_INBOX_ACK:
		if (record_ack_decode(payload, len, &ack) == -1)
			break;
		partner = ack.partner;
		msg = ack.message_id;
		snprintf(line, sizeof(line), "%s acknowledged by the back "
		    "office", ack.message_id);
		break;
	case JOURNAL_PARTNER_PAUSE:
		if (record_pause_decode(payload, len, &rp) == -1)
			break;
		partner = rp.partner;
		snprintf(line, sizeof(line), "delivery to %s %s", rp.partner,
		    rp.paused ? "paused" : "resumed");
		break;
	case JOURNAL_OPERATOR_COMMAND:
		obj = json_loadb(payload, len, 0, NULL);
		snprintf(line, sizeof(line), "uid %lld: %s",
		    (long long)json_integer_value(json_object_get(obj, "uid")),
		    json_string_value(json_object_get(obj, "command")) != NULL ?
		    json_string_value(json_object_get(obj, "command")) : "?");
		if (json_is_string(json_object_get(obj, "partner")))
			partner = json_string_value(json_object_get(obj,
			    "partner"));
		if (json_is_string(json_object_get(obj, "case")))
			case_id = json_string_value(json_object_get(obj,
			    "case"));
		break;
	case JOURNAL_CONFIG_LOAD:
		snprintf(line, sizeof(line), "configuration loaded");
		break;
	case JOURNAL_REFUSALS_COUNTED:
		if (record_counted_decode(payload, len, &rc) == -1)
			break;
		partner = rc.partner;
		snprintf(line, sizeof(line), "%d refused messages from %s "
		    "counted, not journalled one by one (over %d a minute)",
		    rc.refused, rc.partner, rc.per_minute);
		break;
	case JOURNAL_SIGNATURE_VOID:
		if (record_void_decode(payload, len, &rv) == -1)
			break;
		partner = rv.partner;
		msg = rv.message_id;
		snprintf(line, sizeof(line), "signature given up: %s %s (%s)",
		    agreement_msg_type_name(rv.type), rv.message_id,
		    rv.reason);
		break;
	default:
		snprintf(line, sizeof(line), "%s", journal_kind_name(kind));
		break;
	}
	clock_format_utc(time, tb, sizeof(tb));
	ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "seq",
	    (json_int_t)seq, "time", tb, "record", journal_kind_name(kind),
	    "partner", partner, "case", case_id, "message", msg, "text", line);
	if (ev != NULL && asprintf(&t, "%s  #%-6llu %-16s %s", tb,
	    (unsigned long long)seq, journal_kind_name(kind), line) != -1) {
		json_object_set_new(ev, "line", json_string(t));
		free(t);
	}
	json_decref(obj);	/* partner and case_id may point into it */
	return ev;
}

/* A received business message that made it into the inbox. */
static void
opscmd_publish_inbox(struct casecmd_ctx *ctx, accord_time_t time,
    const char *payload, size_t len)
{
	struct record_message rm;
	json_t *ev;
	char tb[32], line[256];
	int acked;

	if (record_message_decode(payload, len, &rm) == -1 ||
	    rm.type == MSG_RECEIPT || rm.type == MSG_ERROR)
		return;
	/* refused in the same batch: never in the inbox */
	if (report_inbox_get(ctx->report, rm.partner, rm.message_id,
	    &acked) != 1 || acked)
		return;
	clock_format_utc(time, tb, sizeof(tb));
	snprintf(line, sizeof(line), "%-2s %-32s %-24s %s  %s", rm.partner,
	    rm.case_id, agreement_msg_type_name(rm.type), rm.message_id, tb);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "partner",
	    rm.partner, "case", rm.case_id, "type",
	    agreement_msg_type_name(rm.type), "message_id", rm.message_id,
	    "received", tb, "line", line);
	control_publish(ctx->control, OPSCMD_TOPIC_INBOX, ev);
	json_decref(ev);
}

/* The engine's observer: every committed record. */
static void
opscmd_observe(void *arg, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const char *payload, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	json_t *ev;

	if (ctx->control == NULL)
		return;
	if (kind == JOURNAL_MESSAGE_RECEIVED &&
	    control_subscribers(ctx->control, OPSCMD_TOPIC_INBOX) > 0)
		opscmd_publish_inbox(ctx, time, payload, len);
	if (control_subscribers(ctx->control, OPSCMD_TOPIC_MONITOR) > 0 &&
	    (ev = opscmd_event(kind, seq, time, payload, len)) != NULL) {
		control_publish(ctx->control, OPSCMD_TOPIC_MONITOR, ev);
		json_decref(ev);
	}
}

/* Make the caller's connection follow topic. */
static int
opscmd_follow(struct casecmd_ctx *ctx, const struct cmd_caller *who,
    const char *topic)
{
	if (who->conn == NULL || ctx->engine == NULL)
		return -1;
	if (ctx->control == NULL) {
		ctx->control = who->ctl;
		engine_set_observer(ctx->engine, opscmd_observe, ctx);
	}
	return control_subscribe(who->conn, topic);
}

/* ---- inbox --------------------------------------------------------------- */

/*
 * inbox runs on the event loop (it reads documents through the engine and
 * its parser), so it answers a page at a time, each one indexed range
 * read: a page of INBOX_PAGE rows (INBOX_BODY_PAGE with the documents),
 * at most INBOX_PAGE_MAX (INBOX_BODY_PAGE_MAX).  A row costs about 10 us,
 * a document read, parsed and masked a few hundred (the parser's round
 * trip): a page stays inside the loop's 20 ms (DESIGN.md 3), however
 * many messages wait.
 */
#define INBOX_PAGE		200
#define INBOX_PAGE_MAX		1000
#define INBOX_BODY_PAGE		10
#define INBOX_BODY_PAGE_MAX	20

struct opscmd_inbox {
	struct casecmd_ctx		*ctx;
	const struct cmd_caller	*who;
	const char			*partner;
	json_t				*list;
	FILE				*fp;
	int				 body;
	int				 reveal;
	int				 failed;
	int				 n;
	uint64_t			 last;	/* the page's last seq */
};

static int
opscmd_inbox_cb(void *arg, const struct store_inbox *in)
{
	struct opscmd_inbox *ib = arg;
	struct store_message m;
	json_t *o;
	char tb[32], *bytes = NULL, *doc = NULL;
	size_t blen;

	if (ib->partner != NULL && strcmp(ib->partner, in->partner) != 0)
		return 0;
	if (report_message_find(ib->ctx->report, in->partner,
	    in->message_id, RECORD_DIR_IN, &m) != 1)
		m.created = 0;
	clock_format_utc(m.created, tb, sizeof(tb));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "partner",
	    in->partner, "message_id", in->message_id, "case", in->case_id,
	    "type", agreement_msg_type_name(in->type), "created", tb,
	    "journal_seq", (json_int_t)in->journal_seq);
	fprintf(ib->fp, "%-2s %-32s %-24s %-36s %s\n", in->partner,
	    in->case_id, agreement_msg_type_name(in->type), in->message_id,
	    tb);
	if (ib->body) {
		if (ib->reveal && engine_reveal_journal(ib->ctx->engine,
		    ib->who->uid, "inbox", in->partner, in->case_id,
		    in->message_id) == -1) {
			json_decref(o);
			ib->failed = 1;
			return 1;
		}
		if (engine_message_bytes(ib->ctx->engine, in->journal_seq,
		    &bytes, &blen) == 0)
			doc = opscmd_view(ib->ctx->engine, bytes, blen,
			    ib->reveal);
		json_object_set_new(o, "document", doc != NULL ?
		    json_string(doc) : json_null());
		json_object_set_new(o, "masked", json_boolean(!ib->reveal));
		fprintf(ib->fp, "%s\n", doc != NULL ? doc :
		    "  (document unreadable: see the daemon's log)");
		free(bytes);
		free(doc);
	}
	json_array_append_new(ib->list, o);
	ib->n++;
	ib->last = in->journal_seq;
	return 0;
}

json_t *
opscmd_inbox(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct opscmd_inbox ib;
	json_t *res;
	char *buf = NULL;
	size_t blen = 0;
	long long after, limit;
	int follow = cmd_flag(args, "follow"), full;

	memset(&ib, 0, sizeof(ib));
	ib.ctx = ctx;
	ib.who = who;
	ib.partner = cmd_opt(args, "partner");
	ib.reveal = cmd_flag(args, "reveal");
	ib.body = ib.reveal || cmd_flag(args, "body");
	if (cmd_arg(args, 0) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "inbox [partner=CC] [--body] [--reveal] [--follow] "
		    "[limit=N] [after=SEQ]");
	if (cmd_page(args, &after, &limit, ib.body ? INBOX_BODY_PAGE_MAX :
	    INBOX_PAGE_MAX, code, text, len) == -1)
		return NULL;
	if (limit == 0)
		limit = ib.body ? INBOX_BODY_PAGE : INBOX_PAGE;
	if (ib.reveal && !opscmd_may_reveal(who))
		return cmd_fail(code, text, len, "FORBIDDEN", "--reveal "
		    "needs the admin role; uid %u may see documents only "
		    "masked (--body)", (unsigned)who->uid);
	if (follow && opscmd_follow(ctx, who, OPSCMD_TOPIC_INBOX) == -1)
		return cmd_fail(code, text, len, "BAD_REQUEST", "cannot "
		    "follow the inbox on this connection");
	ib.list = json_array();
	if ((ib.fp = open_memstream(&buf, &blen)) == NULL) {
		json_decref(ib.list);
		return cmd_fail(code, text, len, "INTERNAL", "no memory");
	}
	fprintf(ib.fp, "%-2s %-32s %-24s %-36s %s\n", "CC", "CASE", "TYPE",
	    "MESSAGE", "CREATED (UTC)");
	if (report_inbox(ctx->report, ib.partner, (uint64_t)after, (int)limit,
	    opscmd_inbox_cb, &ib) == -1 || ib.failed) {
		fclose(ib.fp);
		free(buf);
		json_decref(ib.list);
		return cmd_fail(code, text, len, "INTERNAL", ib.failed ?
		    "the reveal could not be journalled: nothing shown" :
		    "store query failed");
	}
	/* a full page may have more after it */
	full = ib.n == limit;
	fprintf(ib.fp, "%d message%s not yet acknowledged%s%s\n", ib.n,
	    ib.n == 1 ? "" : "s", after > 0 ? " after this point" : "",
	    follow ? "; following new ones" : "");
	if (full)
		fprintf(ib.fp, "(more: add after=%llu)\n",
		    (unsigned long long)ib.last);
	res = json_pack("{s:o, s:i, s:b, s:b}", "messages", ib.list, "count",
	    ib.n, "following", follow, "masked", ib.body && !ib.reveal);
	if (full)
		json_object_set_new(res, "next_after",
		    json_integer((json_int_t)ib.last));
	return cmd_text_result(res, ib.fp, &buf, &blen);
}

/* ---- ack, resend, pause ------------------------------------------------ */

/* Which partner sent (inbox) or got message_id when the caller did not
 * say: the one that has it.  @return 0 with partner set, or -1 with code
 * and text. */
static int
opscmd_which(struct casecmd_ctx *ctx, const char *message_id, int inbox,
    char *partner, const char **code, char *text, size_t len)
{
	int n = report_which_partner(ctx->report, message_id, inbox, partner);

	if (n == -1)
		cmd_fail(code, text, len, "INTERNAL", "store query failed");
	else if (n == 0 && inbox)
		cmd_fail(code, text, len, "UNKNOWN_MESSAGE", "%.64s is not in "
		    "the inbox (add partner=CC to acknowledge it again)",
		    message_id);
	else if (n == 0)
		cmd_fail(code, text, len, "UNKNOWN_MESSAGE", "no message "
		    "%.64s of ours", message_id);
	else if (n > 1)
		cmd_fail(code, text, len, "AMBIGUOUS", "%.64s %s several "
		    "partners: add partner=CC", message_id, inbox ?
		    "came from" : "went to");
	return n == 1 ? 0 : -1;
}

/* ack and resend: MESSAGE-ID [partner=CC], then the engine's action. */
static json_t *
opscmd_on_message(struct casecmd_ctx *ctx, const struct cmd_caller *who,
    json_t *args, int ack, const char **code, char *text, size_t len)
{
	struct engine_answer a;
	const char *id = cmd_arg(args, 0), *partner = cmd_opt(args, "partner");
	char found[RECORD_PARTNER_MAX];
	json_t *res;
	int rc;

	if (id == NULL || cmd_arg(args, 1) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: %s "
		    "MESSAGE-ID [partner=CC]", ack ? "ack" : "resend");
	if (partner == NULL) {
		if (opscmd_which(ctx, id, ack, found, code, text, len) == -1)
			return NULL;
		partner = found;
	}
	rc = ack ? engine_inbox_ack(ctx->engine, who->uid, partner, id, &a) :
	    engine_resend(ctx->engine, who->uid, partner, id, &a);
	if (rc == -1)
		return cmd_fail(code, text, len, a.code == AE_INVALID_FIELD ?
		    "UNKNOWN_MESSAGE" : errcode_name(a.code), "%s", a.text);
	res = json_pack("{s:s, s:s, s:s, s:s}", "message_id", id, "partner",
	    partner, "case", a.case_id, "text", a.text);
	if (!ack)
		json_object_set_new(res, "state", json_string("QUEUED"));
	return res;
}

json_t *
opscmd_ack(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	return opscmd_on_message(arg, who, args, 1, code, text, len);
}

json_t *
opscmd_resend(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	return opscmd_on_message(arg, who, args, 0, code, text, len);
}

json_t *
opscmd_pause(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct engine_answer a;
	const char *partner = cmd_arg(args, 0);
	int paused = strcmp(who->command, "pause") == 0;

	if (partner == NULL || cmd_arg(args, 1) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: %s "
		    "PARTNER", paused ? "pause" : "resume");
	if (engine_pause(ctx->engine, who->uid, partner, paused, &a) == -1)
		return cmd_fail(code, text, len, errcode_name(a.code), "%s",
		    a.text);
	return json_pack("{s:s, s:b, s:s}", "partner", partner, "paused",
	    paused, "text", a.text);
}

/*
 * retry PARTNER: the partner is back (the operator knows before the
 * backoff does): every message queued for it goes now.  Changes no state
 * (the outbox is the same), so nothing is journalled; the log says who.
 */
json_t *
opscmd_retry(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	const struct config *conf = report_conf(ctx->report);
	const char *partner = cmd_arg(args, 0);
	char msg[128];
	int n;

	if (partner == NULL || cmd_arg(args, 1) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: retry "
		    "PARTNER");
	if (conf == NULL || config_partner(conf, partner) == NULL)
		return cmd_fail(code, text, len, "UNKNOWN_PARTNER", "no "
		    "agreement with '%.8s'", partner);
	if (ctx->retry == NULL)
		return cmd_fail(code, text, len, "UNAVAILABLE", "no transport "
		    "in this process");
	n = ctx->retry(ctx->retry_arg, partner);
	log_info("control", "delivery to %s retried now by uid %u (%d "
	    "message(s) were backing off)", partner, (unsigned)who->uid, n);
	snprintf(msg, sizeof(msg), "delivery to %s retried now (%d "
	    "message(s) were backing off)", partner, n);
	return json_pack("{s:s, s:i, s:s}", "partner", partner,
	    "backing_off", n, "text", msg);
}

/* ---- metrics ------------------------------------------------------------ */

void
opscmd_engine_metrics(const struct engine_stats *st, FILE *fp)
{
	fprintf(fp, "# HELP accord_store_behind 1 while committed "
	    "records wait in memory for the store (inputs get 503 / "
	    "TEMPORARY).\n# TYPE accord_store_behind gauge\n"
	    "accord_store_behind %d\n"
	    "# HELP accord_store_unapplied_records Committed records "
	    "not yet in the store.\n"
	    "# TYPE accord_store_unapplied_records gauge\n"
	    "accord_store_unapplied_records %zu\n"
	    "# HELP accord_store_apply_failures_total Store applies "
	    "that failed and were retried.\n"
	    "# TYPE accord_store_apply_failures_total counter\n"
	    "accord_store_apply_failures_total %llu\n"
	    "# HELP accord_store_busy_total Times the loop's store "
	    "connection met a lock, by what it did (it must never "
	    "wait).\n# TYPE accord_store_busy_total counter\n"
	    "accord_store_busy_total{action=\"refused\"} %llu\n"
	    "accord_store_busy_total{action=\"waited\"} %llu\n"
	    "# HELP accord_journal_commits_total Journal commits by "
	    "where their fdatasync ran (loop: operator commands and "
	    "start-up; writer: partner and back-office traffic).\n"
	    "# TYPE accord_journal_commits_total counter\n"
	    "accord_journal_commits_total{sync=\"writer\"} %llu\n"
	    "accord_journal_commits_total{sync=\"loop\"} %llu\n"
	    "# HELP accord_journal_loop_waits_total Times the loop "
	    "thread waited for the writer thread's fdatasync.\n"
	    "# TYPE accord_journal_loop_waits_total counter\n"
	    "accord_journal_loop_waits_total %llu\n"
	    "# HELP accord_journal_reads_total Journal records read back, "
	    "by how: one record where the store's index says (direct), or "
	    "a reader over the whole journal (scan: start-up only).\n"
	    "# TYPE accord_journal_reads_total counter\n"
	    "accord_journal_reads_total{how=\"direct\"} %llu\n"
	    "accord_journal_reads_total{how=\"scan\"} %llu\n"
	    "# HELP accord_person_lookups_total find-person lookups "
	    "answered (each journalled with the uid and the reason).\n"
	    "# TYPE accord_person_lookups_total counter\n"
	    "accord_person_lookups_total %llu\n",
	    st->store_behind, st->unapplied,
	    (unsigned long long)st->apply_failures,
	    (unsigned long long)st->busy.refused,
	    (unsigned long long)st->busy.waits,
	    (unsigned long long)st->async_commits,
	    (unsigned long long)st->loop_syncs,
	    (unsigned long long)st->loop_waits,
	    (unsigned long long)st->direct_reads,
	    (unsigned long long)st->journal_scans,
	    (unsigned long long)st->person_lookups);
}

/* ---- monitor ----------------------------------------------------------- */

json_t *
opscmd_monitor(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;

	if (cmd_arg(args, 0) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "monitor");
	if (opscmd_follow(ctx, who, OPSCMD_TOPIC_MONITOR) == -1)
		return cmd_fail(code, text, len, "BAD_REQUEST", "cannot "
		    "follow events on this connection");
	return json_pack("{s:b, s:s}", "following", 1, "text", "following "
	    "every committed record (interrupt to stop)");
}
