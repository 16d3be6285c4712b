/* options.c — the options' defaults and the checks that do not depend on the data, and the
 * output window of each mode. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "names.h"
#include "options.h"

size_t kernest_options_size(void)
{
    return sizeof(kernest_options);
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
    opt->geometry = (kernest_geometry){1, 1, 1, 1, 1};
}

int kn_geometry_check(const kernest_geometry *g)
{
    if (!g)
        return KERNEST_OK;
    if (g->stride_h < 1 || g->stride_w < 1)
        return kn_error(KERNEST_E_INVALID, "--stride: must be >= 1, got %dx%d", g->stride_h, g->stride_w);
    if (g->dilation_h < 1 || g->dilation_w < 1)
        return kn_error(KERNEST_E_INVALID, "--dilation: must be >= 1, got %dx%d", g->dilation_h, g->dilation_w);
    if (g->groups < 1)
        return kn_error(KERNEST_E_INVALID, "--groups: must be >= 1, got %d", g->groups);
    return KERNEST_OK;
}

int kn_geometry_resolve(const kernest_geometry *g, kernest_geometry *out)
{
    int st = kn_geometry_check(g);
    if (!st)
        *out = g ? *g : (kernest_geometry){1, 1, 1, 1, 1};
    return st;
}

int kn_geometry_is_plain(const kernest_geometry *g)
{
    return !g || (g->stride_h == 1 && g->stride_w == 1 && g->dilation_h == 1 && g->dilation_w == 1 &&
                  g->groups == 1);
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
    int lo, hi;
    if (kernest_model_order_range(opt->model, &lo, &hi) && (opt->order < lo || opt->order > hi))
        return kn_error(KERNEST_E_INVALID, "--model %s:%s: %s must be %d..%d, got %d",
                        kernest_model_name(opt->model), opt->model == KERNEST_MODEL_HARMONIC ? "M" : "R",
                        opt->model == KERNEST_MODEL_HARMONIC ? "M" : "R", lo, hi, opt->order);
    if (opt->model == KERNEST_MODEL_LOWRANK && opt->outer_maxiter < 1)
        return kn_error(KERNEST_E_INVALID, "--outer-maxiter: must be >= 1, got %d", opt->outer_maxiter);
    if (!(opt->outer_tol >= 0) || !isfinite(opt->outer_tol))
        return kn_error(KERNEST_E_INVALID, "--outer-tol: must be a finite number >= 0, got %g", opt->outer_tol);
    if ((unsigned)opt->solver > KERNEST_SOLVER_GPCG)
        return kn_error(KERNEST_E_INVALID, "--solver: unknown solver %d", (int)opt->solver);
    if ((unsigned)opt->precond > KERNEST_PRECOND_MEAN)
        return kn_error(KERNEST_E_INVALID, "--precond: unknown preconditioner %d", (int)opt->precond);
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
    if (opt->padding && ((unsigned)opt->padding_mode > KERNEST_PAD_CIRCULAR || opt->pad_h < -1 || opt->pad_w < -1))
        return kn_error(KERNEST_E_INVALID, "--padding: %d,%d in mode %d is not a padding", opt->pad_h,
                        opt->pad_w, (int)opt->padding_mode);
    int st = kn_geometry_check(&opt->geometry);
    if (st)
        return st;
    if ((opt->geometry.stride_h > 1 || opt->geometry.stride_w > 1 || opt->geometry.dilation_h > 1 ||
         opt->geometry.dilation_w > 1) && (!opt->kh || !opt->kw))
        return kn_error(KERNEST_E_INVALID, "--ksize: needed with --stride or --dilation (the kernel's "
                        "size cannot be read from the data then)");
    if (opt->bias && opt->background)
        return kn_error(KERNEST_E_INVALID, "--bias: not with --background (one offset per sample and "
                        "channel already holds one per channel)");
    if (opt->model == KERNEST_MODEL_LOWRANK && (opt->checkpoint || opt->resume))
        return kn_error(KERNEST_E_INVALID, "%s: not with --model lowrank (its alternating half-steps "
                        "have no single solver state to save)", opt->checkpoint ? "--checkpoint" : "--resume");
    if (opt->uncertainty < 0 || opt->uncertainty > 100000)
        return kn_error(KERNEST_E_INVALID, "--samples: must be 2..100000, got %d", opt->uncertainty);
    if (opt->auto_lambda || opt->auto_model || opt->auto_l1)
        return kn_options_check_select(opt);
    return KERNEST_OK;
}

int kn_options_check_select(const kernest_options *opt)
{
    if ((unsigned)opt->select > KERNEST_SELECT_LCURVE)
        return kn_error(KERNEST_E_INVALID, "--select: unknown rule %d", (int)opt->select);
    if (opt->cv_folds < 2 || opt->cv_folds > 100)
        return kn_error(KERNEST_E_INVALID, "--select cv:K: K must be 2..100, got %d", opt->cv_folds);
    if (opt->probes < 1 || opt->probes > 8)
        return kn_error(KERNEST_E_INVALID, "--probes: must be 1..8, got %d", opt->probes);
    if (!(opt->sigma >= 0) || !isfinite(opt->sigma))
        return kn_error(KERNEST_E_INVALID, "--sigma: must be a finite number >= 0, got %g", opt->sigma);
    if (opt->auto_l1 && (opt->select != KERNEST_SELECT_CV || opt->auto_model))
        return kn_error(KERNEST_E_INVALID, "--reg l1:auto: the ℓ1 weight is chosen by cross-validation "
                        "for one model (--select cv[:K], not with --model auto)");
    if (opt->auto_model && opt->select != KERNEST_SELECT_CV)
        return kn_error(KERNEST_E_INVALID, "--model auto: candidates are compared by cross-validation; "
                        "--select must be cv or cv:K, got %s", kernest_select_name(opt->select));
    return KERNEST_OK;
}


void kn_options_linear(const kernest_options *opt, kernest_options *out)
{
    *out = *opt;
    out->nonneg = out->has_bounds = out->has_sum = 0;
    out->l1 = out->tv = 0.0;
    out->solver = KERNEST_SOLVER_AUTO;
    /* an auxiliary solve (a sample, a probe, a start) neither writes the user's checkpoint over
     * the estimate's state nor resumes from it */
    out->checkpoint = out->resume = NULL;
}

int kn_options_is_linear(const kernest_options *o)
{
    return !o->nonneg && !o->has_bounds && !o->has_sum && o->l1 == 0 && o->tv == 0 &&
           o->solver != KERNEST_SOLVER_FISTA && o->solver != KERNEST_SOLVER_GPCG;
}
