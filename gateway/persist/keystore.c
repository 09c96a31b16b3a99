/*
 * keystore.c -- wrapped per-case data keys in state/keys.db (see
 * keystore.h).
 *
 * A key must be durable before the first journal record sealed under it
 * commits, or a crash could leave a record no key opens.  Making one per
 * case at its first message would cost an fsync on the engine's loop per
 * new case (a quarter of the exchange rate on a loaded machine).  So keys
 * are made ahead, KS_POOL at a time in one synchronous=FULL transaction
 * (a pool row has no case), and a case takes one from the pool: that
 * assignment is written with synchronous=NORMAL (WAL), and may be lost in
 * a crash -- harmless, since the journal names each sealed record's key
 * id and its case, from which the engine finds a case's key again
 * (engine_seal.c).  Readers look keys up by id.
 *
 * secure_delete: a deleted row (an erased key, a key re-wrapped) is
 * overwritten in the file, not left in a free page.  A copy the WAL or
 * the disk's free blocks may still hold is wrapped under the master key
 * of its time, which is why erasure is complete only after the next
 * rotation (README, "Data protection").
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "persist/keystore.h"
#include "persist/keystore_priv.h"
#include "persist/personidx.h"
#include "persist/walckpt.h"
#include "util/aead.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define KTAG		"keystore"
#define KS_CHECK_AAD	"accord-keystore-master-1"
#define KS_WRAPPED_LEN	(AEAD_KEY_LEN + AEAD_OVERHEAD)
#define KS_EXPORT_MAGIC	KEYSTORE_EXPORT_MAGIC
#define KS_POOL		64	/* keys made per durable transaction */
#define KS_CKPT_PAGES	1000	/* WAL pages a checkpoint waits for */

static const char ks_schema[] =
	"CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY "
	"  CHECK (id = 1), master_check BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS keys(id BLOB PRIMARY KEY, "
	"  partner TEXT, case_id TEXT, "
	"  wrapped BLOB NOT NULL, created INTEGER NOT NULL, "
	"  UNIQUE (partner, case_id));"
	/* the person index (personidx.h): keyed hashes, never a name */
	"CREATE TABLE IF NOT EXISTS index_key(id INTEGER PRIMARY KEY "
	"  CHECK (id = 1), wrapped BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS persons(partner TEXT NOT NULL, "
	"  case_id TEXT NOT NULL, kind INTEGER NOT NULL, "
	"  hmac BLOB NOT NULL, UNIQUE (hmac, kind, partner, case_id));"
	"CREATE INDEX IF NOT EXISTS persons_case ON persons(partner, "
	"  case_id);"
	/* a master key rotation under way (keystore_rotate_begin): the new
	 * key's check blob, and how far the slices have re-wrapped, in the
	 * order of the rows in the file (rowid: a slice's rows share a few
	 * pages, where the order of the random ids would spread them over
	 * one page each) */
	"CREATE TABLE IF NOT EXISTS rotation(id INTEGER PRIMARY KEY "
	"  CHECK (id = 1), next_check BLOB NOT NULL, after INTEGER NOT NULL, "
	"  done INTEGER NOT NULL, started INTEGER NOT NULL);";

int
keystore_check_master(const char *file, uid_t uid, char *why,
    size_t whylen)
{
	uint8_t key[AEAD_KEY_LEN];
	int rc;

	rc = aead_key_file(file, uid, key, why, whylen);
	aead_wipe(key, sizeof(key));
	return rc;
}

int
keystore_read_master(const char *file, uint8_t key[AEAD_KEY_LEN])
{
	char why[512];

	if (aead_key_file(file, geteuid(), key, why, sizeof(why)) == -1) {
		log_errx(KTAG, "master key %s", why);
		return -1;
	}
	return 0;
}

