/* test_channels_priors.c — --reg tv and --sum with several channels: TV's gradient and prox on a
 * stack of kernels are each kernel's own, the per-kernel sum projection is the single-kernel one
 * applied kernel by kernel, estimates keep every kernel's sum and recover piecewise-constant
 * kernels better with TV, a checkpoint keeps every kernel's shift. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "kernest.h"
#include "solve/prox.h"
#include "solve/prox_tv.h"
#include "testutil.h"

/* g = D x of one kh×kw kernel (backend.h's layout for nimg = 1), on the host */
static void grad_one(size_t kh, size_t kw, const double *x, double *gx, double *gy)
{
    for (size_t y = 0; y < kh; y++)
        for (size_t c = 0; c < kw; c++) {
            size_t i = y * kw + c;
            gx[i] = c + 1 < kw ? x[i + 1] - x[i] : 0.0;
            gy[i] = y + 1 < kh ? x[i + kw] - x[i] : 0.0;
        }
}

/* ---- TV's operators on a stack of kernels ---------------------------------------------------- */

/* D of a stack of nimg kernels is each kernel's D, in the stacked layout (column differences of
 * every kernel, then row differences); Dᵀ is each kernel's Dᵀ (checked through the one-kernel
 * operation on each kernel alone) and the adjoint of D; TV of the stack is the sum of the
 * kernels' TVs. A stack treated as one tall image has row differences across kernels: caught. */
Test(channels_priors, tv_operators_act_on_each_kernel)
{
    static const size_t shapes[][3] = {{5, 7, 6}, {1, 6, 3}, {6, 1, 4}, {1, 1, 5}, {4, 4, 2}, {3, 5, 1}};
    unsigned long long s = 21;
    for (int prec = 0; prec < 2; prec++) {
        kernest_precision p = prec ? KERNEST_SINGLE : KERNEST_DOUBLE;
        const double tol = prec ? 1e-6 : 1e-14;
        kn_backend *be = tu_cpu(p);
        const kn_backend_ops *o = be->ops;
        for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
            const size_t kh = shapes[c][0], kw = shapes[c][1], nimg = shapes[c][2], plane = kh * kw;
            const size_t n = nimg * plane;
            double *x = malloc(n * sizeof *x), *pv = malloc(2 * n * sizeof *pv), *g = malloc(2 * n * sizeof *g);
            double *gr = malloc(2 * n * sizeof *gr), *a = malloc(n * sizeof *a), *ar = malloc(n * sizeof *ar);
            double *one = malloc(2 * plane * sizeof *one);
            cr_assert(x && pv && g && gr && a && ar && one);
            tu_random_vec(x, n, -1, 1, &s);
            tu_random_vec(pv, 2 * n, -1, 1, &s);
            kn_vec *vx = tu_upload(be, x, n), *vg = NULL;
            cr_assert_eq(o->vec_create(be, 2 * n, &vg), KERNEST_OK);
            cr_assert_eq(o->tv_grad(be, nimg, kh, kw, vx, vg), KERNEST_OK);
            o->vec_download(be, vg, g);
            double tv_stack = 0, tv_sum = 0;
            cr_assert_eq(o->vec_pair_nrm_sum(be, vg, &tv_stack), KERNEST_OK);
            for (size_t k = 0; k < nimg; k++) {
                grad_one(kh, kw, x + k * plane, gr + k * plane, gr + n + k * plane);
                for (size_t i = 0; i < plane; i++)
                    tv_sum += hypot(gr[k * plane + i], gr[n + k * plane + i]);
            }
            for (size_t i = 0; i < 2 * n; i++)
                cr_assert(fabs(g[i] - gr[i]) <= 4 * tol, "%zu x %zux%zu: D x[%zu] = %g, want %g (kernel %zu)",
                          nimg, kh, kw, i, g[i], gr[i], (i % n) / plane);
            cr_assert(fabs(tv_stack - tv_sum) <= 16 * tol * (1 + tv_sum), "%zu x %zux%zu: TV %.17g, kernels %.17g",
                      nimg, kh, kw, tv_stack, tv_sum);
            /* Dᵀ on the stack against Dᵀ (nimg = 1) on each kernel's own dual pair */
            o->vec_upload(be, vg, pv);
            cr_assert_eq(o->tv_grad_adjoint(be, nimg, kh, kw, vg, vx), KERNEST_OK);
            o->vec_download(be, vx, a);
            kn_vec *w1 = NULL, *x1 = NULL;
            cr_assert_eq(o->vec_create(be, 2 * plane, &w1), KERNEST_OK);
            cr_assert_eq(o->vec_create(be, plane, &x1), KERNEST_OK);
            for (size_t k = 0; k < nimg; k++) {
                memcpy(one, pv + k * plane, plane * sizeof *one);
                memcpy(one + plane, pv + n + k * plane, plane * sizeof *one);
                o->vec_upload(be, w1, one);
                cr_assert_eq(o->tv_grad_adjoint(be, 1, kh, kw, w1, x1), KERNEST_OK);
                o->vec_download(be, x1, ar + k * plane);
            }
            for (size_t i = 0; i < n; i++)
                cr_assert(fabs(a[i] - ar[i]) <= 8 * tol, "%zu x %zux%zu: Dᵀp[%zu] = %g, kernel alone %g", nimg, kh,
                          kw, i, a[i], ar[i]);
            double dxp, xdp;
            tu_dot_test(n, x, a, 2 * n, gr, pv, &dxp, &xdp);
            cr_assert(fabs(dxp - xdp) <= 16 * tol * (1 + fabs(dxp)), "%zu x %zux%zu: <Dx,p> %.17g vs <x,Dᵀp> %.17g",
                      nimg, kh, kw, dxp, xdp);
            o->vec_destroy(be, &w1);
            o->vec_destroy(be, &x1);
            o->vec_destroy(be, &vx);
            o->vec_destroy(be, &vg);
            free(x), free(pv), free(g), free(gr), free(a), free(ar), free(one);
        }
        kn_backend_destroy(&be);
    }
}

