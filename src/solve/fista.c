/* fista.c — FISTA with adaptive restart (Beck & Teboulle; O'Donoghue & Candès), written against
 * the backend table: one H and one Hᵀ per iteration, like CGLS. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "fista.h"
#include "fista_metric.h"
#include "prox_tv.h"

void kn_fista_vectors(kernest_reg reg, size_t *kernel_vecs, size_t *data_vecs)
{
    *kernel_vecs = reg == KERNEST_REG_NONE ? 5 : 6; /* xn, y, g, d, the metric's v (+ z = LᵀL ·) */
    *data_vecs = 4;                                 /* Hx, Hxn, Hy, r */
}

enum { POWER_MIN = 3, POWER_MAX = 20, BACKTRACK_MAX = 60 };
#define KN_PROX_TOL_START 1e-4 /* an iterative prox's relative tolerance at the start */

typedef struct work {
    kn_backend *be;
    const kn_solve_params *prm;
    int reg;
    kn_vec *z; /* LᵀL · */
} work;

/* out = (HᵀH + λLᵀL) v, with hv = H v as scratch */
static int gram(const work *w, const kn_vec *v, kn_vec *hv, kn_vec *out)
{
    const kn_backend_ops *o = w->be->ops;
    int st;
    if ((st = o->op_apply(w->be, v, hv)) || (st = o->op_adjoint(w->be, hv, out)))
        return st;
    if (w->reg && ((st = o->reg_gram(w->be, w->prm->reg, v, w->z)) ||
                   (st = o->vec_axpy(w->be, out, w->prm->lambda, w->z))))
        return st;
    return KERNEST_OK;
}

/* v −= ⟨u, v⟩ u (u unit norm; NULL: nothing) */
static int deflate(kn_backend *be, const kn_vec *u, kn_vec *v)
{
    double uv;
    int st;
    if (!u)
        return KERNEST_OK;
    if ((st = be->ops->vec_dot(be, u, v, &uv)))
        return st;
    return be->ops->vec_axpy(be, v, -uv, u);
}

/*
 * Power iteration for λmax(P(HᵀH + λLᵀL)P), P = I − uuᵀ (u NULL: P = I), from v (its start,
 * overwritten by the eigenvector's estimate, unit norm): ‖G v‖ with ‖v‖ = 1 never exceeds
 * λmax, hence the callers' 1.05 margin; the step test in the main loop catches what is left.
 * Stops when the estimate settles to 1e-3 (after POWER_MIN iterations), after POWER_MAX, or
 * once it reaches `enough` (the estimate only rises towards λmax). *its gets the iterations. A v
 * that vanishes starts from the ones vector instead.
 */
static int power(const work *w, const kn_vec *u, kn_vec *v, kn_vec *gv, kn_vec *hv, double enough, int *its,
                 double *mu_out)
{
    const kn_backend_ops *o = w->be->ops;
    double nrm, mu = 0.0, prev = 0.0;
    int st;
    for (int pass = 0; pass < 2; pass++) {
        if ((st = deflate(w->be, u, v)))
            return st;
        if ((st = o->vec_nrm2(w->be, v, &nrm)))
            return st;
        if (nrm > 0 && isfinite(nrm))
            break;
        if ((st = o->vec_fill(w->be, v, 1.0)))
            return st;
    }
    if (!(nrm > 0) || !isfinite(nrm)) {
        *its = 0, *mu_out = 0.0;
        return KERNEST_OK;
    }
    if ((st = o->vec_scale(w->be, v, 1.0 / nrm)))
        return st;
    for (int it = 1; it <= POWER_MAX; it++) {
        if ((st = gram(w, v, hv, gv)))
            return st;
        if ((st = deflate(w->be, u, gv)))
            return st;
        if ((st = o->vec_nrm2(w->be, gv, &mu)))
            return st;
        *its = it;
        if (!isfinite(mu) || mu == 0.0)
            break;
        if ((st = o->vec_copy(w->be, v, gv)) || (st = o->vec_scale(w->be, v, 1.0 / mu)))
            return st;
        if ((it >= POWER_MIN && fabs(mu - prev) <= 1e-3 * mu) || mu >= enough)
            break;
        prev = mu;
    }
    *mu_out = mu;
    return KERNEST_OK;
}

