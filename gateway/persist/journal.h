/*
 * journal.h -- the append-only, hash-chained journal: the gateway's truth.
 *
 * Every input and every decision is appended here before anything depends
 * on it.  Records are buffered by journal_append() and made durable by
 * journal_commit(), which writes the whole batch with one write and one
 * fdatasync (group commit).
 *
 * THE CONTRACT FOR CALLERS: a record exists only once journal_commit()
 * has returned a sequence number at or beyond the record's.  Nothing that
 * depends on a record -- a Receipt, an Error, an answer on the control
 * socket, a message handed to outbound, a row in the store -- may leave the
 * process before that.  When journal_commit() fails, every record appended
 * since the last successful commit is gone (its sequence numbers will be
 * given again) and the caller answers as if the input never arrived.
 *
 * The journal is a module with a small interface so that a later backend
 * (PostgreSQL for an active/standby pair) can replace journal_fs: struct
 * journal is opaque and records are read through the journal_reader.
 *
 * ---- doc/journal-format (versions 1 and 2) -------------------------------
 *
 * The journal is a directory of files journal-000001.log, journal-000002.log,
 * ... numbered without gaps.  Each file is a sequence of records; the first
 * record of every file is a FILE_START.  This code writes version 2 and
 * reads both.  A version-2 record is:
 *
 *	offset	size	field (integers big-endian)
 *	0	4	magic "AJRN"
 *	4	2	format version, 2
 *	6	2	kind (enum journal_kind)
 *	8	8	sequence number: 1 for the very first record, then +1
 *	16	8	time, seconds since the epoch UTC (clock_now())
 *	24	4	payload length as stored (at most JOURNAL_MAX_PAYLOAD)
 *	28	2	cipher id: 0, none (the payload is stored in clear);
 *			1, a message record sealed with AES-256-GCM
 *			(record.h: a clear JSON header, then nonce ||
 *			ciphertext || tag of the message's bytes)
 *	30	2	reserved, 0
 *	32	32	SHA-256 of the previous record (32 zero bytes for seq 1)
 *	64	32	SHA-256 of the payload bytes as stored
 *	96	32	SHA-256 of the plaintext (cipher 0: the same digest;
 *			cipher 1: of the message's exact bytes, what its
 *			Receipt names)
 *	128	32	key id of the payload's key (cipher 0: 32 zero bytes;
 *			cipher 1: the case key's id, persist/keystore.h)
 *	160	len	payload, as stored
 *	160+len	32	SHA-256 of bytes [0, 160), the header: this record's hash
 *
 * The hash covers the header and so the payload's digest, not the payload:
 * a segment of the chain is proven by its records' headers alone, with the
 * payloads of only the records one wants to show (accord-audit export).
 * Cipher and key id are there for encryption at rest (a cipher other than
 * 0, its nonce and tag inside the stored bytes, the key found by its id
 * outside the journal): it needs no new format, and the chain, the
 * checkpoints and the stored-bytes digest verify without the key.  This
 * reader knows ciphers 0 and 1 and refuses a record of another; it checks
 * a sealed record's plaintext digest only where a key opens it (record.h,
 * record_message_unseal()).
 *
 * Version 1, the format before, has a 64-byte header: bytes 0-27 and
 * 32-63 as above, bytes 28-31 reserved (0), the payload at 64, and the
 * record's hash, SHA-256 of header and payload together, after it.  Its
 * files stay readable and verifiable.  All the records of a file have the
 * version of its FILE_START, and a version-1 file may not follow a
 * version-2 one.  After an upgrade the writer starts a new file at once:
 * its FILE_START's previous hash is the last version-1 record's hash, so
 * the chain runs on across the change of format.
 *
 * The chain runs across files: a FILE_START's previous hash is the hash of
 * the last record of the previous file.  The "chain hash" at a point is the
 * hash of the last record before it.
 *
 * Payloads are opaque to the journal (the engine encodes them, e.g. as
 * JSON), except for these three, which are the journal's own:
 *
 *  FILE_START:	u32 this file's number, u16 n, n bytes: the previous file's
 *		name ("" for the first file).  Its previous-hash field carries
 *		the previous file's last hash.
 *  TORN_TAIL_CUT: u64 offset of the cut, u64 bytes cut, 32 bytes SHA-256 of
 *		the bytes cut, u16 n, n bytes: name of the file cut.
 *  CHECKPOINT:	u64 seq covered, 32 bytes chain hash (= hash of record seq
 *		covered = this record's previous hash), 32 bytes key id
 *		(SHA-256 of the signer's public key, DER SubjectPublicKeyInfo),
 *		u16 n, n bytes: signature.  The signature is EVP_DigestSign with
 *		SHA-256 (RSA PKCS#1 v1.5 or ECDSA) over
 *		"accord-journal-checkpoint-1" NUL, u64 seq covered, chain hash.
 *  TIMESTAMP:	not the journal's own (the engine appends it) but about
 *		it: JSON (record_timestamp.h) with an RFC 3161 token whose
 *		imprint is the SHA-256 of a checkpoint's signed bytes.  A
 *		checkpoint is written before its token exists, so the token
 *		comes in a later record.
 *
 * At open, only a torn end of the LAST file is repaired: fewer bytes than a
 * header, a header whose record runs past the end of the file, a complete
 * last record whose hash does not match, or a run of zero bytes (a file
 * system's zero fill after a crash).  It is cut and a TORN_TAIL_CUT record
 * says so.  Anything else -- a bad hash with records after it, a broken
 * chain, a missing file, an unknown version or kind -- is damage: the
 * journal refuses to open, naming file, offset and record number, and the
 * daemon refuses to start.  Complete, valid records of a batch that was
 * being written when the process died are kept: they were not acknowledged,
 * and what they record is true.
 *
 * Rotation happens only between batches, so one batch is always one write to
 * one file: a file may exceed the size limit by one batch, and a batch
 * begun before midnight UTC may end just after it.
 */
