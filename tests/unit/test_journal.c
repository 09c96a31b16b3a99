/*
 * test_journal.c -- the journal: append, group commit and read back; the
 * chain across rotation by size and by UTC date; a torn tail cut and
 * journalled; damage refused with file, offset and record; checkpoint
 * signatures; write and sync failures leaving committed records intact;
 * the reader's first break.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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

	assert_int_equal(test_scratch(base, sizeof(base), "journal"), 0);
	return 0;
}

static int
teardown(void **state)
{

	assert_int_equal(test_rmtree(base), 0);
	return 0;
}

/* A fresh directory name per test; the journal creates it. */
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

static off_t
file_size(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == -1)
		return -1;
	return sb.st_size;
}

static struct journal *
open_plain(const char *dir, off_t max)
{
	struct journal_params p;
	struct journal *j;

	journal_params_default(&p, dir);
	if (max > 0)
		p.max_file_size = max;
	j = journal_open(&p);
	assert_non_null(j);
	return j;
}

/* Payload of test record i: its text names it, so a lost or moved record
 * shows. */
static size_t
payload_of(uint64_t i, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "{\"n\":%llu,\"text\":\"record "
	    "%llu of the test\"}", (unsigned long long)i,
	    (unsigned long long)i);
}

static uint64_t
append_n(struct journal *j, uint64_t first, int n)
{
	char pl[128];
	uint64_t seq = 0;
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		len = payload_of(first + (uint64_t)i, pl, sizeof(pl));
		assert_int_equal(journal_append(j, JOURNAL_DECISION, pl, len,
		    &seq), 0);
	}
	return seq;
}

