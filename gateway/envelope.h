/*
 * envelope.h -- the Accord message model: hardened parsing, schema
 * validation, reading the header and building new envelopes.
 *
 * A message is one XML document (protocols/envelope.xsd):
 *
 *	Message (urn:accord:envelope:1)
 *	  Header	MessageId, CaseId, RefToMessageId?, From, To,
 *			Created, Type, AgreementId, Procedure?
 *	  Body		exactly one business document (urn:accord:msg:1)
 *	  ds:Signature?	enveloped, over the whole root; checked by xmlsig
 *
 * envelope_parse() is the only way untrusted bytes become a DOM.  The
 * document it returns is the one that xmlsig verifies and that the engine
 * then reads (DESIGN.md section 5, "one DOM"); nothing re-parses the bytes.
 */
#ifndef ACCORD_ENVELOPE_H
#define ACCORD_ENVELOPE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "agreement.h"
#include "clock.h"
#include "errcode.h"

#define ENVELOPE_NS		"urn:accord:envelope:1"
#define ENVELOPE_MSG_NS		"urn:accord:msg:1"
#define ENVELOPE_DSIG_NS	"http://www.w3.org/2000/09/xmldsig#"

/* The schema that includes and imports all the others. */
#define ENVELOPE_TOP_SCHEMA	"envelope.xsd"

#define ENVELOPE_DEFAULT_MAX_SIZE	(1024 * 1024)
#define ENVELOPE_DEFAULT_MAX_DEPTH	32

/* Limits applied before and while parsing. */
struct envelope_limits {
	size_t	max_size;	/* bytes; 0 = ENVELOPE_DEFAULT_MAX_SIZE */
	int	max_depth;	/* element nesting, root = 1;
				 * 0 = ENVELOPE_DEFAULT_MAX_DEPTH */
};

/* Why a document was refused. */
struct envelope_error {
	enum accord_err	code;		/* AE_OK when nothing went wrong */
	int		line;		/* 0 when unknown */
	char		text[512];	/* libxml2's message, or ours */
};

enum envelope_procedure {
	ENVELOPE_PROC_NONE = 0,		/* header carries no Procedure */
	ENVELOPE_PROC_STANDARD,
	ENVELOPE_PROC_ACCELERATED
};

#define ENVELOPE_UUID_LEN	36
#define ENVELOPE_CODE_MAX	64	/* m:Code: 63 characters + NUL */

/* The Header of a message, as plain C strings. */
struct envelope_header {
	char		message_id[ENVELOPE_UUID_LEN + 1];
	char		case_id[ENVELOPE_CODE_MAX];
	char		ref_to[ENVELOPE_UUID_LEN + 1];	/* "" when absent */
	char		from_country[3];
	char		from_authority[ENVELOPE_CODE_MAX];
	char		to_country[3];
	char		to_authority[ENVELOPE_CODE_MAX];
	accord_time_t	created;
	enum msg_type	type;
	char		agreement_id[ENVELOPE_CODE_MAX];
	enum envelope_procedure procedure;
};

/*
 * Compile the schemas under protocols_dir once, and install a
 * process-wide external entity loader that refuses every network resource,
 * and, while envelope functions run, every file outside protocols_dir.
 * Call before any other function; the daemon calls it once at start-up,
 * before any worker thread (the schemas are then shared read-only).
 * @return 0, or -1 (logged) if the schemas cannot be compiled.
 */
int envelope_init(const char *protocols_dir);

/* Free the compiled schemas and restore libxml2's entity loader. */
void envelope_shutdown(void);

/*
 * Turn untrusted bytes into a schema-valid document, or refuse them:
 *	AE_TOO_LARGE		len over lim->max_size (nothing is parsed)
 *	AE_FORBIDDEN_XML	DOCTYPE, entity declaration or reference,
 *				processing instruction (a leading XML
 *				declaration is allowed)
 *	AE_TOO_DEEP		nesting over lim->max_depth
 *	AE_MALFORMED		not well-formed XML
 *	AE_SCHEMA_INVALID	not valid against protocols/envelope.xsd, or
 *				the header's Type does not name the body
 *	AE_INTERNAL		out of memory, envelope_init() not called
 * The first four are decided before any schema work.  lim may be NULL
 * for the defaults.
 * @return 0 with *out set (caller frees with xmlFreeDoc), or -1 with err
 * filled in and *out NULL.
 */
int envelope_parse(const char *buf, size_t len,
    const struct envelope_limits *lim, xmlDocPtr *out,
    struct envelope_error *err);

/*
 * Read the header of a document returned by envelope_parse() (or built by
 * envelope_build()) into h, and point *body at the business document (the
 * only element child of Body).  Values are the whole text content of each
 * element, comments and CDATA sections included.  body may be NULL.
 * @return 0, or -1 (logged) if the document is not a valid envelope.
 */
int envelope_read(xmlDocPtr doc, struct envelope_header *h,
    xmlNodePtr *body);

/*
 * Build a new, unsigned envelope around a copy of body (a business
 * document element in ENVELOPE_MSG_NS whose name is
 * agreement_msg_type_name(h->type); body's document is not changed).
 * The header comes from h, except that an empty h->message_id is replaced
 * by a random UUID v4 and h->created == 0 by clock_now().  Read them back
 * with envelope_read().  The result is not validated: pass it through
 * envelope_validate() before signing it.
 * @return 0 with *out set (caller frees), or -1 (logged).
 */
int envelope_build(const struct envelope_header *h, xmlNodePtr body,
    xmlDocPtr *out);

/*
 * Validate a document already in memory (e.g. one we built) against the
 * schemas, including the Type/body rule.
 * @return 0, or -1 with err filled in (AE_SCHEMA_INVALID or AE_INTERNAL).
 */
int envelope_validate(xmlDocPtr doc, struct envelope_error *err);

/*
 * Serialize doc as UTF-8 without reformatting; the exact bytes to send.
 * @return 0 with *buf (caller frees with free()) and *len set, or -1.
 */
int envelope_serialize(xmlDocPtr doc, char **buf, size_t *len);

/* A random UUID v4 in lower case into buf (>= 37 bytes). @return 0/-1. */
int envelope_uuid(char *buf, size_t len);

/* The first element child of parent in the business namespace (or in
 * parent's own namespace when it is not the business one) with this local
 * name; NULL if none. */
xmlNodePtr envelope_child(xmlNodePtr parent, const char *name);

/*
 * The whole text value of node (all descendant text and CDATA, so a
 * comment splitting the text does not truncate it) into buf.
 * @return 0, or -1 if node is NULL or the value does not fit.
 */
int envelope_text(xmlNodePtr node, char *buf, size_t len);

/* envelope_text() of envelope_child(parent, name).  @return 0/-1. */
int envelope_child_text(xmlNodePtr parent, const char *name, char *buf,
    size_t len);

#endif
