/*
 * engine.h -- the daemon's core: every input asks the fsm, is journalled
 * with its decision, committed, applied to the store, and answered.
 *
 * One entry point per kind of input:
 *	engine_receive		a partner's message (inbound)
 *	engine_submit		a business document from the back office
 *	engine_receipt		the partner's answer to one of our messages
 *	engine_deadlines	deadlines that are due
 *	engine_record		a domestic fact recorded by an operator
 *
 * Batches: the entry points append to the journal and keep what they
 * appended in memory; nothing they return may leave the process until
 * engine_flush() has committed the batch (one fsync for all of it) and
 * applied it to the store.  Until then the engine answers lookups from
 * the pending records first, so a duplicate or a second message for the
 * same case in one batch sees the first.  If engine_flush() fails, every
 * answer of the batch is void: the transport answers 503 and the partner
 * retries.
 *
 * Deadlines are computed by the fsm once, journalled with the decision,
 * and never recomputed: a configuration reload does not move them.
 */
#ifndef ACCORD_ENGINE_H
#define ACCORD_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "conf/config.h"
#include "util/errcode.h"
#include "fsm/fsm.h"
#include "msg/model.h"
#include "persist/record.h"
#include "persist/store.h"

struct engine;

/* An answer to a partner (inbound) or to a caller. */
struct engine_answer {
	int		 status;	/* HTTP status for the transport */
	enum accord_err	 code;		/* AE_OK for a Receipt */
	char		 text[256];	/* why, for logs and callers */
	char		*body;		/* signed Receipt or Error; free() */
	size_t		 len;
	char		 message_id[RECORD_ID_MAX];	/* the message answered */
	char		 case_id[RECORD_ID_MAX];
};

/* A message of ours, ready for the outbound transport. */
struct engine_outgoing {
	char		 partner[RECORD_PARTNER_MAX];
	char		 message_id[RECORD_ID_MAX];
	char		 case_id[RECORD_ID_MAX];
	char		*body;		/* the exact signed bytes; free() */
	size_t		 len;
};

/* Longest submit request-id (an idempotency key), with its NUL. */
#define ENGINE_REQUEST_ID_MAX	129

/* What engine_submit() needs besides the document. */
struct engine_submission {
	const char	*partner;	/* ISO 3166 alpha-2 */
	const char	*case_id;	/* NULL or "" for a new case */
	const char	*ref_to;	/* NULL or a received MessageId */
	int		 accelerated;	/* ReadmissionRequest: urgent */
	uid_t		 uid;		/* who submits, for the journal */
	const char	*request_id;	/* NULL, or the back office's
					 * idempotency key (per uid) */
	int		 defer_commit;	/* append only: the caller flushes
					 * (and answers) after engine_flush() */
};

/*
 * Open the journal and store in c->state_dir, load the signing key,
 * apply every journalled record the store has not seen (rebuilding the
 * store when it is missing or refused), and journal the configuration
 * load with the certificates in force.
 * @return the engine, or NULL (logged; the daemon must not start).
 */
struct engine *engine_open(const struct config *c);

/* The same with the signing key in a signer process (msg/signer.h): this
 * process never reads it; sc is the engine's for good. */
struct signer_client;
struct engine *engine_open_signed(const struct config *c,
    struct signer_client *sc);
void engine_close(struct engine *e);

/* Partner XML read by a parser process from now on (msg/parser.h), not
 * in this process; pc stays the caller's. */
struct parser_client;
void engine_set_parser(struct engine *e, struct parser_client *pc);
/* That parser, or NULL when partner XML is read in this process. */
struct parser_client *engine_parser(struct engine *e);

/* Take a reloaded configuration (journalled as a configuration load). */
int engine_set_config(struct engine *e, const struct config *c);

/*
 * A partner's message, from the partner the TLS layer recognised.  Fills
 * a with the signed Receipt (200) or signed Error (4xx), or a plain 503
 * when the fault is ours.  Call engine_flush() before sending a->body.
 * @return 0 when a is filled (whatever the verdict), -1 on our fault.
 */
int engine_receive(struct engine *e, const char *tls_partner,
    const char *bytes, size_t len, struct engine_answer *a);

/*
 * engine_receive() in three steps, so that a parser process reads a
 * message while the loop goes on (a privilege-separated engine, faces/
 * inbound.c): engine_rx_prepare() on the loop takes what the read needs
 * from the configuration and the time of arrival; engine_rx_parse(), on
 * any thread, has the parser read the bytes into rx->m (it touches
 * nothing of the engine but the parser client, which orders its callers);
 * engine_receive_parsed(), on the loop, does all the rest exactly as
 * engine_receive(), judging the message at its time of arrival, and
 * clears rx.  Without a parser process (engine_parser() NULL) there is
 * nothing to prepare: use engine_receive().
 */
