/*
 * store.c -- SQLite index of the journal: cases, messages, deadlines,
 * outbox, inbox.
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

#include <jansson.h>
#include <sqlite3.h>

#include "util/errcode.h"
#include "fsm/fsm.h"
#include "util/log.h"
#include "persist/record.h"
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
	SQ_INBOX_PENDING,
	SQ_COUNT
};

#define MSG_COLS "partner, message_id, direction, case_id, ref_to, type, " \
	"state, reason, sha256, created, received_at, journal_seq, receipt_seq"

#define STORE_OUTBOX_PER_PARTNER_S	"32"

static const char *store_sql[SQ_COUNT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_SET_LAST] = "UPDATE meta SET last_applied_seq = ?1",
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
	[SQ_MSG_INSERT] = "INSERT INTO messages(" MSG_COLS ") VALUES(?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, '', ?8, ?9, ?10, ?11, 0) "
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
	[SQ_CASE_LAST] = "SELECT " MSG_COLS " FROM messages WHERE "
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
	[SQ_MSG_FIND] = "SELECT " MSG_COLS " FROM messages WHERE "
	    "partner = ?1 AND message_id = ?2 AND direction = ?3",
	[SQ_DL_NEXT] = "SELECT partner, case_id, which, due FROM deadlines "
	    "WHERE armed = 1 ORDER BY due, partner, case_id, which LIMIT 1",
	[SQ_DL_DUE] = "SELECT partner, case_id, which, due FROM deadlines "
	    "WHERE armed = 1 AND due <= ?1 ORDER BY due, partner, case_id, "
	    "which",
	[SQ_CASE_MSGS] = "SELECT " MSG_COLS " FROM messages WHERE "
	    "partner = ?1 AND case_id = ?2 ORDER BY journal_seq, direction",
	/* the first STORE_OUTBOX_PER_PARTNER of each partner: a sender
	 * with thousands queued must not read them all on every kick */
	[SQ_OUTBOX_DUE] = "SELECT partner, message_id, case_id, journal_seq, "
	    "next_attempt, attempts FROM (SELECT o.partner, o.message_id, "
	    "o.case_id, o.journal_seq, o.next_attempt, o.attempts, "
	    "ROW_NUMBER() OVER (PARTITION BY o.partner ORDER BY "
	    "o.journal_seq) AS rn FROM outbox o "
	    "WHERE o.next_attempt <= ?1 "
	    "AND NOT EXISTS (SELECT 1 FROM partners p "
	    "WHERE p.partner = o.partner AND p.paused) "
	    "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE "
	    "e.partner = o.partner AND e.case_id = o.case_id AND "
	    "e.journal_seq < o.journal_seq)) "
	    "WHERE rn <= " STORE_OUTBOX_PER_PARTNER_S " ORDER BY journal_seq",
	[SQ_INBOX_PENDING] = "SELECT partner, message_id, case_id, type, "
	    "journal_seq FROM inbox WHERE acked = 0 ORDER BY journal_seq",
};

/* Version 2 of the schema (2: requests).  Enumerations are stored by name so that the
 * database reads in the sqlite3 shell; fsm holds the whole fsm_case as
 * record_case_to_json() writes it. */
static const char store_schema[] =
	"CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1), "
	"  last_applied_seq INTEGER NOT NULL);"
	"INSERT INTO meta VALUES(1, 0);"
	"CREATE TABLE cases(partner TEXT NOT NULL, case_id TEXT NOT NULL, "
	"  kind TEXT NOT NULL, role TEXT NOT NULL, state TEXT NOT NULL, "
	"  procedure INTEGER NOT NULL, opened_at INTEGER NOT NULL, "
	"  updated_at INTEGER NOT NULL, fsm TEXT NOT NULL, "
	"  PRIMARY KEY (partner, case_id)) WITHOUT ROWID;"
	"CREATE INDEX cases_state ON cases(state);"
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
	"  PRIMARY KEY (uid, request_id)) WITHOUT ROWID;";

struct store {
	char		*path;
	sqlite3		*db;
	sqlite3_stmt	*stmt[SQ_COUNT];
	uint64_t	 last;		/* meta.last_applied_seq */
	char		 err[512];	/* why the last step failed */
	int		 readonly;	/* 1 read-only, 2 immutable (uri) */
	char		*uri;		/* file:...?immutable=1 */
	int		 busy_ms;	/* how long a locked database is
					 * waited for; 0: never */
	struct store_busy busy;		/* what the busy handler saw */
};

/* A growing array of rows collected before calling back. */
struct store_vec {
	char		*v;
	size_t		 n;
	size_t		 cap;
	size_t		 size;
};

/* Keep SQLite's message for the log line written by the caller, which
 * knows the context; ROLLBACK would overwrite it. */
static void
store_seterr(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
}

static void
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
static int
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
static sqlite3_stmt *
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

/* Copy text column i into buf, truncating (the store only holds what
 * bounded buffers wrote). */
static void
store_col_text(sqlite3_stmt *s, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(buf, size, "%s", t != NULL ? (const char *)t : "");
}

