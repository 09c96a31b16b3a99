/*
 * test_reader.c -- the reader thread (faces/reader.c) against a parser
 * stand-in on a socketpair that answers each request with an empty model
 * after a delay: the jobs' callbacks run on the loop in the order they
 * were handed, each with its model; the loop runs its other events while
 * a job is being read; a reader stopped with jobs queued finishes the
 * one being read, reads none of the others (no model: rc -1, marked
 * unread) and still calls every callback, in order.
 */
#include <sys/socket.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "faces/reader.h"
#include "msg/model.h"
#include "msg/parser.h"
#include "testutil.h"
#include "util/frame.h"

#define NJOBS	5

/* The parser's stand-in: each request answered after delay_ms. */
struct slow_parser {
	int		 fd;
	int		 delay_ms;
	int		 requests;	/* read so far */
	pthread_mutex_t	 mu;
	pthread_t	 thr;
};

static void *
slow_parser_main(void *arg)
{
	struct slow_parser *sp = arg;
	struct timespec ts = { 0, 0 };
	struct model m;
	uint32_t type, seq;
	char *in, *json, *ans;
	size_t len, jlen;

	memset(&m, 0, sizeof(m));
	assert_int_equal(model_encode(&m, &json, &jlen), 0);
	ans = malloc(sizeof(seq) + jlen);
	assert_non_null(ans);
	memcpy(ans + sizeof(seq), json, jlen);
	while (frame_read(sp->fd, &type, &in, &len, FRAME_MAX) == 1) {
		assert_int_equal(type, PARSER_READ);
		assert_true(len >= sizeof(seq));
		pthread_mutex_lock(&sp->mu);
		sp->requests++;
		pthread_mutex_unlock(&sp->mu);
		ts.tv_nsec = (long)sp->delay_ms * 1000000L;
		nanosleep(&ts, NULL);
		memcpy(ans, in, sizeof(seq));
		assert_int_equal(frame_write(sp->fd, PARSER_MODEL, ans,
		    sizeof(seq) + jlen), 0);
		free(in);
	}
	free(ans);
	free(json);
	return NULL;
}

struct fixture {
	struct event_base	*base;
	struct slow_parser	 sp;
	struct parser_client	*pc;
	struct reader		*r;
	struct reader_job	 jobs[NJOBS];
	int			 order[NJOBS];	/* job index, as called */
	int			 rc[NJOBS];
	int			 ndone;
	int			 ticks;		/* timer calls meanwhile */
};

static void
job_done(struct reader_job *job, void *arg)
{
	struct fixture *f = arg;
	int i = (int)(job - f->jobs);

	f->order[f->ndone] = i;
	f->rc[i] = job->rx.rc;
	f->ndone++;
	model_clear(&job->rx.m);
	if (f->ndone == NJOBS)
		event_base_loopexit(f->base, NULL);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *f = arg;

	f->ticks++;
}

static void
hand_all(struct fixture *f, int n)
{
	static const char bytes[] = "<not-read-here/>";
	int i;

	for (i = 0; i < n; i++) {
		memset(&f->jobs[i], 0, sizeof(f->jobs[i]));
		f->jobs[i].rx.pc = f->pc;
		f->jobs[i].rx.rc = -1;
		snprintf(f->jobs[i].rx.partner, sizeof(f->jobs[i].rx.partner),
		    "FR");
		f->jobs[i].done = job_done;
		f->jobs[i].arg = f;
		f->rc[i] = 99;
		assert_int_equal(reader_hand(f->r, &f->jobs[i], bytes,
		    sizeof(bytes) - 1), 0);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_non_null(f->base = event_base_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->sp.fd = sv[1];
	pthread_mutex_init(&f->sp.mu, NULL);
	assert_int_equal(pthread_create(&f->sp.thr, NULL, slow_parser_main,
	    &f->sp), 0);
	assert_non_null(f->pc = parser_client_new(sv[0]));
	assert_non_null(f->r = reader_start(f->base));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	reader_stop(f->r);
	parser_client_free(f->pc);	/* the stand-in reads the end */
	assert_int_equal(pthread_join(f->sp.thr, NULL), 0);
	close(f->sp.fd);
	pthread_mutex_destroy(&f->sp.mu);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* In order, each with its model, the loop running meanwhile. */
static void
test_order_and_loop_free(void **state)
{
	struct fixture *f = *state;
	struct timeval ms10 = { 0, 10000 }, limit = { 20, 0 };
	struct event *ev;
	int i;

	f->sp.delay_ms = 100;
	ev = event_new(f->base, -1, EV_PERSIST, tick, f);
	assert_int_equal(event_add(ev, &ms10), 0);
	hand_all(f, NJOBS);
	/* every job is queued: nothing was read on this thread */
	assert_int_equal(f->ndone, 0);
	event_base_loopexit(f->base, &limit);
	assert_int_equal(event_base_dispatch(f->base), 0);
	event_free(ev);
	assert_int_equal(f->ndone, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(f->order[i], i);
		assert_int_equal(f->rc[i], 0);
	}
	assert_int_equal(f->sp.requests, NJOBS);
	/* 5 x 100 ms of reading: the 10 ms timer ran many times */
	assert_true(f->ticks >= 10);
}

/* Stopped with jobs queued: one read, the others not, all called. */
static void
test_stop_reads_no_more(void **state)
{
	struct fixture *f = *state;
	int i, seen;

	f->sp.delay_ms = 300;
	hand_all(f, NJOBS);
	/* the first request has reached the stand-in */
	for (i = 0; i < 200; i++) {
		pthread_mutex_lock(&f->sp.mu);
		seen = f->sp.requests;
		pthread_mutex_unlock(&f->sp.mu);
		if (seen > 0)
			break;
		usleep(10000);
	}
	assert_int_equal(seen, 1);
	reader_stop(f->r);
	f->r = NULL;
	assert_int_equal(f->ndone, NJOBS);
	for (i = 0; i < NJOBS; i++)
		assert_int_equal(f->order[i], i);
	assert_int_equal(f->rc[0], 0);
	assert_int_equal(f->jobs[0].unread, 0);
	for (i = 1; i < NJOBS; i++) {
		assert_int_equal(f->rc[i], -1);
		assert_int_equal(f->jobs[i].unread, 1);
	}
	assert_int_equal(f->sp.requests, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_loop_free,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_reads_no_more,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
