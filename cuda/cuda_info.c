/* cuda_info.c — CUDA device count and the version/device report (kn_cuda.h). */
#include <stdarg.h>
#include <stdio.h>

#include "cuda_check.h"
#include "base/error.h"
#include "kn_cuda.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

int kn_cuda_device_count(int *count)
{
    int n = 0;
    /* no driver, no device or a broken installation all mean "nothing usable here" */
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        n = 0;
    }
    *count = n;
    return KERNEST_OK;
}

/* Appends to buf (cap bytes) at *len; output past cap is dropped, buf stays terminated. */
static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len = (size_t)w < cap - *len ? *len + (size_t)w : cap - 1;
}

static int library_versions(char *buf, size_t cap, size_t *len)
{
    int fft[3], blas[3], fft_version = 0, runtime = 0, driver = 0;
    const libraryPropertyType parts[3] = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
    for (int i = 0; i < 3; i++) {
        KN_CUFFT_TRY(cufftGetProperty(parts[i], &fft[i]));
        KN_CUBLAS_TRY(cublasGetProperty(parts[i], &blas[i]));
    }
    KN_CUFFT_TRY(cufftGetVersion(&fft_version));
    KN_CUDA_TRY(cudaRuntimeGetVersion(&runtime));
    /* 0 without a driver; not an error by itself */
    KN_CUDA_TRY(cudaDriverGetVersion(&driver));
    appendf(buf, cap, len, "cuFFT %d.%d.%d (cufftGetVersion %d)\n", fft[0], fft[1], fft[2],
            fft_version);
    appendf(buf, cap, len, "cuBLAS %d.%d.%d\n", blas[0], blas[1], blas[2]);
    appendf(buf, cap, len, "CUDA runtime %d.%d, ", runtime / 1000, runtime % 1000 / 10);
    if (driver)
        appendf(buf, cap, len, "driver %d.%d\n", driver / 1000, driver % 1000 / 10);
    else
        appendf(buf, cap, len, "no driver\n");
    return KERNEST_OK;
}

static int device_line(char *buf, size_t cap, size_t *len, int dev)
{
    struct cudaDeviceProp prop;
    size_t free_b = 0, total_b = 0;
    KN_CUDA_TRY(cudaGetDeviceProperties(&prop, dev));
    KN_CUDA_TRY(cudaSetDevice(dev));
    KN_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    appendf(buf, cap, len, "cuda:%d %s, %.1f GiB total, %.1f GiB free, compute capability %d.%d\n",
            dev, prop.name, total_b / GIB, free_b / GIB, prop.major, prop.minor);
    return KERNEST_OK;
}

int kn_cuda_info_string(char *buf, size_t cap)
{
    size_t len = 0;
    int count = 0, current = 0;
    if (cap == 0)
        return kn_error(KERNEST_E_INVALID, "kn_cuda_info_string: empty buffer");
    buf[0] = '\0';
    int st = library_versions(buf, cap, &len);
    if (st)
        return st;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        appendf(buf, cap, &len, "no usable CUDA device (%s)\n", cudaGetErrorName(e));
        return kn_error(KERNEST_E_DEVICE, "no usable CUDA device: cudaGetDeviceCount failed: %s (%s)",
                        cudaGetErrorName(e), cudaGetErrorString(e));
    }
    if (count == 0) {
        appendf(buf, cap, &len, "no CUDA device\n");
        return kn_error(KERNEST_E_DEVICE, "no usable CUDA device: cudaGetDeviceCount found none");
    }
    KN_CUDA_TRY(cudaGetDevice(&current));
    for (int dev = 0; dev < count && !st; dev++)
        st = device_line(buf, cap, &len, dev);
    /* leave the caller's current device as it was */
    int restore = kn_cuda_check(cudaSetDevice(current), "cudaSetDevice");
    return st ? st : restore;
}
