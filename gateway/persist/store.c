/*
 * store.c -- SQLite index of the journal: cases, messages, deadlines,
 * outbox, inbox.  This file holds the connection (open, schema, busy
 * handling, rebuild, close) and the prepared statements with the helpers
 * that run them; store_apply.c applies journal records, store_query.c
 * answers the read queries.
 *
 * The database runs in WAL mode with synchronous=NORMAL: a commit is not
 * fsynced, so the last commits can vanish on power loss (PITFALLS 13).
 * That is safe here and only here because the journal, fsynced at every
 * group commit, is the truth: the store keeps the last journal seq it
 * applied in the same transaction as the effects, so whatever vanished is
 * applied again at start-up, and a lost or refused database is rebuilt
 * from the journal.  FULL would cost 5-10 times the commit rate for
 * nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "accord-build.h"
#include "util/log.h"
#include "persist/store.h"
#include "persist/store_priv.h"
#include "util/xmalloc.h"

#define STORE_OUTBOX_PER_PARTNER_S	"32"

static const char *store_sql[SQ_COUNT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_SET_LAST] = "UPDATE meta SET last_applied_seq = ?1, "
	    "last_applied_file = coalesce(nullif(?2, 0), last_applied_file)",
	[SQ_CASE_UPSERT] = "INSERT INTO cases(partner, case_id, kind, role, "
	    "state, procedure, opened_at, updated_at, fsm) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) "
	    "ON CONFLICT(partner, case_id) DO UPDATE SET kind = excluded.kind, "
	    "role = excluded.role, state = excluded.state, "
	    "procedure = excluded.procedure, updated_at = excluded.updated_at, "
	    "fsm = excluded.fsm",
	[SQ_DL_SET] = "INSERT INTO deadlines(partner, case_id, which, due, "
	    "armed) VALUES(?1, ?2, ?3, ?4, 1) "
	    "ON CONFLICT(partner, case_id, which) DO UPDATE SET "
	    "due = excluded.due, armed = 1",
	/* a cleared deadline keeps its last due time, as fsm_case does */
	[SQ_DL_CLEAR] = "INSERT INTO deadlines(partner, case_id, which, due, "
	    "armed) VALUES(?1, ?2, ?3, ?4, 0) "
	    "ON CONFLICT(partner, case_id, which) DO UPDATE SET armed = 0",
	[SQ_DL_FIRED] = "UPDATE deadlines SET armed = 0 WHERE partner = ?1 "
	    "AND case_id = ?2 AND which = ?3 AND due = ?4",
	/* a message journalled twice keeps its first row */
	[SQ_MSG_INSERT] = "INSERT INTO messages(" STORE_MSG_COLS ") "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8, ?9, ?10, ?11, 0) "
	    "ON CONFLICT(partner, message_id, direction) DO NOTHING",
	[SQ_MSG_ANSWER] = "UPDATE messages SET state = ?4, receipt_seq = ?5 "
	    "WHERE partner = ?1 AND message_id = ?2 AND direction = ?3",
	[SQ_MSG_STATE] = "UPDATE messages SET state = ?4, reason = ?5 "
	    "WHERE partner = ?1 AND message_id = ?2 AND direction = ?3",
	[SQ_OUTBOX_ADD] = "INSERT INTO outbox(partner, message_id, case_id, "
	    "journal_seq, next_attempt, attempts) VALUES(?1, ?2, ?3, ?4, ?5, 0) "
	    "ON CONFLICT(partner, message_id) DO NOTHING",
	[SQ_OUTBOX_DEL] = "DELETE FROM outbox WHERE partner = ?1 AND "
	    "message_id = ?2",
	/* a journalled MESSAGE_STATE may carry a retry time */
	[SQ_OUTBOX_RETRY] = "UPDATE outbox SET next_attempt = ?3, "
	    "attempts = ?4 WHERE partner = ?1 AND message_id = ?2",
	[SQ_INBOX_ADD] = "INSERT INTO inbox(partner, message_id, case_id, "
	    "type, journal_seq, acked) VALUES(?1, ?2, ?3, ?4, ?5, 0) "
	    "ON CONFLICT(partner, message_id) DO NOTHING",
	[SQ_INBOX_DEL] = "DELETE FROM inbox WHERE partner = ?1 AND "
	    "message_id = ?2",
	[SQ_INBOX_ACK] = "UPDATE inbox SET acked = 1 WHERE partner = ?1 AND "
	    "message_id = ?2",
	[SQ_PAUSE] = "INSERT INTO partners(partner, paused) VALUES(?1, ?2) "
	    "ON CONFLICT(partner) DO UPDATE SET paused = excluded.paused",
	/* an operator's resend: back in the outbox, from its first bytes */
	[SQ_OUTBOX_REQUEUE] = "INSERT INTO outbox(partner, message_id, "
	    "case_id, journal_seq, next_attempt, attempts) SELECT partner, "
	    "message_id, case_id, journal_seq, ?3, 0 FROM messages WHERE "
	    "partner = ?1 AND message_id = ?2 AND direction = 'out' AND "
	    "state IN ('UNDELIVERED', 'DISPUTED') "
	    "ON CONFLICT(partner, message_id) DO NOTHING",
	[SQ_DL_NEXT_AFTER] = "SELECT partner, case_id, which, due FROM "
	    "deadlines WHERE armed = 1 AND due > ?1 ORDER BY due, partner, "
	    "case_id, which LIMIT 1",
	/* the latest business message of a case in one direction */
	[SQ_CASE_LAST] = "SELECT " STORE_MSG_COLS " FROM messages WHERE "
	    "partner = ?1 AND case_id = ?2 AND direction = ?3 AND "
	    "type NOT IN ('Receipt', 'Error') ORDER BY journal_seq DESC "
	    "LIMIT 1",
	/* a back office's idempotency key (submit request-id=) */
	[SQ_REQUEST_ADD] = "INSERT INTO requests(uid, request_id, sha256, "
	    "partner, message_id, case_id, created) VALUES(?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7) ON CONFLICT(uid, request_id) DO NOTHING",
	[SQ_REQUEST_GET] = "SELECT sha256, partner, message_id, case_id, "
	    "created FROM requests WHERE uid = ?1 AND request_id = ?2",
	/* a partner that is failing is probed with its oldest message */
	[SQ_OUTBOX_OLDEST] = "SELECT partner, message_id, case_id, "
	    "journal_seq, next_attempt, attempts FROM outbox o WHERE "
	    "partner = ?1 AND NOT EXISTS (SELECT 1 FROM partners p WHERE "
	    "p.partner = o.partner AND p.paused) ORDER BY journal_seq LIMIT 1",
	[SQ_CASE_GET] = "SELECT fsm FROM cases WHERE partner = ?1 AND "
	    "case_id = ?2",
	[SQ_MSG_FIND] = "SELECT " STORE_MSG_COLS " FROM messages WHERE "
	    "partner = ?1 AND message_id = ?2 AND direction = ?3",
	[SQ_DL_NEXT] = "SELECT partner, case_id, which, due FROM deadlines "
	    "WHERE armed = 1 ORDER BY due, partner, case_id, which LIMIT 1",
	/* a page after the row (?2, ?3, ?4, ?5), in deadlines_due's own
	 * order (its key ends with the table's) */
	[SQ_DL_DUE] = "SELECT partner, case_id, which, due FROM deadlines "
	    "WHERE armed = 1 AND due <= ?1 AND (due, partner, case_id, which) "
	    "> (?2, ?3, ?4, ?5) ORDER BY due, partner, case_id, which "
	    "LIMIT ?6",
	[SQ_CASE_MSGS] = "SELECT " STORE_MSG_COLS " FROM messages WHERE "
	    "partner = ?1 AND case_id = ?2 ORDER BY journal_seq, direction",
	/* the first STORE_OUTBOX_PER_PARTNER due of one partner, walked in
	 * journal order on outbox_partner: a sender with thousands queued
	 * reads a page, not the queue, on every kick */
	[SQ_OUTBOX_DUE] = "SELECT partner, message_id, case_id, journal_seq, "
	    "next_attempt, attempts FROM outbox o WHERE o.partner = ?2 AND "
	    "o.next_attempt <= ?1 "
	    "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE "
	    "e.partner = o.partner AND e.case_id = o.case_id AND "
	    "e.journal_seq < o.journal_seq) "
	    "ORDER BY o.journal_seq LIMIT " STORE_OUTBOX_PER_PARTNER_S,
	/* the partners with something queued and not paused */
	[SQ_OUTBOX_PARTNERS] = "SELECT DISTINCT o.partner FROM outbox o "
	    "WHERE NOT EXISTS (SELECT 1 FROM partners p "
	    "WHERE p.partner = o.partner AND p.paused)",
	/* a page of the inbox (?2: -1, no limit), on inbox_pending */
	[SQ_INBOX_PENDING] = "SELECT partner, message_id, case_id, type, "
	    "journal_seq FROM inbox WHERE acked = 0 AND journal_seq > ?1 "
	    "ORDER BY journal_seq LIMIT ?2",
	[SQ_INBOX_PENDING_PARTNER] = "SELECT partner, message_id, case_id, "
	    "type, journal_seq FROM inbox WHERE acked = 0 AND partner = ?3 "
	    "AND journal_seq > ?1 ORDER BY journal_seq LIMIT ?2",
	/* which partners sent message ?1 (still unacknowledged), or got it
	 * from us: one lookup by key per partner that has a row (a loose
	 * scan of the primary key's first column), never every row */
	[SQ_INBOX_WHICH] = "WITH RECURSIVE p(cc) AS (SELECT min(partner) "
	    "FROM inbox UNION ALL SELECT (SELECT min(partner) FROM inbox "
	    "WHERE partner > p.cc) FROM p WHERE p.cc IS NOT NULL) "
	    "SELECT i.partner FROM p JOIN inbox i ON i.partner = p.cc AND "
	    "i.message_id = ?1 WHERE i.acked = 0 LIMIT 2",
	[SQ_MSG_WHICH_OUT] = "WITH RECURSIVE p(cc) AS (SELECT min(partner) "
	    "FROM messages UNION ALL SELECT (SELECT min(partner) FROM "
	    "messages WHERE partner > p.cc) FROM p WHERE p.cc IS NOT NULL) "
	    "SELECT m.partner FROM p JOIN messages m ON m.partner = p.cc AND "
	    "m.message_id = ?1 AND m.direction = 'out' LIMIT 2",
	/* where a record is in the journal (file, offset): direct reads */
	[SQ_REC_ADD] = "INSERT OR REPLACE INTO records(seq, kind, file, "
	    "offset, partner, case_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	/* a delivery state names a message: the case is the message's */
	[SQ_REC_ADD_MSG] = "INSERT OR REPLACE INTO records(seq, kind, file, "
	    "offset, partner, case_id) SELECT ?1, ?2, ?3, ?4, partner, "
	    "case_id FROM messages WHERE partner = ?5 AND message_id = ?6 "
	    "AND direction = ?7",
	[SQ_REC_CASE] = "SELECT seq, kind, file, offset FROM records WHERE "
	    "partner = ?1 AND case_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
	[SQ_REC_GET] = "SELECT file, offset, kind FROM records WHERE seq = ?1",
	/* gauges: counted by SQLite, never listed row by row */
	[SQ_COUNT_CASES] = "SELECT partner, state, count(*) FROM cases "
	    "GROUP BY partner, state ORDER BY partner, state",
	[SQ_COUNT_MSGS] = "SELECT direction, state, count(*) FROM messages "
	    "WHERE type NOT IN ('Receipt', 'Error') GROUP BY direction, state "
	    "ORDER BY direction, state",
	/* stats: cases by opening month, partner, state, kind and reason;
	 * business messages by Created month, direction, state and the
	 * code their reason starts with ("" = every partner) */
	[SQ_TALLY_CASES] = "SELECT strftime('%Y-%m', opened_at, 'unixepoch'), "
	    "partner, state, kind, coalesce(json_extract(fsm, '$.reason'), 0), "
	    "count(*) FROM cases WHERE ?1 = '' OR partner = ?1 "
	    "GROUP BY 1, 2, 3, 4, 5",
	[SQ_TALLY_MSGS] = "SELECT strftime('%Y-%m', created, 'unixepoch'), "
	    "direction, state, CASE WHEN instr(reason, ':') > 0 THEN "
	    "substr(reason, 1, instr(reason, ':') - 1) ELSE reason END, "
	    "count(*) FROM messages WHERE type NOT IN ('Receipt', 'Error') "
	    "AND (?1 = '' OR partner = ?1) GROUP BY 1, 2, 3, 4",
	/* a case's events (store_apply.c decides which decisions are
	 * events); a refused reply's grounds, from its message */
	[SQ_EVENT_ADD] = "INSERT OR REPLACE INTO events(seq, partner, "
	    "case_id, kind, role, what, at, ban, message_id, direction) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQ_GROUND_ADD] = "INSERT INTO grounds(partner, message_id, "
	    "direction, ground) VALUES(?1, ?2, ?3, ?4) "
	    "ON CONFLICT(partner, message_id, direction, ground) DO NOTHING",
	/* stats: events by the month they happened, partner, kind, our
	 * role, what and the entry ban's years (-1: none applied) */
	[SQ_TALLY_EVENTS] = "SELECT strftime('%Y-%m', at, 'unixepoch'), "
	    "partner, kind, role, what, ban, count(*) FROM events "
	    "WHERE ?1 = '' OR partner = ?1 GROUP BY 1, 2, 3, 4, 5, 6",
	/* refusals by each ground their reply states; "unknown" when the
	 * store holds none for it */
	[SQ_TALLY_GROUNDS] = "SELECT strftime('%Y-%m', e.at, 'unixepoch'), "
	    "e.partner, e.kind, e.role, coalesce(g.ground, 'unknown'), "
	    "count(*) FROM events e LEFT JOIN grounds g ON "
	    "g.partner = e.partner AND g.message_id = e.message_id AND "
	    "g.direction = e.direction WHERE e.what = 'refused' AND "
	    "(?1 = '' OR e.partner = ?1) GROUP BY 1, 2, 3, 4, 5",
	/* stats: the cases list --overdue shows, now, by partner, kind and
	 * role */
	[SQ_TALLY_OVERDUE] = "SELECT partner, kind, role, count(*) FROM "
	    "cases c WHERE (?2 = '' OR c.partner = ?2) AND "
	    "(c.state IN ('EXPIRED', 'TRANSFER_OVERDUE', 'TRANSIT_EXPIRED') "
	    "OR EXISTS (SELECT 1 FROM deadlines d WHERE "
	    "d.partner = c.partner AND d.case_id = c.case_id AND "
	    "+d.armed = 1 AND d.due < ?1)) GROUP BY 1, 2, 3",
	[SQ_COUNT_INBOX] = "SELECT '', '', count(*) FROM inbox WHERE acked = 0",
	[SQ_COUNT_OVERDUE] = "SELECT '', '', count(*) FROM cases c WHERE "
	    "c.state IN ('EXPIRED', 'TRANSFER_OVERDUE', 'TRANSIT_EXPIRED') OR "
	    "EXISTS (SELECT 1 FROM deadlines d WHERE d.partner = c.partner "
	    "AND d.case_id = c.case_id AND +d.armed = 1 AND d.due < ?1)",
};

