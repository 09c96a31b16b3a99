/*
 * record_timestamp.h -- the payload of a TIMESTAMP record: an RFC 3161
 * time-stamp token over one checkpoint (issue 18, item 4).
 *
 * The token's imprint is the SHA-256 of the bytes the checkpoint signs
 * (journal_checkpoint_message() of the seq it covers and its chain
 * hash).  The checkpoint is written before the token exists, so the token
 * is journalled on its own, later: {"v":1, "checkpoint": the seq the
 * checkpoint covers, "chain": its chain hash in hex, "tsa": the URL asked,
 * "token": the token's DER (a CMS SignedData) in base64}.
 */
#ifndef ACCORD_RECORD_TIMESTAMP_H
#define ACCORD_RECORD_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#include "persist/journal.h"

#define RECORD_TSA_URL_MAX	256
#define RECORD_TOKEN_MAX	(64 * 1024)

struct record_timestamp {
	uint64_t	 checkpoint;	/* the seq the checkpoint covers */
	uint8_t		 chain[JOURNAL_HASH_LEN];
	char		 tsa[RECORD_TSA_URL_MAX];
	uint8_t		*token;		/* decode: malloc'd, free() it */
	size_t		 token_len;
};

/* @return 0 with *out (free()) of *outlen bytes, or -1 (logged). */
int record_timestamp_encode(const struct record_timestamp *r, char **out,
    size_t *outlen);
/* @return 0 with r filled (free r->token), or -1 (logged) when the
 * payload is malformed or of another version. */
int record_timestamp_decode(const void *p, size_t len,
    struct record_timestamp *r);

#endif
