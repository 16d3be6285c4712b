/* uncertainty.c — how sure the estimate is: the coverage map (|A|-weighted count of the
 * measurements that touch each kernel pixel) and the posterior standard deviation per pixel by
 * randomize-then-optimize samples that reuse the solver. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_apply.h"
#include "base/error.h"
#include "base/options.h"
#include "model/model.h"
#include "uncertainty.h"
#include "base/rng.h"

int kn_coverage(const kn_session *s, const kernest_options *opt, double *cov)
{
    const kn_problem *pb = &s->pb;
    const size_t np = pb->npairs;
    kernest_array **A = calloc(np, sizeof *A), **B = calloc(np, sizeof *B);
    kn_problem p2 = {0};
    double *ones = NULL;
    int st = KERNEST_OK;
    if (!A || !B) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the coverage map");
        goto done;
    }
    for (size_t i = 0; i < np; i++) { /* one sample per pair: C_in × Ha × Wa and C_out × Hb × Wb */
        const kn_pair *p = &pb->pairs[i];
        const size_t sa[3] = {pb->cin, p->ha, p->wa}, sb[3] = {pb->cout, p->hb, p->wb};
        const int nd = pb->channels ? 3 : 2;
        if ((st = kernest_array_create(nd, sa + 3 - nd, &A[i])) || (st = kernest_array_create(nd, sb + 3 - nd, &B[i])))
            goto done;
        for (size_t j = 0; j < A[i]->size; j++)
            A[i]->data[j] = fabs(p->A[j]);
        memcpy(B[i]->data, p->B, B[i]->size * sizeof(double)); /* the NaN mask */
    }
    /* one adjoint in double on the CPU: no solve, and the map is exact */
    const kernest_geometry g = kn_problem_geometry(pb);
    if ((st = kn_problem_init_channels(&p2, (const kernest_array *const *)A, (const kernest_array *const *)B,
                                       np, pb->mode, pb->kh, pb->kw, KERNEST_LAYOUT_CHW, 0, &g, NULL)) ||
        !(ones = malloc(p2.m * sizeof *ones))) {
        st = st ? st : kn_error(KERNEST_E_NOMEM, "out of memory for the coverage map");
        goto done;
    }
    for (size_t j = 0; j < p2.m; j++)
        ones[j] = 1.0;
    if ((st = kn_cpu_apply_once(&p2, opt->threads, 1, ones, cov)))
        goto done;
    for (size_t j = 0; j < p2.n; j++) /* a sum of non-negative terms: FFT round-off only below 0 */
        cov[j] = cov[j] > 0 ? cov[j] : 0.0;
done:
    free(ones);
    kn_problem_free(&p2);
    for (size_t i = 0; i < np && A && B; i++) {
        kernest_array_destroy(&A[i]);
        kernest_array_destroy(&B[i]);
    }
    free(A);
    free(B);
    return st;
}

int kn_prior_draw(const kn_model *m, kernest_reg reg, kn_rng *rng, double *g)
{
    const size_t nx = m->nx;
    memset(g, 0, nx * sizeof *g);
    if (reg == KERNEST_REG_RIDGE) {
        for (size_t i = 0; i < nx; i++)
            g[i] = kn_rng_normal(rng);
        return KERNEST_OK;
    }
    if (reg != KERNEST_REG_GRAD)
        return kn_error(KERNEST_E_INVALID, "--uncertainty: needs --reg ridge or grad with lambda > 0");
    const kn_model_kind *kind = kn_model_kind_of(m->kind);
    if (kind && kind->grad_draw && !kind->grad_draw(m, rng, g))
        return KERNEST_OK;
    return kn_error(KERNEST_E_UNSUPPORTED, "--uncertainty: not available for --model %s with these unknowns",
                    kernest_model_name(m->kind));
}

/* The fixed parts of the linearised lowrank samples: r0 = b − H K̂ on the data space (0 at NaN
 * pixels of B) and g0 = −λ G x̂ on the unknowns (lin is the linearisation at x̂). */
static int linearised_rhs(kn_session *s, const kernest_options *o, const kn_model *lin, const double *x_hat,
                          double **r0, double **g0)
{
    const kn_problem *pb = &s->pb;
    const kn_backend_ops *bo = s->be->ops;
    const kn_model both = {.kind = KERNEST_MODEL_LOWRANK, .order = lin->order, .side = -1, .kh = pb->kh,
                           .kw = pb->kw, .nk = lin->nk, .nx = lin->nx};
    kn_vec *kv = NULL, *dv = NULL;
    double *K = malloc(pb->n * sizeof *K);
    *r0 = malloc((pb->m ? pb->m : 1) * sizeof **r0);
    *g0 = malloc(lin->nx * sizeof **g0);
    int st = !K || !*r0 || !*g0 ? kn_error(KERNEST_E_NOMEM, "out of memory for the uncertainty samples") : KERNEST_OK;
    if (!st) {
        kn_model_kernel(&both, x_hat, K);
        if (!(st = bo->vec_create(s->be, pb->n, &kv)) && !(st = bo->vec_create(s->be, pb->m, &dv)) &&
            !(st = bo->vec_upload(s->be, kv, K)) && !(st = bo->op_apply(s->be, kv, dv)))
            st = bo->vec_download(s->be, dv, *r0);
    }
    for (size_t j = 0; !st && j < pb->m; j++)
        (*r0)[j] = s->host_b[j] - (*r0)[j]; /* both 0 at NaN pixels of B */
    if (!st) {
        if (o->reg == KERNEST_REG_RIDGE)
            memcpy(*g0, x_hat, lin->nx * sizeof **g0);
        else
            kn_csr_apply(&lin->gram, x_hat, *g0);
        for (size_t i = 0; i < lin->nx; i++)
            (*g0)[i] *= -o->lambda;
    }
    if (kv)
        bo->vec_destroy(s->be, &kv);
    if (dv)
        bo->vec_destroy(s->be, &dv);
    free(K);
    return st;
}

