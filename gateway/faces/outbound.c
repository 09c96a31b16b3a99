/*
 * outbound.c -- delivery of our messages to partner gateways.
 *
 * libcurl's multi interface driven by the libevent loop, as in curl's
 * docs/examples/hiperfifo.c, through faces/curlev.h (shared with the
 * time-stamp client); outbound_check() collects what it finished.
 *
 * Every message's fate is decided by the engine; what is kept here is only
 * in memory: the transfers in flight, a cache of the bytes of messages
 * submitted in this process's life (after a restart they are read back
 * from the journal), and the retry schedule, as OpenSMTPD's scheduler
 * keeps it: after a restart every queued message is tried at once and
 * backs off again from there, while its retry window still runs from its
 * Created.  The outbox itself, and everything else of state, is reached
 * through the engine only.
 */
#include "accord-build.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf/conffile.h"
#include "util/log.h"
#include "faces/curlev.h"
#include "faces/outbound.h"
#include "faces/reader.h"
#include "faces/tlspeer.h"
#include "util/file.h"
#include "util/metric.h"
#include "util/stage.h"
#include "util/xmalloc.h"

#define OTAG	"outbound"

/*
 * A partner that fails is probed with its oldest queued message every
 * OUTBOUND_PROBE_SECONDS, whatever that message's own backoff: when it
 * answers, everything queued for it goes at once (outbound_partner_alive),
 * so a queue settles seconds after the partner returns, not when the
 * longest backoff runs out.
 */
#define OUTBOUND_PROBE_SECONDS	10

/* After NOT_YET the partner is up: retries start at 1 s and stay short. */
#define OUTBOUND_NOT_YET_MAX_BACKOFF	30

/* Largest answer we read: a Receipt or an Error is a few KB. */
#define OUTBOUND_MAX_ANSWER	(1024 * 1024)
#define OUTBOUND_KEY_MAX	(64 * 1024)	/* our TLS client key, PEM */

struct outbound;

/* The bytes of one submitted message, until it leaves the outbox. */
struct outbound_msg {
	char			 partner[RECORD_PARTNER_MAX];
	char			 message_id[RECORD_ID_MAX];
	char			*body;
	size_t			 len;
	TAILQ_ENTRY(outbound_msg) entry;
	struct outbound_msg	*hnext;		/* its cache bucket's */
};

/*
 * What the verify callback checks of one partner's server certificate
 * beyond its chain and host name: a copy owned by the connection's
 * SSL_CTX (ex_data, freed with it), since a reload frees the agreement
 * while a handshake may still run.
 */
struct outbound_tls {
	char			 partner[RECORD_PARTNER_MAX];
	char			*endpoint;
	char			*crl_path;
	X509_CRL		*crl;		/* a reference; NULL: none */
	char			 pin[65];	/* "": no server pin */
};

/* One transfer in flight. */
struct outbound_xfer {
	struct outbound		*ob;
	CURL			*easy;
	struct curl_slist	*headers;
	char			 partner[RECORD_PARTNER_MAX];
	char			 message_id[RECORD_ID_MAX];
	char			 case_id[RECORD_ID_MAX];
	int			 attempts;	/* before this one */
	accord_time_t		 queued;	/* when it was (re)queued: an
						 * operator's resend gets a
						 * retry window of its own */
	char			*body;		/* what we post */
	size_t			 len;
	char			*answer;	/* what the partner said */
	size_t			 alen;
	int			 too_long;
	int			 signal;	/* a standalone Receipt: no
						 * outbox entry, no engine */
	char			 errbuf[CURL_ERROR_SIZE];
	struct outbound_tls	*tls;		/* for a new connection */
	struct reader_job	 job;		/* its answer being read */
	TAILQ_ENTRY(outbound_xfer) entry;
};

/* When a message that failed may go again (in memory only). */
struct outbound_retry {
	char			 partner[RECORD_PARTNER_MAX];
	char			 message_id[RECORD_ID_MAX];
	accord_time_t		 next;
	int			 attempts;	/* failed so far */
	struct outbound_retry	*hnext;
};
#define OUTBOUND_RETRY_BUCKETS	1024

/* What we know of a partner's reachability (in memory only). */
struct outbound_peer {
	char			 partner[RECORD_PARTNER_MAX];
	int			 failing;	/* attempts failed since the
						 * last success */
	accord_time_t		 next_probe;	/* while failing */
};
#define OUTBOUND_PEERS_MAX	64

/*
 * The live link to each partner, as the reports show it (queues, alerts):
 * they run on the control socket's worker thread, so it is kept apart
 * from struct outbound, under its own lock, for the process's life (a
 * report never reads a freed sender).
 */
struct outbound_linkrow {
	char			 partner[RECORD_PARTNER_MAX];
	struct report_link	 l;
};
static pthread_mutex_t outbound_links_mu = PTHREAD_MUTEX_INITIALIZER;
static struct outbound_linkrow outbound_links[OUTBOUND_PEERS_MAX];
static int outbound_nlinks;

/* Every delivery attempt, the latest OUTBOUND_ATTEMPTS_KEPT (same lock). */
struct outbound_attemptrow {
	char			 partner[RECORD_PARTNER_MAX];
	char			 message_id[RECORD_ID_MAX];
	struct report_attempt	 a;
};
static struct outbound_attemptrow *outbound_attempt_ring;
static size_t outbound_attempt_next;	/* attempts ever logged */

struct outbound {
	struct event_base	*base;
	const struct config	*conf;
	struct engine		*engine;
	struct curlev		 ce;		/* libcurl's multi, driven */
	struct event		*ev_poll;	/* the outbox, every second */
	struct event		*ev_kick;	/* the outbox, now */
	struct event		*ev_commit;	/* answers read: commit */
	struct reader		*reader;	/* with a parser process */
	int			 nxfers;
	int			 renew;		/* a reload waits for a new
						 * multi (see outbound_renew) */
	TAILQ_HEAD(, outbound_xfer) xfers;
	TAILQ_HEAD(, outbound_msg) cache;
	/* the cache by partner and message id: a submit looks it up, and
	 * thousands may be queued (issue 20: a list made that quadratic) */
	struct outbound_msg	*cachetab[OUTBOUND_RETRY_BUCKETS];
	struct outbound_peer	 peers[OUTBOUND_PEERS_MAX];
	int			 npeers;
	struct outbound_retry	*retry[OUTBOUND_RETRY_BUCKETS];
	/* our TLS client key, read once at start (the engine may run as a
	 * user that cannot read the file later) */
	struct curl_blob	 key;
};

/* Outbox rows collected before acting on them. */
struct outbound_due {
	struct store_outbox	*rows;
	size_t			 n;
	size_t			 cap;
};

