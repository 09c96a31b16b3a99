/*
 * engine.c -- the glue: inputs to fsm decisions, journal records, store.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "conf/calendar.h"
#include "util/clock.h"
#include "conf/conffile.h"
#include "engine/engine.h"
#include "engine/engine_priv.h"
#include "msg/envelope.h"
#include "util/hex.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/xmalloc.h"
#include "msg/xmlsig.h"

#define ETAG		"engine"
#define CATCHUP_BATCH	512

static void
engine_answer_set(struct engine_answer *a, int status, enum accord_err code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One record appended in the current batch. */
struct engine_pending {
	enum journal_kind kind;
	uint64_t	 seq;
	accord_time_t	 time;
	char		*payload;
	size_t		 len;
};

/* A case as a record not yet applied to the store left it (the overlay).
 * Appended, never updated in place: the latest entry wins, and entries
 * are dropped by seq when their record is applied or voided. */
struct engine_pcase {
	uint64_t	 seq;		/* the record that set it */
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	struct fsm_case	 c;
};

/* The facts of a message we sent, kept until its receipt comes back. */
struct engine_sent {
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	struct fsm_event ev;
};

#define ENGINE_SENT_MAX	4096

/* A message seen in records not yet applied (for duplicates). */
struct engine_pmsg {
	uint64_t	 seq;
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	enum record_dir	 dir;
	char		 sha256[RECORD_SHA256_HEX];
	char		*answer;	/* the receipt or Error we gave */
	size_t		 answer_len;
};

/* A submit with an idempotency key, not yet applied to the store. */
struct engine_preq {
	uint64_t	 seq;
	uid_t		 uid;
	char		 request_id[ENGINE_REQUEST_ID_MAX];
	struct store_request r;
};

struct engine {
	const struct config	*conf;
	struct journal		*journal;
	struct store		*store;
	struct xmlsig_signer	*signer;
	EVP_PKEY		*journal_key;
	char			*journal_dir;
	char			*store_path;
	int			 store_behind;	/* apply failed: retry */
	accord_time_t		 behind_since;
	uint64_t		 apply_failures;

	/*
	 * Records appended and not yet applied to the store: the first
	 * ncommitted are committed (fsynced), the rest form the open batch.
	 * Committed records stay here, and in the overlay, until the store
	 * has applied them: a duplicate arriving while the store cannot be
	 * written still finds its original (DESIGN.md 3).
	 */
	struct engine_pending	*pending;
	size_t			 npending;
	size_t			 ncommitted;
	size_t			 ninflight;	/* [ncommitted, ninflight): in
						 * flight (their fdatasync runs
						 * on the writer thread) */
	size_t			 cappending;
	uint64_t		 inflight_batch;
	int			 flush_wanted;	/* start the open batch when
						 * the flight lands */
	engine_commit_cb	 commit_cb;	/* a flight landed */
	void			*commit_arg;
	struct engine_pcase	*pcases;
	size_t			 npcases;
	size_t			 cappcases;
	struct engine_pmsg	*pmsgs;
	size_t			 npmsgs;
	size_t			 cappmsgs;
	struct engine_preq	*preqs;
	size_t			 npreqs;
	size_t			 cappreqs;

	struct engine_sent	*sent;		/* ring of ENGINE_SENT_MAX */
	size_t			 nsent;

	uint64_t		 batch;		/* the open batch's number */
	uint64_t		 failed[16];	/* recent batches that failed */
	unsigned		 nfailed;

	engine_observer		 observer;	/* told of committed records */
	void			*observer_arg;
	engine_partner_cb	 alive;		/* a partner proved alive */
	void			*alive_arg;
};

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

static void
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
static int
engine_append(struct engine *e, enum journal_kind kind, char *payload,
    size_t len)
{
	struct engine_pending *p;
	uint64_t seq;

	e->pending = xgrowarray(e->pending, e->npending, &e->cappending,
	    sizeof(*e->pending));
	if (journal_append(e->journal, kind, payload, len, &seq) == -1) {
		free(payload);
		return -1;
	}
	p = &e->pending[e->npending++];
	p->kind = kind;
	p->seq = seq;
	p->time = journal_last_append_time(e->journal);
	p->payload = payload;
	p->len = len;
	return 0;
}

static void
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

static void
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

/* Apply every journalled record the store has not seen. */
static int
engine_catch_up(struct engine *e)
{
	struct journal_reader *r;
	struct journal_rec rec;
	struct store_record *batch;
	char **copies;
	uint64_t last;
	size_t n = 0, i;
	int rc = 0, got;

	last = store_last_applied(e->store);
	if (last >= journal_committed_seq(e->journal)) {
		e->store_behind = 0;
		return 0;
	}
	if ((r = journal_reader_open(e->journal_dir)) == NULL)
		return -1;
	batch = xcalloc(CATCHUP_BATCH, sizeof(*batch));
	copies = xcalloc(CATCHUP_BATCH, sizeof(*copies));
	for (;;) {
		got = journal_reader_next(r, &rec);
		if (got == -1) {
			rc = -1;
			break;
		}
		if (got == 1 && rec.seq > last) {
			/* the reader's buffer moves on: keep a copy */
			copies[n] = xmalloc(rec.len + 1);
			memcpy(copies[n], rec.payload, rec.len);
			batch[n].kind = rec.kind;
			batch[n].seq = rec.seq;
			batch[n].time = rec.time;
			batch[n].payload = copies[n];
			batch[n].len = rec.len;
			n++;
		}
		if (n == CATCHUP_BATCH || (got == 0 && n > 0)) {
			if (store_apply_batch(e->store, batch, n) == -1)
				rc = -1;
			for (i = 0; i < n; i++)
				free(copies[i]);
			n = 0;
			if (rc == -1)
				break;
		}
		if (got == 0)
			break;
	}
	for (i = 0; i < n; i++)
		free(copies[i]);
	free(batch);
	free(copies);
	journal_reader_close(r);
	if (rc == 0) {
		e->store_behind = 0;
		log_info(ETAG, "store caught up to journal seq %llu",
		    (unsigned long long)store_last_applied(e->store));
	}
	return rc;
}

/* Tell the observer of the first n pending records (the store has them
 * now). */
