/* cuda_impl.h — internal: the private state of the cuda backend, shared by its host C files. */
#ifndef KN_CUDA_IMPL_H
#define KN_CUDA_IMPL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cufft.h>

#include "backend/backend.h"
#include "cuda_kernels.h"

/* kn_backend.impl of the cuda backend. Every device call is ordered on `stream`. */
typedef struct kn_cuda {
    int device;             /* CUDA ordinal; made current at the start of every operation */
    int dbl;                /* 1: double / cufftDoubleComplex, 0: float / cufftComplex */
    size_t es;              /* bytes of one real element (8 or 4) */
    cudaStream_t stream;    /* the single stream of this backend (non-blocking) */
    cublasHandle_t blas;    /* bound to stream; pointer mode host (see vec_dot) */
    int have_blas;          /* blas was created */
    double *dot_scratch;    /* KN_CU_DOT_SLOTS device doubles for single-precision reductions */

    /* the operator, set by op_setup (kn_cuda_op_free releases it) */
    const kn_problem *pb;   /* borrowed; NULL before op_setup */
    cufftHandle r2c, c2r;   /* plans on the grid_h×grid_w grid, sharing fft_work */
    int have_r2c, have_c2r; /* cufftHandle has no null value */
    cufftHandle r2c_k, c2r_k; /* channels (kin > 1): kin grids per transform (cufftPlanMany) */
    int have_r2c_k, have_c2r_k;
    void *fft_work;         /* work area of both plans (auto-allocation is off) */
    void *spec_a;           /* npairs·cin half spectra FFT(A[s,i]), each grid_h×(grid_w/2+1) */
    void *spec_main;        /* kin spectra. apply: FFT(pad K[o,i]); adjoint: Σ_s conj(Â[s,·])·FFT(pad r[s,o]) */
    void *spec_tmp;         /* per-sample product / transform */
    void *grid;             /* kin grid_h×grid_w real work grids */
    void *mask;             /* m reals, 0 at NaN pixels of B, 1 elsewhere; NULL without NaN */
    /* samples batched (batch > 1: several samples of small grids, a layer's): one transform and
     * one launch per output channel and batch instead of one per sample */
    size_t batch;           /* samples per batch (1: one at a time; the buffers below are NULL) */
    cufftHandle r2c_s[2], c2r_s[2]; /* batch grids per transform: [0] a full batch, [1] the
                                       remainder npairs % batch (when not 0) */
    int have_r2c_s[2], have_c2r_s[2];
    void *spec_batch;       /* batch half spectra */
    void *grid_batch;       /* batch real grids */
    kn_cu_window *windows;  /* device: every sample's window (npairs) */
    size_t max_hb, max_wb;  /* the largest window */
    size_t made_gh, made_gw, made_cin, made_kin, made_npairs; /* what the plans and buffers were made for
                                                       (0 when none): a later problem of the same
                                                       shape reuses them (batch jobs) */
} kn_cuda;

/* Makes c's device current. */
int kn_cuda_use(kn_cuda *c);
/* The same where no error can be returned (freeing): a failure is cleared at once, so that no
 * later call reports it as its own. */
void kn_cuda_use_quiet(kn_cuda *c);
/* cudaMalloc of bytes into *p (NULL for 0 bytes); out of memory -> KERNEST_E_TOOBIG with the
 * numbers, `what` names the buffer. */
int kn_cuda_alloc(kn_cuda *c, void **p, size_t bytes, const char *what);

/* The operator part of the table (cuda_operator.c). */
size_t kn_cuda_op_bytes(const kn_backend *be, const kn_problem *pb);
int kn_cuda_op_setup(kn_backend *be, const kn_problem *pb);
int kn_cuda_op_apply(kn_backend *be, const kn_vec *k, kn_vec *r);
int kn_cuda_op_adjoint(kn_backend *be, const kn_vec *r, kn_vec *k);
int kn_cuda_reg_gram(kn_backend *be, kernest_reg reg, const kn_vec *k, kn_vec *out);
/* Releases what op_setup made (plans, spectra, grids, mask); safe on a partial setup. */
void kn_cuda_op_free(kn_cuda *c);

/* The prior operations of the table (cuda_priors.c); see backend.h for what each computes. */
int kn_cuda_vec_clip(kn_backend *be, kn_vec *v, double lo, double hi);
int kn_cuda_vec_mul(kn_backend *be, kn_vec *v, const kn_vec *w);
int kn_cuda_vec_soft(kn_backend *be, kn_vec *v, double t);
int kn_cuda_sparse_create(kn_backend *be, size_t rows, size_t cols, const size_t *row_ptr,
                          const size_t *col, const double *val, kn_sparse **out);
void kn_cuda_sparse_destroy(kn_backend *be, kn_sparse **s);
int kn_cuda_sparse_values(kn_backend *be, kn_sparse *s, const double *val);
int kn_cuda_sparse_apply(kn_backend *be, const kn_sparse *s, const kn_vec *x, kn_vec *y);
int kn_cuda_tv_grad(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *x, kn_vec *g);
int kn_cuda_tv_grad_adjoint(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *g,
                            kn_vec *x);
int kn_cuda_vec_ball_proj(kn_backend *be, kn_vec *p, double t);
int kn_cuda_vec_pair_nrm_sum(kn_backend *be, const kn_vec *p, double *out);

#endif
