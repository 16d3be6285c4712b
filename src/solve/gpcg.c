/* gpcg.c — gradient projection conjugate gradients (Moré & Toraldo, "On the solution of large
 * quadratic programming problems with bound constraints", SIAM J. Optim. 1, 1991) for the
 * quadratic priors under bounds and held entries, written against the backend table.
 *
 * The objective q(x) = ½‖Hx − b‖² + ½λ⟨x, LᵀLx⟩ − ⟨g₀, x⟩ (+ l1·Σx: the ℓ1 norm where every
 * entry of Ω is >= 0) is minimised over the box Ω. Two phases alternate:
 *  - projected gradient steps x ← P(x − α∇q), α from the Cauchy step along the gradient's free
 *    part and halved until q falls enough (Armijo), while the set of entries at a bound still
 *    changes and the steps still pay (at most GP_MAX in a row): each may move many entries to
 *    or off their bounds at once;
 *  - conjugate gradients on the entries no bound holds (those strictly inside their bounds, and
 *    those at a bound the gradient pulls inwards: the complement of Bertsekas' binding set),
 *    the others held, until a step's decrease falls to ETA_CG of the best step's; then one
 *    projected search along the sum of the steps. Such runs follow one another; projected
 *    gradient steps come back only when a search finds no decrease.
 * Moré and Toraldo run the conjugate gradients on the strictly inside entries (the face) and go
 * back to gradient steps whenever a bound is pulled on; with the binding set instead the gradient
 * steps all but vanish and the solves took 1.2–1.9× fewer iterations (bench/results/
 * gpcg-trial.txt). A run is still called a face's.
 * On a face CG converges like CGLS, and the test is on the projected gradient, so the solve
 * ends at the minimiser to the tolerance (the problem is strictly convex for λ > 0), not where
 * small steps stall. Like CGLS's, a loose tolerance on an ill-conditioned problem (a tiny λ)
 * still stops nearer a warm start than a cold one (bench/results/gpcg-trial.txt).
 * Costs: a projected gradient step is 3 operator applications (H of its direction for the Cauchy
 * step, H of the point, Hᵀ for the next gradient) plus 1 per halving; a face step 2; a search
 * 0 when nothing is clipped (H of the point is the sum of the steps' H p) and 1 per point
 * otherwise; 1 more for the gradient after it. The sets live on the host: x and ∇q are
 * downloaded once per step that moves x (never inside a face run), the free entries' mask
 * uploaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "gpcg.h"

enum { GP_MAX = 5, SEARCH_MAX = 40, FLAT_WINDOW = 10, STALL_MAX = 10 };
#define ETA_GP 0.25 /* the gradient phase ends when a step gains less than this × its best step */
#define ETA_CG 0.1  /* a face run ends likewise (Moré & Toraldo's η₂) */
#define MU 1e-4     /* sufficient decrease of a projected search */

int kn_gpcg_handles(const kn_prox_spec *s)
{
    return (s->l1 == 0 || s->lo >= 0) && s->tv == 0 && !s->has_sum;
}

void kn_gpcg_vectors(kernest_reg reg, size_t *kernel_vecs, size_t *data_vecs)
{
    *kernel_vecs = reg == KERNEST_REG_NONE ? 8 : 9; /* g, d, p, r, w, xt, mask, ones (+ z = LᵀL ·) */
    *data_vecs = 5;                                 /* Hx, Hd, Hp, H xt, Hx − b */
}

typedef struct work {
    kn_backend *be;
    const kn_solve_params *prm;
    const kn_prox_spec *spec;
    kn_prox *proj;
    const kn_vec *b;
    int reg;
    double lam;
    double l1;                  /* the ℓ1 weight: l1·Σx on Ω, where every entry is >= 0 */
    kn_vec *g, *d, *p, *r, *w, *xt, *mask, *ones, *z;
    kn_vec *hx, *hd, *hp, *ht, *res;
    double *xh, *gh;            /* host copies of x and ∇q; then gh holds the mask's values */
    unsigned char *face;        /* 1: a free entry strictly inside its bounds, at the last step */
    /* the last classification */
    double pg;                  /* ‖P∇q‖ */
    size_t nfree;               /* entries no bound holds (the mask's ones) */
    size_t changed;             /* entries whose face membership changed since the last one */
} work;

