/*
 * test_model.c -- the verified message model (msg/model.c) and the
 * parser that fills it (msg/parser.c): every field survives its
 * serialisation, and a model holds facts only of a DOM that was
 * verified.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libxml/tree.h>

#include "conf/agreement.h"
#include "conf/calendar.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "msg/model.h"
#include "msg/parser.h"
#include "msg/xmlsig.h"
#include "persist/record.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"

static char		 srcdir[1024];
static char		 pki[1024];
static char		 logbuf[65536];
static accord_time_t	 now;
static struct agreement	 fr;
static struct xmlsig_signer *fr_rsa;

static int
setup(void **state)
{
	struct conf_diag d = { 0 };
	struct signing_cert *sc;
	const char *s = getenv("ACCORD_SRCDIR"), *p = getenv("ACCORD_PKI");
	char proto[1100], key[1100], cert[1100];

	(void)state;
	if (s == NULL || p == NULL) {
		print_error("ACCORD_SRCDIR and ACCORD_PKI must be set\n");
		return -1;
	}
	snprintf(srcdir, sizeof(srcdir), "%s", s);
	snprintf(pki, sizeof(pki), "%s", p);
	snprintf(proto, sizeof(proto), "%s/protocols", srcdir);
	snprintf(key, sizeof(key), "%s/fr/sign-rsa.key", pki);
	snprintf(cert, sizeof(cert), "%s/fr/sign-rsa.pem", pki);
	log_init("test_model", 1, LOG_LVL_DEBUG);
	log_capture(logbuf, sizeof(logbuf));
	if (envelope_init(proto) == -1 || xmlsig_init() == -1)
		return -1;
	memset(&fr, 0, sizeof(fr));
	snprintf(fr.country, sizeof(fr.country), "FR");
	sc = &fr.signing[fr.nsigning++];
	sc->path = strdup(cert);
	if ((sc->cert = conf_load_cert(sc->path, "test", 0, &d)) == NULL)
		return -1;
	conf_cert_sha256(sc->cert, sc->sha256);
	conf_cert_times(sc->cert, &sc->not_before, &sc->not_after);
	conf_diag_free(&d);
	now = sc->not_before + 3600;
	clock_test_set(now);
	if ((fr_rsa = xmlsig_signer_load(key, cert)) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	xmlsig_signer_free(fr_rsa);
	agreement_clear(&fr);
	xmlsig_shutdown();
	envelope_shutdown();
	log_capture(NULL, 0);
	return 0;
}

/* The example message name, created now and signed by FR (free()). */
static char *
signed_example(const char *name, size_t *len)
{
	struct envelope_error err;
	xmlDocPtr doc;
	char path[2048], ts[32], *buf, *p, *out;

	snprintf(path, sizeof(path), "%s/protocols/examples/valid/%s",
	    srcdir, name);
	assert_non_null((buf = file_read(path, 1 << 20, len)));
	clock_format_utc(now, ts, sizeof(ts));
	assert_non_null((p = strstr(buf, "2026-03-02T09:15:00Z")));
	memcpy(p, ts, strlen(ts));
	if (envelope_parse(buf, *len, NULL, &doc, &err) == -1)
		fail_msg("%s: %s", name, err.text);
	free(buf);
	assert_int_equal(xmlsig_sign(fr_rsa, doc), 0);
	assert_int_equal(envelope_serialize(doc, &out, len), 0);
	xmlFreeDoc(doc);
	return out;
}

/* a and b hold the same values, pointers' targets compared. */
static void
assert_models_equal(const struct model *a, const struct model *b)
{
	struct model x = *a, y = *b;
	size_t i;

	assert_int_equal(a->ndates, b->ndates);
	for (i = 0; i < a->ndates; i++)
		assert_memory_equal(&a->dates[i], &b->dates[i],
		    sizeof(a->dates[i]));
	assert_int_equal(a->rdv.original_len, b->rdv.original_len);
	if (a->rdv.original_len > 0)
		assert_memory_equal(a->rdv.original, b->rdv.original,
		    a->rdv.original_len);
	x.dates = y.dates = NULL;
	x.rdv.original = y.rdv.original = NULL;
	assert_memory_equal(&x, &y, sizeof(x));
}

/* Fill s (size bytes) with a string of distinct characters. */
static void
fill(char *s, size_t size, int seed)
{
	size_t i;

	for (i = 0; i + 1 < size; i++)
		s[i] = (char)('A' + (seed + (int)i) % 26);
	s[size - 1] = '\0';
}

