/*
 * opscmd.c -- inbox, ack, resend, pause/resume, queues, alerts, stats,
 * metrics, monitor.
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
#include "faces/opscmd.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/xmalloc.h"

#define DAY		86400
#define ALERT_DUE_SOON	DAY		/* deadlines due within a day */
#define ALERT_CERT_DAYS	30		/* certificates expiring */
#define ALERT_CAL_MONTHS 12		/* calendar data running out */

/* ---- helpers ----------------------------------------------------------- */

static json_t *
opscmd_fail(const char **code, char *text, size_t len, const char *c,
    const char *fmt, ...)
{
	va_list ap;

	*code = c;
	va_start(ap, fmt);
	vsnprintf(text, len, fmt, ap);
	va_end(ap);
	return NULL;
}

/* May the caller see personal data?  Online: the admin role.  Offline
 * (accordctl reading the store): root only, since nothing journals it. */
static int
opscmd_may_reveal(struct casecmd_ctx *ctx, const struct control_caller *who)
{
	if (ctx->offline)
		return who->uid == 0;
	return (who->roles & CONTROL_ROLE_ADMIN) != 0;
}

/* Add one to the integer at root[k1][k2]... (keys end with NULL). */
static void
opscmd_bump(json_t *root, ...)
{
	va_list ap;
	const char *k, *next;
	json_t *o = root, *c;

	va_start(ap, root);
	k = va_arg(ap, const char *);
	while (k != NULL) {
		next = va_arg(ap, const char *);
		c = json_object_get(o, k);
		if (next == NULL) {
			json_object_set_new(o, k, json_integer(
			    json_integer_value(c) + 1));
			break;
		}
		if (!json_is_object(c)) {
			c = json_object();
			json_object_set_new(o, k, c);
		}
		o = c;
		k = next;
	}
	va_end(ap);
}

static int
opscmd_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* obj's keys, sorted (free() the array, not the keys). */
static const char **
opscmd_keys(json_t *obj, size_t *n)
{
	const char **keys, *k;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(obj);
	if ((keys = calloc(*n + 1, sizeof(*keys))) == NULL)
		return NULL;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, i, sizeof(*keys), opscmd_strcmp);
	*n = i;
	return keys;
}

/* "2026-11" of t. */
static void
opscmd_month(accord_time_t t, char buf[8])
{
	char tb[32];

	clock_format_utc(t, tb, sizeof(tb));
	snprintf(buf, 8, "%.7s", tb);
}

static json_t *
opscmd_text_result(json_t *res, FILE *fp, char **buf, size_t *blen)
{
	fclose(fp);
	json_object_set_new(res, "text", json_stringn(*buf, *blen));
	free(*buf);
	return res;
}

/* ---- personal data --------------------------------------------------- */

/* Elements whose text is personal data (protocols/common.xsd). */
static const char *const opscmd_personal[] = {
	"Surname", "GivenNames", "BirthSurname", "Name",	/* names */
	"BirthDate",						/* birth */
	"Number", "DocumentNumber", "PassportNumber",		/* documents */
	"TravelDocumentNumber",
	"Line", "PostalCode",					/* address */
	"Original",		/* a Redelivery's whole message, base64 */
	NULL
};

static int
opscmd_is_personal(const xmlChar *name)
{
	int i;

	for (i = 0; opscmd_personal[i] != NULL; i++)
		if (xmlStrcmp(name, BAD_CAST opscmd_personal[i]) == 0)
			return 1;
	return 0;
}

static void
opscmd_mask(xmlNodePtr n)
{
	xmlNodePtr c;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (opscmd_is_personal(n->name)) {
			/* replaces every child, subelements too */
			xmlNodeSetContent(n, BAD_CAST "***");
			continue;
		}
		c = n->children;
		opscmd_mask(c);
	}
}

