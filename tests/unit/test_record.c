/*
 * test_record.c -- journal payload codecs: random fsm_case, fsm_event and
 * decision structures survive encode and decode bit for bit, the bytes are
 * deterministic, message bodies of any bytes come back exactly, and
 * malformed payloads are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/errcode.h"
#include "fsm/fsm.h"
#include "util/log.h"
#include "persist/record.h"

#define ROUNDS	2000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static char logbuf[8192];

/* xorshift64*: reproducible, and the seed is printed on failure */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static int
rnd_below(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* Any int; edge values more often than chance would give them. */
static int
rnd_int(void)
{
	switch (rnd_below(8)) {
	case 0:
		return 0;
	case 1:
		return -1;
	case 2:
		return INT32_MIN;
	case 3:
		return INT32_MAX;
	default:
		return (int)(uint32_t)rnd();
	}
}

static int64_t
rnd_i64(void)
{
	switch (rnd_below(8)) {
	case 0:
		return 0;
	case 1:
		return INT64_MIN;
	case 2:
		return INT64_MAX;
	default:
		return (int64_t)rnd();
	}
}

/* A string of up to size - 1 characters: ASCII controls, quotes,
 * backslashes and, now and then, a two-byte UTF-8 character. */
static void
rnd_str(char *buf, size_t size)
{
	size_t n = (size_t)rnd_below((int)size), i = 0;

	memset(buf, 0, size);
	while (i < n) {
		if (rnd_below(10) == 0 && i + 2 < n) {
			buf[i++] = (char)0xc3;
			buf[i++] = (char)(0xa0 + rnd_below(16));
			continue;
		}
		buf[i++] = (char)(1 + rnd_below(127));
	}
}

static void
rnd_case(struct fsm_case *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->kind = rnd_below(FSM_KIND_COUNT);
	c->role = rnd_below(ROLE_COUNT);
	c->state = rnd_below(FSM_STATE_COUNT);
	c->resume = rnd_below(FSM_STATE_COUNT);
	c->procedure = rnd_below(2);
	c->reason = rnd_below(3);
	for (i = 0; i < FSM_DL_COUNT; i++)
		c->due[i] = rnd_i64();
	c->armed = (unsigned)rnd();
	c->deemed = rnd_int();
	c->ext_reply = rnd_below(4);
	c->ext_transfer = rnd_below(4);
	c->ident_pending = rnd_int();
	c->ident_suspended = rnd_int();
	c->ident_remaining = rnd_i64();
	c->protection_claim = rnd_int();
	c->assessment = rnd_int();
	c->assessment_risk = rnd_int();
	c->doc_valid_until = rnd_int();
	c->has_doc = rnd_int();
	c->transfer_at = rnd_i64();
	c->departure_date = rnd_int();
	c->doc_valid_from = rnd_int();
	c->ident_days = rnd_below(2);
	for (i = 0; i < FSM_DL_COUNT; i++) {
		c->period_from[i] = rnd_i64();
		c->period_days[i] = rnd_i64();
	}
}

static void
rnd_event(struct fsm_event *ev)
{
	int i;

	memset(ev, 0, sizeof(*ev));
	ev->kind = rnd_below(FSM_EV_RECORD + 1);
	ev->type = rnd_below(MSG_TYPE_COUNT);
	ev->deadline = rnd_below(FSM_DL_COUNT);
	ev->record = rnd_below(2);
	ev->created = rnd_i64();
	ev->at = rnd_i64();
	ev->procedure = rnd_below(2);
	ev->reason = rnd_below(3);
	ev->positive = rnd_int();
	ev->grounds = rnd_int();
	ev->ext_subject = rnd_below(2);
	ev->ext_days = rnd_int();
	ev->doc_extended = rnd_int();
	ev->doc_valid_from = rnd_int();
	ev->doc_valid_until = rnd_int();
	ev->transfer_at = rnd_i64();
	ev->departure_date = rnd_int();
	ev->criminal_offence = rnd_int();
	ev->entry_illegal = rnd_int();
	ev->entry_date = rnd_int();
	ev->passport = rnd_int();
	ev->application = rnd_int();
	ev->ticket = rnd_int();
	ev->risk_found = rnd_int();
	for (i = 0; i < FSM_DL_COUNT; i++)
		ev->given_due[i] = rnd_i64();
}

static void
rnd_decision(struct record_decision *rd)
{
	int i;

	memset(rd, 0, sizeof(*rd));
	rnd_str(rd->partner, sizeof(rd->partner));
	rnd_str(rd->case_id, sizeof(rd->case_id));
	rnd_str(rd->message_id, sizeof(rd->message_id));
	rd->kind = rnd_below(FSM_KIND_COUNT);
	rd->role = rnd_below(ROLE_COUNT);
	rnd_event(&rd->ev);
	rd->now = rnd_i64();
	rd->d.version = rnd_int();
	rd->d.refusal = rnd_below(AE_COUNT);
	rnd_str(rd->d.text, sizeof(rd->d.text));
	rd->d.old_state = rnd_below(FSM_STATE_COUNT);
	rd->d.new_state = rnd_below(FSM_STATE_COUNT);
	rd->d.ndlops = rnd_below(FSM_MAX_DLOPS + 1);
	for (i = 0; i < rd->d.ndlops; i++) {
		rd->d.dlops[i].which = rnd_below(FSM_DL_COUNT);
		rd->d.dlops[i].op = rnd_below(2);
		rd->d.dlops[i].due = rnd_i64();
	}
	rd->d.effects = (unsigned)rnd();
	rd->d.entry_ban_years = rnd_int();
	rnd_str(rd->d.event, sizeof(rd->d.event));
	rnd_case(&rd->d.next);
}

/* Serialise j as the journal would, parse it back. */
static json_t *
reparse(json_t *j)
{
	json_error_t err;
	char *s;
	json_t *back;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	back = json_loads(s, 0, &err);
	assert_non_null(back);
	free(s);
	return back;
}

static int
setup(void **state)
{
	log_capture(logbuf, sizeof(logbuf));
	return 0;
}

static void
test_case_roundtrip(void **state)
{
	struct fsm_case c, back;
	json_t *j, *k;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		rnd_case(&c);
		j = record_case_to_json(&c);
		k = reparse(j);
		if (record_case_from_json(k, &back) != 0)
			fail_msg("round %d: %s", r, logbuf);
		if (memcmp(&c, &back, sizeof(c)) != 0)
			fail_msg("round %d: case differs", r);
		json_decref(j);
		json_decref(k);
	}
}

