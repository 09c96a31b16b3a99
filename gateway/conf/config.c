/*
 * config.c -- loading accordd.xml and the partner agreements.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <openssl/err.h>

#include "conf/config.h"
#include "util/aead.h"
#include "conf/conffile.h"
#include "util/file.h"
#include "util/xmalloc.h"

static const char *config_role_names[CONF_ROLE_COUNT] = {
	"read", "submit", "admin"
};

const char *
config_role_name(enum config_role r)
{
	if ((int)r < 0 || r >= CONF_ROLE_COUNT)
		return "?";
	return config_role_names[r];
}

void
config_free(struct config *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->npartners; i++)
		agreement_clear(&c->partners[i]);
	free(c->partners);
	calendar_clear(&c->calendar);
	X509_free(c->sign_x509);
	free(c->file);
	free(c->dir);
	free(c->listen_address);
	free(c->pki_dir);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_client_cert);
	free(c->tls_client_key);
	if (c->tls_key_pem != NULL)
		explicit_bzero(c->tls_key_pem, c->tls_key_pem_len);
	free(c->tls_key_pem);
	if (c->tls_client_key_pem != NULL)
		explicit_bzero(c->tls_client_key_pem,
		    c->tls_client_key_pem_len);
	free(c->tls_client_key_pem);
	free(c->sign_cert);
	free(c->sign_key);
	free(c->state_dir);
	free(c->control_socket);
	free(c->metrics_address);
	free(c->keys_master);
	free(c->tsa_url);
	free(c->tsa_ca);
	free(c->tsa_ca_pem);
	free(c->partners_dir);
	free(c);
}

const struct agreement *
config_partner(const struct config *c, const char *country)
{
	int i;

	for (i = 0; i < c->npartners; i++)
		if (strcmp(c->partners[i].country, country) == 0)
			return &c->partners[i];
	return NULL;
}

static char *
config_attr_path(xmlNodePtr n, const char *attr, const char *base)
{
	char *v = conf_attr(n, attr), *p;

	p = conf_path(base, v != NULL ? v : "");
	xmlFree(v);
	return p;
}

/* A certificate and its key: readable, private, matching, valid now. */
static X509 *
config_check_pair(struct config *c, xmlNodePtr n, const char *cert,
    const char *key, const char *what, accord_time_t now,
    struct conf_diag *d)
{
	EVP_PKEY *k;
	X509 *x;
	char label[1200];

	x = conf_load_cert(cert, c->file, conf_line(n), d);
	/* privilege separation: the keys were read and checked at start;
	 * the engine's reloads check the certificates */
	k = conf_keys_elsewhere ? NULL : conf_load_key(key, c->file,
	    conf_line(n), d);
	if (x != NULL) {
		snprintf(label, sizeof(label), "%s certificate %s", what,
		    cert);
		conf_check_cert_time(x, label, c->file, conf_line(n), d, now,
		    1);
	}
	if (x != NULL && k != NULL && X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		conf_diag_error(d, c->file, conf_line(n), "%s key %s does not "
		    "belong to certificate %s", what, key, cert);
	}
	EVP_PKEY_free(k);
	return x;
}

/*
 * <user signer=>: who the signer runs as; without it, the engine's user,
 * from whom only its being undumpable then keeps the signer's memory.
 * @return 0, or -1 (an error in d).
 */
static int
config_read_signer(struct config *c, xmlNodePtr n, struct conf_diag *d)
{
	struct passwd *pw;

	c->signer_uid = c->user_uid;
	c->signer_gid = c->user_gid;
	conf_attr_buf(n, "signer", c->signer_user, sizeof(c->signer_user));
	if (c->signer_user[0] == '\0') {
		conf_diag_warn(d, c->file, conf_line(n), "no <user signer=>: "
		    "the signer runs as %s, the engine's user, kept from it "
		    "only by being undumpable", c->user);
		return 0;
	}
	if ((pw = getpwnam(c->signer_user)) == NULL || pw->pw_uid == 0) {
		conf_diag_error(d, c->file, conf_line(n), "signer user '%s' %s",
		    c->signer_user, pw == NULL ? "does not exist (create it, "
		    "e.g. adduser --system accord-sign)" : "is root: the "
		    "signer must not run as root");
		return -1;
	}
	if (pw->pw_uid == c->user_uid)
		conf_diag_warn(d, c->file, conf_line(n), "signer user '%s' "
		    "has the engine's uid %u: no separation by uid",
		    c->signer_user, (unsigned)pw->pw_uid);
	c->signer_uid = pw->pw_uid;
	c->signer_gid = pw->pw_gid;
	return 0;
}

