/* kind.h — internal: a kernel model's host side (kn_model: Φ, G, the layout of the unknowns) and
 * the row each model kind fills in the kinds table (model.c). A new kind is one file with its
 * row (and its header) plus one line in that table. */
#ifndef KN_KIND_H
#define KN_KIND_H

#include "base/rng.h"
#include "kernest.h"
#include "sparse.h"

typedef struct kn_model {
    kernest_model kind;
    int order;   /* harmonic: M; lowrank: R; 0 otherwise */
    int side;    /* lowrank: 0 = the U half-step (V held inside Φ), 1 = the V half-step,
                    -1 = both factors (x = [U; V], not linear: no Φ; kn_model_kernel only),
                    2 = the linearisation at a point [Û; V̂]: Φ z = U' V̂ᵀ + Û V'ᵀ, z = [U'; V'] */
    size_t kh, kw;
    size_t nx;   /* unknowns the solvers work on, nk blocks of: kh*kw (pixel), knots (radial),
                    coefficients (harmonic), one factor (lowrank half-step), [U; V] (side -1) */
    kn_csr phi;  /* Φ on the host, nk*kh*kw × nx (block-diagonal over the kernels); empty for
                    pixel and lowrank side -1. Its pattern (and G's) is a function of the header
                    (kind, order, side, kh, kw, nk) alone, zeros stored: only values vary (the
                    held factor), so an operator built for one model takes another's values
                    (kn_model_backend_refill) */
    kn_csr gram; /* G of reg grad on the unknowns: DᵀD of first differences along r per profile
                    (radial, harmonic; harmonic adds m²/r on its angular profiles) or along each
                    factor (lowrank); empty when phi is */
    size_t nk;   /* kernels (C_out*C_in; 1 without channels), each kh×kw, one after the other */
} kn_model;

/* One model kind: what kn_model_init_nk does for it. */
typedef struct kn_model_kind {
    kernest_model id;
    const char *option; /* "--model radial" (messages) */
    /* Fills m->phi and m->gram, and m->order when the kind has one (m->kind, kh, kw, nk set).
     * per_kernel: init builds one kernel's Φ and G, which kn_model_init_nk repeats
     * block-diagonally over the nk kernels; 0: init builds all nk. NULL: the identity (pixel:
     * x is K). */
    int (*init)(kn_model *m, int order);
    int per_kernel;
    /* K = Φ(x) when Φ does not say it (lowrank's factors, side -1); NULL: K = Φ x */
    void (*kernel)(const kn_model *m, const double *x, double *K);
    /* ---- what the priors mean on the kind's unknowns (fit/constraints.c asks) ---- */
    /* refuses the options its unknowns cannot take (KERNEST_E_INVALID naming the option); NULL:
     * it takes every one */
    int (*refuse)(const kernest_options *opt);
    /* --support on the first kernel's unknowns: keep[i] = 0 for those held at 0 (keep holds 1s) */
    int (*support)(const kernest_options *opt, const kn_model *m, double *keep);
    /* --fix p at kernel pixel (y, x): the unknown it pins into *i (which holds y·kw + x, the
     * pixel, on entry); refuses a pixel no single unknown reaches. NULL: the pixel itself. */
    int (*fixed_unknown)(const kn_model *m, const kernest_fixed_pixel *p, size_t y, size_t x, size_t *i);
    const char *fixed_what; /* what one fixed unknown is, in messages ("pixel" when NULL) */
    /* g (nx values, zeroed) += Lᵀη, η standard normal, L a square root of the grad prior's Gram
     * matrix on these unknowns: a prior draw of the uncertainty's samples. Returns 0, or 1 when
     * this model's unknowns have none (lowrank's half-steps). NULL: none. */
    int (*grad_draw)(const kn_model *m, kn_rng *rng, double *g);
} kn_model_kind;

/* The unknowns of one kernel: the first nx/nk (the other kernels' blocks follow). */
static inline size_t kn_model_per_kernel(const kn_model *m)
{
    return m->nx / (m->nk ? m->nk : 1);
}

/* The refusals every kind whose unknowns are not pixels shares: --bounds (not a bound on what),
 * --sum and --reg l1 (model.c). */
int kn_kind_refuse_pixel_priors(const kernest_options *opt, const char *name, const char *what);

/* g += Dᵀη for the first differences of len values at g (η standard normal), plus the
 * difference from an implicit 0 before the first value when anchored (as kn_diff_gram_blocks;
 * radial.c). */
void kn_diff_draw(double *g, size_t len, int anchored, kn_rng *rng);

/* --support disk:R on a profile (radial, harmonic): every profile held at 0 on knots r > R
 * (radial.c). */
int kn_profile_disk(const kernest_options *opt, const kn_model *m, double *keep);

#endif
