/*
 * audit_witness.c -- witness: the checkpoint hashes each side's receipts
 * carry, against the checkpoints of the other side's journal (and of its
 * own) (see audit.h).
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "audit/audit_priv.h"
#include "conf/agreement.h"
#include "msg/envelope.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "util/log.h"

#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* One side's journal as the other side's receipts see it. */
struct audit_side {
	struct audit_pass	 pass;
	const char		*label;		/* "ours", "partner's" */
	struct audit_conf	 conf;
	struct audit_set	 cps;		/* chain hashes checkpointed */
	json_t			*claims;	/* receipts: who, hash, where */
};

static int
audit_side_rec(void *arg, const struct journal_rec *rec)
{
	struct audit_side *sd = arg;
	struct record_message rm;
	struct envelope_header h;
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	char hex[65], cp[80];

	switch (rec->kind) {
	case JOURNAL_CONFIG_LOAD:
		audit_conf_take(&sd->conf, rec);
		break;
	case JOURNAL_CHECKPOINT:
		audit_set_put(&sd->cps, journal_hex(rec->prev, hex), NULL,
		    NULL);
		break;
	case JOURNAL_RECEIPT_GOT:
	case JOURNAL_RECEIPT_GIVEN:
		if (record_message_decode(rec->payload, rec->len, &rm) == -1 ||
		    rm.type != MSG_RECEIPT)
			break;
		if (envelope_parse((const char *)rm.body, rm.body_len, NULL,
		    &doc, &err) == -1)
			break;
		if (envelope_read(doc, &h, &body) == 0 &&
		    envelope_child_text(body, "CheckpointHash", cp,
		    sizeof(cp)) == 0)
			json_array_append_new(sd->claims, json_pack("{s:s, "
			    "s:b, s:s, s:s, s:I, s:I}", "partner", rm.partner,
			    "given", rec->kind == JOURNAL_RECEIPT_GIVEN,
			    "hash", cp, "file", rec->file, "offset",
			    (json_int_t)rec->offset, "seq",
			    (json_int_t)rec->seq));
		xmlFreeDoc(doc);
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Every checkpoint hash that holder's receipts attribute to signer must
 * be a checkpoint of signer's journal.  given selects the receipts the
 * holder gave (its own hashes) or got (the signer's).
 */
static uint64_t
audit_witness_check(struct audit_report *rep, struct audit_side *holder,
    struct audit_side *signer, int given)
{
	struct journal_rec at;
	json_t *c;
	const char *hash;
	uint64_t checked = 0;
	size_t i;

	json_array_foreach(holder->claims, i, c) {
		if (json_is_true(json_object_get(c, "given")) != given)
			continue;
		/* a receipt got from someone else than signer */
		if (!given && strcmp(json_string_value(json_object_get(c,
		    "partner")), signer->conf.country) != 0)
			continue;
		hash = json_string_value(json_object_get(c, "hash"));
		if (strcmp(hash, ZERO_HASH) == 0)
			continue;
		checked++;
		if (audit_set_get(&signer->cps, hash, NULL) != NULL)
			continue;
		memset(&at, 0, sizeof(at));
		at.file = json_string_value(json_object_get(c, "file"));
		at.offset = (uint64_t)json_integer_value(json_object_get(c,
		    "offset"));
		at.seq = (uint64_t)json_integer_value(json_object_get(c,
		    "seq"));
		audit_finding(rep, &at, "a Receipt %s %s holds checkpoint hash "
		    "%s of %s (%s), which %s journal does not hold: %s",
		    given ? "given by" : "got by", holder->conf.country, hash,
		    signer->conf.country, signer->label, signer->label,
		    given ? "the journal contradicts its own receipts" :
		    "that journal was rewritten after the receipt");
	}
	return checked;
}

int
audit_witness(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_side ours, theirs;
	json_t *sum;
	uint64_t n1, n2, n3, n4;
	int rc = -1;

	memset(&ours, 0, sizeof(ours));
	memset(&theirs, 0, sizeof(theirs));
	ours.label = "our";
	theirs.label = "the partner's";
	ours.pass.rep = theirs.pass.rep = rep;
	ours.claims = json_array();
	theirs.claims = json_array();
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (o->npartner_files == 0) {
		log_errx(ATAG, "witness needs --partner FILE...");
		goto done;
	}
	if (audit_read(o->files, o->nfiles, &ours.pass, audit_side_rec,
	    &ours) == -1 || audit_read(o->partner_files, o->npartner_files,
	    &theirs.pass, audit_side_rec, &theirs) == -1)
		goto done;
	if (!ours.conf.seen || !theirs.conf.seen) {
		audit_finding(rep, NULL, "a journal without a configuration "
		    "load: whose it is cannot be told");
		rc = 0;
		goto done;
	}
	n1 = audit_witness_check(rep, &theirs, &ours, 0);
	n2 = audit_witness_check(rep, &ours, &theirs, 0);
	n3 = audit_witness_check(rep, &ours, &ours, 1);
	n4 = audit_witness_check(rep, &theirs, &theirs, 1);
	json_object_set_new(sum, "ours", json_string(ours.conf.country));
	json_object_set_new(sum, "partner", json_string(theirs.conf.country));
	json_object_set_new(sum, "our_checkpoints", json_integer(
	    (json_int_t)ours.cps.n));
	json_object_set_new(sum, "partner_checkpoints", json_integer(
	    (json_int_t)theirs.cps.n));
	json_object_set_new(sum, "our_hashes_the_partner_holds",
	    json_integer((json_int_t)n1));
	json_object_set_new(sum, "partner_hashes_we_hold",
	    json_integer((json_int_t)n2));
	json_object_set_new(sum, "own_receipts_checked",
	    json_integer((json_int_t)(n3 + n4)));
	if (n1 == 0 && n2 == 0)
		audit_warning(rep, NULL, "no receipt between %s and %s carries "
		    "a checkpoint hash: nothing to witness",
		    ours.conf.country, theirs.conf.country);
	rc = 0;
done:
	if (rc == 0 && o->html_out != NULL && audit_html(o->html_out,
	    "witness", rep, NULL) == -1)
		rc = -1;
	audit_set_clear(&ours.cps);
	audit_set_clear(&theirs.cps);
	json_decref(ours.claims);
	json_decref(theirs.claims);
	json_decref(ours.conf.partners);
	json_decref(theirs.conf.partners);
	return rc;
}
