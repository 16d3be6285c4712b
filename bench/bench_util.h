/* bench_util.h — what the benchmark programs share (bench_util.c). */
#ifndef KN_BENCH_UTIL_H
#define KN_BENCH_UTIL_H

#include <stddef.h>

/* The median of v's n values (n >= 1; v is sorted in place). */
double bench_median(double *v, size_t n);

#endif
