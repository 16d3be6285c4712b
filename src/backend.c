/* backend.c — picks a backend for the options (auto: CUDA when usable, else CPU) and frees it. */
#include <stdlib.h>

#include "backend.h"
#include "error.h"
#ifdef KERNEST_WITH_CUDA
#include "kn_cuda.h"
#endif

#ifndef KERNEST_WITH_CUDA
int kn_backend_cuda_create(kernest_precision precision, int index, kn_backend **out)
{
    return kn_error(KERNEST_E_UNSUPPORTED, "--device: this kernest was built without CUDA");
}
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

/* double is the CPU's default: FFTW's double transforms cost little more than single ones there;
 * a GPU's single-precision rate is what makes it fast, and reductions stay in double anyway */
static kernest_precision precision_for(const kernest_options *opt, int gpu)
{
    if (opt->precision != KERNEST_PRECISION_DEFAULT)
        return opt->precision;
    return gpu ? KERNEST_SINGLE : KERNEST_DOUBLE;
}

int kn_backend_open(const kernest_options *opt, kn_backend **out)
{
    switch (opt->device) {
    case KERNEST_DEVICE_CPU:
        return kn_backend_cpu_create(precision_for(opt, 0), opt->threads, out);
    case KERNEST_DEVICE_CUDA:
        return kn_backend_cuda_create(precision_for(opt, 1), opt->device_index, out);
    case KERNEST_DEVICE_AUTO:
#ifdef KERNEST_WITH_CUDA
        {
            int n = 0;
            if (kn_cuda_device_count(&n) == KERNEST_OK && n > 0 &&
                kn_backend_cuda_create(precision_for(opt, 1), opt->device_index, out) == KERNEST_OK)
                return KERNEST_OK;
            kn_error_clear();
        }
#endif
        return kn_backend_cpu_create(precision_for(opt, 0), opt->threads, out);
    }
    return kn_error(KERNEST_E_INVALID, "--device: unknown device kind %d", (int)opt->device);
}

void kn_backend_destroy(kn_backend **be)
{
    if (!be || !*be)
        return;
    if ((*be)->ops && (*be)->ops->destroy)
        (*be)->ops->destroy(*be);
    free(*be);
    *be = NULL;
}
