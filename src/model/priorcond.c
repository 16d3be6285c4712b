/* priorcond.c — S with Sᵀ(G + δI)S = I for a model's quadratic prior (priorcond.h): a DCT for
 * the pixel grid's Laplacian, a banded Cholesky factor for the profiles' difference priors. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model.h"
#include "priorcond.h"

/* the widest band of a profile prior factored here (radial's and harmonic's are tridiagonal) */
enum { MAX_BAND = 16 };

struct kn_priorcond {
    size_t nx, per, nk; /* unknowns, per kernel, kernels */
    int kind;           /* 0: identity, 1: DCT (pixel grid kh×kw), 2: banded Cholesky */
    size_t kh, kw;
    fftw_plan fwd, inv; /* DCT-II and DCT-III over the nk grids (kind 1) */
    double *root;       /* kind 1: per frequency (μ + δ)^½ */
    double *L;          /* kind 2: L(i, i−d) at L[i*(w+1) + d], d = 0..w */
    size_t w;           /* kind 2: bandwidth */
};

/* kind 1: the grid Laplacian's eigenvalues 4 sin²(πp/2kh) + 4 sin²(πq/2kw) */
static int dct_init(kn_priorcond *p)
{
    const size_t kh = p->kh, kw = p->kw, n = kh * kw;
    double *buf = fftw_malloc((p->nx ? p->nx : 1) * sizeof *buf);
    if (!(p->root = malloc(n * sizeof *p->root)) || !buf) {
        fftw_free(buf);
        return kn_error(KERNEST_E_NOMEM, "out of memory for the prior's square root");
    }
    double mean = 0.0;
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            const double sy = sin(M_PI * (double)y / (2.0 * (double)kh)), sx = sin(M_PI * (double)x / (2.0 * (double)kw));
            p->root[y * kw + x] = 4.0 * (sy * sy + sx * sx);
            mean += p->root[y * kw + x] / (double)n;
        }
    const double delta = KN_PRIORCOND_DELTA * mean;
    for (size_t i = 0; i < n; i++)
        p->root[i] = sqrt(p->root[i] + delta);
    const int dims[2] = {(int)kh, (int)kw};
    const fftw_r2r_kind k2[2] = {FFTW_REDFT10, FFTW_REDFT10}, k3[2] = {FFTW_REDFT01, FFTW_REDFT01};
    p->fwd = fftw_plan_many_r2r(2, dims, (int)p->nk, buf, NULL, 1, (int)n, buf, NULL, 1, (int)n, k2,
                                FFTW_ESTIMATE | FFTW_UNALIGNED);
    p->inv = fftw_plan_many_r2r(2, dims, (int)p->nk, buf, NULL, 1, (int)n, buf, NULL, 1, (int)n, k3,
                                FFTW_ESTIMATE | FFTW_UNALIGNED);
    fftw_free(buf);
    return p->fwd && p->inv ? KERNEST_OK : kn_error(KERNEST_E_FFT, "FFTW could not plan the prior's DCT");
}

/* kind 2: G's first block (the per-kernel one; every kernel's is the same) + δI = L Lᵀ, banded */
static int band_init(kn_priorcond *p, const kn_csr *g)
{
    const size_t n = p->per;
    size_t w = 0;
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++) {
            const size_t j = g->col[e];
            if (j >= n) /* not block-diagonal per kernel */
                return KERNEST_E_UNSUPPORTED;
            w = j < i && i - j > w ? i - j : w;
            mean += j == i ? g->val[e] / (double)n : 0.0;
        }
    if (w > MAX_BAND)
        return KERNEST_E_UNSUPPORTED;
    p->w = w;
    double *L = p->L = calloc(n * (w + 1), sizeof *L);
    if (!L)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the prior's square root");
    const double delta = KN_PRIORCOND_DELTA * (mean > 0 ? mean : 1.0);
    for (size_t i = 0; i < n; i++) { /* the lower band of G + δI */
        for (size_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++)
            if (g->col[e] <= i)
                L[i * (w + 1) + (i - g->col[e])] += g->val[e];
        L[i * (w + 1)] += delta;
    }
    for (size_t i = 0; i < n; i++) { /* Cholesky in the band: L(i, j) for j = i−w .. i */
        const size_t j0 = i >= w ? i - w : 0;
        for (size_t j = j0; j <= i; j++) {
            double s = L[i * (w + 1) + (i - j)];
            for (size_t k = j >= w ? j - w : 0; k < j; k++) /* L(j, k) is in the band */
                if (k >= j0)
                    s -= L[i * (w + 1) + (i - k)] * L[j * (w + 1) + (j - k)];
            if (j == i) {
                if (!(s > 0)) /* G is not semidefinite: no square root here */
                    return KERNEST_E_UNSUPPORTED;
                L[i * (w + 1)] = sqrt(s);
            } else
                L[i * (w + 1) + (i - j)] = s / L[j * (w + 1)];
        }
    }
    return KERNEST_OK;
}

