/*
 * envelope.c -- hardened parsing, schema validation, reading and building
 * of Accord message envelopes.
 *
 * Untrusted bytes go through four gates, cheapest first, before anything
 * reads them:
 *	1. size, before a byte is looked at;
 *	2. a pre-scan of the raw bytes that refuses markup declarations
 *	   (DOCTYPE, ENTITY), processing instructions and nesting deeper than
 *	   the limit, without building anything;
 *	3. libxml2, with no network, no DTD loading, no entity substitution,
 *	   forced UTF-8; then a walk of the tree that refuses what the
 *	   pre-scan might have missed (a DTD node, a PI, an entity reference);
 *	4. the compiled schemas of the protocol version the root's namespace
 *	   names (each version is compiled once, at start-up), then the rules
 *	   XSD 1.0 cannot say: the body is of the envelope's version, and the
 *	   header's Type names the body's element.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <openssl/rand.h>

#include "conf/agreement.h"
#include "util/clock.h"
#include "msg/envelope.h"
#include "msg/pdmask.h"
#include "util/errcode.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/stage.h"

#define TAG	"envelope"

/*
 * No XML_PARSE_NOENT (it would substitute entities), no XML_PARSE_DTDLOAD,
 * XML_PARSE_DTDATTR or XML_PARSE_DTDVALID (they would read a DTD), no
 * XML_PARSE_HUGE (it lifts libxml2's own limits), no XML_PARSE_XINCLUDE.
 * Errors are not printed; we fetch them from the parser context.
 */
#define ENVELOPE_PARSE_OPTIONS						\
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |	\
	 XML_PARSE_NOCDATA)

/* What each protocol version is made of. */
struct envelope_version {
	const char	*ns;		/* the envelope's */
	const char	*msg_ns;	/* the business documents' */
	const char	*top_schema;	/* includes and imports the others */
};

static const struct envelope_version envelope_versions[
    AGREEMENT_PROTO_MAX + 1] = {
	[1] = { ENVELOPE_NS, ENVELOPE_MSG_NS, ENVELOPE_TOP_SCHEMA },
	[2] = { ENVELOPE_NS_2, ENVELOPE_MSG_NS_2, ENVELOPE_TOP_SCHEMA_2 },
};

static xmlSchemaPtr		 envelope_schemas[AGREEMENT_PROTO_MAX + 1];
static char			 envelope_dir[PATH_MAX];
static xmlExternalEntityLoader	 envelope_prev_loader;
static int			 envelope_loader_set;
/* Non-zero while our own code parses: only then is loading confined. */
static _Thread_local int	 envelope_confined;
/* Schema validations begun in this process (envelope_validations()). */
static _Atomic unsigned long	 envelope_nvalidated;

