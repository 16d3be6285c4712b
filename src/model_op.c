/* model_op.c — the model layer: K = Φ(c) on the host, and H∘Φ as a backend the solvers run on. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model_op.h"

int kn_model_init(kn_model *m, kernest_model kind, size_t kh, size_t kw)
{
    return kn_model_init_nk(m, kind, kh, kw, 1);
}

int kn_model_init_nk(kn_model *m, kernest_model kind, size_t kh, size_t kw, size_t nk)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->kh = kh;
    m->kw = kw;
    m->nk = nk;
    if (kind == KERNEST_MODEL_PIXEL) {
        m->nx = nk * kh * kw; /* bounded: the problem checked cout*cin*kh*kw */
        return KERNEST_OK;
    }
    if (kind == KERNEST_MODEL_RADIAL && nk != 1)
        return kn_error(KERNEST_E_UNSUPPORTED, "--model radial: not available with several channels yet "
                        "(%zu kernels)", nk);
    if (kind != KERNEST_MODEL_RADIAL)
        return kn_error(KERNEST_E_INVALID, "--model: unknown model %d", (int)kind);
    int st = kn_radial_phi(kh, kw, &m->phi);
    if (!st)
        m->nx = m->phi.cols;
    return st;
}

void kn_model_free(kn_model *m)
{
    kn_csr_free(&m->phi);
}

size_t kn_model_bytes(const kn_model *m, size_t elem_size)
{
    if (m->kind == KERNEST_MODEL_PIXEL)
        return 0;
    const double per = (double)elem_size + sizeof(size_t);
    const double nnz = (double)m->phi.row_ptr[m->phi.rows];
    /* Φ and Φᵀ (values, columns, row starts), DᵀD (3 per knot), one kernel-sized work vector;
     * the mask of held unknowns and its work vector are counted by the caller */
    double b = 2 * nnz * per + (double)(m->phi.rows + m->phi.cols + 2) * sizeof(size_t) +
               3.0 * (double)m->nx * per + (double)m->phi.rows * elem_size;
    return b >= (double)SIZE_MAX ? SIZE_MAX : (size_t)b;
}

void kn_model_kernel(const kn_model *m, const double *x, double *K)
{
    if (m->kind == KERNEST_MODEL_PIXEL)
        memcpy(K, x, m->nx * sizeof *K);
    else
        kn_csr_apply(&m->phi, x, K);
}

/* ---- the composed backend ------------------------------------------------------------------ */

typedef struct composed {
    kn_backend be;      /* first member: what the solvers get. It is a copy of the inner backend
                           (same impl, precision, threads), so the inner table's vector operations
                           work on it unchanged; only the operator entries are replaced. */
    kn_backend_ops ops; /* the inner table with op_apply, op_adjoint, reg_gram, destroy replaced */
    kn_backend *inner;
    kn_sparse *phi, *phit, *dtd; /* radial: Φ (n×p), Φᵀ (p×n), DᵀD (p×p); NULL for pixel */
    kn_vec *tmp;                 /* radial, n = kh*kw: Φc, or Hᵀr */
    kn_vec *keep;                /* 1 free / 0 held; NULL when nothing is held */
    kn_vec *kc;                  /* keep ⊙ c */
} composed;

static composed *outer(kn_backend *be)
{
    return (composed *)be; /* be is the first member */
}

/* r = H Φ c, without the mask */
static int forward(composed *m, const kn_vec *c, kn_vec *r)
{
    kn_backend *in = m->inner;
    if (!m->phi)
        return in->ops->op_apply(in, c, r);
    int st = in->ops->sparse_apply(in, m->phi, c, m->tmp); /* tmp = Φ c */
    return st ? st : in->ops->op_apply(in, m->tmp, r);    /* r = H tmp */
}

/* the unknowns the operator sees: c, or keep ⊙ c */
static int masked(composed *m, const kn_vec *c, const kn_vec **out)
{
    kn_backend *in = m->inner;
    int st = KERNEST_OK;
    *out = c;
    if (m->keep && !(st = in->ops->vec_copy(in, m->kc, c)) && !(st = in->ops->vec_mul(in, m->kc, m->keep)))
        *out = m->kc;
    return st;
}

