/*
 * fsm.h -- case states and events: one table, one transition function.
 *
 * Pure: fsm_decide() looks at a case, an event, the agreement, the
 * requested state's calendar and the time it is given, and returns the
 * decision (new state, deadline operations, effects) or a refusal.  It
 * does no I/O, reads no clock and logs nothing, so the audit tool can
 * re-run it over journalled inputs and must get the same decisions.
 *
 * Three machines share the table: readmission (DESIGN.md section 4),
 * transit, and voluntary departure.  Roles: R is the requesting state (it
 * wants a person to leave its territory), Q the requested state (the
 * person's own state, or the transit state).  In a voluntary-departure
 * case R is the state the person leaves (e.g. Korea) and Q the person's
 * state, which sends the VoluntaryDepartureNotice.
 *
 * A message is seen up to three times on its sender's side and once on
 * the receiver's:
 *   FSM_EV_SENDING   we are about to create it: every check runs (with
 *                    now as well as Created), the case does not move,
 *                    except that an opening message creates the case in
 *                    SUBMITTED;
 *   FSM_EV_RECEIPTED the partner's receipt came back: it takes effect;
 *   FSM_EV_FAILED    a signed Error, or undelivered: no effect, except
 *                    that an opening message leaves the case NOT_SENT;
 *   FSM_EV_RECEIVED  (receiver) it takes effect with the receipt we give.
 * RECEIPTED and RECEIVED run the same transition, so both sides that
 * settled the same messages are in the same state.
 *
 * Identification (fsm 2, DESIGN.md section 4): when the agreement
 * suspends the reply period, the IdentificationRequest disarms the reply
 * deadline at the instant it takes effect (ev->at) and keeps the days
 * left: the working days (accelerated procedure) or calendar days
 * (standard) from its local date to the due date.  The
 * IdentificationResponse resumes the period like a fresh one with those
 * days, counted from its own local date of receipt, ending at 23:59:59
 * local and rolled like any period.  A reply-period extension is refused
 * while the period is suspended.  (fsm 1 froze the seconds left and
 * re-armed at the response's ev->at plus those seconds.)
 *
 * Versions: every rule that changed keeps its old form, selected by the
 * version fsm_decide_v() is given, so that a journal written by an older
 * build replays to the decisions it holds (fsm_decide() is the current
 * version).  What fsm 2 changed: deadlines fire at the first second after
 * due; the extended period is N + M days from the same receipt date,
 * rolled once; identification resumes by days; IdentificationRequest and
 * a reply-period ExtensionRequest must be timely; the advance notice of
 * transfer counts from the receipt (ev->at); the travel document is
 * measured from the notice's receipt and must cover the transfer; the
 * transit state may revoke its consent; the voluntary-departure notice
 * window is counted in the receiving state's calendar (see
 * fsm_calendar_role()).
 */
#ifndef ACCORD_FSM_H
#define ACCORD_FSM_H

#include <stdint.h>

#include "conf/agreement.h"
#include "conf/calendar.h"
#include "util/clock.h"
#include "util/errcode.h"

/* Bumped whenever a rule changes; carried in every decision, journalled.
 * fsm_decide_v() knows every version from FSM_VERSION_MIN on. */
#define FSM_VERSION	2
#define FSM_VERSION_MIN	1

/* Which machine a case runs. */
enum fsm_kind {
	FSM_KIND_READMISSION = 0,
	FSM_KIND_TRANSIT,
	FSM_KIND_VOLUNTARY,
	FSM_KIND_COUNT
};

/* This gateway's role in a case. */
enum fsm_role {
	ROLE_REQUESTING = 0,	/* "R" */
	ROLE_REQUESTED,		/* "Q" */
	ROLE_COUNT
};

/* Case states.  FSM_NONE is "no case yet", the state an opening message
 * starts from; it is never stored. */
