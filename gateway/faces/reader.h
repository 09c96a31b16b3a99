/*
 * reader.h -- partner XML read by the parser process off the event loop
 * (privilege separation, README "Process model").
 *
 * A reader is one thread that hands jobs to the engine's parser client
 * (engine_rx_parse()) and waits for each model, so that the loop serves
 * everything else meanwhile.  One thread per reader: the jobs are read,
 * and their done callbacks run on the loop, in the order they were
 * handed.  Each face that reads partner XML owns one (faces/inbound.c for
 * partners' messages, faces/outbound.c for their answers to ours).
 */
#ifndef ACCORD_READER_H
#define ACCORD_READER_H

#include <sys/queue.h>

#include <stddef.h>

#include <event2/event.h>

#include "engine/engine.h"

struct reader;

struct reader_job {
	struct engine_rx	 rx;	/* engine_rx_prepare()'d by the caller */
	const char		*bytes;	/* the caller's, unchanged until done */
	size_t			 len;
	/* on the loop once read */
	void			(*done)(struct reader_job *, void *);
	void			*arg;
	int			 unread;	/* a stop came first */
	TAILQ_ENTRY(reader_job)	 entry;
};

/* A reader on base, or NULL (logged). */
struct reader *reader_start(struct event_base *base);

/* Queue job to read bytes, which are not copied: they must stay as they
 * are until its done(job, arg) runs on the loop, when the parser has
 * answered (a held request's body, a transfer's answer: no partner
 * message is held twice).  The model is the engine's to clear
 * (engine_receive_parsed() and engine_receipt_parsed() do).  @return 0,
 * or -1 once the reader is stopped (the caller reads on the loop). */
int reader_hand(struct reader *r, struct reader_job *job, const char *bytes,
    size_t len);

/* From now on no job is begun: those queued get no model (rx.rc stays
 * -1, unread is set).  Stopping every reader this way first, then each
 * with reader_stop(), a stop waits for one parser answer at most.  NULL
 * allowed. */
void reader_stop_begin(struct reader *r);

/* reader_stop_begin(); the job being read is finished, and every job's
 * done is called, here, on the loop's thread; then the thread ends and
 * the reader is freed.  NULL allowed. */
void reader_stop(struct reader *r);

#endif
