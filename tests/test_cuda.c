/* test_cuda.c — the CUDA backend against the CPU backend and its error paths (skipped without a usable GPU). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda/kn_cuda.h"
#ifdef KERNEST_WITH_CUDA
#include <cuda_runtime_api.h> /* errors_attributed_to_their_call leaves a stale error behind */
#endif
#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/problem.h"
#include "testutil.h"

/* KERNEST_REQUIRE_GPU=1 (scripts/gpu-check run sets it): a test that cannot use a GPU fails
 * instead of skipping, so that a driver mismatch on a GPU machine never reads as success. */
static int strict_gpu(void)
{
    const char *v = getenv("KERNEST_REQUIRE_GPU");
    return v && *v && strcmp(v, "0") != 0;
}

#ifndef KERNEST_WITH_CUDA

Test(cuda, not_compiled_in)
{
    if (strict_gpu())
        cr_assert_fail("KERNEST_REQUIRE_GPU is set but the CUDA backend is not compiled in");
    cr_skip_test("CUDA backend not compiled in");
}

#else

/* Skips the calling test where no CUDA device can be used, with the reason; fails instead under
 * KERNEST_REQUIRE_GPU. */
static void require_gpu(void)
{
    int count = 0;
    int st = kn_cuda_device_count(&count);
    if (strict_gpu() && st)
        cr_assert_fail("KERNEST_REQUIRE_GPU is set and counting CUDA devices failed: %s", kernest_last_error());
    cr_assert_eq(st, KERNEST_OK);
    if (count == 0) {
        char info[2048];
        (void)kn_cuda_info_string(info, sizeof info); /* records why in kernest_last_error */
        if (strict_gpu())
            cr_assert_fail("KERNEST_REQUIRE_GPU is set but no CUDA device is usable: %s", kernest_last_error());
        cr_skip_test("%s", kernest_last_error());
    }
}

static double tolerance(kernest_precision p)
{
    return p == KERNEST_SINGLE ? 1e-5 : 1e-11;
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
    double *x = tu_random_vec_new(n, -1.0, 1.0, &seed), *y = tu_random_vec_new(n, -1.0, 1.0, &seed);
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
    cr_assert_leq(tu_rel_diff_vec(got, want, n), tol, "axpy/aypx/scale");

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
    double d = tu_rel_diff_vec(got, want, n);
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

    double *k = tu_random_vec_new(pb.n, -1.0, 1.0, &seed), *r = tu_random_vec_new(pb.m, -1.0, 1.0, &seed);
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
    double *hk = malloc(pb.m * sizeof *hk); /* H k on the GPU, for the adjoint identity below */
    cr_assert_not_null(hk);
    memcpy(hk, got, pb.m * sizeof *hk);

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
    double hk_r, k_htr, scale = 0;
    tu_dot_test(pb.n, k, got, pb.m, hk, r, &hk_r, &k_htr);
    for (size_t i = 0; i < pb.n; i++)
        scale += fabs(k[i] * got[i]);
    free(hk);
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
    kernest_geometry g; /* a layer's stride, dilation, groups */
    int batch_cap;      /* KERNEST_CUDA_BATCH: samples per batched transform at most (0: the default) */
} chan_case;

/* a channel case with a layer's geometry (and a cap on the samples batched), in both precisions */
#define BOTH_PRECISIONS_GB(G, CAP, ...) {__VA_ARGS__, KERNEST_DOUBLE, G, CAP}, {__VA_ARGS__, KERNEST_SINGLE, G, CAP}
#define BOTH_PRECISIONS_G(G, ...) BOTH_PRECISIONS_GB(G, 0, __VA_ARGS__)
#define PLAIN ((kernest_geometry){1, 1, 1, 1, 1})

ParameterizedTestParameters(cuda, channel_operator_matches_cpu)
{
    static chan_case cases[] = {
        BOTH_PRECISIONS_G(PLAIN, KERNEST_MODE_SAME, 3, 3, 3, 2, 2, 12, 10, 1),
        BOTH_PRECISIONS_G(PLAIN, KERNEST_MODE_SAME, 4, 6, 2, 3, 1, 9, 14, 0),   /* even kernel */
        BOTH_PRECISIONS_G(PLAIN, KERNEST_MODE_FULL, 5, 4, 3, 1, 2, 8, 8, 1),
        BOTH_PRECISIONS_G(PLAIN, KERNEST_MODE_VALID, 4, 4, 1, 3, 3, 10, 9, 1),
        BOTH_PRECISIONS_G(PLAIN, KERNEST_MODE_VALID, 3, 5, 4, 2, 1, 9, 12, 0),
        /* stride, dilation, groups (depthwise included) */
        BOTH_PRECISIONS_G(((kernest_geometry){2, 2, 1, 1, 2}), KERNEST_MODE_VALID, 3, 3, 4, 6, 2, 13, 12, 1),
        BOTH_PRECISIONS_G(((kernest_geometry){1, 3, 2, 2, 3}), KERNEST_MODE_VALID, 3, 3, 3, 6, 2, 14, 15, 0),
        BOTH_PRECISIONS_G(((kernest_geometry){3, 2, 2, 1, 1}), KERNEST_MODE_SAME, 4, 2, 2, 3, 1, 11, 10, 1),
        /* 5 samples in batches of 2, 2, 1 and of 3, 2 (several batches, the remainder's plans), and
         * one at a time */
        BOTH_PRECISIONS_GB(PLAIN, 2, KERNEST_MODE_SAME, 3, 3, 2, 3, 5, 12, 11, 1),
        BOTH_PRECISIONS_GB(((kernest_geometry){2, 1, 1, 2, 1}), 3, KERNEST_MODE_VALID, 3, 3, 2, 2, 5, 12, 13, 1),
        BOTH_PRECISIONS_GB(PLAIN, 1, KERNEST_MODE_SAME, 3, 3, 2, 3, 5, 12, 11, 1),
    };
    return cr_make_param_array(chan_case, cases, sizeof cases / sizeof cases[0]);
}

static void chan_compare(const double *got, const double *want, size_t n, double tol, const char *what,
                         const chan_case *tc)
{
    double d = tu_rel_diff_vec(got, want, n);
    cr_assert_leq(d, tol, "%s: GPU vs CPU relative difference %.3g > %.3g (mode %s, %zu->%zu channels, "
                  "kernel %zux%zu, stride %dx%d, dilation %dx%d, groups %d, %s)", what, d, tol,
                  kernest_mode_name(tc->mode), tc->cin, tc->cout, tc->kh, tc->kw, tc->g.stride_h, tc->g.stride_w,
                  tc->g.dilation_h, tc->g.dilation_w, tc->g.groups, tc->precision == KERNEST_SINGLE ? "single" : "double");
}

