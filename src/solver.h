/* solver.h — internal: solvers written once against the backend table. */
#ifndef KN_SOLVER_H
#define KN_SOLVER_H

#include "backend.h"

/* Solvers run their steps as TRY(o->op_apply(...)): on a failure the status is kept in the
 * caller's `st` and control goes to its `done:` clean-up. */
#define TRY(call)               \
    do {                        \
        if ((st = (call)) != 0) \
            goto done;          \
    } while (0)

typedef struct kn_solve_params {
    kernest_reg reg; /* quadratic regulariser ½λ‖Lk‖² */
    double lambda;   /* >= 0 */
    double tol;      /* stop when ‖s_k‖ / ‖s_0‖ <= tol (s = normal-equation residual) */
    int maxiter;     /* >= 0 */
    const kn_vec *shift; /* NULL, or g: solve min ½‖Hx − b‖² + ½λ‖Lx‖² − ⟨g, x⟩ (a kernel-space
                            right-hand side; randomize-then-optimize samples use it) */
} kn_solve_params;

typedef struct kn_solve_result {
    kernest_stop_reason reason;
    int iterations;
    double *history; /* iterations+1 values of ‖s_k‖/‖s_0‖ (malloc'd, caller frees) */
} kn_solve_result;

/* Number of backend vectors of each space kn_cgls allocates (for the memory estimate). */
void kn_cgls_vectors(kernest_reg reg, size_t *kernel_vecs, size_t *data_vecs);

/* CGLS for min ½‖H x − b‖² + ½λ‖L x‖², starting from x (updated in place). The operator must be
 * set up. Not converging is a result (res->reason), not an error. */
int kn_cgls(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, kn_vec *x,
            kn_solve_result *res);

#endif
