/*
 * conffile.c -- configuration file reading shared by config.c and
 * agreement.c.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "conf/conffile.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xmalloc.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/accord"
#endif

#define CERT_WARN_DAYS	30


static void
conf_diag_vadd(char ***list, int *n, size_t *cap, const char *file,
    long line, const char *fmt, va_list ap)
{
	char msg[1024], *s;
	int len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* libxml2 messages end with a newline */
	len = (int)strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	if (line > 0)
		s = xasprintf("%s:%ld: %s", file, line, msg);
	else
		s = xasprintf("%s: %s", file, msg);
	*list = xgrowarray(*list, (size_t)*n, cap, sizeof(**list));
	(*list)[(*n)++] = s;
}

void
conf_diag_error(struct conf_diag *d, const char *file, long line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_diag_vadd(&d->errors, &d->nerrors, &d->errors_cap, file, line,
	    fmt, ap);
	va_end(ap);
}

void
conf_diag_warn(struct conf_diag *d, const char *file, long line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_diag_vadd(&d->warnings, &d->nwarnings, &d->warnings_cap, file,
	    line, fmt, ap);
	va_end(ap);
}

void
conf_diag_free(struct conf_diag *d)
{
	int i;

	for (i = 0; i < d->nerrors; i++)
		free(d->errors[i]);
	for (i = 0; i < d->nwarnings; i++)
		free(d->warnings[i]);
	free(d->errors);
	free(d->warnings);
	memset(d, 0, sizeof(*d));
}

void
conf_diag_print(const struct conf_diag *d, FILE *fp)
{
	int i;

	for (i = 0; i < d->nerrors; i++)
		fprintf(fp, "error: %s\n", d->errors[i]);
	for (i = 0; i < d->nwarnings; i++)
		fprintf(fp, "warning: %s\n", d->warnings[i]);
}

/*
 * $ACCORD_DATADIR when set, else the installed data directory.  No build
 * tree path is compiled in: a build that was not installed is run with
 * ACCORD_DATADIR set to its source tree (make check, ./quickstart).
 */
const char *
conf_datadir(void)
{
	static int warned;
	const char *env;

	env = getenv("ACCORD_DATADIR");
	if (env != NULL && *env != '\0')
		return env;
	if (!warned && access(PKGDATADIR "/conf/schema/accordd.xsd", R_OK) ==
	    -1) {
		warned = 1;
		log_warnx("config", "no schemas under %s (not installed?): "
		    "set ACCORD_DATADIR to the directory holding conf/schema/ "
		    "and protocols/, e.g. the source tree", PKGDATADIR);
	}
	return PKGDATADIR;
}

/* Collects libxml2's parse and validation errors with their lines. */
struct conf_xml_errctx {
	struct conf_diag	*d;
	const char		*file;
};

static void
conf_xml_error(void *arg, const xmlError *err)
{
	struct conf_xml_errctx *ctx = arg;

	if (err->level == XML_ERR_WARNING)
		conf_diag_warn(ctx->d, ctx->file, err->line, "%s",
		    err->message ? err->message : "XML warning");
	else
		conf_diag_error(ctx->d, ctx->file, err->line, "%s",
		    err->message ? err->message : "XML error");
}

/* libxml2 2.9 declares the handler with a non-const pointer. */
static void
conf_xml_error_nc(void *arg, xmlErrorPtr err)
{
	conf_xml_error(arg, err);
}

