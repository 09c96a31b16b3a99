/*
 * test_curlev.c -- libcurl's multi interface in the libevent loop
 * (faces/curlev.c), against a small HTTP server in a child process: many
 * transfers, one after another and several at once, all finish (each one
 * added from the check, where PITFALLS.md 10's deleted timer stalls);
 * the socket actions are charged to STAGE_HTTP and the check is not;
 * renewing replaces the multi and closes the old one's sockets; freeing
 * with a transfer in flight leaves no event on the base.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "faces/curlev.h"
#include "testutil.h"
#include "util/stage.h"

/* Seconds the loop may run before the test calls it a stall. */
#define STALL_SECONDS	20

struct server {
	pid_t			 pid;
	int			 port;
};

struct run {
	struct curlev		 ce;
	struct event_base	*base;
	struct event		*ev_stall;
	int			 port;
	int			 total;		/* transfers to make */
	int			 width;		/* at once, at most */
	int			 started;
	int			 done;
	int			 ok;		/* 200 with our body */
	int			 stalled;
	int			 checks;
	double			 burn;		/* CPU burnt in the first check */
	struct xfer		*last;		/* started last */
};

struct xfer {
	CURL			*easy;
	char			 body[64];
	size_t			 len;
};

/* ---- the server (a child process) ----------------------------------------- */

static void
server_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b;

	/* /slow is never answered: a transfer stays in flight */
	if (strcmp(evhttp_request_get_uri(req), "/slow") == 0)
		return;
	b = evbuffer_new();
	evbuffer_add_printf(b, "answer to %s", evhttp_request_get_uri(req));
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
server_start(struct server *sv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct event_base *base;
	struct evhttp *http;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	sv->port = ntohs(sin.sin_port);
	if ((sv->pid = fork()) == 0) {
		/* the listener accepts until EAGAIN */
		if (evutil_make_socket_nonblocking(fd) == -1 ||
		    (base = event_base_new()) == NULL ||
		    (http = evhttp_new(base)) == NULL ||
		    evhttp_accept_socket(http, fd) == -1)
			_exit(1);
		evhttp_set_gencb(http, server_cb, NULL);
		event_base_dispatch(base);
		_exit(0);
	}
	assert_true(sv->pid > 0);
	close(fd);
}

static void
server_stop(struct server *sv)
{
	int status;

	kill(sv->pid, SIGTERM);
	assert_int_equal(waitpid(sv->pid, &status, 0), sv->pid);
}

/* ---- the client ----------------------------------------------------------- */

static size_t
xfer_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->len + len >= sizeof(x->body))
		return 0;
	memcpy(x->body + x->len, p, len);
	x->len += len;
	x->body[x->len] = '\0';
	return len;
}

static void
xfer_start(struct run *r, const char *path)
{
	struct xfer *x;
	char url[128];

	x = calloc(1, sizeof(*x));
	assert_non_null(x);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", r->port, path);
	assert_non_null(x->easy = curl_easy_init());
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	assert_int_equal(curl_multi_add_handle(r->ce.multi, x->easy),
	    CURLM_OK);
	r->started++;
	r->last = x;
}

static void
xfer_next(struct run *r)
{
	char path[32];

	while (r->started < r->total && r->started - r->done < r->width) {
		snprintf(path, sizeof(path), "/%d", r->started);
		xfer_start(r, path);
	}
}

/* The check: collect, then start the next transfers from here. */
static void
run_check(void *arg)
{
	struct run *r = arg;
	struct xfer *x;
	CURLMsg *msg;
	long code;
	int left;

	if (r->checks++ == 0)
		r->burn = test_burn(0.2);
	while ((msg = curl_multi_info_read(r->ce.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		assert_non_null(x);
		code = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result == CURLE_OK && code == 200 &&
		    strncmp(x->body, "answer to /", 11) == 0)
			r->ok++;
		curl_multi_remove_handle(r->ce.multi, x->easy);
		curl_easy_cleanup(x->easy);
		free(x);
		r->done++;
	}
	xfer_next(r);
	if (r->done == r->total)
		event_base_loopexit(r->base, NULL);
}

static void
run_stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	r->stalled = 1;
	event_base_loopexit(r->base, NULL);
}

static void
run_init(struct run *r, const struct server *sv)
{
	memset(r, 0, sizeof(*r));
	r->port = sv->port;
	assert_non_null(r->base = event_base_new());
	assert_int_equal(curlev_init(&r->ce, r->base, run_check, r), 0);
	assert_non_null(r->ce.multi);
}

