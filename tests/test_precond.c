/* test_precond.c — the Jacobi preconditioner's diagonal (fit/precond.c) against the one the
 * operator itself gives, column by column (diag(HᵀPH) on the pixels, carried through Φ as
 * diag(ΦᵀDΦ)): every mode, a layer's stride,
 * dilation and groups, the background and the bias, each model kind, the priors; and preconditioned
 * CGLS against plain CGLS (the same minimiser). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "fit/fit.h"
#include "fit/precond.h"
#include "kernest.h"
#include "model/model.h"
#include "testutil.h"

/* diag(HᵀPH) of sbe's unknowns (or diag(G) when gram is set) by applying the operator to unit
 * vectors */
static void exact_diagonal(kn_backend *sbe, size_t nx, size_t m, int gram, double *d)
{
    const kn_backend_ops *o = sbe->ops;
    kn_vec *x = NULL, *r = NULL, *g = NULL;
    double *e = calloc(nx, sizeof *e);
    cr_assert(e);
    cr_assert_eq(o->vec_create(sbe, nx, &x), KERNEST_OK);
    cr_assert_eq(o->vec_create(sbe, m, &r), KERNEST_OK);
    cr_assert_eq(o->vec_create(sbe, nx, &g), KERNEST_OK);
    double *gv = malloc(nx * sizeof *gv);
    cr_assert(gv);
    for (size_t j = 0; j < nx; j++) {
        e[j] = 1.0;
        cr_assert_eq(o->vec_upload(sbe, x, e), KERNEST_OK);
        if (gram) {
            cr_assert_eq(o->reg_gram(sbe, KERNEST_REG_GRAD, x, g), KERNEST_OK);
            cr_assert_eq(o->vec_download(sbe, g, gv), KERNEST_OK);
            d[j] = gv[j];
        } else {
            cr_assert_eq(o->op_apply(sbe, x, r), KERNEST_OK);
            cr_assert_eq(kn_data_dot(sbe, r, r, &d[j]), KERNEST_OK);
        }
        e[j] = 0.0;
    }
    o->vec_destroy(sbe, &x);
    o->vec_destroy(sbe, &r);
    o->vec_destroy(sbe, &g);
    free(e);
    free(gv);
}

/* the preconditioner's diagonal against the operator's, for model (taken) on the session of
 * (A, B, o); masked: B has missing pixels, where the diagonal counts a plane's observed share
 * (approximate: the totals agree to 10 %) */