/* *q and *fs = ‖Hx − b‖² + λ⟨x, LᵀLx⟩ at x (hx = Hx); res and z take Hx − b and LᵀLx */
static int value(work *w, const kn_vec *x, const kn_vec *hx, double *q, double *fs)
{
    const kn_backend_ops *o = w->be->ops;
    double rr = 0.0, xz = 0.0, sx = 0.0;
    int st;
    if ((st = o->vec_copy(w->be, w->res, hx)) || (st = o->vec_axpy(w->be, w->res, -1.0, w->b)) ||
        (st = kn_data_dot(w->be, w->res, w->res, &rr)))
        return st;
    if (w->reg && ((st = o->reg_gram(w->be, w->prm->reg, x, w->z)) || (st = o->vec_dot(w->be, x, w->z, &xz))))
        return st;
    if (w->prm->shift && (st = o->vec_dot(w->be, w->prm->shift, x, &sx)))
        return st;
    double sum = 0.0;
    if (w->l1 > 0 && (st = o->vec_dot(w->be, w->ones, x, &sum)))
        return st;
    *fs = rr + w->lam * xz;
    *q = 0.5 * *fs - sx + w->l1 * sum;
    return KERNEST_OK;
}

/* g = ∇q(x) = Hᵀ(Hx − b) + λLᵀLx − g₀ + l1·1, after value() at the same x (res, z hold its parts) */
static int gradient(work *w)
{
    const kn_backend_ops *o = w->be->ops;
    int st = o->op_adjoint(w->be, w->res, w->g);
    if (!st && w->reg)
        st = o->vec_axpy(w->be, w->g, w->lam, w->z);
    if (!st && w->prm->shift)
        st = o->vec_axpy(w->be, w->g, -1.0, w->prm->shift);
    if (!st && w->l1 > 0)
        st = o->vec_axpy(w->be, w->g, w->l1, w->ones);
    return st;
}

/* The sets at x from x and g on the host: pg, nfree, changed (against the last
 * classification's face, which this one replaces), and w->mask: the free entries no bound holds
 * (built in w->gh, uploaded) */
static int classify(work *w, const kn_vec *x)
{
    const kn_backend_ops *o = w->be->ops;
    const size_t n = x->n;
    const double lo = w->spec->lo, hi = w->spec->hi, *keep = w->spec->keep;
    int st;
    if ((st = o->vec_download(w->be, x, w->xh)) || (st = o->vec_download(w->be, w->g, w->gh)))
        return st;
    double pg2 = 0.0;
    w->nfree = w->changed = 0;
    for (size_t i = 0; i < n; i++) {
        const double xi = w->xh[i], gi = w->gh[i];
        const int held = keep && keep[i] == 0.0, at_lo = xi <= lo, at_hi = xi >= hi;
        const int face = !held && !at_lo && !at_hi;
        const int binding = !held && ((at_lo && gi >= 0) || (at_hi && gi <= 0));
        const double pgi = held ? 0.0 : face ? gi : at_lo ? fmin(gi, 0.0) : fmax(gi, 0.0);
        pg2 += pgi * pgi;
        w->nfree += (size_t)(!held && !binding);
        w->changed += (size_t)(face != w->face[i]);
        w->face[i] = (unsigned char)face;
        w->gh[i] = !held && !binding;
    }
    w->pg = sqrt(pg2);
    return o->vec_upload(w->be, w->mask, w->gh);
}

