/* test_problem.c — output windows (SciPy's rules), FFT sizes, default kernels, grids and offsets. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernest.h"
#include "backend/problem.h"
#include "testutil.h"

/* ---- kernest_output_shape against scipy.signal.convolve2d ------------------------------------- */

/* SciPy's rules written out on their own: full is (ha+kh-1)×(wa+kw-1) from (0,0); same is A's
 * shape from ((kh-1)//2, (kw-1)//2) of the full result; valid needs one input at least as large
 * as the other in every dimension and is (|ha-kh|+1)×(|wa-kw|+1) from (min(ha,kh)-1, min(wa,kw)-1). */
static int scipy_shape(kernest_mode mode, long ha, long wa, long kh, long kw, long *hb, long *wb,
                       long *r0, long *c0)
{
    switch (mode) {
    case KERNEST_MODE_FULL:
        *hb = ha + kh - 1, *wb = wa + kw - 1, *r0 = 0, *c0 = 0;
        return 0;
    case KERNEST_MODE_SAME:
        *hb = ha, *wb = wa, *r0 = (kh - 1) / 2, *c0 = (kw - 1) / 2;
        return 0;
    case KERNEST_MODE_VALID:
        if (!((ha >= kh && wa >= kw) || (kh >= ha && kw >= wa)))
            return -1;
        *hb = labs(ha - kh) + 1, *wb = labs(wa - kw) + 1;
        *r0 = (ha < kh ? ha : kh) - 1, *c0 = (wa < kw ? wa : kw) - 1;
        return 0;
    }
    return -1;
}

Test(problem, output_shape_follows_scipy)
{
    size_t checked = 0, refused = 0;
    for (int mode = 0; mode < 3; mode++)
        for (long ha = 1; ha <= 7; ha++)
            for (long wa = 1; wa <= 7; wa++)
                for (long kh = 1; kh <= 8; kh++)
                    for (long kw = 1; kw <= 8; kw++) {
                        long eh, ew, er, ec;
                        int ok = scipy_shape((kernest_mode)mode, ha, wa, kh, kw, &eh, &ew, &er, &ec) == 0;
                        size_t hb = 0, wb = 0, r0 = 0, c0 = 0;
                        int st = kernest_output_shape((kernest_mode)mode, ha, wa, kh, kw, &hb, &wb, &r0, &c0);
                        if (!ok) {
                            cr_assert_eq(st, KERNEST_E_SHAPE, "%s A %ldx%ld K %ldx%ld: SciPy refuses, got %d",
                                         kernest_mode_name(mode), ha, wa, kh, kw, st);
                            cr_assert(strstr(kernest_last_error(), "valid"),
                                      "the message should name the mode: '%s'", kernest_last_error());
                            refused++;
                            continue;
                        }
                        cr_assert_eq(st, KERNEST_OK, "%s A %ldx%ld K %ldx%ld -> %d (%s)",
                                     kernest_mode_name(mode), ha, wa, kh, kw, st, kernest_last_error());
                        cr_assert((long)hb == eh && (long)wb == ew && (long)r0 == er && (long)c0 == ec,
                                  "%s A %ldx%ld K %ldx%ld: got %zux%zu at (%zu,%zu), SciPy %ldx%ld at (%ld,%ld)",
                                  kernest_mode_name(mode), ha, wa, kh, kw, hb, wb, r0, c0, eh, ew, er, ec);
                        /* the window lies inside the full result */
                        cr_assert((long)(r0 + hb) <= ha + kh - 1 && (long)(c0 + wb) <= wa + kw - 1,
                                  "window leaves the full result");
                        checked++;
                    }
    cr_assert(checked > 5000 && refused > 100, "checked %zu, refused %zu", checked, refused);
}

