/* gk.c — Golub–Kahan bidiagonalisation with full reorthogonalisation, and the Tikhonov solutions
 * in its subspace (gk.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "gk.h"

/* below this many multiply-adds a loop runs on one thread */
enum { PARALLEL_WORK = 1 << 16 };

size_t kn_gk_bytes(size_t n, size_t m, int kmax)
{
    return ((size_t)kmax + 1) * (n + m + 3) * sizeof(double);
}

static double norm2(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

/* w -= Σ_j ⟨q_j, w⟩ q_j over the first cnt vectors of Q (classical Gram–Schmidt), repeated once
 * when w lost most of its norm to them ("twice is enough"); returns ‖w‖ */
static double orthogonalise(const double *Q, int cnt, size_t len, double *w, double *c, int threads)
{
    double before = norm2(w, len), after = before;
    const int par = (double)cnt * (double)len > PARALLEL_WORK;
    for (int pass = 0; pass < 2 && cnt > 0; pass++) {
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
        for (int j = 0; j < cnt; j++) {
            const double *q = Q + (size_t)j * len;
            double s = 0.0;
            for (size_t i = 0; i < len; i++)
                s += q[i] * w[i];
            c[j] = s;
        }
#pragma omp parallel for num_threads(threads) schedule(static) if (par)
        for (size_t i = 0; i < len; i++) {
            double s = w[i];
            for (int j = 0; j < cnt; j++)
                s -= c[j] * Q[(size_t)j * len + i];
            w[i] = s;
        }
        after = norm2(w, len);
        if (after > 0.7 * before)
            break;
        before = after;
    }
    return after;
}

/* a norm that small, against the largest α or β so far, is a zero: the subspace is complete */
static int negligible(const kn_gk *g, double v)
{
    double big = 0.0;
    for (int j = 0; j <= g->k; j++)
        big = fmax(big, fmax(g->alpha[j], g->beta[j]));
    return !(v > 1e3 * DBL_EPSILON * big);
}

static void scale(double *x, size_t n, double a)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= a;
}

int kn_gk_init(kn_gk *g, size_t n, size_t m, int kmax, int threads, const kn_gk_operator *op, const double *b)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->m = m;
    g->kmax = kmax < 1 ? 1 : kmax;
    g->threads = threads > 0 ? threads : 1;
    const size_t cols = (size_t)g->kmax + 1;
    if (!(g->V = malloc(cols * (n ? n : 1) * sizeof *g->V)) || !(g->U = malloc(cols * (m ? m : 1) * sizeof *g->U)) ||
        !(g->alpha = calloc(cols, sizeof *g->alpha)) || !(g->beta = calloc(cols, sizeof *g->beta)) ||
        !(g->work = malloc(cols * sizeof *g->work)))
        return kn_error(KERNEST_E_NOMEM, "out of memory for the Krylov subspace (%d steps)", g->kmax);
    memcpy(g->U, b, m * sizeof *b);
    g->beta[0] = norm2(g->U, m);
    if (!(g->beta[0] > 0)) {
        g->exhausted = 1;
        return KERNEST_OK;
    }
    scale(g->U, m, 1.0 / g->beta[0]);
    int st = op->adjoint(op->user, g->U, g->V);
    if (st)
        return st;
    g->alpha[0] = norm2(g->V, n);
    if (!(g->alpha[0] > 0) || !isfinite(g->alpha[0])) {
        g->exhausted = 1;
        g->alpha[0] = 0.0;
        return KERNEST_OK;
    }
    scale(g->V, n, 1.0 / g->alpha[0]);
    return KERNEST_OK;
}

