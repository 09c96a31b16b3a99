/*
 * engine_parse.c -- where the engine has partner XML read: by a parser
 * process when there is one (privilege separation: the engine then never
 * turns partner bytes into a DOM), else by parser_read() in this process.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/parser.h"
#include "util/log.h"

void
engine_set_parser(struct engine *e, struct parser_client *pc)
{
	e->parser = pc;
}

struct parser_client *
engine_parser(struct engine *e)
{
	return e->parser;
}

int
engine_parse(struct engine *e, const struct agreement *a, const char *bytes,
    size_t len, const struct envelope_limits *lim, accord_time_t now,
    struct engine_rx *pre, struct model *m)
{
	if (pre != NULL) {
		*m = pre->m;
		memset(&pre->m, 0, sizeof(pre->m));
		return pre->rc;
	}
	memset(m, 0, sizeof(*m));
	if (e->parser != NULL)
		return parser_client_read(e->parser, a->country, bytes, len,
		    lim, now, m);
	parser_read(bytes, len, lim, a, now, m);
	return 0;
}