ParameterizedTest(chan_case *tc, cuda, channel_operator_matches_cpu)
{
    require_gpu();
    unsigned long long seed = 500 + 17 * tc->cin + tc->cout;
    size_t hb, wb;
    const kernest_geometry *geom = &tc->g;
    cr_assert_eq(kn_layer_window(tc->mode, tc->h, tc->w, tc->kh, tc->kw, geom, &hb, &wb, NULL, NULL), KERNEST_OK);
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
                                          1, geom, NULL),
                 KERNEST_OK, "%s", kernest_last_error());
    kn_backend *gbe = NULL, *cbe = NULL;
    cr_assert_eq(kn_backend_cuda_create(tc->precision, -1, &gbe), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_backend_cpu_create(KERNEST_DOUBLE, 1, &cbe), KERNEST_OK, "%s", kernest_last_error());
    side g, c;
    char cap[16];
    snprintf(cap, sizeof cap, "%d", tc->batch_cap);
    if (tc->batch_cap)
        setenv("KERNEST_CUDA_BATCH", cap, 1); /* read by op_setup */
    side_open(&g, gbe, &pb);
    unsetenv("KERNEST_CUDA_BATCH");
    side_open(&c, cbe, &pb);
    double *k = tu_random_vec_new(pb.n, -1.0, 1.0, &seed), *r = tu_random_vec_new(pb.m, -1.0, 1.0, &seed);
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

/* The automatic λ of a linear model in double precision scores its path in Krylov subspaces on
 * the GPU as on the CPU (select_hybrid.c: host vectors, the device's operator): the same points,
 * the same scores to the operator's rounding, the same choice. */
Test(cuda, krylov_lambda_path_matches_cpu)
{
    require_gpu();
    kernest_array *A = NULL, *B = NULL;
    tu_smooth_problem(4, 1.0, 0.0, &A, &B);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options opt = tu_cpu_options(31, 31);
    opt.reg = KERNEST_REG_GRAD;
    opt.auto_lambda = 1;
    opt.precision = KERNEST_DOUBLE;
    kernest_array *Kc = NULL, *Kg = NULL;
    kernest_report *rc = NULL, *rg = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kc, &rc), KERNEST_OK, "%s", kernest_last_error());
    opt.device = KERNEST_DEVICE_CUDA;
    opt.device_index = -1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kg, &rg), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(rg->backend, "cuda");
    cr_assert_gt(rg->candidates[0].subspaces, 0, "the GPU's path solved instead");
    cr_assert_eq(rg->candidates[0].subspaces, rc->candidates[0].subspaces);
    cr_assert_eq(rg->npath, rc->npath);
    for (size_t i = 0; i < rc->npath; i++) {
        cr_assert(fabs(rg->path[i].lambda - rc->path[i].lambda) <= 1e-8 * rc->path[i].lambda, "point %zu: λ %.12g, CPU %.12g",
                  i, rg->path[i].lambda, rc->path[i].lambda);
        cr_assert(fabs(rg->path[i].score - rc->path[i].score) <= 1e-6 * rc->path[i].score,
                  "point %zu: GPU %.12g, CPU %.12g", i, rg->path[i].score, rc->path[i].score);
    }
    cr_assert(fabs(rg->lambda - rc->lambda) <= 1e-8 * rc->lambda, "λ %.12g, CPU %.12g", rg->lambda, rc->lambda);
    cr_assert_leq(tu_rel_diff(Kg, Kc), 1e-6, "GPU vs CPU kernel %.3g", tu_rel_diff(Kg, Kc));
    kernest_report_destroy(&rc);
    kernest_report_destroy(&rg);
    kernest_array_destroy(&Kc);
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* ---- prior operations against the CPU backend ----------------------------------------------- */