/*
 * Indexes for the per-partner summary (store_partner_queue(): the
 * `queues` report, the metrics): without them each call read every
 * message the partner ever exchanged (issue 20: the bench's poll of
 * `queues` was the largest part of the sender's "other" CPU, growing
 * with the history).  Partial, so that they cost the store's apply
 * little: the stuck ones only, and one row per message for the latest
 * contact.  Created if missing on every writable open (a store of the
 * same schema version made before them gets them then).
 */
static const char store_indexes[] =
	"CREATE INDEX IF NOT EXISTS messages_stuck ON messages(partner, "
	"  direction, state) WHERE state IN ('UNDELIVERED', 'DISPUTED');"
	"CREATE INDEX IF NOT EXISTS messages_in_created ON messages(partner, "
	"  created) WHERE direction = 'in';"
	"CREATE INDEX IF NOT EXISTS messages_out_received ON "
	"  messages(partner, received_at) WHERE direction = 'out';"
	"CREATE INDEX IF NOT EXISTS inbox_pending ON inbox(journal_seq) "
	"  WHERE acked = 0;"
	"CREATE INDEX IF NOT EXISTS inbox_pending_partner ON inbox(partner, "
	"  journal_seq) WHERE acked = 0;"
	"CREATE INDEX IF NOT EXISTS cases_partner_updated ON cases(partner, "
	"  updated_at);"
	"CREATE TABLE IF NOT EXISTS deferred_indexes(name TEXT PRIMARY KEY, "
	"  sql TEXT NOT NULL) WITHOUT ROWID;";

