/* test_models.c — the harmonic and low-rank models and the background: Φ against its definition,
 * adjoint identities of the operators the solvers see, exact recovery of kernels that lie in the
 * model, offsets recovered, refusals and CLI runs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "kernest.h"
#include "model/model.h"
#include "backend/problem.h"
#include "fit/fit.h"
#include "testutil.h"

static void options(kernest_options *o, size_t kh, size_t kw)
{
    *o = tu_cpu_options(kh, kw);
}

/* linear interpolation of knots f (f[j] at r = j) at r */
static double interp(const double *f, size_t p, double r)
{
    size_t j = (size_t)floor(r);
    double t = r - (double)j;
    return j + 1 < p ? (1 - t) * f[j] + t * f[j + 1] : f[j];
}

Test(harmonic, phi_follows_the_definition)
{
    const size_t kh = 9, kw = 7;
    const int M = 2;
    kn_model m;
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_HARMONIC, M, kh, kw), KERNEST_OK, "%s", kernest_last_error());
    const size_t p = kn_radial_knots(kh, kw);
    cr_assert_eq(m.nx, p + 2 * (size_t)M * (p - 1));
    unsigned long long s = 7;
    double c[256], K[63], prof[5][16] = {{0}};
    tu_random_vec(c, m.nx, -1, 1, &s);
    kn_model_kernel(&m, c, K);
    for (size_t j = 0; j < p; j++)
        prof[0][j] = c[j];
    for (int b = 1; b < 2 * M + 1; b++) /* f_m(0) = g_m(0) = 0, knots 1.. from the layout */
        for (size_t j = 1; j < p; j++)
            prof[b][j] = c[p + (size_t)(b - 1) * (p - 1) + j - 1];
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            /* rows down: θ from the +column axis towards +row */
            double dy = (double)y - 4, dx = (double)x - 3, r = hypot(dy, dx), th = atan2(dy, dx);
            double want = interp(prof[0], p, r);
            for (int mm = 1; mm <= M; mm++)
                want += interp(prof[2 * mm - 1], p, r) * cos(mm * th) + interp(prof[2 * mm], p, r) * sin(mm * th);
            cr_assert(fabs(K[y * kw + x] - want) < 1e-12, "pixel (%zu,%zu): %.17g, want %.17g", y, x,
                      K[y * kw + x], want);
        }
    kn_model_free(&m);
}

/* The grad prior's quadratic form, profile by profile: Σ_j (f_{j+1} − f_j)² along r (the angular
 * profiles from their 0 at r = 0), plus m² Σ_j f_m(j)²/j for the angular ones (the angular part
 * of |∇K|²). */
Test(harmonic, grad_prior_is_radial_differences_plus_the_angular_term)
{
    const size_t kh = 11, kw = 9;
    const int M = 3;
    kn_model m;
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_HARMONIC, M, kh, kw), KERNEST_OK, "%s", kernest_last_error());
    const size_t p = kn_radial_knots(kh, kw), q = p - 1;
    unsigned long long s = 11;
    double c[512], g[512];
    cr_assert(m.nx <= 512);
    tu_random_vec(c, m.nx, -1, 1, &s);
    kn_csr_apply(&m.gram, c, g);
    double form = 0.0, want = 0.0;
    for (size_t i = 0; i < m.nx; i++)
        form += c[i] * g[i];
    for (size_t j = 0; j + 1 < p; j++)
        want += (c[j + 1] - c[j]) * (c[j + 1] - c[j]);
    for (int b = 1; b < 2 * M + 1; b++) {
        const double *f = c + p + (size_t)(b - 1) * q; /* knots 1..q */
        const double mm = (double)((b + 1) / 2);
        want += f[0] * f[0];
        for (size_t j = 0; j + 1 < q; j++)
            want += (f[j + 1] - f[j]) * (f[j + 1] - f[j]);
        for (size_t j = 0; j < q; j++)
            want += mm * mm * f[j] * f[j] / (double)(j + 1);
    }
    cr_assert(fabs(form - want) < 1e-10 * want, "cᵀGc = %.17g, want %.17g", form, want);
    kn_model_free(&m);
}

