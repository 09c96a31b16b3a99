/*
 * parser.h -- partner XML into the verified message model (msg/model.h):
 * parse, schema-validate, read the header, verify the signature against
 * the partner's pinned certificates and extract, all from one DOM.
 *
 * This is the only code that turns partner bytes into a DOM.  It runs
 * in the engine's own process without privilege separation (and in the
 * unit tests), and in the parser processes with it
 * (programs/accordd_parse.c, over the frames below).
 */
#ifndef ACCORD_PARSER_H
#define ACCORD_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "conf/agreement.h"
#include "msg/envelope.h"
#include "msg/model.h"

/* Frame types between the engine and a parser (util/frame.h). */
#define PARSER_READ		1	/* struct parser_request + bytes */
#define PARSER_VIEW		2	/* uint32_t reveal + stored bytes: the
					 * body an operator may see */
#define PARSER_RELOAD		3	/* end, for a parser of the new
					 * configuration to start */
#define PARSER_MODEL		100	/* model_encode()'s JSON */
#define PARSER_VIEWED		101	/* that body (text) */
#define PARSER_FAILED		102	/* a one-line reason */
#define PARSER_RELOADING	104	/* PARSER_RELOAD heard: ending */
#define PARSER_DIED		103	/* written by the parent for a parser
					 * that died with a request unread;
					 * then uint64_t: deaths so far */

/*
 * Every request and answer payload starts with the request's sequence
 * number (uint32_t, host order), so that the engine never takes a late
 * answer for the next request's; PARSER_DIED carries 0 and answers
 * whatever is waiting.  A PARSER_READ request goes on with struct
 * parser_request and the bytes.
 */
struct parser_request {
	char		partner[4];	/* whose agreement verifies */
	uint32_t	max_size;	/* envelope_limits */
	int32_t		max_depth;
	accord_time_t	now;
};

#define PARSER_TIMEOUT_MS	30000	/* the longest a parser may take */

/*
 * Read bytes from partner a (its agreement's certificates and CRL) at
 * time now into m: m->stage says how far they got, m->code and m->text
 * why not further; every later field is set only from a DOM that passed
 * every earlier stage.  lim may be NULL for the defaults.  Clear m with
 * model_clear().
 */
void parser_read(const char *bytes, size_t len,
    const struct envelope_limits *lim, const struct agreement *a,
    accord_time_t now, struct model *m);

/*
 * The business and signal facts of body (the business document of a
 * message whose header is h) into m, and h itself: for our own messages,
 * which the engine built or an operator submitted.
 */
void parser_facts(const struct envelope_header *h, xmlNodePtr body,
    struct model *m);

/* The person a ReadmissionRequest, TransitRequest or
 * VoluntaryDepartureNotice body names into p (p->has = 0 for any other
 * type, or without Surname and BirthDate); parser_facts() sets m->person
 * with it. */
void parser_person(enum msg_type type, xmlNodePtr body,
    struct model_person *p);

/* The grounds a refusing reply's body states, by name, into g (g->n = 0
 * for any other type); parser_facts() sets m->ground_names with it. */
void parser_grounds(enum msg_type type, xmlNodePtr body,
    struct model_grounds *g);

/* ---- the engine's end of a parser process's socketpair ------------------ */

struct parser_client;

/* fd is the engine's end (kept; closed by parser_client_free()); any
 * thread may ask, one request at a time (a mutex orders them). */
struct parser_client *parser_client_new(int fd);
void parser_client_free(struct parser_client *pc);

/* parser_read() in the parser process, the agreement of partner.
 * @return 0 with m filled, or -1 when no model came back: the parser died
 * (its parent answered for it), was late, or answered nonsense (logged). */
int parser_client_read(struct parser_client *pc, const char *partner,
    const char *bytes, size_t len, const struct envelope_limits *lim,
    accord_time_t now, struct model *m);

/* A stored partner message's body as an operator may see it: masked
 * unless reveal (inbox --body, faces/opscmd.c), read by the parser.
 * @return 0 with *out (free(); NULL when the document is unreadable), or
 * -1 when no parser answered (logged). */
int parser_client_view(struct parser_client *pc, const char *bytes,
    size_t len, int reveal, char **out);

/* Have the parser end and a new one read the configuration as it is
 * now (after a reload).  @return 0, or -1 (logged). */
int parser_client_reload(struct parser_client *pc);

/* Counters of the channel, for stats: requests and failed requests. */
void parser_client_counts(struct parser_client *pc, unsigned long *asked,
    unsigned long *failed);

/* From now on this process must not read partner XML itself (a
 * privilege-separated engine): parser_read() refuses, and in test builds
 * aborts, so that a path that would still parse here is found. */
void parser_forbid(void);

/* 1 after parser_forbid(): for the other readers of partner XML (the
 * operator's view of a stored message) to refuse alike. */
int parser_forbidden(void);

#endif
