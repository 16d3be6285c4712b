/* test_checkpoint.c — what a checkpoint is tied to and what it holds: --background and the
 * model's order in the fingerprint, --fix as a set, NaN refused, TV's resume bit for bit, the
 * estimate's state (not an uncertainty sample's), and lowrank refused up front; and an
 * interruption during the uncertainty samples, which the result says. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "kernest.h"
#include "solve/checkpoint.h"
#include "testutil.h"

TestSuite(checkpoint, .init = tu_dir_setup, .fini = tu_dir_teardown);

#define CA(x) ((const kernest_array *const *)(x))

/* A 16×16 random A, a smooth 31×31 K, B = same(A ⊛ K) + 1e-3 noise + an offset of 0.5 */
static void problem(kernest_array **A, kernest_array **B)
{
    tu_smooth_problem(7, 1.0, 0.5, A, B);
}

Test(checkpoint, background_is_part_of_the_problem)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(&A, &B);
    char *ck = tu_path(tu_dir, "bg.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.maxiter = 5;
    o.tol = 0;
    o.checkpoint = ck;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    for (int bg = 0; bg < 2; bg++) { /* written without: resumed with (refused), and back */
        kernest_options p = tu_cpu_options(0, 0);
        p.maxiter = 10;
        p.tol = 0;
        p.resume = ck;
        p.background = !bg;
        int st = tu_estimate_stopping(A, B, p, 0, &K, &r);
        if (bg == 0) {
            cr_assert_eq(st, KERNEST_E_INVALID, "a checkpoint without --background resumed a run with it");
            cr_assert(strstr(kernest_last_error(), "another problem"), "%s", kernest_last_error());
        } else {
            cr_assert_eq(st, KERNEST_OK, "the same options: %s", kernest_last_error());
            cr_assert_eq(r->resumed_from, 5);
        }
        kernest_array_destroy(&K);
        kernest_report_destroy(&r);
    }
    free(ck);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(checkpoint, fixes_in_another_order_are_the_same_problem)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(&A, &B);
    char *ck = tu_path(tu_dir, "fix.ckpt");
    const kernest_fixed_pixel ab[] = {{0, 0, 0.0}, {1, 1, 0.0}}, ba[] = {{1, 1, 0.0}, {0, 0, 0.0}},
                              other[] = {{1, 1, 0.0}, {0, 0, 0.5}};
    kernest_options o = tu_cpu_options(0, 0);
    o.maxiter = 5;
    o.tol = 0;
    o.fixed = ab;
    o.nfixed = 2;
    o.checkpoint = ck;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    o.checkpoint = NULL;
    o.resume = ck;
    o.maxiter = 8;
    o.fixed = ba;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K, &r), KERNEST_OK, "--fix in another order: %s", kernest_last_error());
    cr_assert_eq(r->resumed_from, 5);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    o.fixed = other; /* another value is another problem */
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K, &r), KERNEST_E_INVALID);
    free(ck);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(checkpoint, model_order_is_part_of_the_problem)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(&A, &B);
    char *ck = tu_path(tu_dir, "order.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.model = KERNEST_MODEL_HARMONIC;
    o.order = 1;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 1.0;
    o.maxiter = 5;
    o.tol = 0;
    o.checkpoint = ck;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    o.checkpoint = NULL;
    o.resume = ck;
    o.maxiter = 8;
    o.order = 2;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K, &r), KERNEST_E_INVALID, "harmonic:2 resumed harmonic:1's state");
    cr_assert(strstr(kernest_last_error(), "--resume"), "%s", kernest_last_error());
    free(ck);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(checkpoint, nonfinite_state_is_refused)
{
    char *ck = tu_path(tu_dir, "nan.ckpt");
    kn_fingerprint fp = {0};
    fp.solver = KERNEST_SOLVER_CGLS;
    kn_solver_state st = {.solver = KERNEST_SOLVER_CGLS, .iteration = 1};
    const double x[3] = {1.0, NAN, 2.0}, hist[2] = {1.0, 0.5};
    cr_assert_eq(kn_state_put_values(&st, "x", x, 3), KERNEST_OK);
    cr_assert_eq(kn_state_put_history(&st, hist, 1), KERNEST_OK);
    cr_assert_eq(kn_checkpoint_write(ck, &fp, &st), KERNEST_OK, "%s", kernest_last_error());
    kn_state_free(&st);
    kn_solver_state back;
    cr_assert_eq(kn_checkpoint_read(ck, &fp, &back), KERNEST_E_FORMAT, "a state holding NaN was accepted");
    cr_assert(strstr(kernest_last_error(), "NaN"), "%s", kernest_last_error());
    /* the same state with finite values reads back */
    kn_solver_state ok = {.solver = KERNEST_SOLVER_CGLS, .iteration = 1};
    const double y[3] = {1.0, 3.0, 2.0};
    cr_assert_eq(kn_state_put_values(&ok, "x", y, 3), KERNEST_OK);
    cr_assert_eq(kn_state_put_history(&ok, hist, 1), KERNEST_OK);
    cr_assert_eq(kn_checkpoint_write(ck, &fp, &ok), KERNEST_OK);
    kn_state_free(&ok);
    cr_assert_eq(kn_checkpoint_read(ck, &fp, &back), KERNEST_OK, "%s", kernest_last_error());
    kn_state_free(&back);
    free(ck);
}

