/*
 * record.h -- the payloads of journal records, shared by the engine
 * (encodes), the store (decodes and applies) and the audit tool (decodes
 * and compares).
 *
 * Every payload is JSON written with sorted keys and no whitespace, so the
 * same record always has the same bytes (the journal hashes them).  Every
 * payload carries "v", the payload version, checked before reading.  A
 * message record is a JSON header, one '\n', then the exact signed bytes
 * of the message: the header's JSON never holds a raw newline, so the
 * first one ends it.
 *
 * Enumerations are written by name where a name table exists (states,
 * kinds, roles, deadlines, message types, error codes) and as numbers
 * otherwise; times are integers, UTC seconds.  Decoding is strict: a
 * missing field, a wrong type or an unknown name fails the record.
 */
#ifndef ACCORD_RECORD_H
#define ACCORD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf/agreement.h"
#include "util/clock.h"
#include "fsm/fsm.h"
#include "persist/journal.h"

/* Version of every payload written by this code. */
#define RECORD_VERSION		1

/* Buffer sizes, including the NUL. */
#define RECORD_PARTNER_MAX	16	/* ISO 3166 alpha-2 in practice */
#define RECORD_ID_MAX		64	/* case ids (m:Code) and message ids */
#define RECORD_REASON_MAX	160
#define RECORD_SHA256_HEX	65
#define RECORD_GROUNDS_MAX	16	/* a reply's refusal grounds */
#define RECORD_GROUND_MAX	48

/*
 * What a record is about is its journal kind (enum journal_kind, whose
 * numbers are on disk), and the kind says which payload it holds:
 *	MESSAGE_RECEIVED	record_message, direction in
 *	MESSAGE_SENT		record_message, direction out: created
 *	RECEIPT_GIVEN		record_message: our Receipt, ref_to
 *	RECEIPT_GOT		record_message: partner's Receipt
 *	DECISION		record_decision
 *	REFUSAL			record_decision with refusal != AE_OK
 *	DEADLINE_FIRED		record_deadline
 *	OPERATOR_COMMAND	JSON, opaque to the store but for submits
 *	CONFIG_LOAD		JSON, opaque to the store
 *	MESSAGE_STATE		record_msgstate
 *	INBOX_ACK		record_ack
 *	PARTNER_PAUSE		record_pause
 *	REFUSALS_COUNTED	record_counted: a partner's refusals not
 *				journalled one by one; never a decision,
 *				nothing for the store
 *	TIMESTAMP		record_timestamp (record_timestamp.h): an
 *				RFC 3161 token over a checkpoint; nothing
 *				for the store
 *	SIGNATURE_VOID		record_void: a message we signed and gave
 *				up before journalling it (its case changed
 *				meanwhile), for the audit to match the
 *				signer's log; never a decision, nothing
 *				for the store
 * The journal's own kinds (FILE_START, TORN_TAIL_CUT, CHECKPOINT) hold
 * nothing for the store: they only advance its seq.  Names:
 * journal_kind_name().
 */

/* Direction of a message, seen from this gateway. */
enum record_dir {
	RECORD_DIR_IN = 0,
	RECORD_DIR_OUT
};

/* Delivery state of a message, beside its case (DESIGN.md section 4). */
enum record_msg_state {
	RECORD_MS_QUEUED = 0,	/* ours, committed, not yet delivered */
	RECORD_MS_SENT,		/* ours, delivered, receipt not yet back */
	RECORD_MS_RECEIPTED,	/* receipt given (in) or got (out) */
	RECORD_MS_REJECTED,	/* answered with a signed Error */
	RECORD_MS_UNDELIVERED,	/* ours, retry window over */
	RECORD_MS_DISPUTED,	/* ours, the receipt came back bad */
	RECORD_MS_RECEIVED,	/* theirs, committed, receipt not yet given */
	RECORD_MS_COUNT
};

