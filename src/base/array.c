/* array.c — host arrays of doubles: create and destroy with overflow-checked sizes. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "options.h"
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

/* the source index of padded position i on an axis of n values with `before` padded first */
static long pad_index(long i, long before, long n, kernest_padding_mode mode)
{
    long j = i - before;
    if (j >= 0 && j < n)
        return j;
    switch (mode) {
    case KERNEST_PAD_REFLECT:
        return j < 0 ? -j : 2 * (n - 1) - j;
    case KERNEST_PAD_REPLICATE:
        return j < 0 ? 0 : n - 1;
    case KERNEST_PAD_CIRCULAR:
        return ((j % n) + n) % n;
    default:
        return -1; /* zeros */
    }
}

int kernest_pad(const kernest_array *A, size_t top, size_t bottom, size_t left, size_t right,
                kernest_padding_mode mode, kernest_array **out)
{
    if (!A || !out || A->ndim < 2 || A->ndim > KERNEST_MAX_NDIM)
        return kn_error(KERNEST_E_INVALID, "--padding: needs an array of 2 to %d dimensions", KERNEST_MAX_NDIM);
    if ((unsigned)mode > KERNEST_PAD_CIRCULAR)
        return kn_error(KERNEST_E_INVALID, "--padding-mode: unknown mode %d", (int)mode);
    const size_t h = A->shape[A->ndim - 2], w = A->shape[A->ndim - 1];
    const size_t limit = (size_t)1 << 30;
    if (top > limit || bottom > limit || left > limit || right > limit)
        return kn_error(KERNEST_E_INVALID, "--padding: %zu, %zu, %zu, %zu is more than 2^30", top, bottom, left, right);
    if (!h || !w)
        return kn_error(KERNEST_E_SHAPE, "--padding: the array is empty");
    if (mode == KERNEST_PAD_REFLECT && (top >= h || bottom >= h || left >= w || right >= w))
        return kn_error(KERNEST_E_INVALID, "--padding-mode reflect: each pad must be smaller than the axis "
                        "(%zux%zu padded by %zu,%zu rows and %zu,%zu columns)", h, w, top, bottom, left, right);
    if (mode == KERNEST_PAD_CIRCULAR && (top > h || bottom > h || left > w || right > w))
        return kn_error(KERNEST_E_INVALID, "--padding-mode circular: no pad may exceed the axis "
                        "(%zux%zu padded by %zu,%zu rows and %zu,%zu columns)", h, w, top, bottom, left, right);
    size_t shape[KERNEST_MAX_NDIM];
    memcpy(shape, A->shape, (size_t)A->ndim * sizeof *shape);
    shape[A->ndim - 2] = h + top + bottom;
    shape[A->ndim - 1] = w + left + right;
    int st = kernest_array_create(A->ndim, shape, out);
    if (st)
        return st;
    const size_t ph = shape[A->ndim - 2], pw = shape[A->ndim - 1], planes = A->size / (h * w);
    double *d = (*out)->data;
    for (size_t p = 0; p < planes; p++) {
        const double *src = A->data + p * h * w;
        for (size_t y = 0; y < ph; y++) {
            const long sy = pad_index((long)y, (long)top, (long)h, mode);
            for (size_t x = 0; x < pw; x++) {
                const long sx = pad_index((long)x, (long)left, (long)w, mode);
                *d++ = sy < 0 || sx < 0 ? 0.0 : src[(size_t)sy * w + (size_t)sx];
            }
        }
    }
    return KERNEST_OK;
}

/* One axis of a layer's padding: pad on each side, or (pad < 0) 'same' for an input of n, a kernel of
 * k taps d apart and a stride s: P = max((⌈n/s⌉ − 1)·s + d·(k−1) + 1 − n, 0), P//2 before. */
static void layer_pad(size_t n, size_t k, int pad, int d, int s, size_t *before, size_t *after)
{
    if (pad >= 0) {
        *before = *after = (size_t)pad;
        return;
    }
    const size_t span = (k - 1) * (size_t)d + 1, out = (n + (size_t)s - 1) / (size_t)s;
    const size_t need = (out - 1) * (size_t)s + span, total = need > n ? need - n : 0;
    *before = total / 2;
    *after = total - *before;
}

int kernest_pad_layer(const kernest_array *A, size_t kh, size_t kw, int pad_h, int pad_w,
                      kernest_padding_mode mode, const kernest_geometry *g_in, kernest_array **out)
{
    if (!kh || !kw)
        return kn_error(KERNEST_E_INVALID, "--padding: needs the kernel's size (--ksize HxW)");
    if (pad_h < -1 || pad_w < -1)
        return kn_error(KERNEST_E_INVALID, "--padding: must be >= 0 or same, got %d,%d", pad_h, pad_w);
    kernest_geometry geom;
    const kernest_geometry *g = &geom;
    int st = kn_geometry_resolve(g_in, &geom);
    if (st)
        return st;
    if (!A || A->ndim < 2)
        return kn_error(KERNEST_E_SHAPE, "--padding: A must have at least 2 dimensions");
    if (kh > (size_t)INT_MAX || kw > (size_t)INT_MAX)
        return kn_error(KERNEST_E_TOOBIG, "--padding: a %zux%zu kernel is too large", kh, kw);
    size_t top, bottom, left, right;
    layer_pad(A->shape[A->ndim - 2], kh, pad_h, g->dilation_h, g->stride_h, &top, &bottom);
    layer_pad(A->shape[A->ndim - 1], kw, pad_w, g->dilation_w, g->stride_w, &left, &right);
    return kernest_pad(A, top, bottom, left, right, mode, out);
}
