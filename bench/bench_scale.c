/*
 * bench_scale.c -- Accord holding N cases (issue 14, item 5): what the
 * journal and the store weigh, what start-up, a rebuild, the lookups, a
 * queue drain and the control socket cost at that size.
 *
 *	bench_scale [-kS] [-b BATCH] [-p PINGS] [-q QUEUED] [-r WORK]
 *	    [-s STATUS] [-t TIMELINES] [-T SECONDS] [-w DIR] PKI_DIR [N ...]
 *
 * For each N (default 10000) a work directory under DIR (default
 * $ACCORD_BUILDDIR/bench/tmp) is made as bench_transport makes it (conf/
 * and PKI_DIR, made by certs/mkpki.sh with KZ and FR, on free ports), and
 * Kazakhstan's and France's engines run in this process on it, as
 * tests/seed_cases.c runs them, on the test clock from test_pki_time():
 *
 *  1. Seeding: France submits N ReadmissionRequests to Kazakhstan, each a
 *     new case; Kazakhstan takes each (its signature verified), France
 *     takes Kazakhstan's receipt.  Every 10th case gets Kazakhstan's
 *     ReadmissionReply (accepted, or every other time refused) the same
 *     way.  Commits are batched as the engine allows (BATCH messages,
 *     default 32, one flush each side per batch).  Each engine runs on a
 *     thread of its own, batches handed between them (up to 3 of France's
 *     in flight).  The clock runs 20 days over the seeding, in 100 steps
 *     taken with nothing in flight.  Then Kazakhstan answers QUEUED (default 5000) of
 *     the latest cases, and France never takes them: they stay in
 *     Kazakhstan's outbox.  Then the clock moves 8 days on: the 25-day
 *     reply deadlines of the first cases have passed (a reply after its
 *     deadline would be refused), so `list --overdue` has rows.  France's
 *     state is then removed.
 *  2. On Kazakhstan's state directory: journal and store size, a fresh
 *     engine_open() (journal verify + catch-up), `accordd --rebuild-store`
 *     (store_remove() + engine_open()), this process's RSS after open.
 *  3. The lookups the daemon's worker thread runs, on a read-only store
 *     connection: status over STATUS random cases (default 1000),
 *     timeline over TIMELINES (default 200), none begun after SECONDS
 *     (default 120: while finding a case reads every case, one lookup at
 *     10k takes seconds), list --overdue, list, stats, and inbox --body
 *     (the listing, each message found and its bytes read where the
 *     records index says), with the journal's read counters before and
 *     after.  A step still running after 2 x SECONDS + 10 s is stopped
 *     and said NOT MEASURED.
 *  4. Drain: a fresh engine (a restart: nothing cached) reads the bytes of
 *     every queued message as outbound does after a restart
 *     (engine_message_bytes() of each outbox entry's journal_seq), beside
 *     the engine_outbox_due() query that outbound asks again whenever
 *     transfers end.  The same on a small journal (600 cases, 500 queued:
 *     about 10 MB, once per run unless -S) gives the ratio the issue's
 *     target is about.
 *  5. accordd on the state directory: start-up until its socket greets,
 *     then `ping` round trips idle and while four other connections run
 *     `stats`, `timeline CASE`, `metrics` (the worker thread's) and a page
 *     of `inbox --body` (the event loop's) in a loop (PINGS, default 500,
 *     and two answers each, for at most SECONDS): one ping always in
 *     flight, the slowest is the longest the loop stopped.  Its RSS, and
 *     its journal read counters before and after (from `metrics`).  Then
 *     SIGTERM.
 *
 * Test builds take ACCORD_TEST_BULK_CACHE_KB (the rebuild's page cache,
 * STORE_BULK_CACHE_KB otherwise): a smaller N with a cache cut in
 * proportion meets the cache pressure of a larger one's rebuild.
 *
 * One line per figure: label, key, value, unit, what.  A summary of every
 * N follows.  A bench reports: timings never fail it.  It exits 0 when it
 * ran and every answer was right, 1 when an answer was wrong (a lookup
 * failed, a count differs from what was seeded, a lookup scanned the
 * journal), 2 when it could not run.  -k keeps the work directories;
 * -r WORK runs phases 2 to 5 again on one so kept, without seeding (a
 * 1M seeding takes hours): its cases are read back from the inbox, and
 * it is kept.
 * tests/bench_scale_smoke.sh runs it small and checks the answers.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <sqlite3.h>

#include "conf/config.h"
#include "conf/conffile.h"
#include "engine/engine.h"
#include "faces/outbound.h"
#include "msg/envelope.h"
#include "msg/xmlsig.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "persist/store.h"
#include "report/report.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "testutil.h"

#include "benchlib.h"

#define SCALE_SPAN		(20 * 86400)	/* seeding: 20 days */
#define SCALE_AFTER		(8 * 86400)	/* then 8 more: see below */
#define SCALE_BATCH_MAX		256
#define SCALE_SMALL_N		600		/* the small journal: */
#define SCALE_SMALL_QUEUED	500		/* about 10 MB */
#define SCALE_DRAIN_READS	5000		/* reads timed per journal */
#define SCALE_DUE_CALLS		20		/* engine_outbox_due() timed */
#define SCALE_IDLE_PINGS	100
#define SCALE_LOAD_MIN		2	/* heavy queries each loader runs */
/* What the loaders ask while the pings run: the heavy reports on the
 * worker thread, and a page of inbox --body on the event loop. */
#define SCALE_LOADS		"stats", "timeline", "metrics", "inbox"
#define SCALE_LOADS_TEXT	"stats, timeline, metrics and inbox --body"
#define SCALE_FIGS		96

struct scale_opts {
	const char	*src, *bld, *pki, *parent;
	const char	*reuse;		/* -r: a kept work directory */
	int		 batch, nstatus, ntimeline, npings, keep, nosmall;
	long		 nqueue;
	double		 budget;	/* -T: seconds for a sampled figure */
};

/* One figure, kept for the summary. */
struct scale_fig {
	char		 key[32];
	char		 val[24];
	char		 unit[12];
};

struct scale {
	const struct scale_opts *o;
	char		 label[24];	/* "N=10000", "small" */
	long		 n;		/* cases to seed */
	long		 nqueue;	/* replies to leave queued */
	char		 work[900];
	char		*journal_dir, *store_db;	/* Kazakhstan's */
	struct config	*kzc, *frc;
	struct engine	*kz, *fr;
	char		(*cases)[RECORD_ID_MAX];	/* as seeded */
	size_t		 ncap;		/* -r: cases' room */
	int		 reused;	/* -r: not seeded here, kept */
	long		 replied;
	uint64_t	*queued;	/* journal seqs of the queued replies */
	long		 nqueued;
	uint64_t	 rnd;		/* xorshift state: same picks each run */
	double		 read_rate;	/* messages/s, phase 4: reads */
	double		 drain_rate;	/* ... reads and outbox queries */
	struct scale_fig figs[SCALE_FIGS];
	int		 nfigs;
	int		 wrong;		/* answers that were not right */
	int		 cut;		/* lookups stopped: over their time */
	double		 list_secs;	/* `list` took; -1: not measured */
};

/* The business documents: a request, a reply accepting, one refusing. */
static char	*doc_req, *doc_acc, *doc_ref;
static size_t	 len_req, len_acc, len_ref;

/* In a lookup step's child process: where its figures go (scale_step). */
static int	 fig_fd = -1;

/* Every caller of the reports here is root with every role. */
static const struct cmd_caller scale_who = {
	.uid = 0,
	.roles = CMD_ROLE_READ | CMD_ROLE_SUBMIT | CMD_ROLE_ADMIN,
};

static void scale_fig(struct scale *, const char *, const char *,
    const char *, const char *, ...) __attribute__((format(printf, 5, 6)));

/* Print one figure and keep it: label, key, value, unit, what. */
static void
scale_fig(struct scale *s, const char *key, const char *unit,
    const char *what, const char *fmt, ...)
{
	struct scale_fig *f, spare;
	va_list ap;

	f = s->nfigs < SCALE_FIGS ? &s->figs[s->nfigs++] : &spare;
	snprintf(f->key, sizeof(f->key), "%s", key);
	snprintf(f->unit, sizeof(f->unit), "%s", unit);
	va_start(ap, fmt);
	vsnprintf(f->val, sizeof(f->val), fmt, ap);
	va_end(ap);
	if (fig_fd != -1) {
		/* a lookup step's child: its parent prints and keeps it */
		dprintf(fig_fd, "F\t%s\t%s\t%s\t%s\n", f->key, f->val,
		    f->unit, what);
		return;
	}
	printf("%-8s %-24s %14s %-8s %s\n", s->label, f->key, f->val,
	    f->unit, what);
	fflush(stdout);
}

/* A wrong answer: said on stderr and counted; the bench exits 1. */
static void
scale_wrong(struct scale *s, const char *what, long got, long want)
{
	fprintf(stderr, "bench_scale: %s: %s is %ld, not %ld\n", s->label,
	    what, got, want);
	s->wrong++;
	if (fig_fd != -1)
		dprintf(fig_fd, "W\t%s\n", what);
}

static uint64_t
scale_rand(struct scale *s)
{
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 7;
	s->rnd ^= s->rnd << 17;
	return s->rnd;
}

static const char *
scale_pick(struct scale *s)
{
	return s->cases[scale_rand(s) % (uint64_t)s->n];
}

