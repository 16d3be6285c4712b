/* test_operator.c — the backend operator H and LᵀL: adjoint identity, FFT against direct sums, masks. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "kernest.h"
#include "backend/problem.h"
#include "testutil.h"

/* ---- the cases -------------------------------------------------------------------------------- */

typedef struct opcase {
    const char *label;
    kernest_mode mode;
    size_t kh, kw;
    size_t npairs;
    size_t shape[3][2]; /* A of each pair */
    int mask;           /* 1: B with NaN at some pixels */
} opcase;

static const opcase cases[] = {
    {"full 3x4 on 7x5", KERNEST_MODE_FULL, 3, 4, 1, {{7, 5}}, 0},
    {"full even 4x4 on 6x9, masked", KERNEST_MODE_FULL, 4, 4, 1, {{6, 9}}, 1},
    {"full K 9x11 larger than A 7x5", KERNEST_MODE_FULL, 9, 11, 1, {{7, 5}}, 0},
    {"full 1x7 on 5x3", KERNEST_MODE_FULL, 1, 7, 1, {{5, 3}}, 0},
    {"full 5x2, 3 pairs, masked", KERNEST_MODE_FULL, 5, 2, 3, {{7, 5}, {4, 9}, {12, 3}}, 1},
    {"same 3x3 on 6x8", KERNEST_MODE_SAME, 3, 3, 1, {{6, 8}}, 0},
    {"same even 4x6 on 9x7, masked", KERNEST_MODE_SAME, 4, 6, 1, {{9, 7}}, 1},
    {"same K 13x15 larger than A 6x8", KERNEST_MODE_SAME, 13, 15, 1, {{6, 8}}, 0},
    {"same default-like 11x9 on 6x5, masked", KERNEST_MODE_SAME, 11, 9, 1, {{6, 5}}, 1},
    {"same even 12x10 larger than A 5x7", KERNEST_MODE_SAME, 12, 10, 1, {{5, 7}}, 0},
    {"same 1x1 on 4x6", KERNEST_MODE_SAME, 1, 1, 1, {{4, 6}}, 0},
    {"same 2x5, 3 pairs, masked", KERNEST_MODE_SAME, 2, 5, 3, {{6, 8}, {9, 4}, {5, 5}}, 1},
    {"valid 3x4 on 10x8", KERNEST_MODE_VALID, 3, 4, 1, {{10, 8}}, 0},
    {"valid even 4x2 on 9x7, masked", KERNEST_MODE_VALID, 4, 2, 1, {{9, 7}}, 1},
    {"valid K 12x11 larger than A 5x6", KERNEST_MODE_VALID, 12, 11, 1, {{5, 6}}, 0},
    {"valid K 8x9 larger, 2 pairs, masked", KERNEST_MODE_VALID, 8, 9, 2, {{5, 6}, {3, 9}}, 1},
    {"valid 3x3, 3 pairs, masked", KERNEST_MODE_VALID, 3, 3, 3, {{10, 8}, {6, 12}, {3, 3}}, 1},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Deterministic sparse NaN pattern (about one pixel in five, (0,0) always). */
static int masked_at(size_t i, size_t j)
{
    return (i * 7 + j * 3) % 5 == 0;
}

/* Host threads of the backends the tests make: one, because OpenMP barriers spin badly on a
 * loaded two-core machine; the threaded paths are checked against it below. */
static int f_threads = 1;

/* A problem, its arrays and a backend with the operator set up. */
typedef struct opfix {
    kernest_array *A[3], *B[3];
    kn_problem pb;
    kn_backend *be;
} opfix;

static void fix_open(opfix *f, const opcase *c, kernest_precision prec, unsigned long long *seed)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < c->npairs; i++) {
        f->A[i] = tu_random_array(c->shape[i][0], c->shape[i][1], -1.0, 1.0, seed);
        cr_assert_not_null(f->A[i]);
        if (c->mask) {
            size_t hb, wb;
            cr_assert_eq(kernest_output_shape(c->mode, c->shape[i][0], c->shape[i][1], c->kh, c->kw,
                                              &hb, &wb, NULL, NULL), KERNEST_OK, "%s", c->label);
            f->B[i] = tu_random_array(hb, wb, -1.0, 1.0, seed);
            cr_assert_not_null(f->B[i]);
            for (size_t y = 0; y < hb; y++)
                for (size_t x = 0; x < wb; x++)
                    if (masked_at(y, x))
                        f->B[i]->data[y * wb + x] = NAN;
        }
    }
    int st = kn_problem_init(&f->pb, (const kernest_array *const *)f->A,
                             c->mask ? (const kernest_array *const *)f->B : NULL, c->npairs, c->mode,
                             c->kh, c->kw, NULL);
    cr_assert_eq(st, KERNEST_OK, "%s: kn_problem_init -> %d (%s)", c->label, st, kernest_last_error());
    cr_assert_eq(f->pb.has_mask, c->mask, "%s: has_mask %d", c->label, f->pb.has_mask);
    st = kn_backend_cpu_create(prec, f_threads, &f->be);
    cr_assert_eq(st, KERNEST_OK, "cpu backend -> %d (%s)", st, kernest_last_error());
    cr_assert_str_eq(f->be->ops->name, "cpu");
    cr_assert_eq(f->be->elem_size, prec == KERNEST_SINGLE ? 4u : 8u);
    st = f->be->ops->op_setup(f->be, &f->pb);
    cr_assert_eq(st, KERNEST_OK, "%s: op_setup -> %d (%s)", c->label, st, kernest_last_error());
}