/* <user name="accord"/>: who the engine runs as, and the signer and the
 * parsers unless signer= and parser= name their own. */
static void
config_read_user(struct config *c, xmlNodePtr n, struct conf_diag *d)
{
	struct passwd *pw;

	conf_attr_buf(n, "name", c->user, sizeof(c->user));
	if ((pw = getpwnam(c->user)) == NULL) {
		conf_diag_error(d, c->file, conf_line(n), "no user '%s' (create "
		    "it, e.g. adduser --system %s)", c->user, c->user);
		c->user[0] = '\0';
		return;
	}
	if (pw->pw_uid == 0) {
		conf_diag_error(d, c->file, conf_line(n), "user '%s' is root: "
		    "the engine must not run as root", c->user);
		c->user[0] = '\0';
		return;
	}
	c->user_uid = pw->pw_uid;
	c->user_gid = pw->pw_gid;
	conf_key_owner = pw->pw_uid;
	if (config_read_signer(c, n, d) == -1) {
		c->user[0] = '\0';
		return;
	}
	/* parser=: who reads partner XML; without it, the engine's user */
	c->parser_uid = c->user_uid;
	c->parser_gid = c->user_gid;
	conf_attr_buf(n, "parser", c->parser_user, sizeof(c->parser_user));
	if (c->parser_user[0] == '\0') {
		conf_diag_warn(d, c->file, conf_line(n), "no <user parser=>: "
		    "the parser processes run as %s, the engine's user, "
		    "separated from it by their system-call filter only",
		    c->user);
		return;
	}
	if ((pw = getpwnam(c->parser_user)) == NULL || pw->pw_uid == 0) {
		conf_diag_error(d, c->file, conf_line(n), "parser user '%s' %s",
		    c->parser_user, pw == NULL ? "does not exist" :
		    "is root: a parser must not run as root");
		c->user[0] = '\0';
		return;
	}
	c->parser_uid = pw->pw_uid;
	c->parser_gid = pw->pw_gid;
}

static void
config_group(const char *name, gid_t *gid, int *exists)
{
	struct group *gr = getgrnam(name);

	*exists = gr != NULL;
	*gid = gr != NULL ? gr->gr_gid : (gid_t)-1;
}

static void
config_read_control(struct config *c, xmlNodePtr n, struct conf_diag *d)
{
	xmlNodePtr r;
	struct role_group *rg;
	char name[16];
	int i, granted[CONF_ROLE_COUNT] = { 0 };

	c->control_socket = config_attr_path(n, "socket", c->dir);
	conf_attr_buf(n, "group", c->control_group, sizeof(c->control_group));
	config_group(c->control_group, &c->control_gid,
	    &c->control_gid_exists);
	if (!c->control_gid_exists)
		conf_diag_warn(d, c->file, conf_line(n), "control socket group "
		    "'%s' does not exist: the socket stays owner-only",
		    c->control_group);
	for (r = conf_child(n, "role"); r != NULL; r = conf_next(r)) {
		if (c->nroles == CONFIG_MAX_ROLE_GROUPS) {
			conf_diag_error(d, c->file, conf_line(r),
			    "more than %d role groups", CONFIG_MAX_ROLE_GROUPS);
			break;
		}
		rg = &c->roles[c->nroles++];
		conf_attr_buf(r, "name", name, sizeof(name));
		for (i = 0; i < CONF_ROLE_COUNT; i++)
			if (strcmp(name, config_role_names[i]) == 0)
				rg->role = i;
		granted[rg->role] = 1;
		conf_attr_buf(r, "group", rg->group, sizeof(rg->group));
		config_group(rg->group, &rg->gid, &rg->exists);
		if (!rg->exists)
			conf_diag_warn(d, c->file, conf_line(r), "group '%s' "
			    "for role %s does not exist", rg->group, name);
	}
	for (i = 0; i < CONF_ROLE_COUNT; i++)
		if (!granted[i])
			conf_diag_warn(d, c->file, conf_line(n), "no group holds "
			    "the role %s: only root may use it",
			    config_role_names[i]);
}

/*
 * <metrics listen="127.0.0.1:9464"/>: the metrics carry no personal data
 * but tell whoever connects which partners there are, how much goes to
 * each and when one is down, without TLS or authentication: a loopback
 * address unless allow-remote="true" says the operator made it safe
 * (a firewall, a proxy that authenticates).
 */
