/* lowrank.c — the low-rank model K = Σ_r u_r v_rᵀ: the linear half-steps (U with V held, V with U
 * held) and the linearisation at [U; V] as sparse Φ (the ALS that alternates them over a session
 * is fit/lowrank_als.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "lowrank.h"
#include "radial.h"

/*
 * One kernel, side 0: K[y, x] = Σ_r U[r*kh + y] V[r*kw + x]: row y*kw + x has column r*kh + y
 * with value V[r*kw + x], r = 0..R−1 (ascending columns). Side 1 swaps the roles: column
 * r*kw + x, value U[r*kh + y].
 */
static int half_phi(int side, int R, size_t kh, size_t kw, const double *held, kn_csr *phi)
{
    const size_t n = kh * kw;
    int st = kn_csr_alloc(phi, n, (size_t)R * (side == 0 ? kh : kw), n * (size_t)R);
    if (st)
        return st;
    size_t e = 0;
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++) {
            for (int r = 0; r < R; r++) {
                const size_t rr = (size_t)r;
                phi->col[e] = side == 0 ? rr * kh + y : rr * kw + x;
                phi->val[e++] = !held ? 0.0 : side == 0 ? held[rr * kw + x] : held[rr * kh + y];
            }
            phi->row_ptr[y * kw + x + 1] = e;
        }
    return KERNEST_OK;
}

/* One kernel's linearisation at x = [U; V]: row y*kw + c has the U columns r*kh + y (value
 * V[r*kw + c]) and then the V columns R*kh + r*kw + c (value U[r*kh + y]), ascending. */
static int linear_phi(int R, size_t kh, size_t kw, const double *x, kn_csr *phi)
{
    const size_t n = kh * kw, rr = (size_t)R;
    const double *U = x, *V = x + rr * kh;
    int st = kn_csr_alloc(phi, n, rr * (kh + kw), 2 * n * rr);
    if (st)
        return st;
    size_t e = 0;
    for (size_t y = 0; y < kh; y++)
        for (size_t c = 0; c < kw; c++) {
            for (size_t r = 0; r < rr; r++) {
                phi->col[e] = r * kh + y;
                phi->val[e++] = V[r * kw + c];
            }
            for (size_t r = 0; r < rr; r++) {
                phi->col[e] = rr * kh + r * kw + c;
                phi->val[e++] = U[r * kh + y];
            }
            phi->row_ptr[y * kw + c + 1] = e;
        }
    return KERNEST_OK;
}

/* A lowrank model's Φ and G from m's header (side, order R, kh, kw, nk): kernel k's Φ block is
 * the half-step's with its held factor (side 0, 1; src + k·R·kw or k·R·kh, NULL: zeros) or the
 * linearisation at its [U_k; V_k] (side 2; src + k·R·(kh + kw)), Φ block-diagonal over the kernels;
 * G is DᵀD along each factor the unknowns hold (R of them, 2R for side 2), for every kernel. */
static int assemble(kn_model *m, const double *src)
{
    const size_t R = (size_t)m->order, nk = m->nk, kh = m->kh, kw = m->kw;
    const size_t stride = R * (m->side == 0 ? kw : m->side == 1 ? kh : kh + kw), nb = m->side == 2 ? 2 * R : R;
    int st = KERNEST_OK;
    kn_csr *blk = nk == 1 ? &m->phi : calloc(nk, sizeof *blk); /* one kernel: its block is Φ */
    const kn_csr **ptr = malloc(nk * sizeof *ptr);
    size_t *lens = malloc(nb * sizeof *lens);
    int *anch = calloc(nb, sizeof *anch);
    if (!blk || !ptr || !lens || !anch)
        st = kn_error(KERNEST_E_NOMEM, "--model lowrank: out of memory");
    for (size_t k = 0; !st && k < nk; k++) {
        const double *sk = src ? src + k * stride : NULL;
        ptr[k] = &blk[k];
        st = m->side == 2 ? linear_phi(m->order, kh, kw, sk, &blk[k]) : half_phi(m->side, m->order, kh, kw, sk, &blk[k]);
    }
    if (!st && nk > 1)
        st = kn_csr_block_diag(ptr, nk, &m->phi);
    for (size_t b = 0; !st && b < nb; b++) /* U's factors (kh values), V's (kw) */
        lens[b] = m->side == 0 || (m->side == 2 && b < R) ? kh : kw;
    if (!st && !(st = kn_diff_gram_blocks(nb, lens, anch, &m->gram)))
        st = kn_csr_repeat_diag(&m->gram, nk);
    for (size_t k = 0; nk > 1 && blk && k < nk; k++)
        kn_csr_free(&blk[k]);
    if (nk > 1)
        free(blk);
    free(ptr);
    free(lens);
    free(anch);
    if (st) {
        kn_csr_free(&m->phi);
        kn_csr_free(&m->gram);
    }
    return st;
}

/* Φ block-diagonal over the kernels, kernel k's block with its own held factor; G is DᵀD along
 * each factor (R blocks per kernel). */
