/* test_tv.c — total variation: the gradient and its adjoint, the ball projection, the FGP prox
 * (with ℓ1 and constraints) against an independent primal-dual solve, recovery of a
 * piecewise-constant kernel, the CLI. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "kernest.h"
#include "solve/prox.h"
#include "solve/prox_tv.h"
#include "base/synth.h"
#include "testutil.h"

/* host reference of D: forward differences, no wrap, layout of backend.h */
static void grad_ref(size_t kh, size_t kw, const double *x, double *g)
{
    const size_t n = kh * kw;
    for (size_t y = 0; y < kh; y++)
        for (size_t c = 0; c < kw; c++) {
            size_t i = y * kw + c;
            g[i] = c + 1 < kw ? x[i + 1] - x[i] : 0.0;
            g[n + i] = y + 1 < kh ? x[i + kw] - x[i] : 0.0;
        }
}

/* Dᵀ by its definition ⟨D x, p⟩ = Σ_i x_i (Dᵀp)_i, assembled column by column of D */
static void grad_adjoint_ref(size_t kh, size_t kw, const double *p, double *x)
{
    const size_t n = kh * kw;
    double *e = calloc(n, sizeof *e), *g = malloc(2 * n * sizeof *g);
    cr_assert(e && g);
    for (size_t j = 0; j < n; j++) {
        e[j] = 1.0;
        grad_ref(kh, kw, e, g);
        double s = 0;
        for (size_t i = 0; i < 2 * n; i++)
            s += g[i] * p[i];
        x[j] = s;
        e[j] = 0.0;
    }
    free(e);
    free(g);
}

/* Dᵀ by the divergence formula (checked against grad_adjoint_ref in the first test): fast enough
 * for the reference solver's many iterations */
static void grad_adjoint_fast(size_t kh, size_t kw, const double *p, double *x)
{
    const size_t n = kh * kw;
    for (size_t y = 0; y < kh; y++)
        for (size_t c = 0; c < kw; c++) {
            size_t i = y * kw + c;
            double s = 0;
            if (c + 1 < kw) s -= p[i];
            if (c > 0) s += p[i - 1];
            if (y + 1 < kh) s -= p[n + i];
            if (y > 0) s += p[n + i - kw];
            x[i] = s;
        }
}

static double tv_of(size_t kh, size_t kw, const double *x)
{
    const size_t n = kh * kw;
    double *g = malloc(2 * n * sizeof *g), s = 0;
    cr_assert_not_null(g);
    grad_ref(kh, kw, x, g);
    for (size_t i = 0; i < n; i++)
        s += hypot(g[i], g[n + i]);
    free(g);
    return s;
}

/* ---- backend operations ------------------------------------------------------------------ */

Test(tv, gradient_and_adjoint_match_their_definitions)
{
    static const size_t shapes[][2] = {{5, 7}, {1, 6}, {6, 1}, {1, 1}, {8, 8}};
    unsigned long long s = 7;
    for (int prec = 0; prec < 2; prec++) {
        kernest_precision p = prec ? KERNEST_SINGLE : KERNEST_DOUBLE;
        const double tol = prec ? 1e-6 : 1e-14;
        kn_backend *be = tu_cpu(p);
        const kn_backend_ops *o = be->ops;
        cr_assert(kn_backend_has_priors(o));
        for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
            const size_t kh = shapes[k][0], kw = shapes[k][1], n = kh * kw;
            double x[64], pv[128], g[128], gr[128], a[64], ar[64];
            tu_random_vec(x, n, -1, 1, &s);
            tu_random_vec(pv, 2 * n, -1, 1, &s);
            kn_vec *vx = NULL, *vg = NULL;
            cr_assert_eq(o->vec_create(be, n, &vx), KERNEST_OK);
            cr_assert_eq(o->vec_create(be, 2 * n, &vg), KERNEST_OK);
            o->vec_upload(be, vx, x);
            cr_assert_eq(o->tv_grad(be, 1, kh, kw, vx, vg), KERNEST_OK);
            o->vec_download(be, vg, g);
            grad_ref(kh, kw, x, gr);
            for (size_t i = 0; i < 2 * n; i++)
                cr_assert(fabs(g[i] - gr[i]) <= tol * 4, "%zux%zu: D x[%zu] = %g, want %g", kh, kw, i, g[i], gr[i]);
            o->vec_upload(be, vg, pv);
            cr_assert_eq(o->tv_grad_adjoint(be, 1, kh, kw, vg, vx), KERNEST_OK);
            o->vec_download(be, vx, a);
            grad_adjoint_ref(kh, kw, pv, ar);
            double af[64];
            grad_adjoint_fast(kh, kw, pv, af);
            for (size_t i = 0; i < n; i++)
                cr_assert(fabs(af[i] - ar[i]) <= 1e-14, "the test's own divergence formula is wrong");
            for (size_t i = 0; i < n; i++)
                cr_assert(fabs(a[i] - ar[i]) <= tol * 8, "%zux%zu: Dᵀp[%zu] = %g, want %g", kh, kw, i, a[i], ar[i]);
            /* the adjoint identity on the backend itself */
            double dxp, xdp;
            tu_dot_test(n, x, a, 2 * n, gr, pv, &dxp, &xdp);
            cr_assert(fabs(dxp - xdp) <= tol * 16 * (1 + fabs(dxp)), "%zux%zu: <Dx,p> %.17g vs <x,D'p> %.17g",
                      kh, kw, dxp, xdp);
            o->vec_destroy(be, &vx);
            o->vec_destroy(be, &vg);
        }
        kn_backend_destroy(&be);
    }
}

