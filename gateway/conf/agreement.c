/*
 * agreement.c -- partner agreements: loading conf/partners/<cc>.xml and
 * checking everything that can be checked before the first message.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/uri.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "conf/agreement.h"
#include "conf/conffile.h"
#include "util/xmalloc.h"
#include "util/nametab.h"

static const char *const agreement_type_names[MSG_TYPE_COUNT] = {
	[MSG_READMISSION_REQUEST] = "ReadmissionRequest",
	[MSG_IDENTIFICATION_REQUEST] = "IdentificationRequest",
	[MSG_IDENTIFICATION_RESPONSE] = "IdentificationResponse",
	[MSG_EXTENSION_REQUEST] = "ExtensionRequest",
	[MSG_EXTENSION_REPLY] = "ExtensionReply",
	[MSG_READMISSION_REPLY] = "ReadmissionReply",
	[MSG_TRAVEL_DOCUMENT_NOTICE] = "TravelDocumentNotice",
	[MSG_TRANSFER_NOTICE] = "TransferNotice",
	[MSG_HANDOVER_CONFIRMATION] = "HandoverConfirmation",
	[MSG_TRANSIT_REQUEST] = "TransitRequest",
	[MSG_TRANSIT_REPLY] = "TransitReply",
	[MSG_TRANSIT_REVOCATION] = "TransitRevocation",
	[MSG_ESCORT_NOTICE] = "EscortNotice",
	[MSG_VOLUNTARY_DEPARTURE_NOTICE] = "VoluntaryDepartureNotice",
	[MSG_WITHDRAWAL] = "Withdrawal",
	[MSG_CONSULTATION] = "Consultation",
	[MSG_RECEIPT] = "Receipt",
	[MSG_ERROR] = "Error",
	[MSG_REDELIVERY] = "Redelivery",
	[MSG_PROTECTION_NOTICE] = "ProtectionNotice",
};

/* ISO 3166-1 alpha-2 officially assigned codes. */
static const char agreement_iso3166[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH "
    "BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL "
    "CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET "
    "FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU "
    "GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE "
    "KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC "
    "MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC "
    "NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT "
    "PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR "
    "SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA "
    "UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

const char *
agreement_msg_type_name(enum msg_type t)
{
	return nametab_name(agreement_type_names, MSG_TYPE_COUNT, (int)t, NULL);
}

int
agreement_msg_type_from_name(const char *name)
{
	return nametab_find(agreement_type_names, MSG_TYPE_COUNT, name);
}

int
agreement_country_valid(const char *cc)
{
	const size_t len = sizeof(agreement_iso3166) - 1;
	size_t i;

	if (strlen(cc) != 2)
		return 0;
	/* A code every third byte; the last has no space after it, so a
	 * pointer stepped by 3 would jump past the terminating NUL. */
	for (i = 0; i + 2 <= len; i += 3)
		if (agreement_iso3166[i] == cc[0] &&
		    agreement_iso3166[i + 1] == cc[1])
			return 1;
	return 0;
}

void
agreement_timelines_default(struct timelines *tl)
{
	memset(tl, 0, sizeof(*tl));
	tl->urgent_working_days = 2;
	tl->standard_reply_days = 12;
	tl->extension_min_days = 6;
	tl->extension_max_days = 60;
	tl->identification_suspends = 1;
	tl->transfer_window_days = 90;
	tl->transfer_extension_max_days = 60;
	tl->advance_notice_working_days = 3;
	tl->travel_doc_min_validity_months = 6;
	tl->travel_doc_extension_min_months = 6;
	tl->travel_doc_extension_max_months = 12;
	tl->transit_reply_days = 5;
	tl->transit_validity_days = 30;
	tl->silence_means_consent = 1;
	tl->roll_to_working_day = 1;
	tl->entry_ban_years = 5;
}

int
agreement_allows(const struct agreement *a, enum msg_type t)
{
	/* signals travel with every agreement */
	if (t == MSG_RECEIPT || t == MSG_ERROR)
		return 1;
	/* a wrapper of the others, with version 2 */
	if (t == MSG_REDELIVERY)
		return agreement_accepts_version(a, 2);
	/* non-refoulement: wherever transfers are announced, with v2 */
	if (t == MSG_PROTECTION_NOTICE)
		return agreement_accepts_version(a, 2) &&
		    (a->allowed_types & (1u << MSG_TRANSFER_NOTICE)) != 0;
	if ((int)t < 0 || t >= MSG_TYPE_COUNT)
		return 0;
	return (a->allowed_types & (1u << t)) != 0;
}

int
agreement_accepts_version(const struct agreement *a, int v)
{
	if (v < AGREEMENT_PROTO_MIN || v > AGREEMENT_PROTO_MAX)
		return 0;
	return (a->protocol_versions & (1u << v)) != 0;
}

int
agreement_wire_version(const struct agreement *a)
{
	int v;

	for (v = AGREEMENT_PROTO_MAX; v >= AGREEMENT_PROTO_MIN; v--)
		if (agreement_accepts_version(a, v))
			return v;
	return 0;
}

int
agreement_min_version(const struct agreement *a)
{
	int v;

	for (v = AGREEMENT_PROTO_MIN; v <= AGREEMENT_PROTO_MAX; v++)
		if (agreement_accepts_version(a, v))
			return v;
	return 0;
}

const struct signing_cert *
agreement_signing_cert(const struct agreement *a, const char *sha256)
{
	int i;

	for (i = 0; i < a->nsigning; i++)
		if (strcmp(a->signing[i].sha256, sha256) == 0)
			return &a->signing[i];
	return NULL;
}

int
agreement_revokes(const struct agreement *a, X509 *cert)
{
	X509_REVOKED *rev;

	if (a->crl == NULL || cert == NULL)
		return 0;
	/* the lookup compares the issuer name and the serial; the CRL's
	 * signature was checked against the partner's CA when loaded */
	return X509_CRL_get0_by_cert(a->crl, &rev, cert) == 1;
}

int
agreement_crl_stale(const struct agreement *a, accord_time_t now)
{
	return a->crl != NULL && a->crl_next_update != 0 &&
	    a->crl_next_update < now;
}

void
agreement_clear(struct agreement *a)
{
	int i;

	free(a->file);
	free(a->endpoint);
	free(a->tls_ca_path);
	free(a->tls_subject);
	free(a->crl_path);
	X509_free(a->tls_ca);
	X509_CRL_free(a->crl);
	for (i = 0; i < a->nsigning; i++) {
		free(a->signing[i].path);
		X509_free(a->signing[i].cert);
	}
	calendar_clear(&a->calendar);
	memset(a, 0, sizeof(*a));
}

/*
 * The endpoint must be an absolute https URL with a host.  libxml2's RFC
 * 3986 parser, not libcurl's: the configuration is read by accordctl and
 * accord-audit too, which link no network library (DESIGN.md 3).
 */
static void
agreement_check_url(struct agreement *a, xmlNodePtr n, struct conf_diag *d)
{
	xmlURIPtr u;

	if ((u = xmlParseURI(a->endpoint)) == NULL)
		conf_diag_error(d, a->file, conf_line(n),
		    "endpoint '%s' is not a valid URL", a->endpoint);
	else if (u->scheme == NULL || strcmp(u->scheme, "https") != 0)
		conf_diag_error(d, a->file, conf_line(n),
		    "endpoint '%s' must use https", a->endpoint);
	else if (u->server == NULL || u->server[0] == '\0')
		conf_diag_error(d, a->file, conf_line(n),
		    "endpoint '%s' has no host", a->endpoint);
	if (u != NULL)
		xmlFreeURI(u);
}

static X509_CRL *
agreement_load_crl(const char *path, const char *file, long line,
    struct conf_diag *d)
{
	X509_CRL *crl;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		conf_diag_error(d, file, line, "cannot read CRL %s", path);
		return NULL;
	}
	crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL);
	if (crl == NULL) {
		rewind(fp);
		crl = d2i_X509_CRL_fp(fp, NULL);
	}
	fclose(fp);
	if (crl == NULL) {
		ERR_clear_error();
		conf_diag_error(d, file, line, "%s is not a CRL (PEM or DER)",
		    path);
	}
	return crl;
}

