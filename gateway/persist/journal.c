/*
 * journal.c -- the file backend of the journal: hash-chained records in
 * numbered files, group commit, signed checkpoints, rotation, start-up
 * verification and repair of a torn tail.  The format is in journal.h.
 */
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/clock.h"
#include "util/hex.h"
#include "persist/journal.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define JTAG			"journal"
#define JOURNAL_MAGIC		"AJRN"
#define JOURNAL_TRAILER_LEN	JOURNAL_HASH_LEN
#define JOURNAL_CP_CONTEXT	"accord-journal-checkpoint-1"
#define JOURNAL_NAME_FMT	"journal-%06" PRIu32 ".log"
#define JOURNAL_NAME_MAX	64

/*
 * A batch written by journal_commit_start() whose fdatasync runs on the
 * writer thread.  Its records count as committed only when
 * journal_commit_finish() has seen the sync succeed.
 */
struct journal_flight {
	int		 active;	/* started, not finished */
	int		 queued;	/* the thread has a job */
	int		 done;		/* the thread is through with it */
	int		 fd;		/* the file written */
	int		 created;	/* a new file: removed on failure */
	int		 old_fd;	/* the file before it, closed at the end */
	char		 path[PATH_MAX];
	off_t		 base;		/* the file's size before the batch */
	uint64_t	 seq;		/* its last record */
	int		 sync_rc;	/* the thread's results */
	int		 sync_errno;
	int		 dir_rc;
};

struct journal {
	char			*dir;
	int			 dirfd;
	struct journal_params	 p;
	struct journal_io	 io;
	struct journal_stats	 st;
	int			 failed;	/* no more commits: restart */

	/* What is committed. */
	int			 fd;		/* current file, -1: none */
	uint32_t		 file_no;
	char			 file_path[PATH_MAX];
	off_t			 file_size;
	uint64_t		 file_records;
	int64_t			 file_day;	/* UTC date of its FILE_START */
	uint64_t		 seq;
	uint8_t			 hash[JOURNAL_HASH_LEN];

	/* The batch being built. */
	uint8_t			*buf;
	size_t			 buflen;
	size_t			 bufcap;
	uint64_t		 pseq;
	accord_time_t		 last_time;	/* of the last record appended */
	uint8_t			 phash[JOURNAL_HASH_LEN];
	uint64_t		 pcount;	/* records in the batch */
	uint64_t		 pnoncp;	/* of which not checkpoints */
	int			 pcp;		/* it ends in a checkpoint */
	uint8_t			 pcp_chain[JOURNAL_HASH_LEN]; /* what it signs */
	int			 pnewfile;	/* the batch opens a new file */
	int64_t			 pday;

	/* The writer thread (started at the first journal_commit_start). */
	uint64_t		 durable;	/* last seq known on disk */
	struct journal_flight	 fl;
	pthread_t		 thr;
	int			 thr_started;
	int			 thr_stop;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 evfd;		/* readable: a flight is done */

	/* Checkpoints. */
	uint8_t			 key_id[JOURNAL_HASH_LEN];
	int			 cp_requested;
	accord_time_t		 cp_time;	/* of the latest checkpoint */
	uint64_t		 since_cp;	/* committed records since it */
	char			 cp_hex[2 * JOURNAL_HASH_LEN + 1];
};

struct journal_reader {
	char			**files;
	size_t			 nfiles;
	size_t			 capfiles;
	size_t			 cur;		/* index of the loaded file */
	int			 loaded;
	int			 dir_mode;	/* names are journal-N.log */
	int			 anchor;	/* first prev hash on trust */
	EVP_PKEY		*key;

	uint8_t			*data;		/* the whole current file */
	size_t			 size;
	size_t			 off;
	int			 first_in_file;

	int			 started;
	uint64_t		 expect;
	uint8_t			 prev[JOURNAL_HASH_LEN];
	uint32_t		 prev_file_no;

	int			 broken;
	struct journal_break	 brk;
};

static const char *journal_kind_names[] = {
	"NONE",
	"MESSAGE_RECEIVED",
	"MESSAGE_SENT",
	"RECEIPT_GIVEN",
	"RECEIPT_GOT",
	"DECISION",
	"REFUSAL",
	"DEADLINE_FIRED",
	"OPERATOR_COMMAND",
	"CONFIG_LOAD",
	"TORN_TAIL_CUT",
	"CHECKPOINT",
	"FILE_START",
	"MESSAGE_STATE",
	"INBOX_ACK",
	"PARTNER_PAUSE",
};

/* ---- small helpers ------------------------------------------------------ */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 3; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static int
journal_sha256(const void *data, size_t len, uint8_t out[JOURNAL_HASH_LEN])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1) {
		log_openssl(JTAG, "SHA-256");
		return -1;
	}
	return 0;
}

/* UTC date number: rotation compares dates, not 24-hour spans. */
static int64_t
journal_day(accord_time_t t)
{
	return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

char *
journal_hex(const uint8_t h[JOURNAL_HASH_LEN], char out[65])
{
	return hex_encode(h, JOURNAL_HASH_LEN, out);
}

const char *
journal_kind_name(unsigned int kind)
{
	if (kind == 0 || kind > JOURNAL_KIND_MAX)
		return "UNKNOWN";
	return journal_kind_names[kind];
}

static void
journal_name(uint32_t no, char *buf, size_t len)
{
	snprintf(buf, len, JOURNAL_NAME_FMT, no);
}

/* The number in "journal-NNNNNN.log", or 0 if name is not one. */
static uint32_t
journal_name_number(const char *name)
{
	const char *p;
	unsigned long v;
	char *end, canon[JOURNAL_NAME_MAX];

	if ((p = strrchr(name, '/')) != NULL)
		name = p + 1;
	if (strncmp(name, "journal-", 8) != 0)
		return 0;
	p = name + 8;
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || v == 0 || v > UINT32_MAX || strcmp(end, ".log") != 0)
		return 0;
	/* Only the canonical spelling: two names for one number would
	 * make the order of files ambiguous. */
	journal_name((uint32_t)v, canon, sizeof(canon));
	if (strcmp(name, canon) != 0)
		return 0;
	return (uint32_t)v;
}

static const char *
journal_basename(const char *path)
{
	const char *p = strrchr(path, '/');

	return p != NULL ? p + 1 : path;
}

/* ---- the journal's own payloads ---------------------------------------- */

int
journal_decode_file_start(const struct journal_rec *rec,
    struct journal_file_start *fs)
{
	size_t n;

