/*
 * xmlsig_tool.c -- Accord's XML signatures from the command line, for the
 * interoperability test (tests/shell/interop_xmlsig.sh) and for looking at
 * attacks by hand.
 *
 *	xmlsig_tool sign KEY CERT IN OUT	sign IN (an unsigned envelope)
 *	xmlsig_tool verify CERT IN		verify IN as from a partner
 *						whose one signing certificate
 *						is CERT, at the current time
 *	xmlsig_tool attack TEMPLATE PKI OUT	write the attack a template of
 *						tests/data/attacks/ describes,
 *						signed now with keys of PKI
 *
 * Schemas come from $ACCORD_SRCDIR/protocols (default ".").  Exit status
 * 0 on success, 1 on refusal, 2 on usage or set-up errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "conf/agreement.h"
#include "attackgen.h"
#include "util/clock.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "util/errcode.h"
#include "util/log.h"
#include "msg/xmlsig.h"

static void
usage(void)
{
	fprintf(stderr, "usage: xmlsig_tool sign KEY CERT IN OUT\n"
	    "       xmlsig_tool verify CERT IN\n"
	    "       xmlsig_tool attack TEMPLATE PKI OUT\n");
	exit(2);
}

static int
write_file(const char *path, const char *buf, size_t len)
{
	FILE *f;
	int ret = 0;

	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fwrite(buf, 1, len, f) != len)
		ret = -1;
	if (fclose(f) != 0)
		ret = -1;
	if (ret == -1)
		perror(path);
	return ret;
}

static xmlDocPtr
parse_file(const char *path)
{
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	char *buf;
	size_t len;

	if ((buf = attack_slurp(path, &len)) == NULL) {
		perror(path);
		return NULL;
	}
	if (envelope_parse(buf, len, NULL, &doc, &err) == -1)
		fprintf(stderr, "%s: REFUSED %s: line %d: %s\n", path,
		    errcode_name(err.code), err.line, err.text);
	free(buf);
	return doc;
}

static int
cmd_sign(char **argv)
{
	struct xmlsig_signer *s = NULL;
	xmlDocPtr doc = NULL;
	char *buf = NULL;
	size_t len;
	int ret = 2;

	if ((s = xmlsig_signer_load(argv[0], argv[1])) == NULL)
		goto done;
	if ((doc = parse_file(argv[2])) == NULL)
		goto done;
	if (xmlsig_sign(s, doc) == -1 ||
	    envelope_serialize(doc, &buf, &len) == -1 ||
	    write_file(argv[3], buf, len) == -1)
		goto done;
	ret = 0;

 done:
	free(buf);
	if (doc != NULL)
		xmlFreeDoc(doc);
	xmlsig_signer_free(s);
	return ret;
}

static int
cmd_verify(char **argv)
{
	struct conf_diag d = { 0 };
	struct agreement a;
	struct signing_cert *sc;
	struct xmlsig_result res;
	xmlDocPtr doc = NULL;
	int ret = 2;

	memset(&a, 0, sizeof(a));
	snprintf(a.country, sizeof(a.country), "XX");
	sc = &a.signing[a.nsigning++];
	if ((sc->path = strdup(argv[0])) == NULL ||
	    (sc->cert = conf_load_cert(sc->path, "command line", 0,
	    &d)) == NULL) {
		conf_diag_print(&d, stderr);
		goto done;
	}
	conf_cert_sha256(sc->cert, sc->sha256);
	conf_cert_times(sc->cert, &sc->not_before, &sc->not_after);
	if ((doc = parse_file(argv[1])) == NULL) {
		ret = 1;
		goto done;
	}
	if (xmlsig_verify(doc, &a, clock_now(), &res) == -1) {
		printf("REFUSED %s: %s\n", errcode_name(res.code), res.text);
		ret = 1;
		goto done;
	}
	printf("OK signer sha256:%s\n", res.signer->sha256);
	ret = 0;

 done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	agreement_clear(&a);
	conf_diag_free(&d);
	return ret;
}

static int
cmd_attack(char **argv)
{
	struct attack a;
	int ret = 2;

	if (attack_generate(argv[0], argv[1], clock_now(), &a) == -1)
		return 2;
	if (write_file(argv[2], a.bytes, a.len) == 0) {
		printf("expect %s%s%s\n", a.expect, a.xmlsig[0] != '\0' ?
		    ", xmlsig alone " : "", a.xmlsig);
		ret = 0;
	}
	attack_free(&a);
	return ret;
}

int
main(int argc, char **argv)
{
	const char *src = getenv("ACCORD_SRCDIR");
	char proto[2048];
	int ret;

	if (argc < 2)
		usage();
	log_init("xmlsig_tool", 1, getenv("XMLSIG_DEBUG") != NULL ?
	    LOG_LVL_DEBUG : LOG_LVL_WARN);
	snprintf(proto, sizeof(proto), "%s/protocols", src != NULL ? src :
	    ".");
	if (envelope_init(proto) == -1 || xmlsig_init() == -1)
		return 2;
	if (strcmp(argv[1], "sign") == 0 && argc == 6)
		ret = cmd_sign(argv + 2);
	else if (strcmp(argv[1], "verify") == 0 && argc == 4)
		ret = cmd_verify(argv + 2);
	else if (strcmp(argv[1], "attack") == 0 && argc == 5)
		ret = cmd_attack(argv + 2);
	else
		usage();
	xmlsig_shutdown();
	envelope_shutdown();
	return ret;
}