static void	envelope_seterr(struct envelope_error *, enum accord_err,
		    int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static void
envelope_seterr(struct envelope_error *err, enum accord_err code, int line,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

static void
envelope_clearerr(struct envelope_error *err)
{
	if (err == NULL)
		return;
	err->code = AE_OK;
	err->line = 0;
	err->text[0] = '\0';
}

/*
 * Parser errors of untrusted input: not for the log (envelope_parse logs
 * one line per refusal); the parser context keeps the last one for us.
 */
static void
envelope_xml_quiet(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

/* Structured handler for errors nobody asked for: into the log. */
static void
envelope_xml_log(void *ctx, xmlErrorPtr e)
{
	const char *what = ctx != NULL ? ctx : "libxml2";
	char msg[512];

	if (e == NULL)
		return;
	/* unattended errors come from messages too: no values */
	pdmask_xml_error(msg, sizeof(msg), e);
	if (e->level == XML_ERR_WARNING)
		log_warnx(TAG, "%s: %s:%d: %s", what,
		    e->file != NULL ? e->file : "-", e->line, msg);
	else
		log_errx(TAG, "%s: %s:%d: %s", what,
		    e->file != NULL ? e->file : "-", e->line, msg);
}

/* Structured handler of schema validation: keep the first error. */
static void
envelope_xml_collect(void *ctx, xmlErrorPtr e)
{
	struct envelope_error *err = ctx;

	if (err == NULL || e == NULL || err->text[0] != '\0')
		return;
	if (e->level == XML_ERR_WARNING)
		return;
	err->line = e->line;
	/* the element's path and the rule, never the value: this text is
	 * logged, journalled and sent back in the Error (issue 19) */
	pdmask_xml_error(err->text, sizeof(err->text), e);
}

/*
 * While envelope code runs, only files below the protocols directory may
 * be loaded: the schemas and what they include.  Nothing a message names.
 * The loader is process-wide, and other modules (the configuration) read
 * their own files with libxml2: outside our calls it still refuses the
 * network but leaves local files to them.
 */
static xmlParserInputPtr
envelope_entity_loader(const char *url, const char *id,
    xmlParserCtxtPtr ctxt)
{
	char real[PATH_MAX];
	const char *p = url;

	if (!envelope_confined)
		return xmlNoNetExternalEntityLoader(url, id, ctxt);
	if (url == NULL || envelope_dir[0] == '\0')
		goto refuse;
	if (strncmp(p, "file://", 7) == 0) {
		p += 7;
		if (strncmp(p, "localhost/", 10) == 0)
			p += 9;
	} else if (strstr(p, "://") != NULL)
		goto refuse;
	if (realpath(p, real) == NULL)
		goto refuse;
	if (strncmp(real, envelope_dir, strlen(envelope_dir)) != 0)
		goto refuse;
	return xmlNoNetExternalEntityLoader(real, id, ctxt);

 refuse:
	log_warnx(TAG, "refused to load external resource %s",
	    url != NULL ? url : "(null)");
	return NULL;
}

const char *
envelope_ns(int version)
{
	if (version < AGREEMENT_PROTO_MIN || version > AGREEMENT_PROTO_MAX)
		return NULL;
	return envelope_versions[version].ns;
}

const char *
envelope_msg_ns(int version)
{
	if (version < AGREEMENT_PROTO_MIN || version > AGREEMENT_PROTO_MAX)
		return NULL;
	return envelope_versions[version].msg_ns;
}

int
envelope_ns_version(const char *ns)
{
	int v;

	if (ns == NULL)
		return 0;
	for (v = AGREEMENT_PROTO_MIN; v <= AGREEMENT_PROTO_MAX; v++)
		if (strcmp(ns, envelope_versions[v].ns) == 0 ||
		    strcmp(ns, envelope_versions[v].msg_ns) == 0)
			return v;
	return 0;
}

static void
envelope_free_schemas(void)
{
	int v;

	for (v = AGREEMENT_PROTO_MIN; v <= AGREEMENT_PROTO_MAX; v++)
		if (envelope_schemas[v] != NULL) {
			xmlSchemaFree(envelope_schemas[v]);
			envelope_schemas[v] = NULL;
		}
}

/* Compile one version's top-level schema under envelope_dir. */
static int
envelope_compile(int v)
{
	xmlSchemaParserCtxtPtr pctxt = NULL;
	char path[PATH_MAX];
	int ret = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", envelope_dir,
	    envelope_versions[v].top_schema) >= sizeof(path)) {
		log_errx(TAG, "schema path too long");
		goto done;
	}
	if ((pctxt = xmlSchemaNewParserCtxt(path)) == NULL) {
		log_errx(TAG, "%s: cannot create schema parser", path);
		goto done;
	}
	xmlSchemaSetParserStructuredErrors(pctxt, envelope_xml_log,
	    (void *)"schema");
	envelope_confined = 1;
	envelope_schemas[v] = xmlSchemaParse(pctxt);
	envelope_confined = 0;
	if (envelope_schemas[v] == NULL) {
		log_errx(TAG, "%s: schemas of protocol version %d do not "
		    "compile", path, v);
		goto done;
	}
	ret = 0;

 done:
	if (pctxt != NULL)
		xmlSchemaFreeParserCtxt(pctxt);
	return ret;
}

int
envelope_init(const char *protocols_dir)
{
	size_t n;
	int v, ret = -1;

	xmlInitParser();
	envelope_free_schemas();
	if (realpath(protocols_dir, envelope_dir) == NULL) {
		log_err(TAG, "protocols directory %s", protocols_dir);
		envelope_dir[0] = '\0';
		goto done;
	}
	n = strlen(envelope_dir);
	if (n + 2 > sizeof(envelope_dir)) {
		log_errx(TAG, "protocols directory path too long");
		envelope_dir[0] = '\0';
		goto done;
	}
	if (envelope_dir[n - 1] != '/') {
		envelope_dir[n] = '/';
		envelope_dir[n + 1] = '\0';
	}
	if (!envelope_loader_set) {
		envelope_prev_loader = xmlGetExternalEntityLoader();
		xmlSetExternalEntityLoader(envelope_entity_loader);
		envelope_loader_set = 1;
	}
	xmlSetStructuredErrorFunc(NULL, envelope_xml_log);

	/* every version at once: a gateway never meets a version it has
	 * not compiled, and a broken schema stops the start-up */
	for (v = AGREEMENT_PROTO_MIN; v <= AGREEMENT_PROTO_MAX; v++)
		if (envelope_compile(v) == -1) {
			envelope_free_schemas();
			goto done;
		}
	ret = 0;

 done:
	return ret;
}

void
envelope_shutdown(void)
{
	envelope_free_schemas();
	if (envelope_loader_set) {
		xmlSetExternalEntityLoader(envelope_prev_loader);
		envelope_loader_set = 0;
	}
	envelope_dir[0] = '\0';
}

/* Line number (1-based) of offset off in buf. */
static int
envelope_line_at(const char *buf, size_t off)
{
	const char *p;
	int line = 1;

	for (p = buf; p < buf + off; p++)
		if (*p == '\n')
			line++;
	return line;
}

/* Offset of the first occurrence of s in buf[from, len), or len. */
static size_t
envelope_find(const char *buf, size_t len, size_t from, const char *s)
{
	size_t n = strlen(s);

	while (from + n <= len) {
		if (memcmp(buf + from, s, n) == 0)
			return from;
		from++;
	}
	return len;
}

/*
 * Walk the raw bytes once, counting element nesting, and refuse markup
 * declarations and processing instructions.  It needs no well-formedness:
 * whatever it cannot make sense of is left for the parser to refuse as
 * MALFORMED.
 */
static int
envelope_prescan(const char *buf, size_t len, int max_depth,
    struct envelope_error *err)
{
	size_t i = 0, j;
	int depth = 0;
	char q;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	/* The XML declaration, only at the very start. */
	if (len - i >= 6 && memcmp(buf + i, "<?xml", 5) == 0 &&
	    strchr(" \t\r\n", buf[i + 5]) != NULL) {
		j = envelope_find(buf, len, i + 5, "?>");
		if (j == len)
			return 0;
		i = j + 2;
	}
	while (i < len) {
		if (buf[i] != '<') {
			i++;
			continue;
		}
		if (len - i >= 4 && memcmp(buf + i, "<!--", 4) == 0) {
			j = envelope_find(buf, len, i + 4, "-->");
			if (j == len)
				return 0;
			i = j + 3;
		} else if (len - i >= 9 &&
		    memcmp(buf + i, "<![CDATA[", 9) == 0) {
			j = envelope_find(buf, len, i + 9, "]]>");
			if (j == len)
				return 0;
			i = j + 3;
		} else if (len - i >= 2 && buf[i + 1] == '!') {
			envelope_seterr(err, AE_FORBIDDEN_XML,
			    envelope_line_at(buf, i),
			    "markup declaration (DOCTYPE or ENTITY) "
			    "not allowed");
			return -1;
		} else if (len - i >= 2 && buf[i + 1] == '?') {
			envelope_seterr(err, AE_FORBIDDEN_XML,
			    envelope_line_at(buf, i),
			    "processing instruction not allowed");
			return -1;
		} else if (len - i >= 2 && buf[i + 1] == '/') {
			j = envelope_find(buf, len, i + 2, ">");
			if (j == len)
				return 0;
			depth--;
			i = j + 1;
		} else {
			/* A start tag: find its end, skipping quoted values. */
			q = 0;
			for (j = i + 1; j < len; j++) {
				if (q != 0) {
					if (buf[j] == q)
						q = 0;
				} else if (buf[j] == '"' || buf[j] == '\'')
					q = buf[j];
				else if (buf[j] == '>')
					break;
			}
			if (j == len)
				return 0;
			if (depth + 1 > max_depth) {
				envelope_seterr(err, AE_TOO_DEEP,
				    envelope_line_at(buf, i),
				    "element nesting deeper than %d",
				    max_depth);
				return -1;
			}
			if (buf[j - 1] != '/')
				depth++;
			i = j + 1;
		}
	}
	return 0;
}

/*
 * The tree libxml2 built: no DTD, no entity, no PI, no deeper nesting
 * than allowed.  The pre-scan should have caught all of these; this is
 * the belt to its braces.
 */
static int
envelope_check_tree(xmlDocPtr doc, int max_depth,
    struct envelope_error *err)
{
	xmlNodePtr n;
	int depth;

	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		envelope_seterr(err, AE_FORBIDDEN_XML, 0,
		    "document type declaration not allowed");
		return -1;
	}
	n = doc->children;
	depth = 1;
	while (n != NULL) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (depth > max_depth) {
				envelope_seterr(err, AE_TOO_DEEP,
				    xmlGetLineNo(n),
				    "element nesting deeper than %d",
				    max_depth);
				return -1;
			}
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
		case XML_COMMENT_NODE:
			break;
		default:
			envelope_seterr(err, AE_FORBIDDEN_XML,
			    xmlGetLineNo(n), "node of type %d not allowed",
			    (int)n->type);
			return -1;
		}
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			depth++;
			continue;
		}
		while (n != NULL && n->next == NULL) {
			n = n->parent;
			depth--;
			if (n == NULL || n->type == XML_DOCUMENT_NODE)
				return 0;
		}
		if (n != NULL)
			n = n->next;
	}
	return 0;
}