	if (rec->kind != JOURNAL_FILE_START || rec->len < 6)
		return -1;
	n = get16(rec->payload + 4);
	if (rec->len != 6 + n || n >= sizeof(fs->prev_file) ||
	    memchr(rec->payload + 6, '\0', n) != NULL)
		return -1;
	fs->number = get32(rec->payload);
	memcpy(fs->prev_file, rec->payload + 6, n);
	fs->prev_file[n] = '\0';
	return 0;
}

int
journal_decode_torn_cut(const struct journal_rec *rec,
    struct journal_torn_cut *tc)
{
	size_t n;

	if (rec->kind != JOURNAL_TORN_TAIL_CUT ||
	    rec->len < 16 + JOURNAL_HASH_LEN + 2)
		return -1;
	n = get16(rec->payload + 16 + JOURNAL_HASH_LEN);
	if (rec->len != 18 + JOURNAL_HASH_LEN + n || n >= sizeof(tc->file) ||
	    memchr(rec->payload + 18 + JOURNAL_HASH_LEN, '\0', n) != NULL)
		return -1;
	tc->offset = get64(rec->payload);
	tc->length = get64(rec->payload + 8);
	memcpy(tc->sha256, rec->payload + 16, JOURNAL_HASH_LEN);
	memcpy(tc->file, rec->payload + 18 + JOURNAL_HASH_LEN, n);
	tc->file[n] = '\0';
	return 0;
}

int
journal_decode_checkpoint(const struct journal_rec *rec,
    struct journal_checkpoint *cp)
{
	const size_t fixed = 8 + 2 * JOURNAL_HASH_LEN + 2;

	if (rec->kind != JOURNAL_CHECKPOINT || rec->len < fixed)
		return -1;
	cp->siglen = get16(rec->payload + fixed - 2);
	if (rec->len != fixed + cp->siglen || cp->siglen == 0)
		return -1;
	cp->seq = get64(rec->payload);
	memcpy(cp->chain, rec->payload + 8, JOURNAL_HASH_LEN);
	memcpy(cp->key_id, rec->payload + 8 + JOURNAL_HASH_LEN,
	    JOURNAL_HASH_LEN);
	cp->sig = rec->payload + fixed;
	return 0;
}

/* The bytes a checkpoint signs. */
static size_t
journal_cp_message(uint64_t seq, const uint8_t chain[JOURNAL_HASH_LEN],
    uint8_t *out)
{
	size_t n = sizeof(JOURNAL_CP_CONTEXT);	/* with its NUL */

	memcpy(out, JOURNAL_CP_CONTEXT, n);
	put64(out + n, seq);
	memcpy(out + n + 8, chain, JOURNAL_HASH_LEN);
	return n + 8 + JOURNAL_HASH_LEN;
}

int
journal_key_id(EVP_PKEY *key, uint8_t out[JOURNAL_HASH_LEN])
{
	unsigned char *der = NULL;
	int n, rc;

	if ((n = i2d_PUBKEY(key, &der)) <= 0) {
		log_openssl(JTAG, "encoding the checkpoint public key");
		return -1;
	}
	rc = journal_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
	return rc;
}

int
journal_verify_checkpoint(const struct journal_rec *rec, EVP_PKEY *key)
{
	struct journal_checkpoint cp;
	uint8_t msg[64 + JOURNAL_HASH_LEN], kid[JOURNAL_HASH_LEN];
	EVP_MD_CTX *ctx = NULL;
	size_t mlen;
	int rc = -1;

	if (journal_decode_checkpoint(rec, &cp) == -1) {
		log_debug(JTAG, "seq %" PRIu64 ": not a well-formed checkpoint",
		    rec->seq);
		goto done;
	}
	if (cp.seq + 1 != rec->seq ||
	    memcmp(cp.chain, rec->prev, JOURNAL_HASH_LEN) != 0) {
		log_debug(JTAG, "seq %" PRIu64 ": checkpoint does not cover "
		    "the record before it", rec->seq);
		goto done;
	}
	if (journal_key_id(key, kid) == -1)
		goto done;
	if (memcmp(kid, cp.key_id, JOURNAL_HASH_LEN) != 0) {
		log_debug(JTAG, "seq %" PRIu64 ": checkpoint signed by "
		    "another key", rec->seq);
		goto done;
	}
	mlen = journal_cp_message(cp.seq, cp.chain, msg);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1) {
		log_openssl(JTAG, "checkpoint verification set-up");
		goto done;
	}
	if (EVP_DigestVerify(ctx, cp.sig, cp.siglen, msg, mlen) != 1) {
		/* A bad signature is a finding, not a library failure. */
		ERR_clear_error();
		log_debug(JTAG, "seq %" PRIu64 ": checkpoint signature does "
		    "not verify", rec->seq);
		goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- reading ----------------------------------------------------------- */

static int
journal_cmp_names(const void *a, const void *b)
{
	uint32_t x = journal_name_number(*(char *const *)a);
	uint32_t y = journal_name_number(*(char *const *)b);

	return x < y ? -1 : x > y;
}

static struct journal_reader *
journal_reader_new(void)
{
	struct journal_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_err(JTAG, "calloc");
		return NULL;
	}
	r->expect = 1;
	return r;
}

static void
journal_reader_add(struct journal_reader *r, const char *path)
{
	r->files = xgrowarray(r->files, r->nfiles, &r->capfiles,
	    sizeof(*r->files));
	r->files[r->nfiles++] = xstrdup(path);
}

struct journal_reader *
journal_reader_open(const char *dir)
{
	struct journal_reader *r;
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d = NULL;
	int ok = 0;

	if ((r = journal_reader_new()) == NULL)
		return NULL;
	r->dir_mode = 1;
	if ((d = opendir(dir)) == NULL) {
		log_err(JTAG, "%s", dir);
		goto done;
	}
	while ((de = readdir(d)) != NULL) {
		if (journal_name_number(de->d_name) == 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path)) {
			log_errx(JTAG, "%s: path too long", dir);
			goto done;
		}
		journal_reader_add(r, path);
	}
	if (r->nfiles > 0)
		qsort(r->files, r->nfiles, sizeof(*r->files),
		    journal_cmp_names);
	ok = 1;
done:
	if (d != NULL)
		closedir(d);
	if (!ok) {
		journal_reader_close(r);
		return NULL;
	}
	return r;
}

struct journal_reader *
journal_reader_open_files(const char *const *files, size_t n,
    int allow_anchor)
{
	struct journal_reader *r;
	size_t i;

	if ((r = journal_reader_new()) == NULL)
		return NULL;
	r->anchor = allow_anchor;
	for (i = 0; i < n; i++)
		journal_reader_add(r, files[i]);
	return r;
}

