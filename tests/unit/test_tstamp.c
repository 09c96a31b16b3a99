/*
 * test_tstamp.c -- trusted time (issue 18, item 4): the request, the
 * check of an authority's reply (imprint, nonce, signature against the
 * CA) and verify's check of journalled tokens: a genuine one verifies; a
 * token with bytes changed, one over another checkpoint, and one of
 * another authority's key are findings naming the TIMESTAMP record.  The
 * authorities are made here, the replies by OpenSSL's TS API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "audit/audit.h"
#include "msg/tstamp.h"
#include "persist/journal.h"
#include "persist/record_timestamp.h"
#include "util/log.h"
#include "testutil.h"

struct tsa {
	EVP_PKEY	*ca_key;
	X509		*ca;
	EVP_PKEY	*key;
	X509		*cert;
	X509_STORE	*store;
	char		 ca_file[1100];
};

static char base[512];
static struct tsa good, rogue;
static int ndirs;

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX c;
	X509_EXTENSION *e;

	X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &c, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static X509 *
cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) :
	    n);
	X509_set_pubkey(x, key);
	if (ca) {
		ext(x, x, NID_basic_constraints, "critical,CA:true");
		ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		ext(x, issuer, NID_basic_constraints, "CA:false");
		ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		ext(x, issuer, NID_ext_key_usage, "critical,timeStamping");
	}
	assert_true(X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void
tsa_make(struct tsa *t, const char *name)
{
	char cn[64];
	FILE *fp;

	assert_non_null(t->ca_key = EVP_EC_gen("P-256"));
	assert_non_null(t->key = EVP_EC_gen("P-256"));
	snprintf(cn, sizeof(cn), "%s CA", name);
	t->ca = cert(cn, t->ca_key, NULL, NULL, 1);
	snprintf(cn, sizeof(cn), "%s TSA", name);
	t->cert = cert(cn, t->key, t->ca, t->ca_key, 0);
	snprintf(t->ca_file, sizeof(t->ca_file), "%s/%s-ca.pem", base, name);
	assert_non_null(fp = fopen(t->ca_file, "w"));
	PEM_write_X509(fp, t->ca);
	fclose(fp);
	assert_non_null(t->store = tstamp_ca_load(t->ca_file));
}

/* The authority t's DER reply to the DER request req. */
static uint8_t *
tsa_reply(struct tsa *t, const uint8_t *req, size_t len, size_t *rlen)
{
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	ASN1_OBJECT *policy = OBJ_txt2obj("1.3.6.1.4.1.99999.1.1", 1);
	TS_RESP *resp;
	BIO *b = BIO_new_mem_buf(req, (int)len);
	unsigned char *der = NULL;
	int n;

	assert_int_equal(TS_RESP_CTX_set_signer_cert(ctx, t->cert), 1);
	assert_int_equal(TS_RESP_CTX_set_signer_key(ctx, t->key), 1);
	assert_int_equal(TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()), 1);
	assert_int_equal(TS_RESP_CTX_set_def_policy(ctx, policy), 1);
	assert_int_equal(TS_RESP_CTX_add_md(ctx, EVP_sha256()), 1);
	assert_non_null(resp = TS_RESP_create_response(ctx, b));
	assert_true((n = i2d_TS_RESP(resp, &der)) > 0);
	*rlen = (size_t)n;
	TS_RESP_free(resp);
	BIO_free(b);
	ASN1_OBJECT_free(policy);
	TS_RESP_CTX_free(ctx);
	return der;
}

/* A token of t over digest, checked as the daemon checks it. */
static uint8_t *
token(struct tsa *t, const uint8_t digest[TSTAMP_DIGEST_LEN], size_t *tlen)
{
	uint8_t *req, *reply, *tok;
	size_t len, rlen;
	uint64_t nonce;
	char why[300];

	assert_int_equal(tstamp_request(digest, &req, &len, &nonce), 0);
	reply = tsa_reply(t, req, len, &rlen);
	assert_int_equal(tstamp_reply_check(reply, rlen, digest, nonce,
	    t->store, &tok, tlen, why, sizeof(why)), 0);
	OPENSSL_free(req);
	OPENSSL_free(reply);
	return tok;
}

