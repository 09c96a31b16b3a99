/*
 * engine_retain.c -- retention (issue 19, item 4): the daily job that
 * erases every case whose agreement's retention period has ended, and
 * legal holds, which stop it and the operator's erase.
 *
 * A case's period starts at its last event (the store's updated_at): in
 * a final state the agreement's after-final period applies, otherwise
 * never-closed (an EXPIRED case, one waiting on a partner that never
 * answers, a stalled one).  The job erases through engine_erase_by(),
 * the operator's own path, journalled with by "retention" and a reason
 * naming the period, its end and the agreement.  It runs at start-up and
 * then once a day of the engine's clock (so the test clock moves it),
 * and erases at most ENGINE_RETAIN_SLICE cases per call: the loop calls
 * again at once while more are due, so a backlog never blocks it long.
 *
 * Holds and erasures are operator commands in the journal; the store
 * indexes them (store_retain.c), so a rebuilt store has them again.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf/agreement.h"
#include "conf/config.h"
#include "conf/retention.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/store.h"
#include "persist/store_retain.h"
#include "util/log.h"
#include "util/metric.h"

#define ENGINE_RETAIN_JOB	"retention"
#define ENGINE_RETAIN_EVERY	86400	/* once a day */
#define ENGINE_RETAIN_RETRY	3600	/* after a failure */

static struct metric_family engine_m_erased = {
	.name = "accord_cases_erased_total",
	.help = "Cases erased (their keys deleted), by who: an operator's "
	    "erase command or the retention job.",
	.type = METRIC_COUNTER,
	.labels = { "by" },
};

void
engine_retain_register(void)
{
	metric_register(&engine_m_erased);
	/* both series from the start, at zero */
	metric_add(&engine_m_erased, 0, (const char *[]){ "operator" });
	metric_add(&engine_m_erased, 0, (const char *[]){
	    ENGINE_RETAIN_JOB });
}

void
engine_retain_erased(const char *by)
{
	metric_add(&engine_m_erased, 1, (const char *[]){ by });
}

int
engine_case_retain(struct engine *e, const char *partner, const char *case_id,
    struct fsm_case *c, struct store_retain *r, struct engine_answer *ans)
{
	int n;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	if (engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed");
		return -1;
	}
	if ((n = engine_case_get(e, partner, case_id, c)) != 1) {
		engine_answer_set(ans, n == 0 ? 404 : 503, n == 0 ?
		    AE_UNKNOWN_CASE : AE_TEMPORARY, "no case %s with %s",
		    case_id, partner);
		return -1;
	}
	if (store_retain_get(e->store, partner, case_id, r) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "cannot read the "
		    "case's legal hold");
		return -1;
	}
	return 0;
}

int
engine_hold(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, const char *reason, int hold,
    struct engine_answer *ans)
{
	struct store_retain r;
	struct fsm_case c;
	char at[32];

	if (engine_case_retain(e, partner, case_id, &c, &r, ans) == -1)
		return -1;
	if (hold && r.erased_at != 0) {
		clock_format_utc(r.erased_at, at, sizeof(at));
		engine_answer_set(ans, 409, AE_CONFLICT, "case %s with %s was "
		    "erased at %s (by %s): there is nothing left to hold",
		    case_id, partner, at, r.erased_by);
		return -1;
	}
	if (hold && r.held) {
		clock_format_utc(r.hold_at, at, sizeof(at));
		engine_answer_set(ans, 409, AE_CONFLICT, "case %s with %s is "
		    "on legal hold already (by %s at %s: %s)", case_id,
		    partner, r.hold_by, at, r.hold_reason);
		return -1;
	}
	if (!hold && !r.held) {
		engine_answer_set(ans, 409, AE_CONFLICT, "case %s with %s is "
		    "not on legal hold", case_id, partner);
		return -1;
	}
	/* journalled, with who and why, before it counts */
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, json_pack(
	    "{s:s, s:i, s:s, s:s, s:s}", "command", hold ? "hold" : "release",
	    "uid", (int)uid, "partner", partner, "case", case_id, "reason",
	    reason)) == -1 || engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed");
		return -1;
	}
	engine_answer_set(ans, 200, AE_OK, hold ? "case %s with %s is on legal "
	    "hold: neither erase nor the retention job erases it until it is "
	    "released" : "case %s with %s released from legal hold: the "
	    "retention job erases it once its period has ended", case_id,
	    partner);
	log_info(ETAG, "case %s/%s %s by uid %u", partner, case_id, hold ?
	    "put on legal hold" : "released from legal hold", (unsigned)uid);
	return 0;
}

/* The cases of one page due now, and where the page ended. */
struct engine_retain_due {
	const struct retention *r;
	accord_time_t	 now;
	int		 n, max;	/* due so far; at most */
	int		 rows;		/* read */
	int		 full;		/* stopped: max due */
	accord_time_t	 last_at;
	char		 last_id[RECORD_ID_MAX];
	struct store_retain_case c[ENGINE_RETAIN_SLICE];
};

