/*
 * errcode.h -- the Error signal codes of protocols/errors.md.
 *
 * One enumeration shared by every floor that refuses something: envelope
 * (parse, schema), xmlsig (signature), fsm (case rules) and the transport.
 * Each code has a wire name and says whether the sender may retry the same
 * message later.
 */
#ifndef ACCORD_ERRCODE_H
#define ACCORD_ERRCODE_H

enum accord_err {
	AE_OK = 0,
	/* before authentication */
	AE_TOO_LARGE,		/* body over the size limit */
	AE_MALFORMED,		/* not well-formed XML */
	AE_FORBIDDEN_XML,	/* DOCTYPE, entity, processing instruction */
	AE_TOO_DEEP,		/* nesting over the depth limit */
	AE_SCHEMA_INVALID,	/* not valid against the schemas */
	AE_SIGNATURE_INVALID,	/* no, several, misplaced or bad signature */
	AE_UNKNOWN_SIGNER,	/* signer not one of the partner's certificates */
	/* belonging */
	AE_UNKNOWN_PARTNER,	/* no agreement with the sender */
	AE_WRONG_RECIPIENT,	/* To is not this gateway */
	AE_PARTNER_MISMATCH,	/* From is not the TLS partner, or the case's */
	AE_AGREEMENT_MISMATCH,	/* Agreement id is not the one with the partner */
	AE_TYPE_NOT_AGREED,	/* the agreement does not carry this type */
	AE_STALE_OR_FUTURE,	/* Created outside the accepted window */
	AE_DUPLICATE_CONFLICT,	/* same MessageId, different bytes */
	/* case rules (fsm) */
	AE_UNKNOWN_CASE,	/* no such case with this partner */
	AE_CASE_EXISTS,		/* a request for a case that already exists */
	AE_NOT_ALLOWED_IN_STATE,/* the case's state does not allow the type */
	AE_ROLE_NOT_ALLOWED,	/* the sender's role may not send the type */
	AE_DEADLINE_PASSED,	/* a reply created after its deadline */
	AE_GROUNDS_REQUIRED,	/* a refusal without grounds */
	AE_EXTENSION_REFUSED,	/* second extension, or outside the limits */
	AE_NOTICE_TOO_SHORT,	/* transfer notice under the advance notice */
	AE_DOCUMENT_VALIDITY,	/* travel document validity under the minimum */
	AE_PROTECTION_PENDING,	/* protection claim without assessment */
	AE_PROGRAMME_RULE,	/* voluntary-departure programme rule broken */
	AE_INVALID_FIELD,	/* a field's value is impossible (dates...) */
	/* our side */
	AE_TEMPORARY,		/* try again later */
	AE_INTERNAL,		/* a bug on our side; try again later */
	AE_NOT_YET,		/* refers to a message of ours whose receipt
				 * we have not committed yet: retry (v2) */
	AE_CONFLICT,		/* control only, never on the wire: a submit
				 * request-id reused for another document */
	AE_COUNT
};

/* Wire name, e.g. "NOT_ALLOWED_IN_STATE". */
const char *errcode_name(enum accord_err e);
/* @return the code, or -1 for an unknown name. */
int errcode_from_name(const char *name);
/* 1 if the sender may send the same message again later. */
int errcode_retryable(enum accord_err e);
/* HTTP status the inbound endpoint answers with. */
int errcode_http_status(enum accord_err e);
/*
 * The code to send in an Error of protocol version `version`: a code
 * that version does not have becomes the older code that means the same
 * to its sender (NOT_YET, version 2 only, becomes TEMPORARY: retry later).
 */
enum accord_err errcode_for_version(enum accord_err e, int version);

#endif
