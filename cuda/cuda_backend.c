/* cuda_backend.c — the cuda backend: device selection, stream and cuBLAS handle, vectors (cuBLAS and kernels). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_impl.h"
#include "kn_cuda.h"
#include "cuda_kernels.h"
#include "base/error.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
/* Elements converted per host<->device copy in single precision. */
#define CONVERT_CHUNK ((size_t)1 << 20)

static kn_cuda *impl(const kn_backend *be)
{
    return (kn_cuda *)be->impl;
}

int kn_cuda_use(kn_cuda *c)
{
    /* cheap when already current; keeps a backend usable from any host thread */
    KN_CUDA_TRY(cudaSetDevice(c->device));
    return KERNEST_OK;
}

void kn_cuda_use_quiet(kn_cuda *c)
{
    if (cudaSetDevice(c->device) != cudaSuccess)
        (void)cudaGetLastError();
}

int kn_cuda_alloc(kn_cuda *c, void **p, size_t bytes, const char *what)
{
    *p = NULL;
    if (bytes == 0)
        return KERNEST_OK;
    cudaError_t e = cudaMalloc(p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        size_t free_b = 0, total_b = 0;
        (void)cudaGetLastError();
        (void)cudaMemGetInfo(&free_b, &total_b);
        *p = NULL;
        return kn_error(KERNEST_E_TOOBIG,
                        "cudaMalloc of %zu bytes (%.2f GiB) for %s failed on cuda:%d: out of device "
                        "memory (%zu bytes, %.2f GiB free of %.2f GiB); try --precision single, a smaller "
                        "--ksize or --device cpu",
                        bytes, bytes / GIB, what, c->device, free_b, free_b / GIB, total_b / GIB);
    }
    if (e != cudaSuccess)
        *p = NULL;
    return kn_cuda_check(e, "cudaMalloc");
}

static int sync_stream(kn_cuda *c)
{
    KN_CUDA_TRY(cudaStreamSynchronize(c->stream));
    return KERNEST_OK;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

/* Frees everything c holds (NULL allowed). Errors cannot be reported from here: ignored. */
static void impl_free(kn_cuda *c)
{
    if (!c)
        return;
    kn_cuda_use_quiet(c);
    if (c->stream)
        (void)cudaStreamSynchronize(c->stream);
    kn_cuda_op_free(c);
    if (c->dot_scratch)
        (void)cudaFree(c->dot_scratch);
    if (c->have_blas)
        (void)cublasDestroy(c->blas);
    if (c->stream)
        (void)cudaStreamDestroy(c->stream);
    (void)cudaGetLastError();
    free(c);
}

static void backend_destroy(kn_backend *be)
{
    impl_free(impl(be));
    be->impl = NULL;
}

static int mem_available(kn_backend *be, size_t *bytes)
{
    kn_cuda *c = impl(be);
    size_t free_b = 0, total_b = 0;
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    *bytes = free_b;
    return KERNEST_OK;
}

/* ---- vectors ------------------------------------------------------------------------------ */

static int vec_create(kn_backend *be, size_t n, kn_vec **out)
{
    kn_cuda *c = impl(be);
    size_t bytes;
    int st = kn_cuda_use(c);
    if (st)
        return st;
    if (kn_mul_size(n, c->es, &bytes))
        return kn_error(KERNEST_E_TOOBIG, "a vector of %zu elements overflows size_t", n);
    kn_vec *v = calloc(1, sizeof *v);
    if (!v)
        return kn_error(KERNEST_E_NOMEM, "out of host memory for a vector header");
    st = kn_cuda_alloc(c, &v->data, bytes, "a vector");
    if (!st && bytes) {
        st = kn_cuda_check(cudaMemsetAsync(v->data, 0, bytes, c->stream), "cudaMemsetAsync");
        if (st)
            (void)cudaFree(v->data);
    }
    if (st) {
        free(v);
        return st;
    }
    v->n = n;
    *out = v;
    return KERNEST_OK;
}

static void vec_destroy(kn_backend *be, kn_vec **v)
{
    if (!v || !*v)
        return;
    kn_cuda *c = impl(be);
    if ((*v)->data) {
        kn_cuda_use_quiet(c);
        (void)cudaStreamSynchronize(c->stream); /* no kernel may still use it */
        (void)cudaFree((*v)->data);
        (void)cudaGetLastError();
    }
    free(*v);
    *v = NULL;
}

static int vec_upload(kn_backend *be, kn_vec *dst, const double *src)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st || dst->n == 0)
        return st;
    if (c->dbl) {
        KN_CUDA_TRY(cudaMemcpyAsync(dst->data, src, dst->n * sizeof(double),
                                    cudaMemcpyHostToDevice, c->stream));
        return sync_stream(c);
    }
    size_t chunk = dst->n < CONVERT_CHUNK ? dst->n : CONVERT_CHUNK;
    float *buf = malloc(chunk * sizeof *buf);
    if (!buf)
        return kn_error(KERNEST_E_NOMEM, "out of host memory converting a vector to float");
    for (size_t at = 0; at < dst->n && !st; at += chunk) {
        size_t len = dst->n - at < chunk ? dst->n - at : chunk;
        for (size_t i = 0; i < len; i++)
            buf[i] = (float)src[at + i];
        st = kn_cuda_check(cudaMemcpyAsync((float *)dst->data + at, buf, len * sizeof *buf,
                                           cudaMemcpyHostToDevice, c->stream),
                           "cudaMemcpyAsync");
        if (!st) /* buf is refilled next round */
            st = sync_stream(c);
    }
    free(buf);
    return st;
}

