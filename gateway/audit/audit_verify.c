/*
 * audit_verify.c -- verify: the hash chain, every message's and receipt's
 * signature with the certificates journalled for it, every receipt's
 * digest, and the checkpoints with the gateway's key (see audit.h).
 *
 * The records are read, chained and counted on the calling thread; the
 * checks of each message (decode, parse, schema, signature) are done by
 * a small pool of worker threads (audit_pool.c).  Every record takes a
 * slot of a ring in record order, and its results are applied (sets,
 * counters, findings) when it reaches the head of the ring: the report is
 * the one a single thread would write, in the same order.  Non-message
 * records wait in the ring for the messages before them.  A configuration
 * load changes what later messages are checked against: each slot holds
 * the one in force when it was read (the loads are kept until the end).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audit/audit_priv.h"
#include "conf/agreement.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "msg/xmlsig.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "util/errcode.h"
#include "util/xmalloc.h"

#define AUDIT_DEFAULT_JOBS	2	/* verify's worker threads */

/* A checkpoint kept for the end, when every key is known. */
struct audit_cp {
	uint64_t	 seq;
	uint64_t	 offset;
	char		*file;
	accord_time_t	 time;
	uint8_t		 prev[JOURNAL_HASH_LEN];
	uint8_t		*payload;
	size_t		 len;
};

/* A journal file's name, kept for the slots naming it. */
struct audit_name {
	struct audit_name	*next;
	char			 s[];
};

struct audit_verify {
	struct audit_pass	 pass;
	const struct audit_opts	*o;
	struct audit_conf	*conf;	/* the latest */
	struct audit_conf	**confs;	/* every one, for the end */
	size_t			 nconfs;
	size_t			 capconfs;
	X509_STORE		*trust;
	struct audit_tsa	*tsa;	/* time-stamp tokens */
	struct audit_slog	*slog;	/* --signer-log, or NULL */
	struct audit_pool	 pool;
	struct audit_name	*names;
	struct audit_set	 sent;	/* partner/message id -> sha256 */
	struct audit_set	 recvd;
	struct audit_set	 cases;
	struct audit_cp		*cps;
	size_t			 ncps;
	size_t			 capcps;
	X509			*own;	/* our cert from our messages */
	uint64_t		 messages, receipts, errors, decisions;
	uint64_t		 refusals, deadlines, operator, configs;
	uint64_t		 torn_cuts, files, signatures;
	uint64_t		 voids;	/* signatures given up */
	uint64_t		 unchecked;	/* no configuration after a break */
	uint64_t		 sealed, opened;	/* sealed messages */
	uint64_t		 last_cp_seq;
};

static void audit_job_finding(struct audit_job *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void
audit_job_finding(struct audit_job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->finding, sizeof(j->finding), fmt, ap);
	va_end(ap);
}

