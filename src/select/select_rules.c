/* select_rules.c — the rules that score λ: cv (folds of B), gcv (Hutchinson trace), the
 * discrepancy principle and the L-curve, each on a warm-started path within the solve budget. */
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

/* ---- scores of one λ ------------------------------------------------------------------------ */

/* Σ over the ntiles tiles of held-out squared errors: the held-out count times the score */
static double tiles_total(const ctx *c, const double *tiles)
{
    double s = 0.0;
    for (size_t t = 0; t < c->ntiles; t++)
        s += tiles[t];
    return s;
}

/* cv: fit on each scored fold (its held-out pixels are NaN in that fold's session) and score
 * the held-out pixels with H K computed on all pixels of the full session; the folds c->carry
 * holds are not solved again */
int sel_eval_cv(ctx *c, cand *cd, double lam, double *score)
{
    kn_session *s = c->s;
    const kn_backend_ops *o = s->be->ops;
    kernest_options op = cd->opt;
    if (cd->vary_l1)
        op.l1 = lam;
    else
        op.lambda = lam;
    op.tol = kn_options_is_linear(&op) ? c->tol : c->user->tol; /* FISTA: the final solve's test */
    if (op.model == KERNEST_MODEL_LOWRANK && op.outer_maxiter > LOWRANK_PATH_SWEEPS)
        op.outer_maxiter = LOWRANK_PATH_SWEEPS;
    double sse = c->carry.tiles ? tiles_total(c, c->carry.tiles) : 0.0, rss = c->carry.rss;
    size_t cnt = c->carry.cnt;
    int iters = 0, st;
    kn_fit f = {0};
    if (c->carry.tiles)
        memcpy(c->tile_sse, c->carry.tiles, c->ntiles * sizeof *c->tile_sse);
    else
        memset(c->tile_sse, 0, c->ntiles * sizeof *c->tile_sse);
    for (int k = c->carry.folds; k < c->nfold; k++) {
        kn_session_phase(&c->fold[k], "choosing: %s, %s %.3g, fold %d/%d", c->sel->cands[cd->index].name,
                         cd->vary_l1 ? "l1" : "lambda", lam, k + 1, c->nfold);
        if ((st = kn_session_solve(&c->fold[k], &op, sel_start(&op, cd->xw[k]), &f)))
            goto done;
        sel_count(c, &f, &c->sel->cands[cd->index]);
        iters += f.res.iterations;
        rss += sel_rss_of(&c->fold[k], f.hx);
        if ((st = o->vec_upload(s->be, c->kv, f.K)) || (st = o->op_apply(s->be, c->kv, c->dv)) ||
            (st = o->vec_download(s->be, c->dv, c->hk)))
            goto done;
        if (f.beta) /* --background: the fold's offsets are part of its prediction of the held-out
                       pixels (without them the score and σ̂ would hold the offset) */
            kn_background_add(&s->pb, f.beta, c->hk);
        for (size_t j = 0; j < s->pb.m; j++)
            if (c->fold_of[j] == k) {
                double d = c->hk[j] - s->host_b[j];
                sse += d * d;
                c->tile_sse[c->tile_of[j]] += d * d;
                cnt++;
            }
        if ((st = sel_keep_x(&cd->xw[k], &f)))
            goto done;
        kn_fit_free(&f);
    }
    st = sel_record_cv(c, cd, op.lambda, op.l1, sse, cnt, rss, iters, score);
done:
    kn_fit_free(&f);
    return st;
}

