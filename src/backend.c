/* backend.c — picks a backend for the options (auto: CUDA when usable, else CPU) and frees it. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"
#include "warnings.h"
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

/* KERNEST_TEST_FAIL_CUDA=1 (a test hook, documented in the README) makes every CUDA backend
 * creation fail, so that the fallback of device auto can be tested on any machine. */
static int cuda_create(kernest_precision precision, int index, kn_backend **out)
{
    const char *e = getenv("KERNEST_TEST_FAIL_CUDA");
    if (e && *e && strcmp(e, "0"))
        return kn_error(KERNEST_E_DEVICE, "cuda: creation refused by KERNEST_TEST_FAIL_CUDA=%s (test hook)", e);
    return kn_backend_cuda_create(precision, index, out);
}

/* A new backend for the options (device auto: CUDA when usable, else the CPU, warning when a GPU
 * that is there fails to start). */
static int open_new(const kernest_options *opt, kn_warnings *warnings, kn_backend **out)
{
    switch (opt->device) {
    case KERNEST_DEVICE_CPU:
        return kn_backend_cpu_create(precision_for(opt, 0), opt->threads, out);
    case KERNEST_DEVICE_CUDA:
        return cuda_create(precision_for(opt, 1), opt->device_index, out);
    case KERNEST_DEVICE_AUTO: {
        const char *e = getenv("KERNEST_TEST_FAIL_CUDA");
        int n = 0, try_cuda = e && *e && strcmp(e, "0");
#ifdef KERNEST_WITH_CUDA
        try_cuda = try_cuda || (kn_cuda_device_count(&n) == KERNEST_OK && n > 0);
#endif
        /* a GPU that is there but fails to start is worth a warning; no GPU at all is not */
        if (try_cuda) {
            if (cuda_create(precision_for(opt, 1), opt->device_index, out) == KERNEST_OK)
                return KERNEST_OK;
            if (warnings)
                kn_warn(warnings, "device auto: the CUDA backend failed to start (%s); running on the CPU",
                        kernest_last_error());
        }
        (void)n;
        kn_error_clear();
        return kn_backend_cpu_create(precision_for(opt, 0), opt->threads, out);
    }
    }
    return kn_error(KERNEST_E_INVALID, "--device: unknown device kind %d", (int)opt->device);
}

/* ---- keeping one backend between problems (kn_backend_keep) ---- */

typedef struct keep_key {
    kernest_device_kind device;
    int index, threads;
    kernest_precision precision;
} keep_key;

enum { KEEP_LENT = 16 };
static struct {
    int on;
    kn_backend *kept; /* one backend waiting for the next problem */
    keep_key kept_key;
    struct {
        kn_backend *be;
        keep_key key;
    } lent[KEEP_LENT]; /* backends kn_backend_open handed out while keeping is on */
} keep;

static int same_key(const keep_key *a, const keep_key *b)
{
    return a->device == b->device && a->index == b->index && a->threads == b->threads &&
           a->precision == b->precision;
}

static void free_backend(kn_backend *be)
{
    if (be->ops && be->ops->destroy)
        be->ops->destroy(be);
    free(be);
}

void kn_backend_keep(int on)
{
    keep.on = on;
    if (!on && keep.kept) {
        free_backend(keep.kept);
        keep.kept = NULL;
    }
}

int kn_backend_open_warn(const kernest_options *opt, kn_warnings *warnings, kn_backend **out)
{
    const keep_key key = {opt->device, opt->device_index, opt->threads, opt->precision};
    if (keep.on && keep.kept && same_key(&keep.kept_key, &key)) {
        *out = keep.kept;
        keep.kept = NULL;
    } else {
        int st = open_new(opt, warnings, out);
        if (st)
            return st;
    }
    for (int i = 0; keep.on && i < KEEP_LENT; i++)
        if (!keep.lent[i].be) {
            keep.lent[i].be = *out;
            keep.lent[i].key = key;
            break;
        }
    return KERNEST_OK;
}

int kn_backend_open(const kernest_options *opt, kn_backend **out)
{
    return kn_backend_open_warn(opt, NULL, out);
}

void kn_backend_destroy(kn_backend **be)
{
    if (!be || !*be)
        return;
    for (int i = 0; i < KEEP_LENT; i++)
        if (keep.lent[i].be == *be) {
            keep.lent[i].be = NULL;
            if (keep.on && !keep.kept) { /* kept, operator and all, for the next problem */
                keep.kept = *be;
                keep.kept_key = keep.lent[i].key;
                *be = NULL;
                return;
            }
            break;
        }
    free_backend(*be);
    *be = NULL;
}