/* The message's signature, with the certificates in force. */
static void
audit_check_signature(struct audit_job *j, xmlDocPtr doc, int ours,
    X509_STORE *trust, struct audit_certcache *cache)
{
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct agreement a;
	struct xmlsig_result res;
	const struct journal_rec *rec = &j->rec;
	const struct record_message *rm = &j->rm;
	const struct audit_conf *conf = j->conf;
	const char *who = ours ? conf->country : rm->partner;
	char why[256];
	int n, i, k = 0;

	n = audit_keyinfo_certs(doc, certs, AUDIT_MAX_CERTS, cache);
	memset(&a, 0, sizeof(a));
	snprintf(a.country, sizeof(a.country), "%.2s", who);
	for (i = 0; i < n && k < AGREEMENT_MAX_SIGNING; i++) {
		if (!audit_conf_allows(conf, ours ? NULL : rm->partner,
		    certs[i].sha256))
			continue;
		a.signing[k].path = certs[i].sha256;
		a.signing[k].cert = certs[i].x;
		snprintf(a.signing[k].sha256, sizeof(a.signing[k].sha256),
		    "%s", certs[i].sha256);
		conf_cert_times(certs[i].x, &a.signing[k].not_before,
		    &a.signing[k].not_after);
		a.nsigning = ++k;
		if (ours && j->own == NULL) {
			X509_up_ref(certs[i].x);
			j->own = certs[i].x;
		}
	}
	if (!conf->seen) {
		j->no_conf = 1;
		audit_job_finding(j, "%s %s before any "
		    "configuration load: no certificate is in force",
		    agreement_msg_type_name(rm->type), rm->message_id);
	} else if (k == 0)
		audit_job_finding(j, "%s %s: signer certificate "
		    "sha256:%s is not one journalled for %s",
		    agreement_msg_type_name(rm->type), rm->message_id,
		    n > 0 ? certs[0].sha256 : "(none in KeyInfo)", who);
	else if (xmlsig_verify(doc, &a, rec->time, &res) == -1)
		audit_job_finding(j, "%s %s from %s: signature "
		    "does not verify: %s: %s",
		    agreement_msg_type_name(rm->type), rm->message_id, who,
		    errcode_name(res.code), res.text);
	else {
		j->verified = 1;
		if (trust != NULL && !audit_trust_check(trust,
		    res.signer->cert, res.signed_at, why, sizeof(why)))
			audit_job_finding(j, "%s %s: signer "
			    "certificate sha256:%s does not chain to the "
			    "trust anchors: %s",
			    agreement_msg_type_name(rm->type), rm->message_id,
			    res.signer->sha256, why);
	}
	audit_certs_free(certs, n);
}

/* The checks of one message that need nothing of the records before it
 * but the configuration in force: any thread. */
void
audit_check_message(struct audit_job *j, X509_STORE *trust,
    struct audit_certcache *cache)
{
	const struct journal_rec *rec = &j->rec;
	struct record_message *rm = &j->rm;
	struct envelope_header h;
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	int ours;

	j->finding[0] = '\0';
	j->decoded = j->checked = j->verified = j->rcpt_ids = 0;
	j->no_conf = j->sealed = j->opened = 0;
	j->own = NULL;
	if (record_message_decode(rec->payload, rec->len, rm) == -1) {
		audit_job_finding(j, "%s record does not decode "
		    "(or its body's SHA-256 is not its header's)",
		    journal_kind_name(rec->kind));
		return;
	}
	if (rm->sealed) {
		j->sealed = 1;
		free(j->plain);
		j->plain = NULL;
		switch (audit_unseal(rec, rm, &j->plain)) {
		case 1:
			j->opened = 1;
			break;
		case 0:
			/* the clear header alone: chain and Receipts
			 * check, the signature cannot */
			j->decoded = 1;
			return;
		default:
			audit_job_finding(j, "%s record %s: the sealed body "
			    "does not open with its case key, or is not the "
			    "plaintext its header names",
			    journal_kind_name(rec->kind), rm->message_id);
			return;
		}
	}
	j->decoded = 1;
	ours = rec->kind == JOURNAL_MESSAGE_SENT ||
	    rec->kind == JOURNAL_RECEIPT_GIVEN;
	if (envelope_parse((const char *)rm->body, rm->body_len, NULL, &doc,
	    &err) == -1) {
		audit_job_finding(j, "%s %s: the journalled bytes "
		    "do not parse: %s", agreement_msg_type_name(rm->type),
		    rm->message_id, err.text);
		return;
	}
	if (envelope_read(doc, &h, &body) == -1 ||
	    strcmp(h.message_id, rm->message_id) != 0 ||
	    strcmp(h.case_id, rm->case_id) != 0 || h.type != rm->type) {
		audit_job_finding(j, "%s %s: the record's header "
		    "does not match the signed message's",
		    agreement_msg_type_name(rm->type), rm->message_id);
		goto done;
	}
	j->checked = 1;
	audit_check_signature(j, doc, ours, trust, cache);
	if ((rec->kind == JOURNAL_RECEIPT_GOT ||
	    rec->kind == JOURNAL_RECEIPT_GIVEN) && rm->type == MSG_RECEIPT)
		j->rcpt_ids = envelope_child_text(body, "ReceivedMessageId",
		    j->id, sizeof(j->id)) != -1 && envelope_child_text(body,
		    "Sha256", j->sha, sizeof(j->sha)) != -1;
done:
	xmlFreeDoc(doc);
}