/* Version 6 of the schema (2: requests; 3: records, where each record
 * read back is in the journal; 4: the journal file of the last record
 * applied, where catching up starts reading; 5: events, what each
 * decision that counts in the stats did and when, and grounds, those a
 * ReadmissionReply or TransitReply states; 6: retain, legal holds and
 * erasures, store_retain.c).  Enumerations are stored by
 * name so that the database reads in the sqlite3 shell; fsm holds the
 * whole fsm_case as record_case_to_json() writes it. */
static const char store_schema[] =
	"CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1), "
	"  last_applied_seq INTEGER NOT NULL, "
	"  last_applied_file INTEGER NOT NULL);"
	"INSERT INTO meta VALUES(1, 0, 0);"
	"CREATE TABLE cases(partner TEXT NOT NULL, case_id TEXT NOT NULL, "
	"  kind TEXT NOT NULL, role TEXT NOT NULL, state TEXT NOT NULL, "
	"  procedure INTEGER NOT NULL, opened_at INTEGER NOT NULL, "
	"  updated_at INTEGER NOT NULL, fsm TEXT NOT NULL, "
	"  PRIMARY KEY (partner, case_id)) WITHOUT ROWID;"
	"CREATE INDEX cases_state ON cases(state);"
	"CREATE INDEX cases_id ON cases(case_id);"
	"CREATE INDEX cases_updated ON cases(updated_at);"
	"CREATE TABLE messages(partner TEXT NOT NULL, "
	"  message_id TEXT NOT NULL, "
	"  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')), "
	"  case_id TEXT NOT NULL, ref_to TEXT NOT NULL, type TEXT NOT NULL, "
	"  state TEXT NOT NULL, reason TEXT NOT NULL, sha256 TEXT NOT NULL, "
	"  created INTEGER NOT NULL, received_at INTEGER NOT NULL, "
	"  journal_seq INTEGER NOT NULL, receipt_seq INTEGER NOT NULL, "
	"  PRIMARY KEY (partner, message_id, direction)) WITHOUT ROWID;"
	"CREATE INDEX messages_case ON messages(partner, case_id, "
	"  journal_seq);"
	"CREATE TABLE deadlines(partner TEXT NOT NULL, case_id TEXT NOT NULL, "
	"  which TEXT NOT NULL, due INTEGER NOT NULL, armed INTEGER NOT NULL, "
	"  PRIMARY KEY (partner, case_id, which)) WITHOUT ROWID;"
	"CREATE INDEX deadlines_due ON deadlines(armed, due);"
	"CREATE TABLE outbox(partner TEXT NOT NULL, message_id TEXT NOT NULL, "
	"  case_id TEXT NOT NULL, journal_seq INTEGER NOT NULL, "
	"  next_attempt INTEGER NOT NULL, attempts INTEGER NOT NULL, "
	"  PRIMARY KEY (partner, message_id)) WITHOUT ROWID;"
	"CREATE INDEX outbox_next ON outbox(next_attempt);"
	"CREATE INDEX outbox_case ON outbox(partner, case_id, journal_seq);"
	"CREATE INDEX outbox_partner ON outbox(partner, journal_seq);"
	"CREATE TABLE inbox(partner TEXT NOT NULL, message_id TEXT NOT NULL, "
	"  case_id TEXT NOT NULL, type TEXT NOT NULL, "
	"  journal_seq INTEGER NOT NULL, acked INTEGER NOT NULL, "
	"  PRIMARY KEY (partner, message_id)) WITHOUT ROWID;"
	"CREATE TABLE partners(partner TEXT PRIMARY KEY, "
	"  paused INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE requests(uid INTEGER NOT NULL, "
	"  request_id TEXT NOT NULL, sha256 TEXT NOT NULL, "
	"  partner TEXT NOT NULL, message_id TEXT NOT NULL, "
	"  case_id TEXT NOT NULL, created INTEGER NOT NULL, "
	"  PRIMARY KEY (uid, request_id)) WITHOUT ROWID;"
	"CREATE TABLE records(seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
	"  file INTEGER NOT NULL, offset INTEGER NOT NULL, "
	"  partner TEXT NOT NULL, case_id TEXT NOT NULL);"
	"CREATE INDEX records_case ON records(partner, case_id, seq);"
	"CREATE TABLE events(seq INTEGER PRIMARY KEY, "
	"  partner TEXT NOT NULL, case_id TEXT NOT NULL, "
	"  kind TEXT NOT NULL, role TEXT NOT NULL, what TEXT NOT NULL, "
	"  at INTEGER NOT NULL, ban INTEGER NOT NULL, "
	"  message_id TEXT NOT NULL, "
	"  direction TEXT NOT NULL CHECK (direction IN ('', 'in', 'out')));"
	"CREATE TABLE grounds(partner TEXT NOT NULL, "
	"  message_id TEXT NOT NULL, direction TEXT NOT NULL, "
	"  ground TEXT NOT NULL, "
	"  PRIMARY KEY (partner, message_id, direction, ground)) "
	"  WITHOUT ROWID;"
	"CREATE TABLE retain(partner TEXT NOT NULL, case_id TEXT NOT NULL, "
	"  held INTEGER NOT NULL, hold_by TEXT NOT NULL, "
	"  hold_reason TEXT NOT NULL, hold_at INTEGER NOT NULL, "
	"  erased_at INTEGER NOT NULL, erased_by TEXT NOT NULL, "
	"  PRIMARY KEY (partner, case_id)) WITHOUT ROWID;";

