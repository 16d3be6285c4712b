/* test_priors.c — priors: projections and shrinkage against their definitions, the radial model's
 * adjoint and exact recovery, FISTA against CGLS, non-negativity against no constraint, the CLI. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "kernest.h"
#include "model/model.h"
#include "backend/problem.h"
#include "solve/prox.h"
#include "base/synth.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------------------------------- */

/* out_k = prox_{step g}(v_k) through the backend, k < count, with one prox object (so later
 * calls start from what earlier ones found) */
static void run_prox_seq(const kn_prox_spec *spec, double step, const double *const *v, double **out,
                         int count)
{
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    kn_vec *x = NULL;
    kn_prox *p = NULL;
    cr_assert_eq(kn_prox_create(be, spec, &p), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(be->ops->vec_create(be, spec->n, &x), KERNEST_OK);
    for (int k = 0; k < count; k++) {
        be->ops->vec_upload(be, x, v[k]);
        cr_assert_eq(kn_prox_apply(be, p, step, x), KERNEST_OK, "%s", kernest_last_error());
        be->ops->vec_download(be, x, out[k]);
    }
    be->ops->vec_destroy(be, &x);
    kn_prox_destroy(be, &p);
    kn_backend_destroy(&be);
}

static void run_prox(const kn_prox_spec *spec, double step, const double *v, double *out)
{
    run_prox_seq(spec, step, &v, &out, 1);
}

static double clip(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double soft(double v, double t)
{
    return v > t ? v - t : v < -t ? v + t : 0.0;
}

/* ---- projections and shrinkage against their definitions ------------------------------------- */

Test(prox, nonneg_and_bounds_are_clips)
{
    enum { N = 50 };
    unsigned long long s = 11;
    double v[N], out[N];
    tu_random_vec(v, N, -2, 2, &s);
    kn_prox_spec nn = {.n = N, .lo = 0.0, .hi = INFINITY};
    run_prox(&nn, 1.0, v, out);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(out[i], fmax(v[i], 0.0), "nonneg at %zu: %g -> %g", i, v[i], out[i]);
    kn_prox_spec bd = {.n = N, .lo = -0.3, .hi = 0.5};
    run_prox(&bd, 1.0, v, out);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(out[i], clip(v[i], -0.3, 0.5), "bounds at %zu: %g -> %g", i, v[i], out[i]);
}

Test(prox, support_and_fixed_entries_are_set)
{
    enum { N = 40 };
    unsigned long long s = 12;
    double v[N], out[N], keep[N], fixv[N];
    tu_random_vec(v, N, -2, 2, &s);
    for (size_t i = 0; i < N; i++) {
        keep[i] = i % 3 != 0;              /* every third entry forced */
        fixv[i] = i % 6 == 0 ? 0.25 * (double)i : 0.0; /* half of those fixed to a value, half to 0 */
    }
    kn_prox_spec sp = {.n = N, .lo = -1.0, .hi = 1.0, .keep = keep, .fixv = fixv};
    run_prox(&sp, 1.0, v, out);
    for (size_t i = 0; i < N; i++) {
        double want = keep[i] ? clip(v[i], -1.0, 1.0) : fixv[i];
        cr_assert_eq(out[i], want, "entry %zu: %g -> %g, want %g", i, v[i], out[i], want);
    }
}

Test(prox, soft_threshold_matches_its_definition)
{
    enum { N = 60 };
    unsigned long long s = 13;
    double v[N], out[N];
    tu_random_vec(v, N, -1, 1, &s);
    kn_prox_spec l1 = {.n = N, .l1 = 0.125, .lo = -INFINITY, .hi = INFINITY};
    run_prox(&l1, 2.0, v, out); /* threshold step * l1 = 0.25 */
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(out[i], soft(v[i], 0.25), "soft at %zu: %g -> %g", i, v[i], out[i]);
    /* ℓ1 + non-negativity: the prox of a separable convex term is the clip of the shrinkage */
    kn_prox_spec l1nn = {.n = N, .l1 = 0.125, .lo = 0.0, .hi = INFINITY};
    run_prox(&l1nn, 2.0, v, out);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(out[i], fmax(soft(v[i], 0.25), 0.0), "soft+nonneg at %zu", i);
}

/* Reference for the sum: x_i = clip(soft(v_i − τ, t)) on free entries, τ by 200 bisection steps
 * in long double on the monotone Σ x(τ). */
static void sum_reference(const kn_prox_spec *sp, double t, const double *v, double *x)
{
    long double fixsum = 0, lo_t = -1e6, hi_t = 1e6;
    for (size_t i = 0; i < sp->n; i++)
        if (sp->keep && !sp->keep[i])
            fixsum += sp->fixv ? sp->fixv[i] : 0.0;
    for (int it = 0; it < 200; it++) {
        long double tau = 0.5L * (lo_t + hi_t), s = fixsum;
        for (size_t i = 0; i < sp->n; i++)
            if (!sp->keep || sp->keep[i])
                s += clip(soft(v[i] - (double)tau, t), sp->lo, sp->hi);
        if (s > sp->sum)
            lo_t = tau;
        else
            hi_t = tau;
    }
    double tau = (double)(0.5L * (lo_t + hi_t));
    for (size_t i = 0; i < sp->n; i++)
        x[i] = (!sp->keep || sp->keep[i]) ? clip(soft(v[i] - tau, t), sp->lo, sp->hi)
                                          : (sp->fixv ? sp->fixv[i] : 0.0);
}

static int feasible(const kn_prox_spec *sp, const double *x)
{
    double s = 0;
    for (size_t i = 0; i < sp->n; i++) {
        s += x[i];
        if (sp->keep && !sp->keep[i]) {
            if (x[i] != (sp->fixv ? sp->fixv[i] : 0.0))
                return 0;
        } else if (x[i] < sp->lo - 1e-15 || x[i] > sp->hi + 1e-15)
            return 0;
    }
    return fabs(s - sp->sum) <= 1e-10 * (1 + fabs(sp->sum));
}

static void check_sum_case(const char *label, kn_prox_spec *sp, double step, unsigned long long seed)
{
    enum { N = 9 };
    unsigned long long s = seed;
    double v[N], x[N], ref[N], w[N], p[N], v2[N], x2[N], v3[N], x3[N];
    cr_assert_eq(sp->n, N);
    tu_random_vec(v, N, -2, 2, &s);
    tu_random_vec(v3, N, -20, 5, &s);
    for (size_t i = 0; i < N; i++)
        v2[i] = v[i] + 1e-3 * (double)i;
    /* a nearby vector and a far one after v: the warm-started search must find the same point */
    const double *ins[3] = {v, v2, v3};
    double *outs[3] = {x, x2, x3};
    run_prox_seq(sp, step, ins, outs, 3);
    for (int k = 1; k < 3; k++) {
        sum_reference(sp, step * sp->l1, ins[k], ref);
        for (size_t i = 0; i < N; i++)
            cr_assert(fabs(outs[k][i] - ref[i]) <= 1e-10, "%s, call %d: entry %zu is %.15g, reference %.15g",
                      label, k + 1, i, outs[k][i], ref[i]);
    }
    sum_reference(sp, step * sp->l1, v, ref);
    double sx = 0;
    for (size_t i = 0; i < N; i++) {
        sx += x[i];
        cr_assert(fabs(x[i] - ref[i]) <= 1e-10, "%s: entry %zu is %.15g, reference %.15g", label, i, x[i], ref[i]);
    }
    cr_assert(fabs(sx - sp->sum) <= 1e-10 * (1 + fabs(sp->sum)), "%s: sums to %.15g, not %g", label, sx, sp->sum);
    cr_assert(feasible(sp, x), "%s: the result is not in the set", label);
    if (sp->l1 > 0)
        return;
    /* closest point: ⟨v − x, p − x⟩ <= 0 for every feasible p (here: projections of random points) */
    for (int k = 0; k < 50; k++) {
        tu_random_vec(w, N, -3, 3, &s);
        sum_reference(sp, 0.0, w, p);
        cr_assert(feasible(sp, p), "%s: reference point %d infeasible", label, k);
        double ip = 0;
        for (size_t i = 0; i < N; i++)
            ip += (v[i] - x[i]) * (p[i] - x[i]);
        cr_assert(ip <= 1e-10, "%s: <v - x, p - x> = %g > 0: x is not the closest point", label, ip);
    }
}

Test(prox, sum_is_reached_by_the_closest_point)
{
    double keep[9] = {1, 1, 0, 1, 1, 1, 0, 1, 1}, fixv[9] = {0, 0, 0.5, 0, 0, 0, 0, 0, 0};
    kn_prox_spec hyper = {.n = 9, .lo = -INFINITY, .hi = INFINITY, .has_sum = 1, .sum = 2.5};
    check_sum_case("hyperplane", &hyper, 1.0, 21);
    kn_prox_spec simplex = {.n = 9, .lo = 0.0, .hi = INFINITY, .has_sum = 1, .sum = 1.0};
    check_sum_case("simplex", &simplex, 1.0, 22);
    kn_prox_spec boxed = {.n = 9, .lo = -0.5, .hi = 0.7, .has_sum = 1, .sum = -1.0};
    check_sum_case("bounds + sum", &boxed, 1.0, 23);
    kn_prox_spec forced = {.n = 9, .lo = 0.0, .hi = 1.0, .keep = keep, .fixv = fixv, .has_sum = 1, .sum = 3.0};
    check_sum_case("nonneg + fixed + support + sum", &forced, 1.0, 24);
    kn_prox_spec shrunk = {.n = 9, .l1 = 0.3, .lo = 0.0, .hi = INFINITY, .has_sum = 1, .sum = 2.0};
    check_sum_case("l1 + nonneg + sum", &shrunk, 0.5, 25);
}

Test(prox, unreachable_sum_and_empty_bounds_are_refused)
{
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    kn_prox *p = NULL;
    kn_prox_spec far = {.n = 4, .lo = 0.0, .hi = 1.0, .has_sum = 1, .sum = 5.0};
    cr_assert_eq(kn_prox_create(be, &far, &p), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--sum"), "message: %s", kernest_last_error());
    kn_prox_spec empty = {.n = 4, .lo = 1.0, .hi = 0.0};
    cr_assert_eq(kn_prox_create(be, &empty, &p), KERNEST_E_INVALID);
    cr_assert_null(p);
    kn_backend_destroy(&be);
}

/* ---- the radial model ------------------------------------------------------------------------- */

Test(radial, phi_interpolates_and_its_transpose_is_the_adjoint)
{
    const size_t kh = 8, kw = 11;
    kn_csr phi = {0}, phit = {0};
    cr_assert_eq(kn_radial_phi(kh, kw, &phi), KERNEST_OK);
    cr_assert_eq(kn_csr_transpose(&phi, &phit), KERNEST_OK);
    const size_t n = kh * kw, p = phi.cols, cy = (kh - 1) / 2, cx = (kw - 1) / 2;
    cr_assert_eq(p, kn_radial_knots(kh, kw));
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = phi.row_ptr[i]; j < phi.row_ptr[i + 1]; j++)
            s += phi.val[j];
        cr_assert(fabs(s - 1.0) < 1e-15, "row %zu of Phi sums to %g", i, s);
    }
    size_t c = cy * kw + cx, k3 = cy * kw + cx + 3;
    cr_assert(phi.row_ptr[c + 1] - phi.row_ptr[c] == 1 && phi.col[phi.row_ptr[c]] == 0, "centre -> knot 0 only");
    cr_assert(phi.row_ptr[k3 + 1] - phi.row_ptr[k3] == 1 && phi.col[phi.row_ptr[k3]] == 3, "(0,3) -> knot 3 only");

    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    kn_sparse *sp = NULL, *spt = NULL;
    kn_vec *cv = NULL, *kv = NULL, *pc = NULL, *ptk = NULL;
    cr_assert_eq(kn_csr_upload(be, &phi, &sp), KERNEST_OK);
    cr_assert_eq(kn_csr_upload(be, &phit, &spt), KERNEST_OK);
    be->ops->vec_create(be, p, &ptk);
    be->ops->vec_create(be, n, &pc);
    unsigned long long s = 31;
    double hc[64], hk[88];
    tu_random_vec(hc, p, -1, 1, &s);
    tu_random_vec(hk, n, -1, 1, &s);
    cv = tu_upload(be, hc, p);
    kv = tu_upload(be, hk, n);
    be->ops->sparse_apply(be, sp, cv, pc);
    be->ops->sparse_apply(be, spt, kv, ptk);
    double a, b, hpc[88], hptk[64];
    be->ops->vec_download(be, pc, hpc);
    be->ops->vec_download(be, ptk, hptk);
    tu_dot_test(p, hc, hptk, n, hpc, hk, &a, &b);
    cr_assert(fabs(a - b) <= 1e-12 * fmax(1.0, fabs(a)), "<Phi c, K> = %.17g but <c, Phi'K> = %.17g", a, b);
    be->ops->vec_destroy(be, &cv);
    be->ops->vec_destroy(be, &kv);
    be->ops->vec_destroy(be, &pc);
    be->ops->vec_destroy(be, &ptk);
    be->ops->sparse_destroy(be, &sp);
    be->ops->sparse_destroy(be, &spt);
    kn_backend_destroy(&be);
    kn_csr_free(&phi);
    kn_csr_free(&phit);
}

/* ⟨(H Φ diag(keep)) c, r⟩ = ⟨c, (H Φ diag(keep))ᵀ r⟩ for the composed backend */
static void check_composed_adjoint(kernest_model kind, int with_keep)
{
    unsigned long long s = 41;
    kernest_array *A = tu_random_array(6, 5, 0, 1, &s);
    const kernest_array *As[1] = {A};
    kn_problem pb;
    cr_assert_eq(kn_problem_init(&pb, As, NULL, 1, KERNEST_MODE_SAME, 9, 7, NULL), KERNEST_OK);
    kn_model m;
    cr_assert_eq(kn_model_init(&m, kind, 0, 9, 7), KERNEST_OK);
    double keep[63], x[63], y[30];
    for (size_t i = 0; i < m.nx; i++)
        keep[i] = i % 4 != 1;
    kn_backend *be = tu_cpu(KERNEST_DOUBLE), *hb = NULL;
    cr_assert_eq(be->ops->op_setup(be, &pb), KERNEST_OK);
    cr_assert_eq(kn_model_backend_bg(&m, be, with_keep ? keep : NULL, NULL, &hb), KERNEST_OK, "%s", kernest_last_error());
    double hc[30], htr[63], d[63], gc[63], gd[63];
    tu_random_vec(x, m.nx, -1, 1, &s);
    tu_random_vec(y, pb.m, -1, 1, &s);
    tu_apply(hb, 0, x, m.nx, hc, pb.m);
    tu_apply(hb, 1, y, pb.m, htr, m.nx);
    double a, b, g1, g2;
    tu_dot_test(m.nx, x, htr, pb.m, hc, y, &a, &b);
    cr_assert(fabs(a - b) <= 1e-12 * fmax(1.0, fabs(a)), "%s%s: <H c, r> = %.17g but <c, H'r> = %.17g",
              kernest_model_name(kind), with_keep ? " with held unknowns" : "", a, b);
    /* the regulariser's Gram matrix is symmetric too */
    tu_random_vec(d, m.nx, -1, 1, &s);
    tu_gram(hb, KERNEST_REG_GRAD, x, gc, m.nx);
    tu_gram(hb, KERNEST_REG_GRAD, d, gd, m.nx);
    tu_dot_test(m.nx, x, gd, m.nx, gc, d, &g1, &g2); /* g1 = <G c, d>, g2 = <c, G d> */
    cr_assert(fabs(g1 - g2) <= 1e-12 * fmax(1.0, fabs(g1)), "reg Gram not symmetric: %.17g vs %.17g", g1, g2);
    if (hb != be)
        kn_backend_destroy(&hb);
    kn_backend_destroy(&be);
    kn_model_free(&m);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
}

Test(radial, composed_operator_is_adjoint)
{
    check_composed_adjoint(KERNEST_MODEL_RADIAL, 0);
    check_composed_adjoint(KERNEST_MODEL_RADIAL, 1);
    check_composed_adjoint(KERNEST_MODEL_PIXEL, 1);
}

/* B = same(A ⊛ K) (+ sigma noise) for a random A of h×w */
static void options(kernest_options *o, size_t kh, size_t kw)
{
    *o = tu_cpu_options(kh, kw);
}

Test(radial, recovers_a_radial_kernel_from_noiseless_data)
{
    unsigned long long s = 51;
    kernest_array *A = tu_random_array(16, 16, 0, 1, &s), *K = NULL, *Kh = NULL;
    kernest_report *rep = NULL;
    kn_model m;
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_RADIAL, 0, 11, 11), KERNEST_OK);
    double c[16];
    for (size_t j = 0; j < m.nx; j++)
        c[j] = 1.0 / (1.0 + (double)j);
    kernest_array_create2(11, 11, &K);
    kn_model_kernel(&m, c, K->data);
    kn_rng rng;
    kn_rng_seed(&rng, 1);
    kernest_array *B = tu_observe(A, K, 0.0, &rng);
    kernest_options o;
    options(&o, 11, 11);
    o.model = KERNEST_MODEL_RADIAL;
    o.tol = 1e-13;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rep->nprofile, m.nx);
    double num = 0, den = 0;
    for (size_t j = 0; j < m.nx; j++) {
        num += (rep->profile[j] - c[j]) * (rep->profile[j] - c[j]);
        den += c[j] * c[j];
    }
    cr_assert(sqrt(num / den) < 1e-8, "profile error %g (%s after %d iterations)", sqrt(num / den),
              kernest_stop_reason_name(rep->reason), rep->iterations);
    cr_assert(tu_rel_diff(Kh, K) < 1e-8, "kernel error %g", tu_rel_diff(Kh, K));
    cr_assert_str_eq(rep->solver, "cgls");
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    /* the centre held at its true value: CGLS over the other knots, same answer */
    kernest_fixed_pixel centre = {0, 0, c[0]};
    o.fixed = &centre;
    o.nfixed = 1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(rep->solver, "cgls");
    cr_assert_eq(rep->profile[0], c[0], "the fixed knot moved: %.17g", rep->profile[0]);
    cr_assert(tu_rel_diff(Kh, K) < 1e-8, "kernel error with the centre held %g", tu_rel_diff(Kh, K));
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    /* and c >= 0 on top: FISTA, same answer */
    o.nonneg = 1;
    o.tol = 1e-12;
    o.maxiter = 20000;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(rep->solver, "fista");
    cr_assert_eq(rep->profile[0], c[0], "the fixed knot moved: %g", rep->profile[0]);
    cr_assert(tu_rel_diff(Kh, K) < 1e-6, "kernel error with fista %g (%s after %d iterations)",
              tu_rel_diff(Kh, K), kernest_stop_reason_name(rep->reason), rep->iterations);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kn_model_free(&m);
}

