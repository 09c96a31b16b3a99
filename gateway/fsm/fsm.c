/*
 * fsm.c -- case states and events: one table, one transition function.
 *
 * The machines are data: fsm_senders says which role may send which type
 * in which kind of case, fsm_table says what each (kind, state, trigger)
 * leads to, which checks guard it and what it does to deadlines and
 * flags.  fsm_decide() is the one function that reads them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fsm/fsm.h"
#include "util/nametab.h"

#define R	(1u << ROLE_REQUESTING)
#define Q	(1u << ROLE_REQUESTED)
#define RQ	(R | Q)
#define XT	0x80u	/* extension: the subject decides the sender */

#define DLB(x)	(1u << (x))

/* fsm 2: a travel document may start the day after the notice's receipt
 * (a document issued in a zone already on the next date). */
#define FSM_DOC_FROM_MARGIN	1

/* Checks a row asks for, run in this order. */
#define CK_OPEN		0x0001	/* opening message: facts complete */
#define CK_DUE		0x0002	/* deadline event: armed and due */
#define CK_IDENT_ASK	0x0004	/* no identification pending */
#define CK_IDENT_ANSWER	0x0008	/* one identification pending */
#define CK_EXT_ASK	0x0010	/* extension not asked yet, days in range */
#define CK_EXT_ANSWER	0x0020	/* extension asked, granted days in range */
#define CK_TIMELY	0x0040	/* Created (and now, sending) <= due[dl] */
#define CK_NO_CONSENT	0x0080	/* transit consent never given */
#define CK_GROUNDS	0x0100	/* negative outcome needs grounds */
#define CK_PROTECTION	0x0200	/* protection claim assessed, no risk */
#define CK_NOTICE	0x0400	/* transfer notice far enough ahead */
#define CK_DOC		0x0800	/* travel document validity */
#define CK_PROGRAMME	0x1000	/* voluntary-departure programme rules */
#define CK_CLAIM	0x2000	/* a protection claim was recorded */
#define CK_ASK_TIMELY	0x4000	/* fsm 2: as CK_TIMELY, for what asks
				 * for time (identification, extension) */
#define CK_REVOKER	0x8000	/* fsm 2: only R revokes what Q has not
				 * consented to yet */

/* Actions a row takes once its checks passed. */
#define A_OPEN		0x0001	/* fill kind, role, procedure, reason */
#define A_SUSPEND	0x0002	/* identification asked */
#define A_RESUME	0x0004	/* identification answered */
#define A_EXT_ASK	0x0008
#define A_EXT_ANSWER	0x0010
#define A_DEEMED	0x0020	/* silence means consent */
#define A_UNDEEM	0x0040	/* a timely reply replaces deemed consent */
#define A_DOC		0x0080	/* remember the travel document */
#define A_TRANSFER	0x0100	/* remember the transfer instant */
#define A_OVERDUE	0x0200	/* remember where to resume */
#define A_BAN		0x0400	/* entry ban effect */
#define A_CLAIM		0x0800
#define A_ASSESS	0x1000
#define A_VD		0x2000	/* remember the departure date */
#define A_TELL		0x4000	/* the partner must hear of a claim */
#define A_PROTECT	0x8000	/* a ProtectionNotice takes effect */
#define A_HANDOVER	0x10000	/* a handover: alert if a claim is open */

/* Which deadline the outcome of a deadline event depends on. */
#define SILENCE		0x01	/* positive iff silence means consent */

struct fsm_rule {
	enum fsm_kind	 kind;
	enum fsm_state	 from;
	int		 trigger;
	int		 to;		/* positive outcome */
	int		 to_neg;	/* negative outcome; FSM_NONE if none */
	int		 dl;		/* deadline the checks and the
					 * extension refer to; -1 if none */
	unsigned	 checks;
	unsigned	 acts;
	unsigned	 set;		/* DLB(): arm on a positive outcome */
	unsigned	 clear;		/* DLB(): disarm on any outcome */
	unsigned	 flags;
};

#define RA	FSM_KIND_READMISSION
#define TR	FSM_KIND_TRANSIT
#define VD	FSM_KIND_VOLUNTARY
#define SAME	FSM_TO_SAME
#define RES	FSM_TO_RESUME
#define NO	FSM_NONE
#define DL(x)	(FSM_TR_DEADLINE + (x))
#define REC(x)	(FSM_TR_RECORD + (x))
#define FAIL	FSM_TR_FAILED_OPEN

/* Who may send what, per kind of case. */
static const unsigned fsm_senders[FSM_KIND_COUNT][MSG_TYPE_COUNT] = {
	[RA] = {
		[MSG_READMISSION_REQUEST] = R,
		[MSG_IDENTIFICATION_REQUEST] = Q,
		[MSG_IDENTIFICATION_RESPONSE] = R,
		[MSG_EXTENSION_REQUEST] = XT,
		[MSG_EXTENSION_REPLY] = XT,
		[MSG_READMISSION_REPLY] = Q,
		[MSG_TRAVEL_DOCUMENT_NOTICE] = Q,
		[MSG_TRANSFER_NOTICE] = R,
		[MSG_HANDOVER_CONFIRMATION] = Q,
		[MSG_ESCORT_NOTICE] = R,
		[MSG_WITHDRAWAL] = R,
		[MSG_CONSULTATION] = RQ,
		[MSG_PROTECTION_NOTICE] = R,
	},
	[TR] = {
		[MSG_TRANSIT_REQUEST] = R,
		[MSG_TRANSIT_REPLY] = Q,
		/* R withdraws its request, Q its consent (fsm 2) */
		[MSG_TRANSIT_REVOCATION] = RQ,
		[MSG_ESCORT_NOTICE] = R,
		[MSG_HANDOVER_CONFIRMATION] = Q,
		[MSG_WITHDRAWAL] = R,
		[MSG_CONSULTATION] = RQ,
	},
	[VD] = {
		/* the person's state notifies, confirms and cancels */
		[MSG_VOLUNTARY_DEPARTURE_NOTICE] = Q,
		[MSG_HANDOVER_CONFIRMATION] = Q,
		[MSG_WITHDRAWAL] = Q,
		[MSG_CONSULTATION] = RQ,
	},
};

/* The message that opens a case of each kind. */
static const enum msg_type fsm_opening[FSM_KIND_COUNT] = {
	[RA] = MSG_READMISSION_REQUEST,
	[TR] = MSG_TRANSIT_REQUEST,
	[VD] = MSG_VOLUNTARY_DEPARTURE_NOTICE,
};

/*
 * The transition table.  A state missing for a trigger means the trigger
 * is not allowed there (NOT_ALLOWED_IN_STATE).  Consultation is allowed
 * in every existing state and is not listed (see fsm_find()).
 */
