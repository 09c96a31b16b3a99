/*
 * pdmask_schema.c -- walk the message schemas into element paths with
 * their personal-data decisions (see pdmask_schema.h).
 *
 * The schemas are read as plain XML, not compiled: libxml2's compiled
 * schema has no public way back to a declaration's annotations.  Only
 * what protocols/ uses is understood (named and anonymous types,
 * sequence, choice, all, group references, element references,
 * attributes, simple and complex content); anything else is an error, so
 * a schema that grows a construct this walk does not know stops the
 * build instead of leaving elements out of the table.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "msg/pdmask_schema.h"

#define XS_NS		"http://www.w3.org/2001/XMLSchema"
#define MAX_FILES	64
#define MAX_DEFS	512
#define MAX_DEPTH	32

enum def_kind { DEF_ELEMENT, DEF_COMPLEX, DEF_SIMPLE, DEF_GROUP };

struct def {
	enum def_kind	 kind;
	const xmlChar	*name;
	xmlNodePtr	 node;
};

struct walk {
	const char	*dir;
	xmlDocPtr	 docs[MAX_FILES];
	char		*names[MAX_FILES];
	int		 ndocs;
	char		*seen[MAX_FILES];	/* over both versions */
	int		 nseen;
	struct def	 defs[MAX_DEFS];
	int		 ndefs;
	pdmask_schema_cb cb;
	void		*arg;
	char		*err;
	size_t		 errlen;
};

