/*
 * audit_tstamp.c -- verify's checks of trusted time (issue 18, item 4):
 * every TIMESTAMP record's token parses, its imprint is the SHA-256 of the
 * bytes its checkpoint signs, its signature verifies against the
 * time-stamp authority's CA (--tsa-ca, else the one the configuration
 * load in force journalled), and its genTime lies between the
 * checkpoint's time and the TIMESTAMP record's own (AUDIT_TSA_SKEW either
 * side).  Checkpoints written while an authority was configured but never
 * stamped are a warning: the authority may have been down, and a later
 * token covers their records too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "audit/audit_priv.h"
#include "msg/tstamp.h"
#include "persist/journal.h"
#include "persist/record_timestamp.h"
#include "util/xmalloc.h"

#define AUDIT_TSA_SKEW		300	/* seconds: the clocks may differ */
#define AUDIT_TSA_LIST		8	/* checkpoints named in a warning */

struct audit_tsa_cp {
	uint64_t	 seq;		/* the CHECKPOINT record's */
	uint64_t	 covered;
	uint8_t		 chain[JOURNAL_HASH_LEN];
	accord_time_t	 time;
	int		 expected;	/* an authority was configured */
	int		 stamped;
};

struct audit_tsa {
	X509_STORE	*ca_opt;	/* --tsa-ca */
	X509_STORE	*ca_journal;	/* the configuration load's */
	int		 configured;	/* the load in force names one */
	int		 warned_noca;
	int		 warned_journal;
	struct audit_tsa_cp *cps;
	size_t		 ncps;
	size_t		 capcps;
	uint64_t	 tokens;
	uint64_t	 verified;
};

