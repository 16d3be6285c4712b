/* fista_metric.c — FISTA's rank-one metric M = L(I + δ v vᵀ): its step and its proximal map. */
#include <math.h>

#include "fista_metric.h"
#include "solver.h"

enum { SEARCH_MAX = 100 };

int kn_metric_step(kn_backend *be, const kn_metric *m, double L, const kn_vec *y, const kn_vec *g,
                   double gv, kn_vec *x)
{
    const kn_backend_ops *o = be->ops;
    int st;
    if ((st = o->vec_copy(be, x, y)) || (st = o->vec_axpy(be, x, -1.0 / L, g)))
        return st;
    if (m->v && gv != 0.0)
        return o->vec_axpy(be, x, m->delta / (1.0 + m->delta) * gv / L, m->v);
    return KERNEST_OK;
}

double kn_metric_norm(const kn_metric *m, double dd, double dv)
{
    return sqrt(fmax(dd + (2.0 + m->delta) * m->delta * dv * dv, 0.0));
}

/* x = prox_{h/L}(w − δ s v); *f = F(s) = vᵀx − vw − s */
static int evaluate(kn_backend *be, kn_metric *m, kn_prox *prox, double L, const kn_vec *w, double vw,
                    double s, kn_vec *x, double *f)
{
    const kn_backend_ops *o = be->ops;
    double vx;
    int st;
    if ((st = o->vec_copy(be, x, w)) || (st = o->vec_axpy(be, x, -m->delta * s, m->v)) ||
        (st = kn_prox_apply(be, prox, 1.0 / L, x)) || (st = o->vec_dot(be, m->v, x, &vx)))
        return st;
    m->searches++;
    *f = vx - vw - s;
    return KERNEST_OK;
}

/*
 * F decreases with slope in [−1 − δ, −1], so from s₀ with F(s₀) = f₀ the root lies between
 * a = s₀ + f₀/(1 + δ) and b = s₀ + f₀. False position with the Illinois halving then closes on it;
 * F is piecewise linear (the map clips and shrinks), so it lands on the root's piece within a few
 * evaluations. It stops when F is at the working precision's resolution relative to vᵀw and s
 * (F is not computed more finely than that; x is then off by |F| over the share of v on the
 * entries no bound holds, at most δ|F|), or when the bracket closes to that resolution. x holds
 * the last evaluation, whose s is kept for the next call. (Requiring (1 + δ)|F| at the resolution
 * instead took 15.7 evaluations an iteration on bench/results/fista-metric.txt's problem, against
 * 8.9, for the same iterations and estimate.)
 */
static int settled(double eps, double vw, double s, double f)
{
    return f == 0.0 || fabs(f) <= eps * (fabs(vw) + fabs(s));
}

int kn_metric_prox(kn_backend *be, kn_metric *m, kn_prox *prox, double L, kn_vec *x, kn_vec *scratch)
{
    const kn_backend_ops *o = be->ops;
    if (!prox)
        return KERNEST_OK;
    if (!m->v)
        return kn_prox_apply(be, prox, 1.0 / L, x);
    const double eps = kn_precision_eps(be);
    const kn_vec *w = scratch;
    double vw, f0, fa, fb;
    int st;
    if ((st = o->vec_copy(be, scratch, x)) || (st = o->vec_dot(be, m->v, w, &vw)))
        return st;
    const double s0 = isfinite(m->s) ? m->s : 0.0;
    if ((st = evaluate(be, m, prox, L, w, vw, s0, x, &f0)))
        return st;
    m->s = s0;
    if (settled(eps, vw, s0, f0))
        return KERNEST_OK;
    double a = s0 + f0 / (1.0 + m->delta), b = s0 + f0;
    if ((st = evaluate(be, m, prox, L, w, vw, a, x, &fa)))
        return st;
    m->s = a;
    if (settled(eps, vw, a, fa))
        return KERNEST_OK;
    if ((st = evaluate(be, m, prox, L, w, vw, b, x, &fb)))
        return st;
    m->s = b;
    if (settled(eps, vw, b, fb))
        return KERNEST_OK;
    int kept = 0; /* the end the last step kept (−1: a, 1: b): Illinois halves its value */
    for (int it = 0; it < SEARCH_MAX && (fa > 0) != (fb > 0) && fabs(b - a) > eps * (fabs(a) + fabs(b)); it++) {
        const double c = b - fb * (b - a) / (fb - fa);
        double fc;
        if ((st = evaluate(be, m, prox, L, w, vw, c, x, &fc)))
            return st;
        m->s = c;
        if (settled(eps, vw, c, fc))
            break;
        if ((fc > 0) == (fa > 0)) { /* the root lies between c and b */
            a = c, fa = fc;
            if (kept == 1)
                fb *= 0.5;
            kept = 1;
        } else {
            b = c, fb = fc;
            if (kept == -1)
                fa *= 0.5;
            kept = -1;
        }
    }
    return KERNEST_OK;
}
