/* test_krylov.c — the λ path's Krylov subspace: Golub–Kahan's Tikhonov solutions against dense
 * ones, the prior's square root S against the Gram matrices it inverts, and the priorconditioned
 * subspace's solution against CGLS's minimiser on a real operator; the automatic choice's
 * accounting of a path solved that way. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "fit/fit.h"
#include "kernest.h"
#include "model/model.h"
#include "model/priorcond.h"
#include "solve/gk.h"
#include "testutil.h"

/* ---- a dense host operator ------------------------------------------------------------------ */

typedef struct dense {
    size_t m, n;
    const double *A; /* m × n, row-major */
} dense;

static int dense_forward(void *user, const double *x, double *r)
{
    const dense *d = user;
    for (size_t i = 0; i < d->m; i++)
        r[i] = tu_dot(d->A + i * d->n, x, d->n);
    return KERNEST_OK;
}

static int dense_adjoint(void *user, const double *r, double *x)
{
    const dense *d = user;
    for (size_t j = 0; j < d->n; j++) {
        x[j] = 0.0;
        for (size_t i = 0; i < d->m; i++)
            x[j] += d->A[i * d->n + j] * r[i];
    }
    return KERNEST_OK;
}

/* x = M⁻¹ b for a symmetric positive definite n × n M (Cholesky; M is overwritten) */
static void spd_solve(double *M, size_t n, const double *b, double *x)
{
    for (size_t j = 0; j < n; j++) {
        for (size_t k = 0; k < j; k++)
            M[j * n + j] -= M[j * n + k] * M[j * n + k];
        cr_assert(M[j * n + j] > 0, "not positive definite");
        M[j * n + j] = sqrt(M[j * n + j]);
        for (size_t i = j + 1; i < n; i++) {
            for (size_t k = 0; k < j; k++)
                M[i * n + j] -= M[i * n + k] * M[j * n + k];
            M[i * n + j] /= M[j * n + j];
        }
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = b[i];
        for (size_t k = 0; k < i; k++)
            x[i] -= M[i * n + k] * x[k];
        x[i] /= M[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        for (size_t k = i + 1; k < n; k++)
            x[i] -= M[k * n + i] * x[k];
        x[i] /= M[i * n + i];
    }
}

/* More unknowns than data, as kernest's problems have: the bidiagonalisation ends after m steps
 * with the subspace complete, and then every λ's solution is the dense Tikhonov solution; after
 * fewer steps the normal equations' residual is the one gk.h names (along v_{k+1}). */
Test(gk, tikhonov_solutions_match_the_dense_ones)
{
    enum { M = 20, N = 35 };
    unsigned long long seed = 11;
    double A[M * N], b[M], z[N], zd[N], G[N * N], rhs[N], r[M];
    tu_random_vec(A, M * N, -1, 1, &seed);
    tu_random_vec(b, M, -1, 1, &seed);
    dense d = {M, N, A};
    const kn_gk_operator op = {dense_forward, dense_adjoint, &d};
    kn_gk g;
    cr_assert_eq(kn_gk_init(&g, N, M, 60, 1, &op, b), KERNEST_OK, "%s", kernest_last_error());
    /* after 5 steps: Aᵀ(b − A z) − λz = resid · v_6 */
    for (int k = 0; k < 5; k++)
        cr_assert_eq(kn_gk_step(&g, &op), KERNEST_OK);
    cr_assert_eq(g.k, 5);
    double y[64], rss, resid;
    kn_gk_solve(&g, 5, 0.3, y, &rss, &resid);
    kn_gk_combine(g.V, N, 5, y, z, 1);
    dense_forward(&d, z, r);
    double rr = 0.0;
    for (int i = 0; i < M; i++)
        rr += (r[i] - b[i]) * (r[i] - b[i]), r[i] = b[i] - r[i];
    double gz[N], dev = 0.0, gn = 0.0;
    dense_adjoint(&d, r, gz);
    for (int j = 0; j < N; j++) {
        gz[j] -= 0.3 * z[j];
        dev += pow(gz[j] - resid * g.V[5 * N + j], 2);
        gn += gz[j] * gz[j];
    }
    cr_assert(sqrt(dev) < 1e-10 * sqrt(gn), "residual off its formula by %g of %g", sqrt(dev), sqrt(gn));
    cr_assert(fabs(rss - rr) < 1e-10 * rr, "rss %.15g, direct %.15g", rss, rr);
    while (!g.exhausted)
        cr_assert_eq(kn_gk_step(&g, &op), KERNEST_OK);
    cr_assert_eq(g.k, M, "exhausted after %d steps", g.k);
    for (double lam = 1e-3; lam < 20; lam *= 31.6) {
        kn_gk_solve(&g, g.k, lam, y, &rss, &resid);
        kn_gk_combine(g.V, N, g.k, y, z, 1);
        for (int i = 0; i < N; i++) /* (AᵀA + λI) z = Aᵀ b */
            for (int j = 0; j < N; j++) {
                G[i * N + j] = lam * (i == j);
                for (int k = 0; k < M; k++)
                    G[i * N + j] += A[k * N + i] * A[k * N + j];
            }
        dense_adjoint(&d, b, rhs);
        spd_solve(G, N, rhs, zd);
        const double e = tu_rel_diff_vec(z, zd, N);
        cr_assert(e < 1e-9, "λ %g: the subspace's solution differs from the dense one by %g", lam, e);
        cr_assert_eq(resid, 0.0);
    }
    kn_gk_free(&g);
}

/* ---- the prior's square root ---------------------------------------------------------------- */

/* out = (G + δI) x for pixel's grad prior, by its definition in backend.h: per kernel, the
 * differences to each 4-neighbour inside the kh×kw grid */
static void grid_gram(size_t kh, size_t kw, size_t nk, double delta, const double *x, double *out)
{
    for (size_t k = 0; k < nk; k++)
        for (size_t i = 0; i < kh; i++)
            for (size_t j = 0; j < kw; j++) {
                const double *b = x + k * kh * kw;
                double s = delta * b[i * kw + j];
                if (i > 0)
                    s += b[i * kw + j] - b[(i - 1) * kw + j];
                if (i + 1 < kh)
                    s += b[i * kw + j] - b[(i + 1) * kw + j];
                if (j > 0)
                    s += b[i * kw + j] - b[i * kw + j - 1];
                if (j + 1 < kw)
                    s += b[i * kw + j] - b[i * kw + j + 1];
                out[k * kh * kw + i * kw + j] = s;
            }
}

/* out = (G + δI) x for m's grad prior: the grid's for pixel, the model's gram otherwise */
static void prior_gram(const kn_model *m, double delta, const double *x, double *out)
{
    if (m->kind == KERNEST_MODEL_PIXEL)
        grid_gram(m->kh, m->kw, m->nk, delta, x, out);
    else {
        kn_csr_apply(&m->gram, x, out);
        for (size_t i = 0; i < m->nx; i++)
            out[i] += delta * x[i];
    }
}

/* Sᵀ(G + δI)S = I (⟨S z₁, (G + δI) S z₂⟩ = ⟨z₁, z₂⟩), Sᵀ is S's adjoint, and S⁻ᵀ undoes Sᵀ */
static void check_root(kernest_model kind, int order, size_t kh, size_t kw, size_t nk)
{
    kn_model m;
    cr_assert_eq(kn_model_init_nk(&m, kind, order, kh, kw, nk), KERNEST_OK, "%s", kernest_last_error());
    kn_priorcond *p = NULL;
    cr_assert_eq(kn_priorcond_create(&m, KERNEST_REG_GRAD, &p), KERNEST_OK, "%s", kernest_last_error());
    const size_t n = m.nx;
    unsigned long long seed = 5;
    double *z1 = tu_random_vec_new(n, -1, 1, &seed), *z2 = tu_random_vec_new(n, -1, 1, &seed);
    double *s1 = malloc(n * sizeof *s1), *s2 = malloc(n * sizeof *s2), *g2 = malloc(n * sizeof *g2);
    double *w = tu_random_vec_new(n, -1, 1, &seed), *tw = malloc(n * sizeof *tw);
    double mean = 0.0; /* G's mean diagonal: δ's scale */
    if (kind == KERNEST_MODEL_PIXEL) {
        double *e = calloc(n, sizeof *e), *ge = malloc(n * sizeof *ge);
        for (size_t i = 0; i < n; i++) {
            e[i] = 1.0;
            grid_gram(kh, kw, nk, 0.0, e, ge);
            mean += ge[i] / (double)n;
            e[i] = 0.0;
        }
        free(e), free(ge);
    } else
        for (size_t i = 0; i < n / nk; i++)
            for (size_t k = m.gram.row_ptr[i]; k < m.gram.row_ptr[i + 1]; k++)
                mean += m.gram.col[k] == i ? m.gram.val[k] / (double)(n / nk) : 0.0;
    const double delta = KN_PRIORCOND_DELTA * mean;
    memcpy(s1, z1, n * sizeof *s1);
    memcpy(s2, z2, n * sizeof *s2);
    kn_priorcond_apply(p, KN_PC_S, s1);
    kn_priorcond_apply(p, KN_PC_S, s2);
    prior_gram(&m, delta, s2, g2);
    const double lhs = tu_dot(s1, g2, n), rhs = tu_dot(z1, z2, n);
    cr_assert(fabs(lhs - rhs) < 1e-6 * n, "model %d: <S z1, (G + δ) S z2> = %.10g, <z1, z2> = %.10g", kind, lhs, rhs);
    for (size_t i = 0; i < n; i++) { /* a unit vector too: S's columns are (G + δ)-orthonormal */
        memset(s2, 0, n * sizeof *s2);
        s2[i] = 1.0;
        kn_priorcond_apply(p, KN_PC_S, s2);
        prior_gram(&m, delta, s2, g2);
        cr_assert(fabs(tu_dot(s2, g2, n) - 1.0) < 1e-6, "model %d: column %zu has (G + δ)-norm² %.10g", kind, i,
                  tu_dot(s2, g2, n));
    }
    memcpy(tw, w, n * sizeof *tw);
    kn_priorcond_apply(p, KN_PC_ST, tw);
    const double a1 = tu_dot(s1, w, n), a2 = tu_dot(z1, tw, n);
    cr_assert(fabs(a1 - a2) < 1e-9 * (fabs(a1) + 1.0), "model %d: <S z, w> %.15g, <z, Sᵀ w> %.15g", kind, a1, a2);
    kn_priorcond_apply(p, KN_PC_INV_T, tw);
    cr_assert(tu_rel_diff_vec(tw, w, n) < 1e-9, "model %d: S⁻ᵀ Sᵀ w differs from w by %g", kind,
              tu_rel_diff_vec(tw, w, n));
    kn_priorcond_destroy(&p);
    cr_assert_null(p);
    kn_model_free(&m);
    free(z1), free(z2), free(s1), free(s2), free(g2), free(w), free(tw);
}

Test(priorcond, pixel_grid_laplacian_by_the_dct)
{
    check_root(KERNEST_MODEL_PIXEL, 0, 7, 5, 2);
    check_root(KERNEST_MODEL_PIXEL, 0, 1, 6, 1); /* a one-row kernel: the 1-D Laplacian */
}

Test(priorcond, radial_and_harmonic_profiles_by_a_banded_cholesky)
{
    check_root(KERNEST_MODEL_RADIAL, 0, 9, 9, 1);
    check_root(KERNEST_MODEL_RADIAL, 0, 11, 7, 3);
    check_root(KERNEST_MODEL_HARMONIC, 2, 9, 7, 2);
}

Test(priorcond, ridge_is_the_identity_and_lowrank_has_none)
{
    kn_model m;
    kn_priorcond *p = NULL;
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_RADIAL, 0, 9, 9), KERNEST_OK);
    cr_assert_eq(kn_priorcond_create(&m, KERNEST_REG_RIDGE, &p), KERNEST_OK);
    double v[16] = {1, -2, 3}, w[16];
    memcpy(w, v, sizeof v);
    kn_priorcond_apply(p, KN_PC_S, w);
    cr_assert_arr_eq(v, w, m.nx * sizeof *v);
    kn_priorcond_destroy(&p);
    cr_assert_eq(kn_priorcond_create(&m, KERNEST_REG_NONE, &p), KERNEST_E_UNSUPPORTED);
    cr_assert_null(p);
    kn_model_free(&m);
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_LOWRANK, 2, 9, 9), KERNEST_OK);
    cr_assert_eq(kn_priorcond_create(&m, KERNEST_REG_GRAD, &p), KERNEST_E_UNSUPPORTED);
    cr_assert_null(p);
    kn_model_free(&m);
}