static unsigned outbound_retry_bucket(const char *, const char *);
static int outbound_renew(struct outbound *);
static void outbound_tls_free(void *, void *, CRYPTO_EX_DATA *, int, long,
    void *);

static int outbound_tls_idx = -1;

/* ---- the bytes of our messages ---------------------------------------- */

static struct outbound_msg *
outbound_cache_find(struct outbound *ob, const char *partner,
    const char *message_id)
{
	struct outbound_msg *m;

	for (m = ob->cachetab[outbound_retry_bucket(partner, message_id)];
	    m != NULL; m = m->hnext)
		if (strcmp(m->message_id, message_id) == 0 &&
		    strcmp(m->partner, partner) == 0)
			return m;
	return NULL;
}

static void
outbound_cache_drop(struct outbound *ob, const char *partner,
    const char *message_id)
{
	struct outbound_msg *m, **mp;

	mp = &ob->cachetab[outbound_retry_bucket(partner, message_id)];
	for (; (m = *mp) != NULL; mp = &m->hnext)
		if (strcmp(m->message_id, message_id) == 0 &&
		    strcmp(m->partner, partner) == 0)
			break;
	if (m == NULL)
		return;
	*mp = m->hnext;
	TAILQ_REMOVE(&ob->cache, m, entry);
	free(m->body);
	free(m);
}

int
outbound_enqueue(struct outbound *ob, const struct engine_outgoing *o)
{
	struct outbound_msg *m;
	int rc = -1;

	if (ob == NULL)
		return -1;
	if (outbound_cache_find(ob, o->partner, o->message_id) != NULL) {
		rc = 0;
		goto done;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->body = malloc(o->len + 1)) == NULL) {
		free(m);
		log_warnx(OTAG, "%s: out of memory, will read it back from "
		    "the journal", o->message_id);
		goto done;
	}
	memcpy(m->body, o->body, o->len);
	m->body[o->len] = '\0';
	m->len = o->len;
	snprintf(m->partner, sizeof(m->partner), "%s", o->partner);
	snprintf(m->message_id, sizeof(m->message_id), "%s", o->message_id);
	TAILQ_INSERT_TAIL(&ob->cache, m, entry);
	m->hnext = ob->cachetab[outbound_retry_bucket(m->partner,
	    m->message_id)];
	ob->cachetab[outbound_retry_bucket(m->partner, m->message_id)] = m;
	rc = 0;
done:
	outbound_kick(ob);
	return rc;
}

/* The bytes to post, from the cache or the journal.  @return 0, or -1. */
static int
outbound_bytes(struct outbound *ob, const struct store_outbox *o,
    char **body, size_t *len)
{
	const struct agreement *a;
	struct engine_outgoing out;
	struct outbound_msg *m;

	/*
	 * An operator's resend (attempts counted, see engine_resend): under
	 * v2 the original goes inside a Redelivery, fresh by its own
	 * Created, so the partner takes it with the original's meaning and
	 * timeliness however old it is; under v1 the original bytes.
	 */
	if (o->attempts > 0 && (a = config_partner(ob->conf, o->partner)) !=
	    NULL && agreement_wire_version(a) >= 2) {
		if (engine_redelivery_build(ob->engine, o->partner,
		    o->message_id, &out) == -1)
			return -1;
		*body = out.body;
		*len = out.len;
		log_info(OTAG, "%s to %s: resent as a Redelivery",
		    o->message_id, o->partner);
		return 0;
	}
	if ((m = outbound_cache_find(ob, o->partner, o->message_id)) != NULL) {
		if ((*body = malloc(m->len + 1)) == NULL)
			return -1;
		memcpy(*body, m->body, m->len);
		(*body)[m->len] = '\0';
		*len = m->len;
		return 0;
	}
	return engine_message_bytes(ob->engine, o->journal_seq, body, len);
}

/* ---- the live link, for the reports -------------------------------------- */

/* The row of partner, created; NULL when the table is full.  Locked. */
static struct report_link *
outbound_link_row(const char *partner)
{
	int i;

	for (i = 0; i < outbound_nlinks; i++)
		if (strcmp(outbound_links[i].partner, partner) == 0)
			return &outbound_links[i].l;
	if (outbound_nlinks == OUTBOUND_PEERS_MAX)
		return NULL;
	i = outbound_nlinks++;
	memset(&outbound_links[i], 0, sizeof(outbound_links[i]));
	snprintf(outbound_links[i].partner, sizeof(outbound_links[i].partner),
	    "%s", partner);
	return &outbound_links[i].l;
}

/* Delivery attempts and failures, by partner, for the metrics. */
static struct metric_family outbound_m_attempts = {
	.name = "accord_delivery_attempts_total",
	.help = "Attempts to deliver a message of ours (a probe of a failing "
	    "partner included), by partner.",
	.type = METRIC_COUNTER,
	.labels = { "partner" },
};
static struct metric_family outbound_m_failures = {
	.name = "accord_delivery_failures_total",
	.help = "Delivery attempts that failed (no connection, no answer, "
	    "HTTP 5xx, a retryable Error), by partner.",
	.type = METRIC_COUNTER,
	.labels = { "partner" },
};

/* An attempt of message_id to partner ended: error, or "" answered. */
static void
outbound_attempt_log(const char *partner, const char *message_id,
    accord_time_t now, const char *error)
{
	struct outbound_attemptrow *r;

	metric_add(&outbound_m_attempts, 1, (const char *[]){ partner });
	if (error[0] != '\0')
		metric_add(&outbound_m_failures, 1, (const char *[]){ partner });
	pthread_mutex_lock(&outbound_links_mu);
	if (outbound_attempt_ring == NULL)
		outbound_attempt_ring = calloc(OUTBOUND_ATTEMPTS_KEPT,
		    sizeof(*outbound_attempt_ring));
	if (outbound_attempt_ring != NULL) {
		r = &outbound_attempt_ring[outbound_attempt_next++ %
		    OUTBOUND_ATTEMPTS_KEPT];
		snprintf(r->partner, sizeof(r->partner), "%s", partner);
		snprintf(r->message_id, sizeof(r->message_id), "%s",
		    message_id);
		r->a.time = now;
		snprintf(r->a.error, sizeof(r->a.error), "%s", error);
	}
	pthread_mutex_unlock(&outbound_links_mu);
}

int
outbound_attempts(const char *partner, const char *message_id,
    struct report_attempt *out, int max)
{
	struct outbound_attemptrow *r;
	size_t i, first;
	int n = 0;