struct engine_rx {
	char			 partner[3];
	struct envelope_limits	 lim;
	accord_time_t		 now;
	struct parser_client	*pc;
	int			 rc;	/* parser_client_read()'s */
	struct model		 m;
};
void engine_rx_prepare(struct engine *e, const char *tls_partner,
    struct engine_rx *rx);
void engine_rx_parse(struct engine_rx *rx, const char *bytes, size_t len);
int engine_receive_parsed(struct engine *e, struct engine_rx *rx,
    const char *bytes, size_t len, struct engine_answer *a);

/*
 * A partner's request refused before its body was read (code is
 * AE_TOO_LARGE for a declared length over the limit): a signed Error
 * that names no message, never journalled (nothing was received).
 * @return 0 when a is filled, -1 on our fault.
 */
int engine_refuse_unread(struct engine *e, const char *tls_partner,
    enum accord_err code, const char *text, struct engine_answer *a);

/*
 * A business document (its bytes: one element of the message namespace)
 * to send: validated, wrapped, checked by the fsm, signed, journalled,
 * committed and queued.  On success out holds the message for delivery.
 * With sub->request_id, a second submit by the same uid with the same key
 * and the same request (partner, case, ref, procedure, document) queues
 * nothing and returns 0 with the first one's message and case in a (and
 * out->body NULL); the same key with another request is refused with
 * AE_CONFLICT.  Keys are journalled with the submit and kept for good.
 * @return 0, or -1 with a filled in (code and text for the caller; nothing
 * was journalled).
 */
int engine_submit(struct engine *e, const struct engine_submission *sub,
    const char *doc, size_t len, struct engine_outgoing *out,
    struct engine_answer *a);

/*
 * A submit signed off the event loop (single-process mode with a signing
 * pool, issue 20): engine_submit_async() checks, decides and builds the
 * message on the calling thread and hands it to the pool; the loop goes
 * on.  When signpool's fd (engine_sign_fd()) is readable the loop calls
 * engine_submit_collect(), which journals the signed submits in the
 * order they came (a later one waits for an earlier one still being
 * signed) and calls cb for each with what engine_submit() would have
 * returned.  A submit whose case changed meanwhile, or with a request-id
 * or case a submit still being signed has, is done again from the start
 * at its turn (its answer is the fresh decision's).
 * @return 1 (pending: cb gets tag), or engine_submit()'s 0 or -1 with
 * out and a set (no pool, or answered at once).
 */
typedef void (*engine_submit_cb)(void *arg, void *tag, int rc,
    struct engine_outgoing *out, struct engine_answer *a);
int engine_submit_async(struct engine *e, const struct engine_submission *sub,
    const char *doc, size_t len, void *tag, struct engine_outgoing *out,
    struct engine_answer *a);
void engine_submit_collect(struct engine *e, engine_submit_cb cb, void *arg);
/* The pool's eventfd, or -1 when there is no pool. */
int engine_sign_fd(const struct engine *e);
/* Wait until the pool has signed every submit (then collect them). */
void engine_submit_drain(struct engine *e);
/* Submits being signed or waiting their turn. */
size_t engine_submits_pending(const struct engine *e);

/*
 * The bytes the partner answered to our message (partner, message_id):
 * a signed Receipt makes the message take effect; a signed Error marks it
 * REJECTED; anything else (bad signature, wrong digest, another message's
 * receipt) marks it DISPUTED.  Commits.
 * @return 0 when the answer was taken (see a->code), -1 on our fault.
 */
int engine_receipt(struct engine *e, const char *partner,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *a);

/* As engine_receipt(), but appended to the open batch without a commit:
 * the caller takes several answers, then calls engine_flush() once.
 * Nothing leaves the process on a receipt, so it may wait for the flush;
 * if that fails the message stays in the outbox and is sent again (the
 * partner answers a duplicate with its original receipt). */
int engine_receipt_batched(struct engine *e, const char *partner,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *a);

/* As engine_receipt_batched(), for an answer a reader read already
 * (engine_rx_prepare() and engine_rx_parse() on rx, the partner's): the
 * model is taken as the parser read it, and rx is cleared. */
int engine_receipt_parsed(struct engine *e, struct engine_rx *rx,
    const char *message_id, const char *bytes, size_t len,
    struct engine_answer *a);

