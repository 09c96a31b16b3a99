/*
 * test_crypt.c -- encryption at rest (issue 19): AES-256-GCM sealing
 * (util/aead.c), the key store of wrapped case keys and its master key
 * (persist/keystore.c: file checks, a wrong master key, rotation, an
 * exported case key), sealed message records (persist/record_seal.c) and
 * their journal records (cipher 1, key id, plaintext digest), read back
 * and read directly; the clear facts: every element the fsm's facts are
 * read from is allowlisted, or its value reaches the journal only as a
 * verdict.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "conf/agreement.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/pdmask.h"
#include "persist/journal.h"
#include "persist/keystore.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/aead.h"
#include "util/clock.h"
#include "util/log.h"
#include "testutil.h"

/* 2026-03-01T12:00:00Z */
#define T0	((accord_time_t)1772366400)

static char	 base[512];
static char	 logbuf[16384];

static const char body[] = "<Envelope><Surname>MARKER-SURNAME</Surname>"
    "</Envelope>";

static int
setup(void **state)
{

	(void)state;
	assert_int_equal(test_scratch(base, sizeof(base), "crypt"), 0);
	return 0;
}

static int
teardown(void **state)
{

	(void)state;
	assert_int_equal(test_rmtree(base), 0);
	return 0;
}

static const char *
newdir(const char *name)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", base, name);
	assert_int_equal(mkdir(buf, 0700), 0);
	clock_test_set(T0);
	log_capture(logbuf, sizeof(logbuf));
	return buf;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int
contains(const uint8_t *p, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return 1;
	return 0;
}

/* Sealed and opened; a changed byte, other aad or another key fail. */
static void
test_aead(void **state)
{
	uint8_t key[AEAD_KEY_LEN], other[AEAD_KEY_LEN];
	uint8_t sealed[sizeof(body) + AEAD_OVERHEAD], out[sizeof(body)];

	(void)state;
	log_capture(logbuf, sizeof(logbuf));
	assert_int_equal(aead_random(key, sizeof(key)), 0);
	assert_int_equal(aead_random(other, sizeof(other)), 0);
	assert_int_equal(aead_seal(key, "aad", 3, body, sizeof(body), sealed),
	    0);
	assert_false(contains(sealed, sizeof(sealed), "MARKER"));
	assert_int_equal(aead_open(key, "aad", 3, sealed, sizeof(sealed), out),
	    0);
	assert_memory_equal(out, body, sizeof(body));
	assert_int_equal(aead_open(key, "aae", 3, sealed, sizeof(sealed), out),
	    -1);
	assert_int_equal(aead_open(other, "aad", 3, sealed, sizeof(sealed),
	    out), -1);
	sealed[AEAD_NONCE_LEN + 3] ^= 1;
	assert_int_equal(aead_open(key, "aad", 3, sealed, sizeof(sealed), out),
	    -1);
	assert_int_equal(aead_open(key, "aad", 3, sealed, AEAD_OVERHEAD - 1,
	    out), -1);
}

#define MASTER1	"00112233445566778899aabbccddeeff" \
		"00112233445566778899aabbccddeeff\n"
#define MASTER2	"ffeeddccbbaa99887766554433221100" \
		"ffeeddccbbaa99887766554433221100"

