/* cgls.c — CGLS with a quadratic regulariser, written against the backend table (any device). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "cgls.h"

void kn_cgls_vectors(kernest_reg reg, int precond, size_t *kernel_vecs, size_t *data_vecs)
{
    /* s, p (+ z = LᵀL x, t = LᵀL p) (+ w = M⁻¹ s and M⁻¹ itself when preconditioned) */
    *kernel_vecs = (reg == KERNEST_REG_NONE ? 2 : 4) + (precond ? 2 : 0);
    *data_vecs = 2;                                 /* r, q */
}

/* The flat-objective test looks at the objective's fall over the last max(FLAT_WINDOW,
 * k/FLAT_SHARE) iterations (kn_cgls's comment) */
enum { FLAT_WINDOW = 10, FLAT_SHARE = 4 };

/* What preconditions the solve, as a checkpoint records it: 0 none, 1 a diagonal, 2 a diagonal
 * with a low-rank correction */
static double precond_code(const kn_solve_params *prm)
{
    return !prm->precond ? 0.0 : prm->precond_lr && prm->precond_lr->k ? 2.0 : 1.0;
}

/* Hands the state after an iteration (x, r, s, p, z, γ, γ₀ and the objective's falls: all the
 * next one reads) to the save hook. */
static int save_state(kn_backend *be, const kn_solve_params *prm, const kn_solve_result *res,
                      const kn_vec *x, const kn_vec *r, const kn_vec *s, const kn_vec *p,
                      const kn_vec *z, double gamma, double gamma0, const double *fall)
{
    kn_solver_state st = {.solver = KERNEST_SOLVER_CGLS};
    int e;
    if ((e = kn_state_put_vec(be, &st, "x", x)) || (e = kn_state_put_vec(be, &st, "r", r)) ||
        (e = kn_state_put_vec(be, &st, "s", s)) || (e = kn_state_put_vec(be, &st, "p", p)) ||
        (z && (e = kn_state_put_vec(be, &st, "z", z))) ||
        (e = kn_state_put_values(&st, "fall", fall, (size_t)res->iterations + 1)) ||
        (e = kn_state_put_history(&st, res->history, res->iterations)))
        goto out;
    kn_state_put_scalar(&st, "gamma", gamma);
    kn_state_put_scalar(&st, "gamma0", gamma0);
    kn_state_put_scalar(&st, "precond", precond_code(prm));
    e = prm->hooks->save ? prm->hooks->save(prm->hooks->user, &st) : KERNEST_OK;
out:
    kn_state_free(&st);
    return e;
}

/* *g = ⟨s, M⁻¹ s⟩ into w = M⁻¹ s when preconditioned; ‖s‖² otherwise (w unused) */
static int norm2(kn_backend *be, const kn_solve_params *prm, const kn_vec *s, kn_vec *w, double *g)
{
    const kn_backend_ops *o = be->ops;
    int st;
    if (!prm->precond)
        return o->vec_dot(be, s, s, g);
    if ((st = o->vec_copy(be, w, s)) || (st = o->vec_mul(be, w, prm->precond)))
        return st;
    const kn_precond_lr *lr = prm->precond_lr;
    if (lr && lr->k) { /* w −= W C (Wᵀ s) */
        double t[KN_PRECOND_LR_MAX];
        for (size_t i = 0; i < lr->k; i++)
            if ((st = o->vec_dot(be, lr->w[i], s, &t[i])))
                return st;
        for (size_t i = 0; i < lr->k; i++) {
            double c = 0.0;
            for (size_t j = 0; j < lr->k; j++)
                c += lr->cinv[i * lr->k + j] * t[j];
            if ((st = o->vec_axpy(be, w, -c, lr->w[i])))
                return st;
        }
    }
    return o->vec_dot(be, s, w, g);
}

/* *out = (10ε·‖Hᵀb + g‖)²: the residual at x = 0 at the working precision's resolution, in the
 * norm the solve measures s in (work, w: kernel-space vectors, overwritten) */
static int precision_floor(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, kn_vec *work, kn_vec *w,
                           double *out)
{
    const kn_backend_ops *o = be->ops;
    double g2 = 0.0;
    int st = o->op_adjoint(be, b, work);
    if (!st && prm->shift)
        st = o->vec_axpy(be, work, 1.0, prm->shift);
    if (!st)
        st = norm2(be, prm, work, w, &g2);
    *out = kn_precision_eps(be) * kn_precision_eps(be) * g2;
    return st;
}