int sel_record_cv(ctx *c, cand *cd, double lam, double l1, double sse, size_t cnt, double rss, int iters,
                  double *score)
{
    *score = cnt ? sse / (double)cnt : INFINITY;
    cd->nscored = c->nfold;
    double *tl = realloc(cd->tiles, (cd->np + 1) * (c->ntiles ? c->ntiles : 1) * sizeof *tl);
    if (!tl)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the scores");
    cd->tiles = tl;
    memcpy(tl + cd->np * c->ntiles, c->tile_sse, c->ntiles * sizeof *tl);
    /* fold 0's fit at this λ, unless fold 0 was carried (best_x holds its fit at the scored λ) */
    int st;
    if (!c->carry.folds && *score < cd->best_score &&
        (st = sel_keep_x(&cd->best_x, &(kn_fit){.model.nx = cd->nx, .x = cd->xw[0]})))
        return st;
    return sel_add_point(c, cd->index, lam, l1, *score, rss, (double)c->nfold, iters);
}

/* gcv: one solve on all the data and one per probe: m ‖r‖² / (m − t)² */
static int sel_eval_gcv(ctx *c, cand *cd, double lam, double *score)
{
    kernest_options op = cd->opt;
    op.lambda = lam;
    op.tol = c->tol;
    kn_fit f = {0};
    long it = 0;
    double t;
    const double m = (double)sel_observed(c->s);
    kn_session_phase(c->s, "choosing: %s, lambda %.3g (gcv)", c->sel->cands[cd->index].name, lam);
    int st = kn_session_solve(c->s, &op, cd->xw[0], &f);
    if (st)
        goto done;
    sel_count(c, &f, &c->sel->cands[cd->index]);
    const double rss = sel_rss_of(c->s, f.hx);
    if ((st = sel_keep_x(&cd->xw[0], &f)) ||
        (st = kn_trace_hutchinson(c->s, &op, NULL, c->user->probes, c->user->seed, cd->xp, &t, NULL, &it)))
        goto done;
    for (int p = 0; p < c->user->probes; p++)
        c->sel->solves++, c->sel->cands[cd->index].solves++;
    c->sel->iterations += it;
    *score = m > t ? m * rss / ((m - t) * (m - t)) : INFINITY;
    if (*score < cd->best_score) {
        if ((st = sel_keep_x(&cd->best_x, &f)))
            goto done;
        c->sel->sigma = m > t ? sqrt(rss / (m - t)) : 0.0; /* Wahba's estimate at the best λ */
    }
    st = sel_add_point(c, cd->index, lam, op.l1, *score, rss, t, f.res.iterations + (int)it);
done:
    kn_fit_free(&f);
    return st;
}


/* ---- the rules -------------------------------------------------------------------------------- */

/* A lowrank candidate's start on each scored fold: the leading factors of the kernel that the
 * best candidate so far fitted on that fold (its best λ on fold 0, its last on the others). Its
 * alternating least squares then descends from an estimate the score has already found good
 * rather than from a short pixel estimate; neither start is always the better one
 * (bench/results/auto-trials-2026-11-22.txt), hence both lines in the table. None when no other
 * candidate has been scored. */
static int lowrank_start(ctx *c, cand *cds, size_t i)
{
    cand *cd = &cds[i];
    size_t b = i;
    for (size_t j = 0; j < i; j++)
        if (cds[j].opt.model != KERNEST_MODEL_LOWRANK && (b == i || cds[j].best_score < cds[b].best_score))
            b = j;
    if (b == i)
        return KERNEST_OK;
    const kn_problem *pb = &c->s->pb;
    const size_t nk = kn_problem_kernels(pb);
    kn_model m;
    int st = kn_model_init_nk(&m, cds[b].opt.model, cds[b].opt.order, pb->kh, pb->kw, nk);
    if (st)
        return st;
    double *K = malloc(pb->n * sizeof *K);
    for (int k = 0; K && !st && k < c->nfold; k++) {
        const double *x = k == 0 && cds[b].best_x ? cds[b].best_x : cds[b].xw[k];
        if (!x)
            continue;
        if (!cd->xw[k] && !(cd->xw[k] = malloc(cd->nx * sizeof *cd->xw[k])))
            st = kn_error(KERNEST_E_NOMEM, "out of memory for a lowrank start");
        else {
            kn_model_kernel(&m, x, K);
            kn_lowrank_start(K, nk, pb->kh, pb->kw, cd->opt.order, cd->opt.nonneg, cd->xw[k]);
        }
    }
    if (!K)
        st = kn_error(KERNEST_E_NOMEM, "out of memory for a lowrank start");
    free(K);
    kn_model_free(&m);
    return st;
}