	pthread_mutex_lock(&outbound_links_mu);
	first = outbound_attempt_next > OUTBOUND_ATTEMPTS_KEPT ?
	    outbound_attempt_next - OUTBOUND_ATTEMPTS_KEPT : 0;
	for (i = first; outbound_attempt_ring != NULL &&
	    i < outbound_attempt_next; i++) {
		r = &outbound_attempt_ring[i % OUTBOUND_ATTEMPTS_KEPT];
		if (strcmp(r->message_id, message_id) != 0 ||
		    strcmp(r->partner, partner) != 0)
			continue;
		if (n == max) {		/* keep the latest */
			memmove(out, out + 1, (size_t)(max - 1) *
			    sizeof(*out));
			n--;
		}
		if (max > 0)
			out[n++] = r->a;
	}
	pthread_mutex_unlock(&outbound_links_mu);
	return n;
}

/* An attempt to partner failed (reason), the next is at next. */
static void
outbound_link_failed(const char *partner, accord_time_t now,
    const char *reason, accord_time_t next)
{
	struct report_link *l;

	pthread_mutex_lock(&outbound_links_mu);
	if ((l = outbound_link_row(partner)) != NULL) {
		if (l->failing_since == 0)
			l->failing_since = now;
		l->failures++;
		snprintf(l->last_error, sizeof(l->last_error), "%s", reason);
		l->last_error_at = now;
		if (l->next_attempt <= now || next < l->next_attempt)
			l->next_attempt = next;
	}
	pthread_mutex_unlock(&outbound_links_mu);
}

/* partner answered one of our messages. */
static void
outbound_link_ok(const char *partner, accord_time_t now)
{
	struct report_link *l;

	pthread_mutex_lock(&outbound_links_mu);
	if ((l = outbound_link_row(partner)) != NULL) {
		l->failing_since = 0;
		l->failures = 0;
		l->last_success_at = now;
		l->next_attempt = 0;
	}
	pthread_mutex_unlock(&outbound_links_mu);
}

/* The next attempt to partner is at next (a probe, an operator's retry). */
static void
outbound_link_next(const char *partner, accord_time_t next)
{
	struct report_link *l;

	pthread_mutex_lock(&outbound_links_mu);
	if ((l = outbound_link_row(partner)) != NULL && l->failing_since != 0)
		l->next_attempt = next;
	pthread_mutex_unlock(&outbound_links_mu);
}

int
outbound_link(const char *partner, struct report_link *out)
{
	int i, found = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&outbound_links_mu);
	for (i = 0; i < outbound_nlinks; i++)
		if (strcmp(outbound_links[i].partner, partner) == 0) {
			*out = outbound_links[i].l;
			found = 1;
			break;
		}
	pthread_mutex_unlock(&outbound_links_mu);
	return found;
}

/* ---- retry policy -------------------------------------------------------- */

static unsigned
outbound_retry_bucket(const char *partner, const char *message_id)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	const char *p;

	for (p = partner; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (p = message_id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % OUTBOUND_RETRY_BUCKETS;
}

/* The retry entry of a message; created when create is set. */
static struct outbound_retry *
outbound_retry_get(struct outbound *ob, const char *partner,
    const char *message_id, int create)
{
	struct outbound_retry *r;
	unsigned b = outbound_retry_bucket(partner, message_id);

	for (r = ob->retry[b]; r != NULL; r = r->hnext)
		if (strcmp(r->message_id, message_id) == 0 &&
		    strcmp(r->partner, partner) == 0)
			return r;
	if (!create)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	snprintf(r->partner, sizeof(r->partner), "%s", partner);
	snprintf(r->message_id, sizeof(r->message_id), "%s", message_id);
	r->hnext = ob->retry[b];
	ob->retry[b] = r;
	return r;
}

/* The message left the outbox (answered, or given up): forget it. */
static void
outbound_retry_drop(struct outbound *ob, const char *partner,
    const char *message_id)
{
	struct outbound_retry **rp, *r;

	rp = &ob->retry[outbound_retry_bucket(partner, message_id)];
	for (; (r = *rp) != NULL; rp = &r->hnext)
		if (strcmp(r->message_id, message_id) == 0 &&
		    strcmp(r->partner, partner) == 0) {
			*rp = r->hnext;
			free(r);
			return;
		}
}

static void
outbound_retry_set(struct outbound *ob, const char *partner,
    const char *message_id, accord_time_t next, int attempts)
{
	struct outbound_retry *r;

	r = outbound_retry_get(ob, partner, message_id, 1);
	r->next = next;
	r->attempts = attempts;
}

/* Every backed-off message of partner may go now, from attempt 0. */
static int
outbound_retry_reset(struct outbound *ob, const char *partner)
{
	struct outbound_retry **rp, *r;
	int b, n = 0;

	for (b = 0; b < OUTBOUND_RETRY_BUCKETS; b++)
		for (rp = &ob->retry[b]; (r = *rp) != NULL; ) {
			if (strcmp(r->partner, partner) != 0) {
				rp = &r->hnext;
				continue;
			}
			*rp = r->hnext;
			free(r);
			n++;
		}
	return n;
}

static struct outbound_peer *
outbound_peer(struct outbound *ob, const char *partner)
{
	struct outbound_peer *p;
	int i;

	for (i = 0; i < ob->npeers; i++)
		if (strcmp(ob->peers[i].partner, partner) == 0)
			return &ob->peers[i];
	if (ob->npeers == OUTBOUND_PEERS_MAX)
		return NULL;
	p = &ob->peers[ob->npeers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->partner, sizeof(p->partner), "%s", partner);
	return p;
}

int
outbound_retry_now(struct outbound *ob, const char *partner)
{
	struct outbound_peer *p;
	accord_time_t now = clock_now();
	int n;

	if (ob == NULL)
		return 0;
	n = outbound_retry_reset(ob, partner);
	if ((p = outbound_peer(ob, partner)) != NULL && p->failing > 0)
		p->next_probe = now;
	outbound_link_next(partner, now);
	outbound_kick(ob);
	return n;
}

void
outbound_partner_alive(struct outbound *ob, const char *partner)
{
	struct outbound_peer *p;
	int n;

	if (ob == NULL || engine_store_behind(ob->engine))
		return;
	p = outbound_peer(ob, partner);
	if (p != NULL && p->failing == 0)
		return;		/* nothing backed off: nothing to do */
	n = outbound_retry_reset(ob, partner);
	if (p != NULL)
		p->failing = 0;
	if (n > 0) {
		log_info(OTAG, "%s is reachable again: %d queued message(s) "
		    "go now", partner, n);
		outbound_kick(ob);
	}
}

/*
 * The attempt failed.  Within the retry window (from the message's
 * Created): back off exponentially with jitter, the last attempt at the
 * window's end; after it: UNDELIVERED.
 */
static void
outbound_failed(struct outbound *ob, struct outbound_xfer *x,
    const char *reason, int not_yet)
{
	const struct agreement *a;
	accord_time_t now = clock_now(), start, end, next, created;
	int64_t backoff, initial = 5, max = 900, window = 172800;
	int attempts = x->attempts + 1, i;
	struct outbound_peer *peer;

	outbound_attempt_log(x->partner, x->message_id, now, reason);
	if (!not_yet && (peer = outbound_peer(ob, x->partner)) != NULL &&
	    peer->failing++ == 0)
		peer->next_probe = now + OUTBOUND_PROBE_SECONDS;
	if ((a = config_partner(ob->conf, x->partner)) != NULL) {
		initial = a->retry.initial_backoff_seconds;
		max = a->retry.max_backoff_seconds;
		window = a->retry.window_seconds;
	}
	if (not_yet) {
		/* the partner is up and waits for a receipt we are posting
		 * now: come back soon, but do not hammer it */
		initial = 1;
		max = OUTBOUND_NOT_YET_MAX_BACKOFF;
	}
	if (initial < 1)
		initial = 1;
	if (max < initial)
		max = initial;
	start = now;
	if (engine_message_created(ob->engine, x->partner, x->message_id,
	    &created) == 1 && created > 0)
		start = created;
	/* an operator's resend: a new window from when it was asked */
	if (x->queued > start)
		start = x->queued;
	end = start + window;
	if (now >= end) {
		char why[300];

		snprintf(why, sizeof(why), "retry window of %llds over after "
		    "%d attempts; last: %.200s", (long long)window, attempts,
		    reason);
		outbound_link_failed(x->partner, now, reason, 0);
		if (engine_undelivered(ob->engine, x->partner, x->message_id,
		    why) == -1)
			log_errx(OTAG, "%s to %s: cannot record UNDELIVERED",
			    x->message_id, x->partner);
		else
			outbound_retry_drop(ob, x->partner, x->message_id);
		outbound_cache_drop(ob, x->partner, x->message_id);
		return;
	}
	backoff = initial;
	for (i = 1; i < attempts && backoff < max; i++)
		backoff *= 2;
	if (backoff > max)
		backoff = max;
	/* jitter: partners coming back are not hit by every sender at once */
	backoff = backoff / 2 + (int64_t)arc4random_uniform(
	    (uint32_t)(backoff - backoff / 2) + 1);
	if (backoff < 1)
		backoff = 1;
	next = now + backoff;
	if (next > end)
		next = end;
	outbound_retry_set(ob, x->partner, x->message_id, next, attempts);
	peer = outbound_peer(ob, x->partner);
	outbound_link_failed(x->partner, now, reason, peer != NULL &&
	    peer->failing > 0 && peer->next_probe < next ? peer->next_probe :
	    next);
	log_warnx(OTAG, "%s to %s: attempt %d failed: %s; next in %llds",
	    x->message_id, x->partner, attempts, reason,
	    (long long)(next - now));
}

/* ---- one transfer ---------------------------------------------------------- */

static size_t
outbound_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct outbound_xfer *x = arg;
	size_t len = size * n;
	char *p;

	if (x->alen + len > OUTBOUND_MAX_ANSWER) {
		x->too_long = 1;
		return 0;
	}
	if ((p = realloc(x->answer, x->alen + len + 1)) == NULL)
		return 0;
	x->answer = p;
	memcpy(x->answer + x->alen, data, len);
	x->alen += len;
	x->answer[x->alen] = '\0';
	return len;
}

