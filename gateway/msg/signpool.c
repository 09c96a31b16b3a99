/*
 * signpool.c -- the signing threads (see signpool.h).  One mutex guards
 * the queue and the done list; signing itself runs unlocked, each thread
 * with its own xmlsig_signer, so that no two threads share an xmlsec
 * signing context or a lent key; or, under privilege separation, each
 * with its own lane to the signer process.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "msg/envelope.h"
#include "msg/signer.h"
#include "msg/signpool.h"
#include "msg/xmlsig.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STAG		"signpool"

struct signpool_thread {
	struct signpool		*pool;
	pthread_t		 thr;
	struct xmlsig_signer	*signer;	/* this process's key */
	struct signer_client	*remote;	/* or a signer lane */
	int			 started;
};

struct signpool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* a job, or stop */
	pthread_cond_t		 idle;		/* nothing queued or running */
	struct signpool_job	*todo, **todo_tail;
	struct signpool_job	*done;
	int			 running;
	int			 stop;
	int			 efd;
	int			 n;
	struct signpool_thread	 t[SIGNPOOL_MAX];
};

static void
signpool_run(struct signpool_thread *t, struct signpool_job *job)
{
	struct envelope_error err;

	job->out = NULL;
	job->len = 0;
	job->why[0] = '\0';
	if (t->remote != NULL)
		/* the signer validates what it signs: once is enough */
		job->rc = signer_client_sign_doc(t->remote, job->doc,
		    &job->out, &job->len, job->why, sizeof(job->why));
	else if (job->validate && envelope_validate(job->doc, &err) == -1) {
		snprintf(job->why, sizeof(job->why), "%s", err.text);
		job->rc = -2;
	} else
		job->rc = xmlsig_sign(t->signer, job->doc) == -1 ||
		    envelope_serialize(job->doc, &job->out, &job->len) == -1 ?
		    -1 : 0;
	if (job->rc == -2 && !job->validate) {
		/* ours, built by the engine: a fault */
		log_errx(STAG, "an envelope of ours does not validate: "
		    "%s", job->why);
		job->rc = -1;
	}
	xmlFreeDoc(job->doc);
	job->doc = NULL;
}

static void *
signpool_main(void *arg)
{
	struct signpool_thread *t = arg;
	struct signpool *p = t->pool;
	struct signpool_job *job;
	uint64_t one = 1;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->todo == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->todo == NULL)
			break;
		job = p->todo;
		if ((p->todo = job->next) == NULL)
			p->todo_tail = &p->todo;
		p->running++;
		pthread_mutex_unlock(&p->mu);
		signpool_run(t, job);
		pthread_mutex_lock(&p->mu);
		p->running--;
		job->next = p->done;
		p->done = job;
		if (write(p->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_err(STAG, "eventfd");
		if (p->todo == NULL && p->running == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* A pool of n threads; key_file and cert_file, or the lanes of sc. */
static struct signpool *
signpool_new(const char *key_file, const char *cert_file,
    struct signer_client *sc, int n)
{
	struct signpool *p;
	int i;

	if (n > SIGNPOOL_MAX)
		n = SIGNPOOL_MAX;
	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->todo_tail = &p->todo;
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_err(STAG, "eventfd");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		p->t[i].pool = p;
		if (sc != NULL)
			p->t[i].remote = signer_client_lane(sc, i);
		else if ((p->t[i].signer = xmlsig_signer_load(key_file,
		    cert_file)) == NULL)
			goto fail;
		p->n = i + 1;
		if (pthread_create(&p->t[i].thr, NULL, signpool_main,
		    &p->t[i]) != 0) {
			log_warnx(STAG, "pthread_create failed");
			goto fail;
		}
		p->t[i].started = 1;
	}
	return p;
fail:
	signpool_stop(p);
	return NULL;
}

int
signpool_threads(void)
{
	const char *s = getenv("ACCORD_SIGN_THREADS");
	long n;

	if (s != NULL && s[0] != '\0')
		n = atoi(s) > 0 ? atoi(s) : 0;
	else if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	return n > SIGNPOOL_MAX ? SIGNPOOL_MAX : (int)n;
}

struct signpool *
signpool_start(const char *key_file, const char *cert_file, int n)
{
	return signpool_new(key_file, cert_file, NULL, n);
}

struct signpool *
signpool_start_remote(struct signer_client *sc)
{
	return signpool_new(NULL, NULL, sc, signer_client_lanes(sc));
}

int
signpool_size(const struct signpool *p)
{
	return p->n;
}

int
signpool_fd(const struct signpool *p)
{
	return p->efd;
}

void
signpool_submit(struct signpool *p, struct signpool_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->mu);
	*p->todo_tail = job;
	p->todo_tail = &job->next;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

struct signpool_job *
signpool_done(struct signpool *p)
{
	struct signpool_job *job;
	uint64_t n;

	while (read(p->efd, &n, sizeof(n)) > 0)
		;
	pthread_mutex_lock(&p->mu);
	job = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	return job;
}

void
signpool_drain(struct signpool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->todo != NULL || p->running > 0)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void
signpool_stop(struct signpool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++) {
		if (p->t[i].started)
			pthread_join(p->t[i].thr, NULL);
		xmlsig_signer_free(p->t[i].signer);
	}
	if (p->efd != -1)
		close(p->efd);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