static void
engine_observe(struct engine *e, size_t n)
{
	struct engine_pending *p;
	size_t i;

	if (e->observer == NULL)
		return;
	for (i = 0; i < n; i++) {
		p = &e->pending[i];
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
	}
	rc = store_apply_batch(e->store, recs, n);
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

int
engine_flush(struct engine *e)
{
	uint64_t batch;

	/* a flight first: batches land in order */
	if (e->ninflight > e->ncommitted) {
		int64_t rc = journal_commit_wait(e->journal);

		engine_flight_end(e, rc);
		if (rc < 0)
			return -1;
	}
	if (e->npending > e->ncommitted) {
		batch = e->batch++;
		if (journal_commit(e->journal) == -1) {
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
	rc = journal_commit_start(e->journal);
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
static int
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
	store_busy_stats(e->store, &st->busy);
	journal_get_stats(e->journal, &js);
	st->async_commits = js.async_commits;
	st->loop_syncs = js.loop_syncs;
	st->loop_waits = js.loop_waits;
}

void
engine_set_partner_cb(struct engine *e, engine_partner_cb fn, void *arg)
{
	e->alive = fn;
	e->alive_arg = arg;
}

/* Refuse a new input while the store lags (a duplicate is still answered
 * from the overlay before this).  @return 1 if refused. */
static int
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

/* ---- journalling helpers ---------------------------------------------- */

static int
engine_journal_message(struct engine *e, enum journal_kind kind,
    const char *partner, const struct envelope_header *h, enum record_dir dir,
    accord_time_t received_at, const char *bytes, size_t len,
    char sha256[RECORD_SHA256_HEX])
{
	struct record_message m;
	char *payload;
	size_t plen;

	memset(&m, 0, sizeof(m));
	snprintf(m.partner, sizeof(m.partner), "%s", partner);
	snprintf(m.case_id, sizeof(m.case_id), "%s", h->case_id);
	snprintf(m.message_id, sizeof(m.message_id), "%s", h->message_id);
	snprintf(m.ref_to, sizeof(m.ref_to), "%s", h->ref_to);
	m.type = h->type;
	m.direction = dir;
	m.created = h->created;
	m.received_at = received_at;
	if (record_message_encode(&m, bytes, len, &payload, &plen) == -1)
		return -1;
	if (sha256 != NULL)
		record_sha256_hex(bytes, len, sha256);
	return engine_append(e, kind, payload, plen);
}

static int
engine_journal_decision(struct engine *e, const char *partner,
    const char *case_id, const char *message_id, const struct fsm_case *c,
    const struct fsm_event *ev, accord_time_t now,
    const struct fsm_decision *d)
{
	struct record_decision rd;
	char *payload;
	size_t plen;

	memset(&rd, 0, sizeof(rd));
	snprintf(rd.partner, sizeof(rd.partner), "%s", partner);
	snprintf(rd.case_id, sizeof(rd.case_id), "%s", case_id);
	snprintf(rd.message_id, sizeof(rd.message_id), "%s",
	    message_id != NULL ? message_id : "");
	rd.kind = d->next.kind;
	rd.role = d->next.role;
	if (d->refusal != AE_OK) {
		rd.kind = c->kind;
		rd.role = c->role;
	}
	rd.ev = *ev;
	rd.now = now;
	rd.d = *d;
	if (record_decision_encode(&rd, &payload, &plen) == -1)
		return -1;
	if (engine_append(e, d->refusal == AE_OK ? JOURNAL_DECISION :
	    JOURNAL_REFUSAL, payload, plen) == -1)
		return -1;
	if (d->refusal == AE_OK && !(d->effects & FSM_EFF_NO_CHANGE))
		engine_overlay_case(e, partner, case_id, &d->next);
	return 0;
}

static int
engine_journal_msgstate(struct engine *e, const char *partner,
    const char *message_id, enum record_dir dir, enum record_msg_state st,
    const char *reason)
{
	struct record_msgstate ms;
	char *payload;
	size_t plen;

	memset(&ms, 0, sizeof(ms));
	snprintf(ms.partner, sizeof(ms.partner), "%s", partner);
	snprintf(ms.message_id, sizeof(ms.message_id), "%s", message_id);
	ms.direction = dir;
	ms.state = st;
	snprintf(ms.reason, sizeof(ms.reason), "%s", reason ? reason : "");
	if (record_msgstate_encode(&ms, &payload, &plen) == -1)
		return -1;
	return engine_append(e, JOURNAL_MESSAGE_STATE, payload, plen);
}

/* A free-form JSON record (operator command, configuration load). */
static int
engine_journal_json(struct engine *e, enum journal_kind kind, json_t *obj)
{
	char *s;

	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	if (s == NULL)
		return -1;
	return engine_append(e, kind, s, strlen(s));
}

/* ---- building our own messages ---------------------------------------- */

static xmlNodePtr
engine_body_new(xmlDocPtr *docp, const char *name)
{
	xmlDocPtr doc;
	xmlNodePtr root;

	doc = xmlNewDoc(BAD_CAST "1.0");
	root = xmlNewNode(NULL, BAD_CAST name);
	if (doc == NULL || root == NULL)
		xalloc_failed("xmlNewDoc");
	xmlSetNs(root, xmlNewNs(root, BAD_CAST ENVELOPE_MSG_NS, NULL));
	xmlDocSetRootElement(doc, root);
	*docp = doc;
	return root;
}

static void
engine_body_add(xmlNodePtr parent, const char *name, const char *value)
{
	xmlNewTextChild(parent, parent->ns, BAD_CAST name, BAD_CAST value);
}

/* Wrap body for partner a, sign, serialize.  @return 0, -1 on a fault,
 * or -2 when the message does not validate (verr says why). */
static int
engine_seal_checked(struct engine *e, const struct agreement *a,
    struct envelope_header *h, xmlNodePtr body, char **out, size_t *len,
    struct envelope_error *verr)
{
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	int rc = -1;

	snprintf(h->from_country, sizeof(h->from_country), "%s",
	    e->conf->country);
	snprintf(h->from_authority, sizeof(h->from_authority), "%s",
	    e->conf->authority);
	snprintf(h->to_country, sizeof(h->to_country), "%s", a->country);
	snprintf(h->to_authority, sizeof(h->to_authority), "%s",
	    a->authority);
	snprintf(h->agreement_id, sizeof(h->agreement_id), "%s",
	    a->agreement_id);
	/* an answer or a case's message has its version already; anything
	 * else goes out in the highest both sides accept */
	if (h->version == 0)
		h->version = agreement_wire_version(a);
	if (envelope_build(h, body, &doc) == -1)
		goto done;
	if (envelope_validate(doc, &err) == -1) {
		if (verr != NULL) {
			*verr = err;
			rc = -2;
		} else
			log_errx(ETAG, "our own %s does not validate: %s",
			    agreement_msg_type_name(h->type), err.text);
		goto done;
	}
	if (xmlsig_sign(e->signer, doc) == -1)
		goto done;
	if (envelope_read(doc, h, NULL) == -1)	/* id and Created */
		goto done;
	if (envelope_serialize(doc, out, len) == -1)
		goto done;
	rc = 0;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	return rc;
}

static int
engine_seal(struct engine *e, const struct agreement *a,
    struct envelope_header *h, xmlNodePtr body, char **out, size_t *len)
{
	return engine_seal_checked(e, a, h, body, out, len, NULL) == 0 ? 0 :
	    -1;
}

static const char *
engine_deadline_kind(enum fsm_deadline dl)
{
	switch (dl) {
	case FSM_DL_REPLY:		return "Reply";
	case FSM_DL_TRANSFER:		return "Transfer";
	case FSM_DL_TRANSIT_REPLY:	return "TransitReply";
	case FSM_DL_TRANSIT_VALIDITY:	return "TransitValidity";
	default:			return NULL;
	}
}

static int
engine_deadline_from_kind(const char *kind)
{
	int dl;

	for (dl = 0; dl < FSM_DL_COUNT; dl++)
		if (strcmp(engine_deadline_kind(dl), kind) == 0)
			return dl;
	return -1;
}

/* The version of a signal answering rh: rh's own, so that its sender can
 * read it; the agreement's lowest when rh is unreadable (NULL) or of a
 * version the agreement does not accept. */
static int
engine_answer_version(const struct agreement *a,
    const struct envelope_header *rh)
{
	if (rh != NULL && agreement_accepts_version(a, rh->version))
		return rh->version;
	return agreement_min_version(a);
}

/* The signed Receipt for a message we just took; its own header into
 * *out (may be NULL). */
static int
engine_make_receipt(struct engine *e, const struct agreement *a,
    const struct envelope_header *rh, const char *sha256,
    accord_time_t received_at, const struct fsm_decision *d,
    struct engine_answer *ans, struct envelope_header *out)
{
	struct envelope_header h;
	xmlDocPtr bdoc;
	xmlNodePtr body, dl;
	const char *cp;
	char tb[32];
	int i, rc;

	body = engine_body_new(&bdoc, agreement_msg_type_name(MSG_RECEIPT));
	engine_body_add(body, "ReceivedMessageId", rh->message_id);
	engine_body_add(body, "Sha256", sha256);
	engine_body_add(body, "ReceivedAt", clock_format_utc(received_at, tb,
	    sizeof(tb)));
	for (i = 0; d != NULL && i < d->ndlops; i++) {
		if (d->dlops[i].op != FSM_DLOP_SET)
			continue;
		dl = xmlNewChild(body, body->ns, BAD_CAST "Deadline", NULL);
		engine_body_add(dl, "Kind",
		    engine_deadline_kind(d->dlops[i].which));
		engine_body_add(dl, "Due", clock_format_utc(d->dlops[i].due,
		    tb, sizeof(tb)));
	}
	cp = journal_latest_checkpoint_hash(e->journal);
	engine_body_add(body, "CheckpointHash", cp[0] != '\0' ? cp :
	    "0000000000000000000000000000000000000000000000000000000000000000");
	memset(&h, 0, sizeof(h));
	snprintf(h.case_id, sizeof(h.case_id), "%s", rh->case_id);
	snprintf(h.ref_to, sizeof(h.ref_to), "%s", rh->message_id);
	h.type = MSG_RECEIPT;
	h.created = clock_now();
	h.version = engine_answer_version(a, rh);
	rc = engine_seal(e, a, &h, body, &ans->body, &ans->len);
	if (rc == 0 && out != NULL)
		*out = h;	/* id and Created as signed */
	xmlFreeDoc(bdoc);
	return rc;
}

/* A signed Error about a message (rh may be NULL: nothing readable);
 * its own header into *out (may be NULL). */
static int
engine_make_error(struct engine *e, const struct agreement *a,
    const struct envelope_header *rh, enum accord_err code,
    const char *text, struct engine_answer *ans, struct envelope_header *out)
{
	struct envelope_header h;
	xmlDocPtr bdoc;
	xmlNodePtr body;
	char buf[sizeof(ans->text)];
	int rc, v;

	/* in the version of what it answers, with a code that version has
	 * (a version 1 partner gets TEMPORARY for NOT_YET) */
	v = engine_answer_version(a, rh);
	code = errcode_for_version(code, v);
	body = engine_body_new(&bdoc, agreement_msg_type_name(MSG_ERROR));
	engine_body_add(body, "Code", errcode_name(code));
	if (rh != NULL && rh->message_id[0] != '\0')
		engine_body_add(body, "RefToMessageId", rh->message_id);
	engine_body_add(body, "Retryable", errcode_retryable(code) ? "true" :
	    "false");
	snprintf(buf, sizeof(buf), "%s", text[0] ? text : errcode_name(code));
	engine_body_add(body, "Text", buf);
	memset(&h, 0, sizeof(h));
	/* errors.md: CaseId 0 when the message's own could not be read */
	snprintf(h.case_id, sizeof(h.case_id), "%s", rh != NULL &&
	    rh->case_id[0] ? rh->case_id : "0");
	if (rh != NULL)
		snprintf(h.ref_to, sizeof(h.ref_to), "%s", rh->message_id);
	h.type = MSG_ERROR;
	h.created = clock_now();
	h.version = v;
	rc = engine_seal(e, a, &h, body, &ans->body, &ans->len);
	if (rc == 0 && out != NULL)
		*out = h;	/* id and Created as signed */
	xmlFreeDoc(bdoc);
	return rc;
}

/* ---- reading business facts into an fsm event ------------------------- */

static int
engine_child_bool(xmlNodePtr body, const char *name)
{
	char buf[16];

	if (envelope_child_text(body, name, buf, sizeof(buf)) == -1)
		return 0;
	return strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0;
}

static cal_day_t
engine_child_date(xmlNodePtr body, const char *name)
{
	char buf[32];
	cal_day_t d = 0;

	if (envelope_child_text(body, name, buf, sizeof(buf)) == 0)
		calendar_parse_date(buf, &d);
	return d;
}

static int
engine_count_children(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;
	int count = 0;

	if (parent == NULL)
		return 0;
	for (n = parent->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, BAD_CAST name) == 0)
			count++;
	return count;
}

/* Fill the message-dependent fields of ev from a schema-valid body. */
static void
engine_event_facts(const struct envelope_header *h, xmlNodePtr body,
    struct fsm_event *ev)
{
	xmlNodePtr n;
	char buf[64];
	long v;

	ev->type = h->type;
	ev->created = h->created;
	switch (h->type) {
	case MSG_READMISSION_REQUEST:
		ev->procedure = h->procedure == ENVELOPE_PROC_ACCELERATED ?
		    FSM_PROC_ACCELERATED : FSM_PROC_STANDARD;
		n = envelope_child(body, "ReturnReason");
		if (envelope_child(n, "DeliberateViolation") != NULL)
			ev->reason = FSM_REASON_DELIBERATE;
		else if (envelope_child(n, "ObjectiveReason") != NULL)
			ev->reason = FSM_REASON_OBJECTIVE;
		break;
	case MSG_READMISSION_REPLY:
		ev->positive = envelope_child(body, "Accepted") != NULL;
		ev->grounds = engine_count_children(envelope_child(body,
		    "Refused"), "Ground");
		break;
	case MSG_TRANSIT_REPLY:
		ev->positive = envelope_child(body, "Consent") != NULL;
		ev->grounds = engine_count_children(envelope_child(body,
		    "Refusal"), "Ground");
		break;
	case MSG_EXTENSION_REQUEST:
	case MSG_EXTENSION_REPLY:
		if (envelope_child_text(body, "Subject", buf, sizeof(buf)) ==
		    0 && strcmp(buf, "TransferWindow") == 0)
			ev->ext_subject = FSM_EXT_TRANSFER_WINDOW;
		else
			ev->ext_subject = FSM_EXT_REPLY_PERIOD;
		n = h->type == MSG_EXTENSION_REQUEST ? body :
		    envelope_child(body, "Granted");
		ev->positive = h->type == MSG_EXTENSION_REPLY && n != NULL;
		if (envelope_child_text(n, h->type == MSG_EXTENSION_REQUEST ?
		    "DaysRequested" : "Days", buf, sizeof(buf)) == 0) {
			v = strtol(buf, NULL, 10);
			ev->ext_days = (int)(v > 0 && v < 100000 ? v : 0);
		}
		break;
	case MSG_TRAVEL_DOCUMENT_NOTICE:
		ev->doc_extended = envelope_child_text(body, "Action", buf,
		    sizeof(buf)) == 0 && strcmp(buf, "Extended") == 0;
		ev->doc_valid_from = engine_child_date(body, "ValidFrom");
		ev->doc_valid_until = engine_child_date(body, "ValidUntil");
		break;
	case MSG_TRANSFER_NOTICE:
		if (envelope_child_text(body, "TransferAt", buf, sizeof(buf)) ==
		    0)
			clock_parse_utc(buf, &ev->transfer_at);
		break;
	case MSG_VOLUNTARY_DEPARTURE_NOTICE:
		ev->departure_date = engine_child_date(body, "DepartureDate");
		ev->passport = engine_child_bool(body, "PassportPresent");
		ev->application = engine_child_bool(body,
		    "ApplicationPresent");
		ev->ticket = engine_child_bool(body, "AirlineTicket");
		ev->criminal_offence = engine_child_bool(body,
		    "CriminalOffence");
		ev->entry_illegal = engine_child_bool(body, "EntryIllegal");
		ev->entry_date = engine_child_date(body, "EntryDate");
		break;
	default:
		break;
	}
}

/* 1 if t opens a case. */
static int
engine_opens(enum msg_type t)
{
	struct fsm_case c;

	return fsm_case_open(t, 0, &c) == 0;
}

/* The requested state's calendar: ours when we are Q. */
static const struct calendar *
engine_requested_cal(const struct engine *e, const struct agreement *a,
    enum fsm_role role)
{
	return role == ROLE_REQUESTED ? &e->conf->calendar : &a->calendar;
}

/* Prepare the case an event applies to: the stored one, or a fresh one
 * for an opening message (kind and our role set). */
static int
engine_case_for(struct engine *e, const char *partner, const char *case_id,
    enum msg_type type, int incoming, struct fsm_case *c)
{
	int found;

	memset(c, 0, sizeof(*c));
	found = engine_case_get(e, partner, case_id, c);
	if (found != 0)
		return found;
	fsm_case_open(type, incoming, c);	/* zeroed if t opens none */
	return 0;
}

/* ---- inbound ------------------------------------------------------------ */

static int engine_receipt_take(struct engine *, const char *, const char *,
    const char *, size_t, struct engine_answer *, int, xmlDocPtr);

/*
 * A standalone Receipt (v2), already parsed and verified: taken like the
 * answer to our POST when the message it names is ours and still waits
 * for it.  Signals are never answered with a signal: the answer is a
 * plain status (200 taken or known, 409 not ours), never journalled when
 * refused.
 */
static int
engine_standalone_receipt(struct engine *e, const struct agreement *a,
    xmlDocPtr doc, xmlNodePtr body, const char *bytes, size_t len,
    struct engine_answer *ans)
{
	char id[RECORD_ID_MAX];
	int rc;

	if (envelope_child_text(body, "ReceivedMessageId", id, sizeof(id)) ==
	    -1) {
		engine_answer_set(ans, 409, AE_SCHEMA_INVALID, "Receipt "
		    "without ReceivedMessageId");
		return 0;
	}
	rc = engine_receipt_take(e, a->country, id, bytes, len, ans, 0, doc);
	if (rc == -1) {
		if (ans->status == 0)
			engine_answer_set(ans, 503, AE_TEMPORARY, "the receipt "
			    "could not be recorded");
		return -1;
	}
	engine_answer_clear(ans);	/* no signal answers a signal */
	if (ans->code == AE_OK) {
		ans->status = 200;
		log_info(ETAG, "standalone receipt from %s for %s: %s",
		    a->country, id, ans->text);
	} else {
		ans->status = 409;
		log_warnx(ETAG, "standalone receipt from %s for %s not taken: "
		    "%s", a->country, id, ans->text);
	}
	return 0;
}

/* A message of ours whose receipt we still wait for (or never got)? */
static int
engine_msg_pending(enum record_msg_state st)
{
	return st == RECORD_MS_QUEUED || st == RECORD_MS_SENT ||
	    st == RECORD_MS_UNDELIVERED;
}

/*
 * Is the latest message of ours in this case still without its receipt?
 * Messages of one case leave in order, so only the latest can be.  While
 * it is, a partner message the fsm does not allow may only have overtaken
 * that receipt: it gets NOT_YET, not a final refusal (DESIGN.md 3).
 */
static int
engine_awaiting_receipt(struct engine *e, const char *partner,
    const char *case_id)
{
	struct store_message m;

	return store_case_last_message(e->store, partner, case_id,
	    RECORD_DIR_OUT, &m) == 1 && engine_msg_pending(m.state);
}


static void
engine_answer_set(struct engine_answer *a, int status, enum accord_err code,
    const char *fmt, ...)
{
	va_list ap;

	a->status = status;
	a->code = code;
	va_start(ap, fmt);
	vsnprintf(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
}

/* Refused before authentication: logged and answered, not journalled. */
static int
engine_refuse_early(struct engine *e, const struct agreement *a,
    const struct envelope_header *h, enum accord_err code, const char *text,
    struct engine_answer *ans)
{
	engine_answer_set(ans, errcode_http_status(code), code, "%s", text);
	log_warnx(ETAG, "refused a message from %s: %s: %s", a->country,
	    errcode_name(code), text);
	if (engine_make_error(e, a, h, code, text, ans, NULL) == -1)
		return -1;
	return 0;
}

/* What engine_duplicate() found for a received (partner, MessageId). */
enum engine_dup {
	ENGINE_DUP_ERROR = -1,	/* the lookup failed (logged) */
	ENGINE_DUP_NEW = 0,	/* not seen before */
	ENGINE_DUP_SAME,	/* seen with these bytes: the original answer
				 * is in ans */
	ENGINE_DUP_CONFLICT,	/* seen with other bytes */
	ENGINE_DUP_COMMITTING	/* seen, and still being committed: its
				 * answer may not leave yet */
};

/* Same (partner, MessageId) seen before, unapplied records first? */
static enum engine_dup
engine_duplicate(struct engine *e, const char *partner,
    const char *message_id, const char *sha256, struct engine_answer *ans)
{
	struct store_message m;
	size_t i;
	int found;

	for (i = 0; i < e->npmsgs; i++) {
		if (strcmp(e->pmsgs[i].partner, partner) != 0 ||
		    strcmp(e->pmsgs[i].message_id, message_id) != 0 ||
		    e->pmsgs[i].dir != RECORD_DIR_IN)
			continue;
		if (strcmp(e->pmsgs[i].sha256, sha256) != 0)
			return ENGINE_DUP_CONFLICT;
		if (engine_seq_in_flight(e, e->pmsgs[i].seq))
			return ENGINE_DUP_COMMITTING;
		if (e->pmsgs[i].answer == NULL)
			return ENGINE_DUP_ERROR;
		ans->body = xmalloc(e->pmsgs[i].answer_len);
		memcpy(ans->body, e->pmsgs[i].answer, e->pmsgs[i].answer_len);
		ans->len = e->pmsgs[i].answer_len;
		return ENGINE_DUP_SAME;
	}
	found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_IN, &m);
	if (found == -1)
		return ENGINE_DUP_ERROR;
	if (found == 0)
		return ENGINE_DUP_NEW;
	if (strcmp(m.sha256, sha256) != 0)
		return ENGINE_DUP_CONFLICT;
	/* the original answer's bytes are in the journal */
	if (m.receipt_seq == 0 ||
	    engine_message_bytes(e, m.receipt_seq, &ans->body, &ans->len) == -1)
		return ENGINE_DUP_ERROR;
	return ENGINE_DUP_SAME;
}

/* A message carried by a Redelivery (v2): the outer envelope's facts. */
struct engine_redelivered {
	const struct envelope_header	*outer;
	const struct envelope_redelivery *r;
};

static int engine_receive_rx(struct engine *, const char *, const char *,
    size_t, struct engine_answer *, const struct engine_redelivered *);

int
engine_receive(struct engine *e, const char *tls_partner, const char *bytes,
    size_t len, struct engine_answer *ans)
{
	return engine_receive_rx(e, tls_partner, bytes, len, ans, NULL);
}

/*
 * A Redelivery (v2), authenticated and fresh by its own Created: the
 * original it carries is received as if it came now by itself, except
 * that it is judged by its own Created for timeliness and never refused
 * as stale; a duplicate of it (by its own MessageId) gets its original
 * receipt.  The answer is the original's.
 */
static int
engine_redelivery(struct engine *e, const struct agreement *a,
    const struct envelope_header *outer, xmlNodePtr body,
    struct engine_answer *ans)
{
	struct envelope_redelivery r;
	struct envelope_error err;
	struct engine_redelivered rdv;
	int rc;

	memset(&r, 0, sizeof(r));
	if (envelope_redelivery_read(body, e->conf->max_message_size, &r,
	    &err) == -1) {
		rc = engine_refuse_early(e, a, outer, err.code, err.text, ans);
		envelope_redelivery_clear(&r);
		return rc;
	}
	rdv.outer = outer;
	rdv.r = &r;
	log_info(ETAG, "%s from %s: a Redelivery of %s %s", outer->message_id,
	    a->country, agreement_msg_type_name(r.original_type),
	    r.original_id);
	rc = engine_receive_rx(e, a->country, r.original, r.original_len, ans,
	    &rdv);
	envelope_redelivery_clear(&r);
	return rc;
}

static int
engine_receive_rx(struct engine *e, const char *tls_partner,
    const char *bytes, size_t len, struct engine_answer *ans,
    const struct engine_redelivered *rdv)
{
	const struct agreement *a;
	struct envelope_limits lim;
	struct envelope_error err;
	struct envelope_header h, sh;
	struct xmlsig_result vr;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	accord_time_t now = clock_now(), window;
	char sha256[RECORD_SHA256_HEX];
	int rc = -1, found;
	struct engine_answer sig;

	memset(ans, 0, sizeof(*ans));
	memset(&h, 0, sizeof(h));
	a = config_partner(e->conf, tls_partner);
	if (a == NULL) {
		/* the TLS layer only admits configured partners */
		engine_answer_set(ans, 403, AE_UNKNOWN_PARTNER, "no agreement "
		    "with %s", tls_partner);
		return 0;
	}
	record_sha256_hex(bytes, len, sha256);

	/* 1. size, parse, schema: before authentication */
	lim.max_size = e->conf->max_message_size;
	lim.max_depth = e->conf->max_xml_depth;
	if (envelope_parse(bytes, len, &lim, &doc, &err) == -1)
		return engine_refuse_early(e, a, NULL, err.code, err.text, ans);
	if (envelope_read(doc, &h, &body) == -1) {
		rc = engine_refuse_early(e, a, NULL, AE_SCHEMA_INVALID,
		    "unreadable header", ans);
		goto done;
	}
	snprintf(ans->message_id, sizeof(ans->message_id), "%s",
	    h.message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", h.case_id);
	if (rdv != NULL && envelope_redelivery_check(rdv->r, rdv->outer, &h,
	    &err) == -1) {
		rc = engine_refuse_early(e, a, rdv->outer, err.code, err.text,
		    ans);
		goto done;
	}
	/* a protocol version the agreement does not list is refused as a
	 * gateway without that version's schemas would refuse it */
	if (!agreement_accepts_version(a, h.version)) {
		char why[128];

		snprintf(why, sizeof(why), "protocol version %d is not "
		    "accepted under agreement %s", h.version, a->agreement_id);
		rc = engine_refuse_early(e, a, &h, AE_SCHEMA_INVALID, why,
		    ans);
		goto done;
	}

	/* 2. signature, with the TLS partner's pinned certificates */
	if (xmlsig_verify(doc, a, now, &vr) == -1) {
		rc = engine_refuse_early(e, a, &h, vr.code, vr.text, ans);
		goto done;
	}

	/* 3. belonging (authenticated from here on, but still refused
	 * without a trace in the journal: it was not for us to decide) */
	if (strcmp(h.from_country, a->country) != 0) {
		rc = engine_refuse_early(e, a, &h, AE_PARTNER_MISMATCH,
		    "From is not the partner of this TLS connection", ans);
		goto done;
	}
	if (strcmp(h.to_country, e->conf->country) != 0 ||
	    strcmp(h.to_authority, e->conf->authority) != 0) {
		rc = engine_refuse_early(e, a, &h, AE_WRONG_RECIPIENT,
		    "To is not this gateway", ans);
		goto done;
	}
	if (strcmp(h.agreement_id, a->agreement_id) != 0) {
		rc = engine_refuse_early(e, a, &h, AE_AGREEMENT_MISMATCH,
		    "AgreementId is not the one with this partner", ans);
		goto done;
	}
	if (h.type == MSG_RECEIPT && h.version >= 2) {
		/* v2: a partner's stored Receipt for one of our messages,
		 * posted after we answered NOT_YET (not stale: it may be as
		 * old as the message it answers; a replay changes nothing) */
		if (h.created > now + e->conf->clock_skew) {
			engine_answer_set(ans, 409, AE_STALE_OR_FUTURE,
			    "Receipt created in the future");
			rc = 0;
			goto done;
		}
		if (e->alive != NULL)
			e->alive(e->alive_arg, a->country);
		rc = engine_standalone_receipt(e, a, doc, body, bytes, len,
		    ans);
		goto done;
	}
	if (h.type == MSG_REDELIVERY && rdv == NULL) {
		window = (accord_time_t)a->retry.window_seconds +
		    e->conf->clock_skew;
		if (h.created > now + e->conf->clock_skew ||
		    h.created < now - window) {
			rc = engine_refuse_early(e, a, &h, AE_STALE_OR_FUTURE,
			    "the Redelivery's Created is outside the accepted "
			    "window", ans);
			goto done;
		}
		rc = engine_redelivery(e, a, &h, body, ans);
		goto done;
	}
	if (h.type == MSG_RECEIPT || h.type == MSG_ERROR ||
	    h.type == MSG_REDELIVERY || !agreement_allows(a, h.type)) {
		rc = engine_refuse_early(e, a, &h, AE_TYPE_NOT_AGREED,
		    "the agreement does not carry this message type here",
		    ans);
		goto done;
	}
	window = (accord_time_t)a->retry.window_seconds + e->conf->clock_skew;
	/* a redelivered original may be old: its Redelivery was fresh */
	if (h.created > now + e->conf->clock_skew ||
	    (rdv == NULL && h.created < now - window)) {
		rc = engine_refuse_early(e, a, &h, AE_STALE_OR_FUTURE,
		    "Created is outside the accepted window", ans);
		goto done;
	}

	/* an authenticated message: the partner is up, whatever we decide */
	if (e->alive != NULL)
		e->alive(e->alive_arg, a->country);

	/* 4. duplicates, unapplied records included */
	switch (engine_duplicate(e, a->country, h.message_id, sha256, ans)) {
	case ENGINE_DUP_NEW:
		break;
	case ENGINE_DUP_SAME:
		engine_answer_set(ans, 200, AE_OK, "duplicate: the original "
		    "answer again");
		rc = 0;
		goto done;
	case ENGINE_DUP_CONFLICT:
		rc = engine_refuse_early(e, a, &h, AE_DUPLICATE_CONFLICT,
		    "this MessageId was received with other bytes", ans);
		goto done;
	case ENGINE_DUP_ERROR:
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		goto done;
	case ENGINE_DUP_COMMITTING:
		engine_answer_set(ans, 503, AE_TEMPORARY, "the first copy of "
		    "this message is being committed; retry");
		goto done;
	}
	if (engine_lagging(e, ans))
		goto done;

	/* 5. the fsm */
	found = engine_case_for(e, a->country, h.case_id, h.type, 1, &c);
	if (found == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		goto done;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = FSM_EV_RECEIVED;
	ev.at = now;
	engine_event_facts(&h, body, &ev);
	if (found == 0 && !engine_opens(h.type)) {
		memset(&d, 0, sizeof(d));
		d.version = FSM_VERSION;
		d.refusal = AE_UNKNOWN_CASE;
		snprintf(d.text, sizeof(d.text), "no case %s with %s",
		    h.case_id, a->country);
	} else
		fsm_decide(&c, &ev, a, engine_requested_cal(e, a, c.role),
		    now, &d);
	if (d.refusal == AE_NOT_ALLOWED_IN_STATE && found == 1 &&
	    engine_awaiting_receipt(e, a->country, h.case_id)) {
		/* retryable, so not journalled: nothing was decided */
		/* v1 has no NOT_YET: TEMPORARY is retryable there too,
		 * and our own retries bring the missing receipt */
		rc = engine_refuse_early(e, a, &h, h.version >= 2 ?
		    AE_NOT_YET : AE_TEMPORARY, "a message of ours in this "
		    "case has no receipt yet; retry (and post its receipt)",
		    ans);
		goto done;
	}

	/* 6. journal: the message, the decision, the answer we give */
	if (engine_journal_message(e, JOURNAL_MESSAGE_RECEIVED, a->country, &h,
	    RECORD_DIR_IN, now, bytes, len, NULL) == -1 ||
	    engine_journal_decision(e, a->country, h.case_id, h.message_id,
	    &c, &ev, now, &d) == -1)
		goto fault;
	memset(&sig, 0, sizeof(sig));
	if (d.refusal == AE_OK) {
		if (engine_make_receipt(e, a, &h, sha256, now, &d, &sig,
		    &sh) == -1)
			goto fault;
		engine_answer_set(ans, 200, AE_OK, "%s", d.event);
	} else {
		if (engine_make_error(e, a, &h, d.refusal, d.text, &sig,
		    &sh) == -1)
			goto fault;
		engine_answer_set(ans, errcode_http_status(d.refusal),
		    d.refusal, "%s", d.text);
	}
	ans->body = sig.body;
	ans->len = sig.len;
	/* journal the signal as the receipt given */
	if (engine_journal_message(e, JOURNAL_RECEIPT_GIVEN, a->country, &sh,
	    RECORD_DIR_OUT, now, ans->body, ans->len, NULL) == -1)
		goto fault;
	engine_overlay_msg(e, a->country, h.message_id, RECORD_DIR_IN, sha256,
	    ans->body, ans->len);
	log_info(ETAG, "%s %s from %s case %s: %s", h.message_id,
	    agreement_msg_type_name(h.type), a->country, h.case_id,
	    d.refusal == AE_OK ? d.event : errcode_name(d.refusal));
	rc = 0;
	goto done;
fault:
	engine_answer_clear(ans);
	engine_answer_set(ans, 503, AE_TEMPORARY, "journal or signing "
	    "failed on our side");
	rc = -1;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	return rc;
}

/* ---- what we sent ------------------------------------------------------ */

static void
engine_remember_sent(struct engine *e, const char *partner,
    const char *message_id, const struct fsm_event *ev)
{
	struct engine_sent *s;

	if (e->sent == NULL)
		e->sent = xcalloc(ENGINE_SENT_MAX, sizeof(*e->sent));
	s = &e->sent[e->nsent++ % ENGINE_SENT_MAX];
	snprintf(s->partner, sizeof(s->partner), "%s", partner);
	snprintf(s->message_id, sizeof(s->message_id), "%s", message_id);
	s->ev = *ev;
}

/* The journal record with this sequence number, copied (free()). */
static int
engine_journal_fetch(struct engine *e, uint64_t seq, char **out,
    size_t *len)
{
	struct journal_reader *r;
	struct journal_rec rec;
	int got, rc = -1;

	if ((r = journal_reader_open(e->journal_dir)) == NULL)
		return -1;
	while ((got = journal_reader_next(r, &rec)) == 1) {
		if (rec.seq != seq)
			continue;
		*out = xmalloc(rec.len + 1);
		memcpy(*out, rec.payload, rec.len);
		*len = rec.len;
		rc = 0;
		break;
	}
	journal_reader_close(r);
	return rc;
}

int
engine_message_bytes(struct engine *e, uint64_t seq, char **out,
    size_t *len)
{
	struct record_message rm;
	char *payload = NULL;
	size_t plen;
	int rc = -1;

	*out = NULL;
	if (engine_journal_fetch(e, seq, &payload, &plen) == -1 ||
	    record_message_decode(payload, plen, &rm) == -1)
		goto done;
	*out = xmalloc(rm.body_len + 1);
	memcpy(*out, rm.body, rm.body_len);
	(*out)[rm.body_len] = '\0';
	*len = rm.body_len;
	rc = 0;
done:
	if (rc == -1)
		log_warnx(ETAG, "journal record %llu holds no message",
		    (unsigned long long)seq);
	free(payload);
	return rc;
}

/*
 * The business facts of a message we sent (a receipted message runs the
 * same transition as on the receiving side, which needs them): from
 * memory, or after a restart from our own journalled bytes.
 */
static int
engine_event_from_sent(struct engine *e, const struct store_message *m,
    struct fsm_event *ev)
{
	struct envelope_header h;
	struct envelope_error err;
	struct fsm_event facts;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	char *bytes = NULL;
	size_t i, n, len;
	int rc = -1;

	n = e->nsent < ENGINE_SENT_MAX ? e->nsent : ENGINE_SENT_MAX;
	for (i = 0; i < n; i++)
		if (strcmp(e->sent[i].partner, m->partner) == 0 &&
		    strcmp(e->sent[i].message_id, m->message_id) == 0) {
			facts = e->sent[i].ev;
			goto found;
		}
	if (engine_message_bytes(e, m->journal_seq, &bytes, &len) == -1 ||
	    envelope_parse(bytes, len, NULL, &doc, &err) == -1 ||
	    envelope_read(doc, &h, &body) == -1)
		goto done;
	memset(&facts, 0, sizeof(facts));
	engine_event_facts(&h, body, &facts);
found:
	/* keep the kind, times and adopted deadlines already set */
	facts.kind = ev->kind;
	facts.at = ev->at;
	memcpy(facts.given_due, ev->given_due, sizeof(facts.given_due));
	*ev = facts;
	rc = 0;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(bytes);
	return rc;
}

int
engine_redelivery_build(struct engine *e, const char *partner,
    const char *message_id, struct engine_outgoing *out)
{
	const struct agreement *a;
	struct store_message m;
	struct envelope_header oh, h;
	struct envelope_error err;
	xmlDocPtr odoc = NULL, bdoc = NULL;
	xmlNodePtr obody;
	char *bytes = NULL;
	size_t len;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((a = config_partner(e->conf, partner)) == NULL ||
	    agreement_wire_version(a) < 2) {
		log_warnx(ETAG, "%s: no Redelivery to %s (protocol v2 not "
		    "agreed)", message_id, partner);
		return -1;
	}
	if (store_message_find(e->store, partner, message_id, RECORD_DIR_OUT,
	    &m) != 1 || engine_message_bytes(e, m.journal_seq, &bytes,
	    &len) == -1)
		goto done;
	/* our own bytes, as journalled: read for their header only */
	if (envelope_parse(bytes, len, NULL, &odoc, &err) == -1 ||
	    envelope_read(odoc, &oh, &obody) == -1 ||
	    envelope_redelivery_body(&oh, bytes, len, &bdoc) == -1)
		goto done;
	memset(&h, 0, sizeof(h));
	snprintf(h.case_id, sizeof(h.case_id), "%s", oh.case_id);
	h.type = MSG_REDELIVERY;
	h.version = 2;
	h.created = clock_now();
	if (engine_seal(e, a, &h, xmlDocGetRootElement(bdoc), &out->body,
	    &out->len) == -1)
		goto done;
	snprintf(out->partner, sizeof(out->partner), "%s", partner);
	snprintf(out->message_id, sizeof(out->message_id), "%s", message_id);
	snprintf(out->case_id, sizeof(out->case_id), "%s", oh.case_id);
	rc = 0;
done:
	if (odoc != NULL)
		xmlFreeDoc(odoc);
	if (bdoc != NULL)
		xmlFreeDoc(bdoc);
	free(bytes);
	return rc;
}

/* ---- submit --------------------------------------------------------- */

/* What a request-id stands for: every input of the submit. */
static void
engine_request_sha(const struct engine_submission *sub, const char *doc,
    size_t len, char out[RECORD_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	const char *parts[3];
	char urgent = sub->accelerated ? '1' : '0';

	parts[0] = sub->partner;
	parts[1] = sub->case_id != NULL ? sub->case_id : "";
	parts[2] = sub->ref_to != NULL ? sub->ref_to : "";
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		xalloc_failed("EVP_MD_CTX_new");
	for (i = 0; i < 3; i++)
		EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
	EVP_DigestUpdate(ctx, &urgent, 1);
	EVP_DigestUpdate(ctx, doc, len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, mdlen, out);
}

/*
 * Was this request-id used by uid before (unapplied records first)?
 * *in_flight says whether that submit's records are still being
 * committed (its answer may not be given again yet).
 * @return 1 with *r filled, 0 if not, -1 on error.
 */
static int
engine_request_find(struct engine *e, uid_t uid, const char *request_id,
    struct store_request *r, int *in_flight)
{
	size_t i;

	*in_flight = 0;
	for (i = e->npreqs; i-- > 0; )
		if (e->preqs[i].uid == uid &&
		    strcmp(e->preqs[i].request_id, request_id) == 0) {
			*r = e->preqs[i].r;
			*in_flight = engine_seq_in_flight(e, e->preqs[i].seq);
			return 1;
		}
	return store_request_get(e->store, uid, request_id, r);
}

static void
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

/* "KZ-FR-2026-1a2b3c4d": unique without coordination. */
static void
engine_new_case_id(struct engine *e, const char *partner, char *buf,
    size_t len)
{
	char uuid[ENVELOPE_UUID_LEN + 1];
	int y, m, d;

	calendar_ymd_from_day(calendar_local_day(&e->conf->calendar,
	    clock_now()), &y, &m, &d);
	envelope_uuid(uuid, sizeof(uuid));
	snprintf(buf, len, "%s-%s-%04d-%.8s", e->conf->country, partner, y,
	    uuid);
}

/* The journal seq of a case's first business message. */
static int
engine_first_message(void *arg, const struct store_message *m)
{
	uint64_t *seq = arg;

	if (*seq == 0 && m->type != MSG_RECEIPT && m->type != MSG_ERROR &&
	    m->type != MSG_REDELIVERY)
		*seq = m->journal_seq;
	return 0;
}

/*
 * The protocol version of the message that opened a case (by either
 * side), which every later message of the case keeps (protocols/README.md,
 * "Negotiation"); 0 when the agreement leaves no choice, the case is not
 * in the store yet, or the agreement no longer accepts that version: the
 * agreement's wire version applies then.
 */
static int
engine_case_version(struct engine *e, const struct agreement *a,
    const char *case_id)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlDocPtr doc = NULL;
	uint64_t seq = 0;
	char *bytes = NULL;
	size_t len;
	int v = 0;

	if (agreement_min_version(a) == agreement_wire_version(a))
		return 0;
	if (store_case_messages(e->store, a->country, case_id,
	    engine_first_message, &seq) == -1 || seq == 0 ||
	    engine_message_bytes(e, seq, &bytes, &len) == -1 ||
	    envelope_parse(bytes, len, NULL, &doc, &err) == -1 ||
	    envelope_read(doc, &h, NULL) == -1)
		goto done;
	if (agreement_accepts_version(a, h.version))
		v = h.version;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(bytes);
	return v;
}

int
engine_submit(struct engine *e, const struct engine_submission *sub,
    const char *docbytes, size_t len, struct engine_outgoing *out,
    struct engine_answer *ans)
{
	const struct agreement *a;
	struct envelope_header h;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	xmlDocPtr bdoc = NULL;
	xmlNodePtr root;
	accord_time_t now = clock_now();
	char case_id[RECORD_ID_MAX], rsha[RECORD_SHA256_HEX];
	struct store_request req;
	int type, found, flying, rc = -1;
	json_t *cmd;

	memset(ans, 0, sizeof(*ans));
	memset(out, 0, sizeof(*out));
	if (engine_lagging(e, ans))
		return -1;
	a = config_partner(e->conf, sub->partner);
	if (a == NULL) {
		engine_answer_set(ans, 400, AE_UNKNOWN_PARTNER, "no agreement "
		    "with '%s'", sub->partner);
		return -1;
	}
	if (sub->request_id != NULL) {
		engine_request_sha(sub, docbytes, len, rsha);
		found = engine_request_find(e, sub->uid, sub->request_id,
		    &req, &flying);
		if (found == -1) {
			engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup "
			    "failed");
			return -1;
		}
		if (found == 1 && strcmp(req.sha256, rsha) != 0) {
			engine_answer_set(ans, 409, AE_CONFLICT, "request-id "
			    "%s was used for another request (message %s)",
			    sub->request_id, req.message_id);
			return -1;
		}
		if (found == 1 && flying) {
			engine_answer_set(ans, 503, AE_TEMPORARY, "the first "
			    "submit with request-id %s is being committed; "
			    "retry", sub->request_id);
			return -1;
		}
		if (found == 1) {
			/* the back office lost our answer: give it again */
			engine_answer_set(ans, 200, AE_OK, "already queued "
			    "with request-id %s", sub->request_id);
			snprintf(ans->message_id, sizeof(ans->message_id),
			    "%s", req.message_id);
			snprintf(ans->case_id, sizeof(ans->case_id), "%s",
			    req.case_id);
			snprintf(out->partner, sizeof(out->partner), "%s",
			    req.partner);
			snprintf(out->message_id, sizeof(out->message_id),
			    "%s", req.message_id);
			snprintf(out->case_id, sizeof(out->case_id), "%s",
			    req.case_id);
			return 0;
		}
	}
	if (len > e->conf->max_message_size) {
		engine_answer_set(ans, 413, AE_TOO_LARGE, "document over %zu "
		    "bytes", e->conf->max_message_size);
		return -1;
	}
	/* the back office's document: no network, no DTD, no entities */
	bdoc = xmlReadMemory(docbytes, (int)len, "submitted.xml", "UTF-8",
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (bdoc == NULL || bdoc->intSubset != NULL ||
	    (root = xmlDocGetRootElement(bdoc)) == NULL) {
		engine_answer_set(ans, 400, AE_MALFORMED, "the document is not "
		    "well-formed XML (or carries a DOCTYPE)");
		goto done;
	}
	type = agreement_msg_type_from_name((const char *)root->name);
	/* either version's namespace: the envelope moves it to the version
	 * the message goes out in */
	if (type < 0 || type == MSG_RECEIPT || type == MSG_ERROR ||
	    type == MSG_REDELIVERY || root->ns == NULL ||
	    (xmlStrcmp(root->ns->href, BAD_CAST ENVELOPE_MSG_NS) != 0 &&
	    xmlStrcmp(root->ns->href, BAD_CAST ENVELOPE_MSG_NS_2) != 0)) {
		engine_answer_set(ans, 400, AE_SCHEMA_INVALID, "the root must "
		    "be a business document in namespace %s or %s",
		    ENVELOPE_MSG_NS, ENVELOPE_MSG_NS_2);
		goto done;
	}
	if (!agreement_allows(a, type)) {
		engine_answer_set(ans, 400, AE_TYPE_NOT_AGREED, "the agreement "
		    "with %s does not carry %s", a->country,
		    agreement_msg_type_name(type));
		goto done;
	}
	if (sub->case_id != NULL && sub->case_id[0] != '\0')
		snprintf(case_id, sizeof(case_id), "%s", sub->case_id);
	else if (engine_opens(type))
		engine_new_case_id(e, a->country, case_id, sizeof(case_id));
	else {
		engine_answer_set(ans, 400, AE_UNKNOWN_CASE, "%s needs a case",
		    agreement_msg_type_name(type));
		goto done;
	}

	memset(&h, 0, sizeof(h));
	snprintf(h.case_id, sizeof(h.case_id), "%s", case_id);
	if (sub->ref_to != NULL)
		snprintf(h.ref_to, sizeof(h.ref_to), "%s", sub->ref_to);
	h.type = type;
	h.created = now;
	if (type == MSG_READMISSION_REQUEST)
		h.procedure = sub->accelerated ? ENVELOPE_PROC_ACCELERATED :
		    ENVELOPE_PROC_STANDARD;

	found = engine_case_for(e, a->country, case_id, type, 0, &c);
	if (found == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		goto done;
	}
	if (found == 0 && !engine_opens(type)) {
		engine_answer_set(ans, 400, AE_UNKNOWN_CASE, "no case %s with "
		    "%s", case_id, a->country);
		goto done;
	}
	if (found == 1 && engine_opens(type) &&
	    type != MSG_VOLUNTARY_DEPARTURE_NOTICE) {
		engine_answer_set(ans, 400, AE_CASE_EXISTS, "case %s exists",
		    case_id);
		goto done;
	}
	if (found == 1)		/* a case keeps the version it opened in */
		h.version = engine_case_version(e, a, case_id);
	memset(&ev, 0, sizeof(ev));
	ev.kind = FSM_EV_SENDING;
	ev.at = now;
	engine_event_facts(&h, root, &ev);
	if (fsm_decide(&c, &ev, a, engine_requested_cal(e, a, c.role), now,
	    &d) == -1) {
		engine_answer_set(ans, 422, d.refusal, "%s", d.text);
		goto done;
	}

	{
		struct envelope_error verr;
		int sealed;

		sealed = engine_seal_checked(e, a, &h, root, &out->body,
		    &out->len, &verr);
		if (sealed == -2) {
			engine_answer_set(ans, 400, AE_SCHEMA_INVALID, "%s",
			    verr.text);
			goto done;
		}
		if (sealed == -1) {
			engine_answer_set(ans, 503, AE_INTERNAL, "building or "
			    "signing the message failed");
			goto done;
		}
	}
	snprintf(out->partner, sizeof(out->partner), "%s", a->country);
	snprintf(out->message_id, sizeof(out->message_id), "%s",
	    h.message_id);
	snprintf(out->case_id, sizeof(out->case_id), "%s", case_id);

	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "command", "submit",
	    "uid", (int)sub->uid, "partner", a->country, "case", case_id,
	    "message", h.message_id, "type", agreement_msg_type_name(type));
	if (cmd != NULL && sub->request_id != NULL) {
		json_object_set_new(cmd, "request_id",
		    json_string(sub->request_id));
		json_object_set_new(cmd, "request_sha256", json_string(rsha));
	}
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    engine_journal_message(e, JOURNAL_MESSAGE_SENT, a->country, &h,
	    RECORD_DIR_OUT, 0, out->body, out->len, NULL) == -1 ||
	    engine_journal_decision(e, a->country, case_id, h.message_id, &c,
	    &ev, now, &d) == -1 || (!sub->defer_commit &&
	    engine_flush(e) == -1)) {
		engine_outgoing_clear(out);
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: nothing was queued");
		goto done;
	}
	if (sub->request_id != NULL) {
		memset(&req, 0, sizeof(req));
		snprintf(req.sha256, sizeof(req.sha256), "%s", rsha);
		snprintf(req.partner, sizeof(req.partner), "%s", a->country);
		snprintf(req.message_id, sizeof(req.message_id), "%s",
		    h.message_id);
		snprintf(req.case_id, sizeof(req.case_id), "%s", case_id);
		req.created = now;
		engine_overlay_request(e, sub->uid, sub->request_id, &req);
	}
	engine_remember_sent(e, a->country, h.message_id, &ev);
	engine_answer_set(ans, 200, AE_OK, "queued");
	snprintf(ans->message_id, sizeof(ans->message_id), "%s",
	    h.message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", case_id);
	log_info(ETAG, "%s %s to %s case %s queued (uid %u)", h.message_id,
	    agreement_msg_type_name(type), a->country, case_id,
	    (unsigned)sub->uid);
	rc = 0;
done:
	if (bdoc != NULL)
		xmlFreeDoc(bdoc);
	return rc;
}

/* ---- the partner's answer to our message ------------------------------ */

/*
 * The partner's answer to our message: in the response to our POST, or
 * posted by itself (a standalone Receipt, v2; verified is then the
 * document inbound already parsed and verified, never parsed again).
 */
static int
engine_receipt_take(struct engine *e, const char *partner,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *ans, int commit, xmlDocPtr verified)
{
	const struct agreement *a;
	struct store_message m;
	struct envelope_header h;
	struct envelope_error err;
	struct xmlsig_result vr;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	xmlDocPtr doc = NULL;
	xmlNodePtr body, n;
	accord_time_t now = clock_now(), at = 0, due;
	char buf[128], why[200];
	int found, dl, rc = -1;
	size_t i;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;	/* not taken: the message goes again */
	a = config_partner(e->conf, partner);
	found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_OUT, &m);
	if (a == NULL || found != 1) {
		engine_answer_set(ans, 0, AE_UNKNOWN_CASE, "no message %s of "
		    "ours to %s", message_id, partner);
		return found == -1 ? -1 : 0;
	}
	/* answered already (in this batch, or before): nothing happens
	 * twice (a standalone receipt and the response to a retry) */
	for (i = 0; i < e->npmsgs; i++)
		if (e->pmsgs[i].dir == RECORD_DIR_OUT &&
		    strcmp(e->pmsgs[i].partner, partner) == 0 &&
		    strcmp(e->pmsgs[i].message_id, message_id) == 0)
			m.state = RECORD_MS_RECEIPTED;
	if (!engine_msg_pending(m.state)) {
		engine_answer_set(ans, 0, AE_OK, "%s was answered already "
		    "(%s): nothing to take", message_id,
		    record_msg_state_name(m.state));
		return 0;
	}
	why[0] = '\0';
	if (verified != NULL) {
		if (envelope_read(verified, &h, &body) == -1)
			snprintf(why, sizeof(why), "answer has no readable "
			    "header");
	} else if (envelope_parse(bytes, len, NULL, &doc, &err) == -1)
		snprintf(why, sizeof(why), "answer refused: %s: %.150s",
		    errcode_name(err.code), err.text);
	else if (envelope_read(doc, &h, &body) == -1)
		snprintf(why, sizeof(why), "answer has no readable header");
	else if (xmlsig_verify(doc, a, now, &vr) == -1)
		snprintf(why, sizeof(why), "answer signature: %s: %.150s",
		    errcode_name(vr.code), vr.text);
	if (why[0] != '\0')
		;	/* not authentic: disputed below */
	else if (strcmp(h.from_country, partner) != 0 ||
	    (h.type != MSG_RECEIPT && h.type != MSG_ERROR))
		snprintf(why, sizeof(why), "answer is not a Receipt or Error "
		    "from %s", partner);
	else if (h.type == MSG_ERROR && strcmp(h.ref_to, message_id) != 0)
		snprintf(why, sizeof(why), "Error answers another message");
	else if (h.type == MSG_RECEIPT &&
	    (envelope_child_text(body, "ReceivedMessageId", buf,
	    sizeof(buf)) == -1 || strcmp(buf, message_id) != 0))
		snprintf(why, sizeof(why), "receipt names another message");
	else if (h.type == MSG_RECEIPT &&
	    (envelope_child_text(body, "Sha256", buf, sizeof(buf)) == -1 ||
	    strcmp(buf, m.sha256) != 0))
		snprintf(why, sizeof(why), "receipt digest %.64s is not the "
		    "digest of the bytes we sent", buf);
	else if (h.type == MSG_RECEIPT && (envelope_child_text(body,
	    "ReceivedAt", buf, sizeof(buf)) == -1 ||
	    clock_parse_utc(buf, &at) == -1))
		snprintf(why, sizeof(why), "receipt has no ReceivedAt");
	else if (h.type == MSG_RECEIPT && at < m.created -
	    e->conf->clock_skew)
		snprintf(why, sizeof(why), "receipt's ReceivedAt is before "
		    "the message was created");

	if (why[0] == '\0' && h.type == MSG_ERROR &&
	    envelope_child_text(body, "Code", buf, sizeof(buf)) == 0 &&
	    errcode_from_name(buf) >= 0 &&
	    errcode_retryable((enum accord_err)errcode_from_name(buf))) {
		/* a signed, retryable Error (NOT_YET): no effect, no record;
		 * the transport tries again */
		engine_answer_set(ans, 0, (enum accord_err)errcode_from_name(
		    buf), "%s answered %s: retry", partner, buf);
		snprintf(ans->case_id, sizeof(ans->case_id), "%s", m.case_id);
		rc = 0;
		goto done;
	}
	if (why[0] != '\0') {
		/* DESIGN.md 5: not retried forever, an operator looks */
		log_warnx(ETAG, "%s to %s DISPUTED: %s", message_id, partner,
		    why);
		if (engine_journal_msgstate(e, partner, message_id,
		    RECORD_DIR_OUT, RECORD_MS_DISPUTED, why) == -1 ||
		    (commit && engine_flush(e) == -1))
			goto done;
		engine_answer_set(ans, 0, AE_SIGNATURE_INVALID, "%s", why);
		rc = 0;
		goto done;
	}

	memset(&c, 0, sizeof(c));
	if (engine_case_get(e, partner, m.case_id, &c) != 1) {
		engine_answer_set(ans, 0, AE_UNKNOWN_CASE, "case %s is gone",
		    m.case_id);
		goto done;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = m.type;
	ev.created = m.created;
	if (h.type == MSG_ERROR) {
		ev.kind = FSM_EV_FAILED;
		ev.at = now;
	} else {
		ev.kind = FSM_EV_RECEIPTED;
		ev.at = at;
		/* the requested side computed the deadlines: adopt them */
		for (n = body->children; n != NULL; n = n->next) {
			if (n->type != XML_ELEMENT_NODE ||
			    xmlStrcmp(n->name, BAD_CAST "Deadline") != 0)
				continue;
			if (envelope_child_text(n, "Kind", buf,
			    sizeof(buf)) == -1 ||
			    (dl = engine_deadline_from_kind(buf)) < 0)
				continue;
			if (envelope_child_text(n, "Due", buf,
			    sizeof(buf)) == 0 && clock_parse_utc(buf, &due) ==
			    0)
				ev.given_due[dl] = due;
		}
	}
	/* the message's own facts, from our journalled bytes' DOM is not at
	 * hand: re-derive them from the decision journalled when we sent */
	if (engine_event_from_sent(e, &m, &ev) == -1) {
		engine_answer_set(ans, 0, AE_INTERNAL, "cannot read back %s",
		    message_id);
		goto done;
	}
	fsm_decide(&c, &ev, a, engine_requested_cal(e, a, c.role), now, &d);
	if (engine_journal_message(e, JOURNAL_RECEIPT_GOT, partner, &h,
	    RECORD_DIR_IN, at, bytes, len, NULL) == -1 ||
	    engine_journal_decision(e, partner, m.case_id, message_id, &c,
	    &ev, now, &d) == -1)
		goto done;
	engine_overlay_msg(e, partner, message_id, RECORD_DIR_OUT, m.sha256,
	    NULL, 0);
	if (commit && engine_flush(e) == -1)
		goto done;
	if (h.type == MSG_ERROR)
		engine_answer_set(ans, 0, AE_OK, "rejected by %s", partner);
	else
		engine_answer_set(ans, 0, AE_OK, "%s", d.refusal == AE_OK ?
		    d.event : d.text);
	log_info(ETAG, "%s to %s: %s", message_id, partner, ans->text);
	rc = 0;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	return rc;
}

int
engine_receipt(struct engine *e, const char *partner, const char *message_id,
    const char *bytes, size_t len, struct engine_answer *ans)
{
	return engine_receipt_take(e, partner, message_id, bytes, len, ans, 1,
	    NULL);
}

int
engine_receipt_batched(struct engine *e, const char *partner,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *ans)
{
	return engine_receipt_take(e, partner, message_id, bytes, len, ans, 0,
	    NULL);
}

int
engine_undelivered(struct engine *e, const char *partner,
    const char *message_id, const char *reason)
{
	const struct agreement *a;
	struct store_message m;

	if (e->store_behind)
		return -1;
	a = config_partner(e->conf, partner);
	if (a == NULL || store_message_find(e->store, partner, message_id,
	    RECORD_DIR_OUT, &m) != 1)
		return -1;
	if (engine_journal_msgstate(e, partner, message_id, RECORD_DIR_OUT,
	    RECORD_MS_UNDELIVERED, reason) == -1)
		return -1;
	/*
	 * An opening message never delivered leaves its case SUBMITTED, not
	 * NOT_SENT: the partner may have it (every answer lost), and then a
	 * late Receipt or the operator's Redelivery settles both sides
	 * (model/README.md, rule 4; spin finds the two sides split for good
	 * otherwise).  Only a final Error closes the case NOT_SENT.
	 */
	log_warnx(ETAG, "%s to %s UNDELIVERED: %s", message_id, partner,
	    reason);
	return engine_flush(e);
}

int
engine_outbox_due(struct engine *e, accord_time_t now, store_outbox_cb cb,
    void *arg)
{
	return store_outbox_due(e->store, now, cb, arg);
}

int
engine_outbox_oldest(struct engine *e, const char *partner,
    store_outbox_cb cb, void *arg)
{
	return store_outbox_oldest(e->store, partner, cb, arg);
}

int
engine_message_created(struct engine *e, const char *partner,
    const char *message_id, accord_time_t *created)
{
	struct store_message m;
	int found;

	found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_OUT, &m);
	if (found == 1)
		*created = m.created;
	return found;
}

int
engine_partner_receipt(struct engine *e, const char *partner,
    const char *case_id, char *id, size_t idlen, char **body, size_t *len)
{
	struct store_message m;
	int found;

	*body = NULL;
	found = store_case_last_message(e->store, partner, case_id,
	    RECORD_DIR_IN, &m);
	if (found != 1)
		return found;
	if (m.state != RECORD_MS_RECEIPTED || m.receipt_seq == 0)
		return 0;	/* refused, or not answered yet */
	if (engine_message_bytes(e, m.receipt_seq, body, len) == -1)
		return -1;
	snprintf(id, idlen, "%s", m.message_id);
	return 1;
}

/* ---- deadlines ----------------------------------------------------------- */

/*
 * On the requested side, a reply created before its deadline and still
 * on its way holds silence-means-consent back: the partner will take it
 * as timely, so deeming the case accepted here would split the two sides
 * (DESIGN.md 3).  If the reply ended UNDELIVERED the hold stays: an
 * operator redelivers it.  @return 1 to hold the deadline.
 */
static int
engine_deadline_held(struct engine *e, const struct store_deadline *dl,
    const struct fsm_case *c)
{
	struct store_message m;
	enum msg_type reply;

	if (c->role != ROLE_REQUESTED)
		return 0;
	if (dl->which == FSM_DL_REPLY)
		reply = MSG_READMISSION_REPLY;
	else if (dl->which == FSM_DL_TRANSIT_REPLY)
		reply = MSG_TRANSIT_REPLY;
	else
		return 0;
	if (store_case_last_message(e->store, dl->partner, dl->case_id,
	    RECORD_DIR_OUT, &m) != 1 || m.type != reply ||
	    !engine_msg_pending(m.state) || m.created > dl->due)
		return 0;
	if (m.state == RECORD_MS_UNDELIVERED)
		log_errx(ETAG, "CRITICAL: %s/%s: our timely %s %s was never "
		    "delivered; the %s deadline is held (the case is not "
		    "deemed accepted here): redeliver it", dl->partner,
		    dl->case_id, agreement_msg_type_name(reply), m.message_id,
		    fsm_deadline_name(dl->which));
	else
		log_info(ETAG, "%s/%s: %s deadline held while our reply %s "
		    "is delivered", dl->partner, dl->case_id,
		    fsm_deadline_name(dl->which), m.message_id);
	return 1;
}

struct engine_due {
	struct store_deadline	*list;
	size_t			 n;
	size_t			 cap;
};

static int
engine_collect_due(void *arg, const struct store_deadline *dl)
{
	struct engine_due *due = arg;

	due->list = xgrowarray(due->list, due->n, &due->cap,
	    sizeof(*due->list));
	due->list[due->n++] = *dl;
	return 0;
}

int
engine_deadlines(struct engine *e, accord_time_t now)
{
	struct engine_due due = { NULL, 0, 0 };
	const struct agreement *a;
	struct record_deadline rdl;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	char *payload;
	size_t i, plen;
	int fired = 0;

	if (e->store_behind)
		return -1;	/* the deadline timer tries again */
	if (store_deadlines_due(e->store, now, engine_collect_due, &due) == -1)
		return -1;
	for (i = 0; i < due.n; i++) {
		const struct store_deadline *dl = &due.list[i];

		a = config_partner(e->conf, dl->partner);
		if (a == NULL || engine_case_get(e, dl->partner, dl->case_id,
		    &c) != 1) {
			log_warnx(ETAG, "deadline of %s/%s: no agreement or "
			    "case; left armed", dl->partner, dl->case_id);
			continue;
		}
		if (engine_deadline_held(e, dl, &c))
			continue;
		memset(&rdl, 0, sizeof(rdl));
		snprintf(rdl.partner, sizeof(rdl.partner), "%s", dl->partner);
		snprintf(rdl.case_id, sizeof(rdl.case_id), "%s", dl->case_id);
		rdl.which = dl->which;
		rdl.due = dl->due;
		memset(&ev, 0, sizeof(ev));
		ev.kind = FSM_EV_DEADLINE;
		ev.deadline = dl->which;
		ev.at = dl->due;	/* it fires at its own time */
		fsm_decide(&c, &ev, a, engine_requested_cal(e, a, c.role),
		    now, &d);
		if (record_deadline_encode(&rdl, &payload, &plen) == -1 ||
		    engine_append(e, JOURNAL_DEADLINE_FIRED, payload,
		    plen) == -1 ||
		    engine_journal_decision(e, dl->partner, dl->case_id, NULL,
		    &c, &ev, now, &d) == -1) {
			free(due.list);
			return -1;
		}
		log_info(ETAG, "deadline %s of %s/%s fired: %s",
		    fsm_deadline_name(dl->which), dl->partner, dl->case_id,
		    d.refusal == AE_OK ? d.event : d.text);
		fired++;
	}
	free(due.list);
	if (engine_flush(e) == -1)
		return -1;
	return fired;
}

accord_time_t
engine_next_deadline(struct engine *e)
{
	struct store_deadline dl;

	/* one due now and not fired is held back (or waits for the store):
	 * the deadline timer looks at it again within a minute */
	if (store_next_deadline_after(e->store, clock_now() - 1, &dl) != 1)
		return 0;
	return dl.due;
}

int
engine_record(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, enum fsm_record fact, int risk_found,
    const char *note, struct engine_answer *ans)
{
	const struct agreement *a;
	struct fsm_case c;
	struct fsm_event ev;
	struct fsm_decision d;
	accord_time_t now = clock_now();
	json_t *cmd;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	a = config_partner(e->conf, partner);
	if (a == NULL || engine_case_get(e, partner, case_id, &c) != 1) {
		engine_answer_set(ans, 404, AE_UNKNOWN_CASE, "no case %s with "
		    "%s", case_id, partner);
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = FSM_EV_RECORD;
	ev.record = fact;
	ev.risk_found = risk_found;
	ev.at = now;
	if (fsm_decide(&c, &ev, a, engine_requested_cal(e, a, c.role), now,
	    &d) == -1) {
		engine_answer_set(ans, 422, d.refusal, "%s", d.text);
		return -1;
	}
	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s, s:b, s:s}", "command",
	    "record", "uid", (int)uid, "partner", partner, "case", case_id,
	    "fact", fact == FSM_REC_PROTECTION_CLAIM ? "protection-claim" :
	    "assessment", "risk_found", risk_found, "note",
	    note != NULL ? note : "");
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    engine_journal_decision(e, partner, case_id, NULL, &c, &ev, now,
	    &d) == -1 || engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed");
		return -1;
	}
	engine_answer_set(ans, 200, AE_OK, "%s", d.event);
	return 0;
}

