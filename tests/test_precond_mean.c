/* test_precond_mean.c — --precond mean (fit/precond_mean.c, fit/precond.h) against its
 * definition: its diagonal is Jacobi's for A less its mean, its low-rank part is the Gram matrix of
 * the operator whose A is that mean (exact once the rank reaches the unknowns), and its M⁻¹ inverts
 * their sum; in every mode, over two pairs of different sizes with a missing pixel. Then CGLS under
 * it: the minimiser of plain CGLS, in fewer iterations than Jacobi's on the original question's
 * problem. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "fit/fit.h"
#include "fit/precond.h"
#include "kernest.h"
#include "model/model.h"
#include "testutil.h"

enum { KS = 7, NP = 2 };

/* The Gram matrix G (nx×nx) of the radial model's operator H Φ on the session of (A, B, o), by
 * applying it to unit vectors; the data dot skips B's missing pixels as the solvers do */
static void radial_gram(const kernest_array *const *A, const kernest_array *const *B, const kernest_options *o,
                        size_t nx, double *G)
{
    kn_session s;
    cr_assert_eq(kn_session_open(&s, A, B, NP, o, NULL), KERNEST_OK, "%s", kernest_last_error());
    kn_model m;
    kn_backend *sbe = NULL;
    cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_RADIAL, 0, s.pb.kh, s.pb.kw), KERNEST_OK);
    cr_assert_eq(m.nx, nx);
    cr_assert_eq(kn_model_backend_bg(&m, s.be, NULL, NULL, &sbe), KERNEST_OK, "%s", kernest_last_error());
    const kn_backend_ops *op = sbe->ops;
    kn_vec *x = NULL, *r[16] = {NULL};
    cr_assert(nx <= 16);
    double e[16] = {0};
    cr_assert_eq(op->vec_create(sbe, nx, &x), KERNEST_OK);
    for (size_t j = 0; j < nx; j++) {
        e[j] = 1.0;
        cr_assert_eq(op->vec_create(sbe, s.pb.m, &r[j]), KERNEST_OK);
        cr_assert_eq(op->vec_upload(sbe, x, e), KERNEST_OK);
        cr_assert_eq(op->op_apply(sbe, x, r[j]), KERNEST_OK);
        e[j] = 0.0;
    }
    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < nx; j++)
            cr_assert_eq(kn_data_dot(sbe, r[i], r[j], &G[i * nx + j]), KERNEST_OK);
    for (size_t j = 0; j < nx; j++)
        op->vec_destroy(sbe, &r[j]);
    op->vec_destroy(sbe, &x);
    if (sbe != s.be)
        kn_backend_destroy(&sbe);
    kn_model_free(&m);
    kn_session_close(&s);
}

/* z = M⁻¹ v as the solver applies it: D⁻¹ v − W C (Wᵀ v) */
static void apply_inverse(const kn_precond_host *h, size_t nx, const double *v, double *z)
{
    for (size_t i = 0; i < nx; i++)
        z[i] = h->dinv[i] * v[i];
    for (size_t a = 0; a < h->k; a++) {
        double c = 0.0;
        for (size_t b = 0; b < h->k; b++)
            c += h->cinv[a * h->k + b] * tu_dot(h->w + b * nx, v, nx);
        for (size_t i = 0; i < nx; i++)
            z[i] -= c * h->w[a * nx + i];
    }
}