/* A Receipt's digest must be the one of the bytes it acknowledges. */
static void
audit_verify_receipt(struct audit_verify *v, const struct audit_job *j,
    int got)
{
	const struct journal_rec *rec = &j->rec;
	const struct record_message *rm = &j->rm;
	struct audit_str *s;

	if (rm->type != MSG_RECEIPT)
		return;
	if (!j->rcpt_ids) {
		audit_finding_kind(v->pass.rep, rec, "receipt", "Receipt %s names no message "
		    "or digest", rm->message_id);
		return;
	}
	s = audit_set_get(got ? &v->sent : &v->recvd, rm->partner, j->id);
	if (s == NULL)
		audit_finding_kind(v->pass.rep, rec, "receipt", "Receipt %s acknowledges %s, "
		    "which the journal does not hold as %s", rm->message_id,
		    j->id, got ? "sent" : "received");
	else if (strcmp(s->val, j->sha) != 0)
		audit_finding_kind(v->pass.rep, rec, "receipt", "Receipt %s: Sha256 %s is "
		    "not the digest %s of message %s as %s", rm->message_id,
		    j->sha, s->val, j->id, got ? "sent" : "received");
}

/* A message's results, in record order. */
static void
audit_verify_message(struct audit_verify *v, struct audit_job *j)
{
	const struct journal_rec *rec = &j->rec;
	const struct record_message *rm = &j->rm;

	if (!j->decoded) {
		audit_finding_kind(v->pass.rep, rec, "message", "%s",
		    j->finding);
		return;
	}
	if (rec->kind == JOURNAL_MESSAGE_SENT)
		audit_set_put(&v->sent, rm->partner, rm->message_id,
		    rm->sha256);
	else if (rec->kind == JOURNAL_MESSAGE_RECEIVED)
		audit_set_put(&v->recvd, rm->partner, rm->message_id,
		    rm->sha256);
	if (rm->type == MSG_RECEIPT)
		v->receipts++;
	else if (rm->type == MSG_ERROR)
		v->errors++;
	else
		v->messages++;
	if (j->own != NULL) {
		if (v->own == NULL)
			v->own = j->own;
		else
			X509_free(j->own);
		j->own = NULL;
	}
	if (j->verified)
		v->signatures++;
	v->sealed += j->sealed;
	v->opened += j->opened;
	if (j->no_conf && v->pass.broken)
		/* its configuration load may be what a break took: one
		 * warning at the end, not a finding per message */
		v->unchecked++;
	else if (j->finding[0] != '\0')
		audit_finding_kind(v->pass.rep, rec, "message", "%s",
		    j->finding);
	if (!j->checked)
		return;
	if (rec->kind == JOURNAL_RECEIPT_GOT)
		audit_verify_receipt(v, j, 1);
	else if (rec->kind == JOURNAL_RECEIPT_GIVEN)
		audit_verify_receipt(v, j, 0);
}

