/* select_hybrid.c — a linear candidate's λ path under cv in one Krylov subspace per scored fold.
 *
 * The fold's problem min ½‖M_f(HΦx − b)‖² + ½λ xᵀGx is solved for every λ of the path from one
 * Golub–Kahan bidiagonalisation (solve/gk.h) of M_f H Φ S, S the prior's square root
 * (model/priorcond.h): x_λ = S V_k y_λ. The subspace grows only when a λ asks for it, until
 * CGLS's stopping test holds at that λ (its k-step solution is CGLS's k-th iterate from zero on
 * the priorconditioned problem), so the whole path costs about as many operator applications as
 * its hardest point, and the path can be dense (sel_search_grid: every half decade). Each step
 * also keeps the fold's held-out pixels of H Φ S v_j (the forward product is taken on all pixels,
 * then masked), so a point's held-out errors cost no application either. Measured before it was
 * built: bench/results/hybrid-trial.txt (in standard form, without S, the subspace stays in the
 * range of Hᵀ, a fifth of the unknowns, and misses the prior's minimiser by 14–37 %). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/options.h"
#include "model/model.h"
#include "model/priorcond.h"
#include "select_impl.h"
#include "solve/gk.h"

/* The most steps of a bidiagonalisation, and the memory the candidates' subspaces may take
 * together (every scored fold's): a problem whose subspace would not fit HYBRID_MIN_STEPS in it
 * alone is left to CGLS. FLAT: the
 * steps the flat-objective test looks back over (cgls.c's window). */
enum { HYBRID_MAX_STEPS = 400, HYBRID_MIN_STEPS = 40, FLAT = 10 };
#define HYBRID_BYTES ((size_t)96 << 20)
/* The subspace's test is CGLS's at the path tolerance times HYBRID_TOL. At the path tolerance
 * itself the priorconditioned steps stop early at small λ: on `kernest synth --n 64 --seed 11`,
 * harmonic:2's fold score at λ₀/2 500 was 1.316 against the minimiser's 5.871 (3 % to 0.1 % off at
 * the other points); at 1e-3 × it every point was within 0.15 % of the minimiser, for 280 steps
 * on that path (bench/results/hybrid-path.txt). */
#define HYBRID_TOL 1e-3

typedef struct hy_fold {
    kn_gk gk;
    int open;     /* gk initialised */
    size_t *held; /* the fold's held-out pixels */
    size_t nheld;
    double *W;    /* (kmax+1) × nheld: H Φ S v_j on them */
    double *nv;   /* kmax+1: ‖S⁻ᵀ v_j‖ (0: not yet computed), the residual's scale in x */
    int capped;   /* 1: full (kmax steps) before a point's test was met: counted once */
} hy_fold;

struct sel_hybrid {
    size_t bytes;     /* the vectors' room: its share of HYBRID_BYTES */
    kn_model model;
    kn_priorcond *pc;
    int kmax;
    hy_fold f[BUDGET_FOLDS];
    kn_vec *xv, *dv;  /* on s->be: the model's unknowns, a data vector */
    double *hx, *xs, *y; /* host scratch: m (a fold's b, the held-out predictions), nx and 2 kmax + 1 values */
    kn_backend *sbe;  /* the model's operator for the current evaluation (the session's) */
    ctx *c;           /* the current evaluation's */
    int fold;
};

/* ---- the operator M_f H Φ S on host vectors (kn_gk_operator) --------------------------------- */

static int hy_forward(void *user, const double *v, double *r)
{
    struct sel_hybrid *h = user;
    kn_session *s = h->c->s;
    hy_fold *f = &h->f[h->fold];
    const kn_backend_ops *o = s->be->ops;
    memcpy(h->xs, v, h->model.nx * sizeof *h->xs);
    kn_priorcond_apply(h->pc, KN_PC_S, h->xs);
    int st = o->vec_upload(s->be, h->xv, h->xs);
    if (st || (st = kn_model_forward(h->sbe, h->xv, h->dv)) || (st = o->vec_download(s->be, h->dv, r)))
        return st;
    /* the held-out pixels into W's column for v_{k+1}, then the fold's mask */
    double *w = f->W + (size_t)f->gk.k * f->nheld;
    for (size_t i = 0; i < f->nheld; i++) {
        w[i] = r[f->held[i]];
        r[f->held[i]] = 0.0;
    }
    return KERNEST_OK;
}

