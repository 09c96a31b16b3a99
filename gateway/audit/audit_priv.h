/*
 * audit_priv.h -- what the files of accord-audit share (audit/ only; the
 * interface is audit.h).
 *
 *	audit.c		reading the journal; its configuration loads
 *	audit_set.c	a hashed set of strings
 *	audit_cert.c	certificates: a message's KeyInfo, trust anchors
 *	audit_report.c	the report: findings, warnings, text, JSON
 *	audit_html.c	the report as a page
 *	audit_resync.c	reading on after a break in the journal
 *	audit_pool.c	verify's worker threads and their ring of records
 *	audit_verify.c	verify, and the checks of one message
 *	audit_tstamp.c	verify: the time-stamp tokens of checkpoints
 *	audit_signer.c	verify: the signer's log against the journal
 *	audit_replay.c	replay, and the configuration it reads
 *	audit_witness.c	witness
 *	audit_export.c	export
 */
#ifndef ACCORD_AUDIT_PRIV_H
#define ACCORD_AUDIT_PRIV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <openssl/x509.h>

#include "audit/audit.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "util/clock.h"

#define ATAG		"audit"
#define AUDIT_MAX_CERTS	8
#define AUDIT_BUCKETS	4096

/* ---- the report (audit_report.c) ------------------------------------- */

/* A finding about rec (NULL: about the whole input), of kind "check". */
void audit_finding(struct audit_report *, const struct journal_rec *,
    const char *, ...) __attribute__((format(printf, 3, 4)));
/* A finding of a kind (a word the summary counts by: "record", "chain",
 * "missing_file", "message", ...). */
void audit_finding_kind(struct audit_report *, const struct journal_rec *,
    const char *, const char *, ...) __attribute__((format(printf, 4, 5)));
/* A replayed decision that differs from the journalled one: text, and
 * both decisions (JSON objects, borrowed) for the table of differences. */
void audit_finding_diff(struct audit_report *, const struct journal_rec *,
    json_t *, json_t *, const char *, ...)
    __attribute__((format(printf, 5, 6)));
/* audit_keys.c: sealed message records (--master-key, --case-key). */
int audit_keys_have(void);
/* Open a sealed record into *plain (free()) and decode rm from it.
 * @return 1 opened, 0 no key for it (none given, or erased), -1 it does
 * not open or its plaintext is not the header's digest. */
int audit_unseal(const struct journal_rec *rec, struct record_message *rm,
    char **plain);

/* A warning about rec (NULL: about the whole input). */
void audit_warning(struct audit_report *, const struct journal_rec *,
    const char *, ...) __attribute__((format(printf, 3, 4)));
/* The report as one self-contained page (audit_html.c): verdict,
 * summary, warnings, findings, differences, cases (the report's "cases",
 * or cases when not NULL), written to path.  @return 0, or -1 (logged). */
int audit_html(const char *path, const char *title,
    const struct audit_report *rep, json_t *cases);

/* ---- an export's README.txt and verify.sh (audit_export_text.c) ----- */

struct audit_bundle {
	const char	*case_id;
	const char	*dir;
	json_t		*index;		/* chain.json's records */
	json_t		*files;		/* the messages exported */
	uint64_t	 checkpoint;	/* the closing one's seq, 0: none */
	int		 gateway_cert;	/* gateway-cert.pem was written */
	uint64_t	 unproven;	/* format-1 records by hash only */
};

/* Write README.txt and verify.sh into b->dir.  @return 0, or -1. */
int audit_bundle_texts(const struct audit_bundle *b);

/* ---- reading the journal (audit.c) ----------------------------------- */

/* What a pass over a journal counts; its breaks go to rep. */
struct audit_pass {
	struct audit_report	*rep;
	uint64_t		 records;
	uint64_t		 files;		/* files records were read from */
	uint64_t		 resyncs;	/* reading went on after a break */
	uint64_t		 bytes_skipped;	/* ... over these bytes */
	int			 broken;
	uint64_t		 last_seq;
	accord_time_t		 first_time;
	accord_time_t		 last_time;
};

/* One pass over a journal (the files given, or the journal files of one
 * directory): cb per record (non-zero stops), then flush (if not NULL);
 * a break is a finding (a torn end of the last file only a warning).
 * @return 0, or -1 if the input could not be opened. */
int audit_read_flush(const char *const *files, size_t nfiles,
    struct audit_pass *p, int (*cb)(void *, const struct journal_rec *),
    void (*flush)(void *), void *arg);
/* audit_read_flush() with no flush. */
int audit_read(const char *const *files, size_t nfiles, struct audit_pass *p,
    int (*cb)(void *, const struct journal_rec *), void *arg);
/* t as UTC, or "-" for 0. */
void audit_fmt_time(accord_time_t t, char *buf, size_t len);

