/*
 * stage.c -- CPU time by stage (see stage.h).
 *
 * Each thread charges its own CPU clock to its own stack of stages, with
 * no lock; the sums are atomic nanosecond counters shared by all.  The
 * process's CPU from getrusage() covers every thread, those that never
 * name a stage too (the control socket's worker): what no stage took is
 * "other".
 */
#include <sys/resource.h>
#include <sys/time.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "util/metric.h"
#include "util/stage.h"

/* Nesting deeper than this charges the deepest level kept. */
#define STAGE_DEPTH	8

static const char *const stage_names[STAGE_COUNT] = {
	[STAGE_PARSE] = "parse",
	[STAGE_VERIFY] = "verify",
	[STAGE_SIGN] = "sign",
	[STAGE_JOURNAL] = "journal",
	[STAGE_FSYNC] = "fsync",
	[STAGE_STORE] = "store",
	[STAGE_HTTP] = "http",
	[STAGE_OTHER] = "other",
};

static _Atomic uint64_t stage_ns[STAGE_COUNT];

/* "other" only grows: a stage still open on another thread is in the
 * process's CPU but not yet in its counter, and would make it dip. */
static pthread_mutex_t stage_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t stage_other_ns;

static _Thread_local struct {
	int		 depth;
	enum stage	 stack[STAGE_DEPTH];
	uint64_t	 mark;		/* the thread's CPU clock, ns */
} stage_th;

static uint64_t
stage_clock(void)
{
	struct timespec ts;
	int saved = errno;	/* callers read errno across a stage */

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1) {
		errno = saved;
		return 0;
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Charge the time since the mark to the stage on top; move the mark. */
static void
stage_charge(uint64_t now)
{
	enum stage top;
	int i;

	if (stage_th.depth > 0 && now > stage_th.mark) {
		i = stage_th.depth <= STAGE_DEPTH ? stage_th.depth - 1 :
		    STAGE_DEPTH - 1;
		top = stage_th.stack[i];
		if (top != STAGE_OTHER)
			atomic_fetch_add_explicit(&stage_ns[top],
			    now - stage_th.mark, memory_order_relaxed);
	}
	stage_th.mark = now;
}

void
stage_begin(enum stage s)
{
	stage_charge(stage_clock());
	if (stage_th.depth < STAGE_DEPTH)
		stage_th.stack[stage_th.depth] = s;
	stage_th.depth++;
}

void
stage_end(enum stage s)
{
	(void)s;
	if (stage_th.depth == 0)
		return;		/* unpaired: nothing to charge */
	stage_charge(stage_clock());
	stage_th.depth--;
}

const char *
stage_name(enum stage s)
{
	return (unsigned)s < STAGE_COUNT ? stage_names[s] : "?";
}

/* The process's CPU (user and system, every thread), ns. */
static uint64_t
stage_process_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
	    1000000000u + ((uint64_t)ru.ru_utime.tv_usec +
	    (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static uint64_t
stage_ns_of(enum stage s)
{
	uint64_t total, sum = 0, other;
	int i;

	if (s != STAGE_OTHER)
		return atomic_load_explicit(&stage_ns[s],
		    memory_order_relaxed);
	total = stage_process_ns();
	for (i = 0; i < STAGE_COUNT; i++)
		if (i != STAGE_OTHER)
			sum += atomic_load_explicit(&stage_ns[i],
			    memory_order_relaxed);
	other = total > sum ? total - sum : 0;
	pthread_mutex_lock(&stage_mu);
	if (other < stage_other_ns)
		other = stage_other_ns;
	stage_other_ns = other;
	pthread_mutex_unlock(&stage_mu);
	return other;
}

double
stage_seconds(enum stage s)
{
	if ((unsigned)s >= STAGE_COUNT)
		return 0;
	return (double)stage_ns_of(s) / 1e9;
}

void
stage_expose(FILE *fp)
{
	static const char *const names[] = { "stage", NULL };
	int i;

	metric_head(fp, "accord_stage_cpu_seconds_total", METRIC_COUNTER,
	    "CPU seconds of this process by stage (parse: XML parsing and "
	    "schema validation; verify, sign: XML signatures; journal: "
	    "journal appends and writes; fsync: its fdatasync; store: "
	    "applying records to the store; http: the event loop's I/O, "
	    "partners' HTTP and TLS and the control socket's; other: the "
	    "rest).");
	for (i = 0; i < STAGE_COUNT; i++)
		metric_sample(fp, "accord_stage_cpu_seconds_total", names,
		    (const char *[]){ stage_names[i] }, stage_seconds(i));
}
