/* estimate.c — kernest_estimate: validate, pick a backend, check memory, set up, solve, report. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "clock.h"
#include "constraints.h"
#include "error.h"
#include "fista.h"
#include "model_op.h"
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
    if ((unsigned)opt->model > KERNEST_MODEL_RADIAL)
        return kn_error(KERNEST_E_INVALID, "--model: unknown model %d", (int)opt->model);
    if ((unsigned)opt->solver > KERNEST_SOLVER_FISTA)
        return kn_error(KERNEST_E_INVALID, "--solver: unknown solver %d", (int)opt->solver);
    if (!(opt->l1 >= 0) || !isfinite(opt->l1))
        return kn_error(KERNEST_E_INVALID, "--reg l1: the weight must be a finite number >= 0, got %g", opt->l1);
    if (opt->has_bounds && (isnan(opt->lower) || isnan(opt->upper) || opt->lower > opt->upper ||
                            opt->lower == INFINITY || opt->upper == -INFINITY))
        return kn_error(KERNEST_E_INVALID, "--bounds: need LO <= HI, got %g,%g", opt->lower, opt->upper);
    if (opt->has_sum && !isfinite(opt->sum))
        return kn_error(KERNEST_E_INVALID, "--sum: must be a finite number, got %g", opt->sum);
    if ((unsigned)opt->support > KERNEST_SUPPORT_MASK)
        return kn_error(KERNEST_E_INVALID, "--support: unknown kind %d", (int)opt->support);
    if (opt->support == KERNEST_SUPPORT_MASK && !opt->support_mask)
        return kn_error(KERNEST_E_INVALID, "--support: the mask is NULL");
    if (opt->nfixed && !opt->fixed)
        return kn_error(KERNEST_E_INVALID, "--fix: %zu fixed pixels but the list is NULL", opt->nfixed);
    return KERNEST_OK;
}

/* The backend the options ask for, able to run the priors they set: a CUDA backend without the
 * prior operations is refused when asked for by name, and passed over for the CPU under auto. */
static int open_backend(const kernest_options *opt, kn_backend **out)
{
    int st = kn_backend_open(opt, out);
    const char *prior = kn_priors_option(opt);
    if (st || !prior || kn_backend_has_priors((*out)->ops))
        return st;
    const char *name = (*out)->ops->name;
    kn_backend_destroy(out);
    if (opt->device != KERNEST_DEVICE_AUTO)
        return kn_error(KERNEST_E_UNSUPPORTED, "%s: not available on the %s backend yet (use --device cpu)",
                        prior, name);
    kernest_options cpu = *opt;
    cpu.device = KERNEST_DEVICE_CPU;
    return kn_backend_open(&cpu, out);
}

/* Bytes of the solve on the backend: the operator, the model, the constraints' masks, the
 * solver's vectors and x, b. */
static size_t solve_bytes(const kn_backend *be, const kn_problem *pb, const kn_model *model,
                          int fista, kernest_reg reg, const kn_prox_spec *spec)
{
    size_t kv, dv;
    if (fista)
        kn_fista_vectors(reg, &kv, &dv);
    else
        kn_cgls_vectors(reg, &kv, &dv);
    if (fista)
        kv += kn_prox_vectors(spec);
    else if (spec->keep)
        kv += 2 + (spec->fixv != NULL); /* keep, keep ⊙ x, fixv (+ H fixv, counted as data below) */
    if (!fista && spec->fixv)
        dv += 1;
    double vec = ((double)(kv + 1) * model->nx + (double)(dv + 1) * pb->m) * be->elem_size; /* + x, b */
    double total = vec + (double)be->ops->op_bytes(be, pb) + (double)kn_model_bytes(model, be->elem_size);
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
    free((*r)->profile);
    free(*r);
    *r = NULL;
}

/* Only held unknowns (support, fixed pixels), no inequality, ℓ1 or sum: CGLS over the free
 * unknowns solves that exactly, with b shifted by H(fixv), as long as the regulariser does not
 * see the held values (they are 0 or λ = 0). */
static int holds_only(const kn_prox_spec *s, const kernest_options *opt)
{
    return s->keep && s->l1 == 0 && s->lo == -INFINITY && s->hi == INFINITY && !s->has_sum &&
           (!s->fixv || opt->reg == KERNEST_REG_NONE || opt->lambda == 0);
}

/* FISTA when asked for, or under auto when a constraint or l1 needs it; CGLS otherwise. */
static int pick_solver(const kernest_options *opt, const kn_prox_spec *spec, int *fista)
{
    const int needs_prox = kn_prox_spec_active(spec) && !holds_only(spec, opt);
    if (opt->solver == KERNEST_SOLVER_CGLS && needs_prox)
        return kn_error(KERNEST_E_INVALID, "--solver cgls: cannot take %s (use --solver fista or auto)",
                        kn_priors_option(opt));
    *fista = opt->solver == KERNEST_SOLVER_FISTA || (opt->solver == KERNEST_SOLVER_AUTO && needs_prox);
    return KERNEST_OK;
}

