/* rng.h — splitmix64 random numbers (rng.c): the same stream from one seed on every platform. */
#ifndef KN_RNG_H
#define KN_RNG_H

#include <stdint.h>

/* splitmix64 state: reproducible streams from one seed on every platform */
typedef struct kn_rng {
    uint64_t s;
} kn_rng;

void kn_rng_seed(kn_rng *r, uint64_t seed);
double kn_rng_uniform(kn_rng *r);  /* [0, 1) */
double kn_rng_normal(kn_rng *r);   /* standard normal (Box-Muller) */

#endif