#ifndef ACCORD_JOURNAL_H
#define ACCORD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "util/clock.h"

#define JOURNAL_VERSION		2	/* written */
#define JOURNAL_VERSION_1	1	/* still read */
#define JOURNAL_HEADER_LEN	64	/* version 1's header, and the part
					 * every version begins with */
#define JOURNAL_HEADER2_LEN	160	/* version 2's header */
#define JOURNAL_CIPHER_NONE	0
#define JOURNAL_CIPHER_AES256GCM 1	/* a sealed message record */
#define JOURNAL_HASH_LEN	32
#define JOURNAL_MAX_PAYLOAD	(16U * 1024 * 1024)

enum journal_kind {
	JOURNAL_MESSAGE_RECEIVED = 1,	/* exact bytes received + metadata */
	JOURNAL_MESSAGE_SENT,		/* exact bytes sent + metadata */
	JOURNAL_RECEIPT_GIVEN,		/* the receipt we returned */
	JOURNAL_RECEIPT_GOT,		/* the partner's receipt */
	JOURNAL_DECISION,		/* fsm transition, deadlines, version */
	JOURNAL_REFUSAL,		/* a refused message and its code */
	JOURNAL_DEADLINE_FIRED,
	JOURNAL_OPERATOR_COMMAND,	/* uid, command, reveals */
	JOURNAL_CONFIG_LOAD,		/* certificates in force */
	JOURNAL_TORN_TAIL_CUT,		/* journal's own, see above */
	JOURNAL_CHECKPOINT,		/* journal's own, signed */
	JOURNAL_FILE_START,		/* journal's own, first of each file */
	JOURNAL_MESSAGE_STATE,		/* delivery state of a message */
	JOURNAL_INBOX_ACK,		/* the back office took a message */
	JOURNAL_PARTNER_PAUSE,		/* deliveries to a partner paused */
	JOURNAL_REFUSALS_COUNTED,	/* refusals beyond the rate, counted:
					 * not a decision */
	JOURNAL_TIMESTAMP,		/* an RFC 3161 token over a checkpoint
					 * (record_timestamp.h) */
	JOURNAL_SIGNATURE_VOID,		/* a signed message given up before
					 * it was journalled: not a decision */
	JOURNAL_KIND_MAX = JOURNAL_SIGNATURE_VOID
};

