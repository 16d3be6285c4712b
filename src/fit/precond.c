/* precond.c — the diagonal (Jacobi) preconditioner of a CGLS solve (see precond.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "precond.h"

/* Sums of v (ha×wa) over lattices of step (sh, sw): T[r][c] = Σ v[r'][c'] over r' <= r,
 * r' ≡ r (mod sh), c' <= c, c' ≡ c (mod sw). */
static void lattice_table(const double *v, size_t ha, size_t wa, size_t sh, size_t sw, int square, double *T)
{
    for (size_t r = 0; r < ha; r++)
        for (size_t c = 0; c < wa; c++) {
            const double a = v[r * wa + c];
            double t = square ? a * a : a;
            if (r >= sh)
                t += T[(r - sh) * wa + c];
            if (c >= sw)
                t += T[r * wa + c - sw];
            if (r >= sh && c >= sw)
                t -= T[(r - sh) * wa + c - sw];
            T[r * wa + c] = t;
        }
}

/* Σ v over rows ra, ra+sh, ..., rb and columns ca, ca+sw, ..., cb, from its lattice table */
static double lattice_sum(const double *T, size_t wa, size_t sh, size_t sw, size_t ra, size_t rb, size_t ca,
                          size_t cb)
{
    double s = T[rb * wa + cb];
    if (ra >= sh)
        s -= T[(ra - sh) * wa + cb];
    if (ca >= sw)
        s -= T[rb * wa + ca - sw];
    if (ra >= sh && ca >= sw)
        s += T[(ra - sh) * wa + ca - sw];
    return s;
}

int kn_tap_outputs(size_t t, size_t r0, size_t nb, size_t s, size_t d, size_t na, size_t *lo, size_t *hi)
{
    const long long off = (long long)t * (long long)d - (long long)r0; /* row = y·s − off */
    long long a = off <= 0 ? 0 : (off + (long long)s - 1) / (long long)s;
    long long b = ((long long)na - 1 + off) < 0 ? -1 : ((long long)na - 1 + off) / (long long)s;
    if (b > (long long)nb - 1)
        b = (long long)nb - 1;
    if (a > b)
        return 0;
    *lo = (size_t)a;
    *hi = (size_t)b;
    return 1;
}

/* The rows of A that tap t of a kernel meets in one dimension: output y of [0, nb) reads row
 * r0 + y·s − t·d of A (length na); first and last such row that exists, 0 when none does. */
static int tap_rows(size_t t, size_t r0, size_t nb, size_t s, size_t d, size_t na, size_t *first, size_t *last)
{
    size_t lo, hi;
    if (!kn_tap_outputs(t, r0, nb, s, d, na, &lo, &hi))
        return 0;
    const long long off = (long long)t * (long long)d - (long long)r0;
    *first = (size_t)((long long)lo * (long long)s - off);
    *last = (size_t)((long long)hi * (long long)s - off);
    return 1;
}

/* The observed share of output plane o of sample p */
static double observed_share(const kn_pair *p, size_t o)
{
    const size_t win = p->hb * p->wb;
    if (!p->B || !win)
        return 1.0;
    size_t n = 0;
    for (size_t j = o * win; j < (o + 1) * win; j++)
        n += !isnan(p->B[j]);
    return (double)n / (double)win;
}

/* v summed over the ranks that hold pairs (nothing to do in one process) */
static int host_sum(kn_backend *be, double *v, size_t n)
{
    return be->ops->host_sum && n ? be->ops->host_sum(be, v, n) : KERNEST_OK;
}

/* diag(HᵀPH) on the kernels' pixels (pb->n values) into d; with mu (one value per pair, no
 * background), diag(H'ᵀH') for H' the operator of A − mu (each pair's A less its mean) */