int kn_lowrank_model(kn_model *m, int side, int R, size_t kh, size_t kw, size_t nk, const double *held)
{
    /* nx bounded: R <= KERNEST_MODEL_MAX_ORDER times the nk kernels' rows or columns */
    *m = (kn_model){.kind = KERNEST_MODEL_LOWRANK, .order = R, .side = side, .kh = kh, .kw = kw, .nk = nk,
                    .nx = nk * (size_t)R * (side == 0 ? kh : kw)};
    return assemble(m, held);
}

int kn_lowrank_linear_model(kn_model *m, int R, size_t kh, size_t kw, size_t nk, const double *x)
{
    *m = (kn_model){.kind = KERNEST_MODEL_LOWRANK, .order = R, .side = 2, .kh = kh, .kw = kw, .nk = nk,
                    .nx = nk * (size_t)R * (kh + kw)};
    return assemble(m, x);
}

void kn_lowrank_kernel(const double *U, const double *V, int R, size_t kh, size_t kw, double *K)
{
    for (size_t y = 0; y < kh; y++)
        for (size_t c = 0; c < kw; c++) {
            double s = 0.0;
            for (int r = 0; r < R; r++)
                s += U[(size_t)r * kh + y] * V[(size_t)r * kw + c];
            K[y * kw + c] = s;
        }
}

/* --nonneg makes both factors >= 0 (so K >= 0) and box:HxW is separable (rows of U, columns of
 * V); nothing else maps onto the factors */
static int lowrank_refuse(const kernest_options *opt)
{
    int st = kn_kind_refuse_pixel_priors(opt, "lowrank", "the factors u_r, v_r");
    if (st)
        return st;
    if (opt->support != KERNEST_SUPPORT_NONE && opt->support != KERNEST_SUPPORT_BOX)
        return kn_error(KERNEST_E_INVALID, "--support: only box:HxW with --model lowrank (a disk or a mask is "
                        "not separable)");
    if (opt->nfixed)
        return kn_error(KERNEST_E_INVALID, "--fix: not available with --model lowrank");
    return KERNEST_OK;
}

/* lowrank box:HxW: keep the rows of U (side 0) or the columns of V (side 1) inside the box, or
 * both (side 2: R U factors, then R V factors); the first kernel's unknowns */
static int lowrank_box(const kernest_options *opt, const kn_model *m, double *keep)
{
    const size_t h = opt->support_h, w = opt->support_w, kh = m->kh, kw = m->kw;
    if (!h || !w || h > kh || w > kw)
        return kn_error(KERNEST_E_INVALID, "--support box:%zux%zu: must be non-empty and fit in the "
                        "%zux%zu kernel", h, w, kh, kw);
    const size_t nu = m->side == 2 ? (size_t)m->order * kh : 0;
    for (size_t i = 0; i < kn_model_per_kernel(m); i++) {
        const int rows = m->side == 0 || (m->side == 2 && i < nu);
        const size_t len = rows ? kh : kw, ext = rows ? h : w, first = (len - 1) / 2 - (ext - 1) / 2;
        const size_t k = (i < nu ? i : i - nu) % len;
        keep[i] = k >= first && k < first + ext;
    }
    return KERNEST_OK;
}

/* the linearisation (side 2), per kernel: R factors of kh, R of kw; the half-steps have none */
static int lowrank_draw(const kn_model *m, kn_rng *rng, double *g)
{
    if (m->side != 2)
        return 1;
    const size_t nk = m->nk ? m->nk : 1, per = kn_model_per_kernel(m), R = (size_t)m->order;
    for (size_t c = 0; c < nk; c++)
        for (size_t b = 0; b < 2 * R; b++)
            kn_diff_draw(g + c * per + (b < R ? b * m->kh : R * m->kh + (b - R) * m->kw), b < R ? m->kh : m->kw,
                         0, rng);
    return 0;
}

/* the larger half-step, V = 0: what a solve allocates at most (memory estimates) */
static int lowrank_init(kn_model *m, int order)
{
    if (order < 1)
        return kn_error(KERNEST_E_INVALID, "--model lowrank:R: R must be >= 1, got %d", order);
    return kn_lowrank_model(m, m->kh >= m->kw ? 0 : 1, order, m->kh, m->kw, m->nk, NULL);
}

/* side -1: kernel k's [U_k; V_k] one after the other (kn_lowrank_solve); a half-step: Φ x */
static void lowrank_kernel(const kn_model *m, const double *x, double *K)
{
    if (m->side >= 0) {
        kn_csr_apply(&m->phi, x, K);
        return;
    }
    const size_t kh = m->kh, kw = m->kw, R = (size_t)m->order, nk = m->nk ? m->nk : 1;
    for (size_t k = 0; k < nk; k++) {
        const double *U = x + k * R * (kh + kw);
        kn_lowrank_kernel(U, U + R * kh, m->order, kh, kw, K + k * kh * kw);
    }
}

const kn_model_kind kn_kind_lowrank = {
    .id = KERNEST_MODEL_LOWRANK,
    .option = "--model lowrank",
    .init = lowrank_init,
    .per_kernel = 0,
    .kernel = lowrank_kernel,
    .refuse = lowrank_refuse,
    .support = lowrank_box,
    .grad_draw = lowrank_draw,
}; /* --fix: refused (lowrank_refuse) */