static void check(const kernest_array *const *A, const kernest_array *const *B, size_t npairs, kernest_options o,
                  kn_model *model, int masked, const char *what)
{
    kn_session s;
    cr_assert_eq(kn_session_open(&s, A, B, npairs, &o, NULL), KERNEST_OK, "%s: %s", what, kernest_last_error());
    const int bg = o.background || o.bias;
    kn_backend *sbe = NULL, *pbe = NULL;
    kn_model pixel;
    cr_assert_eq(kn_model_init_nk(&pixel, KERNEST_MODEL_PIXEL, 0, s.pb.kh, s.pb.kw, kn_problem_kernels(&s.pb)),
                 KERNEST_OK);
    cr_assert_eq(kn_model_backend_bg(model, s.be, NULL, bg ? &s.pb : NULL, &sbe), KERNEST_OK, "%s: %s", what,
                 kernest_last_error());
    cr_assert_eq(kn_model_backend_bg(&pixel, s.be, NULL, bg ? &s.pb : NULL, &pbe), KERNEST_OK, "%s: %s", what,
                 kernest_last_error());
    const size_t nx = model->nx;
    double *exact = malloc(nx * sizeof *exact), *gram = malloc(nx * sizeof *gram);
    double *dinv = malloc(nx * sizeof *dinv), *dreg = malloc(nx * sizeof *dreg);
    double *dpix = malloc(s.pb.n * sizeof *dpix);
    cr_assert(exact && gram && dinv && dreg && dpix);
    exact_diagonal(pbe, s.pb.n, s.pb.m, 0, dpix); /* D = diag(HᵀPH) on the pixels */
    if (!model->phi.row_ptr) {
        memcpy(exact, dpix, nx * sizeof *exact);
    } else { /* diag(Φᵀ D Φ) */
        memset(exact, 0, nx * sizeof *exact);
        for (size_t r = 0; r < model->phi.rows; r++)
            for (size_t e = model->phi.row_ptr[r]; e < model->phi.row_ptr[r + 1]; e++)
                exact[model->phi.col[e]] += model->phi.val[e] * model->phi.val[e] * dpix[r];
    }
    cr_assert_eq(kn_precond_jacobi(s.be, &s.pb, model, KERNEST_REG_NONE, 0.0, bg, dinv), KERNEST_OK, "%s", what);
    double emax = 0.0, tot_e = 0.0, tot_d = 0.0;
    for (size_t j = 0; j < nx; j++)
        emax = exact[j] > emax ? exact[j] : emax;
    cr_assert(emax > 0, "%s", what);
    for (size_t j = 0; j < nx; j++) {
        const double dj = 1.0 / dinv[j];
        cr_assert(isfinite(dj) && dj > 0, "%s: unknown %zu: 1/M⁻¹ = %g", what, j, dj);
        tot_e += exact[j];
        tot_d += exact[j] > 1e-12 * emax ? dj : 0.0;
        if (!masked && exact[j] > 1e-12 * emax)
            cr_assert(fabs(dj - exact[j]) <= 1e-9 * emax, "%s: unknown %zu of %zu: diagonal %.12g, the operator's %.12g",
                      what, j, nx, dj, exact[j]);
    }
    if (masked)
        cr_assert(fabs(tot_d - tot_e) <= 0.1 * tot_e, "%s: total %g against the operator's %g", what, tot_d, tot_e);
    /* the prior's part: λ diag(G) for grad (the operator's reg_gram), λ for ridge */
    const double lam = 0.37;
    exact_diagonal(sbe, nx, s.pb.m, 1, gram);
    cr_assert_eq(kn_precond_jacobi(s.be, &s.pb, model, KERNEST_REG_GRAD, lam, bg, dreg), KERNEST_OK, "%s", what);
    for (size_t j = 0; j < nx; j++)
        if (exact[j] > 1e-12 * emax)
            cr_assert(fabs(1.0 / dreg[j] - 1.0 / dinv[j] - lam * gram[j]) <= 1e-9 * (emax + lam * 8),
                      "%s: unknown %zu: the prior adds %.12g, λ diag(G) = %.12g", what, j,
                      1.0 / dreg[j] - 1.0 / dinv[j], lam * gram[j]);
    cr_assert_eq(kn_precond_jacobi(s.be, &s.pb, model, KERNEST_REG_RIDGE, lam, bg, dreg), KERNEST_OK, "%s", what);
    for (size_t j = 0; j < nx; j++)
        if (exact[j] > 1e-12 * emax)
            cr_assert(fabs(1.0 / dreg[j] - 1.0 / dinv[j] - lam) <= 1e-9 * emax, "%s: ridge, unknown %zu", what, j);
    free(exact);
    free(gram);
    free(dinv);
    free(dreg);
    free(dpix);
    if (sbe != s.be)
        kn_backend_destroy(&sbe);
    if (pbe != s.be)
        kn_backend_destroy(&pbe);
    kn_model_free(&pixel);
    kn_model_free(model);
    kn_session_close(&s);
}

static void check_kind(const kernest_array *A, const kernest_array *B, kernest_options o, kernest_model kind,
                       int order, const char *what)
{
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kn_model m;
    cr_assert_eq(kn_model_init_nk(&m, kind, order, o.kh, o.kw, 1), KERNEST_OK);
    check(As, Bs, 1, o, &m, 0, what);
}

