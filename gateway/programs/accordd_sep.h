/*
 * accordd_sep.h -- accordd's privilege separation (accordd_sep.c).
 */
#ifndef ACCORD_ACCORDD_SEP_H
#define ACCORD_ACCORDD_SEP_H

struct config;

/*
 * Fork the parser (accordd_parse.c; it re-reads conf_file), the signer
 * and the engine.  Returns only in the engine, with the engine's ends of
 * the signer's and the parser's socketpairs in *signer_fd and *parser_fd
 * (0), or in the parent when a fork failed (-1); the parent otherwise
 * supervises and exits.
 */
int accordd_sep_start(const struct config *c, const char *conf_file,
    int *signer_fd, int *parser_fd);

/* The state directory (every file in it) and the control socket's
 * directory to <user>, before the engine drops to it.  @return 0/-1. */
int accordd_sep_give(const struct config *c, const char *control_dir);

/* Become <user> for good.  @return 0, or -1 (logged). */
int accordd_sep_drop(const struct config *c);

/* Test builds: what a compromised engine would try, logged. */
struct signer_client;
void accordd_sep_probe(const struct config *c, struct signer_client *sc);

#endif
