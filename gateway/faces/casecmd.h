/*
 * casecmd.h -- the control socket's case commands: status, list,
 * timeline, submit, record (protocols/control.md).  The operations
 * commands (inbox, ack, resend, pause, alerts, stats...) are opscmd.c's;
 * casecmd_commands serves both.
 *
 * Handlers for control.c's command table.  They ask the engine and its
 * store; they never write the store themselves.  The read-only ones
 * (status, list, timeline, stats, alerts) also run in accordctl --offline
 * on a store opened read-only: then engine is NULL and store and
 * journal_dir are set.
 */
#ifndef ACCORD_CASECMD_H
#define ACCORD_CASECMD_H

#include <jansson.h>

#include "faces/control.h"
#include "engine/engine.h"

/* What the handlers work on; owned by accordd (or accordctl offline). */
struct casecmd_ctx {
	struct engine		 *engine;	/* NULL offline */
	const struct config	**conf;		/* the one in force; NULL or
						 * *conf NULL when unknown */
	/* a message was queued: hand it to the transport (may be NULL) */
	void			(*queued)(void *arg,
				    const struct engine_outgoing *out);
	void			 *queued_arg;
	/* the clock moved (test builds): run the deadline timer now */
	void			(*clock_moved)(void *arg);
	void			 *clock_arg;
	/* the control socket commits after each read (control_set_commit):
	 * submits append only */
	int			  group_commit;
	/* offline (accordctl): the store opened read-only, the journal */
	struct store		 *store;
	const char		 *journal_dir;
	int			  offline;
	/* streams: the socket, learnt from the first subscriber */
	struct control		 *control;
};

/* Helpers shared with opscmd.c. */
/* argv[i] of the request, or NULL. */
const char *casecmd_arg(json_t *args, size_t i);
/* args' string member name, or NULL. */
const char *casecmd_opt(json_t *args, const char *name);
/* 1 if args' member name is true (or "true"). */
int casecmd_flag(json_t *args, const char *name);
/* "3d 04h", "-1d 02h" (overdue) into buf. @return buf. */
char *casecmd_left(long long secs, char *buf, size_t len);
/* The store the handlers read: the engine's, or the offline one. */
struct store *casecmd_store(struct casecmd_ctx *ctx);
/* The configuration in force, or NULL (offline without one). */
const struct config *casecmd_conf(struct casecmd_ctx *ctx);

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