xmlDocPtr
conf_load_xml(const char *file, const char *schema, struct conf_diag *d)
{
	struct conf_xml_errctx ectx = { d, file };
	xmlParserCtxtPtr pctx = NULL;
	xmlSchemaParserCtxtPtr sp = NULL;
	xmlSchemaPtr sch = NULL;
	xmlSchemaValidCtxtPtr vctx = NULL;
	xmlDocPtr doc = NULL;
	char *xsd = NULL;
	int before = d->nerrors, rc;

	if (access(file, R_OK) == -1) {
		conf_diag_error(d, file, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	pctx = xmlNewParserCtxt();
	if (pctx == NULL)
		xalloc_failed("xmlNewParserCtxt");
	/* libxml2 2.9 has no per-context handler: set it around the parse */
	xmlSetStructuredErrorFunc(&ectx, conf_xml_error_nc);
	/* no network, no DTD loading, no entity substitution */
	doc = xmlCtxtReadFile(pctx, file, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOCDATA);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (doc == NULL || !pctx->wellFormed) {
		if (d->nerrors == before)
			conf_diag_error(d, file, 0, "not well-formed XML");
		goto fail;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		conf_diag_error(d, file, xmlGetLineNo((xmlNodePtr)doc->intSubset),
		    "a DOCTYPE is not allowed in configuration files");
		goto fail;
	}

	xsd = conf_path(conf_datadir(), "conf/schema");
	{
		char *p = conf_path(xsd, schema);
		free(xsd);
		xsd = p;
	}
	sp = xmlSchemaNewParserCtxt(xsd);
	if (sp == NULL)
		xalloc_failed("xmlSchemaNewParserCtxt");
	xmlSchemaSetParserStructuredErrors(sp, conf_xml_error_nc, &ectx);
	sch = xmlSchemaParse(sp);
	if (sch == NULL) {
		conf_diag_error(d, xsd, 0, "cannot load the configuration "
		    "schema (set ACCORD_DATADIR to the directory holding "
		    "conf/schema/)");
		goto fail;
	}
	vctx = xmlSchemaNewValidCtxt(sch);
	if (vctx == NULL)
		xalloc_failed("xmlSchemaNewValidCtxt");
	xmlSchemaSetValidStructuredErrors(vctx, conf_xml_error_nc, &ectx);
	rc = xmlSchemaValidateDoc(vctx, doc);
	if (rc != 0) {
		if (d->nerrors == before)
			conf_diag_error(d, file, 0, "not valid against %s",
			    schema);
		goto fail;
	}
	xmlSchemaFreeValidCtxt(vctx);
	xmlSchemaFree(sch);
	xmlSchemaFreeParserCtxt(sp);
	xmlFreeParserCtxt(pctx);
	free(xsd);
	return doc;

fail:
	if (vctx != NULL)
		xmlSchemaFreeValidCtxt(vctx);
	if (sch != NULL)
		xmlSchemaFree(sch);
	if (sp != NULL)
		xmlSchemaFreeParserCtxt(sp);
	if (pctx != NULL)
		xmlFreeParserCtxt(pctx);
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(xsd);
	return NULL;
}

static int
conf_is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrcmp(n->ns->href, BAD_CAST CONF_NS) == 0 &&
	    xmlStrcmp(n->name, BAD_CAST name) == 0;
}

xmlNodePtr
conf_child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;

	if (parent == NULL)
		return NULL;
	for (n = parent->children; n != NULL; n = n->next)
		if (conf_is(n, name))
			return n;
	return NULL;
}

xmlNodePtr
conf_next(xmlNodePtr node)
{
	xmlNodePtr n;

	for (n = node->next; n != NULL; n = n->next)
		if (conf_is(n, (const char *)node->name))
			return n;
	return NULL;
}

char *
conf_attr(xmlNodePtr node, const char *name)
{
	if (node == NULL)
		return NULL;
	return (char *)xmlGetNoNsProp(node, BAD_CAST name);
}

char *
conf_attr_buf(xmlNodePtr node, const char *name, char *buf, size_t len)
{
	char *v = conf_attr(node, name);

	snprintf(buf, len, "%s", v != NULL ? v : "");
	xmlFree(v);
	return buf;
}

int
conf_attr_int(xmlNodePtr node, const char *name, int def)
{
	char *v = conf_attr(node, name);
	long r;

	if (v == NULL)
		return def;
	r = strtol(v, NULL, 10);
	xmlFree(v);
	return (int)r;
}

