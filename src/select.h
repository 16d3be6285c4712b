/* select.h — internal: choosing λ and the model from the data on one session (λ paths, the
 * rules cv / gcv / discrepancy / lcurve, the candidate table), and the uncertainty maps. */
#ifndef KN_SELECT_H
#define KN_SELECT_H

#include "session.h"
#include "synth.h"

/* The most solver runs the automatic choice may spend, its final solve included. */
enum { KN_SELECT_BUDGET = 15 };

/* One candidate of --model auto: a model and the priors set on top of the user's options, whose
 * λ the search then chooses. Adding a candidate is one line in kn_candidates (select_models.c);
 * tweak (may be NULL) sets any further option field the model needs (e.g. an order M). */
typedef struct kn_candidate_spec {
    const char *name;
    kernest_model model;
    kernest_reg reg;
    int nonneg;
    void (*tweak)(kernest_options *opt);
    /* the coarse λ grid's points it gets when the budget is short (bits 1, 2, 4: λ₀·10, λ₀/10,
     * λ₀/1000; 0: all three) */
    int grid;
    /* lowrank: 1 = start each fold's fit from the factors of the best kernel so far (the leading
     * candidate's), 0 = from a short pixel estimate (kn_lowrank_solve) */
    int from_best;
} kn_candidate_spec;

extern const kn_candidate_spec kn_candidates[];
extern const size_t kn_ncandidates;

/* What kn_select found. */
typedef struct kn_selection {
    kernest_options opt;           /* the chosen options (model, priors, λ); auto flags cleared */
    kn_fit fit;                    /* the final solve on all the data with opt */
    kernest_candidate *cands;      /* ncands entries (malloc'd) */
    size_t ncands, chosen;
    kernest_path_point *path;      /* npath entries (malloc'd) */
    size_t npath;
    char rule[40];                 /* e.g. "cv:5 (1 fold scored)" */
    double sigma;                  /* σ given or estimated (0 when the rule needed none) */
    int sigma_estimated;
    int solves;                    /* solver runs, final included (<= KN_SELECT_BUDGET; one more
                                      when the choice ran on a window: the full final solve) */
    long iterations;
    /* the cost by phase, in operator applications (op_apply + op_adjoint calls on every backend
     * involved, counted by the backends) and seconds: prepare (the reduced problem's far field,
     * select_reduce.c), select (the candidates and λ paths), final (the final solve) */
    long apps_prepare, apps_select, apps_final;
    double secs_prepare, secs_select, secs_final;
    size_t window, window_kernel;  /* reduced problem: B's window side and its kernel's (0: none) */
    double window_grid_fraction;   /* the window's FFT grid area over the full problem's: what one
                                      application on the window costs in full ones (transforms) */
} kn_selection;

/* Chooses λ (opt->auto_lambda) and the model (opt->auto_model) on session s, opened on the
 * pairs (A, B) with opt; cv opens one more session per scored fold on copies of B with the
 * held-out pixels set to NaN. Fills *sel (free with kn_selection_free, also after a failure). */
int kn_select(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
              size_t npairs, const kernest_options *opt, kn_selection *sel);
void kn_selection_free(kn_selection *sel);
/* The options to open the session with: under --model auto, priors that make the backend able
 * to run every candidate (and the memory check cover them). */
void kn_select_open_options(const kernest_options *opt, kernest_options *out);

/* Hutchinson estimate of tr(H_λ), H_λ = H (HᵀH + λLᵀL)⁻¹ Hᵀ on the observed pixels, with
 * nprobe Rademacher probes z (±1 on observed pixels, 0 elsewhere; drawn from seed): the mean
 * of zᵀ H x_z where x_z solves the problem with data z (one solve per probe, warm-started from
 * xs[p] when xs and xs[p] are not NULL; the solutions are stored back there when xs[p] is
 * allocated). opt must give a linear fit (CGLS); lowrank is linearised at x_lin (its fit's x;
 * kn_session_solve_linearised), NULL otherwise. *t receives the estimate, tp (may be NULL) the
 * per-probe values; *iters (may be NULL) accumulates iterations. */
int kn_trace_hutchinson(kn_session *s, const kernest_options *opt, const double *x_lin, int nprobe,
                        unsigned long long seed, double **xs, double *t, double *tp, long *iters);

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
 * kn_session_solve_linearised). std gets kh*kw values; *solves the solver runs. */
int kn_posterior_std(kn_session *s, const kernest_options *opt, const double *x_hat, double sigma,
                     int nsamp, unsigned long long seed, double *std, int *solves);

#endif
