/*
 * stage.h -- where the process's CPU goes: per-thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID) charged to the stage a thread is in, summed
 * over threads, for the profile of issue 20 (bench_transport prints it).
 *
 * A thread keeps a small stack of stages: stage_begin() charges the time
 * since the last mark to the stage on top and pushes the new one, and
 * stage_end() charges the one on top and pops it, so that a stage counts
 * only its own time, never that of the stages nested in it (a signature
 * made inside an HTTP callback is signing, not HTTP).  STAGE_OTHER is
 * charged to nothing: it brackets work of no stage inside one that
 * would otherwise take it (the engine's checks inside the event loop).
 * Everything never bracketed, and STAGE_OTHER, is "other": the process's
 * CPU (getrusage) less every stage, computed when the counters are
 * printed.  A begin or end costs one clock_gettime() (a system call, a
 * fraction of a microsecond).  Thread-safe.
 */
#ifndef ACCORD_STAGE_H
#define ACCORD_STAGE_H

#include <stdio.h>

enum stage {
	STAGE_PARSE = 0,	/* XML parsing and schema validation */
	STAGE_VERIFY,		/* XML signature verification */
	STAGE_SIGN,		/* XML signing */
	STAGE_JOURNAL,		/* journal append: encoding, chaining, write */
	STAGE_FSYNC,		/* fdatasync of the journal */
	STAGE_STORE,		/* applying records to the SQLite store */
	STAGE_HTTP,		/* the event loop's I/O: HTTP, TLS, curl */
	STAGE_OTHER,		/* none of the above (not charged) */
	STAGE_COUNT
};

/* Enter stage s on this thread (until stage_end(s)). */
void stage_begin(enum stage s);

/* Leave the stage this thread entered last (s, named for the reader). */
void stage_end(enum stage s);

/* The stage's label value ("parse", ..., "other"). */
const char *stage_name(enum stage s);

/* CPU seconds charged to s so far, the time of stages still open
 * excluded; for STAGE_OTHER the process's CPU less every other stage. */
double stage_seconds(enum stage s);

/* accord_stage_cpu_seconds_total{stage=...}, every stage, "other"
 * included, in the exposition format. */
void stage_expose(FILE *fp);

#endif
