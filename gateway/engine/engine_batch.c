/*
 * engine_batch.c -- the pending batch: records appended and not yet in
 * the store, the overlay that answers lookups from them, the commit
 * (synchronous, or in flight on the journal's writer thread), applying
 * to the store, and the store that lags behind the journal.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord-build.h"
#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/journal.h"
#include "persist/keystore.h"
#include "util/log.h"
#include "util/stage.h"
#include "persist/store.h"
#include "util/xmalloc.h"

#define CATCHUP_BATCH	512
/* Further behind than this (a rebuild): larger transactions and a larger
 * page cache while catching up. */
#define CATCHUP_BULK	20000
#define CATCHUP_BULK_BATCH 262144

/* Records behind from which a catch-up is bulk (test builds:
 * ACCORD_TEST_CATCHUP_BULK, so that a small test rebuilds as a large
 * store does). */
static uint64_t
engine_catchup_bulk(void)
{
#ifdef ACCORD_TEST_CLOCK
	const char *s = getenv("ACCORD_TEST_CATCHUP_BULK");

	if (s != NULL && *s != '\0')
		return strtoull(s, NULL, 10);
#endif
	return CATCHUP_BULK;
}

/* ---- the pending batch ------------------------------------------------ */

/* Drop the overlay entries set by records with lo <= seq <= hi. */
static void
engine_overlay_drop(struct engine *e, uint64_t lo, uint64_t hi)
{
	size_t i, n;

	for (i = n = 0; i < e->npcases; i++)
		if (e->pcases[i].seq < lo || e->pcases[i].seq > hi)
			e->pcases[n++] = e->pcases[i];
	e->npcases = n;
	for (i = n = 0; i < e->npmsgs; i++) {
		if (e->pmsgs[i].seq >= lo && e->pmsgs[i].seq <= hi) {
			free(e->pmsgs[i].answer);
			continue;
		}
		e->pmsgs[n++] = e->pmsgs[i];
	}
	e->npmsgs = n;
	for (i = n = 0; i < e->npreqs; i++)
		if (e->preqs[i].seq < lo || e->preqs[i].seq > hi)
			e->preqs[n++] = e->preqs[i];
	e->npreqs = n;
	/* the arrays keep their capacity for the next batch: engine_close()
	 * frees them */
}

/* The first n pending records are in the store now (or void): forget
 * them and what they put in the overlay. */
static void
engine_pending_drop(struct engine *e, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	engine_overlay_drop(e, e->pending[0].seq, e->pending[n - 1].seq);
	for (i = 0; i < n; i++)
		free(e->pending[i].payload);
	memmove(e->pending, e->pending + n,
	    (e->npending - n) * sizeof(*e->pending));
	e->npending -= n;
	e->ncommitted = e->ncommitted > n ? e->ncommitted - n : 0;
	e->ninflight = e->ninflight > n ? e->ninflight - n : 0;
}

/* The open batch failed to commit: its records are void. */
static void
engine_pending_void(struct engine *e)
{
	size_t i;

	if (e->npending == e->ncommitted)
		return;
	engine_overlay_drop(e, e->pending[e->ncommitted].seq, UINT64_MAX);
	for (i = e->ncommitted; i < e->npending; i++)
		free(e->pending[i].payload);
	e->npending = e->ncommitted;
	e->ninflight = e->ncommitted;
}

void
engine_pending_clear(struct engine *e)
{
	engine_pending_drop(e, e->npending);
}

/* The seq of the record appended last (the overlay's tag). */
static uint64_t
engine_last_seq(const struct engine *e)
{
	return e->npending > 0 ? e->pending[e->npending - 1].seq : 0;
}

/* Append one record to the journal and remember it for the store.  The
 * payload is taken over (freed here). */
int
engine_append(struct engine *e, enum journal_kind kind, char *payload,
    size_t len)
{
	return engine_append_sealed(e, kind, payload, len, NULL);
}

