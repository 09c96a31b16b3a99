/*
 * tstamp.h -- RFC 3161 time-stamps with OpenSSL's TS API (issue 18, item
 * 4): the request the daemon sends for a checkpoint, the check of the
 * authority's reply, and the check of a journalled token that the audit
 * makes.  No network here: the daemon's faces/tsaclient.c posts.
 */
#ifndef ACCORD_TSTAMP_H
#define ACCORD_TSTAMP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#define TSTAMP_DIGEST_LEN	32	/* SHA-256 */

/* The trust anchors of a time-stamp authority: every certificate of a
 * PEM file.  @return the store, or NULL after logging. */
X509_STORE *tstamp_ca_load(const char *file);

/*
 * A DER TimeStampReq over digest (SHA-256) with a fresh random nonce
 * (*nonce) and certReq true: *der (free()) of *len bytes.
 * @return 0, or -1 after logging.
 */
int tstamp_request(const uint8_t digest[TSTAMP_DIGEST_LEN], uint8_t **der,
    size_t *len, uint64_t *nonce);

/*
 * Check a DER TimeStampResp to that request: status granted, the token's
 * imprint is digest, its nonce is nonce, its signature verifies against
 * ca by a certificate for time-stamping.  @return 0 with the token's DER
 * in *token (free()) of *tlen bytes, or -1 with why.
 */
int tstamp_reply_check(const uint8_t *reply, size_t len,
    const uint8_t digest[TSTAMP_DIGEST_LEN], uint64_t nonce, X509_STORE *ca,
    uint8_t **token, size_t *tlen, char *why, size_t whylen);

/*
 * Check a DER token (a CMS SignedData holding a TSTInfo): it parses, its
 * imprint is digest (SHA-256), and, when ca is not NULL, its signature
 * verifies against ca.  @return 0 with *gen (its genTime), or -1 with why.
 */
int tstamp_token_check(const uint8_t *token, size_t len,
    const uint8_t digest[TSTAMP_DIGEST_LEN], X509_STORE *ca, time_t *gen,
    char *why, size_t whylen);

#endif