/* ---- the prox on a stack against the one-kernel prox kernel by kernel ------------------------- */

enum { KH = 7, KW = 6, NK = 6, PLANE = KH * KW, N = NK * PLANE };

/* v = prox_{step·g}(v) for each step in turn (the prox keeps its memory across calls); with
 * tv_tol > 0 the inner FGP runs to that accuracy. out[c] receives the result of call c. */
static int prox_calls(kn_backend *be, const kn_prox_spec *sp, const double *v, const double *steps, int ncalls,
                      double tv_tol, double **out)
{
    kn_prox *p = NULL;
    int st = kn_prox_create(be, sp, &p);
    if (st)
        return st;
    if (tv_tol > 0)
        kn_tv_set_accuracy(kn_prox_tv(p), tv_tol, 20000);
    kn_vec *x = tu_upload(be, v, sp->n);
    for (int c = 0; c < ncalls; c++) {
        if (c)
            be->ops->vec_upload(be, x, v + c * sp->n);
        cr_assert_eq(kn_prox_apply(be, p, steps[c], x), KERNEST_OK, "%s", kernest_last_error());
        be->ops->vec_download(be, x, out[c]);
    }
    be->ops->vec_destroy(be, &x);
    kn_prox_destroy(be, &p);
    return KERNEST_OK;
}

typedef struct prox_case {
    const char *label;
    double l1, lo, hi, tv;
    int has_sum, masks;
} prox_case;

/* The spec of the stack (nk = NK) or of kernel k alone (k >= 0), sharing keep/fixv */
static kn_prox_spec spec_of(const prox_case *c, const double *keep, const double *fixv, long k)
{
    const size_t off = k < 0 ? 0 : (size_t)k * PLANE;
    kn_prox_spec sp = {.n = k < 0 ? N : PLANE, .l1 = c->l1, .lo = c->lo, .hi = c->hi, .has_sum = c->has_sum,
                       .sum = 1.5, .tv = c->tv, .kh = KH, .kw = KW, .nk = k < 0 ? NK : 1};
    if (c->masks) {
        sp.keep = keep + off;
        sp.fixv = fixv + off;
    }
    return sp;
}