struct audit_tsa *
audit_tsa_new(const char *ca_file)
{
	struct audit_tsa *t = xcalloc(1, sizeof(*t));

	if (ca_file != NULL && (t->ca_opt = tstamp_ca_load(ca_file)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
audit_tsa_free(struct audit_tsa *t)
{
	if (t == NULL)
		return;
	if (t->ca_opt != NULL)
		X509_STORE_free(t->ca_opt);
	if (t->ca_journal != NULL)
		X509_STORE_free(t->ca_journal);
	free(t->cps);
	free(t);
}

/* The CA certificates of a PEM text.  @return a store, or NULL. */
static X509_STORE *
audit_tsa_store(const char *pem)
{
	X509_STORE *st;
	X509 *x;
	BIO *b;
	int n = 0;

	if ((b = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	if ((st = X509_STORE_new()) == NULL) {
		BIO_free(b);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(st, x) == 1)
			n++;
		X509_free(x);
	}
	BIO_free(b);
	if (n == 0) {
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

void
audit_tsa_config(struct audit_tsa *t, const struct journal_rec *rec)
{
	json_t *j, *ts;
	const char *pem;

	if ((j = json_loadb((const char *)rec->payload, rec->len, 0,
	    NULL)) == NULL)
		return;
	ts = json_object_get(j, "timestamp");
	t->configured = json_is_object(ts);
	pem = json_string_value(json_object_get(ts, "ca_pem"));
	if (pem != NULL) {
		if (t->ca_journal != NULL)
			X509_STORE_free(t->ca_journal);
		t->ca_journal = audit_tsa_store(pem);
	}
	json_decref(j);
}

void
audit_tsa_checkpoint(struct audit_tsa *t, const struct journal_rec *rec)
{
	struct journal_checkpoint jc;
	struct audit_tsa_cp *cp;

	if (journal_decode_checkpoint(rec, &jc) == -1)
		return;		/* verify reports it with the checkpoints */
	t->cps = xgrowarray(t->cps, t->ncps, &t->capcps, sizeof(*t->cps));
	cp = &t->cps[t->ncps++];
	memset(cp, 0, sizeof(*cp));
	cp->seq = rec->seq;
	cp->covered = jc.seq;
	memcpy(cp->chain, jc.chain, JOURNAL_HASH_LEN);
	cp->time = rec->time;
	cp->expected = t->configured;
}

void
audit_tsa_record(struct audit_tsa *t, struct audit_report *rep,
    const struct journal_rec *rec)
{
	struct record_timestamp r;
	struct audit_tsa_cp *cp = NULL;
	uint8_t msg[JOURNAL_CP_MESSAGE_MAX], digest[TSTAMP_DIGEST_LEN];
	X509_STORE *ca;
	char why[300], gt[32], ct[32];
	time_t gen;
	size_t i, mlen;

	t->tokens++;
	if (record_timestamp_decode(rec->payload, rec->len, &r) == -1) {
		audit_finding_kind(rep, rec, "timestamp", "TIMESTAMP does not "
		    "decode");
		return;
	}
	for (i = t->ncps; i > 0; i--)
		if (t->cps[i - 1].covered == r.checkpoint) {
			cp = &t->cps[i - 1];
			break;
		}
	if (cp == NULL) {
		audit_finding_kind(rep, rec, "timestamp", "time-stamp token "
		    "over a checkpoint covering record %" PRIu64 " that is "
		    "not before it in the journal", r.checkpoint);
		goto done;
	}
	if (memcmp(cp->chain, r.chain, JOURNAL_HASH_LEN) != 0) {
		audit_finding_kind(rep, rec, "timestamp", "time-stamp token "
		    "names another chain hash than the checkpoint at record "
		    "%" PRIu64, cp->seq);
		goto done;
	}
	mlen = journal_checkpoint_message(cp->covered, cp->chain, msg);
	SHA256(msg, mlen, digest);
	ca = t->ca_opt != NULL ? t->ca_opt : t->ca_journal;
	if (ca != NULL && ca == t->ca_journal && !t->warned_journal) {
		/* whoever could write the journal could name any CA */
		audit_warning(rep, NULL, "time-stamp tokens are checked "
		    "against the CA the journal's configuration load names: "
		    "pin it with --tsa-ca FILE");
		t->warned_journal = 1;
	}
	if (ca == NULL && !t->warned_noca) {
		audit_warning(rep, NULL, "no time-stamp authority CA: tokens' "
		    "imprints are checked, not their signatures (give "
		    "--tsa-ca FILE)");
		t->warned_noca = 1;
	}
	if (tstamp_token_check(r.token, r.token_len, digest, ca, &gen, why,
	    sizeof(why)) == -1) {
		audit_finding_kind(rep, rec, "timestamp", "time-stamp token "
		    "of the checkpoint at record %" PRIu64 " (%s): %s",
		    cp->seq, r.tsa, why);
		goto done;
	}
	if ((accord_time_t)gen < cp->time - AUDIT_TSA_SKEW ||
	    (accord_time_t)gen > rec->time + AUDIT_TSA_SKEW) {
		audit_fmt_time((accord_time_t)gen, gt, sizeof(gt));
		audit_fmt_time(cp->time, ct, sizeof(ct));
		audit_finding_kind(rep, rec, "timestamp", "time-stamp token "
		    "of the checkpoint at record %" PRIu64 " says %s: not "
		    "between the checkpoint's time %s and this record's",
		    cp->seq, gt, ct);
		goto done;
	}
	cp->stamped = 1;
	if (ca != NULL)
		t->verified++;
done:
	free(r.token);
}

void
audit_tsa_end(struct audit_tsa *t, struct audit_report *rep, json_t *sum)
{
	char list[200];
	size_t i, n = 0, len = 0;

	list[0] = '\0';
	for (i = 0; i < t->ncps; i++) {
		if (!t->cps[i].expected || t->cps[i].stamped)
			continue;
		if (n++ < AUDIT_TSA_LIST && len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%" PRIu64, n > 1 ? ", " : "", t->cps[i].seq);
	}
	if (n > 0)
		audit_warning(rep, NULL, "%zu checkpoint(s) written while a "
		    "time-stamp authority was configured have no token "
		    "(records %s%s): the authority was unreachable, or a later "
		    "checkpoint's token superseded theirs", n, list,
		    n > AUDIT_TSA_LIST ? ", ..." : "");
	json_object_set_new(sum, "timestamps", json_integer(
	    (json_int_t)t->tokens));
	json_object_set_new(sum, "timestamps_verified", json_integer(
	    (json_int_t)t->verified));
}