Test(problem, output_shape_examples_and_errors)
{
    size_t hb, wb, r0, c0;
    /* worked examples: scipy.signal.convolve2d(np.ones((5,7)), np.ones((4,3)), mode) shapes */
    cr_assert_eq(kernest_output_shape(KERNEST_MODE_FULL, 5, 7, 4, 3, &hb, &wb, &r0, &c0), KERNEST_OK);
    cr_assert(hb == 8 && wb == 9 && r0 == 0 && c0 == 0, "full: %zux%zu at (%zu,%zu)", hb, wb, r0, c0);
    cr_assert_eq(kernest_output_shape(KERNEST_MODE_SAME, 5, 7, 4, 3, &hb, &wb, &r0, &c0), KERNEST_OK);
    cr_assert(hb == 5 && wb == 7 && r0 == 1 && c0 == 1, "same: %zux%zu at (%zu,%zu)", hb, wb, r0, c0);
    cr_assert_eq(kernest_output_shape(KERNEST_MODE_VALID, 5, 7, 4, 3, &hb, &wb, &r0, &c0), KERNEST_OK);
    cr_assert(hb == 2 && wb == 5 && r0 == 3 && c0 == 2, "valid: %zux%zu at (%zu,%zu)", hb, wb, r0, c0);
    /* even kernel in same mode: start (kh-1)//2 = 2 for kh = 6 */
    cr_assert_eq(kernest_output_shape(KERNEST_MODE_SAME, 9, 9, 6, 8, &hb, &wb, &r0, &c0), KERNEST_OK);
    cr_assert(r0 == 2 && c0 == 3, "same even: start (%zu,%zu), want (2,3)", r0, c0);
    /* K larger than A, valid: SciPy swaps the inputs */
    cr_assert_eq(kernest_output_shape(KERNEST_MODE_VALID, 3, 4, 10, 9, &hb, &wb, &r0, &c0), KERNEST_OK);
    cr_assert(hb == 8 && wb == 6 && r0 == 2 && c0 == 3, "valid K>A: %zux%zu at (%zu,%zu)", hb, wb, r0, c0);
    /* every output may be NULL */
    cr_assert_eq(kernest_output_shape(KERNEST_MODE_VALID, 5, 7, 4, 3, NULL, NULL, NULL, NULL), KERNEST_OK);
    /* A taller but narrower than K */
    int st = kernest_output_shape(KERNEST_MODE_VALID, 10, 3, 4, 5, &hb, &wb, &r0, &c0);
    cr_assert_eq(st, KERNEST_E_SHAPE, "valid 10x3 vs 4x5 -> %d", st);
    cr_assert(strstr(kernest_last_error(), "10x3") && strstr(kernest_last_error(), "4x5"),
              "message should hold both shapes: '%s'", kernest_last_error());
    /* empty inputs, unknown modes, overflow */
    st = kernest_output_shape(KERNEST_MODE_SAME, 0, 3, 3, 3, &hb, &wb, &r0, &c0);
    cr_assert_eq(st, KERNEST_E_SHAPE, "empty A -> %d", st);
    st = kernest_output_shape(KERNEST_MODE_FULL, 3, 3, 3, 0, &hb, &wb, &r0, &c0);
    cr_assert_eq(st, KERNEST_E_SHAPE, "empty K -> %d", st);
    st = kernest_output_shape((kernest_mode)3, 3, 3, 3, 3, &hb, &wb, &r0, &c0);
    cr_assert_eq(st, KERNEST_E_INVALID, "mode 3 -> %d", st);
    st = kernest_output_shape(KERNEST_MODE_FULL, SIZE_MAX, 3, 2, 3, &hb, &wb, &r0, &c0);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "SIZE_MAX + 1 rows -> %d", st);
    st = kernest_output_shape(KERNEST_MODE_SAME, 3, SIZE_MAX - 1, 3, 3, &hb, &wb, &r0, &c0);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "full width overflows -> %d", st);
}

Test(problem, mode_and_reg_names)
{
    static const char *const modes[] = {"full", "same", "valid"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(kernest_mode_parse(modes[i]), i, "parse %s", modes[i]);
        cr_assert_str_eq(kernest_mode_name((kernest_mode)i), modes[i]);
    }
    cr_assert_eq(kernest_mode_parse("Same"), -1);
    cr_assert_eq(kernest_mode_parse("bogus"), -1);
    cr_assert_eq(kernest_mode_parse(""), -1);
    cr_assert_eq(kernest_mode_parse(NULL), -1);
    cr_assert_eq(kernest_reg_parse("none"), KERNEST_REG_NONE);
    cr_assert_eq(kernest_reg_parse("ridge"), KERNEST_REG_RIDGE);
    cr_assert_eq(kernest_reg_parse("grad"), KERNEST_REG_GRAD);
    cr_assert_eq(kernest_reg_parse("tv"), -1);
}

