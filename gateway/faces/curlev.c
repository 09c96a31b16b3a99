/*
 * curlev.c -- libcurl's multi interface inside the libevent loop (see
 * curlev.h), the glue outbound and the time-stamp client share.
 */
#include <sys/queue.h>

#include <stdlib.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "faces/curlev.h"
#include "util/stage.h"

/* A socket libcurl asked us to watch (curl_multi_assign()'s pointer). */
struct curlev_sock {
	struct event		*ev;
	TAILQ_ENTRY(curlev_sock) entry;
};

static void
curlev_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *ce = arg;
	int action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	stage_begin(STAGE_HTTP);
	curl_multi_socket_action(ce->multi, fd, action, &ce->running);
	stage_end(STAGE_HTTP);
	ce->check(ce->arg);
	/* PITFALLS.md 10: no evtimer_del(ev_timer) here */
}

static void
curlev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *ce = arg;

	stage_begin(STAGE_HTTP);
	curl_multi_socket_action(ce->multi, CURL_SOCKET_TIMEOUT, 0,
	    &ce->running);
	stage_end(STAGE_HTTP);
	ce->check(ce->arg);
}

/* CURLMOPT_TIMERFUNCTION: -1 removes the timer, else (re)arm it. */
static int
curlev_curl_timer(CURLM *multi, long ms, void *arg)
{
	struct curlev *ce = arg;
	struct timeval tv;

	if (ms < 0) {
		evtimer_del(ce->ev_timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ce->ev_timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch fd as curl asks. */
static int
curlev_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct curlev *ce = arg;
	struct curlev_sock *s = sockp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			TAILQ_REMOVE(&ce->socks, s, entry);
			free(s);
			curl_multi_assign(ce->multi, fd, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		TAILQ_INSERT_TAIL(&ce->socks, s, entry);
		curl_multi_assign(ce->multi, fd, s);
	} else if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if ((s->ev = event_new(ce->base, fd, kind, curlev_event_cb,
	    ce)) == NULL || event_add(s->ev, NULL) == -1)
		return -1;
	return 0;
}

/* A multi handle calling back into ce.  @return it, or NULL. */
static CURLM *
curlev_multi_new(struct curlev *ce)
{
	CURLM *m;

	if ((m = curl_multi_init()) == NULL)
		return NULL;
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, curlev_curl_socket);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, ce);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, curlev_curl_timer);
	curl_multi_setopt(m, CURLMOPT_TIMERDATA, ce);
	return m;
}

/* Close the multi handle: its connections, and the sockets it did not
 * hand back; the timer stays made, disarmed. */
static void
curlev_close(struct curlev *ce)
{
	struct curlev_sock *s;

	/* ce->multi stays set while curl cleans up: the socket callback
	 * may still be called, and unassigns the sockets there */
	if (ce->multi != NULL)
		curl_multi_cleanup(ce->multi);
	ce->multi = NULL;
	while ((s = TAILQ_FIRST(&ce->socks)) != NULL) {
		TAILQ_REMOVE(&ce->socks, s, entry);
		if (s->ev != NULL)
			event_free(s->ev);
		free(s);
	}
	if (ce->ev_timer != NULL)
		evtimer_del(ce->ev_timer);
}

int
curlev_init(struct curlev *ce, struct event_base *base,
    curlev_check_fn check, void *arg)
{
	ce->base = base;
	ce->check = check;
	ce->arg = arg;
	ce->running = 0;
	TAILQ_INIT(&ce->socks);
	if ((ce->multi = curlev_multi_new(ce)) == NULL ||
	    (ce->ev_timer = evtimer_new(base, curlev_timer_cb, ce)) == NULL)
		return -1;
	return 0;
}

int
curlev_renew(struct curlev *ce)
{
	CURLM *m;

	if ((m = curlev_multi_new(ce)) == NULL)
		return -1;
	curlev_close(ce);
	ce->multi = m;
	return 0;
}

void
curlev_free(struct curlev *ce)
{
	curlev_close(ce);
	if (ce->ev_timer != NULL)
		event_free(ce->ev_timer);
	ce->ev_timer = NULL;
}