static const struct fsm_rule fsm_table[] = {
	/* readmission: opening */
	{ RA, FSM_NONE, MSG_READMISSION_REQUEST, FSM_PENDING_REPLY, NO, -1,
	    CK_OPEN, A_OPEN, DLB(FSM_DL_REPLY), 0, 0 },
	{ RA, FSM_SUBMITTED, MSG_READMISSION_REQUEST, FSM_PENDING_REPLY, NO,
	    -1, 0, 0, DLB(FSM_DL_REPLY), 0, 0 },
	{ RA, FSM_SUBMITTED, FAIL, FSM_NOT_SENT, NO, -1, 0, 0, 0, 0, 0 },
	/* readmission: waiting for the reply */
	{ RA, FSM_PENDING_REPLY, MSG_IDENTIFICATION_REQUEST, SAME, NO,
	    FSM_DL_REPLY, CK_IDENT_ASK | CK_ASK_TIMELY, A_SUSPEND, 0, 0, 0 },
	{ RA, FSM_PENDING_REPLY, MSG_IDENTIFICATION_RESPONSE, SAME, NO,
	    FSM_DL_REPLY, CK_IDENT_ANSWER, A_RESUME, 0, 0, 0 },
	{ RA, FSM_PENDING_REPLY, MSG_EXTENSION_REQUEST, SAME, NO,
	    FSM_DL_REPLY, CK_EXT_ASK | CK_ASK_TIMELY, A_EXT_ASK, 0, 0, 0 },
	{ RA, FSM_PENDING_REPLY, MSG_EXTENSION_REPLY, SAME, SAME,
	    FSM_DL_REPLY, CK_EXT_ANSWER, A_EXT_ANSWER, 0, 0, 0 },
	{ RA, FSM_PENDING_REPLY, MSG_READMISSION_REPLY, FSM_ACCEPTED,
	    FSM_REFUSED, FSM_DL_REPLY, CK_TIMELY | CK_GROUNDS, 0,
	    DLB(FSM_DL_TRANSFER), DLB(FSM_DL_REPLY), 0 },
	{ RA, FSM_PENDING_REPLY, DL(FSM_DL_REPLY), FSM_DEEMED_ACCEPTED,
	    FSM_EXPIRED, FSM_DL_REPLY, CK_DUE, A_DEEMED,
	    DLB(FSM_DL_TRANSFER), DLB(FSM_DL_REPLY), SILENCE },
	/* a timely reply that arrives after the deadline fired */
	{ RA, FSM_DEEMED_ACCEPTED, MSG_READMISSION_REPLY, FSM_ACCEPTED,
	    FSM_REFUSED, FSM_DL_REPLY, CK_TIMELY | CK_GROUNDS, A_UNDEEM,
	    DLB(FSM_DL_TRANSFER), 0, 0 },
	{ RA, FSM_EXPIRED, MSG_READMISSION_REPLY, FSM_ACCEPTED, FSM_REFUSED,
	    FSM_DL_REPLY, CK_TIMELY | CK_GROUNDS, 0, DLB(FSM_DL_TRANSFER), 0,
	    0 },
	/* readmission: after acceptance */
	{ RA, FSM_ACCEPTED, MSG_TRAVEL_DOCUMENT_NOTICE, FSM_DOCUMENTED, NO,
	    -1, CK_DOC, A_DOC, 0, 0, 0 },
	{ RA, FSM_DEEMED_ACCEPTED, MSG_TRAVEL_DOCUMENT_NOTICE, FSM_DOCUMENTED,
	    NO, -1, CK_DOC, A_DOC, 0, 0, 0 },
	{ RA, FSM_DOCUMENTED, MSG_TRAVEL_DOCUMENT_NOTICE, SAME, NO, -1,
	    CK_DOC, A_DOC, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_TRAVEL_DOCUMENT_NOTICE, SAME, NO,
	    -1, CK_DOC, A_DOC, 0, 0, 0 },
	{ RA, FSM_ACCEPTED, MSG_TRANSFER_NOTICE, FSM_TRANSFER_SCHEDULED, NO,
	    FSM_DL_TRANSFER, CK_PROTECTION | CK_NOTICE, A_TRANSFER, 0, 0, 0 },
	{ RA, FSM_DEEMED_ACCEPTED, MSG_TRANSFER_NOTICE,
	    FSM_TRANSFER_SCHEDULED, NO, FSM_DL_TRANSFER,
	    CK_PROTECTION | CK_NOTICE, A_TRANSFER, 0, 0, 0 },
	{ RA, FSM_DOCUMENTED, MSG_TRANSFER_NOTICE, FSM_TRANSFER_SCHEDULED, NO,
	    FSM_DL_TRANSFER, CK_PROTECTION | CK_NOTICE, A_TRANSFER, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_TRANSFER_NOTICE, SAME, NO,
	    FSM_DL_TRANSFER, CK_PROTECTION | CK_NOTICE, A_TRANSFER, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_HANDOVER_CONFIRMATION, FSM_COMPLETED,
	    NO, -1, 0, A_BAN | A_HANDOVER, 0, 0, 0 },
	/* the handover happened: it is a fact, even while a claim waits */
	{ RA, FSM_TRANSFER_SUSPENDED, MSG_HANDOVER_CONFIRMATION,
	    FSM_COMPLETED, NO, -1, 0, A_BAN | A_HANDOVER, 0, 0, 0 },
	/* readmission: protection claims after the transfer was announced
	 * (non-refoulement).  R records the claim and its assessment; each
	 * is told to Q in a ProtectionNotice, which both sides apply. */
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_PROTECTION_NOTICE,
	    FSM_TO_PROTECTION, NO, FSM_DL_TRANSFER, 0, A_PROTECT, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SUSPENDED, MSG_PROTECTION_NOTICE,
	    FSM_TO_PROTECTION, NO, FSM_DL_TRANSFER, 0, A_PROTECT, 0, 0, 0 },
	{ RA, FSM_PROTECTED, MSG_PROTECTION_NOTICE, FSM_TO_PROTECTION, NO,
	    FSM_DL_TRANSFER, 0, A_PROTECT, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SUSPENDED, REC(FSM_REC_ASSESSMENT),
	    FSM_TO_PROTECTION, NO, FSM_DL_TRANSFER, CK_CLAIM,
	    A_TELL | A_PROTECT, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SUSPENDED, MSG_TRAVEL_DOCUMENT_NOTICE, SAME, NO,
	    -1, CK_DOC, A_DOC, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SUSPENDED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1,
	    0, 0, 0, 0, 0 },
	{ RA, FSM_ACCEPTED, MSG_ESCORT_NOTICE, SAME, NO, -1, 0, 0, 0, 0, 0 },
	{ RA, FSM_DEEMED_ACCEPTED, MSG_ESCORT_NOTICE, SAME, NO, -1, 0, 0, 0, 0,
	    0 },
	{ RA, FSM_DOCUMENTED, MSG_ESCORT_NOTICE, SAME, NO, -1, 0, 0, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_ESCORT_NOTICE, SAME, NO, -1, 0, 0, 0,
	    0, 0 },
	/* readmission: the transfer window */
	{ RA, FSM_ACCEPTED, DL(FSM_DL_TRANSFER), FSM_TRANSFER_OVERDUE, NO,
	    FSM_DL_TRANSFER, CK_DUE, A_OVERDUE, 0, DLB(FSM_DL_TRANSFER), 0 },
	{ RA, FSM_DEEMED_ACCEPTED, DL(FSM_DL_TRANSFER), FSM_TRANSFER_OVERDUE,
	    NO, FSM_DL_TRANSFER, CK_DUE, A_OVERDUE, 0, DLB(FSM_DL_TRANSFER),
	    0 },
	{ RA, FSM_DOCUMENTED, DL(FSM_DL_TRANSFER), FSM_TRANSFER_OVERDUE, NO,
	    FSM_DL_TRANSFER, CK_DUE, A_OVERDUE, 0, DLB(FSM_DL_TRANSFER), 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, DL(FSM_DL_TRANSFER),
	    FSM_TRANSFER_OVERDUE, NO, FSM_DL_TRANSFER, CK_DUE, A_OVERDUE, 0,
	    DLB(FSM_DL_TRANSFER), 0 },
	{ RA, FSM_ACCEPTED, MSG_EXTENSION_REQUEST, SAME, NO, FSM_DL_TRANSFER,
	    CK_EXT_ASK, A_EXT_ASK, 0, 0, 0 },
	{ RA, FSM_DEEMED_ACCEPTED, MSG_EXTENSION_REQUEST, SAME, NO,
	    FSM_DL_TRANSFER, CK_EXT_ASK, A_EXT_ASK, 0, 0, 0 },
	{ RA, FSM_DOCUMENTED, MSG_EXTENSION_REQUEST, SAME, NO,
	    FSM_DL_TRANSFER, CK_EXT_ASK, A_EXT_ASK, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_EXTENSION_REQUEST, SAME, NO,
	    FSM_DL_TRANSFER, CK_EXT_ASK, A_EXT_ASK, 0, 0, 0 },
	{ RA, FSM_TRANSFER_OVERDUE, MSG_EXTENSION_REQUEST, SAME, NO,
	    FSM_DL_TRANSFER, CK_EXT_ASK, A_EXT_ASK, 0, 0, 0 },
	{ RA, FSM_ACCEPTED, MSG_EXTENSION_REPLY, SAME, SAME, FSM_DL_TRANSFER,
	    CK_EXT_ANSWER, A_EXT_ANSWER, 0, 0, 0 },
	{ RA, FSM_DEEMED_ACCEPTED, MSG_EXTENSION_REPLY, SAME, SAME,
	    FSM_DL_TRANSFER, CK_EXT_ANSWER, A_EXT_ANSWER, 0, 0, 0 },
	{ RA, FSM_DOCUMENTED, MSG_EXTENSION_REPLY, SAME, SAME, FSM_DL_TRANSFER,
	    CK_EXT_ANSWER, A_EXT_ANSWER, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_EXTENSION_REPLY, SAME, SAME,
	    FSM_DL_TRANSFER, CK_EXT_ANSWER, A_EXT_ANSWER, 0, 0, 0 },
	{ RA, FSM_TRANSFER_OVERDUE, MSG_EXTENSION_REPLY, RES, SAME,
	    FSM_DL_TRANSFER, CK_EXT_ANSWER, A_EXT_ANSWER, 0, 0, 0 },
	/* readmission: withdrawal from every open state */
	{ RA, FSM_PENDING_REPLY, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0, 0,
	    0, 0, 0 },
	{ RA, FSM_ACCEPTED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0, 0, 0, 0,
	    0 },
	{ RA, FSM_DEEMED_ACCEPTED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0, 0,
	    0, 0, 0 },
	{ RA, FSM_EXPIRED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0, 0, 0, 0,
	    0 },
	{ RA, FSM_DOCUMENTED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0, 0, 0,
	    0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0,
	    0, 0, 0, 0 },
	{ RA, FSM_TRANSFER_OVERDUE, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0,
	    0, 0, 0, 0 },
	/* readmission: domestic records (open states) */
	{ RA, FSM_PENDING_REPLY, REC(FSM_REC_PROTECTION_CLAIM), SAME, NO, -1,
	    0, A_CLAIM, 0, 0, 0 },
	{ RA, FSM_ACCEPTED, REC(FSM_REC_PROTECTION_CLAIM), SAME, NO, -1, 0,
	    A_CLAIM, 0, 0, 0 },
	{ RA, FSM_DEEMED_ACCEPTED, REC(FSM_REC_PROTECTION_CLAIM), SAME, NO, -1,
	    0, A_CLAIM, 0, 0, 0 },
	{ RA, FSM_EXPIRED, REC(FSM_REC_PROTECTION_CLAIM), SAME, NO, -1, 0,
	    A_CLAIM, 0, 0, 0 },
	{ RA, FSM_DOCUMENTED, REC(FSM_REC_PROTECTION_CLAIM), SAME, NO, -1, 0,
	    A_CLAIM, 0, 0, 0 },
	/* an announced transfer stops at once */
	{ RA, FSM_TRANSFER_SCHEDULED, REC(FSM_REC_PROTECTION_CLAIM),
	    FSM_TO_PROTECTION, NO, FSM_DL_TRANSFER, 0, A_TELL | A_PROTECT,
	    0, 0, 0 },
	{ RA, FSM_TRANSFER_OVERDUE, REC(FSM_REC_PROTECTION_CLAIM), SAME, NO,
	    -1, 0, A_CLAIM, 0, 0, 0 },
	{ RA, FSM_PENDING_REPLY, REC(FSM_REC_ASSESSMENT), SAME, NO, -1,
	    CK_CLAIM, A_ASSESS, 0, 0, 0 },
	{ RA, FSM_ACCEPTED, REC(FSM_REC_ASSESSMENT), SAME, NO, -1, CK_CLAIM,
	    A_ASSESS, 0, 0, 0 },
	{ RA, FSM_DEEMED_ACCEPTED, REC(FSM_REC_ASSESSMENT), SAME, NO, -1,
	    CK_CLAIM, A_ASSESS, 0, 0, 0 },
	{ RA, FSM_EXPIRED, REC(FSM_REC_ASSESSMENT), SAME, NO, -1, CK_CLAIM,
	    A_ASSESS, 0, 0, 0 },
	{ RA, FSM_DOCUMENTED, REC(FSM_REC_ASSESSMENT), SAME, NO, -1, CK_CLAIM,
	    A_ASSESS, 0, 0, 0 },
	{ RA, FSM_TRANSFER_SCHEDULED, REC(FSM_REC_ASSESSMENT), SAME, NO, -1,
	    CK_CLAIM, A_ASSESS, 0, 0, 0 },
	{ RA, FSM_TRANSFER_OVERDUE, REC(FSM_REC_ASSESSMENT), SAME, NO, -1,
	    CK_CLAIM, A_ASSESS, 0, 0, 0 },

	/* transit */
	{ TR, FSM_NONE, MSG_TRANSIT_REQUEST, FSM_TRANSIT_PENDING, NO, -1,
	    CK_OPEN, A_OPEN, DLB(FSM_DL_TRANSIT_REPLY), 0, 0 },
	{ TR, FSM_SUBMITTED, MSG_TRANSIT_REQUEST, FSM_TRANSIT_PENDING, NO, -1,
	    0, 0, DLB(FSM_DL_TRANSIT_REPLY), 0, 0 },
	{ TR, FSM_SUBMITTED, FAIL, FSM_NOT_SENT, NO, -1, 0, 0, 0, 0, 0 },
	{ TR, FSM_TRANSIT_PENDING, MSG_TRANSIT_REPLY, FSM_TRANSIT_CONSENTED,
	    FSM_TRANSIT_REFUSED, FSM_DL_TRANSIT_REPLY, CK_TIMELY | CK_GROUNDS,
	    0, DLB(FSM_DL_TRANSIT_VALIDITY), DLB(FSM_DL_TRANSIT_REPLY), 0 },
	{ TR, FSM_TRANSIT_PENDING, DL(FSM_DL_TRANSIT_REPLY),
	    FSM_TRANSIT_EXPIRED, NO, FSM_DL_TRANSIT_REPLY, CK_DUE, 0, 0,
	    DLB(FSM_DL_TRANSIT_REPLY), 0 },
	/* a timely reply that arrives after the reply deadline fired */
	{ TR, FSM_TRANSIT_EXPIRED, MSG_TRANSIT_REPLY, FSM_TRANSIT_CONSENTED,
	    FSM_TRANSIT_REFUSED, FSM_DL_TRANSIT_REPLY,
	    CK_NO_CONSENT | CK_TIMELY | CK_GROUNDS, 0,
	    DLB(FSM_DL_TRANSIT_VALIDITY), 0, 0 },
	{ TR, FSM_TRANSIT_CONSENTED, DL(FSM_DL_TRANSIT_VALIDITY),
	    FSM_TRANSIT_EXPIRED, NO, FSM_DL_TRANSIT_VALIDITY, CK_DUE, 0, 0,
	    DLB(FSM_DL_TRANSIT_VALIDITY), 0 },
	{ TR, FSM_TRANSIT_PENDING, MSG_TRANSIT_REVOCATION, FSM_TRANSIT_REVOKED,
	    NO, -1, CK_REVOKER, 0, 0, 0, 0 },
	{ TR, FSM_TRANSIT_CONSENTED, MSG_TRANSIT_REVOCATION,
	    FSM_TRANSIT_REVOKED, NO, -1, 0, 0, 0, 0, 0 },
	{ TR, FSM_TRANSIT_CONSENTED, MSG_HANDOVER_CONFIRMATION,
	    FSM_TRANSIT_COMPLETED, NO, FSM_DL_TRANSIT_VALIDITY, CK_TIMELY, 0,
	    0, 0, 0 },
	{ TR, FSM_TRANSIT_PENDING, MSG_ESCORT_NOTICE, SAME, NO, -1, 0, 0, 0,
	    0, 0 },
	{ TR, FSM_TRANSIT_CONSENTED, MSG_ESCORT_NOTICE, SAME, NO, -1, 0, 0, 0,
	    0, 0 },
	{ TR, FSM_TRANSIT_PENDING, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0, 0,
	    0, 0, 0 },
	{ TR, FSM_TRANSIT_CONSENTED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0,
	    0, 0, 0, 0 },
	{ TR, FSM_TRANSIT_EXPIRED, MSG_WITHDRAWAL, FSM_WITHDRAWN, NO, -1, 0, 0,
	    0, 0, 0 },

	/* voluntary departure */
	{ VD, FSM_NONE, MSG_VOLUNTARY_DEPARTURE_NOTICE, FSM_VD_NOTIFIED, NO,
	    -1, CK_OPEN | CK_PROGRAMME, A_OPEN | A_VD, 0, 0, 0 },
	{ VD, FSM_SUBMITTED, MSG_VOLUNTARY_DEPARTURE_NOTICE, FSM_VD_NOTIFIED,
	    NO, -1, 0, 0, 0, 0, 0 },
	{ VD, FSM_SUBMITTED, FAIL, FSM_NOT_SENT, NO, -1, 0, 0, 0, 0, 0 },
	{ VD, FSM_VD_NOTIFIED, MSG_HANDOVER_CONFIRMATION, FSM_VD_DEPARTED, NO,
	    -1, 0, A_BAN, 0, 0, 0 },
	{ VD, FSM_VD_NOTIFIED, MSG_WITHDRAWAL, FSM_VD_CANCELLED, NO, -1, 0, 0,
	    0, 0, 0 },
};

