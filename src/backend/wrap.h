/* wrap.h — internal: one way to wrap a backend (wrap.c), for the layers that change a few of its
 * operations and keep the rest: the model's H∘Φ (model/compose.c) and the pairs spread over MPI
 * ranks (mpi/dist_backend.c). */
#ifndef KN_WRAP_H
#define KN_WRAP_H

#include "backend.h"

/* The head of every wrapper, its first member: be is what the solvers get, a copy of the inner
 * backend (same impl, precision, threads, device text) whose table is ops, a copy of the inner
 * table that the wrapper then edits; inner is the wrapped backend. A pointer to be is a pointer
 * to the wrapper. */
typedef struct kn_backend_wrapper {
    kn_backend be;
    kn_backend_ops ops;
    kn_backend *inner;
} kn_backend_wrapper;

/* Fills w's head over inner (borrowed: who frees inner is the wrapper's own destroy's choice). */
void kn_backend_wrap_init(kn_backend_wrapper *w, kn_backend *inner);

#endif
