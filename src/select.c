/* select.c — choosing λ and the model from the data on one session: warm-started λ paths (coarse
 * log grid, then refinement) scored by cv, gcv, the discrepancy principle or the L-curve. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model_op.h"
#include "select.h"
#include "synth.h"

static const char *const select_names[] = {"cv", "gcv", "discrepancy", "lcurve"};

int kernest_select_parse(const char *s, int *folds)
{
    if (!s)
        return -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, select_names[i])) {
            if (i == 0 && folds)
                *folds = 5;
            return i;
        }
    if (!strncmp(s, "cv:", 3)) {
        char *end;
        long k = strtol(s + 3, &end, 10);
        if (end == s + 3 || *end || k < 2 || k > 100)
            return -1;
        if (folds)
            *folds = (int)k;
        return KERNEST_SELECT_CV;
    }
    return -1;
}

const char *kernest_select_name(kernest_select s)
{
    return (unsigned)s < 4 ? select_names[s] : "?";
}

enum { MAX_FOLDS = 3, MAX_POINTS = 64, BLOCKS = 4 };
#define PATH_TOL 1e-4 /* path solves stop earlier than the final one: scores need no more */
#define TIE 0.005     /* scores within 0.5 % count as equal: the larger λ is preferred */

/* One candidate's search state. */
typedef struct cand {
    kernest_options opt; /* the candidate's options; lambda varies along the path */
    size_t index;        /* into sel->cands */
    double t0;           /* log10 of the natural scale of λ (see lambda_scale) */
    size_t nx;
    double *xw[MAX_FOLDS]; /* last solution per fold (cv) or on all data ([0]), warm starts */
    double *xp[8];       /* last solution per probe (gcv) */
    double *best_x;      /* the solution at the best λ so far (all data, or fold 0 for cv) */
    double best_score, best_t;
    double t[MAX_POINTS], f[MAX_POINTS]; /* evaluated log10 λ and scores, in order */
    size_t np;
    int vary_l1;         /* 1: the path varies the ℓ1 weight (λ fixed) instead of λ */
} cand;

typedef struct ctx {
    kn_session *s;
    kn_selection *sel;
    const kernest_options *user;
    double tol;          /* path tolerance */
    int nfold;           /* folds scored (cv) */
    kn_session fold[MAX_FOLDS];
    unsigned char *fold_of; /* m entries: fold of each observed pixel, 255 unobserved */
    double *hk;          /* m scratch: H K on all pixels */
    kn_vec *kv, *dv;     /* on s->be: a kernel and a data vector */
} ctx;

/* ---- small helpers ------------------------------------------------------------------------- */

static void count(ctx *c, const kn_fit *f, int *cand_solves)
{
    c->sel->solves++;
    c->sel->iterations += f->res.iterations;
    if (cand_solves)
        (*cand_solves)++;
}

static int add_point(ctx *c, size_t cand_index, double lam, double l1, double score, double rss,
                     double aux, int iters)
{
    kn_selection *sel = c->sel;
    if (sel->npath >= MAX_POINTS)
        return kn_error(KERNEST_E_INVALID, "--select: internal: path longer than %d", MAX_POINTS);
    sel->path[sel->npath++] = (kernest_path_point){cand_index, lam, score, rss, aux, iters, l1};
    return KERNEST_OK;
}

static double rss_of(const kn_session *s, const double *hx)
{
    double r = 0.0;
    for (size_t j = 0; j < s->pb.m; j++) {
        double d = hx[j] - s->host_b[j]; /* both 0 at NaN pixels of B */
        r += d * d;
    }
    return r;
}

static size_t observed(const kn_session *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->pb.npairs; i++)
        n += s->pb.pairs[i].nobs;
    return n;
}

/* 1 at observed pixels of the data space, 0 at NaN pixels of B */
static void observed_mask(const kn_session *s, unsigned char *mask)
{
    for (size_t i = 0; i < s->pb.npairs; i++) {
        const kn_pair *p = &s->pb.pairs[i];
        for (size_t j = 0; j < p->hb * p->wb; j++)
            mask[p->offset + j] = !isnan(p->B[j]);
    }
}

static int keep_x(double **dst, const kn_fit *f)
{
    if (!*dst && !(*dst = malloc((f->model.nx ? f->model.nx : 1) * sizeof **dst)))
        return kn_error(KERNEST_E_NOMEM, "out of memory for a warm start");
    memcpy(*dst, f->x, f->model.nx * sizeof **dst);
    return KERNEST_OK;
}

static int is_linear(const kernest_options *o)
{
    return !o->nonneg && !o->has_bounds && !o->has_sum && o->l1 == 0 && o->solver != KERNEST_SOLVER_FISTA;
}