/* A contender whose minimum along log λ is not bracketed: its own best λ is the smallest or the
 * largest it has evaluated (or it has one point), so its score may still fall past that edge, and
 * either its score is within CONTEND of the best candidate's (or it is the best) or it is falling
 * steeply there: from the point next to that edge to the edge it fell by at least the factor it
 * trails the best by, so one more step at that rate would reach it. The lowest-scoring such
 * candidate, or -1.
 * Close: on the original question's problem at N = 512 radial stopped at its grid's lower edge
 * 1.4 % above harmonic:2's score, every point left went to harmonic:2, and it was chosen
 * (held-out 1.0134σ); with a point past radial's edge radial scored best.
 * Steep: on a binary A with exp:3,3,0 at N = 512 and 1 % noise (far field left in,
 * select_reduce.c) radial's path ended at its grid's lower edge 2.4× behind lowrank:2@best, its
 * score falling 3.2× over the last half decade; every point left went to lowrank (3.12σ held-out);
 * given the next point radial scores best and is chosen (1.10σ; bench/results/white-far-field.txt).
 * Best first: on bench/wide_wing.py's fractal input, radial led at its grid's edge, and points
 * given to harmonic:2 first took it out of the 25 % (harmonic:2 was chosen: 1.53σ against
 * radial's 1.41). */
#define CONTEND 0.25
int sel_unbracketed_contender(const cand *cds, size_t nc, size_t best)
{
    int pick = -1;
    for (size_t i = 0; i < nc; i++) {
        const cand *cd = &cds[i];
        if (!cd->np || (pick >= 0 && !(cd->best_score < cds[pick].best_score)))
            continue;
        int below = 0, above = 0;
        double gap = INFINITY, next = 0.0; /* the point next to the best along log λ */
        for (size_t j = 0; j < cd->np; j++) {
            below |= cd->t[j] < cd->best_t;
            above |= cd->t[j] > cd->best_t;
            if (cd->t[j] != cd->best_t && fabs(cd->t[j] - cd->best_t) < gap) {
                gap = fabs(cd->t[j] - cd->best_t);
                next = cd->f[j];
            }
        }
        const double trails = cd->best_score / cds[best].best_score;
        const int close = trails <= 1 + CONTEND, steep = isfinite(gap) && next / cd->best_score >= trails;
        if ((!below || !above) && (close || steep))
            pick = (int)i;
    }
    return pick;
}

int kn_paired_difference(const double *a, const double *b, size_t n, double *diff, double *se)
{
    double sum = 0.0, sq = 0.0;
    size_t T = 0;
    for (size_t t = 0; t < n; t++)
        if (a[t] != 0.0 || b[t] != 0.0) {
            sum += a[t] - b[t];
            T++;
        }
    if (T < 2)
        return 1;
    for (size_t t = 0; t < n; t++)
        if (a[t] != 0.0 || b[t] != 0.0) {
            const double d = a[t] - b[t] - sum / (double)T;
            sq += d * d;
        }
    *diff = sum;
    *se = sqrt((double)T * sq / (double)(T - 1));
    return 0;
}

/* The held-out errors per tile of cd's chosen point (best_t; its last score there, on every fold
 * for a finalist), or NULL. */
static const double *tiles_at_choice(const ctx *c, const cand *cd)
{
    for (size_t j = cd->np; cd->tiles && j-- > 0;)
        if (cd->t[j] == cd->best_t)
            return cd->tiles + j * c->ntiles;
    return NULL;
}

