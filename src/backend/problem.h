/* problem.h — internal: the pairs, shapes, crop windows and FFT grid of one estimation problem. */
#ifndef KN_PROBLEM_H
#define KN_PROBLEM_H

#include "kernest.h"

/* One sample (A_s, B_s): a pair of 2-D arrays, or one sample of a pair of 3-D/4-D arrays.
 * Arrays are borrowed from the caller. */
typedef struct kn_pair {
    const double *A;   /* cin planes of ha×wa, row-major, finite */
    size_t ha, wa;
    const double *B;   /* cout planes of hb×wb, row-major; NaN marks a missing pixel; NULL when
                          only convolving */
    size_t hb, wb;     /* observed window shape, from the mode (and the stride) */
    size_t row0, col0; /* where the observed window starts in the full convolution; pixel (y, x)
                          of B is the full result's (row0 + y·sh, col0 + x·sw) */
    size_t offset;     /* start of this sample's segment in data-space vectors: cout windows of
                          hb×wb, output channel o at offset + o*hb*wb */
    size_t len;        /* cout*hb*wb: length of that segment */
    size_t nobs;       /* observed (non-NaN) pixels of B; len when B is NULL */
    size_t src;        /* index of the caller's pair (A[src], B[src]) the sample comes from */
} kn_pair;

/* Everything a backend needs to set up the operator H: K (cout×kin×kh×kw) -> data (m values),
 * r[s,o] = mask ⊙ stride(crop(Σ_i A[s, g·kin + i] ⊛ dilate(K[o,i]))), g = o / (cout/groups)
 * (kernest_geometry says it in full). */
typedef struct kn_problem {
    size_t npairs;
    kn_pair *pairs;         /* npairs entries (owned): the samples */
    kernest_mode mode;
    size_t kh, kw;          /* shape of each kernel */
    size_t n;               /* cout*kin*kh*kw unknowns */
    size_t m;               /* Σ len: length of data-space vectors (samples concatenated) */
    size_t grid_h, grid_w;  /* FFT grid: alias-free on every pair's window (kn_alias_free_size);
                               2,3,5,7-smooth; grid_w even so the r2c half spectrum has
                               grid_w/2+1 columns */
    int has_mask;           /* 1 when any B has a NaN */
    size_t cin, cout;       /* channels (1, 1 for 2-D pairs) */
    int shared_offsets;     /* offsets (when fitted): 0 one per sample and output channel
                               (--background), 1 one per output channel over every sample (--bias,
                               a layer's bias); set by whoever opens the problem */
    int channels;           /* 1 when some array has a channel axis: K is written 4-D */
    /* a layer's geometry (all 1 unless asked for): */
    size_t sh, sw;          /* stride: B reads every sh-th row and sw-th column of the window */
    size_t dh, dw;          /* dilation: tap (y, x) of a kernel acts at offset (y·dh, x·dw) */
    size_t groups;          /* channel groups: cin and cout split into this many */
    size_t kin;             /* cin/groups: the input channels of each kernel */
} kn_problem;

/* The kernels of pb: cout·kin blocks of kh×kw, kernel (o, i) the (o·kin + i)-th. */
size_t kn_problem_kernels(const kn_problem *pb);
/* The input channel (of A) that input i of output channel o's kernel reads. */
size_t kn_problem_channel(const kn_problem *pb, size_t o, size_t i);
/* A's geometry as kernest_geometry (for problems derived from pb). */
kernest_geometry kn_problem_geometry(const kn_problem *pb);

/* kernest_output_shape for a layer of geometry g (NULL: plain): the mode's window of the full
 * convolution with the dilated kh×kw kernel, then read every stride-th row and column. */
int kn_layer_window(kernest_mode mode, size_t ha, size_t wa, size_t kh, size_t kw,
                    const kernest_geometry *g, size_t *hb, size_t *wb, size_t *row0, size_t *col0);

/* Validates shapes and values and fills pb. A[i] must be 2-D and finite; B may be NULL (then
 * only the forward model is available) or B[i] 2-D of the mode's output shape. kh, kw of 0
 * mean the default kernel (same: 2Ha-1 × 2Wa-1 of the first pair; full/valid: refused).
 * names (may be NULL) holds 2*npairs file names used in error messages. */
int kn_problem_init(kn_problem *pb, const kernest_array *const *A, const kernest_array *const *B,
                    size_t npairs, kernest_mode mode, size_t kh, size_t kw,
                    const char *const *names);
/* The same with channels: A[i], B[i] 2-D, 3-D or 4-D read with layout, each pair giving one or
 * more samples (pairs[] holds the samples). cout_noB is C_out when B is NULL (from the kernel).
 * Mismatched channel or sample counts fail with KERNEST_E_SHAPE naming both files and shapes.
 * g: a layer's stride, dilation and groups (NULL: all 1); the groups must divide C_in and C_out. */
int kn_problem_init_channels(kn_problem *pb, const kernest_array *const *A,
                             const kernest_array *const *B, size_t npairs, kernest_mode mode,
                             size_t kh, size_t kw, kernest_layout layout, size_t cout_noB,
                             const kernest_geometry *g, const char *const *names);
void kn_problem_free(kn_problem *pb);

/* A zero-filled array for the kernel of pb: kh×kw, or cout×kin×kh×kw when pb->channels. */
int kn_kernel_array(const kn_problem *pb, kernest_array **out);

/* Reverses each of the nk kh×kw kernels of k in both axes: convolution <-> cross-correlation. */
void kn_flip_kernels(double *k, size_t nk, size_t kh, size_t kw);

/* Smallest n' >= n whose prime factors are 2, 3, 5 and 7 (even when want_even). 0 on overflow. */
size_t kn_good_fft_size(size_t n, int want_even);

/* Smallest circular length that computes the window [r0, r0+b) of the full convolution of a
 * length-a input and a length-k kernel exactly (both placed at 0) into *out; 1 on overflow. */
int kn_alias_free_size(size_t a, size_t k, size_t r0, size_t b, size_t *out);

#endif
