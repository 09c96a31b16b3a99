/*
 * audit_export.c -- export: one case's messages as they were signed, the
 * segment of the journal from its first record to the checkpoint that
 * signs it -- every record's header, and the payloads of the case's own
 * records and of that checkpoint only, so that no one else's data leaves
 * -- the certificates and CA certificates that check the signatures, and
 * a README and verify.sh that check them without Accord (see audit.h;
 * audit_export_text.c writes those two).  Files 0600 in 0700 directories.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit/audit_priv.h"
#include "conf/agreement.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct audit_export {
	struct audit_pass	 pass;
	const struct audit_opts	*o;
	struct audit_conf	 conf;
	struct audit_set	 msgs;		/* the case's message ids */
	uint64_t		 first, last, cp;
	X509			*own;
	X509_STORE		*cas;		/* CA certificates known */
	/* pass 2 */
	uint64_t		 nrec;
	uint64_t		 unproven;	/* format-1 records shown by
						 * header and hash only */
	json_t			*index;
	json_t			*files;		/* exported messages */
	json_t			*certs;		/* fingerprints written */
	int			 nmsg;
	int			 failed;
};

/* Is rec about the case?  (Pass 1 also learns the case's messages.) */
static int
audit_export_match(struct audit_export *x, const struct journal_rec *rec,
    struct record_message *rm, int *is_msg)
{
	struct record_decision rd;
	struct record_deadline rdl;
	struct record_msgstate ms;
	json_t *j;
	const char *s;
	int match = 0;

	*is_msg = 0;
	switch (rec->kind) {
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		if (record_message_decode(rec->payload, rec->len, rm) == 0 &&
		    strcmp(rm->case_id, x->o->case_id) == 0) {
			match = *is_msg = 1;
			audit_set_put(&x->msgs, rm->partner, rm->message_id,
			    NULL);
		}
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		match = record_decision_decode(rec->payload, rec->len, &rd) ==
		    0 && strcmp(rd.case_id, x->o->case_id) == 0;
		break;
	case JOURNAL_DEADLINE_FIRED:
		match = record_deadline_decode(rec->payload, rec->len, &rdl) ==
		    0 && strcmp(rdl.case_id, x->o->case_id) == 0;
		break;
	case JOURNAL_MESSAGE_STATE:
		match = record_msgstate_decode(rec->payload, rec->len, &ms) ==
		    0 && audit_set_get(&x->msgs, ms.partner, ms.message_id) !=
		    NULL;
		break;
	case JOURNAL_OPERATOR_COMMAND:
		j = json_loadb((const char *)rec->payload, rec->len, 0, NULL);
		match = (s = json_string_value(json_object_get(j, "case"))) !=
		    NULL && strcmp(s, x->o->case_id) == 0;
		json_decref(j);
		break;
	default:
		break;
	}
	return match;
}

/* The partners' CA certificates as journalled in the rules of a
 * CONFIG_LOAD (the agreement's TLS CA, which in the test PKI and in the
 * usual set-up also issues the signing certificates), added to the
 * candidates for issuers. */
static void
audit_export_cas(struct audit_export *x, const struct journal_rec *rec)
{
	json_t *j, *p;
	const char *pem;
	size_t i;
	BIO *b;
	X509 *c;

	if ((j = json_loadb((const char *)rec->payload, rec->len, 0,
	    NULL)) == NULL)
		return;
	json_array_foreach(json_object_get(json_object_get(j, "rules"),
	    "partners"), i, p) {
		pem = json_string_value(json_object_get(json_object_get(
		    json_object_get(p, "tls"), "ca"), "pem"));
		if (pem == NULL || (b = BIO_new_mem_buf(pem, -1)) == NULL)
			continue;
		if ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			X509_STORE_add_cert(x->cas, c);
			X509_free(c);
		}
		BIO_free(b);
	}
	json_decref(j);
	ERR_clear_error();
}

