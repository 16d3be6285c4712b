/* select_path.c — the bookkeeping of the automatic choice (solves, path points), the natural
 * scales of λ and of the ℓ1 weight, and the search along log λ (the Hutchinson trace: trace.c). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/options.h"
#include "model/model.h"
#include "select_impl.h"
#include "base/rng.h"

/* ---- small helpers ------------------------------------------------------------------------- */

void sel_count(ctx *c, const kn_fit *f, kernest_candidate *k)
{
    c->sel->solves++; /* one run of the model's solver: a lowrank fit counts its half-steps' iterations */
    c->interrupted |= f->res.reason == KERNEST_STOP_INTERRUPTED;
    c->sel->iterations += f->inner_iterations ? f->inner_iterations : f->res.iterations;
    if (k) {
        k->solves++;
        k->capped += f->res.reason == KERNEST_STOP_MAXITER ||
                     (f->outer_iterations > 0 && f->outer_reason == KERNEST_STOP_MAXITER);
    }
}

/* the folds share the session's backend (kn_session_open_fold): its count holds theirs; the held
 * windows have their own */
long sel_applications(const ctx *c)
{
    return c->s->be->applications + c->held_apps;
}

int sel_add_point(ctx *c, size_t cand_index, double lam, double l1, double score, double rss,
                  double aux, int iters)
{
    kn_selection *sel = c->sel;
    if (sel->npath >= MAX_POINTS)
        return kn_error(KERNEST_E_INVALID, "--select: internal: path longer than %d", MAX_POINTS);
    sel->path[sel->npath++] = (kernest_path_point){cand_index, lam, score, rss, aux, iters, l1};
    return KERNEST_OK;
}

double sel_rss_of(const kn_session *s, const double *hx)
{
    double r = 0.0;
    for (size_t j = 0; j < s->pb.m; j++) {
        double d = hx[j] - s->host_b[j]; /* both 0 at NaN pixels of B */
        r += d * d;
    }
    return r;
}

size_t sel_observed(const kn_session *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->pb.npairs; i++)
        n += s->pb.pairs[i].nobs;
    return n;
}

/* 1 at observed pixels of the data space, 0 at NaN pixels of B */
void sel_observed_mask(const kn_session *s, unsigned char *mask)
{
    for (size_t i = 0; i < s->pb.npairs; i++) {
        const kn_pair *p = &s->pb.pairs[i];
        for (size_t j = 0; j < p->len; j++)
            mask[p->offset + j] = !isnan(p->B[j]);
    }
}

int sel_keep_x(double **dst, const kn_fit *f)
{
    if (!*dst && !(*dst = malloc((f->model.nx ? f->model.nx : 1) * sizeof **dst)))
        return kn_error(KERNEST_E_NOMEM, "out of memory for a warm start");
    memcpy(*dst, f->x, f->model.nx * sizeof **dst);
    return KERNEST_OK;
}

/* The start of a path solve: the neighbouring solution x for CGLS, which converges to the same
 * minimiser from any start (the warm start only saves iterations); none for FISTA (constraints,
 * ℓ1, TV), whose solves on these ill-conditioned problems end at the iteration cap or on a small
 * relative change well before convergence: from a neighbour's solution they would carry that λ's
 * regularisation along, and the score would not describe the estimate the final solve delivers
 * at this λ (measured: a warm-started path picked λ 600× too small on bench/auto.py's exp case). */
const double *sel_start(const kernest_options *op, const double *x)
{
    /* lowrank: its alternating least squares is not convex, and the start picks the basin: each
     * fit continues from the factors given (the path's neighbour, the leading candidate's kernel,
     * the scored fit for the final solve) */
    return kn_options_is_linear(op) || op->model == KERNEST_MODEL_LOWRANK ? x : NULL;
}

/* The natural scale of λ for opt's model and regulariser, tr(ΦᵀHᵀHΦ) / tr(G) with G the
 * regulariser's Gram matrix on the model's unknowns, both by 2 Rademacher probes (operator
 * applications, no solve): λ = λ₀ weighs data and prior equally per unknown. */