/* One point of a projected search: xt = P(x + a·dir) with H xt into ht (from hx + a·hdir when
 * hdir is given and nothing was clipped: no application), *qt and *fs there, *gd = ⟨g, xt − x⟩ */
static int search_point(work *w, const kn_vec *x, const kn_vec *hx, double a, const kn_vec *dir,
                        const kn_vec *hdir, double *qt, double *fs, double *gd)
{
    const kn_backend_ops *o = w->be->ops;
    kn_backend *be = w->be;
    double clipped = 1.0;
    int st;
    if ((st = o->vec_copy(be, w->xt, x)) || (st = o->vec_axpy(be, w->xt, a, dir)) ||
        (st = o->vec_copy(be, w->w, w->xt)) || (st = kn_prox_apply(be, w->proj, 1.0, w->xt)) ||
        (st = o->vec_axpy(be, w->w, -1.0, w->xt)) || (st = o->vec_nrm2(be, w->w, &clipped)))
        return st;
    if (hdir && clipped == 0.0) {
        if (!(st = o->vec_copy(be, w->ht, hx)))
            st = o->vec_axpy(be, w->ht, a, hdir);
    } else
        st = o->op_apply(be, w->xt, w->ht);
    if (st || (st = value(w, w->xt, w->ht, qt, fs)) || (st = o->vec_copy(be, w->w, w->xt)) ||
        (st = o->vec_axpy(be, w->w, -1.0, x)))
        return st;
    return o->vec_dot(be, w->g, w->w, gd);
}

/* A projected search from x along dir, from a step a (negative: against dir) halved until q
 * falls enough (Armijo): *ok, and xt, ht, *qt, *ft at the point found */
static int search(work *w, const kn_vec *x, const kn_vec *hx, double a, const kn_vec *dir, const kn_vec *hdir,
                  double qx, double *qt, double *ft, int *ok, kn_gpcg_info *info)
{
    *ok = 0;
    for (int s = 0; s <= SEARCH_MAX; s++, a *= 0.5) {
        double gd = 0.0;
        const int st = search_point(w, x, hx, a, dir, hdir, qt, ft, &gd);
        if (st || (*ok = *qt <= qx + MU * gd))
            return st;
        info->searches++;
    }
    return KERNEST_OK;
}

static void swap(kn_vec **a, kn_vec **b)
{
    kn_vec *t = *a;
    *a = *b;
    *b = t;
}

/* The search's point becomes the iterate (x and xt, Hx and H xt trade places), with its
 * gradient and sets */
static int accept(work *w, kn_vec **x, double qt, double ft, double *qx, double *fs)
{
    swap(x, &w->xt);
    swap(&w->hx, &w->ht);
    *qx = qt;
    *fs = ft;
    const int st = gradient(w);
    return st ? st : classify(w, *x);
}

/* The state at a step's end (the next step reads nothing else): x, Hx, the objective's last
 * FLAT_WINDOW values, the phase and the counters. The sets are not saved: they are classify's
 * at x, as the resume finds them again. */
typedef struct phase_state {
    int in_gp, gp_count; /* in the gradient phase; its steps so far */
    double best_dec, pg0; /* its best step's decrease; ‖P∇q‖ at the start */
    int stalled;         /* steps in a row that left the objective where it was and ‖P∇q‖
                            above 0.9 × its lowest (best_pg) */
    double best_pg;
} phase_state;

/* ps after a step that took q from q0 to q1 and left ‖P∇q‖ at pg */
static void note_progress(phase_state *ps, double q0, double q1, double pg, double eps)
{
    if (q0 - q1 > eps * fabs(q1) || pg < 0.9 * ps->best_pg)
        ps->stalled = 0;
    else
        ps->stalled++;
    ps->best_pg = fmin(ps->best_pg, pg);
}

