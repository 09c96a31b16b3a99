/*
 * accord.pml -- Promela model of the Accord exchange protocol: one
 * readmission case between two gateways, R (requesting) and Q (requested).
 *
 * model/README.md says what is modelled, which abstractions are made and
 * how each property is expressed.  The case transitions are not written
 * here: they come from gateway/fsm/fsm.c's fsm_table[] through fsm_gen.pml,
 * which model/gen_fsm.sh generates, so the model runs the gateway's rows.
 *
 * Protocol variants
 *   (default)          the fixed protocol (v2), README.md "The rule";
 *   -DOLD_PROTOCOL     today's protocol (v1): a message the case's state
 *                      does not allow gets a final NOT_ALLOWED_IN_STATE,
 *                      Receipts count only for SENT messages, no hold-back
 *                      of silence, an undelivered opening closes the case,
 *                      due deadlines do not fire before a message is
 *                      decided.
 *   -DNARROW_NOT_YET   the v2 rule as first proposed: NOT_YET only while
 *                      the receipt of the referenced message is missing
 *                      (fails S4b; kept to show why the rule is wider);
 *   -DBROAD_NOT_YET    NOT_YET whenever a message of ours in the case is
 *                      pending, allowed by its receipt or not (what
 *                      engine_in.c's engine_awaiting_receipt() does);
 *   -DNOT_SENT_REVIVES an undelivered opening closes the case NOT_SENT
 *                      (engine_undelivered()), a late Receipt is taken
 *                      whatever the case state and fsm.c's row NOT_SENT +
 *                      ReadmissionRequest reopens it; no Redelivery in a
 *                      final case (fails S1 once healed: README.md).
 * Mutations of the fixed protocol, each of which a property must catch:
 *   -DMUT_NO_OVERLAY          duplicate and idempotency-key lookups read
 *                             the store only, not the overlay (S2, S3);
 *   -DMUT_DEDUP_OUTER         duplicates judged by the outer (Redelivery)
 *                             envelope instead of the inner id (S2);
 *   -DMUT_UNDELIVERED_CLOSES  an undelivered opening closes the case
 *                             NOT_SENT, as engine_undelivered() does (S1);
 *   -DMUT_NO_HOLDBACK         a pending timely reply does not hold back
 *                             silence-means-consent (S1);
 *   -DMUT_NO_WINDOW_END       a retry window never ends (L1).
 * Property switches: -DS1_OFF ... -DS4b_OFF, -DONLY_S4, -DPROPS_OFF.
 */

/* ---- bounds (each may be set with -D) ------------------------------------ */
#ifndef CAP
#define CAP		2	/* packets each way's channel holds */
#endif
#ifndef RETRIES
#define RETRIES		2	/* retransmissions after the first send */
#endif
#ifndef CRASHES
#define CRASHES		1	/* crashes of each side */
#endif
#ifndef STORE_FAILS
#define STORE_FAILS	1	/* failed store applies, both sides together */
#endif
#ifndef LAGS
#define LAGS		1	/* commits the store applies late */
#endif
#ifndef OUTAGES
#define OUTAGES		1	/* times a link goes down, one way, for a
				 * while: all sent that way meanwhile is lost
				 * (a single loss is a short outage; one-way
				 * loss: every answer to R's attempts) */
#endif
#ifndef LOSSES
#define LOSSES		0	/* further single packets lost */
#endif
#ifndef DUPS
#define DUPS		1	/* business messages duplicated on the wire */
#endif
#ifndef REORDERS
#define REORDERS	1	/* packets overtaken on the wire */
#endif
#ifndef ANSWER_LOSS
#define ANSWER_LOSS	0	/* control answers lost to a back office */
#endif
#ifndef REDELIVER
#define REDELIVER	0	/* operator Redeliveries per message while the
				 * network misbehaves */
#endif
#ifndef HEAL_REDELIVER
#define HEAL_REDELIVER	2	/* further Redeliveries once it is healed */
#endif
#ifndef SILENCE_CONSENT
#define SILENCE_CONSENT	1	/* the agreement: silence means consent */
#endif

#define SIDE_R		0
#define SIDE_Q		1
#define PEER(x)		(1 - (x))
#define SIDE_CH(x)	((x) == SIDE_R -> 'R' : 'Q')

#include "fsm_gen.pml"

/* Bit sets in a byte. */
#define BIT(b)		(1 << (b))
#define HAS(v, b)	(((v) >> (b)) & 1)
#define ADD(v, b)	v = (v) | BIT(b)
#define DEL(v, b)	v = (v) & ~BIT(b)

/* ---- messages ---------------------------------------------------------------
 * Three business messages, numbered as their fsm triggers:
 *   REQ  ReadmissionRequest (R -> Q): opens the case;
 *   REP  ReadmissionReply (Q -> R): accepts or refuses; refers to REQ;
 *   TN   TransferNotice (R -> Q): after acceptance; refers to REP when R
 *        holds REP, to nothing when the acceptance came from silence.
 * Who sends which comes from fsm_senders[] (SENDER_*).
 */
#define REQ		T_REQ
#define REP		T_REP
#define TN		T_TN
#define NMSG		3
#define NOREF		3
#define OWNER(m)	((m) == REQ -> SENDER_REQ : ((m) == REP -> SENDER_REP : SENDER_TN))
#define RECEIVER(m)	PEER(OWNER(m))
#define REF(m)		((m) == REP -> REQ : \
			 (((m) == TN && tn_ref_rep) -> REP : NOREF))

