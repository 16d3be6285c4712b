/* names.c — the names of the options' values (modes, regularisers, layouts, models, solvers, rules
 * of the automatic choice, stop reasons) as the CLI, reports and Python use them: one table per
 * enum, read by one lookup in each direction (names.h); which models take an order, and its range. */
#include <stdlib.h>
#include <string.h>

#include "names.h"

int kn_name_parse(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (names[i] && !strcmp(s, names[i]))
            return i;
    return -1;
}

const char *kn_name_of(int v, const char *const *names, int n)
{
    return v >= 0 && v < n && names[v] ? names[v] : "?";
}

static const char *const mode_names[] = {"full", "same", "valid"};
static const char *const reg_names[] = {"none", "ridge", "grad"};
static const char *const layout_names[] = {"auto", "chw", "nchw"};
static const char *const model_names[] = {"pixel", "radial", "harmonic", "lowrank"};
static const char *const solver_names[] = {"auto", "cgls", "fista", "gpcg"};
static const char *const precond_names[] = {"auto", "jacobi", "none", "mean"};
static const char *const select_names[] = {"cv", "gcv", "discrepancy", "lcurve"};
static const char *const padding_names[] = {"zeros", "reflect", "replicate", "circular"};
static const char *const stop_names[] = {"converged", "max-iterations", "breakdown", "non-finite",
                                         "interrupted"};

int kernest_mode_parse(const char *s) { return kn_name_parse(s, KN_NAMES(mode_names)); }
const char *kernest_mode_name(kernest_mode v) { return kn_name_of((int)v, KN_NAMES(mode_names)); }
int kernest_reg_parse(const char *s) { return kn_name_parse(s, KN_NAMES(reg_names)); }
const char *kernest_reg_name(kernest_reg v) { return kn_name_of((int)v, KN_NAMES(reg_names)); }
int kernest_layout_parse(const char *s) { return kn_name_parse(s, KN_NAMES(layout_names)); }
const char *kernest_layout_name(kernest_layout v) { return kn_name_of((int)v, KN_NAMES(layout_names)); }
int kernest_model_parse(const char *s) { return kn_name_parse(s, KN_NAMES(model_names)); }
const char *kernest_model_name(kernest_model v) { return kn_name_of((int)v, KN_NAMES(model_names)); }
int kernest_solver_parse(const char *s) { return kn_name_parse(s, KN_NAMES(solver_names)); }
const char *kernest_solver_name(kernest_solver v) { return kn_name_of((int)v, KN_NAMES(solver_names)); }
int kernest_precond_parse(const char *s) { return kn_name_parse(s, KN_NAMES(precond_names)); }
const char *kernest_precond_name(kernest_precond v) { return kn_name_of((int)v, KN_NAMES(precond_names)); }
int kernest_padding_mode_parse(const char *s) { return kn_name_parse(s, KN_NAMES(padding_names)); }
const char *kernest_padding_mode_name(kernest_padding_mode v) { return kn_name_of((int)v, KN_NAMES(padding_names)); }
const char *kernest_select_name(kernest_select v) { return kn_name_of((int)v, KN_NAMES(select_names)); }
const char *kernest_stop_reason_name(kernest_stop_reason v) { return kn_name_of((int)v, KN_NAMES(stop_names)); }

/* the smallest order of each model that takes one; -1: none */
static const int order_min[] = {[KERNEST_MODEL_PIXEL] = -1, [KERNEST_MODEL_RADIAL] = -1,
                                [KERNEST_MODEL_HARMONIC] = 0, [KERNEST_MODEL_LOWRANK] = 1};

int kernest_model_order_range(kernest_model model, int *lo, int *hi)
{
    const int m = (int)model;
    if (m < 0 || m >= (int)(sizeof order_min / sizeof *order_min) || order_min[m] < 0)
        return 0;
    if (lo)
        *lo = order_min[m];
    if (hi)
        *hi = KERNEST_MODEL_MAX_ORDER;
    return 1;
}

/* a rule's name, or "cv:K" (K folds, 2..100; plain "cv" is 5) */
int kernest_select_parse(const char *s, int *folds)
{
    const int i = kn_name_parse(s, KN_NAMES(select_names));
    if (i >= 0) {
        if (i == KERNEST_SELECT_CV && folds)
            *folds = 5;
        return i;
    }
    if (s && !strncmp(s, "cv:", 3)) {
        char *end;
        long k = strtol(s + 3, &end, 10);
        if (end == s + 3 || *end || k < 2 || k > 100)
            return -1;
        if (folds)
            *folds = (int)k;
        return KERNEST_SELECT_CV;
    }
    return -1;
}
