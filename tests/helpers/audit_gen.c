/*
 * audit_gen.c -- journals for the audit tests: Kazakhstan and France,
 * two engines in one process (as in test_engine.c), exchange real signed
 * messages and receipts with the test clock:
 *
 *	accepted  FR asks, KZ accepts a day later
 *	deemed    FR asks, KZ stays silent, the reply deadline fires
 *	refused   FR asks, KZ refuses with grounds
 *	(and a Withdrawal for a case KZ never heard of: a REFUSAL record)
 *
 * The engines are restarted once on the way (more configuration loads
 * and checkpoints) and days pass (journal files rotate daily).
 *
 * usage: audit_gen WORKDIR   (WORKDIR holds conf/ and pki/, as made by
 * tests/helpers/lib.sh's make_workdir; the journals go to
 * WORKDIR/var/{kz,fr} and the case ids to WORKDIR/cases.txt, "name id"
 * per line).
 *
 * With AUDIT_GEN_PEOPLE set, each case is about another person: its
 * messages get the surname and document numbers of people[] instead of
 * the example's, and WORKDIR/people.txt says which ("name surname doc
 * doc" per line; tests/shell/audit_export.sh greps exports for them).
 * With AUDIT_GEN_UPGRADE set, the engines write journal format 1 until
 * the restart and format 2 after it (ACCORD_TEST_JOURNAL_FORMAT): a
 * journal upgraded on the way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "util/clock.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "engine/engine.h"
#include "msg/envelope.h"
#include "fsm/fsm.h"
#include "util/log.h"
#include "persist/record.h"
#include "msg/xmlsig.h"
#include "testutil.h"

static const char *workdir;
static struct config *kzc, *frc;

/* AUDIT_GEN_PEOPLE: who each case is about (the example's own person is
 * Nurlanov, passport N12345678, identity card KZ 0042 1177). */
static const struct person {
	const char	*name;
	const char	*surname;
	const char	*passport;
	const char	*card;
} people[] = {
	{ "accepted", "Abenov", "N70000001", "KZ 0071 0001" },
	{ "refused", "Zhaksylykova", "N80000002", "KZ 0082 0002" },
	{ "deemed", "Temirkhanov", "N90000003", "KZ 0093 0003" },
};
static int people_mode;
static int person = -1;		/* whose case the next message is */
static struct engine *kz, *fr;

static void
die(const char *what)
{
	fprintf(stderr, "audit_gen: %s\n", what);
	exit(1);
}

/* Replace every from in *s (of *len bytes, NUL-terminated) by to. */
static void
replace_all(char **s, size_t *len, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *p, *q, *out, *o;

	for (p = *s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	if (n == 0)
		return;
	if ((out = malloc(*len + n * tl + 1)) == NULL)
		die("malloc");
	for (p = *s, o = out; (q = strstr(p, from)) != NULL; p = q + fl) {
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
	}
	memcpy(o, p, strlen(p) + 1);
	free(*s);
	*s = out;
	*len = strlen(out);
}

static char *
path(const char *rel)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", workdir, rel);
	return buf;
}

static struct config *
load(const char *rel)
{
	struct conf_diag d = { 0 };
	struct config *c;

	c = config_load(path(rel), clock_now(), &d);
	if (c == NULL) {
		conf_diag_print(&d, stderr);
		die("configuration refused");
	}
	conf_diag_free(&d);
	return c;
}

static void
open_engines(void)
{
	if ((kz = engine_open(kzc)) == NULL || (fr = engine_open(frc)) == NULL)
		die("engine_open");
}

static void
close_engines(void)
{
	engine_close(kz);
	engine_close(fr);
}

/* The business document of a valid example, refused instead of accepted
 * when refuse is set. */
static char *
example_body(const char *type, int refuse, size_t *len)
{
	char *out = test_example_body(type, len);

	char alias[64];

	if (out == NULL)
		die(type);
	if (refuse)
		test_refuse_body(&out, len);
	if (people_mode && person >= 0) {
		snprintf(alias, sizeof(alias), "%sff", people[person].surname);
		replace_all(&out, len, "Nurlanoff", alias);
		replace_all(&out, len, "Nurlanov", people[person].surname);
		replace_all(&out, len, "N12345678", people[person].passport);
		replace_all(&out, len, "KZ 0042 1177", people[person].card);
	}
	return out;
}

/* from submits type, to takes it, from takes the receipt. */
static void
exchange(struct engine *from, const char *from_cc, struct engine *to,
    const char *to_cc, const char *type, const char *case_id, int refuse,
    char *case_out)
{
	struct engine_submission sub;
	struct engine_outgoing out;
	struct engine_answer a, r;
	size_t len;
	char *doc = example_body(type, refuse, &len);

	memset(&sub, 0, sizeof(sub));
	sub.partner = to_cc;
	sub.case_id = case_id;
	sub.uid = 1000;
	if (engine_submit(from, &sub, doc, len, &out, &a) == -1) {
		fprintf(stderr, "submit %s: %s\n", type, a.text);
		die("submit refused");
	}
	free(doc);
	if (case_out != NULL)
		snprintf(case_out, RECORD_ID_MAX, "%s", out.case_id);
	if (engine_receive(to, from_cc, out.body, out.len, &r) == -1 ||
	    engine_flush(to) == -1 || r.body == NULL)
		die("receive");
	if (engine_receipt(from, to_cc, out.message_id, r.body, r.len,
	    &a) == -1)
		die("receipt");
	engine_answer_clear(&r);
	engine_outgoing_clear(&out);
}

