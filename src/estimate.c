/* estimate.c — kernest_estimate: validate, pick a backend, check memory, set up, solve, report. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "clock.h"
#include "error.h"
#include "solver.h"
#include "sysmem.h"

static int check_options(const kernest_options *opt)
{
    if ((unsigned)opt->reg > KERNEST_REG_GRAD)
        return kn_error(KERNEST_E_INVALID, "--reg: unknown regulariser %d", (int)opt->reg);
    if (!(opt->lambda >= 0) || !isfinite(opt->lambda))
        return kn_error(KERNEST_E_INVALID, "--lambda: must be a finite number >= 0, got %g", opt->lambda);
    if (!(opt->tol >= 0) || !isfinite(opt->tol))
        return kn_error(KERNEST_E_INVALID, "--tol: must be a finite number >= 0, got %g", opt->tol);
    if (opt->maxiter < 0)
        return kn_error(KERNEST_E_INVALID, "--maxiter: must be >= 0, got %d", opt->maxiter);
    if ((unsigned)opt->precision > KERNEST_PRECISION_DEFAULT)
        return kn_error(KERNEST_E_INVALID, "--precision: unknown precision %d", (int)opt->precision);
    return KERNEST_OK;
}

/* Bytes of the solve on the backend: the operator plus the solver's vectors and b. */
static size_t solve_bytes(const kn_backend *be, const kn_problem *pb, kernest_reg reg)
{
    size_t kv, dv;
    kn_cgls_vectors(reg, &kv, &dv);
    double vec = ((double)(kv + 1) * pb->n + (double)(dv + 1) * pb->m) * be->elem_size; /* + x, b */
    double total = vec + (double)be->ops->op_bytes(be, pb);
    return total >= (double)SIZE_MAX ? SIZE_MAX : (size_t)total;
}

static int check_memory(kn_backend *be, size_t need)
{
    size_t avail;
    int st = be->ops->mem_available(be, &avail);
    if (st)
        return st;
    if (need > avail) {
        char a[32], b[32];
        return kn_error(KERNEST_E_TOOBIG, "--ksize: the solve needs %s (%zu bytes) on %s but only %s "
                        "is available; try --precision single, a smaller --ksize%s",
                        kn_format_bytes(need, a, sizeof a), need, be->ops->name,
                        kn_format_bytes(avail, b, sizeof b),
                        strcmp(be->ops->name, "cpu") ? " or --device cpu" : "");
    }
    return KERNEST_OK;
}

/* b = B with NaN -> 0 (the mask removes those pixels from the fit), pairs concatenated */
static double *gather_data(const kn_problem *pb)
{
    double *b = malloc((pb->m ? pb->m : 1) * sizeof *b);
    if (!b)
        return NULL;
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        for (size_t j = 0; j < p->hb * p->wb; j++)
            b[p->offset + j] = isnan(p->B[j]) ? 0.0 : p->B[j];
    }
    return b;
}

/* Misfit per pair of the final estimate, recomputed from H x (not the recursive residual). */
static void pair_misfits(const kn_problem *pb, const double *hx, kernest_pair_misfit *mf)
{
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        double sse = 0.0;
        for (size_t j = 0; j < p->hb * p->wb; j++)
            if (!isnan(p->B[j])) {
                double d = hx[p->offset + j] - p->B[j];
                sse += d * d;
            }
        mf[i].count = p->nobs;
        mf[i].sse = sse;
        mf[i].rms = p->nobs ? sqrt(sse / (double)p->nobs) : 0.0;
    }
}

void kernest_report_destroy(kernest_report **r)
{
    if (!r || !*r)
        return;
    free((*r)->residual_history);
    free((*r)->misfit);
    free(*r);
    *r = NULL;
}

int kernest_estimate(const kernest_array *const *A, const kernest_array *const *B, size_t npairs,
                     const kernest_options *opt, kernest_array **K, kernest_report **report)
{
    const double t0 = kn_now();
    kn_error_clear();
    if (!A || !B || !opt || !K)
        return kn_error(KERNEST_E_INVALID, "kernest_estimate: NULL argument");
    int st = check_options(opt);
    if (st)
        return st;
    kn_problem pb;
    st = kn_problem_init(&pb, A, B, npairs, opt->mode, opt->kh, opt->kw, opt->input_names);
    if (st)
        return st;
    kn_backend *be = NULL;
    kn_vec *x = NULL, *b = NULL, *hx = NULL;
    double *host_b = NULL, *host_hx = NULL;
    kernest_array *k = NULL;
    kernest_report *rep = calloc(1, sizeof *rep);
    kn_solve_result res = {0};
    if (!rep || !(rep->misfit = calloc(npairs, sizeof *rep->misfit))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = kn_backend_open(opt, &be)))
        goto done;
    rep->bytes_needed = solve_bytes(be, &pb, opt->reg);
    if ((st = check_memory(be, rep->bytes_needed)))
        goto done;
    if ((st = kernest_array_create2(pb.kh, pb.kw, &k)))
        goto done;
    if (!(host_b = gather_data(&pb)) || !(host_hx = malloc((pb.m ? pb.m : 1) * sizeof *host_hx))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the data (%zu values)", pb.m);
        goto done;
    }
    const kn_backend_ops *o = be->ops;
    if ((st = o->op_setup(be, &pb)) || (st = o->vec_create(be, pb.n, &x)) ||
        (st = o->vec_create(be, pb.m, &b)) || (st = o->vec_upload(be, b, host_b)))
        goto done;
    const double t1 = kn_now();
    kn_solve_params prm = {opt->reg, opt->lambda, opt->tol, opt->maxiter};
    if ((st = kn_cgls(be, b, &prm, x, &res)))
        goto done;
    const double t2 = kn_now();
    /* b is no longer needed: reuse its storage for H x */
    hx = b;
    b = NULL;
    if ((st = o->vec_download(be, x, k->data)) || (st = o->op_apply(be, x, hx)) ||
        (st = o->vec_download(be, hx, host_hx)))
        goto done;
    pair_misfits(&pb, host_hx, rep->misfit);
    rep->reason = res.reason;
    rep->iterations = res.iterations;
    rep->residual_history = res.history;
    res.history = NULL;
    rep->npairs = npairs;
    rep->kh = pb.kh;
    rep->kw = pb.kw;
    rep->grid_h = pb.grid_h;
    rep->grid_w = pb.grid_w;
    snprintf(rep->device, sizeof rep->device, "%s", be->device);
    snprintf(rep->backend, sizeof rep->backend, "%s", o->name);
    rep->precision = be->precision;
    rep->setup_seconds = t1 - t0;
    rep->solve_seconds = t2 - t1;
    rep->wall_seconds = kn_now() - t0;
done:
    if (be) {
        be->ops->vec_destroy(be, &x);
        be->ops->vec_destroy(be, &b);
        be->ops->vec_destroy(be, &hx);
    }
    kn_backend_destroy(&be);
    kn_problem_free(&pb);
    free(host_b);
    free(host_hx);
    free(res.history);
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