/*
 * The outbox, for the outbound transport (which keeps its retry schedule
 * in memory): what is queued and may go by the outbox's own rules
 * (journal order, one message of a case at a time, paused partners
 * skipped), the oldest of one partner (its probe), and when a message of
 * ours was created (its retry window).  @return as store_outbox_due() and
 * store_message_find().
 */
int engine_outbox_due(struct engine *e, accord_time_t now,
    store_outbox_cb cb, void *arg);
/* Partners full(full_arg, partner) says are full skipped (as
 * store_outbox_due_some()). */
int engine_outbox_due_some(struct engine *e, accord_time_t now,
    int (*full)(void *, const char *), void *full_arg, store_outbox_cb cb,
    void *arg);
int engine_outbox_oldest(struct engine *e, const char *partner,
    store_outbox_cb cb, void *arg);
int engine_message_created(struct engine *e, const char *partner,
    const char *message_id, accord_time_t *created);

/*
 * The Receipt we gave for the latest business message partner sent us in
 * case_id: the partner answered one of ours with NOT_YET and waits for
 * it, so the transport posts it as a standalone signal (v2).
 * @return 1 with its bytes in *body (free()) and the id of the message it
 * answers in id, 0 if there is none, -1 on error.
 */
int engine_partner_receipt(struct engine *e, const char *partner,
    const char *case_id, char *id, size_t idlen, char **body, size_t *len);

/*
 * Our message (partner, message_id) sent again without changing its
 * meaning (v2): a Redelivery envelope with a fresh MessageId and Created
 * carrying the original signed bytes.  out->message_id is the original's
 * (the receipt that comes back names it).  Journals nothing: the operator
 * command that sends it (a later issue) journals who asked.
 * @return 0 with out filled, or -1 (logged).
 */
int engine_redelivery_build(struct engine *e, const char *partner,
    const char *message_id, struct engine_outgoing *out);

/* Our message was never delivered within its retry window. */
int engine_undelivered(struct engine *e, const char *partner,
    const char *message_id, const char *reason);

/*
 * Fire the deadlines due before now: a deadline fires at the first
 * second after its due instant, each with its own due time (deadlines
 * that passed while the daemon was down fire at start-up), earliest
 * first, at most ENGINE_DEADLINES_SLICE a call: when that many fired,
 * call again soon (the event loop between).  Commits.  @return the
 * number fired, or -1.
 */
#define ENGINE_DEADLINES_SLICE	100
#define ENGINE_DEADLINE_PAGE	64	/* read from the store at a time */
int engine_deadlines(struct engine *e, accord_time_t now);

/* When the earliest armed deadline fires: the first second after its due
 * instant; 0 if none. */
accord_time_t engine_next_deadline(struct engine *e);

/*
 * An operator records a domestic fact on a case: a protection claim, or
 * its assessment (risk_found).  Journalled with the uid.  Commits.  When
 * the fact suspends, resumes or ends an announced transfer, the partner
 * is told in a ProtectionNotice (protocol v2), queued in *out for the
 * transport (out->body NULL: nothing to send; a->text then says why when
 * the partner could not be told).
 * @return 0, or -1 with a filled in.
 */
int engine_record(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, enum fsm_record fact, int risk_found,
    const char *note, struct engine_outgoing *out, struct engine_answer *a);

/*
 * Commit what the entry points appended (one fsync), then apply it to
 * the store.  @return 0, or -1: nothing of the batch was committed.
 */
int engine_flush(struct engine *e);

/*
 * The store lags the journal: committed records could not be applied
 * (another process holds a write lock, the disk is full...).  They are
 * kept in memory and answer lookups; meanwhile every entry point that
 * would add records refuses (503 / TEMPORARY), a duplicate is still
 * answered from memory, and the daemon calls engine_store_retry() from a
 * timer.  The loop's store connection never waits on a lock.
 * @return engine_store_retry: 0 once the store holds everything, -1 if
 * it still lags.
 */
int engine_store_behind(const struct engine *e);
int engine_store_retry(struct engine *e);

/* Figures for metrics and tests. */
struct engine_stats {
	int		 store_behind;
	size_t		 unapplied;	/* committed, not in the store */
	uint64_t	 apply_failures;
	uint64_t	 person_lookups;	/* find-person answered */
	struct store_busy busy;		/* the loop's store connection */
	uint64_t	 async_commits;	/* fdatasync on the writer thread */
	uint64_t	 loop_syncs;	/* fdatasync on the loop thread */
	uint64_t	 loop_waits;	/* the loop waited for a flight */
	uint64_t	 direct_reads;	/* journal records read one by one */
	uint64_t	 journal_scans;	/* whole-journal readers opened */
};
void engine_stats(const struct engine *e, struct engine_stats *st);