/*
 * CGLS on the stacked system [H; √λ L] x ≈ [b; 0] without forming it (Björck; PETSc KSPCGLS):
 *   r = b − Hx, z = LᵀLx, s = Hᵀr − λz, p = s, γ = ‖s‖²
 *   repeat: q = Hp, t = LᵀLp, δ = ‖q‖² + λ⟨p,t⟩, α = γ/δ,
 *           x += αp, r −= αq, z += αt, s = Hᵀr − λz, β = ‖s‖²/γ, p = s + βp.
 * One H and one Hᵀ per iteration; the scalars γ, δ are the only values that leave the device.
 * Preconditioned (prm->precond = M⁻¹, a positive diagonal): w = M⁻¹s, γ = ⟨s, w⟩ and p = w + βp
 * (CG on the normal equations with M; Björck, "Numerical methods for least squares problems",
 * §7.4), and every norm of s below is ‖s‖_{M⁻¹} = √⟨s, M⁻¹s⟩. With prm->precond_lr, M⁻¹ is the
 * diagonal less a low-rank part, w = D⁻¹s − W C (Wᵀ s): k dots and k axpys more per iteration.
 * It stops when ‖s‖ <= tol·‖s₀‖ (s₀ at the start), or once ‖s‖ is down to the working
 * precision's resolution of the data, 10ε·‖s(0)‖ with s(0) = Hᵀb (+ g) the residual at x = 0:
 * a solve warm-started near its answer (the automatic choice's final solve, lowrank's half-steps)
 * otherwise chases a fraction of an already small residual below what the arithmetic resolves,
 * and in single precision such solves drifted to K ~ 1e11 at the iteration cap. A cold start has
 * s₀ = s(0); in double the floor (2e-15) is below any tolerance in use. tol = 0 asks for maxiter
 * iterations (fixed-work benchmarks): no floor then. Measuring ‖s‖ against ‖s(0)‖ instead (the
 * accuracy of a cold solve, whatever the start) was tried: a λ path's warm-started solves at
 * small λ then stopped at once with their weak directions unmoved, and cv chose λ 25× too large
 * (test_select's cv_picks_lambda_near_the_heldout_optimum); the start's own residual it is.
 * A residual at tol is not enough on its own: on the ill-conditioned normal equations of a large
 * kernel, ‖s‖ falls by 10⁶ (its start is dominated by the directions CG resolves first, A's mean)
 * while the far field is still moving and the fit still improving — at N = 2048 the plain solve
 * stopped "converged" at 2.29σ held-out against 1.003σ for the minimiser. So a regularised solve
 * (λ > 0) with tol > 0 also needs a flat objective: the decrease of f = ‖b − Hx‖² + λ‖Lx‖² −
 * 2⟨g, x⟩ over the last max(10, k/4) iterations (each iteration lowers it by exactly αγ) at most
 * 300·tol·(‖r‖² + λ‖Lx‖²), the objective's own scale (‖r‖² ≈ mσ² once the data are fitted: what
 * is left to gain is then a small fraction of the noise's share). The fall over the last d
 * iterations is a lower bound on what is left to gain d iterations ago, and a closer one the
 * larger d is where the convergence is slow: with 10 iterations alone a harmonic:2 solve at low
 * noise stopped 2.6× off its minimiser in held-out error (bench/results/cgls-flat-window.txt).
 * Until 10 iterations are done the decreases so far count as if at that rate. Without a prior the
 * residual test alone stops: an underdetermined fit's objective goes to 0 geometrically and is
 * never flat in that sense, and stopping early is then the regularisation (--fast).
 * x moves last, once ‖s‖² is known to be finite, so that a non-finite stop keeps the last finite
 * iterate exactly. After each iteration the hooks may stop the solve or save its state (x, r, s,
 * p, z, γ, γ₀ and the objective's falls: everything the next iteration reads, and whether it was
 * preconditioned); a resumed solve starts from such a state.
 */