static int
setup(void **state)
{

	(void)state;
	assert_int_equal(test_scratch(base, sizeof(base), "tstamp"), 0);
	log_capture(NULL, 0);
	tsa_make(&good, "good");
	tsa_make(&rogue, "rogue");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[1100];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* The daemon's check of a reply: imprint, nonce and signature. */
static void
test_reply(void **state)
{
	uint8_t digest[TSTAMP_DIGEST_LEN], other[TSTAMP_DIGEST_LEN];
	uint8_t *req, *reply, *tok;
	size_t len, rlen, tlen;
	uint64_t nonce;
	time_t gen;
	char why[300];

	(void)state;
	SHA256((const uint8_t *)"checkpoint", 10, digest);
	SHA256((const uint8_t *)"another", 7, other);
	assert_int_equal(tstamp_request(digest, &req, &len, &nonce), 0);
	reply = tsa_reply(&good, req, len, &rlen);
	assert_int_equal(tstamp_reply_check(reply, rlen, digest, nonce,
	    good.store, &tok, &tlen, why, sizeof(why)), 0);
	assert_int_equal(tstamp_token_check(tok, tlen, digest, good.store,
	    &gen, why, sizeof(why)), 0);
	assert_true(gen > time(NULL) - 60 && gen <= time(NULL) + 1);
	OPENSSL_free(tok);
	/* another nonce: a replayed reply */
	assert_int_equal(tstamp_reply_check(reply, rlen, digest, nonce + 1,
	    good.store, &tok, &tlen, why, sizeof(why)), -1);
	/* another imprint */
	assert_int_equal(tstamp_reply_check(reply, rlen, other, nonce,
	    good.store, &tok, &tlen, why, sizeof(why)), -1);
	/* another authority's CA */
	assert_int_equal(tstamp_reply_check(reply, rlen, digest, nonce,
	    rogue.store, &tok, &tlen, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "does not verify"));
	/* not a reply at all */
	assert_int_equal(tstamp_reply_check((const uint8_t *)"junk", 4,
	    digest, nonce, good.store, &tok, &tlen, why, sizeof(why)), -1);
	OPENSSL_free(req);
	OPENSSL_free(reply);
}

enum forgery { GENUINE, BYTE_CHANGED, OTHER_CHECKPOINT, OTHER_KEY };

/* A journal with a checkpoint and a TIMESTAMP record over it (forged
 * as asked, but chained like any record), then verify --tsa-ca.
 * @return the report's findings of kind "timestamp". */
static size_t
journal_with_token(enum forgery how, struct audit_report *rep)
{
	struct journal_params p;
	struct journal *j;
	struct record_timestamp r;
	struct audit_opts o;
	EVP_PKEY *key;
	uint8_t msg[JOURNAL_CP_MESSAGE_MAX], digest[TSTAMP_DIGEST_LEN];
	const char *files[1];
	char dir[1100], *pl;
	size_t mlen, plen, i, n = 0;
	json_t *f;

	snprintf(dir, sizeof(dir), "%s/journal%d", base, ndirs++);
	assert_non_null(key = EVP_EC_gen("P-256"));
	journal_params_default(&p, dir);
	p.sign_key = key;
	assert_non_null(j = journal_open(&p));
	assert_int_equal(journal_append(j, JOURNAL_OPERATOR_COMMAND,
	    "{\"v\":1}", 7, NULL), 0);
	assert_int_equal(journal_checkpoint_request(j), 0);
	assert_true(journal_commit(j) > 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(journal_latest_checkpoint(j, &r.checkpoint, r.chain),
	    1);
	mlen = journal_checkpoint_message(r.checkpoint, r.chain, msg);
	if (how == OTHER_CHECKPOINT)
		msg[mlen - 1] ^= 1;
	SHA256(msg, mlen, digest);
	r.token = token(how == OTHER_KEY ? &rogue : &good, digest,
	    &r.token_len);
	if (how == BYTE_CHANGED)	/* in the signature, at the end */
		r.token[r.token_len - 3] ^= 0x10;
	snprintf(r.tsa, sizeof(r.tsa), "http://tsa.test/");
	assert_int_equal(record_timestamp_encode(&r, &pl, &plen), 0);
	assert_int_equal(journal_append(j, JOURNAL_TIMESTAMP, pl, plen, NULL),
	    0);
	assert_true(journal_commit(j) > 0);
	free(pl);
	OPENSSL_free(r.token);
	journal_close(j);
	EVP_PKEY_free(key);

	memset(&o, 0, sizeof(o));
	files[0] = dir;
	o.files = files;
	o.nfiles = 1;
	o.tsa_ca_file = good.ca_file;
	o.jobs = 1;
	assert_int_equal(audit_report_init(rep, "verify"), 0);
	assert_int_equal(audit_verify(&o, rep), 0);
	json_array_foreach(rep->findings, i, f)
		if (strcmp(json_string_value(json_object_get(f, "kind")),
		    "timestamp") == 0) {
			/* where: file, offset, the TIMESTAMP record */
			assert_non_null(json_object_get(f, "file"));
			assert_int_equal(json_integer_value(json_object_get(f,
			    "record")), (json_int_t)r.checkpoint + 2);
			n++;
		}
	return n;
}

static void
test_verify_genuine(void **state)
{
	struct audit_report rep;
	json_t *sum;

	(void)state;
	assert_int_equal(journal_with_token(GENUINE, &rep), 0);
	assert_int_equal(audit_report_nfindings(&rep), 0);
	sum = json_object_get(rep.root, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum,
	    "timestamps_verified")), 1);
	audit_report_free(&rep);
}

static void
test_verify_forged(void **state)
{
	struct audit_report rep;
	enum forgery f;

	(void)state;
	for (f = BYTE_CHANGED; f <= OTHER_KEY; f++) {
		assert_int_equal(journal_with_token(f, &rep), 1);
		assert_int_equal(json_integer_value(json_object_get(
		    json_object_get(rep.root, "summary"),
		    "timestamps_verified")), 0);
		audit_report_free(&rep);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_verify_genuine),
		cmocka_unit_test(test_verify_forged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
