/*
 * journal.c -- the file backend of the journal, what its parts share: the
 * byte codec of records and of the journal's own payloads, file and kind
 * names, and the message a checkpoint signs and its verification.  The
 * format is in journal.h; journal_priv.h says which file does what.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/hex.h"
#include "util/nametab.h"
#include "persist/journal.h"
#include "persist/journal_priv.h"
#include "util/log.h"

#define JOURNAL_CP_CONTEXT	"accord-journal-checkpoint-1"
#define JOURNAL_NAME_FMT	"journal-%06" PRIu32 ".log"

static const char *const journal_kind_names[JOURNAL_KIND_MAX + 1] = {
	NULL,		/* 0 is no kind */
	"MESSAGE_RECEIVED",
	"MESSAGE_SENT",
	"RECEIPT_GIVEN",
	"RECEIPT_GOT",
	"DECISION",
	"REFUSAL",
	"DEADLINE_FIRED",
	"OPERATOR_COMMAND",
	"CONFIG_LOAD",
	"TORN_TAIL_CUT",
	"CHECKPOINT",
	"FILE_START",
	"MESSAGE_STATE",
	"INBOX_ACK",
	"PARTNER_PAUSE",
	"REFUSALS_COUNTED",
	"TIMESTAMP",
	"SIGNATURE_VOID",
};

/* ---- the format's bytes and names --------------------------------------- */

void
journal_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

void
journal_put32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 3; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

void
journal_put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

uint16_t
journal_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t
journal_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

uint64_t
journal_get64(const uint8_t *p)
{
	return ((uint64_t)journal_get32(p) << 32) | journal_get32(p + 4);
}

int
journal_sha256(const void *data, size_t len, uint8_t out[JOURNAL_HASH_LEN])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1) {
		log_openssl(JTAG, "SHA-256");
		return -1;
	}
	return 0;
}

size_t
journal_header_len(unsigned int version)
{
	switch (version) {
	case JOURNAL_VERSION_1:
		return JOURNAL_HEADER_LEN;
	case JOURNAL_VERSION:
		return JOURNAL_HEADER2_LEN;
	default:
		return 0;
	}
}

size_t
journal_frame(uint8_t *h, unsigned int version, enum journal_kind kind,
    uint64_t seq, accord_time_t time, const uint8_t prev[JOURNAL_HASH_LEN],
    const void *payload, size_t len)
{
	size_t hl = journal_header_len(version);

	memset(h, 0, hl);
	memcpy(h, JOURNAL_MAGIC, 4);
	journal_put16(h + 4, (uint16_t)version);
	journal_put16(h + 6, (uint16_t)kind);
	journal_put64(h + 8, seq);
	journal_put64(h + 16, (uint64_t)time);
	journal_put32(h + 24, (uint32_t)len);
	memcpy(h + 32, prev, JOURNAL_HASH_LEN);
	if (len > 0)
		memcpy(h + hl, payload, len);
	if (version == JOURNAL_VERSION_1) {
		if (journal_sha256(h, hl + len, h + hl + len) == -1)
			return 0;
		return hl + len + JOURNAL_TRAILER_LEN;
	}
	/* in clear: the plaintext is the stored bytes, no key */
	if (journal_sha256(h + hl, len, h + 64) == -1)
		return 0;
	memcpy(h + 96, h + 64, JOURNAL_HASH_LEN);
	if (journal_sha256(h, hl, h + hl + len) == -1)
		return 0;
	return hl + len + JOURNAL_TRAILER_LEN;
}

