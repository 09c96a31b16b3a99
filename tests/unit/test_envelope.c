/*
 * test_envelope.c -- the envelope floor: every valid example parses, reads
 * and survives build -> serialize -> parse -> read; every invalid example
 * is refused with the code its first-line comment names; hostile XML is
 * refused before any schema work; a comment inside a value does not cut it.
 * Protocol version 2 beside version 1: the root's namespace picks the
 * schemas, a body is moved to the version it is built in, versions never
 * mix, and a Redelivery gives back the original's bytes.
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

#include "conf/agreement.h"
#include "util/clock.h"
#include "msg/envelope.h"
#include "util/errcode.h"
#include "util/log.h"

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
		if (t != MSG_REDELIVERY)	/* sent again, later */
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
		assert_int_equal(h3.version, h.version);

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

/* The version of a message is its root's namespace; the helpers agree. */
static void
test_versions_read(void **state)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlNodePtr body;
	xmlDocPtr doc;
	char *buf;
	size_t len;

	(void)state;
	assert_string_equal(envelope_ns(1), "urn:accord:envelope:1");
	assert_string_equal(envelope_ns(2), "urn:accord:envelope:2");
	assert_string_equal(envelope_msg_ns(1), "urn:accord:msg:1");
	assert_string_equal(envelope_msg_ns(2), "urn:accord:msg:2");
	assert_null(envelope_ns(0));
	assert_null(envelope_msg_ns(3));
	assert_int_equal(envelope_ns_version("urn:accord:msg:2"), 2);
	assert_int_equal(envelope_ns_version("urn:accord:envelope:1"), 1);
	assert_int_equal(envelope_ns_version("urn:accord:msg:3"), 0);
	assert_int_equal(envelope_ns_version(NULL), 0);

	assert_non_null(buf = example("valid", "ReadmissionRequest.xml",
	    &len));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	assert_int_equal(h.version, 1);
	assert_string_equal((const char *)body->ns->href, ENVELOPE_MSG_NS);
	xmlFreeDoc(doc);
	free(buf);

	assert_non_null(buf = example("valid", "ReadmissionRequest.v2.xml",
	    &len));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.type, MSG_READMISSION_REQUEST);
	assert_string_equal((const char *)body->ns->href, ENVELOPE_MSG_NS_2);
	assert_string_equal(h.case_id, "FR-KZ-2026-000123");
	assert_int_equal(h.procedure, ENVELOPE_PROC_STANDARD);
	xmlFreeDoc(doc);
	free(buf);

	/* NOT_YET is a version 2 code */
	assert_non_null(buf = example("valid", "Error.not-yet.v2.xml", &len));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.type, MSG_ERROR);
	xmlFreeDoc(doc);
	free(buf);
	assert_int_equal(errcode_for_version(AE_NOT_YET, 1), AE_TEMPORARY);
	assert_int_equal(errcode_for_version(AE_NOT_YET, 2), AE_NOT_YET);
	assert_int_equal(errcode_for_version(AE_SCHEMA_INVALID, 1),
	    AE_SCHEMA_INVALID);
}

/*
 * Every business document of version 1 built into a version 2 envelope
 * (and back): the copy is moved to the other namespace, validates, reads
 * back as that version, says the same, and the caller's body is as it
 * was.
 */
