/*
 * nametab.h -- the names of an enum, kept in one table indexed by value:
 * value to name and name to value, with a range check, for every table of
 * names (fsm states, message types, delivery states).
 */
#ifndef ACCORD_NAMETAB_H
#define ACCORD_NAMETAB_H

/* tab[v], or unknown when v is out of range or has no name. */
const char *nametab_name(const char *const *tab, int n, int v,
    const char *unknown);

/* The value whose name is name.  @return it, or -1. */
int nametab_find(const char *const *tab, int n, const char *name);

#endif
