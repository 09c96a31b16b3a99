/*
 * keycmd.c -- rotate-master-key, export-key, erase, the legal hold on
 * erasure (hold and release), and find-person (see keycmd.h).
 *
 * export-key answers with the key's text (key_file): accordctl writes it
 * to the file out= names, mode 0600, and never prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "faces/casecmd.h"
#include "faces/control.h"
#include "faces/keycmd.h"
#include "persist/store.h"
#include "report/cmd.h"
#include "report/report.h"
#include "util/aead.h"
#include "util/clock.h"
#include "util/errcode.h"

/* The reason=, which every key command needs.  @return it, or NULL. */
static const char *
keycmd_reason(json_t *args)
{
	const char *r = cmd_opt(args, "reason");

	return r != NULL && r[0] != '\0' ? r : NULL;
}

/* The end of a rotation begun from the socket: its deferred answer. */
static void
keycmd_rotated(void *arg, const struct engine_answer *a)
{
	struct casecmd_ctx *ctx = arg;
	struct control *ctl = ctx->rot_ctl;

	ctx->rot_ctl = NULL;
	if (ctl == NULL)
		return;
	if (a->status == 200)
		control_deferred_done(ctl, ctx->rot_token, json_pack("{s:s}",
		    "text", a->text), NULL, NULL);
	else
		control_deferred_done(ctl, ctx->rot_token, NULL,
		    errcode_name(a->code), a->text);
	control_deferred_flush(ctl);
}

/*
 * rotate-master-key: begun here, re-wrapped a slice at a time from the
 * loop (ctx->rotating), answered when it ends; other requests are served
 * meanwhile.  Without a socket, or without the loop's help, all at once.
 */
static json_t *
keycmd_rotate(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct engine_answer a;
	const char *reason = keycmd_reason(args);
	int slices = ctx->rotating != NULL && who->ctl != NULL &&
	    who->conn != NULL;
	int rc;

	if (reason == NULL || cmd_arg(args, 0) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "rotate-master-key reason=TEXT");
	rc = engine_rotate_master_key(ctx->engine, who->uid, reason,
	    slices ? keycmd_rotated : NULL, ctx, &a);
	if (rc == -1)
		return cmd_fail(code, text, len, errcode_name(a.code), "%s",
		    a.text);
	if (rc == 1) {
		ctx->rot_ctl = who->ctl;
		ctx->rot_token = control_defer(who);
		ctx->rotating(ctx->rotating_arg);
		*code = NULL;
		return NULL;
	}
	return json_pack("{s:s}", "text", a.text);
}

static json_t *
keycmd_export(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store_case sc;
	struct engine_answer a;
	const char *reason = keycmd_reason(args);
	char *key;
	json_t *res;

	if (reason == NULL || cmd_arg(args, 0) == NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "export-key CASE reason=TEXT out=FILE [partner=CC]");
	if (report_find_case(ctx->report, args, &sc, code, text, len) != 1)
		return NULL;
	if (engine_export_key(ctx->engine, who->uid, sc.partner, sc.case_id,
	    reason, &key, &a) == -1)
		return cmd_fail(code, text, len, errcode_name(a.code), "%s",
		    a.text);
	res = json_pack("{s:s, s:s, s:s, s:s}", "partner", sc.partner,
	    "case", sc.case_id, "key_file", key, "text", a.text);
	aead_wipe(key, strlen(key));
	free(key);
	return res;
}

static json_t *
keycmd_erase(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct store_case sc;
	struct engine_answer a;
	const char *reason = keycmd_reason(args);

	if (reason == NULL || cmd_arg(args, 0) == NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "erase CASE reason=TEXT [partner=CC]");
	if (report_find_case(ctx->report, args, &sc, code, text, len) != 1)
		return NULL;
	if (engine_erase(ctx->engine, who->uid, sc.partner, sc.case_id,
	    reason, &a) == -1)
		return cmd_fail(code, text, len, errcode_name(a.code), "%s",
		    a.text);
	return json_pack("{s:s, s:s, s:b, s:s}", "partner", sc.partner,
	    "case", sc.case_id, "erased", 1, "text", a.text);
}

/* hold and release: a legal hold on a case's erasure. */
static json_t *
keycmd_hold_release(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len, int hold)
{
	struct casecmd_ctx *ctx = arg;
	struct store_case sc;
	struct engine_answer a;
	const char *reason = keycmd_reason(args);

	if (reason == NULL || cmd_arg(args, 0) == NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: %s "
		    "CASE reason=TEXT [partner=CC]", hold ? "hold" :
		    "release");
	if (report_find_case(ctx->report, args, &sc, code, text, len) != 1)
		return NULL;
	if (engine_hold(ctx->engine, who->uid, sc.partner, sc.case_id,
	    reason, hold, &a) == -1)
		return cmd_fail(code, text, len, errcode_name(a.code), "%s",
		    a.text);
	return json_pack("{s:s, s:s, s:b, s:s}", "partner", sc.partner,
	    "case", sc.case_id, "held", hold, "text", a.text);
}

