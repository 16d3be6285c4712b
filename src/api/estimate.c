/* estimate.c — kernest_estimate: one session (validate, pick a backend, check memory, set up),
 * one solve (or the automatic choice of λ and the model, select.c), the uncertainty maps when
 * asked for, and the report. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/options.h"
#include "base/warnings.h"
#include "report.h"
#include "select/select.h"
#include "select/select_reduce.h"
#include "units.h"

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
    rep->window_far_subtracted = sel->far.subtracted;
    rep->window_far_iterations = sel->far.iterations;
    rep->window_far_converged = sel->far.converged;
    rep->window_box_spread = sel->far.box_spread;
    rep->window_far_model = sel->far.model;
    rep->window_far_fluctuation = sel->far.fluctuation;
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
        kernest_options lin;
        kn_options_linear(o, &lin);
        double t, rss = 0.0, m = 0.0;
        kn_session_phase(s, "uncertainty: the noise level (%d trace probes)", o->probes);
        st = kn_trace_hutchinson(s, &lin, fit->x, o->probes, o->seed, NULL, &t, NULL, NULL);
        kn_session_phase(s, NULL);
        if (st)
            return st;
        solves += o->probes;
        for (size_t i = 0; i < s->pb.npairs; i++)
            m += (double)s->pb.pairs[i].nobs;
        for (size_t j = 0; j < s->pb.m; j++)
            rss += (fit->hx[j] - s->host_b[j]) * (fit->hx[j] - s->host_b[j]);
        sigma = m > t ? sqrt(rss / (m - t)) : 0.0;
        *sigma_estimated = 1;
    }
    int done = 0;
    st = kn_posterior_std(s, o, fit->x, sigma, o->uncertainty, o->seed, rep->std, &solves, &done);
    rep->sigma = sigma;
    rep->std_samples = done;
    rep->std_rel_error = done >= 2 ? 1.0 / sqrt(2.0 * (done - 1)) : NAN;
    if (done < o->uncertainty) /* interrupted: the estimate says so (the CLI exits 130/143) */
        rep->reason = KERNEST_STOP_INTERRUPTED;
    rep->uncertainty_solves = solves;
    return st;
}

/* The discrepancy rule picks the λ whose residual is nearest mσ²; when none of the λ tried comes
 * near (σ far above what any fit leaves: the path ends at its largest λ, or far below), that λ
 * meets no rule, and a σ given far larger than the data gave K ≈ 0 silently */
static void discrepancy_warning(kn_session *s, const kernest_options *opt, const kn_selection *sel)
{
    if (opt->select != KERNEST_SELECT_DISCREPANCY || !sel->cands || sel->chosen >= sel->ncands)
        return;
    const double ratio = sel->cands[sel->chosen].score; /* ‖r‖²/(mσ²) at the choice */
    if (ratio > 0.5 && ratio < 2)
        return;
    kn_warn(&s->warnings, "--select discrepancy: no lambda tried brings the residual near sigma (rms "
            "residual / sigma = %.3g at the choice): sigma is %s than the noise these data hold",
            sqrt(ratio), ratio < 1 ? "larger" : "smaller");
}

/* 1 when the support and the fixed pixels hold every unknown of the fit's model (then at 0: K is) */
static int nothing_free(const kernest_options *o, const kn_fit *f)
{
    kn_constraints cons = {0};
    int all = f->model.kind != KERNEST_MODEL_LOWRANK && !kn_constraints_build(o, &f->model, &cons) &&
              cons.spec.keep;
    for (size_t i = 0; all && i < cons.spec.n; i++)
        all = cons.spec.keep[i] == 0.0;
    kn_constraints_free(&cons);
    kn_error_clear();
    return all;
}

/* A kernel that is exactly 0 comes from the data or the constraints, not from a solve: say why,
 * so that it is not taken for an estimate (the data's scale is no longer a reason: the solve
 * works in scaled units, units.h). */
