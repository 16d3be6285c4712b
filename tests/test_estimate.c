/* test_estimate.c — kernest_estimate's own behaviour around the solve: a kernel that comes out
 * exactly 0 from degenerate data is a warning saying why, never a silent result; data far from 1
 * in either direction give the estimate of the same problem at scale 1 (scaled units). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernest.h"
#include "testutil.h"

#define CA(x) ((const kernest_array *const *)(x))

/* the estimate's warnings, joined (empty when none) */
static void warnings_of(const kernest_report *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < r->nwarnings; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s; ", r->warnings[i]);
}

/* A 12×12 problem at the given scales (A all 0 when zero_a; a 5×5 support mask of zeros when
 * zero_support): K must be 0 with a warning holding expect, or (expect NULL) not 0 and without */
static void run(double scale_a, double scale_b, int zero_a, int zero_support, const char *expect)
{
    unsigned long long seed = 5;
    kernest_array *A = tu_random_array(12, 12, 0, 1, &seed), *B = tu_random_array(12, 12, -1, 1, &seed);
    for (size_t i = 0; i < A->size; i++) {
        A->data[i] = zero_a ? 0.0 : A->data[i] * scale_a;
        B->data[i] *= scale_b;
    }
    kernest_options o = tu_cpu_options(5, 5);
    o.maxiter = 20;
    kernest_array *mask = NULL;
    if (zero_support) {
        cr_assert_eq(kernest_array_create2(5, 5, &mask), KERNEST_OK);
        o.support = KERNEST_SUPPORT_MASK;
        o.support_mask = mask;
    }
    kernest_array *K = NULL;
    kernest_report *r = NULL;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    char w[1024];
    warnings_of(r, w, sizeof w);
    int zero = 1;
    for (size_t i = 0; i < K->size; i++)
        zero &= K->data[i] == 0.0;
    if (expect)
        cr_assert(zero && strstr(w, expect), "K is %s; warnings: '%s' (expected '%s')", zero ? "0" : "not 0", w,
                  expect);
    else
        cr_assert(!zero && !strstr(w, "the estimate is 0"), "a normal problem: '%s'", w);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_array_destroy(&mask);
    kernest_report_destroy(&r);
}

Test(estimate, zero_kernel_from_degenerate_data_is_a_warning)
{
    run(1, 1, 0, 0, NULL);                       /* ordinary data: no such warning */
    run(1, 1, 1, 0, "every A is 0");             /* nothing constrains K */
    run(1, 0, 0, 0, "every observed pixel of B is 0");
    run(1, 1, 0, 1, "--support leaves no kernel pixel free");
    run(1e-160, 1e-160, 0, 0, NULL); /* products that underflowed in double: solved in scaled units */
    run(1e160, 1e-160, 1, 0, "every A is 0");
}

/* ---- scale invariance: A·fa and B·fb give K·fb/fa ------------------------------------------
 * The solve works in scaled units (A and B divided by powers of two near their largest values),
 * so data far from 1 in either direction, in double or in single precision, give the estimate of
 * the same problem at scale 1, with the priors' values carried over: λ·fa² (λ·fa·fb for lowrank,
 * whose prior is on its factors), ℓ1 and TV weights ·fa·fb, fixed values, sums and bounds ·fb/fa,
 * σ ·fb. Before the scaling, these gave K = 0 ("converged after 0 iterations", "breakdown") or
 * a non-finite stop. */

enum { SC_CGLS, SC_GRAD, SC_FISTA, SC_TV, SC_BACKGROUND, SC_RADIAL, SC_LOWRANK, SC_AUTO, SC_STD, SC_N };
static const char *const sc_names[SC_N] = {"cgls", "grad", "fista (nonneg, l1, bounds, sum, fix)", "tv",
                                           "background", "radial", "lowrank", "auto lambda (gcv)",
                                           "uncertainty"};

