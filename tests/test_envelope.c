/*
 * test_envelope.c -- the envelope floor: every valid example parses, reads
 * and survives build -> serialize -> parse -> read; every invalid example
 * is refused with the code its first-line comment names; hostile XML is
 * refused before any schema work; a comment inside a value does not cut it.
 *
 * Finds protocols/ through ACCORD_SRCDIR (the top source directory).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/tree.h>

#include "agreement.h"
#include "clock.h"
#include "envelope.h"
#include "errcode.h"
#include "log.h"

/* 2026-03-02T09:15:00Z */
#define T0	((accord_time_t)1772442900)

static char	srcdir[1024];
static char	logbuf[65536];

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		*lenp = (size_t)n;
	}
	return buf;
}

static char *
example(const char *kind, const char *name, size_t *lenp)
{
	char path[2048];
	char *buf;

	snprintf(path, sizeof(path), "%s/protocols/examples/%s/%s", srcdir,
	    kind, name);
	buf = slurp(path, lenp);
	if (buf == NULL)
		print_error("cannot read %s\n", path);
	return buf;
}

/* Replace the first "from" in a NUL-terminated buffer with "to". */
static char *
replace(const char *buf, const char *from, const char *to)
{
	const char *p = strstr(buf, from);
	size_t a, b, c;
	char *out;

	assert_non_null(p);
	a = (size_t)(p - buf);
	b = strlen(to);
	c = strlen(p + strlen(from));
	out = malloc(a + b + c + 1);
	assert_non_null(out);
	memcpy(out, buf, a);
	memcpy(out + a, to, b);
	memcpy(out + a + b, p + strlen(from), c + 1);
	return out;
}

static int
setup(void **state)
{
	const char *s = getenv("ACCORD_SRCDIR");
	char proto[1100];

	(void)state;
	snprintf(srcdir, sizeof(srcdir), "%s", s != NULL ? s : ".");
	snprintf(proto, sizeof(proto), "%s/protocols", srcdir);
	log_init("test_envelope", 1, LOG_LVL_DEBUG);
	log_capture(logbuf, sizeof(logbuf));
	if (envelope_init(proto) == -1) {
		print_error("envelope_init(%s) failed:\n%s", proto, logbuf);
		return -1;
	}
	clock_test_set(T0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	envelope_shutdown();
	log_capture(NULL, 0);
	return 0;
}

/* Serialization of one node, for comparing bodies. */
static char *
dump(xmlNodePtr n)
{
	xmlBufferPtr b = xmlBufferCreate();
	char *s;

	assert_non_null(b);
	assert_true(xmlNodeDump(b, n->doc, n, 0, 0) >= 0);
	s = strdup((const char *)xmlBufferContent(b));
	xmlBufferFree(b);
	return s;
}

static void
test_valid_examples_parse(void **state)
{
	struct envelope_error err;
	struct envelope_header h;
	struct dirent *de;
	xmlNodePtr body;
	xmlDocPtr doc;
	char path[2048], *buf;
	size_t len;
	DIR *d;
	int n = 0, bad = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/protocols/examples/valid", srcdir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		assert_non_null(buf = example("valid", de->d_name, &len));
		n++;
		if (envelope_parse(buf, len, NULL, &doc, &err) == -1) {
			print_error("%s: refused: %s line %d: %s\n",
			    de->d_name, errcode_name(err.code), err.line,
			    err.text);
			bad++;
		} else {
			if (envelope_read(doc, &h, &body) == -1 ||
			    strncmp(de->d_name, agreement_msg_type_name(h.type),
			    strlen(agreement_msg_type_name(h.type))) != 0) {
				print_error("%s: read failed or wrong type\n",
				    de->d_name);
				bad++;
			}
			xmlFreeDoc(doc);
		}
		free(buf);
	}
	closedir(d);
	assert_true(n >= MSG_TYPE_COUNT);
	assert_int_equal(bad, 0);
}

