/*
 * test_agreement_json.c -- the agreements journalled with every
 * configuration load come back whole (conf/agreement_json.h, issue 18):
 * the shipped configuration survives JSON and back field by field, with
 * the same deadlines over two years of dates; every integer field of the
 * timelines, the programme and the retry policy survives (a field added
 * to one of those structs but not to the serialisation fails here); the
 * digest names the rules; a certificate that is not the fingerprint
 * journalled for it is refused.
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
#include <libxml/parser.h>
#include <openssl/x509.h>

#include "conf/agreement.h"
#include "conf/agreement_json.h"
#include "conf/calendar.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "testutil.h"

static char tmpdir[512];
static struct config *conf;

static int
setup(void **state)
{
	struct conf_diag d = { 0 };
	char file[1024];
	accord_time_t now;

	(void)state;
	assert_int_equal(test_workdir(tmpdir, sizeof(tmpdir), "ajson"), 0);
	now = test_pki_time(tmpdir);
	assert_true(now != 0);
	snprintf(file, sizeof(file), "%s/conf/accordd.xml", tmpdir);
	conf = config_load(file, now, &d);
	if (conf == NULL)
		conf_diag_print(&d, stderr);
	conf_diag_free(&d);
	assert_non_null(conf);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	config_free(conf);
	conf = NULL;
	assert_int_equal(test_rmtree(tmpdir), 0);
	return 0;
}

/* The first day of 2026 and two years on: the dates deadlines are
 * computed from. */
#define SPAN_FROM	20454
#define SPAN_DAYS	730

static void
same_calendar(const struct calendar *x, const struct calendar *y)
{
	accord_time_t t;
	cal_day_t day;
	int n;

	assert_string_equal(x->zone, y->zone);
	assert_int_equal(x->weekend, y->weekend);
	assert_int_equal(x->nholidays, y->nholidays);
	assert_int_equal(x->nextra_working, y->nextra_working);
	if (x->nholidays > 0)
		assert_memory_equal(x->holidays, y->holidays,
		    x->nholidays * sizeof(cal_day_t));
	if (x->nextra_working > 0)
		assert_memory_equal(x->extra_working, y->extra_working,
		    x->nextra_working * sizeof(cal_day_t));
	assert_int_equal(x->data_from, y->data_from);
	assert_int_equal(x->data_until, y->data_until);
	for (day = SPAN_FROM; day < SPAN_FROM + SPAN_DAYS; day++)
		assert_int_equal(calendar_is_working_day(x, day),
		    calendar_is_working_day(y, day));
	/* noon UTC of each day; a few periods of each kind */
	for (day = SPAN_FROM; day < SPAN_FROM + SPAN_DAYS; day += 3) {
		t = (accord_time_t)day * 86400 + 43200;
		for (n = 2; n <= 30; n += 7) {
			assert_int_equal(calendar_due_working_days(x, t, n),
			    calendar_due_working_days(y, t, n));
			assert_int_equal(calendar_due_calendar_days(x, t, n, 1),
			    calendar_due_calendar_days(y, t, n, 1));
		}
	}
}

static void
same_cert(X509 *x, X509 *y)
{
	if (x == NULL) {
		assert_null(y);
		return;
	}
	assert_non_null(y);
	assert_int_equal(X509_cmp(x, y), 0);
}

