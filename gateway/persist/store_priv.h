/*
 * store_priv.h -- what the files of the store share and nothing else may
 * use: the open store, its prepared statements, and the helpers that
 * bind and run them.  store.h is the interface.
 *
 *	store.c		 the connection: open, close, schema, busy
 *			 handling, rebuild; the statements and their helpers
 *	store_apply.c	 applying journal records
 *	store_query.c	 the read queries, filters and listings
 */
#ifndef ACCORD_STORE_PRIV_H
#define ACCORD_STORE_PRIV_H

#include <stdint.h>

#include <sqlite3.h>

#include "persist/store.h"

/* Statements prepared once at open; the apply path runs only these. */
enum store_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_SET_LAST,
	SQ_CASE_UPSERT,
	SQ_DL_SET,
	SQ_DL_CLEAR,
	SQ_DL_FIRED,
	SQ_MSG_INSERT,
	SQ_MSG_ANSWER,
	SQ_MSG_STATE,
	SQ_OUTBOX_ADD,
	SQ_OUTBOX_DEL,
	SQ_OUTBOX_RETRY,
	SQ_INBOX_ADD,
	SQ_INBOX_DEL,
	SQ_INBOX_ACK,
	SQ_PAUSE,
	SQ_OUTBOX_REQUEUE,
	SQ_DL_NEXT_AFTER,
	SQ_CASE_LAST,
	SQ_REQUEST_ADD,
	SQ_OUTBOX_OLDEST,
	SQ_REQUEST_GET,
	SQ_CASE_GET,
	SQ_MSG_FIND,
	SQ_DL_NEXT,
	SQ_DL_DUE,
	SQ_CASE_MSGS,
	SQ_OUTBOX_DUE,
	SQ_OUTBOX_PARTNERS,
	SQ_INBOX_PENDING,
	SQ_INBOX_PENDING_PARTNER,
	SQ_INBOX_WHICH,
	SQ_MSG_WHICH_OUT,
	SQ_REC_ADD,
	SQ_REC_ADD_MSG,
	SQ_REC_CASE,
	SQ_REC_GET,
	SQ_COUNT_CASES,
	SQ_COUNT_MSGS,
	SQ_COUNT_INBOX,
	SQ_COUNT_OVERDUE,
	SQ_TALLY_CASES,
	SQ_TALLY_MSGS,
	SQ_EVENT_ADD,
	SQ_GROUND_ADD,
	SQ_TALLY_EVENTS,
	SQ_TALLY_GROUNDS,
	SQ_TALLY_OVERDUE,
	SQ_COUNT
};

/* The columns of a message row, in the order store_query.c reads them. */
#define STORE_MSG_COLS "partner, message_id, direction, case_id, ref_to, " \
	"type, state, reason, sha256, created, received_at, journal_seq, " \
	"receipt_seq"

struct store {
	char		*path;
	sqlite3		*db;
	sqlite3_stmt	*stmt[SQ_COUNT];
	uint64_t	 last;		/* meta.last_applied_seq */
	uint32_t	 last_file;	/* meta.last_applied_file */
	char		 err[512];	/* why the last step failed */
	int		 readonly;	/* 1 read-only, 2 immutable (uri) */
	char		*uri;		/* file:...?immutable=1 */
	int		 busy_ms;	/* how long a locked database is
					 * waited for; 0: never */
	struct store_busy busy;		/* what the busy handler saw */
	struct walckpt	*ckpt;		/* checkpoints off the loop, or
					 * NULL (store_ckpt.c, walckpt.h) */
	/* a run of records in one open transaction (store_run_*) */
	int		 run_open;
	uint64_t	 run_last;	/* the run's last applied seq */
	uint32_t	 run_last_file;
	uint64_t	 run_failed_seq; /* the record that failed, or 0 */
	enum journal_kind run_failed_kind;
};

/* store_ckpt.c: put the checkpointer's WAL hook on st->db again (after a
 * PRAGMA wal_autocheckpoint, which replaces it); the checkpointer's
 * threshold, 0 when none runs. */
void		 store_ckpt_hook_install(struct store *st);
int		 store_checkpointer_pages(const struct store *st);

/* Keep a printf-formatted reason in st->err for the caller's log line. */
void		 store_seterr(struct store *st, const char *fmt, ...);

/* Keep SQLite's message for result code rc in st->err. */
void		 store_setsqlerr(struct store *st, int rc);

/*
 * Bind the arguments described by fmt to statement id -- 's' a string,
 * 'i' an int, 'I' an int64_t -- and run it to its end.
 * @return 0, or -1 with st->err set.
 */
int		 store_exec(struct store *st, enum store_stmt id,
		    const char *fmt, ...);

/* Bind statement id as store_exec() does; the caller steps it through
 * its rows and resets it.  @return it, or NULL with st->err set. */
sqlite3_stmt	*store_query(struct store *st, enum store_stmt id,
		    const char *fmt, ...);

/* Roll back the transaction, if SQLite has not already. */
void		 store_rollback(struct store *st);

#endif