static int
scale_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of v[0..n), sorted here. */
static double
scale_pct(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), scale_cmp);
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	return v[k > 0 ? k - 1 : 0];
}

/* A "VmRSS:" or "VmHWM:" line of /proc/PID/status in kB (pid 0: self). */
static long
scale_proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0) {
			kb = strtol(line + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Bytes of the files in dir whose names end with suffix ("" for all). */
static uint64_t
scale_dir_bytes(const char *dir, const char *suffix, int *nfiles)
{
	char path[2048];
	struct dirent *de;
	struct stat sb;
	uint64_t sum = 0;
	size_t ln, ls = strlen(suffix);
	DIR *d;

	*nfiles = 0;
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		ln = strlen(de->d_name);
		if (ln < ls || strcmp(de->d_name + ln - ls, suffix) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			sum += (uint64_t)sb.st_size;
			(*nfiles)++;
		}
	}
	closedir(d);
	return sum;
}

static uint64_t
scale_file_bytes(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* store.db and its write-ahead log. */
static uint64_t
scale_store_bytes(const struct scale *s)
{
	char wal[2048];

	snprintf(wal, sizeof(wal), "%s-wal", s->store_db);
	return scale_file_bytes(s->store_db) + scale_file_bytes(wal);
}

static struct config *
scale_load(const struct scale *s, const char *rel)
{
	struct conf_diag d = { 0 };
	struct config *c;
	char file[1200];

	snprintf(file, sizeof(file), "%s/%s", s->work, rel);
	if ((c = config_load(file, clock_now(), &d)) == NULL)
		conf_diag_print(&d, stderr);
	conf_diag_free(&d);
	return c;
}

/* ---- 1. seeding ---------------------------------------------------------- */

/*
 * The seeding runs each engine on a thread of its own, France's on the
 * calling thread and Kazakhstan's on another, as two gateways would run
 * side by side: France signs its next batch of requests while Kazakhstan
 * verifies the last one.  Each engine is used by its own thread only; what
 * passes between them is a batch of signed messages or of answers, through
 * a queue each.  The (test) clock is one for both: it moves on only when
 * nothing is in flight, by ticks of SCALE_TICKS-th of the seeding, so that
 * no message is older at its receiver than when it was made.
 */
#define SCALE_INFLIGHT	3	/* France's request batches not yet receipted */
#define SCALE_TICKS	100	/* clock steps over the seeding */

enum seed_kind {
	SEED_SENT,		/* out[]: signed messages for the other side */
	SEED_ANSWERED,		/* ans[]: the other side's receipts for them */
	SEED_STOP
};

struct seed_item {
	enum seed_kind		 kind;
	int			 nb;
	long			 first;	/* requests: s->cases index; -1: replies */
	struct engine_outgoing	*out;
	struct engine_answer	*ans;
	struct seed_item	*next;
};

struct seed_side {
	struct engine		*e;
	const char		*cc, *peer_cc;
	struct seed_item	*head, *tail;	/* what the peer handed over */
	struct seed_side	*peer;
};

struct seed_pipe {
	struct scale		*s;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 failed;
	int			 inflight;	/* France's, see SCALE_INFLIGHT */
	int			 kz_busy;	/* items handed to Kazakhstan
						   and not yet handled */
	long			 replies;	/* Kazakhstan's, taken by France */
	struct seed_side	 fr, kz;
};

static struct seed_item *
seed_item_new(enum seed_kind kind, int nb, long first)
{
	struct seed_item *it = xcalloc(1, sizeof(*it));

	it->kind = kind;
	it->nb = nb;
	it->first = first;
	if (kind == SEED_SENT)
		it->out = xcalloc((size_t)(nb > 0 ? nb : 1), sizeof(*it->out));
	if (kind == SEED_ANSWERED)
		it->ans = xcalloc((size_t)(nb > 0 ? nb : 1), sizeof(*it->ans));
	return it;
}

static void
seed_item_free(struct seed_item *it)
{
	int i;

	for (i = 0; it->out != NULL && i < it->nb; i++)
		engine_outgoing_clear(&it->out[i]);
	for (i = 0; it->ans != NULL && i < it->nb; i++)
		engine_answer_clear(&it->ans[i]);
	free(it->out);
	free(it->ans);
	free(it);
}

/* Hand it to side's queue. */
static void
seed_push(struct seed_pipe *p, struct seed_side *side, struct seed_item *it)
{
	pthread_mutex_lock(&p->mu);
	if (side == &p->kz)
		p->kz_busy++;
	if (side->tail != NULL)
		side->tail->next = it;
	else
		side->head = it;
	side->tail = it;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* With p->mu held: the next item of side's queue, or NULL. */
static struct seed_item *
seed_pop_locked(struct seed_side *side)
{
	struct seed_item *it = side->head;

	if (it != NULL && (side->head = it->next) == NULL)
		side->tail = NULL;
	return it;
}

static void
seed_fail(struct seed_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->failed = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/*
 * nb documents submitted by e to partner, each in a case of ids (ids NULL:
 * each a new case), one commit for all: out[] gets the signed messages.
 * @return 0, or -1 (said on stderr).
 */
static int
scale_submit(struct engine *e, const char *cc, const char *partner, int nb,
    const char *const *ids, const char *const *docs, const size_t *lens,
    struct engine_outgoing *out)
{
	struct engine_submission sub;
	struct engine_answer a;
	int i;

	for (i = 0; i < nb; i++) {
		memset(&sub, 0, sizeof(sub));
		sub.partner = partner;
		sub.case_id = ids != NULL ? ids[i] : NULL;
		sub.defer_commit = 1;
		if (engine_submit(e, &sub, docs[i], lens[i], &out[i],
		    &a) == -1) {
			fprintf(stderr, "bench_scale: %s's submit refused: "
			    "%s\n", cc, a.text);
			return -1;
		}
	}
	return engine_flush(e);
}

/*
 * What the peer handed to side: messages are taken (one commit before
 * their receipts go back), receipts are taken (one commit).  Kazakhstan
 * answers every 10th case of a batch of requests.  @return 0, or -1.
 */
static int
seed_handle(struct seed_pipe *p, struct seed_side *side, struct seed_item *it)
{
	const char *ids[SCALE_BATCH_MAX], *docs[SCALE_BATCH_MAX];
	size_t lens[SCALE_BATCH_MAX];
	struct seed_item *back, *rep;
	struct engine_answer a;
	struct scale *s = p->s;
	long i;
	int k, nr;

	if (it->kind == SEED_ANSWERED) {
		for (k = 0; k < it->nb; k++) {
			if (engine_receipt_batched(side->e, side->peer_cc,
			    it->ans[k].message_id, it->ans[k].body,
			    it->ans[k].len, &a) == -1 || a.code != AE_OK) {
				fprintf(stderr, "bench_scale: %s's receipt for "
				    "%s refused: %s\n", side->peer_cc,
				    it->ans[k].message_id, a.text);
				engine_answer_clear(&a);
				return -1;
			}
			engine_answer_clear(&a);
		}
		if (engine_flush(side->e) == -1)
			return -1;
		if (it->first >= 0) {
			pthread_mutex_lock(&p->mu);
			p->inflight--;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
		}
		return 0;
	}
	back = seed_item_new(SEED_ANSWERED, it->nb, it->first);
	for (k = 0; k < it->nb; k++)
		if (engine_receive(side->e, side->peer_cc, it->out[k].body,
		    it->out[k].len, &back->ans[k]) == -1 ||
		    back->ans[k].code != AE_OK || back->ans[k].body == NULL) {
			fprintf(stderr, "bench_scale: %s refused %s: %s\n",
			    side->cc, it->out[k].message_id, back->ans[k].text);
			seed_item_free(back);
			return -1;
		}
	if (engine_flush(side->e) == -1) {
		seed_item_free(back);
		return -1;
	}
	seed_push(p, side->peer, back);
	if (side != &p->kz || it->first < 0)
		return 0;
	for (nr = 0, i = it->first; i < it->first + it->nb; i++) {
		if (i % 10 != 0)
			continue;
		ids[nr] = s->cases[i];
		docs[nr] = (i / 10) % 2 == 0 ? doc_acc : doc_ref;
		lens[nr] = (i / 10) % 2 == 0 ? len_acc : len_ref;
		nr++;
	}
	if (nr == 0)
		return 0;
	rep = seed_item_new(SEED_SENT, nr, -1);
	if (scale_submit(side->e, side->cc, side->peer_cc, nr, ids, docs, lens,
	    rep->out) == -1) {
		seed_item_free(rep);
		return -1;
	}
	s->replied += nr;
	seed_push(p, side->peer, rep);
	return 0;
}

/* Kazakhstan's thread: what France hands over, until told to stop. */
static void *
seed_kz_main(void *arg)
{
	struct seed_pipe *p = arg;
	struct seed_item *it;
	int stop;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->failed && p->kz.head == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		it = p->failed ? NULL : seed_pop_locked(&p->kz);
		pthread_mutex_unlock(&p->mu);
		if (it == NULL)
			return NULL;
		stop = it->kind == SEED_STOP;
		if (!stop && seed_handle(p, &p->kz, it) == -1)
			seed_fail(p);
		seed_item_free(it);
		pthread_mutex_lock(&p->mu);
		p->kz_busy--;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
	}
}

/*
 * The cases, batch by batch, every 10th answered, France on this thread
 * and Kazakhstan on another.  @return 0, or -1.
 */
static int
scale_seed_cases(struct scale *s)
{
	const char *docs[SCALE_BATCH_MAX];
	size_t lens[SCALE_BATCH_MAX];
	struct seed_pipe p;
	struct seed_item *it;
	pthread_t kz;
	long done = 0, tick_end = 0, tick;
	int k, nb, failed, produce, drained, rc = 0;

	for (k = 0; k < SCALE_BATCH_MAX; k++) {
		docs[k] = doc_req;
		lens[k] = len_req;
	}
	memset(&p, 0, sizeof(p));
	p.s = s;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.fr = (struct seed_side){ s->fr, "FR", "KZ", NULL, NULL, &p.kz };
	p.kz = (struct seed_side){ s->kz, "KZ", "FR", NULL, NULL, &p.fr };
	if (pthread_create(&kz, NULL, seed_kz_main, &p) != 0) {
		fprintf(stderr, "bench_scale: cannot start a thread\n");
		return -1;
	}
	tick = s->n / SCALE_TICKS > s->o->batch ? s->n / SCALE_TICKS :
	    s->o->batch;
	for (;;) {
		pthread_mutex_lock(&p.mu);
		for (;;) {
			produce = done < tick_end &&
			    p.inflight < SCALE_INFLIGHT;
			/* every request receipted, every reply made so far
			 * taken and its receipt taken */
			drained = p.inflight == 0 &&
			    p.replies >= (done + 9) / 10 && p.kz_busy == 0;
			if (p.failed || p.fr.head != NULL || produce ||
			    drained)
				break;
			pthread_cond_wait(&p.cv, &p.mu);
		}
		if (p.failed) {
			pthread_mutex_unlock(&p.mu);
			break;
		}
		if ((it = seed_pop_locked(&p.fr)) != NULL) {
			if (it->kind == SEED_SENT)
				p.replies += it->nb;
			pthread_mutex_unlock(&p.mu);
			if (seed_handle(&p, &p.fr, it) == -1)
				seed_fail(&p);
			seed_item_free(it);
			continue;
		}
		if (!produce) {
			pthread_mutex_unlock(&p.mu);
			if (done >= s->n)
				break;		/* all taken, all answered */
			/* the clock runs SCALE_SPAN over the whole seeding */
			tick_end = s->n - done < tick ? s->n : done + tick;
			clock_test_advance((int64_t)((double)SCALE_SPAN *
			    (double)(tick_end - done) / (double)s->n) + 1);
			continue;
		}
		p.inflight++;
		pthread_mutex_unlock(&p.mu);
		nb = tick_end - done < s->o->batch ? (int)(tick_end - done) :
		    s->o->batch;
		it = seed_item_new(SEED_SENT, nb, done);
		if (scale_submit(s->fr, "FR", "KZ", nb, NULL, docs, lens,
		    it->out) == -1) {
			seed_item_free(it);
			seed_fail(&p);
			break;
		}
		for (k = 0; k < nb; k++)
			snprintf(s->cases[done + k], RECORD_ID_MAX, "%s",
			    it->out[k].case_id);
		done += nb;
		seed_push(&p, &p.kz, it);
	}
	seed_push(&p, &p.kz, seed_item_new(SEED_STOP, 0, -1));
	pthread_join(kz, NULL);
	pthread_mutex_lock(&p.mu);
	failed = p.failed;
	while ((it = seed_pop_locked(&p.fr)) != NULL)
		seed_item_free(it);
	while ((it = seed_pop_locked(&p.kz)) != NULL)
		seed_item_free(it);
	pthread_mutex_unlock(&p.mu);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	if (failed)
		rc = -1;
	return rc;
}

/* Kazakhstan's replies in the latest unanswered cases, never taken by
 * France: they stay in the outbox.  @return 0, or -1. */
static int
scale_seed_queue(struct scale *s)
{
	const char *ids[SCALE_BATCH_MAX], *docs[SCALE_BATCH_MAX];
	size_t lens[SCALE_BATCH_MAX];
	struct engine_outgoing out[SCALE_BATCH_MAX];
	long i = s->n - 1, left = s->nqueue;
	int k, nb, rc;

	while (left > 0 && i >= 0) {
		for (nb = 0; nb < s->o->batch && left > 0 && i >= 0; i--) {
			if (i % 10 == 0)
				continue;	/* answered already */
			ids[nb] = s->cases[i];
			docs[nb] = doc_acc;
			lens[nb++] = len_acc;
			left--;
		}
		if (nb == 0)
			continue;
		memset(out, 0, sizeof(out));
		rc = scale_submit(s->kz, "KZ", "FR", nb, ids, docs, lens, out);
		for (k = 0; k < nb; k++)
			engine_outgoing_clear(&out[k]);
		if (rc == -1)
			return -1;
	}
	s->nqueue -= left;
	return 0;
}

/*
 * The work directory and both engines on it, the seeding (phase 1), and
 * France's state removed.  @return 0, or -1 (the bench cannot run).
 */
static int
scale_seed(struct scale *s)
{
	char dir[1200], cmd[2600];
	double t0, t;
	int port;

	snprintf(s->work, sizeof(s->work), "%s/scale.XXXXXX", s->o->parent);
	if (mkdtemp(s->work) == NULL) {
		perror(s->work);
		return -1;
	}
	if ((port = bench_ports()) == -1 ||
	    bench_prepare(s->work, s->o->src, s->o->pki, port) == -1) {
		fprintf(stderr, "bench_scale: cannot prepare %s\n", s->work);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/var/kz' '%s/var/fr'",
	    s->work, s->work);
	if (system(cmd) != 0)
		return -1;
	/* as the tests: an hour after the PKI was made, whatever the day */
	clock_use_real();
	clock_test_set(test_pki_time(s->work));
	if ((s->kzc = scale_load(s, "conf/accordd.xml")) == NULL ||
	    (s->frc = scale_load(s, "conf/demo-fr/accordd.xml")) == NULL ||
	    (s->kz = engine_open(s->kzc)) == NULL ||
	    (s->fr = engine_open(s->frc)) == NULL)
		return -1;
	s->journal_dir = conf_path(s->kzc->state_dir, "journal");
	s->store_db = conf_path(s->kzc->state_dir, "store.db");
	s->cases = xcalloc((size_t)s->n, sizeof(*s->cases));

	t0 = bench_now();
	if (scale_seed_cases(s) == -1)
		return -1;
	t = bench_now() - t0;
	scale_fig(s, "seed.cases", "cases", "seeded: FR's request, KZ's "
	    "receipt (every 10th also KZ's reply)", "%ld", s->n);
	scale_fig(s, "seed.replies", "msgs", "KZ's replies received by FR "
	    "(half of them refusals)", "%ld", s->replied);
	scale_fig(s, "seed.seconds", "s", "seeding, batches of -b messages",
	    "%.1f", t);
	scale_fig(s, "seed.rate", "cases/s", "seeding rate (signatures, "
	    "verifications, journal, store)", "%.1f", (double)s->n / t);
	t0 = bench_now();
	if (scale_seed_queue(s) == -1)
		return -1;
	t = bench_now() - t0;
	scale_fig(s, "queue.messages", "msgs", "KZ's replies left queued "
	    "for FR (never receipted)", "%ld", s->nqueue);
	scale_fig(s, "queue.rate", "msgs/s", "queueing them (submit: sign, "
	    "journal, store)", "%.1f", t > 0 ? (double)s->nqueue / t : 0);
	clock_test_advance(SCALE_AFTER);
	engine_close(s->kz);
	engine_close(s->fr);
	s->kz = s->fr = NULL;
	/* France was only the partner: its half of the disk goes */
	snprintf(dir, sizeof(dir), "%s/var/fr", s->work);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* -r: a case id read back from the inbox. */
static int
scale_reuse_cb(void *arg, const struct store_inbox *in)
{
	struct scale *s = arg;

	s->cases = xgrowarray(s->cases, (size_t)s->n, &s->ncap,
	    sizeof(*s->cases));
	snprintf(s->cases[s->n++], RECORD_ID_MAX, "%s", in->case_id);
	return 0;
}

static int
scale_count_cb(void *arg, const struct store_message *m)
{
	(*(long *)arg)++;
	return 0;
}

/*
 * -r: Kazakhstan's state in a kept work directory instead of seeding.
 * Every case began with France's request, none was acknowledged: the
 * inbox lists them all.  The clock is set where the seeding left it.
 * @return 0, or -1 (cannot run).
 */
static int
scale_reuse(struct scale *s)
{
	struct store_message_filter mf;
	struct store *st;
	int rc;

	snprintf(s->work, sizeof(s->work), "%s", s->o->reuse);
	s->reused = 1;
	clock_use_real();
	clock_test_set(test_pki_time(s->work) + SCALE_SPAN + SCALE_AFTER);
	if ((s->kzc = scale_load(s, "conf/accordd.xml")) == NULL)
		return -1;
	s->journal_dir = conf_path(s->kzc->state_dir, "journal");
	s->store_db = conf_path(s->kzc->state_dir, "store.db");
	if ((st = store_open_readonly(s->store_db)) == NULL)
		return -1;
	s->n = 0;
	s->nqueue = 0;
	store_message_filter_init(&mf);
	mf.state = RECORD_MS_QUEUED;
	mf.direction = RECORD_DIR_OUT;
	rc = store_inbox_pending(st, scale_reuse_cb, s) == -1 ||
	    s->n < 10 || store_list_messages(st, &mf, scale_count_cb,
	    &s->nqueue) == -1;
	store_close(st);
	if (rc) {
		fprintf(stderr, "bench_scale: %s: no cases to reuse\n",
		    s->work);
		return -1;
	}
	snprintf(s->label, sizeof(s->label), "N=%ld", s->n);
	printf("\n== %s: reusing %s (%ld queued)\n", s->label, s->work,
	    s->nqueue);
	return 0;
}

/* ---- 2. disk, start-up, rebuild ------------------------------------------ */

/* The store's index names, space-separated, into buf (the bench's check
 * that a rebuild, which builds them at its end, leaves the same). */
static void
scale_index_names(const char *db, char *buf, size_t len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE "
	    "type = 'index' AND sql IS NOT NULL ORDER BY name", -1, &st,
	    NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s ",
			    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static int
scale_restart(struct scale *s)
{
	struct engine *e;
	uint64_t jbytes;
	long rss0, rss1;
	double t0, t;
	char idx0[1024], idx1[1024];
	int nfiles;

	jbytes = scale_dir_bytes(s->journal_dir, ".log", &nfiles);
	scale_fig(s, "journal.bytes", "bytes", "journal/*.log", "%llu",
	    (unsigned long long)jbytes);
	scale_fig(s, "journal.files", "files", "journal files (64 MiB, or a "
	    "new UTC day)", "%d", nfiles);
	scale_fig(s, "journal.per_case", "bytes", "journal bytes per case "
	    "(queued replies included)", "%.0f", (double)jbytes /
	    (double)s->n);
	scale_fig(s, "store.bytes", "bytes", "store.db + store.db-wal",
	    "%llu", (unsigned long long)scale_store_bytes(s));

	rss0 = scale_proc_kb(0, "VmRSS:");
	t0 = bench_now();
	if ((e = engine_open(s->kzc)) == NULL)
		return -1;
	t = bench_now() - t0;
	rss1 = scale_proc_kb(0, "VmRSS:");
	engine_close(e);
	scale_fig(s, "open.seconds", "s", "engine_open: journal verified, "
	    "store caught up", "%.3f", t);
	scale_fig(s, "open.rss", "MB", "this process's VmRSS after "
	    "engine_open", "%.1f", (double)rss1 / 1024);
	scale_fig(s, "open.rss_delta", "MB", "VmRSS grown by engine_open",
	    "%.1f", (double)(rss1 - rss0) / 1024);

	scale_index_names(s->store_db, idx0, sizeof(idx0));
	/* the rebuild's own lines (emptied, indexes deferred and built,
	 * caught up) are part of the figures */
	log_set_level(LOG_LVL_INFO);
	t0 = bench_now();
	if (store_remove(s->store_db) == -1 ||
	    (e = engine_open(s->kzc)) == NULL) {
		log_set_level(LOG_LVL_WARN);
		return -1;
	}
	engine_close(e);
	t = bench_now() - t0;
	log_set_level(LOG_LVL_WARN);
	scale_index_names(s->store_db, idx1, sizeof(idx1));
	if (idx0[0] == '\0' || strcmp(idx0, idx1) != 0)
		scale_wrong(s, "the rebuilt store's indexes", -1, 0);
	scale_fig(s, "rebuild.seconds", "s", "--rebuild-store: "
	    "store_remove + engine_open", "%.2f", t);
	scale_fig(s, "rebuild.store_bytes", "bytes", "store.db + -wal after "
	    "the rebuild", "%llu", (unsigned long long)scale_store_bytes(s));
	return 0;
}

/* ---- 3. lookups ---------------------------------------------------------- */

/*
 * Up to n calls of a one-case handler (status, timeline) on random cases,
 * none begun after -T seconds, each answer checked: it names the case
 * asked, and a timeline has events.
 * Fills *done, p50 and p99 (seconds).  @return the wrong answers.
 */
static long
scale_sample(struct scale *s, struct report_ctx *ctx, cmd_handler h,
    const char *name, int n, int *done, double *p50, double *p99)
{
	struct cmd_caller who = scale_who;
	const char *code, *id, *got;
	json_t *args, *res, *ev;
	double *v, t0, start = bench_now();
	char text[256];
	long bad = 0;
	int i;

	who.command = name;
	v = xcalloc((size_t)n, sizeof(*v));
	for (i = 0; i < n && (i == 0 ||
	    bench_now() - start < s->o->budget); i++) {
		id = scale_pick(s);
		args = json_pack("{s:[s]}", "argv", id);
		code = NULL;
		t0 = bench_now();
		res = h(ctx, &who, args, &code, text, sizeof(text));
		v[i] = bench_now() - t0;
		got = json_string_value(json_object_get(res, "case"));
		ev = json_object_get(res, "events");
		if (res == NULL || got == NULL || strcmp(got, id) != 0 ||
		    (ev != NULL && json_array_size(ev) == 0)) {
			if (bad++ == 0)
				fprintf(stderr, "bench_scale: %s %s: %s %s\n",
				    name, id, code ? code : "", res ? "" :
				    text);
		}
		json_decref(res);
		json_decref(args);
	}
	*done = i;
	*p50 = scale_pct(v, (size_t)i, 50);
	*p99 = scale_pct(v, (size_t)i, 99);
	free(v);
	return bad;
}

/* One call of a handler on args (a JSON text), timed into *secs.
 * @return its result, or NULL (said on stderr). */
static json_t *
scale_call(struct report_ctx *ctx, cmd_handler h, const char *name,
    const char *args_text, double *secs)
{
	struct cmd_caller who = scale_who;
	const char *code = NULL;
	json_t *args, *res;
	char text[256];
	double t0;

	who.command = name;
	args = json_loads(args_text, 0, NULL);
	t0 = bench_now();
	res = h(ctx, &who, args, &code, text, sizeof(text));
	*secs = bench_now() - t0;
	json_decref(args);
	if (res == NULL)
		fprintf(stderr, "bench_scale: %s: %s %s\n", name,
		    code ? code : "", text);
	return res;
}

/* inbox --body as the daemon serves it: each row's message found, its
 * bytes read where the records index says. */
struct scale_inbox {
	struct report_ctx *ctx;
	int		 body;
	long		 rows, bad;
	uint64_t	 bytes;
};

static int
scale_inbox_cb(void *arg, const struct store_inbox *in)
{
	struct scale_inbox *ib = arg;
	struct store_message m;
	struct store_recpos sp;
	struct journal_pos pos;
	struct journal_rec rec;
	struct record_message rm;
	uint8_t *buf = NULL;

	ib->rows++;
	if (!ib->body)
		return 0;
	if (report_message_find(ib->ctx, in->partner, in->message_id,
	    RECORD_DIR_IN, &m) != 1 ||
	    store_record_pos(ib->ctx->store, in->journal_seq, &sp) != 1) {
		ib->bad++;
		return 0;
	}
	pos.file = sp.file;
	pos.offset = sp.offset;
	pos.seq = in->journal_seq;
	if (journal_read_at(ib->ctx->journal_dir, &pos, &rec, &buf) == -1 ||
	    record_message_decode(rec.payload, rec.len, &rm) == -1 ||
	    rm.body_len == 0)
		ib->bad++;
	else
		ib->bytes += rm.body_len;
	free(buf);
	return 0;
}

/* The journal seqs of every queued message of ours, for phase 4. */
static int
scale_queued_cb(void *arg, const struct store_message *m)
{
	struct scale *s = arg;

	if (s->nqueued < s->nqueue)
		s->queued[s->nqueued] = m->journal_seq;
	s->nqueued++;
	return 0;
}

/* status over random cases. */
static void
scale_status(struct scale *s, struct report_ctx *ctx)
{
	double p50, p99;
	long bad;
	int n;

	bad = scale_sample(s, ctx, report_status, "status", s->o->nstatus,
	    &n, &p50, &p99);
	scale_fig(s, "status.p50", "ms", "status CASE, random cases",
	    "%.3f", p50 * 1e3);
	scale_fig(s, "status.p99", "ms", "status CASE (target at 1M: < 1 ms)",
	    "%.3f", p99 * 1e3);
	scale_fig(s, "status.ok", "calls", "status answers right (-s, or "
	    "what -T seconds allowed)", "%ld", (long)n - bad);
	scale_fig(s, "status.failed", "calls", "status answers wrong", "%ld",
	    bad);
	if (bad != 0)
		scale_wrong(s, "status failures", bad, 0);
}

/* timeline over random cases. */
static void
scale_timeline(struct scale *s, struct report_ctx *ctx)
{
	double p50, p99;
	long bad;
	int n;

	bad = scale_sample(s, ctx, report_timeline, "timeline",
	    s->o->ntimeline, &n, &p50, &p99);
	scale_fig(s, "timeline.p50", "ms", "timeline CASE, random cases",
	    "%.3f", p50 * 1e3);
	scale_fig(s, "timeline.p99", "ms", "timeline CASE (target at 1M: "
	    "< 10 ms)", "%.3f", p99 * 1e3);
	scale_fig(s, "timeline.ok", "calls", "timeline answers right (-t, or "
	    "what -T allowed)", "%ld", (long)n - bad);
	scale_fig(s, "timeline.failed", "calls", "timeline answers wrong",
	    "%ld", bad);
	if (bad != 0)
		scale_wrong(s, "timeline failures", bad, 0);
}

/* list --overdue: some cases, not all (see SCALE_AFTER). */
static void
scale_list_overdue(struct scale *s, struct report_ctx *ctx)
{
	json_t *res;
	double t;
	long n;

	res = scale_call(ctx, report_list, "list", "{\"overdue\": true}", &t);
	n = (long)json_integer_value(json_object_get(res, "count"));
	json_decref(res);
	scale_fig(s, "list_overdue.seconds", "s", "list --overdue", "%.4f",
	    t);
	scale_fig(s, "list_overdue.cases", "cases", "cases it lists "
	    "(reply deadline passed)", "%ld", n);
	if (res == NULL || n <= 0 || n >= s->n)
		scale_wrong(s, "list --overdue rows", n, s->n / 10);
}

/* list: every case, page after page (each after the last one's
 * next_after): a quarter of the cases a page, at least 1,000 and at most
 * list's largest page, 100,000. */
static void
scale_list(struct scale *s, struct report_ctx *ctx)
{
	json_t *res, *next;
	char args[300];
	double t, total = 0;
	long n = 0, pages = 0, page;

	page = s->n / 4 < 1000 ? 1000 : s->n / 4 > 100000 ? 100000 :
	    s->n / 4;
	snprintf(args, sizeof(args), "{\"limit\": \"%ld\"}", page);
	for (;;) {
		res = scale_call(ctx, report_list, "list", args, &t);
		total += t;
		pages++;
		n += (long)json_integer_value(json_object_get(res, "count"));
		next = json_object_get(res, "next_after");
		if (res == NULL || !json_is_string(next)) {
			json_decref(res);
			break;
		}
		snprintf(args, sizeof(args), "{\"limit\": \"%ld\", "
		    "\"after\": \"%s\"}", page, json_string_value(next));
		json_decref(res);
	}
	scale_fig(s, "list.seconds", "s", "list of every case (all its "
	    "pages)", "%.3f", total);
	scale_fig(s, "list.pages", "pages", "pages it took (the last may "
	    "be empty)", "%ld", pages);
	scale_fig(s, "list.cases", "cases", "cases it lists", "%ld", n);
	if (n != s->n)
		scale_wrong(s, "list's case count", n, s->n);
}

static void
scale_stats(struct scale *s, struct report_ctx *ctx)
{
	json_t *res;
	double t;
	long n;

	res = scale_call(ctx, report_stats, "stats", "{}", &t);
	n = (long)json_integer_value(json_object_get(json_object_get(
	    json_object_get(res, "total"), "cases"), "total"));
	json_decref(res);
	scale_fig(s, "stats.seconds", "s", "stats", "%.3f", t);
	scale_fig(s, "stats.cases", "cases", "stats' case total", "%ld", n);
	if (n != s->n)
		scale_wrong(s, "stats' case total", n, s->n);
}

/* inbox, inbox --body: rows and bodies checked. */
static void
scale_inbox(struct scale *s, struct report_ctx *ctx)
{
	struct scale_inbox ib;
	double t0, t;

	memset(&ib, 0, sizeof(ib));
	ib.ctx = ctx;
	t0 = bench_now();
	if (report_inbox(ctx, NULL, 0, 0, scale_inbox_cb, &ib) == -1)
		ib.bad++;
	t = bench_now() - t0;
	scale_fig(s, "inbox.seconds", "s", "inbox listing", "%.3f", t);
	scale_fig(s, "inbox.rows", "msgs", "messages in the inbox (FR's "
	    "requests, none acknowledged)", "%ld", ib.rows);
	if (ib.rows != s->n)
		scale_wrong(s, "inbox rows", ib.rows, s->n);
	memset(&ib, 0, sizeof(ib));
	ib.ctx = ctx;
	ib.body = 1;
	t0 = bench_now();
	if (report_inbox(ctx, NULL, 0, 0, scale_inbox_cb, &ib) == -1)
		ib.bad++;
	t = bench_now() - t0;
	scale_fig(s, "inbox_body.seconds", "s", "inbox --body: each "
	    "message's bytes read directly", "%.3f", t);
	scale_fig(s, "inbox_body.per_msg", "ms", "inbox --body per message",
	    "%.3f", ib.rows > 0 ? 1e3 * t / (double)ib.rows : 0);
	scale_fig(s, "inbox_body.failed", "msgs", "bodies not read", "%ld",
	    ib.bad);
	if (ib.bad != 0 || ib.rows != s->n)
		scale_wrong(s, "inbox --body failures", ib.bad, 0);
}

/*
 * The steps of phase 3.  Each runs in a child process of its own, so that
 * a lookup that takes far longer than it should (one that reads every
 * case at each call) is stopped after 2 x -T + 10 s and the bench goes on;
 * its figures then say so.
 */
static const struct scale_step {
	const char	*name;
	void		(*fn)(struct scale *, struct report_ctx *);
} scale_steps[] = {
	{ "status",		scale_status },
	{ "timeline",		scale_timeline },
	{ "list_overdue",	scale_list_overdue },
	{ "list",		scale_list },
	{ "stats",		scale_stats },
	{ "inbox",		scale_inbox },
};

/* In the child: one step on a read-only store connection of its own, as
 * the daemon's worker has; its figures and read counters to fd. */
static void
scale_step_child(struct scale *s, const struct scale_step *st, int fd)
{
	const struct config *conf = s->kzc;
	struct report_ctx ctx;
	uint64_t reads0, scans0, reads1, scans1;

	fig_fd = fd;
	/* offline: no daemon callbacks (metrics, live links, attempts) */
	memset(&ctx, 0, sizeof(ctx));
	if ((ctx.store = store_open_readonly(s->store_db)) == NULL)
		_exit(2);
	ctx.conf = &conf;
	ctx.journal_dir = s->journal_dir;
	reads0 = journal_read_count(&scans0);
	st->fn(s, &ctx);
	reads1 = journal_read_count(&scans1);
	store_close(ctx.store);
	dprintf(fd, "R\t%llu\t%llu\n", (unsigned long long)(reads1 - reads0),
	    (unsigned long long)(scans1 - scans0));
	_exit(s->wrong ? 1 : 0);
}

/* In the parent: one line from the child. */
static void
scale_step_line(struct scale *s, char *line, uint64_t *reads,
    uint64_t *scans)
{
	char *f[5], *p = line;
	int n;

	for (n = 0; n < 5 && (f[n] = strsep(&p, "\t")) != NULL; n++)
		;
	if (n == 5 && strcmp(f[0], "F") == 0) {
		scale_fig(s, f[1], f[3], f[4], "%s", f[2]);
		if (strcmp(f[1], "list.seconds") == 0)
			s->list_secs = atof(f[2]);
	} else if (n >= 1 && strcmp(f[0], "W") == 0)
		s->wrong++;
	else if (n == 3 && strcmp(f[0], "R") == 0) {
		*reads += strtoull(f[1], NULL, 10);
		*scans += strtoull(f[2], NULL, 10);
	}
}

/* Run one step in a child, relaying its figures, stopping it when it
 * runs over its time.  @return 0, or -1 (cannot run). */
static int
scale_step(struct scale *s, const struct scale_step *st, uint64_t *reads,
    uint64_t *scans)
{
	struct pollfd pfd;
	char buf[8192], *nl, key[64];
	double start = bench_now(), limit = 2 * s->o->budget + 10, left;
	size_t len = 0;
	ssize_t got;
	pid_t pid;
	int fd[2], status, cut = 0;

	fflush(stdout);
	if (pipe(fd) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		close(fd[0]);
		scale_step_child(s, st, fd[1]);
	}
	close(fd[1]);
	pfd.fd = fd[0];
	pfd.events = POLLIN;
	for (;;) {
		if ((left = limit - (bench_now() - start)) <= 0) {
			kill(pid, SIGKILL);
			cut = 1;
			break;
		}
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		if ((got = read(fd[0], buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
		len += (size_t)got;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			scale_step_line(s, buf, reads, scans);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
	}
	close(fd[0]);
	waitpid(pid, &status, 0);
	if (cut) {
		snprintf(key, sizeof(key), "%s.cut", st->name);
		scale_fig(s, key, "s", "NOT MEASURED: stopped, a call ran "
		    "longer than 2 x -T + 10 s", ">%.0f", limit);
		s->cut++;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		fprintf(stderr, "bench_scale: %s: lookup step %s failed\n",
		    s->label, st->name);
		s->wrong++;
	}
	return 0;
}

/* Phase 3: the read-only reports, step by step.  @return 0, or -1. */
static int
scale_lookups(struct scale *s)
{
	uint64_t reads = 0, scans = 0;
	size_t i;

	s->list_secs = -1;
	for (i = 0; i < sizeof(scale_steps) / sizeof(scale_steps[0]); i++)
		if (scale_step(s, &scale_steps[i], &reads, &scans) == -1)
			return -1;
	scale_fig(s, "lookup.direct_reads", "records", "journal records "
	    "read one by one by the lookups", "%llu",
	    (unsigned long long)reads);
	scale_fig(s, "lookup.scans", "scans", "whole-journal readers the "
	    "lookups opened (must be 0)", "%llu", (unsigned long long)scans);
	if (scans != 0)
		scale_wrong(s, "journal scans by lookups", (long)scans, 0);
	return 0;
}

/* ---- 4. drain ------------------------------------------------------------ */

/* The journal seqs of every queued message of ours, in journal order, as
 * the outbox hands them out.  @return 0, or -1 (cannot run). */
static int
scale_queued(struct scale *s)
{
	struct store_message_filter mf;
	struct store *st;
	int rc;

	if ((st = store_open_readonly(s->store_db)) == NULL)
		return -1;
	store_message_filter_init(&mf);
	mf.state = RECORD_MS_QUEUED;
	mf.direction = RECORD_DIR_OUT;
	s->queued = xcalloc((size_t)s->nqueue + 1, sizeof(*s->queued));
	rc = store_list_messages(st, &mf, scale_queued_cb, s);
	store_close(st);
	if (rc == -1)
		return -1;
	if (s->nqueued != s->nqueue)
		scale_wrong(s, "queued messages", s->nqueued, s->nqueue);
	if (s->nqueued > s->nqueue)
		s->nqueued = s->nqueue;
	return 0;
}

static int
scale_due_cb(void *arg, const struct store_outbox *o)
{
	(*(long *)arg)++;
	return 0;
}

/*
 * Phase 4: after a restart (a fresh engine: no message cached), the bytes
 * of every queued message read as outbound reads them, cycling through
 * them until SCALE_DRAIN_READS were read; and the engine_outbox_due()
 * query that hands them out.  Outbound asks it again whenever transfers
 * end, with at most OUTBOUND_PER_PARTNER in flight to a partner: the
 * drain's own rate is reads plus one query per OUTBOUND_PER_PARTNER
 * messages.  Delivery and the partner's receipts (signatures, the network)
 * come on top.  @return 0, or -1 (cannot run).
 */
static int
scale_drain(struct scale *s)
{
	struct engine *e;
	uint64_t reads0, reads1, scans0, scans1, bytes = 0;
	double t0, t_due, t_read, *due;
	long i, rows = 0, bad = 0;
	size_t len;
	char *body;

	if (scale_queued(s) == -1)
		return -1;
	if (s->nqueued <= 0)
		return 0;
	if ((e = engine_open(s->kzc)) == NULL)
		return -1;
	due = xcalloc(SCALE_DUE_CALLS, sizeof(*due));
	for (i = 0; i < SCALE_DUE_CALLS; i++) {
		rows = 0;
		t0 = bench_now();
		if (engine_outbox_due(e, clock_now(), scale_due_cb,
		    &rows) == -1)
			bad++;
		due[i] = bench_now() - t0;
	}
	t_due = scale_pct(due, SCALE_DUE_CALLS, 50);
	free(due);
	reads0 = journal_read_count(&scans0);
	t0 = bench_now();
	for (i = 0; i < SCALE_DRAIN_READS; i++) {
		if (engine_message_bytes(e, s->queued[i % s->nqueued], &body,
		    &len) == -1 || len == 0)
			bad++;
		else
			bytes += len;
		free(body);
	}
	t_read = bench_now() - t0;
	reads1 = journal_read_count(&scans1);
	engine_close(e);

	s->read_rate = SCALE_DRAIN_READS / t_read;
	s->drain_rate = (double)SCALE_DRAIN_READS / (t_read + t_due *
	    ((double)SCALE_DRAIN_READS / OUTBOUND_PER_PARTNER));
	scale_fig(s, "drain.outbox_due", "ms", "engine_outbox_due, p50, on "
	    "the event loop (grows with the queue)", "%.3f", t_due * 1e3);
	scale_fig(s, "drain.due_rows", "msgs", "rows it handed out", "%ld",
	    rows);
	scale_fig(s, "drain.read_rate", "msgs/s", "queued messages' bytes "
	    "read after a restart", "%.0f", s->read_rate);
	scale_fig(s, "drain.rate", "msgs/s", "reads + outbox_due per 4 "
	    "(outbound's own work; signatures, network on top)", "%.0f",
	    s->drain_rate);
	scale_fig(s, "drain.avg_bytes", "bytes", "signed message read, "
	    "average", "%.0f", (double)bytes / SCALE_DRAIN_READS);
	scale_fig(s, "drain.failed", "msgs", "reads that failed", "%ld", bad);
	if (bad != 0 || rows != (s->nqueued < 32 ? s->nqueued : 32))
		scale_wrong(s, "drain failures", bad, 0);
	if (scans1 != scans0 || reads1 - reads0 != SCALE_DRAIN_READS)
		scale_wrong(s, "drain's direct reads", (long)(reads1 - reads0),
		    SCALE_DRAIN_READS);
	return 0;
}

/* ---- 5. the daemon ------------------------------------------------------- */

/* One request line, one answer line.  @return 1 ok, 0 an error answer,
 * -1 no answer; *resp (may be NULL) gets the answer, parsed. */
static int
scale_ctl(struct linebuf *lb, const char *req, json_t **resp)
{
	size_t used, len = strlen(req);
	json_t *r;
	char *l;
	int ok;

	if (resp != NULL)
		*resp = NULL;
	if (write(lb->fd, req, len) != (ssize_t)len ||
	    (l = lb_line(lb, &used)) == NULL)
		return -1;
	r = json_loads(l, 0, NULL);
	lb_consume(lb, used);
	ok = json_is_true(json_object_get(r, "ok"));
	if (resp != NULL)
		*resp = r;
	else
		json_decref(r);
	return ok;
}

/* A connection running one heavy command in a loop until told to stop. */
struct scale_load {
	struct scale	*s;
	const char	*sock;
	const char	*cmd;		/* SCALE_LOADS' */
	atomic_int	*stop;
	atomic_int	 fd;		/* its socket, to cut it; -1 */
	uint64_t	 rnd;
	long		 done, failed;
	int		 cut;		/* stopped with a request in flight */
	double		 busy;		/* seconds spent waiting for answers */
};

/* The next request line of a loader (free() it), or NULL. */
static char *
scale_load_req(struct scale_load *l)
{
	json_t *req;
	char *line;

	l->rnd ^= l->rnd << 13;
	l->rnd ^= l->rnd >> 7;
	l->rnd ^= l->rnd << 17;
	if (strcmp(l->cmd, "timeline") == 0)
		req = json_pack("{s:s, s:{s:[s]}}", "cmd", l->cmd, "args",
		    "argv", l->s->cases[l->rnd % (uint64_t)l->s->n]);
	else if (strcmp(l->cmd, "inbox") == 0)	/* on the loop: a page */
		req = json_pack("{s:s, s:{s:b}}", "cmd", l->cmd, "args",
		    "body", 1);
	else
		req = json_pack("{s:s}", "cmd", l->cmd);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (line == NULL || (line = realloc(line, strlen(line) + 2)) == NULL)
		return NULL;
	strcat(line, "\n");
	return line;
}

static void *
scale_load_run(void *arg)
{
	struct scale_load *l = arg;
	struct linebuf lb;
	char *line;
	double t0;
	int ok;

	if (ctl_open(l->sock, &lb) == -1) {
		l->failed++;
		return NULL;
	}
	atomic_store(&l->fd, lb.fd);
	while (!atomic_load(l->stop) && (line = scale_load_req(l)) != NULL) {
		t0 = bench_now();
		ok = scale_ctl(&lb, line, NULL);
		l->busy += bench_now() - t0;
		free(line);
		if (ok == 1)
			l->done++;
		else if (ok == -1 && atomic_load(l->stop)) {
			l->cut = 1;	/* its socket was shut: time is up */
			break;
		} else {
			l->failed++;
			if (ok == -1)
				break;
		}
	}
	atomic_store(&l->fd, -1);
	ctl_close(&lb);
	return NULL;
}

/* The daemon's whole-journal readers so far (its metrics), or -1; the
 * round trip in *secs. */
static long
scale_daemon_scans(struct linebuf *lb, double *secs)
{
	static const char key[] = "accord_journal_reads_total{how=\"scan\"} ";
	const char *text, *p;
	json_t *resp;
	double t0 = bench_now();
	long n = -1;

	if (scale_ctl(lb, "{\"cmd\":\"metrics\"}\n", &resp) == 1 &&
	    (text = json_string_value(json_object_get(json_object_get(resp,
	    "result"), "text"))) != NULL &&
	    (p = strstr(text, key)) != NULL)
		n = strtol(p + sizeof(key) - 1, NULL, 10);
	*secs = bench_now() - t0;
	json_decref(resp);
	return n;
}

/*
 * At least n pings, each round trip into v[*nv...]; with loaders, until
 * each also answered SCALE_LOAD_MIN requests, for at most -T seconds.
 * @return the pings that failed.
 */
static long
scale_pings(struct scale *s, struct linebuf *lb, double *v, size_t cap,
    size_t *nv, long n, struct scale_load *loads, int nloads)
{
	double t0, start = bench_now();
	long bad = 0;
	int i, busy;

	for (;;) {
		busy = 0;
		for (i = 0; i < nloads; i++)
			if (loads[i].done + loads[i].failed < SCALE_LOAD_MIN)
				busy = 1;
		if ((long)*nv >= n && !busy)
			break;
		if (*nv == cap || bench_now() - start > s->o->budget)
			break;
		t0 = bench_now();
		if (scale_ctl(lb, "{\"cmd\":\"ping\"}\n", NULL) != 1) {
			if (++bad > 10)
				break;
			continue;
		}
		v[(*nv)++] = bench_now() - t0;
		/* spread the pings over the heavy queries */
		if (nloads > 0)
			bench_sleep_ms(2);
	}
	return bad;
}

/* The figures of the loaded pings and of the loaders. */
static void
scale_daemon_figs(struct scale *s, double *v, size_t nv, long bad,
    const struct scale_load *loads, int nloads)
{
	char key[64], what[128];
	long failed = 0;
	int i, cut = 0;

	scale_fig(s, "ping.load.p50", "ms", "ping while " SCALE_LOADS_TEXT
	    " loop", "%.3f", scale_pct(v, nv, 50) * 1e3);
	scale_fig(s, "ping.load.p99", "ms", "ping while " SCALE_LOADS_TEXT
	    " loop (target: < 20 ms)", "%.3f", scale_pct(v, nv, 99) * 1e3);
	scale_fig(s, "ping.load.max", "ms", "slowest ping under load: the "
	    "longest the loop stopped (item 3: 20 ms)", "%.3f",
	    scale_pct(v, nv, 100) * 1e3);
	scale_fig(s, "ping.load.count", "pings", "pings answered under load",
	    "%zu", nv);
	scale_fig(s, "ping.failed", "pings", "pings unanswered or refused",
	    "%ld", bad);
	for (i = 0; i < nloads; i++) {
		snprintf(key, sizeof(key), "load.%s", loads[i].cmd);
		snprintf(what, sizeof(what), "%s answered meanwhile (%s)",
		    loads[i].cmd, strcmp(loads[i].cmd, "inbox") == 0 ?
		    "--body, a page of 10, on the event loop" :
		    "worker thread");
		scale_fig(s, key, "calls", what, "%ld", loads[i].done);
		snprintf(key, sizeof(key), "load.%s_avg", loads[i].cmd);
		snprintf(what, sizeof(what), "%s round trip, average",
		    loads[i].cmd);
		scale_fig(s, key, "ms", what, "%.1f", loads[i].done ? 1e3 *
		    loads[i].busy / (double)loads[i].done : 0);
		failed += loads[i].failed;
		cut += loads[i].cut;
	}
	scale_fig(s, "daemon.failed", "calls", "loaders' requests that "
	    "failed", "%ld", failed);
	scale_fig(s, "daemon.cut", "calls", "loaders' requests in flight when "
	    "the pings ended (cut)", "%d", cut);
	if (bad != 0 || failed != 0)
		scale_wrong(s, "daemon failures", bad + failed, 0);
}

/* The loaders, pings meanwhile, then the loaders cut.  @return how many
 * requests were cut in flight. */
static int
scale_daemon_load(struct scale *s, struct gateway *g, struct linebuf *lb,
    double *v, size_t cap)
{
	static const char *const cmds[] = { SCALE_LOADS };
	enum { NL = sizeof(cmds) / sizeof(cmds[0]) };
	struct scale_load loads[NL];
	pthread_t th[NL];
	atomic_int stop = 0;
	size_t nv = 0;
	long bad;
	int i, fd, nth = 0, cut = 0;

	memset(loads, 0, sizeof(loads));
	for (i = 0; i < NL; i++) {
		loads[i].s = s;
		loads[i].sock = g->sock;
		loads[i].cmd = cmds[i];
		loads[i].stop = &stop;
		atomic_init(&loads[i].fd, -1);
		loads[i].rnd = 88172645463325252ULL + (uint64_t)i;
		if (pthread_create(&th[nth], NULL, scale_load_run,
		    &loads[i]) != 0)
			break;
		nth++;
	}
	bad = scale_pings(s, lb, v, cap, &nv, s->o->npings, loads, nth);
	atomic_store(&stop, 1);
	/* a request still running is not waited for: its socket is shut */
	for (i = 0; i < nth; i++)
		if ((fd = atomic_load(&loads[i].fd)) != -1)
			shutdown(fd, SHUT_RDWR);
	for (i = 0; i < nth; i++) {
		pthread_join(th[i], NULL);
		cut += loads[i].cut;
	}
	scale_daemon_figs(s, v, nv, bad, loads, nth);
	return cut;
}

/*
 * Pings idle, then under load; the daemon's RSS, and its journal scans
 * from its metrics.  @return requests cut in flight.
 */
static int
scale_daemon_run(struct scale *s, struct gateway *g)
{
	struct linebuf lb;
	size_t nv = 0, cap = (size_t)s->o->npings * 50 + SCALE_IDLE_PINGS;
	double *v, t0, secs;
	long scans0, scans1;
	int cut;

	if (ctl_open(g->sock, &lb) == -1) {
		scale_wrong(s, "control socket", -1, 0);
		return 0;
	}
	/* the first answer waits for what start-up left (deadlines due) */
	t0 = bench_now();
	if (scale_ctl(&lb, "{\"cmd\":\"ping\"}\n", NULL) != 1)
		scale_wrong(s, "first ping", -1, 0);
	scale_fig(s, "daemon.first_ping", "ms", "first ping after the "
	    "greeting", "%.1f", (bench_now() - t0) * 1e3);
	scans0 = scale_daemon_scans(&lb, &secs);
	scale_fig(s, "daemon.metrics", "ms", "metrics round trip (the worker "
	    "thread builds it)", "%.1f", secs * 1e3);
	v = xcalloc(cap, sizeof(*v));
	scale_pings(s, &lb, v, cap, &nv, SCALE_IDLE_PINGS, NULL, 0);
	scale_fig(s, "ping.idle.p99", "ms", "ping, nothing else running",
	    "%.3f", scale_pct(v, nv, 99) * 1e3);
	cut = scale_daemon_load(s, g, &lb, v, cap);
	free(v);
	scans1 = scale_daemon_scans(&lb, &secs);
	scale_fig(s, "daemon.scans", "scans", "the daemon's whole-journal "
	    "readers during the run (must be 0)", "%ld", scans1 - scans0);
	if (scans0 < 0 || scans1 != scans0)
		scale_wrong(s, "the daemon's journal scans", scans1 - scans0,
		    0);
	scale_fig(s, "daemon.rss", "MB", "accordd VmRSS after the load "
	    "(target: < 200 MB)", "%.1f",
	    (double)scale_proc_kb(g->pid, "VmRSS:") / 1024);
	scale_fig(s, "daemon.hwm", "MB", "accordd VmHWM (peak RSS)", "%.1f",
	    (double)scale_proc_kb(g->pid, "VmHWM:") / 1024);
	ctl_close(&lb);
	return cut;
}

/* Phase 5: accordd on Kazakhstan's state directory.  @return 0, or -1
 * (it did not start). */
static int
scale_daemon(struct scale *s)
{
	struct gateway g = { .name = "Kazakhstan", .pid = -1 };
	char daemon[1200];
	double t0;
	int cut, stopped;

	snprintf(daemon, sizeof(daemon), "%s/gateway/accordd", s->o->bld);
	snprintf(g.conf, sizeof(g.conf), "%s/conf/accordd.xml", s->work);
	snprintf(g.sock, sizeof(g.sock), "%s/run/kz/control.sock", s->work);
	snprintf(g.log, sizeof(g.log), "%s/kz.log", s->work);
	g.start_secs = 1800;
	t0 = bench_now();
	if (gw_start(daemon, &g) == -1) {
		gw_tail(&g);
		gw_stop(&g);
		return -1;
	}
	scale_fig(s, "daemon.start", "s", "accordd start until its socket "
	    "greets (real clock)", "%.2f", bench_now() - t0);
	cut = scale_daemon_run(s, &g);
	t0 = bench_now();
	stopped = gw_stop(&g);
	scale_fig(s, "daemon.stop", "s", stopped == 0 ? "SIGTERM until it "
	    "exited 0" : "SIGTERM: NOT a clean exit (SIGKILL after 15 s)",
	    "%.2f", bench_now() - t0);
	if (stopped != 0) {
		gw_tail(&g);
		/* a report cut in flight still runs on the worker thread */
		if (!cut)
			scale_wrong(s, "accordd's exit on SIGTERM", g.status,
			    0);
	}
	return 0;
}

/* ---- the runs ------------------------------------------------------------ */

static void
scale_free(struct scale *s)
{
	char cmd[1200];

	engine_close(s->kz);
	engine_close(s->fr);
	config_free(s->kzc);
	config_free(s->frc);
	free(s->cases);
	free(s->queued);
	free(s->journal_dir);
	free(s->store_db);
	s->kz = s->fr = NULL;
	s->kzc = s->frc = NULL;
	s->cases = NULL;
	s->queued = NULL;
	s->journal_dir = s->store_db = NULL;
	if (s->work[0] == '\0')
		return;
	if (s->o->keep || s->wrong || s->reused) {
		printf("%-8s work directory kept: %s\n", s->label, s->work);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->work);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_scale: cannot remove %s\n", s->work);
}

/* Every phase for one N, beside the small journal's drain (may be NULL).
 * @return 0, or -1 (cannot run). */
static int
scale_run(struct scale *s, const struct scale *small)
{
	if (s->o->reuse != NULL) {
		if (scale_reuse(s) == -1)
			return -1;
	} else {
		printf("\n== %s: %ld cases, %ld replies queued (%s)\n",
		    s->label, s->n, s->nqueue, s->o->pki);
		if (scale_seed(s) == -1)
			return -1;
	}
	if (scale_restart(s) == -1 || scale_lookups(s) == -1 ||
	    scale_drain(s) == -1)
		return -1;
	if (small != NULL && small->read_rate > 0) {
		scale_fig(s, "drain.read_ratio", "x", "read rate / the small "
		    "journal's (target: >= 0.8)", "%.2f",
		    s->read_rate / small->read_rate);
		scale_fig(s, "drain.ratio", "x", "drain rate / the small "
		    "journal's (a shorter queue)", "%.2f",
		    s->drain_rate / small->drain_rate);
	}
	return scale_daemon(s);
}

/* The small journal of the drain comparison: seed, then drain only.
 * @return it (its figures), or NULL (not measured). */
static struct scale *
scale_small(const struct scale_opts *o, int *wrong)
{
	struct scale *s = xcalloc(1, sizeof(*s));
	int rc;

	s->o = o;
	s->n = SCALE_SMALL_N;
	s->nqueue = SCALE_SMALL_QUEUED;
	s->rnd = 2463534242ULL;
	snprintf(s->label, sizeof(s->label), "small");
	printf("\n== small journal, for the drain ratio: %ld cases, %ld "
	    "replies queued\n", s->n, s->nqueue);
	rc = scale_seed(s) == 0 && scale_restart(s) == 0 &&
	    scale_drain(s) == 0 && s->read_rate > 0;
	*wrong += s->wrong;
	scale_free(s);
	if (!rc) {
		free(s);
		return NULL;
	}
	return s;
}

/* The figure key of run s, or NULL. */
static const struct scale_fig *
scale_find(const struct scale *s, const char *key)
{
	int i;

	for (i = 0; i < s->nfigs; i++)
		if (strcmp(s->figs[i].key, key) == 0)
			return &s->figs[i];
	return NULL;
}

/* The first three fields of /proc/loadavg: other work on the machine. */
static const char *
scale_loadavg(void)
{
	static char buf[64];
	FILE *f;
	char *p;

	snprintf(buf, sizeof(buf), "unknown");
	if ((f = fopen("/proc/loadavg", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strchr(buf, ' ')) != NULL &&
		    (p = strchr(p + 1, ' ')) != NULL &&
		    (p = strchr(p + 1, ' ')) != NULL)
			*p = '\0';
		fclose(f);
	}
	return buf;
}

/* One summary line: the figure key in every run. */
static void
scale_summary_line(struct scale **runs, int nruns, const struct scale_fig *k)
{
	const struct scale_fig *f;
	int r;

	printf("%-24s", k->key);
	for (r = 0; r < nruns; r++)
		printf(" %14s", (f = scale_find(runs[r], k->key)) != NULL ?
		    f->val : "-");
	printf("  %s\n", k->unit);
}

/*
 * One line per figure, one column per N (figures in the order they first
 * came); then what 1M cases would take on disk and to seed, from the
 * journal and store bytes per case and the seeding rate of the largest N.
 */
static void
scale_summary(struct scale **runs, int nruns)
{
	const struct scale_fig *f;
	const struct scale *big = runs[nruns - 1];
	double per_case = 0, rate = 0, store = 0;
	int i, r, q;

	printf("\n== summary (%ld cores, load average now %s; timings on a "
	    "warm page cache)\n", sysconf(_SC_NPROCESSORS_ONLN),
	    scale_loadavg());
	printf("%-24s", "figure");
	for (r = 0; r < nruns; r++)
		printf(" %14s", runs[r]->label);
	printf("  unit\n");
	for (r = 0; r < nruns; r++)
		for (i = 0; i < runs[r]->nfigs; i++) {
			/* already printed with an earlier run's? */
			for (q = 0; q < r; q++)
				if (scale_find(runs[q],
				    runs[r]->figs[i].key) != NULL)
					break;
			if (q == r)
				scale_summary_line(runs, nruns,
				    &runs[r]->figs[i]);
		}
	if ((f = scale_find(big, "journal.per_case")) != NULL)
		per_case = atof(f->val);
	if ((f = scale_find(big, "seed.rate")) != NULL)
		rate = atof(f->val);
	if ((f = scale_find(big, "store.bytes")) != NULL)
		store = atof(f->val) / (double)big->n;
	if (per_case > 0 && rate > 0)
		printf("\nat 1M cases (from %s): journal about %.1f GB, store "
		    "about %.1f GB, seeding about %.1f h at %.0f cases/s\n",
		    big->label, per_case * 1e6 / 1e9, store * 1e6 / 1e9,
		    1e6 / rate / 3600, rate);
	for (r = 0; r < nruns; r++)
		if (runs[r]->cut > 0)
			printf("%s: %d lookup step%s NOT MEASURED (stopped "
			    "after 2 x -T + 10 s)\n", runs[r]->label,
			    runs[r]->cut, runs[r]->cut == 1 ? "" : "s");
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_scale [-kS] [-b BATCH] [-p PINGS] "
	    "[-q QUEUED] [-r WORK] [-s STATUS]\n\t[-t TIMELINES] "
	    "[-T SECONDS] [-w DIR] PKI_DIR [N ...]\n");
	exit(2);
}

/* The business documents, once.  @return 0, or -1. */
static int
scale_docs(void)
{
	if ((doc_req = test_example_body("ReadmissionRequest",
	    &len_req)) == NULL ||
	    (doc_acc = test_example_body("ReadmissionReply",
	    &len_acc)) == NULL ||
	    (doc_ref = test_example_body("ReadmissionReply",
	    &len_ref)) == NULL || test_refuse_body(&doc_ref, &len_ref) == -1)
		return -1;
	return 0;
}

static void
scale_options(int argc, char **argv, struct scale_opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "b:kp:q:r:s:St:T:w:")) != -1)
		switch (c) {
		case 'b':
			o->batch = atoi(optarg);
			if (o->batch < 1 || o->batch > SCALE_BATCH_MAX)
				usage();
			break;
		case 'k':
			o->keep = 1;
			break;
		case 'p':
			if ((o->npings = atoi(optarg)) < 1)
				usage();
			break;
		case 'q':
			if ((o->nqueue = atol(optarg)) < 0)
				usage();
			break;
		case 'r':
			o->reuse = optarg;
			break;
		case 's':
			if ((o->nstatus = atoi(optarg)) < 1)
				usage();
			break;
		case 'S':
			o->nosmall = 1;
			break;
		case 't':
			if ((o->ntimeline = atoi(optarg)) < 1)
				usage();
			break;
		case 'T':
			if ((o->budget = atof(optarg)) <= 0)
				usage();
			break;
		case 'w':
			o->parent = optarg;
			break;
		default:
			usage();
		}
}

int
main(int argc, char **argv)
{
	struct scale_opts o = { .batch = 32, .nstatus = 1000,
	    .ntimeline = 200, .npings = 500, .nqueue = 5000, .budget = 120 };
	struct scale **runs, *s;
	char proto[1100], parent[1100], pki[1024];
	struct scale *small = NULL;
	int i, nsizes, nruns = 0, wrong = 0, failed = 0;

	scale_options(argc, argv, &o);
	if (argc - optind < 1)
		usage();
	if ((o.src = getenv("ACCORD_SRCDIR")) == NULL)
		o.src = ".";
	if ((o.bld = getenv("ACCORD_BUILDDIR")) == NULL)
		o.bld = ".";
	if (realpath(argv[optind], pki) == NULL) {
		perror(argv[optind]);
		return 2;
	}
	o.pki = pki;
	if (o.parent == NULL) {
		snprintf(parent, sizeof(parent), "%s/bench/tmp", o.bld);
		mkdir(parent, 0755);
		o.parent = parent;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("bench_scale", 1, LOG_LVL_WARN);
	xmlInitParser();
	snprintf(proto, sizeof(proto), "%s/protocols", o.src);
	if (setenv("ACCORD_SRCDIR", o.src, 1) == -1 ||
	    envelope_init(proto) == -1 || xmlsig_init() == -1 ||
	    scale_docs() == -1) {
		fprintf(stderr, "bench_scale: cannot load the schemas or the "
		    "examples of %s\n", o.src);
		return 2;
	}
	printf("bench_scale: %ld cores, load average %s; figures, not "
	    "pass/fail\n", sysconf(_SC_NPROCESSORS_ONLN), scale_loadavg());
	if (!o.nosmall)
		small = scale_small(&o, &wrong);

	/* the sizes asked, 10000 when none; the summary shows the small
	 * journal first */
	nsizes = argc - optind - 1 > 0 ? argc - optind - 1 : 1;
	runs = xcalloc((size_t)nsizes + 1, sizeof(*runs));
	if (small != NULL)
		runs[nruns++] = small;
	for (i = 0; i < nsizes && !failed; i++) {
		s = runs[nruns++] = xcalloc(1, sizeof(**runs));
		s->o = &o;
		s->n = argc - optind > 1 ? atol(argv[optind + 1 + i]) : 10000;
		if (s->n < 10)
			usage();
		s->nqueue = o.nqueue;
		s->rnd = 88172645463325252ULL;
		snprintf(s->label, sizeof(s->label), "N=%ld", s->n);
		if (scale_run(s, small) == -1) {
			fprintf(stderr, "bench_scale: %s could not run\n",
			    s->label);
			s->wrong++;	/* its work directory stays */
			failed = 1;
		}
		wrong += s->wrong;
		scale_free(s);
	}
	if (nruns > 0)
		scale_summary(runs, nruns);
	for (i = 0; i < nruns; i++)
		free(runs[i]);
	free(runs);
	xmlsig_shutdown();
	envelope_shutdown();
	return failed ? 2 : wrong ? 1 : 0;
}