/* The natural scale of λ for opt's model and regulariser, tr(ΦᵀHᵀHΦ) / tr(G) with G the
 * regulariser's Gram matrix on the model's unknowns, both by 2 Rademacher probes (operator
 * applications, no solve): λ = λ₀ weighs data and prior equally per unknown. */
static int lambda_scale(kn_session *s, const kernest_options *opt, unsigned long long seed, double *lam0)
{
    kn_model model = {0};
    kn_backend *sbe = NULL;
    kn_vec *z = NULL, *hz = NULL, *gz = NULL;
    double *zh = NULL, th = 0.0, tg = 0.0;
    const kn_backend_ops *o = s->be->ops;
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    int st = kn_model_init(&model, opt->model, s->pb.kh, s->pb.kw);
    if (st || (st = kn_model_backend(&model, s->be, NULL, &sbe)))
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
    if (sbe && sbe != s->be)
        kn_backend_destroy(&sbe);
    kn_model_free(&model);
    free(zh);
    return st;
}

/* ‖Φᵀ Hᵀ b‖∞: the smallest ℓ1 weight for which K = 0 is optimal; the scale of the ℓ1 path */
static int l1_scale(kn_session *s, const kernest_options *opt, double *out)
{
    kn_model model = {0};
    kn_backend *sbe = NULL;
    kn_vec *g = NULL;
    double *h = NULL;
    int st = kn_model_init(&model, opt->model, s->pb.kh, s->pb.kw);
    if (!st && !(st = kn_model_backend(&model, s->be, NULL, &sbe)) &&
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
    if (sbe && sbe != s->be)
        kn_backend_destroy(&sbe);
    kn_model_free(&model);
    free(h);
    return st;
}

/* ‖L x‖² = xᵀ G x for opt's model and regulariser (the prior term of the L-curve) */
static int prior_norm(kn_session *s, const kernest_options *opt, const kn_fit *f, double *out)
{
    kn_backend *sbe = NULL;
    kn_vec *x = NULL, *gx = NULL;
    const kn_backend_ops *o = s->be->ops;
    int st = kn_model_backend(&f->model, s->be, NULL, &sbe);
    if (!st && !(st = o->vec_create(s->be, f->model.nx, &x)) &&
        !(st = o->vec_create(s->be, f->model.nx, &gx)) && !(st = o->vec_upload(s->be, x, f->x)) &&
        !(st = sbe->ops->reg_gram(sbe, opt->reg, x, gx)))
        st = o->vec_dot(s->be, x, gx, out);
    o->vec_destroy(s->be, &x);
    o->vec_destroy(s->be, &gx);
    if (sbe && sbe != s->be)
        kn_backend_destroy(&sbe);
    return st;
}

int kn_trace_hutchinson(kn_session *s, const kernest_options *opt, int nprobe,
                        unsigned long long seed, double **xs, double *t, double *tp, long *iters)
{
    const size_t m = s->pb.m;
    double *z = malloc((m ? m : 1) * sizeof *z);
    unsigned char *obs = malloc(m ? m : 1);
    kn_fit f = {0};
    int st = KERNEST_OK;
    kn_rng rng;
    if (!z || !obs) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the trace probes");
        goto done;
    }
    if (!is_linear(opt)) {
        st = kn_error(KERNEST_E_INVALID, "--select gcv / sigma estimate: needs a linear fit (no --nonneg, "
                      "--bounds, --sum or l1); use --select cv or give --sigma");
        goto done;
    }
    observed_mask(s, obs);
    kn_rng_seed(&rng, seed ^ 0x9e3779b97f4a7c15ULL);
    *t = 0.0;
    for (int p = 0; p < nprobe; p++) {
        for (size_t j = 0; j < m; j++) /* the same probes for every λ: a smooth GCV curve */
            z[j] = obs[j] ? (kn_rng_uniform(&rng) < 0.5 ? -1.0 : 1.0) : 0.0;
        if ((st = kn_session_solve_with(s, opt, xs ? xs[p] : NULL, z, NULL, &f)))
            goto done;
        double q = 0.0;
        for (size_t j = 0; j < m; j++)
            q += z[j] * f.hx[j]; /* zᵀ H (HᵀH + λLᵀL)⁻¹ Hᵀ z */
        if (tp)
            tp[p] = q;
        *t += q / nprobe;
        if (iters)
            *iters += f.res.iterations;
        if (xs && (st = keep_x(&xs[p], &f)))
            goto done;
        kn_fit_free(&f);
    }
done:
    kn_fit_free(&f);
    free(z);
    free(obs);
    return st;
}

/* ---- scores of one λ ------------------------------------------------------------------------ */

/* cv: fit on each scored fold (its held-out pixels are NaN in that fold's session) and score
 * the held-out pixels with H K computed on all pixels of the full session */
