/* error.h — internal: record a status with a formatted detail message for kernest_last_error(). */
#ifndef KN_ERROR_H
#define KN_ERROR_H

#include "kernest.h"

/* Stores the detail message for the calling thread and returns status, so that callers can
 * write `return kn_error(KERNEST_E_FORMAT, "%s: bad header", path);`. */
int kn_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the detail message. */
void kn_error_clear(void);

/* Overflow-checked size arithmetic: return 0 on success, 1 on overflow (result unchanged). */
static inline int kn_mul_size(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline int kn_add_size(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

#endif
