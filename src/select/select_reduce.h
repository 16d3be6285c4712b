/* select_reduce.h — internal: the automatic choice at the cost of a few solves on large problems:
 * candidates and λ chosen on a central window of B (far field subtracted), one full final solve. */
#ifndef KN_SELECT_REDUCE_H
#define KN_SELECT_REDUCE_H

#include "select.h"

/* The side of B's central window the choice runs on, and the smallest half-width k of the
 * window's kernel ((2k−1)²): A must be at least KN_REDUCE_WINDOW + 2(KN_REDUCE_MIN_K − 1) = 190 px
 * a side. Kernel offsets beyond the window's kernel are the far field, measured on all the data
 * (by a pixel solve; a radial one on a textured A) and subtracted. A smaller k leaves more to the
 * far field and costs quality: at N = 128 (k = 33) the window chose harmonic:2 at held-out 1.077σ
 * where the full choice reaches 1.006σ. */
enum { KN_REDUCE_WINDOW = 64, KN_REDUCE_MIN_K = 64 };
/* The held windows per pair the window's choice is checked on (kn_select_confirmed): B's
 * windows of the same side diagonally away from the central one, which no fit sees. */
enum { KN_REDUCE_HELD = 4 };

/* How far A's local means over n×n boxes spread, in units of what independent pixels would give:
 * the standard deviation over every box position of the box's mean, times n, over A's standard
 * deviation (0 for a constant A). About 1 or below for a white A (random binary targets,
 * white-noise stimuli: 0.5–0.8 at n = 127); tens for a 1/f² texture or a natural image (22–37). */
double kn_box_spread(const kernest_array *A, size_t n);
/* Below this spread (at the window kernel's side) A counts as white: a far field from kernel
 * offsets beyond the window's kernel is then a constant over the window to within a few per cent
 * of itself, which the window's kernel takes up in its sum. When the quick solve that measures
 * the far field stopped at its cap, its far field is not subtracted on such an A (select_reduce.c).
 * At or above it the quick solve fits a radial profile instead of pixels (select_reduce.c). */
#define KN_WHITE_SPREAD 2.0

/* On such an A the true far field is a constant over the window to within a few per cent of
 * itself (0.4–2.7 % on the wide PSFs and 1/r fields of bench/results/far-field-fluctuation.txt);
 * a quick solve's far field that fluctuates by more than this share of its mean is the quick
 * solve's noise, and is not subtracted either. */
#define KN_FAR_FLUCTUATION 0.2

/* kn_select on session s (opened on the pairs (A, B) with kn_select_open_options(opt)), or, when
 * the problem allows it (2-D pairs, mode same, the default kernel, no support or fixed pixels,
 * cv, no ℓ1 path) and every A is at least 190 px on each side (above), on a reduced
 * problem: a short plain solve on all the data (pixel; radial when an A is not white) gives the
 * far field (the part of B that kernel offsets beyond the window's kernel produce), which is
 * subtracted from B (not when every A is white, KN_WHITE_SPREAD, and that solve stopped at its
 * cap or its far field fluctuates by more than KN_FAR_FLUCTUATION of its mean over the window);
 * the choice runs on the central KN_REDUCE_WINDOW² of B against the A window that reaches it
 * (mode valid, kernel (2k−1)²); the chosen options are then solved once on s, started from the
 * reduced estimate. λ carries over unchanged: it weighs the same pixels, noise and prior per
 * kernel pixel on both problems. Fills *sel (free with kn_selection_free, also after a failure)
 * and its cost by phase. */
int kn_select_auto(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                   size_t npairs, const kernest_options *opt, kn_selection *sel);

/* 1 when kn_select_auto would reduce this problem (pairs as given, options opt). */
int kn_select_reducible(const kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                        size_t npairs, const kernest_options *opt);

/* x0 (full model unknowns, nx_full values) from a fit of the same model on the centred smaller
 * kernel (kh_r × kw_r, centre at its middle): pixels and profiles embedded at the centre, zero
 * beyond; lowrank from the leading factors of the embedded kernel. kh, kw: the full kernel. */
int kn_embed_start(const kn_fit *small, size_t kh_r, size_t kw_r, const kernest_options *opt, size_t kh,
                   size_t kw, size_t nx_full, double *x0);

#endif
