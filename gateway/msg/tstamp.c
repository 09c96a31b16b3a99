/*
 * tstamp.c -- RFC 3161 requests, replies and tokens (see tstamp.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "msg/tstamp.h"
#include "util/log.h"

#define TTAG	"tstamp"

/* OpenSSL's reason for the last failure into why, after prefix. */
static void
tstamp_why(char *why, size_t whylen, const char *prefix)
{
	unsigned long e, last = 0;
	char buf[256];

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		snprintf(why, whylen, "%s", prefix);
	else {
		ERR_error_string_n(last, buf, sizeof(buf));
		snprintf(why, whylen, "%s: %s", prefix, buf);
	}
}

X509_STORE *
tstamp_ca_load(const char *file)
{
	X509_STORE *st;

	if ((st = X509_STORE_new()) == NULL)
		return NULL;
	if (X509_STORE_load_file(st, file) != 1) {
		log_openssl(TTAG, "reading CA certificates");
		log_errx(TTAG, "%s: cannot read the time-stamp authority's "
		    "CA certificates", file);
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

/* digest as a SHA-256 message imprint.  @return it, or NULL. */
static TS_MSG_IMPRINT *
tstamp_imprint(const uint8_t digest[TSTAMP_DIGEST_LEN])
{
	TS_MSG_IMPRINT *mi;
	X509_ALGOR *alg;

	if ((mi = TS_MSG_IMPRINT_new()) == NULL)
		return NULL;
	if ((alg = X509_ALGOR_new()) == NULL ||
	    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL,
	    NULL) != 1 || TS_MSG_IMPRINT_set_algo(mi, alg) != 1 ||
	    TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)digest,
	    TSTAMP_DIGEST_LEN) != 1) {
		X509_ALGOR_free(alg);
		TS_MSG_IMPRINT_free(mi);
		return NULL;
	}
	X509_ALGOR_free(alg);		/* set_algo copied it */
	return mi;
}

/* A TimeStampReq over digest with nonce and certReq true.  @return it,
 * or NULL. */
static TS_REQ *
tstamp_req_build(const uint8_t digest[TSTAMP_DIGEST_LEN], uint64_t nonce)
{
	TS_REQ *req = NULL;
	TS_MSG_IMPRINT *mi = NULL;
	ASN1_INTEGER *n = NULL;
	int ok;

	ok = (req = TS_REQ_new()) != NULL && TS_REQ_set_version(req, 1) == 1 &&
	    (mi = tstamp_imprint(digest)) != NULL &&
	    TS_REQ_set_msg_imprint(req, mi) == 1 &&
	    (n = ASN1_INTEGER_new()) != NULL &&
	    ASN1_INTEGER_set_uint64(n, nonce) == 1 &&
	    TS_REQ_set_nonce(req, n) == 1 && TS_REQ_set_cert_req(req, 1) == 1;
	ASN1_INTEGER_free(n);		/* the setters copied them */
	TS_MSG_IMPRINT_free(mi);
	if (!ok) {
		TS_REQ_free(req);
		return NULL;
	}
	return req;
}

int
tstamp_request(const uint8_t digest[TSTAMP_DIGEST_LEN], uint8_t **der,
    size_t *len, uint64_t *nonce)
{
	TS_REQ *req = NULL;
	unsigned char *p = NULL;
	int l, rc = -1;

	*der = NULL;
	/* 63 bits: a positive INTEGER of at most 8 bytes */
	if (RAND_bytes((unsigned char *)nonce, sizeof(*nonce)) != 1)
		goto done;
	*nonce &= UINT64_C(0x7fffffffffffffff);
	if (*nonce == 0)
		*nonce = 1;
	if ((req = tstamp_req_build(digest, *nonce)) == NULL ||
	    (l = i2d_TS_REQ(req, &p)) <= 0)
		goto done;
	*der = p;
	*len = (size_t)l;
	rc = 0;
done:
	if (rc == -1)
		log_openssl(TTAG, "building a time-stamp request");
	TS_REQ_free(req);
	return rc;
}

/* A context checking imprint digest (and nonce, unless 0) and, when ca is
 * not NULL, the signature.  @return it, or NULL. */