#define FSM_NRULES	(sizeof(fsm_table) / sizeof(fsm_table[0]))

/* Consultation: the dispute channel, open in every existing state. */
static const struct fsm_rule fsm_consultation = {
	RA, FSM_NONE, MSG_CONSULTATION, SAME, NO, -1, 0, 0, 0, 0, 0
};

/* fsm 1: a claim after the transfer was announced suspended nothing. */
static const struct fsm_rule fsm_v1_claim_scheduled = {
	RA, FSM_TRANSFER_SCHEDULED, REC(FSM_REC_PROTECTION_CLAIM), SAME, NO,
	-1, 0, A_CLAIM, 0, 0, 0
};

static const char *const fsm_state_names[FSM_STATE_COUNT] = {
	[FSM_NONE] = "NONE",
	[FSM_SUBMITTED] = "SUBMITTED",
	[FSM_NOT_SENT] = "NOT_SENT",
	[FSM_WITHDRAWN] = "WITHDRAWN",
	[FSM_PENDING_REPLY] = "PENDING_REPLY",
	[FSM_ACCEPTED] = "ACCEPTED",
	[FSM_DEEMED_ACCEPTED] = "DEEMED_ACCEPTED",
	[FSM_REFUSED] = "REFUSED",
	[FSM_EXPIRED] = "EXPIRED",
	[FSM_DOCUMENTED] = "DOCUMENTED",
	[FSM_TRANSFER_SCHEDULED] = "TRANSFER_SCHEDULED",
	[FSM_TRANSFER_OVERDUE] = "TRANSFER_OVERDUE",
	[FSM_COMPLETED] = "COMPLETED",
	[FSM_TRANSIT_PENDING] = "TRANSIT_PENDING",
	[FSM_TRANSIT_CONSENTED] = "TRANSIT_CONSENTED",
	[FSM_TRANSIT_REFUSED] = "TRANSIT_REFUSED",
	[FSM_TRANSIT_REVOKED] = "TRANSIT_REVOKED",
	[FSM_TRANSIT_EXPIRED] = "TRANSIT_EXPIRED",
	[FSM_TRANSIT_COMPLETED] = "TRANSIT_COMPLETED",
	[FSM_VD_NOTIFIED] = "VD_NOTIFIED",
	[FSM_VD_DEPARTED] = "VD_DEPARTED",
	[FSM_VD_CANCELLED] = "VD_CANCELLED",
	[FSM_TRANSFER_SUSPENDED] = "TRANSFER_SUSPENDED",
	[FSM_PROTECTED] = "PROTECTED",
};

/* Final states: nothing but Consultation happens there. */
static const unsigned char fsm_final[FSM_STATE_COUNT] = {
	[FSM_NOT_SENT] = 1,
	[FSM_WITHDRAWN] = 1,
	[FSM_REFUSED] = 1,
	[FSM_COMPLETED] = 1,
	[FSM_TRANSIT_REFUSED] = 1,
	[FSM_TRANSIT_REVOKED] = 1,
	[FSM_TRANSIT_COMPLETED] = 1,
	[FSM_VD_DEPARTED] = 1,
	[FSM_VD_CANCELLED] = 1,
	[FSM_PROTECTED] = 1,
};

