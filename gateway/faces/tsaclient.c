/*
 * tsaclient.c -- time-stamping the journal's checkpoints (see
 * tsaclient.h).  The libcurl-in-libevent glue is faces/curlev.h's, as
 * outbound's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/sha.h>

#include "faces/curlev.h"
#include "faces/tsaclient.h"
#include "msg/tstamp.h"
#include "persist/journal.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metric.h"
#include "util/xmalloc.h"

#define TTAG	"timestamp"

struct tsaclient {
	struct event_base	*base;
	struct engine		*engine;
	char			*url;
	int			 retry_secs;
	X509_STORE		*ca;
	struct curlev		 ce;		/* a small multi of its own */
	struct event		*ev_retry;	/* the next try */

	/* the request in flight (easy != NULL) */
	CURL			*easy;
	struct curl_slist	*hdrs;
	uint8_t			*req;
	size_t			 reqlen;
	uint8_t			*reply;
	size_t			 replylen;
	int			 toolong;
	uint64_t		 nonce;
	uint64_t		 cur_seq;
	uint8_t			 cur_chain[JOURNAL_HASH_LEN];
	uint8_t			 cur_digest[TSTAMP_DIGEST_LEN];

	/* the checkpoint to stamp next (want_seq 0: none) */
	uint64_t		 want_seq;
	uint8_t			 want_chain[JOURNAL_HASH_LEN];
	uint64_t		 seen_seq;	/* the latest checkpoint seen */
	int			 wait;		/* seconds before the next try */
};

/* The reports read this from their own threads. */
static pthread_mutex_t tsaclient_mu = PTHREAD_MUTEX_INITIALIZER;
static struct report_tsa tsaclient_st;
static int tsaclient_on;

static struct metric_family tsaclient_m_failures = {
	.name = "accord_timestamp_failures_total",
	.help = "Requests to the time-stamp authority that failed (no "
	    "connection, no answer, a reply refused or not verifying).",
	.type = METRIC_COUNTER,
};

static void tsaclient_next(struct tsaclient *);

int
tsaclient_state(struct report_tsa *out)
{
	int on;

	pthread_mutex_lock(&tsaclient_mu);
	on = tsaclient_on;
	*out = tsaclient_st;
	pthread_mutex_unlock(&tsaclient_mu);
	return on;
}

/* ---- one request ----------------------------------------------------------- */

static size_t
tsaclient_write(char *p, size_t size, size_t n, void *arg)
{
	struct tsaclient *tc = arg;
	size_t len = size * n;

	if (tc->replylen + len > TSACLIENT_REPLY_MAX) {
		tc->toolong = 1;
		return 0;
	}
	tc->reply = xreallocarray(tc->reply, tc->replylen + len + 1, 1);
	memcpy(tc->reply + tc->replylen, p, len);
	tc->replylen += len;
	return len;
}

static void
tsaclient_xfer_free(struct tsaclient *tc)
{
	if (tc->easy != NULL) {
		curl_multi_remove_handle(tc->ce.multi, tc->easy);
		curl_easy_cleanup(tc->easy);
	}
	tc->easy = NULL;
	curl_slist_free_all(tc->hdrs);
	tc->hdrs = NULL;
	OPENSSL_free(tc->req);
	tc->req = NULL;
	free(tc->reply);
	tc->reply = NULL;
	tc->replylen = 0;
	tc->toolong = 0;
}

