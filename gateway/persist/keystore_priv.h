/*
 * keystore_priv.h -- the key store's state, for the files that keep
 * tables in keys.db beside the keys (personidx.c) and nothing else.
 */
#ifndef ACCORD_KEYSTORE_PRIV_H
#define ACCORD_KEYSTORE_PRIV_H

#include <sqlite3.h>

#include "persist/keystore.h"

struct keystore {
	sqlite3		*db;		/* NULL: an exported key alone */
	struct walckpt	*ckpt;		/* its checkpoints, off the loop */
	char		*master_file;
	uint8_t		 master[AEAD_KEY_LEN];
	uint8_t		 xid[KEYSTORE_ID_LEN];	/* exported key's id */
	uint8_t		 xkey[AEAD_KEY_LEN];
	int		 batch;		/* a batch transaction is open */
	uint8_t		 ikey[AEAD_KEY_LEN];	/* the person index key, */
	int		 has_ikey;	/* ... once read (rotation re-wraps it,
					 * never changes it) */
	/* a rotation under way (keystore_rotate_begin): keys are wrapped
	 * under master until a slice re-wraps them under next */
	int		 rotating;
	uint8_t		 next[AEAD_KEY_LEN];
};

/* Run sql on the key store's database.  @return 0, or -1 (logged). */
int keystore_exec(struct keystore *ks, const char *sql);

/* Join the batch transaction (opened at the first write that needs no
 * fsync of its own: a case taking a pool key, person index rows), which
 * keystore_batch_commit() ends.  @return 0, or -1 (logged). */
int keystore_batch_join(struct keystore *ks);

#endif