/* Candidate i's held-out errors against b's, tile by tile at their chosen points: the
 * difference of their sums and its standard error (kn_paired_difference), and that error in the
 * score's units for the report (*se_score); 1, with nothing written, when either has no tiles or
 * the tiles cannot measure a spread. */
static int paired_to(const ctx *c, const cand *cds, size_t i, size_t b, double *diff, double *se,
                     double *se_score)
{
    const double *ti = tiles_at_choice(c, &cds[i]), *tb = tiles_at_choice(c, &cds[b]);
    if (!ti || !tb || kn_paired_difference(ti, tb, c->ntiles, diff, se))
        return 1;
    const double sb = tiles_total(c, tb); /* the held-out count times b's score */
    *se_score = sb > 0 ? *se * cds[b].best_score / sb : 0.0;
    return 0;
}

/* The one-standard-error rule, paired: the candidate with the fewest unknowns whose held-out error
 * exceeds the best candidate's by at most one standard error of that difference and by at most
 * MODEL_TIE, or best itself. The difference is taken tile by tile on the same held-out pixels
 * (tiles as batch means; the candidates' errors are strongly correlated, so pairing resolves far
 * smaller differences than comparing two scores with their own errors would). Each candidate's
 * standard error goes to the report (kernest_candidate.score_se). A score that cannot tell a
 * simpler model from a richer one keeps the simpler: radial+grad against harmonic:2+grad, which
 * holds the radial profile as its m = 0 term, on a radial kernel. Only candidates scored on the
 * same folds are compared.
 * Then structure must earn its place: a structured pick (a profile or low-rank model, or a
 * constraint the user did not ask for) gives way to the unstructured pixel+grad when it does not
 * beat it by more than one standard error. The held-out blocks share A with the fit, so the
 * score cannot see an error that hides where A's spectrum is small; a misspecified model with
 * few unknowns can put its misfit there. On test_select's smooth signed kernel (three blobs, a
 * 24² pair) harmonic:2+grad's exact minimiser at λ 7.7 scored 1.065 on the five folds against
 * pixel+grad's 1.115 (standard error 0.32), and predicted a fresh pair 1.9× worse; its best λ on
 * fresh data was 40× larger, where the held-out blocks scored it 40 % worse. (The λ paths' CGLS
 * solves, stopped early, had hidden this: their harmonic scores were 1.32.) */
/* On a 24² pair one fold's held-out errors are too few to resolve a 10 % difference (harmonic:2
 * scored 1.32 against pixel+grad's 1.20, one standard error 3× the difference), yet on fresh data
 * its estimate was 2.6× worse (test_select, model_auto_for_a_smooth_signed_kernel…): statistical
 * indistinction alone is not enough, the scores must also be practically equal. */
#define MODEL_TIE 0.02
size_t sel_simplest_equivalent(const ctx *c, const cand *cds, size_t nc, size_t best)
{
    size_t pick = best;
    for (size_t i = 0; i < nc; i++) {
        double diff, se;
        if (i == best || !isfinite(cds[i].best_score) || cds[i].nscored != cds[best].nscored ||
            paired_to(c, cds, i, best, &diff, &se, &c->sel->cands[cds[i].index].score_se))
            continue;
        if (cds[i].nx < cds[pick].nx && diff <= se && cds[i].best_score <= cds[best].best_score * (1 + MODEL_TIE))
            pick = i;
    }
    /* structure must earn its place: the unstructured candidate (pixel+grad, with the user's own
     * constraints) is kept unless the pick beats it by more than one standard error */
    const int nn = c->user->nonneg;
    if (cds[pick].opt.model != KERNEST_MODEL_PIXEL || cds[pick].opt.nonneg != nn)
        for (size_t i = 0; i < nc; i++) {
            double diff, se, se_score;
            if (cds[i].opt.model == KERNEST_MODEL_PIXEL && cds[i].opt.nonneg == nn &&
                cds[i].nscored == cds[pick].nscored && isfinite(cds[i].best_score) &&
                !paired_to(c, cds, i, pick, &diff, &se, &se_score) && diff <= se)
                return i;
        }
    return pick;
}

