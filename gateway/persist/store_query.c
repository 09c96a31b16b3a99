/*
 * store_query.c -- the store's read queries: a case, a message, a
 * request, the next deadline; the listings (deadlines due, a case's
 * messages, the outbox and inbox, cases and messages by filter), whose
 * rows are collected before the callback runs; and the operator's
 * figures of a partner's queue.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "fsm/fsm.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "persist/store_priv.h"
#include "util/xmalloc.h"

/* A growing array of rows collected before calling back. */
struct store_vec {
	char		*v;
	size_t		 n;
	size_t		 cap;
	size_t		 size;
};

/* Copy text column i into buf, truncating (the store only holds what
 * bounded buffers wrote). */
static void
store_col_text(sqlite3_stmt *s, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(buf, size, "%s", t != NULL ? (const char *)t : "");
}

/* A new zeroed element at the end of v. */
static void *
store_vec_push(struct store_vec *v)
{
	v->v = xgrowarray(v->v, v->n, &v->cap, v->size);
	memset(v->v + v->n * v->size, 0, v->size);
	return v->v + v->n++ * v->size;
}

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

/* Fill m from a row of STORE_MSG_COLS. */
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

/* The one message row s selects into out.  @return 1, 0 none, -1. */
static int
store_one_message(struct store *st, sqlite3_stmt *s, struct store_message *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_one(st, s, "message")) != 1)
		return rc;
	store_row_message(s, out);
	sqlite3_reset(s);
	return 1;
}

int
store_message_find(struct store *st, const char *partner,
    const char *message_id, enum record_dir direction,
    struct store_message *out)
{
	sqlite3_stmt *s;

	s = store_query(st, SQ_MSG_FIND, "sss", partner, message_id,
	    record_dir_name(direction));
	return store_one_message(st, s, out);
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

	s = store_query(st, SQ_CASE_LAST, "sss", partner, case_id,
	    record_dir_name(direction));
	return store_one_message(st, s, out);
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
	ROW_CASE,
	ROW_RECORD
};

/* Fill p from a row of (seq, kind, file, offset). */
static int
store_row_recpos(sqlite3_stmt *s, struct store_recpos *p)
{
	char buf[32];
	int k;

	p->seq = (uint64_t)sqlite3_column_int64(s, 0);
	store_col_text(s, 1, buf, sizeof(buf));
	p->file = (uint32_t)sqlite3_column_int64(s, 2);
	p->offset = (uint64_t)sqlite3_column_int64(s, 3);
	if ((k = journal_kind_from_name(buf)) < 0)
		return -1;
	p->kind = (enum journal_kind)k;
	return 0;
}

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
	case ROW_RECORD:
		return store_row_recpos(s, row);
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
		row = store_vec_push(&v);
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
	int		(*rcb)(void *, const struct store_recpos *);
	void		*arg;
};

/* One trampoline per row type: the typed callback, called with the
 * caller's argument. */
#define STORE_TRAMP(name, field)					\
static int								\
name(void *t, const void *row)						\
{									\
	struct store_tramp *tr = t;					\
									\
	return tr->field(tr->arg, row);					\
}
STORE_TRAMP(store_tramp_record, rcb)
STORE_TRAMP(store_tramp_case, ccb)
STORE_TRAMP(store_tramp_message, mcb)
STORE_TRAMP(store_tramp_deadline, dcb)
STORE_TRAMP(store_tramp_outbox, ocb)
STORE_TRAMP(store_tramp_inbox, icb)

int
store_deadlines_due(struct store *st, accord_time_t now,
    store_deadline_cb cb, void *arg)
{
	return store_deadlines_due_page(st, now, NULL, 0, cb, arg);
}

