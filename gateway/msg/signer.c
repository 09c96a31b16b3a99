/*
 * signer.c -- the signer process's loop and the engine's client for it
 * (see signer.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <openssl/evp.h>

#include "msg/envelope.h"
#include "msg/signer.h"
#include "msg/signpool.h"
#include "util/clock.h"
#include "util/frame.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STAG		"signer"
#define SIGNER_SIG_MAX	1024		/* RSA-4096 or ECDSA, with room */
#define SIGNER_CP_LEN	(sizeof(SIGNER_CP_CONTEXT) + 8 + 32)

/* ---- the signer process -------------------------------------------------- */

/* One line of the signer's log: one write(2) to an O_APPEND file, so a
 * line is never split.  A failed write is logged, not fatal: the
 * signature is made and the audit finds the gap. */
static void
signer_log_line(const struct signer_identity *id, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
signer_log_line(const struct signer_identity *id, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, m;

	if (!id->has_log)
		return;
	n = snprintf(line, sizeof(line), "%lld ", (long long)clock_now());
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= sizeof(line) - 1)
		return;
	n += m;
	line[n++] = '\n';
	if (write(id->log_fd, line, (size_t)n) != n)
		log_err(STAG, "writing the signer's log");
}

/* 1 if the root of doc has an element child in the XML-DSig namespace. */
static int
signer_has_signature(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), n;

	for (n = root != NULL ? root->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		    xmlStrcmp(n->ns->href,
		    BAD_CAST "http://www.w3.org/2000/09/xmldsig#") == 0)
			return 1;
	return 0;
}

/* Sign an unsigned envelope of ours.  @return 0 with *out, -2 (it does
 * not parse or validate) or -1 (not ours to sign) with why set. */
static int
signer_message(const struct signer_identity *id, const char *in,
    size_t len, char **out, size_t *outlen, char *why, size_t whylen)
{
	struct envelope_error err;
	struct envelope_header h;
	xmlDocPtr doc = NULL;
	int rc = -1;

	*out = NULL;
	/* the same hardened parse and schema as partner input */
	if (envelope_parse(in, len, NULL, &doc, &err) == -1) {
		snprintf(why, whylen, "not a valid Accord message: %.400s",
		    err.text);
		return -2;
	}
	if (envelope_read(doc, &h, NULL) == -1) {
		snprintf(why, whylen, "no readable header");
		goto done;
	}
	if (strcmp(h.from_country, id->country) != 0 ||
	    strcmp(h.from_authority, id->authority) != 0) {
		snprintf(why, whylen, "%s %s is From %s/%s, not from us",
		    agreement_msg_type_name(h.type), h.message_id,
		    h.from_country, h.from_authority);
		goto done;
	}
	if (signer_has_signature(doc)) {
		snprintf(why, whylen, "%s %s is signed already",
		    agreement_msg_type_name(h.type), h.message_id);
		goto done;
	}
	if (xmlsig_sign(id->xml, doc) == -1 ||
	    envelope_serialize(doc, out, outlen) == -1) {
		snprintf(why, whylen, "signing failed");
		goto done;
	}
	log_info(STAG, "signed %s %s case %s to %s",
	    agreement_msg_type_name(h.type), h.message_id, h.case_id,
	    h.to_country);
	if (id->has_log) {
		uint8_t md[32];
		char hex[65];

		if (EVP_Digest(*out, *outlen, md, NULL, EVP_sha256(),
		    NULL) == 1)
			signer_log_line(id, "MESSAGE %s %s %s",
			    agreement_msg_type_name(h.type), h.message_id,
			    hex_encode(md, sizeof(md), hex));
	}
	rc = 0;
done:
	xmlFreeDoc(doc);
	return rc;
}

/* Sign a checkpoint message.  @return 0, or -1 with why set. */
static int
signer_checkpoint(const struct signer_identity *id, const char *in,
    size_t len, uint8_t *sig, size_t *siglen, char *why, size_t whylen)
{
	EVP_MD_CTX *ctx;
	uint64_t seq = 0;
	int rc = -1, i;

	if (len != SIGNER_CP_LEN ||
	    memcmp(in, SIGNER_CP_CONTEXT, sizeof(SIGNER_CP_CONTEXT)) != 0) {
		snprintf(why, whylen, "not a journal checkpoint message");
		return -1;
	}
	for (i = 0; i < 8; i++)		/* big-endian, as the journal */
		seq = seq << 8 | (uint8_t)in[sizeof(SIGNER_CP_CONTEXT) + i];
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, id->key) != 1 ||
	    EVP_DigestSign(ctx, sig, siglen, (const uint8_t *)in, len) != 1) {
		snprintf(why, whylen, "checkpoint signing failed");
		goto done;
	}
	log_info(STAG, "signed journal checkpoint at record %" PRIu64, seq);
	{
		char hex[65];

		signer_log_line(id, "CHECKPOINT %" PRIu64 " %s", seq,
		    hex_encode(in + sizeof(SIGNER_CP_CONTEXT) + 8, 32, hex));
	}
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
signer_serve(int fd, const struct signer_identity *id)
{
	uint8_t sig[SIGNER_SIG_MAX];
	char why[512], *in, *out;
	size_t len, outlen, siglen;
	uint32_t type, no;
	int n, rc;

	for (;;) {
		if ((n = frame_read(fd, &type, &in, &len, FRAME_MAX)) == 0)
			return 0;
		if (n == -1) {
			log_err(STAG, "reading a request");
			return -1;
		}
		why[0] = '\0';
		out = NULL;
		no = SIGNER_REFUSED;
		switch (type) {
		case SIGNER_SIGN_MESSAGE:
			if ((rc = signer_message(id, in, len, &out, &outlen,
			    why, sizeof(why))) == 0)
				rc = frame_write(fd, SIGNER_OK, out, outlen);
			else {
				if (rc == -2)
					no = SIGNER_INVALID;
				rc = -2;
			}
			break;
		case SIGNER_TEST:
			if (id->test_hook == NULL) {
				snprintf(why, sizeof(why), "no test hook");
				rc = -2;
				break;
			}
			id->test_hook(fd);
			rc = 0;
			break;
		case SIGNER_SIGN_CHECKPOINT:
			siglen = sizeof(sig);
			if (signer_checkpoint(id, in, len, sig, &siglen, why,
			    sizeof(why)) == 0)
				rc = frame_write(fd, SIGNER_OK, sig, siglen);
			else
				rc = -2;
			break;
		default:
			snprintf(why, sizeof(why), "unknown request %" PRIu32,
			    type);
			rc = -2;
			break;
		}
		if (rc == -2) {
			log_warnx(STAG, "refused to sign: %s", why);
			rc = frame_write(fd, no, why, strlen(why));
		}
		free(in);
		free(out);
		if (rc == -1) {
			log_err(STAG, "answering");
			return -1;
		}
	}
}

