/*
 * agreement.h -- one partner agreement, loaded from conf/partners/.
 *
 * An agreement binds this gateway's state to one partner state: where the
 * partner's gateway listens, how its TLS client and its signatures are
 * recognised, its calendar, the timelines of the treaty and the rules of a
 * programme where one applies.  The message-type enumeration lives here
 * because every floor above (envelope, xmlsig, fsm) speaks it.
 */
#ifndef ACCORD_AGREEMENT_H
#define ACCORD_AGREEMENT_H

#include <stdint.h>
#include <openssl/x509.h>

#include "conf/calendar.h"
#include "conf/retention.h"
#include "util/clock.h"

/* Every message of protocols/ (DESIGN.md section 2). */
enum msg_type {
	MSG_READMISSION_REQUEST = 0,
	MSG_IDENTIFICATION_REQUEST,
	MSG_IDENTIFICATION_RESPONSE,
	MSG_EXTENSION_REQUEST,
	MSG_EXTENSION_REPLY,
	MSG_READMISSION_REPLY,
	MSG_TRAVEL_DOCUMENT_NOTICE,
	MSG_TRANSFER_NOTICE,
	MSG_HANDOVER_CONFIRMATION,
	MSG_TRANSIT_REQUEST,
	MSG_TRANSIT_REPLY,
	MSG_TRANSIT_REVOCATION,
	MSG_ESCORT_NOTICE,
	MSG_VOLUNTARY_DEPARTURE_NOTICE,
	MSG_WITHDRAWAL,
	MSG_CONSULTATION,
	MSG_RECEIPT,
	MSG_ERROR,
	MSG_REDELIVERY,		/* version 2: one of ours, sent again */
	MSG_PROTECTION_NOTICE,	/* version 2: a transfer suspended or ended
				 * by a protection claim */
	MSG_TYPE_COUNT
};

/*
 * The protocol versions this build speaks (protocols/README.md,
 * "Versioning"): each is a pair of namespaces, urn:accord:envelope:N and
 * urn:accord:msg:N.  An agreement lists those it accepts.
 */
#define AGREEMENT_PROTO_MIN	1
#define AGREEMENT_PROTO_MAX	2

/* "ReadmissionRequest" etc.; NULL for an out-of-range value. */
const char *agreement_msg_type_name(enum msg_type t);
/* @return the type, or -1 for an unknown name. */
int agreement_msg_type_from_name(const char *name);

/* The treaty's numbers (DESIGN.md section 1); every one is configurable. */
struct timelines {
	int	urgent_working_days;		/* accelerated reply: 2 */
	int	standard_reply_days;		/* calendar days: 12 */
	int	extension_min_days;		/* reply-period extension: 6 */
	int	extension_max_days;		/* ... up to 60 */
	int	identification_suspends;	/* 1: reply clock stops */
	int	transfer_window_days;		/* after acceptance: 90 */
	int	transfer_extension_max_days;	/* transfer-window extension */
	int	advance_notice_working_days;	/* transfer notice: 3 */
	int	travel_doc_min_validity_months;	/* 6 */
	int	travel_doc_extension_min_months;	/* 6 */
	int	travel_doc_extension_max_months;	/* 12 */
	int	transit_reply_days;		/* 5 */
	int	transit_validity_days;		/* 30 */
	int	silence_means_consent;		/* 1: DEEMED_ACCEPTED */
	int	roll_to_working_day;		/* period ending on a rest day */
	int	entry_ban_years;		/* deliberate violation: 5 */
};

/* Outbound delivery of messages to this partner. */
struct retry_policy {
	int	window_seconds;		/* give up (UNDELIVERED) after this */
	int	initial_backoff_seconds;
	int	max_backoff_seconds;
	int	alert_after_seconds;	/* failing this long: an outage
					 * alert (default 300) */
};

/* A voluntary-departure programme (e.g. Korea's). */
struct programme {
	int		present;
	char		name[64];
	cal_day_t	window_from;		/* departures from ... */
	cal_day_t	window_until;		/* ... until this date */
	int		notice_min_days;	/* notice at least 3 days ... */
	int		notice_max_days;	/* ... at most 15 days before */
	int		exclude_criminal_offences;
	int		exclude_illegal_entry;	/* entered illegally after: */
	cal_day_t	illegal_entry_after;
	int		requires_passport;
	int		requires_application;
	int		requires_ticket;
};