/*
 * The step's metric. L = 1.05 λ₁ from the power iteration started at htb = Hᵀb (rich in the leading
 * singular vectors the data excite). A second one on the rest (P = I − v₁v₁ᵀ, from Hᵀb again)
 * estimates λ₂; it stops as soon as its estimate, which only rises, reaches λ₁/KN_METRIC_RATIO
 * (on most problems within a step or two: one adjoint and a few applications more per solve).
 * At a ratio λ₁/λ₂ ≥ KN_METRIC_RATIO the metric is M = 1.05 λ₂ (I + δ v₁v₁ᵀ), δ = λ₁/λ₂ − 1
 * (m->v gets v₁). Elsewhere M = L I, as before it existed. v, gv and hv are scratch (v ends
 * with v₁).
 */
static int metric_setup(const work *w, const kn_vec *htb, kn_vec *v, kn_vec *gv, kn_vec *hv, kn_vec *mv,
                        kn_metric *m, kn_fista_info *info, double *L)
{
    const kn_backend_ops *o = w->be->ops;
    double mu1, mu2;
    int its1, its2;
    int st;
    if ((st = o->vec_copy(w->be, v, htb)) || (st = power(w, NULL, v, gv, hv, INFINITY, &its1, &mu1)))
        return st;
    info->power_iterations = its1;
    *L = mu1 > 0 && isfinite(mu1) ? 1.05 * mu1 : 1.0;
    if (!(mu1 > 0) || !isfinite(mu1) || !mv)
        return KERNEST_OK;
    if ((st = o->vec_copy(w->be, mv, v)) || (st = o->vec_copy(w->be, v, htb)) ||
        (st = power(w, mv, v, gv, hv, mu1 / KN_METRIC_RATIO, &its2, &mu2)))
        return st;
    info->power_iterations += its2;
    if (!(mu2 > 0) || !isfinite(mu2) || mu1 < KN_METRIC_RATIO * mu2)
        return KERNEST_OK;
    m->v = mv;
    m->delta = mu1 / mu2 - 1.0;
    info->metric_ratio = mu1 / mu2;
    *L = 1.05 * mu2;
    return KERNEST_OK;
}

/* The prox's memory: kernel 0's shift as the scalar prox_tau (all of it for one kernel), every
 * kernel's as the values prox_tau_k when a sum is held on several; TV's dual state. */
static int save_prox_memory(kn_backend *be, kn_solver_state *st, kn_prox *prox)
{
    const size_t nk = kn_prox_shifts(prox);
    double *tau = malloc(nk * sizeof *tau);
    int have, e = KERNEST_OK;
    if (!tau)
        return kn_error(KERNEST_E_NOMEM, "checkpoint: out of memory");
    kn_prox_get_memory(prox, tau, &have);
    kn_state_put_scalar(st, "prox_tau", tau[0]);
    kn_state_put_scalar(st, "prox_have_tau", have);
    if (nk > 1)
        e = kn_state_put_values(st, "prox_tau_k", tau, nk);
    free(tau);
    if (!e && kn_prox_tv(prox))
        e = kn_tv_save(be, kn_prox_tv(prox), st);
    return e;
}

static int resume_prox_memory(kn_backend *be, const kn_solver_state *rs, kn_prox *prox)
{
    const size_t nk = kn_prox_shifts(prox);
    double *tau = malloc(nk * sizeof *tau), have;
    int e;
    if (!tau)
        return kn_error(KERNEST_E_NOMEM, "--resume: out of memory");
    if (!(e = kn_state_get_scalar(rs, "prox_tau", &tau[0])) &&
        !(e = kn_state_get_scalar(rs, "prox_have_tau", &have)) &&
        !(e = nk > 1 ? kn_state_get_values(rs, "prox_tau_k", tau, nk) : KERNEST_OK))
        kn_prox_set_memory(prox, tau, have != 0.0);
    free(tau);
    if (!e && kn_prox_tv(prox))
        e = kn_tv_restore(be, kn_prox_tv(prox), rs);
    return e;
}