Test(tv, ball_projection_and_pair_norms_match_their_definitions)
{
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    const kn_backend_ops *o = be->ops;
    unsigned long long s = 11;
    enum { N = 50 };
    double p[2 * N], q[2 * N];
    tu_random_vec(p, 2 * N, -2, 2, &s);
    p[3] = 0, p[N + 3] = 0; /* a zero pair stays zero */
    kn_vec *v = NULL;
    cr_assert_eq(o->vec_create(be, 2 * N, &v), KERNEST_OK);
    for (int pass = 0; pass < 2; pass++) {
        const double t = pass ? 0.0 : 0.8;
        o->vec_upload(be, v, p);
        cr_assert_eq(o->vec_ball_proj(be, v, t), KERNEST_OK);
        o->vec_download(be, v, q);
        for (size_t i = 0; i < N; i++) {
            double r = hypot(p[i], p[N + i]), f = r > t ? t / r : 1.0;
            cr_assert(fabs(q[i] - f * p[i]) < 1e-15 && fabs(q[N + i] - f * p[N + i]) < 1e-15,
                      "pair %zu, t %g: (%g, %g) from (%g, %g)", i, t, q[i], q[N + i], p[i], p[N + i]);
        }
    }
    double sum = -1, ref = 0;
    for (size_t i = 0; i < N; i++)
        ref += hypot(p[i], p[N + i]);
    o->vec_upload(be, v, p);
    cr_assert_eq(o->vec_pair_nrm_sum(be, v, &sum), KERNEST_OK);
    cr_assert(fabs(sum - ref) <= 1e-14 * ref, "vec_pair_nrm_sum %.17g, want %.17g", sum, ref);
    o->vec_destroy(be, &v);
    kn_backend_destroy(&be);
}

/* ---- the prox against an independent solver --------------------------------------------- */

/* The simple term of a reference problem: G(x) = ½‖x − v‖² + l1‖x‖₁ + ι[lo,hi](x) (+ ι{Σx = sum}
 * when has_sum, without l1 and bounds). */
typedef struct ref_g {
    double l1, lo, hi;
    int has_sum;
    double sum;
} ref_g;

/* prox_{s G}(y): separable, x = clip(soft((y + s v)/(1 + s), s l1/(1 + s))); with a sum, the
 * average of (y + s v)/(1 + s) shifted onto the hyperplane */
static void ref_prox_g(const ref_g *g, const double *v, double s, const double *y, double *x, size_t n)
{
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        double z = (y[i] + s * v[i]) / (1 + s), t = s * g->l1 / (1 + s);
        z = z > t ? z - t : z < -t ? z + t : 0.0;
        x[i] = z < g->lo ? g->lo : z > g->hi ? g->hi : z;
        mean += x[i] / (double)n;
    }
    if (g->has_sum)
        for (size_t i = 0; i < n; i++)
            x[i] += g->sum / (double)n - mean;
}

static double objective(size_t kh, size_t kw, const double *x, const double *v, double tau, const ref_g *g)
{
    double s = 0;
    for (size_t i = 0; i < kh * kw; i++)
        s += 0.5 * (x[i] - v[i]) * (x[i] - v[i]) + g->l1 * fabs(x[i]);
    return s + tau * tv_of(kh, kw, x);
}

