/*
 * journal_seal.c -- appending a sealed record (journal.h, cipher 1): the
 * record is framed as any other, then its header gets the cipher, the
 * plaintext digest and the key id, and is hashed again.  It is still the
 * last record of the batch, so nothing has chained to it yet.
 */
#include <string.h>

#include "persist/journal.h"
#include "persist/journal_priv.h"
#include "util/log.h"

int
journal_append_sealed(struct journal *j, enum journal_kind kind,
    const void *payload, size_t len, const struct journal_seal *seal,
    struct journal_pos *pos)
{
	size_t total;
	uint8_t *h;

	if (j->version < JOURNAL_VERSION ||
	    seal->cipher != JOURNAL_CIPHER_AES256GCM) {
		log_errx(JTAG, "a sealed record needs journal format %d and "
		    "cipher %d", JOURNAL_VERSION, JOURNAL_CIPHER_AES256GCM);
		return -1;
	}
	if (journal_append_pos(j, kind, payload, len, pos) == -1)
		return -1;
	total = JOURNAL_HEADER2_LEN + len + JOURNAL_TRAILER_LEN;
	h = j->buf + j->buflen - total;
	journal_put16(h + 28, (uint16_t)seal->cipher);
	memcpy(h + 96, seal->plain, JOURNAL_HASH_LEN);
	memcpy(h + 128, seal->key_id, JOURNAL_HASH_LEN);
	if (journal_sha256(h, JOURNAL_HEADER2_LEN, h + JOURNAL_HEADER2_LEN +
	    len) == -1)
		return -1;	/* cannot happen; the batch is then unusable */
	memcpy(j->phash, h + JOURNAL_HEADER2_LEN + len, JOURNAL_HASH_LEN);
	return 0;
}
