/*
 * control_priv.h -- what the control socket's files share: a connection,
 * its held responses, the socket; control_work.c runs the read-only
 * commands (CMD_WORKER) on a thread of their own so that the event loop
 * never waits for a report.
 */
#ifndef ACCORD_CONTROL_PRIV_H
#define ACCORD_CONTROL_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "faces/control.h"

#define CONTROL_MAX_TOPICS	4
/* Seconds a connection may stay without a complete request line (one
 * that follows events, or waits for our answers, excepted). */
#define CONTROL_IDLE		30

struct control_job;
struct control_worker;

struct control_conn {
	struct control		*ctl;
	struct bufferevent	*bev;
	struct event		*idle;		/* CONTROL_IDLE without a line */
	struct cmd_caller	 caller;
	struct control_conn	*next;
	int			 closing;
	char			 topics[CONTROL_MAX_TOPICS][CONTROL_TOPIC_MAX];
	int			 ntopics;
	/* responses of one read, held until their records are committed */
	int			 holding;
	uint64_t		 mark;		/* of the request being served */
	json_t			*id;		/* ... and its id */
	struct control_held	*held;
	size_t			 nheld;
	size_t			 capheld;
};

/* A response waiting for the commit of the records its request made. */
struct control_held {
	char		*line;
	uint64_t	 mark;		/* 0: made no records */
	json_t		*id;
	struct control_job *job;	/* running on the worker: wait */
	uint64_t	 deferred;	/* a handler answers later: wait */
};

struct control {
	struct event_base	*base;
	struct evconnlistener	*listener;
	const struct config	*conf;
	struct control_table	 tables[CONTROL_MAX_TABLES];
	int			 ntables;
	char			*path;
	struct control_conn	*conns;
	int			 nconns;
	const struct control_commit *commit;	/* NULL: answer at once */
	void			*commit_arg;
	struct control_worker	*worker;	/* read-only commands */
	uint64_t		 next_deferred;
};

/* Send the held responses of cc that may go, in order. */
void control_release_settled(struct control_conn *cc);

/*
 * Run cmd on the worker thread for cc; its response takes h's place in
 * cc's order when it is done (h->line is set then, h->job cleared).
 * args and id are borrowed (the worker gets copies).  @return 0, or -1
 * (no thread: the caller runs cmd itself).
 */
int control_work_submit(struct control *ctl, struct control_conn *cc,
    const struct cmd_command *cmd, void *harg, json_t *args, json_t *id,
    struct control_held *h);

/* cc is going away: its jobs' answers are dropped when they are done. */
void control_work_forget(struct control *ctl, struct control_conn *cc);

/* Wait until the worker has no job (before the configuration it reads
 * is freed). */
void control_work_drain(struct control *ctl);

/* Stop the thread (after draining) and free what it holds. */
void control_work_stop(struct control *ctl);

#endif
