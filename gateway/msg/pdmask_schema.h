/*
 * pdmask_schema.h -- the personal-data decisions written in the message
 * schemas (the .xsd files of protocols/), walked into element paths.
 *
 * Every xs:element and xs:attribute declaration of the protocol schemas
 * carries pd:data="none" (no personal data: shown) or pd:data="personal"
 * (masked), in the namespace urn:accord:pd (protocols/README.md,
 * "Personal data").  The walk expands each version's top-level schema,
 * from every global element, into paths of local names
 * ("Message/Body/ReadmissionRequest/Person/Surname", an attribute as
 * ".../DigestMethod/@Algorithm") and hands each path with the decision of
 * its declaration to a callback.
 *
 * Not linked into the gateway: pdmask_gen runs it at build time to make
 * the table pdmask.c looks paths up in (one source of truth: the
 * schemas), and test_pdmask runs it to prove the table covers them.
 */
#ifndef ACCORD_PDMASK_SCHEMA_H
#define ACCORD_PDMASK_SCHEMA_H

#include <stddef.h>

#define PDMASK_NS	"urn:accord:pd"

/* A declaration's decision; PDMASK_UNDECIDED has no pd:data (or another
 * value) and fails the build. */
enum pdmask_class {
	PDMASK_UNDECIDED = 0,
	PDMASK_NONE,		/* no personal data: shown */
	PDMASK_PERSONAL		/* masked */
};

/* One path: its decision and the declaration (file name, line) it
 * comes from.  @return 0 to go on, -1 to stop the walk. */
typedef int (*pdmask_schema_cb)(void *arg, const char *path,
    enum pdmask_class cls, const char *file, int line);

/*
 * Walk envelope.xsd and envelope-2.xsd under dir with everything they
 * include and import.  @return the number of schema files read, or -1
 * with err set (a file that cannot be read, a reference to nothing, a
 * name defined twice, nesting deeper than 32, or the callback's -1).
 */
int pdmask_schema_walk(const char *dir, pdmask_schema_cb cb, void *arg,
    char *err, size_t errlen);

/* The decision a declaration node carries. */
enum pdmask_class pdmask_schema_class(const char *value);

#endif