static int eval_cv(ctx *c, cand *cd, double lam, double *score)
{
    kn_session *s = c->s;
    const kn_backend_ops *o = s->be->ops;
    kernest_options op = cd->opt;
    if (cd->vary_l1)
        op.l1 = lam;
    else
        op.lambda = lam;
    /* FISTA's test (relative change) passes at once when warm-started near the previous λ's
     * solution: its path solves keep the user's tolerance */
    op.tol = is_linear(&op) ? c->tol : c->user->tol;
    double sse = 0.0, rss = 0.0;
    size_t cnt = 0;
    int iters = 0, st;
    kn_fit f = {0};
    for (int k = 0; k < c->nfold; k++) {
        if ((st = kn_session_solve(&c->fold[k], &op, cd->xw[k], &f)))
            goto done;
        count(c, &f, &c->sel->cands[cd->index].solves);
        iters += f.res.iterations;
        rss += rss_of(&c->fold[k], f.hx);
        if ((st = o->vec_upload(s->be, c->kv, f.K)) || (st = o->op_apply(s->be, c->kv, c->dv)) ||
            (st = o->vec_download(s->be, c->dv, c->hk)))
            goto done;
        for (size_t j = 0; j < s->pb.m; j++)
            if (c->fold_of[j] == k) {
                double d = c->hk[j] - s->host_b[j];
                sse += d * d;
                cnt++;
            }
        if ((st = keep_x(&cd->xw[k], &f)))
            goto done;
        kn_fit_free(&f);
    }
    *score = cnt ? sse / (double)cnt : INFINITY;
    if (*score < cd->best_score && (st = keep_x(&cd->best_x, &(kn_fit){.model.nx = cd->nx, .x = cd->xw[0]})))
        goto done;
    st = add_point(c, cd->index, op.lambda, op.l1, *score, rss, (double)c->nfold, iters);
done:
    kn_fit_free(&f);
    return st;
}

/* gcv: one solve on all the data and one per probe: m ‖r‖² / (m − t)² */
static int eval_gcv(ctx *c, cand *cd, double lam, double *score)
{
    kernest_options op = cd->opt;
    op.lambda = lam;
    op.tol = c->tol;
    kn_fit f = {0};
    long it = 0;
    double t;
    const double m = (double)observed(c->s);
    int st = kn_session_solve(c->s, &op, cd->xw[0], &f);
    if (st)
        goto done;
    count(c, &f, &c->sel->cands[cd->index].solves);
    const double rss = rss_of(c->s, f.hx);
    if ((st = keep_x(&cd->xw[0], &f)) ||
        (st = kn_trace_hutchinson(c->s, &op, c->user->probes, c->user->seed, cd->xp, &t, NULL, &it)))
        goto done;
    for (int p = 0; p < c->user->probes; p++)
        c->sel->solves++, c->sel->cands[cd->index].solves++;
    c->sel->iterations += it;
    *score = m > t ? m * rss / ((m - t) * (m - t)) : INFINITY;
    if (*score < cd->best_score) {
        if ((st = keep_x(&cd->best_x, &f)))
            goto done;
        c->sel->sigma = m > t ? sqrt(rss / (m - t)) : 0.0; /* Wahba's estimate at the best λ */
    }
    st = add_point(c, cd->index, lam, op.l1, *score, rss, t, f.res.iterations + (int)it);
done:
    kn_fit_free(&f);
    return st;
}

typedef int (*eval_fn)(ctx *c, cand *cd, double lam, double *score);

