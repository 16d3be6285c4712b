/* lowrank.h — internal: the low-rank model K = Σ_r u_r v_rᵀ, its half-steps and linearisation
 * as sparse Φ (lowrank.c; the ALS over them is fit/lowrank_als.c). */
#ifndef KN_LOWRANK_H
#define KN_LOWRANK_H

#include "kind.h"

extern const kn_model_kind kn_kind_lowrank;

/* The half-step model of K_k = U_k V_kᵀ for nk kernels (U_k: kh×R, V_k: kw×R, stored factor by
 * factor: u_r = U_k[r*kh ..]): side 0 solves for every U_k (x = U_0, U_1, ...) with the V_k held
 * (held = V_0, V_1, ..., R*kw values each; NULL: zeros), side 1 for the V_k with the U_k held. */
int kn_lowrank_model(kn_model *m, int side, int R, size_t kh, size_t kw, size_t nk, const double *held);
/* Side 2: K linearised at x (a lowrank fit's x, [U_k; V_k] per kernel): Φ z = U'_k V_kᵀ + U_k V'_kᵀ
 * per kernel, z laid out as x, so Φ x = 2K and Φ(x + δ) − Φ x is the first-order change of K;
 * G is DᵀD along each of the 2R factors of every kernel (as the half-steps'). */
int kn_lowrank_linear_model(kn_model *m, int R, size_t kh, size_t kw, size_t nk, const double *x);
/* K = U Vᵀ of one kh×kw kernel (U: R columns of kh values, V: R of kw). */
void kn_lowrank_kernel(const double *U, const double *V, int R, size_t kh, size_t kw, double *K);

#endif
