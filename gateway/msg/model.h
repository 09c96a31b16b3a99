/*
 * model.h -- the verified message model: what a parser (msg/parser.c)
 * read from one partner message's DOM, the one it validated and whose
 * signature it verified (DESIGN.md 5, "one DOM"), as plain C values the
 * engine decides on without any XML.
 *
 * The engine never reads partner XML itself: in-process (no privilege
 * separation, the unit tests) it calls parser_read(); privilege-separated,
 * a parser process does, and the model crosses the socketpair in the
 * serialisation below (JSON: model_encode(), model_decode()).
 */
#ifndef ACCORD_MODEL_H
#define ACCORD_MODEL_H

#include <stddef.h>

#include "conf/calendar.h"
#include "msg/envelope.h"
#include "util/clock.h"
#include "util/errcode.h"

/* How far a message got: each stage passed means the earlier ones did. */
enum model_stage {
	MODEL_REFUSED = 0,	/* envelope_parse() refused the bytes */
	MODEL_NO_HEADER,	/* schema-valid, but the header is unreadable */
	MODEL_UNSIGNED,		/* header read; the signature is refused */
	MODEL_VERIFIED		/* signed by one of the partner's certificates */
};

/* A value the engine compares with the message's text (a receipt's
 * ReceivedMessageId, an Error's Code): absent, or too long for text, is
 * has == 0. */
struct model_text {
	int	has;
	char	text[128];
};

/* A date rule of the body (engine_check_dates), in document order. */
enum model_date_kind {
	MODEL_DATE_REVERSED,	/* path/until is before path/from */
	MODEL_DATE_BIRTH,	/* path/BirthDate is day */
	MODEL_DATE_TRANSFER	/* path/TransferAt is at */
};

struct model_date {
	enum model_date_kind	 kind;
	char			 path[256];
	char			 from[16], until[16];	/* REVERSED */
	cal_day_t		 day;			/* BIRTH */
	accord_time_t		 at;			/* TRANSFER */
};

#define MODEL_DEADLINES_MAX	8

struct model_deadline {
	char		kind[32];	/* the Receipt's Deadline/Kind */
	accord_time_t	due;
};

/*
 * The grounds a refusing ReadmissionReply or TransitReply states
 * (Refused/Ground, Refusal/Ground; at most 11 by the schemas), in
 * document order: they are journalled with the message, so that the
 * store counts refusals by ground without reading the XML again.
 */
#define MODEL_GROUNDS_MAX	16
#define MODEL_GROUND_LEN	48

struct model_grounds {
	int	n;
	char	name[MODEL_GROUNDS_MAX][MODEL_GROUND_LEN];
};

/*
 * The person a ReadmissionRequest, TransitRequest or VoluntaryDepartureNotice
 * names (Body/.../Person), for the person index only (persist/personidx.h):
 * the engine hashes these with a key no parser holds, and nothing else
 * reads them -- never journalled, logged or shown.  Name is at most 100
 * characters (common.xsd), 4 bytes each in UTF-8.
 */
#define MODEL_NAME_LEN	404

struct model_person {
	int	has;
	char	surname[MODEL_NAME_LEN];
	char	given[MODEL_NAME_LEN];		/* "" when not given */
	char	birth_surname[MODEL_NAME_LEN];	/* "" when not given */
	char	birth_date[16];			/* YYYY-MM-DD */
};

enum model_reason {
	MODEL_REASON_NONE = 0,
	MODEL_REASON_DELIBERATE,
	MODEL_REASON_OBJECTIVE
};

struct model {
	enum model_stage	 stage;
	enum accord_err		 code;		/* why a stage failed */
	char			 text[512];
	char			 sha256[65];	/* of the exact bytes, hex */
	struct envelope_header	 h;		/* MODEL_UNSIGNED and on */

	/* the signature (MODEL_VERIFIED) */
	char			 signer_sha256[65];
	char			 signer_subject[256];
	accord_time_t		 signer_not_before, signer_not_after;
	accord_time_t		 signed_at;

	/* business facts (engine_event_facts), by h.type */
	enum model_reason	 reason;	/* ReadmissionRequest */
	int			 positive;	/* replies: Accepted, Consent,
						 * Granted */
	int			 grounds;	/* refusal grounds */
	struct model_grounds	 ground_names;	/* ... as they are named */
	accord_time_t		 given_transfer;	/* TransferDeadline */
	int			 ext_transfer_window;	/* Subject */
	int			 ext_days;
	int			 doc_extended;
	cal_day_t		 doc_valid_from, doc_valid_until;
	accord_time_t		 transfer_at;
	char			 protection[32];
	cal_day_t		 departure_date, entry_date;
	int			 passport, application, ticket;
	int			 criminal_offence, entry_illegal;

	/* personal: for the person index only (above) */
	struct model_person	 person;

	/* signals: Receipt and Error */
	struct model_text	 received_id;	/* Receipt/ReceivedMessageId */
	struct model_text	 receipt_sha256;	/* Receipt/Sha256 */
	int			 has_received_at;
	accord_time_t		 received_at;
	struct model_deadline	 deadlines[MODEL_DEADLINES_MAX];
	int			 ndeadlines;
	struct model_text	 error_code;	/* Error/Code */
	struct model_text	 error_ref;	/* Error/RefToMessageId */

	/* Redelivery (v2): the original, decoded, still untrusted */
	enum accord_err		 rdv_code;	/* AE_OK when readable */
	char			 rdv_text[512];
	struct envelope_redelivery rdv;

	/* date rules, in document order */
	struct model_date	*dates;
	size_t			 ndates;
};

/* Free what m holds (dates, the Redelivery's original) and zero it. */
void model_clear(struct model *m);

/* m as one JSON object: *out (free()) and *len.  @return 0/-1. */
int model_encode(const struct model *m, char **out, size_t *len);

/* The inverse: m filled from buf (m is cleared first; clear it after).
 * @return 0, or -1 when buf is no model: a member missing, a string too
 * long for its array, an enumeration out of its range. */
int model_decode(const char *buf, size_t len, struct model *m);

#endif
