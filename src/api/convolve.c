/* convolve.c — kernest_convolve(_channels): the forward model alone, through the CPU backend in double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_apply.h"
#include "backend/problem.h"
#include "base/error.h"

int kernest_convolve_named(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                           const char *a_name, const char *k_name, kernest_array **out)
{
    a_name = a_name ? a_name : "A";
    k_name = k_name ? k_name : "K";
    kn_error_clear();
    if (!A || !K || !out)
        return kn_error(KERNEST_E_INVALID, "kernest_convolve: NULL argument");
    if (K->ndim != 2)
        return kn_error(KERNEST_E_SHAPE, "%s: expected a 2-D kernel, got %d dimensions", k_name, K->ndim);
    for (size_t i = 0; i < K->size; i++)
        if (!isfinite(K->data[i]))
            return kn_error(KERNEST_E_VALUE, "%s: holds NaN or Inf at element %zu; K must be finite",
                            k_name, i);
    kn_problem pb;
    const kernest_array *As[1] = {A};
    const char *names[2] = {a_name, NULL};
    int st = kn_problem_init(&pb, As, NULL, 1, mode, K->shape[0], K->shape[1], names);
    if (st)
        return st;
    kernest_array *b = NULL;
    if (!(st = kernest_array_create2(pb.pairs[0].hb, pb.pairs[0].wb, &b)))
        st = kn_cpu_apply_once(&pb, 0, 0, K->data, b->data);
    kn_problem_free(&pb);
    if (st)
        kernest_array_destroy(&b);
    else
        *out = b;
    return st;
}

int kernest_convolve(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                     kernest_array **out)
{
    return kernest_convolve_named(A, K, mode, "A", "K", out);
}

int kernest_convolve_layer(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                           kernest_layout layout, int correlate, const kernest_geometry *g,
                           const char *a_name, const char *k_name, kernest_array **out)
{
    a_name = a_name ? a_name : "A";
    k_name = k_name ? k_name : "K";
    kn_error_clear();
    if (!A || !K || !out)
        return kn_error(KERNEST_E_INVALID, "kernest_convolve_channels: NULL argument");
    if (K->ndim != 2 && K->ndim != 4)
        return kn_error(KERNEST_E_SHAPE, "%s: expected a 2-D kernel or a 4-D set of kernels (C_out x C_in x "
                        "Kh x Kw), got %d dimensions", k_name, K->ndim);
    for (size_t i = 0; i < K->size; i++)
        if (!isfinite(K->data[i]))
            return kn_error(KERNEST_E_VALUE, "%s: holds NaN or Inf at element %zu; K must be finite",
                            k_name, i);
    const size_t *ks = K->shape + K->ndim - 2;
    const size_t cout = K->ndim == 4 ? K->shape[0] : 1, kin = K->ndim == 4 ? K->shape[1] : 1;
    if (!cout || !kin || !ks[0] || !ks[1])
        return kn_error(KERNEST_E_SHAPE, "%s: the kernel is empty", k_name);
    kn_problem pb;
    const kernest_array *As[1] = {A};
    const char *names[2] = {a_name, NULL};
    int st = kn_problem_init_channels(&pb, As, NULL, 1, mode, ks[0], ks[1], layout, cout, g, names);
    if (st)
        return st;
    if (pb.kin != kin) {
        char gs[32] = "";
        if (pb.groups > 1)
            snprintf(gs, sizeof gs, "/G = %zu/%zu", pb.cin, pb.groups);
        st = kn_error(KERNEST_E_SHAPE, "%s: %zu input channel%s (%zu-D array read as %s) but %s (%zux%zux%zux%zu) "
                      "takes C_in%s = %zu", a_name, pb.cin, pb.cin == 1 ? "" : "s", (size_t)A->ndim,
                      A->ndim == 2 ? "HxW" : A->ndim == 4 || layout == KERNEST_LAYOUT_NCHW ? "SxCxHxW" : "CxHxW",
                      k_name, cout, kin, ks[0], ks[1], gs, kin * pb.groups);
        kn_problem_free(&pb);
        return st;
    }
    kernest_array *b = NULL;
    double *kd = NULL;
    const size_t hb = pb.pairs[0].hb, wb = pb.pairs[0].wb;
    if (A->ndim == 2 && K->ndim == 2)
        st = kernest_array_create2(hb, wb, &b);
    else if (A->ndim == 4 || (A->ndim == 3 && layout == KERNEST_LAYOUT_NCHW)) {
        size_t shape[4] = {pb.npairs, cout, hb, wb};
        st = kernest_array_create(4, shape, &b);
    } else {
        size_t shape[3] = {cout, hb, wb};
        st = kernest_array_create(3, shape, &b);
    }
    if (!st && !(kd = malloc(K->size * sizeof *kd)))
        st = kn_error(KERNEST_E_NOMEM, "out of memory");
    if (!st) {
        memcpy(kd, K->data, K->size * sizeof *kd);
        if (correlate)
            kn_flip_kernels(kd, cout * kin, ks[0], ks[1]);
    }
    if (!st)
        st = kn_cpu_apply_once(&pb, 0, 0, kd, b->data);
    kn_problem_free(&pb);
    free(kd);
    if (st)
        kernest_array_destroy(&b);
    else
        *out = b;
    return st;
}

int kernest_convolve_channels_named(const kernest_array *A, const kernest_array *K,
                                    kernest_mode mode, kernest_layout layout, int correlate,
                                    const char *a_name, const char *k_name, kernest_array **out)
{
    return kernest_convolve_layer(A, K, mode, layout, correlate, NULL, a_name, k_name, out);
}

int kernest_convolve_channels(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                              kernest_layout layout, int correlate, kernest_array **out)
{
    return kernest_convolve_channels_named(A, K, mode, layout, correlate, "A", "K", out);
}