static void
outbound_xfer_free(struct outbound_xfer *x)
{
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->ob->ce.multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	if (x->tls != NULL)
		outbound_tls_free(NULL, x->tls, NULL, 0, 0, NULL);
	free(x->body);
	free(x->answer);
	free(x);
}

static int
outbound_partner_busy(struct outbound *ob, const char *partner)
{
	struct outbound_xfer *x;
	int n = 0;

	TAILQ_FOREACH(x, &ob->xfers, entry)
		if (strcmp(x->partner, partner) == 0)
			n++;
	return n;
}

/* Are all the connections a partner may have busy?  Then the outbox is
 * not asked for its messages (engine_outbox_due_some). */
static int
outbound_partner_full(void *arg, const char *partner)
{
	struct outbound *ob = arg;

	return outbound_partner_busy(ob, partner) >=
	    ob->conf->connections_per_partner;
}

static int
outbound_in_flight(struct outbound *ob, const char *partner,
    const char *message_id)
{
	struct outbound_xfer *x;

	TAILQ_FOREACH(x, &ob->xfers, entry)
		if (strcmp(x->message_id, message_id) == 0 &&
		    strcmp(x->partner, partner) == 0)
			return 1;
	return 0;
}

/* ---- the partner's server certificate ----------------------------------- */

static void
outbound_tls_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct outbound_tls *t = ptr;

	if (t == NULL)
		return;
	X509_CRL_free(t->crl);
	free(t->endpoint);
	free(t->crl_path);
	free(t);
}

/*
 * Verify callback of a connection to a partner: once its chain (to the
 * partner's CA alone) verified, the partner's CRL must not list the
 * certificate and, where the agreement pins one, it must be the pinned
 * certificate.  A refusal fails the handshake: not one byte of the
 * message is sent, it stays in the outbox and is retried, and each
 * refusal is logged and counted.
 */
static int
outbound_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	const struct outbound_tls *t;
	SSL *ssl;
	X509 *cert;
	X509_REVOKED *rev;
	char hex[65], detail[200];

	if (!ok || X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL || (t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    outbound_tls_idx)) == NULL) {
		/* set up by outbound_ssl_ctx_cb for every connection */
		X509_STORE_CTX_set_error(sctx,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	cert = X509_STORE_CTX_get_current_cert(sctx);
	if (t->crl != NULL && X509_CRL_get0_by_cert(t->crl, &rev, cert) == 1) {
		tlspeer_refused(t->partner, TLSPEER_OUTBOUND, TLSPEER_REVOKED,
		    cert, t->endpoint, t->crl_path);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REVOKED);
		return 0;
	}
	if (t->pin[0] != '\0') {
		conf_cert_sha256(cert, hex);
		if (strcmp(hex, t->pin) != 0) {
			snprintf(detail, sizeof(detail), "certificate "
			    "sha256:%s, server-pin sha256:%s", hex, t->pin);
			tlspeer_refused(t->partner, TLSPEER_OUTBOUND,
			    TLSPEER_PIN, cert, t->endpoint, detail);
			X509_STORE_CTX_set_error(sctx,
			    X509_V_ERR_APPLICATION_VERIFICATION);
			return 0;
		}
	}
	return ok;
}