static json_t *
keycmd_hold(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	return keycmd_hold_release(arg, who, args, code, text, len, 1);
}

static json_t *
keycmd_release(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	return keycmd_hold_release(arg, who, args, code, text, len, 0);
}

/* A case found: its state and when it opened, as the reports have them
 * (a case they do not know, refused at its opening, has neither). */
static void
keycmd_person_case(struct casecmd_ctx *ctx, json_t *c)
{
	struct store_case sc;
	const char *code;
	char tb[32], why[128];
	json_t *q;

	q = json_pack("{s:[O], s:O}", "argv", json_object_get(c, "case"),
	    "partner", json_object_get(c, "partner"));
	if (q != NULL && report_find_case(ctx->report, q, &sc, &code, why,
	    sizeof(why)) == 1) {
		json_object_set_new(c, "state", json_string(fsm_state_name(
		    sc.c.state)));
		json_object_set_new(c, "opened", json_string(
		    clock_format_utc(sc.opened_at, tb, sizeof(tb))));
	}
	json_decref(q);
}

static json_t *
keycmd_find_person(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct engine_answer a;
	const char *reason = keycmd_reason(args);
	const char *surname = cmd_opt(args, "surname");
	const char *birth = cmd_opt(args, "birth-date");
	const char *given = cmd_opt(args, "given");
	json_t *cases, *c, *res;
	char *tbl = NULL;
	size_t i, tlen = 0;
	FILE *fp;

	if (reason == NULL || surname == NULL || birth == NULL ||
	    cmd_arg(args, 0) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "find-person surname=NAME birth-date=YYYY-MM-DD "
		    "[given=NAMES] reason=TEXT");
	if (engine_find_person(ctx->engine, who->uid, surname, given, birth,
	    reason, &cases, &a) == -1)
		return cmd_fail(code, text, len, a.code == AE_INVALID_FIELD ?
		    "BAD_REQUEST" : errcode_name(a.code), "%s", a.text);
	json_array_foreach(cases, i, c)
		keycmd_person_case(ctx, c);
	/* for people: one line a case */
	if ((fp = open_memstream(&tbl, &tlen)) == NULL) {
		json_decref(cases);
		return cmd_fail(code, text, len, "INTERNAL", "out of memory");
	}
	fprintf(fp, "%s\n", a.text);
	if (json_array_size(cases) > 0)
		fprintf(fp, "%-8s %-28s %-22s %s\n", "PARTNER", "CASE", "STATE",
		    "OPENED");
	json_array_foreach(cases, i, c)
		fprintf(fp, "%-8s %-28s %-22s %s\n", json_string_value(
		    json_object_get(c, "partner")), json_string_value(
		    json_object_get(c, "case")), json_object_get(c, "state") !=
		    NULL ? json_string_value(json_object_get(c, "state")) :
		    "-", json_object_get(c, "opened") != NULL ?
		    json_string_value(json_object_get(c, "opened")) : "-");
	fclose(fp);
	res = json_pack("{s:o, s:s}", "cases", cases, "text", tbl);
	free(tbl);
	return res;
}

const struct cmd_command keycmd_commands[] = {
	{ "rotate-master-key", CMD_ROLE_ADMIN, keycmd_rotate,
	    "re-wrap every case key under a new master key, destroy the old",
	    0, "reason=TEXT" },
	{ "export-key", CMD_ROLE_ADMIN, keycmd_export,
	    "one case's key, for an auditor (accord-audit --case-key)", 0,
	    "CASE reason=TEXT out=FILE [partner=CC]" },
	{ "erase", CMD_ROLE_ADMIN, keycmd_erase,
	    "delete a final case's keys: its messages become unreadable", 0,
	    "CASE reason=TEXT [partner=CC]" },
	{ "hold", CMD_ROLE_ADMIN, keycmd_hold,
	    "legal hold: neither erase nor the retention job erases the case",
	    0, "CASE reason=TEXT [partner=CC]" },
	{ "release", CMD_ROLE_ADMIN, keycmd_release,
	    "end a legal hold: the retention job may erase the case again",
	    0, "CASE reason=TEXT [partner=CC]" },
	{ "find-person", CMD_ROLE_ADMIN, keycmd_find_person,
	    "the cases of a person, by a keyed hash (journalled first)", 0,
	    "surname=NAME birth-date=YYYY-MM-DD [given=NAMES] reason=TEXT" },
	{ NULL, 0, NULL, NULL, 0, NULL }
};
