/*
 * engine_seal.c -- encryption at rest in the engine (issue 19): which
 * records are sealed, the key store, and message records given back in
 * clear to those who read them (resend, redelivery, inbox --body, the
 * facts of our own messages after a restart).
 *
 * Business messages, ours and the partners', are sealed under their
 * case's key; Receipts and Errors stay in clear (they carry no personal
 * data, and a partner's answer must be checkable by anyone).  The engine
 * holds the master key and case keys in memory, so it makes itself not
 * dumpable: no core file, no ptrace by its own user.
 */
#include <sys/prctl.h>

#include "accord-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/journal.h"
#include "persist/keystore.h"
#include "persist/record.h"
#include "persist/store.h"
#include "persist/store_retain.h"
#include "util/aead.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xmalloc.h"

int
engine_keys_open(struct engine *e, const struct config *c)
{
	if (c->keys_master == NULL)
		return 0;
	if (prctl(PR_SET_DUMPABLE, 0) == -1) {
		log_err(ETAG, "PR_SET_DUMPABLE");
		return -1;
	}
	if ((e->keys = keystore_open(c->state_dir, c->keys_master, 0)) ==
	    NULL) {
		log_errx(ETAG, "cannot open the key store in %s",
		    c->state_dir);
		return -1;
	}
	return 0;
}

int
engine_seals(const struct engine *e, enum journal_kind kind,
    enum msg_type type)
{
	return e->keys != NULL && (kind == JOURNAL_MESSAGE_RECEIVED ||
	    kind == JOURNAL_MESSAGE_SENT) && type != MSG_RECEIPT &&
	    type != MSG_ERROR;
}

/* Looking for a case's sealed record in the journal: its key id. */
struct engine_keyhunt {
	struct engine	*e;
	int		 found;
	uint8_t		 id[KEYSTORE_ID_LEN];
};

static int
engine_keyhunt_cb(void *arg, const struct store_recpos *rp)
{
	struct engine_keyhunt *kh = arg;
	struct journal_pos pos;
	struct journal_rec rec;
	uint8_t *buf;

	if (rp->kind != JOURNAL_MESSAGE_RECEIVED &&
	    rp->kind != JOURNAL_MESSAGE_SENT)
		return 0;
	pos.file = rp->file;
	pos.offset = rp->offset;
	pos.seq = rp->seq;
	if (journal_read_at(kh->e->journal_dir, &pos, &rec, &buf) == -1)
		return 0;
	if (rec.cipher == JOURNAL_CIPHER_AES256GCM) {
		memcpy(kh->id, rec.key_id, sizeof(kh->id));
		kh->found = 1;
	}
	free(buf);
	return kh->found;
}

int
engine_case_key(struct engine *e, const char *partner, const char *case_id,
    uint8_t id[KEYSTORE_ID_LEN], uint8_t key[AEAD_KEY_LEN])
{
	struct engine_keyhunt kh;
	int rc;

	if ((rc = keystore_case_find(e->keys, partner, case_id, id, key)) != 0)
		return rc == 1 ? 0 : -1;
	/* A case the key store does not know may still have sealed
	 * records (a crash lost the key's assignment, keystore.c): the
	 * journal names their key, which the case keeps. */
	memset(&kh, 0, sizeof(kh));
	kh.e = e;
	if (store_case_records(e->store, partner, case_id, 0, 0,
	    engine_keyhunt_cb, &kh) == -1)
		return -1;
	if (kh.found && keystore_key(e->keys, kh.id, key) == 1) {
		memcpy(id, kh.id, KEYSTORE_ID_LEN);
		(void)keystore_assign(e->keys, id, partner, case_id);
		return 0;
	}
	return keystore_case_key(e->keys, partner, case_id, id, key);
}