/* ---- FFT sizes -------------------------------------------------------------------------------- */

static int smooth7(size_t c)
{
    if (c == 0)
        return 0;
    static const size_t p[] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
        while (c % p[i] == 0)
            c /= p[i];
    return c == 1;
}

Test(problem, good_fft_size_is_minimal_smooth)
{
    for (int even = 0; even <= 1; even++)
        for (size_t n = 1; n <= 2000; n++) {
            size_t want = n;
            while (!smooth7(want) || (even && (want & 1)))
                want++;
            size_t got = kn_good_fft_size(n, even);
            cr_assert_eq(got, want, "kn_good_fft_size(%zu, %d) = %zu, smallest is %zu", n, even, got, want);
        }
    /* spot values */
    cr_assert_eq(kn_good_fft_size(199, 0), 200);
    cr_assert_eq(kn_good_fft_size(11, 0), 12);
    cr_assert_eq(kn_good_fft_size(11, 1), 12);
    cr_assert_eq(kn_good_fft_size(13, 0), 14);
    cr_assert_eq(kn_good_fft_size(343, 0), 343);
    cr_assert_eq(kn_good_fft_size(343, 1), 350);
    cr_assert_eq(kn_good_fft_size(1, 1), 2);
    cr_assert_eq(kn_good_fft_size(0, 0), 1, "n = 0 -> %zu", kn_good_fft_size(0, 0));
}

Test(problem, good_fft_size_large_and_overflow)
{
    static const size_t ns[] = {1000003, 123456789, 4294967311ull};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int even = 0; even <= 1; even++) {
            size_t g = kn_good_fft_size(ns[i], even);
            cr_assert(g >= ns[i] && smooth7(g) && (!even || !(g & 1)),
                      "kn_good_fft_size(%zu, %d) = %zu", ns[i], even, g);
            /* nothing smooth was skipped (check a window just below g) */
            for (size_t c = ns[i]; c < g && c < ns[i] + 100000; c++)
                cr_assert(!(smooth7(c) && (!even || !(c & 1))), "%zu is smooth and below %zu", c, g);
        }
    /* near SIZE_MAX: the first smooth value at or above n, or 0 when there is none */
    for (size_t back = 1; back <= 40; back++) {
        size_t n = SIZE_MAX - back, want = 0;
        for (size_t c = n;; c++) {
            if (smooth7(c)) {
                want = c;
                break;
            }
            if (c == SIZE_MAX)
                break;
        }
        cr_assert_eq(kn_good_fft_size(n, 0), want, "n = SIZE_MAX-%zu: %zu, want %zu", back,
                     kn_good_fft_size(n, 0), want);
    }
    cr_assert_eq(kn_good_fft_size(SIZE_MAX, 1), 0);
}

/* ---- kn_problem_init -------------------------------------------------------------------------- */

static kernest_array *mk(size_t h, size_t w, unsigned long long *seed)
{
    kernest_array *a = tu_random_array(h, w, -1, 1, seed);
    cr_assert_not_null(a);
    return a;
}

