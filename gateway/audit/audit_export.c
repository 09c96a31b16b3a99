/*
 * audit_export.c -- export: one case's messages as they were signed, the
 * segment of the journal from its first record to the checkpoint that
 * signs it, and a README that checks them without Accord (see audit.h).
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
	/* pass 2 */
	FILE			*seg;
	uint64_t		 segoff;
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

static int
audit_export_scan(void *arg, const struct journal_rec *rec)
{
	struct audit_export *x = arg;
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct record_message rm;
	struct envelope_error err;
	xmlDocPtr doc;
	int is_msg, n, i;

	if (rec->kind == JOURNAL_CONFIG_LOAD)
		audit_conf_take(&x->conf, rec);
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

static int
audit_write_file(const char *dir, const char *name, const void *p,
    size_t len)
{
	char *path = conf_path(dir, name);
	FILE *fp;
	int rc = -1;

	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		goto done;
	}
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

	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
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

/* The exact bytes of rec from its file. */
static unsigned char *
audit_raw(const struct journal_rec *rec, size_t *len)
{
	unsigned char *buf;
	ssize_t got;
	int fd;

	*len = JOURNAL_HEADER_LEN + rec->len + JOURNAL_HASH_LEN;
	buf = xmalloc(*len);
	if ((fd = open(rec->file, O_RDONLY | O_CLOEXEC)) == -1) {
		log_err(ATAG, "%s", rec->file);
		free(buf);
		return NULL;
	}
	got = pread(fd, buf, *len, (off_t)rec->offset);
	close(fd);
	if (got < 0 || (size_t)got != *len) {
		log_errx(ATAG, "%s: short read at %" PRIu64, rec->file,
		    rec->offset);
		free(buf);
		return NULL;
	}
	return buf;
}

static void
audit_export_message(struct audit_export *x, const struct journal_rec *rec,
    const struct record_message *rm, json_t *ent)
{
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct envelope_error err;
	xmlDocPtr doc;
	char name[256], cname[128], signer[128];
	int n, i;

	signer[0] = '\0';
	snprintf(name, sizeof(name), "%03d-%s-%s.xml", ++x->nmsg,
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
			if (i == 0)
				snprintf(signer, sizeof(signer), "%s", cname);
			if (audit_write_pem(x->o->out_dir, cname, certs[i].x,
			    0) == -1)
				x->failed = 1;
		}
		json_object_set_new(ent, "signer_cert", json_string(signer));
		audit_certs_free(certs, n);
		xmlFreeDoc(doc);
	}
	json_object_set_new(ent, "exported", json_string(name));
	json_object_set_new(ent, "sha256", json_string(rm->sha256));
	json_object_set_new(ent, "body_offset", json_integer((json_int_t)(
	    x->segoff + JOURNAL_HEADER_LEN +
	    (uint64_t)(rm->body - (const unsigned char *)rec->payload))));
	json_object_set_new(ent, "body_length", json_integer(
	    (json_int_t)rm->body_len));
	json_array_append_new(x->files, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:I}", "file", name, "type",
	    agreement_msg_type_name(rm->type), "message_id", rm->message_id,
	    "direction", rec->kind == JOURNAL_MESSAGE_RECEIVED ||
	    rec->kind == JOURNAL_RECEIPT_GOT ? "in" : "out", "sha256",
	    rm->sha256, "signer_cert", json_string_value(json_object_get(ent,
	    "signer_cert")) ? json_string_value(json_object_get(ent,
	    "signer_cert")) : "", "seq", (json_int_t)rec->seq));
}