/* ---- life cycle ------------------------------------------------------ */

/* The certificates in force, for the journal (auditors verify old
 * messages with the certificates journalled when they arrived). */
static int
engine_journal_config(struct engine *e)
{
	const struct agreement *a;
	json_t *obj, *partners, *p, *certs;
	int i, j;

	partners = json_array();
	for (i = 0; i < e->conf->npartners; i++) {
		a = &e->conf->partners[i];
		certs = json_array();
		for (j = 0; j < a->nsigning; j++)
			json_array_append_new(certs,
			    json_string(a->signing[j].sha256));
		p = json_pack("{s:s, s:s, s:s, s:o}", "country", a->country,
		    "agreement", a->agreement_id, "file", a->file, "signing",
		    certs);
		json_array_append_new(partners, p);
	}
	obj = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}", "file", e->conf->file,
	    "country", e->conf->country, "authority", e->conf->authority,
	    "signing", e->conf->sign_sha256, "fsm_version", FSM_VERSION,
	    "partners", partners);
	return engine_journal_json(e, JOURNAL_CONFIG_LOAD, obj);
}

struct engine *
engine_open(const struct config *c)
{
	struct engine *e;
	struct journal_params jp;
	struct conf_diag d = { 0 };
	int i;

	e = xcalloc(1, sizeof(*e));
	e->conf = c;
	e->batch = 1;
	e->journal_dir = conf_path(c->state_dir, "journal");
	e->store_path = conf_path(c->state_dir, "store.db");
	e->journal_key = conf_load_key(c->sign_key, c->file, 0, &d);
	if (e->journal_key == NULL) {
		conf_diag_print(&d, stderr);
		goto fail;
	}
	journal_params_default(&jp, e->journal_dir);
	jp.sign_key = e->journal_key;
	if ((e->journal = journal_open(&jp)) == NULL)
		goto fail;
	if ((e->store = store_open(e->store_path)) == NULL) {
		log_warnx(ETAG, "store %s refused: rebuilding it from the "
		    "journal", e->store_path);
		if (store_remove(e->store_path) == -1 ||
		    (e->store = store_open(e->store_path)) == NULL)
			goto fail;
	}
	if (engine_catch_up(e) == -1)
		goto fail;
	/* from here on the store is used from the event loop: a lock held
	 * by another process is never waited for (PITFALLS 22) */
	store_set_busy_ms(e->store, 0);
	if ((e->signer = xmlsig_signer_load(c->sign_key, c->sign_cert)) ==
	    NULL)
		goto fail;
	for (i = 0; i < c->npartners; i++)
		xmlsig_partner_keys_load(&c->partners[i]);
	/* a fresh checkpoint, so the first Receipt carries one */
	journal_checkpoint_request(e->journal);
	if (engine_journal_config(e) == -1 || engine_flush(e) == -1)
		goto fail;
	conf_diag_free(&d);
	return e;
fail:
	conf_diag_free(&d);
	engine_close(e);
	return NULL;
}

