/* warnings.h — internal: one-line warnings collected during a solve for the report. */
#ifndef KN_WARNINGS_H
#define KN_WARNINGS_H

#include <stddef.h>

typedef struct kn_warnings {
    size_t n;
    char **items; /* n malloc'd strings */
} kn_warnings;

/* Appends a formatted warning (dropped silently when memory runs out: a warning never fails a
 * solve). */
void kn_warn(kn_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends copies of every warning of src to dst. */
void kn_warnings_extend(kn_warnings *dst, const kn_warnings *src);
void kn_warnings_free(kn_warnings *w);

#endif
