/*
 * test_journal_format.c -- journal format 2 (journal.h): the header's
 * digests, a chain proven by headers alone, a payload that is not its
 * header's, ciphers this reader does not know; and the upgrade from
 * format 1: a journal written by the code before (tests/data/journal-v1)
 * and one written in format 1 here read back, continued in format 2 in a
 * new file chained to the last version-1 record, read directly, cut at a
 * torn tail, never written back in format 1.
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

#include "util/clock.h"
#include "persist/journal.h"
#include "util/log.h"
#include "testutil.h"

/* 2026-03-01T12:00:00Z */
#define T0	((accord_time_t)1772366400)

static char	 base[512];
static char	 logbuf[16384];

static int
setup(void **state)
{

	assert_int_equal(test_scratch(base, sizeof(base), "jformat"), 0);
	return 0;
}

static int
teardown(void **state)
{

	assert_int_equal(test_rmtree(base), 0);
	return 0;
}

static const char *
newdir(const char *name)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", base, name);
	clock_test_set(T0);
	log_capture(NULL, 0);
	return buf;
}

static const char *
file_in(const char *dir, int no)
{
	static char buf[1200];

	snprintf(buf, sizeof(buf), "%s/journal-%06d.log", dir, no);
	return buf;
}

static struct journal *
open_format(const char *dir, unsigned int format)
{
	struct journal_params p;

	journal_params_default(&p, dir);
	p.format = format;
	return journal_open(&p);
}

/* Append n records "record i" from first on and commit them. */
static uint64_t
append_n(struct journal *j, int first, int n, struct journal_pos *pos)
{
	char pl[64];
	uint64_t seq = 0;
	int i, len;

	for (i = 0; i < n; i++) {
		len = snprintf(pl, sizeof(pl), "{\"record\":%d}", first + i);
		if (pos != NULL)
			assert_int_equal(journal_append_pos(j, JOURNAL_DECISION,
			    pl, (size_t)len, &pos[i]), 0);
		else
			assert_int_equal(journal_append(j, JOURNAL_DECISION, pl,
			    (size_t)len, &seq), 0);
	}
	assert_true(journal_commit(j) > 0);
	return pos != NULL ? pos[n - 1].seq : seq;
}

static void
sha256(const void *p, size_t n, uint8_t out[JOURNAL_HASH_LEN])
{
	assert_int_equal(EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL), 1);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	int fd;

	fd = open(path, O_RDONLY);
	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*len = (size_t)sb.st_size;
	return buf;
}