/* ---- the priorconditioned subspace on kernest's operator ----------------------------------- */

typedef struct pcop {
    kn_backend *sbe, *be;
    kn_vec *x, *r;
    const kn_priorcond *p;
    size_t n, m;
    double *tmp;
} pcop;

static int pc_forward(void *user, const double *v, double *r)
{
    pcop *o = user;
    memcpy(o->tmp, v, o->n * sizeof *o->tmp);
    kn_priorcond_apply(o->p, KN_PC_S, o->tmp);
    int st = o->be->ops->vec_upload(o->be, o->x, o->tmp);
    if (!st && !(st = kn_model_forward(o->sbe, o->x, o->r)))
        st = o->be->ops->vec_download(o->be, o->r, r);
    return st;
}

static int pc_adjoint(void *user, const double *r, double *x)
{
    pcop *o = user;
    int st = o->be->ops->vec_upload(o->be, o->r, r);
    if (!st && !(st = o->sbe->ops->op_adjoint(o->sbe, o->r, o->x)))
        st = o->be->ops->vec_download(o->be, o->x, x);
    kn_priorcond_apply(o->p, KN_PC_ST, x);
    return st;
}

/* x_λ = S V_k y_λ from one bidiagonalisation is the minimiser CGLS converges to, at every λ */
static void subspace_is_the_minimiser(kernest_model kind, int order)
{
    kernest_array *A = NULL, *B = NULL;
    tu_smooth_problem(3, 1.0, 0.0, &A, &B);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o = tu_cpu_options(31, 31);
    o.model = kind;
    o.order = order;
    o.reg = KERNEST_REG_GRAD;
    o.tol = 1e-13;
    o.maxiter = 200000;
    kn_session s;
    cr_assert_eq(kn_session_open(&s, As, Bs, 1, &o, NULL), KERNEST_OK, "%s", kernest_last_error());
    kn_model m;
    cr_assert_eq(kn_model_init_nk(&m, kind, order, 31, 31, 1), KERNEST_OK);
    kn_priorcond *p = NULL;
    cr_assert_eq(kn_priorcond_create(&m, KERNEST_REG_GRAD, &p), KERNEST_OK);
    pcop op = {.be = s.be, .p = p, .n = m.nx, .m = s.pb.m};
    op.tmp = malloc(m.nx * sizeof *op.tmp);
    cr_assert_eq(s.be->ops->vec_create(s.be, m.nx, &op.x), KERNEST_OK);
    cr_assert_eq(s.be->ops->vec_create(s.be, s.pb.m, &op.r), KERNEST_OK);
    cr_assert_eq(kn_session_operator(&s, &m, NULL, 0, &op.sbe), KERNEST_OK, "%s", kernest_last_error());
    const kn_gk_operator gop = {pc_forward, pc_adjoint, &op};
    kn_gk g;
    const int kmax = (int)(m.nx < s.pb.m ? m.nx : s.pb.m);
    cr_assert_eq(kn_gk_init(&g, m.nx, s.pb.m, kmax, 1, &gop, s.host_b), KERNEST_OK, "%s", kernest_last_error());
    while (!g.exhausted && g.k < kmax)
        cr_assert_eq(kn_gk_step(&g, &gop), KERNEST_OK, "%s", kernest_last_error());
    double *y = malloc(((size_t)kmax + 1) * sizeof *y), *x = malloc(m.nx * sizeof *x);
    for (double lam = 1e-2; lam < 200; lam *= 100) {
        o.lambda = lam;
        kn_fit f = {0};
        cr_assert_eq(kn_session_solve(&s, &o, NULL, &f), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(f.res.reason, KERNEST_STOP_CONVERGED, "model %d, λ %g: CGLS did not converge", kind, lam);
        double rss, resid;
        kn_gk_solve(&g, g.k, lam, y, &rss, &resid);
        kn_gk_combine(g.V, m.nx, g.k, y, x, 1);
        kn_priorcond_apply(p, KN_PC_S, x);
        const double e = tu_rel_diff_vec(x, f.x, m.nx);
        cr_assert(e < 1e-5, "model %d, λ %g: the subspace's solution (k = %d) differs from CGLS's by %g", kind, lam,
                  g.k, e);
        kn_fit_free(&f);
    }
    kn_gk_free(&g);
    s.be->ops->vec_destroy(s.be, &op.x);
    s.be->ops->vec_destroy(s.be, &op.r);
    kn_priorcond_destroy(&p);
    kn_model_free(&m);
    kn_session_close(&s);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    free(op.tmp), free(y), free(x);
}

Test(hybrid, pixel_subspace_solution_is_the_cgls_minimiser, .timeout = 120)
{
    subspace_is_the_minimiser(KERNEST_MODEL_PIXEL, 0);
}

Test(hybrid, radial_and_harmonic_subspace_solutions_are_the_cgls_minimisers, .timeout = 120)
{
    subspace_is_the_minimiser(KERNEST_MODEL_RADIAL, 0);
    subspace_is_the_minimiser(KERNEST_MODEL_HARMONIC, 2);
}

/* The automatic λ of a linear model scores its path in Krylov subspaces: per scored fold one
 * adjoint to start and two applications per step, plus the two probes of λ's scale, and nothing
 * else (each point's held-out errors come from the steps' own products) */
Test(hybrid, a_lambda_path_costs_its_steps_and_nothing_else)
{
    kernest_array *A = NULL, *B = NULL;
    tu_smooth_problem(4, 1.0, 0.0, &A, &B);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o = tu_cpu_options(31, 31);
    o.reg = KERNEST_REG_GRAD;
    o.auto_lambda = 1;
    kernest_report *r = NULL;
    kernest_array *K = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r->ncandidates, 1);
    long steps = 0;
    int folds = 0;
    for (size_t i = 0; i < r->npath; i++) {
        steps += r->path[i].iterations;
        folds = (int)r->path[i].aux;
    }
    cr_assert_gt(folds, 0);
    cr_assert_gt(steps, 0);
    cr_assert_eq(r->candidates[0].applications, 2 + folds + 2 * steps, "%ld applications for %ld steps on %d folds",
                 r->candidates[0].applications, steps, folds);
    cr_assert_eq(r->candidates[0].capped, 0);
    cr_assert_eq(r->candidates[0].subspaces, folds);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    /* in single precision the path solves (select_hybrid.c, hybrid_open) */
    o.precision = KERNEST_SINGLE;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r->candidates[0].subspaces, 0);
    cr_assert_gt(r->candidates[0].solves, folds);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}