/* The held-out errors of cd's point at its best λ on the nscored folds it was scored on, as
 * sel_eval_cv's carry; 0 when that point's tiles or path entry are not found (then every fold
 * is solved again). */
static int scored_point(const ctx *c, const cand *cd, int nscored, fold_carry *carry)
{
    const double *tiles = tiles_at_choice(c, cd);
    const double lam = pow(10.0, cd->best_t);
    const kernest_path_point *pt = NULL;
    for (size_t i = c->sel->npath; i-- > 0 && !pt;) {
        const kernest_path_point *q = &c->sel->path[i];
        if (q->candidate == cd->index && q->lambda == lam && q->aux == (double)nscored)
            pt = q;
    }
    if (!tiles || !pt || cd->vary_l1)
        return 0;
    *carry = (fold_carry){.folds = nscored, .rss = pt->rss, .tiles = tiles};
    for (size_t j = 0; j < c->s->pb.m; j++)
        carry->cnt += c->fold_of[j] < nscored;
    return 1;
}

/* A candidate within CONTEND of the best score on the scored folds whose held-out error there
 * exceeds the best one's by more than FINALIST_Z paired standard errors (the tiles of
 * sel_simplest_equivalent, on the same pixels) is behind by more than the scored folds' noise:
 * it is not scored on the other folds. On the original question's problem at N = 128,
 * harmonic:2+grad at 1.26 against radial's 1.04 was 4.1 standard errors behind, and its re-score
 * on the four other folds was 3 192 of the choice's 15 478 operator applications. */
#define FINALIST_Z 3.0
static int clearly_behind(const ctx *c, const cand *cds, size_t i, size_t b)
{
    double diff, se, se_score;
    if (i == b || paired_to(c, cds, i, b, &diff, &se, &se_score) || !(diff > FINALIST_Z * se))
        return 0;
    c->sel->cands[cds[i].index].score_se = se_score; /* the report's: why it is out */
    return 1;
}

/* Successive halving on the folds: the finalists — candidates within
 * CONTEND of the best score on the scored folds — are scored again at their chosen λ on all
 * c->nopen folds (the other folds' fits start from the scored fold's, which decides a lowrank
 * fit's basin; the scored folds' fits at that λ are kept as they were, not solved again), and *b
 * becomes the best of them on every fold. The rest keep their scores and are out: a score on one
 * fold does not compare with one on all. A candidate clearly behind the best on the scored folds
 * (clearly_behind) is out without a re-score. */
static int finalists(ctx *c, cand *cds, size_t nc, size_t *b)
{
    const double bar = cds[*b].best_score * (1 + CONTEND);
    const int nscored = c->nfold;
    int st = KERNEST_OK;
    unsigned char *in = calloc(nc, 1);
    if (!in)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the finalists");
    for (size_t i = 0; i < nc; i++) /* decided before any re-score adds points */
        in[i] = cds[i].np && cds[i].best_score <= bar && cds[i].np < MAX_POINTS && !clearly_behind(c, cds, i, *b);
    c->nfold = c->nopen;
    for (size_t i = 0; i < nc && !c->interrupted; i++) {
        cand *cd = &cds[i];
        if (!in[i])
            continue;
        const double *x0 = cd->best_x ? cd->best_x : cd->xw[0];
        for (int k = nscored; x0 && k < c->nopen; k++)
            if (!cd->xw[k] && (st = sel_keep_x(&cd->xw[k], &(kn_fit){.model.nx = cd->nx, .x = (double *)x0})))
                goto done;
        const double t = kn_now();
        const long a = sel_applications(c);
        double score;
        fold_carry carry;
        if (scored_point(c, cd, nscored, &carry))
            c->carry = carry;
        st = sel_eval_cv(c, cd, pow(10.0, cd->best_t), &score);
        c->carry = (fold_carry){0};
        if (st)
            goto done;
        sel_rescored(c, cd, score, a, t);
    }
    for (size_t i = 0; i < nc; i++)
        if (cds[i].nscored == c->nopen && (cds[*b].nscored != c->nopen || cds[i].best_score < cds[*b].best_score))
            *b = i;
done:
    free(in);
    return st;
}