/* Keep SQLite's message for the log line written by the caller, which
 * knows the context; ROLLBACK would overwrite it. */
void
store_seterr(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
}

void
store_setsqlerr(struct store *st, int rc)
{
	store_seterr(st, "%s (%s)", sqlite3_errmsg(st->db),
	    sqlite3_errstr(rc));
}

/*
 * Bind the arguments described by fmt to statement id -- 's' a string,
 * 'i' an int, 'I' an int64_t -- and step it once.  With row == NULL the
 * step must finish the statement (SQLITE_DONE) and it is reset.
 * @return 0, or -1 with st->err set.
 */
static int
store_vrun(struct store *st, sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int i, rc = SQLITE_OK;

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	for (i = 0; fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 's':
			rc = sqlite3_bind_text(s, i + 1, va_arg(ap,
			    const char *), -1, SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
			break;
		case 'I':
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap,
			    int64_t));
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		store_setsqlerr(st, rc);
		return -1;
	}
	return 0;
}

/* Bind and run statement id to its end. */
int
store_exec(struct store *st, enum store_stmt id, const char *fmt, ...)
{
	sqlite3_stmt *s = st->stmt[id];
	va_list ap;
	int rc, rv;

	va_start(ap, fmt);
	rv = store_vrun(st, s, fmt, ap);
	va_end(ap);
	if (rv == -1)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		store_setsqlerr(st, rc);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

/* Bind statement id; the caller steps it through its rows and resets. */
sqlite3_stmt *
store_query(struct store *st, enum store_stmt id, const char *fmt, ...)
{
	sqlite3_stmt *s = st->stmt[id];
	va_list ap;
	int rv;

	va_start(ap, fmt);
	rv = store_vrun(st, s, fmt, ap);
	va_end(ap);
	return rv == -1 ? NULL : s;
}

static int
store_exec_sql(struct store *st, const char *sql)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		store_seterr(st, "%s (%s)", msg != NULL ? msg :
		    sqlite3_errmsg(st->db), sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The integer a one-row pragma or query returns, or -1. */
static int64_t
store_int_query(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		store_setsqlerr(st, rc);
		goto done;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_setsqlerr(st, rc);
		goto done;
	}
	v = sqlite3_column_int64(s, 0);
 done:
	sqlite3_finalize(s);
	return v;
}

void
store_rollback(struct store *st)
{
	/* SQLite may already have rolled back (SQLITE_FULL, IOERR) */
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static void
store_disconnect(struct store *st)
{
	int i;

	store_checkpointer_stop(st);
	for (i = 0; i < SQ_COUNT; i++) {
		sqlite3_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store", "%s: close: %s", st->path,
		    sqlite3_errmsg(st->db));
	st->db = NULL;
}

/*
 * SQLite calls this when the database is locked by another connection.
 * With busy_ms 0 (the daemon's loop: DESIGN.md 3, PITFALLS 22) it gives
 * up at once and the caller retries from a timer; otherwise it sleeps in
 * steps up to busy_ms.  Every call is counted, and every sleep, so that a
 * test can prove the loop's connection never waited.
 */
static int
store_busy_cb(void *arg, int count)
{
	struct store *st = arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	st->busy.refused++;
	if (st->busy_ms <= 0 || (long)count * 10 >= st->busy_ms)
		return 0;
	st->busy.refused--;
	st->busy.waits++;
	nanosleep(&ts, NULL);
	return 1;
}

/* Open st->path, check or create the schema, prepare the statements. */
static int
store_connect(struct store *st)
{
	sqlite3_stmt *s = NULL;
	const char *mode;
	int64_t version, ntables;
	int i, rc, rv = -1;

	if (st->readonly)
		rc = sqlite3_open_v2(st->readonly == 2 ? st->uri : st->path,
		    &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	else
		rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		log_errx("store", "%s: %s", st->path, st->db != NULL ?
		    sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto done;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_handler(st->db, store_busy_cb, st);

	if ((version = store_int_query(st, "PRAGMA user_version")) == -1 ||
	    (ntables = store_int_query(st, "SELECT count(*) FROM "
	    "sqlite_master")) == -1) {
		log_errx("store", "%s: not readable: %s", st->path, st->err);
		goto done;
	}
	if (version > STORE_SCHEMA_VERSION) {
		log_errx("store", "%s: schema version %lld is newer than this "
		    "accordd's %d; rebuild it from the journal or run the "
		    "newer accordd", st->path, (long long)version,
		    STORE_SCHEMA_VERSION);
		goto done;
	}
	if (st->readonly && version == 0) {
		log_errx("store", "%s: no Accord store here", st->path);
		goto done;
	}
	if (version == 0 && ntables != 0) {
		log_errx("store", "%s: not an Accord store (no schema "
		    "version)", st->path);
		goto done;
	}
	if (version != 0 && version < STORE_SCHEMA_VERSION) {
		/* an older schema is not migrated: the engine rebuilds the
		 * store from the journal (the truth) */
		log_errx("store", "%s: schema version %lld is not supported; "
		    "rebuild it from the journal", st->path,
		    (long long)version);
		goto done;
	}

	if (st->readonly)
		goto prepare;
	/* WAL: readers (control socket queries) do not block the writer */
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s,
	    NULL);
	if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW ||
	    (mode = (const char *)sqlite3_column_text(s, 0)) == NULL ||
	    strcmp(mode, "wal") != 0) {
		log_errx("store", "%s: cannot switch to WAL mode: %s",
		    st->path, sqlite3_errmsg(st->db));
		goto done;
	}
	sqlite3_finalize(s);
	s = NULL;
	/* NORMAL, not FULL: see the comment at the top of this file */
	/* secure_delete: a page freed (a row updated or deleted) is
	 * overwritten, not left in the file */
	if (store_exec_sql(st, "PRAGMA synchronous=NORMAL") == -1 ||
	    store_exec_sql(st, "PRAGMA secure_delete=ON") == -1) {
		log_errx("store", "%s: %s", st->path, st->err);
		goto done;
	}

	if (version == 0) {
		if (store_exec_sql(st, "BEGIN IMMEDIATE") == -1 ||
		    store_exec_sql(st, store_schema) == -1 ||
		    store_exec_sql(st, "PRAGMA user_version = "
		    STORE_SCHEMA_VERSION_S) == -1 ||
		    store_exec_sql(st, "COMMIT") == -1) {
			log_errx("store", "%s: cannot create the schema: %s",
			    st->path, st->err);
			store_rollback(st);
			goto done;
		}
	}
	if (store_exec_sql(st, store_indexes) == -1) {
		log_errx("store", "%s: cannot create the indexes: %s",
		    st->path, st->err);
		goto done;
	}

prepare:
	for (i = 0; i < SQ_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			log_errx("store", "%s: preparing \"%s\": %s",
			    st->path, store_sql[i], sqlite3_errmsg(st->db));
			goto done;
		}
	}
	if ((version = store_int_query(st, "SELECT last_applied_seq FROM "
	    "meta")) < 0) {
		log_errx("store", "%s: no last applied seq: %s", st->path,
		    st->err);
		goto done;
	}
	st->last = (uint64_t)version;
	if ((version = store_int_query(st, "SELECT last_applied_file FROM "
	    "meta")) < 0) {
		log_errx("store", "%s: no last applied file: %s", st->path,
		    st->err);
		goto done;
	}
	st->last_file = (uint32_t)version;
	rv = 0;
 done:
	sqlite3_finalize(s);
	if (rv == -1)
		store_disconnect(st);
	return rv;
}

/* A store not yet connected to path. */
static struct store *
store_new(const char *path)
{
	struct store *st;

	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->busy_ms = STORE_BUSY_MS_DEFAULT;
	return st;
}

struct store *
store_open(const char *path)
{
	struct store *st = store_new(path);

	if (store_connect(st) == -1) {
		store_close(st);
		return NULL;
	}
	log_debug("store", "%s: open, last applied seq %llu", path,
	    (unsigned long long)st->last);
	return st;
}

/* May we create files (the -shm of a WAL database) beside path? */
static int
store_dir_writable(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return access(".", W_OK) == 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return access(dir, W_OK) == 0;
}

/*
 * Read-only: SQLite still needs the -shm file of a WAL database, which a
 * reader without write access to the directory cannot create.  The daemon
 * is down when accordctl reads offline, so nothing writes the file and it
 * may be opened immutable instead.
 */
struct store *
store_open_readonly(const char *path)
{
	struct store *st = store_new(path);

	if (access(path, R_OK) == -1) {
		log_err("store", "%s", path);
		store_close(st);
		return NULL;
	}
	st->readonly = 1;
	if (store_dir_writable(path) && store_connect(st) == 0)
		return st;
	if (strpbrk(path, "?#%") == NULL &&
	    asprintf(&st->uri, "file:%s?immutable=1", path) != -1) {
		st->readonly = 2;
		if (store_connect(st) == 0) {
			log_debug("store", "%s: opened immutable", path);
			return st;
		}
	}
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_disconnect(st);
	free(st->uri);
	free(st->path);
	free(st);
}

int
store_remove(const char *path)
{
	static const char *suffix[] = { "", "-wal", "-shm", "-journal" };
	char file[4096];
	size_t i;
	int rv = 0;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if ((size_t)snprintf(file, sizeof(file), "%s%s", path,
		    suffix[i]) >= sizeof(file)) {
			log_warnx("store", "%s: path too long", path);
			return -1;
		}
		if (unlink(file) == -1 && errno != ENOENT) {
			log_err("store", "unlink %s", file);
			rv = -1;
		}
	}
	return rv;
}