/* A copy of what outbound_verify_cb needs: of an agreement (from is
 * NULL), or of another copy.  @return it, or NULL (out of memory). */
static struct outbound_tls *
outbound_tls_new(const struct agreement *a, const struct outbound_tls *from)
{
	struct outbound_tls *t;
	const char *endpoint, *crl_path;
	X509_CRL *crl;

	if (from != NULL) {
		endpoint = from->endpoint;
		crl_path = from->crl_path;
		crl = from->crl;
	} else {
		endpoint = a->endpoint != NULL ? a->endpoint : "?";
		crl_path = a->crl_path;
		crl = a->crl;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	snprintf(t->partner, sizeof(t->partner), "%s", from != NULL ?
	    from->partner : a->country);
	snprintf(t->pin, sizeof(t->pin), "%s", from != NULL ? from->pin :
	    a->tls_server_pin_sha256);
	t->endpoint = strdup(endpoint);
	t->crl_path = crl_path != NULL ? strdup(crl_path) : NULL;
	if (crl != NULL && X509_CRL_up_ref(crl) == 1)
		t->crl = crl;
	if (t->endpoint == NULL || (crl != NULL && (t->crl == NULL ||
	    t->crl_path == NULL))) {
		outbound_tls_free(NULL, t, NULL, 0, 0, NULL);
		return NULL;
	}
	return t;
}

/*
 * CURLOPT_SSL_CTX_FUNCTION: libcurl (built with OpenSSL) made a context
 * for a new connection of transfer x, with the partner's CA and
 * VERIFY_PEER; add our checks to it.  The context gets a copy of its
 * own: a connection outlives the transfer that opened it.
 */
static CURLcode
outbound_ssl_ctx_cb(CURL *easy, void *sslctx, void *arg)
{
	const struct outbound_xfer *x = arg;
	SSL_CTX *ctx = sslctx;
	struct outbound_tls *t;

	if ((t = outbound_tls_new(NULL, x->tls)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	if (SSL_CTX_set_ex_data(ctx, outbound_tls_idx, t) != 1) {
		/* the free callback runs only once it is attached */
		outbound_tls_free(NULL, t, NULL, 0, 0, NULL);
		ERR_clear_error();
		return CURLE_OUT_OF_MEMORY;
	}
	/* no renegotiation: the certificate checked is the one used */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx) |
	    SSL_VERIFY_PEER, outbound_verify_cb);
	return CURLE_OK;
}

#define SETOPT(opt, val) do {						\
	if (curl_easy_setopt(x->easy, opt, val) != CURLE_OK) {		\
		log_errx(OTAG, "curl_easy_setopt(%s) failed", #opt);	\
		goto fail;						\
	}								\
} while (0)

/* Post o's bytes (taken over) to its partner; signal: a standalone
 * Receipt.  @return 0, or -1. */
static int
outbound_send(struct outbound *ob, const struct agreement *a,
    const struct store_outbox *o, char *body, size_t len, int signal)
{
	struct outbound_xfer *x;
	struct curl_slist *h;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		free(body);
		return -1;
	}
	stage_begin(STAGE_HTTP);
	x->ob = ob;
	x->signal = signal;
	x->body = body;
	x->len = len;
	{
		struct outbound_retry *r;

		r = outbound_retry_get(ob, o->partner, o->message_id, 0);
		x->attempts = r != NULL ? r->attempts : 0;
	}
	/* an operator's resend comes back with attempts counted (see
	 * engine_resend): its next_attempt is when it was asked */
	if (o->attempts > 0)
		x->queued = o->next_attempt;
	snprintf(x->partner, sizeof(x->partner), "%s", o->partner);
	snprintf(x->message_id, sizeof(x->message_id), "%s", o->message_id);
	snprintf(x->case_id, sizeof(x->case_id), "%s", o->case_id);
	if ((x->easy = curl_easy_init()) == NULL)
		goto fail;
	h = curl_slist_append(NULL, "Content-Type: application/xml");
	if (h != NULL)
		x->headers = h;
	/* PITFALLS.md 11: no 100-continue round trip for small posts */
	if (h == NULL || (h = curl_slist_append(x->headers, "Expect:")) ==
	    NULL || (h = curl_slist_append(x->headers,
	    "Accept: application/xml")) == NULL)
		goto fail;
	SETOPT(CURLOPT_URL, a->endpoint);
	SETOPT(CURLOPT_PRIVATE, x);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	/* never through a proxy named by the environment */
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_POSTFIELDS, x->body);
	SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->len);
	SETOPT(CURLOPT_HTTPHEADER, x->headers);
	SETOPT(CURLOPT_USERAGENT, "accordd/" PACKAGE_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, outbound_write_cb);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_CONNECTTIMEOUT, (long)OUTBOUND_CONNECT_TIMEOUT);
	SETOPT(CURLOPT_TIMEOUT, (long)OUTBOUND_TIMEOUT);
	SETOPT(CURLOPT_TCP_NODELAY, 1L);
	/* mutual TLS: ours, and the partner's CA alone (no system CAs) */
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(CURLOPT_SSLCERT, ob->conf->tls_client_cert);
	SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
	SETOPT(CURLOPT_SSLKEY_BLOB, &ob->key);
	SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
	SETOPT(CURLOPT_CAINFO, a->tls_ca_path);
	SETOPT(CURLOPT_CAPATH, NULL);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	/* the partner's CRL and server pin (outbound_verify_cb), copied:
	 * a reload frees a before the connection may be made */
	if ((x->tls = outbound_tls_new(a, NULL)) == NULL)
		goto fail;
	SETOPT(CURLOPT_SSL_CTX_FUNCTION, outbound_ssl_ctx_cb);
	SETOPT(CURLOPT_SSL_CTX_DATA, x);
	if (curl_multi_add_handle(ob->ce.multi, x->easy) != CURLM_OK) {
		log_errx(OTAG, "curl_multi_add_handle failed");
		goto fail;
	}
	TAILQ_INSERT_TAIL(&ob->xfers, x, entry);
	ob->nxfers++;
	log_debug(OTAG, "%s to %s: attempt %d", x->message_id, x->partner,
	    x->attempts + 1);
	stage_end(STAGE_HTTP);
	return 0;
fail:
	if (x->easy != NULL) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	outbound_xfer_free(x);
	stage_end(STAGE_HTTP);
	return -1;
}

/*
 * The partner answered NOT_YET: it holds a message of its own that waits
 * for the receipt of the latest message of the case it received from us.
 * Post the Receipt we gave for it, once at a time (DESIGN.md 3).
 */
