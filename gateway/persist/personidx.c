/*
 * personidx.c -- the person index of subject access (see personidx.h):
 * normalising names, their keyed hashes, and the rows in keys.db.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "persist/keystore.h"
#include "persist/keystore_priv.h"
#include "persist/personidx.h"
#include "util/aead.h"
#include "util/log.h"

#define PTAG		"personidx"
#define PX_KEY_AAD	"accord-person-index-key-1"
#define PX_HMAC_LABEL	"accord-person-1"
#define PX_WRAPPED_LEN	(AEAD_KEY_LEN + AEAD_OVERHEAD)

/* One code point at *p (advanced), or the byte itself when it starts no
 * valid UTF-8 sequence (kept as it is). */
static unsigned long
px_utf8_next(const unsigned char **p, size_t *n)
{
	const unsigned char *s = *p;
	unsigned long c;
	size_t len, i;

	if (s[0] < 0x80)
		len = 1;
	else if ((s[0] & 0xe0) == 0xc0)
		len = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4;
	else
		len = 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			len = 0;
	if (len <= 1) {
		*n = 1;
		*p = s + 1;
		return len == 1 ? s[0] : 0x110000 + s[0];	/* raw byte */
	}
	c = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++)
		c = c << 6 | (s[i] & 0x3f);
	*n = len;
	*p = s + len;
	return c;
}

/* Left out of a name: spaces, hyphens and dashes, apostrophes, stops. */
static int
px_ignored(unsigned long c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == 0xa0 || c == '-' || c == 0x2010 || c == 0x2011 ||
	    c == 0x2012 || c == 0x2013 || c == 0x2014 || c == 0x2212 ||
	    c == '\'' || c == 0x2019 || c == 0x2bc || c == '`' || c == '.';
}

/* Upper case of c in the scripts personidx.h names, else c. */
static unsigned long
px_upper(unsigned long c)
{
	if (c >= 'a' && c <= 'z')
		return c - 0x20;
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)	/* Latin-1 */
		return c - 0x20;
	if (c == 0xff)
		return 0x178;
	/* Latin Extended-A: pairs, upper case first ... */
	if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) ||
	    (c >= 0x14a && c <= 0x177))
		return c & ~1UL;
	/* ... or second */
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c : c - 1;
	if (c >= 0x430 && c <= 0x44f)			/* Cyrillic */
		return c - 0x20;
	if (c >= 0x450 && c <= 0x45f)
		return c - 0x50;
	/* Cyrillic pairs (Kazakh Ә Ғ Қ Ң Ө Ұ Ү Һ among them) */
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x52f))
		return c & ~1UL;
	if (c >= 0x4c1 && c <= 0x4ce)
		return (c & 1) ? c : c - 1;
	if (c == 0x4cf)
		return 0x4c0;
	return c;
}

