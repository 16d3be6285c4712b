/* test_sizes.c — sizes from files and options: overflow is refused, and memory that is not there
 * is refused with the byte count before anything is allocated (the priors, the radial model,
 * arrays, synth, --ksize at the parser's limits). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "fit/constraints.h"
#include "base/error.h"
#include "model/model.h"
#include "model/sparse.h"
#include "base/sysmem.h"
#include "testutil.h"

TestSuite(sizes, .init = tu_dir_setup, .fini = tu_dir_teardown);

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* the number just before " bytes" in msg, or -1 */
static double bytes_in(const char *msg)
{
    const char *p = strstr(msg, " bytes");
    if (!p)
        return -1;
    const char *q = p;
    while (q > msg && q[-1] >= '0' && q[-1] <= '9')
        q--;
    return q < p ? strtod(q, NULL) : -1;
}

/* estimate on a tiny pair with a huge kernel and the given priors: TOOBIG with a byte count of at
 * least min_bytes (or, min_bytes < 0, an overflow), and the peak memory does not grow */
static void huge_kernel(kernest_options opt, double min_bytes, const char *what)
{
    unsigned long long seed = 3;
    kernest_array *A = tu_random_array(6, 6, -1, 1, &seed), *B = tu_random_array(6, 6, -1, 1, &seed);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_array *K = NULL;
    const long rss0 = max_rss_kib();
    int st = kernest_estimate(As, Bs, 1, &opt, &K, NULL);
    const char *e = kernest_last_error();
    cr_assert_eq(st, KERNEST_E_TOOBIG, "%s: status %d (%s)", what, st, e);
    cr_assert_null(K);
    if (min_bytes < 0) { /* an overflow: no byte count to give */
        cr_assert(strstr(e, "overflows"), "%s: '%s'", what, e);
        min_bytes = -1;
    }
    double b = bytes_in(e);
    cr_assert(b >= min_bytes, "%s: byte count %.4g < %.4g in '%s'", what, b, min_bytes, e);
    cr_assert(max_rss_kib() - rss0 < 64 * 1024, "%s: refusing grew the peak memory", what);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

static kernest_options big_options(size_t kh, size_t kw)
{
    kernest_options opt;
    kernest_options_default(&opt);
    opt.device = KERNEST_DEVICE_CPU;
    opt.kh = kh;
    opt.kw = kw;
    return opt;
}

Test(sizes, radial_model_refused_before_allocating)
{
    /* Φ alone: 1.6e11 rows of (column, value) pairs, 2 per row: > 1.6e11 * 2 * 16 bytes */
    kernest_options opt = big_options(400000, 400000);
    opt.model = KERNEST_MODEL_RADIAL;
    huge_kernel(opt, 5.12e12, "radial 400000x400000");
}

Test(sizes, support_masks_refused_before_allocating)
{
    kernest_options opt = big_options(400000, 400000);
    opt.support = KERNEST_SUPPORT_DISK;
    opt.support_radius = 2;
    huge_kernel(opt, 1.6e11 * 17, "--support disk:2 on 400000x400000");
    kernest_fixed_pixel fx = {0, 0, 0.0};
    opt = big_options(400000, 400000);
    opt.fixed = &fx;
    opt.nfixed = 1;
    opt.nonneg = 1;
    huge_kernel(opt, 1.6e11 * 17, "--fix on 400000x400000");
}

Test(sizes, ksize_at_the_parser_limit)
{
    /* 2^31 x 2^31 is the largest --ksize accepts: 2^62 unknowns, refused with the count */
    kernest_options opt = big_options((size_t)1 << 31, (size_t)1 << 31);
    huge_kernel(opt, 1.8e19, "2^31 x 2^31 pixel"); /* the count saturates at SIZE_MAX */
    opt.model = KERNEST_MODEL_RADIAL;
    huge_kernel(opt, -1, "2^31 x 2^31 radial"); /* 2^63 entries of Φ overflow the byte count */
}

Test(sizes, array_refused_with_bytes)
{
    kernest_array *a = NULL;
    /* 2^50 doubles = 8 PiB: no overflow, but not there */
    int st = kernest_array_create2((size_t)1 << 25, (size_t)1 << 25, &a);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "status %d (%s)", st, kernest_last_error());
    cr_assert_null(a);
    cr_assert_eq(bytes_in(kernest_last_error()), 9007199254740992.0, "'%s'", kernest_last_error());
    st = kernest_array_create2(SIZE_MAX / 4, 3, &a);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "overflow: status %d", st);
}

