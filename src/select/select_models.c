/* select_models.c — the candidate table of --model auto: (model, priors, regulariser); the λ
 * search applies to each, and all are compared by the same cross-validation score. */
#include "select.h"

static void order2(kernest_options *o)
{
    o->order = 2;
}

/* One line per candidate. The user's own constraints (support, fixed pixels, bounds, sum) are
 * kept under every candidate; nonneg = 1 adds K >= 0. harmonic:2 (a dipole and a quadrupole
 * term on the radial profile) covers the common anisotropies of a field or a PSF; lowrank:2 the
 * separable ones and pairs of them, from two starts since its ALS is not convex; higher orders
 * and ranks are left to --model (README, "--model auto"). Grids: radial's and harmonic's λ₀
 * counts A's mean over whole rings (about 10³ × the pixel model's on the benchmark), λ₀·10 never
 * scored best there, nor pixel+nonneg+grad's (a capped FISTA solve: bench/results/
 * auto-only-finalists.txt); one point for each lowrank line (the budget: 3+2+2+2+1+1, 3 left for
 * contenders and the best, the final solve). */
const kn_candidate_spec kn_candidates[] = {
    {"pixel+grad", KERNEST_MODEL_PIXEL, KERNEST_REG_GRAD, 0, NULL, 0, 0},
    {"pixel+nonneg+grad", KERNEST_MODEL_PIXEL, KERNEST_REG_GRAD, 1, NULL, 2 | 4, 0},
    {"radial+grad", KERNEST_MODEL_RADIAL, KERNEST_REG_GRAD, 0, NULL, 2 | 4, 0},
    {"harmonic:2+grad", KERNEST_MODEL_HARMONIC, KERNEST_REG_GRAD, 0, order2, 2 | 4, 0},
    {"lowrank:2+grad", KERNEST_MODEL_LOWRANK, KERNEST_REG_GRAD, 0, order2, 2, 0},
    {"lowrank:2+grad@best", KERNEST_MODEL_LOWRANK, KERNEST_REG_GRAD, 0, order2, 2, 1},
};

const size_t kn_ncandidates = sizeof kn_candidates / sizeof kn_candidates[0];
