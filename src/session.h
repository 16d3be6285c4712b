/* session.h — internal: one estimation problem set up once on a backend (plans, spectra of the
 * A_i, the data b), then solved any number of times with different priors, models, λ and
 * starting points. kernest_estimate is one open, one solve and a report; the automatic choices
 * (λ paths, model comparison, probing) reuse the session instead of setting up again. */
#ifndef KN_SESSION_H
#define KN_SESSION_H

#include "backend.h"
#include "fista.h"
#include "model_op.h"
#include "solver.h"
#include "warnings.h"

typedef struct kn_session {
    kn_problem pb;
    kn_backend *be;       /* set up for pb (op_setup done) */
    kn_vec *b;            /* the data on the backend: B with NaN -> 0, pairs concatenated */
    double *host_b;       /* the same on the host (m values) */
    double setup_seconds; /* validation, planning, spectra of the A_i, upload of b */
    kn_warnings warnings; /* e.g. device auto fell back to the CPU */
} kn_session;

/* One solve's outcome, on the host. */
typedef struct kn_fit {
    kn_model model;        /* the parametrisation solved for (owned) */
    double *x;             /* model.nx unknowns */
    double *K;             /* the kernel, kh*kw values */
    double *hx;            /* H K on the data space (m values; 0 at NaN pixels of B) */
    kn_solve_result res;   /* res.history owned */
    kn_fista_info info;
    int fista;             /* 1 when FISTA ran, 0 for CGLS */
    size_t bytes_needed;   /* working memory of the whole solve (operator + solver + model) */
    double solve_seconds;  /* the iterations */
    kn_warnings warnings;  /* e.g. a checkpoint that could not be written */
    int resumed_from;      /* iterations of the checkpoint opt->resume (0: none) */
    double *beta;          /* --background: the offset of each pair (npairs values); else NULL.
                              hx above then includes them (H K + β_i on pair i's observed pixels) */
    int outer_iterations;  /* lowrank: ALS sweeps; 0 otherwise */
    kernest_stop_reason outer_reason; /* lowrank: converged or maxiter */
    double outer_change;   /* lowrank: relative change of K in the last sweep */
    long inner_iterations; /* lowrank: iterations of the start and of every half-step together
                              (res.iterations is the last half-step's); 0 otherwise */
} kn_fit;

/* Checks the options that do not depend on the data (ranges, enums, NULL lists). */
int kn_options_check(const kernest_options *opt);

/* Validates the pairs, opens the backend opt asks for (one that can run opt's priors: under
 * device auto a CUDA backend without the prior operations is passed over for the CPU), checks
 * the memory a solve with opt needs before allocating it, sets the operator up and uploads b.
 * Close with kn_session_close (also after a failure). */
int kn_session_open(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                    size_t npairs, const kernest_options *opt);
void kn_session_close(kn_session *s);

/* Wraps the backend a session opened (e.g. to spread the pairs over processes): *out takes
 * ownership of inner (and destroys it on failure). */
typedef int (*kn_backend_wrap)(void *ctx, kn_backend *inner, kn_backend **out);
/* The second half of kn_session_open for a caller that filled s->pb itself (s otherwise zeroed):
 * opens the backend, wraps it when wrap is not NULL, checks memory, sets up and uploads b. */
int kn_session_setup(kn_session *s, const kernest_options *opt, kn_backend_wrap wrap, void *ctx);

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
void kn_fit_free(kn_fit *fit);

/* The report of fit on session s (estimate.c): takes the fit's history and, for models, its
 * unknowns; wall_seconds is left 0 for the caller. */
int kn_report_make(const kn_session *s, kn_fit *fit, kernest_report **out);
/* Misfit per caller pair (its samples and output channels together) of the prediction hx (data
 * space, NaN pixels of B left out), recomputed from H x, not the solver's recursive residual;
 * mf (one entry per caller pair) must be zero-filled (estimate.c). */
void kn_pair_misfits(const kn_problem *pb, const double *hx, kernest_pair_misfit *mf);
/* kn_session_solve with a model the caller built (any linear model: pixel, radial, harmonic, a
 * lowrank half-step with its held factor inside Φ). Takes *model (moved into fit->model; *model
 * is zeroed, also on failure). opt's model and order are not read; its priors, λ, tolerance,
 * iteration cap and background are. */
int kn_session_solve_model(kn_session *s, const kernest_options *opt, kn_model *model, const double *x0,
                           kn_fit *fit);
/* kn_session_solve_with; for lowrank, on the model linearised at x_lin (a lowrank fit's x:
 * kn_lowrank_linear_model), whose unknowns are steps δ with K ≈ K(x_lin) + J δ (x0, shift and
 * the fit's x in δ; the fit's K is J δ). Probing and sampling the lowrank posterior use it. */
int kn_session_solve_linearised(kn_session *s, const kernest_options *opt, const double *x_lin,
                                const double *x0, const double *data, const double *shift, kn_fit *fit);

/* --model lowrank:R: alternating least squares (lowrank.c). Starts from x0 (factors laid out as
 * fit->x) when given, else from the leading singular vectors of a short pixel estimate; then
 * sweeps U (V held), V (U held) — each an ordinary solve with opt's priors acting on the factor —
 * until the relative change of K is <= opt->outer_tol or opt->outer_maxiter sweeps. fit->x holds
 * [U; V]; hx, β, history and solver are the last half-step's. */
int kn_lowrank_solve(kn_session *s, const kernest_options *opt, const double *x0, kn_fit *fit);

/* x (laid out as a lowrank fit's x: [U_k; V_k] kernel by kernel) from the R leading singular
 * vectors of each of the nk kernels K (kh × kw each), scaled by √σ; with nonneg, |u|, |v|. */
void kn_lowrank_start(const double *K, size_t nk, size_t kh, size_t kw, int R, int nonneg, double *x);

#endif
