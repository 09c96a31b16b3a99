/*
 * xmlsig.c -- signing and strict, pinned verification of Accord messages
 * with xmlsec (OpenSSL backend).
 *
 * xmlSecDSigCtxVerify() returning 0 is not a verdict (PITFALLS.md 17): it
 * accepts whatever the signature names.  So verification is three layers:
 *	1. our own reading of the document and the ds:Signature element:
 *	   where it sits, what it references, which algorithms, no comments;
 *	2. the signer: the KeyInfo certificate must be one of the partner's
 *	   configured certificates, in force, not revoked;
 *	3. xmlsec, with its allowlists switched on and the partner's pinned
 *	   key lent to the context, then its status and the stored reference
 *	   checked again.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/templates.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/membuf.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>

#include "conf/agreement.h"
#include "util/clock.h"
#include "msg/envelope.h"
#include "util/errcode.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/stage.h"
#include "msg/xmlsig.h"
#include "msg/pdmask.h"

#define TAG	"xmlsig"

#define DSIG_NS		"http://www.w3.org/2000/09/xmldsig#"
#define ALG_EXC_C14N	"http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_ENVELOPED	"http://www.w3.org/2000/09/xmldsig#enveloped-signature"

/* Certificates in KeyInfo we look at; the schema allows 4. */
#define XMLSIG_MAX_CERTS	4
/* Largest certificate (DER) we decode from KeyInfo. */
#define XMLSIG_MAX_DER		16384

struct xmlsig_signer {
	xmlSecKeyPtr		 key;		/* private key + certificate */
	xmlSecTransformId	 sign_method;
	char			 sha256[65];
};

/* A partner certificate's public key, loaded once. */
struct xmlsig_pin {
	char			 sha256[65];
	xmlSecKeyPtr		 key;		/* public key only */
	unsigned char		*der;		/* the certificate, to compare */
	int			 derlen;
	struct xmlsig_pin	*next;
};

static int			 xmlsig_ready;
static struct xmlsig_pin	*xmlsig_pins;
/* Verification may run in several threads; the cache only grows. */
static pthread_mutex_t		 xmlsig_pins_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * While we verify untrusted input, xmlsec's and libxml2's complaints are
 * about the message, not about us: keep the first in the result and log
 * them at debug level.  Otherwise they are our errors.
 */
static _Thread_local char	*xmlsig_capture;
static _Thread_local size_t	 xmlsig_capture_len;