static void
test_build_across_versions(void **state)
{
	struct envelope_error err;
	struct envelope_header h, h2;
	xmlNodePtr body, body2;
	xmlDocPtr doc, built, back, again;
	char name[128], *buf, *out, *d0, *d1, *d2, *want;
	size_t len, outlen;
	int t;

	(void)state;
	for (t = 0; t < MSG_TYPE_COUNT; t++) {
		/* version 2 only */
		if (t == MSG_REDELIVERY || t == MSG_PROTECTION_NOTICE)
			continue;
		snprintf(name, sizeof(name), "%s.xml",
		    agreement_msg_type_name((enum msg_type)t));
		assert_non_null(buf = example("valid", name, &len));
		assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
		assert_int_equal(envelope_read(doc, &h, &body), 0);
		assert_int_equal(h.version, 1);
		d0 = dump(body);

		h.version = 2;
		assert_int_equal(envelope_build(&h, body, &built), 0);
		if (envelope_validate(built, &err) == -1)
			fail_msg("%s in version 2: %s", name, err.text);
		assert_int_equal(envelope_serialize(built, &out, &outlen), 0);
		assert_null(strstr(out, "urn:accord:msg:1"));
		assert_null(strstr(out, "urn:accord:envelope:1"));
		assert_int_equal(envelope_parse(out, outlen, NULL, &back,
		    &err), 0);
		assert_int_equal(envelope_read(back, &h2, &body2), 0);
		assert_int_equal(h2.version, 2);
		assert_int_equal(h2.type, t);
		assert_string_equal(h2.message_id, h.message_id);

		/* the same document, in the other namespace */
		d1 = dump(body2);
		want = replace(d0, "urn:accord:msg:1", "urn:accord:msg:2");
		assert_string_equal(d1, want);
		/* the caller's body did not move */
		d2 = dump(body);
		assert_string_equal(d2, d0);
		assert_string_equal((const char *)body->ns->href,
		    ENVELOPE_MSG_NS);

		/* and back to version 1 from the version 2 body */
		h2.version = 1;
		assert_int_equal(envelope_build(&h2, body2, &again), 0);
		assert_int_equal(envelope_validate(again, &err), 0);
		assert_int_equal(envelope_read(again, &h2, &body2), 0);
		assert_int_equal(h2.version, 1);
		free(d1);
		d1 = dump(body2);
		assert_string_equal(d1, d0);

		xmlFreeDoc(again);
		xmlFreeDoc(back);
		xmlFreeDoc(built);
		xmlFreeDoc(doc);
		free(want);
		free(d0);
		free(d1);
		free(d2);
		free(out);
		free(buf);
	}
}

/* A body whose namespace is declared on an ancestor is moved too. */
static void
test_build_inherited_namespace(void **state)
{
	static const char doc_text[] =
	    "<w xmlns:m=\"urn:accord:msg:1\"><m:Withdrawal>"
	    "<m:Reason>Absconded</m:Reason></m:Withdrawal></w>";
	struct envelope_error err;
	struct envelope_header h;
	xmlNodePtr body;
	xmlDocPtr doc, built;
	char *out;
	size_t outlen;

	(void)state;
	assert_non_null(doc = xmlReadMemory(doc_text, sizeof(doc_text) - 1,
	    "w.xml", NULL, XML_PARSE_NONET));
	body = xmlFirstElementChild(xmlDocGetRootElement(doc));
	memset(&h, 0, sizeof(h));
	snprintf(h.case_id, sizeof(h.case_id), "FR-KZ-2026-000123");
	snprintf(h.from_country, sizeof(h.from_country), "FR");
	snprintf(h.from_authority, sizeof(h.from_authority), "DGEF");
	snprintf(h.to_country, sizeof(h.to_country), "KZ");
	snprintf(h.to_authority, sizeof(h.to_authority), "MVD");
	snprintf(h.agreement_id, sizeof(h.agreement_id), "FR-KZ-RA-2026");
	h.type = MSG_WITHDRAWAL;
	h.version = 2;
	assert_int_equal(envelope_build(&h, body, &built), 0);
	assert_int_equal(envelope_validate(built, &err), 0);
	assert_int_equal(envelope_serialize(built, &out, &outlen), 0);
	assert_null(strstr(out, "urn:accord:msg:1"));
	assert_non_null(strstr(out, "<m:Reason>Absconded</m:Reason>"));
	free(out);
	xmlFreeDoc(built);

	/* version 0 is version 1, the way callers before version 2 wrote */
	h.version = 0;
	assert_int_equal(envelope_build(&h, body, &built), 0);
	assert_int_equal(envelope_read(built, &h, NULL), 0);
	assert_int_equal(h.version, 1);
	xmlFreeDoc(built);
	/* a version this build does not speak */
	h.version = 3;
	assert_int_equal(envelope_build(&h, body, &built), -1);
	assert_null(built);
	xmlFreeDoc(doc);
}

