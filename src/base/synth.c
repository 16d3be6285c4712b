/* synth.c — synthetic problems with a known kernel: the original question and its relatives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "rng.h"
#include "synth.h"

static int params(const char *s, double *p, int max)
{
    int n = 0;
    while (n < max) {
        char *end;
        p[n] = strtod(s, &end);
        if (end == s || !isfinite(p[n]))
            return -1;
        n++;
        if (*end == '\0')
            return n;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
    return -1;
}

/* Offsets (u along the direction at angle deg from the +column axis towards +row, v across). */
static void rotate(double dy, double dx, double deg, double *u, double *v)
{
    const double a = deg * M_PI / 180.0, c = cos(a), s = sin(a);
    *u = dx * c + dy * s;
    *v = -dx * s + dy * c;
}

/* A motion line of the given length through the centre: 8 samples per pixel of length, each
 * splatted bilinearly, so the line is anti-aliased and sums to 1. */
static int line_kernel(const char *spec, double len, double deg, kernest_array *k)
{
    const size_t kh = k->shape[0], kw = k->shape[1];
    const double cy = (double)((kh - 1) / 2), cx = (double)((kw - 1) / 2);
    const double a = deg * M_PI / 180.0;
    /* longer than the diagonal cannot fit; checked first so 8·len stays a small count */
    if (!(len <= hypot((double)kh, (double)kw)))
        return kn_error(KERNEST_E_INVALID, "--kernel: '%s': the line does not fit in the %zux%zu "
                        "kernel", spec, kh, kw);
    const long m = len > 0 ? (long)ceil(8.0 * len) + 1 : 1;
    memset(k->data, 0, k->size * sizeof *k->data);
    for (long i = 0; i < m; i++) {
        double t = m > 1 ? -0.5 * len + len * (double)i / (double)(m - 1) : 0.0;
        double y = cy + t * sin(a), x = cx + t * cos(a), y0 = floor(y), x0 = floor(x);
        double fy = y - y0, fx = x - x0;
        if (y0 < 0 || x0 < 0 || y0 + (fy > 0) >= (double)kh || x0 + (fx > 0) >= (double)kw)
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': the line does not fit in the %zux%zu "
                            "kernel", spec, kh, kw);
        size_t iy = (size_t)y0, ix = (size_t)x0;
        double w = 1.0 / (double)m;
        k->data[iy * kw + ix] += w * (1 - fy) * (1 - fx);
        if (fx > 0) k->data[iy * kw + ix + 1] += w * (1 - fy) * fx;
        if (fy > 0) k->data[(iy + 1) * kw + ix] += w * fy * (1 - fx);
        if (fy > 0 && fx > 0) k->data[(iy + 1) * kw + ix + 1] += w * fy * fx;
    }
    return KERNEST_OK;
}

enum { K_GAUSS, K_EXP, K_POWER, K_GABOR, K_MOFFAT };