static void	xmlsig_fail(struct xmlsig_result *, enum accord_err,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

static void
xmlsig_note(const char *what, const char *msg)
{
	if (xmlsig_capture != NULL) {
		if (xmlsig_capture[0] == '\0')
			snprintf(xmlsig_capture, xmlsig_capture_len, "%s: %s",
			    what, msg);
		log_debug(TAG, "%s: %s", what, msg);
	} else
		log_errx(TAG, "%s: %s", what, msg);
}

static void
xmlsig_xmlsec_error(const char *file, int line, const char *func,
    const char *obj, const char *subj, int reason, const char *msg)
{
	char buf[512];
	const char *r = NULL;
	int i;

	(void)file;
	(void)line;
	for (i = 0; i < XMLSEC_ERRORS_MAX_NUMBER; i++) {
		if (xmlSecErrorsGetMsg(i) == NULL)
			break;
		if (xmlSecErrorsGetCode(i) == reason) {
			r = xmlSecErrorsGetMsg(i);
			break;
		}
	}
	snprintf(buf, sizeof(buf), "%s%s%s%s%s (%s)%s%s",
	    func != NULL ? func : "?", obj != NULL ? ": " : "",
	    obj != NULL ? obj : "", subj != NULL ? ": " : "",
	    subj != NULL ? subj : "", r != NULL ? r : "error",
	    msg != NULL ? ": " : "", msg != NULL ? msg : "");
	xmlsig_note("xmlsec", buf);
}

static void
xmlsig_xml_error(void *ctx, xmlErrorPtr e)
{
	char buf[512];

	(void)ctx;
	if (e == NULL || e->level == XML_ERR_WARNING)
		return;
	/* the message's values stay out of logs and replies (issue 19) */
	pdmask_xml_error(buf, sizeof(buf), e);
	xmlsig_note("libxml2", buf);
}

/*
 * libxml2's structured handler is per thread and envelope.c owns the
 * default; install ours for the duration of one call and give it back.
 */
struct xmlsig_errsave {
	xmlStructuredErrorFunc	 fn;
	void			*ctx;
};

static void
xmlsig_errors_begin(struct xmlsig_errsave *sv, char *capture, size_t len)
{
	sv->fn = xmlStructuredError;
	sv->ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(NULL, xmlsig_xml_error);
	xmlsig_capture = capture;
	xmlsig_capture_len = len;
	if (capture != NULL && len > 0)
		capture[0] = '\0';
}

static void
xmlsig_errors_end(struct xmlsig_errsave *sv)
{
	xmlSetStructuredErrorFunc(sv->ctx, sv->fn);
	xmlsig_capture = NULL;
	xmlsig_capture_len = 0;
}

int
xmlsig_init(void)
{
	if (xmlsig_ready)
		return 0;
	xmlInitParser();
	xmlSecErrorsSetCallback(xmlsig_xmlsec_error);
	if (xmlSecInit() < 0) {
		log_errx(TAG, "xmlsec initialisation failed");
		return -1;
	}
	if (xmlSecCheckVersion() != 1) {
		log_errx(TAG, "xmlsec library version mismatch");
		xmlSecShutdown();
		return -1;
	}
	/* NULL: OpenSSL's default configuration; no engine, no key store. */
	if (xmlSecCryptoAppInit(NULL) < 0) {
		log_errx(TAG, "xmlsec crypto application init failed");
		xmlSecShutdown();
		return -1;
	}
	if (xmlSecCryptoInit() < 0) {
		log_errx(TAG, "xmlsec-openssl initialisation failed");
		xmlSecCryptoAppShutdown();
		xmlSecShutdown();
		return -1;
	}
	/* again: the crypto initialisation installs xmlsec's default
	 * callback, which prints to stderr */
	xmlSecErrorsSetCallback(xmlsig_xmlsec_error);
	xmlsig_ready = 1;
	return 0;
}

void
xmlsig_shutdown(void)
{
	struct xmlsig_pin *p, *next;

	pthread_mutex_lock(&xmlsig_pins_lock);
	for (p = xmlsig_pins; p != NULL; p = next) {
		next = p->next;
		xmlSecKeyDestroy(p->key);
		OPENSSL_free(p->der);
		free(p);
	}
	xmlsig_pins = NULL;
	pthread_mutex_unlock(&xmlsig_pins_lock);
	if (!xmlsig_ready)
		return;
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
	xmlsig_ready = 0;
}

static void
xmlsig_sha256_hex(const unsigned char *der, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(der, len, md);
	hex_encode(md, sizeof(md), out);
}

/* ---- signing ------------------------------------------------------- */

struct xmlsig_signer *
xmlsig_signer_load(const char *key_file, const char *cert_file)
{
	struct xmlsig_signer *s = NULL;
	struct stat st;
	xmlSecKeyDataPtr x509;
	EVP_PKEY *pk;
	X509 *x;
	unsigned char *der = NULL;
	char name[64];
	int derlen, ok = 0;

	if (!xmlsig_ready) {
		log_errx(TAG, "xmlsig_signer_load before xmlsig_init");
		return NULL;
	}
	/* DESIGN.md 5: a private key readable by others is refused. */
	if (stat(key_file, &st) == -1) {
		log_err(TAG, "%s", key_file);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		log_errx(TAG, "%s: private key must be a regular file with "
		    "mode 0600 or stricter", key_file);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_err(TAG, "calloc");
		return NULL;
	}
	s->key = xmlSecCryptoAppKeyLoad(key_file, xmlSecKeyDataFormatPem,
	    NULL, NULL, NULL);
	if (s->key == NULL) {
		log_errx(TAG, "%s: cannot load the private key", key_file);
		goto done;
	}
	if (xmlSecCryptoAppKeyCertLoad(s->key, cert_file,
	    xmlSecKeyDataFormatPem) < 0) {
		log_errx(TAG, "%s: cannot load the certificate", cert_file);
		goto done;
	}
	pk = xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(s->key));
	/* The certificate file's one certificate: the one KeyInfo carries. */
	x509 = xmlSecKeyGetData(s->key, xmlSecOpenSSLKeyDataX509Id);
	x = NULL;
	if (x509 != NULL && xmlSecOpenSSLKeyDataX509GetCertsSize(x509) == 1)
		x = xmlSecOpenSSLKeyDataX509GetCert(x509, 0);
	if (pk == NULL || x == NULL) {
		log_errx(TAG, "%s: no usable key or certificate", key_file);
		goto done;
	}
	if (X509_check_private_key(x, pk) != 1) {
		log_openssl(TAG, "key check");
		log_errx(TAG, "%s does not match certificate %s", key_file,
		    cert_file);
		goto done;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pk) < 2048) {
			log_errx(TAG, "%s: RSA key of %d bits, 2048 at least",
			    key_file, EVP_PKEY_get_bits(pk));
			goto done;
		}
		s->sign_method = xmlSecTransformRsaSha256Id;
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, name, sizeof(name),
		    NULL) != 1 || strcmp(name, "prime256v1") != 0) {
			log_errx(TAG, "%s: EC key not on P-256", key_file);
			goto done;
		}
		s->sign_method = xmlSecTransformEcdsaSha256Id;
		break;
	default:
		log_errx(TAG, "%s: neither an RSA nor an EC key", key_file);
		goto done;
	}
	if ((derlen = i2d_X509(x, &der)) <= 0) {
		log_openssl(TAG, "i2d_X509");
		goto done;
	}
	xmlsig_sha256_hex(der, (size_t)derlen, s->sha256);
	ok = 1;

 done:
	OPENSSL_free(der);
	if (!ok) {
		xmlsig_signer_free(s);
		s = NULL;
	}
	return s;
}

