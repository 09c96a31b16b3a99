/*
 * test_config.c -- loading accordd.xml and the partner agreements: the
 * shipped configuration, and one broken configuration per kind of mistake,
 * each with the exact error it must produce.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "conf/calendar.h"
#include "util/clock.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "testutil.h"

static char tmpdir[512];

/* A fresh copy of conf/ beside a link to the shared test PKI. */
static int
setup(void **state)
{
	assert_int_equal(test_workdir(tmpdir, sizeof(tmpdir), "config"), 0);
	return 0;
}

static int
teardown(void **state)
{
	assert_int_equal(test_rmtree(tmpdir), 0);
	return 0;
}

static char *
path(const char *rel)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, rel);
	return buf;
}

static char *
slurp(const char *file)
{
	FILE *fp = fopen(file, "r");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
spit(const char *file, const char *text)
{
	FILE *fp = fopen(file, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Replace the first occurrence of from by to in rel (must occur). */
static void
edit(const char *rel, const char *from, const char *to)
{
	char *text = slurp(path(rel)), *p, *out;

	p = strstr(text, from);
	if (p == NULL)
		fail_msg("'%s' not found in %s", from, rel);
	out = malloc(strlen(text) + strlen(to) + 1);
	assert_non_null(out);
	memcpy(out, text, (size_t)(p - text));
	strcpy(out + (p - text), to);
	strcat(out, p + strlen(from));
	spit(path(rel), out);
	free(out);
	free(text);
}

/* "Now" for the tests: an hour after the test PKI was made. */
static accord_time_t
now_test(void)
{
	accord_time_t t = test_pki_time(tmpdir);

	assert_true(t != 0);
	return t;
}

/* Set the covers-until of every calendar to now + days. */
static void
set_covers_until(int days)
{
	char date[16], cmd[1024];

	calendar_format_date((cal_day_t)(now_test() / 86400 + days), date,
	    sizeof(date));
	snprintf(cmd, sizeof(cmd), "sed -i 's/covers-until=\"[0-9-]*\"/"
	    "covers-until=\"%s\"/' %s/conf/accordd.xml %s/conf/partners/*.xml",
	    date, tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* Load; the load must fail with an error containing every needle. */
static void
expect_errors(const char *needle1, const char *needle2)
{
	struct conf_diag d = { 0 };
	struct config *c;
	int i, found = 0;

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	if (c != NULL) {
		config_free(c);
		fail_msg("configuration loaded; expected '%s'", needle1);
	}
	for (i = 0; i < d.nerrors; i++)
		if (strstr(d.errors[i], needle1) != NULL &&
		    (needle2 == NULL || strstr(d.errors[i], needle2) != NULL))
			found = 1;
	if (!found) {
		conf_diag_print(&d, stderr);
		fail_msg("no error with '%s' / '%s'", needle1,
		    needle2 ? needle2 : "");
	}
	conf_diag_free(&d);
}

static int
has_warning(const struct conf_diag *d, const char *n1, const char *n2)
{
	int i;

	for (i = 0; i < d->nwarnings; i++)
		if (strstr(d->warnings[i], n1) != NULL &&
		    (n2 == NULL || strstr(d->warnings[i], n2) != NULL))
			return 1;
	return 0;
}

static void
test_shipped_configuration(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const struct agreement *fr, *kr;

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	if (c == NULL)
		conf_diag_print(&d, stderr);
	assert_non_null(c);
	assert_int_equal(d.nerrors, 0);
	assert_string_equal(c->country, "KZ");
	assert_string_equal(c->calendar.zone, "Asia/Almaty");
	assert_true(c->npartners >= 21);
	assert_int_equal(c->max_message_size, 1048576);
	/* the optional limits of issue 16 take their defaults */
	assert_int_equal(c->tls_handshake_secs, 10);
	assert_int_equal(c->unauth_per_address, 16);
	assert_int_equal(c->refusals_per_minute, 10);
	assert_int_equal(c->nroles, 3);
	/* relative paths resolve against the file's directory */
	assert_non_null(strstr(c->state_dir, "/conf/../var/kz"));
	assert_non_null(strstr(c->sign_key, "/pki/kz/sign-rsa.key"));

	fr = config_partner(c, "FR");
	assert_non_null(fr);
	assert_string_equal(fr->calendar.zone, "Europe/Paris");
	assert_int_equal(fr->nsigning, 2);
	assert_non_null(fr->crl);
	assert_int_equal(fr->timelines.urgent_working_days, 2);
	assert_true(agreement_allows(fr, MSG_READMISSION_REQUEST));
	assert_false(agreement_allows(fr, MSG_VOLUNTARY_DEPARTURE_NOTICE));
	assert_string_equal(fr->tls_subject,
	    "CN=gw.fr.accord.test,OU=Gateway,O=Accord Test PKI,C=FR");
	/* protocol versions 1 and 2: ours go out in 2 */
	assert_true(agreement_accepts_version(fr, 1));
	assert_true(agreement_accepts_version(fr, 2));
	assert_false(agreement_accepts_version(fr, 3));
	assert_int_equal(agreement_wire_version(fr), 2);
	assert_int_equal(agreement_min_version(fr), 1);
	assert_true(agreement_allows(fr, MSG_REDELIVERY));
	/* an outage alert after 5 minutes unless the agreement says
	 * (<retry alert-after-seconds>, Lithuania's: 2 minutes) */
	assert_int_equal(fr->retry.alert_after_seconds, 300);
	assert_int_equal(config_partner(c, "LT")->retry.alert_after_seconds,
	    120);

	kr = config_partner(c, "KR");
	assert_non_null(kr);
	assert_true(kr->programme.present);
	assert_int_equal(kr->programme.notice_min_days, 3);
	assert_int_equal(kr->programme.notice_max_days, 15);
	assert_true(kr->programme.exclude_illegal_entry);
	assert_int_equal(kr->programme.illegal_entry_after,
	    calendar_day_from_ymd(2025, 12, 1));
	assert_true(agreement_allows(kr, MSG_VOLUNTARY_DEPARTURE_NOTICE));

	/* every partner has its own zone and at least one holiday */
	for (int i = 0; i < c->npartners; i++) {
		assert_true(calendar_zone_valid(c->partners[i].calendar.zone));
		assert_true(c->partners[i].calendar.nholidays > 0);
	}
	assert_null(config_partner(c, "ZZ"));
	conf_diag_free(&d);
	config_free(c);
}

/* 1 if day is in the calendar's list of holidays (not only a rest day). */
static int
listed_holiday(const struct calendar *cal, int y, int m, int d)
{
	cal_day_t day = calendar_day_from_ymd(y, m, d);
	int i;

	for (i = 0; i < cal->nholidays; i++)
		if (cal->holidays[i] == day)
			return 1;
	return 0;
}

static int
working(const struct calendar *cal, int y, int m, int d)
{
	return calendar_is_working_day(cal, calendar_day_from_ymd(y, m, d));
}

/*
 * The holiday data shipped: Kurban Ait 2027 in Kazakhstan's calendar (and
 * in the French demo's copy of it); Uzbekistan's holidays on a rest day
 * moved to the next working day (Labour Code art. 208) and the 2026
 * decree's extra days off and moved Saturday.
 */
static void
test_shipped_holidays(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c, *fr;
	const struct agreement *uz, *kz;

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	if (c == NULL)
		conf_diag_print(&d, stderr);
	assert_non_null(c);
	conf_diag_free(&d);
	assert_true(listed_holiday(&c->calendar, 2027, 5, 16));
	assert_false(working(&c->calendar, 2027, 5, 16));
	/* a religious holiday on a Sunday does not move in Kazakhstan */
	assert_true(working(&c->calendar, 2027, 5, 17));

	uz = config_partner(c, "UZ");
	assert_non_null(uz);
	/* art. 208: 8 March 2026 a Sunday, Navruz and 9 May Saturdays;
	 * in 2027 Navruz, 9 May and (approximately) Kurban Hayit Sundays */
	assert_false(working(&uz->calendar, 2026, 3, 9));
	assert_false(working(&uz->calendar, 2026, 3, 23));
	assert_false(working(&uz->calendar, 2026, 5, 11));
	assert_false(working(&uz->calendar, 2027, 3, 22));
	assert_false(working(&uz->calendar, 2027, 5, 10));
	assert_false(working(&uz->calendar, 2027, 5, 17));
	/* the decree of 24 December 2025 */
	assert_false(working(&uz->calendar, 2026, 1, 2));
	assert_false(working(&uz->calendar, 2026, 5, 28));
	assert_false(working(&uz->calendar, 2026, 5, 29));
	assert_false(working(&uz->calendar, 2026, 8, 31));
	assert_false(working(&uz->calendar, 2026, 12, 31));
	assert_true(working(&uz->calendar, 2026, 12, 12));
	/* and days around them still work */
	assert_true(working(&uz->calendar, 2026, 3, 10));
	assert_true(working(&uz->calendar, 2026, 12, 11));
	assert_true(working(&uz->calendar, 2027, 5, 18));
	config_free(c);

	fr = config_load(path("conf/demo-fr/accordd.xml"), now_test(), &d);
	if (fr == NULL)
		conf_diag_print(&d, stderr);
	assert_non_null(fr);
	conf_diag_free(&d);
	kz = config_partner(fr, "KZ");
	assert_non_null(kz);
	assert_true(listed_holiday(&kz->calendar, 2027, 5, 16));
	config_free(fr);
}

/* Issue 16: the inbound and refusal limits, set in <limits>, and out of
 * their range refused by the schema. */
static void
test_limits_attributes(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;

	edit("conf/accordd.xml", "clock-skew-seconds=\"300\"",
	    "clock-skew-seconds=\"300\" tls-handshake-seconds=\"5\" "
	    "unauthenticated-per-address=\"4\" refusals-per-minute=\"60\"");
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_int_equal(c->tls_handshake_secs, 5);
	assert_int_equal(c->unauth_per_address, 4);
	assert_int_equal(c->refusals_per_minute, 60);
	config_free(c);
	conf_diag_free(&d);
	edit("conf/accordd.xml", "tls-handshake-seconds=\"5\"",
	    "tls-handshake-seconds=\"0\"");
	expect_errors("tls-handshake-seconds", NULL);
}

/* Issue 20: the outbound connections to one partner, 8 unless <limits
 * connections-per-partner=> says otherwise, from 1 to 32. */
static void
test_connections_per_partner(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_int_equal(c->connections_per_partner, 8);
	config_free(c);
	edit("conf/accordd.xml", "clock-skew-seconds=\"300\"",
	    "clock-skew-seconds=\"300\" connections-per-partner=\"16\"");
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_int_equal(c->connections_per_partner, 16);
	config_free(c);
	conf_diag_free(&d);
	edit("conf/accordd.xml", "connections-per-partner=\"16\"",
	    "connections-per-partner=\"33\"");
	expect_errors("connections-per-partner", NULL);
}

static void
test_missing_field(void **state)
{
	edit("conf/partners/fr.xml", "  <title>Agreement between Kazakhstan "
	    "and France on the readmission of persons</title>\n", "");
	expect_errors("partners/fr.xml:11: ",
	    "Expected is ( {urn:accord:config:1}title )");
}

static void
test_unknown_partner_code(void **state)
{
	edit("conf/partners/fr.xml", "country=\"FR\"", "country=\"XZ\"");
	expect_errors("partners/fr.xml:9: ",
	    "unknown partner country code 'XZ'");
}

/* The ISO 3166 table's first and last codes, and codes that are not in
 * it: the search must stop at the table's end (an overflow under ASan). */
static void
test_country_codes(void **state)
{
	(void)state;
	assert_true(agreement_country_valid("AD"));
	assert_true(agreement_country_valid("KZ"));
	assert_true(agreement_country_valid("ZW"));
	assert_false(agreement_country_valid("XZ"));
	assert_false(agreement_country_valid("ZZ"));
	assert_false(agreement_country_valid("fr"));
	assert_false(agreement_country_valid("F"));
	assert_false(agreement_country_valid("FRA"));
	assert_false(agreement_country_valid(""));
}

static void
test_unknown_zone(void **state)
{
	edit("conf/partners/fr.xml", "Europe/Paris", "Europe/Atlantis");
	expect_errors("partners/fr.xml:23: ",
	    "unknown time zone 'Europe/Atlantis'");
}

static void
test_unknown_zone_own(void **state)
{
	edit("conf/accordd.xml", "zone=\"Asia/Almaty\"",
	    "zone=\"Asia/Alma_Ata_Old\"");
	expect_errors("conf/accordd.xml:", "unknown time zone "
	    "'Asia/Alma_Ata_Old'");
}

static void
test_duplicate_partner(void **state)
{
	char *fr = slurp(path("conf/partners/fr.xml"));

	spit(path("conf/partners/france-copy.xml"), fr);
	free(fr);
	edit("conf/partners/france-copy.xml", "KZ-FR-READMISSION-1",
	    "KZ-FR-READMISSION-2");
	edit("conf/partners/france-copy.xml", "CN=gw.fr.", "CN=gw2.fr.");
	expect_errors("duplicate partner FR: already agreed in", "fr.xml");
}

static void
test_bad_url(void **state)
{
	edit("conf/partners/fr.xml", "https://127.0.0.1:8444",
	    "http://127.0.0.1:8444");
	expect_errors("partners/fr.xml:12: ", "endpoint "
	    "'http://127.0.0.1:8444/accord/v1/messages' must use https");
}

static void
test_bad_url_garbage(void **state)
{
	edit("conf/partners/fr.xml", "https://127.0.0.1:8444/accord/v1/"
	    "messages", "https://exa mple/");
	expect_errors("partners/fr.xml:12: ", "is not a valid URL");
}

static void
test_unreadable_signing_certificate(void **state)
{
	edit("conf/partners/fr.xml", "fr/sign-ec.pem", "fr/sign-missing.pem");
	expect_errors("partners/fr.xml:20: ", "cannot read certificate");
}

static void
test_only_expired_certificates(void **state)
{
	edit("conf/partners/fr.xml", "fr/sign-rsa.pem", "fr/sign-expired.pem");
	edit("conf/partners/fr.xml", "    <certificate file=\"fr/sign-ec.pem\""
	    "/>\n", "");
	expect_errors("partners/fr.xml:17: ",
	    "no signing certificate of FR is valid now");
}

static void
test_zero_timeline(void **state)
{
	edit("conf/partners/fr.xml", "<standard-reply-days>25<",
	    "<standard-reply-days>0<");
	expect_errors("partners/fr.xml:", "The value '0' is less than the "
	    "minimum value allowed ('1')");
}

static void
test_negative_timeline(void **state)
{
	edit("conf/partners/fr.xml", "<urgent-working-days>2<",
	    "<urgent-working-days>-2<");
	expect_errors("partners/fr.xml:", "The value '-2' is less than the "
	    "minimum value allowed ('1')");
}

static void
test_unknown_message_type(void **state)
{
	edit("conf/partners/fr.xml", "Withdrawal Consultation",
	    "Withdrawal Teleportation Consultation");
	expect_errors("partners/fr.xml:", "'Teleportation'");
}

static void
test_same_tls_pin(void **state)
{
	static const char pin[] = "sha256:0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	char repl[256];

	snprintf(repl, sizeof(repl), "<client-pin>%s</client-pin>", pin);
	edit("conf/partners/fr.xml", "<client-subject>CN=gw.fr.accord.test,"
	    "OU=Gateway,O=Accord Test PKI,C=FR</client-subject>", repl);
	edit("conf/partners/de.xml", "<client-subject>CN=gw.de.accord.test,"
	    "OU=Gateway,O=Accord Test PKI,C=DE</client-subject>", repl);
	expect_errors("TLS client pin sha256:0123456789abcdef", "is also");
}

static void
test_same_tls_subject_and_ca(void **state)
{
	edit("conf/partners/de.xml", "<ca>de/ca.pem</ca>", "<ca>fr/ca.pem</ca>");
	edit("conf/partners/de.xml", "CN=gw.de.accord.test,OU=Gateway,"
	    "O=Accord Test PKI,C=DE", "CN=gw.fr.accord.test,OU=Gateway,"
	    "O=Accord Test PKI,C=FR");
	expect_errors("under the same CA is also", NULL);
}

static void
test_key_readable_by_others(void **state)
{
	/* a change to the PKI: on a private copy */
	assert_int_equal(test_pki_own(tmpdir), 0);
	assert_int_equal(chmod(path("pki/kz/sign-rsa.key"), 0644), 0);
	expect_errors("private key", "sign-rsa.key is accessible by group or "
	    "others (mode 0644): chmod 600 it");
}

static void
test_not_well_formed(void **state)
{
	edit("conf/partners/fr.xml", "</timelines>", "</timeline>");
	expect_errors("partners/fr.xml:", "Opening and ending tag mismatch");
}

static void
test_doctype_refused(void **state)
{
	edit("conf/partners/fr.xml", "<agreement ",
	    "<!DOCTYPE agreement [<!ENTITY x \"y\">]>\n<agreement ");
	expect_errors("partners/fr.xml:", "a DOCTYPE is not allowed");
}

static void
test_signing_cert_of_other_ca(void **state)
{
	edit("conf/partners/fr.xml", "fr/sign-ec.pem", "de/sign-ec.pem");
	expect_errors("partners/fr.xml:20: ", "is not issued by the "
	    "partner's CA");
}

static void
test_key_does_not_match(void **state)
{
	edit("conf/accordd.xml", "key=\"kz/sign-rsa.key\"",
	    "key=\"kz/sign-ec.key\"");
	expect_errors("signing key", "does not belong to certificate");
}

static void
test_holiday_twice(void **state)
{
	edit("conf/partners/fr.xml", "<holiday date=\"2026-07-14\">",
	    "<holiday date=\"2026-05-01\">");
	expect_errors("partners/fr.xml:", "date 2026-05-01 is listed twice");
}

static void
test_impossible_date(void **state)
{
	edit("conf/partners/fr.xml", "<holiday date=\"2026-07-14\">",
	    "<holiday date=\"2026-02-30\">");
	expect_errors("partners/fr.xml:", "2026-02-30");
}

static void
test_no_partners(void **state)
{
	edit("conf/accordd.xml", "<partners directory=\"partners\"/>",
	    "<partners directory=\"nowhere\"/>");
	expect_errors("cannot read the partners directory", NULL);
}

static void
test_every_error_reported(void **state)
{
	struct conf_diag d = { 0 };

	/* two broken files: both are reported in one run */
	edit("conf/partners/fr.xml", "Europe/Paris", "Europe/Atlantis");
	edit("conf/partners/de.xml", "https://", "ftp://");
	assert_null(config_load(path("conf/accordd.xml"), now_test(), &d));
	assert_true(d.nerrors >= 2);
	conf_diag_free(&d);
}

/* <user parser=>: the parsers' own user, or a warning that they share
 * the engine's; never root, never a user that does not exist. */
static void
test_user_parser(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	struct passwd *pw;

	(void)state;
	if ((pw = getpwnam("daemon")) == NULL || getpwnam("nobody") == NULL)
		fail_msg("needs the users nobody and daemon");
	edit("conf/accordd.xml", "</state-directory>", "</state-directory>"
	    "<user name=\"nobody\"/>");
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_true(has_warning(&d, "no <user parser=>", "the engine's user"));
	assert_int_equal(c->parser_uid, c->user_uid);
	conf_diag_free(&d);
	config_free(c);

	edit("conf/accordd.xml", "<user name=\"nobody\"/>",
	    "<user name=\"nobody\" parser=\"daemon\"/>");
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_false(has_warning(&d, "no <user parser=>", NULL));
	assert_string_equal(c->parser_user, "daemon");
	assert_int_equal(c->parser_uid, pw->pw_uid);
	assert_int_not_equal(c->parser_uid, c->user_uid);
	conf_diag_free(&d);
	config_free(c);

	edit("conf/accordd.xml", "parser=\"daemon\"", "parser=\"root\"");
	expect_errors("parser user 'root'", "must not run as root");
	edit("conf/accordd.xml", "parser=\"root\"",
	    "parser=\"no-such-user-z\"");
	expect_errors("parser user 'no-such-user-z'", "does not exist");
	edit("conf/accordd.xml", "<user name=\"nobody\" "
	    "parser=\"no-such-user-z\"/>", "");
	conf_key_owner = (uid_t)-1;	/* as before the first <user> */
}

static void
test_warn_calendar_ending(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;

	/* holiday data ending in 100 days: warned, with the date */
	set_covers_until(100);
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_true(has_warning(&d, "conf/accordd.xml:", "KZ calendar data "
	    "ends on"));
	assert_true(has_warning(&d, "partners/fr.xml:", "FR calendar data "
	    "ends on"));
	assert_true(has_warning(&d, "within 12 months: add the next year's "
	    "holidays", NULL));
	conf_diag_free(&d);
	config_free(c);

	/* data ending in 400 days: no such warning */
	set_covers_until(400);
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_false(has_warning(&d, "calendar data", NULL));
	conf_diag_free(&d);
	config_free(c);
}

static void
test_warn_certificate_expiring(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const struct agreement *fr;
	accord_time_t t;

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	fr = config_partner(c, "FR");
	t = fr->signing[0].not_after - 10 * 86400;
	conf_diag_free(&d);
	config_free(c);

	c = config_load(path("conf/accordd.xml"), t, &d);
	assert_non_null(c);
	assert_true(has_warning(&d, "FR signing certificate",
	    "sign-rsa.pem expires on"));
	assert_true(has_warning(&d, "in 10 days: renew it", NULL));
	conf_diag_free(&d);
	config_free(c);
}

static void
test_warn_revoked_configured(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;

	edit("conf/partners/fr.xml", "fr/sign-ec.pem", "fr/sign-revoked.pem");
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_true(has_warning(&d, "sign-revoked.pem is revoked by the "
	    "partner's CRL", NULL));
	conf_diag_free(&d);
	config_free(c);
}

/* The partner's CRL names the TLS certificates it revokes, whatever their
 * subject: the revoked ones carry the good ones' subjects. */
static void
test_crl_revokes_tls(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const struct agreement *fr, *de;
	struct { const char *file; int revoked; } certs[] = {
		{ "pki/fr/tls-server.pem", 0 },
		{ "pki/fr/tls-client.pem", 0 },
		{ "pki/fr/tls-server-revoked.pem", 1 },
		{ "pki/fr/tls-client-revoked.pem", 1 },
		{ "pki/fr/sign-revoked.pem", 1 },
	};
	X509 *x;
	size_t i;

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	fr = config_partner(c, "FR");
	de = config_partner(c, "DE");
	assert_non_null(fr);
	assert_non_null(de);
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		x = conf_load_cert(path(certs[i].file), "test", 0, &d);
		assert_non_null(x);
		if (agreement_revokes(fr, x) != certs[i].revoked)
			fail_msg("%s: revoked %d, expected %d", certs[i].file,
			    agreement_revokes(fr, x), certs[i].revoked);
		/* another partner's CRL: another issuer */
		assert_int_equal(agreement_revokes(de, x), 0);
		X509_free(x);
	}
	conf_diag_free(&d);
	config_free(c);
}

/* A CRL past its nextUpdate: a warning naming file, line, partner and
 * date, not an error; agreement_crl_stale says so. */
static void
test_warn_crl_stale(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const struct agreement *fr;
	accord_time_t next;
	char date[32], line[32];

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_false(has_warning(&d, "past its nextUpdate", NULL));
	fr = config_partner(c, "FR");
	next = fr->crl_next_update;
	/* mkpki.sh: 30 days */
	assert_true(next > now_test() + 29 * 86400);
	assert_false(agreement_crl_stale(fr, now_test()));
	assert_true(agreement_crl_stale(fr, next + 1));
	conf_diag_free(&d);
	config_free(c);

	c = config_load(path("conf/accordd.xml"), next + 86400, &d);
	assert_non_null(c);
	assert_int_equal(d.nerrors, 0);
	clock_format_utc(next, date, sizeof(date));
	assert_true(has_warning(&d, "fr/crl.pem of FR is past its nextUpdate",
	    date));
	/* the <crl> element's line */
	snprintf(line, sizeof(line), "partners/fr.xml:%d:", 21);
	assert_true(has_warning(&d, line, "past its nextUpdate"));
	/* every partner's CRL is as old */
	assert_true(has_warning(&d, "of DE is past its nextUpdate", NULL));
	conf_diag_free(&d);
	config_free(c);
}

/* <server-pin>: optional, read as hex; a malformed one is refused. */
static void
test_server_pin(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const struct agreement *fr;
	const char *pin = "sha256:00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff";

	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_string_equal(config_partner(c, "FR")->tls_server_pin_sha256,
	    "");
	conf_diag_free(&d);
	config_free(c);

	edit("conf/partners/fr.xml", "</client-subject>",
	    "</client-subject><server-pin>sha256:00112233445566778899aabbcc"
	    "ddeeff00112233445566778899aabbccddeeff</server-pin>");
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	if (c == NULL)
		conf_diag_print(&d, stderr);
	assert_non_null(c);
	fr = config_partner(c, "FR");
	assert_string_equal(fr->tls_server_pin_sha256, pin + 7);
	conf_diag_free(&d);
	config_free(c);

	edit("conf/partners/fr.xml", "<server-pin>sha256:0011",
	    "<server-pin>sha1:0011");
	expect_errors("partners/fr.xml:", "server-pin");
}

/* protocol-versions: one version, the other, none, one unknown. */
static void
test_protocol_versions(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const struct agreement *fr;

	(void)state;
	edit("conf/partners/fr.xml", "protocol-versions=\"1 2\"",
	    "protocol-versions=\"1\"");
	assert_non_null(c = config_load(path("conf/accordd.xml"), now_test(),
	    &d));
	assert_non_null(fr = config_partner(c, "FR"));
	assert_true(agreement_accepts_version(fr, 1));
	assert_false(agreement_accepts_version(fr, 2));
	assert_int_equal(agreement_wire_version(fr), 1);
	assert_int_equal(agreement_min_version(fr), 1);
	/* no Redelivery without version 2 */
	assert_false(agreement_allows(fr, MSG_REDELIVERY));
	assert_true(agreement_allows(fr, MSG_RECEIPT));
	conf_diag_free(&d);
	config_free(c);

	edit("conf/partners/fr.xml", "protocol-versions=\"1\"",
	    "protocol-versions=\" 2 \"");
	memset(&d, 0, sizeof(d));
	assert_non_null(c = config_load(path("conf/accordd.xml"), now_test(),
	    &d));
	assert_non_null(fr = config_partner(c, "FR"));
	assert_false(agreement_accepts_version(fr, 1));
	assert_int_equal(agreement_wire_version(fr), 2);
	assert_int_equal(agreement_min_version(fr), 2);
	conf_diag_free(&d);
	config_free(c);
}

static void
test_protocol_versions_missing(void **state)
{
	(void)state;
	edit("conf/partners/fr.xml", " protocol-versions=\"1 2\"", "");
	expect_errors("partners/fr.xml:8: ", "'protocol-versions' is "
	    "required");
}

static void
test_protocol_version_unknown(void **state)
{
	(void)state;
	edit("conf/partners/fr.xml", "protocol-versions=\"1 2\"",
	    "protocol-versions=\"1 3\"");
	expect_errors("partners/fr.xml:8: ", "protocol-versions");
}

/* <metrics listen=>: address:port, [IPv6]:port, numeric, 1-65535. */
static void
test_metrics_hostport(void **state)
{
	char host[64], why[256];
	int port, lo;

	(void)state;
	assert_int_equal(conf_parse_hostport("127.0.0.1:9464", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9464);
	assert_int_equal(lo, 1);
	assert_int_equal(conf_parse_hostport("127.8.9.10:1", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), 0);
	assert_int_equal(lo, 1);
	assert_int_equal(conf_parse_hostport("[::1]:65535", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 65535);
	assert_int_equal(lo, 1);
	assert_int_equal(conf_parse_hostport("0.0.0.0:9464", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), 0);
	assert_int_equal(lo, 0);
	assert_int_equal(conf_parse_hostport("[2001:db8::1]:9464", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), 0);
	assert_int_equal(lo, 0);
	assert_int_equal(conf_parse_hostport("128.0.0.1:9464", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), 0);
	assert_int_equal(lo, 0);
	assert_int_equal(conf_parse_hostport("127.0.0.1:0", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "port '0' is not a number from 1"));
	assert_int_equal(conf_parse_hostport("127.0.0.1:65536", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), -1);
	assert_int_equal(conf_parse_hostport("127.0.0.1:94x", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), -1);
	assert_int_equal(conf_parse_hostport("127.0.0.1:", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), -1);
	assert_int_equal(conf_parse_hostport("127.0.0.1:+80", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), -1);
	assert_int_equal(conf_parse_hostport("::1:9464", host, sizeof(host),
	    &port, &lo, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "in brackets"));
	assert_int_equal(conf_parse_hostport("[::1]9464", host, sizeof(host),
	    &port, &lo, why, sizeof(why)), -1);
	assert_int_equal(conf_parse_hostport("localhost:9464", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a numeric IPv4 address"));
	assert_int_equal(conf_parse_hostport("[127.0.0.1]:9464", host,
	    sizeof(host), &port, &lo, why, sizeof(why)), -1);
	assert_int_equal(conf_parse_hostport(":9464", host, sizeof(host),
	    &port, &lo, why, sizeof(why)), -1);
}

/* <metrics>: a loopback address loads; another needs allow-remote. */
static void
test_metrics_element(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;

	(void)state;
	edit("conf/accordd.xml", "<limits ", "<metrics listen=\"[::1]:9464\"/>"
	    "\n  <limits ");
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	if (c == NULL)
		conf_diag_print(&d, stderr);
	assert_non_null(c);
	assert_string_equal(c->metrics_address, "::1");
	assert_int_equal(c->metrics_port, 9464);
	assert_int_equal(c->metrics_allow_remote, 0);
	/* our own certificates, for their expiry gauges */
	assert_true(c->tls_not_after > now_test());
	assert_int_equal(strlen(c->tls_client_sha256), 64);
	config_free(c);
	conf_diag_free(&d);
	edit("conf/accordd.xml", "[::1]:9464", "192.0.2.1:9464");
	expect_errors("accordd.xml:", "metrics listen: 192.0.2.1 is not a "
	    "loopback address");
	edit("conf/accordd.xml", "\"192.0.2.1:9464\"", "\"192.0.2.1:9464\" "
	    "allow-remote=\"true\"");
	memset(&d, 0, sizeof(d));
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_string_equal(c->metrics_address, "192.0.2.1");
	assert_int_equal(c->metrics_allow_remote, 1);
	config_free(c);
	conf_diag_free(&d);
}

/* <keys master=>: the master key file's mode and owner (issue 19). */
static void
test_keys_master(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	struct passwd *pw;
	FILE *f;

	(void)state;
	if ((pw = getpwnam("nobody")) == NULL)
		fail_msg("needs the user nobody");
	f = fopen(path("conf/master.key"), "w");
	assert_non_null(f);
	fputs("00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\n", f);
	fclose(f);
	assert_int_equal(chmod(path("conf/master.key"), 0644), 0);
	edit("conf/accordd.xml", "<limits ", "<keys master=\"master.key\"/>"
	    "\n  <limits ");
	expect_errors("keys master: ", "mode 0644");
	assert_int_equal(chmod(path("conf/master.key"), 0600), 0);
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	if (c == NULL)
		conf_diag_print(&d, stderr);
	assert_non_null(c);
	assert_non_null(strstr(c->keys_master, "/conf/master.key"));
	config_free(c);
	conf_diag_free(&d);
	/* under <user>, the engine's user must own it */
	if (geteuid() == 0) {
		edit("conf/accordd.xml", "</state-directory>",
		    "</state-directory><user name=\"nobody\"/>");
		expect_errors("keys master: ", "the engine runs as nobody");
		assert_int_equal(chown(path("conf/master.key"), pw->pw_uid,
		    (gid_t)-1), 0);
		memset(&d, 0, sizeof(d));
		c = config_load(path("conf/accordd.xml"), now_test(), &d);
		if (c == NULL)
			conf_diag_print(&d, stderr);
		assert_non_null(c);
		config_free(c);
		conf_diag_free(&d);
		edit("conf/accordd.xml", "<user name=\"nobody\"/>", "");
		conf_key_owner = (uid_t)-1;	/* as before the first <user> */
	}
}

/* No <metrics>: no endpoint. */
static void
test_metrics_absent(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;

	(void)state;
	c = config_load(path("conf/accordd.xml"), now_test(), &d);
	assert_non_null(c);
	assert_null(c->metrics_address);
	config_free(c);
	conf_diag_free(&d);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_shipped_configuration),
		T(test_shipped_holidays),
		T(test_missing_field),
		T(test_unknown_partner_code),
		cmocka_unit_test(test_country_codes),
		cmocka_unit_test(test_metrics_hostport),
		T(test_metrics_element),
		T(test_keys_master),
		T(test_metrics_absent),
		T(test_unknown_zone),
		T(test_unknown_zone_own),
		T(test_duplicate_partner),
		T(test_bad_url),
		T(test_bad_url_garbage),
		T(test_unreadable_signing_certificate),
		T(test_only_expired_certificates),
		T(test_zero_timeline),
		T(test_negative_timeline),
		T(test_unknown_message_type),
		T(test_same_tls_pin),
		T(test_same_tls_subject_and_ca),
		T(test_key_readable_by_others),
		T(test_not_well_formed),
		T(test_doctype_refused),
		T(test_limits_attributes),
		T(test_connections_per_partner),
		T(test_signing_cert_of_other_ca),
		T(test_key_does_not_match),
		T(test_holiday_twice),
		T(test_impossible_date),
		T(test_no_partners),
		T(test_every_error_reported),
		T(test_user_parser),
		T(test_warn_calendar_ending),
		T(test_warn_certificate_expiring),
		T(test_warn_revoked_configured),
		T(test_crl_revokes_tls),
		T(test_warn_crl_stale),
		T(test_server_pin),
		T(test_protocol_versions),
		T(test_protocol_versions_missing),
		T(test_protocol_version_unknown),
	};

	xmlInitParser();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