/* ⟨A c, r⟩ = ⟨c, Aᵀ r⟩ for the operator the solvers see, and the regulariser's Gram symmetric */
static void check_adjoint(const char *label, const kn_model *m, const kn_problem *pb, const double *keep, int bg)
{
    unsigned long long s = 43;
    kn_backend *be = tu_cpu(KERNEST_DOUBLE), *hb = NULL;
    cr_assert_eq(be->ops->op_setup(be, pb), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_model_backend_bg(m, be, keep, bg ? pb : NULL, &hb), KERNEST_OK, "%s", kernest_last_error());
    double *x = malloc(m->nx * sizeof *x), *y = malloc(pb->m * sizeof *y), *d = malloc(m->nx * sizeof *d);
    double *hc = malloc(pb->m * sizeof *hc), *htr = malloc(m->nx * sizeof *htr);
    double *gc = malloc(m->nx * sizeof *gc), *gd = malloc(m->nx * sizeof *gd);
    cr_assert(x && y && d && hc && htr && gc && gd);
    tu_random_vec(x, m->nx, -1, 1, &s);
    tu_random_vec(y, pb->m, -1, 1, &s);
    tu_apply(hb, 0, x, m->nx, hc, pb->m);
    tu_apply(hb, 1, y, pb->m, htr, m->nx);
    double a, b, g1, g2;
    tu_dot_test(m->nx, x, htr, pb->m, hc, y, &a, &b);
    const double hn = sqrt(tu_dot(hc, hc, pb->m));
    cr_assert(hn > 0, "%s: the operator gave 0", label);
    cr_assert(fabs(a - b) <= 1e-12 * fmax(1.0, fabs(a)), "%s: <A c, r> = %.17g but <c, A'r> = %.17g", label, a, b);
    tu_random_vec(d, m->nx, -1, 1, &s);
    tu_gram(hb, KERNEST_REG_GRAD, x, gc, m->nx);
    tu_gram(hb, KERNEST_REG_GRAD, d, gd, m->nx);
    tu_dot_test(m->nx, x, gd, m->nx, gc, d, &g1, &g2); /* g1 = <G c, d>, g2 = <c, G d> */
    cr_assert(fabs(g1 - g2) <= 1e-12 * fmax(1.0, fabs(g1)), "%s: reg Gram not symmetric: %.17g vs %.17g", label, g1, g2);
    if (bg) { /* P H c has zero mean over each pair's observed pixels */
        double beta[4];
        double *zero = calloc(pb->m, sizeof *zero);
        kn_background_offsets(pb, zero, hc, beta);
        for (size_t i = 0; i < pb->npairs; i++)
            cr_assert(fabs(beta[i]) < 1e-12, "%s: pair %zu keeps a mean %g", label, i, beta[i]);
        free(zero);
    }
    if (hb != be)
        kn_backend_destroy(&hb);
    kn_backend_destroy(&be);
    free(x);
    free(y);
    free(d);
    free(hc);
    free(htr);
    free(gc);
    free(gd);
}

Test(models, operators_are_adjoint)
{
    unsigned long long s = 41;
    kernest_array *A1 = tu_random_array(6, 5, 0, 1, &s), *A2 = tu_random_array(7, 6, 0, 1, &s);
    kernest_array *B1 = NULL, *B2 = NULL;
    kernest_array_create2(6, 5, &B1);
    kernest_array_create2(7, 6, &B2);
    B1->data[4] = NAN; /* a missing pixel: the background's mean skips it */
    const kernest_array *As[2] = {A1, A2}, *Bs[2] = {B1, B2};
    kn_problem pb;
    cr_assert_eq(kn_problem_init(&pb, As, Bs, 2, KERNEST_MODE_SAME, 9, 7, NULL), KERNEST_OK, "%s", kernest_last_error());
    kn_model m;
    double keep[1024], held[64];
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_HARMONIC, 3, 9, 7), KERNEST_OK);
    for (size_t i = 0; i < m.nx; i++)
        keep[i] = i % 5 != 2;
    check_adjoint("harmonic:3", &m, &pb, NULL, 0);
    check_adjoint("harmonic:3, held unknowns", &m, &pb, keep, 0);
    check_adjoint("harmonic:3, background", &m, &pb, NULL, 1);
    kn_model_free(&m);
    for (int side = 0; side < 2; side++) {
        tu_random_vec(held, 2 * (side == 0 ? 7 : 9), -1, 1, &s);
        cr_assert_eq(kn_lowrank_model(&m, side, 2, 9, 7, 1, held), KERNEST_OK);
        cr_assert_eq(m.nx, (size_t)2 * (side == 0 ? 9 : 7));
        check_adjoint(side == 0 ? "lowrank U step" : "lowrank V step", &m, &pb, NULL, 0);
        check_adjoint(side == 0 ? "lowrank U step, background" : "lowrank V step, background", &m, &pb, NULL, 1);
        kn_model_free(&m);
    }
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_PIXEL, 0, 9, 7), KERNEST_OK);
    check_adjoint("pixel, background", &m, &pb, NULL, 1);
    kn_model_free(&m);
    kn_problem_free(&pb);
    kernest_array_destroy(&A1);
    kernest_array_destroy(&A2);
    kernest_array_destroy(&B1);
    kernest_array_destroy(&B2);
}

