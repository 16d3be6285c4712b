/* precond_mean.c — the low-rank part of CGLS's preconditioner --precond mean (see precond.h): the
 * share of the normal equations that A's mean carries, Φᵀ EᵀE Φ, by a Nyström approximation. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/area_table.h"
#include "base/dense.h"
#include "base/error.h"
#include "base/rng.h"
#include "precond.h"

/* The seed of the Nyström test matrix: the preconditioner is a function of the problem alone, so
 * that a resumed solve runs with the one it was checkpointed with */
#define MEAN_SEED 0x6b6e6d65616eULL

/* For output row y, the taps [lo, hi] (of nk) that meet A in one dimension: those whose row
 * r0 + y·s − t·d lies in [0, na); 0 when none does (the converse of kn_tap_outputs) */
static int taps_of_output(size_t y, size_t r0, size_t s, size_t d, size_t na, size_t nk, size_t *lo, size_t *hi)
{
    const long long R = (long long)r0 + (long long)y * (long long)s, top = R - (long long)na + 1;
    long long a = top <= 0 ? 0 : (top + (long long)d - 1) / (long long)d, b = R / (long long)d;
    if (b > (long long)nk - 1)
        b = (long long)nk - 1;
    if (a > b)
        return 0;
    *lo = (size_t)a;
    *hi = (size_t)b;
    return 1;
}

/* One pair's geometry: taps per output row and column, output rows and columns per tap */
typedef struct ranges {
    size_t *ty, *tx; /* [2y], [2y+1]: taps of output row y (empty: lo > hi) */
    size_t *oy, *ox; /* [2t], [2t+1]: output rows of tap t */
} ranges;

static void fill_ranges(const kn_problem *pb, const kn_pair *p, ranges *g)
{
    for (size_t y = 0; y < p->hb; y++)
        if (!taps_of_output(y, p->row0, pb->sh, pb->dh, p->ha, pb->kh, &g->ty[2 * y], &g->ty[2 * y + 1]))
            g->ty[2 * y] = 1, g->ty[2 * y + 1] = 0;
    for (size_t x = 0; x < p->wb; x++)
        if (!taps_of_output(x, p->col0, pb->sw, pb->dw, p->wa, pb->kw, &g->tx[2 * x], &g->tx[2 * x + 1]))
            g->tx[2 * x] = 1, g->tx[2 * x + 1] = 0;
    for (size_t t = 0; t < pb->kh; t++)
        if (!kn_tap_outputs(t, p->row0, p->hb, pb->sh, pb->dh, p->ha, &g->oy[2 * t], &g->oy[2 * t + 1]))
            g->oy[2 * t] = 1, g->oy[2 * t + 1] = 0;
    for (size_t t = 0; t < pb->kw; t++)
        if (!kn_tap_outputs(t, p->col0, p->wb, pb->sw, pb->dw, p->wa, &g->ox[2 * t], &g->ox[2 * t + 1]))
            g->ox[2 * t] = 1, g->ox[2 * t + 1] = 0;
}

/* Φ's row for one kernel pixel in the radial model's form: (1 − t) on knot j, t on knot j + 1.
 * Eight bytes a pixel instead of the CSR's forty: S's applications are bound by memory. */
typedef struct hat {
    uint32_t j;
    float t;
} hat;

/* Φ as hats, or 0 when a row of it has another form */
static int hats_of(const kn_csr *phi, hat *h)
{
    for (size_t r = 0; r < phi->rows; r++) {
        const size_t e = phi->row_ptr[r], ne = phi->row_ptr[r + 1] - e;
        if (ne < 1 || ne > 2 || phi->col[e] > UINT32_MAX || (ne == 2 && phi->col[e + 1] != phi->col[e] + 1) ||
            fabs(phi->val[e] + (ne == 2 ? phi->val[e + 1] : 0.0) - 1.0) > 1e-12)
            return 0;
        h[r].j = (uint32_t)phi->col[e];
        h[r].t = ne == 2 ? (float)phi->val[e + 1] : 0.0f;
    }
    return 1;
}

/* Rows of the kernel are summed into Φᵀ's result in CHUNKS fixed blocks, each into its own copy,
 * then the copies in order: the same sums whatever the threads */