static void
rewrite(const char *path, const uint8_t *buf, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Every record of dir through the reader; versions into v (may be NULL).
 * @return how many, or -1 at a break (its reason in logbuf). */
static int
read_all(const char *dir, unsigned int *v, size_t nv)
{
	struct journal_reader *r;
	const struct journal_break *b;
	struct journal_rec rec;
	int n = 0, got;

	r = journal_reader_open(dir);
	assert_non_null(r);
	while ((got = journal_reader_next(r, &rec)) == 1) {
		if (v != NULL && (size_t)n < nv)
			v[n] = rec.version;
		n++;
	}
	if (got == -1) {
		b = journal_reader_break(r);
		snprintf(logbuf, sizeof(logbuf), "%s", b->reason);
		n = -1;
	}
	journal_reader_close(r);
	return n;
}

/* The header of format 2: its digests, and the hash over it alone. */
static void
test_header(void **state)
{
	const char *dir = newdir("header");
	static const uint8_t zero[JOURNAL_HASH_LEN];
	struct journal_reader *r;
	struct journal_rec rec;
	uint8_t *buf, dig[JOURNAL_HASH_LEN], prev[JOURNAL_HASH_LEN];
	size_t len, off = 0;
	struct journal *j;
	int n = 0;

	(void)state;
	j = open_format(dir, 0);
	assert_non_null(j);
	append_n(j, 1, 5, NULL);
	journal_close(j);

	buf = slurp(file_in(dir, 1), &len);
	r = journal_reader_open(dir);
	memset(prev, 0, sizeof(prev));
	while (journal_reader_next(r, &rec) == 1) {
		n++;
		assert_int_equal(rec.version, 2);
		assert_int_equal(rec.hdr_len, JOURNAL_HEADER2_LEN);
		assert_int_equal(rec.offset, off);
		assert_ptr_equal(rec.payload, rec.header + JOURNAL_HEADER2_LEN);
		/* bytes 64-95: the stored payload's digest; 96-127 the
		 * plaintext's (the same, in clear); 128-159: no key */
		sha256(buf + off + JOURNAL_HEADER2_LEN, rec.len, dig);
		assert_memory_equal(buf + off + 64, dig, JOURNAL_HASH_LEN);
		assert_memory_equal(rec.stored, dig, JOURNAL_HASH_LEN);
		assert_memory_equal(rec.plain, dig, JOURNAL_HASH_LEN);
		assert_memory_equal(rec.key_id, zero, JOURNAL_HASH_LEN);
		assert_int_equal(rec.cipher, JOURNAL_CIPHER_NONE);
		/* the record's hash is the header's alone, and the trailer */
		sha256(buf + off, JOURNAL_HEADER2_LEN, dig);
		assert_memory_equal(rec.hash, dig, JOURNAL_HASH_LEN);
		assert_memory_equal(buf + off + JOURNAL_HEADER2_LEN + rec.len,
		    dig, JOURNAL_HASH_LEN);
		/* chained by headers only: the previous header's hash */
		assert_memory_equal(buf + off + 32, prev, JOURNAL_HASH_LEN);
		memcpy(prev, dig, JOURNAL_HASH_LEN);
		off += JOURNAL_HEADER2_LEN + rec.len + JOURNAL_HASH_LEN;
	}
	assert_null(journal_reader_break(r));
	journal_reader_close(r);
	assert_int_equal(n, 6);
	assert_int_equal(off, len);
	free(buf);
}

/* A payload changed, its digest changed, an unknown cipher: each is
 * found, and named. */
static void
test_damage(void **state)
{
	const char *dir = newdir("damage");
	struct journal_pos pos[3];
	struct journal_rec rec;
	struct journal *j;
	uint8_t *buf, *copy, *rb;
	size_t len, at;

	(void)state;
	j = open_format(dir, 0);
	assert_non_null(j);
	append_n(j, 1, 3, pos);
	append_n(j, 4, 2, NULL);	/* the damage is not at the end */
	journal_close(j);
	buf = slurp(file_in(dir, 1), &len);
	copy = malloc(len);
	at = pos[1].offset;

	/* a payload byte: the header's digest of it no longer holds */
	memcpy(copy, buf, len);
	copy[at + JOURNAL_HEADER2_LEN + 2] ^= 1;
	rewrite(file_in(dir, 1), copy, len);
	assert_int_equal(read_all(dir, NULL, 0), -1);
	assert_non_null(strstr(logbuf, "record hash does not match: the "
	    "payload's SHA-256 is not its header's"));
	assert_int_equal(journal_read_at(dir, &pos[1], &rec, &rb), -1);

	/* the digest in the header: the record's hash no longer holds */
	memcpy(copy, buf, len);
	copy[at + 70] ^= 1;
	rewrite(file_in(dir, 1), copy, len);
	assert_int_equal(read_all(dir, NULL, 0), -1);
	assert_string_equal(logbuf, "record hash does not match");

	/* an encrypted payload, the header's hash made right: this reader
	 * knows ciphers 0 and 1 (test_crypt.c), not 2 */
	memcpy(copy, buf, len);
	copy[at + 29] = 2;
	sha256(copy + at, JOURNAL_HEADER2_LEN, copy + at + JOURNAL_HEADER2_LEN +
	    (pos[2].offset - at - JOURNAL_HEADER2_LEN - JOURNAL_HASH_LEN));
	/* and the next record's previous hash, so that only the cipher
	 * is wrong */
	memcpy(copy + pos[2].offset + 32, copy + pos[2].offset -
	    JOURNAL_HASH_LEN, JOURNAL_HASH_LEN);
	rewrite(file_in(dir, 1), copy, len);
	assert_int_equal(read_all(dir, NULL, 0), -1);
	assert_non_null(strstr(logbuf, "cipher this reader does not know"));
	/* cipher 1 without a key id is no sealed record */
	copy[at + 29] = 1;
	sha256(copy + at, JOURNAL_HEADER2_LEN, copy + at + JOURNAL_HEADER2_LEN +
	    (pos[2].offset - at - JOURNAL_HEADER2_LEN - JOURNAL_HASH_LEN));
	memcpy(copy + pos[2].offset + 32, copy + pos[2].offset -
	    JOURNAL_HASH_LEN, JOURNAL_HASH_LEN);
	rewrite(file_in(dir, 1), copy, len);
	assert_int_equal(read_all(dir, NULL, 0), -1);
	assert_non_null(strstr(logbuf, "a sealed payload without a key id"));

	rewrite(file_in(dir, 1), buf, len);
	assert_int_equal(read_all(dir, NULL, 0), 6);
	assert_int_equal(journal_read_at(dir, &pos[1], &rec, &rb), 0);
	assert_int_equal(rec.version, 2);
	assert_string_equal((const char *)rec.payload, "{\"record\":2}");
	free(rb);
	free(copy);
	free(buf);
}

/* Format 1 written, then format 2 after the upgrade: a new file whose
 * FILE_START binds the last version-1 hash, every record read back and
 * read directly, a torn tail of the new file cut. */
static void
test_upgrade(void **state)
{
	const char *dir = newdir("upgrade");
	struct journal_pos p1[3], p2[3];
	struct journal_reader *r;
	struct journal_rec rec;
	struct journal_file_start fs;
	struct journal *j;
	uint8_t last1[JOURNAL_HASH_LEN], *rb;
	unsigned int v[16];
	int n, fd;

	(void)state;
	j = open_format(dir, 1);
	assert_non_null(j);
	append_n(j, 1, 3, p1);
	journal_close(j);
	assert_int_equal(read_all(dir, v, 16), 4);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[3], 1);

	/* the upgrade */
	j = open_format(dir, 0);
	assert_non_null(j);
	append_n(j, 4, 3, p2);
	journal_close(j);
	assert_int_equal(p1[0].file, 1);
	assert_int_equal(p2[0].file, 2);

	r = journal_reader_open(dir);
	n = 0;
	while (journal_reader_next(r, &rec) == 1) {
		v[n++] = rec.version;
		if (rec.seq == 4)
			memcpy(last1, rec.hash, JOURNAL_HASH_LEN);
		if (rec.seq == 5) {
			assert_int_equal(rec.kind, JOURNAL_FILE_START);
			assert_int_equal(journal_decode_file_start(&rec, &fs),
			    0);
			assert_int_equal(fs.number, 2);
			assert_string_equal(fs.prev_file, "journal-000001.log");
			assert_memory_equal(rec.prev, last1, JOURNAL_HASH_LEN);
		}
	}
	assert_null(journal_reader_break(r));
	journal_reader_close(r);
	assert_int_equal(n, 8);
	assert_int_equal(v[3], 1);
	assert_int_equal(v[4], 2);
	assert_int_equal(v[7], 2);

	/* direct reads of both formats */
	assert_int_equal(journal_read_at(dir, &p1[2], &rec, &rb), 0);
	assert_int_equal(rec.version, 1);
	assert_string_equal((const char *)rec.payload, "{\"record\":3}");
	free(rb);
	assert_int_equal(journal_read_at(dir, &p2[2], &rec, &rb), 0);
	assert_int_equal(rec.version, 2);
	assert_string_equal((const char *)rec.payload, "{\"record\":6}");
	free(rb);

	/* a torn tail of the new file is cut and journalled */
	fd = open(file_in(dir, 2), O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "AJRN\0\2\0\5", 8), 8);
	close(fd);
	j = open_format(dir, 0);
	assert_non_null(j);
	journal_close(j);
	assert_int_equal(read_all(dir, v, 16), 9);
	assert_int_equal(v[8], 2);

	/* never back to format 1 */
	log_capture(logbuf, sizeof(logbuf));
	assert_null(open_format(dir, 1));
	log_capture(NULL, 0);
	assert_non_null(strstr(logbuf, "written in journal format 2"));
}