/* the lowest and highest of a grid mask's bits (sel_grid_t: the largest and the smallest λ) */
static int first_bit(int grid)
{
    int i = 0;
    while (i < 2 && !(grid >> i & 1))
        i++;
    return i;
}

static int last_bit(int grid)
{
    int i = 2;
    while (i > 0 && !(grid >> i & 1))
        i--;
    return i;
}

/* The order the candidates' paths run in: the linear ones first (runs_first: their paths cost a
 * Krylov subspace per fold, or CGLS solves that converge), then the others in table order, each
 * with the bar of sel_search_min's trails(): KN_CONFIRM_BAND × the best score before it
 * (trail_bar). A candidate whose fit stopped at its cap (a non-negative FISTA solve at --maxiter,
 * a lowrank fit's sweeps) and scores beyond that band is one the window's checks would not weigh
 * (sel_finish_capped), and its other coarse points are not scored: on the original question's
 * problem at N = 256 pixel+nonneg+grad's first point scored 1.54× behind radial+grad, and its
 * second, about 1 050 of the choice's 4 526 applications, scored worse (README, "--model auto",
 * *Far behind*). */
static int runs_first(const cand *cd)
{
    return kn_options_is_linear(&cd->opt) && cd->opt.model != KERNEST_MODEL_LOWRANK;
}

static double trail_bar(const cand *cds, size_t nc)
{
    double best = INFINITY;
    for (size_t i = 0; i < nc; i++)
        if (cds[i].np)
            best = fmin(best, cds[i].best_score);
    return isfinite(best) ? KN_CONFIRM_BAND * best : 0.0;
}

/* cv over the candidates: each gets an equal share of the budget (the coarse points, then
 * refinement); when that share is below the 3 coarse points, each gets its table line's grid
 * points instead, if the budget holds them all (a capped candidate far behind the ones scored
 * before it gets fewer: runs_first, above). What is left goes, a point at a time, first to contenders whose
 * minimum is not bracketed (sel_unbracketed_contender), then to the best one; the final solve
 * is kept out of the share. */
