/* estimate_mpi.c — kernest_estimate_mpi: one kernel from pairs spread over MPI ranks. */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "dist.h"
#include "base/error.h"
#include "kernest_mpi.h"
#include "api/report.h"
#include "api/units.h"
#include "base/options.h"
#include "fit/fit.h"
#ifdef KERNEST_WITH_CUDA
#include "cuda/kn_cuda.h"
#endif

void kernest_mpi_share(size_t npairs, int rank, int size, size_t *first, size_t *count)
{
    /* block r starts at ceil(r·n/R): rank 0 starts at 0 and the blocks differ by at most one */
    const size_t R = size > 0 ? (size_t)size : 1, r = rank > 0 ? (size_t)rank : 0;
    const size_t a = (r * npairs + R - 1) / R, b = ((r + 1) * npairs + R - 1) / R;
    *first = a < npairs ? a : npairs;
    *count = (b < npairs ? b : npairs) - *first;
}

/* Every rank learns whether any failed: the first failing rank's status is returned everywhere;
 * the failing rank keeps its own message. */
static int agree(const kn_dist *d, int st)
{
    int *all = malloc((size_t)d->size * sizeof *all);
    if (!all) {
        fprintf(stderr, "kernest: rank %d: out of memory\n", d->rank);
        MPI_Abort(d->comm, 1);
    }
    MPI_Allgather(&st, 1, MPI_INT, all, 1, MPI_INT, d->comm);
    int first = -1;
    for (int r = 0; r < d->size && first < 0; r++)
        if (all[r])
            first = r;
    const int fst = first >= 0 ? all[first] : KERNEST_OK;
    free(all);
    if (st || first < 0)
        return st;
    return kn_error(fst, "rank %d of %d failed (%s; its message is on its stderr)", first, d->size,
                    kernest_status_name(fst));
}

/* The ranks of this node: the GPU of this rank, and its share of the node's cores. */
static void place_rank(const kn_dist *d, kernest_options *opt)
{
    MPI_Comm node;
    int lrank = 0, lsize = 1;
    if (MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &lrank);
        MPI_Comm_size(node, &lsize);
        MPI_Comm_free(&node);
    }
    if (opt->threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        opt->threads = cores > lsize ? (int)(cores / lsize) : 1;
    }
#ifdef KERNEST_WITH_CUDA
    int ndev = 0;
    if (opt->device != KERNEST_DEVICE_CPU && opt->device_index < 0 && kn_cuda_device_count(&ndev) == 0 &&
        ndev > 0)
        opt->device_index = lrank % ndev;
    kn_error_clear();
#endif
}

/* This rank's problem: its pairs with the kernel shape of rank 0's, or none. */
static int local_problem(const kn_dist *d, kn_problem *pb, const kernest_array *const *A,
                         const kernest_array *const *B, size_t nlocal, const kernest_options *opt)
{
    unsigned long long shape[2] = {opt->kh, opt->kw};
    int st = KERNEST_OK;
    if (d->rank == 0) {
        if (nlocal == 0)
            st = kn_error(KERNEST_E_INVALID, "mpi: rank 0 holds no pair (give at least one pair; "
                          "kernest_mpi_share gives rank 0 the first)");
        else if (!(st = kn_problem_init(pb, A, B, nlocal, opt->mode, opt->kh, opt->kw, opt->input_names))) {
            shape[0] = pb->kh;
            shape[1] = pb->kw;
        }
    }
    MPI_Bcast(shape, 2, MPI_UNSIGNED_LONG_LONG, 0, d->comm);
    if (d->rank == 0 || shape[0] == 0)
        return st; /* rank 0 failed: the others wait for agree() with nothing to do */
    if (nlocal)
        return kn_problem_init(pb, A, B, nlocal, opt->mode, (size_t)shape[0], (size_t)shape[1],
                               opt->input_names);
    memset(pb, 0, sizeof *pb); /* no pair here: an empty data space, the same kernel space */
    pb->mode = opt->mode;
    pb->kh = (size_t)shape[0];
    pb->kw = (size_t)shape[1];
    pb->n = pb->kh * pb->kw;
    pb->cin = pb->cout = pb->kin = pb->groups = 1;
    pb->sh = pb->sw = pb->dh = pb->dw = 1;
    /* the device backend still sets up (its regulariser and vectors need the kernel shape): a
     * grid that holds the kernel, and no pair */
    pb->grid_h = kn_good_fft_size(pb->kh, 0);
    pb->grid_w = kn_good_fft_size(pb->kw, 1);
    if (!pb->grid_h || !pb->grid_w)
        return kn_error(KERNEST_E_TOOBIG, "--ksize: %zux%zu is too large", pb->kh, pb->kw);
    return KERNEST_OK;
}