/* What one CONFIG_LOAD says. */
struct audit_conf {
	char		 country[3];
	char		 signing[65];	/* our signing certificate */
	char		 file[1024];	/* accordd.xml as journalled */
	json_t		*partners;	/* as journalled */
	int		 seen;
};

/* What the CONFIG_LOAD rec says, into ac.  @return 0, or -1 when it is
 * not JSON (ac unchanged). */
int audit_conf_take(struct audit_conf *ac, const struct journal_rec *rec);
/* 1 if fingerprint fp is journalled for partner (or for us, when
 * partner is NULL). */
int audit_conf_allows(const struct audit_conf *ac, const char *partner,
    const char *fp);

/* ---- trusted time (audit_tstamp.c) ----------------------------------- */

struct audit_tsa;

/* With the CA of ca_file (NULL: the journalled one).  @return NULL after
 * logging when ca_file cannot be read. */
struct audit_tsa *audit_tsa_new(const char *ca_file);
void audit_tsa_free(struct audit_tsa *t);
/* In record order: a CONFIG_LOAD (its <timestamp>), a CHECKPOINT, a
 * TIMESTAMP (checked at once: its checkpoint came before it). */
void audit_tsa_config(struct audit_tsa *t, const struct journal_rec *rec);
void audit_tsa_checkpoint(struct audit_tsa *t, const struct journal_rec *rec);
void audit_tsa_record(struct audit_tsa *t, struct audit_report *rep,
    const struct journal_rec *rec);
/* Checkpoints without a token (a warning), and the summary's counts. */
void audit_tsa_end(struct audit_tsa *t, struct audit_report *rep,
    json_t *sum);

/* ---- the signer's log (audit_signer.c) -------------------------------- */

struct audit_slog;

/* Read the signer's log file (a malformed line is a finding).
 * @return it, or NULL after logging when it cannot be read. */
struct audit_slog *audit_slog_load(const char *file, struct audit_report *rep);
void audit_slog_free(struct audit_slog *sl);
/* In record order (sl may be NULL): a message record (decoded), a
 * checkpoint; a finding when the log, covering its time, lacks it. */
void audit_slog_message(struct audit_slog *sl, struct audit_report *rep,
    const struct journal_rec *rec, const struct record_message *rm);
void audit_slog_checkpoint(struct audit_slog *sl, struct audit_report *rep,
    const struct journal_rec *rec);
/* A signature given up (SIGNATURE_VOID, decoded): it holds its line of
 * the log as a journalled message does, counted apart; a finding when the
 * log, covering its time, lacks it. */
void audit_slog_void(struct audit_slog *sl, struct audit_report *rep,
    const struct journal_rec *rec, const struct record_void *rv);
/* What the log holds that no record does (findings), and the counts. */
void audit_slog_end(struct audit_slog *sl, struct audit_report *rep,
    const struct audit_pass *pass, json_t *sum);

/* ---- reading on after a break (audit_resync.c) ---------------------- */

struct audit_resync {
	uint8_t		*data;		/* the bytes of list[file] */
	size_t		 size;
	size_t		 file;
	int		 resumed;	/* at_file/at_off are set */
	size_t		 at_file;	/* where reading went on last */
	uint64_t	 at_off;
	uint64_t	 count;		/* resumptions past a break */
	uint64_t	 skipped;	/* bytes not read as records */
};

/* The next record of data at or after from whose own hash checks and
 * whose sequence number is at least min_seq (see audit_resync.c for the
 * heuristic).  @return 1 with *at and *seq, 0 if none. */
int audit_resync_scan(const uint8_t *data, size_t size, size_t from,
    uint64_t min_seq, size_t *at, uint64_t *seq);
/* Resume r after break b: at the record where it stopped if that is whole
 * (once), else at the next plausible record of the file, else at the next
 * of the n files of list.  @return 0 resumed, -1 nothing left to read. */
int audit_resync(struct audit_resync *rs, struct journal_reader *r,
    char **list, size_t n, const struct journal_break *b);
void audit_resync_free(struct audit_resync *rs);

/* ---- a string set, hashed (audit_set.c) ------------------------------ */

struct audit_str {
	struct audit_str *next;
	char		 key[RECORD_PARTNER_MAX + RECORD_ID_MAX + 72];
	char		 val[RECORD_SHA256_HEX];
};

struct audit_set {
	struct audit_str *b[AUDIT_BUCKETS];
	size_t		 n;
};

/* The bucket of the key a/b (b may be NULL). */
unsigned audit_hash(const char *a, const char *b);
/* The entry a/b, or NULL. */
struct audit_str *audit_set_get(struct audit_set *s, const char *a,
    const char *b);
/* Add a/b (or find it) and set its value (NULL: ""). */
struct audit_str *audit_set_put(struct audit_set *s, const char *a,
    const char *b, const char *val);
