/*
 * engine_submit_async.c -- submits signed on the signing pool (issue 20,
 * item 2): the loop checks, decides and builds a submit, a pool thread
 * signs it, and the loop journals it when the signature is ready.
 *
 * Order: submits are journalled in the order they came, whatever order
 * their signatures finish in (a FIFO; the head waits for its signature).
 * Consistency: the decision was made on the case as it was when the
 * submit came; if anything changed that case before the journal (a
 * partner's message, an operator), or if the submit's case or request-id
 * is one an earlier submit still in the FIFO has, the submit is done
 * again from the start at its turn, on the loop, as engine_submit()
 * does.  Nothing leaves before its commit: the message is journalled
 * here and handed out by the caller after that, exactly as a synchronous
 * submit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/signer.h"
#include "msg/signpool.h"
#include "util/log.h"
#include "util/xmalloc.h"

enum engine_asub_state {
	ASUB_SIGNING,		/* on the pool */
	ASUB_SIGNED,		/* job.out, job.rc ready */
	ASUB_AGAIN		/* do it all at its turn */
};

struct engine_asub {
	struct engine_asub	*next;
	enum engine_asub_state	 state;
	struct signpool_job	 job;
	void			*tag;
	/* the submission, its strings owned */
	struct engine_submission sub;
	char			*partner, *case_id, *ref_to, *request_id;
	char			*doc;
	size_t			 len;
	struct engine_submit_state st;
};

int
engine_pool_start(struct engine *e)
{
	int n;

	e->asubs_tail = &e->asubs;
	if (e->remote != NULL) {
		/* one thread per lane the parent gave the signer (the same
		 * ACCORD_SIGN_THREADS; none: every signature on the loop) */
		if (signer_client_lanes(e->remote) == 0)
			return 0;
		if ((e->pool = signpool_start_remote(e->remote)) == NULL)
			return -1;
		log_info(ETAG, "signing on %d lanes of the signer process",
		    signpool_size(e->pool));
		return 0;
	}
	/* ACCORD_SIGN_THREADS: 0 signs on the loop as before; unset, one
	 * thread per processor */
	if ((n = signpool_threads()) == 0)
		return 0;
	if ((e->pool = signpool_start(e->conf->sign_key, e->conf->sign_cert,
	    n)) == NULL)
		return -1;
	log_info(ETAG, "signing on %d threads", signpool_size(e->pool));
	return 0;
}

static char *
engine_asub_strdup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
engine_asub_free(struct engine_asub *as)
{
	engine_submit_state_wipe(&as->st);
	free(as->job.out);
	free(as->partner);
	free(as->case_id);
	free(as->ref_to);
	free(as->request_id);
	free(as->doc);
	free(as);
}

/*
 * A signature made and then not used.  Under privilege separation the
 * signer logged it: the journal says it was given up, so that
 * accord-audit verify --signer-log finds the line accounted for, not a
 * signature that left unjournalled.  (In one process there is no log.)
 */
static void
engine_asub_void(struct engine *e, struct engine_asub *as, const char *why)
{
	if (e->remote == NULL || e->journal == NULL || as->job.rc != 0 ||
	    as->job.out == NULL)
		return;
	(void)engine_signature_void(e, as->sub.partner,
	    agreement_msg_type_name(as->st.type), as->st.h.message_id,
	    as->job.out, as->job.len, why);
}

void
engine_pool_stop(struct engine *e)
{
	struct engine_asub *as;

	if (e->pool == NULL)
		return;
	/* submits not journalled are lost with their answers: nobody was
	 * told they were queued */
	signpool_drain(e->pool);
	(void)signpool_done(e->pool);
	while ((as = e->asubs) != NULL) {
		e->asubs = as->next;
		engine_asub_void(e, as, "the daemon stopped before the journal");
		engine_asub_free(as);
	}
	e->nasubs = 0;
	e->asubs_tail = &e->asubs;
	signpool_stop(e->pool);
	e->pool = NULL;
}

int
engine_sign_fd(const struct engine *e)
{
	return e->pool != NULL ? signpool_fd(e->pool) : -1;
}

void
engine_submit_drain(struct engine *e)
{
	if (e->pool != NULL)
		signpool_drain(e->pool);
}

size_t
engine_submits_pending(const struct engine *e)
{
	return e->nasubs;
}

/* Does an earlier submit in the FIFO have this case or request-id? */
static int
engine_asub_conflict(struct engine *e, const struct engine_submission *sub,
    const char *case_id)
{
	struct engine_asub *as;

	for (as = e->asubs; as != NULL; as = as->next) {
		if (strcmp(as->sub.partner, sub->partner) == 0 &&
		    ((case_id != NULL && case_id[0] != '\0' &&
		    (strcmp(as->st.case_id, case_id) == 0 ||
		    (as->sub.case_id != NULL &&
		    strcmp(as->sub.case_id, case_id) == 0)))))
			return 1;
		if (sub->request_id != NULL && as->sub.request_id != NULL &&
		    as->sub.uid == sub->uid &&
		    strcmp(as->sub.request_id, sub->request_id) == 0)
			return 1;
	}
	return 0;
}

static struct engine_asub *
engine_asub_new(const struct engine_submission *sub, const char *doc,
    size_t len, void *tag)
{
	struct engine_asub *as;

	as = xcalloc(1, sizeof(*as));
	as->tag = tag;
	as->sub = *sub;
	as->sub.partner = as->partner = engine_asub_strdup(sub->partner);
	as->sub.case_id = as->case_id = engine_asub_strdup(sub->case_id);
	as->sub.ref_to = as->ref_to = engine_asub_strdup(sub->ref_to);
	as->sub.request_id = as->request_id =
	    engine_asub_strdup(sub->request_id);
	as->doc = xmalloc(len + 1);
	memcpy(as->doc, doc, len);
	as->doc[len] = '\0';
	as->len = len;
	return as;
}