Test(problem, default_kernel_same)
{
    unsigned long long seed = 1;
    kernest_array *A = mk(7, 5, &seed), *B = mk(7, 5, &seed);
    const kernest_array *As[] = {A}, *Bs[] = {B};
    kn_problem pb;
    int st = kn_problem_init(&pb, As, Bs, 1, KERNEST_MODE_SAME, 0, 0, NULL);
    cr_assert_eq(st, KERNEST_OK, "%d %s", st, kernest_last_error());
    cr_assert(pb.kh == 13 && pb.kw == 9, "default same kernel for 7x5: %zux%zu, want 13x9", pb.kh, pb.kw);
    cr_assert_eq(pb.n, 13 * 9);
    cr_assert_eq(pb.m, 35);
    cr_assert(pb.pairs[0].row0 == 6 && pb.pairs[0].col0 == 4, "start (%zu,%zu)", pb.pairs[0].row0,
              pb.pairs[0].col0);
    kn_problem_free(&pb);
    cr_assert(pb.pairs == NULL && pb.npairs == 0, "kn_problem_free should clear the problem");
    kn_problem_free(&pb); /* twice is harmless */
    /* without B the same default applies (forward model only) */
    st = kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_SAME, 0, 0, NULL);
    cr_assert_eq(st, KERNEST_OK);
    cr_assert(pb.kh == 13 && pb.kw == 9 && pb.pairs[0].nobs == 35 && !pb.has_mask);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(problem, default_kernel_full_and_valid_from_B)
{
    unsigned long long seed = 2;
    kernest_array *A = mk(6, 5, &seed), *Bf = mk(9, 11, &seed), *Bv = mk(4, 3, &seed);
    const kernest_array *As[] = {A}, *Bfs[] = {Bf}, *Bvs[] = {Bv};
    kn_problem pb;
    int st = kn_problem_init(&pb, As, Bfs, 1, KERNEST_MODE_FULL, 0, 0, NULL);
    cr_assert_eq(st, KERNEST_OK, "%d %s", st, kernest_last_error());
    cr_assert(pb.kh == 4 && pb.kw == 7, "full: A 6x5, B 9x11 -> K %zux%zu, want 4x7", pb.kh, pb.kw);
    kn_problem_free(&pb);
    st = kn_problem_init(&pb, As, Bvs, 1, KERNEST_MODE_VALID, 0, 0, NULL);
    cr_assert_eq(st, KERNEST_OK, "%d %s", st, kernest_last_error());
    cr_assert(pb.kh == 3 && pb.kw == 3, "valid: A 6x5, B 4x3 -> K %zux%zu, want 3x3", pb.kh, pb.kw);
    cr_assert(pb.pairs[0].row0 == 2 && pb.pairs[0].col0 == 2);
    kn_problem_free(&pb);
    /* B smaller than A in full mode, larger in valid mode: no kernel fits */
    st = kn_problem_init(&pb, As, Bvs, 1, KERNEST_MODE_FULL, 0, 0, NULL);
    cr_assert_eq(st, KERNEST_E_SHAPE, "full with B 4x3 < A 6x5 -> %d", st);
    cr_assert(strstr(kernest_last_error(), "6x5") && strstr(kernest_last_error(), "4x3"),
              "message: '%s'", kernest_last_error());
    st = kn_problem_init(&pb, As, Bfs, 1, KERNEST_MODE_VALID, 0, 0, NULL);
    cr_assert_eq(st, KERNEST_E_SHAPE, "valid with B 9x11 > A -> %d", st);
    /* no B, no kernel shape: nothing to infer from */
    st = kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_FULL, 0, 0, NULL);
    cr_assert_eq(st, KERNEST_E_INVALID, "full without B or kernel shape -> %d", st);
    cr_assert(strstr(kernest_last_error(), "--ksize"), "message: '%s'", kernest_last_error());
    /* half a kernel shape */
    st = kn_problem_init(&pb, As, Bfs, 1, KERNEST_MODE_FULL, 4, 0, NULL);
    cr_assert_eq(st, KERNEST_E_INVALID, "kh 4, kw 0 -> %d", st);
    cr_assert_null(pb.pairs);
    kernest_array_destroy(&A);
    kernest_array_destroy(&Bf);
    kernest_array_destroy(&Bv);
}