/* build -> serialize -> parse -> read, for every message type. */
static void
test_round_trip(void **state)
{
	struct envelope_error err;
	struct envelope_header h, h2, h3;
	xmlNodePtr body, body2;
	xmlDocPtr doc, built, back;
	char name[128], *buf, *out, *d1, *d2;
	size_t len, outlen;
	int t;

	(void)state;
	for (t = 0; t < MSG_TYPE_COUNT; t++) {
		snprintf(name, sizeof(name), "%s.xml",
		    agreement_msg_type_name((enum msg_type)t));
		assert_non_null(buf = example("valid", name, &len));
		assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
		assert_int_equal(envelope_read(doc, &h, &body), 0);
		assert_int_equal(h.type, t);
		assert_int_equal(h.created, T0);

		/* A new message about the same case: fresh id and time. */
		h2 = h;
		h2.message_id[0] = '\0';
		h2.created = 0;
		clock_test_set(T0 + 3600 + t);
		assert_int_equal(envelope_build(&h2, body, &built), 0);
		assert_int_equal(envelope_validate(built, &err), 0);
		assert_int_equal(envelope_serialize(built, &out, &outlen), 0);
		assert_int_equal(outlen, strlen(out));

		assert_int_equal(envelope_parse(out, outlen, NULL, &back,
		    &err), 0);
		assert_int_equal(envelope_read(back, &h3, &body2), 0);
		assert_int_equal(h3.type, t);
		assert_int_equal(h3.created, T0 + 3600 + t);
		assert_string_not_equal(h3.message_id, h.message_id);
		assert_int_equal(strlen(h3.message_id), 36);
		assert_int_equal(h3.message_id[14], '4');	/* v4 */
		assert_non_null(strchr("89ab", h3.message_id[19]));
		assert_string_equal(h3.case_id, h.case_id);
		assert_string_equal(h3.ref_to, h.ref_to);
		assert_string_equal(h3.from_country, h.from_country);
		assert_string_equal(h3.from_authority, h.from_authority);
		assert_string_equal(h3.to_country, h.to_country);
		assert_string_equal(h3.to_authority, h.to_authority);
		assert_string_equal(h3.agreement_id, h.agreement_id);
		assert_int_equal(h3.procedure, h.procedure);

		d1 = dump(body);
		d2 = dump(body2);
		assert_string_equal(d1, d2);
		free(d1);
		free(d2);

		/* A given id and time are kept (a rebuilt retry). */
		xmlFreeDoc(built);
		assert_int_equal(envelope_build(&h, body, &built), 0);
		assert_int_equal(envelope_read(built, &h3, NULL), 0);
		assert_string_equal(h3.message_id, h.message_id);
		assert_int_equal(h3.created, h.created);

		xmlFreeDoc(back);
		xmlFreeDoc(built);
		xmlFreeDoc(doc);
		free(out);
		free(buf);
	}
	clock_test_set(T0);
}

static void
test_build_refuses_wrong_body(void **state)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlNodePtr body;
	xmlDocPtr doc, built = NULL;
	char *buf;
	size_t len;

	(void)state;
	assert_non_null(buf = example("valid", "Withdrawal.xml", &len));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	h.type = MSG_CONSULTATION;
	assert_int_equal(envelope_build(&h, body, &built), -1);
	assert_null(built);
	/* The envelope itself is not a business document. */
	h.type = MSG_WITHDRAWAL;
	assert_int_equal(envelope_build(&h, xmlDocGetRootElement(doc),
	    &built), -1);
	xmlFreeDoc(doc);
	free(buf);
}

/* Every file in examples/invalid, refused with the code it names. */
static void
test_invalid_examples(void **state)
{
	struct envelope_error err;
	struct dirent *de;
	xmlDocPtr doc;
	char path[2048], code[64], *buf, *p;
	size_t len, i;
	DIR *d;
	int want, n = 0, bad = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/protocols/examples/invalid", srcdir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		assert_non_null(buf = example("invalid", de->d_name, &len));
		n++;
		p = strstr(buf, "expect: ");
		if (strncmp(buf, "<!--", 4) != 0 || p == NULL ||
		    memchr(buf, '\n', (size_t)(p - buf)) != NULL) {
			print_error("%s: no expect comment on line 1\n",
			    de->d_name);
			bad++;
			free(buf);
			continue;
		}
		p += strlen("expect: ");
		for (i = 0; i + 1 < sizeof(code) && (p[i] == '_' ||
		    (p[i] >= 'A' && p[i] <= 'Z')); i++)
			code[i] = p[i];
		code[i] = '\0';
		if ((want = errcode_from_name(code)) <= 0) {
			print_error("%s: unknown expected code %s\n",
			    de->d_name, code);
			bad++;
		} else if (envelope_parse(buf, len, NULL, &doc, &err) == 0) {
			print_error("%s: ACCEPTED, expected %s\n", de->d_name,
			    code);
			xmlFreeDoc(doc);
			bad++;
		} else if ((int)err.code != want) {
			print_error("%s: refused with %s (%s), expected %s\n",
			    de->d_name, errcode_name(err.code), err.text,
			    code);
			bad++;
		} else if (err.text[0] == '\0') {
			print_error("%s: refused without a text\n",
			    de->d_name);
			bad++;
		} else
			assert_null(doc);
		free(buf);
	}
	closedir(d);
	assert_true(n >= 30);
	assert_int_equal(bad, 0);
}

