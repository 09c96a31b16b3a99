/*
 * keycmd.c -- rotate-master-key, export-key, erase, and the legal hold
 * on erasure, hold and release (see keycmd.h).
 *
 * export-key answers with the key's text (key_file): accordctl writes it
 * to the file out= names, mode 0600, and never prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "faces/casecmd.h"
#include "faces/keycmd.h"
#include "persist/store.h"
#include "report/cmd.h"
#include "report/report.h"
#include "util/aead.h"
#include "util/errcode.h"

/* The reason=, which every key command needs.  @return it, or NULL. */
static const char *
keycmd_reason(json_t *args)
{
	const char *r = cmd_opt(args, "reason");

	return r != NULL && r[0] != '\0' ? r : NULL;
}

static json_t *
keycmd_rotate(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct casecmd_ctx *ctx = arg;
	struct engine_answer a;
	const char *reason = keycmd_reason(args);

	if (reason == NULL || cmd_arg(args, 0) != NULL)
		return cmd_fail(code, text, len, "BAD_REQUEST", "usage: "
		    "rotate-master-key reason=TEXT");
	if (engine_rotate_master_key(ctx->engine, who->uid, reason, &a) == -1)
		return cmd_fail(code, text, len, errcode_name(a.code), "%s",
		    a.text);
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
	{ NULL, 0, NULL, NULL, 0, NULL }
};
