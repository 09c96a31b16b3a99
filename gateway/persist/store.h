/*
 * store.h -- the SQLite index of cases, messages, deadlines, outbox and
 * inbox, built by applying journal records.
 *
 * The journal is the truth; the store is an index (DESIGN.md section 3).
 * store_apply() writes what a journalled record says -- the fsm_case
 * snapshot and deadline operations of a decision, a message's header and
 * delivery state -- and never asks the fsm again.  It remembers the last
 * sequence number applied, in the same transaction as the record's
 * effects, so applying a record twice, or an older one, changes nothing;
 * at start-up the engine feeds it every record beyond store_last_applied(),
 * and when the database is lost or refused, store_rebuild() empties it and
 * the engine feeds it the whole journal.
 *
 * Every function returns 0 on success and -1 on failure (logged once,
 * with the SQLite error), except where it says otherwise.  The list
 * functions collect their rows before calling back, so a callback may
 * call any store function, including store_apply().  A callback returns 0
 * to go on, anything else to stop early.
 */
#ifndef ACCORD_STORE_H
#define ACCORD_STORE_H

#include <stddef.h>
#include <sys/types.h>

#include <stdint.h>

#include "util/clock.h"
#include "fsm/fsm.h"
#include "persist/record.h"

/* Schema version kept in PRAGMA user_version. */
#define STORE_SCHEMA_VERSION	6
#define STORE_SCHEMA_VERSION_S	"6"

struct store;

/* One journal record, for store_apply_batch(). */
struct store_record {
	enum journal_kind kind;		/* what it holds (record.h) */
	uint64_t	 seq;		/* journal sequence number */
	accord_time_t	 time;		/* when it was journalled */
	const void	*payload;
	size_t		 len;
	uint32_t	 file;		/* where it is in the journal (its */
	uint64_t	 offset;	/* header); file 0: not known */
};

/* A case as listed. */
struct store_case {
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	accord_time_t	 opened_at;	/* journal time of its first decision */
	accord_time_t	 updated_at;	/* ... of its last */
	accord_time_t	 next_due;	/* earliest armed deadline; 0 = none */
	struct fsm_case	 c;
};

/* A message's header and delivery as the store knows it. */
struct store_message {
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	enum record_dir	 direction;
	char		 case_id[RECORD_ID_MAX];
	char		 ref_to[RECORD_ID_MAX];
	enum msg_type	 type;
	enum record_msg_state state;
	char		 reason[RECORD_REASON_MAX];
	char		 sha256[RECORD_SHA256_HEX];
	accord_time_t	 created;
	accord_time_t	 received_at;
	uint64_t	 journal_seq;	/* the record holding its bytes */
	uint64_t	 receipt_seq;	/* the record of its receipt; 0 = none */
};

/* An armed deadline. */
struct store_deadline {
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	enum fsm_deadline which;
	accord_time_t	 due;
};

/* A message of ours waiting for delivery. */
struct store_outbox {
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	char		 case_id[RECORD_ID_MAX];
	uint64_t	 journal_seq;	/* where its bytes are */
	accord_time_t	 next_attempt;
	int		 attempts;
};

/* A received message the back office has not yet taken. */
struct store_inbox {
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	char		 case_id[RECORD_ID_MAX];
	enum msg_type	 type;
	uint64_t	 journal_seq;	/* where its bytes are */
};

/* Which cases store_list_cases() shows; store_case_filter_init() sets
 * "all". */
struct store_case_filter {
	int		 state;		/* enum fsm_state; -1 = any */
	int		 kind;		/* enum fsm_kind; -1 = any */
	const char	*partner;	/* NULL = any */
	const char	*case_id;	/* NULL = any */
	accord_time_t	 overdue_at;	/* non-zero: an armed deadline due
					 * before this instant */
	accord_time_t	 due_by;	/* non-zero: an armed deadline due at
					 * or before this instant ("due
					 * within N" is now + N) */
	accord_time_t	 updated_since;	/* non-zero: updated at or after */
	int		 overdue_states;	/* with overdue_at: also cases a
					 * missed deadline left waiting for
					 * an operator (EXPIRED,
					 * TRANSFER_OVERDUE, TRANSIT_EXPIRED) */
	const char	*after_partner;	/* non-NULL: a page, from the first */
	const char	*after_case;	/* case after (partner, case_id) */
	int		 by_due;	/* order by the next armed deadline,
					 * cases with none last, then by
					 * partner and case (else partner and
					 * case alone) */
	accord_time_t	 after_due;	/* by_due, a page: the next deadline
					 * of the case after_partner/case
					 * (0: it had none) */
	int		 limit;		/* at most this many (0: all) */
};

/* Which messages store_list_messages() shows; "all" after
 * store_message_filter_init(). */