static int hy_adjoint(void *user, const double *r, double *x)
{
    struct sel_hybrid *h = user;
    kn_session *s = h->c->s;
    const kn_backend_ops *o = s->be->ops;
    int st = o->vec_upload(s->be, h->dv, r); /* r is 0 on the held-out and unobserved pixels */
    if (st || (st = h->sbe->ops->op_adjoint(h->sbe, h->dv, h->xv)) || (st = o->vec_download(s->be, h->xv, x)))
        return st;
    kn_priorcond_apply(h->pc, KN_PC_ST, x);
    return KERNEST_OK;
}

/* ---- set-up ----------------------------------------------------------------------------------- */

void sel_hybrid_free(struct sel_hybrid **hp)
{
    struct sel_hybrid *h = *hp;
    if (!h)
        return;
    for (int k = 0; k < BUDGET_FOLDS; k++) {
        kn_gk_free(&h->f[k].gk);
        free(h->f[k].held);
        free(h->f[k].W);
        free(h->f[k].nv);
    }
    if (h->c) {
        const kn_backend_ops *o = h->c->s->be->ops;
        o->vec_destroy(h->c->s->be, &h->xv);
        o->vec_destroy(h->c->s->be, &h->dv);
    }
    kn_priorcond_destroy(&h->pc);
    kn_model_free(&h->model);
    free(h->hx);
    free(h->xs);
    free(h->y);
    free(h);
    *hp = NULL;
}

/* The candidate's λ path runs in Krylov subspaces when its solves are CGLS on a quadratic prior
 * with a square root (priorcond.h), on all the data of one process, in double precision, with
 * nothing held or projected out: pixel, radial or harmonic with grad or ridge, no constraint, ℓ1,
 * TV, background, support or fixed pixel. Otherwise cd->hy stays NULL and the path solves with
 * CGLS. Not in single precision (the GPU's default): S scales the prior's null space (a constant
 * kernel) by δ^−½ ≈ 10⁴, which swamps float's resolution in the operator's products; on the CPU
 * in single precision pixel+grad's path scored 3.59 on `kernest synth --n 64 --seed 11` against
 * 1.66 in double. */
static int hybrid_open(ctx *c, cand *cd, size_t budget, int *no_room)
{
    *no_room = 0;
    const kernest_options *op = &cd->opt;
    kn_session *s = c->s;
    if (cd->hy || cd->vary_l1 || !kn_options_is_linear(op) || op->model == KERNEST_MODEL_LOWRANK ||
        op->background || op->bias || op->support != KERNEST_SUPPORT_NONE || op->nfixed ||
        s->be->ops->data_dot || s->be->dist || s->be->precision != KERNEST_DOUBLE || c->nfold > BUDGET_FOLDS)
        return KERNEST_OK;
    struct sel_hybrid *h = calloc(1, sizeof *h);
    if (!h)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the Krylov subspace");
    int st = kn_model_init_nk(&h->model, op->model, op->order, s->pb.kh, s->pb.kw, kn_problem_kernels(&s->pb));
    if (!st && (st = kn_priorcond_create(&h->model, op->reg, &h->pc)) == KERNEST_E_UNSUPPORTED) {
        sel_hybrid_free(&h); /* no square root for this prior: CGLS */
        return KERNEST_OK;
    }
    const size_t m = s->pb.m, nx = h->model.nx;
    size_t per_step = 0;
    for (int k = 0; !st && k < c->nfold; k++) {
        hy_fold *f = &h->f[k];
        for (size_t j = 0; j < m; j++)
            f->nheld += c->fold_of[j] == k;
        if (!(f->held = malloc((f->nheld ? f->nheld : 1) * sizeof *f->held)))
            st = kn_error(KERNEST_E_NOMEM, "out of memory for the Krylov subspace");
        f->nheld = 0;
        for (size_t j = 0; !st && j < m; j++)
            if (c->fold_of[j] == k)
                f->held[f->nheld++] = j;
        per_step += kn_gk_bytes(nx, m, 0) + f->nheld * sizeof(double);
    }
    h->kmax = (int)fmin(HYBRID_MAX_STEPS, (double)(budget / (per_step ? per_step : 1)) - 1.0);
    h->bytes = ((size_t)h->kmax + 1) * per_step;
    if (!st && h->kmax < HYBRID_MIN_STEPS) { /* no room for a useful subspace */
        sel_hybrid_free(&h);
        *no_room = 1;
        return KERNEST_OK;
    }
    for (int k = 0; !st && k < c->nfold; k++)
        if (!(h->f[k].W = malloc(((size_t)h->kmax + 1) * (h->f[k].nheld ? h->f[k].nheld : 1) * sizeof(double))) ||
            !(h->f[k].nv = calloc((size_t)h->kmax + 1, sizeof(double))))
            st = kn_error(KERNEST_E_NOMEM, "out of memory for the Krylov subspace");
    h->c = c;
    if (!st && (!(h->hx = malloc((m ? m : 1) * sizeof *h->hx)) ||
                !(h->xs = malloc((nx ? nx : 1) * sizeof *h->xs)) || !(h->y = malloc((2 * (size_t)h->kmax + 1) * sizeof *h->y))))
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the Krylov subspace");
    if (!st && !(st = s->be->ops->vec_create(s->be, nx, &h->xv)))
        st = s->be->ops->vec_create(s->be, m, &h->dv);
    if (st)
        sel_hybrid_free(&h);
    cd->hy = h;
    return st;
}

