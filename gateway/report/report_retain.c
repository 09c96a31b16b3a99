/*
 * report_retain.c -- what status says of a case's retention (issue 19,
 * item 4): erased (when, by whom), on legal hold (since, by whom, why),
 * or when the retention job will erase it, by the agreement's period
 * (conf/retention.h) from the case's last event.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "conf/agreement.h"
#include "conf/config.h"
#include "conf/retention.h"
#include "fsm/fsm.h"
#include "persist/store.h"
#include "persist/store_retain.h"
#include "report/cmd.h"
#include "report/report.h"

json_t *
report_retain(struct report_ctx *ctx, const struct store_case *sc,
    accord_time_t now, FILE *fp)
{
	const struct config *conf = report_conf(ctx);
	const struct agreement *a;
	const struct retention_period *p;
	struct store_retain r;
	char at[32], per[32], left[32];
	accord_time_t due;
	int final = fsm_state_final(sc->c.state);

	if (store_retain_get(ctx->store, sc->partner, sc->case_id, &r) == -1)
		return json_null();
	if (r.erased_at != 0) {
		clock_format_utc(r.erased_at, at, sizeof(at));
		fprintf(fp, "retention: erased %s by %s: its messages can no "
		    "longer be read\n", at, r.erased_by);
		return json_pack("{s:b, s:s, s:s}", "erased", 1, "erased_at",
		    at, "erased_by", r.erased_by);
	}
	if (r.held) {
		clock_format_utc(r.hold_at, at, sizeof(at));
		fprintf(fp, "retention: on legal hold since %s by %s (%s): not "
		    "erased until released\n", at, r.hold_by, r.hold_reason);
		return json_pack("{s:b, s:b, s:s, s:s, s:s}", "erased", 0,
		    "on_hold", 1, "hold_since", at, "hold_by", r.hold_by,
		    "hold_reason", r.hold_reason);
	}
	a = conf != NULL ? config_partner(conf, sc->partner) : NULL;
	if (a == NULL) {
		fprintf(fp, "retention: no agreement with %s known here\n",
		    sc->partner);
		return json_pack("{s:b, s:b}", "erased", 0, "on_hold", 0);
	}
	p = retention_for(&a->retention, final);
	due = retention_end(sc->updated_at, p);
	clock_format_utc(due, at, sizeof(at));
	retention_describe(p, per, sizeof(per));
	cmd_left((long long)(due - now), left, sizeof(left));
	if (conf->keys_master == NULL)
		fprintf(fp, "retention: %s %s, to %s; nothing is sealed (no "
		    "<keys master=>), so nothing is erased\n", per, final ?
		    "after a final state" : "without closing", at);
	else
		fprintf(fp, "retention: to be erased on %s (%s %s per agreement %s, "
		    "%s)\n", at, per, final ? "after a final state" :
		    "without an event", sc->partner, due > now ? left :
		    "at the retention job's next run");
	return json_pack("{s:b, s:b, s:s, s:s, s:I}", "erased", 0, "on_hold",
	    0, "erase_due", at, "period", per, "seconds_left",
	    (json_int_t)(due - now));
}