/* A Withdrawal signed by France for a case Kazakhstan does not know. */
static void
unknown_case(void)
{
	struct envelope_header h;
	struct xmlsig_signer *s;
	struct engine_answer a;
	xmlDocPtr body, doc;
	char *b, *bytes, key[1024];
	size_t blen, len;

	b = example_body("Withdrawal", 0, &blen);
	body = xmlReadMemory(b, (int)blen, "b.xml", NULL, XML_PARSE_NONET);
	free(b);
	memset(&h, 0, sizeof(h));
	snprintf(h.message_id, sizeof(h.message_id),
	    "2d7f9c5a-3b4e-4f8a-8cbd-2e3f4a5b6c7d");
	snprintf(h.case_id, sizeof(h.case_id), "FR-KZ-NOSUCH");
	snprintf(h.from_country, sizeof(h.from_country), "FR");
	snprintf(h.from_authority, sizeof(h.from_authority), "DGEF");
	snprintf(h.to_country, sizeof(h.to_country), "KZ");
	snprintf(h.to_authority, sizeof(h.to_authority), "MVD");
	snprintf(h.agreement_id, sizeof(h.agreement_id),
	    "KZ-FR-READMISSION-1");
	h.type = MSG_WITHDRAWAL;
	h.created = clock_now();
	if (envelope_build(&h, xmlDocGetRootElement(body), &doc) == -1)
		die("envelope_build");
	snprintf(key, sizeof(key), "%s", path("pki/fr/sign-ec.key"));
	if ((s = xmlsig_signer_load(key, path("pki/fr/sign-ec.pem"))) == NULL ||
	    xmlsig_sign(s, doc) == -1 ||
	    envelope_serialize(doc, &bytes, &len) == -1)
		die("signing the Withdrawal");
	if (engine_receive(kz, "FR", bytes, len, &a) == -1 ||
	    engine_flush(kz) == -1 || a.code != AE_UNKNOWN_CASE)
		die("the unknown case was not refused");
	engine_answer_clear(&a);
	free(bytes);
	xmlsig_signer_free(s);
	xmlFreeDoc(doc);
	xmlFreeDoc(body);
}

int
main(int argc, char **argv)
{
	struct fsm_case c;
	accord_time_t t;
	char accepted[RECORD_ID_MAX], deemed[RECORD_ID_MAX];
	char refused[RECORD_ID_MAX], proto[1024];
	const char *src = getenv("ACCORD_SRCDIR");
	FILE *fp;
	int i;

	if (argc != 2 || src == NULL)
		die("usage: audit_gen WORKDIR (ACCORD_SRCDIR set)");
	workdir = argv[1];
	log_init("audit_gen", 1, LOG_LVL_WARN);
	xmlInitParser();
	snprintf(proto, sizeof(proto), "%s/protocols", src);
	if (envelope_init(proto) == -1 || xmlsig_init() == -1)
		die("init");
	/* an hour after the test PKI was made */
	if ((t = test_pki_time(workdir)) == 0)
		die("test PKI");
	clock_use_real();
	clock_test_set(t);
	kzc = load("conf/accordd.xml");
	frc = load("conf/demo-fr/accordd.xml");
	people_mode = getenv("AUDIT_GEN_PEOPLE") != NULL;
	if (getenv("AUDIT_GEN_UPGRADE") != NULL)
		setenv("ACCORD_TEST_JOURNAL_FORMAT", "1", 1);
	open_engines();

	person = 0;
	exchange(fr, "FR", kz, "KZ", "ReadmissionRequest", NULL, 0, accepted);
	clock_test_advance(86400);
	exchange(kz, "KZ", fr, "FR", "ReadmissionReply", accepted, 0, NULL);

	person = 1;
	exchange(fr, "FR", kz, "KZ", "ReadmissionRequest", NULL, 0, refused);
	person = -1;
	unknown_case();

	/* a restart: configuration loads, fresh checkpoints (and, with
	 * AUDIT_GEN_UPGRADE, the upgrade to journal format 2) */
	close_engines();
	unsetenv("ACCORD_TEST_JOURNAL_FORMAT");
	clock_test_advance(3 * 86400);
	open_engines();
	person = 1;
	exchange(kz, "KZ", fr, "FR", "ReadmissionReply", refused, 1, NULL);

	person = 2;
	exchange(fr, "FR", kz, "KZ", "ReadmissionRequest", NULL, 0, deemed);
	if (engine_case_get(kz, "FR", deemed, &c) != 1)
		die("no case");
	clock_test_set(c.due[FSM_DL_REPLY] + 60);
	if (engine_deadlines(kz, clock_now()) != 1 ||
	    engine_deadlines(fr, clock_now()) != 1)
		die("the reply deadline did not fire once on each side");
	/* one more exchange after the deadline: receipts carry the
	 * checkpoints of the days before */
	clock_test_advance(86400);
	person = 0;
	exchange(fr, "FR", kz, "KZ", "Withdrawal", accepted, 0, NULL);
	close_engines();

	if (people_mode) {
		if ((fp = fopen(path("people.txt"), "w")) == NULL)
			die("people.txt");
		for (i = 0; i < 3; i++)
			fprintf(fp, "%s %s %s %s\n", people[i].name,
			    people[i].surname, people[i].passport,
			    people[i].card);
		fclose(fp);
	}
	if ((fp = fopen(path("cases.txt"), "w")) == NULL)
		die("cases.txt");
	fprintf(fp, "accepted %s\nrefused %s\ndeemed %s\n", accepted, refused,
	    deemed);
	fclose(fp);
	config_free(kzc);
	config_free(frc);
	xmlsig_shutdown();
	envelope_shutdown();
	return 0;
}