/*
 * A CRL past its nextUpdate is a warning, not an error: the partner may
 * be late publishing, and refusing every message and connection of the
 * partner for it would stop the exchange.  What it lists stays revoked.
 */
static void
agreement_check_crl_time(struct agreement *a, long line, accord_time_t now,
    struct conf_diag *d)
{
	char tb[32];

	if (conf_crl_next_update(a->crl, &a->crl_next_update) == -1) {
		conf_diag_error(d, a->file, line, "CRL %s has an unreadable "
		    "nextUpdate", a->crl_path);
		return;
	}
	if (agreement_crl_stale(a, now)) {
		clock_format_utc(a->crl_next_update, tb, sizeof(tb));
		conf_diag_warn(d, a->file, line, "CRL %s of %s is past its "
		    "nextUpdate (%s): fetch the partner's current CRL (the "
		    "certificates it lists stay refused)", a->crl_path,
		    a->country, tb);
	}
}

static void
agreement_read_signing(struct agreement *a, xmlNodePtr sig,
    const char *pki_dir, accord_time_t now, struct conf_diag *d)
{
	struct signing_cert *sc;
	xmlNodePtr n, crln;
	X509_REVOKED *rev;
	char buf[64], what[1200], tb[32];
	int in_force = 0, i;

	crln = conf_child(sig, "crl");
	if (crln != NULL) {
		char *f = conf_attr(crln, "file");
		a->crl_path = conf_path(pki_dir, f);
		xmlFree(f);
		a->crl = agreement_load_crl(a->crl_path, a->file,
		    conf_line(crln), d);
		if (a->crl != NULL && a->tls_ca != NULL) {
			EVP_PKEY *pk = X509_get0_pubkey(a->tls_ca);
			if (pk == NULL || X509_CRL_verify(a->crl, pk) != 1) {
				ERR_clear_error();
				conf_diag_error(d, a->file, conf_line(crln),
				    "CRL %s is not signed by the partner's CA",
				    a->crl_path);
			}
		}
		if (a->crl != NULL)
			agreement_check_crl_time(a, conf_line(crln), now, d);
	}

	for (n = conf_child(sig, "certificate"); n != NULL; n = conf_next(n)) {
		char *f = conf_attr(n, "file");
		long line = conf_line(n);

		sc = &a->signing[a->nsigning++];
		sc->path = conf_path(pki_dir, f);
		xmlFree(f);
		if (conf_attr_buf(n, "from", buf, sizeof(buf))[0] != '\0')
			clock_parse_utc(buf, &sc->use_from);
		if (conf_attr_buf(n, "until", buf, sizeof(buf))[0] != '\0')
			clock_parse_utc(buf, &sc->use_until);
		sc->cert = conf_load_cert(sc->path, a->file, line, d);
		if (sc->cert == NULL)
			continue;
		conf_cert_sha256(sc->cert, sc->sha256);
		conf_cert_times(sc->cert, &sc->not_before, &sc->not_after);
		for (i = 0; i < a->nsigning - 1; i++)
			if (strcmp(a->signing[i].sha256, sc->sha256) == 0)
				conf_diag_error(d, a->file, line,
				    "signing certificate %s is listed twice",
				    sc->path);
		if (a->tls_ca != NULL && !conf_cert_chains_to(a->tls_ca,
		    sc->cert, NULL, X509_V_FLAG_NO_CHECK_TIME |
		    X509_V_FLAG_PARTIAL_CHAIN, 0))
			conf_diag_error(d, a->file, line, "signing "
			    "certificate %s is not issued by the partner's CA "
			    "%s", sc->path, a->tls_ca_path);
		if (a->crl != NULL && X509_CRL_get0_by_cert(a->crl, &rev,
		    sc->cert) == 1) {
			conf_diag_warn(d, a->file, line, "signing certificate "
			    "%s is revoked by the partner's CRL: messages "
			    "signed with it are refused", sc->path);
			continue;
		}
		snprintf(what, sizeof(what), "%s signing certificate %s",
		    a->country, sc->path);
		if (conf_check_cert_time(sc->cert, what, a->file, line, d,
		    now, 0) == -1)
			continue;
		if (sc->use_until != 0 && sc->use_until < now) {
			clock_format_utc(sc->use_until, tb, sizeof(tb));
			conf_diag_warn(d, a->file, line, "signing certificate "
			    "%s was in use until %s", sc->path, tb);
			continue;
		}
		if (sc->use_from != 0 && sc->use_from > now)
			continue;
		in_force++;
	}
	if (in_force == 0)
		conf_diag_error(d, a->file, conf_line(sig), "no signing "
		    "certificate of %s is valid now: messages from %s could "
		    "never be accepted", a->country, a->country);
}

