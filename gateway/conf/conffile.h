/*
 * conffile.h -- reading configuration files: hardened parsing, schema
 * validation, diagnostics with file and line, paths, keys and certificates.
 *
 * Shared by config.c (accordd.xml) and agreement.c (conf/partners/).
 */
#ifndef ACCORD_CONFFILE_H
#define ACCORD_CONFFILE_H

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf/calendar.h"
#include "util/clock.h"

#define CONF_NS "urn:accord:config:1"

/* Errors and warnings found while loading, each "file:line: text". */
struct conf_diag {
	char	**errors;
	int	  nerrors;
	char	**warnings;
	int	  nwarnings;
	size_t	  errors_cap;		/* allocated lengths */
	size_t	  warnings_cap;
};

void conf_diag_error(struct conf_diag *d, const char *file, long line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void conf_diag_warn(struct conf_diag *d, const char *file, long line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void conf_diag_free(struct conf_diag *d);
/* Print every error and warning, one per line, to fp. */
void conf_diag_print(const struct conf_diag *d, FILE *fp);

/* Directory holding conf/schema/ and protocols/: $ACCORD_DATADIR, else
 * the install path ($pkgdatadir). */
const char *conf_datadir(void);

/*
 * Parse file with no network, no DTD, no entities, and validate it against
 * conf/schema/<schema> under the data directory.
 * @return the document, or NULL with the reasons in d.
 */
xmlDocPtr conf_load_xml(const char *file, const char *schema,
    struct conf_diag *d);

/* First child element of parent with this local name in CONF_NS. */
xmlNodePtr conf_child(xmlNodePtr parent, const char *name);
/* Next sibling element with the same name as node, or NULL. */
xmlNodePtr conf_next(xmlNodePtr node);
/* Attribute value (malloc'd by libxml2; xmlFree it), or NULL. */
char *conf_attr(xmlNodePtr node, const char *name);
/* Attribute copied into buf; "" when absent. @return buf. */
char *conf_attr_buf(xmlNodePtr node, const char *name, char *buf,
    size_t len);
/* Integer attribute (schema-checked); def when absent. */
int conf_attr_int(xmlNodePtr node, const char *name, int def);
/* Whole text of an element, whitespace-trimmed, malloc'd. */
char *conf_text(xmlNodePtr node);
int conf_text_int(xmlNodePtr node, int def);
int conf_text_bool(xmlNodePtr node, int def);
long conf_line(xmlNodePtr node);

/* dir/rel, or rel if absolute; malloc'd. */
char *conf_path(const char *dir, const char *rel);
/* Directory part of file, malloc'd. */
char *conf_dirname(const char *file);

/* Read a calendar element into cal, checking zone and dates. */
int conf_read_calendar(xmlNodePtr node, const char *file,
    struct calendar *cal, struct conf_diag *d, accord_time_t now,
    const char *whose);

/* Load a PEM certificate; reports unreadable or unparsable files. */
X509 *conf_load_cert(const char *path, const char *file, long line,
    struct conf_diag *d);
/* The configured <user>, who may own private keys too ((uid_t)-1: none). */
extern uid_t conf_key_owner;
/* Set in the engine of a privilege-separated daemon: the private keys were
 * read at start (the signing key by the signer); configurations it loads
 * later check the certificates only. */
extern int conf_keys_elsewhere;

/* Load a private key after checking it is a regular file owned by us (or
 * root, or conf_key_owner) and not readable by group or others. */
EVP_PKEY *conf_load_key(const char *path, const char *file, long line,
    struct conf_diag *d);
/* 1 if ca issued x (directly, or through chain, which may be NULL), with
 * X509_V_FLAG_* flags and an X509_PURPOSE_* (0: none); else 0. */
int conf_cert_chains_to(X509 *ca, X509 *x, STACK_OF(X509) *chain,
    unsigned long flags, int purpose);
/* Hex SHA-256 of the certificate's DER into out[65]. */
void conf_cert_sha256(X509 *x, char out[65]);
/* The certificate's validity as UTC seconds. */
int conf_cert_times(X509 *x, accord_time_t *nb, accord_time_t *na);
/* The CRL's nextUpdate as UTC seconds; 0 when it gives none.
 * @return 0, or -1 when it cannot be read. */
int conf_crl_next_update(X509_CRL *crl, accord_time_t *next);
/*
 * "127.0.0.1:9464" or "[::1]:9464": a numeric IPv4 or bracketed IPv6
 * address and a port (1-65535), into host (without brackets) and *port;
 * *loopback is set to 1 for a loopback address (127.0.0.0/8, ::1).
 * Host names are refused: what a name resolves to can change.
 * @return 0, or -1 with why set.
 */
int conf_parse_hostport(const char *s, char *host, size_t hostlen,
    int *port, int *loopback, char *why, size_t whylen);
/* Warn if x expires within 30 days; error if it has expired and
 * must_be_valid is set.  @return 0 when usable now, -1 otherwise. */
int conf_check_cert_time(X509 *x, const char *what, const char *file,
    long line, struct conf_diag *d, accord_time_t now, int must_be_valid);

#endif
