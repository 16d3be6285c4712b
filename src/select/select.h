/* select.h — the select layer's index: choosing λ and the model from the data on one session (λ
 * paths, the rules cv / gcv / discrepancy / lcurve, the candidate table); the trace estimator
 * (trace.h) and the uncertainty maps (uncertainty.h) it includes. */
#ifndef KN_SELECT_H
#define KN_SELECT_H

#include "fit/fit.h"
#include "trace.h"
#include "uncertainty.h"

/* The most solver runs the automatic choice may spend, its final solve included. */
enum { KN_SELECT_BUDGET = 15 };

/* The iteration cap of the final solve on all the data after a choice made on a window
 * (select_reduce.c): ten times --maxiter, which caps each solve on the window. The window's
 * solves and the final one are different problems (a 127² kernel against the full one), so the
 * same cap is not the same estimator: a non-negative FISTA solve of a 511² PSF needs 700-1400
 * iterations, and capped at 500 the default command's estimate stopped at 2.8σ held-out where
 * converged it reaches 1.09σ (bench/results/wide-wing.json). Without a window the final solve
 * keeps --maxiter: it is then the very estimator the λ path scored (letting it, or every solve,
 * run to 10× took the benchmark's anisotropic exponential from 1.68σ to 1.78σ or 1.90σ). */
static inline int kn_final_maxiter(int maxiter)
{
    return maxiter > 0x7fffffff / 10 ? 0x7fffffff : 10 * maxiter;
}

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
/* The quick solve that measured a reduced problem's far field, and what was done with it */
typedef struct kn_far_field {
    kernest_model model;       /* the quick solve's model: pixel, or radial on a textured A */
    int iterations, converged; /* the quick solve's iterations; 1 when it converged */
    int subtracted;            /* 1: the far field was subtracted from B's windows */
    double box_spread;         /* the largest kn_box_spread of the pairs' A at the window's kernel */
    double fluctuation;        /* the largest over the pairs of the far field's standard deviation over
                                  B's central window / |its mean| there (INFINITY: a zero mean) */
} kn_far_field;

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
    int solves;                    /* solver runs, final included (<= KN_SELECT_BUDGET, and the
                                      finalists' K folds; on a window the full final solve too) */
    long iterations;
    /* the cost by phase, in operator applications (op_apply + op_adjoint calls on every backend
     * involved, counted by the backends) and seconds: prepare (the reduced problem's far field,
     * select_reduce.c), select (the candidates and λ paths), final (the final solve) */
    long apps_prepare, apps_select, apps_final;
    double secs_prepare, secs_select, secs_final;
    size_t window, window_kernel;  /* reduced problem: B's window side and its kernel's (0: none) */
    double window_grid_fraction;   /* the window's FFT grid area over the full problem's: what one
                                      application on the window costs in full ones (transforms) */
    kn_far_field far;              /* reduced problem: its far field */
} kn_selection;

/* The paired difference Σ_t (a_t − b_t) of two candidates' held-out squared errors summed per
 * tile (the same held-out pixels in each; a tile where both are 0 holds none) and its standard
 * error, √(T · s²) over the T tiles with s² their differences' sample variance (tiles as batch
 * means). Returns 1 (and sets nothing) with fewer than 2 tiles. The model choice keeps a candidate
 * with fewer unknowns than the best-scoring one when the difference is at most one standard error
 * (select_rules.c, sel_simplest_equivalent). */
int kn_paired_difference(const double *a, const double *b, size_t n, double *diff, double *se);

/* Chooses λ (opt->auto_lambda) and the model (opt->auto_model) on session s, opened on the
 * pairs (A, B) with opt; cv opens one more session per fold on copies of B with the held-out
 * pixels set to NaN (all on s's backend). Under --model auto with cv:K the λ paths are scored on
 * one fold within the budget, then the finalists (candidates within 25 % of the best score) again
 * at their λ on every fold (K up to 10; successive halving on the folds), and the model is chosen
 * on those scores: beyond the budget, at most one solver run per candidate and fold; the rule
 * reads "cv:K (K folds, finalists)". Fills *sel (free with kn_selection_free, also after a
 * failure). */
int kn_select(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
              size_t npairs, const kernest_options *opt, kn_selection *sel);
/* The band of cv scores, relative to the cv choice's, of the candidates whose capped fits are
 * weighed on a window (sel_finish_capped, sel_confirm). The held windows: on a 1/f² (fractal) A
 * at N = 512 the window's cv preferred lowrank:2+grad@best (capped fits) to radial+grad by 1.35× in
 * score, and its final solve did not finish in 15 min (30σ held-out when stopped) where radial's
 * gives 1.02σ; the held windows rank them the other way (bench/results/held-windows-trial.txt).
 * The held windows carry the far field's error too, so they are no unbiased judge: a band of 3
 * overturned right choices (the wide-wing fractal case chose pixel+nonneg+grad at 1.86σ against
 * radial's 1.41σ; an anisotropic 1/r at N = 256 radial+grad at 15.5σ against harmonic:2's 1.04σ,
 * 1.56× behind it on the window). */
#define KN_CONFIRM_BAND 1.5

/* kn_select, with capped fits weighed when held is not NULL (cv under --model auto, a choice made
 * on a window whose final solve runs to kn_final_maxiter): first every other candidate within
 * KN_CONFIRM_BAND × the cv choice's score whose FISTA fits stopped at --maxiter is scored again with
 * that cap (its finished flag), and the lowest score is chosen; then the choice is checked on held:
 * a session on other pairs with the same kernel shape (one channel), none of whose B pixels the
 * fits see (select_reduce.c: windows of B away from the one the choice runs on). When the
 * choice's score comes from fits that stopped at a cap (its capped count > 0), each candidate
 * within KN_CONFIRM_BAND × its score predicts held's B with its fit on the first fold at its λ,
 * and the lowest mean squared error there (each candidate's held_score; with --background less
 * each held pair's mean residual) is chosen before the final solve (select_confirm.c). */
int kn_select_confirmed(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                        size_t npairs, const kernest_options *opt, kn_session *held, kn_selection *sel);
void kn_selection_free(kn_selection *sel);
/* The options to open the session with: under --model auto, priors that make the backend able
 * to run every candidate (and the memory check cover them). */
void kn_select_open_options(const kernest_options *opt, kernest_options *out);

#endif
