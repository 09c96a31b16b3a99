/*
 * tsaclient.h -- trusted time for the journal (issue 18, item 4): each
 * checkpoint the journal commits is time-stamped by the RFC 3161
 * authority of <timestamp url= ca=>, and the token journalled as a
 * TIMESTAMP record (engine_timestamp()).
 *
 * One request at a time, POSTed (application/timestamp-query) by
 * libcurl's multi interface on the daemon's libevent loop, as outbound.c
 * does, on a small multi handle of its own: nothing blocks the loop.  The
 * reply must be granted, carry our imprint and nonce, and verify against
 * the configured CA.  A TSA that is down or answers badly does not stop
 * the journal: the checkpoint is written anyway and the request is tried
 * again after retry-seconds, doubling up to TSACLIENT_BACKOFF_MAX.  A
 * newer checkpoint supersedes one still waiting for its token: a token
 * over the newer one proves every record before it existed at its time,
 * and the older checkpoint stays without one (verify says so).  While it
 * fails, `accordctl alerts` shows "time-stamp authority unreachable since
 * ..." and accord_timestamp_failures_total counts the failures.
 */
#ifndef ACCORD_TSACLIENT_H
#define ACCORD_TSACLIENT_H

#include <event2/event.h>

#include "conf/config.h"
#include "engine/engine.h"
#include "report/report.h"

#define TSACLIENT_TIMEOUT	30	/* seconds for one request */
#define TSACLIENT_BACKOFF_MAX	900	/* the longest wait between tries */
#define TSACLIENT_REPLY_MAX	(256 * 1024)

struct tsaclient;

/* Start when c has a <timestamp>.  @return the client, NULL when none is
 * configured (*failed 0) or on failure (*failed 1, logged). */
struct tsaclient *tsaclient_start(struct event_base *base,
    const struct config *c, struct engine *e, int *failed);

/* A commit landed: time-stamp the latest checkpoint if it is new. */
void tsaclient_checkpoint(struct tsaclient *tc);

void tsaclient_stop(struct tsaclient *tc);

/* What the reports show (report_ctx's tsa): thread-safe.
 * @return 1 with *out, 0 when no authority is configured. */
int tsaclient_state(struct report_tsa *out);

#endif
