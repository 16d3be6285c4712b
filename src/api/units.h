/* units.h — internal: the scaled units an estimate works in. A is divided by 2^ea and B by 2^eb
 * (powers of two: the scaling is exact), so that the solvers' sums of squares neither underflow
 * nor overflow whatever the data's scale; the options come in and the kernel and the report go
 * out through the same factors (units.c). */
#ifndef KN_UNITS_H
#define KN_UNITS_H

#include "kernest.h"

typedef struct kn_units {
    int ea, eb; /* A / 2^ea, B / 2^eb; K' = K · 2^(ea − eb). 0, 0: the caller's units */
} kn_units;

/* The largest |value| of n arrays (NaN skipped; NaN when one is NULL or holds an infinity). */
double kn_units_maxabs(const kernest_array *const *arr, size_t n);
/* The units for data whose largest |A| is amax and largest observed |B| is bmax: none when both
 * lie within 2^±8 of 1 (nothing to gain), or when either is 0 or not finite (the validation and
 * the warnings of degenerate data say why); else A and B share one exponent while K's own
 * (eb − ea) lies within ±16, so that K, its fixed values, sum and bounds keep the caller's
 * units; beyond, each takes its own, with eb − ea even (a lowrank factor then scales exactly by
 * 2^((eb − ea)/2)). */
void kn_units_choose(double amax, double bmax, kn_units *u);
/* 1 when u changes nothing. */
int kn_units_none(const kn_units *u);

/* Copies of A and B in u (npairs each; *As, *Bs receive arrays of new arrays, free with
 * kn_units_free_arrays). The host memory is checked before anything is allocated. */
int kn_units_scale_arrays(const kn_units *u, const kernest_array *const *A, const kernest_array *const *B,
                          size_t npairs, kernest_array ***As, kernest_array ***Bs);
void kn_units_free_arrays(kernest_array ***arr, size_t n);
/* opt in u: λ (·2^−2ea; lowrank ·2^−(ea+eb), its prior being on the factors, which carry half of
 * K's factor each), the ℓ1 and TV weights (·2^−(ea+eb)), bounds, sum and fixed values (K's
 * units), σ (B's). *fixed receives the copy of the fixed pixels out->fixed points to (NULL when
 * none; the caller frees it). lowrank's λ also regularises its pixel start, a prior on K: that
 * is the caller's while ea = eb, and in the scaled units beyond (where only they make one λ
 * fit both priors; the start is only where the alternating least squares begins). */
int kn_units_options(const kn_units *u, const kernest_options *opt, kernest_options *out,
                     kernest_fixed_pixel **fixed);
/* K (n values) back in the caller's units. */
void kn_units_kernel(const kn_units *u, double *K, size_t n);
/* The report back in the caller's units: λ, ℓ1, σ, the misfits, the background, the model's
 * unknowns, the Lipschitz constant, the uncertainty maps and the automatic choice's tables
 * (whose scores have the units of rule). */
void kn_units_report(const kn_units *u, kernest_select rule, kernest_report *rep);

#endif