/* Hands the state after an iteration to the save hook: x_t, Hx_t, y_t, Hy_t (Hy is kept by the
 * recursion, not recomputed: recomputing would round differently), θ, L, the metric (δ, its
 * last scalar s, v when it is used), the counters and the prox's memory. The gradient, xn, d and
 * r are recomputed from these by the next iteration. */
static int save_state(kn_backend *be, const kn_solve_params *prm, const kn_solve_result *res,
                      kn_prox *prox, const kn_metric *m, const kn_vec *x, const kn_vec *hx,
                      const kn_vec *y, const kn_vec *hy, double theta, double L, const kn_fista_info *info)
{
    kn_solver_state st = {.solver = KERNEST_SOLVER_FISTA};
    int e;
    if ((e = kn_state_put_vec(be, &st, "x", x)) || (e = kn_state_put_vec(be, &st, "hx", hx)) ||
        (e = kn_state_put_vec(be, &st, "y", y)) || (e = kn_state_put_vec(be, &st, "hy", hy)) ||
        (e = kn_state_put_history(&st, res->history, res->iterations)))
        goto out;
    kn_state_put_scalar(&st, "theta", theta);
    kn_state_put_scalar(&st, "L", L);
    kn_state_put_scalar(&st, "restarts", info->restarts);
    kn_state_put_scalar(&st, "backtracks", info->backtracks);
    kn_state_put_scalar(&st, "power_its", info->power_iterations);
    kn_state_put_scalar(&st, "metric_delta", m->delta);
    kn_state_put_scalar(&st, "metric_s", m->s);
    if (m->v && (e = kn_state_put_vec(be, &st, "metric_v", m->v)))
        goto out;
    if (prox && (e = save_prox_memory(be, &st, prox)))
        goto out;
    e = prm->hooks->save ? prm->hooks->save(prm->hooks->user, &st) : KERNEST_OK;
out:
    kn_state_free(&st);
    return e;
}

static int resume_state(kn_backend *be, const kn_solver_state *rs, const kn_solve_params *prm,
                        kn_prox *prox, kn_vec *x, kn_vec *hx, kn_vec *y, kn_vec *hy, kn_vec *mv,
                        kn_metric *m, double *theta, double *L, kn_fista_info *info)
{
    double r, b, p, delta;
    int e;
    if ((e = kn_state_check(rs, KERNEST_SOLVER_FISTA, prm->maxiter)) ||
        (e = kn_state_get_vec(be, rs, "x", x)) || (e = kn_state_get_vec(be, rs, "hx", hx)) ||
        (e = kn_state_get_vec(be, rs, "y", y)) || (e = kn_state_get_vec(be, rs, "hy", hy)) ||
        (e = kn_state_get_scalar(rs, "theta", theta)) || (e = kn_state_get_scalar(rs, "L", L)) ||
        (e = kn_state_get_scalar(rs, "restarts", &r)) || (e = kn_state_get_scalar(rs, "backtracks", &b)) ||
        (e = kn_state_get_scalar(rs, "power_its", &p)) ||
        (e = kn_state_get_scalar(rs, "metric_delta", &delta)) ||
        (e = kn_state_get_scalar(rs, "metric_s", &m->s)))
        return e;
    if (delta > 0) {
        if (!mv)
            return kn_error(KERNEST_E_INVALID, "--resume: the checkpoint's metric does not fit this solve");
        if ((e = kn_state_get_vec(be, rs, "metric_v", mv)))
            return e;
        m->v = mv, m->delta = delta;
        info->metric_ratio = 1.0 + delta;
    }
    info->restarts = (int)r;
    info->backtracks = (int)b;
    info->power_iterations = (int)p;
    return prox ? resume_prox_memory(be, rs, prox) : KERNEST_OK;
}