void
xmlsig_signer_free(struct xmlsig_signer *s)
{
	if (s == NULL)
		return;
	if (s->key != NULL)
		xmlSecKeyDestroy(s->key);
	free(s);
}

const char *
xmlsig_signer_sha256(const struct xmlsig_signer *s)
{
	return s->sha256;
}

static int
xmlsig_is(xmlNodePtr n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrEqual(n->ns->href, (const xmlChar *)ns) &&
	    xmlStrEqual(n->name, (const xmlChar *)name);
}

/* Next element sibling starting at n (n itself if it is one). */
static xmlNodePtr
xmlsig_elem(xmlNodePtr n)
{
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

/*
 * Number of ds:Signature elements anywhere below (and including) n, or -1
 * if an entity reference or a processing instruction is met on the way.
 */
static int
xmlsig_count_signatures(xmlNodePtr n)
{
	int count = 0, sub;

	for (; n != NULL; n = n->next) {
		if (n->type == XML_ENTITY_REF_NODE || n->type == XML_PI_NODE ||
		    n->type == XML_ENTITY_NODE || n->type == XML_DTD_NODE)
			return -1;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlsig_is(n, DSIG_NS, "Signature"))
			count++;
		if ((sub = xmlsig_count_signatures(n->children)) == -1)
			return -1;
		count += sub;
	}
	return count;
}

int
xmlsig_sign(struct xmlsig_signer *s, xmlDocPtr doc)
{
	struct xmlsig_errsave sv;
	xmlSecDSigCtx ctx;
	xmlNodePtr root, sig, ref, ki, x509;
	int ctx_ready = 0, ret = -1;

	stage_begin(STAGE_SIGN);
	xmlsig_errors_begin(&sv, NULL, 0);
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		log_errx(TAG, "sign: document has no root");
		goto done;
	}
	if (xmlsig_count_signatures(root) != 0) {
		log_errx(TAG, "sign: document is already signed or holds "
		    "entity references");
		goto done;
	}
	sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
	    s->sign_method, NULL, (const xmlChar *)"ds");
	if (sig == NULL)
		goto fail;
	/* The schema allows ds:Signature only as the root's last child. */
	if (xmlAddChild(root, sig) == NULL) {
		xmlFreeNode(sig);
		goto fail;
	}
	ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id,
	    NULL, (const xmlChar *)"", NULL);
	if (ref == NULL ||
	    xmlSecTmplReferenceAddTransform(ref,
	    xmlSecTransformEnvelopedId) == NULL ||
	    xmlSecTmplReferenceAddTransform(ref,
	    xmlSecTransformExclC14NId) == NULL)
		goto fail;
	if ((ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) == NULL ||
	    (x509 = xmlSecTmplKeyInfoAddX509Data(ki)) == NULL ||
	    xmlSecTmplX509DataAddCertificate(x509) == NULL)
		goto fail;

	if (xmlSecDSigCtxInitialize(&ctx, NULL) < 0)
		goto fail;
	ctx_ready = 1;
	/* Lend the key: a copy with its certificate costs ~100 us (P. 14). */
	ctx.signKey = s->key;
	if (xmlSecDSigCtxSign(&ctx, sig) < 0)
		goto fail;
	ret = 0;
	goto done;

 fail:
	log_errx(TAG, "signing failed");
 done:
	if (ctx_ready) {
		ctx.signKey = NULL;	/* ours: Finalize must not free it */
		xmlSecDSigCtxFinalize(&ctx);
	}
	xmlsig_errors_end(&sv);
	stage_end(STAGE_SIGN);
	return ret;
}

/* ---- the pinned keys of partners ------------------------------------ */

static struct xmlsig_pin *
xmlsig_pin_find(const char *sha256)
{
	struct xmlsig_pin *p;

	for (p = xmlsig_pins; p != NULL; p = p->next)
		if (strcmp(p->sha256, sha256) == 0)
			return p;
	return NULL;
}