char *
conf_text(xmlNodePtr node)
{
	xmlChar *c;
	char *s, *start, *end;

	if (node == NULL)
		return NULL;
	c = xmlNodeGetContent(node);
	if (c == NULL)
		return xstrdup("");
	start = (char *)c;
	while (*start == ' ' || *start == '\t' || *start == '\n' ||
	    *start == '\r')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	s = xstrndup(start, (size_t)(end - start));
	xmlFree(c);
	return s;
}

int
conf_text_int(xmlNodePtr node, int def)
{
	char *s = conf_text(node);
	int r;

	if (s == NULL)
		return def;
	r = (int)strtol(s, NULL, 10);
	free(s);
	return r;
}

int
conf_text_bool(xmlNodePtr node, int def)
{
	char *s = conf_text(node);
	int r;

	if (s == NULL)
		return def;
	r = strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
	free(s);
	return r;
}

long
conf_line(xmlNodePtr node)
{
	return node != NULL ? xmlGetLineNo(node) : 0;
}

char *
conf_path(const char *dir, const char *rel)
{
	if (rel[0] == '/' || dir == NULL || dir[0] == '\0')
		return xstrdup(rel);
	return xasprintf("%s/%s", dir, rel);
}

char *
conf_dirname(const char *file)
{
	const char *slash = strrchr(file, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == file)
		return xstrdup("/");
	return xstrndup(file, (size_t)(slash - file));
}

