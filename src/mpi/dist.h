/* dist.h — internal: the backend wrapper that spreads the pairs over MPI ranks. */
#ifndef KN_DIST_H
#define KN_DIST_H

#include <mpi.h>

#include "backend/backend.h"

/* What the wrapped operations need, reached through kn_backend.dist (model wrappers copy the
 * backend struct, so this pointer travels with them). */
typedef struct kn_dist {
    MPI_Comm comm;
    int rank, size;
    const kn_backend_ops *inner_ops; /* the device backend's own table */
    double comm_seconds;             /* time inside MPI calls (the sums over ranks) */
    double stage_seconds;            /* time copying kernel vectors device <-> host for them */
} kn_dist;

/* Wraps inner (taking ownership; destroyed on failure): op_setup/op_apply act on this rank's
 * pairs only (none is allowed), op_adjoint sums Hᵀr over the ranks (MPI_Allreduce in double on
 * the host), data_dot sums over the ranks, and vec_dot / vec_nrm2 / vec_pair_nrm_sum (kernel
 * space, the same on every rank) take rank 0's value so the ranks' iterates stay bitwise in
 * step. A failure inside
 * a collective operation prints the message and calls MPI_Abort. d must outlive *out. */
int kn_dist_wrap(kn_dist *d, kn_backend *inner, kn_backend **out);

#endif