static int data_diagonal(kn_backend *be, const kn_problem *pb, int background, const double *mu, double *d)
{
    const size_t kh = pb->kh, kw = pb->kw, kk = kh * kw, kin = pb->kin ? pb->kin : 1;
    const int shared = background && pb->shared_offsets;
    size_t amax = 0;
    for (size_t s = 0; s < pb->npairs; s++)
        if (pb->pairs[s].ha * pb->pairs[s].wa > amax)
            amax = pb->pairs[s].ha * pb->pairs[s].wa;
    double *T2 = malloc((amax ? amax : 1) * sizeof *T2), *T1 = background || mu ? malloc((amax ? amax : 1) * sizeof *T1) : NULL;
    double *sum1 = shared ? calloc(pb->n ? pb->n : 1, sizeof *sum1) : NULL;
    double *nobs = shared ? calloc(pb->cout ? pb->cout : 1, sizeof *nobs) : NULL;
    double *share = malloc((pb->cout ? pb->cout : 1) * sizeof *share); /* of one sample's planes */
    size_t *rows = malloc(2 * (kh + kw) * sizeof *rows);
    unsigned char *rok = malloc(kh + kw);
    int st = !T2 || ((background || mu) && !T1) || (shared && (!sum1 || !nobs)) || !share || !rows || !rok
                 ? kn_error(KERNEST_E_NOMEM, "out of memory for the preconditioner")
                 : KERNEST_OK;
    if (st)
        goto done;
    memset(d, 0, pb->n * sizeof *d);
    size_t *cols = rows + 2 * kh;
    unsigned char *cok = rok + kh;
    for (size_t s = 0; s < pb->npairs; s++) {
        const kn_pair *p = &pb->pairs[s];
        for (size_t o = 0; o < pb->cout; o++) {
            share[o] = observed_share(p, o);
            if (shared)
                nobs[o] += share[o] * (double)(p->hb * p->wb);
        }
        for (size_t t = 0; t < kh; t++)
            rok[t] = (unsigned char)tap_rows(t, p->row0, p->hb, pb->sh, pb->dh, p->ha, &rows[2 * t], &rows[2 * t + 1]);
        for (size_t t = 0; t < kw; t++)
            cok[t] = (unsigned char)tap_rows(t, p->col0, p->wb, pb->sw, pb->dw, p->wa, &cols[2 * t], &cols[2 * t + 1]);
        for (size_t c = 0; c < pb->cin; c++) {
            const double *A = p->A + c * p->ha * p->wa;
            lattice_table(A, p->ha, p->wa, pb->sh, pb->sw, 1, T2);
            if (background || mu)
                lattice_table(A, p->ha, p->wa, pb->sh, pb->sw, 0, T1);
            for (size_t o = 0; o < pb->cout; o++) {
                const double n_g = share[o] * (double)(p->hb * p->wb);
                for (size_t i = 0; i < kin; i++) {
                    if (kn_problem_channel(pb, o, i) != c)
                        continue;
                    const size_t base = (o * kin + i) * kk;
                    for (size_t y = 0; y < kh; y++)
                        for (size_t x = 0; rok[y] && x < kw; x++) {
                            if (!cok[x])
                                continue;
                            const size_t ra = rows[2 * y], rb = rows[2 * y + 1], ca = cols[2 * x], cb = cols[2 * x + 1];
                            double v = share[o] * lattice_sum(T2, p->wa, pb->sh, pb->sw, ra, rb, ca, cb);
                            if (mu) { /* Σ (A − μ)² = Σ A² − 2μ Σ A + μ² (the pixels met) */
                                const double cnt = (double)((rb - ra) / pb->sh + 1) * (double)((cb - ca) / pb->sw + 1);
                                v += share[o] * (mu[s] * mu[s] * cnt -
                                                 2.0 * mu[s] * lattice_sum(T1, p->wa, pb->sh, pb->sw, ra, rb, ca, cb));
                            }
                            if (background) {
                                const double s1 = share[o] * lattice_sum(T1, p->wa, pb->sh, pb->sw, ra, rb, ca, cb);
                                if (shared)
                                    sum1[base + y * kw + x] += s1;
                                else if (n_g > 0)
                                    v -= s1 * s1 / n_g;
                            }
                            d[base + y * kw + x] += v;
                        }
                }
            }
        }
    }
    if ((st = host_sum(be, d, pb->n)) || (shared && ((st = host_sum(be, sum1, pb->n)) ||
                                                    (st = host_sum(be, nobs, pb->cout)))))
        goto done;
    for (size_t o = 0; shared && o < pb->cout; o++)
        for (size_t j = o * kin * kk; nobs[o] > 0 && j < (o + 1) * kin * kk; j++)
            d[j] -= sum1[j] * sum1[j] / nobs[o];
done:
    free(T2);
    free(T1);
    free(sum1);
    free(nobs);
    free(share);
    free(rows);
    free(rok);
    return st;
}

int kn_precond_mean_applies(const kn_problem *pb, const kn_model *m, int background)
{
    return m->kind == KERNEST_MODEL_RADIAL && m->nk <= 1 && pb->cin == 1 && pb->cout == 1 && !background;
}

kernest_precond kn_precond_kind(kernest_precond p, const kn_problem *pb, const kn_model *m, int background)
{
    if (p == KERNEST_PRECOND_AUTO)
        p = m->kind == KERNEST_MODEL_RADIAL ? (m->kh * m->kw >= KN_PRECOND_MEAN_AUTO_PIXELS ? KERNEST_PRECOND_MEAN
                                                                                          : KERNEST_PRECOND_JACOBI)
            : m->kind == KERNEST_MODEL_LOWRANK ? KERNEST_PRECOND_JACOBI
                                               : KERNEST_PRECOND_NONE;
    if (p == KERNEST_PRECOND_MEAN && !kn_precond_mean_applies(pb, m, background))
        p = KERNEST_PRECOND_JACOBI;
    return p;
}

