/* estimate.c — kernest_estimate: one session (validate, pick a backend, check memory, set up),
 * one solve (or the automatic choice of λ and the model, select.c), the uncertainty maps when
 * asked for, and the report. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "select.h"
#include "select_reduce.h"

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
    rep->kernels_4d = pb->channels;
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
    rep->order = fit->model.order;
    rep->outer_iterations = fit->outer_iterations;
    rep->inner_iterations = fit->inner_iterations;
    rep->outer_reason = fit->outer_reason;
    rep->outer_change = fit->outer_change;
    if (fit->beta) {
        rep->background = fit->beta;
        rep->nbackground = kn_background_count(pb);
        fit->beta = NULL;
    }
    rep->lipschitz = fit->info.lipschitz;
    rep->restarts = fit->info.restarts;
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
    const size_t shape[4] = {r->channels_out, r->channels_in, r->kh, r->kw};
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

/* The automatic choice's part of the report; takes the selection's tables. */
static void selection_report(kn_selection *sel, kernest_report *rep)
{
    rep->automatic = 1;
    snprintf(rep->select_rule, sizeof rep->select_rule, "%s", sel->rule);
    rep->ncandidates = sel->ncands;
    rep->candidates = sel->cands;
    sel->cands = NULL;
    rep->chosen = sel->chosen;
    rep->npath = sel->npath;
    rep->path = sel->path;
    sel->path = NULL;
    rep->selection_solves = sel->solves;
    rep->selection_iterations = sel->iterations;
    rep->applications_prepare = sel->apps_prepare;
    rep->applications_select = sel->apps_select;
    rep->applications_final = sel->apps_final;
    rep->seconds_prepare = sel->secs_prepare;
    rep->seconds_select = sel->secs_select;
    rep->seconds_final = sel->secs_final;
    rep->window = sel->window;
    rep->window_kernel = sel->window_kernel;
    rep->window_grid_fraction = sel->window_grid_fraction;
}

/* Coverage and posterior standard deviation of the estimate fit (options o), with σ given,
 * estimated by the rule, or estimated here from ‖r‖²/(m − tr H_λ) by Hutchinson probes. */
static int uncertainty(kn_session *s, const kernest_options *o, const kn_fit *fit, double sigma,
                       int *sigma_estimated, kernest_report *rep)
{
    const size_t n = s->pb.n;
    int st, solves = 0;
    if (o->reg == KERNEST_REG_NONE || !(o->lambda > 0)) /* before any probe is spent */
        return kn_error(KERNEST_E_INVALID, "--uncertainty: needs a regulariser (--reg ridge or grad) with "
                        "lambda > 0, or the automatic choice: without one the posterior is improper");
    if (!(rep->coverage = malloc(n * sizeof(double))) || !(rep->std = malloc(n * sizeof(double))))
        return kn_error(KERNEST_E_NOMEM, "out of memory for the uncertainty maps");
    if ((st = kn_coverage(s, o, rep->coverage)))
        return st;
    if (!(sigma > 0)) {
        kernest_options lin = *o;
        lin.nonneg = lin.has_bounds = lin.has_sum = 0;
        lin.l1 = lin.tv = 0.0;
        lin.solver = KERNEST_SOLVER_AUTO;
        double t, rss = 0.0, m = 0.0;
        if ((st = kn_trace_hutchinson(s, &lin, fit->x, o->probes, o->seed, NULL, &t, NULL, NULL)))
            return st;
        solves += o->probes;
        for (size_t i = 0; i < s->pb.npairs; i++)
            m += (double)s->pb.pairs[i].nobs;
        for (size_t j = 0; j < s->pb.m; j++)
            rss += (fit->hx[j] - s->host_b[j]) * (fit->hx[j] - s->host_b[j]);
        sigma = m > t ? sqrt(rss / (m - t)) : 0.0;
        *sigma_estimated = 1;
    }
    st = kn_posterior_std(s, o, fit->x, sigma, o->uncertainty, o->seed, rep->std, &solves);
    rep->sigma = sigma;
    rep->std_samples = o->uncertainty;
    rep->std_rel_error = 1.0 / sqrt(2.0 * (o->uncertainty - 1));
    rep->uncertainty_solves = solves;
    return st;
}