static void
config_read_metrics(struct config *c, xmlNodePtr n, struct conf_diag *d)
{
	char listen[300], host[256], why[400], remote[8];
	int port, loopback;

	conf_attr_buf(n, "listen", listen, sizeof(listen));
	conf_attr_buf(n, "allow-remote", remote, sizeof(remote));
	/* xs:boolean (schema-checked) */
	c->metrics_allow_remote = strcmp(remote, "true") == 0 ||
	    strcmp(remote, "1") == 0;
	if (conf_parse_hostport(listen, host, sizeof(host), &port, &loopback,
	    why, sizeof(why)) == -1) {
		conf_diag_error(d, c->file, conf_line(n), "metrics listen: %s",
		    why);
		return;
	}
	if (!loopback && !c->metrics_allow_remote) {
		conf_diag_error(d, c->file, conf_line(n), "metrics listen: %s "
		    "is not a loopback address; the metrics (partners, "
		    "volumes, outages) are served without TLS or "
		    "authentication: use 127.0.0.1 or [::1], or add "
		    "allow-remote=\"true\" once a firewall or an "
		    "authenticating proxy guards the port", host);
		return;
	}
	c->metrics_address = xstrdup(host);
	c->metrics_port = port;
}

/*
 * <timestamp url="http://tsa.example/" ca="tsa-ca.pem"/>: each signed
 * checkpoint is time-stamped by that RFC 3161 authority, whose tokens
 * must verify against ca (relative to the pki directory).  The CA's
 * text is journalled with the configuration, for the auditor.
 */
static void
config_read_timestamp(struct config *c, xmlNodePtr n, struct conf_diag *d)
{
	char url[300];
	X509 *x;
	size_t len;

	conf_attr_buf(n, "url", url, sizeof(url));
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		conf_diag_error(d, c->file, conf_line(n), "timestamp url: "
		    "not an http:// or https:// URL");
		return;
	}
	c->tsa_url = xstrdup(url);
	c->tsa_retry_secs = conf_attr_int(n, "retry-seconds", 30);
	c->tsa_ca = config_attr_path(n, "ca", c->pki_dir);
	if (c->tsa_ca == NULL)
		return;
	if ((x = conf_load_cert(c->tsa_ca, c->file, conf_line(n), d)) == NULL)
		return;
	X509_free(x);
	if ((c->tsa_ca_pem = file_read(c->tsa_ca, 1024 * 1024, &len)) == NULL)
		conf_diag_error(d, c->file, conf_line(n), "timestamp ca: "
		    "cannot read %s", c->tsa_ca);
}

/*
 * <keys master="FILE"/>: business messages are sealed at rest under
 * per-case keys wrapped by the master key in FILE (relative to this
 * file's directory; persist/keystore.h).  The engine reads it, and
 * replaces it when the key rotates: mode 0600, owned by the engine's
 * <user> (without one, by the user the daemon runs as, or root).
 */
static void
config_read_keys(struct config *c, xmlNodePtr n, struct conf_diag *d)
{
	struct stat sb;
	uint8_t key[AEAD_KEY_LEN];
	char why[1400];

	c->keys_master = config_attr_path(n, "master", c->dir);
	if (aead_key_file(c->keys_master, c->user[0] != '\0' ? c->user_uid :
	    geteuid(), key, why, sizeof(why)) == -1)
		conf_diag_error(d, c->file, conf_line(n), "keys master: %s",
		    why);
	else if (c->user[0] != '\0' && stat(c->keys_master, &sb) == 0 &&
	    sb.st_uid != c->user_uid)
		/* the engine, never root under <user>, reads it and
		 * replaces it on rotation */
		conf_diag_error(d, c->file, conf_line(n), "keys master: %s: "
		    "owned by uid %u: the engine runs as %s, which must own "
		    "it (chown %s)", c->keys_master, (unsigned)sb.st_uid,
		    c->user, c->user);
	aead_wipe(key, sizeof(key));
}

static int
config_partner_cmp(const void *a, const void *b)
{
	const struct agreement *x = a, *y = b;

	return strcmp(x->country, y->country);
}

static int
config_xml_name(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 4 &&
	    strcmp(de->d_name + n - 4, ".xml") == 0;
}

int
config_load_agreements(struct config *c, accord_time_t now,
    struct conf_diag *d)
{
	struct dirent **names = NULL;
	struct agreement *a;
	char *path;
	int n, i;