struct store_message_filter {
	int		 state;		/* enum record_msg_state; -1 = any */
	int		 direction;	/* enum record_dir; -1 = any */
	const char	*partner;	/* NULL = any */
};

/* Delivery to one partner, for the operator (queues, alerts, metrics). */
struct store_queue {
	int		 depth;		/* messages in the outbox */
	accord_time_t	 oldest_queued;	/* Created of the oldest; 0 = none */
	int		 stuck;		/* ours UNDELIVERED or DISPUTED */
	accord_time_t	 last_contact;	/* latest Created of theirs or
					 * ReceivedAt of a receipt; 0 = never */
	int		 paused;	/* delivery paused by an operator */
};

typedef int (*store_case_cb)(void *arg, const struct store_case *c);
typedef int (*store_message_cb)(void *arg, const struct store_message *m);
typedef int (*store_deadline_cb)(void *arg, const struct store_deadline *d);
typedef int (*store_outbox_cb)(void *arg, const struct store_outbox *o);
typedef int (*store_inbox_cb)(void *arg, const struct store_inbox *i);

/*
 * Open (creating if need be) the store at path, in WAL mode.  Refuses a
 * database of another schema version, or one that is not a store.
 * @return the store, or NULL (logged).
 */
struct store *store_open(const char *path);

/*
 * Open an existing store for reading only (accordctl --offline, while the
 * daemon is down): nothing is created, changed or applied.
 * @return the store, or NULL (logged).
 */
struct store *store_open_readonly(const char *path);

/* How long a connection waits for a lock another process holds. */
#define STORE_BUSY_MS_DEFAULT	5000

/* What a store's busy handler saw (for tests and metrics). */
struct store_busy {
	uint64_t	 refused;	/* locked: gave up at once */
	uint64_t	 waits;		/* locked: slept and tried again */
};

/*
 * Wait at most ms for a lock held by another connection (0: never wait,
 * fail with a busy error at once).  The daemon sets 0 once it runs its
 * event loop: a store step that cannot proceed is retried from a timer.
 */
void store_set_busy_ms(struct store *st, int ms);

/*
 * WAL checkpoints on a thread of the store's own (store_ckpt.c) instead of
 * inside the commit that takes the WAL past pages (<= 0: 1,000, SQLite's
 * default): the daemon's loop then never syncs a file in a commit.  Stop
 * it before the store is closed or rebuilt (store_close and
 * store_rebuild do).  store_checkpoints() counts those it ran.
 * @return 0, or -1 (logged).
 */
#define STORE_CKPT_PAGES	1000
/* The daemon's: small checkpoints often.  A checkpoint's writes and
 * syncs hold up the journal's fdatasync on the same disk, so its size is
 * the latency's tail: bench_transport -l at half the rate measured p99
 * 51 to 60 ms with 1,000 pages, 33 to 37 ms with 256, 130 to 400 ms with
 * 8,000 to 32,000 (README, issue 20). */
#define STORE_CKPT_LOOP_PAGES	256
int store_checkpointer_start(struct store *st, int pages);
void store_checkpointer_stop(struct store *st);
uint64_t store_checkpoints(struct store *st);

/* For a rebuild or a long catch-up: a page cache of STORE_BULK_CACHE_KB
 * and rare WAL checkpoints while on; SQLite's defaults again when off.
 * @return 0/-1. */
#define STORE_BULK_CACHE_KB	262144
int store_set_bulk(struct store *st, int on);

/*
 * A rebuild from an empty store: its secondary indexes are dropped and
 * built once at the end, from the finished tables (a sort), where each
 * row would otherwise go into every index at a random place.  Nothing
 * the store applies reads them (every apply is by primary key).  Their
 * definitions wait in the store's deferred_indexes table, written in the
 * transaction that drops them, so that an interrupted rebuild gets them
 * back at the next catch-up.  store_defer_indexes() @return 0/-1;
 * store_restore_indexes() (nothing to do: 0) @return how many were
 * built, or -1.
 */
int store_defer_indexes(struct store *st);
int store_restore_indexes(struct store *st);
void store_busy_stats(const struct store *st, struct store_busy *out);

/* Close st; NULL is allowed. */
void store_close(struct store *st);

/*
 * Delete st's database files and create an empty schema in their place;
 * last applied becomes 0 and the engine replays the journal into it.
 * After a failure st may only be rebuilt again or closed.
 */
int store_rebuild(struct store *st);

/* Delete the database files at path, whether they open or not (a store
 * refused by store_open() is rebuilt this way). */
int store_remove(const char *path);

/*
 * Apply one journalled record in one transaction with the new last
 * applied seq.  A record with seq <= store_last_applied() is skipped
 * (returns 0).  On a malformed payload, a full disk or an I/O error
 * nothing is applied and -1 is returned.
 */