/* the operator a (model, keep, background) gives: H Φ x, Φᵀ Hᵀ y and G x into hx, hty, gx */
static void operator_outputs(kn_backend *hb, const kn_model *m, const kn_problem *pb, const double *x,
                             const double *y, double *hx, double *hty, double *gx)
{
    tu_apply(hb, 0, x, m->nx, hx, pb->m);
    tu_apply(hb, 1, y, pb->m, hty, m->nx);
    tu_gram(hb, KERNEST_REG_GRAD, x, gx, m->nx);
}

/* A lowrank half-step's operator built for one held factor and refilled with another's values is
 * the operator built for the other, bit for bit (background and held unknowns included); one
 * built for another side, keep or background is not refilled. */
Test(models, refilled_operator_is_the_one_built_for_the_new_values)
{
    unsigned long long s = 51;
    kernest_array *A = tu_random_array(8, 7, 0, 1, &s), *B = NULL;
    kernest_array_create2(8, 7, &B);
    B->data[3] = NAN;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kn_problem pb;
    cr_assert_eq(kn_problem_init(&pb, As, Bs, 1, KERNEST_MODE_SAME, 9, 7, NULL), KERNEST_OK, "%s", kernest_last_error());
    kn_backend *be = tu_cpu(KERNEST_DOUBLE), *built = NULL, *fresh = NULL;
    cr_assert_eq(be->ops->op_setup(be, &pb), KERNEST_OK, "%s", kernest_last_error());
    double held1[14], held2[14], heldu[18], keep[18], x[18], y[64], out[2][3][64];
    tu_random_vec(held1, 14, -1, 1, &s); /* V (2×7) for the U step */
    tu_random_vec(held2, 14, -1, 1, &s);
    tu_random_vec(heldu, 18, -1, 1, &s); /* U (2×9) for the V step */
    tu_random_vec(x, 18, -1, 1, &s);
    tu_random_vec(y, pb.m, -1, 1, &s);
    for (int i = 0; i < 18; i++)
        keep[i] = i % 4 != 1;
    kn_model m1, m2, other;
    cr_assert_eq(kn_lowrank_model(&m1, 0, 2, 9, 7, 1, held1), KERNEST_OK);
    cr_assert_eq(kn_lowrank_model(&m2, 0, 2, 9, 7, 1, held2), KERNEST_OK);
    cr_assert_eq(kn_lowrank_model(&other, 1, 2, 9, 7, 1, heldu), KERNEST_OK);
    cr_assert_eq(kn_model_backend_bg(&m1, be, keep, &pb, &built), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_model_backend_bg(&m2, be, keep, &pb, &fresh), KERNEST_OK, "%s", kernest_last_error());
    int reused = -1;
    cr_assert_eq(kn_model_backend_refill(built, &other, be, keep, &pb, &reused), KERNEST_OK);
    cr_assert_eq(reused, 0, "the V step's model refilled the U step's operator");
    cr_assert_eq(kn_model_backend_refill(built, &m2, be, NULL, &pb, &reused), KERNEST_OK);
    cr_assert_eq(reused, 0, "refilled without the held unknowns it was built with");
    keep[0] = 0;
    cr_assert_eq(kn_model_backend_refill(built, &m2, be, keep, &pb, &reused), KERNEST_OK);
    cr_assert_eq(reused, 0, "refilled with other held unknowns");
    keep[0] = 1;
    cr_assert_eq(kn_model_backend_refill(built, &m2, be, keep, NULL, &reused), KERNEST_OK);
    cr_assert_eq(reused, 0, "refilled without its background");
    cr_assert_eq(kn_model_backend_refill(be, &m2, be, keep, &pb, &reused), KERNEST_OK);
    cr_assert_eq(reused, 0, "the bare backend holds no model");
    operator_outputs(built, &m1, &pb, x, y, out[0][0], out[0][1], out[0][2]);
    operator_outputs(fresh, &m2, &pb, x, y, out[1][0], out[1][1], out[1][2]);
    cr_assert(memcmp(out[0][0], out[1][0], pb.m * sizeof(double)), "the two held factors give one operator");
    cr_assert_eq(kn_model_backend_refill(built, &m2, be, keep, &pb, &reused), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(reused, 1);
    operator_outputs(built, &m2, &pb, x, y, out[0][0], out[0][1], out[0][2]);
    cr_assert(!memcmp(out[0][0], out[1][0], pb.m * sizeof(double)), "H Φ x differs after the refill");
    cr_assert(!memcmp(out[0][1], out[1][1], m2.nx * sizeof(double)), "Φᵀ Hᵀ y differs after the refill");
    cr_assert(!memcmp(out[0][2], out[1][2], m2.nx * sizeof(double)), "G x differs after the refill");
    kn_backend_destroy(&built);
    kn_backend_destroy(&fresh);
    kn_backend_destroy(&be);
    kn_model_free(&m1);
    kn_model_free(&m2);
    kn_model_free(&other);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(models, lowrank_half_step_is_u_v_transposed)
{
    const size_t kh = 5, kw = 4;
    double U[10], V[8], K0[20], K1[20], Kf[20], UV[18];
    unsigned long long s = 3;
    tu_random_vec(U, 10, -1, 1, &s);
    tu_random_vec(V, 8, -1, 1, &s);
    kn_model m0, m1;
    cr_assert_eq(kn_lowrank_model(&m0, 0, 2, kh, kw, 1, V), KERNEST_OK);
    cr_assert_eq(kn_lowrank_model(&m1, 1, 2, kh, kw, 1, U), KERNEST_OK);
    kn_model_kernel(&m0, U, K0);
    kn_model_kernel(&m1, V, K1);
    memcpy(UV, U, sizeof U);
    memcpy(UV + 10, V, sizeof V);
    kn_model full = {.kind = KERNEST_MODEL_LOWRANK, .order = 2, .side = -1, .kh = kh, .kw = kw, .nx = 18};
    kn_model_kernel(&full, UV, Kf);
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            double want = U[y] * V[x] + U[kh + y] * V[kw + x];
            cr_assert(fabs(K0[y * kw + x] - want) < 1e-14 && fabs(K1[y * kw + x] - want) < 1e-14 &&
                      fabs(Kf[y * kw + x] - want) < 1e-14, "pixel (%zu,%zu)", y, x);
        }
    kn_model_free(&m0);
    kn_model_free(&m1);
}

Test(harmonic, recovers_an_anisotropic_kernel_from_noiseless_data)
{
    const size_t kh = 11, kw = 11;
    unsigned long long s = 52;
    kernest_array *A = tu_random_array(16, 16, 0, 1, &s), *K = NULL, *Kh = NULL;
    kn_model m;
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_HARMONIC, 2, kh, kw), KERNEST_OK);
    double c[128];
    const size_t p = kn_radial_knots(kh, kw);
    for (size_t j = 0; j < m.nx; j++) /* decaying profiles, the angular ones smaller */
        c[j] = (j < p ? 1.0 : 0.4 * sin(1.3 * (double)j)) / (1.0 + (double)(j % p));
    kernest_array_create2(kh, kw, &K);
    kn_model_kernel(&m, c, K->data);
    kernest_array *B = tu_observe(A, K, 0.0, NULL);
    kernest_options o;
    options(&o, kh, kw);
    o.model = KERNEST_MODEL_HARMONIC;
    o.order = 2;
    o.tol = 1e-13;
    o.maxiter = 5000;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(rep->model, KERNEST_MODEL_HARMONIC);
    cr_assert_eq(rep->nprofile, m.nx);
    cr_assert(tu_rel_diff(Kh, K) < 1e-8, "kernel error %g (%s after %d iterations)", tu_rel_diff(Kh, K),
              kernest_stop_reason_name(rep->reason), rep->iterations);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    /* a kernel inside disk:3 (every profile 0 on knots > 3): recovered with the knots held */
    for (size_t j = 0; j < m.nx; j++)
        if ((j < p ? j : 1 + (j - p) % (p - 1)) > 3)
            c[j] = 0.0;
    kn_model_kernel(&m, c, K->data);
    kernest_array_destroy(&B);
    B = tu_observe(A, K, 0.0, NULL);
    Bs[0] = B;
    o.support = KERNEST_SUPPORT_DISK;
    o.support_radius = 3;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_str_eq(rep->solver, "cgls");
    for (size_t j = 0; j < m.nx; j++)
        if (c[j] == 0.0 && (j < p ? j : 1 + (j - p) % (p - 1)) > 3)
            cr_assert_eq(rep->profile[j], 0.0, "knot beyond the disk moved: unknown %zu = %g", j, rep->profile[j]);
    cr_assert(tu_rel_diff(Kh, K) < 1e-8, "disk:3 kernel error %g", tu_rel_diff(Kh, K));
    o.support = KERNEST_SUPPORT_NONE;
    /* the radial model cannot represent it */
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    o.model = KERNEST_MODEL_RADIAL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(tu_rel_diff(Kh, K) > 1e-2, "radial fits an anisotropic kernel: %g", tu_rel_diff(Kh, K));
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kn_model_free(&m);
}

