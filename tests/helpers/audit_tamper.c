/*
 * audit_tamper.c -- forge journals for the audit tests: rewrite a journal
 * directory into another with a recomputed hash chain, as an attacker
 * would who can write the files.
 *
 * usage: audit_tamper IN_DIR OUT_DIR [--key KEY.pem] [edits...]
 *	--key KEY	re-sign every checkpoint with KEY (an attacker holding
 *			the gateway's own key); without it, checkpoints get
 *			the new sequence number and chain hash but keep their
 *			old signature
 *	--replace SEQ OLD NEW	replace OLD by NEW in record SEQ's payload
 *			(a message record's header digest follows its body);
 *			several for one record apply one after the other
 *	--resign SEQ KEY CERT	re-sign message record SEQ with KEY/CERT
 *	--drop SEQ	leave record SEQ out
 *	--insert SEQ	repeat record SEQ right after it
 *	--swap SEQ	swap records SEQ and SEQ+1 (each keeps its time; the
 *			pair is written to the file that held SEQ+1)
 * Sequence numbers are the input's.
 *
 * usage: audit_tamper --store STORE.db CASE
 *	turn the case's state in a gateway's SQLite store into ACCEPTED
 *	behind the journal's back (the sqlite3 CLI may not be installed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "conf/conffile.h"
#include "msg/envelope.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "msg/xmlsig.h"

#define MAX_EDITS	16

struct edit {
	char		 what;		/* r(eplace), s(ign), d(rop), i(nsert),
					   w (swap) */
	uint64_t	 seq;
	const char	*a, *b, *c;
};

static struct edit edits[MAX_EDITS];
static int nedits;
static EVP_PKEY *key;
static uint64_t seq;
static uint8_t prev[JOURNAL_HASH_LEN];
static FILE *out;
static char outfile[1024];

