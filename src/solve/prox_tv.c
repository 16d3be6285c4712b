/* prox_tv.c — the proximal map of isotropic total variation (+ ℓ1 and constraints) by FGP on the
 * dual (Beck & Teboulle 2009), warm-started across calls, written against the backend table. */
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "prox_tv.h"
#include "solver.h"

struct kn_tv {
    size_t nimg, kh, kw, n; /* nimg kernels of kh×kw, one after the other: n = nimg*kh*kw */
    double tol;
    int maxit, last_iterations;
    double tau;  /* radius of u's balls at the end of the last call (0: u is 0) */
    kn_vec *u;   /* 2n: the dual iterate, kept between calls */
    kn_vec *uo;  /* 2n: the previous dual iterate */
    kn_vec *q;   /* 2n: the extrapolated dual point */
    kn_vec *v0;  /* n: the input v */
    kn_vec *x;   /* n: x(q) */
    kn_vec *xo;  /* n: x(u) at the gap checks */
};

void kn_tv_destroy(kn_backend *be, kn_tv **tv)
{
    if (!tv || !*tv)
        return;
    kn_vec **v[] = {&(*tv)->u, &(*tv)->uo, &(*tv)->q, &(*tv)->v0, &(*tv)->x, &(*tv)->xo};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        be->ops->vec_destroy(be, v[i]);
    free(*tv);
    *tv = NULL;
}

int kn_tv_create(kn_backend *be, size_t nimg, size_t kh, size_t kw, kn_tv **out)
{
    const kn_backend_ops *o = be->ops;
    kn_tv *tv = calloc(1, sizeof *tv);
    if (!tv)
        return kn_error(KERNEST_E_NOMEM, "--reg tv: out of memory");
    tv->nimg = nimg;
    tv->kh = kh;
    tv->kw = kw;
    tv->n = nimg * kh * kw;
    tv->tol = KN_TV_TOL;
    tv->maxit = KN_TV_MAXIT;
    int st;
    if ((st = o->vec_create(be, 2 * tv->n, &tv->u)) || (st = o->vec_create(be, 2 * tv->n, &tv->uo)) ||
        (st = o->vec_create(be, 2 * tv->n, &tv->q)) || (st = o->vec_create(be, tv->n, &tv->v0)) ||
        (st = o->vec_create(be, tv->n, &tv->x)) || (st = o->vec_create(be, tv->n, &tv->xo))) {
        kn_tv_destroy(be, &tv);
        return st;
    }
    *out = tv;
    return KERNEST_OK;
}

void kn_tv_set_accuracy(kn_tv *tv, double tol, int maxit)
{
    tv->tol = tol;
    tv->maxit = maxit;
}

int kn_tv_last_iterations(const kn_tv *tv)
{
    return tv->last_iterations;
}

/* x = prox_{step·g}(v0 − Dᵀ w) */
static int primal(kn_backend *be, kn_tv *tv, const kn_vec *w, double step, kn_tv_inner inner,
                  void *ctx, kn_vec *x)
{
    const kn_backend_ops *o = be->ops;
    int st;
    if ((st = o->tv_grad_adjoint(be, tv->nimg, tv->kh, tv->kw, w, x)) ||
        (st = o->vec_aypx(be, x, -1.0, tv->v0)))
        return st;
    return inner ? inner(be, ctx, step, x) : KERNEST_OK;
}

/*
 * The duality gap at u: with x = x(u), P(x) − D(u) = tau·TV(x) − ⟨u, D x⟩ (the rest of the
 * Lagrangian cancels, whatever g is), and ½‖x − x*‖² <= P(x) − P* <= the gap, so
 * sqrt(2·gap) bounds the distance of x(u) to the exact prox. xu receives x(u); uo is scratch.
 */
