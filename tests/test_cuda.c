/* test_cuda.c — the CUDA backend against the CPU backend and its error paths (skipped without a usable GPU). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../cuda/kn_cuda.h"
#include "backend.h"
#include "problem.h"
#include "testutil.h"

#ifndef KERNEST_WITH_CUDA

Test(cuda, not_compiled_in)
{
    cr_skip_test("CUDA backend not compiled in");
}

#else

/* Skips the calling test where no CUDA device can be used, with the reason. */
static void require_gpu(void)
{
    int count = 0;
    cr_assert_eq(kn_cuda_device_count(&count), KERNEST_OK);
    if (count == 0) {
        char info[2048];
        (void)kn_cuda_info_string(info, sizeof info); /* records why in kernest_last_error */
        cr_skip_test("%s", kernest_last_error());
    }
}

static double rel_diff(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double tolerance(kernest_precision p)
{
    return p == KERNEST_SINGLE ? 1e-5 : 1e-11;
}

static double *random_vector(size_t n, unsigned long long *seed)
{
    double *v = malloc(n * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0 * tu_rand(seed) - 1.0;
    return v;
}

static size_t count_not_equal(const double *v, size_t n, double a)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += v[i] != a;
    return bad;
}

/* ---- without a device ------------------------------------------------------------------- */

Test(cuda, no_device_is_reported)
{
    int count = -1;
    cr_assert_eq(kn_cuda_device_count(&count), KERNEST_OK);
    if (count > 0)
        cr_skip_test("a CUDA device is present: the no-device path cannot be checked");
    cr_assert_eq(count, 0);
    kn_backend *be = NULL;
    cr_assert_eq(kn_backend_cuda_create(KERNEST_DOUBLE, -1, &be), KERNEST_E_DEVICE);
    cr_assert_null(be);
    cr_assert(strstr(kernest_last_error(), "no usable CUDA device"), "%s", kernest_last_error());
    char info[2048];
    cr_assert_eq(kn_cuda_info_string(info, sizeof info), KERNEST_E_DEVICE);
    cr_assert(strstr(info, "cuFFT") && strstr(info, "cuBLAS"), "%s", info);
}

/* ---- device information and creation ------------------------------------------------------ */

Test(cuda, info_string_lists_devices)
{
    require_gpu();
    char info[4096];
    cr_assert_eq(kn_cuda_info_string(info, sizeof info), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(strstr(info, "cuFFT"), "%s", info);
    cr_assert(strstr(info, "cuBLAS"), "%s", info);
    cr_assert(strstr(info, "CUDA runtime"), "%s", info);
    cr_assert(strstr(info, "cuda:0 "), "%s", info);
    cr_assert(strstr(info, "compute capability"), "%s", info);
    char small[16];
    cr_assert_eq(kn_cuda_info_string(small, sizeof small), KERNEST_OK);
    cr_assert_eq(strlen(small), sizeof small - 1); /* truncated, still terminated */
}

Test(cuda, bad_device_index)
{
    require_gpu();
    kn_backend *be = NULL;
    cr_assert_eq(kn_backend_cuda_create(KERNEST_DOUBLE, 999, &be), KERNEST_E_DEVICE);
    cr_assert_null(be);
    cr_assert(strstr(kernest_last_error(), "999"), "%s", kernest_last_error());
}

Test(cuda, describes_itself)
{
    require_gpu();
    kernest_precision precisions[2] = {KERNEST_DOUBLE, KERNEST_SINGLE};
    for (int i = 0; i < 2; i++) {
        kn_backend *be = NULL;
        cr_assert_eq(kn_backend_cuda_create(precisions[i], -1, &be), KERNEST_OK, "%s",
                     kernest_last_error());
        cr_assert_str_eq(be->ops->name, "cuda");
        cr_assert_eq(be->elem_size, precisions[i] == KERNEST_DOUBLE ? 8u : 4u);
        cr_assert(strncmp(be->device, "cuda:", 5) == 0, "%s", be->device);
        cr_assert(strstr(be->device, "GiB"), "%s", be->device);
        size_t avail = 0;
        cr_assert_eq(be->ops->mem_available(be, &avail), KERNEST_OK);
        cr_assert_gt(avail, 0);
        kn_backend_destroy(&be);
        cr_assert_null(be);
    }
}

/* ---- vectors ------------------------------------------------------------------------------ */

/* Every vector op against the host; n crosses the float conversion chunk and many blocks. */
static void check_vector_ops(kernest_precision p)
{
    require_gpu();
    const size_t n = ((size_t)1 << 20) + 12345;
    unsigned long long seed = 99;
    double *x = random_vector(n, &seed), *y = random_vector(n, &seed);
    double *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    cr_assert(got && want);
    if (p == KERNEST_SINGLE) /* the device holds the rounded values */
        for (size_t i = 0; i < n; i++) {
            x[i] = (float)x[i];
            y[i] = (float)y[i];
        }
    kn_backend *be = NULL;
    cr_assert_eq(kn_backend_cuda_create(p, -1, &be), KERNEST_OK, "%s", kernest_last_error());
    const kn_backend_ops *o = be->ops;
    kn_vec *vx = NULL, *vy = NULL;
    cr_assert_eq(o->vec_create(be, n, &vx), KERNEST_OK);
    cr_assert_eq(o->vec_create(be, n, &vy), KERNEST_OK);
    double tol = tolerance(p);

    cr_assert_eq(o->vec_download(be, vx, got), KERNEST_OK);
    cr_assert_eq(count_not_equal(got, n, 0.0), 0, "vec_create is not zero-filled");

    cr_assert_eq(o->vec_upload(be, vx, x), KERNEST_OK);
    cr_assert_eq(o->vec_upload(be, vy, y), KERNEST_OK);
    cr_assert_eq(o->vec_download(be, vx, got), KERNEST_OK);
    cr_assert_eq(memcmp(got, x, n * sizeof *x), 0, "upload/download round trip");

    /* dot and nrm2 accumulate in double: with float data the products are exact in double */
    double dot = 0, ref = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        ref += x[i] * y[i];
        ss += x[i] * x[i];
    }
    cr_assert_eq(o->vec_dot(be, vx, vy, &dot), KERNEST_OK);
    cr_assert_leq(fabs(dot - ref), 1e-12 * sqrt(ss * n), "dot %.17g vs %.17g", dot, ref);
    double nrm = 0;
    cr_assert_eq(o->vec_nrm2(be, vx, &nrm), KERNEST_OK);
    cr_assert_leq(fabs(nrm - sqrt(ss)), 1e-12 * sqrt(ss), "nrm2 %.17g vs %.17g", nrm, sqrt(ss));

    /* y += 0.5 x ; y = x + 0.25 y ; y *= -2 */
    cr_assert_eq(o->vec_axpy(be, vy, 0.5, vx), KERNEST_OK);
    cr_assert_eq(o->vec_aypx(be, vy, 0.25, vx), KERNEST_OK);
    cr_assert_eq(o->vec_scale(be, vy, -2.0), KERNEST_OK);
    cr_assert_eq(o->vec_download(be, vy, got), KERNEST_OK);
    for (size_t i = 0; i < n; i++)
        want[i] = -2.0 * (x[i] + 0.25 * (y[i] + 0.5 * x[i]));
    cr_assert_leq(rel_diff(got, want, n), tol, "axpy/aypx/scale");

    cr_assert_eq(o->vec_copy(be, vy, vx), KERNEST_OK);
    cr_assert_eq(o->vec_download(be, vy, got), KERNEST_OK);
    cr_assert_eq(memcmp(got, x, n * sizeof *x), 0, "copy");

    cr_assert_eq(o->vec_fill(be, vy, 1.5), KERNEST_OK);
    cr_assert_eq(o->vec_download(be, vy, got), KERNEST_OK);
    cr_assert_eq(count_not_equal(got, n, 1.5), 0, "fill");
    cr_assert_eq(o->vec_fill(be, vy, 0.0), KERNEST_OK);
    cr_assert_eq(o->vec_nrm2(be, vy, &nrm), KERNEST_OK);
    cr_assert_eq(nrm, 0.0);

    o->vec_destroy(be, &vx);
    o->vec_destroy(be, &vy);
    cr_assert_null(vx);
    o->vec_destroy(be, &vx); /* NULL allowed */
    kn_backend_destroy(&be);
    free(x);
    free(y);
    free(got);
    free(want);
}

Test(cuda, vector_ops_double)
{
    check_vector_ops(KERNEST_DOUBLE);
}

Test(cuda, vector_ops_single)
{
    check_vector_ops(KERNEST_SINGLE);
}

/* ---- the operator against the CPU backend -------------------------------------------------- */

#define MAX_PAIRS 3

typedef struct gpu_case {
    kernest_mode mode;
    size_t kh, kw;
    size_t npairs;
    size_t shape[MAX_PAIRS][2]; /* A of each pair */
    int nan;                    /* NaN pixels in B (a mask) */
    kernest_precision precision;
} gpu_case;

#define BOTH_PRECISIONS(...) {__VA_ARGS__, KERNEST_DOUBLE}, {__VA_ARGS__, KERNEST_SINGLE}

ParameterizedTestParameters(cuda, operator_matches_cpu)
{
    static gpu_case cases[] = {
        BOTH_PRECISIONS(KERNEST_MODE_FULL, 5, 7, 2, {{12, 10}, {9, 14}}, 1),
        BOTH_PRECISIONS(KERNEST_MODE_FULL, 6, 4, 1, {{8, 8}}, 0),       /* even kernel */
        BOTH_PRECISIONS(KERNEST_MODE_FULL, 1, 1, 1, {{5, 3}}, 1),
        BOTH_PRECISIONS(KERNEST_MODE_SAME, 4, 6, 3, {{12, 10}, {9, 14}, {7, 7}}, 1),
        BOTH_PRECISIONS(KERNEST_MODE_SAME, 23, 19, 1, {{12, 10}}, 1),   /* (2Ha-1)×(2Wa-1) */
        BOTH_PRECISIONS(KERNEST_MODE_SAME, 9, 8, 2, {{6, 5}, {4, 7}}, 1), /* kernel > A */
        BOTH_PRECISIONS(KERNEST_MODE_VALID, 5, 7, 2, {{12, 10}, {9, 14}}, 1),
        BOTH_PRECISIONS(KERNEST_MODE_VALID, 9, 8, 2, {{6, 5}, {4, 3}}, 1), /* kernel > A */
        BOTH_PRECISIONS(KERNEST_MODE_VALID, 4, 4, 1, {{4, 4}}, 0),      /* 1×1 output */
    };
    return cr_make_param_array(gpu_case, cases, sizeof cases / sizeof cases[0]);
}

/* Backend, set up for pb, with vectors k and k2 (n) and r (m). */
typedef struct side {
    kn_backend *be;
    kn_vec *k, *k2, *r;
} side;

static void side_open(side *s, kn_backend *be, const kn_problem *pb)
{
    s->be = be;
    cr_assert_eq(be->ops->op_setup(be, pb), KERNEST_OK, "%s op_setup: %s", be->ops->name,
                 kernest_last_error());
    cr_assert_eq(be->ops->vec_create(be, pb->n, &s->k), KERNEST_OK);
    cr_assert_eq(be->ops->vec_create(be, pb->n, &s->k2), KERNEST_OK);
    cr_assert_eq(be->ops->vec_create(be, pb->m, &s->r), KERNEST_OK);
}

static void side_close(side *s)
{
    s->be->ops->vec_destroy(s->be, &s->k);
    s->be->ops->vec_destroy(s->be, &s->k2);
    s->be->ops->vec_destroy(s->be, &s->r);
    kn_backend_destroy(&s->be);
}

/* got, want: one operation's results downloaded from the GPU and the CPU. */
static void expect_close(const double *got, const double *want, size_t n, double tol,
                         const char *what, const gpu_case *tc)
{
    double d = rel_diff(got, want, n);
    cr_assert_leq(d, tol, "%s: GPU vs CPU relative difference %.3g > %.3g (mode %s, kernel %zux%zu, "
                  "%s)", what, d, tol, kernest_mode_name(tc->mode), tc->kh, tc->kw,
                  tc->precision == KERNEST_SINGLE ? "single" : "double");
}

ParameterizedTest(gpu_case *tc, cuda, operator_matches_cpu)
{
    require_gpu();
    unsigned long long seed = 1000 + 31 * tc->kh + tc->kw + 7 * tc->mode;
    kernest_array *A[MAX_PAIRS] = {0}, *B[MAX_PAIRS] = {0};
    for (size_t i = 0; i < tc->npairs; i++) {
        size_t hb, wb;
        A[i] = tu_random_array(tc->shape[i][0], tc->shape[i][1], -1, 1, &seed);
        cr_assert_eq(kernest_output_shape(tc->mode, tc->shape[i][0], tc->shape[i][1], tc->kh,
                                          tc->kw, &hb, &wb, NULL, NULL),
                     KERNEST_OK);
        B[i] = tu_random_array(hb, wb, -1, 1, &seed);
        cr_assert(A[i] && B[i]);
        for (size_t j = 0; tc->nan && j < B[i]->size; j++)
            if (j == 0 || tu_rand(&seed) < 0.2)
                B[i]->data[j] = NAN;
    }
    kn_problem pb;
    cr_assert_eq(kn_problem_init(&pb, (const kernest_array *const *)A,
                                 (const kernest_array *const *)B, tc->npairs, tc->mode, tc->kh,
                                 tc->kw, NULL),
                 KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(pb.has_mask, tc->nan);

    kn_backend *gbe = NULL, *cbe = NULL;
    cr_assert_eq(kn_backend_cuda_create(tc->precision, -1, &gbe), KERNEST_OK, "%s",
                 kernest_last_error());
    /* the reference: the CPU backend in double */
    cr_assert_eq(kn_backend_cpu_create(KERNEST_DOUBLE, 1, &cbe), KERNEST_OK, "%s",
                 kernest_last_error());
    cr_assert_leq(gbe->ops->op_bytes(gbe, &pb), (size_t)1 << 30);
    side g, c;
    side_open(&g, gbe, &pb);
    side_open(&c, cbe, &pb);

    double *k = random_vector(pb.n, &seed), *r = random_vector(pb.m, &seed);
    if (tc->precision == KERNEST_SINGLE) /* both sides start from the same values */
        for (size_t i = 0; i < pb.n || i < pb.m; i++) {
            if (i < pb.n)
                k[i] = (float)k[i];
            if (i < pb.m)
                r[i] = (float)r[i];
        }
    size_t most = pb.n > pb.m ? pb.n : pb.m;
    double *got = malloc(most * sizeof *got), *want = malloc(most * sizeof *want);
    cr_assert(got && want);
    double tol = tolerance(tc->precision);
    side *both[2] = {&g, &c};

    /* r' = H k */
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->k, k), KERNEST_OK);
        cr_assert_eq(be->ops->op_apply(be, both[s]->k, both[s]->r), KERNEST_OK, "%s: %s",
                     be->ops->name, kernest_last_error());
        cr_assert_eq(be->ops->vec_download(be, both[s]->r, s ? want : got), KERNEST_OK);
    }
    expect_close(got, want, pb.m, tol, "op_apply", tc);
    for (size_t i = 0; i < pb.npairs; i++) /* masked pixels are exactly 0 */
        for (size_t j = 0; tc->nan && j < pb.pairs[i].hb * pb.pairs[i].wb; j++)
            if (isnan(pb.pairs[i].B[j]))
                cr_assert_eq(got[pb.pairs[i].offset + j], 0.0);
    double hk_r = 0;
    for (size_t i = 0; i < pb.m; i++)
        hk_r += got[i] * r[i];

    /* k' = Hᵀ r */
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->r, r), KERNEST_OK);
        cr_assert_eq(be->ops->op_adjoint(be, both[s]->r, both[s]->k), KERNEST_OK, "%s: %s",
                     be->ops->name, kernest_last_error());
        cr_assert_eq(be->ops->vec_download(be, both[s]->k, s ? want : got), KERNEST_OK);
    }
    expect_close(got, want, pb.n, tol, "op_adjoint", tc);
    /* <H k, r> = <k, Hᵀ r> on the GPU alone */
    double k_htr = 0, scale = 0;
    for (size_t i = 0; i < pb.n; i++) {
        k_htr += k[i] * got[i];
        scale += fabs(k[i] * got[i]);
    }
    cr_assert_leq(fabs(hk_r - k_htr), 10 * tol * scale, "adjoint identity %.17g vs %.17g", hk_r,
                  k_htr);

    /* LᵀL k for every regulariser */
    kernest_reg regs[3] = {KERNEST_REG_NONE, KERNEST_REG_RIDGE, KERNEST_REG_GRAD};
    for (int q = 0; q < 3; q++) {
        for (int s = 0; s < 2; s++) {
            kn_backend *be = both[s]->be;
            cr_assert_eq(be->ops->vec_upload(be, both[s]->k, k), KERNEST_OK);
            cr_assert_eq(be->ops->vec_fill(be, both[s]->k2, 7.0), KERNEST_OK); /* overwritten */
            cr_assert_eq(be->ops->reg_gram(be, regs[q], both[s]->k, both[s]->k2), KERNEST_OK,
                         "%s: %s", be->ops->name, kernest_last_error());
        }
        cr_assert_eq(g.be->ops->vec_download(g.be, g.k2, got), KERNEST_OK);
        cr_assert_eq(c.be->ops->vec_download(c.be, c.k2, want), KERNEST_OK);
        if (regs[q] == KERNEST_REG_NONE)
            for (size_t i = 0; i < pb.n; i++)
                cr_assert_eq(got[i], 0.0);
        else
            expect_close(got, want, pb.n, tol, kernest_reg_name(regs[q]), tc);
    }

    side_close(&g);
    side_close(&c);
    free(k);
    free(r);
    free(got);
    free(want);
    kn_problem_free(&pb);
    for (size_t i = 0; i < tc->npairs; i++) {
        kernest_array_destroy(&A[i]);
        kernest_array_destroy(&B[i]);
    }
}