/* A case journalled by fsm 1 lacks the fields fsm 2 added: it still
 * reads, with them 0; a field that was always there is still required. */
static void
test_case_without_fsm2_fields(void **state)
{
	struct fsm_case c, back;
	json_t *j;

	(void)state;
	rnd_case(&c);
	j = record_case_to_json(&c);
	assert_non_null(j);
	assert_int_equal(json_object_del(j, "doc_valid_from"), 0);
	assert_int_equal(json_object_del(j, "ident_days"), 0);
	assert_int_equal(json_object_del(j, "period_from"), 0);
	assert_int_equal(json_object_del(j, "period_days"), 0);
	memset(&back, 0xa5, sizeof(back));
	assert_int_equal(record_case_from_json(j, &back), 0);
	assert_int_equal(back.doc_valid_from, 0);
	assert_int_equal(back.ident_days, 0);
	assert_int_equal(back.period_from[FSM_DL_REPLY], 0);
	assert_int_equal(back.period_days[FSM_DL_TRANSFER], 0);
	assert_int_equal(back.due[FSM_DL_REPLY], c.due[FSM_DL_REPLY]);
	assert_int_equal(back.departure_date, c.departure_date);
	assert_int_equal(json_object_del(j, "departure_date"), 0);
	assert_int_equal(record_case_from_json(j, &back), -1);
	json_decref(j);
}

static void
test_event_roundtrip(void **state)
{
	struct fsm_event ev, back;
	json_t *j, *k;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		rnd_event(&ev);
		j = record_event_to_json(&ev);
		k = reparse(j);
		if (record_event_from_json(k, &back) != 0)
			fail_msg("round %d: %s", r, logbuf);
		if (memcmp(&ev, &back, sizeof(ev)) != 0)
			fail_msg("round %d: event differs", r);
		json_decref(j);
		json_decref(k);
	}
}