/* Tunables; journal_params_default() fills in the defaults. */
struct journal_params {
	const char	*dir;		/* state directory of journal files */
	off_t		 max_file_size;	/* rotate past this (64 MiB) */
	int		 rotate_daily;	/* new file on a new UTC date (1) */
	uint64_t	 checkpoint_every; /* records between them (1000) */
	int64_t		 checkpoint_secs; /* seconds between them (300) */
	EVP_PKEY	*sign_key;	/* checkpoint key; NULL: no checkpoints.
					 * The journal takes a reference.  With
					 * sign, only its public half is used
					 * (the key id) */
	/* sign the checkpoint message msg elsewhere (the signer process):
	 * sig holds *siglen bytes, and gets the signature.  NULL: sign
	 * with sign_key here.  @return 0, or -1. */
	int		(*sign)(void *arg, const uint8_t *msg, size_t len,
			    uint8_t *sig, size_t *siglen);
	void		*sign_arg;
	size_t		 open_files;	/* verify only the last this many files
					 * at open (0: every file, the default) */
	unsigned int	 format;	/* version to write (0: JOURNAL_VERSION;
					 * 1 only for tests of an upgrade) */
};

/* Counters, for tests and benchmarks. */
struct journal_stats {
	uint64_t	 commits;	/* successful journal_commit()s */
	uint64_t	 async_commits;	/* fdatasync on the writer thread */
	uint64_t	 loop_syncs;	/* fdatasync on the caller's thread */
	uint64_t	 loop_waits;	/* the caller blocked on a flight */
	uint64_t	 writes;	/* write system calls */
	uint64_t	 fsyncs;	/* fdatasync/fsync, files and dir */
	uint64_t	 files_created;
	uint64_t	 checkpoints;	/* checkpoints committed */
};

/* One record as read back.  Pointers stay valid until the next call of
 * journal_reader_next() or journal_reader_close(). */
struct journal_rec {
	enum journal_kind kind;
	unsigned int	 version;	/* its format, 1 or 2 */
	const uint8_t	*header;	/* its header's bytes, hdr_len of them */
	size_t		 hdr_len;
	unsigned int	 cipher;	/* version 2: cipher id (0) */
	uint8_t		 stored[JOURNAL_HASH_LEN]; /* version 2: SHA-256 of
					 * the payload as stored */
	uint8_t		 plain[JOURNAL_HASH_LEN]; /* of the plaintext */
	uint8_t		 key_id[JOURNAL_HASH_LEN];
	uint64_t	 seq;
	accord_time_t	 time;
	uint8_t		 prev[JOURNAL_HASH_LEN];
	uint8_t		 hash[JOURNAL_HASH_LEN];
	const uint8_t	*payload;
	size_t		 len;
	const char	*file;		/* path of the file holding it */
	uint32_t	 file_no;	/* its number (0: not a journal name) */
	uint64_t	 offset;	/* of its header in that file */
};

/* The first break found by a reader. */
struct journal_break {
	char		 file[1024];	/* path */
	uint64_t	 offset;	/* where the bad record starts */
	uint64_t	 recno;		/* record number = expected seq */
	int		 torn;		/* 1: a torn tail, to be cut */
	uint64_t	 tail_len;	/* torn: bytes from offset to the end */
	char		 reason[256];
	size_t		 file_index;	/* of file in the reader's list */
};

/* A journal is used from one thread (the event loop's); a reader may run
 * in another process on files being appended to. */
struct journal;
struct journal_reader;

/* The defaults, for dir. */
void journal_params_default(struct journal_params *p, const char *dir);

/*
 * Open the journal in p->dir (created 0700 if absent), lock it against a
 * second writer, verify every file and the whole chain (or only the last
 * p->open_files files, the daemon's start-up), cut a torn tail
 * (journalling TORN_TAIL_CUT) and start a first file if there is none.
 * @return the journal, or NULL after logging why (damage is logged with
 * file, offset and record number; the daemon must then refuse to start).
 */
