/* array.c — host arrays of doubles: create and destroy with overflow-checked sizes. */
#include <stdio.h>
#include <stdlib.h>

#include "array.h"
#include "error.h"
#include "sysmem.h"

int kernest_array_create(int ndim, const size_t *shape, kernest_array **out)
{
    if (ndim < 1 || ndim > KERNEST_MAX_NDIM || !shape || !out)
        return kn_error(KERNEST_E_INVALID, "array: ndim must be 1..%d", KERNEST_MAX_NDIM);
    kernest_array *a = calloc(1, sizeof *a);
    if (!a)
        return kn_error(KERNEST_E_NOMEM, "array: out of memory");
    size_t n = 1;
    a->ndim = ndim;
    for (int d = 0; d < KERNEST_MAX_NDIM; d++) {
        a->shape[d] = d < ndim ? shape[d] : 1;
        if (d < ndim && kn_mul_size(n, shape[d], &n)) {
            free(a);
            return kn_error(KERNEST_E_TOOBIG, "array: element count overflows");
        }
    }
    size_t bytes;
    if (kn_mul_size(n, sizeof(double), &bytes)) {
        free(a);
        return kn_error(KERNEST_E_TOOBIG, "array: %zu elements overflow the address space", n);
    }
    int st = kn_host_check("array", n, sizeof(double));
    if (st) {
        free(a);
        return st;
    }
    a->size = n;
    a->data = calloc(n ? n : 1, sizeof(double));
    if (!a->data) {
        free(a);
        return kn_error(KERNEST_E_NOMEM, "array: cannot allocate %zu bytes", bytes);
    }
    *out = a;
    return KERNEST_OK;
}

int kernest_array_create2(size_t rows, size_t cols, kernest_array **out)
{
    size_t shape[2] = {rows, cols};
    return kernest_array_create(2, shape, out);
}

void kernest_array_destroy(kernest_array **a)
{
    if (!a || !*a)
        return;
    free((*a)->data);
    free(*a);
    *a = NULL;
}

const char *kn_shape_str(const kernest_array *a, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int d = 0; d < a->ndim && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, d ? "x%zu" : "%zu", a->shape[d]);
    return buf;
}