static int wrap(void *ctx, kn_backend *inner, kn_backend **out)
{
    return kn_dist_wrap(ctx, inner, out);
}

/* Rank 0's report with every pair's misfit, gathered in rank order (= global order). */
static int gather_misfits(const kn_dist *d, const kn_session *s, const kn_fit *fit, kernest_report *rep)
{
    const int nloc = (int)s->pb.npairs; /* 2-D pairs only under MPI: one sample each */
    double *mine = malloc(((size_t)nloc * 2 + 1) * sizeof *mine);
    kernest_pair_misfit *local = calloc((size_t)nloc + 1, sizeof *local);
    int *counts = NULL, *displs = NULL, total = 0;
    double *all = NULL;
    int st = KERNEST_OK;
    if (!mine || !local) {
        free(mine);
        free(local);
        fprintf(stderr, "kernest: rank %d: out of memory\n", d->rank);
        MPI_Abort(d->comm, 1); /* the other ranks wait in the gathers below */
    }
    kn_pair_misfits(&s->pb, fit->hx, local);
    for (int i = 0; i < nloc; i++) {
        mine[2 * i] = local[i].sse;
        mine[2 * i + 1] = (double)local[i].count;
    }
    free(local);
    int n2 = 2 * nloc;
    if (d->rank == 0 && (!(counts = malloc((size_t)d->size * sizeof *counts)) ||
                         !(displs = malloc((size_t)d->size * sizeof *displs))))
        st = kn_error(KERNEST_E_NOMEM, "mpi: out of memory");
    MPI_Gather(&n2, 1, MPI_INT, counts, 1, MPI_INT, 0, d->comm);
    if (d->rank == 0 && !st) {
        for (int r = 0; r < d->size; r++) {
            displs[r] = total;
            total += counts[r];
        }
        if (!(all = malloc(((size_t)total + 1) * sizeof *all)))
            st = kn_error(KERNEST_E_NOMEM, "mpi: out of memory");
    }
    MPI_Gatherv(mine, n2, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, d->comm);
    if (d->rank == 0 && !st) {
        kernest_pair_misfit *mf = calloc((size_t)total / 2 + 1, sizeof *mf);
        if (!mf)
            st = kn_error(KERNEST_E_NOMEM, "mpi: out of memory");
        for (int i = 0; mf && i < total / 2; i++) {
            mf[i].sse = all[2 * i];
            mf[i].count = (size_t)all[2 * i + 1];
            mf[i].rms = mf[i].count ? sqrt(mf[i].sse / (double)mf[i].count) : 0.0;
        }
        if (mf && !rep)
            free(mf);
        else if (mf) {
            free(rep->misfit);
            rep->misfit = mf;
            rep->npairs = (size_t)total / 2;
        }
    }
    free(mine);
    free(counts);
    free(displs);
    free(all);
    return st;
}

/* The units every rank works in (api/units.h), from the largest |A| and |B| over all ranks: the
 * local pairs' copies in them (*As, *Bs: NULL when the units change nothing or no pair is here)
 * and opt carried over (*fixed: its copy of the fixed pixels). */
static int scale_data(const kn_dist *d, const kernest_array *const *A, const kernest_array *const *B,
                      size_t nlocal, kernest_options *opt, kn_units *u, kernest_array ***As,
                      kernest_array ***Bs, kernest_fixed_pixel **fixed)
{
    double m[2] = {kn_units_maxabs(A, nlocal), kn_units_maxabs(B, nlocal)};
    for (int i = 0; i < 2; i++) /* NULL or infinite: the validation refuses it; no units */
        m[i] = isnan(m[i]) ? INFINITY : m[i];
    MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_DOUBLE, MPI_MAX, d->comm);
    kn_units_choose(m[0], m[1], u);
    if (kn_units_none(u))
        return KERNEST_OK;
    kernest_options so;
    int st = nlocal ? kn_units_scale_arrays(u, A, B, nlocal, As, Bs) : KERNEST_OK;
    if (!st && !(st = kn_units_options(u, opt, &so, fixed)))
        *opt = so;
    return st;
}

