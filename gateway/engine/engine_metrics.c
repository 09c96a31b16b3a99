/*
 * engine_metrics.c -- what the engine counts for the metrics, where it
 * happens: business messages in and out (once committed and applied),
 * the partner messages answered with an Error (by code), and how long
 * our messages took from their Created to the partner's receipt.
 *
 * In memory only (util/metric.c): a restart starts them at zero, as
 * Prometheus expects of counters.  Records replayed at start-up
 * (engine_catch_up) are not counted: they were counted by the process
 * that wrote them.
 */
#include <stdio.h>
#include <string.h>

#include "conf/agreement.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/errcode.h"
#include "util/metric.h"

static struct metric_family engine_m_in = {
	.name = "accord_messages_in_total",
	.help = "Business messages received from partners and committed, by "
	    "partner and type.",
	.type = METRIC_COUNTER,
	.labels = { "partner", "type" },
};

static struct metric_family engine_m_out = {
	.name = "accord_messages_out_total",
	.help = "Business messages of ours committed for delivery (submitted "
	    "by the back office or built by the gateway), by partner and "
	    "type.",
	.type = METRIC_COUNTER,
	.labels = { "partner", "type" },
};

static struct metric_family engine_m_refusals = {
	.name = "accord_refusals_total",
	.help = "Partner messages answered with an Error, by partner and "
	    "code (TEMPORARY and NOT_YET included: they are answers too).",
	.type = METRIC_COUNTER,
	.labels = { "partner", "code" },
};

/* From seconds (a partner that answers at once) to the 48-hour retry
 * window: the gateway's clock counts whole seconds. */
static const double engine_latency_bounds[] = {
	1, 5, 15, 60, 300, 900, 3600, 14400, 43200, 86400, 172800
};

static struct metric_family engine_m_latency = {
	.name = "accord_delivery_latency_seconds",
	.help = "Seconds from a message's Created (when it was submitted and "
	    "queued) to the partner's receipt, by partner (whole seconds of "
	    "the gateway's clock).",
	.type = METRIC_HISTOGRAM,
	.labels = { "partner" },
	.bounds = engine_latency_bounds,
	.nbounds = sizeof(engine_latency_bounds) /
	    sizeof(engine_latency_bounds[0]),
};

void
engine_metrics_register(void)
{
	metric_register(&engine_m_in);
	metric_register(&engine_m_out);
	metric_register(&engine_m_refusals);
	metric_register(&engine_m_latency);
	engine_retain_register();
}

/*
 * A record is committed and in the store.  The receipt's latency is
 * measured against our message's Created as the store has it (one
 * lookup by key on the loop's connection, which never waits).
 */
void
engine_metrics_record(struct engine *e, enum journal_kind kind,
    accord_time_t time, const char *payload, size_t len,
    const struct engine_msgnote *note)
{
	struct record_message m;
	struct store_message sm;

	if (kind != JOURNAL_MESSAGE_RECEIVED && kind != JOURNAL_MESSAGE_SENT &&
	    kind != JOURNAL_RECEIPT_GOT)
		return;
	/* noted when appended; else (a record of another path) decoded */
	if (note != NULL && note->set) {
		m.type = note->type;
		snprintf(m.partner, sizeof(m.partner), "%s", note->partner);
		snprintf(m.ref_to, sizeof(m.ref_to), "%s", note->ref_to);
	} else if (record_message_decode(payload, len, &m) == -1)
		return;
	switch (kind) {
	case JOURNAL_MESSAGE_RECEIVED:
		metric_add(&engine_m_in, 1, (const char *[]){ m.partner,
		    agreement_msg_type_name(m.type) });
		break;
	case JOURNAL_MESSAGE_SENT:
		metric_add(&engine_m_out, 1, (const char *[]){ m.partner,
		    agreement_msg_type_name(m.type) });
		break;
	default:
		if (m.ref_to[0] != '\0' && store_message_find(e->store,
		    m.partner, m.ref_to, RECORD_DIR_OUT, &sm) == 1 &&
		    sm.created > 0 && time >= sm.created)
			metric_observe(&engine_m_latency,
			    (double)(time - sm.created),
			    (const char *[]){ m.partner });
		break;
	}
}

/* A partner's message was answered (ans, when it is an Error). */
void
engine_metrics_answer(const char *partner, const struct engine_answer *ans)
{
	if (ans->code == AE_OK)
		return;
	metric_add(&engine_m_refusals, 1, (const char *[]){ partner,
	    errcode_name(ans->code) });
}