Test(radial, meaningless_combinations_are_refused)
{
    unsigned long long s = 61;
    kernest_array *A = tu_random_array(6, 6, 0, 1, &s), *B = tu_random_array(6, 6, 0, 1, &s), *K = NULL;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o;
    options(&o, 0, 0);
    o.model = KERNEST_MODEL_RADIAL;
    o.support = KERNEST_SUPPORT_BOX; /* disk:R holds knots; a box is not radial */
    o.support_h = o.support_w = 3;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--support"), "%s", kernest_last_error());
    o.support = KERNEST_SUPPORT_NONE;
    kernest_fixed_pixel diag = {1, 1, 0.0};
    o.fixed = &diag;
    o.nfixed = 1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--fix 1,1"), "%s", kernest_last_error());
    o.nfixed = 0;
    o.has_sum = 1;
    o.sum = 1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--sum"), "%s", kernest_last_error());
    cr_assert_null(K);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* ---- FISTA -------------------------------------------------------------------------------- */

Test(fista, agrees_with_cgls_when_no_constraint_is_active)
{
    unsigned long long s = 71;
    kernest_array *A = tu_random_array(10, 10, 0, 1, &s), *K = tu_random_array(5, 5, 0.2, 1, &s);
    kernest_array *Kc = NULL, *Kf = NULL, *Kg = NULL;
    kn_rng rng;
    kn_rng_seed(&rng, 2);
    kernest_array *B = tu_observe(A, K, 0.0, &rng);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o;
    options(&o, 5, 5);
    o.tol = 1e-14;
    o.maxiter = 1000;
    kernest_report *rc = NULL, *rf = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kc, &rc), KERNEST_OK, "%s", kernest_last_error());
    o.nonneg = 1; /* the truth is positive and the data noiseless: the constraint is inactive */
    o.tol = 1e-12;
    o.maxiter = 20000;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kf, &rf), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(rf->solver, "fista");
    cr_assert(tu_rel_diff(Kf, Kc) < 1e-6, "fista (nonneg) and cgls differ by %g (fista: %s after %d)",
              tu_rel_diff(Kf, Kc), kernest_stop_reason_name(rf->reason), rf->iterations);
    kernest_report_destroy(&rf);
    /* no constraint at all, a gradient regulariser and noisy data: the same minimiser */
    kernest_array_destroy(&B);
    B = tu_observe(A, K, 0.1, &rng);
    Bs[0] = B;
    o.nonneg = 0;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 0.5;
    o.solver = KERNEST_SOLVER_CGLS;
    o.tol = 1e-14;
    kernest_array_destroy(&Kc);
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kc, NULL), KERNEST_OK, "%s", kernest_last_error());
    o.solver = KERNEST_SOLVER_FISTA;
    o.tol = 1e-12;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kg, &rf), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(tu_rel_diff(Kg, Kc) < 1e-6, "fista and cgls (grad) differ by %g (fista: %s after %d)",
              tu_rel_diff(Kg, Kc), kernest_stop_reason_name(rf->reason), rf->iterations);
    kernest_report_destroy(&rc);
    kernest_report_destroy(&rf);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_array_destroy(&Kc);
    kernest_array_destroy(&Kf);
    kernest_array_destroy(&Kg);
}

