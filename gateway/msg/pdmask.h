/*
 * pdmask.h -- personal data masked by allowlist: what a message shows
 * to someone who may not see personal data.
 *
 * Each element and attribute of the protocol schemas is decided in the
 * schema itself (pd:data="none" or "personal", protocols/README.md,
 * "Personal data"); the build turns the decisions into a table of paths
 * (pdmask_gen, msg/pdmask-table.h).  Shown is only the text and the
 * attributes of an element whose path is in the table as PDMASK_NONE
 * and whose ancestors are all PDMASK_NONE; every other value -- personal
 * ones, unknown paths, other namespaces -- becomes PDMASK_MARKER.
 * Elements stay (the structure is not personal); comments and
 * processing instructions go.
 *
 * Pure functions of the document: no I/O, no schemas loaded, so any
 * process that holds a parsed message (the daemon, accordctl, a parser
 * process) can mask it.
 */
#ifndef ACCORD_PDMASK_H
#define ACCORD_PDMASK_H

#include <stddef.h>

#include <libxml/tree.h>

#include "msg/pdmask_schema.h"

#define PDMASK_MARKER	"***"

/*
 * Mask doc in place.  Its root is a Message or a business document
 * (any global element of the schemas).  The document no longer verifies
 * afterwards: mask a copy of what must stay signed.
 * @return the number of values masked, or -1 if doc has no root.
 */
int pdmask_doc(xmlDocPtr doc);

/* The same for the subtree at root (a global element: Message, a
 * business document, ds:Signature).  @return as pdmask_doc. */
int pdmask_node(xmlNodePtr root);

/* The decision for a path of local names ("ReadmissionRequest/Person/
 * Surname", ".../@Algorithm"); PDMASK_UNDECIDED if the schemas have no
 * such path. */
enum pdmask_class pdmask_lookup(const char *path);

/*
 * Errors name the element and the rule, never the value (issue 19).
 * libxml2 quotes the offending value ("Element '{...}BirthDate':
 * '1990-13-45' is not a valid value of the atomic type ..."); these give
 * its message with every quoted string masked but qualified names of our
 * schemas and facet names, and, when the error has a node, the element's
 * path in front ("element Message/Body/ReadmissionRequest/Person/
 * BirthDate: ...").  The value of an element that would be shown
 * (pdmask_path_shown: the Error's Code, a header field) stays.  dst is
 * always terminated, on one line.
 */
/* Is the value at path shown: the path and each ancestor allowlisted? */
int pdmask_path_shown(const char *path);

struct _xmlError;
void pdmask_xml_error(char *dst, size_t len, const struct _xmlError *e);
void pdmask_quoted(char *dst, size_t len, const char *msg);

#endif
