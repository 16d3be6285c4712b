/* model_op.h — internal: kernel models K = Φ(c) and the composed operator H∘Φ the solvers see. */
#ifndef KN_MODEL_OP_H
#define KN_MODEL_OP_H

#include "backend/backend.h"
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

/* Builds the host side of the model for a kh×kw kernel (order: harmonic M >= 0, lowrank R >= 1;
 * ignored otherwise). lowrank gives the U half-step with V = 0 (the shape of a half-step, for
 * memory estimates; kn_lowrank_model sets the held factor). Free with kn_model_free. */
int kn_model_init(kn_model *m, kernest_model kind, int order, size_t kh, size_t kw);
/* The same for nk kernels of kh×kw (channels, nk = C_out*C_in), one after the other: each kernel
 * has its own unknowns (pixels, profile, coefficients, factors), x holding nk blocks of the
 * single-kernel layout; Φ and G are block-diagonal over the kernels. */
int kn_model_init_nk(kn_model *m, kernest_model kind, int order, size_t kh, size_t kw, size_t nk);
void kn_model_free(kn_model *m);
/* Bytes kn_model_backend allocates on a backend with elements of elem_size (0 for pixel). */
size_t kn_model_bytes(const kn_model *m, size_t elem_size);
/* Bytes kn_model_backend_bg adds for a background on pb's data space. */
size_t kn_background_bytes(const kn_problem *pb, size_t elem_size);
/* K = Φ(x) on the host (a copy for pixel; U_k V_kᵀ per kernel for lowrank side -1); K has
 * nk*kh*kw values, x has nx. */
void kn_model_kernel(const kn_model *m, const double *x, double *K);
/* The backend the solvers run on: be itself for pixel with nothing held; otherwise a new
 * backend sharing be's vectors whose op_apply is H∘Φ∘diag(keep), op_adjoint its adjoint and
 * reg_gram diag(keep)·G·diag(keep), G acting on the model's unknowns (pixel: be's LᵀL; radial:
 * ridge I, grad DᵀD of first differences along r). keep (nx entries, 1 free / 0 held; NULL:
 * none) lets CGLS solve over the free unknowns only. be must be set up (op_setup), implement
 * the prior operations when a wrapper is needed, and outlive *out; destroy *out with
 * kn_backend_destroy only when *out != be. */
int kn_model_backend(const kn_model *m, kn_backend *be, const double *keep, kn_backend **out);
/* kn_model_backend with a background: when bg (the problem be is set up for) is not NULL, the
 * operator becomes P∘H∘Φ∘diag(keep), P = I − E (EᵀE)⁻¹ Eᵀ, E (m × npairs) the indicator of each
 * pair's observed pixels. P removes each pair's mean: min over (x, β) of ½‖HΦx + Eβ − b‖² equals
 * min over x of ½‖P(HΦx − b)‖² with β = (EᵀE)⁻¹Eᵀ(b − HΦx) (variable projection), so solvers,
 * regularisers and constraints never see β. The caller projects b (kn_model_project). */
int kn_model_backend_bg(const kn_model *m, kn_backend *be, const double *keep, const kn_problem *bg,
                        kn_backend **out);
/* r = (P) H Φ x on a backend from kn_model_backend, ignoring keep (the operator the solver sees,
 * without the mask of held unknowns). */
int kn_model_forward(kn_backend *sbe, const kn_vec *x, kn_vec *r);
/* r = H Φ x: the prediction without the background projection. */
int kn_model_predict(kn_backend *sbe, const kn_vec *x, kn_vec *r);
/* v = P v on a data-space vector (nothing without a background). */
int kn_model_project(kn_backend *sbe, kn_vec *v);
/* The background offsets: one per (sample, output channel), β[i·cout + o] over the plane of
 * output o of pb's pair i: npairs·cout of them. */
size_t kn_background_count(const kn_problem *pb);
/* β_g = mean over group g's observed pixels of (b − hx) (host, data-space vectors). */
void kn_background_offsets(const kn_problem *pb, const double *b, const double *hx, double *beta);
/* hx += β_g at every observed pixel of group g. */
void kn_background_add(const kn_problem *pb, const double *beta, double *hx);

/* ---- radial pieces (model_radial.c) ---- */

/* Knots of the radial profile of a kh×kw kernel: ceil(distance to the farthest pixel) + 1. */
size_t kn_radial_knots(size_t kh, size_t kw);
/* Φ: pixel (y, x) at distance r from the centre gets (1−t) c[j] + t c[j+1], j = ⌊r⌋, t = r − j. */
int kn_radial_phi(size_t kh, size_t kw, kn_csr *phi);
/* 1 and *knot = r when pixel (y, x) lies at an integer distance r (it depends on that knot
 * alone); 0 otherwise. */
int kn_radial_knot(size_t kh, size_t kw, size_t y, size_t x, size_t *knot);
/* DᵀD of first differences on p knots (tridiagonal, no wrap). */
int kn_diff_gram_1d(size_t p, kn_csr *g);
/* Block-diagonal DᵀD: nblocks blocks of len[b] knots; anchored[b] != 0 adds the difference to an
 * implicit 0 before the first knot (a profile that vanishes at r = 0). */
int kn_diff_gram_blocks(size_t nblocks, const size_t *len, const int *anchored, kn_csr *g);

/* ---- harmonic pieces (model_harmonic.c) ---- */

/* Unknowns of harmonic:M on p radial knots: p + 2M(p−1). */
size_t kn_harmonic_unknowns(size_t p, int M);
/* The angular term of harmonic's grad prior on profile block b >= 1 (f_1, g_1, f_2, ... in the
 * layout below) at knot j >= 1: m² / j, m = ⌈b/2⌉ (the angular part of |∇K|²). G adds it on the
 * diagonal; the uncertainty's prior draw its square root. */
double kn_harmonic_angular(size_t b, size_t j);
/* Φ and G of harmonic:M (layout in kernest_report's comment: f_0 on knots 0..p−1, then f_1, g_1,
 * ..., f_M, g_M on knots 1..p−1). */
int kn_harmonic_phi(size_t kh, size_t kw, int M, kn_csr *phi, kn_csr *gram);

/* ---- low-rank pieces (lowrank.c) ---- */

/* The half-step model of K_k = U_k V_kᵀ for nk kernels (U_k: kh×R, V_k: kw×R, stored factor by
 * factor: u_r = U_k[r*kh ..]): side 0 solves for every U_k (x = U_0, U_1, ...) with the V_k held
 * (held = V_0, V_1, ..., R*kw values each; NULL: zeros), side 1 for the V_k with the U_k held. */
int kn_lowrank_model(kn_model *m, int side, int R, size_t kh, size_t kw, size_t nk, const double *held);
/* Side 2: K linearised at x (a lowrank fit's x, [U_k; V_k] per kernel): Φ z = U'_k V_kᵀ + U_k V'_kᵀ
 * per kernel, z laid out as x, so Φ x = 2K and Φ(x + δ) − Φ x is the first-order change of K;
 * G is DᵀD along each of the 2R factors of every kernel (as the half-steps'). */
int kn_lowrank_linear_model(kn_model *m, int R, size_t kh, size_t kw, size_t nk, const double *x);
/* K = U Vᵀ of one kh×kw kernel (U: R columns of kh values, V: R of kw). */
void kn_lowrank_kernel(const double *U, const double *V, int R, size_t kh, size_t kw, double *K);

#endif
