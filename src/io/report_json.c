/* report_json.c — the JSON report of a solve (options, inputs, stop reason, misfit, device, times). */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/error.h"

static const char *precision_name(kernest_precision p)
{
    return p == KERNEST_SINGLE ? "single" : p == KERNEST_DOUBLE ? "double" : "default";
}

/* a bound as a number, or null when infinite (JSON has no infinity) */
static void add_bound(cJSON *o, const char *name, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static void priors_json(cJSON *o, const kernest_options *opt)
{
    static const char *const supports[] = {"none", "disk", "box", "mask"};
    cJSON_AddStringToObject(o, "model", kernest_model_name(opt->model));
    if (kernest_model_order_range(opt->model, NULL, NULL))
        cJSON_AddNumberToObject(o, "order", opt->order);
    if (opt->model == KERNEST_MODEL_LOWRANK) {
        cJSON_AddNumberToObject(o, "outer_maxiter", opt->outer_maxiter);
        cJSON_AddNumberToObject(o, "outer_tol", opt->outer_tol);
    }
    cJSON_AddBoolToObject(o, "background", opt->background);
    cJSON_AddBoolToObject(o, "bias", opt->bias);
    cJSON_AddStringToObject(o, "solver", kernest_solver_name(opt->solver));
    cJSON_AddStringToObject(o, "precond", kernest_precond_name(opt->precond));
    cJSON_AddNumberToObject(o, "l1", opt->l1);
    cJSON_AddNumberToObject(o, "tv", opt->tv);
    cJSON_AddBoolToObject(o, "nonneg", opt->nonneg);
    if (opt->has_bounds) {
        cJSON *b = cJSON_AddObjectToObject(o, "bounds");
        add_bound(b, "lower", opt->lower);
        add_bound(b, "upper", opt->upper);
    }
    if (opt->has_sum)
        cJSON_AddNumberToObject(o, "sum", opt->sum);
    cJSON *sp = cJSON_AddObjectToObject(o, "support");
    cJSON_AddStringToObject(sp, "kind", (unsigned)opt->support < 4 ? supports[opt->support] : "?");
    if (opt->support == KERNEST_SUPPORT_DISK)
        cJSON_AddNumberToObject(sp, "radius", opt->support_radius);
    if (opt->support == KERNEST_SUPPORT_BOX) {
        cJSON_AddNumberToObject(sp, "h", (double)opt->support_h);
        cJSON_AddNumberToObject(sp, "w", (double)opt->support_w);
    }
    cJSON *fx = cJSON_AddArrayToObject(o, "fixed");
    for (size_t i = 0; opt->fixed && i < opt->nfixed; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddNumberToObject(f, "row", (double)opt->fixed[i].row);
        cJSON_AddNumberToObject(f, "col", (double)opt->fixed[i].col);
        cJSON_AddNumberToObject(f, "value", opt->fixed[i].value);
        cJSON_AddItemToArray(fx, f);
    }
}

static cJSON *options_json(const kernest_options *opt, const kernest_report *r)
{
    cJSON *o = cJSON_CreateObject();
    static const char *const devices[] = {"auto", "cpu", "cuda"};
    cJSON_AddStringToObject(o, "mode", opt->padding ? "valid" : kernest_mode_name(opt->mode));
    if (opt->padding) { /* a framework's padding: A padded, then the valid window */
        cJSON *pd = cJSON_AddObjectToObject(o, "padding");
        if (opt->pad_h < 0)
            cJSON_AddStringToObject(pd, "rows", "same");
        else
            cJSON_AddNumberToObject(pd, "rows", opt->pad_h);
        if (opt->pad_w < 0)
            cJSON_AddStringToObject(pd, "columns", "same");
        else
            cJSON_AddNumberToObject(pd, "columns", opt->pad_w);
        cJSON_AddStringToObject(pd, "mode", kernest_padding_mode_name(opt->padding_mode));
    }
    const kernest_geometry *g = &opt->geometry;
    cJSON *st = cJSON_AddArrayToObject(o, "stride"), *dl = cJSON_AddArrayToObject(o, "dilation");
    cJSON_AddItemToArray(st, cJSON_CreateNumber(g->stride_h));
    cJSON_AddItemToArray(st, cJSON_CreateNumber(g->stride_w));
    cJSON_AddItemToArray(dl, cJSON_CreateNumber(g->dilation_h));
    cJSON_AddItemToArray(dl, cJSON_CreateNumber(g->dilation_w));
    cJSON_AddNumberToObject(o, "groups", g->groups);
    cJSON *ks = cJSON_AddArrayToObject(o, "ksize");
    cJSON_AddItemToArray(ks, cJSON_CreateNumber((double)opt->kh));
    cJSON_AddItemToArray(ks, cJSON_CreateNumber((double)opt->kw));
    cJSON_AddStringToObject(o, "reg", kernest_reg_name(opt->reg));
    cJSON_AddNumberToObject(o, "lambda", opt->lambda);
    cJSON_AddNumberToObject(o, "tol", opt->tol);
    cJSON_AddNumberToObject(o, "maxiter", opt->maxiter);
    /* the threads the solve ran on (the request capped by the work), else the request */
    cJSON_AddNumberToObject(o, "threads", r && r->threads > 0 ? r->threads : opt->threads);
    cJSON_AddStringToObject(o, "precision", precision_name(opt->precision));
    cJSON_AddStringToObject(o, "device", (unsigned)opt->device < 3 ? devices[opt->device] : "?");
    priors_json(o, opt);
    return o;
}

/* the automatic choice (every candidate and λ tried, the choice, the cost) and the uncertainty */
static void auto_json(cJSON *root, const kernest_report *r)
{
    cJSON *f = cJSON_AddObjectToObject(root, "final");
    cJSON_AddStringToObject(f, "model", kernest_model_name(r->model));
    cJSON_AddStringToObject(f, "reg", kernest_reg_name(r->reg));
    cJSON_AddNumberToObject(f, "lambda", r->lambda);
    cJSON_AddNumberToObject(f, "l1", r->l1);
    cJSON_AddBoolToObject(f, "nonneg", r->nonneg);
    if (r->automatic) {
        cJSON *a = cJSON_AddObjectToObject(root, "automatic");
        cJSON_AddStringToObject(a, "rule", r->select_rule);
        cJSON *cs = cJSON_AddArrayToObject(a, "candidates");
        for (size_t i = 0; i < r->ncandidates; i++) {
            const kernest_candidate *c = &r->candidates[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", c->name);
            cJSON_AddStringToObject(o, "model", kernest_model_name(c->model));
            cJSON_AddStringToObject(o, "reg", kernest_reg_name(c->reg));
            cJSON_AddBoolToObject(o, "nonneg", c->nonneg);
            cJSON_AddNumberToObject(o, "lambda", c->lambda);
            cJSON_AddNumberToObject(o, "l1", c->l1);
            if (isfinite(c->score))
                cJSON_AddNumberToObject(o, "score", c->score);
            else
                cJSON_AddNullToObject(o, "score");
            cJSON_AddNumberToObject(o, "solves", c->solves);
            cJSON_AddNumberToObject(o, "capped_solves", c->capped);
            cJSON_AddNumberToObject(o, "subspaces", c->subspaces);
            cJSON_AddNumberToObject(o, "score_se", c->score_se);
            if (c->finished)
                cJSON_AddBoolToObject(o, "finished", 1);
            if (c->trailed)
                cJSON_AddBoolToObject(o, "trailed", 1);
            if (isfinite(c->held_score))
                cJSON_AddNumberToObject(o, "held_score", c->held_score);
            cJSON_AddNumberToObject(o, "applications", (double)c->applications);
            cJSON_AddNumberToObject(o, "seconds", c->seconds);
            cJSON_AddBoolToObject(o, "chosen", i == r->chosen);
            cJSON_AddItemToArray(cs, o);
        }
        cJSON_AddStringToObject(a, "chosen", r->ncandidates ? r->candidates[r->chosen].name : "");
        cJSON *ps = cJSON_AddArrayToObject(a, "path");
        for (size_t i = 0; i < r->npath; i++) {
            const kernest_path_point *p = &r->path[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "candidate", (double)p->candidate);
            cJSON_AddNumberToObject(o, "lambda", p->lambda);
            cJSON_AddNumberToObject(o, "l1", p->l1);
            cJSON_AddNumberToObject(o, "score", isfinite(p->score) ? p->score : -1.0);
            cJSON_AddNumberToObject(o, "rss", p->rss);
            cJSON_AddNumberToObject(o, "aux", p->aux);
            cJSON_AddNumberToObject(o, "iterations", p->iterations);
            cJSON_AddItemToArray(ps, o);
        }
        cJSON_AddNumberToObject(a, "solves", r->selection_solves);
        cJSON_AddNumberToObject(a, "iterations", (double)r->selection_iterations);
        /* the cost by phase, in operator applications (H or Hᵀ, each on its own grid) and seconds,
         * and the whole choice against its final solve (the issue-18 target: <= 10) */
        cJSON *ph = cJSON_AddObjectToObject(a, "phases");
        const char *const names[3] = {"prepare", "select", "final"};
        const long ap[3] = {r->applications_prepare, r->applications_select, r->applications_final};
        const double sp[3] = {r->seconds_prepare, r->seconds_select, r->seconds_final};
        for (int i = 0; i < 3; i++) {
            cJSON *o = cJSON_AddObjectToObject(ph, names[i]);
            cJSON_AddNumberToObject(o, "applications", (double)ap[i]);
            cJSON_AddNumberToObject(o, "seconds", sp[i]);
        }
        const long total = ap[0] + ap[1] + ap[2];
        cJSON_AddNumberToObject(a, "applications", (double)total);
        cJSON_AddNumberToObject(a, "ratio_to_final_applications", ap[2] > 0 ? (double)total / (double)ap[2] : 0.0);
        cJSON_AddNumberToObject(a, "ratio_to_final_seconds",
                                sp[2] > 0 ? (sp[0] + sp[1] + sp[2]) / sp[2] : 0.0);
        if (r->window) {
            cJSON *w = cJSON_AddObjectToObject(a, "window");
            cJSON_AddNumberToObject(w, "side", (double)r->window);
            cJSON_AddNumberToObject(w, "kernel", (double)r->window_kernel);
            cJSON_AddNumberToObject(w, "grid_fraction", r->window_grid_fraction);
            cJSON *f = cJSON_AddObjectToObject(w, "far_field");
            cJSON_AddBoolToObject(f, "subtracted", r->window_far_subtracted);
            cJSON_AddStringToObject(f, "quick_model", kernest_model_name(r->window_far_model));
            cJSON_AddNumberToObject(f, "quick_iterations", r->window_far_iterations);
            cJSON_AddBoolToObject(f, "quick_converged", r->window_far_converged);
            cJSON_AddNumberToObject(f, "box_spread", r->window_box_spread);
            if (isfinite(r->window_far_fluctuation)) /* JSON has no infinity: absent for a zero mean */
                cJSON_AddNumberToObject(f, "fluctuation", r->window_far_fluctuation);
            /* the select phase ran on the window: its applications in full-grid ones */
            const double eq = (double)ap[0] + r->window_grid_fraction * (double)ap[1] + (double)ap[2];
            cJSON_AddNumberToObject(a, "ratio_to_final_full_grid_equivalent", ap[2] > 0 ? eq / (double)ap[2] : 0.0);
        }
    }
    if (r->sigma > 0) {
        cJSON *s = cJSON_AddObjectToObject(root, "noise");
        cJSON_AddNumberToObject(s, "sigma", r->sigma);
        cJSON_AddBoolToObject(s, "estimated", r->sigma_estimated);
    }
    if (r->std) {
        cJSON *u = cJSON_AddObjectToObject(root, "uncertainty");
        cJSON_AddNumberToObject(u, "samples", r->std_samples);
        cJSON_AddNumberToObject(u, "std_relative_mc_error", r->std_rel_error);
        cJSON_AddNumberToObject(u, "solves", r->uncertainty_solves);
    }
}

/* len values of v as an array, or rows arrays of len values when rows > 0 */
/* each kernel's input channels: K's second axis (C_in/groups) */
static size_t report_kernel_in(const kernest_report *r)
{
    return r->kernel_in ? r->kernel_in : r->channels_in ? r->channels_in : 1;
}

static cJSON *numbers(const double *v, size_t rows, size_t len)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < (rows ? rows : 1); i++) {
        cJSON *row = rows ? cJSON_CreateArray() : a;
        for (size_t j = 0; j < len; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber(v[i * len + j]));
        if (rows)
            cJSON_AddItemToArray(a, row);
    }
    return a;
}