void
journal_reader_set_key(struct journal_reader *r, EVP_PKEY *key)
{
	r->key = key;
}

const struct journal_break *
journal_reader_break(const struct journal_reader *r)
{
	return r->broken ? &r->brk : NULL;
}

void
journal_reader_close(struct journal_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->data);
	free(r);
}

/* Record the first break.  A break that may be a torn write counts as torn
 * only in the last file, where an interrupted append can leave one. */
static int
journal_reader_fail(struct journal_reader *r, int may_be_torn,
    const char *fmt, ...)
{
	va_list ap;

	r->broken = 1;
	snprintf(r->brk.file, sizeof(r->brk.file), "%s", r->files[r->cur]);
	r->brk.offset = r->off;
	r->brk.recno = r->expect;
	r->brk.torn = may_be_torn && r->cur + 1 == r->nfiles;
	r->brk.tail_len = r->size - r->off;
	va_start(ap, fmt);
	vsnprintf(r->brk.reason, sizeof(r->brk.reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int
journal_reader_load(struct journal_reader *r)
{
	const char *path = r->files[r->cur];
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd, rc = -1;

	free(r->data);
	r->data = NULL;
	r->size = r->off = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		journal_reader_fail(r, 0, "cannot read: %s", strerror(errno));
		goto done;
	}
	if ((r->data = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1)) ==
	    NULL) {
		journal_reader_fail(r, 0, "out of memory");
		goto done;
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, r->data + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			journal_reader_fail(r, 0, "cannot read: %s",
			    n == 0 ? "short file" : strerror(errno));
			goto done;
		}
		got += (size_t)n;
	}
	r->size = got;
	r->loaded = 1;
	r->first_in_file = 1;
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	return rc;
}

