/*
 * record_seal.c -- message records sealed for encryption at rest (see
 * record.h, record_message_seal()).  The clear header is the message
 * record's own (no personal field: partner, case, ids, type, direction,
 * digest, times) and, for a reply, its refusal grounds ("grounds", as
 * the parser read them: the engine parses no XML to seal).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "persist/record.h"
#include "util/aead.h"
#include "util/log.h"

#define RTAG	"record"

int
record_message_seal(const struct record_message *m, const void *body,
    size_t body_len, const uint8_t key[32], const uint8_t key_id[32],
    char **out, size_t *outlen, struct journal_seal *seal)
{
	json_error_t err;
	json_t *o = NULL;
	char *plain = NULL, *hdr = NULL, *buf;
	const char *nl;
	size_t plen, hlen;
	int rv = -1;

	*out = NULL;
	*outlen = 0;
	if (record_message_encode(m, body, body_len, &plain, &plen) == -1)
		return -1;
	/* the clear header, marked sealed (the keys stay sorted); a reply's
	 * refusal grounds are in it already (record_message_encode) */
	nl = memchr(plain, '\n', plen);
	if ((o = json_loadb(plain, (size_t)(nl - plain), 0, &err)) == NULL ||
	    json_object_set_new(o, "sealed",
	    json_integer(JOURNAL_CIPHER_AES256GCM)) == -1 ||
	    (hdr = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto done;
	hlen = strlen(hdr);
	if ((buf = malloc(hlen + 1 + body_len + AEAD_OVERHEAD)) == NULL) {
		log_err(RTAG, "malloc");
		goto done;
	}
	memcpy(buf, hdr, hlen);
	buf[hlen] = '\n';
	if (aead_seal(key, hdr, hlen, body, body_len,
	    (uint8_t *)buf + hlen + 1) == -1) {
		free(buf);
		goto done;
	}
	if (EVP_Digest(body, body_len, seal->plain, NULL, EVP_sha256(),
	    NULL) != 1) {
		log_openssl(RTAG, "SHA-256");
		free(buf);
		goto done;
	}
	seal->cipher = JOURNAL_CIPHER_AES256GCM;
	memcpy(seal->key_id, key_id, JOURNAL_HASH_LEN);
	*out = buf;
	*outlen = hlen + 1 + body_len + AEAD_OVERHEAD;
	rv = 0;
done:
	if (rv == -1)
		log_warnx(RTAG, "message %s: cannot seal", m->message_id);
	json_decref(o);
	free(hdr);
	free(plain);
	return rv;
}

int
record_message_unseal(const void *p, size_t len, const uint8_t key[32],
    char **out, size_t *outlen)
{
	struct record_message m;
	unsigned char *body;
	char hex[RECORD_SHA256_HEX];
	size_t blen;
	int rv = -1;

	*out = NULL;
	*outlen = 0;
	if (record_message_decode(p, len, &m) == -1)
		return -1;
	if (!m.sealed)
		return record_message_encode(&m, m.body, m.body_len, out,
		    outlen);
	if (m.sealed_len < AEAD_OVERHEAD) {
		log_warnx(RTAG, "message %s: sealed body too short",
		    m.message_id);
		return -1;
	}
	blen = m.sealed_len - AEAD_OVERHEAD;
	if ((body = malloc(blen + 1)) == NULL) {
		log_err(RTAG, "malloc");
		return -1;
	}
	if (aead_open(key, p, m.header_len, m.sealed_bytes, m.sealed_len,
	    body) == -1) {
		log_warnx(RTAG, "message %s: the sealed body does not open "
		    "with its case key", m.message_id);
		goto done;
	}
	if (record_sha256_hex(body, blen, hex) == -1 ||
	    strcmp(hex, m.sha256) != 0) {
		log_warnx(RTAG, "message %s: unsealed body does not match "
		    "its SHA-256", m.message_id);
		goto done;
	}
	rv = record_message_encode(&m, body, blen, out, outlen);
done:
	aead_wipe(body, blen);
	free(body);
	return rv;
}
