/*
 * accordd_sep.h -- accordd's privilege separation (accordd_sep.c).
 */
#ifndef ACCORD_ACCORDD_SEP_H
#define ACCORD_ACCORDD_SEP_H

#include <sys/types.h>

#include <stddef.h>

struct accordd_listen;
struct config;
struct signer_client;

/*
 * Fork the parser (accordd_parse.c; it re-reads conf_file) and the
 * signer, open the listening sockets (accordd_listen.c), and fork the
 * engine.  Returns only in the engine, with the engine's ends of the
 * signer's socketpairs in *signer (the loop's channel, and its lanes for
 * the signing pool: msg/signer.h), the parser's in *parser_fd, and
 * the listening sockets in *listen (0), or in the parent when a fork or
 * a socket failed (-1); the parent otherwise supervises and exits.
 */
int accordd_sep_start(struct config *c, const char *conf_file,
    struct signer_client **signer, int *parser_fd,
    struct accordd_listen *listen);

/* The state directory (every file in it) and the control socket's
 * directory to <user>, before the engine is forked.  @return 0/-1. */
int accordd_sep_give(const struct config *c, const char *control_dir);

/* Become <user> for good.  @return 0, or -1 (logged). */
int accordd_sep_drop(const struct config *c);

/*
 * A child of parent ends with SIGKILL when parent does
 * (PR_SET_PDEATHSIG), and now if parent is gone already.  Changing the
 * uid or gid clears that setting: accordd_sep_become() sets it again for
 * the parent recorded here.  @return 0, or -1 (parent gone, or the prctl
 * failed).
 */
int accordd_sep_pdeath(pid_t parent);

/* In a child (after accordd_sep_pdeath()): become uid and gid (of user
 * name) for good, with no way back, NoNewPrivs, still ending with the
 * parent; extra, when not NULL, the one supplementary group kept.
 * @return 0, or -1 (logged). */
int accordd_sep_become(uid_t uid, gid_t gid, const char *name,
    const gid_t *extra);

/* The system-call filter of a process that only serves its socketpair,
 * with the calls in extra[] allowed too (none in sanitizer builds, whose
 * filter only refuses files, sockets and programs).  @return 0, or -1
 * (logged under tag). */
int accordd_sep_sandbox(const char *tag, const int *extra, size_t nextra);

/* Once <user>: the state directory is within reach by its path (the
 * journal's segments and the store's files are opened by it later).
 * @return 0, or -1 logged naming the directory <user> cannot pass. */
int accordd_sep_reach(const struct config *c);

/* Test builds: what a compromised engine would try, logged. */
struct signer_client;
void accordd_sep_probe(const struct config *c, struct signer_client *sc);

#endif
