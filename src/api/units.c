/* units.c — the scaled units an estimate works in (units.h): the exponents, the scaled copies of
 * the data, the options in and the kernel and report out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/sysmem.h"
#include "units.h"

enum {
    NEAR_ONE = 8, /* data within 2^±8 of 1 are left as they are */
    K_SPAN = 16   /* K within 2^±16 of the data's ratio of 1 keeps the caller's units */
};

double kn_units_maxabs(const kernest_array *const *arr, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!arr[i])
            return NAN;
        for (size_t j = 0; j < arr[i]->size; j++) {
            const double v = fabs(arr[i]->data[j]);
            if (isinf(v))
                return NAN;
            if (v > m) /* NaN (a missing pixel of B) compares false */
                m = v;
        }
    }
    return m;
}

void kn_units_choose(double amax, double bmax, kn_units *u)
{
    *u = (kn_units){0, 0};
    if (!(amax > 0) || !(bmax > 0) || !isfinite(amax) || !isfinite(bmax))
        return;
    int ea, eb;
    (void)frexp(amax, &ea); /* amax in [2^(ea−1), 2^ea) */
    (void)frexp(bmax, &eb);
    if (abs(ea) <= NEAR_ONE && abs(eb) <= NEAR_ONE)
        return;
    if (abs(eb - ea) <= K_SPAN) {
        u->ea = u->eb = (int)floor(0.5 * (ea + eb));
        return;
    }
    u->ea = ea;
    u->eb = eb + ((eb - ea) % 2 != 0);
}

int kn_units_none(const kn_units *u)
{
    return u->ea == 0 && u->eb == 0;
}

void kn_units_free_arrays(kernest_array ***arr, size_t n)
{
    for (size_t i = 0; *arr && i < n; i++)
        kernest_array_destroy(&(*arr)[i]);
    free(*arr);
    *arr = NULL;
}

/* New arrays holding src[i] · 2^e */
static int scaled_copies(const kernest_array *const *src, size_t n, int e, kernest_array ***out)
{
    if (!(*out = calloc(n ? n : 1, sizeof **out)))
        return kn_error(KERNEST_E_NOMEM, "out of memory for the scaled data");
    for (size_t i = 0; i < n; i++) {
        int st = kernest_array_create(src[i]->ndim, src[i]->shape, &(*out)[i]);
        if (st)
            return st;
        for (size_t j = 0; j < src[i]->size; j++)
            (*out)[i]->data[j] = ldexp(src[i]->data[j], e);
    }
    return KERNEST_OK;
}

int kn_units_scale_arrays(const kn_units *u, const kernest_array *const *A, const kernest_array *const *B,
                          size_t npairs, kernest_array ***As, kernest_array ***Bs)
{
    *As = *Bs = NULL;
    size_t values = 0;
    for (size_t i = 0; i < npairs; i++)
        if (kn_add_size(values, A[i]->size, &values) || kn_add_size(values, B[i]->size, &values))
            values = SIZE_MAX;
    int st = kn_host_check("the data in scaled units (a copy of every A and B)", values, sizeof(double));
    if (!st && !(st = scaled_copies(A, npairs, -u->ea, As)))
        st = scaled_copies(B, npairs, -u->eb, Bs);
    if (st) {
        kn_units_free_arrays(As, npairs);
        kn_units_free_arrays(Bs, npairs);
    }
    return st;
}

/* *v · 2^e, refused when a finite value leaves double's range at the data's scale */
static int scale_value(double *v, int e, const char *option, const kn_units *u)
{
    const double x = *v;
    *v = ldexp(x, e);
    if (isfinite(x) && !isfinite(*v))
        return kn_error(KERNEST_E_INVALID, "%s: %g is out of double's range in the units of data whose "
                        "largest |A| is about 2^%d and |B| 2^%d", option, x, u->ea, u->eb);
    return KERNEST_OK;
}

/* The factor λ' / λ: the prior ½λ‖L x‖² is on K (·2^−2ea) or, for lowrank, on its factors, each
 * of which carries half of K's 2^(ea−eb) (·2^−(ea+eb)). The Lipschitz constant scales alike. */
static int lambda_exponent(const kn_units *u, kernest_model model)
{
    return model == KERNEST_MODEL_LOWRANK ? -(u->ea + u->eb) : -2 * u->ea;
}

