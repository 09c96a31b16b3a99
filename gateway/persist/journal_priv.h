/*
 * journal_priv.h -- what the files of the journal's file backend share
 * and nothing else may use: the state of an open journal, the byte codec
 * of the format (journal.h), file names, and the steps of the write side
 * that opening and closing take.  journal.h is the interface.
 *
 *	journal.c	 codec, names, the journal's own payloads, checkpoint
 *			 signatures' message and verification
 *	journal_open.c	 open (lock, verify, repair a torn tail) and close
 *	journal_write.c	 append, group commit and its writer thread,
 *			 rotation, checkpoints
 *	journal_read.c	 the reader: scanning and verifying files
 */
#ifndef ACCORD_JOURNAL_PRIV_H
#define ACCORD_JOURNAL_PRIV_H

#include <sys/types.h>

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"
#include "persist/journal.h"

#define JTAG			"journal"
#define JOURNAL_MAGIC		"AJRN"
#define JOURNAL_TRAILER_LEN	JOURNAL_HASH_LEN
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
	unsigned int		 file_version;	/* its records' format */
	unsigned int		 version;	/* the format written */
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
	struct journal_pos	 last_pos;	/* of the record added last */

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
	uint64_t		 cp_seq;	/* it covers, 0: none yet */
	uint8_t			 cp_chain[JOURNAL_HASH_LEN];
};

/* ---- journal.c: the format's bytes and names ---------------------------- */

/* Big-endian integers, as the format writes them. */
void		journal_put16(uint8_t *p, uint16_t v);
void		journal_put32(uint8_t *p, uint32_t v);
void		journal_put64(uint8_t *p, uint64_t v);
uint16_t	journal_get16(const uint8_t *p);
uint32_t	journal_get32(const uint8_t *p);
uint64_t	journal_get64(const uint8_t *p);

/* SHA-256 of data.  @return 0, or -1 after logging. */
int		journal_sha256(const void *data, size_t len,
		    uint8_t out[JOURNAL_HASH_LEN]);

/*
 * Lay out one record of format version (journal.h) at h, which has room
 * for journal_header_len(version) + len + JOURNAL_TRAILER_LEN bytes, with
 * the payload in clear, and compute its digests and hash.
 * @return its length, or 0 after logging.
 */
size_t		journal_frame(uint8_t *h, unsigned int version,
		    enum journal_kind kind, uint64_t seq, accord_time_t time,
		    const uint8_t prev[JOURNAL_HASH_LEN], const void *payload,
		    size_t len);

/*
 * Check one whole record of total bytes at h, whose version is known
 * (journal_header_len() is not 0): its payload digests, its header and
 * its hash, into calc.  @return NULL if good, else the reason.
 */
const char	*journal_check(const uint8_t *h, size_t total,
		    uint8_t calc[JOURNAL_HASH_LEN]);

/* Fill rec from the checked record at h, whose hash is calc (file and
 * offset are the caller's). */
void		journal_fill(struct journal_rec *rec, const uint8_t *h,
		    const uint8_t calc[JOURNAL_HASH_LEN]);

/* The UTC date number of t (rotation compares dates). */
int64_t		journal_day(accord_time_t t);

/* "journal-NNNNNN.log" of file number no. */
void		journal_name(uint32_t no, char *buf, size_t len);

/* The number in a (path to a) file of that name, 0 if it is none. */
uint32_t	journal_name_number(const char *name);

/* Lay out the bytes a checkpoint signs into out (at least
 * 64 + JOURNAL_HASH_LEN bytes).  @return their length. */
size_t		journal_cp_message(uint64_t seq,
		    const uint8_t chain[JOURNAL_HASH_LEN], uint8_t *out);

/* ---- journal_write.c: the steps that opening and closing take ----------- */

/* fdatasync fd, counted and through the I/O hooks. */
int		journal_fdatasync(struct journal *j, int fd);

/* fsync the journal's directory (a new name's durability). */
int		journal_sync_dir(struct journal *j);

/* Forget the batch being built: its sequence numbers will be given
 * again. */
void		journal_drop_batch(struct journal *j);

/* Start the batch with a new file when the current one is full, of an
 * earlier UTC date, or missing.  @return 0, or -1 (batch dropped). */
int		journal_maybe_rotate(struct journal *j, size_t reclen,
		    accord_time_t now);

/* Frame, stamp and chain one record of any kind into the batch.
 * @return 0 with *seqp (may be NULL) set, or -1 after logging. */
int		journal_add(struct journal *j, enum journal_kind kind,
		    const void *payload, size_t len, uint64_t *seqp);

/* Wait for a flight in progress, then stop and join the writer thread
 * (if it was started). */
void		journal_writer_stop(struct journal *j);

#endif