static void
test_roundtrip_every_field(void **state)
{
	struct model m, got;
	char *buf, *p, *long3;
	size_t len, i;
	int n = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.stage = MODEL_UNSIGNED;
	m.code = AE_SIGNATURE_INVALID;
	fill(m.text, sizeof(m.text), n++);
	fill(m.sha256, sizeof(m.sha256), n++);
	fill(m.h.message_id, sizeof(m.h.message_id), n++);
	fill(m.h.case_id, sizeof(m.h.case_id), n++);
	fill(m.h.ref_to, sizeof(m.h.ref_to), n++);
	fill(m.h.from_country, sizeof(m.h.from_country), n++);
	fill(m.h.from_authority, sizeof(m.h.from_authority), n++);
	fill(m.h.to_country, sizeof(m.h.to_country), n++);
	fill(m.h.to_authority, sizeof(m.h.to_authority), n++);
	m.h.created = 1772442900;
	m.h.type = MSG_EXTENSION_REPLY;
	fill(m.h.agreement_id, sizeof(m.h.agreement_id), n++);
	m.h.procedure = ENVELOPE_PROC_ACCELERATED;
	m.h.version = 2;
	fill(m.signer_sha256, sizeof(m.signer_sha256), n++);
	fill(m.signer_subject, sizeof(m.signer_subject), n++);
	m.signer_not_before = 1700000001;
	m.signer_not_after = 1900000002;
	m.signed_at = 1772442903;
	m.reason = MODEL_REASON_OBJECTIVE;
	m.positive = 1;
	m.grounds = 3;
	m.given_transfer = 1772442904;
	m.ext_transfer_window = 1;
	m.ext_days = 14;
	m.doc_extended = 1;
	m.doc_valid_from = 20500;
	m.doc_valid_until = 20600;
	m.transfer_at = 1772442905;
	fill(m.protection, sizeof(m.protection), n++);
	m.departure_date = 20700;
	m.entry_date = 20100;
	m.passport = m.application = m.ticket = 1;
	m.criminal_offence = m.entry_illegal = 1;
	m.received_id.has = 1;
	fill(m.received_id.text, sizeof(m.received_id.text), n++);
	m.receipt_sha256.has = 1;
	fill(m.receipt_sha256.text, sizeof(m.receipt_sha256.text), n++);
	m.has_received_at = 1;
	m.received_at = 1772442906;
	m.ndeadlines = MODEL_DEADLINES_MAX;
	for (i = 0; i < MODEL_DEADLINES_MAX; i++) {
		fill(m.deadlines[i].kind, sizeof(m.deadlines[i].kind), n++);
		m.deadlines[i].due = 1772442910 + (accord_time_t)i;
	}
	m.error_code.has = 1;
	fill(m.error_code.text, sizeof(m.error_code.text), n++);
	m.error_ref.has = 1;
	fill(m.error_ref.text, sizeof(m.error_ref.text), n++);
	m.rdv_code = AE_TOO_LARGE;
	fill(m.rdv_text, sizeof(m.rdv_text), n++);
	fill(m.rdv.original_id, sizeof(m.rdv.original_id), n++);
	m.rdv.original_type = MSG_TRANSIT_REQUEST;
	m.rdv.original_len = 300;
	m.rdv.original = malloc(m.rdv.original_len + 1);
	for (i = 0; i < m.rdv.original_len; i++)
		m.rdv.original[i] = (char)(i * 7);	/* NULs and high bytes */
	m.rdv.original[m.rdv.original_len] = '\0';
	m.ndates = 3;
	m.dates = calloc(m.ndates, sizeof(*m.dates));
	for (i = 0; i < m.ndates; i++) {
		m.dates[i].kind = (enum model_date_kind)i;
		fill(m.dates[i].path, sizeof(m.dates[i].path), n++);
		fill(m.dates[i].from, sizeof(m.dates[i].from), n++);
		fill(m.dates[i].until, sizeof(m.dates[i].until), n++);
		m.dates[i].day = 19000 + (cal_day_t)i;
		m.dates[i].at = 1772442920 + (accord_time_t)i;
	}

	assert_int_equal(model_encode(&m, &buf, &len), 0);
	assert_int_equal(model_decode(buf, len, &got), 0);
	assert_models_equal(&m, &got);
	/* a model cut short, or a field too long for its array, is none */
	assert_int_equal(model_decode(buf, len / 2, &got), -1);
	model_clear(&got);
	assert_non_null((p = strstr(buf, "\"from_country\":\"")));
	p += strlen("\"from_country\":\"");
	long3 = malloc(len + 2);
	memcpy(long3, buf, (size_t)(p - buf));
	strcpy(long3 + (p - buf), "XYZ");
	strcat(long3, p + 2);
	assert_int_equal(model_decode(long3, strlen(long3), &got), -1);
	model_clear(&got);
	free(long3);
	free(buf);

	/* enumerations the engine indexes tables with stay in range */
	m.h.type = MSG_TYPE_COUNT;
	assert_int_equal(model_encode(&m, &buf, &len), 0);
	assert_int_equal(model_decode(buf, len, &got), -1);
	model_clear(&got);
	free(buf);
	m.h.type = MSG_EXTENSION_REPLY;
	m.code = AE_COUNT;
	assert_int_equal(model_encode(&m, &buf, &len), 0);
	assert_int_equal(model_decode(buf, len, &got), -1);
	model_clear(&got);
	free(buf);
	m.code = AE_SIGNATURE_INVALID;
	m.dates[1].kind = (enum model_date_kind)7;
	assert_int_equal(model_encode(&m, &buf, &len), 0);
	assert_int_equal(model_decode(buf, len, &got), -1);
	model_clear(&got);
	free(buf);
	model_clear(&m);
}

