/*
 * tlspeer.h -- what inbound and outbound share about a partner's TLS
 * certificate beyond its chain: revocation by the partner's CRL, the
 * outbound server pin, and the log line and counter of each refusal.
 *
 * Not a face: both faces use it, the daemon prints its counters with the
 * metrics.  Counting is thread-safe (the loop counts, the reports worker
 * prints).
 */
#ifndef ACCORD_TLSPEER_H
#define ACCORD_TLSPEER_H

#include <stdio.h>

#include <openssl/x509.h>

enum tlspeer_side {
	TLSPEER_INBOUND = 0,	/* a partner's client certificate */
	TLSPEER_OUTBOUND,	/* a partner's server certificate */
	TLSPEER_NSIDES
};

enum tlspeer_reason {
	TLSPEER_REVOKED = 0,	/* listed in the partner's CRL */
	TLSPEER_PIN,		/* not the agreement's server-pin */
	TLSPEER_NREASONS
};

/*
 * Log (warning) and count one refused certificate of partner: its
 * subject, its serial and why.  where is the peer address or the
 * endpoint, for the log; detail adds to the line (may be NULL): the
 * CRL's path when revoked, the fingerprints when not the pin.
 */
void tlspeer_refused(const char *partner, enum tlspeer_side side,
    enum tlspeer_reason why, X509 *cert, const char *where,
    const char *detail);

/* Refusals counted so far of partner, side and reason (for tests). */
unsigned long long tlspeer_count(const char *partner, enum tlspeer_side side,
    enum tlspeer_reason why);

/*
 * n TLS handshakes completed on side (n may be 0: the series shows from
 * the start): accord_tls_handshakes_total{direction}, with the metrics.
 * Connections reused for several messages make fewer (issue 20).
 */
void tlspeer_handshakes(enum tlspeer_side side, long n);

/* accord_tls_refused_total{partner,direction,reason}, Prometheus text. */
void tlspeer_metrics(FILE *fp);

/* The certificate's RFC 2253 subject into buf ("?" if it cannot be
 * printed), and its serial as upper-case hex. */
void tlspeer_subject(X509 *cert, char *buf, size_t len);
void tlspeer_serial(X509 *cert, char *buf, size_t len);

#endif