/* Run total transfers, width at once, to the end or a stall. */
static void
run_loop(struct run *r, int total, int width)
{
	struct timeval tv = { STALL_SECONDS, 0 };

	r->total += total;
	r->width = width;
	assert_non_null(r->ev_stall = evtimer_new(r->base, run_stall_cb, r));
	evtimer_add(r->ev_stall, &tv);
	xfer_next(r);
	event_base_dispatch(r->base);
	event_free(r->ev_stall);
	r->ev_stall = NULL;
	assert_false(r->stalled);
	assert_int_equal(r->done, r->total);
	assert_int_equal(r->ok, r->total);
}

static void
run_free(struct run *r)
{
	curlev_free(&r->ce);
	assert_null(r->ce.multi);
	assert_null(r->ce.ev_timer);
	/* nothing of curl's left on the base */
	assert_int_equal(event_base_get_num_events(r->base,
	    EVENT_BASE_COUNT_ADDED), 0);
	event_base_free(r->base);
}

/* ---- the tests ------------------------------------------------------------ */

/*
 * One at a time, each added from the check of the one before: the timer
 * libcurl arms there must survive the socket handler (PITFALLS.md 10);
 * then several at once, on the same multi.
 */
static void
test_transfers(void **state)
{
	struct server *sv = *state;
	struct run r;

	run_init(&r, sv);
	run_loop(&r, 30, 1);
	run_loop(&r, 100, 8);
	run_free(&r);
}

/* curl's work is HTTP's; what the check does is its own. */
static void
test_socket_actions_are_http(void **state)
{
	struct server *sv = *state;
	struct run r;
	double http0, http;

	run_init(&r, sv);
	http0 = stage_seconds(STAGE_HTTP);
	run_loop(&r, 20, 2);
	http = stage_seconds(STAGE_HTTP) - http0;
	run_free(&r);
	assert_true(r.burn >= 0.2);
	assert_true(http > 0);
	assert_true(http < r.burn);
}

/* A renewed multi works, and the old one's connections are closed: the
 * server answers on new ones, the old sockets are no longer watched. */
static void
test_renew(void **state)
{
	struct server *sv = *state;
	struct run r;
	CURLM *old;

	run_init(&r, sv);
	run_loop(&r, 5, 1);
	old = r.ce.multi;
	assert_int_equal(curlev_renew(&r.ce), 0);
	assert_non_null(r.ce.multi);
	assert_ptr_not_equal(r.ce.multi, old);
	/* the old multi is gone, and its sockets: nothing watched now */
	assert_int_equal(event_base_get_num_events(r.base,
	    EVENT_BASE_COUNT_ADDED), 0);
	run_loop(&r, 5, 1);
	run_free(&r);
}

static void
slow_check(void *arg)
{
	struct run *r = arg;

	r->checks++;
}

static void
slow_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	/* curl is waiting for the answer on a socket of its own */
	if (!TAILQ_EMPTY(&r->ce.socks))
		event_base_loopexit(r->base, NULL);
}

/* Freed with a transfer in flight: its socket's event goes, and the
 * timer's; nothing is left on the base. */
static void
test_free_in_flight(void **state)
{
	struct server *sv = *state;
	struct timeval tick = { 0, 10000 };
	struct event *ev;
	struct run r;
	int n;

	memset(&r, 0, sizeof(r));
	r.port = sv->port;
	assert_non_null(r.base = event_base_new());
	assert_int_equal(curlev_init(&r.ce, r.base, slow_check, &r), 0);
	xfer_start(&r, "/slow");
	assert_non_null(ev = event_new(r.base, -1, EV_PERSIST, slow_cb, &r));
	event_add(ev, &tick);
	event_base_dispatch(r.base);
	event_free(ev);
	assert_false(TAILQ_EMPTY(&r.ce.socks));
	n = event_base_get_num_events(r.base, EVENT_BASE_COUNT_ADDED);
	assert_true(n >= 1);
	/* the user removes its transfers first (curlev.h) */
	curl_multi_remove_handle(r.ce.multi, r.last->easy);
	curl_easy_cleanup(r.last->easy);
	free(r.last);
	run_free(&r);
}

static int
setup(void **state)
{
	struct server *sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return -1;
	server_start(sv);
	*state = sv;
	return 0;
}

static int
teardown(void **state)
{
	struct server *sv = *state;

	server_stop(sv);
	free(sv);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfers),
		cmocka_unit_test(test_socket_actions_are_http),
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_free_in_flight),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