enum { CHUNKS = 64 };

/* The work of one application of S = Φᵀ EᵀE Φ */
typedef struct mean_op {
    kn_backend *be;
    const kn_problem *pb;
    const hat *phi;    /* Φ, one hat per kernel pixel */
    size_t nx;
    const double *mu;  /* the mean of each pair's A */
    int threads;
    double *PK;        /* the summed-area table of Φx on the kernel's pixels */
    double *Y, *PY;    /* E K on each pair's window (one after the other), and their tables */
    size_t *ypos;      /* where pair i's window and its table start in Y and PY */
    ranges *g;         /* each pair's */
    double *acc;       /* CHUNKS × nx: Φᵀ Eᵀ E K by blocks of kernel rows */
} mean_op;

/* out (nx) = Φᵀ EᵀE Φ x, E = H with each pair's A replaced by its mean (a box sum of K per
 * output pixel; missing pixels of B give 0), summed over the pairs and the ranks */
static int mean_apply(mean_op *op, const double *x, double *out)
{
    const kn_problem *pb = op->pb;
    const size_t kh = pb->kh, kw = pb->kw, W = kw + 1, nx = op->nx;
    const int th = op->threads;
    const hat *phi = op->phi;
    double *PK = op->PK;
    memset(PK, 0, W * sizeof *PK);
#pragma omp parallel for num_threads(th) schedule(static)
    for (size_t r = 0; r < kh; r++) { /* Φx summed along each row */
        double row = 0.0;
        PK[(r + 1) * W] = 0.0;
        for (size_t c = 0; c < kw; c++) {
            const hat hp = phi[r * kw + c];
            row += (1.0 - hp.t) * x[hp.j] + (hp.t != 0.0f ? hp.t * x[hp.j + 1] : 0.0);
            PK[(r + 1) * W + c + 1] = row;
        }
    }
    kn_area_columns(PK, kh, kw, th); /* then down the columns: the table of Φx */
    for (size_t i = 0; i < pb->npairs; i++) { /* Y = E K on each pair's window */
        const kn_pair *p = &pb->pairs[i];
        const double mu = op->mu[i];
        const ranges *g = &op->g[i];
        double *Y = op->Y + op->ypos[i];
#pragma omp parallel for num_threads(th) schedule(static)
        for (size_t y = 0; y < p->hb; y++)
            for (size_t xo = 0; xo < p->wb; xo++) {
                const size_t j = y * p->wb + xo;
                const size_t *ty = g->ty + 2 * y, *tx = g->tx + 2 * xo;
                Y[j] = (p->B && isnan(p->B[j])) || ty[0] > ty[1] || tx[0] > tx[1]
                           ? 0.0
                           : mu * kn_area_sum(PK, kw, ty[0], ty[1], tx[0], tx[1]);
            }
        kn_area_table(Y, p->hb, p->wb, op->PY + op->ypos[i], th);
    }
#pragma omp parallel for num_threads(th) schedule(static)
    for (size_t c = 0; c < CHUNKS; c++) { /* Φᵀ Eᵀ Y, Eᵀ a box sum of Y per tap */
        double *a = op->acc + c * nx;
        memset(a, 0, nx * sizeof *a);
        for (size_t t = c * kh / CHUNKS; t < (c + 1) * kh / CHUNKS; t++)
            for (size_t u = 0; u < kw; u++) {
                double z = 0.0;
                for (size_t i = 0; i < pb->npairs; i++) {
                    const size_t *oy = op->g[i].oy + 2 * t, *ox = op->g[i].ox + 2 * u;
                    if (oy[0] <= oy[1] && ox[0] <= ox[1])
                        z += op->mu[i] * kn_area_sum(op->PY + op->ypos[i], pb->pairs[i].wb, oy[0], oy[1], ox[0], ox[1]);
                }
                const hat hp = phi[t * kw + u];
                a[hp.j] += (1.0 - hp.t) * z;
                if (hp.t != 0.0f)
                    a[hp.j + 1] += hp.t * z;
            }
    }
    memset(out, 0, nx * sizeof *out);
    for (size_t c = 0; c < CHUNKS; c++)
        for (size_t j = 0; j < nx; j++)
            out[j] += op->acc[c * nx + j];
    return op->be->ops->host_sum && nx ? op->be->ops->host_sum(op->be, out, nx) : KERNEST_OK;
}

