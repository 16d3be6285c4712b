/* names.h — one mechanism for an enum's names (names.c): a table of strings indexed by the value,
 * read in both directions. The public kernest_*_parse / kernest_*_name functions use it, and so
 * may any other table (the pictures' colour scales). */
#ifndef KN_NAMES_H
#define KN_NAMES_H

#include "kernest.h"

/* A table as the two arguments the lookups take. */
#define KN_NAMES(table) (table), (int)(sizeof(table) / sizeof *(table))

/* The index of s in names (n entries), or -1 (also for s NULL). */
int kn_name_parse(const char *s, const char *const *names, int n);
/* names[v], or "?" when v is out of range. */
const char *kn_name_of(int v, const char *const *names, int n);

#endif