/* The two versions never meet in one message. */
static void
test_versions_do_not_mix(void **state)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlNodePtr body, child;
	xmlDocPtr doc, built;
	xmlNsPtr ns;
	char *buf, *b1;
	size_t len;

	(void)state;
	assert_non_null(buf = example("valid", "Withdrawal.xml", &len));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);

	/* a version 1 envelope whose body was moved to version 2 after
	 * building: the schema refuses it, and so does the reader */
	assert_int_equal(envelope_build(&h, body, &built), 0);
	assert_int_equal(envelope_read(built, &h, &child), 0);
	assert_non_null(ns = xmlNewNs(child, BAD_CAST ENVELOPE_MSG_NS_2,
	    BAD_CAST "v2"));
	xmlSetNs(child, ns);
	assert_int_equal(envelope_validate(built, &err), -1);
	assert_int_equal(err.code, AE_SCHEMA_INVALID);
	logbuf[0] = '\0';
	assert_int_equal(envelope_read(built, &h, NULL), -1);
	assert_non_null(strstr(logbuf, "a version 2 document"));
	xmlFreeDoc(built);

	/* a body that already mixes the two is not built */
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	child = xmlFirstElementChild(body);
	assert_non_null(ns = xmlNewNs(child, BAD_CAST ENVELOPE_MSG_NS_2,
	    BAD_CAST "v2"));
	xmlSetNs(child, ns);
	h.version = 2;
	assert_int_equal(envelope_build(&h, body, &built), -1);
	assert_null(built);
	xmlFreeDoc(doc);

	/* an envelope of no known version: its own clear refusal */
	b1 = replace(buf, "urn:accord:envelope:1", "urn:accord:envelope:7");
	assert_int_equal(envelope_parse(b1, strlen(b1), NULL, &doc, &err), -1);
	assert_int_equal(err.code, AE_SCHEMA_INVALID);
	assert_non_null(strstr(err.text, "urn:accord:envelope:7"));
	free(b1);
	free(buf);

	/* NOT_YET and Redelivery exist in version 2 only */
	assert_non_null(buf = example("valid", "Error.not-yet.v2.xml", &len));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	h.version = 1;
	assert_int_equal(envelope_build(&h, body, &built), 0);
	assert_int_equal(envelope_validate(built, &err), -1);
	assert_int_equal(err.code, AE_SCHEMA_INVALID);
	assert_non_null(strstr(err.text, "NOT_YET"));
	xmlFreeDoc(built);
	xmlFreeDoc(doc);
	free(buf);
	assert_non_null(buf = example("valid", "Redelivery.xml", &len));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	h.version = 1;
	assert_int_equal(envelope_build(&h, body, &built), 0);
	assert_int_equal(envelope_validate(built, &err), -1);
	assert_int_equal(err.code, AE_SCHEMA_INVALID);
	xmlFreeDoc(built);
	xmlFreeDoc(doc);
	free(buf);
}

