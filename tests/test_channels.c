/* test_channels.c — several input and output channels: the operator against the definition term
 * by term (a layer's stride, dilation and groups included), the adjoint identity, recovery of a
 * whole layer, --correlate, layouts and their errors. */
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

/* ---- helpers ---------------------------------------------------------------------------------- */

static kernest_array *rand_nd(int ndim, const size_t *shape, unsigned long long *seed)
{
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_create(ndim, shape, &a), KERNEST_OK);
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = 2.0 * tu_rand(seed) - 1.0;
    return a;
}

/* a copy of the h×w plane starting at src as a 2-D array */
static kernest_array *plane(const double *src, size_t h, size_t w)
{
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_create2(h, w, &a), KERNEST_OK);
    memcpy(a->data, src, h * w * sizeof *src);
    return a;
}

/* ---- the operator against direct sums -------------------------------------------------------- */

typedef struct chcase {
    const char *label;
    kernest_mode mode;
    size_t kh, kw, cin, cout;
    size_t s1, h1, w1; /* first pair: a 4-D array of s1 samples */
    size_t h2, w2;     /* second pair: one 3-D C×H×W sample (0: none) */
    int mask;
    kernest_geometry g; /* a layer's stride, dilation, groups ({0}: all 1) */
} chcase;

#define GEOM(sh, sw, dh, dw, groups) ((kernest_geometry){sh, sw, dh, dw, groups})

static const chcase cases[] = {
    {"same odd 3x3, 3->2", KERNEST_MODE_SAME, 3, 3, 3, 2, 2, 7, 6, 5, 9, 0, GEOM(1, 1, 1, 1, 1)},
    {"same even 4x2, 2->3, masked", KERNEST_MODE_SAME, 4, 2, 2, 3, 1, 6, 8, 0, 0, 1, GEOM(1, 1, 1, 1, 1)},
    {"same K larger than A 9x8, 3->2", KERNEST_MODE_SAME, 9, 8, 3, 2, 2, 5, 4, 0, 0, 0, GEOM(1, 1, 1, 1, 1)},
    {"full odd 3x5, 2->2, masked", KERNEST_MODE_FULL, 3, 5, 2, 2, 2, 6, 7, 4, 4, 1, GEOM(1, 1, 1, 1, 1)},
    {"full even 2x4, 1->3", KERNEST_MODE_FULL, 2, 4, 1, 3, 3, 5, 5, 0, 0, 0, GEOM(1, 1, 1, 1, 1)},
    {"valid odd 3x3, 3->1", KERNEST_MODE_VALID, 3, 3, 3, 1, 2, 8, 7, 6, 9, 0, GEOM(1, 1, 1, 1, 1)},
    {"valid even 4x4, 2->2, masked", KERNEST_MODE_VALID, 4, 4, 2, 2, 1, 9, 8, 0, 0, 1, GEOM(1, 1, 1, 1, 1)},
    /* a layer's stride, dilation and groups (depthwise included) */
    {"valid, stride 2, 3x3, 4->6 in 2 groups", KERNEST_MODE_VALID, 3, 3, 4, 6, 2, 11, 12, 9, 10, 0, GEOM(2, 2, 1, 1, 2)},
    {"valid, dilation 2x3, 3x2, 2->2, masked", KERNEST_MODE_VALID, 3, 2, 2, 2, 1, 12, 13, 0, 0, 1, GEOM(1, 1, 2, 3, 1)},
    {"valid, depthwise x2, stride 1x3, dilation 2", KERNEST_MODE_VALID, 3, 3, 3, 6, 2, 13, 14, 0, 0, 0,
     GEOM(1, 3, 2, 2, 3)},
    {"same, stride 3x2, even 4x2, 2->4 in 2 groups, masked", KERNEST_MODE_SAME, 4, 2, 2, 4, 1, 10, 9, 7, 8, 1,
     GEOM(3, 2, 1, 1, 2)},
    {"same, dilation 3, K as large as A", KERNEST_MODE_SAME, 5, 4, 1, 1, 1, 9, 10, 0, 0, 0, GEOM(1, 1, 3, 3, 1)},
    {"full, stride 2, dilation 2x1, 3x3, 2->3, masked", KERNEST_MODE_FULL, 3, 3, 2, 3, 2, 7, 8, 0, 0, 1,
     GEOM(2, 2, 2, 1, 1)},
};
#define NCASES (sizeof cases / sizeof cases[0])

static int masked_at(size_t i, size_t j)
{
    return (i * 7 + j * 3) % 5 == 0;
}

typedef struct chfix {
    kernest_array *A[2], *B[2];
    size_t npairs;
    kn_problem pb;
    kn_backend *be;
} chfix;

static void fix_open(chfix *f, const chcase *c, kernest_precision prec, unsigned long long *seed)
{
    memset(f, 0, sizeof *f);
    size_t sa[4] = {c->s1, c->cin, c->h1, c->w1};
    f->A[0] = rand_nd(4, sa, seed);
    f->npairs = 1;
    if (c->h2) {
        size_t sa2[3] = {c->cin, c->h2, c->w2};
        f->A[1] = rand_nd(3, sa2, seed);
        f->npairs = 2;
    }
    if (c->mask)
        for (size_t p = 0; p < f->npairs; p++) {
            size_t hb, wb, h = p ? c->h2 : c->h1, w = p ? c->w2 : c->w1;
            cr_assert_eq(kn_layer_window(c->mode, h, w, c->kh, c->kw, &c->g, &hb, &wb, NULL, NULL), KERNEST_OK);
            size_t sb4[4] = {c->s1, c->cout, hb, wb}, sb3[3] = {c->cout, hb, wb};
            f->B[p] = p ? rand_nd(3, sb3, seed) : rand_nd(4, sb4, seed);
            for (size_t q = 0; q < f->B[p]->size / (hb * wb); q++)
                for (size_t y = 0; y < hb; y++)
                    for (size_t x = 0; x < wb; x++)
                        if (masked_at(y + q, x))
                            f->B[p]->data[q * hb * wb + y * wb + x] = NAN;
        }
    int st = kn_problem_init_channels(&f->pb, (const kernest_array *const *)f->A,
                                      c->mask ? (const kernest_array *const *)f->B : NULL, f->npairs,
                                      c->mode, c->kh, c->kw, KERNEST_LAYOUT_AUTO, c->cout, &c->g, NULL);
    cr_assert_eq(st, KERNEST_OK, "%s: init -> %d (%s)", c->label, st, kernest_last_error());
    cr_assert_eq(f->pb.cin, c->cin);
    cr_assert_eq(f->pb.cout, c->cout);
    cr_assert_eq(f->pb.npairs, c->s1 + (c->h2 ? 1 : 0));
    cr_assert_eq(f->pb.n, c->cout * (c->cin / (size_t)c->g.groups) * c->kh * c->kw, "%s: the unknowns are the "
                 "layer's weights", c->label);
    cr_assert(f->pb.channels);
    cr_assert_eq(kn_backend_cpu_create(prec, 1, &f->be), KERNEST_OK);
    st = f->be->ops->op_setup(f->be, &f->pb);
    cr_assert_eq(st, KERNEST_OK, "%s: op_setup -> %d (%s)", c->label, st, kernest_last_error());
}