int kn_units_options(const kn_units *u, const kernest_options *opt, kernest_options *out,
                     kernest_fixed_pixel **fixed)
{
    const int ek = u->ea - u->eb, ew = -(u->ea + u->eb);
    *out = *opt;
    *fixed = NULL;
    int st = scale_value(&out->lambda, lambda_exponent(u, opt->model), "--lambda", u);
    if (!st)
        st = scale_value(&out->l1, ew, "--reg l1", u);
    if (!st)
        st = scale_value(&out->tv, ew, "--reg tv", u);
    if (!st && opt->has_bounds && !(st = scale_value(&out->lower, ek, "--bounds", u)))
        st = scale_value(&out->upper, ek, "--bounds", u);
    if (!st && opt->has_sum)
        st = scale_value(&out->sum, ek, "--sum", u);
    if (!st)
        st = scale_value(&out->sigma, -u->eb, "--sigma", u);
    if (st || !opt->nfixed || !opt->fixed)
        return st;
    if (!(*fixed = malloc(opt->nfixed * sizeof **fixed)))
        return kn_error(KERNEST_E_NOMEM, "--fix: out of memory");
    memcpy(*fixed, opt->fixed, opt->nfixed * sizeof **fixed);
    for (size_t i = 0; i < opt->nfixed && !st; i++)
        st = scale_value(&(*fixed)[i].value, ek, "--fix", u);
    out->fixed = *fixed;
    return st;
}

static void scale_all(double *v, size_t n, int e)
{
    for (size_t i = 0; v && i < n; i++)
        v[i] = ldexp(v[i], e);
}

void kn_units_kernel(const kn_units *u, double *K, size_t n)
{
    scale_all(K, n, u->eb - u->ea);
}

void kn_units_report(const kn_units *u, kernest_select rule, kernest_report *rep)
{
    const int ek = u->eb - u->ea, eb2 = 2 * u->eb, ew = u->ea + u->eb;
    /* the rule's score: a mean squared error of B (cv, gcv) or a ratio (discrepancy, the
     * L-curve's curvature) */
    const int escore = rule == KERNEST_SELECT_CV || rule == KERNEST_SELECT_GCV ? eb2 : 0;
    const size_t nk = rep->channels_out * rep->channels_in;
    rep->lambda = ldexp(rep->lambda, -lambda_exponent(u, rep->model));
    rep->lipschitz = ldexp(rep->lipschitz, -lambda_exponent(u, rep->model));
    rep->l1 = ldexp(rep->l1, ew);
    rep->sigma = ldexp(rep->sigma, u->eb);
    for (size_t i = 0; rep->misfit && i < rep->npairs; i++) {
        rep->misfit[i].sse = ldexp(rep->misfit[i].sse, eb2);
        rep->misfit[i].rms = ldexp(rep->misfit[i].rms, u->eb);
    }
    scale_all(rep->background, rep->nbackground, u->eb);
    /* the model's unknowns: K's units, or half of them on each lowrank factor (ek is even) */
    scale_all(rep->profile, rep->nprofile, rep->model == KERNEST_MODEL_LOWRANK ? ek / 2 : ek);
    scale_all(rep->coverage, nk * rep->kh * rep->kw, u->ea);
    scale_all(rep->std, nk * rep->kh * rep->kw, ek);
    for (size_t i = 0; rep->candidates && i < rep->ncandidates; i++) {
        kernest_candidate *c = &rep->candidates[i];
        c->lambda = ldexp(c->lambda, -lambda_exponent(u, c->model));
        c->l1 = ldexp(c->l1, ew);
        c->score = ldexp(c->score, escore);
        c->score_se = ldexp(c->score_se, escore);
        c->held_score = ldexp(c->held_score, escore);
    }
    for (size_t i = 0; rep->path && i < rep->npath; i++) {
        kernest_path_point *p = &rep->path[i];
        const kernest_model model = p->candidate < rep->ncandidates ? rep->candidates[p->candidate].model : rep->model;
        const int el = -lambda_exponent(u, model);
        p->lambda = ldexp(p->lambda, el);
        p->l1 = ldexp(p->l1, ew);
        p->score = ldexp(p->score, escore);
        p->rss = ldexp(p->rss, eb2);
        if (rule == KERNEST_SELECT_LCURVE) /* ‖L x‖²: the prior term over λ's units */
            p->aux = ldexp(p->aux, eb2 - el);
    }
}
