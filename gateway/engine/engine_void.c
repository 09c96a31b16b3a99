/*
 * engine_void.c -- a signature given up (JOURNAL_SIGNATURE_VOID).  A
 * submit signed off the loop whose case changed before its turn is done
 * again, and the message first signed for it is discarded: never
 * journalled, never sent.  Its signature is still in the signer's log,
 * and accord-audit verify --signer-log reports a line no record holds as
 * a signature that left unjournalled; this record holds that line and
 * says the signature was given up, not leaked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/agreement.h"
#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "util/log.h"

int
engine_signature_void(struct engine *e, const char *partner,
    const char *type_name, const char *message_id, const char *signed_bytes,
    size_t len, const char *reason)
{
	struct record_void rv;
	char *payload;
	size_t plen;
	int type;

	if ((type = agreement_msg_type_from_name(type_name)) < 0) {
		log_warnx(ETAG, "signature given up: unknown message type %s",
		    type_name);
		return -1;
	}
	memset(&rv, 0, sizeof(rv));
	if ((size_t)snprintf(rv.partner, sizeof(rv.partner), "%s", partner) >=
	    sizeof(rv.partner) ||
	    (size_t)snprintf(rv.message_id, sizeof(rv.message_id), "%s",
	    message_id) >= sizeof(rv.message_id)) {
		log_warnx(ETAG, "signature given up: partner or message id "
		    "too long");
		return -1;
	}
	rv.type = type;
	/* a long reason is cut, not refused: the signature must be
	 * accounted for whatever is said about it */
	snprintf(rv.reason, sizeof(rv.reason), "%s", reason);
	/* the digest of the bytes as signed, as the signer logged them */
	if (record_sha256_hex(signed_bytes, len, rv.sha256) == -1)
		return -1;
	/* not refused while the store lags: the record decides nothing
	 * and the store applies nothing for it, and the signature exists
	 * whether or not the store keeps up */
	if (record_void_encode(&rv, &payload, &plen) == -1 ||
	    engine_append(e, JOURNAL_SIGNATURE_VOID, payload, plen) == -1)
		return -1;
	log_info(ETAG, "signature given up: %s %s (%s)", type_name,
	    rv.message_id, rv.reason);
	return 0;
}