int store_apply(struct store *st, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const void *payload, size_t len);

/* Apply n records (in journal order) in one transaction: all or none. */
int store_apply_batch(struct store *st, const struct store_record *recs,
    size_t n);

/*
 * The same, a record at a time, for a catch-up that reads the journal as
 * it applies (no copy of the records kept): store_run_begin() opens the
 * transaction, store_run_apply() applies each record in journal order
 * (skipping those applied before), store_run_commit() commits them with
 * the new last applied seq, store_run_abort() rolls back (logged; no
 * run open: nothing): all or none.  A failed apply leaves the run to be
 * aborted.  Each @return 0, or -1.
 */
int store_run_begin(struct store *st);
int store_run_apply(struct store *st, const struct store_record *r);
int store_run_commit(struct store *st);
void store_run_abort(struct store *st);

/* Where a journal record is (the records index: every record that
 * belongs to a case). */
struct store_recpos {
	uint64_t		 seq;
	enum journal_kind	 kind;
	uint32_t		 file;
	uint64_t		 offset;
};

/*
 * The records of a case in journal order, from the first after seq
 * after, at most limit of them (0: no limit).  cb returns 0 to go on.
 * @return how many were given to cb, or -1.
 */
int store_case_records(struct store *st, const char *partner,
    const char *case_id, uint64_t after, int limit,
    int (*cb)(void *, const struct store_recpos *), void *arg);

/* Where record seq is.  @return 1 with *out, 0 not indexed, -1 error. */
int store_record_pos(struct store *st, uint64_t seq,
    struct store_recpos *out);

/* What a gauge counts. */
enum store_gauge {
	STORE_GAUGE_CASES,	/* by partner and state */
	STORE_GAUGE_MESSAGES,	/* business messages by direction, state */
	STORE_GAUGE_INBOX,	/* not acknowledged (one row, keys "") */
	STORE_GAUGE_OVERDUE	/* cases list --overdue shows (one row) */
};

/* Counts, from SQLite's aggregates (no row listing): cb gets each
 * (key1, key2, n).  now is for STORE_GAUGE_OVERDUE.  @return 0, or -1. */
int store_gauge(struct store *st, enum store_gauge g, accord_time_t now,
    int (*cb)(void *, const char *, const char *, long long), void *arg);

/* One row of a tally: how many cases, messages or events share these
 * values. */
struct store_tally {
	const char	*month;		/* "2026-11": opened, Created, or when
					 * the event happened ("" overdue) */
	const char	*partner;	/* cases, events */
	const char	*kind;		/* cases, events: "readmission"... */
	int		 reason;	/* cases: enum fsm_reason */
	const char	*direction;	/* messages */
	const char	*code;		/* messages: their reason up to ':' */
	const char	*state;
	const char	*role;		/* events: ours, "R" or "Q" */
	const char	*what;		/* events: "request", "notified",
					 * "accepted", "deemed", "refused",
					 * "expired", "transfer-overdue",
					 * "completed", "departed",
					 * "cancelled", "withdrawn",
					 * "not-sent"; "overdue" (now) */
	int		 ban;		/* events: entry ban years applied;
					 * -1 none (0: the ban rule ran and
					 * gave none) */
	const char	*ground;	/* refusals: a ground their reply
					 * states, "unknown" if none known */
	long long	 n;
};

/* stats, counted by SQLite (partner NULL: all): cb gets each group of
 * cases (store_tally_cases) or business messages (_messages).
 * @return 0, or -1. */
int store_tally_cases(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg);
int store_tally_messages(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg);
/* Events (store_tally_events: month, partner, kind, role, what, ban);
 * refusals by ground (_grounds: a refusal counts once under each ground
 * its reply states); the cases overdue at now (_overdue: partner, kind,
 * role, what "overdue", as list --overdue counts them). */
int store_tally_events(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg);
int store_tally_grounds(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg);
int store_tally_overdue(struct store *st, const char *partner,
    accord_time_t now, int (*cb)(void *, const struct store_tally *),
    void *arg);

/* The last journal seq applied; 0 when none. */
uint64_t store_last_applied(struct store *st);

/* The journal file the last applied record with a known place is in (0:
 * none yet): catching up reads from there on, not the whole journal. */
uint32_t store_last_applied_file(struct store *st);

/* @return 1 with *out filled, 0 if there is no such case, -1 on error. */
int store_case_get(struct store *st, const char *partner,
    const char *case_id, struct fsm_case *out);

/* For duplicate detection: the message (partner, message_id, direction).
 * @return 1 with *out filled, 0 if unknown, -1 on error. */
