/* masked.h — internal: a backend whose operator is another's with more pixels of B left out
 * (masked.c). The cross-validation folds share one backend this way: one set of FFT plans and
 * spectra of A for the whole automatic choice instead of one per fold. */
#ifndef KN_MASKED_H
#define KN_MASKED_H

#include "backend.h"

/* *out = inner with H_f k = M_f ⊙ H k and H_fᵀ r = Hᵀ (M_f ⊙ r), M_f 0 at the NaN pixels of
 * pb's B and 1 elsewhere. inner must be set up (op_setup) for a problem with pb's pairs, shapes,
 * windows and A, whose own missing pixels are missing in pb too (so that M_f ⊙ M = M_f); it is
 * borrowed and must outlive *out. The wrapper's op_setup does nothing (inner is set up), its
 * applications are counted on inner; kn_backend_destroy(out) frees what it made. */
int kn_backend_masked(kn_backend *inner, const kn_problem *pb, kn_backend **out);

#endif
