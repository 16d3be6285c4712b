/* warnings.c — one-line warnings collected during a solve for the report. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warnings.h"

static void push(kn_warnings *w, char *s)
{
    char **items = s ? realloc(w->items, (w->n + 1) * sizeof *items) : NULL;
    if (!items) {
        free(s);
        return;
    }
    items[w->n++] = s;
    w->items = items;
}

void kn_warn(kn_warnings *w, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    push(w, s);
}

void kn_warnings_extend(kn_warnings *dst, const kn_warnings *src)
{
    for (size_t i = 0; i < src->n; i++)
        push(dst, strdup(src->items[i]));
}

void kn_warnings_free(kn_warnings *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->items[i]);
    free(w->items);
    w->items = NULL;
    w->n = 0;
}
