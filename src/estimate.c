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

/* Misfit per pair of the final estimate (its samples and output channels together),
 * recomputed from H x (not the recursive residual); mf is zero-filled. */
static void pair_misfits(const kn_problem *pb, const double *hx, kernest_pair_misfit *mf)
{
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        double sse = 0.0;
        for (size_t j = 0; j < p->len; j++)
            if (!isnan(p->B[j])) {
                double d = hx[p->offset + j] - p->B[j];
                sse += d * d;
            }
        mf[p->src].count += p->nobs;
        mf[p->src].sse += sse;
    }
    for (size_t i = 0; pb->npairs && i <= pb->pairs[pb->npairs - 1].src; i++)
        mf[i].rms = mf[i].count ? sqrt(mf[i].sse / (double)mf[i].count) : 0.0;
}

/* The caller's pairs (pb->npairs counts samples: a 4-D pair holds several). */
static size_t caller_pairs(const kn_problem *pb)
{
    return pb->npairs ? pb->pairs[pb->npairs - 1].src + 1 : 0;
}

void kernest_report_destroy(kernest_report **r)
{
    if (!r || !*r)
        return;
    free((*r)->residual_history);
    free((*r)->misfit);
    free((*r)->profile);
    for (size_t i = 0; (*r)->warnings && i < (*r)->nwarnings; i++)
        free((*r)->warnings[i]);
    free((*r)->warnings);
    free(*r);
    *r = NULL;
}

int kn_report_make(const kn_session *s, kn_fit *fit, kernest_report **out)
{
    const kn_problem *pb = &s->pb;
    kernest_report *rep = calloc(1, sizeof *rep);
    const size_t npairs = caller_pairs(pb);
    if (!rep || !(rep->misfit = calloc(npairs ? npairs : 1, sizeof *rep->misfit))) {
        free(rep);
        return kn_error(KERNEST_E_NOMEM, "out of memory");
    }
    pair_misfits(pb, fit->hx, rep->misfit);
    rep->reason = fit->res.reason;
    rep->iterations = fit->res.iterations;
    rep->residual_history = fit->res.history;
    fit->res.history = NULL;
    rep->npairs = npairs;
    rep->channels_in = pb->cin;
    rep->channels_out = pb->cout;
    rep->samples = pb->npairs;
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
    rep->lipschitz = fit->info.lipschitz;
    rep->restarts = fit->info.restarts;
    rep->precision = s->be->precision;
    rep->setup_seconds = s->setup_seconds;
    rep->ranks = 1;
    rep->solve_seconds = fit->solve_seconds;
    rep->resumed_from = fit->resumed_from;
    kn_warnings w = {0};
    kn_warnings_extend(&w, &s->warnings);
    kn_warnings_extend(&w, &fit->warnings);
    rep->nwarnings = w.n;
    rep->warnings = w.items;
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
        (st = kn_kernel_array(&s.pb, &k)))
        goto done;
    memcpy(k->data, fit.K, s.pb.n * sizeof *k->data);
    if (opt->correlate)
        kn_flip_kernels(k->data, s.pb.cout * s.pb.cin, s.pb.kh, s.pb.kw);
    if (report && (st = kn_report_make(&s, &fit, &rep)))
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
