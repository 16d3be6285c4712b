/* test_gpcg.c — GPCG (--solver gpcg): its estimate against the optimality conditions of the
 * bound-constrained problem computed here independently, against FISTA and CGLS run to their
 * limits, its constraints held exactly, what it refuses, a resume bit for bit, and the CLI; and
 * FISTA's stopping test against the same conditions, from any start. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/synth.h"
#include "fit/fit.h"
#include "kernest.h"
#include "testutil.h"

TestSuite(gpcg, .init = tu_dir_setup, .fini = tu_dir_teardown);

#define CA(x) ((const kernest_array *const *)(x))

/* a binary n×n A (20 % ones), a compact non-negative (2n−1)² gaussian K, B = same(A ⊛ K) + noise
 * at 2 % of B's spread */
static void problem(size_t n, unsigned long long seed, kernest_array **A, kernest_array **B)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    kernest_array *K = NULL;
    kernest_array_create2(2 * n - 1, 2 * n - 1, &K);
    cr_assert_eq(kn_synth_kernel("gaussian:2,1,30", K), KERNEST_OK);
    kernest_array_create2(n, n, A);
    kn_synth_binary(&rng, 0.2, *A);
    *B = tu_observe(*A, K, 0.0, &rng);
    kn_synth_noise(&rng, 0.02 * kn_synth_std(*B), *B);
    kernest_array_destroy(&K);
}

/* g = ∇q(K) for q = ½‖same(A ⊛ K) − B‖² + ½λ‖D K‖² (D: forward differences inside the kernel),
 * pixel by pixel from the definition: g_p = ⟨same(A ⊛ e_p), same(A ⊛ K) − B⟩ + λ(DᵀD K)_p */
static double *gradient(const kernest_array *A, const kernest_array *B, const kernest_array *K, double lam)
{
    const size_t kh = K->shape[0], kw = K->shape[1];
    kernest_array *P = tu_direct_convolve(A, K, KERNEST_MODE_SAME), *E = NULL;
    kernest_array_create2(kh, kw, &E);
    double *g = calloc(kh * kw, sizeof *g);
    for (size_t i = 0; i < B->size; i++)
        P->data[i] -= B->data[i];
    for (size_t p = 0; p < kh * kw; p++) {
        E->data[p] = 1.0;
        kernest_array *Hp = tu_direct_convolve(A, E, KERNEST_MODE_SAME);
        for (size_t i = 0; i < B->size; i++)
            g[p] += Hp->data[i] * P->data[i];
        kernest_array_destroy(&Hp);
        E->data[p] = 0.0;
        const size_t y = p / kw, x = p % kw;
        double lap = 0.0;
        if (x + 1 < kw)
            lap += K->data[p] - K->data[p + 1];
        if (x > 0)
            lap += K->data[p] - K->data[p - 1];
        if (y + 1 < kh)
            lap += K->data[p] - K->data[p + kw];
        if (y > 0)
            lap += K->data[p] - K->data[p - kw];
        g[p] += lam * lap;
    }
    kernest_array_destroy(&P);
    kernest_array_destroy(&E);
    return g;
}

static kernest_options nonneg_options(double lam)
{
    kernest_options o = tu_cpu_options(0, 0);
    o.reg = KERNEST_REG_GRAD;
    o.lambda = lam;
    o.nonneg = 1;
    o.solver = KERNEST_SOLVER_GPCG;
    return o;
}

/* The largest violation of the non-negative problem's optimality conditions by K, relative to
 * ‖∇q(0)‖ = ‖Hᵀb‖: |∇q| where K > 0, max(−∇q, 0) where K = 0 (λ: grad's weight). */
static double kkt_violation(const kernest_array *A, const kernest_array *B, const double *K, size_t kh, size_t kw,
                            double lam)
{
    kernest_array *Kk = NULL, *Z = NULL;
    kernest_array_create2(kh, kw, &Kk);
    kernest_array_create2(kh, kw, &Z);
    memcpy(Kk->data, K, kh * kw * sizeof *K);
    double *g0 = gradient(A, B, Z, lam), *g = gradient(A, B, Kk, lam), s0 = 0.0, worst = 0.0;
    for (size_t p = 0; p < kh * kw; p++)
        s0 += g0[p] * g0[p];
    for (size_t p = 0; p < kh * kw; p++)
        worst = fmax(worst, K[p] > 0 ? fabs(g[p]) : fmax(-g[p], 0.0));
    free(g0);
    free(g);
    kernest_array_destroy(&Kk);
    kernest_array_destroy(&Z);
    return worst / sqrt(s0);
}