static int
ks_exec(struct keystore *ks, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(ks->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_errx(KTAG, "%s: %s", sql, err != NULL ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int
keystore_exec(struct keystore *ks, const char *sql)
{
	return ks_exec(ks, sql);
}

/* Does master open the database's check blob?  Creates it if absent.
 * @return 1 yes, 0 no, -1 error. */
static int
ks_master_matches(struct keystore *ks, const uint8_t master[AEAD_KEY_LEN],
    int create)
{
	sqlite3_stmt *s = NULL;
	uint8_t blob[AEAD_OVERHEAD], out[1];
	const void *p;
	int rc = -1, n;

	if (sqlite3_prepare_v2(ks->db, "SELECT master_check FROM meta "
	    "WHERE id = 1", -1, &s, NULL) != SQLITE_OK)
		goto done;
	if ((n = sqlite3_step(s)) == SQLITE_ROW) {
		p = sqlite3_column_blob(s, 0);
		rc = p != NULL && sqlite3_column_bytes(s, 0) ==
		    AEAD_OVERHEAD && aead_open(master, KS_CHECK_AAD,
		    strlen(KS_CHECK_AAD), p, AEAD_OVERHEAD, out) == 0;
		goto done;
	}
	if (n != SQLITE_DONE || !create)
		goto done;
	sqlite3_finalize(s);
	s = NULL;
	if (aead_seal(master, KS_CHECK_AAD, strlen(KS_CHECK_AAD), NULL, 0,
	    blob) == -1 || sqlite3_prepare_v2(ks->db, "INSERT INTO meta "
	    "VALUES(1, ?1)", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 1, blob, sizeof(blob), SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		goto done;
	rc = 1;
done:
	sqlite3_finalize(s);
	return rc;
}

/* Replace file by tmp after overwriting and syncing the old key: the
 * old master key must not survive on the disk. */
static int
ks_destroy_and_replace(const char *file, const char *tmp)
{
	char zero[2 * AEAD_KEY_LEN + 1];
	int fd;

	if ((fd = open(file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		memset(zero, '0', sizeof(zero));
		if (pwrite(fd, zero, sizeof(zero), 0) == -1 ||
		    fsync(fd) == -1)
			log_err(KTAG, "overwriting the old master key %s",
			    file);
		close(fd);
	}
	if (rename(tmp, file) == -1) {
		log_err(KTAG, "rename %s to %s", tmp, file);
		return -1;
	}
	/* the new name durable too: the old content is gone already */
	if (file_sync_parent(file) == -1)
		log_err(KTAG, "syncing the directory of %s", file);
	return 0;
}

/*
 * A rotation under way: the new master key from master_file".new", which
 * must open the check blob the rotation began with.  @return 0 (none, or
 * loaded), or -1 (logged: keys already re-wrapped would not open).
 */
static int
ks_rotation_load(struct keystore *ks)
{
	sqlite3_stmt *s = NULL;
	uint8_t out[1];
	char tmp[1024];
	int rc = 0;

	/* a store older than rotation in slices has no such table */
	if (sqlite3_prepare_v2(ks->db, "SELECT next_check FROM rotation "
	    "WHERE id = 1", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto done;
	snprintf(tmp, sizeof(tmp), "%s.new", ks->master_file);
	if (sqlite3_column_bytes(s, 0) != AEAD_OVERHEAD ||
	    keystore_read_master(tmp, ks->next) == -1 ||
	    aead_open(ks->next, KS_CHECK_AAD, strlen(KS_CHECK_AAD),
	    sqlite3_column_blob(s, 0), AEAD_OVERHEAD, out) == -1) {
		log_errx(KTAG, "a master key rotation is under way and %s "
		    "does not hold its new key: the case keys it re-wrapped "
		    "cannot be opened", tmp);
		aead_wipe(ks->next, sizeof(ks->next));
		rc = -1;
		goto done;
	}
	ks->rotating = 1;
done:
	sqlite3_finalize(s);
	return rc;
}

struct keystore *
keystore_open(const char *dir, const char *master_file, int readonly)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, KEYSTORE_FILE);
	return keystore_open_file(path, master_file, readonly);
}

struct keystore *
keystore_open_file(const char *path, const char *master_file, int readonly)
{
	struct keystore *ks;
	uint8_t next[AEAD_KEY_LEN];
	char tmp[1024];
	int m, flags, have;

	ks = xcalloc(1, sizeof(*ks));
	ks->master_file = xstrdup(master_file);
	snprintf(tmp, sizeof(tmp), "%s.new", master_file);
	/* a rotation stopped between overwriting the old file and renaming
	 * the new one over it leaves no key in the file: the new one is in
	 * tmp, and the check below finishes that step */
	if (!(have = keystore_read_master(master_file, ks->master) == 0) &&
	    access(tmp, F_OK) == -1)
		goto fail;
	flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &ks->db, flags, NULL) != SQLITE_OK) {
		log_errx(KTAG, "%s: %s", path, ks->db != NULL ?
		    sqlite3_errmsg(ks->db) : "cannot open");
		goto fail;
	}
	if (!readonly) {
		(void)chmod(path, 0600);
		if (ks_exec(ks, "PRAGMA secure_delete=ON") == -1 ||
		    ks_exec(ks, "PRAGMA journal_mode=WAL") == -1 ||
		    ks_exec(ks, "PRAGMA synchronous=NORMAL") == -1 ||
		    ks_exec(ks, ks_schema) == -1)
			goto fail;
		/* not in a commit on the loop (a rotation's slices would
		 * wait for it): on a thread; SQLite's own if it fails */
		ks->ckpt = walckpt_start(ks->db, path, KS_CKPT_PAGES,
		    KTAG);
	}
	m = have ? ks_master_matches(ks, ks->master, !readonly) : 0;
	if (m == 1) {
		if (ks_rotation_load(ks) == -1)
			goto fail;
		return ks;
	}
	/* A rotation that committed but did not replace the file yet */
	if (m == 0 && keystore_read_master(tmp, next) == 0 &&
	    ks_master_matches(ks, next, 0) == 1 && !readonly &&
	    ks_destroy_and_replace(master_file, tmp) == 0) {
		log_warnx(KTAG, "finished an interrupted master key "
		    "rotation: %s replaced by %s", master_file, tmp);
		memcpy(ks->master, next, sizeof(next));
		aead_wipe(next, sizeof(next));
		return ks;
	}
	aead_wipe(next, sizeof(next));
	log_errx(KTAG, "%s: %s", path, m == 0 ? "made under another "
	    "master key than the one in this file" : "unreadable");
fail:
	keystore_close(ks);
	return NULL;
}

struct keystore *
keystore_open_export(const char *file)
{
	struct keystore *ks;
	char *buf;
	size_t len, ml = strlen(KS_EXPORT_MAGIC);

	if ((buf = file_read(file, 4096, &len)) == NULL) {
		log_err(KTAG, "%s", file);
		return NULL;
	}
	ks = xcalloc(1, sizeof(*ks));
	if (len < ml + 2 + 2 * KEYSTORE_ID_LEN + 1 + 2 * AEAD_KEY_LEN ||
	    memcmp(buf, KS_EXPORT_MAGIC "\n", ml + 1) != 0 ||
	    aead_unhex(buf + ml + 1, ks->xid, KEYSTORE_ID_LEN) == -1 ||
	    buf[ml + 1 + 2 * KEYSTORE_ID_LEN] != '\n' ||
	    aead_unhex(buf + ml + 2 + 2 * KEYSTORE_ID_LEN, ks->xkey,
	    AEAD_KEY_LEN) == -1) {
		log_errx(KTAG, "%s: not an exported case key", file);
		aead_wipe(buf, len);
		free(buf);
		keystore_close(ks);
		return NULL;
	}
	aead_wipe(buf, len);
	free(buf);
	return ks;
}

void
keystore_close(struct keystore *ks)
{
	if (ks == NULL)
		return;
	(void)keystore_batch_commit(ks);
	walckpt_stop(ks->ckpt, ks->db, KS_CKPT_PAGES);
	if (ks->db != NULL)
		sqlite3_close(ks->db);
	free(ks->master_file);
	aead_wipe(ks, sizeof(*ks));
	free(ks);
}

/* Unwrap a row's key.  @return 0, or -1 (logged). */
static int
ks_unwrap(struct keystore *ks, const uint8_t id[KEYSTORE_ID_LEN],
    const void *wrapped, int wlen, uint8_t key[AEAD_KEY_LEN])
{
	if (wrapped == NULL || wlen != KS_WRAPPED_LEN ||
	    (aead_open(ks->master, id, KEYSTORE_ID_LEN, wrapped,
	    KS_WRAPPED_LEN, key) == -1 && (!ks->rotating ||
	    aead_open(ks->next, id, KEYSTORE_ID_LEN, wrapped,
	    KS_WRAPPED_LEN, key) == -1))) {
		log_errx(KTAG, "a wrapped key does not open under the "
		    "master key");
		return -1;
	}
	return 0;
}

int
keystore_key(struct keystore *ks, const uint8_t id[KEYSTORE_ID_LEN],
    uint8_t key[AEAD_KEY_LEN])
{
	sqlite3_stmt *s = NULL;
	int rc = -1, n = SQLITE_ERROR;

	if (ks->db == NULL) {
		if (memcmp(id, ks->xid, KEYSTORE_ID_LEN) != 0)
			return 0;
		memcpy(key, ks->xkey, AEAD_KEY_LEN);
		return 1;
	}
	if (sqlite3_prepare_v2(ks->db, "SELECT wrapped FROM keys WHERE "
	    "id = ?1", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 1, id, KEYSTORE_ID_LEN, SQLITE_STATIC) !=
	    SQLITE_OK)
		goto done;
	if ((n = sqlite3_step(s)) == SQLITE_DONE)
		rc = 0;
	else if (n == SQLITE_ROW)
		rc = ks_unwrap(ks, id, sqlite3_column_blob(s, 0),
		    sqlite3_column_bytes(s, 0), key) == 0 ? 1 : -1;
done:
	if (rc == -1 && n != SQLITE_ROW)
		log_errx(KTAG, "reading a key: %s", sqlite3_errmsg(ks->db));
	sqlite3_finalize(s);
	return rc;
}

/* A case's row.  @return 1 with id (and key when not NULL), 0, -1. */
static int
ks_case_row(struct keystore *ks, const char *partner, const char *case_id,
    uint8_t id[KEYSTORE_ID_LEN], uint8_t *key)
{
	sqlite3_stmt *s = NULL;
	const void *p;
	int rc = -1, n;

	if (ks->db == NULL)
		return 0;
	if (sqlite3_prepare_v2(ks->db, "SELECT id, wrapped FROM keys WHERE "
	    "partner = ?1 AND case_id = ?2", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_text(s, 2, case_id, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		goto done;
	if ((n = sqlite3_step(s)) == SQLITE_DONE) {
		rc = 0;
		goto done;
	}
	if (n != SQLITE_ROW || (p = sqlite3_column_blob(s, 0)) == NULL ||
	    sqlite3_column_bytes(s, 0) != KEYSTORE_ID_LEN)
		goto done;
	memcpy(id, p, KEYSTORE_ID_LEN);
	if (key != NULL && ks_unwrap(ks, id, sqlite3_column_blob(s, 1),
	    sqlite3_column_bytes(s, 1), key) == -1)
		goto done;
	rc = 1;
done:
	sqlite3_finalize(s);
	return rc;
}

int
keystore_case_id(struct keystore *ks, const char *partner,
    const char *case_id, uint8_t id[KEYSTORE_ID_LEN])
{
	return ks_case_row(ks, partner, case_id, id, NULL);
}

int
keystore_batch_join(struct keystore *ks)
{
	if (ks->batch)
		return 0;
	if (ks_exec(ks, "BEGIN IMMEDIATE") == -1)
		return -1;
	ks->batch = 1;
	return 0;
}

int
keystore_batch_commit(struct keystore *ks)
{
	if (ks == NULL || !ks->batch)
		return 0;
	ks->batch = 0;
	if (ks_exec(ks, "COMMIT") == 0)
		return 0;
	(void)ks_exec(ks, "ROLLBACK");
	return -1;
}

/* Make KS_POOL keys without a case, durably.  @return 0, or -1. */
static int
ks_pool_fill(struct keystore *ks)
{
	sqlite3_stmt *s = NULL;
	uint8_t id[KEYSTORE_ID_LEN], key[AEAD_KEY_LEN];
	uint8_t wrapped[KS_WRAPPED_LEN];
	int i, rc = -1;

	if (keystore_batch_commit(ks) == -1 ||
	    ks_exec(ks, "PRAGMA synchronous=FULL") == -1)
		return -1;
	if (ks_exec(ks, "BEGIN IMMEDIATE") == -1)
		goto sync;
	if (sqlite3_prepare_v2(ks->db, "INSERT INTO keys VALUES(?1, NULL, "
	    "NULL, ?2, ?3)", -1, &s, NULL) != SQLITE_OK)
		goto rollback;
	for (i = 0; i < KS_POOL; i++) {
		if (aead_random(id, sizeof(id)) == -1 ||
		    aead_random(key, sizeof(key)) == -1 ||
		    aead_seal(ks->rotating ? ks->next : ks->master, id,
		    sizeof(id), key, sizeof(key), wrapped) == -1)
			goto rollback;
		sqlite3_reset(s);
		if (sqlite3_bind_blob(s, 1, id, sizeof(id), SQLITE_STATIC) !=
		    SQLITE_OK || sqlite3_bind_blob(s, 2, wrapped,
		    sizeof(wrapped), SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 3, (sqlite3_int64)clock_now()) !=
		    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
			goto rollback;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (ks_exec(ks, "COMMIT") == 0) {
		rc = 0;
		goto sync;
	}
rollback:
	log_errx(KTAG, "making keys: %s", sqlite3_errmsg(ks->db));
	sqlite3_finalize(s);
	(void)ks_exec(ks, "ROLLBACK");
sync:
	aead_wipe(key, sizeof(key));
	if (ks_exec(ks, "PRAGMA synchronous=NORMAL") == -1)
		rc = -1;
	return rc;
}

int
keystore_assign(struct keystore *ks, const uint8_t id[KEYSTORE_ID_LEN],
    const char *partner, const char *case_id)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (ks->db == NULL || keystore_batch_join(ks) == -1)
		return -1;
	if (sqlite3_prepare_v2(ks->db, "UPDATE keys SET partner = ?2, "
	    "case_id = ?3 WHERE id = ?1 AND partner IS NULL", -1, &s, NULL) ==
	    SQLITE_OK &&
	    sqlite3_bind_blob(s, 1, id, KEYSTORE_ID_LEN, SQLITE_STATIC) ==
	    SQLITE_OK &&
	    sqlite3_bind_text(s, 2, partner, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(s, 3, case_id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_DONE)
		rc = sqlite3_changes(ks->db) == 1 ? 0 : -1;
	else
		log_errx(KTAG, "assigning a key: %s", sqlite3_errmsg(ks->db));
	sqlite3_finalize(s);
	return rc;
}

int
keystore_case_find(struct keystore *ks, const char *partner,
    const char *case_id, uint8_t id[KEYSTORE_ID_LEN],
    uint8_t key[AEAD_KEY_LEN])
{
	return ks_case_row(ks, partner, case_id, id, key);
}

int
keystore_case_key(struct keystore *ks, const char *partner,
    const char *case_id, uint8_t id[KEYSTORE_ID_LEN],
    uint8_t key[AEAD_KEY_LEN])
{
	sqlite3_stmt *s = NULL;
	const void *p;
	int rc, tries;

	if ((rc = ks_case_row(ks, partner, case_id, id, key)) != 0)
		return rc == 1 ? 0 : -1;
	if (ks->db == NULL)
		return -1;
	for (tries = 0; tries < 2; tries++) {
		rc = -1;
		if (sqlite3_prepare_v2(ks->db, "SELECT id, wrapped FROM keys "
		    "WHERE partner IS NULL LIMIT 1", -1, &s, NULL) !=
		    SQLITE_OK)
			break;
		if ((rc = sqlite3_step(s)) == SQLITE_ROW &&
		    (p = sqlite3_column_blob(s, 0)) != NULL &&
		    sqlite3_column_bytes(s, 0) == KEYSTORE_ID_LEN) {
			memcpy(id, p, KEYSTORE_ID_LEN);
			rc = ks_unwrap(ks, id, sqlite3_column_blob(s, 1),
			    sqlite3_column_bytes(s, 1), key);
			sqlite3_finalize(s);
			if (rc == 0)
				rc = keystore_assign(ks, id, partner, case_id);
			return rc;
		}
		sqlite3_finalize(s);
		s = NULL;
		if (rc != SQLITE_DONE || ks_pool_fill(ks) == -1)
			break;
	}
	log_errx(KTAG, "no key for case %s/%s", partner, case_id);
	return -1;
}

int
keystore_export(struct keystore *ks, const char *partner,
    const char *case_id, const char *file)
{
	uint8_t id[KEYSTORE_ID_LEN], key[AEAD_KEY_LEN];
	char idhex[2 * KEYSTORE_ID_LEN + 1], keyhex[2 * AEAD_KEY_LEN + 1];
	FILE *f;
	int fd, rc;

	if ((rc = ks_case_row(ks, partner, case_id, id, key)) != 1)
		return rc;
	rc = -1;
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		log_err(KTAG, "%s", file);
		goto done;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto done;
	}
	hex_encode(id, sizeof(id), idhex);
	hex_encode(key, sizeof(key), keyhex);
	if (fprintf(f, "%s\n%s\n%s\n", KS_EXPORT_MAGIC, idhex, keyhex) > 0 &&
	    fflush(f) == 0 && fsync(fileno(f)) == 0)
		rc = 1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == -1)
		log_err(KTAG, "writing %s", file);
done:
	aead_wipe(key, sizeof(key));
	aead_wipe(keyhex, sizeof(keyhex));
	return rc;
}

/* Write a new master key to file (never over an existing one). */
static int
ks_write_master(const char *file, const uint8_t key[AEAD_KEY_LEN])
{
	char hex[2 * AEAD_KEY_LEN + 2];
	int fd, rc = -1;

	(void)unlink(file);	/* a leftover of a rotation that failed */
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		log_err(KTAG, "%s", file);
		return -1;
	}
	hex_encode(key, AEAD_KEY_LEN, hex);
	hex[2 * AEAD_KEY_LEN] = '\n';
	if (write(fd, hex, 2 * AEAD_KEY_LEN + 1) == 2 * AEAD_KEY_LEN + 1 &&
	    fsync(fd) == 0)
		rc = 0;
	else
		log_err(KTAG, "writing %s", file);
	close(fd);
	aead_wipe(hex, sizeof(hex));
	return rc;
}

int
keystore_rotating(struct keystore *ks)
{
	return ks != NULL && ks->rotating;
}

int
keystore_rotate_begin(struct keystore *ks)
{
	sqlite3_stmt *s = NULL;
	uint8_t check[AEAD_OVERHEAD];
	char tmp[1024];
	int rc = -1;

	if (ks->db == NULL || ks->rotating)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.new", ks->master_file);
	/* the new key is on the disk before any key is wrapped under it */
	if (aead_random(ks->next, sizeof(ks->next)) == -1 ||
	    ks_write_master(tmp, ks->next) == -1)
		goto out;
	if (file_sync_parent(tmp) == -1) {
		log_err(KTAG, "syncing the directory of %s", tmp);
		goto out;
	}
	if (keystore_batch_commit(ks) == -1 ||
	    ks_exec(ks, "PRAGMA synchronous=FULL") == -1)
		goto out;
	if (ks_exec(ks, "BEGIN IMMEDIATE") == -1)
		goto sync;
	/* the pool holds no case's data: made again under the new key */
	if (ks_exec(ks, "DELETE FROM keys WHERE partner IS NULL") == -1 ||
	    aead_seal(ks->next, KS_CHECK_AAD, strlen(KS_CHECK_AAD), NULL, 0,
	    check) == -1 || sqlite3_prepare_v2(ks->db, "INSERT INTO "
	    "rotation VALUES(1, ?1, 0, 0, ?2)", -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_bind_blob(s, 1, check, sizeof(check),
	    SQLITE_STATIC) != SQLITE_OK || sqlite3_bind_int64(s, 2,
	    (sqlite3_int64)clock_now()) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE || ks_exec(ks, "COMMIT") == -1) {
		log_errx(KTAG, "starting a master key rotation: %s",
		    sqlite3_errmsg(ks->db));
		(void)ks_exec(ks, "ROLLBACK");
		goto sync;
	}
	ks->rotating = 1;
	rc = 0;
sync:
	sqlite3_finalize(s);
	/* begun or not, as committed: a failure here is only logged */
	(void)ks_exec(ks, "PRAGMA synchronous=NORMAL");
out:
	if (rc == -1 && !ks->rotating) {
		(void)unlink(tmp);
		aead_wipe(ks->next, sizeof(ks->next));
	}
	return rc;
}

int
keystore_rotate_step(struct keystore *ks, int max, int64_t *done)
{
	sqlite3_stmt *s = NULL, *u = NULL, *c = NULL;
	uint8_t key[AEAD_KEY_LEN], w[KS_WRAPPED_LEN], id[KEYSTORE_ID_LEN];
	sqlite3_int64 after = 0;
	const void *p;
	int64_t n = 0;
	int rows = 0, rc = -1, r;

	if (ks->db == NULL || !ks->rotating)
		return -1;
	/* the WAL's checkpoint first, or the WAL grows (walckpt.h) */
	if (walckpt_busy(ks->ckpt))
		return 2;
	if (keystore_batch_commit(ks) == -1 ||
	    ks_exec(ks, "BEGIN IMMEDIATE") == -1)
		return -1;
	/* where the last slice stopped, and how many it had done */
	if (sqlite3_prepare_v2(ks->db, "SELECT after, done FROM rotation "
	    "WHERE id = 1", -1, &c, NULL) != SQLITE_OK ||
	    sqlite3_step(c) != SQLITE_ROW)
		goto fail;
	after = sqlite3_column_int64(c, 0);
	n = sqlite3_column_int64(c, 1);
	if (sqlite3_prepare_v2(ks->db, "SELECT rowid, id, wrapped FROM keys "
	    "WHERE rowid > ?1 ORDER BY rowid LIMIT ?2", -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_bind_int64(s, 1, after) != SQLITE_OK ||
	    sqlite3_bind_int(s, 2, max) != SQLITE_OK ||
	    sqlite3_prepare_v2(ks->db, "UPDATE keys SET wrapped = ?2 WHERE "
	    "rowid = ?1", -1, &u, NULL) != SQLITE_OK)
		goto fail;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if ((p = sqlite3_column_blob(s, 1)) == NULL ||
		    sqlite3_column_bytes(s, 1) != KEYSTORE_ID_LEN ||
		    sqlite3_column_bytes(s, 2) != KS_WRAPPED_LEN)
			goto fail;
		after = sqlite3_column_int64(s, 0);
		memcpy(id, p, sizeof(id));
		rows++;
		/* made (or re-wrapped) under the new key already: a pool
		 * key made during the rotation */
		if (aead_open(ks->master, id, sizeof(id),
		    sqlite3_column_blob(s, 2), KS_WRAPPED_LEN, key) == -1) {
			if (aead_open(ks->next, id, sizeof(id),
			    sqlite3_column_blob(s, 2), KS_WRAPPED_LEN,
			    key) == -1) {
				log_errx(KTAG, "a case key opens under neither "
				    "the old nor the new master key");
				goto fail;
			}
			continue;
		}
		if (aead_seal(ks->next, id, sizeof(id), key, sizeof(key),
		    w) == -1)
			goto fail;
		sqlite3_reset(u);
		if (sqlite3_bind_int64(u, 1, after) != SQLITE_OK ||
		    sqlite3_bind_blob(u, 2, w, sizeof(w), SQLITE_STATIC) !=
		    SQLITE_OK || sqlite3_step(u) != SQLITE_DONE)
			goto fail;
		n++;
	}
	if (r != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(u);
	u = NULL;
	if (sqlite3_prepare_v2(ks->db, "UPDATE rotation SET after = ?1, "
	    "done = ?2 WHERE id = 1", -1, &u, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(u, 1, after) != SQLITE_OK ||
	    sqlite3_bind_int64(u, 2, n) != SQLITE_OK ||
	    sqlite3_step(u) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(c);
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	c = s = u = NULL;
	/* synchronous=NORMAL: a slice lost in a crash is done again, its
	 * keys still open under the old key, which stays until the end */
	if (ks_exec(ks, "COMMIT") == -1)
		goto fail;
	if (done != NULL)
		*done = n;
	rc = rows < max ? 1 : 0;
	goto out;
fail:
	log_errx(KTAG, "a master key rotation slice failed: %s",
	    sqlite3_errmsg(ks->db));
	sqlite3_finalize(c);
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	(void)ks_exec(ks, "ROLLBACK");
out:
	aead_wipe(key, sizeof(key));
	return rc;
}

int
keystore_rotate_finish(struct keystore *ks)
{
	sqlite3_stmt *u = NULL;
	char tmp[1024];
	int rc = -1;

	if (ks->db == NULL || !ks->rotating)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.new", ks->master_file);
	if (keystore_batch_commit(ks) == -1 ||
	    ks_exec(ks, "PRAGMA synchronous=FULL") == -1)
		return -1;
	if (ks_exec(ks, "BEGIN IMMEDIATE") == -1)
		goto sync;
	/* the person index's key too (the index itself stays valid), and
	 * the check blob: from this commit the new key is the one.  The
	 * commit's sync makes the slices' commits durable with it. */
	if (personidx_rewrap(ks, ks->next) == -1 ||
	    sqlite3_prepare_v2(ks->db, "UPDATE meta SET master_check = "
	    "(SELECT next_check FROM rotation WHERE id = 1) WHERE id = 1 AND "
	    "EXISTS (SELECT 1 FROM rotation WHERE id = 1)", -1, &u, NULL) !=
	    SQLITE_OK || sqlite3_step(u) != SQLITE_DONE ||
	    sqlite3_changes(ks->db) != 1 ||
	    ks_exec(ks, "DELETE FROM rotation") == -1 ||
	    ks_exec(ks, "COMMIT") == -1) {
		log_errx(KTAG, "finishing the master key rotation: %s",
		    sqlite3_errmsg(ks->db));
		(void)ks_exec(ks, "ROLLBACK");
		goto sync;
	}
	/* committed: keystore_open() finishes this step if it is
	 * interrupted */
	memcpy(ks->master, ks->next, sizeof(ks->master));
	aead_wipe(ks->next, sizeof(ks->next));
	ks->rotating = 0;
	rc = ks_destroy_and_replace(ks->master_file, tmp);
sync:
	sqlite3_finalize(u);
	if (ks_exec(ks, "PRAGMA synchronous=NORMAL") == -1)
		rc = -1;
	return rc;
}

int64_t
keystore_rotate(struct keystore *ks)
{
	int64_t n = 0;
	int r;

	if (!ks->rotating && keystore_rotate_begin(ks) == -1)
		return -1;
	while ((r = keystore_rotate_step(ks, 4096, &n)) == 0 || r == 2)
		if (r == 2)
			usleep(1000);
	if (r == -1 || keystore_rotate_finish(ks) == -1)
		return -1;
	return n;
}

int
keystore_erase(struct keystore *ks, const char *partner,
    const char *case_id, const uint8_t (*ids)[KEYSTORE_ID_LEN], size_t n)
{
	sqlite3_stmt *s = NULL, *d = NULL;
	size_t i;
	int count = -1;

	if (ks->db == NULL || keystore_batch_commit(ks) == -1 ||
	    ks_exec(ks, "PRAGMA synchronous=FULL") == -1)
		return -1;
	if (ks_exec(ks, "BEGIN IMMEDIATE") == -1)
		goto sync;
	if (sqlite3_prepare_v2(ks->db, "DELETE FROM keys WHERE partner = ?1 "
	    "AND case_id = ?2", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_text(s, 2, case_id, -1,
	    SQLITE_STATIC) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE ||
	    sqlite3_prepare_v2(ks->db, "DELETE FROM keys WHERE id = ?1", -1,
	    &d, NULL) != SQLITE_OK)
		goto rollback;
	count = sqlite3_changes(ks->db);
	/* nothing may find the case by its person any more */
	if (personidx_erase(ks, partner, case_id) == -1)
		goto rollback;
	for (i = 0; i < n; i++) {
		sqlite3_reset(d);
		if (sqlite3_bind_blob(d, 1, ids[i], KEYSTORE_ID_LEN,
		    SQLITE_STATIC) != SQLITE_OK || sqlite3_step(d) !=
		    SQLITE_DONE)
			goto rollback;
		count += sqlite3_changes(ks->db);
	}
	sqlite3_finalize(s);
	sqlite3_finalize(d);
	s = d = NULL;
	if (ks_exec(ks, "COMMIT") == 0) {
		/* the deleted rows' pages out of the WAL too (here, not on
		 * the checkpoint thread: a TRUNCATE holds the writers'
		 * lock, which the loop's next write would find busy) */
		(void)ks_exec(ks, "PRAGMA wal_checkpoint(TRUNCATE)");
		goto sync;
	}
rollback:
	log_errx(KTAG, "erasing the keys of %s/%s: %s", partner, case_id,
	    sqlite3_errmsg(ks->db));
	sqlite3_finalize(s);
	sqlite3_finalize(d);
	(void)ks_exec(ks, "ROLLBACK");
	count = -1;
sync:
	if (ks_exec(ks, "PRAGMA synchronous=NORMAL") == -1)
		count = -1;
	return count;
}

int64_t
keystore_count(struct keystore *ks)
{
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	if (ks->db == NULL)
		return 1;
	if (sqlite3_prepare_v2(ks->db, "SELECT count(*) FROM keys WHERE "
	    "partner IS NOT NULL", -1, &s,
	    NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}