/* The model's unknowns at offset in each kernel's block (r->profile holds the kernels' blocks
 * one after the other) as numbers(rows, len): kernel 0's alone for 2-D kernels; with channel
 * kernels (C_out×C_in×Kh×Kw) a C_out × C_in array of them, shaped like K. */
static cJSON *kernels_json(const kernest_report *r, size_t offset, size_t rows, size_t len)
{
    const size_t cout = r->channels_out ? r->channels_out : 1, cin = report_kernel_in(r);
    const size_t per = r->nprofile / (cout * cin);
    if (!r->kernels_4d)
        return numbers(r->profile + offset, rows, len);
    cJSON *a = cJSON_CreateArray();
    for (size_t o = 0; o < cout; o++) {
        cJSON *row = cJSON_CreateArray();
        for (size_t i = 0; i < cin; i++)
            cJSON_AddItemToArray(row, numbers(r->profile + (o * cin + i) * per + offset, rows, len));
        cJSON_AddItemToArray(a, row);
    }
    return a;
}

static cJSON *report_json(const kernest_report *r, const kernest_options *opt,
                          const char *const *inputs)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "kernest_version", KERNEST_VERSION_STRING);
    cJSON_AddItemToObject(root, "options", options_json(opt, r));
    cJSON *pairs = cJSON_AddArrayToObject(root, "pairs");
    for (size_t i = 0; i < r->npairs; i++) {
        cJSON *p = cJSON_CreateObject();
        if (inputs) {
            cJSON_AddStringToObject(p, "A", inputs[2 * i] ? inputs[2 * i] : "");
            cJSON_AddStringToObject(p, "B", inputs[2 * i + 1] ? inputs[2 * i + 1] : "");
        }
        cJSON_AddNumberToObject(p, "observed_pixels", (double)r->misfit[i].count);
        cJSON_AddNumberToObject(p, "sse", r->misfit[i].sse);
        cJSON_AddNumberToObject(p, "rms", r->misfit[i].rms);
        if (r->background && !r->bias)
            cJSON_AddNumberToObject(p, "background", r->background[i]);
        cJSON_AddItemToArray(pairs, p);
    }
    cJSON *s = cJSON_AddObjectToObject(root, "solve");
    const int fista = !strcmp(r->solver, "fista");
    cJSON_AddStringToObject(s, "solver", r->solver[0] ? r->solver : "cgls");
    const int gpcg = !strcmp(r->solver, "gpcg");
    cJSON_AddStringToObject(s, "history", fista ? "relative_change" : gpcg ? "relative_projected_gradient"
                                                                          : "relative_residual");
    if (!fista && !gpcg)
        cJSON_AddStringToObject(s, "preconditioner", r->precond[0] ? r->precond : "none");
    cJSON_AddStringToObject(s, "stop_reason", kernest_stop_reason_name(r->reason));
    cJSON_AddNumberToObject(s, "iterations", r->iterations);
    cJSON_AddNumberToObject(s, "relative_residual",
                            r->residual_history ? r->residual_history[r->iterations] : 0.0);
    cJSON *h = cJSON_AddArrayToObject(s, "residual_history");
    for (int i = 0; r->residual_history && i <= r->iterations; i++)
        cJSON_AddItemToArray(h, cJSON_CreateNumber(r->residual_history[i]));
    cJSON *ks = cJSON_AddArrayToObject(s, "kernel_shape");
    cJSON_AddItemToArray(ks, cJSON_CreateNumber((double)r->kh));
    cJSON_AddItemToArray(ks, cJSON_CreateNumber((double)r->kw));
    cJSON *g = cJSON_AddArrayToObject(s, "fft_grid");
    cJSON_AddItemToArray(g, cJSON_CreateNumber((double)r->grid_h));
    cJSON_AddItemToArray(g, cJSON_CreateNumber((double)r->grid_w));
    cJSON_AddNumberToObject(s, "bytes_needed", (double)r->bytes_needed);
    if (fista) {
        cJSON_AddNumberToObject(s, "lipschitz", r->lipschitz);
        cJSON_AddNumberToObject(s, "restarts", r->restarts);
        cJSON_AddNumberToObject(s, "metric_ratio", r->metric_ratio);
    }
    if (gpcg) {
        cJSON_AddNumberToObject(s, "gp_steps", r->gp_steps);
        cJSON_AddNumberToObject(s, "cg_steps", r->cg_steps);
        cJSON_AddNumberToObject(s, "faces", r->faces);
    }
    cJSON *m = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(m, "kind", kernest_model_name(r->model));
    if (kernest_model_order_range(r->model, NULL, NULL))
        cJSON_AddNumberToObject(m, "order", r->order);
    if (r->profile && r->model == KERNEST_MODEL_LOWRANK) {
        /* U then V, factor by factor, per kernel (kernest.h) */
        const size_t R = (size_t)r->order;
        cJSON_AddItemToObject(m, "u", kernels_json(r, 0, R, r->kh));
        cJSON_AddItemToObject(m, "v", kernels_json(r, R * r->kh, R, r->kw));
        cJSON *o = cJSON_AddObjectToObject(m, "als");
        cJSON_AddNumberToObject(o, "sweeps", r->outer_iterations);
        cJSON_AddNumberToObject(o, "inner_iterations", (double)r->inner_iterations);
        cJSON_AddStringToObject(o, "stop_reason", kernest_stop_reason_name(r->outer_reason));
        cJSON_AddNumberToObject(o, "relative_change", r->outer_change);
    } else if (r->profile) {
        /* radial: f(r); harmonic: f_0, then f_1, g_1, ... (kernest.h), per kernel */
        const size_t nk = (r->channels_out ? r->channels_out : 1) * report_kernel_in(r);
        cJSON_AddItemToObject(m, r->model == KERNEST_MODEL_HARMONIC ? "coefficients" : "profile",
                              kernels_json(r, 0, 0, r->nprofile / nk));
    }
    if (r->background) { /* --bias: the C_out offsets of the output channels */
        cJSON *bg = cJSON_AddArrayToObject(root, r->bias ? "bias" : "background");
        for (size_t i = 0; i < r->nbackground; i++)
            cJSON_AddItemToArray(bg, cJSON_CreateNumber(r->background[i]));
    }
    cJSON *d = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(d, "backend", r->backend);
    cJSON_AddStringToObject(d, "description", r->device);
    cJSON_AddStringToObject(d, "precision", precision_name(r->precision));
    cJSON_AddBoolToObject(d, "reused_setup", r->setup_reused != 0);
    cJSON *t = cJSON_AddObjectToObject(root, "time_seconds");
    cJSON_AddNumberToObject(t, "setup", r->setup_seconds);
    cJSON_AddNumberToObject(t, "solve", r->solve_seconds);
    const double its = r->inner_iterations ? (double)r->inner_iterations : (double)r->iterations;
    cJSON_AddNumberToObject(t, "per_iteration", its > 0 ? r->solve_seconds / its : 0.0);
    cJSON_AddNumberToObject(t, "wall", r->wall_seconds);
    if (r->ranks > 1) {
        cJSON *mp = cJSON_AddObjectToObject(root, "mpi");
        cJSON_AddNumberToObject(mp, "ranks", r->ranks);
        cJSON_AddNumberToObject(mp, "comm_seconds", r->comm_seconds);
        cJSON_AddNumberToObject(mp, "stage_seconds", r->stage_seconds);
    }
    cJSON_AddNumberToObject(s, "resumed_from", r->resumed_from);
    cJSON *w = cJSON_AddArrayToObject(root, "warnings");
    for (size_t i = 0; r->warnings && i < r->nwarnings; i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(r->warnings[i]));
    cJSON *ch = cJSON_AddObjectToObject(root, "channels");
    cJSON_AddNumberToObject(ch, "in", (double)r->channels_in);
    cJSON_AddNumberToObject(ch, "out", (double)r->channels_out);
    cJSON_AddNumberToObject(ch, "groups", opt->geometry.groups > 0 ? opt->geometry.groups : 1);
    cJSON_AddNumberToObject(ch, "samples", (double)r->samples);
    cJSON_AddStringToObject(ch, "layout", kernest_layout_name(opt->layout));
    cJSON_AddBoolToObject(ch, "correlate", opt->correlate != 0);
    auto_json(root, r);
    return root;
}