/* K = Σ_r u_r v_rᵀ on kh×kw */
static kernest_array *lowrank_kernel(size_t kh, size_t kw, int R, const double *U, const double *V)
{
    kernest_array *K = NULL;
    kernest_array_create2(kh, kw, &K);
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++)
            for (int r = 0; r < R; r++)
                K->data[y * kw + x] += U[(size_t)r * kh + y] * V[(size_t)r * kw + x];
    return K;
}

static void check_lowrank(const char *label, int R, const double *U, const double *V, int nonneg, double tol)
{
    const size_t kh = 11, kw = 9;
    unsigned long long s = 77;
    kernest_array *A = tu_random_array(20, 20, 0, 1, &s), *K = lowrank_kernel(kh, kw, R, U, V), *Kh = NULL;
    kernest_array *B = tu_observe(A, K, 0.0, NULL);
    kernest_options o;
    options(&o, kh, kw);
    o.model = KERNEST_MODEL_LOWRANK;
    o.order = R;
    o.nonneg = nonneg;
    o.tol = 1e-12;
    o.maxiter = 3000;
    o.outer_tol = 1e-11;
    o.outer_maxiter = 300;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kh, &rep), KERNEST_OK, "%s: %s", label, kernest_last_error());
    cr_assert_eq(rep->model, KERNEST_MODEL_LOWRANK);
    cr_assert_eq(rep->nprofile, (size_t)R * (kh + kw));
    cr_assert(rep->outer_iterations >= 1 && rep->outer_iterations <= 300);
    /* the start and 2 half-steps per sweep, each at least one iteration: more than the last one's */
    cr_assert(rep->inner_iterations >= 1 + 2L * rep->outer_iterations && rep->inner_iterations > rep->iterations,
              "%s: inner iterations %ld, sweeps %d, last half-step %d", label, rep->inner_iterations,
              rep->outer_iterations, rep->iterations);
    cr_assert(tu_rel_diff(Kh, K) < tol, "%s: kernel error %g after %d sweeps (%s, last change %g)", label,
              tu_rel_diff(Kh, K), rep->outer_iterations, kernest_stop_reason_name(rep->outer_reason),
              rep->outer_change);
    if (nonneg) {
        cr_assert_str_eq(rep->solver, "fista");
        for (size_t i = 0; i < rep->nprofile; i++)
            cr_assert(rep->profile[i] >= 0, "%s: factor entry %zu is %g", label, i, rep->profile[i]);
    }
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* two 11×9 factor pairs: an anisotropic separable Gaussian (rank 1) and an odd × cosine term */
static void test_factors(double U[22], double V[18])
{
    for (int y = 0; y < 11; y++) {
        U[y] = exp(-0.5 * (y - 5) * (y - 5) / (1.5 * 1.5));
        U[11 + y] = (y - 5) * exp(-0.5 * (y - 5) * (y - 5) / 4.0) / 3.0;
    }
    for (int x = 0; x < 9; x++) {
        V[x] = exp(-0.5 * (x - 4) * (x - 4) / (2.5 * 2.5));
        V[9 + x] = cos(0.7 * x);
    }
}