static void
agreement_read_timelines(struct agreement *a, xmlNodePtr tn,
    struct conf_diag *d)
{
	struct timelines *tl = &a->timelines;
	xmlNodePtr n;

	agreement_timelines_default(tl);
	tl->urgent_working_days = conf_text_int(conf_child(tn,
	    "urgent-working-days"), tl->urgent_working_days);
	tl->standard_reply_days = conf_text_int(conf_child(tn,
	    "standard-reply-days"), tl->standard_reply_days);
	n = conf_child(tn, "extension");
	tl->extension_min_days = conf_attr_int(n, "min-days",
	    tl->extension_min_days);
	tl->extension_max_days = conf_attr_int(n, "max-days",
	    tl->extension_max_days);
	if (tl->extension_min_days > tl->extension_max_days)
		conf_diag_error(d, a->file, conf_line(n), "extension "
		    "min-days (%d) is above max-days (%d)",
		    tl->extension_min_days, tl->extension_max_days);
	tl->identification_suspends = conf_text_bool(conf_child(tn,
	    "identification-suspends"), tl->identification_suspends);
	tl->transfer_window_days = conf_text_int(conf_child(tn,
	    "transfer-window-days"), tl->transfer_window_days);
	tl->transfer_extension_max_days = conf_text_int(conf_child(tn,
	    "transfer-extension-max-days"), tl->transfer_extension_max_days);
	tl->advance_notice_working_days = conf_text_int(conf_child(tn,
	    "advance-notice-working-days"), tl->advance_notice_working_days);
	n = conf_child(tn, "travel-document");
	tl->travel_doc_min_validity_months = conf_attr_int(n,
	    "min-validity-months", tl->travel_doc_min_validity_months);
	tl->travel_doc_extension_min_months = conf_attr_int(n,
	    "extension-min-months", tl->travel_doc_extension_min_months);
	tl->travel_doc_extension_max_months = conf_attr_int(n,
	    "extension-max-months", tl->travel_doc_extension_max_months);
	if (tl->travel_doc_extension_min_months >
	    tl->travel_doc_extension_max_months)
		conf_diag_error(d, a->file, conf_line(n), "travel-document "
		    "extension-min-months is above extension-max-months");
	n = conf_child(tn, "transit");
	tl->transit_reply_days = conf_attr_int(n, "reply-days",
	    tl->transit_reply_days);
	tl->transit_validity_days = conf_attr_int(n, "validity-days",
	    tl->transit_validity_days);
	tl->silence_means_consent = conf_text_bool(conf_child(tn,
	    "silence-means-consent"), tl->silence_means_consent);
	tl->roll_to_working_day = conf_text_bool(conf_child(tn,
	    "roll-to-working-day"), tl->roll_to_working_day);
	tl->entry_ban_years = conf_text_int(conf_child(tn, "entry-ban-years"),
	    tl->entry_ban_years);
	if (tl->standard_reply_days < tl->urgent_working_days)
		conf_diag_warn(d, a->file, conf_line(tn), "the standard reply "
		    "period (%d days) is shorter than the urgent one (%d "
		    "working days)", tl->standard_reply_days,
		    tl->urgent_working_days);
}