int
store_deadlines_due_page(struct store *st, accord_time_t now,
    const struct store_deadline *after, int limit, store_deadline_cb cb,
    void *arg)
{
	/* from the start: after a row that sorts before every real one
	 * (the due time comes first in the order) */
	static const struct store_deadline first = { .due = INT64_MIN };
	struct store_tramp tr = { .dcb = cb, .arg = arg };
	sqlite3_stmt *s;

	if (after == NULL)
		after = &first;
	if ((s = store_query(st, SQ_DL_DUE, "IIsssI", (int64_t)now,
	    (int64_t)after->due, after->partner, after->case_id,
	    fsm_deadline_name(after->which), (int64_t)(limit > 0 ? limit :
	    -1))) == NULL)
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

static int
store_outbox_cmp(const void *a, const void *b)
{
	const struct store_outbox *x = a, *y = b;

	return x->journal_seq < y->journal_seq ? -1 :
	    x->journal_seq > y->journal_seq;
}

int
store_outbox_due(struct store *st, accord_time_t now, store_outbox_cb cb,
    void *arg)
{
	return store_outbox_due_some(st, now, NULL, NULL, cb, arg);
}

int
store_outbox_due_some(struct store *st, accord_time_t now,
    int (*full)(void *, const char *), void *full_arg, store_outbox_cb cb,
    void *arg)
{
	struct store_tramp tr = { .ocb = cb, .arg = arg };
	struct store_vec parts = { NULL, 0, 0, RECORD_PARTNER_MAX };
	struct store_vec rows = { NULL, 0, 0, sizeof(struct store_outbox) };
	sqlite3_stmt *s;
	size_t i;
	int rc, rv = -1;

	/* the partners first (the statement is done before the next runs) */
	if ((s = store_query(st, SQ_OUTBOX_PARTNERS, "")) == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "outbox");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		store_col_text(s, 0, store_vec_push(&parts), RECORD_PARTNER_MAX);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_query_failed(st, s, rc, "outbox");
		goto done;
	}
	for (i = 0; i < parts.n; i++) {
		if (full != NULL && full(full_arg,
		    parts.v + i * RECORD_PARTNER_MAX))
			continue;
		s = store_query(st, SQ_OUTBOX_DUE, "Is", (int64_t)now,
		    parts.v + i * RECORD_PARTNER_MAX);
		if (s == NULL) {
			store_query_failed(st, NULL, SQLITE_OK, "outbox");
			goto done;
		}
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			store_row_read(ROW_OUTBOX, s, store_vec_push(&rows));
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			store_query_failed(st, s, rc, "outbox");
			goto done;
		}
	}
	/* in journal order across partners, as one query gave them */
	if (rows.n > 1)
		qsort(rows.v, rows.n, rows.size, store_outbox_cmp);
	for (i = 0; i < rows.n; i++)
		if (store_tramp_outbox(&tr, rows.v + i * rows.size) != 0)
			break;
	rv = 0;
done:
	free(parts.v);
	free(rows.v);
	return rv;
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
store_inbox_page(struct store *st, const char *partner, uint64_t after,
    int limit, store_inbox_cb cb, void *arg)
{
	struct store_tramp tr = { .icb = cb, .arg = arg };
	sqlite3_stmt *s;
	int64_t lim = limit > 0 ? limit : -1;

	s = partner != NULL ? store_query(st, SQ_INBOX_PENDING_PARTNER,
	    "IIs", (int64_t)after, lim, partner) :
	    store_query(st, SQ_INBOX_PENDING, "II", (int64_t)after, lim);
	if (s == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "inbox");
	return store_collect(st, s, ROW_INBOX, sizeof(struct store_inbox),
	    store_tramp_inbox, &tr, "inbox");
}

int
store_inbox_pending(struct store *st, store_inbox_cb cb, void *arg)
{
	return store_inbox_page(st, NULL, 0, 0, cb, arg);
}