/* A message's state on its sender's side (the outbox, journalled). */
mtype = { MS_NONE, QUEUED, SENT, RECEIPTED, REJECTED, UNDELIVERED };
/* Packets: a business message; a Receipt; a signed Error, final
 * (NOT_ALLOWED_IN_STATE) or retryable (NOT_YET). */
mtype = { BIZ, RCPT, ERR_FINAL, ERR_NOTYET };
/* A back office's submit of one message (one idempotency key). */
mtype = { BO_IDLE, BO_WAIT, BO_ACKED, BO_DONE };

/* Packet flags. */
#define F_RESP		1	/* a signal in the HTTP answer to a POST */
#define F_REDELIV	2	/* a business message inside a Redelivery */

/* net[x]: what travels to side x.  Loss, duplication, delay and
 * overtaking are the environment's bounded doing. */
chan net[2] = [CAP] of { mtype, byte, byte };

/* ---- committed state: each side's journal ------------------------------- */
mtype cs[2] = NONE;		/* each side's case state */
mtype ms[NMSG] = MS_NONE;	/* each message's state at its sender */
bit rep_pos;			/* REP accepts (journalled with REP) */
bit tn_ref_rep;			/* TN's RefToMessageId is REP */
byte refused;			/* bit m: m's receiver gave it a final Error */
byte redl[NMSG];		/* Redeliveries of m so far */

/*
 * Records that lookups read back, kept three times: in the journal
 * (jrec, the truth), applied to the store (srec), and in the in-memory
 * overlay of committed records the store has not applied yet (orec,
 * volatile, rebuilt from the journal at start-up).  Records:
 *   SEEN(m)  on m's receiver: m took effect, a Receipt was given;
 *   KEY(m)   on m's sender: the submit with m's idempotency key.
 */
#define SEEN(m)		(m)
#define KEY(m)		((m) + NMSG)
#define NREC		6
#define RSIDE(r)	((r) < NMSG -> RECEIVER(r) : OWNER((r) - NMSG))
byte jrec;
byte srec;
byte orec;
byte sdown;			/* bit x: x's store cannot apply (inbound
				 * answers 503, control TEMPORARY) */
#ifdef MUT_NO_OVERLAY
#define LOOKUP(r)	HAS(srec, r)
#else
#define LOOKUP(r)	(HAS(srec, r) || HAS(orec, r))
#endif
#define MASK(x)		((RSIDE(0) == (x) -> 1 : 0) | (RSIDE(1) == (x) -> 2 : 0) | \
			 (RSIDE(2) == (x) -> 4 : 0) | (RSIDE(3) == (x) -> 8 : 0) | \
			 (RSIDE(4) == (x) -> 16 : 0) | (RSIDE(5) == (x) -> 32 : 0))
#define OVL(x)		(orec & MASK(x))	/* side x's overlay */
#ifdef MUT_DEDUP_OUTER
byte seen_outer;		/* bit m: m took effect from a Redelivery */
#endif

/* ---- volatile state: lost in a crash -------------------------------------- */
byte retries[NMSG];		/* retransmissions in the current window */
byte post;			/* bit m: m's receiver is to POST its stored
				 * Receipt for m (a NOT_YET asked for it) */

/* ---- time, people, the environment's budgets ------------------------------ */
bit dl_passed;			/* the reply deadline's instant has passed */
mtype bo[NMSG] = BO_IDLE;	/* each message's back-office submit */
bit bo_pos;			/* what Q's back office answers */
byte phase;			/* 0 network misbehaves, 1 healed, 2 done */
byte crashes = (CRASHES << 4) | CRASHES;	/* R's in the high nibble */
byte store_fails = STORE_FAILS;
byte lags = LAGS;
byte outages = OUTAGES;
byte link;			/* bit x: the way to x is down */
byte losses = LOSSES;
byte dups = DUPS;
byte reorders = REORDERS;
byte ans_loss = ANSWER_LOSS;
#define CRASHES_LEFT(x)	((x) == SIDE_R -> (crashes >> 4) : (crashes & 15))
#define CRASH_USE(x)	crashes = crashes - ((x) == SIDE_R -> 16 : 1)

