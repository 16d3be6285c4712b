/* prox.c — FISTA's proximal map on backend vectors: ℓ1 shrinkage and the projection onto bounds,
 * forced entries (support, fixed pixels) and a fixed sum per kernel. Masks are uploaded once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "prox.h"
#include "prox_tv.h"

struct kn_prox {
    size_t n, nk, len; /* nk kernels of len = n/nk entries, one after the other */
    double l1, lo, hi;
    int bounded;       /* lo or hi finite */
    int masked;        /* some entries are forced: v = keep ⊙ v + fixv at the end */
    int has_sum;
    size_t *nfree;     /* sum: the free entries of each kernel */
    double *free_sum;  /* sum: what each kernel's free entries must reach: sum − Σ its fixv */
    kn_vec *keep;      /* 1 free / 0 forced; all ones when only the sum needs it */
    kn_vec *fixv;      /* values of forced entries; NULL when they are all 0 */
    kn_vec *tmp;       /* sum: the candidate x(τ) */
    double *tau;       /* sum: each kernel's last shift; FISTA's successive calls move it little */
    int have_tau;
    double tv;         /* TV weight; 0: no TV */
    kn_tv *tvw;        /* FGP work (tv > 0) */
    int simple;        /* the rest of g (ℓ1, bounds, masks, sum) is not identically 0 */
};

/* The sum's search on kernel k: parts of p's vectors and of v (kn_vec_part), its targets. */
typedef struct kernel_sum {
    kn_vec v, keep, tmp;
    size_t nfree;
    double free_sum;
    double *tau;
} kernel_sum;

static kernel_sum kernel_part(const kn_backend *be, kn_prox *p, kn_vec *v, size_t k)
{
    kernel_sum ks = {kn_vec_part(be, v, k * p->len, p->len), kn_vec_part(be, p->keep, k * p->len, p->len),
                     kn_vec_part(be, p->tmp, k * p->len, p->len), p->nfree[k], p->free_sum[k], &p->tau[k]};
    return ks;
}

int kn_prox_spec_active(const kn_prox_spec *s)
{
    return s->l1 > 0 || s->lo > -INFINITY || s->hi < INFINITY || s->keep || s->has_sum || s->tv > 0;
}

size_t kn_prox_vectors(const kn_prox_spec *s)
{
    return (s->keep || s->has_sum) + (s->fixv != NULL) + (s->has_sum != 0) + (s->tv > 0 ? KN_TV_VECTORS : 0);
}

void kn_prox_destroy(kn_backend *be, kn_prox **p)
{
    if (!p || !*p)
        return;
    be->ops->vec_destroy(be, &(*p)->keep);
    be->ops->vec_destroy(be, &(*p)->fixv);
    be->ops->vec_destroy(be, &(*p)->tmp);
    kn_tv_destroy(be, &(*p)->tvw);
    free((*p)->nfree);
    free((*p)->free_sum);
    free((*p)->tau);
    free(*p);
    *p = NULL;
}

/* Each kernel's free entries and the sum they must reach; refuses a sum they cannot reach. */
static int sum_targets(const kn_prox_spec *s, size_t nk, size_t len, size_t *nfree, double *free_sum)
{
    for (size_t k = 0; k < nk; k++) {
        const size_t first = k * len;
        size_t nf = len;
        double fixsum = 0.0;
        for (size_t i = first; s->keep && i < first + len; i++)
            if (s->keep[i] == 0.0) {
                nf--;
                fixsum += s->fixv ? s->fixv[i] : 0.0;
            }
        const double target = s->sum - fixsum;
        nfree[k] = nf;
        free_sum[k] = target;
        if (!s->has_sum)
            continue;
        char which[64] = "";
        if (nk > 1)
            snprintf(which, sizeof which, " in kernel %zu of %zu", k, nk);
        double lo_sum = (double)nf * s->lo, hi_sum = (double)nf * s->hi;
        if (nf == 0 && fabs(target) > 1e-12 * (fabs(s->sum) + fabs(fixsum)))
            return kn_error(KERNEST_E_INVALID, "--sum: no pixel is free%s (support, --fix) and the forced "
                            "ones sum to %g, not %g", which, fixsum, s->sum);
        if (nf > 0 && !(lo_sum <= target && target <= hi_sum))
            return kn_error(KERNEST_E_INVALID, "--sum: %g cannot be reached%s: the %zu free pixels sum to "
                            "between %g and %g under the bounds (plus %g fixed)", s->sum, which, nf,
                            lo_sum, hi_sum, fixsum);
    }
    return KERNEST_OK;
}

