/*
 * journal_writer.c -- the crash test's writer and checker.
 *
 *	journal_writer write DIR KEY	append and commit in batches until
 *					killed, printing each committed seq
 *	journal_writer verify DIR KEY SEQS
 *					reopen (cutting a torn tail), read
 *					everything back, and check that every
 *					seq listed in SEQS is there intact
 *	journal_writer			a TAP self-test of the two (make check
 *					runs every check program)
 *
 * KEY is a PEM private key file, made by the writer if absent, used to sign
 * checkpoints; verify checks them with its public half.  Payloads are a
 * function of their sequence number, so a record that moved, vanished or
 * changed is seen.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "util/clock.h"
#include "persist/journal.h"
#include "util/log.h"

#define PAYLOAD_MAX	4096

/* The payload every record with this seq must carry. */
static size_t
writer_payload(uint64_t seq, uint8_t *buf)
{
	size_t n, len = 16 + (size_t)((seq * 7919) % 1008);

	n = (size_t)snprintf((char *)buf, PAYLOAD_MAX, "seq=%" PRIu64 ";",
	    seq);
	memset(buf + n, 'a' + (int)(seq % 26), len - n);
	return len;
}

static EVP_PKEY *
writer_key(const char *path, int create)
{
	EVP_PKEY *k = NULL;
	char tmp[1024];
	FILE *fp;
	int ok;

	if ((fp = fopen(path, "r")) != NULL) {
		k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
		fclose(fp);
		return k;
	}
	if (!create)
		return NULL;
	if ((k = EVP_EC_gen("P-256")) == NULL)
		return NULL;
	/* written aside and renamed: a writer killed while it writes the
	 * key (journal_crash.sh kills the first one too, early on a loaded
	 * machine) leaves no empty key.pem behind for the next rounds */
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	if ((fp = fopen(tmp, "w")) == NULL)
		ok = 0;
	else {
		ok = PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL,
		    NULL) == 1;
		ok = fclose(fp) == 0 && ok && rename(tmp, path) == 0;
	}
	if (!ok) {
		unlink(tmp);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static struct journal *
writer_open(const char *dir, EVP_PKEY *key)
{
	struct journal_params p;

	journal_params_default(&p, dir);
	p.max_file_size = 256 * 1024;	/* rotate often under the knife */
	p.sign_key = key;
	p.checkpoint_every = 50;
	p.checkpoint_secs = 1;
	return journal_open(&p);
}

/* Append and commit until killed or limit records are committed. */
static int
writer_write(const char *dir, const char *keyfile, uint64_t limit, int out)
{
	static uint8_t buf[PAYLOAD_MAX];
	struct journal *j = NULL;
	EVP_PKEY *key;
	uint64_t seqs[16], done = 0;
	char line[32];
	size_t len;
	int i, n, batch, rc = 1;

	if ((key = writer_key(keyfile, 1)) == NULL) {
		fprintf(stderr, "journal_writer: no key %s\n", keyfile);
		goto done;
	}
	if ((j = writer_open(dir, key)) == NULL)
		goto done;
	srandom((unsigned int)getpid());
	while (limit == 0 || done < limit) {
		batch = 1 + (int)(random() % 16);
		for (i = 0; i < batch; i++) {
			/* The payload names the seq this append should get;
			 * a FILE_START slipped in by rotation makes it one
			 * less, which verify allows right after one. */
			len = writer_payload(journal_committed_seq(j) +
			    journal_pending(j) + 1, buf);
			if (journal_append(j, JOURNAL_MESSAGE_RECEIVED, buf,
			    len, &seqs[i]) == -1)
				goto done;
		}
		if (journal_commit(j) == -1)
			goto done;
		/* Only now is the seq acknowledged. */
		for (i = 0; i < batch; i++) {
			n = snprintf(line, sizeof(line), "%" PRIu64 "\n",
			    seqs[i]);
			if (out != -1 && write(out, line, (size_t)n) != n)
				goto done;
		}
		done += (uint64_t)batch;
	}
	rc = 0;
done:
	journal_close(j);
	EVP_PKEY_free(key);
	return rc;
}

static int
writer_verify(const char *dir, const char *keyfile, const char *seqfile)
{
	static uint8_t want[PAYLOAD_MAX];
	struct journal_reader *r = NULL;
	struct journal *j;
	struct journal_rec rec;
	const struct journal_break *b;
	EVP_PKEY *key = NULL;
	uint8_t *have = NULL;
	uint64_t last = 0, nrec = 0, ncp = 0, ncut = 0, nacked = 0, s;
	enum journal_kind prev_kind = 0;
	unsigned long long v;
	size_t len;
	FILE *fp = NULL;
	int rc = 1, n;

	if ((key = writer_key(keyfile, 0)) == NULL) {
		fprintf(stderr, "verify: no key %s\n", keyfile);
		goto done;
	}
	/* Opening is what the daemon does at start-up: it cuts a torn tail
	 * and refuses damage. */
	if ((j = writer_open(dir, key)) == NULL) {
		fprintf(stderr, "verify: journal_open refused %s\n", dir);
		goto done;
	}
	journal_close(j);

	if ((r = journal_reader_open(dir)) == NULL)
		goto done;
	journal_reader_set_key(r, key);
	if ((have = calloc(1, 1 << 24)) == NULL)
		goto done;
	while ((n = journal_reader_next(r, &rec)) == 1) {
		nrec++;
		last = rec.seq;
		if (rec.kind == JOURNAL_CHECKPOINT)
			ncp++;
		if (rec.kind == JOURNAL_TORN_TAIL_CUT)
			ncut++;
		if (rec.kind != JOURNAL_MESSAGE_RECEIVED) {
			prev_kind = rec.kind;
			continue;
		}
		s = rec.seq;
		if (prev_kind == JOURNAL_FILE_START)
			s = strtoull((const char *)rec.payload + 4, NULL, 10);
		prev_kind = rec.kind;
		len = writer_payload(s, want);
		if ((s != rec.seq && s + 1 != rec.seq) || rec.len != len ||
		    memcmp(rec.payload, want, len) != 0) {
			fprintf(stderr, "verify: seq %" PRIu64 " (%s offset %"
			    PRIu64 "): payload is not the one written\n",
			    rec.seq, rec.file, rec.offset);
			goto done;
		}
		if (rec.seq < (1U << 24))
			have[rec.seq] = 1;
	}
	if (n == -1) {
		b = journal_reader_break(r);
		fprintf(stderr, "verify: %s: offset %" PRIu64 ": record %"
		    PRIu64 ": %s\n", b->file, b->offset, b->recno, b->reason);
		goto done;
	}
	if ((fp = fopen(seqfile, "r")) == NULL) {
		fprintf(stderr, "verify: %s: %s\n", seqfile, strerror(errno));
		goto done;
	}
	while (fscanf(fp, "%llu", &v) == 1) {
		s = (uint64_t)v;
		nacked++;
		if (s >= (1U << 24) || !have[s]) {
			fprintf(stderr, "verify: acknowledged seq %" PRIu64
			    " is missing (journal ends at %" PRIu64 ")\n", s,
			    last);
			goto done;
		}
	}
	printf("# %" PRIu64 " records, %" PRIu64 " acknowledged, %" PRIu64
	    " checkpoints verified, %" PRIu64 " torn tails cut\n", nrec,
	    nacked, ncp, ncut);
	rc = 0;
done:
	if (fp != NULL)
		fclose(fp);
	free(have);
	journal_reader_close(r);
	EVP_PKEY_free(key);
	return rc;
}

/* make check runs every check program: a short run of both modes. */
static int
writer_selftest(void)
{
	const char *build = getenv("ACCORD_BUILDDIR");
	char base[512], dir[600], key[600], seqs[600], cmd[700];
	int fd, rc;

	printf("1..1\n");
	if (build == NULL)
		build = ".";
	snprintf(base, sizeof(base), "%s/tests/tmp", build);
	mkdir(base, 0700);
	snprintf(base, sizeof(base), "%s/tests/tmp/writer.XXXXXX", build);
	if (mkdtemp(base) == NULL) {
		printf("not ok 1 - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/journal", base);
	snprintf(key, sizeof(key), "%s/key.pem", base);
	snprintf(seqs, sizeof(seqs), "%s/seqs", base);
	fd = open(seqs, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = fd == -1 || writer_write(dir, key, 300, fd) != 0 ||
	    writer_write(dir, key, 300, fd) != 0 ||
	    writer_verify(dir, key, seqs) != 0;
	if (fd != -1)
		close(fd);
	printf("%s 1 - writer commits 600 records over two runs, verify "
	    "finds every one\n", rc ? "not ok" : "ok");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (!rc && system(cmd) != 0)
		rc = 1;
	return rc;
}

int
main(int argc, char *argv[])
{
	log_init("journal_writer", 1, LOG_LVL_WARN);
	if (argc == 1)
		return writer_selftest();
	if (argc == 4 && strcmp(argv[1], "write") == 0) {
		setvbuf(stdout, NULL, _IONBF, 0);
		return writer_write(argv[2], argv[3], 0, STDOUT_FILENO);
	}
	if (argc == 5 && strcmp(argv[1], "verify") == 0)
		return writer_verify(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "open") == 0) {
		/* open and close: cuts (and journals) a torn tail */
		EVP_PKEY *key = writer_key(argv[3], 0);
		struct journal *j = key != NULL ? writer_open(argv[2], key) :
		    NULL;

		journal_close(j);
		EVP_PKEY_free(key);
		return j != NULL ? 0 : 1;
	}
	fprintf(stderr, "usage: journal_writer [write DIR KEY | "
	    "verify DIR KEY SEQS | open DIR KEY]\n");
	return 2;
}