/* Ghost: copies of business message m on the wire.  A function of the
 * channels' contents, so it adds no states. */
byte inflight[NMSG];

/* Scratch of the atomic steps: not part of the state. */
hidden byte pk, pm, pf, nx, c1, c2, i, j, could, couldref, lagnow;

/* ---- derived predicates ------------------------------------------------------ */

/* A message of ours that may still take effect. */
#define OPEN(m)		(ms[m] == QUEUED || ms[m] == SENT || ms[m] == UNDELIVERED)

/* The reply deadline is due on side x and the rules let it fire.  Fixed
 * protocol: on the side that sends REP (Q), a reply created before the
 * deadline that is not settled holds silence-means-consent back; if it
 * ends UNDELIVERED the case never becomes DEEMED_ACCEPTED there. */
#if defined(OLD_PROTOCOL) || defined(MUT_NO_HOLDBACK)
#define HELD(x)		0
#else
#define HELD(x)		(OWNER(REP) == (x) && OPEN(REP))
#endif
#define DUE(x)		(cs[x] == PENDING_REPLY && dl_passed && !HELD(x))

/* Nothing on the wire and nothing about to be put there. */
#define QUIET		(len(net[0]) == 0 && len(net[1]) == 0 && post == 0)

/* Both sides settled: no message queued, sent or undelivered, nothing on
 * the wire, no deadline due.  S1: then both hold the same case state. */
#define SETTLED		(QUIET && !OPEN(REQ) && !OPEN(REP) && !OPEN(TN) && \
			 !DUE(SIDE_R) && !DUE(SIDE_Q))

/* The sender takes a Receipt or a final Error for m.  Fixed protocol: also
 * once the retry window has ended (UNDELIVERED) or while an operator's
 * Redelivery waits (QUEUED again), until the case is final. */
#if defined(OLD_PROTOCOL)
#define TAKES_ANSWER(m)	(ms[m] == SENT)
#elif defined(NOT_SENT_REVIVES)
#define TAKES_ANSWER(m)	(ms[m] == SENT || ms[m] == UNDELIVERED || \
			 (ms[m] == QUEUED && redl[m] > 0))
#else
#define TAKES_ANSWER(m)	(ms[m] == SENT || ((ms[m] == UNDELIVERED || \
			 (ms[m] == QUEUED && redl[m] > 0)) && \
			 !FINAL(cs[OWNER(m)])))
#endif

/* An operator may redeliver m (refused for a message of a final case). */
#define REDELIVERABLE(m) (ms[m] == UNDELIVERED && !FINAL(cs[OWNER(m)]) && \
			 redl[m] < (phase == 0 -> REDELIVER : \
			 REDELIVER + HEAL_REDELIVER))

/* Retries and the end of a window may come at any time while the network
 * misbehaves.  Once it is healed, operators first redeliver what is
 * UNDELIVERED, and a retry comes only when every queued message has left
 * and every packet has been answered (a healthy network carries a round
 * trip within one retry interval), and the timers of all messages run at
 * one pace: none retries while another sent one is behind it. */
#define CALM		(phase == 0 || (QUIET && \
			 ms[REQ] != QUEUED && !REDELIVERABLE(REQ) && \
			 ms[REP] != QUEUED && !REDELIVERABLE(REP) && \
			 ms[TN] != QUEUED && !REDELIVERABLE(TN)))
#define BEHIND(o, m)	(ms[o] == SENT && retries[o] < retries[m])
#define TURN(m)		(phase == 0 || !(BEHIND(0, m) || BEHIND(1, m) || \
			 BEHIND(2, m)))

/* ---- properties ---------------------------------------------------------------
 * CHECK(cond, P) asserts cond for property P; a violation reads
 * "assertion violated (P||...)" (P is a hidden 0).  P_OFF switches P off. */
hidden byte S1, S2, S3, S4, S4b, FSMROW;
#if defined(ONLY_S4) || defined(PROPS_OFF)
#define S1_OFF		1
#define S2_OFF		1
#define S3_OFF		1
#define S4b_OFF		1
#define FSMROW_OFF	1
#endif
#ifdef PROPS_OFF
#define S4_OFF		1
#endif
#ifndef S1_OFF
#define S1_OFF		0
#endif
#ifndef S2_OFF
#define S2_OFF		0
#endif
#ifndef S3_OFF
#define S3_OFF		0
#endif
#ifndef S4_OFF
#define S4_OFF		0
#endif
#ifndef S4b_OFF
#define S4b_OFF		0
#endif
#ifndef FSMROW_OFF
#define FSMROW_OFF	0
#endif
#define CHECK(c, p)	assert(p || p##_OFF || (c))