/* RMS(B' − same(A' ⊛ K)) / sigma */
static double held_out(const kernest_array *A, const kernest_array *B, const kernest_array *K, double sigma)
{
    kernest_array *P = NULL;
    cr_assert_eq(kernest_convolve(A, K, KERNEST_MODE_SAME, &P), KERNEST_OK);
    double ss = 0;
    for (size_t i = 0; i < B->size; i++)
        ss += (B->data[i] - P->data[i]) * (B->data[i] - P->data[i]);
    kernest_array_destroy(&P);
    return sqrt(ss / (double)B->size) / sigma;
}

Test(fista, nonneg_beats_no_constraint_on_a_compact_kernel)
{
    const size_t n = 24, k = 2 * n - 1;
    kn_rng rng;
    kn_rng_seed(&rng, 3);
    kernest_array *K = NULL, *A = NULL, *At = NULL, *Ku = NULL, *Kn = NULL;
    kernest_array_create2(k, k, &K);
    cr_assert_eq(kn_synth_kernel("gaussian:2,1,30", K), KERNEST_OK);
    kernest_array_create2(n, n, &A);
    kernest_array_create2(n, n, &At);
    kn_synth_binary(&rng, 0.2, A);
    kn_synth_binary(&rng, 0.2, At);
    kernest_array *B = tu_observe(A, K, 0.0, &rng);
    const double sigma = 0.02 * kn_synth_std(B);
    kn_synth_noise(&rng, sigma, B);
    kernest_array *Bt = tu_observe(At, K, sigma, &rng);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o;
    options(&o, 0, 0);
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Ku, NULL), KERNEST_OK, "%s", kernest_last_error());
    o.nonneg = 1;
    o.maxiter = 2000;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kn, NULL), KERNEST_OK, "%s", kernest_last_error());
    double eu = held_out(At, Bt, Ku, sigma), en = held_out(At, Bt, Kn, sigma);
    cr_assert(en < 0.25 * eu, "held-out RMSE/sigma: nonneg %.3f, unconstrained %.3f", en, eu);
    cr_log_info("held-out RMSE/sigma on a 47x47 gaussian:2,1,30: nonneg %.3f, unconstrained %.3f", en, eu);
    kernest_array_destroy(&K);
    kernest_array_destroy(&A);
    kernest_array_destroy(&At);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Bt);
    kernest_array_destroy(&Ku);
    kernest_array_destroy(&Kn);
}