/* Chambolle–Pock (2011) for min_x G(x) + tau ‖D x‖_{2,1}, accelerated for the 1-strongly convex
 * G (their Algorithm 2): a different method from FGP, run to high accuracy. */
static void ref_solve(size_t kh, size_t kw, const double *v, double tau, const ref_g *g, double *x)
{
    const size_t n = kh * kw;
    double *xb = malloc(n * sizeof *xb), *xo = malloc(n * sizeof *xo), *y = calloc(2 * n, sizeof *y),
           *gd = malloc(2 * n * sizeof *gd), *dt = malloc(n * sizeof *dt);
    cr_assert(xb && xo && y && gd && dt);
    memcpy(x, v, n * sizeof *x);
    memcpy(xb, v, n * sizeof *x);
    double ts = 0.3, ss = 1.0 / (8.0 * 0.3);
    for (int it = 0; it < 200000; it++) {
        grad_ref(kh, kw, xb, gd);
        for (size_t i = 0; i < n; i++) {
            double a = y[i] + ss * gd[i], b = y[n + i] + ss * gd[n + i], r = hypot(a, b);
            double f = r > tau ? tau / r : 1.0;
            y[i] = f * a, y[n + i] = f * b;
        }
        grad_adjoint_fast(kh, kw, y, dt);
        memcpy(xo, x, n * sizeof *x);
        for (size_t i = 0; i < n; i++)
            xb[i] = xo[i] - ts * dt[i];
        ref_prox_g(g, v, ts, xb, x, n);
        const double th = 1.0 / sqrt(1.0 + 2.0 * ts);
        ts *= th;
        ss /= th;
        for (size_t i = 0; i < n; i++)
            xb[i] = x[i] + th * (x[i] - xo[i]);
    }
    free(xb);
    free(xo);
    free(y);
    free(gd);
    free(dt);
}

/* kn_prox_apply with the TV part iterated to tight accuracy; step 1 so tau = spec tv */
static void fgp_solve(const kn_prox_spec *spec, const double *v, double *x, int *iters)
{
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    kn_prox *p = NULL;
    kn_vec *vx = NULL;
    cr_assert_eq(kn_prox_create(be, spec, &p), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_not_null(kn_prox_tv(p));
    kn_tv_set_accuracy(kn_prox_tv(p), 1e-7, 100000); /* the gap bounds ‖x − x*‖ by 1e-7 ‖x‖ */
    cr_assert_eq(be->ops->vec_create(be, spec->n, &vx), KERNEST_OK);
    be->ops->vec_upload(be, vx, v);
    cr_assert_eq(kn_prox_apply(be, p, 1.0, vx), KERNEST_OK, "%s", kernest_last_error());
    be->ops->vec_download(be, vx, x);
    *iters = kn_tv_last_iterations(kn_prox_tv(p));
    be->ops->vec_destroy(be, &vx);
    kn_prox_destroy(be, &p);
    kn_backend_destroy(&be);
}

static void check_prox_case(const char *label, const ref_g *g, double tau, unsigned long long seed)
{
    const size_t kh = 6, kw = 5, n = kh * kw;
    double v[30], x[30], xr[30], xa[30];
    unsigned long long s = seed;
    tu_random_vec(v, n, -1, 1, &s);
    for (size_t i = 0; i < n; i++) /* a step edge, so TV has something to keep */
        v[i] += (i % kw) >= 2 ? 1.0 : 0.0;
    kn_prox_spec spec = {.n = n, .l1 = g->l1, .lo = g->lo, .hi = g->hi, .has_sum = g->has_sum,
                         .sum = g->sum, .tv = tau, .kh = kh, .kw = kw};
    int iters = 0;
    fgp_solve(&spec, v, x, &iters);
    ref_solve(kh, kw, v, tau, g, xr);
    double d = 0, nr = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        d += (x[i] - xr[i]) * (x[i] - xr[i]);
        nr += xr[i] * xr[i];
        sum += x[i];
        cr_assert(x[i] >= g->lo - 1e-12 && x[i] <= g->hi + 1e-12, "%s: x[%zu] = %g outside the bounds", label, i, x[i]);
    }
    if (g->has_sum)
        cr_assert(fabs(sum - g->sum) < 1e-9, "%s: sum %.12g, want %g", label, sum, g->sum);
    const double pf = objective(kh, kw, x, v, tau, g), pr = objective(kh, kw, xr, v, tau, g);
    cr_log_info("%s: FGP %d iterations, ||x - x_ref|| / ||x_ref|| = %.2e, objective %.12f vs %.12f",
                label, iters, sqrt(d / nr), pf, pr);
    /* ½‖x − x*‖² <= P(x) − P*: the reference, ~1e-10 above the optimum, is within ~1.5e-5 */
    cr_assert(sqrt(d / nr) < 1e-4, "%s: FGP and Chambolle-Pock differ by %.3e", label, sqrt(d / nr));
    cr_assert(pf <= pr + 1e-11 * pr, "%s: FGP objective %.15g above the reference's %.15g", label, pf, pr);
    /* TV did act: the answer is not the prox of G alone */
    ref_prox_g(g, v, 1e300, v, xa, n); /* s → ∞: prox of the constraint/ℓ1 part at v */
    double da = 0;
    for (size_t i = 0; i < n; i++)
        da += (x[i] - xa[i]) * (x[i] - xa[i]);
    cr_assert(sqrt(da / nr) > 1e-2, "%s: TV changed nothing", label);
}