int
store_rebuild(struct store *st)
{
	int pages = store_checkpointer_pages(st);

	store_disconnect(st);
	if (store_remove(st->path) == -1)
		return -1;
	if (store_connect(st) == -1)
		return -1;
	if (pages > 0 && store_checkpointer_start(st, pages) == -1)
		return -1;
	log_info("store", "%s: emptied for a rebuild from the journal",
	    st->path);
	return 0;
}

void
store_set_busy_ms(struct store *st, int ms)
{
	st->busy_ms = ms;
}

/* The first column of every row of sql, as strings (xstrdup'd) in *out.
 * @return 0, or -1 with st->err set. */
static int
store_strings(struct store *st, const char *sql, char ***out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) !=
	    SQLITE_OK) {
		store_setsqlerr(st, rc);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = xgrowarray(*out, *n, &cap, sizeof(**out));
		(*out)[(*n)++] = xstrdup((const char *)sqlite3_column_text(s,
		    0));
	}
	if (rc != SQLITE_DONE)
		store_setsqlerr(st, rc);
	/* finalized: no statement runs while the caller moves the schema */
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
store_strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
store_defer_indexes(struct store *st)
{
	char **names = NULL, sql[256];
	size_t n = 0, i;
	int rv = -1;

	if (store_exec_sql(st, "BEGIN IMMEDIATE") == -1 ||
	    store_exec_sql(st, "INSERT OR REPLACE INTO deferred_indexes "
	    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
	    "sql IS NOT NULL") == -1 ||
	    store_strings(st, "SELECT name FROM deferred_indexes", &names,
	    &n) == -1)
		goto done;
	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "DROP INDEX IF EXISTS \"%s\"",
		    names[i]);
		if (store_exec_sql(st, sql) == -1)
			goto done;
	}
	if (store_exec_sql(st, "COMMIT") == 0) {
		log_info("store", "%s: %zu indexes deferred to the end of the "
		    "rebuild", st->path, n);
		rv = 0;
	}
 done:
	if (rv == -1) {
		log_errx("store", "%s: deferring the indexes: %s", st->path,
		    st->err);
		store_rollback(st);
	}
	store_strings_free(names, n);
	return rv;
}

