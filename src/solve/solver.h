/* solver.h — internal: what every solver shares (cgls.h, fista.h): the parameters, the
 * per-iteration hooks, the result, and the TRY clean-up idiom. Solvers are written once against
 * the backend table. */
#ifndef KN_SOLVER_H
#define KN_SOLVER_H

#include <float.h>

#include "backend/backend.h"
#include "solver_state.h"

/* Solvers run their steps as TRY(o->op_apply(...)): on a failure the status is kept in the
 * caller's `st` and control goes to its `done:` clean-up. */
#define TRY(call)               \
    do {                        \
        if ((st = (call)) != 0) \
            goto done;          \
    } while (0)

/* Per-iteration hooks, one mechanism for every solver. */
enum { KN_HOOK_STOP = 1, KN_HOOK_SAVE = 2 };
typedef struct kn_solve_hooks {
    /* After iteration k (1, 2, ...; the iteration is complete and the state consistent), with
     * history[k] and the seconds since this call's iterations began. Returns KN_HOOK_* flags:
     * STOP ends the solve with reason KERNEST_STOP_INTERRUPTED, SAVE asks for save(). Called
     * on the converging iteration too (flags ignored then). NULL: none. */
    int (*after)(void *user, int k, double residual, double elapsed);
    /* Receives the solver's state when after() returns SAVE; a failure ends the solve with its
     * status. The state is the solver's; save must not keep pointers into it. */
    int (*save)(void *user, const kn_solver_state *st);
    void *user;
    /* Continue from this state instead of starting afresh (NULL: start afresh; x is then the
     * starting point). Borrowed. */
    const kn_solver_state *resume;
} kn_solve_hooks;

/* A low-rank correction of a diagonal preconditioner: M⁻¹ s = D⁻¹ s − Σ_ij w_i cinv_ij ⟨w_j, s⟩
 * (the Woodbury form of M = D + a rank-k positive part; fit/precond.h builds it) */
enum { KN_PRECOND_LR_MAX = 64 };
typedef struct kn_precond_lr {
    size_t k;              /* at most KN_PRECOND_LR_MAX */
    kn_vec *const *w;      /* k kernel-space vectors */
    const double *cinv;    /* k×k, row-major, symmetric */
} kn_precond_lr;

typedef struct kn_solve_params {
    kernest_reg reg; /* quadratic regulariser ½λ‖Lk‖² */
    double lambda;   /* >= 0 */
    double tol;      /* stop when ‖s_k‖ / ‖s_0‖ <= tol (s = normal-equation residual; in the M⁻¹
                        norm when preconditioned) */
    int maxiter;     /* >= 0 */
    const kn_solve_hooks *hooks; /* NULL: none */
    const kn_vec *shift; /* NULL, or g: solve min ½‖Hx − b‖² + ½λ‖Lx‖² − ⟨g, x⟩ (a kernel-space
                            right-hand side; randomize-then-optimize samples use it) */
    const kn_vec *precond; /* CGLS: NULL, or M⁻¹, the inverse of a positive diagonal M of the
                              normal equations (kernel space): preconditioned CGLS, which then
                              measures s in the M⁻¹ norm (tol and history too) */
    const struct kn_precond_lr *precond_lr; /* CGLS with precond: NULL, or a low-rank correction
                                              of M⁻¹ (above) */
} kn_solve_params;

/* 10ε of the backend's working precision: the resolution the solvers' precision floors use */
static inline double kn_precision_eps(const kn_backend *be)
{
    return 10.0 * (be->precision == KERNEST_SINGLE ? FLT_EPSILON : DBL_EPSILON);
}

/* What the hooks ask after iteration k (0 when there are none). */
static inline int kn_hooks_after(const kn_solve_params *prm, int k, double residual, double elapsed)
{
    const kn_solve_hooks *h = prm->hooks;
    return h && h->after ? h->after(h->user, k, residual, elapsed) : 0;
}

typedef struct kn_solve_result {
    kernest_stop_reason reason;
    int iterations;
    double *history; /* iterations+1 values of ‖s_k‖/‖s_0‖ (malloc'd, caller frees) */
} kn_solve_result;

#endif
