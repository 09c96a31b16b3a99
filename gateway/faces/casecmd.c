/*
 * casecmd.c -- submit, record, clock: the case commands that act.  The
 * read-only ones (status, list, timeline) are report/'s.
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
#include "report/report.h"
#include "util/xmalloc.h"

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

/* A submit's result, as the socket returns it (NULL: an error in code
 * and text). */
static json_t *
casecmd_submit_result(struct casecmd_ctx *ctx, int rc,
    struct engine_outgoing *out, const struct engine_answer *a,
    const char **code, char *text, size_t len)
{
	struct store_message m;
	const char *state = "QUEUED";
	json_t *res;

	if (rc == -1) {
		*code = errcode_name(a->code);
		snprintf(text, len, "%s", a->text);
		return NULL;
	}
	if (out->body == NULL) {
		/* a repeated request-id: the first answer again, with the
		 * message's state now */
		if (report_message_find(ctx->report, out->partner,
		    out->message_id, RECORD_DIR_OUT, &m) == 1)
			state = record_msg_state_name(m.state);
	} else if (ctx->queued != NULL)
		ctx->queued(ctx->queued_arg, out);
	res = json_pack("{s:s, s:s, s:s, s:s, s:b}", "message_id",
	    out->message_id, "case", out->case_id, "partner", out->partner,
	    "state", state, "repeated", out->body == NULL);
	json_object_set_new(res, "text", json_sprintf("queued %s for %s, case "
	    "%s%s", out->message_id, out->partner, out->case_id,
	    out->body == NULL ? " (repeated request-id: nothing new queued)" :
	    ""));
	return res;
}

/* A submit being signed off the loop: where its answer goes. */
struct casecmd_pending {
	struct control	*ctl;
	uint64_t	 token;
};

static void
casecmd_submit_done(void *arg, void *tag, int rc, struct engine_outgoing *out,
    struct engine_answer *a)
{
	struct casecmd_ctx *ctx = arg;
	struct casecmd_pending *p = tag;
	const char *code = "INTERNAL";
	char text[CMD_TEXT_MAX];
	json_t *res;

	text[0] = '\0';
	res = casecmd_submit_result(ctx, rc, out, a, &code, text,
	    sizeof(text));
	control_deferred_done(p->ctl, p->token, res, code, text);
	ctx->signed_ctl = p->ctl;
	free(p);
}

void
casecmd_signed(struct casecmd_ctx *ctx)
{
	ctx->signed_ctl = NULL;
	engine_submit_collect(ctx->engine, casecmd_submit_done, ctx);
	/* one commit for the submits taken back together */
	if (ctx->signed_ctl != NULL)
		control_deferred_flush(ctx->signed_ctl);
}

json_t *
casecmd_submit(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct engine_submission sub;
	struct engine_outgoing out;
	struct engine_answer a;
	struct casecmd_pending *p = NULL;
	const char *doc;
	json_t *res;
	int rc;

	memset(&sub, 0, sizeof(sub));
	sub.partner = cmd_arg(args, 0);
	doc = cmd_opt(args, "document");
	sub.request_id = cmd_opt(args, "request-id");
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
	sub.case_id = cmd_opt(args, "case");
	sub.ref_to = cmd_opt(args, "ref");
	sub.accelerated = cmd_flag(args, "urgent");
	sub.uid = who->uid;
	sub.defer_commit = ctx->group_commit;
	/* signed off the loop: with group commit, on a socket, with a pool */
	if (ctx->group_commit && who->ctl != NULL && who->conn != NULL &&
	    engine_sign_fd(ctx->engine) != -1) {
		p = xcalloc(1, sizeof(*p));
		p->ctl = who->ctl;
		rc = engine_submit_async(ctx->engine, &sub, doc, strlen(doc), p,
		    &out, &a);
		if (rc == 1) {
			p->token = control_defer(who);
			*code = NULL;
			return NULL;
		}
		free(p);
	} else
		rc = engine_submit(ctx->engine, &sub, doc, strlen(doc), &out,
		    &a);
	res = casecmd_submit_result(ctx, rc, &out, &a, code, text, len);
	engine_outgoing_clear(&out);
	return res;
}

