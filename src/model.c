/* model.c — the convolution model's vocabulary: modes, output windows, regularisers, defaults. */
#include <string.h>

#include "error.h"

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
