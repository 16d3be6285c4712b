/* cuda_kernels.cu — the CUDA kernels of the cuda backend (templated on float/double) and their C launchers. */
#include "cuda_kernels.h"
#include "kernest.h"

namespace {

constexpr unsigned kThreads = 256;     /* threads per block of the element-wise kernels */
constexpr unsigned kMaxBlocks = 8192;  /* grid-stride loops cover the rest */
constexpr unsigned kFinalThreads = 1024; /* one block sums the first pass of a reduction */
static_assert(KN_CU_DOT_BLOCKS <= kFinalThreads, "the second pass sums one partial per thread");

template <typename T> struct cplx;
template <> struct cplx<float> { using type = float2; };
template <> struct cplx<double> { using type = double2; };

unsigned blocks_for(size_t n)
{
    size_t b = (n + kThreads - 1) / kThreads;
    return b < kMaxBlocks ? (unsigned)b : kMaxBlocks;
}

/* Block and grid of the 2-D kernels over rows×cols. */
const dim3 kTile(32, 8);
dim3 tiles_for(size_t rows, size_t cols)
{
    size_t bx = (cols + kTile.x - 1) / kTile.x, by = (rows + kTile.y - 1) / kTile.y;
    return dim3(bx < 1024 ? (unsigned)bx : 1024u, by < 65535 ? (unsigned)by : 65535u);
}

__device__ inline size_t first_index() { return (size_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ inline size_t stride() { return (size_t)gridDim.x * blockDim.x; }

/* ---- vectors ------------------------------------------------------------------------------ */

template <typename T> __global__ void fill_kernel(T *v, size_t n, T a)
{
    for (size_t i = first_index(); i < n; i += stride())
        v[i] = a;
}

template <typename T> __global__ void aypx_kernel(T *y, T a, const T *x, size_t n)
{
    for (size_t i = first_index(); i < n; i += stride())
        y[i] = x[i] + a * y[i];
}

/* Sum of v over the block, valid in thread 0; blockDim.x is a multiple of 32. */
__device__ double block_sum(double v)
{
    __shared__ double warp_sums[32];
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    if (lane == 0)
        warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < blockDim.x / 32 ? warp_sums[lane] : 0.0;
        for (int off = 16; off > 0; off >>= 1)
            v += __shfl_down_sync(0xffffffffu, v, off);
    }
    return v;
}

/* First pass: one double partial per block, in a fixed order (results are reproducible). */
template <typename T> __global__ void dot_partial_kernel(const T *x, const T *y, size_t n, double *partial)
{
    double s = 0.0;
    for (size_t i = first_index(); i < n; i += stride())
        s += (double)x[i] * (double)y[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

__global__ void dot_final_kernel(double *scratch, unsigned nparts)
{
    double s = threadIdx.x < nparts ? scratch[threadIdx.x] : 0.0;
    s = block_sum(s);
    if (threadIdx.x == 0)
        scratch[KN_CU_DOT_BLOCKS] = s;
}

/* ---- grids and windows -------------------------------------------------------------------- */

/* 2-D kernels: a (32, 8) block per tile, grid-stride loops over rows and columns, so that no
 * element pays for a 64-bit division. */
#define KN_FOR_ROWS(y, rows)                                                                \
    for (size_t y = (size_t)blockIdx.y * blockDim.y + threadIdx.y; y < (rows);               \
         y += (size_t)gridDim.y * blockDim.y)
#define KN_FOR_COLS(x, cols)                                                                \
    for (size_t x = (size_t)blockIdx.x * blockDim.x + threadIdx.x; x < (cols);               \
         x += (size_t)gridDim.x * blockDim.x)

template <typename T>
__global__ void pad_kernel(T *grid, size_t gh, size_t gw, const T *k, size_t kh, size_t kw, size_t dh,
                           size_t dw)
{
    KN_FOR_ROWS(y, gh)
        KN_FOR_COLS(x, gw) {
            const size_t ty = y / dh, tx = x / dw;
            grid[y * gw + x] = (ty < kh && tx < kw && y % dh == 0 && x % dw == 0) ? k[ty * kw + tx] : T(0);
        }
}

template <typename T>
__global__ void crop_kernel(T *k, size_t kh, size_t kw, const T *grid, size_t gw, size_t dh, size_t dw)
{
    KN_FOR_ROWS(y, kh)
        KN_FOR_COLS(x, kw)
            k[y * kw + x] = grid[y * dh * gw + x * dw];
}

template <typename T>
__global__ void gather_kernel(T *r, const T *mask, const T *grid, size_t gw, size_t row0,
                              size_t col0, size_t hb, size_t wb, size_t sh, size_t sw)
{
    KN_FOR_ROWS(y, hb)
        KN_FOR_COLS(x, wb) {
            size_t j = y * wb + x;
            T v = grid[(row0 + y * sh) * gw + col0 + x * sw];
            r[j] = mask ? v * mask[j] : v;
        }
}

template <typename T>
__global__ void scatter_kernel(T *grid, size_t gh, size_t gw, const T *r, const T *mask,
                               size_t row0, size_t col0, size_t hb, size_t wb, size_t sh, size_t sw)
{
    KN_FOR_ROWS(y, gh)
        KN_FOR_COLS(x, gw) {
            T v = T(0);
            /* unsigned wrap makes y - row0 huge above the window */
            const size_t dy = y - row0, dx = x - col0;
            if (dy % sh == 0 && dx % sw == 0 && dy / sh < hb && dx / sw < wb) {
                size_t j = (dy / sh) * wb + dx / sw;
                v = mask ? r[j] * mask[j] : r[j];
            }
            grid[y * gw + x] = v;
        }
}

/* ---- spectra ------------------------------------------------------------------------------ */

template <typename T, typename C = typename cplx<T>::type>
__global__ void spec_mul_kernel(C *out, const C *x, const C *a, size_t n, T scale)
{
    for (size_t i = first_index(); i < n; i += stride()) {
        C u = x[i], w = a[i];
        out[i] = C{(u.x * w.x - u.y * w.y) * scale, (u.x * w.y + u.y * w.x) * scale};
    }
}

/* channels: out = scale Σ_c x[c] · a[c] over nch spectra of n entries each */
template <typename T, typename C = typename cplx<T>::type>
__global__ void spec_mul_sum_kernel(C *out, const C *x, const C *a, size_t n, size_t nch, T scale)
{
    for (size_t i = first_index(); i < n; i += stride()) {
        T re = 0, im = 0;
        for (size_t c = 0; c < nch; c++) {
            C u = x[c * n + i], w = a[c * n + i];
            re += u.x * w.x - u.y * w.y;
            im += u.x * w.y + u.y * w.x;
        }
        out[i] = C{re * scale, im * scale};
    }
}

/* channels: acc[c] (+)= conj(a[c]) · x · scale for nch spectra a[c], one x */
template <typename T, typename C = typename cplx<T>::type>
__global__ void spec_mul_conj_multi_kernel(C *acc, const C *x, const C *a, size_t n, size_t nch, T scale,
                                           int accumulate)
{
    for (size_t i = first_index(); i < n; i += stride()) {
        C u = x[i];
        for (size_t c = 0; c < nch; c++) {
            C w = a[c * n + i];
            T re = (w.x * u.x + w.y * u.y) * scale, im = (w.x * u.y - w.y * u.x) * scale;
            if (accumulate) {
                C s = acc[c * n + i];
                re += s.x;
                im += s.y;
            }
            acc[c * n + i] = C{re, im};
        }
    }
}

template <typename T, typename C = typename cplx<T>::type>
__global__ void spec_mul_conj_kernel(C *acc, const C *x, const C *a, size_t n, T scale, int accumulate)
{
    for (size_t i = first_index(); i < n; i += stride()) {
        C u = x[i], w = a[i];
        /* conj(w) · u */
        T re = (w.x * u.x + w.y * u.y) * scale, im = (w.x * u.y - w.y * u.x) * scale;
        if (accumulate) {
            C s = acc[i];
            re += s.x;
            im += s.y;
        }
        acc[i] = C{re, im};
    }
}

/* ---- samples batched ---------------------------------------------------------------------- */

template <typename T, typename C = typename cplx<T>::type>
__global__ void spec_mul_sum_batch_kernel(C *out, const C *x, const C *a, size_t n, size_t nch, size_t nb,
                                          size_t a_stride, T scale)
{
    for (size_t q = first_index(); q < n * nb; q += stride()) {
        const size_t j = q / n, i = q % n;
        const C *aj = a + j * a_stride;
        T re = 0, im = 0;
        for (size_t c = 0; c < nch; c++) {
            C u = x[c * n + i], w = aj[c * n + i];
            re += u.x * w.x - u.y * w.y;
            im += u.x * w.y + u.y * w.x;
        }
        out[q] = C{re * scale, im * scale};
    }
}

/* the samples summed in a fixed order: the result does not depend on the launch */
template <typename T, typename C = typename cplx<T>::type>
__global__ void spec_conj_sum_batch_kernel(C *acc, const C *x, const C *a, size_t n, size_t nch, size_t nb,
                                           size_t a_stride, T scale, int accumulate)
{
    for (size_t q = first_index(); q < n * nch; q += stride()) {
        const size_t i = q % n;
        T re = 0, im = 0;
        for (size_t j = 0; j < nb; j++) {
            C u = x[j * n + i], w = a[j * a_stride + q];
            re += w.x * u.x + w.y * u.y;
            im += w.x * u.y - w.y * u.x;
        }
        re *= scale;
        im *= scale;
        if (accumulate) {
            C s = acc[q];
            re += s.x;
            im += s.y;
        }
        acc[q] = C{re, im};
    }
}

/* blockIdx.z: the sample of the batch */
template <typename T>
__global__ void gather_batch_kernel(T *r, const T *mask, const T *grids, size_t gh, size_t gw,
                                    const kn_cu_window *win, size_t first, size_t o, size_t sh, size_t sw)
{
    const kn_cu_window w = win[first + blockIdx.z];
    const T *grid = grids + (size_t)blockIdx.z * gh * gw;
    const size_t off = w.offset + o * w.hb * w.wb;
    KN_FOR_ROWS(y, w.hb)
        KN_FOR_COLS(x, w.wb) {
            const size_t j = off + y * w.wb + x;
            const T v = grid[(w.row0 + y * sh) * gw + w.col0 + x * sw];
            r[j] = mask ? v * mask[j] : v;
        }
}

template <typename T>
__global__ void scatter_batch_kernel(T *grids, size_t gh, size_t gw, const T *r, const T *mask,
                                     const kn_cu_window *win, size_t first, size_t o, size_t sh, size_t sw)
{
    const kn_cu_window w = win[first + blockIdx.z];
    T *grid = grids + (size_t)blockIdx.z * gh * gw;
    const size_t off = w.offset + o * w.hb * w.wb;
    KN_FOR_ROWS(y, gh)
        KN_FOR_COLS(x, gw) {
            T v = T(0);
            const size_t dy = y - w.row0, dx = x - w.col0; /* wraps above the window */
            if (dy % sh == 0 && dx % sw == 0 && dy / sh < w.hb && dx / sw < w.wb) {
                const size_t j = off + (dy / sh) * w.wb + dx / sw;
                v = mask ? r[j] * mask[j] : r[j];
            }
            grid[y * gw + x] = v;
        }
}

/* ---- regularisation ----------------------------------------------------------------------- */

/* reg is a kernest_reg; anything but ridge and grad gives 0 (none). nimg kernels of kh×kw
 * stacked, in one launch: row y of the stack is row r = y % kh of its kernel (grad does not
 * difference across kernels). */
template <typename T>
__global__ void reg_gram_kernel(int reg, T *out, const T *k, size_t nimg, size_t kh, size_t kw)
{
    KN_FOR_ROWS(y, nimg * kh)
        KN_FOR_COLS(x, kw) {
            size_t i = y * kw + x, r = y % kh;
            T c = k[i], v = T(0);
            if (reg == KERNEST_REG_RIDGE) {
                v = c;
            } else if (reg == KERNEST_REG_GRAD) {
                if (r > 0) v += c - k[i - kw];
                if (r + 1 < kh) v += c - k[i + kw];
                if (x > 0) v += c - k[i - 1];
                if (x + 1 < kw) v += c - k[i + 1];
            }
            out[i] = v;
        }
}

/* ---- priors ------------------------------------------------------------------------------- */

template <typename T> __global__ void clip_kernel(T *v, size_t n, T lo, T hi)
{
    for (size_t i = first_index(); i < n; i += stride()) {
        T a = v[i];
        v[i] = a < lo ? lo : a > hi ? hi : a;
    }
}

template <typename T> __global__ void mul_kernel(T *v, const T *w, size_t n)
{
    for (size_t i = first_index(); i < n; i += stride())
        v[i] *= w[i];
}

template <typename T> __global__ void soft_kernel(T *v, size_t n, T t)
{
    for (size_t i = first_index(); i < n; i += stride()) {
        T a = v[i];
        v[i] = a > t ? a - t : a < -t ? a + t : T(0);
    }
}

/* CSR rows as gathers (no write conflicts). Rows are short (Φ: 1–2 entries) or long (Φᵀ: a ring of
 * up to ~10⁵ pixels per knot; the background: every observed pixel of a pair): a warp per row
 * when there are many rows, a block per row when there are few, so that a long row is read by
 * many threads at once. Column indices are 4 bytes (I = unsigned) where the columns fit. */
template <typename T, typename I>
__global__ void csr_warp_kernel(T *y, size_t rows, const size_t *row_ptr, const I *col, const T *val,
                                const T *x)
{
    const unsigned lane = threadIdx.x & 31u;
    const size_t warps = ((size_t)gridDim.x * blockDim.x) >> 5;
    for (size_t i = first_index() >> 5; i < rows; i += warps) {
        double acc = 0.0;
        for (size_t j = row_ptr[i] + lane; j < row_ptr[i + 1]; j += 32)
            acc += (double)val[j] * (double)x[col[j]];
        for (int off = 16; off > 0; off >>= 1)
            acc += __shfl_down_sync(0xffffffffu, acc, off);
        if (lane == 0)
            y[i] = (T)acc;
    }
}

template <typename T, typename I>
__global__ void csr_block_kernel(T *y, size_t rows, const size_t *row_ptr, const I *col, const T *val,
                                 const T *x)
{
    for (size_t i = blockIdx.x; i < rows; i += gridDim.x) {
        double acc = 0.0;
        for (size_t j = row_ptr[i] + threadIdx.x; j < row_ptr[i + 1]; j += blockDim.x)
            acc += (double)val[j] * (double)x[col[j]];
        acc = block_sum(acc);
        if (threadIdx.x == 0)
            y[i] = (T)acc;
        __syncthreads(); /* block_sum's shared memory is reused by the next row */
    }
}

/* nimg kernels of kh×kw stacked: row y of the stack is row r = y % kh of its kernel */
template <typename T> __global__ void tv_grad_kernel(T *g, const T *k, size_t nimg, size_t kh, size_t kw)
{
    const size_t n = nimg * kh * kw;
    KN_FOR_ROWS(y, nimg * kh)
        KN_FOR_COLS(x, kw) {
            size_t i = y * kw + x, r = y % kh;
            T c = k[i];
            g[i] = x + 1 < kw ? k[i + 1] - c : T(0);
            g[n + i] = r + 1 < kh ? k[i + kw] - c : T(0);
        }
}

template <typename T>
__global__ void tv_grad_adjoint_kernel(T *k, const T *g, size_t nimg, size_t kh, size_t kw)
{
    const size_t n = nimg * kh * kw;
    const T *gy = g + n;
    KN_FOR_ROWS(y, nimg * kh)
        KN_FOR_COLS(x, kw) {
            size_t i = y * kw + x, r = y % kh;
            T s = T(0);
            if (x + 1 < kw) s -= g[i];
            if (x > 0) s += g[i - 1];
            if (r + 1 < kh) s -= gy[i];
            if (r > 0) s += gy[i - kw];
            k[i] = s;
        }
}

template <typename T> __global__ void ball_proj_kernel(T *p, size_t half, double t)
{
    for (size_t i = first_index(); i < half; i += stride()) {
        double a = p[i], b = p[half + i], r = sqrt(a * a + b * b);
        if (r > t) {
            T s = (T)(t / r);
            p[i] *= s;
            p[half + i] *= s;
        }
    }
}

template <typename T> __global__ void pair_nrm_partial_kernel(const T *p, size_t half, double *partial)
{
    double s = 0.0;
    for (size_t i = first_index(); i < half; i += stride()) {
        double a = p[i], b = p[half + i];
        s += sqrt(a * a + b * b);
    }
    s = block_sum(s);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

/* ---- typed launchers ---------------------------------------------------------------------- */

template <typename T> cudaError_t fill(void *v, size_t n, double a, cudaStream_t s)
{
    fill_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((T *)v, n, (T)a);
    return cudaGetLastError();
}

template <typename T> cudaError_t aypx(void *y, double a, const void *x, size_t n, cudaStream_t s)
{
    aypx_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((T *)y, (T)a, (const T *)x, n);
    return cudaGetLastError();
}

template <typename T>
cudaError_t dot(const void *x, const void *y, size_t n, double *scratch, cudaStream_t s)
{
    unsigned nb = blocks_for(n);
    if (nb > KN_CU_DOT_BLOCKS)
        nb = KN_CU_DOT_BLOCKS;
    dot_partial_kernel<T><<<nb, kThreads, 0, s>>>((const T *)x, (const T *)y, n, scratch);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return e;
    dot_final_kernel<<<1, kFinalThreads, 0, s>>>(scratch, nb);
    return cudaGetLastError();
}

template <typename T>
cudaError_t pad(void *grid, size_t gh, size_t gw, const void *k, size_t kh, size_t kw, size_t dh, size_t dw,
                cudaStream_t s)
{
    pad_kernel<T><<<tiles_for(gh, gw), kTile, 0, s>>>((T *)grid, gh, gw, (const T *)k, kh, kw, dh, dw);
    return cudaGetLastError();
}

template <typename T>
cudaError_t crop(void *k, size_t kh, size_t kw, const void *grid, size_t gw, size_t dh, size_t dw,
                 cudaStream_t s)
{
    crop_kernel<T><<<tiles_for(kh, kw), kTile, 0, s>>>((T *)k, kh, kw, (const T *)grid, gw, dh, dw);
    return cudaGetLastError();
}

template <typename T>
cudaError_t gather(void *r, const void *mask, const void *grid, size_t gw, size_t row0, size_t col0,
                   size_t hb, size_t wb, size_t sh, size_t sw, cudaStream_t s)
{
    gather_kernel<T><<<tiles_for(hb, wb), kTile, 0, s>>>((T *)r, (const T *)mask, (const T *)grid, gw,
                                                              row0, col0, hb, wb, sh, sw);
    return cudaGetLastError();
}

template <typename T>
cudaError_t scatter(void *grid, size_t gh, size_t gw, const void *r, const void *mask, size_t row0,
                    size_t col0, size_t hb, size_t wb, size_t sh, size_t sw, cudaStream_t s)
{
    scatter_kernel<T><<<tiles_for(gh, gw), kTile, 0, s>>>(
        (T *)grid, gh, gw, (const T *)r, (const T *)mask, row0, col0, hb, wb, sh, sw);
    return cudaGetLastError();
}

template <typename T, typename C = typename cplx<T>::type>
cudaError_t spec_mul(void *out, const void *x, const void *a, size_t n, double scale, cudaStream_t s)
{
    spec_mul_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((C *)out, (const C *)x, (const C *)a, n,
                                                          (T)scale);
    return cudaGetLastError();
}

template <typename T, typename C = typename cplx<T>::type>
cudaError_t spec_mul_conj(void *acc, const void *x, const void *a, size_t n, double scale,
                          int accumulate, cudaStream_t s)
{
    spec_mul_conj_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((C *)acc, (const C *)x,
                                                               (const C *)a, n, (T)scale, accumulate);
    return cudaGetLastError();
}

template <typename T, typename C = typename cplx<T>::type>
cudaError_t spec_mul_sum(void *out, const void *x, const void *a, size_t n, size_t nch, double scale,
                         cudaStream_t s)
{
    spec_mul_sum_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((C *)out, (const C *)x, (const C *)a, n,
                                                              nch, (T)scale);
    return cudaGetLastError();
}

template <typename T, typename C = typename cplx<T>::type>
cudaError_t spec_mul_conj_multi(void *acc, const void *x, const void *a, size_t n, size_t nch,
                                double scale, int accumulate, cudaStream_t s)
{
    spec_mul_conj_multi_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((C *)acc, (const C *)x,
                                                                     (const C *)a, n, nch, (T)scale,
                                                                     accumulate);
    return cudaGetLastError();
}

template <typename T, typename C = typename cplx<T>::type>
cudaError_t spec_mul_sum_batch(void *out, const void *x, const void *a, size_t n, size_t nch, size_t nb,
                               size_t a_stride, double scale, cudaStream_t s)
{
    spec_mul_sum_batch_kernel<T><<<blocks_for(n * nb), kThreads, 0, s>>>((C *)out, (const C *)x, (const C *)a, n,
                                                                        nch, nb, a_stride, (T)scale);
    return cudaGetLastError();
}

template <typename T, typename C = typename cplx<T>::type>
cudaError_t spec_conj_sum_batch(void *acc, const void *x, const void *a, size_t n, size_t nch, size_t nb,
                                size_t a_stride, double scale, int accumulate, cudaStream_t s)
{
    spec_conj_sum_batch_kernel<T><<<blocks_for(n * nch), kThreads, 0, s>>>(
        (C *)acc, (const C *)x, (const C *)a, n, nch, nb, a_stride, (T)scale, accumulate);
    return cudaGetLastError();
}

/* tiles over the largest window (or the grid), one z-slice per sample */
static dim3 batch_tiles(size_t rows, size_t cols, size_t nb)
{
    dim3 t = tiles_for(rows, cols);
    t.z = (unsigned)nb;
    return t;
}

template <typename T>
cudaError_t gather_batch(void *r, const void *mask, const void *grids, size_t gh, size_t gw, const kn_cu_window *win,
                         size_t first, size_t nb, size_t o, size_t sh, size_t sw, size_t max_hb, size_t max_wb,
                         cudaStream_t s)
{
    gather_batch_kernel<T><<<batch_tiles(max_hb, max_wb, nb), kTile, 0, s>>>(
        (T *)r, (const T *)mask, (const T *)grids, gh, gw, win, first, o, sh, sw);
    return cudaGetLastError();
}

template <typename T>
cudaError_t scatter_batch(void *grids, size_t gh, size_t gw, const void *r, const void *mask, const kn_cu_window *win,
                          size_t first, size_t nb, size_t o, size_t sh, size_t sw, cudaStream_t s)
{
    scatter_batch_kernel<T><<<batch_tiles(gh, gw, nb), kTile, 0, s>>>((T *)grids, gh, gw, (const T *)r,
                                                                      (const T *)mask, win, first, o, sh, sw);
    return cudaGetLastError();
}

template <typename T>
cudaError_t reg_gram(int reg, void *out, const void *k, size_t nimg, size_t kh, size_t kw, cudaStream_t s)
{
    reg_gram_kernel<T><<<tiles_for(nimg * kh, kw), kTile, 0, s>>>(reg, (T *)out, (const T *)k, nimg, kh, kw);
    return cudaGetLastError();
}

template <typename T> cudaError_t clip(void *v, size_t n, double lo, double hi, cudaStream_t s)
{
    clip_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((T *)v, n, (T)lo, (T)hi);
    return cudaGetLastError();
}

template <typename T> cudaError_t mul(void *v, const void *w, size_t n, cudaStream_t s)
{
    mul_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((T *)v, (const T *)w, n);
    return cudaGetLastError();
}

template <typename T> cudaError_t soft(void *v, size_t n, double t, cudaStream_t s)
{
    soft_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((T *)v, n, (T)t);
    return cudaGetLastError();
}

/* Rows at or below this count get a block each (a few long rows: Φᵀ knots, background pairs). */
constexpr size_t kCsrBlockRows = 4096;
constexpr unsigned kCsrBlockThreads = 512;

template <typename T, typename I>
cudaError_t csr_apply_idx(T *y, size_t rows, const size_t *row_ptr, const I *col, const T *val, const T *x,
                          cudaStream_t s)
{
    if (rows <= kCsrBlockRows) {
        csr_block_kernel<T, I><<<(unsigned)rows, kCsrBlockThreads, 0, s>>>(y, rows, row_ptr, col, val, x);
    } else {
        size_t b = (rows * 32 + kThreads - 1) / kThreads;
        csr_warp_kernel<T, I><<<b < kMaxBlocks ? (unsigned)b : kMaxBlocks, kThreads, 0, s>>>(y, rows, row_ptr,
                                                                                          col, val, x);
    }
    return cudaGetLastError();
}

template <typename T>
cudaError_t csr_apply(void *y, size_t rows, const size_t *row_ptr, const void *col, int col32,
                      const void *val, const void *x, cudaStream_t s)
{
    if (col32)
        return csr_apply_idx<T, unsigned>((T *)y, rows, row_ptr, (const unsigned *)col, (const T *)val,
                                          (const T *)x, s);
    return csr_apply_idx<T, size_t>((T *)y, rows, row_ptr, (const size_t *)col, (const T *)val,
                                    (const T *)x, s);
}

template <typename T>
cudaError_t tv_grad(void *g, const void *k, size_t nimg, size_t kh, size_t kw, cudaStream_t s)
{
    tv_grad_kernel<T><<<tiles_for(nimg * kh, kw), kTile, 0, s>>>((T *)g, (const T *)k, nimg, kh, kw);
    return cudaGetLastError();
}

template <typename T>
cudaError_t tv_grad_adjoint(void *k, const void *g, size_t nimg, size_t kh, size_t kw, cudaStream_t s)
{
    tv_grad_adjoint_kernel<T><<<tiles_for(nimg * kh, kw), kTile, 0, s>>>((T *)k, (const T *)g, nimg, kh, kw);
    return cudaGetLastError();
}

template <typename T> cudaError_t ball_proj(void *p, size_t half, double t, cudaStream_t s)
{
    ball_proj_kernel<T><<<blocks_for(half), kThreads, 0, s>>>((T *)p, half, t);
    return cudaGetLastError();
}

template <typename T> cudaError_t pair_nrm_sum(const void *p, size_t half, double *scratch, cudaStream_t s)
{
    unsigned nb = blocks_for(half);
    if (nb > KN_CU_DOT_BLOCKS)
        nb = KN_CU_DOT_BLOCKS;
    pair_nrm_partial_kernel<T><<<nb, kThreads, 0, s>>>((const T *)p, half, scratch);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return e;
    dot_final_kernel<<<1, kFinalThreads, 0, s>>>(scratch, nb);
    return cudaGetLastError();
}

} // namespace

/* ---- C launchers: empty launches are skipped (a zero-block grid is a launch error) ------- */

/* A launcher reports its own launch: an error left by an earlier call (cleared here) is not
 * blamed on it. Sticky errors (a kernel that failed) survive the clearing and are reported. */
#define KN_DISPATCH(n, fn, ...)                                                              \
    ((n) == 0 ? cudaSuccess                                                                  \
              : ((void)cudaGetLastError(), dbl ? fn<double>(__VA_ARGS__) : fn<float>(__VA_ARGS__)))

extern "C" cudaError_t kn_cu_fill(int dbl, void *v, size_t n, double a, cudaStream_t stream)
{
    return KN_DISPATCH(n, fill, v, n, a, stream);
}

extern "C" cudaError_t kn_cu_aypx(int dbl, void *y, double a, const void *x, size_t n,
                                  cudaStream_t stream)
{
    return KN_DISPATCH(n, aypx, y, a, x, n, stream);
}

extern "C" cudaError_t kn_cu_dot(int dbl, const void *x, const void *y, size_t n, double *scratch,
                                 cudaStream_t stream)
{
    if (n == 0)
        return cudaMemsetAsync(scratch + KN_CU_DOT_BLOCKS, 0, sizeof(double), stream);
    return KN_DISPATCH(n, dot, x, y, n, scratch, stream);
}

extern "C" cudaError_t kn_cu_pad(int dbl, void *grid, size_t gh, size_t gw, const void *k,
                                 size_t kh, size_t kw, size_t dh, size_t dw, cudaStream_t stream)
{
    return KN_DISPATCH(gh * gw, pad, grid, gh, gw, k, kh, kw, dh, dw, stream);
}

extern "C" cudaError_t kn_cu_crop(int dbl, void *k, size_t kh, size_t kw, const void *grid,
                                  size_t gw, size_t dh, size_t dw, cudaStream_t stream)
{
    return KN_DISPATCH(kh * kw, crop, k, kh, kw, grid, gw, dh, dw, stream);
}

extern "C" cudaError_t kn_cu_gather(int dbl, void *r, const void *mask, const void *grid, size_t gw,
                                    size_t row0, size_t col0, size_t hb, size_t wb, size_t sh,
                                    size_t sw, cudaStream_t stream)
{
    return KN_DISPATCH(hb * wb, gather, r, mask, grid, gw, row0, col0, hb, wb, sh, sw, stream);
}

extern "C" cudaError_t kn_cu_scatter(int dbl, void *grid, size_t gh, size_t gw, const void *r,
                                     const void *mask, size_t row0, size_t col0, size_t hb,
                                     size_t wb, size_t sh, size_t sw, cudaStream_t stream)
{
    return KN_DISPATCH(gh * gw, scatter, grid, gh, gw, r, mask, row0, col0, hb, wb, sh, sw, stream);
}

extern "C" cudaError_t kn_cu_spec_mul(int dbl, void *out, const void *x, const void *a, size_t n,
                                      double scale, cudaStream_t stream)
{
    return KN_DISPATCH(n, spec_mul, out, x, a, n, scale, stream);
}

extern "C" cudaError_t kn_cu_spec_mul_conj(int dbl, void *acc, const void *x, const void *a,
                                           size_t n, double scale, int accumulate,
                                           cudaStream_t stream)
{
    return KN_DISPATCH(n, spec_mul_conj, acc, x, a, n, scale, accumulate, stream);
}

extern "C" cudaError_t kn_cu_spec_mul_sum(int dbl, void *out, const void *x, const void *a, size_t n,
                                          size_t nch, double scale, cudaStream_t stream)
{
    return KN_DISPATCH(n * nch, spec_mul_sum, out, x, a, n, nch, scale, stream);
}

extern "C" cudaError_t kn_cu_spec_mul_conj_multi(int dbl, void *acc, const void *x, const void *a,
                                                 size_t n, size_t nch, double scale, int accumulate,
                                                 cudaStream_t stream)
{
    return KN_DISPATCH(n * nch, spec_mul_conj_multi, acc, x, a, n, nch, scale, accumulate, stream);
}

extern "C" cudaError_t kn_cu_spec_mul_sum_batch(int dbl, void *out, const void *x, const void *a, size_t n,
                                                size_t nch, size_t nb, size_t a_stride, double scale,
                                                cudaStream_t stream)
{
    return KN_DISPATCH(n * nb, spec_mul_sum_batch, out, x, a, n, nch, nb, a_stride, scale, stream);
}

extern "C" cudaError_t kn_cu_spec_conj_sum_batch(int dbl, void *acc, const void *x, const void *a, size_t n,
                                                 size_t nch, size_t nb, size_t a_stride, double scale,
                                                 int accumulate, cudaStream_t stream)
{
    return KN_DISPATCH(n * nch, spec_conj_sum_batch, acc, x, a, n, nch, nb, a_stride, scale, accumulate, stream);
}

extern "C" cudaError_t kn_cu_gather_batch(int dbl, void *r, const void *mask, const void *grids, size_t gh,
                                          size_t gw, const kn_cu_window *win, size_t first, size_t nb, size_t o,
                                          size_t sh, size_t sw, size_t max_hb, size_t max_wb, cudaStream_t stream)
{
    if (nb > KN_CU_MAX_BATCH)
        return cudaErrorInvalidValue;
    return KN_DISPATCH(nb * max_hb * max_wb, gather_batch, r, mask, grids, gh, gw, win, first, nb, o, sh, sw, max_hb,
                       max_wb, stream);
}

extern "C" cudaError_t kn_cu_scatter_batch(int dbl, void *grids, size_t gh, size_t gw, const void *r,
                                           const void *mask, const kn_cu_window *win, size_t first, size_t nb,
                                           size_t o, size_t sh, size_t sw, cudaStream_t stream)
{
    if (nb > KN_CU_MAX_BATCH)
        return cudaErrorInvalidValue;
    return KN_DISPATCH(nb * gh * gw, scatter_batch, grids, gh, gw, r, mask, win, first, nb, o, sh, sw, stream);
}

extern "C" cudaError_t kn_cu_reg_gram(int dbl, int reg, void *out, const void *k, size_t nimg,
                                      size_t kh, size_t kw, cudaStream_t stream)
{
    return KN_DISPATCH(nimg * kh * kw, reg_gram, reg, out, k, nimg, kh, kw, stream);
}

extern "C" cudaError_t kn_cu_clip(int dbl, void *v, size_t n, double lo, double hi, cudaStream_t stream)
{
    return KN_DISPATCH(n, clip, v, n, lo, hi, stream);
}

extern "C" cudaError_t kn_cu_mul(int dbl, void *v, const void *w, size_t n, cudaStream_t stream)
{
    return KN_DISPATCH(n, mul, v, w, n, stream);
}

extern "C" cudaError_t kn_cu_soft(int dbl, void *v, size_t n, double t, cudaStream_t stream)
{
    return KN_DISPATCH(n, soft, v, n, t, stream);
}

extern "C" cudaError_t kn_cu_csr_apply(int dbl, void *y, size_t rows, const size_t *row_ptr,
                                       const void *col, int col32, const void *val, const void *x,
                                       cudaStream_t stream)
{
    return KN_DISPATCH(rows, csr_apply, y, rows, row_ptr, col, col32, val, x, stream);
}

extern "C" cudaError_t kn_cu_tv_grad(int dbl, void *g, const void *k, size_t nimg, size_t kh, size_t kw,
                                     cudaStream_t stream)
{
    return KN_DISPATCH(nimg * kh * kw, tv_grad, g, k, nimg, kh, kw, stream);
}

extern "C" cudaError_t kn_cu_tv_grad_adjoint(int dbl, void *k, const void *g, size_t nimg, size_t kh,
                                             size_t kw, cudaStream_t stream)
{
    return KN_DISPATCH(nimg * kh * kw, tv_grad_adjoint, k, g, nimg, kh, kw, stream);
}

extern "C" cudaError_t kn_cu_ball_proj(int dbl, void *p, size_t half, double t, cudaStream_t stream)
{
    return KN_DISPATCH(half, ball_proj, p, half, t, stream);
}

extern "C" cudaError_t kn_cu_pair_nrm_sum(int dbl, const void *p, size_t half, double *scratch,
                                         cudaStream_t stream)
{
    if (half == 0)
        return cudaMemsetAsync(scratch + KN_CU_DOT_BLOCKS, 0, sizeof(double), stream);
    return KN_DISPATCH(half, pair_nrm_sum, p, half, scratch, stream);
}
