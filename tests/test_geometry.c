/* test_geometry.c — a layer's stride, dilation and groups: output shapes against PyTorch's
 * formula, the layer padding's 'same', refusals, and a grouped, strided, dilated layer with a
 * bias recovered through the library and through the command line. The operator itself against
 * the definition, term by term, with its adjoint: test_channels.c's cases. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/problem.h"
#include "kernest.h"
#include "testutil.h"

/* ---- output shapes ------------------------------------------------------------------------- */

Test(geometry, valid_window_follows_pytorch)
{
    /* torch.nn.Conv2d without padding: out = (H − d(k−1) − 1)//s + 1 */
    for (size_t h = 1; h <= 17; h++)
        for (size_t k = 1; k <= 5; k++)
            for (int d = 1; d <= 3; d++)
                for (int s = 1; s <= 4; s++) {
                    const kernest_geometry g = {s, 1, d, 1, 1};
                    size_t hb, wb, r0, c0;
                    const long span = (long)(k - 1) * d + 1;
                    const int st = kn_layer_window(KERNEST_MODE_VALID, h, 9, k, 1, &g, &hb, &wb, &r0, &c0);
                    if ((long)h < span) { /* PyTorch refuses a kernel larger than the input; kernest's
                                             valid then keeps the kernel's larger window: no layer */
                        continue;
                    }
                    cr_assert_eq(st, KERNEST_OK, "%s", kernest_last_error());
                    cr_assert_eq(hb, (size_t)(((long)h - span) / s + 1), "h %zu k %zu d %d s %d: %zu", h, k, d, s, hb);
                    cr_assert_eq(r0, (size_t)span - 1);
                    cr_assert_eq(wb, 9);
                }
    /* same and full: the window of the dilated kernel, then every s-th pixel from its start */
    const kernest_geometry g = {2, 3, 2, 1, 1};
    size_t hb, wb, r0, c0;
    cr_assert_eq(kn_layer_window(KERNEST_MODE_SAME, 10, 10, 3, 4, &g, &hb, &wb, &r0, &c0), KERNEST_OK);
    cr_assert(hb == 5 && wb == 4 && r0 == 2 && c0 == 1, "%zu %zu %zu %zu", hb, wb, r0, c0);
    cr_assert_eq(kn_layer_window(KERNEST_MODE_FULL, 10, 10, 3, 4, &g, &hb, &wb, &r0, &c0), KERNEST_OK);
    cr_assert(hb == 7 && wb == 5 && r0 == 0 && c0 == 0, "%zu %zu", hb, wb); /* 14 -> 7, 13 -> 5 */
}

Test(geometry, layer_padding_same)
{
    kernest_array *A = tu_random_array(10, 11, -1, 1, &(unsigned long long){3}), *P = NULL;
    struct { size_t k; kernest_geometry g; size_t h, w; } c[] = {
        /* PyTorch: P = d(k−1), P//2 before */
        {3, {1, 1, 2, 2, 1}, 14, 15},
        {4, {1, 1, 1, 1, 1}, 13, 14},
        {4, {1, 1, 3, 1, 1}, 19, 14},
        /* JAX/TF SAME with a stride: P = max((⌈H/s⌉−1)s + d(k−1) + 1 − H, 0) */
        {3, {2, 2, 1, 1, 1}, 11, 13}, /* H 10: ⌈5⌉ → 8+3−10 = 1; W 11: 6 → 10+3−11 = 2 */
        {3, {4, 3, 1, 1, 1}, 11, 12}, /* H 10, s 4: 3 → 8+3−10 = 1; W 11, s 3: 4 → 9+3−11 = 1 */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cr_assert_eq(kernest_pad_layer(A, c[i].k, c[i].k, -1, -1, KERNEST_PAD_ZEROS, &c[i].g, &P), KERNEST_OK, "%s",
                     kernest_last_error());
        cr_assert(P->shape[0] == c[i].h && P->shape[1] == c[i].w, "case %zu: %zux%zu", i, P->shape[0], P->shape[1]);
        /* the strided valid window of the padded input has ⌈H/s⌉ rows (SAME's promise) */
        size_t hb, wb;
        cr_assert_eq(kn_layer_window(KERNEST_MODE_VALID, P->shape[0], P->shape[1], c[i].k, c[i].k, &c[i].g, &hb, &wb,
                                     NULL, NULL), KERNEST_OK);
        cr_assert_eq(hb, (10 + (size_t)c[i].g.stride_h - 1) / (size_t)c[i].g.stride_h, "case %zu", i);
        cr_assert_eq(wb, (11 + (size_t)c[i].g.stride_w - 1) / (size_t)c[i].g.stride_w, "case %zu", i);
        /* P//2 before: A's first value sits at (top, left) */
        const size_t top = (c[i].h - 10) / 2, left = (c[i].w - 11) / 2;
        cr_assert_eq(P->data[top * P->shape[1] + left], A->data[0], "case %zu", i);
        kernest_array_destroy(&P);
    }
    kernest_array_destroy(&A);
}