enum fsm_state {
	FSM_NONE = 0,
	FSM_SUBMITTED,		/* opening message sent, no receipt yet */
	FSM_NOT_SENT,		/* final: it never opened at the partner */
	FSM_WITHDRAWN,		/* final */
	/* readmission */
	FSM_PENDING_REPLY,
	FSM_ACCEPTED,
	FSM_DEEMED_ACCEPTED,	/* silence means consent */
	FSM_REFUSED,		/* final */
	FSM_EXPIRED,		/* no reply and no silence rule: operator acts */
	FSM_DOCUMENTED,		/* travel document issued */
	FSM_TRANSFER_SCHEDULED,
	FSM_TRANSFER_OVERDUE,	/* until the window is extended */
	FSM_COMPLETED,		/* final */
	/* transit */
	FSM_TRANSIT_PENDING,
	FSM_TRANSIT_CONSENTED,
	FSM_TRANSIT_REFUSED,	/* final */
	FSM_TRANSIT_REVOKED,	/* final */
	FSM_TRANSIT_EXPIRED,	/* no reply in time, or consent lapsed */
	FSM_TRANSIT_COMPLETED,	/* final */
	/* voluntary departure */
	FSM_VD_NOTIFIED,
	FSM_VD_DEPARTED,	/* final */
	FSM_VD_CANCELLED,	/* final */
	/* readmission, protection claims (after the others: states are
	 * journalled by name, but keep the numbers) */
	FSM_TRANSFER_SUSPENDED,	/* a claim stopped an announced transfer:
				 * the transfer window pauses */
	FSM_PROTECTED,		/* final: the claim was upheld, no transfer */
	FSM_STATE_COUNT
};

/* Deadlines a case can hold. */
enum fsm_deadline {
	FSM_DL_REPLY = 0,	/* ReadmissionReply due */
	FSM_DL_TRANSFER,	/* end of the transfer window */
	FSM_DL_TRANSIT_REPLY,	/* TransitReply due */
	FSM_DL_TRANSIT_VALIDITY,/* end of the transit consent */
	FSM_DL_COUNT
};

/* Procedure of a readmission request. */
enum fsm_procedure {
	FSM_PROC_STANDARD = 0,
	FSM_PROC_ACCELERATED
};

/* Why the person is returned; decides the entry ban. */
enum fsm_reason {
	FSM_REASON_NONE = 0,		/* not stated (transit, VD) */
	FSM_REASON_DELIBERATE,		/* deliberate violation: ban */
	FSM_REASON_OBJECTIVE		/* illness, lost documents, accident */
};

/* What an extension is about. */
enum fsm_ext_subject {
	FSM_EXT_REPLY_PERIOD = 0,	/* asked by Q, granted by R */
	FSM_EXT_TRANSFER_WINDOW		/* asked by R, granted by Q */
};

/* Progress of one extension; each may be asked for once. */
enum fsm_ext_state {
	FSM_EXTST_NONE = 0,
	FSM_EXTST_ASKED,
	FSM_EXTST_GRANTED,
	FSM_EXTST_REFUSED
};

/* Domestic facts an operator records through the control socket. */
enum fsm_record {
	FSM_REC_PROTECTION_CLAIM = 0,	/* the person claims a risk */
	FSM_REC_ASSESSMENT		/* the claim was assessed */
};

/* What a ProtectionNotice says (protocol version 2). */
enum fsm_protection {
	FSM_PROT_NONE = 0,
	FSM_PROT_PENDING,	/* claim-pending: the transfer is suspended */
	FSM_PROT_REJECTED,	/* claim-rejected: the transfer resumes */
	FSM_PROT_UPHELD		/* claim-upheld: no transfer, the case ends */
};

/* Kinds of event. */
enum fsm_ev_kind {
	FSM_EV_RECEIVED = 0,	/* partner's message, taking effect now */
	FSM_EV_SENDING,		/* our message, about to be created */
	FSM_EV_RECEIPTED,	/* our message, receipted: takes effect */
	FSM_EV_FAILED,		/* our message, Error or undelivered */
	FSM_EV_DEADLINE,	/* a deadline of the case fired */
	FSM_EV_RECORD		/* an operator recorded a domestic fact */
};