int
engine_append_sealed(struct engine *e, enum journal_kind kind,
    char *payload, size_t len, const struct journal_seal *seal)
{
	struct engine_pending *p;
	struct journal_pos pos;
	int rc;

	e->pending = xgrowarray(e->pending, e->npending, &e->cappending,
	    sizeof(*e->pending));
	stage_begin(STAGE_JOURNAL);
	if (seal != NULL)
		rc = journal_append_sealed(e->journal, kind, payload, len, seal,
		    &pos);
	else
		rc = journal_append_pos(e->journal, kind, payload, len, &pos);
	if (rc == -1) {
		stage_end(STAGE_JOURNAL);
		free(payload);
		return -1;
	}
	stage_end(STAGE_JOURNAL);
	p = &e->pending[e->npending++];
	p->kind = kind;
	p->seq = pos.seq;
	p->pos = pos;
	p->time = journal_last_append_time(e->journal);
	p->payload = payload;
	p->len = len;
	p->note.set = 0;
	return 0;
}

void
engine_overlay_case(struct engine *e, const char *partner,
    const char *case_id, const struct fsm_case *c)
{
	struct engine_pcase *pc;

	e->pcases = xgrowarray(e->pcases, e->npcases, &e->cappcases,
	    sizeof(*e->pcases));
	pc = &e->pcases[e->npcases++];
	pc->seq = engine_last_seq(e);
	snprintf(pc->partner, sizeof(pc->partner), "%s", partner);
	snprintf(pc->case_id, sizeof(pc->case_id), "%s", case_id);
	pc->c = *c;
}

void
engine_overlay_msg(struct engine *e, const char *partner,
    const char *message_id, enum record_dir dir, const char *sha256,
    const char *answer, size_t answer_len)
{
	struct engine_pmsg *pm;

	e->pmsgs = xgrowarray(e->pmsgs, e->npmsgs, &e->cappmsgs,
	    sizeof(*e->pmsgs));
	pm = &e->pmsgs[e->npmsgs++];
	memset(pm, 0, sizeof(*pm));
	pm->seq = engine_last_seq(e);
	snprintf(pm->partner, sizeof(pm->partner), "%s", partner);
	snprintf(pm->message_id, sizeof(pm->message_id), "%s", message_id);
	pm->dir = dir;
	snprintf(pm->sha256, sizeof(pm->sha256), "%s", sha256);
	if (answer != NULL) {
		pm->answer = xmalloc(answer_len);
		memcpy(pm->answer, answer, answer_len);
		pm->answer_len = answer_len;
	}
}

void
engine_overlay_request(struct engine *e, uid_t uid, const char *request_id,
    const struct store_request *r)
{
	struct engine_preq *p;

	e->preqs = xgrowarray(e->preqs, e->npreqs, &e->cappreqs,
	    sizeof(*e->preqs));
	p = &e->preqs[e->npreqs++];
	p->seq = engine_last_seq(e);
	p->uid = uid;
	snprintf(p->request_id, sizeof(p->request_id), "%s", request_id);
	p->r = *r;
}

int
engine_case_get(struct engine *e, const char *partner, const char *case_id,
    struct fsm_case *out)
{
	size_t i;

	for (i = e->npcases; i-- > 0; )	/* the latest wins */
		if (strcmp(e->pcases[i].partner, partner) == 0 &&
		    strcmp(e->pcases[i].case_id, case_id) == 0) {
			*out = e->pcases[i].c;
			return 1;
		}
	return store_case_get(e->store, partner, case_id, out);
}

/*
 * Apply every journalled record the store has not seen, each as the
 * journal reader hands it (nothing copied), cap records a transaction:
 * CATCHUP_BATCH, or in bulk (far behind: a rebuild) CATCHUP_BULK_BATCH
 * with a larger page cache, since each commit writes every page its
 * records touched, and records with random keys touch pages all over.
 */
