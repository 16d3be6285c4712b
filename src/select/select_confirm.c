/* select_confirm.c — the choice made on B's central window, checked on B's held windows: the
 * candidates that scored close to the best are each fitted once on the window at their λ, and
 * their kernels predict windows of B elsewhere that no fit has seen; the lowest prediction error
 * is chosen (select_reduce.c opens the held windows' session). */
#include <math.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/error.h"
#include "select_impl.h"

/* The mean squared error of kernel K (kh*kw values) predicting the held windows' observed pixels. */
static int held_error(ctx *c, const double *K, double *out)
{
    kn_session *h = c->held;
    const kn_backend_ops *o = h->be->ops;
    kn_vec *kv = NULL, *dv = NULL;
    double *hx = malloc((h->pb.m ? h->pb.m : 1) * sizeof *hx);
    const long a = h->be->applications;
    int st = hx ? KERNEST_OK : kn_error(KERNEST_E_NOMEM, "out of memory for the held windows");
    if (!st && !(st = o->vec_create(h->be, h->pb.n, &kv)) && !(st = o->vec_create(h->be, h->pb.m, &dv)) &&
        !(st = o->vec_upload(h->be, kv, K)) && !(st = o->op_apply(h->be, kv, dv)) &&
        !(st = o->vec_download(h->be, dv, hx))) {
        const size_t cnt = sel_observed(h);
        *out = cnt ? sel_rss_of(h, hx) / (double)cnt : NAN;
    }
    c->held_apps += h->be->applications - a;
    if (kv)
        o->vec_destroy(h->be, &kv);
    if (dv)
        o->vec_destroy(h->be, &dv);
    free(hx);
    return st;
}

int sel_confirm(ctx *c, cand *cds, size_t nc, kn_fit *fit)
{
    kn_selection *sel = c->sel;
    const double best = sel->cands[sel->chosen].score;
    double lowest = INFINITY;
    int st = KERNEST_OK;
    for (size_t i = 0; i < nc; i++)
        sel->cands[i].held_score = NAN;
    for (size_t i = 0; i < nc && !c->interrupted; i++) {
        kernest_candidate *k = &sel->cands[i];
        if (!(isfinite(k->score) && k->score <= KN_CONFIRM_BAND * best))
            continue;
        const double t = kn_now();
        const long a = sel_applications(c);
        kernest_options o = cds[i].opt;
        o.lambda = k->lambda;
        o.l1 = k->l1;
        kn_fit f = {0};
        kn_session_phase(c->s, "held windows: %s, lambda %.3g", k->name, o.lambda);
        st = kn_session_solve(c->s, &o, sel_start(&o, cds[i].best_x ? cds[i].best_x : cds[i].xw[0]), &f);
        kn_session_phase(c->s, NULL);
        if (!st) {
            sel_count(c, &f, k);
            st = held_error(c, f.K, &k->held_score);
        }
        k->applications += sel_applications(c) - a;
        k->seconds += kn_now() - t;
        if (!st && k->held_score < lowest) { /* NaN never is */
            lowest = k->held_score;
            sel->chosen = i;
            kn_fit_free(fit);
            *fit = f;
        } else
            kn_fit_free(&f);
        if (st)
            return st;
    }
    return KERNEST_OK;
}