/* Called with the lock held. */
static struct xmlsig_pin *
xmlsig_pin_add(const struct signing_cert *sc)
{
	struct xmlsig_pin *p;
	xmlSecKeyDataPtr data = NULL;
	EVP_PKEY *pk;

	if ((p = xmlsig_pin_find(sc->sha256)) != NULL)
		return p;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_err(TAG, "calloc");
		return NULL;
	}
	snprintf(p->sha256, sizeof(p->sha256), "%s", sc->sha256);
	if ((p->derlen = i2d_X509(sc->cert, &p->der)) <= 0) {
		log_openssl(TAG, "i2d_X509");
		goto fail;
	}
	if ((pk = X509_get_pubkey(sc->cert)) == NULL) {
		log_openssl(TAG, sc->path);
		goto fail;
	}
	/* Only the public key: nothing in the message can add a chain. */
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pk)) == NULL) {
		EVP_PKEY_free(pk);
		goto fail;
	}
	if ((p->key = xmlSecKeyCreate()) == NULL ||
	    xmlSecKeySetValue(p->key, data) < 0)
		goto fail;
	data = NULL;
	p->next = xmlsig_pins;
	xmlsig_pins = p;
	return p;

 fail:
	log_errx(TAG, "%s: cannot load the public key", sc->path);
	if (data != NULL)
		xmlSecKeyDataDestroy(data);
	if (p->key != NULL)
		xmlSecKeyDestroy(p->key);
	OPENSSL_free(p->der);
	free(p);
	return NULL;
}

static struct xmlsig_pin *
xmlsig_pin_get(const struct signing_cert *sc)
{
	struct xmlsig_pin *p;

	pthread_mutex_lock(&xmlsig_pins_lock);
	p = xmlsig_pin_add(sc);
	pthread_mutex_unlock(&xmlsig_pins_lock);
	return p;
}

int
xmlsig_partner_keys_load(const struct agreement *a)
{
	int i, ret = 0;

	for (i = 0; i < a->nsigning; i++) {
		if (a->signing[i].cert == NULL)
			continue;
		if (xmlsig_pin_get(&a->signing[i]) == NULL)
			ret = -1;
	}
	return ret;
}

/* ---- verification ---------------------------------------------------- */

static void
xmlsig_fail(struct xmlsig_result *res, enum accord_err code,
    const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	res->signer = NULL;
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

/*
 * The document as a whole: no DTD, no entity, no PI (envelope_parse has
 * refused them already; a document built another way must not slip by),
 * and exactly one ds:Signature, the root's last element child.
 */
static int
xmlsig_check_doc(xmlDocPtr doc, xmlNodePtr *sigp, struct xmlsig_result *res)
{
	xmlNodePtr root, n, last = NULL;
	int count;

	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		xmlsig_fail(res, AE_FORBIDDEN_XML,
		    "document type declaration not allowed");
		return -1;
	}
	for (n = doc->children; n != NULL; n = n->next)
		if (n->type != XML_ELEMENT_NODE &&
		    n->type != XML_COMMENT_NODE &&
		    n->type != XML_TEXT_NODE) {
			xmlsig_fail(res, AE_FORBIDDEN_XML,
			    "node of type %d outside the root", (int)n->type);
			return -1;
		}
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID, "no root element");
		return -1;
	}
	count = xmlsig_count_signatures(root);
	if (count == -1) {
		xmlsig_fail(res, AE_FORBIDDEN_XML,
		    "entity reference or processing instruction");
		return -1;
	}
	if (count != 1) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "%d ds:Signature elements, exactly one required", count);
		return -1;
	}
	for (n = root->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			last = n;
	if (!xmlsig_is(last, DSIG_NS, "Signature")) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "ds:Signature is not the last child of the root");
		return -1;
	}
	*sigp = last;
	return 0;
}

/* Nothing but elements, text and CDATA inside ds:Signature. */
static int
xmlsig_check_nodes(xmlNodePtr n, struct xmlsig_result *res)
{
	for (; n != NULL; n = n->next) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (xmlsig_check_nodes(n->children, res) == -1)
				return -1;
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			break;
		case XML_COMMENT_NODE:
			/*
			 * Exclusive C14N drops comments, so a comment in
			 * DigestValue or SignatureValue is never signed; an
			 * honest signer has no reason to write one.
			 */
			xmlsig_fail(res, AE_SIGNATURE_INVALID,
			    "comment inside ds:Signature (line %ld)",
			    xmlGetLineNo(n));
			return -1;
		default:
			xmlsig_fail(res, AE_SIGNATURE_INVALID,
			    "node of type %d inside ds:Signature",
			    (int)n->type);
			return -1;
		}
	}
	return 0;
}

static int
xmlsig_alg_is(xmlNodePtr n, const char *uri)
{
	xmlChar *a;
	int eq;

	if ((a = xmlGetNoNsProp(n, (const xmlChar *)"Algorithm")) == NULL)
		return 0;
	eq = xmlStrEqual(a, (const xmlChar *)uri);
	xmlFree(a);
	return eq;
}

static const char *xmlsig_sign_algs[] = {
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
	NULL
};