static void fix_close(opfix *f)
{
    kn_backend_destroy(&f->be);
    cr_assert_null(f->be);
    kn_problem_free(&f->pb);
    for (int i = 0; i < 3; i++) {
        kernest_array_destroy(&f->A[i]);
        kernest_array_destroy(&f->B[i]);
    }
}

/* values as the backend stores them (rounded to float in single precision) */
static double nrm(const double *a, size_t n)
{
    return sqrt(tu_dot(a, a, n));
}

/* ---- adjoint identity ------------------------------------------------------------------------- */

static void check_adjoint(kernest_precision prec, double tol)
{
    unsigned long long seed = 12345;
    for (size_t ci = 0; ci < NCASES; ci++) {
        const opcase *c = &cases[ci];
        opfix f;
        fix_open(&f, c, prec, &seed);
        const size_t n = f.pb.n, m = f.pb.m;
        cr_assert_eq(n, c->kh * c->kw, "%s: n = %zu", c->label, n);
        double lhs, rhs, *hk = NULL;
        const double rel = tu_operator_dot_test(f.be, n, m, &seed, &lhs, &rhs, &hk);
        cr_assert(rel <= tol,
                  "%s (%s): <Hk,r> = %.17g, <k,H'r> = %.17g, relative difference %.3g > %.1g",
                  c->label, prec == KERNEST_SINGLE ? "single" : "double", lhs, rhs, rel, tol);
        /* masked pixels are out of the data: H k must be exactly zero there */
        if (c->mask) {
            size_t zeros = 0;
            for (size_t p = 0; p < c->npairs; p++) {
                const kn_pair *pp = &f.pb.pairs[p];
                for (size_t y = 0; y < pp->hb; y++)
                    for (size_t x = 0; x < pp->wb; x++)
                        if (masked_at(y, x)) {
                            double v = hk[pp->offset + y * pp->wb + x];
                            cr_assert(v == 0.0, "%s: pair %zu pixel (%zu,%zu) is NaN in B but Hk = %g",
                                      c->label, p, y, x, v);
                            zeros++;
                        }
            }
            cr_assert(zeros > 0, "%s: no masked pixel was checked", c->label);
        }
        free(hk);
        fix_close(&f);
    }
}