	n = scandir(c->partners_dir, &names, config_xml_name, alphasort);
	if (n < 0) {
		conf_diag_error(d, c->file, 0, "cannot read the partners "
		    "directory %s: %s", c->partners_dir, strerror(errno));
		return -1;
	}
	if (n == 0)
		conf_diag_error(d, c->file, 0, "no agreement (*.xml) in the "
		    "partners directory %s", c->partners_dir);
	c->partners = xcalloc(n > 0 ? n : 1, sizeof(*c->partners));
	for (i = 0; i < n; i++) {
		path = conf_path(c->partners_dir, names[i]->d_name);
		a = &c->partners[c->npartners];
		if (agreement_load(a, path, c->pki_dir, now, d) == 0 ||
		    a->country[0] != '\0')
			c->npartners++;
		else
			agreement_clear(a);
		free(path);
		free(names[i]);
	}
	free(names);
	return 0;
}

static void
config_read_partners(struct config *c, accord_time_t now,
    struct conf_diag *d)
{
	struct agreement *a, *b;
	int i, j;

	if (config_load_agreements(c, now, d) == -1)
		return;

	/* belonging rules: one agreement per partner, unambiguous TLS */
	for (i = 0; i < c->npartners; i++) {
		a = &c->partners[i];
		if (strcmp(a->country, c->country) == 0)
			conf_diag_error(d, a->file, 0, "an agreement with this "
			    "gateway's own country %s", c->country);
		for (j = 0; j < i; j++) {
			b = &c->partners[j];
			if (strcmp(a->country, b->country) == 0)
				conf_diag_error(d, a->file, 0, "duplicate "
				    "partner %s: already agreed in %s",
				    a->country, b->file);
			if (strcmp(a->agreement_id, b->agreement_id) == 0)
				conf_diag_error(d, a->file, 0, "agreement id "
				    "%s is also used by %s", a->agreement_id,
				    b->file);
			if (a->tls_pin_sha256[0] != '\0' &&
			    strcmp(a->tls_pin_sha256, b->tls_pin_sha256) == 0)
				conf_diag_error(d, a->file, 0, "TLS client pin "
				    "sha256:%s is also %s's: a client "
				    "certificate must identify one partner",
				    a->tls_pin_sha256, b->country);
			if (a->tls_subject != NULL && b->tls_subject != NULL &&
			    strcmp(a->tls_subject, b->tls_subject) == 0 &&
			    a->tls_ca != NULL && b->tls_ca != NULL &&
			    X509_cmp(a->tls_ca, b->tls_ca) == 0)
				conf_diag_error(d, a->file, 0, "TLS client "
				    "subject '%s' under the same CA is also "
				    "%s's: a client certificate must identify "
				    "one partner", a->tls_subject, b->country);
		}
	}
	qsort(c->partners, c->npartners, sizeof(*c->partners),
	    config_partner_cmp);
}

