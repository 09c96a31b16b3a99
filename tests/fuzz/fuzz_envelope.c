/*
 * fuzz_envelope.c -- a partner's bytes, before any signature: what
 * accordd runs on a message body it received (engine_rx_read): the
 * hardened parse and schema validation (envelope_parse, with the example
 * configuration's limits), the header (envelope_read), a Redelivery's
 * Original decoded, parsed and bound to it (envelope_redelivery_read,
 * _check), and the facts a parser reads from a body (parser_facts)
 * into the model, through its serialisation (model_encode, _decode), as
 * the engine takes them (engine_event_facts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "engine/engine_state_priv.h"
#include "fsm/fsm.h"
#include "msg/envelope.h"
#include "msg/model.h"
#include "msg/parser.h"
#include "fuzzutil.h"

/* conf/accordd.xml's <limits> */
#define FUZZ_MAX_SIZE	1048576
#define FUZZ_MAX_DEPTH	48

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init("fuzz_envelope");
	fuzz_envelope_init();
	return 0;
}

/* Parse and read one message; @return the document or NULL. */
static xmlDocPtr
fuzz_read(const char *buf, size_t len, struct envelope_header *h,
    xmlNodePtr *body)
{
	struct envelope_limits lim = { FUZZ_MAX_SIZE, FUZZ_MAX_DEPTH };
	struct envelope_error err;
	xmlDocPtr doc = NULL;

	if (envelope_parse(buf, len, &lim, &doc, &err) == -1)
		return NULL;
	if (envelope_read(doc, h, body) == -1) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static void
fuzz_facts(const struct envelope_header *h, xmlNodePtr body)
{
	struct fsm_event ev;
	struct model m, got;
	char *buf;
	size_t len;

	memset(&m, 0, sizeof(m));
	parser_facts(h, body, &m);
	if (model_encode(&m, &buf, &len) == 0) {
		if (model_decode(buf, len, &got) == 0) {
			memset(&ev, 0, sizeof(ev));
			engine_event_facts(&got, &ev);
		}
		model_clear(&got);
		free(buf);
	}
	model_clear(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_header h, inner;
	struct envelope_redelivery r;
	struct envelope_error err;
	xmlNodePtr body, ibody;
	xmlDocPtr doc, idoc;

	if ((doc = fuzz_read((const char *)data, size, &h, &body)) == NULL)
		return 0;
	fuzz_facts(&h, body);
	if (h.type == MSG_REDELIVERY) {
		memset(&r, 0, sizeof(r));
		if (envelope_redelivery_read(body, FUZZ_MAX_SIZE, &r,
		    &err) == 0 && (idoc = fuzz_read(r.original,
		    r.original_len, &inner, &ibody)) != NULL) {
			if (envelope_redelivery_check(&r, &h, &inner,
			    &err) == 0)
				fuzz_facts(&inner, ibody);
			xmlFreeDoc(idoc);
		}
		envelope_redelivery_clear(&r);
	}
	xmlFreeDoc(doc);
	return 0;
}
