/*
 * hex.c -- lower-case hex encoding (see hex.h).
 */
#include "util/hex.h"

char *
hex_encode(const void *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return out;
}