/* ---- several channels: the channel operator against the CPU backend ------------------------ */

typedef struct chan_case {
    kernest_mode mode;
    size_t kh, kw, cin, cout, samples, h, w;
    int nan;
    kernest_precision precision;
} chan_case;

ParameterizedTestParameters(cuda, channel_operator_matches_cpu)
{
    static chan_case cases[] = {
        BOTH_PRECISIONS(KERNEST_MODE_SAME, 3, 3, 3, 2, 2, 12, 10, 1),
        BOTH_PRECISIONS(KERNEST_MODE_SAME, 4, 6, 2, 3, 1, 9, 14, 0),   /* even kernel */
        BOTH_PRECISIONS(KERNEST_MODE_FULL, 5, 4, 3, 1, 2, 8, 8, 1),
        BOTH_PRECISIONS(KERNEST_MODE_VALID, 4, 4, 1, 3, 3, 10, 9, 1),
        BOTH_PRECISIONS(KERNEST_MODE_VALID, 3, 5, 4, 2, 1, 9, 12, 0),
    };
    return cr_make_param_array(chan_case, cases, sizeof cases / sizeof cases[0]);
}

static void chan_compare(const double *got, const double *want, size_t n, double tol, const char *what,
                         const chan_case *tc)
{
    double d = rel_diff(got, want, n);
    cr_assert_leq(d, tol, "%s: GPU vs CPU relative difference %.3g > %.3g (mode %s, %zu->%zu channels, "
                  "kernel %zux%zu, %s)", what, d, tol, kernest_mode_name(tc->mode), tc->cin, tc->cout,
                  tc->kh, tc->kw, tc->precision == KERNEST_SINGLE ? "single" : "double");
}

