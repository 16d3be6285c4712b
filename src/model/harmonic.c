/* harmonic.c — the harmonic model K(r, θ) = f_0(r) + Σ_m f_m(r) cos mθ + g_m(r) sin mθ:
 * every profile on the radial knots 1 px apart, linearly interpolated, as a host CSR Φ. */
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "harmonic.h"
#include "radial.h"

double kn_harmonic_angular(size_t b, size_t j)
{
    const double m = (double)((b + 1) / 2);
    return m * m / (double)j;
}

size_t kn_harmonic_unknowns(size_t p, int M)
{
    return p + 2 * (size_t)M * (p - 1);
}

/*
 * Columns: f_0 knot j (j = 0..p−1) is column j; f_m knot j (m >= 1, j = 1..p−1) is column
 * p + (2(m−1))(p−1) + j − 1 and g_m knot j the next block. The angular terms vanish at r = 0
 * (θ is undefined there; a smooth kernel has f_m(r) = O(r^m)), so only f_0 reaches the centre,
 * and every other pixel has r >= 1, between knots j >= 1 and j + 1.
 * θ = atan2(dy, dx), dy the row offset (rows grow downwards), dx the column offset: θ turns from
 * the +column axis towards +row, the ANGLE convention of kernest synth.
 */
int kn_harmonic_phi(size_t kh, size_t kw, int M, kn_csr *phi, kn_csr *gram)
{
    const size_t n = kh * kw, p = kn_radial_knots(kh, kw), q = p - 1;
    const size_t nx = kn_harmonic_unknowns(p, M);
    int st = kn_csr_alloc(phi, n, nx, n * (2 + 4 * (size_t)M));
    if (st)
        return st;
    const double cy = (double)((kh - 1) / 2), cx = (double)((kw - 1) / 2);
    size_t e = 0;
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            const double dy = (double)y - cy, dx = (double)x - cx;
            const double r = sqrt(dy * dy + dx * dx), fj = floor(r), t = r - fj;
            const size_t j = (size_t)fj;
            const double th = atan2(dy, dx);
            phi->col[e] = j; /* f_0 */
            phi->val[e++] = 1.0 - t;
            if (t > 0) {
                phi->col[e] = j + 1;
                phi->val[e++] = t;
            }
            for (int m = 1; m <= M && j >= 1; m++) {
                const double w[2] = {cos(m * th), sin(m * th)};
                for (int s = 0; s < 2; s++) {
                    const size_t base = p + (size_t)(2 * (m - 1) + s) * q - 1; /* + knot index */
                    phi->col[e] = base + j;
                    phi->val[e++] = (1.0 - t) * w[s];
                    if (t > 0) {
                        phi->col[e] = base + j + 1;
                        phi->val[e++] = t * w[s];
                    }
                }
            }
            phi->row_ptr[y * kw + x + 1] = e;
        }
    /* G: smoothness along r of every profile (first differences); the angular ones from their 0
     * at r = 0 */
    const size_t nb = 1 + 2 * (size_t)M;
    size_t *len = malloc(nb * sizeof *len);
    int *anch = malloc(nb * sizeof *anch);
    if (!len || !anch) {
        st = kn_error(KERNEST_E_NOMEM, "--model harmonic: out of memory");
    } else {
        len[0] = p;
        anch[0] = 0;
        for (size_t b = 1; b < nb; b++) {
            len[b] = q;
            anch[b] = 1;
        }
        st = kn_diff_gram_blocks(nb, len, anch, gram);
    }
    /* + the angular part of |∇K|², ∫ (∂_θ K)²/r² r dr dθ = π Σ m² ∫ (f_m² + g_m²)/r dr, as
     * m² f_m(j)²/j at each knot j >= 1 (the constant π goes into λ): it shrinks the angular terms
     * most near the centre, where a ring of few pixels cannot tell them apart. Every row of an
     * anchored block has its diagonal entry. */
    for (size_t b = 1; !st && b < nb; b++)
        for (size_t j = 1; j <= q; j++) {
            const size_t i = p + (b - 1) * q + j - 1;
            for (size_t e2 = gram->row_ptr[i]; e2 < gram->row_ptr[i + 1]; e2++)
                if (gram->col[e2] == i)
                    gram->val[e2] += kn_harmonic_angular(b, j);
        }
    free(len);
    free(anch);
    if (st)
        kn_csr_free(phi);
    return st;
}

/* the coefficients are not pixels: bounds on K are not bounds on them */
static int harmonic_refuse(const kernest_options *opt)
{
    const char *what = "the harmonic coefficients";
    if (opt->nonneg)
        return kn_error(KERNEST_E_INVALID, "--nonneg: not available with --model harmonic (K >= 0 is not a "
                        "bound on %s; use --model radial, lowrank or pixel)", what);
    int st = kn_kind_refuse_pixel_priors(opt, "harmonic", what);
    if (st)
        return st;
    if (opt->support != KERNEST_SUPPORT_NONE && opt->support != KERNEST_SUPPORT_DISK)
        return kn_error(KERNEST_E_INVALID, "--support: only disk:R with --model harmonic (the profiles are "
                        "held at 0 beyond r = R)");
    for (size_t f = 0; f < opt->nfixed; f++)
        if (opt->fixed[f].row || opt->fixed[f].col)
            return kn_error(KERNEST_E_INVALID, "--fix %ld,%ld: with --model harmonic only the centre (0,0) can "
                            "be fixed (any other pixel ties several profiles)", opt->fixed[f].row, opt->fixed[f].col);
    return KERNEST_OK;
}

/* the centre (harmonic_refuse allows no other): f_0 at r = 0 alone reaches it */
static int harmonic_fixed(const kn_model *m, const kernest_fixed_pixel *p, size_t y, size_t x, size_t *i)
{
    *i = 0;
    return KERNEST_OK;
}

/* per kernel: f_0, then the 2M angular profiles (anchored, + kn_harmonic_angular on their knots) */
static int harmonic_draw(const kn_model *m, kn_rng *rng, double *g)
{
    const size_t nk = m->nk ? m->nk : 1, per = kn_model_per_kernel(m);
    const size_t p = kn_radial_knots(m->kh, m->kw), q = p - 1;
    for (size_t c = 0; c < nk; c++) {
        double *gc = g + c * per;
        kn_diff_draw(gc, p, 0, rng);
        for (int b = 1; b <= 2 * m->order; b++) {
            double *gb = gc + p + (size_t)(b - 1) * q;
            kn_diff_draw(gb, q, 1, rng);
            for (size_t j = 1; j <= q; j++)
                gb[j - 1] += sqrt(kn_harmonic_angular((size_t)b, j)) * kn_rng_normal(rng);
        }
    }
    return 0;
}

static int harmonic_init(kn_model *m, int order)
{
    if (order < 0)
        return kn_error(KERNEST_E_INVALID, "--model harmonic:M: M must be >= 0, got %d", order);
    m->order = order;
    return kn_harmonic_phi(m->kh, m->kw, order, &m->phi, &m->gram);
}

const kn_model_kind kn_kind_harmonic = {
    .id = KERNEST_MODEL_HARMONIC,
    .option = "--model harmonic",
    .init = harmonic_init,
    .per_kernel = 1,
    .refuse = harmonic_refuse,
    .support = kn_profile_disk,
    .fixed_unknown = harmonic_fixed,
    .fixed_what = "pixel",
    .grad_draw = harmonic_draw,
};
