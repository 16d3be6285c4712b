/* session.h — internal: one estimation problem set up once on a backend (plans, spectra of the
 * A_i, the data b), then solved any number of times with different priors, models, λ and
 * starting points. kernest_estimate is one open, one solve and a report; the automatic choices
 * (λ paths, model comparison, probing) reuse the session instead of setting up again. */
#ifndef KN_SESSION_H
#define KN_SESSION_H

#include "backend/backend.h"
#include "backend_open.h"
#include "solve/fista.h"
#include "solve/gpcg.h"
#include "model/model.h"
#include "solve/cgls.h"
#include "base/warnings.h"

typedef struct kn_session {
    kn_problem pb;
    kn_backend *be;       /* set up for pb (op_setup done) */
    kn_vec *b;            /* the data on the backend: B with NaN -> 0, pairs concatenated */
    double *host_b;       /* the same on the host (m values) */
    double setup_seconds; /* validation, planning, spectra of the A_i, upload of b */
    kn_warnings warnings; /* e.g. device auto fell back to the CPU */
    kernest_context *ctx; /* where the backend came from and goes back to (borrowed; may be NULL) */
    kn_backend_key key;   /* the options be was opened for */
    int wrapped;          /* 1: be wraps the backend opened (it is destroyed, not given back) */
    char phase[112];      /* what the next solves are for, passed to the progress callback
                             (kernest_progress.phase; empty: none) — kn_session_phase */
    kn_backend *ops[2];   /* the models' operators built last (H∘Φ over be, or over a fold's
                             be), most recent first, kept for the next solves: kn_session_operator */
    long ops_built, ops_reused; /* kn_session_operator: operators built, and reused with new values */
    struct kn_session *base; /* a fold: the session it was opened on, whose ops[] it uses (so the
                                folds together keep two operators, not two each); NULL otherwise */
} kn_session;

/* Sets s->phase (printf-style; NULL or "" clears it). */
void kn_session_phase(kn_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One solve's outcome, on the host. */
typedef struct kn_fit {
    kn_model model;        /* the parametrisation solved for (owned) */
    double *x;             /* model.nx unknowns */
    double *K;             /* the kernel, kh*kw values */
    double *hx;            /* H K on the data space (m values; 0 at NaN pixels of B) */
    kn_solve_result res;   /* res.history owned */
    kn_fista_info info;    /* FISTA's */
    kn_gpcg_info gpcg;     /* GPCG's */
    kernest_solver solver; /* the one that ran: CGLS, FISTA or GPCG */
    int precond;           /* CGLS: 0 none, 1 jacobi, 2 mean (jacobi with the low-rank part) */
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

/* Validates the pairs, opens the backend opt asks for (one that can run opt's priors: under
 * device auto a CUDA backend without the prior operations is passed over for the CPU), checks
 * the memory a solve with opt needs before allocating it, sets the operator up and uploads b.
 * The backend comes from ctx when it keeps one for the same device, precision and threads, and
 * goes back to it on close (ctx may be NULL: a new backend, destroyed on close).
 * Close with kn_session_close (also after a failure). */
int kn_session_open(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                    size_t npairs, const kernest_options *opt, kernest_context *ctx);
void kn_session_close(kn_session *s);
/* A session on base's pairs with B replaced by one that leaves more pixels out (a
 * cross-validation fold: B with the fold's pixels NaN): it shares base's backend, set up once,
 * through a masked wrapper (backend/masked.h) instead of planning and transforming A again, so
 * the folds add no device memory but their data vectors. Close it before base. */
int kn_session_open_fold(kn_session *s, kn_session *base, const kernest_array *const *A,
                         const kernest_array *const *B, size_t npairs, const kernest_options *opt);

/* Wraps the backend a session opened (e.g. to spread the pairs over processes): *out takes
 * ownership of inner (and destroys it on failure). */
typedef int (*kn_backend_wrap)(void *ctx, kn_backend *inner, kn_backend **out);
/* The second half of kn_session_open for a caller that filled s->pb itself (s otherwise zeroed):
 * opens the backend, wraps it when wrap is not NULL, checks memory, sets up and uploads b. */
int kn_session_setup(kn_session *s, const kernest_options *opt, kn_backend_wrap wrap, void *ctx);

void kn_fit_free(kn_fit *fit);

/* The operator the solvers see for model over s (kn_model_backend_bg over s->be with keep and,
 * when bg, s's background): one of the last two built, refilled with model's values when it was
 * built for model's shape over s->be (a lowrank ALS alternates two shapes whose Φ only changes
 * values; a λ path solves one model again and again), else a new one that takes the place of the
 * older. A fold and the session it was opened on share the two. *sbe is s->be itself for pixel
 * with nothing held. The session owns it: valid until the next call (on s or a session sharing
 * its operators) or kn_session_close, never destroyed by the caller. */
int kn_session_operator(kn_session *s, const kn_model *model, const double *keep, int bg, kn_backend **sbe);
/* Destroys the operators s keeps, or shares with its folds or its base (memory for a larger
 * solve; kn_session_close does it too). */
void kn_session_drop_operators(kn_session *s);

/* 1 when opt's priors on model need a projection that GPCG solves exactly (bounds and held
 * entries; no --sum, TV, or ℓ1 that can act on a negative entry): where --solver auto runs FISTA
 * and GPCG, asked for by name, reaches the same minimiser. The automatic choice's final solve on
 * all the data after a window takes it there (select_reduce.c). */
int kn_session_gpcg_exact(const kernest_options *opt, const kn_model *model);

/* One solve on s of a model the caller built (any linear model: pixel, radial, harmonic, a
 * lowrank half-step with its held factor inside Φ; kn_session_solve in fit.h picks it from the
 * options). Takes *model (moved into fit->model; *model is zeroed, also on failure). opt's model
 * and order are not read; its priors, λ, tolerance, iteration cap and background are. x0, data
 * and shift as kn_session_solve_with (fit.h). */
int kn_session_solve_model(kn_session *s, const kernest_options *opt, kn_model *model, const double *x0,
                           const double *data, const double *shift, kn_fit *fit);

#endif