Test(operator, adjoint_identity_double)
{
    check_adjoint(KERNEST_DOUBLE, 1e-12);
}

Test(operator, adjoint_identity_single)
{
    check_adjoint(KERNEST_SINGLE, 1e-5);
}

/* ---- FFT against the direct sum --------------------------------------------------------------- */

static void check_direct(kernest_precision prec, double tol)
{
    unsigned long long seed = 777;
    for (size_t ci = 0; ci < NCASES; ci++) {
        const opcase *c = &cases[ci];
        opfix f;
        fix_open(&f, c, prec, &seed);
        kernest_array *K = tu_random_array(c->kh, c->kw, -1.0, 1.0, &seed);
        cr_assert_not_null(K);
        tu_stored(f.be, K->data, K->size);
        double *hk = malloc(f.pb.m * sizeof *hk);
        cr_assert_not_null(hk);
        tu_apply(f.be, 0, K->data, f.pb.n, hk, f.pb.m);
        double num = 0, den = 0, worst = 0;
        size_t off = 0;
        for (size_t p = 0; p < c->npairs; p++) {
            kernest_array *D = tu_direct_convolve(f.A[p], K, c->mode);
            cr_assert_not_null(D, "%s: direct convolution failed", c->label);
            const kn_pair *pp = &f.pb.pairs[p];
            cr_assert(D->shape[0] == pp->hb && D->shape[1] == pp->wb,
                      "%s: pair %zu window %zux%zu, direct gives %zux%zu", c->label, p, pp->hb,
                      pp->wb, D->shape[0], D->shape[1]);
            cr_assert_eq(pp->offset, off, "%s: pair %zu offset %zu, expected %zu", c->label, p,
                         pp->offset, off);
            for (size_t y = 0; y < pp->hb; y++)
                for (size_t x = 0; x < pp->wb; x++) {
                    double ref = (c->mask && masked_at(y, x)) ? 0.0 : D->data[y * pp->wb + x];
                    double d = hk[off + y * pp->wb + x] - ref;
                    num += d * d;
                    den += ref * ref;
                    if (fabs(d) > worst)
                        worst = fabs(d);
                }
            off += pp->hb * pp->wb;
            kernest_array_destroy(&D);
        }
        cr_assert_eq(off, f.pb.m, "%s: m = %zu, windows sum to %zu", c->label, f.pb.m, off);
        double rel = sqrt(num / den);
        cr_assert(den > 0 && rel <= tol,
                  "%s (%s): FFT operator vs direct sum: relative error %.3g > %.1g (worst pixel %.3g)",
                  c->label, prec == KERNEST_SINGLE ? "single" : "double", rel, tol, worst);
        free(hk);
        kernest_array_destroy(&K);
        fix_close(&f);
    }
}

Test(operator, fft_matches_direct_sum_double)
{
    check_direct(KERNEST_DOUBLE, 1e-12);
}

Test(operator, fft_matches_direct_sum_single)
{
    check_direct(KERNEST_SINGLE, 1e-5);
}