static void
outbound_post_receipt(struct outbound *ob, const char *partner,
    const char *case_id)
{
	const struct agreement *a;
	struct store_outbox o;
	char *body = NULL;
	size_t len;

	/* best effort: not while a reload renews the connections */
	if (ob->renew)
		return;
	memset(&o, 0, sizeof(o));
	if (engine_partner_receipt(ob->engine, partner, case_id, o.message_id,
	    sizeof(o.message_id), &body, &len) != 1)
		return;		/* nothing of theirs received: nothing to post */
	snprintf(o.partner, sizeof(o.partner), "%s", partner);
	snprintf(o.case_id, sizeof(o.case_id), "%s", case_id);
	if (outbound_in_flight(ob, partner, o.message_id) ||
	    (a = config_partner(ob->conf, partner)) == NULL ||
	    a->endpoint == NULL || a->tls_ca_path == NULL) {
		free(body);
		return;
	}
	if (outbound_send(ob, a, &o, body, len, 1) == -1)
		log_errx(OTAG, "receipt for %s to %s: cannot start a transfer",
		    o.message_id, partner);
	else
		log_info(OTAG, "%s is waiting for our receipt of %s: posting "
		    "it", partner, o.message_id);
}

/* Did the partner answer with something for the engine to judge (a
 * Receipt, a signed Error, or something to dispute), by HTTP status and
 * body length? */
static int
outbound_answered(long code, size_t alen)
{
	return code == 200 || (code >= 400 && code < 500 && code != 408 &&
	    code != 429 && alen > 0);
}

/* The engine takes x's answer, read already by a reader (rx) or now. */
static int
outbound_take(struct outbound *ob, struct outbound_xfer *x,
    struct engine_rx *rx, struct engine_answer *a)
{
	const char *answer = x->answer != NULL ? x->answer : "";

	if (rx != NULL)
		return engine_receipt_parsed(ob->engine, rx, x->message_id,
		    answer, x->alen, a);
	return engine_receipt_batched(ob->engine, x->partner, x->message_id,
	    answer, x->alen, a);
}

/* A transfer is over: let the engine judge the answer (read already by
 * a reader when rx is not NULL), or retry. */
static void
outbound_done(struct outbound *ob, struct outbound_xfer *x, CURLcode res,
    struct engine_rx *rx)
{
	struct engine_answer a;
	char reason[CURL_ERROR_SIZE + 64];
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (x->signal) {
		/* best effort: the partner asks again if it did not get it */
		if (res != CURLE_OK || code != 200)
			log_warnx(OTAG, "receipt for %s to %s not taken: %s "
			    "(HTTP %ld)", x->message_id, x->partner,
			    res != CURLE_OK ? curl_easy_strerror(res) : "refused",
			    code);
		return;
	}
	if (res != CURLE_OK) {
		snprintf(reason, sizeof(reason), "%s", x->too_long ?
		    "answer too long" : x->errbuf[0] != '\0' ? x->errbuf :
		    curl_easy_strerror(res));
		outbound_failed(ob, x, reason, 0);
		return;
	}
	if (outbound_answered(code, x->alen)) {
		/* a Receipt, a signed Error, or something to dispute */
		/* one commit for every answer of this loop turn: see
		 * outbound_check() */
		if (outbound_take(ob, x, rx, &a) == -1) {
			/* our fault (journal): the answer is not taken, the
			 * message stays in the outbox and goes again */
			snprintf(reason, sizeof(reason), "HTTP %ld, but the "
			    "answer could not be recorded", code);
			outbound_failed(ob, x, reason, 0);
			engine_answer_clear(&a);
			return;
		}
		if (a.code != AE_OK && errcode_retryable(a.code)) {
			/* a signed, retryable Error: no effect, try again */
			snprintf(reason, sizeof(reason), "HTTP %ld: %s", code,
			    a.text);
			if (a.code == AE_NOT_YET)
				outbound_post_receipt(ob, x->partner,
				    a.case_id);
			outbound_failed(ob, x, reason, a.code == AE_NOT_YET);
			engine_answer_clear(&a);
			return;
		}
		if (a.code != AE_OK)
			log_warnx(OTAG, "%s to %s: HTTP %ld: %s", x->message_id,
			    x->partner, code, a.text);
		engine_answer_clear(&a);
		outbound_cache_drop(ob, x->partner, x->message_id);
		outbound_retry_drop(ob, x->partner, x->message_id);
		outbound_link_ok(x->partner, clock_now());
		outbound_attempt_log(x->partner, x->message_id, clock_now(),
		    "");
		/* it answered: what backed off for it may go now */
		outbound_partner_alive(ob, x->partner);
		return;
	}
	snprintf(reason, sizeof(reason), "HTTP %ld%s", code,
	    x->alen == 0 ? " without a body" : "");
	outbound_failed(ob, x, reason, 0);
}

/* ---- the outbox ---------------------------------------------------------- */

static int
outbound_collect(void *arg, const struct store_outbox *o)
{
	struct outbound_due *due = arg;
	struct store_outbox *p;

	if (due->n == due->cap) {
		size_t n = due->cap ? due->cap * 2 : 32;

		if ((p = reallocarray(due->rows, n, sizeof(*p))) == NULL)
			return 1;
		due->rows = p;
		due->cap = n;
	}
	due->rows[due->n++] = *o;
	return 0;
}

/* Probe every failing partner whose probe is due (see above). */
static void
outbound_probe(struct outbound *ob, accord_time_t now)
{
	struct outbound_due due = { NULL, 0, 0 };
	const struct agreement *a;
	struct outbound_peer *p;
	char *body;
	size_t len;
	int i;

	for (i = 0; i < ob->npeers; i++) {
		p = &ob->peers[i];
		if (p->failing == 0 || now < p->next_probe ||
		    outbound_partner_busy(ob, p->partner) > 0)
			continue;
		p->next_probe = now + OUTBOUND_PROBE_SECONDS;
		outbound_link_next(p->partner, p->next_probe);
		due.n = 0;
		if (engine_outbox_oldest(ob->engine, p->partner,
		    outbound_collect, &due) == -1 || due.n == 0 ||
		    (a = config_partner(ob->conf, p->partner)) == NULL ||
		    a->endpoint == NULL || a->tls_ca_path == NULL)
			continue;
		if (outbound_bytes(ob, &due.rows[0], &body, &len) == -1)
			continue;
		log_debug(OTAG, "%s is failing: probing it with %s", p->partner,
		    due.rows[0].message_id);
		if (outbound_send(ob, a, &due.rows[0], body, len, 0) == -1)
			log_errx(OTAG, "%s: cannot start a probe", p->partner);
	}
	free(due.rows);
}

