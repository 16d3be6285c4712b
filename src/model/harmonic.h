/* harmonic.h — internal: the harmonic model, radial profiles times cos/sin(mθ) (harmonic.c). */
#ifndef KN_HARMONIC_H
#define KN_HARMONIC_H

#include "kind.h"

extern const kn_model_kind kn_kind_harmonic;

/* Unknowns of harmonic:M on p radial knots: p + 2M(p−1). */
size_t kn_harmonic_unknowns(size_t p, int M);
/* The angular term of harmonic's grad prior on profile block b >= 1 (f_1, g_1, f_2, ... in the
 * layout below) at knot j >= 1: m² / j, m = ⌈b/2⌉ (the angular part of |∇K|²). G adds it on the
 * diagonal; the uncertainty's prior draw its square root. */
double kn_harmonic_angular(size_t b, size_t j);
/* Φ and G of harmonic:M (layout in kernest_report's comment: f_0 on knots 0..p−1, then f_1, g_1,
 * ..., f_M, g_M on knots 1..p−1). */
int kn_harmonic_phi(size_t kh, size_t kw, int M, kn_csr *phi, kn_csr *gram);

#endif
