/*
 * agreement_json.h -- the agreements in force as JSON, and back (issue 18).
 *
 * Every configuration load journals the rules it puts in force, so that
 * an auditor replays each decision by the rules of its day with nothing
 * but the journal: this gateway's country and calendar, and for each
 * partner its timelines, calendar, programme, message types, protocol
 * versions, retry policy and certificates.  The form is canonical: keys
 * sorted, no white space (jansson's JSON_SORT_KEYS | JSON_COMPACT), so
 * the SHA-256 of the text names one set of rules.
 *
 * Certificates (the TLS CA, every signing certificate) and the CRL are
 * carried whole, in PEM, with their fingerprints: a journal read years
 * later stands alone, and the CA a message's chain ends in is not in the
 * message.  File paths are not rules and are left out: the same rules
 * read from another directory have the same digest.
 */
#ifndef ACCORD_AGREEMENT_JSON_H
#define ACCORD_AGREEMENT_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "conf/agreement.h"
#include "conf/config.h"

/* The version of the form below; a reader refuses another. */
#define AGREEMENT_JSON_FORMAT	1

/* One agreement as a JSON object (new reference), or NULL when out of
 * memory. */
json_t *agreement_json_encode(const struct agreement *a);

/*
 * The inverse: a (cleared first) from j.  Every field agreement_json_encode()
 * writes is read back; a->file is set to "(journal)".  @return 0, or -1
 * with the reason in err (a is cleared again).
 */
int agreement_json_decode(struct agreement *a, const json_t *j, char *err,
    size_t errlen);

/*
 * The rules c puts in force: {"format", "country", "calendar",
 * "partners": [agreement, ...]} (new reference), or NULL.
 */
json_t *agreement_json_rules(const struct config *c);

/* The hex SHA-256 of rules in the canonical form into hex[65].
 * @return 0, or -1 when rules cannot be serialised. */
int agreement_json_digest(const json_t *rules, char hex[65]);

/*
 * The inverse of agreement_json_rules(): a configuration holding the
 * country, calendar and partners only (file set to "(journal)"), for
 * config_partner() and config_free().  @return it, or NULL with the
 * reason in err.
 */
struct config *agreement_json_config(const json_t *rules, char *err,
    size_t errlen);

#endif