struct config *
config_load(const char *file, accord_time_t now, struct conf_diag *d)
{
	struct config *c;
	xmlDocPtr doc;
	xmlNodePtr root, n;
	X509 *x;
	accord_time_t nb;
	char *s;
	int before = d->nerrors;

	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(file);
	/* relative paths inside the file are relative to its directory,
	 * made absolute now: the daemon changes to / when it detaches */
	{
		char *abs = realpath(file, NULL);

		c->dir = conf_dirname(abs != NULL ? abs : file);
		free(abs);
	}
	c->loaded_at = now;
	doc = conf_load_xml(file, "accordd.xsd", d);
	if (doc == NULL) {
		config_free(c);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);

	n = conf_child(root, "identity");
	conf_attr_buf(n, "country", c->country, sizeof(c->country));
	conf_attr_buf(n, "authority", c->authority, sizeof(c->authority));
	conf_attr_buf(n, "name", c->name, sizeof(c->name));
	if (!agreement_country_valid(c->country))
		conf_diag_error(d, file, conf_line(n), "unknown country code "
		    "'%s' (not an ISO 3166-1 alpha-2 code)", c->country);

	n = conf_child(root, "listen");
	c->listen_address = conf_attr(n, "address");
	s = c->listen_address;
	c->listen_address = xstrdup(s);
	xmlFree(s);
	c->listen_port = conf_attr_int(n, "port", 0);

	n = conf_child(root, "user");
	if (n != NULL)
		config_read_user(c, n, d);

	c->pki_dir = config_attr_path(conf_child(root, "pki"), "directory",
	    c->dir);
	n = conf_child(root, "tls");
	c->tls_cert = config_attr_path(n, "certificate", c->pki_dir);
	c->tls_key = config_attr_path(n, "key", c->pki_dir);
	c->tls_client_cert = config_attr_path(n, "client-certificate",
	    c->pki_dir);
	c->tls_client_key = config_attr_path(n, "client-key", c->pki_dir);
	x = config_check_pair(c, n, c->tls_cert, c->tls_key, "TLS server",
	    now, d);
	if (x != NULL && conf_cert_times(x, &nb, &c->tls_not_after) == 0)
		conf_cert_sha256(x, c->tls_sha256);
	X509_free(x);
	x = config_check_pair(c, n, c->tls_client_cert, c->tls_client_key,
	    "TLS client", now, d);
	if (x != NULL && conf_cert_times(x, &nb,
	    &c->tls_client_not_after) == 0)
		conf_cert_sha256(x, c->tls_client_sha256);
	X509_free(x);
	n = conf_child(root, "signing");
	c->sign_cert = config_attr_path(n, "certificate", c->pki_dir);
	c->sign_key = config_attr_path(n, "key", c->pki_dir);
	c->sign_x509 = config_check_pair(c, n, c->sign_cert, c->sign_key,
	    "signing", now, d);
	if (c->sign_x509 != NULL)
		conf_cert_sha256(c->sign_x509, c->sign_sha256);

	s = conf_text(conf_child(root, "state-directory"));
	c->state_dir = conf_path(c->dir, s);
	free(s);
	config_read_control(c, conf_child(root, "control"), d);
	if ((n = conf_child(root, "metrics")) != NULL)
		config_read_metrics(c, n, d);
	if ((n = conf_child(root, "timestamp")) != NULL)
		config_read_timestamp(c, n, d);
	if ((n = conf_child(root, "keys")) != NULL)
		config_read_keys(c, n, d);

	n = conf_child(root, "limits");
	c->max_message_size = (size_t)conf_attr_int(n, "max-message-size",
	    1048576);
	c->max_xml_depth = conf_attr_int(n, "max-xml-depth", 48);
	c->clock_skew = conf_attr_int(n, "clock-skew-seconds", 300);
	c->tls_handshake_secs = conf_attr_int(n, "tls-handshake-seconds",
	    CONFIG_TLS_HANDSHAKE_SECS);
	c->unauth_per_address = conf_attr_int(n,
	    "unauthenticated-per-address", CONFIG_UNAUTH_PER_ADDRESS);
	c->refusals_per_minute = conf_attr_int(n, "refusals-per-minute",
	    CONFIG_REFUSALS_PER_MINUTE);
	c->connections_per_partner = conf_attr_int(n,
	    "connections-per-partner", CONFIG_CONNECTIONS_PER_PARTNER);

	conf_read_calendar(conf_child(root, "calendar"), file, &c->calendar,
	    d, now, c->country);

	c->partners_dir = config_attr_path(conf_child(root, "partners"),
	    "directory", c->dir);
	xmlFreeDoc(doc);
	config_read_partners(c, now, d);

	if (d->nerrors != before) {
		config_free(c);
		return NULL;
	}
	return c;
}

void
config_print_summary(const struct config *c, FILE *fp)
{
	const struct agreement *a;
	accord_time_t next;
	char tb[32], pv[16];
	int i, j, ntypes, t, v;

	fprintf(fp, "gateway %s/%s listening on %s:%d, zone %s, %d "
	    "partners\n", c->country, c->authority, c->listen_address,
	    c->listen_port, c->calendar.zone, c->npartners);
	for (i = 0; i < c->npartners; i++) {
		a = &c->partners[i];
		next = 0;
		for (j = 0; j < a->nsigning; j++)
			if (a->signing[j].not_after > c->loaded_at &&
			    (next == 0 || a->signing[j].not_after < next))
				next = a->signing[j].not_after;
		for (ntypes = 0, t = 0; t < MSG_TYPE_COUNT; t++)
			ntypes += (a->allowed_types >> t) & 1;
		clock_format_utc(next, tb, sizeof(tb));
		tb[10] = '\0';
		pv[0] = '\0';
		for (v = AGREEMENT_PROTO_MIN; v <= AGREEMENT_PROTO_MAX; v++)
			if (agreement_accepts_version(a, v))
				snprintf(pv + strlen(pv), sizeof(pv) -
				    strlen(pv), "%s%d", pv[0] ? "," : "", v);
		fprintf(fp, "partner %s %-30s %-15s reply %dd/urgent %dwd, "
		    "silence=%s, transfer %dd, %d msg types, protocol %s, %d "
		    "signing certs (next expiry %s)%s%s\n", a->country,
		    a->agreement_id, a->calendar.zone,
		    a->timelines.standard_reply_days,
		    a->timelines.urgent_working_days,
		    a->timelines.silence_means_consent ? "consent" : "expire",
		    a->timelines.transfer_window_days, ntypes, pv, a->nsigning,
		    tb, a->programme.present ? ", programme: " : "",
		    a->programme.present ? a->programme.name : "");
	}
}
