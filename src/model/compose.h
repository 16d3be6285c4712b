/* compose.h — internal: the operator the solvers see for a model, H∘Φ∘diag(keep) as a wrapped
 * backend, and the background offsets projected out of it (compose.c). */
#ifndef KN_COMPOSE_H
#define KN_COMPOSE_H

#include "backend/problem.h"
#include "backend/wrap.h"
#include "kind.h"

/* Bytes kn_model_backend_bg adds for a background on pb's data space. */
size_t kn_background_bytes(const kn_problem *pb, size_t elem_size);
/* The backend the solvers run on: be itself for pixel with nothing held; otherwise a new
 * backend sharing be's vectors whose op_apply is H∘Φ∘diag(keep), op_adjoint its adjoint and
 * reg_gram diag(keep)·G·diag(keep), G acting on the model's unknowns (pixel: be's LᵀL; radial:
 * ridge I, grad DᵀD of first differences along r). keep (nx entries, 1 free / 0 held; NULL:
 * none) lets CGLS solve over the free unknowns only. be must be set up (op_setup), implement
 * the prior operations when a wrapper is needed, and outlive *out; destroy *out with
 * kn_backend_destroy only when *out != be (a session keeps them: kn_session_operator).
 * With a background, when bg (the problem be is set up for) is not NULL, the operator becomes
 * P∘H∘Φ∘diag(keep), P = I − E (EᵀE)⁻¹ Eᵀ, E (m × npairs) the indicator of each pair's observed
 * pixels. P removes each pair's mean: min over (x, β) of ½‖HΦx + Eβ − b‖² equals
 * min over x of ½‖P(HΦx − b)‖² with β = (EᵀE)⁻¹Eᵀ(b − HΦx) (variable projection), so solvers,
 * regularisers and constraints never see β. The caller projects b (kn_model_project). */
int kn_model_backend_bg(const kn_model *m, kn_backend *be, const double *keep, const kn_problem *bg,
                        kn_backend **out);
/* Gives sbe (from kn_model_backend_bg) m's values when it was built for a model of m's shape
 * (kind, order, side, sizes: Φ's and G's patterns, kind.h) with the same keep and bg, over be or,
 * without a background, over another view of be's backend (a cross-validation fold's masked
 * wrapper: the same impl), in which case sbe wraps be from now on. Φ's, Φᵀ's and G's values are
 * replaced in place (sparse_values), nothing else is built or uploaded, and *reused = 1.
 * Otherwise sbe is left as it was and *reused = 0 (also for sbe == be, which holds nothing of a
 * model). On a failure sbe may hold some of the new values: destroy it. */
int kn_model_backend_refill(kn_backend *sbe, const kn_model *m, kn_backend *be, const double *keep,
                            const kn_problem *bg, int *reused);
/* r = (P) H Φ x on a backend from kn_model_backend_bg, ignoring keep (the operator the solver sees,
 * without the mask of held unknowns). */
int kn_model_forward(kn_backend *sbe, const kn_vec *x, kn_vec *r);
/* r = H Φ x: the prediction without the background projection. */
int kn_model_predict(kn_backend *sbe, const kn_vec *x, kn_vec *r);
/* v = P v on a data-space vector (nothing without a background). */
int kn_model_project(kn_backend *sbe, kn_vec *v);
/* The background offsets: one per (sample, output channel), β[i·cout + o] over the plane of
 * output o of pb's pair i: npairs·cout of them; with pb->shared_offsets (--bias) one per output
 * channel over every sample, β[o]: cout of them. */
size_t kn_background_count(const kn_problem *pb);
/* β_g = mean over group g's observed pixels of (b − hx) (host, data-space vectors); fails only
 * when out of memory. */
int kn_background_offsets(const kn_problem *pb, const double *b, const double *hx, double *beta);
/* hx += β_g at every observed pixel of group g. */
void kn_background_add(const kn_problem *pb, const double *beta, double *hx);

#endif