/* A CPU and a CUDA backend of precision p. */
static void both_backends(kernest_precision p, kn_backend **cpu, kn_backend **gpu)
{
    cr_assert_eq(kn_backend_cpu_create(p, 1, cpu), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_backend_cuda_create(p, -1, gpu), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(kn_backend_has_priors((*gpu)->ops), "the cuda backend lacks a prior operation");
}

/* Downloads v into a new array and destroys v. */
static double *take(kn_backend *be, kn_vec **v)
{
    double *x = malloc(((*v)->n ? (*v)->n : 1) * sizeof *x);
    cr_assert_not_null(x);
    cr_assert_eq(be->ops->vec_download(be, *v, x), KERNEST_OK, "%s", kernest_last_error());
    be->ops->vec_destroy(be, v);
    return x;
}

/* The device and the host agree on a unary in-place op given as a callback on each backend. */
typedef int (*inplace_fn)(kn_backend *be, kn_vec *v, const kn_vec *w, double a, double b);

static int do_clip(kn_backend *be, kn_vec *v, const kn_vec *w, double a, double b) { return be->ops->vec_clip(be, v, a, b); }
static int do_mul(kn_backend *be, kn_vec *v, const kn_vec *w, double a, double b) { return be->ops->vec_mul(be, v, w); }
static int do_soft(kn_backend *be, kn_vec *v, const kn_vec *w, double a, double b) { return be->ops->vec_soft(be, v, a); }
static int do_ball(kn_backend *be, kn_vec *v, const kn_vec *w, double a, double b) { return be->ops->vec_ball_proj(be, v, a); }

static void check_inplace(const char *what, kn_backend *cpu, kn_backend *gpu, inplace_fn f, const double *x,
                          const double *w, size_t n, double a, double b, double tol)
{
    kn_vec *vc = tu_upload(cpu, x, n), *vg = tu_upload(gpu, x, n);
    kn_vec *wc = tu_upload(cpu, w, n), *wg = tu_upload(gpu, w, n);
    cr_assert_eq(f(cpu, vc, wc, a, b), KERNEST_OK, "cpu %s: %s", what, kernest_last_error());
    cr_assert_eq(f(gpu, vg, wg, a, b), KERNEST_OK, "cuda %s: %s", what, kernest_last_error());
    double *rc = take(cpu, &vc), *rg = take(gpu, &vg);
    double d = tu_rel_diff_vec(rg, rc, n);
    cr_assert_leq(d, tol, "%s: GPU vs CPU relative difference %.3g", what, d);
    cpu->ops->vec_destroy(cpu, &wc);
    gpu->ops->vec_destroy(gpu, &wg);
    free(rc);
    free(rg);
}

static void check_prior_ops(kernest_precision p)
{
    require_gpu();
    kn_backend *cpu = NULL, *gpu = NULL;
    both_backends(p, &cpu, &gpu);
    const double tol = tolerance(p);
    unsigned long long seed = 404;
    const size_t n = 300001; /* several blocks, an odd tail */
    double *x = tu_random_vec_new(n, -1.0, 1.0, &seed), *w = tu_random_vec_new(n, -1.0, 1.0, &seed);
    if (p == KERNEST_SINGLE)
        for (size_t i = 0; i < n; i++) {
            x[i] = (float)x[i];
            w[i] = (float)w[i];
        }
    check_inplace("vec_clip", cpu, gpu, do_clip, x, w, n, -0.3, 0.6, tol);
    check_inplace("vec_clip to [0, inf)", cpu, gpu, do_clip, x, w, n, 0.0, INFINITY, tol);
    check_inplace("vec_clip to (-inf, inf)", cpu, gpu, do_clip, x, w, n, -INFINITY, INFINITY, tol);
    check_inplace("vec_mul", cpu, gpu, do_mul, x, w, n, 0, 0, tol);
    check_inplace("vec_soft", cpu, gpu, do_soft, x, w, n, 0.25, 0, tol);
    check_inplace("vec_ball_proj", cpu, gpu, do_ball, x, w, n - 1, 0.5, 0, tol);
    check_inplace("vec_ball_proj radius 0", cpu, gpu, do_ball, x, w, n - 1, 0.0, 0, tol);
    for (size_t len = 0; len <= 2; len++) { /* empty, and the whole vector */
        const size_t m = len == 1 ? 2 : len ? n - 1 : 0;
        kn_vec *pc = tu_upload(cpu, x, m), *pg = tu_upload(gpu, x, m);
        double sc = -1, sg = -1;
        cr_assert_eq(cpu->ops->vec_pair_nrm_sum(cpu, pc, &sc), KERNEST_OK);
        cr_assert_eq(gpu->ops->vec_pair_nrm_sum(gpu, pg, &sg), KERNEST_OK, "%s", kernest_last_error());
        /* both accumulate in double from the same values */
        cr_assert_leq(fabs(sg - sc), 1e-12 * (1 + fabs(sc)), "vec_pair_nrm_sum of %zu: %.17g vs %.17g", m, sg, sc);
        cpu->ops->vec_destroy(cpu, &pc);
        gpu->ops->vec_destroy(gpu, &pg);
    }

    /* the TV gradient and its adjoint on odd, thin and single-pixel grids, and on stacks of
     * kernels (channels) */
    static const size_t shapes[][3] = {{257, 131, 1}, {1, 77, 1}, {77, 1, 1}, {1, 1, 1}, {13, 9, 6}, {1, 5, 4}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const size_t kh = shapes[k][0], kw = shapes[k][1], nimg = shapes[k][2], nk = nimg * kh * kw;
        kn_vec *xc = tu_upload(cpu, x, nk), *xg = tu_upload(gpu, x, nk), *gc = NULL, *gg = NULL;
        cr_assert_eq(cpu->ops->vec_create(cpu, 2 * nk, &gc), KERNEST_OK);
        cr_assert_eq(gpu->ops->vec_create(gpu, 2 * nk, &gg), KERNEST_OK);
        cr_assert_eq(cpu->ops->tv_grad(cpu, nimg, kh, kw, xc, gc), KERNEST_OK);
        cr_assert_eq(gpu->ops->tv_grad(gpu, nimg, kh, kw, xg, gg), KERNEST_OK, "%s", kernest_last_error());
        double *a = take(cpu, &gc), *b = take(gpu, &gg);
        cr_assert_leq(tu_rel_diff_vec(b, a, 2 * nk), tol, "tv_grad %zu x %zux%zu", nimg, kh, kw);
        free(a);
        free(b);
        kn_vec *pc = tu_upload(cpu, w, 2 * nk), *pg = tu_upload(gpu, w, 2 * nk);
        cr_assert_eq(cpu->ops->tv_grad_adjoint(cpu, nimg, kh, kw, pc, xc), KERNEST_OK);
        cr_assert_eq(gpu->ops->tv_grad_adjoint(gpu, nimg, kh, kw, pg, xg), KERNEST_OK, "%s", kernest_last_error());
        a = take(cpu, &xc), b = take(gpu, &xg);
        cr_assert_leq(tu_rel_diff_vec(b, a, nk), tol, "tv_grad_adjoint %zu x %zux%zu", nimg, kh, kw);
        free(a);
        free(b);
        cpu->ops->vec_destroy(cpu, &pc);
        gpu->ops->vec_destroy(gpu, &pg);
    }

    /* a random CSR matrix with empty rows, and an empty one */
    const size_t rows = 1000, cols = 517;
    size_t *rp = malloc((rows + 1) * sizeof *rp), *col = malloc(rows * 5 * sizeof *col);
    double *val = malloc(rows * 5 * sizeof *val);
    cr_assert(rp && col && val);
    rp[0] = 0;
    for (size_t i = 0; i < rows; i++) {
        size_t len = (size_t)(tu_rand(&seed) * 6); /* 0..5 entries */
        for (size_t j = 0; j < len; j++) {
            col[rp[i] + j] = (size_t)(tu_rand(&seed) * cols) % cols;
            val[rp[i] + j] = p == KERNEST_SINGLE ? (float)(2 * tu_rand(&seed) - 1) : 2 * tu_rand(&seed) - 1;
        }
        rp[i + 1] = rp[i] + len;
    }
    for (int empty = 0; empty < 2; empty++) {
        size_t zero[2] = {0, 0};
        const size_t r = empty ? 1 : rows;
        kn_sparse *sc = NULL, *sg = NULL;
        cr_assert_eq(cpu->ops->sparse_create(cpu, r, cols, empty ? zero : rp, col, val, &sc), KERNEST_OK);
        cr_assert_eq(gpu->ops->sparse_create(gpu, r, cols, empty ? zero : rp, col, val, &sg), KERNEST_OK,
                     "%s", kernest_last_error());
        cr_assert_eq(sg->rows, r);
        cr_assert_eq(sg->nnz, empty ? 0u : rp[rows]);
        kn_vec *xc = tu_upload(cpu, x, cols), *xg = tu_upload(gpu, x, cols), *yc = NULL, *yg = NULL;
        cr_assert_eq(cpu->ops->vec_create(cpu, r, &yc), KERNEST_OK);
        cr_assert_eq(gpu->ops->vec_create(gpu, r, &yg), KERNEST_OK);
        cr_assert_eq(gpu->ops->vec_fill(gpu, yg, 7.0), KERNEST_OK); /* overwritten, not accumulated */
        cr_assert_eq(cpu->ops->sparse_apply(cpu, sc, xc, yc), KERNEST_OK);
        cr_assert_eq(gpu->ops->sparse_apply(gpu, sg, xg, yg), KERNEST_OK, "%s", kernest_last_error());
        double *a = take(cpu, &yc), *b = take(gpu, &yg);
        /* the device accumulates each row in double, the host in the working precision */
        cr_assert_leq(tu_rel_diff_vec(b, a, r), p == KERNEST_SINGLE ? 1e-6 : tol, "sparse_apply (empty %d)", empty);
        free(a);
        free(b);
        cpu->ops->vec_destroy(cpu, &xc);
        gpu->ops->vec_destroy(gpu, &xg);
        cpu->ops->sparse_destroy(cpu, &sc);
        gpu->ops->sparse_destroy(gpu, &sg);
        cr_assert_null(sg);
        gpu->ops->sparse_destroy(gpu, &sg); /* NULL allowed */
    }
    free(rp);
    free(col);
    free(val);
    free(x);
    free(w);
    kn_backend_destroy(&cpu);
    kn_backend_destroy(&gpu);
}

Test(cuda, prior_ops_match_cpu_double)
{
    check_prior_ops(KERNEST_DOUBLE);
}

Test(cuda, prior_ops_match_cpu_single)
{
    check_prior_ops(KERNEST_SINGLE);
}

/* ---- FISTA (and GPCG) solves with priors: GPU against CPU ------------------------------------ */

typedef struct prior_case {
    const char *name;
    int nonneg, support, radial;
    double tv, l1;
    kernest_precision precision;
    double tol; /* GPU vs CPU relative difference allowed on K */
    kernest_solver solver;
    int valid;  /* mode valid (A's mean stands out: FISTA's rank-one metric) instead of same */
} prior_case;

/*
 * Both sides run the same iterations to a tight tolerance; the kinks of the prox (clip, shrink,
 * the TV dual's ball) and the inner FGP stopping test may round differently, so a solve agrees
 * to about its stopping tolerance rather than to the operator's 1e-11 / 1e-5.
 */
ParameterizedTestParameters(cuda, prior_solves_match_cpu)
{
    static prior_case cases[] = {
        {"nonneg", 1, 0, 0, 0, 0, KERNEST_DOUBLE, 1e-6, KERNEST_SOLVER_FISTA, 0},
        {"nonneg single", 1, 0, 0, 0, 0, KERNEST_SINGLE, 1e-3, KERNEST_SOLVER_FISTA, 0},
        {"support disk:4 + nonneg", 1, 1, 0, 0, 0, KERNEST_DOUBLE, 1e-6, KERNEST_SOLVER_FISTA, 0},
        {"radial", 0, 0, 1, 0, 0, KERNEST_DOUBLE, 1e-6, KERNEST_SOLVER_FISTA, 0},
        {"radial + nonneg single", 1, 0, 1, 0, 0, KERNEST_SINGLE, 1e-3, KERNEST_SOLVER_FISTA, 0},
        {"tv", 0, 0, 0, 0.05, 0, KERNEST_DOUBLE, 1e-4, KERNEST_SOLVER_FISTA, 0},
        {"tv + l1 + nonneg", 1, 0, 0, 0.05, 1e-3, KERNEST_DOUBLE, 1e-4, KERNEST_SOLVER_FISTA, 0},
        {"tv single", 0, 0, 0, 0.05, 0, KERNEST_SINGLE, 3e-3, KERNEST_SOLVER_FISTA, 0},
        {"nonneg gpcg", 1, 0, 0, 0, 0, KERNEST_DOUBLE, 1e-6, KERNEST_SOLVER_GPCG, 0},
        {"support disk:4 + nonneg gpcg single", 1, 1, 0, 0, 0, KERNEST_SINGLE, 1e-3, KERNEST_SOLVER_GPCG, 0},
        {"nonneg valid, the metric", 1, 0, 0, 0, 0, KERNEST_DOUBLE, 1e-6, KERNEST_SOLVER_FISTA, 1},
        {"nonneg valid, the metric single", 1, 0, 0, 0, 0, KERNEST_SINGLE, 1e-3, KERNEST_SOLVER_FISTA, 1},
    };
    return cr_make_param_array(prior_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(prior_case *pc, cuda, prior_solves_match_cpu)
{
    require_gpu();
    unsigned long long seed = 77;
    kernest_array *A = tu_random_array(24, 20, 0, 1, &seed);
    kernest_array *Kt = tu_random_array(11, 11, 0, 1, &seed);
    cr_assert(A && Kt);
    for (size_t y = 0; y < 11; y++) /* a radial, non-negative, piecewise-constant truth */
        for (size_t x = 0; x < 11; x++) {
            double r2 = (y - 5.0) * (y - 5.0) + (x - 5.0) * (x - 5.0);
            Kt->data[y * 11 + x] = r2 <= 4 ? 2.0 : r2 <= 12 ? 1.0 : 0.0;
        }
    kernest_array *B = tu_direct_convolve(A, Kt, pc->valid ? KERNEST_MODE_VALID : KERNEST_MODE_SAME);
    cr_assert_not_null(B);
    for (size_t i = 0; i < B->size; i++)
        B->data[i] += 0.05 * (tu_rand(&seed) - 0.5);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options opt;
    kernest_options_default(&opt);
    opt.kh = opt.kw = 11;
    opt.mode = pc->valid ? KERNEST_MODE_VALID : KERNEST_MODE_SAME;
    opt.solver = pc->solver;
    opt.tol = pc->precision == KERNEST_SINGLE ? 1e-5 : 1e-9;
    opt.maxiter = 3000;
    opt.precision = pc->precision;
    opt.nonneg = pc->nonneg;
    opt.tv = pc->tv;
    opt.l1 = pc->l1;
    opt.model = pc->radial ? KERNEST_MODEL_RADIAL : KERNEST_MODEL_PIXEL;
    if (pc->support) {
        opt.support = KERNEST_SUPPORT_DISK;
        opt.support_radius = 4;
    }
    kernest_array *Kc = NULL, *Kg = NULL;
    kernest_report *rc = NULL, *rg = NULL;
    opt.device = KERNEST_DEVICE_CPU;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kc, &rc), KERNEST_OK, "%s: %s", pc->name, kernest_last_error());
    opt.device = KERNEST_DEVICE_CUDA;
    opt.device_index = -1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kg, &rg), KERNEST_OK, "%s: %s", pc->name, kernest_last_error());
    cr_assert_str_eq(rg->backend, "cuda");
    cr_assert_str_eq(rg->solver, kernest_solver_name(opt.solver));
    double d = tu_rel_diff(Kg, Kc);
    cr_log_info("%s: GPU vs CPU %.3g (iterations cpu %d, gpu %d)", pc->name, d, rc->iterations, rg->iterations);
    cr_assert_leq(d, pc->tol, "%s: GPU vs CPU kernel relative difference %.3g", pc->name, d);
    if (pc->valid) /* both ran in the metric (λ₁/λ₂ = 92 on the CPU, in double and single) */
        cr_assert(rc->metric_ratio >= 10 && rg->metric_ratio >= 10, "%s: metric ratio cpu %g, gpu %g", pc->name,
                  rc->metric_ratio, rg->metric_ratio);
    for (size_t i = 0; pc->nonneg && i < Kg->size; i++)
        cr_assert_geq(Kg->data[i], 0.0, "%s: negative pixel on the GPU", pc->name);
    kernest_report_destroy(&rc);
    kernest_report_destroy(&rg);
    kernest_array_destroy(&Kc);
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kt);
}

