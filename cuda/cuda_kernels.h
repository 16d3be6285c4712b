/* cuda_kernels.h — internal: C-linkage launchers of the CUDA kernels of the cuda backend. */
#ifndef KN_CUDA_KERNELS_H
#define KN_CUDA_KERNELS_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every launcher takes `dbl` (1: double / cufftDoubleComplex data, 0: float / cufftComplex),
 * enqueues on `stream`, and returns the status of its own launch (an error left by an earlier call
 * is cleared first, so it is not blamed on this launch; a sticky error still shows). Pointers are device
 * pointers. Real grids are gh×gw row-major; spectra are the r2c half spectra, gh×(gw/2+1).
 */

/* One sample's observed window (kn_pair's): B[y,x] is the grid's (row0 + y·sh, col0 + x·sw);
 * its data-space segment starts at offset, output channel o at offset + o·hb·wb. */
typedef struct kn_cu_window {
    size_t row0, col0, hb, wb, offset;
} kn_cu_window;

/* Samples per batched launch at most (a grid's z dimension). */
#define KN_CU_MAX_BATCH 65535

/* Blocks of the first reduction pass; kn_cu_dot needs KN_CU_DOT_SLOTS doubles of scratch. */
#define KN_CU_DOT_BLOCKS 1024
#define KN_CU_DOT_SLOTS (KN_CU_DOT_BLOCKS + 1)

/* v[i] = a. */
cudaError_t kn_cu_fill(int dbl, void *v, size_t n, double a, cudaStream_t stream);
/* y = x + a*y. */
cudaError_t kn_cu_aypx(int dbl, void *y, double a, const void *x, size_t n, cudaStream_t stream);
/* scratch[KN_CU_DOT_BLOCKS] = Σ x[i] y[i], accumulated in double (deterministic order). */
cudaError_t kn_cu_dot(int dbl, const void *x, const void *y, size_t n, double *scratch,
                      cudaStream_t stream);

/* grid = k (kh×kw) in the top-left corner, tap (y, x) at (y·dh, x·dw) (a layer's dilation),
 * zero elsewhere. */
cudaError_t kn_cu_pad(int dbl, void *grid, size_t gh, size_t gw, const void *k, size_t kh,
                      size_t kw, size_t dh, size_t dw, cudaStream_t stream);
/* k[y,x] = grid[y·dh, x·dw]: the adjoint of kn_cu_pad. */
cudaError_t kn_cu_crop(int dbl, void *k, size_t kh, size_t kw, const void *grid, size_t gw,
                       size_t dh, size_t dw, cudaStream_t stream);
/* r[y,x] = grid[row0+y·sh, col0+x·sw] * mask[y,x] for the hb×wb window (mask NULL: all ones;
 * sh, sw a layer's stride). */
cudaError_t kn_cu_gather(int dbl, void *r, const void *mask, const void *grid, size_t gw,
                         size_t row0, size_t col0, size_t hb, size_t wb, size_t sh, size_t sw,
                         cudaStream_t stream);
/* grid = r * mask placed at (row0 + y·sh, col0 + x·sw), zero elsewhere: the adjoint of
 * kn_cu_gather. */
cudaError_t kn_cu_scatter(int dbl, void *grid, size_t gh, size_t gw, const void *r,
                          const void *mask, size_t row0, size_t col0, size_t hb, size_t wb,
                          size_t sh, size_t sw, cudaStream_t stream);
/* out = x · a · scale (complex, n entries). */
cudaError_t kn_cu_spec_mul(int dbl, void *out, const void *x, const void *a, size_t n,
                           double scale, cudaStream_t stream);
/* acc = conj(a) · x · scale (accumulate 0), or acc += conj(a) · x · scale (accumulate 1). */
cudaError_t kn_cu_spec_mul_conj(int dbl, void *acc, const void *x, const void *a, size_t n,
                                double scale, int accumulate, cudaStream_t stream);
/* Channels: out = scale · Σ_c x[c] · a[c] over nch spectra of n entries each (x, a: nch·n). */
cudaError_t kn_cu_spec_mul_sum(int dbl, void *out, const void *x, const void *a, size_t n,
                               size_t nch, double scale, cudaStream_t stream);
/* Channels: acc[c] = conj(a[c]) · x · scale (accumulate 0) or acc[c] += ... (accumulate 1) for
 * c < nch; acc and a hold nch spectra of n entries, x one. */
cudaError_t kn_cu_spec_mul_conj_multi(int dbl, void *acc, const void *x, const void *a, size_t n,
                                      size_t nch, double scale, int accumulate, cudaStream_t stream);
