/*
 * journal_write.c -- the journal's write side: records framed, stamped
 * and chained into a batch (journal_append), the batch made durable with
 * one write and one fdatasync (journal_commit), or with the fdatasync on
 * a writer thread (journal_commit_start/finish), rotation to a new file
 * between batches, and signed checkpoints added to a batch when due.
 */
#include <sys/eventfd.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/clock.h"
#include "persist/journal.h"
#include "persist/journal_priv.h"
#include "util/log.h"
#include "util/stage.h"

/* ---- I/O, through the test hooks ---------------------------------------- */

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

int
journal_fdatasync(struct journal *j, int fd)
{
	int rc;

	j->st.fsyncs++;
	stage_begin(STAGE_FSYNC);
	rc = j->io.fdatasync != NULL ? j->io.fdatasync(fd) : fdatasync(fd);
	stage_end(STAGE_FSYNC);
	return rc;
}

/* A new file's name is durable only once its directory is synced. */
int
journal_sync_dir(struct journal *j)
{
	j->st.fsyncs++;
	if (fsync(j->dirfd) == -1) {
		log_err(JTAG, "%s: fsync of the directory", j->dir);
		return -1;
	}
	return 0;
}

/* ---- the batch ---------------------------------------------------------- */

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
void
journal_drop_batch(struct journal *j)
{
	j->buflen = 0;
	j->pseq = j->seq;
	memcpy(j->phash, j->hash, JOURNAL_HASH_LEN);
	j->pcount = j->pnoncp = 0;
	j->pcp = j->pnewfile = 0;
}

/* Open a new file with the batch when the current one is full or of an
 * earlier UTC date.  Only at a batch's start: a batch goes to one file. */
int
journal_maybe_rotate(struct journal *j, size_t reclen, accord_time_t now)
{
	uint8_t fs[6 + JOURNAL_NAME_MAX];
	char prev[JOURNAL_NAME_MAX];
	size_t n;

	if (j->buflen > 0)
		return 0;
	if (j->fd != -1 && j->file_version != j->version) {
		/* An upgrade: the new format starts its own file, chained
		 * to the last record of the old. */
		journal_name(j->file_no, prev, sizeof(prev));
	} else if (j->fd != -1) {
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
	journal_put32(fs, j->file_no + 1);
	journal_put16(fs + 4, (uint16_t)n);
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
int
journal_add(struct journal *j, enum journal_kind kind, const void *payload,
    size_t len, uint64_t *seqp)
{
	accord_time_t now = clock_now();
	size_t total = journal_header_len(j->version) + len +
	    JOURNAL_TRAILER_LEN;

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
	/* where it will be: the batch goes whole to one file */
	j->last_pos.file = j->pnewfile ? j->file_no + 1 : j->file_no;
	j->last_pos.offset = (uint64_t)(j->pnewfile ? 0 : j->file_size) +
	    j->buflen;
	j->last_pos.seq = j->pseq + 1;
	if (journal_frame(j->buf + j->buflen, j->version, kind, j->pseq + 1,
	    now, j->phash, payload, len) != total)
		return -1;
	memcpy(j->phash, j->buf + j->buflen + total - JOURNAL_TRAILER_LEN,
	    JOURNAL_HASH_LEN);
	j->buflen += total;
	j->pseq++;
	j->pcount++;
	if (kind == JOURNAL_CHECKPOINT)
		j->pcp = 1;
	else if (kind != JOURNAL_TIMESTAMP)
		/* a token over a checkpoint does not make the next one
		 * due: an idle journal would otherwise checkpoint and
		 * time-stamp for ever */
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

int
journal_append_pos(struct journal *j, enum journal_kind kind,
    const void *payload, size_t len, struct journal_pos *pos)
{
	if (journal_append(j, kind, payload, len, NULL) == -1)
		return -1;
	*pos = j->last_pos;
	return 0;
}

/* ---- checkpoints -------------------------------------------------------- */

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

/* The CHECKPOINT payload around a signature: seq, chain hash, key id,
 * the signature's length and the signature. */
static int
journal_add_checkpoint_record(struct journal *j, const uint8_t *sig,
    size_t siglen)
{
	const size_t fixed = 8 + 2 * JOURNAL_HASH_LEN + 2;
	uint8_t *pl;
	int rc;

	if (siglen > UINT16_MAX || (pl = malloc(fixed + siglen)) == NULL) {
		log_errx(JTAG, "checkpoint signature of %zu bytes", siglen);
		return -1;
	}
	journal_put64(pl, j->pseq);
	memcpy(pl + 8, j->phash, JOURNAL_HASH_LEN);
	memcpy(pl + 8 + JOURNAL_HASH_LEN, j->key_id, JOURNAL_HASH_LEN);
	journal_put16(pl + fixed - 2, (uint16_t)siglen);
	memcpy(pl + fixed, sig, siglen);
	memcpy(j->pcp_chain, j->phash, JOURNAL_HASH_LEN);
	rc = journal_add(j, JOURNAL_CHECKPOINT, pl, fixed + siglen, NULL);
	free(pl);
	return rc;
}

/* A checkpoint signed by p.sign (the signer process). */
static int
journal_add_checkpoint_signed(struct journal *j, const uint8_t *msg,
    size_t mlen)
{
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);

	if (j->p.sign(j->p.sign_arg, msg, mlen, sig, &siglen) == -1) {
		log_errx(JTAG, "the checkpoint at record %llu could not be "
		    "signed", (unsigned long long)j->pseq);
		return -1;
	}
	return journal_add_checkpoint_record(j, sig, siglen);
}

/* Sign the chain hash of the batch so far and add the CHECKPOINT. */
static int
journal_add_checkpoint(struct journal *j)
{
	uint8_t msg[64 + JOURNAL_HASH_LEN], sig[1024];
	EVP_MD_CTX *ctx = NULL;
	size_t mlen, siglen = sizeof(sig);
	int rc = -1;

	mlen = journal_cp_message(j->pseq, j->phash, msg);
	if (j->p.sign != NULL)
		return journal_add_checkpoint_signed(j, msg, mlen);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    j->p.sign_key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, mlen) != 1) {
		log_openssl(JTAG, "checkpoint signing");
		goto done;
	}
	rc = journal_add_checkpoint_record(j, sig, siglen);
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- committing --------------------------------------------------------- */

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
		j->file_version = j->version;
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
		j->cp_seq = j->pseq - 1;
		memcpy(j->cp_chain, j->pcp_chain, JOURNAL_HASH_LEN);
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

/* ---- the writer thread: asynchronous commits ---------------------------- */

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

void
journal_writer_stop(struct journal *j)
{
	if (j->fl.active)
		(void)journal_commit_wait(j);
	if (!j->thr_started)
		return;
	pthread_mutex_lock(&j->mu);
	j->thr_stop = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thr, NULL);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	close(j->evfd);
}

/* ---- state -------------------------------------------------------------- */

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

int
journal_latest_checkpoint(const struct journal *j, uint64_t *seq,
    uint8_t chain[JOURNAL_HASH_LEN])
{
	if (j->cp_seq == 0)
		return 0;
	*seq = j->cp_seq;
	memcpy(chain, j->cp_chain, JOURNAL_HASH_LEN);
	return 1;
}

size_t
journal_checkpoint_message(uint64_t seq, const uint8_t chain[JOURNAL_HASH_LEN],
    uint8_t out[JOURNAL_CP_MESSAGE_MAX])
{
	return journal_cp_message(seq, chain, out);
}