static const char *xmlsig_digest_algs[] = {
	"http://www.w3.org/2001/04/xmlenc#sha256",
	"http://www.w3.org/2001/04/xmldsig-more#sha384",
	"http://www.w3.org/2001/04/xmlenc#sha512",
	NULL
};

static int
xmlsig_alg_in(xmlNodePtr n, const char **list)
{
	int i;

	for (i = 0; list[i] != NULL; i++)
		if (xmlsig_alg_is(n, list[i]))
			return 1;
	return 0;
}

static void
xmlsig_alg_fail(struct xmlsig_result *res, xmlNodePtr n, const char *what)
{
	xmlChar *a = NULL;

	if (n != NULL)
		a = xmlGetNoNsProp(n, (const xmlChar *)"Algorithm");
	xmlsig_fail(res, AE_SIGNATURE_INVALID, "%s %s not allowed", what,
	    a != NULL ? (const char *)a : "(none)");
	xmlFree(a);
}

/* An algorithm element carries no parameters (no XPath, no stylesheet). */
static int
xmlsig_bare(xmlNodePtr n)
{
	return xmlsig_elem(n->children) == NULL;
}

/*
 * The shape of the signature, read by us before xmlsec sees it: one
 * Reference with URI="", transforms enveloped-signature then (optionally)
 * exclusive C14N, algorithms on the allowlists.  The schema says much of
 * this already; we do not rely on the caller having validated.
 */
static int
xmlsig_check_signature(xmlNodePtr sig, xmlNodePtr *keyinfo,
    struct xmlsig_result *res)
{
	xmlNodePtr si, sv, ki, c14n, sm, ref, tr, t, dm, dv, n;
	xmlChar *uri;
	int ntr;

	if (xmlsig_check_nodes(sig->children, res) == -1)
		return -1;
	si = xmlsig_elem(sig->children);
	sv = si != NULL ? xmlsig_elem(si->next) : NULL;
	ki = sv != NULL ? xmlsig_elem(sv->next) : NULL;
	if (!xmlsig_is(si, DSIG_NS, "SignedInfo") ||
	    !xmlsig_is(sv, DSIG_NS, "SignatureValue") ||
	    (ki != NULL && !xmlsig_is(ki, DSIG_NS, "KeyInfo")) ||
	    (ki != NULL && xmlsig_elem(ki->next) != NULL)) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID, "ds:Signature must be "
		    "SignedInfo, SignatureValue, KeyInfo and nothing else");
		return -1;
	}
	c14n = xmlsig_elem(si->children);
	sm = c14n != NULL ? xmlsig_elem(c14n->next) : NULL;
	ref = sm != NULL ? xmlsig_elem(sm->next) : NULL;
	if (!xmlsig_is(c14n, DSIG_NS, "CanonicalizationMethod") ||
	    !xmlsig_is(sm, DSIG_NS, "SignatureMethod") ||
	    !xmlsig_is(ref, DSIG_NS, "Reference")) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID, "ds:SignedInfo must "
		    "be CanonicalizationMethod, SignatureMethod, Reference");
		return -1;
	}
	if (xmlsig_elem(ref->next) != NULL) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "exactly one ds:Reference allowed");
		return -1;
	}
	if (!xmlsig_alg_is(c14n, ALG_EXC_C14N) || !xmlsig_bare(c14n)) {
		xmlsig_alg_fail(res, c14n, "canonicalization");
		return -1;
	}
	if (!xmlsig_alg_in(sm, xmlsig_sign_algs) || !xmlsig_bare(sm)) {
		xmlsig_alg_fail(res, sm, "signature method");
		return -1;
	}
	/* URI="" is the whole document minus the signature: the root. */
	uri = xmlGetNoNsProp(ref, (const xmlChar *)"URI");
	if (uri == NULL || uri[0] != '\0') {
		xmlsig_fail(res, AE_SIGNATURE_INVALID, "reference URI \"%s\" "
		    "does not cover the root (URI=\"\" required)",
		    uri != NULL ? (const char *)uri : "(none)");
		xmlFree(uri);
		return -1;
	}
	xmlFree(uri);
	tr = xmlsig_elem(ref->children);
	dm = dv = NULL;
	if (xmlsig_is(tr, DSIG_NS, "Transforms")) {
		dm = xmlsig_elem(tr->next);
	} else {
		dm = tr;
		tr = NULL;
	}
	dv = dm != NULL ? xmlsig_elem(dm->next) : NULL;
	if (tr == NULL || !xmlsig_is(dm, DSIG_NS, "DigestMethod") ||
	    !xmlsig_is(dv, DSIG_NS, "DigestValue") ||
	    xmlsig_elem(dv->next) != NULL) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID, "ds:Reference must be "
		    "Transforms, DigestMethod, DigestValue");
		return -1;
	}
	ntr = 0;
	for (t = xmlsig_elem(tr->children); t != NULL;
	    t = xmlsig_elem(t->next)) {
		ntr++;
		if (!xmlsig_is(t, DSIG_NS, "Transform") || !xmlsig_bare(t) ||
		    (ntr == 1 && !xmlsig_alg_is(t, ALG_ENVELOPED)) ||
		    (ntr == 2 && !xmlsig_alg_is(t, ALG_EXC_C14N)) ||
		    ntr > 2) {
			xmlsig_alg_fail(res, t, "transform");
			return -1;
		}
	}
	if (ntr == 0) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "the enveloped-signature transform is required");
		return -1;
	}
	if (!xmlsig_alg_in(dm, xmlsig_digest_algs) || !xmlsig_bare(dm)) {
		xmlsig_alg_fail(res, dm, "digest");
		return -1;
	}
	for (n = ki != NULL ? xmlsig_elem(ki->children) : NULL; n != NULL;
	    n = xmlsig_elem(n->next))
		if (!xmlsig_is(n, DSIG_NS, "X509Data") &&
		    !xmlsig_is(n, DSIG_NS, "KeyName")) {
			xmlsig_fail(res, AE_SIGNATURE_INVALID,
			    "unexpected element in ds:KeyInfo");
			return -1;
		}
	*keyinfo = ki;
	return 0;
}

