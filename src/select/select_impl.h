/* select_impl.h — internal to select*.c: the state of a λ search (one candidate, the folds)
 * and the pieces the rules share. */
#ifndef KN_SELECT_IMPL_H
#define KN_SELECT_IMPL_H

#include "select.h"

/* MAX_FOLDS: the most folds scored (the finalists', every fold of cv:K up to K = 10);
 * BUDGET_FOLDS: the most each λ point is scored on within KN_SELECT_BUDGET */
enum { MAX_FOLDS = 10, BUDGET_FOLDS = 3, MAX_POINTS = 128, BLOCKS = 4, GRID_ALL = 7 };
/* Each plane of B is cut into TILES×TILES tiles (2×2 per fold block) for the paired comparison of
 * two candidates' held-out errors: a tile's sum is one batch mean (nearby pixels' errors are
 * correlated, so per-pixel errors would understate the spread). */
enum { TILES = 2 * BLOCKS };
#define PATH_TOL 1e-4 /* path solves stop earlier than the final one: scores need no more */
/* A lowrank candidate is scored after at most this many ALS sweeps (from the pixel fit's leading
 * factors, or @best's start); the final solve runs --outer-maxiter. On bench/auto_only.py's ten
 * cases (bench/results/lowrank-sweeps-auto-only.txt) the same families are chosen, the held-out
 * error moves by at most 0.7 % (the Gabor case), and the choice costs 2.5–3× fewer iterations:
 * 30 sweeps of half-steps to the path tolerance were most of it. */
enum { LOWRANK_PATH_SWEEPS = 5 };
/* Its half-steps keep the path tolerance: stopping them at 1e-2 chose the same on the ten cases
 * for 4–30 % fewer iterations, but on the wide-wing fractal case chose lowrank:2 (10σ held-out,
 * radial+grad 1.00×): inexact fits scored an estimator the final solve does not deliver
 * (bench/results/lowrank-path-tol-trial.txt). */
#define TIE 0.005     /* scores within 0.5 % count as equal: the larger λ is preferred */

/* One candidate's search state. */
struct sel_hybrid;

typedef struct cand {
    kernest_options opt; /* the candidate's options; lambda varies along the path */
    size_t index;        /* into sel->cands */
    double t0;           /* log10 of the natural scale of λ (see lambda_scale) */
    size_t nx;
    double *xw[MAX_FOLDS]; /* last solution per fold (cv) or on all data ([0]), warm starts */
    double *xp[8];       /* last solution per probe (gcv) */
    double *best_x;      /* the solution at the best λ so far (all data, or fold 0 for cv) */
    double best_score, best_t;
    double t[MAX_POINTS], f[MAX_POINTS]; /* evaluated log10 λ and scores, in order */
    size_t np;
    int vary_l1;         /* 1: the path varies the ℓ1 weight (λ fixed) instead of λ */
    int grid;            /* coarse grid points (kn_candidate_spec.grid; GRID_ALL when not given) */
    int from_best;       /* kn_candidate_spec.from_best */
    int nscored;         /* cv: the folds its last point was scored on */
    struct sel_hybrid *hy; /* cv: the λ path's Krylov subspaces (select_hybrid.c); NULL: none */
    int no_hybrid;       /* 1: the path solves (its prior has no square root, or memory) */
    double *tiles;       /* cv: per evaluated point (in the order of t), the held-out squared
                            errors summed per tile (ctx.ntiles each): the paired comparison of
                            candidates (sel_simplest_equivalent) */
} cand;

/* sel_eval_cv: the first `folds` folds' held-out errors taken as they were scored (a finalist's
 * point at its λ: the fit the path scored, not solved again), the other folds solved */
typedef struct fold_carry {
    int folds;
    double rss;          /* the fits' residuals, summed over them */
    size_t cnt;          /* their held-out pixels */
    const double *tiles; /* ntiles: their held-out squared errors per tile (their sum: the sse) */
} fold_carry;

typedef struct ctx {
    kn_session *s;
    kn_selection *sel;
    const kernest_options *user;
    double tol;          /* path tolerance */
    int nfold;           /* folds each λ point is scored on (cv) */
    int nopen;           /* folds with a session (>= nfold): the finalists are scored on all
                            of them (sel_run_cv) */
    kn_session fold[MAX_FOLDS];
    kernest_array **fold_B[MAX_FOLDS]; /* the B arrays each fold's session borrows (npairs each) */
    size_t npairs;
    unsigned char *fold_of; /* m entries: fold of each observed pixel, 255 unobserved */
    unsigned *tile_of;   /* m entries: the tile of each pixel (TILES² per sample and channel) */
    size_t ntiles;
    double *tile_sse;    /* ntiles scratch: one evaluation's held-out squared errors per tile */
    double *hk;          /* m scratch: H K on all pixels */
    kn_vec *kv, *dv;     /* on s->be: a kernel and a data vector */
    int interrupted;     /* a solve was interrupted (the progress callback asked to stop): no
                            further λ is scored, and the final solve says so */
    fold_carry carry;    /* sel_eval_cv's folds already scored (finalists); zeroed: none */
    struct cand *cands;  /* sel_run_cv's candidates (ncands): their Krylov subspaces share a budget */
    size_t ncands;
    double trail_bar;    /* sel_run_cv: a capped fit scoring above it ends its candidate's λ
                            path (sel_search_min); 0: none */
    kn_session *held;    /* B's held windows (kn_select_confirmed), or NULL */
    long held_apps;      /* operator applications on held's backend */
} ctx;


