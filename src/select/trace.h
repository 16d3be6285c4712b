/* trace.h — internal: the Hutchinson trace estimator (trace.c). */
#ifndef KN_TRACE_H
#define KN_TRACE_H

#include "fit/fit.h"

/* Hutchinson estimate of tr(H_λ), H_λ = H (HᵀH + λLᵀL)⁻¹ Hᵀ on the observed pixels, with
 * nprobe Rademacher probes z (±1 on observed pixels, 0 elsewhere; drawn from seed): the mean
 * of zᵀ H x_z where x_z solves the problem with data z (one solve per probe, warm-started from
 * xs[p] when xs and xs[p] are not NULL; the solutions are stored back there when xs[p] is
 * allocated). opt must give a linear fit (CGLS); lowrank is linearised at x_lin (its fit's x;
 * kn_session_solve_linearised), NULL otherwise. *t receives the estimate, tp (may be NULL) the
 * per-probe values; *iters (may be NULL) accumulates iterations. */
int kn_trace_hutchinson(kn_session *s, const kernest_options *opt, const double *x_lin, int nprobe,
                        unsigned long long seed, double **xs, double *t, double *tp, long *iters);

#endif
