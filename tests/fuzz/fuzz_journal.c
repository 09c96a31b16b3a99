/*
 * fuzz_journal.c -- the journal reader over a file it did not write: the
 * input is one journal file (journal-000001.log of a scratch directory),
 * read by journal_reader_open_files() as accord-audit reads a copy
 * (anchor allowed: the first FILE_START's previous hash is taken on
 * trust), every record it passes decoded as the store and the audit
 * decode it (persist/record.c, the journal's own payloads), and the first
 * record read again directly (journal_read_at, as timelines do), which
 * must give the same record: version, hash, payload.  Both journal
 * formats (1 and 2, journal.h) are read; the seeds hold both.
 *
 * Mutations rarely keep a record's SHA-256 right, so the decoders are
 * fuzzed on their own by fuzz_record.  With $FUZZ_RECORD_SEEDS set, each
 * record read is also written there as a fuzz_record input (run.sh makes
 * fuzz_record's seeds so from real journals).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/journal.h"
#include "persist/record.h"
#include "fuzzutil.h"

static char dir[4096], file[4200];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init("fuzz_journal");
	snprintf(dir, sizeof(dir), "%s", fuzz_scratch());
	snprintf(file, sizeof(file), "%s/journal-000001.log", dir);
	return 0;
}

/* A fuzz_record input: the kind, then the payload. */
static void
fuzz_save(const struct journal_rec *rec)
{
	const char *out = getenv("FUZZ_RECORD_SEEDS");
	char path[4096];
	uint8_t *buf;

	if (out == NULL || (buf = malloc(rec->len + 1)) == NULL)
		return;
	buf[0] = (uint8_t)rec->kind;
	memcpy(buf + 1, rec->payload, rec->len);
	snprintf(path, sizeof(path), "%s/%s-%llu", out,
	    journal_kind_name(rec->kind), (unsigned long long)rec->seq);
	(void)fuzz_write(path, buf, rec->len + 1);
	free(buf);
}

static void
fuzz_decode(const struct journal_rec *rec)
{
	union {
		struct record_message	m;
		struct record_decision	d;
		struct record_deadline	dl;
		struct record_msgstate	ms;
		struct record_ack	a;
		struct record_pause	p;
		struct record_void	v;
		struct journal_file_start fs;
		struct journal_torn_cut	tc;
		struct journal_checkpoint cp;
	} u;

	switch (rec->kind) {
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		(void)record_message_decode(rec->payload, rec->len, &u.m);
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		(void)record_decision_decode(rec->payload, rec->len, &u.d);
		break;
	case JOURNAL_DEADLINE_FIRED:
		(void)record_deadline_decode(rec->payload, rec->len, &u.dl);
		break;
	case JOURNAL_MESSAGE_STATE:
		(void)record_msgstate_decode(rec->payload, rec->len, &u.ms);
		break;
	case JOURNAL_INBOX_ACK:
		(void)record_ack_decode(rec->payload, rec->len, &u.a);
		break;
	case JOURNAL_PARTNER_PAUSE:
		(void)record_pause_decode(rec->payload, rec->len, &u.p);
		break;
	case JOURNAL_SIGNATURE_VOID:
		(void)record_void_decode(rec->payload, rec->len, &u.v);
		break;
	case JOURNAL_FILE_START:
		(void)journal_decode_file_start(rec, &u.fs);
		break;
	case JOURNAL_TORN_TAIL_CUT:
		(void)journal_decode_torn_cut(rec, &u.tc);
		break;
	case JOURNAL_CHECKPOINT:
		(void)journal_decode_checkpoint(rec, &u.cp);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *files[1] = { file };
	struct journal_reader *r;
	struct journal_rec rec;
	struct journal_pos pos;
	uint8_t *buf, first_hash[JOURNAL_HASH_LEN];
	unsigned int first_version = 0;
	size_t first_len = 0;
	int n = 0, rc;

	if (fuzz_write(file, data, size) == -1)
		abort();	/* the scratch directory went away */
	if ((r = journal_reader_open_files(files, 1, 1)) == NULL)
		return 0;
	memset(&pos, 0, sizeof(pos));
	while ((rc = journal_reader_next(r, &rec)) == 1) {
		/* the header, then the payload, in every format */
		if (rec.header == NULL || rec.hdr_len !=
		    journal_header_len(rec.version) ||
		    rec.payload != rec.header + rec.hdr_len)
			abort();
		if (n++ == 0) {
			pos.file = 1;
			pos.offset = rec.offset;
			pos.seq = rec.seq;
			first_version = rec.version;
			first_len = rec.len;
			memcpy(first_hash, rec.hash, JOURNAL_HASH_LEN);
		}
		fuzz_decode(&rec);
		fuzz_save(&rec);
	}
	if (rc == -1 && journal_reader_break(r) == NULL)
		abort();	/* a break must say where */
	journal_reader_close(r);
	if (n > 0 && journal_read_at(dir, &pos, &rec, &buf) == 0) {
		/* the file was not changed in between: the same record */
		if (rec.version != first_version || rec.len != first_len ||
		    memcmp(rec.hash, first_hash, JOURNAL_HASH_LEN) != 0 ||
		    rec.payload[rec.len] != '\0')
			abort();
		free(buf);
	}
	return 0;
}
