/* constraints.h — internal: the options' priors (bounds, support, fixed pixels, sum, ℓ1, TV)
 * turned into a prox spec on the model's unknowns, with the checks that name the option at fault.
 * With several channels they act on each kernel: --sum fixes each kernel's sum, TV sums each
 * kernel's own (no difference across two). */
#ifndef KN_CONSTRAINTS_H
#define KN_CONSTRAINTS_H

#include "model/model.h"
#include "solve/prox.h"

typedef struct kn_constraints {
    kn_prox_spec spec; /* spec.keep / spec.fixv point into the arrays below (or are NULL) */
    double *keep, *fixv;
} kn_constraints;

/* Builds c for the unknowns of model m (pixels, profile knots, harmonic coefficients, or one
 * low-rank factor). Refuses, with KERNEST_E_INVALID, what is contradictory or meaningless for the
 * model (a fixed pixel outside the kernel or its bounds, a support with bounds that exclude 0,
 * --sum or a support other than disk:R with radial/harmonic, a radial fixed pixel that ties two
 * knots; harmonic: bounds, --nonneg, l1, fixed pixels off the centre; lowrank: bounds, --sum, l1,
 * --fix, supports other than box:HxW). Free with kn_constraints_free. */
int kn_constraints_build(const kernest_options *opt, const kn_model *m, kn_constraints *c);
void kn_constraints_free(kn_constraints *c);

/* The first prior option set in opt, as the CLI spells it ("--nonneg", "--model radial", ...),
 * or NULL when none is: those need the backend's prior operations (FISTA alone does not). */
const char *kn_priors_option(const kernest_options *opt);

#endif
