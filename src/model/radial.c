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

static int radial_init(kn_model *m, int order)
{
    int st = kn_radial_phi(m->kh, m->kw, &m->phi);
    return st ? st : kn_diff_gram_1d(m->phi.cols, &m->gram);
}

const kn_model_kind kn_kind_radial = {KERNEST_MODEL_RADIAL, "--model radial", radial_init, 1, NULL};
