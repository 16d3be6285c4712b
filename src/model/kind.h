/* kind.h — internal: a kernel model's host side (kn_model: Φ, G, the layout of the unknowns) and
 * the row each model kind fills in the kinds table (model.c). A new kind is one file with its
 * row (and its header) plus one line in that table. */
#ifndef KN_KIND_H
#define KN_KIND_H

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
                    pixel and lowrank side -1 */
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
} kn_model_kind;

#endif