static int
audit_export_scan(void *arg, const struct journal_rec *rec)
{
	struct audit_export *x = arg;
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct record_message rm;
	struct envelope_error err;
	xmlDocPtr doc;
	int is_msg, n, i;

	if (rec->kind == JOURNAL_CONFIG_LOAD &&
	    audit_conf_take(&x->conf, rec) == 0)
		audit_export_cas(x, rec);
	if (rec->kind == JOURNAL_CHECKPOINT && x->last != 0 && x->cp == 0)
		x->cp = rec->seq;
	if (!audit_export_match(x, rec, &rm, &is_msg))
		return 0;
	if (x->first == 0)
		x->first = rec->seq;
	x->last = rec->seq;
	x->cp = 0;		/* the next checkpoint after this one */
	if (is_msg && x->own == NULL && (rec->kind == JOURNAL_MESSAGE_SENT ||
	    rec->kind == JOURNAL_RECEIPT_GIVEN) &&
	    envelope_parse((const char *)rm.body, rm.body_len, NULL, &doc,
	    &err) == 0) {
		n = audit_keyinfo_certs(doc, certs, AUDIT_MAX_CERTS, NULL);
		for (i = 0; i < n; i++)
			if (x->own == NULL &&
			    strcmp(certs[i].sha256, x->conf.signing) == 0) {
				X509_up_ref(certs[i].x);
				x->own = certs[i].x;
			}
		audit_certs_free(certs, n);
		xmlFreeDoc(doc);
	}
	return 0;
}

/* fopen(path, "w") for a file of the bundle: mode 0600 whatever the
 * umask, an old file of that name replaced. */
static FILE *
audit_create(const char *path)
{
	FILE *fp;
	int fd;

	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || fchmod(fd, 0600) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	return fp;
}

static int
audit_write_file(const char *dir, const char *name, const void *p,
    size_t len)
{
	char *path = conf_path(dir, name);
	FILE *fp;
	int rc = -1;

	if ((fp = audit_create(path)) == NULL)
		goto done;
	if (fwrite(p, 1, len, fp) != len) {
		log_err(ATAG, "%s", path);
		fclose(fp);
		goto done;
	}
	if (fclose(fp) != 0) {
		log_err(ATAG, "%s", path);
		goto done;
	}
	rc = 0;
done:
	free(path);
	return rc;
}

static int
audit_write_pem(const char *dir, const char *name, X509 *x, int pubkey)
{
	char *path = conf_path(dir, name);
	FILE *fp;
	int ok;

	if ((fp = audit_create(path)) == NULL) {
		free(path);
		return -1;
	}
	ok = pubkey ? PEM_write_PUBKEY(fp, X509_get0_pubkey(x)) :
	    PEM_write_X509(fp, x);
	if (fclose(fp) != 0)
		ok = 0;
	free(path);
	return ok ? 0 : -1;
}

/* The CA certificate among x->cas that issued cert, written to
 * ca/SHA256.pem, its name into out ("" if none is known). */