static void
flip_byte(const char *path, off_t off)
{
	unsigned char c;
	int fd;

	fd = open(path, O_RDWR);
	assert_true(fd != -1);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void
append_bytes(const char *path, const void *buf, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* A record kept after its reader is closed: the reader owns rec.payload
 * and rec.file only until its next call, so both are copied here and
 * rec points at the copies. */
struct kept_rec {
	struct journal_rec rec;
	uint8_t		 payload[4096];
	char		 file[1024];
};

static void
keep_rec(struct kept_rec *kept, const struct journal_rec *rec)
{
	assert_true(rec->len <= sizeof(kept->payload));
	assert_true(strlen(rec->file) < sizeof(kept->file));
	kept->rec = *rec;
	memcpy(kept->payload, rec->payload, rec->len);
	snprintf(kept->file, sizeof(kept->file), "%s", rec->file);
	kept->rec.payload = kept->payload;
	kept->rec.file = kept->file;
}

/* Read the whole journal of dir; every record's chain checked by hand as
 * well as by the reader.  last_of, if not NULL, gets a copy of the last
 * record of kind k.  @return the number of records. */
static uint64_t
read_all(const char *dir, struct kept_rec *last_of, enum journal_kind k)
{
	struct journal_reader *r;
	struct journal_rec rec;
	uint8_t prev[JOURNAL_HASH_LEN] = { 0 };
	uint64_t n = 0;
	int rc;

	r = journal_reader_open(dir);
	assert_non_null(r);
	while ((rc = journal_reader_next(r, &rec)) == 1) {
		n++;
		assert_int_equal(rec.seq, n);
		assert_memory_equal(rec.prev, prev, JOURNAL_HASH_LEN);
		memcpy(prev, rec.hash, JOURNAL_HASH_LEN);
		if (last_of != NULL && rec.kind == k)
			keep_rec(last_of, &rec);
	}
	if (rc == -1)
		fail_msg("break: %s offset %llu: %s",
		    journal_reader_break(r)->file,
		    (unsigned long long)journal_reader_break(r)->offset,
		    journal_reader_break(r)->reason);
	journal_reader_close(r);
	return n;
}

/* ---- append, commit, read back ---------------------------------------- */

static void
test_append_commit_read(void **state)
{
	const char *dir = newdir("basic");
	struct journal *j;
	struct journal_reader *r;
	struct journal_rec rec;
	struct journal_file_start fs;
	uint8_t prevhash[JOURNAL_HASH_LEN];
	char pl[128];
	off_t before;
	uint64_t seq, off;
	size_t len;
	int i;

	j = open_plain(dir, 0);
	/* A fresh journal starts its first file at once. */
	assert_int_equal(journal_committed_seq(j), 1);
	before = file_size(file_in(dir, 1));
	assert_true(before > 0);

	seq = append_n(j, 1, 5);
	assert_int_equal(seq, 6);
	assert_int_equal(journal_pending(j), 5);
	/* Appending writes nothing: a caller who answered now would
	 * answer for records that do not exist. */
	assert_int_equal(file_size(file_in(dir, 1)), before);
	assert_int_equal(journal_committed_seq(j), 1);
	assert_int_equal(journal_commit(j), 6);
	assert_int_equal(journal_committed_seq(j), 6);
	assert_int_equal(journal_pending(j), 0);
	assert_true(file_size(file_in(dir, 1)) > before);

	/* The journal's own kinds are not the caller's to write. */
	assert_int_equal(journal_append(j, JOURNAL_CHECKPOINT, "x", 1, NULL),
	    -1);
	assert_int_equal(journal_append(j, JOURNAL_FILE_START, "x", 1, NULL),
	    -1);
	assert_int_equal(journal_append(j, (enum journal_kind)99, "x", 1,
	    NULL), -1);
	/* A commit with nothing to write writes nothing. */
	assert_int_equal(journal_commit(j), 6);
	journal_close(j);

	r = journal_reader_open(dir);
	assert_non_null(r);
	assert_int_equal(journal_reader_next(r, &rec), 1);
	assert_int_equal(rec.kind, JOURNAL_FILE_START);
	assert_int_equal(rec.seq, 1);
	assert_int_equal(rec.offset, 0);
	assert_int_equal(rec.time, T0);
	assert_int_equal(journal_decode_file_start(&rec, &fs), 0);
	assert_int_equal(fs.number, 1);
	assert_string_equal(fs.prev_file, "");
	memcpy(prevhash, rec.hash, JOURNAL_HASH_LEN);
	off = JOURNAL_HEADER2_LEN + rec.len + JOURNAL_HASH_LEN;
	for (i = 1; i <= 5; i++) {
		assert_int_equal(journal_reader_next(r, &rec), 1);
		assert_int_equal(rec.kind, JOURNAL_DECISION);
		assert_int_equal(rec.version, JOURNAL_VERSION);
		assert_int_equal(rec.seq, i + 1);
		assert_int_equal(rec.offset, off);
		assert_string_equal(rec.file, file_in(dir, 1));
		assert_memory_equal(rec.prev, prevhash, JOURNAL_HASH_LEN);
		len = payload_of((uint64_t)i, pl, sizeof(pl));
		assert_int_equal(rec.len, len);
		assert_memory_equal(rec.payload, pl, len);
		memcpy(prevhash, rec.hash, JOURNAL_HASH_LEN);
		off += JOURNAL_HEADER2_LEN + rec.len + JOURNAL_HASH_LEN;
	}
	assert_int_equal(journal_reader_next(r, &rec), 0);
	assert_null(journal_reader_break(r));
	journal_reader_close(r);

	/* Reopened, it carries on where it stopped. */
	j = open_plain(dir, 0);
	assert_int_equal(journal_committed_seq(j), 6);
	append_n(j, 6, 1);
	assert_int_equal(journal_commit(j), 7);
	journal_close(j);
	assert_int_equal(read_all(dir, NULL, 0), 7);
}

/* A second writer would fork the chain. */
static void
test_single_writer(void **state)
{
	const char *dir = newdir("lock");
	struct journal_params p;
	struct journal *j;

	j = open_plain(dir, 0);
	journal_params_default(&p, dir);
	log_capture(logbuf, sizeof(logbuf));
	assert_null(journal_open(&p));
	log_capture(NULL, 0);
	assert_non_null(strstr(logbuf, "in use"));
	journal_close(j);
}

/* ---- rotation ----------------------------------------------------------- */

static void
check_file_chain(const char *dir, int nfiles)
{
	struct journal_reader *r;
	struct journal_rec rec;
	struct journal_file_start fs;
	uint8_t last[JOURNAL_HASH_LEN] = { 0 };
	char lastfile[1200] = "";
	int files = 0, rc;

	r = journal_reader_open(dir);
	assert_non_null(r);
	while ((rc = journal_reader_next(r, &rec)) == 1) {
		if (strcmp(rec.file, lastfile) != 0) {
			files++;
			assert_int_equal(rec.kind, JOURNAL_FILE_START);
			assert_int_equal(rec.offset, 0);
			assert_int_equal(journal_decode_file_start(&rec, &fs),
			    0);
			assert_int_equal(fs.number, files);
			/* The chain continues from the previous file. */
			assert_memory_equal(rec.prev, last, JOURNAL_HASH_LEN);
			if (files > 1)
				assert_string_equal(fs.prev_file,
				    strrchr(lastfile, '/') + 1);
			snprintf(lastfile, sizeof(lastfile), "%s", rec.file);
		} else
			assert_int_not_equal(rec.kind, JOURNAL_FILE_START);
		memcpy(last, rec.hash, JOURNAL_HASH_LEN);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(files, nfiles);
	journal_reader_close(r);
}

static void
test_rotation_size(void **state)
{
	const char *dir = newdir("rotsize");
	struct journal *j;
	struct journal_stats st;
	char big[1000];
	int i;

	memset(big, 'x', sizeof(big));
	j = open_plain(dir, 4096);
	for (i = 0; i < 12; i++) {
		assert_int_equal(journal_append(j, JOURNAL_MESSAGE_RECEIVED,
		    big, sizeof(big), NULL), 0);
		assert_true(journal_commit(j) > 0);
	}
	journal_get_stats(j, &st);
	journal_close(j);
	/* 1000 + 96 bytes a record: three fit beside a FILE_START. */
	assert_int_equal(st.files_created, 4);
	assert_true(file_size(file_in(dir, 1)) <= 4096);
	assert_true(file_size(file_in(dir, 4)) > 0);
	assert_int_equal(file_size(file_in(dir, 5)), -1);
	check_file_chain(dir, 4);
	/* 12 records and 4 FILE_STARTs. */
	assert_int_equal(read_all(dir, NULL, 0), 16);

	/* Reopened, the chain goes on into a fifth file. */
	j = open_plain(dir, 4096);
	for (i = 0; i < 3; i++) {
		assert_int_equal(journal_append(j, JOURNAL_MESSAGE_SENT,
		    big, sizeof(big), NULL), 0);
		assert_true(journal_commit(j) > 0);
	}
	journal_close(j);
	check_file_chain(dir, 5);
}

static void
test_rotation_day(void **state)
{
	const char *dir = newdir("rotday");
	struct journal *j;
	struct journal_reader *r;
	struct journal_rec rec;
	int rc;

	j = open_plain(dir, 0);
	/* 2026-03-01T23:59:50Z */
	clock_test_set(T0 + 12 * 3600 - 10);
	append_n(j, 1, 2);
	assert_int_equal(journal_commit(j), 3);
	assert_non_null(strstr(journal_current_file(j), "journal-000001"));
	/* A batch begun before midnight stays whole in its file. */
	append_n(j, 3, 1);
	clock_test_advance(15);
	append_n(j, 4, 1);
	assert_int_equal(journal_commit(j), 5);
	assert_non_null(strstr(journal_current_file(j), "journal-000001"));
	/* The next batch, on the new UTC date, opens a new file. */
	append_n(j, 5, 1);
	assert_int_equal(journal_commit(j), 7);
	assert_non_null(strstr(journal_current_file(j), "journal-000002"));
	/* Same date: same file. */
	clock_test_advance(3600);
	append_n(j, 6, 1);
	assert_int_equal(journal_commit(j), 8);
	journal_close(j);

	/* A restart the day after rotates too: the date comes from the
	 * file's FILE_START, not from the process. */
	clock_test_advance(86400);
	j = open_plain(dir, 0);
	append_n(j, 7, 1);
	assert_int_equal(journal_commit(j), 10);
	journal_close(j);
	check_file_chain(dir, 3);

	r = journal_reader_open(dir);
	assert_non_null(r);
	while ((rc = journal_reader_next(r, &rec)) == 1)
		if (rec.kind == JOURNAL_FILE_START && rec.seq == 6)
			assert_int_equal(rec.time, T0 + 12 * 3600 + 5);
	assert_int_equal(rc, 0);
	journal_reader_close(r);
}

/* ---- group commit ------------------------------------------------------ */

static int	hook_syncs;
static int	hook_writes;
static int	hook_fail_write;	/* 0: pass; n: fail after n bytes */
static int	hook_fail_sync;

static ssize_t
hook_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n;

	hook_writes++;
	if (hook_fail_write > 0) {
		if (len > (size_t)hook_fail_write)
			len = (size_t)hook_fail_write;
		/* A short write first, as on a filling disk, then ENOSPC. */
		if (hook_fail_write == -1 || hook_writes > 1) {
			errno = ENOSPC;
			return -1;
		}
		n = pwrite(fd, buf, len, off);
		return n;
	}
	return pwrite(fd, buf, len, off);
}

static pthread_t hook_sync_thread;

static int
hook_fdatasync(int fd)
{
	hook_syncs++;
	hook_sync_thread = pthread_self();
	if (hook_fail_sync) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

static const struct journal_io hooks = { hook_pwrite, hook_fdatasync };

static void
hooks_reset(void)
{
	hook_syncs = hook_writes = hook_fail_write = hook_fail_sync = 0;
}

static void
test_group_commit(void **state)
{
	const char *dir = newdir("group");
	struct journal *j;
	struct journal_stats st;

	j = open_plain(dir, 0);
	hooks_reset();
	journal_set_io(j, &hooks);
	append_n(j, 1, 100);
	assert_int_equal(hook_syncs, 0);
	assert_int_equal(journal_commit(j), 101);
	/* A hundred records, one write, one fdatasync. */
	assert_int_equal(hook_writes, 1);
	assert_int_equal(hook_syncs, 1);
	append_n(j, 101, 10);
	assert_int_equal(journal_commit(j), 111);
	assert_int_equal(hook_writes, 2);
	assert_int_equal(hook_syncs, 2);
	journal_get_stats(j, &st);
	assert_int_equal(st.commits, 3);	/* with the FILE_START's */
	journal_close(j);
	assert_int_equal(read_all(dir, NULL, 0), 111);
}

/* ---- torn tail ---------------------------------------------------------- */

/* Read back the TORN_TAIL_CUT of dir and compare it. */
static void
check_cut(const char *dir, uint64_t seq, const char *file, uint64_t off,
    const void *cut, size_t cutlen)
{
	struct kept_rec kept;
	struct journal_torn_cut tc;
	uint8_t h[JOURNAL_HASH_LEN];

	memset(&kept, 0, sizeof(kept));
	assert_true(read_all(dir, &kept, JOURNAL_TORN_TAIL_CUT) >= seq);
	assert_int_equal(kept.rec.kind, JOURNAL_TORN_TAIL_CUT);
	assert_int_equal(kept.rec.seq, seq);
	assert_int_equal(journal_decode_torn_cut(&kept.rec, &tc), 0);
	assert_int_equal(tc.offset, off);
	assert_int_equal(tc.length, cutlen);
	assert_string_equal(tc.file, file);
	assert_int_equal(EVP_Digest(cut, cutlen, h, NULL, EVP_sha256(), NULL),
	    1);
	assert_memory_equal(tc.sha256, h, JOURNAL_HASH_LEN);
}

static void
test_torn_tail(void **state)
{
	const char *dir = newdir("torn");
	struct journal *j;
	uint8_t half[64 + 40];
	off_t size;

	j = open_plain(dir, 0);
	append_n(j, 1, 3);
	assert_int_equal(journal_commit(j), 4);
	journal_close(j);
	size = file_size(file_in(dir, 1));

	/* Half a record: a good header promising 100 bytes, 40 written. */
	memset(half, 'p', sizeof(half));
	memcpy(half, "AJRN\0\001\0\005", 8);
	memset(half + 8, 0, 24);
	half[15] = 5;
	half[27] = 100;
	append_bytes(file_in(dir, 1), half, sizeof(half));

	log_capture(logbuf, sizeof(logbuf));
	j = open_plain(dir, 0);
	log_capture(NULL, 0);
	assert_non_null(strstr(logbuf, "torn tail of 104 bytes"));
	/* The cut is journalled at once, where the tail was. */
	assert_int_equal(journal_committed_seq(j), 5);
	append_n(j, 4, 1);
	assert_int_equal(journal_commit(j), 6);
	journal_close(j);
	check_cut(dir, 5, "journal-000001.log", (uint64_t)size, half,
	    sizeof(half));
	assert_int_equal(read_all(dir, NULL, 0), 6);
}

/* The last record torn at every byte offset: each is cut and journalled,
 * and every record before it survives. */
static void
test_torn_every_offset(void **state)
{
	const char *dir = newdir("torn-every");
	struct journal *j;
	unsigned char *full;
	off_t start, end, k;
	char path[1300];
	FILE *fp;
	int fd;

	j = open_plain(dir, 0);
	append_n(j, 1, 3);
	assert_int_equal(journal_commit(j), 4);
	journal_close(j);
	start = file_size(file_in(dir, 1));
	j = open_plain(dir, 0);
	append_n(j, 4, 1);
	assert_int_equal(journal_commit(j), 5);
	journal_close(j);
	end = file_size(file_in(dir, 1));
	assert_true(end > start);
	snprintf(path, sizeof(path), "%s", file_in(dir, 1));
	full = malloc((size_t)end);
	assert_non_null(full);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fread(full, 1, (size_t)end, fp), (size_t)end);
	fclose(fp);

	for (k = 1; k < end - start; k++) {
		/* the file as a crash after k bytes of the last write */
		fd = open(path, O_WRONLY | O_TRUNC);
		assert_true(fd != -1);
		assert_int_equal(write(fd, full, (size_t)(start + k)),
		    (ssize_t)(start + k));
		close(fd);
		log_capture(logbuf, sizeof(logbuf));
		j = open_plain(dir, 0);
		log_capture(NULL, 0);
		/* records 1-4 kept, the cut journalled as record 5 */
		assert_int_equal(journal_committed_seq(j), 5);
		journal_close(j);
		check_cut(dir, 5, "journal-000001.log", (uint64_t)start,
		    full + start, (size_t)k);
		assert_int_equal(read_all(dir, NULL, 0), 5);
	}
	free(full);
}

static void
test_torn_variants(void **state)
{
	const char *dir;
	struct journal *j;
	uint8_t zeros[300], bytes[4096];
	size_t cutlen;
	off_t size;
	int fd;

	/* Fewer bytes than a header. */
	dir = newdir("torn-short");
	j = open_plain(dir, 0);
	append_n(j, 1, 2);
	journal_commit(j);
	journal_close(j);
	size = file_size(file_in(dir, 1));
	append_bytes(file_in(dir, 1), "AJRN\0\001", 6);
	j = open_plain(dir, 0);
	journal_close(j);
	check_cut(dir, 4, "journal-000001.log", (uint64_t)size, "AJRN\0\001",
	    6);

	/* A file system's zero fill after a crash. */
	dir = newdir("torn-zero");
	j = open_plain(dir, 0);
	append_n(j, 1, 2);
	journal_commit(j);
	journal_close(j);
	size = file_size(file_in(dir, 1));
	memset(zeros, 0, sizeof(zeros));
	append_bytes(file_in(dir, 1), zeros, sizeof(zeros));
	j = open_plain(dir, 0);
	journal_close(j);
	check_cut(dir, 4, "journal-000001.log", (uint64_t)size, zeros,
	    sizeof(zeros));

	/* The last record complete but its hash wrong. */
	dir = newdir("torn-hash");
	j = open_plain(dir, 0);
	append_n(j, 1, 1);
	journal_commit(j);
	size = file_size(file_in(dir, 1));
	append_n(j, 2, 1);
	journal_commit(j);
	journal_close(j);
	flip_byte(file_in(dir, 1), size + 70);
	cutlen = (size_t)(file_size(file_in(dir, 1)) - size);
	fd = open(file_in(dir, 1), O_RDONLY);
	assert_int_equal(pread(fd, bytes, sizeof(bytes), size),
	    (ssize_t)cutlen);
	close(fd);
	j = open_plain(dir, 0);
	journal_close(j);
	check_cut(dir, 3, "journal-000001.log", (uint64_t)size, bytes,
	    cutlen);

	/* A new file torn at birth is removed; the cut goes into the file
	 * before it. */
	dir = newdir("torn-birth");
	j = open_plain(dir, 0);
	append_n(j, 1, 1);
	journal_commit(j);
	journal_close(j);
	append_bytes(file_in(dir, 2), "AJRN\0\001\0\014", 8);
	j = open_plain(dir, 0);
	assert_non_null(strstr(journal_current_file(j), "journal-000001"));
	journal_close(j);
	assert_int_equal(file_size(file_in(dir, 2)), -1);
	check_cut(dir, 3, "journal-000002.log", 0, "AJRN\0\001\0\014", 8);

	/* The very first file torn at birth: a new first file. */
	dir = newdir("torn-first");
	assert_int_equal(mkdir(dir, 0700), 0);
	append_bytes(file_in(dir, 1), "AJ", 2);
	j = open_plain(dir, 0);
	journal_close(j);
	check_cut(dir, 2, "journal-000001.log", 0, "AJ", 2);
}

/* ---- damage ------------------------------------------------------------- */

/* journal_open must refuse and say where. */
static void
expect_refusal(const char *dir, const char *want1, const char *want2)
{
	struct journal_params p;

	journal_params_default(&p, dir);
	log_capture(logbuf, sizeof(logbuf));
	assert_null(journal_open(&p));
	log_capture(NULL, 0);
	if (strstr(logbuf, want1) == NULL ||
	    (want2 != NULL && strstr(logbuf, want2) == NULL))
		fail_msg("log lacks \"%s\" / \"%s\": %s", want1,
		    want2 ? want2 : "", logbuf);
}

static void
test_damage_refused(void **state)
{
	const char *dir;
	struct journal *j;
	char want[1400];
	off_t off2;

	/* A bad hash in the middle of a file. */
	dir = newdir("damage-mid");
	j = open_plain(dir, 0);
	append_n(j, 1, 1);
	journal_commit(j);
	off2 = file_size(file_in(dir, 1));
	append_n(j, 2, 3);
	journal_commit(j);
	journal_close(j);
	flip_byte(file_in(dir, 1), off2 + 70);
	snprintf(want, sizeof(want), "%s: offset %lld: record 3: record hash "
	    "does not match", file_in(dir, 1), (long long)off2);
	expect_refusal(dir, want, "refusing to open");
	/* Nothing was cut. */
	assert_true(file_size(file_in(dir, 1)) > off2);

	/* A bad hash in the last record of an earlier file is damage, not
	 * a torn tail: only the last file's end can be torn. */
	dir = newdir("damage-file-end");
	j = open_plain(dir, 300);
	append_n(j, 1, 1);
	journal_commit(j);
	append_n(j, 2, 1);
	journal_commit(j);
	append_n(j, 3, 1);
	journal_commit(j);
	journal_close(j);
	assert_true(file_size(file_in(dir, 2)) > 0);
	flip_byte(file_in(dir, 1), file_size(file_in(dir, 1)) - 40);
	expect_refusal(dir, "journal-000001.log: offset", "record hash");

	/* A missing file. */
	dir = newdir("damage-missing");
	j = open_plain(dir, 300);
	append_n(j, 1, 1);
	journal_commit(j);
	append_n(j, 2, 1);
	journal_commit(j);
	append_n(j, 3, 1);
	journal_commit(j);
	append_n(j, 4, 1);
	journal_commit(j);
	journal_close(j);
	assert_true(file_size(file_in(dir, 3)) > 0);
	assert_int_equal(unlink(file_in(dir, 2)), 0);
	expect_refusal(dir, "journal-000003.log: offset 0", "missing file "
	    "journal-000002.log");

	/* A version this code does not know, at the very end too: a torn
	 * write never invents a version. */
	dir = newdir("damage-version");
	j = open_plain(dir, 0);
	append_n(j, 1, 1);
	journal_commit(j);
	off2 = file_size(file_in(dir, 1));
	append_n(j, 2, 1);
	journal_commit(j);
	journal_close(j);
	flip_byte(file_in(dir, 1), off2 + 5);
	snprintf(want, sizeof(want), "offset %lld: record 3: unsupported "
	    "format version", (long long)off2);
	expect_refusal(dir, want, NULL);

	/* Garbage that is not zeros and not a record, with records after:
	 * a bad magic. */
	dir = newdir("damage-magic");
	j = open_plain(dir, 0);
	append_n(j, 1, 2);
	journal_commit(j);
	journal_close(j);
	flip_byte(file_in(dir, 1), 0);
	expect_refusal(dir, "offset 0: record 1: bad magic", NULL);
}

/* ---- checkpoints -------------------------------------------------------- */

static EVP_PKEY *
load_key(const char *rel)
{
	char path[1024];
	EVP_PKEY *k;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", getenv("ACCORD_PKI"), rel);
	fp = fopen(path, "r");
	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

static X509 *
load_cert(const char *rel)
{
	char path[1024];
	X509 *x;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", getenv("ACCORD_PKI"), rel);
	fp = fopen(path, "r");
	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static void
checkpoints_with(const char *name, const char *keyfile, const char *certfile,
    const char *otherkey)
{
	const char *dir = newdir(name);
	struct journal_params p;
	struct journal *j;
	struct journal_reader *r;
	struct journal_rec rec, cps[8];
	struct journal_checkpoint cp;
	struct journal_stats st;
	uint8_t copy[1024];
	EVP_PKEY *key, *other;
	X509 *cert;
	char hex[65], latest[65];
	int i, ncp = 0, rc;

	key = load_key(keyfile);
	other = load_key(otherkey);
	cert = load_cert(certfile);
	journal_params_default(&p, dir);
	p.sign_key = key;
	p.checkpoint_every = 10;
	p.checkpoint_secs = 0;
	j = journal_open(&p);
	assert_non_null(j);
	assert_string_equal(journal_latest_checkpoint_hash(j), "");
	/* Every 10 records: after batches 2, 4 and 6 (the FILE_START
	 * counts). */
	for (i = 0; i < 6; i++) {
		append_n(j, (uint64_t)i * 5, 5);
		assert_true(journal_commit(j) > 0);
	}
	journal_get_stats(j, &st);
	assert_int_equal(st.checkpoints, 3);
	snprintf(latest, sizeof(latest), "%s",
	    journal_latest_checkpoint_hash(j));
	assert_int_equal(strlen(latest), 64);
	journal_close(j);

	r = journal_reader_open(dir);
	assert_non_null(r);
	journal_reader_set_key(r, X509_get0_pubkey(cert));
	while ((rc = journal_reader_next(r, &rec)) == 1)
		if (rec.kind == JOURNAL_CHECKPOINT && ncp < 8) {
			cps[ncp] = rec;
			assert_true(rec.len <= sizeof(copy));
			/* Keep the payload: the reader's buffer moves on. */
			memcpy(copy, rec.payload, rec.len);
			assert_int_equal(journal_verify_checkpoint(&rec,
			    X509_get0_pubkey(cert)), 0);
			ncp++;
		}
	assert_int_equal(rc, 0);
	assert_int_equal(ncp, 3);
	/* The latest is the one partners were given. */
	rec = cps[2];
	rec.payload = copy;
	assert_string_equal(journal_hex(rec.prev, hex), latest);
	assert_int_equal(journal_decode_checkpoint(&rec, &cp), 0);
	assert_int_equal(cp.seq + 1, rec.seq);
	assert_int_equal(journal_verify_checkpoint(&rec,
	    X509_get0_pubkey(cert)), 0);

	/* Another key does not verify it. */
	assert_int_equal(journal_verify_checkpoint(&rec, other), -1);
	/* A changed signature does not verify. */
	copy[rec.len - 5] ^= 0x01;
	assert_int_equal(journal_verify_checkpoint(&rec,
	    X509_get0_pubkey(cert)), -1);
	copy[rec.len - 5] ^= 0x01;
	assert_int_equal(journal_verify_checkpoint(&rec,
	    X509_get0_pubkey(cert)), 0);
	/* A signature moved to another point of the chain does not. */
	copy[9] ^= 0x01;
	rec.prev[1] ^= 0x01;
	assert_int_equal(journal_verify_checkpoint(&rec,
	    X509_get0_pubkey(cert)), -1);
	copy[9] ^= 0x01;
	rec.prev[1] ^= 0x01;
	rec.seq++;
	assert_int_equal(journal_verify_checkpoint(&rec,
	    X509_get0_pubkey(cert)), -1);
	journal_reader_close(r);

	/* The reader with the wrong key reports the first checkpoint. */
	r = journal_reader_open(dir);
	journal_reader_set_key(r, other);
	while ((rc = journal_reader_next(r, &rec)) == 1)
		;
	assert_int_equal(rc, -1);
	assert_non_null(strstr(journal_reader_break(r)->reason,
	    "signature"));
	assert_int_equal(journal_reader_break(r)->recno, cps[0].seq);
	journal_reader_close(r);

	/* A restart knows the latest checkpoint; a time-based one comes
	 * when due. */
	p.checkpoint_every = 0;
	p.checkpoint_secs = 60;
	j = journal_open(&p);
	assert_non_null(j);
	assert_string_equal(journal_latest_checkpoint_hash(j), latest);
	append_n(j, 100, 1);
	journal_commit(j);
	assert_string_equal(journal_latest_checkpoint_hash(j), latest);
	clock_test_advance(61);
	append_n(j, 101, 1);
	journal_commit(j);
	assert_string_not_equal(journal_latest_checkpoint_hash(j), latest);
	/* On request, too, and not when nothing happened since. */
	snprintf(latest, sizeof(latest), "%s",
	    journal_latest_checkpoint_hash(j));
	assert_int_equal(journal_checkpoint_request(j), 0);
	journal_commit(j);
	assert_string_equal(journal_latest_checkpoint_hash(j), latest);
	append_n(j, 102, 1);
	journal_commit(j);
	assert_string_not_equal(journal_latest_checkpoint_hash(j), latest);
	journal_close(j);

	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	X509_free(cert);
}

static void
test_checkpoint_ec(void **state)
{
	checkpoints_with("cp-ec", "kz/sign-ec.key", "kz/sign-ec.pem",
	    "fr/sign-ec.key");
}

static void
test_checkpoint_rsa(void **state)
{
	checkpoints_with("cp-rsa", "kz/sign-rsa.key", "kz/sign-rsa.pem",
	    "kz/sign-ec.key");
}

/* ---- write and sync failures -------------------------------------------- */

static void
test_disk_full_hook(void **state)
{
	const char *dir = newdir("full-hook");
	struct journal *j;
	off_t size;

	j = open_plain(dir, 0);
	append_n(j, 1, 3);
	assert_int_equal(journal_commit(j), 4);
	size = file_size(file_in(dir, 1));

	hooks_reset();
	journal_set_io(j, &hooks);
	hook_fail_write = 100;
	append_n(j, 100, 5);
	log_capture(logbuf, sizeof(logbuf));
	assert_int_equal(journal_commit(j), -1);
	log_capture(NULL, 0);
	assert_non_null(strstr(logbuf, "No space left on device"));
	assert_non_null(strstr(logbuf, "seq 5-9"));
	/* The half-written batch is gone; what was committed is intact. */
	assert_int_equal(hook_writes, 2);
	assert_int_equal(file_size(file_in(dir, 1)), size);
	assert_int_equal(journal_committed_seq(j), 4);
	assert_int_equal(journal_pending(j), 0);

	/* Space again: the journal goes on, reusing the lost numbers. */
	hooks_reset();
	append_n(j, 4, 2);
	assert_int_equal(journal_commit(j), 6);
	journal_close(j);
	assert_int_equal(read_all(dir, NULL, 0), 6);
}

static void
test_disk_full_rlimit(void **state)
{
	const char *dir = newdir("full-rlimit");
	struct journal *j;
	struct rlimit old, lim;
	char big[4096];
	off_t size;
	int i;

	memset(big, 'b', sizeof(big));
	j = open_plain(dir, 0);
	append_n(j, 1, 3);
	assert_int_equal(journal_commit(j), 4);
	size = file_size(file_in(dir, 1));

	/* A real EFBIG from the kernel after a short write. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 5000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(journal_append(j, JOURNAL_MESSAGE_RECEIVED,
		    big, sizeof(big), NULL), 0);
	log_capture(logbuf, sizeof(logbuf));
	assert_int_equal(journal_commit(j), -1);
	log_capture(NULL, 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(logbuf, "File too large"));
	assert_int_equal(file_size(file_in(dir, 1)), size);

	assert_int_equal(journal_append(j, JOURNAL_MESSAGE_RECEIVED, big,
	    sizeof(big), NULL), 0);
	assert_int_equal(journal_commit(j), 5);
	journal_close(j);
	assert_int_equal(read_all(dir, NULL, 0), 5);
}

static void
test_sync_failure(void **state)
{
	const char *dir = newdir("sync-fail");
	struct journal *j;
	off_t size;

	j = open_plain(dir, 0);
	append_n(j, 1, 2);
	assert_int_equal(journal_commit(j), 3);
	size = file_size(file_in(dir, 1));
	hooks_reset();
	journal_set_io(j, &hooks);
	hook_fail_sync = 1;
	append_n(j, 3, 2);
	log_capture(logbuf, sizeof(logbuf));
	assert_int_equal(journal_commit(j), -1);
	assert_int_equal(file_size(file_in(dir, 1)), size);
	/* After a failed fsync the journal takes nothing more. */
	hook_fail_sync = 0;
	assert_int_equal(journal_append(j, JOURNAL_DECISION, "x", 1, NULL),
	    -1);
	assert_int_equal(journal_commit(j), -1);
	log_capture(NULL, 0);
	assert_non_null(strstr(logbuf, "fdatasync failed"));
	journal_close(j);
	/* A restart finds every committed record. */
	j = open_plain(dir, 0);
	assert_int_equal(journal_committed_seq(j), 3);
	journal_close(j);
}


/* Wait until the journal's writer thread says a flight is through. */
static void
wait_flight(struct journal *j)
{
	struct pollfd pfd;

	pfd.fd = journal_commit_fd(j);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
}

/*
 * Issue 12 (DESIGN.md 3): the fdatasync of an asynchronous commit runs on
 * the writer thread, never on the caller's; appends go on during the
 * flight and form the next batch; the flight's records count only once
 * finished; a failed sync takes the flight off the disk and stops the
 * journal.
 */
static void
test_async_commit(void **state)
{
	const char *dir = newdir("async");
	struct journal *j;
	struct journal_stats st;
	off_t size;

	uint64_t syncs0;

	j = open_plain(dir, 0);	/* its FILE_START: a synchronous commit */
	journal_get_stats(j, &st);
	syncs0 = st.loop_syncs;
	hooks_reset();
	journal_set_io(j, &hooks);
	append_n(j, 1, 10);
	assert_int_equal(journal_commit_start(j), 0);
	assert_true(journal_commit_inflight(j));
	append_n(j, 11, 5);		/* the next batch, meanwhile */
	wait_flight(j);
	assert_false(pthread_equal(hook_sync_thread, pthread_self()));
	assert_int_equal(journal_commit_finish(j), 11);
	assert_int_equal(journal_committed_seq(j), 11);
	assert_int_equal(journal_commit_start(j), 0);
	assert_int_equal(journal_commit_wait(j), 16);
	journal_get_stats(j, &st);
	assert_int_equal(st.async_commits, 2);
	assert_int_equal(st.loop_syncs, syncs0);
	assert_int_equal(hook_syncs, 2);

	/* a failed sync: the flight's bytes go, the journal stops */
	size = file_size(file_in(dir, 1));
	append_n(j, 17, 3);
	hook_fail_sync = 1;
	log_capture(logbuf, sizeof(logbuf));
	assert_int_equal(journal_commit_start(j), 0);
	wait_flight(j);
	assert_int_equal(journal_commit_finish(j), -1);
	log_capture(NULL, 0);
	hook_fail_sync = 0;
	assert_int_equal(file_size(file_in(dir, 1)), size);
	assert_int_equal(journal_committed_seq(j), 16);
	assert_int_equal(journal_append(j, JOURNAL_DECISION, "x", 1, NULL),
	    -1);
	journal_close(j);
	j = open_plain(dir, 0);
	assert_int_equal(journal_committed_seq(j), 16);
	journal_close(j);
}

/* ---- the reader --------------------------------------------------------- */

static void
test_reader_break(void **state)
{
	const char *dir = newdir("reader");
	struct journal *j;
	struct journal_reader *r;
	struct journal_rec rec;
	const struct journal_break *b;
	const char *files[3];
	char f1[1200], f2[1200], f3[1200];
	uint64_t n = 0, badseq = 0, badoff = 0;
	int i, rc;

	j = open_plain(dir, 400);
	for (i = 0; i < 9; i++) {
		append_n(j, (uint64_t)i, 1);
		assert_true(journal_commit(j) > 0);
	}
	journal_close(j);
	assert_true(file_size(file_in(dir, 3)) > 0);

	/* Through an explicit list of files as well. */
	snprintf(f1, sizeof(f1), "%s", file_in(dir, 1));
	snprintf(f2, sizeof(f2), "%s", file_in(dir, 2));
	snprintf(f3, sizeof(f3), "%s", file_in(dir, 3));
	files[0] = f1;
	files[1] = f2;
	files[2] = f3;
	r = journal_reader_open_files(files, 3, 0);
	while ((rc = journal_reader_next(r, &rec)) == 1)
		if (strcmp(rec.file, f2) == 0 &&
		    rec.kind != JOURNAL_FILE_START && badseq == 0) {
			badseq = rec.seq;
			badoff = rec.offset;
		}
	assert_int_equal(rc, 0);
	journal_reader_close(r);
	/* Starting at the second file needs an anchor. */
	r = journal_reader_open_files(files + 1, 2, 0);
	assert_int_equal(journal_reader_next(r, &rec), -1);
	assert_non_null(strstr(journal_reader_break(r)->reason, "missing"));
	journal_reader_close(r);
	r = journal_reader_open_files(files + 1, 2, 1);
	while ((rc = journal_reader_next(r, &rec)) == 1)
		;
	assert_int_equal(rc, 0);
	journal_reader_close(r);

	flip_byte(f2, (off_t)badoff + 20);
	r = journal_reader_open(dir);
	while ((rc = journal_reader_next(r, &rec)) == 1) {
		n++;
		assert_true(rec.seq < badseq);
	}
	assert_int_equal(rc, -1);
	assert_int_equal(n, badseq - 1);
	b = journal_reader_break(r);
	assert_non_null(b);
	assert_string_equal(b->file, f2);
	assert_int_equal(b->offset, badoff);
	assert_int_equal(b->recno, badseq);
	assert_int_equal(b->torn, 0);
	assert_non_null(strstr(b->reason, "hash"));
	/* It stays at the first break. */
	assert_int_equal(journal_reader_next(r, &rec), -1);
	journal_reader_close(r);
}

/* Direct reads: every record is found where journal_append_pos() said,
 * across rotation and in archive/; a wrong place, a wrong seq or a
 * flipped byte is refused, and no reader scans the journal. */
static void
test_read_at(void **state)
{
	const char *dir = newdir("readat");
	struct journal_pos pos[40], bad;
	struct journal_rec rec;
	struct journal *j;
	uint64_t reads, scans, scans0;
	char pl[128], path[1200], path2[1300];
	uint8_t *buf;
	size_t len;
	int i, fd;

	j = open_plain(dir, 2048);
	for (i = 0; i < 40; i++) {
		len = payload_of((uint64_t)i, pl, sizeof(pl));
		assert_int_equal(journal_append_pos(j, JOURNAL_DECISION, pl,
		    len, &pos[i]), 0);
		if (i % 3 == 2)
			assert_true(journal_commit(j) > 0);
	}
	assert_true(journal_commit(j) > 0);
	journal_close(j);
	assert_true(pos[39].file > 1);		/* it rotated */

	journal_read_count(&scans0);
	reads = journal_read_count(NULL);
	for (i = 0; i < 40; i++) {
		assert_int_equal(journal_read_at(dir, &pos[i], &rec, &buf), 0);
		len = payload_of((uint64_t)i, pl, sizeof(pl));
		assert_int_equal(rec.len, len);
		assert_memory_equal(rec.payload, pl, len);
		assert_int_equal(rec.seq, pos[i].seq);
		assert_int_equal(rec.kind, JOURNAL_DECISION);
		free(buf);
	}
	assert_int_equal(journal_read_count(&scans), reads + 40);
	assert_int_equal(scans, scans0);

	/* a sealed file moved to archive/ is still read */
	snprintf(path, sizeof(path), "%s/archive", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path2, sizeof(path2), "%s/archive/journal-000001.log", dir);
	assert_int_equal(rename(file_in(dir, 1), path2), 0);
	assert_int_equal(journal_read_at(dir, &pos[0], &rec, &buf), 0);
	free(buf);
	assert_int_equal(rename(path2, file_in(dir, 1)), 0);

	/* the wrong seq, the wrong offset, a file that is not there */
	bad = pos[5];
	bad.seq++;
	assert_int_equal(journal_read_at(dir, &bad, &rec, &buf), -1);
	assert_null(buf);
	bad = pos[5];
	bad.offset += 1;
	assert_int_equal(journal_read_at(dir, &bad, &rec, &buf), -1);
	bad = pos[5];
	bad.file = 99;
	assert_int_equal(journal_read_at(dir, &bad, &rec, &buf), -1);

	/* a flipped payload byte fails the record's own hash */
	fd = open(file_in(dir, pos[5].file), O_RDWR);
	assert_true(fd != -1);
	assert_int_equal(pwrite(fd, "X", 1, (off_t)pos[5].offset +
	    JOURNAL_HEADER2_LEN + 2), 1);
	close(fd);
	assert_int_equal(journal_read_at(dir, &pos[5], &rec, &buf), -1);
	assert_int_equal(journal_read_at(dir, &pos[6], &rec, &buf), 0);
	free(buf);
}

/* Count the records a reader over dir gives from file `from` on. */
static int
count_from(const char *dir, uint32_t from, size_t last, uint64_t *first)
{
	struct journal_reader *r;
	struct journal_rec rec;
	int n = 0, got;

	r = journal_reader_open_from(dir, from, last);
	assert_non_null(r);
	while ((got = journal_reader_next(r, &rec)) == 1) {
		if (n == 0 && first != NULL)
			*first = rec.seq;
		n++;
	}
	journal_reader_close(r);
	return got == 0 ? n : -1;
}

/* Start-up reads the last files only (issue 14): damage in a sealed file
 * is the audit's to find, not a reason to read years of journal at every
 * start; sealed files may live in archive/. */
static void
test_open_tail_and_archive(void **state)
{
	const char *dir = newdir("tail");
	struct journal_params p;
	struct journal *j;
	char arch[1200], moved[1300], moved2[1300];
	uint64_t seq, first = 0;
	uint64_t scans0, scans;
	int all;

	(void)state;
	j = open_plain(dir, 2048);
	for (all = 0; all < 15; all++) {	/* a batch stays in one file */
		seq = append_n(j, 1 + 10 * (uint64_t)all, 10);
		assert_true(journal_commit(j) > 0);
	}
	journal_close(j);
	assert_true(file_size(file_in(dir, 5)) > 0);	/* it rotated */
	all = count_from(dir, 0, 0, &first);
	assert_int_equal(first, 1);

	/* the last two files, the first of them an anchor */
	assert_true(count_from(dir, 0, 2, &first) < all);
	assert_true(first > 1);
	/* from a file on: catch-up */
	assert_true(count_from(dir, 3, 0, &first) < all);

	/* damage in file 1: the tail open does not read it ... */
	flip_byte(file_in(dir, 1), 70);
	journal_params_default(&p, dir);
	p.max_file_size = 2048;
	p.open_files = 2;
	journal_read_count(&scans0);
	j = journal_open(&p);
	assert_non_null(j);
	assert_int_equal(journal_committed_seq(j), seq);
	/* (its file may be full: then a FILE_START comes first) */
	seq = append_n(j, 100, 1);
	assert_true(journal_commit(j) > 0);
	assert_int_equal(journal_committed_seq(j), seq);
	journal_close(j);
	journal_read_count(&scans);
	assert_int_equal(scans, scans0 + 1);
	/* ... the whole read still refuses it */
	expect_refusal(dir, "journal-000001.log: offset", "refusing to open");
	flip_byte(file_in(dir, 1), 70);
	all = count_from(dir, 0, 0, NULL);

	/* sealed files moved to archive/ are read in their place */
	snprintf(arch, sizeof(arch), "%s/archive", dir);
	assert_int_equal(mkdir(arch, 0700), 0);
	snprintf(moved, sizeof(moved), "%s/journal-000001.log", arch);
	snprintf(moved2, sizeof(moved2), "%s/journal-000002.log", arch);
	assert_int_equal(rename(file_in(dir, 1), moved), 0);
	assert_int_equal(rename(file_in(dir, 2), moved2), 0);
	assert_int_equal(count_from(dir, 0, 0, &first), all);
	assert_int_equal(first, 1);
	j = open_plain(dir, 2048);	/* the whole chain, archive included */
	journal_close(j);

	/* the same file twice is refused */
	assert_int_equal(link(moved2, file_in(dir, 2)), 0);
	log_capture(logbuf, sizeof(logbuf));
	assert_null(journal_reader_open_from(dir, 0, 0));
	log_capture(NULL, 0);
	assert_non_null(strstr(logbuf, "the same journal file twice"));
	assert_int_equal(unlink(file_in(dir, 2)), 0);

	/* the file still written to may not be archived */
	snprintf(moved, sizeof(moved), "%s/journal-%06d.log", arch, 6);
	for (all = 20; all > 2; all--)
		if (file_size(file_in(dir, all)) > 0)
			break;
	snprintf(moved, sizeof(moved), "%s/journal-%06d.log", arch, all);
	assert_int_equal(rename(file_in(dir, all), moved), 0);
	expect_refusal(dir, "still written to", "archive/");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_commit_read),
		cmocka_unit_test(test_single_writer),
		cmocka_unit_test(test_rotation_size),
		cmocka_unit_test(test_rotation_day),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_torn_every_offset),
		cmocka_unit_test(test_torn_variants),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_checkpoint_ec),
		cmocka_unit_test(test_checkpoint_rsa),
		cmocka_unit_test(test_disk_full_hook),
		cmocka_unit_test(test_disk_full_rlimit),
		cmocka_unit_test(test_sync_failure),
		cmocka_unit_test(test_async_commit),
		cmocka_unit_test(test_reader_break),
		cmocka_unit_test(test_read_at),
		cmocka_unit_test(test_open_tail_and_archive),
	};

	log_init("test_journal", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
