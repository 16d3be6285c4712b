/* select_reduce.c — the automatic choice on a reduced problem: the candidates and λ are compared
 * on a central window of B (whose far field is subtracted first), then the choice is solved once
 * on all the data. On large problems this is what keeps the default command within a few solves:
 * every candidate, fold and λ costs a window-sized transform instead of a full one. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/area_table.h"
#include "base/clock.h"
#include "base/error.h"
#include "select_reduce.h"

/* The quick plain solve that measures the far field: unregularised CGLS stopped early. Its
 * kernel is noisy pixel by pixel, but the far field is a sum over many pixels of A and so
 * averages that noise out; measured on the original question's problem at N = 512, the window's
 * cross-validation scores fell from ~1.9σ (raw window) to ~1.07σ with it subtracted.
 *
 * Not on a textured A (box spread KN_WHITE_SPREAD or more): there the data fix a smooth component
 * of the kernel only over near and far offsets together, and CGLS from zero, heading for the
 * minimum-norm solution, spreads it evenly over the whole (2N−1)² support, most of it beyond the
 * window's kernel. On 1/f² textures at N = 256 and 512 its far fields over the window came out
 * 270–410σ where the true ones are 0.06–14σ, and the choice landed at 4.3σ held-out
 * (bench/results/far-field-textured.txt). A radial profile ties each far pixel to its ring, and
 * its unregularised solve converged in 22–103 iterations there (capped at 300): far fields 0.28σ
 * against 0.06σ, 4.14σ against 4.27σ and 13.7σ against 14.1σ, and the default lands at
 * 1.01–1.15σ on the same cases (also on an anisotropic kernel, whose radial far field is further
 * off: −19σ against 0.08σ). */
#define FAR_TOL 1e-4
enum { FAR_MAXITER = 50, FAR_RADIAL_MAXITER = 300 };

/* The half-width k of the window's kernel ((2k−1)²) for pairs whose smallest side is `side`:
 * the window's A reaches k − 1 px beyond B's window on each side, so k <= (side − w)/2 + 1; 0
 * when that is below KN_REDUCE_MIN_K (too little of the kernel left to the window's own fit). */
static size_t window_k(size_t side)
{
    const size_t w = KN_REDUCE_WINDOW;
    if (side < w + 2 * (KN_REDUCE_MIN_K - 1))
        return 0;
    const size_t k = (side - w) / 2 + 1;
    return k < w ? k : w;
}

/* the smallest side of every A (all pairs 2-D, B shaped like A) */
static size_t smallest_side(const kernest_array *const *A, size_t npairs)
{
    size_t m = SIZE_MAX;
    for (size_t i = 0; i < npairs; i++)
        for (int d = 0; d < 2; d++)
            m = A[i]->shape[d] < m ? A[i]->shape[d] : m;
    return m;
}

int kn_select_reducible(const kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                        size_t npairs, const kernest_options *opt)
{
    if (!opt->auto_model && !opt->auto_lambda)
        return 0;
    if (opt->select != KERNEST_SELECT_CV || opt->auto_l1 || opt->mode != KERNEST_MODE_SAME || opt->kh || opt->kw ||
        opt->support != KERNEST_SUPPORT_NONE || opt->nfixed || s->pb.channels || s->pb.npairs != npairs)
        return 0;
    for (size_t i = 0; i < npairs; i++)
        if (A[i]->ndim != 2 || B[i]->ndim != 2 || B[i]->shape[0] != A[i]->shape[0] ||
            B[i]->shape[1] != A[i]->shape[1])
            return 0;
    return window_k(smallest_side(A, npairs)) > 0;
}