int
engine_catch_up(struct engine *e)
{
	struct journal_reader *r;
	struct journal_rec rec;
	const struct journal_break *b;
	struct store_record sr;
	uint64_t last;
	uint32_t from;
	size_t n = 0, cap = CATCHUP_BATCH;
	int rc = 0, got, bulk = 0;

	last = store_last_applied(e->store);
	if (last >= journal_committed_seq(e->journal)) {
		e->store_behind = 0;
		/* a rebuild stopped after its last record: its indexes */
		return store_restore_indexes(e->store) == -1 ? -1 : 0;
	}
	/* from the file of the store's last record on: a store that is
	 * current reads one file, not the whole journal */
	from = store_last_applied_file(e->store);
	if ((r = journal_reader_open_from(e->journal_dir, from, 0)) == NULL)
		return -1;
	if (journal_committed_seq(e->journal) - last > engine_catchup_bulk() &&
	    store_set_bulk(e->store, 1) == 0) {
		bulk = 1;
		cap = CATCHUP_BULK_BATCH;
		/* from empty (a rebuild): the indexes once, at the end */
		if (last == 0 && store_defer_indexes(e->store) == -1) {
			journal_reader_close(r);
			store_set_bulk(e->store, 0);
			return -1;
		}
	}
	stage_begin(STAGE_STORE);
	for (;;) {
		got = journal_reader_next(r, &rec);
		if (got == -1) {
			b = journal_reader_break(r);
			log_errx(ETAG, "catching up: %s: offset %" PRIu64
			    ": record %" PRIu64 ": %s", b->file, b->offset,
			    b->recno, b->reason);
			rc = -1;
			break;
		}
		if (got == 1 && rec.seq > last) {
			if (n == 0 && store_run_begin(e->store) == -1) {
				rc = -1;
				break;
			}
			sr.kind = rec.kind;
			sr.seq = rec.seq;
			sr.time = rec.time;
			sr.payload = rec.payload;
			sr.len = rec.len;
			sr.file = rec.file_no;
			sr.offset = rec.offset;
			if (store_run_apply(e->store, &sr) == -1) {
				rc = -1;
				break;
			}
			n++;
		}
		if (n == cap || (got == 0 && n > 0)) {
			n = 0;
			if (store_run_commit(e->store) == -1) {
				rc = -1;
				break;
			}
		}
		if (got == 0)
			break;
	}
	/* what a failure left open: none of it applied */
	store_run_abort(e->store);
	stage_end(STAGE_STORE);
	journal_reader_close(r);
	if (rc == 0 && store_restore_indexes(e->store) == -1)
		rc = -1;
	if (bulk && store_set_bulk(e->store, 0) == -1)
		rc = -1;
	if (rc == 0) {
		e->store_behind = 0;
		log_info(ETAG, "store caught up to journal seq %llu",
		    (unsigned long long)store_last_applied(e->store));
	}
	return rc;
}

/* Tell the metrics and the observer of the first n pending records (the
 * store has them now). */
static void
engine_observe(struct engine *e, size_t n)
{
	struct engine_pending *p;
	size_t i;

	for (i = 0; i < n; i++) {
		p = &e->pending[i];
		engine_metrics_record(e, p->kind, p->time, p->payload, p->len,
		    &p->note);
		if (e->observer != NULL)
			e->observer(e->observer_arg, p->kind, p->seq, p->time,
			    p->payload, p->len);
	}
}

void
engine_set_observer(struct engine *e, engine_observer fn, void *arg)
{
	e->observer = fn;
	e->observer_arg = arg;
}

uint64_t
engine_batch(const struct engine *e)
{
	return e->batch;
}

int
engine_batch_committed(const struct engine *e, uint64_t batch)
{
	unsigned i, n;

	if (!engine_batch_settled(e, batch))
		return 0;	/* open with records, or in flight */
	if (batch >= e->batch)
		return 1;	/* open, and nothing in it */
	n = e->nfailed < 16 ? e->nfailed : 16;
	for (i = 0; i < n; i++)
		if (e->failed[i] == batch)
			return 0;
	return 1;
}

