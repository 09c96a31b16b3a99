/*
 * testutil.c -- helpers shared by the C tests and their generators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/x509.h>

#include "conf/conffile.h"
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
