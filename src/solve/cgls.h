/* cgls.h — internal: CGLS for the quadratic priors (cgls.c). */
#ifndef KN_CGLS_H
#define KN_CGLS_H

#include "solver.h"

/* Number of backend vectors of each space kn_cgls allocates (for the memory estimate), the
 * preconditioner's M⁻¹ included when precond is set. */
void kn_cgls_vectors(kernest_reg reg, int precond, size_t *kernel_vecs, size_t *data_vecs);

/* CGLS for min ½‖H x − b‖² + ½λ‖L x‖², starting from x (updated in place), preconditioned when
 * prm->precond is set. The operator must be
 * set up. Not converging is a result (res->reason), not an error. */
int kn_cgls(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, kn_vec *x,
            kn_solve_result *res);

#endif
