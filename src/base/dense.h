/* dense.h — internal: small dense linear algebra on the host (a few dozen columns): the
 * orthonormalisation, Cholesky factor and symmetric eigendecomposition that the lowrank model's
 * subspace iteration and the preconditioner's Nyström sketch need (and the tests' direct solves). Matrices are row-major k×k;
 * column sets are columns of len values one after the other. */
#ifndef KN_DENSE_H
#define KN_DENSE_H

#include <stddef.h>

/* Column k of Q (len values each) ← itself minus its projections on columns 0..k−1 (assumed
 * orthonormal), twice (Kahan: twice is enough), then normalised; returns its norm before the
 * normalisation (0: it lay in their span, and is left 0). */
double kn_dense_orthonormalise(double *Q, size_t len, size_t k);

/* The lower Cholesky factor L of the symmetric positive definite a (k×k), in place (the upper
 * triangle is left as it was); 0 when a is not numerically positive definite, 1 otherwise. */
int kn_dense_cholesky(double *a, size_t k);

/* y ← (L Lᵀ)⁻¹ y from the Cholesky factor L (k×k): two triangular solves in place. */
void kn_dense_cholesky_solve(const double *L, size_t k, double *y);

/* inv = (L Lᵀ)⁻¹ from the Cholesky factor L (k×k), a column at a time; col: k values of work. */
void kn_dense_cholesky_inverse(const double *L, size_t k, double *inv, double *col);

/* The eigenvalues ev (k) and eigenvectors V (column j for ev[j], k×k) of the symmetric a (k×k,
 * destroyed), by cyclic Jacobi rotations until the off-diagonal is 10⁻¹⁵ of the whole (at most
 * 60 sweeps). Unsorted. */
void kn_dense_sym_eigen(double *a, size_t k, double *ev, double *V);

#endif
