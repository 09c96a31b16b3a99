/*
 * agreement_json.c -- the agreements in force as canonical JSON, and back
 * (see agreement_json.h).
 *
 * The integer fields of the timelines, the programme and the retry
 * policy are tables of (name, offset): encoding and decoding walk the
 * same table, so a field is either in both directions or in neither, and
 * the round-trip test (tests/unit/test_agreement_json.c) fails for a
 * field added to a struct but not to its table.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf/agreement_json.h"
#include "conf/conffile.h"
#include "util/hex.h"
#include "util/xmalloc.h"

/* An int field of a struct, under its name in the agreement file. */
struct aj_field {
	const char	*name;
	size_t		 off;
	int		 date;	/* a cal_day_t, written "YYYY-MM-DD" */
};

#define TL(n, f)	{ n, offsetof(struct timelines, f), 0 }
static const struct aj_field aj_timelines[] = {
	TL("urgent-working-days", urgent_working_days),
	TL("standard-reply-days", standard_reply_days),
	TL("extension-min-days", extension_min_days),
	TL("extension-max-days", extension_max_days),
	TL("identification-suspends", identification_suspends),
	TL("transfer-window-days", transfer_window_days),
	TL("transfer-extension-max-days", transfer_extension_max_days),
	TL("advance-notice-working-days", advance_notice_working_days),
	TL("travel-document-min-validity-months",
	    travel_doc_min_validity_months),
	TL("travel-document-extension-min-months",
	    travel_doc_extension_min_months),
	TL("travel-document-extension-max-months",
	    travel_doc_extension_max_months),
	TL("transit-reply-days", transit_reply_days),
	TL("transit-validity-days", transit_validity_days),
	TL("silence-means-consent", silence_means_consent),
	TL("roll-to-working-day", roll_to_working_day),
	TL("entry-ban-years", entry_ban_years),
};
#undef TL

#define PG(n, f, d)	{ n, offsetof(struct programme, f), d }
static const struct aj_field aj_programme[] = {
	PG("window-from", window_from, 1),
	PG("window-until", window_until, 1),
	PG("notice-min-days", notice_min_days, 0),
	PG("notice-max-days", notice_max_days, 0),
	PG("exclude-criminal-offences", exclude_criminal_offences, 0),
	PG("exclude-illegal-entry", exclude_illegal_entry, 0),
	PG("illegal-entry-after", illegal_entry_after, 1),
	PG("requires-passport", requires_passport, 0),
	PG("requires-application", requires_application, 0),
	PG("requires-ticket", requires_ticket, 0),
};
#undef PG

#define RT(n, f)	{ n, offsetof(struct retry_policy, f), 0 }
static const struct aj_field aj_retry[] = {
	RT("window-seconds", window_seconds),
	RT("initial-backoff-seconds", initial_backoff_seconds),
	RT("max-backoff-seconds", max_backoff_seconds),
	RT("alert-after-seconds", alert_after_seconds),
};
#undef RT

#define AJ_N(t)	(sizeof(t) / sizeof((t)[0]))

/* ---- encoding ---------------------------------------------------------- */

/* A date as "YYYY-MM-DD"; a day no four-digit year can write (an unset
 * range's sentinel) stays a number. */
static json_t *
aj_date(cal_day_t day)
{
	char buf[16];

	calendar_format_date(day, buf, sizeof(buf));
	if (strcmp(buf, "invalid") == 0)
		return json_integer(day);
	return json_string(buf);
}

static json_t *
aj_fields(const void *base, const struct aj_field *t, size_t n)
{
	json_t *o = json_object();
	const int *v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = (const int *)((const char *)base + t[i].off);
		json_object_set_new(o, t[i].name, t[i].date ? aj_date(*v) :
		    json_integer(*v));
	}
	return o;
}

static json_t *
aj_days(const cal_day_t *v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, aj_date(v[i]));
	return a;
}

