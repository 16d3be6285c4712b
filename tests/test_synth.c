/* test_synth.c — synth's wide-wing PSF (moffat) and its fractal input: what README says of them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "base/rng.h"
#include "base/synth.h"
#include "kernest.h"

/* the flux of a kernel within radius R of its centre */
static double flux_within(const kernest_array *K, double R)
{
    const size_t h = K->shape[0], w = K->shape[1];
    double s = 0;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            if (hypot((double)y - (double)((h - 1) / 2), (double)x - (double)((w - 1) / 2)) <= R)
                s += K->data[y * w + x];
    return s;
}

Test(synth, moffat_is_a_unit_sum_psf_with_heavy_wings)
{
    kernest_array *K = NULL;
    cr_assert_eq(kernest_array_create2(511, 511, &K), KERNEST_OK);
    cr_assert_eq(kn_synth_kernel("moffat:1,1.5", K), KERNEST_OK);
    const double total = flux_within(K, 1e9), c = K->data[255 * 511 + 255];
    cr_assert(fabs(total - 1.0) < 1e-12, "sum %.15g", total);
    /* the formula, up to the unit-sum factor */
    const double r2 = 3.0 * 3.0 + 4.0 * 4.0;
    cr_assert(fabs(K->data[(255 + 3) * 511 + 255 + 4] / c - pow(1.0 + r2, -1.5)) < 1e-12);
    const double f10 = flux_within(K, 10), f50 = flux_within(K, 50);
    cr_assert(f10 > 0.89 && f10 < 0.92, "within r = 10: %.4f", f10);
    cr_assert(f50 > 0.98 && f50 < 0.99, "within r = 50: %.4f", f50);
    cr_assert_eq(kn_synth_kernel("moffat:1,1", K), KERNEST_E_INVALID); /* BETA > 1: finite flux */
    cr_assert_eq(kn_synth_kernel("moffat:0,2", K), KERNEST_E_INVALID);
    cr_assert_eq(kn_synth_kernel("moffat:1", K), KERNEST_E_INVALID);
    kernest_array_destroy(&K);
}

/* the correlation of a with itself shifted by d columns */
static double lag_correlation(const kernest_array *a, size_t d)
{
    const size_t h = a->shape[0], w = a->shape[1];
    double m = 0, v = 0, c = 0;
    for (size_t i = 0; i < a->size; i++)
        m += a->data[i];
    m /= (double)a->size;
    for (size_t i = 0; i < a->size; i++)
        v += (a->data[i] - m) * (a->data[i] - m);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x + d < w; x++)
            c += (a->data[y * w + x] - m) * (a->data[y * w + x + d] - m);
    return c / v * (double)w / (double)(w - d);
}

Test(synth, fractal_input_is_a_texture_in_the_unit_interval)
{
    kernest_array *A = NULL, *A2 = NULL;
    cr_assert_eq(kernest_array_create2(128, 128, &A), KERNEST_OK);
    cr_assert_eq(kernest_array_create2(128, 128, &A2), KERNEST_OK);
    kn_rng r, r2;
    kn_rng_seed(&r, 5);
    kn_rng_seed(&r2, 5);
    kn_synth_fractal(&r, A);
    kn_synth_fractal(&r2, A2);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < A->size; i++) {
        lo = fmin(lo, A->data[i]);
        hi = fmax(hi, A->data[i]);
        cr_assert_eq(A->data[i], A2->data[i], "not reproducible from the seed");
    }
    cr_assert(lo == 0.0 && hi == 1.0, "range [%g, %g]", lo, hi);
    /* scale-free: neighbours alike, far pixels less so, still not independent (white noise: 0) */
    const double c1 = lag_correlation(A, 1), c8 = lag_correlation(A, 8);
    cr_assert(c1 > 0.7 && c8 < c1 && c8 > 0.2, "correlation at lag 1 %.3f, lag 8 %.3f", c1, c8);
    kernest_array_destroy(&A);
    kernest_array_destroy(&A2);
}