int
store_restore_indexes(struct store *st)
{
	char **ddl = NULL;
	size_t n = 0, i;
	int64_t waiting;
	int rv = -1;

	/* nothing deferred (every open but a rebuild's): no write, no lock */
	if ((waiting = store_int_query(st, "SELECT count(*) FROM "
	    "deferred_indexes")) == 0)
		return 0;
	/* those a later open made again (store_indexes) are kept */
	if (waiting == -1 || store_exec_sql(st, "BEGIN IMMEDIATE") == -1 ||
	    store_strings(st, "SELECT d.sql FROM deferred_indexes d WHERE "
	    "NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = "
	    "'index' AND m.name = d.name)", &ddl, &n) == -1)
		goto done;
	for (i = 0; i < n; i++)
		if (store_exec_sql(st, ddl[i]) == -1)
			goto done;
	if (store_exec_sql(st, "DELETE FROM deferred_indexes") == -1 ||
	    store_exec_sql(st, "COMMIT") == -1)
		goto done;
	if (n > 0)
		log_info("store", "%s: %zu deferred indexes built", st->path,
		    n);
	rv = (int)n;
 done:
	if (rv == -1) {
		log_errx("store", "%s: building the deferred indexes: %s",
		    st->path, st->err);
		store_rollback(st);
	}
	store_strings_free(ddl, n);
	return rv;
}

