/*
 * testutil.c -- helpers shared by the C tests and their generators.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/x509.h>

#include "conf/conffile.h"
#include "msg/envelope.h"
#include "msg/xmlsig.h"
#include "util/log.h"
#include "testutil.h"

char *
test_example_body(const char *type, size_t *len)
{
	char file[1024], *out = NULL;
	xmlDocPtr ex, doc;
	xmlNodePtr n;
	xmlChar *buf;
	int blen;

	snprintf(file, sizeof(file), "%s/protocols/examples/valid/%s.xml",
	    getenv("ACCORD_SRCDIR"), type);
	if ((ex = xmlReadFile(file, NULL, XML_PARSE_NONET)) == NULL)
		return NULL;
	for (n = xmlDocGetRootElement(ex)->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, BAD_CAST "Body") == 0)
			break;
	if (n != NULL)
		for (n = n->children; n != NULL &&
		    n->type != XML_ELEMENT_NODE; n = n->next)
			;
	if (n != NULL) {
		doc = xmlNewDoc(BAD_CAST "1.0");
		xmlDocSetRootElement(doc, xmlDocCopyNode(n, doc, 1));
		xmlDocDumpMemoryEnc(doc, &buf, &blen, "UTF-8");
		if ((out = malloc((size_t)blen + 1)) != NULL) {
			memcpy(out, buf, (size_t)blen);
			out[blen] = '\0';
			*len = (size_t)blen;
		}
		xmlFree(buf);
		xmlFreeDoc(doc);
	}
	xmlFreeDoc(ex);
	return out;
}

int
test_refuse_body(char **doc, size_t *len)
{
	static const char refused[] = "<Refused><Ground>NotOwnNational"
	    "</Ground><Text>Not a national.</Text></Refused>";
	char *p, *q, *nd;

	if ((p = strstr(*doc, "<Accepted>")) == NULL ||
	    (q = strstr(*doc, "</Accepted>")) == NULL)
		return -1;
	q += strlen("</Accepted>");
	if ((nd = malloc(*len + sizeof(refused))) == NULL)
		abort();
	memcpy(nd, *doc, (size_t)(p - *doc));
	memcpy(nd + (p - *doc), refused, sizeof(refused) - 1);
	memcpy(nd + (p - *doc) + sizeof(refused) - 1, q, strlen(q) + 1);
	free(*doc);
	*doc = nd;
	*len = strlen(nd);
	return 0;
}

/* system() of a formatted command; -1 unless it exited 0. */
static int test_run(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
test_run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		fprintf(stderr, "testutil: command too long\n");
		return -1;
	}
	if (system(cmd) != 0) {
		fprintf(stderr, "testutil: failed: %s\n", cmd);
		return -1;
	}
	return 0;
}

int
test_scratch(char *dir, size_t size, const char *name)
{
	const char *build = getenv("ACCORD_BUILDDIR");
	int n;

	if (build == NULL) {
		fprintf(stderr, "testutil: ACCORD_BUILDDIR must be set (run "
		    "through make check)\n");
		return -1;
	}
	if (test_run("mkdir -p '%s/tests/tmp'", build) == -1)
		return -1;
	n = snprintf(dir, size, "%s/tests/tmp/%s.XXXXXX", build, name);
	if (n < 0 || (size_t)n >= size || mkdtemp(dir) == NULL) {
		fprintf(stderr, "testutil: cannot make %s\n", dir);
		return -1;
	}
	return 0;
}

int
test_workdir(char *dir, size_t size, const char *name)
{
	const char *src = getenv("ACCORD_SRCDIR");
	const char *pki = getenv("ACCORD_PKI");

	if (src == NULL || pki == NULL) {
		fprintf(stderr, "testutil: ACCORD_SRCDIR and ACCORD_PKI must "
		    "be set (run through make check)\n");
		return -1;
	}
	if (test_scratch(dir, size, name) == -1)
		return -1;
	/* the link last: chmod -R must not reach the shared PKI */
	return test_run("cp -R '%s/conf' '%s/conf' && chmod -R u+w '%s' && "
	    "ln -s '%s' '%s/pki'", src, dir, dir, pki, dir);
}

int
test_pki_own(const char *workdir)
{
	return test_run("rm '%s/pki' && cp -pR '%s' '%s/pki' && "
	    "chmod -R u+w '%s/pki'", workdir, getenv("ACCORD_PKI"), workdir,
	    workdir);
}

int
test_rmtree(const char *dir)
{
	return test_run("rm -rf '%s'", dir);
}

accord_time_t
test_pki_time(const char *workdir)
{
	struct conf_diag d = { 0 };
	accord_time_t nb = 0, na;
	char path[1024];
	X509 *x;

	snprintf(path, sizeof(path), "%s/pki/kz/tls-server.pem", workdir);
	x = conf_load_cert(path, "test", 0, &d);
	conf_diag_free(&d);
	if (x == NULL)
		return 0;
	if (conf_cert_times(x, &nb, &na) == -1)
		nb = 0;
	X509_free(x);
	return nb != 0 ? nb + 3600 : 0;
}

double
test_thread_cpu(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		abort();
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
test_burn(double sec)
{
	volatile uint64_t x = 0;
	double t0 = test_thread_cpu();

	while (test_thread_cpu() - t0 < sec)
		for (int i = 0; i < 10000; i++)
			x += (uint64_t)i * 7;
	return test_thread_cpu() - t0;
}

int
test_xml_start(const char *name)
{
	const char *src = getenv("ACCORD_SRCDIR");
	char proto[1024];

	if (src == NULL)
		return -1;
	log_init(name, 1, LOG_LVL_WARN);
	xmlInitParser();
	snprintf(proto, sizeof(proto), "%s/protocols", src);
	return envelope_init(proto) == -1 || xmlsig_init() == -1 ? -1 : 0;
}
