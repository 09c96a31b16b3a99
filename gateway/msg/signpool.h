/*
 * signpool.h -- signing off the event loop (issue 20, item 2): a few
 * threads, each with its own loaded key, sign and serialize the envelopes
 * the engine built; a finished job makes an eventfd readable and the
 * loop takes the finished jobs, in any order, with signpool_done().
 *
 * The pool owns nothing of the engine: a job carries the document and
 * an opaque pointer back; the caller decides in which order results are
 * used (the engine keeps submit order).
 */
#ifndef ACCORD_SIGNPOOL_H
#define ACCORD_SIGNPOOL_H

#include <stddef.h>

#include <libxml/tree.h>

struct signpool;

struct signpool_job {
	struct signpool_job	*next;		/* the pool's, while queued */
	xmlDocPtr		 doc;		/* built and validated, freed
						 * by the worker */
	char			*out;		/* the signed bytes (malloc) */
	size_t			 len;
	int			 validate;	/* validate the envelope first
						 * (envelope_validate; with a
						 * signer process, the signer
						 * does) */
	int			 rc;		/* 0, -1 (logged), or -2: not
						 * valid, why says why */
	char			 why[512];
	void			*arg;		/* the caller's */
};

/*
 * How many signing threads the environment asks for, for either kind of
 * pool: ACCORD_SIGN_THREADS=N (0 or less: none, every signature on the
 * loop), unset or empty one per online processor; at most SIGNPOOL_MAX.
 */
#define SIGNPOOL_MAX	16
int signpool_threads(void);

/*
 * Start n threads (at most SIGNPOOL_MAX), each with its own signer loaded
 * from key_file and cert_file.  @return the pool, or NULL (logged).
 */
struct signpool *signpool_start(const char *key_file, const char *cert_file,
    int n);

/*
 * Under privilege separation: one thread per lane of the signer process
 * (msg/signer.h), each sending its jobs, serialized unsigned, over its
 * own lane; the signer process checks, signs and serializes them.
 * @return the pool, or NULL (logged).
 */
struct signer_client;
struct signpool *signpool_start_remote(struct signer_client *sc);

/* The number of threads. */
int signpool_size(const struct signpool *p);

/* Readable (an eventfd) when jobs are done. */
int signpool_fd(const struct signpool *p);

/* Queue job (doc set; out, len and rc are the worker's). */
void signpool_submit(struct signpool *p, struct signpool_job *job);

/* The jobs done since the last call (a list through next, any order);
 * clears the eventfd.  NULL if none. */
struct signpool_job *signpool_done(struct signpool *p);

/* Wait until no job is queued or running. */
void signpool_drain(struct signpool *p);

/* Stop the threads (after draining) and free the pool; NULL allowed.
 * Jobs done and not taken are the caller's to have taken before. */
void signpool_stop(struct signpool *p);

#endif