static void
test_decision_roundtrip(void **state)
{
	struct record_decision rd, back;
	char *p, *q;
	size_t len, qlen;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		rnd_decision(&rd);
		if (record_decision_encode(&rd, &p, &len) != 0)
			fail_msg("round %d: encode: %s", r, logbuf);
		assert_int_equal(strlen(p), len);
		/* compact: the only newline is the one a message adds */
		assert_null(memchr(p, '\n', len));
		if (record_decision_decode(p, len, &back) != 0)
			fail_msg("round %d: decode: %s", r, logbuf);
		if (memcmp(&rd, &back, sizeof(rd)) != 0)
			fail_msg("round %d: decision differs", r);
		/* deterministic: the decoded decision encodes to the same
		 * bytes, which the journal's hash chain depends on */
		assert_int_equal(record_decision_encode(&back, &q, &qlen), 0);
		assert_int_equal(len, qlen);
		assert_memory_equal(p, q, len);
		free(p);
		free(q);
	}
}

/* A real decision from the fsm encodes with the names the audit reads. */
static void
test_decision_names(void **state)
{
	struct record_decision rd;
	json_error_t err;
	json_t *j;
	char *p;
	size_t len;

	memset(&rd, 0, sizeof(rd));
	snprintf(rd.partner, sizeof(rd.partner), "FR");
	snprintf(rd.case_id, sizeof(rd.case_id), "FR-2025-0001");
	rd.kind = FSM_KIND_READMISSION;
	rd.role = ROLE_REQUESTING;
	rd.ev.kind = FSM_EV_RECEIPTED;
	rd.ev.type = MSG_READMISSION_REQUEST;
	rd.d.version = FSM_VERSION;
	rd.d.refusal = AE_NOT_ALLOWED_IN_STATE;
	rd.d.old_state = FSM_SUBMITTED;
	rd.d.new_state = FSM_PENDING_REPLY;
	rd.d.ndlops = 1;
	rd.d.dlops[0].which = FSM_DL_TRANSFER;
	rd.d.dlops[0].op = FSM_DLOP_CLEAR;
	rd.d.dlops[0].due = 1700000000;
	assert_int_equal(record_decision_encode(&rd, &p, &len), 0);
	j = json_loadb(p, len, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j,
	    "refusal")), "NOT_ALLOWED_IN_STATE");
	assert_string_equal(json_string_value(json_object_get(j,
	    "old_state")), "SUBMITTED");
	assert_string_equal(json_string_value(json_object_get(j,
	    "new_state")), "PENDING_REPLY");
	assert_string_equal(json_string_value(json_object_get(j, "role")),
	    "R");
	assert_int_equal(json_integer_value(json_object_get(j,
	    "fsm_version")), FSM_VERSION);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "event"), "type")), "ReadmissionRequest");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(j, "dlops"), 0), "op")), "clear");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(j, "dlops"), 0), "which")),
	    "transfer");
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(json_object_get(j, "next"), "due"), "reply")), 0);
	json_decref(j);
	free(p);
}

