/*
 * reader.c -- a thread that waits for the parser process while the
 * event loop goes on (see reader.h).  One mutex guards the two queues; an
 * eventfd tells the loop that jobs are done.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "faces/reader.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define RTAG	"reader"

TAILQ_HEAD(reader_q, reader_job);

struct reader {
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct reader_q	 todo, done;
	int		 stop;
	int		 efd;		/* done is not empty */
	struct event	*ev;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct reader_job *job;
	uint64_t one = 1;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (TAILQ_EMPTY(&r->todo) && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if ((job = TAILQ_FIRST(&r->todo)) == NULL)
			break;		/* stopping, and nothing left */
		TAILQ_REMOVE(&r->todo, job, entry);
		/* stopping: what no parser has seen yet is not read (its
		 * model is missing: a 503, or an answer taken again later),
		 * so that a parser stuck on hostile input holds the stop up
		 * for one timeout at most, not one per message queued */
		if (r->stop) {
			job->unread = 1;
			TAILQ_INSERT_TAIL(&r->done, job, entry);
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		engine_rx_parse(&job->rx, job->bytes, job->len);
		pthread_mutex_lock(&r->mu);
		TAILQ_INSERT_TAIL(&r->done, job, entry);
		if (write(r->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_err(RTAG, "eventfd");
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* The jobs read so far, each to its done, in their order. */
static void
reader_done(evutil_socket_t fd, short what, void *arg)
{
	struct reader *r = arg;
	struct reader_q done;
	struct reader_job *job;
	uint64_t n;

	while (read(r->efd, &n, sizeof(n)) > 0)
		;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&r->mu);
	TAILQ_CONCAT(&done, &r->done, entry);
	pthread_mutex_unlock(&r->mu);
	while ((job = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, job, entry);
		job->done(job, job->arg);
	}
}

static void
reader_free(struct reader *r)
{
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->efd != -1)
		close(r->efd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

struct reader *
reader_start(struct event_base *base)
{
	struct reader *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	TAILQ_INIT(&r->todo);
	TAILQ_INIT(&r->done);
	if ((r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (r->ev = event_new(base, r->efd, EV_READ | EV_PERSIST,
	    reader_done, r)) == NULL || event_add(r->ev, NULL) == -1 ||
	    pthread_create(&r->thr, NULL, reader_main, r) != 0) {
		log_err(RTAG, "cannot start a reader thread");
		reader_free(r);
		return NULL;
	}
	return r;
}

int
reader_hand(struct reader *r, struct reader_job *job, const char *bytes,
    size_t len)
{
	if (r == NULL || r->stop)
		return -1;
	job->bytes = bytes;
	job->len = len;
	pthread_mutex_lock(&r->mu);
	TAILQ_INSERT_TAIL(&r->todo, job, entry);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void
reader_stop_begin(struct reader *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
reader_stop(struct reader *r)
{
	if (r == NULL)
		return;
	reader_stop_begin(r);
	pthread_join(r->thr, NULL);
	reader_done(r->efd, EV_READ, r);
	reader_free(r);
}