ParameterizedTest(chan_case *tc, cuda, channel_operator_matches_cpu)
{
    require_gpu();
    unsigned long long seed = 500 + 17 * tc->cin + tc->cout;
    size_t hb, wb;
    cr_assert_eq(kernest_output_shape(tc->mode, tc->h, tc->w, tc->kh, tc->kw, &hb, &wb, NULL, NULL),
                 KERNEST_OK);
    size_t sa[4] = {tc->samples, tc->cin, tc->h, tc->w}, sb[4] = {tc->samples, tc->cout, hb, wb};
    kernest_array *A = NULL, *B = NULL;
    cr_assert_eq(kernest_array_create(4, sa, &A), KERNEST_OK);
    cr_assert_eq(kernest_array_create(4, sb, &B), KERNEST_OK);
    for (size_t j = 0; j < A->size; j++)
        A->data[j] = 2 * tu_rand(&seed) - 1;
    for (size_t j = 0; j < B->size; j++)
        B->data[j] = (tc->nan && (j == 0 || tu_rand(&seed) < 0.2)) ? NAN : 2 * tu_rand(&seed) - 1;
    kn_problem pb;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    cr_assert_eq(kn_problem_init_channels(&pb, As, Bs, 1, tc->mode, tc->kh, tc->kw, KERNEST_LAYOUT_AUTO,
                                          1, NULL),
                 KERNEST_OK, "%s", kernest_last_error());
    kn_backend *gbe = NULL, *cbe = NULL;
    cr_assert_eq(kn_backend_cuda_create(tc->precision, -1, &gbe), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_backend_cpu_create(KERNEST_DOUBLE, 1, &cbe), KERNEST_OK, "%s", kernest_last_error());
    side g, c;
    side_open(&g, gbe, &pb);
    side_open(&c, cbe, &pb);
    double *k = random_vector(pb.n, &seed), *r = random_vector(pb.m, &seed);
    if (tc->precision == KERNEST_SINGLE)
        for (size_t i = 0; i < pb.n || i < pb.m; i++) {
            if (i < pb.n)
                k[i] = (float)k[i];
            if (i < pb.m)
                r[i] = (float)r[i];
        }
    size_t most = pb.n > pb.m ? pb.n : pb.m;
    double *got = malloc(most * sizeof *got), *want = malloc(most * sizeof *want);
    cr_assert(got && want);
    const double tol = tolerance(tc->precision);
    side *both[2] = {&g, &c};
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->k, k), KERNEST_OK);
        cr_assert_eq(be->ops->op_apply(be, both[s]->k, both[s]->r), KERNEST_OK, "%s: %s", be->ops->name,
                     kernest_last_error());
        cr_assert_eq(be->ops->vec_download(be, both[s]->r, s ? want : got), KERNEST_OK);
    }
    chan_compare(got, want, pb.m, tol, "op_apply", tc);
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->r, r), KERNEST_OK);
        cr_assert_eq(be->ops->op_adjoint(be, both[s]->r, both[s]->k), KERNEST_OK, "%s: %s", be->ops->name,
                     kernest_last_error());
        cr_assert_eq(be->ops->vec_download(be, both[s]->k, s ? want : got), KERNEST_OK);
    }
    chan_compare(got, want, pb.n, tol, "op_adjoint", tc);
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->k, k), KERNEST_OK);
        cr_assert_eq(be->ops->reg_gram(be, KERNEST_REG_GRAD, both[s]->k, both[s]->k2), KERNEST_OK);
        cr_assert_eq(be->ops->vec_download(be, both[s]->k2, s ? want : got), KERNEST_OK);
    }
    chan_compare(got, want, pb.n, tol, "reg_gram grad", tc);
    side_close(&g);
    side_close(&c);
    free(k);
    free(r);
    free(got);
    free(want);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* ---- refusals ----------------------------------------------------------------------------- */