/* The retention periods as the agreement file writes them ("5y"). */
static json_t *
aj_retention(const struct retention *r)
{
	char f[RETENTION_TEXT_MAX], o[RETENTION_TEXT_MAX];

	return json_pack("{s:s, s:s}", "after-final",
	    retention_format(&r->after_final, f, sizeof(f)), "never-closed",
	    retention_format(&r->never_closed, o, sizeof(o)));
}

static json_t *
aj_calendar(const struct calendar *cal)
{
	json_t *o, *we;
	int d;

	we = json_array();
	for (d = 0; d < 7; d++)
		if (cal->weekend & (1u << d))
			json_array_append_new(we, json_integer(d));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "zone", cal->zone,
	    "weekend", we, "holidays", aj_days(cal->holidays, cal->nholidays),
	    "extra-working", aj_days(cal->extra_working, cal->nextra_working),
	    "data-from", aj_date(cal->data_from), "data-until",
	    aj_date(cal->data_until));
	return o;
}

/* The PEM text of what write() writes, or NULL. */
static json_t *
aj_pem(int (*write)(BIO *, const void *), const void *obj)
{
	BIO *b;
	char *p;
	long n;
	json_t *s = NULL;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (write(b, obj) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		s = json_stringn(p, (size_t)n);
	BIO_free(b);
	return s;
}

static int
aj_write_x509(BIO *b, const void *x)
{
	return PEM_write_bio_X509(b, (X509 *)x);
}

static int
aj_write_crl(BIO *b, const void *x)
{
	return PEM_write_bio_X509_CRL(b, (X509_CRL *)x);
}

static json_t *
aj_subject(X509 *x)
{
	BIO *b;
	char *p;
	long n;
	json_t *s = NULL;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_get_mem_data(b, &p)) >= 0)
		s = json_stringn(p, (size_t)n);
	BIO_free(b);
	return s;
}

/* A certificate: fingerprint, subject, PEM; null for none. */
static json_t *
aj_cert(X509 *x)
{
	char fp[65];

	if (x == NULL)
		return json_null();
	conf_cert_sha256(x, fp);
	return json_pack("{s:s, s:o, s:o}", "sha256", fp, "subject",
	    aj_subject(x), "pem", aj_pem(aj_write_x509, x));
}

json_t *
agreement_json_encode(const struct agreement *a)
{
	json_t *o, *tls, *sig, *s, *types, *vers, *crl, *prog;
	int i;

	tls = json_pack("{s:o, s:s, s:s, s:o}", "ca", aj_cert(a->tls_ca),
	    "client-pin", a->tls_pin_sha256, "server-pin",
	    a->tls_server_pin_sha256, "client-subject", a->tls_subject != NULL ?
	    json_string(a->tls_subject) : json_null());
	sig = json_array();
	for (i = 0; i < a->nsigning; i++) {
		s = aj_cert(a->signing[i].cert);
		if (!json_is_object(s)) {
			/* unreadable when loaded: the fingerprint alone */
			json_decref(s);
			s = json_pack("{s:s}", "sha256", a->signing[i].sha256);
		}
		json_object_set_new(s, "not-before",
		    json_integer(a->signing[i].not_before));
		json_object_set_new(s, "not-after",
		    json_integer(a->signing[i].not_after));
		json_object_set_new(s, "use-from",
		    json_integer(a->signing[i].use_from));
		json_object_set_new(s, "use-until",
		    json_integer(a->signing[i].use_until));
		json_array_append_new(sig, s);
	}
	crl = a->crl == NULL ? json_null() : json_pack("{s:o, s:I}", "pem",
	    aj_pem(aj_write_crl, a->crl), "next-update",
	    (json_int_t)a->crl_next_update);
	types = json_array();
	for (i = 0; i < MSG_TYPE_COUNT; i++)
		if (a->allowed_types & (1u << i))
			json_array_append_new(types,
			    json_string(agreement_msg_type_name(i)));
	vers = json_array();
	for (i = AGREEMENT_PROTO_MIN; i <= AGREEMENT_PROTO_MAX; i++)
		if (a->protocol_versions & (1u << i))
			json_array_append_new(vers, json_integer(i));
	prog = json_null();
	if (a->programme.present) {
		json_decref(prog);
		prog = aj_fields(&a->programme, aj_programme,
		    AJ_N(aj_programme));
		json_object_set_new(prog, "name",
		    json_string(a->programme.name));
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:o, s:o, s:o}", "country", a->country, "authority",
	    a->authority, "id", a->agreement_id, "title", a->title, "endpoint",
	    a->endpoint != NULL ? a->endpoint : "", "tls", tls, "signing", sig,
	    "crl", crl, "calendar", aj_calendar(&a->calendar), "timelines",
	    aj_fields(&a->timelines, aj_timelines, AJ_N(aj_timelines)),
	    "messages", types, "protocol-versions", vers, "retry",
	    aj_fields(&a->retry, aj_retry, AJ_N(aj_retry)), "programme", prog,
	    "retention", aj_retention(&a->retention));
	return o;
}

