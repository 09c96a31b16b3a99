/*
 * metrics_http.c -- GET /metrics for Prometheus, on the event loop, with
 * the text built on a thread of its own.
 *
 * Plain HTTP on loopback by default (the configuration refuses another
 * address unless allow-remote says a firewall or a proxy guards it): no
 * TLS, no authentication, nothing personal in the text.  The loop never
 * builds the text: some of the store's gauges count whole tables
 * (cases by partner and state, messages by direction and state), which
 * at a million cases takes longer than the loop may stop.  A request is
 * queued for the thread; when it is done the thread wakes the loop
 * through an eventfd and the loop sends the answer (evhttp's deferred
 * reply, PITFALLS.md 5).  At most METRICS_HTTP_QUEUE_MAX scrapes wait at
 * once; more are answered 503 at once, so a client that loops cannot
 * pile up memory.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "accord-build.h"
#include "faces/metrics_http.h"
#include "util/log.h"
#include "util/metric.h"
#include "util/xmalloc.h"

#define MTAG	"metrics"

struct metrics_job {
	struct metrics_job	*next;
	struct evhttp_request	*req;
	char			*text;		/* NULL: the store failed */
	size_t			 len;
};

struct metrics_http {
	struct event_base	*base;
	struct evhttp		*http;
	struct report_ctx	*ctx;
	pthread_t		 thr;
	int			 started;	/* thr runs */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* a job, or stop */
	pthread_cond_t		 idle;		/* nothing queued or running */
	struct metrics_job	*todo, **todo_tail;
	struct metrics_job	*done;
	int			 queued;	/* todo, running and done */
	int			 running;
	int			 stop;
	int			 efd;		/* readable: jobs are done */
	struct event		*ev;
};

/* ---- the thread ------------------------------------------------------- */

/* Test builds: each scrape first waits this long
 * (ACCORD_TEST_METRICS_DELAY_MS), so that a test can prove the loop
 * answers while a scrape is being built. */
static void
metrics_test_delay(void)
{
#ifdef ACCORD_TEST_CLOCK
	const char *s = getenv("ACCORD_TEST_METRICS_DELAY_MS");
	struct timespec ts;
	long ms;

	if (s == NULL || (ms = strtol(s, NULL, 10)) <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
#endif
}

static void
metrics_job_run(struct metrics_http *mh, struct metrics_job *job)
{
	FILE *fp;

	metrics_test_delay();
	job->text = NULL;
	job->len = 0;
	if ((fp = open_memstream(&job->text, &job->len)) == NULL)
		return;
	if (report_metrics(mh->ctx, fp) == -1) {
		fclose(fp);
		free(job->text);
		job->text = NULL;
		return;
	}
	if (fclose(fp) != 0) {
		free(job->text);
		job->text = NULL;
	}
}

static void *
metrics_http_main(void *arg)
{
	struct metrics_http *mh = arg;
	struct metrics_job *job;
	uint64_t one = 1;

	pthread_mutex_lock(&mh->mu);
	for (;;) {
		while (mh->todo == NULL && !mh->stop)
			pthread_cond_wait(&mh->cv, &mh->mu);
		if (mh->todo == NULL)
			break;
		job = mh->todo;
		if ((mh->todo = job->next) == NULL)
			mh->todo_tail = &mh->todo;
		mh->running = 1;
		pthread_mutex_unlock(&mh->mu);
		metrics_job_run(mh, job);
		pthread_mutex_lock(&mh->mu);
		mh->running = 0;
		job->next = mh->done;
		mh->done = job;
		if (write(mh->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_err(MTAG, "eventfd");
		if (mh->todo == NULL)
			pthread_cond_broadcast(&mh->idle);
	}
	pthread_mutex_unlock(&mh->mu);
	return NULL;
}

/* ---- the loop ----------------------------------------------------------- */

static void
metrics_http_text(struct evhttp_request *req, int status, const char *reason,
    const char *text)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdr, "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add(evhttp_request_get_output_buffer(req), text,
	    strlen(text));
	evhttp_send_reply(req, status, reason, NULL);
}

static void
metrics_job_answer(struct metrics_job *job)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(job->req);

	if (job->text == NULL) {
		log_warnx(MTAG, "a scrape failed: the store could not be read");
		metrics_http_text(job->req, 500, "Internal Server Error",
		    "500 Internal Server Error: the store could not be read\n");
		return;
	}
	evhttp_add_header(hdr, "Content-Type", METRIC_CONTENT_TYPE);
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evbuffer_add(evhttp_request_get_output_buffer(job->req), job->text,
	    job->len);
	evhttp_send_reply(job->req, 200, "OK", NULL);
}

/* The thread finished jobs: send their answers. */
static void
metrics_http_done(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *mh = arg;
	struct metrics_job *job, *next;
	uint64_t n;

	while (read(mh->efd, &n, sizeof(n)) > 0)
		;
	pthread_mutex_lock(&mh->mu);
	job = mh->done;
	mh->done = NULL;
	pthread_mutex_unlock(&mh->mu);
	for (; job != NULL; job = next) {
		next = job->next;
		metrics_job_answer(job);
		mh->queued--;
		free(job->text);
		free(job);
	}
}