static int
engine_retain_due_cb(void *arg, const struct store_retain_case *c)
{
	struct engine_retain_due *d = arg;

	d->rows++;
	d->last_at = c->updated_at;
	snprintf(d->last_id, sizeof(d->last_id), "%s", c->case_id);
	/* held or erased; or not due yet by its own period */
	if (c->skip || retention_end(c->updated_at,
	    retention_for(d->r, c->final)) > d->now)
		return 0;
	d->c[d->n++] = *c;
	if (d->n == d->max) {
		d->full = 1;
		return 1;
	}
	return 0;
}

/* Erase what is due in d; *left: how many more this call may erase.
 * @return 0, or -1 (a case could not be erased; logged). */
static int
engine_retain_erase(struct engine *e, const struct agreement *a,
    struct engine_retain_due *d, int *left)
{
	struct engine_answer ans;
	char reason[256], per[32], end[32];
	const struct retention_period *p;
	int i;

	for (i = 0; i < d->n && *left > 0; i++) {
		p = retention_for(&a->retention, d->c[i].final);
		clock_format_utc(retention_end(d->c[i].updated_at, p), end,
		    sizeof(end));
		snprintf(reason, sizeof(reason), "retention period of %s %s "
		    "ended on %s per agreement %s", retention_describe(p,
		    per, sizeof(per)), d->c[i].final ? "after a final state" :
		    "without closing", end, a->country);
		if (engine_erase_by(e, ENGINE_RETAIN_JOB, 0, d->c[i].partner,
		    d->c[i].case_id, reason, &ans) == -1) {
			log_warnx(ETAG, "retention: case %s/%s not erased: %s",
			    d->c[i].partner, d->c[i].case_id, ans.text);
			return -1;
		}
		(*left)--;
	}
	return 0;
}

/* A bound no period of r is shorter than: the cases last updated after
 * it cannot be due (each is checked exactly as it is read). */
static accord_time_t
engine_retain_until(const struct retention *r, accord_time_t now)
{
	const struct retention_period *p;
	accord_time_t until = 0, u;
	int final;

	for (final = 0; final <= 1; final++) {
		p = retention_for(r, final);
		u = now - (accord_time_t)p->n * 86400 *
		    (p->unit == RETENTION_YEARS ? 365 : 1);
		if (final == 0 || u > until)
			until = u;
	}
	return until;
}

/*
 * One slice of the retention job, on the event loop: each partner's
 * cases oldest first, from where the last slice stopped, at most
 * ENGINE_RETAIN_EXAMINE read and ENGINE_RETAIN_SLICE erased a call, so
 * that years of erased cases before the next one due never hold the
 * loop; a run starts over from the oldest once a day.
 */
int
engine_retain(struct engine *e, accord_time_t now)
{
	struct engine_retain_due d;
	const struct agreement *a;
	int left = ENGINE_RETAIN_SLICE, examine = ENGINE_RETAIN_EXAMINE;

	/* nothing sealed, nothing to erase */
	if (e->keys == NULL || e->conf == NULL)
		return 0;
	if (!e->retain_more && now < e->retain_next)
		return 0;
	if (engine_store_behind(e))
		return 0;	/* the next tick, once the store caught up */
	if (!e->retain_more) {		/* a new run, from the oldest */
		e->retain_pi = 0;
		e->retain_at = INT64_MIN;
		e->retain_id[0] = '\0';
	}
	while (e->retain_pi < e->conf->npartners && left > 0 && examine > 0) {
		a = &e->conf->partners[e->retain_pi];
		memset(&d, 0, sizeof(d));
		d.r = &a->retention;
		d.now = now;
		d.max = left;
		if (store_retain_scan(e->store, a->country,
		    engine_retain_until(&a->retention, now), e->retain_at,
		    e->retain_id, examine, engine_retain_due_cb, &d) == -1 ||
		    engine_retain_erase(e, a, &d, &left) == -1) {
			e->retain_more = 0;
			e->retain_next = now + ENGINE_RETAIN_RETRY;
			return -1;
		}
		examine -= d.rows;
		if (d.rows > 0) {
			e->retain_at = d.last_at;
			snprintf(e->retain_id, sizeof(e->retain_id), "%s",
			    d.last_id);
		}
		if (!d.full && examine > 0) {
			/* the partner's page ended short: its last case */
			e->retain_pi++;
			e->retain_at = INT64_MIN;
			e->retain_id[0] = '\0';
		}
	}
	e->retain_erased += ENGINE_RETAIN_SLICE - left;
	if (e->retain_pi < e->conf->npartners) {
		/* more to read: the loop calls again */
		e->retain_more = 1;
		return 1;
	}
	if (e->retain_erased > 0)
		log_info(ETAG, "retention: %llu case(s) erased by this run",
		    (unsigned long long)e->retain_erased);
	e->retain_more = 0;
	e->retain_erased = 0;
	e->retain_next = now + ENGINE_RETAIN_EVERY;
	return 0;
}