static void fix_close(chfix *f)
{
    kn_backend_destroy(&f->be);
    kn_problem_free(&f->pb);
    for (int i = 0; i < 2; i++) {
        kernest_array_destroy(&f->A[i]);
        kernest_array_destroy(&f->B[i]);
    }
}

/* B[s,o][y,x] = Σ_i Σ_ty,tx K[o,i,ty,tx] A[s, g·kin+i][fy − ty·dh, fx − tx·dw], (fy, fx) =
 * (row0 + y·sh, col0 + x·sw) of the full convolution, masked: the definition term by term */
static void reference(const chfix *f, const chcase *c, const double *k, double *ref)
{
    const kn_problem *pb = &f->pb;
    const size_t groups = (size_t)c->g.groups, kin = c->cin / groups, per_group = c->cout / groups;
    for (size_t s = 0; s < pb->npairs; s++) {
        const kn_pair *p = &pb->pairs[s];
        for (size_t o = 0; o < c->cout; o++)
            for (size_t y = 0; y < p->hb; y++)
                for (size_t x = 0; x < p->wb; x++) {
                    const long fy = (long)(p->row0 + y * (size_t)c->g.stride_h);
                    const long fx = (long)(p->col0 + x * (size_t)c->g.stride_w);
                    double v = 0;
                    for (size_t i = 0; i < kin; i++) {
                        const double *a = p->A + (o / per_group * kin + i) * p->ha * p->wa;
                        for (size_t ty = 0; ty < c->kh; ty++)
                            for (size_t tx = 0; tx < c->kw; tx++) {
                                const long ay = fy - (long)ty * c->g.dilation_h, ax = fx - (long)tx * c->g.dilation_w;
                                if (ay >= 0 && ay < (long)p->ha && ax >= 0 && ax < (long)p->wa)
                                    v += k[((o * kin + i) * c->kh + ty) * c->kw + tx] * a[ay * (long)p->wa + ax];
                            }
                    }
                    const size_t j = o * p->hb * p->wb + y * p->wb + x;
                    ref[p->offset + j] = p->B && isnan(p->B[j]) ? 0.0 : v;
                }
    }
}

Test(channels, apply_matches_direct_channel_sums)
{
    unsigned long long seed = 4242;
    for (size_t ci = 0; ci < NCASES; ci++) {
        const chcase *c = &cases[ci];
        chfix f;
        fix_open(&f, c, KERNEST_DOUBLE, &seed);
        double *k = tu_random_vec_new(f.pb.n, -1.0, 1.0, &seed);
        double *hk = malloc(f.pb.m * sizeof *hk), *ref = malloc(f.pb.m * sizeof *ref);
        cr_assert(hk && ref);
        tu_apply(f.be, 0, k, f.pb.n, hk, f.pb.m);
        reference(&f, c, k, ref);
        double num = 0, den = 0;
        for (size_t j = 0; j < f.pb.m; j++) {
            num += (hk[j] - ref[j]) * (hk[j] - ref[j]);
            den += ref[j] * ref[j];
        }
        cr_assert(den > 0 && sqrt(num / den) < 1e-12, "%s: relative difference %.3g", c->label,
                  sqrt(num / den));
        free(k);
        free(hk);
        free(ref);
        fix_close(&f);
    }
}

static void check_adjoint(kernest_precision prec, double tol)
{
    unsigned long long seed = 777;
    for (size_t ci = 0; ci < NCASES; ci++) {
        const chcase *c = &cases[ci];
        chfix f;
        fix_open(&f, c, prec, &seed);
        double lhs, rhs;
        const double rel = tu_operator_dot_test(f.be, f.pb.n, f.pb.m, &seed, &lhs, &rhs, NULL);
        cr_assert(rel <= tol, "%s: <Hk,r> = %.17g, <k,H'r> = %.17g", c->label, lhs, rhs);
        fix_close(&f);
    }
}

Test(channels, adjoint_identity_double)
{
    check_adjoint(KERNEST_DOUBLE, 1e-13);
}

Test(channels, adjoint_identity_single)
{
    check_adjoint(KERNEST_SINGLE, 1e-5);
}