int
engine_set_config(struct engine *e, const struct config *c)
{
	int i;

	e->conf = c;
	for (i = 0; i < c->npartners; i++)
		xmlsig_partner_keys_load(&c->partners[i]);
	if (engine_journal_config(e) == -1)
		return -1;
	return engine_flush(e);
}

void
engine_close(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->npending > 0 && e->journal != NULL)
		engine_flush(e);
	engine_pending_clear(e);
	free(e->pending);
	free(e->pcases);
	free(e->pmsgs);
	free(e->preqs);
	free(e->sent);
	xmlsig_signer_free(e->signer);
	store_close(e->store);
	if (e->journal != NULL)
		journal_close(e->journal);
	EVP_PKEY_free(e->journal_key);
	free(e->journal_dir);
	free(e->store_path);
	free(e);
}

struct journal *
engine_journal(struct engine *e)
{
	return e->journal;
}

struct store *
engine_store(struct engine *e)
{
	return e->store;
}

void
engine_answer_clear(struct engine_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
}

void
engine_outgoing_clear(struct engine_outgoing *o)
{
	free(o->body);
	o->body = NULL;
	o->len = 0;
}

/* ---- operator commands on messages and partners ---------------------- */

int
engine_inbox_ack(struct engine *e, uid_t uid, const char *partner,
    const char *message_id, struct engine_answer *ans)
{
	struct store_message m;
	struct record_ack ack;
	char *payload;
	size_t plen;
	json_t *cmd;
	int acked, inbox, found;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	if (engine_flush(e) == -1 ||
	    (inbox = store_inbox_get(e->store, partner, message_id,
	    &acked)) == -1 ||
	    (found = store_message_find(e->store, partner, message_id,
	    RECORD_DIR_IN, &m)) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		return -1;
	}
	if (found != 1 || inbox != 1) {
		engine_answer_set(ans, 404, AE_INVALID_FIELD, "no received "
		    "business message %s from %s", message_id, partner);
		return -1;
	}
	if (acked) {
		/* at least once: a second ack changes nothing */
		engine_answer_set(ans, 200, AE_OK, "%s was already "
		    "acknowledged", message_id);
		return 0;
	}
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.partner, sizeof(ack.partner), "%s", partner);
	snprintf(ack.message_id, sizeof(ack.message_id), "%s", message_id);
	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s}", "command", "ack", "uid",
	    (int)uid, "partner", partner, "case", m.case_id, "message",
	    message_id);
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    record_ack_encode(&ack, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_INBOX_ACK, payload, plen) == -1 ||
	    engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: not acknowledged");
		return -1;
	}
	snprintf(ans->message_id, sizeof(ans->message_id), "%s", message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", m.case_id);
	engine_answer_set(ans, 200, AE_OK, "%s acknowledged", message_id);
	log_info(ETAG, "%s from %s acknowledged by uid %u", message_id,
	    partner, (unsigned)uid);
	return 0;
}

