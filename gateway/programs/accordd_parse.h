/*
 * accordd_parse.h -- the parser process (accordd_parse.c).
 */
#ifndef ACCORD_ACCORDD_PARSE_H
#define ACCORD_ACCORDD_PARSE_H

#include <sys/types.h>

struct config;

/*
 * In the parent, before the signer and the engine are forked: fork the
 * parser, which re-reads conf_file when it starts.  *engine_fd gets the
 * engine's end of its socketpair (the parent closes its copy once the
 * engine has it).  @return 0, or -1 (logged).
 */
int accordd_parse_start(const struct config *c, const char *conf_file,
    int *engine_fd);

/* The parser's pid, -1 when none runs. */
pid_t accordd_parse_pid(void);

/* In the parent, when the parser ended with status: logged, counted,
 * answered for (PARSER_DIED to the engine) unless it ended cleanly, and
 * another one started.  @return 0, or -1 (logged). */
int accordd_parse_ended(const struct config *c, int status);

/* In the parent, when the parser ended after the engine: not restarted. */
void accordd_parse_reaped(void);

/* In the signer and the engine: close the parser's end of the
 * socketpair, which only the parent and the parser keep. */
void accordd_parse_forget(void);

#endif