int sel_run_cv(ctx *c, cand *cds, size_t nc)
{
    const int paths = c->user->auto_l1 ? 2 : 1;
    const int per = (KN_SELECT_BUDGET - 1) / ((int)nc * paths * c->nfold);
    int want = 0, st;
    for (size_t i = 0; i < nc; i++)
        want += sel_grid_points(cds[i].grid) * paths * c->nfold;
    const int own = per < 3 && want <= KN_SELECT_BUDGET - 1; /* the table's grids */
    c->cands = cds;
    c->ncands = nc;
    int charged = 0; /* the shares: a path in Krylov subspaces is charged its share too, though its
                        points cost no solve, so that what is left for contenders is the same */
    for (size_t j = 0; j < 2 * nc; j++) { /* the linear candidates, then the others */
        const size_t i = j % nc;
        if (runs_first(&cds[i]) != (j < nc))
            continue;
        const double t = kn_now();
        const long a = sel_applications(c);
        const int npts = own ? sel_grid_points(cds[i].grid) : per;
        int hy;
        if (cds[i].from_best && cds[i].opt.model == KERNEST_MODEL_LOWRANK && (st = lowrank_start(c, cds, i)))
            return st;
        if ((st = sel_hybrid_ready(c, &cds[i], &hy)))
            return st;
        /* in subspaces: every half decade over the span of the coarse grid it would have had,
         * then 2 points of refinement inside it; else the share's points. The span stays the
         * grid's: scored past it (the minimiser at λ₀·10⁻⁷ on bench/wide_wing.py's cases), the
         * profile models' folds scored as well as pixel+nonneg+grad and radial+grad was chosen,
         * 6.5σ held-out against 1.10σ (bench/results/hybrid-path.txt) */
        const int g = own ? cds[i].grid : GRID_ALL;
        c->trail_bar = runs_first(&cds[i]) ? 0.0 : trail_bar(cds, nc);
        st = hy ? sel_search_grid(c, &cds[i], sel_eval_path, sel_grid_t(&cds[i], first_bit(g)),
                                  sel_grid_t(&cds[i], last_bit(g)), 0.5, 2)
                : sel_search_min(c, &cds[i], sel_eval_path, npts, g);
        c->trail_bar = 0.0;
        if (st)
            return st;
        charged += npts * c->nfold;
        sel_cand_done(c, &cds[i]);
        c->sel->cands[cds[i].index].applications += sel_applications(c) - a;
        c->sel->cands[cds[i].index].seconds += kn_now() - t;
    }
    size_t b = 0;
    for (int extra = c->user->auto_l1 ? 0 : (KN_SELECT_BUDGET - 1 - charged) / c->nfold;; extra--) {
        b = 0;
        for (size_t i = 1; i < nc; i++)
            if (cds[i].best_score < cds[b].best_score)
                b = i;
        if (extra <= 0 || c->interrupted)
            break;
        const int u = sel_unbracketed_contender(cds, nc, b);
        cand *cd = &cds[u >= 0 ? (size_t)u : b];
        const double t = kn_now();
        const long a = sel_applications(c);
        if ((st = sel_search_min(c, cd, sel_eval_path, 1, 0)))
            return st;
        c->sel->cands[cd->index].applications += sel_applications(c) - a;
        c->sel->cands[cd->index].seconds += kn_now() - t;
        sel_cand_done(c, cd);
    }
    if (c->nopen > c->nfold && !c->user->auto_l1 && (st = finalists(c, cds, nc, &b)))
        return st;
    if (nc > 1)
        b = sel_simplest_equivalent(c, cds, nc, b);
    c->sel->chosen = b;
    if (c->user->auto_l1) { /* then the ℓ1 weight at the chosen λ: a path of its own */
        cand l = cds[b];
        memset(l.xw, 0, sizeof l.xw);
        memset(l.xp, 0, sizeof l.xp);
        l.best_x = NULL;
        l.tiles = NULL;
        l.hy = NULL; /* cds[b]'s; the ℓ1 path solves (FISTA) */
        l.no_hybrid = 1;
        l.np = 0;
        l.best_score = INFINITY;
        l.vary_l1 = 1;
        l.opt.lambda = c->sel->cands[b].lambda;
        double m1 = 0.0;
        if ((st = sel_l1_scale(c->s, &l.opt, &m1)))
            return st;
        l.t0 = log10(m1 > 0 ? m1 : 1.0) - 1.0; /* coarse: m1·{1, 10⁻², 10⁻⁴} */
        for (int k = 0; k < MAX_FOLDS; k++) /* warm starts from the λ path's last solutions */
            if (cds[b].xw[k] && (st = sel_keep_x(&l.xw[k], &(kn_fit){.model.nx = l.nx, .x = cds[b].xw[k]})))
                break;
        const int n = (KN_SELECT_BUDGET - 1 - charged) / c->nfold;
        if (!st)
            st = sel_search_min(c, &l, sel_eval_cv, n, GRID_ALL);
        if (!st) {
            sel_cand_done(c, &l);
            if (c->sel->cands[b].l1 > 0) { /* the ℓ1 path won: its solution starts the final solve */
                cds[b].opt.l1 = c->sel->cands[b].l1;
                free(cds[b].best_x);
                cds[b].best_x = l.best_x;
                l.best_x = NULL;
            }
        }
        sel_cand_free(&l);
        if (st)
            return st;
    }
    if (!(c->user->sigma > 0)) { /* held-out MSE = σ² + prediction error: an upper estimate */
        c->sel->sigma = sqrt(cds[b].best_score);
        c->sel->sigma_estimated = 1;
    }
    return KERNEST_OK;
}