/* ---- issue 19: the fixes and the solves a GPU run must cover ----------------------------------- */

/* CSR maps of few long rows (a block per row: Φᵀ rings, the background's per-pair sums) and of
 * many short rows (a warp per row: Φ), 4-byte column indices, against the CPU backend; then the
 * same pattern with new values (sparse_values: lowrank's Φ between half-steps). */
static void check_sparse_rows(kernest_precision p, size_t rows, size_t min_len, size_t max_len, size_t cols)
{
    require_gpu();
    unsigned long long seed = 4242 + rows;
    kn_backend *cpu = NULL, *gpu = NULL;
    both_backends(p, &cpu, &gpu);
    size_t *rp = malloc((rows + 1) * sizeof *rp);
    cr_assert_not_null(rp);
    rp[0] = 0;
    for (size_t i = 0; i < rows; i++)
        rp[i + 1] = rp[i] + min_len + (size_t)(tu_rand(&seed) * (double)(max_len - min_len + 1)) % (max_len - min_len + 1);
    const size_t nnz = rp[rows];
    size_t *col = malloc((nnz ? nnz : 1) * sizeof *col);
    double *val = malloc((nnz ? nnz : 1) * sizeof *val), *x = tu_random_vec_new(cols, -1.0, 1.0, &seed);
    cr_assert(col && val);
    for (size_t j = 0; j < nnz; j++) {
        col[j] = (size_t)(tu_rand(&seed) * (double)cols) % cols;
        val[j] = 2 * tu_rand(&seed) - 1;
        if (p == KERNEST_SINGLE)
            val[j] = (float)val[j];
    }
    for (size_t j = 0; p == KERNEST_SINGLE && j < cols; j++)
        x[j] = (float)x[j];
    kn_sparse *sc = NULL, *sg = NULL;
    cr_assert_eq(cpu->ops->sparse_create(cpu, rows, cols, rp, col, val, &sc), KERNEST_OK);
    cr_assert_eq(gpu->ops->sparse_create(gpu, rows, cols, rp, col, val, &sg), KERNEST_OK, "%s", kernest_last_error());
    kn_vec *xc = tu_upload(cpu, x, cols), *xg = tu_upload(gpu, x, cols), *yc = NULL, *yg = NULL;
    cr_assert_eq(cpu->ops->vec_create(cpu, rows, &yc), KERNEST_OK);
    cr_assert_eq(gpu->ops->vec_create(gpu, rows, &yg), KERNEST_OK);
    for (int round = 0; round < 2; round++) { /* as created, then with new values (sparse_values) */
        if (round) {
            for (size_t j = 0; j < nnz; j++)
                val[j] = p == KERNEST_SINGLE ? (float)(2 * tu_rand(&seed) - 1) : 2 * tu_rand(&seed) - 1;
            cr_assert_eq(cpu->ops->sparse_values(cpu, sc, val), KERNEST_OK);
            cr_assert_eq(gpu->ops->sparse_values(gpu, sg, val), KERNEST_OK, "%s", kernest_last_error());
            cr_assert_eq(cpu->ops->vec_create(cpu, rows, &yc), KERNEST_OK);
            cr_assert_eq(gpu->ops->vec_create(gpu, rows, &yg), KERNEST_OK);
        }
        cr_assert_eq(gpu->ops->vec_fill(gpu, yg, 7.0), KERNEST_OK); /* overwritten, not accumulated */
        cr_assert_eq(cpu->ops->sparse_apply(cpu, sc, xc, yc), KERNEST_OK);
        cr_assert_eq(gpu->ops->sparse_apply(gpu, sg, xg, yg), KERNEST_OK, "%s", kernest_last_error());
        double *a = take(cpu, &yc), *b = take(gpu, &yg);
        /* exact products summed in double on both sides, in different orders */
        double d = tu_rel_diff_vec(b, a, rows);
        cr_assert_leq(d, p == KERNEST_SINGLE ? 1e-6 : 1e-12, "sparse_apply %zu rows of %zu..%zu%s: %.3g", rows,
                      min_len, max_len, round ? ", new values" : "", d);
        free(a);
        free(b);
    }
    cpu->ops->vec_destroy(cpu, &xc);
    gpu->ops->vec_destroy(gpu, &xg);
    cpu->ops->sparse_destroy(cpu, &sc);
    gpu->ops->sparse_destroy(gpu, &sg);
    kn_backend_destroy(&cpu);
    kn_backend_destroy(&gpu);
    free(rp);
    free(col);
    free(val);
    free(x);
}