/* Checked at the end of every step, hence in every reachable state. */
inline inv()
{
	/* S1: settled sides hold the same case state */
	CHECK(!SETTLED || cs[SIDE_R] == cs[SIDE_Q], S1);
	/* S3: an acknowledged submit is a committed message */
	CHECK(bo[REQ] != BO_ACKED || ms[REQ] != MS_NONE, S3);
	CHECK(bo[REP] != BO_ACKED || ms[REP] != MS_NONE, S3);
	CHECK(bo[TN] != BO_ACKED || ms[TN] != MS_NONE, S3)
}

/* ---- trace output (spin -t; pan prints nothing) ---------------------------- */
mtype = { ReadmissionRequest, ReadmissionReply, TransferNotice };
#define NAME(m)		((m) == REQ -> ReadmissionRequest : \
			 ((m) == REP -> ReadmissionReply : TransferNotice))

/* ---- the store ----------------------------------------------------------------- */

/* Commit record r: journalled; applied now, or (lagnow, budget left) kept
 * in the overlay until the store applies it. */
inline commit_rec(r)
{
	ADD(jrec, r);
	if
	:: lagnow && lags > 0 -> ADD(orec, r); lags--
	:: else -> ADD(srec, r)
	fi
}

/* Side x's store applies the overlay. */
inline store_apply(x)
{
	srec = srec | OVL(x);
	orec = orec & ~OVL(x)
}

/* ---- the wire ------------------------------------------------------------------- */

/* Put a packet on the way to side y (the caller made room); while that
 * way is down it is lost. */
inline transmit(y, k, m, f)
{
	if
	:: HAS(link, y) ->
		printf("MSC:   %c -> %c: %e %e: lost, the way is down\n",
		    SIDE_CH(PEER(y)), SIDE_CH(y), k, NAME(m))
	:: else ->
		printf("MSC:   %c -> %c: %e %e\n", SIDE_CH(PEER(y)), SIDE_CH(y),
		    k, NAME(m));
		net[y]!k, m, f;
		if
		:: k == BIZ -> inflight[m]++
		:: else -> skip
		fi
	fi
}

/* Side x answers the partner's POST; an answer that finds the way full
 * is lost like a dropped connection (the sender's retry covers it). */
inline answer(x, k, m)
{
	if
	:: nfull(net[PEER(x)]) -> transmit(PEER(x), k, m, F_RESP)
	:: full(net[PEER(x)]) -> skip
	fi
}

/* ---- the case machine ------------------------------------------------------------ */

/* The reply deadline fires on side x. */
inline fire(x)
{
	fsm_next(cs[x], T_DL_REPLY, 0, 1, nx);
	CHECK(nx != NOPE, FSMROW);
	printf("MSC: %c: reply deadline fires: %e -> %e\n", SIDE_CH(x),
	    cs[x], nx);
	cs[x] = nx
}

/* could = 1 if a message of x's own that may still take effect (queued,
 * sent, undelivered) would, once receipted, let m be allowed; couldref
 * the same for the message m refers to alone. */
inline could_allow(x, m)
{
	could = 0;
	couldref = 0;
	j = 0;
	do
	:: j < NMSG ->
		if
		:: OWNER(j) == x && OPEN(j) ->
			fsm_next(cs[x], j, rep_pos, 1, c1);
			fsm_next(c1, m, rep_pos, 1, c2);
			if
			:: c1 != NOPE && c2 != NOPE ->
				could = 1;
				couldref = couldref || REF(m) == j
			:: else -> skip
			fi
		:: else -> skip
		fi;
		j++
	:: else -> break
	od
}

/* The fixed protocol answers NOT_YET when a message of ours still pending
 * would allow m; the first proposal did only for the one m refers to. */
#if defined(NARROW_NOT_YET)
#define NOT_YET_RULE	couldref
#elif defined(BROAD_NOT_YET)
#define NOT_YET_RULE	(OWNER(REQ) == x && OPEN(REQ) || OWNER(REP) == x && \
			 OPEN(REP) || OWNER(TN) == x && OPEN(TN))
#else
#define NOT_YET_RULE	could
#endif