static int
journal_all_zero(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

/* The checks of the journal's own records, beyond the chain. */
static int
journal_reader_check_own(struct journal_reader *r,
    const struct journal_rec *rec)
{
	struct journal_file_start fs;
	struct journal_torn_cut tc;
	struct journal_checkpoint cp;
	char want[JOURNAL_NAME_MAX];
	uint32_t named;

	switch (rec->kind) {
	case JOURNAL_FILE_START:
		if (journal_decode_file_start(rec, &fs) == -1)
			return journal_reader_fail(r, 0,
			    "malformed FILE_START");
		named = journal_name_number(r->files[r->cur]);
		if (r->dir_mode && named != fs.number)
			return journal_reader_fail(r, 0, "FILE_START says file "
			    "%" PRIu32 ", the file's name says %" PRIu32,
			    fs.number, named);
		if (!r->started && r->anchor)
			break;
		if (!r->started && fs.number != 1) {
			journal_name(fs.number - 1, want, sizeof(want));
			return journal_reader_fail(r, 0, "the journal begins "
			    "at file %" PRIu32 ": %s and before are missing",
			    fs.number, want);
		}
		if (r->started && fs.number != r->prev_file_no + 1) {
			journal_name(r->prev_file_no + 1, want, sizeof(want));
			return journal_reader_fail(r, 0, "missing file %s "
			    "(FILE_START says file %" PRIu32 ")", want,
			    fs.number);
		}
		if (r->started)
			journal_name(r->prev_file_no, want, sizeof(want));
		else
			want[0] = '\0';
		if (strcmp(fs.prev_file, want) != 0)
			return journal_reader_fail(r, 0, "FILE_START names "
			    "previous file \"%s\", expected \"%s\"",
			    fs.prev_file, want);
		break;
	case JOURNAL_TORN_TAIL_CUT:
		if (journal_decode_torn_cut(rec, &tc) == -1)
			return journal_reader_fail(r, 0,
			    "malformed TORN_TAIL_CUT");
		break;
	case JOURNAL_CHECKPOINT:
		if (journal_decode_checkpoint(rec, &cp) == -1)
			return journal_reader_fail(r, 0,
			    "malformed CHECKPOINT");
		if (cp.seq + 1 != rec->seq ||
		    memcmp(cp.chain, rec->prev, JOURNAL_HASH_LEN) != 0)
			return journal_reader_fail(r, 0, "CHECKPOINT does not "
			    "cover the record before it");
		if (r->key != NULL && journal_verify_checkpoint(rec,
		    r->key) == -1)
			return journal_reader_fail(r, 0, "CHECKPOINT signature "
			    "does not verify");
		break;
	default:
		break;
	}
	return 0;
}

int
journal_reader_next(struct journal_reader *r, struct journal_rec *rec)
{
	const uint8_t *h;
	uint8_t calc[JOURNAL_HASH_LEN];
	size_t rem, total;
	unsigned int version, kind;
	uint32_t len;
	uint64_t seq;

	if (r->broken)
		return -1;
	for (;;) {
		if (!r->loaded) {
			if (r->cur >= r->nfiles)
				return 0;
			if (journal_reader_load(r) == -1)
				return -1;
		}
		if (r->off < r->size)
			break;
		if (r->first_in_file)
			return journal_reader_fail(r, 1, "empty file");
		r->loaded = 0;
		r->cur++;
	}

	h = r->data + r->off;
	rem = r->size - r->off;
	if (journal_all_zero(h, rem))
		return journal_reader_fail(r, 1, "zero bytes to the end of "
		    "the file");
	if (rem < JOURNAL_HEADER_LEN)
		return journal_reader_fail(r, 1, "incomplete header "
		    "(%zu bytes)", rem);
	if (memcmp(h, JOURNAL_MAGIC, 4) != 0)
		return journal_reader_fail(r, 0, "bad magic");
	version = get16(h + 4);
	kind = get16(h + 6);
	seq = get64(h + 8);
	len = get32(h + 24);
	if (version != JOURNAL_VERSION)
		return journal_reader_fail(r, 0, "unsupported format version "
		    "%u", version);
	if (kind == 0 || kind > JOURNAL_KIND_MAX)
		return journal_reader_fail(r, 0, "unknown kind %u", kind);
	if (len > JOURNAL_MAX_PAYLOAD)
		return journal_reader_fail(r, 0, "payload length %" PRIu32
		    " over the limit", len);
	total = JOURNAL_HEADER_LEN + (size_t)len + JOURNAL_TRAILER_LEN;
	if (total > rem)
		return journal_reader_fail(r, 1, "incomplete record (%zu of "
		    "%zu bytes)", rem, total);
	if (journal_sha256(h, JOURNAL_HEADER_LEN + len, calc) == -1)
		return journal_reader_fail(r, 0, "cannot compute SHA-256");
	if (memcmp(calc, h + JOURNAL_HEADER_LEN + len, JOURNAL_HASH_LEN) != 0)
		return journal_reader_fail(r, total == rem, "record hash "
		    "does not match%s", total == rem ? " (last record)" : "");
	if (r->first_in_file && kind != JOURNAL_FILE_START)
		return journal_reader_fail(r, 0, "file does not begin with "
		    "FILE_START");
	if (!r->first_in_file && kind == JOURNAL_FILE_START)
		return journal_reader_fail(r, 0, "FILE_START inside a file");

	memset(rec, 0, sizeof(*rec));
	rec->kind = (enum journal_kind)kind;
	rec->version = version;
	rec->seq = seq;
	rec->time = (accord_time_t)get64(h + 16);
	memcpy(rec->prev, h + 32, JOURNAL_HASH_LEN);
	memcpy(rec->hash, calc, JOURNAL_HASH_LEN);
	rec->payload = h + JOURNAL_HEADER_LEN;
	rec->len = len;
	rec->file = r->files[r->cur];
	rec->offset = r->off;
	if (r->anchor && !r->started)
		r->expect = seq;
	/* Before the chain: a missing file is named as such, not as the
	 * broken sequence it causes. */
	if (journal_reader_check_own(r, rec) == -1)
		return -1;
	if (seq != r->expect)
		return journal_reader_fail(r, 0, "sequence number %" PRIu64
		    ", expected %" PRIu64, seq, r->expect);
	if (!(r->anchor && !r->started) &&
	    memcmp(h + 32, r->prev, JOURNAL_HASH_LEN) != 0)
		return journal_reader_fail(r, 0, "chain broken: the previous "
		    "hash is not the previous record's");
	if (kind == JOURNAL_FILE_START)
		r->prev_file_no = get32(rec->payload);

	r->started = 1;
	r->first_in_file = 0;
	r->expect = seq + 1;
	memcpy(r->prev, calc, JOURNAL_HASH_LEN);
	r->off += total;
	return 1;
}

/* ---- writing ------------------------------------------------------------ */

void
journal_params_default(struct journal_params *p, const char *dir)
{
	memset(p, 0, sizeof(*p));
	p->dir = dir;
	p->max_file_size = 64 * 1024 * 1024;
	p->rotate_daily = 1;
	p->checkpoint_every = 1000;
	p->checkpoint_secs = 300;
}

void
journal_set_io(struct journal *j, const struct journal_io *io)
{
	memset(&j->io, 0, sizeof(j->io));
	if (io != NULL)
		j->io = *io;
}

static ssize_t
journal_pwrite(struct journal *j, int fd, const void *buf, size_t len,
    off_t off)
{
	j->st.writes++;
	if (j->io.pwrite != NULL)
		return j->io.pwrite(fd, buf, len, off);
	return pwrite(fd, buf, len, off);
}

static int
journal_fdatasync(struct journal *j, int fd)
{
	j->st.fsyncs++;
	if (j->io.fdatasync != NULL)
		return j->io.fdatasync(fd);
	return fdatasync(fd);
}

/* A new file's name is durable only once its directory is synced. */
static int
journal_sync_dir(struct journal *j)
{
	j->st.fsyncs++;
	if (fsync(j->dirfd) == -1) {
		log_err(JTAG, "%s: fsync of the directory", j->dir);
		return -1;
	}
	return 0;
}

static int
journal_reserve(struct journal *j, size_t more)
{
	size_t cap;
	uint8_t *nb;

	if (j->buflen + more <= j->bufcap)
		return 0;
	cap = j->bufcap > 0 ? j->bufcap : 64 * 1024;
	while (cap < j->buflen + more)
		cap *= 2;
	if ((nb = realloc(j->buf, cap)) == NULL) {
		log_err(JTAG, "realloc");
		return -1;
	}
	j->buf = nb;
	j->bufcap = cap;
	return 0;
}

/* Forget the batch: its sequence numbers will be given again. */
static void
journal_drop_batch(struct journal *j)
{
	j->buflen = 0;
	j->pseq = j->seq;
	memcpy(j->phash, j->hash, JOURNAL_HASH_LEN);
	j->pcount = j->pnoncp = 0;
	j->pcp = j->pnewfile = 0;
}

static int journal_add(struct journal *, enum journal_kind, const void *,
    size_t, uint64_t *);

/* Open a new file with the batch when the current one is full or of an
 * earlier UTC date.  Only at a batch's start: a batch goes to one file. */
static int
journal_maybe_rotate(struct journal *j, size_t reclen, accord_time_t now)
{
	uint8_t fs[6 + JOURNAL_NAME_MAX];
	char prev[JOURNAL_NAME_MAX];
	size_t n;

	if (j->buflen > 0)
		return 0;
	if (j->fd != -1) {
		/* A file holding only its FILE_START is never left behind. */
		if (j->file_records <= 1)
			return 0;
		if (j->file_size + (off_t)reclen <= j->p.max_file_size &&
		    (!j->p.rotate_daily || journal_day(now) == j->file_day))
			return 0;
		journal_name(j->file_no, prev, sizeof(prev));
	} else
		prev[0] = '\0';
	n = strlen(prev);
	put32(fs, j->file_no + 1);
	put16(fs + 4, (uint16_t)n);
	memcpy(fs + 6, prev, n);
	j->pnewfile = 1;
	j->pday = journal_day(now);
	if (journal_add(j, JOURNAL_FILE_START, fs, 6 + n, NULL) == -1) {
		journal_drop_batch(j);
		return -1;
	}
	return 0;
}

/* Frame, stamp and chain one record into the batch. */
static int
journal_add(struct journal *j, enum journal_kind kind, const void *payload,
    size_t len, uint64_t *seqp)
{
	accord_time_t now = clock_now();
	size_t total = JOURNAL_HEADER_LEN + len + JOURNAL_TRAILER_LEN;
	uint8_t *h;

	if (j->failed) {
		log_errx(JTAG, "journal failed earlier; restart to recover");
		return -1;
	}
	if (len > JOURNAL_MAX_PAYLOAD) {
		log_errx(JTAG, "%s record of %zu bytes is over the limit",
		    journal_kind_name(kind), len);
		return -1;
	}
	if (kind != JOURNAL_FILE_START &&
	    journal_maybe_rotate(j, total, now) == -1)
		return -1;
	if (journal_reserve(j, total) == -1)
		return -1;
	h = j->buf + j->buflen;
	memcpy(h, JOURNAL_MAGIC, 4);
	put16(h + 4, JOURNAL_VERSION);
	put16(h + 6, (uint16_t)kind);
	put64(h + 8, j->pseq + 1);
	put64(h + 16, (uint64_t)now);
	put32(h + 24, (uint32_t)len);
	put32(h + 28, 0);
	memcpy(h + 32, j->phash, JOURNAL_HASH_LEN);
	if (len > 0)
		memcpy(h + JOURNAL_HEADER_LEN, payload, len);
	if (journal_sha256(h, JOURNAL_HEADER_LEN + len,
	    h + JOURNAL_HEADER_LEN + len) == -1)
		return -1;
	memcpy(j->phash, h + JOURNAL_HEADER_LEN + len, JOURNAL_HASH_LEN);
	j->buflen += total;
	j->pseq++;
	j->pcount++;
	if (kind == JOURNAL_CHECKPOINT)
		j->pcp = 1;
	else
		j->pnoncp++;
	j->last_time = now;
	if (seqp != NULL)
		*seqp = j->pseq;
	return 0;
}

accord_time_t
journal_last_append_time(const struct journal *j)
{
	return j->last_time;
}

int
journal_append(struct journal *j, enum journal_kind kind,
    const void *payload, size_t len, uint64_t *seqp)
{
	if (kind < JOURNAL_MESSAGE_RECEIVED || kind > JOURNAL_KIND_MAX ||
	    kind == JOURNAL_TORN_TAIL_CUT || kind == JOURNAL_CHECKPOINT ||
	    kind == JOURNAL_FILE_START) {
		log_errx(JTAG, "append of kind %u refused: not a caller's "
		    "kind", (unsigned int)kind);
		return -1;
	}
	if (j->pcp) {
		/* A checkpoint closes its batch: nothing may follow it
		 * unsigned in the same write.  Cannot happen: commit adds
		 * it last and empties the batch. */
		log_errx(JTAG, "append of a %s record after a checkpoint "
		    "in one batch", journal_kind_name(kind));
		abort();
	}
	return journal_add(j, kind, payload, len, seqp);
}

static int
journal_checkpoint_due(const struct journal *j, accord_time_t now)
{
	uint64_t since = j->since_cp + j->pnoncp;

	if (j->p.sign_key == NULL || since == 0)
		return 0;
	if (j->cp_requested)
		return 1;
	if (j->p.checkpoint_every > 0 && since >= j->p.checkpoint_every)
		return 1;
	if (j->p.checkpoint_secs > 0 &&
	    now - j->cp_time >= j->p.checkpoint_secs)
		return 1;
	return 0;
}

/* Sign the chain hash of the batch so far and add the CHECKPOINT. */
static int
journal_add_checkpoint(struct journal *j)
{
	uint8_t msg[64 + JOURNAL_HASH_LEN];
	uint8_t *pl = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t mlen, siglen = 0;
	const size_t fixed = 8 + 2 * JOURNAL_HASH_LEN + 2;
	int rc = -1;

	mlen = journal_cp_message(j->pseq, j->phash, msg);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    j->p.sign_key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, msg, mlen) != 1) {
		log_openssl(JTAG, "checkpoint signing set-up");
		goto done;
	}
	if (siglen > UINT16_MAX || (pl = malloc(fixed + siglen)) == NULL) {
		log_errx(JTAG, "checkpoint signature of %zu bytes", siglen);
		goto done;
	}
	if (EVP_DigestSign(ctx, pl + fixed, &siglen, msg, mlen) != 1) {
		log_openssl(JTAG, "checkpoint signing");
		goto done;
	}
	put64(pl, j->pseq);
	memcpy(pl + 8, j->phash, JOURNAL_HASH_LEN);
	memcpy(pl + 8 + JOURNAL_HASH_LEN, j->key_id, JOURNAL_HASH_LEN);
	put16(pl + fixed - 2, (uint16_t)siglen);
	memcpy(j->pcp_chain, j->phash, JOURNAL_HASH_LEN);
	rc = journal_add(j, JOURNAL_CHECKPOINT, pl, fixed + siglen, NULL);
