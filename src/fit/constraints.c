/* constraints.c — the options' priors as a prox spec on the model's unknowns (pixels or knots). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "constraints.h"
#include "base/error.h"
#include "backend/problem.h"
#include "base/sysmem.h"

const char *kn_priors_option(const kernest_options *opt)
{
    if (opt->model == KERNEST_MODEL_RADIAL) return "--model radial";
    if (opt->model == KERNEST_MODEL_HARMONIC) return "--model harmonic";
    if (opt->model == KERNEST_MODEL_LOWRANK) return "--model lowrank";
    if (opt->background) return "--background";
    if (opt->bias) return "--bias";
    if (opt->nonneg) return "--nonneg";
    if (opt->has_bounds) return "--bounds";
    if (opt->has_sum) return "--sum";
    if (opt->support != KERNEST_SUPPORT_NONE) return "--support";
    if (opt->nfixed) return "--fix";
    if (opt->l1 > 0) return "--reg l1";
    if (opt->tv > 0) return "--reg tv";
    return NULL;
}

void kn_constraints_free(kn_constraints *c)
{
    free(c->keep);
    free(c->fixv);
    memset(c, 0, sizeof *c);
}

/* keep[i] = 0 outside the support (pixel model only) */
static int apply_support(const kernest_options *opt, size_t kh, size_t kw, double *keep)
{
    const double cy = (double)((kh - 1) / 2), cx = (double)((kw - 1) / 2);
    switch (opt->support) {
    case KERNEST_SUPPORT_DISK: {
        const double R = opt->support_radius;
        if (!(R >= 0) || !isfinite(R))
            return kn_error(KERNEST_E_INVALID, "--support disk:R: R must be a finite number >= 0, got %g", R);
        for (size_t y = 0; y < kh; y++)
            for (size_t x = 0; x < kw; x++) {
                double dy = (double)y - cy, dx = (double)x - cx;
                keep[y * kw + x] = dy * dy + dx * dx <= R * R;
            }
        return KERNEST_OK;
    }
    case KERNEST_SUPPORT_BOX: {
        const size_t h = opt->support_h, w = opt->support_w;
        if (!h || !w || h > kh || w > kw)
            return kn_error(KERNEST_E_INVALID, "--support box:%zux%zu: must be non-empty and fit in the "
                            "%zux%zu kernel", h, w, kh, kw);
        const size_t r0 = (kh - 1) / 2 - (h - 1) / 2, c0 = (kw - 1) / 2 - (w - 1) / 2;
        for (size_t y = 0; y < kh; y++)
            for (size_t x = 0; x < kw; x++)
                keep[y * kw + x] = y >= r0 && y < r0 + h && x >= c0 && x < c0 + w;
        return KERNEST_OK;
    }
    case KERNEST_SUPPORT_MASK: {
        const kernest_array *m = opt->support_mask;
        if (!m || m->ndim != 2 || m->shape[0] != kh || m->shape[1] != kw)
            return kn_error(KERNEST_E_SHAPE, "--support: the mask is %zux%zu but the kernel is %zux%zu",
                            m && m->ndim == 2 ? m->shape[0] : 0, m && m->ndim == 2 ? m->shape[1] : 0, kh, kw);
        for (size_t i = 0; i < kh * kw; i++) {
            if (isnan(m->data[i]))
                return kn_error(KERNEST_E_VALUE, "--support: the mask holds NaN");
            keep[i] = m->data[i] != 0.0;
        }
        return KERNEST_OK;
    }
    default:
        return kn_error(KERNEST_E_INVALID, "--support: unknown kind %d", (int)opt->support);
    }
}