int kn_posterior_std(kn_session *s, const kernest_options *opt, const double *x_hat, double sigma,
                     int nsamp, unsigned long long seed, double *std, int *solves, int *done)
{
    *done = 0;
    const kn_problem *pb = &s->pb;
    kernest_options o; /* the Gaussian posterior of the quadratic prior: the samples are CGLS solves */
    kn_options_linear(opt, &o);
    o.auto_lambda = o.auto_model = o.uncertainty = 0;
    if (!(o.lambda > 0) || o.reg == KERNEST_REG_NONE)
        return kn_error(KERNEST_E_INVALID, "--uncertainty: needs a regulariser (--reg ridge or grad) with "
                        "lambda > 0: without one the posterior is improper");
    if (nsamp < 2)
        return kn_error(KERNEST_E_INVALID, "--uncertainty: needs at least 2 samples, got %d", nsamp);
    if (!(sigma > 0))
        return kn_error(KERNEST_E_VALUE, "--uncertainty: the noise level is 0; give --sigma");
    kn_model model = {0};
    kn_fit f = {0};
    double *data = NULL, *g = NULL, *mean = NULL, *m2 = NULL, *r0 = NULL, *g0 = NULL, *x0 = NULL;
    kn_rng rng;
    kn_rng_seed(&rng, seed * 0x9e3779b97f4a7c15ULL + 3);
    const size_t nk = kn_problem_kernels(pb);
    /* lowrank: K = U Vᵀ is not linear in its factors; its posterior is linearised at the estimate
     * (Laplace, Gauss–Newton): each sample solves for a step δ of the linearised model J δ with
     * data b − H K̂ + σε and prior on x̂ + δ, and K̂ + J δ is the sample */
    const int lin = o.model == KERNEST_MODEL_LOWRANK;
    int st = lin ? kn_lowrank_linear_model(&model, o.order, pb->kh, pb->kw, nk, x_hat)
                 : kn_model_init_nk(&model, o.model, o.order, pb->kh, pb->kw, nk);
    if (st)
        goto done;
    if (!(data = malloc((pb->m ? pb->m : 1) * sizeof *data)) || !(g = malloc(model.nx * sizeof *g)) ||
        !(mean = calloc(pb->n, sizeof *mean)) || !(m2 = calloc(pb->n, sizeof *m2))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the uncertainty samples");
        goto done;
    }
    if (lin && (st = linearised_rhs(s, &o, &model, x_hat, &r0, &g0)))
        goto done;
    /* A sample is linear in (data, g, its start): with σ far above the data (which the estimate
     * scaled near 1) it is solved on all three divided by 2^e ≥ σ, exactly, and the std map is
     * scaled back at the end. Unscaled, the samples' sums of squares overflowed (a 24×24 pair
     * from σ ~ 1e155 in double, ~1e100 in single): each stopped non-finite at its start, x̂, and
     * the std map came out 0. */
    int e = 0;
    (void)frexp(sigma, &e);
    e = e > 0 ? e : 0;
    const double se = ldexp(sigma, -e), sl = sqrt(o.lambda) * se;
    if (e && !lin && !(x0 = malloc(model.nx * sizeof *x0))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the uncertainty samples");
        goto done;
    }
    for (size_t i = 0; x0 && i < model.nx; i++)
        x0[i] = ldexp(x_hat[i], -e);
    for (int k = 1; k <= nsamp; k++) {
        for (size_t i = 0; i < pb->npairs; i++) { /* b + σε (lowrank: b − H K̂ + σε) on observed pixels */
            const kn_pair *p = &pb->pairs[i];
            for (size_t j = 0; j < p->len; j++)
                data[p->offset + j] = isnan(p->B[j]) ? 0.0
                                      : ldexp(lin ? r0[p->offset + j] : p->B[j], -e) + se * kn_rng_normal(&rng);
        }
        if ((st = kn_prior_draw(&model, o.reg, &rng, g)))
            goto done;
        for (size_t i = 0; i < model.nx; i++) /* √λ σ Lᵀη (lowrank: − λ G x̂ too) */
            g[i] = sl * g[i] + (lin ? ldexp(g0[i], -e) : 0.0);
        kn_session_phase(s, "uncertainty: sample %d/%d", k, nsamp);
        st = kn_session_solve_linearised(s, &o, lin ? x_hat : NULL, lin ? NULL : x0 ? x0 : x_hat, data, g, &f);
        kn_session_phase(s, NULL);
        if (st)
            goto done;
        (*solves)++;
        if (f.res.reason == KERNEST_STOP_INTERRUPTED) /* a cut-short sample is no sample */
            break;
        *done = k;
        for (size_t i = 0; i < pb->n; i++) { /* Welford */
            const double d = f.K[i] - mean[i];
            mean[i] += d / k;
            m2[i] += d * (f.K[i] - mean[i]);
        }
        kn_fit_free(&f);
    }
    for (size_t i = 0; i < pb->n; i++) /* from the samples that finished; none without two */
        std[i] = *done >= 2 ? ldexp(sqrt(m2[i] / (*done - 1)), e) : NAN;
done:
    kn_fit_free(&f);
    kn_model_free(&model);
    free(data);
    free(g);
    free(mean);
    free(m2);
    free(r0);
    free(g0);
    free(x0);
    return st;
}
