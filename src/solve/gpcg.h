/* gpcg.h — internal: gradient projection conjugate gradients for the quadratic priors under
 * bounds and held entries (gpcg.c), written once against the backend table like kn_cgls. */
#ifndef KN_GPCG_H
#define KN_GPCG_H

#include "prox.h"
#include "solver.h"

typedef struct kn_gpcg_info {
    int gp_steps;  /* projected gradient steps (each one iteration) */
    int cg_steps;  /* conjugate gradient steps on a face (each one iteration) */
    int faces;     /* conjugate gradient runs, each on the face the iterate was on */
    int searches;  /* projected search points tried beyond the first of each step */
} kn_gpcg_info;

/* 1 when GPCG solves what spec asks exactly: bounds and held entries, no TV or sum, and ℓ1 only
 * where every entry is >= 0 (lo >= 0: there ‖x‖₁ = Σx, a linear term). */
int kn_gpcg_handles(const kn_prox_spec *spec);
/* Number of backend vectors of each space kn_gpcg allocates (for the memory estimate). */
void kn_gpcg_vectors(kernest_reg reg, size_t *kernel_vecs, size_t *data_vecs);

/* min ½‖H x − b‖² + ½λ‖L x‖² − ⟨g, x⟩ + l1·‖x‖₁ over Ω = { x : lo <= x_i <= hi where
 * spec->keep_i = 1, x_i = fixv_i elsewhere } (kn_gpcg_handles(spec); l1 = spec->l1), from x
 * projected onto Ω, updated in place; proj is kn_prox_create's map of spec without its ℓ1 (the
 * projection onto Ω). Stops when the projected
 * gradient ‖P∇‖ <= tol·‖P∇₀‖ and the objective has gone flat (the tests of kn_cgls), or once
 * ‖P∇‖ is down to the working precision's resolution; res->history holds ‖P∇‖/‖P∇₀‖ (on a face,
 * the face's residual). Not converging is a result. */
int kn_gpcg(kn_backend *be, const kn_vec *b, const kn_solve_params *prm, const kn_prox_spec *spec,
            kn_prox *proj, kn_vec *x, kn_solve_result *res, kn_gpcg_info *info);

#endif