/* Holds the unknowns the fixed pixels pin (pixel: the pixel; radial: its knot). */
static int apply_fixed(const kernest_options *opt, const kn_model *m, double lo, double hi,
                       double *keep, double *fixv, char *pinned)
{
    const size_t kh = m->kh, kw = m->kw;
    const long cy = (long)((kh - 1) / 2), cx = (long)((kw - 1) / 2);
    for (size_t f = 0; f < opt->nfixed; f++) {
        const kernest_fixed_pixel *p = &opt->fixed[f];
        const long y = cy + p->row, x = cx + p->col;
        if (y < 0 || x < 0 || y >= (long)kh || x >= (long)kw)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld: outside the %zux%zu kernel (rows %ld..%ld, "
                            "columns %ld..%ld from the centre)", p->row, p->col, kh, kw, -cy,
                            (long)kh - 1 - cy, -cx, (long)kw - 1 - cx);
        if (!isfinite(p->value) || p->value < lo || p->value > hi)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld=%g: the value must be finite and within the "
                            "bounds [%g, %g]", p->row, p->col, p->value, lo, hi);
        size_t i = (size_t)y * kw + (size_t)x;
        if (m->kind == KERNEST_MODEL_HARMONIC)
            i = 0; /* the centre (model_refusals allows no other): f_0 at r = 0 alone reaches it */
        if (m->kind == KERNEST_MODEL_RADIAL && !kn_radial_knot(kh, kw, (size_t)y, (size_t)x, &i))
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld: with --model radial a fixed pixel must lie at "
                            "a whole-number distance from the centre (this one ties two profile knots)",
                            p->row, p->col);
        if (keep[i] == 0.0 && !pinned[i] && p->value != 0.0)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld=%g: the pixel is outside --support (held at 0)",
                            p->row, p->col, p->value);
        if (pinned[i] && fixv[i] != p->value)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld=%g: that %s is already fixed to %g",
                            p->row, p->col, p->value,
                            m->kind == KERNEST_MODEL_RADIAL ? "distance from the centre" : "pixel", fixv[i]);
        keep[i] = 0.0;
        fixv[i] = p->value;
        pinned[i] = 1;
    }
    return KERNEST_OK;
}

/* What the harmonic and low-rank models cannot take. harmonic: the coefficients are not pixels,
 * so bounds on K are not bounds on them; lowrank: --nonneg makes both factors >= 0 (so K >= 0),
 * box:HxW is separable (rows of U, columns of V); nothing else maps onto the factors. */
static int model_refusals(const kernest_options *opt, const kn_model *m)
{
    const char *name = m->kind == KERNEST_MODEL_HARMONIC ? "harmonic" : "lowrank";
    const char *what = m->kind == KERNEST_MODEL_HARMONIC ? "the harmonic coefficients"
                                                        : "the factors u_r, v_r";
    if (m->kind != KERNEST_MODEL_HARMONIC && m->kind != KERNEST_MODEL_LOWRANK)
        return KERNEST_OK;
    if (m->kind == KERNEST_MODEL_HARMONIC && opt->nonneg)
        return kn_error(KERNEST_E_INVALID, "--nonneg: not available with --model harmonic (K >= 0 is not a "
                        "bound on %s; use --model radial, lowrank or pixel)", what);
    if (opt->has_bounds)
        return kn_error(KERNEST_E_INVALID, "--bounds: not available with --model %s (not a bound on %s)", name, what);
    if (opt->has_sum)
        return kn_error(KERNEST_E_INVALID, "--sum: not available with --model %s", name);
    if (opt->l1 > 0)
        return kn_error(KERNEST_E_INVALID, "--reg l1: not available with --model %s", name);
    if (m->kind == KERNEST_MODEL_HARMONIC && opt->support != KERNEST_SUPPORT_NONE &&
        opt->support != KERNEST_SUPPORT_DISK)
        return kn_error(KERNEST_E_INVALID, "--support: only disk:R with --model harmonic (the profiles are "
                        "held at 0 beyond r = R)");
    if (m->kind == KERNEST_MODEL_LOWRANK && opt->support != KERNEST_SUPPORT_NONE &&
        opt->support != KERNEST_SUPPORT_BOX)
        return kn_error(KERNEST_E_INVALID, "--support: only box:HxW with --model lowrank (a disk or a mask is "
                        "not separable)");
    if (m->kind == KERNEST_MODEL_LOWRANK && opt->nfixed)
        return kn_error(KERNEST_E_INVALID, "--fix: not available with --model lowrank");
    for (size_t f = 0; m->kind == KERNEST_MODEL_HARMONIC && f < opt->nfixed; f++)
        if (opt->fixed[f].row || opt->fixed[f].col)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld: with --model harmonic only the centre (0,0) can "
                            "be fixed (any other pixel ties several profiles)", opt->fixed[f].row, opt->fixed[f].col);
    return KERNEST_OK;
}