static int vec_download(kn_backend *be, const kn_vec *src, double *dst)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st || src->n == 0)
        return st;
    if (c->dbl) {
        KN_CUDA_TRY(cudaMemcpyAsync(dst, src->data, src->n * sizeof(double),
                                    cudaMemcpyDeviceToHost, c->stream));
        return sync_stream(c);
    }
    size_t chunk = src->n < CONVERT_CHUNK ? src->n : CONVERT_CHUNK;
    float *buf = malloc(chunk * sizeof *buf);
    if (!buf)
        return kn_error(KERNEST_E_NOMEM, "out of host memory converting a vector from float");
    for (size_t at = 0; at < src->n && !st; at += chunk) {
        size_t len = src->n - at < chunk ? src->n - at : chunk;
        st = kn_cuda_check(cudaMemcpyAsync(buf, (const float *)src->data + at, len * sizeof *buf,
                                           cudaMemcpyDeviceToHost, c->stream),
                           "cudaMemcpyAsync");
        if (!st)
            st = sync_stream(c);
        for (size_t i = 0; i < len && !st; i++)
            dst[at + i] = buf[i];
    }
    free(buf);
    return st;
}

/* cuBLAS entry points by precision: the only place that branches on float/double for BLAS. */
static int vec_copy(kn_backend *be, kn_vec *dst, const kn_vec *src)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    if (c->dbl)
        KN_CUBLAS_TRY(cublasDcopy_64(c->blas, (int64_t)src->n, src->data, 1, dst->data, 1));
    else
        KN_CUBLAS_TRY(cublasScopy_64(c->blas, (int64_t)src->n, src->data, 1, dst->data, 1));
    return KERNEST_OK;
}

static int vec_scale(kn_backend *be, kn_vec *v, double a)
{
    kn_cuda *c = impl(be);
    float af = (float)a;
    int st = kn_cuda_use(c);
    if (st)
        return st;
    if (c->dbl)
        KN_CUBLAS_TRY(cublasDscal_64(c->blas, (int64_t)v->n, &a, v->data, 1));
    else
        KN_CUBLAS_TRY(cublasSscal_64(c->blas, (int64_t)v->n, &af, v->data, 1));
    return KERNEST_OK;
}

static int vec_axpy(kn_backend *be, kn_vec *y, double a, const kn_vec *x)
{
    kn_cuda *c = impl(be);
    float af = (float)a;
    int st = kn_cuda_use(c);
    if (st)
        return st;
    if (c->dbl)
        KN_CUBLAS_TRY(cublasDaxpy_64(c->blas, (int64_t)x->n, &a, x->data, 1, y->data, 1));
    else
        KN_CUBLAS_TRY(cublasSaxpy_64(c->blas, (int64_t)x->n, &af, x->data, 1, y->data, 1));
    return KERNEST_OK;
}

static int vec_fill(kn_backend *be, kn_vec *v, double a)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st || v->n == 0)
        return st;
    if (a == 0.0) /* all-zero bits are +0.0 in both precisions */
        KN_CUDA_TRY(cudaMemsetAsync(v->data, 0, v->n * c->es, c->stream));
    else
        KN_CUDA_TRY(kn_cu_fill(c->dbl, v->data, v->n, a, c->stream));
    return KERNEST_OK;
}

static int vec_aypx(kn_backend *be, kn_vec *y, double a, const kn_vec *x)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    /* one pass instead of scal + axpy */
    KN_CUDA_TRY(kn_cu_aypx(c->dbl, y->data, a, x->data, x->n, c->stream));
    return KERNEST_OK;
}

/*
 * Reductions return their scalar to the host: the solver needs it to pick the next step, so
 * this is the one place a solve waits for the device (cuBLAS pointer mode host blocks until the
 * result is ready; the float path copies it back and synchronises the stream).
 * Single precision accumulates in double with our own two-pass reduction, since cublasDotEx
 * has no float-input/double-execution combination.
 */
static int dot_float(kn_cuda *c, const kn_vec *x, const kn_vec *y, double *out)
{
    KN_CUDA_TRY(kn_cu_dot(c->dbl, x->data, y->data, x->n, c->dot_scratch, c->stream));
    KN_CUDA_TRY(cudaMemcpyAsync(out, c->dot_scratch + KN_CU_DOT_BLOCKS, sizeof *out,
                                cudaMemcpyDeviceToHost, c->stream));
    return sync_stream(c);
}

static int vec_dot(kn_backend *be, const kn_vec *x, const kn_vec *y, double *out)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    if (!c->dbl)
        return dot_float(c, x, y, out);
    KN_CUBLAS_TRY(cublasDdot_64(c->blas, (int64_t)x->n, x->data, 1, y->data, 1, out));
    return KERNEST_OK;
}

