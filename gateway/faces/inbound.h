/*
 * inbound.h -- the HTTPS mutual-TLS endpoint partner gateways post their
 * messages to (POST /accord/v1/messages).
 *
 * Every connection must present a client certificate that a partner CA
 * verifies; every request is matched again to exactly one partner, by the
 * certificate's pinned SHA-256 fingerprint or by (the partner's CA issued
 * it, and its RFC 2253 subject is the configured one); a certificate the
 * CRL of the partner whose CA issued it revokes is refused in the
 * handshake (faces/tlspeer.h logs and counts it).  The body goes to
 * engine_receive(); answers of requests that arrive in the same loop
 * iteration wait for one engine_flush() (group commit) and are sent only
 * once it has committed, or as 503 if it failed.
 *
 * Beside libevent's idle timeout, each connection has a deadline (its TLS
 * handshake with a partner's certificate within the configured
 * tls-handshake-seconds of the accept, then a whole request within
 * INBOUND_DEADLINE seconds of the handshake or of the previous reply) and
 * the number of connections is capped, unauthenticated ones per client
 * address too, the oldest of them closed first at the cap: all ours to
 * enforce with libevent 2.1 (PITFALLS.md 4).  evhttp's own HTML error
 * pages never leave: a signed TOO_LARGE Error or plain text replaces
 * them.
 */
#ifndef ACCORD_INBOUND_H
#define ACCORD_INBOUND_H

#include <event2/event.h>

#include "conf/config.h"
#include "engine/engine.h"

/* The one resource partners post to. */
#define INBOUND_PATH		"/accord/v1/messages"
/* Seconds an authenticated connection gets for each complete request. */
#define INBOUND_DEADLINE	30
/* Connections served at once; at the cap the oldest unauthenticated one
 * is closed to make room, and with none a new one is closed at once. */
#define INBOUND_MAX_CONNS	256

struct inbound;

/*
 * Listen on c's address and port with c's server certificate, trusting
 * the TLS CAs of c's partners for client certificates.  fd: a socket
 * already listening there (the privilege-separated parent opened it),
 * taken and closed with the server; -1: bind here.
 * @return the server, or NULL (logged; the daemon must not start).
 */
struct inbound *inbound_start(struct event_base *base, const struct config *c,
    struct engine *e, int fd);

/*
 * Take a reloaded configuration: partners, CAs, limits.  New connections
 * use the new CAs; a new address or port needs a restart (logged).  On a
 * TLS error the old settings stay in force (logged).  c must outlive its
 * use, as with every module.
 */
void inbound_set_config(struct inbound *in, const struct config *c);

/* A stop begins: partner messages queued for the parser are no longer
 * read (inbound_stop() answers them 503), so that the stop waits for one
 * parser answer at most; outbound_stop_reading() likewise.  NULL is
 * allowed. */
void inbound_stop_reading(struct inbound *in);

/*
 * Stop accepting, answer what is waiting for the group commit, give the
 * replies being written a few seconds to leave (PITFALLS.md 6), then close
 * every connection and free in.  Runs the event loop meanwhile.  NULL is
 * allowed.
 */
void inbound_stop(struct inbound *in);

/* A journal flight landed: answer the requests it held. */
void inbound_committed(struct inbound *in);

#endif