/* One case as the fsm sees it.  Zero-initialised means FSM_NONE. */
struct fsm_case {
	enum fsm_kind	 kind;
	enum fsm_role	 role;		/* this gateway's role */
	enum fsm_state	 state;
	enum fsm_state	 resume;	/* state to return to from
					 * TRANSFER_OVERDUE once extended */
	enum fsm_procedure procedure;
	enum fsm_reason	 reason;
	accord_time_t	 due[FSM_DL_COUNT];	/* last value of each */
	unsigned	 armed;		/* bit (1 << deadline): timer live */
	int		 deemed;	/* acceptance came from silence */
	enum fsm_ext_state ext_reply;	/* reply-period extension */
	enum fsm_ext_state ext_transfer;	/* transfer-window extension */
	int		 ident_pending;	/* IdentificationRequest open */
	int		 ident_suspended;	/* ... and the reply clock stopped */
	int64_t		 ident_remaining;	/* seconds left when it stopped */
	int		 protection_claim;	/* recorded by an operator */
	int		 assessment;	/* claim assessed */
	int		 assessment_risk;	/* ... and a risk was found */
	cal_day_t	 doc_valid_until;	/* travel document; 0 = none */
	int		 has_doc;
	accord_time_t	 transfer_at;	/* scheduled transfer; 0 = none */
	cal_day_t	 departure_date;	/* voluntary departure */
	int		 transfer_days_left;	/* calendar days the paused
					 * transfer window had left */
	/* fsm 2; zero in cases decided by fsm 1 */
	cal_day_t	 doc_valid_from;	/* travel document */
	int		 ident_days;	/* ident_remaining counts days, not
					 * seconds */
	accord_time_t	 period_from[FSM_DL_COUNT];	/* instant each period
					 * counts from (receipt, resumption);
					 * 0 = not known */
	int64_t		 period_days[FSM_DL_COUNT];	/* its length in days
					 * (working days for an accelerated
					 * reply), a granted extension
					 * included */
	accord_time_t	 deemed_transfer_due;	/* R: the transfer window Q
					 * gave in its receipt, should the
					 * case be deemed accepted */
};

/* One event.  Which fields matter depends on kind and type. */
struct fsm_event {
	enum fsm_ev_kind kind;
	enum msg_type	 type;		/* messages */
	enum fsm_deadline deadline;	/* FSM_EV_DEADLINE */
	enum fsm_record	 record;	/* FSM_EV_RECORD */
	accord_time_t	 created;	/* the message's signed Created */
	accord_time_t	 at;		/* when it takes effect: ReceivedAt
					 * of the receipt given or got */
	/* ReadmissionRequest */
	enum fsm_procedure procedure;
	enum fsm_reason	 reason;
	/* ReadmissionReply, TransitReply, ExtensionReply */
	int		 positive;	/* accepted / consent / granted */
	int		 grounds;	/* number of refusal grounds */
	/* ExtensionRequest, ExtensionReply */
	enum fsm_ext_subject ext_subject;
	int		 ext_days;	/* requested, or granted */
	/* TravelDocumentNotice */
	int		 doc_extended;	/* 0 issued, 1 extended */
	cal_day_t	 doc_valid_from;
	cal_day_t	 doc_valid_until;
	/* TransferNotice */
	accord_time_t	 transfer_at;
	/* VoluntaryDepartureNotice */
	cal_day_t	 departure_date;
	int		 criminal_offence;
	int		 entry_illegal;
	cal_day_t	 entry_date;
	int		 passport;
	int		 application;
	int		 ticket;
	/* FSM_REC_ASSESSMENT */
	int		 risk_found;
	/* ProtectionNotice */
	enum fsm_protection protection;
	/* Due instants the requested side sent in its receipt; the
	 * requesting side adopts a non-zero one instead of computing. */
	accord_time_t	 given_due[FSM_DL_COUNT];
};