int sel_lambda_scale(kn_session *s, const kernest_options *opt, unsigned long long seed, double *lam0)
{
    kn_model model = {0};
    kn_backend *sbe = NULL;
    kn_vec *z = NULL, *hz = NULL, *gz = NULL;
    double *zh = NULL, th = 0.0, tg = 0.0;
    const kn_backend_ops *o = s->be->ops;
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    /* lowrank has no fixed Φ (a half-step's depends on the held factor): the pixel model's scale */
    const kernest_model kind = opt->model == KERNEST_MODEL_LOWRANK ? KERNEST_MODEL_PIXEL : opt->model;
    int st = kn_model_init_nk(&model, kind, opt->order, s->pb.kh, s->pb.kw, kn_problem_kernels(&s->pb));
    if (st || (st = kn_session_operator(s, &model, NULL, 0, &sbe)))
        goto done;
    if (!(zh = malloc(model.nx * sizeof *zh))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = o->vec_create(s->be, model.nx, &z)) || (st = o->vec_create(s->be, model.nx, &gz)) ||
        (st = o->vec_create(s->be, s->pb.m, &hz)))
        goto done;
    for (int p = 0; p < 2; p++) {
        double a, g;
        for (size_t i = 0; i < model.nx; i++)
            zh[i] = kn_rng_uniform(&rng) < 0.5 ? -1.0 : 1.0;
        if ((st = o->vec_upload(s->be, z, zh)) || (st = kn_model_forward(sbe, z, hz)) ||
            (st = o->vec_dot(s->be, hz, hz, &a)) || (st = sbe->ops->reg_gram(sbe, opt->reg, z, gz)) ||
            (st = o->vec_dot(s->be, z, gz, &g)))
            goto done;
        th += a;
        tg += g;
    }
    *lam0 = th > 0 && tg > 0 ? th / tg : 1.0;
done:
    o->vec_destroy(s->be, &z);
    o->vec_destroy(s->be, &hz);
    o->vec_destroy(s->be, &gz);
    kn_model_free(&model);
    free(zh);
    return st;
}

/* ‖Φᵀ Hᵀ b‖∞: the smallest ℓ1 weight for which K = 0 is optimal; the scale of the ℓ1 path */
int sel_l1_scale(kn_session *s, const kernest_options *opt, double *out)
{
    kn_model model = {0};
    kn_backend *sbe = NULL;
    kn_vec *g = NULL;
    double *h = NULL;
    int st = kn_model_init_nk(&model, opt->model, opt->order, s->pb.kh, s->pb.kw, kn_problem_kernels(&s->pb));
    if (!st && !(st = kn_session_operator(s, &model, NULL, 0, &sbe)) &&
        !(st = s->be->ops->vec_create(s->be, model.nx, &g)) && !(st = sbe->ops->op_adjoint(sbe, s->b, g))) {
        if (!(h = malloc(model.nx * sizeof *h)))
            st = kn_error(KERNEST_E_NOMEM, "out of memory");
        else if (!(st = s->be->ops->vec_download(s->be, g, h))) {
            *out = 0.0;
            for (size_t i = 0; i < model.nx; i++)
                *out = fmax(*out, fabs(h[i]));
        }
    }
    if (g)
        s->be->ops->vec_destroy(s->be, &g);
    kn_model_free(&model);
    free(h);
    return st;
}

