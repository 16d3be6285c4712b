/* sparse.h — internal: host CSR matrices, built on the host and uploaded once (sparse_create). */
#ifndef KN_SPARSE_H
#define KN_SPARSE_H

#include <stddef.h>

#include "backend/backend.h"

typedef struct kn_csr {
    size_t rows, cols;
    size_t *row_ptr; /* rows+1 entries; row i holds entries row_ptr[i] .. row_ptr[i+1]-1 */
    size_t *col;     /* row_ptr[rows] column indices */
    double *val;     /* row_ptr[rows] values */
} kn_csr;

/* Allocates a rows×cols matrix with room for nnz entries (row_ptr zeroed). */
int kn_csr_alloc(kn_csr *a, size_t rows, size_t cols, size_t nnz);
/* Frees the arrays (a zeroed kn_csr is allowed) and zeroes a. */
void kn_csr_free(kn_csr *a);
/* t = aᵀ, in CSR (columns sorted within each row). */
int kn_csr_transpose(const kn_csr *a, kn_csr *t);
/* y = a x on the host (y: rows values, x: cols values). */
void kn_csr_apply(const kn_csr *a, const double *x, double *y);
/* out = diag(blocks[0], ..., blocks[n−1]): the blocks along the diagonal, block b's rows and
 * columns after those of the blocks before it (n >= 1; a block may appear several times). */
int kn_csr_block_diag(const kn_csr *const *blocks, size_t n, kn_csr *out);
/* a = diag(a, ..., a), n copies (n >= 1): one block per kernel of several channels. */
int kn_csr_repeat_diag(kn_csr *a, size_t n);
/* Uploads a to the backend (which must implement sparse_create). */
int kn_csr_upload(kn_backend *be, const kn_csr *a, kn_sparse **out);

#endif