/* The stacked prox equals, kernel by kernel, the one-kernel prox of that kernel alone: exactly
 * for the simple terms (the same operations on each kernel's part), to FGP's accuracy with TV;
 * every kernel's entries sum to S. Three successive calls exercise the remembered shifts. */
static void check_against_kernels(const prox_case *c, double tol)
{
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    unsigned long long s = 5;
    enum { CALLS = 3 };
    const double steps[CALLS] = {0.5, 0.45, 0.8};
    double *v = malloc(CALLS * N * sizeof *v), keep[N], fixv[N];
    cr_assert_not_null(v);
    tu_random_vec(v, CALLS * N, -1, 1.5, &s);
    for (size_t c2 = 1; c2 < CALLS; c2++) /* nearby inputs, as FISTA's successive calls are */
        for (size_t i = 0; i < N; i++)
            v[c2 * N + i] = v[i] + 0.05 * (tu_rand(&s) - 0.5);
    for (size_t i = 0; i < N; i++) { /* masks that differ from kernel to kernel */
        const size_t k = i / PLANE, j = i % PLANE;
        keep[i] = (j + 3 * k) % 7 == 0 ? 0.0 : 1.0;
        fixv[i] = keep[i] == 0.0 && k % 2 ? 0.02 * (double)(k + 1) : 0.0;
    }
    double *stack[CALLS], *alone[CALLS], *one[CALLS];
    for (int i = 0; i < CALLS; i++) {
        stack[i] = malloc(N * sizeof(double));
        alone[i] = malloc(N * sizeof(double));
        one[i] = malloc(PLANE * sizeof(double));
        cr_assert(stack[i] && alone[i] && one[i]);
    }
    kn_prox_spec sp = spec_of(c, keep, fixv, -1);
    cr_assert_eq(prox_calls(be, &sp, v, steps, CALLS, c->tv > 0 ? 1e-7 : 0, stack), KERNEST_OK, "%s: %s",
                 c->label, kernest_last_error());
    for (long k = 0; k < NK; k++) {
        kn_prox_spec sk = spec_of(c, keep, fixv, k);
        double vk[CALLS * PLANE];
        for (int i = 0; i < CALLS; i++)
            memcpy(vk + i * PLANE, v + i * N + k * PLANE, PLANE * sizeof *vk);
        cr_assert_eq(prox_calls(be, &sk, vk, steps, CALLS, c->tv > 0 ? 1e-7 : 0, one), KERNEST_OK, "%s: %s",
                     c->label, kernest_last_error());
        for (int i = 0; i < CALLS; i++)
            memcpy(alone[i] + k * PLANE, one[i], PLANE * sizeof(double));
    }
    for (int i = 0; i < CALLS; i++) {
        double dmax = 0;
        for (size_t j = 0; j < N; j++)
            dmax = fmax(dmax, fabs(stack[i][j] - alone[i][j]));
        cr_assert(dmax <= tol, "%s, call %d: the stacked prox differs from the kernels' own by %.3g", c->label, i,
                  dmax);
        for (size_t k = 0; k < NK && c->has_sum; k++) {
            double sum = 0;
            for (size_t j = 0; j < PLANE; j++)
                sum += stack[i][k * PLANE + j];
            cr_assert(fabs(sum - 1.5) <= 1e-9, "%s, call %d: kernel %zu sums to %.15g", c->label, i, k, sum);
        }
    }
    for (int i = 0; i < CALLS; i++)
        free(stack[i]), free(alone[i]), free(one[i]);
    free(v);
    kn_backend_destroy(&be);
}

