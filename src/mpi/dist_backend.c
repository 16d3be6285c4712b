/* dist_backend.c — the operator of pairs spread over MPI ranks, as a backend wrapper. */
#include <stdio.h>
#include <stdlib.h>

#include "backend/wrap.h"
#include "base/clock.h"
#include "dist.h"
#include "base/error.h"

typedef struct dist_be {
    kn_backend_wrapper w; /* first member: the inner table with the operator and the reductions
                             replaced; owns the inner backend */
    int has_pairs;      /* 0: this rank holds no pair (its data space is empty) */
    double *buf;        /* kernel-sized host buffer for the sum over ranks */
    size_t nbuf;
} dist_be;

static dist_be *outer(kn_backend *be)
{
    return (dist_be *)be;
}

/* Other ranks wait in the collective this rank would not reach: end them all. */
static int fatal(const kn_dist *d, int st)
{
    fprintf(stderr, "kernest: rank %d of %d: %s; ending every rank\n", d->rank, d->size,
            kernest_last_error()[0] ? kernest_last_error() : kernest_strerror(st));
    fflush(stderr);
    MPI_Abort(d->comm, 1);
    return st;
}

static int mpi_check(const kn_dist *d, int rc, const char *call)
{
    if (rc == MPI_SUCCESS)
        return KERNEST_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return fatal(d, kn_error(KERNEST_E_DEVICE, "%s failed: %s", call, msg));
}

static size_t dist_op_bytes(const kn_backend *be, const kn_problem *pb)
{
    const dist_be *w = (const dist_be *)be;
    return w->w.inner->ops->op_bytes(w->w.inner, pb) + pb->n * sizeof(double);
}

static int dist_op_setup(kn_backend *be, const kn_problem *pb)
{
    dist_be *w = outer(be);
    w->has_pairs = pb->npairs > 0;
    w->nbuf = pb->n;
    if (!(w->buf = malloc((pb->n ? pb->n : 1) * sizeof *w->buf)))
        return kn_error(KERNEST_E_NOMEM, "mpi: out of memory for a kernel buffer (%zu values)", pb->n);
    return w->w.inner->ops->op_setup(w->w.inner, pb); /* also with no pair: the kernel grid */
}

static int dist_op_apply(kn_backend *be, const kn_vec *k, kn_vec *r)
{
    dist_be *w = outer(be);
    return w->has_pairs ? w->w.inner->ops->op_apply(w->w.inner, k, r) : KERNEST_OK;
}

static int dist_op_adjoint(kn_backend *be, const kn_vec *r, kn_vec *k)
{
    dist_be *w = outer(be);
    kn_dist *d = be->dist;
    kn_backend *in = w->w.inner;
    int st = w->has_pairs ? in->ops->op_adjoint(in, r, k) : in->ops->vec_fill(in, k, 0.0);
    if (st)
        return fatal(d, st);
    double t0 = kn_now();
    if ((st = in->ops->vec_download(in, k, w->buf)))
        return fatal(d, st);
    double t1 = kn_now();
    if ((st = mpi_check(d, MPI_Allreduce(MPI_IN_PLACE, w->buf, (int)w->nbuf, MPI_DOUBLE, MPI_SUM, d->comm),
                        "MPI_Allreduce")))
        return st;
    double t2 = kn_now();
    if ((st = in->ops->vec_upload(in, k, w->buf)))
        return fatal(d, st);
    d->comm_seconds += t2 - t1;
    d->stage_seconds += (t1 - t0) + (kn_now() - t2);
    return KERNEST_OK;
}

/* kernel space: rank 0's value everywhere (the ranks may differ in thread count, so in the last
 * bits of a reduction; one broadcast keeps their iterates identical) */
/* one scalar collective, timed */
static int scalar(kn_dist *d, double *v, int sum)
{
    const double t0 = kn_now();
    int st = sum ? mpi_check(d, MPI_Allreduce(MPI_IN_PLACE, v, 1, MPI_DOUBLE, MPI_SUM, d->comm), "MPI_Allreduce")
                 : mpi_check(d, MPI_Bcast(v, 1, MPI_DOUBLE, 0, d->comm), "MPI_Bcast");
    d->comm_seconds += kn_now() - t0;
    return st;
}

static int dist_vec_dot(kn_backend *be, const kn_vec *x, const kn_vec *y, double *out)
{
    kn_dist *d = be->dist;
    int st = d->inner_ops->vec_dot(be, x, y, out);
    return st ? fatal(d, st) : scalar(d, out, 0);
}

static int dist_vec_nrm2(kn_backend *be, const kn_vec *x, double *out)
{
    kn_dist *d = be->dist;
    int st = d->inner_ops->vec_nrm2(be, x, out);
    return st ? fatal(d, st) : scalar(d, out, 0);
}

static int dist_pair_nrm_sum(kn_backend *be, const kn_vec *p, double *out)
{
    kn_dist *d = be->dist;
    int st = d->inner_ops->vec_pair_nrm_sum(be, p, out);
    return st ? fatal(d, st) : scalar(d, out, 0);
}

/* data space: every rank's share of the pairs */
static int dist_data_dot(kn_backend *be, const kn_vec *x, const kn_vec *y, double *out)
{
    kn_dist *d = be->dist;
    int st = d->inner_ops->vec_dot(be, x, y, out);
    return st ? fatal(d, st) : scalar(d, out, 1);
}

static void dist_destroy(kn_backend *be)
{
    dist_be *w = outer(be);
    free(w->buf);
    kn_backend_destroy(&w->w.inner);
}

static int dist_host_sum(kn_backend *be, double *v, size_t n)
{
    kn_dist *d = be->dist;
    const double t0 = kn_now();
    int st = mpi_check(d, MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, d->comm), "MPI_Allreduce");
    d->comm_seconds += kn_now() - t0;
    return st;
}

int kn_dist_wrap(kn_dist *d, kn_backend *inner, kn_backend **out)
{
    dist_be *w = calloc(1, sizeof *w);
    if (!w) {
        kn_backend_destroy(&inner);
        return kn_error(KERNEST_E_NOMEM, "mpi: out of memory");
    }
    d->inner_ops = inner->ops;
    kn_backend_wrap_init(&w->w, inner);
    w->w.ops.destroy = dist_destroy;
    w->w.ops.op_bytes = dist_op_bytes;
    w->w.ops.op_setup = dist_op_setup;
    w->w.ops.op_apply = dist_op_apply;
    w->w.ops.op_adjoint = dist_op_adjoint;
    w->w.ops.vec_dot = dist_vec_dot;
    w->w.ops.vec_nrm2 = dist_vec_nrm2;
    w->w.ops.data_dot = dist_data_dot;
    w->w.ops.host_sum = dist_host_sum;
    if (inner->ops->vec_pair_nrm_sum) /* TV's kernel-space sum: also rank 0's value everywhere */
        w->w.ops.vec_pair_nrm_sum = dist_pair_nrm_sum;
    w->w.be.dist = d;
    snprintf(w->w.be.device, sizeof w->w.be.device, "%.90s, rank %d of %d", inner->device, d->rank, d->size);
    *out = &w->w.be;
    return KERNEST_OK;
}