int kernest_estimate(const kernest_array *const *A, const kernest_array *const *B, size_t npairs,
                     const kernest_options *opt, kernest_array **K, kernest_report **report)
{
    const double t0 = kn_now();
    kn_error_clear();
    if (!A || !B || !opt || !K)
        return kn_error(KERNEST_E_INVALID, "kernest_estimate: NULL argument");
    if (opt->uncertainty < 0 || opt->uncertainty > 100000)
        return kn_error(KERNEST_E_INVALID, "--samples: must be 2..100000, got %d", opt->uncertainty);
    kn_session s;
    kn_selection sel = {0};
    kn_fit fit = {0}, *f = &fit;
    kernest_options chosen = *opt, open_opt;
    kernest_array *k = NULL;
    kernest_report *rep = NULL, tmp = {0};
    const int automatic = opt->auto_lambda || opt->auto_model;
    int st, sigma_est = 0;
    kn_select_open_options(opt, &open_opt);
    if ((st = kn_session_open(&s, A, B, npairs, automatic ? &open_opt : opt)))
        goto done;
    if (automatic && (opt->checkpoint || opt->resume)) {
        st = kn_error(KERNEST_E_INVALID, "%s: not with the automatic choice of lambda or model (it runs "
                      "many solves; give --reg, --lambda and --model, or --fast)",
                      opt->checkpoint ? "--checkpoint" : "--resume");
        goto done;
    }
    if (automatic) { /* the automatic choice: λ paths and candidates, then the final solve */
        if ((st = kn_select_auto(&s, A, B, npairs, opt, &sel)))
            goto done;
        f = &sel.fit;
        chosen = sel.opt;
        chosen.uncertainty = opt->uncertainty;
        sigma_est = sel.sigma_estimated;
    } else if ((st = kn_session_solve(&s, opt, NULL, &fit)))
        goto done;
    if ((st = kn_kernel_array(&s.pb, &k)))
        goto done;
    memcpy(k->data, f->K, s.pb.n * sizeof *k->data);
    if (opt->correlate)
        kn_flip_kernels(k->data, s.pb.cout * s.pb.cin, s.pb.kh, s.pb.kw);
    rep = &tmp;
    if (opt->uncertainty > 0 &&
        (st = uncertainty(&s, &chosen, f, opt->sigma > 0 ? opt->sigma : sel.sigma, &sigma_est, &tmp)))
        goto done;
    if (opt->uncertainty > 0 && opt->correlate) { /* the maps in K's orientation */
        kn_flip_kernels(tmp.coverage, s.pb.cout * s.pb.cin, s.pb.kh, s.pb.kw);
        kn_flip_kernels(tmp.std, s.pb.cout * s.pb.cin, s.pb.kh, s.pb.kw);
    }
    if (report) {
        if ((st = kn_report_make(&s, f, &rep)))
            goto done;
        rep->coverage = tmp.coverage;
        rep->std = tmp.std;
        tmp.coverage = tmp.std = NULL;
        rep->std_samples = tmp.std_samples;
        rep->std_rel_error = tmp.std_rel_error;
        rep->uncertainty_solves = tmp.uncertainty_solves;
        rep->sigma = opt->uncertainty > 0 ? tmp.sigma : sel.sigma;
        rep->sigma_estimated = sigma_est;
        rep->reg = chosen.reg;
        rep->lambda = chosen.lambda;
        rep->l1 = chosen.l1;
        rep->nonneg = chosen.nonneg;
        if (automatic)
            selection_report(&sel, rep);
        rep->wall_seconds = kn_now() - t0;
    } else
        rep = NULL;
done:
    free(tmp.coverage);
    free(tmp.std);
    kn_fit_free(&fit);
    kn_selection_free(&sel);
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