int
engine_unseal(struct engine *e, const uint8_t *key_id, char **payload,
    size_t *len)
{
	struct record_message m;
	uint8_t id[KEYSTORE_ID_LEN], key[AEAD_KEY_LEN];
	char *plain;
	size_t plen;
	int rc;

	if (record_message_decode(*payload, *len, &m) == -1)
		return -1;
	if (!m.sealed)
		return 0;
	if (e->keys == NULL) {
		log_warnx(ETAG, "message %s is sealed and no <keys master=> "
		    "is configured", m.message_id);
		return -1;
	}
	if (key_id != NULL)
		rc = keystore_key(e->keys, key_id, key);
	else
		rc = keystore_case_find(e->keys, m.partner, m.case_id, id,
		    key);
	if (rc != 1) {
		if (rc == 0)
			log_warnx(ETAG, "message %s: case %s/%s has no key "
			    "(erased)", m.message_id, m.partner, m.case_id);
		return -1;
	}
	rc = record_message_unseal(*payload, *len, key, &plain, &plen);
	aead_wipe(key, sizeof(key));
	if (rc == -1)
		return -1;
	free(*payload);
	*payload = plain;
	*len = plen;
	return 0;
}

/* Journal an operator's key command and commit it.  @return 0/-1. */
static int
engine_key_journal(struct engine *e, json_t *cmd, struct engine_answer *ans)
{
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, cmd) == -1 ||
	    engine_flush(e) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed");
		return -1;
	}
	return 0;
}

int
engine_rotating(const struct engine *e)
{
	return e->keys != NULL && keystore_rotating(e->keys);
}

/* A rotation ended, or a slice failed: tell whoever waits. */
static void
engine_rotate_tell(struct engine *e, const struct engine_answer *a)
{
	void (*done)(void *, const struct engine_answer *) = e->rot_done;

	e->rot_done = NULL;
	if (done != NULL)
		done(e->rot_arg, a);
}

/* Keys a slice re-wraps (test builds: ACCORD_TEST_ROTATE_SLICE, so that
 * a few keys make several slices). */
static int
engine_rotate_slice(void)
{
#ifdef ACCORD_TEST_CLOCK
	const char *s = getenv("ACCORD_TEST_ROTATE_SLICE");

	if (s != NULL && atoi(s) > 0)
		return atoi(s);
#endif
	return ENGINE_ROTATE_SLICE;
}

static void
engine_rotate_copy(void *arg, const struct engine_answer *a)
{
	memcpy(arg, a, sizeof(*a));
}

int
engine_rotate_step(struct engine *e)
{
	struct engine_answer a;
	int64_t n = 0;
	int r;

	if (!engine_rotating(e))
		return 0;
	memset(&a, 0, sizeof(a));
	if ((r = keystore_rotate_step(e->keys, engine_rotate_slice(),
	    &n)) == 2)
		return 2;	/* keys.db's checkpoint first */
	e->rot_slices++;
	if (r == 0)
		return 1;
	if (r == 1 && keystore_rotate_finish(e->keys) == 0) {
		engine_answer_set(&a, 200, AE_OK, "master key rotated: %lld "
		    "case key(s) re-wrapped in %lld slice(s), the old master "
		    "key destroyed", (long long)n, (long long)e->rot_slices);
		log_info(ETAG, "master key rotation finished: %lld key(s) "
		    "re-wrapped in %lld slice(s)", (long long)n,
		    (long long)e->rot_slices);
		e->rot_slices = 0;
		engine_rotate_tell(e, &a);
		return 0;
	}
	engine_answer_set(&a, 500, AE_INTERNAL, "master key rotation "
	    "stopped (see the log); it stays under way and goes on later, "
	    "the old master key still in force");
	log_errx(ETAG, "a master key rotation slice failed; trying again "
	    "later");
	engine_rotate_tell(e, &a);
	return -1;
}

int
engine_rotate_master_key(struct engine *e, uid_t uid, const char *reason,
    void (*done)(void *arg, const struct engine_answer *a), void *arg,
    struct engine_answer *ans)
{
	int r;

