/*
 * test_audit_resync.c -- accord-audit's resynchronisation after a break in
 * the journal (issue 18): the scan for the next trustworthy record
 * boundary, and the reader resumed there, so that verify checks the
 * records after a damaged one.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit_priv.h"
#include "persist/journal.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"
#include "testutil.h"

/* 2026-03-01T12:00:00Z */
#define T0	((accord_time_t)1772366400)
#define NREC	8		/* FILE_START and 7 decisions */

static char	 base[512];
static char	 path[1100];
static uint8_t	*data;		/* the genuine file */
static size_t	 size;
static size_t	 off[NREC + 2];	/* off[seq]: where record seq starts;
				 * off[NREC + 1]: the end */

static int
setup(void **state)
{
	struct journal_params p;
	struct journal_rec rec;
	struct journal *j;
	char dir[1024], pl[128], why[256];
	size_t len, total, at = 0;
	uint64_t i;
	int torn;

	(void)state;
	assert_int_equal(test_scratch(base, sizeof(base), "resync"), 0);
	clock_test_set(T0);
	log_capture(NULL, 0);
	snprintf(dir, sizeof(dir), "%s/journal", base);
	journal_params_default(&p, dir);
	assert_non_null(j = journal_open(&p));
	for (i = 2; i <= NREC; i++) {
		len = (size_t)snprintf(pl, sizeof(pl), "{\"n\":%llu,\"text\":"
		    "\"record %llu\"}", (unsigned long long)i,
		    (unsigned long long)i);
		assert_int_equal(journal_append(j, JOURNAL_DECISION, pl, len,
		    NULL), 0);
	}
	assert_int_equal(journal_commit(j), NREC);
	journal_close(j);
	snprintf(path, sizeof(path), "%s/journal-000001.log", dir);
	assert_non_null(data = (uint8_t *)file_read(path, 1 << 20, &size));
	for (i = 1; i <= NREC; i++) {
		off[i] = at;
		assert_int_equal(journal_record_parse(data + at, size - at,
		    &rec, &total, &torn, why, sizeof(why)), 0);
		assert_int_equal(rec.seq, i);
		at += total;
	}
	off[NREC + 1] = at;
	assert_int_equal(at, size);
	return 0;
}

static int
teardown(void **state)
{

	(void)state;
	free(data);
	assert_int_equal(test_rmtree(base), 0);
	return 0;
}

/* A copy of the genuine file with ins (n bytes) put at offset at. */
static uint8_t *
with_inserted(size_t at, const void *ins, size_t n, size_t *lenp)
{
	uint8_t *b;

	b = malloc(size + n);
	assert_non_null(b);
	memcpy(b, data, at);
	memcpy(b + at, ins, n);
	memcpy(b + at + n, data + at, size - at);
	*lenp = size + n;
	return b;
}

/* Every record boundary is found from just before it. */
static void
test_scan_boundaries(void **state)
{
	size_t at;
	uint64_t seq, i;

	(void)state;
	for (i = 1; i <= NREC; i++) {
		assert_int_equal(audit_resync_scan(data, size, off[i], 1, &at,
		    &seq), 1);
		assert_int_equal(at, off[i]);
		assert_int_equal(seq, i);
		if (i > 1) {
			assert_int_equal(audit_resync_scan(data, size,
			    off[i - 1] + 1, 1, &at, &seq), 1);
			assert_int_equal(at, off[i]);
		}
	}
	assert_int_equal(audit_resync_scan(data, size, off[NREC] + 1, 1, &at,
	    &seq), 0);
}

/* A byte flipped in record 4 (its length field too): record 5 is next. */
static void
test_scan_after_damage(void **state)
{
	struct journal_rec rec;
	uint8_t *b;
	char why[256];
	size_t at, total;
	uint64_t seq;
	int torn, where;

	(void)state;
	/* in the payload, then in the length field */
	for (where = 0; where < 2; where++) {
		b = malloc(size);
		assert_non_null(b);
		memcpy(b, data, size);
		b[off[4] + (where == 0 ? JOURNAL_HEADER_LEN + 3 : 25)] ^= 0x40;
		assert_int_equal(journal_record_parse(b + off[4],
		    size - off[4], &rec, &total, &torn, why, sizeof(why)), -1);
		assert_int_equal(audit_resync_scan(b, size, off[4] + 1, 4,
		    &at, &seq), 1);
		assert_int_equal(at, off[5]);
		assert_int_equal(seq, 5);
		free(b);
	}
}

/* Garbage between records 3 and 4, even one that begins like a header,
 * is stepped over. */
static void
test_scan_garbage(void **state)
{
	uint8_t junk[100], *b;
	size_t at, len;
	uint64_t seq;

	(void)state;
	memset(junk, 0xa5, sizeof(junk));
	memcpy(junk, "AJRN\0\001\0\005", 8);
	memcpy(junk + 50, "AJRN", 4);
	b = with_inserted(off[4], junk, sizeof(junk), &len);
	assert_int_equal(audit_resync_scan(b, len, off[4], 4, &at, &seq), 1);
	assert_int_equal(at, off[4] + sizeof(junk));
	assert_int_equal(seq, 4);
	free(b);
	/* garbage to the end: nothing */
	assert_int_equal(audit_resync_scan(junk, sizeof(junk), 0, 1, &at,
	    &seq), 0);
}

