/*
 * engine_state_priv.h -- what the files of the engine share and nothing
 * else may use (engine/ only; tests/helpers/check_layers.sh refuses it elsewhere):
 * struct engine and the steps one file does for another.  engine.h is the
 * interface; engine_priv.h gives tests the journal and the store.
 *
 *	engine.c		life cycle: open, reload, close; answers
 *	engine_batch.c		the pending batch and its overlay, commit,
 *				applying to the store (and catching up)
 *	engine_build.c		journal records, and our own signed messages
 *				(Receipt, Error, any envelope)
 *	engine_facts.c		a message's business facts as an fsm event;
 *				the case an event applies to; what a
 *				reply answers; dates that cannot be
 *	engine_in.c		a partner's message: receive, Redelivery,
 *				standalone Receipt, duplicates
 *	engine_out.c		what we sent, and the partner's answer to it
 *	engine_submit.c		the back office's submit
 *	engine_submit_async.c	... signed on the signing pool, the loop
 *				going on meanwhile
 *	engine_deadline.c	deadlines
 *	engine_ops.c		operator commands (record, ack, pause,
 *				resend, reveal)
 *	engine_refusals.c	refusals journalled in full up to a rate,
 *				the rest counted
 *	engine_metrics.c	messages in and out, refusals by code and
 *				delivery latency, for the metrics
 *	engine_tstamp.c		the latest checkpoint, and the TIMESTAMP
 *				record of an authority's token over it
 *	engine_retain.c		retention: the daily erasure job, legal
 *				holds
 */
#ifndef ACCORD_ENGINE_STATE_PRIV_H
#define ACCORD_ENGINE_STATE_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libxml/tree.h>
#include <openssl/evp.h>

#include "engine/engine.h"
#include "msg/envelope.h"
#include "msg/model.h"
#include "persist/journal.h"

#define ETAG		"engine"

struct engine_asub;
struct signpool;

/* One record appended in the current batch. */
/* What the metrics count of a message record, noted as it is appended
 * (so that its payload, the message's bytes with it, is not decoded again
 * for them). */
struct engine_msgnote {
	int		 set;
	enum msg_type	 type;
	char		 partner[RECORD_PARTNER_MAX];
	char		 ref_to[RECORD_ID_MAX];
};

struct engine_pending {
	enum journal_kind kind;
	uint64_t	 seq;
	accord_time_t	 time;
	char		*payload;
	size_t		 len;
	struct journal_pos pos;		/* where it will be in the journal */
	struct engine_msgnote note;	/* a message record's, or unset */
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
	uint32_t	 hash;		/* of message_id: compared first */
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

/* MessageIds a partner's refusals beyond the rate remember. */
#define ENGINE_REFUSED_IDS	64

/* A partner's refusals: the rate's window, and those only counted. */
struct engine_refusals {
	char		 partner[RECORD_PARTNER_MAX];
	accord_time_t	 window;	/* start of the current minute */
	int		 in_window;	/* journalled in full in it */
	uint64_t	 counted;	/* since the last summary */
	uint64_t	 repeated;	/* ... a MessageId counted before */
	accord_time_t	 first, last;
	accord_time_t	 summarized;	/* the last summary */
	char		 ids[ENGINE_REFUSED_IDS][RECORD_ID_MAX];
	int		 nextid;
};

struct engine {
	const struct config	*conf;
	struct journal		*journal;
	struct store		*store;
	struct xmlsig_signer	*signer;	/* NULL with a signer process */
	struct signer_client	*remote;	/* the signer process, or NULL */
	struct parser_client	*parser;	/* a parser process, or NULL:
						 * parser_read() here */
	EVP_PKEY		*journal_key;
	struct keystore		*keys;		/* encryption at rest; NULL:
						 * messages in clear */
	/* a master key rotation under way: who waits for its end */
	void			(*rot_done)(void *arg,
				    const struct engine_answer *a);
	void			*rot_arg;
	int64_t			 rot_slices;
	char			*journal_dir;
	char			*store_path;
	uint64_t		 person_lookups;	/* find-person */
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

	struct engine_refusals	*refusals;	/* per partner */
	size_t			 nrefusals;
	size_t			 caprefusals;

	accord_time_t		 retain_next;	/* the retention job's next
						 * run; 0: at start-up */
	int			 retain_more;	/* a run goes on */
	uint64_t		 retain_erased;	/* ... and erased so many */
	int			 retain_pi;	/* ... at this partner */
	accord_time_t		 retain_at;	/* ... after this case */
	char			 retain_id[RECORD_ID_MAX];

