/* lowrank_als.c — alternating least squares for the low-rank model K = Σ_r u_r v_rᵀ over a
 * session: each half-step (U with V held, V with U held; model/lowrank.c builds its Φ) is one
 * ordinary solve through kn_session_solve_model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/dense.h"
#include "base/error.h"
#include "base/options.h"
#include "lowrank_als.h"
#include "model/model.h"

/* every kernel from the half-steps' layout: U = U_0, U_1, ..., V = V_0, V_1, ... */
static void kernels(const double *U, const double *V, size_t nk, int R, size_t kh, size_t kw, double *K)
{
    for (size_t k = 0; k < nk; k++)
        kn_lowrank_kernel(U + k * (size_t)R * kh, V + k * (size_t)R * kw, R, kh, kw, K + k * kh * kw);
}

/* ‖f‖ (ridge, none) or ‖D f‖ (grad) of one factor of length len */
static double factor_norm(const double *f, size_t len, kernest_reg reg)
{
    double s = 0.0;
    if (reg == KERNEST_REG_GRAD) {
        for (size_t i = 0; i + 1 < len; i++)
            s += (f[i + 1] - f[i]) * (f[i + 1] - f[i]);
        if (s > 0)
            return sqrt(s);
    }
    for (size_t i = 0; i < len; i++)
        s += f[i] * f[i];
    return sqrt(s);
}

/* u_r ← s u_r, v_r ← v_r / s with equal regulariser norms: K is unchanged and the regulariser
 * ½λ(N(u)² + N(v)²) is the smallest over s (AM–GM), so ALS stays monotone */
static void balance(double *U, double *V, size_t nf, size_t kh, size_t kw, kernest_reg reg)
{
    for (size_t r = 0; r < nf; r++) { /* nf factors u_r of kh values, v_r of kw */
        double *u = U + r * kh, *v = V + r * kw;
        const double a = factor_norm(u, kh, reg), b = factor_norm(v, kw, reg);
        if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b))
            continue;
        const double s = sqrt(b / a);
        for (size_t i = 0; i < kh; i++)
            u[i] *= s;
        for (size_t i = 0; i < kw; i++)
            v[i] /= s;
    }
}

/*
 * The R leading singular triplets of the kh×kw matrix Kp by subspace iteration (the host; R is
 * small): U = p_r √s_r, V = q_r √s_r, signs chosen so that Σ u_r >= 0. A direction the matrix
 * does not reach (s_r ~ 0) keeps a small share so that the half-steps can move it.
 */
static void leading_factors(const double *Kp, size_t kh, size_t kw, int R, int nonneg, double *U, double *V)
{
    double *P = U, *Q = V, s[64] = {0};
    for (size_t i = 0; i < (size_t)R * kw; i++) /* deterministic, not aligned with anything */
        Q[i] = 1.0 + 0.5 * sin(1.7 * (double)i + 0.3);
    for (int r = 0; r < R; r++)
        kn_dense_orthonormalise(Q, kw, (size_t)r);
    for (int it = 0; it < 40; it++) {
        for (int r = 0; r < R; r++) { /* p_r = Kp q_r, then Gram–Schmidt */
            double *p = P + (size_t)r * kh;
            const double *q = Q + (size_t)r * kw;
            for (size_t y = 0; y < kh; y++) {
                double a = 0.0;
                for (size_t x = 0; x < kw; x++)
                    a += Kp[y * kw + x] * q[x];
                p[y] = a;
            }
            kn_dense_orthonormalise(P, kh, (size_t)r);
        }
        for (int r = 0; r < R; r++) { /* q_r = Kpᵀ p_r */
            double *q = Q + (size_t)r * kw;
            const double *p = P + (size_t)r * kh;
            for (size_t x = 0; x < kw; x++)
                q[x] = 0.0;
            for (size_t y = 0; y < kh; y++)
                for (size_t x = 0; x < kw; x++)
                    q[x] += Kp[y * kw + x] * p[y];
            s[r] = kn_dense_orthonormalise(Q, kw, (size_t)r);
        }
    }
    const double floor_s = 1e-3 * (s[0] > 0 ? s[0] : 1.0);
    for (int r = 0; r < R; r++) {
        double *p = P + (size_t)r * kh, *q = Q + (size_t)r * kw, sum = 0.0;
        const double w = sqrt(s[r] > floor_s ? s[r] : floor_s);
        for (size_t y = 0; y < kh; y++)
            sum += p[y];
        const double sg = sum < 0 ? -w : w;
        for (size_t y = 0; y < kh; y++)
            p[y] = nonneg ? fabs(p[y]) * w : p[y] * sg;
        for (size_t x = 0; x < kw; x++)
            q[x] = nonneg ? fabs(q[x]) * w : q[x] * sg;
    }
}