/* One configured signing certificate of the partner. */
struct signing_cert {
	char		*path;
	X509		*cert;
	accord_time_t	 not_before;	/* certificate's own validity */
	accord_time_t	 not_after;
	accord_time_t	 use_from;	/* configured window; 0 = unset */
	accord_time_t	 use_until;
	char		 sha256[65];	/* hex fingerprint of the DER */
};

#define AGREEMENT_MAX_SIGNING 8

struct agreement {
	char		*file;			/* where it was loaded from */
	char		 country[3];		/* ISO 3166 alpha-2 */
	char		 authority[64];
	char		 agreement_id[64];
	char		 title[160];
	char		*endpoint;		/* https URL */
	/* TLS: the client certificate is matched by pin or (CA, subject) */
	char		*tls_ca_path;
	X509		*tls_ca;
	char		 tls_pin_sha256[65];	/* "" when matched by subject */
	char		*tls_subject;		/* NULL when matched by pin */
	/* outbound: the partner's server certificate must also have this
	 * SHA-256 fingerprint of its DER; "" = CA and host name only */
	char		 tls_server_pin_sha256[65];
	struct signing_cert signing[AGREEMENT_MAX_SIGNING];
	int		 nsigning;
	/* optional; signed by tls_ca, it applies to the signing
	 * certificates and to both TLS certificates (client and server) */
	char		*crl_path;
	X509_CRL	*crl;
	accord_time_t	 crl_next_update;	/* 0: the CRL gives none */
	struct calendar	 calendar;		/* the partner's calendar */
	struct timelines timelines;
	uint32_t	 allowed_types;		/* bit (1 << msg_type) */
	unsigned	 protocol_versions;	/* bit (1 << version) accepted */
	struct retry_policy retry;
	struct programme programme;
	struct retention retention;	/* how long cases are kept */
};

struct conf_diag;

/*
 * Load and check one agreement file.  Certificate paths are relative to
 * pki_dir; now decides which certificates are in force.
 * @return 0, or -1 with every error found in d (warnings go there too).
 */
int agreement_load(struct agreement *a, const char *file, const char *pki_dir,
    accord_time_t now, struct conf_diag *d);

/* 1 if cc is an assigned ISO 3166-1 alpha-2 code. */
int agreement_country_valid(const char *cc);

/* The signing certificate with this SHA-256 fingerprint, or NULL. */
const struct signing_cert *agreement_signing_cert(const struct agreement *a,
    const char *sha256);

/*
 * 1 if the partner's CRL lists cert (same issuer name, same serial) as
 * revoked; 0 if it does not or there is no CRL.  A CRL past its
 * nextUpdate still applies: what it lists stays revoked (agreement_load
 * warns, and the alerts report says so).
 */
int agreement_revokes(const struct agreement *a, X509 *cert);

/* 1 if the agreement has a CRL whose nextUpdate is before now. */
int agreement_crl_stale(const struct agreement *a, accord_time_t now);

/* Defaults of DESIGN.md section 1. */
void agreement_timelines_default(struct timelines *tl);

/* 1 if the agreement allows messages of type t (a Redelivery: when it
 * accepts version 2). */
int agreement_allows(const struct agreement *a, enum msg_type t);

/* 1 if the agreement lists protocol version v and this build speaks it. */
int agreement_accepts_version(const struct agreement *a, int v);

/*
 * The version new messages to this partner are built in: the highest
 * that both this build and the agreement accept.  @return 1 or 2 (0 only
 * for an agreement that was never loaded).
 */
int agreement_wire_version(const struct agreement *a);

/* The lowest version the agreement accepts: what an answer is sent in
 * when the version of the message it answers is unknown or not accepted.
 * @return 1 or 2 (0 only for an agreement that was never loaded). */
int agreement_min_version(const struct agreement *a);

/* Free everything a points to (not a itself). */
void agreement_clear(struct agreement *a);

#endif
