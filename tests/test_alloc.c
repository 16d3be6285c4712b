/* test_alloc.c — fails every host allocation of kernest in turn (malloc, calloc, realloc, strdup,
 * fftw_malloc, fftwf_malloc wrapped at link time: -Wl,--wrap, see tests/CMakeLists.txt) on small
 * solves, convolutions and .npy reads/writes: each failure must come back as an error status with
 * a message, no output, and no allocation left behind. */
#include <criterion/criterion.h>
#include <execinfo.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- the injected allocator ---------------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
void *__real_fftw_malloc(size_t n);
void *__real_fftwf_malloc(size_t n);
void __real_fftw_free(void *p);
void __real_fftwf_free(void *p);

static int armed;          /* count (and maybe fail) allocations only while armed */
static long count;         /* allocations seen while armed */
static long fail_at;       /* 1-based index of the allocation to fail; 0: none */
static long live;          /* allocations made while armed and not yet freed */
#define TRACK_CAP (1 << 16) /* open addressing: pointers allocated while armed */
static void *tracked[TRACK_CAP];

static size_t slot(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 48) & (TRACK_CAP - 1);
}

static void track(void *p)
{
    if (!p || !armed)
        return;
    size_t i = slot(p);
    while (tracked[i] && tracked[i] != (void *)1)
        i = (i + 1) & (TRACK_CAP - 1);
    tracked[i] = p;
    live++;
}

/* forgets p (a tombstone keeps the probe chains); free() of memory not made here is ignored */
static void untrack(void *p)
{
    if (!p)
        return;
    for (size_t i = slot(p), n = 0; tracked[i] && n < TRACK_CAP; i = (i + 1) & (TRACK_CAP - 1), n++)
        if (tracked[i] == p) {
            tracked[i] = (void *)1;
            live--;
            return;
        }
}

/* 1 when this allocation is the one to fail */
static int should_fail(void)
{
    if (!armed || ++count != fail_at)
        return 0;
    if (getenv("KERNEST_ALLOC_TRACE") && atol(getenv("KERNEST_ALLOC_TRACE")) == fail_at) { /* where the failed allocation is, for debugging */
        void *frames[16];
        backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
    }
    return 1;
}

void *__wrap_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_malloc(n);
    track(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = __real_calloc(n, size);
    track(p);
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_realloc(old, n);
    if (p || !n) {
        untrack(old);
        track(p);
    }
    return p;
}

void __wrap_free(void *p)
{
    untrack(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    if (should_fail())
        return NULL;
    char *p = __real_strdup(s);
    track(p);
    return p;
}

void *__wrap_fftw_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_fftw_malloc(n);
    track(p);
    return p;
}

void *__wrap_fftwf_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_fftwf_malloc(n);
    track(p);
    return p;
}

void __wrap_fftw_free(void *p)
{
    untrack(p);
    __real_fftw_free(p);
}

void __wrap_fftwf_free(void *p)
{
    untrack(p);
    __real_fftwf_free(p);
}

static void arm(long k)
{
    memset(tracked, 0, sizeof tracked);
    count = 0;
    live = 0;
    fail_at = k;
    armed = 1;
}

/* ---- the cases ----------------------------------------------------------------------------- */

typedef struct fixture {
    kernest_array *A, *B, *Bnan, *K;
    char *npy; /* a small .npy on disk */
    char *out; /* where writes go */
} fixture;

static fixture fx;

static void setup(void)
{
    tu_dir_setup();
    setenv("KERNEST_FFTW_PLANNER", "estimate", 1);
    /* no FFTW wisdom cache: saving it is best effort (a failure there is no error), so the strict
     * tests run without it; estimate_wisdom_cache checks that path apart */
    setenv("KERNEST_WISDOM_DIR", "", 1);
    setenv("XDG_CACHE_HOME", "", 1);
    setenv("HOME", "", 1);
    unsigned long long seed = 17;
    fx.A = tu_random_array(6, 5, 0, 1, &seed);
    fx.K = tu_random_array(3, 3, 0, 1, &seed);
    cr_assert_eq(kernest_convolve(fx.A, fx.K, KERNEST_MODE_SAME, &fx.B), KERNEST_OK);
    cr_assert_eq(kernest_convolve(fx.A, fx.K, KERNEST_MODE_SAME, &fx.Bnan), KERNEST_OK);
    fx.Bnan->data[4] = NAN; /* a masked pixel: the mask paths allocate too */
    fx.npy = tu_path(tu_dir, "in.npy");
    fx.out = tu_path(tu_dir, "out.npy");
    cr_assert_eq(kernest_npy_write(fx.npy, fx.B, KERNEST_DOUBLE), KERNEST_OK);
}