/* ---- refusals ------------------------------------------------------------------------------ */

Test(geometry, refusals_name_the_option)
{
    unsigned long long seed = 8;
    const size_t sa[3] = {4, 9, 9}, sb[3] = {6, 9, 9}, sk[4] = {6, 3, 3, 3};
    kernest_array *A = NULL, *B = NULL, *K = NULL, *out = NULL;
    cr_assert_eq(kernest_array_create(3, sa, &A), KERNEST_OK);
    cr_assert_eq(kernest_array_create(3, sb, &B), KERNEST_OK);
    cr_assert_eq(kernest_array_create(4, sk, &K), KERNEST_OK);
    tu_random_vec(A->data, A->size, -1, 1, &seed);
    tu_random_vec(B->data, B->size, -1, 1, &seed);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o = tu_cpu_options(3, 3);
    o.geometry.groups = 3; /* divides 6 outputs, not 4 inputs */
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &out, NULL), KERNEST_E_SHAPE);
    cr_assert(strstr(kernest_last_error(), "--groups 3"), "%s", kernest_last_error());
    o = tu_cpu_options(0, 0);
    o.geometry.stride_h = 2;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &out, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--ksize"), "%s", kernest_last_error());
    o = tu_cpu_options(3, 3);
    o.geometry.dilation_w = 0;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &out, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--dilation"), "%s", kernest_last_error());
    /* a 6x3 set of kernels is 2 groups of 4 inputs... of 2 each: C_in/G = 2, not 3 */
    const kernest_geometry g2 = {1, 1, 1, 1, 2};
    cr_assert_eq(kernest_convolve_layer(A, K, KERNEST_MODE_SAME, KERNEST_LAYOUT_AUTO, 0, &g2, "X.npy", "W.npy", &out),
                 KERNEST_E_SHAPE);
    cr_assert(strstr(kernest_last_error(), "C_in/G = 4/2"), "%s", kernest_last_error());
    cr_assert_null(out);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* ---- a layer recovered ------------------------------------------------------------------------ */

/* X (S, 4, 16, 15) through a layer of 6 outputs in 2 groups, 3x3 taps, stride 2, dilation 2x1,
 * padding 1, plus a bias; noise-free, so the weights come back to rounding */
static void make_layer(kernest_array **X, kernest_array **W, double bias[6], kernest_array **Y,
                       const kernest_geometry *g)
{
    unsigned long long seed = 17;
    const size_t sx[4] = {3, 4, 16, 15}, sw[4] = {6, 2, 3, 3};
    cr_assert_eq(kernest_array_create(4, sx, X), KERNEST_OK);
    cr_assert_eq(kernest_array_create(4, sw, W), KERNEST_OK);
    tu_random_vec((*X)->data, (*X)->size, -1, 1, &seed);
    tu_random_vec((*W)->data, (*W)->size, -1, 1, &seed);
    for (int o = 0; o < 6; o++)
        bias[o] = 0.5 * o - 1.0;
    kernest_array *Xp = NULL;
    cr_assert_eq(kernest_pad_layer(*X, 3, 3, 1, 1, KERNEST_PAD_ZEROS, g, &Xp), KERNEST_OK);
    cr_assert_eq(kernest_convolve_layer(Xp, *W, KERNEST_MODE_VALID, KERNEST_LAYOUT_AUTO, 1, g, NULL, NULL, Y),
                 KERNEST_OK, "%s", kernest_last_error());
    const size_t hw = (*Y)->shape[2] * (*Y)->shape[3];
    cr_assert_eq((*Y)->shape[2], (16 + 2 - 2 * 2 - 1) / 2 + 1); /* PyTorch's formula: 7 */
    cr_assert_eq((*Y)->shape[3], (15 + 2 - 2 - 1) / 2 + 1);     /* 7 */
    for (size_t q = 0; q < (*Y)->size / hw; q++)
        for (size_t j = 0; j < hw; j++)
            (*Y)->data[q * hw + j] += bias[q % 6];
    kernest_array_destroy(&Xp);
}