/* Free every entry; s is empty again. */
void audit_set_clear(struct audit_set *s);

/* ---- certificates (audit_cert.c) ------------------------------------- */

/* A certificate taken from a message's KeyInfo. */
struct audit_cert {
	X509		*x;
	char		 sha256[65];
};

/* Certificates of KeyInfo decoded once per thread. */
#define AUDIT_CERTCACHE_MAX	64
struct audit_certcache {
	struct audit_cert	 e[AUDIT_CERTCACHE_MAX];
	int			 n;
};

/* The certificates of the root's ds:Signature/ds:KeyInfo into out (each
 * with a reference; cache may be NULL).  @return how many (at most
 * max). */
int audit_keyinfo_certs(xmlDocPtr doc, struct audit_cert *out, int max,
    struct audit_certcache *cache);
void audit_certs_free(struct audit_cert *c, int n);
void audit_certcache_free(struct audit_certcache *c);
/* Every certificate of every *.pem of dir into a new store, or NULL
 * (logged). */
X509_STORE *audit_trust_load(const char *dir);
/* 1 if x chains to st at time t; 0 with the reason in why. */
int audit_trust_check(X509_STORE *st, X509 *x, accord_time_t t, char *why,
    size_t len);
/* The PEM certificate of path, or NULL (logged). */
X509 *audit_cert_read(const char *path);

/* ---- verify's worker threads (audit_pool.c) -------------------------- */

enum audit_job_state {
	AJ_FREE, AJ_SEQ, AJ_QUEUED, AJ_RUNNING, AJ_DONE
};

#define AUDIT_FINDING_MAX	2048

/* One record in the ring, and what the checks of a message found. */
struct audit_job {
	enum audit_job_state	 state;
	struct journal_rec	 rec;	/* payload: buf; file: interned */
	uint8_t			*buf;
	size_t			 cap;
	const struct audit_conf	*conf;	/* in force at this record */
	int			 conf_bad;	/* CONFIG_LOAD not JSON */
	/* a message's results */
	struct record_message	 rm;
	int			 decoded;	/* rm is valid */
	int			 checked;	/* the receipt check follows */
	int			 verified;	/* the signature verified */
	int			 rcpt_ids;	/* a Receipt's id, digest read */
	int			 no_conf;	/* no configuration in force */
	int			 sealed;	/* its body is sealed */
	int			 opened;	/* ... and was opened */
	char			*plain;		/* the record opened, which rm
						 * points into */
	char			 id[RECORD_ID_MAX];
	char			 sha[RECORD_SHA256_HEX + 8];
	X509			*own;	/* our certificate, if ours */
	char			 finding[AUDIT_FINDING_MAX];	/* "" none */
};

struct audit_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;	/* workers: a job is queued */
	pthread_cond_t		 done;	/* main: a job is done */
	struct audit_job	*jobs;
	uint64_t		 njobs;	/* ring size */
	uint64_t		 head;	/* next to apply */
	uint64_t		 tail;	/* next to fill */
	uint64_t		 next;	/* where workers look for work */
	int			 stop;
	int			 idle;	/* workers waiting for work */
	int			 main_waits;	/* ... and main for results */
	uint64_t		 wake_at;	/* wake main: a job from here
						 * done, or no work left */
	pthread_t		*threads;
	int			 nthreads;	/* 0: checks inline */
	X509_STORE		*trust;
	struct audit_certcache	 cache;	/* inline mode's */
	xmlStructuredErrorFunc	 efn;	/* the main thread's handler */
	void			*ectx;
	void			(*apply)(void *, struct audit_job *);
	void			*arg;	/* apply's */
};

/* Start nthreads workers (0 or 1: check inline); apply(arg, job) takes
 * each record's results in record order.  @return 0 or -1. */
int audit_pool_start(struct audit_pool *p, int nthreads, X509_STORE *trust,
    void (*apply)(void *, struct audit_job *), void *arg);
/* Apply the records whose results are in; with all, every record, else
 * until the ring has a free slot. */
void audit_pool_apply(struct audit_pool *p, int all);
/* The slot for the next record, once the ring has room. */
struct audit_job *audit_pool_slot(struct audit_pool *p);
/* The slot filled: a message (check) to the workers (checked here when
 * there are none), any other record to wait for its turn. */
void audit_pool_push(struct audit_pool *p, struct audit_job *j, int check);
/* Stop the workers and free the ring (again: nothing). */
void audit_pool_stop(struct audit_pool *p);

/* The checks of one message that need nothing of the records before it
 * but the configuration in force: any thread (audit_verify.c). */
void audit_check_message(struct audit_job *j, X509_STORE *trust,
    struct audit_certcache *cache);

#endif
