/* kn_cuda.h — the CUDA backend's face to the layers above it (compiled only with CUDA):
 * creating the backend, counting devices, and the build/device information. */
#ifndef KN_CUDA_H
#define KN_CUDA_H

#include <stddef.h>

#include "backend/backend.h"

/* Creates the CUDA backend on device `index` (-1: the current/first usable). Returns
 * KERNEST_E_DEVICE when no device is usable. *out caller-owned. */
int kn_backend_cuda_create(kernest_precision precision, int index, kn_backend **out);

/* *count receives the number of CUDA devices; no driver or no device gives 0 with KERNEST_OK. */
int kn_cuda_device_count(int *count);

/* Writes multi-line text into buf (cap bytes, always NUL-terminated, truncated when short):
 * the cuFFT and cuBLAS versions, the CUDA runtime and driver versions, then one line per device
 * "cuda:N NAME, X GiB total, Y GiB free, compute capability M.m". Returns KERNEST_E_DEVICE (with
 * a detail message; buf still holds the library versions) when there is no usable driver or
 * device, KERNEST_E_UNSUPPORTED when the CUDA backend is not compiled in. */
int kn_cuda_info_string(char *buf, size_t cap);

#endif