Test(problem, grid_offsets_and_counts_for_several_pairs)
{
    unsigned long long seed = 3;
    static const size_t sh[][2] = {{7, 5}, {12, 3}, {4, 9}, {6, 6}};
    const size_t np = 4;
    for (int mode = 0; mode < 3; mode++) {
        const size_t kh = mode == KERNEST_MODE_VALID ? 3 : 5, kw = mode == KERNEST_MODE_VALID ? 3 : 4;
        kernest_array *A[4], *B[4];
        size_t nnan[4] = {0};
        for (size_t i = 0; i < np; i++) {
            A[i] = mk(sh[i][0], sh[i][1], &seed);
            size_t hb, wb;
            cr_assert_eq(kernest_output_shape((kernest_mode)mode, sh[i][0], sh[i][1], kh, kw, &hb, &wb,
                                              NULL, NULL), KERNEST_OK);
            B[i] = mk(hb, wb, &seed);
            if (i == 1 || i == 3) /* a few missing pixels in two pairs */
                for (size_t j = 0; j < B[i]->size; j += 4) {
                    B[i]->data[j] = NAN;
                    nnan[i]++;
                }
        }
        kn_problem pb;
        int st = kn_problem_init(&pb, (const kernest_array *const *)A, (const kernest_array *const *)B,
                                 np, (kernest_mode)mode, kh, kw, NULL);
        cr_assert_eq(st, KERNEST_OK, "%s: %d %s", kernest_mode_name(mode), st, kernest_last_error());
        cr_assert(pb.npairs == np && pb.mode == (kernest_mode)mode && pb.kh == kh && pb.kw == kw);
        cr_assert_eq(pb.n, kh * kw);
        cr_assert_eq(pb.has_mask, 1);
        size_t off = 0, need_h = 0, need_w = 0;
        for (size_t i = 0; i < np; i++) {
            const kn_pair *p = &pb.pairs[i];
            size_t hb, wb, r0, c0;
            kernest_output_shape((kernest_mode)mode, sh[i][0], sh[i][1], kh, kw, &hb, &wb, &r0, &c0);
            cr_assert(p->ha == sh[i][0] && p->wa == sh[i][1], "pair %zu A shape", i);
            cr_assert(p->A == A[i]->data && p->B == B[i]->data, "pair %zu should borrow the arrays", i);
            cr_assert(p->hb == hb && p->wb == wb && p->row0 == r0 && p->col0 == c0,
                      "%s pair %zu: window %zux%zu at (%zu,%zu), want %zux%zu at (%zu,%zu)",
                      kernest_mode_name(mode), i, p->hb, p->wb, p->row0, p->col0, hb, wb, r0, c0);
            cr_assert_eq(p->offset, off, "%s pair %zu: offset %zu, want %zu", kernest_mode_name(mode), i,
                         p->offset, off);
            cr_assert_eq(p->nobs, hb * wb - nnan[i], "%s pair %zu: nobs %zu, want %zu",
                         kernest_mode_name(mode), i, p->nobs, hb * wb - nnan[i]);
            off += hb * wb;
            size_t nh, nw;
            cr_assert(!kn_alias_free_size(sh[i][0], kh, r0, hb, &nh) &&
                      !kn_alias_free_size(sh[i][1], kw, c0, wb, &nw));
            if (nh > need_h) need_h = nh;
            if (nw > need_w) need_w = nw;
            cr_assert(pb.grid_h >= nh && pb.grid_w >= nw,
                      "%s: grid %zux%zu too small for pair %zu (%zux%zu needed)", kernest_mode_name(mode),
                      pb.grid_h, pb.grid_w, i, nh, nw);
        }
        cr_assert_eq(pb.m, off, "m = %zu, windows sum to %zu", pb.m, off);
        cr_assert(smooth7(pb.grid_h) && smooth7(pb.grid_w) && pb.grid_w % 2 == 0,
                  "grid %zux%zu must be 7-smooth with an even width", pb.grid_h, pb.grid_w);
        cr_assert(pb.grid_h == kn_good_fft_size(need_h, 0) && pb.grid_w == kn_good_fft_size(need_w, 1),
                  "grid %zux%zu is not the smallest for %zux%zu", pb.grid_h, pb.grid_w, need_h, need_w);
        kn_problem_free(&pb);
        for (size_t i = 0; i < np; i++) {
            kernest_array_destroy(&A[i]);
            kernest_array_destroy(&B[i]);
        }
    }
}