/* Base64 text of n, whitespace removed, decoded into der (XMLSIG_MAX_DER). */
static int
xmlsig_b64_decode(xmlNodePtr n, unsigned char *der, int *derlen)
{
	xmlChar *c;
	char *s = NULL;
	size_t i, j, len;
	int out, pad = 0, ret = -1;

	if ((c = xmlNodeGetContent(n)) == NULL)
		return -1;
	len = strlen((const char *)c);
	if ((s = malloc(len + 1)) == NULL)
		goto done;
	for (i = j = 0; i < len; i++)
		if (strchr(" \t\r\n", c[i]) == NULL)
			s[j++] = (char)c[i];
	s[j] = '\0';
	if (j == 0 || j % 4 != 0 || j / 4 * 3 > XMLSIG_MAX_DER)
		goto done;
	if (s[j - 1] == '=')
		pad++;
	if (s[j - 2] == '=')
		pad++;
	out = EVP_DecodeBlock(der, (const unsigned char *)s, (int)j);
	if (out < 0 || out < pad)
		goto done;
	*derlen = out - pad;
	ret = 0;

 done:
	free(s);
	xmlFree(c);
	return ret;
}

/*
 * The signer: among the certificates in KeyInfo exactly one must be one
 * of the partner's configured signing certificates, byte for byte.
 */
static int
xmlsig_find_signer(xmlNodePtr ki, const struct agreement *partner,
    const struct signing_cert **scp, struct xmlsig_pin **pinp,
    struct xmlsig_result *res)
{
	const struct signing_cert *sc, *found = NULL;
	struct xmlsig_pin *pin = NULL;
	xmlNodePtr xd, c;
	unsigned char *der = NULL;
	char fp[65];
	int derlen, ncert = 0, ret = -1;

	if ((der = malloc(XMLSIG_MAX_DER)) == NULL) {
		xmlsig_fail(res, AE_INTERNAL, "out of memory");
		goto done;
	}
	for (xd = ki != NULL ? xmlsig_elem(ki->children) : NULL; xd != NULL;
	    xd = xmlsig_elem(xd->next)) {
		if (!xmlsig_is(xd, DSIG_NS, "X509Data"))
			continue;
		for (c = xmlsig_elem(xd->children); c != NULL;
		    c = xmlsig_elem(c->next)) {
			if (!xmlsig_is(c, DSIG_NS, "X509Certificate"))
				continue;
			if (++ncert > XMLSIG_MAX_CERTS) {
				xmlsig_fail(res, AE_SIGNATURE_INVALID,
				    "too many certificates in ds:KeyInfo");
				goto done;
			}
			if (xmlsig_b64_decode(c, der, &derlen) == -1) {
				xmlsig_fail(res, AE_SIGNATURE_INVALID,
				    "ds:X509Certificate is not base64");
				goto done;
			}
			xmlsig_sha256_hex(der, (size_t)derlen, fp);
			if ((sc = agreement_signing_cert(partner, fp)) == NULL ||
			    sc->cert == NULL)
				continue;
			if (found != NULL) {
				xmlsig_fail(res, AE_SIGNATURE_INVALID,
				    "two signing certificates in ds:KeyInfo");
				goto done;
			}
			if ((pin = xmlsig_pin_get(sc)) == NULL) {
				xmlsig_fail(res, AE_INTERNAL,
				    "cannot load the partner's key");
				goto done;
			}
			/* Same fingerprint; compare the bytes all the same. */
			if (pin->derlen != derlen ||
			    memcmp(pin->der, der, (size_t)derlen) != 0)
				continue;
			found = sc;
		}
	}
	if (ncert == 0) {
		xmlsig_fail(res, AE_UNKNOWN_SIGNER,
		    "no signer certificate in ds:KeyInfo");
		goto done;
	}
	if (found == NULL) {
		xmlsig_fail(res, AE_UNKNOWN_SIGNER, "the signer certificate is "
		    "not one of %s's signing certificates", partner->country);
		goto done;
	}
	*scp = found;
	*pinp = pin;
	ret = 0;

