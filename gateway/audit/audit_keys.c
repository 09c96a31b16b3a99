/*
 * audit_keys.c -- sealed message records in the audit (issue 19): with
 * the master key and the key store (--master-key, --keys) or one case's
 * exported key (--case-key), accord-audit opens them and checks what it
 * reads; without, it checks everything that needs no plaintext (chain,
 * checkpoints, the records' clear headers, Receipts against the digests
 * the headers carry) and says what it could not check.
 *
 * One key store for the whole run, shared by the checking threads
 * (SQLite's default serialized mode).
 */
#include <sys/prctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit/audit.h"
#include "audit/audit_priv.h"
#include "persist/keystore.h"
#include "persist/record.h"
#include "util/aead.h"
#include "util/log.h"

static struct keystore	*audit_ks;

int
audit_keys_open(const struct audit_opts *o)
{
	char path[1200];
	const char *db = o->keys_db;

	if (o->case_key == NULL && o->master_key == NULL)
		return 0;
	/* plaintext and keys in memory: no core file */
	if (prctl(PR_SET_DUMPABLE, 0) == -1) {
		log_err("audit", "PR_SET_DUMPABLE");
		return -1;
	}
	if (o->case_key != NULL) {
		audit_ks = keystore_open_export(o->case_key);
		return audit_ks != NULL ? 0 : -1;
	}
	if (o->master_key == NULL)
		return 0;
	if (db == NULL) {
		if (o->nfiles != 1) {
			log_errx("audit", "--master-key: name the key store "
			    "with --keys (keys.db of the state directory)");
			return -1;
		}
		/* DIR is the journal directory, beside the key store */
		snprintf(path, sizeof(path), "%s/../%s", o->files[0],
		    KEYSTORE_FILE);
		db = path;
	}
	audit_ks = keystore_open_file(db, o->master_key, 1);
	return audit_ks != NULL ? 0 : -1;
}

void
audit_keys_close(void)
{
	keystore_close(audit_ks);
	audit_ks = NULL;
}

int
audit_keys_have(void)
{
	return audit_ks != NULL;
}

int
audit_unseal(const struct journal_rec *rec, struct record_message *rm,
    char **plain)
{
	uint8_t key[AEAD_KEY_LEN], dig[JOURNAL_HASH_LEN];
	size_t plen;
	int rc;

	*plain = NULL;
	if (audit_ks == NULL || rec->cipher != JOURNAL_CIPHER_AES256GCM)
		return 0;
	if ((rc = keystore_key(audit_ks, rec->key_id, key)) != 1)
		return rc;
	rc = record_message_unseal(rec->payload, rec->len, key, plain, &plen);
	aead_wipe(key, sizeof(key));
	if (rc == -1 || record_message_decode(*plain, plen, rm) == -1)
		goto bad;
	/* the header's plaintext digest names these bytes */
	if (EVP_Digest(rm->body, rm->body_len, dig, NULL, EVP_sha256(),
	    NULL) != 1 || memcmp(dig, rec->plain, JOURNAL_HASH_LEN) != 0)
		goto bad;
	return 1;
bad:
	free(*plain);
	*plain = NULL;
	return -1;
}