static int
audit_export_write(void *arg, const struct journal_rec *rec)
{
	struct audit_export *x = arg;
	struct record_message rm;
	struct journal_checkpoint jc;
	unsigned char *raw, signed_buf[128];
	char hex[65], tb[32];
	size_t len, n;
	json_t *ent;
	int is_msg, match;

	if (rec->seq < x->first || (x->cp != 0 && rec->seq > x->cp) ||
	    (x->cp == 0 && rec->seq > x->last))
		return 0;
	if ((raw = audit_raw(rec, &len)) == NULL ||
	    fwrite(raw, 1, len, x->seg) != len) {
		free(raw);
		x->failed = 1;
		return 1;
	}
	free(raw);
	match = audit_export_match(x, rec, &rm, &is_msg);
	clock_format_utc(rec->time, tb, sizeof(tb));
	ent = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, "
	    "s:b}", "seq", (json_int_t)rec->seq, "kind",
	    journal_kind_name(rec->kind), "time", tb, "file", rec->file,
	    "file_offset", (json_int_t)rec->offset, "offset",
	    (json_int_t)x->segoff, "length", (json_int_t)len, "prev",
	    journal_hex(rec->prev, hex), "hash", "", "of_case", match);
	json_object_set_new(ent, "hash", json_string(journal_hex(rec->hash,
	    hex)));
	if (match && is_msg)
		audit_export_message(x, rec, &rm, ent);
	if (rec->seq == x->cp && journal_decode_checkpoint(rec, &jc) == 0) {
		n = strlen("accord-journal-checkpoint-1") + 1;
		memcpy(signed_buf, "accord-journal-checkpoint-1", n);
		memcpy(signed_buf + n, rec->payload, 8 + JOURNAL_HASH_LEN);
		if (audit_write_file(x->o->out_dir, "checkpoint-signed.bin",
		    signed_buf, n + 8 + JOURNAL_HASH_LEN) == -1 ||
		    audit_write_file(x->o->out_dir, "checkpoint.sig", jc.sig,
		    jc.siglen) == -1)
			x->failed = 1;
		json_object_set_new(ent, "checkpoint", json_pack("{s:I, s:s, "
		    "s:s, s:I}", "covers", (json_int_t)jc.seq, "chain",
		    journal_hex(jc.chain, hex), "key_id", "",
		    "signature_offset", (json_int_t)(x->segoff +
		    JOURNAL_HEADER_LEN + 8 + 2 * JOURNAL_HASH_LEN + 2)));
		json_object_set_new(json_object_get(ent, "checkpoint"),
		    "key_id", json_string(journal_hex(jc.key_id, hex)));
	}
	json_array_append_new(x->index, ent);
	x->segoff += len;
	return 0;
}

static void
audit_export_readme(struct audit_export *x, FILE *fp)
{
	json_t *f, *e, *first = json_array_get(x->index, 0);
	size_t i;

	fprintf(fp, "Accord audit export: case %s\n\n", x->o->case_id);
	fprintf(fp,
"Every command below runs without Accord (xmlsec1, openssl, coreutils).\n"
"Run them in this directory.\n\n"
"1. The signed messages and receipts, each exactly as it was received or\n"
"   sent.  Each signature verifies with the signer's certificate, which\n"
"   the message itself carries in ds:KeyInfo (saved under certs/, named by\n"
"   its SHA-256; compare that fingerprint with the agreement's pinned one):\n\n");
	json_array_foreach(x->files, i, f)
		fprintf(fp, "   xmlsec1 --verify --pubkey-cert-pem %s %s\n",
		    json_string_value(json_object_get(f, "signer_cert")),
		    json_string_value(json_object_get(f, "file")));
	fprintf(fp, "\n   With the partner's CA instead of the pinned "
	    "certificate:\n   xmlsec1 --verify --trusted-pem CA.pem "
	    "--enabled-key-data x509 FILE\n\n");
	fprintf(fp,
"2. Digests.  Each Receipt's <Sha256> is the SHA-256 of the exact bytes of\n"
"   the message it acknowledges (<ReceivedMessageId>):\n\n");
	json_array_foreach(x->files, i, f)
		fprintf(fp, "   openssl dgst -sha256 %s    # expect %s\n",
		    json_string_value(json_object_get(f, "file")),
		    json_string_value(json_object_get(f, "sha256")));
	fprintf(fp, "   grep -o '<Sha256>[0-9a-f]*</Sha256>' *-Receipt-*.xml\n\n");
	fprintf(fp,
"3. The chain.  chain.bin holds the journal records from the case's first\n"
"   record to the first signed checkpoint after its last one, byte for\n"
"   byte; chain.json lists each record's offset and length in chain.bin.\n"
"   A record is a 64-byte header, the payload, then the SHA-256 of header\n"
"   and payload; bytes 32-63 of each header are the previous record's hash.\n"
"   Each record's hash:\n\n"
"   dd if=chain.bin bs=1 skip=OFFSET count=$((LENGTH - 32)) 2>/dev/null |\n"
"       openssl dgst -sha256\n\n"
"   must equal its last 32 bytes and the next record's bytes 32-63:\n\n");
	json_array_foreach(x->index, i, e)
		fprintf(fp, "   record %lld (%s): offset %lld length %lld hash "
		    "%s\n", (long long)json_integer_value(json_object_get(e,
		    "seq")), json_string_value(json_object_get(e, "kind")),
		    (long long)json_integer_value(json_object_get(e,
		    "offset")),
		    (long long)json_integer_value(json_object_get(e,
		    "length")),
		    json_string_value(json_object_get(e, "hash")));
	fprintf(fp, "\n   The first record's previous hash is %s.\n",
	    first != NULL ? json_string_value(json_object_get(first, "prev")) :
	    "-");
	fprintf(fp,
"   Each exported message appears verbatim inside chain.bin at its record's\n"
"   body_offset (chain.json), e.g.:\n\n");
	json_array_foreach(x->index, i, e)
		if (json_object_get(e, "exported") != NULL)
			fprintf(fp, "   dd if=chain.bin bs=1 skip=%lld count=%lld "
			    "2>/dev/null | cmp - %s\n",
			    (long long)json_integer_value(json_object_get(e,
			    "body_offset")),
			    (long long)json_integer_value(json_object_get(e,
			    "body_length")),
			    json_string_value(json_object_get(e,
			    "exported")));
	if (x->cp == 0) {
		fprintf(fp, "\n4. No signed checkpoint follows the case's last "
		    "record yet: the segment is chained\n   but not signed.\n");
		return;
	}
	e = json_array_get(x->index, json_array_size(x->index) - 1);
	fprintf(fp,
"\n4. The checkpoint (the last record of chain.bin) signs the hash of the\n"
"   record before it with the gateway's key.  The signed bytes are the\n"
"   string \"accord-journal-checkpoint-1\", a NUL, then the first 40 bytes\n"
"   of the checkpoint's payload (covered sequence number, chain hash):\n\n"
"   { printf 'accord-journal-checkpoint-1\\000'; dd if=chain.bin bs=1 \\\n"
"       skip=%lld count=40 2>/dev/null; } | cmp - checkpoint-signed.bin\n"
"   openssl dgst -sha256 -verify gateway-pubkey.pem \\\n"
"       -signature checkpoint.sig checkpoint-signed.bin\n\n"
"   gateway-cert.pem is the gateway's signing certificate; its public key\n"
"   is gateway-pubkey.pem (openssl x509 -in gateway-cert.pem -pubkey\n"
"   -noout).  Its SHA-256 must be the one the partner pinned for it.\n",
	    (long long)(json_integer_value(json_object_get(e, "offset")) +
	    JOURNAL_HEADER_LEN));
}