Test(cuda, refuses_problem_larger_than_the_card)
{
    require_gpu();
    kn_backend *be = NULL;
    cr_assert_eq(kn_backend_cuda_create(KERNEST_SINGLE, -1, &be), KERNEST_OK, "%s",
                 kernest_last_error());
    kn_vec *k = NULL, *r = NULL;
    cr_assert_eq(be->ops->vec_create(be, 9, &k), KERNEST_OK);
    cr_assert_eq(be->ops->vec_create(be, 9, &r), KERNEST_OK);
    /* the operator needs op_setup first */
    cr_assert_eq(be->ops->op_apply(be, k, r), KERNEST_E_INVALID);

    /* a fake problem: a 2^20 × 2^20 grid (terabytes); its A is never read, nothing allocated */
    kn_pair pair = {.A = NULL, .ha = 1, .wa = 1, .hb = 3, .wb = 3, .nobs = 9};
    kn_problem pb = {.npairs = 1, .pairs = &pair, .mode = KERNEST_MODE_FULL, .kh = 3, .kw = 3,
                     .n = 9, .m = 9, .grid_h = (size_t)1 << 20, .grid_w = (size_t)1 << 20};
    size_t avail = 0, need = be->ops->op_bytes(be, &pb);
    cr_assert_eq(be->ops->mem_available(be, &avail), KERNEST_OK);
    cr_assert_gt(need, avail, "op_bytes %zu should exceed the free %zu", need, avail);
    cr_assert_eq(be->ops->op_setup(be, &pb), KERNEST_E_TOOBIG);
    cr_assert(strstr(kernest_last_error(), "free"), "%s", kernest_last_error());

    /* a grid beyond cuFFT's int sizes is refused the same way */
    pb.grid_w = (size_t)1 << 40;
    cr_assert_eq(be->ops->op_bytes(be, &pb), SIZE_MAX);
    cr_assert_eq(be->ops->op_setup(be, &pb), KERNEST_E_TOOBIG);

    /* the backend is still usable after a refusal */
    double nrm = -1;
    cr_assert_eq(be->ops->vec_fill(be, k, 2.0), KERNEST_OK);
    cr_assert_eq(be->ops->vec_nrm2(be, k, &nrm), KERNEST_OK);
    cr_assert_float_eq(nrm, 6.0, 1e-6);
    be->ops->vec_destroy(be, &k);
    be->ops->vec_destroy(be, &r);
    kn_backend_destroy(&be);
}