static void
agreement_read_programme(struct agreement *a, xmlNodePtr pn,
    struct conf_diag *d)
{
	struct programme *p = &a->programme;
	xmlNodePtr n;
	char buf[32];

	p->present = 1;
	conf_attr_buf(pn, "name", p->name, sizeof(p->name));
	n = conf_child(pn, "window");
	if (calendar_parse_date(conf_attr_buf(n, "from", buf, sizeof(buf)),
	    &p->window_from) == -1 || calendar_parse_date(conf_attr_buf(n,
	    "until", buf, sizeof(buf)), &p->window_until) == -1)
		conf_diag_error(d, a->file, conf_line(n),
		    "programme window has an impossible date");
	else if (p->window_from > p->window_until)
		conf_diag_error(d, a->file, conf_line(n),
		    "programme window starts after it ends");
	n = conf_child(pn, "notice");
	p->notice_min_days = conf_attr_int(n, "min-days", 3);
	p->notice_max_days = conf_attr_int(n, "max-days", 15);
	if (p->notice_min_days > p->notice_max_days)
		conf_diag_error(d, a->file, conf_line(n),
		    "programme notice min-days is above max-days");
	n = conf_child(pn, "exclude");
	p->exclude_criminal_offences = strcmp(conf_attr_buf(n,
	    "criminal-offences", buf, sizeof(buf)), "true") == 0;
	if (conf_attr_buf(n, "illegal-entry-after", buf, sizeof(buf))[0]) {
		p->exclude_illegal_entry = 1;
		calendar_parse_date(buf, &p->illegal_entry_after);
	}
	n = conf_child(pn, "requires");
	p->requires_passport = strcmp(conf_attr_buf(n, "passport", buf,
	    sizeof(buf)), "true") == 0;
	p->requires_application = strcmp(conf_attr_buf(n, "application", buf,
	    sizeof(buf)), "true") == 0;
	p->requires_ticket = strcmp(conf_attr_buf(n, "ticket", buf,
	    sizeof(buf)), "true") == 0;
	if (!agreement_allows(a, MSG_VOLUNTARY_DEPARTURE_NOTICE))
		conf_diag_error(d, a->file, conf_line(pn), "a programme is "
		    "configured but VoluntaryDepartureNotice is not among the "
		    "agreement's messages");
}

