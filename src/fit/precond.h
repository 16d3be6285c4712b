/* precond.h — internal: the diagonal (Jacobi) preconditioner of a CGLS solve, from the problem's
 * inputs alone (precond.c). */
#ifndef KN_PRECOND_H
#define KN_PRECOND_H

#include "backend/backend.h"
#include "model/kind.h"

/*
 * dinv (m->nx values) = 1 / diag(ΦᵀHᵀP H Φ + λ G): the inverse diagonal of the normal equations
 * of the model's unknowns, G the regulariser's Gram matrix on them (LᵀL for pixels, m->gram for
 * grad on a model's unknowns, I for ridge) and P the background's projection when
 * background is set (each group of B's pixels loses its mean). Computed without the operator:
 * for pixel tap j of the kernel (o, i), diag(HᵀH)_j = Σ over the samples of Σ A_c² over the
 * pixels of A that tap meets, a rectangle of A (every stride-th row and column), summed exactly
 * through a summed-area table; a plane with missing pixels of B counts its observed share of
 * that sum. The diagonal of Φᵀ D Φ is Σ_p Φ_pc² D_p (D carried through Φ: not diag(ΦᵀHᵀHΦ),
 * whose cross terms a mean of A dominates; that part CG resolves in a few iterations). When the
 * pairs are spread over MPI ranks (pb holds this rank's), be's host_sum adds the ranks' shares.
 * An unknown no datum and no prior reaches gets the scale of the largest diagonal.
 */
/* 1 when a CGLS solve of model m is preconditioned under the option p (auto: radial and lowrank's
 * half-steps, where it measured faster to the same accuracy; not pixels nor harmonic) */
int kn_precond_wanted(kernest_precond p, const kn_model *m);

int kn_precond_jacobi(kn_backend *be, const kn_problem *pb, const kn_model *m, kernest_reg reg,
                      double lambda, int background, double *dinv);

#endif