/* The master key file: mode, content; the store under it. */
static void
test_master(void **state)
{
	const char *dir = newdir("master");
	char mk[1100], why[512];
	struct keystore *ks;

	(void)state;
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	write_file(mk, MASTER1, 0640);
	assert_int_equal(keystore_check_master(mk, geteuid(), why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "mode 0640"));
	assert_null(keystore_open(dir, mk, 0));
	write_file(mk, "not a key\n", 0600);
	assert_int_equal(keystore_check_master(mk, geteuid(), why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not a master key"));
	write_file(mk, MASTER1, 0600);
	assert_int_equal(keystore_check_master(mk, geteuid(), why,
	    sizeof(why)), 0);
	if (geteuid() != 0) {
		assert_int_equal(keystore_check_master(mk, geteuid() + 1, why,
		    sizeof(why)), -1);
		assert_non_null(strstr(why, "owned by uid"));
	}
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	keystore_close(ks);
	/* another master key does not open this store */
	write_file(mk, MASTER2, 0600);
	assert_null(keystore_open(dir, mk, 0));
	assert_non_null(strstr(logbuf, "made under another master key"));
}

/* Keys made once per case, found by id; rotation re-wraps them all and
 * destroys the old master key; an export holds one case's key. */
static void
test_keys(void **state)
{
	const char *dir = newdir("keys");
	uint8_t id1[KEYSTORE_ID_LEN], k1[AEAD_KEY_LEN], id2[KEYSTORE_ID_LEN];
	uint8_t k2[AEAD_KEY_LEN], id[KEYSTORE_ID_LEN], k[AEAD_KEY_LEN];
	char mk[1100], old[1100], now[128], xk[1100], db[1100];
	struct keystore *ks;
	struct stat sb;
	FILE *f;
	size_t n;

	(void)state;
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	snprintf(xk, sizeof(xk), "%s/case.key", dir);
	snprintf(db, sizeof(db), "%s/" KEYSTORE_FILE, dir);
	write_file(mk, MASTER1, 0600);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_int_equal(keystore_case_key(ks, "FR", "C-1", id1, k1), 0);
	assert_int_equal(keystore_case_key(ks, "FR", "C-2", id2, k2), 0);
	assert_memory_not_equal(k1, k2, AEAD_KEY_LEN);
	assert_int_equal(keystore_case_key(ks, "FR", "C-1", id, k), 0);
	assert_memory_equal(id, id1, KEYSTORE_ID_LEN);
	assert_memory_equal(k, k1, AEAD_KEY_LEN);
	assert_int_equal(keystore_key(ks, id2, k), 1);
	assert_memory_equal(k, k2, AEAD_KEY_LEN);
	memset(id, 7, sizeof(id));
	assert_int_equal(keystore_key(ks, id, k), 0);
	assert_int_equal(keystore_count(ks), 2);
	assert_int_equal(stat(db, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);

	/* rotation: the old master key file is gone, the new one opens
	 * every key, and the old one no longer opens the store */
	f = fopen(mk, "r");
	assert_non_null(f);
	n = fread(old, 1, sizeof(old) - 1, f);
	old[n] = '\0';
	fclose(f);
	assert_int_equal(keystore_rotate(ks), 2);
	keystore_close(ks);
	f = fopen(mk, "r");
	assert_non_null(f);
	n = fread(now, 1, sizeof(now), f);
	fclose(f);
	assert_int_equal(n, 65);
	assert_memory_not_equal(now, old, 64);
	snprintf(xk, sizeof(xk), "%s/master.key.new", dir);
	assert_int_equal(access(xk, F_OK), -1);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_int_equal(keystore_key(ks, id1, k), 1);
	assert_memory_equal(k, k1, AEAD_KEY_LEN);
	keystore_close(ks);
	write_file(mk, old, 0600);
	assert_null(keystore_open(dir, mk, 0));
}

/* A rotation interrupted after its commit is finished at open; an
 * exported key opens its case's records only. */
static void
test_export(void **state)
{
	const char *dir = newdir("export");
	uint8_t id1[KEYSTORE_ID_LEN], k1[AEAD_KEY_LEN], id2[KEYSTORE_ID_LEN];
	uint8_t k2[AEAD_KEY_LEN], k[AEAD_KEY_LEN];
	char mk[1100], xk[1100];
	struct keystore *ks, *x;
	struct stat sb;

	(void)state;
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	snprintf(xk, sizeof(xk), "%s/C-1.key", dir);
	write_file(mk, MASTER1, 0600);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_int_equal(keystore_case_key(ks, "FR", "C-1", id1, k1), 0);
	assert_int_equal(keystore_case_key(ks, "FR", "C-2", id2, k2), 0);
	assert_int_equal(keystore_export(ks, "FR", "C-1", xk), 1);
	assert_int_equal(keystore_export(ks, "FR", "C-1", xk), -1);
	assert_int_equal(keystore_export(ks, "FR", "C-9", xk), 0);
	keystore_close(ks);
	assert_int_equal(stat(xk, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	x = keystore_open_export(xk);
	assert_non_null(x);
	assert_int_equal(keystore_key(x, id1, k), 1);
	assert_memory_equal(k, k1, AEAD_KEY_LEN);
	assert_int_equal(keystore_key(x, id2, k), 0);
	keystore_close(x);
}

/* Keys of keys.db that open under the master key in file (raw SQL, aside
 * from the key store). */
static int
rows_under(const char *db, const char *file)
{
	uint8_t mk[AEAD_KEY_LEN], k[AEAD_KEY_LEN];
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int n = 0;

	assert_int_equal(keystore_read_master(file, mk), 0);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT id, wrapped FROM keys",
	    -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		if (aead_open(mk, sqlite3_column_blob(s, 0), KEYSTORE_ID_LEN,
		    sqlite3_column_blob(s, 1), sqlite3_column_bytes(s, 1),
		    k) == 0)
			n++;
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

/* One rotation step, once the WAL's checkpoint lets it run. */
static int
rotate_step(struct keystore *ks, int max, int64_t *done)
{
	int r;

	while ((r = keystore_rotate_step(ks, max, done)) == 2)
		usleep(1000);
	return r;
}

/*
 * Rotation in slices (issue 14): each step re-wraps at most its max, in
 * the order of the ids, from where the last stopped -- across a close
 * (a crash) and a reopen, which takes the rotation up with both keys.
 * Mid-rotation every key opens, read-only too, and a new case's key is
 * wrapped under the new master key; the old key stays in force, its file
 * untouched, until the finish.  A rotation whose new key file is gone
 * cannot be opened, and says why.
 */
static void
test_rotate_slices(void **state)
{
	const char *dir = newdir("slices");
	static uint8_t ids[300][KEYSTORE_ID_LEN], keys[300][AEAD_KEY_LEN];
	uint8_t id[KEYSTORE_ID_LEN], k[AEAD_KEY_LEN], nid[KEYSTORE_ID_LEN];
	uint8_t nk[AEAD_KEY_LEN];
	char mk[1100], mknew[1100], db[1100], cid[32], saved[1100];
	struct keystore *ks, *ro;
	int64_t done = -1;
	int i;

	(void)state;
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	snprintf(mknew, sizeof(mknew), "%s/master.key.new", dir);
	snprintf(saved, sizeof(saved), "%s/saved.key", dir);
	snprintf(db, sizeof(db), "%s/" KEYSTORE_FILE, dir);
	write_file(mk, MASTER1, 0600);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	for (i = 0; i < 300; i++) {
		snprintf(cid, sizeof(cid), "C-%d", i);
		assert_int_equal(keystore_case_key(ks, "FR", cid, ids[i],
		    keys[i]), 0);
	}
	assert_false(keystore_rotating(ks));
	assert_int_equal(keystore_rotate_begin(ks), 0);
	assert_true(keystore_rotating(ks));
	assert_int_equal(keystore_rotate_begin(ks), -1);	/* one at once */
	assert_int_equal(access(mknew, F_OK), 0);
	/* the pool is dropped: 300 keys, all still under the old key */
	assert_int_equal(rows_under(db, mk), 300);
	assert_int_equal(rows_under(db, mknew), 0);

	assert_int_equal(rotate_step(ks, 100, &done), 0);
	assert_int_equal(done, 100);
	assert_int_equal(rows_under(db, mknew), 100);
	assert_int_equal(rows_under(db, mk), 200);
	/* every key opens, and a new case's key is made under the new key */
	for (i = 0; i < 300; i++) {
		assert_int_equal(keystore_key(ks, ids[i], k), 1);
		assert_memory_equal(k, keys[i], AEAD_KEY_LEN);
	}
	assert_int_equal(keystore_case_key(ks, "FR", "C-new", nid, nk), 0);
	assert_int_equal(rows_under(db, mk), 200);
	assert_true(rows_under(db, mknew) > 100);

	/* a crash: closed mid-rotation, opened again with both keys */
	keystore_close(ks);
	ro = keystore_open(dir, mk, 1);
	assert_non_null(ro);
	assert_true(keystore_rotating(ro));
	for (i = 0; i < 300; i += 7) {
		assert_int_equal(keystore_key(ro, ids[i], k), 1);
		assert_memory_equal(k, keys[i], AEAD_KEY_LEN);
	}
	keystore_close(ro);
	/* without its new key file a rotation under way does not open */
	assert_int_equal(rename(mknew, saved), 0);
	assert_null(keystore_open(dir, mk, 0));
	assert_non_null(strstr(logbuf, "rotation is under way"));
	assert_int_equal(rename(saved, mknew), 0);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_true(keystore_rotating(ks));
	/* ... and goes on from where it stopped: at most 100 more (fewer
	 * when the slice meets keys made under the new key), not the first
	 * 100 again */
	assert_int_equal(rotate_step(ks, 100, &done), 0);
	assert_true(done > 100 && done <= 200);
	assert_int_equal(rows_under(db, mk), 300 - done);
	assert_int_equal(rotate_step(ks, 400, &done), 1);
	assert_int_equal(done, 300);
	assert_int_equal(rows_under(db, mk), 0);
	/* the old key in force until the finish */
	assert_int_equal(access(mknew, F_OK), 0);
	assert_int_equal(keystore_rotate_finish(ks), 0);
	assert_false(keystore_rotating(ks));
	assert_int_equal(access(mknew, F_OK), -1);
	/* every row now under it: 300 cases', and the 64 keys made ahead
	 * mid-rotation (one of them C-new's) */
	assert_int_equal(rows_under(db, mk), 300 + 64);
	keystore_close(ks);

	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_false(keystore_rotating(ks));
	for (i = 0; i < 300; i++) {
		assert_int_equal(keystore_key(ks, ids[i], k), 1);
		assert_memory_equal(k, keys[i], AEAD_KEY_LEN);
	}
	assert_int_equal(keystore_key(ks, nid, k), 1);
	assert_memory_equal(k, nk, AEAD_KEY_LEN);
	(void)id;
	keystore_close(ks);
	/* the old master key opens the store no more */
	write_file(mk, MASTER1, 0600);
	assert_null(keystore_open(dir, mk, 0));
}

/*
 * A slice that finds keys.db locked by another process fails at once
 * (the loop never waits for a lock), changes nothing, and the rotation
 * stays under way: the next slice, once the lock is gone, goes on from
 * the same place, and every key still opens.
 */
static void
test_rotate_locked(void **state)
{
	const char *dir = newdir("locked");
	static uint8_t ids[50][KEYSTORE_ID_LEN], keys[50][AEAD_KEY_LEN];
	uint8_t k[AEAD_KEY_LEN];
	char mk[1100], mknew[1100], db[1100], cid[32];
	struct keystore *ks;
	sqlite3 *other = NULL;
	int64_t done = -1;
	int i;

	(void)state;
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	snprintf(mknew, sizeof(mknew), "%s/master.key.new", dir);
	snprintf(db, sizeof(db), "%s/" KEYSTORE_FILE, dir);
	write_file(mk, MASTER1, 0600);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	for (i = 0; i < 50; i++) {
		snprintf(cid, sizeof(cid), "C-%d", i);
		assert_int_equal(keystore_case_key(ks, "FR", cid, ids[i],
		    keys[i]), 0);
	}
	assert_int_equal(keystore_rotate_begin(ks), 0);
	assert_int_equal(rotate_step(ks, 20, &done), 0);
	assert_int_equal(done, 20);

	/* another process holds the write lock */
	assert_int_equal(sqlite3_open(db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(rotate_step(ks, 20, &done), -1);
	assert_true(keystore_rotating(ks));
	assert_non_null(strstr(logbuf, "locked"));
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(rows_under(db, mknew), 20);

	/* ... and once it is gone, the same place */
	assert_int_equal(rotate_step(ks, 20, &done), 0);
	assert_int_equal(done, 40);
	assert_int_equal(rotate_step(ks, 20, &done), 1);
	assert_int_equal(done, 50);
	assert_int_equal(keystore_rotate_finish(ks), 0);
	for (i = 0; i < 50; i++) {
		assert_int_equal(keystore_key(ks, ids[i], k), 1);
		assert_memory_equal(k, keys[i], AEAD_KEY_LEN);
	}
	keystore_close(ks);
	/* the 50 cases' keys (the keys made ahead went at the begin), each
	 * re-wrapped once, all under the new key */
	assert_int_equal(rows_under(db, mk), 50);
}

/*
 * A crash between the two halves of replacing the master key file (the
 * old one overwritten with zeros and synced, the new one not renamed
 * over it yet) leaves no key in the file: the next open finishes the
 * replacement from master.key.new instead of refusing to start.
 */
static void
test_rotate_torn_replace(void **state)
{
	const char *dir = newdir("torn");
	uint8_t id[KEYSTORE_ID_LEN], key[AEAD_KEY_LEN], k[AEAD_KEY_LEN];
	char mk[1100], mknew[1100], cur[128], zeros[66];
	struct keystore *ks;
	FILE *f;
	size_t n;

	(void)state;
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	snprintf(mknew, sizeof(mknew), "%s/master.key.new", dir);
	write_file(mk, MASTER1, 0600);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_int_equal(keystore_case_key(ks, "FR", "C-1", id, key), 0);
	assert_int_equal(keystore_rotate(ks), 1);
	keystore_close(ks);
	f = fopen(mk, "r");
	assert_non_null(f);
	n = fread(cur, 1, sizeof(cur) - 1, f);
	cur[n] = '\0';
	fclose(f);
	/* the state ks_destroy_and_replace() leaves between its steps */
	write_file(mknew, cur, 0600);
	memset(zeros, '0', 65);
	zeros[65] = '\0';
	write_file(mk, zeros, 0600);

	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_non_null(strstr(logbuf, "finished an interrupted master key "
	    "rotation"));
	assert_int_equal(keystore_key(ks, id, k), 1);
	assert_memory_equal(k, key, AEAD_KEY_LEN);
	keystore_close(ks);
	assert_int_equal(access(mknew, F_OK), -1);
	f = fopen(mk, "r");
	assert_non_null(f);
	n = fread(zeros, 1, sizeof(zeros) - 1, f);
	fclose(f);
	assert_int_equal(n, strlen(cur));
	assert_memory_equal(zeros, cur, n);
}

/* A sealed message record: no byte of the body in clear, its header
 * readable without a key, opened with the key only; in the journal,
 * cipher 1, the key id and the body's digest, read back and directly. */
static void
test_sealed_record(void **state)
{
	const char *dir = newdir("sealed");
	struct record_message m, d;
	struct journal_params p;
	struct journal_seal seal;
	struct journal_reader *r;
	struct journal_rec rec;
	struct journal_pos pos;
	struct journal *j;
	uint8_t key[AEAD_KEY_LEN], kid[32], dig[32], *rb;
	char *out, *plain, *ref;
	size_t outlen, plen, reflen;
	int n, found = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "FR");
	snprintf(m.case_id, sizeof(m.case_id), "C-1");
	snprintf(m.message_id, sizeof(m.message_id), "M-1");
	m.type = MSG_READMISSION_REQUEST;
	m.direction = RECORD_DIR_IN;
	m.created = T0;
	assert_int_equal(aead_random(key, sizeof(key)), 0);
	memset(kid, 0x5a, sizeof(kid));
	assert_int_equal(record_message_seal(&m, body, strlen(body), key, kid,
	    &out, &outlen, &seal), 0);
	assert_false(contains((uint8_t *)out, outlen, "MARKER"));
	assert_int_equal(seal.cipher, JOURNAL_CIPHER_AES256GCM);
	assert_memory_equal(seal.key_id, kid, 32);
	assert_int_equal(EVP_Digest(body, strlen(body), dig, NULL,
	    EVP_sha256(), NULL), 1);
	assert_memory_equal(seal.plain, dig, 32);

	assert_int_equal(record_message_decode(out, outlen, &d), 0);
	assert_true(d.sealed);
	assert_null(d.body);
	assert_string_equal(d.case_id, "C-1");
	assert_string_equal(d.message_id, "M-1");

	/* unsealed: exactly the record in clear */
	assert_int_equal(record_message_unseal(out, outlen, key, &plain,
	    &plen), 0);
	assert_int_equal(record_message_encode(&m, body, strlen(body), &ref,
	    &reflen), 0);
	assert_int_equal(plen, reflen);
	assert_memory_equal(plain, ref, reflen);
	free(plain);
	/* another key, or a changed clear header, does not open */
	key[0] ^= 1;
	assert_int_equal(record_message_unseal(out, outlen, key, &plain,
	    &plen), -1);
	key[0] ^= 1;
	out[2] = out[2] == 'c' ? 'd' : 'c';
	assert_int_equal(record_message_unseal(out, outlen, key, &plain,
	    &plen), -1);
	out[2] = out[2] == 'c' ? 'd' : 'c';

	/* in the journal */
	journal_params_default(&p, dir);
	j = journal_open(&p);
	assert_non_null(j);
	assert_int_equal(journal_append_sealed(j, JOURNAL_MESSAGE_RECEIVED,
	    out, outlen, &seal, &pos), 0);
	assert_int_equal(journal_append(j, JOURNAL_DECISION, "{}", 2, NULL),
	    0);
	assert_true(journal_commit(j) > 0);
	journal_close(j);
	r = journal_reader_open(dir);
	assert_non_null(r);
	while ((n = journal_reader_next(r, &rec)) == 1) {
		assert_false(contains(rec.header, rec.hdr_len + rec.len,
		    "MARKER"));
		if (rec.kind != JOURNAL_MESSAGE_RECEIVED)
			continue;
		found = 1;
		assert_int_equal(rec.cipher, JOURNAL_CIPHER_AES256GCM);
		assert_memory_equal(rec.key_id, kid, 32);
		assert_memory_equal(rec.plain, dig, 32);
		assert_memory_not_equal(rec.stored, dig, 32);
	}
	assert_int_equal(n, 0);
	assert_true(found);
	journal_reader_close(r);
	assert_int_equal(journal_read_at(dir, &pos, &rec, &rb), 0);
	assert_int_equal(rec.cipher, JOURNAL_CIPHER_AES256GCM);
	assert_int_equal(rec.len, outlen);
	assert_int_equal(record_message_unseal(rec.payload, rec.len, key,
	    &plain, &plen), 0);
	assert_memory_equal(plain, ref, reflen);
	free(plain);
	free(rb);
	free(ref);
	free(out);
}

/* A sealed reply in the store: its refusal grounds (as the parser read
 * them) indexed from the clear header, no byte of its body in the
 * database. */
static void
test_sealed_grounds(void **state)
{
	static const char reply[] = "<Message><Body><ReadmissionReply>"
	    "<Refused><Ground>NOT_A_NATIONAL</Ground><Ground>"
	    "INSUFFICIENT_EVIDENCE</Ground><Text>MARKER-TEXT</Text>"
	    "</Refused></ReadmissionReply></Body></Message>";
	const char *dir = newdir("grounds");
	struct record_message m, d;
	struct journal_seal seal;
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *q;
	uint8_t key[AEAD_KEY_LEN], kid[32], *file;
	char path[1100], *out, got[256];
	size_t outlen, flen;
	FILE *f;

	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "FR");
	snprintf(m.case_id, sizeof(m.case_id), "C-7");
	snprintf(m.message_id, sizeof(m.message_id), "M-7");
	m.type = MSG_READMISSION_REPLY;
	m.direction = RECORD_DIR_IN;
	m.created = T0;
	m.has_grounds = 1;
	m.ngrounds = 2;
	snprintf(m.grounds[0], sizeof(m.grounds[0]), "NOT_A_NATIONAL");
	snprintf(m.grounds[1], sizeof(m.grounds[1]), "INSUFFICIENT_EVIDENCE");
	assert_int_equal(aead_random(key, sizeof(key)), 0);
	memset(kid, 1, sizeof(kid));
	assert_int_equal(record_message_seal(&m, reply, strlen(reply), key,
	    kid, &out, &outlen, &seal), 0);
	assert_int_equal(record_message_decode(out, outlen, &d), 0);
	assert_int_equal(d.sealed, 1);
	assert_int_equal(d.has_grounds, 1);
	assert_int_equal(d.ngrounds, 2);
	assert_string_equal(d.grounds[0], "NOT_A_NATIONAL");
	assert_string_equal(d.grounds[1], "INSUFFICIENT_EVIDENCE");
	snprintf(path, sizeof(path), "%s/store.db", dir);
	st = store_open(path);
	assert_non_null(st);
	assert_int_equal(store_apply(st, JOURNAL_MESSAGE_RECEIVED, 1, T0, out,
	    outlen), 0);
	store_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(ground, "
	    "' ') FROM (SELECT ground FROM grounds ORDER BY ground)", -1, &q,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	snprintf(got, sizeof(got), "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_string_equal(got, "INSUFFICIENT_EVIDENCE NOT_A_NATIONAL");
	f = fopen(path, "rb");
	assert_non_null(f);
	file = malloc(1 << 20);
	flen = fread(file, 1, 1 << 20, f);
	fclose(f);
	assert_false(contains(file, flen, "MARKER"));
	free(file);
	free(out);
}

/*
 * The elements the parser reads the fsm's facts and signals from
 * (msg/parser.c, parser_facts) and whether the schemas call them
 * personal.  The event a DECISION record holds in clear is made of these:
 * the allowlisted ones as read, the personal ones as verdicts
 * (engine_facts_verdicts), and BirthDate only as a refusal naming its
 * path (engine_check_dates).
 */
static const struct {
	const char	*path;
	int		 personal;
} fact_paths[] = {
	{ "ReadmissionRequest/ReturnReason/DeliberateViolation", 0 },
	{ "ReadmissionRequest/ReturnReason/ObjectiveReason", 0 },
	{ "ReadmissionReply/Accepted", 0 },
	{ "ReadmissionReply/Accepted/TransferDeadline", 0 },
	{ "ReadmissionReply/Refused/Ground", 0 },
	{ "TransitReply/Consent", 0 },
	{ "TransitReply/Refusal/Ground", 0 },
	{ "ExtensionRequest/Subject", 0 },
	{ "ExtensionRequest/DaysRequested", 0 },
	{ "ExtensionReply/Subject", 0 },
	{ "ExtensionReply/Granted", 0 },
	{ "ExtensionReply/Granted/Days", 0 },
	{ "ExtensionReply/Granted/TransferDeadline", 0 },
	{ "TravelDocumentNotice/Action", 0 },
	{ "TravelDocumentNotice/ValidFrom", 0 },
	{ "TravelDocumentNotice/ValidUntil", 0 },
	{ "TransferNotice/TransferAt", 0 },
	{ "ProtectionNotice/Status", 0 },
	{ "VoluntaryDepartureNotice/DepartureDate", 0 },
	{ "VoluntaryDepartureNotice/PassportPresent", 0 },
	{ "VoluntaryDepartureNotice/ApplicationPresent", 0 },
	{ "VoluntaryDepartureNotice/AirlineTicket", 0 },
	{ "VoluntaryDepartureNotice/CriminalOffence", 1 },
	{ "VoluntaryDepartureNotice/EntryIllegal", 1 },
	{ "VoluntaryDepartureNotice/EntryDate", 1 },
	{ "VoluntaryDepartureNotice/Person/BirthDate", 1 },
	{ "Receipt/ReceivedMessageId", 0 },
	{ "Receipt/Sha256", 0 },
	{ "Receipt/ReceivedAt", 0 },
	{ "Receipt/Deadline/Kind", 0 },
	{ "Receipt/Deadline/Due", 0 },
	{ "Error/Code", 0 },
	{ "Error/RefToMessageId", 0 },
};

static char *
event_json(const struct fsm_event *ev)
{
	json_t *o = record_event_to_json(ev);
	char *s;

	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	assert_non_null(s);
	return s;
}

/* The allowlist decides each fact's element as the table says. */
static void
test_fact_paths(void **state)
{
	char path[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fact_paths) / sizeof(fact_paths[0]); i++) {
		snprintf(path, sizeof(path), "Message/Body/%s",
		    fact_paths[i].path);
		if (pdmask_path_shown(path) == fact_paths[i].personal)
			fail_msg("%s: allowlisted %d, personal %d", path,
			    pdmask_path_shown(path), fact_paths[i].personal);
	}
}

/*
 * The personal facts as verdicts: events that differ in a criminal
 * offence, an illegal entry or its date journal the same bytes unless
 * the programme's verdict differs, and the fsm's verdict is kept.
 */
static void
test_fact_verdicts(void **state)
{
	struct agreement a;
	struct fsm_event ev, other;
	char *x, *y;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.programme.present = 1;
	a.programme.exclude_illegal_entry = 1;
	a.programme.illegal_entry_after = 20000;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FSM_EV_RECEIVED;
	ev.type = MSG_VOLUNTARY_DEPARTURE_NOTICE;
	ev.departure_date = 20500;
	ev.passport = 1;
	other = ev;
	/* no exclusion for offences: an offence or none, the same record */
	ev.criminal_offence = 1;
	ev.entry_illegal = 1;
	ev.entry_date = 19000;		/* before the programme's date */
	other.entry_date = 12345;	/* no illegal entry at all */
	engine_facts_verdicts(&a, &ev);
	engine_facts_verdicts(&a, &other);
	x = event_json(&ev);
	y = event_json(&other);
	assert_string_equal(x, y);
	assert_int_equal(ev.criminal_offence, 0);
	assert_int_equal(ev.entry_date, 0);
	free(x);
	free(y);
	/* an illegal entry after the date: the verdict, not the date */
	ev.entry_illegal = other.entry_illegal = 1;
	ev.entry_date = 20100;
	other.entry_date = 20400;
	engine_facts_verdicts(&a, &ev);
	engine_facts_verdicts(&a, &other);
	x = event_json(&ev);
	y = event_json(&other);
	assert_string_equal(x, y);
	assert_int_equal(ev.entry_illegal, 1);
	assert_true(ev.entry_date > a.programme.illegal_entry_after);
	free(x);
	free(y);
	/* offences excluded: the verdict is the offence */
	a.programme.exclude_criminal_offences = 1;
	ev.criminal_offence = 1;
	engine_facts_verdicts(&a, &ev);
	assert_int_equal(ev.criminal_offence, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aead),
		cmocka_unit_test(test_master),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_rotate_slices),
		cmocka_unit_test(test_rotate_locked),
		cmocka_unit_test(test_rotate_torn_replace),
		cmocka_unit_test(test_sealed_record),
		cmocka_unit_test(test_sealed_grounds),
		cmocka_unit_test(test_fact_paths),
		cmocka_unit_test(test_fact_verdicts),
	};

	log_init("test_crypt", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