/* the unknowns of one kernel (the first nx/nk; the other kernels' blocks follow) */
static size_t per_kernel(const kn_model *m)
{
    return m->nx / (m->nk ? m->nk : 1);
}

/* radial, harmonic disk:R: every profile held at 0 on knots r > R, so K = 0 beyond ⌊R⌋ + 1 px
 * (pixels between ⌊R⌋ and ⌊R⌋ + 1 px see the last free knot through the interpolation); the
 * first kernel's unknowns */
static int profile_disk(const kernest_options *opt, const kn_model *m, double *keep)
{
    const double R = opt->support_radius;
    if (!(R >= 0) || !isfinite(R))
        return kn_error(KERNEST_E_INVALID, "--support disk:R: R must be a finite number >= 0, got %g", R);
    const size_t p = kn_radial_knots(m->kh, m->kw);
    for (size_t i = 0; i < per_kernel(m); i++) {
        const size_t knot = i < p ? i : 1 + (i - p) % (p - 1); /* harmonic: f_0, then blocks of knots 1.. */
        keep[i] = (double)knot <= R;
    }
    return KERNEST_OK;
}

/* lowrank box:HxW: keep the rows of U (side 0) or the columns of V (side 1) inside the box, or
 * both (side 2: R U factors, then R V factors); the first kernel's unknowns */
static int lowrank_box(const kernest_options *opt, const kn_model *m, double *keep)
{
    const size_t h = opt->support_h, w = opt->support_w, kh = m->kh, kw = m->kw;
    if (!h || !w || h > kh || w > kw)
        return kn_error(KERNEST_E_INVALID, "--support box:%zux%zu: must be non-empty and fit in the "
                        "%zux%zu kernel", h, w, kh, kw);
    const size_t nu = m->side == 2 ? (size_t)m->order * kh : 0;
    for (size_t i = 0; i < per_kernel(m); i++) {
        const int rows = m->side == 0 || (m->side == 2 && i < nu);
        const size_t len = rows ? kh : kw, ext = rows ? h : w, first = (len - 1) / 2 - (ext - 1) / 2;
        const size_t k = (i < nu ? i : i - nu) % len;
        keep[i] = k >= first && k < first + ext;
    }
    return KERNEST_OK;
}