/* ‖L x‖² = xᵀ G x for opt's model and regulariser (the prior term of the L-curve) */
int sel_prior_norm(kn_session *s, const kernest_options *opt, const kn_fit *f, double *out)
{
    kn_backend *sbe = NULL;
    kn_vec *x = NULL, *gx = NULL;
    const kn_backend_ops *o = s->be->ops;
    int st = kn_session_operator(s, &f->model, NULL, 0, &sbe);
    if (!st && !(st = o->vec_create(s->be, f->model.nx, &x)) &&
        !(st = o->vec_create(s->be, f->model.nx, &gx)) && !(st = o->vec_upload(s->be, x, f->x)) &&
        !(st = sbe->ops->reg_gram(sbe, opt->reg, x, gx)))
        st = o->vec_dot(s->be, x, gx, out);
    o->vec_destroy(s->be, &x);
    o->vec_destroy(s->be, &gx);
    return st;
}

static int sel_eval_at(ctx *c, cand *cd, eval_fn fn, double t)
{
    double score;
    if (c->interrupted) /* the scores of cut-short solves would choose nothing worth having */
        return KERNEST_OK;
    int st = fn(c, cd, pow(10.0, t), &score);
    if (st)
        return st;
    cd->t[cd->np] = t;
    cd->f[cd->np++] = score;
    if (score < cd->best_score) {
        cd->best_score = score;
        cd->best_t = t;
    }
    return KERNEST_OK;
}

/* The next log10 λ of a minimisation: 2 decades past an edge minimum, else the vertex of the
 * parabola through the best point and its neighbours (kept inside them, away from known points). */
static double next_min_point(const cand *cd)
{
    size_t n = cd->np, idx[MAX_POINTS];
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 1; i < n; i++) /* sort by t */
        for (size_t j = i; j > 0 && cd->t[idx[j]] < cd->t[idx[j - 1]]; j--) {
            size_t w = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = w;
        }
    /* the best: the largest λ whose score is within TIE of the lowest (flat stretches of the
     * curve are explored towards more regularisation, not further into the flat) */
    double fbest = INFINITY;
    for (size_t i = 0; i < n; i++)
        fbest = fmin(fbest, cd->f[i]);
    size_t b = 0;
    for (size_t i = 0; i < n; i++)
        if (cd->f[idx[i]] <= fbest * (1 + TIE))
            b = i;
    if (b == 0)
        return cd->t[idx[0]] - 2.0;
    if (b == n - 1)
        return cd->t[idx[n - 1]] + 2.0;
    const double x0 = cd->t[idx[b - 1]], x1 = cd->t[idx[b]], x2 = cd->t[idx[b + 1]];
    const double y0 = cd->f[idx[b - 1]], y1 = cd->f[idx[b]], y2 = cd->f[idx[b + 1]];
    /* scores may span decades: fit the parabola to log(score) */
    const double l0 = log(y0), l1 = log(y1), l2 = log(y2);
    const double num = (x1 - x0) * (x1 - x0) * (l1 - l2) - (x1 - x2) * (x1 - x2) * (l1 - l0);
    const double den = (x1 - x0) * (l1 - l2) - (x1 - x2) * (l1 - l0);
    double v = den != 0 && isfinite(num / den) ? x1 - 0.5 * num / den : 0.5 * (x0 + x1);
    const double lo = x0 + 0.1 * (x1 - x0), hi = x2 - 0.1 * (x2 - x1);
    v = v < lo ? lo : v > hi ? hi : v;
    if (fabs(v - x1) < 0.05) /* too close to the best: split the wider side instead */
        v = (x1 - x0 > x2 - x1) ? 0.5 * (x0 + x1) : 0.5 * (x1 + x2);
    return v;
}

int sel_grid_points(int grid)
{
    return (grid & 1) + (grid >> 1 & 1) + (grid >> 2 & 1);
}

/* cd's point by the choice's rule: the largest λ within TIE of the lowest score (0 when none) */
static size_t best_index(const cand *cd)
{
    size_t lo = 0, pick;
    for (size_t i = 1; i < cd->np; i++)
        if (cd->f[i] < cd->f[lo])
            lo = i;
    pick = lo;
    for (size_t i = 0; i < cd->np; i++)
        if (cd->t[i] > cd->t[pick] && cd->f[i] <= cd->f[lo] * (1 + TIE))
            pick = i;
    return pick;
}