/* Bodies of any bytes, NUL and newline included, come back exactly. */
static void
test_message_roundtrip(void **state)
{
	struct record_message m, back;
	unsigned char body[4096];
	char *p, hex[RECORD_SHA256_HEX];
	size_t len, blen, i;
	int r;

	for (r = 0; r < 300; r++) {
		memset(&m, 0, sizeof(m));
		snprintf(m.partner, sizeof(m.partner), "FR");
		rnd_str(m.case_id, sizeof(m.case_id));
		rnd_str(m.message_id, sizeof(m.message_id));
		rnd_str(m.ref_to, sizeof(m.ref_to));
		m.type = rnd_below(MSG_TYPE_COUNT);
		m.direction = rnd_below(2);
		m.created = rnd_i64();
		m.received_at = rnd_i64();
		if ((m.has_grounds = rnd_below(2)) == 1) {
			m.ngrounds = rnd_below(RECORD_GROUNDS_MAX + 1);
			for (i = 0; i < (size_t)m.ngrounds; i++)
				rnd_str(m.grounds[i], sizeof(m.grounds[i]));
		}
		blen = (size_t)rnd_below((int)sizeof(body));
		for (i = 0; i < blen; i++)
			body[i] = (unsigned char)rnd();
		if (blen > 2) {
			body[0] = '\n';
			body[blen / 2] = '\0';
		}
		if (record_message_encode(&m, body, blen, &p, &len) != 0)
			fail_msg("round %d: %s", r, logbuf);
		if (record_message_decode(p, len, &back) != 0)
			fail_msg("round %d: %s", r, logbuf);
		assert_int_equal(back.body_len, blen);
		assert_memory_equal(back.body, body, blen);
		assert_int_equal(record_sha256_hex(body, blen, hex), 0);
		assert_string_equal(back.sha256, hex);
		/* the header, bar the pointers and the digest, is m */
		memcpy(m.sha256, hex, sizeof(hex));
		m.body = back.body;
		m.body_len = back.body_len;
		assert_memory_equal(&m, &back, sizeof(m));
		free(p);
	}
	/* FIPS 180-2's "abc", in the lower-case hex every record holds */
	assert_int_equal(record_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}

/*
 * A reply's grounds are a member of the header, "grounds": an empty list
 * is a list (a reply that refuses nothing), a record without the member
 * (one written before) has none, and a member that is no list of short
 * strings is refused.
 */
static void
test_message_grounds(void **state)
{
	struct record_message m, back;
	const char body[] = "<Message/>";
	char *p, *q, hdr[1024];
	size_t len;

	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "FR");
	snprintf(m.message_id, sizeof(m.message_id), "m-2");
	m.type = MSG_READMISSION_REPLY;
	m.has_grounds = 1;
	snprintf(m.grounds[m.ngrounds++], sizeof(m.grounds[0]), "Other");
	snprintf(m.grounds[m.ngrounds++], sizeof(m.grounds[0]),
	    "NotOwnNational");
	assert_int_equal(record_message_encode(&m, body, strlen(body), &p,
	    &len), 0);
	assert_non_null(memmem(p, len, "\"grounds\":[\"Other\",\"NotOwnNational\"]",
	    strlen("\"grounds\":[\"Other\",\"NotOwnNational\"]")));
	assert_int_equal(record_message_decode(p, len, &back), 0);
	assert_int_equal(back.has_grounds, 1);
	assert_int_equal(back.ngrounds, 2);
	assert_string_equal(back.grounds[1], "NotOwnNational");
	free(p);

	m.ngrounds = 0;
	assert_int_equal(record_message_encode(&m, body, strlen(body), &p,
	    &len), 0);
	assert_non_null(memmem(p, len, "\"grounds\":[]", 12));
	assert_int_equal(record_message_decode(p, len, &back), 0);
	assert_int_equal(back.has_grounds, 1);
	assert_int_equal(back.ngrounds, 0);
	free(p);

	/* written before grounds were journalled */
	m.has_grounds = 0;
	assert_int_equal(record_message_encode(&m, body, strlen(body), &p,
	    &len), 0);
	/* the payload is not NUL-terminated */
	assert_null(memmem(p, len, "grounds", 7));
	assert_int_equal(record_message_decode(p, len, &back), 0);
	assert_int_equal(back.has_grounds, 0);

	/* a member of the wrong shape */
	assert_non_null((q = memchr(p, '\n', len)));
	snprintf(hdr, sizeof(hdr), "%.*s,\"grounds\":\"Other\"}%.*s",
	    (int)(q - p - 1), p, (int)(len - (size_t)(q - p)), q);
	assert_int_equal(record_message_decode(hdr, strlen(hdr), &back), -1);
	assert_non_null(strstr(logbuf, "field 'grounds'"));
	free(p);
}

static void
test_message_tampered(void **state)
{
	struct record_message m, back;
	const char body[] = "<Message>\n\0bytes</Message>";
	char *p;
	size_t len;

	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "KZ");
	snprintf(m.message_id, sizeof(m.message_id), "m-1");
	m.type = MSG_TRANSFER_NOTICE;
	m.direction = RECORD_DIR_IN;
	assert_int_equal(record_message_encode(&m, body, sizeof(body), &p,
	    &len), 0);
	assert_int_equal(record_message_decode(p, len, &back), 0);
	assert_int_equal(back.body_len, sizeof(body));

	/* a flipped byte of the body no longer matches the header */
	p[len - 3] ^= 1;
	assert_int_equal(record_message_decode(p, len, &back), -1);
	assert_non_null(strstr(logbuf, "does not match its SHA-256"));
	p[len - 3] ^= 1;
	/* truncated */
	assert_int_equal(record_message_decode(p, len - 1, &back), -1);
	/* no header end at all */
	assert_int_equal(record_message_decode(p, 10, &back), -1);

	/* an empty body is a body */
	free(p);
	assert_int_equal(record_message_encode(&m, "", 0, &p, &len), 0);
	assert_int_equal(record_message_decode(p, len, &back), 0);
	assert_int_equal(back.body_len, 0);
	free(p);
}