char *
opscmd_document(const char *bytes, size_t len, int reveal)
{
	xmlDocPtr doc = NULL, out = NULL;
	xmlNodePtr n, body = NULL;
	xmlBufferPtr xb = NULL;
	char *s = NULL;
	int blen;

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
	if (!reveal)
		opscmd_mask(xmlDocGetRootElement(out));
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
	if (store_inbox_get(casecmd_store(ctx), rm.partner, rm.message_id,
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
opscmd_follow(struct casecmd_ctx *ctx, const struct control_caller *who,
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

struct opscmd_inbox {
	struct casecmd_ctx		*ctx;
	const struct control_caller	*who;
	const char			*partner;
	json_t				*list;
	FILE				*fp;
	int				 body;
	int				 reveal;
	int				 failed;
	int				 n;
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
	if (store_message_find(casecmd_store(ib->ctx), in->partner,
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
			doc = opscmd_document(bytes, blen, ib->reveal);
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
	return 0;
}

json_t *
opscmd_inbox(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct opscmd_inbox ib;
	json_t *res;
	char *buf = NULL;
	size_t blen = 0;
	int follow = casecmd_flag(args, "follow");

	memset(&ib, 0, sizeof(ib));
	ib.ctx = ctx;
	ib.who = who;
	ib.partner = casecmd_opt(args, "partner");
	ib.reveal = casecmd_flag(args, "reveal");
	ib.body = ib.reveal || casecmd_flag(args, "body");
	if (casecmd_arg(args, 0) != NULL)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "inbox [partner=CC] [--body] [--reveal] [--follow]");
	if (ib.reveal && !opscmd_may_reveal(ctx, who))
		return opscmd_fail(code, text, len, "FORBIDDEN", "--reveal "
		    "needs the admin role; uid %u may see documents only "
		    "masked (--body)", (unsigned)who->uid);
	if (follow && opscmd_follow(ctx, who, OPSCMD_TOPIC_INBOX) == -1)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "cannot "
		    "follow the inbox on this connection");
	ib.list = json_array();
	if ((ib.fp = open_memstream(&buf, &blen)) == NULL) {
		json_decref(ib.list);
		return opscmd_fail(code, text, len, "INTERNAL", "no memory");
	}
	fprintf(ib.fp, "%-2s %-32s %-24s %-36s %s\n", "CC", "CASE", "TYPE",
	    "MESSAGE", "CREATED (UTC)");
	if (store_inbox_pending(casecmd_store(ctx), opscmd_inbox_cb, &ib) ==
	    -1 || ib.failed) {
		fclose(ib.fp);
		free(buf);
		json_decref(ib.list);
		return opscmd_fail(code, text, len, "INTERNAL", ib.failed ?
		    "the reveal could not be journalled: nothing shown" :
		    "store query failed");
	}
	fprintf(ib.fp, "%d message%s not yet acknowledged%s\n", ib.n,
	    ib.n == 1 ? "" : "s", follow ? "; following new ones" : "");
	res = json_pack("{s:o, s:i, s:b, s:b}", "messages", ib.list, "count",
	    ib.n, "following", follow, "masked", ib.body && !ib.reveal);
	return opscmd_text_result(res, ib.fp, &buf, &blen);
}

/* ---- ack, resend, pause ------------------------------------------------ */

/* Which partner sent or got message_id: partner= if given, else the one
 * message of that id in the list f selects. */
struct opscmd_which {
	const char	*message_id;
	char		 partner[RECORD_PARTNER_MAX];
	int		 n;
};

static int
opscmd_which_msg_cb(void *arg, const struct store_message *m)
{
	struct opscmd_which *w = arg;

	if (strcmp(m->message_id, w->message_id) == 0 && w->n++ == 0)
		snprintf(w->partner, sizeof(w->partner), "%s", m->partner);
	return 0;
}

static int
opscmd_which_inbox_cb(void *arg, const struct store_inbox *in)
{
	struct opscmd_which *w = arg;

	if (strcmp(in->message_id, w->message_id) == 0 && w->n++ == 0)
		snprintf(w->partner, sizeof(w->partner), "%s", in->partner);
	return 0;
}

json_t *
opscmd_ack(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct opscmd_which w;
	struct engine_answer a;
	const char *partner = casecmd_opt(args, "partner");

	memset(&w, 0, sizeof(w));
	w.message_id = casecmd_arg(args, 0);
	if (w.message_id == NULL || casecmd_arg(args, 1) != NULL)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "usage: ack "
		    "MESSAGE-ID [partner=CC]");
	if (partner == NULL) {
		if (store_inbox_pending(casecmd_store(ctx),
		    opscmd_which_inbox_cb, &w) == -1)
			return opscmd_fail(code, text, len, "INTERNAL",
			    "store query failed");
		if (w.n == 0)
			return opscmd_fail(code, text, len, "UNKNOWN_MESSAGE",
			    "%.64s is not in the inbox (add partner=CC to "
			    "acknowledge it again)", w.message_id);
		if (w.n > 1)
			return opscmd_fail(code, text, len, "AMBIGUOUS",
			    "%.64s came from several partners: add "
			    "partner=CC", w.message_id);
		partner = w.partner;
	}
	if (engine_inbox_ack(ctx->engine, who->uid, partner, w.message_id,
	    &a) == -1)
		return opscmd_fail(code, text, len, a.code == AE_INVALID_FIELD ?
		    "UNKNOWN_MESSAGE" : errcode_name(a.code), "%s", a.text);
	return json_pack("{s:s, s:s, s:s, s:s}", "message_id", w.message_id,
	    "partner", partner, "case", a.case_id, "text", a.text);
}

json_t *
opscmd_resend(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store_message_filter f;
	struct opscmd_which w;
	struct engine_answer a;
	const char *partner = casecmd_opt(args, "partner");

	memset(&w, 0, sizeof(w));
	w.message_id = casecmd_arg(args, 0);
	if (w.message_id == NULL || casecmd_arg(args, 1) != NULL)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "resend MESSAGE-ID [partner=CC]");
	if (partner == NULL) {
		store_message_filter_init(&f);
		f.direction = RECORD_DIR_OUT;
		if (store_list_messages(casecmd_store(ctx), &f,
		    opscmd_which_msg_cb, &w) == -1)
			return opscmd_fail(code, text, len, "INTERNAL",
			    "store query failed");
		if (w.n == 0)
			return opscmd_fail(code, text, len, "UNKNOWN_MESSAGE",
			    "no message %.64s of ours", w.message_id);
		if (w.n > 1)
			return opscmd_fail(code, text, len, "AMBIGUOUS",
			    "%.64s went to several partners: add partner=CC",
			    w.message_id);
		partner = w.partner;
	}
	if (engine_resend(ctx->engine, who->uid, partner, w.message_id,
	    &a) == -1)
		return opscmd_fail(code, text, len, a.code == AE_INVALID_FIELD ?
		    "UNKNOWN_MESSAGE" : errcode_name(a.code), "%s", a.text);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "message_id",
	    w.message_id, "partner", partner, "case", a.case_id, "state",
	    "QUEUED", "text", a.text);
}

json_t *
opscmd_pause(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct engine_answer a;
	const char *partner = casecmd_arg(args, 0);
	int paused = strcmp(who->command, "pause") == 0;

	if (partner == NULL || casecmd_arg(args, 1) != NULL)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "usage: %s "
		    "PARTNER", paused ? "pause" : "resume");
	if (engine_pause(ctx->engine, who->uid, partner, paused, &a) == -1)
		return opscmd_fail(code, text, len, errcode_name(a.code), "%s",
		    a.text);
	return json_pack("{s:s, s:b, s:s}", "partner", partner, "paused",
	    paused, "text", a.text);
}

