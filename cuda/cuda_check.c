/* cuda_check.c — translation of CUDA, cuFFT and cuBLAS statuses into kernest statuses and messages. */
#include <string.h>

#include "cuda_check.h"
#include "base/error.h"

/* Length of the function name at the start of a stringified call ("cufftExecR2C(p, a, b)"). */
static int call_name_len(const char *call)
{
    return (int)strcspn(call, "( ");
}

static const char oom_hint[] = "out of GPU memory: try --precision single, a smaller --ksize or --device cpu";

/* What a user can do about err, or "" when the message says it all. */
static const char *cuda_hint(cudaError_t err)
{
    switch (err) {
    case cudaErrorMemoryAllocation:
        return oom_hint;
    case cudaErrorLaunchOutOfResources:
        return "a GPU kernel asked for more registers or threads than the device has";
    /* sticky errors: a kernel failed (they run asynchronously, so the call that reports it is
     * often a later copy or synchronisation) and the context cannot be used again */
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
        return "a GPU kernel failed (reported by a later call: kernels run asynchronously) and the "
               "device is unusable until the process ends; rerun, or use --device cpu";
    default:
        return "";
    }
}

int kn_cuda_check(cudaError_t err, const char *call)
{
    if (err == cudaSuccess)
        return KERNEST_OK;
    /* clear the non-sticky last-error state so later checks report their own failure */
    (void)cudaGetLastError();
    const char *hint = cuda_hint(err);
    return kn_error(KERNEST_E_DEVICE, "%.*s failed: %s (%s)%s%s", call_name_len(call), call,
                    cudaGetErrorName(err), cudaGetErrorString(err), *hint ? "; " : "", hint);
}

const char *kn_cufft_result_name(cufftResult res)
{
    /* numeric cases: the enum's member list changes between toolkits */
    switch ((int)res) {
    case 0x0: return "CUFFT_SUCCESS";
    case 0x1: return "CUFFT_INVALID_PLAN";
    case 0x2: return "CUFFT_ALLOC_FAILED";
    case 0x3: return "CUFFT_INVALID_TYPE";
    case 0x4: return "CUFFT_INVALID_VALUE";
    case 0x5: return "CUFFT_INTERNAL_ERROR";
    case 0x6: return "CUFFT_EXEC_FAILED";
    case 0x7: return "CUFFT_SETUP_FAILED";
    case 0x8: return "CUFFT_INVALID_SIZE";
    case 0x9: return "CUFFT_UNALIGNED_DATA";
    case 0xB: return "CUFFT_INVALID_DEVICE";
    case 0xD: return "CUFFT_NO_WORKSPACE";
    case 0xE: return "CUFFT_NOT_IMPLEMENTED";
    case 0x10: return "CUFFT_NOT_SUPPORTED";
    case 0x11: return "CUFFT_MISSING_DEPENDENCY";
    case 0x12: return "CUFFT_NVRTC_FAILURE";
    case 0x13: return "CUFFT_NVJITLINK_FAILURE";
    case 0x14: return "CUFFT_NVSHMEM_FAILURE";
    default: return "CUFFT_UNKNOWN_ERROR";
    }
}

int kn_cufft_check(cufftResult res, const char *call)
{
    if (res == CUFFT_SUCCESS)
        return KERNEST_OK;
    return kn_error(KERNEST_E_FFT, "%.*s failed: %s (%d)%s%s", call_name_len(call), call,
                    kn_cufft_result_name(res), (int)res, res == CUFFT_ALLOC_FAILED ? "; " : "",
                    res == CUFFT_ALLOC_FAILED ? oom_hint : "");
}

int kn_cublas_check(cublasStatus_t st, const char *call)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return KERNEST_OK;
    return kn_error(KERNEST_E_DEVICE, "%.*s failed: %s (%s)%s%s", call_name_len(call), call,
                    cublasGetStatusName(st), cublasGetStatusString(st),
                    st == CUBLAS_STATUS_ALLOC_FAILED ? "; " : "", st == CUBLAS_STATUS_ALLOC_FAILED ? oom_hint : "");
}