/* Side x does not allow m in its case state. */
inline refuse(x, m)
{
	could_allow(x, m);
#ifndef OLD_PROTOCOL
	if
	:: NOT_YET_RULE ->
		/* not for good: the partner keeps trying */
		printf("MSC: %c: %e not allowed in %e yet: NOT_YET (retryable)\n",
		    SIDE_CH(x), NAME(m), cs[x]);
		answer(x, ERR_NOTYET, m)
	:: else ->
#endif
		/* S4: a final refusal is never one that the Receipt of the
		 * message m refers to -- ours, not yet receipted -- would
		 * have turned into an acceptance. */
		if
		:: REF(m) != NOREF && OWNER(REF(m)) == x && OPEN(REF(m)) ->
			fsm_next(cs[x], REF(m), rep_pos, 1, c1);
			fsm_next(c1, m, rep_pos, 1, c2);
			CHECK(c1 == NOPE || c2 == NOPE, S4)
		:: else -> skip
		fi;
		/* S4b: nor one that any other pending event on our side (a
		 * message of ours taking effect, a due deadline) would. */
		CHECK(!could, S4b);
		if
		:: DUE(x) ->
			fsm_next(cs[x], T_DL_REPLY, 0, 1, c1);
			fsm_next(c1, m, rep_pos, 1, c2);
			CHECK(c2 == NOPE, S4b)
		:: else -> skip
		fi;
		/* a final Error never follows a Receipt for the same m */
		CHECK(!HAS(jrec, SEEN(m)), S1);
		printf("MSC: %c: %e not allowed in %e: NOT_ALLOWED_IN_STATE (final)\n",
		    SIDE_CH(x), NAME(m), cs[x]);
		ADD(refused, m);
		answer(x, ERR_FINAL, m)
#ifndef OLD_PROTOCOL
	fi
#endif
}

/* Side x receives business message m (flags f). */
inline on_biz(x, m, f)
{
	if
	:: HAS(sdown, x) ->
		skip		/* 503: the store cannot apply; nothing journalled */
	:: else ->
#ifndef OLD_PROTOCOL
		/* a deadline already due fires before the message is decided */
		if
		:: DUE(x) -> fire(x)
		:: else -> skip
		fi;
#endif
		if
#ifdef MUT_DEDUP_OUTER
		:: LOOKUP(SEEN(m)) && HAS(seen_outer, m) == ((f & F_REDELIV) != 0) ->
#else
		:: LOOKUP(SEEN(m)) ->
#endif
			/* a duplicate by its inner MessageId: the stored
			 * Receipt again, no second effect */
			answer(x, RCPT, m)
		:: else ->
			if
			:: HAS(refused, m) -> answer(x, ERR_FINAL, m)
			:: else ->
				fsm_next(cs[x], m, rep_pos, 1, nx);
				if
				:: nx != NOPE ->
					/* S2: m takes effect once */
					CHECK(!HAS(jrec, SEEN(m)), S2);
					printf("MSC: %c: takes %e: %e -> %e, gives its Receipt\n",
					    SIDE_CH(x), NAME(m), cs[x], nx);
					cs[x] = nx;
					commit_rec(SEEN(m));
#ifdef MUT_DEDUP_OUTER
					if
					:: f & F_REDELIV -> ADD(seen_outer, m)
					:: else -> skip
					fi;
#endif
					answer(x, RCPT, m)
				:: else -> refuse(x, m)
				fi
			fi
		fi
	fi
}

/* Side x, m's sender, gets a Receipt for m. */
inline on_receipt(x, m)
{
	if
	:: TAKES_ANSWER(m) ->
		fsm_next(cs[x], m, rep_pos, 1, nx);
		/* S1: the sender runs the transition the receiver ran */
		CHECK(nx != NOPE, S1);
		printf("MSC: %c: Receipt for %e (was %e): %e -> %e\n", SIDE_CH(x),
		    NAME(m), ms[m], cs[x], nx);
		cs[x] = nx;
		ms[m] = RECEIPTED;
		retries[m] = 0
	:: else -> skip		/* a duplicate, or too late */
	fi
}

/* Side x, m's sender, gets a signed Error for m. */
inline on_error(x, m, final)
{
	if
	:: final && TAKES_ANSWER(m) ->
		printf("MSC: %c: %e REJECTED\n", SIDE_CH(x), NAME(m));
		ms[m] = REJECTED;
		retries[m] = 0;
		if
		:: m == OPENING && cs[x] == SUBMITTED ->
			fsm_next(cs[x], T_FAIL, 0, 1, nx);
			cs[x] = nx
		:: else -> skip
		fi
	:: !final && (ms[m] == SENT || ms[m] == UNDELIVERED) ->
		/* NOT_YET: keep retrying, and POST our stored Receipt for
		 * the message m refers to, if we hold one */
		if
		:: REF(m) != NOREF && HAS(jrec, SEEN(REF(m))) ->
			if
			:: nfull(net[PEER(x)]) -> transmit(PEER(x), RCPT, REF(m), 0)
			:: full(net[PEER(x)]) -> ADD(post, REF(m))	/* later */
			fi
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* Side x's control socket takes the submit of m (m's idempotency key).
 * answered: the back office gets the answer, else it is lost and the
 * back office will submit again with the same key. */
