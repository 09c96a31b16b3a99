/*
 * accordd_keys.h -- a privilege-separated engine's TLS keys on a reload
 * (accordd_keys.c).
 */
#ifndef ACCORD_ACCORDD_KEYS_H
#define ACCORD_ACCORDD_KEYS_H

#include <stdio.h>

struct config;
struct store;

/* In the parent: serve the engine's requests for its keys from
 * conf_file, re-read as root on each. */
void accordd_keys_serve(const char *conf_file);

/* In the parent, before it forks the engine: c's TLS keys read as root
 * into c->tls_key_pem and c->tls_client_key_pem, for the engine to start
 * with (it never reads a key file).  @return 0, or -1 (logged). */
int accordd_keys_give(struct config *c);

/* In the parent once the engine has them: its copies wiped and freed. */
void accordd_keys_forget(struct config *c);

/*
 * In the engine, reloading into nc: the TLS keys nc names, read by the
 * parent, into nc->tls_key_pem and nc->tls_client_key_pem; and a new
 * signing key refused (the signer holds the one it started with).  old
 * is the configuration in force, st the store for the status line.
 * @return 0, or -1 logged and told to why (may be NULL): the reload is
 * refused.
 */
int accordd_keys_fetch(const struct config *old, struct config *nc,
    struct store *st, FILE *why);

#endif
