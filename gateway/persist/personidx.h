/*
 * personidx.h -- the person index of subject access (issue 19 item 5;
 * README, "Data protection"): which cases name a person, found by a
 * keyed hash of the person's name and birth date, never by the name.
 *
 * Each business message naming a person (Body/.../Person: Surname,
 * GivenNames, BirthSurname, BirthDate) gives its case rows of
 * HMAC-SHA-256(index key, normalised fields).  The rows and the index key
 * live in the key store (state/keys.db), not in the SQLite store: the
 * key is random, made once, wrapped under the master key like a case
 * key and re-wrapped by a rotation (the index survives it); erasing a
 * case deletes its rows in the transaction that deletes its keys; and
 * accordd --rebuild-store, which rebuilds store.db from the journal,
 * leaves them alone (the journal holds no hash of a person).  A stolen
 * keys.db without the master key gives hashes under a key it cannot
 * open: no dictionary of names and birth dates can be tried on them.
 *
 * Normalisation (personidx_normalise): the name's UTF-8 text with white
 * space (ASCII, no-break space), hyphens and dashes, apostrophes and
 * full stops removed, and letters upper-cased: ASCII, Latin-1, Latin
 * Extended-A, Cyrillic (Russian and Kazakh letters included).  Nothing
 * else: no transliteration between scripts (IVANOV and ИВАНОВ differ), no
 * accents removed (É is not E), other characters kept as they are.
 */
#ifndef ACCORD_PERSONIDX_H
#define ACCORD_PERSONIDX_H

#include <stddef.h>
#include <stdint.h>

#include "util/aead.h"

#define PERSONIDX_HMAC_LEN	32
#define PERSONIDX_NAME_MAX	512	/* bytes of a normalised name */

/* What a row's hash covers. */
enum personidx_kind {
	PERSONIDX_SURNAME = 1,	/* surname | birth date */
	PERSONIDX_FULL = 2	/* given names | surname | birth date */
};

struct keystore;

/*
 * in, normalised as above, into out (outlen bytes with its NUL).
 * @return its length, or -1 when it does not fit or is empty once
 * normalised.
 */
int personidx_normalise(const char *in, char *out, size_t outlen);

/*
 * The keyed hash of kind over the normalised names (given only for
 * PERSONIDX_FULL) and birth (YYYY-MM-DD).  @return 0, or -1 when a name
 * is empty once normalised or birth is not a date of that form.
 */
int personidx_hmac(const uint8_t key[AEAD_KEY_LEN], enum personidx_kind kind,
    const char *surname, const char *given, const char *birth,
    uint8_t out[PERSONIDX_HMAC_LEN]);

/* The index key, made (random) and kept wrapped at its first use.
 * @return 0, or -1 (logged). */
int personidx_key(struct keystore *ks, uint8_t key[AEAD_KEY_LEN]);

/* One row: partner's case case_id names the person of hmac (again is
 * harmless).  @return 0, or -1 (logged). */
int personidx_add(struct keystore *ks, const char *partner,
    const char *case_id, enum personidx_kind kind,
    const uint8_t hmac[PERSONIDX_HMAC_LEN]);

/* A message's rows, in the key store's batch transaction (committed with
 * the engine's journal batch: keystore_batch_commit()), not a commit a
 * row: the index is written for every message that names a person. */
struct personidx_row {
	enum personidx_kind	kind;
	uint8_t			hmac[PERSONIDX_HMAC_LEN];
};
int personidx_add_rows(struct keystore *ks, const char *partner,
    const char *case_id, const struct personidx_row *rows, size_t n);

/*
 * Each case with a row of kind and hmac, by partner and case id, to
 * cb (which returns non-zero to stop).  @return the cases given, or -1.
 */
int personidx_find(struct keystore *ks, enum personidx_kind kind,
    const uint8_t hmac[PERSONIDX_HMAC_LEN],
    int (*cb)(void *, const char *, const char *), void *arg);

/* The rows of a case, in the caller's transaction (keystore_erase).
 * @return 0, or -1. */
int personidx_erase(struct keystore *ks, const char *partner,
    const char *case_id);

/* The index key wrapped under next, in the caller's transaction
 * (keystore_rotate_finish).  @return 0, or -1. */
int personidx_rewrap(struct keystore *ks, const uint8_t next[AEAD_KEY_LEN]);

/* The rows of a case.  @return their count, or -1. */
int64_t personidx_count(struct keystore *ks, const char *partner,
    const char *case_id);

#endif