inline submit(x, m, answered)
{
	if
	:: LOOKUP(KEY(m)) ->
		skip		/* a retry: the message exists already */
	:: else ->
		/* S3: a retried submit never makes a second message */
		CHECK(!HAS(jrec, KEY(m)), S3);
		if
		:: m == OPENING && cs[x] == NONE -> fsm_next(cs[x], m, 1, 1, nx)
		:: m == OPENING && cs[x] != NONE -> nx = NOPE	/* CASE_EXISTS */
		:: m != OPENING -> fsm_next(cs[x], m, bo_pos, !dl_passed, nx)
		fi;
		if
		:: nx != NOPE ->
			commit_rec(KEY(m));
			ms[m] = QUEUED;
			if
			:: m == OPENING -> cs[x] = SUBMITTED
			:: m == REP -> rep_pos = bo_pos
			:: m == TN -> tn_ref_rep = HAS(jrec, SEEN(REP))
			:: else -> skip
			fi;
			printf("MSC: %c: %e submitted: QUEUED\n", SIDE_CH(x),
			    NAME(m))
		:: else -> skip	/* refused: too late, or not allowed */
		fi
	fi;
	if
	:: answered && HAS(jrec, KEY(m)) -> bo[m] = BO_ACKED
	:: answered && !HAS(jrec, KEY(m)) -> bo[m] = BO_DONE
	:: else -> skip
	fi;
	if
	:: bo[m] != BO_WAIT -> bo_pos = 0	/* no longer needed */
	:: else -> skip
	fi
}

/* Side x takes the packet at the head of its way. */
inline on_packet(x)
{
	net[x]?pk, pm, pf;
	if
	:: pk == BIZ ->
		inflight[pm]--;
		on_biz(x, pm, pf)
	:: pk != BIZ && HAS(sdown, x) && !(pf & F_RESP) ->
		skip		/* a standalone signal gets 503 */
	:: else ->
		if
		:: pk == RCPT -> on_receipt(x, pm)
		:: pk == ERR_FINAL -> on_error(x, pm, 1)
		:: pk == ERR_NOTYET -> on_error(x, pm, 0)
		fi
	fi;
	pk = 0; pm = 0; pf = 0
}

/* ---- a gateway ----------------------------------------------------------------------- */

/* What an undelivered opening does to the case.  Today: NOT_SENT, final
 * (engine_undelivered()).  Fixed: the case stays SUBMITTED, open for the
 * operator's Redelivery and for a late Receipt. */
#if defined(OLD_PROTOCOL) || defined(MUT_UNDELIVERED_CLOSES) || \
    defined(NOT_SENT_REVIVES)
#define UNDELIVERED_OPENING(x, m) \
	if \
	:: m == OPENING && cs[x] == SUBMITTED -> \
		fsm_next(cs[x], T_FAIL, 0, 1, nx); cs[x] = nx \
	:: else -> skip \
	fi
#else
#define UNDELIVERED_OPENING(x, m)	skip
#endif

#ifdef MUT_NO_WINDOW_END
#define WINDOW_ENDS	0
#else
#define WINDOW_ENDS	1
#endif

/* The steps of side x for its own message m. */
#define OUTBOUND(x, m) \
	/* the control socket takes a submit, or takes it and the answer \
	 * is lost; the commit may be applied to the store late */ \
	:: d_step { bo[m] == BO_WAIT && OWNER(m) == x && !HAS(sdown, x) -> \
		lagnow = 0; submit(x, m, 1); inv() } \
	:: d_step { bo[m] == BO_WAIT && OWNER(m) == x && !HAS(sdown, x) && \
	    lags > 0 && !HAS(jrec, KEY(m)) -> \
		lagnow = 1; submit(x, m, 1); lagnow = 0; inv() } \
	:: d_step { bo[m] == BO_WAIT && OWNER(m) == x && !HAS(sdown, x) && \
	    ans_loss > 0 && phase == 0 && !HAS(jrec, KEY(m)) -> \
		lagnow = 0; ans_loss--; submit(x, m, 0); inv() } \
	/* first send: QUEUED -> SENT */ \
	:: d_step { ms[m] == QUEUED && OWNER(m) == x && nfull(net[PEER(x)]) -> \
		transmit(PEER(x), BIZ, m, (redl[m] > 0 -> F_REDELIV : 0)); \
		ms[m] = SENT; retries[m] = 0; inv() } \
	/* a retry, once the previous attempt has left the wire */ \
	:: d_step { ms[m] == SENT && OWNER(m) == x && retries[m] < RETRIES && \
	    inflight[m] == 0 && nfull(net[PEER(x)]) && CALM && TURN(m) -> \
		transmit(PEER(x), BIZ, m, (redl[m] > 0 -> F_REDELIV : 0)); \
		retries[m]++; inv() } \
	/* the retry window ends */ \
	:: d_step { WINDOW_ENDS && ms[m] == SENT && OWNER(m) == x && \
	    retries[m] >= RETRIES && inflight[m] == 0 && CALM && TURN(m) -> \
		printf("MSC: %c: %e UNDELIVERED (retry window over)\n", \
		    SIDE_CH(x), NAME(m)); \
		ms[m] = UNDELIVERED; retries[m] = 0; \
		UNDELIVERED_OPENING(x, m); inv() }