int kn_prox_create(kn_backend *be, const kn_prox_spec *s, kn_prox **out)
{
    const kn_backend_ops *o = be->ops;
    if (!(s->lo <= s->hi))
        return kn_error(KERNEST_E_INVALID, "--bounds: lower bound %g is above upper bound %g", s->lo, s->hi);
    const size_t nk = s->nk > 1 ? s->nk : 1;
    if (s->n % nk)
        return kn_error(KERNEST_E_INVALID, "constraints: %zu unknowns do not split into %zu kernels", s->n, nk);
    kn_prox *p = calloc(1, sizeof *p);
    if (!p)
        return kn_error(KERNEST_E_NOMEM, "out of memory for the constraints");
    p->n = s->n;
    p->nk = nk;
    p->len = s->n / nk;
    p->nfree = malloc(nk * sizeof *p->nfree);
    p->free_sum = malloc(nk * sizeof *p->free_sum);
    p->tau = calloc(nk, sizeof *p->tau);
    int st = KERNEST_OK;
    if (!p->nfree || !p->free_sum || !p->tau) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the constraints");
        goto fail;
    }
    if ((st = sum_targets(s, nk, p->len, p->nfree, p->free_sum)))
        goto fail;
    p->l1 = s->l1;
    p->lo = s->lo;
    p->hi = s->hi;
    p->bounded = s->lo > -INFINITY || s->hi < INFINITY;
    p->masked = s->keep != NULL;
    p->has_sum = s->has_sum;
    if (s->keep || s->has_sum) {
        if ((st = o->vec_create(be, s->n, &p->keep)) ||
            (st = s->keep ? o->vec_upload(be, p->keep, s->keep) : o->vec_fill(be, p->keep, 1.0)))
            goto fail;
    }
    if (s->fixv && ((st = o->vec_create(be, s->n, &p->fixv)) || (st = o->vec_upload(be, p->fixv, s->fixv))))
        goto fail;
    if (s->has_sum && (st = o->vec_create(be, s->n, &p->tmp)))
        goto fail;
    p->tv = s->tv;
    p->simple = s->l1 > 0 || p->bounded || p->masked || p->has_sum;
    if (s->tv > 0 && (st = kn_tv_create(be, nk, s->kh, s->kw, &p->tvw)))
        goto fail;
    *out = p;
    return KERNEST_OK;
fail:
    kn_prox_destroy(be, &p);
    return st;
}

/* tmp = clip(soft(v − τ·keep, t)) on kernel ks; *free_sum = Σ over its free entries of tmp */
static int candidate(kn_backend *be, const kn_prox *p, kernel_sum *ks, double tau, double t, double *free_sum)
{
    const kn_backend_ops *o = be->ops;
    int st;
    if ((st = o->vec_copy(be, &ks->tmp, &ks->v)) || (st = o->vec_axpy(be, &ks->tmp, -tau, &ks->keep)) ||
        (t > 0 && (st = o->vec_soft(be, &ks->tmp, t))) ||
        (p->bounded && (st = o->vec_clip(be, &ks->tmp, p->lo, p->hi))))
        return st;
    return o->vec_dot(be, &ks->tmp, &ks->keep, free_sum);
}

/* Brackets the root around the kernel's previous shift, widening 8-fold until f changes sign
 * (never beyond [−B, B], where it always does). */
static int bracket_near(kn_backend *be, const kn_prox *p, kernel_sum *ks, double t, double B,
                        double *ta, double *fa, double *tb, double *fb)
{
    const double prev = *ks->tau;
    double d = 1e-3 * fmax(fabs(prev), 1e-9 * B);
    if (!(d > 0))
        d = B; /* tau = 0 with a subnormal B: the step underflowed to 0 and would never grow */
    int st;
    *ta = fmax(prev - d, -B);
    *tb = fmin(prev + d, B);
    if ((st = candidate(be, p, ks, *ta, t, fa)) || (st = candidate(be, p, ks, *tb, t, fb)))
        return st;
    *fa -= ks->free_sum;
    *fb -= ks->free_sum;
    while (*fa < 0 && *ta > -B && !st) { /* the root lies left of ta */
        *tb = *ta, *fb = *fa, d *= 8;
        *ta = fmax(prev - d, -B);
        if (!(st = candidate(be, p, ks, *ta, t, fa)))
            *fa -= ks->free_sum;
    }
    while (*fb > 0 && *tb < B && !st) { /* right of tb */
        *ta = *tb, *fa = *fb, d *= 8;
        *tb = fmin(prev + d, B);
        if (!(st = candidate(be, p, ks, *tb, t, fb)))
            *fb -= ks->free_sum;
    }
    return st;
}

/*
 * On kernel ks: Σ_free clip(soft(v_i − τ, t)) is continuous, piecewise linear and non-increasing
 * in τ; at τ = ∓B (B = ‖v‖ + |target|/nfree + t + |finite bounds|) every free entry sits at its
 * upper / lower limit, so [−B, B] brackets the root (a cold search starts there, a warm one near
 * the previous shift). False position with the Illinois modification keeps the bracket and
 * converges superlinearly on such functions. *found = 1 when a shift was found (0: v is not
 * finite, and is filled with NaN so that the solver stops).
 */
