/* synth.c — synthetic problems with a known kernel: the original question and its relatives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "synth.h"

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

int kn_synth_kernel(const char *spec, kernest_array *k)
{
    const size_t kh = k->shape[0], kw = k->shape[1];
    const double cy = (double)((kh - 1) / 2), cx = (double)((kw - 1) / 2);
    double sigma = 0.0;
    int kind;
    if (!strcmp(spec, "inv-r"))
        kind = 0;
    else if (!strncmp(spec, "gaussian:", 9)) {
        char *end;
        sigma = strtod(spec + 9, &end);
        if (*end || !(sigma > 0) || !isfinite(sigma))
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': gaussian:SIGMA needs SIGMA > 0", spec);
        kind = 1;
    } else
        return kn_error(KERNEST_E_INVALID, "--kernel: unknown kernel '%s' (inv-r or gaussian:SIGMA)", spec);
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            double dy = (double)y - cy, dx = (double)x - cx, r2 = dy * dy + dx * dx;
            double v = kind == 0 ? (r2 > 0 ? 1.0 / sqrt(r2) : 0.0) : exp(-r2 / (2 * sigma * sigma));
            k->data[y * kw + x] = v;
        }
    return KERNEST_OK;
}

void kn_synth_binary(kn_rng *r, double density, kernest_array *a)
{
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = kn_rng_uniform(r) < density ? 1.0 : 0.0;
}

void kn_synth_noise(kn_rng *r, double sigma, kernest_array *a)
{
    if (sigma <= 0)
        return;
    for (size_t i = 0; i < a->size; i++)
        a->data[i] += sigma * kn_rng_normal(r);
}
