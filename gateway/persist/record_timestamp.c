/*
 * record_timestamp.c -- the TIMESTAMP record's payload (see
 * record_timestamp.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "persist/record.h"
#include "persist/record_timestamp.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define RTAG	"record"

int
record_timestamp_encode(const struct record_timestamp *r, char **out,
    size_t *outlen)
{
	char chain[2 * JOURNAL_HASH_LEN + 1], *b64, *s;
	json_t *obj;
	int n;

	*out = NULL;
	if (r->token_len == 0 || r->token_len > RECORD_TOKEN_MAX) {
		log_errx(RTAG, "a time-stamp token of %zu bytes", r->token_len);
		return -1;
	}
	b64 = xmalloc(4 * ((r->token_len + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)b64, r->token, (int)r->token_len);
	if (n < 0) {
		free(b64);
		return -1;
	}
	hex_encode(r->chain, JOURNAL_HASH_LEN, chain);
	obj = json_pack("{s:i, s:I, s:s, s:s, s:s}", "v", RECORD_VERSION,
	    "checkpoint", (json_int_t)r->checkpoint, "chain", chain, "tsa",
	    r->tsa, "token", b64);
	free(b64);
	if (obj == NULL)
		return -1;
	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	if (s == NULL)
		return -1;
	*out = s;
	*outlen = strlen(s);
	return 0;
}

static int
record_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Lower-case hex of n bytes into out.  @return 0, or -1. */
static int
record_hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = record_nibble(s[2 * i]);
		lo = record_nibble(s[2 * i + 1]);
		if (hi == -1 || lo == -1)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Strict base64 of s into a malloc'd *out.  @return 0, or -1. */
static int
record_b64_decode(const char *s, uint8_t **out, size_t *outlen)
{
	size_t len = strlen(s), pad = 0;
	uint8_t *buf;
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > RECORD_TOKEN_MAX)
		return -1;
	if (s[len - 1] == '=')
		pad++;
	if (s[len - 2] == '=')
		pad++;
	buf = xmalloc(len / 4 * 3 + 1);
	/* EVP_DecodeBlock counts the padding in: take it off */
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)s,
	    (int)len)) < 0 || (size_t)n < pad) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = (size_t)n - pad;
	return 0;
}

int
record_timestamp_decode(const void *p, size_t len, struct record_timestamp *r)
{
	json_error_t err;
	json_t *obj;
	json_int_t v, cp;
	const char *chain, *tsa, *token;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if ((obj = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		log_warnx(RTAG, "TIMESTAMP is not JSON: %s", err.text);
		return -1;
	}
	if (json_unpack_ex(obj, &err, JSON_STRICT, "{s:I, s:I, s:s, s:s, s:s}",
	    "v", &v, "checkpoint", &cp, "chain", &chain, "tsa", &tsa,
	    "token", &token) == -1) {
		log_warnx(RTAG, "TIMESTAMP: %s", err.text);
		goto done;
	}
	if (v != RECORD_VERSION || cp <= 0 ||
	    strlen(chain) != 2 * JOURNAL_HASH_LEN ||
	    record_hex_decode(chain, r->chain, JOURNAL_HASH_LEN) == -1 ||
	    strlen(tsa) >= sizeof(r->tsa) ||
	    record_b64_decode(token, &r->token, &r->token_len) == -1) {
		log_warnx(RTAG, "TIMESTAMP: a field out of range");
		goto done;
	}
	r->checkpoint = (uint64_t)cp;
	snprintf(r->tsa, sizeof(r->tsa), "%s", tsa);
	rc = 0;
done:
	json_decref(obj);
	return rc;
}