static int eval_at(ctx *c, cand *cd, eval_fn fn, double t)
{
    double score;
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

/* coarse grid (3 points 2 decades apart: λ₀·10, λ₀/10, λ₀/1000, large λ first for warm starts;
 * the optimum of the test cases lay between λ₀·10⁻⁶ and λ₀·3, lower the less noise) then
 * refinement, npts evaluations in all */
static int search_min(ctx *c, cand *cd, eval_fn fn, int npts, int coarse)
{
    int st;
    if (coarse)
        for (int i = 0; i < 3 && npts > 0; i++, npts--)
            if ((st = eval_at(c, cd, fn, cd->t0 + 1.0 - 2.0 * i)))
                return st;
    for (; npts > 0; npts--)
        if ((st = eval_at(c, cd, fn, next_min_point(cd))))
            return st;
    double fbest = INFINITY; /* the choice: the largest λ within TIE of the lowest score */
    for (size_t i = 0; i < cd->np; i++)
        fbest = fmin(fbest, cd->f[i]);
    size_t pick = 0;
    for (size_t i = 1; i < cd->np; i++)
        if (cd->f[i] <= fbest * (1 + TIE) && (cd->f[pick] > fbest * (1 + TIE) || cd->t[i] > cd->t[pick]))
            pick = i;
    if (cd->np) {
        cd->best_t = cd->t[pick];
        cd->best_score = cd->f[pick];
    }
    return KERNEST_OK;
}

/* ---- set-up ---------------------------------------------------------------------------------- */

static int cand_init(ctx *c, cand *cd, size_t index, const kn_candidate_spec *spec)
{
    kn_selection *sel = c->sel;
    memset(cd, 0, sizeof *cd);
    cd->opt = *c->user;
    cd->opt.auto_lambda = cd->opt.auto_model = cd->opt.auto_l1 = 0;
    if (c->user->auto_l1)
        cd->opt.l1 = 0.0; /* the λ path runs without ℓ1; the ℓ1 path follows at the chosen λ */
    cd->opt.uncertainty = 0;
    if (spec) {
        cd->opt.model = spec->model;
        cd->opt.reg = spec->reg;
        cd->opt.nonneg |= spec->nonneg;
        if (spec->tweak)
            spec->tweak(&cd->opt);
    } else if (cd->opt.reg == KERNEST_REG_NONE)
        cd->opt.reg = KERNEST_REG_GRAD;
    cd->index = index;
    cd->best_score = INFINITY;
    kernest_candidate *k = &sel->cands[index];
    snprintf(k->name, sizeof k->name, "%s", spec ? spec->name : "");
    if (!spec)
        snprintf(k->name, sizeof k->name, "%s+%s%s", kernest_model_name(cd->opt.model),
                 cd->opt.nonneg ? "nonneg+" : "", kernest_reg_name(cd->opt.reg));
    k->model = cd->opt.model;
    k->reg = cd->opt.reg;
    k->nonneg = cd->opt.nonneg;
    double lam0 = 1.0;
    kn_model model = {0};
    int st = kn_model_init(&model, cd->opt.model, c->s->pb.kh, c->s->pb.kw);
    cd->nx = model.nx;
    kn_model_free(&model);
    if (st || (st = lambda_scale(c->s, &cd->opt, c->user->seed + 17 * index, &lam0)))
        return st;
    cd->t0 = log10(lam0);
    return KERNEST_OK;
}

static void cand_free(cand *cd)
{
    for (int k = 0; k < MAX_FOLDS; k++)
        free(cd->xw[k]);
    for (int p = 0; p < 8; p++)
        free(cd->xp[p]);
    free(cd->best_x);
    memset(cd, 0, sizeof *cd);
}

static void cand_done(ctx *c, cand *cd)
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

/* The folds: each pair's B is cut into 4×4 blocks, dealt to the K folds in a random (seeded)
 * order; the first nfold folds get a session of their own, fitted on B with that fold's pixels
 * set to NaN. */
static int cv_setup(ctx *c, const kernest_array *const *A, const kernest_array *const *B, size_t npairs,
                    const kernest_options *open_opt)
{
    kn_session *s = c->s;
    const size_t m = s->pb.m;
    kn_rng rng;
    kn_rng_seed(&rng, c->user->seed * 0x2545f4914f6cdd1dULL + 7);
    kernest_array **Bf = calloc(npairs, sizeof *Bf);
    int st = KERNEST_OK;
    if (!(c->fold_of = malloc(m ? m : 1)) || !(c->hk = malloc((m ? m : 1) * sizeof *c->hk)) || !Bf) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the folds");
        goto done;
    }
    for (size_t i = 0; i < npairs; i++) {
        const kn_pair *p = &s->pb.pairs[i];
        /* BLOCKS×BLOCKS contiguous blocks per pair, dealt to the folds in a random order (each
         * fold gets its share): held-out blocks, unlike scattered pixels, make the fold's fit
         * predict output its neighbours do not pin down, as fresh data does */
        const size_t bh = (p->hb + BLOCKS - 1) / BLOCKS, bw = (p->wb + BLOCKS - 1) / BLOCKS;
        unsigned char bf[BLOCKS * BLOCKS];
        size_t perm[BLOCKS * BLOCKS];
        for (size_t q = 0; q < BLOCKS * BLOCKS; q++)
            perm[q] = q;
        for (size_t q = BLOCKS * BLOCKS - 1; q > 0; q--) { /* Fisher–Yates */
            size_t r = (size_t)(kn_rng_uniform(&rng) * (double)(q + 1)), w = perm[q];
            perm[q] = perm[r];
            perm[r] = w;
        }
        for (size_t q = 0; q < BLOCKS * BLOCKS; q++)
            bf[perm[q]] = (unsigned char)(q % (size_t)c->user->cv_folds);
        for (size_t j = 0; j < p->hb * p->wb; j++)
            c->fold_of[p->offset + j] = isnan(p->B[j]) ? 255 : bf[(j / p->wb / bh) * BLOCKS + (j % p->wb) / bw];
    }
    for (int k = 0; k < c->nfold; k++) {
        for (size_t i = 0; i < npairs; i++) {
            const kn_pair *p = &s->pb.pairs[i];
            kernest_array_destroy(&Bf[i]);
            if ((st = kernest_array_create2(p->hb, p->wb, &Bf[i])))
                goto done;
            for (size_t j = 0; j < p->hb * p->wb; j++)
                Bf[i]->data[j] = c->fold_of[p->offset + j] == k ? NAN : p->B[j];
        }
        if ((st = kn_session_open(&c->fold[k], A, (const kernest_array *const *)Bf, npairs, open_opt)))
            goto done;
    }
    const kn_backend_ops *o = s->be->ops;
    if ((st = o->vec_create(s->be, s->pb.n, &c->kv)) || (st = o->vec_create(s->be, m, &c->dv)))
        goto done;
done:
    for (size_t i = 0; Bf && i < npairs; i++)
        kernest_array_destroy(&Bf[i]);
    free(Bf);
    return st;
}

