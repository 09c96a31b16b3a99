/*
 * control.h -- the local control socket: JSON lines over a UNIX stream
 * socket for operators (accordctl) and back-office systems.
 *
 * Protocol (protocols/control.md): the daemon greets each connection with
 * a hello line; then each request is one JSON object on one line, and each
 * response one JSON object on one line, in order.  Access: the peer's uid
 * comes from SO_PEERCRED and its groups from getgrouplist(); configured
 * groups map to the roles read, submit and admin.  Root holds every role.
 */
#ifndef ACCORD_CONTROL_H
#define ACCORD_CONTROL_H

#include <sys/types.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf/config.h"
#include "report/cmd.h"

#define CONTROL_PROTOCOL_VERSION	1

struct control;
struct control_conn;

/* A command table and the argument its handlers get. */
struct control_table {
	const struct cmd_command	*cmds;	/* ends with a NULL name */
	void				*arg;
};

#define CONTROL_MAX_TABLES	8

/* Serve another table of commands (e.g. casecmd.c's), arg passed to its
 * handlers.  @return 0, or -1 when there are too many tables. */
int control_add_commands(struct control *ctl,
    const struct cmd_command *cmds, void *arg);

/* The tables served, for help. */
const struct control_table *control_tables(const struct control *ctl,
    int *n);

/*
 * Roles of a peer: root has every role; otherwise each configured group
 * the peer belongs to (primary or supplementary) gives its role, and
 * admin implies submit and read.  groups may be NULL when ngroups is 0.
 */
unsigned control_roles(const struct config *c, uid_t uid, gid_t gid,
    const gid_t *groups, int ngroups);

/* "read,submit" into buf. @return buf. */
char *control_roles_string(unsigned roles, char *buf, size_t len);

/*
 * Create the socket at c->control_socket (mode 0660, group
 * c->control_group), and serve the commands (a table ending with a NULL
 * name; arg is passed to every handler).  A stale socket file is
 * replaced; a live one (another daemon answering) is an error.
 * @return the control, or NULL (logged).
 */
struct control *control_start(struct event_base *base,
    const struct config *c, const struct cmd_command *cmds, void *arg);

/* The socket's directory, made if missing (control_start() does it too):
 * for a privilege-separated parent, which makes it as root before the
 * engine, no longer root, starts.  @return 0, or -1 (logged). */
int control_socket_dir(const struct config *c);

/*
 * Streams (inbox --follow, monitor).  A handler subscribes its caller's
 * connection to a topic; after the handler's response, every
 * control_publish() on that topic sends the connection one line
 * {"event": TOPIC, "data": DATA}, until the client closes it.  A
 * subscriber that lets more than CONTROL_SUB_BACKLOG bytes of events pile
 * up unread is disconnected (logged): a slow reader never holds the
 * daemon's memory.
 */
#define CONTROL_SUB_BACKLOG	(4 * 1024 * 1024)
#define CONTROL_TOPIC_MAX	16	/* a topic name's size, with the NUL */

/* @return 0, or -1 if the topic name is too long or cc has too many. */
int control_subscribe(struct control_conn *cc, const char *topic);

/* data is borrowed.  @return the number of subscribers it went to. */
int control_publish(struct control *ctl, const char *topic, json_t *data);

/* How many connections follow topic (0: nothing to publish). */
int control_subscribers(const struct control *ctl, const char *topic);

/*
 * Group commit for the socket: a handler may journal without committing;
 * the responses of one read wait for one flush().  mark() names the batch
 * a request is about to append to; committed(mark) says whether it
 * reached the disk (a response whose batch did not becomes an error).
 */
struct control_commit {
	uint64_t	(*mark)(void *arg);
	int		(*flush)(void *arg);	/* start the commit */
	int		(*settled)(void *arg, uint64_t mark);	/* known? */
	int		(*committed)(void *arg, uint64_t mark);
};

/*
 * A handler that answers later (a submit being signed off the loop)
 * calls control_defer(), which keeps the request's place in its
 * connection's order, and returns NULL with *code set to NULL.  The
 * answer comes with control_deferred_done() (res taken over, or NULL
 * with code and text), and waits for the commit of the batch open then;
 * control_deferred_flush() starts that commit and sends what may go.
 * @return the token (0: no connection, answer at once).
 */
uint64_t control_defer(const struct cmd_caller *who);
void control_deferred_done(struct control *ctl, uint64_t token, json_t *res,
    const char *code, const char *text);
void control_deferred_flush(struct control *ctl);

/* A commit landed: send the responses that waited for it. */
void control_committed(struct control *ctl);

void control_set_commit(struct control *ctl, const struct control_commit *cm,
    void *arg);

/* Wait until no report runs on the worker thread: before freeing a
 * configuration the reports may read. */
void control_drain(struct control *ctl);

/* Point at a new configuration after a reload (roles, limits). */
void control_set_config(struct control *ctl, const struct config *c);

/* Close every connection, remove the socket file. */
void control_stop(struct control *ctl);

#endif