static int gap_bound(kn_backend *be, kn_tv *tv, double tau, double step, kn_tv_inner inner,
                     void *ctx, double *err, double *nx)
{
    const kn_backend_ops *o = be->ops;
    double tvx, ux;
    int st;
    if ((st = primal(be, tv, tv->u, step, inner, ctx, tv->xo)) ||
        (st = o->tv_grad(be, tv->nimg, tv->kh, tv->kw, tv->xo, tv->uo)) ||
        (st = o->vec_pair_nrm_sum(be, tv->uo, &tvx)) || (st = o->vec_dot(be, tv->uo, tv->u, &ux)) ||
        (st = o->vec_nrm2(be, tv->xo, nx)))
        return st;
    *err = sqrt(2.0 * fmax(tau * tvx - ux, 0.0)); /* |u_i| <= tau up to rounding: gap >= 0 */
    if (!isfinite(tvx) || !isfinite(ux))
        *err = NAN;
    return KERNEST_OK;
}

/*
 * FGP, with u the dual scaled to balls of radius tau:
 *   x_k = prox_{step·g}(v − Dᵀ q_k),  u_k = P_tau(q_k + D x_k / 8),
 *   t_{k+1} = (1 + √(1 + 4t_k²))/2,  q_{k+1} = u_k + (t_k − 1)/t_{k+1} (u_k − u_{k−1});
 * the answer is x(u) at the last u. The warm start rescales the previous u to the new radius
 * (FISTA's backtracking changes the step, hence tau); when it already meets the tolerance no
 * iteration runs. The gap is checked every GAP_EVERY iterations (it costs about one iteration,
 * and its three reductions are the inner loop's only waits for a GPU).
 */
enum { GAP_EVERY = 5 };

int kn_tv_prox(kn_backend *be, kn_tv *tv, double tau, double step, kn_tv_inner inner, void *ctx,
               kn_vec *v)
{
    const kn_backend_ops *o = be->ops;
    int st = KERNEST_OK;
    tv->last_iterations = 0;
    if (!(tau > 0))
        return inner ? inner(be, ctx, step, v) : KERNEST_OK;
    TRY(o->vec_copy(be, tv->v0, v));
    if (tv->tau > 0)
        TRY(o->vec_scale(be, tv->u, tau / tv->tau));
    tv->tau = tau;
    TRY(o->vec_copy(be, tv->q, tv->u));
    double t = 1.0;
    for (int k = 0;; k++) {
        if (k % GAP_EVERY == 0 || k == tv->maxit) {
            double err, nx;
            TRY(gap_bound(be, tv, tau, step, inner, ctx, &err, &nx));
            if (!isfinite(err) || err <= tv->tol * nx || k == tv->maxit)
                return o->vec_copy(be, v, tv->xo); /* x(u) */
        }
        TRY(primal(be, tv, tv->q, step, inner, ctx, tv->x));
        TRY(o->vec_copy(be, tv->uo, tv->u));
        TRY(o->tv_grad(be, tv->nimg, tv->kh, tv->kw, tv->x, tv->u)); /* u = P(q + D x / 8) */
        TRY(o->vec_aypx(be, tv->u, 0.125, tv->q));
        TRY(o->vec_ball_proj(be, tv->u, tau));
        const double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
        TRY(o->vec_copy(be, tv->q, tv->u));                  /* q = u + β(u − uo) */
        const double beta = (t - 1.0) / tn;
        if (beta != 0.0) {
            TRY(o->vec_scale(be, tv->q, 1.0 + beta));
            TRY(o->vec_axpy(be, tv->q, -beta, tv->uo));
        }
        t = tn;
        tv->last_iterations = k + 1;
    }
done:
    return st;
}

int kn_tv_save(kn_backend *be, const kn_tv *tv, kn_solver_state *st)
{
    kn_state_put_scalar(st, "tv_tau", tv->tau);
    return kn_state_put_vec(be, st, "tv_u", tv->u);
}

int kn_tv_restore(kn_backend *be, kn_tv *tv, const kn_solver_state *st)
{
    int e = kn_state_get_scalar(st, "tv_tau", &tv->tau);
    return e ? e : kn_state_get_vec(be, st, "tv_u", tv->u);
}