/* The options of case c for data scaled by fa (A) and fb (B). fixed receives the fixed pixel. */
static kernest_options sc_options(int c, kernest_precision prec, double fa, double fb, kernest_fixed_pixel *fixed)
{
    kernest_options o = tu_cpu_options(5, 5);
    o.precision = prec;
    o.maxiter = 300;
    o.tol = prec == KERNEST_SINGLE ? 1e-5 : 1e-9;
    const double k = fb / fa; /* K's factor */
    switch (c) {
    case SC_CGLS:
        break;
    case SC_GRAD:
        o.reg = KERNEST_REG_GRAD, o.lambda = 0.05 * fa * fa;
        break;
    case SC_FISTA:
        o.nonneg = 1, o.l1 = 1e-3 * fa * fb, o.has_bounds = 1, o.lower = 0.0, o.upper = 0.4 * k;
        o.has_sum = 1, o.sum = 1.0 * k;
        fixed->row = 0, fixed->col = 1, fixed->value = 0.1 * k;
        o.fixed = fixed, o.nfixed = 1;
        o.maxiter = 200, o.tol = 1e-7;
        break;
    case SC_TV:
        o.tv = 2e-3 * fa * fb, o.maxiter = 100, o.tol = 1e-7;
        break;
    case SC_BACKGROUND:
        o.background = 1, o.reg = KERNEST_REG_RIDGE, o.lambda = 0.01 * fa * fa;
        break;
    case SC_RADIAL:
        o.model = KERNEST_MODEL_RADIAL, o.reg = KERNEST_REG_GRAD, o.lambda = 0.05 * fa * fa;
        fixed->row = 0, fixed->col = 0, fixed->value = 0.5 * k;
        o.fixed = fixed, o.nfixed = 1;
        break;
    case SC_LOWRANK:
        o.model = KERNEST_MODEL_LOWRANK, o.order = 1, o.reg = KERNEST_REG_GRAD, o.lambda = 0.05 * fa * fb;
        o.outer_maxiter = 5;
        break;
    case SC_AUTO:
        o.auto_lambda = 1, o.select = KERNEST_SELECT_GCV, o.reg = KERNEST_REG_GRAD;
        break;
    case SC_STD:
        o.reg = KERNEST_REG_GRAD, o.lambda = 0.05 * fa * fa, o.uncertainty = 4, o.sigma = 0.01 * fb;
        break;
    }
    return o;
}

/* A 16×16 input with a 5×5 kernel, B = same(A ⊛ K) + 0.5 + noise (the offset for --background) */
static void sc_problem(kernest_array **A, kernest_array **B)
{
    unsigned long long seed = 11;
    *A = tu_random_array(16, 16, 0, 1, &seed);
    kernest_array *K = tu_random_array(5, 5, 0, 0.1, &seed);
    K->data[12] = 0.6;
    *B = tu_direct_convolve(*A, K, KERNEST_MODE_SAME);
    for (size_t i = 0; i < (*B)->size; i++)
        (*B)->data[i] += 0.5 + 0.01 * (tu_rand(&seed) - 0.5);
    kernest_array_destroy(&K);
}

typedef struct sc_result {
    kernest_array *K;   /* in the units of scale 1 (·fa/fb) */
    double *std;        /* the same (NULL without) */
    int iterations;
    kernest_stop_reason reason;
    double lambda;      /* the report's, in the units of scale 1 */
} sc_result;

static sc_result sc_run(int c, kernest_precision prec, double fa, double fb)
{
    kernest_array *A, *B;
    sc_problem(&A, &B);
    for (size_t i = 0; i < A->size; i++)
        A->data[i] *= fa;
    for (size_t i = 0; i < B->size; i++)
        B->data[i] *= fb;
    kernest_fixed_pixel fixed;
    kernest_options o = sc_options(c, prec, fa, fb, &fixed);
    sc_result r = {0};
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &r.K, &rep), KERNEST_OK, "%s at %g, %g: %s", sc_names[c],
                 fa, fb, kernest_last_error());
    for (size_t i = 0; i < r.K->size; i++)
        r.K->data[i] *= fa / fb;
    if (rep->std) {
        r.std = malloc(r.K->size * sizeof *r.std);
        for (size_t i = 0; i < r.K->size; i++)
            r.std[i] = rep->std[i] * (fa / fb);
    }
    r.iterations = rep->iterations;
    r.reason = rep->reason;
    r.lambda = rep->lambda / (c == SC_LOWRANK ? fa * fb : fa * fa);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    return r;
}

