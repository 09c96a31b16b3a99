/*
 * engine.c -- the glue: inputs to fsm decisions, journal records, store.
 * This file: the engine's life cycle (open, reload, close), the handles
 * engine_priv.h gives tests, and answers.  The other engine_*.c files
 * are listed in engine_state_priv.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "accord-build.h"
#include "conf/agreement_json.h"
#include "conf/conffile.h"
#include "util/clock.h"
#include "engine/engine.h"
#include "engine/engine_priv.h"
#include "engine/engine_state_priv.h"
#include "persist/journal.h"
#include "persist/keystore.h"
#include "util/log.h"
#include "persist/store.h"
#include "util/xmalloc.h"
#include "msg/xmlsig.h"
#include "msg/signer.h"

/* Journal files read at start-up: the one written to and the one before,
 * whose chain the first must continue. */
#define ENGINE_OPEN_FILES	2

void
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

void
engine_set_partner_cb(struct engine *e, engine_partner_cb fn, void *arg)
{
	e->alive = fn;
	e->alive_arg = arg;
}

/* ---- life cycle ------------------------------------------------------ */

/* The certificates in force, for the journal (auditors verify old
 * messages with the certificates journalled when they arrived), and the
 * whole rules with their digest (replay re-runs each decision by the
 * rules of its day: conf/agreement_json.h). */
static int
engine_journal_config(struct engine *e)
{
	const struct agreement *a;
	json_t *obj, *partners, *p, *certs, *rules;
	char digest[65];
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
	if ((rules = agreement_json_rules(e->conf)) == NULL ||
	    agreement_json_digest(rules, digest) == -1) {
		json_decref(rules);
		json_decref(obj);
		log_errx(ETAG, "the rules in force cannot be journalled");
		return -1;
	}
	json_object_set_new(obj, "rules", rules);
	json_object_set_new(obj, "rules_sha256", json_string(digest));
	/* the time-stamp authority's CA, for the auditor (issue 18) */
	if (e->conf->tsa_url != NULL && e->conf->tsa_ca_pem != NULL)
		json_object_set_new(obj, "timestamp", json_pack("{s:s, s:s}",
		    "url", e->conf->tsa_url, "ca_pem", e->conf->tsa_ca_pem));
	return engine_journal_json(e, JOURNAL_CONFIG_LOAD, obj);
}

/* The signer process signs a checkpoint for the journal. */
static int
engine_cp_sign(void *arg, const uint8_t *msg, size_t len, uint8_t *sig,
    size_t *siglen)
{
	return signer_client_sign_checkpoint(arg, msg, len, sig, siglen);
}

/* The checkpoint key: the private one, or with a signer process only the
 * certificate's public key (the journal's key id).  @return 0/-1. */
static int
engine_journal_key(struct engine *e, const struct config *c,
    struct conf_diag *d)
{
	X509 *cert;

	if (e->remote == NULL)
		e->journal_key = conf_load_key(c->sign_key, c->file, 0, d);
	else if ((cert = conf_load_cert(c->sign_cert, c->file, 0, d)) !=
	    NULL) {
		e->journal_key = X509_get_pubkey(cert);
		X509_free(cert);
	}
	if (e->journal_key == NULL) {
		conf_diag_print(d, stderr);
		return -1;
	}
	return 0;
}

struct engine *
engine_open(const struct config *c)
{
	return engine_open_signed(c, NULL);
}

struct engine *
engine_open_signed(const struct config *c, struct signer_client *sc)
{
	struct engine *e;
	struct journal_params jp;
	struct conf_diag d = { 0 };
	int i;

	engine_metrics_register();
	e = xcalloc(1, sizeof(*e));
	e->conf = c;
	e->batch = 1;
	e->remote = sc;
	e->journal_dir = conf_path(c->state_dir, "journal");
	e->store_path = conf_path(c->state_dir, "store.db");
	if (engine_journal_key(e, c, &d) == -1 || engine_keys_open(e, c) == -1)
		goto fail;
	journal_params_default(&jp, e->journal_dir);
	jp.sign_key = e->journal_key;
	if (sc != NULL) {
		jp.sign = engine_cp_sign;
		jp.sign_arg = sc;
	}
	/* start-up reads the tail; accord-audit verifies the whole chain */
	jp.open_files = ENGINE_OPEN_FILES;
#ifdef ACCORD_TEST_CLOCK
	/* test builds: write an older format, to test an upgrade */
	if (getenv("ACCORD_TEST_JOURNAL_FORMAT") != NULL)
		jp.format = (unsigned int)strtoul(
		    getenv("ACCORD_TEST_JOURNAL_FORMAT"), NULL, 10);
#endif
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
	/* ... and never syncs a file in a commit: the WAL's checkpoints run
	 * on the store's own thread */
	if (store_checkpointer_start(e->store, STORE_CKPT_LOOP_PAGES) == -1)
		goto fail;
	/* with a signer process, the key never enters this one */
	if (sc == NULL && (e->signer = xmlsig_signer_load(c->sign_key,
	    c->sign_cert)) == NULL)
		goto fail;
	/* the signing pool (engine_submit_async.c): its own keys in one
	 * process, the signer's lanes under privilege separation */
	if (engine_pool_start(e) == -1)
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
	/* refusals counted since the last summary go with the last batch */
	if (e->journal != NULL)
		(void)engine_refusals_summary(e, clock_now(), 1);
	engine_pool_stop(e);
	if (e->npending > 0 && e->journal != NULL)
		engine_flush(e);
	engine_pending_clear(e);
	free(e->pending);
	free(e->pcases);
	free(e->pmsgs);
	free(e->refusals);
	free(e->preqs);
	free(e->sent);
	xmlsig_signer_free(e->signer);
	store_close(e->store);
	keystore_close(e->keys);
	if (e->journal != NULL)
		journal_close(e->journal);
	EVP_PKEY_free(e->journal_key);
	signer_client_free(e->remote);	/* the signer ends with it */
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
