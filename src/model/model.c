/* model.c — kernel models K = Φ(c) on the host: the kinds table, building a model, and K from
 * its unknowns (the operator H∘Φ the solvers see is compose.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model.h"

/* The kinds table: one row per kernest_model, each from its own file. */
static const kn_model_kind *const kinds[] = {
    [KERNEST_MODEL_PIXEL] = &kn_kind_pixel,
    [KERNEST_MODEL_RADIAL] = &kn_kind_radial,
    [KERNEST_MODEL_HARMONIC] = &kn_kind_harmonic,
    [KERNEST_MODEL_LOWRANK] = &kn_kind_lowrank,
};

const kn_model_kind *kn_model_kind_of(kernest_model id)
{
    return (unsigned)id < sizeof kinds / sizeof kinds[0] ? kinds[id] : NULL;
}

int kn_model_init(kn_model *m, kernest_model kind, int order, size_t kh, size_t kw)
{
    return kn_model_init_nk(m, kind, order, kh, kw, 1);
}

int kn_model_init_nk(kn_model *m, kernest_model kind, int order, size_t kh, size_t kw, size_t nk)
{
    memset(m, 0, sizeof *m);
    const kn_model_kind *k = kn_model_kind_of(kind);
    if (!k)
        return kn_error(KERNEST_E_INVALID, "--model: unknown model %d", (int)kind);
    m->kind = kind;
    m->kh = kh;
    m->kw = kw;
    m->nk = nk;
    if (!k->init) {
        m->nx = nk * kh * kw; /* bounded: the problem checked cout*cin*kh*kw */
        return KERNEST_OK;
    }
    int st = k->init(m, order);
    /* several kernels: each its own profile, Φ and G block-diagonal over the kernels */
    if (!st && k->per_kernel && !(st = kn_csr_repeat_diag(&m->phi, nk)))
        st = kn_csr_repeat_diag(&m->gram, nk);
    if (!st)
        m->nx = m->phi.cols;
    else
        kn_model_free(m);
    return st;
}

void kn_model_free(kn_model *m)
{
    kn_csr_free(&m->phi);
    kn_csr_free(&m->gram);
}

size_t kn_model_bytes(const kn_model *m, size_t elem_size)
{
    if (!m->phi.row_ptr)
        return 0;
    const double per = (double)elem_size + sizeof(size_t);
    const double nnz = (double)m->phi.row_ptr[m->phi.rows];
    const double gnnz = m->gram.row_ptr ? (double)m->gram.row_ptr[m->gram.rows] : 0.0;
    /* Φ and Φᵀ (values, columns, row starts), G, one kernel-sized work vector; the mask of held
     * unknowns and its work vector are counted by the caller */
    double b = 2 * nnz * per + (double)(m->phi.rows + m->phi.cols + 2) * sizeof(size_t) +
               gnnz * per + (double)(m->nx + 1) * sizeof(size_t) + (double)m->phi.rows * elem_size;
    return b >= (double)SIZE_MAX ? SIZE_MAX : (size_t)b;
}

void kn_model_kernel(const kn_model *m, const double *x, double *K)
{
    const kn_model_kind *k = kn_model_kind_of(m->kind);
    if (k && k->kernel)
        k->kernel(m, x, K);
    else if (!m->phi.row_ptr)
        memcpy(K, x, m->nx * sizeof *K);
    else
        kn_csr_apply(&m->phi, x, K);
}

int kn_kind_refuse_pixel_priors(const kernest_options *opt, const char *name, const char *what)
{
    if (opt->has_bounds)
        return kn_error(KERNEST_E_INVALID, "--bounds: not available with --model %s (not a bound on %s)", name, what);
    if (opt->has_sum)
        return kn_error(KERNEST_E_INVALID, "--sum: not available with --model %s", name);
    if (opt->l1 > 0)
        return kn_error(KERNEST_E_INVALID, "--reg l1: not available with --model %s", name);
    return KERNEST_OK;
}