/* Samples batched (nb <= KN_CU_MAX_BATCH of them): out[j] = scale · Σ_c x[c] · a[j·a_stride + c]
 * for j < nb — x holds nch spectra of n entries (one output channel's kernels), a the first
 * sample's nch spectra, the next sample's a_stride entries further (C_in spectra per sample). */
cudaError_t kn_cu_spec_mul_sum_batch(int dbl, void *out, const void *x, const void *a, size_t n, size_t nch,
                                     size_t nb, size_t a_stride, double scale, cudaStream_t stream);
/* The adjoint's: acc[c] = scale · Σ_j conj(a[j·a_stride + c]) · x[j] (accumulate 0), or acc[c] +=
 * the same (accumulate 1), for c < nch; x holds nb spectra of n entries. */
cudaError_t kn_cu_spec_conj_sum_batch(int dbl, void *acc, const void *x, const void *a, size_t n, size_t nch,
                                      size_t nb, size_t a_stride, double scale, int accumulate,
                                      cudaStream_t stream);
/* kn_cu_gather for the nb samples first .. first+nb−1 of output channel o at once: sample j's window
 * win[first + j] read from grid j (of gh×gw) into r (mask NULL: all ones); max_hb, max_wb bound the
 * windows. */
cudaError_t kn_cu_gather_batch(int dbl, void *r, const void *mask, const void *grids, size_t gh, size_t gw,
                               const kn_cu_window *win, size_t first, size_t nb, size_t o, size_t sh, size_t sw,
                               size_t max_hb, size_t max_wb, cudaStream_t stream);
/* kn_cu_scatter for the same nb samples: grid j = sample j's r ⊙ mask placed on its window, zero
 * elsewhere (the adjoint of kn_cu_gather_batch). */
cudaError_t kn_cu_scatter_batch(int dbl, void *grids, size_t gh, size_t gw, const void *r, const void *mask,
                                const kn_cu_window *win, size_t first, size_t nb, size_t o, size_t sh,
                                size_t sw, cudaStream_t stream);
/* out = LᵀL k for nimg stacked kh×kw kernels, in one launch; reg is a kernest_reg (see backend.h
 * reg_gram). */
cudaError_t kn_cu_reg_gram(int dbl, int reg, void *out, const void *k, size_t nimg, size_t kh, size_t kw,
                           cudaStream_t stream);

/* ---- priors ---- */
/* v = min(max(v, lo), hi) (±INFINITY allowed). */
cudaError_t kn_cu_clip(int dbl, void *v, size_t n, double lo, double hi, cudaStream_t stream);
/* v ⊙= w. */
cudaError_t kn_cu_mul(int dbl, void *v, const void *w, size_t n, cudaStream_t stream);
/* v = sign(v) max(|v| − t, 0). */
cudaError_t kn_cu_soft(int dbl, void *v, size_t n, double t, cudaStream_t stream);
/* y = S x, S in CSR (row_ptr: rows+1 entries, col/val: nnz), accumulated in double: a warp per row,
 * or a block per row when rows are few (long rows). col holds unsigned (4-byte) indices when col32,
 * else size_t. */
cudaError_t kn_cu_csr_apply(int dbl, void *y, size_t rows, const size_t *row_ptr, const void *col,
                            int col32, const void *val, const void *x, cudaStream_t stream);
/* g (2·n, n = nimg·kh·kw) = D k over nimg stacked kh×kw kernels: forward differences along
 * columns, then rows, inside each kernel, 0 at its last column / row (backend.h). */
cudaError_t kn_cu_tv_grad(int dbl, void *g, const void *k, size_t nimg, size_t kh, size_t kw,
                          cudaStream_t stream);
/* k = Dᵀ g, the adjoint of kn_cu_tv_grad. */
cudaError_t kn_cu_tv_grad_adjoint(int dbl, void *k, const void *g, size_t nimg, size_t kh, size_t kw,
                                  cudaStream_t stream);
/* Pairs (p[i], p[half+i]), i < half, projected onto the disk of radius t. */
cudaError_t kn_cu_ball_proj(int dbl, void *p, size_t half, double t, cudaStream_t stream);
/* scratch[KN_CU_DOT_BLOCKS] = Σ_{i<half} sqrt(p[i]² + p[half+i]²), accumulated in double. */
cudaError_t kn_cu_pair_nrm_sum(int dbl, const void *p, size_t half, double *scratch, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
