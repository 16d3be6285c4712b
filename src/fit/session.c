/* session.c — one problem set up once on a backend, solved many times (see session.h). */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "backend_open.h"
#include "constraints.h"
#include "base/error.h"
#include "base/options.h"
#include "session.h"
#include "solve/solve_hooks.h"
#include "base/sysmem.h"
#include "backend/masked.h"
#include "precond.h"

/* The backend the options ask for, able to run the priors they set. The cpu and cuda backends
 * both implement every prior operation, so this only guards a backend (or a future table op)
 * without them: refused when asked for by name, passed over for the CPU under auto. */
static int open_backend(kn_session *s, const kernest_options *opt_in, kn_backend **out)
{
    kn_warnings *warnings = &s->warnings;
    kernest_options capped = *opt_in; /* --threads capped by the work (per sample, all channels) */
    capped.threads = kn_threads_for_work(opt_in->threads, (double)s->pb.grid_h * (double)s->pb.grid_w *
                                                              (double)(s->pb.cin ? s->pb.cin : 1));
    const kernest_options *opt = &capped;
    s->key = kn_backend_key_of(opt);
    int st = kn_context_take(s->ctx, opt, warnings, out);
    const char *prior = kn_priors_option(opt);
    if (st || !prior || kn_backend_has_priors((*out)->ops))
        return st;
    const char *name = (*out)->ops->name;
    kn_backend_destroy(out);
    if (opt->device != KERNEST_DEVICE_AUTO)
        return kn_error(KERNEST_E_UNSUPPORTED, "%s: not available on the %s backend yet (use --device cpu)",
                        prior, name);
    kn_warn(warnings, "device auto: %s is not available on the %s backend yet; running on the CPU",
            prior, name);
    kernest_options cpu = *opt;
    cpu.device = KERNEST_DEVICE_CPU;
    s->key = kn_backend_key_of(&cpu);
    return kn_context_take(s->ctx, &cpu, warnings, out);
}

/* Bytes of the solve on the backend: the operator, the model, the constraints' masks, the
 * solver's vectors and x, b. */
static size_t solve_bytes(const kn_backend *be, const kn_problem *pb, const kn_model *model,
                          kernest_solver solver, const kernest_options *opt, const kn_prox_spec *spec)
{
    const kernest_reg reg = opt->reg;
    const int background = opt->background || opt->bias;
    size_t kv, dv;
    if (solver == KERNEST_SOLVER_FISTA)
        kn_fista_vectors(reg, &kv, &dv);
    else if (solver == KERNEST_SOLVER_GPCG)
        kn_gpcg_vectors(reg, &kv, &dv);
    else {
        const kernest_precond pk = kn_precond_kind(opt->precond, pb, model, background);
        kn_cgls_vectors(reg, pk != KERNEST_PRECOND_NONE, &kv, &dv);
        if (pk == KERNEST_PRECOND_MEAN)
            kv += KN_PRECOND_MEAN_RANK; /* the low-rank part's vectors */
    }
    if (solver != KERNEST_SOLVER_CGLS)
        kv += kn_prox_vectors(spec);
    else if (spec->keep)
        kv += 2 + (spec->fixv != NULL); /* keep, keep ⊙ x, fixv (+ H fixv, counted as data below) */
    if (solver == KERNEST_SOLVER_CGLS && spec->fixv)
        dv += 1;
    double vec = ((double)(kv + 1) * model->nx + (double)(dv + 1) * pb->m) * be->elem_size; /* + x, b */
    double total = vec + (double)be->ops->op_bytes(be, pb) + (double)kn_model_bytes(model, be->elem_size) +
                   (background ? (double)kn_background_bytes(pb, be->elem_size) : 0.0);
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
        for (size_t j = 0; j < p->len; j++)
            b[p->offset + j] = isnan(p->B[j]) ? 0.0 : p->B[j];
    }
    return b;
}

/* Only held unknowns (support, fixed pixels), no inequality, ℓ1 or sum: CGLS over the free
 * unknowns solves that exactly, with b shifted by H(fixv), as long as the regulariser does not
 * see the held values (they are 0 or λ = 0). */
