/* kn_cuda.h — internal: CUDA device count and build/device information (fallbacks without CUDA in src/backend.c). */
#ifndef KN_CUDA_H
#define KN_CUDA_H

#include <stddef.h>

/* *count receives the number of CUDA devices; no driver or no device gives 0 with KERNEST_OK. */
int kn_cuda_device_count(int *count);

/* Writes multi-line text into buf (cap bytes, always NUL-terminated, truncated when short):
 * the cuFFT and cuBLAS versions, the CUDA runtime and driver versions, then one line per device
 * "cuda:N NAME, X GiB total, Y GiB free, compute capability M.m". Returns KERNEST_E_DEVICE (with
 * a detail message; buf still holds the library versions) when there is no usable driver or
 * device, KERNEST_E_UNSUPPORTED when the CUDA backend is not compiled in. */
int kn_cuda_info_string(char *buf, size_t cap);

#endif