int kn_embed_start(const kn_fit *small, size_t kh_r, size_t kw_r, const kernest_options *opt, size_t kh,
                   size_t kw, size_t nx_full, double *x0)
{
    memset(x0, 0, nx_full * sizeof *x0);
    const kernest_model kind = small->model.kind;
    if (kind == KERNEST_MODEL_PIXEL || kind == KERNEST_MODEL_LOWRANK) {
        double *K = calloc(kh * kw, sizeof *K);
        if (!K)
            return kn_error(KERNEST_E_NOMEM, "out of memory for the final solve's start");
        const size_t r0 = (kh - 1) / 2 - (kh_r - 1) / 2, c0 = (kw - 1) / 2 - (kw_r - 1) / 2;
        for (size_t i = 0; i < kh_r; i++)
            memcpy(K + (r0 + i) * kw + c0, small->K + i * kw_r, kw_r * sizeof *K);
        if (kind == KERNEST_MODEL_PIXEL)
            memcpy(x0, K, kh * kw * sizeof *K);
        else
            kn_lowrank_start(K, 1, kh, kw, opt->order, opt->nonneg, x0);
        free(K);
        return KERNEST_OK;
    }
    /* radial: one profile on knots r = 0, 1, ...; harmonic: f_0 on p knots, then 2M profiles on
     * knots r = 1 .. p−1. The small model's knots are the first ones of the full model's. */
    const size_t M = kind == KERNEST_MODEL_HARMONIC ? (size_t)small->model.order : 0;
    const size_t pr = (small->model.nx + 2 * M) / (2 * M + 1), pf = (nx_full + 2 * M) / (2 * M + 1);
    const size_t n = pr < pf ? pr : pf;
    memcpy(x0, small->x, n * sizeof *x0);
    for (size_t b = 0; b < 2 * M; b++)
        memcpy(x0 + pf + b * (pf - 1), small->x + pr + b * (pr - 1), (n - 1) * sizeof *x0);
    return KERNEST_OK;
}

double kn_box_spread(const kernest_array *A, size_t n)
{
    const size_t h = A->shape[0], w = A->shape[1];
    if (!n || n > h || n > w)
        return 0.0;
    double *S = malloc((h + 1) * (w + 1) * sizeof *S);
    if (!S)
        return 0.0;
    kn_area_table(A->data, h, w, S, 1);
    double sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < h * w; i++)
        sum += A->data[i], sq += A->data[i] * A->data[i];
    const double npx = (double)(h * w), mean = sum / npx, var = sq / npx - mean * mean;
    double bs = 0.0, bq = 0.0;
    const double nb = (double)((h - n + 1) * (w - n + 1)), area = (double)(n * n);
    for (size_t y = 0; y + n <= h; y++)
        for (size_t x = 0; x + n <= w; x++) {
            const double b = kn_area_sum(S, w, y, y + n - 1, x, x + n - 1) / area;
            bs += b;
            bq += b * b;
        }
    free(S);
    const double bm = bs / nb, bv = bq / nb - bm * bm;
    return var > 0.0 && bv > 0.0 ? sqrt(bv / var) * (double)n : 0.0;
}

/* The far field on s's data space (m values): H K_q with K_q the quick solve's kernel outside
 * the window's kernel (its centre (2k−1)² set to zero); the quick solve's model (radial when
 * textured, else pixel), iterations and whether it converged go to ff. */
static int far_field(kn_session *s, const kernest_options *opt, size_t k, int textured, double *hk,
                     kn_far_field *ff)
{
    kernest_options q = *opt;
    q.auto_lambda = q.auto_model = q.auto_l1 = 0;
    q.model = textured ? KERNEST_MODEL_RADIAL : KERNEST_MODEL_PIXEL;
    q.reg = KERNEST_REG_NONE;
    q.lambda = q.l1 = q.tv = 0.0;
    q.nonneg = q.has_bounds = q.has_sum = 0;
    q.solver = KERNEST_SOLVER_AUTO;
    q.tol = FAR_TOL;
    q.maxiter = textured ? FAR_RADIAL_MAXITER : FAR_MAXITER;
    q.uncertainty = 0;
    kn_fit f = {0};
    kn_vec *kv = NULL, *dv = NULL;
    const kn_backend_ops *o = s->be->ops;
    const size_t kh = s->pb.kh, kw = s->pb.kw;
    kn_session_phase(s, "preparing: the far field");
    int st = kn_session_solve(s, &q, NULL, &f);
    kn_session_phase(s, NULL);
    if (st)
        goto done;
    ff->model = q.model;
    ff->iterations = f.res.iterations;
    ff->converged = f.res.reason == KERNEST_STOP_CONVERGED;
    for (size_t i = (kh - 1) / 2 - (k - 1); i <= (kh - 1) / 2 + (k - 1); i++)
        for (size_t j = (kw - 1) / 2 - (k - 1); j <= (kw - 1) / 2 + (k - 1); j++)
            f.K[i * kw + j] = 0.0;
    if ((st = o->vec_create(s->be, s->pb.n, &kv)) || (st = o->vec_create(s->be, s->pb.m, &dv)) ||
        (st = o->vec_upload(s->be, kv, f.K)) || (st = o->op_apply(s->be, kv, dv)))
        goto done;
    st = o->vec_download(s->be, dv, hk);
done:
    if (kv)
        o->vec_destroy(s->be, &kv);
    if (dv)
        o->vec_destroy(s->be, &dv);
    kn_fit_free(&f);
    return st;
}

