/* fista.h — internal: FISTA with adaptive restart for quadratic misfit + regulariser + prox term,
 * written once against the backend table like kn_cgls. */
#ifndef KN_FISTA_H
#define KN_FISTA_H

#include "prox.h"
#include "solver.h"

typedef struct kn_fista_info {
    double lipschitz;     /* L of the step 1/L: 1.05 × the power-iteration estimate, raised by any
                             backtracking; with the rank-one metric, the rest's (M = L(I + δvvᵀ)) */
    int power_iterations; /* spent on the estimates (each one H and one Hᵀ) */
    double metric_ratio;  /* λ₁/λ₂ where the step ran in the rank-one metric (fista_metric.h); 0
                             where it ran in L·I */
    int restarts;         /* momentum restarts (gradient test) */
    int backtracks;       /* steps redone because L was too small */
} kn_fista_info;

/* Number of backend vectors of each space kn_fista allocates (for the memory estimate). */
void kn_fista_vectors(kernest_reg reg, size_t *kernel_vecs, size_t *data_vecs);

/* min ½‖H x − b‖² + ½λ‖L x‖² + g(x), g given by prox (NULL: g = 0), starting from x (updated in
 * place), in the metric L·I or, where the Gram matrix has one outlying eigenvalue, the rank-one
 * metric M of fista_metric.h. Stops when the gradient mapping ‖M(y_t − x_{t+1})‖ relative to
 * ‖Hᵀb + shift‖ (the gradient at x = 0, whatever the start) and the relative change
 * ‖x_{t+1} − x_t‖ / ‖x_t‖ are both at most tol (or the working precision's resolution,
 * kn_precision_eps; res->history holds the larger of the two), or after maxiter iterations. The
 * operator must be set up. Not converging is a result. */
int kn_fista(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, kn_prox *prox,
             kn_vec *x, kn_solve_result *res, kn_fista_info *info);

#endif
