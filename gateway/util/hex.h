/*
 * hex.h -- the one hex encoder: hashes, fingerprints and key ids are
 * written as lower-case hex everywhere (journal, receipts, records, pins).
 * Floor 1: libc only.
 */
#ifndef ACCORD_HEX_H
#define ACCORD_HEX_H

#include <stddef.h>

/* Lower-case hex of len bytes into out, which holds 2 * len + 1 bytes
 * (NUL-terminated).  @return out. */
char *hex_encode(const void *p, size_t len, char *out);

#endif