static void
same_agreement(const struct agreement *x, const struct agreement *y)
{
	accord_time_t t;
	cal_day_t day;
	int i;

	assert_string_equal(x->country, y->country);
	assert_string_equal(x->authority, y->authority);
	assert_string_equal(x->agreement_id, y->agreement_id);
	assert_string_equal(x->title, y->title);
	assert_string_equal(x->endpoint, y->endpoint);
	same_cert(x->tls_ca, y->tls_ca);
	assert_string_equal(x->tls_pin_sha256, y->tls_pin_sha256);
	assert_string_equal(x->tls_server_pin_sha256,
	    y->tls_server_pin_sha256);
	if (x->tls_subject == NULL)
		assert_null(y->tls_subject);
	else
		assert_string_equal(x->tls_subject, y->tls_subject);
	assert_int_equal(x->nsigning, y->nsigning);
	for (i = 0; i < x->nsigning; i++) {
		assert_string_equal(x->signing[i].sha256, y->signing[i].sha256);
		same_cert(x->signing[i].cert, y->signing[i].cert);
		assert_int_equal(x->signing[i].not_before,
		    y->signing[i].not_before);
		assert_int_equal(x->signing[i].not_after,
		    y->signing[i].not_after);
		assert_int_equal(x->signing[i].use_from, y->signing[i].use_from);
		assert_int_equal(x->signing[i].use_until,
		    y->signing[i].use_until);
	}
	assert_int_equal(x->crl != NULL, y->crl != NULL);
	if (x->crl != NULL)
		assert_int_equal(X509_CRL_cmp(x->crl, y->crl), 0);
	assert_int_equal(x->crl_next_update, y->crl_next_update);
	same_calendar(&x->calendar, &y->calendar);
	/* every byte: a field the serialisation forgot is 0 on one side */
	assert_memory_equal(&x->timelines, &y->timelines,
	    sizeof(x->timelines));
	assert_memory_equal(&x->programme, &y->programme,
	    sizeof(x->programme));
	assert_memory_equal(&x->retry, &y->retry, sizeof(x->retry));
	assert_int_equal(x->allowed_types, y->allowed_types);
	assert_int_equal(x->protocol_versions, y->protocol_versions);
	/* the reply period as the fsm computes it, over two years */
	for (day = SPAN_FROM; day < SPAN_FROM + SPAN_DAYS; day++) {
		t = (accord_time_t)day * 86400 + 36000;
		assert_int_equal(calendar_due_calendar_days(&x->calendar, t,
		    x->timelines.standard_reply_days,
		    x->timelines.roll_to_working_day),
		    calendar_due_calendar_days(&y->calendar, t,
		    y->timelines.standard_reply_days,
		    y->timelines.roll_to_working_day));
		assert_int_equal(calendar_due_working_days(&x->calendar, t,
		    x->timelines.urgent_working_days),
		    calendar_due_working_days(&y->calendar, t,
		    y->timelines.urgent_working_days));
	}
}

/* The shipped configuration (22 partners, CRLs, Korea's programme) to
 * JSON and back: the same agreements, the same JSON, the same digest. */
static void
test_shipped_round_trip(void **state)
{
	struct config *back;
	json_t *rules, *again;
	char err[256], d1[65], d2[65];
	int i, programmes = 0, crls = 0;

	(void)state;
	rules = agreement_json_rules(conf);
	assert_non_null(rules);
	back = agreement_json_config(rules, err, sizeof(err));
	if (back == NULL)
		fail_msg("%s", err);
	assert_string_equal(back->country, conf->country);
	same_calendar(&conf->calendar, &back->calendar);
	assert_int_equal(back->npartners, conf->npartners);
	assert_true(conf->npartners >= 20);
	for (i = 0; i < conf->npartners; i++) {
		same_agreement(&conf->partners[i], &back->partners[i]);
		assert_ptr_equal(config_partner(back,
		    conf->partners[i].country), &back->partners[i]);
		programmes += conf->partners[i].programme.present;
		crls += conf->partners[i].crl != NULL;
	}
	assert_true(programmes > 0);
	assert_true(crls > 0);
	again = agreement_json_rules(back);
	assert_true(json_equal(rules, again));
	assert_int_equal(agreement_json_digest(rules, d1), 0);
	assert_int_equal(agreement_json_digest(again, d2), 0);
	assert_string_equal(d1, d2);
	json_decref(again);
	json_decref(rules);
	config_free(back);
}

