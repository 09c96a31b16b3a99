/*
 * aead.h -- AES-256-GCM through OpenSSL EVP, the one cipher of encryption
 * at rest (issue 19): a message body sealed under its case's data key,
 * and a data key sealed (wrapped) under the master key.
 *
 * A sealed blob is nonce (12 bytes, random) || ciphertext || tag (16
 * bytes).  The additional data binds it to where it belongs (a record's
 * clear header, a key's id), so a blob moved elsewhere does not open.
 * Floor 1: OpenSSL only.
 */
#ifndef ACCORD_AEAD_H
#define ACCORD_AEAD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN		32
#define AEAD_NONCE_LEN		12
#define AEAD_TAG_LEN		16
#define AEAD_OVERHEAD		(AEAD_NONCE_LEN + AEAD_TAG_LEN)

/*
 * Seal len bytes of pt under key, with aad (may be NULL when aadlen is
 * 0), into out, which holds len + AEAD_OVERHEAD bytes.
 * @return 0, or -1 (logged).
 */
int aead_seal(const uint8_t key[AEAD_KEY_LEN], const void *aad,
    size_t aadlen, const void *pt, size_t len, uint8_t *out);

/*
 * Open inlen bytes (nonce || ciphertext || tag) into out, which holds
 * inlen - AEAD_OVERHEAD bytes.
 * @return 0, or -1 when the blob is short, or the tag fails (wrong key,
 * wrong aad, altered bytes): nothing of out may then be used.
 */
int aead_open(const uint8_t key[AEAD_KEY_LEN], const void *aad,
    size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out);

/* Fill a new key from the CSPRNG.  @return 0, or -1. */
int aead_random(uint8_t *out, size_t len);

/* Overwrite len bytes of key material (not optimised away). */
void aead_wipe(void *p, size_t len);

/* 2 * n hex digits at s into out.  @return 0, or -1. */
int aead_unhex(const char *s, uint8_t *out, size_t n);

/*
 * Read a key file: 64 hex digits (a newline may follow; e.g. from
 * openssl rand -hex 32), a regular file of mode 0600 or stricter, owned
 * by uid or root.  The master key of encryption at rest is one
 * (persist/keystore.h).  @return 0 with key, or -1 with why.
 */
int aead_key_file(const char *file, uid_t uid, uint8_t key[AEAD_KEY_LEN],
    char *why, size_t whylen);

#endif