/* ---- queues ---------------------------------------------------------- */

/* Days until the first of a partner's signing certificates expires. */
static long long
opscmd_cert_days(const struct agreement *a, accord_time_t now)
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
opscmd_queues(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	const struct config *conf = casecmd_conf(ctx);
	const struct agreement *a;
	const char *only = casecmd_opt(args, "partner");
	struct store_queue q;
	accord_time_t now = clock_now();
	json_t *list, *res;
	char *buf = NULL, ob[32], lc[32], age[32];
	size_t blen = 0;
	FILE *fp;
	int i;

	if (conf == NULL)
		return opscmd_fail(code, text, len, "UNAVAILABLE", "queues "
		    "needs the configuration in force");
	if (only != NULL && config_partner(conf, only) == NULL)
		return opscmd_fail(code, text, len, "UNKNOWN_PARTNER", "no "
		    "agreement with '%.8s'", only);
	if ((fp = open_memstream(&buf, &blen)) == NULL)
		return opscmd_fail(code, text, len, "INTERNAL", "no memory");
	list = json_array();
	fprintf(fp, "%-2s %-6s %6s %-10s %5s %-20s %s\n", "CC", "STATE",
	    "QUEUED", "OLDEST", "STUCK", "LAST CONTACT (UTC)", "CERT DAYS");
	for (i = 0; i < conf->npartners; i++) {
		a = &conf->partners[i];
		if (only != NULL && strcmp(only, a->country) != 0)
			continue;
		if (store_partner_queue(casecmd_store(ctx), a->country, &q) ==
		    -1) {
			fclose(fp);
			free(buf);
			json_decref(list);
			return opscmd_fail(code, text, len, "INTERNAL",
			    "store query failed");
		}
		if (q.oldest_queued != 0) {
			clock_format_utc(q.oldest_queued, ob, sizeof(ob));
			casecmd_left((long long)(now - q.oldest_queued), age,
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
		    "certificate_days_left", (json_int_t)opscmd_cert_days(a,
		    now)));
		fprintf(fp, "%-2s %-6s %6d %-10s %5d %-20s %lld\n",
		    a->country, q.paused ? "paused" : "active", q.depth, age,
		    q.stuck, lc, opscmd_cert_days(a, now));
	}
	res = json_pack("{s:o}", "partners", list);
	return opscmd_text_result(res, fp, &buf, &blen);
}