Test(cuda, sparse_long_rows_match_cpu)
{
    /* 3 rows of ~300 000 entries (a block each), one of them longer than a million */
    check_sparse_rows(KERNEST_DOUBLE, 3, 200000, 1200000, 4000000);
    check_sparse_rows(KERNEST_SINGLE, 3, 200000, 1200000, 4000000);
}

Test(cuda, sparse_many_rows_match_cpu)
{
    /* 50 000 rows of 0..40 entries (a warp each), and rows of 0..2 (Φ) */
    check_sparse_rows(KERNEST_DOUBLE, 50000, 0, 40, 70000);
    check_sparse_rows(KERNEST_SINGLE, 50000, 0, 2, 70000);
}

/* A launch reports its own status: an error left by an unrelated earlier call is not blamed on it. */
Test(cuda, errors_attributed_to_their_call)
{
    require_gpu();
    kn_backend *be = NULL;
    cr_assert_eq(kn_backend_cuda_create(KERNEST_SINGLE, -1, &be), KERNEST_OK, "%s", kernest_last_error());
    kn_vec *v = NULL;
    cr_assert_eq(be->ops->vec_create(be, 1000, &v), KERNEST_OK);
    cr_assert_neq(cudaSetDevice(1 << 20), cudaSuccess); /* leaves cudaErrorInvalidDevice behind */
    cr_assert_eq(be->ops->vec_fill(be, v, 2.0), KERNEST_OK, "a stale error was blamed on the fill: %s",
                 kernest_last_error());
    double nrm = 0;
    cr_assert_eq(be->ops->vec_nrm2(be, v, &nrm), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_float_eq(nrm, 2.0 * sqrt(1000.0), 1e-4);
    be->ops->vec_destroy(be, &v);
    kn_backend_destroy(&be);
}

/* The memory op_setup takes, measured with cudaMemGetInfo, is what op_bytes promised (plus the
 * plans' own tables, first-use kernel loading and the allocator's rounding), and a second op_setup of the same shape reuses
 * the plans and buffers (batch jobs) yet computes the new problem's operator. */
Test(cuda, op_setup_memory_and_reuse_match_cpu)
{
    require_gpu();
    unsigned long long seed = 77;
    const size_t h = 300, w = 280, kh = 31, kw = 29;
    kernest_array *A1 = tu_random_array(h, w, -1, 1, &seed), *A2 = tu_random_array(h, w, -1, 1, &seed);
    kernest_array *B1 = tu_random_array(h, w, -1, 1, &seed), *B2 = tu_random_array(h, w, -1, 1, &seed);
    B2->data[5] = NAN; /* a mask in the second problem only */
    const kernest_array *As1[1] = {A1}, *Bs1[1] = {B1}, *As2[1] = {A2}, *Bs2[1] = {B2};
    kn_problem p1, p2;
    cr_assert_eq(kn_problem_init(&p1, As1, Bs1, 1, KERNEST_MODE_SAME, kh, kw, NULL), KERNEST_OK);
    cr_assert_eq(kn_problem_init(&p2, As2, Bs2, 1, KERNEST_MODE_SAME, kh, kw, NULL), KERNEST_OK);
    kn_backend *gpu = NULL, *cpu = NULL;
    cr_assert_eq(kn_backend_cuda_create(KERNEST_DOUBLE, -1, &gpu), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_backend_cpu_create(KERNEST_DOUBLE, 1, &cpu), KERNEST_OK, "%s", kernest_last_error());
    size_t free0 = 0, free1 = 0;
    cr_assert_eq(gpu->ops->mem_available(gpu, &free0), KERNEST_OK);
    const size_t promised = gpu->ops->op_bytes(gpu, &p1);
    cr_assert_eq(gpu->ops->op_setup(gpu, &p1), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(gpu->ops->mem_available(gpu, &free1), KERNEST_OK);
    const size_t taken = free0 > free1 ? free0 - free1 : 0;
    cr_log_info("op_setup: op_bytes %zu, measured %zu", promised, taken);
    /* slack: cuFFT's plan tables and the kernels it loads on first use, which op_bytes leaves to
     * op_setup's headroom */
    cr_assert_leq(taken, promised + ((size_t)256 << 20), "op_setup took %zu bytes, op_bytes said %zu", taken,
                  promised);
    cr_assert_eq(gpu->ops->op_setup(gpu, &p2), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(gpu->setup_reused, "a second problem of the same shape should reuse the plans");
    side g = {.be = gpu}, c;
    cr_assert_eq(gpu->ops->vec_create(gpu, p2.n, &g.k), KERNEST_OK);
    cr_assert_eq(gpu->ops->vec_create(gpu, p2.n, &g.k2), KERNEST_OK);
    cr_assert_eq(gpu->ops->vec_create(gpu, p2.m, &g.r), KERNEST_OK);
    side_open(&c, cpu, &p2);
    double *k = tu_random_vec_new(p2.n, -1.0, 1.0, &seed), *got = malloc(p2.m * sizeof *got), *want = malloc(p2.m * sizeof *want);
    cr_assert(got && want);
    side *both[2] = {&g, &c};
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->k, k), KERNEST_OK);
        cr_assert_eq(be->ops->op_apply(be, both[s]->k, both[s]->r), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(be->ops->vec_download(be, both[s]->r, s ? want : got), KERNEST_OK);
    }
    double d = tu_rel_diff_vec(got, want, p2.m);
    cr_assert_leq(d, 1e-11, "reused set-up: GPU vs CPU %.3g", d);
    cr_assert_eq(got[5], 0.0, "the second problem's mask");
    side_close(&g);
    side_close(&c);
    free(k);
    free(got);
    free(want);
    kn_problem_free(&p1);
    kn_problem_free(&p2);
    kernest_array_destroy(&A1);
    kernest_array_destroy(&A2);
    kernest_array_destroy(&B1);
    kernest_array_destroy(&B2);
}

/* A 2048² single-precision operator: the grid-stride loops past 2 M elements and the 2-D tiles'
 * grid limits, against the CPU in double. */
Test(cuda, operator_2048_single_matches_cpu)
{
    require_gpu();
    unsigned long long seed = 2048;
    kernest_array *A = tu_random_array(2048, 2048, -1, 1, &seed), *B = tu_random_array(2048, 2048, -1, 1, &seed);
    for (size_t j = 0; j < B->size; j += 977)
        B->data[j] = NAN;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kn_problem pb;
    cr_assert_eq(kn_problem_init(&pb, As, Bs, 1, KERNEST_MODE_SAME, 9, 7, NULL), KERNEST_OK);
    kn_backend *gpu = NULL, *cpu = NULL;
    cr_assert_eq(kn_backend_cuda_create(KERNEST_SINGLE, -1, &gpu), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_backend_cpu_create(KERNEST_DOUBLE, 0, &cpu), KERNEST_OK, "%s", kernest_last_error());
    side g, c;
    side_open(&g, gpu, &pb);
    side_open(&c, cpu, &pb);
    double *k = tu_random_vec_new(pb.n, -1.0, 1.0, &seed), *r = tu_random_vec_new(pb.m, -1.0, 1.0, &seed);
    for (size_t i = 0; i < pb.n; i++)
        k[i] = (float)k[i];
    for (size_t i = 0; i < pb.m; i++)
        r[i] = (float)r[i];
    double *got = malloc(pb.m * sizeof *got), *want = malloc(pb.m * sizeof *want);
    cr_assert(got && want);
    side *both[2] = {&g, &c};
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->k, k), KERNEST_OK);
        cr_assert_eq(be->ops->op_apply(be, both[s]->k, both[s]->r), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(be->ops->vec_download(be, both[s]->r, s ? want : got), KERNEST_OK);
    }
    double d = tu_rel_diff_vec(got, want, pb.m);
    cr_assert_leq(d, 1e-5, "op_apply 2048²: %.3g", d);
    for (int s = 0; s < 2; s++) {
        kn_backend *be = both[s]->be;
        cr_assert_eq(be->ops->vec_upload(be, both[s]->r, r), KERNEST_OK);
        cr_assert_eq(be->ops->op_adjoint(be, both[s]->r, both[s]->k), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(be->ops->vec_download(be, both[s]->k, s ? want : got), KERNEST_OK);
    }
    d = tu_rel_diff_vec(got, want, pb.n);
    cr_assert_leq(d, 1e-5, "op_adjoint 2048²: %.3g", d);
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

/* Whole estimates through the public API, GPU against CPU, for the options a GPU run must cover. */
typedef enum solve_kind {
    SOLVE_SINGLE_GRAD, SOLVE_SUM, SOLVE_FIX, SOLVE_BOUNDS, SOLVE_HARMONIC, SOLVE_LOWRANK,
    SOLVE_BACKGROUND, SOLVE_PAIRS_MASKS, SOLVE_CHANNELS_PRIORS, SOLVE_RADIAL_JACOBI, SOLVE_PIXEL_JACOBI,
    SOLVE_LOWRANK_BACKGROUND, SOLVE_RADIAL_MEAN, SOLVE_RADIAL_MEAN_MASKS
} solve_kind;

typedef struct solve_case {
    const char *name;
    solve_kind kind;
    kernest_precision precision;
    double tol; /* GPU vs CPU relative difference allowed on K */
} solve_case;

ParameterizedTestParameters(cuda, solves_match_cpu)
{
    static solve_case cases[] = {
        {"single, --reg grad", SOLVE_SINGLE_GRAD, KERNEST_SINGLE, 1e-3},
        {"--sum", SOLVE_SUM, KERNEST_DOUBLE, 1e-5},
        {"--fix", SOLVE_FIX, KERNEST_DOUBLE, 1e-5},
        {"finite bounds", SOLVE_BOUNDS, KERNEST_DOUBLE, 1e-4},
        {"harmonic", SOLVE_HARMONIC, KERNEST_DOUBLE, 1e-6},
        {"lowrank", SOLVE_LOWRANK, KERNEST_DOUBLE, 1e-5},
        {"--background", SOLVE_BACKGROUND, KERNEST_DOUBLE, 1e-6},
        {"3 pairs with masks, single", SOLVE_PAIRS_MASKS, KERNEST_SINGLE, 1e-3},
        {"channels + nonneg", SOLVE_CHANNELS_PRIORS, KERNEST_DOUBLE, 1e-4},
        {"radial + grad, --precond jacobi", SOLVE_RADIAL_JACOBI, KERNEST_DOUBLE, 1e-6},
        /* the low-rank part of mean through the table's dots and axpys */
        {"radial + grad, --precond mean", SOLVE_RADIAL_MEAN, KERNEST_DOUBLE, 1e-6},
        {"radial + grad, mean, 3 pairs with masks, single", SOLVE_RADIAL_MEAN_MASKS, KERNEST_SINGLE, 1e-3},
        {"pixel + grad, --precond jacobi, single", SOLVE_PIXEL_JACOBI, KERNEST_SINGLE, 1e-3},
        /* each side's operator refilled at every later half-step (sparse_values), with the
         * background's maps kept */
        {"lowrank + --background, single", SOLVE_LOWRANK_BACKGROUND, KERNEST_SINGLE, 1e-3},
    };
    return cr_make_param_array(solve_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(solve_case *sc, cuda, solves_match_cpu)
{
    require_gpu();
    unsigned long long seed = 31 + sc->kind;
    kernest_array *A[3] = {0}, *B[3] = {0};
    const int masks = sc->kind == SOLVE_PAIRS_MASKS || sc->kind == SOLVE_RADIAL_MEAN_MASKS;
    size_t npairs = masks ? 3 : 1;
    kernest_array *Kt = tu_random_array(7, 7, 0, 1, &seed);
    for (size_t i = 0; i < npairs; i++) {
        if (sc->kind == SOLVE_CHANNELS_PRIORS) { /* 2 samples, 2 -> 1 channels */
            size_t sa[4] = {2, 2, 24, 22}, sb[4] = {2, 1, 24, 22};
            cr_assert_eq(kernest_array_create(4, sa, &A[i]), KERNEST_OK);
            cr_assert_eq(kernest_array_create(4, sb, &B[i]), KERNEST_OK);
            for (size_t j = 0; j < A[i]->size; j++)
                A[i]->data[j] = 2 * tu_rand(&seed) - 1;
            for (size_t j = 0; j < B[i]->size; j++)
                B[i]->data[j] = 2 * tu_rand(&seed) - 1;
            continue;
        }
        A[i] = tu_random_array(26 + 3 * i, 24 + i, -1, 1, &seed);
        B[i] = tu_direct_convolve(A[i], Kt, KERNEST_MODE_SAME);
        cr_assert(A[i] && B[i]);
        for (size_t j = 0; j < B[i]->size; j++) {
            B[i]->data[j] += 1e-2 * (tu_rand(&seed) - 0.5) + (sc->kind == SOLVE_BACKGROUND || sc->kind == SOLVE_LOWRANK_BACKGROUND ? 0.3 : 0.0);
            if (masks && tu_rand(&seed) < 0.1)
                B[i]->data[j] = NAN;
        }
    }
    kernest_options opt;
    kernest_options_default(&opt);
    opt.mode = KERNEST_MODE_SAME;
    opt.kh = opt.kw = 7;
    opt.tol = sc->precision == KERNEST_SINGLE ? 1e-5 : 1e-10;
    opt.maxiter = 3000;
    opt.precision = sc->precision;
    opt.reg = KERNEST_REG_RIDGE;
    opt.lambda = 1e-3;
    kernest_fixed_pixel fix[2] = {{0, 0, 0.5}, {1, -2, 0.0}};
    switch (sc->kind) {
    case SOLVE_SINGLE_GRAD: opt.reg = KERNEST_REG_GRAD; opt.lambda = 1e-2; break;
    case SOLVE_SUM: opt.has_sum = 1; opt.sum = 1.0; break;
    case SOLVE_FIX: opt.nfixed = 2; opt.fixed = fix; break;
    case SOLVE_BOUNDS: opt.has_bounds = 1; opt.lower = 0.05; opt.upper = 0.6; opt.tol = 1e-9; break;
    case SOLVE_HARMONIC: opt.model = KERNEST_MODEL_HARMONIC; opt.order = 2; break;
    case SOLVE_LOWRANK: opt.model = KERNEST_MODEL_LOWRANK; opt.order = 2; opt.outer_tol = 1e-8; break;
    case SOLVE_BACKGROUND: opt.background = 1; break;
    case SOLVE_LOWRANK_BACKGROUND:
        opt.model = KERNEST_MODEL_LOWRANK, opt.order = 2, opt.outer_maxiter = 6, opt.outer_tol = 0;
        opt.background = 1;
        break;
    case SOLVE_PAIRS_MASKS: break;
    case SOLVE_CHANNELS_PRIORS: opt.kh = opt.kw = 5; opt.nonneg = 1; opt.tol = 1e-9; break;
    case SOLVE_RADIAL_JACOBI:
    case SOLVE_RADIAL_MEAN:
    case SOLVE_RADIAL_MEAN_MASKS:
        opt.model = KERNEST_MODEL_RADIAL, opt.reg = KERNEST_REG_GRAD, opt.lambda = 1e-2;
        opt.precond = sc->kind == SOLVE_RADIAL_JACOBI ? KERNEST_PRECOND_JACOBI : KERNEST_PRECOND_MEAN;
        break;
    case SOLVE_PIXEL_JACOBI:
        opt.reg = KERNEST_REG_GRAD, opt.lambda = 1e-2, opt.precond = KERNEST_PRECOND_JACOBI;
        break;
    }
    kernest_array *Kc = NULL, *Kg = NULL;
    kernest_report *rc = NULL, *rg = NULL;
    opt.device = KERNEST_DEVICE_CPU;
    cr_assert_eq(kernest_estimate((const kernest_array *const *)A, (const kernest_array *const *)B, npairs, &opt,
                                  &Kc, &rc), KERNEST_OK, "%s (cpu): %s", sc->name, kernest_last_error());
    opt.device = KERNEST_DEVICE_CUDA;
    opt.device_index = -1;
    cr_assert_eq(kernest_estimate((const kernest_array *const *)A, (const kernest_array *const *)B, npairs, &opt,
                                  &Kg, &rg), KERNEST_OK, "%s (gpu): %s", sc->name, kernest_last_error());
    cr_assert_str_eq(rg->backend, "cuda");
    cr_assert_str_eq(rg->precond, rc->precond, "%s: the GPU solve ran with another preconditioner", sc->name);
    if (sc->kind == SOLVE_RADIAL_JACOBI || sc->kind == SOLVE_PIXEL_JACOBI)
        cr_assert_str_eq(rg->precond, "jacobi", "%s", sc->name);
    if (sc->kind == SOLVE_RADIAL_MEAN || sc->kind == SOLVE_RADIAL_MEAN_MASKS)
        cr_assert_str_eq(rg->precond, "mean", "%s", sc->name);
    double d = tu_rel_diff(Kg, Kc);
    cr_log_info("%s: GPU vs CPU %.3g (iterations cpu %d, gpu %d)", sc->name, d, rc->iterations, rg->iterations);
    cr_assert_leq(d, sc->tol, "%s: GPU vs CPU kernel relative difference %.3g", sc->name, d);
    kernest_report_destroy(&rc);
    kernest_report_destroy(&rg);
    kernest_array_destroy(&Kc);
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&Kt);
    for (size_t i = 0; i < npairs; i++) {
        kernest_array_destroy(&A[i]);
        kernest_array_destroy(&B[i]);
    }
}

/* A GPU solve stopped after 10 iterations, checkpointed, and resumed ends where an uninterrupted
 * GPU solve ends. */
Test(cuda, checkpoint_resume_on_gpu)
{
    require_gpu();
    unsigned long long seed = 99;
    kernest_array *A = tu_random_array(30, 28, -1, 1, &seed), *Kt = tu_random_array(5, 5, 0, 1, &seed);
    kernest_array *B = tu_direct_convolve(A, Kt, KERNEST_MODE_SAME);
    cr_assert(A && Kt && B);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    char path[] = "/tmp/kernest_cuda_ckpt_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    kernest_options opt;
    kernest_options_default(&opt);
    opt.mode = KERNEST_MODE_SAME;
    opt.kh = opt.kw = 5;
    opt.tol = 1e-10;
    opt.maxiter = 300;
    opt.precision = KERNEST_DOUBLE;
    opt.device = KERNEST_DEVICE_CUDA;
    opt.device_index = -1;
    kernest_array *Kfull = NULL, *Kpart = NULL, *Kres = NULL;
    kernest_report *r1 = NULL, *r2 = NULL, *r3 = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kfull, &r1), KERNEST_OK, "%s", kernest_last_error());
    opt.maxiter = 10;
    opt.checkpoint = path;
    opt.checkpoint_every = 0;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kpart, &r2), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r2->iterations, 10);
    opt.maxiter = 300;
    opt.checkpoint = NULL;
    opt.resume = path;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &opt, &Kres, &r3), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r3->resumed_from, 10);
    double d = tu_rel_diff(Kres, Kfull);
    cr_assert_leq(d, 1e-8, "resumed vs uninterrupted GPU solve: %.3g", d);
    remove(path);
    kernest_report_destroy(&r1);
    kernest_report_destroy(&r2);
    kernest_report_destroy(&r3);
    kernest_array_destroy(&Kfull);
    kernest_array_destroy(&Kpart);
    kernest_array_destroy(&Kres);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kt);
}

#endif /* KERNEST_WITH_CUDA */