/* What a decision does to a deadline. */
enum fsm_dl_op {
	FSM_DLOP_SET = 0,	/* arm at due (new, moved or re-armed) */
	FSM_DLOP_CLEAR		/* disarm; the last value is kept */
};

#define FSM_MAX_DLOPS	FSM_DL_COUNT

/* One deadline operation, for the journal and the timer. */
struct fsm_dlop {
	enum fsm_deadline which;
	enum fsm_dl_op	 op;
	accord_time_t	 due;
};

/* Effects beside the state. */
#define FSM_EFF_CASE_OPENED	0x01	/* a new case exists */
#define FSM_EFF_DEEMED_ACCEPTED	0x02	/* accepted by silence */
#define FSM_EFF_ENTRY_BAN	0x04	/* entry_ban_years applies (may be 0) */
#define FSM_EFF_CLOSED		0x08	/* the case reached a final state */
#define FSM_EFF_NO_CHANGE	0x10	/* nothing to apply (checks only) */
#define FSM_EFF_TELL_PROTECTION	0x20	/* send the partner a ProtectionNotice
					 * (fsm_protection_status() says which) */
#define FSM_EFF_HANDOVER_CLAIM	0x40	/* a handover happened while a
					 * protection claim was unassessed */

/* The outcome of fsm_decide(). */
struct fsm_decision {
	int		 version;	/* FSM_VERSION */
	enum accord_err	 refusal;	/* AE_OK when allowed */
	char		 text[160];	/* why, for the Error or the log */
	enum fsm_state	 old_state;
	enum fsm_state	 new_state;
	struct fsm_dlop	 dlops[FSM_MAX_DLOPS];
	int		 ndlops;
	unsigned	 effects;	/* FSM_EFF_* */
	int		 entry_ban_years;	/* with FSM_EFF_ENTRY_BAN */
	char		 event[48];	/* "ReadmissionReply received" */
	struct fsm_case	 next;		/* the case after fsm_apply() */
};

/*
 * Decide what ev does to c.  a is the agreement with the partner;
 * requested_cal is the requested state's calendar (ours when we are Q,
 * the partner's when we are R), in which every deadline is computed (for
 * a voluntary-departure case, the calendar fsm_calendar_role() names); now
 * is the engine's clock reading.  @return 0 with d filled, or -1 with
 * d->refusal and d->text set (d->new_state == c->state).
 */
int fsm_decide(const struct fsm_case *c, const struct fsm_event *ev,
    const struct agreement *a, const struct calendar *requested_cal,
    accord_time_t now, struct fsm_decision *d);

/*
 * fsm_decide() by the rules of fsm version (FSM_VERSION_MIN ..
 * FSM_VERSION), for replaying journalled decisions; d->version is set to
 * it.  An unknown version is refused with AE_INTERNAL.
 */
int fsm_decide_v(const struct fsm_case *c, const struct fsm_event *ev,
    const struct agreement *a, const struct calendar *requested_cal,
    accord_time_t now, int version, struct fsm_decision *d);

/*
 * Whose calendar fsm_decide() counts a case of kind k in, by the rules of
 * version: the requested state's (Q) for readmission and transit; for a
 * voluntary-departure case, from fsm 2, the state that receives the
 * notice (R, e.g. Korea), fsm 1 used Q's.  The caller passes that
 * state's calendar as requested_cal.
 */
enum fsm_role fsm_calendar_role(enum fsm_kind k, int version);

/*
 * fsm 2: the end of the transfer window of c should it be deemed accepted
 * when its reply deadline passes (the requested side states it in its
 * receipts while the reply is awaited); 0 when no reply deadline runs.
 */
