/* test_hooks.c — per-iteration hooks: progress callback, stop, checkpoints and bitwise resume,
 * non-finite stops, device auto fallback, and the CLI's --log, progress line and signals. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "solve/fista.h"
#include "kernest.h"
#include "backend/problem.h"
#include "solve/cgls.h"
#include "testutil.h"

extern char **environ;

TestSuite(hooks, .init = tu_dir_setup, .fini = tu_dir_teardown);

#define CA(x) ((const kernest_array *const *)(x))

/* A 16×16 random A, a smooth positive 31×31 K, B = same(A ⊛ K) + noise of 1e-3 (scaled) */
static void problem(double scale, kernest_array **A, kernest_array **B)
{
    tu_smooth_problem(99, scale, 0.0, A, B);
}

/* ---- the progress callback ---- */

typedef struct record {
    int n, stop_at, first;
    int iters[512];
    double res[512];
    char solver[16];
} record;

static int on_progress(void *user, const kernest_progress *p)
{
    record *r = user;
    if (r->n < 512) {
        r->iters[r->n] = p->iteration;
        r->res[r->n] = p->residual;
    }
    r->n++;
    r->first = p->first_iteration;
    snprintf(r->solver, sizeof r->solver, "%s", p->solver);
    return r->stop_at > 0 && p->iteration >= r->stop_at;
}

Test(hooks, progress_sees_every_iteration)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *rep = NULL;
    problem(1.0, &A, &B);
    const char *solvers[] = {"cgls", "fista"};
    for (int s = 0; s < 2; s++) {
        kernest_options o = tu_cpu_options(0, 0);
        record rec = {0};
        o.tol = 1e-8;
        o.maxiter = 80;
        o.solver = s ? KERNEST_SOLVER_FISTA : KERNEST_SOLVER_CGLS;
        o.progress = on_progress;
        o.progress_user = &rec;
        cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &rep), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(rec.n, rep->iterations, "%s: %d calls for %d iterations", solvers[s], rec.n, rep->iterations);
        cr_assert_gt(rep->iterations, 3);
        for (int i = 0; i < rec.n; i++) {
            cr_assert_eq(rec.iters[i], i + 1);
            cr_assert_eq(rec.res[i], rep->residual_history[i + 1]);
        }
        cr_assert_str_eq(rec.solver, solvers[s]);
        cr_assert_eq(rec.first, 0);
        kernest_array_destroy(&K);
        kernest_report_destroy(&rep);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* stopping at k gives exactly the estimate of a solve capped at k iterations */
Test(hooks, stop_is_interrupted_with_current_iterate)
{
    kernest_array *A, *B, *K1 = NULL, *K2 = NULL;
    kernest_report *r1 = NULL, *r2 = NULL;
    problem(1.0, &A, &B);
    kernest_options o = tu_cpu_options(0, 0);
    o.tol = 0;
    o.maxiter = 7;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K1, &r1), KERNEST_OK);
    record rec = {.stop_at = 7};
    o.maxiter = 100;
    o.progress = on_progress;
    o.progress_user = &rec;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K2, &r2), KERNEST_OK);
    cr_assert_eq(r2->reason, KERNEST_STOP_INTERRUPTED);
    cr_assert_str_eq(kernest_stop_reason_name(r2->reason), "interrupted");
    cr_assert_eq(r2->iterations, 7);
    cr_assert_eq(memcmp(K1->data, K2->data, K1->size * sizeof(double)), 0);
    kernest_array_destroy(&K1);
    kernest_array_destroy(&K2);
    kernest_report_destroy(&r1);
    kernest_report_destroy(&r2);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* ---- checkpoints: stop at k, resume, compare with the uninterrupted solve bit for bit ---- */

typedef struct resume_case {
    char name[32]; /* an array: Criterion's workers may not share the parent's addresses */
    kernest_solver solver;
    kernest_reg reg;
    double lambda, l1;
    int nonneg, has_sum;
    kernest_support_kind support;
    kernest_model model;
    kernest_precision precision;
    int nfixed;
    double tol; /* 0: 1e-14, the maxiter cap stops; else a stop by CGLS's flat-objective test
                   within 10 iterations of the resume, whose window the checkpoint must carry */
} resume_case;

