/*
 * audit_export_text.c -- the two texts of an export: verify.sh, which
 * checks every record hash, the chain to the signed checkpoint, every
 * message's bytes and signature and every receipt's digest with sh,
 * coreutils, openssl and xmlsec1 alone; and README.txt, which says what
 * each file is and what each step of verify.sh proves, with its commands.
 * Both are made from the export's index (audit_export.c).
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

#include "audit/audit_priv.h"
#include "conf/conffile.h"
#include "persist/journal.h"
#include "util/log.h"

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static long long
jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "2026-11-29T05:03:48Z" as xmlsec1's --verification-time wants it. */
static void
audit_xmlsec_time(const char *iso, char *out, size_t len)
{
	snprintf(out, len, "%.10s %.8s", iso, strlen(iso) >= 19 ? iso + 11 :
	    "00:00:00");
}

/* The checks that are the same for every export. */
static const char audit_script_head[] =
"set -u\n"
"export TZ=UTC LC_ALL=C\n"
"cd \"$(dirname \"$0\")\" || exit 1\n"
"failed=0\n"
"bad() { echo \"FAIL: $*\"; failed=1; }\n"
"# hexof FILE OFFSET COUNT: those bytes of FILE in lower-case hex\n"
"hexof() { od -An -v -tx1 -j \"$2\" -N \"$3\" \"$1\" | tr -d ' \\n'; }\n"
"digest() { sha256sum | cut -c1-64; }\n"
"tmp=$(mktemp -d) || exit 1\n"
"trap 'rm -rf \"$tmp\"' EXIT\n"
"\n"
"echo \"1. every record's hash, and the chain\"\n"
"prev= before= last= n=0\n"
"for h in records/*.hdr; do\n"
"\tr=${h%.hdr}\n"
"\ts=$(expr \"${r#records/}\" + 0)\n"
"\t[ \"$(hexof \"$h\" 0 4)\" = 414a524e ] || bad \"record $s: no record "
    "header\"\n"
"\t[ \"$(hexof \"$h\" 8 8)\" = \"$(printf '%016x' \"$s\")\" ] ||\n"
"\t    bad \"record $s: its header names another sequence number\"\n"
"\tif [ -n \"$prev\" ] && [ \"$(hexof \"$h\" 32 32)\" != \"$prev\" ]; then\n"
"\t\tbad \"record $s: its previous hash is not the hash of the record "
    "before\"\n"
"\tfi\n"
"\tcase $(hexof \"$h\" 4 2) in\n"
"\t0002)\t# format 2: the hash is the header's; the header holds the\n"
"\t\t# payload's SHA-256 at bytes 64-95\n"
"\t\t[ \"$(wc -c <\"$h\")\" -eq 160 ] ||\n"
"\t\t    bad \"record $s: a format-2 header is 160 bytes\"\n"
"\t\tif [ -f \"$r.payload\" ] &&\n"
"\t\t    [ \"$(digest <\"$r.payload\")\" != \"$(hexof \"$h\" 64 32)\" ]; "
    "then\n"
"\t\t\tbad \"record $s: its payload is not the one its header names\"\n"
"\t\tfi\n"
"\t\thash=$(digest <\"$h\") ;;\n"
"\t0001)\t# format 1: the hash covers header and payload\n"
"\t\tif [ -f \"$r.payload\" ]; then\n"
"\t\t\thash=$(cat \"$h\" \"$r.payload\" | digest)\n"
"\t\telse\n"
"\t\t\thash=$(hexof \"$r.hash\" 0 32)\n"
"\t\t\techo \"   record $s: format 1, not the case's: its hash as the "
    "journal states it\"\n"
"\t\tfi ;;\n"
"\t*)\tbad \"record $s: unknown format\"; hash=unknown ;;\n"
"\tesac\n"
"\techo \"   record $s: $hash\"\n"
"\tbefore=$prev prev=$hash last=$r n=$((n + 1))\n"
"done\n";