/* The header of a message record; body points into the decoded payload. */
struct record_message {
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	char		 message_id[RECORD_ID_MAX];
	char		 ref_to[RECORD_ID_MAX];	/* "" when none */
	enum msg_type	 type;
	enum record_dir	 direction;
	char		 sha256[RECORD_SHA256_HEX];	/* of the body */
	accord_time_t	 created;	/* the signed Created */
	accord_time_t	 received_at;	/* receipt's ReceivedAt; 0 = none */
	/*
	 * A ReadmissionReply's or TransitReply's refusal grounds, by name,
	 * as the parser read them from the verified DOM (the member
	 * "grounds"): has_grounds is 0 in a record written before they
	 * were journalled, whose grounds only the XML body states.
	 */
	int		 has_grounds;
	int		 ngrounds;
	char		 grounds[RECORD_GROUNDS_MAX][RECORD_GROUND_MAX];
	const unsigned char *body;	/* decode only: the exact bytes;
					 * NULL while sealed */
	size_t		 body_len;
	int		 sealed;	/* decode only: the body is sealed
					 * (record_seal.c); body NULL */
	const unsigned char *sealed_bytes;	/* nonce || ct || tag */
	size_t		 sealed_len;
	size_t		 header_len;	/* sealed: the clear header's bytes */
};

/* A decision of the fsm, with what it was asked (the audit re-asks). */
struct record_decision {
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	char		 message_id[RECORD_ID_MAX];	/* "" for deadlines,
							 * records */
	enum fsm_kind	 kind;		/* the case's machine */
	enum fsm_role	 role;		/* our role in it */
	struct fsm_event ev;
	accord_time_t	 now;		/* the engine's clock reading */
	struct fsm_decision d;
};

/* A deadline that fired (JOURNAL_DEADLINE_FIRED). */
struct record_deadline {
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	enum fsm_deadline which;
	accord_time_t	 due;
};

/* A message's delivery state changed (JOURNAL_MESSAGE_STATE). */
struct record_msgstate {
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	enum record_dir	 direction;
	enum record_msg_state state;
	char		 reason[RECORD_REASON_MAX];	/* "" when none */
	accord_time_t	 next_attempt;	/* QUEUED/SENT: retry at; 0 = keep */
	int		 attempts;	/* QUEUED/SENT: attempts so far */
};

/* The back office took a received message (JOURNAL_INBOX_ACK). */
struct record_ack {
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
};

/* Delivery to a partner paused or resumed (JOURNAL_PARTNER_PAUSE). */
struct record_pause {
	char		 partner[RECORD_PARTNER_MAX];
	int		 paused;
};

/*
 * A partner's messages refused beyond the rate that is journalled in full
 * (JOURNAL_REFUSALS_COUNTED): how many, between which times.  Each was
 * answered with a signed Error like a refusal journalled in full, and
 * decided nothing.
 */
struct record_counted {
	char		 partner[RECORD_PARTNER_MAX];
	int		 refused;	/* how many, at least 1 */
	int		 repeated;	/* ... of which were a MessageId
					 * refused before */
	accord_time_t	 first;		/* the first and last of them */
	accord_time_t	 last;
	int		 per_minute;	/* the rate in force */
};

/*
 * A message signed and then given up before it was journalled
 * (JOURNAL_SIGNATURE_VOID): the submit it was signed for was done again,
 * so these exact bytes never left.  sha256 is of the signed bytes as the
 * signer returned them, what the signer's log names (msg/signer.h); the
 * record holds no body and no personal data.
 */
struct record_void {
	char		 partner[RECORD_PARTNER_MAX];
	enum msg_type	 type;
	char		 message_id[RECORD_ID_MAX];
	char		 sha256[RECORD_SHA256_HEX];
	char		 reason[RECORD_REASON_MAX];
};

/* "in" or "out". */
const char *record_dir_name(enum record_dir d);
/* @return the direction, or -1 for an unknown name. */
int record_dir_from_name(const char *name);
/* "QUEUED", "RECEIPTED"...; "?" when out of range. */
const char *record_msg_state_name(enum record_msg_state s);
/* @return the state, or -1 for an unknown name. */
int record_msg_state_from_name(const char *name);

