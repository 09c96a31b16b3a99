/*
 * aead.c -- AES-256-GCM sealing (see aead.h).
 */
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