static int holds_only(const kn_prox_spec *s, const kernest_options *opt)
{
    return s->keep && s->l1 == 0 && s->tv == 0 && s->lo == -INFINITY && s->hi == INFINITY && !s->has_sum &&
           (!s->fixv || opt->reg == KERNEST_REG_NONE || opt->lambda == 0);
}

/* 1 when spec asks for more than CGLS can hold: a projection (FISTA's or GPCG's) */
static int needs_projection(const kn_prox_spec *spec, const kernest_options *opt)
{
    return kn_prox_spec_active(spec) && !holds_only(spec, opt);
}

int kn_session_gpcg_exact(const kernest_options *opt, const kn_model *model)
{
    kn_constraints cons = {0};
    if (kn_constraints_build(opt, model, &cons))
        return 0; /* the solve itself reports what is wrong */
    const int yes = needs_projection(&cons.spec, opt) && kn_gpcg_handles(&cons.spec);
    kn_constraints_free(&cons);
    return yes;
}

/* The solver asked for, or under auto: CGLS when nothing needs a projection (or only held
 * unknowns do), FISTA otherwise. GPCG by name, or where the caller sets it after
 * kn_session_gpcg_exact: scoring λ with its converged non-negative fits chose worse than with
 * FISTA's capped ones (bench/results/gpcg-trial.txt). */
static int pick_solver(const kernest_options *opt, const kn_prox_spec *spec, kernest_solver *solver)
{
    const int needs_prox = needs_projection(spec, opt);
    const char *what = opt->has_sum ? "--sum" : opt->tv > 0 ? "--reg tv" : opt->l1 > 0 ? "--reg l1" : NULL;
    if (opt->solver == KERNEST_SOLVER_CGLS && needs_prox)
        return kn_error(KERNEST_E_INVALID, "--solver cgls: cannot take %s (use --solver %s or auto)",
                        what ? what : opt->nonneg ? "--nonneg" : opt->has_bounds ? "--bounds" : "--fix with a regulariser",
                        what ? "fista" : "gpcg");
    if (opt->solver == KERNEST_SOLVER_GPCG && !kn_gpcg_handles(spec))
        return kn_error(KERNEST_E_INVALID, "--solver gpcg: cannot take %s%s (use --solver fista or auto)", what,
                        opt->has_sum || opt->tv > 0 ? "" : " without --nonneg or a lower bound >= 0");
    *solver = opt->solver != KERNEST_SOLVER_AUTO ? opt->solver
              : needs_prox ? KERNEST_SOLVER_FISTA : KERNEST_SOLVER_CGLS;
    return KERNEST_OK;
}

/* x = the estimate of the model's unknowns, on the backend (setup done, b uploaded), by the
 * solvers on sbe (kn_session_operator: the model's operator over be, with spec's keep when CGLS
 * holds unknowns). CGLS with held unknowns solves for z over the free ones with b − H(fixv),
 * then x = keep ⊙ z + fixv. */
static int solve(kn_backend *be, kn_backend *sbe, const kn_model *model, const kn_prox_spec *spec,
                 kn_fit *fit, const kn_solve_params *prm, int bg, kn_vec *b, kn_vec *x)
{
    const kn_backend_ops *o = be->ops;
    const int held = fit->solver == KERNEST_SOLVER_CGLS && spec->keep;
    kn_prox *prox = NULL;
    kn_vec *fix = NULL, *hf = NULL;
    int st = bg ? kn_model_project(sbe, b) : KERNEST_OK; /* b = P b: the background is profiled out */
    if (st)
        return st;
    if (fit->solver != KERNEST_SOLVER_CGLS) {
        kn_prox_spec box = *spec; /* GPCG: the projection alone (its ℓ1 is a linear term) */
        box.l1 = 0.0;
        if (fit->solver == KERNEST_SOLVER_GPCG)
            st = kn_prox_create(be, &box, &prox);
        else if (kn_prox_spec_active(spec))
            st = kn_prox_create(be, spec, &prox);
        if (st)
            return st;
        if (!st)
            st = fit->solver == KERNEST_SOLVER_GPCG ? kn_gpcg(sbe, b, prm, spec, prox, x, &fit->res, &fit->gpcg)
                                                    : kn_fista(sbe, b, prm, prox, x, &fit->res, &fit->info);
        kn_prox_destroy(be, &prox);
        return st;
    }
    if (held && spec->fixv) {
        if ((st = o->vec_create(be, model->nx, &fix)) || (st = o->vec_upload(be, fix, spec->fixv)) ||
            (st = o->vec_create(be, b->n, &hf)) || (st = kn_model_forward(sbe, fix, hf)) ||
            (st = o->vec_axpy(be, b, -1.0, hf))) /* b −= H fixv */
            goto done;
    }
    if ((st = kn_cgls(sbe, b, prm, x, &fit->res)))
        goto done;
    if (held && spec->fixv)
        st = o->vec_axpy(be, x, 1.0, fix); /* held entries of z stayed 0: CGLS never moves them */
done:
    o->vec_destroy(be, &fix);
    o->vec_destroy(be, &hf);
    return st;
}