/* A new zeroed element at the end of v, or NULL. */
static void *
store_vec_push(struct store_vec *v)
{
	char *nv;
	size_t ncap;

	if (v->n == v->cap) {
		ncap = v->cap == 0 ? 16 : v->cap * 2;
		if ((nv = reallocarray(v->v, ncap, v->size)) == NULL) {
			log_err("store", "reallocarray");
			return NULL;
		}
		v->v = nv;
		v->cap = ncap;
	}
	memset(v->v + v->n * v->size, 0, v->size);
	return v->v + v->n++ * v->size;
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

static void
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

	for (i = 0; i < SQ_COUNT; i++) {
		sqlite3_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store", "%s: close: %s", st->path,
		    sqlite3_errmsg(st->db));
	st->db = NULL;
}

/* Open st->path, check or create the schema, prepare the statements. */
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
		/* no older schema has been released: nothing to migrate */
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
	if (store_exec_sql(st, "PRAGMA synchronous=NORMAL") == -1) {
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
	rv = 0;
 done:
	sqlite3_finalize(s);
	if (rv == -1)
		store_disconnect(st);
	return rv;
}

struct store *
store_open(const char *path)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		log_err("store", "calloc");
		free(st);
		return NULL;
	}
	st->busy_ms = STORE_BUSY_MS_DEFAULT;
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
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		log_err("store", "calloc");
		free(st);
		return NULL;
	}
	if (access(path, R_OK) == -1) {
		log_err("store", "%s", path);
		store_close(st);
		return NULL;
	}
	st->readonly = 1;
	st->busy_ms = STORE_BUSY_MS_DEFAULT;
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
	store_disconnect(st);
	if (store_remove(st->path) == -1)
		return -1;
	if (store_connect(st) == -1)
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

void
store_busy_stats(const struct store *st, struct store_busy *out)
{
	*out = st->busy;
}