/* ---- record ---------------------------------------------------------------- */

json_t *
casecmd_record(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store_case sc;
	struct engine_outgoing out;
	struct engine_answer a;
	const char *fact = cmd_arg(args, 1);
	enum fsm_record rec;
	json_t *res;

	if (fact == NULL || (strcmp(fact, "protection-claim") != 0 &&
	    strcmp(fact, "assessment") != 0)) {
		*code = "BAD_REQUEST";
		snprintf(text, len, "usage: record CASE protection-claim|"
		    "assessment [--risk] [note=TEXT] [partner=CC]");
		return NULL;
	}
	if (report_find_case(ctx->report, args, &sc, code, text, len) != 1)
		return NULL;
	rec = strcmp(fact, "protection-claim") == 0 ?
	    FSM_REC_PROTECTION_CLAIM : FSM_REC_ASSESSMENT;
	if (engine_record(ctx->engine, who->uid, sc.partner, sc.case_id, rec,
	    cmd_flag(args, "risk"), cmd_opt(args, "note"), &out, &a) == -1) {
		*code = errcode_name(a.code);
		snprintf(text, len, "%s", a.text);
		return NULL;
	}
	/* a ProtectionNotice to the partner goes out like a submit */
	if (out.body != NULL && ctx->queued != NULL)
		ctx->queued(ctx->queued_arg, &out);
	res = json_pack("{s:s, s:s, s:s, s:s}", "case", sc.case_id,
	    "partner", sc.partner, "recorded", fact, "text", a.text);
	if (out.body != NULL)
		json_object_set_new(res, "protection_notice",
		    json_string(out.message_id));
	engine_outgoing_clear(&out);
	return res;
}

/* ---- clock (test builds) ----------------------------------------------- */

json_t *
casecmd_clock(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	const char *verb = cmd_arg(args, 0), *val = cmd_arg(args, 1);
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
	    cmd_parse_duration(val, &d) == 0) {
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

const struct cmd_command casecmd_commands[] = {
	{ "submit", CMD_ROLE_SUBMIT, casecmd_submit,
	    "validate, sign, journal and queue a business document", 0,
	    "PARTNER document=@FILE [case=ID] [ref=MSG] [--urgent] "
	    "[request-id=KEY]" },
	{ "record", CMD_ROLE_ADMIN, casecmd_record,
	    "record a protection claim or a risk assessment on a case", 0,
	    "CASE protection-claim|assessment [--risk] [note=TEXT] "
	    "[partner=CC]" },
	{ "inbox", CMD_ROLE_SUBMIT, opscmd_inbox,
	    "received messages not yet acknowledged", 0,
	    "[partner=CC] [--body] [--reveal] [--follow] [limit=N] "
	    "[after=SEQ]" },
	{ "ack", CMD_ROLE_SUBMIT, opscmd_ack,
	    "the back office took a received message", 0,
	    "MESSAGE-ID [partner=CC]" },
	{ "resend", CMD_ROLE_ADMIN, opscmd_resend,
	    "send an UNDELIVERED or DISPUTED message again", 0,
	    "MESSAGE-ID [partner=CC]" },
	{ "retry", CMD_ROLE_SUBMIT, opscmd_retry,
	    "deliver what is queued for a partner now", 0, "PARTNER" },
	{ "pause", CMD_ROLE_ADMIN, opscmd_pause,
	    "hold delivery to a partner", 0, "PARTNER" },
	{ "resume", CMD_ROLE_ADMIN, opscmd_pause,
	    "deliver to a partner again", 0, "PARTNER" },
	{ "monitor", CMD_ROLE_READ, opscmd_monitor,
	    "stream every committed record", 0, "" },
#ifdef ACCORD_TEST_CLOCK
	{ "clock", CMD_ROLE_ADMIN, casecmd_clock,
	    "show, set, advance or release the test clock (test builds only)",
	    0, "show|set|advance|real [TIME|DURATION]" },
#endif
	{ NULL, 0, NULL, NULL, 0, NULL }
};
