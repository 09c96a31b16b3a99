/*
 * keystore.h -- the per-case data keys of encryption at rest (issue 19),
 * outside the journal: a small SQLite database (state/keys.db) of keys
 * wrapped (AES-256-GCM, util/aead.h) under a master key read from a file.
 *
 * The journal names a key by its id (32 random bytes) in each sealed
 * record's header; the key itself is only here, wrapped.  Deleting a
 * key's row (crypto-shredding, with PRAGMA secure_delete) makes its
 * case's sealed bodies unreadable for good once the master key has
 * rotated (an older copy of the row can only be unwrapped with a master
 * key that rotation destroyed).
 *
 * The master key file holds 64 hex digits (a newline may follow), is a
 * regular file of mode 0600 (no access for group or others) owned by the
 * user reading it or by root: keystore_check_master() says why not.
 */
#ifndef ACCORD_KEYSTORE_H
#define ACCORD_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/aead.h"

#define KEYSTORE_ID_LEN		32
#define KEYSTORE_FILE		"keys.db"
/* An exported case key's text: the magic, the key id, the key, in hex,
 * each on its own line. */
#define KEYSTORE_EXPORT_MAGIC	"accord-case-key 1"
#define KEYSTORE_EXPORT_LEN	(sizeof(KEYSTORE_EXPORT_MAGIC) + \
				 2 * KEYSTORE_ID_LEN + 1 + 2 * AEAD_KEY_LEN + 1)

struct keystore;

/*
 * Is file fit to hold the master key: a regular file, mode 0600 or
 * stricter, owned by uid or root, holding a key.  @return 0, or -1 with
 * why.
 */
int keystore_check_master(const char *file, uid_t uid, char *why,
    size_t whylen);

/*
 * Read a master key file (checked as above).  @return 0 with key, or -1
 * (logged).
 */
int keystore_read_master(const char *file, uint8_t key[AEAD_KEY_LEN]);

/*
 * Open (create unless readonly) dir/keys.db with the master key in
 * master_file.  A database made under another master key is refused,
 * unless master_file".new" holds that key (a rotation interrupted after
 * its commit): then the rotation is finished first.
 * @return the store, or NULL (logged).
 */
struct keystore *keystore_open(const char *dir, const char *master_file,
    int readonly);

/* The same over the database file path itself (accord-audit --keys). */
struct keystore *keystore_open_file(const char *path,
    const char *master_file, int readonly);

/*
 * The same over an exported case key (accordctl export-key): a keystore
 * of that one key, without any database.  @return it, or NULL (logged).
 */
struct keystore *keystore_open_export(const char *file);

void keystore_close(struct keystore *ks);

/*
 * The data key of partner's case case_id: its own, or at its first use
 * one of the keys made ahead (durable before they are given; keystore.c).
 * @return 0 with id and key, or -1 (logged).
 */
int keystore_case_key(struct keystore *ks, const char *partner,
    const char *case_id, uint8_t id[KEYSTORE_ID_LEN],
    uint8_t key[AEAD_KEY_LEN]);

/* The key partner's case case_id has, without making one.  @return 1
 * with id and key, 0 none, -1. */
int keystore_case_find(struct keystore *ks, const char *partner,
    const char *case_id, uint8_t id[KEYSTORE_ID_LEN],
    uint8_t key[AEAD_KEY_LEN]);

/* Give the unassigned key id to partner's case case_id (again, after a
 * crash lost the assignment).  @return 0, or -1. */
/*
 * The writes that need no fsync of their own (keystore_assign(), the
 * person index) go into one transaction that stays open until this is
 * called: the engine calls it as it commits a journal batch, so a batch
 * of messages costs keys.db one commit, not one a message.  Whatever
 * makes its own durable transaction (the pool, rotation, erasure) commits
 * the batch first.  @return 0, or -1 (logged; the batch is rolled back:
 * an assignment the journal finds again, index rows lost).
 */
int keystore_batch_commit(struct keystore *ks);

int keystore_assign(struct keystore *ks, const uint8_t id[KEYSTORE_ID_LEN],
    const char *partner, const char *case_id);

/* The key of that id.  @return 1 with key, 0 when there is none (never
 * made here, or erased), -1 (logged). */
int keystore_key(struct keystore *ks, const uint8_t id[KEYSTORE_ID_LEN],
    uint8_t key[AEAD_KEY_LEN]);

/* The id of a case's key.  @return 1, 0 when it has none, -1. */
int keystore_case_id(struct keystore *ks, const char *partner,
    const char *case_id, uint8_t id[KEYSTORE_ID_LEN]);

/*
 * Write partner's case key to file (created, mode 0600, never over an
 * existing file) as the lines "accord-case-key 1", the key id and the
 * key, in hex.  @return 1, 0 when the case has no key, -1 (logged).
 */
int keystore_export(struct keystore *ks, const char *partner,
    const char *case_id, const char *file);

/*
 * Rotating the master key, in slices so that no call holds the engine's
 * loop long (DESIGN.md 3):
 *
 * begin	make a new key, write it to master_file".new" (synced), and
 *		record in keys.db, durably, that a rotation is under way
 *		(the keys made ahead are dropped).  From here every key
 *		opens under either master key, and new keys are wrapped
 *		under the new one.
 * step		re-wrap at most max keys, in the order of their rows, from
 *		where the last step stopped (kept in keys.db with the
 *		re-wrapped keys, synchronous=NORMAL: a slice a crash loses
 *		is done again).  *done: the keys re-wrapped so far.
 * finish	re-wrap the person index's key and make the new key the
 *		one (a synced commit), then destroy the old file
 *		(overwritten, synced, replaced by the new one).
 *
 * keystore_open() takes up a rotation a crash interrupted: before its
 * finish, with both keys (the steps go on); after it, by replacing the
 * file.  The old master key is in force, and its file untouched, until
 * the finish commits.
 *
 * @return begin and finish: 0, or -1 (logged); step: 1 when no key is
 * left, 0 when more are, 2 when it did nothing, waiting for the WAL's
 * checkpoint (walckpt.h; call again in a few ms), -1 (logged; the
 * rotation stays under way).
 */
int keystore_rotate_begin(struct keystore *ks);
int keystore_rotate_step(struct keystore *ks, int max, int64_t *done);
int keystore_rotate_finish(struct keystore *ks);

/* Is a rotation under way (begun, not finished)? */
int keystore_rotating(struct keystore *ks);

/* All of a rotation at once (the tests).  @return the keys re-wrapped,
 * or -1. */
int64_t keystore_rotate(struct keystore *ks);

/*
 * Erase partner's case case_id: delete its key and the keys of ids[n]
 * (those its sealed records name), durably, and checkpoint the WAL so
 * that no copy of them stays in it.  @return how many were deleted, or
 * -1 (logged).
 */
int keystore_erase(struct keystore *ks, const char *partner,
    const char *case_id, const uint8_t (*ids)[KEYSTORE_ID_LEN], size_t n);

/* Keys given to cases.  @return the count, or -1. */
int64_t keystore_count(struct keystore *ks);

#endif
