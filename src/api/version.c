/* version.c — what this build of the library is: its version and what was compiled in. */
#include <stdio.h>

#include "backend/cpu/fftw_wisdom.h"
#include "base/error.h"
#include "kernest.h"
#ifdef KERNEST_WITH_CUDA
#include "cuda/kn_cuda.h"
#endif

const char *kernest_version(void)
{
    return KERNEST_VERSION_STRING;
}

int kernest_have_cuda(void)
{
#ifdef KERNEST_WITH_CUDA
    return 1;
#else
    return 0;
#endif
}

int kernest_have_mpi(void)
{
#ifdef KERNEST_WITH_MPI
    return 1;
#else
    return 0;
#endif
}

const char *kernest_fftw_wisdom_dir(void)
{
    return kn_fftw_wisdom_dir();
}

int kernest_cuda_info(char *buf, size_t cap)
{
    if (!buf || !cap)
        return kn_error(KERNEST_E_INVALID, "kernest_cuda_info: empty buffer");
#ifdef KERNEST_WITH_CUDA
    return kn_cuda_info_string(buf, cap);
#else
    snprintf(buf, cap, "cuda: not compiled in\n");
    return kn_error(KERNEST_E_UNSUPPORTED, "cuda: this kernest was built without CUDA");
#endif
}