Test(tv, prox_matches_an_independent_solver)
{
    check_prox_case("tv alone", &(ref_g){0, -INFINITY, INFINITY, 0, 0}, 0.3, 5);
    check_prox_case("tv + l1", &(ref_g){0.2, -INFINITY, INFINITY, 0, 0}, 0.25, 6);
    check_prox_case("tv + bounds [0, 1.2]", &(ref_g){0, 0.0, 1.2, 0, 0}, 0.2, 7);
    check_prox_case("tv + l1 + nonneg", &(ref_g){0.1, 0.0, INFINITY, 0, 0}, 0.4, 8);
    check_prox_case("tv + sum", &(ref_g){0, -INFINITY, INFINITY, 1, 3.0}, 0.3, 9);
}

/* FISTA's successive calls differ little: the warm-started dual needs fewer iterations, and the
 * answer meets the same gap bound (checked against a cold start). */
Test(tv, warm_start_saves_iterations)
{
    const size_t kh = 12, kw = 10, n = kh * kw;
    double v[120], v2[120], xw[120], xc[120];
    unsigned long long s = 31;
    tu_random_vec(v, n, -1, 1, &s);
    for (size_t i = 0; i < n; i++)
        v2[i] = v[i] + 1e-3 * (tu_rand(&s) - 0.5);
    kn_prox_spec spec = {.n = n, .lo = -INFINITY, .hi = INFINITY, .tv = 0.3, .kh = kh, .kw = kw};
    kn_backend *be = tu_cpu(KERNEST_DOUBLE);
    kn_prox *p = NULL;
    kn_vec *x = NULL;
    cr_assert_eq(kn_prox_create(be, &spec, &p), KERNEST_OK);
    kn_tv_set_accuracy(kn_prox_tv(p), 1e-6, 100000);
    cr_assert_eq(be->ops->vec_create(be, n, &x), KERNEST_OK);
    be->ops->vec_upload(be, x, v);
    cr_assert_eq(kn_prox_apply(be, p, 1.0, x), KERNEST_OK);
    const int cold = kn_tv_last_iterations(kn_prox_tv(p));
    be->ops->vec_upload(be, x, v2);
    cr_assert_eq(kn_prox_apply(be, p, 1.0, x), KERNEST_OK);
    const int warm = kn_tv_last_iterations(kn_prox_tv(p));
    be->ops->vec_download(be, x, xw);
    be->ops->vec_destroy(be, &x);
    kn_prox_destroy(be, &p);
    kn_backend_destroy(&be);
    int it2;
    fgp_solve(&spec, v2, xc, &it2);
    double d = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        d += (xw[i] - xc[i]) * (xw[i] - xc[i]);
        nr += xc[i] * xc[i];
    }
    cr_log_info("FGP iterations: cold %d, warm-started %d; warm vs tight %.2e", cold, warm, sqrt(d / nr));
    cr_assert(warm < cold / 2, "warm start %d iterations vs cold %d", warm, cold);
    cr_assert(sqrt(d / nr) < 1e-6 + 1e-7, "the warm-started answer is %.3g from the exact prox", sqrt(d / nr));
}

/* The soft-threshold of the TV prox is the prox of TV + ℓ1 in 1-D only: on a 2-D grid FGP's
 * exact answer must do at least as well, and here strictly better. */
