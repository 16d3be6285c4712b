/* solver.h — internal: solvers written once against the backend table. */
#ifndef KN_SOLVER_H
#define KN_SOLVER_H

#include "backend/backend.h"

/* Solvers run their steps as TRY(o->op_apply(...)): on a failure the status is kept in the
 * caller's `st` and control goes to its `done:` clean-up. */
#define TRY(call)               \
    do {                        \
        if ((st = (call)) != 0) \
            goto done;          \
    } while (0)

/* Everything a solver needs to go on after `iteration` iterations, as host copies (vectors
 * downloaded from the backend in double: exact for float and double vectors). Vectors and
 * scalars are named, so that a checkpoint file is self-describing and checked on resume. */
enum { KN_STATE_MAXVEC = 8, KN_STATE_MAXSCAL = 16, KN_STATE_NAME = 16 };
typedef struct kn_solver_state {
    int solver;    /* KERNEST_SOLVER_CGLS or KERNEST_SOLVER_FISTA */
    int iteration; /* iterations done */
    int nvec, nscal;
    char vec_name[KN_STATE_MAXVEC][KN_STATE_NAME];
    size_t vec_len[KN_STATE_MAXVEC];
    double *vec[KN_STATE_MAXVEC]; /* owned */
    char scal_name[KN_STATE_MAXSCAL][KN_STATE_NAME];
    double scal[KN_STATE_MAXSCAL];
    double *history; /* iteration+1 values (owned) */
} kn_solver_state;

void kn_state_free(kn_solver_state *st); /* frees the arrays; st itself is the caller's */
/* Appends v, downloaded to the host, under name. */
int kn_state_put_vec(kn_backend *be, kn_solver_state *st, const char *name, const kn_vec *v);
void kn_state_put_scalar(kn_solver_state *st, const char *name, double v);
/* Appends n host values under name (a vector of the state, like kn_state_put_vec's). */
int kn_state_put_values(kn_solver_state *st, const char *name, const double *v, size_t n);
/* Copies history[0..iteration] into the state. */
int kn_state_put_history(kn_solver_state *st, const double *history, int iteration);
/* Uploads the vector called name into v; KERNEST_E_INVALID ("--resume: ...") when the state has
 * none of that name or of another length. */
int kn_state_get_vec(kn_backend *be, const kn_solver_state *st, const char *name, kn_vec *v);
int kn_state_get_scalar(const kn_solver_state *st, const char *name, double *out);
/* Copies the n host values called name into v; refuses, like kn_state_get_vec, a missing name
 * or another length. */
int kn_state_get_values(const kn_solver_state *st, const char *name, double *v, size_t n);
/* Refuses a state of another solver, or one past maxiter. */
int kn_state_check(const kn_solver_state *st, kernest_solver solver, int maxiter);

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

typedef struct kn_solve_params {
    kernest_reg reg; /* quadratic regulariser ½λ‖Lk‖² */
    double lambda;   /* >= 0 */
    double tol;      /* stop when ‖s_k‖ / ‖s_0‖ <= tol (s = normal-equation residual) */
    int maxiter;     /* >= 0 */
    const kn_solve_hooks *hooks; /* NULL: none */
    const kn_vec *shift; /* NULL, or g: solve min ½‖Hx − b‖² + ½λ‖Lx‖² − ⟨g, x⟩ (a kernel-space
                            right-hand side; randomize-then-optimize samples use it) */
} kn_solve_params;

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

/* Number of backend vectors of each space kn_cgls allocates (for the memory estimate). */
void kn_cgls_vectors(kernest_reg reg, size_t *kernel_vecs, size_t *data_vecs);

/* CGLS for min ½‖H x − b‖² + ½λ‖L x‖², starting from x (updated in place). The operator must be
 * set up. Not converging is a result (res->reason), not an error. */
int kn_cgls(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, kn_vec *x,
            kn_solve_result *res);

#endif