/* ---- the rules -------------------------------------------------------------------------------- */

/* cv over the candidates: each gets an equal share of the budget (3 coarse points, then
 * refinement), what is left goes to the best one; the final solve is kept out of the share. */
static int run_cv(ctx *c, cand *cds, size_t nc)
{
    const int per = (KN_SELECT_BUDGET - 1) / ((int)nc * (c->user->auto_l1 ? 2 : 1) * c->nfold);
    int st;
    for (size_t i = 0; i < nc; i++) {
        if ((st = search_min(c, &cds[i], eval_cv, per, 1)))
            return st;
        cand_done(c, &cds[i]);
    }
    size_t b = 0;
    for (size_t i = 1; i < nc; i++)
        if (cds[i].best_score < cds[b].best_score)
            b = i;
    const int extra = c->user->auto_l1 ? 0 : (KN_SELECT_BUDGET - 1 - c->sel->solves) / c->nfold;
    if (extra > 0 && (st = search_min(c, &cds[b], eval_cv, extra, 0)))
        return st;
    cand_done(c, &cds[b]);
    c->sel->chosen = b;
    if (c->user->auto_l1) { /* then the ℓ1 weight at the chosen λ: a path of its own */
        cand l = cds[b];
        memset(l.xw, 0, sizeof l.xw);
        memset(l.xp, 0, sizeof l.xp);
        l.best_x = NULL;
        l.np = 0;
        l.best_score = INFINITY;
        l.vary_l1 = 1;
        l.opt.lambda = c->sel->cands[b].lambda;
        double m1 = 0.0;
        if ((st = l1_scale(c->s, &l.opt, &m1)))
            return st;
        l.t0 = log10(m1 > 0 ? m1 : 1.0) - 1.0; /* coarse: m1·{1, 10⁻², 10⁻⁴} */
        for (int k = 0; k < MAX_FOLDS; k++) /* warm starts from the λ path's last solutions */
            if (cds[b].xw[k] && (st = keep_x(&l.xw[k], &(kn_fit){.model.nx = l.nx, .x = cds[b].xw[k]})))
                break;
        const int n = (KN_SELECT_BUDGET - 1 - c->sel->solves) / c->nfold;
        if (!st)
            st = search_min(c, &l, eval_cv, n, 1);
        if (!st) {
            cand_done(c, &l);
            if (c->sel->cands[b].l1 > 0) { /* the ℓ1 path won: its solution starts the final solve */
                cds[b].opt.l1 = c->sel->cands[b].l1;
                free(cds[b].best_x);
                cds[b].best_x = l.best_x;
                l.best_x = NULL;
            }
        }
        cand_free(&l);
        if (st)
            return st;
    }
    if (!(c->user->sigma > 0)) { /* held-out MSE = σ² + prediction error: an upper estimate */
        c->sel->sigma = sqrt(cds[b].best_score);
        c->sel->sigma_estimated = 1;
    }
    return KERNEST_OK;
}

static int run_gcv(ctx *c, cand *cd, int npts)
{
    int st = search_min(c, cd, eval_gcv, npts, 1);
    if (!st)
        cand_done(c, cd);
    return st;
}

/* discrepancy: the λ where ‖r‖² = m σ² (‖r‖² grows with λ), by regula falsi on
 * (log10 λ, log(‖r‖²/mσ²)); on all the data, warm-started along the path */