/* the state at the end of iteration kb, the objective's values qh[kfirst..kb] known */
static int save_state(work *w, const kn_solve_result *res, int kb, const kn_vec *x, const kn_vec *hx,
                      const double *qh, int kfirst, const phase_state *ps, const kn_gpcg_info *info)
{
    kn_solver_state st = {.solver = KERNEST_SOLVER_GPCG};
    double qtail[FLAT_WINDOW];
    int e;
    for (int j = 0; j < FLAT_WINDOW; j++) {
        const int at = kb - (FLAT_WINDOW - 1 - j);
        qtail[j] = qh[at >= kfirst ? at : kfirst];
    }
    if ((e = kn_state_put_vec(w->be, &st, "x", x)) || (e = kn_state_put_vec(w->be, &st, "hx", hx)) ||
        (e = kn_state_put_values(&st, "qtail", qtail, FLAT_WINDOW)) ||
        (e = kn_state_put_history(&st, res->history, kb)))
        goto out;
    kn_state_put_scalar(&st, "in_gp", ps->in_gp);
    kn_state_put_scalar(&st, "gp_count", ps->gp_count);
    kn_state_put_scalar(&st, "best_dec", ps->best_dec);
    kn_state_put_scalar(&st, "pg0", ps->pg0);
    kn_state_put_scalar(&st, "stalled", ps->stalled);
    kn_state_put_scalar(&st, "best_pg", ps->best_pg);
    kn_state_put_scalar(&st, "gp_steps", info->gp_steps);
    kn_state_put_scalar(&st, "cg_steps", info->cg_steps);
    kn_state_put_scalar(&st, "faces", info->faces);
    kn_state_put_scalar(&st, "searches", info->searches);
    e = w->prm->hooks->save ? w->prm->hooks->save(w->prm->hooks->user, &st) : KERNEST_OK;
out:
    kn_state_free(&st);
    return e;
}

static int resume_state(work *w, const kn_solver_state *rs, kn_vec *x, kn_vec *hx, double *qtail,
                        phase_state *ps, kn_gpcg_info *info)
{
    double v[10];
    int e;
    if (!(e = kn_state_check(rs, KERNEST_SOLVER_GPCG, w->prm->maxiter)) && !(e = kn_state_get_vec(w->be, rs, "x", x)) &&
        !(e = kn_state_get_vec(w->be, rs, "hx", hx)) && !(e = kn_state_get_values(rs, "qtail", qtail, FLAT_WINDOW)) && !(e = kn_state_get_scalar(rs, "in_gp", &v[0])) &&
        !(e = kn_state_get_scalar(rs, "gp_count", &v[1])) && !(e = kn_state_get_scalar(rs, "best_dec", &v[2])) &&
        !(e = kn_state_get_scalar(rs, "pg0", &v[3])) && !(e = kn_state_get_scalar(rs, "gp_steps", &v[4])) &&
        !(e = kn_state_get_scalar(rs, "cg_steps", &v[5])) && !(e = kn_state_get_scalar(rs, "faces", &v[6])) &&
        !(e = kn_state_get_scalar(rs, "searches", &v[7])) && !(e = kn_state_get_scalar(rs, "stalled", &v[8])) &&
        !(e = kn_state_get_scalar(rs, "best_pg", &v[9]))) {
        *ps = (phase_state){(int)v[0], (int)v[1], v[2], v[3], (int)v[8], v[9]};
        *info = (kn_gpcg_info){(int)v[4], (int)v[5], (int)v[6], (int)v[7]};
    }
    return e;
}

/* 10ε of the working precision times ‖Hᵀb + g₀‖ (the gradient at 0 but for ℓ1's constant):
 * below it ‖P∇q‖ is rounding (kn_cgls's floor) */
static int precision_floor(work *w, double *out)
{
    const kn_backend_ops *o = w->be->ops;
    double nrm = 0.0;
    int st = o->op_adjoint(w->be, w->b, w->w);
    if (!st && w->prm->shift)
        st = o->vec_axpy(w->be, w->w, 1.0, w->prm->shift);
    if (!st)
        st = o->vec_nrm2(w->be, w->w, &nrm);
    *out = kn_precision_eps(w->be) * nrm;
    return st;
}

