/* solver_state.h — internal: a solver's state on the host (solver_state.c), what a checkpoint
 * holds and a resume starts from. */
#ifndef KN_SOLVER_STATE_H
#define KN_SOLVER_STATE_H

#include "backend/backend.h"

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

#endif