done:
	free(pl);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
journal_write_all(struct journal *j, int fd, const uint8_t *buf, size_t len,
    off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = journal_pwrite(j, fd, buf, len, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * Take a failed batch back out of the file so that the file ends at the
 * last commit again.  A new file is removed.  After a failed fdatasync the
 * journal stops taking commits: Linux may have marked the unwritten pages
 * clean, so a retried fsync could report success for data never written.
 */
static void
journal_undo(struct journal *j, int fd, int created, const char *path,
    int sync_failed)
{
	if (created) {
		close(fd);
		if (unlink(path) == -1)
			log_err(JTAG, "%s: unlink", path);
		else
			(void)journal_sync_dir(j);
	} else if (ftruncate(fd, j->file_size) == -1) {
		log_err(JTAG, "%s: cannot truncate back to %lld bytes; no "
		    "more commits until restart", path,
		    (long long)j->file_size);
		j->failed = 1;
	} else if (!sync_failed)
		(void)journal_fdatasync(j, fd);
	if (sync_failed)
		j->failed = 1;
}

/*
 * The first half of a commit: the checkpoint if one is due, the new file
 * if the batch opens one, and the write.  On a write failure the batch is
 * taken back out and dropped.  @return 0 with the file in *fdp, *created
 * and path, 1 when there is nothing to write, -1 on failure.
 */
static int
journal_commit_write(struct journal *j, accord_time_t now, int *fdp,
    int *created, char path[PATH_MAX], off_t *basep)
{
	char name[JOURNAL_NAME_MAX];
	off_t base;
	int fd;

	*created = 0;
	if (j->failed) {
		log_errx(JTAG, "commit refused: the journal failed earlier; "
		    "restart to recover");
		journal_drop_batch(j);
		return -1;
	}
	/* A checkpoint that cannot be signed must not stop the records:
	 * it is tried again at the next commit. */
	if (journal_checkpoint_due(j, now) && journal_add_checkpoint(j) == -1)
		log_warnx(JTAG, "checkpoint skipped");
	if (j->buflen == 0)
		return 1;

	if (j->pnewfile) {
		journal_name(j->file_no + 1, name, sizeof(name));
		snprintf(path, PATH_MAX, "%s/%s", j->dir, name);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd == -1) {
			log_err(JTAG, "%s: create", path);
			journal_drop_batch(j);
			return -1;
		}
		*created = 1;
		base = 0;
	} else {
		snprintf(path, PATH_MAX, "%s", j->file_path);
		fd = j->fd;
		base = j->file_size;
	}

	if (journal_write_all(j, fd, j->buf, j->buflen, base) == -1) {
		log_err(JTAG, "%s: write of %zu bytes (seq %" PRIu64 "-%"
		    PRIu64 ") failed; batch dropped, file truncated back to "
		    "%lld bytes", path, j->buflen, j->seq + 1, j->pseq,
		    (long long)base);
		journal_undo(j, fd, *created, path, 0);
		journal_drop_batch(j);
		return -1;
	}
	*fdp = fd;
	*basep = base;
	return 0;
}

/*
 * The second half: the batch is the journal's state now (its file, its
 * last seq and hash, its checkpoint).  When the batch opened a new file
 * the previous one's descriptor is returned in *old_fd for the caller to
 * close (at once, or when an asynchronous sync is through).
 */
static void
journal_commit_apply(struct journal *j, accord_time_t now, int fd,
    int created, const char *path, int *old_fd)
{
	*old_fd = -1;
	if (created) {
		*old_fd = j->fd;
		j->fd = fd;
		j->file_no++;
		snprintf(j->file_path, sizeof(j->file_path), "%s", path);
		j->file_size = 0;
		j->file_records = 0;
		j->file_day = j->pday;
		j->st.files_created++;
	}
	j->file_size += (off_t)j->buflen;
	j->file_records += j->pcount;
	j->seq = j->pseq;
	memcpy(j->hash, j->phash, JOURNAL_HASH_LEN);
	if (j->pcp) {
		j->since_cp = 0;
		j->cp_time = now;
		j->cp_requested = 0;
		j->st.checkpoints++;
		journal_hex(j->pcp_chain, j->cp_hex);
	} else
		j->since_cp += j->pnoncp;
	journal_drop_batch(j);
}

int64_t
journal_commit(struct journal *j)
{
	char path[PATH_MAX];
	accord_time_t now = clock_now();
	off_t base;
	int fd, created, old_fd, rc;

	/* one at a time: an asynchronous commit in flight ends first */
	if (j->fl.active && journal_commit_wait(j) == -1) {
		journal_drop_batch(j);
		return -1;
	}
	rc = journal_commit_write(j, now, &fd, &created, path, &base);
	if (rc == 1) {
		journal_drop_batch(j);
		return (int64_t)j->seq;
	}
	if (rc == -1)
		return -1;
	j->st.loop_syncs++;
	if (journal_fdatasync(j, fd) == -1) {
		log_err(JTAG, "%s: fdatasync failed; batch dropped, no more "
		    "commits until restart", path);
		journal_undo(j, fd, created, path, 1);
		journal_drop_batch(j);
		return -1;
	}
	if (created && journal_sync_dir(j) == -1) {
		/* The data is durable but its name may not be.  As after a
		 * crash, restart finds and checks whatever is on disk. */
		j->failed = 1;
		close(fd);
		journal_drop_batch(j);
		return -1;
	}
	journal_commit_apply(j, now, fd, created, path, &old_fd);
	if (old_fd != -1)
		close(old_fd);
	j->durable = j->seq;
	j->st.commits++;
	return (int64_t)j->seq;
}

/* The writer thread: one fdatasync (and directory fsync) per flight. */
static void *
journal_writer(void *arg)
{
	struct journal *j = arg;
	uint64_t one = 1;
	int fd, created, rc, err, drc;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (!j->fl.queued && !j->thr_stop)
			pthread_cond_wait(&j->cv, &j->mu);
		if (j->thr_stop)
			break;
		fd = j->fl.fd;
		created = j->fl.created;
		j->fl.queued = 0;
		pthread_mutex_unlock(&j->mu);

		errno = 0;
		rc = journal_fdatasync(j, fd);
		err = errno;
		drc = rc == 0 && created ? journal_sync_dir(j) : 0;

		pthread_mutex_lock(&j->mu);
		j->fl.sync_rc = rc;
		j->fl.sync_errno = err;
		j->fl.dir_rc = drc;
		j->fl.done = 1;
		pthread_cond_broadcast(&j->cv);
		/* the counter is only a wake-up: a full one wakes too */
		(void)!write(j->evfd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static int
journal_writer_start(struct journal *j)
{
	if (j->thr_started)
		return 0;
	if ((j->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_err(JTAG, "eventfd");
		return -1;
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	if (pthread_create(&j->thr, NULL, journal_writer, j) != 0) {
		log_errx(JTAG, "cannot start the writer thread");
		close(j->evfd);
		j->evfd = -1;
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->cv);
		return -1;
	}
	j->thr_started = 1;
	return 0;
}

int
journal_commit_fd(struct journal *j)
{
	if (journal_writer_start(j) == -1)
		return -1;
	return j->evfd;
}

int
journal_commit_inflight(const struct journal *j)
{
	return j->fl.active;
}

int
journal_commit_start(struct journal *j)
{
	char path[PATH_MAX];
	accord_time_t now = clock_now();
	off_t base;
	int fd, created, old_fd, rc;

	if (j->fl.active) {
		log_errx(JTAG, "commit started while one is in flight");
		return -1;
	}
	if (journal_writer_start(j) == -1)
		return -1;
	rc = journal_commit_write(j, now, &fd, &created, path, &base);
	if (rc != 0)
		return rc;
	/* the state moves on at once, so that appends may follow; if the
	 * sync fails the journal stops (journal_commit_finish) and what is
	 * beyond the last durable record is taken off the disk */
	journal_commit_apply(j, now, fd, created, path, &old_fd);
	pthread_mutex_lock(&j->mu);
	j->fl.active = 1;
	j->fl.queued = 1;
	j->fl.done = 0;
	j->fl.fd = fd;
	j->fl.created = created;
	j->fl.old_fd = old_fd;
	snprintf(j->fl.path, sizeof(j->fl.path), "%s", path);
	j->fl.base = base;
	j->fl.seq = j->seq;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	j->st.async_commits++;
	return 0;
}

int64_t
journal_commit_finish(struct journal *j)
{
	struct journal_flight fl;
	uint64_t count;

	if (!j->fl.active)
		return (int64_t)j->durable;
	pthread_mutex_lock(&j->mu);
	if (!j->fl.done) {
		pthread_mutex_unlock(&j->mu);
		return -2;
	}
	fl = j->fl;
	j->fl.active = 0;
	j->fl.done = 0;
	pthread_mutex_unlock(&j->mu);
	while (read(j->evfd, &count, sizeof(count)) > 0)
		;	/* drain the wake-ups */

	if (fl.old_fd != -1)
		close(fl.old_fd);
	if (fl.sync_rc == 0 && fl.dir_rc == 0) {
		j->durable = fl.seq;
		j->st.commits++;
		return (int64_t)fl.seq;
	}
	errno = fl.sync_errno;
	if (fl.sync_rc != 0)
		log_err(JTAG, "%s: fdatasync failed; batch up to seq %" PRIu64
		    " dropped, no more commits until restart", fl.path, fl.seq);
	else
		log_errx(JTAG, "%s: directory fsync failed; no more commits "
		    "until restart", fl.path);
	/* nothing beyond the last durable record may stay on the disk */
	if (fl.sync_rc != 0) {
		if (fl.created) {
			if (unlink(fl.path) == -1)
				log_err(JTAG, "%s: unlink", fl.path);
		} else if (ftruncate(fl.fd, fl.base) == -1)
			log_err(JTAG, "%s: cannot truncate back to %lld "
			    "bytes", fl.path, (long long)fl.base);
	}
	j->failed = 1;
	journal_drop_batch(j);
	return -1;
}

int64_t
journal_commit_wait(struct journal *j)
{
	if (!j->fl.active)
		return (int64_t)j->durable;
	pthread_mutex_lock(&j->mu);
	while (!j->fl.done)
		pthread_cond_wait(&j->cv, &j->mu);
	pthread_mutex_unlock(&j->mu);
	j->st.loop_waits++;
	return journal_commit_finish(j);
}

int
journal_checkpoint_request(struct journal *j)
{
	if (j->p.sign_key == NULL)
		return -1;
	j->cp_requested = 1;
	return 0;
}

uint64_t
journal_committed_seq(const struct journal *j)
{
	return j->durable;
}

uint64_t
journal_pending(const struct journal *j)
{
	return j->pcount;
}

const char *
journal_latest_checkpoint_hash(const struct journal *j)
{
	return j->cp_hex;
}

const char *
journal_current_file(const struct journal *j)
{
	return j->file_path;
}

void
journal_get_stats(const struct journal *j, struct journal_stats *st)
{
	*st = j->st;
}

/* ---- opening ---------------------------------------------------------- */

static size_t	journal_torn_payload(const struct journal_torn_cut *,
		    uint8_t *);
static int	journal_pending_write(struct journal *, const uint8_t *,
		    size_t);

/* Cut a torn tail found by the reader; fill tc for the TORN_TAIL_CUT.
 * @return 1 if the file was removed (nothing valid was in it), 0 if
 * truncated, -1 on failure. */
static int
journal_cut_tail(struct journal *j, const struct journal_break *b,
    struct journal_torn_cut *tc)
{
	const char *base;
	uint8_t *tail = NULL;
	size_t blen;
	ssize_t n;
	int fd = -1, rc = -1;

	memset(tc, 0, sizeof(*tc));
	tc->offset = b->offset;
	tc->length = b->tail_len;
	/* Our own names are short; the reader only lists those. */
	base = journal_basename(b->file);
	blen = strnlen(base, sizeof(tc->file) - 1);
	memcpy(tc->file, base, blen);
	if ((fd = open(b->file, O_RDWR | O_CLOEXEC)) == -1) {
		log_err(JTAG, "%s: open", b->file);
		goto done;
	}
	if ((tail = malloc(b->tail_len > 0 ? b->tail_len : 1)) == NULL) {
		log_err(JTAG, "malloc");
		goto done;
	}
	n = pread(fd, tail, b->tail_len, (off_t)b->offset);
	if (n < 0 || (uint64_t)n != b->tail_len) {
		log_err(JTAG, "%s: reading the torn tail", b->file);
		goto done;
	}
	if (journal_sha256(tail, b->tail_len, tc->sha256) == -1)
		goto done;
	log_warnx(JTAG, "%s: offset %" PRIu64 ": record %" PRIu64 ": torn "
	    "tail of %" PRIu64 " bytes (%s) cut", b->file, b->offset, b->recno,
	    b->tail_len, b->reason);
	{
		uint8_t pl[18 + JOURNAL_HASH_LEN + JOURNAL_NAME_MAX];

		/* the evidence first, then the cut */
		if (journal_pending_write(j, pl, journal_torn_payload(tc,
		    pl)) == -1)
			goto done;
	}
	if (b->offset == 0) {
		/* The file never got its FILE_START: it was being created. */
		close(fd);
		fd = -1;
		if (unlink(b->file) == -1) {
			log_err(JTAG, "%s: unlink", b->file);
			goto done;
		}
		rc = journal_sync_dir(j) == 0 ? 1 : -1;
		goto done;
	}
	if (ftruncate(fd, (off_t)b->offset) == -1) {
		log_err(JTAG, "%s: ftruncate", b->file);
		goto done;
	}
	if (journal_fdatasync(j, fd) == -1) {
		log_err(JTAG, "%s: fdatasync", b->file);
		goto done;
	}
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	free(tail);
	return rc;
}

/* fsync the directory holding path. */
static int
journal_sync_parent(const char *path)
{
	char parent[PATH_MAX], *slash;
	int fd, rc = -1;

	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		log_err(JTAG, "%s: fsync", parent);
		goto done;
	}
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	return rc;
}

/* Lay out a TORN_TAIL_CUT payload. */
static size_t
journal_torn_payload(const struct journal_torn_cut *tc, uint8_t *out)
{
	size_t n = strlen(tc->file);

	put64(out, tc->offset);
	put64(out + 8, tc->length);
	memcpy(out + 16, tc->sha256, JOURNAL_HASH_LEN);
	put16(out + 16 + JOURNAL_HASH_LEN, (uint16_t)n);
	memcpy(out + 18 + JOURNAL_HASH_LEN, tc->file, n);
	return 18 + JOURNAL_HASH_LEN + n;
}

/*
 * The evidence of a cut must survive a crash between the truncation and
 * the commit of its TORN_TAIL_CUT record: it is written to cut.pending
 * (write, fsync, rename, fsync the directory) before the tail is cut, and
 * removed once the record is committed.  An open that finds the file
 * journals it, unless the journal already holds that very record.
 */
#define JOURNAL_PENDING		"cut.pending"

static int
journal_pending_write(struct journal *j, const uint8_t *pl, size_t len)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s/" JOURNAL_PENDING ".tmp", j->dir);
	snprintf(path, sizeof(path), "%s/" JOURNAL_PENDING, j->dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		log_err(JTAG, "%s", tmp);
		return -1;
	}
	if (write(fd, pl, len) != (ssize_t)len || fsync(fd) == -1) {
		log_err(JTAG, "%s: write", tmp);
		goto done;
	}
	if (rename(tmp, path) == -1) {
		log_err(JTAG, "%s: rename", tmp);
		goto done;
	}
	rc = journal_sync_dir(j);
done:
	close(fd);
	return rc;
}

/* @return the payload's length (0: no pending cut), or -1. */
static ssize_t
journal_pending_read(struct journal *j, uint8_t *pl, size_t max)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/" JOURNAL_PENDING, j->dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, pl, max);
	close(fd);
	if (n < 18 + JOURNAL_HASH_LEN) {
		log_errx(JTAG, "%s: unreadable; remove it after checking",
		    path);
		return -1;
	}
	return n;
}

static void
journal_pending_clear(struct journal *j)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" JOURNAL_PENDING, j->dir);
	if (unlink(path) == 0)
		journal_sync_dir(j);
}