static const char *fsm_dl_names[FSM_DL_COUNT] = {
	"reply", "transfer", "transit-reply", "transit-validity"
};

static const char *fsm_ev_names[] = {
	"received", "sending", "receipted", "failed", "fired", "recorded"
};

const char *
fsm_state_name(enum fsm_state s)
{
	return nametab_name(fsm_state_names, FSM_STATE_COUNT, (int)s, "?");
}

int
fsm_state_from_name(const char *name)
{
	return nametab_find(fsm_state_names, FSM_STATE_COUNT, name);
}

int
fsm_state_final(enum fsm_state s)
{
	if ((int)s < 0 || s >= FSM_STATE_COUNT)
		return 0;
	return fsm_final[s];
}

const char *
fsm_role_name(enum fsm_role r)
{
	return r == ROLE_REQUESTING ? "R" : r == ROLE_REQUESTED ? "Q" : "?";
}

const char *
fsm_kind_name(enum fsm_kind k)
{
	switch (k) {
	case FSM_KIND_READMISSION:
		return "readmission";
	case FSM_KIND_TRANSIT:
		return "transit";
	case FSM_KIND_VOLUNTARY:
		return "voluntary";
	default:
		return "?";
	}
}

const char *
fsm_deadline_name(enum fsm_deadline dl)
{
	if ((int)dl < 0 || dl >= FSM_DL_COUNT)
		return "?";
	return fsm_dl_names[dl];
}

const char *
fsm_trigger_name(int trigger)
{
	static const char *extra[] = {
		"deadline:reply", "deadline:transfer",
		"deadline:transit-reply", "deadline:transit-validity",
		"record:protection-claim", "record:assessment",
		"failed:opening"
	};

	if (trigger >= 0 && trigger < MSG_TYPE_COUNT)
		return agreement_msg_type_name((enum msg_type)trigger);
	if (trigger >= FSM_TR_DEADLINE && trigger < FSM_TR_COUNT)
		return extra[trigger - FSM_TR_DEADLINE];
	return "?";
}

enum fsm_role
fsm_role_other(enum fsm_role r)
{
	return r == ROLE_REQUESTING ? ROLE_REQUESTED : ROLE_REQUESTING;
}

int
fsm_may_send(enum fsm_kind k, enum fsm_role role, enum msg_type t,
    enum fsm_ext_subject subject)
{
	unsigned m;

	if ((int)k < 0 || k >= FSM_KIND_COUNT || (int)t < 0 ||
	    t >= MSG_TYPE_COUNT)
		return 0;
	m = fsm_senders[k][t];
	if (m == XT) {
		/* Q asks R for more time to reply; R asks Q for more time
		 * to transfer; the other side answers. */
		if (t == MSG_EXTENSION_REQUEST)
			m = subject == FSM_EXT_REPLY_PERIOD ? Q : R;
		else
			m = subject == FSM_EXT_REPLY_PERIOD ? R : Q;
	}
	return (m & (1u << role)) != 0;
}

void
fsm_table_walk(void (*fn)(void *, const struct fsm_row_info *), void *arg)
{
	struct fsm_row_info info;
	size_t i;

	for (i = 0; i < FSM_NRULES; i++) {
		info.kind = fsm_table[i].kind;
		info.from = fsm_table[i].from;
		info.trigger = fsm_table[i].trigger;
		info.to = fsm_table[i].to;
		info.to_neg = fsm_table[i].to_neg;
		fn(arg, &info);
	}
}

static const struct fsm_rule *
fsm_find(enum fsm_kind k, enum fsm_state from, int trigger)
{
	size_t i;

	if (trigger == MSG_CONSULTATION && from != FSM_NONE &&
	    from != FSM_SUBMITTED)
		return &fsm_consultation;
	for (i = 0; i < FSM_NRULES; i++)
		if (fsm_table[i].kind == k && fsm_table[i].from == from &&
		    fsm_table[i].trigger == trigger)
			return &fsm_table[i];
	return NULL;
}

static int fsm_refuse(struct fsm_decision *, enum accord_err, const char *,
    ...) __attribute__((format(printf, 3, 4)));

/* Fill d as a refusal.  @return -1, for "return fsm_refuse(...)". */
static int
fsm_refuse(struct fsm_decision *d, enum accord_err e, const char *fmt, ...)
{
	va_list ap;

	d->refusal = e;
	va_start(ap, fmt);
	vsnprintf(d->text, sizeof(d->text), fmt, ap);
	va_end(ap);
	d->new_state = d->old_state;
	d->ndlops = 0;
	d->effects = 0;
	return -1;
}

static void
fsm_dl_set(struct fsm_decision *d, enum fsm_deadline which,
    accord_time_t due)
{
	int i;

	d->next.due[which] = due;
	d->next.armed |= DLB(which);
	for (i = 0; i < d->ndlops; i++)
		if (d->dlops[i].which == which)
			break;
	if (i == d->ndlops) {
		if (d->ndlops >= FSM_MAX_DLOPS)
			return;
		d->ndlops++;
	}
	d->dlops[i].which = which;
	d->dlops[i].op = FSM_DLOP_SET;
	d->dlops[i].due = due;
}

static void
fsm_dl_clear(struct fsm_decision *d, enum fsm_deadline which)
{
	int i;

	if ((d->next.armed & DLB(which)) == 0)
		return;
	d->next.armed &= ~DLB(which);
	for (i = 0; i < d->ndlops; i++)
		if (d->dlops[i].which == which)
			break;
	if (i == d->ndlops) {
		if (d->ndlops >= FSM_MAX_DLOPS)
			return;
		d->ndlops++;
	}
	d->dlops[i].which = which;
	d->dlops[i].op = FSM_DLOP_CLEAR;
	d->dlops[i].due = d->next.due[which];
}

/* A period: counted from the local date of from, days long, in working
 * days or calendar days, rolled at its end or not. */
struct fsm_period {
	accord_time_t	 from;
	int64_t		 days;
	int		 working;
	int		 roll;
};

/* The period a deadline a row arms runs, by the rules of DESIGN.md
 * section 4. */
static void
fsm_period_of(enum fsm_deadline which, const struct fsm_case *c,
    const struct fsm_event *ev, const struct timelines *tl, int version,
    struct fsm_period *p)
{
	memset(p, 0, sizeof(*p));
	p->from = ev->at;
	p->roll = tl->roll_to_working_day;
	switch (which) {
	case FSM_DL_REPLY:
		p->working = c->procedure == FSM_PROC_ACCELERATED;
		p->days = p->working ? tl->urgent_working_days :
		    tl->standard_reply_days;
		break;
	case FSM_DL_TRANSFER:
		/* From the acceptance: the reply, or the deadline whose
		 * passing was taken as consent.  fsm 2: the reply's signed
		 * Created, which both sides hold, not when each got it. */
		if (ev->kind == FSM_EV_DEADLINE)
			p->from = c->due[FSM_DL_REPLY];
		else if (version >= 2 && ev->created != 0)
			p->from = ev->created;
		p->days = tl->transfer_window_days;
		break;
	case FSM_DL_TRANSIT_REPLY:
		p->days = tl->transit_reply_days;
		break;
	case FSM_DL_TRANSIT_VALIDITY:
		/* A period the transit may use, not one to answer in:
		 * never rolled. */
		p->days = tl->transit_validity_days;
		p->roll = 0;
		break;
	default:
		break;
	}
}

/* The end of a period: 23:59:59 local on its last day, rolled once. */
static accord_time_t
fsm_period_end(const struct calendar *cal, const struct fsm_period *p)
{
	if (p->working)
		return calendar_due_working_days(cal, p->from, (int)p->days);
	return calendar_due_calendar_days(cal, p->from, (int)p->days, p->roll);
}

/* The due instant of a deadline a row arms, computed once, in the
 * requested state's calendar; from fsm 2 the case keeps the period, which
 * an extension lengthens from the same start. */
static void
fsm_dl_arm(enum fsm_deadline which, const struct fsm_event *ev,
    const struct timelines *tl, const struct calendar *cal,
    struct fsm_decision *d)
{
	struct fsm_case *n = &d->next;
	struct fsm_period p;
	accord_time_t due;

	fsm_period_of(which, n, ev, tl, d->version, &p);
	if (d->version >= 2 && which == FSM_DL_TRANSFER &&
	    n->role == ROLE_REQUESTED)
		due = fsm_period_end(cal, &p);	/* Q owns the window */
	else if (d->version >= 2 && which == FSM_DL_TRANSFER &&
	    ev->kind == FSM_EV_DEADLINE && n->deemed_transfer_due != 0)
		due = n->deemed_transfer_due;	/* as Q's receipt said */
	else if (ev->kind != FSM_EV_DEADLINE && ev->given_due[which] != 0)
		due = ev->given_due[which];
	else
		due = fsm_period_end(cal, &p);
	if (d->version >= 2) {
		n->period_from[which] = p.from;
		n->period_days[which] = p.days;
	}
	fsm_dl_set(d, which, due);
}

/* The instant a message speaks for: its Created, and when we are the one
 * creating it, no earlier than now. */
static accord_time_t
fsm_msg_time(const struct fsm_event *ev, accord_time_t now)
{
	if (ev->kind == FSM_EV_SENDING && now > ev->created)
		return now;
	return ev->created;
}

/* The instant a message is received: the receipt given or got (ev->at);
 * when we are the one creating it, the earliest it can be received. */
