/*
 * pdmask_err.c -- libxml2's error messages without the values of the
 * message they are about (see pdmask.h).
 */
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "msg/pdmask.h"

/* A quoted string libxml2 takes from the schemas, not from the message:
 * a qualified name of ours ('{urn:accord:msg:1}Date') or a facet's name
 * ("[facet 'pattern']"). */
static int
pdmask_err_keep(const char *q, size_t n, const char *out, size_t olen)
{
	static const char *const ns[] = { "{urn:accord:",
	    "{http://www.w3.org/2001/XMLSchema}",
	    "{http://www.w3.org/2000/09/xmldsig#}", NULL };
	const char *close;
	size_t i, l;

	if (olen >= 7 && strncmp(out + olen - 7, "[facet ", 7) == 0) {
		for (i = 0; i < n; i++)
			if (q[i] < 'a' || q[i] > 'z')
				if (q[i] < 'A' || q[i] > 'Z')
					return 0;
		return n > 0;
	}
	for (i = 0; ns[i] != NULL; i++) {
		l = strlen(ns[i]);
		if (n > l && strncmp(q, ns[i], l) == 0)
			break;
	}
	if (ns[i] == NULL ||
	    (close = memchr(q, '}', n)) == NULL || close == q + n - 1)
		return 0;
	/* the local name: letters and digits only, or it is not a name */
	for (close++; close < q + n; close++)
		if (!((*close >= 'a' && *close <= 'z') ||
		    (*close >= 'A' && *close <= 'Z') ||
		    (*close >= '0' && *close <= '9') || *close == '_'))
			return 0;
	return 1;
}

void
pdmask_quoted(char *dst, size_t len, const char *msg)
{
	const char *p, *q, *end;
	size_t o = 0, n;

	if (len == 0)
		return;
	if (msg == NULL)
		msg = "(no message)";
	for (p = msg; *p != '\0' && o + 1 < len; p++) {
		if (*p != '\'') {
			dst[o++] = *p == '\n' || *p == '\r' ? ' ' : *p;
			continue;
		}
		q = p + 1;
		if ((end = strchr(q, '\'')) == NULL)
			end = q + strlen(q);	/* unterminated: all of it */
		n = (size_t)(end - q);
		dst[o] = '\0';
		if (pdmask_err_keep(q, n, dst, o))
			o += (size_t)snprintf(dst + o, len - o, "'%.*s'",
			    (int)n, q);
		else
			o += (size_t)snprintf(dst + o, len - o, "'%s'",
			    PDMASK_MARKER);
		if (o >= len)
			o = len - 1;
		if (*end == '\0')
			break;
		p = end;
	}
	/* no trailing blanks of libxml2's newline */
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

/* The element's path of local names from the root, attributes as
 * "@name".  @return its length, 0 if none. */
static size_t
pdmask_err_path(char *dst, size_t len, xmlNodePtr n)
{
	const xmlChar *names[64];
	int depth = 0, i;
	size_t o = 0;

	for (; n != NULL && depth < 64; n = n->parent)
		if (n->type == XML_ELEMENT_NODE ||
		    n->type == XML_ATTRIBUTE_NODE)
			names[depth++] = n->type == XML_ATTRIBUTE_NODE ?
			    NULL : n->name;
		else if (n->type == XML_DOCUMENT_NODE)
			break;
	dst[0] = '\0';
	for (i = depth - 1; i >= 0 && o + 1 < len; i--) {
		o += (size_t)snprintf(dst + o, len - o, "%s%s",
		    i == depth - 1 ? "" : "/",
		    names[i] != NULL ? (const char *)names[i] : "@");
		if (o >= len)
			o = len - 1;
	}
	return o;
}

void
pdmask_xml_error(char *dst, size_t len, const struct _xmlError *e)
{
	char path[512];
	const char *msg, *p;
	xmlNodePtr node;
	size_t o = 0;

	if (len == 0)
		return;
	dst[0] = '\0';
	if (e == NULL) {
		snprintf(dst, len, "(no error)");
		return;
	}
	msg = e->message != NULL ? e->message : "(no message)";
	node = e->node;
	if (node != NULL && (node->type == XML_ELEMENT_NODE ||
	    node->type == XML_ATTRIBUTE_NODE) &&
	    pdmask_err_path(path, sizeof(path), node) > 0) {
		if (node->type == XML_ATTRIBUTE_NODE)
			snprintf(path + strlen(path), sizeof(path) -
			    strlen(path), "%s", (const char *)node->name);
		o = (size_t)snprintf(dst, len, "element %s: ", path);
		if (o >= len)
			return;
		/* libxml2's own "Element '{ns}Name': " says less */
		if ((strncmp(msg, "Element '", 9) == 0 ||
		    strncmp(msg, "Attribute '", 11) == 0) &&
		    (p = strstr(msg, "': ")) != NULL)
			msg = p + 3;
	}
	if (o > 0 && pdmask_path_shown(path)) {
		/* an allowlisted value: kept, on one line */
		snprintf(dst + o, len - o, "%s", msg);
		for (; dst[o] != '\0'; o++)
			if (dst[o] == '\n' || dst[o] == '\r')
				dst[o] = ' ';
		while (o > 0 && dst[o - 1] == ' ')
			dst[--o] = '\0';
		return;
	}
	pdmask_quoted(dst + o, len - o, msg);
}