uint64_t
store_last_applied(struct store *st)
{
	return st->last;
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

/* ---- applying records ----------------------------------------------- */

/* The state a message takes when its answer is journalled. */
static const char *
store_answer_state(enum msg_type t)
{
	return record_msg_state_name(t == MSG_ERROR ? RECORD_MS_REJECTED :
	    RECORD_MS_RECEIPTED);
}

static int
store_apply_message(struct store *st, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const void *p, size_t len)
{
	struct record_message m;
	enum record_dir want;
	enum record_msg_state ms;
	const char *tname, *dir;
	int answer;

	if (record_message_decode(p, len, &m) == -1) {
		store_seterr(st, "malformed message payload");
		return -1;
	}
	want = (kind == JOURNAL_MESSAGE_RECEIVED ||
	    kind == JOURNAL_RECEIPT_GOT) ? RECORD_DIR_IN : RECORD_DIR_OUT;
	answer = kind == JOURNAL_RECEIPT_GIVEN || kind == JOURNAL_RECEIPT_GOT;
	if (m.direction != want) {
		store_seterr(st, "message %s: direction %s in a %s record",
		    m.message_id, record_dir_name(m.direction),
		    journal_kind_name(kind));
		return -1;
	}
	/* an answer is a Receipt, or the signed Error that stands for one */
	if (answer && ((m.type != MSG_RECEIPT && m.type != MSG_ERROR) ||
	    m.ref_to[0] == '\0')) {
		store_seterr(st, "message %s: a %s record holds a %s",
		    m.message_id, journal_kind_name(kind),
		    agreement_msg_type_name(m.type));
		return -1;
	}
	tname = agreement_msg_type_name(m.type);
	dir = record_dir_name(m.direction);

	switch (kind) {
	case JOURNAL_MESSAGE_RECEIVED:
		ms = RECORD_MS_RECEIVED;
		break;
	case JOURNAL_MESSAGE_SENT:
		ms = RECORD_MS_QUEUED;
		break;
	case JOURNAL_RECEIPT_GIVEN:
		ms = RECORD_MS_SENT;	/* it went back in the response */
		break;
	default:
		ms = RECORD_MS_RECEIVED;
		break;
	}
	if (store_exec(st, SQ_MSG_INSERT, "ssssssssIII", m.partner,
	    m.message_id, dir, m.case_id, m.ref_to, tname,
	    record_msg_state_name(ms), m.sha256, (int64_t)m.created,
	    (int64_t)m.received_at, (int64_t)seq) == -1)
		return -1;

	switch (kind) {
	case JOURNAL_MESSAGE_RECEIVED:
		if (m.type == MSG_RECEIPT || m.type == MSG_ERROR)
			return 0;
		/* for the back office to take */
		return store_exec(st, SQ_INBOX_ADD, "ssssI", m.partner,
		    m.message_id, m.case_id, tname, (int64_t)seq);
	case JOURNAL_MESSAGE_SENT:
		return store_exec(st, SQ_OUTBOX_ADD, "sssII", m.partner,
		    m.message_id, m.case_id, (int64_t)seq, (int64_t)time);
	case JOURNAL_RECEIPT_GIVEN:
		if (store_exec(st, SQ_MSG_ANSWER, "ssssI", m.partner, m.ref_to,
		    "in", store_answer_state(m.type), (int64_t)seq) == -1)
			return -1;
		if (sqlite3_changes(st->db) == 0)
			log_warnx("store", "record %llu: answer %s to unknown "
			    "message %s", (unsigned long long)seq,
			    m.message_id, m.ref_to);
		if (m.type == MSG_ERROR)
			return store_exec(st, SQ_INBOX_DEL, "ss", m.partner,
			    m.ref_to);
		return 0;
	default:	/* JOURNAL_RECEIPT_GOT */
		if (store_exec(st, SQ_MSG_ANSWER, "ssssI", m.partner, m.ref_to,
		    "out", store_answer_state(m.type), (int64_t)seq) == -1)
			return -1;
		if (sqlite3_changes(st->db) == 0)
			log_warnx("store", "record %llu: answer %s to unknown "
			    "message %s", (unsigned long long)seq,
			    m.message_id, m.ref_to);
		return store_exec(st, SQ_OUTBOX_DEL, "ss", m.partner,
		    m.ref_to);
	}
}

static int
store_apply_decision(struct store *st, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const void *p, size_t len)
{
	struct record_decision rd;
	const struct fsm_case *c;
	const struct fsm_dlop *op;
	json_t *j = NULL;
	char *fsm = NULL;
	int i, rv = -1;

	if (record_decision_decode(p, len, &rd) == -1) {
		store_seterr(st, "malformed decision payload");
		return -1;
	}
	if (kind == JOURNAL_REFUSAL || rd.d.refusal != AE_OK) {
		/* a refusal never changes the case; a refused message of
		 * the partner is answered with an Error */
		if (rd.ev.kind != FSM_EV_RECEIVED || rd.message_id[0] == '\0')
			return 0;
		if (store_exec(st, SQ_MSG_STATE, "sssss", rd.partner,
		    rd.message_id, "in",
		    record_msg_state_name(RECORD_MS_REJECTED),
		    errcode_name(rd.d.refusal)) == -1)
			return -1;
		return store_exec(st, SQ_INBOX_DEL, "ss", rd.partner,
		    rd.message_id);
	}
	if (rd.d.effects & FSM_EFF_NO_CHANGE)
		return 0;
	c = &rd.d.next;
	if (c->state == FSM_NONE) {
		store_seterr(st, "decision leaves case %s/%s in NONE",
		    rd.partner, rd.case_id);
		return -1;
	}
	if ((j = record_case_to_json(c)) == NULL ||
	    (fsm = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		store_seterr(st, "case %s/%s: cannot encode", rd.partner,
		    rd.case_id);
		goto done;
	}
	if (store_exec(st, SQ_CASE_UPSERT, "sssssiIs", rd.partner, rd.case_id,
	    fsm_kind_name(c->kind), fsm_role_name(c->role),
	    fsm_state_name(c->state), (int)c->procedure, (int64_t)time,
	    fsm) == -1)
		goto done;
	for (i = 0; i < rd.d.ndlops; i++) {
		op = &rd.d.dlops[i];
		if (store_exec(st, op->op == FSM_DLOP_SET ? SQ_DL_SET :
		    SQ_DL_CLEAR, "sssI", rd.partner, rd.case_id,
		    fsm_deadline_name(op->which), (int64_t)op->due) == -1)
			goto done;
	}
	rv = 0;
 done:
	free(fsm);
	json_decref(j);
	return rv;
}

/* A submit with an idempotency key: remember what it queued. */
static int
store_apply_command(struct store *st, const struct store_record *r)
{
	json_t *j;
	json_error_t err;
	const char *cmd = NULL, *rid = NULL, *sha = NULL, *partner = NULL,
	    *msg = NULL, *case_id = NULL;
	int uid = -1, rc = 0;

	if ((j = json_loadb(r->payload, r->len, 0, &err)) == NULL) {
		store_seterr(st, "operator command: %s", err.text);
		return -1;
	}
	if (json_unpack(j, "{s:s, s?i, s?s, s?s, s?s, s?s, s?s}", "command",
	    &cmd, "uid", &uid, "request_id", &rid, "request_sha256", &sha,
	    "partner", &partner, "message", &msg, "case", &case_id) == 0 &&
	    strcmp(cmd, "submit") == 0 && rid != NULL && sha != NULL &&
	    partner != NULL && msg != NULL && case_id != NULL && uid >= 0)
		rc = store_exec(st, SQ_REQUEST_ADD, "isssssI", uid, rid, sha,
		    partner, msg, case_id, (int64_t)r->time);
	json_decref(j);
	return rc;
}

static int
store_apply_one(struct store *st, const struct store_record *r)
{
	struct record_deadline dl;
	struct record_msgstate ms;
	struct record_ack ack;
	struct record_pause pause;

	switch (r->kind) {
	case JOURNAL_OPERATOR_COMMAND:
		return store_apply_command(st, r);
	case JOURNAL_FILE_START:
	case JOURNAL_TORN_TAIL_CUT:
	case JOURNAL_CHECKPOINT:
	case JOURNAL_CONFIG_LOAD:
		/* journalled for the audit; nothing to index */
		return 0;
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		return store_apply_message(st, r->kind, r->seq, r->time,
		    r->payload, r->len);
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		return store_apply_decision(st, r->kind, r->seq, r->time,
		    r->payload, r->len);
	case JOURNAL_DEADLINE_FIRED:
		if (record_deadline_decode(r->payload, r->len, &dl) == -1)
			break;
		/* only the instant that fired: a deadline re-armed since
		 * stays armed */
		return store_exec(st, SQ_DL_FIRED, "sssI", dl.partner,
		    dl.case_id, fsm_deadline_name(dl.which), (int64_t)dl.due);
	case JOURNAL_MESSAGE_STATE:
		if (record_msgstate_decode(r->payload, r->len, &ms) == -1)
			break;
		/* QUEUED again after UNDELIVERED or DISPUTED: a resend */
		if (ms.direction == RECORD_DIR_OUT &&
		    ms.state == RECORD_MS_QUEUED && store_exec(st,
		    SQ_OUTBOX_REQUEUE, "ssI", ms.partner, ms.message_id,
		    (int64_t)(ms.next_attempt != 0 ? ms.next_attempt :
		    r->time)) == -1)
			return -1;
		if (store_exec(st, SQ_MSG_STATE, "sssss", ms.partner,
		    ms.message_id, record_dir_name(ms.direction),
		    record_msg_state_name(ms.state), ms.reason) == -1)
			return -1;
		if (ms.direction != RECORD_DIR_OUT)
			return 0;
		if (ms.state != RECORD_MS_QUEUED && ms.state != RECORD_MS_SENT)
			return store_exec(st, SQ_OUTBOX_DEL, "ss", ms.partner,
			    ms.message_id);
		if (ms.next_attempt == 0)
			return 0;
		return store_exec(st, SQ_OUTBOX_RETRY, "ssIi", ms.partner,
		    ms.message_id, (int64_t)ms.next_attempt, ms.attempts);
	case JOURNAL_INBOX_ACK:
		if (record_ack_decode(r->payload, r->len, &ack) == -1)
			break;
		return store_exec(st, SQ_INBOX_ACK, "ss", ack.partner,
		    ack.message_id);
	case JOURNAL_PARTNER_PAUSE:
		if (record_pause_decode(r->payload, r->len, &pause) == -1)
			break;
		return store_exec(st, SQ_PAUSE, "si", pause.partner,
		    pause.paused);
	default:
		store_seterr(st, "unknown record type %d", (int)r->kind);
		return -1;
	}
	store_seterr(st, "malformed %s payload", journal_kind_name(r->kind));
	return -1;
}

int
store_apply_batch(struct store *st, const struct store_record *recs,
    size_t n)
{
	const struct store_record *r = NULL;
	uint64_t last = st->last;
	size_t i;

	if (n == 0)
		return 0;
	if (store_exec(st, SQ_BEGIN, "") == -1) {
		log_errx("store", "%s: begin: %s", st->path, st->err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		r = &recs[i];
		if (r->seq <= last) {
			/* applied before (a replay after a crash) */
			log_debug("store", "record %llu already applied",
			    (unsigned long long)r->seq);
			continue;
		}
		if (store_apply_one(st, r) == -1)
			goto fail;
		last = r->seq;
	}
	r = NULL;
	if (last != st->last && store_exec(st, SQ_SET_LAST, "I",
	    (int64_t)last) == -1)
		goto fail;
	if (store_exec(st, SQ_COMMIT, "") == -1)
		goto fail;
	st->last = last;
	return 0;
 fail:
	store_rollback(st);
	if (r != NULL)
		log_errx("store", "%s: record %llu (%s) not applied: %s; "
		    "nothing of its batch applied, last applied stays %llu",
		    st->path, (unsigned long long)r->seq,
		    journal_kind_name(r->kind), st->err,
		    (unsigned long long)st->last);
	else
		log_errx("store", "%s: commit failed: %s; nothing of the "
		    "batch applied, last applied stays %llu", st->path,
		    st->err, (unsigned long long)st->last);
	return -1;
}

int
store_apply(struct store *st, enum journal_kind kind, uint64_t seq,
    accord_time_t time, const void *payload, size_t len)
{
	struct store_record r;

	r.kind = kind;
	r.seq = seq;
	r.time = time;
	r.payload = payload;
	r.len = len;
	return store_apply_batch(st, &r, 1);
}

/* ---- queries ----------------------------------------------------------- */

/* Report a failed step of a query. */
static int
store_query_failed(struct store *st, sqlite3_stmt *s, int rc,
    const char *what)
{
	if (s != NULL && rc != SQLITE_OK)
		store_setsqlerr(st, rc);
	log_errx("store", "%s: %s: %s", st->path, what, st->err);
	if (s != NULL)
		sqlite3_reset(s);
	return -1;
}

/*
 * Step a query that yields at most one row (s may be NULL: preparing or
 * binding failed).  @return 1 with the row ready to read (reset s
 * after), 0 when there is none, -1 after logging.
 */
static int
store_one(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc;

	if (s == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, what);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return store_query_failed(st, s, rc, what);
	return 1;
}

int
store_case_get(struct store *st, const char *partner, const char *case_id,
    struct fsm_case *out)
{
	sqlite3_stmt *s;
	json_error_t err;
	json_t *j = NULL;
	int rc, rv = -1;

	memset(out, 0, sizeof(*out));
	if ((s = store_query(st, SQ_CASE_GET, "ss", partner, case_id)) ==
	    NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "case");
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		rv = 0;
		goto done;
	}
	if (rc != SQLITE_ROW)
		return store_query_failed(st, s, rc, "case");
	j = json_loadb((const char *)sqlite3_column_text(s, 0),
	    (size_t)sqlite3_column_bytes(s, 0), 0, &err);
	if (j == NULL || record_case_from_json(j, out) == -1) {
		log_errx("store", "%s: case %s/%s: stored snapshot unreadable",
		    st->path, partner, case_id);
		goto done;
	}
	rv = 1;
 done:
	json_decref(j);
	sqlite3_reset(s);
	return rv;
}

/* Fill m from a row of MSG_COLS. */
static void
store_row_message(sqlite3_stmt *s, struct store_message *m)
{
	char buf[64];
	int v;

	memset(m, 0, sizeof(*m));
	store_col_text(s, 0, m->partner, sizeof(m->partner));
	store_col_text(s, 1, m->message_id, sizeof(m->message_id));
	store_col_text(s, 2, buf, sizeof(buf));
	m->direction = strcmp(buf, "out") == 0 ? RECORD_DIR_OUT :
	    RECORD_DIR_IN;
	store_col_text(s, 3, m->case_id, sizeof(m->case_id));
	store_col_text(s, 4, m->ref_to, sizeof(m->ref_to));
	store_col_text(s, 5, buf, sizeof(buf));
	v = agreement_msg_type_from_name(buf);
	m->type = v < 0 ? MSG_TYPE_COUNT : (enum msg_type)v;
	store_col_text(s, 6, buf, sizeof(buf));
	v = record_msg_state_from_name(buf);
	m->state = v < 0 ? RECORD_MS_COUNT : (enum record_msg_state)v;
	store_col_text(s, 7, m->reason, sizeof(m->reason));
	store_col_text(s, 8, m->sha256, sizeof(m->sha256));
	m->created = sqlite3_column_int64(s, 9);
	m->received_at = sqlite3_column_int64(s, 10);
	m->journal_seq = (uint64_t)sqlite3_column_int64(s, 11);
	m->receipt_seq = (uint64_t)sqlite3_column_int64(s, 12);
}

int
store_message_find(struct store *st, const char *partner,
    const char *message_id, enum record_dir direction,
    struct store_message *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_query(st, SQ_MSG_FIND, "sss", partner, message_id,
	    record_dir_name(direction));
	if ((rc = store_one(st, s, "message")) != 1)
		return rc;
	store_row_message(s, out);
	sqlite3_reset(s);
	return 1;
}

static int
store_deadline_name_value(const char *name)
{
	int i;

	for (i = 0; i < FSM_DL_COUNT; i++)
		if (strcmp(fsm_deadline_name(i), name) == 0)
			return i;
	return FSM_DL_COUNT;
}

/* Fill d from a row of (partner, case_id, which, due). */
static void
store_row_deadline(sqlite3_stmt *s, struct store_deadline *d)
{
	char buf[64];

	memset(d, 0, sizeof(*d));
	store_col_text(s, 0, d->partner, sizeof(d->partner));
	store_col_text(s, 1, d->case_id, sizeof(d->case_id));
	store_col_text(s, 2, buf, sizeof(buf));
	d->which = store_deadline_name_value(buf);
	d->due = sqlite3_column_int64(s, 3);
}

int
store_request_get(struct store *st, uid_t uid, const char *request_id,
    struct store_request *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_query(st, SQ_REQUEST_GET, "is", (int)uid, request_id);
	if ((rc = store_one(st, s, "request")) != 1)
		return rc;
	store_col_text(s, 0, out->sha256, sizeof(out->sha256));
	store_col_text(s, 1, out->partner, sizeof(out->partner));
	store_col_text(s, 2, out->message_id, sizeof(out->message_id));
	store_col_text(s, 3, out->case_id, sizeof(out->case_id));
	out->created = sqlite3_column_int64(s, 4);
	sqlite3_reset(s);
	return 1;
}

int
store_case_last_message(struct store *st, const char *partner,
    const char *case_id, enum record_dir direction,
    struct store_message *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_query(st, SQ_CASE_LAST, "sss", partner, case_id,
	    record_dir_name(direction));
	if ((rc = store_one(st, s, "message")) != 1)
		return rc;
	store_row_message(s, out);
	sqlite3_reset(s);
	return 1;
}

int
store_next_deadline_after(struct store *st, accord_time_t after,
    struct store_deadline *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_query(st, SQ_DL_NEXT_AFTER, "I", (int64_t)after);
	if ((rc = store_one(st, s, "deadline")) != 1)
		return rc;
	store_row_deadline(s, out);
	sqlite3_reset(s);
	return 1;
}

int
store_next_deadline(struct store *st, struct store_deadline *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_query(st, SQ_DL_NEXT, "");
	if ((rc = store_one(st, s, "deadline")) != 1)
		return rc;
	store_row_deadline(s, out);
	sqlite3_reset(s);
	return 1;
}

/* Row readers for store_collect(). */
enum store_rowkind {
	ROW_MESSAGE,
	ROW_DEADLINE,
	ROW_OUTBOX,
	ROW_INBOX,
	ROW_CASE
};

static int
store_row_read(enum store_rowkind kind, sqlite3_stmt *s, void *row)
{
	struct store_inbox *in;
	struct store_outbox *o;
	struct store_case *c;
	json_error_t err;
	json_t *j;
	char buf[64];
	int rv, v;

	switch (kind) {
	case ROW_MESSAGE:
		store_row_message(s, row);
		return 0;
	case ROW_DEADLINE:
		store_row_deadline(s, row);
		return 0;
	case ROW_OUTBOX:
		o = row;
		store_col_text(s, 0, o->partner, sizeof(o->partner));
		store_col_text(s, 1, o->message_id, sizeof(o->message_id));
		store_col_text(s, 2, o->case_id, sizeof(o->case_id));
		o->journal_seq = (uint64_t)sqlite3_column_int64(s, 3);
		o->next_attempt = sqlite3_column_int64(s, 4);
		o->attempts = sqlite3_column_int(s, 5);
		return 0;
	case ROW_INBOX:
		in = row;
		store_col_text(s, 0, in->partner, sizeof(in->partner));
		store_col_text(s, 1, in->message_id, sizeof(in->message_id));
		store_col_text(s, 2, in->case_id, sizeof(in->case_id));
		store_col_text(s, 3, buf, sizeof(buf));
		in->journal_seq = (uint64_t)sqlite3_column_int64(s, 4);
		if ((v = agreement_msg_type_from_name(buf)) < 0)
			return -1;
		in->type = (enum msg_type)v;
		return 0;
	case ROW_CASE:
		c = row;
		store_col_text(s, 0, c->partner, sizeof(c->partner));
		store_col_text(s, 1, c->case_id, sizeof(c->case_id));
		c->opened_at = sqlite3_column_int64(s, 2);
		c->updated_at = sqlite3_column_int64(s, 3);
		j = json_loadb((const char *)sqlite3_column_text(s, 4),
		    (size_t)sqlite3_column_bytes(s, 4), 0, &err);
		rv = j == NULL ? -1 : record_case_from_json(j, &c->c);
		json_decref(j);
		c->next_due = sqlite3_column_int64(s, 5);
		return rv;
	}
	return -1;
}

/*
 * Step s through its rows into an array, reset it, then call cb on each:
 * the statement is no longer running when the callback writes.
 */
static int
store_collect(struct store *st, sqlite3_stmt *s, enum store_rowkind kind,
    size_t size, int (*cb)(void *, const void *), void *arg,
    const char *what)
{
	struct store_vec v = { NULL, 0, 0, size };
	void *row;
	size_t i;
	int rc, rv = -1;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((row = store_vec_push(&v)) == NULL)
			goto done;
		if (store_row_read(kind, s, row) == -1) {
			log_errx("store", "%s: %s: unreadable row", st->path,
			    what);
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		store_query_failed(st, s, rc, what);
		goto done;
	}
	sqlite3_reset(s);
	for (i = 0; i < v.n; i++)
		if (cb(arg, v.v + i * size) != 0)
			break;
	rv = 0;
 done:
	sqlite3_reset(s);
	free(v.v);
	return rv;
}

/*
 * The typed callbacks reach store_collect() through these trampolines
 * rather than through a cast function pointer, whose call would be
 * undefined behaviour.
 */
struct store_tramp {
	store_case_cb	 ccb;
	store_message_cb mcb;
	store_deadline_cb dcb;
	store_outbox_cb	 ocb;
	store_inbox_cb	 icb;
	void		*arg;
};

static int
store_tramp_case(void *t, const void *row)
{
	struct store_tramp *tr = t;

	return tr->ccb(tr->arg, row);
}

static int
store_tramp_message(void *t, const void *row)
{
	struct store_tramp *tr = t;

	return tr->mcb(tr->arg, row);
}

static int
store_tramp_deadline(void *t, const void *row)
{
	struct store_tramp *tr = t;

	return tr->dcb(tr->arg, row);
}

static int
store_tramp_outbox(void *t, const void *row)
{
	struct store_tramp *tr = t;

	return tr->ocb(tr->arg, row);
}

static int
store_tramp_inbox(void *t, const void *row)
{
	struct store_tramp *tr = t;

	return tr->icb(tr->arg, row);
}

int
store_deadlines_due(struct store *st, accord_time_t now,
    store_deadline_cb cb, void *arg)
{
	struct store_tramp tr = { .dcb = cb, .arg = arg };
	sqlite3_stmt *s;

	if ((s = store_query(st, SQ_DL_DUE, "I", (int64_t)now)) == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "deadlines");
	return store_collect(st, s, ROW_DEADLINE,
	    sizeof(struct store_deadline), store_tramp_deadline, &tr,
	    "deadlines");
}

int
store_case_messages(struct store *st, const char *partner,
    const char *case_id, store_message_cb cb, void *arg)
{
	struct store_tramp tr = { .mcb = cb, .arg = arg };
	sqlite3_stmt *s;

	if ((s = store_query(st, SQ_CASE_MSGS, "ss", partner, case_id)) ==
	    NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "messages");
	return store_collect(st, s, ROW_MESSAGE,
	    sizeof(struct store_message), store_tramp_message, &tr,
	    "messages");
}

int
store_outbox_due(struct store *st, accord_time_t now, store_outbox_cb cb,
    void *arg)
{
	struct store_tramp tr = { .ocb = cb, .arg = arg };
	sqlite3_stmt *s;

	if ((s = store_query(st, SQ_OUTBOX_DUE, "I", (int64_t)now)) == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "outbox");
	return store_collect(st, s, ROW_OUTBOX, sizeof(struct store_outbox),
	    store_tramp_outbox, &tr, "outbox");
}

int
store_outbox_oldest(struct store *st, const char *partner, store_outbox_cb cb,
    void *arg)
{
	struct store_tramp tr = { .ocb = cb, .arg = arg };
	sqlite3_stmt *s;

	if ((s = store_query(st, SQ_OUTBOX_OLDEST, "s", partner)) == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "outbox");
	return store_collect(st, s, ROW_OUTBOX, sizeof(struct store_outbox),
	    store_tramp_outbox, &tr, "outbox");
}

int
store_inbox_pending(struct store *st, store_inbox_cb cb, void *arg)
{
	struct store_tramp tr = { .icb = cb, .arg = arg };
	sqlite3_stmt *s;

	if ((s = store_query(st, SQ_INBOX_PENDING, "")) == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "inbox");
	return store_collect(st, s, ROW_INBOX, sizeof(struct store_inbox),
	    store_tramp_inbox, &tr, "inbox");
}

void
store_case_filter_init(struct store_case_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = -1;
	f->kind = -1;
}

/* Append s to the SQL text being built in buf. */
static int
store_sql_add(char *buf, size_t size, size_t *len, const char *s)
{
	int n;

	n = snprintf(buf + *len, size - *len, "%s", s);
	if (n < 0 || (size_t)n >= size - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

int
store_list_cases(struct store *st, const struct store_case_filter *f,
    store_case_cb cb, void *arg)
{
	static const char armed[] = " AND EXISTS (SELECT 1 FROM deadlines d "
	    "WHERE d.partner = c.partner AND d.case_id = c.case_id AND "
	    "d.armed = 1 AND d.due ";
	struct store_tramp tr = { .ccb = cb, .arg = arg };
	struct store_case_filter all;
	sqlite3_stmt *s = NULL;
	char sql[2048];
	size_t len = 0;
	int n = 0, rc, rv = -1;

	if (f == NULL) {
		store_case_filter_init(&all);
		f = &all;
	}
	if (store_sql_add(sql, sizeof(sql), &len, "SELECT c.partner, "
	    "c.case_id, c.opened_at, c.updated_at, c.fsm, "
	    "(SELECT coalesce(min(d.due), 0) FROM deadlines d "
	    "WHERE d.partner = c.partner AND d.case_id = c.case_id AND "
	    "d.armed = 1) FROM cases c WHERE 1") == -1 ||
	    (f->state >= 0 && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.state = ?") == -1) ||
	    (f->kind >= 0 && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.kind = ?") == -1) ||
	    (f->partner != NULL && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.partner = ?") == -1) ||
	    (f->overdue_at != 0 && (store_sql_add(sql, sizeof(sql), &len,
	    f->overdue_states ? " AND (c.state IN ('EXPIRED', "
	    "'TRANSFER_OVERDUE', 'TRANSIT_EXPIRED') OR 1" : "") == -1 ||
	    store_sql_add(sql, sizeof(sql), &len, armed) == -1 ||
	    store_sql_add(sql, sizeof(sql), &len, f->overdue_states ?
	    "< ?))" : "< ?)") == -1)) ||
	    (f->due_by != 0 && (store_sql_add(sql, sizeof(sql), &len,
	    armed) == -1 || store_sql_add(sql, sizeof(sql), &len,
	    "<= ?)") == -1)) ||
	    (f->updated_since != 0 && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.updated_at >= ?") == -1) ||
	    store_sql_add(sql, sizeof(sql), &len,
	    " ORDER BY c.partner, c.case_id") == -1) {
		log_errx("store", "case query too long");
		return -1;
	}
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		store_setsqlerr(st, rc);
		log_errx("store", "%s: cases: %s", st->path, st->err);
		goto done;
	}
	rc = SQLITE_OK;
	if (f->state >= 0)
		rc = sqlite3_bind_text(s, ++n, fsm_state_name(f->state), -1,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK && f->kind >= 0)
		rc = sqlite3_bind_text(s, ++n, fsm_kind_name(f->kind), -1,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK && f->partner != NULL)
		rc = sqlite3_bind_text(s, ++n, f->partner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && f->overdue_at != 0)
		rc = sqlite3_bind_int64(s, ++n, f->overdue_at);
	if (rc == SQLITE_OK && f->due_by != 0)
		rc = sqlite3_bind_int64(s, ++n, f->due_by);
	if (rc == SQLITE_OK && f->updated_since != 0)
		rc = sqlite3_bind_int64(s, ++n, f->updated_since);
	if (rc != SQLITE_OK) {
		store_setsqlerr(st, rc);
		log_errx("store", "%s: cases: %s", st->path, st->err);
		goto done;
	}
	rv = store_collect(st, s, ROW_CASE, sizeof(struct store_case),
	    store_tramp_case, &tr, "cases");
 done:
	sqlite3_finalize(s);
	return rv;
}

/* ---- operator queries (control socket: inbox, queues, alerts, stats) -- */

void
store_message_filter_init(struct store_message_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = -1;
	f->direction = -1;
}

int
store_list_messages(struct store *st, const struct store_message_filter *f,
    store_message_cb cb, void *arg)
{
	struct store_tramp tr = { .mcb = cb, .arg = arg };
	struct store_message_filter all;
	sqlite3_stmt *s = NULL;
	char sql[1024];
	size_t len = 0;
	int n = 0, rc, rv = -1;

	if (f == NULL) {
		store_message_filter_init(&all);
		f = &all;
	}
	if (store_sql_add(sql, sizeof(sql), &len, "SELECT " MSG_COLS
	    " FROM messages WHERE 1") == -1 ||
	    (f->state >= 0 && store_sql_add(sql, sizeof(sql), &len,
	    " AND state = ?") == -1) ||
	    (f->direction >= 0 && store_sql_add(sql, sizeof(sql), &len,
	    " AND direction = ?") == -1) ||
	    (f->partner != NULL && store_sql_add(sql, sizeof(sql), &len,
	    " AND partner = ?") == -1) ||
	    store_sql_add(sql, sizeof(sql), &len,
	    " ORDER BY journal_seq, direction") == -1) {
		log_errx("store", "message query too long");
		return -1;
	}
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && f->state >= 0)
		rc = sqlite3_bind_text(s, ++n, record_msg_state_name(f->state),
		    -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && f->direction >= 0)
		rc = sqlite3_bind_text(s, ++n, record_dir_name(f->direction),
		    -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && f->partner != NULL)
		rc = sqlite3_bind_text(s, ++n, f->partner, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		store_setsqlerr(st, rc);
		log_errx("store", "%s: messages: %s", st->path, st->err);
		goto done;
	}
	rv = store_collect(st, s, ROW_MESSAGE, sizeof(struct store_message),
	    store_tramp_message, &tr, "messages");
 done:
	sqlite3_finalize(s);
	return rv;
}

/* Run sql (bound to the strings of fmt, 's' only) for one row of
 * integers into v[0..n-1].  @return 1 row, 0 none, -1 error. */
static int
store_int_row(struct store *st, const char *sql, const char *p1,
    const char *p2, int64_t *v, int n)
{
	sqlite3_stmt *s = NULL;
	int i, rc, rv = -1;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && p1 != NULL)
		rc = sqlite3_bind_text(s, 1, p1, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && p2 != NULL)
		rc = sqlite3_bind_text(s, 2, p2, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		store_setsqlerr(st, rc);
		goto done;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		rv = 0;
		goto done;
	}
	if (rc != SQLITE_ROW) {
		store_setsqlerr(st, rc);
		goto done;
	}
	for (i = 0; i < n; i++)
		v[i] = sqlite3_column_int64(s, i);
	rv = 1;
 done:
	if (rv == -1)
		log_errx("store", "%s: %s", st->path, st->err);
	sqlite3_finalize(s);
	return rv;
}

int
store_inbox_get(struct store *st, const char *partner,
    const char *message_id, int *acked)
{
	int64_t v[1];
	int rc;

	rc = store_int_row(st, "SELECT acked FROM inbox WHERE partner = ?1 "
	    "AND message_id = ?2", partner, message_id, v, 1);
	if (rc == 1)
		*acked = v[0] != 0;
	return rc;
}

int
store_partner_queue(struct store *st, const char *partner,
    struct store_queue *q)
{
	int64_t v[6];
	int rc;

	memset(q, 0, sizeof(*q));
	rc = store_int_row(st, "SELECT "
	    "(SELECT count(*) FROM outbox WHERE partner = ?1), "
	    "(SELECT coalesce(min(m.created), 0) FROM outbox o JOIN messages m "
	    "ON m.partner = o.partner AND m.message_id = o.message_id AND "
	    "m.direction = 'out' WHERE o.partner = ?1), "
	    "(SELECT count(*) FROM messages WHERE partner = ?1 AND "
	    "direction = 'out' AND state IN ('UNDELIVERED', 'DISPUTED')), "
	    "(SELECT coalesce(max(created), 0) FROM messages WHERE "
	    "partner = ?1 AND direction = 'in'), "
	    "(SELECT coalesce(max(received_at), 0) FROM messages WHERE "
	    "partner = ?1 AND direction = 'out'), "
	    "(SELECT coalesce(max(paused), 0) FROM partners WHERE "
	    "partner = ?1)", partner, NULL, v, 6);
	if (rc != 1)
		return -1;
	q->depth = (int)v[0];
	q->oldest_queued = v[1];
	q->stuck = (int)v[2];
	q->last_contact = v[3] > v[4] ? v[3] : v[4];
	q->paused = v[5] != 0;
	return 0;
}