Test(tv, l1_is_exact_not_the_soft_threshold_of_the_tv_prox)
{
    const size_t kh = 6, kw = 5, n = kh * kw;
    double v[30], x[30], xt[30], xs[30];
    unsigned long long s = 21;
    tu_random_vec(v, n, -1, 1, &s);
    const double tau = 0.3, l1 = 0.3;
    int it;
    kn_prox_spec both = {.n = n, .l1 = l1, .lo = -INFINITY, .hi = INFINITY, .tv = tau, .kh = kh, .kw = kw};
    kn_prox_spec tvonly = both;
    tvonly.l1 = 0;
    fgp_solve(&both, v, x, &it);
    fgp_solve(&tvonly, v, xt, &it);
    for (size_t i = 0; i < n; i++)
        xs[i] = xt[i] > l1 ? xt[i] - l1 : xt[i] < -l1 ? xt[i] + l1 : 0.0;
    const ref_g g = {l1, -INFINITY, INFINITY, 0, 0};
    const double pe = objective(kh, kw, x, v, tau, &g), ps = objective(kh, kw, xs, v, tau, &g);
    cr_log_info("TV + l1 prox objective: exact (FGP with l1 inside) %.10f, soft(TV prox) %.10f", pe, ps);
    cr_assert(pe < ps - 1e-9, "exact %.12g vs soft-threshold of the TV prox %.12g", pe, ps);
}

/* ---- estimation --------------------------------------------------------------------------- */

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

/* a piecewise-constant kernel: a disk of 1 of radius 7 holding a 5×5 square of 2, off centre */
static void piecewise_kernel(kernest_array *K)
{
    const size_t kh = K->shape[0], kw = K->shape[1];
    const double cy = (double)(kh - 1) / 2, cx = (double)(kw - 1) / 2;
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            double dy = (double)y - cy, dx = (double)x - cx, v = 0;
            if (dy * dy + dx * dx <= 49.0)
                v = 1.0;
            if (dy >= -4 && dy <= 0 && dx >= 0 && dx <= 4)
                v = 2.0;
            K->data[y * kw + x] = v;
        }
}

/* The best λ for each prior is chosen on a validation pair; the reported error is on a third. */
Test(tv, recovers_a_piecewise_constant_kernel_better_than_grad)
{
    const size_t n = 20, k = 2 * n - 1;
    kn_rng rng;
    kn_rng_seed(&rng, 17);
    kernest_array *K = NULL, *A[3] = {NULL};
    kernest_array_create2(k, k, &K);
    piecewise_kernel(K);
    for (int i = 0; i < 3; i++) {
        kernest_array_create2(n, n, &A[i]);
        kn_synth_binary(&rng, 0.3, A[i]);
    }
    kernest_array *B0 = tu_observe(A[0], K, 0.0, &rng);
    const double sigma = 0.05 * kn_synth_std(B0);
    kn_synth_noise(&rng, sigma, B0);
    kernest_array *Bv = tu_observe(A[1], K, sigma, &rng), *Bt = tu_observe(A[2], K, sigma, &rng);
    const kernest_array *As[1] = {A[0]}, *Bs[1] = {B0};
    static const double lams[] = {1e-2, 1e-1, 1, 10, 100};
    double best[2] = {INFINITY, INFINITY}, test[2] = {0, 0}, kerr[2] = {0, 0}, lbest[2] = {0, 0};
    for (int prior = 0; prior < 2; prior++)
        for (size_t j = 0; j < sizeof lams / sizeof *lams; j++) {
            kernest_options o;
            kernest_options_default(&o);
            o.threads = 1;
            o.device = KERNEST_DEVICE_CPU;
            o.maxiter = 400;
            o.tol = 1e-5;
            if (prior == 0) {
                o.reg = KERNEST_REG_GRAD;
                o.lambda = lams[j];
            } else
                o.tv = lams[j];
            kernest_array *Ke = NULL;
            kernest_report *rep = NULL;
            cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Ke, &rep), KERNEST_OK, "%s", kernest_last_error());
            cr_assert_str_eq(rep->solver, prior ? "fista" : "cgls");
            const double ev = held_out(A[1], Bv, Ke, sigma);
            if (ev < best[prior]) {
                best[prior] = ev;
                lbest[prior] = lams[j];
                test[prior] = held_out(A[2], Bt, Ke, sigma);
                kerr[prior] = tu_rel_diff(Ke, K);
            }
            kernest_array_destroy(&Ke);
            kernest_report_destroy(&rep);
        }
    cr_log_info("piecewise-constant 39x39 kernel, 5%% noise, one 20x20 pair: held-out RMSE/sigma grad "
                "(lambda %g) %.3f, tv (lambda %g) %.3f; kernel error grad %.3f, tv %.3f",
                lbest[0], test[0], lbest[1], test[1], kerr[0], kerr[1]);
    cr_assert(test[1] < test[0], "tv %.3f should beat grad %.3f on held-out data", test[1], test[0]);
    cr_assert(kerr[1] < kerr[0], "tv kernel error %.3f should beat grad %.3f", kerr[1], kerr[0]);
    kernest_array_destroy(&K);
    for (int i = 0; i < 3; i++)
        kernest_array_destroy(&A[i]);
    kernest_array_destroy(&B0);
    kernest_array_destroy(&Bv);
    kernest_array_destroy(&Bt);
}

