/*
 * test_xmlsig.c -- XML signatures: RSA and ECDSA round trips through the
 * real pipeline (envelope_parse, then xmlsig_verify on the same DOM), the
 * signer rules (pinned set, validity, use window, CRL), key lending, and
 * every attack of tests/data/attacks/, each refused with its exact code.
 *
 * Needs ACCORD_SRCDIR (protocols/, tests/data/attacks/) and ACCORD_PKI.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf/agreement.h"
#include "attackgen.h"
#include "util/clock.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "util/errcode.h"
#include "util/log.h"
#include "msg/xmlsig.h"

static char		 srcdir[1024];
static char		 pki[1024];
static char		 logbuf[65536];
static accord_time_t	 now;
static struct agreement	 fr, de;
static struct xmlsig_signer *fr_rsa, *fr_ec;

static const char *
pki_path(const char *rel)
{
	static char buf[4][1200];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", pki, rel);
	return buf[i];
}

/*
 * A partner as agreement_load() would leave it, built by hand so that
 * certificates the loader would warn about (expired, future, revoked)
 * can be in the configured set: the verifier must refuse them itself.
 */
static void
partner(struct agreement *a, const char *cc, const char **certs,
    const char *crl)
{
	struct conf_diag d = { 0 };
	struct signing_cert *sc;
	FILE *f;
	int i;

	memset(a, 0, sizeof(*a));
	snprintf(a->country, sizeof(a->country), "%s", cc);
	for (i = 0; certs[i] != NULL; i++) {
		sc = &a->signing[a->nsigning++];
		sc->path = strdup(pki_path(certs[i]));
		assert_non_null(sc->path);
		sc->cert = conf_load_cert(sc->path, "test", 0, &d);
		assert_non_null(sc->cert);
		conf_cert_sha256(sc->cert, sc->sha256);
		assert_int_equal(conf_cert_times(sc->cert, &sc->not_before,
		    &sc->not_after), 0);
	}
	if (crl != NULL) {
		a->crl_path = strdup(pki_path(crl));
		assert_non_null((f = fopen(a->crl_path, "r")));
		a->crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
		fclose(f);
		assert_non_null(a->crl);
	}
	assert_int_equal(d.nerrors, 0);
	conf_diag_free(&d);
}