	memset(ans, 0, sizeof(*ans));
	if (e->keys == NULL) {
		engine_answer_set(ans, 409, AE_CONFLICT, "no <keys master=> "
		    "configured: nothing is sealed");
		return -1;
	}
	if (engine_rotating(e)) {
		engine_answer_set(ans, 409, AE_CONFLICT, "a master key "
		    "rotation is under way already");
		return -1;
	}
	if (engine_lagging(e, ans))
		return -1;
	/* journalled first: a rotation that fails after it is logged, and
	 * the old key stays in force (keystore.h) */
	if (engine_key_journal(e, json_pack("{s:s, s:i, s:s}", "command",
	    "rotate-master-key", "uid", (int)uid, "reason", reason), ans) ==
	    -1)
		return -1;
	if (keystore_rotate_begin(e->keys) == -1) {
		engine_answer_set(ans, 500, AE_INTERNAL, "master key rotation "
		    "failed to start; the old master key is still in force");
		return -1;
	}
	log_info(ETAG, "master key rotation begun by uid %u", (unsigned)uid);
	e->rot_slices = 0;
	if (done != NULL) {
		e->rot_done = done;
		e->rot_arg = arg;
		engine_answer_set(ans, 202, AE_OK, "master key rotation "
		    "begun");
		return 1;
	}
	/* all at once, on the caller's time: the last step answers */
	e->rot_done = engine_rotate_copy;
	e->rot_arg = ans;
	while ((r = engine_rotate_step(e)) == 1 || r == 2)
		if (r == 2)
			usleep(1000);
	e->rot_done = NULL;
	return r == 0 && ans->status == 200 ? 0 : -1;
}

int
engine_export_key(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, const char *reason, char **keytext,
    struct engine_answer *ans)
{
	uint8_t id[KEYSTORE_ID_LEN], key[AEAD_KEY_LEN];
	char idhex[2 * KEYSTORE_ID_LEN + 1], keyhex[2 * AEAD_KEY_LEN + 1];
	int rc;

	memset(ans, 0, sizeof(*ans));
	*keytext = NULL;
	if (e->keys == NULL) {
		engine_answer_set(ans, 409, AE_CONFLICT, "no <keys master=> "
		    "configured: nothing is sealed");
		return -1;
	}
	if (engine_lagging(e, ans))
		return -1;
	rc = keystore_case_id(e->keys, partner, case_id, id);
	if (rc == 1)
		rc = keystore_key(e->keys, id, key);
	if (rc != 1) {
		engine_answer_set(ans, 404, AE_UNKNOWN_CASE, "case %s with %s "
		    "has no key (nothing sealed yet, or erased)", case_id,
		    partner);
		return -1;
	}
	hex_encode(id, sizeof(id), idhex);
	/* journalled before the key leaves the process */
	if (engine_key_journal(e, json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}",
	    "command", "export-key", "uid", (int)uid, "partner", partner,
	    "case", case_id, "key_id", idhex, "reason", reason), ans) == -1) {
		aead_wipe(key, sizeof(key));
		return -1;
	}
	hex_encode(key, sizeof(key), keyhex);
	aead_wipe(key, sizeof(key));
	*keytext = xmalloc(KEYSTORE_EXPORT_LEN + 1);
	snprintf(*keytext, KEYSTORE_EXPORT_LEN + 1, "%s\n%s\n%s\n",
	    KEYSTORE_EXPORT_MAGIC, idhex, keyhex);
	aead_wipe(keyhex, sizeof(keyhex));
	engine_answer_set(ans, 200, AE_OK, "the key of case %s with %s "
	    "(key id %.16s...), exported by uid %u", case_id, partner, idhex,
	    (unsigned)uid);
	log_info(ETAG, "case key %s/%s exported by uid %u", partner, case_id,
	    (unsigned)uid);
	return 0;
}

/* Every key a case's sealed records name. */
#define ENGINE_ERASE_IDS	16

struct engine_keyset {
	struct engine	*e;
	size_t		 n;
	uint8_t		 ids[ENGINE_ERASE_IDS][KEYSTORE_ID_LEN];
};

static int
engine_keyset_cb(void *arg, const struct store_recpos *rp)
{
	struct engine_keyset *ks = arg;
	struct journal_pos pos;
	struct journal_rec rec;
	uint8_t *buf;
	size_t i;

	if (rp->kind != JOURNAL_MESSAGE_RECEIVED &&
	    rp->kind != JOURNAL_MESSAGE_SENT)
		return 0;
	pos.file = rp->file;
	pos.offset = rp->offset;
	pos.seq = rp->seq;
	if (journal_read_at(ks->e->journal_dir, &pos, &rec, &buf) == -1)
		return -1;
	if (rec.cipher == JOURNAL_CIPHER_AES256GCM) {
		for (i = 0; i < ks->n; i++)
			if (memcmp(ks->ids[i], rec.key_id,
			    KEYSTORE_ID_LEN) == 0)
				break;
		if (i == ks->n && ks->n < ENGINE_ERASE_IDS)
			memcpy(ks->ids[ks->n++], rec.key_id, KEYSTORE_ID_LEN);
	}
	free(buf);
	return 0;
}