/*
 * Iteration t, from y_t with Hy_t known, in the metric M (L·I, or fista_metric.h's L(I + δvvᵀ)):
 *   g = Hᵀ(Hy − b) + λLᵀLy,  x_{t+1} = prox^M_g(y − M⁻¹g),  d = x_{t+1} − y;
 *   the step is kept when ‖Hd‖² + λ⟨d, LᵀLd⟩ <= ⟨d, Md⟩ (f is quadratic, so this is exactly the
 *   sufficient-decrease test), else L grows and the step is redone;
 *   restart when ⟨y − x_{t+1}, x_{t+1} − x_t⟩_M > 0, else θ_{t+1} = (1 + √(1 + 4θ_t²))/2;
 *   y_{t+1} = x_{t+1} + β (x_{t+1} − x_t), β = (θ_t − 1)/θ_{t+1} (0 on restart), and
 *   Hy_{t+1} = Hx_{t+1} + β (Hx_{t+1} − Hx_t) by linearity, so H runs once per iteration.
 * It stops when the gradient mapping at y_t, ‖M(y_t − x_{t+1})‖ (zero exactly at the minimiser),
 * is at most tol·‖Hᵀb + shift‖, the gradient at x = 0 — a measure of optimality whose scale does
 * not depend on the start — and the relative change ‖x_{t+1} − x_t‖/‖x_t‖ is at most tol too.
 * The relative change alone stopped far from the minimiser: on the wide-wing PSF of
 * bench/wide_wing.py, pixel+nonneg+grad at λ 0.165 and tol 1e-4 after 369 iterations from zero
 * (8.5σ held-out; 959 iterations and 1.14σ with both), and the default command's final solve
 * after 408-1 250 iterations from window estimates that differed only in their far field
 * (1.10-1.25σ); bench/results/fista-stop.txt.
 */