Test(lowrank, recovers_separable_and_rank_two_kernels)
{
    double U[22], V[18];
    test_factors(U, V);
    check_lowrank("rank 1", 1, U, V, 0, 1e-7);
    check_lowrank("rank 1, nonneg factors", 1, U, V, 1, 1e-5);
    check_lowrank("rank 2", 2, U, V, 0, 1e-6);
}

/* A lowrank fit builds one operator per side and refills it for every later half-step (four
 * sweeps: 2 built, 6 refilled), with --background too; its kernel is that of a session that
 * builds every operator anew (the operators dropped before each solve give the same fit). */
Test(lowrank, half_steps_refill_their_operators)
{
    double U[22], V[18];
    test_factors(U, V);
    unsigned long long s = 78;
    kernest_array *A = tu_random_array(20, 20, 0, 1, &s), *K = lowrank_kernel(11, 9, 2, U, V);
    kernest_array *B = tu_observe(A, K, 0.0, NULL);
    for (size_t i = 0; i < B->size; i++)
        B->data[i] += 0.5;
    kernest_options o;
    options(&o, 11, 9);
    o.model = KERNEST_MODEL_LOWRANK;
    o.order = 2;
    o.maxiter = 20;
    o.outer_maxiter = 4;
    o.outer_tol = 0;
    o.background = 1;
    kn_session sess;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    cr_assert_eq(kn_session_open(&sess, As, Bs, 1, &o, NULL), KERNEST_OK, "%s", kernest_last_error());
    kn_fit fit = {0}, again = {0};
    cr_assert_eq(kn_session_solve(&sess, &o, NULL, &fit), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(fit.outer_iterations, 4);
    /* the pixel start is an operator too (its background); then one per side */
    cr_assert_eq(sess.ops_built, 3, "operators built: %ld", sess.ops_built);
    cr_assert_eq(sess.ops_reused, 6, "operators refilled: %ld", sess.ops_reused);
    kn_session_drop_operators(&sess);
    o.outer_maxiter = 1; /* one sweep at a time from the last factors, every operator new */
    double *x = malloc(fit.model.nx * sizeof *x);
    cr_assert_not_null(x);
    kn_fit step = {0};
    cr_assert_eq(kn_session_solve(&sess, &o, NULL, &step), KERNEST_OK, "%s", kernest_last_error());
    for (int t = 1; t < 4; t++) {
        memcpy(x, step.x, fit.model.nx * sizeof *x);
        kn_fit_free(&step);
        kn_session_drop_operators(&sess);
        cr_assert_eq(kn_session_solve(&sess, &o, x, &step), KERNEST_OK, "%s", kernest_last_error());
    }
    again = step;
    for (size_t i = 0; i < 11 * 9; i++)
        cr_assert_eq(again.K[i], fit.K[i], "kernel [%zu]: %.17g refilled, %.17g built anew", i, fit.K[i], again.K[i]);
    free(x);
    kn_fit_free(&fit);
    kn_fit_free(&again);
    kn_session_close(&sess);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

/* kn_lowrank_start factors a rank-2 kernel exactly; with one sweep of one-iteration half-steps
 * on noiseless data, a fit started from those factors stays exact, one from the default start (a
 * one-iteration pixel estimate) does not get there: the start given is the one used */
Test(lowrank, starts_from_the_factors_given)
{
    const size_t kh = 11, kw = 9;
    double U[22], V[18], x[40], Kx[99];
    test_factors(U, V);
    unsigned long long s = 77;
    kernest_array *A = tu_random_array(20, 20, 0, 1, &s), *K = lowrank_kernel(kh, kw, 2, U, V);
    kernest_array *B = tu_observe(A, K, 0.0, NULL);
    kn_lowrank_start(K->data, 1, kh, kw, 2, 0, x);
    const kn_model full = {.kind = KERNEST_MODEL_LOWRANK, .order = 2, .side = -1, .kh = kh, .kw = kw, .nk = 1,
                           .nx = 40};
    kn_model_kernel(&full, x, Kx);
    for (size_t i = 0; i < kh * kw; i++)
        cr_assert(fabs(Kx[i] - K->data[i]) < 1e-9, "factored kernel [%zu] %g, want %g", i, Kx[i], K->data[i]);
    kernest_options o;
    options(&o, kh, kw);
    o.model = KERNEST_MODEL_LOWRANK;
    o.order = 2;
    o.maxiter = 1;
    o.outer_maxiter = 1;
    kn_session sess;
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    cr_assert_eq(kn_session_open(&sess, As, Bs, 1, &o, NULL), KERNEST_OK, "%s", kernest_last_error());
    kn_fit given = {0}, dflt = {0};
    cr_assert_eq(kn_session_solve(&sess, &o, x, &given), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(kn_session_solve(&sess, &o, NULL, &dflt), KERNEST_OK, "%s", kernest_last_error());
    double eg = 0, ed = 0, nk = 0;
    for (size_t i = 0; i < kh * kw; i++) {
        eg += (given.K[i] - K->data[i]) * (given.K[i] - K->data[i]);
        ed += (dflt.K[i] - K->data[i]) * (dflt.K[i] - K->data[i]);
        nk += K->data[i] * K->data[i];
    }
    cr_assert(sqrt(eg / nk) < 1e-9, "from the exact factors: kernel error %g", sqrt(eg / nk));
    cr_assert(sqrt(ed / nk) > 1e-2, "from the default start: kernel error %g", sqrt(ed / nk));
    kn_fit_free(&given);
    kn_fit_free(&dflt);
    kn_session_close(&sess);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
}

Test(background, offsets_are_recovered_with_the_kernel)
{
    const size_t kh = 7, kw = 7;
    unsigned long long s = 91;
    kernest_array *A1 = tu_random_array(18, 18, 0, 1, &s), *A2 = tu_random_array(15, 17, 0, 1, &s);
    kernest_array *K = tu_random_array(kh, kw, 0, 1, &s), *Kh = NULL;
    kernest_array *B1 = tu_observe(A1, K, 0.0, NULL), *B2 = tu_observe(A2, K, 0.0, NULL);
    const double beta[2] = {3.5, -1.25};
    for (size_t i = 0; i < B1->size; i++)
        B1->data[i] += beta[0];
    for (size_t i = 0; i < B2->size; i++)
        B2->data[i] += beta[1];
    B2->data[7] = NAN;
    const kernest_array *As[2] = {A1, A2}, *Bs[2] = {B1, B2};
    kernest_options o;
    options(&o, kh, kw);
    o.background = 1;
    o.tol = 1e-13;
    o.maxiter = 3000;
    for (int nonneg = 0; nonneg < 2; nonneg++) { /* the constraint must not touch β (β_2 < 0) */
        o.nonneg = nonneg;
        o.tol = nonneg ? 1e-12 : 1e-13;
        o.maxiter = nonneg ? 20000 : 3000;
        kernest_report *rep = NULL;
        cr_assert_eq(kernest_estimate(As, Bs, 2, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(rep->nbackground, 2);
        cr_assert_not_null(rep->background);
        for (int i = 0; i < 2; i++)
            cr_assert(fabs(rep->background[i] - beta[i]) < 1e-6, "nonneg %d: beta_%d = %.10g, want %g", nonneg, i,
                      rep->background[i], beta[i]);
        cr_assert(tu_rel_diff(Kh, K) < 1e-6, "nonneg %d: kernel error %g", nonneg, tu_rel_diff(Kh, K));
        cr_assert(rep->misfit[0].rms < 1e-6 && rep->misfit[1].rms < 1e-6, "the misfit includes the offsets: %g %g",
                  rep->misfit[0].rms, rep->misfit[1].rms);
        kernest_report_destroy(&rep);
        kernest_array_destroy(&Kh);
    }
    /* without --background the offset leaks into the kernel */
    o.background = 0;
    o.nonneg = 0;
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 2, &o, &Kh, &rep), KERNEST_OK);
    cr_assert(tu_rel_diff(Kh, K) > 1e-2, "no offset fitted, yet the kernel is exact: %g", tu_rel_diff(Kh, K));
    cr_assert_null(rep->background);
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    /* with a model too: a radial kernel plus an offset */
    kn_model m;
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_RADIAL, 0, kh, kw), KERNEST_OK);
    double c[8];
    for (size_t j = 0; j < m.nx; j++)
        c[j] = 1.0 / (1.0 + (double)j);
    kn_model_kernel(&m, c, K->data);
    kernest_array_destroy(&B1);
    B1 = tu_observe(A1, K, 0.0, NULL);
    for (size_t i = 0; i < B1->size; i++)
        B1->data[i] += beta[0];
    const kernest_array *Bs1[1] = {B1};
    o.background = 1;
    o.model = KERNEST_MODEL_RADIAL;
    cr_assert_eq(kernest_estimate(As, Bs1, 1, &o, &Kh, &rep), KERNEST_OK, "%s", kernest_last_error());
    cr_assert(fabs(rep->background[0] - beta[0]) < 1e-8, "radial: beta = %.10g", rep->background[0]);
    cr_assert(tu_rel_diff(Kh, K) < 1e-8, "radial: kernel error %g", tu_rel_diff(Kh, K));
    kernest_report_destroy(&rep);
    kernest_array_destroy(&Kh);
    kn_model_free(&m);
    kernest_array_destroy(&A1);
    kernest_array_destroy(&A2);
    kernest_array_destroy(&B1);
    kernest_array_destroy(&B2);
    kernest_array_destroy(&K);
}

Test(cli, models_and_background_run_and_refuse_what_they_cannot_take)
{
    char *dir = tu_synth_dir(), args[2048], err[1024];
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --model harmonic:2 --reg grad:1 "
             "--profile '%s/p.npy' --report '%s/r.json' --background --threads 1 -q", dir, dir, dir, dir, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *pp = tu_path(dir, "p.npy"), *rp = tu_path(dir, "r.json");
    kernest_array *p = NULL;
    cr_assert_eq(kernest_npy_read(pp, &p), KERNEST_OK);
    cr_assert(p->ndim == 2 && p->shape[0] == 5 && p->shape[1] == kn_radial_knots(15, 15), "profile %zux%zu",
              p->shape[0], p->shape[1]);
    cr_assert(p->data[p->shape[1]] == 0.0, "f_1(0) must be 0");
    kernest_array_destroy(&p);
    char *text = tu_read_text(rp);
    cr_assert(strstr(text, "\"coefficients\":") && strstr(text, "\"background\":") &&
              strstr(text, "\"order\":\t2"), "report: %.600s", text);
    free(text);
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --model lowrank:1 --nonneg "
             "--outer-maxiter 5 --maxiter 50 --report '%s/r.json' --threads 1 -q", dir, dir, dir, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    text = tu_read_text(rp);
    cr_assert(strstr(text, "\"als\":") && strstr(text, "\"u\":") && strstr(text, "\"sweeps\":"), "report: %.600s", text);
    free(text);
    /* box:5x3 with lowrank: U's rows and V's columns outside the box are 0, so K is too */
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --model lowrank:2 --support box:5x3 "
             "--outer-maxiter 3 --threads 1 -q", dir, dir, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *kp = tu_path(dir, "K.npy");
    kernest_array *k = NULL;
    cr_assert_eq(kernest_npy_read(kp, &k), KERNEST_OK);
    double inside = 0.0;
    for (size_t y = 0; y < 15; y++)
        for (size_t x = 0; x < 15; x++) {
            const int in = y >= 5 && y < 10 && x >= 6 && x < 9;
            if (!in)
                cr_assert_eq(k->data[y * 15 + x], 0.0, "K(%zu,%zu) = %g outside the box", y, x, k->data[y * 15 + x]);
            inside += fabs(k->data[y * 15 + x]);
        }
    cr_assert(inside > 0, "the box is empty");
    kernest_array_destroy(&k);
    free(kp);
    static const char *const bad[] = {
        "--model harmonic", "--model harmonic:x", "--model harmonic:-1", "--model lowrank:0", "--model pixel:2",
        "--model harmonic:2 --nonneg", "--model harmonic:2 --bounds 0,1", "--model harmonic:2 --support box:3x3",
        "--model harmonic:2 --fix 1,0=0", "--model harmonic:2 --reg l1:1", "--model harmonic:2 --sum 1",
        "--model lowrank:1 --bounds 0,1", "--model lowrank:1 --support disk:3", "--model lowrank:1 --fix 0,0=0",
        "--model lowrank:1 --sum 1", "--model lowrank:1 --reg l1:1", "--model lowrank:1 --profile p.npy",
        "--model lowrank:20", "--outer-maxiter 0", "--outer-tol -1"};
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
    free(pp);
    free(rp);
    tu_rmtree(dir);
    free(dir);
}