int
engine_pause(struct engine *e, uid_t uid, const char *partner, int paused,
    struct engine_answer *ans)
{
	struct record_pause rp;
	char *payload;
	size_t plen;
	json_t *cmd;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	if (config_partner(e->conf, partner) == NULL) {
		engine_answer_set(ans, 400, AE_UNKNOWN_PARTNER, "no agreement "
		    "with '%s'", partner);
		return -1;
	}
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.partner, sizeof(rp.partner), "%s", partner);
	rp.paused = paused != 0;
	cmd = json_pack("{s:s, s:i, s:s}", "command", paused ? "pause" :
	    "resume", "uid", (int)uid, "partner", partner);
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    record_pause_encode(&rp, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_PARTNER_PAUSE, payload, plen) == -1 ||
	    engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: nothing changed");
		return -1;
	}
	engine_answer_set(ans, 200, AE_OK, "delivery to %s %s", partner,
	    paused ? "paused" : "resumed");
	log_info(ETAG, "delivery to %s %s by uid %u", partner, paused ?
	    "paused" : "resumed", (unsigned)uid);
	return 0;
}

int
engine_resend(struct engine *e, uid_t uid, const char *partner,
    const char *message_id, struct engine_answer *ans)
{
	struct record_msgstate ms;
	struct store_message m;
	struct fsm_case c;
	char *payload;
	size_t plen;
	json_t *cmd;
	int found;

	memset(ans, 0, sizeof(*ans));
	if (engine_lagging(e, ans))
		return -1;
	if (engine_flush(e) == -1 || (found = store_message_find(e->store,
	    partner, message_id, RECORD_DIR_OUT, &m)) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "store lookup failed");
		return -1;
	}
	if (found == 0) {
		engine_answer_set(ans, 404, AE_INVALID_FIELD, "no message %s "
		    "of ours to %s", message_id, partner);
		return -1;
	}
	if (m.state != RECORD_MS_UNDELIVERED && m.state != RECORD_MS_DISPUTED) {
		engine_answer_set(ans, 409, AE_NOT_ALLOWED_IN_STATE, "%s is %s: "
		    "only UNDELIVERED or DISPUTED messages are resent",
		    message_id, record_msg_state_name(m.state));
		return -1;
	}
	/* an opening message that never arrived closed its case NOT_SENT:
	 * sending it now would open a case this side no longer has */
	if (engine_case_get(e, partner, m.case_id, &c) == 1 &&
	    fsm_state_final(c.state)) {
		engine_answer_set(ans, 409, AE_NOT_ALLOWED_IN_STATE, "case %s "
		    "is %s: submit a new message instead", m.case_id,
		    fsm_state_name(c.state));
		return -1;
	}
	memset(&ms, 0, sizeof(ms));
	snprintf(ms.partner, sizeof(ms.partner), "%s", partner);
	snprintf(ms.message_id, sizeof(ms.message_id), "%s", message_id);
	ms.direction = RECORD_DIR_OUT;
	ms.state = RECORD_MS_QUEUED;
	snprintf(ms.reason, sizeof(ms.reason), "resent by uid %u (was %s)",
	    (unsigned)uid, record_msg_state_name(m.state));
	ms.next_attempt = clock_now();
	cmd = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "command", "resend",
	    "uid", (int)uid, "partner", partner, "case", m.case_id, "message",
	    message_id, "was", record_msg_state_name(m.state));
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    record_msgstate_encode(&ms, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_MESSAGE_STATE, payload, plen) == -1 ||
	    engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: nothing was queued");
		return -1;
	}
	snprintf(ans->message_id, sizeof(ans->message_id), "%s", message_id);
	snprintf(ans->case_id, sizeof(ans->case_id), "%s", m.case_id);
	engine_answer_set(ans, 200, AE_OK, "%s queued again for %s",
	    message_id, partner);
	log_info(ETAG, "%s to %s queued again by uid %u (was %s)", message_id,
	    partner, (unsigned)uid, record_msg_state_name(m.state));
	return 0;
}

int
engine_reveal_journal(struct engine *e, uid_t uid, const char *command,
    const char *partner, const char *case_id, const char *message_id)
{
	json_t *cmd;

	if (e->store_behind)
		return -1;	/* shows nothing until it can be journalled */

	cmd = json_pack("{s:s, s:s, s:b, s:i, s:s, s:s, s:s}", "command",
	    "reveal", "what", command, "reveal", 1, "uid", (int)uid,
	    "partner", partner != NULL ? partner : "", "case",
	    case_id != NULL ? case_id : "", "message",
	    message_id != NULL ? message_id : "");
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    engine_flush(e) == -1) {
		log_errx(ETAG, "reveal to uid %u could not be journalled: "
		    "refused", (unsigned)uid);
		return -1;
	}
	log_info(ETAG, "personal data of %s/%s shown to uid %u (%s)",
	    partner != NULL ? partner : "-", message_id != NULL &&
	    *message_id ? message_id : case_id != NULL ? case_id : "-",
	    (unsigned)uid, command);
	return 0;
}
