/* kernest_mpi.h — one kernel from pairs spread over the ranks of an MPI communicator. Available
 * when kernest is built with MPI (CMake found it; kernest_have_mpi() returns 1). */
#ifndef KERNEST_MPI_H
#define KERNEST_MPI_H

#include <mpi.h>

#include "kernest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The pairs rank `rank` of `size` holds when npairs are split into contiguous blocks as evenly
 * as possible: [*first, *first + *count). Rank 0 holds pair 0 whenever npairs >= 1; ranks past
 * the last pair hold none. */
void kernest_mpi_share(size_t npairs, int rank, int size, size_t *first, size_t *count);

/* Collective over comm: every rank passes its own pairs (nlocal may be 0), the blocks of
 * kernest_mpi_share in rank order, and the same options. Each rank keeps the spectra of its own
 * pairs (on its own GPU: with device auto/cuda and device_index -1 the node-local rank picks the
 * GPU; with threads 0 the node's cores are shared among its ranks); the normal-operator products
 * are summed across ranks inside the operator (MPI_Allreduce), so the solvers are unchanged and
 * the result is the single-process result up to rounding. The kernel shape (opt kh×kw, or the
 * default from rank 0's first pair) is the same on every rank.
 * On rank 0, *K and *report (may be NULL) receive the kernel and the report, whose misfit lists
 * every pair in global order; on other ranks they are set to NULL. A failure on any rank before
 * the solve (a bad file, a shape that does not fit) is returned on every rank: the failing rank
 * keeps its message, the others say which rank failed. A device failure during the iterations
 * prints the message and calls MPI_Abort (the other ranks would otherwise wait forever).
 * --lambda auto / --model auto are not distributed: they are refused here. */
int kernest_estimate_mpi(MPI_Comm comm, const kernest_array *const *A, const kernest_array *const *B,
                         size_t nlocal, const kernest_options *opt, kernest_array **K,
                         kernest_report **report);

#ifdef __cplusplus
}
#endif

#endif /* KERNEST_MPI_H */
