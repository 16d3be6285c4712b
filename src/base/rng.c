/* rng.c — splitmix64 random numbers: reproducible streams from one seed on every platform. */
#include <math.h>

#include "rng.h"

void kn_rng_seed(kn_rng *r, uint64_t seed)
{
    r->s = seed ^ 0x6A09E667F3BCC909ull;
}

static uint64_t next(kn_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double kn_rng_uniform(kn_rng *r)
{
    return (double)(next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double kn_rng_normal(kn_rng *r)
{
    double u1 = kn_rng_uniform(r), u2 = kn_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Parses "a[,b,...]" into at most max numbers; returns how many, or -1 when malformed. */