ParameterizedTestParameters(hooks, resume_is_bitwise_identical)
{
    static resume_case cases[] = {
        {"cgls", KERNEST_SOLVER_CGLS, KERNEST_REG_NONE, 0, 0, 0, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_PIXEL, KERNEST_DOUBLE, 0, 0},
        {"cgls grad", KERNEST_SOLVER_CGLS, KERNEST_REG_GRAD, 0.1, 0, 0, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_PIXEL, KERNEST_DOUBLE, 0, 0},
        {"cgls held pixels", KERNEST_SOLVER_AUTO, KERNEST_REG_NONE, 0, 0, 0, 0, KERNEST_SUPPORT_DISK, KERNEST_MODEL_PIXEL, KERNEST_DOUBLE, 1, 0},
        {"cgls single", KERNEST_SOLVER_CGLS, KERNEST_REG_RIDGE, 0.01, 0, 0, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_PIXEL, KERNEST_SINGLE, 0, 0},
        {"cgls radial", KERNEST_SOLVER_CGLS, KERNEST_REG_GRAD, 1.0, 0, 0, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_RADIAL, KERNEST_DOUBLE, 0, 0},
        {"fista nonneg sum", KERNEST_SOLVER_AUTO, KERNEST_REG_NONE, 0, 0, 1, 1, KERNEST_SUPPORT_NONE, KERNEST_MODEL_PIXEL, KERNEST_DOUBLE, 0, 0},
        {"fista l1 ridge", KERNEST_SOLVER_AUTO, KERNEST_REG_RIDGE, 0.01, 1e-3, 0, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_PIXEL, KERNEST_DOUBLE, 0, 0},
        {"fista single", KERNEST_SOLVER_FISTA, KERNEST_REG_NONE, 0, 0, 1, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_PIXEL, KERNEST_SINGLE, 0, 0},
        {"fista radial", KERNEST_SOLVER_AUTO, KERNEST_REG_NONE, 0, 0, 1, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_RADIAL, KERNEST_DOUBLE, 0, 0},
        {"cgls grad, flat stop", KERNEST_SOLVER_CGLS, KERNEST_REG_GRAD, 0.1, 0, 0, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_PIXEL, KERNEST_DOUBLE, 0, 3e-3},
        {"cgls radial jacobi, flat stop", KERNEST_SOLVER_CGLS, KERNEST_REG_GRAD, 1.0, 0, 0, 0, KERNEST_SUPPORT_NONE, KERNEST_MODEL_RADIAL, KERNEST_DOUBLE, 0, 1e-3},
    };
    return cr_make_param_array(resume_case, cases, sizeof cases / sizeof cases[0]);
}

static kernest_options case_options(const resume_case *c, const kernest_fixed_pixel *fix)
{
    kernest_options o = tu_cpu_options(0, 0);
    o.tol = c->tol > 0 ? c->tol : 1e-14;
    o.maxiter = 40;
    o.solver = c->solver;
    o.reg = c->reg;
    o.lambda = c->lambda;
    o.l1 = c->l1;
    o.nonneg = c->nonneg;
    o.has_sum = c->has_sum;
    o.sum = 40.0;
    o.support = c->support;
    o.support_radius = 9;
    o.model = c->model;
    o.precision = c->precision;
    o.nfixed = (size_t)c->nfixed;
    o.fixed = fix;
    return o;
}