static int run_discrepancy(ctx *c, cand *cd)
{
    kn_session *s = c->s;
    const double target = (double)observed(s) * c->sel->sigma * c->sel->sigma;
    double tt[MAX_POINTS], ff[MAX_POINTS], ratio = 0.0;
    size_t n = 0;
    int st;
    /* points the gcv path already fitted (σ estimated) count too */
    for (size_t i = 0; i < c->sel->npath; i++) {
        tt[n] = log10(c->sel->path[i].lambda);
        ff[n++] = log(c->sel->path[i].rss / target);
    }
    const double coarse[3] = {cd->t0 + 1.0, cd->t0 - 1.0, cd->t0 - 3.0};
    for (int it = 0; c->sel->solves < KN_SELECT_BUDGET - 1; it++) {
        double tn;
        size_t lo = SIZE_MAX, hi = SIZE_MAX, bestabs = 0;
        for (size_t i = 0; i < n; i++) {
            if (fabs(ff[i]) < fabs(ff[bestabs]))
                bestabs = i;
            if (ff[i] <= 0 && (lo == SIZE_MAX || tt[i] > tt[lo]))
                lo = i;
            if (ff[i] > 0 && (hi == SIZE_MAX || tt[i] < tt[hi]))
                hi = i;
        }
        if (n && fabs(ff[bestabs]) < 0.005)
            break;
        if (n < 3 && n == (size_t)it)
            tn = coarse[it];
        else if (lo != SIZE_MAX && hi != SIZE_MAX && tt[lo] < tt[hi]) {
            tn = tt[lo] + (tt[hi] - tt[lo]) * (-ff[lo]) / (ff[hi] - ff[lo]);
            const double w = tt[hi] - tt[lo];
            tn = fmin(fmax(tn, tt[lo] + 0.05 * w), tt[hi] - 0.05 * w);
        } else if (lo == SIZE_MAX) { /* every ‖r‖² too large: smaller λ */
            double m = tt[0];
            for (size_t i = 1; i < n; i++)
                m = fmin(m, tt[i]);
            tn = m - 2.0;
        } else {
            double m = tt[0];
            for (size_t i = 1; i < n; i++)
                m = fmax(m, tt[i]);
            tn = m + 2.0;
        }
        kernest_options op = cd->opt;
        op.lambda = pow(10.0, tn);
        op.tol = c->tol;
        kn_fit f = {0};
        if ((st = kn_session_solve(s, &op, cd->xw[0], &f))) {
            kn_fit_free(&f);
            return st;
        }
        count(c, &f, &c->sel->cands[cd->index].solves);
        const double rss = rss_of(s, f.hx);
        st = keep_x(&cd->xw[0], &f);
        tt[n] = tn;
        ff[n] = log(rss / target);
        if (!st && fabs(ff[n]) < cd->best_score) {
            cd->best_score = fabs(ff[n]);
            ratio = rss / target;
            cd->best_t = tn;
            st = keep_x(&cd->best_x, &f);
        }
        n++;
        if (!st)
            st = add_point(c, cd->index, op.lambda, op.l1, rss / target, rss, 0.0, f.res.iterations);
        kn_fit_free(&f);
        if (st)
            return st;
    }
    if (!cd->best_x) { /* every point came from the gcv path */
        size_t b = 0;
        for (size_t i = 1; i < n; i++)
            if (fabs(ff[i]) < fabs(ff[b]))
                b = i;
        cd->best_t = tt[b];
        cd->best_score = fabs(ff[b]);
        ratio = exp(ff[b]);
    }
    cand_done(c, cd);
    c->sel->cands[cd->index].score = ratio; /* ‖r‖²/(mσ²) at the choice */
    return KERNEST_OK;
}

/* lcurve: 7 points a decade apart, then 2 at ±½ decade around the corner; the corner is the
 * point of maximum |curvature| of (log ‖r‖², log ‖L K‖²) as functions of log λ */