/* The adjoint against the direct correlation: (Hᵀr)[u,v] = Σ_pairs Σ_(y,x) mask·r[y,x]·A[y+r0-u, x+c0-v]. */
Test(operator, adjoint_matches_direct_correlation)
{
    unsigned long long seed = 4242;
    for (size_t ci = 0; ci < NCASES; ci++) {
        const opcase *c = &cases[ci];
        opfix f;
        fix_open(&f, c, KERNEST_DOUBLE, &seed);
        double *r = tu_random_vec_new(f.pb.m, -1.0, 1.0, &seed), *htr = malloc(f.pb.n * sizeof *htr);
        double *ref = calloc(f.pb.n, sizeof *ref);
        cr_assert(htr && ref);
        tu_apply(f.be, 1, r, f.pb.m, htr, f.pb.n);
        for (size_t p = 0; p < c->npairs; p++) {
            const kn_pair *pp = &f.pb.pairs[p];
            for (size_t y = 0; y < pp->hb; y++)
                for (size_t x = 0; x < pp->wb; x++) {
                    if (c->mask && masked_at(y, x))
                        continue;
                    double rv = r[pp->offset + y * pp->wb + x];
                    size_t fy = y + pp->row0, fx = x + pp->col0; /* full-result coordinates */
                    for (size_t u = 0; u < c->kh; u++)
                        for (size_t v = 0; v < c->kw; v++)
                            if (fy >= u && fy - u < pp->ha && fx >= v && fx - v < pp->wa)
                                ref[u * c->kw + v] += rv * pp->A[(fy - u) * pp->wa + (fx - v)];
                }
        }
        double num = 0, den = 0;
        for (size_t i = 0; i < f.pb.n; i++) {
            num += (htr[i] - ref[i]) * (htr[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        double rel = sqrt(num / den);
        cr_assert(den > 0 && rel <= 1e-12, "%s: H'r vs direct correlation: relative error %.3g",
                  c->label, rel);
        free(r);
        free(htr);
        free(ref);
        fix_close(&f);
    }
}

/* ---- linearity -------------------------------------------------------------------------------- */

static void check_linearity(kernest_precision prec, double tol)
{
    unsigned long long seed = 99;
    const double a = 1.75, b = -0.625;
    for (size_t ci = 0; ci < NCASES; ci++) {
        const opcase *c = &cases[ci];
        opfix f;
        fix_open(&f, c, prec, &seed);
        const size_t n = f.pb.n, m = f.pb.m;
        double *k1 = tu_random_vec_new(n, -1.0, 1.0, &seed), *k2 = tu_random_vec_new(n, -1.0, 1.0, &seed);
        double *kc = malloc(n * sizeof *kc);
        double *h1 = malloc(m * sizeof *h1), *h2 = malloc(m * sizeof *h2), *hc = malloc(m * sizeof *hc);
        cr_assert(kc && h1 && h2 && hc);
        tu_stored(f.be, k1, n);
        tu_stored(f.be, k2, n);
        for (size_t i = 0; i < n; i++)
            kc[i] = a * k1[i] + b * k2[i];
        tu_stored(f.be, kc, n);
        tu_apply(f.be, 0, k1, n, h1, m);
        tu_apply(f.be, 0, k2, n, h2, m);
        tu_apply(f.be, 0, kc, n, hc, m);
        double num = 0, den = 0;
        for (size_t i = 0; i < m; i++) {
            double ref = a * h1[i] + b * h2[i];
            num += (hc[i] - ref) * (hc[i] - ref);
            den += ref * ref;
        }
        double rel = sqrt(num / den);
        cr_assert(den > 0 && rel <= tol, "%s (%s): H(a k1 + b k2) vs a Hk1 + b Hk2: relative %.3g > %.1g",
                  c->label, prec == KERNEST_SINGLE ? "single" : "double", rel, tol);
        free(k1);
        free(k2);
        free(kc);
        free(h1);
        free(h2);
        free(hc);
        fix_close(&f);
    }
}

Test(operator, linearity_double)
{
    check_linearity(KERNEST_DOUBLE, 1e-12);
}

Test(operator, linearity_single)
{
    check_linearity(KERNEST_SINGLE, 1e-5);
}

/* Applying twice gives the same answer (no state leaks from one application to the next), and
 * two threads give what one thread gives. */
Test(operator, repeated_and_threaded_application)
{
    unsigned long long seed = 5, seed1 = 5;
    const opcase *c = &cases[4]; /* several pairs, masked */
    opfix f, g;
    fix_open(&g, c, KERNEST_DOUBLE, &seed1);
    f_threads = 2;
    fix_open(&f, c, KERNEST_DOUBLE, &seed);
    cr_assert_eq(f.be->threads, 2);
    double *k = tu_random_vec_new(f.pb.n, -1.0, 1.0, &seed), *r = tu_random_vec_new(f.pb.m, -1.0, 1.0, &seed);
    double *h1 = malloc(f.pb.m * sizeof *h1), *h2 = malloc(f.pb.m * sizeof *h2);
    double *t1 = malloc(f.pb.n * sizeof *t1), *t2 = malloc(f.pb.n * sizeof *t2);
    cr_assert(h1 && h2 && t1 && t2);
    tu_apply(f.be, 0, k, f.pb.n, h1, f.pb.m);
    tu_apply(f.be, 1, r, f.pb.m, t1, f.pb.n);
    tu_apply(f.be, 0, k, f.pb.n, h2, f.pb.m);
    tu_apply(f.be, 1, r, f.pb.m, t2, f.pb.n);
    cr_assert(memcmp(h1, h2, f.pb.m * sizeof *h1) == 0, "op_apply differs between two calls");
    cr_assert(memcmp(t1, t2, f.pb.n * sizeof *t1) == 0, "op_adjoint differs between two calls");
    double *h3 = malloc(f.pb.m * sizeof *h3), *t3 = malloc(f.pb.n * sizeof *t3);
    cr_assert(h3 && t3);
    tu_apply(g.be, 0, k, g.pb.n, h3, g.pb.m);
    tu_apply(g.be, 1, r, g.pb.m, t3, g.pb.n);
    for (size_t i = 0; i < f.pb.m; i++)
        cr_assert(fabs(h3[i] - h1[i]) <= 1e-13, "Hk at %zu: 1 thread %.17g, 2 threads %.17g", i, h3[i], h1[i]);
    for (size_t i = 0; i < f.pb.n; i++)
        cr_assert(fabs(t3[i] - t1[i]) <= 1e-13, "H'r at %zu: 1 thread %.17g, 2 threads %.17g", i, t3[i], t1[i]);
    free(h3);
    free(t3);
    fix_close(&g);
    free(k);
    free(r);
    free(h1);
    free(h2);
    free(t1);
    free(t2);
    fix_close(&f);
}

/* ---- regularisers ----------------------------------------------------------------------------- */

/* D k: forward differences along columns ((kh-1)×kw) then along rows (kh×(kw-1)), no wrap */
static size_t forward_diff(const double *k, size_t kh, size_t kw, double *d)
{
    size_t j = 0;
    for (size_t y = 0; y + 1 < kh; y++)
        for (size_t x = 0; x < kw; x++)
            d[j++] = k[(y + 1) * kw + x] - k[y * kw + x];
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x + 1 < kw; x++)
            d[j++] = k[y * kw + x + 1] - k[y * kw + x];
    return j;
}

/* Dᵀ d, the transpose of forward_diff written out independently */
static void forward_diff_t(const double *d, size_t kh, size_t kw, double *out)
{
    memset(out, 0, kh * kw * sizeof *out);
    size_t j = 0;
    for (size_t y = 0; y + 1 < kh; y++)
        for (size_t x = 0; x < kw; x++, j++) {
            out[(y + 1) * kw + x] += d[j];
            out[y * kw + x] -= d[j];
        }
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x + 1 < kw; x++, j++) {
            out[y * kw + x + 1] += d[j];
            out[y * kw + x] -= d[j];
        }
}

static void check_gram(kernest_precision prec, double tol)
{
    unsigned long long seed = 31337;
    static const size_t shapes[][2] = {{1, 1}, {1, 6}, {5, 1}, {4, 4}, {7, 5}, {6, 9}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const size_t kh = shapes[si][0], kw = shapes[si][1], n = kh * kw;
        opcase c = {"gram", KERNEST_MODE_SAME, kh, kw, 1, {{6, 7}}, 0};
        opfix f;
        fix_open(&f, &c, prec, &seed);
        double *a = tu_random_vec_new(n, -1.0, 1.0, &seed), *b = tu_random_vec_new(n, -1.0, 1.0, &seed);
        double *ga = malloc(n * sizeof *ga), *gb = malloc(n * sizeof *gb);
        double *d = malloc((2 * n + 1) * sizeof *d), *ref = malloc(n * sizeof *ref);
        cr_assert(ga && gb && d && ref);
        tu_stored(f.be, a, n);
        tu_stored(f.be, b, n);

        /* NONE: zero */
        tu_gram(f.be, KERNEST_REG_NONE, a, ga, n);
        for (size_t i = 0; i < n; i++)
            cr_assert(ga[i] == 0.0, "%zux%zu: reg none gives %g at %zu", kh, kw, ga[i], i);

        /* RIDGE: identity */
        tu_gram(f.be, KERNEST_REG_RIDGE, a, ga, n);
        for (size_t i = 0; i < n; i++)
            cr_assert(ga[i] == a[i], "%zux%zu: ridge LᵀL k differs from k at %zu: %.17g vs %.17g",
                      kh, kw, i, ga[i], a[i]);

        /* GRAD: against Dᵀ D written out, and <k, LᵀL k> = ‖Dk‖² */
        tu_gram(f.be, KERNEST_REG_GRAD, a, ga, n);
        size_t nd = forward_diff(a, kh, kw, d);
        cr_assert_eq(nd, (kh - 1) * kw + kh * (kw - 1));
        forward_diff_t(d, kh, kw, ref);
        double num = 0, den = 0;
        for (size_t i = 0; i < n; i++) {
            num += (ga[i] - ref[i]) * (ga[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        double sc = sqrt(den) > 0 ? sqrt(den) : 1.0;
        cr_assert(sqrt(num) / sc <= tol, "%zux%zu: grad LᵀL k vs DᵀDk: relative %.3g", kh, kw,
                  sqrt(num) / sc);
        double q = tu_dot(a, ga, n), dd = tu_dot(d, d, nd);
        cr_assert(fabs(q - dd) <= tol * fmax(1.0, dd), "%zux%zu: <k,LᵀLk> = %.17g but ‖Dk‖² = %.17g",
                  kh, kw, q, dd);
        if (n == 1)
            cr_assert(ga[0] == 0.0, "1x1 kernel has no differences but LᵀL k = %g", ga[0]);

        /* symmetry <LᵀL a, b> = <a, LᵀL b>, and LᵀL of a constant is zero */
        tu_gram(f.be, KERNEST_REG_GRAD, b, gb, n);
        double s1, s2;
        tu_dot_test(n, a, gb, n, ga, b, &s1, &s2);
        cr_assert(fabs(s1 - s2) <= tol * (nrm(ga, n) * nrm(b, n) + 1e-300),
                  "%zux%zu: <LᵀL a, b> = %.17g, <a, LᵀL b> = %.17g", kh, kw, s1, s2);
        for (size_t i = 0; i < n; i++)
            b[i] = 3.5;
        tu_gram(f.be, KERNEST_REG_GRAD, b, gb, n);
        for (size_t i = 0; i < n; i++)
            cr_assert(fabs(gb[i]) <= tol, "%zux%zu: LᵀL of a constant is %g at %zu", kh, kw, gb[i], i);

        free(a);
        free(b);
        free(ga);
        free(gb);
        free(d);
        free(ref);
        fix_close(&f);
    }
}

Test(operator, reg_gram_double)
{
    check_gram(KERNEST_DOUBLE, 1e-12);
}

Test(operator, reg_gram_single)
{
    check_gram(KERNEST_SINGLE, 1e-5);
}

/* ---- vectors through the table ---------------------------------------------------------------- */

Test(operator, vector_operations)
{
    for (int pi = 0; pi < 2; pi++) {
        kernest_precision prec = pi ? KERNEST_SINGLE : KERNEST_DOUBLE;
        const double tol = pi ? 1e-6 : 1e-14;
        kn_backend *be = NULL;
        cr_assert_eq(kn_backend_cpu_create(prec, 0, &be), KERNEST_OK);
        const kn_backend_ops *o = be->ops;
        const size_t n = 1001;
        kn_vec *x = NULL, *y = NULL;
        cr_assert_eq(o->vec_create(be, n, &x), KERNEST_OK);
        cr_assert_eq(o->vec_create(be, n, &y), KERNEST_OK);
        double *hx = malloc(n * sizeof *hx), *hy = malloc(n * sizeof *hy), *out = malloc(n * sizeof *out);
        cr_assert(hx && hy && out);
        cr_assert_eq(o->vec_download(be, x, out), KERNEST_OK);
        for (size_t i = 0; i < n; i++)
            cr_assert(out[i] == 0.0, "vec_create is not zero-filled at %zu: %g", i, out[i]);
        for (size_t i = 0; i < n; i++) {
            hx[i] = 0.5 + (double)(i % 17) / 16.0;
            hy[i] = -1.0 + (double)(i % 13) / 8.0;
        }
        o->vec_upload(be, x, hx);
        o->vec_upload(be, y, hy);
        tu_stored(be, hx, n);
        tu_stored(be, hy, n);
        double d, ref = tu_dot(hx, hy, n);
        cr_assert_eq(o->vec_dot(be, x, y, &d), KERNEST_OK);
        cr_assert(fabs(d - ref) <= tol * fabs(ref) + 1e-12, "dot %.17g vs %.17g", d, ref);
        cr_assert_eq(o->vec_nrm2(be, x, &d), KERNEST_OK);
        cr_assert(fabs(d - nrm(hx, n)) <= tol * nrm(hx, n), "nrm2 %.17g vs %.17g", d, nrm(hx, n));
        cr_assert_eq(o->vec_axpy(be, y, 2.0, x), KERNEST_OK); /* y += 2x */
        o->vec_download(be, y, out);
        for (size_t i = 0; i < n; i++)
            cr_assert(fabs(out[i] - (hy[i] + 2.0 * hx[i])) <= tol * 4, "axpy at %zu: %g", i, out[i]);
        o->vec_upload(be, y, hy);
        cr_assert_eq(o->vec_aypx(be, y, 0.5, x), KERNEST_OK); /* y = x + 0.5 y */
        o->vec_download(be, y, out);
        for (size_t i = 0; i < n; i++)
            cr_assert(fabs(out[i] - (hx[i] + 0.5 * hy[i])) <= tol * 4, "aypx at %zu: %g", i, out[i]);
        cr_assert_eq(o->vec_scale(be, y, -2.0), KERNEST_OK);
        o->vec_download(be, y, out);
        for (size_t i = 0; i < n; i++)
            cr_assert(fabs(out[i] + 2.0 * (hx[i] + 0.5 * hy[i])) <= tol * 8, "scale at %zu: %g", i, out[i]);
        cr_assert_eq(o->vec_copy(be, y, x), KERNEST_OK);
        o->vec_download(be, y, out);
        cr_assert(memcmp(out, hx, n * sizeof *out) == 0, "vec_copy differs");
        cr_assert_eq(o->vec_fill(be, y, 0.25), KERNEST_OK);
        o->vec_download(be, y, out);
        for (size_t i = 0; i < n; i++)
            cr_assert(out[i] == 0.25, "fill at %zu: %g", i, out[i]);
        o->vec_destroy(be, &x);
        o->vec_destroy(be, &y);
        cr_assert(x == NULL && y == NULL, "vec_destroy must clear the pointer");
        o->vec_destroy(be, &x); /* NULL allowed */
        free(hx);
        free(hy);
        free(out);
        kn_backend_destroy(&be);
        kn_backend_destroy(&be);
    }
}

/* ---- the public forward model ----------------------------------------------------------------- */

Test(operator, kernest_convolve_matches_direct)
{
    static const struct {
        kernest_mode mode;
        size_t ha, wa, kh, kw;
    } cv[] = {
        {KERNEST_MODE_FULL, 7, 5, 3, 4},   {KERNEST_MODE_FULL, 4, 6, 9, 8},
        {KERNEST_MODE_SAME, 9, 8, 4, 5},   {KERNEST_MODE_SAME, 6, 6, 11, 11},
        {KERNEST_MODE_SAME, 5, 7, 12, 2},  {KERNEST_MODE_VALID, 10, 9, 3, 4},
        {KERNEST_MODE_VALID, 4, 5, 9, 7},  {KERNEST_MODE_VALID, 6, 6, 6, 6},
        {KERNEST_MODE_SAME, 1, 1, 1, 1},   {KERNEST_MODE_FULL, 1, 9, 3, 1},
    };
    unsigned long long seed = 2024;
    for (size_t i = 0; i < sizeof cv / sizeof cv[0]; i++) {
        kernest_array *A = tu_random_array(cv[i].ha, cv[i].wa, -1, 1, &seed);
        kernest_array *K = tu_random_array(cv[i].kh, cv[i].kw, -1, 1, &seed);
        kernest_array *B = NULL;
        int st = kernest_convolve(A, K, cv[i].mode, &B);
        cr_assert_eq(st, KERNEST_OK, "case %zu: kernest_convolve -> %d (%s)", i, st, kernest_last_error());
        kernest_array *D = tu_direct_convolve(A, K, cv[i].mode);
        cr_assert_not_null(D);
        cr_assert(B->ndim == 2 && B->shape[0] == D->shape[0] && B->shape[1] == D->shape[1],
                  "case %zu (%s): B is %zux%zu, expected %zux%zu", i, kernest_mode_name(cv[i].mode),
                  B->shape[0], B->shape[1], D->shape[0], D->shape[1]);
        double rel = tu_rel_diff(B, D);
        cr_assert(rel <= 1e-12, "case %zu (%s %zux%zu * %zux%zu): relative error %.3g", i,
                  kernest_mode_name(cv[i].mode), cv[i].ha, cv[i].wa, cv[i].kh, cv[i].kw, rel);
        kernest_array_destroy(&A);
        kernest_array_destroy(&K);
        kernest_array_destroy(&B);
        kernest_array_destroy(&D);
    }
}

Test(operator, kernest_convolve_rejects_bad_input)
{
    unsigned long long seed = 1;
    kernest_array *A = tu_random_array(5, 5, -1, 1, &seed), *K = tu_random_array(3, 3, -1, 1, &seed);
    kernest_array *B = NULL;
    K->data[4] = NAN;
    int st = kernest_convolve(A, K, KERNEST_MODE_SAME, &B);
    cr_assert_eq(st, KERNEST_E_VALUE, "NaN in K -> %d (%s)", st, kernest_last_error());
    cr_assert_null(B);
    K->data[4] = 1.0;
    A->data[7] = INFINITY;
    st = kernest_convolve(A, K, KERNEST_MODE_SAME, &B);
    cr_assert_eq(st, KERNEST_E_VALUE, "Inf in A -> %d (%s)", st, kernest_last_error());
    cr_assert_null(B);
    A->data[7] = 0.0;
    kernest_array *K2 = tu_random_array(6, 2, -1, 1, &seed); /* taller but narrower than A */
    st = kernest_convolve(A, K2, KERNEST_MODE_VALID, &B);
    cr_assert_eq(st, KERNEST_E_SHAPE, "valid with 5x5 A and 6x2 K -> %d (%s)", st, kernest_last_error());
    cr_assert_null(B);
    st = kernest_convolve(A, K, (kernest_mode)7, &B);
    cr_assert_eq(st, KERNEST_E_INVALID, "mode 7 -> %d", st);
    st = kernest_convolve(NULL, K, KERNEST_MODE_SAME, &B);
    cr_assert_eq(st, KERNEST_E_INVALID, "NULL A -> %d", st);
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    kernest_array_destroy(&K2);
}