static void
test_flat_roundtrip(void **state)
{
	struct record_deadline dl, dl2;
	struct record_msgstate ms, ms2;
	struct record_ack ack, ack2;
	struct record_pause pz, pz2;
	struct record_counted rc, rc2;
	char *p;
	size_t len;

	memset(&dl, 0, sizeof(dl));
	snprintf(dl.partner, sizeof(dl.partner), "FR");
	snprintf(dl.case_id, sizeof(dl.case_id), "C-1");
	dl.which = FSM_DL_TRANSIT_VALIDITY;
	dl.due = 1767225599;
	assert_int_equal(record_deadline_encode(&dl, &p, &len), 0);
	assert_int_equal(record_deadline_decode(p, len, &dl2), 0);
	assert_memory_equal(&dl, &dl2, sizeof(dl));
	free(p);

	memset(&ms, 0, sizeof(ms));
	snprintf(ms.partner, sizeof(ms.partner), "FR");
	snprintf(ms.message_id, sizeof(ms.message_id), "m-9");
	ms.direction = RECORD_DIR_OUT;
	ms.state = RECORD_MS_UNDELIVERED;
	snprintf(ms.reason, sizeof(ms.reason), "retry window over: \"503\"");
	ms.next_attempt = 42;
	ms.attempts = 7;
	assert_int_equal(record_msgstate_encode(&ms, &p, &len), 0);
	assert_int_equal(record_msgstate_decode(p, len, &ms2), 0);
	assert_memory_equal(&ms, &ms2, sizeof(ms));
	free(p);

	memset(&pz, 0, sizeof(pz));
	snprintf(pz.partner, sizeof(pz.partner), "DE");
	pz.paused = 1;
	assert_int_equal(record_pause_encode(&pz, &p, &len), 0);
	assert_int_equal(record_pause_decode(p, len, &pz2), 0);
	assert_memory_equal(&pz, &pz2, sizeof(pz));
	free(p);

	memset(&rc, 0, sizeof(rc));
	snprintf(rc.partner, sizeof(rc.partner), "FR");
	rc.refused = 26;
	rc.repeated = 1;
	rc.first = 1000;
	rc.last = 1050;
	rc.per_minute = 5;
	assert_int_equal(record_counted_encode(&rc, &p, &len), 0);
	assert_int_equal(record_counted_decode(p, len, &rc2), 0);
	assert_memory_equal(&rc, &rc2, sizeof(rc));
	free(p);
	/* a count is at least one */
	p = "{\"first\":1,\"last\":1,\"partner\":\"FR\",\"per_minute\":5,"
	    "\"refused\":1,\"repeated\":0,\"v\":1}";
	assert_int_equal(record_counted_decode(p, strlen(p), &rc2), 0);
	p = "{\"first\":1,\"last\":1,\"partner\":\"FR\",\"per_minute\":5,"
	    "\"refused\":0,\"repeated\":0,\"v\":1}";
	assert_int_equal(record_counted_decode(p, strlen(p), &rc2), -1);

	/* sorted keys, no whitespace, the version last but sorted in */
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.partner, sizeof(ack.partner), "FR");
	snprintf(ack.message_id, sizeof(ack.message_id), "m1");
	assert_int_equal(record_ack_encode(&ack, &p, &len), 0);
	assert_int_equal(len, strlen("{\"message_id\":\"m1\",\"partner\":"
	    "\"FR\",\"v\":1}"));
	assert_memory_equal(p, "{\"message_id\":\"m1\",\"partner\":\"FR\","
	    "\"v\":1}", len);
	assert_int_equal(record_ack_decode(p, len, &ack2), 0);
	assert_memory_equal(&ack, &ack2, sizeof(ack));
	free(p);
}

/*
 * A signature given up (SIGNATURE_VOID): its fields come back exactly,
 * the type by name; a digest that is not 64 lower-case hex digits, a
 * missing field or an unknown type is refused either way.
 */
