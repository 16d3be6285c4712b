/* select_confirm.c — capped fits weighed when the choice runs on B's central window: a close
 * contender whose FISTA fits stopped at --maxiter is scored again with the final solve's cap, and
 * a choice from capped fits is checked on B's held windows: the kernels of the candidates that
 * scored close to it (each one's fit on the first fold at its λ, the fit its score began with)
 * predict windows of B elsewhere that no fit has seen, and the lowest prediction error is chosen,
 * the cv choice on a tie (select_reduce.c opens the held windows' session). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/options.h"
#include "model/lowrank.h"
#include "select_impl.h"

/* K (kh*kw) of candidate cd's unknowns x on session s: a lowrank fit holds both factors [U; V] */
static int kernel_of(const kn_session *s, const cand *cd, const double *x, double *K)
{
    const size_t kh = s->pb.kh, kw = s->pb.kw;
    if (cd->opt.model == KERNEST_MODEL_LOWRANK) {
        kn_lowrank_kernel(x, x + (size_t)cd->opt.order * kh, cd->opt.order, kh, kw, K);
        return KERNEST_OK;
    }
    kn_model m;
    const int st = kn_model_init_nk(&m, cd->opt.model, cd->opt.order, kh, kw, 1);
    if (!st)
        kn_model_kernel(&m, x, K);
    kn_model_free(&m);
    return st;
}

/* The mean squared error of the held windows' observed pixels predicted from hx = H K; with
 * --background each held window's own offset (its mean residual) comes off first. */
static double held_mse(const kn_session *h, int background, const double *hx)
{
    double sse = 0.0;
    size_t cnt = 0;
    for (size_t i = 0; i < h->pb.npairs; i++) {
        const kn_pair *p = &h->pb.pairs[i];
        const double *b = h->host_b + p->offset, *y = hx + p->offset;
        double mean = 0.0, s = 0.0;
        for (size_t j = 0; background && j < p->len; j++)
            mean += isnan(p->B[j]) ? 0.0 : b[j] - y[j];
        mean = p->nobs ? mean / (double)p->nobs : 0.0;
        for (size_t j = 0; j < p->len; j++)
            if (!isnan(p->B[j])) {
                const double d = b[j] - y[j] - mean;
                s += d * d;
            }
        sse += s;
        cnt += p->nobs;
    }
    return cnt ? sse / (double)cnt : NAN;
}

int sel_confirm(ctx *c, cand *cds, size_t nc)
{
    kn_selection *sel = c->sel;
    kn_session *h = c->held;
    const kn_backend_ops *o = h->be->ops;
    const double band = KN_CONFIRM_BAND * sel->cands[sel->chosen].score;
    double *K = malloc(c->s->pb.n * sizeof *K), *hx = malloc((h->pb.m ? h->pb.m : 1) * sizeof *hx);
    kn_vec *kv = NULL, *dv = NULL;
    int st = K && hx ? KERNEST_OK : kn_error(KERNEST_E_NOMEM, "out of memory for the held windows");
    if (!st && !(st = o->vec_create(h->be, h->pb.n, &kv)))
        st = o->vec_create(h->be, h->pb.m, &dv);
    for (size_t i = 0; !st && i < nc; i++) {
        kernest_candidate *k = &sel->cands[i];
        const double *x = cds[i].best_x ? cds[i].best_x : cds[i].xw[0];
        if (!x || !(isfinite(k->score) && k->score <= band))
            continue;
        const long a = h->be->applications;
        if ((st = kernel_of(c->s, &cds[i], x, K)) || (st = o->vec_upload(h->be, kv, K)) ||
            (st = o->op_apply(h->be, kv, dv)) || (st = o->vec_download(h->be, dv, hx)))
            break;
        k->held_score = held_mse(h, c->user->background, hx);
        k->applications += h->be->applications - a;
        c->held_apps += h->be->applications - a;
    }
    /* the lowest held score; the cv choice keeps a tie (a NaN score is never lower) */
    const size_t cv = sel->chosen;
    double lowest = isnan(sel->cands[cv].held_score) ? INFINITY : sel->cands[cv].held_score;
    for (size_t i = 0; !st && i < nc; i++)
        if (sel->cands[i].held_score < lowest) {
            lowest = sel->cands[i].held_score;
            sel->chosen = i;
        }
    if (kv)
        o->vec_destroy(h->be, &kv);
    if (dv)
        o->vec_destroy(h->be, &dv);
    free(K);
    free(hx);
    return st;
}

int sel_finish_capped(ctx *c, cand *cds, size_t nc)
{
    kn_selection *sel = c->sel;
    const size_t b = sel->chosen;
    const double band = KN_CONFIRM_BAND * sel->cands[b].score;
    size_t best = b;
    for (size_t i = 0; i < nc && !c->interrupted; i++) {
        cand *cd = &cds[i];
        kernest_candidate *k = &sel->cands[i];
        if (i == b || !cd->np || cd->np >= MAX_POINTS || !(k->capped > 0) || !(k->score <= band) ||
            cd->opt.model == KERNEST_MODEL_LOWRANK || kn_options_is_linear(&cd->opt))
            continue;
        const double t = kn_now();
        const long a = sel_applications(c);
        const int maxiter = cd->opt.maxiter;
        double score;
        cd->opt.maxiter = kn_final_maxiter(maxiter);
        int st = sel_eval_cv(c, cd, pow(10.0, cd->best_t), &score);
        cd->opt.maxiter = maxiter;
        if (st)
            return st;
        sel_rescored(c, cd, score, a, t);
        k->finished = 1;
        if (score < sel->cands[best].score)
            best = i;
    }
    sel->chosen = best;
    return KERNEST_OK;
}