int kernest_report_to_json(const kernest_report *r, const kernest_options *opt,
                           const char *const *inputs, char **json)
{
    if (!r || !opt || !json)
        return kn_error(KERNEST_E_INVALID, "kernest_report_to_json: NULL argument");
    cJSON *root = report_json(r, opt, inputs);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return kn_error(KERNEST_E_NOMEM, "out of memory while building the report");
    /* hand out memory from malloc so that kernest_free (free) matches whatever cJSON uses */
    *json = strdup(text);
    cJSON_free(text);
    return *json ? KERNEST_OK : kn_error(KERNEST_E_NOMEM, "out of memory while building the report");
}

void kernest_free(void *p)
{
    free(p);
}

int kernest_report_write_json(const char *path, const kernest_report *r,
                              const kernest_options *opt, const char *const *inputs)
{
    if (!path)
        return kn_error(KERNEST_E_INVALID, "kernest_report_write_json: NULL path");
    char *text = NULL;
    int st = kernest_report_to_json(r, opt, inputs, &text);
    if (st)
        return st;
    kn_atomic_file f;
    st = kn_atomic_open(&f, path);
    if (!st) {
        if (fputs(text, f.fp) < 0 || fputc('\n', f.fp) < 0) {
            kn_atomic_abort(&f);
            st = kn_error(KERNEST_E_IO, "%s: write failed", path);
        } else
            st = kn_atomic_commit(&f);
    }
    free(text);
    return st;
}