ParameterizedTest(resume_case *c, hooks, resume_is_bitwise_identical)
{
    static const kernest_fixed_pixel fix[] = {{0, 0, 1.0}};
    kernest_array *A, *B, *Kref = NULL, *Kint = NULL, *Kres = NULL;
    kernest_report *rref = NULL, *rint = NULL, *rres = NULL;
    problem(1.0, &A, &B);
    char *ck = tu_path(tu_dir, "state.ckpt");
    kernest_options o = case_options(c, fix);
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kref, &rref), KERNEST_OK, "%s: %s", c->name,
                 kernest_last_error());
    const int k = 13;
    cr_assert_gt(rref->iterations, k + 2, "%s: the reference stops after %d iterations", c->name, rref->iterations);
    if (c->tol > 0) { /* the flat test stops it, within the window of the resume */
        cr_assert_eq(rref->reason, KERNEST_STOP_CONVERGED, "%s", c->name);
        cr_assert_leq(rref->iterations, k + 10, "%s: %d iterations", c->name, rref->iterations);
        cr_assert_leq(rref->residual_history[k], c->tol, "%s: the residual test alone would have stopped", c->name);
    }

    record rec = {.stop_at = k};
    o.progress = on_progress;
    o.progress_user = &rec;
    o.checkpoint = ck;
    o.checkpoint_every = 1e9; /* only when stopped */
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kint, &rint), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rint->reason, KERNEST_STOP_INTERRUPTED);
    cr_assert(tu_exists(ck), "%s: no checkpoint written", c->name);

    o = case_options(c, fix);
    o.resume = ck;
    record rec2 = {0};
    o.progress = on_progress;
    o.progress_user = &rec2;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kres, &rres), KERNEST_OK, "%s: %s", c->name,
                 kernest_last_error());
    cr_assert_eq(rres->resumed_from, k);
    cr_assert_eq(rec2.first, k);
    cr_assert_eq(rec2.iters[0], k + 1);
    cr_assert_eq(rres->reason, rref->reason, "%s", c->name);
    cr_assert_eq(rres->iterations, rref->iterations, "%s: %d vs %d iterations", c->name, rres->iterations,
                 rref->iterations);
    cr_assert_eq(rres->restarts, rref->restarts, "%s", c->name);
    cr_assert_eq(rres->lipschitz, rref->lipschitz, "%s", c->name);
    cr_assert_eq(memcmp(rres->residual_history, rref->residual_history,
                        ((size_t)rref->iterations + 1) * sizeof(double)), 0, "%s: histories differ", c->name);
    size_t differ = 0;
    for (size_t i = 0; i < Kref->size; i++)
        differ += memcmp(&Kref->data[i], &Kres->data[i], sizeof(double)) != 0;
    cr_assert_eq(differ, 0, "%s: %zu kernel pixels differ from the uninterrupted solve", c->name, differ);
    free(ck);
    kernest_array_destroy(&Kref);
    kernest_array_destroy(&Kint);
    kernest_array_destroy(&Kres);
    kernest_report_destroy(&rref);
    kernest_report_destroy(&rint);
    kernest_report_destroy(&rres);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* a preconditioned solve's state does not resume a plain one, nor the reverse */
Test(hooks, resume_keeps_the_preconditioner)
{
    kernest_array *A, *B, *K = NULL;
    problem(1.0, &A, &B);
    char *ck = tu_path(tu_dir, "pc.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.model = KERNEST_MODEL_RADIAL;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 1.0;
    o.tol = 1e-14;
    o.maxiter = 20;
    o.precond = KERNEST_PRECOND_MEAN;
    o.checkpoint = ck;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, NULL), KERNEST_OK, "%s", kernest_last_error());
    kernest_array_destroy(&K);
    o.checkpoint = NULL;
    o.resume = ck;
    o.maxiter = 30;
    o.precond = KERNEST_PRECOND_NONE;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "was preconditioned by a diagonal and a low-rank part, this one is not "
                                           "preconditioned"),
              "%s", kernest_last_error());
    o.precond = KERNEST_PRECOND_JACOBI;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "this one is preconditioned by a diagonal"), "%s", kernest_last_error());
    o.precond = KERNEST_PRECOND_MEAN; /* as written */
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, NULL), KERNEST_OK, "%s", kernest_last_error());
    kernest_array_destroy(&K);
    free(ck);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* a checkpoint at the last iteration lets a solve capped by maxiter go on */
Test(hooks, continue_past_maxiter)
{
    kernest_array *A, *B, *K1 = NULL, *K2 = NULL, *K3 = NULL;
    kernest_report *r1 = NULL, *r2 = NULL, *r3 = NULL;
    problem(1.0, &A, &B);
    char *ck = tu_path(tu_dir, "last.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.tol = 0;
    o.maxiter = 30;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K1, &r1), KERNEST_OK);
    o.maxiter = 12;
    o.checkpoint = ck;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K2, &r2), KERNEST_OK);
    cr_assert_eq(r2->reason, KERNEST_STOP_MAXITER);
    o.checkpoint = NULL;
    o.resume = ck;
    o.maxiter = 30;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K3, &r3), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r3->iterations, 30);
    cr_assert_eq(memcmp(K1->data, K3->data, K1->size * sizeof(double)), 0);
    o.maxiter = 11; /* a checkpoint beyond the cap is refused */
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K2, &r2), KERNEST_E_INVALID);
    free(ck);
    kernest_array_destroy(&K1);
    kernest_array_destroy(&K2);
    kernest_array_destroy(&K3);
    kernest_report_destroy(&r1);
    kernest_report_destroy(&r2);
    kernest_report_destroy(&r3);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

static int flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return -1;
    fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
    fputc(c ^ 0x40, f);
    return fclose(f);
}

