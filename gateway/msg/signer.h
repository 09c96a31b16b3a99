/*
 * signer.h -- the signer process: the only process of the daemon that
 * holds the gateway's signing key (issue 16, "Process model" in README).
 *
 * The engine sends it, over a socketpair, either an unsigned Accord
 * message of ours (an envelope it built and validated) or the message of a
 * journal checkpoint; the signer checks that it is exactly that -- a
 * well-formed, schema-valid Accord envelope From this gateway's identity
 * with no signature yet, or a checkpoint message of the journal's fixed
 * form -- signs it and sends back the signed bytes or the signature.
 * Anything else is refused and logged.  Every signature is logged with
 * the message's type and id (or the checkpoint's sequence number).
 *
 * The signer's log (issue 18, item 5): with log_fd, every signature is
 * also one line appended to that file, which the signer opened before
 * its sandbox (state/signer.log, kept root's: the engine cannot write
 * it), in a stable form accord-audit verify --signer-log compares with
 * the journal:
 *	TIME MESSAGE TYPE MESSAGEID SHA256	a message of ours; SHA256 of
 *						the signed bytes
 *	TIME CHECKPOINT SEQ CHAIN		a journal checkpoint
 * TIME is seconds since the epoch (UTC); hashes are lower-case hex.
 */
#ifndef ACCORD_SIGNER_H
#define ACCORD_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <libxml/tree.h>
#include <openssl/evp.h>

#include "msg/xmlsig.h"

/* Frame types (util/frame.h). */
#define SIGNER_SIGN_MESSAGE	1	/* an unsigned envelope of ours */
#define SIGNER_SIGN_CHECKPOINT	2	/* a journal checkpoint message */
#define SIGNER_TEST		3	/* test builds: test_hook */
#define SIGNER_OK		100	/* the signed bytes, the signature */
#define SIGNER_REFUSED		101	/* a one-line reason */
#define SIGNER_INVALID		102	/* a message that does not parse or
					 * validate: the parser's reason */

/* What the signer signs with and for whom. */
struct signer_identity {
	struct xmlsig_signer	*xml;		/* key and certificate */
	EVP_PKEY		*key;		/* the same key, for checkpoints */
	const char		*country;	/* our From */
	const char		*authority;
	int			 has_log;	/* log_fd is the signer's log */
	int			 log_fd;
	/* test builds: answers SIGNER_TEST itself (NULL: refused) */
	void			(*test_hook)(int fd);
};

/* Serve requests on fd until it closes.  @return 0 at a clean end, -1 on
 * a broken channel (logged). */
int signer_serve(int fd, const struct signer_identity *id);

/* The engine's end of the channel; one request at a time, from any
 * thread (a mutex orders them). */
struct signer_client;

struct signer_client *signer_client_new(int fd);
/* Frees its lanes too. */
void signer_client_free(struct signer_client *sc);

/*
 * Lanes: the signer serves each of its socketpairs on a thread of its
 * own, so requests on different lanes are signed at the same time.  The
 * first channel (signer_client_new) is the event loop's; the others are
 * added to it as its lanes, one per thread of the engine's signing pool
 * (msg/signpool.h), so at most SIGNPOOL_MAX.  sc takes lane over.
 */
void signer_client_add_lane(struct signer_client *sc,
    struct signer_client *lane);
int signer_client_lanes(const struct signer_client *sc);
struct signer_client *signer_client_lane(const struct signer_client *sc,
    int i);

/*
 * Sign an unsigned envelope: *out (free()) gets the signed bytes.  The
 * signer parses and schema-validates what it signs, so the engine need
 * not validate it first: a message that does not validate is -2 with the
 * reason in why (whylen bytes), as envelope_validate() would give it.
 * @return 0, -1 (refused or no answer: logged, with the signer's reason),
 * or -2.
 */
int signer_client_sign_message(struct signer_client *sc, const char *in,
    size_t len, char **out, size_t *outlen, char *why, size_t whylen);

/* The same for doc, serialized here.  @return as above. */
int signer_client_sign_doc(struct signer_client *sc, xmlDocPtr doc,
    char **out, size_t *outlen, char *why, size_t whylen);

/* Sign a checkpoint message: sig holds *siglen bytes on entry (its size)
 * and on return (the signature's).  @return 0, or -1 (logged). */
int signer_client_sign_checkpoint(struct signer_client *sc,
    const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen);

/* Test builds: run the signer's test hook.  @return 0 with its answer
 * in *out (free()), or -1. */
int signer_client_test(struct signer_client *sc, char **out);

/* The checkpoint message's fixed form, as the journal writes it: this
 * context string with its NUL, a 64-bit sequence number and a SHA-256
 * chain hash. */
#define SIGNER_CP_CONTEXT	"accord-journal-checkpoint-1"

/* The signer's log in the state directory. */
#define SIGNER_LOG_FILE		"signer.log"

#endif