Test(fista, pixel_constraints_hold_in_the_estimate)
{
    unsigned long long s = 81;
    kernest_array *A = tu_random_array(8, 8, 0, 1, &s), *B = tu_random_array(8, 8, -1, 1, &s), *K = NULL;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o;
    options(&o, 7, 7);
    kernest_fixed_pixel fx[2] = {{0, 0, 0.0}, {-1, 2, 0.3}};
    o.fixed = fx;
    o.nfixed = 2;
    o.support = KERNEST_SUPPORT_DISK;
    o.support_radius = 2.5;
    o.has_bounds = 1;
    o.lower = -0.2;
    o.upper = 0.4;
    o.has_sum = 1;
    o.sum = 1.0;
    o.maxiter = 300;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_OK, "%s", kernest_last_error());
    double sum = 0;
    for (size_t y = 0; y < 7; y++)
        for (size_t x = 0; x < 7; x++) {
            double v = K->data[y * 7 + x], dy = (double)y - 3, dx = (double)x - 3;
            sum += v;
            if (dy * dy + dx * dx > 2.5 * 2.5)
                cr_assert_eq(v, 0.0, "pixel %zu,%zu outside the disk is %g", y, x, v);
            cr_assert(v >= -0.2 - 1e-15 && v <= 0.4 + 1e-15, "pixel %zu,%zu = %g out of bounds", y, x, v);
        }
    cr_assert_eq(K->data[3 * 7 + 3], 0.0);
    cr_assert_eq(K->data[2 * 7 + 5], 0.3);
    cr_assert(fabs(sum - 1.0) < 1e-10, "sum %.15g", sum);
    kernest_array_destroy(&K);
    /* support and fixed pixels alone: CGLS over the free pixels, the same minimiser as FISTA */
    o.has_bounds = 0;
    o.has_sum = 0;
    o.tol = 1e-14;
    kernest_array *Kf = NULL;
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(rep->solver, "cgls");
    kernest_report_destroy(&rep);
    o.solver = KERNEST_SOLVER_FISTA;
    o.tol = 1e-12;
    o.maxiter = 50000;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kf, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(K->data[3 * 7 + 3], 0.0);
    cr_assert_eq(K->data[2 * 7 + 5], 0.3);
    cr_assert_eq(K->data[0], 0.0);
    cr_assert(tu_rel_diff(K, Kf) < 1e-6, "held-unknowns cgls and fista differ by %g (fista: %s after %d)",
              tu_rel_diff(K, Kf), kernest_stop_reason_name(rep->reason), rep->iterations);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&K);
    kernest_array_destroy(&Kf);
    o.solver = KERNEST_SOLVER_AUTO;
    o.has_bounds = 1;
    o.has_sum = 1;
    o.maxiter = 300;
    /* contradictions are refused, naming the option */
    fx[1].value = 0.9; /* above the upper bound */
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--fix -1,2"), "%s", kernest_last_error());
    fx[1] = (kernest_fixed_pixel){9, 0, 0.0};
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "outside the 7x7 kernel"), "%s", kernest_last_error());
    o.nfixed = 0;
    o.lower = 0.1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--support"), "%s", kernest_last_error());
    o.has_bounds = 0;
    o.has_sum = 0;
    o.support = KERNEST_SUPPORT_NONE;
    o.nonneg = 1;
    o.solver = KERNEST_SOLVER_CGLS;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--solver cgls"), "%s", kernest_last_error());
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* ---- synthetic kernels ------------------------------------------------------------------------ */