int kn_gpcg(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, const kn_prox_spec *spec,
            kn_prox *proj, kn_vec *x, kn_solve_result *res, kn_gpcg_info *info)
{
    const kn_backend_ops *o = be->ops;
    const size_t n = x->n;
    work w = {.be = be, .prm = prm, .spec = spec, .proj = proj, .b = b};
    w.reg = prm->reg != KERNEST_REG_NONE && prm->lambda > 0;
    w.lam = w.reg ? prm->lambda : 0.0;
    w.l1 = spec->l1;
    kn_vec *cur = x; /* the accepted iterate; swapped with w.xt, copied back into x at the end */
    double *qh = NULL, floor = 0.0, qx = 0.0, fs = 0.0;
    phase_state ps = {1, 0, 0.0, 0.0, 0, INFINITY};
    int st = 0, k0 = 0, kfirst = 0, pending_save = 0;
    const double eps = kn_precision_eps(be);
    *info = (kn_gpcg_info){0};
    res->reason = KERNEST_STOP_MAXITER;
    res->iterations = 0;
    res->history = malloc(((size_t)prm->maxiter + 1) * sizeof(double));
    qh = malloc(((size_t)prm->maxiter + 1) * sizeof *qh);
    w.xh = malloc((n ? n : 1) * sizeof *w.xh);
    w.gh = malloc((n ? n : 1) * sizeof *w.gh);
    w.face = calloc(n ? n : 1, 1);
    if (!res->history || !qh || !w.xh || !w.gh || !w.face) {
        st = kn_error(KERNEST_E_NOMEM, "solver: out of memory");
        goto done;
    }
    res->history[0] = 1.0;
    kn_vec **kv[] = {&w.g, &w.d, &w.p, &w.r, &w.w, &w.xt, &w.mask};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        TRY(o->vec_create(be, n, kv[i]));
    if (w.reg)
        TRY(o->vec_create(be, n, &w.z));
    if (w.l1 > 0) {
        TRY(o->vec_create(be, n, &w.ones));
        TRY(o->vec_fill(be, w.ones, 1.0));
    }
    kn_vec **dv[] = {&w.hx, &w.hd, &w.hp, &w.ht, &w.res};
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++)
        TRY(o->vec_create(be, b->n, dv[i]));
    if (prm->tol > 0)
        TRY(precision_floor(&w, &floor));
    const kn_solver_state *rs = prm->hooks ? prm->hooks->resume : NULL;
    double qtail[FLAT_WINDOW];
    if (rs) { /* the state after iteration k0's step, as the interrupted solve held it */
        TRY(resume_state(&w, rs, cur, w.hx, qtail, &ps, info));
        k0 = res->iterations = rs->iteration;
        memcpy(res->history, rs->history, ((size_t)k0 + 1) * sizeof *res->history);
        kfirst = k0 >= FLAT_WINDOW - 1 ? k0 - (FLAT_WINDOW - 1) : 0;
        for (int j = kfirst; j <= k0; j++)
            qh[j] = qtail[FLAT_WINDOW - 1 - (k0 - j)];
        TRY(value(&w, cur, w.hx, &qx, &fs));
        TRY(gradient(&w));
        TRY(classify(&w, cur)); /* the sets at x again (the phase was decided and saved) */
    } else {
        TRY(kn_prox_apply(be, proj, 1.0, cur)); /* start from a point of Ω */
        TRY(o->op_apply(be, cur, w.hx));
        TRY(value(&w, cur, w.hx, &qx, &fs));
        TRY(gradient(&w));
        TRY(classify(&w, cur));
        ps.pg0 = w.pg;
        qh[0] = qx;
    }
    const double t0 = kn_now();
    int k = k0;
    for (;;) {
        /* the tests at a step's end: x, its gradient and sets are current */
        if (!isfinite(qx) || !isfinite(w.pg)) {
            res->reason = KERNEST_STOP_NONFINITE;
            break;
        }
        if (prm->tol > 0) {
            const int span = k - kfirst < FLAT_WINDOW ? k - kfirst : FLAT_WINDOW;
            const double drop = span > 0 ? (qh[k - span] - qx) * FLAT_WINDOW / span : INFINITY;
            const int flat = !w.reg || drop <= 150.0 * prm->tol * fs;
            /* or STALL_MAX steps in a row moved neither the objective (at the working precision)
             * nor ‖P∇q‖ below 0.9 × its lowest: it is then at what the arithmetic resolves, which
             * may lie above the floor's estimate */
            if ((w.pg <= prm->tol * ps.pg0 && flat) || w.pg <= floor || ps.stalled >= STALL_MAX) {
                res->reason = KERNEST_STOP_CONVERGED;
                break;
            }
        }
        if (pending_save) {
            TRY(save_state(&w, res, k, cur, w.hx, qh, kfirst, &ps, info));
            pending_save = 0;
        }
        if (k >= prm->maxiter)
            break;
        int stop = 0;
        if (ps.in_gp || w.nfree == 0) {
            /* a projected gradient step: the Cauchy step along the free part of the gradient */
            double num = 0.0, den = 0.0, gz = 0.0, qt = 0.0, ft = 0.0;
            TRY(o->vec_copy(be, w.d, w.g));
            TRY(o->vec_mul(be, w.d, w.mask));
            TRY(o->op_apply(be, w.d, w.hp));
            TRY(o->vec_dot(be, w.d, w.d, &num));
            TRY(kn_data_dot(be, w.hp, w.hp, &den));
            if (w.reg) {
                TRY(o->reg_gram(be, prm->reg, w.d, w.z));
                TRY(o->vec_dot(be, w.d, w.z, &gz));
                den += w.lam * gz;
            }
            const double a = num > 0 && den > 0 && isfinite(num / den) ? num / den : 1.0;
            int ok = 0;
            TRY(search(&w, cur, w.hx, -a, w.g, NULL, qx, &qt, &ft, &ok, info));
            if (!ok) { /* no decrease along the projected gradient: x is where rounding leaves it */
                res->reason = KERNEST_STOP_BREAKDOWN;
                break;
            }
            const double dec = qx - qt;
            TRY(accept(&w, &cur, qt, ft, &qx, &fs));
            note_progress(&ps, qx + dec, qx, w.pg, eps);
            info->gp_steps++;
            k++;
            qh[k] = qx;
            res->history[k] = ps.pg0 > 0 ? w.pg / ps.pg0 : 0.0;
            res->iterations = k;
            ps.best_dec = fmax(ps.best_dec, dec);
            ps.gp_count++;
            if (w.changed == 0 || dec <= ETA_GP * ps.best_dec || ps.gp_count >= GP_MAX)
                ps = (phase_state){0, 0, 0.0, ps.pg0, ps.stalled, ps.best_pg};
            const int ask = kn_hooks_after(prm, k, res->history[k], kn_now() - t0);
            pending_save |= ask & KN_HOOK_SAVE;
            if ((stop = ask & KN_HOOK_STOP) && pending_save)
                TRY(save_state(&w, res, k, cur, w.hx, qh, kfirst, &ps, info));
        } else {
            /* conjugate gradients on the free entries, then a projected search along their sum */
            double rr = 0.0, best = 0.0;
            const int kb = k; /* the last step's end */
            TRY(o->vec_copy(be, w.r, w.g));
            TRY(o->vec_scale(be, w.r, -1.0));
            TRY(o->vec_mul(be, w.r, w.mask));
            TRY(o->vec_copy(be, w.p, w.r));
            TRY(o->vec_fill(be, w.d, 0.0));
            TRY(o->vec_fill(be, w.hd, 0.0));
            TRY(o->vec_dot(be, w.r, w.r, &rr));
            int steps = 0;
            while (k < prm->maxiter && rr > 0 && isfinite(rr)) {
                double pap = 0.0, pz = 0.0, rrn = 0.0;
                TRY(o->op_apply(be, w.p, w.hp));
                TRY(o->op_adjoint(be, w.hp, w.w));
                TRY(kn_data_dot(be, w.hp, w.hp, &pap));
                if (w.reg) {
                    TRY(o->reg_gram(be, prm->reg, w.p, w.z));
                    TRY(o->vec_dot(be, w.p, w.z, &pz));
                    TRY(o->vec_axpy(be, w.w, w.lam, w.z));
                    pap += w.lam * pz;
                }
                if (!(pap > 0) || !isfinite(pap))
                    break;
                TRY(o->vec_mul(be, w.w, w.mask));
                const double a = rr / pap, dec = 0.5 * a * rr;
                TRY(o->vec_axpy(be, w.d, a, w.p));
                TRY(o->vec_axpy(be, w.hd, a, w.hp));
                TRY(o->vec_axpy(be, w.r, -a, w.w));
                TRY(o->vec_dot(be, w.r, w.r, &rrn));
                info->cg_steps++;
                steps++;
                k++;
                qh[k] = qx; /* the objective's known values: a run's decrease counts at its search */
                res->history[k] = ps.pg0 > 0 ? sqrt(rrn) / ps.pg0 : 0.0;
                res->iterations = k;
                const int ask = kn_hooks_after(prm, k, res->history[k], kn_now() - t0);
                pending_save |= ask & KN_HOOK_SAVE;
                if ((stop = ask & KN_HOOK_STOP))
                    break;
                best = fmax(best, dec);
                TRY(o->vec_aypx(be, w.p, rrn / rr, w.r)); /* p = r + β p */
                rr = rrn;
                if (dec <= ETA_CG * best && steps > 1)
                    break;
                if (sqrt(rr) <= 0.1 * prm->tol * ps.pg0 || sqrt(rr) <= floor)
                    break; /* the face is solved past what the test asks */
            }
            if (stop) { /* x stays the last step's end, saved as such: a resume redoes this run */
                if (pending_save)
                    TRY(save_state(&w, res, kb, cur, w.hx, qh, kfirst, &ps, info));
                res->iterations = kb;
                res->reason = KERNEST_STOP_INTERRUPTED;
                break;
            }
            info->faces++;
            double qt = 0.0, ft = 0.0;
            const double q0 = qx;
            int ok = 0;
            if (steps > 0)
                TRY(search(&w, cur, w.hx, 1.0, w.d, w.hd, qx, &qt, &ft, &ok, info));
            if (ok)
                TRY(accept(&w, &cur, qt, ft, &qx, &fs));
            note_progress(&ps, q0, qx, w.pg, eps);
            qh[k] = qx;
            /* on to the next run, or gradient steps when the search found no decrease */
            ps.in_gp = !ok;
        }
        if (stop) {
            res->reason = KERNEST_STOP_INTERRUPTED;
            break;
        }
    }
done:
    if (!st && cur != x)
        st = o->vec_copy(be, x, cur);
    if (cur != x) /* w.xt holds the caller's x: free the solver's own vector, now in cur */
        w.xt = cur;
    kn_vec **all[] = {&w.g, &w.d, &w.p, &w.r, &w.w, &w.xt, &w.mask, &w.ones, &w.z, &w.hx, &w.hd, &w.hp, &w.ht, &w.res};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        o->vec_destroy(be, all[i]);
    free(qh);
    free(w.xh);
    free(w.gh);
    free(w.face);
    if (st) {
        free(res->history);
        res->history = NULL;
    }
    return st;
}