/* Start a transfer for every due message that may go now. */
static void
outbound_scan(struct outbound *ob)
{
	const struct agreement *a;
	struct outbound_due due = { NULL, 0, 0 };
	struct store_outbox *o;
	struct outbound_retry *r;
	accord_time_t now = clock_now();
	char *body;
	size_t i, len;

	/* while the store lags no answer could be taken: wait for it */
	if (engine_store_behind(ob->engine) || outbound_renew(ob) == -1)
		return;
	/* the outbox's queries and the bytes read back; a transfer's
	 * setup is HTTP again (outbound_send) */
	stage_begin(STAGE_OTHER);
	outbound_probe(ob, now);
	if (engine_outbox_due_some(ob->engine, now, outbound_partner_full, ob,
	    outbound_collect, &due) == -1)
		goto done;
	for (i = 0; i < due.n; i++) {
		o = &due.rows[i];
		if ((r = outbound_retry_get(ob, o->partner, o->message_id,
		    0)) != NULL && r->next > now)
			continue;	/* backing off */
		if (outbound_in_flight(ob, o->partner, o->message_id) ||
		    outbound_partner_busy(ob, o->partner) >=
		    ob->conf->connections_per_partner)
			continue;
		if ((a = config_partner(ob->conf, o->partner)) == NULL ||
		    a->endpoint == NULL || a->tls_ca_path == NULL) {
			/* the agreement was removed: nothing to send with */
			log_warnx(OTAG, "%s to %s: no agreement with an "
			    "endpoint; trying again later", o->message_id,
			    o->partner);
			outbound_retry_set(ob, o->partner, o->message_id,
			    now + 3600, r != NULL ? r->attempts : 0);
			continue;
		}
		if (outbound_bytes(ob, o, &body, &len) == -1) {
			log_errx(OTAG, "%s to %s: its bytes are not in the "
			    "journal (record %llu)", o->message_id, o->partner,
			    (unsigned long long)o->journal_seq);
			outbound_retry_set(ob, o->partner, o->message_id,
			    now + 60, r != NULL ? r->attempts : 0);
			continue;
		}
		if (outbound_send(ob, a, o, body, len, 0) == -1)
			log_errx(OTAG, "%s to %s: cannot start a transfer",
			    o->message_id, o->partner);
	}
done:
	stage_end(STAGE_OTHER);
	free(due.rows);
}

static void
outbound_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	outbound_scan(arg);
}

void
outbound_kick(struct outbound *ob)
{
	struct timeval zero = { 0, 0 };

	if (ob != NULL && !evtimer_pending(ob->ev_kick, NULL))
		evtimer_add(ob->ev_kick, &zero);
}

/* ---- finished transfers -------------------------------------------------- */

static int outbound_read_later(struct outbound *, struct outbound_xfer *,
    CURLcode);

/* Collect finished transfers (curlev's check: not called from inside a
 * curl callback). */
static void
outbound_check(void *arg)
{
	struct outbound *ob = arg;
	struct outbound_xfer *x;
	CURLMsg *msg;
	long nconn;
	int left, finished = 0;

	while ((msg = curl_multi_info_read(ob->ce.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		if (x == NULL)
			continue;
		/* the connections this transfer had to make (0: it reused
		 * one) */
		if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS,
		    &nconn) == CURLE_OK)
			tlspeer_handshakes(TLSPEER_OUTBOUND, nconn);
		/* an answer to take, with a parser process: read on the
		 * reader thread, taken in outbound_parsed() */
		if (outbound_read_later(ob, x, msg->data.result) == 0)
			continue;
		/* msg belongs to the handle: read it before removing it;
		 * taking the answer is the engine's work, not HTTP's */
		stage_begin(STAGE_OTHER);
		outbound_done(ob, x, msg->data.result, NULL);
		stage_end(STAGE_OTHER);
		TAILQ_REMOVE(&ob->xfers, x, entry);
		ob->nxfers--;
		outbound_xfer_free(x);
		finished++;
	}
	/* the answers taken above, in one commit on the journal's writer
	 * thread; when it lands the daemon kicks us again, and a receipt
	 * may let the next message of its case go */
	if (finished && engine_flush_start(ob->engine) ==
	    ENGINE_FLUSH_FAILED)
		log_errx(OTAG, "committing %d answers failed: their messages "
		    "stay in the outbox and go again", finished);
}

/* ---- answers read off the loop ------------------------------------------ */

/* The answers taken since the last commit, in one commit on the
 * journal's writer thread (as outbound_check() does for its own). */
static void
outbound_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbound *ob = arg;

	if (engine_flush_start(ob->engine) == ENGINE_FLUSH_FAILED)
		log_errx(OTAG, "committing answers failed: their messages "
		    "stay in the outbox and go again");
}

/* An answer the reader read: the transfer ends as in outbound_check(). */
static void
outbound_parsed(struct reader_job *job, void *arg)
{
	struct outbound_xfer *x = arg;
	struct outbound *ob = x->ob;
	struct timeval zero = { 0, 0 };

	/* not read, a stop being under way: the message stays in the
	 * outbox as it is (no failed attempt, never UNDELIVERED for it) */
	if (!job->unread) {
		stage_begin(STAGE_OTHER);
		outbound_done(ob, x, CURLE_OK, &job->rx);
		stage_end(STAGE_OTHER);
	}
	TAILQ_REMOVE(&ob->xfers, x, entry);
	ob->nxfers--;
	outbound_xfer_free(x);
	if (!evtimer_pending(ob->ev_commit, NULL))
		evtimer_add(ob->ev_commit, &zero);
}

/*
 * With a parser process, the partner's answer to a message of ours (what
 * outbound_done() would hand the engine) is read on a reader thread while
 * the loop goes on; the transfer stays in flight (its connection is not
 * used again) until outbound_parsed().  @return 0 when handed, -1 when
 * the caller does it all now.
 */
static int
outbound_read_later(struct outbound *ob, struct outbound_xfer *x,
    CURLcode res)
{
	long code = 0;

	if (x->signal || res != CURLE_OK || engine_parser(ob->engine) == NULL)
		return -1;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (!outbound_answered(code, x->alen))
		return -1;
	if (ob->reader == NULL) {
		if ((ob->reader = reader_start(ob->base)) == NULL)
			return -1;
		log_info(OTAG, "partners' answers to our messages are read by "
		    "the parser process off the event loop");
	}
	x->job.done = outbound_parsed;
	x->job.arg = x;
	engine_rx_prepare(ob->engine, x->partner, &x->job.rx);
	/* an answer is read with the envelope's own limits, not those of a
	 * partner's message (engine_receipt_take()'s own reading) */
	memset(&x->job.rx.lim, 0, sizeof(x->job.rx.lim));
	return reader_hand(ob->reader, &x->job, x->answer != NULL ?
	    x->answer : "", x->alen);
}