/* Side x POSTs its stored Receipt for m (held back by a full way). */
#define POST(x, m) \
	:: d_step { HAS(post, m) && RECEIVER(m) == x && nfull(net[PEER(x)]) -> \
		transmit(PEER(x), RCPT, m, 0); DEL(post, m); inv() }

inline gateway(x)
{
end_idle:
	do
	OUTBOUND(x, REQ)
	OUTBOUND(x, REP)
	OUTBOUND(x, TN)
	POST(x, REQ)
	POST(x, REP)
	POST(x, TN)
	/* the reply deadline fires */
	:: d_step { DUE(x) -> fire(x); inv() }
	/* a packet arrives ... */
	:: d_step { nempty(net[x]) -> lagnow = 0; on_packet(x); inv() }
	/* ... and what it commits is applied to the store late */
	:: d_step { nempty(net[x]) && lags > 0 && net[x]?[BIZ, _, _] ->
		lagnow = 1; on_packet(x); lagnow = 0; inv() }
	od
}

/* (end: a gateway may wait for ever: that is a valid end state) */
active proctype R() { end: gateway(SIDE_R) }
active proctype Q() { end: gateway(SIDE_Q) }

/* ---- the environment: network, crashes, store, time, people -------------------- */

/* Side x holds something a crash loses: a retry counter, a Receipt to
 * POST.  (The overlay is lost too, but rebuilt from the journal.) */
#define VOL(m, x)	((OWNER(m) == (x) && retries[m] > 0) || \
			 (RECEIVER(m) == (x) && HAS(post, m)))
#define VOLATILE(x)	(VOL(0, x) || VOL(1, x) || VOL(2, x))

/* Side x crashes and restarts from its journal. */
inline crash(x)
{
	printf("MSC: %c crashes and restarts\n", SIDE_CH(x));
	i = 0;
	do
	:: i < NMSG ->
		if
		:: OWNER(i) == x -> retries[i] = 0
		:: else -> DEL(post, i)
		fi;
		i++
	:: else -> break
	od;
	/* the restarted daemon rebuilds the overlay: journal minus store */
	orec = (orec & ~MASK(x)) | (jrec & ~srec & MASK(x))
}

/* The operator sends m again in a Redelivery envelope (fresh outer id,
 * the original signed message inside). */
#define REDELIVERY(m) \
	:: d_step { REDELIVERABLE(m) -> \
		printf("MSC: operator: Redelivery of %e\n", NAME(m)); \
		ms[m] = QUEUED; redl[m]++; retries[m] = 0; inv() }

#define NETWORK(x) \
	/* the way to x goes down for a while: what is sent meanwhile is \
	 * lost */ \
	:: d_step { phase == 0 && outages > 0 && !HAS(link, x) -> \
		outages--; ADD(link, x); \
		printf("MSC: the way to %c goes down\n", SIDE_CH(x)); inv() } \
	:: d_step { HAS(link, x) -> DEL(link, x); \
		printf("MSC: the way to %c is up again\n", SIDE_CH(x)); inv() } \
	/* a packet on the wire is lost */ \
	:: d_step { phase == 0 && losses > 0 && nempty(net[x]) -> \
		net[x]?pk, pm, pf; losses--; \
		if \
		:: pk == BIZ -> inflight[pm]-- \
		:: else -> skip \
		fi; \
		pk = 0; pm = 0; pf = 0; inv() } \
	/* a business message is duplicated */ \
	:: d_step { phase == 0 && dups > 0 && nfull(net[x]) && \
	    net[x]?[BIZ, _, _] -> \
		net[x]?<pk, pm, pf>; net[x]!pk, pm, pf; dups--; \
		inflight[pm]++; \
		pk = 0; pm = 0; pf = 0; inv() } \
	/* a packet is overtaken by the one behind it */ \
	:: d_step { phase == 0 && reorders > 0 && len(net[x]) >= 2 -> \
		net[x]?pk, pm, pf; net[x]!pk, pm, pf; reorders--; \
		pk = 0; pm = 0; pf = 0; \
		printf("MSC: a packet to %c is overtaken\n", SIDE_CH(x)); \
		inv() } \
	/* a crash (only when it loses something) */ \
	:: d_step { phase == 0 && CRASHES_LEFT(x) > 0 && VOLATILE(x) -> \
		CRASH_USE(x); crash(x); inv() } \
	/* the store applies what was committed, or fails to (then \
	 * recovers) */ \
	:: d_step { !HAS(sdown, x) && OVL(x) != 0 -> store_apply(x); inv() } \
	:: d_step { phase == 0 && store_fails > 0 && !HAS(sdown, x) && \
	    OVL(x) != 0 -> \
		store_fails--; ADD(sdown, x); \
		printf("MSC: %c's store fails\n", SIDE_CH(x)); inv() } \
	:: d_step { HAS(sdown, x) -> store_apply(x); DEL(sdown, x); inv() }