static void
die(const char *what)
{
	fprintf(stderr, "audit_tamper: %s\n", what);
	exit(1);
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* A message record with body instead of its own. */
static unsigned char *
message_with_body(const unsigned char *p, size_t len, const char *body,
    size_t blen, size_t *outlen)
{
	const unsigned char *nl = memchr(p, '\n', len);
	char sha[RECORD_SHA256_HEX], *hdr;
	unsigned char *buf;
	json_t *j;
	size_t hlen;

	if (nl == NULL || (j = json_loadb((const char *)p, (size_t)(nl - p),
	    0, NULL)) == NULL)
		die("not a message record");
	record_sha256_hex(body, blen, sha);
	json_object_set_new(j, "sha256", json_string(sha));
	hdr = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	hlen = strlen(hdr);
	if ((buf = malloc(hlen + 1 + blen)) == NULL)
		die("malloc");
	memcpy(buf, hdr, hlen);
	buf[hlen] = '\n';
	memcpy(buf + hlen + 1, body, blen);
	free(hdr);
	*outlen = hlen + 1 + blen;
	return buf;
}

static int
is_message(unsigned kind)
{
	return kind == JOURNAL_MESSAGE_RECEIVED ||
	    kind == JOURNAL_MESSAGE_SENT || kind == JOURNAL_RECEIPT_GIVEN ||
	    kind == JOURNAL_RECEIPT_GOT;
}

static unsigned char *
do_replace(const struct journal_rec *rec, const struct edit *e, size_t *len)
{
	const unsigned char *p = rec->payload, *nl;
	unsigned char *buf, *r;
	size_t i, ol = strlen(e->a), nw = strlen(e->b), n = rec->len;

	for (i = 0; i + ol <= n; i++)
		if (memcmp(p + i, e->a, ol) == 0)
			break;
	if (i + ol > n)
		die("--replace: text not found");
	if ((buf = malloc(n - ol + nw)) == NULL)
		die("malloc");
	memcpy(buf, p, i);
	memcpy(buf + i, e->b, nw);
	memcpy(buf + i + nw, p + i + ol, n - i - ol);
	*len = n - ol + nw;
	if (!is_message(rec->kind))
		return buf;
	nl = memchr(buf, '\n', *len);
	r = message_with_body(buf, *len, (const char *)nl + 1,
	    *len - (size_t)(nl + 1 - buf), len);
	free(buf);
	return r;
}

static unsigned char *
do_resign(const struct journal_rec *rec, const struct edit *e, size_t *len)
{
	struct record_message rm;
	struct xmlsig_signer *s;
	xmlDocPtr doc;
	xmlNodePtr root, n, last = NULL;
	unsigned char *buf;
	char *bytes;
	size_t blen;

	if (record_message_decode(rec->payload, rec->len, &rm) == -1)
		die("--resign: not a message");
	doc = xmlReadMemory((const char *)rm.body, (int)rm.body_len, "m.xml",
	    NULL, XML_PARSE_NONET);
	if (doc == NULL)
		die("--resign: unparsable");
	root = xmlDocGetRootElement(doc);
	for (n = root->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			last = n;
	if (last == NULL || xmlStrcmp(last->name, BAD_CAST "Signature") != 0)
		die("--resign: no signature");
	xmlUnlinkNode(last);
	xmlFreeNode(last);
	if ((s = xmlsig_signer_load(e->a, e->b)) == NULL ||
	    xmlsig_sign(s, doc) == -1 ||
	    envelope_serialize(doc, &bytes, &blen) == -1)
		die("--resign: signing");
	buf = message_with_body(rec->payload, rec->len, bytes, blen, len);
	free(bytes);
	xmlsig_signer_free(s);
	xmlFreeDoc(doc);
	return buf;
}

static unsigned char *
checkpoint(const struct journal_rec *rec, size_t *len)
{
	static const char ctx[] = "accord-journal-checkpoint-1";
	unsigned char *buf, msg[sizeof(ctx) + 8 + JOURNAL_HASH_LEN];
	unsigned char *der = NULL, sig[1024];
	unsigned int mdlen;
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md;
	int dlen;

	if ((buf = malloc(rec->len + sizeof(sig))) == NULL)
		die("malloc");
	memcpy(buf, rec->payload, rec->len);
	*len = rec->len;
	put64(buf, seq - 1);
	memcpy(buf + 8, prev, JOURNAL_HASH_LEN);
	if (key == NULL)
		return buf;	/* the old signature stays */
	memcpy(msg, ctx, sizeof(ctx));
	memcpy(msg + sizeof(ctx), buf, 8 + JOURNAL_HASH_LEN);
	if ((dlen = i2d_PUBKEY(key, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)dlen, buf + 40, &mdlen, EVP_sha256(),
	    NULL) != 1)
		die("key id");
	OPENSSL_free(der);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1)
		die("signing the checkpoint");
	EVP_MD_CTX_free(md);
	put16(buf + 72, (unsigned)siglen);
	memcpy(buf + 74, sig, siglen);
	*len = 74 + siglen;
	return buf;
}

/* Write rec with payload in its own format (journal.h), chained. */
static void
emit(const struct journal_rec *rec, const unsigned char *payload,
    size_t len)
{
	uint8_t hdr[JOURNAL_HEADER2_LEN], hash[JOURNAL_HASH_LEN];
	size_t hl = journal_header_len(rec->version);
	EVP_MD_CTX *md;
	unsigned int dl;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "AJRN", 4);
	put16(hdr + 4, rec->version);
	put16(hdr + 6, rec->kind);
	put64(hdr + 8, seq);
	put64(hdr + 16, (uint64_t)rec->time);
	put32(hdr + 24, (uint32_t)len);
	memcpy(hdr + 32, prev, JOURNAL_HASH_LEN);
	if (hl == JOURNAL_HEADER2_LEN) {
		/* the payload's digest in the header, in clear */
		if (EVP_Digest(payload, len, hdr + 64, &dl, EVP_sha256(),
		    NULL) != 1)
			die("sha256");
		memcpy(hdr + 96, hdr + 64, JOURNAL_HASH_LEN);
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, hdr, hl) != 1 ||
	    (hl == JOURNAL_HEADER_LEN &&
	    EVP_DigestUpdate(md, payload, len) != 1) ||
	    EVP_DigestFinal_ex(md, hash, &dl) != 1)
		die("sha256");
	EVP_MD_CTX_free(md);
	if (fwrite(hdr, 1, hl, out) != hl ||
	    fwrite(payload, 1, len, out) != len ||
	    fwrite(hash, 1, sizeof(hash), out) != sizeof(hash))
		die("write");
	memcpy(prev, hash, JOURNAL_HASH_LEN);
	seq++;
}

/* A record held back by --swap, to be written after the next one. */
static struct journal_rec held;
static unsigned char *held_payload;
static size_t held_len;

static void
hold(const struct journal_rec *rec, const unsigned char *payload, size_t len)
{
	held = *rec;
	if ((held_payload = malloc(len + 1)) == NULL)
		die("malloc");
	memcpy(held_payload, payload, len);
	held_len = len;
	held.payload = held_payload;
	held.len = len;
}

/* Write the record held back, if any, after the one just written. */
static void
release(void)
{
	unsigned char *p = NULL;
	size_t len = held_len;

	if (held_payload == NULL)
		return;
	if (held.kind == JOURNAL_CHECKPOINT)
		p = checkpoint(&held, &len);
	emit(&held, p != NULL ? p : held_payload, len);
	free(p);
	free(held_payload);
	held_payload = NULL;
}