static int run_lcurve(ctx *c, cand *cd)
{
    kn_session *s = c->s;
    double tt[16], rho[16], eta[16], kap[16];
    double *xs[16] = {0};
    size_t n = 0, b = 0;
    int st = KERNEST_OK;
    for (int phase = 0; phase < 2 && !st; phase++) {
        double pts[7];
        int np = 0;
        if (phase == 0)
            for (int i = 0; i < 7; i++)
                pts[np++] = cd->t0 + 3.0 - i;
        else {
            pts[np++] = tt[b] - 0.5;
            pts[np++] = tt[b] + 0.5;
        }
        for (int i = 0; i < np && !st; i++) {
            kernest_options op = cd->opt;
            op.lambda = pow(10.0, pts[i]);
            op.tol = c->tol;
            kn_fit f = {0};
            double pn = 0.0;
            if (!(st = kn_session_solve(s, &op, cd->xw[0], &f))) {
                count(c, &f, &c->sel->cands[cd->index].solves);
                tt[n] = pts[i];
                const double rss = rss_of(s, f.hx);
                if (!(st = prior_norm(s, &op, &f, &pn)) && !(st = keep_x(&cd->xw[0], &f)) &&
                    !(st = keep_x(&xs[n], &f))) {
                    rho[n] = log(fmax(rss, 1e-300));
                    eta[n] = log(fmax(pn, 1e-300));
                    st = add_point(c, cd->index, op.lambda, op.l1, 0.0, rss, pn, f.res.iterations);
                    n++;
                }
            }
            kn_fit_free(&f);
        }
        if (st)
            break;
        /* sort by t, curvature at interior points (non-uniform 3-point differences) */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && tt[j] < tt[j - 1]; j--) {
#define SWAP(a) do { double w_ = a[j]; a[j] = a[j - 1]; a[j - 1] = w_; } while (0)
                SWAP(tt); SWAP(rho); SWAP(eta);
#undef SWAP
                double *w = xs[j];
                xs[j] = xs[j - 1];
                xs[j - 1] = w;
            }
        b = 1;
        for (size_t i = 0; i < n; i++) {
            kap[i] = -INFINITY;
            if (i == 0 || i == n - 1)
                continue;
            const double h1 = tt[i] - tt[i - 1], h2 = tt[i + 1] - tt[i], hs = h1 * h2 * (h1 + h2);
            const double r1 = (h1 * h1 * rho[i + 1] - h2 * h2 * rho[i - 1] + (h2 * h2 - h1 * h1) * rho[i]) / hs;
            const double e1 = (h1 * h1 * eta[i + 1] - h2 * h2 * eta[i - 1] + (h2 * h2 - h1 * h1) * eta[i]) / hs;
            const double r2 = 2 * (h1 * rho[i + 1] - (h1 + h2) * rho[i] + h2 * rho[i - 1]) / hs;
            const double e2 = 2 * (h1 * eta[i + 1] - (h1 + h2) * eta[i] + h2 * eta[i - 1]) / hs;
            const double d = pow(r1 * r1 + e1 * e1, 1.5);
            /* |κ|: with more unknowns than data ‖r‖² → 0 as λ → 0, so the curve runs flat then
             * down (a clockwise corner), the mirror of the textbook L */
            kap[i] = d > 0 ? fabs(r1 * e2 - r2 * e1) / d : -INFINITY;
            if (kap[i] > kap[b])
                b = i;
        }
    }
    if (!st) {
        for (size_t i = 0; i < c->sel->npath; i++) /* the curvature of every point, for the report */
            for (size_t j = 0; j < n; j++)
                if (fabs(log10(c->sel->path[i].lambda) - tt[j]) < 1e-12)
                    c->sel->path[i].score = isfinite(kap[j]) ? kap[j] : 0.0;
        cd->best_t = tt[b];
        cd->best_score = kap[b];
        st = keep_x(&cd->best_x, &(kn_fit){.model.nx = cd->nx, .x = xs[b]});
        cand_done(c, cd);
    }
    for (int i = 0; i < 16; i++)
        free(xs[i]);
    return st;
}

/* ---- the driver --------------------------------------------------------------------------------- */

void kn_selection_free(kn_selection *sel)
{
    kn_fit_free(&sel->fit);
    free(sel->cands);
    free(sel->path);
    memset(sel, 0, sizeof *sel);
}

static int check(const kernest_options *opt)
{
    if ((unsigned)opt->select > KERNEST_SELECT_LCURVE)
        return kn_error(KERNEST_E_INVALID, "--select: unknown rule %d", (int)opt->select);
    if (opt->cv_folds < 2 || opt->cv_folds > 100)
        return kn_error(KERNEST_E_INVALID, "--select cv:K: K must be 2..100, got %d", opt->cv_folds);
    if (opt->probes < 1 || opt->probes > 8)
        return kn_error(KERNEST_E_INVALID, "--probes: must be 1..8, got %d", opt->probes);
    if (!(opt->sigma >= 0) || !isfinite(opt->sigma))
        return kn_error(KERNEST_E_INVALID, "--sigma: must be a finite number >= 0, got %g", opt->sigma);
    if (opt->auto_l1 && (opt->select != KERNEST_SELECT_CV || opt->auto_model))
        return kn_error(KERNEST_E_INVALID, "--reg l1:auto: the ℓ1 weight is chosen by cross-validation "
                        "for one model (--select cv[:K], not with --model auto)");
    if (opt->auto_model && opt->select != KERNEST_SELECT_CV)
        return kn_error(KERNEST_E_INVALID, "--model auto: candidates are compared by cross-validation; "
                        "--select must be cv or cv:K, got %s", kernest_select_name(opt->select));
    return KERNEST_OK;
}

