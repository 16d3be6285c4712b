/* lowrank_als.h — internal: --model lowrank:R fitted by alternating least squares over a session
 * (lowrank_als.c). */
#ifndef KN_LOWRANK_ALS_H
#define KN_LOWRANK_ALS_H

#include "session.h"

/* --model lowrank:R: alternating least squares (lowrank_als.c). Starts from x0 (factors laid out as
 * fit->x) when given, else from the leading singular vectors of a short pixel estimate; then
 * sweeps U (V held), V (U held) — each an ordinary solve with opt's priors acting on the factor —
 * until the relative change of K is <= opt->outer_tol or opt->outer_maxiter sweeps. fit->x holds
 * [U; V]; hx, β, history and solver are the last half-step's. */
/* opt passed kn_options_check (kn_session_solve, fit.h, calls this). */
int kn_lowrank_solve(kn_session *s, const kernest_options *opt, const double *x0, kn_fit *fit);

/* x (laid out as a lowrank fit's x: [U_k; V_k] kernel by kernel) from the R leading singular
 * vectors of each of the nk kernels K (kh × kw each), scaled by √σ; with nonneg, |u|, |v|. */
void kn_lowrank_start(const double *K, size_t nk, size_t kh, size_t kw, int R, int nonneg, double *x);

#endif