struct journal *
journal_open(const struct journal_params *p)
{
	struct journal *j = NULL;
	struct journal_reader *r = NULL;
	const struct journal_break *b;
	struct journal_rec rec;
	struct journal_torn_cut tc;
	uint8_t tcbuf[18 + JOURNAL_HASH_LEN + JOURNAL_NAME_MAX];
	uint8_t pend[18 + JOURNAL_HASH_LEN + JOURNAL_NAME_MAX];
	char last_file[PATH_MAX] = "";
	off_t last_end = 0;
	ssize_t npend = 0;
	int n, cut = 0, ok = 0, pend_seen = 0;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_err(JTAG, "calloc");
		return NULL;
	}
	j->fd = -1;
	j->dirfd = -1;
	j->evfd = -1;
	j->p = *p;
	j->p.sign_key = NULL;
	if ((j->dir = strdup(p->dir)) == NULL) {
		log_err(JTAG, "strdup");
		goto done;
	}
	j->p.dir = j->dir;
	if (p->sign_key != NULL) {
		if (journal_key_id(p->sign_key, j->key_id) == -1)
			goto done;
		EVP_PKEY_up_ref(p->sign_key);
		j->p.sign_key = p->sign_key;
	}
	if (mkdir(j->dir, 0700) == 0) {
		/* The new directory's own name must survive a crash too. */
		if (journal_sync_parent(j->dir) == -1)
			goto done;
	} else if (errno != EEXIST) {
		log_err(JTAG, "%s: mkdir", j->dir);
		goto done;
	}
	if ((j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_err(JTAG, "%s: open", j->dir);
		goto done;
	}
	/* Two writers would fork the chain. */
	if (flock(j->dirfd, LOCK_EX | LOCK_NB) == -1) {
		log_err(JTAG, "%s: the journal is in use by another process",
		    j->dir);
		goto done;
	}

	/* a cut an earlier open made but could not journal */
	if ((npend = journal_pending_read(j, pend, sizeof(pend))) == -1)
		goto done;

	if ((r = journal_reader_open(j->dir)) == NULL)
		goto done;
	while ((n = journal_reader_next(r, &rec)) == 1) {
		if (npend > 0 && rec.kind == JOURNAL_TORN_TAIL_CUT &&
		    rec.len == (size_t)npend &&
		    memcmp(rec.payload, pend, (size_t)npend) == 0)
			pend_seen = 1;
		j->seq = rec.seq;
		memcpy(j->hash, rec.hash, JOURNAL_HASH_LEN);
		if (strcmp(last_file, rec.file) != 0) {
			snprintf(last_file, sizeof(last_file), "%s", rec.file);
			j->file_records = 0;
		}
		last_end = (off_t)(rec.offset + JOURNAL_HEADER_LEN + rec.len +
		    JOURNAL_TRAILER_LEN);
		j->file_records++;
		if (rec.kind == JOURNAL_FILE_START) {
			j->file_no = get32(rec.payload);
			j->file_day = journal_day(rec.time);
		}
		if (rec.kind == JOURNAL_CHECKPOINT) {
			journal_hex(rec.prev, j->cp_hex);
			j->cp_time = rec.time;
			j->since_cp = 0;
		} else
			j->since_cp++;
	}
	if (n == -1) {
		b = journal_reader_break(r);
		if (!b->torn) {
			log_errx(JTAG, "%s: offset %" PRIu64 ": record %" PRIu64
			    ": %s; the journal is damaged, refusing to open",
			    b->file, b->offset, b->recno, b->reason);
			goto done;
		}
		if (journal_cut_tail(j, b, &tc) == -1)
			goto done;
		cut = 1;
	}
	journal_reader_close(r);
	r = NULL;

	if (last_file[0] != '\0') {
		snprintf(j->file_path, sizeof(j->file_path), "%s", last_file);
		if ((j->fd = open(j->file_path, O_RDWR | O_CLOEXEC)) == -1) {
			log_err(JTAG, "%s: open", j->file_path);
			goto done;
		}
		j->file_size = last_end;
	}
	j->durable = j->seq;	/* what was read is on the disk */
	journal_drop_batch(j);

	/* A fresh journal, or one whose only file was torn at birth. */
	if (j->fd == -1 && journal_maybe_rotate(j, 0, clock_now()) == -1)
		goto done;
	if (npend > 0 && !pend_seen) {
		log_warnx(JTAG, "%s: journalling a cut an interrupted start-up "
		    "made", j->dir);
		if (journal_add(j, JOURNAL_TORN_TAIL_CUT, pend, (size_t)npend,
		    NULL) == -1)
			goto done;
	}
	if (cut) {
		n = (int)journal_torn_payload(&tc, tcbuf);
		if (journal_add(j, JOURNAL_TORN_TAIL_CUT, tcbuf, (size_t)n,
		    NULL) == -1)
			goto done;
	}
	if (j->buflen > 0 && journal_commit(j) == -1)
		goto done;
	if (npend > 0 || cut)
		journal_pending_clear(j);
	log_info(JTAG, "%s: opened at seq %" PRIu64 " in %s", j->dir, j->seq,
	    journal_basename(j->file_path));
	ok = 1;
done:
	journal_reader_close(r);
	if (!ok) {
		journal_close(j);
		return NULL;
	}
	return j;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fl.active)
		(void)journal_commit_wait(j);
	if (j->thr_started) {
		pthread_mutex_lock(&j->mu);
		j->thr_stop = 1;
		pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
		pthread_join(j->thr, NULL);
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->cv);
		close(j->evfd);
	}
	if (j->pcount > 0)
		log_warnx(JTAG, "closing with %" PRIu64 " uncommitted records "
		    "dropped", j->pcount);
	if (j->fd != -1)
		close(j->fd);
	if (j->dirfd != -1)
		close(j->dirfd);	/* releases the lock */
	EVP_PKEY_free(j->p.sign_key);
	free(j->buf);
	free(j->dir);
	free(j);
}
