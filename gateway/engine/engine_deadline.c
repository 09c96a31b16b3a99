/*
 * engine_deadline.c -- deadlines: fired when due (held while a timely
 * reply of ours is on its way), and the next one for the timer.
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
#include "persist/store.h"
#include "util/xmalloc.h"

/* ---- deadlines ----------------------------------------------------------- */

/*
 * On the requested side, a reply created before its deadline and still
 * on its way holds silence-means-consent back: the partner will take it
 * as timely, so deeming the case accepted here would split the two sides
 * (DESIGN.md 3).  If the reply ended UNDELIVERED the hold stays: an
 * operator redelivers it.  @return 1 to hold the deadline.
 */
static int
engine_deadline_held(struct engine *e, const struct store_deadline *dl,
    const struct fsm_case *c)
{
	struct store_message m;
	enum msg_type reply;

	if (c->role != ROLE_REQUESTED)
		return 0;
	if (dl->which == FSM_DL_REPLY)
		reply = MSG_READMISSION_REPLY;
	else if (dl->which == FSM_DL_TRANSIT_REPLY)
		reply = MSG_TRANSIT_REPLY;
	else
		return 0;
	if (store_case_last_message(e->store, dl->partner, dl->case_id,
	    RECORD_DIR_OUT, &m) != 1 || m.type != reply ||
	    !engine_msg_pending(m.state) || m.created > dl->due)
		return 0;
	if (m.state == RECORD_MS_UNDELIVERED)
		log_errx(ETAG, "CRITICAL: %s/%s: our timely %s %s was never "
		    "delivered; the %s deadline is held (the case is not "
		    "deemed accepted here): redeliver it", dl->partner,
		    dl->case_id, agreement_msg_type_name(reply), m.message_id,
		    fsm_deadline_name(dl->which));
	else
		log_info(ETAG, "%s/%s: %s deadline held while our reply %s "
		    "is delivered", dl->partner, dl->case_id,
		    fsm_deadline_name(dl->which), m.message_id);
	return 1;
}

struct engine_due {
	struct store_deadline	*list;
	size_t			 n;
	size_t			 cap;
};

static int
engine_collect_due(void *arg, const struct store_deadline *dl)
{
	struct engine_due *due = arg;

	due->list = xgrowarray(due->list, due->n, &due->cap,
	    sizeof(*due->list));
	due->list[due->n++] = *dl;
	return 0;
}

int
engine_deadlines(struct engine *e, accord_time_t now)
{
	struct engine_due due = { NULL, 0, 0 };
	const struct agreement *a;
	struct record_deadline rdl;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	struct store_deadline last;
	char *payload;
	size_t i, plen;
	int fired = 0, page = 0;

	if (e->store_behind)
		return -1;	/* the deadline timer tries again */
	/*
	 * A deadline fires at the first second after its due instant
	 * (DESIGN.md 4): due < now.  Pages of ENGINE_DEADLINE_PAGE, at most
	 * ENGINE_DEADLINES_SLICE fired a call: the rest wait for the next
	 * one (the timer comes back at once), so that a backlog (days of
	 * deadlines after a long stop) never holds the loop in one go.  The
	 * store has each call's firings before the next call reads it
	 * (engine_flush() applies them; a store behind stops us above).
	 */
 next_page:
	due.n = 0;
	if (store_deadlines_due_page(e->store, now - 1, page++ > 0 ? &last :
	    NULL, ENGINE_DEADLINE_PAGE, engine_collect_due, &due) == -1) {
		free(due.list);
		return -1;
	}
	for (i = 0; i < due.n && fired < ENGINE_DEADLINES_SLICE; i++) {
		const struct store_deadline *dl = &due.list[i];

		last = *dl;
		a = config_partner(e->conf, dl->partner);
		if (a == NULL || engine_case_get(e, dl->partner, dl->case_id,
		    &c) != 1) {
			log_warnx(ETAG, "deadline of %s/%s: no agreement or "
			    "case; left armed", dl->partner, dl->case_id);
			continue;
		}
		if (engine_deadline_held(e, dl, &c))
			continue;
		memset(&rdl, 0, sizeof(rdl));
		snprintf(rdl.partner, sizeof(rdl.partner), "%s", dl->partner);
		snprintf(rdl.case_id, sizeof(rdl.case_id), "%s", dl->case_id);
		rdl.which = dl->which;
		rdl.due = dl->due;
		memset(&ev, 0, sizeof(ev));
		ev.kind = FSM_EV_DEADLINE;
		ev.deadline = dl->which;
		ev.at = dl->due;	/* it fires at its own time */
		fsm_decide(&c, &ev, a, engine_requested_cal(e, a, &c),
		    now, &d);
		if (record_deadline_encode(&rdl, &payload, &plen) == -1 ||
		    engine_append(e, JOURNAL_DEADLINE_FIRED, payload,
		    plen) == -1 ||
		    engine_journal_decision(e, dl->partner, dl->case_id, NULL,
		    &c, &ev, now, &d) == -1) {
			free(due.list);
			return -1;
		}
		log_info(ETAG, "deadline %s of %s/%s fired: %s",
		    fsm_deadline_name(dl->which), dl->partner, dl->case_id,
		    d.refusal == AE_OK ? d.event : d.text);
		fired++;
	}
	if (due.n == ENGINE_DEADLINE_PAGE && fired < ENGINE_DEADLINES_SLICE)
		goto next_page;
	free(due.list);
	/* the deadline timer runs at least once a minute */
	if (engine_refusals_summary(e, now, 0) == -1 ||
	    engine_flush(e) == -1)
		return -1;
	return fired;
}

accord_time_t
engine_next_deadline(struct engine *e)
{
	struct store_deadline dl;

	/* one due now and not fired is held back (or waits for the store):
	 * the deadline timer looks at it again within a minute */
	if (store_next_deadline_after(e->store, clock_now() - 1, &dl) != 1)
		return 0;
	return dl.due + 1;	/* when it fires */
}