Test(tv, combined_priors_hold_in_the_estimate)
{
    const size_t n = 12, k = 2 * n - 1;
    kn_rng rng;
    kn_rng_seed(&rng, 23);
    kernest_array *K = NULL, *A = NULL, *Ke = NULL;
    kernest_array_create2(k, k, &K);
    piecewise_kernel(K);
    kernest_array_create2(n, n, &A);
    kn_synth_binary(&rng, 0.3, A);
    kernest_array *B = tu_observe(A, K, 0.05, &rng);
    const kernest_array *As[1] = {A}, *Bs[1] = {B};
    kernest_options o;
    kernest_options_default(&o);
    o.threads = 1;
    o.device = KERNEST_DEVICE_CPU;
    o.maxiter = 100;
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 0.1;
    o.l1 = 1e-2;
    o.tv = 0.5;
    o.nonneg = 1;
    o.has_sum = 1;
    o.sum = 150.0;
    o.support = KERNEST_SUPPORT_DISK;
    o.support_radius = 9;
    kernest_report *rep = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Ke, &rep), KERNEST_OK, "%s", kernest_last_error());
    double s = 0;
    const double c = (double)(k - 1) / 2;
    for (size_t y = 0; y < k; y++)
        for (size_t x = 0; x < k; x++) {
            double v = Ke->data[y * k + x], r2 = (y - c) * (y - c) + (x - c) * (x - c);
            s += v;
            cr_assert(v >= 0, "negative pixel %g", v);
            if (r2 > 81.0)
                cr_assert(v == 0.0, "pixel outside the support: %g", v);
        }
    cr_assert(fabs(s - 150.0) < 1e-6 * 150.0, "sum %.10g", s);
    cr_assert_str_eq(rep->solver, "fista");
    kernest_report_destroy(&rep);
    /* the radial model refuses tv */
    o = (kernest_options){0};
    kernest_options_default(&o);
    o.model = KERNEST_MODEL_RADIAL;
    o.tv = 1.0;
    o.device = KERNEST_DEVICE_CPU;
    kernest_array *Kr = NULL;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kr, NULL), KERNEST_E_INVALID);
    cr_assert(strstr(kernest_last_error(), "--reg tv"), "%s", kernest_last_error());
    o.model = KERNEST_MODEL_PIXEL;
    o.tv = -1;
    cr_assert_eq(kernest_estimate(As, Bs, 1, &o, &Kr, NULL), KERNEST_E_INVALID);
    kernest_array_destroy(&K);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Ke);
}

Test(tv, cli_parses_tv_in_the_reg_list)
{
    char *dir = tu_synth_dir(), args[2048], err[1024];
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --reg grad:1e-2,l1:1e-3,tv:0.5 "
             "--nonneg --maxiter 30 --report '%s/r.json' --threads 1", dir, dir, dir, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *rp = tu_path(dir, "r.json");
    FILE *f = fopen(rp, "r");
    cr_assert_not_null(f);
    char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    cr_assert(strstr(text, "\"solver\":\t\"fista\""), "report: %.400s", text);
    cr_assert(strstr(text, "\"tv\":\t0.5"), "report lacks tv: %.600s", text);
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --reg tv:0.5 --solver cgls "
             "--threads 1", dir, dir, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "cgls cannot take tv: %s", err);
    cr_assert(strstr(err, "--reg tv"), "%s", err);
    free(rp);
    tu_rmtree(dir);
    free(dir);
}