Test(sizes, sparse_refused_and_overflow)
{
    kn_csr m;
    int st = kn_csr_alloc(&m, SIZE_MAX, 1, 1);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "rows + 1 overflows: %d (%s)", st, kernest_last_error());
    st = kn_csr_alloc(&m, 10, 10, SIZE_MAX / 8);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "entries overflow: %d (%s)", st, kernest_last_error());
    st = kn_csr_alloc(&m, (size_t)1 << 45, 10, 10);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "2^45 rows: %d (%s)", st, kernest_last_error());
    cr_assert(bytes_in(kernest_last_error()) > 2.8e14, "'%s'", kernest_last_error());
    cr_assert_eq(kn_csr_alloc(&m, 3, 3, 4), KERNEST_OK);
    kn_csr_free(&m);
}

Test(sizes, host_check)
{
    cr_assert_eq(kn_host_check("x", 10, 8), KERNEST_OK);
    cr_assert_eq(kn_host_check("x", SIZE_MAX, 2), KERNEST_E_TOOBIG);
    cr_assert(strstr(kernest_last_error(), "overflows"), "'%s'", kernest_last_error());
    cr_assert_eq(kn_host_check("thing", (size_t)1 << 60, 1), KERNEST_E_TOOBIG);
    cr_assert(strstr(kernest_last_error(), "thing: needs"), "'%s'", kernest_last_error());
    cr_assert_eq(bytes_in(kernest_last_error()), 1152921504606846976.0, "'%s'", kernest_last_error());
}

static void expect_cli(const char *args, int want, const char *needle)
{
    char err[4096] = "";
    int rc = tu_run_cli(args, err, sizeof err);
    cr_assert_eq(rc, want, "kernest %s: exit %d, stderr: %s", args, rc, err);
    cr_assert(strstr(err, needle), "kernest %s: no '%s' in '%s'", args, needle, err);
}

Test(sizes, cli_sizes)
{
    char args[2048];
    unsigned long long seed = 9;
    kernest_array *A = tu_random_array(5, 5, 0, 1, &seed);
    char *ap = tu_path(tu_dir, "A.npy"), *bp = tu_path(tu_dir, "B.npy");
    cr_assert_eq(kernest_npy_write(ap, A, KERNEST_DOUBLE), 0);
    cr_assert_eq(kernest_npy_write(bp, A, KERNEST_DOUBLE), 0);
    /* beyond the parser's limit, and a product that overflows 32 bits */
    snprintf(args, sizeof args, "estimate '%s' '%s' -o '%s/K.npy' --ksize 4000000000x4000000000", ap, bp, tu_dir);
    expect_cli(args, 2, "--ksize");
    snprintf(args, sizeof args, "estimate '%s' '%s' -o '%s/K.npy' --ksize 99999999999999999999999x3", ap, bp, tu_dir);
    expect_cli(args, 2, "--ksize");
    /* at the limit: refused with the byte count, for the pixel and the radial model */
    snprintf(args, sizeof args, "estimate '%s' '%s' -o '%s/K.npy' --ksize 2147483648x2147483648", ap, bp, tu_dir);
    expect_cli(args, 2, " bytes");
    snprintf(args, sizeof args, "estimate '%s' '%s' -o '%s/K.npy' --ksize 400000x400000 --model radial", ap, bp, tu_dir);
    expect_cli(args, 2, " bytes");
    snprintf(args, sizeof args, "estimate '%s' '%s' -o '%s/K.npy' --ksize 400000x400000 --support disk:3", ap, bp, tu_dir);
    expect_cli(args, 2, " bytes");
    /* synth at its largest --n: a (2^21-1)^2 kernel, 32 TiB */
    snprintf(args, sizeof args, "synth -o '%s/s' --n 1048576", tu_dir);
    expect_cli(args, 2, " bytes");
    snprintf(args, sizeof args, "synth -o '%s/s' --n 1048577", tu_dir);
    expect_cli(args, 2, "--n");
    cr_assert(!tu_exists(tu_path(tu_dir, "s/K_true.npy")));
    free(ap);
    free(bp);
    kernest_array_destroy(&A);
}
