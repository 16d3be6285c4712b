/* cuda_priors.c — the prior operations of the cuda backend: clip, multiply, soft-threshold, CSR
 * sparse maps and the total-variation gradient, its adjoint, the ball projection and TV's sum. */
#include <stdint.h>
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_impl.h"
#include "cuda_kernels.h"
#include "base/error.h"

static kn_cuda *impl(const kn_backend *be)
{
    return (kn_cuda *)be->impl;
}

int kn_cuda_vec_clip(kn_backend *be, kn_vec *v, double lo, double hi)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_clip(c->dbl, v->data, v->n, lo, hi, c->stream));
    return KERNEST_OK;
}

int kn_cuda_vec_mul(kn_backend *be, kn_vec *v, const kn_vec *w)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_mul(c->dbl, v->data, w->data, v->n, c->stream));
    return KERNEST_OK;
}

int kn_cuda_vec_soft(kn_backend *be, kn_vec *v, double t)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_soft(c->dbl, v->data, v->n, t, c->stream));
    return KERNEST_OK;
}

/* kn_sparse.data of the cuda backend: the CSR arrays on the device */
typedef struct cuda_csr {
    size_t *row_ptr; /* rows + 1 */
    void *col;       /* nnz column indices: uint32_t when col32, else size_t */
    int col32;       /* the columns fit in 4 bytes (half the index traffic of the apply) */
    void *val;       /* nnz, working precision */
} cuda_csr;

void kn_cuda_sparse_destroy(kn_backend *be, kn_sparse **s)
{
    if (!s || !*s)
        return;
    cuda_csr *d = (*s)->data;
    if (d) {
        kn_cuda *c = impl(be);
        kn_cuda_use_quiet(c);
        (void)cudaStreamSynchronize(c->stream); /* no kernel may still read it */
        if (d->row_ptr)
            (void)cudaFree(d->row_ptr);
        if (d->col)
            (void)cudaFree(d->col);
        if (d->val)
            (void)cudaFree(d->val);
        (void)cudaGetLastError();
        free(d);
    }
    free(*s);
    *s = NULL;
}

/* copies bytes from host to device and waits: the host buffer may be freed right after */
static int upload(kn_cuda *c, void *dst, const void *src, size_t bytes)
{
    if (bytes == 0)
        return KERNEST_OK;
    KN_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream));
    KN_CUDA_TRY(cudaStreamSynchronize(c->stream));
    return KERNEST_OK;
}

/* nnz values into d->val in the working precision (converted on the host for float) */
static int upload_values(kn_cuda *c, cuda_csr *d, size_t nnz, const double *val)
{
    if (c->dbl)
        return upload(c, d->val, val, nnz * sizeof *val);
    float *vf = malloc((nnz ? nnz : 1) * sizeof *vf);
    if (!vf)
        return kn_error(KERNEST_E_NOMEM, "out of host memory converting a sparse matrix to float");
    for (size_t i = 0; i < nnz; i++)
        vf[i] = (float)val[i];
    const int st = upload(c, d->val, vf, nnz * sizeof *vf);
    free(vf);
    return st;
}

int kn_cuda_sparse_values(kn_backend *be, kn_sparse *s, const double *val)
{
    kn_cuda *c = impl(be);
    const int st = kn_cuda_use(c);
    return st ? st : upload_values(c, s->data, s->nnz, val);
}

int kn_cuda_sparse_create(kn_backend *be, size_t rows, size_t cols, const size_t *row_ptr,
                          const size_t *col, const double *val, kn_sparse **out)
{
    kn_cuda *c = impl(be);
    const size_t nnz = row_ptr[rows];
    size_t rp_bytes, col_bytes, val_bytes;
    int st = kn_cuda_use(c);
    if (st)
        return st;
    const int col32 = cols <= UINT32_MAX;
    if (kn_mul_size(rows + 1, sizeof *row_ptr, &rp_bytes) ||
        kn_mul_size(nnz, col32 ? sizeof(uint32_t) : sizeof *col, &col_bytes) ||
        kn_mul_size(nnz, c->es, &val_bytes))
        return kn_error(KERNEST_E_TOOBIG, "a %zux%zu sparse matrix with %zu entries overflows size_t",
                        rows, cols, nnz);
    kn_sparse *s = calloc(1, sizeof *s);
    cuda_csr *d = calloc(1, sizeof *d);
    if (!s || !d) {
        free(s);
        free(d);
        return kn_error(KERNEST_E_NOMEM, "out of host memory for a sparse matrix header");
    }
    s->data = d;
    s->rows = rows;
    s->cols = cols;
    s->nnz = nnz;
    d->col32 = col32;
    uint32_t *c32 = NULL;
    if ((st = kn_cuda_alloc(c, (void **)&d->row_ptr, rp_bytes, "a sparse matrix's row pointers")) ||
        (st = kn_cuda_alloc(c, &d->col, col_bytes, "a sparse matrix's columns")) ||
        (st = kn_cuda_alloc(c, &d->val, val_bytes, "a sparse matrix's values")) ||
        (st = upload(c, d->row_ptr, row_ptr, rp_bytes)))
        goto done;
    if (col32 && nnz) {
        if (!(c32 = malloc(nnz * sizeof *c32))) {
            st = kn_error(KERNEST_E_NOMEM, "out of host memory narrowing a sparse matrix's columns");
            goto done;
        }
        for (size_t i = 0; i < nnz; i++)
            c32[i] = (uint32_t)col[i]; /* col[i] < cols <= UINT32_MAX */
        st = upload(c, d->col, c32, col_bytes);
    } else {
        st = upload(c, d->col, col, col_bytes);
    }
    if (!st)
        st = upload_values(c, d, nnz, val);
done:
    free(c32);
    if (st) {
        kn_cuda_sparse_destroy(be, &s);
        return st;
    }
    *out = s;
    return KERNEST_OK;
}

int kn_cuda_sparse_apply(kn_backend *be, const kn_sparse *s, const kn_vec *x, kn_vec *y)
{
    kn_cuda *c = impl(be);
    const cuda_csr *d = s->data;
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_csr_apply(c->dbl, y->data, s->rows, d->row_ptr, d->col, d->col32, d->val, x->data,
                                c->stream));
    return KERNEST_OK;
}

int kn_cuda_tv_grad(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *x, kn_vec *g)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_tv_grad(c->dbl, g->data, x->data, nimg, kh, kw, c->stream));
    return KERNEST_OK;
}

int kn_cuda_tv_grad_adjoint(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *g, kn_vec *x)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_tv_grad_adjoint(c->dbl, x->data, g->data, nimg, kh, kw, c->stream));
    return KERNEST_OK;
}

int kn_cuda_vec_ball_proj(kn_backend *be, kn_vec *p, double t)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_ball_proj(c->dbl, p->data, p->n / 2, t, c->stream));
    return KERNEST_OK;
}

/* a reduction: the host waits for its scalar, like vec_dot (FGP's duality-gap test needs it) */
int kn_cuda_vec_pair_nrm_sum(kn_backend *be, const kn_vec *p, double *out)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(kn_cu_pair_nrm_sum(c->dbl, p->data, p->n / 2, c->dot_scratch, c->stream));
    KN_CUDA_TRY(cudaMemcpyAsync(out, c->dot_scratch + KN_CU_DOT_BLOCKS, sizeof *out,
                                cudaMemcpyDeviceToHost, c->stream));
    KN_CUDA_TRY(cudaStreamSynchronize(c->stream));
    return KERNEST_OK;
}