json_t *
agreement_json_rules(const struct config *c)
{
	json_t *partners, *p;
	int i;

	partners = json_array();
	for (i = 0; i < c->npartners; i++) {
		if ((p = agreement_json_encode(&c->partners[i])) == NULL) {
			json_decref(partners);
			return NULL;
		}
		json_array_append_new(partners, p);
	}
	return json_pack("{s:i, s:s, s:o, s:o}", "format",
	    AGREEMENT_JSON_FORMAT, "country", c->country, "calendar",
	    aj_calendar(&c->calendar), "partners", partners);
}

int
agreement_json_digest(const json_t *rules, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	char *s;
	int rc;

	if ((s = json_dumps(rules, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return -1;
	rc = EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
	free(s);
	if (rc != 1)
		return -1;
	hex_encode(md, sizeof(md), hex);
	return 0;
}

/* ---- decoding ---------------------------------------------------------- */

static int
aj_fail(char *err, size_t len, const char *fmt, const char *what)
{
	snprintf(err, len, fmt, what);
	return -1;
}

static int
aj_read_date(const json_t *v, cal_day_t *out)
{
	if (json_is_integer(v)) {
		*out = (cal_day_t)json_integer_value(v);
		return 0;
	}
	return calendar_parse_date(json_string_value(v), out);
}

static int
aj_read_fields(void *base, const struct aj_field *t, size_t n,
    const json_t *o, char *err, size_t len)
{
	const json_t *v;
	int *p;
	size_t i;

	if (!json_is_object(o))
		return aj_fail(err, len, "%s: not an object", t[0].name);
	for (i = 0; i < n; i++) {
		v = json_object_get(o, t[i].name);
		p = (int *)((char *)base + t[i].off);
		if (t[i].date) {
			if (aj_read_date(v, p) == -1)
				return aj_fail(err, len, "%s: not a date",
				    t[i].name);
		} else if (json_is_integer(v))
			*p = (int)json_integer_value(v);
		else
			return aj_fail(err, len, "%s: not an integer",
			    t[i].name);
	}
	return 0;
}

static int
aj_read_days(const json_t *a, cal_day_t **v, int *n)
{
	const json_t *d;
	size_t i;

	*v = NULL;
	*n = 0;
	if (!json_is_array(a))
		return -1;
	if (json_array_size(a) == 0)
		return 0;
	*v = xcalloc(json_array_size(a), sizeof(**v));
	json_array_foreach(a, i, d) {
		if (aj_read_date(d, &(*v)[i]) == -1)
			return -1;
		(*n)++;
	}
	return 0;
}

static int
aj_read_calendar(struct calendar *cal, const json_t *o, char *err,
    size_t len)
{
	const json_t *d;
	const char *zone;
	size_t i;

	memset(cal, 0, sizeof(*cal));
	if (!json_is_object(o))
		return aj_fail(err, len, "%s: not an object", "calendar");
	zone = json_string_value(json_object_get(o, "zone"));
	if (zone == NULL || strlen(zone) >= sizeof(cal->zone))
		return aj_fail(err, len, "calendar: %s", "no zone");
	snprintf(cal->zone, sizeof(cal->zone), "%s", zone);
	if (!json_is_array(json_object_get(o, "weekend")))
		return aj_fail(err, len, "calendar: %s", "no weekend");
	json_array_foreach(json_object_get(o, "weekend"), i, d) {
		if (!json_is_integer(d) || json_integer_value(d) < 0 ||
		    json_integer_value(d) > 6)
			return aj_fail(err, len, "calendar: %s",
			    "a weekend day is not 0 to 6");
		cal->weekend |= 1u << json_integer_value(d);
	}
	if (aj_read_days(json_object_get(o, "holidays"), &cal->holidays,
	    &cal->nholidays) == -1 || aj_read_days(json_object_get(o,
	    "extra-working"), &cal->extra_working, &cal->nextra_working) ==
	    -1)
		return aj_fail(err, len, "calendar: %s", "a bad date list");
	if (aj_read_date(json_object_get(o, "data-from"), &cal->data_from) ==
	    -1 || aj_read_date(json_object_get(o, "data-until"),
	    &cal->data_until) == -1)
		return aj_fail(err, len, "calendar: %s", "a bad data range");
	return 0;
}

static X509 *
aj_read_x509(const json_t *o, char *fp)
{
	const char *pem = json_string_value(json_object_get(o, "pem"));
	const char *want = json_string_value(json_object_get(o, "sha256"));
	X509 *x;
	BIO *b;

	if (pem == NULL || want == NULL ||
	    (b = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL) {
		ERR_clear_error();
		return NULL;
	}
	/* the fingerprint journalled must be the certificate's */
	conf_cert_sha256(x, fp);
	if (strcmp(fp, want) != 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
aj_read_signing(struct agreement *a, const json_t *arr, char *err,
    size_t len)
{
	struct signing_cert *sc;
	const json_t *o;
	const char *fp;
	json_int_t t[4];
	const char *tn[4] = { "not-before", "not-after", "use-from",
	    "use-until" };
	size_t i;
	int k;

	if (!json_is_array(arr) || json_array_size(arr) > AGREEMENT_MAX_SIGNING)
		return aj_fail(err, len, "%s: not an array of at most 8",
		    "signing");
	json_array_foreach(arr, i, o) {
		sc = &a->signing[a->nsigning++];
		sc->path = xstrdup("(journal)");
		for (k = 0; k < 4; k++) {
			if (!json_is_integer(json_object_get(o, tn[k])))
				return aj_fail(err, len, "signing: no %s",
				    tn[k]);
			t[k] = json_integer_value(json_object_get(o, tn[k]));
		}
		sc->not_before = t[0];
		sc->not_after = t[1];
		sc->use_from = t[2];
		sc->use_until = t[3];
		if (json_object_get(o, "pem") != NULL) {
			if ((sc->cert = aj_read_x509(o, sc->sha256)) == NULL)
				return aj_fail(err, len, "signing: %s",
				    "a certificate that does not read or does "
				    "not match its fingerprint");
		} else if ((fp = json_string_value(json_object_get(o,
		    "sha256"))) != NULL && strlen(fp) == 64)
			snprintf(sc->sha256, sizeof(sc->sha256), "%s", fp);
		else
			return aj_fail(err, len, "signing: %s",
			    "no fingerprint");
	}
	return 0;
}

static int
aj_read_tls(struct agreement *a, const json_t *o, char *err, size_t len)
{
	const json_t *ca = json_object_get(o, "ca");
	const char *s;
	char fp[65];

	if (!json_is_object(o))
		return aj_fail(err, len, "%s: not an object", "tls");
	if (json_is_object(ca)) {
		if ((a->tls_ca = aj_read_x509(ca, fp)) == NULL)
			return aj_fail(err, len, "tls: %s", "the CA "
			    "certificate does not read or does not match its "
			    "fingerprint");
		a->tls_ca_path = xstrdup("(journal)");
	}
	if ((s = json_string_value(json_object_get(o, "client-pin"))) ==
	    NULL || strlen(s) >= sizeof(a->tls_pin_sha256))
		return aj_fail(err, len, "tls: %s", "no client-pin");
	snprintf(a->tls_pin_sha256, sizeof(a->tls_pin_sha256), "%s", s);
	if ((s = json_string_value(json_object_get(o, "server-pin"))) ==
	    NULL || strlen(s) >= sizeof(a->tls_server_pin_sha256))
		return aj_fail(err, len, "tls: %s", "no server-pin");
	snprintf(a->tls_server_pin_sha256, sizeof(a->tls_server_pin_sha256),
	    "%s", s);
	if ((s = json_string_value(json_object_get(o, "client-subject"))) !=
	    NULL)
		a->tls_subject = xstrdup(s);
	return 0;
}

static int
aj_read_crl(struct agreement *a, const json_t *o, char *err, size_t len)
{
	const char *pem;
	BIO *b;

	if (json_is_null(o) || o == NULL)
		return 0;
	pem = json_string_value(json_object_get(o, "pem"));
	if (pem == NULL || !json_is_integer(json_object_get(o,
	    "next-update")) || (b = BIO_new_mem_buf(pem, -1)) == NULL)
		return aj_fail(err, len, "%s: no PEM or next-update", "crl");
	a->crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
	BIO_free(b);
	if (a->crl == NULL) {
		ERR_clear_error();
		return aj_fail(err, len, "%s: does not read", "crl");
	}
	a->crl_path = xstrdup("(journal)");
	a->crl_next_update = json_integer_value(json_object_get(o,
	    "next-update"));
	return 0;
}

/* The strings and lists of an agreement. */
static int
aj_read_head(struct agreement *a, const json_t *j, char *err, size_t len)
{
	const struct {
		const char	*key;
		char		*buf;
		size_t		 size;
	} s[] = {
		{ "country", a->country, sizeof(a->country) },
		{ "authority", a->authority, sizeof(a->authority) },
		{ "id", a->agreement_id, sizeof(a->agreement_id) },
		{ "title", a->title, sizeof(a->title) },
	};
	const json_t *v;
	const char *str;
	size_t i;
	int t;

	for (i = 0; i < AJ_N(s); i++) {
		str = json_string_value(json_object_get(j, s[i].key));
		if (str == NULL || strlen(str) >= s[i].size)
			return aj_fail(err, len, "no %s", s[i].key);
		snprintf(s[i].buf, s[i].size, "%s", str);
	}
	if ((str = json_string_value(json_object_get(j, "endpoint"))) == NULL)
		return aj_fail(err, len, "no %s", "endpoint");
	a->endpoint = xstrdup(str);
	if (!json_is_array(json_object_get(j, "messages")))
		return aj_fail(err, len, "no %s", "messages");
	json_array_foreach(json_object_get(j, "messages"), i, v) {
		if ((t = agreement_msg_type_from_name(json_string_value(v))) <
		    0)
			return aj_fail(err, len, "unknown message type %s",
			    json_string_value(v) ? json_string_value(v) : "?");
		a->allowed_types |= 1u << t;
	}
	if (!json_is_array(json_object_get(j, "protocol-versions")))
		return aj_fail(err, len, "no %s", "protocol-versions");
	json_array_foreach(json_object_get(j, "protocol-versions"), i, v) {
		if (!json_is_integer(v) ||
		    json_integer_value(v) < AGREEMENT_PROTO_MIN ||
		    json_integer_value(v) > AGREEMENT_PROTO_MAX)
			return aj_fail(err, len, "%s: a version this build "
			    "does not speak", "protocol-versions");
		a->protocol_versions |= 1u << json_integer_value(v);
	}
	return 0;
}

int
agreement_json_decode(struct agreement *a, const json_t *j, char *err,
    size_t errlen)
{
	const json_t *p;
	const char *name;

	memset(a, 0, sizeof(*a));
	a->file = xstrdup("(journal)");
	if (!json_is_object(j)) {
		aj_fail(err, errlen, "%s: not an object", "agreement");
		goto fail;
	}
	if (aj_read_head(a, j, err, errlen) == -1 ||
	    aj_read_tls(a, json_object_get(j, "tls"), err, errlen) == -1 ||
	    aj_read_signing(a, json_object_get(j, "signing"), err,
	    errlen) == -1 ||
	    aj_read_crl(a, json_object_get(j, "crl"), err, errlen) == -1 ||
	    aj_read_calendar(&a->calendar, json_object_get(j, "calendar"),
	    err, errlen) == -1 ||
	    aj_read_fields(&a->timelines, aj_timelines, AJ_N(aj_timelines),
	    json_object_get(j, "timelines"), err, errlen) == -1 ||
	    aj_read_fields(&a->retry, aj_retry, AJ_N(aj_retry),
	    json_object_get(j, "retry"), err, errlen) == -1)
		goto fail;
	/* rules journalled before retention was configurable: the
	 * defaults were in force (nothing was erased by schedule) */
	retention_default(&a->retention);
	p = json_object_get(j, "retention");
	if (p != NULL && (!json_is_object(p) ||
	    retention_parse(json_string_value(json_object_get(p,
	    "after-final")), &a->retention.after_final) == -1 ||
	    retention_parse(json_string_value(json_object_get(p,
	    "never-closed")), &a->retention.never_closed) == -1)) {
		aj_fail(err, errlen, "%s: not two periods", "retention");
		goto fail;
	}
	p = json_object_get(j, "programme");
	if (json_is_object(p)) {
		a->programme.present = 1;
		name = json_string_value(json_object_get(p, "name"));
		if (name == NULL || strlen(name) >= sizeof(a->programme.name)) {
			aj_fail(err, errlen, "%s: no name", "programme");
			goto fail;
		}
		snprintf(a->programme.name, sizeof(a->programme.name), "%s",
		    name);
		if (aj_read_fields(&a->programme, aj_programme,
		    AJ_N(aj_programme), p, err, errlen) == -1)
			goto fail;
	} else if (!json_is_null(p)) {
		aj_fail(err, errlen, "%s: neither an object nor null",
		    "programme");
		goto fail;
	}
	return 0;
fail:
	agreement_clear(a);
	return -1;
}

struct config *
agreement_json_config(const json_t *rules, char *err, size_t errlen)
{
	struct config *c;
	const json_t *p;
	const char *cc;
	char why[256];
	size_t i;

	if (!json_is_object(rules) || json_integer_value(json_object_get(rules,
	    "format")) != AGREEMENT_JSON_FORMAT) {
		snprintf(err, errlen, "rules of an unknown format (this build "
		    "reads format %d)", AGREEMENT_JSON_FORMAT);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup("(journal)");
	if ((cc = json_string_value(json_object_get(rules, "country"))) ==
	    NULL || strlen(cc) != 2) {
		snprintf(err, errlen, "rules: no country");
		goto fail;
	}
	snprintf(c->country, sizeof(c->country), "%s", cc);
	if (aj_read_calendar(&c->calendar, json_object_get(rules, "calendar"),
	    why, sizeof(why)) == -1) {
		snprintf(err, errlen, "rules: our %s", why);
		goto fail;
	}
	p = json_object_get(rules, "partners");
	if (!json_is_array(p)) {
		snprintf(err, errlen, "rules: no partners");
		goto fail;
	}
	c->partners = xcalloc(json_array_size(p) + 1, sizeof(*c->partners));
	for (i = 0; i < json_array_size(p); i++) {
		if (agreement_json_decode(&c->partners[i], json_array_get(p, i),
		    why, sizeof(why)) == -1) {
			snprintf(err, errlen, "rules: partner %zu: %s", i + 1,
			    why);
			goto fail;
		}
		c->npartners++;
	}
	return c;
fail:
	config_free(c);
	return NULL;
}