struct journal *journal_open(const struct journal_params *p);

/* Release everything; records appended but not committed are dropped. */
void journal_close(struct journal *j);

/*
 * Buffer one record: assign its sequence number, stamp clock_now() and
 * chain it.  Nothing is written.  kind may not be one of the journal's own
 * (TORN_TAIL_CUT, CHECKPOINT, FILE_START).
 * @return 0 with *seqp (may be NULL) set, or -1 (bad kind or size, or a
 * journal that failed).
 */
int journal_append(struct journal *j, enum journal_kind kind,
    const void *payload, size_t len, uint64_t *seqp);

/*
 * Make every buffered record durable: one write and one fdatasync (plus a
 * directory fsync when the batch starts a new file).  A checkpoint is added
 * last when one is due.  On failure the file is truncated back to the last
 * commit and the buffered records are dropped; after a failed fdatasync the
 * journal refuses further commits (the kernel may have dropped the pages),
 * and the daemon must restart, which re-verifies the files.  As after a
 * crash, records of a failed batch may still be found at restart (e.g. when
 * only the directory fsync failed): they were never acknowledged, and what
 * they record is true.
 * @return the last committed sequence number, or -1 after logging.
 */
int64_t journal_commit(struct journal *j);

/*
 * Group commit without blocking the caller (the daemon's event loop,
 * DESIGN.md 3): journal_commit_start() writes the batch and hands its
 * fdatasync to a writer thread; appends may go on meanwhile (they form
 * the next batch).  When journal_commit_fd() turns readable, the caller
 * runs journal_commit_finish(): only then are the flight's records
 * committed.  One flight at a time.  A failed sync stops the journal as
 * journal_commit() does, and takes the flight's bytes off the disk.
 * journal_commit() itself waits for a flight before its own commit.
 * @return journal_commit_start: 0 started, 1 nothing to commit, -1
 * failed (the batch is dropped); journal_commit_finish: the last durable
 * seq, -2 while the sync runs, -1 if it failed; journal_commit_wait: as
 * finish, blocking until the sync is through.
 */
int journal_commit_start(struct journal *j);
int journal_commit_fd(struct journal *j);
int journal_commit_inflight(const struct journal *j);
int64_t journal_commit_finish(struct journal *j);
int64_t journal_commit_wait(struct journal *j);

/* Ask for a checkpoint in the next commit, whether due or not.
 * @return 0, or -1 when the journal has no signing key. */
int journal_checkpoint_request(struct journal *j);

/* The time stamped on the record appended last (its header's time). */
accord_time_t journal_last_append_time(const struct journal *j);

/* Last committed sequence number (0 if none). */
uint64_t journal_committed_seq(const struct journal *j);

/* Sequence numbers appended but not yet committed. */
uint64_t journal_pending(const struct journal *j);

/*
 * The latest checkpoint committed by this process: the record it covers
 * and the chain hash it signs.  A TIMESTAMP record does not count towards
 * the next checkpoint (an idle journal would checkpoint for ever).
 * @return 1, or 0 when none was committed since journal_open().
 */
int journal_latest_checkpoint(const struct journal *j, uint64_t *seq,
    uint8_t chain[JOURNAL_HASH_LEN]);

/* The bytes a checkpoint signs (see CHECKPOINT above), which a TIMESTAMP
 * record's token covers by their SHA-256.  @return their length. */
#define JOURNAL_CP_MESSAGE_MAX	(64 + JOURNAL_HASH_LEN)
size_t journal_checkpoint_message(uint64_t seq,
    const uint8_t chain[JOURNAL_HASH_LEN],
    uint8_t out[JOURNAL_CP_MESSAGE_MAX]);

/* Hex SHA-256 chain hash signed by the latest committed checkpoint, "" if
 * none yet.  This is what Receipts carry. */
const char *journal_latest_checkpoint_hash(const struct journal *j);

/* Path of the file being appended to. */
const char *journal_current_file(const struct journal *j);

void journal_get_stats(const struct journal *j, struct journal_stats *st);

/* I/O hooks, for tests that make writes or syncs fail.  Any member left
 * NULL means the system call. */
