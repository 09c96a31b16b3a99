/*
 * envelope.h -- the Accord message model: hardened parsing, schema
 * validation, reading the header and building new envelopes.
 *
 * A message is one XML document (protocols/envelope.xsd for protocol
 * version 1, protocols/envelope-2.xsd for version 2):
 *
 *	Message (urn:accord:envelope:N)
 *	  Header	MessageId, CaseId, RefToMessageId?, From, To,
 *			Created, Type, AgreementId, Procedure?
 *	  Body		exactly one business document (urn:accord:msg:N)
 *	  ds:Signature?	enveloped, over the whole root; checked by xmlsig
 *
 * N is the protocol version, 1 or 2, the same for the envelope and its
 * body; the root's namespace says which.  Version 2 adds the Redelivery
 * document and the NOT_YET Error code (protocols/README.md, "Version 2").
 *
 * envelope_parse() is the only way untrusted bytes become a DOM.  The
 * document it returns is the one that xmlsig verifies and that the engine
 * then reads (DESIGN.md section 5, "one DOM"); nothing re-parses the bytes.
 */
#ifndef ACCORD_ENVELOPE_H
#define ACCORD_ENVELOPE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "conf/agreement.h"
#include "util/clock.h"
#include "util/errcode.h"

/* Version 1's namespaces; envelope_ns() and envelope_msg_ns() give any
 * version's. */
#define ENVELOPE_NS		"urn:accord:envelope:1"
#define ENVELOPE_MSG_NS		"urn:accord:msg:1"
#define ENVELOPE_NS_2		"urn:accord:envelope:2"
#define ENVELOPE_MSG_NS_2	"urn:accord:msg:2"
#define ENVELOPE_DSIG_NS	"http://www.w3.org/2000/09/xmldsig#"

/* Each version's schema that includes and imports all the others. */
#define ENVELOPE_TOP_SCHEMA	"envelope.xsd"
#define ENVELOPE_TOP_SCHEMA_2	"envelope-2.xsd"

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
	int		version;	/* protocol version, 1 or 2: set by
					 * envelope_read(); envelope_build()
					 * takes 0 as 1 */
};

/* The envelope namespace of protocol version v; NULL for a version this
 * build does not speak. */
const char *envelope_ns(int version);

/* The business-document namespace of protocol version v; NULL for a
 * version this build does not speak. */
const char *envelope_msg_ns(int version);

/* The version whose envelope or business-document namespace is ns;
 * 0 for none. */
int envelope_ns_version(const char *ns);

/*
 * Compile the schemas of every version under protocols_dir once, and
 * install a
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
 *	AE_SCHEMA_INVALID	not valid against the schemas of the
 *				version its root's namespace names (an
 *				unknown namespace is refused), the body of
 *				another version than the envelope, or the
 *				header's Type does not name the body
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
 * envelope_build()) into h, h->version from the root's namespace, and
 * point *body at the business document (the only element child of Body,
 * in the same version's namespace).  Values are the whole text content of
 * each element, comments and CDATA sections included.  body may be NULL.
 * @return 0, or -1 (logged) if the document is not a valid envelope.
 */
int envelope_read(xmlDocPtr doc, struct envelope_header *h,
    xmlNodePtr *body);

/*
 * Build a new, unsigned envelope of protocol version h->version (0 is
 * taken as 1) around a copy of body: a business document element whose
 * name is agreement_msg_type_name(h->type), in the business namespace of
 * either version.  The copy is moved into h->version's namespace; body
 * and its document are not changed.  The header comes from h, except that
 * an empty h->message_id is replaced by a random UUID v4 and h->created
 * == 0 by clock_now().  Read them back with envelope_read().  The result
 * is not validated: pass it through envelope_validate() before signing it
 * (a Redelivery or a NOT_YET in version 1 does not validate).
 * @return 0 with *out set (caller frees), or -1 (logged).
 */
int envelope_build(const struct envelope_header *h, xmlNodePtr body,
    xmlDocPtr *out);

/*
 * Validate a document already in memory (e.g. one we built) against the
 * schemas of the version its root's namespace names, including the
 * version and Type/body rules.
 * @return 0, or -1 with err filled in (AE_SCHEMA_INVALID or AE_INTERNAL).
 */
int envelope_validate(xmlDocPtr doc, struct envelope_error *err);

/* Schema validations begun in this process so far (every thread's,
 * envelope_parse()'s included): for tests that count them. */
unsigned long envelope_validations(void);

/*
 * Serialize doc as UTF-8 without reformatting; the exact bytes to send.
 * @return 0 with *buf (caller frees with free()) and *len set, or -1.
 */
int envelope_serialize(xmlDocPtr doc, char **buf, size_t *len);

/* A random UUID v4 in lower case into buf (>= 37 bytes). @return 0/-1. */
int envelope_uuid(char *buf, size_t len);

/* The first element child of parent in parent's own namespace (the
 * business namespace of version 1 when parent has none) with this local
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

/* ---- Redelivery (version 2) ------------------------------------------ */

/* What a Redelivery body says about the message it carries. */
struct envelope_redelivery {
	char		 original_id[ENVELOPE_UUID_LEN + 1];	/* as stated */
	enum msg_type	 original_type;			/* as stated */
	char		*original;	/* the decoded bytes, NUL-terminated
					 * (free()); still untrusted */
	size_t		 original_len;
};

/*
 * Read a Redelivery body (the body envelope_read() returned for a message
 * of type MSG_REDELIVERY) and decode its Original: strict base64, at most
 * max_len decoded bytes (0: ENVELOPE_DEFAULT_MAX_SIZE).  The bytes are
 * those of a message as its sender signed it: give them to
 * envelope_parse() and xmlsig like any received message, then check them
 * with envelope_redelivery_check().
 * @return 0 with r filled (clear it with envelope_redelivery_clear()), or
 * -1 with err set: AE_TOO_LARGE over max_len, AE_SCHEMA_INVALID not a
 * Redelivery or not base64, AE_INTERNAL out of memory.
 */
int envelope_redelivery_read(xmlNodePtr body, size_t max_len,
    struct envelope_redelivery *r, struct envelope_error *err);

/*
 * The rules that bind a Redelivery to the original it carries: the
 * original's MessageId and Type are those the Redelivery states, it is a
 * business document (no signal, no Redelivery), and its CaseId, From, To
 * and AgreementId are the Redelivery's own.  outer is the Redelivery's
 * header, inner the original's (envelope_read() of the parsed original).
 * @return 0, or -1 with err set (AE_SCHEMA_INVALID, naming the field).
 */
int envelope_redelivery_check(const struct envelope_redelivery *r,
    const struct envelope_header *outer, const struct envelope_header *inner,
    struct envelope_error *err);

/* Free what envelope_redelivery_read() allocated. */
void envelope_redelivery_clear(struct envelope_redelivery *r);

/*
 * Build the body of a Redelivery of our message bytes (exactly as signed
 * and sent; h is their header) into a new document, in urn:accord:msg:2:
 * pass its root to envelope_build() with type MSG_REDELIVERY, version 2,
 * a fresh MessageId and Created, and the original's CaseId.
 * @return 0 with *out set (caller frees with xmlFreeDoc), or -1 (logged)
 * if the original is no business document or too large.
 */
int envelope_redelivery_body(const struct envelope_header *h,
    const char *bytes, size_t len, xmlDocPtr *out);

#endif
