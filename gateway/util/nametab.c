/*
 * nametab.c -- enum value <-> name through one table.
 */
#include <string.h>

#include "util/nametab.h"

const char *
nametab_name(const char *const *tab, int n, int v, const char *unknown)
{
	if (v < 0 || v >= n || tab[v] == NULL)
		return unknown;
	return tab[v];
}

int
nametab_find(const char *const *tab, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (tab[i] != NULL && strcmp(tab[i], name) == 0)
			return i;
	return -1;
}
