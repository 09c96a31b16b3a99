/*
 * accordd_listen.h -- the listening sockets the parent opens for a
 * privilege-separated engine (accordd_listen.c).
 */
#ifndef ACCORD_ACCORDD_LISTEN_H
#define ACCORD_ACCORDD_LISTEN_H

struct config;

/* Descriptors, -1 when none. */
struct accordd_listen {
	int	inbound;	/* <listen address= port=>: partners' HTTPS */
	int	metrics;	/* <metrics listen=>, when configured */
};

/* Both -1. */
void accordd_listen_init(struct accordd_listen *l);

/*
 * Bind and listen on c's inbound address and port and, when configured,
 * its metrics address and port, as the faces would (address reuse,
 * non-blocking, close-on-exec).  On failure nothing stays open.
 * @return 0, or -1 (logged).
 */
int accordd_listen_open(const struct config *c, struct accordd_listen *l);

/* Close what l holds and set it to -1. */
void accordd_listen_close(struct accordd_listen *l);

#endif
