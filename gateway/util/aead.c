/*
 * aead.c -- AES-256-GCM sealing (see aead.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/aead.h"
#include "util/log.h"

#define ATAG	"aead"

/* One EVP call chain for both directions: enc 1 seals, 0 opens. */
static int
aead_run(int enc, const uint8_t *key, const uint8_t *nonce,
    const void *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	int n, rc = -1;

	if (len > INT32_MAX || aadlen > INT32_MAX)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce,
	    enc) != 1)
		goto done;
	if (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad,
	    (int)aadlen) != 1)
		goto done;
	if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto done;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    AEAD_TAG_LEN, tag) != 1)
		goto done;
	/* opening: the tag is checked here, and out is then trusted */
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1)
		goto done;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    AEAD_TAG_LEN, tag) != 1)
		goto done;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
aead_seal(const uint8_t key[AEAD_KEY_LEN], const void *aad, size_t aadlen,
    const void *pt, size_t len, uint8_t *out)
{
	if (aead_random(out, AEAD_NONCE_LEN) == -1)
		return -1;
	if (aead_run(1, key, out, aad, aadlen, pt, len, out + AEAD_NONCE_LEN,
	    out + AEAD_NONCE_LEN + len) == -1) {
		log_openssl(ATAG, "AES-256-GCM seal");
		return -1;
	}
	return 0;
}

int
aead_open(const uint8_t key[AEAD_KEY_LEN], const void *aad, size_t aadlen,
    const uint8_t *in, size_t inlen, uint8_t *out)
{
	size_t len;

	if (inlen < AEAD_OVERHEAD)
		return -1;
	len = inlen - AEAD_OVERHEAD;
	if (aead_run(0, key, in, aad, aadlen, in + AEAD_NONCE_LEN, len, out,
	    (uint8_t *)in + AEAD_NONCE_LEN + len) == -1) {
		aead_wipe(out, len);
		return -1;
	}
	return 0;
}

int
aead_random(uint8_t *out, size_t len)
{
	if (RAND_bytes(out, (int)len) != 1) {
		log_openssl(ATAG, "RAND_bytes");
		return -1;
	}
	return 0;
}

void
aead_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

/* ---- key files ---------------------------------------------------------- */

static int
aead_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 2 * n hex digits at s into out.  @return 0, or -1. */
int
aead_unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = aead_hexval((unsigned char)s[2 * i])) == -1 ||
		    (lo = aead_hexval((unsigned char)s[2 * i + 1])) == -1)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The key in a master key file's text.  @return 0, or -1. */
static int
aead_parse_key(const char *buf, size_t len, uint8_t key[AEAD_KEY_LEN])
{
	if (len != 2 * AEAD_KEY_LEN && !(len == 2 * AEAD_KEY_LEN + 1 &&
	    buf[len - 1] == '\n'))
		return -1;
	return aead_unhex(buf, key, AEAD_KEY_LEN);
}

/* Read at most max bytes of an open file.  @return the count, or -1. */
static ssize_t
aead_read_fd(int fd, char *buf, size_t max)
{
	size_t got = 0;
	ssize_t n;

	while (got < max) {
		if ((n = read(fd, buf + got, max - got)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Open, check and read file.  @return 0, or -1 with why. */
int
aead_key_file(const char *file, uid_t uid, uint8_t key[AEAD_KEY_LEN],
    char *why, size_t whylen)
{
	struct stat sb;
	char buf[2 * AEAD_KEY_LEN + 2];
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(why, whylen, "%s: %s", file, strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", file);
		goto done;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(why, whylen, "%s: mode %04o gives group or others "
		    "access; the master key must be mode 0600", file,
		    (unsigned int)(sb.st_mode & 07777));
		goto done;
	}
	if (sb.st_uid != uid && sb.st_uid != 0) {
		snprintf(why, whylen, "%s: owned by uid %u, not by uid %u "
		    "or root", file, (unsigned int)sb.st_uid,
		    (unsigned int)uid);
		goto done;
	}
	n = aead_read_fd(fd, buf, sizeof(buf));
	if (n < 0 || aead_parse_key(buf, (size_t)n, key) == -1) {
		snprintf(why, whylen, "%s: not a master key (64 hex digits "
		    "expected, e.g. from openssl rand -hex 32)", file);
		goto done;
	}
	rc = 0;
done:
	aead_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}