static void teardown(void)
{
    armed = 0;
    kernest_array_destroy(&fx.A);
    kernest_array_destroy(&fx.B);
    kernest_array_destroy(&fx.Bnan);
    kernest_array_destroy(&fx.K);
    free(fx.npy);
    free(fx.out);
    tu_dir_teardown();
}

TestSuite(alloc, .init = setup, .fini = teardown);

/* One operation under test: returns its status; *made is what it returned (freed by the caller). */
typedef int (*op_fn)(const void *arg, kernest_array **made);

/* Runs op once to warm up (one-time set-up such as FFTW's threads), once counting its
 * allocations, then once failing each of them in turn. best_effort: a failed allocation may
 * also end in success (the wisdom cache), as long as nothing leaks. */
static void fail_each_mode(const char *what, op_fn op, const void *arg, int best_effort)
{
    kernest_array *made = NULL;
    cr_assert_eq(op(arg, &made), KERNEST_OK, "%s: warm-up failed: %s", what, kernest_last_error());
    kernest_array_destroy(&made);
    arm(0);
    int st = op(arg, &made);
    kernest_array_destroy(&made);
    armed = 0;
    const long n = count;
    cr_assert_eq(st, KERNEST_OK, "%s: %s", what, kernest_last_error());
    cr_assert_eq(live, 0, "%s: %ld allocations left after a successful run", what, live);
    cr_assert_gt(n, 0, "%s: no allocation was seen (is the wrapping linked?)", what);
    for (long k = 1; k <= n; k++) {
        arm(k);
        st = op(arg, &made);
        const int reached = count >= k;
        kernest_array_destroy(&made);
        armed = 0;
        cr_assert(reached, "%s: allocation %ld of %ld was not reached", what, k, n);
        cr_assert_eq(live, 0, "%s: allocation %ld of %ld failed (%s: %s) and %ld allocations leaked",
                     what, k, n, kernest_status_name(st), kernest_last_error(), live);
        if (best_effort && st == KERNEST_OK)
            continue;
        cr_assert_neq(st, KERNEST_OK, "%s: allocation %ld of %ld failed but the call succeeded", what, k, n);
        cr_assert(*kernest_last_error(), "%s: allocation %ld of %ld: status %s without a message", what,
                  k, n, kernest_status_name(st));
    }
    /* and a clean run afterwards still works */
    cr_assert_eq(op(arg, &made), KERNEST_OK, "%s: after the failures: %s", what, kernest_last_error());
    kernest_array_destroy(&made);
    cr_log_info("%s: %ld allocations, each failed in turn", what, n);
}

static void fail_each(const char *what, op_fn op, const void *arg)
{
    fail_each_mode(what, op, arg, 0);
}

static kernest_options small_options(void)
{
    kernest_options opt;
    kernest_options_default(&opt);
    opt.device = KERNEST_DEVICE_CPU;
    opt.threads = 1;
    opt.maxiter = 4;
    return opt;
}

static int op_estimate(const void *arg, kernest_array **made)
{
    const kernest_options *opt = arg;
    const kernest_array *As[2] = {fx.A, fx.A}, *Bs[2] = {fx.B, fx.Bnan};
    kernest_report *rep = NULL;
    int st = kernest_estimate(As, Bs, 2, opt, made, &rep);
    if (!st && !rep)
        st = -1; /* a report must come with the kernel */
    kernest_report_destroy(&rep);
    return st;
}

Test(alloc, estimate_pixel)
{
    kernest_options opt = small_options();
    fail_each("estimate (cgls)", op_estimate, &opt);
}

Test(alloc, estimate_single_grad)
{
    kernest_options opt = small_options();
    opt.precision = KERNEST_SINGLE;
    opt.reg = KERNEST_REG_GRAD;
    opt.lambda = 0.1;
    fail_each("estimate (single, grad)", op_estimate, &opt);
}

