/* sparse.c — host CSR matrices: allocation, transpose, product, upload to a backend. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "sparse.h"
#include "base/sysmem.h"

int kn_csr_alloc(kn_csr *a, size_t rows, size_t cols, size_t nnz)
{
    memset(a, 0, sizeof *a);
    /* row starts + (column, value) per entry, checked before anything is allocated */
    size_t r1, per = sizeof *a->col + sizeof *a->val, e, total;
    if (kn_add_size(rows, 1, &r1) || kn_mul_size(r1, sizeof *a->row_ptr, &r1) ||
        kn_mul_size(nnz ? nnz : 1, per, &e) || kn_add_size(r1, e, &total))
        return kn_error(KERNEST_E_TOOBIG, "a %zux%zu sparse matrix with %zu entries overflows the "
                        "address space", rows, cols, nnz);
    int st = kn_host_check("sparse matrix", total, 1);
    if (st)
        return st;
    a->rows = rows;
    a->cols = cols;
    a->row_ptr = calloc(rows + 1, sizeof *a->row_ptr);
    a->col = malloc((nnz ? nnz : 1) * sizeof *a->col);
    a->val = malloc((nnz ? nnz : 1) * sizeof *a->val);
    if (!a->row_ptr || !a->col || !a->val) {
        kn_csr_free(a);
        return kn_error(KERNEST_E_NOMEM, "out of memory for a %zux%zu sparse matrix", rows, cols);
    }
    return KERNEST_OK;
}

void kn_csr_free(kn_csr *a)
{
    free(a->row_ptr);
    free(a->col);
    free(a->val);
    memset(a, 0, sizeof *a);
}

int kn_csr_transpose(const kn_csr *a, kn_csr *t)
{
    const size_t nnz = a->row_ptr[a->rows];
    int st = kn_csr_alloc(t, a->cols, a->rows, nnz);
    if (st)
        return st;
    /* counting sort by column: row_ptr[c+1] counts column c, then prefix sums give the starts */
    for (size_t j = 0; j < nnz; j++)
        t->row_ptr[a->col[j] + 1]++;
    for (size_t c = 0; c < a->cols; c++)
        t->row_ptr[c + 1] += t->row_ptr[c];
    size_t *next = malloc((a->cols ? a->cols : 1) * sizeof *next);
    if (!next) {
        kn_csr_free(t);
        return kn_error(KERNEST_E_NOMEM, "out of memory for a sparse transpose");
    }
    memcpy(next, t->row_ptr, a->cols * sizeof *next);
    for (size_t i = 0; i < a->rows; i++)
        for (size_t j = a->row_ptr[i]; j < a->row_ptr[i + 1]; j++) {
            size_t k = next[a->col[j]]++;
            t->col[k] = i;
            t->val[k] = a->val[j];
        }
    free(next);
    return KERNEST_OK;
}

void kn_csr_apply(const kn_csr *a, const double *x, double *y)
{
    for (size_t i = 0; i < a->rows; i++) {
        double s = 0.0;
        for (size_t j = a->row_ptr[i]; j < a->row_ptr[i + 1]; j++)
            s += a->val[j] * x[a->col[j]];
        y[i] = s;
    }
}

int kn_csr_block_diag(const kn_csr *const *blocks, size_t n, kn_csr *out)
{
    size_t rows = 0, cols = 0, nnz = 0;
    for (size_t b = 0; b < n; b++)
        if (kn_add_size(rows, blocks[b]->rows, &rows) || kn_add_size(cols, blocks[b]->cols, &cols) ||
            kn_add_size(nnz, blocks[b]->row_ptr[blocks[b]->rows], &nnz))
            return kn_error(KERNEST_E_TOOBIG, "%zu sparse blocks overflow the address space", n);
    int st = kn_csr_alloc(out, rows, cols, nnz);
    if (st)
        return st;
    size_t r0 = 0, c0 = 0, e = 0;
    for (size_t b = 0; b < n; b++) {
        const kn_csr *a = blocks[b];
        for (size_t i = 0; i < a->rows; i++) {
            for (size_t j = a->row_ptr[i]; j < a->row_ptr[i + 1]; j++, e++) {
                out->col[e] = c0 + a->col[j];
                out->val[e] = a->val[j];
            }
            out->row_ptr[r0 + i + 1] = e;
        }
        r0 += a->rows;
        c0 += a->cols;
    }
    return KERNEST_OK;
}

int kn_csr_repeat_diag(kn_csr *a, size_t n)
{
    if (n == 1)
        return KERNEST_OK;
    const kn_csr **blocks = malloc((n ? n : 1) * sizeof *blocks);
    if (!blocks)
        return kn_error(KERNEST_E_NOMEM, "out of memory for %zu sparse blocks", n);
    for (size_t b = 0; b < n; b++)
        blocks[b] = a;
    kn_csr out;
    int st = kn_csr_block_diag(blocks, n, &out);
    free(blocks);
    if (!st) {
        kn_csr_free(a);
        *a = out;
    }
    return st;
}

int kn_csr_upload(kn_backend *be, const kn_csr *a, kn_sparse **out)
{
    return be->ops->sparse_create(be, a->rows, a->cols, a->row_ptr, a->col, a->val, out);
}
