/*
 * attackgen.c -- make the hostile messages of tests/data/attacks/ from their
 * templates (see attackgen.h for the directives).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/crypto.h>

#include "attackgen.h"
#include "util/clock.h"

#define DSIG_NS		"http://www.w3.org/2000/09/xmldsig#"
#define ATTACK_MAX_EDITS	8
#define ATTACK_MAX_SIGS		4

struct attack_gen {
	char	 sign[128];
	char	 keyinfo[128];
	char	 edit_from[ATTACK_MAX_EDITS][2048];
	char	 edit_to[ATTACK_MAX_EDITS][2048];
	int	 nedits;
};

char *
attack_slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf = NULL;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) !=
	    NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (lenp != NULL)
				*lenp = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

void
attack_free(struct attack *a)
{
	free(a->bytes);
	a->bytes = NULL;
}

/* Replace the first from in *buf by to; *buf is reallocated.  @return 0/-1 */
static int
attack_replace(char **buf, const char *from, const char *to)
{
	char *p, *out;
	size_t a, b, c;

	if (from[0] == '\0' || (p = strstr(*buf, from)) == NULL)
		return -1;
	a = (size_t)(p - *buf);
	b = strlen(to);
	c = strlen(p + strlen(from));
	if ((out = malloc(a + b + c + 1)) == NULL)
		return -1;
	memcpy(out, *buf, a);
	memcpy(out + a, to, b);
	memcpy(out + a + b, p + strlen(from), c + 1);
	free(*buf);
	*buf = out;
	return 0;
}

/* Copy s into dst, {comment} expanded. */
static void
attack_expand(char *dst, size_t len, const char *s, size_t n)
{
	const char *tok = "{comment}";
	size_t o = 0;

	while (n > 0 && o + 1 < len) {
		if (n >= strlen(tok) && strncmp(s, tok, strlen(tok)) == 0) {
			o += (size_t)snprintf(dst + o, len - o,
			    "<!-- injected -->");
			if (o >= len)
				o = len - 1;
			s += strlen(tok);
			n -= strlen(tok);
			continue;
		}
		dst[o++] = *s++;
		n--;
	}
	dst[o] = '\0';
}

/* Copy, truncating: directive values are short. */
static void
attack_set(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Read the first line and the gen directives. */
static int
attack_directives(const char *path, const char *t, struct attack *a,
    struct attack_gen *g)
{
	const char *p, *e, *arrow;
	char line[4096];
	size_t n;

	if (sscanf(t, "<!-- expect: %63[A-Z_];", a->expect) != 1) {
		fprintf(stderr, "%s: no expect comment on line 1\n", path);
		return -1;
	}
	if ((p = strstr(t, "attack: ")) != NULL &&
	    (e = strstr(p, " -->")) != NULL)
		snprintf(a->what, sizeof(a->what), "%.*s", (int)(e - p - 8),
		    p + 8);
	for (p = strstr(t, "<!-- gen: "); p != NULL;
	    p = strstr(e, "<!-- gen: ")) {
		p += strlen("<!-- gen: ");
		if ((e = strstr(p, " -->")) == NULL)
			return -1;
		n = (size_t)(e - p);
		if (n >= sizeof(line))
			return -1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (strncmp(line, "sign ", 5) == 0)
			attack_set(g->sign, sizeof(g->sign), line + 5);
		else if (strncmp(line, "keyinfo ", 8) == 0)
			attack_set(g->keyinfo, sizeof(g->keyinfo), line + 8);
		else if (strncmp(line, "xmlsig ", 7) == 0)
			attack_set(a->xmlsig, sizeof(a->xmlsig), line + 7);
		else if (strncmp(line, "value ", 6) == 0 &&
		    a->nvalues < ATTACK_MAX_VALUES &&
		    sscanf(line + 6, "%63s", a->value_name[a->nvalues]) ==
		    1) {
			attack_set(a->value_text[a->nvalues],
			    sizeof(a->value_text[0]), line + 6 +
			    strlen(a->value_name[a->nvalues]) + 1);
			a->nvalues++;
		} else if (strncmp(line, "edit ", 5) == 0 &&
		    g->nedits < ATTACK_MAX_EDITS &&
		    (arrow = strstr(line, " => ")) != NULL) {
			attack_expand(g->edit_from[g->nedits],
			    sizeof(g->edit_from[0]), line + 5,
			    (size_t)(arrow - line - 5));
			attack_expand(g->edit_to[g->nedits],
			    sizeof(g->edit_to[0]), arrow + 4,
			    strlen(arrow + 4));
			g->nedits++;
		} else {
			fprintf(stderr, "%s: bad directive '%s'\n", path,
			    line);
			return -1;
		}
	}
	return 0;
}

static void
attack_find_sigs(xmlNodePtr n, xmlNodePtr *sigs, int *nsigs)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns != NULL && xmlStrEqual(n->ns->href,
		    (const xmlChar *)DSIG_NS) &&
		    xmlStrEqual(n->name, (const xmlChar *)"Signature") &&
		    *nsigs < ATTACK_MAX_SIGS)
			sigs[(*nsigs)++] = n;
		attack_find_sigs(n->children, sigs, nsigs);
	}
}

