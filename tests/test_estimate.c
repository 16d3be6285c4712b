/* test_estimate.c — kernest_estimate's own behaviour around the solve: a kernel that comes out
 * exactly 0 from degenerate or badly scaled data is a warning saying why, never a silent result. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kernest.h"
#include "testutil.h"

#define CA(x) ((const kernest_array *const *)(x))

/* the estimate's warnings, joined (empty when none) */
static void warnings_of(const kernest_report *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < r->nwarnings; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s; ", r->warnings[i]);
}

static void run(double scale_a, double scale_b, int zero_a, const char *expect)
{
    unsigned long long seed = 5;
    kernest_array *A = tu_random_array(12, 12, 0, 1, &seed), *B = tu_random_array(12, 12, -1, 1, &seed);
    for (size_t i = 0; i < A->size; i++) {
        A->data[i] = zero_a ? 0.0 : A->data[i] * scale_a;
        B->data[i] *= scale_b;
    }
    kernest_options o = tu_cpu_options(5, 5);
    o.maxiter = 20;
    kernest_array *K = NULL;
    kernest_report *r = NULL;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    char w[1024];
    warnings_of(r, w, sizeof w);
    int zero = 1;
    for (size_t i = 0; i < K->size; i++)
        zero &= K->data[i] == 0.0;
    if (expect)
        cr_assert(zero && strstr(w, expect), "K is %s; warnings: '%s' (expected '%s')", zero ? "0" : "not 0", w,
                  expect);
    else
        cr_assert(!zero && !strstr(w, "the estimate is 0"), "a normal problem: '%s'", w);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
}

Test(estimate, zero_kernel_from_degenerate_data_is_a_warning)
{
    run(1, 1, 0, NULL);                       /* ordinary data: no such warning */
    run(1, 1, 1, "every A is 0");             /* nothing constrains K */
    run(1, 0, 0, "every observed pixel of B is 0");
    run(1e-160, 1e-160, 0, "too far from 1"); /* products underflow in double */
}
