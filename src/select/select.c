/* select.c — choosing λ and the model from the data on one session: the
 * candidates' set-up, the folds, and the driver kn_select (the rules: select_rules.c; the
 * search along log λ: select_path.c). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "fit/constraints.h"
#include "base/error.h"
#include "base/options.h"
#include "model/model.h"
#include "select_impl.h"
#include "base/rng.h"

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
    cd->grid = spec && spec->grid ? spec->grid : GRID_ALL;
    cd->from_best = spec && spec->from_best;
    kernest_candidate *k = &sel->cands[index];
    snprintf(k->name, sizeof k->name, "%s", spec ? spec->name : "");
    if (!spec)
        snprintf(k->name, sizeof k->name, "%s+%s%s", kernest_model_name(cd->opt.model),
                 cd->opt.nonneg ? "nonneg+" : "", kernest_reg_name(cd->opt.reg));
    k->model = cd->opt.model;
    k->reg = cd->opt.reg;
    k->nonneg = cd->opt.nonneg;
    k->held_score = NAN;
    double lam0 = 1.0;
    kn_model model = {0};
    int st = kn_model_init_nk(&model, cd->opt.model, cd->opt.order, c->s->pb.kh, c->s->pb.kw,
                              kn_problem_kernels(&c->s->pb));
    cd->nx = model.nx; /* lowrank: a half-step's; its fits hold both factors */
    if (cd->opt.model == KERNEST_MODEL_LOWRANK)
        cd->nx = kn_problem_kernels(&c->s->pb) * (size_t)cd->opt.order * (c->s->pb.kh + c->s->pb.kw);
    kn_model_free(&model);
    if (st || (st = sel_lambda_scale(c->s, &cd->opt, c->user->seed + 17 * index, &lam0)))
        return st;
    cd->t0 = log10(lam0);
    return KERNEST_OK;
}


/* The folds: each pair's B is cut into 4×4 blocks, dealt to the K folds in a random (seeded)
 * order; the first nopen folds get a session of their own, fitted on B with that fold's pixels
 * set to NaN, on the session's backend (kn_session_open_fold: one set of plans and spectra of A
 * for every fold, the fold's pixels masked on top of the operator). */