/*
 * Called when a partner proved it is reachable and working (it sent us an
 * authenticated message): the transport reschedules what it holds for
 * that partner at once instead of waiting out its backoff.
 */
typedef void (*engine_partner_cb)(void *arg, const char *partner);
void engine_set_partner_cb(struct engine *e, engine_partner_cb fn,
    void *arg);

/*
 * Group commit without blocking the event loop: engine_flush_start()
 * writes the open batch and leaves its fdatasync to the journal's writer
 * thread (one flight at a time; asked again while one flies, it starts
 * the next batch when the flight lands).  When engine_commit_fd() is
 * readable the daemon calls engine_commit_done(): the flight's records
 * are committed and applied, or void, and the commit callback is told
 * which batch landed and how -- also when a synchronous engine_flush()
 * landed it.  engine_batch_settled() says whether a batch's fate is
 * known (then engine_batch_committed() says which).
 */
typedef void (*engine_commit_cb)(void *arg, uint64_t batch, int ok);
enum engine_flush {
	ENGINE_FLUSH_FAILED = -1,	/* the batch failed at once and is
					 * void (the callback was told) */
	ENGINE_FLUSH_STARTED = 0,	/* started, or queued behind the
					 * flight */
	ENGINE_FLUSH_NOTHING = 1	/* nothing to commit */
};
enum engine_flush engine_flush_start(struct engine *e);
int engine_commit_fd(struct engine *e);
void engine_commit_done(struct engine *e);
int engine_batch_settled(const struct engine *e, uint64_t batch);
void engine_set_commit_cb(struct engine *e, engine_commit_cb fn, void *arg);

/*
 * Batches are numbered.  engine_batch() is the batch the entry points are
 * appending to now; any engine_flush() (the inbound's, or one a control
 * command makes) closes it.  After a flush, engine_batch_committed() says
 * whether a given batch reached the disk: an answer may leave only then.
 */
uint64_t engine_batch(const struct engine *e);
int engine_batch_committed(const struct engine *e, uint64_t batch);

/* Lookups, pending records first. @return 1 found, 0 not, -1 error. */
int engine_case_get(struct engine *e, const char *partner,
    const char *case_id, struct fsm_case *out);

/*
 * The exact signed bytes of a message of ours, from its journal record
 * seq (store_outbox's journal_seq), for the outbound transport after a
 * restart.  Reads the journal from its start: callers keep the bytes of
 * messages submitted in this process in memory instead.
 * @return 0 with *out (NUL-terminated, free()) and *len, or -1.
 */
int engine_message_bytes(struct engine *e, uint64_t seq, char **out,
    size_t *len);

/*
 * Operator commands (control socket, issue 7).  Each is journalled with
 * the caller's uid as a JOURNAL_OPERATOR_COMMAND beside its own record,
 * and committed before it returns.  @return 0 with a->text set, or -1 with
 * a->code and a->text (nothing was journalled).
 *
 * engine_inbox_ack: the back office took a received business message
 * (JOURNAL_INBOX_ACK); it leaves the inbox.  Acknowledging it again is
 * not an error and journals nothing.
 * engine_pause: stop (paused 1) or restart delivery to a partner
 * (JOURNAL_PARTNER_PAUSE); the store's outbox skips a paused partner.
 * engine_resend: an UNDELIVERED or DISPUTED message of ours goes back to
 * QUEUED with its original bytes (JOURNAL_MESSAGE_STATE); the outbox
 * takes it at once.  Refused when its case reached a final state.
 */
int engine_inbox_ack(struct engine *e, uid_t uid, const char *partner,
    const char *message_id, struct engine_answer *a);
int engine_pause(struct engine *e, uid_t uid, const char *partner,
    int paused, struct engine_answer *a);
int engine_resend(struct engine *e, uid_t uid, const char *partner,
    const char *message_id, struct engine_answer *a);

/*
 * Personal data is about to be shown to uid: journal who saw what
 * (JOURNAL_OPERATOR_COMMAND with "reveal": true, the command, partner,
 * case and message) and commit.  The caller shows nothing unless this returns
 * 0.  @return 0, or -1.
 */
int engine_reveal_journal(struct engine *e, uid_t uid, const char *command,
    const char *partner, const char *case_id, const char *message_id);