/* valid/Redelivery.xml carries valid/Withdrawal.signed.xml byte for byte. */
static void
test_redelivery_decode(void **state)
{
	struct envelope_redelivery r;
	struct envelope_error err;
	struct envelope_header h, ih, bad;
	xmlNodePtr body;
	xmlDocPtr doc, inner;
	char *buf, *orig;
	size_t len, olen;

	(void)state;
	assert_non_null(buf = example("valid", "Redelivery.xml", &len));
	assert_non_null(orig = example("valid", "Withdrawal.signed.xml",
	    &olen));
	assert_int_equal(envelope_parse(buf, len, NULL, &doc, &err), 0);
	assert_int_equal(envelope_read(doc, &h, &body), 0);
	assert_int_equal(h.type, MSG_REDELIVERY);
	assert_int_equal(h.version, 2);

	assert_int_equal(envelope_redelivery_read(body, 0, &r, &err), 0);
	assert_string_equal(r.original_id,
	    "d2af6d4e-5a71-4c89-9eab-4c5d6e7f8091");
	assert_int_equal(r.original_type, MSG_WITHDRAWAL);
	assert_int_equal(r.original_len, olen);
	assert_memory_equal(r.original, orig, olen);
	assert_int_equal(r.original[olen], '\0');

	/* the original is a message like any other, of its own version */
	assert_int_equal(envelope_parse(r.original, r.original_len, NULL,
	    &inner, &err), 0);
	assert_int_equal(envelope_read(inner, &ih, NULL), 0);
	assert_int_equal(ih.version, 1);
	assert_int_equal(envelope_redelivery_check(&r, &h, &ih, &err), 0);
	bad = ih;
	snprintf(bad.case_id, sizeof(bad.case_id), "FR-KZ-2026-000124");
	assert_int_equal(envelope_redelivery_check(&r, &h, &bad, &err), -1);
	assert_int_equal(err.code, AE_SCHEMA_INVALID);
	assert_non_null(strstr(err.text, "CaseId"));
	bad = ih;
	bad.message_id[0] = 'e';
	assert_int_equal(envelope_redelivery_check(&r, &h, &bad, &err), -1);
	assert_non_null(strstr(err.text, "OriginalMessageId"));
	bad = ih;
	bad.type = MSG_CONSULTATION;
	assert_int_equal(envelope_redelivery_check(&r, &h, &bad, &err), -1);
	assert_non_null(strstr(err.text, "OriginalType"));
	bad = ih;
	snprintf(bad.from_country, sizeof(bad.from_country), "DE");
	assert_int_equal(envelope_redelivery_check(&r, &h, &bad, &err), -1);
	assert_non_null(strstr(err.text, "From"));
	bad = ih;
	snprintf(bad.agreement_id, sizeof(bad.agreement_id), "OTHER");
	assert_int_equal(envelope_redelivery_check(&r, &h, &bad, &err), -1);
	assert_non_null(strstr(err.text, "AgreementId"));
	xmlFreeDoc(inner);
	envelope_redelivery_clear(&r);
	assert_null(r.original);

	/* bounded: one byte over the limit is refused before decoding */
	assert_int_equal(envelope_redelivery_read(body, olen - 1, &r, &err),
	    -1);
	assert_int_equal(err.code, AE_TOO_LARGE);
	assert_null(r.original);
	assert_int_equal(envelope_redelivery_read(body, olen, &r, &err), 0);
	envelope_redelivery_clear(&r);

	/* only a Redelivery is read as one */
	assert_int_equal(envelope_redelivery_read(xmlDocGetRootElement(doc), 0,
	    &r, &err), -1);
	assert_int_equal(err.code, AE_SCHEMA_INVALID);
	xmlFreeDoc(doc);
	free(orig);
	free(buf);
}

/* One Original, set by hand: what the decoder makes of it. */
static int
decode_original(const char *b64, struct envelope_redelivery *r,
    struct envelope_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	xmlNsPtr ns;
	int rc;

	doc = xmlNewDoc(BAD_CAST "1.0");
	root = xmlNewDocNode(doc, NULL, BAD_CAST "Redelivery", NULL);
	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, BAD_CAST ENVELOPE_MSG_NS_2, NULL);
	xmlSetNs(root, ns);
	xmlNewTextChild(root, ns, BAD_CAST "OriginalMessageId",
	    BAD_CAST "d2af6d4e-5a71-4c89-9eab-4c5d6e7f8091");
	xmlNewTextChild(root, ns, BAD_CAST "OriginalType",
	    BAD_CAST "Withdrawal");
	xmlNewTextChild(root, ns, BAD_CAST "Original", BAD_CAST b64);
	rc = envelope_redelivery_read(root, 0, r, err);
	xmlFreeDoc(doc);
	return rc;
}

/* Strict base64, as xs:base64Binary: one encoding per byte string. */
static void
test_redelivery_base64(void **state)
{
	static const char *refused[] = {
		"QR==",		/* unused bits set */
		"QUJ=",		/* unused bits set */
		"QQ",		/* unpadded */
		"QQ=",		/* short */
		"=QUJ",		/* padding first */
		"QQ==QQ==",	/* padding inside */
		"Q===",		/* too much padding */
		"QU*D",		/* not the alphabet */
		"QUJD-_",	/* base64url */
		"",
	};
	struct envelope_redelivery r;
	struct envelope_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (decode_original(refused[i], &r, &err) == 0)
			fail_msg("'%s' decoded", refused[i]);
		assert_int_equal(err.code, AE_SCHEMA_INVALID);
	}
	assert_int_equal(decode_original("QQ==", &r, &err), 0);
	assert_int_equal(r.original_len, 1);
	assert_string_equal(r.original, "A");
	envelope_redelivery_clear(&r);
	/* XML white space anywhere is not significant */
	assert_int_equal(decode_original(" Q U\nJ\tD\r\n ", &r, &err), 0);
	assert_string_equal(r.original, "ABC");
	envelope_redelivery_clear(&r);
	assert_int_equal(decode_original("Q\nU\nI\n=", &r, &err), 0);
	assert_string_equal(r.original, "AB");
	envelope_redelivery_clear(&r);
}