static void
engine_asub_queue(struct engine *e, struct engine_asub *as)
{
	as->next = NULL;
	*e->asubs_tail = as;
	e->asubs_tail = &as->next;
	e->nasubs++;
}

int
engine_submit_async(struct engine *e, const struct engine_submission *sub,
    const char *doc, size_t len, void *tag, struct engine_outgoing *out,
    struct engine_answer *ans)
{
	struct engine_submit_state st;
	struct engine_asub *as;
	xmlDocPtr sdoc;
	int rc = -1;

	if (e->pool == NULL)
		return engine_submit(e, sub, doc, len, out, ans);
	if (engine_asub_conflict(e, sub, sub->case_id)) {
		/* decided now, it would miss what the earlier one does */
		memset(ans, 0, sizeof(*ans));
		memset(out, 0, sizeof(*out));
		as = engine_asub_new(sub, doc, len, tag);
		as->state = ASUB_AGAIN;
		engine_asub_queue(e, as);
		return 1;
	}
	/* the envelope is validated on the pool's thread, before it is
	 * signed: a refusal then comes at its turn (engine_asub_finish) */
	switch (engine_submit_prepare(e, sub, doc, len, 0, &st, &sdoc, out, ans,
	    &rc)) {
	case 1:
		return rc;
	case -1:
		return -1;
	}
	as = engine_asub_new(sub, doc, len, tag);
	as->st = st;
	engine_submit_state_wipe(&st);
	if (engine_asub_conflict(e, sub, st.case_id)) {
		/* a fresh case id an earlier submit drew too */
		xmlFreeDoc(sdoc);
		as->state = ASUB_AGAIN;
		engine_asub_queue(e, as);
		return 1;
	}
	as->state = ASUB_SIGNING;
	as->job.doc = sdoc;
	as->job.validate = 1;
	as->job.arg = as;
	engine_asub_queue(e, as);
	signpool_submit(e->pool, &as->job);
	return 1;
}

/* Is the case still as the submit's decision found it? */
static int
engine_asub_current(struct engine *e, const struct engine_asub *as)
{
	struct fsm_case c;

	if (engine_case_for(e, as->st.a->country, as->st.case_id,
	    as->st.type, 0, &c) == -1)
		return 0;
	return memcmp(&c, &as->st.c, sizeof(c)) == 0;
}

/* The head of the FIFO, its signature ready: journal it, or do it all
 * again. */
static int
engine_asub_finish(struct engine *e, struct engine_asub *as,
    struct engine_outgoing *out, struct engine_answer *ans)
{
	struct engine_submission sub = as->sub;
	int again = as->state == ASUB_AGAIN;

	memset(out, 0, sizeof(*out));
	memset(ans, 0, sizeof(*ans));
	/* the configuration may have been reloaded meanwhile (the
	 * agreement is the configuration's); the store may lag */
	if (!again && (as->st.a != config_partner(e->conf, sub.partner) ||
	    engine_lagging(e, ans)))
		again = 1;
	/* a fresh case is known to nobody else yet: no lookup */
	if (!again && sub.case_id != NULL && sub.case_id[0] != '\0' &&
	    !engine_asub_current(e, as))
		again = 1;
	if (!again && sub.request_id != NULL) {
		struct store_request r;
		size_t i;

		for (i = 0; i < e->npreqs; i++)
			if (e->preqs[i].uid == sub.uid &&
			    strcmp(e->preqs[i].request_id, sub.request_id) == 0)
				again = 1;
		if (!again && store_request_get(e->store, sub.uid,
		    sub.request_id, &r) != 0)
			again = 1;
	}
	if (again) {
		log_debug(ETAG, "submit to %s done again at its turn",
		    sub.partner);
		engine_asub_void(e, as, "decided again at its turn: its "
		    "case, agreement or store changed meanwhile");
		memset(ans, 0, sizeof(*ans));
		return engine_submit(e, &sub, as->doc, as->len, out, ans);
	}
	if (as->job.rc == -2) {
		/* the pool's thread found the envelope invalid: refused,
		 * nothing journalled, as engine_submit_prepare() refuses */
		engine_answer_set(ans, 400, AE_SCHEMA_INVALID, "%s",
		    as->job.why);
		return -1;
	}
	if (as->job.rc == 0) {
		out->body = as->job.out;	/* taken over */
		out->len = as->job.len;
		as->job.out = NULL;
	}
	return engine_submit_complete(e, &sub, &as->st, out, ans) == -1 ?
	    -1 : 0;
}

void
engine_submit_collect(struct engine *e, engine_submit_cb cb, void *arg)
{
	struct engine_outgoing out;
	struct engine_answer ans;
	struct signpool_job *job, *next;
	struct engine_asub *as;
	int rc;

	if (e->pool == NULL)
		return;
	for (job = signpool_done(e->pool); job != NULL; job = next) {
		next = job->next;
		((struct engine_asub *)job->arg)->state = ASUB_SIGNED;
	}
	while ((as = e->asubs) != NULL && as->state != ASUB_SIGNING) {
		if ((e->asubs = as->next) == NULL)
			e->asubs_tail = &e->asubs;
		e->nasubs--;
		rc = engine_asub_finish(e, as, &out, &ans);
		cb(arg, as->tag, rc, &out, &ans);
		engine_outgoing_clear(&out);
		engine_asub_free(as);
	}
}