int kn_synth_kernel(const char *spec, kernest_array *k)
{
    const size_t kh = k->shape[0], kw = k->shape[1];
    const double cy = (double)((kh - 1) / 2), cx = (double)((kw - 1) / 2);
    double p[3] = {0, 0, 0}, p4[4] = {0, 0, 1, 0}; /* p4: power's P, A, M, ANGLE */
    int kind, np;
    if (!strcmp(spec, "inv-r")) {
        kind = K_POWER;
        p[0] = 1.0;
    } else if (!strncmp(spec, "gaussian:", 9)) {
        np = params(spec + 9, p, 3);
        if (np == 1)
            p[1] = p[0], p[2] = 0;
        if ((np != 1 && np != 3) || !(p[0] > 0) || !(p[1] > 0))
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': gaussian:S or gaussian:SX,SY,ANGLE needs "
                            "S, SX, SY > 0", spec);
        kind = K_GAUSS;
    } else if (!strncmp(spec, "exp:", 4)) {
        if (params(spec + 4, p, 3) != 3 || !(p[0] > 0) || !(p[1] > 0))
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': exp:LX,LY,ANGLE needs LX, LY > 0", spec);
        kind = K_EXP;
    } else if (!strncmp(spec, "power:", 6)) {
        np = params(spec + 6, p4, 4);
        if ((np != 1 && np != 4) || !(p4[0] > 0) || !(p4[2] >= 1) || p4[2] != floor(p4[2]) || p4[2] > 64)
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': power:P or power:P,A,M,ANGLE needs P > 0 "
                            "and M an integer 1..64", spec);
        kind = K_POWER;
        p[0] = p4[0];
    } else if (!strncmp(spec, "gabor:", 6)) {
        if (params(spec + 6, p, 3) != 3 || !(p[0] > 0) || !(p[1] >= 0))
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': gabor:S,F,ANGLE needs S > 0 and F >= 0", spec);
        kind = K_GABOR;
    } else if (!strncmp(spec, "moffat:", 7)) {
        if (params(spec + 7, p, 2) != 2 || !(p[0] > 0) || !(p[1] > 1))
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': moffat:ALPHA,BETA needs ALPHA > 0 and BETA > 1", spec);
        kind = K_MOFFAT;
    } else if (!strncmp(spec, "line:", 5)) {
        if (params(spec + 5, p, 2) != 2 || !(p[0] >= 0))
            return kn_error(KERNEST_E_INVALID, "--kernel: '%s': line:LENGTH,ANGLE needs LENGTH >= 0", spec);
        return line_kernel(spec, p[0], p[1], k);
    } else
        return kn_error(KERNEST_E_INVALID, "--kernel: unknown kernel '%s' (inv-r, gaussian:S, "
                        "gaussian:SX,SY,ANGLE, exp:LX,LY,ANGLE, power:P, power:P,A,M,ANGLE, "
                        "gabor:S,F,ANGLE, moffat:ALPHA,BETA, line:LENGTH,ANGLE)", spec);
    double total = 0.0;
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            double dy = (double)y - cy, dx = (double)x - cx, r2 = dy * dy + dx * dx, u, v, val;
            if (kind == K_POWER) {
                val = r2 == 0 ? 0.0 : p[0] == 1.0 ? 1.0 / sqrt(r2) : pow(r2, -0.5 * p[0]);
                if (p4[1] != 0 && r2 > 0) /* the angular factor, θ as the harmonic model's */
                    val *= 1.0 + p4[1] * cos(p4[2] * (atan2(dy, dx) - p4[3] * M_PI / 180.0));
            } else if (kind == K_MOFFAT) {
                val = pow(1.0 + r2 / (p[0] * p[0]), -p[1]);
            } else if (kind == K_GABOR) {
                rotate(dy, dx, p[2], &u, &v);
                val = exp(-0.5 * r2 / (p[0] * p[0])) * cos(2.0 * M_PI * p[1] * u);
            } else {
                rotate(dy, dx, p[2], &u, &v);
                double q = u * u / (p[0] * p[0]) + v * v / (p[1] * p[1]);
                val = kind == K_GAUSS ? exp(-0.5 * q) : exp(-sqrt(q));
            }
            k->data[y * kw + x] = val;
            total += val;
        }
    for (size_t i = 0; kind == K_MOFFAT && i < k->size; i++) /* a PSF: unit sum on the kernel */
        k->data[i] /= total;
    return KERNEST_OK;
}

void kn_synth_binary(kn_rng *r, double density, kernest_array *a)
{
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = kn_rng_uniform(r) < density ? 1.0 : 0.0;
}

void kn_synth_fractal(kn_rng *r, kernest_array *a)
{
    const size_t h = a->shape[0], w = a->shape[1];
    memset(a->data, 0, a->size * sizeof *a->data);
    size_t big = h > w ? h : w;
    for (size_t cell = 1; cell < 2 * big; cell *= 2) { /* octaves: cells of 1, 2, 4, ... pixels */
        const size_t gh = h / cell + 2, gw = w / cell + 2;
        double *g = malloc(gh * gw * sizeof *g);
        if (!g)
            return; /* the octaves so far: still a texture */
        for (size_t i = 0; i < gh * gw; i++)
            g[i] = kn_rng_normal(r); /* equal weights: each octave adds power ∝ cell² at f ~ 1/cell, so 1/f² */
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < w; x++) {
                const double fy = (double)y / (double)cell, fx = (double)x / (double)cell;
                const size_t iy = (size_t)fy, ix = (size_t)fx;
                const double ty = fy - (double)iy, tx = fx - (double)ix;
                a->data[y * w + x] += (1 - ty) * ((1 - tx) * g[iy * gw + ix] + tx * g[iy * gw + ix + 1]) +
                                      ty * ((1 - tx) * g[(iy + 1) * gw + ix] + tx * g[(iy + 1) * gw + ix + 1]);
            }
        free(g);
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < a->size; i++) {
        lo = fmin(lo, a->data[i]);
        hi = fmax(hi, a->data[i]);
    }
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = hi > lo ? (a->data[i] - lo) / (hi - lo) : 0.0;
}

void kn_synth_noise(kn_rng *r, double sigma, kernest_array *a)
{
    if (sigma <= 0)
        return;
    for (size_t i = 0; i < a->size; i++)
        a->data[i] += sigma * kn_rng_normal(r);
}

double kn_synth_std(const kernest_array *a)
{
    if (!a->size)
        return 0.0;
    double mean = 0.0, ss = 0.0;
    for (size_t i = 0; i < a->size; i++)
        mean += a->data[i];
    mean /= (double)a->size;
    for (size_t i = 0; i < a->size; i++)
        ss += (a->data[i] - mean) * (a->data[i] - mean);
    return sqrt(ss / (double)a->size);
}
