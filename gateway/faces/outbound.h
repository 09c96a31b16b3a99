/*
 * outbound.h -- delivery of our messages to partner gateways.
 *
 * The outbox is the store's (store_outbox_due: due, partner not paused,
 * messages of one case in order); this module only moves bytes.  libcurl's
 * multi interface runs inside the libevent loop (hiperfifo's pattern), with
 * connection reuse, mutual TLS (our client certificate; the partner's
 * server certificate verified against that partner's CA only, and its host
 * name) and at most OUTBOUND_PER_PARTNER transfers per partner.
 *
 * The partner's answer decides: 200, or a 4xx with a body, goes to
 * engine_receipt() (RECEIPTED, REJECTED or DISPUTED, journalled there);
 * a connection failure, a timeout, a 5xx (or 408/429, or a 4xx without a
 * body) is retried with exponential backoff and jitter from the
 * agreement's retry policy until the retry window, counted from the
 * message's Created, is over: then engine_undelivered().
 *
 * The server is known by the partner's CA and the endpoint's host name;
 * a verify callback (CURLOPT_SSL_CTX_FUNCTION) also refuses, during the
 * handshake, a certificate the partner's CRL revokes and, where the
 * agreement has a server-pin, any certificate but the pinned one (the
 * client pin identifies the partner's client certificate, not this).
 */
#ifndef ACCORD_OUTBOUND_H
#define ACCORD_OUTBOUND_H

#include <event2/event.h>

#include "conf/config.h"
#include "engine/engine.h"
#include "report/report.h"

/* Transfers in flight to one partner, at most, by default: <limits
 * connections-per-partner=> sets it (one transfer a connection). */
#define OUTBOUND_PER_PARTNER	CONFIG_CONNECTIONS_PER_PARTNER
/* Seconds for one whole transfer, and for its connection. */
#define OUTBOUND_TIMEOUT	60
#define OUTBOUND_CONNECT_TIMEOUT 10

struct outbound;

/*
 * Start delivering: looks at the outbox at once, then every second and
 * whenever outbound_kick() is called.
 * @return the sender, or NULL (logged).
 */
struct outbound *outbound_start(struct event_base *base,
    const struct config *c, struct engine *e);

/* Something new may be in the outbox: look now (on the next loop turn). */
void outbound_kick(struct outbound *ob);

/* The partner proved reachable (it answered, or sent us a message): its
 * backed-off messages are rescheduled at once (the per-partner transfer
 * limit still holds). */
void outbound_partner_alive(struct outbound *ob, const char *partner);

/*
 * A message just submitted (engine_submit's out): keep its bytes so the
 * send need not read them back from the journal, and kick.
 * @return 0, or -1 (out of memory; the message is still sent, from the
 * journal).
 */
int outbound_enqueue(struct outbound *ob, const struct engine_outgoing *o);

/*
 * The operator's retry: every message queued for partner that backs off
 * goes now, and the partner is probed at once.  @return how many were
 * backing off.
 */
int outbound_retry_now(struct outbound *ob, const char *partner);

/*
 * The live state of the link to partner (last error, last success, next
 * attempt), for the reports: callable from any thread.  @return 1 with
 * *out set, 0 when nothing was tried yet.
 */
int outbound_link(const char *partner, struct report_link *out);

/*
 * The latest delivery attempts of (partner, message_id), oldest first, at
 * most max: kept in memory (the last OUTBOUND_ATTEMPTS_KEPT of all
 * messages; lost at a restart), callable from any thread.  @return how
 * many were put in out.
 */
#define OUTBOUND_ATTEMPTS_KEPT	4096
int outbound_attempts(const char *partner, const char *message_id,
    struct report_attempt *out, int max);

/* Take a reloaded configuration (endpoints, CAs, retry policies). */
void outbound_set_config(struct outbound *ob, const struct config *c);

/* A stop begins: partners' answers queued for the parser are no longer
 * read; their messages stay in the outbox as they are.  NULL allowed. */
void outbound_stop_reading(struct outbound *ob);

/*
 * Stop: transfers in flight are abandoned (the messages stay in the outbox
 * and a partner that already committed answers the resend with its
 * original receipt).  NULL is allowed.
 */
void outbound_stop(struct outbound *ob);

#endif
