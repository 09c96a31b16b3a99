/*
 * engine_tstamp.c -- the engine's side of trusted time (issue 18, item
 * 4): which checkpoint to time-stamp, and the TIMESTAMP record journalling
 * an authority's token over it.  The request and its network are the
 * daemon's (faces/tsaclient.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/journal.h"
#include "persist/record_timestamp.h"
#include "util/log.h"

int
engine_latest_checkpoint(struct engine *e, uint64_t *seq,
    uint8_t chain[JOURNAL_HASH_LEN])
{
	return journal_latest_checkpoint(e->journal, seq, chain);
}

int
engine_timestamp(struct engine *e, uint64_t seq,
    const uint8_t chain[JOURNAL_HASH_LEN], const char *tsa,
    const uint8_t *token, size_t len)
{
	struct record_timestamp r;
	char *payload;
	size_t plen;

	if (e->store_behind)
		return -1;
	memset(&r, 0, sizeof(r));
	r.checkpoint = seq;
	memcpy(r.chain, chain, JOURNAL_HASH_LEN);
	snprintf(r.tsa, sizeof(r.tsa), "%s", tsa);
	r.token = (uint8_t *)token;
	r.token_len = len;
	if (record_timestamp_encode(&r, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_TIMESTAMP, payload, plen) == -1)
		return -1;
	/* nothing waits on it: the commit lands like any other */
	return engine_flush_start(e) == ENGINE_FLUSH_FAILED ? -1 : 0;
}
