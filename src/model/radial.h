/* radial.h — internal: the radial model K(r) = profile at the distance from the centre
 * (radial.c), and the first-difference Gram matrices other kinds share. */
#ifndef KN_RADIAL_H
#define KN_RADIAL_H

#include "kind.h"

extern const kn_model_kind kn_kind_radial;

/* Knots of the radial profile of a kh×kw kernel: ceil(distance to the farthest pixel) + 1. */
size_t kn_radial_knots(size_t kh, size_t kw);
/* Φ: pixel (y, x) at distance r from the centre gets (1−t) c[j] + t c[j+1], j = ⌊r⌋, t = r − j. */
int kn_radial_phi(size_t kh, size_t kw, kn_csr *phi);
/* 1 and *knot = r when pixel (y, x) lies at an integer distance r (it depends on that knot
 * alone); 0 otherwise. */
int kn_radial_knot(size_t kh, size_t kw, size_t y, size_t x, size_t *knot);
/* DᵀD of first differences on p knots (tridiagonal, no wrap). */
int kn_diff_gram_1d(size_t p, kn_csr *g);
/* Block-diagonal DᵀD: nblocks blocks of len[b] knots; anchored[b] != 0 adds the difference to an
 * implicit 0 before the first knot (a profile that vanishes at r = 0). */
int kn_diff_gram_blocks(size_t nblocks, const size_t *len, const int *anchored, kn_csr *g);

#endif
