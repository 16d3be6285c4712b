/* model.h — the model layer's index: kernel models K = Φ(c) (model.c: the kinds table; radial.h,
 * pixel.h, harmonic.h, lowrank.h: the kinds) and the composed operator H∘Φ the solvers see, with the
 * background (compose.h). The square roots of their quadratic priors (priorcond.h), which use the
 * kinds table, are included on their own. */
#ifndef KN_MODEL_H
#define KN_MODEL_H

#include "compose.h"
#include "harmonic.h"
#include "kind.h"
#include "lowrank.h"
#include "pixel.h"
#include "radial.h"
#include "sparse.h"

/* The row of a model kind (pixel, radial, harmonic, lowrank), or NULL for an unknown one. */
const kn_model_kind *kn_model_kind_of(kernest_model id);

/* Builds the host side of the model for a kh×kw kernel (order: harmonic M >= 0, lowrank R >= 1;
 * ignored otherwise). lowrank gives the U half-step with V = 0 (the shape of a half-step, for
 * memory estimates; kn_lowrank_model sets the held factor). Free with kn_model_free. */
int kn_model_init(kn_model *m, kernest_model kind, int order, size_t kh, size_t kw);
/* The same for nk kernels of kh×kw (channels, nk = C_out*C_in), one after the other: each kernel
 * has its own unknowns (pixels, profile, coefficients, factors), x holding nk blocks of the
 * single-kernel layout; Φ and G are block-diagonal over the kernels. */
int kn_model_init_nk(kn_model *m, kernest_model kind, int order, size_t kh, size_t kw, size_t nk);
void kn_model_free(kn_model *m);
/* Bytes kn_model_backend_bg allocates on a backend with elements of elem_size (0 for pixel). */
size_t kn_model_bytes(const kn_model *m, size_t elem_size);
/* K = Φ(x) on the host (a copy for pixel; U_k V_kᵀ per kernel for lowrank side -1); K has
 * nk*kh*kw values, x has nx. */
void kn_model_kernel(const kn_model *m, const double *x, double *K);

#endif
