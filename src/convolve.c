/* convolve.c — kernest_convolve: the forward model alone, through the CPU backend in double. */
#include <math.h>

#include "backend.h"
#include "error.h"
#include "problem.h"

int kn_convolve_named(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                      const char *a_name, const char *k_name, kernest_array **out)
{
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
    kn_backend *be = NULL;
    kn_vec *k = NULL, *r = NULL;
    kernest_array *b = NULL;
    if (!(st = kn_backend_cpu_create(KERNEST_DOUBLE, 0, &be)) &&
        !(st = kernest_array_create2(pb.pairs[0].hb, pb.pairs[0].wb, &b)) &&
        !(st = be->ops->op_setup(be, &pb)) && !(st = be->ops->vec_create(be, pb.n, &k)) &&
        !(st = be->ops->vec_create(be, pb.m, &r)) && !(st = be->ops->vec_upload(be, k, K->data)) &&
        !(st = be->ops->op_apply(be, k, r)))
        st = be->ops->vec_download(be, r, b->data);
    if (be) {
        be->ops->vec_destroy(be, &k);
        be->ops->vec_destroy(be, &r);
    }
    kn_backend_destroy(&be);
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
    return kn_convolve_named(A, K, mode, "A", "K", out);
}