/* The model, its constraints and the solver opt asks for, with the bytes of the whole solve. */
static int plan_solve(const kn_backend *be, const kn_problem *pb, const kernest_options *opt,
                      const kn_model *model, kn_constraints *cons, kernest_solver *solver, size_t *bytes)
{
    int st;
    if ((st = kn_constraints_build(opt, model, cons)) || (st = pick_solver(opt, &cons->spec, solver)))
        return st;
    *bytes = solve_bytes(be, pb, model, *solver, opt, &cons->spec);
    return KERNEST_OK;
}

/* The model opt asks for on pb's kernels (lowrank: the larger half-step, for memory). */
static int model_for(const kn_problem *pb, const kernest_options *opt, kn_model *model)
{
    return kn_model_init_nk(model, opt->model, opt->order, pb->kh, pb->kw, kn_problem_kernels(pb));
}

/* Everything after the backend is chosen: memory check, operator set-up, upload of b. */
static int setup_backend(kn_session *s, const kernest_options *opt)
{
    kn_model model = {0};
    kn_constraints cons = {0};
    kernest_solver solver;
    size_t need;
    int st = model_for(&s->pb, opt, &model);
    if (!st)
        st = plan_solve(s->be, &s->pb, opt, &model, &cons, &solver, &need);
    kn_constraints_free(&cons);
    kn_model_free(&model);
    if (st || (st = check_memory(s->be, need)))
        return st;
    if (!s->host_b && !(s->host_b = gather_data(&s->pb)))
        return kn_error(KERNEST_E_NOMEM, "out of memory for the data (%zu values)", s->pb.m);
    const kn_backend_ops *o = s->be->ops;
    if ((st = o->op_setup(s->be, &s->pb)) || (st = o->vec_create(s->be, s->pb.m, &s->b)) ||
        (st = o->vec_upload(s->be, s->b, s->host_b)))
        return st;
    return KERNEST_OK;
}

int kn_session_open(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                    size_t npairs, const kernest_options *opt, kernest_context *ctx)
{
    const double t0 = kn_now();
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    int st = kn_options_check(opt);
    if (st || (st = kn_problem_init_channels(&s->pb, A, B, npairs, opt->mode, opt->kh, opt->kw, opt->layout, 1,
                                             &opt->geometry, opt->input_names)))
        return st;
    s->pb.shared_offsets = opt->bias;
    if ((st = kn_session_setup(s, opt, NULL, NULL)))
        return st;
    s->setup_seconds = kn_now() - t0;
    return KERNEST_OK;
}

void kn_session_phase(kn_session *s, const char *fmt, ...)
{
    s->phase[0] = '\0';
    if (!fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->phase, sizeof s->phase, fmt, ap);
    va_end(ap);
}

int kn_session_open_fold(kn_session *s, kn_session *base, const kernest_array *const *A,
                         const kernest_array *const *B, size_t npairs, const kernest_options *opt)
{
    const double t0 = kn_now();
    memset(s, 0, sizeof *s);
    const kernest_geometry g = kn_problem_geometry(&base->pb);
    int st = kn_options_check(opt);
    if (st || (st = kn_problem_init_channels(&s->pb, A, B, npairs, opt->mode, base->pb.kh, base->pb.kw, opt->layout,
                                             1, &g, opt->input_names)))
        return st;
    s->pb.shared_offsets = base->pb.shared_offsets;
    if (s->pb.m != base->pb.m || s->pb.npairs != base->pb.npairs || s->pb.grid_h != base->pb.grid_h ||
        s->pb.grid_w != base->pb.grid_w)
        return kn_error(KERNEST_E_INVALID, "internal: a fold's problem differs from its session's");
    s->wrapped = 1; /* the wrapper is destroyed on close; base's backend stays */
    s->base = base;
    const kn_backend_ops *o = base->be->ops;
    if (!(s->host_b = gather_data(&s->pb)))
        return kn_error(KERNEST_E_NOMEM, "out of memory for the data (%zu values)", s->pb.m);
    if ((st = kn_backend_masked(base->be, &s->pb, &s->be)) || (st = o->vec_create(base->be, s->pb.m, &s->b)) ||
        (st = o->vec_upload(base->be, s->b, s->host_b)))
        return st;
    s->setup_seconds = kn_now() - t0;
    return KERNEST_OK;
}