static void
audit_export_issuer(struct audit_export *x, X509 *cert, char *out,
    size_t len)
{
	X509_STORE_CTX *ctx;
	X509 *issuer = NULL;
	char fp[65];

	out[0] = '\0';
	if ((ctx = X509_STORE_CTX_new()) == NULL)
		return;
	if (X509_STORE_CTX_init(ctx, x->cas, cert, NULL) == 1 &&
	    X509_STORE_CTX_get1_issuer(&issuer, ctx, cert) == 1 &&
	    issuer != NULL) {
		conf_cert_sha256(issuer, fp);
		snprintf(out, len, "ca/%s.pem", fp);
		if (audit_write_pem(x->o->out_dir, out, issuer, 0) == -1)
			x->failed = 1;
	}
	X509_free(issuer);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

/* A case's message record: the message as signed into messages/, its
 * signer's certificate into certs/, that certificate's issuer into ca/
 * (sealed: rm is the record opened, its bytes are not the payload's). */
static void
audit_export_bytes(struct audit_export *x, const struct journal_rec *rec,
    const struct record_message *rm, json_t *ent, int sealed)
{
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct envelope_error err;
	xmlDocPtr doc;
	char name[256], cname[128], signer[128], ca[128], tb[32];
	int n, i;

	signer[0] = ca[0] = '\0';
	snprintf(name, sizeof(name), "messages/%03d-%s-%s.xml", ++x->nmsg,
	    agreement_msg_type_name(rm->type), rm->message_id);
	if (audit_write_file(x->o->out_dir, name, rm->body, rm->body_len) ==
	    -1) {
		x->failed = 1;
		return;
	}
	if (envelope_parse((const char *)rm->body, rm->body_len, NULL, &doc,
	    &err) == 0) {
		n = audit_keyinfo_certs(doc, certs, AUDIT_MAX_CERTS, NULL);
		for (i = 0; i < n; i++) {
			snprintf(cname, sizeof(cname), "certs/%s.pem",
			    certs[i].sha256);
			if (i == 0) {
				snprintf(signer, sizeof(signer), "%s", cname);
				audit_export_issuer(x, certs[i].x, ca,
				    sizeof(ca));
			}
			if (audit_write_pem(x->o->out_dir, cname, certs[i].x,
			    0) == -1)
				x->failed = 1;
		}
		audit_certs_free(certs, n);
		xmlFreeDoc(doc);
	}
	if (ca[0] == '\0')
		audit_warning(x->pass.rep, rec, "%s: no CA certificate known "
		    "for its signer (give the CAs with --trust DIR): checked "
		    "against the certificate it carries only", name);
	/* xmlsec1 checks certificates at the time it is given: the
	 * record's, when the message was received or sent */
	clock_format_utc(rec->time, tb, sizeof(tb));
	json_object_set_new(ent, "exported", json_string(name));
	json_object_set_new(ent, "sha256", json_string(rm->sha256));
	if (sealed) {
		json_array_append_new(x->files, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "file", name, "type",
		    agreement_msg_type_name(rm->type), "message_id",
		    rm->message_id, "direction", rec->kind ==
		    JOURNAL_MESSAGE_RECEIVED ? "in" : "out", "sha256",
		    rm->sha256, "signer_cert", signer, "ca", ca, "time", tb,
		    "seq", (json_int_t)rec->seq, "sealed", 1));
		return;
	}
	json_object_set_new(ent, "body_offset", json_integer((json_int_t)(
	    rm->body - (const unsigned char *)rec->payload)));
	json_object_set_new(ent, "body_length", json_integer(
	    (json_int_t)rm->body_len));
	json_array_append_new(x->files, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s, s:s, s:I, s:I, s:I}", "file", name, "type",
	    agreement_msg_type_name(rm->type), "message_id", rm->message_id,
	    "direction", rec->kind == JOURNAL_MESSAGE_RECEIVED ||
	    rec->kind == JOURNAL_RECEIPT_GOT ? "in" : "out", "sha256",
	    rm->sha256, "signer_cert", signer, "ca", ca, "time", tb, "seq",
	    (json_int_t)rec->seq, "body_offset", (json_int_t)(rm->body -
	    (const unsigned char *)rec->payload), "body_length",
	    (json_int_t)rm->body_len));
}

/* A case's message record; a sealed one opened first. */
static void
audit_export_message(struct audit_export *x, const struct journal_rec *rec,
    const struct record_message *rm, json_t *ent)
{
	struct record_message open;
	char *plain;

	if (rm->sealed) {
		/* encryption at rest: the record's payload is sealed; the
		 * message goes out in clear only to a holder of its key */
		json_object_set_new(ent, "sealed", json_true());
		if (audit_unseal(rec, &open, &plain) != 1) {
			audit_warning(x->pass.rep, rec, "%s %s is sealed and "
			    "no key given opens it (%s): exported by its "
			    "record only", agreement_msg_type_name(rm->type),
			    rm->message_id, audit_keys_have() ? "its case "
			    "key is erased" : "give --master-key or "
			    "--case-key");
			return;
		}
		audit_export_bytes(x, rec, &open, ent, 1);
		free(plain);
		return;
	}
	audit_export_bytes(x, rec, rm, ent, 0);
}

/* Pass 2: one record of the segment.  Its header always; its payload
 * only if it is the case's own or the closing checkpoint; a format-1
 * record of someone else's by header and stated hash (its hash covers
 * its payload: the link cannot be recomputed without it). */