Test(checkpoint, tv_resume_is_bitwise_identical)
{
    kernest_array *A, *B, *Kref = NULL, *Kint = NULL, *Kres = NULL;
    kernest_report *rref = NULL, *rint = NULL, *rres = NULL;
    problem(&A, &B);
    char *ck = tu_path(tu_dir, "tv.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.tv = 1e-3;
    o.maxiter = 40;
    o.tol = 1e-14;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &Kref, &rref), KERNEST_OK, "%s", kernest_last_error());
    const int k = 13;
    cr_assert_gt(rref->iterations, k + 2);
    o.checkpoint = ck;
    o.checkpoint_every = 1e9; /* only when stopped */
    cr_assert_eq(tu_estimate_stopping(A, B, o, k, &Kint, &rint), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rint->reason, KERNEST_STOP_INTERRUPTED);
    o.checkpoint = NULL;
    o.resume = ck;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &Kres, &rres), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rres->resumed_from, k);
    cr_assert_eq(rres->iterations, rref->iterations);
    cr_assert_eq(memcmp(rres->residual_history, rref->residual_history,
                        ((size_t)rref->iterations + 1) * sizeof(double)), 0, "histories differ");
    size_t differ = 0;
    for (size_t i = 0; i < Kref->size; i++)
        differ += memcmp(&Kref->data[i], &Kres->data[i], sizeof(double)) != 0;
    cr_assert_eq(differ, 0, "%zu kernel pixels differ from the uninterrupted TV solve", differ);
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

/* the checkpoint holds the estimate's own state; uncertainty samples neither overwrite it nor
 * resume from it */
Test(checkpoint, uncertainty_samples_leave_the_checkpoint_alone)
{
    kernest_array *A, *B, *K1 = NULL, *K2 = NULL, *s1 = NULL, *s2 = NULL;
    kernest_report *r1 = NULL, *r2 = NULL;
    problem(&A, &B);
    char *ck = tu_path(tu_dir, "unc.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 0.1;
    o.maxiter = 30;
    o.tol = 1e-10;
    o.uncertainty = 4;
    o.sigma = 1e-3;
    o.checkpoint = ck;
    o.checkpoint_every = 0; /* every iteration */
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K1, &r1), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kernest_report_uncertainty(r1, NULL, &s1), KERNEST_OK);
    /* resumed from the estimate's last state: nothing left to iterate, the samples start afresh */
    o.checkpoint = NULL;
    o.resume = ck;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K2, &r2), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r2->resumed_from, r1->iterations, "the checkpoint holds %d iterations, the estimate ran %d",
                 r2->resumed_from, r1->iterations);
    cr_assert_eq(kernest_report_uncertainty(r2, NULL, &s2), KERNEST_OK);
    double worst = 0;
    for (size_t i = 0; i < s1->size; i++)
        worst = fmax(worst, fabs(s1->data[i] - s2->data[i]) / fmax(s1->data[i], 1e-300));
    cr_assert_lt(worst, 1e-6, "the std map after a resume differs by %g (relative)", worst);
    free(ck);
    kernest_array_destroy(&K1);
    kernest_array_destroy(&K2);
    kernest_array_destroy(&s1);
    kernest_array_destroy(&s2);
    kernest_report_destroy(&r1);
    kernest_report_destroy(&r2);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(checkpoint, lowrank_is_refused_up_front)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(&A, &B);
    char *ck = tu_path(tu_dir, "lr.ckpt");
    kernest_options o = tu_cpu_options(0, 0);
    o.model = KERNEST_MODEL_LOWRANK;
    o.order = 1;
    o.checkpoint = ck;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &K, &r), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--checkpoint") && strstr(kernest_last_error(), "lowrank"), "%s",
              kernest_last_error());
    cr_assert_not(tu_exists(ck), "a checkpoint was written");
    free(ck);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* stops the solve in progress once the n-th solve (the estimate is the first, then the samples)
 * has begun, and every later one at once, as a signal does */
