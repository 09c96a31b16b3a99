/*
 * journal_open.c -- opening the journal: its directory created and locked
 * against a second writer, every file and the whole chain verified, a torn
 * tail of the last file cut (journalled as TORN_TAIL_CUT, its evidence
 * kept in cut.pending until then), a first file started if there is none;
 * and closing it.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/clock.h"
#include "persist/journal.h"
#include "persist/journal_priv.h"
#include "util/file.h"
#include "util/log.h"

/* A TORN_TAIL_CUT payload at its largest. */
#define JOURNAL_TORN_MAX	(18 + JOURNAL_HASH_LEN + JOURNAL_NAME_MAX)

/* ---- a torn tail: its evidence, its cut --------------------------------- */

static const char *
journal_basename(const char *path)
{
	const char *p = strrchr(path, '/');

	return p != NULL ? p + 1 : path;
}

/* Lay out a TORN_TAIL_CUT payload. */
static size_t
journal_torn_payload(const struct journal_torn_cut *tc, uint8_t *out)
{
	size_t n = strlen(tc->file);

	journal_put64(out, tc->offset);
	journal_put64(out + 8, tc->length);
	memcpy(out + 16, tc->sha256, JOURNAL_HASH_LEN);
	journal_put16(out + 16 + JOURNAL_HASH_LEN, (uint16_t)n);
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
		uint8_t pl[JOURNAL_TORN_MAX];

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

/* ---- opening and closing ------------------------------------------------ */

/* A fresh journal of p, nothing opened yet.  @return NULL after logging. */
static struct journal *
journal_new(const struct journal_params *p)
{
	struct journal *j;

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
		goto fail;
	}
	j->p.dir = j->dir;
	j->version = p->format != 0 ? p->format : JOURNAL_VERSION;
	if (journal_header_len(j->version) == 0) {
		log_errx(JTAG, "no journal format %u", j->version);
		goto fail;
	}
	if (p->sign_key != NULL) {
		if (journal_key_id(p->sign_key, j->key_id) == -1)
			goto fail;
		EVP_PKEY_up_ref(p->sign_key);
		j->p.sign_key = p->sign_key;
	}
	return j;
fail:
	journal_close(j);
	return NULL;
}

/* Create the journal's directory if need be and lock it against a second
 * writer.  @return 0, or -1 after logging. */
