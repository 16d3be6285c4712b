/* model_op.h — internal: kernel models K = Φ(c) and the composed operator H∘Φ the solvers see. */
#ifndef KN_MODEL_OP_H
#define KN_MODEL_OP_H

#include "backend.h"
#include "sparse.h"

typedef struct kn_model {
    kernest_model kind;
    size_t kh, kw;
    size_t nx;  /* unknowns the solvers work on: nk*kh*kw (pixel) or the profile's knots (radial) */
    kn_csr phi; /* radial: Φ on the host, kh*kw × nx; empty for pixel */
    size_t nk;  /* kernels (C_out*C_in; 1 without channels), each kh×kw, one after the other */
} kn_model;

/* Builds the host side of the model for a kh×kw kernel. Free with kn_model_free. */
int kn_model_init(kn_model *m, kernest_model kind, size_t kh, size_t kw);
/* The same for nk kernels of kh×kw (channels, nk = C_out*C_in); radial takes nk = 1 only. */
int kn_model_init_nk(kn_model *m, kernest_model kind, size_t kh, size_t kw, size_t nk);
void kn_model_free(kn_model *m);
/* Bytes kn_model_backend allocates on a backend with elements of elem_size (0 for pixel). */
size_t kn_model_bytes(const kn_model *m, size_t elem_size);
/* K = Φ(x) on the host (a copy for pixel); K has kh*kw values, x has nx. */
void kn_model_kernel(const kn_model *m, const double *x, double *K);
/* The backend the solvers run on: be itself for pixel with nothing held; otherwise a new
 * backend sharing be's vectors whose op_apply is H∘Φ∘diag(keep), op_adjoint its adjoint and
 * reg_gram diag(keep)·G·diag(keep), G acting on the model's unknowns (pixel: be's LᵀL; radial:
 * ridge I, grad DᵀD of first differences along r). keep (nx entries, 1 free / 0 held; NULL:
 * none) lets CGLS solve over the free unknowns only. be must be set up (op_setup), implement
 * the prior operations when a wrapper is needed, and outlive *out; destroy *out with
 * kn_backend_destroy only when *out != be. */
int kn_model_backend(const kn_model *m, kn_backend *be, const double *keep, kn_backend **out);
/* r = H Φ x on a backend from kn_model_backend, ignoring keep (the full forward model). */
int kn_model_forward(kn_backend *sbe, const kn_vec *x, kn_vec *r);

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

#endif