int kn_priorcond_create(const kn_model *m, kernest_reg reg, kn_priorcond **out)
{
    *out = NULL;
    if (m->kind == KERNEST_MODEL_LOWRANK || (reg != KERNEST_REG_GRAD && reg != KERNEST_REG_RIDGE))
        return KERNEST_E_UNSUPPORTED;
    const int pixel = m->kind == KERNEST_MODEL_PIXEL;
    const kn_model_kind *kind = kn_model_kind_of(m->kind);
    if (reg == KERNEST_REG_GRAD && !pixel && (!m->gram.rows || (m->nk > 1 && !(kind && kind->per_kernel))))
        return KERNEST_E_UNSUPPORTED; /* band_init factors one kernel's block for all */
    kn_priorcond *p = calloc(1, sizeof *p);
    if (!p)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the prior's square root");
    p->nx = m->nx;
    p->nk = m->nk ? m->nk : 1;
    p->per = kn_model_per_kernel(m);
    p->kh = m->kh;
    p->kw = m->kw;
    int st = KERNEST_OK;
    if (reg == KERNEST_REG_RIDGE)
        p->kind = 0;
    else if (pixel) {
        p->kind = 1;
        st = dct_init(p);
    } else {
        p->kind = 2;
        st = band_init(p, &m->gram);
    }
    if (st)
        kn_priorcond_destroy(&p);
    *out = p;
    return st;
}

/* one block of n values: v = L⁻ᵀ v (S), L⁻¹ v (Sᵀ) or L v (S⁻ᵀ) */
static void band_apply(const kn_priorcond *p, kn_pc_op op, double *v)
{
    const size_t n = p->per, w = p->w;
    const double *L = p->L;
    if (op == KN_PC_ST) /* L y = v, forward */
        for (size_t i = 0; i < n; i++) {
            double s = v[i];
            for (size_t d = 1; d <= w && d <= i; d++)
                s -= L[i * (w + 1) + d] * v[i - d];
            v[i] = s / L[i * (w + 1)];
        }
    else if (op == KN_PC_S) /* Lᵀ y = v, backward: column i of L is row i of Lᵀ */
        for (size_t i = n; i-- > 0;) {
            double s = v[i];
            for (size_t d = 1; d <= w && i + d < n; d++)
                s -= L[(i + d) * (w + 1) + d] * v[i + d];
            v[i] = s / L[i * (w + 1)];
        }
    else /* y = L v, from the last row up (row i reads v[i−w .. i]) */
        for (size_t i = n; i-- > 0;) {
            double s = 0.0;
            for (size_t d = 0; d <= w && d <= i; d++)
                s += L[i * (w + 1) + d] * v[i - d];
            v[i] = s;
        }
}

void kn_priorcond_apply(const kn_priorcond *p, kn_pc_op op, double *v)
{
    if (p->kind == 1) { /* C diag(r) Cᵀ with r = (μ + δ)^∓½: S and S⁻ᵀ are symmetric */
        const size_t n = p->kh * p->kw;
        const double norm = 1.0 / (4.0 * (double)n); /* REDFT01 ∘ REDFT10 = 4 kh kw in 2-D */
        fftw_execute_r2r(p->fwd, v, v);
        for (size_t k = 0; k < p->nk; k++)
            for (size_t i = 0; i < n; i++)
                v[k * n + i] *= op == KN_PC_INV_T ? p->root[i] * norm : norm / p->root[i];
        fftw_execute_r2r(p->inv, v, v);
    } else if (p->kind == 2)
        for (size_t k = 0; k < p->nk; k++)
            band_apply(p, op, v + k * p->per);
}

void kn_priorcond_destroy(kn_priorcond **pp)
{
    kn_priorcond *p = pp ? *pp : NULL;
    if (!p)
        return;
    if (p->fwd)
        fftw_destroy_plan(p->fwd);
    if (p->inv)
        fftw_destroy_plan(p->inv);
    free(p->root);
    free(p->L);
    free(p);
    *pp = NULL;
}