const char *
journal_check(const uint8_t *h, size_t total, uint8_t calc[JOURNAL_HASH_LEN])
{
	static const uint8_t zero[JOURNAL_HASH_LEN];
	unsigned int version = journal_get16(h + 4);
	size_t hl = journal_header_len(version);
	size_t len = total - hl - JOURNAL_TRAILER_LEN;
	uint8_t dig[JOURNAL_HASH_LEN];

	if (version == JOURNAL_VERSION_1) {
		if (journal_sha256(h, hl + len, calc) == -1)
			return "cannot compute SHA-256";
		if (memcmp(calc, h + hl + len, JOURNAL_HASH_LEN) != 0)
			return "record hash does not match";
		return NULL;
	}
	if (journal_sha256(h, hl, calc) == -1 ||
	    journal_sha256(h + hl, len, dig) == -1)
		return "cannot compute SHA-256";
	if (memcmp(calc, h + hl + len, JOURNAL_HASH_LEN) != 0)
		return "record hash does not match";
	/* The header is intact; is the payload the one it names?  Said as
	 * the same finding: the record is not what was written. */
	if (memcmp(dig, h + 64, JOURNAL_HASH_LEN) != 0)
		return "record hash does not match: the payload's SHA-256 is "
		    "not its header's";
	if (journal_get16(h + 28) == JOURNAL_CIPHER_AES256GCM) {
		/* the plaintext digest is checked by whoever holds the key */
		if (journal_get16(h + 30) != 0 ||
		    memcmp(h + 128, zero, JOURNAL_HASH_LEN) == 0)
			return "malformed header: a sealed payload without a "
			    "key id";
		return NULL;
	}
	if (journal_get16(h + 28) != JOURNAL_CIPHER_NONE)
		return "payload encrypted with a cipher this reader does not "
		    "know";
	if (journal_get16(h + 30) != 0 ||
	    memcmp(h + 96, h + 64, JOURNAL_HASH_LEN) != 0 ||
	    memcmp(h + 128, zero, JOURNAL_HASH_LEN) != 0)
		return "malformed header: a payload in clear with a key or a "
		    "plaintext digest of its own";
	return NULL;
}

void
journal_fill(struct journal_rec *rec, const uint8_t *h,
    const uint8_t calc[JOURNAL_HASH_LEN])
{
	unsigned int version = journal_get16(h + 4);

	memset(rec, 0, sizeof(*rec));
	rec->kind = (enum journal_kind)journal_get16(h + 6);
	rec->version = version;
	rec->header = h;
	rec->hdr_len = journal_header_len(version);
	rec->seq = journal_get64(h + 8);
	rec->time = (accord_time_t)journal_get64(h + 16);
	memcpy(rec->prev, h + 32, JOURNAL_HASH_LEN);
	memcpy(rec->hash, calc, JOURNAL_HASH_LEN);
	rec->payload = h + rec->hdr_len;
	rec->len = journal_get32(h + 24);
	if (version != JOURNAL_VERSION_1) {
		rec->cipher = journal_get16(h + 28);
		memcpy(rec->stored, h + 64, JOURNAL_HASH_LEN);
		memcpy(rec->plain, h + 96, JOURNAL_HASH_LEN);
		memcpy(rec->key_id, h + 128, JOURNAL_HASH_LEN);
	}
}

/* UTC date number: rotation compares dates, not 24-hour spans. */
int64_t
journal_day(accord_time_t t)
{
	return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

char *
journal_hex(const uint8_t h[JOURNAL_HASH_LEN], char out[65])
{
	return hex_encode(h, JOURNAL_HASH_LEN, out);
}

const char *
journal_kind_name(unsigned int kind)
{
	return nametab_name(journal_kind_names, JOURNAL_KIND_MAX + 1,
	    (int)kind, "UNKNOWN");
}

int
journal_kind_from_name(const char *name)
{
	return nametab_find(journal_kind_names, JOURNAL_KIND_MAX + 1, name);
}

void
journal_name(uint32_t no, char *buf, size_t len)
{
	snprintf(buf, len, JOURNAL_NAME_FMT, no);
}

/* The number in "journal-NNNNNN.log", or 0 if name is not one. */
uint32_t
journal_name_number(const char *name)
{
	const char *p;
	unsigned long v;
	char *end, canon[JOURNAL_NAME_MAX];

	if ((p = strrchr(name, '/')) != NULL)
		name = p + 1;
	if (strncmp(name, "journal-", 8) != 0)
		return 0;
	p = name + 8;
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || v == 0 || v > UINT32_MAX || strcmp(end, ".log") != 0)
		return 0;
	/* Only the canonical spelling: two names for one number would
	 * make the order of files ambiguous. */
	journal_name((uint32_t)v, canon, sizeof(canon));
	if (strcmp(name, canon) != 0)
		return 0;
	return (uint32_t)v;
}

uint32_t
journal_file_number(const char *name)
{
	return journal_name_number(name);
}

/* ---- the journal's own payloads ---------------------------------------- */

int
journal_decode_file_start(const struct journal_rec *rec,
    struct journal_file_start *fs)
{
	size_t n;

	if (rec->kind != JOURNAL_FILE_START || rec->len < 6)
		return -1;
	n = journal_get16(rec->payload + 4);
	if (rec->len != 6 + n || n >= sizeof(fs->prev_file) ||
	    memchr(rec->payload + 6, '\0', n) != NULL)
		return -1;
	fs->number = journal_get32(rec->payload);
	memcpy(fs->prev_file, rec->payload + 6, n);
	fs->prev_file[n] = '\0';
	return 0;
}

