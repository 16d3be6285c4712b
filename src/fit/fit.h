/* fit.h — the fit layer's index: one solve on a session whatever the model (fit.c), over the
 * session (session.h), the lowrank ALS (lowrank_als.h), the constraints (constraints.h) and the
 * backend chosen for the options (backend_open.h). */
#ifndef KN_FIT_H
#define KN_FIT_H

#include "backend_open.h"
#include "constraints.h"
#include "lowrank_als.h"
#include "session.h"

/* Solves with opt's model, priors, λ, tolerance and iteration cap (opt's mode, kernel shape,
 * device and precision are the session's, not re-read). x0 (model unknowns, may be NULL: zero)
 * is the starting point; its length must be the model's nx. Fills *fit (free with kn_fit_free,
 * also after a failure). Not converging is a result (fit->res.reason), not an error. */
int kn_session_solve(kn_session *s, const kernest_options *opt, const double *x0, kn_fit *fit);
/* The same with other data and a kernel-space right-hand side: data (m values, NULL: the
 * session's b; values at NaN pixels of B are ignored by the masked operator) replaces b, and
 * shift (model->nx values, NULL: none) adds −⟨g, x⟩ to the objective, so the normal equations
 * read (HᵀH + λLᵀL) x = Hᵀ data + g. Probing (GCV traces) and sampling (uncertainty) use it. */
int kn_session_solve_with(kn_session *s, const kernest_options *opt, const double *x0,
                          const double *data, const double *shift, kn_fit *fit);
/* kn_session_solve_with; for lowrank, on the model linearised at x_lin (a lowrank fit's x:
 * kn_lowrank_linear_model), whose unknowns are steps δ with K ≈ K(x_lin) + J δ (x0, shift and
 * the fit's x in δ; the fit's K is J δ). Probing and sampling the lowrank posterior use it. */
int kn_session_solve_linearised(kn_session *s, const kernest_options *opt, const double *x_lin,
                                const double *x0, const double *data, const double *shift, kn_fit *fit);

#endif