static const char audit_script_cp[] =
"\n"
"echo \"2. the last record is a checkpoint that signs the chain\"\n"
"p=$last.payload\n"
"s=$(expr \"${last#records/}\" + 0)\n"
"[ \"$(hexof \"$last.hdr\" 6 2)\" = 000b ] || bad \"record $s is not a "
    "checkpoint\"\n"
"[ \"$(hexof \"$p\" 0 8)\" = \"$(printf '%016x' $((s - 1)))\" ] ||\n"
"    bad \"the checkpoint does not cover the record before it\"\n"
"[ \"$(hexof \"$p\" 8 32)\" = \"$before\" ] ||\n"
"    bad \"the checkpoint's chain hash is not the hash of the record before "
    "it\"\n"
"[ \"$(openssl x509 -in gateway-cert.pem -pubkey -noout | digest)\" = \\\n"
"    \"$(digest <gateway-pubkey.pem)\" ] ||\n"
"    bad \"gateway-pubkey.pem is not gateway-cert.pem's key\"\n"
"[ \"$(openssl pkey -pubin -in gateway-pubkey.pem -outform DER | digest)\" "
    "= \\\n"
"    \"$(hexof \"$p\" 40 32)\" ] ||\n"
"    bad \"the checkpoint names another key than gateway-pubkey.pem\"\n"
"{ printf 'accord-journal-checkpoint-1\\000'; head -c 40 \"$p\"; } "
    ">\"$tmp/signed\"\n"
"tail -c +75 \"$p\" >\"$tmp/sig\"\n"
"if openssl dgst -sha256 -verify gateway-pubkey.pem -signature "
    "\"$tmp/sig\" \\\n"
"    \"$tmp/signed\" >/dev/null; then\n"
"\techo \"   checkpoint $s: signature OK, chain $before\"\n"
"else\n"
"\tbad \"the checkpoint's signature does not verify\"\n"
"fi\n";

static const char audit_script_msg[] =
"\n"
"echo \"3. each message: its bytes in its record, its signature\"\n"
"# message SEQ OFFSET FILE CA SIGNER TIME (OFFSET -: a sealed record,\n"
"# whose header names the plaintext's SHA-256 at bytes 96-127)\n"
"message() {\n"
"\tif [ \"$2\" = - ]; then\n"
"\t\tif [ \"$(od -An -tx1 -j96 -N32 \"records/$1.hdr\" | tr -d ' \\n')\" \\\n"
"\t\t    != \"$(digest <\"$3\")\" ]; then\n"
"\t\t\tbad \"$3 is not the plaintext sealed in record $1\"\n"
"\t\tfi\n"
"\telif [ \"$(tail -c +$(($2 + 1)) \"records/$1.payload\" | digest)\" != \\\n"
"\t    \"$(digest <\"$3\")\" ]; then\n"
"\t\tbad \"$3 is not the message of record $1\"\n"
"\tfi\n"
"\tif [ -n \"$4\" ]; then\n"
"\t\tset -- \"$3\" --trusted-pem \"$4\" --verification-time \"$6\"\n"
"\telse\n"
"\t\tset -- \"$3\" --pubkey-cert-pem \"$5\"\n"
"\tfi\n"
"\tf=$1\n"
"\tshift\n"
"\tif xmlsec1 --verify \"$@\" --enabled-key-data x509 \"$f\" "
    ">\"$tmp/x\" 2>&1\n"
"\tthen\n"
"\t\techo \"   $f: signature OK ($*)\"\n"
"\telse\n"
"\t\tcat \"$tmp/x\"\n"
"\t\tbad \"$f: the signature does not verify ($*)\"\n"
"\tfi\n"
"}\n";

static const char audit_script_rcpt[] =
"\n"
"echo \"4. each receipt's digest is the SHA-256 of the message it "
    "acknowledges\"\n"
