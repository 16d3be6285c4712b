/* precond.h — internal: CGLS's preconditioners from the problem's inputs alone: the diagonal
 * (Jacobi; precond.c) and, for the radial model, that diagonal on A less its mean plus the mean's
 * share as a low-rank part (--precond mean; precond_mean.c). */
#ifndef KN_PRECOND_H
#define KN_PRECOND_H

#include "backend/backend.h"
#include "backend/problem.h"
#include "kernest.h"
#include "model/kind.h"
#include "solve/solver.h"

/*
 * dinv (m->nx values) = 1 / diag(ΦᵀHᵀP H Φ + λ G): the inverse diagonal of the normal equations
 * of the model's unknowns, G the regulariser's Gram matrix on them (LᵀL for pixels, m->gram for
 * grad on a model's unknowns, I for ridge) and P the background's projection when
 * background is set (each group of B's pixels loses its mean). Computed without the operator:
 * for pixel tap j of the kernel (o, i), diag(HᵀH)_j = Σ over the samples of Σ A_c² over the
 * pixels of A that tap meets, a rectangle of A (every stride-th row and column), summed exactly
 * through a summed-area table; a plane with missing pixels of B counts its observed share of
 * that sum. The diagonal of Φᵀ D Φ is Σ_p Φ_pc² D_p (D carried through Φ: not diag(ΦᵀHᵀHΦ),
 * whose cross terms a mean of A dominates: --precond mean keeps that part as a matrix, below).
 * When the pairs are spread over MPI ranks (pb holds this rank's), be's host_sum adds the ranks' shares.
 * An unknown no datum and no prior reaches gets the scale of the largest diagonal.
 */
/* The preconditioner a CGLS solve of model m runs under the option p: auto is mean for radial
 * with a kernel of at least KN_PRECOND_MEAN_AUTO_PIXELS (jacobi below), jacobi for lowrank's
 * half-steps, none for pixels and harmonic (where Jacobi measured slower to the same accuracy);
 * mean where it does not apply (kn_precond_mean_applies) is jacobi. */
/* Below this many kernel pixels mean's construction (64 applications of its low-rank part) and
 * its 128 vector operations an iteration cost more than the iterations it saves: on the
 * original question's problem (bench/results/precond-mean.txt, medians of 5) the two commands
 * took the same time at N = 384 (a 767² kernel), mean 9 % longer at N = 256 and 27 % shorter at
 * N = 512, 1.8× at 1024 and 2048. */
enum { KN_PRECOND_MEAN_AUTO_PIXELS = 1 << 19 };
kernest_precond kn_precond_kind(kernest_precond p, const kn_problem *pb, const kn_model *m, int background);
/* 1 when the mean part is built: the radial model (on harmonic:2 it measured no better than none),
 * one kernel, one channel, no background (whose projection takes A's mean out already) */
int kn_precond_mean_applies(const kn_problem *pb, const kn_model *m, int background);

int kn_precond_jacobi(kn_backend *be, const kn_problem *pb, const kn_model *m, kernest_reg reg,
                      double lambda, int background, double *dinv);

/*
 * --precond mean: M = D' + S with S = Φᵀ EᵀE Φ the normal equations' share of A's mean (E is H
 * with each pair's A replaced by its mean μ: a box sum of the kernel per output pixel, computed
 * by summed-area tables, no transform) and D' the Jacobi diagonal of A − μ (the fluctuations,
 * whose Gram matrix a white A makes diagonal) plus the prior's. With the full A's diagonal alone
 * (jacobi) the mean's cross terms are left to CG, and on a (2N−1)² kernel they are most of its
 * iterations. S is approximated by a Nyström sketch of rank k in its stable form (Tropp,
 * Yurtsever, Udell & Cevher 2017, Algorithm 3): Y = S Ω (k applications of S, Ω a fixed-seed
 * Gaussian nx×k made orthonormal), Y_ν = Y + νΩ with ν at Y's rounding, B = Y_ν L⁻ᵀ for
 * ΩᵀY_ν = L Lᵀ, and from the eigendecomposition of BᵀB, S ≈ U Λ Uᵀ with U orthonormal and
 * Λ = Σ² − ν (components below 10⁻⁶ of D' dropped). M⁻¹ is applied by the Woodbury identity:
 * M⁻¹ s = D'⁻¹ s − W C (Wᵀ s), W = D'⁻¹ U, C = (Λ⁻¹ + UᵀW)⁻¹.
 */
enum { KN_PRECOND_MEAN_RANK = 64 };
_Static_assert((int)KN_PRECOND_MEAN_RANK <= (int)KN_PRECOND_LR_MAX, "the solver's low-rank correction holds the rank");

typedef struct kn_precond_host {
    double *dinv; /* nx values: D⁻¹ (D' for mean) */
    size_t k;     /* columns of w; 0: the diagonal alone */
    double *w;    /* k columns of nx values, one after the other */
    double *cinv; /* k×k, row-major */
} kn_precond_host;

/* Builds the preconditioner kind (jacobi or mean: kn_precond_kind's) into h (free with
 * kn_precond_host_free, also after a failure). */
int kn_precond_build(kn_backend *be, const kn_problem *pb, const kn_model *m, kernest_reg reg, double lambda,
                     int background, kernest_precond kind, kn_precond_host *h);
void kn_precond_host_free(kn_precond_host *h);

/* The mean part of h (h->dinv set: D'⁻¹) at rank at most `rank` (and nx), mu each pair's mean
 * of A (precond_mean.c). Leaves h->k = 0 when the sketch is not positive definite. */
int kn_precond_mean(kn_backend *be, const kn_problem *pb, const kn_model *m, const double *mu, size_t rank,
                    kn_precond_host *h);

/* Output rows [lo, hi] that tap t of a kernel reaches in one dimension: output y of [0, nb) reads
 * row r0 + y·s − t·d of A (length na); 0 when it reaches none. */
int kn_tap_outputs(size_t t, size_t r0, size_t nb, size_t s, size_t d, size_t na, size_t *lo, size_t *hi);

#endif
