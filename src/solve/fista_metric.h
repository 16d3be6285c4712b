/* fista_metric.h — internal: FISTA's rank-one metric (fista_metric.c). When one eigenvalue of the
 * normal equations' Gram matrix stands far above the rest, a step of 1/L moves every other
 * direction by a tiny fraction of what it could. That is what the mean of A does where every
 * output sees the whole kernel (the automatic choice's central window, --mode valid): the kernel's
 * sum is seen at μ² × the outputs, and on a 127² kernel from a 256² A of density 0.5 FISTA took
 * 1 788 iterations where 45 suffice in the metric (bench/results/fista-metric.txt). The step runs
 * in the metric M = L(I + δ v vᵀ), v the leading eigenvector (unit norm), L the Lipschitz
 * constant of the rest and L(1 + δ) the leading eigenvalue's: FISTA in the variable M^{1/2} x,
 * whose proximal map is still one scalar search on the Euclidean one (Becker & Fadili 2012). */
#ifndef KN_FISTA_METRIC_H
#define KN_FISTA_METRIC_H

#include "prox.h"

/* The metric is used when λ₁/λ₂ of the Gram matrix is at least this: below it the plain step
 * loses at most √10 in FISTA's rate, and every FISTA solve of a problem without such a gap stays
 * exactly what it was. */
#define KN_METRIC_RATIO 10.0

typedef struct kn_metric {
    kn_vec *v;    /* the leading eigenvector, unit norm; NULL: the plain metric L·I */
    double delta; /* M = L(I + δ v vᵀ), δ = λ₁/λ₂ − 1 (0 when plain) */
    double s;     /* the last proximal map's scalar vᵀ(x − w), where the next search starts */
    int searches; /* evaluations of the Euclidean proximal map, all calls together */
} kn_metric;

/* x = y − M⁻¹g = y − (g − δ/(1+δ) (vᵀg) v)/L, given gv = vᵀg (ignored when plain). */
int kn_metric_step(kn_backend *be, const kn_metric *m, double L, const kn_vec *y, const kn_vec *g,
                   double gv, kn_vec *x);

/* x = argmin_u ½‖u − x‖²_M + h(u), h = prox's g (NULL: h = 0, x unchanged):
 * x = prox_{h/L}(w − δ s v) at the root s of F(s) = vᵀprox_{h/L}(w − δ s v) − vᵀw − s, which
 * falls with a slope between −1 − δ and −1 (the proximal map is monotone), found by false position
 * (Illinois) inside the bracket that the slope gives from the last call's s. w (x on entry) is
 * kept in scratch. The Euclidean map when m is plain. Not for TV, whose map is computed
 * inexactly. */
int kn_metric_prox(kn_backend *be, kn_metric *m, kn_prox *prox, double L, kn_vec *x, kn_vec *scratch);

/* ⟨a, M b⟩/L given ab = ⟨a, b⟩, av = vᵀa, bv = vᵀb */
static inline double kn_metric_inner(const kn_metric *m, double ab, double av, double bv)
{
    return ab + m->delta * av * bv;
}

/* ‖M d‖/L given dd = ‖d‖², dv = vᵀd */
double kn_metric_norm(const kn_metric *m, double dd, double dv);

#endif
