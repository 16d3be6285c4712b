/* test_channels_models.c — the profile models (radial, harmonic:M, lowrank:R) with several
 * channels: each of the C_out×C_in kernels has its own profile, coefficients or factors. The
 * block-diagonal structure, exact recovery of a 2×3 layer whose kernels lie in the model, the
 * priors mapped onto every kernel, the report's per-kernel unknowns, C_in = C_out = 1 against the
 * 2-D path, and the CLI. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernest.h"
#include "model/model.h"
#include "testutil.h"

enum { COUT = 2, CIN = 3, NK = COUT * CIN, KS = 7 };

static void options(kernest_options *o, kernest_model model, int order)
{
    *o = tu_cpu_options(KS, KS);
    o->model = model;
    o->order = order;
    o->tol = 1e-13;
    o->maxiter = 5000;
    o->outer_tol = 1e-12;
    o->outer_maxiter = 200;
}

/* unknowns of one KS×KS kernel of the model */
static size_t per_kernel(kernest_model model, int order)
{
    kn_model m;
    cr_assert_eq(kn_model_init(&m, model, order, KS, KS), KERNEST_OK, "%s", kernest_last_error());
    const size_t nx = m.nx;
    kn_model_free(&m);
    return model == KERNEST_MODEL_LOWRANK ? (size_t)order * 2 * KS : nx;
}

/*
 * NK kernels that lie in the model, different from one another, each built on its own by the
 * single-kernel model (not the channel path under test): x holds the unknowns kernel by kernel
 * (lowrank: [U_k; V_k]).
 */
static kernest_array *layer_in_model(kernest_model model, int order, double *x, unsigned long long *s)
{
    const size_t shape[4] = {COUT, CIN, KS, KS}, per = per_kernel(model, order), R = (size_t)order;
    kernest_array *K = NULL;
    cr_assert_eq(kernest_array_create(4, shape, &K), KERNEST_OK);
    kn_model m;
    if (model != KERNEST_MODEL_LOWRANK)
        cr_assert_eq(kn_model_init(&m, model, order, KS, KS), KERNEST_OK);
    for (size_t k = 0; k < NK; k++) {
        double *xk = x + k * per, *Kk = K->data + k * KS * KS;
        tu_random_vec(xk, per, -1, 1, s);
        xk[0] += 2.0 + (double)k; /* a distinct centre (radial, harmonic) or first factor entry */
        if (model != KERNEST_MODEL_LOWRANK) {
            kn_model_kernel(&m, xk, Kk);
            continue;
        }
        for (size_t y = 0; y < KS; y++) /* Σ_r u_r v_rᵀ by hand */
            for (size_t c = 0; c < KS; c++)
                for (size_t r = 0; r < R; r++)
                    Kk[y * KS + c] += xk[r * KS + y] * xk[R * KS + r * KS + c];
    }
    if (model != KERNEST_MODEL_LOWRANK)
        kn_model_free(&m);
    return K;
}

/* two samples of C_in × 16 × 16 and their noiseless C_out outputs ('same') */
static void observe(const kernest_array *K, kernest_array **A, kernest_array **B, unsigned long long *s)
{
    const size_t shape[4] = {2, CIN, 16, 16};
    cr_assert_eq(kernest_array_create(4, shape, A), KERNEST_OK);
    tu_random_vec((*A)->data, (*A)->size, -1, 1, s);
    cr_assert_eq(kernest_convolve_channels(*A, K, KERNEST_MODE_SAME, KERNEST_LAYOUT_AUTO, 0, B), KERNEST_OK,
                 "%s", kernest_last_error());
}

static kernest_report *estimate(const kernest_array *A, const kernest_array *B, const kernest_options *o,
                                kernest_array **K)
{
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_report *rep = NULL;
    int st = kernest_estimate(As, Bs, 1, o, K, &rep);
    cr_assert_eq(st, KERNEST_OK, "--model %s: %d (%s)", kernest_model_name(o->model), st, kernest_last_error());
    return rep;
}

/* ---- the structure ---------------------------------------------------------------------------- */