/* A version-1 file after a version-2 one, or one file of both, is damage. */
static void
test_no_mixing(void **state)
{
	const char *dir = newdir("mix");
	char cmd[4096];
	struct journal *j;

	(void)state;
	j = open_format(dir, 0);
	assert_non_null(j);
	append_n(j, 1, 2, NULL);
	journal_close(j);
	/* a file of format 1 put after it */
	j = open_format(newdir("mix1"), 1);
	assert_non_null(j);
	append_n(j, 1, 2, NULL);
	journal_close(j);
	/* file 1 of format 2, file 2 of format 1 */
	snprintf(cmd, sizeof(cmd), "cp %s/mix1/journal-000001.log "
	    "%s/mix/journal-000002.log", base, base);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(read_all(newdir("mix"), NULL, 0), -1);
	assert_non_null(strstr(logbuf, "format version 1 after a file of "
	    "version 2"));
}

/* The journal the code before format 2 wrote reads and continues. */
static void
test_old_journal(void **state)
{
	const char *src = getenv("ACCORD_SRCDIR");
	const char *dir = newdir("old");
	char cmd[4096];
	unsigned int v[256];
	struct journal *j;
	int n, i;

	(void)state;
	assert_non_null(src);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s/tests/data/"
	    "journal-v1/journal-*.log %s && chmod u+w %s/*", dir, src, dir,
	    dir);
	assert_int_equal(system(cmd), 0);
	n = read_all(dir, v, 256);
	assert_true(n > 20);
	for (i = 0; i < n; i++)
		assert_int_equal(v[i], 1);
	j = open_format(dir, 0);
	assert_non_null(j);
	append_n(j, 1, 1, NULL);
	journal_close(j);
	assert_int_equal(read_all(dir, v, 256), n + 2);
	assert_int_equal(v[n - 1], 1);
	assert_int_equal(v[n], 2);
	assert_int_equal(v[n + 1], 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_no_mixing),
		cmocka_unit_test(test_old_journal),
	};

	log_init("test_journal_format", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