/* A record's turn at the head of the ring. */
static void
audit_verify_apply(void *arg, struct audit_job *j)
{
	struct audit_verify *v = arg;
	const struct journal_rec *rec = &j->rec;
	struct record_decision rd;
	struct record_counted rc;
	struct record_void rv;
	struct audit_cp *cp;

	switch (rec->kind) {
	case JOURNAL_FILE_START:
		v->files++;
		break;
	case JOURNAL_TORN_TAIL_CUT:
		v->torn_cuts++;
		break;
	case JOURNAL_CHECKPOINT:
		v->cps = xgrowarray(v->cps, v->ncps, &v->capcps,
		    sizeof(*v->cps));
		cp = &v->cps[v->ncps++];
		cp->seq = rec->seq;
		cp->offset = rec->offset;
		cp->time = rec->time;
		cp->file = xstrdup(rec->file);
		cp->payload = xmalloc(rec->len + 1);
		memcpy(cp->payload, rec->payload, rec->len);
		cp->len = rec->len;
		memcpy(cp->prev, rec->prev, JOURNAL_HASH_LEN);
		v->last_cp_seq = rec->seq;
		audit_tsa_checkpoint(v->tsa, rec);
		audit_slog_checkpoint(v->slog, v->pass.rep, rec);
		break;
	case JOURNAL_TIMESTAMP:
		audit_tsa_record(v->tsa, v->pass.rep, rec);
		break;
	case JOURNAL_CONFIG_LOAD:
		v->configs++;
		audit_tsa_config(v->tsa, rec);
		if (j->conf_bad)
			audit_finding_kind(v->pass.rep, rec, "configuration",
			    "CONFIG_LOAD is not "
			    "JSON");
		break;
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		audit_verify_message(v, j);
		if (j->decoded)
			audit_slog_message(v->slog, v->pass.rep, rec, &j->rm);
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		if (rec->kind == JOURNAL_DECISION)
			v->decisions++;
		else
			v->refusals++;
		if (record_decision_decode(rec->payload, rec->len, &rd) == -1)
			audit_finding_kind(v->pass.rep, rec, "decision",
			    "%s does not decode",
			    journal_kind_name(rec->kind));
		else if (rec->kind == JOURNAL_DECISION) {
			audit_set_put(&v->cases, rd.partner, rd.case_id, NULL);
			/* the engine journals a message before deciding on it */
			if (rd.message_id[0] != '\0' &&
			    audit_set_get(&v->recvd, rd.partner,
			    rd.message_id) == NULL &&
			    audit_set_get(&v->sent, rd.partner,
			    rd.message_id) == NULL)
				audit_finding_kind(v->pass.rep, rec, "decision",
				    "decision on "
				    "case %s/%s: message %s is not journalled "
				    "before it (records reordered or removed)",
				    rd.partner, rd.case_id, rd.message_id);
		}
		break;
	case JOURNAL_DEADLINE_FIRED:
		v->deadlines++;
		break;
	case JOURNAL_OPERATOR_COMMAND:
		v->operator++;
		break;
	case JOURNAL_REFUSALS_COUNTED:
		/* a count, not a decision: nothing to replay or match */
		if (record_counted_decode(rec->payload, rec->len,
		    &rc) == -1)
			audit_finding_kind(v->pass.rep, rec, "decision",
			    "REFUSALS_COUNTED "
			    "does not decode");
		break;
	case JOURNAL_SIGNATURE_VOID:
		/* a message signed and given up unjournalled: not a
		 * decision; it holds its line of the signer's log */
		v->voids++;
		if (record_void_decode(rec->payload, rec->len, &rv) == -1)
			audit_finding_kind(v->pass.rep, rec, "decision",
			    "SIGNATURE_VOID does not decode");
		else
			audit_slog_void(v->slog, v->pass.rep, rec, &rv);
		break;
	default:
		break;
	}
}

/* The records' results, every one, before a break's finding. */
static void
audit_verify_flush(void *arg)
{
	struct audit_verify *v = arg;

	audit_pool_apply(&v->pool, 1);
}

/* The configuration a CONFIG_LOAD puts in force.  @return 0, or -1 when
 * it is not JSON (the one in force stays). */
static int
audit_conf_next(struct audit_verify *v, const struct journal_rec *rec)
{
	struct audit_conf *c;

	c = xcalloc(1, sizeof(*c));
	if (audit_conf_take(c, rec) == -1) {
		free(c);
		return -1;
	}
	v->confs = xgrowarray(v->confs, v->nconfs, &v->capconfs,
	    sizeof(*v->confs));
	v->confs[v->nconfs++] = c;
	v->conf = c;
	return 0;
}