Test(gpcg, meets_the_optimality_conditions_of_the_bounded_problem)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(12, 5, &A, &B);
    kernest_options o = nonneg_options(0.3);
    o.tol = 1e-10;
    o.maxiter = 5000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(r->solver, "gpcg");
    cr_assert_eq(r->reason, KERNEST_STOP_CONVERGED, "%s after %d", kernest_stop_reason_name(r->reason), r->iterations);
    cr_assert_eq(r->iterations, r->gp_steps + r->cg_steps);
    cr_assert_gt(r->faces, 0);
    /* KKT: ∇q = 0 where K > 0, ∇q >= 0 where K = 0, on the scale of ∇q(0) = −Hᵀb */
    size_t zeros = 0;
    for (size_t p = 0; p < K->size; p++) {
        cr_assert(K->data[p] >= 0.0, "pixel %zu = %g", p, K->data[p]);
        zeros += K->data[p] == 0.0;
    }
    const double v = kkt_violation(A, B, K->data, K->shape[0], K->shape[1], 0.3);
    cr_assert(v <= 1e-7, "a pixel's gradient is %g (relative) off the optimality conditions", v);
    cr_assert(zeros > K->size / 10 && zeros < K->size, "%zu of %zu pixels at 0: the bound should matter",
              zeros, K->size);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_report_destroy(&r);
}

/* FISTA run to a relative gradient mapping (and change) of 1e-13 lands on the same minimiser; at
 * the same --tol GPCG takes far fewer iterations to reach it */
Test(gpcg, reaches_the_minimiser_fista_reaches_with_many_more_iterations)
{
    kernest_array *A, *B, *Kg = NULL, *Kf = NULL;
    kernest_report *rg = NULL, *rf = NULL;
    problem(16, 9, &A, &B);
    kernest_options o = nonneg_options(1.0);
    o.tol = 1e-10;
    o.maxiter = 5000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kg, &rg), KERNEST_OK, "%s", kernest_last_error());
    o.solver = KERNEST_SOLVER_FISTA;
    o.tol = 1e-13;
    o.maxiter = 200000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kf, &rf), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rf->reason, KERNEST_STOP_CONVERGED);
    cr_assert(tu_rel_diff(Kg, Kf) < 1e-7, "gpcg and fista differ by %g", tu_rel_diff(Kg, Kf));
    cr_assert_lt(rg->iterations, rf->iterations / 3, "gpcg %d iterations, fista %d", rg->iterations, rf->iterations);
    cr_log_info("nonneg 31x31 from 16x16: gpcg %d iterations (%d gradient, %d on %d faces), fista %d",
                rg->iterations, rg->gp_steps, rg->cg_steps, rg->faces, rf->iterations);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&Kf);
    kernest_report_destroy(&rg);
    kernest_report_destroy(&rf);
}

/* FISTA stops on its gradient mapping relative to ‖Hᵀb‖, a measure of optimality that does not
 * depend on the start, as well as on the relative change of K: from zero and from a start far from
 * the minimiser (every pixel 2) the estimate meets the optimality conditions to tol. On the relative change alone it stopped from the far start at
 * 1.4e-4 (208 iterations; 1.2e-6 and 9.5e-6 now, after 349 and 949). */