/*
 * Apply the committed pending records to the store, in one transaction.
 * On failure (the store is locked by another process, full, or broken)
 * they stay in memory and in the overlay, and the engine refuses new
 * inputs until engine_store_retry() succeeds.
 * @return 0 when the store holds every committed record, -1 if not.
 */
static int
engine_apply(struct engine *e)
{
	struct store_record *recs;
	size_t i, n = e->ncommitted;
	int rc;

	if (n == 0) {
		e->store_behind = 0;
		return 0;
	}
	recs = xcalloc(n, sizeof(*recs));
	for (i = 0; i < n; i++) {
		recs[i].kind = e->pending[i].kind;
		recs[i].seq = e->pending[i].seq;
		recs[i].time = e->pending[i].time;
		recs[i].payload = e->pending[i].payload;
		recs[i].len = e->pending[i].len;
		recs[i].file = e->pending[i].pos.file;
		recs[i].offset = e->pending[i].pos.offset;
	}
	stage_begin(STAGE_STORE);
	rc = store_apply_batch(e->store, recs, n);
	stage_end(STAGE_STORE);
	free(recs);
	if (rc == -1) {
		e->apply_failures++;
		if (!e->store_behind) {
			/* committed, so it happened: kept until applied */
			log_errx(ETAG, "the store cannot apply committed "
			    "records; %zu kept in memory, new inputs are "
			    "refused for now (inbound 503, submit TEMPORARY) "
			    "and applying is retried", n);
			e->store_behind = 1;
			e->behind_since = clock_now();
		}
		return -1;
	}
	if (e->store_behind)
		log_info(ETAG, "the store applied the %zu records it lagged "
		    "by (behind for %llds)", n,
		    (long long)(clock_now() - e->behind_since));
	e->store_behind = 0;
	engine_observe(e, n);
	engine_pending_drop(e, n);
	return 0;
}

/* A batch did not reach the disk: its records, and any appended after
 * them, are void; its answers become errors. */
static void
engine_batch_void(struct engine *e, uint64_t batch)
{
	log_errx(ETAG, "journal commit failed: %zu records of batch %llu "
	    "are void", e->npending - e->ncommitted,
	    (unsigned long long)batch);
	e->failed[e->nfailed++ % 16] = batch;
	engine_pending_void(e);
}

/* The flight landed (rc: journal_commit_finish's): its records are
 * committed and applied, or void with everything after them. */
static void
engine_flight_end(struct engine *e, int64_t rc)
{
	uint64_t batch = e->inflight_batch;

	if (rc < 0) {
		if (e->npending > e->ninflight)	/* the open batch too */
			e->failed[e->nfailed++ % 16] = e->batch++;
		engine_batch_void(e, batch);
	} else {
		e->ncommitted = e->ninflight;
		(void)engine_apply(e);
	}
	if (e->commit_cb != NULL)
		e->commit_cb(e->commit_arg, batch, rc >= 0);
}

/* The key store's writes of this batch (case keys taken from the pool,
 * person index rows) in one commit, before the journal's (keystore.h):
 * one keys.db commit a batch, not one or two a message. */
static void
engine_keys_commit(struct engine *e)
{
	if (e->keys != NULL && keystore_batch_commit(e->keys) == -1)
		log_warnx(ETAG, "key store: this batch's case keys and person "
		    "index rows were not written (the keys are found again "
		    "from the journal)");
}

int
engine_flush(struct engine *e)
{
	uint64_t batch;
	int crc;

	/* a flight first: batches land in order */
	if (e->ninflight > e->ncommitted) {
		int64_t rc = journal_commit_wait(e->journal);

		engine_flight_end(e, rc);
		if (rc < 0)
			return -1;
	}
	if (e->npending > e->ncommitted) {
		batch = e->batch++;
		engine_keys_commit(e);
		/* the write; its fdatasync is a stage of its own */
		stage_begin(STAGE_JOURNAL);
		crc = journal_commit(e->journal);
		stage_end(STAGE_JOURNAL);
		if (crc == -1) {
			engine_batch_void(e, batch);
			return -1;
		}
		e->ncommitted = e->ninflight = e->npending;
	}
	/* committed is what counts: the store catches up from memory */
	(void)engine_apply(e);
	return 0;
}