/* ---- a whole solve --------------------------------------------------------------------------- */

Test(cuda, estimate_matches_cpu)
{
    require_gpu();
    unsigned long long seed = 2024;
    kernest_array *A = tu_random_array(32, 28, -1, 1, &seed);
    kernest_array *Kt = tu_random_array(5, 5, 0, 1, &seed);
    cr_assert(A && Kt);
    kernest_array *B = tu_direct_convolve(A, Kt, KERNEST_MODE_SAME);
    cr_assert_not_null(B);
    for (size_t i = 0; i < B->size; i++)
        B->data[i] += 1e-3 * (tu_rand(&seed) - 0.5);
    B->data[7] = NAN;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};

    kernest_options opt;
    kernest_options_default(&opt);
    opt.mode = KERNEST_MODE_SAME;
    opt.kh = opt.kw = 5;
    opt.reg = KERNEST_REG_RIDGE;
    opt.lambda = 1e-3;
    opt.tol = 1e-10;
    opt.precision = KERNEST_DOUBLE;
    kernest_array *Kc = NULL, *Kg = NULL;
    kernest_report *rc = NULL, *rg = NULL;
    opt.device = KERNEST_DEVICE_CPU;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kc, &rc), KERNEST_OK, "%s", kernest_last_error());
    opt.device = KERNEST_DEVICE_CUDA;
    opt.device_index = -1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kg, &rg), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(rg->backend, "cuda");
    cr_assert_eq(rg->reason, KERNEST_STOP_CONVERGED, "GPU stopped: %s",
                 kernest_stop_reason_name(rg->reason));
    double d = tu_rel_diff(Kg, Kc);
    cr_assert_leq(d, 1e-7, "GPU vs CPU kernel relative difference %.3g", d);
    cr_assert_leq(tu_rel_diff(Kg, Kt), 1e-2, "the kernel is recovered");

    kernest_report_destroy(&rc);
    kernest_report_destroy(&rg);
    kernest_array_destroy(&Kc);
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kt);
}

#endif /* KERNEST_WITH_CUDA */