int kernest_estimate_mpi(MPI_Comm comm, const kernest_array *const *A, const kernest_array *const *B,
                         size_t nlocal, const kernest_options *opt_in, kernest_array **K,
                         kernest_report **report)
{
    const double t0 = kn_now();
    kn_error_clear();
    if (K)
        *K = NULL;
    if (report)
        *report = NULL;
    kn_dist d = {.comm = comm};
    MPI_Comm_rank(comm, &d.rank);
    MPI_Comm_size(comm, &d.size);
    kn_session s;
    memset(&s, 0, sizeof s);
    kn_fit fit = {0};
    kernest_array *k = NULL;
    kernest_report *rep = NULL;
    kernest_options opt = opt_in ? *opt_in : (kernest_options){0};
    kn_units u = {0, 0};
    kernest_array **As = NULL, **Bs = NULL;
    kernest_fixed_pixel *fixed = NULL;
    int st = KERNEST_OK;
    if (!opt_in || !K || (nlocal && (!A || !B)))
        st = kn_error(KERNEST_E_INVALID, "kernest_estimate_mpi: NULL argument");
    else if (opt.checkpoint || opt.resume)
        st = kn_error(KERNEST_E_INVALID, "%s: not with the pairs spread over MPI ranks",
                      opt.checkpoint ? "--checkpoint" : "--resume");
    else if (opt.auto_lambda || opt.auto_model || opt.uncertainty > 0)
        st = kn_error(KERNEST_E_INVALID, "%s: not with the pairs spread over MPI ranks yet (give --reg, "
                      "--lambda and --model, or --fast)",
                      opt.uncertainty > 0 ? "--uncertainty" : opt.auto_model ? "--model auto" : "--lambda auto");
    else if (opt.background || opt.bias || opt.model == KERNEST_MODEL_LOWRANK || opt.padding ||
             !kn_geometry_is_plain(&opt.geometry))
        st = kn_error(KERNEST_E_INVALID, "%s: not with the pairs spread over MPI ranks yet",
                      opt.background ? "--background" : opt.bias ? "--bias" : opt.padding ? "--padding"
                      : opt.model == KERNEST_MODEL_LOWRANK ? "--model lowrank" : "--stride, --dilation or --groups");
    else
        st = kn_options_check(&opt);
    if ((st = agree(&d, st)))
        goto done;
    place_rank(&d, &opt);
    if ((st = agree(&d, scale_data(&d, A, B, nlocal, &opt, &u, &As, &Bs, &fixed))))
        goto done;
    if (As) { /* the solve works in scaled units: K and the report come back below */
        A = (const kernest_array *const *)As;
        B = (const kernest_array *const *)Bs;
    }
    const double t_setup = kn_now();
    if ((st = agree(&d, local_problem(&d, &s.pb, A, B, nlocal, &opt))) ||
        (st = agree(&d, kn_session_setup(&s, &opt, wrap, &d))))
        goto done;
    s.setup_seconds = kn_now() - t_setup;
    /* from here every rank runs the same iterations; failures inside them end every rank */
    d.comm_seconds = d.stage_seconds = 0; /* the solve's own, not the set-up's agreements */
    if ((st = agree(&d, kn_session_solve(&s, &opt, NULL, &fit))))
        goto done;
    if (d.rank == 0 && !(st = kernest_array_create2(s.pb.kh, s.pb.kw, &k))) {
        memcpy(k->data, fit.K, s.pb.n * sizeof *k->data);
        kn_units_kernel(&u, k->data, k->size);
    }
    if (d.rank == 0 && !st)
        st = kn_report_make(&s, &fit, &rep);
    int gst = gather_misfits(&d, &s, &fit, rep); /* collective: every rank takes part */
    if (!st)
        st = gst;
    if ((st = agree(&d, st)))
        goto done;
    if (rep) {
        rep->wall_seconds = kn_now() - t0;
        rep->ranks = d.size;
        rep->comm_seconds = d.comm_seconds;
        rep->stage_seconds = d.stage_seconds;
        kn_units_report(&u, opt.select, rep);
    }
done:
    kn_fit_free(&fit);
    kn_session_close(&s);
    kn_units_free_arrays(&As, nlocal);
    kn_units_free_arrays(&Bs, nlocal);
    free(fixed);
    if (st) {
        kernest_array_destroy(&k);
        kernest_report_destroy(&rep);
        return st;
    }
    *K = k;
    if (report)
        *report = rep;
    else
        kernest_report_destroy(&rep);
    return KERNEST_OK;
}