	/* single-process mode: submits signed on a pool of threads, taken
	 * back in the order they came (engine_submit_async.c) */
	struct signpool		*pool;		/* NULL: sign on the loop */
	struct engine_asub	*asubs;		/* oldest first */
	struct engine_asub	**asubs_tail;
	size_t			 nasubs;
};

/* A submit between its preparation and its journal. */
struct engine_submit_state {
	const struct agreement	*a;
	struct envelope_header	 h;
	struct fsm_case		 c;		/* as decided on */
	struct fsm_event	 ev;
	struct fsm_decision	 d;
	struct model_grounds	 g;		/* a reply's, for its record */
	accord_time_t		 now;
	int			 type;
	char			 case_id[RECORD_ID_MAX];
	char			 rsha[RECORD_SHA256_HEX];
	struct model_person	 p;		/* the person it names, for
						 * the index; wiped after */
};

/* engine_seal.c: erase a case, by an operator (job NULL) or by a job
 * that has checked its period ended (named in the journal). */
int engine_erase_by(struct engine *e, const char *job, uid_t uid,
    const char *partner, const char *case_id, const char *reason,
    struct engine_answer *ans);

/* engine_retain.c: a case (c) and its legal hold and erasure (r), the
 * journal committed first, for hold, release and erase.  @return 0, or
 * -1 (ans says why). */
struct store_retain;
int engine_case_retain(struct engine *e, const char *partner,
    const char *case_id, struct fsm_case *c, struct store_retain *r,
    struct engine_answer *ans);

/* engine_retain.c: the metric of erasures, by who. */
#define ENGINE_RETAIN_SLICE	16	/* cases erased per call, at most:
					 * each is a journal commit and a key
					 * store transaction */
#define ENGINE_RETAIN_EXAMINE	1024	/* cases read per call, at most
					 * (held and erased ones too) */
void engine_retain_register(void);
void engine_retain_erased(const char *by);

/* engine.c: an answer's status, code and text. */
void engine_answer_set(struct engine_answer *a, int status,
    enum accord_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* engine_batch.c: the pending batch, the overlay, the store behind. */
int engine_append(struct engine *e, enum journal_kind kind, char *payload,
    size_t len);
/* The same for a sealed payload (seal: its header's cipher, key id and
 * plaintext digest). */
int engine_append_sealed(struct engine *e, enum journal_kind kind,
    char *payload, size_t len, const struct journal_seal *seal);

/*
 * engine_void.c: a message signed and then given up before it was
 * journalled (a submit done again at its turn): one SIGNATURE_VOID record
 * in the current batch, committed with it, naming the partner, the
 * message type by name, its MessageId, the SHA-256 of signed_bytes (len
 * bytes, exactly as the signer returned them: what the signer's log
 * names) and why.  @return 0, or -1 (logged).
 */
int engine_signature_void(struct engine *e, const char *partner,
    const char *type_name, const char *message_id, const char *signed_bytes,
    size_t len, const char *reason);

/* engine_seal.c: encryption at rest (issue 19). */
/* Open the key store <keys master=> names, and make this process not
 * dumpable (it holds keys).  @return 0 (also without <keys>), or -1. */
int engine_keys_open(struct engine *e, const struct config *c);
/* Is a message of this kind and type sealed when journalled? */
int engine_seals(const struct engine *e, enum journal_kind kind,
    enum msg_type type);
/* The key a case's messages are sealed under (keystore_case_key(), or
 * the one its sealed records name).  @return 0, or -1 (logged). */
int engine_case_key(struct engine *e, const char *partner,
    const char *case_id, uint8_t id[32], uint8_t key[32]);
/* A message record's payload in clear: *payload (malloc'd, replaced
 * and freed when sealed) unsealed with the key of id key_id (its journal
 * header's), or when NULL (a record not yet written) its case's.
 * @return 0, or -1 (no key, erased, or the bytes do not open; logged). */
int engine_unseal(struct engine *e, const uint8_t *key_id, char **payload,
    size_t *len);
void engine_pending_clear(struct engine *e);
void engine_overlay_case(struct engine *e, const char *partner,
    const char *case_id, const struct fsm_case *c);
void engine_overlay_msg(struct engine *e, const char *partner,
    const char *message_id, enum record_dir dir, const char *sha256,
    const char *answer, size_t answer_len);
void engine_overlay_request(struct engine *e, uid_t uid,
    const char *request_id, const struct store_request *r);
int engine_seq_in_flight(const struct engine *e, uint64_t seq);
int engine_catch_up(struct engine *e);
int engine_lagging(struct engine *e, struct engine_answer *a);

/* engine_build.c: journal records and our own messages. */
/* g: a reply's refusal grounds, journalled with it (NULL: none). */
int engine_journal_message(struct engine *e, enum journal_kind kind,
    const char *partner, const struct envelope_header *h,
    const struct model_grounds *g, enum record_dir dir,
    accord_time_t received_at, const char *bytes, size_t len,
    char sha256[RECORD_SHA256_HEX]);
int engine_journal_decision(struct engine *e, const char *partner,
    const char *case_id, const char *message_id, const struct fsm_case *c,
    const struct fsm_event *ev, accord_time_t now,
    const struct fsm_decision *d);
int engine_journal_msgstate(struct engine *e, const char *partner,
    const char *message_id, enum record_dir dir, enum record_msg_state st,
    const char *reason);
int engine_journal_json(struct engine *e, enum journal_kind kind,
    json_t *obj);
int engine_seal_wrap(struct engine *e, const struct agreement *a,
    struct envelope_header *h, xmlNodePtr body, xmlDocPtr *docp,
    struct envelope_error *verr, int validate);
int engine_sign_doc(struct engine *e, xmlDocPtr doc, char **out,
    size_t *len, char *why, size_t whylen);
int engine_seal(struct engine *e, const struct agreement *a,
    struct envelope_header *h, xmlNodePtr body, char **out, size_t *len);
int engine_deadline_from_kind(const char *kind);
int engine_make_receipt(struct engine *e, const struct agreement *a,
    const struct envelope_header *rh, const char *sha256,
    accord_time_t received_at, const struct fsm_decision *d,
    struct engine_answer *ans, struct envelope_header *out);
int engine_make_error(struct engine *e, const struct agreement *a,
    const struct envelope_header *rh, enum accord_err code,
    const char *text, struct engine_answer *ans, struct envelope_header *out);

/* engine_submit.c: a submit in two halves, the signature between; with
 * validate 0 the envelope's validation is the signer's (the pool's). */
int engine_submit_prepare(struct engine *e,
    const struct engine_submission *sub, const char *docbytes, size_t len,
    int validate, struct engine_submit_state *st, xmlDocPtr *sdoc,
    struct engine_outgoing *out, struct engine_answer *ans, int *rcp);
int engine_submit_complete(struct engine *e,
    const struct engine_submission *sub, const struct engine_submit_state *st,
    struct engine_outgoing *out, struct engine_answer *ans);
/* Wipe what a submit's state holds of the person it names. */
void engine_submit_state_wipe(struct engine_submit_state *st);

/* engine_submit_async.c: start and stop the signing pool. */
int engine_pool_start(struct engine *e);
void engine_pool_stop(struct engine *e);

/* engine_refusals.c: may this refusal be journalled in full (1), or is
 * it over the partner's rate and only counted (0)?  The counts go to the
 * journal as REFUSALS_COUNTED records, at most one per partner a minute
 * (all: now).  @return 0, or -1 (append failed). */
int engine_refusal_admit(struct engine *e, const char *partner,
    const char *message_id, accord_time_t now);
int engine_refusals_summary(struct engine *e, accord_time_t now, int all);

/* engine_facts.c: business facts, and the case an event applies to;
 * what a reply answers; dates that cannot be (why names the element's
 * path, never its value: @return 0, or -1 with why set). */
void engine_event_facts(const struct model *m, struct fsm_event *ev);
/* The facts the fsm reads from personal fields, replaced by its verdict
 * on them under a's rules (issue 19): what the decision record keeps. */
void engine_facts_verdicts(const struct agreement *a, struct fsm_event *ev);
int engine_opens(enum msg_type t);
const struct calendar *engine_requested_cal(const struct engine *e,
    const struct agreement *a, const struct fsm_case *c);
/* The deadlines the partner gave (ev->given_due, applied in d) against
 * ours from the same event: 1 with why set when one is further off than
 * the two calendars allow (DESIGN.md 4, "Deadlines"), else 0. */
int engine_dues_checked(struct engine *e, const struct agreement *a,
    const struct fsm_case *c, const struct fsm_event *ev,
    const struct fsm_decision *d, accord_time_t now, char *why,
    size_t whylen);
int engine_case_for(struct engine *e, const char *partner,
    const char *case_id, enum msg_type type, int incoming,
    struct fsm_case *c);
int engine_reply_to(enum msg_type t);
int engine_check_dates(const struct model *m,
    const struct calendar *sender_cal, accord_time_t now, int skew,
    char *why, size_t whylen);

/* engine_parse.c: partner bytes into m (cleared first; clear it after),
 * by a parser process or in this process, unless a reader read them
 * already (pre not NULL: its model is moved into m).  @return 0 with
 * m->stage set, or -1 when no parser answered (a temporary fault of
 * ours: logged). */
int engine_parse(struct engine *e, const struct agreement *a,
    const char *bytes, size_t len, const struct envelope_limits *lim,
    accord_time_t now, struct engine_rx *pre, struct model *m);

/* engine_out.c: what we sent, and the partner's answer to it. */
int engine_msg_pending(enum record_msg_state st);
void engine_remember_sent(struct engine *e, const char *partner,
    const char *message_id, const struct fsm_event *ev);
int engine_receipt_take(struct engine *e, const char *partner,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *ans, int commit, const struct model *verified,
    struct engine_rx *pre);

/* engine_metrics.c: the families registered (at open, so a scrape shows
 * them before anything happened); a committed and applied record; a
 * partner's message answered (counted when the answer is an Error). */
void engine_metrics_register(void);
void engine_metrics_record(struct engine *e, enum journal_kind kind,
    accord_time_t time, const char *payload, size_t len,
    const struct engine_msgnote *note);
void engine_metrics_answer(const char *partner,
    const struct engine_answer *ans);

#endif