int
journal_decode_torn_cut(const struct journal_rec *rec,
    struct journal_torn_cut *tc)
{
	size_t n;

	if (rec->kind != JOURNAL_TORN_TAIL_CUT ||
	    rec->len < 16 + JOURNAL_HASH_LEN + 2)
		return -1;
	n = journal_get16(rec->payload + 16 + JOURNAL_HASH_LEN);
	if (rec->len != 18 + JOURNAL_HASH_LEN + n || n >= sizeof(tc->file) ||
	    memchr(rec->payload + 18 + JOURNAL_HASH_LEN, '\0', n) != NULL)
		return -1;
	tc->offset = journal_get64(rec->payload);
	tc->length = journal_get64(rec->payload + 8);
	memcpy(tc->sha256, rec->payload + 16, JOURNAL_HASH_LEN);
	memcpy(tc->file, rec->payload + 18 + JOURNAL_HASH_LEN, n);
	tc->file[n] = '\0';
	return 0;
}

int
journal_decode_checkpoint(const struct journal_rec *rec,
    struct journal_checkpoint *cp)
{
	const size_t fixed = 8 + 2 * JOURNAL_HASH_LEN + 2;

	if (rec->kind != JOURNAL_CHECKPOINT || rec->len < fixed)
		return -1;
	cp->siglen = journal_get16(rec->payload + fixed - 2);
	if (rec->len != fixed + cp->siglen || cp->siglen == 0)
		return -1;
	cp->seq = journal_get64(rec->payload);
	memcpy(cp->chain, rec->payload + 8, JOURNAL_HASH_LEN);
	memcpy(cp->key_id, rec->payload + 8 + JOURNAL_HASH_LEN,
	    JOURNAL_HASH_LEN);
	cp->sig = rec->payload + fixed;
	return 0;
}

/* The bytes a checkpoint signs. */
size_t
journal_cp_message(uint64_t seq, const uint8_t chain[JOURNAL_HASH_LEN],
    uint8_t *out)
{
	size_t n = sizeof(JOURNAL_CP_CONTEXT);	/* with its NUL */

	memcpy(out, JOURNAL_CP_CONTEXT, n);
	journal_put64(out + n, seq);
	memcpy(out + n + 8, chain, JOURNAL_HASH_LEN);
	return n + 8 + JOURNAL_HASH_LEN;
}

int
journal_key_id(EVP_PKEY *key, uint8_t out[JOURNAL_HASH_LEN])
{
	unsigned char *der = NULL;
	int n, rc;

	if ((n = i2d_PUBKEY(key, &der)) <= 0) {
		log_openssl(JTAG, "encoding the checkpoint public key");
		return -1;
	}
	rc = journal_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
	return rc;
}

int
journal_verify_checkpoint(const struct journal_rec *rec, EVP_PKEY *key)
{
	struct journal_checkpoint cp;
	uint8_t msg[64 + JOURNAL_HASH_LEN], kid[JOURNAL_HASH_LEN];
	EVP_MD_CTX *ctx = NULL;
	size_t mlen;
	int rc = -1;

	if (journal_decode_checkpoint(rec, &cp) == -1) {
		log_debug(JTAG, "seq %" PRIu64 ": not a well-formed checkpoint",
		    rec->seq);
		goto done;
	}
	if (cp.seq + 1 != rec->seq ||
	    memcmp(cp.chain, rec->prev, JOURNAL_HASH_LEN) != 0) {
		log_debug(JTAG, "seq %" PRIu64 ": checkpoint does not cover "
		    "the record before it", rec->seq);
		goto done;
	}
	if (journal_key_id(key, kid) == -1)
		goto done;
	if (memcmp(kid, cp.key_id, JOURNAL_HASH_LEN) != 0) {
		log_debug(JTAG, "seq %" PRIu64 ": checkpoint signed by "
		    "another key", rec->seq);
		goto done;
	}
	mlen = journal_cp_message(cp.seq, cp.chain, msg);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1) {
		log_openssl(JTAG, "checkpoint verification set-up");
		goto done;
	}
	if (EVP_DigestVerify(ctx, cp.sig, cp.siglen, msg, mlen) != 1) {
		/* A bad signature is a finding, not a library failure. */
		ERR_clear_error();
		log_debug(JTAG, "seq %" PRIu64 ": checkpoint signature does "
		    "not verify", rec->seq);
		goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}