/* Sign every signature template of *buf; *buf is replaced. */
static int
attack_sign(char **buf, const char *path, const char *pki,
    const struct attack_gen *g)
{
	static const xmlChar *ids[] = { (const xmlChar *)"Id", NULL };
	xmlDocPtr doc = NULL;
	xmlSecKeyPtr key = NULL;
	xmlSecDSigCtx ctx;
	xmlNodePtr sigs[ATTACK_MAX_SIGS];
	xmlBufferPtr out = NULL;
	xmlSaveCtxtPtr save;
	char keyf[1024], certf[1024];
	const char *signer = g->sign;
	int hmac = 0, nsigs = 0, i, ret = -1;

	if (strncmp(signer, "hmac:", 5) == 0) {
		hmac = 1;
		signer += 5;
	}
	doc = xmlReadMemory(*buf, (int)strlen(*buf), "template.xml", NULL,
	    XML_PARSE_NONET);
	if (doc == NULL) {
		fprintf(stderr, "%s: template does not parse\n", path);
		goto done;
	}
	xmlSecAddIDs(doc, xmlDocGetRootElement(doc), ids);
	attack_find_sigs(xmlDocGetRootElement(doc), sigs, &nsigs);
	if (hmac) {
		/* The classic key confusion: public bytes as HMAC secret. */
		snprintf(keyf, sizeof(keyf), "%s/%s.pem", pki, signer);
		key = xmlSecKeyReadBinaryFile(xmlSecKeyDataHmacId, keyf);
	} else {
		snprintf(keyf, sizeof(keyf), "%s/%s.key", pki, signer);
		key = xmlSecCryptoAppKeyLoad(keyf, xmlSecKeyDataFormatPem,
		    NULL, NULL, NULL);
	}
	if (key == NULL) {
		fprintf(stderr, "%s: cannot load key %s\n", path, keyf);
		goto done;
	}
	snprintf(certf, sizeof(certf), "%s/%s.pem", pki,
	    g->keyinfo[0] != '\0' ? g->keyinfo : signer);
	if (xmlSecCryptoAppKeyCertLoad(key, certf,
	    xmlSecKeyDataFormatPem) < 0) {
		fprintf(stderr, "%s: cannot load certificate %s\n", path,
		    certf);
		goto done;
	}
	for (i = 0; i < nsigs; i++) {
		if (xmlSecDSigCtxInitialize(&ctx, NULL) < 0)
			goto done;
		ctx.signKey = key;
		if (xmlSecDSigCtxSign(&ctx, sigs[i]) < 0) {
			fprintf(stderr, "%s: signing failed\n", path);
			ctx.signKey = NULL;
			xmlSecDSigCtxFinalize(&ctx);
			goto done;
		}
		ctx.signKey = NULL;
		xmlSecDSigCtxFinalize(&ctx);
	}
	if ((out = xmlBufferCreate()) == NULL ||
	    (save = xmlSaveToBuffer(out, "UTF-8", XML_SAVE_NO_DECL)) == NULL)
		goto done;
	xmlSaveDoc(save, doc);
	xmlSaveClose(save);
	free(*buf);
	if ((*buf = strdup((const char *)xmlBufferContent(out))) == NULL)
		goto done;
	ret = 0;

 done:
	if (out != NULL)
		xmlBufferFree(out);
	if (key != NULL)
		xmlSecKeyDestroy(key);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return ret;
}

int
attack_generate(const char *path, const char *pki_dir,
    accord_time_t created, struct attack *a)
{
	struct attack_gen *g = NULL;
	char *buf = NULL, *p, *e, ts[32];
	int i, ret = -1;

	memset(a, 0, sizeof(*a));
	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto done;
	if ((buf = attack_slurp(path, NULL)) == NULL) {
		fprintf(stderr, "%s: cannot read\n", path);
		goto done;
	}
	if (attack_directives(path, buf, a, g) == -1)
		goto done;
	/*
	 * The directives go: edits must apply to the message, not to the
	 * comments that describe them.
	 */
	while ((p = strstr(buf, "<!-- gen: ")) != NULL) {
		if ((e = strstr(p, "-->")) == NULL)
			goto done;
		e += 3;
		if (*e == '\n')
			e++;
		memmove(p, e, strlen(e) + 1);
	}
	clock_format_utc(created, ts, sizeof(ts));
	while (strstr(buf, "@CREATED@") != NULL)
		if (attack_replace(&buf, "@CREATED@", ts) == -1)
			goto done;
	for (i = 0; i < g->nedits; i++)
		while ((p = strstr(g->edit_to[i], "@CREATED@")) != NULL) {
			char tmp[sizeof(g->edit_to[0])];

			snprintf(tmp, sizeof(tmp), "%.*s%s%s",
			    (int)(p - g->edit_to[i]), g->edit_to[i], ts,
			    p + strlen("@CREATED@"));
			memcpy(g->edit_to[i], tmp, sizeof(tmp));
		}
	if (g->sign[0] != '\0' && attack_sign(&buf, path, pki_dir, g) == -1)
		goto done;
	for (i = 0; i < g->nedits; i++)
		if (attack_replace(&buf, g->edit_from[i], g->edit_to[i]) ==
		    -1) {
			fprintf(stderr, "%s: edit '%s' does not apply\n", path,
			    g->edit_from[i]);
			goto done;
		}
	a->bytes = buf;
	a->len = strlen(buf);
	buf = NULL;
	ret = 0;

 done:
	free(buf);
	free(g);
	return ret;
}
