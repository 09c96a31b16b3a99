/*
 * control_work.c -- the control socket's worker thread.  The read-only
 * reports (the commands marked CMD_WORKER: status, list, timeline,
 * queues, alerts, stats) run here, on the reports' own read-only store
 * connection, so that a heavy query never holds the event loop: partner
 * traffic, submits and pings go on meanwhile (DESIGN.md 3).  A finished
 * job wakes the loop through an eventfd; its response then takes its
 * place in its connection's order.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "accord-build.h"
#include "faces/control.h"
#include "faces/control_priv.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct control_job {
	struct control_job	*next;
	struct control_conn	*cc;		/* NULL: it went away */
	const struct cmd_command *cmd;
	void			*harg;
	struct cmd_caller	 caller;	/* no socket, no connection */
	json_t			*args;		/* the worker's copies */
	json_t			*id;
	json_t			*res;		/* NULL: an error */
	const char		*code;
	char			 text[CMD_TEXT_MAX];
};

struct control_worker {
	pthread_t		 thr;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* a job, or stop */
	pthread_cond_t		 idle;		/* nothing queued or running */
	struct control_job	*todo, **todo_tail;
	struct control_job	*done;
	int			 running;	/* a job is in the handler */
	int			 stop;
	int			 efd;		/* readable: jobs are done */
	struct event		*ev;
};

/* Test builds: each job first waits this long (ACCORD_TEST_REPORT_DELAY_MS),
 * so that a test can prove the loop answers while a report runs. */
static long
control_work_test_delay(void)
{
#ifdef ACCORD_TEST_CLOCK
	const char *s = getenv("ACCORD_TEST_REPORT_DELAY_MS");

	return s != NULL ? strtol(s, NULL, 10) : 0;
#else
	return 0;
#endif
}

static void
control_job_run(struct control_job *job, long delay_ms)
{
	struct timespec ts;

	if (delay_ms > 0) {
		ts.tv_sec = delay_ms / 1000;
		ts.tv_nsec = (delay_ms % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	job->code = "INTERNAL";
	job->text[0] = '\0';
	job->res = job->cmd->handler(job->harg, &job->caller, job->args,
	    &job->code, job->text, sizeof(job->text));
}

static void *
control_worker_main(void *arg)
{
	struct control_worker *w = arg;
	struct control_job *job;
	long delay = control_work_test_delay();
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->todo == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->todo == NULL)
			break;
		job = w->todo;
		if ((w->todo = job->next) == NULL)
			w->todo_tail = &w->todo;
		w->running = 1;
		pthread_mutex_unlock(&w->mu);
		control_job_run(job, delay);
		pthread_mutex_lock(&w->mu);
		w->running = 0;
		job->next = w->done;
		w->done = job;
		if (write(w->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_err("control", "worker: eventfd");
		if (w->todo == NULL)
			pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void
control_job_free(struct control_job *job)
{
	json_decref(job->args);
	json_decref(job->id);
	json_decref(job->res);
	free(job);
}

/* The job's response line, as control_request() would have sent it. */
static char *
control_job_line(struct control_job *job)
{
	json_t *r;
	char *line;

	if (job->res != NULL) {
		r = json_pack("{s:b, s:O}", "ok", 1, "result", job->res);
	} else
		r = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
		    job->code, "text", job->text[0] ? job->text :
		    "command failed");
	if (job->id != NULL)
		json_object_set(r, "id", job->id);
	line = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(r);
	return line;
}

/* The loop: place each finished job's response, send what may go. */
static void
control_work_done(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;
	struct control_worker *w = ctl->worker;
	struct control_job *job, *next;
	struct control_conn *cc;
	uint64_t n;
	size_t i;

	while (read(w->efd, &n, sizeof(n)) > 0)
		;
	pthread_mutex_lock(&w->mu);
	job = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; job != NULL; job = next) {
		next = job->next;
		if ((cc = job->cc) != NULL) {
			for (i = 0; i < cc->nheld; i++)
				if (cc->held[i].job == job) {
					cc->held[i].line = control_job_line(job);
					cc->held[i].job = NULL;
					break;
				}
			if (!cc->holding)
				control_release_settled(cc);
		}
		control_job_free(job);
	}
}

static struct control_worker *
control_worker_start(struct control *ctl)
{
	struct control_worker *w;

	w = xcalloc(1, sizeof(*w));
	w->todo_tail = &w->todo;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->idle, NULL);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (w->ev = event_new(ctl->base, w->efd, EV_READ | EV_PERSIST,
	    control_work_done, ctl)) == NULL || event_add(w->ev, NULL) == -1 ||
	    pthread_create(&w->thr, NULL, control_worker_main, w) != 0) {
		log_err("control", "cannot start the reports' worker thread");
		if (w->ev != NULL)
			event_free(w->ev);
		if (w->efd != -1)
			close(w->efd);
		free(w);
		return NULL;
	}
	return w;
}

int
control_work_submit(struct control *ctl, struct control_conn *cc,
    const struct cmd_command *cmd, void *harg, json_t *args, json_t *id,
    struct control_held *h)
{
	struct control_worker *w;
	struct control_job *job;

	if (ctl->worker == NULL && (ctl->worker = control_worker_start(ctl)) ==
	    NULL)
		return -1;
	w = ctl->worker;
	job = xcalloc(1, sizeof(*job));
	job->cc = cc;
	job->cmd = cmd;
	job->harg = harg;
	job->caller = cc->caller;
	job->caller.ctl = NULL;
	job->caller.conn = NULL;
	job->args = json_deep_copy(args);
	job->id = id != NULL ? json_deep_copy(id) : NULL;
	h->job = job;
	pthread_mutex_lock(&w->mu);
	*w->todo_tail = job;
	w->todo_tail = &job->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
control_work_forget(struct control *ctl, struct control_conn *cc)
{
	struct control_worker *w = ctl->worker;
	size_t i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	for (i = 0; i < cc->nheld; i++)
		if (cc->held[i].job != NULL)
			cc->held[i].job->cc = NULL;
	pthread_mutex_unlock(&w->mu);
}

void
control_work_drain(struct control *ctl)
{
	struct control_worker *w = ctl->worker;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->todo != NULL || w->running)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void
control_work_stop(struct control *ctl)
{
	struct control_worker *w = ctl->worker;
	struct control_job *job, *next;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);	/* it finishes what is queued */
	for (job = w->done; job != NULL; job = next) {
		next = job->next;
		control_job_free(job);
	}
	event_free(w->ev);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->idle);
	free(w);
	ctl->worker = NULL;
}
