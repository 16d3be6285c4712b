/* select_reduce.h — internal: the automatic choice at the cost of a few solves on large problems:
 * candidates and λ chosen on a central window of B (far field subtracted), one full final solve. */
#ifndef KN_SELECT_REDUCE_H
#define KN_SELECT_REDUCE_H

#include "select.h"

/* The side of B's central window the choice runs on, and the smallest side of A (3·window − 2)
 * that lets the window see every A pixel its (2·window − 1)² kernel reaches. */
enum { KN_REDUCE_WINDOW = 64 };

/* kn_select on session s (opened on the pairs (A, B) with kn_select_open_options(opt)), or, when
 * the problem allows it (2-D pairs, mode same, the default kernel, no support or fixed pixels,
 * cv, no ℓ1 path) and every A is at least 3·KN_REDUCE_WINDOW − 2 on each side, on a reduced
 * problem: a short plain solve on all the data gives the far field (the part of B that kernel
 * offsets beyond the window's kernel produce), which is subtracted from B; the choice runs on
 * the central KN_REDUCE_WINDOW² of B against the A window that reaches it (mode valid, kernel
 * (2·KN_REDUCE_WINDOW − 1)²); the chosen options are then solved once on s, started from the
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