Test(problem, grid_for_kernel_larger_than_A)
{
    unsigned long long seed = 4;
    kernest_array *A = mk(10, 10, &seed);
    const kernest_array *As[] = {A};
    kn_problem pb;
    int st = kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_SAME, 101, 37, NULL);
    cr_assert_eq(st, KERNEST_OK);
    /* the window needs 10 + 50 = 60 rows and 10 + 18 = 28 columns, but the kernel must fit: 101, 37 */
    cr_assert(pb.grid_h == 105 && pb.grid_w == 40, "grid %zux%zu, want 105x40", pb.grid_h, pb.grid_w);
    cr_assert_eq(pb.m, 100);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
}

/* 1-D brute force: the smallest circular length whose convolution of A (at 0) and K (at 0) equals
 * the linear one on the mode's window, for random data, is kn_alias_free_size's answer. */
Test(problem, alias_free_size_is_the_smallest_exact_length)
{
    unsigned long long seed = 99;
    double x[24], k[48], lin[80], circ[80];
    for (int mode = 0; mode < 3; mode++)
        for (size_t a = 1; a <= 12; a++)
            for (size_t kl = 1; kl <= 30; kl++) {
                size_t b, one, r0, c0;
                if (kernest_output_shape((kernest_mode)mode, a, 1, kl, 1, &b, &one, &r0, &c0))
                    continue;
                for (size_t i = 0; i < a; i++) x[i] = tu_rand(&seed) - 0.5;
                for (size_t i = 0; i < kl; i++) k[i] = tu_rand(&seed) - 0.5;
                memset(lin, 0, sizeof lin);
                for (size_t i = 0; i < a; i++)
                    for (size_t j = 0; j < kl; j++)
                        lin[i + j] += x[i] * k[j];
                size_t smallest = 0;
                for (size_t L = 1; L <= a + kl - 1 && !smallest; L++) {
                    if (L < a || L < kl || r0 + b > L)
                        continue;
                    memset(circ, 0, sizeof circ);
                    for (size_t i = 0; i < a; i++)
                        for (size_t j = 0; j < kl; j++)
                            circ[(i + j) % L] += x[i] * k[j];
                    int exact = 1;
                    for (size_t p = r0; p < r0 + b; p++)
                        exact &= fabs(circ[p] - lin[p]) < 1e-12;
                    if (exact)
                        smallest = L;
                }
                size_t got;
                cr_assert(!kn_alias_free_size(a, kl, r0, b, &got));
                cr_assert_eq(got, smallest, "%s a=%zu k=%zu: bound %zu, smallest exact length %zu",
                             kernest_mode_name((kernest_mode)mode), a, kl, got, smallest);
            }
}

/* The original question's shape: N = 512, the 1023x1023 kernel, mode same: a 1024 grid, not 1536. */
Test(problem, same_mode_full_kernel_needs_no_full_grid)
{
    unsigned long long seed = 5;
    kernest_array *A = mk(512, 512, &seed);
    const kernest_array *As[] = {A};
    kn_problem pb;
    cr_assert_eq(kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_SAME, 1023, 1023, NULL), KERNEST_OK);
    cr_assert(pb.grid_h == 1024 && pb.grid_w == 1024, "grid %zux%zu, want 1024x1024", pb.grid_h, pb.grid_w);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
}

