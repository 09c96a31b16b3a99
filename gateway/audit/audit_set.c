/*
 * audit_set.c -- a set of strings a/b, hashed, each with a value (a
 * message's digest, a case id); replay's case table hashes the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_priv.h"
#include "util/xmalloc.h"

unsigned
audit_hash(const char *a, const char *b)
{
	unsigned h = 5381;

	while (*a != '\0')
		h = h * 33 + (unsigned char)*a++;
	h = h * 33 + '/';
	while (b != NULL && *b != '\0')
		h = h * 33 + (unsigned char)*b++;
	return h % AUDIT_BUCKETS;
}

static void
audit_set_key(char *key, size_t len, const char *a, const char *b)
{
	snprintf(key, len, "%s/%s", a, b != NULL ? b : "");
}

struct audit_str *
audit_set_get(struct audit_set *s, const char *a, const char *b)
{
	struct audit_str *e;
	char key[sizeof(e->key)];

	audit_set_key(key, sizeof(key), a, b);
	for (e = s->b[audit_hash(a, b)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

struct audit_str *
audit_set_put(struct audit_set *s, const char *a, const char *b,
    const char *val)
{
	struct audit_str *e;
	unsigned h;

	if ((e = audit_set_get(s, a, b)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		audit_set_key(e->key, sizeof(e->key), a, b);
		h = audit_hash(a, b);
		e->next = s->b[h];
		s->b[h] = e;
		s->n++;
	}
	snprintf(e->val, sizeof(e->val), "%s", val != NULL ? val : "");
	return e;
}

void
audit_set_clear(struct audit_set *s)
{
	struct audit_str *e, *next;
	size_t i;

	for (i = 0; i < AUDIT_BUCKETS; i++)
		for (e = s->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	memset(s, 0, sizeof(*s));
}