/* C×H×W with one channel is exactly the 2-D operator (same transforms, same sums) */
Test(channels, one_channel_equals_2d)
{
    unsigned long long seed = 99;
    kernest_array *A2 = tu_random_array(9, 7, -1, 1, &seed);
    size_t s3[3] = {1, 9, 7};
    kernest_array *A3 = NULL;
    cr_assert_eq(kernest_array_create(3, s3, &A3), KERNEST_OK);
    memcpy(A3->data, A2->data, A2->size * sizeof(double));
    kernest_array *K = tu_random_array(5, 4, -1, 1, &seed);
    size_t s4[4] = {1, 1, 5, 4};
    kernest_array *K4 = NULL;
    cr_assert_eq(kernest_array_create(4, s4, &K4), KERNEST_OK);
    memcpy(K4->data, K->data, K->size * sizeof(double));
    for (int mode = 0; mode < 3; mode++) {
        kernest_array *b2 = NULL, *b3 = NULL;
        cr_assert_eq(kernest_convolve(A2, K, (kernest_mode)mode, &b2), KERNEST_OK);
        cr_assert_eq(kernest_convolve_channels(A3, K4, (kernest_mode)mode, KERNEST_LAYOUT_AUTO, 0, &b3),
                     KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(b3->ndim, 3);
        cr_assert_eq(b3->shape[0], 1);
        cr_assert_eq(b3->size, b2->size);
        cr_assert(!memcmp(b3->data, b2->data, b2->size * sizeof(double)), "mode %d: not bitwise equal", mode);
        kernest_array_destroy(&b2);
        kernest_array_destroy(&b3);
    }
    kernest_array_destroy(&A2);
    kernest_array_destroy(&A3);
    kernest_array_destroy(&K);
    kernest_array_destroy(&K4);
}

/* the grad regulariser differences inside each kernel, never across two */
Test(channels, grad_gram_is_per_kernel)
{
    unsigned long long seed = 5;
    const chcase *c = &cases[0];
    chfix f;
    fix_open(&f, c, KERNEST_DOUBLE, &seed);
    const size_t n = f.pb.n, per = c->kh * c->kw;
    double *k = malloc(n * sizeof *k), *out = malloc(n * sizeof *out);
    cr_assert(k && out);
    for (size_t j = 0; j < n; j++)
        k[j] = (double)(j / per) * 3.0 - 2.0; /* constant in each kernel, different between them */
    tu_gram(f.be, KERNEST_REG_GRAD, k, out, n);
    for (size_t j = 0; j < n; j++)
        cr_assert_eq(out[j], 0.0, "LᵀL of per-kernel constants is %g at %zu", out[j], j);
    /* and inside one kernel it is the graph Laplacian: a spike at the centre of kernel 1 */
    memset(k, 0, n * sizeof *k);
    const size_t centre = per + (c->kh / 2) * c->kw + c->kw / 2;
    k[centre] = 1.0;
    tu_gram(f.be, KERNEST_REG_GRAD, k, out, n);
    cr_assert_eq(out[centre], 4.0);
    cr_assert_eq(out[centre - 1], -1.0);
    cr_assert_eq(out[centre - c->kw], -1.0);
    free(k);
    free(out);
    fix_close(&f);
}

/* ---- estimation -------------------------------------------------------------------------------- */

/* a 3-input, 2-output layer of 5x5 kernels, two samples of 3x20x20 */
static void make_layer(kernest_array **A, kernest_array **B, kernest_array **K, int correlate, double noise)
{
    unsigned long long seed = 2024;
    size_t sa[4] = {2, 3, 20, 20}, sk[4] = {2, 3, 5, 5};
    *A = rand_nd(4, sa, &seed);
    *K = rand_nd(4, sk, &seed);
    cr_assert_eq(kernest_convolve_channels(*A, *K, KERNEST_MODE_SAME, KERNEST_LAYOUT_AUTO, correlate, B),
                 KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq((*B)->ndim, 4);
    cr_assert_eq((*B)->shape[0], 2);
    cr_assert_eq((*B)->shape[1], 2);
    for (size_t i = 0; i < (*B)->size; i++)
        (*B)->data[i] += noise * (2.0 * tu_rand(&seed) - 1.0);
}

static kernest_array *solve(const kernest_array *A, const kernest_array *B, int correlate, int background,
                            kernest_report **rep)
{
    kernest_options opt = tu_cpu_options(5, 5);
    opt.tol = 1e-12;
    opt.maxiter = 3000;
    opt.correlate = correlate;
    opt.background = background;
    kernest_array *K = NULL;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    int st = kernest_estimate(As, Bs, 1, &opt, &K, rep);
    cr_assert_eq(st, KERNEST_OK, "estimate -> %d (%s)", st, kernest_last_error());
    return K;
}

Test(channels, recovers_a_3_to_2_layer)
{
    kernest_array *A, *B, *K;
    make_layer(&A, &B, &K, 0, 1e-9);
    kernest_report *rep = NULL;
    kernest_array *Kh = solve(A, B, 0, 0, &rep);
    cr_assert_eq(Kh->ndim, 4);
    for (int d = 0; d < 4; d++)
        cr_assert_eq(Kh->shape[d], K->shape[d]);
    double e = tu_rel_diff(Kh, K);
    cr_assert(e < 1e-6, "relative kernel error %.3g", e);
    cr_assert_eq(rep->channels_in, 3);
    cr_assert_eq(rep->channels_out, 2);
    cr_assert_eq(rep->samples, 2);
    cr_assert_eq(rep->npairs, 1);
    cr_assert_eq(rep->misfit[0].count, 2 * 2 * 20 * 20);
    char *json = NULL;
    kernest_options opt;
    kernest_options_default(&opt);
    cr_assert_eq(kernest_report_to_json(rep, &opt, NULL, &json), KERNEST_OK);
    cr_assert(strstr(json, "\"channels\""), "%s", json);
    kernest_free(json);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* --background with channels: one offset per (sample, output channel), recovered with the
 * kernels from noiseless data */
Test(channels, background_per_sample_and_output)
{
    kernest_array *A, *B, *K;
    make_layer(&A, &B, &K, 0, 0.0);
    const double beta[4] = {0.5, -1.25, 2.0, 0.75}; /* [s·2 + o] */
    for (size_t g = 0; g < 4; g++)
        for (size_t j = 0; j < 400; j++)
            B->data[g * 400 + j] += beta[g];
    B->data[1 * 400 + 33] = NAN;
    kernest_report *rep = NULL;
    kernest_array *Kh = solve(A, B, 0, 1, &rep);
    double e = tu_rel_diff(Kh, K);
    cr_assert(e < 1e-6, "relative kernel error %.3g", e);
    cr_assert_eq(rep->nbackground, 4);
    for (size_t g = 0; g < 4; g++)
        cr_assert(fabs(rep->background[g] - beta[g]) < 1e-6, "beta[%zu] = %.9g, want %g", g,
                  rep->background[g], beta[g]);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* data made with cross-correlation kernels: --correlate returns them, and equals the flipped
 * convolution estimate exactly */
Test(channels, correlate_is_flipped)
{
    kernest_array *A, *B, *K;
    make_layer(&A, &B, &K, 1, 1e-9);
    kernest_array *Kc = solve(A, B, 1, 0, NULL), *Kv = solve(A, B, 0, 0, NULL);
    double e = tu_rel_diff(Kc, K);
    cr_assert(e < 1e-6, "--correlate: relative error %.3g against the correlation kernels", e);
    kn_flip_kernels(Kv->data, 6, 5, 5);
    cr_assert(!memcmp(Kv->data, Kc->data, Kc->size * sizeof(double)), "flipped convolution estimate differs");
    kernest_array_destroy(&Kc);
    kernest_array_destroy(&Kv);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* --uncertainty with channels: C_out×C_in maps; the coverage of kernel (o, i) is the coverage of
 * the single-kernel problem on the pairs (A[s,i], B[s,o]) (NaN masks included), and --correlate
 * flips the maps as it flips K */
static void uncertainty_maps(const kernest_array *const *A, const kernest_array *const *B, size_t np,
                             int correlate, kernest_array **cov, kernest_array **sd)
{
    kernest_options opt = tu_cpu_options(5, 5);
    opt.reg = KERNEST_REG_GRAD;
    opt.lambda = 1.0;
    opt.sigma = 0.01;
    opt.uncertainty = 4;
    opt.correlate = correlate;
    kernest_array *K = NULL;
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(A, B, np, &opt, &K, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kernest_report_uncertainty(rep, cov, sd), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq((*cov)->ndim, K->ndim);
    for (int d = 0; d < K->ndim; d++)
        cr_assert((*cov)->shape[d] == K->shape[d] && (!sd || (*sd)->shape[d] == K->shape[d]), "map shape");
    kernest_array_destroy(&K);
    kernest_report_destroy(&rep);
}

Test(channels, uncertainty_maps_per_kernel)
{
    kernest_array *A, *B, *K;
    make_layer(&A, &B, &K, 0, 0.01);
    B->data[1 * 400 + 3 * 20 + 4] = NAN; /* sample 0, output 1, pixel (3, 4) */
    B->data[(2 + 0) * 400 + 7] = NAN;    /* sample 1, output 0, pixel (0, 7) */
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_array *cov = NULL, *sd = NULL, *covc = NULL, *sdc = NULL;
    uncertainty_maps(As, Bs, 1, 0, &cov, &sd);
    cr_assert_eq(cov->ndim, 4);
    for (size_t j = 0; j < sd->size; j++)
        cr_assert(sd->data[j] > 0 && isfinite(sd->data[j]), "std[%zu] = %g", j, sd->data[j]);
    for (size_t o = 0; o < 2; o++)
        for (size_t i = 0; i < 3; i++) {
            kernest_array *a[2], *b[2], *c1 = NULL;
            for (size_t s = 0; s < 2; s++) {
                a[s] = plane(A->data + (s * 3 + i) * 400, 20, 20);
                b[s] = plane(B->data + (s * 2 + o) * 400, 20, 20);
            }
            uncertainty_maps((const kernest_array *const *)a, (const kernest_array *const *)b, 2, 0, &c1, NULL);
            cr_assert_eq(c1->ndim, 2);
            for (size_t j = 0; j < 25; j++)
                cr_assert(fabs(cov->data[(o * 3 + i) * 25 + j] - c1->data[j]) <= 1e-9 * (1 + c1->data[j]),
                          "coverage of kernel (%zu,%zu) pixel %zu: %g, single-kernel %g", o, i, j,
                          cov->data[(o * 3 + i) * 25 + j], c1->data[j]);
            kernest_array_destroy(&c1);
            for (size_t s = 0; s < 2; s++) {
                kernest_array_destroy(&a[s]);
                kernest_array_destroy(&b[s]);
            }
        }
    uncertainty_maps(As, Bs, 1, 1, &covc, &sdc);
    kn_flip_kernels(covc->data, 6, 5, 5);
    kn_flip_kernels(sdc->data, 6, 5, 5);
    cr_assert(!memcmp(covc->data, cov->data, cov->size * sizeof(double)), "--correlate coverage is not the flip");
    cr_assert(!memcmp(sdc->data, sd->data, sd->size * sizeof(double)), "--correlate std is not the flip");
    kernest_array_destroy(&cov);
    kernest_array_destroy(&sd);
    kernest_array_destroy(&covc);
    kernest_array_destroy(&sdc);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* correlate in kernest_convolve_channels is scipy.signal.correlate2d: the direct sum
 * out[i,j] = Σ_uv A[i+u−r0, j+v−c0] K[u,v] with the 'same' offset r0 = kh−1−(kh−1)//2 */
Test(channels, correlate_same_window_direct)
{
    unsigned long long seed = 31;
    const size_t ks[2][2] = {{3, 3}, {4, 2}};
    for (int t = 0; t < 2; t++) {
        size_t kh = ks[t][0], kw = ks[t][1];
        kernest_array *A = tu_random_array(6, 7, -1, 1, &seed), *K = tu_random_array(kh, kw, -1, 1, &seed);
        kernest_array *Bc = NULL;
        size_t s4[4] = {1, 1, kh, kw};
        kernest_array *K4 = NULL;
        cr_assert_eq(kernest_array_create(4, s4, &K4), KERNEST_OK);
        memcpy(K4->data, K->data, K->size * sizeof(double));
        cr_assert_eq(kernest_convolve_channels(A, K4, KERNEST_MODE_SAME, KERNEST_LAYOUT_AUTO, 1, &Bc), KERNEST_OK);
        const long r0 = (long)(kh - 1 - (kh - 1) / 2), c0 = (long)(kw - 1 - (kw - 1) / 2);
        for (long i = 0; i < 6; i++)
            for (long j = 0; j < 7; j++) {
                double s = 0;
                for (long u = 0; u < (long)kh; u++)
                    for (long v = 0; v < (long)kw; v++) {
                        long y = i + u - r0, x = j + v - c0;
                        if (y >= 0 && y < 6 && x >= 0 && x < 7)
                            s += A->data[y * 7 + x] * K->data[u * (long)kw + v];
                    }
                cr_assert(fabs(Bc->data[i * 7 + j] - s) < 1e-12, "%zux%zu at %ld,%ld: %g vs %g", kh, kw, i,
                          j, Bc->data[i * 7 + j], s);
            }
        kernest_array_destroy(&A);
        kernest_array_destroy(&K);
        kernest_array_destroy(&K4);
        kernest_array_destroy(&Bc);
    }
}

/* with --correlate, --fix offsets and --support are read in the correlation frame */
Test(channels, correlate_priors_in_correlation_frame)
{
    kernest_array *A, *B, *K;
    make_layer(&A, &B, &K, 1, 1e-9);
    kernest_options opt = tu_cpu_options(4, 4); /* even: flipping moves the centre */
    opt.correlate = 1;
    opt.mode = KERNEST_MODE_SAME;
    kernest_fixed_pixel fx = {-1, 2, 0.25}; /* row (4-1)/2-1 = 0, column 1+2 = 3 */
    opt.fixed = &fx;
    opt.nfixed = 1;
    kernest_array *Kh = NULL;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    int st = kernest_estimate(As, Bs, 1, &opt, &Kh, NULL);
    cr_assert_eq(st, KERNEST_OK, "%s", kernest_last_error());
    for (size_t c = 0; c < 6; c++)
        cr_assert_eq(Kh->data[c * 16 + 0 * 4 + 3], 0.25, "kernel %zu: %g", c, Kh->data[c * 16 + 3]);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* priors act on every kernel: a box support holds the same pixels of each at 0, --nonneg
 * (FISTA) keeps each non-negative (--sum and tv act on each kernel: test_channels_priors.c; the
 * profile models: test_channels_models.c) */
Test(channels, priors_per_kernel)
{
    kernest_array *A, *B, *K;
    make_layer(&A, &B, &K, 0, 1e-9);
    kernest_options opt = tu_cpu_options(5, 5);
    opt.support = KERNEST_SUPPORT_BOX;
    opt.support_h = opt.support_w = 3;
    opt.reg = KERNEST_REG_GRAD;
    opt.lambda = 1e-3;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_array *Kh = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kh, NULL), KERNEST_OK, "%s", kernest_last_error());
    size_t nonzero_inside = 0;
    for (size_t c = 0; c < 6; c++)
        for (size_t y = 0; y < 5; y++)
            for (size_t x = 0; x < 5; x++) {
                double v = Kh->data[c * 25 + y * 5 + x];
                if (y == 0 || y == 4 || x == 0 || x == 4)
                    cr_assert_eq(v, 0.0, "kernel %zu pixel %zu,%zu = %g outside the support", c, y, x, v);
                else
                    nonzero_inside += v != 0.0;
            }
    cr_assert_eq(nonzero_inside, 6 * 9);
    kernest_array_destroy(&Kh);
    opt.support = KERNEST_SUPPORT_NONE;
    opt.reg = KERNEST_REG_NONE;
    opt.lambda = 0;
    opt.nonneg = 1;
    opt.maxiter = 300;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kh, NULL), KERNEST_OK, "%s", kernest_last_error());
    size_t positive = 0;
    for (size_t i = 0; i < Kh->size; i++) {
        cr_assert(Kh->data[i] >= 0.0, "--nonneg: %g at %zu", Kh->data[i], i);
        positive += Kh->data[i] > 0;
    }
    cr_assert(positive > 0);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* ---- against the committed NumPy/SciPy fixtures (scripts/make_channel_fixtures.py) ---------- */

static kernest_array *fixture(const char *name, const char *suffix)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/channels/%s_%s.npy", KERNEST_FIXTURES, name, suffix);
    kernest_array *a = NULL;
    cr_assert_eq(kernest_npy_read(path, &a), KERNEST_OK, "%s (regenerate with python3 "
                 "scripts/make_channel_fixtures.py)", kernest_last_error());
    return a;
}

Test(channels, correlate_matches_scipy_fixtures)
{
    static const char *const names[] = {"odd", "even"}, *const modes[] = {"full", "same", "valid"};
    for (int c = 0; c < 2; c++) {
        kernest_array *A = fixture(names[c], "A"), *W = fixture(names[c], "W");
        for (int m = 0; m < 3; m++) {
            char suffix[16];
            snprintf(suffix, sizeof suffix, "B_%s", modes[m]);
            kernest_array *B = fixture(names[c], suffix), *P = NULL;
            int st = kernest_convolve_channels(A, W, (kernest_mode)kernest_mode_parse(modes[m]),
                                               KERNEST_LAYOUT_AUTO, 1, &P);
            cr_assert_eq(st, KERNEST_OK, "%s", kernest_last_error());
            cr_assert_eq(P->ndim, 4);
            for (int d = 0; d < 4; d++)
                cr_assert_eq(P->shape[d], B->shape[d], "%s %s: dim %d", names[c], modes[m], d);
            double e = tu_rel_diff(P, B);
            cr_assert(e < 1e-13, "%s %s: relative difference %.3g from scipy.signal.correlate2d", names[c],
                      modes[m], e);
            kernest_array_destroy(&B);
            kernest_array_destroy(&P);
        }
        /* correlate2d's (and PyTorch's) 'same' window: ours for odd kernels, the full result from
         * kh//2 (one pixel later than ours) for even ones */
        {
            kernest_array *B2 = fixture(names[c], "B_same2d"), *F = NULL;
            cr_assert_eq(kernest_convolve_channels(A, W, KERNEST_MODE_FULL, KERNEST_LAYOUT_AUTO, 1, &F),
                         KERNEST_OK);
            const size_t kh = W->shape[2], kw = W->shape[3], h = B2->shape[2], w = B2->shape[3];
            const size_t fh = F->shape[2], fw = F->shape[3], planes = B2->size / (h * w);
            double worst = 0;
            for (size_t q = 0; q < planes; q++)
                for (size_t y = 0; y < h; y++)
                    for (size_t x = 0; x < w; x++)
                        worst = fmax(worst, fabs(F->data[q * fh * fw + (y + kh / 2) * fw + x + kw / 2] -
                                                 B2->data[q * h * w + y * w + x]));
            cr_assert(worst < 1e-13, "%s: correlate2d same vs full from (kh/2, kw/2): %.3g", names[c], worst);
            kernest_array_destroy(&B2);
            kernest_array_destroy(&F);
        }
        /* and the weights back from the valid outputs */
        kernest_array *B = fixture(names[c], "B_valid"), *K = NULL;
        kernest_options opt = tu_cpu_options(0, 0);
        opt.mode = KERNEST_MODE_VALID;
        opt.correlate = 1;
        opt.tol = 1e-13;
        const kernest_array *As[1] = {A}, *Bs[1] = {B};
        cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &K, NULL), KERNEST_OK, "%s", kernest_last_error());
        double e = tu_rel_diff(K, W);
        cr_assert(e < 1e-9, "%s: estimated weights differ by %.3g", names[c], e);
        kernest_array_destroy(&K);
        kernest_array_destroy(&B);
        kernest_array_destroy(&A);
        kernest_array_destroy(&W);
    }
}

/* ---- shapes and their errors ------------------------------------------------------------------ */

Test(channels, mismatched_counts_are_shape_errors)
{
    unsigned long long seed = 8;
    size_t sa[3] = {3, 6, 6}, sb[3] = {2, 6, 6}, sa2[3] = {2, 6, 6}, sb4[4] = {2, 2, 6, 6};
    kernest_array *A = rand_nd(3, sa, &seed), *B = rand_nd(3, sb, &seed), *A2 = rand_nd(3, sa2, &seed);
    kernest_array *B4 = rand_nd(4, sb4, &seed);
    const char *names[4] = {"a.npy", "b.npy", "a2.npy", "b2.npy"};
    kn_problem pb;
    /* input channels differ between pairs */
    const kernest_array *As[2] = {A, A2}, *Bs[2] = {B, B};
    int st = kn_problem_init_channels(&pb, As, Bs, 2, KERNEST_MODE_SAME, 3, 3, KERNEST_LAYOUT_AUTO, 1, NULL, names);
    cr_assert_eq(st, KERNEST_E_SHAPE);
    const char *e = kernest_last_error();
    cr_assert(strstr(e, "a2.npy") && strstr(e, "2x6x6") && strstr(e, "3x6x6"), "'%s'", e);
    /* samples differ between A and B */
    const kernest_array *As1[1] = {A}, *Bs1[1] = {B4};
    st = kn_problem_init_channels(&pb, As1, Bs1, 1, KERNEST_MODE_SAME, 3, 3, KERNEST_LAYOUT_AUTO, 1, NULL, names);
    cr_assert_eq(st, KERNEST_E_SHAPE);
    e = kernest_last_error();
    cr_assert(strstr(e, "b.npy") && strstr(e, "2x2x6x6") && strstr(e, "3x6x6"), "'%s'", e);
    /* chw refuses 4-D */
    st = kn_problem_init_channels(&pb, As1, Bs1, 1, KERNEST_MODE_SAME, 3, 3, KERNEST_LAYOUT_CHW, 1, NULL, names);
    cr_assert_eq(st, KERNEST_E_SHAPE);
    /* nchw: 3-D arrays are samples of one channel */
    const kernest_array *Bs2[1] = {B};
    const kernest_array *As2[1] = {A2};
    st = kn_problem_init_channels(&pb, As2, Bs2, 1, KERNEST_MODE_SAME, 3, 3, KERNEST_LAYOUT_NCHW, 1, NULL, names);
    cr_assert_eq(st, KERNEST_OK, "%s", kernest_last_error());
    cr_assert(pb.cin == 1 && pb.cout == 1 && pb.npairs == 2 && pb.n == 9);
    kn_problem_free(&pb);
    /* the kernel's C_in must match A's channels */
    size_t sk[4] = {2, 2, 3, 3};
    kernest_array *K = rand_nd(4, sk, &seed), *out = NULL;
    st = kernest_convolve_channels(A, K, KERNEST_MODE_SAME, KERNEST_LAYOUT_AUTO, 0, &out);
    cr_assert_eq(st, KERNEST_E_SHAPE);
    cr_assert(strstr(kernest_last_error(), "2x2x3x3"), "'%s'", kernest_last_error());
    cr_assert_null(out);
    kernest_array_destroy(&K);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&A2);
    kernest_array_destroy(&B4);
}

/* ---- the command line ------------------------------------------------------------------------- */

TestSuite(channels_cli, .init = tu_dir_setup, .fini = tu_dir_teardown);

static void write_npy(const char *name, const kernest_array *a)
{
    char *p = tu_path(tu_dir, name);
    cr_assert_eq(kernest_npy_write(p, a, KERNEST_DOUBLE), KERNEST_OK);
    free(p);
}

static kernest_array *read_npy(const char *name)
{
    char *p = tu_path(tu_dir, name);
    kernest_array *a = NULL;
    cr_assert_eq(kernest_npy_read(p, &a), KERNEST_OK, "%s: %s", name, kernest_last_error());
    free(p);
    return a;
}

Test(channels_cli, layouts_and_errors)
{
    kernest_array *A, *B, *K;
    make_layer(&A, &B, &K, 0, 0);
    write_npy("A.npy", A);
    write_npy("B.npy", B);
    write_npy("K.npy", K);
    char cmd[2048], err[1024];
    /* convolve the 4-D A with the 4-D K: the same B */
    snprintf(cmd, sizeof cmd, "convolve %s/A.npy %s/K.npy -o %s/Bc.npy", tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    kernest_array *Bc = read_npy("Bc.npy");
    cr_assert(Bc->ndim == 4 && tu_rel_diff(Bc, B) < 1e-14);
    /* estimate: 4-D in, 4-D kernel out */
    snprintf(cmd, sizeof cmd, "estimate %s/A.npy %s/B.npy -o %s/Kh.npy --ksize 5x5 --tol 1e-12 --maxiter 2000 -q",
             tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    kernest_array *Kh = read_npy("Kh.npy");
    cr_assert(Kh->ndim == 4 && Kh->shape[0] == 2 && Kh->shape[1] == 3 && Kh->shape[2] == 5);
    cr_assert(tu_rel_diff(Kh, K) < 1e-6, "error %g", tu_rel_diff(Kh, K));
    /* --layout chw refuses the 4-D files: exit 2, one line */
    snprintf(cmd, sizeof cmd, "estimate %s/A.npy %s/B.npy -o %s/K2.npy --ksize 5x5 --layout chw", tu_dir,
             tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "--layout chw") && strchr(err, '\n') == strrchr(err, '\n'), "'%s'", err);
    char *k2 = tu_path(tu_dir, "K2.npy");
    cr_assert(!tu_exists(k2));
    free(k2);
    /* mismatched sample counts: A with 2 samples, B (first sample, 3-D) with 1: both shapes */
    size_t sb[3] = {2, 20, 20};
    kernest_array *B1 = NULL;
    cr_assert_eq(kernest_array_create(3, sb, &B1), KERNEST_OK);
    memcpy(B1->data, B->data, B1->size * sizeof(double));
    write_npy("B1.npy", B1);
    snprintf(cmd, sizeof cmd, "estimate %s/A.npy %s/B1.npy -o %s/K3.npy --ksize 5x5", tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "2x3x20x20") && strstr(err, "2x20x20") && strchr(err, '\n') == strrchr(err, '\n'),
              "'%s'", err);
    /* --layout nchw: the same 3-D B read as two samples of one channel: input channels 3 vs
     * output 1 is fine, but A's 2 samples against B's 2 samples now match */
    snprintf(cmd, sizeof cmd, "estimate %s/A.npy %s/B1.npy -o %s/K4.npy --ksize 5x5 --layout nchw -q", tu_dir,
             tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    kernest_array *K4 = read_npy("K4.npy");
    cr_assert(K4->ndim == 4 && K4->shape[0] == 1 && K4->shape[1] == 3);
    /* synth --channels */
    snprintf(cmd, sizeof cmd, "synth -o %s/s --n 12 --channels 3,2 --kernel gaussian:1.5 --noise 0", tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    kernest_array *SA = read_npy("s/A.npy"), *SB = read_npy("s/B.npy"), *SK = read_npy("s/K_true.npy");
    cr_assert(SA->ndim == 3 && SA->shape[0] == 3 && SB->ndim == 3 && SB->shape[0] == 2);
    cr_assert(SK->ndim == 4 && SK->shape[0] == 2 && SK->shape[1] == 3 && SK->shape[2] == 23);
    kernest_array *SBc = NULL;
    cr_assert_eq(kernest_convolve_channels(SA, SK, KERNEST_MODE_SAME, KERNEST_LAYOUT_AUTO, 0, &SBc), KERNEST_OK);
    cr_assert(tu_rel_diff(SBc, SB) < 1e-12);
    /* score: the true kernels on the held-out pair of noiseless data: error 0; a truth of another
     * shape: exit 2 with both shapes */
    snprintf(cmd, sizeof cmd, "score %s/s/A_test.npy %s/s/B_test.npy %s/s/K_true.npy --truth %s/s/K_true.npy",
             tu_dir, tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    snprintf(cmd, sizeof cmd, "score %s/s/A_test.npy %s/s/B_test.npy %s/Kh.npy --truth %s/s/K_true.npy --ksize",
             tu_dir, tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s", err);
    snprintf(cmd, sizeof cmd, "score %s/s/A_test.npy %s/s/B_test.npy %s/Kh.npy --truth %s/s/K_true.npy",
             tu_dir, tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "2x3x23x23") && strstr(err, "2x3x5x5"), "'%s'", err);
    snprintf(cmd, sizeof cmd, "estimate %s/A.npy %s/B.npy -o %s/K5.npy --layout hwc", tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "--layout") && strstr(err, "hwc"), "'%s'", err);
    snprintf(cmd, sizeof cmd, "synth -o %s/s2 --channels 3", tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "--channels"), "'%s'", err);
    kernest_array *arrs[] = {A, B, K, Bc, Kh, B1, K4, SA, SB, SK, SBc};
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++)
        kernest_array_destroy(&arrs[i]);
}

/* kernest_pad: PyTorch's four padding modes on a 2×3 plane, every plane of a 4-D array alike */
Test(channels, pad_modes_match_the_framework)
{
    kernest_array *A = NULL, *P = NULL;
    const size_t shape[4] = {2, 1, 2, 3};
    cr_assert_eq(kernest_array_create(4, shape, &A), KERNEST_OK);
    for (size_t i = 0; i < A->size; i++)
        A->data[i] = (double)(i % 6) + 10.0 * (double)(i / 6); /* plane 0: 0..5, plane 1: 10..15 */
    /* row 0 of each mode, padded by 1 row and 2 columns: np.pad(plane, ((1, 1), (2, 2)), mode) */
    const struct {
        kernest_padding_mode mode;
        double row0[7], row1[7];
    } cases[] = {
        {KERNEST_PAD_ZEROS, {0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 1, 2, 0, 0}},
        {KERNEST_PAD_REFLECT, {5, 4, 3, 4, 5, 4, 3}, {2, 1, 0, 1, 2, 1, 0}},
        {KERNEST_PAD_REPLICATE, {0, 0, 0, 1, 2, 2, 2}, {0, 0, 0, 1, 2, 2, 2}},
        {KERNEST_PAD_CIRCULAR, {4, 5, 3, 4, 5, 3, 4}, {1, 2, 0, 1, 2, 0, 1}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cr_assert_eq(kernest_pad(A, 1, 1, 2, 2, cases[c].mode, &P), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(P->ndim, 4);
        cr_assert(P->shape[0] == 2 && P->shape[2] == 4 && P->shape[3] == 7);
        for (size_t x = 0; x < 7; x++) {
            cr_assert_eq(P->data[x], cases[c].row0[x], "%s row 0 [%zu]: %g", kernest_padding_mode_name(cases[c].mode),
                         x, P->data[x]);
            cr_assert_eq(P->data[7 + x], cases[c].row1[x], "%s row 1 [%zu]", kernest_padding_mode_name(cases[c].mode), x);
            /* the second sample's plane is padded the same way, from its own values */
            const double want = cases[c].mode == KERNEST_PAD_ZEROS && P->data[7 + x] == 0 && (x < 2 || x > 4)
                                    ? 0.0 : cases[c].row1[x] + 10.0;
            cr_assert_eq(P->data[28 + 7 + x], want, "%s second plane [%zu]", kernest_padding_mode_name(cases[c].mode), x);
        }
        kernest_array_destroy(&P);
    }
    cr_assert_eq(kernest_pad(A, 2, 0, 0, 0, KERNEST_PAD_REFLECT, &P), KERNEST_E_INVALID, "reflect by the axis length");
    cr_assert_eq(kernest_padding_mode_parse("replicate"), KERNEST_PAD_REPLICATE);
    cr_assert_eq(kernest_padding_mode_parse("edge"), -1);
    kernest_array_destroy(&A);
}

/* a layer with a bias and PyTorch's padding='same' in reflect mode, on an even kernel: estimate
 * --bias --bias-out --padding --padding-mode gives its weights and bias; score takes them back */
Test(channels_cli, layer_with_bias_and_padding)
{
    const size_t S = 2, ci = 2, co = 3, n = 12, k = 4, ho = n; /* 'same' keeps the size */
    const size_t sa[4] = {S, ci, n, n}, sy[4] = {S, co, ho, ho}, sw[4] = {co, ci, k, k};
    kernest_array *A = NULL, *Y = NULL, *W = NULL, *Ap = NULL;
    unsigned long long seed = 21;
    cr_assert_eq(kernest_array_create(4, sa, &A), KERNEST_OK);
    cr_assert_eq(kernest_array_create(4, sy, &Y), KERNEST_OK);
    cr_assert_eq(kernest_array_create(4, sw, &W), KERNEST_OK);
    tu_random_vec(A->data, A->size, -1, 1, &seed);
    tu_random_vec(W->data, W->size, -1, 1, &seed);
    const double bias[3] = {0.5, -2.0, 1.25};
    /* Y[s,o] = Σ_i correlate(pad_reflect(A[s,i]), W[o,i]) + b[o], the padded input's valid window */
    cr_assert_eq(kernest_pad(A, (k - 1) / 2, k / 2, (k - 1) / 2, k / 2, KERNEST_PAD_REFLECT, &Ap), KERNEST_OK);
    const size_t pw = n + k - 1;
    for (size_t s = 0; s < S; s++)
        for (size_t o = 0; o < co; o++)
            for (size_t y = 0; y < ho; y++)
                for (size_t x = 0; x < ho; x++) {
                    double v = bias[o];
                    for (size_t i = 0; i < ci; i++)
                        for (size_t u = 0; u < k; u++)
                            for (size_t w = 0; w < k; w++)
                                v += Ap->data[((s * ci + i) * pw + y + u) * pw + x + w] * W->data[((o * ci + i) * k + u) * k + w];
                    Y->data[((s * co + o) * ho + y) * ho + x] = v;
                }
    write_npy("X.npy", A);
    write_npy("Y.npy", Y);
    char cmd[2048], err[1024];
    snprintf(cmd, sizeof cmd, "estimate %s/X.npy %s/Y.npy -o %s/W.npy --ksize 4x4 --correlate --bias --bias-out "
             "%s/b.npy --padding same --padding-mode reflect --fast --tol 1e-12 --maxiter 3000 -q",
             tu_dir, tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    kernest_array *We = read_npy("W.npy"), *be = read_npy("b.npy");
    cr_assert(tu_rel_diff(We, W) < 1e-8, "weights off by %g", tu_rel_diff(We, W));
    cr_assert_eq(be->size, co);
    for (size_t o = 0; o < co; o++)
        cr_assert_float_eq(be->data[o], bias[o], 1e-8, "bias %zu: %g", o, be->data[o]);
    /* score: with the bias the held-out error is rounding; without it, the bias itself */
    snprintf(cmd, sizeof cmd, "%s/X.npy %s/Y.npy %s/W.npy --correlate --bias %s/b.npy --padding same "
             "--padding-mode reflect", tu_dir, tu_dir, tu_dir, tu_dir);
    const double rmse = tu_score_rmse(cmd);
    cr_assert(rmse < 1e-8, "score's rmse %g", rmse);
    /* refusals: --bias-out without --bias, --padding with --mode, --padding without --ksize */
    const char *bad[] = {"--bias-out %s/b2.npy --ksize 4x4", "--bias --padding same --mode valid --ksize 4x4",
                         "--bias --padding 1"};
    for (size_t c = 0; c < 3; c++) {
        char extra[512];
        snprintf(extra, sizeof extra, bad[c], tu_dir);
        snprintf(cmd, sizeof cmd, "estimate %s/X.npy %s/Y.npy -o %s/W2.npy --correlate --fast %s", tu_dir, tu_dir,
                 tu_dir, extra);
        cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s: %s", extra, err);
    }
    char *w2 = tu_path(tu_dir, "W2.npy");
    cr_assert(!tu_exists(w2));
    free(w2);
    kernest_array_destroy(&A);
    kernest_array_destroy(&Y);
    kernest_array_destroy(&W);
    kernest_array_destroy(&Ap);
    kernest_array_destroy(&We);
    kernest_array_destroy(&be);
}