/* opens the backend opt asks for and wraps it when asked */
static int open_wrapped(kn_session *s, const kernest_options *opt, kn_backend_wrap wrap, void *ctx)
{
    int st = open_backend(s, opt, &s->be);
    if (st || !wrap)
        return st;
    s->wrapped = 1;
    kn_backend *inner = s->be;
    s->be = NULL;
    return wrap(ctx, inner, &s->be); /* on failure wrap destroyed inner */
}

int kn_session_setup(kn_session *s, const kernest_options *opt, kn_backend_wrap wrap, void *ctx)
{
    const double t0 = kn_now();
    int st = open_wrapped(s, opt, wrap, ctx);
    if (st)
        return st;
    st = setup_backend(s, opt);
    /* device auto: a GPU that fails to set up (memory, cuFFT plans) hands over to the CPU */
    if (st && opt->device == KERNEST_DEVICE_AUTO && strcmp(s->be->ops->name, "cpu") &&
        (st == KERNEST_E_TOOBIG || !kernest_status_is_input_error(st))) {
        kn_warn(&s->warnings, "device auto: the %s backend failed to set up (%s); running on the CPU",
                s->be->ops->name, kernest_last_error());
        s->be->ops->vec_destroy(s->be, &s->b);
        kn_backend_destroy(&s->be);
        kernest_options cpu = *opt;
        cpu.device = KERNEST_DEVICE_CPU;
        if (!(st = open_wrapped(s, &cpu, wrap, ctx)))
            st = setup_backend(s, &cpu);
    }
    if (st)
        return st;
    s->setup_seconds = kn_now() - t0;
    return KERNEST_OK;
}

/* the session that keeps s's operators: its base for a fold */
static kn_session *keeper(kn_session *s)
{
    return s->base ? s->base : s;
}

int kn_session_operator(kn_session *s, const kn_model *model, const double *keep, int bg, kn_backend **sbe)
{
    const kn_problem *pb = bg ? &s->pb : NULL;
    kn_session *own = keeper(s);
    for (int i = 0; i < 2 && own->ops[i]; i++) {
        int reused = 0;
        const int st = kn_model_backend_refill(own->ops[i], model, s->be, keep, pb, &reused);
        if (st) { /* half refilled: not to be used again */
            kn_session_drop_operators(s);
            return st;
        }
        if (reused) {
            kn_backend *hit = own->ops[i]; /* most recent first */
            own->ops[i] = own->ops[0];
            own->ops[0] = hit;
            own->ops_reused++;
            *sbe = hit;
            return KERNEST_OK;
        }
    }
    kn_backend *made = NULL;
    int st = kn_model_backend_bg(model, s->be, keep, pb, &made);
    if (st)
        return st;
    own->ops_built += made != s->be;
    if (made != s->be) { /* the older one gives way */
        kn_backend_destroy(&own->ops[1]);
        own->ops[1] = own->ops[0];
        own->ops[0] = made;
    }
    *sbe = made;
    return KERNEST_OK;
}

void kn_session_drop_operators(kn_session *s)
{
    kn_session *own = keeper(s);
    kn_backend_destroy(&own->ops[0]);
    kn_backend_destroy(&own->ops[1]);
}

void kn_session_close(kn_session *s)
{
    kn_session_drop_operators(s); /* a fold's: they may wrap its backend, about to go */
    if (s->be)
        s->be->ops->vec_destroy(s->be, &s->b);
    if (s->wrapped) /* the wrapper owns what the context lent */
        kn_backend_destroy(&s->be);
    else
        kn_context_give(s->ctx, s->key, &s->be);
    kn_problem_free(&s->pb);
    free(s->host_b);
    kn_warnings_free(&s->warnings);
    memset(s, 0, sizeof *s);
}