static accord_time_t
fsm_receipt_time(const struct fsm_event *ev, accord_time_t now)
{
	if (ev->kind == FSM_EV_SENDING)
		return fsm_msg_time(ev, now);
	return ev->at;
}

static int
fsm_check_extension(const struct fsm_rule *r, const struct fsm_case *c,
    const struct fsm_event *ev, const struct timelines *tl, int asking,
    struct fsm_decision *d)
{
	enum fsm_ext_state st;
	int lo, hi;

	if ((r->dl == FSM_DL_REPLY) != (ev->ext_subject ==
	    FSM_EXT_REPLY_PERIOD))
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "no %s extension in this state",
		    ev->ext_subject == FSM_EXT_REPLY_PERIOD ? "reply-period" :
		    "transfer-window");
	st = r->dl == FSM_DL_REPLY ? c->ext_reply : c->ext_transfer;
	if (r->dl == FSM_DL_REPLY) {
		lo = tl->extension_min_days;
		hi = tl->extension_max_days;
	} else {
		lo = 1;
		hi = tl->transfer_extension_max_days;
	}
	if (asking) {
		if (st != FSM_EXTST_NONE)
			return fsm_refuse(d, AE_EXTENSION_REFUSED,
			    "only one extension may be asked for");
		if (r->dl == FSM_DL_REPLY && c->ident_suspended)
			return fsm_refuse(d, AE_EXTENSION_REFUSED,
			    "the reply period is suspended");
	} else {
		if (st != FSM_EXTST_ASKED)
			return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
			    "no extension request to answer");
		if (!ev->positive)
			return 0;
	}
	if (ev->ext_days < lo || ev->ext_days > hi || hi <= 0)
		return fsm_refuse(d, AE_EXTENSION_REFUSED,
		    "extension days outside the agreement's limits");
	return 0;
}

static int
fsm_check_timely(const struct fsm_rule *r, const struct fsm_case *c,
    const struct fsm_event *ev, accord_time_t now, struct fsm_decision *d)
{
	accord_time_t due;

	if (r->dl == FSM_DL_REPLY && c->ident_suspended)
		return 0;	/* the clock is stopped */
	due = c->due[r->dl];
	if (due == 0)
		return 0;
	if (ev->created > due)
		return fsm_refuse(d, AE_DEADLINE_PASSED,
		    "created after the %s deadline", fsm_dl_names[r->dl]);
	if (ev->kind == FSM_EV_SENDING && now > due)
		return fsm_refuse(d, AE_DEADLINE_PASSED,
		    "the %s deadline has passed", fsm_dl_names[r->dl]);
	return 0;
}

static int
fsm_check_notice(const struct fsm_rule *r, const struct fsm_case *c,
    const struct fsm_event *ev, const struct timelines *tl,
    const struct calendar *cal, accord_time_t now, struct fsm_decision *d)
{
	cal_day_t notice_day, earliest, transfer_day;

	if (ev->transfer_at == 0)
		return fsm_refuse(d, AE_INVALID_FIELD, "no transfer time");
	/* fsm 1 counted from the signed Created, which a late delivery
	 * leaves behind; the notice is given when it is received. */
	notice_day = calendar_local_day(cal, d->version >= 2 ?
	    fsm_receipt_time(ev, now) : fsm_msg_time(ev, now));
	earliest = calendar_add_working_days(cal, notice_day,
	    tl->advance_notice_working_days);
	transfer_day = calendar_local_day(cal, ev->transfer_at);
	if (transfer_day < earliest)
		return fsm_refuse(d, AE_NOTICE_TOO_SHORT,
		    "transfer under the advance notice in working days");
	if ((c->armed & DLB(r->dl)) && ev->transfer_at > c->due[r->dl])
		return fsm_refuse(d, AE_INVALID_FIELD,
		    "transfer after the end of the transfer window");
	if (d->version >= 2 && c->has_doc && (transfer_day <
	    c->doc_valid_from || transfer_day > c->doc_valid_until))
		return fsm_refuse(d, AE_DOCUMENT_VALIDITY,
		    "transfer outside the travel document's validity");
	return 0;
}

/* fsm 1: the minimum validity measured from ValidFrom (or from the
 * transfer when one is scheduled). */
static int
fsm_check_doc_v1(const struct fsm_case *c, const struct fsm_event *ev,
    const struct timelines *tl, const struct calendar *cal,
    struct fsm_decision *d)
{
	cal_day_t base, t;

	if (ev->doc_extended)
		return 0;
	base = ev->doc_valid_from;
	if (c->transfer_at != 0) {
		t = calendar_local_day(cal, c->transfer_at);
		if (t > base)
			base = t;
	}
	if (ev->doc_valid_until < calendar_add_months(base,
	    tl->travel_doc_min_validity_months))
		return fsm_refuse(d, AE_DOCUMENT_VALIDITY,
		    "valid for less than the minimum months");
	return 0;
}

/*
 * fsm 2: the document must hold the minimum validity at the notice's
 * receipt (local date in the requested state's calendar), or from the
 * transfer when one is scheduled, and must be valid already (ValidFrom
 * no later than the day after the receipt) and on the transfer day.  An
 * extension is checked the same way.
 */
static int
fsm_check_doc_v2(const struct fsm_case *c, const struct fsm_event *ev,
    const struct timelines *tl, const struct calendar *cal,
    accord_time_t now, struct fsm_decision *d)
{
	cal_day_t received, base, t = 0;

	received = calendar_local_day(cal, fsm_receipt_time(ev, now));
	base = received;
	if (c->transfer_at != 0) {
		t = calendar_local_day(cal, c->transfer_at);
		if (t > base)
			base = t;
	}
	if (ev->doc_valid_from > received + FSM_DOC_FROM_MARGIN)
		return fsm_refuse(d, AE_DOCUMENT_VALIDITY,
		    "the document is not valid yet");
	if (ev->doc_valid_until < calendar_add_months(base,
	    tl->travel_doc_min_validity_months))
		return fsm_refuse(d, AE_DOCUMENT_VALIDITY,
		    "valid for less than the minimum months");
	if (c->transfer_at != 0 && (t < ev->doc_valid_from ||
	    t > ev->doc_valid_until))
		return fsm_refuse(d, AE_DOCUMENT_VALIDITY,
		    "the scheduled transfer is outside the validity");
	return 0;
}

static int
fsm_check_doc(const struct fsm_case *c, const struct fsm_event *ev,
    const struct timelines *tl, const struct calendar *cal,
    accord_time_t now, struct fsm_decision *d)
{
	if (ev->doc_valid_until <= ev->doc_valid_from)
		return fsm_refuse(d, AE_INVALID_FIELD,
		    "document validity ends before it starts");
	if (ev->doc_extended) {
		if (!c->has_doc)
			return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
			    "no travel document to extend");
		if (ev->doc_valid_until < calendar_add_months(
		    c->doc_valid_until, tl->travel_doc_extension_min_months) ||
		    ev->doc_valid_until > calendar_add_months(
		    c->doc_valid_until, tl->travel_doc_extension_max_months))
			return fsm_refuse(d, AE_DOCUMENT_VALIDITY,
			    "extension outside the agreement's range");
	}
	if (d->version >= 2)
		return fsm_check_doc_v2(c, ev, tl, cal, now, d);
	return fsm_check_doc_v1(c, ev, tl, cal, d);
}

static int
fsm_check_programme(const struct fsm_event *ev, const struct programme *p,
    const struct calendar *cal, accord_time_t now, struct fsm_decision *d)
{
	cal_day_t notice_day;
	int32_t ahead;

	if (!p->present)
		return fsm_refuse(d, AE_PROGRAMME_RULE,
		    "no voluntary-departure programme in the agreement");
	notice_day = calendar_local_day(cal, fsm_msg_time(ev, now));
	ahead = ev->departure_date - notice_day;
	if (ahead < p->notice_min_days || ahead > p->notice_max_days)
		return fsm_refuse(d, AE_PROGRAMME_RULE,
		    "notice outside the programme's notice period");
	if (ev->departure_date < p->window_from ||
	    ev->departure_date > p->window_until)
		return fsm_refuse(d, AE_PROGRAMME_RULE,
		    "departure outside the programme's window");
	if (p->exclude_criminal_offences && ev->criminal_offence)
		return fsm_refuse(d, AE_PROGRAMME_RULE,
		    "excluded: criminal offence");
	if (p->exclude_illegal_entry && ev->entry_illegal &&
	    ev->entry_date > p->illegal_entry_after)
		return fsm_refuse(d, AE_PROGRAMME_RULE,
		    "excluded: illegal entry after the programme's date");
	if (p->requires_passport && !ev->passport)
		return fsm_refuse(d, AE_PROGRAMME_RULE, "no passport");
	if (p->requires_application && !ev->application)
		return fsm_refuse(d, AE_PROGRAMME_RULE, "no application");
	if (p->requires_ticket && !ev->ticket)
		return fsm_refuse(d, AE_PROGRAMME_RULE, "no airline ticket");
	return 0;
}

/* Run the row's checks in a fixed order; the first failure wins. */
/* The status a protection row acts on: the assessment an operator
 * records, or what the partner's ProtectionNotice says. */
static enum fsm_protection
fsm_protection_of(const struct fsm_event *ev)
{
	if (ev->kind == FSM_EV_RECORD && ev->record ==
	    FSM_REC_PROTECTION_CLAIM)
		return FSM_PROT_PENDING;
	if (ev->kind == FSM_EV_RECORD)
		return ev->risk_found ? FSM_PROT_UPHELD : FSM_PROT_REJECTED;
	return ev->protection;
}