/* ---- a point -------------------------------------------------------------------------------- */

/* the progress callback after a step (a non-zero return stops the choice, as in a solve) */
static void hy_progress(ctx *c, const hy_fold *f, int kmax, double resid, double t0)
{
    const kernest_options *u = c->user;
    if (!u->progress)
        return;
    const kernest_progress p = {f->gk.k, 0, kmax, resid, c->tol, kn_now() - t0, "hybrid", c->s->phase};
    if (u->progress(u->progress_user, &p))
        c->interrupted = 1;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* ‖S⁻ᵀ v_{j+1}‖ (computed once) */
static double x_norm(struct sel_hybrid *h, hy_fold *f, int j)
{
    if (f->nv[j] == 0.0) {
        const size_t n = h->model.nx;
        memcpy(h->xs, f->gk.V + (size_t)j * n, n * sizeof *h->xs);
        kn_priorcond_apply(h->pc, KN_PC_INV_T, h->xs);
        f->nv[j] = sqrt(dot(h->xs, h->xs, n));
    }
    return f->nv[j];
}

/* Fold k's subspace grown until λ's normal equations are solved to the path tolerance (or the
 * subspace is complete, or full: then the point is a capped solve); y, *rss and the steps taken */
static int hy_fit(ctx *c, cand *cd, int k, double lam, double *rss, int *steps)
{
    struct sel_hybrid *h = cd->hy;
    hy_fold *f = &h->f[k];
    kn_session *s = c->s;
    const kn_gk_operator op = {hy_forward, hy_adjoint, h};
    const double t0 = kn_now();
    int st;
    h->fold = k;
    kn_session_phase(s, "choosing: %s, lambda %.3g, fold %d/%d (Krylov subspace)", c->sel->cands[cd->index].name,
                     lam, k + 1, c->nfold);
    if (!f->open) {
        double *bf = h->hx;
        for (size_t j = 0; j < s->pb.m; j++)
            bf[j] = c->fold_of[j] == k ? 0.0 : s->host_b[j];
        f->open = 1;
        if ((st = kn_gk_init(&f->gk, h->model.nx, s->pb.m, h->kmax, s->be->threads, &op, bf)))
            return st;
        c->sel->solves++; /* a subspace is one solver run (its first adjoint is the start, as CGLS's
                             Hᵀb: its steps are the iterations); its points cost none */
        c->sel->cands[cd->index].solves++;
        c->sel->cands[cd->index].subspaces++;
    }
    /* CGLS's test (cgls.c), in x: ‖Hᵀ(b − Hx) − λ(G + δI)x‖ / ‖Hᵀb‖ at most tol, and the
     * objective flat (its fall over the last FLAT steps at most 300·tol of itself). The residual
     * in z is S's transpose of the one in x and lies along v_{k+1} (gk.h): in x it is
     * |g| ‖S⁻ᵀ v_{k+1}‖ over α₁β₁ ‖S⁻ᵀ v_1‖. The subspace's solution after k steps is CGLS's k-th
     * iterate from zero on the priorconditioned problem, so the test means what it means there. */
    const double tol = c->tol * HYBRID_TOL;
    double g, resid = 0.0;
    for (;;) {
        const int kk = f->gk.k, kp = kk > FLAT ? kk - FLAT : 0;
        double rp;
        kn_gk_solve(&f->gk, kk, lam, h->y, rss, &g);
        resid = g == 0.0 ? 0.0 : fabs(g) * x_norm(h, f, kk) / (f->gk.alpha[0] * f->gk.beta[0] * x_norm(h, f, 0));
        const double fk = *rss + lam * dot(h->y, h->y, (size_t)kk);
        kn_gk_solve(&f->gk, kp, lam, h->y + kk, &rp, NULL); /* y's room holds kmax + 1 + kmax */
        const double fall = (rp + lam * dot(h->y + kk, h->y + kk, (size_t)kp) - fk) * FLAT / (kk > kp ? kk - kp : 1);
        const int flat = fall <= 300.0 * tol * fk;
        if ((resid <= tol && flat) || f->gk.exhausted || f->gk.k >= h->kmax || c->interrupted)
            break;
        if ((st = kn_gk_step(&f->gk, &op)))
            return st;
        (*steps)++;
        c->sel->iterations++;
        hy_progress(c, f, h->kmax, resid, t0);
    }
    if (f->gk.k >= h->kmax && !f->gk.exhausted && !c->interrupted && !f->capped++)
        c->sel->cands[cd->index].capped++;
    return KERNEST_OK;
}

/* cv at λ from the subspaces: the held-out errors of every scored fold's x_λ, and fold k's x_λ
 * kept as its last solution (the warm starts of the finalists' other folds and lowrank's start) */
static int sel_eval_hybrid(ctx *c, cand *cd, double lam, double *score)
{
    struct sel_hybrid *h = cd->hy;
    kn_session *s = c->s;
    double sse = 0.0, rss = 0.0;
    size_t cnt = 0;
    int steps = 0, st = kn_session_operator(s, &h->model, NULL, 0, &h->sbe);
    if (st)
        return st;
    memset(c->tile_sse, 0, c->ntiles * sizeof *c->tile_sse);
    for (int k = 0; k < c->nfold; k++) {
        hy_fold *f = &h->f[k];
        double r2;
        if ((st = hy_fit(c, cd, k, lam, &r2, &steps)))
            goto done;
        rss += r2;
        const int kk = f->gk.k;
        double *pred = h->hx;
        kn_gk_combine(f->W, f->nheld, kk, h->y, pred, s->be->threads);
        for (size_t i = 0; i < f->nheld; i++) {
            const size_t j = f->held[i];
            const double d = pred[i] - s->host_b[j];
            sse += d * d;
            c->tile_sse[c->tile_of[j]] += d * d;
        }
        cnt += f->nheld;
        if (!cd->xw[k] && !(cd->xw[k] = malloc((cd->nx ? cd->nx : 1) * sizeof *cd->xw[k]))) {
            st = kn_error(KERNEST_E_NOMEM, "out of memory for a warm start");
            goto done;
        }
        kn_gk_combine(f->gk.V, h->model.nx, kk, h->y, cd->xw[k], s->be->threads);
        kn_priorcond_apply(h->pc, KN_PC_S, cd->xw[k]);
    }
    st = sel_record_cv(c, cd, lam, 0.0, sse, cnt, rss, steps, score);
done:
    kn_session_phase(s, NULL);
    return st;
}

/* Whether cd's λ path runs in Krylov subspaces (hybrid_open); the first call decides. The
 * candidates keep their subspaces (the budget's extra points may come back to one) while their
 * vectors fit HYBRID_BYTES together: a new one gets what the others leave if that holds
 * HYBRID_MIN_STEPS, else the others' are dropped (and built again if an extra point comes back
 * to them). */
int sel_hybrid_ready(ctx *c, cand *cd, int *ready)
{
    if (!cd->hy && !cd->no_hybrid) {
        size_t held = 0;
        for (size_t i = 0; i < c->ncands; i++)
            held += c->cands[i].hy ? c->cands[i].hy->bytes : 0;
        int no_room, st = hybrid_open(c, cd, held < HYBRID_BYTES ? HYBRID_BYTES - held : 0, &no_room);
        if (!st && no_room && held) { /* too little room left: the others' go */
            for (size_t i = 0; i < c->ncands; i++)
                sel_hybrid_free(&c->cands[i].hy);
            st = hybrid_open(c, cd, HYBRID_BYTES, &no_room);
        }
        if (st)
            return st;
        cd->no_hybrid = !cd->hy;
    }
    *ready = !cd->no_hybrid;
    return KERNEST_OK;
}

int sel_eval_path(ctx *c, cand *cd, double lam, double *score)
{
    int hy, st = sel_hybrid_ready(c, cd, &hy);
    if (st)
        return st;
    return hy ? sel_eval_hybrid(c, cd, lam, score) : sel_eval_cv(c, cd, lam, score);
}