void kn_fit_free(kn_fit *f)
{
    kn_model_free(&f->model);
    free(f->x);
    free(f->K);
    free(f->hx);
    free(f->res.history);
    free(f->beta);
    kn_warnings_free(&f->warnings);
    memset(f, 0, sizeof *f);
}

static int solve_model(kn_session *s, const kernest_options *opt, kn_model *model_in, const double *x0,
                       const double *data, const double *shift, kn_fit *fit);

int kn_session_solve_model(kn_session *s, const kernest_options *opt, kn_model *model, const double *x0,
                           const double *data, const double *shift, kn_fit *fit)
{
    return solve_model(s, opt, model, x0, data, shift, fit);
}

/* One solve of model (taken into fit->model) on the session, from x0, with other data and a
 * kernel-space right-hand side when given (NULL: the session's b, none). */
static int solve_model(kn_session *s, const kernest_options *opt, kn_model *model_in, const double *x0,
                       const double *data, const double *shift, kn_fit *fit)
{
    memset(fit, 0, sizeof *fit);
    fit->model = *model_in; /* taken: freed with the fit */
    memset(model_in, 0, sizeof *model_in);
    int st;
    kn_backend *be = s->be, *sbe = NULL; /* sbe: what the solver runs on (be, or H∘Φ over be) */
    const kn_backend_ops *o = be->ops;
    const kn_problem *pb = &s->pb;
    kn_constraints cons = {0};
    kn_vec *x = NULL, *b = NULL, *hx = NULL, *g = NULL, *pc = NULL, *pw[KN_PRECOND_LR_MAX] = {NULL};
    kn_precond_host ph = {0};
    kn_precond_lr lr = {0};
    double *z0 = NULL, *g0 = NULL;
    kn_run_hooks rh = {0};
    kn_solve_params prm = {.reg = opt->reg, .lambda = opt->lambda, .tol = opt->tol, .maxiter = opt->maxiter};
    if ((st = plan_solve(be, pb, opt, &fit->model, &cons, &fit->solver, &fit->bytes_needed)))
        goto done;
    if ((st = kn_host_check("--maxiter: the residual history", (size_t)opt->maxiter + 1, sizeof(double))))
        goto done;
    if ((opt->background || opt->bias) && !(fit->beta = calloc(kn_background_count(pb) ? kn_background_count(pb) : 1,
                                                sizeof *fit->beta))) {
        st = kn_error(KERNEST_E_NOMEM, "--background: out of memory");
        goto done;
    }
    const kn_model *model = &fit->model;
    /* the operator is allocated already: check what this solve adds to it (the models' operators
     * kept from earlier solves give their memory back first when it is short) */
    const size_t op = o->op_bytes(be, pb), need = fit->bytes_needed > op ? fit->bytes_needed - op : 0;
    if ((st = check_memory(be, need)) && keeper(s)->ops[0]) {
        kn_session_drop_operators(s);
        st = check_memory(be, need);
    }
    if (st)
        goto done;
    if (!(fit->x = malloc((model->nx ? model->nx : 1) * sizeof *fit->x)) ||
        !(fit->K = malloc((pb->n ? pb->n : 1) * sizeof *fit->K)) ||
        !(fit->hx = malloc((pb->m ? pb->m : 1) * sizeof *fit->hx))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the estimate (%zu values)", pb->n + pb->m);
        goto done;
    }
    /* b is copied: the solvers may shift it (held values) and b's storage becomes H x */
    if ((st = o->vec_create(be, model->nx, &x)) || (st = o->vec_create(be, pb->m, &b)) ||
        (st = data ? o->vec_upload(be, b, data) : o->vec_copy(be, b, s->b)))
        goto done;
    if (shift) { /* CGLS over the free unknowns: the held ones take no right-hand side */
        const int held = fit->solver == KERNEST_SOLVER_CGLS && cons.spec.keep;
        if (held && !(g0 = malloc(model->nx * sizeof *g0))) {
            st = kn_error(KERNEST_E_NOMEM, "out of memory for the right-hand side");
            goto done;
        }
        for (size_t i = 0; held && i < model->nx; i++)
            g0[i] = cons.spec.keep[i] * shift[i];
        if ((st = o->vec_create(be, model->nx, &g)) || (st = o->vec_upload(be, g, held ? g0 : shift)))
            goto done;
    }
    if (x0) {
        const int held = fit->solver == KERNEST_SOLVER_CGLS && cons.spec.keep;
        if (held) { /* CGLS over the free unknowns: start from keep ⊙ x0 (held ones are 0 in z) */
            if (!(z0 = malloc(model->nx * sizeof *z0))) {
                st = kn_error(KERNEST_E_NOMEM, "out of memory for the starting point");
                goto done;
            }
            for (size_t i = 0; i < model->nx; i++)
                z0[i] = cons.spec.keep[i] * x0[i];
        }
        if ((st = o->vec_upload(be, x, held ? z0 : x0)))
            goto done;
    }
    const kernest_precond pk = fit->solver == KERNEST_SOLVER_CGLS
                                   ? kn_precond_kind(opt->precond, pb, model, opt->background || opt->bias)
                                   : KERNEST_PRECOND_NONE;
    if (pk != KERNEST_PRECOND_NONE) { /* M⁻¹, from A and the prior */
        if ((st = kn_precond_build(be, pb, model, opt->reg, opt->lambda, opt->background || opt->bias, pk, &ph)) ||
            (st = o->vec_create(be, model->nx, &pc)) || (st = o->vec_upload(be, pc, ph.dinv)))
            goto done;
        for (size_t i = 0; i < ph.k; i++) {
            double *wi = ph.w + i * model->nx;
            for (size_t j = 0; cons.spec.keep && j < model->nx; j++)
                wi[j] *= cons.spec.keep[j]; /* held unknowns stay put: M⁻¹ compressed to the free ones */
            if ((st = o->vec_create(be, model->nx, &pw[i])) || (st = o->vec_upload(be, pw[i], wi)))
                goto done;
        }
        lr = (kn_precond_lr){.k = ph.k, .w = pw, .cinv = ph.cinv};
        prm.precond = pc;
        prm.precond_lr = ph.k ? &lr : NULL;
        fit->precond = ph.k ? 2 : 1;
    }
    /* progress, checkpoints, resume (a resumed solver replaces x by the checkpoint's) */
    if ((st = kn_run_hooks_init(&rh, pb, opt, fit->solver,
                                be->precision, &fit->warnings, &prm)))
        goto done;
    fit->resumed_from = rh.first_iteration;
    rh.phase = s->phase[0] ? s->phase : NULL;
    const double t1 = kn_now();
    prm.shift = g;
    const int bg = opt->background || opt->bias;
    if ((st = kn_session_operator(s, model, fit->solver == KERNEST_SOLVER_CGLS ? cons.spec.keep : NULL, bg, &sbe)) ||
        (st = solve(be, sbe, model, &cons.spec, fit, &prm, bg, b, x)))
        goto done;
    fit->solve_seconds = kn_now() - t1;
    hx = b; /* b is no longer needed: its storage takes H x */
    b = NULL;
    if ((st = o->vec_download(be, x, fit->x)) || (st = kn_model_predict(sbe, x, hx)) ||
        (st = o->vec_download(be, hx, fit->hx)))
        goto done;
    kn_model_kernel(model, fit->x, fit->K);
    if (fit->beta) { /* β = (EᵀE)⁻¹Eᵀ(b − H K), then H K + E β is the prediction */
        if ((st = kn_background_offsets(pb, data ? data : s->host_b, fit->hx, fit->beta)))
            goto done;
        kn_background_add(pb, fit->beta, fit->hx);
    }
done:
    o->vec_destroy(be, &x);
    o->vec_destroy(be, &b);
    o->vec_destroy(be, &hx);
    o->vec_destroy(be, &g);
    o->vec_destroy(be, &pc);
    for (size_t i = 0; i < KN_PRECOND_LR_MAX; i++)
        if (pw[i])
            o->vec_destroy(be, &pw[i]);
    kn_precond_host_free(&ph);
    kn_constraints_free(&cons);
    free(z0);
    kn_run_hooks_free(&rh);
    free(g0);
    return st;
}