Test(hooks, mismatched_or_damaged_checkpoint_is_refused)
{
    kernest_array *A, *B, *A2, *B2, *K = NULL;
    kernest_report *r = NULL;
    problem(1.0, &A, &B);
    problem(2.0, &A2, &B2);
    char *ck = tu_path(tu_dir, "s.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.maxiter = 5;
    o.tol = 0;
    o.checkpoint = ck;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    o.checkpoint = NULL;
    o.resume = ck;
    o.maxiter = 10;
    struct {
        const char *what;
        int status;
        const char *needle;
    } cases[] = {{"other data", KERNEST_E_INVALID, "input data"},
                 {"other lambda", KERNEST_E_INVALID, "regulariser"},
                 {"other precision", KERNEST_E_INVALID, "precision"},
                 {"other kernel", KERNEST_E_INVALID, "kernel"},
                 {"other solver", KERNEST_E_INVALID, "fista"}};
    for (int i = 0; i < 5; i++) {
        kernest_options p = o;
        const kernest_array *const *a = CA(&A), *const *b = CA(&B);
        if (i == 0)
            a = CA(&A2), b = CA(&B2);
        if (i == 1)
            p.reg = KERNEST_REG_RIDGE, p.lambda = 1.0;
        if (i == 2)
            p.precision = KERNEST_SINGLE;
        if (i == 3)
            p.kh = p.kw = 29;
        if (i == 4)
            p.nonneg = 1;
        int st = kernest_estimate(a, b, 1, &p, &K, &r);
        cr_assert_eq(st, cases[i].status, "%s: status %d (%s)", cases[i].what, st, kernest_last_error());
        cr_assert(strstr(kernest_last_error(), cases[i].needle), "%s: '%s'", cases[i].what, kernest_last_error());
        cr_assert(strstr(kernest_last_error(), "--resume"));
        cr_assert_null(K);
    }
    /* damaged: a flipped byte in the data, a truncated file, not a checkpoint at all */
    cr_assert_eq(flip_byte(ck, -20), 0);
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_E_FORMAT);
    cr_assert(strstr(kernest_last_error(), "checksum"), "%s", kernest_last_error());
    cr_assert_eq(truncate(ck, 200), 0);
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_E_FORMAT);
    cr_assert_eq(tu_write_bytes(ck, "not a checkpoint at all", 23), 0);
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_E_FORMAT);
    o.resume = "/nonexistent/s.ckpt";
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_E_NOFILE);
    free(ck);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&A2);
    kernest_array_destroy(&B2);
}

/* ---- faults: a non-finite value stops the solve and keeps the last finite iterate ---- */

static kn_backend_ops patched;
static int (*orig_apply)(kn_backend *, const kn_vec *, kn_vec *);
static int apply_calls, nan_from; /* op_apply returns NaN from call nan_from on (0: never) */

static int nan_apply(kn_backend *be, const kn_vec *k, kn_vec *r)
{
    int st = orig_apply(be, k, r);
    if (!st && nan_from && ++apply_calls >= nan_from)
        st = be->ops->vec_fill(be, r, NAN);
    else if (!st && !nan_from)
        apply_calls++;
    return st;
}