active proctype env()
{
	bo[REQ] = BO_WAIT;	/* R's back office submits the request */
end:	do
	NETWORK(SIDE_R)
	NETWORK(SIDE_Q)
	REDELIVERY(REQ)
	REDELIVERY(REP)
	REDELIVERY(TN)
	/* the reply deadline passes (Q set it when it took REQ); once no
	 * side is or will be in PENDING_REPLY it no longer matters */
	:: d_step { !dl_passed && HAS(jrec, SEEN(REQ)) &&
	    (cs[SIDE_R] == SUBMITTED || cs[SIDE_R] == PENDING_REPLY ||
	     cs[SIDE_Q] == PENDING_REPLY) ->
		printf("MSC: the reply deadline passes\n");
		dl_passed = 1; inv() }
	/* Q's back office replies (accepts or refuses), or stays silent */
	:: d_step { bo[REP] == BO_IDLE && cs[OWNER(REP)] == PENDING_REPLY ->
		bo_pos = 1; bo[REP] = BO_WAIT }
	:: d_step { bo[REP] == BO_IDLE && cs[OWNER(REP)] == PENDING_REPLY ->
		bo_pos = 0; bo[REP] = BO_WAIT }
	:: d_step { bo[REP] == BO_IDLE && cs[OWNER(REP)] == PENDING_REPLY ->
		bo[REP] = BO_DONE }
	/* R's back office gives notice of the transfer */
	:: d_step { bo[TN] == BO_IDLE && (cs[OWNER(TN)] == ACCEPTED ||
	    cs[OWNER(TN)] == DEEMED_ACCEPTED) -> bo[TN] = BO_WAIT }
	/*
	 * Nothing can move while the network misbehaves: every retry window
	 * has ended.  S3: each acknowledged submit is RECEIPTED, REJECTED
	 * or UNDELIVERED (an operator's alert): none silently dropped.
	 * Then the network heals: no more outage, loss, duplication,
	 * overtaking, crash or store trouble, and the operators redeliver
	 * what is UNDELIVERED.
	 */
	:: atomic { phase == 0 && timeout ->
		i = 0;
		do
		:: i < NMSG ->
			CHECK(bo[i] != BO_ACKED || ms[i] == RECEIPTED ||
			    ms[i] == REJECTED || ms[i] == UNDELIVERED, S3);
			i++
		:: else -> break
		od;
		printf("MSC: the network heals\n");
		/* the budgets no longer matter: forget them */
		outages = 0; losses = 0; dups = 0; reorders = 0; crashes = 0;
		store_fails = 0; lags = 0; ans_loss = 0;
#ifdef NO_HEAL
		phase = 2 }
#else
		phase = 1 }
#endif
	/*
	 * Nothing can move once healed: every message is settled (or
	 * undelivered in a case its sender has closed), and both sides
	 * hold the same case state (S1 after any retry window).
	 */
	:: atomic { phase == 1 && timeout ->
		printf("MSC: the end: R %e, Q %e\n", cs[SIDE_R], cs[SIDE_Q]);
		i = 0;
		do
		:: i < NMSG ->
			CHECK(ms[i] == MS_NONE || ms[i] == RECEIPTED ||
			    ms[i] == REJECTED || (ms[i] == UNDELIVERED &&
			    FINAL(cs[OWNER(i)])), S1);
			CHECK(bo[i] != BO_ACKED || ms[i] == RECEIPTED ||
			    ms[i] == REJECTED || ms[i] == UNDELIVERED, S3);
			i++
		:: else -> break
		od;
		CHECK(cs[SIDE_R] == cs[SIDE_Q], S1);
		phase = 2 }
	od
}

/* L1: with weak fairness every queued message settles: RECEIPTED,
 * REJECTED or UNDELIVERED.  pan -a -f -N L1. */
#define SETTLES(m)	([] ((ms[m] == QUEUED || ms[m] == SENT) -> \
			 <> (ms[m] == RECEIPTED || ms[m] == REJECTED || \
			     ms[m] == UNDELIVERED)))
ltl L1 { SETTLES(0) && SETTLES(1) && SETTLES(2) }
