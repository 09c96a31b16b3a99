/*
 * store_retain.c -- legal holds and erasures in the store (see
 * store_retain.h).  One row per case that was ever held or erased, in
 * the table "retain"; a release keeps the row, held 0, so the last hold
 * stays visible.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "fsm/fsm.h"
#include "persist/store.h"
#include "persist/store_priv.h"
#include "persist/store_retain.h"
#include "util/log.h"

static void
store_retain_text(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
}

int
store_retain_get(struct store *st, const char *partner, const char *case_id,
    struct store_retain *r)
{
	sqlite3_stmt *s = NULL;
	int rc, rv = -1;

	memset(r, 0, sizeof(*r));
	rc = sqlite3_prepare_v2(st->db, "SELECT held, hold_by, hold_reason, "
	    "hold_at, erased_at, erased_by FROM retain WHERE partner = ?1 AND "
	    "case_id = ?2", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, case_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		r->held = sqlite3_column_int(s, 0);
		store_retain_text(s, 1, r->hold_by, sizeof(r->hold_by));
		store_retain_text(s, 2, r->hold_reason,
		    sizeof(r->hold_reason));
		r->hold_at = sqlite3_column_int64(s, 3);
		r->erased_at = sqlite3_column_int64(s, 4);
		store_retain_text(s, 5, r->erased_by, sizeof(r->erased_by));
		rv = 1;
	} else if (rc == SQLITE_DONE)
		rv = 0;
	else {
		store_setsqlerr(st, rc);
		log_errx("store", "%s: retention of %s/%s: %s", st->path,
		    partner, case_id, st->err);
	}
	sqlite3_finalize(s);
	return rv;
}

/* The final states as an SQL list: the fsm says which they are. */
static int
store_retain_finals(char *buf, size_t len)
{
	size_t n = 0;
	int i, w;

	buf[0] = '\0';
	for (i = 0; i < FSM_STATE_COUNT; i++) {
		if (!fsm_state_final(i))
			continue;
		w = snprintf(buf + n, len - n, "%s'%s'", n ? ", " : "",
		    fsm_state_name(i));
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

int
store_retain_scan(struct store *st, const char *partner,
    accord_time_t until, accord_time_t after_at, const char *after_id,
    int examine, store_retain_cb cb, void *arg)
{
	struct store_retain_case rc_;
	sqlite3_stmt *s = NULL;
	char finals[1024], sql[1536];
	int rc, n = 0;

	if (store_retain_finals(finals, sizeof(finals)) == -1)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT c.case_id, c.updated_at, "
	    "c.state IN (%s), EXISTS (SELECT 1 FROM retain r WHERE "
	    "r.partner = c.partner AND r.case_id = c.case_id AND "
	    "(r.held = 1 OR r.erased_at != 0)) FROM cases c "
	    "WHERE c.partner = ?1 AND c.updated_at <= ?2 AND "
	    "(c.updated_at, c.case_id) > (?3, ?4) "
	    "ORDER BY c.updated_at, c.case_id LIMIT ?5", finals);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, until);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, after_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 4, after_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 5, examine);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&rc_, 0, sizeof(rc_));
		snprintf(rc_.partner, sizeof(rc_.partner), "%s", partner);
		store_retain_text(s, 0, rc_.case_id, sizeof(rc_.case_id));
		rc_.updated_at = sqlite3_column_int64(s, 1);
		rc_.final = sqlite3_column_int(s, 2);
		rc_.skip = sqlite3_column_int(s, 3);
		n++;
		if (cb(arg, &rc_) != 0)
			break;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_setsqlerr(st, rc);
		log_errx("store", "%s: cases due for erasure: %s", st->path,
		    st->err);
		n = -1;
	}
	sqlite3_finalize(s);
	return n;
}

int
store_retain_apply(struct store *st, const char *command,
    const char *partner, const char *case_id, const char *by,
    const char *reason, accord_time_t time)
{
	sqlite3_stmt *s = NULL;
	const char *sql;
	int rc;

	if (strcmp(command, "hold") == 0)
		sql = "INSERT INTO retain(partner, case_id, held, hold_by, "
		    "hold_reason, hold_at, erased_at, erased_by) "
		    "VALUES(?1, ?2, 1, ?3, ?4, ?5, 0, '') "
		    "ON CONFLICT(partner, case_id) DO UPDATE SET held = 1, "
		    "hold_by = ?3, hold_reason = ?4, hold_at = ?5";
	else if (strcmp(command, "release") == 0)
		sql = "UPDATE retain SET held = 0 WHERE partner = ?1 AND "
		    "case_id = ?2";
	else if (strcmp(command, "erase") == 0)
		sql = "INSERT INTO retain(partner, case_id, held, hold_by, "
		    "hold_reason, hold_at, erased_at, erased_by) "
		    "VALUES(?1, ?2, 0, '', '', 0, ?5, ?3) "
		    "ON CONFLICT(partner, case_id) DO UPDATE SET "
		    "erased_at = ?5, erased_by = ?3";
	else
		return 0;
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, case_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) >= 3)
		rc = sqlite3_bind_text(s, 3, by, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) >= 4)
		rc = sqlite3_bind_text(s, 4, reason != NULL ? reason : "", -1,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) >= 5)
		rc = sqlite3_bind_int64(s, 5, time);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_setsqlerr(st, rc);
		return -1;
	}
	return 0;
}