/*
 * What we send: envelope_redelivery_body() of some bytes, in a version 2
 * envelope, validates and gives the same bytes back, for every length
 * around the encoding's groups and lines.
 */
static void
test_redelivery_build(void **state)
{
	struct envelope_redelivery r;
	struct envelope_error err;
	struct envelope_header oh, h, h2;
	xmlNodePtr body;
	xmlDocPtr bdoc, built, back;
	unsigned char bytes[400];
	char *out;
	size_t i, n, outlen;

	(void)state;
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 37 + 11);
	memset(&oh, 0, sizeof(oh));
	snprintf(oh.message_id, sizeof(oh.message_id),
	    "d2af6d4e-5a71-4c89-9eab-4c5d6e7f8091");
	oh.type = MSG_TRANSFER_NOTICE;
	memset(&h, 0, sizeof(h));
	snprintf(h.case_id, sizeof(h.case_id), "FR-KZ-2026-000123");
	snprintf(h.from_country, sizeof(h.from_country), "FR");
	snprintf(h.from_authority, sizeof(h.from_authority), "DGEF");
	snprintf(h.to_country, sizeof(h.to_country), "KZ");
	snprintf(h.to_authority, sizeof(h.to_authority), "MVD");
	snprintf(h.agreement_id, sizeof(h.agreement_id), "FR-KZ-RA-2026");
	h.type = MSG_REDELIVERY;
	h.version = 2;
	for (n = 1; n <= sizeof(bytes); n += n < 120 ? 1 : 53) {
		assert_int_equal(envelope_redelivery_body(&oh,
		    (const char *)bytes, n, &bdoc), 0);
		assert_int_equal(envelope_build(&h, xmlDocGetRootElement(bdoc),
		    &built), 0);
		if (envelope_validate(built, &err) == -1)
			fail_msg("%zu bytes: %s", n, err.text);
		assert_int_equal(envelope_serialize(built, &out, &outlen), 0);
		assert_int_equal(envelope_parse(out, outlen, NULL, &back, &err),
		    0);
		assert_int_equal(envelope_read(back, &h2, &body), 0);
		assert_int_equal(h2.type, MSG_REDELIVERY);
		assert_int_equal(envelope_redelivery_read(body, 0, &r, &err), 0);
		assert_int_equal(r.original_len, n);
		assert_memory_equal(r.original, bytes, n);
		assert_int_equal(r.original_type, MSG_TRANSFER_NOTICE);
		envelope_redelivery_clear(&r);
		xmlFreeDoc(back);
		xmlFreeDoc(built);
		xmlFreeDoc(bdoc);
		free(out);
	}
	/* signals and Redeliveries are not redelivered */
	oh.type = MSG_RECEIPT;
	assert_int_equal(envelope_redelivery_body(&oh, (const char *)bytes, 10,
	    &bdoc), -1);
	oh.type = MSG_REDELIVERY;
	assert_int_equal(envelope_redelivery_body(&oh, (const char *)bytes, 10,
	    &bdoc), -1);
	assert_null(bdoc);
	/* nor is a Redelivery built in version 1 valid */
	oh.type = MSG_WITHDRAWAL;
	assert_int_equal(envelope_redelivery_body(&oh, (const char *)bytes, 10,
	    &bdoc), 0);
	h.version = 1;
	assert_int_equal(envelope_build(&h, xmlDocGetRootElement(bdoc),
	    &built), 0);
	assert_int_equal(envelope_validate(built, &err), -1);
	xmlFreeDoc(built);
	xmlFreeDoc(bdoc);
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
		cmocka_unit_test(test_versions_read),
		cmocka_unit_test(test_build_across_versions),
		cmocka_unit_test(test_build_inherited_namespace),
		cmocka_unit_test(test_versions_do_not_mix),
		cmocka_unit_test(test_redelivery_decode),
		cmocka_unit_test(test_redelivery_base64),
		cmocka_unit_test(test_redelivery_build),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