typedef struct solve_counter {
    int solves, stop_in, last;
} solve_counter;

static int stop_in_solve(void *user, const kernest_progress *p)
{
    solve_counter *c = user;
    if (p->iteration == p->first_iteration + 1)
        c->solves++;
    return c->solves >= c->stop_in && p->iteration >= p->first_iteration + 2;
}

Test(checkpoint, interrupted_uncertainty_sampling_says_so)
{
    kernest_array *A, *B;
    problem(&A, &B);
    for (int stop_in = 3; stop_in <= 5; stop_in += 2) { /* during sample 2 (1 done), sample 4 (3 done) */
        kernest_array *K = NULL, *sd = NULL;
        kernest_report *r = NULL;
        kernest_options o = tu_cpu_options(0, 0);
        o.reg = KERNEST_REG_GRAD;
        o.lambda = 0.1;
        o.maxiter = 30;
        o.tol = 1e-12;
        o.uncertainty = 8;
        o.sigma = 1e-3;
        solve_counter c = {0, stop_in, 0};
        o.progress = stop_in_solve;
        o.progress_user = &c;
        cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(r->reason, KERNEST_STOP_INTERRUPTED, "sampling stopped in solve %d but the result says %s",
                     stop_in, kernest_stop_reason_name(r->reason));
        cr_assert_eq(r->std_samples, stop_in - 2, "%d samples finished, the report says %d", stop_in - 2,
                     r->std_samples);
        cr_assert_eq(kernest_report_uncertainty(r, NULL, &sd), KERNEST_OK);
        if (r->std_samples < 2)
            cr_assert(isnan(sd->data[0]), "a std map from one sample");
        else
            cr_assert(sd->data[sd->size / 2] > 0);
        kernest_array_destroy(&K);
        kernest_array_destroy(&sd);
        kernest_report_destroy(&r);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

typedef struct call_counter {
    int calls, stop_after;
} call_counter;

static int stop_after_calls(void *user, const kernest_progress *p)
{
    call_counter *c = user;
    return ++c->calls >= c->stop_after;
}

/* an interruption during lowrank's alternating sweeps ends them at once: no further half-step
 * runs (each used to run one iteration after the signal, 30 sweeps of them), and it says so */
Test(checkpoint, interrupted_lowrank_stops_its_sweeps)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(&A, &B);
    kernest_options o = tu_cpu_options(0, 0);
    o.model = KERNEST_MODEL_LOWRANK;
    o.order = 1;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 0.1;
    o.maxiter = 40;
    o.tol = 1e-14;
    o.outer_tol = 0; /* every sweep would run */
    call_counter c = {0, 60};
    o.progress = stop_after_calls;
    o.progress_user = &c;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r->reason, KERNEST_STOP_INTERRUPTED, "%s", kernest_stop_reason_name(r->reason));
    cr_assert_eq(r->outer_reason, KERNEST_STOP_INTERRUPTED, "%s", kernest_stop_reason_name(r->outer_reason));
    cr_assert_eq(c.calls, c.stop_after, "%d progress calls after the stop was asked", c.calls - c.stop_after);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* an interruption during the automatic choice scores no further λ: a few more calls at most (the
 * final solve's one iteration), and the result says it was interrupted */
Test(checkpoint, interrupted_automatic_choice_stops_scoring)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(&A, &B);
    kernest_options o = tu_cpu_options(0, 0);
    o.auto_model = o.auto_lambda = 1;
    call_counter c = {0, 25};
    o.progress = stop_after_calls;
    o.progress_user = &c;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r->reason, KERNEST_STOP_INTERRUPTED, "%s", kernest_stop_reason_name(r->reason));
    cr_assert_leq(c.calls - c.stop_after, 3, "%d progress calls after the stop was asked", c.calls - c.stop_after);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}
