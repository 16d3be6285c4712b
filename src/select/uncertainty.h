/* uncertainty.h — internal: how sure an estimate is (uncertainty.c): the coverage map, prior
 * draws, and the posterior standard deviation by randomize-then-optimize. */
#ifndef KN_UNCERTAINTY_H
#define KN_UNCERTAINTY_H

#include "base/rng.h"
#include "fit/fit.h"

/* Coverage map: Hᵀ applied to the observed-pixel mask with |A_i| in place of A_i, i.e. for each
 * kernel pixel the sum of |A_i| over the measurements it enters (kh*kw values into cov). */
int kn_coverage(const kn_session *s, const kernest_options *opt, double *cov);
/* g = Lᵀη, η standard normal, L a square root of the regulariser's Gram matrix on m's unknowns
 * (LᵀL = I for ridge; for grad, pixel: the backend's DᵀD inside each kernel, radial and harmonic:
 * m->gram), so that g ~ N(0, LᵀL): the prior half of a randomize-then-optimize sample. lowrank is
 * refused (K = U Vᵀ is not linear in its unknowns). */
int kn_prior_draw(const kn_model *m, kernest_reg reg, kn_rng *rng, double *g);

/* Posterior standard deviation per kernel pixel by randomize-then-optimize: nsamp solves of
 * (HᵀH + λLᵀL) x = Hᵀ(b + σε) + √λ σ Lᵀη (ε, η standard normal), warm-started from x_hat, for
 * opt's model and quadratic prior (linear constraints such as non-negativity are dropped: the
 * samples describe the Gaussian posterior; lowrank's is linearised at x_hat, its factors, see
 * kn_session_solve_linearised). std gets kh*kw values; *solves the solver runs. A sample whose
 * solve was interrupted (the progress callback asked to stop) ends the sampling: *done is the
 * number of samples that finished (nsamp unless interrupted) and std is made from them (NaN
 * with fewer than two). */
int kn_posterior_std(kn_session *s, const kernest_options *opt, const double *x_hat, double sigma,
                     int nsamp, unsigned long long seed, double *std, int *solves, int *done);

#endif
