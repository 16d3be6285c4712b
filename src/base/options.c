/* model.c — the convolution model's vocabulary: modes, output windows, regularisers, defaults. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "options.h"

static const char *const mode_names[] = {"full", "same", "valid"};
static const char *const reg_names[] = {"none", "ridge", "grad"};
static const char *const layout_names[] = {"auto", "chw", "nchw"};
static const char *const stop_names[] = {"converged", "max-iterations", "breakdown", "non-finite",
                                            "interrupted"};

int kernest_mode_parse(const char *s)
{
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, mode_names[i]))
            return i;
    return -1;
}

const char *kernest_mode_name(kernest_mode mode)
{
    return (unsigned)mode < 3 ? mode_names[mode] : "?";
}

int kernest_reg_parse(const char *s)
{
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, reg_names[i]))
            return i;
    return -1;
}

const char *kernest_reg_name(kernest_reg reg)
{
    return (unsigned)reg < 3 ? reg_names[reg] : "?";
}

int kernest_layout_parse(const char *s)
{
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, layout_names[i]))
            return i;
    return -1;
}

const char *kernest_layout_name(kernest_layout layout)
{
    return (unsigned)layout < 3 ? layout_names[layout] : "?";
}

const char *kernest_stop_reason_name(kernest_stop_reason r)
{
    return (unsigned)r < sizeof stop_names / sizeof *stop_names ? stop_names[r] : "?";
}

void kernest_options_default(kernest_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->mode = KERNEST_MODE_SAME;
    opt->reg = KERNEST_REG_NONE;
    opt->tol = 1e-6;
    opt->maxiter = 500;
    opt->precision = KERNEST_PRECISION_DEFAULT;
    opt->device = KERNEST_DEVICE_AUTO;
    opt->device_index = -1;
    opt->checkpoint_every = 60.0;
    opt->select = KERNEST_SELECT_CV;
    opt->cv_folds = 5;
    opt->probes = 2;
    opt->seed = 1;
    opt->outer_maxiter = 30;
    opt->outer_tol = 1e-4;
}

/* The window of the full (ha+kh-1)×(wa+kw-1) result each mode keeps, as scipy.signal.convolve2d:
 * same starts at ((kh-1)/2, (kw-1)/2) with A's shape; valid keeps what does not touch the zero
 * padding, which needs one input at least as large as the other in both dimensions. */
int kernest_output_shape(kernest_mode mode, size_t ha, size_t wa, size_t kh, size_t kw,
                         size_t *hb, size_t *wb, size_t *row0, size_t *col0)
{
    size_t h, w, r, c;
    if (!ha || !wa || !kh || !kw)
        return kn_error(KERNEST_E_SHAPE, "empty array: A is %zux%zu, K is %zux%zu", ha, wa, kh, kw);
    size_t fh, fw;
    if (kn_add_size(ha, kh - 1, &fh) || kn_add_size(wa, kw - 1, &fw))
        return kn_error(KERNEST_E_TOOBIG, "full convolution size overflows");
    switch (mode) {
    case KERNEST_MODE_FULL:
        h = fh, w = fw, r = 0, c = 0;
        break;
    case KERNEST_MODE_SAME:
        h = ha, w = wa, r = (kh - 1) / 2, c = (kw - 1) / 2;
        break;
    case KERNEST_MODE_VALID: {
        int a_big = ha >= kh && wa >= kw, k_big = kh >= ha && kw >= wa;
        if (!a_big && !k_big)
            return kn_error(KERNEST_E_SHAPE,
                            "mode valid: A (%zux%zu) and K (%zux%zu) must be at least as large "
                            "as each other in both dimensions", ha, wa, kh, kw);
        h = (ha > kh ? ha - kh : kh - ha) + 1;
        w = (wa > kw ? wa - kw : kw - wa) + 1;
        r = (ha < kh ? ha : kh) - 1;
        c = (wa < kw ? wa : kw) - 1;
        break;
    }
    default:
        return kn_error(KERNEST_E_INVALID, "unknown mode %d", (int)mode);
    }
    if (hb) *hb = h;
    if (wb) *wb = w;
    if (row0) *row0 = r;
    if (col0) *col0 = c;
    return KERNEST_OK;
}