Test(synth, new_kernels_follow_their_definitions)
{
    kernest_array *a = NULL, *b = NULL;
    kernest_array_create2(15, 15, &a);
    kernest_array_create2(15, 15, &b);
    cr_assert_eq(kn_synth_kernel("gaussian:2.5", a), KERNEST_OK);
    cr_assert_eq(kn_synth_kernel("gaussian:2.5,2.5,40", b), KERNEST_OK);
    cr_assert(tu_rel_diff(a, b) < 1e-14, "an isotropic gaussian does not depend on the angle");
    cr_assert_eq(kn_synth_kernel("gaussian:3,1,0", a), KERNEST_OK);
    cr_assert_eq(kn_synth_kernel("gaussian:3,1,90", b), KERNEST_OK);
    for (size_t y = 0; y < 15; y++)
        for (size_t x = 0; x < 15; x++)
            cr_assert(fabs(a->data[y * 15 + x] - b->data[x * 15 + y]) < 1e-14, "90 degrees is the transpose");
    cr_assert_eq(a->data[7 * 15 + 7], 1.0, "peak 1");
    cr_assert(fabs(a->data[7 * 15 + 10] - exp(-0.5)) < 1e-15, "SX = 3 along the columns at angle 0");
    cr_assert_eq(kn_synth_kernel("power:1", a), KERNEST_OK);
    cr_assert_eq(kn_synth_kernel("inv-r", b), KERNEST_OK);
    cr_assert(tu_rel_diff(a, b) == 0.0, "power:1 is inv-r");
    cr_assert_eq(kn_synth_kernel("exp:2,1,0", a), KERNEST_OK);
    cr_assert(fabs(a->data[7 * 15 + 9] - exp(-1.0)) < 1e-15 && fabs(a->data[8 * 15 + 7] - exp(-1.0)) < 1e-15);
    cr_assert_eq(kn_synth_kernel("line:6,30", a), KERNEST_OK);
    double s = 0;
    for (size_t i = 0; i < a->size; i++) {
        s += a->data[i];
        cr_assert(fabs(a->data[i] - a->data[a->size - 1 - i]) < 1e-15, "a line through the centre is symmetric");
    }
    cr_assert(fabs(s - 1.0) < 1e-14, "line sums to %g", s);
    cr_assert_eq(kn_synth_kernel("line:40,0", a), KERNEST_E_INVALID);
    cr_assert_eq(kn_synth_kernel("gaussian:1,2", a), KERNEST_E_INVALID);
    kernest_array_destroy(&a);
    kernest_array_destroy(&b);
}