"receipt() {\n"
"\tx=$(cat \"$1\")\n"
"\tid=${x#*<ReceivedMessageId>}\n"
"\tid=${id%%</ReceivedMessageId>*}\n"
"\td=${x#*<Sha256>}\n"
"\td=${d%%</Sha256>*}\n"
"\tset -- \"$1\" messages/*-\"$id\".xml\n"
"\tif [ ! -f \"$2\" ]; then\n"
"\t\tbad \"$1 acknowledges message $id, which is not in the export\"\n"
"\telif [ \"$(digest <\"$2\")\" != \"$d\" ]; then\n"
"\t\tbad \"$1: $d is not the SHA-256 of $2\"\n"
"\telse\n"
"\t\techo \"   $1: $d is the SHA-256 of $2\"\n"
"\tfi\n"
"}\n";

static int
audit_bundle_script(const struct audit_bundle *b, FILE *fp)
{
	json_t *f;
	size_t i;
	char t[32], off[32];

	fprintf(fp, "#!/bin/sh\n"
	    "# verify.sh -- checks this export of case %s with sh, coreutils,\n"
	    "# openssl and xmlsec1 alone (README.txt says what each step "
	    "proves).\n"
	    "# usage: sh verify.sh; the last line is ALL CHECKS PASSED "
	    "(exit 0)\n# or SOME CHECKS FAILED (exit 1).\n", b->case_id);
	fputs(audit_script_head, fp);
	fprintf(fp, "[ \"$n\" -eq %zu ] || bad \"$n records, expected %zu\"\n",
	    json_array_size(b->index), json_array_size(b->index));
	if (b->checkpoint != 0 && b->gateway_cert)
		fputs(audit_script_cp, fp);
	else
		fprintf(fp, "\necho \"2. %s\"\nbad \"the chain is not signed\"\n",
		    b->checkpoint == 0 ? "no signed checkpoint follows the "
		    "case's last record yet" : "the gateway's certificate is "
		    "not in the export");
	fputs(audit_script_msg, fp);
	json_array_foreach(b->files, i, f) {
		audit_xmlsec_time(jstr(f, "time"), t, sizeof(t));
		if (json_is_true(json_object_get(f, "sealed")))
			snprintf(off, sizeof(off), "-");
		else
			snprintf(off, sizeof(off), "%lld",
			    jint(f, "body_offset"));
		fprintf(fp, "message %012lld %s %s '%s' %s '%s'\n",
		    jint(f, "seq"), off, jstr(f, "file"), jstr(f, "ca"),
		    jstr(f, "signer_cert"), t);
	}
	fputs(audit_script_rcpt, fp);
	json_array_foreach(b->files, i, f)
		if (strcmp(jstr(f, "type"), "Receipt") == 0)
			fprintf(fp, "receipt %s\n", jstr(f, "file"));
	fprintf(fp, "\nif [ $failed -eq 0 ]; then\n\techo \"ALL CHECKS "
	    "PASSED\"\n\texit 0\nfi\necho \"SOME CHECKS FAILED\"\nexit 1\n");
	return ferror(fp) ? -1 : 0;
}