 done:
	free(der);
	return ret;
}

/*
 * In force: within the certificate's validity and the configured use
 * window at the signing time; neither window starting after now (no
 * Created can make a certificate from the future usable); not revoked.
 */
static int
xmlsig_check_signer(const struct signing_cert *sc,
    const struct agreement *partner, accord_time_t t, accord_time_t now,
    struct xmlsig_result *res)
{
	X509_REVOKED *rev;
	char a[32], b[32];

	clock_format_utc(t, a, sizeof(a));
	if (t < sc->not_before || t > sc->not_after) {
		xmlsig_fail(res, AE_UNKNOWN_SIGNER, "signer certificate %s is "
		    "not valid at the signing time %s", sc->path, a);
		return -1;
	}
	if ((sc->use_from != 0 && t < sc->use_from) ||
	    (sc->use_until != 0 && t > sc->use_until)) {
		xmlsig_fail(res, AE_UNKNOWN_SIGNER, "signer certificate %s is "
		    "outside its configured use window at %s", sc->path, a);
		return -1;
	}
	if (now < sc->not_before || (sc->use_from != 0 &&
	    now < sc->use_from)) {
		clock_format_utc(now, b, sizeof(b));
		xmlsig_fail(res, AE_UNKNOWN_SIGNER, "signer certificate %s is "
		    "not yet in force (now %s)", sc->path, b);
		return -1;
	}
	if (partner->crl != NULL &&
	    X509_CRL_get0_by_cert(partner->crl, &rev, sc->cert) == 1) {
		xmlsig_fail(res, AE_UNKNOWN_SIGNER, "signer certificate %s is "
		    "revoked by %s's CRL", sc->path, partner->country);
		return -1;
	}
	return 0;
}

/* Turn the allowlists of PITFALLS.md 20 on. */
static int
xmlsig_ctx_allowlists(xmlSecDSigCtxPtr ctx)
{
	if (xmlSecDSigCtxEnableSignatureTransform(ctx,
	    xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx,
	    xmlSecTransformRsaSha256Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx,
	    xmlSecTransformRsaSha384Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx,
	    xmlSecTransformRsaSha512Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx,
	    xmlSecTransformEcdsaSha256Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx,
	    xmlSecTransformEcdsaSha384Id) < 0)
		return -1;
	if (xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformEnvelopedId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformSha256Id) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformSha384Id) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformSha512Id) < 0)
		return -1;
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
	ctx->flags = XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS |
	    XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
	return 0;
}

static int
xmlsig_id_in(xmlSecTransformId id, const xmlSecTransformId *list)
{
	for (; *list != xmlSecTransformIdUnknown; list++)
		if (id == *list)
			return 1;
	return 0;
}

/*
 * What xmlsec actually did: one SignedInfo reference, URI "", which
 * succeeded, through enveloped + exc-c14n (+ its buffer) into an allowed
 * digest, whose canonical input starts with the root element.
 */
static int
xmlsig_check_done(xmlSecDSigCtxPtr ctx, xmlNodePtr root,
    struct xmlsig_result *res)
{
	xmlSecTransformId sign_ok[] = {
		xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id,
		xmlSecTransformRsaSha512Id, xmlSecTransformEcdsaSha256Id,
		xmlSecTransformEcdsaSha384Id, xmlSecTransformIdUnknown
	};
	xmlSecTransformId digest_ok[] = {
		xmlSecTransformSha256Id, xmlSecTransformSha384Id,
		xmlSecTransformSha512Id, xmlSecTransformIdUnknown
	};
	/* The memory buffer is xmlsec's own, from STORE_SIGNEDINFO_... */
	xmlSecTransformId ref_ok[] = {
		xmlSecTransformEnvelopedId, xmlSecTransformExclC14NId,
		xmlSecTransformMemBufId, xmlSecTransformSha256Id,
		xmlSecTransformSha384Id, xmlSecTransformSha512Id,
		xmlSecTransformIdUnknown
	};
	xmlSecDSigReferenceCtxPtr ref;
	xmlSecTransformPtr t;
	xmlSecBufferPtr pre;
	char tag[256];
	size_t n;