/* ---- the engine's client ------------------------------------------------- */

struct signer_client {
	int			 fd;
	pthread_mutex_t		 lock;
	struct signer_client	*lanes[SIGNPOOL_MAX];
	int			 nlanes;
};

struct signer_client *
signer_client_new(int fd)
{
	struct signer_client *sc = xcalloc(1, sizeof(*sc));

	sc->fd = fd;
	pthread_mutex_init(&sc->lock, NULL);
	return sc;
}

void
signer_client_free(struct signer_client *sc)
{
	int i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->nlanes; i++)
		signer_client_free(sc->lanes[i]);
	close(sc->fd);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

void
signer_client_add_lane(struct signer_client *sc, struct signer_client *lane)
{
	if (sc->nlanes == SIGNPOOL_MAX) {
		signer_client_free(lane);
		return;
	}
	sc->lanes[sc->nlanes++] = lane;
}

int
signer_client_lanes(const struct signer_client *sc)
{
	return sc->nlanes;
}

struct signer_client *
signer_client_lane(const struct signer_client *sc, int i)
{
	return i >= 0 && i < sc->nlanes ? sc->lanes[i] : NULL;
}

/* One request and its answer.  @return 0 with *ans (free()), -1, or -2
 * for SIGNER_INVALID with its reason in why (whylen bytes; why NULL: as
 * any refusal). */
static int
signer_client_ask(struct signer_client *sc, uint32_t type, const void *in,
    size_t len, char **ans, size_t *anslen, char *why, size_t whylen)
{
	const char *prefix = "not a valid Accord message: ";

	uint32_t got;
	int n;

	*ans = NULL;
	pthread_mutex_lock(&sc->lock);
	if (frame_write(sc->fd, type, in, len) == -1) {
		pthread_mutex_unlock(&sc->lock);
		log_err(STAG, "asking the signer");
		return -1;
	}
	n = frame_read(sc->fd, &got, ans, anslen, FRAME_MAX);
	pthread_mutex_unlock(&sc->lock);
	if (n != 1) {
		log_errx(STAG, "the signer did not answer (%s)",
		    n == 0 ? "it is gone" : strerror(errno));
		return -1;
	}
	if (got == SIGNER_INVALID && why != NULL) {
		/* the caller's (a submit's) to answer, not a fault */
		snprintf(why, whylen, "%s", strncmp(*ans, prefix,
		    strlen(prefix)) == 0 ? *ans + strlen(prefix) : *ans);
		free(*ans);
		*ans = NULL;
		return -2;
	}
	if (got != SIGNER_OK) {
		log_errx(STAG, "the signer refused: %s", *ans);
		free(*ans);
		*ans = NULL;
		return -1;
	}
	return 0;
}

int
signer_client_test(struct signer_client *sc, char **out)
{
	size_t len;

	return signer_client_ask(sc, SIGNER_TEST, "", 0, out, &len, NULL, 0);
}

int
signer_client_sign_message(struct signer_client *sc, const char *in,
    size_t len, char **out, size_t *outlen, char *why, size_t whylen)
{
	return signer_client_ask(sc, SIGNER_SIGN_MESSAGE, in, len, out,
	    outlen, why, whylen);
}

int
signer_client_sign_doc(struct signer_client *sc, xmlDocPtr doc, char **out,
    size_t *outlen, char *why, size_t whylen)
{
	char *u = NULL;
	size_t ulen;
	int rc;

	*out = NULL;
	if (envelope_serialize(doc, &u, &ulen) == -1)
		return -1;
	rc = signer_client_sign_message(sc, u, ulen, out, outlen, why, whylen);
	free(u);
	return rc;
}

int
signer_client_sign_checkpoint(struct signer_client *sc, const uint8_t *msg,
    size_t len, uint8_t *sig, size_t *siglen)
{
	char *ans;
	size_t anslen;

	if (signer_client_ask(sc, SIGNER_SIGN_CHECKPOINT, msg, len, &ans,
	    &anslen, NULL, 0) != 0)
		return -1;
	if (anslen > *siglen) {
		log_errx(STAG, "a checkpoint signature of %zu bytes", anslen);
		free(ans);
		return -1;
	}
	memcpy(sig, ans, anslen);
	*siglen = anslen;
	free(ans);
	return 0;
}