int kn_options_check(const kernest_options *opt)
{
    if ((unsigned)opt->reg > KERNEST_REG_GRAD)
        return kn_error(KERNEST_E_INVALID, "--reg: unknown regulariser %d", (int)opt->reg);
    if (!(opt->lambda >= 0) || !isfinite(opt->lambda))
        return kn_error(KERNEST_E_INVALID, "--lambda: must be a finite number >= 0, got %g", opt->lambda);
    if (!(opt->tol >= 0) || !isfinite(opt->tol))
        return kn_error(KERNEST_E_INVALID, "--tol: must be a finite number >= 0, got %g", opt->tol);
    if (opt->maxiter < 0)
        return kn_error(KERNEST_E_INVALID, "--maxiter: must be >= 0, got %d", opt->maxiter);
    if ((unsigned)opt->precision > KERNEST_PRECISION_DEFAULT)
        return kn_error(KERNEST_E_INVALID, "--precision: unknown precision %d", (int)opt->precision);
    if ((unsigned)opt->model > KERNEST_MODEL_LOWRANK)
        return kn_error(KERNEST_E_INVALID, "--model: unknown model %d", (int)opt->model);
    if (opt->model == KERNEST_MODEL_HARMONIC && (opt->order < 0 || opt->order > 64))
        return kn_error(KERNEST_E_INVALID, "--model harmonic:M: M must be 0..64, got %d", opt->order);
    if (opt->model == KERNEST_MODEL_LOWRANK && (opt->order < 1 || opt->order > 64))
        return kn_error(KERNEST_E_INVALID, "--model lowrank:R: R must be 1..64, got %d", opt->order);
    if (opt->model == KERNEST_MODEL_LOWRANK && opt->outer_maxiter < 1)
        return kn_error(KERNEST_E_INVALID, "--outer-maxiter: must be >= 1, got %d", opt->outer_maxiter);
    if (!(opt->outer_tol >= 0) || !isfinite(opt->outer_tol))
        return kn_error(KERNEST_E_INVALID, "--outer-tol: must be a finite number >= 0, got %g", opt->outer_tol);
    if ((unsigned)opt->solver > KERNEST_SOLVER_FISTA)
        return kn_error(KERNEST_E_INVALID, "--solver: unknown solver %d", (int)opt->solver);
    if (!(opt->l1 >= 0) || !isfinite(opt->l1))
        return kn_error(KERNEST_E_INVALID, "--reg l1: the weight must be a finite number >= 0, got %g", opt->l1);
    if (!(opt->tv >= 0) || !isfinite(opt->tv))
        return kn_error(KERNEST_E_INVALID, "--reg tv: the weight must be a finite number >= 0, got %g", opt->tv);
    if (opt->has_bounds && (isnan(opt->lower) || isnan(opt->upper) || opt->lower > opt->upper ||
                            opt->lower == INFINITY || opt->upper == -INFINITY))
        return kn_error(KERNEST_E_INVALID, "--bounds: need LO <= HI, got %g,%g", opt->lower, opt->upper);
    if (opt->has_sum && !isfinite(opt->sum))
        return kn_error(KERNEST_E_INVALID, "--sum: must be a finite number, got %g", opt->sum);
    if ((unsigned)opt->support > KERNEST_SUPPORT_MASK)
        return kn_error(KERNEST_E_INVALID, "--support: unknown kind %d", (int)opt->support);
    if (opt->support == KERNEST_SUPPORT_MASK && !opt->support_mask)
        return kn_error(KERNEST_E_INVALID, "--support: the mask is NULL");
    if (opt->nfixed && !opt->fixed)
        return kn_error(KERNEST_E_INVALID, "--fix: %zu fixed pixels but the list is NULL", opt->nfixed);
    return KERNEST_OK;
}
