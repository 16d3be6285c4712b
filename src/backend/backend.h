/* backend.h — internal: the backend table (vectors and the operator) the solvers are written against. */
#ifndef KN_BACKEND_H
#define KN_BACKEND_H

#include "kernest.h"
#include "problem.h"

/* A vector living where the backend computes (host memory for cpu, device memory for cuda), in
 * the backend's working precision (float or double). Solvers never touch data directly. */
typedef struct kn_vec {
    size_t n;   /* number of elements */
    void *data; /* backend-owned storage */
} kn_vec;

typedef struct kn_backend kn_backend;

/* A sparse matrix in CSR form living where the backend computes (values in the working
 * precision), uploaded once: the parametrisations K = Φ(c) and their regularisers use it. */
typedef struct kn_sparse {
    size_t rows, cols, nnz;
    void *data; /* backend-owned storage */
} kn_sparse;

/*
 * Layouts shared by every backend:
 *  - kernel-space vectors: kh×kw, row-major (n = kh*kw);
 *  - data-space vectors: the pairs' observed windows concatenated, pair i occupying
 *    [pairs[i].offset, pairs[i].offset + hb*wb), each hb×wb row-major (m elements in all).
 * Scalars cross the table in double; reductions (dot) accumulate in double in every precision.
 * Every operation returns a kernest_status (detail via kn_error) and may assume valid inputs:
 * argument checks live at the public interface.
 * Every backend stores a vector's elements one after the other in data, elem_size bytes each, so
 * a run of them is a vector too (kn_vec_part).
 */
typedef struct kn_backend_ops {
    const char *name; /* "cpu" or "cuda" */

    void (*destroy)(kn_backend *be); /* frees impl (the operator too); be itself is freed by caller */
    /* Bytes the backend could still allocate for a solve (free device memory, available RAM). */
    int (*mem_available)(kn_backend *be, size_t *bytes);
    /* Bytes op_setup will allocate for pb (plans' work areas included, approximately). */
    size_t (*op_bytes)(const kn_backend *be, const kn_problem *pb);

    int (*vec_create)(kn_backend *be, size_t n, kn_vec **out); /* zero-filled */
    void (*vec_destroy)(kn_backend *be, kn_vec **v);           /* NULL allowed; sets *v = NULL */
    int (*vec_upload)(kn_backend *be, kn_vec *dst, const double *src);   /* host doubles -> vec */
    int (*vec_download)(kn_backend *be, const kn_vec *src, double *dst); /* vec -> host doubles */
    int (*vec_copy)(kn_backend *be, kn_vec *dst, const kn_vec *src);
    int (*vec_fill)(kn_backend *be, kn_vec *v, double a);
    int (*vec_scale)(kn_backend *be, kn_vec *v, double a);               /* v *= a */
    int (*vec_axpy)(kn_backend *be, kn_vec *y, double a, const kn_vec *x); /* y += a x */
    int (*vec_aypx)(kn_backend *be, kn_vec *y, double a, const kn_vec *x); /* y = x + a y */
    int (*vec_dot)(kn_backend *be, const kn_vec *x, const kn_vec *y, double *out);
    int (*vec_nrm2)(kn_backend *be, const kn_vec *x, double *out);

    /* Plans the transforms, computes FFT(A_i) once, builds the NaN masks. pb stays valid until
     * destroy. Called once per backend. */
    int (*op_setup)(kn_backend *be, const kn_problem *pb);
    /* r = H k: per pair, mask_i ⊙ crop_{row0,col0,hb,wb}(full_conv(A_i, k)), where mask_i is 0 at
     * NaN pixels of B_i (1 everywhere when B is NULL). */
    int (*op_apply)(kn_backend *be, const kn_vec *k, kn_vec *r);
    /* k = Hᵀ r: the exact adjoint of op_apply (mask applied, spectra of the pairs summed before
     * the single inverse transform). */
    int (*op_adjoint)(kn_backend *be, const kn_vec *r, kn_vec *k);
    /* out = LᵀL k on the kernel grid: RIDGE: out = k; GRAD: L = forward differences along rows
     * and columns inside the kernel (no wrap), so out[i,j] = Σ over the 4-neighbours (i',j')
     * inside the kernel of (k[i,j] − k[i',j']); NONE: out = 0. */
    int (*reg_gram)(kn_backend *be, kernest_reg reg, const kn_vec *k, kn_vec *out);

    /* ---- priors: projections, shrinkage and sparse maps (FISTA, models K = Φ(c)). A backend
     * may leave these NULL; callers check (kn_backend_has_priors) and refuse the option. ---- */
    int (*vec_clip)(kn_backend *be, kn_vec *v, double lo, double hi); /* v = min(max(v, lo), hi); ±INFINITY allowed */
    int (*vec_mul)(kn_backend *be, kn_vec *v, const kn_vec *w);      /* v ⊙= w */
    int (*vec_soft)(kn_backend *be, kn_vec *v, double t);            /* v = sign(v) max(|v| − t, 0) */
    /* Uploads a rows×cols CSR matrix (row_ptr: rows+1 entries, col/val: nnz entries, columns
     * < cols). The arrays are copied; *out is destroyed with sparse_destroy. */
    int (*sparse_create)(kn_backend *be, size_t rows, size_t cols, const size_t *row_ptr,
                         const size_t *col, const double *val, kn_sparse **out);
    void (*sparse_destroy)(kn_backend *be, kn_sparse **s);         /* NULL allowed; sets *s = NULL */
    /* Replaces the nnz values of s (val: nnz host doubles, in s's order), its pattern kept: a
     * matrix whose values change between solves (lowrank's Φ) is not allocated and uploaded again. */
    int (*sparse_values)(kn_backend *be, kn_sparse *s, const double *val);
    int (*sparse_apply)(kn_backend *be, const kn_sparse *s, const kn_vec *x, kn_vec *y); /* y = S x */

    /* ---- total variation on nimg kernels of kh×kw stacked one after the other (n = nimg*kh*kw;
     * nimg = 1: one kernel), for the dual (FGP) prox of TV. D is the forward-difference gradient
     * inside each kernel, with no wrap and no difference from one kernel into the next: a dual
     * vector g has 2n entries, the differences along columns in g[0, n) and along rows in
     * g[n, 2n), each laid out like x, with 0 in each kernel's last column / last row (no
     * neighbour). ---- */
    /* g = D x: on the stacked (nimg*kh)×kw grid, g[Y*kw+x] = x[Y,x+1] − x[Y,x] (x+1 < kw),
     * g[n+Y*kw+x] = x[Y+1,x] − x[Y,x] (Y mod kh + 1 < kh). */
    int (*tv_grad)(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *x, kn_vec *g);
    /* x = Dᵀ g (= −div g), the exact adjoint of tv_grad. */
    int (*tv_grad_adjoint)(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *g, kn_vec *x);
    /* p (2n entries): each pair (p[i], p[n+i]) projected onto the disk of radius t >= 0. */
    int (*vec_ball_proj)(kn_backend *be, kn_vec *p, double t);
    /* *out = Σ_i sqrt(p[i]² + p[n+i]²) over the pairs of p (2n entries), accumulated in double:
     * TV(x) when p = D x. */
    int (*vec_pair_nrm_sum)(kn_backend *be, const kn_vec *p, double *out);

    /* ---- distribution (pairs spread over MPI ranks): a device backend leaves this NULL ---- */
    /* ⟨x, y⟩ of two DATA-space vectors: the sum over every pair, wherever the pairs live. NULL:
     * vec_dot (all pairs are here). Solvers reduce data-space vectors only through kn_data_dot;
     * vec_dot and vec_nrm2 are for kernel-space vectors (the same on every rank). */
    int (*data_dot)(kn_backend *be, const kn_vec *x, const kn_vec *y, double *out);
    /* v (n host values, each rank's share of a sum over its pairs) = the sum over every rank, on
     * every rank: what the host computes from the pairs (the preconditioner's diagonal). NULL:
     * all pairs are here, v is the sum already. */
    int (*host_sum)(kn_backend *be, double *v, size_t n);
} kn_backend_ops;