/* A protection row: refuse a status that makes no sense here. */
static int
fsm_check_protection(const struct fsm_case *c, const struct fsm_event *ev,
    struct fsm_decision *d)
{
	enum fsm_protection p = fsm_protection_of(ev);

	if (p != FSM_PROT_PENDING && p != FSM_PROT_REJECTED &&
	    p != FSM_PROT_UPHELD)
		return fsm_refuse(d, AE_INVALID_FIELD,
		    "no protection status");
	/* ours: it says what was recorded, and only that */
	if (ev->kind == FSM_EV_SENDING && p != fsm_protection_status(c))
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE, "a "
		    "ProtectionNotice says what was recorded: record the "
		    "protection claim or its assessment instead");
	if (ev->kind == FSM_EV_RECEIPTED)
		return 0;	/* told: our records moved the case already */
	if (c->state == FSM_PROTECTED && p != FSM_PROT_UPHELD)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "the claim was upheld: the case is closed");
	if (ev->kind == FSM_EV_RECORD && ev->record == FSM_REC_ASSESSMENT &&
	    c->assessment)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "the claim is assessed already");
	return 0;
}

static int
fsm_check(const struct fsm_rule *r, const struct fsm_case *c,
    const struct fsm_event *ev, const struct agreement *a,
    const struct calendar *cal, accord_time_t now, int positive,
    enum fsm_role sender, struct fsm_decision *d)
{
	const struct timelines *tl = &a->timelines;

	if (r->checks & CK_OPEN) {
		if (r->kind == FSM_KIND_READMISSION &&
		    ev->procedure != FSM_PROC_STANDARD &&
		    ev->procedure != FSM_PROC_ACCELERATED)
			return fsm_refuse(d, AE_INVALID_FIELD,
			    "unknown procedure");
		if (r->kind == FSM_KIND_READMISSION &&
		    ev->reason != FSM_REASON_DELIBERATE &&
		    ev->reason != FSM_REASON_OBJECTIVE)
			return fsm_refuse(d, AE_INVALID_FIELD,
			    "no reason for return");
	}
	if (r->checks & CK_DUE) {
		if ((c->armed & DLB(r->dl)) == 0)
			return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
			    "the %s deadline is not armed",
			    fsm_dl_names[r->dl]);
		/* fsm 2: at the first second after due (fsm 1 fired at
		 * due, the period's last second, while a reply created
		 * then still counted) */
		if (now < c->due[r->dl] || (d->version >= 2 &&
		    now == c->due[r->dl]))
			return fsm_refuse(d, AE_INVALID_FIELD,
			    "the %s deadline is not due yet",
			    fsm_dl_names[r->dl]);
	}
	if ((r->checks & CK_IDENT_ASK) && c->ident_pending)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "an identification request is already open");
	if ((r->checks & CK_IDENT_ANSWER) && !c->ident_pending)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "no identification request to answer");
	if ((r->checks & CK_EXT_ASK) &&
	    fsm_check_extension(r, c, ev, tl, 1, d) == -1)
		return -1;
	if ((r->checks & CK_EXT_ANSWER) &&
	    fsm_check_extension(r, c, ev, tl, 0, d) == -1)
		return -1;
	if ((r->checks & CK_NO_CONSENT) &&
	    c->due[FSM_DL_TRANSIT_VALIDITY] != 0)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "the transit consent has lapsed");
	if (((r->checks & CK_TIMELY) || ((r->checks & CK_ASK_TIMELY) &&
	    d->version >= 2)) && fsm_check_timely(r, c, ev, now, d) == -1)
		return -1;
	if ((r->checks & CK_GROUNDS) && !positive && ev->grounds <= 0)
		return fsm_refuse(d, AE_GROUNDS_REQUIRED,
		    "a refusal must state its grounds");
	if (r->checks & CK_PROTECTION) {
		if (c->protection_claim && !c->assessment)
			return fsm_refuse(d, AE_PROTECTION_PENDING,
			    "protection claim not yet assessed");
		if (c->protection_claim && c->assessment_risk)
			return fsm_refuse(d, AE_PROTECTION_PENDING,
			    "the assessment found a risk");
	}
	if ((r->checks & CK_NOTICE) &&
	    fsm_check_notice(r, c, ev, tl, cal, now, d) == -1)
		return -1;
	if ((r->checks & CK_DOC) &&
	    fsm_check_doc(c, ev, tl, cal, now, d) == -1)
		return -1;
	if ((r->checks & CK_PROGRAMME) &&
	    fsm_check_programme(ev, &a->programme, cal, now, d) == -1)
		return -1;
	if ((r->checks & CK_REVOKER) && d->version >= 2 &&
	    sender != ROLE_REQUESTING)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "no consent to revoke yet: refuse the request instead");
	if ((r->checks & CK_CLAIM) && !c->protection_claim)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "no protection claim recorded");
	if (r->to == FSM_TO_PROTECTION &&
	    fsm_check_protection(c, ev, d) == -1)
		return -1;
	return 0;
}

/* The trigger an event fires (a message type, a deadline, a record), or
 * -1 with d refused. */
static int
fsm_trigger_of(const struct fsm_event *ev, struct fsm_decision *d)
{
	switch (ev->kind) {
	case FSM_EV_DEADLINE:
		if ((int)ev->deadline < 0 || ev->deadline >= FSM_DL_COUNT)
			return fsm_refuse(d, AE_INTERNAL,
			    "unknown deadline");
		return FSM_TR_DEADLINE + ev->deadline;
	case FSM_EV_RECORD:
		if (ev->record != FSM_REC_PROTECTION_CLAIM &&
		    ev->record != FSM_REC_ASSESSMENT)
			return fsm_refuse(d, AE_INTERNAL, "unknown record");
		return FSM_TR_RECORD + ev->record;
	case FSM_EV_RECEIVED:
	case FSM_EV_SENDING:
	case FSM_EV_RECEIPTED:
	case FSM_EV_FAILED:
		if ((int)ev->type < 0 || ev->type >= MSG_TYPE_COUNT ||
		    ev->type == MSG_RECEIPT || ev->type == MSG_ERROR)
			return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
			    "not a business message");
		return ev->type;
	default:
		return fsm_refuse(d, AE_INTERNAL, "unknown event");
	}
}

/* An opening message we send creates the case in SUBMITTED; it takes
 * effect with its receipt. */
static void
fsm_open_case(const struct fsm_rule *r, const struct fsm_event *ev,
    enum fsm_kind kind, enum fsm_role role, struct fsm_decision *d)
{
	d->next.kind = kind;
	d->next.role = role;
	d->next.state = FSM_SUBMITTED;
	d->next.procedure = kind == FSM_KIND_READMISSION ? ev->procedure :
	    FSM_PROC_STANDARD;
	d->next.reason = kind == FSM_KIND_READMISSION ? ev->reason :
	    FSM_REASON_NONE;
	if (r->acts & A_VD)
		d->next.departure_date = ev->departure_date;
	d->new_state = FSM_SUBMITTED;
	d->effects = FSM_EFF_CASE_OPENED;
}

/* The rule's target state; a final state clears every deadline. */
static void
fsm_arrive(const struct fsm_rule *r, const struct fsm_case *c, int positive,
    struct fsm_decision *d)
{
	int to, k;

	to = positive ? r->to : r->to_neg;
	if (to == FSM_TO_SAME)
		to = c->state;
	else if (to == FSM_TO_RESUME)
		to = c->resume != FSM_NONE ? c->resume : FSM_ACCEPTED;
	else if (to == FSM_TO_PROTECTION)
		to = d->next.state;	/* fsm_protection_move() chose */
	d->new_state = to;
	d->next.state = to;
	if (to != FSM_TRANSFER_OVERDUE)
		d->next.resume = FSM_NONE;
	if (fsm_final[to] && !fsm_final[c->state]) {
		for (k = 0; k < FSM_DL_COUNT; k++)
			fsm_dl_clear(d, k);
		d->effects |= FSM_EFF_CLOSED;
	}
}

/*
 * Where a protection row goes (into d->next.state, for fsm_arrive()), and
 * the transfer window with it: it pauses when the transfer is suspended,
 * keeping the calendar days it had left (counted in the requested
 * state's calendar from the local date the pause takes effect), and
 * resumes with those days from the local date the suspension ends, rolled
 * like any period; a due time the requested side sent in its receipt
 * wins, so that both sides hold the same instant.
 */
static void
fsm_protection_move(const struct fsm_case *c, const struct fsm_event *ev,
    const struct timelines *tl, const struct calendar *cal,
    struct fsm_decision *d)
{
	struct fsm_case *n = &d->next;
	accord_time_t due;
	long left;

