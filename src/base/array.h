/* array.h — internal helpers for host arrays (array.c; creating and destroying them is public). */
#ifndef KN_ARRAY_H
#define KN_ARRAY_H

#include <stddef.h>

#include "kernest.h"

/* "3x64x64": the shape of a as the messages print it, into buf (n bytes); returns buf. */
const char *kn_shape_str(const kernest_array *a, char *buf, size_t n);

#endif