static int	pdmask_fail(struct walk *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	pdmask_particles(struct walk *, xmlNodePtr, char *, size_t,
		    int);
static int	pdmask_type(struct walk *, xmlNodePtr, char *, size_t, int);

static int
pdmask_fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(w->err, w->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
pdmask_is_xs(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrcmp(n->ns->href, BAD_CAST XS_NS) == 0 &&
	    (name == NULL || xmlStrcmp(n->name, BAD_CAST name) == 0);
}

/* "ds:AlgorithmType" -> "AlgorithmType": every version's names are
 * distinct by local name, which pdmask_define checks. */
static const xmlChar *
pdmask_local(const xmlChar *qname)
{
	const xmlChar *c = xmlStrchr(qname, ':');

	return c != NULL ? c + 1 : qname;
}

static const char *
pdmask_file(xmlNodePtr n)
{
	const char *f = n->doc != NULL && n->doc->URL != NULL ?
	    (const char *)n->doc->URL : "?";
	const char *s = strrchr(f, '/');

	return s != NULL ? s + 1 : f;
}

enum pdmask_class
pdmask_schema_class(const char *value)
{
	if (value == NULL)
		return PDMASK_UNDECIDED;
	if (strcmp(value, "none") == 0)
		return PDMASK_NONE;
	if (strcmp(value, "personal") == 0)
		return PDMASK_PERSONAL;
	return PDMASK_UNDECIDED;
}

static enum pdmask_class
pdmask_decl_class(xmlNodePtr decl)
{
	xmlChar *v = xmlGetNsProp(decl, BAD_CAST "data", BAD_CAST PDMASK_NS);
	enum pdmask_class c = pdmask_schema_class((const char *)v);

	xmlFree(v);
	return c;
}

static int
pdmask_define(struct walk *w, enum def_kind kind, xmlNodePtr n)
{
	const xmlChar *name = xmlHasProp(n, BAD_CAST "name") != NULL ?
	    xmlHasProp(n, BAD_CAST "name")->children->content : NULL;
	int i;

	if (name == NULL)
		return pdmask_fail(w, "%s:%d: a global %s without a name",
		    pdmask_file(n), (int)xmlGetLineNo(n), n->name);
	for (i = 0; i < w->ndefs; i++)
		if (w->defs[i].kind == kind &&
		    xmlStrcmp(w->defs[i].name, name) == 0) {
			if (w->defs[i].node == n)
				return 0;
			return pdmask_fail(w, "%s:%d: %s defined twice",
			    pdmask_file(n), (int)xmlGetLineNo(n), name);
		}
	if (w->ndefs == MAX_DEFS)
		return pdmask_fail(w, "more than %d definitions", MAX_DEFS);
	w->defs[w->ndefs].kind = kind;
	w->defs[w->ndefs].name = name;
	w->defs[w->ndefs].node = n;
	w->ndefs++;
	return 0;
}

static xmlNodePtr
pdmask_find(struct walk *w, enum def_kind kind, const xmlChar *qname)
{
	const xmlChar *name = pdmask_local(qname);
	int i;

	for (i = 0; i < w->ndefs; i++)
		if (w->defs[i].kind == kind &&
		    xmlStrcmp(w->defs[i].name, name) == 0)
			return w->defs[i].node;
	return NULL;
}

/* Read one schema file (once) and what it includes and imports. */
static int
pdmask_load(struct walk *w, const char *name)
{
	char path[PATH_MAX];
	xmlDocPtr doc;
	xmlNodePtr n;
	xmlChar *loc;
	int i, rc;

	for (i = 0; i < w->ndocs; i++)
		if (strcmp(w->names[i], name) == 0)
			return 0;
	if (w->ndocs == MAX_FILES)
		return pdmask_fail(w, "more than %d schema files", MAX_FILES);
	if (strchr(name, '/') != NULL ||
	    snprintf(path, sizeof(path), "%s/%s", w->dir, name) >=
	    (int)sizeof(path))
		return pdmask_fail(w, "%s: not a file of %s", name, w->dir);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL ||
	    !pdmask_is_xs(xmlDocGetRootElement(doc), "schema")) {
		xmlFreeDoc(doc);
		return pdmask_fail(w, "%s: not a schema", path);
	}
	w->docs[w->ndocs] = doc;
	w->names[w->ndocs] = strdup(name);
	if (w->names[w->ndocs] == NULL) {
		xmlFreeDoc(doc);
		return pdmask_fail(w, "out of memory");
	}
	w->ndocs++;
	for (i = 0; i < w->nseen; i++)
		if (strcmp(w->seen[i], name) == 0)
			break;
	if (i == w->nseen && (w->seen[w->nseen++] = strdup(name)) == NULL)
		return pdmask_fail(w, "out of memory");
	for (n = xmlDocGetRootElement(doc)->children; n != NULL; n = n->next) {
		if (!pdmask_is_xs(n, NULL))
			continue;
		rc = 0;
		if (pdmask_is_xs(n, "include") || pdmask_is_xs(n, "import")) {
			loc = xmlGetProp(n, BAD_CAST "schemaLocation");
			if (loc == NULL)
				return pdmask_fail(w, "%s:%d: no schemaLocation",
				    name, (int)xmlGetLineNo(n));
			rc = pdmask_load(w, (const char *)loc);
			xmlFree(loc);
		} else if (pdmask_is_xs(n, "element"))
			rc = pdmask_define(w, DEF_ELEMENT, n);
		else if (pdmask_is_xs(n, "complexType"))
			rc = pdmask_define(w, DEF_COMPLEX, n);
		else if (pdmask_is_xs(n, "simpleType"))
			rc = pdmask_define(w, DEF_SIMPLE, n);
		else if (pdmask_is_xs(n, "group"))
			rc = pdmask_define(w, DEF_GROUP, n);
		else if (!pdmask_is_xs(n, "annotation"))
			rc = pdmask_fail(w, "%s:%d: xs:%s is not understood",
			    name, (int)xmlGetLineNo(n), n->name);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Append "/name" (or "name" at the root) to path; undone by the caller
 * cutting at the old length. */
static int
pdmask_push(struct walk *w, char *path, size_t len, const char *pre,
    const xmlChar *name)
{
	size_t n = strlen(path);

	if (snprintf(path + n, len - n, "%s%s%s", n > 0 ? "/" : "", pre,
	    (const char *)name) >= (int)(len - n))
		return pdmask_fail(w, "%s/%s: path too long", path, name);
	return 0;
}

/* One element declaration (or reference) at path: report it, then its
 * content. */
static int
pdmask_element(struct walk *w, xmlNodePtr decl, char *path, size_t len,
    int depth)
{
	size_t old = strlen(path);
	xmlChar *ref, *type;
	xmlNodePtr def, n;
	int rc = -1;

	if (depth > MAX_DEPTH)
		return pdmask_fail(w, "%s: nested deeper than %d", path,
		    MAX_DEPTH);
	if ((ref = xmlGetProp(decl, BAD_CAST "ref")) != NULL) {
		def = pdmask_find(w, DEF_ELEMENT, ref);
		if (def == NULL)
			rc = pdmask_fail(w, "%s:%d: element %s not defined",
			    pdmask_file(decl), (int)xmlGetLineNo(decl), ref);
		xmlFree(ref);
		if (def == NULL)
			return -1;
		decl = def;
	}
	if (xmlHasProp(decl, BAD_CAST "name") == NULL)
		return pdmask_fail(w, "%s:%d: an element without a name",
		    pdmask_file(decl), (int)xmlGetLineNo(decl));
	if (pdmask_push(w, path, len, "",
	    xmlHasProp(decl, BAD_CAST "name")->children->content) == -1)
		return -1;
	if (w->cb(w->arg, path, pdmask_decl_class(decl), pdmask_file(decl),
	    (int)xmlGetLineNo(decl)) == -1) {
		rc = pdmask_fail(w, "%s: stopped", path);
		goto done;
	}
	if ((type = xmlGetProp(decl, BAD_CAST "type")) != NULL) {
		def = pdmask_find(w, DEF_COMPLEX, type);
		if (def == NULL && pdmask_find(w, DEF_SIMPLE, type) == NULL &&
		    xmlStrncmp(type, BAD_CAST "xs:", 3) != 0)
			rc = pdmask_fail(w, "%s:%d: type %s not defined",
			    pdmask_file(decl), (int)xmlGetLineNo(decl), type);
		else
			rc = def != NULL ?
			    pdmask_type(w, def, path, len, depth) : 0;
		xmlFree(type);
		goto done;
	}
	rc = 0;
	for (n = decl->children; n != NULL && rc == 0; n = n->next)
		if (pdmask_is_xs(n, "complexType"))
			rc = pdmask_type(w, n, path, len, depth);
 done:
	path[old] = '\0';
	return rc;
}

static int
pdmask_attribute(struct walk *w, xmlNodePtr decl, char *path, size_t len)
{
	size_t old = strlen(path);
	xmlAttrPtr name = xmlHasProp(decl, BAD_CAST "name");
	int rc;

	if (name == NULL)
		return pdmask_fail(w, "%s:%d: an attribute without a name",
		    pdmask_file(decl), (int)xmlGetLineNo(decl));
	if (pdmask_push(w, path, len, "@", name->children->content) == -1)
		return -1;
	rc = w->cb(w->arg, path, pdmask_decl_class(decl), pdmask_file(decl),
	    (int)xmlGetLineNo(decl));
	path[old] = '\0';
	return rc == -1 ? pdmask_fail(w, "%s: stopped", path) : 0;
}

/* The content of a complex type (named or anonymous) at path. */
static int
pdmask_type(struct walk *w, xmlNodePtr type, char *path, size_t len,
    int depth)
{
	xmlNodePtr n, c, base;
	xmlChar *b;
	int rc = 0;

	for (n = type->children; n != NULL && rc == 0; n = n->next) {
		if (!pdmask_is_xs(n, NULL) || pdmask_is_xs(n, "annotation"))
			continue;
		if (pdmask_is_xs(n, "attribute"))
			rc = pdmask_attribute(w, n, path, len);
		else if (pdmask_is_xs(n, "simpleContent") ||
		    pdmask_is_xs(n, "complexContent")) {
			for (c = n->children; c != NULL && rc == 0;
			    c = c->next) {
				if (!pdmask_is_xs(c, "extension") &&
				    !pdmask_is_xs(c, "restriction"))
					continue;
				b = xmlGetProp(c, BAD_CAST "base");
				base = b != NULL ?
				    pdmask_find(w, DEF_COMPLEX, b) : NULL;
				xmlFree(b);
				if (base != NULL)
					rc = pdmask_type(w, base, path, len,
					    depth);
				if (rc == 0)
					rc = pdmask_type(w, c, path, len,
					    depth);
			}
		} else
			rc = pdmask_particles(w, n, path, len, depth);
	}
	return rc;
}

/* sequence, choice, all, group reference, element: every element a
 * document may hold there. */
static int
pdmask_particles(struct walk *w, xmlNodePtr p, char *path, size_t len,
    int depth)
{
	xmlNodePtr n, g;
	xmlChar *ref;
	int rc = 0;

	if (pdmask_is_xs(p, "element"))
		return pdmask_element(w, p, path, len, depth + 1);
	if (pdmask_is_xs(p, "group")) {
		if ((ref = xmlGetProp(p, BAD_CAST "ref")) == NULL)
			return pdmask_fail(w, "%s:%d: a group without ref",
			    pdmask_file(p), (int)xmlGetLineNo(p));
		g = pdmask_find(w, DEF_GROUP, ref);
		xmlFree(ref);
		if (g == NULL)
			return pdmask_fail(w, "%s:%d: group not defined",
			    pdmask_file(p), (int)xmlGetLineNo(p));
		for (n = g->children; n != NULL && rc == 0; n = n->next)
			if (pdmask_is_xs(n, NULL) &&
			    !pdmask_is_xs(n, "annotation"))
				rc = pdmask_particles(w, n, path, len, depth);
		return rc;
	}
	if (pdmask_is_xs(p, "sequence") || pdmask_is_xs(p, "choice") ||
	    pdmask_is_xs(p, "all")) {
		for (n = p->children; n != NULL && rc == 0; n = n->next)
			if (pdmask_is_xs(n, NULL) &&
			    !pdmask_is_xs(n, "annotation"))
				rc = pdmask_particles(w, n, path, len, depth);
		return rc;
	}
	return pdmask_fail(w, "%s:%d: xs:%s is not understood",
	    pdmask_file(p), (int)xmlGetLineNo(p), p->name);
}

static void
pdmask_clear(struct walk *w)
{
	int i;

	for (i = 0; i < w->ndocs; i++) {
		xmlFreeDoc(w->docs[i]);
		free(w->names[i]);
	}
	w->ndocs = w->ndefs = 0;
}

int
pdmask_schema_walk(const char *dir, pdmask_schema_cb cb, void *arg,
    char *err, size_t errlen)
{
	static const char *const tops[] = { "envelope.xsd", "envelope-2.xsd" };
	char path[1024];
	struct walk *w;
	size_t t;
	int i, files = 0, rc = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	err[0] = '\0';
	w->dir = dir;
	w->cb = cb;
	w->arg = arg;
	w->err = err;
	w->errlen = errlen;
	/* one version at a time: their top files define the same names
	 * (Body, Document, ErrorCode, MessageType) differently */
	for (t = 0; t < sizeof(tops) / sizeof(tops[0]) && rc == 0; t++) {
		pdmask_clear(w);
		rc = pdmask_load(w, tops[t]);
		for (i = 0; i < w->ndefs && rc == 0; i++) {
			if (w->defs[i].kind != DEF_ELEMENT)
				continue;
			path[0] = '\0';
			rc = pdmask_element(w, w->defs[i].node, path,
			    sizeof(path), 1);
		}
	}
	pdmask_clear(w);
	files = w->nseen;
	for (i = 0; i < w->nseen; i++)
		free(w->seen[i]);
	free(w);
	return rc == -1 ? -1 : files;
}