/* ---- alerts ------------------------------------------------------------ */

struct opscmd_alerts {
	json_t		*list;
	FILE		*fp;
	accord_time_t	 now;
	const char	*kind;
	int		 n;
};

static void
opscmd_alert(struct opscmd_alerts *al, const char *kind, const char *partner,
    const char *subject, const char *fmt, ...)
{
	va_list ap;
	char detail[256];

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_array_append_new(al->list, json_pack("{s:s, s:s, s:s, s:s}",
	    "kind", kind, "partner", partner, "subject", subject, "detail",
	    detail));
	fprintf(al->fp, "%-12s %-2s %-36s %s\n", kind, partner, subject,
	    detail);
	al->n++;
}

static int
opscmd_alert_case_cb(void *arg, const struct store_case *c)
{
	struct opscmd_alerts *al = arg;
	char tb[32], left[32];

	if (strcmp(al->kind, "due-soon") == 0 && c->next_due < al->now)
		return 0;	/* overdue: listed as such */
	if (c->next_due != 0) {
		clock_format_utc(c->next_due, tb, sizeof(tb));
		casecmd_left((long long)(c->next_due - al->now), left,
		    sizeof(left));
	} else {
		snprintf(tb, sizeof(tb), "-");
		snprintf(left, sizeof(left), "-");
	}
	opscmd_alert(al, al->kind, c->partner, c->case_id, "%s, next "
	    "deadline %s (%s)", fsm_state_name(c->c.state), tb, left);
	return 0;
}

static int
opscmd_alert_msg_cb(void *arg, const struct store_message *m)
{
	struct opscmd_alerts *al = arg;

	opscmd_alert(al, al->kind, m->partner, m->message_id, "%s %s of case "
	    "%s%s%s", record_msg_state_name(m->state),
	    agreement_msg_type_name(m->type), m->case_id, m->reason[0] ?
	    ": " : "", m->reason);
	return 0;
}

static void
opscmd_alert_calendar(struct opscmd_alerts *al, const struct calendar *cal,
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
	opscmd_alert(al, "calendar", who, "holidays", "calendar data ends "
	    "%s (%lld days): add the next year's holidays", db,
	    (long long)(cal->data_until - today));
}

static void
opscmd_alert_certs(struct opscmd_alerts *al, const struct config *conf)
{
	const struct agreement *a;
	accord_time_t nb, na;
	long long d;
	int i, j;

	if (conf->sign_x509 != NULL && conf_cert_times(conf->sign_x509, &nb,
	    &na) == 0 && (d = (long long)((na - al->now) / DAY)) <
	    ALERT_CERT_DAYS)
		opscmd_alert(al, "certificate", conf->country, "our signing "
		    "certificate", "expires in %lld days", d);
	for (i = 0; i < conf->npartners; i++) {
		a = &conf->partners[i];
		for (j = 0; j < a->nsigning; j++) {
			d = (long long)((a->signing[j].not_after - al->now) /
			    DAY);
			if (d < ALERT_CERT_DAYS)
				opscmd_alert(al, "certificate", a->country,
				    a->signing[j].path, "signing certificate "
				    "expires in %lld days", d);
		}
		if (a->tls_ca != NULL && conf_cert_times(a->tls_ca, &nb,
		    &na) == 0 && (d = (long long)((na - al->now) / DAY)) <
		    ALERT_CERT_DAYS)
			opscmd_alert(al, "certificate", a->country,
			    a->tls_ca_path, "TLS CA expires in %lld days", d);
		opscmd_alert_calendar(al, &a->calendar, a->country);
	}
	opscmd_alert_calendar(al, &conf->calendar, conf->country);
}