/* Every int slot of a struct (but the bytes from skip to skip + skiplen)
 * set to a distinct value that is also a plausible date (days after
 * 2024-10-04). */
static void
fill_ints(void *base, size_t size, size_t skip, size_t skiplen)
{
	size_t off;
	int v = 20000;

	for (off = 0; off + sizeof(int) <= size; off += sizeof(int)) {
		if (off >= skip && off < skip + skiplen)
			continue;
		memcpy((char *)base + off, &v, sizeof(int));
		v += 7;
	}
}

/* Every integer field of the timelines, the programme and the retry
 * policy set to its own value survives: what encode or decode leaves
 * out comes back 0. */
static void
test_every_field_survives(void **state)
{
	struct agreement a, b;
	json_t *j;
	char err[256];

	(void)state;
	assert_int_equal(agreement_json_decode(&a, NULL, err, sizeof(err)),
	    -1);
	/* start from FR's, every field of the three structs changed */
	memset(&a, 0, sizeof(a));
	a = *config_partner(conf, "FR");
	fill_ints(&a.timelines, sizeof(a.timelines), 0, 0);
	memset(&a.programme, 0, sizeof(a.programme));
	fill_ints(&a.programme, sizeof(a.programme),
	    offsetof(struct programme, name), sizeof(a.programme.name));
	a.programme.present = 1;
	snprintf(a.programme.name, sizeof(a.programme.name), "test");
	fill_ints(&a.retry, sizeof(a.retry), 0, 0);
	j = agreement_json_encode(&a);
	assert_non_null(j);
	if (agreement_json_decode(&b, j, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	same_agreement(&a, &b);
	agreement_clear(&b);
	json_decref(j);
}

/* The digest names the rules: another standard-reply-days, another
 * digest; the same rules in another key order, the same digest. */
static void
test_digest(void **state)
{
	struct agreement *fr;
	json_t *r1, *r2, *r3;
	char d1[65], d2[65], d3[65], *s;
	int saved;

	(void)state;
	r1 = agreement_json_rules(conf);
	assert_int_equal(agreement_json_digest(r1, d1), 0);
	assert_int_equal(strlen(d1), 64);
	fr = (struct agreement *)config_partner(conf, "FR");
	saved = fr->timelines.standard_reply_days;
	fr->timelines.standard_reply_days = saved - 5;
	r2 = agreement_json_rules(conf);
	fr->timelines.standard_reply_days = saved;
	assert_int_equal(agreement_json_digest(r2, d2), 0);
	assert_string_not_equal(d1, d2);
	s = json_dumps(r1, JSON_INDENT(3));	/* insertion order */
	r3 = json_loads(s, 0, NULL);
	free(s);
	assert_int_equal(agreement_json_digest(r3, d3), 0);
	assert_string_equal(d1, d3);
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
}

/* A certificate journalled under another fingerprint, a format this
 * build does not know, an unknown message type: refused. */
static void
test_refused(void **state)
{
	struct agreement a;
	json_t *j, *sig, *rules;
	char err[256];

	(void)state;
	j = agreement_json_encode(config_partner(conf, "FR"));
	sig = json_array_get(json_object_get(j, "signing"), 0);
	json_object_set_new(sig, "sha256", json_string("00000000000000000000"
	    "000000000000000000000000000000000000000000000"));
	assert_int_equal(agreement_json_decode(&a, j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "fingerprint"));
	json_decref(j);

	j = agreement_json_encode(config_partner(conf, "FR"));
	json_array_append_new(json_object_get(j, "messages"),
	    json_string("Bribe"));
	assert_int_equal(agreement_json_decode(&a, j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Bribe"));
	json_decref(j);

	rules = agreement_json_rules(conf);
	json_object_set_new(rules, "format", json_integer(99));
	assert_null(agreement_json_config(rules, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown format"));
	json_decref(rules);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_shipped_round_trip),
		T(test_every_field_survives),
		T(test_digest),
		T(test_refused),
	};

	xmlInitParser();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