/* 1 when the backend implements every prior operation above (vec_clip ... vec_pair_nrm_sum). */
static inline int kn_backend_has_priors(const kn_backend_ops *o)
{
    return o->vec_clip && o->vec_mul && o->vec_soft && o->sparse_create && o->sparse_destroy &&
           o->sparse_values && o->sparse_apply && o->tv_grad && o->tv_grad_adjoint && o->vec_ball_proj && o->vec_pair_nrm_sum;
}

struct kn_backend {
    const kn_backend_ops *ops;
    kernest_precision precision;
    size_t elem_size;  /* bytes of one vector element: 4 or 8 */
    int threads;       /* host threads used (cpu) */
    char device[128];  /* human-readable description of what computes */
    void *impl;        /* backend-private state */
    void *dist;        /* pairs spread over processes (src/mpi/): the communicator's state, kept
                          by wrappers that copy this struct; NULL in a single process */
    int setup_reused;  /* 1 when the last op_setup kept the plans and buffers of an earlier
                          problem of the same shape (a backend a kernest_context kept) */
    long applications; /* op_apply and op_adjoint calls so far (each counts one): the cost unit
                          of the automatic choice's report, counted where the transforms run */
};

/* Elements [first, first + n) of v as a vector of their own, sharing v's storage (the layout
 * above): valid for every operation of the table except vec_destroy (it owns nothing). The
 * kernels of a layer are such runs of a kernel-space vector. */
static inline kn_vec kn_vec_part(const kn_backend *be, const kn_vec *v, size_t first, size_t n)
{
    kn_vec part = {n, (char *)v->data + first * be->elem_size};
    return part;
}

static inline int kn_data_dot(kn_backend *be, const kn_vec *x, const kn_vec *y, double *out)
{
    return be->ops->data_dot ? be->ops->data_dot(be, x, y, out) : be->ops->vec_dot(be, x, y, out);
}

/* Destroys a backend through its table (NULL allowed) and sets *be = NULL. */
void kn_backend_destroy(kn_backend **be);

#endif