/* dinv = 1 / diag(Φᵀ D Φ + λ G), D the data diagonal of A, or of A − mu when mu is set */
static int jacobi(kn_backend *be, const kn_problem *pb, const kn_model *m, kernest_reg reg, double lambda,
                  int background, const double *mu, double *dinv)
{
    double *dp = malloc((pb->n ? pb->n : 1) * sizeof *dp);
    if (!dp)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the preconditioner");
    int st = data_diagonal(be, pb, background, mu, dp);
    if (st) {
        free(dp);
        return st;
    }
    const double lam = reg == KERNEST_REG_NONE ? 0.0 : lambda;
    if (!m->phi.row_ptr) { /* pixels: x is K */
        const size_t kh = pb->kh, kw = pb->kw;
        for (size_t j = 0; j < m->nx; j++) {
            const size_t y = (j / kw) % kh, x = j % kw;
            const double g = reg == KERNEST_REG_GRAD ? (double)((y > 0) + (y + 1 < kh) + (x > 0) + (x + 1 < kw)) : 1.0;
            dinv[j] = dp[j] + lam * g;
        }
    } else {
        memset(dinv, 0, m->nx * sizeof *dinv);
        for (size_t r = 0; r < m->phi.rows; r++) /* diag(Φᵀ D Φ) */
            for (size_t e = m->phi.row_ptr[r]; e < m->phi.row_ptr[r + 1]; e++)
                dinv[m->phi.col[e]] += m->phi.val[e] * m->phi.val[e] * dp[r];
        if (reg == KERNEST_REG_RIDGE)
            for (size_t j = 0; j < m->nx; j++)
                dinv[j] += lam;
        else if (reg == KERNEST_REG_GRAD && m->gram.row_ptr)
            for (size_t r = 0; r < m->gram.rows; r++)
                for (size_t e = m->gram.row_ptr[r]; e < m->gram.row_ptr[r + 1]; e++)
                    if (m->gram.col[e] == r)
                        dinv[r] += lam * m->gram.val[e];
    }
    double dmax = 0.0;
    for (size_t j = 0; j < m->nx; j++)
        if (isfinite(dinv[j]) && dinv[j] > dmax)
            dmax = dinv[j];
    /* an unknown nothing reaches keeps its scale; a diagonal below 1e-12 of the largest is
     * rounding (a background that takes a column's whole norm) */
    for (size_t j = 0; j < m->nx; j++)
        dinv[j] = dmax > 0 && isfinite(dinv[j]) && dinv[j] > 1e-12 * dmax ? 1.0 / dinv[j] : (dmax > 0 ? 1.0 / dmax : 1.0);
    free(dp);
    return KERNEST_OK;
}

int kn_precond_jacobi(kn_backend *be, const kn_problem *pb, const kn_model *m, kernest_reg reg, double lambda,
                      int background, double *dinv)
{
    return jacobi(be, pb, m, reg, lambda, background, NULL, dinv);
}

int kn_precond_build(kn_backend *be, const kn_problem *pb, const kn_model *m, kernest_reg reg, double lambda,
                     int background, kernest_precond kind, kn_precond_host *h)
{
    memset(h, 0, sizeof *h);
    double *mu = kind == KERNEST_PRECOND_MEAN ? malloc((pb->npairs ? pb->npairs : 1) * sizeof *mu) : NULL;
    if (!(h->dinv = malloc((m->nx ? m->nx : 1) * sizeof *h->dinv)) || (kind == KERNEST_PRECOND_MEAN && !mu)) {
        free(mu);
        return kn_error(KERNEST_E_NOMEM, "out of memory for the preconditioner");
    }
    for (size_t i = 0; mu && i < pb->npairs; i++) { /* each pair's mean of A */
        const kn_pair *p = &pb->pairs[i];
        double a = 0.0;
        for (size_t j = 0; j < p->ha * p->wa; j++)
            a += p->A[j];
        mu[i] = p->ha * p->wa > 0 ? a / (double)(p->ha * p->wa) : 0.0;
    }
    int st = jacobi(be, pb, m, reg, lambda, background, mu, h->dinv);
    if (!st && mu)
        st = kn_precond_mean(be, pb, m, mu, KN_PRECOND_MEAN_RANK, h);
    free(mu);
    return st;
}

void kn_precond_host_free(kn_precond_host *h)
{
    free(h->dinv);
    free(h->w);
    free(h->cinv);
    memset(h, 0, sizeof *h);
}