static void
test_void_roundtrip(void **state)
{
	struct record_void rv, rv2;
	const char *good = "{\"message_id\":\"m-1\",\"partner\":\"FR\","
	    "\"reason\":\"case changed before the journal\",\"sha256\":"
	    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
	    "\"type\":\"ReadmissionRequest\",\"v\":1}";
	char *p, *bad;
	size_t len;

	memset(&rv, 0, sizeof(rv));
	snprintf(rv.partner, sizeof(rv.partner), "FR");
	rv.type = MSG_READMISSION_REQUEST;
	snprintf(rv.message_id, sizeof(rv.message_id), "m-1");
	snprintf(rv.sha256, sizeof(rv.sha256), "%s", "00112233445566778899"
	    "aabbccddeeff00112233445566778899aabbccddeeff");
	snprintf(rv.reason, sizeof(rv.reason), "case changed before the "
	    "journal");
	assert_int_equal(record_void_encode(&rv, &p, &len), 0);
	/* sorted keys, the type by name */
	assert_int_equal(len, strlen(good));
	assert_memory_equal(p, good, len);
	assert_int_equal(record_void_decode(p, len, &rv2), 0);
	assert_memory_equal(&rv, &rv2, sizeof(rv));
	free(p);

	/* refused to encode: a digest in upper case, or short */
	rv.sha256[0] = 'A';
	assert_int_equal(record_void_encode(&rv, &p, &len), -1);
	assert_null(p);
	rv.sha256[0] = '0';
	rv.sha256[63] = '\0';
	assert_int_equal(record_void_encode(&rv, &p, &len), -1);
	rv.sha256[63] = 'f';
	rv.message_id[0] = '\0';
	assert_int_equal(record_void_encode(&rv, &p, &len), -1);
	snprintf(rv.message_id, sizeof(rv.message_id), "m-1");
	memset(rv.sha256, 'a', sizeof(rv.sha256));	/* no terminating NUL */
	assert_int_equal(record_void_encode(&rv, &p, &len), -1);

	/* refused to decode: each field altered in turn */
	assert_int_equal(record_void_decode(good, strlen(good), &rv2), 0);
	bad = strdup(good);
	memcpy(strstr(bad, "00112233"), "0011223G", 8);	/* not hex */
	assert_int_equal(record_void_decode(bad, strlen(bad), &rv2), -1);
	free(bad);
	bad = strdup(good);
	memcpy(strstr(bad, "ReadmissionRequest"), "ReadmissionRequesx", 18);
	assert_int_equal(record_void_decode(bad, strlen(bad), &rv2), -1);
	free(bad);
	bad = strdup(good);
	memcpy(strstr(bad, "\"reason\""), "\"raison\"", 8);	/* missing */
	assert_int_equal(record_void_decode(bad, strlen(bad), &rv2), -1);
	free(bad);
	bad = strdup(good);
	memcpy(strstr(bad, "\"v\":1"), "\"v\":2", 5);	/* another version */
	assert_int_equal(record_void_decode(bad, strlen(bad), &rv2), -1);
	free(bad);
	p = "{\"message_id\":\"m-1\",\"partner\":\"FR\",\"reason\":\"\","
	    "\"sha256\":\"0011\",\"type\":\"ReadmissionRequest\",\"v\":1}";
	assert_int_equal(record_void_decode(p, strlen(p), &rv2), -1);

	assert_string_equal(journal_kind_name(JOURNAL_SIGNATURE_VOID),
	    "SIGNATURE_VOID");
	assert_int_equal(journal_kind_from_name("SIGNATURE_VOID"),
	    JOURNAL_SIGNATURE_VOID);
	assert_int_equal(JOURNAL_KIND_MAX, JOURNAL_SIGNATURE_VOID);
}

/* Decode p and expect a refusal naming why in the log. */
static void
refused(const char *p, const char *why)
{
	struct record_deadline dl;

	logbuf[0] = '\0';
	if (record_deadline_decode(p, strlen(p), &dl) != -1)
		fail_msg("accepted: %s", p);
	if (strstr(logbuf, why) == NULL)
		fail_msg("%s: log says %s", p, logbuf);
}

