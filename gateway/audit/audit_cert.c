/*
 * audit_cert.c -- certificates: those a message carries in its KeyInfo
 * (decoded once per thread when a cache is given), the trust anchors of
 * --trust, and a PEM file's (--cert).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "audit/audit_priv.h"
#include "conf/conffile.h"
#include "persist/record.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define DSIG_NS		"http://www.w3.org/2000/09/xmldsig#"
#define AUDIT_MAX_DER	16384

static xmlNodePtr
audit_elem(xmlNodePtr n)
{
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static int
audit_is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->ns != NULL &&
	    xmlStrcmp(n->ns->href, BAD_CAST DSIG_NS) == 0 &&
	    xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static X509 *
audit_certcache_get(struct audit_certcache *c, const char *sha256)
{
	int i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (strcmp(c->e[i].sha256, sha256) == 0)
			return c->e[i].x;
	return NULL;
}

static void
audit_certcache_put(struct audit_certcache *c, const struct audit_cert *ac)
{
	if (c == NULL || c->n >= AUDIT_CERTCACHE_MAX)
		return;
	X509_up_ref(ac->x);
	c->e[c->n++] = *ac;
}

void
audit_certcache_free(struct audit_certcache *c)
{
	audit_certs_free(c->e, c->n);
	c->n = 0;
}

/* The certificates of the root's ds:Signature/ds:KeyInfo, each decoded
 * once when a cache is given (X509 objects of one thread's).
 * @return how many (at most max). */
int
audit_keyinfo_certs(xmlDocPtr doc, struct audit_cert *out, int max,
    struct audit_certcache *cache)
{
	xmlNodePtr root, sig = NULL, n, ki = NULL, xd, c;
	xmlChar *txt;
	unsigned char *der;
	const unsigned char *p;
	char *b64;
	size_t i, j, len;
	int dlen, count = 0;

	root = xmlDocGetRootElement(doc);
	for (n = audit_elem(root != NULL ? root->children : NULL); n != NULL;
	    n = audit_elem(n->next))
		if (audit_is(n, "Signature"))
			sig = n;
	for (n = audit_elem(sig != NULL ? sig->children : NULL); n != NULL;
	    n = audit_elem(n->next))
		if (audit_is(n, "KeyInfo"))
			ki = n;
	der = xmalloc(AUDIT_MAX_DER);
	for (xd = audit_elem(ki != NULL ? ki->children : NULL); xd != NULL;
	    xd = audit_elem(xd->next)) {
		if (!audit_is(xd, "X509Data"))
			continue;
		for (c = audit_elem(xd->children); c != NULL && count < max;
		    c = audit_elem(c->next)) {
			if (!audit_is(c, "X509Certificate") ||
			    (txt = xmlNodeGetContent(c)) == NULL)
				continue;
			len = strlen((const char *)txt);
			b64 = xmalloc(len + 1);
			for (i = j = 0; i < len; i++)
				if (strchr(" \t\r\n", txt[i]) == NULL)
					b64[j++] = (char)txt[i];
			b64[j] = '\0';
			xmlFree(txt);
			dlen = -1;
			if (j > 0 && j % 4 == 0 && j / 4 * 3 <= AUDIT_MAX_DER)
				dlen = EVP_DecodeBlock(der,
				    (unsigned char *)b64, (int)j);
			if (dlen > 0 && b64[j - 1] == '=')
				dlen--;
			if (dlen > 0 && j > 1 && b64[j - 2] == '=')
				dlen--;
			free(b64);
			if (dlen <= 0)
				continue;
			record_sha256_hex(der, (size_t)dlen,
			    out[count].sha256);
			if ((out[count].x = audit_certcache_get(cache,
			    out[count].sha256)) != NULL) {
				X509_up_ref(out[count].x);
				count++;
				continue;
			}
			p = der;
			out[count].x = d2i_X509(NULL, &p, dlen);
			if (out[count].x == NULL) {
				ERR_clear_error();
				continue;
			}
			audit_certcache_put(cache, &out[count]);
			count++;
		}
	}
	free(der);
	return count;
}

void
audit_certs_free(struct audit_cert *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		X509_free(c[i].x);
}

/* Every certificate of every *.pem of dir into a new store. */
X509_STORE *
audit_trust_load(const char *dir)
{
	struct dirent **names = NULL;
	X509_STORE *st;
	X509 *x;
	FILE *fp;
	char *path;
	size_t len;
	int n, i, count = 0;

	if ((st = X509_STORE_new()) == NULL)
		return NULL;
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		log_err(ATAG, "%s", dir);
		X509_STORE_free(st);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		len = strlen(names[i]->d_name);
		if (len > 4 && strcmp(names[i]->d_name + len - 4, ".pem") ==
		    0) {
			path = conf_path(dir, names[i]->d_name);
			if ((fp = fopen(path, "r")) != NULL) {
				while ((x = PEM_read_X509(fp, NULL, NULL,
				    NULL)) != NULL) {
					X509_STORE_add_cert(st, x);
					X509_free(x);
					count++;
				}
				ERR_clear_error();
				fclose(fp);
			}
			free(path);
		}
		free(names[i]);
	}
	free(names);
	if (count == 0)
		log_warnx(ATAG, "%s: no certificate in any *.pem", dir);
	return st;
}

/* 1 if x chains to st at time t. */
int
audit_trust_check(X509_STORE *st, X509 *x, accord_time_t t, char *why,
    size_t len)
{
	X509_STORE_CTX *ctx;
	int ok = 0;

	if ((ctx = X509_STORE_CTX_new()) == NULL)
		return 0;
	if (X509_STORE_CTX_init(ctx, st, x, NULL) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			snprintf(why, len, "%s", X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

X509 *
audit_cert_read(const char *path)
{
	X509 *x = NULL;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		log_err(ATAG, "%s", path);
		return NULL;
	}
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL) {
		log_openssl(ATAG, path);
		ERR_clear_error();
	}
	return x;
}
