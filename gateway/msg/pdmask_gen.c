/*
 * pdmask_gen.c -- build-time tool: the personal-data table of pdmask.c,
 * made from the decisions written in the message schemas.
 *
 *	pdmask_gen PROTOCOLS_DIR > msg/pdmask-table.h
 *
 * Fails (exit 1, naming file and line) when a declaration has no
 * pd:data decision or one path gets two different ones, so that an
 * element added to a schema without a decision stops the build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "msg/pdmask_schema.h"

struct gen_entry {
	char			*path;
	enum pdmask_class	 cls;
};

struct gen {
	struct gen_entry	*v;
	size_t			 n, cap;
	int			 undecided;
};

static int
gen_cb(void *arg, const char *path, enum pdmask_class cls, const char *file,
    int line)
{
	struct gen *g = arg;
	struct gen_entry *nv;
	size_t i;

	if (cls == PDMASK_UNDECIDED) {
		fprintf(stderr, "pdmask_gen: %s:%d: %s has no pd:data=\"none\" "
		    "or pd:data=\"personal\" (protocols/README.md, "
		    "\"Personal data\")\n", file, line, path);
		g->undecided++;
		return 0;
	}
	for (i = 0; i < g->n; i++)
		if (strcmp(g->v[i].path, path) == 0) {
			if (g->v[i].cls == cls)
				return 0;
			fprintf(stderr, "pdmask_gen: %s:%d: %s decided both "
			    "ways across versions\n", file, line, path);
			return -1;
		}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		if ((nv = realloc(g->v, g->cap * sizeof(*nv))) == NULL)
			return -1;
		g->v = nv;
	}
	if ((g->v[g->n].path = strdup(path)) == NULL)
		return -1;
	g->v[g->n++].cls = cls;
	return 0;
}

static int
gen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gen_entry *)a)->path,
	    ((const struct gen_entry *)b)->path);
}

int
main(int argc, char *argv[])
{
	struct gen g;
	char err[512];
	size_t i;
	int files;

	if (argc != 2) {
		fprintf(stderr, "usage: pdmask_gen PROTOCOLS_DIR\n");
		return 2;
	}
	memset(&g, 0, sizeof(g));
	files = pdmask_schema_walk(argv[1], gen_cb, &g, err, sizeof(err));
	if (files == -1) {
		fprintf(stderr, "pdmask_gen: %s\n", err);
		return 1;
	}
	if (g.undecided > 0) {
		fprintf(stderr, "pdmask_gen: %d declarations without a "
		    "decision\n", g.undecided);
		return 1;
	}
	qsort(g.v, g.n, sizeof(g.v[0]), gen_cmp);
	printf("/* msg/pdmask-table.h -- made by pdmask_gen from the %d schema "
	    "files of\n * protocols/: do not edit, change the schemas' "
	    "pd:data. */\n", files);
	printf("static const struct pdmask_entry pdmask_table[] = {\n");
	for (i = 0; i < g.n; i++)
		printf("\t{ \"%s\", %s },\n", g.v[i].path,
		    g.v[i].cls == PDMASK_NONE ? "PDMASK_NONE" :
		    "PDMASK_PERSONAL");
	printf("};\n");
	for (i = 0; i < g.n; i++)
		free(g.v[i].path);
	free(g.v);
	xmlCleanupParser();
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
