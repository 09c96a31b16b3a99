/*
 * fuzz_control.c -- what the control socket does with the bytes a client
 * writes: cut them into lines as control_read() does (LF, an empty line
 * skipped, a last line without LF left waiting), parse each with
 * cmd_request_parse() (faces/control.c's parser), and run a command of
 * report_commands -- the read-only reports, which the daemon runs on its
 * worker thread and accordctl --offline in its own process -- with the
 * request's arguments, on a store seeded by tests/helpers/seed_cases
 * ($FUZZ_STATE, opened read-only) and the configuration $FUZZ_CONF,
 * then encode the response as control_send() does.  The daemon's own
 * commands (submit, ops) need a running engine and are not reached.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/config.h"
#include "conf/conffile.h"
#include "persist/store.h"
#include "report/cmd.h"
#include "report/report.h"
#include "util/clock.h"
#include "fuzzutil.h"

/* faces/control.c: the message size twice, plus 64 KiB */
#define FUZZ_MAX_LINE	(1048576 * 2 + 65536)

static struct report_ctx ctx;
static const struct config *conf;
static char journal_dir[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf_diag d = { 0 };
	char db[4096];
	const char *state;

	fuzz_log_init("fuzz_control");
	state = fuzz_env("FUZZ_STATE");
	snprintf(db, sizeof(db), "%s/store.db", state);
	snprintf(journal_dir, sizeof(journal_dir), "%s/journal", state);
	if ((conf = config_load(fuzz_env("FUZZ_CONF"), clock_now(),
	    &d)) == NULL) {
		conf_diag_print(&d, stderr);
		exit(2);
	}
	conf_diag_free(&d);
	if ((ctx.store = store_open_readonly(db)) == NULL) {
		fprintf(stderr, "fuzz_control: cannot open %s\n", db);
		exit(2);
	}
	ctx.conf = &conf;
	ctx.journal_dir = journal_dir;
	return 0;
}

static void
fuzz_request(const char *line, size_t len)
{
	const struct cmd_command *cmd;
	struct cmd_request rq;
	struct cmd_caller who;
	json_t *args, *res, *r;
	const char *code = "INTERNAL";
	char text[512], *s;

	if (cmd_request_parse(line, len, &rq, text, sizeof(text)) == -1) {
		json_decref(rq.req);
		return;
	}
	for (cmd = report_commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, rq.name) == 0)
			break;
	if (cmd->name == NULL) {
		json_decref(rq.req);
		return;
	}
	memset(&who, 0, sizeof(who));
	who.uid = getuid();
	who.gid = getgid();
	who.pid = getpid();
	who.roles = CMD_ROLE_READ;
	who.command = cmd->name;
	args = rq.args != NULL ? json_incref(rq.args) : json_object();
	text[0] = '\0';
	res = cmd->handler(&ctx, &who, args, &code, text, sizeof(text));
	json_decref(args);
	if (res != NULL)
		r = json_pack("{s:b, s:o}", "ok", 1, "result", res);
	else
		r = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
		    code, "text", text[0] ? text : "command failed");
	if (r == NULL)
		abort();	/* a handler's code or result that jansson
				 * cannot take */
	if (rq.id != NULL)
		json_object_set(r, "id", rq.id);
	s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	free(s);
	json_decref(r);
	json_decref(rq.req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	char *line;
	size_t len;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		len = (size_t)(nl - p);
		/* evbuffer_readln gives the line as a string of its own */
		if (len > 0 && len <= FUZZ_MAX_LINE &&
		    (line = malloc(len + 1)) != NULL) {
			memcpy(line, p, len);
			line[len] = '\0';
			fuzz_request(line, len);
			free(line);
		}
		p = nl + 1;
	}
	return 0;
}