static int
audit_export_write(void *arg, const struct journal_rec *rec)
{
	struct audit_export *x = arg;
	struct record_message rm;
	struct journal_checkpoint jc;
	char hex[65], tb[32], base[64], name[96];
	json_t *ent;
	int is_msg, match, full;

	if (rec->seq < x->first || (x->cp != 0 && rec->seq > x->cp) ||
	    (x->cp == 0 && rec->seq > x->last))
		return 0;
	match = audit_export_match(x, rec, &rm, &is_msg);
	full = match || rec->seq == x->cp;
	snprintf(base, sizeof(base), "records/%012" PRIu64, rec->seq);
	snprintf(name, sizeof(name), "%s.hdr", base);
	if (audit_write_file(x->o->out_dir, name, rec->header,
	    rec->hdr_len) == -1)
		x->failed = 1;
	if (full) {
		snprintf(name, sizeof(name), "%s.payload", base);
		if (audit_write_file(x->o->out_dir, name, rec->payload,
		    rec->len) == -1)
			x->failed = 1;
	} else if (rec->version == JOURNAL_VERSION_1) {
		snprintf(name, sizeof(name), "%s.hash", base);
		if (audit_write_file(x->o->out_dir, name, rec->hash,
		    JOURNAL_HASH_LEN) == -1)
			x->failed = 1;
		x->unproven++;
	}
	clock_format_utc(rec->time, tb, sizeof(tb));
	ent = json_pack("{s:I, s:s, s:i, s:s, s:s, s:I, s:s, s:b, s:b}",
	    "seq", (json_int_t)rec->seq, "kind", journal_kind_name(rec->kind),
	    "version", (int)rec->version, "time", tb, "file", rec->file,
	    "file_offset", (json_int_t)rec->offset, "header", base, "of_case",
	    match, "payload", full);
	json_object_set_new(ent, "prev", json_string(journal_hex(rec->prev,
	    hex)));
	json_object_set_new(ent, "hash", json_string(journal_hex(rec->hash,
	    hex)));
	if (rec->version != JOURNAL_VERSION_1)
		json_object_set_new(ent, "payload_sha256", json_string(
		    journal_hex(rec->stored, hex)));
	if (match && is_msg)
		audit_export_message(x, rec, &rm, ent);
	if (rec->seq == x->cp && journal_decode_checkpoint(rec, &jc) == 0) {
		json_object_set_new(ent, "checkpoint", json_pack("{s:I, s:s}",
		    "covers", (json_int_t)jc.seq, "chain",
		    journal_hex(jc.chain, hex)));
		json_object_set_new(json_object_get(ent, "checkpoint"),
		    "key_id", json_string(journal_hex(jc.key_id, hex)));
	}
	json_array_append_new(x->index, ent);
	x->nrec++;
	return 0;
}

/* The output directory and its subdirectories, 0700: what is in them is
 * a person's file.  @return 0, or -1 (logged). */
static int
audit_export_dirs(const char *out_dir)
{
	static const char *const sub[] = { "", "certs", "ca", "messages",
	    "records" };
	char *path;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < sizeof(sub) / sizeof(sub[0]); i++) {
		path = sub[i][0] != '\0' ? conf_path(out_dir, sub[i]) :
		    xstrdup(out_dir);
		if ((mkdir(path, 0700) == -1 && errno != EEXIST) ||
		    chmod(path, 0700) == -1) {
			log_err(ATAG, "%s", path);
			rc = -1;
		}
		free(path);
	}
	return rc;
}

/* Pass 2: the segment into records/, its index into chain.json, the
 * case's messages and certificates.  @return 0, or -1. */
static int
audit_export_chain(struct audit_export *x)
{
	const struct audit_opts *o = x->o;
	struct audit_report *rep = x->pass.rep;
	char *s;

	memset(&x->pass, 0, sizeof(x->pass));
	x->pass.rep = rep;
	audit_set_clear(&x->msgs);
	if (audit_read(o->files, o->nfiles, &x->pass, audit_export_write,
	    x) == -1 || x->failed)
		return -1;
	s = json_dumps(x->index, JSON_INDENT(1));
	if (s == NULL || audit_write_file(o->out_dir, "chain.json", s,
	    strlen(s)) == -1) {
		free(s);
		return -1;
	}
	free(s);
	return 0;
}

/* The case's timeline, replayed, as a page (case.html, and --html).
 * @return 0, or -1 (out of memory). */