static void sc_free(sc_result *r)
{
    kernest_array_destroy(&r->K);
    free(r->std);
}

/* The cases of mask (1 << case) at A·fa, B·fb against scale 1: K to tol relative, the same
 * iterations (tol 0: the same bits; decimal factors round differently, and a stopping test may
 * pass one iteration apart in double, a few in single, where CGLS's flat-objective test sums
 * float-rounded decreases) */
static void sc_check(kernest_precision prec, double fa, double fb, double tol, unsigned mask)
{
    for (int c = 0; c < SC_N; c++) {
        if (!(mask & 1u << c))
            continue;
        sc_result ref = sc_run(c, prec, 1.0, 1.0), got = sc_run(c, prec, fa, fb);
        const double dk = tu_rel_diff(got.K, ref.K);
        /* lowrank's λ weighs a prior on its factors and on K (its start): with fa ≠ fb no one λ
         * carries both over, and the sweeps end within outer_tol of each other */
        const double tk = c == SC_LOWRANK && fa != fb ? 1e-4 : tol;
        const int di = abs(got.iterations - ref.iterations);
        const int dmax = tol == 0 ? 0 : prec == KERNEST_SINGLE ? 2 + ref.iterations / 20 : 1;
        cr_expect(dk <= tk && di <= dmax && got.reason == ref.reason,
                  "%s, %s, A·%g, B·%g: K off by %.3g relative, %d iterations (%s) against %d (%s) at scale 1",
                  sc_names[c], prec == KERNEST_SINGLE ? "single" : "double", fa, fb, dk, got.iterations,
                  kernest_stop_reason_name(got.reason), ref.iterations, kernest_stop_reason_name(ref.reason));
        cr_expect(fabs(got.lambda - ref.lambda) <= tol * ref.lambda, "%s at %g, %g: lambda %.17g against %.17g",
                  sc_names[c], fa, fb, got.lambda, ref.lambda);
        if (ref.std) {
            const double ds = got.std ? tu_rel_diff_vec(got.std, ref.std, ref.K->size) : 1.0;
            cr_expect(ds <= tol, "%s at %g, %g: std off by %.3g relative", sc_names[c], fa, fb, ds);
        }
        sc_free(&ref);
        sc_free(&got);
    }
}

#define SC_ALL ((1u << SC_N) - 1)

Test(estimate, scale_invariant_in_double)
{
    sc_check(KERNEST_DOUBLE, 1e-150, 1e150, 1e-6, SC_ALL); /* K·1e300 */
    sc_check(KERNEST_DOUBLE, 1e30, 1e-30, 1e-6, SC_ALL);   /* K·1e-60 */
    sc_check(KERNEST_DOUBLE, 1e-100, 1e-100, 1e-6, SC_ALL); /* K as it is: the products underflowed */
    sc_check(KERNEST_DOUBLE, 1e100, 1e100, 1e-6, SC_ALL);   /* and overflowed */
}

Test(estimate, scale_invariant_by_powers_of_two_exactly)
{
    sc_check(KERNEST_DOUBLE, 0x1p-400, 0x1p300, 0.0, SC_ALL); /* power-of-two factors: the same bits */
    sc_check(KERNEST_DOUBLE, 0x1p-300, 0x1p-300, 0.0, SC_ALL);
    sc_check(KERNEST_SINGLE, 0x1p-66, 0x1p66, 0.0, SC_ALL & ~(1u << SC_LOWRANK)); /* (its start: sc_check) */
    sc_check(KERNEST_SINGLE, 0x1p50, 0x1p50, 0.0, SC_ALL);
}