Test(precond, every_mode_and_model)
{
    unsigned long long seed = 41;
    kernest_array *A = tu_random_array(9, 8, -1, 2, &seed);
    kernest_options o = tu_cpu_options(7, 6);
    const kernest_mode modes[3] = {KERNEST_MODE_SAME, KERNEST_MODE_FULL, KERNEST_MODE_VALID};
    for (int k = 0; k < 3; k++) {
        o.mode = modes[k];
        size_t hb, wb;
        cr_assert_eq(kernest_output_shape(o.mode, 9, 8, 7, 6, &hb, &wb, NULL, NULL), KERNEST_OK);
        kernest_array *B = tu_random_array(hb, wb, -1, 1, &seed);
        check_kind(A, B, o, KERNEST_MODEL_PIXEL, 0, kernest_mode_name(o.mode));
        check_kind(A, B, o, KERNEST_MODEL_RADIAL, 0, "radial");
        check_kind(A, B, o, KERNEST_MODEL_HARMONIC, 2, "harmonic:2");
        o.background = 1;
        check_kind(A, B, o, KERNEST_MODEL_PIXEL, 0, "pixel, background");
        check_kind(A, B, o, KERNEST_MODEL_RADIAL, 0, "radial, background");
        o.background = 0;
        kernest_array_destroy(&B);
    }
    /* a lowrank half-step: Φ holds the other factor */
    o.mode = KERNEST_MODE_SAME;
    kernest_array *B = tu_random_array(9, 8, -1, 1, &seed);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    double V[2 * 6];
    tu_random_vec(V, 12, -1, 1, &seed);
    kn_model m;
    cr_assert_eq(kn_lowrank_model(&m, 0, 2, 7, 6, 1, V), KERNEST_OK);
    check(As, Bs, 1, o, &m, 0, "lowrank:2, U half-step");
    /* missing pixels of B: the observed share */
    for (size_t j = 0; j < B->size; j += 4)
        B->data[j] = NAN;
    cr_assert_eq(kn_model_init_nk(&m, KERNEST_MODEL_PIXEL, 0, 7, 6, 1), KERNEST_OK);
    check(As, Bs, 1, o, &m, 1, "pixel, a quarter of B missing");
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(precond, a_layer_with_bias_over_samples)
{
    unsigned long long seed = 42;
    const size_t sa[4] = {2, 4, 13, 12};
    kernest_options o = tu_cpu_options(3, 3);
    o.mode = KERNEST_MODE_VALID;
    const kernest_geometry geos[3] = {{2, 2, 1, 1, 2}, {1, 2, 2, 1, 1}, {3, 2, 2, 3, 4}};
    for (int k = 0; k < 3; k++) {
        o.geometry = geos[k];
        size_t hb, wb;
        size_t r0, c0;
        cr_assert_eq(kn_layer_window(o.mode, 13, 12, 3, 3, &o.geometry, &hb, &wb, &r0, &c0), KERNEST_OK);
        const size_t sb[4] = {2, 4, hb, wb};
        kernest_array *A = NULL, *B = NULL;
        cr_assert_eq(kernest_array_create(4, sa, &A), KERNEST_OK);
        cr_assert_eq(kernest_array_create(4, sb, &B), KERNEST_OK);
        tu_random_vec(A->data, A->size, -1, 1, &seed);
        tu_random_vec(B->data, B->size, -1, 1, &seed);
        const kernest_array *As[1] = {A}, *Bs[1] = {B};
        const size_t nk = 4 * (4 / (size_t)o.geometry.groups);
        for (int bias = 0; bias < 3; bias++) { /* none, --bias (shared), --background (per sample) */
            o.bias = bias == 1;
            o.background = bias == 2;
            kn_model m;
            cr_assert_eq(kn_model_init_nk(&m, KERNEST_MODEL_PIXEL, 0, 3, 3, nk), KERNEST_OK);
            check(As, Bs, 1, o, &m, 0, bias == 1 ? "layer, bias" : bias ? "layer, background" : "layer");
        }
        o.bias = o.background = 0;
        kernest_array_destroy(&A);
        kernest_array_destroy(&B);
    }
}

/* preconditioned and plain CGLS reach the same minimiser (a kernel smaller than A: with a
 * (2N−1)² kernel and the background, K + c is as good as K and the two solves may pick apart) */
Test(precond, the_same_minimiser_as_plain_cgls)
{
    unsigned long long seed = 43;
    kernest_array *A = tu_random_array(14, 13, 0, 1, &seed), *B = tu_random_array(14, 13, -1, 1, &seed);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    const kernest_model kinds[3] = {KERNEST_MODEL_PIXEL, KERNEST_MODEL_RADIAL, KERNEST_MODEL_HARMONIC};
    for (int k = 0; k < 3; k++) {
        kernest_options o = tu_cpu_options(9, 11);
        o.model = kinds[k];
        o.order = kinds[k] == KERNEST_MODEL_HARMONIC ? 1 : 0;
        o.reg = KERNEST_REG_GRAD;
        o.lambda = 0.3;
        o.tol = 1e-11;
        o.maxiter = 20000;
        o.background = k == 1;
        o.precond = KERNEST_PRECOND_JACOBI;
        kn_fit a = {0}, b = {0};
        kn_session s;
        cr_assert_eq(kn_session_open(&s, As, Bs, 1, &o, NULL), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(kn_session_solve(&s, &o, NULL, &a), KERNEST_OK, "%s", kernest_last_error());
        o.precond = KERNEST_PRECOND_NONE;
        cr_assert_eq(kn_session_solve(&s, &o, NULL, &b), KERNEST_OK, "%s", kernest_last_error());
        kn_session_close(&s);
        cr_assert_eq(a.res.reason, KERNEST_STOP_CONVERGED);
        cr_assert_eq(b.res.reason, KERNEST_STOP_CONVERGED);
        const double d = tu_rel_diff_vec(a.K, b.K, (size_t)9 * 11);
        cr_assert(d < 1e-6, "%s: preconditioned and plain CGLS differ by %.3g", kernest_model_name(o.model), d);
        kn_fit_free(&a);
        kn_fit_free(&b);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* the command line: --precond names what it takes; the report says what the solve ran with */
Test(precond, the_command_line_and_the_report, .init = tu_dir_setup, .fini = tu_dir_teardown)
{
    unsigned long long seed = 44;
    kernest_array *A = tu_random_array(12, 12, 0, 1, &seed), *B = tu_random_array(12, 12, -1, 1, &seed);
    char *pa = tu_path(tu_dir, "A.npy"), *pb = tu_path(tu_dir, "B.npy"), *pk = tu_path(tu_dir, "K.npy");
    char *pr = tu_path(tu_dir, "r.json");
    cr_assert_eq(kernest_npy_write(pa, A, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_npy_write(pb, B, KERNEST_DOUBLE), KERNEST_OK);
    char cmd[4096], err[1024];
    snprintf(cmd, sizeof cmd, "estimate '%s' '%s' -o '%s' --model radial --reg grad --lambda 1 --precond diag", pa, pb, pk);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2);
    cr_assert(strstr(err, "--precond: 'diag' is not auto, jacobi, mean or none"), "%s", err);
    cr_assert(!tu_exists(pk), "a refused option left %s", pk);
    const char *const runs[7][3] = {{"radial", "auto", "jacobi"}, {"radial", "none", "none"},
                                    {"radial", "jacobi", "jacobi"}, {"radial", "mean", "mean"},
                                    {"pixel", "auto", "none"},   {"pixel", "jacobi", "jacobi"},
                                    {"pixel", "mean", "jacobi"}};
    for (int i = 0; i < 7; i++) {
        snprintf(cmd, sizeof cmd, "estimate '%s' '%s' -o '%s' --model %s --reg grad --lambda 1 --precond %s "
                 "--report '%s' --quiet", pa, pb, pk, runs[i][0], runs[i][1], pr);
        cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
        char *json = tu_read_text(pr), want[64];
        const char *at = strstr(json, "\"preconditioner\":");
        snprintf(want, sizeof want, "\"%s\"", runs[i][2]);
        cr_assert(at && !strncmp(at + strlen("\"preconditioner\":") + strspn(at + strlen("\"preconditioner\":"), " \t"),
                                 want, strlen(want)),
                  "--model %s --precond %s: the report's preconditioner is not %s", runs[i][0], runs[i][1], want);
        snprintf(want, sizeof want, "\"precond\":\t\"%s\"", runs[i][1]);
        cr_assert(strstr(json, want), "the report's options lack %s", want);
        free(json);
    }
    free(pa);
    free(pb);
    free(pk);
    free(pr);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}
