/*
 * fuzz_record.c -- the decoders of journal payloads without the journal's
 * hashes in the way: the input's first byte is a journal kind (enum
 * journal_kind, taken modulo the kinds and two more), the rest the
 * payload.  Each kind goes to the decoder the store and the audit use for
 * it (persist/record.c record_*_decode, journal_decode_* of the journal's
 * own records); the two extra selectors load the payload as JSON and read
 * it with record_case_from_json and record_event_from_json.  Seeds:
 * the records of real journals (fuzz_journal with $FUZZ_RECORD_SEEDS).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsm/fsm.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "fuzzutil.h"

#define FUZZ_CASE	(JOURNAL_KIND_MAX + 1)
#define FUZZ_EVENT	(JOURNAL_KIND_MAX + 2)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init("fuzz_record");
	return 0;
}

static void
fuzz_json(int which, const char *p, size_t len)
{
	struct fsm_case c;
	struct fsm_event ev;
	json_t *j;

	if ((j = json_loadb(p, len, 0, NULL)) == NULL)
		return;
	if (which == FUZZ_CASE)
		(void)record_case_from_json(j, &c);
	else
		(void)record_event_from_json(j, &ev);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
	struct journal_rec rec;
	const uint8_t *p;
	size_t len;
	int kind;

	if (size == 0)
		return 0;
	kind = data[0] % (JOURNAL_KIND_MAX + 3);
	/* libFuzzer's buffer ends where the input does: a decoder reading
	 * past the payload is caught by ASan */
	len = size - 1;
	p = data + 1;
	memset(&rec, 0, sizeof(rec));
	rec.kind = kind;
	rec.version = JOURNAL_VERSION;
	rec.payload = p;
	rec.len = len;
	switch (kind) {
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		(void)record_message_decode(p, len, &u.m);
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		(void)record_decision_decode(p, len, &u.d);
		break;
	case JOURNAL_DEADLINE_FIRED:
		(void)record_deadline_decode(p, len, &u.dl);
		break;
	case JOURNAL_MESSAGE_STATE:
		(void)record_msgstate_decode(p, len, &u.ms);
		break;
	case JOURNAL_INBOX_ACK:
		(void)record_ack_decode(p, len, &u.a);
		break;
	case JOURNAL_PARTNER_PAUSE:
		(void)record_pause_decode(p, len, &u.p);
		break;
	case JOURNAL_SIGNATURE_VOID:
		(void)record_void_decode(p, len, &u.v);
		break;
	case JOURNAL_FILE_START:
		(void)journal_decode_file_start(&rec, &u.fs);
		break;
	case JOURNAL_TORN_TAIL_CUT:
		(void)journal_decode_torn_cut(&rec, &u.tc);
		break;
	case JOURNAL_CHECKPOINT:
		(void)journal_decode_checkpoint(&rec, &u.cp);
		break;
	case FUZZ_CASE:
	case FUZZ_EVENT:
		fuzz_json(kind, (const char *)p, len);
		break;
	default:
		break;
	}
	return 0;
}