int kn_cgls(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, kn_vec *x,
            kn_solve_result *res)
{
    const kn_backend_ops *o = be->ops;
    const int reg = prm->reg != KERNEST_REG_NONE && prm->lambda > 0;
    const double lam = reg ? prm->lambda : 0.0;
    kn_vec *r = NULL, *q = NULL, *s = NULL, *p = NULL, *z = NULL, *t = NULL, *w = NULL;
    int st = 0;
    res->reason = KERNEST_STOP_MAXITER;
    res->iterations = 0;
    res->history = malloc(((size_t)prm->maxiter + 1) * sizeof(double));
    /* fall[k] = f(x_0) − f(x_k), known from iteration kfirst on */
    double *fall = calloc((size_t)prm->maxiter + 1, sizeof *fall);
    int kfirst = 0;
    if (!res->history || !fall) {
        st = kn_error(KERNEST_E_NOMEM, "solver: out of memory");
        goto done;
    }
    TRY(o->vec_create(be, b->n, &r));
    TRY(o->vec_create(be, b->n, &q));
    TRY(o->vec_create(be, x->n, &s));
    TRY(o->vec_create(be, x->n, &p));
    if (reg) {
        TRY(o->vec_create(be, x->n, &z));
        TRY(o->vec_create(be, x->n, &t));
    }
    if (prm->precond)
        TRY(o->vec_create(be, x->n, &w));
    double gamma, gamma0, floor2; /* floor2: (10ε‖s(0)‖)², the precision's resolution */
    int k0 = 0;
    const kn_solver_state *rs = prm->hooks ? prm->hooks->resume : NULL;
    if (rs) { /* the state after iteration k0, exactly as the interrupted solve held it */
        TRY(kn_state_check(rs, KERNEST_SOLVER_CGLS, prm->maxiter));
        TRY(kn_state_get_vec(be, rs, "x", x));
        TRY(kn_state_get_vec(be, rs, "r", r));
        TRY(kn_state_get_vec(be, rs, "s", s));
        TRY(kn_state_get_vec(be, rs, "p", p));
        if (reg)
            TRY(kn_state_get_vec(be, rs, "z", z));
        TRY(kn_state_get_scalar(rs, "gamma", &gamma));
        TRY(kn_state_get_scalar(rs, "gamma0", &gamma0));
        if (kn_state_get_values(rs, "fall", fall, (size_t)rs->iteration + 1)) {
            /* older checkpoints: the last FLAT_WINDOW decreases (iteration j at j % FLAT_WINDOW),
             * or none */
            double drop[FLAT_WINDOW] = {0};
            if (kn_state_get_values(rs, "drops", drop, FLAT_WINDOW))
                memset(drop, 0, sizeof drop);
            kn_error_clear();
            kfirst = rs->iteration > FLAT_WINDOW ? rs->iteration - FLAT_WINDOW : 0;
            for (int j = rs->iteration; j > kfirst; j--)
                fall[j - 1] = fall[j] - drop[j % FLAT_WINDOW];
        }
        double pc = 0.0; /* checkpoints from before preconditioning have no "precond": 0 */
        if (kn_state_get_scalar(rs, "precond", &pc))
            kn_error_clear();
        if (pc != precond_code(prm)) {
            static const char *const what[] = {"not preconditioned", "preconditioned by a diagonal",
                                               "preconditioned by a diagonal and a low-rank part"};
            const int was = pc == 2.0 ? 2 : pc != 0.0, is = (int)precond_code(prm);
            st = kn_error(KERNEST_E_INVALID, "--resume: the checkpoint's solve was %s, this one is %s", what[was],
                          what[is]);
            goto done;
        }
        k0 = res->iterations = rs->iteration;
        memcpy(res->history, rs->history, ((size_t)k0 + 1) * sizeof *res->history);
        TRY(precision_floor(be, b, prm, s, w, &floor2));
        TRY(kn_state_get_vec(be, rs, "s", s)); /* s served as work above */
    } else {
        TRY(o->op_apply(be, x, q));        /* r = b − Hx */
        TRY(o->vec_copy(be, r, b));
        TRY(o->vec_axpy(be, r, -1.0, q));
        TRY(o->op_adjoint(be, r, s));      /* s = Hᵀr − λ LᵀL x (+ g) */
        if (reg) {
            TRY(o->reg_gram(be, prm->reg, x, z));
            TRY(o->vec_axpy(be, s, -lam, z));
        }
        if (prm->shift)
            TRY(o->vec_axpy(be, s, 1.0, prm->shift));
        double xx;
        TRY(o->vec_dot(be, x, x, &xx));
        if (xx > 0) /* a warm start: the floor comes from the residual at x = 0 (p as work) */
            TRY(precision_floor(be, b, prm, p, w, &floor2));
        TRY(norm2(be, prm, s, w, &gamma)); /* γ = ⟨s, M⁻¹s⟩, w = M⁻¹s */
        TRY(o->vec_copy(be, p, prm->precond ? w : s));
        gamma0 = gamma;
        if (!(xx > 0)) /* a cold start: s₀ is the residual at x = 0 */
            floor2 = kn_precision_eps(be) * kn_precision_eps(be) * gamma0;
        res->history[0] = 1.0;
        if (!isfinite(gamma0)) {
            res->reason = KERNEST_STOP_NONFINITE;
            goto done;
        }
        if (gamma0 == 0.0) {
            res->reason = KERNEST_STOP_CONVERGED;
            goto done;
        }
    }
    const double t0 = kn_now();
    for (int k = k0 + 1; k <= prm->maxiter; k++) {
        double qq, pt = 0.0;
        TRY(o->op_apply(be, p, q));        /* q = Hp */
        TRY(kn_data_dot(be, q, q, &qq));
        if (reg) {
            TRY(o->reg_gram(be, prm->reg, p, t));
            TRY(o->vec_dot(be, p, t, &pt));
        }
        const double delta = qq + lam * pt;
        if (!isfinite(delta)) {
            res->reason = KERNEST_STOP_NONFINITE;
            break;
        }
        if (delta <= 0.0) {
            res->reason = KERNEST_STOP_BREAKDOWN;
            break;
        }
        const double alpha = gamma / delta;
        TRY(o->vec_axpy(be, r, -alpha, q)); /* r −= αq */
        TRY(o->op_adjoint(be, r, s));      /* s = Hᵀr − λz (+ g) */
        if (reg) {
            TRY(o->vec_axpy(be, z, alpha, t));
            TRY(o->vec_axpy(be, s, -lam, z));
        }
        if (prm->shift)
            TRY(o->vec_axpy(be, s, 1.0, prm->shift));
        double gnew;
        TRY(norm2(be, prm, s, w, &gnew));
        if (!isfinite(gnew)) { /* x is still the last finite iterate: it moves only below */
            res->reason = KERNEST_STOP_NONFINITE;
            break;
        }
        TRY(o->vec_axpy(be, x, alpha, p)); /* x += αp */
        res->iterations = k;
        res->history[k] = sqrt(gnew / gamma0);
        fall[k] = fall[k - 1] + alpha * gamma; /* f(x_{k−1}) − f(x_k) = αγ */
        int flat = 1;
        if (reg && prm->tol > 0 && res->history[k] <= prm->tol) { /* the flat-objective test */
            double rr, xz;
            const int look = k / FLAT_SHARE > FLAT_WINDOW ? k / FLAT_SHARE : FLAT_WINDOW;
            const int n = k - kfirst < look ? k - kfirst : look;
            TRY(kn_data_dot(be, r, r, &rr));
            TRY(o->vec_dot(be, x, z, &xz));
            const double sum = (fall[k] - fall[k - n]) * (n < FLAT_WINDOW ? (double)FLAT_WINDOW / n : 1.0);
            flat = sum <= 300.0 * prm->tol * (rr + lam * xz);
        }
        if ((res->history[k] <= prm->tol && flat) || (prm->tol > 0 && gnew <= floor2)) {
            res->reason = KERNEST_STOP_CONVERGED;
            kn_hooks_after(prm, k, res->history[k], kn_now() - t0);
            break;
        }
        TRY(o->vec_aypx(be, p, gnew / gamma, prm->precond ? w : s)); /* p = M⁻¹s + βp */
        gamma = gnew;
        const int ask = kn_hooks_after(prm, k, res->history[k], kn_now() - t0);
        if (ask & KN_HOOK_SAVE)
            TRY(save_state(be, prm, res, x, r, s, p, z, gamma, gamma0, fall));
        if (ask & KN_HOOK_STOP) {
            res->reason = KERNEST_STOP_INTERRUPTED;
            break;
        }
    }
done:
    o->vec_destroy(be, &r);
    o->vec_destroy(be, &q);
    o->vec_destroy(be, &s);
    o->vec_destroy(be, &p);
    o->vec_destroy(be, &z);
    o->vec_destroy(be, &t);
    o->vec_destroy(be, &w);
    free(fall);
    if (st) {
        free(res->history);
        res->history = NULL;
    }
    return st;
}