accord_time_t fsm_transfer_if_deemed(const struct fsm_case *c,
    const struct agreement *a, const struct calendar *requested_cal);

/* Move c as d says (d from a successful fsm_decide on c). */
void fsm_apply(struct fsm_case *c, const struct fsm_decision *d);

/* "PENDING_REPLY -> ACCEPTED (ReadmissionReply received)" into buf.
 * @return buf. */
char *fsm_describe(const struct fsm_decision *d, char *buf,
    unsigned long len);

/* "PENDING_REPLY"; "?" for an out-of-range value. */
const char *fsm_state_name(enum fsm_state s);
/* @return the state, or -1 for an unknown name. */
int fsm_state_from_name(const char *name);
/* 1 if no event can move a case out of s. */
int fsm_state_final(enum fsm_state s);
/* "R" or "Q". */
const char *fsm_role_name(enum fsm_role r);
/* "readmission", "transit", "voluntary". */
const char *fsm_kind_name(enum fsm_kind k);
/* "reply", "transfer", "transit-reply", "transit-validity". */
const char *fsm_deadline_name(enum fsm_deadline dl);

/*
 * The case an opening message (ReadmissionRequest, TransitRequest,
 * VoluntaryDepartureNotice) starts: kind and our role set, state
 * FSM_NONE.  incoming: the partner sent it.  The opener of a readmission
 * or transit case is R; of a voluntary-departure case, the person's
 * state Q.  @return 0, or -1 if t opens no case (c is zeroed).
 */
int fsm_case_open(enum msg_type t, int incoming, struct fsm_case *c);

/* The opposite role. */
enum fsm_role fsm_role_other(enum fsm_role r);

/* 1 if role may send messages of type t in a case of kind k.  For the
 * extension messages the subject decides (see enum fsm_ext_subject). */
int fsm_may_send(enum fsm_kind k, enum fsm_role role, enum msg_type t,
    enum fsm_ext_subject subject);

/* Targets in the table beside real states. */
#define FSM_TO_SAME	(-1)	/* the case stays where it is */
#define FSM_TO_RESUME	(-2)	/* back to fsm_case.resume */
#define FSM_TO_PROTECTION (-3)	/* as the ProtectionNotice's status says */

/* What a ProtectionNotice about c says now: pending while a claim is
 * unassessed, then rejected or upheld; FSM_PROT_NONE without a claim. */
enum fsm_protection fsm_protection_status(const struct fsm_case *c);

/* "claim-pending", "claim-rejected", "claim-upheld"; NULL otherwise. */
const char *fsm_protection_name(enum fsm_protection p);
/* @return the status, or -1 for an unknown name. */
int fsm_protection_from_name(const char *name);

/* Triggers of the table: the message types, then these. */
enum fsm_trigger {
	FSM_TR_DEADLINE = MSG_TYPE_COUNT,	/* + enum fsm_deadline */
	FSM_TR_RECORD = FSM_TR_DEADLINE + FSM_DL_COUNT,	/* + fsm_record */
	FSM_TR_FAILED_OPEN = FSM_TR_RECORD + 2,	/* opening message failed */
	FSM_TR_COUNT
};

/* One row of the transition table, as fsm_table_walk() shows it. */
struct fsm_row_info {
	enum fsm_kind	 kind;
	enum fsm_state	 from;
	int		 trigger;	/* enum msg_type or enum fsm_trigger */
	int		 to;		/* state, FSM_TO_SAME or FSM_TO_RESUME */
	int		 to_neg;	/* negative outcome (refused, not
					 * granted, no silence rule); FSM_NONE
					 * when the row has one outcome */
};

/* For tests and the audit tool: call fn once per row of the table. */
void fsm_table_walk(void (*fn)(void *arg, const struct fsm_row_info *row),
    void *arg);

/* "ReadmissionReply", "deadline:reply", "record:protection-claim",
 * "failed:opening". */
const char *fsm_trigger_name(int trigger);

#endif