static void
test_parser_verified(void **state)
{
	struct model m, got;
	char *bytes, *buf, sha[RECORD_SHA256_HEX];
	cal_day_t birth;
	size_t len, blen, i;
	int births = 0;

	(void)state;
	bytes = signed_example("ReadmissionRequest.xml", &len);
	parser_read(bytes, len, NULL, &fr, now, &m);
	assert_int_equal(m.stage, MODEL_VERIFIED);
	assert_int_equal(m.code, AE_OK);
	record_sha256_hex(bytes, len, sha);
	assert_string_equal(m.sha256, sha);
	assert_string_equal(m.h.case_id, "FR-KZ-2026-000123");
	assert_int_equal(m.h.type, MSG_READMISSION_REQUEST);
	assert_int_equal(m.h.created, now);
	assert_string_equal(m.signer_sha256, fr.signing[0].sha256);
	assert_non_null(strstr(m.signer_subject, "CN="));
	assert_int_equal(m.signer_not_after, fr.signing[0].not_after);
	assert_int_equal(m.signed_at, now);
	assert_int_not_equal(m.reason, MODEL_REASON_NONE);
	assert_int_equal(calendar_parse_date("1991-07-14", &birth), 0);
	for (i = 0; i < m.ndates; i++)
		if (m.dates[i].kind == MODEL_DATE_BIRTH &&
		    m.dates[i].day == birth)
			births++;
	assert_int_equal(births, 1);

	assert_int_equal(model_encode(&m, &buf, &blen), 0);
	assert_int_equal(model_decode(buf, blen, &got), 0);
	assert_models_equal(&m, &got);
	model_clear(&got);
	model_clear(&m);
	free(buf);
	free(bytes);
}

/* Facts come only from a DOM that was verified. */
static void
test_parser_stages(void **state)
{
	struct model m;
	char *bytes, *p;
	size_t len;

	(void)state;
	parser_read("<Message", 8, NULL, &fr, now, &m);
	assert_int_equal(m.stage, MODEL_REFUSED);
	assert_int_equal(m.code, AE_MALFORMED);
	model_clear(&m);

	bytes = signed_example("ReadmissionRequest.xml", &len);
	assert_non_null((p = strstr(bytes, "1991-07-14")));
	p[3] = '2';	/* a birth date changed after signing */
	parser_read(bytes, len, NULL, &fr, now, &m);
	assert_int_equal(m.stage, MODEL_UNSIGNED);
	assert_int_equal(m.code, AE_SIGNATURE_INVALID);
	assert_string_equal(m.h.case_id, "FR-KZ-2026-000123");
	assert_int_equal(m.ndates, 0);
	assert_int_equal(m.reason, MODEL_REASON_NONE);
	assert_string_equal(m.signer_sha256, "");
	model_clear(&m);
	free(bytes);
}

static void
test_parser_receipt(void **state)
{
	struct model m;
	accord_time_t t;
	char *bytes;
	size_t len;

	(void)state;
	bytes = signed_example("Receipt.xml", &len);
	parser_read(bytes, len, NULL, &fr, now, &m);
	assert_int_equal(m.stage, MODEL_VERIFIED);
	assert_true(m.received_id.has);
	assert_string_equal(m.received_id.text,
	    "6f1c2a4e-8b3d-4c5e-9f10-2a3b4c5d6e7f");
	assert_true(m.receipt_sha256.has);
	assert_true(m.has_received_at);
	assert_int_equal(clock_parse_utc("2026-03-02T09:15:02Z", &t), 0);
	assert_int_equal(m.received_at, t);
	assert_int_equal(m.ndeadlines, 1);
	assert_string_equal(m.deadlines[0].kind, "Reply");
	assert_false(m.error_code.has);
	model_clear(&m);
	free(bytes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_field),
		cmocka_unit_test(test_parser_verified),
		cmocka_unit_test(test_parser_stages),
		cmocka_unit_test(test_parser_receipt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