int
store_which_partner(struct store *st, const char *message_id, int inbox,
    char partners[2][RECORD_PARTNER_MAX])
{
	sqlite3_stmt *s;
	int rc, n = 0;

	if ((s = store_query(st, inbox ? SQ_INBOX_WHICH : SQ_MSG_WHICH_OUT,
	    "s", message_id)) == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "which");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (n < 2)
			store_col_text(s, 0, partners[n++], RECORD_PARTNER_MAX);
	if (rc != SQLITE_DONE)
		return store_query_failed(st, s, rc, "which");
	sqlite3_reset(s);
	return n;
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

/* the next armed deadline, 0 without one */
#define STORE_NEXT_DUE "(SELECT coalesce(min(d.due), 0) FROM deadlines d " \
	    "WHERE d.partner = c.partner AND d.case_id = c.case_id AND " \
	    "+d.armed = 1)"
/* by_due's order: cases without a deadline after those with one */
#define STORE_DUE_KEY "(" STORE_NEXT_DUE " = 0, " STORE_NEXT_DUE ", " \
	    "c.partner, c.case_id)"

int
store_list_cases(struct store *st, const struct store_case_filter *f,
    store_case_cb cb, void *arg)
{
	static const char armed[] = " AND EXISTS (SELECT 1 FROM deadlines d "
	    "WHERE d.partner = c.partner AND d.case_id = c.case_id AND "
	    "+d.armed = 1 AND d.due ";
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
	    "c.case_id, c.opened_at, c.updated_at, c.fsm, " STORE_NEXT_DUE
	    " FROM cases c WHERE 1") == -1 ||
	    (f->state >= 0 && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.state = ?") == -1) ||
	    (f->kind >= 0 && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.kind = ?") == -1) ||
	    (f->partner != NULL && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.partner = ?") == -1) ||
	    (f->case_id != NULL && store_sql_add(sql, sizeof(sql), &len,
	    " AND c.case_id = ?") == -1) ||
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
	    (f->after_partner != NULL && store_sql_add(sql, sizeof(sql),
	    &len, f->by_due ? " AND " STORE_DUE_KEY " > (?, ?, ?, ?)" :
	    " AND (c.partner, c.case_id) > (?, ?)") == -1) ||
	    store_sql_add(sql, sizeof(sql), &len, f->by_due ? " ORDER BY "
	    STORE_NEXT_DUE " = 0, 6, c.partner, c.case_id" :
	    " ORDER BY c.partner, c.case_id") == -1 ||
	    (f->limit > 0 && store_sql_add(sql, sizeof(sql), &len,
	    " LIMIT ?") == -1)) {
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
	if (rc == SQLITE_OK && f->case_id != NULL)
		rc = sqlite3_bind_text(s, ++n, f->case_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && f->overdue_at != 0)
		rc = sqlite3_bind_int64(s, ++n, f->overdue_at);
	if (rc == SQLITE_OK && f->due_by != 0)
		rc = sqlite3_bind_int64(s, ++n, f->due_by);
	if (rc == SQLITE_OK && f->updated_since != 0)
		rc = sqlite3_bind_int64(s, ++n, f->updated_since);
	if (rc == SQLITE_OK && f->after_partner != NULL && f->by_due &&
	    (rc = sqlite3_bind_int(s, ++n, f->after_due == 0)) == SQLITE_OK)
		rc = sqlite3_bind_int64(s, ++n, f->after_due);
	if (rc == SQLITE_OK && f->after_partner != NULL &&
	    (rc = sqlite3_bind_text(s, ++n, f->after_partner, -1,
	    SQLITE_STATIC)) == SQLITE_OK)
		rc = sqlite3_bind_text(s, ++n, f->after_case != NULL ?
		    f->after_case : "", -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && f->limit > 0)
		rc = sqlite3_bind_int(s, ++n, f->limit);
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
	if (store_sql_add(sql, sizeof(sql), &len, "SELECT " STORE_MSG_COLS
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
	    /* the outbox drives (CROSS JOIN): not every message sent */
	    "(SELECT coalesce(min(m.created), 0) FROM outbox o CROSS JOIN "
	    "messages m "
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

int
store_case_records(struct store *st, const char *partner,
    const char *case_id, uint64_t after, int limit,
    int (*cb)(void *, const struct store_recpos *), void *arg)
{
	struct store_tramp tr = { .rcb = cb, .arg = arg };
	sqlite3_stmt *s;

	s = store_query(st, SQ_REC_CASE, "ssIi", partner, case_id,
	    (int64_t)after, limit > 0 ? limit : -1);
	if (s == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "records");
	return store_collect(st, s, ROW_RECORD, sizeof(struct store_recpos),
	    store_tramp_record, &tr, "records");
}

int
store_record_pos(struct store *st, uint64_t seq, struct store_recpos *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_query(st, SQ_REC_GET, "I", (int64_t)seq);
	if ((rc = store_one(st, s, "record")) != 1)
		return rc;
	out->seq = seq;
	out->file = (uint32_t)sqlite3_column_int64(s, 0);
	out->offset = (uint64_t)sqlite3_column_int64(s, 1);
	rc = journal_kind_from_name((const char *)sqlite3_column_text(s, 2));
	sqlite3_reset(s);
	if (rc < 0) {
		log_errx("store", "%s: record %llu: unknown kind", st->path,
		    (unsigned long long)seq);
		return -1;
	}
	out->kind = (enum journal_kind)rc;
	return 1;
}

int
store_gauge(struct store *st, enum store_gauge g, accord_time_t now,
    int (*cb)(void *, const char *, const char *, long long), void *arg)
{
	static const enum store_stmt ids[] = { SQ_COUNT_CASES, SQ_COUNT_MSGS,
	    SQ_COUNT_INBOX, SQ_COUNT_OVERDUE };
	sqlite3_stmt *s;
	int rc;

	if (g == STORE_GAUGE_OVERDUE)
		s = store_query(st, ids[g], "I", (int64_t)now);
	else
		s = store_query(st, ids[g], "");
	if (s == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "gauge");
	/* a handful of rows, and cb only formats: no collection needed */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb(arg, (const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (long long)sqlite3_column_int64(s, 2)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_query_failed(st, s, rc, "gauge");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

static const char *
store_col(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v != NULL ? v : "";
}

/* What the columns of a tally query are. */
enum store_tally_shape {
	STORE_TALLY_CASES,
	STORE_TALLY_MESSAGES,
	STORE_TALLY_EVENTS,
	STORE_TALLY_GROUNDS,
	STORE_TALLY_OVERDUE
};

/* Step a tally query: the rows are few (groups), cb only adds. */
static int
store_tally_run(struct store *st, sqlite3_stmt *s,
    enum store_tally_shape shape,
    int (*cb)(void *, const struct store_tally *), void *arg)
{
	struct store_tally t;
	int rc;

	if (s == NULL)
		return store_query_failed(st, NULL, SQLITE_OK, "tally");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		t.month = t.partner = t.kind = t.direction = t.code =
		    t.state = t.role = t.what = t.ground = "";
		t.ban = -1;
		switch (shape) {
		case STORE_TALLY_CASES:
			t.month = store_col(s, 0);
			t.partner = store_col(s, 1);
			t.state = store_col(s, 2);
			t.kind = store_col(s, 3);
			t.reason = sqlite3_column_int(s, 4);
			t.n = sqlite3_column_int64(s, 5);
			break;
		case STORE_TALLY_MESSAGES:
			t.month = store_col(s, 0);
			t.direction = store_col(s, 1);
			t.state = store_col(s, 2);
			t.code = store_col(s, 3);
			t.n = sqlite3_column_int64(s, 4);
			break;
		case STORE_TALLY_EVENTS:
			t.month = store_col(s, 0);
			t.partner = store_col(s, 1);
			t.kind = store_col(s, 2);
			t.role = store_col(s, 3);
			t.what = store_col(s, 4);
			t.ban = sqlite3_column_int(s, 5);
			t.n = sqlite3_column_int64(s, 6);
			break;
		case STORE_TALLY_GROUNDS:
			t.month = store_col(s, 0);
			t.partner = store_col(s, 1);
			t.kind = store_col(s, 2);
			t.role = store_col(s, 3);
			t.what = "refused";
			t.ground = store_col(s, 4);
			t.n = sqlite3_column_int64(s, 5);
			break;
		case STORE_TALLY_OVERDUE:
			t.partner = store_col(s, 0);
			t.kind = store_col(s, 1);
			t.role = store_col(s, 2);
			t.what = "overdue";
			t.n = sqlite3_column_int64(s, 3);
			break;
		}
		if (cb(arg, &t) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_query_failed(st, s, rc, "tally");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

int
store_tally_cases(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg)
{
	return store_tally_run(st, store_query(st, SQ_TALLY_CASES, "s",
	    partner != NULL ? partner : ""), STORE_TALLY_CASES, cb, arg);
}

int
store_tally_messages(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg)
{
	return store_tally_run(st, store_query(st, SQ_TALLY_MSGS, "s",
	    partner != NULL ? partner : ""), STORE_TALLY_MESSAGES, cb, arg);
}

int
store_tally_events(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg)
{
	return store_tally_run(st, store_query(st, SQ_TALLY_EVENTS, "s",
	    partner != NULL ? partner : ""), STORE_TALLY_EVENTS, cb, arg);
}

int
store_tally_grounds(struct store *st, const char *partner,
    int (*cb)(void *, const struct store_tally *), void *arg)
{
	return store_tally_run(st, store_query(st, SQ_TALLY_GROUNDS, "s",
	    partner != NULL ? partner : ""), STORE_TALLY_GROUNDS, cb, arg);
}

int
store_tally_overdue(struct store *st, const char *partner,
    accord_time_t now, int (*cb)(void *, const struct store_tally *),
    void *arg)
{
	return store_tally_run(st, store_query(st, SQ_TALLY_OVERDUE, "Is",
	    (int64_t)now, partner != NULL ? partner : ""),
	    STORE_TALLY_OVERDUE, cb, arg);
}