/* std / |mean| of the far field hk over pair p's central w×w window of B (INFINITY for a zero
 * mean with a spread, 0 for a zero far field) */
static double fluctuation(const kn_pair *p, const double *hk, size_t w)
{
    const size_t ty = (p->hb - w) / 2, tx = (p->wb - w) / 2;
    double s = 0.0, q = 0.0;
    for (size_t y = ty; y < ty + w; y++)
        for (size_t x = tx; x < tx + w; x++) {
            const double v = hk[p->offset + y * p->wb + x];
            s += v;
            q += v * v;
        }
    const double n = (double)(w * w), mean = s / n, var = q / n - mean * mean;
    const double sd = var > 0.0 ? sqrt(var) : 0.0;
    return mean != 0.0 ? sd / fabs(mean) : sd > 0.0 ? INFINITY : 0.0;
}

/* One window of pair p: B's w×w at (by, bx) minus the far field hk, and the A window every pixel of
 * it reaches through the (2k−1)² kernel: B[t + p] = Σ_j A[s0 + j] K_r[p + 2k − 2 − j],
 * s0 = t − (k − 1), zero beyond A as the model has it. With held set, B's pixels inside the central
 * window are NaN: no fit checked there has seen any pixel of them. NaN in B stays NaN. */
static int cut_window(const kernest_array *A, const kn_pair *p, const double *hk, size_t k, size_t by, size_t bx,
                      int held, kernest_array **a, kernest_array **b)
{
    const size_t w = KN_REDUCE_WINDOW, ar = w + 2 * k - 2, ty = (p->hb - w) / 2, tx = (p->wb - w) / 2;
    int st = kernest_array_create2(ar, ar, a);
    if (st || (st = kernest_array_create2(w, w, b)))
        return st;
    for (size_t y = 0; y < ar; y++)
        for (size_t x = 0; x < ar; x++) {
            const long ya = (long)(by + y) - (long)(k - 1), xa = (long)(bx + x) - (long)(k - 1);
            const int in = ya >= 0 && xa >= 0 && (size_t)ya < A->shape[0] && (size_t)xa < A->shape[1];
            (*a)->data[y * ar + x] = in ? A->data[(size_t)ya * A->shape[1] + (size_t)xa] : 0.0;
        }
    for (size_t y = 0; y < w; y++)
        for (size_t x = 0; x < w; x++) {
            const size_t yb = by + y, xb = bx + x, j = yb * p->wb + xb;
            const int central = yb >= ty && yb < ty + w && xb >= tx && xb < tx + w;
            (*b)->data[y * w + x] = held && central ? NAN : p->B[j] - hk[p->offset + j];
        }
    return KERNEST_OK;
}

/* B's held windows: per pair, KN_REDUCE_HELD windows of w×w at the central one's corners moved by
 * d = min(2w, t) along both axes (t: the central window's start), cut as the central one; pixels
 * inside the central window (when d < w) are NaN. */
static int held_windows(const kn_session *s, const kernest_array *const *A, size_t npairs, const double *hk,
                        size_t k, kernest_array **Ah, kernest_array **Bh)
{
    const size_t w = KN_REDUCE_WINDOW;
    for (size_t i = 0; i < npairs; i++) {
        const kn_pair *p = &s->pb.pairs[i];
        const size_t ty = (p->hb - w) / 2, tx = (p->wb - w) / 2;
        const size_t dy = ty < 2 * w ? ty : 2 * w, dx = tx < 2 * w ? tx : 2 * w;
        for (int q = 0; q < KN_REDUCE_HELD; q++) {
            const size_t by = q & 1 ? ty + dy : ty - dy, bx = q & 2 ? tx + dx : tx - dx;
            const int st = cut_window(A[i], p, hk, k, by, bx, 1, &Ah[i * KN_REDUCE_HELD + q],
                                      &Bh[i * KN_REDUCE_HELD + q]);
            if (st)
                return st;
        }
    }
    return KERNEST_OK;
}

