/* estimate.c — kernest_estimate: one session (validate, pick a backend, check memory, set up),
 * one solve, and the report. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "session.h"

/* Misfit per pair of the final estimate, recomputed from H x (not the recursive residual). */
static void pair_misfits(const kn_problem *pb, const double *hx, kernest_pair_misfit *mf)
{
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        double sse = 0.0;
        for (size_t j = 0; j < p->hb * p->wb; j++)
            if (!isnan(p->B[j])) {
                double d = hx[p->offset + j] - p->B[j];
                sse += d * d;
            }
        mf[i].count = p->nobs;
        mf[i].sse = sse;
        mf[i].rms = p->nobs ? sqrt(sse / (double)p->nobs) : 0.0;
    }
}

void kernest_report_destroy(kernest_report **r)
{
    if (!r || !*r)
        return;
    free((*r)->residual_history);
    free((*r)->misfit);
    free((*r)->profile);
    free((*r)->background);
    free(*r);
    *r = NULL;
}

/* The report of fit on session s; takes the fit's history and (for models) its unknowns. */
static int make_report(const kn_session *s, kn_fit *fit, kernest_report **out)
{
    const kn_problem *pb = &s->pb;
    kernest_report *rep = calloc(1, sizeof *rep);
    if (!rep || !(rep->misfit = calloc(pb->npairs, sizeof *rep->misfit))) {
        free(rep);
        return kn_error(KERNEST_E_NOMEM, "out of memory");
    }
    pair_misfits(pb, fit->hx, rep->misfit);
    rep->reason = fit->res.reason;
    rep->iterations = fit->res.iterations;
    rep->residual_history = fit->res.history;
    fit->res.history = NULL;
    rep->npairs = pb->npairs;
    rep->kh = pb->kh;
    rep->kw = pb->kw;
    rep->grid_h = pb->grid_h;
    rep->grid_w = pb->grid_w;
    rep->bytes_needed = fit->bytes_needed;
    snprintf(rep->device, sizeof rep->device, "%s", s->be->device);
    snprintf(rep->backend, sizeof rep->backend, "%s", s->be->ops->name);
    snprintf(rep->solver, sizeof rep->solver, "%s", fit->fista ? "fista" : "cgls");
    rep->model = fit->model.kind;
    if (fit->model.kind != KERNEST_MODEL_PIXEL) {
        rep->profile = fit->x;
        rep->nprofile = fit->model.nx;
        fit->x = NULL;
    }
    rep->order = fit->model.order;
    rep->outer_iterations = fit->outer_iterations;
    rep->outer_reason = fit->outer_reason;
    rep->outer_change = fit->outer_change;
    if (fit->beta) {
        rep->background = fit->beta;
        rep->nbackground = pb->npairs;
        fit->beta = NULL;
    }
    rep->lipschitz = fit->info.lipschitz;
    rep->restarts = fit->info.restarts;
    rep->precision = s->be->precision;
    rep->setup_seconds = s->setup_seconds;
    rep->solve_seconds = fit->solve_seconds;
    *out = rep;
    return KERNEST_OK;
}

int kernest_estimate(const kernest_array *const *A, const kernest_array *const *B, size_t npairs,
                     const kernest_options *opt, kernest_array **K, kernest_report **report)
{
    const double t0 = kn_now();
    kn_error_clear();
    if (!A || !B || !opt || !K)
        return kn_error(KERNEST_E_INVALID, "kernest_estimate: NULL argument");
    kn_session s;
    kn_fit fit = {0};
    kernest_array *k = NULL;
    kernest_report *rep = NULL;
    int st;
    if ((st = kn_session_open(&s, A, B, npairs, opt)) || (st = kn_session_solve(&s, opt, NULL, &fit)) ||
        (st = kernest_array_create2(s.pb.kh, s.pb.kw, &k)))
        goto done;
    memcpy(k->data, fit.K, s.pb.n * sizeof *k->data);
    if (report && (st = make_report(&s, &fit, &rep)))
        goto done;
    if (rep)
        rep->wall_seconds = kn_now() - t0;
done:
    kn_fit_free(&fit);
    kn_session_close(&s);
    if (st) {
        kernest_array_destroy(&k);
        return st;
    }
    *K = k;
    if (report)
        *report = rep;
    return KERNEST_OK;
}