static void zero_kernel_warning(kn_session *s, const kernest_options *o, const kn_fit *f)
{
    const kn_problem *pb = &s->pb;
    for (size_t i = 0; i < pb->n; i++)
        if (f->K[i] != 0.0)
            return;
    int a_zero = 1, b_zero = 1;
    for (size_t i = 0; i < pb->npairs && a_zero; i++) {
        const kn_pair *p = &pb->pairs[i];
        for (size_t j = 0; j < pb->cin * p->ha * p->wa && a_zero; j++)
            a_zero = p->A[j] == 0.0;
    }
    for (size_t j = 0; j < pb->m && b_zero; j++)
        b_zero = s->host_b[j] == 0.0;
    if (a_zero)
        kn_warn(&s->warnings, "the estimate is 0: every A is 0 (nothing constrains K)");
    else if (b_zero)
        kn_warn(&s->warnings, "the estimate is 0: every observed pixel of B is 0");
    else if (nothing_free(o, f))
        kn_warn(&s->warnings, "the estimate is 0: --support%s leaves no kernel pixel free",
                o->nfixed ? " with --fix" : "");
    else
        kn_warn(&s->warnings, "the estimate is 0: the data hold no part of B that A explains within the "
                "support and constraints");
}

int kernest_estimate(const kernest_array *const *A, const kernest_array *const *B, size_t npairs,
                     const kernest_options *opt, kernest_array **K, kernest_report **report)
{
    return kernest_estimate_in(NULL, A, B, npairs, opt, K, report);
}