/* A genuine older record copied in (as inside a payload) is no
 * boundary to resume at: its sequence number is behind. */
static void
test_scan_skips_older_copy(void **state)
{
	uint8_t *b;
	size_t at, len;
	uint64_t seq;

	(void)state;
	b = with_inserted(off[5], data + off[2], off[3] - off[2], &len);
	assert_int_equal(audit_resync_scan(b, len, off[5], 5, &at, &seq), 1);
	assert_int_equal(at, off[5] + (off[3] - off[2]));
	assert_int_equal(seq, 5);
	/* without the bound it would be taken */
	assert_int_equal(audit_resync_scan(b, len, off[5], 1, &at, &seq), 1);
	assert_int_equal(at, off[5]);
	assert_int_equal(seq, 2);
	free(b);
}

/* The reader stops at a damaged record 4; resumed, it reads 5 to the end,
 * every one with its checks. */
static void
test_resume_reads_on(void **state)
{
	struct journal_reader *r;
	struct journal_rec rec;
	struct audit_resync rs;
	const struct journal_break *b;
	char *list[2], bad[1100];
	uint8_t *copy;
	FILE *fp;
	uint64_t seen = 0, last = 0;
	int got;

	(void)state;
	snprintf(bad, sizeof(bad), "%s/damaged.log", base);
	copy = malloc(size);
	assert_non_null(copy);
	memcpy(copy, data, size);
	copy[off[4] + JOURNAL_HEADER_LEN + 3] ^= 0x40;
	assert_non_null(fp = fopen(bad, "wb"));
	assert_int_equal(fwrite(copy, 1, size, fp), size);
	assert_int_equal(fclose(fp), 0);
	free(copy);
	list[0] = bad;
	list[1] = NULL;
	assert_non_null(r = journal_reader_open_files(
	    (const char *const *)list, 1, 0));
	memset(&rs, 0, sizeof(rs));
	while ((got = journal_reader_next(r, &rec)) == 1)
		seen++;
	assert_int_equal(got, -1);
	assert_int_equal(seen, 3);
	assert_non_null(b = journal_reader_break(r));
	assert_int_equal(b->offset, off[4]);
	assert_int_equal(b->recno, 4);
	assert_int_equal(b->file_index, 0);
	assert_int_equal(audit_resync(&rs, r, list, 1, b), 0);
	assert_int_equal(rs.at_off, off[5]);
	assert_int_equal(rs.skipped, off[5] - off[4]);
	while ((got = journal_reader_next(r, &rec)) == 1) {
		seen++;
		last = rec.seq;
	}
	assert_int_equal(got, 0);
	assert_int_equal(seen, NREC - 1);
	assert_int_equal(last, NREC);
	audit_resync_free(&rs);
	journal_reader_close(r);
}

/* A record that breaks the sequence but is whole is resumed at itself:
 * records 1-3, then 6-8 (4 and 5 cut out) read 6 records. */
static void
test_resume_at_whole_record(void **state)
{
	struct journal_reader *r;
	struct journal_rec rec;
	struct audit_resync rs;
	const struct journal_break *b;
	char *list[2], cut[1100];
	FILE *fp;
	uint64_t seen = 0;
	int got, breaks = 0;

	(void)state;
	snprintf(cut, sizeof(cut), "%s/cut.log", base);
	assert_non_null(fp = fopen(cut, "wb"));
	assert_int_equal(fwrite(data, 1, off[4], fp), off[4]);
	assert_int_equal(fwrite(data + off[6], 1, size - off[6], fp),
	    size - off[6]);
	assert_int_equal(fclose(fp), 0);
	list[0] = cut;
	list[1] = NULL;
	assert_non_null(r = journal_reader_open_files(
	    (const char *const *)list, 1, 0));
	memset(&rs, 0, sizeof(rs));
	for (;;) {
		while ((got = journal_reader_next(r, &rec)) == 1)
			seen++;
		if (got == 0)
			break;
		breaks++;
		assert_non_null(b = journal_reader_break(r));
		assert_non_null(strstr(b->reason, "sequence number 6"));
		assert_int_equal(b->offset, off[4]);
		assert_int_equal(audit_resync(&rs, r, list, 1, b), 0);
		assert_int_equal(rs.at_off, off[4]);
	}
	assert_int_equal(breaks, 1);
	assert_int_equal(seen, 6);
	audit_resync_free(&rs);
	journal_reader_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_boundaries),
		cmocka_unit_test(test_scan_after_damage),
		cmocka_unit_test(test_scan_garbage),
		cmocka_unit_test(test_scan_skips_older_copy),
		cmocka_unit_test(test_resume_reads_on),
		cmocka_unit_test(test_resume_at_whole_record),
	};

	log_init("test_audit_resync", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