static TS_VERIFY_CTX *
tstamp_verify_ctx(const uint8_t digest[TSTAMP_DIGEST_LEN], uint64_t nonce,
    X509_STORE *ca)
{
	TS_VERIFY_CTX *ctx;
	TS_REQ *req;
	unsigned char *imp;
	int flags = TS_VFY_VERSION | TS_VFY_IMPRINT;

	if (nonce != 0) {
		/* the request's imprint and nonce, as sent */
		if ((req = tstamp_req_build(digest, nonce)) == NULL)
			return NULL;
		ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
		TS_REQ_free(req);
		if (ctx == NULL)
			return NULL;
		flags |= TS_VFY_NONCE;
	} else {
		if ((ctx = TS_VERIFY_CTX_new()) == NULL)
			return NULL;
		/* the context frees what it is given */
		if ((imp = OPENSSL_malloc(TSTAMP_DIGEST_LEN)) == NULL)
			goto fail;
		memcpy(imp, digest, TSTAMP_DIGEST_LEN);
		TS_VERIFY_CTX_set_imprint(ctx, imp, TSTAMP_DIGEST_LEN);
	}
	if (ca != NULL) {
		if (X509_STORE_up_ref(ca) != 1)
			goto fail;
		TS_VERIFY_CTX_set_store(ctx, ca);
		flags |= TS_VFY_SIGNATURE;
	}
	TS_VERIFY_CTX_set_flags(ctx, flags);
	return ctx;
fail:
	TS_VERIFY_CTX_free(ctx);
	return NULL;
}

/* The token's SHA-256 imprint algorithm: the TS API compares the bytes
 * of the imprint with the algorithm the token names, so a token over
 * the same bytes under another digest would pass.  @return 0, or -1. */
static int
tstamp_is_sha256(TS_TST_INFO *ti)
{
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(ti);
	X509_ALGOR *alg = mi != NULL ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
	const ASN1_OBJECT *obj;

	if (alg == NULL)
		return -1;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	return OBJ_obj2nid(obj) == NID_sha256 ? 0 : -1;
}

int
tstamp_reply_check(const uint8_t *reply, size_t len,
    const uint8_t digest[TSTAMP_DIGEST_LEN], uint64_t nonce, X509_STORE *ca,
    uint8_t **token, size_t *tlen, char *why, size_t whylen)
{
	const unsigned char *p = reply;
	TS_RESP *resp;
	TS_VERIFY_CTX *ctx = NULL;
	PKCS7 *p7;
	unsigned char *der = NULL;
	int l, rc = -1;

	*token = NULL;
	ERR_clear_error();
	if ((resp = d2i_TS_RESP(NULL, &p, (long)len)) == NULL ||
	    p != reply + len) {
		snprintf(why, whylen, "the reply is no TimeStampResp");
		goto done;
	}
	if ((ctx = tstamp_verify_ctx(digest, nonce, ca)) == NULL) {
		tstamp_why(why, whylen, "verification set-up");
		goto done;
	}
	if (TS_RESP_verify_response(ctx, resp) != 1) {
		tstamp_why(why, whylen, "the reply does not verify");
		goto done;
	}
	if (tstamp_is_sha256(TS_RESP_get_tst_info(resp)) == -1) {
		snprintf(why, whylen, "the token's imprint is not SHA-256");
		goto done;
	}
	p7 = TS_RESP_get_token(resp);
	if ((l = i2d_PKCS7(p7, &der)) <= 0) {
		tstamp_why(why, whylen, "the token");
		goto done;
	}
	*token = der;
	*tlen = (size_t)l;
	rc = 0;
done:
	TS_VERIFY_CTX_free(ctx);
	TS_RESP_free(resp);
	return rc;
}

int
tstamp_token_check(const uint8_t *token, size_t len,
    const uint8_t digest[TSTAMP_DIGEST_LEN], X509_STORE *ca, time_t *gen,
    char *why, size_t whylen)
{
	const unsigned char *p = token;
	const ASN1_GENERALIZEDTIME *t;
	TS_VERIFY_CTX *ctx = NULL;
	TS_TST_INFO *ti = NULL;
	PKCS7 *p7;
	struct tm tm;
	int rc = -1;

	ERR_clear_error();
	if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL ||
	    p != token + len || (ti = PKCS7_to_TS_TST_INFO(p7)) == NULL) {
		snprintf(why, whylen, "the token does not parse");
		goto done;
	}
	if (tstamp_is_sha256(ti) == -1) {
		snprintf(why, whylen, "the token's imprint is not SHA-256");
		goto done;
	}
	if ((ctx = tstamp_verify_ctx(digest, 0, ca)) == NULL) {
		tstamp_why(why, whylen, "verification set-up");
		goto done;
	}
	if (TS_RESP_verify_token(ctx, p7) != 1) {
		tstamp_why(why, whylen, ca != NULL ? "the token does not "
		    "verify" : "the token's imprint is not the checkpoint's");
		goto done;
	}
	if ((t = TS_TST_INFO_get_time(ti)) == NULL ||
	    ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(why, whylen, "the token has no readable genTime");
		goto done;
	}
	*gen = timegm(&tm);
	rc = 0;
done:
	TS_VERIFY_CTX_free(ctx);
	TS_TST_INFO_free(ti);
	PKCS7_free(p7);
	return rc;
}
