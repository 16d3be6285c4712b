/* backend_open.c — picks a backend for the options (auto: CUDA when usable, else CPU), and the
 * estimation context that keeps one between problems of the same shape (batch jobs). */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_backend.h"
#include "backend_open.h"
#include "base/error.h"
#ifdef KERNEST_WITH_CUDA
#include "cuda/kn_cuda.h"
#endif

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
#ifdef KERNEST_WITH_CUDA
    return kn_backend_cuda_create(precision, index, out);
#else
    return kn_error(KERNEST_E_UNSUPPORTED, "--device: this kernest was built without CUDA");
#endif
}

int kn_backend_open(const kernest_options *opt, kn_warnings *warnings, kn_backend **out)
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

/* ---- the estimation context ---------------------------------------------------------------- */

struct kernest_context {
    kn_backend *kept; /* one backend waiting for the next problem (NULL: none) */
    kn_backend_key key;
};

kn_backend_key kn_backend_key_of(const kernest_options *opt)
{
    const kn_backend_key key = {opt->device, opt->device_index, opt->threads, opt->precision};
    return key;
}

static int same_key(const kn_backend_key *a, const kn_backend_key *b)
{
    return a->device == b->device && a->index == b->index && a->threads == b->threads &&
           a->precision == b->precision;
}

int kernest_context_create(kernest_context **out)
{
    if (!out)
        return kn_error(KERNEST_E_INVALID, "kernest_context_create: NULL argument");
    *out = calloc(1, sizeof **out);
    return *out ? KERNEST_OK : kn_error(KERNEST_E_NOMEM, "kernest_context_create: out of memory");
}

void kernest_context_destroy(kernest_context **ctx)
{
    if (!ctx || !*ctx)
        return;
    kn_backend_destroy(&(*ctx)->kept);
    free(*ctx);
    *ctx = NULL;
}

int kn_context_take(kernest_context *ctx, const kernest_options *opt, kn_warnings *warnings,
                    kn_backend **out)
{
    const kn_backend_key key = kn_backend_key_of(opt);
    if (ctx && ctx->kept && same_key(&ctx->key, &key)) {
        *out = ctx->kept;
        ctx->kept = NULL;
        return KERNEST_OK;
    }
    return kn_backend_open(opt, warnings, out);
}

void kn_context_give(kernest_context *ctx, kn_backend_key key, kn_backend **be)
{
    if (ctx && !ctx->kept && be && *be) {
        ctx->kept = *be;
        ctx->key = key;
        *be = NULL;
        return;
    }
    kn_backend_destroy(be);
}