static int
tamper_store(const char *db, const char *case_id)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_open(db, &h) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "UPDATE cases SET state = 'ACCEPTED', "
	    "fsm = replace(replace(fsm, '\"REFUSED\"', '\"ACCEPTED\"'), "
	    "'\"PENDING_REPLY\"', '\"ACCEPTED\"') WHERE case_id = ?", -1,
	    &st, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(h));
	sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || sqlite3_changes(h) != 1)
		die("no such case in the store");
	sqlite3_close(h);
	return 0;
}

int
main(int argc, char **argv)
{
	struct journal_reader *r;
	struct journal_rec rec;
	struct conf_diag d = { 0 };
	const char *base, *outdir;
	unsigned char *p;
	size_t len;
	char proto[1024];
	int i, got, copies, k, swap;

	if (argc == 4 && strcmp(argv[1], "--store") == 0)
		return tamper_store(argv[2], argv[3]);
	if (argc < 3)
		die("usage: audit_tamper IN_DIR OUT_DIR [--key KEY] [edits]");
	outdir = argv[2];
	for (i = 3; i < argc; i++) {
		if (nedits == MAX_EDITS)
			die("too many edits");
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
			if ((key = conf_load_key(argv[++i], "tamper", 0,
			    &d)) == NULL)
				die("--key");
		} else if (strcmp(argv[i], "--replace") == 0 && i + 3 < argc) {
			edits[nedits].what = 'r';
			edits[nedits].seq = strtoull(argv[++i], NULL, 10);
			edits[nedits].a = argv[++i];
			edits[nedits++].b = argv[++i];
		} else if (strcmp(argv[i], "--resign") == 0 && i + 3 < argc) {
			edits[nedits].what = 's';
			edits[nedits].seq = strtoull(argv[++i], NULL, 10);
			edits[nedits].a = argv[++i];
			edits[nedits++].b = argv[++i];
		} else if (strcmp(argv[i], "--swap") == 0 && i + 1 < argc) {
			edits[nedits].what = 'w';
			edits[nedits++].seq = strtoull(argv[++i], NULL, 10);
		} else if ((strcmp(argv[i], "--drop") == 0 ||
		    strcmp(argv[i], "--insert") == 0) && i + 1 < argc) {
			edits[nedits].what = argv[i][2];
			edits[nedits++].seq = strtoull(argv[++i], NULL, 10);
		} else
			die("bad arguments");
	}
	log_init("audit_tamper", 1, LOG_LVL_WARN);
	snprintf(proto, sizeof(proto), "%s/protocols",
	    getenv("ACCORD_SRCDIR") ? getenv("ACCORD_SRCDIR") : ".");
	if (envelope_init(proto) == -1 || xmlsig_init() == -1)
		die("init");
	if ((r = journal_reader_open(argv[1])) == NULL)
		die("cannot read the journal");
	seq = 1;
	while ((got = journal_reader_next(r, &rec)) == 1) {
		base = strrchr(rec.file, '/');
		base = base != NULL ? base + 1 : rec.file;
		if (out == NULL || strcmp(outfile + strlen(outfile) -
		    strlen(base), base) != 0) {
			if (out != NULL && fclose(out) != 0)
				die("close");
			snprintf(outfile, sizeof(outfile), "%s/%s", outdir,
			    base);
			if ((out = fopen(outfile, "w")) == NULL)
				die(outfile);
		}
		copies = 1;
		swap = 0;
		p = NULL;
		len = rec.len;
		for (k = 0; k < nedits; k++) {
			if (edits[k].seq != rec.seq)
				continue;
			if (edits[k].what == 'd')
				copies = 0;
			else if (edits[k].what == 'i')
				copies = 2;
			else if (edits[k].what == 'w')
				swap = 1;
			else if (edits[k].what == 'r') {
				/* several edits of one record: each works
				 * on what the one before left */
				struct journal_rec cur = rec;
				unsigned char *q;

				if (p != NULL) {
					cur.payload = p;
					cur.len = len;
				}
				q = do_replace(&cur, &edits[k], &len);
				free(p);
				p = q;
			}
			else if (edits[k].what == 's')
				p = do_resign(&rec, &edits[k], &len);
		}
		if (swap && held_payload == NULL) {
			/* its checkpoint, if it is one, is made on release */
			hold(&rec, p != NULL ? p : rec.payload, len);
			copies = 0;
		}
		for (; copies > 0; copies--) {
			if (rec.kind == JOURNAL_CHECKPOINT) {
				free(p);
				p = checkpoint(&rec, &len);
			}
			emit(&rec, p != NULL ? p : rec.payload, len);
			release();
		}
		free(p);
	}
	if (held_payload != NULL)
		die("--swap: no record after it");
	if (got == -1)
		die(journal_reader_break(r)->reason);
	journal_reader_close(r);
	if (out != NULL && fclose(out) != 0)
		die("close");
	EVP_PKEY_free(key);
	conf_diag_free(&d);
	return 0;
}