Test(gpcg, fista_stops_near_the_minimiser_from_any_start)
{
    kernest_array *A, *B;
    problem(20, 5, &A, &B);
    kernest_options o = nonneg_options(0.3);
    o.solver = KERNEST_SOLVER_FISTA;
    o.tol = 1e-4;
    o.maxiter = 100000;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kn_session s;
    cr_assert_eq(kn_session_open(&s, As, Bs, 1, &o, NULL), KERNEST_OK, "%s", kernest_last_error());
    double *far = malloc(s.pb.n * sizeof *far);
    for (size_t p = 0; p < s.pb.n; p++)
        far[p] = 2.0;
    const double *starts[2] = {NULL, far};
    kn_fit f[2];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(kn_session_solve(&s, &o, starts[i], &f[i]), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(f[i].res.reason, KERNEST_STOP_CONVERGED, "start %d: %s after %d", i,
                     kernest_stop_reason_name(f[i].res.reason), f[i].res.iterations);
        const double v = kkt_violation(A, B, f[i].K, s.pb.kh, s.pb.kw, 0.3);
        cr_assert(v < o.tol, "start %d: stopped after %d iterations %g (relative) off the optimality "
                  "conditions", i, f[i].res.iterations, v);
    }
    cr_log_info("fista to tol 1e-4: %d iterations from zero, %d from far; estimates %g apart "
                "(the problem's weak directions)", f[0].res.iterations, f[1].res.iterations,
                tu_rel_diff_vec(f[0].K, f[1].K, s.pb.n));
    for (int i = 0; i < 2; i++)
        kn_fit_free(&f[i]);
    free(far);
    kn_session_close(&s);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* bounds on both sides, a support and held pixels: all exact in the estimate, which is FISTA's
 * minimiser; with no bound active (no constraint at all) it is CGLS's */
Test(gpcg, bounds_support_and_held_pixels_hold_exactly)
{
    unsigned long long s = 81;
    kernest_array *A = tu_random_array(10, 10, 0, 1, &s), *B = tu_random_array(10, 10, -1, 1, &s);
    kernest_array *Kg = NULL, *Kf = NULL;
    kernest_options o = tu_cpu_options(9, 9);
    kernest_fixed_pixel fx[2] = {{0, 0, 0.0}, {-1, 2, 0.3}};
    o.fixed = fx;
    o.nfixed = 2;
    o.support = KERNEST_SUPPORT_DISK;
    o.support_radius = 3.5;
    o.has_bounds = 1;
    o.lower = -0.2;
    o.upper = 0.4;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 0.1;
    o.solver = KERNEST_SOLVER_GPCG;
    o.tol = 1e-11;
    o.maxiter = 5000;
    kernest_report *r = NULL;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kg, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(r->reason, KERNEST_STOP_CONVERGED, "%s after %d", kernest_stop_reason_name(r->reason), r->iterations);
    kernest_report_destroy(&r);
    size_t at_bound = 0;
    for (size_t y = 0; y < 9; y++)
        for (size_t x = 0; x < 9; x++) {
            const double v = Kg->data[y * 9 + x], dy = (double)y - 4, dx = (double)x - 4;
            if (dy * dy + dx * dx > 3.5 * 3.5)
                cr_assert_eq(v, 0.0, "pixel %zu,%zu outside the disk is %g", y, x, v);
            cr_assert(v >= -0.2 && v <= 0.4, "pixel %zu,%zu = %g out of bounds", y, x, v);
            at_bound += v == -0.2 || v == 0.4;
        }
    cr_assert_gt(at_bound, 0, "no pixel at a bound: the test would not test the bounds");
    cr_assert_eq(Kg->data[4 * 9 + 4], 0.0);
    cr_assert_eq(Kg->data[3 * 9 + 6], 0.3);
    o.solver = KERNEST_SOLVER_FISTA;
    o.tol = 1e-14;
    o.maxiter = 200000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kf, NULL), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(tu_rel_diff(Kg, Kf) < 1e-7, "gpcg and fista differ by %g", tu_rel_diff(Kg, Kf));
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&Kf);
    /* nothing to hold: the unconstrained minimiser, as CGLS finds it */
    o = tu_cpu_options(9, 9);
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 0.1;
    o.tol = 1e-13;
    o.maxiter = 5000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kf, NULL), KERNEST_OK, "%s", kernest_last_error());
    o.solver = KERNEST_SOLVER_GPCG;
    o.tol = 1e-11;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kg, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(r->solver, "gpcg");
    cr_assert(tu_rel_diff(Kg, Kf) < 1e-8, "gpcg and cgls differ by %g", tu_rel_diff(Kg, Kf));
    kernest_report_destroy(&r);
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&Kf);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* with --nonneg, ℓ1 is l1·ΣK, a linear term: GPCG reaches FISTA's minimiser, and the weight
 * makes pixels 0 that are not without it */
Test(gpcg, takes_l1_with_nonneg_as_a_linear_term)
{
    kernest_array *A, *B, *Kg = NULL, *Kf = NULL, *K0 = NULL;
    problem(16, 9, &A, &B);
    kernest_options o = nonneg_options(1.0);
    o.tol = 1e-10;
    o.maxiter = 5000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K0, NULL), KERNEST_OK, "%s", kernest_last_error());
    o.l1 = 0.05;
    kernest_report *r = NULL;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kg, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(r->solver, "gpcg");
    cr_assert_eq(r->reason, KERNEST_STOP_CONVERGED);
    kernest_report_destroy(&r);
    o.solver = KERNEST_SOLVER_FISTA;
    o.tol = 1e-13;
    o.maxiter = 200000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kf, NULL), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(tu_rel_diff(Kg, Kf) < 1e-7, "gpcg and fista (l1 + nonneg) differ by %g", tu_rel_diff(Kg, Kf));
    size_t z0 = 0, zg = 0;
    for (size_t i = 0; i < Kg->size; i++) {
        z0 += K0->data[i] == 0.0;
        zg += Kg->data[i] == 0.0;
    }
    cr_assert_gt(zg, z0, "l1 left %zu zeros, without it %zu", zg, z0);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kg);
    kernest_array_destroy(&Kf);
    kernest_array_destroy(&K0);
}

