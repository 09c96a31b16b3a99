/*
 * tlspeer.c -- refusals of partners' TLS certificates: one log line that
 * names the partner, the certificate and why, and one counter per
 * (partner, direction, reason) for the metrics.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "faces/tlspeer.h"
#include "util/log.h"
#include "util/metric.h"

#define TTAG	"tls"

/* Partners counted, at most; later ones count under "??". */
#define TLSPEER_MAX	64

struct tlspeer_counter {
	char			 partner[3];
	unsigned long long	 n[TLSPEER_NSIDES][TLSPEER_NREASONS];
};

static pthread_mutex_t tlspeer_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tlspeer_counter tlspeer_tab[TLSPEER_MAX + 1];
static int tlspeer_n;

static const char *const tlspeer_sides[TLSPEER_NSIDES] = {
	[TLSPEER_INBOUND] = "inbound",
	[TLSPEER_OUTBOUND] = "outbound",
};
static const char *const tlspeer_reasons[TLSPEER_NREASONS] = {
	[TLSPEER_REVOKED] = "revoked",
	[TLSPEER_PIN] = "pin",
};

void
tlspeer_subject(X509 *cert, char *buf, size_t len)
{
	BIO *bio;
	char *p;
	long n;

	snprintf(buf, len, "?");
	if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_get_mem_data(bio, &p)) > 0)
		snprintf(buf, len, "%.*s", (int)n, p);
	BIO_free(bio);
}

void
tlspeer_serial(X509 *cert, char *buf, size_t len)
{
	BIGNUM *bn;
	char *hex = NULL;

	snprintf(buf, len, "?");
	if (cert == NULL || (bn = ASN1_INTEGER_to_BN(
	    X509_get0_serialNumber(cert), NULL)) == NULL) {
		ERR_clear_error();
		return;
	}
	if ((hex = BN_bn2hex(bn)) != NULL)
		snprintf(buf, len, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* The counter of partner; called with the lock held. */
static struct tlspeer_counter *
tlspeer_find(const char *partner, int create)
{
	int i;

	for (i = 0; i < tlspeer_n; i++)
		if (strcmp(tlspeer_tab[i].partner, partner) == 0)
			return &tlspeer_tab[i];
	if (!create)
		return NULL;
	if (tlspeer_n == TLSPEER_MAX) {
		/* the spare last slot */
		snprintf(tlspeer_tab[TLSPEER_MAX].partner, 3, "??");
		return &tlspeer_tab[TLSPEER_MAX];
	}
	snprintf(tlspeer_tab[tlspeer_n].partner, 3, "%s", partner);
	return &tlspeer_tab[tlspeer_n++];
}

void
tlspeer_refused(const char *partner, enum tlspeer_side side,
    enum tlspeer_reason why, X509 *cert, const char *where,
    const char *detail)
{
	struct tlspeer_counter *c;
	char subject[512], serial[80];

	tlspeer_subject(cert, subject, sizeof(subject));
	tlspeer_serial(cert, serial, sizeof(serial));
	log_warnx(TTAG, "%s %s: %s certificate of %s refused, %s: subject "
	    "%s, serial %s%s%s%s", side == TLSPEER_INBOUND ? "from" : "to",
	    where != NULL ? where : "?", side == TLSPEER_INBOUND ? "client" :
	    "server", partner, why == TLSPEER_REVOKED ? "revoked by the "
	    "partner's CRL" : "not the pinned server certificate", subject,
	    serial, detail != NULL ? "; " : "", why == TLSPEER_REVOKED &&
	    detail != NULL ? "CRL " : "", detail != NULL ? detail : "");
	pthread_mutex_lock(&tlspeer_mu);
	if ((c = tlspeer_find(partner, 1)) != NULL)
		c->n[side][why]++;
	pthread_mutex_unlock(&tlspeer_mu);
}

unsigned long long
tlspeer_count(const char *partner, enum tlspeer_side side,
    enum tlspeer_reason why)
{
	struct tlspeer_counter *c;
	unsigned long long n = 0;

	pthread_mutex_lock(&tlspeer_mu);
	if ((c = tlspeer_find(partner, 0)) != NULL)
		n = c->n[side][why];
	pthread_mutex_unlock(&tlspeer_mu);
	return n;
}

static struct metric_family tlspeer_m_handshakes = {
	.name = "accord_tls_handshakes_total",
	.help = "TLS handshakes completed with partners, by direction "
	    "(inbound: as the server; outbound: new connections of our "
	    "client); one per connection, however many messages it carries.",
	.type = METRIC_COUNTER,
	.labels = { "direction" },
};

void
tlspeer_handshakes(enum tlspeer_side side, long n)
{
	if (n >= 0)
		metric_add(&tlspeer_m_handshakes, (double)n,
		    (const char *[]){ tlspeer_sides[side] });
}

void
tlspeer_metrics(FILE *fp)
{
	struct tlspeer_counter tab[TLSPEER_MAX + 1];
	int i, n, s, r;

	pthread_mutex_lock(&tlspeer_mu);
	n = tlspeer_n;
	memcpy(tab, tlspeer_tab, sizeof(tab));
	if (tab[TLSPEER_MAX].partner[0] != '\0')
		tab[n++] = tab[TLSPEER_MAX];
	pthread_mutex_unlock(&tlspeer_mu);
	fprintf(fp, "# HELP accord_tls_refused_total Partner TLS "
	    "certificates refused after their chain verified: revoked by "
	    "the partner's CRL, or not the agreement's server-pin.\n"
	    "# TYPE accord_tls_refused_total counter\n");
	for (i = 0; i < n; i++)
		for (s = 0; s < TLSPEER_NSIDES; s++)
			for (r = 0; r < TLSPEER_NREASONS; r++)
				if (tab[i].n[s][r] > 0)
					fprintf(fp, "accord_tls_refused_total"
					    "{partner=\"%s\",direction=\"%s\","
					    "reason=\"%s\"} %llu\n",
					    tab[i].partner, tlspeer_sides[s],
					    tlspeer_reasons[r], tab[i].n[s][r]);
}