/* runs CGLS (fista = 0) or FISTA on the CPU backend with the NaN-injecting operator */
static void run_solver(int fista, kernest_precision prec, int maxiter, int nan_at, double *x_out,
                       kn_solve_result *res)
{
    kernest_array *A, *B;
    problem(1.0, &A, &B);
    kn_problem pb;
    kn_backend *be = NULL;
    cr_assert_eq(kn_problem_init(&pb, CA(&A), CA(&B), 1, KERNEST_MODE_SAME, 0, 0, NULL), KERNEST_OK);
    cr_assert_eq(kn_backend_cpu_create(prec, 1, &be), KERNEST_OK);
    cr_assert_eq(be->ops->op_setup(be, &pb), KERNEST_OK);
    patched = *be->ops;
    orig_apply = be->ops->op_apply;
    patched.op_apply = nan_apply;
    const kn_backend_ops *saved = be->ops;
    be->ops = &patched;
    apply_calls = 0;
    nan_from = nan_at;
    kn_vec *b = NULL, *x = NULL;
    cr_assert_eq(be->ops->vec_create(be, pb.m, &b), KERNEST_OK);
    cr_assert_eq(be->ops->vec_upload(be, b, B->data), KERNEST_OK);
    cr_assert_eq(be->ops->vec_create(be, pb.n, &x), KERNEST_OK);
    kn_solve_params prm = {.reg = KERNEST_REG_NONE, .maxiter = maxiter};
    kn_fista_info info;
    int st = fista ? kn_fista(be, b, &prm, NULL, x, res, &info) : kn_cgls(be, b, &prm, x, res);
    cr_assert_eq(st, KERNEST_OK);
    cr_assert_eq(be->ops->vec_download(be, x, x_out), KERNEST_OK);
    be->ops->vec_destroy(be, &b);
    be->ops->vec_destroy(be, &x);
    be->ops = saved;
    kn_backend_destroy(&be);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(hooks, nonfinite_keeps_last_finite_iterate)
{
    const size_t n = 31 * 31;
    double *xref = malloc(n * sizeof *xref), *xbad = malloc(n * sizeof *xbad);
    for (int fista = 0; fista < 2; fista++)
        for (int p = 0; p < 2; p++) {
            const kernest_precision prec = p ? KERNEST_SINGLE : KERNEST_DOUBLE;
            const int j = 6;
            kn_solve_result ref = {0}, bad = {0};
            run_solver(fista, prec, j, 0, xref, &ref); /* counts the operator calls of j iterations */
            const int calls = apply_calls;
            cr_assert_eq(ref.iterations, j);
            run_solver(fista, prec, 50, calls + 1, xbad, &bad); /* NaN in iteration j + 1 */
            cr_assert_eq(bad.reason, KERNEST_STOP_NONFINITE, "%s: reason %s", fista ? "fista" : "cgls",
                         kernest_stop_reason_name(bad.reason));
            cr_assert_eq(bad.iterations, j, "%s: %d iterations", fista ? "fista" : "cgls", bad.iterations);
            for (size_t i = 0; i < n; i++)
                cr_assert(isfinite(xbad[i]));
            cr_assert_eq(memcmp(xref, xbad, n * sizeof *xref), 0, "%s %s: not the last finite iterate",
                         fista ? "fista" : "cgls", p ? "single" : "double");
            free(ref.history);
            free(bad.history);
        }
    free(xref);
    free(xbad);
}

/* values near the single-precision limit used to overflow in the first products (a non-finite
 * stop at iteration 0); the solve works in scaled units, so they give the estimate of the same
 * problem at scale 1 (the non-finite stop itself: nonfinite_keeps_last_finite_iterate) */
Test(hooks, single_precision_limit_is_solved_in_scaled_units)
{
    for (int s = 0; s < 2; s++) {
        kernest_array *K[2] = {NULL, NULL};
        kernest_report *r[2] = {NULL, NULL};
        for (int big = 0; big < 2; big++) {
            kernest_array *A, *B;
            problem(big ? 1e18 : 1.0, &A, &B);
            kernest_options o = tu_cpu_options(0, 0);
            o.precision = KERNEST_SINGLE;
            o.maxiter = 50;
            o.solver = s ? KERNEST_SOLVER_FISTA : KERNEST_SOLVER_CGLS;
            cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K[big], &r[big]), KERNEST_OK, "%s",
                         kernest_last_error());
            kernest_array_destroy(&A);
            kernest_array_destroy(&B);
        }
        cr_assert(r[1]->reason == r[0]->reason && abs(r[1]->iterations - r[0]->iterations) <= 2,
                  "%s: %s after %d at 1e18, %s after %d at 1", r[1]->solver, kernest_stop_reason_name(r[1]->reason),
                  r[1]->iterations, kernest_stop_reason_name(r[0]->reason), r[0]->iterations);
        const double d = tu_rel_diff(K[1], K[0]);
        cr_assert(d < 1e-3, "%s: K off by %g relative", r[1]->solver, d);
        for (int big = 0; big < 2; big++) {
            kernest_array_destroy(&K[big]);
            kernest_report_destroy(&r[big]);
        }
    }
}

/* ---- device auto falls back to the CPU, with a warning, when CUDA fails to start ---- */