/*
 * Told of every record once it is committed and applied to the store, in
 * journal order; for the control socket's streams (inbox --follow,
 * monitor).  It must not call the engine's entry points.  One observer;
 * NULL removes it.
 */
typedef void (*engine_observer)(void *arg, enum journal_kind kind,
    uint64_t seq, accord_time_t time, const char *payload, size_t len);
void engine_set_observer(struct engine *e, engine_observer fn, void *arg);

/*
 * Trusted time (faces/tsaclient.c): the latest checkpoint this process
 * committed (@return 1 with the seq it covers and its chain hash, 0 if
 * none yet), and an RFC 3161 token over it journalled as a TIMESTAMP
 * record, committed without blocking (engine_flush_start()).
 * @return engine_timestamp: 0, or -1 (logged; nothing journalled).
 */
int engine_latest_checkpoint(struct engine *e, uint64_t *seq,
    uint8_t chain[JOURNAL_HASH_LEN]);
int engine_timestamp(struct engine *e, uint64_t seq,
    const uint8_t chain[JOURNAL_HASH_LEN], const char *tsa,
    const uint8_t *token, size_t len);

/* Free an answer's or outgoing message's body. */
void engine_answer_clear(struct engine_answer *a);
void engine_outgoing_clear(struct engine_outgoing *o);

/*
 * Encryption at rest (engine_seal.c), admin commands, each journalled
 * (OPERATOR_COMMAND with the uid and the reason) before it acts:
 *
 * rotate the master key: every case key re-wrapped, the old master key
 * destroyed (keystore.h).  With done NULL all of it at once: @return 0,
 * or -1 with ans.  Otherwise it is begun: @return 1 with ans (started),
 * and engine_rotate_step() does the rest a slice at a time, then calls
 * done once, with the answer of the end (or of a failed slice).
 *
 * give one case's key (*keytext, free(); the text of an exported key,
 * keystore.h) to an auditor.  @return 0, or -1 with ans.
 */
int engine_rotate_master_key(struct engine *e, uid_t uid, const char *reason,
    void (*done)(void *arg, const struct engine_answer *a), void *arg,
    struct engine_answer *ans);
/*
 * One slice of a rotation under way (begun by the command, or by a start
 * that found one a crash interrupted): at most ENGINE_ROTATE_SLICE keys.
 * @return 1 when more is left (call again once the loop has run), 2 when
 * it waits for keys.db's checkpoint (call again in a few ms), 0 when none
 * is under way or this slice finished it, -1 when it failed (it stays
 * under way: try again later).
 */
#define ENGINE_ROTATE_SLICE	256
int engine_rotate_step(struct engine *e);
/* Is a rotation under way? */
int engine_rotating(const struct engine *e);
int engine_export_key(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, const char *reason, char **keytext,
    struct engine_answer *ans);
/*
 * Subject access (issue 19 item 5, engine_person.c): index the person p
 * a message of partner's case case_id names (nothing without <keys> or a
 * person); and find the cases of a person (given NULL: by surname and
 * birth date), journalled with uid, reason and the keyed hash, never the
 * name, before *cases (an array of {"partner","case"}; json_decref) is
 * given.  @return 0, or -1 with ans.
 */
struct model_person;
void engine_person_index(struct engine *e, const char *partner,
    const char *case_id, const struct model_person *p);
int engine_find_person(struct engine *e, uid_t uid, const char *surname,
    const char *given, const char *birth, const char *reason,
    json_t **cases, struct engine_answer *ans);
/*
 * Crypto-shredding (issue 19 item 4, the operator's command): delete the
 * keys of a final case (its own and every one its sealed records name),
 * journalled with uid, reason and key ids before.  The case's state,
 * dates and decisions stay; its messages can no longer be read.
 * @return 0, or -1 with ans.
 */
int engine_erase(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, const char *reason, struct engine_answer *ans);
/*
 * Legal hold (issue 19 item 4): hold 1 puts a case on hold, 0 releases
 * it; journalled with uid and reason.  A held case is erased neither by
 * engine_erase() nor by the retention job.  @return 0, or -1 with ans.
 */
int engine_hold(struct engine *e, uid_t uid, const char *partner,
    const char *case_id, const char *reason, int hold,
    struct engine_answer *ans);
/*
 * The retention job (engine_retain.c): at start-up and once a day of the
 * clock, erase the cases whose agreement's retention period has ended
 * and that are not on hold, at most a slice per call.  Call it from the
 * loop's timer.  @return 1 when more may be due (call again soon), 0,
 * or -1 (logged; it tries again in an hour).
 */
int engine_retain(struct engine *e, accord_time_t now);

#endif
