/* problem.h — internal: the pairs, shapes, crop windows and FFT grid of one estimation problem. */
#ifndef KN_PROBLEM_H
#define KN_PROBLEM_H

#include "kernest.h"

/* One pair (A_i, B_i). Arrays are borrowed from the caller. */
typedef struct kn_pair {
    const double *A;   /* ha×wa, row-major, finite */
    size_t ha, wa;
    const double *B;   /* hb×wb, row-major; NaN marks a missing pixel; NULL when only convolving */
    size_t hb, wb;     /* observed window shape, from the mode */
    size_t row0, col0; /* where the observed window starts in the full convolution */
    size_t offset;     /* start of this pair's segment in data-space vectors */
    size_t nobs;       /* observed (non-NaN) pixels of B; hb*wb when B is NULL */
} kn_pair;

/* Everything a backend needs to set up the operator H: K (kh×kw) -> data (m values). */
typedef struct kn_problem {
    size_t npairs;
    kn_pair *pairs;         /* npairs entries (owned) */
    kernest_mode mode;
    size_t kh, kw;          /* kernel shape */
    size_t n;               /* kh*kw unknowns */
    size_t m;               /* Σ hb*wb: length of data-space vectors (pairs concatenated) */
    size_t grid_h, grid_w;  /* FFT grid: >= ha+kh-1 and wa+kw-1 for every pair; 2,3,5,7-smooth;
                               grid_w even so the r2c half spectrum has grid_w/2+1 columns */
    int has_mask;           /* 1 when any B has a NaN */
} kn_problem;

/* Validates shapes and values and fills pb. A[i] must be 2-D and finite; B may be NULL (then
 * only the forward model is available) or B[i] 2-D of the mode's output shape. kh, kw of 0
 * mean the default kernel (same: 2Ha-1 × 2Wa-1 of the first pair; full/valid: refused).
 * names (may be NULL) holds 2*npairs file names used in error messages. */
int kn_problem_init(kn_problem *pb, const kernest_array *const *A, const kernest_array *const *B,
                    size_t npairs, kernest_mode mode, size_t kh, size_t kw,
                    const char *const *names);
void kn_problem_free(kn_problem *pb);

/* kernest_convolve with file names for the messages. */
int kn_convolve_named(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                      const char *a_name, const char *k_name, kernest_array **out);

/* Smallest n' >= n whose prime factors are 2, 3, 5 and 7 (even when want_even). 0 on overflow. */
size_t kn_good_fft_size(size_t n, int want_even);

#endif