/* ---- the command line ------------------------------------------------------------------------- */

Test(cli, prior_options_parse_and_report_the_solver)
{
    char *dir = tu_synth_dir(), args[2048], err[1024];
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --reg grad:1e-2,l1:1e-3 "
             "--nonneg --support box:9x7 --fix 0,1=0.5 --maxiter 50 --report '%s/r.json' --threads 1",
             dir, dir, dir, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *rp = tu_path(dir, "r.json");
    FILE *f = fopen(rp, "r");
    cr_assert_not_null(f);
    char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    cr_assert(strstr(text, "\"solver\":\t\"fista\""), "report: %.400s", text);
    cr_assert(strstr(text, "\"l1\":\t0.001"), "report lacks l1");
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --model radial --reg grad:10 "
             "--profile '%s/p.npy' --threads 1", dir, dir, dir, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *pp = tu_path(dir, "p.npy");
    kernest_array *p = NULL;
    cr_assert_eq(kernest_npy_read(pp, &p), KERNEST_OK);
    cr_assert_eq(p->size, kn_radial_knots(15, 15));
    kernest_array_destroy(&p);
    static const char *const bad[] = {
        "--reg grad:1 --lambda 2", "--reg l1", "--reg tv", "--reg tv:-1", "--model radial --reg tv:1", "--reg ridge:1,grad:2", "--bounds 2,1",
        "--bounds 1", "--bounds inf,inf", "--fix 1,x=0", "--fix 1,1", "--support disk:-1", "--support box:0x3",
        "--profile p.npy", "--model polar", "--solver lsqr", "--nonneg --solver cgls",
        "--model radial --fix 1,1=0", "--fix 100,0=0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K2.npy' %s --threads 1", dir, dir,
                 dir, bad[i]);
        cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "'%s' should be a usage error: %s", bad[i], err);
        cr_assert(strncmp(err, "kernest: ", 9) == 0 && strchr(err, '\n') == err + strlen(err) - 1,
                  "'%s': one-line message expected, got: %s", bad[i], err);
    }
    char *k2 = tu_path(dir, "K2.npy");
    cr_assert(!tu_exists(k2), "no output after a refused option");
    free(k2);
    free(rp);
    free(pp);
    tu_rmtree(dir);
    free(dir);
}