static int
setup(void **state)
{
	static const char *frcerts[] = { "fr/sign-rsa.pem", "fr/sign-ec.pem",
	    "fr/sign-expired.pem", "fr/sign-future.pem",
	    "fr/sign-revoked.pem", NULL };
	static const char *decerts[] = { "de/sign-rsa.pem", "de/sign-ec.pem",
	    NULL };
	const char *s = getenv("ACCORD_SRCDIR"), *p = getenv("ACCORD_PKI");
	char proto[1100];

	(void)state;
	if (s == NULL || p == NULL) {
		print_error("ACCORD_SRCDIR and ACCORD_PKI must be set\n");
		return -1;
	}
	snprintf(srcdir, sizeof(srcdir), "%s", s);
	snprintf(pki, sizeof(pki), "%s", p);
	snprintf(proto, sizeof(proto), "%s/protocols", srcdir);
	log_init("test_xmlsig", 1, LOG_LVL_DEBUG);
	log_capture(logbuf, sizeof(logbuf));
	if (envelope_init(proto) == -1 || xmlsig_init() == -1) {
		print_error("init failed:\n%s", logbuf);
		return -1;
	}
	partner(&fr, "FR", frcerts, "fr/crl.pem");
	partner(&de, "DE", decerts, NULL);
	/* An hour into the life of the PKI: independent of the day we run. */
	now = fr.signing[0].not_before + 3600;
	clock_test_set(now);
	fr_rsa = xmlsig_signer_load(pki_path("fr/sign-rsa.key"),
	    pki_path("fr/sign-rsa.pem"));
	fr_ec = xmlsig_signer_load(pki_path("fr/sign-ec.key"),
	    pki_path("fr/sign-ec.pem"));
	if (fr_rsa == NULL || fr_ec == NULL) {
		print_error("signers:\n%s", logbuf);
		return -1;
	}
	if (xmlsig_partner_keys_load(&fr) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	xmlsig_signer_free(fr_rsa);
	xmlsig_signer_free(fr_ec);
	agreement_clear(&fr);
	agreement_clear(&de);
	xmlsig_shutdown();
	envelope_shutdown();
	log_capture(NULL, 0);
	return 0;
}

/* Replace every from in a malloc'd string. */
static char *
replace_all(char *buf, const char *from, const char *to)
{
	char *p, *out;
	size_t a;

	while ((p = strstr(buf, from)) != NULL) {
		a = (size_t)(p - buf);
		out = malloc(strlen(buf) - strlen(from) + strlen(to) + 1);
		assert_non_null(out);
		memcpy(out, buf, a);
		strcpy(out + a, to);
		strcat(out, p + strlen(from));
		free(buf);
		buf = out;
	}
	return buf;
}

/* An example message, created at t, parsed by the real parser. */
static xmlDocPtr
message_at(const char *name, accord_time_t t)
{
	struct envelope_error err;
	xmlDocPtr doc;
	char path[2048], ts[32], *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/protocols/examples/valid/%s",
	    srcdir, name);
	assert_non_null((buf = attack_slurp(path, &len)));
	clock_format_utc(t, ts, sizeof(ts));
	buf = replace_all(buf, "2026-03-02T09:15:00Z", ts);
	if (envelope_parse(buf, strlen(buf), NULL, &doc, &err) == -1)
		fail_msg("%s: %s: %s", name, errcode_name(err.code), err.text);
	free(buf);
	return doc;
}

/* Serialize, parse again as a receiver would, verify as from a. */
static int
receive(xmlDocPtr signed_doc, const struct agreement *a, xmlDocPtr *out,
    struct xmlsig_result *res)
{
	struct envelope_error err;
	xmlDocPtr doc;
	char *buf;
	size_t len;
	int r;

	assert_int_equal(envelope_serialize(signed_doc, &buf, &len), 0);
	r = envelope_parse(buf, len, NULL, &doc, &err);
	free(buf);
	if (r == -1)
		fail_msg("signed message refused by the parser: %s: %s",
		    errcode_name(err.code), err.text);
	r = xmlsig_verify(doc, a, now, res);
	if (out != NULL)
		*out = doc;
	else
		xmlFreeDoc(doc);
	return r;
}

static void
roundtrip(struct xmlsig_signer *s, const struct signing_cert *expect)
{
	struct xmlsig_result res;
	struct envelope_header h;
	xmlDocPtr doc, got;
	xmlNodePtr root, last;

	doc = message_at("ReadmissionRequest.xml", now);
	assert_int_equal(xmlsig_sign(s, doc), 0);
	/* The signature is the root's last child and the schema holds. */
	root = xmlDocGetRootElement(doc);
	last = xmlGetLastChild(root);
	assert_string_equal((const char *)last->name, "Signature");
	if (receive(doc, &fr, &got, &res) == -1)
		fail_msg("%s: %s", errcode_name(res.code), res.text);
	assert_int_equal(res.code, AE_OK);
	assert_ptr_equal(res.signer, expect);
	assert_int_equal(res.signed_at, now);
	/* One DOM: the verified document is the one read. */
	assert_int_equal(envelope_read(got, &h, NULL), 0);
	assert_string_equal(h.case_id, "FR-KZ-2026-000123");
	xmlFreeDoc(got);

	/* The same message, claimed by another partner. */
	assert_int_equal(receive(doc, &de, NULL, &res), -1);
	assert_int_equal(res.code, AE_UNKNOWN_SIGNER);
	/* A second signature is refused by the signer itself. */
	assert_int_equal(xmlsig_sign(s, doc), -1);
	xmlFreeDoc(doc);
}

