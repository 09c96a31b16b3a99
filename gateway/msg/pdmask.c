/*
 * pdmask.c -- mask the personal data of a message by allowlist (see
 * pdmask.h).
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "msg/pdmask.h"

struct pdmask_entry {
	const char		*path;
	enum pdmask_class	 cls;
};

/* made at build time from protocols/ by pdmask_gen */
#include "msg/pdmask-table.h"

#define PDMASK_PATH_MAX	1024

static int
pdmask_entry_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct pdmask_entry *)e)->path);
}

enum pdmask_class
pdmask_lookup(const char *path)
{
	const struct pdmask_entry *e;

	e = bsearch(path, pdmask_table, sizeof(pdmask_table) /
	    sizeof(pdmask_table[0]), sizeof(pdmask_table[0]),
	    pdmask_entry_cmp);
	return e != NULL ? e->cls : PDMASK_UNDECIDED;
}

int
pdmask_path_shown(const char *path)
{
	char buf[PDMASK_PATH_MAX];
	char *s;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return 0;
	for (;;) {
		if (pdmask_lookup(buf) != PDMASK_NONE)
			return 0;
		if ((s = strrchr(buf, '/')) == NULL)
			return 1;
		*s = '\0';
	}
}

/* Ours: the envelope's and the documents' namespaces of any version,
 * and XML-DSig's.  An element of another namespace is never shown, even
 * when its local name would be. */
static int
pdmask_our_ns(xmlNodePtr n)
{
	const char *h;

	if (n->ns == NULL || n->ns->href == NULL)
		return 0;
	h = (const char *)n->ns->href;
	return strncmp(h, "urn:accord:envelope:", 20) == 0 ||
	    strncmp(h, "urn:accord:msg:", 15) == 0 ||
	    strcmp(h, "http://www.w3.org/2000/09/xmldsig#") == 0;
}

static int
pdmask_blank(const xmlChar *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

/* Every value below n, n's own too, becomes the marker; the elements
 * stay.  @return the number of values masked. */
static int
pdmask_all(xmlNodePtr n)
{
	xmlNodePtr c, next;
	xmlAttrPtr a;
	int count = 0, elems = 0;

	for (a = n->properties; a != NULL; a = a->next) {
		xmlNodeSetContent((xmlNodePtr)a, BAD_CAST PDMASK_MARKER);
		count++;
	}
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			elems++;
	if (elems == 0) {
		/* a leaf: its whole text, CDATA and comments included */
		xmlNodeSetContent(n, BAD_CAST PDMASK_MARKER);
		return count + 1;
	}
	for (c = n->children; c != NULL; c = next) {
		next = c->next;
		if (c->type == XML_ELEMENT_NODE)
			count += pdmask_all(c);
		else if ((c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) &&
		    pdmask_blank(c->content))
			continue;
		else {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
			count++;
		}
	}
	return count;
}

/* n at path (its parent's path, plen long, in buf): shown if allowed,
 * its children decided one by one. */
static int
pdmask_walk(xmlNodePtr n, char *buf, size_t plen)
{
	xmlNodePtr c, next;
	xmlAttrPtr a;
	size_t len;
	int count = 0, elems = 0, w;

	w = snprintf(buf + plen, PDMASK_PATH_MAX - plen, "%s%s",
	    plen > 0 ? "/" : "", (const char *)n->name);
	if (!pdmask_our_ns(n) || w < 0 || (size_t)w >= PDMASK_PATH_MAX - plen ||
	    pdmask_lookup(buf) != PDMASK_NONE)
		return pdmask_all(n);
	len = plen + (size_t)w;
	for (a = n->properties; a != NULL; a = a->next) {
		w = snprintf(buf + len, PDMASK_PATH_MAX - len, "/@%s",
		    (const char *)a->name);
		if (a->ns != NULL || w < 0 ||
		    (size_t)w >= PDMASK_PATH_MAX - len ||
		    pdmask_lookup(buf) != PDMASK_NONE) {
			xmlNodeSetContent((xmlNodePtr)a,
			    BAD_CAST PDMASK_MARKER);
			count++;
		}
	}
	buf[len] = '\0';
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			elems++;
	for (c = n->children; c != NULL; c = next) {
		next = c->next;
		if (c->type == XML_ELEMENT_NODE)
			count += pdmask_walk(c, buf, len);
		else if ((c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) &&
		    (elems == 0 || pdmask_blank(c->content)))
			continue;	/* an allowed element's value */
		else if (c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) {
			/* text beside elements: no schema allows it */
			xmlNodeSetContent(c, BAD_CAST PDMASK_MARKER);
			count++;
		}
		else {
			/* a comment or a processing instruction says
			 * anything: never shown */
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		}
		buf[len] = '\0';
	}
	return count;
}

int
pdmask_node(xmlNodePtr root)
{
	char buf[PDMASK_PATH_MAX];

	if (root == NULL || root->type != XML_ELEMENT_NODE)
		return -1;
	buf[0] = '\0';
	return pdmask_walk(root, buf, 0);
}

int
pdmask_doc(xmlDocPtr doc)
{
	xmlNodePtr c, next;

	if (doc == NULL || xmlDocGetRootElement(doc) == NULL)
		return -1;
	/* comments and processing instructions beside the root */
	for (c = doc->children; c != NULL; c = next) {
		next = c->next;
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		}
	}
	return pdmask_node(xmlDocGetRootElement(doc));
}