/* The bulk page cache in KiB (test builds: ACCORD_TEST_BULK_CACHE_KB, so
 * that bench_scale can give a small store the cache pressure of a large
 * one). */
static long
store_bulk_cache_kb(void)
{
#ifdef ACCORD_TEST_CLOCK
	const char *s = getenv("ACCORD_TEST_BULK_CACHE_KB");

	if (s != NULL && atol(s) > 0)
		return atol(s);
#endif
	return STORE_BULK_CACHE_KB;
}

int
store_set_bulk(struct store *st, int on)
{
	char sql[64];

	/* a page cache that holds the indexes being built (SQLite's default
	 * is 2 MB) and fewer, larger WAL checkpoints */
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%ld",
	    on ? store_bulk_cache_kb() : 2000L);
	if (store_exec_sql(st, sql) == -1 ||
	    store_exec_sql(st, on ? "PRAGMA wal_autocheckpoint = 100000" :
	    "PRAGMA wal_autocheckpoint = 1000") == -1) {
		log_errx("store", "%s: %s", st->path, st->err);
		return -1;
	}
	/* the pragma put SQLite's own hook back: with a checkpointer, its
	 * hook again (bulk or not, checkpoints stay off the loop) */
	store_ckpt_hook_install(st);
	return 0;
}

void
store_busy_stats(const struct store *st, struct store_busy *out)
{
	*out = st->busy;
}

int
store_test_max_pages(struct store *st, int pages)
{
	char sql[64];

	/* max_page_count cannot go below the current size; 0 means huge */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d",
	    pages > 0 ? pages : 1073741823);
	if (store_int_query(st, sql) == -1) {
		log_warnx("store", "max_page_count: %s", st->err);
		return -1;
	}
	return 0;
}