/* The reader's record into the ring. */
static int
audit_verify_rec(void *arg, const struct journal_rec *rec)
{
	struct audit_verify *v = arg;
	struct audit_name *nm;
	struct audit_job *j;
	int check = 0;
	size_t len;

	j = audit_pool_slot(&v->pool);
	j->rec = *rec;
	if (j->cap < rec->len + 1) {
		free(j->buf);
		j->cap = rec->len + 1 > 8192 ? rec->len + 1 : 8192;
		j->buf = xmalloc(j->cap);
	}
	if (rec->len > 0)
		memcpy(j->buf, rec->payload, rec->len);
	j->buf[rec->len] = '\0';
	j->rec.payload = j->buf;
	if (v->names == NULL || strcmp(v->names->s, rec->file) != 0) {
		len = strlen(rec->file);
		nm = xmalloc(sizeof(*nm) + len + 1);
		memcpy(nm->s, rec->file, len + 1);
		nm->next = v->names;
		v->names = nm;
	}
	j->rec.file = v->names->s;
	j->conf_bad = 0;
	switch (rec->kind) {
	case JOURNAL_CONFIG_LOAD:
		j->conf_bad = audit_conf_next(v, rec) == -1;
		break;
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		check = 1;
		break;
	default:
		break;
	}
	j->conf = v->conf;
	audit_pool_push(&v->pool, j, check);
	return 0;
}

/* Every checkpoint, with the key its id names. */
static void
audit_verify_checkpoints(struct audit_verify *v, EVP_PKEY *key,
    const char *key_from)
{
	struct journal_checkpoint jc;
	struct journal_rec rec;
	uint8_t id[JOURNAL_HASH_LEN];
	char hex[65], want[65];
	uint64_t good = 0;
	size_t i;

	if (key != NULL && journal_key_id(key, id) == -1)
		key = NULL;
	for (i = 0; i < v->ncps; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.kind = JOURNAL_CHECKPOINT;
		rec.version = JOURNAL_VERSION;
		rec.seq = v->cps[i].seq;
		rec.time = v->cps[i].time;
		memcpy(rec.prev, v->cps[i].prev, JOURNAL_HASH_LEN);
		rec.payload = v->cps[i].payload;
		rec.len = v->cps[i].len;
		rec.file = v->cps[i].file;
		rec.offset = v->cps[i].offset;
		if (journal_decode_checkpoint(&rec, &jc) == -1) {
			audit_finding_kind(v->pass.rep, &rec, "checkpoint",
			    "malformed "
			    "checkpoint");
			continue;
		}
		if (key == NULL)
			continue;
		if (memcmp(jc.key_id, id, JOURNAL_HASH_LEN) != 0) {
			audit_finding_kind(v->pass.rep, &rec, "checkpoint",
			    "checkpoint signed "
			    "by key %s, not the gateway's key %s (%s)",
			    journal_hex(jc.key_id, hex), journal_hex(id, want),
			    key_from);
			continue;
		}
		if (journal_verify_checkpoint(&rec, key) == -1) {
			audit_finding_kind(v->pass.rep, &rec, "checkpoint",
			    "checkpoint "
			    "signature does not verify (covering record %"
			    PRIu64 ", chain %s)", jc.seq,
			    journal_hex(jc.chain, hex));
			continue;
		}
		good++;
	}
	json_object_set_new(json_object_get(v->pass.rep->root, "summary"),
	    "checkpoints_verified", json_integer((json_int_t)good));
}

static struct audit_verify *
audit_verify_new(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_verify *v;

	v = xcalloc(1, sizeof(*v));
	v->confs = xcalloc(1, sizeof(*v->confs));
	v->capconfs = 1;
	v->confs[0] = xcalloc(1, sizeof(*v->confs[0]));
	v->conf = v->confs[0];		/* none loaded yet */
	v->nconfs = 1;
	v->o = o;
	v->pass.rep = rep;
	return v;
}