int kn_gk_step(kn_gk *g, const kn_gk_operator *op)
{
    if (g->exhausted || g->k >= g->kmax)
        return KERNEST_OK;
    const int k = g->k;
    const size_t n = g->n, m = g->m;
    double *u = g->U + (size_t)(k + 1) * m, *v = g->V + (size_t)(k + 1) * n;
    double *c = malloc(((size_t)k + 2) * sizeof *c);
    if (!c)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the Krylov subspace");
    /* β_{k+2} u_{k+2} = A v_{k+1} − α_{k+1} u_{k+1} */
    int st = op->forward(op->user, g->V + (size_t)k * n, u);
    if (st)
        goto done;
    for (size_t i = 0; i < m; i++)
        u[i] -= g->alpha[k] * g->U[(size_t)k * m + i];
    double b = n > m ? orthogonalise(g->U, k + 1, m, u, c, g->threads) : norm2(u, m);
    g->k = k + 1;
    if (negligible(g, b) || (size_t)g->k >= m) { /* A V_{k+1} = U_{k+1} B, square: exact */
        g->beta[k + 1] = 0.0;
        g->alpha[k + 1] = 0.0;
        g->exhausted = 1;
        goto done;
    }
    g->beta[k + 1] = b;
    scale(u, m, 1.0 / b);
    if ((size_t)g->k >= n) { /* V_{k+1} spans every unknown: exact, B keeps its last row */
        g->alpha[k + 1] = 0.0;
        g->exhausted = 1;
        goto done;
    }
    /* α_{k+2} v_{k+2} = Aᵀ u_{k+2} − β_{k+2} v_{k+1} */
    if ((st = op->adjoint(op->user, u, v)))
        goto done;
    for (size_t i = 0; i < n; i++)
        v[i] -= b * g->V[(size_t)k * n + i];
    double a = n > m ? norm2(v, n) : orthogonalise(g->V, k + 1, n, v, c, g->threads);
    if (negligible(g, a)) {
        g->alpha[k + 1] = 0.0;
        g->exhausted = 1;
        goto done;
    }
    g->alpha[k + 1] = a;
    scale(v, n, 1.0 / a);
done:
    free(c);
    return st;
}

void kn_gk_free(kn_gk *g)
{
    free(g->V);
    free(g->U);
    free(g->alpha);
    free(g->beta);
    free(g->work);
    memset(g, 0, sizeof *g);
}

void kn_gk_solve(const kn_gk *g, int k, double lambda, double *y, double *rss, double *resid)
{
    const double *al = g->alpha, *be = g->beta;
    if (k <= 0 || !(al[0] > 0)) {
        for (int j = 0; j < k; j++)
            y[j] = 0.0;
        if (rss)
            *rss = be[0] * be[0];
        if (resid)
            *resid = al[0] * be[0];
        return;
    }
    /* (BᵀB + λI) y = α₁β₁ e₁: diagonal α_j² + β_{j+1}² + λ, off-diagonal α_{j+1} β_{j+1}, by
     * elimination without pivoting (symmetric positive definite); y holds the modified rhs */
    double *cp = g->work, prev_c = 0.0;
    for (int j = 0; j < k; j++) {
        const double d = al[j] * al[j] + be[j + 1] * be[j + 1] + lambda;
        const double e_lo = j > 0 ? al[j] * be[j] : 0.0; /* T(j, j−1) */
        const double rhs = j == 0 ? al[0] * be[0] : 0.0;
        const double den = d - e_lo * prev_c;
        const double e_hi = j + 1 < k ? al[j + 1] * be[j + 1] : 0.0; /* T(j, j+1) */
        cp[j] = prev_c = e_hi / den;
        y[j] = (rhs - e_lo * (j > 0 ? y[j - 1] : 0.0)) / den;
    }
    for (int j = k - 1; j-- > 0;)
        y[j] -= cp[j] * y[j + 1];
    double r2 = 0.0;
    for (int j = 0; j <= k; j++) { /* r = β₁e₁ − B y, (B y)_j = α_j y_j + β_j y_{j−1} */
        const double by = (j < k ? al[j] * y[j] : 0.0) + (j > 0 ? be[j] * y[j - 1] : 0.0);
        const double r = (j == 0 ? be[0] : 0.0) - by;
        r2 += r * r;
    }
    if (rss)
        *rss = r2;
    if (resid)
        *resid = al[k] * -(be[k] * y[k - 1]);
}

void kn_gk_combine(const double *cols, size_t len, int k, const double *y, double *out, int threads)
{
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(static) if ((double)k * (double)len > PARALLEL_WORK)
    for (size_t i = 0; i < len; i++) {
        double s = 0.0;
        for (int j = 0; j < k; j++)
            s += y[j] * cols[(size_t)j * len + i];
        out[i] = s;
    }
}