Test(precond_mean, inverts_jacobi_of_the_fluctuations_plus_the_means_gram)
{
    unsigned long long seed = 61;
    const size_t ha[NP] = {10, 8}, wa[NP] = {9, 11};
    const kernest_mode modes[3] = {KERNEST_MODE_SAME, KERNEST_MODE_FULL, KERNEST_MODE_VALID};
    for (int k = 0; k < 3; k++) {
        kernest_options o = tu_cpu_options(KS, KS);
        o.mode = modes[k];
        o.reg = KERNEST_REG_GRAD;
        o.lambda = 0.3;
        kernest_array *A[NP], *B[NP], *Af[NP], *Am[NP];
        double mu[NP];
        for (int i = 0; i < NP; i++) {
            size_t hb, wb;
            cr_assert_eq(kernest_output_shape(o.mode, ha[i], wa[i], KS, KS, &hb, &wb, NULL, NULL), KERNEST_OK);
            A[i] = tu_random_array(ha[i], wa[i], 0, 1, &seed);
            B[i] = tu_random_array(hb, wb, -1, 1, &seed);
            mu[i] = 0.0;
            for (size_t j = 0; j < A[i]->size; j++)
                mu[i] += A[i]->data[j] / (double)A[i]->size;
            cr_assert_eq(kernest_array_create2(ha[i], wa[i], &Af[i]), KERNEST_OK);
            cr_assert_eq(kernest_array_create2(ha[i], wa[i], &Am[i]), KERNEST_OK);
            for (size_t j = 0; j < A[i]->size; j++) {
                Af[i]->data[j] = A[i]->data[j] - mu[i];
                Am[i]->data[j] = mu[i];
            }
        }
        B[0]->data[3] = NAN; /* a missing pixel: no datum there, in E as in H */
        const kernest_array *const *Ac = (const kernest_array *const *)A, *const *Bc = (const kernest_array *const *)B;
        kn_session s;
        cr_assert_eq(kn_session_open(&s, Ac, Bc, NP, &o, NULL), KERNEST_OK, "%s", kernest_last_error());
        kn_model m;
        cr_assert_eq(kn_model_init(&m, KERNEST_MODEL_RADIAL, 0, KS, KS), KERNEST_OK);
        const size_t nx = m.nx;
        cr_assert_eq(kn_precond_kind(KERNEST_PRECOND_MEAN, &s.pb, &m, 0), KERNEST_PRECOND_MEAN);
        cr_assert_eq(kn_precond_kind(KERNEST_PRECOND_AUTO, &s.pb, &m, 0), KERNEST_PRECOND_JACOBI,
                     "a small kernel: auto is jacobi");
        cr_assert_eq(kn_precond_kind(KERNEST_PRECOND_MEAN, &s.pb, &m, 1), KERNEST_PRECOND_JACOBI,
                     "a background takes the mean out: jacobi");
        kn_precond_host h;
        cr_assert_eq(kn_precond_build(s.be, &s.pb, &m, o.reg, o.lambda, 0, KERNEST_PRECOND_MEAN, &h), KERNEST_OK,
                     "%s", kernest_last_error());
        cr_assert_gt(h.k, 0, "%s: no low-rank part", kernest_mode_name(o.mode));
        /* the diagonal: Jacobi's on the session of A − μ */
        kn_session sf;
        cr_assert_eq(kn_session_open(&sf, (const kernest_array *const *)Af, Bc, NP, &o, NULL), KERNEST_OK);
        double *dj = malloc(nx * sizeof *dj), *G = malloc(nx * nx * sizeof *G), *v = malloc(nx * sizeof *v),
               *z = malloc(nx * sizeof *z);
        cr_assert(dj && G && v && z);
        cr_assert_eq(kn_precond_jacobi(sf.be, &sf.pb, &m, o.reg, o.lambda, 0, dj), KERNEST_OK);
        kn_session_close(&sf);
        cr_assert_lt(tu_rel_diff_vec(h.dinv, dj, nx), 1e-12, "%s: the diagonal is not Jacobi's of A − mean",
                     kernest_mode_name(o.mode));
        /* M = D + Φᵀ EᵀE Φ, E the operator whose A is each pair's mean */
        radial_gram((const kernest_array *const *)Am, Bc, &o, nx, G);
        for (size_t i = 0; i < nx; i++)
            G[i * nx + i] += 1.0 / h.dinv[i];
        for (int t = 0; t < 3; t++) {
            tu_random_vec(v, nx, -1, 1, &seed);
            apply_inverse(&h, nx, v, z);
            double err = 0.0, nv = 0.0;
            for (size_t i = 0; i < nx; i++) {
                const double mz = tu_dot(G + i * nx, z, nx);
                err += (mz - v[i]) * (mz - v[i]);
                nv += v[i] * v[i];
            }
            cr_assert_lt(sqrt(err / nv), 1e-5, "%s: ‖M M⁻¹v − v‖/‖v‖ = %g (rank %zu of %zu)",
                         kernest_mode_name(o.mode), sqrt(err / nv), h.k, nx);
        }
        kn_precond_host_free(&h);
        kn_model_free(&m);
        kn_session_close(&s);
        free(dj);
        free(G);
        free(v);
        free(z);
        for (int i = 0; i < NP; i++) {
            kernest_array_destroy(&A[i]);
            kernest_array_destroy(&B[i]);
            kernest_array_destroy(&Af[i]);
            kernest_array_destroy(&Am[i]);
        }
    }
}

