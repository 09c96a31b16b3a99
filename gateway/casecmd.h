/*
 * casecmd.h -- the control socket's case commands: status, list,
 * timeline, submit, record (protocols/control.md).
 *
 * Handlers for control.c's command table.  They ask the engine and its
 * store; they never write the store themselves.
 */
#ifndef ACCORD_CASECMD_H
#define ACCORD_CASECMD_H

#include <jansson.h>

#include "control.h"
#include "engine.h"

/* What the handlers work on; owned by accordd. */
struct casecmd_ctx {
	struct engine		 *engine;
	const struct config	**conf;		/* the one in force */
	/* a message was queued: hand it to the transport (may be NULL) */
	void			(*queued)(void *arg,
				    const struct engine_outgoing *out);
	void			 *queued_arg;
	/* the clock moved (test builds): run the deadline timer now */
	void			(*clock_moved)(void *arg);
	void			 *clock_arg;
};

json_t *casecmd_status(void *arg, const struct control_caller *who,
    json_t *args, const char **code, char *text, size_t len);
json_t *casecmd_list(void *arg, const struct control_caller *who,
    json_t *args, const char **code, char *text, size_t len);
json_t *casecmd_timeline(void *arg, const struct control_caller *who,
    json_t *args, const char **code, char *text, size_t len);
json_t *casecmd_submit(void *arg, const struct control_caller *who,
    json_t *args, const char **code, char *text, size_t len);
json_t *casecmd_record(void *arg, const struct control_caller *who,
    json_t *args, const char **code, char *text, size_t len);
/* Test-clock builds only: clock set TIME | advance SECONDS | show. */
json_t *casecmd_clock(void *arg, const struct control_caller *who,
    json_t *args, const char **code, char *text, size_t len);

/* The case commands, for control_add_commands() with a casecmd_ctx. */
extern const struct control_command casecmd_commands[];

/* "2d", "36h", "90m", "45s" or plain seconds. @return 0/-1. */
int casecmd_parse_duration(const char *s, long long *out);

#endif
