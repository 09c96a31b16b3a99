/*
 * curlev.h -- a libcurl multi handle driven by a libevent base, as in
 * curl's docs/examples/hiperfifo.c: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to call it back
 * (CURLMOPT_TIMERFUNCTION); we tell it what happened with
 * curl_multi_socket_action(), and then call the user's check, which
 * collects the finished transfers (curl_multi_info_read()).  Unlike
 * hiperfifo, the socket event handler never deletes the timer: libcurl
 * may just have armed it, and it removes it itself by calling the timer
 * callback with -1 (PITFALLS.md 10).
 *
 * Not a face: outbound and the time-stamp client each drive one of their
 * own.  The socket actions are charged to STAGE_HTTP (util/stage.h); the
 * check runs after that stage ends and charges its own work.
 */
#ifndef ACCORD_CURLEV_H
#define ACCORD_CURLEV_H

#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

struct curlev_sock;

/* Called after each socket action, never from inside a curl callback:
 * read the finished transfers of multi, and free them if wanted. */
typedef void (*curlev_check_fn)(void *arg);

/* Kept inside its user (its address is curl's callback data): the user
 * adds, removes and reads transfers on multi, and sets what options it
 * wants there beyond the socket and timer functions. */
struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*ev_timer;	/* libcurl's timer */
	int			 running;	/* curl's count */
	TAILQ_HEAD(, curlev_sock) socks;	/* the sockets curl watches */
	curlev_check_fn		 check;
	void			*arg;
};

/* A multi handle on base whose transfers check(arg) collects.  @return 0,
 * or -1 (what was made is freed by curlev_free(), which must follow). */
int curlev_init(struct curlev *ce, struct event_base *base,
    curlev_check_fn check, void *arg);

/* Replace the multi handle by a new one: the old one's connections are
 * closed, with the sockets it did not hand back.  Only once its transfers
 * are removed.  @return 0, or -1 with the old one kept. */
int curlev_renew(struct curlev *ce);

/* Close the multi handle (its transfers removed first, by the user), its
 * sockets' events and the timer.  Safe on a zeroed or half-made ce. */
void curlev_free(struct curlev *ce);

#endif