Test(hooks, auto_falls_back_to_cpu_with_warning)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(1.0, &A, &B);
    kernest_options o = tu_cpu_options(0, 0);
    o.maxiter = 5;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK);
    cr_assert_eq(r->nwarnings, 0);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);

    setenv("KERNEST_TEST_FAIL_CUDA", "1", 1);
    o.device = KERNEST_DEVICE_AUTO;
    o.precision = KERNEST_PRECISION_DEFAULT;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(r->backend, "cpu");
    cr_assert_eq(r->precision, KERNEST_DOUBLE);
    cr_assert_eq(r->nwarnings, 1);
    cr_assert(strstr(r->warnings[0], "device auto") && strstr(r->warnings[0], "KERNEST_TEST_FAIL_CUDA") &&
              strstr(r->warnings[0], "CPU"), "%s", r->warnings[0]);
    char *json = NULL;
    cr_assert_eq(kernest_report_to_json(r, &o, NULL, &json), KERNEST_OK);
    cJSON *root = cJSON_Parse(json);
    cJSON *w = cJSON_GetObjectItem(root, "warnings");
    cr_assert(cJSON_IsArray(w) && cJSON_GetArraySize(w) == 1);
    cr_assert_str_eq(cJSON_GetArrayItem(w, 0)->valuestring, r->warnings[0]);
    cJSON_Delete(root);
    kernest_free(json);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);

    o.device = KERNEST_DEVICE_CUDA; /* asked for by name: an error, no fallback */
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_E_DEVICE);
    cr_assert(strstr(kernest_last_error(), "KERNEST_TEST_FAIL_CUDA"));
    unsetenv("KERNEST_TEST_FAIL_CUDA");
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* ---- the CLI ---- */

static char *write_problem(const char *name_a, const char *name_b)
{
    kernest_array *A, *B;
    problem(1.0, &A, &B);
    char *a = tu_path(tu_dir, name_a), *b = tu_path(tu_dir, name_b);
    cr_assert_eq(kernest_npy_write(a, A, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_npy_write(b, B, KERNEST_DOUBLE), KERNEST_OK);
    char *args = NULL;
    cr_assert(asprintf(&args, "estimate '%s' '%s' --device cpu --threads 1 --fast", a, b) > 0);
    free(a);
    free(b);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    return args;
}

Test(hooks, cli_log_has_one_object_per_iteration)
{
    char *base = write_problem("A.npy", "B.npy"), *args = NULL, err[4096];
    char *log = tu_path(tu_dir, "run.jsonl"), *rep = tu_path(tu_dir, "r.json"), *K = tu_path(tu_dir, "K.npy");
    cr_assert(asprintf(&args, "%s -o '%s' --log '%s' --report '%s' --solver fista --nonneg --maxiter 25", base,
                       K, log, rep) > 0);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    cr_assert_null(strstr(err, "iteration"), "progress line without a terminal: %s", err);
    char *text = tu_read_text(log), *rtext = tu_read_text(rep);
    cr_assert_not_null(text);
    cJSON *report = cJSON_Parse(rtext), *solve = cJSON_GetObjectItem(report, "solve");
    cJSON *hist = cJSON_GetObjectItem(solve, "residual_history");
    const int iters = cJSON_GetObjectItem(solve, "iterations")->valueint;
    cr_assert_gt(iters, 3);
    int lines = 0;
    double last_elapsed = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        cr_assert_not_null(o, "line %d is not JSON: %s", lines + 1, line);
        lines++;
        cr_assert_eq(cJSON_GetObjectItem(o, "iter")->valueint, lines);
        cr_assert_eq(cJSON_GetObjectItem(o, "residual")->valuedouble, cJSON_GetArrayItem(hist, lines)->valuedouble);
        const double e = cJSON_GetObjectItem(o, "elapsed")->valuedouble;
        cr_assert_geq(e, last_elapsed);
        last_elapsed = e;
        cr_assert_str_eq(cJSON_GetObjectItem(o, "solver")->valuestring, "fista");
        cr_assert_null(cJSON_GetObjectItem(o, "phase"), "a plain solve has no phase");
        cJSON_Delete(o);
    }
    cr_assert_eq(lines, iters);
    cJSON_Delete(report);
    free(text);
    free(rtext);
    const int entries = tu_count_entries(tu_dir); /* A, B, K, log, report: no temporaries */
    cr_assert_eq(entries, 5, "%d entries", entries);
    /* the automatic choice: each line names its phase, the choosing ones first, then the final */
    free(args);
    char *automatic = strdup(base), *fast = strstr(automatic, " --fast");
    cr_assert_not_null(fast);
    *fast = '\0';
    cr_assert(asprintf(&args, "%s -o '%s' --log '%s'", automatic, K, log) > 0);
    free(automatic);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    text = tu_read_text(log);
    int choosing = 0, final = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line), *ph = cJSON_GetObjectItem(o, "phase");
        cr_assert(cJSON_IsString(ph), "no phase: %s", line);
        if (!strncmp(ph->valuestring, "choosing: ", 10)) {
            cr_assert_eq(final, 0, "a choosing line after the final solve: %s", line);
            choosing++;
        } else {
            cr_assert(!strncmp(ph->valuestring, "final: ", 7), "%s", line);
            final++;
        }
        cJSON_Delete(o);
    }
    cr_assert(choosing > 0 && final > 0, "%d choosing, %d final", choosing, final);
    free(text);
    /* a failing run leaves no log */
    char *log2 = tu_path(tu_dir, "bad.jsonl");
    free(args);
    cr_assert(asprintf(&args, "%s -o '%s' --log '%s' --ksize 0x3", base, K, log2) > 0);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "%s", err);
    cr_assert(!tu_exists(log2));
    free(args);
    cr_assert(asprintf(&args, "%s -o '%s' --log '%s' --resume /nonexistent.ckpt", base, K, log2) > 0);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "--resume") && !strchr(strchr(err, '\n') + 1, '\n'), "one line: %s", err);
    cr_assert(!tu_exists(log2));
    cr_assert_eq(tu_count_entries(tu_dir), 5);
    free(log2);
    free(args);
    free(base);
    free(log);
    free(rep);
    free(K);
}

