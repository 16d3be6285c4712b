/* prox_tv.h — internal: the proximal map of isotropic total variation plus a simple term g, by the
 * fast gradient projection (FGP) on the dual, on backend vectors (runs on every backend). */
#ifndef KN_PROX_TV_H
#define KN_PROX_TV_H

#include "backend/backend.h"
#include "solver_state.h"

/* Backend vectors of n elements a kn_tv holds (its 2n dual vectors count twice). */
#define KN_TV_VECTORS 9

/* Inner accuracy by default: stop when the duality gap bounds ‖x − prox(v)‖ by KN_TV_TOL ‖x‖, at
 * most KN_TV_MAXIT iterations (FISTA tightens the tolerance as it converges:
 * kn_prox_set_tolerance). */
#define KN_TV_TOL 1e-4
#define KN_TV_MAXIT 100

typedef struct kn_tv kn_tv;

/* The simple term g of the prox: v = prox_{step·g}(v) (ℓ1, constraints; see prox.h). */
typedef int (*kn_tv_inner)(kn_backend *be, void *ctx, double step, kn_vec *v);

/* Work vectors for nimg kh×kw grids stacked one after the other (the kernels of a layer; TV is
 * the sum of each one's, no difference crossing from one into the next); the dual variable
 * starts at 0 and is kept between calls (warm start). *out is freed with kn_tv_destroy. */
int kn_tv_create(kn_backend *be, size_t nimg, size_t kh, size_t kw, kn_tv **out);
void kn_tv_destroy(kn_backend *be, kn_tv **tv); /* NULL allowed; sets *tv = NULL */
/* Inner accuracy (tol > 0, maxit >= 1); the defaults are KN_TV_TOL, KN_TV_MAXIT. */
void kn_tv_set_accuracy(kn_tv *tv, double tol, int maxit);
/* FGP iterations the last kn_tv_prox ran (0: the warm start met the tolerance). */
int kn_tv_last_iterations(const kn_tv *tv);

/*
 * v = argmin_x ½‖x − v‖² + tau·TV(x) + step·g(x), TV(x) = Σ_pixels ‖(D x)_pixel‖₂ (D inside each
 * of the nimg kernels), with g's prox
 * given by inner (NULL: g = 0). The dual of this strongly convex problem is
 *   max_{‖u_i‖ <= tau}  min_x ½‖x − v‖² + step·g(x) + ⟨u, D x⟩,
 * whose inner minimiser is x(u) = prox_{step·g}(v − Dᵀu) and whose gradient D x(u) is
 * ‖D‖²-Lipschitz (‖D‖² < 8, prox maps are 1-Lipschitz): FGP runs accelerated projected gradient
 * ascent on u with step 1/8 and returns x(u). This is exact for any convex g with a prox (Beck &
 * Teboulle 2009 do it for a constraint set), not the 1-D-only "TV prox, then soft-threshold".
 */
int kn_tv_prox(kn_backend *be, kn_tv *tv, double tau, double step, kn_tv_inner inner, void *ctx,
               kn_vec *v);

/* The dual state kept between calls (u and the radius it is scaled to) into a solver state as
 * "tv_u" and "tv_tau", and back: a checkpoint holds it, so that a resumed solve continues bit
 * for bit. restore refuses (KERNEST_E_INVALID, "--resume: ...") a state without them. */
int kn_tv_save(kn_backend *be, const kn_tv *tv, kn_solver_state *st);
int kn_tv_restore(kn_backend *be, kn_tv *tv, const kn_solver_state *st);

#endif
