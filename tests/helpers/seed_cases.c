/*
 * seed_cases.c -- seed the Kazakhstan gateway's state directory of a test
 * work directory with known cases, by running its engine and France's in
 * this process (as test_engine.c does: real signed messages and receipts,
 * no network), so that tests/shell/ops.sh can start accordd on it.
 *
 * seed_cases WORKDIR prints one line per case, "NAME CASE-ID MESSAGE-ID":
 *	pending    KZ asked FR to readmit; FR's reply is due (KZ is R)
 *	accepted   KZ asked, FR accepted: the transfer window runs
 *	incoming   FR asked KZ (KZ is Q); the request is in KZ's inbox
 *	reply      FR's ReadmissionReply of "accepted", in KZ's inbox
 *	transit    KZ asked FR for transit; FR's reply is due
 *	consented  KZ asked FR for transit, FR consented
 *	undelivered KZ's request never reached FR (its case stays SUBMITTED)
 *	disputed   FR's receipt for KZ's request came back broken
 *	queued     KZ's request waits in the outbox
 * Without arguments it is a TAP self-test that skips (make check runs
 * every check program).
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
#include "util/log.h"
#include "msg/xmlsig.h"
#include "testutil.h"

static const char *workdir;

/*
 * from submits type (in case_id, or a new case); unless to is NULL, to
 * takes it and from takes to's receipt, one byte of it flipped when
 * corrupt is set.  Fills case_out and msg_out.  @return 0, or -1.
 */
static int
seed_send(struct engine *from, const char *from_cc, struct engine *to,
    const char *to_cc, const char *type, const char *case_id, int corrupt,
    char *case_out, char *msg_out)
{
	struct engine_submission sub;
	struct engine_outgoing out;
	struct engine_answer a, r;
	size_t len;
	char *doc;
	int rc = -1;

	if ((doc = test_example_body(type, &len)) == NULL)
		return -1;
	memset(&sub, 0, sizeof(sub));
	sub.partner = to_cc;
	sub.case_id = case_id;
	if (engine_submit(from, &sub, doc, len, &out, &a) == -1) {
		fprintf(stderr, "seed: submit %s: %s\n", type, a.text);
		free(doc);
		return -1;
	}
	free(doc);
	snprintf(case_out, RECORD_ID_MAX, "%s", out.case_id);
	snprintf(msg_out, RECORD_ID_MAX, "%s", out.message_id);
	if (to == NULL) {
		rc = 0;
		goto done;
	}
	memset(&r, 0, sizeof(r));
	if (engine_receive(to, from_cc, out.body, out.len, &r) == -1 ||
	    engine_flush(to) == -1 || r.body == NULL || r.code != AE_OK) {
		fprintf(stderr, "seed: %s refused: %s\n", type, r.text);
		engine_answer_clear(&r);
		goto done;
	}
	if (corrupt)
		r.body[r.len / 2] ^= 1;
	if (engine_receipt(from, to_cc, out.message_id, r.body, r.len,
	    &a) == -1 || (!corrupt && a.code != AE_OK)) {
		fprintf(stderr, "seed: receipt of %s: %s\n", type, a.text);
		engine_answer_clear(&r);
		goto done;
	}
	engine_answer_clear(&r);
	rc = 0;
done:
	engine_outgoing_clear(&out);
	return rc;
}

static struct config *
seed_load(const char *rel)
{
	struct conf_diag d = { 0 };
	struct config *c;
	char file[1024];

	snprintf(file, sizeof(file), "%s/%s", workdir, rel);
	if ((c = config_load(file, clock_now(), &d)) == NULL)
		conf_diag_print(&d, stderr);
	conf_diag_free(&d);
	return c;
}

int
main(int argc, char *argv[])
{
	struct config *kzc = NULL, *frc = NULL;
	struct engine *kz = NULL, *fr = NULL;
	char proto[1024], cmd[2048], c[RECORD_ID_MAX], m[RECORD_ID_MAX];
	char c2[RECORD_ID_MAX], m2[RECORD_ID_MAX];
	int rc = 1;

	if (argc != 2) {
		printf("1..0 # SKIP seeder for tests/shell/ops.sh\n");
		return 0;
	}
	workdir = argv[1];
	log_init("seed_cases", 1, LOG_LVL_WARN);
	xmlInitParser();
	snprintf(proto, sizeof(proto), "%s/protocols",
	    getenv("ACCORD_SRCDIR"));
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/var/kz' '%s/var/fr'",
	    workdir, workdir);
	if (envelope_init(proto) == -1 || xmlsig_init() == -1 ||
	    system(cmd) != 0)
		return 1;
	if ((kzc = seed_load("conf/accordd.xml")) == NULL ||
	    (frc = seed_load("conf/demo-fr/accordd.xml")) == NULL ||
	    (kz = engine_open(kzc)) == NULL || (fr = engine_open(frc)) == NULL)
		goto done;

	if (seed_send(kz, "KZ", fr, "FR", "ReadmissionRequest", NULL, 0, c,
	    m) == -1)
		goto done;
	printf("pending %s %s\n", c, m);
	if (seed_send(kz, "KZ", fr, "FR", "ReadmissionRequest", NULL, 0, c,
	    m) == -1 || seed_send(fr, "FR", kz, "KZ", "ReadmissionReply", c,
	    0, c2, m2) == -1)
		goto done;
	printf("accepted %s %s\n", c, m);
	printf("reply %s %s\n", c2, m2);
	if (seed_send(fr, "FR", kz, "KZ", "ReadmissionRequest", NULL, 0, c,
	    m) == -1)
		goto done;
	printf("incoming %s %s\n", c, m);
	if (seed_send(kz, "KZ", fr, "FR", "TransitRequest", NULL, 0, c,
	    m) == -1)
		goto done;
	printf("transit %s %s\n", c, m);
	if (seed_send(kz, "KZ", fr, "FR", "TransitRequest", NULL, 0, c,
	    m) == -1 || seed_send(fr, "FR", kz, "KZ", "TransitReply", c, 0,
	    c2, m2) == -1)
		goto done;
	printf("consented %s %s\n", c, m);
	if (seed_send(kz, "KZ", NULL, "FR", "ReadmissionRequest", NULL, 0, c,
	    m) == -1 || engine_undelivered(kz, "FR", m, "seeded: the "
	    "partner never answered") == -1)
		goto done;
	printf("undelivered %s %s\n", c, m);
	if (seed_send(kz, "KZ", fr, "FR", "ReadmissionRequest", NULL, 1, c,
	    m) == -1)
		goto done;
	printf("disputed %s %s\n", c, m);
	if (seed_send(kz, "KZ", NULL, "FR", "ReadmissionRequest", NULL, 0, c,
	    m) == -1)
		goto done;
	printf("queued %s %s\n", c, m);
	rc = 0;
done:
	engine_close(kz);
	engine_close(fr);
	config_free(kzc);
	config_free(frc);
	xmlsig_shutdown();
	envelope_shutdown();
	return rc;
}