Test(geometry, recovers_a_grouped_strided_dilated_layer)
{
    const kernest_geometry g = {2, 2, 2, 1, 2};
    kernest_array *X = NULL, *W = NULL, *Y = NULL, *K = NULL;
    double bias[6];
    make_layer(&X, &W, bias, &Y, &g);
    kernest_options o = tu_cpu_options(3, 3);
    o.geometry = g;
    o.correlate = 1;
    o.bias = 1;
    o.padding = 1;
    o.pad_h = o.pad_w = 1;
    o.tol = 1e-13;
    o.maxiter = 2000;
    kernest_report *rep = NULL;
    const kernest_array *Xs[1] = {X}, *Ys[1] = {Y};
    cr_assert_eq(kernest_estimate(Xs, Ys, 1, &o, &K, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(K->ndim == 4 && K->shape[0] == 6 && K->shape[1] == 2 && K->shape[2] == 3 && K->shape[3] == 3);
    cr_assert(tu_rel_diff(K, W) < 1e-8, "weights off by %g", tu_rel_diff(K, W));
    cr_assert_eq(rep->nbackground, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(rep->background[i], bias[i], 1e-8);
    cr_assert_eq(rep->kernel_in, 2);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&K);
    kernest_array_destroy(&X);
    kernest_array_destroy(&W);
    kernest_array_destroy(&Y);
}

TestSuite(geometry_cli, .init = tu_dir_setup, .fini = tu_dir_teardown);

Test(geometry_cli, convolve_estimate_score_round_trip)
{
    const kernest_geometry g = {2, 2, 2, 1, 2};
    kernest_array *X = NULL, *W = NULL, *Y = NULL, *Z = NULL;
    double bias[6];
    make_layer(&X, &W, bias, &Y, &g);
    char *xp = tu_path(tu_dir, "X.npy"), *wp = tu_path(tu_dir, "W.npy");
    cr_assert_eq(kernest_npy_write(xp, X, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_npy_write(wp, W, KERNEST_DOUBLE), KERNEST_OK);
    char cmd[2048], err[1024];
    const char *layer = "--correlate --padding 1 --stride 2 --dilation 2x1 --groups 2";
    /* the command line's forward model is the library's */
    snprintf(cmd, sizeof cmd, "convolve %s %s -o %s/Z.npy %s", xp, wp, tu_dir, layer);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    char *zp = tu_path(tu_dir, "Z.npy");
    cr_assert_eq(kernest_npy_read(zp, &Z), KERNEST_OK);
    cr_assert_eq(Z->size, Y->size);
    const size_t hw = Y->shape[2] * Y->shape[3];
    for (size_t j = 0; j < Y->size; j++)
        cr_assert_float_eq(Z->data[j] + bias[j / hw % 6], Y->data[j], 1e-12);
    cr_assert_eq(kernest_npy_write(zp, Y, KERNEST_DOUBLE), KERNEST_OK); /* with the bias */
    snprintf(cmd, sizeof cmd, "estimate %s %s -o %s/We.npy --ksize 3x3 %s --bias --bias-out %s/b.npy --fast "
             "--tol 1e-13 --maxiter 2000 -q", xp, zp, tu_dir, layer, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "%s", err);
    kernest_array *We = NULL;
    char *wep = tu_path(tu_dir, "We.npy");
    cr_assert_eq(kernest_npy_read(wep, &We), KERNEST_OK);
    cr_assert(tu_rel_diff(We, W) < 1e-8, "weights off by %g", tu_rel_diff(We, W));
    snprintf(cmd, sizeof cmd, "%s %s %s %s --bias %s/b.npy", xp, zp, wep, layer, tu_dir);
    const double rmse = tu_score_rmse(cmd);
    cr_assert(rmse < 1e-8, "score's rmse %g", rmse);
    /* bad geometry: exit 2, one line naming the option, no output */
    const char *bad[] = {"--ksize 3x3 --stride 0", "--ksize 3x3 --dilation 1x0", "--ksize 3x3 --groups 3",
                         "--stride 2", "--ksize 3x3 --groups x"};
    const char *named[] = {"--stride", "--dilation", "--groups 3", "--ksize", "--groups"};
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        snprintf(cmd, sizeof cmd, "estimate %s %s -o %s/W2.npy --correlate --fast %s", xp, zp, tu_dir, bad[c]);
        cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 2, "%s: %s", bad[c], err);
        cr_assert(strstr(err, named[c]), "%s: %s", bad[c], err);
    }
    char *w2 = tu_path(tu_dir, "W2.npy");
    cr_assert(!tu_exists(w2));
    free(w2);
    free(xp);
    free(wp);
    free(zp);
    free(wep);
    kernest_array_destroy(&X);
    kernest_array_destroy(&W);
    kernest_array_destroy(&Y);
    kernest_array_destroy(&Z);
    kernest_array_destroy(&We);
}