/* c as UTF-8 into out at *o.  @return 0, or -1 when it does not fit. */
static int
px_put(unsigned long c, char *out, size_t outlen, size_t *o)
{
	unsigned char b[4];
	size_t n, i;

	if (c >= 0x110000) {
		b[0] = (unsigned char)(c - 0x110000);
		n = 1;
	} else if (c < 0x80) {
		b[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (unsigned char)(0xc0 | c >> 6);
		b[1] = (unsigned char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (unsigned char)(0xe0 | c >> 12);
		b[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | c >> 18);
		b[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (c & 0x3f));
		n = 4;
	}
	if (*o + n >= outlen)
		return -1;
	for (i = 0; i < n; i++)
		out[(*o)++] = (char)b[i];
	return 0;
}

int
personidx_normalise(const char *in, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned long c;
	size_t o = 0, n;

	if (outlen == 0)
		return -1;
	while (*p != '\0') {
		c = px_utf8_next(&p, &n);
		if (px_ignored(c))
			continue;
		if (px_put(px_upper(c), out, outlen, &o) == -1)
			return -1;
	}
	out[o] = '\0';
	return o > 0 ? (int)o : -1;
}

/* YYYY-MM-DD, digits where digits go. */
static int
px_date_ok(const char *s)
{
	int i;

	if (strlen(s) != 10)
		return 0;
	for (i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' ||
		    s[i] > '9'))
			return 0;
	return 1;
}

int
personidx_hmac(const uint8_t key[AEAD_KEY_LEN], enum personidx_kind kind,
    const char *surname, const char *given, const char *birth,
    uint8_t out[PERSONIDX_HMAC_LEN])
{
	char sn[PERSONIDX_NAME_MAX], gn[PERSONIDX_NAME_MAX];
	char buf[sizeof(PX_HMAC_LABEL) + 4 + 2 * PERSONIDX_NAME_MAX + 16];
	unsigned int olen = PERSONIDX_HMAC_LEN;
	int n;

	if (surname == NULL || birth == NULL || !px_date_ok(birth) ||
	    personidx_normalise(surname, sn, sizeof(sn)) == -1)
		return -1;
	/* NUL between the fields: no name holds one, so no two inputs
	 * run together into the same bytes */
	if (kind == PERSONIDX_FULL) {
		if (given == NULL ||
		    personidx_normalise(given, gn, sizeof(gn)) == -1)
			return -1;
		n = snprintf(buf, sizeof(buf), "%s%cF%c%s%c%s%c%s",
		    PX_HMAC_LABEL, 0, 0, gn, 0, sn, 0, birth);
	} else
		n = snprintf(buf, sizeof(buf), "%s%cS%c%s%c%s",
		    PX_HMAC_LABEL, 0, 0, sn, 0, birth);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	if (HMAC(EVP_sha256(), key, AEAD_KEY_LEN, (unsigned char *)buf,
	    (size_t)n, out, &olen) == NULL || olen != PERSONIDX_HMAC_LEN) {
		aead_wipe(buf, sizeof(buf));
		return -1;
	}
	aead_wipe(buf, sizeof(buf));
	aead_wipe(sn, sizeof(sn));
	aead_wipe(gn, sizeof(gn));
	return 0;
}

/* The wrapped index key.  @return 1 with it in w, 0 none, -1. */
static int
px_wrapped(struct keystore *ks, uint8_t w[PX_WRAPPED_LEN])
{
	sqlite3_stmt *s = NULL;
	int rc = -1, n;

	if (sqlite3_prepare_v2(ks->db, "SELECT wrapped FROM index_key WHERE "
	    "id = 1", -1, &s, NULL) != SQLITE_OK)
		goto done;
	if ((n = sqlite3_step(s)) == SQLITE_DONE)
		rc = 0;
	else if (n == SQLITE_ROW && sqlite3_column_bytes(s, 0) ==
	    PX_WRAPPED_LEN) {
		memcpy(w, sqlite3_column_blob(s, 0), PX_WRAPPED_LEN);
		rc = 1;
	}
done:
	sqlite3_finalize(s);
	return rc;
}

/* Store the index key wrapped under master (insert or replace). */
static int
px_store(struct keystore *ks, const uint8_t master[AEAD_KEY_LEN],
    const uint8_t key[AEAD_KEY_LEN])
{
	sqlite3_stmt *s = NULL;
	uint8_t w[PX_WRAPPED_LEN];
	int rc = -1;

	if (aead_seal(master, PX_KEY_AAD, strlen(PX_KEY_AAD), key,
	    AEAD_KEY_LEN, w) == -1)
		return -1;
	if (sqlite3_prepare_v2(ks->db, "INSERT OR REPLACE INTO index_key "
	    "VALUES(1, ?1)", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_bind_blob(s, 1, w, sizeof(w), SQLITE_STATIC) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

int
personidx_key(struct keystore *ks, uint8_t key[AEAD_KEY_LEN])
{
	uint8_t w[PX_WRAPPED_LEN];
	int rc;

	if (ks->db == NULL) {
		log_errx(PTAG, "an exported case key has no person index");
		return -1;
	}
	/* read once: it is asked for every message that names a person */
	if (ks->has_ikey) {
		memcpy(key, ks->ikey, AEAD_KEY_LEN);
		return 0;
	}
	if ((rc = px_wrapped(ks, w)) == 1) {
		if (aead_open(ks->master, PX_KEY_AAD, strlen(PX_KEY_AAD), w,
		    sizeof(w), key) == 0) {
			memcpy(ks->ikey, key, AEAD_KEY_LEN);
			ks->has_ikey = 1;
			return 0;
		}
		log_errx(PTAG, "the index key does not open under the "
		    "master key");
		return -1;
	}
	if (rc == 0 && aead_random(key, AEAD_KEY_LEN) == 0 &&
	    keystore_batch_commit(ks) == 0 &&
	    keystore_exec(ks, "PRAGMA synchronous=FULL") == 0) {
		/* durable before any row is hashed with it */
		rc = px_store(ks, ks->master, key);
		if (keystore_exec(ks, "PRAGMA synchronous=NORMAL") == -1)
			rc = -1;
		if (rc == 0) {
			memcpy(ks->ikey, key, AEAD_KEY_LEN);
			ks->has_ikey = 1;
			return 0;
		}
	}
	aead_wipe(key, AEAD_KEY_LEN);
	log_errx(PTAG, "cannot read or make the index key: %s",
	    sqlite3_errmsg(ks->db));
	return -1;
}

int
personidx_rewrap(struct keystore *ks, const uint8_t next[AEAD_KEY_LEN])
{
	uint8_t w[PX_WRAPPED_LEN], key[AEAD_KEY_LEN];
	int rc;

	if ((rc = px_wrapped(ks, w)) != 1)
		return rc;	/* none made yet: nothing to re-wrap */
	if (aead_open(ks->master, PX_KEY_AAD, strlen(PX_KEY_AAD), w,
	    sizeof(w), key) == -1) {
		log_errx(PTAG, "the index key does not open under the "
		    "master key");
		return -1;
	}
	rc = px_store(ks, next, key);
	aead_wipe(key, sizeof(key));
	return rc;
}

int
personidx_add(struct keystore *ks, const char *partner, const char *case_id,
    enum personidx_kind kind, const uint8_t hmac[PERSONIDX_HMAC_LEN])
{
	struct personidx_row r;

	r.kind = kind;
	memcpy(r.hmac, hmac, sizeof(r.hmac));
	return personidx_add_rows(ks, partner, case_id, &r, 1);
}

int
personidx_add_rows(struct keystore *ks, const char *partner,
    const char *case_id, const struct personidx_row *rows, size_t n)
{
	sqlite3_stmt *s = NULL;
	size_t i;
	int rc = -1;

	if (ks->db == NULL)
		return -1;
	if (n == 0)
		return 0;
	if (keystore_batch_join(ks) == -1)
		return -1;
	if (sqlite3_prepare_v2(ks->db, "INSERT OR IGNORE INTO persons "
	    "VALUES(?1, ?2, ?3, ?4)", -1, &s, NULL) != SQLITE_OK)
		goto done;
	for (i = 0; i < n; i++) {
		sqlite3_reset(s);
		if (sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC) !=
		    SQLITE_OK || sqlite3_bind_text(s, 2, case_id, -1,
		    SQLITE_STATIC) != SQLITE_OK || sqlite3_bind_int(s, 3,
		    rows[i].kind) != SQLITE_OK || sqlite3_bind_blob(s, 4,
		    rows[i].hmac, PERSONIDX_HMAC_LEN, SQLITE_STATIC) !=
		    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
			goto done;
	}
	rc = 0;
done:
	if (rc == -1)
		log_errx(PTAG, "indexing case %s/%s: %s", partner, case_id,
		    sqlite3_errmsg(ks->db));
	sqlite3_finalize(s);
	return rc;
}

int
personidx_find(struct keystore *ks, enum personidx_kind kind,
    const uint8_t hmac[PERSONIDX_HMAC_LEN],
    int (*cb)(void *, const char *, const char *), void *arg)
{
	sqlite3_stmt *s = NULL;
	int n = 0, step;

	if (ks->db == NULL)
		return -1;
	if (sqlite3_prepare_v2(ks->db, "SELECT partner, case_id FROM "
	    "persons WHERE hmac = ?1 AND kind = ?2 ORDER BY partner, "
	    "case_id", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 1, hmac, PERSONIDX_HMAC_LEN,
	    SQLITE_STATIC) != SQLITE_OK || sqlite3_bind_int(s, 2, kind) !=
	    SQLITE_OK) {
		n = -1;
		goto done;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		n++;
		if (cb(arg, (const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1)) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		n = -1;
done:
	if (n == -1)
		log_errx(PTAG, "looking up a person: %s",
		    sqlite3_errmsg(ks->db));
	sqlite3_finalize(s);
	return n;
}

int
personidx_erase(struct keystore *ks, const char *partner,
    const char *case_id)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(ks->db, "DELETE FROM persons WHERE "
	    "partner = ?1 AND case_id = ?2", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC) ==
	    SQLITE_OK && sqlite3_bind_text(s, 2, case_id, -1,
	    SQLITE_STATIC) == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

int64_t
personidx_count(struct keystore *ks, const char *partner,
    const char *case_id)
{
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	if (ks->db != NULL && sqlite3_prepare_v2(ks->db, "SELECT count(*) "
	    "FROM persons WHERE partner = ?1 AND case_id = ?2", -1, &s,
	    NULL) == SQLITE_OK && sqlite3_bind_text(s, 1, partner, -1,
	    SQLITE_STATIC) == SQLITE_OK && sqlite3_bind_text(s, 2, case_id,
	    -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}