/* The output directory and its certs/.  @return 0, or -1 (logged). */
static int
audit_export_dirs(const char *out_dir)
{
	char *path;

	if (mkdir(out_dir, 0755) == -1 && errno != EEXIST) {
		log_err(ATAG, "%s", out_dir);
		return -1;
	}
	path = conf_path(out_dir, "certs");
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		log_err(ATAG, "%s", path);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/* Pass 2: the segment into chain.bin, its index into chain.json, the
 * case's messages and certificates.  @return 0, or -1. */
static int
audit_export_chain(struct audit_export *x)
{
	const struct audit_opts *o = x->o;
	struct audit_report *rep = x->pass.rep;
	char *path, *s;
	int rc = -1;

	path = conf_path(o->out_dir, "chain.bin");
	if ((x->seg = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		goto done;
	}
	memset(&x->pass, 0, sizeof(x->pass));
	x->pass.rep = rep;
	audit_set_clear(&x->msgs);
	if (audit_read(o->files, o->nfiles, &x->pass, audit_export_write,
	    x) == -1 || fclose(x->seg) != 0) {
		x->seg = NULL;
		goto done;
	}
	x->seg = NULL;
	if (x->failed)
		goto done;
	s = json_dumps(x->index, JSON_INDENT(1));
	if (s == NULL || audit_write_file(o->out_dir, "chain.json", s,
	    strlen(s)) == -1) {
		free(s);
		goto done;
	}
	free(s);
	rc = 0;
done:
	free(path);
	return rc;
}

/* README.txt: how to check the export without Accord.  @return 0 or -1. */
static int
audit_export_readme_file(struct audit_export *x)
{
	char *path;
	FILE *fp;

	path = conf_path(x->o->out_dir, "README.txt");
	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		free(path);
		return -1;
	}
	free(path);
	audit_export_readme(x, fp);
	return fclose(fp) != 0 ? -1 : 0;
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
	json_t *sum;
	X509 *pinned = NULL;
	int rc = -1;

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
	if (audit_export_readme_file(&x) == -1 || audit_export_page(&x) == -1)
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
	json_object_set_new(sum, "segment_bytes", json_integer(
	    (json_int_t)x.segoff));
	json_object_set(rep->root, "exported", x.files);
	rc = 0;
done:
	if (x.seg != NULL)
		fclose(x.seg);
	audit_set_clear(&x.msgs);
	json_decref(x.index);
	json_decref(x.files);
	json_decref(x.conf.partners);
	X509_free(x.own);
	X509_free(pinned);
	return rc;
}