/* Single precision with decimal factors, every case. The warm-started solves (lowrank's
 * half-steps, the automatic choice's final solve, the uncertainty samples) used to run to the
 * iteration cap here and drift at any scale (1.3·A, 1.3·B alone gave a non-finite lowrank, the
 * GCV choice K ~ 1e11): they chased a fraction of an already small residual below float's
 * resolution. CGLS now also stops at that resolution (10ε of the residual at x = 0, cgls.c). */
Test(estimate, scale_invariant_in_single)
{
    const unsigned stable = SC_ALL;
    sc_check(KERNEST_SINGLE, 1e-20, 1e20, 1e-4, stable);
    sc_check(KERNEST_SINGLE, 1e15, 1e15, 1e-4, stable);
}

/* ---- σ far larger than the data ---------------------------------------------------------------
 * The posterior samples are b + σε solved from K̂: with σ ~ 1e200 (1e30 in single) their sums of
 * squares overflowed, each sample stopped non-finite at its start and the std map came out 0,
 * silently. The map is linear in σ: std/σ is the same at any σ. */
static double *std_at(kernest_precision prec, double sigma)
{
    kernest_array *A, *B, *K = NULL;
    sc_problem(&A, &B);
    kernest_fixed_pixel fixed;
    kernest_options o = sc_options(SC_STD, prec, 1.0, 1.0, &fixed);
    o.sigma = sigma;
    kernest_report *r = NULL;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    double *s = malloc(K->size * sizeof *s);
    for (size_t i = 0; i < K->size; i++)
        s[i] = r->std[i] / sigma;
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    return s;
}

Test(estimate, std_map_for_sigma_far_above_the_data)
{
    const struct { kernest_precision prec; double big; } cases[] = {{KERNEST_DOUBLE, 1e200}, {KERNEST_DOUBLE, 1e300},
                                                                     {KERNEST_SINGLE, 1e30}, {KERNEST_SINGLE, 1e60}};
    for (int c = 0; c < 4; c++) {
        double *ref = std_at(cases[c].prec, 1e3), *got = std_at(cases[c].prec, cases[c].big);
        const double d = tu_rel_diff_vec(got, ref, 25);
        cr_expect(d < (cases[c].prec == KERNEST_SINGLE ? 1e-4 : 1e-6) && ref[12] > 0,
                  "%s, sigma %g: std/sigma off by %g relative (centre %g against %g at sigma 1e3)",
                  cases[c].prec == KERNEST_SINGLE ? "single" : "double", cases[c].big, d, got[12], ref[12]);
        free(ref);
        free(got);
    }
}

/* the discrepancy rule with σ far above the noise: no λ meets it (the path ends at its largest
 * λ, K ≈ 0); a warning says so, and none when σ is the noise's */
Test(estimate, discrepancy_that_no_lambda_meets_is_a_warning)
{
    for (int big = 0; big < 2; big++) {
        kernest_array *A, *B, *K = NULL;
        sc_problem(&A, &B);
        for (size_t i = 0; i < B->size; i++) /* without the offset: the residual can reach the noise */
            B->data[i] -= 0.5;
        kernest_options o = tu_cpu_options(5, 5);
        o.auto_lambda = 1, o.select = KERNEST_SELECT_DISCREPANCY, o.reg = KERNEST_REG_GRAD;
        o.sigma = big ? 1.0 : 0.003; /* the noise: uniform ±0.005 */
        kernest_report *r = NULL;
        cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
        char w[1024];
        warnings_of(r, w, sizeof w);
        const int warned = strstr(w, "--select discrepancy: no lambda") != NULL;
        cr_expect(warned == big && (!big || strstr(w, "sigma is larger")), "sigma %g: warnings '%s'", o.sigma, w);
        kernest_array_destroy(&A);
        kernest_array_destroy(&B);
        kernest_array_destroy(&K);
        kernest_report_destroy(&r);
    }
}