static int
audit_export_page(struct audit_export *x)
{
	const struct audit_opts *o = x->o;
	struct audit_report sub;
	struct audit_opts ro;
	json_t *cases;
	char *path;

	ro = *o;
	ro.store_path = NULL;
	ro.html_out = NULL;
	if (audit_report_init(&sub, "replay") == -1)
		return -1;
	if (audit_replay(&ro, &sub) == 0) {
		cases = json_object_get(sub.root, "cases");
		json_object_set(x->pass.rep->root, "cases", cases);
		path = conf_path(o->out_dir, "case.html");
		audit_html(path, o->case_id, &sub, cases);
		free(path);
		if (o->html_out != NULL)
			audit_html(o->html_out, o->case_id, &sub, cases);
	}
	audit_report_free(&sub);
	return 0;
}

int
audit_export(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_export x;
	struct audit_bundle b;
	json_t *sum;
	X509 *pinned = NULL;
	mode_t um;
	int rc = -1;

	/* everything written is for the auditor alone, case.html too */
	um = umask(077);
	memset(&x, 0, sizeof(x));
	x.o = o;
	x.pass.rep = rep;
	x.index = json_array();
	x.files = json_array();
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (o->case_id == NULL || o->out_dir == NULL) {
		log_errx(ATAG, "export needs a case and --out DIR");
		goto done;
	}
	if (audit_export_dirs(o->out_dir) == -1)
		goto done;
	if (o->cert_file != NULL &&
	    (pinned = audit_cert_read(o->cert_file)) == NULL)
		goto done;
	/* the issuers to look for: --trust's and the journalled CAs */
	x.cas = o->trust_dir != NULL ? audit_trust_load(o->trust_dir) :
	    X509_STORE_new();
	if (x.cas == NULL)
		goto done;
	if (audit_read(o->files, o->nfiles, &x.pass, audit_export_scan, &x) ==
	    -1)
		goto done;
	if (x.first == 0) {
		audit_finding(rep, NULL, "no case %s in the journal",
		    o->case_id);
		rc = 0;
		goto done;
	}
	if (x.cp == 0)
		audit_warning(rep, NULL, "no signed checkpoint after the case's "
		    "last record %" PRIu64 ": the segment is not yet signed",
		    x.last);
	if (audit_export_chain(&x) == -1)
		goto done;
	if (pinned != NULL || x.own != NULL) {
		if (audit_write_pem(o->out_dir, "gateway-cert.pem",
		    pinned != NULL ? pinned : x.own, 0) == -1 ||
		    audit_write_pem(o->out_dir, "gateway-pubkey.pem",
		    pinned != NULL ? pinned : x.own, 1) == -1)
			goto done;
	} else
		audit_warning(rep, NULL, "the gateway's certificate is unknown: "
		    "give it with --cert");
	if (x.unproven > 0)
		audit_warning(rep, NULL, "%" PRIu64 " records of other cases "
		    "in journal format 1 are exported by header and hash only: "
		    "their hashes cover their payloads, so the chain through "
		    "them is as the journal states it", x.unproven);
	memset(&b, 0, sizeof(b));
	b.case_id = o->case_id;
	b.dir = o->out_dir;
	b.index = x.index;
	b.files = x.files;
	b.checkpoint = x.cp;
	b.gateway_cert = pinned != NULL || x.own != NULL;
	b.unproven = x.unproven;
	if (audit_bundle_texts(&b) == -1 || audit_export_page(&x) == -1)
		goto done;

	json_object_set_new(sum, "case", json_string(o->case_id));
	json_object_set_new(sum, "directory", json_string(o->out_dir));
	json_object_set_new(sum, "messages_exported", json_integer(x.nmsg));
	json_object_set_new(sum, "first_record", json_integer(
	    (json_int_t)x.first));
	json_object_set_new(sum, "last_record", json_integer(
	    (json_int_t)x.last));
	json_object_set_new(sum, "checkpoint_record", json_integer(
	    (json_int_t)x.cp));
	json_object_set_new(sum, "segment_records", json_integer(
	    (json_int_t)x.nrec));
	json_object_set(rep->root, "exported", x.files);
	rc = 0;
done:
	umask(um);
	audit_set_clear(&x.msgs);
	X509_STORE_free(x.cas);
	json_decref(x.index);
	json_decref(x.files);
	json_decref(x.conf.partners);
	X509_free(x.own);
	X509_free(pinned);
	return rc;
}