struct journal_io {
	ssize_t	(*pwrite)(int fd, const void *buf, size_t len, off_t off);
	int	(*fdatasync)(int fd);
};
void journal_set_io(struct journal *j, const struct journal_io *io);

/* ---- reading ------------------------------------------------------- */

/* A reader over every journal-NNNNNN.log of dir and of dir/archive (where
 * sealed files may be moved), in order, requiring the numbers to run
 * without gaps.  @return NULL after logging. */
struct journal_reader *journal_reader_open(const char *dir);

/*
 * The same, over the files numbered from `from` on, and of those only the
 * last `last` (0: all).  When files are left out the first one read is
 * taken as an anchor: its FILE_START's previous hash is trusted (the
 * audit checks the whole chain; start-up and catch-up need only the tail).
 */
struct journal_reader *journal_reader_open_from(const char *dir,
    uint32_t from, size_t last);

/* The paths of dir's journal files and of dir/archive's, in order, each
 * number once: a NULL-terminated array (free each and it) with *np, or
 * NULL after logging. */
char **journal_list_files(const char *dir, size_t *np);

/* A reader over the given files, in the order given (an audit of copies).
 * The first must start the chain unless allow_anchor is set, in which case
 * its FILE_START's previous hash is taken on trust. */
struct journal_reader *journal_reader_open_files(const char *const *files,
    size_t n, int allow_anchor);

/* Also verify every checkpoint's signature with key (borrowed). */
void journal_reader_set_key(struct journal_reader *r, EVP_PKEY *key);

/*
 * The next record, its hash and chain verified.
 * @return 1 with *rec filled, 0 at the clean end, -1 at the first break
 * (journal_reader_break() says where and why; reading stops there).
 */
int journal_reader_next(struct journal_reader *r, struct journal_rec *rec);

/*
 * After a break, go on reading from the file-th file of the reader's list
 * at offset (a record boundary the caller found, e.g. with
 * journal_record_parse()).  The first record read there is taken on trust
 * as an anchor is (its sequence number and previous hash; a FILE_START's
 * file number and previous file); every check resumes after it.  An audit
 * that reports every break, not only the first, reads on this way.
 * @return 0 (a file that cannot be read is the next break), or -1 (no
 * such file, or offset past its end).
 */
int journal_reader_resume(struct journal_reader *r, size_t file,
    uint64_t offset);

/*
 * The one record at p, rem bytes before the end of its file: header
 * (magic, version, kind, length), completeness and its own hash, into
 * *rec (payload pointing into p; file and offset unset) with its *total
 * length.  Neither the chain nor the sequence is checked.
 * @return 0, or -1 with why and *torn (the bytes end inside the record, or
 * it is the last one and its hash fails: what an interrupted append
 * leaves).
 */
int journal_record_parse(const uint8_t *p, size_t rem,
    struct journal_rec *rec, size_t *total, int *torn, char *why,
    size_t whylen);

/* The number of a journal-NNNNNN.log file name (a path's last part), or
 * 0 when it is not one (only the canonical spelling counts). */
uint32_t journal_file_number(const char *name);

/* The break that made journal_reader_next() return -1, else NULL. */
const struct journal_break *journal_reader_break(
    const struct journal_reader *r);

void journal_reader_close(struct journal_reader *r);

/* ---- direct reads -------------------------------------------------------- */

/* Where a record is: the store keeps it for every record read back. */
struct journal_pos {
	uint32_t	 file;		/* journal-NNNNNN.log's number */
	uint64_t	 offset;	/* of the record's header */
	uint64_t	 seq;		/* what the header must say */
};

/*
 * journal_append(), and where the record will be once committed (the file
 * a batch goes to is chosen at its first record).  @return 0, or -1.
 */
int journal_append_pos(struct journal *j, enum journal_kind kind,
    const void *payload, size_t len, struct journal_pos *pos);

/* What a sealed record's header says beside its payload. */
struct journal_seal {
	unsigned int	 cipher;	/* JOURNAL_CIPHER_AES256GCM */
	uint8_t		 plain[JOURNAL_HASH_LEN];	/* of the plaintext */
	uint8_t		 key_id[JOURNAL_HASH_LEN];
};