static int composed_apply(kn_backend *be, const kn_vec *c, kn_vec *r)
{
    composed *m = outer(be);
    const kn_vec *src;
    int st = masked(m, c, &src);
    return st ? st : forward(m, src, r);
}

static int composed_adjoint(kn_backend *be, const kn_vec *r, kn_vec *c)
{
    composed *m = outer(be);
    kn_backend *in = m->inner;
    int st = m->phi ? in->ops->op_adjoint(in, r, m->tmp)                 /* tmp = Hᵀ r */
                    : in->ops->op_adjoint(in, r, c);
    if (!st && m->phi)
        st = in->ops->sparse_apply(in, m->phit, m->tmp, c);             /* c = Φᵀ tmp */
    if (!st && m->keep)
        st = in->ops->vec_mul(in, c, m->keep);
    return st;
}

static int composed_reg_gram(kn_backend *be, kernest_reg reg, const kn_vec *c, kn_vec *out)
{
    composed *m = outer(be);
    kn_backend *in = m->inner;
    const kn_vec *src;
    int st = masked(m, c, &src);
    if (st)
        return st;
    if (!m->phi)
        st = in->ops->reg_gram(in, reg, src, out);
    else if (reg == KERNEST_REG_RIDGE)
        st = in->ops->vec_copy(in, out, src);
    else if (reg == KERNEST_REG_GRAD)
        st = in->ops->sparse_apply(in, m->dtd, src, out);
    else
        st = in->ops->vec_fill(in, out, 0.0);
    if (!st && m->keep)
        st = in->ops->vec_mul(in, out, m->keep);
    return st;
}

/* Frees what the wrapper owns; kn_backend_destroy then frees the struct (be is its first member). */
static void composed_destroy(kn_backend *be)
{
    composed *m = outer(be);
    kn_backend *in = m->inner;
    in->ops->sparse_destroy(in, &m->phi);
    in->ops->sparse_destroy(in, &m->phit);
    in->ops->sparse_destroy(in, &m->dtd);
    in->ops->vec_destroy(in, &m->tmp);
    in->ops->vec_destroy(in, &m->keep);
    in->ops->vec_destroy(in, &m->kc);
}

static int radial_parts(const kn_model *m, kn_backend *be, composed *c)
{
    kn_csr phit = {0}, dtd = {0};
    int st;
    if (!(st = kn_csr_transpose(&m->phi, &phit)) && !(st = kn_diff_gram_1d(m->nx, &dtd)) &&
        !(st = kn_csr_upload(be, &m->phi, &c->phi)) && !(st = kn_csr_upload(be, &phit, &c->phit)) &&
        !(st = kn_csr_upload(be, &dtd, &c->dtd)))
        st = be->ops->vec_create(be, m->phi.rows, &c->tmp);
    kn_csr_free(&phit);
    kn_csr_free(&dtd);
    return st;
}

int kn_model_backend(const kn_model *m, kn_backend *be, const double *keep, kn_backend **out)
{
    if (m->kind == KERNEST_MODEL_PIXEL && !keep) {
        *out = be;
        return KERNEST_OK;
    }
    composed *c = calloc(1, sizeof *c);
    if (!c)
        return kn_error(KERNEST_E_NOMEM, "--model: out of memory");
    c->be = *be;
    c->ops = *be->ops;
    c->ops.op_apply = composed_apply;
    c->ops.op_adjoint = composed_adjoint;
    c->ops.reg_gram = composed_reg_gram;
    c->ops.destroy = composed_destroy;
    c->be.ops = &c->ops;
    c->inner = be;
    int st = m->kind == KERNEST_MODEL_RADIAL ? radial_parts(m, be, c) : KERNEST_OK;
    if (!st && keep && !(st = be->ops->vec_create(be, m->nx, &c->keep)) &&
        !(st = be->ops->vec_upload(be, c->keep, keep)))
        st = be->ops->vec_create(be, m->nx, &c->kc);
    if (st) {
        composed_destroy(&c->be);
        free(c);
        return st;
    }
    *out = &c->be;
    return KERNEST_OK;
}

int kn_model_forward(kn_backend *sbe, const kn_vec *x, kn_vec *r)
{
    if (sbe->ops->op_apply != composed_apply)
        return sbe->ops->op_apply(sbe, x, r);
    return forward(outer(sbe), x, r);
}