Test(channels_priors, sum_prox_is_each_kernels_own)
{
    static const prox_case cases[] = {
        {"sum (a hyperplane per kernel)", 0, -INFINITY, INFINITY, 0, 1, 0},
        {"sum, nonneg", 0, 0.0, INFINITY, 0, 1, 0},
        {"sum, bounds, l1", 0.05, -0.2, 0.6, 0, 1, 0},
        {"sum, nonneg, support and fixed pixels differing per kernel", 0.02, 0.0, INFINITY, 0, 1, 1},
        {"sum and masks, no bounds", 0, -INFINITY, INFINITY, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_against_kernels(&cases[i], 1e-14);
}

Test(channels_priors, tv_prox_is_each_kernels_own)
{
    static const prox_case cases[] = {
        {"tv", 0, -INFINITY, INFINITY, 0.08, 0, 0},
        {"tv, l1, nonneg", 0.02, 0.0, INFINITY, 0.08, 0, 0},
        {"tv, sum, bounds", 0, -0.2, 0.6, 0.05, 1, 0},
        {"tv, sum, nonneg, masks per kernel", 0.01, 0.0, INFINITY, 0.05, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_against_kernels(&cases[i], 2e-6);
}

/* a sum one kernel cannot reach is refused, naming that kernel */
Test(channels_priors, unreachable_sum_names_the_kernel)
{
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    double keep[N], fixv[N];
    for (size_t i = 0; i < N; i++) {
        keep[i] = i / PLANE == 4 ? 0.0 : 1.0; /* kernel 4: every pixel fixed, summing to 0 */
        fixv[i] = 0.0;
    }
    kn_prox_spec sp = {.n = N, .lo = -INFINITY, .hi = INFINITY, .keep = keep, .fixv = fixv, .has_sum = 1,
                       .sum = 1.0, .kh = KH, .kw = KW, .nk = NK};
    kn_prox *p = NULL;
    cr_assert_eq(kn_prox_create(be, &sp, &p), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--sum") && strstr(kernest_last_error(), "kernel 4 of 6"), "%s",
              kernest_last_error());
    for (size_t i = 0; i < N; i++)
        keep[i] = 1.0;
    sp.lo = 0.0, sp.hi = 0.01; /* 42 pixels of at most 0.01 cannot reach 1 in any kernel */
    cr_assert_eq(kn_prox_create(be, &sp, &p), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "kernel 0 of 6"), "%s", kernest_last_error());
    sp.hi = 0.05;
    cr_assert_eq(kn_prox_create(be, &sp, &p), KERNEST_OK, "%s", kernest_last_error());
    kn_prox_destroy(be, &p);
    kn_backend_destroy(&be);
}

/* ---- estimates with channels ------------------------------------------------------------------- */

enum { CIN = 3, COUT = 2, K5 = 9 };

/* piecewise-constant 9×9 kernels, one shape per (o, i): boxes, steps, a cross */
static double pc_kernel(size_t o, size_t i, size_t y, size_t x)
{
    const size_t k = o * CIN + i;
    switch (k) {
    case 0: return y >= 2 && y <= 6 && x >= 2 && x <= 6 ? 1.0 : 0.0;
    case 1: return x < 4 ? 0.5 : -0.25;
    case 2: return y >= 3 && y <= 5 ? 0.8 : 0.0;
    case 3: return (y == 4 || x == 4) ? 1.0 : 0.0;
    case 4: return y < 5 && x < 5 ? -0.6 : 0.3;
    default: return y >= 1 && y <= 7 && x >= 3 && x <= 5 ? 0.7 : 0.1;
    }
}

/* S samples of CIN×H×H random inputs, B = same(A ⊛ K) + noise (relative to B's rms) */
static void layer(size_t S, size_t H, double noise, int unit_sums, kernest_array **A, kernest_array **B,
                  kernest_array **K)
{
    unsigned long long seed = 77;
    size_t sa[4] = {S, CIN, H, H}, sk[4] = {COUT, CIN, K5, K5};
    cr_assert_eq(kernest_array_create(4, sa, A), KERNEST_OK);
    cr_assert_eq(kernest_array_create(4, sk, K), KERNEST_OK);
    for (size_t j = 0; j < (*A)->size; j++)
        (*A)->data[j] = tu_rand(&seed) - 0.5;
    for (size_t o = 0; o < COUT; o++)
        for (size_t i = 0; i < CIN; i++) {
            double *k = (*K)->data + (o * CIN + i) * K5 * K5, sum = 0;
            for (size_t y = 0; y < K5; y++)
                for (size_t x = 0; x < K5; x++)
                    sum += k[y * K5 + x] = pc_kernel(o, i, y, x);
            for (size_t j = 0; unit_sums && j < K5 * K5; j++)
                k[j] /= sum;
        }
    cr_assert_eq(kernest_convolve_channels(*A, *K, KERNEST_MODE_SAME, KERNEST_LAYOUT_AUTO, 0, B), KERNEST_OK, "%s",
                 kernest_last_error());
    double rms = 0;
    for (size_t j = 0; j < (*B)->size; j++)
        rms += (*B)->data[j] * (*B)->data[j];
    rms = sqrt(rms / (double)(*B)->size);
    for (size_t j = 0; j < (*B)->size; j++)
        (*B)->data[j] += noise * rms * 2.0 * (tu_rand(&seed) - 0.5) * sqrt(3.0);
}

static kernest_options layer_options(void)
{
    return tu_cpu_options(K5, K5);
}

static kernest_array *estimate(const kernest_array *A, const kernest_array *B, const kernest_options *opt)
{
    kernest_array *K = NULL;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    int st = kernest_estimate(As, Bs, 1, opt, &K, NULL);
    cr_assert_eq(st, KERNEST_OK, "estimate -> %d (%s)", st, kernest_last_error());
    cr_assert_eq(K->ndim, 4);
    cr_assert_eq(K->shape[0], COUT);
    cr_assert_eq(K->shape[1], CIN);
    return K;
}

/* --sum S with channels: every kernel sums to S (alone, with --nonneg, with TV) */
Test(channels_priors, every_kernel_sums_to_S)
{
    kernest_array *A, *B, *K;
    layer(1, 20, 0.05, 0, &A, &B, &K);
    for (int variant = 0; variant < 3; variant++) {
        kernest_options opt = layer_options();
        opt.has_sum = 1;
        opt.sum = 2.5;
        opt.maxiter = 200;
        opt.nonneg = variant == 1;
        opt.tv = variant == 2 ? 1e-3 : 0.0;
        kernest_array *Kh = estimate(A, B, &opt);
        for (size_t k = 0; k < COUT * CIN; k++) {
            double s = 0;
            for (size_t j = 0; j < K5 * K5; j++) {
                s += Kh->data[k * K5 * K5 + j];
                cr_assert(!opt.nonneg || Kh->data[k * K5 * K5 + j] >= 0.0);
            }
            cr_assert(fabs(s - 2.5) <= 1e-9, "variant %d: kernel %zu sums to %.15g, not 2.5", variant, k, s);
        }
        kernest_array_destroy(&Kh);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* The kernel errors of the least-squares solve and of the same solve with a prior set by
 * with(&opt), on one noisy 2×3 layer of 16×16 samples (unit_sums: kernels normalised to sum 1) */
static void errors_without_and_with(double noise, int unit_sums, void (*with)(kernest_options *), double *e0,
                                    double *e1)
{
    kernest_array *A, *B, *K;
    layer(1, 16, noise, unit_sums, &A, &B, &K);
    kernest_options opt = layer_options();
    opt.maxiter = 2000;
    opt.tol = 1e-10;
    kernest_array *K0 = estimate(A, B, &opt);
    with(&opt);
    kernest_array *K1 = estimate(A, B, &opt);
    *e0 = tu_rel_diff(K0, K);
    *e1 = tu_rel_diff(K1, K);
    kernest_array_destroy(&K0);
    kernest_array_destroy(&K1);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

static void sum_one(kernest_options *o)
{
    o->has_sum = 1;
    o->sum = 1.0;
}

static void tv_small(kernest_options *o)
{
    o->tv = 0.05;
    o->maxiter = 1500;
}

/* Kernels normalised to sum 1 (each PSF of a colour cross-talk matrix, say), noisy data: --sum 1
 * recovers them better than the unconstrained least squares */
Test(channels_priors, sum_helps_normalised_kernels)
{
    double els, es;
    errors_without_and_with(0.2, 1, sum_one, &els, &es);
    cr_log_info("normalised kernels: least squares %.4f, --sum 1 %.4f", els, es);
    cr_assert(es < els, "--sum 1: error %.4g, not below least squares' %.4g", es, els);
}

/* 2×3 piecewise-constant kernels from noisy samples: TV (each kernel's own) recovers them much
 * better than least squares */
Test(channels_priors, tv_recovers_piecewise_constant_layer)
{
    double els, etv;
    errors_without_and_with(0.1, 0, tv_small, &els, &etv);
    cr_log_info("piecewise-constant layer, 10%% noise: least squares %.4f, tv %.4f", els, etv);
    cr_assert(etv < 0.5 * els, "tv: error %.4g, not below half of least squares' %.4g", etv, els);
}

/* ---- checkpoints keep every kernel's shift ----------------------------------------------------- */

static int stop_at(void *user, const kernest_progress *p)
{
    return p->iteration >= *(const int *)user;
}

TestSuite(channels_priors_files, .init = tu_dir_setup, .fini = tu_dir_teardown);

/* stop at iteration k with a checkpoint, resume: the same kernels as the uninterrupted solve, bit
 * for bit (the sums' searches restart from each kernel's remembered shift) */
Test(channels_priors_files, resume_is_bitwise_identical)
{
    kernest_array *A, *B, *K, *Kref = NULL, *Kint = NULL, *Kres = NULL;
    layer(1, 14, 0.05, 0, &A, &B, &K);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options opt = layer_options();
    opt.has_sum = 1;
    opt.sum = 1.0;
    opt.nonneg = 1;
    opt.tol = 1e-14;
    opt.maxiter = 40;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kref, NULL), KERNEST_OK, "%s", kernest_last_error());
    char *ck = tu_path(tu_dir, "state.ckpt");
    int k = 13;
    kernest_options oi = opt;
    oi.checkpoint = ck;
    oi.checkpoint_every = 1e9;
    oi.progress = stop_at;
    oi.progress_user = &k;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &oi, &Kint, NULL), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(tu_exists(ck));
    kernest_options orr = opt;
    orr.resume = ck;
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &orr, &Kres, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rep->resumed_from, k);
    cr_assert_eq(memcmp(Kref->data, Kres->data, Kref->size * sizeof(double)), 0,
                 "the resumed kernels differ from the uninterrupted solve");
    kernest_report_destroy(&rep);
    free(ck);
    kernest_array *arr[] = {A, B, K, Kref, Kint, Kres};
    for (size_t i = 0; i < sizeof arr / sizeof *arr; i++)
        kernest_array_destroy(&arr[i]);
}

/* the CLI takes --reg tv and --sum with channels and writes kernels that each sum to S */
Test(channels_priors_files, cli_tv_and_sum)
{
    char cmd[1024], err[1024];
    snprintf(cmd, sizeof cmd, "synth -o %s/s --n 12 --channels 3,2 --kernel gaussian:1.5 --noise 0.01", tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    snprintf(cmd, sizeof cmd,
             "estimate %s/s/A.npy %s/s/B.npy -o %s/K.npy --ksize 5x5 --reg tv:1e-3 --sum 0.75 --maxiter 100 "
             "--device cpu --threads 1",
             tu_dir, tu_dir, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    char *path = tu_path(tu_dir, "K.npy");
    kernest_array *K = NULL;
    cr_assert_eq(kernest_npy_read(path, &K), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(K->ndim, 4);
    cr_assert_eq(K->shape[0], 2);
    cr_assert_eq(K->shape[1], 3);
    for (size_t k = 0; k < 6; k++) {
        double s = 0;
        for (size_t j = 0; j < 25; j++)
            s += K->data[k * 25 + j];
        cr_assert(fabs(s - 0.75) <= 1e-9, "kernel %zu sums to %.15g", k, s);
    }
    kernest_array_destroy(&K);
    free(path);
}
