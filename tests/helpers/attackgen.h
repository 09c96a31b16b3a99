/*
 * attackgen.h -- turn a template of tests/data/attacks/ into the hostile
 * message it describes, signed with keys of the test PKI made for this
 * build (signatures cannot be committed: the PKI is regenerated).
 *
 * A template is a message with directives in comments before the root:
 *
 *	<!-- expect: CODE; attack: what it tries -->	(first line)
 *	<!-- gen: sign CC/NAME -->	sign every ds:Signature template with
 *					PKI/CC/NAME.key; "hmac:CC/NAME" uses
 *					the bytes of PKI/CC/NAME.pem as an
 *					HMAC key
 *	<!-- gen: keyinfo CC/NAME -->	certificate put in KeyInfo (default:
 *					the signer's)
 *	<!-- gen: edit FROM => TO -->	after signing, replace the first FROM
 *					in the bytes; {comment} stands for a
 *					comment (which a comment cannot hold)
 *	<!-- gen: xmlsig CODE -->	xmlsig_verify() on the same bytes
 *					parsed without the schema must give
 *					CODE (defence in depth)
 *	<!-- gen: value NAME TEXT -->	after acceptance, the first element
 *					NAME reads TEXT in full
 *
 * @CREATED@ in the template becomes the signing time.
 */
#ifndef ACCORD_ATTACKGEN_H
#define ACCORD_ATTACKGEN_H

#include <stddef.h>

#include "util/clock.h"

#define ATTACK_MAX_VALUES	4

struct attack {
	char	 expect[64];		/* wire name of the expected code */
	char	 xmlsig[64];		/* "" or the direct xmlsig code */
	char	 what[256];
	char	 value_name[ATTACK_MAX_VALUES][64];
	char	 value_text[ATTACK_MAX_VALUES][256];
	int	 nvalues;
	char	*bytes;			/* the generated message */
	size_t	 len;
};

/*
 * Generate the attack of template file path with keys under pki_dir,
 * signing time created.  xmlsig_init() must have been called.
 * @return 0, or -1 with a reason on stderr.
 */
int attack_generate(const char *path, const char *pki_dir,
    accord_time_t created, struct attack *a);

/* Free a->bytes. */
void attack_free(struct attack *a);

/* Read a whole file; NUL-terminated.  @return the bytes or NULL. */
char *attack_slurp(const char *path, size_t *lenp);

#endif