json_t *
opscmd_alerts(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	const struct config *conf = casecmd_conf(ctx);
	struct store *st = casecmd_store(ctx);
	struct store_case_filter cf;
	struct store_message_filter mf;
	struct opscmd_alerts al;
	json_t *res;
	char *buf = NULL;
	size_t blen = 0;
	int rc = 0;

	memset(&al, 0, sizeof(al));
	al.now = clock_now();
	if ((al.fp = open_memstream(&buf, &blen)) == NULL)
		return opscmd_fail(code, text, len, "INTERNAL", "no memory");
	al.list = json_array();

	store_case_filter_init(&cf);
	cf.overdue_at = al.now;
	cf.overdue_states = 1;
	al.kind = "overdue";
	rc |= store_list_cases(st, &cf, opscmd_alert_case_cb, &al);
	store_case_filter_init(&cf);
	cf.due_by = al.now + ALERT_DUE_SOON;
	al.kind = "due-soon";
	rc |= store_list_cases(st, &cf, opscmd_alert_case_cb, &al);
	store_message_filter_init(&mf);
	mf.direction = RECORD_DIR_OUT;
	mf.state = RECORD_MS_UNDELIVERED;
	al.kind = "undelivered";
	rc |= store_list_messages(st, &mf, opscmd_alert_msg_cb, &al);
	mf.state = RECORD_MS_DISPUTED;
	al.kind = "disputed";
	rc |= store_list_messages(st, &mf, opscmd_alert_msg_cb, &al);
	if (rc != 0) {
		fclose(al.fp);
		free(buf);
		json_decref(al.list);
		return opscmd_fail(code, text, len, "INTERNAL",
		    "store query failed");
	}
	if (conf != NULL)
		opscmd_alert_certs(&al, conf);
	else
		fprintf(al.fp, "(certificates and calendars not checked: no "
		    "configuration; give accordctl -c)\n");
	if (al.n == 0)
		fprintf(al.fp, "no alerts\n");
	res = json_pack("{s:o, s:i, s:b}", "alerts", al.list, "count", al.n,
	    "configuration_checked", conf != NULL);
	return opscmd_text_result(res, al.fp, &buf, &blen);
}

/* ---- stats ------------------------------------------------------------- */

struct opscmd_stats {
	json_t		*total;
	json_t		*months;
	const char	*since;		/* "2026-01" or NULL */
	const char	*partner;
};

/* The total and the month of t, or NULL when before since. */
static json_t *
opscmd_stats_month(struct opscmd_stats *s, accord_time_t t)
{
	char m[8];
	json_t *o;

	opscmd_month(t, m);
	if (s->since != NULL && strcmp(m, s->since) < 0)
		return NULL;
	if ((o = json_object_get(s->months, m)) == NULL) {
		o = json_object();
		json_object_set_new(s->months, m, o);
	}
	return o;
}

static int
opscmd_stats_case_cb(void *arg, const struct store_case *c)
{
	struct opscmd_stats *s = arg;
	const char *state = fsm_state_name(c->c.state);
	const char *ban = c->c.reason == FSM_REASON_DELIBERATE ? "ban" :
	    "no_ban";
	json_t *m, *dst[2];
	int i;

	if ((m = opscmd_stats_month(s, c->opened_at)) == NULL)
		return 0;
	dst[0] = s->total;
	dst[1] = m;
	for (i = 0; i < 2; i++) {
		opscmd_bump(dst[i], "cases", "by_state", state, NULL);
		opscmd_bump(dst[i], "cases", "by_partner", c->partner, state,
		    NULL);
		opscmd_bump(dst[i], "cases", "total", NULL);
		if (c->c.kind != FSM_KIND_READMISSION)
			continue;
		opscmd_bump(dst[i], "returns", "by_outcome", state, ban,
		    NULL);
		opscmd_bump(dst[i], "returns", "entry_ban", ban, NULL);
	}
	return 0;
}

static int
opscmd_stats_msg_cb(void *arg, const struct store_message *msg)
{
	struct opscmd_stats *s = arg;
	const char *dir = record_dir_name(msg->direction);
	json_t *m, *dst[2];
	char reason[RECORD_REASON_MAX], *colon;
	int i;

	if (msg->type == MSG_RECEIPT || msg->type == MSG_ERROR)
		return 0;	/* answers, not business messages */
	if (s->partner != NULL && strcmp(s->partner, msg->partner) != 0)
		return 0;
	if ((m = opscmd_stats_month(s, msg->created)) == NULL)
		return 0;
	snprintf(reason, sizeof(reason), "%s", msg->reason[0] ? msg->reason :
	    msg->direction == RECORD_DIR_OUT ? "partner-error" : "unknown");
	if ((colon = strchr(reason, ':')) != NULL)
		*colon = '\0';
	dst[0] = s->total;
	dst[1] = m;
	for (i = 0; i < 2; i++) {
		opscmd_bump(dst[i], "messages", dir, NULL);
		opscmd_bump(dst[i], "messages", "by_state", dir,
		    record_msg_state_name(msg->state), NULL);
		if (msg->state == RECORD_MS_REJECTED)
			opscmd_bump(dst[i], "rejections", dir, reason, NULL);
	}
	return 0;
}