/*
 * Erase a case: by an operator (job NULL: uid), or by the retention job
 * (job names it; the job has checked the case's period is over, final
 * or not).  Neither erases a case on legal hold, nor one erased already.
 */
int
engine_erase_by(struct engine *e, const char *job, uid_t uid,
    const char *partner, const char *case_id, const char *reason,
    struct engine_answer *ans)
{
	struct engine_keyset ks;
	struct store_retain r;
	struct fsm_case c;
	json_t *ids, *cmd;
	char hex[2 * KEYSTORE_ID_LEN + 1], at[32];
	size_t i;
	int n;

	memset(ans, 0, sizeof(*ans));
	if (e->keys == NULL) {
		engine_answer_set(ans, 409, AE_CONFLICT, "no <keys master=> "
		    "configured: nothing is sealed, nothing to erase");
		return -1;
	}
	if (engine_case_retain(e, partner, case_id, &c, &r, ans) == -1)
		return -1;
	if (r.held) {
		clock_format_utc(r.hold_at, at, sizeof(at));
		engine_answer_set(ans, 409, AE_CONFLICT, "case %s with %s is "
		    "on legal hold (by %s at %s: %s): it is not erased until "
		    "the hold is released", case_id, partner, r.hold_by, at,
		    r.hold_reason);
		return -1;
	}
	/* an open case still needs its messages (resend, duplicates);
	 * a hold, named first, stops any case */
	if (job == NULL && !fsm_state_final(c.state)) {
		engine_answer_set(ans, 409, AE_NOT_ALLOWED_IN_STATE, "case %s "
		    "with %s is %s, not final: its messages are still needed",
		    case_id, partner, fsm_state_name(c.state));
		return -1;
	}
	if (r.erased_at != 0) {
		clock_format_utc(r.erased_at, at, sizeof(at));
		engine_answer_set(ans, 409, AE_CONFLICT, "case %s with %s was "
		    "erased already (by %s at %s)", case_id, partner,
		    r.erased_by, at);
		return -1;
	}
	memset(&ks, 0, sizeof(ks));
	ks.e = e;
	if (store_case_records(e->store, partner, case_id, 0, 0,
	    engine_keyset_cb, &ks) == -1) {
		engine_answer_set(ans, 503, AE_TEMPORARY, "cannot read the "
		    "case's records");
		return -1;
	}
	ids = json_array();
	for (i = 0; i < ks.n; i++)
		json_array_append_new(ids, json_string(hex_encode(ks.ids[i],
		    KEYSTORE_ID_LEN, hex)));
	/* journalled first: who erased which keys, and why */
	cmd = json_pack("{s:s, s:s, s:s, s:s, s:o}", "command", "erase",
	    "partner", partner, "case", case_id, "reason", reason, "key_ids",
	    ids);
	if (job != NULL)
		json_object_set_new(cmd, "by", json_string(job));
	else
		json_object_set_new(cmd, "uid", json_integer((int)uid));
	if (engine_key_journal(e, cmd, ans) == -1)
		return -1;
	if ((n = keystore_erase(e->keys, partner, case_id,
	    (const uint8_t (*)[KEYSTORE_ID_LEN])ks.ids, ks.n)) == -1) {
		engine_answer_set(ans, 500, AE_INTERNAL, "the keys of case %s "
		    "with %s could not be deleted", case_id, partner);
		return -1;
	}
	engine_retain_erased(job != NULL ? job : "operator");
	engine_answer_set(ans, 200, AE_OK, "case %s with %s erased: %d key(s) "
	    "deleted, its messages are unreadable from now on (complete once "
	    "the master key has rotated)", case_id, partner, n);
	if (job != NULL)
		log_info(ETAG, "case %s/%s erased by the %s job: %d key(s); "
		    "%s", partner, case_id, job, n, reason);
	else
		log_info(ETAG, "case %s/%s erased by uid %u: %d key(s)",
		    partner, case_id, (unsigned)uid, n);
	return 0;
}

int
engine_erase(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, const char *reason, struct engine_answer *ans)
{
	return engine_erase_by(e, NULL, uid, partner, case_id, reason, ans);
}
