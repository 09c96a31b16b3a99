/*
 * opscmd.h -- the control socket's operations commands: inbox, ack,
 * resend, pause, resume, queues, alerts, stats, metrics, monitor
 * (protocols/control.md).
 *
 * Handlers for control.c's command table, served from casecmd_commands
 * with the same struct casecmd_ctx.  Like the case commands they only
 * read the store; what they change goes through the engine, journalled
 * with the caller's uid.  stats and alerts also run offline in accordctl
 * (engine NULL, store read-only, configuration possibly NULL).
 *
 * Personal data (names, dates of birth, document numbers, addresses) is
 * only in document bodies, which only inbox shows: masked by the
 * schemas' allowlist (msg/pdmask.h), unless an admin asks with --reveal,
 * and every reveal is journalled first (engine_reveal_journal); nothing
 * is shown when that fails.
 */
#ifndef ACCORD_OPSCMD_H
#define ACCORD_OPSCMD_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "engine/engine.h"
#include "faces/control.h"

/* Topics of control_publish(): new inbox messages, every record. */
#define OPSCMD_TOPIC_INBOX	"inbox"
#define OPSCMD_TOPIC_MONITOR	"monitor"

CMD_HANDLER(opscmd_inbox);
CMD_HANDLER(opscmd_ack);
CMD_HANDLER(opscmd_resend);
/* pause and resume: the command's name says which. */
CMD_HANDLER(opscmd_pause);
/* retry PARTNER: deliver now what backs off for it. */
CMD_HANDLER(opscmd_retry);
CMD_HANDLER(opscmd_monitor);

/*
 * The business document inside a signed message (the first element of
 * its Body), serialised, with every value the schemas do not allowlist
 * replaced by "***" (pdmask_doc) unless reveal is set.  @return a malloc'd string, or NULL if the bytes are
 * not a message.
 */
/* The engine's counters (a snapshot), in Prometheus text exposition:
 * what metrics adds to the store's gauges. */
void opscmd_engine_metrics(const struct engine_stats *es, FILE *fp);

char *opscmd_document(const char *bytes, size_t len, int reveal);

#endif