/* log10 λ of the coarse grid's point i (bit i of a grid mask): λ₀·10^(1−2i) */
double sel_grid_t(const cand *cd, int i)
{
    return cd->t0 + 1.0 - 2.0 * i;
}

/* 1 when cd's path ends here (c->trail_bar): a fit of it stopped at its cap and its best score
 * trails the bar; the report says so (kernest_candidate.trailed) */
static int trails(ctx *c, const cand *cd)
{
    kernest_candidate *k = &c->sel->cands[cd->index];
    const int t = c->trail_bar > 0 && k->capped > 0 && cd->best_score > c->trail_bar;
    k->trailed |= t;
    return t;
}

/* the coarse grid's points in grid (bit i: λ₀·10^(1−2i), i.e. λ₀·10, λ₀/10, λ₀/1000, 2 decades
 * apart, large λ first for warm starts; the optimum of the test cases lay between λ₀·10⁻⁶ and
 * λ₀·3, lower the less noise) then refinement, npts evaluations in all; fewer when cd trails
 * (trails()) */
int sel_search_min(ctx *c, cand *cd, eval_fn fn, int npts, int grid)
{
    int st;
    for (int i = 0; i < 3 && npts > 0 && !trails(c, cd); i++)
        if (grid >> i & 1) {
            if ((st = sel_eval_at(c, cd, fn, sel_grid_t(cd, i))))
                return st;
            npts--;
        }
    for (; npts > 0 && cd->np && !c->interrupted && !trails(c, cd); npts--) /* refinement needs a point to refine */
        if ((st = sel_eval_at(c, cd, fn, next_min_point(cd))))
            return st;
    const size_t pick = best_index(cd);
    if (cd->np) {
        cd->best_t = cd->t[pick];
        cd->best_score = cd->f[pick];
    }
    return KERNEST_OK;
}


/* A λ path whose points cost (almost) nothing, as in a Krylov subspace: every step of log10 λ
 * from hi down to lo, then, when the best point lies between two others, nrefine points of
 * sel_search_min's refinement; its choice either way. No point is taken past the grid's edges
 * here (the budget's extra points may, as for any path). */
int sel_search_grid(ctx *c, cand *cd, eval_fn fn, double hi, double lo, double step, int nrefine)
{
    int st;
    for (int i = 0; hi - step * i >= lo - 1e-9; i++)
        if ((st = sel_eval_at(c, cd, fn, hi - step * i)))
            return st;
    const double b = cd->np ? cd->t[best_index(cd)] : hi;
    return sel_search_min(c, cd, fn, b > lo + 1e-9 && b < hi - 1e-9 ? nrefine : 0, 0);
}

void sel_cand_free(cand *cd)
{
    for (int k = 0; k < MAX_FOLDS; k++)
        free(cd->xw[k]);
    for (int p = 0; p < 8; p++)
        free(cd->xp[p]);
    free(cd->best_x);
    free(cd->tiles);
    sel_hybrid_free(&cd->hy);
    memset(cd, 0, sizeof *cd);
}

void sel_rescored(ctx *c, cand *cd, double score, long a, double t)
{
    cd->t[cd->np] = cd->best_t;
    cd->f[cd->np++] = score;
    cd->best_score = score;
    sel_cand_done(c, cd);
    c->sel->cands[cd->index].applications += sel_applications(c) - a;
    c->sel->cands[cd->index].seconds += kn_now() - t;
}

void sel_cand_done(ctx *c, cand *cd)
{
    kernest_candidate *k = &c->sel->cands[cd->index];
    if (cd->vary_l1) {
        if (cd->best_score < k->score) { /* else ℓ1 = 0 (the λ path's own best) stays */
            k->l1 = pow(10.0, cd->best_t);
            k->score = cd->best_score;
        }
        return;
    }
    k->lambda = pow(10.0, cd->best_t);
    k->l1 = cd->opt.l1;
    k->score = cd->best_score;
}