static int reduced(kn_session *s, const kernest_array *const *A, size_t npairs, const kernest_options *opt,
                   kn_selection *sel)
{
    const size_t w = KN_REDUCE_WINDOW, k = window_k(smallest_side(A, npairs));
    double t = kn_now();
    long a = s->be->applications;
    const size_t nh = npairs * KN_REDUCE_HELD;
    kernest_array **Ar = calloc(npairs, sizeof *Ar), **Bw = calloc(npairs, sizeof *Bw);
    kernest_array **Ah = calloc(nh, sizeof *Ah), **Bh = calloc(nh, sizeof *Bh);
    double *hk = malloc((s->pb.m ? s->pb.m : 1) * sizeof *hk);
    kn_session rs = {0}, hs = {0};
    kn_fit full = {0};
    kn_far_field far = {0}; /* into sel once kn_select has filled it */
    kn_model fm = {0};
    double *x0 = NULL;
    int st = KERNEST_OK;
    if (!Ar || !Bw || !Ah || !Bh || !hk) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the reduced problem");
        goto done;
    }
    for (size_t i = 0; i < npairs; i++) {
        const double r = kn_box_spread(A[i], 2 * k - 1);
        far.box_spread = r > far.box_spread ? r : far.box_spread;
    }
    const int textured = !(far.box_spread < KN_WHITE_SPREAD);
    if ((st = far_field(s, opt, k, textured, hk, &far)))
        goto done;
    /* A quick solve stopped at its cap leaves a far field 30–50σ off even less its mean
     * (bench/results/far-field-trial.txt); on a white A the true one is a constant over the
     * window (to within 0.04σ on bench/wide_wing.py's binary case), which the window's kernel
     * takes up in its sum, so it is left in B (bench/results/white-far-field.txt: binary A,
     * moffat:1,1.5 at N = 512 chose lowrank:2 at 3.20σ held-out with the far field subtracted,
     * pixel+nonneg+grad at 1.05σ without). A converged quick solve can be as far off: on a sparse
     * binary target (density 0.05) its far field fluctuated by 42 % of its mean (31σ) where the
     * true one does by 3 % (0.02σ), and the window chose radial+grad at 6.49σ held-out
     * (pixel+nonneg+grad at 1.20σ with it left in; bench/results/far-field-fluctuation.txt). */
    for (size_t i = 0; i < npairs; i++) {
        const double f = fluctuation(&s->pb.pairs[i], hk, w);
        far.fluctuation = f > far.fluctuation ? f : far.fluctuation;
    }
    far.subtracted = textured || (far.converged && far.fluctuation <= KN_FAR_FLUCTUATION);
    if (!far.subtracted)
        memset(hk, 0, s->pb.m * sizeof *hk);
    /* each pair: B's central w×w and the A window that reaches it */
    for (size_t i = 0; i < npairs; i++) {
        const kn_pair *p = &s->pb.pairs[i];
        if ((st = cut_window(A[i], p, hk, k, (p->hb - w) / 2, (p->wb - w) / 2, 0, &Ar[i], &Bw[i])))
            goto done;
    }
    if ((st = held_windows(s, A, npairs, hk, k, Ah, Bh)))
        goto done;
    const long apps_prepare = s->be->applications - a;
    const double secs_prepare = kn_now() - t;
    kernest_options ro = *opt, oo;
    ro.mode = KERNEST_MODE_VALID;
    ro.kh = ro.kw = 2 * k - 1;
    ro.uncertainty = 0;
    kn_select_open_options(&ro, &oo);
    kernest_options ho = ro; /* the held windows' session only predicts them from a pixel kernel */
    ho.model = KERNEST_MODEL_PIXEL;
    ho.reg = KERNEST_REG_NONE;
    ho.nonneg = ho.background = 0; /* an offset comes off in the score (select_confirm.c) */
    if ((st = kn_session_open(&rs, (const kernest_array *const *)Ar, (const kernest_array *const *)Bw, npairs, &oo, NULL)) ||
        (st = kn_session_open(&hs, (const kernest_array *const *)Ah, (const kernest_array *const *)Bh, nh, &ho, NULL)) ||
        (st = kn_select_confirmed(&rs, (const kernest_array *const *)Ar, (const kernest_array *const *)Bw, npairs,
                                  &ro, &hs, sel)))
        goto done;
    /* the window's held-out error is no estimate of σ: the far field subtracted from it came from
     * an unregularised fit that also absorbed part of the window's noise (σ = 1 scored 0.40 at
     * N = 256). Leave σ unset, so that --uncertainty estimates it on all the data. */
    if (!(opt->sigma > 0)) {
        sel->sigma = 0.0;
        sel->sigma_estimated = 0;
    }
    sel->apps_prepare = apps_prepare; /* kn_select cleared *sel */
    sel->secs_prepare = secs_prepare;
    sel->far = far;
    /* the reduced problem's final solve is part of choosing: it starts the full one */
    sel->apps_select += sel->apps_final;
    sel->secs_select += sel->secs_final;
    sel->window = w;
    sel->window_grid_fraction = (double)rs.pb.grid_h * (double)rs.pb.grid_w /
                                ((double)s->pb.grid_h * (double)s->pb.grid_w);
    sel->window_kernel = 2 * k - 1;
    const size_t len = strlen(sel->rule);
    snprintf(sel->rule + len, sizeof sel->rule - len, ", %zu² window", w);
    /* the final solve: all the data, the chosen options, started from the window's estimate */
    t = kn_now();
    a = s->be->applications;
    sel->opt.mode = opt->mode;
    sel->opt.kh = opt->kh;
    sel->opt.kw = opt->kw;
    sel->opt.maxiter = kn_final_maxiter(opt->maxiter);
    if ((st = kn_model_init_nk(&fm, sel->opt.model, sel->opt.order, s->pb.kh, s->pb.kw, 1)))
        goto done;
    /* A choice with bounds only (pixel+nonneg+grad) is solved by GPCG unless the user named a
     * solver. The window scored converged fits (FISTA's metric, fista_metric.h), so the final
     * solve is after the same minimiser on all the data. FISTA, without a metric in same mode,
     * took 2-3x the applications to its tolerance at N = 256, and stopped at its cap on the
     * wide-wing fractal case (bench/results/gpcg-final.txt). Lowrank runs its own half-steps. */
    if (opt->solver == KERNEST_SOLVER_AUTO && sel->opt.model != KERNEST_MODEL_LOWRANK &&
        kn_session_gpcg_exact(&sel->opt, &fm))
        sel->opt.solver = KERNEST_SOLVER_GPCG;
    const size_t nx = sel->opt.model == KERNEST_MODEL_LOWRANK ? (size_t)sel->opt.order * (s->pb.kh + s->pb.kw) : fm.nx;
    if (!(x0 = malloc(nx * sizeof *x0))) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the final solve's start");
        goto done;
    }
    if ((st = kn_embed_start(&sel->fit, 2 * k - 1, 2 * k - 1, &sel->opt, s->pb.kh, s->pb.kw, nx, x0)))
        goto done;
    kn_session_phase(s, "final: %s, lambda %.3g, all the data", sel->cands[sel->chosen].name, sel->opt.lambda);
    st = kn_session_solve(s, &sel->opt, x0, &full);
    kn_session_phase(s, NULL);
    if (st)
        goto done;
    kn_fit_free(&sel->fit);
    sel->fit = full;
    memset(&full, 0, sizeof full);
    sel->solves++;
    sel->iterations += sel->fit.inner_iterations ? sel->fit.inner_iterations : sel->fit.res.iterations;
    sel->cands[sel->chosen].solves++;
    sel->apps_final = s->be->applications - a;
    sel->secs_final = kn_now() - t;
done:
    for (size_t i = 0; i < npairs; i++) {
        if (Ar)
            kernest_array_destroy(&Ar[i]);
    }
    if (rs.be || rs.pb.pairs)
        kn_session_close(&rs); /* before the B windows it borrows */
    if (hs.be || hs.pb.pairs)
        kn_session_close(&hs);
    for (size_t i = 0; Bw && i < npairs; i++)
        kernest_array_destroy(&Bw[i]);
    for (size_t i = 0; i < nh; i++) {
        if (Ah)
            kernest_array_destroy(&Ah[i]);
        if (Bh)
            kernest_array_destroy(&Bh[i]);
    }
    free(Ar);
    free(Bw);
    free(Ah);
    free(Bh);
    free(hk);
    free(x0);
    kn_fit_free(&full);
    kn_model_free(&fm);
    return st;
}

int kn_select_auto(kn_session *s, const kernest_array *const *A, const kernest_array *const *B,
                   size_t npairs, const kernest_options *opt, kn_selection *sel)
{
    if (!kn_select_reducible(s, A, B, npairs, opt))
        return kn_select(s, A, B, npairs, opt, sel);
    memset(sel, 0, sizeof *sel);
    return reduced(s, A, npairs, opt, sel);
}