/*
 * journal_append_pos() of a sealed payload (journal_seal.c): its header
 * gets seal's cipher, plaintext digest and key id.  @return 0, or -1.
 */
int journal_append_sealed(struct journal *j, enum journal_kind kind,
    const void *payload, size_t len, const struct journal_seal *seal,
    struct journal_pos *pos);

/*
 * Read the one record at pos from dir (or dir/archive, where sealed files
 * may be moved), checking that its header names pos->seq and that its own
 * hash matches (the chain was verified when the journal was opened).
 * @return 0 with *rec filled and *bufp (free() it; rec points into it,
 * and the payload is followed by a NUL), or -1 after logging.
 */
int journal_read_at(const char *dir, const struct journal_pos *pos,
    struct journal_rec *rec, uint8_t **bufp);

/* Test hooks: direct reads made, and (into *scans) whole-journal readers
 * opened, by this process.  @return the direct reads. */
uint64_t journal_read_count(uint64_t *scans);

/* ---- disk space ------------------------------------------------------------ */

#define JOURNAL_RATE_DAYS	7	/* the window of the write rate */

struct journal_space {
	uint64_t	 free_bytes;	/* for an unprivileged writer */
	uint64_t	 journal_bytes;	/* every journal file (and archive/) */
	uint64_t	 recent_bytes;	/* files written in the window */
	uint64_t	 bytes_per_day;	/* recent_bytes / JOURNAL_RATE_DAYS */
	double		 days_left;	/* free / rate; -1: nothing written */
};

/* How long the journal's disk lasts at the last JOURNAL_RATE_DAYS' rate
 * (dir need not hold a journal yet).  @return 0, or -1 (statvfs). */
int journal_space(const char *dir, accord_time_t now,
    struct journal_space *sp);

/* ---- the journal's own payloads ---------------------------------------- */

struct journal_file_start {
	uint32_t	 number;
	char		 prev_file[64];
};

struct journal_torn_cut {
	uint64_t	 offset;
	uint64_t	 length;
	uint8_t		 sha256[JOURNAL_HASH_LEN];
	char		 file[64];
};

struct journal_checkpoint {
	uint64_t	 seq;		/* last record covered */
	uint8_t		 chain[JOURNAL_HASH_LEN];
	uint8_t		 key_id[JOURNAL_HASH_LEN];
	const uint8_t	*sig;		/* points into the record */
	size_t		 siglen;
};

/* Decoders.  @return 0, or -1 if rec is not of that kind or malformed. */
int journal_decode_file_start(const struct journal_rec *rec,
    struct journal_file_start *fs);
int journal_decode_torn_cut(const struct journal_rec *rec,
    struct journal_torn_cut *tc);
int journal_decode_checkpoint(const struct journal_rec *rec,
    struct journal_checkpoint *cp);

/*
 * Verify a CHECKPOINT record: well formed, covering the record just before
 * it (its chain hash is the record's previous hash), signed by key (a
 * public key, e.g. X509_get0_pubkey() of the gateway's certificate).
 * @return 0 when the signature is good, -1 otherwise (logged at debug).
 */
/* SHA-256 of key's DER SubjectPublicKeyInfo: the key id a checkpoint
 * carries.  @return 0, or -1. */
int journal_key_id(EVP_PKEY *key, uint8_t out[JOURNAL_HASH_LEN]);

int journal_verify_checkpoint(const struct journal_rec *rec, EVP_PKEY *key);

/* Length of a record's header in format version (0 if unknown). */
size_t journal_header_len(unsigned int version);

/* Name of a kind, e.g. "MESSAGE_RECEIVED"; "UNKNOWN" otherwise. */
const char *journal_kind_name(unsigned int kind);
/* The kind of that name.  @return it, or -1. */
int journal_kind_from_name(const char *name);

/* hex_encode() (hex.h) of a journal hash into out[65].  @return out. */
char *journal_hex(const uint8_t h[JOURNAL_HASH_LEN], char out[65]);

#endif