static long long
opscmd_get(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return (long long)json_integer_value(v);
}

static long long
opscmd_sum(json_t *o)
{
	const char *k;
	json_t *v;
	long long n = 0;

	json_object_foreach(o, k, v)
		n += json_is_object(v) ? opscmd_sum(v) :
		    (long long)json_integer_value(v);
	return n;
}

/* A two-level object {a: {b: n}} as lines "  a b n". */
static void
opscmd_print2(FILE *fp, json_t *o, const char *w1)
{
	const char **k1, **k2;
	size_t n1, n2, i, j;
	json_t *inner;

	if ((k1 = opscmd_keys(o, &n1)) == NULL)
		return;
	for (i = 0; i < n1; i++) {
		inner = json_object_get(o, k1[i]);
		if (!json_is_object(inner)) {
			fprintf(fp, "  %-*s %6lld\n", (int)strlen(w1) + 21,
			    k1[i], (long long)json_integer_value(inner));
			continue;
		}
		if ((k2 = opscmd_keys(inner, &n2)) == NULL)
			continue;
		for (j = 0; j < n2; j++)
			fprintf(fp, "  %-*s %-20s %6lld\n", (int)strlen(w1),
			    k1[i], k2[j], (long long)json_integer_value(
			    json_object_get(inner, k2[j])));
		free(k2);
	}
	free(k1);
}

json_t *
opscmd_stats(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store *st = casecmd_store(ctx);
	struct store_case_filter cf;
	struct opscmd_stats s;
	const char **months;
	size_t nm, i;
	json_t *res, *m, *t;
	char *buf = NULL;
	size_t blen = 0;
	FILE *fp;

	memset(&s, 0, sizeof(s));
	s.since = casecmd_opt(args, "since");
	s.partner = casecmd_opt(args, "partner");
	if (s.since != NULL && (strlen(s.since) != 7 || s.since[4] != '-' ||
	    strspn(s.since, "0123456789-") != 7))
		return opscmd_fail(code, text, len, "BAD_REQUEST", "since: "
		    "'%.20s' is not a month (2026-01)", s.since);
	if (casecmd_arg(args, 0) != NULL)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "stats [partner=CC] [since=YYYY-MM]");
	s.total = json_object();
	s.months = json_object();
	store_case_filter_init(&cf);
	cf.partner = s.partner;
	if (store_list_cases(st, &cf, opscmd_stats_case_cb, &s) == -1 ||
	    store_list_messages(st, NULL, opscmd_stats_msg_cb, &s) == -1) {
		json_decref(s.total);
		json_decref(s.months);
		return opscmd_fail(code, text, len, "INTERNAL",
		    "store query failed");
	}
	if ((fp = open_memstream(&buf, &blen)) == NULL) {
		json_decref(s.total);
		json_decref(s.months);
		return opscmd_fail(code, text, len, "INTERNAL", "no memory");
	}
	t = s.total;
	fprintf(fp, "cases: %lld\n", opscmd_get(t, "cases", "total"));
	opscmd_print2(fp, json_object_get(json_object_get(t, "cases"),
	    "by_partner"), "CC");
	fprintf(fp, "messages: in %lld, out %lld\n",
	    opscmd_get(t, "messages", "in"), opscmd_get(t, "messages", "out"));
	opscmd_print2(fp, json_object_get(json_object_get(t, "messages"),
	    "by_state"), "out");
	fprintf(fp, "rejections by code: %lld\n",
	    opscmd_sum(json_object_get(t, "rejections")));
	opscmd_print2(fp, json_object_get(t, "rejections"), "out");
	fprintf(fp, "returns (readmission cases) by outcome and entry ban: "
	    "%lld with a ban, %lld without\n", opscmd_get(json_object_get(t,
	    "returns"), "entry_ban", "ban"), opscmd_get(json_object_get(t,
	    "returns"), "entry_ban", "no_ban"));
	opscmd_print2(fp, json_object_get(json_object_get(t, "returns"),
	    "by_outcome"), "TRANSFER_SCHEDULED");
	fprintf(fp, "per month (cases by opening, messages by Created):\n");
	fprintf(fp, "  %-7s %6s %6s %6s %9s %8s %5s\n", "MONTH", "CASES",
	    "IN", "OUT", "REJECTED", "RETURNS", "BANS");
	if ((months = opscmd_keys(s.months, &nm)) != NULL) {
		for (i = 0; i < nm; i++) {
			m = json_object_get(s.months, months[i]);
			fprintf(fp, "  %-7s %6lld %6lld %6lld %9lld %8lld "
			    "%5lld\n", months[i], opscmd_get(m, "cases",
			    "total"), opscmd_get(m, "messages", "in"),
			    opscmd_get(m, "messages", "out"),
			    opscmd_sum(json_object_get(m, "rejections")),
			    opscmd_sum(json_object_get(json_object_get(m,
			    "returns"), "entry_ban")),
			    opscmd_get(json_object_get(m, "returns"),
			    "entry_ban", "ban"));
		}
		free(months);
	}
	res = json_pack("{s:o, s:o}", "total", s.total, "months", s.months);
	return opscmd_text_result(res, fp, &buf, &blen);
}