int
envelope_parse(const char *buf, size_t len,
    const struct envelope_limits *lim, xmlDocPtr *out,
    struct envelope_error *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	xmlErrorPtr e;
	size_t max_size = ENVELOPE_DEFAULT_MAX_SIZE;
	int max_depth = ENVELOPE_DEFAULT_MAX_DEPTH;
	int ret = -1;

	*out = NULL;
	stage_begin(STAGE_PARSE);
	envelope_clearerr(err);
	if (lim != NULL && lim->max_size > 0)
		max_size = lim->max_size;
	if (lim != NULL && lim->max_depth > 0)
		max_depth = lim->max_depth;

	if (envelope_schemas[AGREEMENT_PROTO_MIN] == NULL) {
		envelope_seterr(err, AE_INTERNAL, 0,
		    "schemas not loaded");
		log_errx(TAG, "envelope_parse before envelope_init");
		goto done;
	}
	if (len > max_size || len > INT_MAX) {
		envelope_seterr(err, AE_TOO_LARGE, 0,
		    "message of %zu bytes over the limit of %zu", len,
		    max_size);
		goto done;
	}
	if (buf == NULL || len == 0) {
		envelope_seterr(err, AE_MALFORMED, 0, "empty message");
		goto done;
	}
	if (envelope_prescan(buf, len, max_depth, err) == -1)
		goto done;

	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		envelope_seterr(err, AE_INTERNAL, 0, "out of memory");
		goto done;
	}
	if (ctxt->sax != NULL)
		ctxt->sax->serror = envelope_xml_quiet;
	envelope_confined = 1;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "message.xml", "UTF-8",
	    ENVELOPE_PARSE_OPTIONS);
	envelope_confined = 0;
	if (doc == NULL || !ctxt->wellFormed) {
		e = xmlCtxtGetLastError(ctxt);
		if (e != NULL && e->code != XML_ERR_OK) {
			err->line = e->line;
			pdmask_xml_error(err->text, sizeof(err->text), e);
		} else
			envelope_seterr(err, AE_MALFORMED, 0,
			    "not well-formed");
		err->code = AE_MALFORMED;
		goto done;
	}
	if (envelope_check_tree(doc, max_depth, err) == -1)
		goto done;
	if (envelope_validate(doc, err) == -1)
		goto done;

	*out = doc;
	doc = NULL;
	ret = 0;

 done:
	if (ret == -1 && err != NULL)
		log_info(TAG, "message refused: %s: line %d: %s",
		    errcode_name(err->code), err->line, err->text);
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (ctxt != NULL)
		xmlFreeParserCtxt(ctxt);
	stage_end(STAGE_PARSE);
	return ret;
}

static int
envelope_is(xmlNodePtr n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrEqual(n->ns->href, (const xmlChar *)ns) &&
	    xmlStrEqual(n->name, (const xmlChar *)name);
}

