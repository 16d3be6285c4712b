/* cuda_check.h — internal: turn CUDA, cuFFT and cuBLAS statuses into kernest statuses naming the call. */
#ifndef KN_CUDA_CHECK_H
#define KN_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cufft.h>

/* Each returns KERNEST_OK on success, else records "CALL failed: NAME (text)" with kn_error and
 * returns KERNEST_E_DEVICE (CUDA runtime, cuBLAS) or KERNEST_E_FFT (cuFFT). `call` may be the
 * stringified call expression: only the text before the first '(' is quoted. */
int kn_cuda_check(cudaError_t err, const char *call);
int kn_cufft_check(cufftResult res, const char *call);
int kn_cublas_check(cublasStatus_t st, const char *call);

/* Stable name of a cuFFT result ("CUFFT_ALLOC_FAILED"); cuFFT has no such function itself. */
const char *kn_cufft_result_name(cufftResult res);

/* Return from the enclosing int function when a call fails; the call text names the failure. */
#define KN_CUDA_TRY(expr)                                                                  \
    do {                                                                                   \
        int kn_st_ = kn_cuda_check((expr), #expr);                                         \
        if (kn_st_)                                                                        \
            return kn_st_;                                                                 \
    } while (0)
#define KN_CUFFT_TRY(expr)                                                                 \
    do {                                                                                   \
        int kn_st_ = kn_cufft_check((expr), #expr);                                        \
        if (kn_st_)                                                                        \
            return kn_st_;                                                                 \
    } while (0)
#define KN_CUBLAS_TRY(expr)                                                                \
    do {                                                                                   \
        int kn_st_ = kn_cublas_check((expr), #expr);                                       \
        if (kn_st_)                                                                        \
            return kn_st_;                                                                 \
    } while (0)

#endif
