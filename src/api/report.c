/* report.c — the report of a solve as the public API hands it out: assembly from a fit on a
 * session, the per-pair misfit, the uncertainty maps' copies, and freeing it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report.h"

void kn_pair_misfits(const kn_problem *pb, const double *hx, kernest_pair_misfit *mf)
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
    free((*r)->candidates);
    free((*r)->path);
    free((*r)->coverage);
    free((*r)->std);
    free((*r)->background);
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
    kn_pair_misfits(pb, fit->hx, rep->misfit);
    rep->reason = fit->res.reason;
    rep->iterations = fit->res.iterations;
    rep->residual_history = fit->res.history;
    fit->res.history = NULL;
    rep->npairs = npairs;
    rep->channels_in = pb->cin;
    rep->channels_out = pb->cout;
    rep->kernel_in = pb->kin;
    rep->kernels_4d = pb->channels;
    rep->samples = pb->npairs;
    rep->kh = pb->kh;
    rep->kw = pb->kw;
    rep->grid_h = pb->grid_h;
    rep->grid_w = pb->grid_w;
    rep->bytes_needed = fit->bytes_needed;
    snprintf(rep->device, sizeof rep->device, "%s", s->be->device);
    rep->threads = strcmp(s->be->ops->name, "cpu") ? 0 : s->be->threads;
    snprintf(rep->backend, sizeof rep->backend, "%s", s->be->ops->name);
    snprintf(rep->solver, sizeof rep->solver, "%s", kernest_solver_name(fit->solver));
    snprintf(rep->precond, sizeof rep->precond, "%s",
             fit->solver != KERNEST_SOLVER_CGLS ? "" : fit->precond == 2 ? "mean" : fit->precond ? "jacobi" : "none");
    rep->model = fit->model.kind;
    if (fit->model.kind != KERNEST_MODEL_PIXEL) {
        rep->profile = fit->x;
        rep->nprofile = fit->model.nx;
        fit->x = NULL;
    }
    rep->order = fit->model.order;
    rep->outer_iterations = fit->outer_iterations;
    rep->inner_iterations = fit->inner_iterations;
    rep->outer_reason = fit->outer_reason;
    rep->outer_change = fit->outer_change;
    if (fit->beta) {
        rep->background = fit->beta;
        rep->nbackground = kn_background_count(pb);
        rep->bias = pb->shared_offsets;
        fit->beta = NULL;
    }
    rep->lipschitz = fit->info.lipschitz;
    rep->restarts = fit->info.restarts;
    rep->metric_ratio = fit->info.metric_ratio;
    rep->gp_steps = fit->gpcg.gp_steps;
    rep->cg_steps = fit->gpcg.cg_steps;
    rep->faces = fit->gpcg.faces;
    rep->precision = s->be->precision;
    rep->setup_seconds = s->setup_seconds;
    rep->setup_reused = s->be->setup_reused;
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

int kernest_report_uncertainty(const kernest_report *r, kernest_array **coverage, kernest_array **std)
{
    if (!r || !r->coverage || !r->std)
        return kn_error(KERNEST_E_INVALID, "kernest_report_uncertainty: the report has no uncertainty maps "
                        "(set options.uncertainty > 0)");
    kernest_array *c = NULL, *s = NULL;
    const size_t shape[4] = {r->channels_out, r->kernel_in ? r->kernel_in : r->channels_in, r->kh, r->kw};
    const int nd = r->kernels_4d ? 4 : 2;
    int st = kernest_array_create(nd, shape + 4 - nd, &c);
    if (!st && !(st = kernest_array_create(nd, shape + 4 - nd, &s))) {
        memcpy(c->data, r->coverage, c->size * sizeof(double));
        memcpy(s->data, r->std, s->size * sizeof(double));
    }
    if (st || !coverage)
        kernest_array_destroy(&c);
    if (st || !std)
        kernest_array_destroy(&s);
    if (!st && coverage)
        *coverage = c;
    if (!st && std)
        *std = s;
    return st;
}