static void
test_roundtrip_rsa(void **state)
{
	(void)state;
	roundtrip(fr_rsa, &fr.signing[0]);
}

static void
test_roundtrip_ec(void **state)
{
	(void)state;
	roundtrip(fr_ec, &fr.signing[1]);
}

/* The configured use window, at the signing time and now. */
static void
test_use_window(void **state)
{
	struct signing_cert *sc = &fr.signing[0];
	struct xmlsig_result res;
	xmlDocPtr doc;

	(void)state;
	doc = message_at("Withdrawal.xml", now);
	assert_int_equal(xmlsig_sign(fr_rsa, doc), 0);
	assert_int_equal(receive(doc, &fr, NULL, &res), 0);

	sc->use_until = now - 1;
	assert_int_equal(receive(doc, &fr, NULL, &res), -1);
	assert_int_equal(res.code, AE_UNKNOWN_SIGNER);
	sc->use_until = 0;

	sc->use_from = now + 1;
	assert_int_equal(receive(doc, &fr, NULL, &res), -1);
	assert_int_equal(res.code, AE_UNKNOWN_SIGNER);
	sc->use_from = 0;

	/* Created before the certificate existed. */
	xmlFreeDoc(doc);
	doc = message_at("Withdrawal.xml", sc->not_before - 60);
	assert_int_equal(xmlsig_sign(fr_rsa, doc), 0);
	assert_int_equal(receive(doc, &fr, NULL, &res), -1);
	assert_int_equal(res.code, AE_UNKNOWN_SIGNER);
	xmlFreeDoc(doc);
}

/*
 * Key lending: one loaded key signs many messages; nothing is copied or
 * freed per message (run under valgrind by hand: XMLSIG_LENDING=50).
 */
static void
test_key_lending(void **state)
{
	struct xmlsig_result res;
	xmlDocPtr base, doc = NULL;
	const char *e = getenv("XMLSIG_LENDING");
	int i, n = e != NULL ? atoi(e) : 1000;

	(void)state;
	base = message_at("ReadmissionRequest.xml", now);
	for (i = 0; i < n; i++) {
		if (doc != NULL)
			xmlFreeDoc(doc);
		assert_non_null((doc = xmlCopyDoc(base, 1)));
		assert_int_equal(xmlsig_sign(i % 2 ? fr_ec : fr_rsa, doc), 0);
	}
	assert_int_equal(receive(doc, &fr, NULL, &res), 0);
	assert_ptr_equal(res.signer, n % 2 ? &fr.signing[0] :
	    &fr.signing[1]);
	xmlFreeDoc(doc);
	xmlFreeDoc(base);
	/* The signer still works after all that lending. */
	doc = message_at("Withdrawal.xml", now);
	assert_int_equal(xmlsig_sign(fr_rsa, doc), 0);
	assert_int_equal(receive(doc, &fr, NULL, &res), 0);
	xmlFreeDoc(doc);
}

/* An unknown or broken key file is refused at load time. */
static void
test_signer_load(void **state)
{
	(void)state;
	assert_null(xmlsig_signer_load(pki_path("fr/nonexistent.key"),
	    pki_path("fr/sign-rsa.pem")));
	/* key and certificate do not match */
	assert_null(xmlsig_signer_load(pki_path("fr/sign-ec.key"),
	    pki_path("fr/sign-rsa.pem")));
	assert_int_equal(strlen(xmlsig_signer_sha256(fr_rsa)), 64);
	assert_string_equal(xmlsig_signer_sha256(fr_rsa), fr.signing[0].sha256);
}

/* The first element named name anywhere below n. */
static xmlNodePtr
find_elem(xmlNodePtr n, const char *name)
{
	xmlNodePtr r;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrEqual(n->name, (const xmlChar *)name))
			return n;
		if ((r = find_elem(n->children, name)) != NULL)
			return r;
	}
	return NULL;
}