static int
audit_bundle_readme(const struct audit_bundle *b, FILE *fp)
{
	json_t *f, *e, *first = json_array_get(b->index, 0);
	size_t i;
	char t[32];

	fprintf(fp, "Accord audit export: case %s\n\n", b->case_id);
	fprintf(fp,
"Everything here is checked without Accord: sh verify.sh runs every check\n"
"below with sh, coreutils (od, tr, cut, head, tail, wc, expr, sha256sum),\n"
"openssl and xmlsec1, and ends with ALL CHECKS PASSED.  The files:\n\n"
"  records/SEQ.hdr      the header of every journal record from the case's\n"
"                       first record to the signed checkpoint after its\n"
"                       last one (SEQ: its sequence number, 12 digits)\n"
"  records/SEQ.payload  the payload of the case's own records and of that\n"
"                       checkpoint, as stored; no other record's payload\n"
"                       is here: no one else's data\n");
	if (b->unproven > 0)
		fprintf(fp,
"  records/SEQ.hash     a format-1 record of someone else's: its hash as\n"
"                       the journal states it (%" PRIu64 " of them)\n",
		    b->unproven);
	fprintf(fp,
"  messages/            the case's messages and receipts, each exactly as\n"
"                       it was signed, received or sent\n"
"  certs/SHA256.pem     the certificate each message carries (KeyInfo),\n"
"                       named by its SHA-256 fingerprint\n"
"  ca/SHA256.pem        the CA certificate that issued it\n");
	if (b->gateway_cert)
		fprintf(fp,
"  gateway-cert.pem     the gateway's signing certificate, and its key:\n"
"  gateway-pubkey.pem   (openssl x509 -in gateway-cert.pem -pubkey -noout)\n");
	fprintf(fp,
"  chain.json           each record's sequence number, kind, time, file and\n"
"                       offset in the journal, hash, previous hash\n"
"  case.html            the case's timeline, replayed\n"
"  verify.sh            the checks below\n\n");

	fprintf(fp,
"1. Every record's hash, and the chain.  A record of journal format 2 is\n"
"   a 160-byte header, the payload, then the record's hash, which is the\n"
"   SHA-256 of the header alone.  The header holds (big-endian): magic\n"
"   \"AJRN\" (bytes 0-3), format 2 (4-5), kind (6-7), sequence number\n"
"   (8-15), time (16-23), payload length (24-27), cipher (28-29: 0, in\n"
"   clear), the previous record's hash (32-63), the SHA-256 of the\n"
"   payload as stored (64-95), of the plaintext (96-127) and a key id\n"
"   (128-159).  So each header proves its record, and a payload is proven\n"
"   by the digest its header holds:\n\n"
"     sha256sum < records/SEQ.hdr                 # the record's hash\n"
"     od -An -tx1 -j32 -N32 records/SEQ.hdr       # the previous hash\n"
"     od -An -tx1 -j64 -N32 records/SEQ.hdr       # the payload's digest\n"
"     sha256sum < records/SEQ.payload             # must equal it\n\n"
"   verify.sh does so for every record in a loop: each record's previous\n"
"   hash must be the hash of the record before it.  (A record of format\n"
"   1, written before the upgrade, has a 64-byte header and its hash\n"
"   covers header and payload: cat SEQ.hdr SEQ.payload | sha256sum.)\n"
"   The first record's previous hash is %s.\n\n",
	    first != NULL ? jstr(first, "prev") : "-");
	if (b->checkpoint != 0 && b->gateway_cert) {
		e = json_array_get(b->index, json_array_size(b->index) - 1);
		fprintf(fp,
"2. The chain is signed.  The last record, %s, is a checkpoint: its\n"
"   payload holds the sequence number it covers (bytes 0-7), the hash of\n"
"   the record before it (8-39), the SHA-256 of the gateway's public key\n"
"   (40-71, DER), the signature's length (72-73) and the signature (74-).\n"
"   The signature is over \"accord-journal-checkpoint-1\", a NUL and the\n"
"   first 40 bytes of the payload:\n\n"
"     p=records/%012lld.payload\n"
"     { printf 'accord-journal-checkpoint-1\\000'; head -c 40 $p; } >signed\n"
"     tail -c +75 $p >sig\n"
"     openssl dgst -sha256 -verify gateway-pubkey.pem -signature sig signed\n\n"
"   gateway-cert.pem's SHA-256 must be the one the partner pinned for the\n"
"   gateway (openssl x509 -in gateway-cert.pem -outform DER | sha256sum).\n"
"   A signed chain hash proves every record before it: each hash is the\n"
"   SHA-256 of a header that holds the previous hash.\n\n",
		    jstr(e, "header") + strlen("records/"), jint(e, "seq"));
	} else
		fprintf(fp, "2. %s: the segment is chained but not signed.\n\n",
		    b->checkpoint == 0 ? "No signed checkpoint follows the "
		    "case's last record yet" : "The gateway's certificate is "
		    "unknown (export --cert)");
	fprintf(fp,
"3. Each message is in its record and its signature verifies against the\n"
"   CA that issued the signer's certificate.  The message is the end of\n"
"   its record's payload from the offset given (after a JSON header and a\n"
"   newline).  xmlsec1 reads only the first certificate of a --trusted-pem\n"
"   file and checks certificates at the present time: a CA bundle, or a\n"
"   certificate that has since expired, makes it print \"certificate\n"
"   verification failed\".  So each command names the one CA certificate\n"
"   that issued the signer's, and the time the message was journalled:\n\n");
	json_array_foreach(b->files, i, f) {
		if (json_is_true(json_object_get(f, "sealed")))
			/* encryption at rest: the header names the
			 * plaintext's digest */
			fprintf(fp, "     od -An -tx1 -j96 -N32 records/"
			    "%012lld.hdr | tr -d ' \\n'; sha256sum %s\n",
			    jint(f, "seq"), jstr(f, "file"));
		else
			fprintf(fp, "     tail -c +%lld records/%012lld.payload "
			    "| sha256sum; sha256sum %s\n",
			    jint(f, "body_offset") + 1, jint(f, "seq"),
			    jstr(f, "file"));
		audit_xmlsec_time(jstr(f, "time"), t, sizeof(t));
		if (jstr(f, "ca")[0] != '\0')
			fprintf(fp, "     xmlsec1 --verify --trusted-pem %s "
			    "--verification-time '%s' \\\n         "
			    "--enabled-key-data x509 %s\n", jstr(f, "ca"), t,
			    jstr(f, "file"));
		else
			fprintf(fp, "     xmlsec1 --verify --pubkey-cert-pem %s "
			    "--enabled-key-data x509 %s\n       (no CA "
			    "certificate was known for its signer)\n",
			    jstr(f, "signer_cert"), jstr(f, "file"));
	}
	fprintf(fp,
"\n4. Each receipt's <Sha256> is the SHA-256 of the exact bytes of the\n"
"   message it acknowledges (<ReceivedMessageId>, in the file's name):\n\n");
	json_array_foreach(b->files, i, f)
		if (strcmp(jstr(f, "type"), "Receipt") == 0)
			fprintf(fp, "     %s\n", jstr(f, "file"));
	fprintf(fp, "\n   and the digest of each message, as journalled:\n\n");
	json_array_foreach(b->files, i, f)
		fprintf(fp, "     %s  %s\n", jstr(f, "sha256"), jstr(f, "file"));
	return ferror(fp) ? -1 : 0;
}

/* Write one text of the bundle, mode 0600 (sh verify.sh runs it). */
static int
audit_bundle_write(const struct audit_bundle *b, const char *name,
    mode_t mode, int (*fn)(const struct audit_bundle *, FILE *))
{
	char *path = conf_path(b->dir, name);
	FILE *fp = NULL;
	int fd, rc = -1;

	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1 || fchmod(fd, mode) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		if (fd != -1)
			close(fd);
		goto done;
	}
	rc = fn(b, fp);
	if (fclose(fp) != 0 || rc == -1) {
		log_err(ATAG, "%s", path);
		rc = -1;
	}
done:
	free(path);
	return rc;
}

int
audit_bundle_texts(const struct audit_bundle *b)
{
	if (audit_bundle_write(b, "verify.sh", 0600, audit_bundle_script) ==
	    -1 || audit_bundle_write(b, "README.txt", 0600,
	    audit_bundle_readme) == -1)
		return -1;
	return 0;
}