static int
journal_lock_dir(struct journal *j)
{
	if (mkdir(j->dir, 0700) == 0) {
		/* The new directory's own name must survive a crash too. */
		if (file_sync_parent(j->dir) == -1) {
			log_err(JTAG, "%s: fsync of the directory holding it",
			    j->dir);
			return -1;
		}
	} else if (errno != EEXIST) {
		log_err(JTAG, "%s: mkdir", j->dir);
		return -1;
	}
	if ((j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_err(JTAG, "%s: open", j->dir);
		return -1;
	}
	/* Two writers would fork the chain. */
	if (flock(j->dirfd, LOCK_EX | LOCK_NB) == -1) {
		log_err(JTAG, "%s: the journal is in use by another process",
		    j->dir);
		return -1;
	}
	return 0;
}

/* What journal_open() learns reading the journal through. */
struct journal_scan {
	uint8_t		 pend[JOURNAL_TORN_MAX];	/* a pending cut's */
	ssize_t		 npend;		/* its length; 0: none pending */
	int		 pend_seen;	/* the journal holds it already */
	char		 last_file[PATH_MAX];	/* "": no file */
	off_t		 last_end;	/* where its last record ends */
	int		 cut;		/* a torn tail was cut, as tc says */
	struct journal_torn_cut tc;
};

/* Take the journal's state from one record read: the last seq and hash,
 * the current file, the latest checkpoint. */
static void
journal_scan_record(struct journal *j, struct journal_scan *sc,
    const struct journal_rec *rec)
{
	if (sc->npend > 0 && rec->kind == JOURNAL_TORN_TAIL_CUT &&
	    rec->len == (size_t)sc->npend &&
	    memcmp(rec->payload, sc->pend, (size_t)sc->npend) == 0)
		sc->pend_seen = 1;
	j->seq = rec->seq;
	memcpy(j->hash, rec->hash, JOURNAL_HASH_LEN);
	if (strcmp(sc->last_file, rec->file) != 0) {
		snprintf(sc->last_file, sizeof(sc->last_file), "%s", rec->file);
		j->file_records = 0;
	}
	sc->last_end = (off_t)(rec->offset + rec->hdr_len + rec->len +
	    JOURNAL_TRAILER_LEN);
	j->file_records++;
	if (rec->kind == JOURNAL_FILE_START) {
		j->file_no = journal_get32(rec->payload);
		j->file_day = journal_day(rec->time);
		j->file_version = rec->version;
	}
	if (rec->kind == JOURNAL_CHECKPOINT) {
		journal_hex(rec->prev, j->cp_hex);
		j->cp_time = rec->time;
		j->since_cp = 0;
	} else if (rec->kind != JOURNAL_TIMESTAMP)
		j->since_cp++;	/* as journal_add() counts */
}

/* Read every file and the whole chain (or the last p.open_files files,
 * the first taken as an anchor: a checkpoint before them is not seen, so
 * the next commit writes one); cut a torn tail (sc->cut), refuse any
 * other damage.  @return 0, or -1 after logging. */
static int
journal_scan(struct journal *j, struct journal_scan *sc)
{
	struct journal_reader *r;
	const struct journal_break *b;
	struct journal_rec rec;
	int n, rc = -1;

	if ((r = journal_reader_open_from(j->dir, 0, j->p.open_files)) ==
	    NULL)
		return -1;
	while ((n = journal_reader_next(r, &rec)) == 1)
		journal_scan_record(j, sc, &rec);
	if (n == -1) {
		b = journal_reader_break(r);
		if (!b->torn) {
			log_errx(JTAG, "%s: offset %" PRIu64 ": record %" PRIu64
			    ": %s; the journal is damaged, refusing to open",
			    b->file, b->offset, b->recno, b->reason);
			goto done;
		}
		if (journal_cut_tail(j, b, &sc->tc) == -1)
			goto done;
		sc->cut = 1;
	}
	rc = 0;
done:
	journal_reader_close(r);
	return rc;
}

/* Go on appending to the last file read, or start a first file when there
 * is none.  @return 0, or -1 after logging. */
static int
journal_resume(struct journal *j, const struct journal_scan *sc)
{
	if (sc->last_file[0] != '\0') {
		if (j->file_version > j->version) {
			log_errx(JTAG, "%s: written in journal format %u; this "
			    "writer writes %u", sc->last_file, j->file_version,
			    j->version);
			return -1;
		}
		if (strstr(sc->last_file, "/archive/") != NULL) {
			log_errx(JTAG, "%s: the last journal file is still "
			    "written to: move it back out of archive/",
			    sc->last_file);
			return -1;
		}
		snprintf(j->file_path, sizeof(j->file_path), "%s",
		    sc->last_file);
		if ((j->fd = open(j->file_path, O_RDWR | O_CLOEXEC)) == -1) {
			log_err(JTAG, "%s: open", j->file_path);
			return -1;
		}
		j->file_size = sc->last_end;
	}
	j->durable = j->seq;	/* what was read is on the disk */
	journal_drop_batch(j);

	/* A fresh journal, or one whose only file was torn at birth. */
	if (j->fd == -1 && journal_maybe_rotate(j, 0, clock_now()) == -1)
		return -1;
	return 0;
}

/* Journal the cuts: one an interrupted start-up made but did not journal,
 * and the one this open made; then their evidence may go.
 * @return 0, or -1 after logging. */
static int
journal_record_cuts(struct journal *j, const struct journal_scan *sc)
{
	uint8_t tcbuf[JOURNAL_TORN_MAX];
	size_t len;

	if (sc->npend > 0 && !sc->pend_seen) {
		log_warnx(JTAG, "%s: journalling a cut an interrupted start-up "
		    "made", j->dir);
		if (journal_add(j, JOURNAL_TORN_TAIL_CUT, sc->pend,
		    (size_t)sc->npend, NULL) == -1)
			return -1;
	}
	if (sc->cut) {
		len = journal_torn_payload(&sc->tc, tcbuf);
		if (journal_add(j, JOURNAL_TORN_TAIL_CUT, tcbuf, len,
		    NULL) == -1)
			return -1;
	}
	if (j->buflen > 0 && journal_commit(j) == -1)
		return -1;
	if (sc->npend > 0 || sc->cut)
		journal_pending_clear(j);
	return 0;
}


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

struct journal *
journal_open(const struct journal_params *p)
{
	struct journal *j;
	struct journal_scan sc;

	if ((j = journal_new(p)) == NULL)
		return NULL;
	memset(&sc, 0, sizeof(sc));
	if (journal_lock_dir(j) == -1)
		goto fail;
	/* a cut an earlier open made but could not journal */
	if ((sc.npend = journal_pending_read(j, sc.pend,
	    sizeof(sc.pend))) == -1)
		goto fail;
	if (journal_scan(j, &sc) == -1 || journal_resume(j, &sc) == -1 ||
	    journal_record_cuts(j, &sc) == -1)
		goto fail;
	log_info(JTAG, "%s: opened at seq %" PRIu64 " in %s", j->dir, j->seq,
	    journal_basename(j->file_path));
	return j;
fail:
	journal_close(j);
	return NULL;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	journal_writer_stop(j);
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
