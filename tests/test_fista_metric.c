/* test_fista_metric.c — FISTA's rank-one metric (solve/fista_metric.h): its proximal map against
 * the fixed point that defines it, computed here on the host; the metric switching on where A's
 * mean makes one eigenvalue stand out (a valid-mode problem on a dense binary A) and off where
 * nothing does (a zero-mean A); the estimate against GPCG's minimiser; a resume bit for bit. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "base/rng.h"
#include "base/synth.h"
#include "kernest.h"
#include "solve/fista_metric.h"
#include "testutil.h"

TestSuite(metric, .init = tu_dir_setup, .fini = tu_dir_teardown);

#define CA(x) ((const kernest_array *const *)(x))

static double clip(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double soft(double v, double t)
{
    return v > t ? v - t : v < -t ? v + t : 0.0;
}

/* the metric's proximal map of w through the backend: x, and the scalar s it settled on */
static void metric_prox(const kn_prox_spec *spec, const double *v, double delta, double L, const double *w,
                        double *x, double *s)
{
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    kn_prox *p = NULL;
    cr_assert_eq(kn_prox_create(be, spec, &p), KERNEST_OK, "%s", kernest_last_error());
    kn_vec *vv = tu_upload(be, v, spec->n), *xv = tu_upload(be, w, spec->n), *scratch = NULL;
    cr_assert_eq(be->ops->vec_create(be, spec->n, &scratch), KERNEST_OK);
    kn_metric m = {.v = vv, .delta = delta};
    cr_assert_eq(kn_metric_prox(be, &m, p, L, xv, scratch), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_leq(m.searches, 40, "%d evaluations of the Euclidean map", m.searches);
    be->ops->vec_download(be, xv, x);
    *s = m.s;
    be->ops->vec_destroy(be, &vv);
    be->ops->vec_destroy(be, &xv);
    be->ops->vec_destroy(be, &scratch);
    kn_prox_destroy(be, &p);
    kn_backend_destroy(&be);
}

/* x is argmin_u ½‖u − w‖²_M + h(u), M = L(I + δvvᵀ), exactly when x = prox_{h/L}(w − δsv) with
 * s = vᵀ(x − w). Checked for bounds with ℓ1 (the Euclidean map computed here: soft, then clip)
 * and for a fixed sum (s against x itself; the map's own tests cover the sum's search), with a v
 * of both signs and a large δ. */
Test(metric, proximal_map_is_the_fixed_point_of_its_definition)
{
    enum { N = 300 };
    unsigned long long seed = 5;
    double *w = tu_random_vec_new(N, -1, 1, &seed), *v = tu_random_vec_new(N, -1, 1, &seed);
    double x[N], ref[N];
    const double nv = sqrt(tu_dot(v, v, N)), L = 2.5;
    for (size_t i = 0; i < N; i++)
        v[i] = (v[i] + 0.3) / nv; /* mostly positive, as A's mean direction is, not all */
    const double nv2 = sqrt(tu_dot(v, v, N));
    for (size_t i = 0; i < N; i++)
        v[i] /= nv2;
    const double deltas[] = {0.5, 30.0, 3000.0};
    for (int c = 0; c < 3; c++) {
        const double delta = deltas[c];
        kn_prox_spec sp = {.n = N, .l1 = 0.05, .lo = -0.1, .hi = 0.3};
        double s;
        metric_prox(&sp, v, delta, L, w, x, &s);
        double vxw = 0.0, worst = 0.0, scale = 0.0;
        for (size_t i = 0; i < N; i++)
            vxw += v[i] * (x[i] - w[i]);
        for (size_t i = 0; i < N; i++) {
            ref[i] = clip(soft(w[i] - delta * s * v[i], sp.l1 / L), sp.lo, sp.hi);
            worst = fmax(worst, fabs(ref[i] - x[i]));
            scale = fmax(scale, fabs(w[i]));
        }
        cr_assert(fabs(vxw - s) <= 1e-12 * (1.0 + fabs(s)), "delta %g: s = %.17g, v'(x - w) = %.17g", delta, s, vxw);
        cr_assert(worst <= 1e-12 * scale, "delta %g: x is %g off prox(w - delta s v)", delta, worst);
        cr_assert(fabs(s) > 1e-3, "delta %g: s = %g, the metric should move the point", delta, s);

        kn_prox_spec ss = {.n = N, .lo = 0.0, .hi = INFINITY, .has_sum = 1, .sum = 1.0};
        metric_prox(&ss, v, delta, L, w, x, &s);
        double sum = 0.0;
        vxw = 0.0;
        for (size_t i = 0; i < N; i++) {
            cr_assert_geq(x[i], 0.0);
            sum += x[i];
            vxw += v[i] * (x[i] - w[i]);
        }
        cr_assert(fabs(sum - 1.0) <= 1e-10, "delta %g: the sum is %.17g", delta, sum);
        cr_assert(fabs(vxw - s) <= 1e-10 * (1.0 + fabs(s)), "delta %g (sum): s = %.17g, v'(x - w) = %.17g", delta,
                  s, vxw);
    }
    free(w);
    free(v);
}

/* valid(A ⊛ K) + noise for an n×n A (binary at density, or ±1 when density is 0) and a
 * non-negative k×k K: every output sees the whole kernel */
static void valid_problem(size_t n, size_t k, double density, unsigned long long seed, kernest_array **A,
                          kernest_array **B)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    kernest_array *K = NULL;
    kernest_array_create2(k, k, &K);
    cr_assert_eq(kn_synth_kernel("gaussian:3,2,30", K), KERNEST_OK);
    kernest_array_create2(n, n, A);
    kn_synth_binary(&rng, density > 0 ? density : 0.5, *A);
    if (density == 0)
        for (size_t i = 0; i < (*A)->size; i++)
            (*A)->data[i] = 2.0 * (*A)->data[i] - 1.0;
    cr_assert_eq(kernest_convolve(*A, K, KERNEST_MODE_VALID, B), KERNEST_OK);
    kn_synth_noise(&rng, 0.01 * kn_synth_std(*B), *B);
    kernest_array_destroy(&K);
}