	if (ev->kind == FSM_EV_RECEIPTED) {
		/* our notice: the operator's records moved our side; the
		 * requested side's resumed window, from its receipt, wins */
		if (c->state == FSM_TRANSFER_SCHEDULED &&
		    ev->given_due[FSM_DL_TRANSFER] != 0)
			fsm_dl_set(d, FSM_DL_TRANSFER,
			    ev->given_due[FSM_DL_TRANSFER]);
		return;
	}
	switch (fsm_protection_of(ev)) {
	case FSM_PROT_PENDING:		/* a new claim: assessed anew */
		n->state = FSM_TRANSFER_SUSPENDED;
		n->protection_claim = 1;
		n->assessment = n->assessment_risk = 0;
		break;
	case FSM_PROT_REJECTED:
		n->state = FSM_TRANSFER_SCHEDULED;
		n->protection_claim = n->assessment = 1;
		n->assessment_risk = 0;
		break;
	default:
		n->state = FSM_PROTECTED;
		n->protection_claim = n->assessment = 1;
		n->assessment_risk = 1;
		break;
	}
	if (c->state == FSM_TRANSFER_SCHEDULED &&
	    n->state == FSM_TRANSFER_SUSPENDED) {
		left = (long)calendar_local_day(cal, c->due[FSM_DL_TRANSFER]) -
		    (long)calendar_local_day(cal, ev->at);
		n->transfer_days_left = left > 0 ? (int)left : 0;
		fsm_dl_clear(d, FSM_DL_TRANSFER);
	} else if (n->state == FSM_TRANSFER_SCHEDULED &&
	    (c->state == FSM_TRANSFER_SUSPENDED ||
	    (ev->kind != FSM_EV_RECORD && ev->given_due[FSM_DL_TRANSFER] !=
	    0))) {
		due = ev->kind != FSM_EV_RECORD &&
		    ev->given_due[FSM_DL_TRANSFER] != 0 ?
		    ev->given_due[FSM_DL_TRANSFER] :
		    calendar_due_calendar_days(cal, ev->at,
		    c->state == FSM_TRANSFER_SUSPENDED ?
		    c->transfer_days_left : n->transfer_days_left,
		    tl->roll_to_working_day);
		n->transfer_days_left = 0;
		fsm_dl_set(d, FSM_DL_TRANSFER, due);
	}
}

enum fsm_protection
fsm_protection_status(const struct fsm_case *c)
{
	if (!c->protection_claim)
		return FSM_PROT_NONE;
	if (!c->assessment)
		return FSM_PROT_PENDING;
	return c->assessment_risk ? FSM_PROT_UPHELD : FSM_PROT_REJECTED;
}

static const char *const fsm_prot_names[] = {
	[FSM_PROT_PENDING] = "claim-pending",
	[FSM_PROT_REJECTED] = "claim-rejected",
	[FSM_PROT_UPHELD] = "claim-upheld",
};

const char *
fsm_protection_name(enum fsm_protection p)
{
	if ((int)p <= FSM_PROT_NONE || p > FSM_PROT_UPHELD)
		return NULL;
	return fsm_prot_names[p];
}

int
fsm_protection_from_name(const char *name)
{
	int p;

	for (p = FSM_PROT_PENDING; p <= FSM_PROT_UPHELD; p++)
		if (strcmp(fsm_prot_names[p], name) == 0)
			return p;
	return -1;
}

/*
 * fsm 2: the days a suspended reply period has left at ev->at: calendar
 * days, or working days for a working-day period, from the local date of
 * the suspension to the due date (0 on the due date itself).
 */
static int64_t
fsm_days_left(const struct fsm_case *c, const struct fsm_event *ev,
    const struct calendar *cal)
{
	cal_day_t today, end;

	today = calendar_local_day(cal, ev->at);
	end = calendar_local_day(cal, c->due[FSM_DL_REPLY]);
	if (end <= today)
		return 0;
	if (c->procedure == FSM_PROC_ACCELERATED)
		return calendar_count_working_days(cal, today, end);
	return end - today;
}

/* fsm 2: the response resumes the suspended period like a fresh one of
 * the days it had left, from its own receipt. */
static void
fsm_resume_days(const struct fsm_case *c, const struct fsm_event *ev,
    const struct timelines *tl, const struct calendar *cal,
    struct fsm_decision *d)
{
	struct fsm_case *n = &d->next;
	struct fsm_period p;
	accord_time_t due;

	memset(&p, 0, sizeof(p));
	p.from = ev->at;
	p.days = c->ident_remaining;
	p.working = c->procedure == FSM_PROC_ACCELERATED;
	p.roll = tl->roll_to_working_day;
	due = ev->given_due[FSM_DL_REPLY] != 0 ?
	    ev->given_due[FSM_DL_REPLY] : fsm_period_end(cal, &p);
	n->ident_pending = 0;
	n->ident_suspended = 0;
	n->ident_days = 0;
	n->ident_remaining = 0;
	n->period_from[FSM_DL_REPLY] = p.from;
	n->period_days[FSM_DL_REPLY] = p.days;
	fsm_dl_set(d, FSM_DL_REPLY, due);
}

/*
 * A granted extension of M days.  fsm 2: the period becomes N + M days
 * from the same start, rolled once at its end; fsm 1 (and a period fsm 1
 * armed, whose start the case does not hold) added M days to the running,
 * already rolled, deadline.
 */
static void
fsm_extend(enum fsm_deadline which, const struct fsm_case *c,
    const struct fsm_event *ev, const struct timelines *tl,
    const struct calendar *cal, struct fsm_decision *d)
{
	struct fsm_case *n = &d->next;
	struct fsm_period p;
	accord_time_t due;

	if (d->version >= 2 && c->period_from[which] != 0) {
		memset(&p, 0, sizeof(p));
		p.from = c->period_from[which];
		p.days = c->period_days[which] + ev->ext_days;
		p.working = which == FSM_DL_REPLY &&
		    c->procedure == FSM_PROC_ACCELERATED;
		p.roll = which == FSM_DL_TRANSIT_VALIDITY ? 0 :
		    tl->roll_to_working_day;
		due = fsm_period_end(cal, &p);
		n->period_days[which] = p.days;
	} else
		due = calendar_extend_days(cal, c->due[which], ev->ext_days,
		    tl->roll_to_working_day);
	if (ev->given_due[which] != 0)
		due = ev->given_due[which];
	fsm_dl_set(d, which, due);
}

/* Apply the row's actions to d->next. */
static void
fsm_act(const struct fsm_rule *r, const struct fsm_case *c,
    const struct fsm_event *ev, const struct agreement *a,
    const struct calendar *cal, int positive, enum fsm_role role,
    struct fsm_decision *d)
{
	const struct timelines *tl = &a->timelines;
	struct fsm_case *n = &d->next;
	accord_time_t due;
	int i;

	if (r->acts & A_OPEN) {
		n->kind = r->kind;
		n->role = role;
		n->procedure = r->kind == FSM_KIND_READMISSION ?
		    ev->procedure : FSM_PROC_STANDARD;
		n->reason = r->kind == FSM_KIND_READMISSION ? ev->reason :
		    FSM_REASON_NONE;
		d->effects |= FSM_EFF_CASE_OPENED;
	}
	if (r->acts & A_VD)
		n->departure_date = ev->departure_date;
	if (r->acts & A_SUSPEND) {
		n->ident_pending = 1;
		if (tl->identification_suspends &&
		    (c->armed & DLB(FSM_DL_REPLY))) {
			n->ident_suspended = 1;
			if (d->version >= 2) {
				n->ident_days = 1;
				n->ident_remaining = fsm_days_left(c, ev, cal);
			} else {
				n->ident_remaining = c->due[FSM_DL_REPLY] -
				    ev->at;
				if (n->ident_remaining < 0)
					n->ident_remaining = 0;
			}
			fsm_dl_clear(d, FSM_DL_REPLY);
		}
	}
	if ((r->acts & A_RESUME) && c->ident_suspended && c->ident_days &&
	    d->version >= 2)
		fsm_resume_days(c, ev, tl, cal, d);
	else if (r->acts & A_RESUME) {
		n->ident_pending = 0;
		if (c->ident_suspended) {
			/* fsm 1, or a suspension fsm 1 decided: the
			 * seconds left, from the response's receipt */
			n->ident_suspended = 0;
			due = ev->given_due[FSM_DL_REPLY] != 0 ?
			    ev->given_due[FSM_DL_REPLY] :
			    ev->at + c->ident_remaining;
			n->ident_remaining = 0;
			fsm_dl_set(d, FSM_DL_REPLY, due);
		}
	}
	if (r->acts & A_EXT_ASK) {
		if (r->dl == FSM_DL_REPLY)
			n->ext_reply = FSM_EXTST_ASKED;
		else
			n->ext_transfer = FSM_EXTST_ASKED;
	}
	if (r->acts & A_EXT_ANSWER) {
		if (r->dl == FSM_DL_REPLY)
			n->ext_reply = positive ? FSM_EXTST_GRANTED :
			    FSM_EXTST_REFUSED;
		else
			n->ext_transfer = positive ? FSM_EXTST_GRANTED :
			    FSM_EXTST_REFUSED;
		if (positive && r->dl == FSM_DL_REPLY && c->ident_suspended)
			n->ident_remaining += c->ident_days ? ev->ext_days :
			    (int64_t)ev->ext_days * 86400;
		else if (positive)
			fsm_extend(r->dl, c, ev, tl, cal, d);
	}
	if ((r->acts & A_DEEMED) && positive) {
		n->deemed = 1;
		d->effects |= FSM_EFF_DEEMED_ACCEPTED;
	}
	if (r->acts & A_UNDEEM)
		n->deemed = 0;
	if (r->acts & A_DOC) {
		n->has_doc = 1;
		n->doc_valid_until = ev->doc_valid_until;
		if (d->version >= 2 && !ev->doc_extended)
			n->doc_valid_from = ev->doc_valid_from;
	}
	if (r->acts & A_TRANSFER)
		n->transfer_at = ev->transfer_at;
	if (r->acts & A_OVERDUE)
		n->resume = c->state;
	if (r->acts & A_CLAIM)
		n->protection_claim = 1;
	if (r->acts & A_ASSESS) {
		n->assessment = 1;
		n->assessment_risk = ev->risk_found != 0;
	}
	if (r->acts & A_TELL)
		d->effects |= FSM_EFF_TELL_PROTECTION;
	if ((r->acts & A_HANDOVER) && d->version >= 2 &&
	    c->protection_claim && !c->assessment)
		d->effects |= FSM_EFF_HANDOVER_CLAIM;
	if (r->acts & A_PROTECT)
		fsm_protection_move(c, ev, tl, cal, d);
	if (r->acts & A_BAN) {
		d->effects |= FSM_EFF_ENTRY_BAN;
		d->entry_ban_years = c->reason == FSM_REASON_DELIBERATE ?
		    tl->entry_ban_years : 0;
	}
	for (i = 0; i < FSM_DL_COUNT; i++)
		if (r->clear & DLB(i))
			fsm_dl_clear(d, i);
	if (positive)
		for (i = 0; i < FSM_DL_COUNT; i++)
			if (r->set & DLB(i))
				fsm_dl_arm(i, ev, tl, cal, d);
}

