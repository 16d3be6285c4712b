/* clock.h — internal: a monotonic wall clock in seconds. */
#ifndef KN_CLOCK_H
#define KN_CLOCK_H

#include <time.h>

static inline double kn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