/* the progress line appears on a terminal only: run under script(1) for a pseudo-terminal */
Test(hooks, cli_progress_line_on_a_terminal)
{
    if (system("script -qec true /dev/null >/dev/null 2>&1 </dev/null") != 0)
        cr_skip_test("script(1) from util-linux cannot open a pseudo-terminal here (not installed, or no "
                     "/dev/ptmx): the progress line is not tested");
    char *base = write_problem("A.npy", "B.npy"), *K = tu_path(tu_dir, "K.npy"), *out = tu_path(tu_dir, "tty.txt");
    for (int quiet = 0; quiet < 2; quiet++) {
        char *cmd = NULL;
        cr_assert(asprintf(&cmd, "script -qec \"'%s' %s -o '%s' --tol 0 --maxiter 200 %s 2>&1\" /dev/null > '%s' "
                                 "</dev/null", KERNEST_CLI, base, K, quiet ? "--quiet" : "", out) > 0);
        int st = system(cmd);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s -> %d", cmd, st);
        char *text = tu_read_text(out);
        cr_assert_not_null(text);
        if (quiet) {
            cr_assert_eq(text[0], '\0', "--quiet printed: %s", text);
        } else {
            char *line = strstr(text, "\rkernest: cgls iteration ");
            cr_assert_not_null(line, "no progress line in: %s", text);
            cr_assert(strstr(line, "/200") && strstr(line, "residual") && strstr(line, "it/s") && strstr(line, "left"),
                      "%s", line);
            /* cleared at the end: the line is overwritten by spaces and a carriage return */
            char *clear = strstr(text, "       \r");
            cr_assert_not_null(clear, "the progress line is not cleared: %s", text);
            cr_assert_not_null(strstr(text, "kernest: wrote"));
        }
        free(text);
        free(cmd);
    }
    free(base);
    free(K);
    free(out);
}

static pid_t spawn_cli(const char *args)
{
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "exec '%s' %s >/dev/null 2>/dev/null </dev/null", KERNEST_CLI, args) > 0);
    char *argv[] = {"sh", "-c", cmd, NULL};
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
    free(cmd);
    return pid;
}

/* A signal once the first checkpoint exists: the CLI exits 128 + signal with -o and the checkpoint
 * written; --resume then ends at the uninterrupted run's kernel, byte for byte. */