/* ---- metrics ------------------------------------------------------------ */

struct opscmd_metrics {
	json_t		*cases;		/* {partner: {state: n}} */
	json_t		*msgs;		/* {direction: {state: n}} */
	long long	 inbox;
};

static int
opscmd_metrics_case_cb(void *arg, const struct store_case *c)
{
	struct opscmd_metrics *mx = arg;

	opscmd_bump(mx->cases, c->partner, fsm_state_name(c->c.state), NULL);
	return 0;
}

static int
opscmd_metrics_msg_cb(void *arg, const struct store_message *m)
{
	struct opscmd_metrics *mx = arg;

	if (m->type == MSG_RECEIPT || m->type == MSG_ERROR)
		return 0;
	opscmd_bump(mx->msgs, record_dir_name(m->direction),
	    record_msg_state_name(m->state), NULL);
	return 0;
}

static int
opscmd_metrics_inbox_cb(void *arg, const struct store_inbox *in)
{
	struct opscmd_metrics *mx = arg;

	mx->inbox++;
	return 0;
}

static int
opscmd_count_cb(void *arg, const struct store_case *c)
{
	(*(long long *)arg)++;
	return 0;
}

/* name{l1="k1",l2="k2"} n for a two-level object. */
static void
opscmd_expose2(FILE *fp, const char *name, const char *l1, const char *l2,
    json_t *o)
{
	const char **k1, **k2;
	size_t n1, n2, i, j;
	json_t *inner;

	if ((k1 = opscmd_keys(o, &n1)) == NULL)
		return;
	for (i = 0; i < n1; i++) {
		inner = json_object_get(o, k1[i]);
		if ((k2 = opscmd_keys(inner, &n2)) == NULL)
			continue;
		for (j = 0; j < n2; j++)
			fprintf(fp, "%s{%s=\"%s\",%s=\"%s\"} %lld\n", name, l1,
			    k1[i], l2, k2[j], (long long)json_integer_value(
			    json_object_get(inner, k2[j])));
		free(k2);
	}
	free(k1);
}

