/* cpu_backend.c — the CPU backend on FFTW (threads): its two tables (double, single) over the
 * operations of cpu_vectors.c, cpu_operator.c and cpu_priors.c, and creating it. */
#define _GNU_SOURCE
#include <fftw3.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sysmem.h"
#include "cpu_backend.h"
#include "cpu_impl.h"
#include "fftw_wisdom.h"

static int cpu_mem_available(kn_backend *be, size_t *bytes)
{
    return kn_host_mem_available(bytes);
}

/* the table of each precision: the operations of cpu_vectors.c, cpu_operator.c, cpu_priors.c */
#include "cpu_double.h"
#include "cpu_table.inc"
#include "cpu_float.h"
#include "cpu_table.inc"

int kn_backend_cpu_create(kernest_precision precision, int threads, kn_backend **out)
{
    if (precision != KERNEST_DOUBLE && precision != KERNEST_SINGLE)
        return kn_error(KERNEST_E_INVALID, "--precision: unknown precision %d", (int)precision);
    kn_backend *be = calloc(1, sizeof *be);
    void *impl = precision == KERNEST_SINGLE ? calloc(1, sizeof(kn_cpu_cpu_impl_f)) : calloc(1, sizeof(kn_cpu_cpu_impl_d));
    if (!be || !impl) {
        free(be);
        free(impl);
        return kn_error(KERNEST_E_NOMEM, "cpu: out of memory");
    }
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    kn_fftw_init(precision);
    be->ops = precision == KERNEST_SINGLE ? &kn_cpu_cpu_ops_f : &kn_cpu_cpu_ops_d;
    be->precision = precision;
    be->elem_size = precision == KERNEST_SINGLE ? sizeof(float) : sizeof(double);
    be->threads = threads;
    be->impl = impl;
    snprintf(be->device, sizeof be->device, "cpu (%s, %d thread%s, %s)", fftw_version, threads,
             threads == 1 ? "" : "s", precision == KERNEST_SINGLE ? "single" : "double");
    *out = be;
    return KERNEST_OK;
}

const char *kernest_fftw_version(void)
{
    return fftw_version;
}