/* ---- start, reload, stop ------------------------------------------------- */

/* The multi handle's limits, from the configuration. */
static void
outbound_multi_opts(struct outbound *ob)
{
	CURLM *m = ob->ce.multi;

	/* HTTP/1.1 without pipelining: a connection carries one message at
	 * a time, and no more transfers than connections start (the scan) */
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)ob->conf->connections_per_partner);
	/*
	 * Keep every partner's connections open between transfers: by
	 * default the cache holds four times the easy handles added, which
	 * shrinks as transfers end, and connections beyond it are closed,
	 * each a new TCP and TLS handshake at the next message.
	 */
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS,
	    (long)ob->conf->connections_per_partner *
	    (ob->conf->npartners > 0 ? ob->conf->npartners : 1));
}

/*
 * After a reload no connection made under the old settings may carry a
 * message: the multi keeps idle connections (verified against the old
 * CRL and pin) for reuse.  Once the transfers in flight are over, the
 * multi is replaced; until then no transfer starts.  @return 0 when
 * transfers may start.
 */
static int
outbound_renew(struct outbound *ob)
{
	if (!ob->renew)
		return 0;
	if (ob->nxfers > 0)
		return -1;
	if (curlev_renew(&ob->ce) == -1) {
		log_errx(OTAG, "reload: cannot renew the connections; trying "
		    "again in a second");
		return -1;
	}
	outbound_multi_opts(ob);
	ob->renew = 0;
	log_debug(OTAG, "connections of the old configuration closed");
	return 0;
}

struct outbound *
outbound_start(struct event_base *base, const struct config *c,
    struct engine *e)
{
	static int curl_ready;
	struct outbound *ob;
	struct timeval sec = { 1, 0 };

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_errx(OTAG, "curl_global_init failed");
			return NULL;
		}
		curl_ready = 1;
	}
	if (outbound_tls_idx == -1 && (outbound_tls_idx =
	    SSL_CTX_get_ex_new_index(0, "accord outbound", NULL, NULL,
	    outbound_tls_free)) == -1) {
		log_openssl(OTAG, "SSL_CTX_get_ex_new_index");
		return NULL;
	}
	if ((ob = calloc(1, sizeof(*ob))) == NULL) {
		log_err(OTAG, "calloc");
		return NULL;
	}
	metric_register(&outbound_m_attempts);
	metric_register(&outbound_m_failures);
	tlspeer_handshakes(TLSPEER_OUTBOUND, 0);
	ob->base = base;
	ob->conf = c;
	ob->engine = e;
	ob->key.flags = CURL_BLOB_COPY;
	if (c->tls_client_key_pem != NULL) {
		/* read by the privilege-separated parent, as root */
		ob->key.data = xmalloc(c->tls_client_key_pem_len);
		memcpy(ob->key.data, c->tls_client_key_pem,
		    c->tls_client_key_pem_len);
		ob->key.len = c->tls_client_key_pem_len;
	} else if ((ob->key.data = file_read(c->tls_client_key,
	    OUTBOUND_KEY_MAX, &ob->key.len)) == NULL) {
		log_err(OTAG, "%s", c->tls_client_key);
		free(ob);
		return NULL;
	}
	TAILQ_INIT(&ob->xfers);
	TAILQ_INIT(&ob->cache);
	if (curlev_init(&ob->ce, base, outbound_check, ob) == -1 ||
	    (ob->ev_kick = evtimer_new(base, outbound_poll_cb, ob)) == NULL ||
	    (ob->ev_commit = evtimer_new(base, outbound_commit_cb, ob)) ==
	    NULL ||
	    (ob->ev_poll = event_new(base, -1, EV_PERSIST, outbound_poll_cb,
	    ob)) == NULL) {
		log_errx(OTAG, "cannot set up the sender");
		outbound_stop(ob);
		return NULL;
	}
	outbound_multi_opts(ob);
	event_add(ob->ev_poll, &sec);
	outbound_kick(ob);
	log_info(OTAG, "delivering to %d partners, at most %d transfers "
	    "each", c->npartners, c->connections_per_partner);
	return ob;
}

void
outbound_set_config(struct outbound *ob, const struct config *c)
{
	if (ob == NULL)
		return;
	/* curl copied every string it was given: transfers in flight keep
	 * the old settings, new ones take these, on new connections */
	if (c->tls_client_key_pem != NULL) {
		/* the key the privilege-separated parent sent: the engine
		 * may not read the file */
		if (ob->key.data != NULL)
			explicit_bzero(ob->key.data, ob->key.len);
		free(ob->key.data);
		ob->key.data = xmalloc(c->tls_client_key_pem_len);
		memcpy(ob->key.data, c->tls_client_key_pem,
		    c->tls_client_key_pem_len);
		ob->key.len = c->tls_client_key_pem_len;
	}
	ob->conf = c;
	ob->renew = 1;
	outbound_kick(ob);
}

void
outbound_stop_reading(struct outbound *ob)
{
	if (ob != NULL)
		reader_stop_begin(ob->reader);
}

void
outbound_stop(struct outbound *ob)
{
	struct outbound_xfer *x;
	struct outbound_msg *m;
	struct outbound_retry *r;
	int i;

	if (ob == NULL)
		return;
	/* answers being read are taken (the last commit is the caller's) */
	reader_stop(ob->reader);
	ob->reader = NULL;
	if (ob->nxfers > 0)
		log_info(OTAG, "stopping with %d transfers in flight: they "
		    "stay queued", ob->nxfers);
	while ((x = TAILQ_FIRST(&ob->xfers)) != NULL) {
		TAILQ_REMOVE(&ob->xfers, x, entry);
		outbound_xfer_free(x);
	}
	curlev_free(&ob->ce);
	for (i = 0; i < OUTBOUND_RETRY_BUCKETS; i++)
		while ((r = ob->retry[i]) != NULL) {
			ob->retry[i] = r->hnext;
			free(r);
		}
	while ((m = TAILQ_FIRST(&ob->cache)) != NULL) {
		TAILQ_REMOVE(&ob->cache, m, entry);
		free(m->body);
		free(m);
	}
	if (ob->ev_kick != NULL)
		event_free(ob->ev_kick);
	if (ob->ev_commit != NULL)
		event_free(ob->ev_commit);
	if (ob->ev_poll != NULL)
		event_free(ob->ev_poll);
	if (ob->key.data != NULL)
		explicit_bzero(ob->key.data, ob->key.len);
	free(ob->key.data);
	free(ob);
}