static void
fsm_event_label(const struct fsm_event *ev, int trigger, char *buf,
    size_t len)
{
	if (ev->kind == FSM_EV_DEADLINE)
		snprintf(buf, len, "%s deadline fired",
		    fsm_deadline_name(ev->deadline));
	else if (ev->kind == FSM_EV_RECORD)
		snprintf(buf, len, "%s", fsm_trigger_name(trigger));
	else
		snprintf(buf, len, "%s %s", fsm_trigger_name(trigger),
		    (size_t)ev->kind < sizeof(fsm_ev_names) /
		    sizeof(fsm_ev_names[0]) ? fsm_ev_names[ev->kind] : "?");
}

int
fsm_decide(const struct fsm_case *c, const struct fsm_event *ev,
    const struct agreement *a, const struct calendar *requested_cal,
    accord_time_t now, struct fsm_decision *d)
{
	return fsm_decide_v(c, ev, a, requested_cal, now, FSM_VERSION, d);
}

enum fsm_role
fsm_calendar_role(enum fsm_kind k, int version)
{
	/* the Korea programme's notice period is the receiving state's
	 * rule, counted on its dates */
	if (k == FSM_KIND_VOLUNTARY && version >= 2)
		return ROLE_REQUESTING;
	return ROLE_REQUESTED;
}

int
fsm_decide_v(const struct fsm_case *c, const struct fsm_event *ev,
    const struct agreement *a, const struct calendar *requested_cal,
    accord_time_t now, int version, struct fsm_decision *d)
{
	const struct fsm_rule *r;
	enum fsm_kind kind;
	enum fsm_role role, sender;
	enum fsm_state from;
	int trigger, positive, k, opening = 0;

	memset(d, 0, sizeof(*d));
	d->version = version;
	d->old_state = c->state;
	d->new_state = c->state;
	d->next = *c;
	d->refusal = AE_OK;
	sender = c->role;

	if (version < FSM_VERSION_MIN || version > FSM_VERSION)
		return fsm_refuse(d, AE_INTERNAL, "unknown fsm version %d",
		    version);

	if ((int)c->state < 0 || c->state >= FSM_STATE_COUNT)
		return fsm_refuse(d, AE_INTERNAL, "case in no known state");

	if ((trigger = fsm_trigger_of(ev, d)) == -1)
		return -1;
	fsm_event_label(ev, trigger, d->event, sizeof(d->event));

	/* Which machine, which role, and whether this opens a case. */
	kind = c->kind;
	role = c->role;
	from = c->state;
	for (k = 0; k < FSM_KIND_COUNT; k++)
		if (trigger == (int)fsm_opening[k])
			break;
	if (k < FSM_KIND_COUNT &&
	    (ev->kind == FSM_EV_RECEIVED || ev->kind == FSM_EV_SENDING)) {
		if (c->state != FSM_NONE)
			return fsm_refuse(d, AE_CASE_EXISTS,
			    "the case already exists");
		opening = 1;
		kind = k;
		/* The opening message's sender role is fixed by its type. */
		sender = fsm_senders[k][trigger] == R ? ROLE_REQUESTING :
		    ROLE_REQUESTED;
		role = ev->kind == FSM_EV_SENDING ? sender :
		    fsm_role_other(sender);
	} else if (c->state == FSM_NONE)
		return fsm_refuse(d, AE_UNKNOWN_CASE, "no such case");

	if (ev->kind == FSM_EV_FAILED) {
		/* An Error or an undelivered message had no effect, except
		 * that a case whose opening failed never opened. */
		if (c->state == FSM_SUBMITTED && trigger == (int)fsm_opening[kind])
			trigger = FSM_TR_FAILED_OPEN;
		else {
			d->effects = FSM_EFF_NO_CHANGE;
			return 0;
		}
	}

	if (trigger < MSG_TYPE_COUNT && ev->kind != FSM_EV_FAILED) {
		sender = ev->kind == FSM_EV_RECEIVED ? fsm_role_other(role) :
		    role;
		if (fsm_senders[kind][trigger] == 0)
			return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
			    "%s not part of this kind of case",
			    fsm_trigger_name(trigger));
		if (!fsm_may_send(kind, sender, trigger, ev->ext_subject) ||
		    (version < 2 && trigger == MSG_TRANSIT_REVOCATION &&
		    sender != ROLE_REQUESTING))
			return fsm_refuse(d, AE_ROLE_NOT_ALLOWED,
			    "%s may not be sent by this role",
			    fsm_trigger_name(trigger));
	}

	r = fsm_find(kind, from, trigger);
	if (r == NULL)
		return fsm_refuse(d, AE_NOT_ALLOWED_IN_STATE,
		    "not allowed in %s", fsm_state_name(from));
	if (version < 2 && kind == FSM_KIND_READMISSION &&
	    from == FSM_TRANSFER_SCHEDULED &&
	    trigger == REC(FSM_REC_PROTECTION_CLAIM))
		r = &fsm_v1_claim_scheduled;

	if (r->to_neg == FSM_NONE)
		positive = 1;
	else if (r->flags & SILENCE)
		positive = a->timelines.silence_means_consent != 0;
	else
		positive = ev->positive != 0;

	if (fsm_check(r, c, ev, a, requested_cal, now, positive, sender,
	    d) == -1)
		return -1;

	if (ev->kind == FSM_EV_SENDING) {
		/* Checks only; the message takes effect with its receipt.
		 * An opening message creates the case in SUBMITTED. */
		if (!opening) {
			d->effects = FSM_EFF_NO_CHANGE;
			return 0;
		}
		fsm_open_case(r, ev, kind, role, d);
		return 0;
	}

	fsm_act(r, c, ev, a, requested_cal, positive, role, d);

	/* R keeps the window Q's receipt gives should silence mean
	 * consent (DESIGN.md 4: the requested side owns every deadline) */
	if (version >= 2 && role == ROLE_REQUESTING &&
	    ev->kind == FSM_EV_RECEIPTED && kind == FSM_KIND_READMISSION &&
	    ev->given_due[FSM_DL_TRANSFER] != 0 &&
	    !(d->next.armed & DLB(FSM_DL_TRANSFER)))
		d->next.deemed_transfer_due = ev->given_due[FSM_DL_TRANSFER];
	fsm_arrive(r, c, positive, d);
	return 0;
}

accord_time_t
fsm_transfer_if_deemed(const struct fsm_case *c, const struct agreement *a,
    const struct calendar *requested_cal)
{
	struct fsm_period p;

	if (c->kind != FSM_KIND_READMISSION ||
	    !(c->armed & DLB(FSM_DL_REPLY)))
		return 0;
	memset(&p, 0, sizeof(p));
	p.from = c->due[FSM_DL_REPLY];
	p.days = a->timelines.transfer_window_days;
	p.roll = a->timelines.roll_to_working_day;
	return fsm_period_end(requested_cal, &p);
}

void
fsm_apply(struct fsm_case *c, const struct fsm_decision *d)
{
	if (d->refusal != AE_OK || (d->effects & FSM_EFF_NO_CHANGE))
		return;
	*c = d->next;
}

char *
fsm_describe(const struct fsm_decision *d, char *buf, unsigned long len)
{
	if (len == 0)
		return buf;
	if (d->refusal != AE_OK)
		snprintf(buf, len, "%s refused %s (%s): %s",
		    fsm_state_name(d->old_state), d->event,
		    errcode_name(d->refusal), d->text);
	else
		snprintf(buf, len, "%s -> %s (%s)",
		    fsm_state_name(d->old_state),
		    fsm_state_name(d->new_state), d->event);
	return buf;
}

int
fsm_case_open(enum msg_type t, int incoming, struct fsm_case *c)
{
	memset(c, 0, sizeof(*c));
	switch (t) {
	case MSG_READMISSION_REQUEST:
		c->kind = FSM_KIND_READMISSION;
		break;
	case MSG_TRANSIT_REQUEST:
		c->kind = FSM_KIND_TRANSIT;
		break;
	case MSG_VOLUNTARY_DEPARTURE_NOTICE:
		c->kind = FSM_KIND_VOLUNTARY;
		break;
	default:
		return -1;
	}
	if (c->kind == FSM_KIND_VOLUNTARY)
		c->role = incoming ? ROLE_REQUESTING : ROLE_REQUESTED;
	else
		c->role = incoming ? ROLE_REQUESTED : ROLE_REQUESTING;
	c->state = FSM_NONE;
	return 0;
}