static const char *conf_weekdays[] = { "sunday", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday" };

static void
conf_add_day(cal_day_t **arr, int *n, size_t *cap, cal_day_t day)
{
	*arr = xgrowarray(*arr, (size_t)*n, cap, sizeof(**arr));
	(*arr)[(*n)++] = day;
}

static int
conf_day_in(const cal_day_t *arr, int n, cal_day_t day)
{
	int i;

	for (i = 0; i < n; i++)
		if (arr[i] == day)
			return 1;
	return 0;
}

int
conf_read_calendar(xmlNodePtr node, const char *file, struct calendar *cal,
    struct conf_diag *d, accord_time_t now, const char *whose)
{
	char buf[64], *wk, *tok, *save = NULL, dbuf[16];
	xmlNodePtr n;
	cal_day_t day, today;
	size_t hcap = 0, wcap = 0;	/* of cal's arrays, while they grow */
	int i, before = d->nerrors, extra;

	memset(cal, 0, sizeof(*cal));
	conf_attr_buf(node, "zone", cal->zone, sizeof(cal->zone));
	if (!calendar_zone_valid(cal->zone))
		conf_diag_error(d, file, conf_line(node),
		    "unknown time zone '%s' (not in the system's zone "
		    "database)", cal->zone);
	if (calendar_parse_date(conf_attr_buf(node, "covers-from", buf,
	    sizeof(buf)), &cal->data_from) == -1 ||
	    calendar_parse_date(conf_attr_buf(node, "covers-until", buf,
	    sizeof(buf)), &cal->data_until) == -1)
		conf_diag_error(d, file, conf_line(node),
		    "calendar covers-from/covers-until is not a real date");
	else if (cal->data_from > cal->data_until)
		conf_diag_error(d, file, conf_line(node),
		    "calendar covers-from is after covers-until");

	wk = conf_text(conf_child(node, "weekend"));
	for (tok = strtok_r(wk, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save))
		for (i = 0; i < 7; i++)
			if (strcmp(tok, conf_weekdays[i]) == 0)
				cal->weekend |= 1u << i;
	free(wk);
	if (cal->weekend == 0x7f)
		conf_diag_error(d, file, conf_line(node),
		    "every day of the week is a weekend day");

	for (n = node->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		extra = xmlStrcmp(n->name, BAD_CAST "working-day") == 0;
		if (!extra && xmlStrcmp(n->name, BAD_CAST "holiday") != 0)
			continue;
		if (calendar_parse_date(conf_attr_buf(n, "date", buf,
		    sizeof(buf)), &day) == -1) {
			conf_diag_error(d, file, conf_line(n),
			    "'%s' is not a real date", buf);
			continue;
		}
		if (conf_day_in(cal->holidays, cal->nholidays, day) ||
		    conf_day_in(cal->extra_working, cal->nextra_working,
		    day)) {
			conf_diag_error(d, file, conf_line(n),
			    "date %s is listed twice", buf);
			continue;
		}
		if (day < cal->data_from || day > cal->data_until)
			conf_diag_warn(d, file, conf_line(n),
			    "date %s is outside covers-from/covers-until", buf);
		if (extra) {
			if (!(cal->weekend & (1u << calendar_weekday(day))))
				conf_diag_warn(d, file, conf_line(n),
				    "working-day %s is already a working day",
				    buf);
			conf_add_day(&cal->extra_working, &cal->nextra_working,
			    &wcap, day);
		} else
			conf_add_day(&cal->holidays, &cal->nholidays, &hcap,
			    day);
	}
	calendar_normalize(cal);

	/* holiday data must reach at least 12 months ahead */
	if (d->nerrors == before) {
		today = (cal_day_t)(now / 86400);
		calendar_format_date(cal->data_until, dbuf, sizeof(dbuf));
		if (cal->data_until < today)
			conf_diag_warn(d, file, conf_line(node),
			    "%s calendar data ended on %s: deadlines are "
			    "counted without holidays; add the coming "
			    "years' holidays", whose, dbuf);
		else if (cal->data_until < today + 365)
			conf_diag_warn(d, file, conf_line(node),
			    "%s calendar data ends on %s, within 12 months: "
			    "add the next year's holidays", whose, dbuf);
	}
	return d->nerrors == before ? 0 : -1;
}

X509 *
conf_load_cert(const char *path, const char *file, long line,
    struct conf_diag *d)
{
	FILE *fp;
	X509 *x;

	if ((fp = fopen(path, "r")) == NULL) {
		conf_diag_error(d, file, line, "cannot read certificate %s: %s",
		    path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL) {
		ERR_clear_error();
		conf_diag_error(d, file, line, "%s is not a PEM certificate",
		    path);
	}
	return x;
}

uid_t conf_key_owner = (uid_t)-1;
int conf_keys_elsewhere;

EVP_PKEY *
conf_load_key(const char *path, const char *file, long line,
    struct conf_diag *d)
{
	struct stat st;
	EVP_PKEY *k;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		conf_diag_error(d, file, line, "cannot read private key %s: %s",
		    path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_diag_error(d, file, line, "private key %s is not a "
		    "regular file", path);
		fclose(fp);
		return NULL;
	}
	if (st.st_mode & 077) {
		conf_diag_error(d, file, line, "private key %s is accessible "
		    "by group or others (mode %04o): chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		fclose(fp);
		return NULL;
	}
	/* ours, or root's (read before privileges are dropped), or the
	 * configured <user>'s (read by the engine after) */
	if (st.st_uid != geteuid() && st.st_uid != 0 &&
	    (conf_key_owner == (uid_t)-1 || st.st_uid != conf_key_owner)) {
		conf_diag_error(d, file, line, "private key %s is owned by "
		    "uid %u, not by the daemon's uid %u", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		fclose(fp);
		return NULL;
	}
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (k == NULL) {
		ERR_clear_error();
		conf_diag_error(d, file, line, "%s is not an unencrypted PEM "
		    "private key", path);
	}
	return k;
}

int
conf_cert_chains_to(X509 *ca, X509 *x, STACK_OF(X509) *chain,
    unsigned long flags, int purpose)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	int ok = 0;

	if ((st = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(st, ca) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, st, x, chain) != 1)
		goto done;
	X509_STORE_CTX_set_flags(ctx, flags);
	if (purpose != 0)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx) == 1;
done:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

void
conf_cert_sha256(X509 *x, char out[65])
{
	unsigned char md[32];
	unsigned int len = sizeof(md);

	/* fails only when OpenSSL cannot allocate: the DER is in memory */
	if (!X509_digest(x, EVP_sha256(), md, &len)) {
		log_openssl("config", "X509_digest");
		xalloc_failed("X509_digest");
	}
	hex_encode(md, sizeof(md), out);
}

static int
conf_asn1_time(const ASN1_TIME *t, accord_time_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (accord_time_t)calendar_day_from_ymd(tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday) * 86400 + tm.tm_hour * 3600 +
	    tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

int
conf_cert_times(X509 *x, accord_time_t *nb, accord_time_t *na)
{
	if (conf_asn1_time(X509_get0_notBefore(x), nb) == -1 ||
	    conf_asn1_time(X509_get0_notAfter(x), na) == -1)
		return -1;
	return 0;
}

int
conf_crl_next_update(X509_CRL *crl, accord_time_t *next)
{
	const ASN1_TIME *t = X509_CRL_get0_nextUpdate(crl);

	*next = 0;
	if (t == NULL)
		return 0;
	return conf_asn1_time(t, next);
}

int
conf_check_cert_time(X509 *x, const char *what, const char *file, long line,
    struct conf_diag *d, accord_time_t now, int must_be_valid)
{
	accord_time_t nb, na;
	char tb[32];

	if (conf_cert_times(x, &nb, &na) == -1) {
		conf_diag_error(d, file, line, "%s has unreadable validity "
		    "dates", what);
		return -1;
	}
	if (na < now) {
		clock_format_utc(na, tb, sizeof(tb));
		if (must_be_valid)
			conf_diag_error(d, file, line, "%s expired on %s",
			    what, tb);
		else
			conf_diag_warn(d, file, line, "%s expired on %s",
			    what, tb);
		return -1;
	}
	if (nb > now) {
		clock_format_utc(nb, tb, sizeof(tb));
		if (must_be_valid)
			conf_diag_error(d, file, line, "%s is not valid before "
			    "%s", what, tb);
		return -1;
	}
	if (na - now < CERT_WARN_DAYS * 86400) {
		clock_format_utc(na, tb, sizeof(tb));
		conf_diag_warn(d, file, line, "%s expires on %s, in %lld "
		    "days: renew it", what, tb,
		    (long long)((na - now) / 86400));
	}
	return 0;
}

int
conf_parse_hostport(const char *s, char *host, size_t hostlen, int *port,
    int *loopback, char *why, size_t whylen)
{
	struct in_addr a4;
	struct in6_addr a6;
	const char *colon, *end;
	char *ep;
	size_t n;
	long p;
	int v6 = 0;

	*port = 0;
	*loopback = 0;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':') {
			snprintf(why, whylen, "'%s' is not [IPv6 address]:port",
			    s);
			return -1;
		}
		s++;
		n = (size_t)(end - s);
		colon = end + 1;
		v6 = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    strchr(s, ':') != colon) {
			snprintf(why, whylen, "'%s' is not address:port (an "
			    "IPv6 address goes in brackets: [::1]:9464)", s);
			return -1;
		}
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hostlen) {
		snprintf(why, whylen, "'%.*s' is not an address", (int)n, s);
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	p = strtol(colon + 1, &ep, 10);
	if (colon[1] < '0' || colon[1] > '9' || *ep != '\0' || errno != 0 ||
	    p < 1 || p > 65535) {
		snprintf(why, whylen, "port '%s' is not a number from 1 to "
		    "65535", colon + 1);
		return -1;
	}
	if (!v6 && inet_pton(AF_INET, host, &a4) == 1)
		*loopback = (ntohl(a4.s_addr) >> 24) == 127;
	else if (v6 && inet_pton(AF_INET6, host, &a6) == 1)
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	else {
		snprintf(why, whylen, "'%s' is not a numeric IP%s address (a "
		    "host name could resolve elsewhere)", host, v6 ? "v6" :
		    "v4");
		return -1;
	}
	*port = (int)p;
	return 0;
}