json_t *
opscmd_metrics(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	const struct config *conf = casecmd_conf(ctx);
	struct store *st = casecmd_store(ctx);
	struct opscmd_metrics mx;
	struct store_case_filter cf;
	struct store_deadline dl;
	struct {
		struct store_queue	q;
		int			ok;
	} *qs;
	accord_time_t now = clock_now();
	long long overdue = 0;
	char *buf = NULL;
	size_t blen = 0;
	FILE *fp;
	int i, j, rc = 0;

	memset(&mx, 0, sizeof(mx));
	mx.cases = json_object();
	mx.msgs = json_object();
	store_case_filter_init(&cf);
	cf.overdue_at = now;
	cf.overdue_states = 1;
	rc |= store_list_cases(st, NULL, opscmd_metrics_case_cb, &mx);
	rc |= store_list_messages(st, NULL, opscmd_metrics_msg_cb, &mx);
	rc |= store_inbox_pending(st, opscmd_metrics_inbox_cb, &mx);
	rc |= store_list_cases(st, &cf, opscmd_count_cb, &overdue);
	if (rc != 0 || (fp = open_memstream(&buf, &blen)) == NULL) {
		json_decref(mx.cases);
		json_decref(mx.msgs);
		return opscmd_fail(code, text, len, "INTERNAL",
		    "store query failed");
	}
	fprintf(fp, "# HELP accord_cases Cases by partner and state.\n"
	    "# TYPE accord_cases gauge\n");
	opscmd_expose2(fp, "accord_cases", "partner", "state", mx.cases);
	fprintf(fp, "# HELP accord_messages Business messages by direction "
	    "and delivery state.\n# TYPE accord_messages gauge\n");
	opscmd_expose2(fp, "accord_messages", "direction", "state", mx.msgs);
	fprintf(fp, "# HELP accord_cases_overdue Cases with a missed "
	    "deadline.\n# TYPE accord_cases_overdue gauge\n"
	    "accord_cases_overdue %lld\n", overdue);
	fprintf(fp, "# HELP accord_inbox_pending Received messages the back "
	    "office has not acknowledged.\n# TYPE accord_inbox_pending gauge\n"
	    "accord_inbox_pending %lld\n", mx.inbox);
	fprintf(fp, "# HELP accord_deadline_next_seconds Seconds until the "
	    "earliest armed deadline (negative: overdue).\n"
	    "# TYPE accord_deadline_next_seconds gauge\n");
	if (store_next_deadline(st, &dl) == 1)
		fprintf(fp, "accord_deadline_next_seconds %lld\n",
		    (long long)(dl.due - now));
	fprintf(fp, "# HELP accord_journal_applied_seq The last journal "
	    "record applied to the store.\n"
	    "# TYPE accord_journal_applied_seq counter\n"
	    "accord_journal_applied_seq %llu\n",
	    (unsigned long long)store_last_applied(st));
	if (ctx->engine != NULL) {
		struct engine_stats es;

		engine_stats(ctx->engine, &es);
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
		    "accord_journal_loop_waits_total %llu\n",
		    es.store_behind, es.unapplied,
		    (unsigned long long)es.apply_failures,
		    (unsigned long long)es.busy.refused,
		    (unsigned long long)es.busy.waits,
		    (unsigned long long)es.async_commits,
		    (unsigned long long)es.loop_syncs,
		    (unsigned long long)es.loop_waits);
	}
	if (conf != NULL) {
		/* one queue query per partner feeds both gauges */
		qs = xcalloc((size_t)conf->npartners + 1, sizeof(*qs));
		for (i = 0; i < conf->npartners; i++)
			qs[i].ok = store_partner_queue(st,
			    conf->partners[i].country, &qs[i].q) == 0;
		fprintf(fp, "# HELP accord_outbox_depth Messages waiting for "
		    "delivery, by partner.\n"
		    "# TYPE accord_outbox_depth gauge\n");
		for (i = 0; i < conf->npartners; i++)
			if (qs[i].ok)
				fprintf(fp, "accord_outbox_depth{partner="
				    "\"%s\"} %d\n", conf->partners[i].country,
				    qs[i].q.depth);
		fprintf(fp, "# HELP accord_partner_paused 1 when delivery to "
		    "the partner is paused.\n"
		    "# TYPE accord_partner_paused gauge\n");
		for (i = 0; i < conf->npartners; i++)
			if (qs[i].ok)
				fprintf(fp, "accord_partner_paused{partner="
				    "\"%s\"} %d\n", conf->partners[i].country,
				    qs[i].q.paused);
		free(qs);
		fprintf(fp, "# HELP accord_certificate_expiry_seconds Seconds "
		    "until a partner's signing certificate expires.\n"
		    "# TYPE accord_certificate_expiry_seconds gauge\n");
		for (i = 0; i < conf->npartners; i++)
			for (j = 0; j < conf->partners[i].nsigning; j++)
				fprintf(fp, "accord_certificate_expiry_seconds"
				    "{partner=\"%s\",sha256=\"%s\"} %lld\n",
				    conf->partners[i].country,
				    conf->partners[i].signing[j].sha256,
				    (long long)(conf->partners[i].signing[j].
				    not_after - now));
	}
	json_decref(mx.cases);
	json_decref(mx.msgs);
	return opscmd_text_result(json_object(), fp, &buf, &blen);
}

/* ---- monitor ----------------------------------------------------------- */

json_t *
opscmd_monitor(void *arg, const struct control_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;

	if (casecmd_arg(args, 0) != NULL)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "monitor");
	if (opscmd_follow(ctx, who, OPSCMD_TOPIC_MONITOR) == -1)
		return opscmd_fail(code, text, len, "BAD_REQUEST", "cannot "
		    "follow events on this connection");
	return json_pack("{s:b, s:s}", "following", 1, "text", "following "
	    "every committed record (interrupt to stop)");
}