/* The original question's problem at N = 40: a binary A (20 % ones), a 1/r kernel of 79², σ = 1 */
static void original_problem(kernest_array **A, kernest_array **B)
{
    const size_t n = 40, ks = 2 * n - 1;
    unsigned long long seed = 62;
    *A = tu_random_array(n, n, 0, 1, &seed);
    for (size_t j = 0; j < (*A)->size; j++)
        (*A)->data[j] = (*A)->data[j] < 0.2;
    kernest_array *K = NULL;
    cr_assert_eq(kernest_array_create2(ks, ks, &K), KERNEST_OK);
    for (size_t y = 0; y < ks; y++)
        for (size_t x = 0; x < ks; x++) {
            const double r = hypot((double)y - (double)(n - 1), (double)x - (double)(n - 1));
            K->data[y * ks + x] = r > 0 ? 1.0 / r : 0.0;
        }
    kn_rng rng;
    kn_rng_seed(&rng, 63);
    *B = tu_observe(*A, K, 1.0, &rng);
    kernest_array_destroy(&K);
}

Test(precond_mean, the_minimiser_in_fewer_iterations_than_jacobi)
{
    kernest_array *A, *B;
    original_problem(&A, &B);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o = tu_cpu_options(0, 0);
    o.model = KERNEST_MODEL_RADIAL;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 8.0;
    kn_session s;
    cr_assert_eq(kn_session_open(&s, As, Bs, 1, &o, NULL), KERNEST_OK, "%s", kernest_last_error());
    const kernest_precond pcs[3] = {KERNEST_PRECOND_NONE, KERNEST_PRECOND_JACOBI, KERNEST_PRECOND_MEAN};
    kn_fit f[3], g[3];
    for (int i = 0; i < 3; i++) { /* the default tolerance, then to the minimiser */
        o.precond = pcs[i];
        o.tol = 1e-6;
        cr_assert_eq(kn_session_solve(&s, &o, NULL, &f[i]), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_eq(f[i].res.reason, KERNEST_STOP_CONVERGED);
        cr_assert_eq(f[i].precond, i, "%s: precond %d", kernest_precond_name(pcs[i]), f[i].precond);
        o.tol = 1e-12;
        o.maxiter = 5000;
        cr_assert_eq(kn_session_solve(&s, &o, NULL, &g[i]), KERNEST_OK, "%s", kernest_last_error());
        o.maxiter = 500;
    }
    const size_t n = s.pb.n;
    kn_session_close(&s);
    for (int i = 1; i < 3; i++)
        cr_assert_lt(tu_rel_diff_vec(g[i].K, g[0].K, n), 1e-7, "%s: another minimiser",
                     kernest_precond_name(pcs[i]));
    cr_assert_lt(f[2].res.iterations, f[1].res.iterations, "mean: %d iterations, jacobi: %d",
                 f[2].res.iterations, f[1].res.iterations);
    cr_assert_lt(tu_rel_diff_vec(f[2].K, g[0].K, n), tu_rel_diff_vec(f[1].K, g[0].K, n) * 1.5 + 1e-12,
                 "mean stopped farther from the minimiser than jacobi");
    for (int i = 0; i < 3; i++) {
        kn_fit_free(&f[i]);
        kn_fit_free(&g[i]);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

/* Held unknowns (--fix) stay out of the low-rank part: the fixed knot keeps its value exactly and
 * the rest is plain CGLS's minimiser with the same knot fixed */
Test(precond_mean, held_unknowns_stay_put)
{
    kernest_array *A, *B;
    original_problem(&A, &B);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o = tu_cpu_options(0, 0);
    o.model = KERNEST_MODEL_RADIAL; /* no prior: CGLS takes --fix without one */
    o.tol = 1e-12;
    o.maxiter = 5000;
    kernest_fixed_pixel centre = {0, 0, 0.25};
    o.fixed = &centre;
    o.nfixed = 1;
    kernest_array *K[2] = {NULL, NULL};
    kernest_report *rep = NULL;
    const kernest_precond pcs[2] = {KERNEST_PRECOND_MEAN, KERNEST_PRECOND_NONE};
    for (int i = 0; i < 2; i++) {
        o.precond = pcs[i];
        cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &K[i], &rep), KERNEST_OK, "%s", kernest_last_error());
        cr_assert_str_eq(rep->precond, i == 0 ? "mean" : "none");
        cr_assert_eq(rep->profile[0], 0.25, "%s: the fixed knot moved to %.17g", rep->precond, rep->profile[0]);
        kernest_report_destroy(&rep);
    }
    cr_assert_lt(tu_rel_diff(K[0], K[1]), 1e-7, "mean and plain CGLS with a fixed knot differ by %g",
                 tu_rel_diff(K[0], K[1]));
    kernest_array_destroy(&K[0]);
    kernest_array_destroy(&K[1]);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}
