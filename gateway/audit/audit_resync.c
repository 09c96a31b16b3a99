/*
 * audit_resync.c -- after a break in the journal, where reading goes on:
 * an audit reports every break, not only the first, and checks the
 * records after each (issue 18).
 *
 * The journal reader stops at a break; this finds the next record
 * boundary it can trust and resumes the reader there
 * (journal_reader_resume()), which takes that record as an anchor.  The
 * heuristic works on whole records as journal_record_parse() decodes them,
 * not on the format's bytes, so that another format needs no change here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_priv.h"
#include "persist/journal.h"
#include "util/file.h"
#include "util/log.h"

/* A journal file may exceed the rotation size by one batch; a file that
 * is larger than this is not rescanned (reading goes on at the next). */
#define AUDIT_RESYNC_MAX	((size_t)1 << 32)

/*
 * The next plausible record of data (size bytes) at or after from: a
 * place where journal_record_parse() finds a whole record, header and
 * length within the file and its own SHA-256 matching, whose sequence
 * number is at least min_seq.
 *
 * Why this is safe enough: a match needs 32 bytes of SHA-256 over the
 * header and payload to agree, which damaged or random bytes do not do
 * by chance.  What can match is a genuine record -- the one after the
 * damaged one, or a record copied inside another's payload; the latter
 * would carry an older sequence number, which min_seq (the record number
 * the reader expected at the break) rules out.  Every byte offset is
 * tried, not only those after the damaged record's length field, as the
 * length itself may be what is damaged.
 * @return 1 with *at and *seq, or 0 when the rest of data holds none.
 */
int
audit_resync_scan(const uint8_t *data, size_t size, size_t from,
    uint64_t min_seq, size_t *at, uint64_t *seq)
{
	struct journal_rec rec;
	const uint8_t *p;
	char why[256];
	size_t total;
	int torn;

	while (from < size) {
		p = memchr(data + from, 'A', size - from);
		if (p == NULL)
			break;
		from = (size_t)(p - data);
		if (journal_record_parse(p, size - from, &rec, &total, &torn,
		    why, sizeof(why)) == 0 && rec.seq >= min_seq) {
			*at = from;
			*seq = rec.seq;
			return 1;
		}
		from++;
	}
	return 0;
}

void
audit_resync_free(struct audit_resync *rs)
{
	free(rs->data);
	memset(rs, 0, sizeof(*rs));
}

/* The bytes of list[i], kept while breaks are in that file. */
static int
audit_resync_load(struct audit_resync *rs, char **list, size_t i)
{
	if (rs->data != NULL && rs->file == i)
		return 0;
	free(rs->data);
	rs->data = (uint8_t *)file_read(list[i], AUDIT_RESYNC_MAX, &rs->size);
	rs->file = i;
	if (rs->data == NULL) {
		log_warnx(ATAG, "%s: %s", list[i], strerror(errno));
		return -1;
	}
	return 0;
}

int
audit_resync(struct audit_resync *rs, struct journal_reader *r, char **list,
    size_t n, const struct journal_break *b)
{
	struct journal_rec rec;
	char why[256];
	size_t i = b->file_index, at, total;
	uint64_t seq;
	int torn, found = 0;

	if (b->torn)		/* the end of the last file: nothing after */
		return -1;
	if (audit_resync_load(rs, list, i) == 0) {
		/* A whole record where the reader stopped: the break is
		 * about its place (chain, sequence, a missing file before
		 * it), not its bytes.  Take it as the new anchor -- once: if
		 * it breaks again there, it is the record itself. */
		if (!(rs->resumed && rs->at_file == i &&
		    rs->at_off == b->offset) && b->offset < rs->size &&
		    journal_record_parse(rs->data + b->offset,
		    rs->size - b->offset, &rec, &total, &torn, why,
		    sizeof(why)) == 0) {
			at = (size_t)b->offset;
			found = 1;
		} else
			found = audit_resync_scan(rs->data, rs->size,
			    (size_t)b->offset + 1, b->recno, &at, &seq);
	}
	if (!found) {
		/* nothing trustworthy left in this file: the next one */
		if (++i >= n)
			return -1;
		at = 0;
	}
	rs->resumed = 1;
	rs->at_file = i;
	rs->at_off = at;
	if (i != b->file_index || at != b->offset)
		rs->count++;
	rs->skipped += i == b->file_index ? at - b->offset :
	    (rs->size > b->offset ? rs->size - b->offset : 0);
	return journal_reader_resume(r, i, at);
}