int kn_precond_mean(kn_backend *be, const kn_problem *pb, const kn_model *m, const double *mu, size_t rank,
                    kn_precond_host *h)
{
    const size_t nx = m->nx, n = pb->kh * pb->kw, np = pb->npairs;
    size_t k = rank < nx ? rank : nx, ylen = 0, rlen = 0;
    if (k == 0)
        return KERNEST_OK;
    mean_op op = {.be = be, .pb = pb, .nx = nx, .mu = mu,
                  .threads = be->threads > 0 ? be->threads : omp_get_max_threads()};
    for (size_t i = 0; i < np; i++) {
        ylen += (pb->pairs[i].hb + 1) * (pb->pairs[i].wb + 1);
        rlen += 2 * (pb->pairs[i].hb + pb->pairs[i].wb + pb->kh + pb->kw);
    }
    double *om = malloc(nx * k * sizeof *om), *y = malloc(nx * k * sizeof *y), *w = malloc(nx * k * sizeof *w);
    double *c = malloc(k * k * sizeof *c), *cinv = malloc(k * k * sizeof *cinv), *col = malloc(k * sizeof *col),
           *lamv = malloc(k * sizeof *lamv);
    size_t *range_buf = malloc((rlen ? rlen : 1) * sizeof *range_buf);
    hat *hats = malloc(n * sizeof *hats);
    op.PK = malloc((pb->kh + 1) * (pb->kw + 1) * sizeof *op.PK);
    op.Y = malloc((ylen ? ylen : 1) * sizeof *op.Y);
    op.PY = malloc((ylen ? ylen : 1) * sizeof *op.PY);
    op.ypos = malloc((np ? np : 1) * sizeof *op.ypos);
    op.g = malloc((np ? np : 1) * sizeof *op.g);
    op.acc = malloc(CHUNKS * nx * sizeof *op.acc);
    int st = KERNEST_OK;
    if (!om || !y || !w || !c || !cinv || !col || !lamv || !range_buf || !hats || !op.PK || !op.Y || !op.PY ||
        !op.ypos || !op.g || !op.acc) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the preconditioner's mean part");
        goto done;
    }
    if (!hats_of(&m->phi, hats)) /* not the radial model's form: the diagonal alone */
        goto done;
    op.phi = hats;
    size_t *rp = range_buf, yp = 0;
    for (size_t i = 0; i < np; i++) {
        const kn_pair *p = &pb->pairs[i];
        op.g[i] = (ranges){.ty = rp, .tx = rp + 2 * p->hb, .oy = rp + 2 * (p->hb + p->wb),
                           .ox = rp + 2 * (p->hb + p->wb + pb->kh)};
        rp += 2 * (p->hb + p->wb + pb->kh + pb->kw);
        fill_ranges(pb, p, &op.g[i]);
        op.ypos[i] = yp;
        yp += (p->hb + 1) * (p->wb + 1);
    }
    /* Ω: nx×k, orthonormal columns (one after the other) from a fixed-seed Gaussian; Y = S Ω */
    kn_rng r;
    kn_rng_seed(&r, MEAN_SEED);
    for (size_t j = 0; j < nx * k; j++)
        om[j] = kn_rng_normal(&r);
    for (size_t j = 0; j < k; j++)
        kn_dense_orthonormalise(om, nx, j);
    for (size_t j = 0; j < k; j++)
        if ((st = mean_apply(&op, om + j * nx, y + j * nx)))
            goto done;
    /* the stable Nyström sketch (Tropp et al. 2017, Algorithm 3): Y_ν = Y + νΩ, G = ΩᵀY_ν = L Lᵀ,
     * B = Y_ν L⁻ᵀ, B = U Σ Vᵀ, S ≈ U max(Σ² − ν, 0) Uᵀ */
    double yy = 0.0;
    for (size_t j = 0; j < nx * k; j++)
        yy += y[j] * y[j];
    double nu = sqrt((double)nx) * DBL_EPSILON * sqrt(yy);
    int ok = 0;
    for (int tries = 0; tries < 8 && !ok; tries++, nu *= 100.0) {
        for (size_t a1 = 0; a1 < k; a1++)
            for (size_t b1 = 0; b1 <= a1; b1++) {
                double g = 0.0;
                for (size_t i = 0; i < nx; i++)
                    g += 0.5 * (om[a1 * nx + i] * y[b1 * nx + i] + om[b1 * nx + i] * y[a1 * nx + i]);
                c[a1 * k + b1] = c[b1 * k + a1] = g + (a1 == b1 ? nu : 0.0);
            }
        ok = kn_dense_cholesky(c, k);
    }
    if (!ok) /* no sketch: the diagonal alone */
        goto done;
    nu /= 100.0;
    for (size_t i = 0; i < nx; i++) { /* B = Y_ν L⁻ᵀ, row by row: B_i Lᵀ = Y_ν,i (into w) */
        for (size_t j = 0; j < k; j++) {
            double v = y[j * nx + i] + nu * om[j * nx + i];
            for (size_t l = 0; l < j; l++)
                v -= w[l * nx + i] * c[j * k + l];
            w[j * nx + i] = v / c[j * k + j];
        }
    }
    for (size_t a1 = 0; a1 < k; a1++) /* BᵀB = V Σ² Vᵀ */
        for (size_t b1 = 0; b1 <= a1; b1++) {
            double g = 0.0;
            for (size_t i = 0; i < nx; i++)
                g += w[a1 * nx + i] * w[b1 * nx + i];
            cinv[a1 * k + b1] = cinv[b1 * k + a1] = g;
        }
    kn_dense_sym_eigen(cinv, k, col, c); /* col: Σ², c: V */
    /* keep the components with λ = σ² − ν above 10⁻⁶ of the diagonal's scale (smaller ones change
     * M by less than that): U = B V Σ⁻¹ into y, λ into lamv */
    double dmin = INFINITY;
    for (size_t i = 0; i < nx; i++)
        dmin = 1.0 / h->dinv[i] < dmin ? 1.0 / h->dinv[i] : dmin;
    size_t kk = 0;
    for (size_t j = 0; j < k; j++) {
        const double lam = col[j] - nu;
        if (!(lam > 1e-6 * dmin) || !(col[j] > 0))
            continue;
        const double inv_s = 1.0 / sqrt(col[j]);
        for (size_t i = 0; i < nx; i++) {
            double v = 0.0;
            for (size_t l = 0; l < k; l++)
                v += w[l * nx + i] * c[l * k + j];
            y[kk * nx + i] = v * inv_s;
        }
        lamv[kk++] = lam;
    }
    if (!kk)
        goto done;
    /* M⁻¹ = D⁻¹ − W (Λ⁻¹ + UᵀW)⁻¹ Wᵀ, W = D⁻¹U */
    for (size_t j = 0; j < kk; j++)
        for (size_t i = 0; i < nx; i++)
            w[j * nx + i] = h->dinv[i] * y[j * nx + i];
    for (size_t a1 = 0; a1 < kk; a1++)
        for (size_t b1 = 0; b1 <= a1; b1++) {
            double q = 0.0;
            for (size_t i = 0; i < nx; i++)
                q += y[a1 * nx + i] * w[b1 * nx + i];
            c[a1 * kk + b1] = c[b1 * kk + a1] = q + (a1 == b1 ? 1.0 / lamv[a1] : 0.0);
        }
    if (!kn_dense_cholesky(c, kk))
        goto done;
    kn_dense_cholesky_inverse(c, kk, cinv, col);
    h->k = kk;
    h->w = w;
    h->cinv = cinv;
    w = cinv = NULL;
done:
    free(om);
    free(y);
    free(w);
    free(c);
    free(cinv);
    free(col);
    free(lamv);
    free(range_buf);
    free(hats);
    free(op.PK);
    free(op.Y);
    free(op.PY);
    free(op.ypos);
    free(op.g);
    free(op.acc);
    return st;
}