static int shift_to_sum(kn_backend *be, const kn_prox *p, kernel_sum *ks, double t, int warm, int *found)
{
    const kn_backend_ops *o = be->ops;
    const double eps = be->precision == KERNEST_SINGLE ? 1e-6 : 1e-14;
    double vn, fa, fb, f = 0.0;
    int st = o->vec_nrm2(be, &ks->v, &vn);
    if (st)
        return st;
    const double B = vn + fabs(ks->free_sum) / (double)ks->nfree + t +
                     (isfinite(p->lo) ? fabs(p->lo) : 0.0) + (isfinite(p->hi) ? fabs(p->hi) : 0.0);
    const double tolf = eps * (fabs(ks->free_sum) + vn * sqrt((double)ks->nfree));
    double ta = -B, tb = B, tau = 0.0;
    if (warm && isfinite(B))
        st = bracket_near(be, p, ks, t, B, &ta, &fa, &tb, &fb);
    else if (!(st = candidate(be, p, ks, ta, t, &fa)) && !(st = candidate(be, p, ks, tb, t, &fb))) {
        fa -= ks->free_sum;
        fb -= ks->free_sum;
    }
    if (st)
        return st;
    if (!isfinite(fa) || !isfinite(fb))
        return o->vec_fill(be, &ks->v, NAN); /* the solver sees the non-finite iterate and stops */
    int side = 0;
    for (int it = 0; it < 200; it++) {
        tau = fa - fb > 0 ? ta + fa * (tb - ta) / (fa - fb) : 0.5 * (ta + tb);
        if (!(tau > ta && tau < tb))
            tau = 0.5 * (ta + tb);
        if ((st = candidate(be, p, ks, tau, t, &f)))
            return st;
        f -= ks->free_sum;
        if (fabs(f) <= tolf)
            break;
        if (f > 0) {
            ta = tau, fa = f;
            if (side > 0)
                fb *= 0.5;
            side = 1;
        } else {
            tb = tau, fb = f;
            if (side < 0)
                fa *= 0.5;
            side = -1;
        }
        if (tb - ta <= eps * (fabs(ta) + fabs(tb)))
            break;
    }
    *ks->tau = tau;
    *found = 1;
    return o->vec_copy(be, &ks->v, &ks->tmp);
}

/* Each kernel with free entries onto its sum (kernels without any are set by the masks). */
static int project_sums(kn_backend *be, kn_prox *p, kn_vec *v, double t)
{
    const kn_backend_ops *o = be->ops;
    const int warm = p->have_tau;
    int st = KERNEST_OK, found = 0;
    for (size_t k = 0; k < p->nk && !st; k++) {
        kernel_sum ks = kernel_part(be, p, v, k);
        if (ks.nfree == 0)
            continue;
        if (!p->bounded && t == 0) {
            /* a hyperplane: one shift of the free entries */
            double s;
            if (!(st = o->vec_dot(be, &ks.v, &ks.keep, &s)))
                st = o->vec_axpy(be, &ks.v, -(s - ks.free_sum) / (double)ks.nfree, &ks.keep);
        } else
            st = shift_to_sum(be, p, &ks, t, warm, &found);
    }
    if (found)
        p->have_tau = 1;
    return st;
}

/* v = prox of step·(l1‖·‖₁ + the constraints' indicator) */
static int prox_simple(kn_backend *be, kn_prox *p, double step, kn_vec *v)
{
    const kn_backend_ops *o = be->ops;
    const double t = step * p->l1;
    int st = KERNEST_OK;
    if (p->has_sum) {
        if ((st = project_sums(be, p, v, t)))
            return st;
    } else {
        if ((t > 0 && (st = o->vec_soft(be, v, t))) ||
            (p->bounded && (st = o->vec_clip(be, v, p->lo, p->hi))))
            return st;
    }
    if (p->masked) {
        if ((st = o->vec_mul(be, v, p->keep)) || (p->fixv && (st = o->vec_axpy(be, v, 1.0, p->fixv))))
            return st;
    }
    return KERNEST_OK;
}

size_t kn_prox_shifts(const kn_prox *p)
{
    return p->has_sum ? p->nk : 1;
}

void kn_prox_get_memory(const kn_prox *p, double *tau, int *have_tau)
{
    for (size_t k = 0; k < kn_prox_shifts(p); k++)
        tau[k] = p->tau[k];
    *have_tau = p->have_tau;
}

void kn_prox_set_memory(kn_prox *p, const double *tau, int have_tau)
{
    for (size_t k = 0; k < kn_prox_shifts(p); k++)
        p->tau[k] = tau[k];
    p->have_tau = have_tau != 0;
}

static int prox_simple_cb(kn_backend *be, void *ctx, double step, kn_vec *v)
{
    return prox_simple(be, ctx, step, v);
}

int kn_prox_apply(kn_backend *be, kn_prox *p, double step, kn_vec *v)
{
    if (p->tvw)
        return kn_tv_prox(be, p->tvw, step * p->tv, step, p->simple ? prox_simple_cb : NULL, p, v);
    return prox_simple(be, p, step, v);
}

struct kn_tv *kn_prox_tv(kn_prox *p)
{
    return p->tvw;
}

void kn_prox_set_tolerance(kn_prox *p, double rel)
{
    if (p->tvw)
        kn_tv_set_accuracy(p->tvw, rel, KN_TV_MAXIT);
}