int sel_run_gcv(ctx *c, cand *cd, int npts)
{
    int st = sel_search_min(c, cd, sel_eval_gcv, npts, GRID_ALL);
    if (!st)
        sel_cand_done(c, cd);
    return st;
}

/* discrepancy: the λ where ‖r‖² = m σ² (‖r‖² grows with λ), by regula falsi on
 * (log10 λ, log(‖r‖²/mσ²)); on all the data, warm-started along the path */
int sel_run_discrepancy(ctx *c, cand *cd)
{
    kn_session *s = c->s;
    const double target = (double)sel_observed(s) * c->sel->sigma * c->sel->sigma;
    double tt[MAX_POINTS], ff[MAX_POINTS], ratio = 0.0;
    size_t n = 0;
    int st;
    /* points the gcv path already fitted (σ estimated) count too */
    for (size_t i = 0; i < c->sel->npath; i++) {
        tt[n] = log10(c->sel->path[i].lambda);
        ff[n++] = log(c->sel->path[i].rss / target);
    }
    const double coarse[3] = {sel_grid_t(cd, 0), sel_grid_t(cd, 1), sel_grid_t(cd, 2)};
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
        kn_session_phase(s, "choosing: %s, lambda %.3g (discrepancy)", c->sel->cands[cd->index].name, op.lambda);
        if ((st = kn_session_solve(s, &op, sel_start(&op, cd->xw[0]), &f))) {
            kn_fit_free(&f);
            return st;
        }
        sel_count(c, &f, &c->sel->cands[cd->index]);
        const double rss = sel_rss_of(s, f.hx);
        st = sel_keep_x(&cd->xw[0], &f);
        tt[n] = tn;
        ff[n] = log(rss / target);
        if (!st && fabs(ff[n]) < cd->best_score) {
            cd->best_score = fabs(ff[n]);
            ratio = rss / target;
            cd->best_t = tn;
            st = sel_keep_x(&cd->best_x, &f);
        }
        n++;
        if (!st)
            st = sel_add_point(c, cd->index, op.lambda, op.l1, rss / target, rss, 0.0, f.res.iterations);
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
    sel_cand_done(c, cd);
    c->sel->cands[cd->index].score = ratio; /* ‖r‖²/(mσ²) at the choice */
    return KERNEST_OK;
}

/* lcurve: 7 points a decade apart, then 2 at ±½ decade around the corner; the corner is the
 * point of maximum |curvature| of (log ‖r‖², log ‖L K‖²) as functions of log λ */
int sel_run_lcurve(ctx *c, cand *cd)
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
            kn_session_phase(s, "choosing: %s, lambda %.3g (lcurve)", c->sel->cands[cd->index].name, op.lambda);
            if (!(st = kn_session_solve(s, &op, sel_start(&op, cd->xw[0]), &f))) {
                sel_count(c, &f, &c->sel->cands[cd->index]);
                tt[n] = pts[i];
                const double rss = sel_rss_of(s, f.hx);
                if (!(st = sel_prior_norm(s, &op, &f, &pn)) && !(st = sel_keep_x(&cd->xw[0], &f)) &&
                    !(st = sel_keep_x(&xs[n], &f))) {
                    rho[n] = log(fmax(rss, 1e-300));
                    eta[n] = log(fmax(pn, 1e-300));
                    st = sel_add_point(c, cd->index, op.lambda, op.l1, 0.0, rss, pn, f.res.iterations);
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
        st = sel_keep_x(&cd->best_x, &(kn_fit){.model.nx = cd->nx, .x = xs[b]});
        sel_cand_done(c, cd);
    }
    for (int i = 0; i < 16; i++)
        free(xs[i]);
    return st;
}

