/*
 * cmd.h -- the shape of a control command, shared by the daemon's control
 * socket (faces/control.c) and accordctl --offline, which runs the
 * read-only reports in its own process: the caller, the handler, the
 * command table, and the helpers every handler uses to read its
 * arguments and to answer.  No libevent: this is the core's.
 */
#ifndef ACCORD_CMD_H
#define ACCORD_CMD_H

#include <sys/types.h>
#include <stdio.h>

#include <jansson.h>

#include "conf/config.h"
#include "util/clock.h"

/* Role bits. */
#define CMD_ROLE_READ	(1u << CONF_ROLE_READ)
#define CMD_ROLE_SUBMIT	(1u << CONF_ROLE_SUBMIT)
#define CMD_ROLE_ADMIN	(1u << CONF_ROLE_ADMIN)

struct control;
struct control_conn;

/* What a command handler learns about its caller. */
struct cmd_caller {
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	unsigned	 roles;		/* CMD_ROLE_* */
	const char	*command;	/* the command being served */
	struct control	*ctl;		/* the socket serving it (NULL when a
					 * handler runs offline in accordctl) */
	struct control_conn *conn;	/* its connection (NULL offline) */
};

/*
 * A command: handler returns a new JSON result object on success, or
 * NULL with *code and *text set (code from protocols/control.md).
 */
typedef json_t *(*cmd_handler)(void *arg, const struct cmd_caller *,
    json_t *args, const char **code, char *text, size_t textlen);

/* Declares a handler: CMD_HANDLER(report_status); */
#define CMD_HANDLER(name) \
	json_t *name(void *arg, const struct cmd_caller *who, json_t *args, \
	    const char **code, char *text, size_t len)

struct cmd_command {
	const char	*name;
	unsigned	 role;		/* role needed: CMD_ROLE_* */
	cmd_handler	 handler;
	const char	*help;		/* what it does, one line */
	unsigned	 flags;		/* CMD_WORKER */
	const char	*usage;		/* what it takes, after its name:
					 * "CASE [partner=CC] [--csv]" (see
					 * cmd_check_args); "" nothing */
};

/* The handler only reads (its own read-only store connection): the
 * daemon runs it off the event loop, on the control socket's worker
 * thread.  It may not use the engine, the socket or the connection. */
#define CMD_WORKER	0x1

/* One request line of the control socket, parsed: what the daemon reads
 * on the socket and what tests/fuzz/fuzz_control.c feeds. */
struct cmd_request {
	json_t		*req;		/* the object; json_decref() it */
	json_t		*id;		/* "id", any JSON value, or NULL */
	const char	*name;		/* "cmd" */
	json_t		*args;		/* "args", an object, or NULL */
};

/*
 * Parse one request line (len bytes, no newline): a JSON object (no
 * duplicate keys) with a "cmd" string and, if any, an "args" object.
 * @return 0 with r filled, or -1 with text set (the code is BAD_REQUEST);
 * r->req is then set (free it) and r->id with it when the line was an
 * object, so that the error can still carry the request's id.
 */
int cmd_request_parse(const char *line, size_t len, struct cmd_request *r,
    char *text, size_t textlen);

/* Room for an error text: reload's carries the configuration's errors. */
#define CMD_TEXT_MAX	8192

/*
 * Refuse what cmd's usage does not declare: a key=value or --flag it does
 * not name, a flag given a value or a key given none, more positional
 * arguments than it names.  The usage's words: "key=WHAT" a key,
 * "--name" a flag, anything else a positional argument; a word in
 * brackets is optional.  @return 0, or -1 with why in text.
 */
int cmd_check_args(const struct cmd_command *cmd, json_t *args, char *text,
    size_t len);
/* "usage: accordctl list [state=S] ..." of cmd into buf.  @return buf. */
char *cmd_usage(const struct cmd_command *cmd, char *buf, size_t len);
/* "due in 3d 4h", "overdue by 2h", "due in 45m" for secs left. */
char *cmd_due(long long secs, char *buf, size_t len);

/* argv[i] of the request, or NULL. */
const char *cmd_arg(json_t *args, size_t i);
/* args' string member name, or NULL. */
const char *cmd_opt(json_t *args, const char *name);

/* limit=N of a paged command, 1 to max (0 when absent).  @return 0, or
 * -1 with code and text. */
int cmd_limit(json_t *args, long long *limit, long long max,
    const char **code, char *text, size_t len);

/* after=SEQ (0 when absent: from the start) and limit=N, as cmd_limit().
 * @return 0, or -1 with code and text. */
int cmd_page(json_t *args, long long *after, long long *limit,
    long long max, const char **code, char *text, size_t len);
/* 1 if args' member name is true (or "true"). */
int cmd_flag(json_t *args, const char *name);
/* "2d", "36h", "90m", "45s" or plain seconds. @return 0/-1. */
int cmd_parse_duration(const char *s, long long *out);
/* "3d 04h", "-1d 02h" (overdue) into buf. @return buf. */
char *cmd_left(long long secs, char *buf, size_t len);
/* "2026-11" of t. */
void cmd_month(accord_time_t t, char buf[8]);

/* Set *code and text (printf-style). @return NULL, for the handler. */
json_t *cmd_fail(const char **code, char *text, size_t len, const char *c,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Close fp and set res's "text" to what it holds (*buf freed).
 * @return res. */
json_t *cmd_text_result(json_t *res, FILE *fp, char **buf, size_t *blen);

/* Add one to the integer at root[k1][k2]... (keys end with NULL). */
void cmd_bump(json_t *root, ...);
/* Add n to it. */
void cmd_add(json_t *root, long long n, ...);
/* obj's keys, sorted (free() the array, not the keys); NULL: no memory. */
const char **cmd_keys(json_t *obj, size_t *n);

#endif