/* Lower-case hex SHA-256 of len bytes into hex (65 bytes).
 * @return 0, -1 if the digest failed. */
int record_sha256_hex(const void *p, size_t len, char hex[RECORD_SHA256_HEX]);

/*
 * The fsm structures as JSON objects, every field.  to_json returns a new
 * reference, or NULL if a value is out of range (a bug: the journal must
 * never hold what cannot be read back) or memory ran out.  from_json
 * fills out completely and @return 0, or -1 if a field is missing, of the
 * wrong type or out of range.
 */
json_t *record_case_to_json(const struct fsm_case *c);
int record_case_from_json(const json_t *j, struct fsm_case *out);
json_t *record_event_to_json(const struct fsm_event *ev);
int record_event_from_json(const json_t *j, struct fsm_event *out);

/*
 * Encoders: *out is a malloc'd buffer of *outlen bytes (not
 * NUL-terminated for messages, whose body may hold anything), owned by
 * the caller.  @return 0, or -1 (logged) on an out-of-range value or
 * memory exhaustion.
 *
 * Decoders: @return 0 with out filled, or -1 (logged) if the payload is
 * malformed, of another version, or (messages) if the body's SHA-256 is
 * not the header's.
 */
/* The body's SHA-256 is computed here; m->sha256 and m->body are ignored. */
int record_message_encode(const struct record_message *m, const void *body,
    size_t body_len, char **out, size_t *outlen);
/* m->body points into p, which must outlive m.  A sealed record decodes
 * with its header only (m->sealed, body NULL): record_message_unseal()
 * gives its body. */
int record_message_decode(const void *p, size_t len, struct record_message *m);

/*
 * Encryption at rest (record_seal.c).  A sealed message record is its
 * header as record_message_encode() writes it with "sealed":1 added (the
 * clear facts: partner, case, ids, type, direction, the body's SHA-256,
 * times, and a reply's refusal grounds as "facts":{"grounds":[...]};
 * never a personal field), one '\n', then the body sealed with
 * AES-256-GCM under key (util/aead.h: nonce || ciphertext || tag), the
 * header's bytes as additional data.  In the journal its header says
 * cipher 1, the key's id, and as plaintext digest the body's SHA-256
 * (seal gets them).
 */
int record_message_seal(const struct record_message *m, const void *body,
    size_t body_len, const uint8_t key[32], const uint8_t key_id[32],
    char **out, size_t *outlen, struct journal_seal *seal);

/*
 * A sealed record's payload as it would be in clear (what
 * record_message_encode() writes): *out (free()) and *outlen.  The body's
 * SHA-256 is checked against the header's.  @return 0, or -1 (wrong key,
 * altered bytes, logged).
 */
int record_message_unseal(const void *p, size_t len, const uint8_t key[32],
    char **out, size_t *outlen);

int record_decision_encode(const struct record_decision *rd, char **out,
    size_t *outlen);
int record_decision_decode(const void *p, size_t len,
    struct record_decision *rd);

int record_deadline_encode(const struct record_deadline *r, char **out,
    size_t *outlen);
int record_deadline_decode(const void *p, size_t len,
    struct record_deadline *r);

int record_msgstate_encode(const struct record_msgstate *r, char **out,
    size_t *outlen);
int record_msgstate_decode(const void *p, size_t len,
    struct record_msgstate *r);

int record_ack_encode(const struct record_ack *r, char **out, size_t *outlen);
int record_ack_decode(const void *p, size_t len, struct record_ack *r);

int record_pause_encode(const struct record_pause *r, char **out,
    size_t *outlen);
int record_pause_decode(const void *p, size_t len, struct record_pause *r);
int record_counted_encode(const struct record_counted *r, char **out,
    size_t *outlen);
int record_counted_decode(const void *p, size_t len,
    struct record_counted *r);
/* A void's sha256 must be 64 lower-case hex digits, its message id and
 * partner not empty. */
int record_void_encode(const struct record_void *r, char **out,
    size_t *outlen);
int record_void_decode(const void *p, size_t len, struct record_void *r);

#endif
