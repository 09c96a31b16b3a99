/*
 * store_ckpt.c -- the store's WAL checkpoints off the event loop, on a
 * thread of walckpt.c: the loop's connection gets a WAL hook in place of
 * SQLite's automatic checkpoint (walckpt.h says why).  The store is
 * rebuilt from the journal; which thread checkpoints it changes nothing
 * of what is durable.
 */
#include <stdint.h>

#include <sqlite3.h>

#include "persist/store.h"
#include "persist/store_priv.h"
#include "persist/walckpt.h"

void
store_ckpt_hook_install(struct store *st)
{
	walckpt_hook(st->ckpt, st->db);
}

int
store_checkpointer_start(struct store *st, int pages)
{
	if (st->readonly || st->ckpt != NULL)
		return 0;
	st->ckpt = walckpt_start(st->db, st->path, pages > 0 ? pages :
	    STORE_CKPT_PAGES, "store");
	return st->ckpt != NULL ? 0 : -1;
}

void
store_checkpointer_stop(struct store *st)
{
	walckpt_stop(st->ckpt, st->db, STORE_CKPT_PAGES);
	st->ckpt = NULL;
}

int
store_checkpointer_pages(const struct store *st)
{
	return walckpt_pages(st->ckpt);
}

uint64_t
store_checkpoints(struct store *st)
{
	return walckpt_done(st->ckpt);
}