static void move_fit(kn_fit *dst, kn_fit *src)
{
    kn_fit_free(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

/* The default start: a short unconstrained pixel estimate (early-stopped CGLS regularises it),
 * whose leading singular vectors give each kernel's U and V. */
static int pixel_start(kn_session *s, const kernest_options *opt, double *U, double *V, double *seconds,
                       long *inner)
{
    const size_t kh = s->pb.kh, kw = s->pb.kw, nk = kn_problem_kernels(&s->pb);
    const int R = opt->order;
    kernest_options po;
    kn_options_linear(opt, &po); /* (TV never reaches here: the session refuses it for lowrank) */
    po.model = KERNEST_MODEL_PIXEL;
    po.solver = KERNEST_SOLVER_CGLS;
    po.support = KERNEST_SUPPORT_NONE;
    po.nfixed = 0;
    po.maxiter = opt->maxiter < 50 ? opt->maxiter : 50;
    kn_model model = {0};
    kn_fit f = {0};
    int st = kn_model_init_nk(&model, KERNEST_MODEL_PIXEL, 0, kh, kw, nk);
    if (!st && !(st = kn_session_solve_model(s, &po, &model, NULL, NULL, NULL, &f))) {
        *seconds += f.solve_seconds;
        *inner += f.res.iterations;
        for (size_t k = 0; k < nk; k++)
            leading_factors(f.K + k * kh * kw, kh, kw, R, opt->nonneg, U + k * (size_t)R * kh,
                            V + k * (size_t)R * kw);
    }
    kn_model_free(&model); /* zeroed when the solve took it */
    kn_fit_free(&f);
    return st;
}

void kn_lowrank_start(const double *K, size_t nk, size_t kh, size_t kw, int R, int nonneg, double *x)
{
    for (size_t k = 0; k < nk; k++) {
        double *xk = x + k * (size_t)R * (kh + kw);
        leading_factors(K + k * kh * kw, kh, kw, R, nonneg, xk, xk + (size_t)R * kh);
    }
}

int kn_lowrank_solve(kn_session *s, const kernest_options *opt, const double *x0, kn_fit *fit)
{
    const kn_problem *pb = &s->pb;
    const size_t kh = pb->kh, kw = pb->kw, nk = kn_problem_kernels(pb), n = pb->n;
    const int R = opt->order;
    memset(fit, 0, sizeof *fit);
    /* R's range is kn_options_check's (kn_session_solve checked it); the kernel's size is not */
    if ((size_t)R > kh || (size_t)R > kw)
        return kn_error(KERNEST_E_INVALID, "--model lowrank:%d: the rank exceeds the %zux%zu kernel", R, kh, kw);
    kn_fit half = {0};
    kn_model model = {0};
    /* the half-steps' layout: every U_k, then every V_k (one kernel after the other in each) */
    const size_t nu = nk * (size_t)R * kh, nv = nk * (size_t)R * kw;
    double *UV = calloc(nu + nv, sizeof *UV), *Kprev = malloc(n * sizeof *Kprev);
    double *U = UV, *V = UV ? UV + nu : NULL, *X = NULL;
    int st = KERNEST_OK;
    double seconds = 0.0;
    if (!UV || !Kprev) {
        st = kn_error(KERNEST_E_NOMEM, "--model lowrank: out of memory");
        goto done;
    }
    long inner = 0;
    if (x0) /* the given factors, kernel by kernel [U_k; V_k] */
        for (size_t k = 0; k < nk; k++) {
            const double *xk = x0 + k * (size_t)R * (kh + kw);
            memcpy(U + k * (size_t)R * kh, xk, (size_t)R * kh * sizeof *U);
            memcpy(V + k * (size_t)R * kw, xk + (size_t)R * kh, (size_t)R * kw * sizeof *V);
        }
    else if ((st = pixel_start(s, opt, U, V, &seconds, &inner)))
        goto done;
    kernels(U, V, nk, R, kh, kw, Kprev);
    fit->outer_reason = KERNEST_STOP_MAXITER;
    int stopped = 0; /* a half-step interrupted (the progress callback asked to stop): no more sweeps */
    for (int t = 1; t <= opt->outer_maxiter && !stopped; t++) {
        for (int side = 0; side < 2 && !stopped; side++) { /* U with V held, then V with U held */
            double *x = side == 0 ? U : V;
            kn_fit_free(&half);
            if ((st = kn_lowrank_model(&model, side, R, kh, kw, nk, side == 0 ? V : U)) ||
                (st = kn_session_solve_model(s, opt, &model, x, NULL, NULL, &half)))
                goto done;
            memcpy(x, half.x, half.model.nx * sizeof *x);
            seconds += half.solve_seconds;
            inner += half.res.iterations;
            stopped = half.res.reason == KERNEST_STOP_INTERRUPTED;
        }
        if (stopped) {
            fit->outer_reason = KERNEST_STOP_INTERRUPTED;
            fit->outer_iterations = t;
            break;
        }
        balance(U, V, nk * (size_t)R, kh, kw, opt->reg); /* factor by factor, every kernel's */
        kernels(U, V, nk, R, kh, kw, half.K);
        double dk = 0.0, nrm = 0.0;
        for (size_t i = 0; i < n; i++) {
            dk += (half.K[i] - Kprev[i]) * (half.K[i] - Kprev[i]);
            nrm += Kprev[i] * Kprev[i];
        }
        memcpy(Kprev, half.K, n * sizeof *Kprev);
        fit->outer_iterations = t;
        fit->outer_change = nrm > 0 ? sqrt(dk / nrm) : (dk > 0 ? INFINITY : 0.0);
        if (fit->outer_change <= opt->outer_tol) {
            fit->outer_reason = KERNEST_STOP_CONVERGED;
            break;
        }
    }
    /* the unknowns kernel by kernel: [U_k; V_k] (kn_model_kernel, the report) */
    if (!(X = malloc((nu + nv) * sizeof *X))) {
        st = kn_error(KERNEST_E_NOMEM, "--model lowrank: out of memory");
        goto done;
    }
    for (size_t k = 0; k < nk; k++) {
        double *xk = X + k * (size_t)R * (kh + kw);
        memcpy(xk, U + k * (size_t)R * kh, (size_t)R * kh * sizeof *X);
        memcpy(xk + (size_t)R * kh, V + k * (size_t)R * kw, (size_t)R * kw * sizeof *X);
    }
    {
        /* the last half-step's fit (its hx, β, history, solver) with the sweeps' outcome */
        const int outer_it = fit->outer_iterations;
        const kernest_stop_reason outer_reason = fit->outer_reason;
        const double outer_change = fit->outer_change;
        move_fit(fit, &half);
        fit->outer_iterations = outer_it;
        fit->outer_reason = outer_reason;
        fit->outer_change = outer_change;
    }
    kn_model_free(&fit->model);
    fit->model = (kn_model){.kind = KERNEST_MODEL_LOWRANK, .order = R, .side = -1, .kh = kh, .kw = kw,
                            .nk = nk, .nx = nu + nv};
    free(fit->x);
    fit->x = X;
    X = NULL;
    kn_model_kernel(&fit->model, fit->x, fit->K);
    fit->solve_seconds = seconds;
    fit->inner_iterations = inner;
done:
    kn_model_free(&model);
    kn_fit_free(&half);
    free(UV);
    free(X);
    free(Kprev);
    return st;
}