/* What waits for the last record: the checkpoints, with the gateway's
 * key (pinned, or our own messages' certificate). */
static void
audit_verify_end(struct audit_verify *v, X509 *pinned, json_t *sum)
{
	struct audit_report *rep = v->pass.rep;
	X509 *own;
	const char *from;
	char fp[65], why[256];

	own = pinned != NULL ? pinned : v->own;
	from = pinned != NULL ? v->o->cert_file : "taken from the journal's "
	    "own messages: pin it with --cert";
	if (own == NULL) {
		if (v->ncps > 0)
			audit_warning(rep, NULL, "no certificate for the "
			    "checkpoints: give the gateway's signing "
			    "certificate with --cert");
	} else {
		conf_cert_sha256(own, fp);
		if (pinned != NULL && v->conf->seen &&
		    strcmp(fp, v->conf->signing) != 0)
			audit_warning(rep, NULL, "--cert sha256:%s is not the "
			    "signing certificate sha256:%s the journal's last "
			    "configuration load names", fp, v->conf->signing);
		if (pinned == NULL)
			audit_warning(rep, NULL, "checkpoint key %s", from);
		if (v->trust != NULL && !audit_trust_check(v->trust, own,
		    v->pass.last_time, why, sizeof(why)))
			audit_finding_kind(rep, NULL, "trust",
			    "the gateway's certificate "
			    "sha256:%s does not chain to the trust anchors: "
			    "%s", fp, why);
		json_object_set_new(sum, "checkpoint_key_cert",
		    json_string(fp));
		audit_verify_checkpoints(v, X509_get0_pubkey(own), from);
	}
	if (v->sealed > v->opened)
		audit_warning(rep, NULL, "%" PRIu64 " of %" PRIu64 " sealed "
		    "messages not opened (%s): their signatures are not "
		    "checked; the chain, the checkpoints and the Receipts "
		    "(against the digests their clear headers carry) are",
		    v->sealed - v->opened, v->sealed, audit_keys_have() ?
		    "no key for their case: erased, or another case's "
		    "export key" : "no --master-key or --case-key");
	if (v->unchecked > 0)
		audit_warning(rep, NULL, "%" PRIu64 " messages and receipts "
		    "after a break have no configuration load in force (a "
		    "break may have taken it): their signatures are not "
		    "checked", v->unchecked);
	if (v->pass.records > v->last_cp_seq && v->ncps > 0 &&
	    v->pass.last_seq > v->last_cp_seq)
		audit_warning(rep, NULL, "%" PRIu64 " records after the last "
		    "checkpoint (record %" PRIu64 ") are chained but not yet "
		    "signed", v->pass.last_seq - v->last_cp_seq,
		    v->last_cp_seq);
}