typedef int (*eval_fn)(ctx *c, cand *cd, double lam, double *score);

/* select_path.c: bookkeeping, scales, and the search along log λ */
/* counts a solve (and on candidate k when not NULL: its solves, and those stopped at a cap) */
void sel_count(ctx *c, const kn_fit *f, kernest_candidate *k);
long sel_applications(const ctx *c); /* operator applications so far on s and the fold sessions */
int sel_add_point(ctx *c, size_t cand_index, double lam, double l1, double score, double rss,
                  double aux, int iters);
double sel_rss_of(const kn_session *s, const double *hx);  /* ‖H x − b‖² on observed pixels */
size_t sel_observed(const kn_session *s);                    /* observed pixels m */
void sel_observed_mask(const kn_session *s, unsigned char *mask);
int sel_keep_x(double **dst, const kn_fit *f);               /* copy f->x (allocated once) */
/* Of nc candidates (cds[best] the lowest-scoring), the lowest-scoring whose minimum along log λ is
 * not bracketed (its best λ the smallest or largest it has evaluated) and whose score is within 25 %
 * of the best or fell, from its point next to that edge to the edge, by at least the factor it
 * trails the best by; -1 when none. */
int sel_unbracketed_contender(const cand *cds, size_t nc, size_t best);
const double *sel_start(const kernest_options *op, const double *x); /* warm start or NULL */
int sel_lambda_scale(kn_session *s, const kernest_options *opt, unsigned long long seed, double *lam0);
int sel_l1_scale(kn_session *s, const kernest_options *opt, double *out);
int sel_prior_norm(kn_session *s, const kernest_options *opt, const kn_fit *f, double *out);
double sel_grid_t(const cand *cd, int i); /* log10 λ of the coarse grid's point i: t0 + 1 − 2i */
int sel_search_min(ctx *c, cand *cd, eval_fn fn, int npts, int grid);
int sel_search_grid(ctx *c, cand *cd, eval_fn fn, double hi, double lo, double step, int nrefine);
int sel_grid_points(int grid);                               /* the points a grid mask holds */
void sel_cand_done(ctx *c, cand *cd);
/* cd's chosen point (best_t) scored again (a finalist on every fold, a finished contender): the
 * point appended with score, which becomes cd's, and the applications and seconds since (a, t)
 * charged to it */
void sel_rescored(ctx *c, cand *cd, double score, long a, double t);
void sel_cand_free(cand *cd);

/* select_rules.c: the scores and the rules */
int sel_eval_cv(ctx *c, cand *cd, double lam, double *score);
/* a cv point's record from its held-out errors (sse over cnt pixels, per tile in c->tile_sse)
 * and its fits' residuals: the score, the tiles, fold 0's fit as best_x when best, the path */
int sel_record_cv(ctx *c, cand *cd, double lam, double l1, double sse, size_t cnt, double rss, int iters,
                  double *score);
int sel_run_cv(ctx *c, cand *cds, size_t nc);
size_t sel_simplest_equivalent(const ctx *c, const cand *cds, size_t nc, size_t best);
int sel_run_gcv(ctx *c, cand *cd, int npts);
int sel_run_discrepancy(ctx *c, cand *cd);
int sel_run_lcurve(ctx *c, cand *cd);

/* select_confirm.c: the choice checked on B's held windows (c->held; kn_select calls it for a
 * choice with capped fits). Every candidate whose cv score is within KN_CONFIRM_BAND × the chosen
 * one's predicts the held windows with its fit on the first fold at its λ (held_score; one
 * application of H each, no solve), and the lowest prediction error is chosen. */
int sel_confirm(ctx *c, cand *cds, size_t nc);
/* select_confirm.c: on a window (c->held), every other candidate within KN_CONFIRM_BAND × the cv
 * choice's score whose FISTA fits stopped at --maxiter is scored again at its λ on the choice's
 * folds with the final solve's cap (kn_final_maxiter; its fits start from zero, as FISTA's do),
 * and the lowest score of the choice and those is chosen. Lowrank's sweep cap is left as it is
 * (bench/results/far-field-trial.txt, section 3). */
int sel_finish_capped(ctx *c, cand *cds, size_t nc);

/* select_hybrid.c: a linear candidate's cv path in Krylov subspaces */
int sel_hybrid_ready(ctx *c, cand *cd, int *ready); /* *ready: cd's path runs in subspaces */
int sel_eval_path(ctx *c, cand *cd, double lam, double *score); /* a λ path's point (cv), either way */
void sel_hybrid_free(struct sel_hybrid **h);

#endif