/* protocol-versions="1 2": the versions this partner's messages may use
 * and ours are built in (the highest). */
static void
agreement_read_versions(struct agreement *a, xmlNodePtr root,
    struct conf_diag *d)
{
	char buf[64], *tok, *save = NULL, *end;
	long v;

	conf_attr_buf(root, "protocol-versions", buf, sizeof(buf));
	for (tok = strtok_r(buf, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		v = strtol(tok, &end, 10);
		if (*end != '\0' || v < AGREEMENT_PROTO_MIN ||
		    v > AGREEMENT_PROTO_MAX) {
			conf_diag_error(d, a->file, conf_line(root), "protocol "
			    "version '%s' is not one this gateway speaks (%d "
			    "to %d)", tok, AGREEMENT_PROTO_MIN,
			    AGREEMENT_PROTO_MAX);
			continue;
		}
		a->protocol_versions |= 1u << v;
	}
	if (a->protocol_versions == 0)
		conf_diag_error(d, a->file, conf_line(root), "the agreement "
		    "lists no protocol version (protocol-versions=\"1 2\")");
}

/* One period of <retention>: "5y" or "30d"; absent, the default stays. */
static void
agreement_read_period(struct agreement *a, xmlNodePtr n, const char *name,
    struct retention_period *p, struct conf_diag *d)
{
	char *s;