/*
 * Hostile input is refused before the schema is consulted: each case
 * below would also be schema-invalid, so the code says which gate caught
 * it.  The external entity must not be fetched either.
 */
static void
test_refused_before_schema(void **state)
{
	static const char doctype[] =
	    "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
	    "<x>&e;</x>";
	static const char doctype_late[] =
	    "<?xml version=\"1.0\"?>\n<!-- hi -->\n<!DOCTYPE x SYSTEM "
	    "\"http://example.org/x.dtd\"><x/>";
	static const char pi[] = "<x><?php echo 1; ?></x>";
	static const char quoted[] = "<x a=\"<!DOCTYPE\"><y b='>'/></x>";
	struct envelope_limits lim = { 0, 0 };
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	char *big, *deep, *p;
	size_t i;

	(void)state;
	logbuf[0] = '\0';
	assert_int_equal(envelope_parse(doctype, sizeof(doctype) - 1, NULL,
	    &doc, &err), -1);
	assert_int_equal(err.code, AE_FORBIDDEN_XML);
	assert_null(doc);
	assert_null(strstr(logbuf, "refused to load"));

	assert_int_equal(envelope_parse(doctype_late,
	    sizeof(doctype_late) - 1, NULL, &doc, &err), -1);
	assert_int_equal(err.code, AE_FORBIDDEN_XML);
	assert_int_equal(err.line, 3);

	assert_int_equal(envelope_parse(pi, sizeof(pi) - 1, NULL, &doc,
	    &err), -1);
	assert_int_equal(err.code, AE_FORBIDDEN_XML);

	/* Markup-like text inside attribute values is not markup. */
	assert_int_equal(envelope_parse(quoted, sizeof(quoted) - 1, NULL,
	    &doc, &err), -1);
	assert_int_equal(err.code, AE_MALFORMED);	/* '<' in a value */

	/* Oversize: refused before a byte is parsed, even if garbage. */
	lim.max_size = 1000;
	assert_non_null(big = malloc(1001));
	memset(big, '<', 1001);
	assert_int_equal(envelope_parse(big, 1001, &lim, &doc, &err), -1);
	assert_int_equal(err.code, AE_TOO_LARGE);
	assert_int_equal(envelope_parse(big, 1000, &lim, &doc, &err), -1);
	assert_int_not_equal(err.code, AE_TOO_LARGE);
	free(big);

	/* Over-deep: 100,000 levels, refused by the pre-scan. */
	lim.max_size = 0;
	assert_non_null(deep = malloc(100000 * 7 + 1));
	for (p = deep, i = 0; i < 100000; i++, p += 3)
		memcpy(p, "<a>", 3);
	for (i = 0; i < 100000; i++, p += 4)
		memcpy(p, "</a>", 4);
	*p = '\0';
	assert_int_equal(envelope_parse(deep, (size_t)(p - deep), &lim, &doc,
	    &err), -1);
	assert_int_equal(err.code, AE_TOO_DEEP);
	assert_int_equal(err.line, 1);
	free(deep);
}

/* The depth limit is exact: a valid message at the limit passes. */
static void
test_depth_limit_exact(void **state)
{
	struct envelope_limits lim = { 0, 7 };
	struct envelope_error err;
	xmlDocPtr doc;
	char *buf;
	size_t len;

	(void)state;
	/* Message/Body/ReadmissionRequest/Evidence/MeansOfProof/Issuer/Country */
	assert_non_null(buf = example("valid", "ReadmissionRequest.xml",
	    &len));
	assert_int_equal(envelope_parse(buf, len, &lim, &doc, &err), 0);
	xmlFreeDoc(doc);
	lim.max_depth = 6;
	assert_int_equal(envelope_parse(buf, len, &lim, &doc, &err), -1);
	assert_int_equal(err.code, AE_TOO_DEEP);
	free(buf);
}