/* x = the estimate of the model's unknowns, on the backend (setup done, b uploaded). CGLS with
 * held unknowns solves for z over the free ones with b − H(fixv), then x = keep ⊙ z + fixv. */
static int solve(kn_backend *be, const kn_model *model, const kn_prox_spec *spec, int fista,
                 const kn_solve_params *prm, kn_vec *b, kn_vec *x, kn_backend **sbe,
                 kn_solve_result *res, kn_fista_info *info)
{
    const kn_backend_ops *o = be->ops;
    const int held = !fista && spec->keep;
    kn_prox *prox = NULL;
    kn_vec *fix = NULL, *hf = NULL;
    int st = kn_model_backend(model, be, held ? spec->keep : NULL, sbe);
    if (st)
        return st;
    if (fista) {
        if (kn_prox_spec_active(spec) && (st = kn_prox_create(be, spec, &prox)))
            return st;
        st = kn_fista(*sbe, b, prm, prox, x, res, info);
        kn_prox_destroy(be, &prox);
        return st;
    }
    if (held && spec->fixv) {
        if ((st = o->vec_create(be, model->nx, &fix)) || (st = o->vec_upload(be, fix, spec->fixv)) ||
            (st = o->vec_create(be, b->n, &hf)) || (st = kn_model_forward(*sbe, fix, hf)) ||
            (st = o->vec_axpy(be, b, -1.0, hf))) /* b −= H fixv */
            goto done;
    }
    if ((st = kn_cgls(*sbe, b, prm, x, res)))
        goto done;
    if (held && spec->fixv)
        st = o->vec_axpy(be, x, 1.0, fix); /* held entries of z stayed 0: CGLS never moves them */
done:
    o->vec_destroy(be, &fix);
    o->vec_destroy(be, &hf);
    return st;
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
    kn_backend *be = NULL, *sbe = NULL; /* sbe: what the solver runs on (be, or H∘Φ over be) */
    kn_vec *x = NULL, *b = NULL, *hx = NULL;
    kn_model model = {0};
    kn_constraints cons = {0};
    double *host_b = NULL, *host_hx = NULL, *host_x = NULL;
    kernest_array *k = NULL;
    kernest_report *rep = calloc(1, sizeof *rep);
    kn_solve_result res = {0};
    kn_fista_info info = {0};
    int fista = 0;
    if (!rep || !(rep->misfit = calloc(npairs, sizeof *rep->misfit))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = kn_model_init(&model, opt->model, pb.kh, pb.kw)) ||
        (st = kn_constraints_build(opt, &model, &cons)) || (st = pick_solver(opt, &cons.spec, &fista)))
        goto done;
    if ((st = open_backend(opt, &be)))
        goto done;
    rep->bytes_needed = solve_bytes(be, &pb, &model, fista, opt->reg, &cons.spec);
    if ((st = check_memory(be, rep->bytes_needed)) ||
        (st = kn_host_check("--maxiter: the residual history", (size_t)opt->maxiter + 1, sizeof(double))))
        goto done;
    if ((st = kernest_array_create2(pb.kh, pb.kw, &k)))
        goto done;
    if (!(host_b = gather_data(&pb)) || !(host_hx = malloc((pb.m ? pb.m : 1) * sizeof *host_hx)) ||
        !(host_x = malloc((model.nx ? model.nx : 1) * sizeof *host_x))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the data (%zu values)", pb.m);
        goto done;
    }
    const kn_backend_ops *o = be->ops;
    if ((st = o->op_setup(be, &pb)) || (st = o->vec_create(be, model.nx, &x)) ||
        (st = o->vec_create(be, pb.m, &b)) || (st = o->vec_upload(be, b, host_b)))
        goto done;
    const double t1 = kn_now();
    kn_solve_params prm = {opt->reg, opt->lambda, opt->tol, opt->maxiter};
    if ((st = solve(be, &model, &cons.spec, fista, &prm, b, x, &sbe, &res, &info)))
        goto done;
    const double t2 = kn_now();
    /* b is no longer needed: reuse its storage for H x */
    hx = b;
    b = NULL;
    if ((st = o->vec_download(be, x, host_x)) || (st = kn_model_forward(sbe, x, hx)) ||
        (st = o->vec_download(be, hx, host_hx)))
        goto done;
    kn_model_kernel(&model, host_x, k->data);
    if (model.kind != KERNEST_MODEL_PIXEL) {
        rep->profile = host_x;
        rep->nprofile = model.nx;
        host_x = NULL;
    }
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
    snprintf(rep->solver, sizeof rep->solver, "%s", fista ? "fista" : "cgls");
    rep->model = model.kind;
    rep->lipschitz = info.lipschitz;
    rep->restarts = info.restarts;
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
    if (sbe != be)
        kn_backend_destroy(&sbe);
    kn_backend_destroy(&be);
    kn_constraints_free(&cons);
    kn_model_free(&model);
    kn_problem_free(&pb);
    free(host_b);
    free(host_hx);
    free(host_x);
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