/* Φ of NK kernels maps each kernel's block to that kernel alone, and G never couples two kernels */
Test(channels_models, phi_and_gram_are_block_diagonal)
{
    static const struct { kernest_model model; int order; } cases[] = {
        {KERNEST_MODEL_RADIAL, 0}, {KERNEST_MODEL_HARMONIC, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        kn_model one, all;
        cr_assert_eq(kn_model_init(&one, cases[c].model, cases[c].order, KS, KS), KERNEST_OK);
        cr_assert_eq(kn_model_init_nk(&all, cases[c].model, cases[c].order, KS, KS, NK), KERNEST_OK, "%s",
                     kernest_last_error());
        const size_t per = one.nx;
        cr_assert_eq(all.nx, NK * per);
        cr_assert_eq(all.phi.rows, NK * KS * KS);
        double *x = malloc(all.nx * sizeof *x), *K = malloc(NK * KS * KS * sizeof *K), Kk[KS * KS];
        double *g = malloc(all.nx * sizeof *g);
        unsigned long long s = 11 + c;
        tu_random_vec(x, all.nx, -1, 1, &s);
        kn_model_kernel(&all, x, K);
        for (size_t k = 0; k < NK; k++) {
            kn_model_kernel(&one, x + k * per, Kk);
            cr_assert(!memcmp(Kk, K + k * KS * KS, sizeof Kk), "%s: kernel %zu is not its own block's",
                      kernest_model_name(cases[c].model), k);
        }
        for (size_t i = 0; i < all.nx; i++) /* each kernel's f_0 constant, different per kernel */
            x[i] = (i % per) < kn_radial_knots(KS, KS) ? (double)(i / per) + 1.0 : 0.0;
        kn_csr_apply(&all.gram, x, g);
        for (size_t i = 0; i < all.nx; i++)
            cr_assert_eq(g[i], 0.0, "%s: G of per-kernel constants is %g at %zu", kernest_model_name(cases[c].model),
                         g[i], i);
        kn_csr_apply(&one.gram, x, Kk); /* the first block of G is the single kernel's G */
        for (size_t i = 0; i < per; i++)
            cr_assert_eq(g[i], Kk[i]);
        free(x);
        free(K);
        free(g);
        kn_model_free(&one);
        kn_model_free(&all);
    }
    /* lowrank half-steps: kernel k is U_k V_kᵀ with its own held factor */
    double U[NK * 2 * KS], V[NK * 2 * KS], K0[NK * KS * KS], K1[NK * KS * KS];
    unsigned long long s = 5;
    tu_random_vec(U, NK * 2 * KS, -1, 1, &s);
    tu_random_vec(V, NK * 2 * KS, -1, 1, &s);
    kn_model m0, m1;
    cr_assert_eq(kn_lowrank_model(&m0, 0, 2, KS, KS, NK, V), KERNEST_OK);
    cr_assert_eq(kn_lowrank_model(&m1, 1, 2, KS, KS, NK, U), KERNEST_OK);
    cr_assert_eq(m0.nx, NK * 2 * KS);
    kn_model_kernel(&m0, U, K0);
    kn_model_kernel(&m1, V, K1);
    for (size_t k = 0; k < NK; k++)
        for (size_t y = 0; y < KS; y++)
            for (size_t x = 0; x < KS; x++) {
                const double *u = U + k * 2 * KS, *v = V + k * 2 * KS;
                const double want = u[y] * v[x] + u[KS + y] * v[KS + x];
                const size_t i = k * KS * KS + y * KS + x;
                cr_assert(fabs(K0[i] - want) < 1e-14 && fabs(K1[i] - want) < 1e-14, "kernel %zu (%zu,%zu)", k, y, x);
            }
    kn_model_free(&m0);
    kn_model_free(&m1);
}

/* ---- recovery --------------------------------------------------------------------------------- */

static void check_recovery(kernest_model model, int order, double tol)
{
    const char *name = kernest_model_name(model);
    const size_t per = per_kernel(model, order);
    double *x = calloc(NK * per, sizeof *x);
    unsigned long long s = 2024 + (unsigned long long)model;
    kernest_array *K = layer_in_model(model, order, x, &s), *A = NULL, *B = NULL, *Kh = NULL;
    observe(K, &A, &B, &s);
    kernest_options o;
    options(&o, model, order);
    kernest_report *rep = estimate(A, B, &o, &Kh);
    cr_assert_eq(Kh->ndim, 4);
    for (int d = 0; d < 4; d++)
        cr_assert_eq(Kh->shape[d], K->shape[d]);
    const double e = tu_rel_diff(Kh, K);
    cr_assert(e < tol, "%s:%d: relative kernel error %.3g (%s, %d iterations)", name, order, e,
              kernest_stop_reason_name(rep->reason), rep->iterations);
    for (size_t k = 0; k < NK; k++) { /* and kernel by kernel: none takes another's share */
        double d = 0, n = 0;
        for (size_t i = k * KS * KS; i < (k + 1) * KS * KS; i++) {
            d += (Kh->data[i] - K->data[i]) * (Kh->data[i] - K->data[i]);
            n += K->data[i] * K->data[i];
        }
        cr_assert(sqrt(d / n) < tol, "%s: kernel %zu error %.3g", name, k, sqrt(d / n));
    }
    cr_assert_eq(rep->model, model);
    cr_assert_eq(rep->nprofile, NK * per);
    if (model == KERNEST_MODEL_RADIAL) /* Φ is injective on 7×7: each kernel's own profile back */
        for (size_t i = 0; i < NK * per; i++)
            cr_assert(fabs(rep->profile[i] - x[i]) < 1e-8, "radial: kernel %zu knot %zu is %.12g, want %.12g",
                      i / per, i % per, rep->profile[i], x[i]);
    if (model == KERNEST_MODEL_LOWRANK) { /* [U_k; V_k] per kernel: U_k V_kᵀ is kernel k */
        const size_t R = (size_t)order;
        for (size_t k = 0; k < NK; k++)
            for (size_t y = 0; y < KS; y++)
                for (size_t c = 0; c < KS; c++) {
                    const double *u = rep->profile + k * per, *v = u + R * KS;
                    double sum = 0;
                    for (size_t r = 0; r < R; r++)
                        sum += u[r * KS + y] * v[r * KS + c];
                    cr_assert(fabs(sum - Kh->data[k * KS * KS + y * KS + c]) < 1e-12,
                              "lowrank: the factors of kernel %zu do not give it", k);
                }
    }
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    free(x);
}

Test(channels_models, radial_recovers_a_2_by_3_layer)
{
    check_recovery(KERNEST_MODEL_RADIAL, 0, 1e-9);
}

Test(channels_models, harmonic_recovers_a_2_by_3_layer)
{
    check_recovery(KERNEST_MODEL_HARMONIC, 2, 1e-9);
}

Test(channels_models, lowrank_recovers_a_2_by_3_layer)
{
    check_recovery(KERNEST_MODEL_LOWRANK, 1, 1e-8);
}

/* --model auto with channels: every candidate of the table (the profile models and both lowrank
 * lines, block-diagonal over the kernels) is fitted and scored within the budget, and the layer
 * it delivers is close to a noiseless rank-1 layer's truth; the lowrank line from the best
 * kernel starts from the factors of every kernel of the leading fit */
Test(channels_models, model_auto_runs_every_candidate_on_a_layer)
{
    unsigned long long s = 31;
    double x[NK * 2 * KS];
    kernest_array *K = layer_in_model(KERNEST_MODEL_LOWRANK, 1, x, &s), *A = NULL, *B = NULL, *Kh = NULL;
    observe(K, &A, &B, &s);
    kernest_options o = tu_cpu_options(KS, KS);
    o.auto_model = o.auto_lambda = 1;
    kernest_report *rep = estimate(A, B, &o, &Kh);
    cr_assert_eq(rep->ncandidates, 6);
    for (size_t i = 0; i < rep->ncandidates; i++)
        cr_assert(isfinite(rep->candidates[i].score) && rep->candidates[i].solves >= 1, "candidate %s: score %g, %d solves",
                  rep->candidates[i].name, rep->candidates[i].score, rep->candidates[i].solves);
    cr_assert_str_eq(rep->candidates[5].name, "lowrank:2+grad@best");
    cr_assert_leq(rep->selection_solves, 15 + 6 * 5); /* the budget, then the finalists on 5 folds */
    cr_assert(tu_rel_diff(Kh, K) < 1e-3, "chose %s: layer error %g", rep->candidates[rep->chosen].name,
              tu_rel_diff(Kh, K));
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* ---- priors on every kernel ------------------------------------------------------------------- */

/* radial and harmonic disk:R hold every kernel's profiles at 0 beyond R (K = 0 beyond ⌊R⌋ + 1
 * px), --fix 0,0=V pins every kernel's centre, lowrank box:HxW keeps every kernel inside the box;
 * with --correlate too (the profile unknowns are not pixels: nothing is flipped) */
Test(channels_models, priors_hold_on_every_kernel)
{
    unsigned long long s = 7;
    double x[NK * 64];
    kernest_array *K = layer_in_model(KERNEST_MODEL_RADIAL, 0, x, &s), *A = NULL, *B = NULL, *Kh = NULL;
    observe(K, &A, &B, &s);
    static const struct { kernest_model model; int order; int correlate; } cases[] = {
        {KERNEST_MODEL_RADIAL, 0, 0}, {KERNEST_MODEL_HARMONIC, 1, 0}, {KERNEST_MODEL_HARMONIC, 1, 1},
        {KERNEST_MODEL_RADIAL, 0, 1}};
    kernest_fixed_pixel fix = {0, 0, 0.5};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        kernest_options o;
        options(&o, cases[c].model, cases[c].order);
        o.maxiter = 300;
        o.reg = KERNEST_REG_GRAD;
        o.lambda = 1e-3;
        o.correlate = cases[c].correlate;
        o.support = KERNEST_SUPPORT_DISK;
        o.support_radius = 1.5; /* knots 0, 1 free: K = 0 beyond r = 2 */
        o.fixed = &fix;
        o.nfixed = 1;
        kernest_report *rep = estimate(A, B, &o, &Kh);
        double inside = 0;
        for (size_t k = 0; k < NK; k++) {
            const double *Kk = Kh->data + k * KS * KS;
            cr_assert_eq(Kk[3 * KS + 3], 0.5, "%s: kernel %zu centre %g, fixed at 0.5", kernest_model_name(o.model),
                         k, Kk[3 * KS + 3]);
            for (size_t y = 0; y < KS; y++)
                for (size_t x2 = 0; x2 < KS; x2++) {
                    const double r = hypot((double)y - 3, (double)x2 - 3);
                    if (r > 2.0)
                        cr_assert_eq(Kk[y * KS + x2], 0.0, "%s: kernel %zu (%zu,%zu) = %g beyond the disk",
                                     kernest_model_name(o.model), k, y, x2, Kk[y * KS + x2]);
                    else if (r > 0)
                        inside += fabs(Kk[y * KS + x2]);
                }
        }
        cr_assert(inside > 0);
        kernest_report_destroy(&rep);
        kernest_array_destroy(&Kh);
    }
    kernest_options o;
    options(&o, KERNEST_MODEL_LOWRANK, 1);
    o.maxiter = 300;
    o.outer_maxiter = 5;
    o.support = KERNEST_SUPPORT_BOX;
    o.support_h = 3;
    o.support_w = 5;
    for (int correlate = 0; correlate < 2; correlate++) {
        o.correlate = correlate;
        kernest_report *rep = estimate(A, B, &o, &Kh);
        for (size_t k = 0; k < NK; k++)
            for (size_t y = 0; y < KS; y++)
                for (size_t x2 = 0; x2 < KS; x2++)
                    if (y < 2 || y > 4 || x2 < 1 || x2 > 5)
                        cr_assert_eq(Kh->data[k * KS * KS + y * KS + x2], 0.0, "lowrank: kernel %zu (%zu,%zu) "
                                     "outside the box", k, y, x2);
        kernest_report_destroy(&rep);
        kernest_array_destroy(&Kh);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* --uncertainty with radial and channels: C_out×C_in maps, the std positive where data reach */
static void uncertainty_maps_per_kernel(kernest_model model, int order)
{
    unsigned long long s = 8;
    double x[NK * 64];
    kernest_array *K = layer_in_model(model, order, x, &s), *A = NULL, *B = NULL, *Kh = NULL;
    observe(K, &A, &B, &s);
    kernest_options o;
    options(&o, model, order);
    o.outer_maxiter = 30;
    o.maxiter = 200;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 1e-2;
    o.uncertainty = 4;
    o.sigma = 0.01;
    kernest_report *rep = estimate(A, B, &o, &Kh);
    kernest_array *cov = NULL, *std = NULL;
    cr_assert_eq(kernest_report_uncertainty(rep, &cov, &std), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(std->ndim == 4 && std->shape[0] == COUT && std->shape[1] == CIN && std->shape[2] == KS);
    for (size_t i = 0; i < std->size; i++)
        cr_assert(std->data[i] > 0 && isfinite(std->data[i]), "std %g at %zu", std->data[i], i);
    kernest_array_destroy(&cov);
    kernest_array_destroy(&std);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

Test(channels_models, radial_uncertainty_maps_per_kernel)
{
    uncertainty_maps_per_kernel(KERNEST_MODEL_RADIAL, 0);
}

/* lowrank's: the posterior linearised at every kernel's factors */
Test(channels_models, lowrank_uncertainty_maps_per_kernel)
{
    uncertainty_maps_per_kernel(KERNEST_MODEL_LOWRANK, 1);
}

/* ---- one channel, and the report ------------------------------------------------------------- */

/* (1, H, W) files give exactly the 2-D result for a profile model; the report's unknowns then
 * take K's leading 1 × 1 */
Test(channels_models, one_channel_equals_2d)
{
    static const struct { kernest_model model; int order; const char *key; } cases[] = {
        {KERNEST_MODEL_RADIAL, 0, "profile"}, {KERNEST_MODEL_HARMONIC, 2, "coefficients"},
        {KERNEST_MODEL_LOWRANK, 1, "u"}};
    unsigned long long s = 99;
    kernest_array *A2 = tu_random_array(16, 16, -1, 1, &s), *Kt = tu_random_array(KS, KS, -1, 1, &s), *B2 = NULL;
    cr_assert_eq(kernest_convolve(A2, Kt, KERNEST_MODE_SAME, &B2), KERNEST_OK);
    const size_t sa[3] = {1, 16, 16};
    kernest_array *A3 = NULL, *B3 = NULL;
    cr_assert_eq(kernest_array_create(3, sa, &A3), KERNEST_OK);
    cr_assert_eq(kernest_array_create(3, sa, &B3), KERNEST_OK);
    memcpy(A3->data, A2->data, A2->size * sizeof(double));
    memcpy(B3->data, B2->data, B2->size * sizeof(double));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        kernest_options o;
        options(&o, cases[c].model, cases[c].order);
        o.reg = KERNEST_REG_GRAD;
        o.lambda = 1e-2;
        o.maxiter = 100;
        o.outer_maxiter = 4;
        kernest_array *K2 = NULL, *K4 = NULL;
        kernest_report *r2 = estimate(A2, B2, &o, &K2), *r4 = estimate(A3, B3, &o, &K4);
        const char *name = kernest_model_name(o.model);
        cr_assert_eq(K2->ndim, 2);
        cr_assert(K4->ndim == 4 && K4->shape[0] == 1 && K4->shape[1] == 1);
        cr_assert(!memcmp(K2->data, K4->data, K2->size * sizeof(double)), "%s: K differs", name);
        cr_assert_eq(r2->nprofile, r4->nprofile);
        cr_assert(!memcmp(r2->profile, r4->profile, r2->nprofile * sizeof(double)), "%s: unknowns differ", name);
        char *j2 = NULL, *j4 = NULL, key[32];
        cr_assert_eq(kernest_report_to_json(r2, &o, NULL, &j2), KERNEST_OK);
        cr_assert_eq(kernest_report_to_json(r4, &o, NULL, &j4), KERNEST_OK);
        snprintf(key, sizeof key, "\"%s\":", cases[c].key);
        const char *p2 = strstr(j2, key), *p4 = strstr(j4, key);
        cr_assert(p2 && p4, "%s: no %s in the report", name, key);
        p2 += strlen(key) + strspn(p2 + strlen(key), " \t\n");
        p4 += strlen(key) + strspn(p4 + strlen(key), " \t\n");
        /* 2-D: [values] or [[factor]]; 4-D: two more levels (C_out, C_in) */
        const int d2 = (int)strspn(p2, "[\t\n "), d4 = (int)strspn(p4, "[\t\n ");
        int n2 = 0, n4 = 0;
        for (int i = 0; i < d2; i++)
            n2 += p2[i] == '[';
        for (int i = 0; i < d4; i++)
            n4 += p4[i] == '[';
        cr_assert_eq(n4, n2 + 2, "%s: %s nests %d deep with channels, %d without", name, key, n4, n2);
        kernest_free(j2);
        kernest_free(j4);
        kernest_report_destroy(&r2);
        kernest_report_destroy(&r4);
        kernest_array_destroy(&K2);
        kernest_array_destroy(&K4);
    }
    kernest_array_destroy(&A2);
    kernest_array_destroy(&B2);
    kernest_array_destroy(&A3);
    kernest_array_destroy(&B3);
    kernest_array_destroy(&Kt);
}

/* ---- the CLI ---------------------------------------------------------------------------------- */

Test(channels_models, cli_profile_models_write_the_layer)
{
    char *dir = tu_tmpdir(), args[2048], err[1024];
    cr_assert_not_null(dir);
    unsigned long long s = 31;
    double x[NK * 64];
    kernest_array *K = layer_in_model(KERNEST_MODEL_RADIAL, 0, x, &s), *A = NULL, *B = NULL;
    observe(K, &A, &B, &s);
    char *ap = tu_path(dir, "A.npy"), *bp = tu_path(dir, "B.npy"), *kp = tu_path(dir, "K.npy"),
         *pp = tu_path(dir, "p.npy");
    cr_assert_eq(kernest_npy_write(ap, A, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_npy_write(bp, B, KERNEST_DOUBLE), KERNEST_OK);
    static const struct { const char *model; size_t rows; } cases[] = {{"radial", 0}, {"harmonic:1", 3}};
    const size_t p = kn_radial_knots(KS, KS);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(args, sizeof args, "estimate '%s' '%s' -o '%s' --ksize %dx%d --model %s --tol 1e-12 "
                 "--maxiter 2000 --profile '%s' --threads 1 -q", ap, bp, kp, KS, KS, cases[c].model, pp);
        cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "--model %s: %s", cases[c].model, err);
        kernest_array *Kh = NULL, *P = NULL;
        cr_assert_eq(kernest_npy_read(kp, &Kh), KERNEST_OK);
        cr_assert(Kh->ndim == 4 && Kh->shape[0] == COUT && Kh->shape[1] == CIN && Kh->shape[2] == KS &&
                  Kh->shape[3] == KS, "K is not %dx%dx%dx%d", COUT, CIN, KS, KS);
        cr_assert(tu_rel_diff(Kh, K) < 1e-8, "--model %s: error %g", cases[c].model, tu_rel_diff(Kh, K));
        cr_assert_eq(kernest_npy_read(pp, &P), KERNEST_OK);
        const size_t nd = cases[c].rows ? 4 : 3;
        cr_assert(P->ndim == (int)nd && P->shape[0] == COUT && P->shape[1] == CIN && P->shape[nd - 1] == p &&
                  (!cases[c].rows || P->shape[2] == cases[c].rows), "--profile of --model %s: ndim %d",
                  cases[c].model, P->ndim);
        for (size_t k = 0; k < NK && !cases[c].rows; k++) /* radial: each kernel's own profile */
            for (size_t j = 0; j < p; j++)
                cr_assert(fabs(P->data[k * p + j] - x[k * p + j]) < 1e-7, "kernel %zu knot %zu", k, j);
        kernest_array_destroy(&Kh);
        kernest_array_destroy(&P);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    free(ap);
    free(bp);
    free(kp);
    free(pp);
    tu_rmtree(dir);
    free(dir);
}