/* The estimate on the pairs as given (opt checked, no framework padding left to apply). */
static int estimate_in(kernest_context *ctx, const kernest_array *const *A, const kernest_array *const *B,
                       size_t npairs, const kernest_options *opt, kernest_array **K, kernest_report **report)
{
    const double t0 = kn_now();
    int st;
    kn_session s;
    kn_selection sel = {0};
    kn_fit fit = {0}, *f = &fit;
    kernest_options chosen = *opt, open_opt;
    kernest_array *k = NULL;
    kernest_report *rep = NULL, tmp = {0};
    const int automatic = opt->auto_lambda || opt->auto_model;
    int sigma_est = 0;
    kn_select_open_options(opt, &open_opt);
    if ((st = kn_session_open(&s, A, B, npairs, automatic ? &open_opt : opt, ctx)))
        goto done;
    if (opt->correlate && opt->mode == KERNEST_MODE_SAME && (s.pb.kh % 2 == 0 || s.pb.kw % 2 == 0))
        kn_warn(&s.warnings, "--mode same with the even kernel %zux%zu and --correlate: SciPy's 'same' "
                "window, one pixel off a framework's padding='same' (which pads (k-1)//2 before and k//2 "
                "after); for a layer, pad the input that way and use --mode valid", s.pb.kh, s.pb.kw);
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
        discrepancy_warning(&s, opt, &sel);
    } else if ((st = kn_session_solve(&s, opt, NULL, &fit)))
        goto done;
    if ((st = kn_kernel_array(&s.pb, &k)))
        goto done;
    memcpy(k->data, f->K, s.pb.n * sizeof *k->data);
    zero_kernel_warning(&s, &chosen, f);
    if (opt->correlate)
        kn_flip_kernels(k->data, kn_problem_kernels(&s.pb), s.pb.kh, s.pb.kw);
    rep = &tmp;
    tmp.reason = f->res.reason;
    /* an interrupted estimate gets no uncertainty: its samples would be cut short too */
    if (opt->uncertainty > 0 && f->res.reason != KERNEST_STOP_INTERRUPTED &&
        (st = uncertainty(&s, &chosen, f, opt->sigma > 0 ? opt->sigma : sel.sigma, &sigma_est, &tmp)))
        goto done;
    if (opt->uncertainty > 0 && opt->correlate) { /* the maps in K's orientation */
        kn_flip_kernels(tmp.coverage, kn_problem_kernels(&s.pb), s.pb.kh, s.pb.kw);
        kn_flip_kernels(tmp.std, kn_problem_kernels(&s.pb), s.pb.kh, s.pb.kw);
    }
    if (report) {
        if ((st = kn_report_make(&s, f, &rep)))
            goto done;
        rep->coverage = tmp.coverage;
        rep->std = tmp.std;
        tmp.coverage = tmp.std = NULL;
        rep->std_samples = tmp.std_samples;
        if (tmp.reason == KERNEST_STOP_INTERRUPTED)
            rep->reason = KERNEST_STOP_INTERRUPTED;
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

/* The estimate in scaled units (units.h): A and B divided by powers of two near their largest
 * values, the options carried over, and K and the report brought back. The solvers' sums of
 * squares (‖Hᵀr‖², ‖Hp‖², ...) then keep their range whatever the data's scale: A and B ·10^±150
 * in double, or ·10^±15 in single, used to give K = 0 ("converged after 0 iterations",
 * "breakdown", "non-finite"). Powers of two keep the arithmetic exact: data that differ by such
 * a factor give the same bits. */
static int estimate_units(kernest_context *ctx, const kernest_array *const *A, const kernest_array *const *B,
                          size_t npairs, const kernest_options *opt, kernest_array **K, kernest_report **report)
{
    kn_units u;
    kn_units_choose(kn_units_maxabs(A, npairs), kn_units_maxabs(B, npairs), &u);
    if (kn_units_none(&u))
        return estimate_in(ctx, A, B, npairs, opt, K, report);
    kernest_array **As = NULL, **Bs = NULL;
    kernest_fixed_pixel *fixed = NULL;
    kernest_options so;
    int st = kn_units_scale_arrays(&u, A, B, npairs, &As, &Bs);
    if (!st && !(st = kn_units_options(&u, opt, &so, &fixed)) &&
        !(st = estimate_in(ctx, (const kernest_array *const *)As, (const kernest_array *const *)Bs, npairs, &so, K,
                           report))) {
        kn_units_kernel(&u, (*K)->data, (*K)->size);
        if (report)
            kn_units_report(&u, opt->select, *report);
    }
    kn_units_free_arrays(&As, npairs);
    kn_units_free_arrays(&Bs, npairs);
    free(fixed);
    return st;
}

/* A framework's padding (opt->padding): each A padded as kernest_pad_layer says, and *valid = opt
 * with the window valid, as PyTorch's conv2d computes a layer. *padded gets npairs new arrays
 * (kernest_array_destroy each, then free). */
static int framework_padding(const kernest_array *const *A, size_t npairs, const kernest_options *opt,
                             kernest_array ***padded, kernest_options *valid)
{
    if (!(*padded = calloc(npairs ? npairs : 1, sizeof **padded)))
        return kn_error(KERNEST_E_NOMEM, "--padding: out of memory");
    for (size_t i = 0; i < npairs; i++) {
        int st = A[i] ? kernest_pad_layer(A[i], opt->kh, opt->kw, opt->pad_h, opt->pad_w, opt->padding_mode,
                                          &opt->geometry, &(*padded)[i])
                      : kn_error(KERNEST_E_INVALID, "kernest_estimate: NULL argument");
        if (st)
            return st;
    }
    *valid = *opt;
    valid->padding = 0;
    valid->mode = KERNEST_MODE_VALID;
    return KERNEST_OK;
}

int kernest_estimate_in(kernest_context *ctx, const kernest_array *const *A,
                        const kernest_array *const *B, size_t npairs, const kernest_options *opt,
                        kernest_array **K, kernest_report **report)
{
    kn_error_clear();
    if (!A || !B || !opt || !K)
        return kn_error(KERNEST_E_INVALID, "kernest_estimate: NULL argument");
    int st = kn_options_check(opt); /* before anything is read or allocated */
    if (st || !opt->padding)
        return st ? st : estimate_units(ctx, A, B, npairs, opt, K, report);
    kernest_array **padded = NULL;
    kernest_options valid;
    if (!(st = framework_padding(A, npairs, opt, &padded, &valid)))
        st = estimate_units(ctx, (const kernest_array *const *)padded, B, npairs, &valid, K, report);
    for (size_t i = 0; padded && i < npairs; i++)
        kernest_array_destroy(&padded[i]);
    free(padded);
    return st;
}