/* Ask for a token over the checkpoint wanted.  @return 0, or -1. */
static int
tsaclient_send(struct tsaclient *tc)
{
	uint8_t msg[JOURNAL_CP_MESSAGE_MAX];
	size_t mlen;

	tc->cur_seq = tc->want_seq;
	memcpy(tc->cur_chain, tc->want_chain, JOURNAL_HASH_LEN);
	mlen = journal_checkpoint_message(tc->cur_seq, tc->cur_chain, msg);
	SHA256(msg, mlen, tc->cur_digest);
	if (tstamp_request(tc->cur_digest, &tc->req, &tc->reqlen,
	    &tc->nonce) == -1)
		return -1;
	if ((tc->easy = curl_easy_init()) == NULL)
		return -1;
	tc->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/timestamp-query");
	tc->hdrs = curl_slist_append(tc->hdrs,
	    "Accept: application/timestamp-reply");
	curl_easy_setopt(tc->easy, CURLOPT_URL, tc->url);
	curl_easy_setopt(tc->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(tc->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(tc->easy, CURLOPT_POSTFIELDS, tc->req);
	curl_easy_setopt(tc->easy, CURLOPT_POSTFIELDSIZE, (long)tc->reqlen);
	curl_easy_setopt(tc->easy, CURLOPT_HTTPHEADER, tc->hdrs);
	curl_easy_setopt(tc->easy, CURLOPT_WRITEFUNCTION, tsaclient_write);
	curl_easy_setopt(tc->easy, CURLOPT_WRITEDATA, tc);
	curl_easy_setopt(tc->easy, CURLOPT_TIMEOUT, (long)TSACLIENT_TIMEOUT);
	curl_easy_setopt(tc->easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(tc->easy, CURLOPT_NOSIGNAL, 1L);
	if (curl_multi_add_handle(tc->ce.multi, tc->easy) != CURLM_OK)
		return -1;
	log_debug(TTAG, "asking %s for a token over the checkpoint at "
	    "record %llu", tc->url, (unsigned long long)tc->cur_seq);
	return 0;
}

/* The request failed: why, counted, and tried again later. */
static void
tsaclient_failed(struct tsaclient *tc, const char *why)
{
	struct timeval tv;
	accord_time_t now = clock_now();

	metric_add(&tsaclient_m_failures, 1, NULL);
	tv.tv_sec = tc->wait;
	tv.tv_usec = 0;
	pthread_mutex_lock(&tsaclient_mu);
	if (tsaclient_st.failing_since == 0)
		tsaclient_st.failing_since = now;
	tsaclient_st.failures++;
	snprintf(tsaclient_st.last_error, sizeof(tsaclient_st.last_error),
	    "%s", why);
	tsaclient_st.next_attempt = now + tc->wait;
	pthread_mutex_unlock(&tsaclient_mu);
	log_warnx(TTAG, "no token for the checkpoint at record %llu from %s: "
	    "%s; trying again in %d s", (unsigned long long)tc->cur_seq,
	    tc->url, why, tc->wait);
	evtimer_add(tc->ev_retry, &tv);
	tc->wait = tc->wait * 2 > TSACLIENT_BACKOFF_MAX ?
	    TSACLIENT_BACKOFF_MAX : tc->wait * 2;
}

/* The reply is in (or the transfer failed with res). */
static void
tsaclient_done(struct tsaclient *tc, CURLcode res)
{
	uint8_t *token = NULL;
	size_t tlen;
	long code = 0;
	char why[300];

	curl_easy_getinfo(tc->easy, CURLINFO_RESPONSE_CODE, &code);
	if (res != CURLE_OK)
		snprintf(why, sizeof(why), "%s", tc->toolong ? "reply too "
		    "long" : curl_easy_strerror(res));
	else if (code != 200)
		snprintf(why, sizeof(why), "HTTP %ld", code);
	else if (tstamp_reply_check(tc->reply, tc->replylen, tc->cur_digest,
	    tc->nonce, tc->ca, &token, &tlen, why, sizeof(why)) == 0) {
		if (engine_timestamp(tc->engine, tc->cur_seq, tc->cur_chain,
		    tc->url, token, tlen) == -1)
			snprintf(why, sizeof(why), "the token could not be "
			    "journalled");
		else
			why[0] = '\0';
	}
	OPENSSL_free(token);
	tsaclient_xfer_free(tc);
	if (why[0] != '\0') {
		tsaclient_failed(tc, why);
		return;
	}
	log_info(TTAG, "checkpoint at record %llu time-stamped by %s",
	    (unsigned long long)tc->cur_seq, tc->url);
	tc->wait = tc->retry_secs;
	pthread_mutex_lock(&tsaclient_mu);
	tsaclient_st.failing_since = 0;
	tsaclient_st.failures = 0;
	tsaclient_st.last_error[0] = '\0';
	tsaclient_st.next_attempt = 0;
	tsaclient_st.stamped = tc->cur_seq;
	if (tsaclient_st.waiting == tc->cur_seq)
		tsaclient_st.waiting = 0;
	pthread_mutex_unlock(&tsaclient_mu);
	if (tc->want_seq == tc->cur_seq)
		tc->want_seq = 0;
	tsaclient_next(tc);
}

/* Send what is wanted, unless a request flies or a retry waits. */
static void
tsaclient_next(struct tsaclient *tc)
{
	if (tc->want_seq == 0 || tc->easy != NULL ||
	    evtimer_pending(tc->ev_retry, NULL))
		return;
	if (tsaclient_send(tc) == -1) {
		tsaclient_xfer_free(tc);
		tsaclient_failed(tc, "the request could not be made");
	}
}

static void
tsaclient_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	tsaclient_next(arg);
}

void
tsaclient_checkpoint(struct tsaclient *tc)
{
	uint64_t seq;
	uint8_t chain[JOURNAL_HASH_LEN];

	if (tc == NULL || engine_latest_checkpoint(tc->engine, &seq,
	    chain) != 1 || seq <= tc->seen_seq)
		return;
	/* the newest supersedes one still waiting (tsaclient.h) */
	tc->seen_seq = seq;
	tc->want_seq = seq;
	memcpy(tc->want_chain, chain, JOURNAL_HASH_LEN);
	pthread_mutex_lock(&tsaclient_mu);
	tsaclient_st.waiting = seq;
	pthread_mutex_unlock(&tsaclient_mu);
	tsaclient_next(tc);
}

/* ---- the finished request ------------------------------------------------- */

/* curlev's check: not called from inside a curl callback. */
static void
tsaclient_check(void *arg)
{
	struct tsaclient *tc = arg;
	CURLMsg *msg;
	CURLcode res;
	int left;

	while ((msg = curl_multi_info_read(tc->ce.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != tc->easy)
			continue;
		res = msg->data.result;
		tsaclient_done(tc, res);
	}
}

/* ---- start, stop ------------------------------------------------------------- */

struct tsaclient *
tsaclient_start(struct event_base *base, const struct config *c,
    struct engine *e, int *failed)
{
	struct tsaclient *tc;

	*failed = 0;
	if (c->tsa_url == NULL)
		return NULL;
	*failed = 1;
	/* outbound_start() made curl_global_init() already */
	tc = xcalloc(1, sizeof(*tc));
	tc->base = base;
	tc->engine = e;
	tc->url = xstrdup(c->tsa_url);
	tc->retry_secs = tc->wait = c->tsa_retry_secs > 0 ?
	    c->tsa_retry_secs : 30;
	if ((tc->ca = tstamp_ca_load(c->tsa_ca)) == NULL ||
	    curlev_init(&tc->ce, base, tsaclient_check, tc) == -1 ||
	    (tc->ev_retry = evtimer_new(base, tsaclient_retry_cb,
	    tc)) == NULL) {
		log_errx(TTAG, "cannot start the time-stamp client");
		tsaclient_stop(tc);
		return NULL;
	}
	metric_register(&tsaclient_m_failures);
	pthread_mutex_lock(&tsaclient_mu);
	memset(&tsaclient_st, 0, sizeof(tsaclient_st));
	snprintf(tsaclient_st.url, sizeof(tsaclient_st.url), "%s", tc->url);
	tsaclient_on = 1;
	pthread_mutex_unlock(&tsaclient_mu);
	log_info(TTAG, "checkpoints are time-stamped by %s", tc->url);
	*failed = 0;
	return tc;
}

void
tsaclient_stop(struct tsaclient *tc)
{
	if (tc == NULL)
		return;
	pthread_mutex_lock(&tsaclient_mu);
	tsaclient_on = 0;
	pthread_mutex_unlock(&tsaclient_mu);
	if (tc->ce.multi != NULL)
		tsaclient_xfer_free(tc);
	curlev_free(&tc->ce);
	if (tc->ev_retry != NULL)
		event_free(tc->ev_retry);
	if (tc->ca != NULL)
		X509_STORE_free(tc->ca);
	free(tc->url);
	free(tc);
}