	if ((s = conf_attr(n, name)) == NULL)
		return;
	if (retention_parse(s, p) == -1)
		conf_diag_error(d, a->file, conf_line(n), "retention %s '%s' "
		    "is not a period: whole years (1y to %dy) or days (1d to "
		    "%dd)", name, s, RETENTION_MAX_YEARS, RETENTION_MAX_DAYS);
	free(s);
}

/* <retention after-final= never-closed=>, optional (issue 19). */
static void
agreement_read_retention(struct agreement *a, xmlNodePtr n,
    struct conf_diag *d)
{
	retention_default(&a->retention);
	if (n == NULL)
		return;
	agreement_read_period(a, n, "after-final", &a->retention.after_final,
	    d);
	agreement_read_period(a, n, "never-closed",
	    &a->retention.never_closed, d);
}

int
agreement_load(struct agreement *a, const char *file, const char *pki_dir,
    accord_time_t now, struct conf_diag *d)
{
	xmlDocPtr doc;
	xmlNodePtr root, n;
	char *s, *tok, *save = NULL, what[600];
	int before = d->nerrors, t;

	memset(a, 0, sizeof(*a));
	a->file = xstrdup(file);
	agreement_timelines_default(&a->timelines);
	doc = conf_load_xml(file, "agreement.xsd", d);
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	agreement_read_versions(a, root, d);

	n = conf_child(root, "partner");
	conf_attr_buf(n, "country", a->country, sizeof(a->country));
	conf_attr_buf(n, "authority", a->authority, sizeof(a->authority));
	if (!agreement_country_valid(a->country))
		conf_diag_error(d, file, conf_line(n), "unknown partner "
		    "country code '%s' (not an ISO 3166-1 alpha-2 code)",
		    a->country);
	s = conf_text(conf_child(root, "id"));
	snprintf(a->agreement_id, sizeof(a->agreement_id), "%s", s);
	free(s);
	s = conf_text(conf_child(root, "title"));
	snprintf(a->title, sizeof(a->title), "%s", s);
	free(s);
	n = conf_child(root, "endpoint");
	a->endpoint = conf_text(n);
	agreement_check_url(a, n, d);

	/* TLS client recognition */
	n = conf_child(root, "tls");
	s = conf_text(conf_child(n, "ca"));
	a->tls_ca_path = conf_path(pki_dir, s);
	free(s);
	a->tls_ca = conf_load_cert(a->tls_ca_path, file,
	    conf_line(conf_child(n, "ca")), d);
	if (a->tls_ca != NULL) {
		snprintf(what, sizeof(what), "%s TLS CA %s", a->country,
		    a->tls_ca_path);
		conf_check_cert_time(a->tls_ca, what, file,
		    conf_line(conf_child(n, "ca")), d, now, 1);
	}
	if (conf_child(n, "client-pin") != NULL) {
		s = conf_text(conf_child(n, "client-pin"));
		snprintf(a->tls_pin_sha256, sizeof(a->tls_pin_sha256), "%s",
		    s + strlen("sha256:"));
		free(s);
	} else
		a->tls_subject = conf_text(conf_child(n, "client-subject"));
	if (conf_child(n, "server-pin") != NULL) {
		s = conf_text(conf_child(n, "server-pin"));
		snprintf(a->tls_server_pin_sha256,
		    sizeof(a->tls_server_pin_sha256), "%s",
		    s + strlen("sha256:"));
		free(s);
	}

	agreement_read_signing(a, conf_child(root, "signing"), pki_dir, now,
	    d);
	conf_read_calendar(conf_child(root, "calendar"), file, &a->calendar,
	    d, now, a->country);
	agreement_read_timelines(a, conf_child(root, "timelines"), d);

	s = conf_text(conf_child(root, "messages"));
	for (tok = strtok_r(s, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		t = agreement_msg_type_from_name(tok);
		if (t < 0)
			conf_diag_error(d, file, conf_line(conf_child(root,
			    "messages")), "unknown message type '%s'", tok);
		else
			a->allowed_types |= 1u << t;
	}
	free(s);

	n = conf_child(root, "retry");
	a->retry.window_seconds = conf_attr_int(n, "window-seconds", 172800);
	a->retry.initial_backoff_seconds = conf_attr_int(n,
	    "initial-backoff-seconds", 5);
	a->retry.max_backoff_seconds = conf_attr_int(n,
	    "max-backoff-seconds", 900);
	a->retry.alert_after_seconds = conf_attr_int(n,
	    "alert-after-seconds", 300);
	if (a->retry.initial_backoff_seconds > a->retry.max_backoff_seconds)
		conf_diag_error(d, file, conf_line(n), "retry "
		    "initial-backoff-seconds is above max-backoff-seconds");

	n = conf_child(root, "programme");
	if (n != NULL)
		agreement_read_programme(a, n, d);
	agreement_read_retention(a, conf_child(root, "retention"), d);

	xmlFreeDoc(doc);
	return d->nerrors == before ? 0 : -1;
}