static xmlNodePtr
envelope_elem(xmlNodePtr parent, const char *ns, const char *name)
{
	xmlNodePtr n;

	if (parent == NULL)
		return NULL;
	for (n = parent->children; n != NULL; n = n->next)
		if (envelope_is(n, ns, name))
			return n;
	return NULL;
}

static int
envelope_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
envelope_text(xmlNodePtr node, char *buf, size_t len)
{
	xmlChar *c = NULL;
	const char *s, *e;
	size_t n;
	int ret = -1;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (node == NULL)
		goto done;
	/* All descendant text and CDATA; a comment does not cut it short. */
	if ((c = xmlNodeGetContent(node)) == NULL)
		goto done;
	s = (const char *)c;
	while (envelope_is_space((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && envelope_is_space((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n >= len)
		goto done;
	memcpy(buf, s, n);
	buf[n] = '\0';
	ret = 0;

 done:
	if (c != NULL)
		xmlFree(c);
	return ret;
}

xmlNodePtr
envelope_child(xmlNodePtr parent, const char *name)
{
	const char *ns = ENVELOPE_MSG_NS;

	if (parent == NULL)
		return NULL;
	if (parent->ns != NULL && !xmlStrEqual(parent->ns->href,
	    (const xmlChar *)ENVELOPE_MSG_NS))
		ns = (const char *)parent->ns->href;
	return envelope_elem(parent, ns, name);
}

int
envelope_child_text(xmlNodePtr parent, const char *name, char *buf,
    size_t len)
{
	return envelope_text(envelope_child(parent, name), buf, len);
}

/* One header field (in parent's namespace) into buf; missing and
 * optional leaves buf empty. */
static int
envelope_field(xmlNodePtr parent, const char *name, char *buf, size_t len,
    int optional, char *why, size_t whylen)
{
	xmlNodePtr n;

	buf[0] = '\0';
	n = envelope_elem(parent, (const char *)parent->ns->href, name);
	if (n == NULL) {
		if (optional)
			return 0;
		snprintf(why, whylen, "header has no %s", name);
		return -1;
	}
	if (envelope_text(n, buf, len) == -1) {
		snprintf(why, whylen, "header %s too long", name);
		return -1;
	}
	return 0;
}

/* The protocol version of doc: that of its root's namespace if it is an
 * envelope namespace; 0 otherwise. */
static int
envelope_doc_version(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int v;

	if (root == NULL || root->ns == NULL)
		return 0;
	v = envelope_ns_version((const char *)root->ns->href);
	if (v == 0 || !xmlStrEqual(root->ns->href,
	    (const xmlChar *)envelope_versions[v].ns))
		return 0;
	return v;
}

/* 1 if an element named name is below n. */
static int
envelope_has_descendant(xmlNodePtr n, const char *name)
{
	xmlNodePtr k;

	for (k = n->children; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE &&
		    (xmlStrcmp(k->name, BAD_CAST name) == 0 ||
		    envelope_has_descendant(k, name)))
			return 1;
	return 0;
}

/* The header and the body, or why not in why. */
static int
envelope_extract(xmlDocPtr doc, struct envelope_header *h,
    xmlNodePtr *bodyp, char *why, size_t whylen)
{
	xmlNodePtr root, hdr, bnode, b, n, from, to;
	const char *tname, *ns;
	char tmp[64];
	int t, v, bv;

	memset(h, 0, sizeof(*h));
	if (bodyp != NULL)
		*bodyp = NULL;
	root = xmlDocGetRootElement(doc);
	if ((v = envelope_doc_version(doc)) == 0 ||
	    !envelope_is(root, envelope_versions[v].ns, "Message")) {
		snprintf(why, whylen, "root is not the envelope Message of a "
		    "protocol version this gateway speaks");
		return -1;
	}
	h->version = v;
	ns = envelope_versions[v].ns;
	hdr = envelope_elem(root, ns, "Header");
	bnode = envelope_elem(root, ns, "Body");
	if (hdr == NULL || bnode == NULL) {
		snprintf(why, whylen, "Message without Header or Body");
		return -1;
	}
	if (envelope_field(hdr, "MessageId", h->message_id,
	    sizeof(h->message_id), 0, why, whylen) == -1 ||
	    envelope_field(hdr, "CaseId", h->case_id, sizeof(h->case_id), 0,
	    why, whylen) == -1 ||
	    envelope_field(hdr, "RefToMessageId", h->ref_to,
	    sizeof(h->ref_to), 1, why, whylen) == -1 ||
	    envelope_field(hdr, "AgreementId", h->agreement_id,
	    sizeof(h->agreement_id), 0, why, whylen) == -1)
		return -1;
	from = envelope_elem(hdr, ns, "From");
	to = envelope_elem(hdr, ns, "To");
	if (from == NULL || to == NULL) {
		snprintf(why, whylen, "header without From or To");
		return -1;
	}
	if (envelope_field(from, "Country", h->from_country,
	    sizeof(h->from_country), 0, why, whylen) == -1 ||
	    envelope_field(from, "Authority", h->from_authority,
	    sizeof(h->from_authority), 0, why, whylen) == -1 ||
	    envelope_field(to, "Country", h->to_country,
	    sizeof(h->to_country), 0, why, whylen) == -1 ||
	    envelope_field(to, "Authority", h->to_authority,
	    sizeof(h->to_authority), 0, why, whylen) == -1)
		return -1;

	if (envelope_field(hdr, "Created", tmp, sizeof(tmp), 0, why,
	    whylen) == -1)
		return -1;
	if (clock_parse_utc(tmp, &h->created) == -1) {
		snprintf(why, whylen, "bad Created %s", tmp);
		return -1;
	}
	if (envelope_field(hdr, "Type", tmp, sizeof(tmp), 0, why,
	    whylen) == -1)
		return -1;
	if ((t = agreement_msg_type_from_name(tmp)) == -1) {
		snprintf(why, whylen, "unknown Type %s", tmp);
		return -1;
	}
	h->type = (enum msg_type)t;
	if ((h->type == MSG_REDELIVERY ||
	    h->type == MSG_PROTECTION_NOTICE) && v < 2) {
		snprintf(why, whylen, "%s needs protocol version 2",
		    agreement_msg_type_name(h->type));
		return -1;
	}
	if (envelope_field(hdr, "Procedure", tmp, sizeof(tmp), 1, why,
	    whylen) == -1)
		return -1;
	if (tmp[0] == '\0')
		h->procedure = ENVELOPE_PROC_NONE;
	else if (strcmp(tmp, "standard") == 0)
		h->procedure = ENVELOPE_PROC_STANDARD;
	else if (strcmp(tmp, "accelerated") == 0)
		h->procedure = ENVELOPE_PROC_ACCELERATED;
	else {
		snprintf(why, whylen, "bad Procedure %s", tmp);
		return -1;
	}

	/* Exactly one element in Body, and it is the one Type names. */
	b = NULL;
	for (n = bnode->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (b != NULL) {
			snprintf(why, whylen, "Body holds more than one "
			    "document");
			return -1;
		}
		b = n;
	}
	/* one version for the whole message */
	if (b != NULL && b->ns != NULL &&
	    (bv = envelope_ns_version((const char *)b->ns->href)) != 0 &&
	    bv != v) {
		snprintf(why, whylen, "a version %d document (%s) in a version "
		    "%d envelope", bv, (const char *)b->ns->href, v);
		return -1;
	}
	tname = agreement_msg_type_name(h->type);
	if (b == NULL || tname == NULL ||
	    !envelope_is(b, envelope_versions[v].msg_ns, tname)) {
		snprintf(why, whylen, "header Type %s does not match the "
		    "body's %s", tname != NULL ? tname : "?",
		    b != NULL ? (const char *)b->name : "nothing");
		return -1;
	}
	/* version 2's field in a document both versions share */
	if (v < 2 && (h->type == MSG_READMISSION_REPLY ||
	    h->type == MSG_EXTENSION_REPLY) &&
	    envelope_has_descendant(b, "TransferDeadline")) {
		snprintf(why, whylen, "%s/TransferDeadline needs protocol "
		    "version 2", tname);
		return -1;
	}
	if (bodyp != NULL)
		*bodyp = b;
	return 0;
}

int
envelope_read(xmlDocPtr doc, struct envelope_header *h, xmlNodePtr *body)
{
	char why[256];

	if (doc == NULL) {
		log_errx(TAG, "envelope_read: no document");
		return -1;
	}
	if (envelope_extract(doc, h, body, why, sizeof(why)) == -1) {
		log_warnx(TAG, "envelope_read: %s", why);
		return -1;
	}
	return 0;
}

unsigned long
envelope_validations(void)
{
	return envelope_nvalidated;
}

int
envelope_validate(xmlDocPtr doc, struct envelope_error *err)
{
	xmlSchemaValidCtxtPtr vctxt = NULL;
	struct envelope_error local;
	struct envelope_header h;
	xmlNodePtr root;
	char why[256];
	int rc, v, ret = -1;

	if (err == NULL)
		err = &local;
	envelope_nvalidated++;
	envelope_clearerr(err);
	if (envelope_schemas[AGREEMENT_PROTO_MIN] == NULL) {
		envelope_seterr(err, AE_INTERNAL, 0, "schemas not loaded");
		goto done;
	}
	/* the root's namespace picks the schemas: one version per message */
	if ((v = envelope_doc_version(doc)) == 0) {
		root = xmlDocGetRootElement(doc);
		envelope_seterr(err, AE_SCHEMA_INVALID,
		    root != NULL ? xmlGetLineNo(root) : 0, "root element "
		    "'{%s}%s' is not the Message of a protocol version this "
		    "gateway speaks (%s, %s)", root != NULL && root->ns != NULL ?
		    (const char *)root->ns->href : "",
		    root != NULL ? (const char *)root->name : "", ENVELOPE_NS,
		    ENVELOPE_NS_2);
		goto done;
	}
	if ((vctxt = xmlSchemaNewValidCtxt(envelope_schemas[v])) == NULL) {
		envelope_seterr(err, AE_INTERNAL, 0, "out of memory");
		goto done;
	}
	xmlSchemaSetValidStructuredErrors(vctxt, envelope_xml_collect, err);
	envelope_confined = 1;
	rc = xmlSchemaValidateDoc(vctxt, doc);
	envelope_confined = 0;
	if (rc < 0) {
		envelope_seterr(err, AE_INTERNAL, 0,
		    "schema validation failed internally (%d)", rc);
		goto done;
	}
	if (rc > 0) {
		err->code = AE_SCHEMA_INVALID;
		if (err->text[0] == '\0')
			envelope_seterr(err, AE_SCHEMA_INVALID, 0,
			    "not valid against the schemas");
		goto done;
	}
	if (envelope_extract(doc, &h, NULL, why, sizeof(why)) == -1) {
		envelope_seterr(err, AE_SCHEMA_INVALID, 0, "%s", why);
		goto done;
	}
	ret = 0;

 done:
	if (vctxt != NULL)
		xmlSchemaFreeValidCtxt(vctxt);
	return ret;
}

int
envelope_uuid(char *buf, size_t len)
{
	unsigned char b[16];
	char hex[2 * sizeof(b) + 1];

	if (len < ENVELOPE_UUID_LEN + 1)
		return -1;
	if (RAND_bytes(b, sizeof(b)) != 1) {
		log_openssl(TAG, "RAND_bytes");
		return -1;
	}
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	hex_encode(b, sizeof(b), hex);
	snprintf(buf, len, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
	return 0;
}

static int
envelope_add(xmlNodePtr parent, xmlNsPtr ns, const char *name,
    const char *value)
{
	if (xmlNewTextChild(parent, ns, (const xmlChar *)name,
	    (const xmlChar *)value) == NULL) {
		log_errx(TAG, "out of memory adding %s", name);
		return -1;
	}
	return 0;
}

static int
envelope_add_party(xmlNodePtr hdr, xmlNsPtr ns, const char *name,
    const char *country, const char *authority)
{
	xmlNodePtr p;

	if ((p = xmlNewChild(hdr, ns, (const xmlChar *)name, NULL)) == NULL) {
		log_errx(TAG, "out of memory adding %s", name);
		return -1;
	}
	if (envelope_add(p, ns, "Country", country) == -1 ||
	    envelope_add(p, ns, "Authority", authority) == -1)
		return -1;
	return 0;
}

/* The node after n in document order, within top; NULL at the end. */
static xmlNodePtr
envelope_next(xmlNodePtr n, xmlNodePtr top)
{
	if (n->type == XML_ELEMENT_NODE && n->children != NULL)
		return n->children;
	while (n != top && n->next == NULL)
		n = n->parent;
	return n == top ? NULL : n->next;
}

/*
 * Move the copy of a business document (every namespace it uses is
 * declared inside it) from namespace from to namespace to, by rewriting
 * the declarations: the elements point to them.  A document that already
 * uses to somewhere mixes two versions and is refused.
 */
static int
envelope_move_ns(xmlNodePtr top, const char *from, const char *to)
{
	xmlNodePtr n;
	xmlNsPtr ns;
	xmlChar *href;

	for (n = top; n != NULL; n = envelope_next(n, top))
		if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		    xmlStrEqual(n->ns->href, (const xmlChar *)to)) {
			log_errx(TAG, "build: the body mixes %s and %s", from,
			    to);
			return -1;
		}
	for (n = top; n != NULL; n = envelope_next(n, top)) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (ns = n->nsDef; ns != NULL; ns = ns->next) {
			if (!xmlStrEqual(ns->href, (const xmlChar *)from))
				continue;
			if ((href = xmlStrdup((const xmlChar *)to)) == NULL) {
				log_errx(TAG, "build: out of memory");
				return -1;
			}
			xmlFree((xmlChar *)ns->href);
			ns->href = href;
		}
	}
	return 0;
}

int
envelope_build(const struct envelope_header *h, xmlNodePtr body,
    xmlDocPtr *out)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, hdr, bnode, copy;
	xmlNsPtr ns;
	const char *tname, *proc = NULL, *bns;
	char id[ENVELOPE_UUID_LEN + 1], created[32];
	int v, bv, ret = -1;

	*out = NULL;
	v = h->version != 0 ? h->version : AGREEMENT_PROTO_MIN;
	if (v < AGREEMENT_PROTO_MIN || v > AGREEMENT_PROTO_MAX) {
		log_errx(TAG, "build: no protocol version %d", h->version);
		goto done;
	}
	tname = agreement_msg_type_name(h->type);
	if (tname == NULL) {
		log_errx(TAG, "build: bad message type %d", (int)h->type);
		goto done;
	}
	bns = body != NULL && body->ns != NULL ?
	    (const char *)body->ns->href : NULL;
	bv = envelope_ns_version(bns);
	if (bv == 0 || !envelope_is(body, envelope_versions[bv].msg_ns,
	    tname)) {
		log_errx(TAG, "build: body is not a %s of %s or %s", tname,
		    ENVELOPE_MSG_NS, ENVELOPE_MSG_NS_2);
		goto done;
	}
	if (h->message_id[0] != '\0')
		snprintf(id, sizeof(id), "%s", h->message_id);
	else if (envelope_uuid(id, sizeof(id)) == -1)
		goto done;
	clock_format_utc(h->created != 0 ? h->created : clock_now(),
	    created, sizeof(created));
	switch (h->procedure) {
	case ENVELOPE_PROC_NONE:
		break;
	case ENVELOPE_PROC_STANDARD:
		proc = "standard";
		break;
	case ENVELOPE_PROC_ACCELERATED:
		proc = "accelerated";
		break;
	default:
		log_errx(TAG, "build: bad procedure %d", (int)h->procedure);
		goto done;
	}

	if ((doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL)
		goto nomem;
	if ((root = xmlNewDocNode(doc, NULL, (const xmlChar *)"Message",
	    NULL)) == NULL)
		goto nomem;
	xmlDocSetRootElement(doc, root);
	if ((ns = xmlNewNs(root, (const xmlChar *)envelope_versions[v].ns,
	    NULL)) == NULL)
		goto nomem;
	xmlSetNs(root, ns);
	if ((hdr = xmlNewChild(root, ns, (const xmlChar *)"Header",
	    NULL)) == NULL)
		goto nomem;
	if (envelope_add(hdr, ns, "MessageId", id) == -1 ||
	    envelope_add(hdr, ns, "CaseId", h->case_id) == -1)
		goto done;
	if (h->ref_to[0] != '\0' &&
	    envelope_add(hdr, ns, "RefToMessageId", h->ref_to) == -1)
		goto done;
	if (envelope_add_party(hdr, ns, "From", h->from_country,
	    h->from_authority) == -1 ||
	    envelope_add_party(hdr, ns, "To", h->to_country,
	    h->to_authority) == -1 ||
	    envelope_add(hdr, ns, "Created", created) == -1 ||
	    envelope_add(hdr, ns, "Type", tname) == -1 ||
	    envelope_add(hdr, ns, "AgreementId", h->agreement_id) == -1)
		goto done;
	if (proc != NULL && envelope_add(hdr, ns, "Procedure", proc) == -1)
		goto done;
	if ((bnode = xmlNewChild(root, ns, (const xmlChar *)"Body",
	    NULL)) == NULL)
		goto nomem;
	/* The copy carries the declarations of the namespaces it uses
	 * (libxml2 declares on it those its ancestors declared), so it can
	 * be moved to this version's namespace on its own. */
	if ((copy = xmlDocCopyNode(body, doc, 1)) == NULL)
		goto nomem;
	if (bv != v && envelope_move_ns(copy, envelope_versions[bv].msg_ns,
	    envelope_versions[v].msg_ns) == -1) {
		xmlFreeNode(copy);
		goto done;
	}
	if (xmlAddChild(bnode, copy) == NULL) {
		xmlFreeNode(copy);
		goto nomem;
	}
	*out = doc;
	doc = NULL;
	ret = 0;
	goto done;

 nomem:
	log_errx(TAG, "build: out of memory");
 done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	return ret;
}

int
envelope_serialize(xmlDocPtr doc, char **buf, size_t *len)
{
	xmlChar *x = NULL;
	int n = 0, ret = -1;

	*buf = NULL;
	*len = 0;
	xmlDocDumpMemoryEnc(doc, &x, &n, "UTF-8");
	if (x == NULL || n <= 0) {
		log_errx(TAG, "serialize failed");
		goto done;
	}
	if ((*buf = malloc((size_t)n + 1)) == NULL) {
		log_err(TAG, "serialize");
		goto done;
	}
	memcpy(*buf, x, (size_t)n);
	(*buf)[n] = '\0';
	*len = (size_t)n;
	ret = 0;

 done:
	if (x != NULL)
		xmlFree(x);
	return ret;
}

/* ---- Redelivery (version 2) ------------------------------------------ */

static const char envelope_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of a base64 character; -1 for any other. */
static int
envelope_b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict base64 (RFC 4648 alphabet, padded, the unused bits of the last
 * group zero, as xs:base64Binary wants) of text, XML white space ignored,
 * into a new NUL-terminated buffer of at most max decoded bytes.
 * @return 0, or -1 with err set.
 */
static int
envelope_b64_decode(const char *text, size_t max, char **out,
    size_t *outlen, struct envelope_error *err)
{
	const char *p;
	unsigned char *buf = NULL;
	unsigned long acc = 0;
	size_t n = 0, pad = 0, len, o = 0, k;
	int val[4], q = 0;

	*out = NULL;
	*outlen = 0;
	for (p = text; *p != '\0'; p++) {
		if (envelope_is_space((unsigned char)*p))
			continue;
		if (*p == '=')
			pad++;
		else if (pad > 0 || envelope_b64_value((unsigned char)*p) < 0) {
			envelope_seterr(err, AE_SCHEMA_INVALID, 0, "Redelivery: "
			    "Original is not base64 (character %zu)", n + 1);
			return -1;
		}
		n++;
	}
	if (n == 0 || n % 4 != 0 || pad > 2) {
		envelope_seterr(err, AE_SCHEMA_INVALID, 0, "Redelivery: "
		    "Original is not base64 (%zu characters, %zu of padding)",
		    n, pad);
		return -1;
	}
	len = n / 4 * 3 - pad;
	if (len > max) {
		envelope_seterr(err, AE_TOO_LARGE, 0, "Redelivery: the original "
		    "message has %zu bytes, over the limit of %zu", len, max);
		return -1;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		envelope_seterr(err, AE_INTERNAL, 0, "out of memory");
		return -1;
	}
	for (p = text; *p != '\0'; p++) {
		if (envelope_is_space((unsigned char)*p))
			continue;
		val[q++] = *p == '=' ? 0 : envelope_b64_value((unsigned char)*p);
		if (q < 4)
			continue;
		q = 0;
		acc = (unsigned long)val[0] << 18 | (unsigned long)val[1] << 12 |
		    (unsigned long)val[2] << 6 | (unsigned long)val[3];
		for (k = 0; k < 3 && o < len; k++)
			buf[o++] = (unsigned char)(acc >> (16 - 8 * k));
	}
	/* the bits padding leaves over must be zero: one encoding only */
	if ((pad == 1 && (acc & 0xff) != 0) || (pad == 2 &&
	    (acc & 0xffff) != 0)) {
		free(buf);
		envelope_seterr(err, AE_SCHEMA_INVALID, 0, "Redelivery: "
		    "Original is not canonical base64 (unused bits set)");
		return -1;
	}
	buf[len] = '\0';
	*out = (char *)buf;
	*outlen = len;
	return 0;
}

/* base64 of buf in lines of 76 characters, NUL-terminated (free()). */
static char *
envelope_b64_encode(const unsigned char *buf, size_t len)
{
	size_t i, o = 0, groups = (len + 2) / 3, cap;
	unsigned long acc;
	char *out;

	cap = groups * 4 + groups * 4 / 76 + 2;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (i = 0; i < len; i += 3) {
		if (i > 0 && i % 57 == 0)	/* 57 bytes: one full line */
			out[o++] = '\n';
		acc = (unsigned long)buf[i] << 16;
		if (i + 1 < len)
			acc |= (unsigned long)buf[i + 1] << 8;
		if (i + 2 < len)
			acc |= buf[i + 2];
		out[o++] = envelope_b64[acc >> 18 & 63];
		out[o++] = envelope_b64[acc >> 12 & 63];
		out[o++] = i + 1 < len ? envelope_b64[acc >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? envelope_b64[acc & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* A business document: what a Redelivery may carry. */
static int
envelope_redeliverable(int t)
{
	return t >= 0 && t < MSG_TYPE_COUNT && t != MSG_RECEIPT &&
	    t != MSG_ERROR && t != MSG_REDELIVERY;
}

int
envelope_redelivery_read(xmlNodePtr body, size_t max_len,
    struct envelope_redelivery *r, struct envelope_error *err)
{
	xmlChar *text = NULL;
	char tname[64];
	int t, ret = -1;

	memset(r, 0, sizeof(*r));
	envelope_clearerr(err);
	if (max_len == 0)
		max_len = ENVELOPE_DEFAULT_MAX_SIZE;
	if (!envelope_is(body, ENVELOPE_MSG_NS_2, "Redelivery")) {
		envelope_seterr(err, AE_SCHEMA_INVALID, 0, "not a Redelivery "
		    "of %s", ENVELOPE_MSG_NS_2);
		goto done;
	}
	if (envelope_child_text(body, "OriginalMessageId", r->original_id,
	    sizeof(r->original_id)) == -1 || envelope_child_text(body,
	    "OriginalType", tname, sizeof(tname)) == -1) {
		envelope_seterr(err, AE_SCHEMA_INVALID, xmlGetLineNo(body),
		    "Redelivery without a readable OriginalMessageId or "
		    "OriginalType");
		goto done;
	}
	if (!envelope_redeliverable(t = agreement_msg_type_from_name(tname))) {
		envelope_seterr(err, AE_SCHEMA_INVALID, xmlGetLineNo(body),
		    "Redelivery of a %s: only business documents are "
		    "redelivered", tname);
		goto done;
	}
	r->original_type = (enum msg_type)t;
	text = xmlNodeGetContent(envelope_child(body, "Original"));
	if (text == NULL) {
		envelope_seterr(err, AE_SCHEMA_INVALID, xmlGetLineNo(body),
		    "Redelivery without an Original");
		goto done;
	}
	if (envelope_b64_decode((const char *)text, max_len, &r->original,
	    &r->original_len, err) == -1)
		goto done;
	ret = 0;

 done:
	if (text != NULL)
		xmlFree(text);
	if (ret == -1)
		envelope_redelivery_clear(r);
	return ret;
}

int
envelope_redelivery_check(const struct envelope_redelivery *r,
    const struct envelope_header *outer, const struct envelope_header *inner,
    struct envelope_error *err)
{
	const char *what = NULL;

	envelope_clearerr(err);
	if (outer->type != MSG_REDELIVERY)
		what = "the outer message is no Redelivery";
	else if (strcmp(inner->message_id, r->original_id) != 0)
		what = "the original's MessageId is not OriginalMessageId";
	else if (inner->type != r->original_type)
		what = "the original's Type is not OriginalType";
	else if (!envelope_redeliverable((int)inner->type))
		what = "the original is not a business document";
	else if (strcmp(inner->case_id, outer->case_id) != 0)
		what = "the original's CaseId is not the Redelivery's";
	else if (strcmp(inner->from_country, outer->from_country) != 0 ||
	    strcmp(inner->from_authority, outer->from_authority) != 0)
		what = "the original's From is not the Redelivery's";
	else if (strcmp(inner->to_country, outer->to_country) != 0 ||
	    strcmp(inner->to_authority, outer->to_authority) != 0)
		what = "the original's To is not the Redelivery's";
	else if (strcmp(inner->agreement_id, outer->agreement_id) != 0)
		what = "the original's AgreementId is not the Redelivery's";
	if (what == NULL)
		return 0;
	envelope_seterr(err, AE_SCHEMA_INVALID, 0, "Redelivery %s: %s",
	    outer->message_id, what);
	return -1;
}

void
envelope_redelivery_clear(struct envelope_redelivery *r)
{
	free(r->original);
	memset(r, 0, sizeof(*r));
}

int
envelope_redelivery_body(const struct envelope_header *h,
    const char *bytes, size_t len, xmlDocPtr *out)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	xmlNsPtr ns;
	char *b64 = NULL;
	int ret = -1;

	*out = NULL;
	if (!envelope_redeliverable((int)h->type)) {
		log_errx(TAG, "redelivery: a %s is not redelivered",
		    agreement_msg_type_name(h->type) != NULL ?
		    agreement_msg_type_name(h->type) : "?");
		goto done;
	}
	if (len == 0 || len > ENVELOPE_DEFAULT_MAX_SIZE) {
		log_errx(TAG, "redelivery: an original of %zu bytes", len);
		goto done;
	}
	if ((b64 = envelope_b64_encode((const unsigned char *)bytes,
	    len)) == NULL ||
	    (doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
	    (root = xmlNewDocNode(doc, NULL, (const xmlChar *)"Redelivery",
	    NULL)) == NULL)
		goto nomem;
	xmlDocSetRootElement(doc, root);
	if ((ns = xmlNewNs(root, (const xmlChar *)ENVELOPE_MSG_NS_2,
	    NULL)) == NULL)
		goto nomem;
	xmlSetNs(root, ns);
	if (envelope_add(root, ns, "OriginalMessageId", h->message_id) == -1 ||
	    envelope_add(root, ns, "OriginalType",
	    agreement_msg_type_name(h->type)) == -1 ||
	    envelope_add(root, ns, "Original", b64) == -1)
		goto done;
	*out = doc;
	doc = NULL;
	ret = 0;
	goto done;

 nomem:
	log_errx(TAG, "redelivery: out of memory");
 done:
	free(b64);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return ret;
}