	if (ctx->status != xmlSecDSigStatusSucceeded) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "signature value or digest does not verify");
		return -1;
	}
	if (ctx->signMethod == NULL ||
	    !xmlsig_id_in(ctx->signMethod->id, sign_ok) ||
	    ctx->c14nMethod == NULL ||
	    ctx->c14nMethod->id != xmlSecTransformExclC14NId) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "unexpected signature algorithm");
		return -1;
	}
	if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1 ||
	    (ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0)) ==
	    NULL || ref->status != xmlSecDSigStatusSucceeded ||
	    ref->uri == NULL || ref->uri[0] != '\0') {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "the signed reference is not the whole document");
		return -1;
	}
	for (t = ref->transformCtx.first; t != NULL; t = t->next)
		if (!xmlsig_id_in(t->id, ref_ok)) {
			xmlsig_fail(res, AE_SIGNATURE_INVALID,
			    "transform %s not allowed",
			    (const char *)xmlSecTransformGetName(t));
			return -1;
		}
	if (ref->digestMethod == NULL ||
	    !xmlsig_id_in(ref->digestMethod->id, digest_ok)) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID, "digest not allowed");
		return -1;
	}
	/* The bytes digested begin with the root's start tag. */
	pre = xmlSecDSigReferenceCtxGetPreDigestBuffer(ref);
	if (root->ns != NULL && root->ns->prefix != NULL)
		snprintf(tag, sizeof(tag), "<%s:%s", root->ns->prefix,
		    root->name);
	else
		snprintf(tag, sizeof(tag), "<%s", root->name);
	n = strlen(tag);
	if (pre == NULL || xmlSecBufferGetSize(pre) <= n ||
	    memcmp(xmlSecBufferGetData(pre), tag, n) != 0 ||
	    (xmlSecBufferGetData(pre)[n] != ' ' &&
	    xmlSecBufferGetData(pre)[n] != '>')) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID,
		    "the signed bytes are not the root element");
		return -1;
	}
	return 0;
}

int
xmlsig_verify(xmlDocPtr doc, const struct agreement *partner,
    accord_time_t now, struct xmlsig_result *res)
{
	struct xmlsig_errsave sv;
	struct envelope_header h;
	const struct signing_cert *sc = NULL;
	struct xmlsig_pin *pin = NULL;
	xmlSecDSigCtx ctx;
	xmlNodePtr sig = NULL, ki = NULL;
	char why[sizeof(res->text)];
	int ctx_ready = 0, ret = -1;

	memset(res, 0, sizeof(*res));
	res->code = AE_OK;
	stage_begin(STAGE_VERIFY);
	xmlsig_errors_begin(&sv, why, sizeof(why));
	if (!xmlsig_ready) {
		xmlsig_fail(res, AE_INTERNAL, "xmlsig_init not called");
		goto done;
	}
	if (xmlsig_check_doc(doc, &sig, res) == -1 ||
	    xmlsig_check_signature(sig, &ki, res) == -1)
		goto done;
	if (xmlsig_find_signer(ki, partner, &sc, &pin, res) == -1)
		goto done;
	/* The signing time is the header's Created, covered by the digest. */
	if (envelope_read(doc, &h, NULL) == -1) {
		xmlsig_fail(res, AE_SCHEMA_INVALID, "unreadable header");
		goto done;
	}
	if (xmlsig_check_signer(sc, partner, h.created, now, res) == -1)
		goto done;

	if (xmlSecDSigCtxInitialize(&ctx, NULL) < 0) {
		xmlsig_fail(res, AE_INTERNAL, "xmlSecDSigCtxInitialize");
		goto done;
	}
	ctx_ready = 1;
	if (xmlsig_ctx_allowlists(&ctx) == -1) {
		xmlsig_fail(res, AE_INTERNAL, "cannot set the allowlists");
		goto done;
	}
	/*
	 * Lend the pinned key: with signKey set, xmlsec ignores KeyInfo and
	 * has no keys manager to walk a chain with (PITFALLS.md 15).
	 */
	ctx.signKey = pin->key;
	if (xmlSecDSigCtxVerify(&ctx, sig) < 0) {
		xmlsig_fail(res, AE_SIGNATURE_INVALID, "%s", why[0] != '\0' ?
		    why : "xmlsec refused the signature");
		goto done;
	}
	if (xmlsig_check_done(&ctx, xmlDocGetRootElement(doc), res) == -1)
		goto done;
	res->signer = sc;
	res->signed_at = h.created;
	ret = 0;

 done:
	if (ctx_ready) {
		ctx.signKey = NULL;	/* the cache's, not the context's */
		xmlSecDSigCtxFinalize(&ctx);
	}
	xmlsig_errors_end(&sv);
	if (ret == -1)
		log_info(TAG, "signature refused: %s: %s",
		    errcode_name(res->code), res->text);
	stage_end(STAGE_VERIFY);
	return ret;
}
