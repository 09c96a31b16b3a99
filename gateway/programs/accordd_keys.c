/*
 * accordd_keys.c -- the TLS keys of a privilege-separated engine on a
 * reload (README, "Process model").  The engine, no longer root, may not
 * read the key files (mode 0600, root's), so the root parent reads them:
 * on the engine's request over their channel (accordd_notify.c) it loads
 * the configuration file again, whole and checked as accordd -n would --
 * each key must match its certificate -- and sends the two keys' PEM
 * bytes; a configuration it refuses comes back as the reason, which the
 * engine gives to accordctl reload.  The signer keeps the signing key it
 * read at start: a reload that changes the signing certificate is
 * refused (a new signing key takes a restart).
 *
 * The answer is the server key's length (4 bytes, big-endian), the
 * server key, then the client key.  At start the parent reads them the
 * same way into the configuration the engine is forked with.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "conf/config.h"
#include "conf/conffile.h"
#include "programs/accordd_keys.h"
#include "programs/accordd_notify.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define KTAG		"accordd"
#define KEYS_FILE_MAX	(64 * 1024)	/* one PEM key */

static const char *keys_conf_file;

/* The first error of d, or a count, into err. */
static void
keys_diag(const struct conf_diag *d, char *err, size_t errlen)
{
	if (d->nerrors > 0)
		snprintf(err, errlen, "%s", d->errors[0]);
	else
		snprintf(err, errlen, "the configuration is refused");
}

/* The parent's answer to the engine: see above. */
static int
keys_load(char **out, size_t *len, char *err, size_t errlen)
{
	struct conf_diag d = { 0 };
	struct config *c;
	char *k1 = NULL, *k2 = NULL;
	size_t l1 = 0, l2 = 0;
	int rc = -1;

	if ((c = config_load(keys_conf_file, clock_now(), &d)) == NULL) {
		keys_diag(&d, err, errlen);
		conf_diag_free(&d);
		return -1;
	}
	conf_diag_free(&d);
	if ((k1 = file_read(c->tls_key, KEYS_FILE_MAX, &l1)) == NULL ||
	    (k2 = file_read(c->tls_client_key, KEYS_FILE_MAX, &l2)) == NULL) {
		snprintf(err, errlen, "cannot read %s", k1 == NULL ?
		    c->tls_key : c->tls_client_key);
		goto done;
	}
	*len = 4 + l1 + l2;
	*out = xmalloc(*len);
	(*out)[0] = (char)(l1 >> 24);
	(*out)[1] = (char)(l1 >> 16);
	(*out)[2] = (char)(l1 >> 8);
	(*out)[3] = (char)l1;
	memcpy(*out + 4, k1, l1);
	memcpy(*out + 4 + l1, k2, l2);
	log_info(KTAG, "reload: the engine's TLS keys %s and %s, read",
	    c->tls_key, c->tls_client_key);
	rc = 0;
done:
	if (k1 != NULL)
		explicit_bzero(k1, l1);
	if (k2 != NULL)
		explicit_bzero(k2, l2);
	free(k1);
	free(k2);
	config_free(c);
	return rc;
}

int
accordd_keys_give(struct config *c)
{
	if ((c->tls_key_pem = file_read(c->tls_key, KEYS_FILE_MAX,
	    &c->tls_key_pem_len)) == NULL ||
	    (c->tls_client_key_pem = file_read(c->tls_client_key,
	    KEYS_FILE_MAX, &c->tls_client_key_pem_len)) == NULL) {
		log_err(KTAG, "%s", c->tls_key_pem == NULL ? c->tls_key :
		    c->tls_client_key);
		accordd_keys_forget(c);
		return -1;
	}
	return 0;
}

void
accordd_keys_forget(struct config *c)
{
	if (c->tls_key_pem != NULL)
		explicit_bzero(c->tls_key_pem, c->tls_key_pem_len);
	if (c->tls_client_key_pem != NULL)
		explicit_bzero(c->tls_client_key_pem,
		    c->tls_client_key_pem_len);
	free(c->tls_key_pem);
	free(c->tls_client_key_pem);
	c->tls_key_pem = c->tls_client_key_pem = NULL;
	c->tls_key_pem_len = c->tls_client_key_pem_len = 0;
}

void
accordd_keys_serve(const char *conf_file)
{
	keys_conf_file = conf_file;
	accordd_notify_keys_from(keys_load);
}

/* A copy of n bytes at p, NUL-terminated for PEM readers. */
static char *
keys_copy(const char *p, size_t n)
{
	char *s = xmalloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
accordd_keys_fetch(const struct config *old, struct config *nc,
    struct store *st, FILE *why)
{
	char err[256], *buf;
	size_t len, l1;

	if (old->sign_x509 != NULL && nc->sign_x509 != NULL &&
	    X509_cmp(old->sign_x509, nc->sign_x509) != 0) {
		snprintf(err, sizeof(err), "the signing certificate changed: "
		    "the signer holds the key it started with; a new "
		    "signing key takes a restart");
		goto refused;
	}
	if (accordd_notify_keys(old, st, &buf, &len, err,
	    sizeof(err)) == -1)
		goto refused;
	l1 = len < 4 ? 0 : (size_t)((unsigned char)buf[0] << 24 |
	    (unsigned char)buf[1] << 16 | (unsigned char)buf[2] << 8 |
	    (unsigned char)buf[3]);
	if (len < 4 || l1 > len - 4) {
		explicit_bzero(buf, len);
		free(buf);
		snprintf(err, sizeof(err), "the parent sent no keys");
		goto refused;
	}
	nc->tls_key_pem = keys_copy(buf + 4, l1);
	nc->tls_key_pem_len = l1;
	nc->tls_client_key_pem = keys_copy(buf + 4 + l1, len - 4 - l1);
	nc->tls_client_key_pem_len = len - 4 - l1;
	explicit_bzero(buf, len);
	free(buf);
	log_info(KTAG, "reload: the TLS keys, as the parent read them");
	return 0;
refused:
	log_errx(KTAG, "reload refused: %s", err);
	if (why != NULL)
		fprintf(why, "%s\n", err);
	return -1;
}