enum engine_flush
engine_flush_start(struct engine *e)
{
	uint64_t batch;
	int rc;

	if (e->ninflight > e->ncommitted) {
		e->flush_wanted = 1;	/* goes when the flight lands */
		return ENGINE_FLUSH_STARTED;
	}
	if (e->npending == e->ncommitted)
		return ENGINE_FLUSH_NOTHING;
	batch = e->batch++;
	engine_keys_commit(e);
	stage_begin(STAGE_JOURNAL);
	rc = journal_commit_start(e->journal);
	stage_end(STAGE_JOURNAL);
	if (rc == -1) {
		engine_batch_void(e, batch);
		if (e->commit_cb != NULL)
			e->commit_cb(e->commit_arg, batch, 0);
		return ENGINE_FLUSH_FAILED;
	}
	e->flush_wanted = 0;
	e->inflight_batch = batch;
	e->ninflight = e->npending;
	return ENGINE_FLUSH_STARTED;
}

int
engine_commit_fd(struct engine *e)
{
	return journal_commit_fd(e->journal);
}

void
engine_commit_done(struct engine *e)
{
	int64_t rc;

	if (e->ninflight == e->ncommitted)
		return;		/* landed already (a synchronous flush) */
	if ((rc = journal_commit_finish(e->journal)) == -2)
		return;		/* not yet */
	engine_flight_end(e, rc);
	if (e->flush_wanted && e->npending > e->ninflight)
		(void)engine_flush_start(e);
}

int
engine_batch_settled(const struct engine *e, uint64_t batch)
{
	if (batch >= e->batch)
		return e->npending == e->ninflight;	/* nothing to wait for */
	return !(batch == e->inflight_batch && e->ninflight > e->ncommitted);
}

void
engine_set_commit_cb(struct engine *e, engine_commit_cb fn, void *arg)
{
	e->commit_cb = fn;
	e->commit_arg = arg;
}

/* Is the record with this seq in the flight (written, not yet synced)?
 * An answer that depends on it may not leave before the flight lands. */
int
engine_seq_in_flight(const struct engine *e, uint64_t seq)
{
	if (e->ninflight == e->ncommitted)
		return 0;
	return seq >= e->pending[e->ncommitted].seq &&
	    seq <= e->pending[e->ninflight - 1].seq;
}

int
engine_store_behind(const struct engine *e)
{
	return e->store_behind;
}

int
engine_store_retry(struct engine *e)
{
	if (!e->store_behind)
		return 0;
	return engine_apply(e);
}

void
engine_stats(const struct engine *e, struct engine_stats *st)
{
	struct journal_stats js;

	memset(st, 0, sizeof(*st));
	st->store_behind = e->store_behind;
	st->unapplied = e->ncommitted;
	st->apply_failures = e->apply_failures;
	st->person_lookups = e->person_lookups;
	store_busy_stats(e->store, &st->busy);
	journal_get_stats(e->journal, &js);
	st->async_commits = js.async_commits;
	st->loop_syncs = js.loop_syncs;
	st->loop_waits = js.loop_waits;
	st->direct_reads = journal_read_count(&st->journal_scans);
}

/* Refuse a new input while the store lags (a duplicate is still answered
 * from the overlay before this).  @return 1 if refused. */
int
engine_lagging(struct engine *e, struct engine_answer *a)
{
	if (!e->store_behind)
		return 0;
	a->status = 503;
	a->code = AE_TEMPORARY;
	snprintf(a->text, sizeof(a->text), "the store is catching up with "
	    "the journal; try again shortly");
	return 1;
}