int store_message_find(struct store *st, const char *partner,
    const char *message_id, enum record_dir direction,
    struct store_message *out);

/* The latest business message (not a Receipt or Error) of a case in one
 * direction.  @return 1 with *out filled, 0 if none, -1 on error. */
int store_case_last_message(struct store *st, const char *partner,
    const char *case_id, enum record_dir direction,
    struct store_message *out);

/* The earliest armed deadline due after after (one held back at or
 * before it is skipped).  @return 1, 0 if none, -1 on error. */
int store_next_deadline_after(struct store *st, accord_time_t after,
    struct store_deadline *out);

/* A back office's submit with an idempotency key (request-id=). */
struct store_request {
	char		 sha256[RECORD_SHA256_HEX];	/* of the request */
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	char		 case_id[RECORD_ID_MAX];
	accord_time_t	 created;
};

/* The submit uid made with request_id.  Kept for good (a few rows per
 * message), rebuilt from the journal's submit records.
 * @return 1 with *out filled, 0 if none, -1 on error. */
int store_request_get(struct store *st, uid_t uid, const char *request_id,
    struct store_request *out);

/* The earliest armed deadline, for the timer.
 * @return 1 with *out filled, 0 if none is armed, -1 on error. */
int store_next_deadline(struct store *st, struct store_deadline *out);

/* Every armed deadline due at or before now, earliest first. */
int store_deadlines_due(struct store *st, accord_time_t now,
    store_deadline_cb cb, void *arg);

/* A page of them: those after the deadline after (NULL: from the first),
 * at most limit (0: all), in the same order, each page one range read
 * of the deadlines_due index. */
int store_deadlines_due_page(struct store *st, accord_time_t now,
    const struct store_deadline *after, int limit, store_deadline_cb cb,
    void *arg);

/* Set every field of f to "any". */
void store_case_filter_init(struct store_case_filter *f);

/* Cases matching f (NULL = all), by partner and case id. */
int store_list_cases(struct store *st, const struct store_case_filter *f,
    store_case_cb cb, void *arg);

/* Messages of one case, in journal order. */
int store_case_messages(struct store *st, const char *partner,
    const char *case_id, store_message_cb cb, void *arg);

/*
 * Outbox entries due at now: next_attempt <= now, partner not paused, and
 * no earlier message of the same case still waiting (messages of one
 * case leave in order).  Journal order, at most the first 32 of each
 * partner (more than the transport sends at once).
 */
int store_outbox_due(struct store *st, accord_time_t now, store_outbox_cb cb,
    void *arg);
/* The same, but partners for which full(full_arg, partner) is true are
 * not asked for (the transport's connections to them are all busy: the
 * rows would be read and dropped, on every scan). */
int store_outbox_due_some(struct store *st, accord_time_t now,
    int (*full)(void *, const char *), void *full_arg, store_outbox_cb cb,
    void *arg);

/* The oldest outbox entry of partner, due or not (unless the partner is
 * paused): what a probe of a failing partner sends. */
int store_outbox_oldest(struct store *st, const char *partner,
    store_outbox_cb cb, void *arg);

/* Received business messages not yet acknowledged by the back office
 * (REC_INBOX_ACK), in journal order. */
int store_inbox_pending(struct store *st, store_inbox_cb cb, void *arg);

/* A page of them: after journal seq after, at most limit (0: all), of
 * partner only unless NULL.  Each page is one indexed range read. */
int store_inbox_page(struct store *st, const char *partner, uint64_t after,
    int limit, store_inbox_cb cb, void *arg);

/* Which partners sent message_id (inbox: still unacknowledged), or got
 * it from us (!inbox): the first two in partners.  One lookup by key
 * per partner with rows, never a listing.  @return how many (0 to 2),
 * or -1. */
int store_which_partner(struct store *st, const char *message_id, int inbox,
    char partners[2][RECORD_PARTNER_MAX]);

/* Set every field of f to "any". */
void store_message_filter_init(struct store_message_filter *f);

/* Messages matching f (NULL = all), in journal order. */
int store_list_messages(struct store *st,
    const struct store_message_filter *f, store_message_cb cb, void *arg);

/* Is (partner, message_id) in the inbox?  @return 1 with *acked set, 0 if
 * it never was (not received, or refused), -1 on error. */
int store_inbox_get(struct store *st, const char *partner,
    const char *message_id, int *acked);

/* Delivery figures of one partner. @return 0, or -1. */
int store_partner_queue(struct store *st, const char *partner,
    struct store_queue *q);

/* Tests: limit the database to pages pages (PRAGMA max_page_count) so that
 * a write fails with SQLITE_FULL as on a full disk.  0 lifts the limit. */
int store_test_max_pages(struct store *st, int pages);

#endif