int kn_constraints_build(const kernest_options *opt, const kn_model *m, kn_constraints *c)
{
    memset(c, 0, sizeof *c);
    kn_prox_spec *s = &c->spec;
    s->n = m->nx;
    s->l1 = opt->l1;
    s->lo = opt->has_bounds ? opt->lower : -INFINITY;
    s->hi = opt->has_bounds ? opt->upper : INFINITY;
    if (opt->nonneg)
        s->lo = fmax(s->lo, 0.0);
    if (!(s->lo <= s->hi))
        return kn_error(KERNEST_E_INVALID, "%s: the bounds [%g, %g] are empty",
                        opt->nonneg ? "--nonneg/--bounds" : "--bounds", s->lo, s->hi);
    s->has_sum = opt->has_sum;
    s->sum = opt->sum;
    int st = model_refusals(opt, m);
    if (st)
        return st;
    const int radial = m->kind == KERNEST_MODEL_RADIAL;
    if (opt->tv > 0 && m->kind != KERNEST_MODEL_PIXEL)
        return kn_error(KERNEST_E_INVALID, "--reg tv: only with --model pixel (TV acts on the kernel's "
                        "pixels; a profile has its own --reg grad)");
    s->tv = opt->tv;
    s->kh = m->kh;
    s->kw = m->kw;
    /* pixels of several kernels: the sum and TV act on each kernel; the other models take neither
     * (refused here), and what they take acts entry by entry */
    s->nk = m->kind == KERNEST_MODEL_PIXEL && m->nk > 1 ? m->nk : 1;
    if (radial && opt->support != KERNEST_SUPPORT_NONE && opt->support != KERNEST_SUPPORT_DISK)
        return kn_error(KERNEST_E_INVALID, "--support: only disk:R with --model radial (the profile is "
                        "held at 0 beyond r = R)");
    if (radial && opt->has_sum)
        return kn_error(KERNEST_E_INVALID, "--sum: not available with --model radial yet");
    if (opt->support == KERNEST_SUPPORT_NONE && !opt->nfixed)
        return KERNEST_OK;
    /* pinned (1 byte), keep and fixv (8 bytes each) per unknown, refused before allocation */
    st = kn_host_check("--support/--fix: the masks", s->n ? s->n : 1, 17);
    if (st)
        return st;
    char *pinned = calloc(s->n ? s->n : 1, 1);
    c->keep = malloc((s->n ? s->n : 1) * sizeof *c->keep);
    c->fixv = calloc(s->n ? s->n : 1, sizeof *c->fixv);
    if (!pinned || !c->keep || !c->fixv) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the constraints");
        goto done;
    }
    for (size_t i = 0; i < s->n; i++)
        c->keep[i] = 1.0;
    if (opt->support != KERNEST_SUPPORT_NONE) {
        if ((st = m->kind == KERNEST_MODEL_LOWRANK ? lowrank_box(opt, m, c->keep)
                  : m->kind == KERNEST_MODEL_PIXEL ? apply_support(opt, m->kh, m->kw, c->keep)
                                                   : profile_disk(opt, m, c->keep)))
            goto done;
        if (!(s->lo <= 0 && 0 <= s->hi))
            for (size_t i = 0; i < s->n; i++)
                if (c->keep[i] == 0.0) {
                    st = kn_error(KERNEST_E_INVALID, "--support: pixels outside the support are 0, which "
                                  "the bounds [%g, %g] exclude", s->lo, s->hi);
                    goto done;
                }
    }
    if ((st = apply_fixed(opt, m, s->lo, s->hi, c->keep, c->fixv, pinned)))
        goto done;
    {
        /* support and fixed pixels were given for one kernel, and were mapped onto the first
         * kernel's unknowns: pixels with --correlate in the flipped (cross-correlation) frame the
         * solve does not use (the profile models' unknowns are not pixels: their disk, box and
         * centre stay in the solve's frame, the same as the flipped one for odd sizes); then the
         * same for every kernel */
        const size_t nk = m->nk ? m->nk : 1, per = per_kernel(m);
        if (opt->correlate && m->kind == KERNEST_MODEL_PIXEL) {
            kn_flip_kernels(c->keep, 1, m->kh, m->kw);
            kn_flip_kernels(c->fixv, 1, m->kh, m->kw);
        }
        for (size_t k = 1; k < nk; k++) {
            memcpy(c->keep + k * per, c->keep, per * sizeof *c->keep);
            memcpy(c->fixv + k * per, c->fixv, per * sizeof *c->fixv);
        }
    }
    s->keep = c->keep;
    int anyfix = 0;
    for (size_t i = 0; i < s->n && !anyfix; i++)
        anyfix = c->fixv[i] != 0.0;
    if (anyfix)
        s->fixv = c->fixv;
done:
    free(pinned);
    if (st)
        kn_constraints_free(c);
    return st;
}
