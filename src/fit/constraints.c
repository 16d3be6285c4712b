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
    const kn_model_kind *kind = kn_model_kind_of(opt->model);
    if (kind && kind->init) return kind->option; /* a model other than the pixels */
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

/* Holds the unknowns the fixed pixels pin (the pixel, or what the kind says: radial its knot). */
static int apply_fixed(const kernest_options *opt, const kn_model *m, double lo, double hi,
                       double *keep, double *fixv, char *pinned)
{
    const kn_model_kind *kind = kn_model_kind_of(m->kind);
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
        size_t i = (size_t)y * kw + (size_t)x; /* the pixel itself, unless the kind says otherwise */
        int st = kind->fixed_unknown ? kind->fixed_unknown(m, p, (size_t)y, (size_t)x, &i) : KERNEST_OK;
        if (st)
            return st;
        if (keep[i] == 0.0 && !pinned[i] && p->value != 0.0)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld=%g: the pixel is outside --support (held at 0)",
                            p->row, p->col, p->value);
        if (pinned[i] && fixv[i] != p->value)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld=%g: that %s is already fixed to %g",
                            p->row, p->col, p->value, kind->fixed_what ? kind->fixed_what : "pixel", fixv[i]);
        keep[i] = 0.0;
        fixv[i] = p->value;
        pinned[i] = 1;
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
    const kn_model_kind *kind = kn_model_kind_of(m->kind);
    int st = kind->refuse ? kind->refuse(opt) : KERNEST_OK; /* what its unknowns cannot take */
    if (st)
        return st;
    const int pixels = !kind->init; /* the unknowns are the kernels' pixels */
    if (opt->tv > 0 && !pixels)
        return kn_error(KERNEST_E_INVALID, "--reg tv: only with --model pixel (TV acts on the kernel's "
                        "pixels; a profile has its own --reg grad)");
    s->tv = opt->tv;
    s->kh = m->kh;
    s->kw = m->kw;
    /* pixels of several kernels: the sum and TV act on each kernel; the other models take neither
     * (refused by their kind), and what they take acts entry by entry */
    s->nk = pixels && m->nk > 1 ? m->nk : 1;
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
        if ((st = kind->support(opt, m, c->keep)))
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
        const size_t nk = m->nk ? m->nk : 1, per = kn_model_per_kernel(m);
        if (opt->correlate && pixels) {
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
