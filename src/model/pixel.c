/* pixel.c — the pixel model: every kernel pixel is an unknown (Φ is the identity); what the
 * priors mean on pixels: --support as a disk, a box or a mask. */
#include <math.h>

#include "base/error.h"
#include "pixel.h"

/* keep[i] = 0 outside the support: a disk, a centred box, or a mask of the kernel's shape */
static int pixel_support(const kernest_options *opt, const kn_model *m, double *keep)
{
    const size_t kh = m->kh, kw = m->kw;
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

/* each of the nk kernels on its own: the differences along rows and along columns */
static int pixel_draw(const kn_model *m, kn_rng *rng, double *g)
{
    const size_t nk = m->nk ? m->nk : 1, h = m->kh, w = m->kw;
    for (size_t c = 0; c < nk; c++) {
        double *gc = g + c * h * w;
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < w; x++) {
                if (x + 1 < w) { /* η for (Lk) = k[y,x+1] − k[y,x] */
                    double e = kn_rng_normal(rng);
                    gc[y * w + x + 1] += e;
                    gc[y * w + x] -= e;
                }
                if (y + 1 < h) {
                    double e = kn_rng_normal(rng);
                    gc[(y + 1) * w + x] += e;
                    gc[y * w + x] -= e;
                }
            }
    }
    return 0;
}

const kn_model_kind kn_kind_pixel = {
    .id = KERNEST_MODEL_PIXEL,
    .option = "--model pixel",
    .support = pixel_support,
    .fixed_what = "pixel",
    .grad_draw = pixel_draw,
};
