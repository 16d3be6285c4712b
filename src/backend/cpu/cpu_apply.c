/* cpu_apply.c — the operator applied once on a CPU backend in double, set up for this call. */
#include "backend/backend.h"
#include "cpu_apply.h"
#include "cpu_backend.h"

int kn_cpu_apply_once(const kn_problem *pb, int threads, int adjoint, const double *in, double *out)
{
    kn_backend *be = NULL;
    kn_vec *k = NULL, *r = NULL;
    int st;
    if (!(st = kn_backend_cpu_create(KERNEST_DOUBLE, threads, &be)) && !(st = be->ops->op_setup(be, pb)) &&
        !(st = be->ops->vec_create(be, pb->n, &k)) && !(st = be->ops->vec_create(be, pb->m, &r)) &&
        !(st = be->ops->vec_upload(be, adjoint ? r : k, in)) &&
        !(st = adjoint ? be->ops->op_adjoint(be, r, k) : be->ops->op_apply(be, k, r)))
        st = be->ops->vec_download(be, adjoint ? k : r, out);
    if (be) {
        be->ops->vec_destroy(be, &k);
        be->ops->vec_destroy(be, &r);
    }
    kn_backend_destroy(&be);
    return st;
}
