/*
 * xmlsig.h -- XML signatures of Accord messages (DESIGN.md section 5).
 *
 * Signing: an enveloped signature over the whole root (Reference URI=""),
 * transforms enveloped-signature then exclusive C14N, SHA-256 digest,
 * RSA-SHA256 (RSA keys) or ECDSA-SHA256 (P-256 keys), KeyInfo carrying the
 * signer's certificate; the ds:Signature becomes the root's last child, so
 * the signed document still validates against its version's schemas
 * (protocols/envelope.xsd, envelope-2.xsd).
 *
 * Verification is strict and pinned: exactly one ds:Signature, the root's
 * last child; exactly one Reference, URI=""; transforms, canonicalization
 * and algorithms on an allowlist; the certificate in KeyInfo must be
 * byte-identical to one of the partner's configured signing certificates,
 * and the signature is checked with that configured certificate's public
 * key (cached), never with a key or chain taken from the message.
 *
 * One DOM: xmlsig_verify() works on the document envelope_parse()
 * returned, and the caller then reads *that same document*
 * (envelope_read()).  The bytes are never parsed again: a second parse is
 * how signature-wrapping bypasses are born (PITFALLS.md 19).  Because the
 * reference covers the whole root, everything envelope_read() sees outside
 * ds:Signature is signed (comments excepted: exclusive C14N drops them,
 * which is why envelope_text() reads whole text values).
 */
#ifndef ACCORD_XMLSIG_H
#define ACCORD_XMLSIG_H

#include <libxml/tree.h>

#include "conf/agreement.h"
#include "util/clock.h"
#include "util/errcode.h"

/* A loaded signing key with its certificate; see xmlsig_signer_load(). */
struct xmlsig_signer;

/* Outcome of xmlsig_verify(). */
struct xmlsig_result {
	enum accord_err			 code;		/* AE_OK on success */
	char				 text[256];	/* why, for the log */
	const struct signing_cert	*signer;	/* the partner's
							 * certificate that
							 * signed; NULL on
							 * failure */
	accord_time_t			 signed_at;	/* header Created */
};

/*
 * Initialise xmlsec with the OpenSSL backend and route its errors into the
 * log.  Call once at start-up, after envelope_init(), before any thread.
 * @return 0, or -1 (logged).
 */
int xmlsig_init(void);

/* Free the pinned-key cache and shut xmlsec down. */
void xmlsig_shutdown(void);

/*
 * Load a private key (PEM, PKCS#8 or traditional; the file must not be
 * readable by group or others) and its certificate (PEM) once.  The key
 * must be RSA of at least 2048 bits or EC P-256, and must match the
 * certificate.
 * @return the signer (free with xmlsig_signer_free()), or NULL (logged).
 */
struct xmlsig_signer *xmlsig_signer_load(const char *key_file,
    const char *cert_file);

/* Free a signer; NULL is allowed. */
void xmlsig_signer_free(struct xmlsig_signer *s);

/* Hex SHA-256 of the signer's certificate (DER), 64 characters. */
const char *xmlsig_signer_sha256(const struct xmlsig_signer *s);

/*
 * Sign doc in place: append an enveloped ds:Signature as the last child of
 * the root.  The loaded key is lent to the signing context for the call
 * (no copy per message).  doc must not already carry a ds:Signature.
 * Several threads may share one signer: signing only reads it.
 * @return 0, or -1 (logged; doc may carry a half-made signature, free it).
 */
int xmlsig_sign(struct xmlsig_signer *s, xmlDocPtr doc);

/*
 * Load the public keys of every configured signing certificate of a into
 * the pinned-key cache (keyed by certificate fingerprint).  Optional:
 * xmlsig_verify() fills the cache on first use; calling this when the
 * configuration is loaded moves that cost out of the first message.
 * @return 0, or -1 (logged) if a key could not be loaded.
 */
int xmlsig_partner_keys_load(const struct agreement *a);

/*
 * Verify the signature of doc, a document returned by envelope_parse()
 * (hardened and schema-valid), as a message from partner, at time now.
 * Refusals, in res->code:
 *	AE_FORBIDDEN_XML	the document has a DTD, entity or PI
 *	AE_SIGNATURE_INVALID	no ds:Signature, several, not the root's last
 *				child, comments inside it, a Reference other
 *				than one URI="", a transform, canonicalization
 *				or algorithm off the allowlist, or a value
 *				that does not verify with the pinned key
 *	AE_UNKNOWN_SIGNER	no certificate in KeyInfo, or one that is not
 *				the partner's; outside its validity or use
 *				window at the signing time (Created), not yet
 *				valid now, or revoked by the partner's CRL
 *	AE_SCHEMA_INVALID	the header cannot be read
 *	AE_INTERNAL		out of memory, xmlsig_init() not called
 * The end of a certificate's validity is checked at the signing time
 * only: a timely message retried later still takes effect (DESIGN.md 4);
 * the Created window itself is the belonging floor's check.
 * @return 0 with res->signer and res->signed_at set, or -1 (res filled in,
 * one line logged at info level).  doc is not modified.
 */
int xmlsig_verify(xmlDocPtr doc, const struct agreement *partner,
    accord_time_t now, struct xmlsig_result *res);

#endif
