/* prox.h — internal: the proximal map FISTA applies (ℓ1 shrinkage, then projection onto the
 * constraint set: bounds, forced entries, fixed sum; with TV, all of them through FGP), on
 * backend vectors. */
#ifndef KN_PROX_H
#define KN_PROX_H

#include "backend/backend.h"

/* Host description of g(x) = l1 ‖x‖₁ + tv TV(x) + indicator of
 *   { x : x_i = fixv_i where keep_i = 0;  lo <= x_i <= hi;  (has_sum) Σ_{i in k} x_i = sum for
 *         each kernel k },
 * the n unknowns being nk kernels of n/nk one after the other (the kernels of a layer; one
 * without channels), and TV(x) = Σ_pixels sqrt((∂x K)² + (∂y K)²) with forward differences
 * inside each kernel, never from one kernel into the next. */
typedef struct kn_prox_spec {
    size_t n;
    double l1;            /* >= 0 */
    double lo, hi;        /* bounds on the free entries; -INFINITY / INFINITY when none */
    const double *keep;   /* n entries: 1 free, 0 forced (support or fixed); NULL: all free */
    const double *fixv;   /* n entries: value of each forced entry (0 for free ones); NULL: 0 */
    int has_sum;
    double sum;           /* each kernel's sum */
    double tv;            /* >= 0: weight of isotropic TV on each kh×kw kernel (pixel model only) */
    size_t kh, kw;        /* the kernel grid when tv > 0 (nk*kh*kw = n) */
    size_t nk;            /* kernels (n/nk unknowns each, nk divides n); 0 or 1: one */
} kn_prox_spec;

/* 1 when g is not identically 0 (FISTA is needed). */
int kn_prox_spec_active(const kn_prox_spec *s);
/* Backend vectors kn_prox_create allocates (each of n elements), for the memory estimate. */
size_t kn_prox_vectors(const kn_prox_spec *s);

typedef struct kn_prox kn_prox;

/* Uploads the masks once. Refuses (KERNEST_E_INVALID, naming the option) a spec whose set is
 * empty: lo > hi, a sum the free entries of a kernel cannot reach. The spec's arrays are copied. */
int kn_prox_create(kn_backend *be, const kn_prox_spec *s, kn_prox **out);
void kn_prox_destroy(kn_backend *be, kn_prox **p); /* NULL allowed; sets *p = NULL */
/* v = prox_{step·g}(v) = argmin_x ½‖x − v‖² + step·g(x). With a sum, x_i = clip(soft(v_i − τ_k,
 * step·l1)) on the free entries of kernel k, each kernel's shift τ_k found by safeguarded false
 * position so that its entries sum to sum (remembered in p: the next call searches near it);
 * kernel by kernel on parts of v (kn_vec_part), one search after another. With tv > 0 the map
 * is computed by FGP (prox_tv.h) with the rest of g in its primal step: exact up to the inner
 * tolerance, the dual variable warm-started from the previous call. */
int kn_prox_apply(kn_backend *be, kn_prox *p, double step, kn_vec *v);
/* The prox's memory between calls (each kernel's last shift τ_k, where the next search starts):
 * kept in checkpoints so that a resumed solve repeats the uninterrupted one's searches exactly.
 * tau holds kn_prox_shifts(p) values: one per kernel with a sum, else one (unused). */
size_t kn_prox_shifts(const kn_prox *p);
void kn_prox_get_memory(const kn_prox *p, double *tau, int *have_tau);
void kn_prox_set_memory(kn_prox *p, const double *tau, int have_tau);
/* The TV part of p (NULL when tv = 0), to tune its inner accuracy in tests. */
struct kn_tv *kn_prox_tv(kn_prox *p);
/* Relative accuracy of the maps that are computed iteratively (TV's inner FGP; the others are
 * exact and ignore it): the caller tightens it as its own iterates settle. */
void kn_prox_set_tolerance(kn_prox *p, double rel);

#endif
