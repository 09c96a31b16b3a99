/*
 * report.h -- the read-only reports: what an operator asks about cases
 * and queues, answered from a read-only connection to the store (and,
 * for a timeline, the journal's files).  The daemon serves them on its
 * control socket with a connection of its own; accordctl --offline runs
 * the same handlers in its process.  Nothing here writes.
 */
#ifndef ACCORD_REPORT_H
#define ACCORD_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "conf/config.h"
#include "persist/store.h"
#include "report/cmd.h"

/*
 * What the daemon's transport knows of its link to a partner right now
 * (in its memory only: lost at a restart, like the retry schedule).
 */
struct report_link {
	accord_time_t	 failing_since;	/* first failure since the last
					 * success; 0: not failing */
	int		 failures;	/* attempts failed since then */
	char		 last_error[200];
	accord_time_t	 last_error_at;	/* 0: none */
	accord_time_t	 last_success_at;	/* 0: none since the start */
	accord_time_t	 next_attempt;	/* 0: none planned */
};

/* One delivery attempt of a message of ours (in the daemon's memory). */
struct report_attempt {
	accord_time_t	 time;
	char		 error[200];	/* "": answered */
};

/* What the daemon knows of its time-stamp authority (<timestamp>) right
 * now, in memory: lost at a restart. */
struct report_tsa {
	char		 url[256];
	accord_time_t	 failing_since;	/* first failure since the last
					 * token; 0: not failing */
	int		 failures;	/* requests failed since then */
	char		 last_error[200];
	accord_time_t	 next_attempt;	/* 0: none planned */
	uint64_t	 stamped;	/* the latest checkpoint stamped */
	uint64_t	 waiting;	/* the checkpoint waiting, 0: none */
};

/* What the reports read; owned by accordd (or accordctl --offline). */
struct report_ctx {
	struct store		 *store;	/* opened read-only */
	const struct config	**conf;		/* the one in force; NULL or
						 * *conf NULL when unknown */
	const char		 *journal_dir;
	/* metrics: what the daemon adds (its counters), from the thread
	 * the report runs on; NULL offline */
	void			(*more_metrics)(void *arg, FILE *fp);
	void			 *more_arg;
	/* the live link to partner, from the thread the report runs on
	 * (thread-safe); NULL offline.  @return 1 with *out set, 0 when
	 * nothing is known of it */
	int			(*link)(const char *partner,
				    struct report_link *out);
	/* the latest delivery attempts of one message of ours, oldest
	 * first, at most max (thread-safe); NULL offline.  @return how
	 * many were put in out */
	int			(*attempts)(const char *partner,
				    const char *message_id,
				    struct report_attempt *out, int max);
	/* the time-stamp authority (thread-safe); NULL offline or when
	 * none is configured.  @return 1 with *out set, 0 when none */
	int			(*tsa)(struct report_tsa *out);
};

/* The configuration in force, or NULL (offline without one). */
const struct config *report_conf(const struct report_ctx *ctx);

/*
 * The case args name: "CASE" alone when the id is unique across partners,
 * or with partner=CC.  @return 1 found, 0 not (code and text set), -1 a
 * store error (code and text set).
 */
int report_find_case(struct report_ctx *ctx, json_t *args,
    struct store_case *out, const char **code, char *text, size_t len);

/* report_retain.c: status's line on the case's retention (erased, on
 * hold, or when it will be erased), to fp.  @return it as JSON. */
json_t *report_retain(struct report_ctx *ctx, const struct store_case *sc,
    accord_time_t now, FILE *fp);

/* The handlers (arg: a struct report_ctx). */
CMD_HANDLER(report_status);
CMD_HANDLER(report_list);
CMD_HANDLER(report_timeline);
CMD_HANDLER(report_queues);
CMD_HANDLER(report_alerts);
CMD_HANDLER(report_stats);
CMD_HANDLER(report_metrics_cmd);

/* The read-only commands, for the control socket and accordctl. */
extern const struct cmd_command report_commands[];

/* One line of a case's history, read back from the journal. */
struct report_history {
	uint64_t	 seq;
	accord_time_t	 time;		/* when it was journalled */
	const char	*what;		/* "message", "decision", "refusal",
					 * "deadline", "delivery", "operator" */
	char		 text[320];
};

/*
 * Everything about one case, in journal order, from the first record
 * after seq after, at most limit records (0: all): the store's records
 * index says where each is, and each is read from journal_dir on its own
 * (journal_read_at), never by scanning the journal.  cb returns 0 to go
 * on.  @return 0, or -1 (a record could not be read or checked).
 */
int report_case_history(const char *journal_dir, struct store *st,
    const char *partner, const char *case_id, uint64_t after, int limit,
    int (*cb)(void *, const struct report_history *), void *arg);

/*
 * The store's gauges in Prometheus text exposition (cases, messages,
 * overdue, inbox, next deadline, applied sequence, and with a
 * configuration the outbox, pauses and certificates; counted by SQLite,
 * never listed), then ctx->more_metrics's.  @return 0, or -1 when the
 * store could not be read (what was written is partial).
 */
int report_metrics(struct report_ctx *ctx, FILE *fp);

/* Lookups for the daemon's commands.  @return 1 found, 0 not, -1 error. */
int report_message_find(struct report_ctx *ctx, const char *partner,
    const char *message_id, enum record_dir dir, struct store_message *out);
int report_inbox_get(struct report_ctx *ctx, const char *partner,
    const char *message_id, int *acked);
/* Received messages not yet acknowledged, oldest first: of partner
 * (NULL: all), after journal seq after, at most limit (0: all).
 * @return 0/-1. */
int report_inbox(struct report_ctx *ctx, const char *partner, uint64_t after,
    int limit, int (*cb)(void *, const struct store_inbox *), void *arg);
/*
 * Which partner sent us message_id still in the inbox (inbox), or got
 * message_id from us (!inbox): partner (RECORD_PARTNER_MAX bytes) is set
 * from the first.  @return how many partners have it (2: two or
 * more), or -1.
 */
int report_which_partner(struct report_ctx *ctx, const char *message_id,
    int inbox, char *partner);

#endif