static void
metrics_http_request(struct evhttp_request *req, void *arg)
{
	struct metrics_http *mh = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct metrics_job *job;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		metrics_http_text(req, 404, "Not Found", "404 Not Found: the "
		    "metrics are at /metrics\n");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		metrics_http_text(req, 405, "Method Not Allowed", "405 Method "
		    "Not Allowed: only GET\n");
		return;
	}
	if (mh->queued >= METRICS_HTTP_QUEUE_MAX) {
		metrics_http_text(req, 503, "Service Unavailable", "503 "
		    "Service Unavailable: too many scrapes at once\n");
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->req = req;
	mh->queued++;
	pthread_mutex_lock(&mh->mu);
	*mh->todo_tail = job;
	mh->todo_tail = &job->next;
	pthread_cond_signal(&mh->cv);
	pthread_mutex_unlock(&mh->mu);
}

/* ---- life cycle ----------------------------------------------------------- */

struct metrics_http *
metrics_http_start(struct event_base *base, const struct config *c,
    struct report_ctx *ctx, int *failed)
{
	struct metrics_http *mh;
	int v6;

	*failed = 0;
	if (c->metrics_address == NULL)
		return NULL;
	mh = xcalloc(1, sizeof(*mh));
	mh->base = base;
	mh->ctx = ctx;
	mh->efd = -1;
	mh->todo_tail = &mh->todo;
	pthread_mutex_init(&mh->mu, NULL);
	pthread_cond_init(&mh->cv, NULL);
	pthread_cond_init(&mh->idle, NULL);
	if ((mh->http = evhttp_new(base)) == NULL) {
		log_errx(MTAG, "cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_gencb(mh->http, metrics_http_request, mh);
	evhttp_set_timeout(mh->http, METRICS_HTTP_TIMEOUT);
	evhttp_set_max_headers_size(mh->http, 8192);
	/* room for a small body, so that a POST gets its 405, not a 413 */
	evhttp_set_max_body_size(mh->http, 4096);
	v6 = strchr(c->metrics_address, ':') != NULL;
	if (evhttp_bind_socket_with_handle(mh->http, c->metrics_address,
	    (ev_uint16_t)c->metrics_port) == NULL) {
		log_err(MTAG, "cannot listen on %s%s%s:%d", v6 ? "[" : "",
		    c->metrics_address, v6 ? "]" : "", c->metrics_port);
		goto fail;
	}
	if ((mh->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (mh->ev = event_new(base, mh->efd, EV_READ | EV_PERSIST,
	    metrics_http_done, mh)) == NULL || event_add(mh->ev, NULL) == -1 ||
	    pthread_create(&mh->thr, NULL, metrics_http_main, mh) != 0) {
		log_err(MTAG, "cannot start the metrics thread");
		goto fail;
	}
	mh->started = 1;
	log_info(MTAG, "serving http://%s%s%s:%d/metrics", v6 ? "[" : "",
	    c->metrics_address, v6 ? "]" : "", c->metrics_port);
	return mh;
fail:
	metrics_http_stop(mh);
	*failed = 1;
	return NULL;
}

void
metrics_http_drain(struct metrics_http *mh)
{
	if (mh == NULL || !mh->started)
		return;
	pthread_mutex_lock(&mh->mu);
	while (mh->todo != NULL || mh->running)
		pthread_cond_wait(&mh->idle, &mh->mu);
	pthread_mutex_unlock(&mh->mu);
}

void
metrics_http_stop(struct metrics_http *mh)
{
	struct metrics_job *job, *next;

	if (mh == NULL)
		return;
	if (mh->started) {
		/* what is queued is not built: the daemon is going */
		pthread_mutex_lock(&mh->mu);
		job = mh->todo;
		mh->todo = NULL;
		mh->todo_tail = &mh->todo;
		mh->stop = 1;
		pthread_cond_signal(&mh->cv);
		pthread_mutex_unlock(&mh->mu);
		pthread_join(mh->thr, NULL);
		for (; job != NULL; job = next) {
			next = job->next;
			metrics_http_text(job->req, 503, "Service Unavailable",
			    "503 Service Unavailable: shutting down\n");
			free(job);
		}
		/* finished while the loop no longer ran: sent now */
		for (job = mh->done; job != NULL; job = next) {
			next = job->next;
			metrics_job_answer(job);
			free(job->text);
			free(job);
		}
		mh->done = NULL;
	}
	if (mh->ev != NULL)
		event_free(mh->ev);
	if (mh->efd != -1)
		close(mh->efd);
	if (mh->http != NULL)
		evhttp_free(mh->http);
	pthread_mutex_destroy(&mh->mu);
	pthread_cond_destroy(&mh->cv);
	pthread_cond_destroy(&mh->idle);
	free(mh);
}
