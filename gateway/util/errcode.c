/*
 * errcode.c -- names and properties of the Error signal codes.
 */
#include <string.h>

#include "util/errcode.h"

struct errcode_info {
	const char	*name;
	int		 retry;
	int		 http;
};

static const struct errcode_info errcode_table[AE_COUNT] = {
	[AE_OK] =		{ "OK", 0, 200 },
	[AE_TOO_LARGE] =	{ "TOO_LARGE", 0, 413 },
	[AE_MALFORMED] =	{ "MALFORMED", 0, 400 },
	[AE_FORBIDDEN_XML] =	{ "FORBIDDEN_XML", 0, 400 },
	[AE_TOO_DEEP] =		{ "TOO_DEEP", 0, 400 },
	[AE_SCHEMA_INVALID] =	{ "SCHEMA_INVALID", 0, 400 },
	[AE_SIGNATURE_INVALID] = { "SIGNATURE_INVALID", 0, 403 },
	[AE_UNKNOWN_SIGNER] =	{ "UNKNOWN_SIGNER", 0, 403 },
	[AE_UNKNOWN_PARTNER] =	{ "UNKNOWN_PARTNER", 0, 403 },
	[AE_WRONG_RECIPIENT] =	{ "WRONG_RECIPIENT", 0, 403 },
	[AE_PARTNER_MISMATCH] =	{ "PARTNER_MISMATCH", 0, 403 },
	[AE_AGREEMENT_MISMATCH] = { "AGREEMENT_MISMATCH", 0, 403 },
	[AE_TYPE_NOT_AGREED] =	{ "TYPE_NOT_AGREED", 0, 422 },
	[AE_STALE_OR_FUTURE] =	{ "STALE_OR_FUTURE", 0, 422 },
	[AE_DUPLICATE_CONFLICT] = { "DUPLICATE_CONFLICT", 0, 409 },
	[AE_UNKNOWN_CASE] =	{ "UNKNOWN_CASE", 0, 422 },
	[AE_CASE_EXISTS] =	{ "CASE_EXISTS", 0, 409 },
	[AE_NOT_ALLOWED_IN_STATE] = { "NOT_ALLOWED_IN_STATE", 0, 422 },
	[AE_ROLE_NOT_ALLOWED] =	{ "ROLE_NOT_ALLOWED", 0, 422 },
	[AE_DEADLINE_PASSED] =	{ "DEADLINE_PASSED", 0, 422 },
	[AE_GROUNDS_REQUIRED] =	{ "GROUNDS_REQUIRED", 0, 422 },
	[AE_EXTENSION_REFUSED] = { "EXTENSION_REFUSED", 0, 422 },
	[AE_NOTICE_TOO_SHORT] =	{ "NOTICE_TOO_SHORT", 0, 422 },
	[AE_DOCUMENT_VALIDITY] = { "DOCUMENT_VALIDITY", 0, 422 },
	[AE_PROTECTION_PENDING] = { "PROTECTION_PENDING", 0, 422 },
	[AE_PROGRAMME_RULE] =	{ "PROGRAMME_RULE", 0, 422 },
	[AE_INVALID_FIELD] =	{ "INVALID_FIELD", 0, 422 },
	[AE_TEMPORARY] =	{ "TEMPORARY", 1, 503 },
	[AE_INTERNAL] =		{ "INTERNAL", 1, 503 },
	/* 409: the sender's transport must read the signed body (it then
	 * posts its stored receipt), which it does not for a 5xx */
	[AE_NOT_YET] =		{ "NOT_YET", 1, 409 },
	[AE_CONFLICT] =		{ "CONFLICT", 0, 409 },
};

const char *
errcode_name(enum accord_err e)
{
	if ((int)e < 0 || e >= AE_COUNT)
		return "INTERNAL";
	return errcode_table[e].name;
}

int
errcode_from_name(const char *name)
{
	int i;

	for (i = 0; i < AE_COUNT; i++)
		if (strcmp(errcode_table[i].name, name) == 0)
			return i;
	return -1;
}

int
errcode_retryable(enum accord_err e)
{
	if ((int)e < 0 || e >= AE_COUNT)
		return 1;
	return errcode_table[e].retry;
}

int
errcode_http_status(enum accord_err e)
{
	if ((int)e < 0 || e >= AE_COUNT)
		return 503;
	return errcode_table[e].http;
}

enum accord_err
errcode_for_version(enum accord_err e, int version)
{
	if (e == AE_NOT_YET && version < 2)
		return AE_TEMPORARY;
	return e;
}