Test(problem, rejects_bad_pairs_naming_the_file)
{
    unsigned long long seed = 5;
    kernest_array *A0 = mk(6, 6, &seed), *B0 = mk(6, 6, &seed), *A1 = mk(5, 7, &seed), *B1 = mk(5, 7, &seed);
    const kernest_array *As[] = {A0, A1}, *Bs[] = {B0, B1};
    const char *names[] = {"a0.npy", "b0.npy", "a1.npy", "b1.npy"};
    kn_problem pb;

    /* NaN in the second A */
    A1->data[9] = NAN;
    int st = kn_problem_init(&pb, As, Bs, 2, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_VALUE, "NaN in A -> %d", st);
    cr_assert(strstr(kernest_last_error(), "a1.npy"), "message should name a1.npy: '%s'", kernest_last_error());
    A1->data[9] = INFINITY;
    st = kn_problem_init(&pb, As, Bs, 2, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_VALUE, "Inf in A -> %d", st);
    A1->data[9] = 0.5;

    /* Inf in B is not a mask */
    B0->data[3] = -INFINITY;
    st = kn_problem_init(&pb, As, Bs, 2, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_VALUE, "Inf in B -> %d", st);
    cr_assert(strstr(kernest_last_error(), "b0.npy"), "message: '%s'", kernest_last_error());
    B0->data[3] = 0.0;

    /* every pixel missing */
    for (size_t i = 0; i < B0->size; i++)
        B0->data[i] = NAN;
    for (size_t i = 0; i < B1->size; i++)
        B1->data[i] = NAN;
    st = kn_problem_init(&pb, As, Bs, 2, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_VALUE, "all-NaN B -> %d", st);
    /* one pair fully missing is fine while another has data */
    for (size_t i = 0; i < B1->size; i++)
        B1->data[i] = 1.0;
    st = kn_problem_init(&pb, As, Bs, 2, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_OK, "%d %s", st, kernest_last_error());
    cr_assert(pb.pairs[0].nobs == 0 && pb.pairs[1].nobs == 35 && pb.has_mask);
    kn_problem_free(&pb);

    /* the second B has the wrong shape: both shapes and the file in the message */
    kernest_array *Bbad = mk(5, 6, &seed);
    const kernest_array *Bs2[] = {B0, Bbad};
    st = kn_problem_init(&pb, As, Bs2, 2, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_SHAPE, "wrong B shape -> %d", st);
    const char *e = kernest_last_error();
    cr_assert(strstr(e, "b1.npy") && strstr(e, "5x6") && strstr(e, "5x7"), "message: '%s'", e);

    /* not 2-D, empty */
    size_t s3[3] = {2, 3, 4};
    kernest_array *A3 = NULL;
    cr_assert_eq(kernest_array_create(3, s3, &A3), KERNEST_OK);
    const kernest_array *As3[] = {A3};
    st = kn_problem_init(&pb, As3, NULL, 1, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_SHAPE, "3-D A -> %d", st);
    cr_assert(strstr(kernest_last_error(), "a0.npy"), "message: '%s'", kernest_last_error());

    /* no pairs, bad mode */
    st = kn_problem_init(&pb, As, Bs, 0, KERNEST_MODE_SAME, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_INVALID, "0 pairs -> %d", st);
    st = kn_problem_init(&pb, As, Bs, 2, (kernest_mode)9, 3, 3, names);
    cr_assert_eq(st, KERNEST_E_INVALID, "mode 9 -> %d", st);

    /* valid with A taller but narrower than K */
    st = kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_VALID, 3, 8, names);
    cr_assert_eq(st, KERNEST_E_SHAPE, "valid A 6x6, K 3x8 -> %d", st);
    e = kernest_last_error();
    cr_assert(strstr(e, "a0.npy") && strstr(e, "6x6") && strstr(e, "3x8") && strstr(e, "valid"),
              "message should name the file, the mode and both shapes: '%s'", e);
    /* long names too (the detail is built from an earlier detail) */
    const char *longnames[] = {"/a/rather/long/folder/name/for/the/first/input/file/A_input.npy", "b.npy"};
    st = kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_VALID, 3, 8, longnames);
    cr_assert_eq(st, KERNEST_E_SHAPE);
    e = kernest_last_error();
    cr_assert(strstr(e, "A_input.npy: mode valid") && strstr(e, "6x6") && strstr(e, "3x8"), "message: '%s'", e);

    /* a kernel whose size overflows */
    st = kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_SAME, SIZE_MAX / 2, 5, names);
    cr_assert_eq(st, KERNEST_E_TOOBIG, "huge kernel -> %d (%s)", st, kernest_last_error());

    kernest_array_destroy(&A0);
    kernest_array_destroy(&A1);
    kernest_array_destroy(&B0);
    kernest_array_destroy(&B1);
    kernest_array_destroy(&Bbad);
    kernest_array_destroy(&A3);
}