Test(gpcg, refuses_what_is_not_a_bound_and_auto_keeps_fista)
{
    kernest_array *A, *B, *K = NULL;
    kernest_report *r = NULL;
    problem(8, 3, &A, &B);
    kernest_options o = nonneg_options(1.0);
    o.has_sum = 1;
    o.sum = 1.0;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--solver gpcg") && strstr(kernest_last_error(), "--sum"), "%s",
              kernest_last_error());
    o.has_sum = 0;
    o.nonneg = 0; /* l1 without a bound >= 0: not a linear term */
    o.l1 = 0.1;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--reg l1 without --nonneg"), "%s", kernest_last_error());
    o.nonneg = 1;
    o.l1 = 0.0;
    o.solver = KERNEST_SOLVER_AUTO; /* --nonneg under auto: FISTA, as before */
    o.maxiter = 20;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, &r), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(r->solver, "fista");
    o.solver = KERNEST_SOLVER_CGLS; /* names the solver that can */
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "use --solver gpcg"), "%s", kernest_last_error());
    kernest_report_destroy(&r);
    kernest_array_destroy(&K);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* stopped inside a face's conjugate gradients and inside the gradient steps, then resumed: the
 * same estimate and history, bit for bit, as the solve never stopped */
Test(gpcg, resume_is_bitwise_identical)
{
    kernest_array *A, *B, *Kref = NULL;
    kernest_report *rref = NULL;
    problem(12, 5, &A, &B);
    char *ck = tu_path(tu_dir, "gpcg.ckpt");
    kernest_options o = nonneg_options(0.3);
    o.tol = 1e-10;
    o.maxiter = 5000;
    cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &Kref, &rref), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_gt(rref->iterations, 40);
    for (int k = 1; k <= 31; k += 10) { /* a gradient step first, then face runs */
        kernest_array *Kint = NULL, *Kres = NULL;
        kernest_report *rint = NULL, *rres = NULL;
        o.checkpoint = ck;
        o.checkpoint_every = 1e9; /* only when stopped */
        o.resume = NULL;
        cr_assert_eq(tu_estimate_stopping(A, B, o, k, &Kint, &rint), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(rint->reason, KERNEST_STOP_INTERRUPTED);
        cr_assert_leq(rint->iterations, k); /* inside a face: the last step's end */
        o.checkpoint = NULL;
        o.resume = ck;
        cr_assert_eq(tu_estimate_stopping(A, B, o, 0, &Kres, &rres), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(rres->resumed_from, rint->iterations);
        cr_assert_eq(rres->iterations, rref->iterations, "stopped at %d", k);
        cr_assert_eq(memcmp(rres->residual_history, rref->residual_history,
                            ((size_t)rref->iterations + 1) * sizeof(double)), 0, "histories differ (stop at %d)", k);
        cr_assert_eq(memcmp(Kres->data, Kref->data, Kref->size * sizeof(double)), 0,
                     "the resumed estimate differs (stop at %d)", k);
        kernest_array_destroy(&Kint);
        kernest_array_destroy(&Kres);
        kernest_report_destroy(&rint);
        kernest_report_destroy(&rres);
    }
    free(ck);
    kernest_array_destroy(&Kref);
    kernest_report_destroy(&rref);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(gpcg, cli_takes_the_solver_and_reports_its_steps)
{
    kernest_array *A, *B;
    problem(12, 5, &A, &B);
    char *pa = tu_path(tu_dir, "A.npy"), *pb = tu_path(tu_dir, "B.npy"), *pk = tu_path(tu_dir, "K.npy"),
         *pr = tu_path(tu_dir, "r.json"), args[2048], err[512];
    cr_assert_eq(kernest_npy_write(pa, A, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_npy_write(pb, B, KERNEST_DOUBLE), KERNEST_OK);
    snprintf(args, sizeof args, "estimate %s %s -o %s --nonneg --reg grad --lambda 0.3 --solver gpcg --report %s -q", pa, pb,
             pk, pr);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *json = tu_read_text(pr);
    cr_assert(json && strstr(json, "\"gpcg\"") && strstr(json, "\"relative_projected_gradient\"") &&
                  strstr(json, "\"gp_steps\"") && strstr(json, "\"faces\""),
              "%s", json ? json : "(no report)");
    free(json);
    snprintf(args, sizeof args, "estimate %s %s -o %s --nonneg --sum 1 --reg grad --lambda 0.3 --solver gpcg", pa, pb, pk);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "--solver gpcg"), "%s", err);
    free(pa);
    free(pb);
    free(pk);
    free(pr);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}