static int vec_nrm2(kn_backend *be, const kn_vec *x, double *out)
{
    kn_cuda *c = impl(be);
    int st = kn_cuda_use(c);
    if (st)
        return st;
    if (c->dbl) {
        KN_CUBLAS_TRY(cublasDnrm2_64(c->blas, (int64_t)x->n, x->data, 1, out));
        return KERNEST_OK;
    }
    /* squares of floats cannot overflow a double accumulator */
    double ss = 0.0;
    st = dot_float(c, x, x, &ss);
    if (!st)
        *out = sqrt(ss);
    return st;
}

static const kn_backend_ops cuda_ops = {
    .name = "cuda",
    .destroy = backend_destroy,
    .mem_available = mem_available,
    .op_bytes = kn_cuda_op_bytes,
    .vec_create = vec_create,
    .vec_destroy = vec_destroy,
    .vec_upload = vec_upload,
    .vec_download = vec_download,
    .vec_copy = vec_copy,
    .vec_fill = vec_fill,
    .vec_scale = vec_scale,
    .vec_axpy = vec_axpy,
    .vec_aypx = vec_aypx,
    .vec_dot = vec_dot,
    .vec_nrm2 = vec_nrm2,
    .op_setup = kn_cuda_op_setup,
    .op_apply = kn_cuda_op_apply,
    .op_adjoint = kn_cuda_op_adjoint,
    .reg_gram = kn_cuda_reg_gram,
    .vec_clip = kn_cuda_vec_clip,
    .vec_mul = kn_cuda_vec_mul,
    .vec_soft = kn_cuda_vec_soft,
    .sparse_create = kn_cuda_sparse_create,
    .sparse_destroy = kn_cuda_sparse_destroy,
    .sparse_values = kn_cuda_sparse_values,
    .sparse_apply = kn_cuda_sparse_apply,
    .tv_grad = kn_cuda_tv_grad,
    .tv_grad_adjoint = kn_cuda_tv_grad_adjoint,
    .vec_ball_proj = kn_cuda_vec_ball_proj,
    .vec_pair_nrm_sum = kn_cuda_vec_pair_nrm_sum,
};

/* ---- creation ----------------------------------------------------------------------------- */

/* Stream, cuBLAS handle and reduction scratch on device dev; c->device is already set. */
static int impl_init(kn_cuda *c)
{
    int st = kn_cuda_use(c);
    if (st)
        return st;
    KN_CUDA_TRY(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    KN_CUBLAS_TRY(cublasCreate(&c->blas));
    c->have_blas = 1;
    KN_CUBLAS_TRY(cublasSetStream(c->blas, c->stream));
    KN_CUBLAS_TRY(cublasSetPointerMode(c->blas, CUBLAS_POINTER_MODE_HOST));
    return kn_cuda_alloc(c, (void **)&c->dot_scratch, KN_CU_DOT_SLOTS * sizeof(double),
                         "the reduction scratch");
}

static int open_device(kernest_precision precision, int dev, kn_backend **out)
{
    struct cudaDeviceProp prop;
    KN_CUDA_TRY(cudaGetDeviceProperties(&prop, dev));
    kn_backend *be = calloc(1, sizeof *be);
    kn_cuda *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return kn_error(KERNEST_E_NOMEM, "out of host memory creating the cuda backend");
    }
    c->device = dev;
    c->dbl = precision == KERNEST_DOUBLE; /* anything else (the default too) is single on a GPU */
    c->es = c->dbl ? sizeof(double) : sizeof(float);
    int st = impl_init(c);
    if (st) {
        impl_free(c);
        free(be);
        return st;
    }
    be->ops = &cuda_ops;
    be->precision = c->dbl ? KERNEST_DOUBLE : KERNEST_SINGLE;
    be->elem_size = c->es;
    be->threads = 1;
    snprintf(be->device, sizeof be->device, "cuda:%d %.80s (cc %d.%d, %.1f GiB)", dev, prop.name,
             prop.major, prop.minor, (double)prop.totalGlobalMem / GIB);
    be->impl = c;
    *out = be;
    return KERNEST_OK;
}

int kn_backend_cuda_create(kernest_precision precision, int index, kn_backend **out)
{
    int count = 0, current = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return kn_error(KERNEST_E_DEVICE, "no usable CUDA device: cudaGetDeviceCount failed: %s (%s)",
                        cudaGetErrorName(e), cudaGetErrorString(e));
    }
    if (count == 0)
        return kn_error(KERNEST_E_DEVICE, "no usable CUDA device: cudaGetDeviceCount found none");
    if (index >= count)
        return kn_error(KERNEST_E_DEVICE, "CUDA device %d does not exist (this machine has %d)",
                        index, count);
    if (index >= 0)
        return open_device(precision, index, out);
    /* any device: the current one first, then the others in order */
    KN_CUDA_TRY(cudaGetDevice(&current));
    int st = open_device(precision, current, out);
    for (int dev = 0; dev < count && st == KERNEST_E_DEVICE; dev++)
        if (dev != current)
            st = open_device(precision, dev, out);
    return st;
}