/* One attack: generated, then through the pipeline, then xmlsig alone. */
static void
test_attack(void **state)
{
	const char *path = *state;
	struct envelope_error err;
	struct envelope_header h;
	struct xmlsig_result res;
	struct attack a;
	xmlDocPtr doc = NULL;
	enum accord_err got;
	char text[512];
	int i;

	assert_int_equal(attack_generate(path, pki, now, &a), 0);
	assert_true(errcode_from_name(a.expect) >= 0 ||
	    strcmp(a.expect, "OK") == 0);
	if (envelope_parse(a.bytes, a.len, NULL, &doc, &err) == -1) {
		got = err.code;
		snprintf(text, sizeof(text), "%s", err.text);
	} else if (xmlsig_verify(doc, &fr, now, &res) == -1) {
		got = res.code;
		snprintf(text, sizeof(text), "%s", res.text);
	} else {
		got = AE_OK;
		text[0] = '\0';
	}
	print_message("# %s: %s (%s)\n", a.what, got == AE_OK ? "OK" :
	    errcode_name(got), text);
	if (strcmp(a.expect, "OK") == 0) {
		assert_int_equal(got, AE_OK);
		assert_int_equal(envelope_read(doc, &h, NULL), 0);
		for (i = 0; i < a.nvalues; i++) {
			assert_int_equal(envelope_text(find_elem(
			    xmlDocGetRootElement(doc), a.value_name[i]), text,
			    sizeof(text)), 0);
			assert_string_equal(text, a.value_text[i]);
			if (strcmp(a.value_name[i], "CaseId") == 0)
				assert_string_equal(h.case_id, text);
		}
	} else
		assert_string_equal(got == AE_OK ? "OK" : errcode_name(got),
		    a.expect);
	if (doc != NULL)
		xmlFreeDoc(doc);

	/*
	 * Stopped before xmlsig?  Then xmlsig alone, on a DOM the schema
	 * never saw (entities left unexpanded, nothing loaded), must refuse
	 * it too.
	 */
	if (a.xmlsig[0] != '\0') {
		doc = xmlReadMemory(a.bytes, (int)a.len, "attack.xml", NULL,
		    XML_PARSE_NONET | XML_PARSE_NOERROR |
		    XML_PARSE_NOWARNING);
		assert_non_null(doc);
		assert_int_equal(xmlsig_verify(doc, &fr, now, &res), -1);
		print_message("# xmlsig alone: %s (%s)\n",
		    errcode_name(res.code), res.text);
		assert_string_equal(errcode_name(res.code), a.xmlsig);
		xmlFreeDoc(doc);
	}
	attack_free(&a);
}

static int
attack_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_roundtrip_rsa),
		cmocka_unit_test(test_roundtrip_ec),
		cmocka_unit_test(test_use_window),
		cmocka_unit_test(test_signer_load),
		cmocka_unit_test(test_key_lending),
	};
	struct CMUnitTest *tests;
	struct dirent *de_;
	const char *s = getenv("ACCORD_SRCDIR");
	char dir[1100], *names[128], path[1400];
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), n = 0, i;
	DIR *d;
	int rc;

	snprintf(dir, sizeof(dir), "%s/tests/data/attacks", s != NULL ? s : ".");
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: cannot open\n", dir);
		return 1;
	}
	while ((de_ = readdir(d)) != NULL && n < 128) {
		size_t l = strlen(de_->d_name);

		if (l > 4 && strcmp(de_->d_name + l - 4, ".xml") == 0)
			names[n++] = strdup(de_->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), attack_cmp);
	tests = calloc(nfixed + n, sizeof(*tests));
	if (tests == NULL)
		return 1;
	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		tests[nfixed + i].name = names[i];
		tests[nfixed + i].test_func = test_attack;
		tests[nfixed + i].initial_state = strdup(path);
	}
	rc = _cmocka_run_group_tests("xmlsig", tests, nfixed + n, setup,
	    teardown);
	for (i = 0; i < n; i++) {
		free(tests[nfixed + i].initial_state);
		free(names[i]);
	}
	free(tests);
	return rc;
}