static void
test_malformed(void **state)
{
	struct record_decision rd;
	struct fsm_case c;
	struct record_ack ack;
	char *p;
	size_t len;
	json_t *j;

	refused("{\"case_id\":\"C\",\"due\":1,\"partner\":\"FR\",\"v\":2,"
	    "\"which\":\"reply\"}", "payload version");
	refused("{\"case_id\":\"C\",\"due\":1,\"partner\":\"FR\",\"v\":1}",
	    "'which'");
	refused("{\"case_id\":\"C\",\"due\":1,\"partner\":\"FR\",\"v\":1,"
	    "\"which\":\"lunch\"}", "'which'");
	refused("{\"case_id\":\"C\",\"due\":\"1\",\"partner\":\"FR\",\"v\":1,"
	    "\"which\":\"reply\"}", "'due'");
	refused("{\"case_id\":\"C\",\"due\":1,\"partner\":\"FRANCE-AND-"
	    "NAVARRE\",\"v\":1,\"which\":\"reply\"}", "'partner'");
	refused("{\"case_id\":\"C\\u0000D\",\"due\":1,\"partner\":\"FR\","
	    "\"v\":1,\"which\":\"reply\"}", "");
	refused("{\"case_id\":\"C\",\"case_id\":\"D\",\"due\":1,\"partner\":"
	    "\"FR\",\"v\":1,\"which\":\"reply\"}", "duplicate");
	refused("[1]", "not an object");
	refused("{\"case_id\":", "");

	/* out-of-range values refuse to encode: the journal must never
	 * hold a record that cannot be read back */
	memset(&rd, 0, sizeof(rd));
	rd.d.new_state = FSM_STATE_COUNT;
	assert_int_equal(record_decision_encode(&rd, &p, &len), -1);
	assert_null(p);
	memset(&rd, 0, sizeof(rd));
	rd.d.ndlops = FSM_MAX_DLOPS + 1;
	assert_int_equal(record_decision_encode(&rd, &p, &len), -1);
	memset(&c, 0, sizeof(c));
	c.ext_reply = 9;
	assert_null(record_case_to_json(&c));
	memset(&ack, 'x', sizeof(ack));	/* no terminating NUL */
	assert_int_equal(record_ack_encode(&ack, &p, &len), -1);

	/* a case with a number out of range refuses to decode */
	memset(&c, 0, sizeof(c));
	j = record_case_to_json(&c);
	assert_non_null(j);
	json_object_set_new(j, "reason", json_integer(7));
	assert_int_equal(record_case_from_json(j, &c), -1);
	json_object_set_new(j, "reason", json_integer(0));
	json_object_set_new(j, "due", json_pack("{s:I}", "breakfast",
	    (json_int_t)1));
	assert_int_equal(record_case_from_json(j, &c), -1);
	/* a deadline left out reads as 0 */
	json_object_set_new(j, "due", json_object());
	assert_int_equal(record_case_from_json(j, &c), 0);
	json_decref(j);

	/* a record's kind is its journal kind: one name table */
	assert_string_equal(journal_kind_name(JOURNAL_DECISION), "DECISION");
	assert_string_equal(journal_kind_name(JOURNAL_PARTNER_PAUSE),
	    "PARTNER_PAUSE");
	assert_string_equal(journal_kind_name(JOURNAL_REFUSALS_COUNTED),
	    "REFUSALS_COUNTED");
	assert_string_equal(journal_kind_name(99), "UNKNOWN");
	assert_int_equal(record_msg_state_from_name("DISPUTED"),
	    RECORD_MS_DISPUTED);
	assert_int_equal(record_dir_from_name("sideways"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_case_roundtrip, setup),
		cmocka_unit_test_setup(test_case_without_fsm2_fields, setup),
		cmocka_unit_test_setup(test_event_roundtrip, setup),
		cmocka_unit_test_setup(test_decision_roundtrip, setup),
		cmocka_unit_test_setup(test_decision_names, setup),
		cmocka_unit_test_setup(test_message_roundtrip, setup),
		cmocka_unit_test_setup(test_message_grounds, setup),
		cmocka_unit_test_setup(test_message_tampered, setup),
		cmocka_unit_test_setup(test_flat_roundtrip, setup),
		cmocka_unit_test_setup(test_void_roundtrip, setup),
		cmocka_unit_test_setup(test_malformed, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
