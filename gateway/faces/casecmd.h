/*
 * casecmd.h -- the control socket's commands that act on cases: submit,
 * record (protocols/control.md), and the test clock.  The operations
 * commands (inbox, ack, resend, pause, metrics, monitor) are opscmd.c's;
 * casecmd_commands serves both.  The read-only reports (status, list,
 * timeline, queues, alerts, stats) are report/'s, served from their own
 * table with a read-only store.
 *
 * Handlers for control.c's command table.  They act through the engine
 * and read through the reports; they never touch the store or journal.
 */
#ifndef ACCORD_CASECMD_H
#define ACCORD_CASECMD_H

#include <jansson.h>

#include "engine/engine.h"
#include "faces/control.h"
#include "report/report.h"

/* What the handlers work on; owned by accordd. */
struct casecmd_ctx {
	struct engine		 *engine;
	/* the read-only reports' context: lookups go there, not to the
	 * store */
	struct report_ctx	 *report;
	/* a message was queued: hand it to the transport (may be NULL) */
	void			(*queued)(void *arg,
				    const struct engine_outgoing *out);
	void			 *queued_arg;
	/* the operator's retry: what backs off for partner goes now
	 * (outbound_retry_now); @return how many backed off */
	int			(*retry)(void *arg, const char *partner);
	void			 *retry_arg;
	/* the clock moved (test builds): run the deadline timer now */
	void			(*clock_moved)(void *arg);
	void			 *clock_arg;
	/* the control socket commits after each read (control_set_commit):
	 * submits append only */
	int			  group_commit;
	/* streams: the socket, learnt from the first subscriber */
	struct control		 *control;
	/* the socket whose deferred submits were answered last */
	struct control		 *signed_ctl;
	/* a master key rotation was begun: run engine_rotate_step() from
	 * the loop until it is done (may be NULL: all at once) */
	void			(*rotating)(void *arg);
	void			 *rotating_arg;
	/* whose rotate-master-key waits for its end (keycmd.c) */
	struct control		 *rot_ctl;
	uint64_t		  rot_token;
};

/* The engine's signing pool has finished submits (engine_sign_fd() is
 * readable): journal them in order, answer them, commit. */
void casecmd_signed(struct casecmd_ctx *ctx);

CMD_HANDLER(casecmd_submit);
CMD_HANDLER(casecmd_record);
/* Test-clock builds only: clock set TIME | advance SECONDS | show. */
CMD_HANDLER(casecmd_clock);

/* The commands that act (the read-only ones are report_commands), for
 * control_add_commands() with a casecmd_ctx. */
extern const struct cmd_command casecmd_commands[];

#endif