int kn_select(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
              size_t npairs, const kernest_options *opt, kn_selection *sel)
{
    memset(sel, 0, sizeof *sel);
    int st = check(opt);
    if (st)
        return st;
    const size_t nc = opt->auto_model ? kn_ncandidates : 1;
    ctx c = {.s = s, .sel = sel, .user = opt, .tol = fmax(opt->tol, PATH_TOL)};
    cand *cds = calloc(nc, sizeof *cds);
    sel->cands = calloc(nc, sizeof *sel->cands);
    sel->path = calloc(MAX_POINTS, sizeof *sel->path);
    sel->ncands = nc;
    if (!cds || !sel->cands || !sel->path) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the selection");
        goto done;
    }
    for (size_t i = 0; i < nc; i++)
        if ((st = cand_init(&c, &cds[i], i, opt->auto_model ? &kn_candidates[i] : NULL)))
            goto done;
    sel->sigma = opt->sigma;
    switch (opt->select) {
    case KERNEST_SELECT_CV: {
        /* one share of the budget per (candidate, scored fold): each λ costs nfold solves */
        c.nfold = opt->cv_folds < MAX_FOLDS ? opt->cv_folds : MAX_FOLDS;
        const int paths = (int)nc * (opt->auto_l1 ? 2 : 1);
        while (c.nfold > 1 && (KN_SELECT_BUDGET - 1) / (paths * c.nfold) < 4)
            c.nfold--;
        snprintf(sel->rule, sizeof sel->rule, "cv:%d (%d fold%s scored)", opt->cv_folds, c.nfold,
                 c.nfold > 1 ? "s" : "");
        kernest_options oo;
        kn_select_open_options(opt, &oo);
        if ((st = cv_setup(&c, A, B, npairs, &oo)) || (st = run_cv(&c, cds, nc)))
            goto done;
        break;
    }
    case KERNEST_SELECT_GCV:
        snprintf(sel->rule, sizeof sel->rule, "gcv (%d probes)", opt->probes);
        if ((st = run_gcv(&c, &cds[0], (KN_SELECT_BUDGET - 1) / (1 + opt->probes))))
            goto done;
        sel->sigma_estimated = opt->sigma == 0;
        if (opt->sigma > 0)
            sel->sigma = opt->sigma;
        break;
    case KERNEST_SELECT_DISCREPANCY:
        snprintf(sel->rule, sizeof sel->rule, "discrepancy");
        if (opt->sigma == 0) { /* σ² = ‖r‖²/(m − tr H_λ) at the gcv choice (3 gcv points) */
            if ((st = run_gcv(&c, &cds[0], 3)))
                goto done;
            sel->sigma_estimated = 1;
            cds[0].best_score = INFINITY;
            free(cds[0].best_x);
            cds[0].best_x = NULL;
        }
        if (!(sel->sigma > 0)) {
            st = kn_error(KERNEST_E_VALUE, "--select discrepancy: the estimated noise level is 0; give --sigma");
            goto done;
        }
        if ((st = run_discrepancy(&c, &cds[0])))
            goto done;
        break;
    case KERNEST_SELECT_LCURVE:
        snprintf(sel->rule, sizeof sel->rule, "lcurve");
        if ((st = run_lcurve(&c, &cds[0])))
            goto done;
        break;
    }
    /* the final solve: all the data, the chosen options, the user's tolerance, warm-started */
    cand *w = &cds[sel->chosen];
    sel->opt = w->opt;
    sel->opt.lambda = sel->cands[sel->chosen].lambda;
    sel->opt.l1 = sel->cands[sel->chosen].l1;
    if ((st = kn_session_solve(s, &sel->opt, w->best_x ? w->best_x : w->xw[0], &sel->fit)))
        goto done;
    count(&c, &sel->fit, &sel->cands[sel->chosen].solves);
done:
    for (size_t i = 0; cds && i < nc; i++)
        cand_free(&cds[i]);
    free(cds);
    for (int k = 0; k < MAX_FOLDS; k++)
        if (c.fold[k].be || c.fold[k].pb.pairs)
            kn_session_close(&c.fold[k]);
    if (c.kv)
        s->be->ops->vec_destroy(s->be, &c.kv);
    if (c.dv)
        s->be->ops->vec_destroy(s->be, &c.dv);
    free(c.fold_of);
    free(c.hk);
    return st;
}

void kn_select_open_options(const kernest_options *opt, kernest_options *out)
{
    *out = *opt;
    if (opt->auto_model) { /* a backend that can run every candidate's priors (each solve checks
                              the memory of its own model again) */
        out->nonneg = 1;
        out->reg = KERNEST_REG_GRAD;
    } else if (opt->auto_lambda && out->reg == KERNEST_REG_NONE)
        out->reg = KERNEST_REG_GRAD;
}
