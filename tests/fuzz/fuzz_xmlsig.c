/*
 * fuzz_xmlsig.c -- the signature floor on a parsed message: envelope_parse
 * then xmlsig_verify on the same document, as from France, whose signing
 * certificates are the test PKI's ($ACCORD_PKI/fr/sign-rsa.pem and
 * sign-ec.pem, the pinned keys of conf/partners/fr.xml).  The seeds are
 * the examples and tests/data/attacks signed at run time (run.sh); no key
 * is committed.  Verification runs at the signing time of the seeds'
 * Created (the message's own), so that a mutated message can get as far
 * as the signature value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "conf/agreement.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "msg/xmlsig.h"
#include "fuzzutil.h"

static struct agreement partner;

static void
fuzz_add_cert(const char *pki, const char *name)
{
	struct conf_diag d = { 0 };
	struct signing_cert *sc;
	char path[4096];

	snprintf(path, sizeof(path), "%s/fr/%s", pki, name);
	sc = &partner.signing[partner.nsigning];
	if ((sc->path = strdup(path)) == NULL ||
	    (sc->cert = conf_load_cert(sc->path, "fuzz", 0, &d)) == NULL) {
		conf_diag_print(&d, stderr);
		exit(2);
	}
	conf_cert_sha256(sc->cert, sc->sha256);
	conf_cert_times(sc->cert, &sc->not_before, &sc->not_after);
	partner.nsigning++;
	conf_diag_free(&d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *pki;

	fuzz_log_init("fuzz_xmlsig");
	fuzz_envelope_init();
	pki = fuzz_env("ACCORD_PKI");
	snprintf(partner.country, sizeof(partner.country), "FR");
	fuzz_add_cert(pki, "sign-rsa.pem");
	fuzz_add_cert(pki, "sign-ec.pem");
	if (xmlsig_partner_keys_load(&partner) == -1)
		exit(2);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_error err;
	struct envelope_header h;
	struct xmlsig_result res;
	xmlDocPtr doc = NULL;
	accord_time_t now;

	if (envelope_parse((const char *)data, size, NULL, &doc, &err) == -1)
		return 0;
	/* now: the message's own time when it has one (a signature made
	 * minutes ago is checked at once, DESIGN.md 5), else the clock */
	now = envelope_read(doc, &h, NULL) == 0 ? h.created + 60 :
	    clock_now();
	(void)xmlsig_verify(doc, &partner, now, &res);
	xmlFreeDoc(doc);
	return 0;
}
