/*
 * metrics_http.h -- the Prometheus endpoint: GET /metrics over plain HTTP
 * on a listener of its own (<metrics listen=>), served by the engine's
 * event loop.  The text (report_metrics(): the store's gauges, the
 * engine's and the faces' counters) is built on a thread of its own with
 * its own read-only store connection, so a scrape never holds the loop;
 * the loop only hands the request over and sends the answer.
 */
#ifndef ACCORD_METRICS_HTTP_H
#define ACCORD_METRICS_HTTP_H

#include <event2/event.h>

#include "conf/config.h"
#include "report/report.h"

/* Scrapes waiting or in progress at once; more get a 503. */
#define METRICS_HTTP_QUEUE_MAX	8
/* Seconds a connection may stay idle (evhttp's timeout). */
#define METRICS_HTTP_TIMEOUT	10

struct metrics_http;

/*
 * Listen on c->metrics_address:c->metrics_port (none: returns NULL and
 * *failed is 0) and answer from ctx, which must stay valid and is read
 * only on the endpoint's thread.  @return the endpoint, or NULL with
 * *failed set (logged).
 */
struct metrics_http *metrics_http_start(struct event_base *base,
    const struct config *c, struct report_ctx *ctx, int *failed);

/* Wait until no scrape runs: before freeing a configuration the thread
 * may read.  NULL is allowed. */
void metrics_http_drain(struct metrics_http *mh);

/* Answer what waits with a 503, stop the thread, close the listener.
 * NULL is allowed. */
void metrics_http_stop(struct metrics_http *mh);

#endif