Test(alloc, estimate_nonneg)
{
    kernest_options opt = small_options();
    opt.nonneg = 1;
    opt.l1 = 1e-3;
    fail_each("estimate --nonneg --reg l1 (fista)", op_estimate, &opt);
}

Test(alloc, estimate_radial)
{
    kernest_options opt = small_options();
    opt.model = KERNEST_MODEL_RADIAL;
    opt.reg = KERNEST_REG_GRAD;
    opt.lambda = 0.1;
    fail_each("estimate --model radial", op_estimate, &opt);
    opt.nonneg = 1;
    fail_each("estimate --model radial --nonneg", op_estimate, &opt);
}

Test(alloc, estimate_support_fix)
{
    kernest_options opt = small_options();
    kernest_fixed_pixel fix = {0, 0, 0.5};
    opt.support = KERNEST_SUPPORT_DISK;
    opt.support_radius = 3;
    opt.fixed = &fix;
    opt.nfixed = 1;
    fail_each("estimate --support disk:3 --fix 0,0=0.5 (cgls)", op_estimate, &opt);
    opt.has_sum = 1;
    opt.sum = 1.0;
    fail_each("estimate --support --fix --sum (fista)", op_estimate, &opt);
}

/* data far from 1, solved in scaled units: the scaled copies of A and B and of the fixed pixels
 * (api/units.c) */
static kernest_array *scaled[4];

static int op_estimate_scaled(const void *arg, kernest_array **made)
{
    const kernest_options *opt = arg;
    const kernest_array *As[2] = {scaled[0], scaled[1]}, *Bs[2] = {scaled[2], scaled[3]};
    kernest_report *rep = NULL;
    int st = kernest_estimate(As, Bs, 2, opt, made, &rep);
    if (!st && !rep)
        st = -1;
    kernest_report_destroy(&rep);
    return st;
}

Test(alloc, estimate_scaled_units)
{
    const kernest_array *src[4] = {fx.A, fx.A, fx.B, fx.Bnan};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(kernest_array_create(src[i]->ndim, src[i]->shape, &scaled[i]), KERNEST_OK);
        for (size_t j = 0; j < src[i]->size; j++)
            scaled[i]->data[j] = ldexp(src[i]->data[j], i < 2 ? -300 : 200);
    }
    kernest_options opt = small_options();
    kernest_fixed_pixel fix = {0, 0, ldexp(0.5, 500)};
    opt.fixed = &fix;
    opt.nfixed = 1;
    fail_each("estimate on A·2^-300, B·2^200 --fix", op_estimate_scaled, &opt);
    for (int i = 0; i < 4; i++)
        kernest_array_destroy(&scaled[i]);
}

Test(alloc, estimate_wisdom_cache)
{
    setenv("KERNEST_WISDOM_DIR", tu_dir, 1);
    kernest_options opt = small_options();
    fail_each_mode("estimate with the wisdom cache", op_estimate, &opt, 1);
    opt.precision = KERNEST_SINGLE;
    fail_each_mode("estimate with the wisdom cache (single)", op_estimate, &opt, 1);
}

static int op_convolve(const void *arg, kernest_array **made)
{
    return kernest_convolve(fx.A, fx.K, *(const kernest_mode *)arg, made);
}

Test(alloc, convolve)
{
    kernest_mode m = KERNEST_MODE_FULL;
    fail_each("convolve full", op_convolve, &m);
}

static int op_npy_read(const void *arg, kernest_array **made)
{
    return kernest_npy_read(fx.npy, made);
}

static int op_npy_write(const void *arg, kernest_array **made)
{
    int st = kernest_npy_write(fx.out, fx.B, *(const kernest_precision *)arg);
    /* a failed write leaves nothing behind; a good one is removed for the next round */
    const int there = tu_exists(fx.out);
    if (st && there)
        return KERNEST_OK; /* flagged as a "success" so fail_each reports it */
    remove(fx.out);
    cr_assert_eq(tu_count_entries(tu_dir), 1, "a temporary file was left behind");
    return st;
}

Test(alloc, npy)
{
    fail_each("npy read", op_npy_read, NULL);
    kernest_precision p = KERNEST_DOUBLE;
    fail_each("npy write f8", op_npy_write, &p);
    p = KERNEST_SINGLE;
    fail_each("npy write f4", op_npy_write, &p);
}