int kn_fista(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, kn_prox *prox,
             kn_vec *x, kn_solve_result *res, kn_fista_info *info)
{
    const kn_backend_ops *o = be->ops;
    const int reg = prm->reg != KERNEST_REG_NONE && prm->lambda > 0;
    const double lam = reg ? prm->lambda : 0.0;
    kn_vec *xn = NULL, *y = NULL, *g = NULL, *d = NULL, *hx = NULL, *hxn = NULL, *hy = NULL, *r = NULL;
    kn_vec *mv = NULL; /* the metric's v */
    kn_metric m = {0};
    work w = {be, prm, reg, NULL};
    kn_vec *cur = x; /* x_t; swapped with xn each iteration, copied back into x at the end */
    int st = 0;
    double L = 1.0;
    *info = (kn_fista_info){0};
    res->reason = KERNEST_STOP_MAXITER;
    res->iterations = 0;
    res->history = malloc(((size_t)prm->maxiter + 1) * sizeof(double));
    if (!res->history)
        return kn_error(KERNEST_E_NOMEM, "solver: out of memory");
    res->history[0] = 1.0;
    TRY(o->vec_create(be, x->n, &xn));
    TRY(o->vec_create(be, x->n, &y));
    TRY(o->vec_create(be, x->n, &g));
    TRY(o->vec_create(be, x->n, &d));
    if (reg)
        TRY(o->vec_create(be, x->n, &w.z));
    if (!prox || !kn_prox_tv(prox)) /* TV's map is inexact: no scalar search on it */
        TRY(o->vec_create(be, x->n, &mv));
    TRY(o->vec_create(be, b->n, &hx));
    TRY(o->vec_create(be, b->n, &hxn));
    TRY(o->vec_create(be, b->n, &hy));
    TRY(o->vec_create(be, b->n, &r));
    double theta = 1.0;
    int k0 = 0;
    const kn_solver_state *rs = prm->hooks ? prm->hooks->resume : NULL;
    /* d = Hᵀb (d is free until the first step): the power iterations' start and the stopping
     * test's scale, one adjoint for all three */
    TRY(o->op_adjoint(be, b, d));
    if (rs) { /* the state after iteration k0, exactly as the interrupted solve held it */
        TRY(resume_state(be, rs, prm, prox, cur, hx, y, hy, mv, &m, &theta, &L, info));
        k0 = res->iterations = rs->iteration;
        memcpy(res->history, rs->history, ((size_t)k0 + 1) * sizeof *res->history);
    } else {
        TRY(metric_setup(&w, d, y, g, hy, mv, &m, info, &L));
        if (prox)
            TRY(kn_prox_apply(be, prox, 1.0 / L, cur)); /* start from a feasible point */
        TRY(o->op_apply(be, cur, hx));
        TRY(o->vec_copy(be, y, cur));
        TRY(o->vec_copy(be, hy, hx));
    }
    /* an inexact prox (TV's inner FGP) leaves noise of its own size in the step: its tolerance
     * follows the last value of the stopping test, 10× below it, down to 0.1·tol (or what the
     * precision can resolve), so the stopping test measures the outer iteration */
    const double prox_floor = fmax(0.1 * prm->tol, be->precision == KERNEST_SINGLE ? 1e-6 : 1e-12);
    /* the stopping test's scale: ‖Hᵀb + shift‖, the gradient at x = 0 (as CGLS's ‖Hᵀb‖ from a
     * cold start), whatever x the solve starts from */
    double g0;
    TRY(o->vec_copy(be, g, d));
    if (prm->shift)
        TRY(o->vec_axpy(be, g, 1.0, prm->shift));
    TRY(o->vec_nrm2(be, g, &g0));
    const double stop_at = fmax(prm->tol, kn_precision_eps(be));
    const double t0 = kn_now();
    for (int k = k0 + 1; k <= prm->maxiter; k++) {
        if (prox)
            kn_prox_set_tolerance(prox, fmax(fmin(KN_PROX_TOL_START, 0.1 * res->history[k - 1]), prox_floor));
        TRY(o->vec_copy(be, r, hy));          /* g = Hᵀ(Hy − b) + λLᵀLy */
        TRY(o->vec_axpy(be, r, -1.0, b));
        TRY(o->op_adjoint(be, r, g));
        if (reg) {
            TRY(o->reg_gram(be, prm->reg, y, w.z));
            TRY(o->vec_axpy(be, g, lam, w.z));
        }
        if (prm->shift)                       /* g −= shift */
            TRY(o->vec_axpy(be, g, -1.0, prm->shift));
        double gv = 0.0;
        if (m.v)
            TRY(o->vec_dot(be, m.v, g, &gv));
        int ok = 0, bad = 0;
        double step = 0.0, dv = 0.0; /* ‖M(xn − y)‖/L of the step kept, vᵀ(xn − y) */
        for (int bt = 0; bt <= BACKTRACK_MAX && !ok && !bad; bt++) {
            double dd, hd, dz = 0.0;
            TRY(kn_metric_step(be, &m, L, y, g, gv, xn)); /* xn = prox_M(y − M⁻¹g) */
            TRY(kn_metric_prox(be, &m, prox, L, xn, d));
            TRY(o->op_apply(be, xn, hxn));
            TRY(o->vec_copy(be, d, xn));      /* d = xn − y, r = H d */
            TRY(o->vec_axpy(be, d, -1.0, y));
            TRY(o->vec_copy(be, r, hxn));
            TRY(o->vec_axpy(be, r, -1.0, hy));
            TRY(o->vec_dot(be, d, d, &dd));
            TRY(kn_data_dot(be, r, r, &hd));
            if (m.v)
                TRY(o->vec_dot(be, m.v, d, &dv));
            if (reg) {
                TRY(o->reg_gram(be, prm->reg, d, w.z));
                TRY(o->vec_dot(be, d, w.z, &dz));
            }
            const double q = hd + lam * dz, dmd = kn_metric_inner(&m, dd, dv, dv); /* dᵀMd/L */
            if (!isfinite(q) || !isfinite(dmd))
                bad = 1;
            else if (q <= L * dmd)
                ok = 1, step = kn_metric_norm(&m, dd, dv);
            else {
                L = fmax(2.0 * L, 1.05 * q / dmd);
                info->backtracks++;
            }
        }
        if (bad) {
            res->reason = KERNEST_STOP_NONFINITE;
            break;
        }
        if (!ok) {
            res->reason = KERNEST_STOP_BREAKDOWN;
            break;
        }
        double de, en, nx_old, nx_new, ev = 0.0;
        TRY(o->vec_copy(be, g, xn));          /* g = xn − x (the gradient is no longer needed) */
        TRY(o->vec_axpy(be, g, -1.0, cur));
        TRY(o->vec_dot(be, d, g, &de));
        if (m.v) {                            /* ⟨d, M(xn − x)⟩/L */
            TRY(o->vec_dot(be, m.v, g, &ev));
            de = kn_metric_inner(&m, de, dv, ev);
        }
        TRY(o->vec_nrm2(be, g, &en));
        TRY(o->vec_nrm2(be, cur, &nx_old));
        TRY(o->vec_nrm2(be, xn, &nx_new));
        double beta = 0.0;
        if (de < 0) {                         /* ⟨y − xn, xn − x⟩_M > 0: momentum points uphill */
            theta = 1.0;
            info->restarts++;
        } else {
            const double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * theta * theta));
            beta = (theta - 1.0) / tn;
            theta = tn;
        }
        TRY(o->vec_copy(be, y, xn));          /* y = xn + β(xn − x) */
        TRY(o->vec_copy(be, hy, hxn));        /* Hy = (1 + β)Hxn − βHx */
        if (beta != 0.0) {
            TRY(o->vec_axpy(be, y, beta, g));
            TRY(o->vec_scale(be, hy, 1.0 + beta));
            TRY(o->vec_axpy(be, hy, -beta, hx));
        }
        kn_vec *sw = cur;
        cur = xn, xn = sw;
        sw = hx, hx = hxn, hxn = sw;
        res->iterations = k;
        /* the stopping test: the gradient mapping L(y − xn) at y relative to the gradient at 0
         * (0 exactly at the minimiser; without a prox term the gradient itself, CGLS's test) and
         * the relative change ‖xn − x‖/‖x‖, the larger of the two */
        if (g0 == 0.0 && k == k0 + 1) /* Hᵀb + shift = 0, yet a constraint may hold x off 0: the
                                         first step's gradient mapping sets the scale instead */
            g0 = L * step;
        const double den = fmax(nx_old, nx_new);
        res->history[k] = fmax(g0 > 0 ? L * step / g0 : 0.0, den > 0 ? en / den : 0.0);
        if (res->history[k] <= stop_at) {
            res->reason = KERNEST_STOP_CONVERGED;
            kn_hooks_after(prm, k, res->history[k], kn_now() - t0);
            break;
        }
        const int ask = kn_hooks_after(prm, k, res->history[k], kn_now() - t0);
        if (ask & KN_HOOK_SAVE)
            TRY(save_state(be, prm, res, prox, &m, cur, hx, y, hy, theta, L, info));
        if (ask & KN_HOOK_STOP) {
            res->reason = KERNEST_STOP_INTERRUPTED;
            break;
        }
    }
done:
    info->lipschitz = L;
    if (!st && cur != x)
        st = o->vec_copy(be, x, cur);
    if (cur != x) /* xn holds the caller's x: free the solver's own vector, now in cur */
        xn = cur;
    o->vec_destroy(be, &xn);
    o->vec_destroy(be, &y);
    o->vec_destroy(be, &g);
    o->vec_destroy(be, &d);
    o->vec_destroy(be, &w.z);
    o->vec_destroy(be, &mv);
    o->vec_destroy(be, &hx);
    o->vec_destroy(be, &hxn);
    o->vec_destroy(be, &hy);
    o->vec_destroy(be, &r);
    if (st) {
        free(res->history);
        res->history = NULL;
    }
    return st;
}