static void
audit_verify_summary(const struct audit_verify *v, json_t *sum)
{
	char tb[32];

	json_object_set_new(sum, "records", json_integer(
	    (json_int_t)v->pass.records));
	json_object_set_new(sum, "files", json_integer((json_int_t)v->files));
	json_object_set_new(sum, "files_read", json_integer(
	    (json_int_t)v->pass.files));
	json_object_set_new(sum, "resynchronisations", json_integer(
	    (json_int_t)v->pass.resyncs));
	json_object_set_new(sum, "bytes_skipped", json_integer(
	    (json_int_t)v->pass.bytes_skipped));
	json_object_set_new(sum, "messages", json_integer(
	    (json_int_t)v->messages));
	json_object_set_new(sum, "receipts", json_integer(
	    (json_int_t)v->receipts));
	json_object_set_new(sum, "errors", json_integer(
	    (json_int_t)v->errors));
	json_object_set_new(sum, "signatures_verified", json_integer(
	    (json_int_t)v->signatures));
	json_object_set_new(sum, "sealed_messages", json_integer(
	    (json_int_t)v->sealed));
	json_object_set_new(sum, "sealed_opened", json_integer(
	    (json_int_t)v->opened));
	json_object_set_new(sum, "decisions", json_integer(
	    (json_int_t)v->decisions));
	json_object_set_new(sum, "refusals", json_integer(
	    (json_int_t)v->refusals));
	json_object_set_new(sum, "deadlines_fired", json_integer(
	    (json_int_t)v->deadlines));
	json_object_set_new(sum, "operator_commands", json_integer(
	    (json_int_t)v->operator));
	json_object_set_new(sum, "signatures_given_up", json_integer(
	    (json_int_t)v->voids));
	json_object_set_new(sum, "configuration_loads", json_integer(
	    (json_int_t)v->configs));
	json_object_set_new(sum, "cases", json_integer(
	    (json_int_t)v->cases.n));
	json_object_set_new(sum, "checkpoints", json_integer(
	    (json_int_t)v->ncps));
	json_object_set_new(sum, "torn_tails_cut", json_integer(
	    (json_int_t)v->torn_cuts));
	audit_fmt_time(v->pass.first_time, tb, sizeof(tb));
	json_object_set_new(sum, "first_time", json_string(tb));
	audit_fmt_time(v->pass.last_time, tb, sizeof(tb));
	json_object_set_new(sum, "last_time", json_string(tb));
	json_object_set_new(sum, "last_record", json_integer(
	    (json_int_t)v->pass.last_seq));
}

static void
audit_verify_free(struct audit_verify *v)
{
	struct audit_name *nm;
	size_t i;

	audit_pool_stop(&v->pool);
	audit_tsa_free(v->tsa);
	audit_slog_free(v->slog);
	for (i = 0; i < v->ncps; i++) {
		free(v->cps[i].file);
		free(v->cps[i].payload);
	}
	free(v->cps);
	audit_set_clear(&v->sent);
	audit_set_clear(&v->recvd);
	audit_set_clear(&v->cases);
	for (i = 0; i < v->nconfs; i++) {
		json_decref(v->confs[i]->partners);
		free(v->confs[i]);
	}
	free(v->confs);
	while ((nm = v->names) != NULL) {
		v->names = nm->next;
		free(nm);
	}
	X509_free(v->own);
	if (v->trust != NULL)
		X509_STORE_free(v->trust);
	free(v);
}

int
audit_verify(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_verify *v;
	json_t *sum;
	X509 *pinned = NULL;
	int rc = -1;

	v = audit_verify_new(o, rep);
	if (o->cert_file != NULL &&
	    (pinned = audit_cert_read(o->cert_file)) == NULL)
		goto done;
	if (o->trust_dir != NULL &&
	    (v->trust = audit_trust_load(o->trust_dir)) == NULL)
		goto done;
	if ((v->tsa = audit_tsa_new(o->tsa_ca_file)) == NULL)
		goto done;
	if (o->signer_log != NULL &&
	    (v->slog = audit_slog_load(o->signer_log, rep)) == NULL)
		goto done;
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (audit_pool_start(&v->pool, o->jobs > 0 ? o->jobs :
	    AUDIT_DEFAULT_JOBS, v->trust, audit_verify_apply, v) == -1)
		goto done;
	if (audit_read_flush(o->files, o->nfiles, &v->pass, audit_verify_rec,
	    audit_verify_flush, v) == -1)
		goto done;
	audit_pool_stop(&v->pool);
	audit_verify_end(v, pinned, sum);
	audit_verify_summary(v, sum);
	audit_tsa_end(v->tsa, rep, sum);
	audit_slog_end(v->slog, rep, &v->pass, sum);
	if (o->html_out != NULL && audit_html(o->html_out, "verify", rep,
	    NULL) == -1)
		goto done;
	rc = 0;
done:
	audit_verify_free(v);
	X509_free(pinned);
	return rc;
}