static void signal_and_resume(int sig, const char *solver_args)
{
    char *base = write_problem("A.npy", "B.npy"), *args = NULL, err[4096];
    char *Kref = tu_path(tu_dir, "Kref.npy"), *Kint = tu_path(tu_dir, "Kint.npy"), *Kres = tu_path(tu_dir, "Kres.npy");
    char *ck = tu_path(tu_dir, "run.ckpt");
    cr_assert(asprintf(&args, "%s %s -o '%s' --tol 0 --maxiter 300", base, solver_args, Kref) > 0);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    free(args);
    cr_assert(asprintf(&args, "%s %s -o '%s' --tol 0 --maxiter 300 --checkpoint '%s' --checkpoint-every 0", base,
                       solver_args, Kint, ck) > 0);
    pid_t pid = spawn_cli(args);
    const double t0 = (double)time(NULL);
    while (!tu_exists(ck) && (double)time(NULL) - t0 < 120)
        usleep(2000);
    cr_assert(tu_exists(ck), "no checkpoint appeared");
    kill(pid, sig);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the CLI did not exit cleanly (status %d)", status);
    cr_assert_eq(WEXITSTATUS(status), 128 + sig, "exit %d", WEXITSTATUS(status));
    cr_assert(tu_exists(Kint), "the current estimate was not written");
    free(args);
    /* another problem (here a regulariser) is refused with one line, exit 2, nothing written */
    cr_assert(asprintf(&args, "%s %s -o '%s' --reg ridge:1 --maxiter 400 --resume '%s'", base, solver_args, Kres, ck) > 0);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "--resume") && strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
    cr_assert(!tu_exists(Kres));
    free(args);
    cr_assert(asprintf(&args, "%s %s -o '%s' --tol 0 --maxiter 300 --resume '%s'", base, solver_args, Kres, ck) > 0);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *a = tu_read_text(Kref), *b = tu_read_text(Kres);
    FILE *f = fopen(Kref, "rb");
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fclose(f);
    cr_assert_eq(memcmp(a, b, (size_t)n), 0, "the resumed kernel differs from the uninterrupted one");
    /* the interrupted estimate is an earlier iterate: it differs */
    char *c = tu_read_text(Kint);
    cr_assert_neq(memcmp(a, c, (size_t)n), 0);
    free(a);
    free(b);
    free(c);
    free(args);
    free(base);
    free(Kref);
    free(Kint);
    free(Kres);
    free(ck);
}

Test(hooks, cli_sigint_checkpoint_resume_cgls)
{
    signal_and_resume(SIGINT, "--solver cgls");
}

Test(hooks, cli_sigterm_checkpoint_resume_fista)
{
    signal_and_resume(SIGTERM, "--nonneg --sum 40");
}

/* a checkpoint that cannot be written is a warning (once), not the end of the solve */
Test(hooks, failed_checkpoint_is_a_warning)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(1.0, &A, &B);
    kernest_options o = tu_cpu_options(0, 0);
    o.maxiter = 6;
    o.tol = 0;
    o.checkpoint = "/nonexistent-folder/run.ckpt";
    o.checkpoint_every = 0;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r->iterations, 6);
    cr_assert_eq(r->nwarnings, 1, "%zu warnings", r->nwarnings);
    cr_assert(strstr(r->warnings[0], "/nonexistent-folder/run.ckpt"), "%s", r->warnings[0]);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* GPU failures name the call and say what to do (the messages need no device to be made) */
#ifdef KERNEST_WITH_CUDA
#include "cuda/cuda_check.h"
Test(hooks, cuda_errors_say_what_to_do)
{
    cr_assert_eq(kn_cuda_check(cudaErrorMemoryAllocation, "cudaMalloc(&p, n)"), KERNEST_E_DEVICE);
    cr_assert(strstr(kernest_last_error(), "cudaMalloc failed") &&
              strstr(kernest_last_error(), "out of GPU memory") && strstr(kernest_last_error(), "--device cpu"),
              "%s", kernest_last_error());
    cr_assert_eq(kn_cuda_check(cudaErrorIllegalAddress, "cudaStreamSynchronize(s)"), KERNEST_E_DEVICE);
    cr_assert(strstr(kernest_last_error(), "cudaStreamSynchronize failed") &&
              strstr(kernest_last_error(), "kernel failed"), "%s", kernest_last_error());
    cr_assert_eq(kn_cufft_check(CUFFT_ALLOC_FAILED, "cufftPlanMany(&plan, ...)"), KERNEST_E_FFT);
    cr_assert(strstr(kernest_last_error(), "cufftPlanMany failed: CUFFT_ALLOC_FAILED") &&
              strstr(kernest_last_error(), "out of GPU memory"), "%s", kernest_last_error());
    cr_assert_eq(kn_cublas_check(CUBLAS_STATUS_ALLOC_FAILED, "cublasCreate(&h)"), KERNEST_E_DEVICE);
    cr_assert(strstr(kernest_last_error(), "out of GPU memory"), "%s", kernest_last_error());
    cr_assert_eq(kn_cuda_check(cudaErrorInvalidValue, "cudaMemcpyAsync(a, b)"), KERNEST_E_DEVICE);
    cr_assert_null(strstr(kernest_last_error(), ";"), "no hint for a plain error: %s", kernest_last_error());
}
#else
Test(hooks, cuda_errors_say_what_to_do)
{
    cr_skip_test("CUDA backend not compiled in: the CUDA error messages are not built");
}
#endif