static kernest_options valid_options(size_t k, kernest_solver solver)
{
    kernest_options o = tu_cpu_options(k, k);
    o.mode = KERNEST_MODE_VALID;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 1.0;
    o.nonneg = 1;
    o.solver = solver;
    return o;
}

/* On a dense binary A in valid mode the kernel's sum is seen at about μ² × the outputs: one
 * eigenvalue 10²–10³ × the rest. FISTA switches to the metric there and reaches GPCG's minimiser in
 * a few hundred iterations; the plain step needed thousands on such problems (the window
 * problem of bench/results/fista-metric.txt: 1 788 against 45). On a ±1 A nothing stands out and
 * the step stays L·I. */
Test(metric, switches_on_where_the_mean_of_A_stands_out_and_reaches_the_minimiser)
{
    kernest_array *A, *B, *Kf = NULL, *Kg = NULL;
    kernest_report *rf = NULL, *rg = NULL;
    valid_problem(60, 31, 0.5, 3, &A, &B);
    kernest_options o = valid_options(31, KERNEST_SOLVER_GPCG);
    o.tol = 1e-12;
    o.maxiter = 20000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kg, &rg), KERNEST_OK, "%s", kernest_last_error());
    o = valid_options(31, KERNEST_SOLVER_FISTA);
    o.tol = 1e-9;
    o.maxiter = 20000;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kf, &rf), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rf->reason, KERNEST_STOP_CONVERGED, "%s after %d", kernest_stop_reason_name(rf->reason),
                 rf->iterations);
    cr_assert_geq(rf->metric_ratio, KN_METRIC_RATIO, "metric ratio %g", rf->metric_ratio);
    cr_assert_lt(rf->iterations, 1000, "%d iterations", rf->iterations);
    cr_assert(tu_rel_diff(Kf, Kg) < 1e-6, "fista and gpcg differ by %g", tu_rel_diff(Kf, Kg));
    cr_log_info("valid 31x31 from 60x60, density 0.5: metric ratio %.1f, fista %d iterations", rf->metric_ratio,
                rf->iterations);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kf);
    kernest_report_destroy(&rf);

    valid_problem(60, 31, 0.0, 3, &A, &B);
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kf, &rf), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rf->metric_ratio, 0.0, "a zero-mean A has no outlying eigenvalue, yet ratio %g", rf->metric_ratio);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kf);
    kernest_array_destroy(&Kg);
    kernest_report_destroy(&rf);
    kernest_report_destroy(&rg);
}

/* A solve in the metric stopped at iteration 13 and resumed from its checkpoint ends bit for bit
 * where the uninterrupted one does: the checkpoint carries v, δ and the last scalar s. */
Test(metric, resume_is_bitwise_identical)
{
    kernest_array *A, *B, *Kref = NULL, *Kint = NULL, *Kres = NULL;
    kernest_report *rref = NULL, *rint = NULL, *rres = NULL;
    valid_problem(40, 21, 0.5, 7, &A, &B);
    kernest_options o = valid_options(21, KERNEST_SOLVER_FISTA);
    o.tol = 1e-14;
    o.maxiter = 40;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kref, &rref), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_gt(rref->metric_ratio, 0.0);
    char *ck = tu_path(tu_dir, "metric.ckpt");
    o.checkpoint = ck;
    o.checkpoint_every = 1e9; /* only when stopped */
    cr_assert_eq(tu_estimate_stopping(A, B, o, 13, &Kint, &rint), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rint->reason, KERNEST_STOP_INTERRUPTED);
    o.checkpoint = NULL;
    o.resume = ck;
    cr_assert_eq(kernest_estimate(CA(&A), CA(&B), 1, &o, &Kres, &rres), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rres->resumed_from, 13);
    cr_assert_eq(rres->iterations, rref->iterations);
    cr_assert_eq(rres->metric_ratio, rref->metric_ratio);
    cr_assert_eq(rres->lipschitz, rref->lipschitz);
    cr_assert_eq(memcmp(rres->residual_history, rref->residual_history,
                        ((size_t)rref->iterations + 1) * sizeof(double)), 0, "the histories differ");
    cr_assert_eq(memcmp(Kres->data, Kref->data, Kref->size * sizeof(double)), 0, "the estimates differ");
    free(ck);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kref);
    kernest_array_destroy(&Kint);
    kernest_array_destroy(&Kres);
    kernest_report_destroy(&rref);
    kernest_report_destroy(&rint);
    kernest_report_destroy(&rres);
}
