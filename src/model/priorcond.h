/* priorcond.h — internal: a square root of the inverse of a model's prior, S with
 * Sᵀ (G + δI) S = I, G the Gram matrix of the quadratic regulariser on the model's unknowns
 * (priorcond.c). With x = S z the prior ½λ xᵀ(G + δI) x becomes ½λ‖z‖²: a Krylov method on
 * H Φ S then works in the prior's own geometry (priorconditioning; Calvetti & Somersalo), and
 * its subspace reaches the smooth kernels the prior prefers instead of staying in the range of
 * Hᵀ. Applied on the host, one kernel's block at a time (G is block-diagonal over the kernels):
 *  - pixel with grad: G is the graph Laplacian of the kh×kw grid (kn_backend_ops.reg_gram, first
 *    differences inside the kernel), diagonal in the DCT-II basis; S = C diag((μ + δ)^−½) Cᵀ
 *    with FFTW's REDFT10/REDFT01 (S is symmetric);
 *  - radial, harmonic with grad: G is the model's own gram (kind.h), dense on one block of at
 *    most KN_PRIORCOND_DENSE unknowns; S = L⁻ᵀ with G + δI = L Lᵀ (Cholesky);
 *  - ridge: G = I, S = I (δ unused).
 * δ = KN_PRIORCOND_DELTA × G's mean diagonal: the prior's null space (a constant kernel under
 * grad) is all but unpenalised, as it is in the solve. */
#ifndef KN_PRIORCOND_H
#define KN_PRIORCOND_H

#include "kind.h"

enum { KN_PRIORCOND_DENSE = 2048 };
#define KN_PRIORCOND_DELTA 1e-8

typedef struct kn_priorcond kn_priorcond;

/* S for m's unknowns under reg, or KERNEST_E_UNSUPPORTED (nothing set, no error message kept)
 * for a pair it has none for: lowrank, reg none or l1-like, a dense block over the limit. m is
 * read during the call only. */
int kn_priorcond_create(const kn_model *m, kernest_reg reg, kn_priorcond **out);
/* v (m->nx host values) = S v, Sᵀ v, or S⁻ᵀ v (= (G + δI) S v: what turns a gradient in z = S⁻¹x
 * into one in x). */
typedef enum { KN_PC_S, KN_PC_ST, KN_PC_INV_T } kn_pc_op;
void kn_priorcond_apply(const kn_priorcond *p, kn_pc_op op, double *v);
void kn_priorcond_destroy(kn_priorcond **p); /* NULL allowed; sets *p = NULL */

#endif