static int cv_setup(ctx *c, const kernest_array *const *A, const kernest_array *const *B, size_t npairs,
                    const kernest_options *open_opt)
{
    kn_session *s = c->s;
    const size_t m = s->pb.m;
    kn_rng rng;
    kn_rng_seed(&rng, c->user->seed * 0x2545f4914f6cdd1dULL + 7);
    int st = KERNEST_OK;
    for (size_t i = 0; i < s->pb.npairs; i++)
        c->ntiles += s->pb.pairs[i].len / (s->pb.pairs[i].hb * s->pb.pairs[i].wb) * TILES * TILES;
    if (!(c->fold_of = malloc(m ? m : 1)) || !(c->hk = malloc((m ? m : 1) * sizeof *c->hk)) ||
        !(c->tile_of = malloc((m ? m : 1) * sizeof *c->tile_of)) ||
        !(c->tile_sse = malloc((c->ntiles ? c->ntiles : 1) * sizeof *c->tile_sse))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the folds");
        goto done;
    }
    size_t tile0 = 0;
    for (size_t i = 0; i < s->pb.npairs; i++) {
        const kn_pair *p = &s->pb.pairs[i];
        /* BLOCKS×BLOCKS contiguous blocks per sample (the same blocks in each output channel),
         * dealt to the folds in a random order (each fold gets its share): held-out blocks, unlike
         * scattered pixels, make the fold's fit predict output its neighbours do not pin down, as
         * fresh data does */
        const size_t bh = (p->hb + BLOCKS - 1) / BLOCKS, bw = (p->wb + BLOCKS - 1) / BLOCKS;
        const size_t plane = p->hb * p->wb;
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
        const size_t th = (p->hb + TILES - 1) / TILES, tw = (p->wb + TILES - 1) / TILES;
        for (size_t j = 0; j < p->len; j++) {
            const size_t jj = j % plane;
            c->fold_of[p->offset + j] = isnan(p->B[j]) ? 255 : bf[(jj / p->wb / bh) * BLOCKS + (jj % p->wb) / bw];
            c->tile_of[p->offset + j] = (unsigned)(tile0 + (j / plane * TILES + jj / p->wb / th) * TILES +
                                                   (jj % p->wb) / tw);
        }
        tile0 += p->len / plane * TILES * TILES;
    }
    c->npairs = npairs;
    for (int k = 0; k < c->nopen; k++) {
        /* each pair's B, shape and all, with the fold's pixels NaN: its samples lie one after
         * another in B's data, in the order of pb.pairs. The fold's session borrows them: they
         * live until kn_select closes it. */
        kernest_array **Bf = c->fold_B[k] = calloc(npairs, sizeof *Bf);
        if (!Bf) {
            st = kn_error(KERNEST_E_NOMEM, "out of memory for the folds");
            goto done;
        }
        for (size_t i = 0; i < npairs; i++)
            if ((st = kernest_array_create(B[i]->ndim, B[i]->shape, &Bf[i])))
                goto done;
        size_t at = 0, prev = (size_t)-1;
        for (size_t i = 0; i < s->pb.npairs; i++) {
            const kn_pair *p = &s->pb.pairs[i];
            if (p->src != prev) {
                at = 0;
                prev = p->src;
            }
            for (size_t j = 0; j < p->len; j++)
                Bf[p->src]->data[at + j] = c->fold_of[p->offset + j] == k ? NAN : p->B[j];
            at += p->len;
        }
        if ((st = kn_session_open_fold(&c->fold[k], s, A, (const kernest_array *const *)Bf, npairs, open_opt)))
            return st;
    }
    const kn_backend_ops *o = s->be->ops;
    if ((st = o->vec_create(s->be, s->pb.n, &c->kv)) || (st = o->vec_create(s->be, m, &c->dv)))
        goto done;
done:
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

/* the options a candidate solves with under the user's */
static kernest_options candidate_options(const kn_candidate_spec *spec, const kernest_options *user)
{
    kernest_options o = *user;
    o.model = spec->model;
    o.reg = spec->reg;
    o.nonneg |= spec->nonneg;
    if (spec->tweak)
        spec->tweak(&o);
    return o;
}

/* 1 when the user's options turn spec into another line of the table, one that says so in its
 * name (--nonneg makes pixel+grad pixel+nonneg+grad: that one is scored, once) */
static int duplicate_candidate(const kn_candidate_spec *spec, const kernest_options *user)
{
    const kernest_options o = candidate_options(spec, user);
    for (size_t j = 0; j < kn_ncandidates; j++) {
        const kn_candidate_spec *t = &kn_candidates[j];
        const kernest_options q = candidate_options(t, user);
        if (t != spec && t->nonneg && !spec->nonneg && q.model == o.model && q.order == o.order &&
            q.reg == o.reg && q.nonneg == o.nonneg && t->from_best == spec->from_best)
            return 1;
    }
    return 0;
}

/* The candidates this problem and the user's own priors admit, in table order: one whose model
 * or constraints refuse them (e.g. a --fix that ties two radial knots) is left out rather than
 * failing the choice, and so is one that duplicates another. */
static size_t usable_candidates(const kn_session *s, const kernest_options *user,
                                const kn_candidate_spec **out)
{
    size_t n = 0;
    for (size_t i = 0; i < kn_ncandidates; i++) {
        const kn_candidate_spec *spec = &kn_candidates[i];
        const kernest_options o = candidate_options(spec, user);
        if (duplicate_candidate(spec, user))
            continue;
        /* lowrank: a rank the kernel can hold */
        if (o.model == KERNEST_MODEL_LOWRANK && ((size_t)o.order > s->pb.kh || (size_t)o.order > s->pb.kw))
            continue;
        kn_model m;
        kn_constraints c = {0};
        int st = kn_model_init_nk(&m, o.model, o.order, s->pb.kh, s->pb.kw, kn_problem_kernels(&s->pb));
        if (!st)
            st = kn_constraints_build(&o, &m, &c);
        kn_constraints_free(&c);
        kn_model_free(&m);
        if (!st)
            out[n++] = spec;
    }
    kn_error_clear();
    return n;
}

int kn_select(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
              size_t npairs, const kernest_options *opt, kn_selection *sel)
{
    return kn_select_confirmed(s, A, B, npairs, opt, NULL, sel);
}

int kn_select_confirmed(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                        size_t npairs, const kernest_options *opt, kn_session *held, kn_selection *sel)
{
    memset(sel, 0, sizeof *sel);
    int st = kn_options_check_select(opt);
    if (st)
        return st;
    const kn_candidate_spec **specs = calloc(kn_ncandidates, sizeof *specs);
    if (!specs)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the selection");
    const size_t nc = opt->auto_model ? usable_candidates(s, opt, specs) : 1;
    if (nc == 0) {
        free(specs);
        return kn_error(KERNEST_E_INVALID, "--model auto: no candidate model admits these constraints "
                        "(give --model)");
    }
    ctx c = {.s = s, .sel = sel, .user = opt, .tol = fmax(opt->tol, PATH_TOL), .held = held};
    const double t0 = kn_now();
    const long a0 = s->be->applications;
    cand *cds = calloc(nc, sizeof *cds);
    sel->cands = calloc(nc, sizeof *sel->cands);
    sel->path = calloc(MAX_POINTS, sizeof *sel->path);
    sel->ncands = nc;
    if (!cds || !sel->cands || !sel->path) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the selection");
        goto done;
    }
    for (size_t i = 0; i < nc; i++) { /* λ's scale costs operator applications: the candidate's */
        const long a = s->be->applications;
        if ((st = cand_init(&c, &cds[i], i, opt->auto_model ? specs[i] : NULL)))
            goto done;
        sel->cands[i].applications += s->be->applications - a;
    }
    sel->sigma = opt->sigma;
    switch (opt->select) {
    case KERNEST_SELECT_CV: {
        /* one share of the budget per (candidate, scored fold): each λ costs nfold solves */
        c.nfold = opt->cv_folds < BUDGET_FOLDS ? opt->cv_folds : BUDGET_FOLDS;
        const int paths = (int)nc * (opt->auto_l1 ? 2 : 1);
        while (c.nfold > 1 && (KN_SELECT_BUDGET - 1) / (paths * c.nfold) < 4)
            c.nfold--;
        c.nopen = c.nfold;
        if (nc > 1 && !opt->auto_l1 && opt->cv_folds > c.nfold) {
            /* then the finalists' λ on every fold (sel_run_cv): beyond the budget, at most one run
             * per candidate and fold */
            c.nopen = opt->cv_folds < MAX_FOLDS ? opt->cv_folds : MAX_FOLDS;
            snprintf(sel->rule, sizeof sel->rule, "cv:%d (%d folds, finalists)", opt->cv_folds, c.nopen);
        } else
            snprintf(sel->rule, sizeof sel->rule, "cv:%d (%d fold%s scored)", opt->cv_folds, c.nfold,
                     c.nfold > 1 ? "s" : "");
        kernest_options oo;
        kn_select_open_options(opt, &oo);
        if ((st = cv_setup(&c, A, B, npairs, &oo)) || (st = sel_run_cv(&c, cds, nc)))
            goto done;
        /* on a window: close contenders' capped FISTA fits finished, then a choice whose score
         * comes from fits stopped at a cap checked on held data */
        if (held && nc > 1 && (st = sel_finish_capped(&c, cds, nc)))
            goto done;
        if (held && nc > 1 && sel->cands[sel->chosen].capped > 0 && (st = sel_confirm(&c, cds, nc)))
            goto done;
        break;
    }
    case KERNEST_SELECT_GCV:
        snprintf(sel->rule, sizeof sel->rule, "gcv (%d probes)", opt->probes);
        if ((st = sel_run_gcv(&c, &cds[0], (KN_SELECT_BUDGET - 1) / (1 + opt->probes))))
            goto done;
        sel->sigma_estimated = opt->sigma == 0;
        if (opt->sigma > 0)
            sel->sigma = opt->sigma;
        break;
    case KERNEST_SELECT_DISCREPANCY:
        snprintf(sel->rule, sizeof sel->rule, "discrepancy");
        if (opt->sigma == 0) { /* σ² = ‖r‖²/(m − tr H_λ) at the gcv choice (3 gcv points) */
            if ((st = sel_run_gcv(&c, &cds[0], 3)))
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
        if ((st = sel_run_discrepancy(&c, &cds[0])))
            goto done;
        break;
    case KERNEST_SELECT_LCURVE:
        snprintf(sel->rule, sizeof sel->rule, "lcurve");
        if ((st = sel_run_lcurve(&c, &cds[0])))
            goto done;
        break;
    }
    /* the final solve: all the data, the chosen options, the user's tolerance (warm-started for CGLS) */
    sel->apps_select = sel_applications(&c) - a0;
    sel->secs_select = kn_now() - t0;
    const double t1 = kn_now();
    const long a1 = s->be->applications;
    cand *w = &cds[sel->chosen];
    sel->opt = w->opt;
    sel->opt.lambda = sel->cands[sel->chosen].lambda;
    sel->opt.l1 = sel->cands[sel->chosen].l1;
    kn_session_phase(s, "final: %s, %s %.3g", sel->cands[sel->chosen].name, sel->opt.l1 > 0 ? "l1" : "lambda",
                     sel->opt.l1 > 0 ? sel->opt.l1 : sel->opt.lambda);
    st = kn_session_solve(s, &sel->opt, sel_start(&sel->opt, w->best_x ? w->best_x : w->xw[0]), &sel->fit);
    kn_session_phase(s, NULL);
    if (st)
        goto done;
    sel_count(&c, &sel->fit, &sel->cands[sel->chosen]);
    sel->apps_final = s->be->applications - a1;
    sel->secs_final = kn_now() - t1;
done:
    for (size_t i = 0; cds && i < nc; i++)
        sel_cand_free(&cds[i]);
    free(cds);
    for (int k = 0; k < MAX_FOLDS; k++) {
        if (c.fold[k].be || c.fold[k].pb.pairs)
            kn_session_close(&c.fold[k]);
        for (size_t i = 0; c.fold_B[k] && i < c.npairs; i++) /* after the session that borrows them */
            kernest_array_destroy(&c.fold_B[k][i]);
        free(c.fold_B[k]);
    }
    if (c.kv)
        s->be->ops->vec_destroy(s->be, &c.kv);
    if (c.dv)
        s->be->ops->vec_destroy(s->be, &c.dv);
    free(c.fold_of);
    free(c.tile_of);
    free(c.tile_sse);
    free(c.hk);
    free(specs);
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

