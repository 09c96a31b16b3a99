/*
 * audit_pool.c -- verify's worker threads, and the ring of records they
 * share with the thread that reads the journal (see audit_verify.c): a
 * record takes the ring's next slot, a worker checks a message's slot,
 * and the reading thread applies the slots in record order.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <openssl/x509.h>

#include "audit/audit_priv.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void *
audit_worker(void *arg)
{
	struct audit_pool *p = arg;
	struct audit_certcache *cache;
	struct audit_job *j;
	uint64_t idx;

	cache = xcalloc(1, sizeof(*cache));
	xmlSetStructuredErrorFunc(p->ectx, p->efn);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->next < p->tail &&
		    p->jobs[p->next % p->njobs].state != AJ_QUEUED)
			p->next++;
		if (p->next == p->tail) {
			if (p->stop)
				break;
			if (p->main_waits)
				pthread_cond_signal(&p->done);
			p->idle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
			continue;
		}
		idx = p->next++;
		j = &p->jobs[idx % p->njobs];
		j->state = AJ_RUNNING;
		pthread_mutex_unlock(&p->lock);
		audit_check_message(j, p->trust, cache);
		pthread_mutex_lock(&p->lock);
		j->state = AJ_DONE;
		/* wake main for a batch, not for every job */
		if (p->main_waits && idx >= p->wake_at)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	audit_certcache_free(cache);
	free(cache);
	return NULL;
}

/* Start nthreads workers (0 or 1: check inline).  @return 0 or -1. */
int
audit_pool_start(struct audit_pool *p, int nthreads, X509_STORE *trust,
    void (*apply)(void *, struct audit_job *), void *arg)
{
	int i;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->trust = trust;
	p->apply = apply;
	p->arg = arg;
	p->efn = xmlStructuredError;
	p->ectx = xmlStructuredErrorContext;
	if (nthreads < 2)
		nthreads = 0;
	p->njobs = nthreads > 0 ? 64 * (uint64_t)nthreads : 1;
	p->jobs = xcalloc(p->njobs, sizeof(*p->jobs));
	if (nthreads > 0)
		p->threads = xcalloc((size_t)nthreads, sizeof(*p->threads));
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, audit_worker, p) !=
		    0) {
			log_errx(ATAG, "cannot start a verify thread");
			return -1;
		}
		p->nthreads++;
	}
	return 0;
}

/* Apply the records whose results are in; with all, every record, else
 * until the ring has a free slot. */
void
audit_pool_apply(struct audit_pool *p, int all)
{
	struct audit_job *j;

	pthread_mutex_lock(&p->lock);
	while (p->head < p->tail) {
		j = &p->jobs[p->head % p->njobs];
		if (j->state != AJ_DONE && j->state != AJ_SEQ) {
			if (!all && p->tail - p->head < p->njobs)
				break;
			/* full: sleep until half of it can be applied */
			p->wake_at = p->head + (all ? 0 : p->njobs / 2);
			p->main_waits = 1;
			pthread_cond_wait(&p->done, &p->lock);
			p->main_waits = 0;
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		p->apply(p->arg, j);
		pthread_mutex_lock(&p->lock);
		j->state = AJ_FREE;
		p->head++;
		if (p->next < p->head)
			p->next = p->head;
	}
	pthread_mutex_unlock(&p->lock);
}

/* The slot of the next record, once the ring has room for it. */
struct audit_job *
audit_pool_slot(struct audit_pool *p)
{
	audit_pool_apply(p, 0);
	return &p->jobs[p->tail % p->njobs];
}

/* The slot filled: a message (check) to the workers, or checked here when
 * there are none; any other record waits in the ring for its turn. */
void
audit_pool_push(struct audit_pool *p, struct audit_job *j, int check)
{
	enum audit_job_state st = check ? AJ_QUEUED : AJ_SEQ;

	if (st == AJ_QUEUED && p->nthreads == 0) {
		audit_check_message(j, p->trust, &p->cache);
		st = AJ_DONE;
	}
	pthread_mutex_lock(&p->lock);
	j->state = st;
	p->tail++;
	if (st == AJ_QUEUED && p->idle > 0)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void
audit_pool_stop(struct audit_pool *p)
{
	uint64_t i;
	int t;

	if (p->jobs == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (t = 0; t < p->nthreads; t++)
		pthread_join(p->threads[t], NULL);
	for (i = 0; i < p->njobs; i++) {
		X509_free(p->jobs[i].own);
		free(p->jobs[i].buf);
		free(p->jobs[i].plain);
	}
	audit_certcache_free(&p->cache);
	free(p->jobs);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}
