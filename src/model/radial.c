/* radial.c — the radial model K = Φ(c): a profile on knots 1 px apart, linearly interpolated. */
#include <math.h>

#include "base/error.h"
#include "radial.h"

/* distance of pixel (y, x) from the centre; exact for integer distances (sqrt of a perfect
 * square is exact in IEEE arithmetic), which kn_radial_knot relies on */
static double radius(size_t y, size_t x, size_t kh, size_t kw)
{
    double dy = (double)y - (double)((kh - 1) / 2), dx = (double)x - (double)((kw - 1) / 2);
    return sqrt(dy * dy + dx * dx);
}

size_t kn_radial_knots(size_t kh, size_t kw)
{
    size_t cy = (kh - 1) / 2, cx = (kw - 1) / 2;
    double ry = (double)(cy > kh - 1 - cy ? cy : kh - 1 - cy);
    double rx = (double)(cx > kw - 1 - cx ? cx : kw - 1 - cx);
    return (size_t)ceil(sqrt(ry * ry + rx * rx)) + 1;
}

int kn_radial_phi(size_t kh, size_t kw, kn_csr *phi)
{
    size_t n, nnz;
    const size_t p = kn_radial_knots(kh, kw);
    if (kn_mul_size(kh, kw, &n) || kn_mul_size(n, 2, &nnz))
        return kn_error(KERNEST_E_TOOBIG, "--model radial: a %zux%zu kernel overflows", kh, kw);
    int st = kn_csr_alloc(phi, n, p, nnz);
    if (st)
        return kn_error(st, "--model radial with a %zux%zu kernel: %s", kh, kw, kernest_last_error());
    size_t e = 0;
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            /* K[y,x] = (1 − t) c[j] + t c[j+1], j = floor(r), t = r − j */
            double r = radius(y, x, kh, kw), j = floor(r), t = r - j;
            phi->col[e] = (size_t)j;
            phi->val[e++] = 1.0 - t;
            if (t > 0) {
                phi->col[e] = (size_t)j + 1;
                phi->val[e++] = t;
            }
            phi->row_ptr[y * kw + x + 1] = e;
        }
    return KERNEST_OK;
}

int kn_radial_knot(size_t kh, size_t kw, size_t y, size_t x, size_t *knot)
{
    double r = radius(y, x, kh, kw);
    if (r != floor(r))
        return 0;
    *knot = (size_t)r;
    return 1;
}

int kn_diff_gram_1d(size_t p, kn_csr *g)
{
    /* DᵀD of first differences (D f)_j = f_{j+1} − f_j, j < p−1: tridiagonal, no wrap */
    int st = kn_csr_alloc(g, p, p, 3 * p);
    if (st)
        return st;
    size_t e = 0;
    for (size_t i = 0; i < p; i++) {
        double deg = (i > 0) + (i + 1 < p);
        if (i > 0) {
            g->col[e] = i - 1;
            g->val[e++] = -1.0;
        }
        if (deg > 0) {
            g->col[e] = i;
            g->val[e++] = deg;
        }
        if (i + 1 < p) {
            g->col[e] = i + 1;
            g->val[e++] = -1.0;
        }
        g->row_ptr[i + 1] = e;
    }
    return KERNEST_OK;
}

int kn_diff_gram_blocks(size_t nblocks, const size_t *len, const int *anchored, kn_csr *g)
{
    size_t p = 0;
    for (size_t b = 0; b < nblocks; b++)
        p += len[b];
    int st = kn_csr_alloc(g, p, p, 3 * p);
    if (st)
        return st;
    size_t e = 0, i = 0;
    for (size_t b = 0; b < nblocks; b++)
        for (size_t k = 0; k < len[b]; k++, i++) {
            /* (D f)_k = f_{k+1} − f_k inside the block, plus f_0 − 0 when anchored */
            const int left = k > 0, right = k + 1 < len[b];
            const double deg = left + right + (k == 0 && anchored[b]);
            if (left) {
                g->col[e] = i - 1;
                g->val[e++] = -1.0;
            }
            if (deg > 0) {
                g->col[e] = i;
                g->val[e++] = deg;
            }
            if (right) {
                g->col[e] = i + 1;
                g->val[e++] = -1.0;
            }
            g->row_ptr[i + 1] = e;
        }
    return KERNEST_OK;
}

/* radial, harmonic disk:R: every profile held at 0 on knots r > R, so K = 0 beyond ⌊R⌋ + 1 px
 * (pixels between ⌊R⌋ and ⌊R⌋ + 1 px see the last free knot through the interpolation); the
 * first kernel's unknowns */
int kn_profile_disk(const kernest_options *opt, const kn_model *m, double *keep)
{
    const double R = opt->support_radius;
    if (!(R >= 0) || !isfinite(R))
        return kn_error(KERNEST_E_INVALID, "--support disk:R: R must be a finite number >= 0, got %g", R);
    const size_t p = kn_radial_knots(m->kh, m->kw);
    for (size_t i = 0; i < kn_model_per_kernel(m); i++) {
        const size_t knot = i < p ? i : 1 + (i - p) % (p - 1); /* harmonic: f_0, then blocks of knots 1.. */
        keep[i] = (double)knot <= R;
    }
    return KERNEST_OK;
}

void kn_diff_draw(double *g, size_t len, int anchored, kn_rng *rng)
{
    if (anchored && len)
        g[0] += kn_rng_normal(rng);
    for (size_t j = 0; j + 1 < len; j++) {
        const double e = kn_rng_normal(rng);
        g[j + 1] += e;
        g[j] -= e;
    }
}

/* each of the nk profiles on its own */
static int radial_draw(const kn_model *m, kn_rng *rng, double *g)
{
    const size_t nk = m->nk ? m->nk : 1, per = kn_model_per_kernel(m);
    for (size_t c = 0; c < nk; c++)
        kn_diff_draw(g + c * per, per, 0, rng);
    return 0;
}

static int radial_refuse(const kernest_options *opt)
{
    if (opt->support != KERNEST_SUPPORT_NONE && opt->support != KERNEST_SUPPORT_DISK)
        return kn_error(KERNEST_E_INVALID, "--support: only disk:R with --model radial (the profile is "
                        "held at 0 beyond r = R)");
    if (opt->has_sum)
        return kn_error(KERNEST_E_INVALID, "--sum: not available with --model radial yet");
    return KERNEST_OK;
}

/* a pixel at a whole-number distance r depends on knot r alone */
static int radial_fixed(const kn_model *m, const kernest_fixed_pixel *p, size_t y, size_t x, size_t *i)
{
    if (!kn_radial_knot(m->kh, m->kw, y, x, i))
        return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld: with --model radial a fixed pixel must lie at "
                        "a whole-number distance from the centre (this one ties two profile knots)",
                        p->row, p->col);
    return KERNEST_OK;
}

static int radial_init(kn_model *m, int order)
{
    int st = kn_radial_phi(m->kh, m->kw, &m->phi);
    return st ? st : kn_diff_gram_1d(m->phi.cols, &m->gram);
}

const kn_model_kind kn_kind_radial = {
    .id = KERNEST_MODEL_RADIAL,
    .option = "--model radial",
    .init = radial_init,
    .per_kernel = 1,
    .refuse = radial_refuse,
    .support = kn_profile_disk,
    .fixed_unknown = radial_fixed,
    .fixed_what = "distance from the centre",
    .grad_draw = radial_draw,
};
