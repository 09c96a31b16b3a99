/*
 * engine_refusals.c -- a partner's refused messages, journalled in full
 * (the message, the refusal, our Error: some kilobytes each) at most
 * conf->refusals_per_minute a minute; beyond that rate each is still
 * answered with its signed Error but only counted, and the counts are
 * journalled as one REFUSALS_COUNTED record per partner a minute (and at
 * engine_close()).  So an
 * authenticated partner cannot grow the journal at will by sending
 * messages the fsm refuses.  NOT_YET and TEMPORARY never come here: they
 * decide nothing and are never journalled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "util/xmalloc.h"

/* Seconds of one window of the rate, and between two summaries. */
#define ENGINE_REFUSAL_WINDOW	60

static struct engine_refusals *
engine_refusals_get(struct engine *e, const char *partner)
{
	struct engine_refusals *r;
	size_t i;

	for (i = 0; i < e->nrefusals; i++)
		if (strcmp(e->refusals[i].partner, partner) == 0)
			return &e->refusals[i];
	e->refusals = xgrowarray(e->refusals, e->nrefusals, &e->caprefusals,
	    sizeof(*e->refusals));
	r = &e->refusals[e->nrefusals++];
	memset(r, 0, sizeof(*r));
	snprintf(r->partner, sizeof(r->partner), "%s", partner);
	return r;
}

/* Was this MessageId counted before (recently)?  Remember it. */
static int
engine_refusals_seen(struct engine_refusals *r, const char *message_id)
{
	int i;

	for (i = 0; i < ENGINE_REFUSED_IDS; i++)
		if (strcmp(r->ids[i], message_id) == 0)
			return 1;
	snprintf(r->ids[r->nextid], sizeof(r->ids[r->nextid]), "%s",
	    message_id);
	r->nextid = (r->nextid + 1) % ENGINE_REFUSED_IDS;
	return 0;
}

int
engine_refusal_admit(struct engine *e, const char *partner,
    const char *message_id, accord_time_t now)
{
	struct engine_refusals *r = engine_refusals_get(e, partner);

	if (now - r->window >= ENGINE_REFUSAL_WINDOW || now < r->window) {
		r->window = now;
		r->in_window = 0;
	}
	if (r->in_window < e->conf->refusals_per_minute) {
		r->in_window++;
		return 1;
	}
	if (r->counted == 0) {
		r->first = now;
		log_warnx(ETAG, "%s: more than %d refused messages a minute: "
		    "the rest are answered but only counted in the journal",
		    partner, e->conf->refusals_per_minute);
	}
	r->counted++;
	r->last = now;
	if (engine_refusals_seen(r, message_id))
		r->repeated++;
	return 0;
}

int
engine_refusals_summary(struct engine *e, accord_time_t now, int all)
{
	struct engine_refusals *r;
	struct record_counted rc;
	char *payload;
	size_t i, plen;

	for (i = 0; i < e->nrefusals; i++) {
		r = &e->refusals[i];
		if (r->counted == 0 || (!all &&
		    now - r->summarized < ENGINE_REFUSAL_WINDOW &&
		    now >= r->summarized))
			continue;
		memset(&rc, 0, sizeof(rc));
		snprintf(rc.partner, sizeof(rc.partner), "%s", r->partner);
		rc.refused = r->counted > INT32_MAX ? INT32_MAX :
		    (int)r->counted;
		rc.repeated = r->repeated > INT32_MAX ? INT32_MAX :
		    (int)r->repeated;
		rc.first = r->first;
		rc.last = r->last;
		rc.per_minute = e->conf->refusals_per_minute;
		if (record_counted_encode(&rc, &payload, &plen) == -1 ||
		    engine_append(e, JOURNAL_REFUSALS_COUNTED, payload,
		    plen) == -1)
			return -1;
		log_warnx(ETAG, "%s: %d refused messages counted, not "
		    "journalled one by one (%d of them a MessageId refused "
		    "before)", r->partner, rc.refused, rc.repeated);
		r->counted = r->repeated = 0;
		r->summarized = now;
	}
	return 0;
}