/* A comment splitting a text node: the whole value is read. */
static void
test_comment_in_text(void **state)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlNodePtr body, person;
	xmlDocPtr doc;
	char *buf, *b1, *b2, *b3, val[128];
	size_t len;

	(void)state;
	assert_non_null(buf = example("valid", "ReadmissionRequest.xml",
	    &len));
	b1 = replace(buf, "<Surname>Nurlanov</Surname>",
	    "<Surname>Nurla<!-- signed? -->nov</Surname>");
	b2 = replace(b1, "<CaseId>FR-KZ-2026-000123</CaseId>",
	    "<CaseId>FR-KZ-<!-- x -->2026-000123</CaseId>");
	b3 = replace(b2, "<Number>N12345678</Number>",
	    "<Number>N1234<![CDATA[5678]]></Number>");
	assert_int_equal(envelope_parse(b3, strlen(b3), NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	assert_string_equal(h.case_id, "FR-KZ-2026-000123");
	assert_non_null(person = envelope_child(body, "Person"));
	assert_int_equal(envelope_child_text(person, "Surname", val,
	    sizeof(val)), 0);
	assert_string_equal(val, "Nurlanov");
	assert_int_equal(envelope_child_text(envelope_child(envelope_child(
	    body, "Evidence"), "MeansOfProof"), "Number", val, sizeof(val)), 0);
	assert_string_equal(val, "N12345678");
	/* Too small a buffer is an error, never a silent truncation. */
	assert_int_equal(envelope_child_text(person, "Surname", val, 8), -1);
	assert_int_equal(envelope_child_text(person, "Nope", val,
	    sizeof(val)), -1);
	xmlFreeDoc(doc);
	free(b3);
	free(b2);
	free(b1);
	free(buf);
}

/* Whitespace around a token is collapsed by the schema and by the reader. */
static void
test_whitespace_around_values(void **state)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlDocPtr doc;
	char *buf, *b1;
	size_t len;

	(void)state;
	assert_non_null(buf = example("valid", "Withdrawal.xml", &len));
	b1 = replace(buf, "<Type>Withdrawal</Type>",
	    "<Type>\n      Withdrawal\n    </Type>");
	assert_int_equal(envelope_parse(b1, strlen(b1), NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, NULL), 0);
	assert_int_equal(h.type, MSG_WITHDRAWAL);
	xmlFreeDoc(doc);
	free(b1);
	free(buf);
}

/*
 * Schemas may only load files below the protocols directory: an include
 * that climbs out of it (or names the network) makes envelope_init fail.
 */
static void
test_loader_confined(void **state)
{
	char dir[] = "/tmp/accord-envelope-XXXXXX", path[1100], proto[1100];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/outside.xsd", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"/>\n",
	    f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/p", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/p/" ENVELOPE_TOP_SCHEMA, dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">"
	    "<xs:include schemaLocation=\"../outside.xsd\"/>"
	    "<xs:element name=\"x\"/></xs:schema>\n", f);
	fclose(f);

	logbuf[0] = '\0';
	snprintf(path, sizeof(path), "%s/p", dir);
	assert_int_equal(envelope_init(path), -1);
	assert_non_null(strstr(logbuf, "refused to load"));

	/* Put the real schemas back for the other tests. */
	snprintf(proto, sizeof(proto), "%s/protocols", srcdir);
	assert_int_equal(envelope_init(proto), 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void
test_uuid(void **state)
{
	char a[37], b[37];

	(void)state;
	assert_int_equal(envelope_uuid(a, sizeof(a)), 0);
	assert_int_equal(envelope_uuid(b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(a[8], '-');
	assert_int_equal(a[14], '4');
	assert_int_equal(envelope_uuid(a, 36), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_examples_parse),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_build_refuses_wrong_body),
		cmocka_unit_test(test_invalid_examples),
		cmocka_unit_test(test_refused_before_schema),
		cmocka_unit_test(test_depth_limit_exact),
		cmocka_unit_test(test_comment_in_text),
		cmocka_unit_test(test_whitespace_around_values),
		cmocka_unit_test(test_loader_confined),
		cmocka_unit_test(test_uuid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
