/* testutil.h — helpers shared by the Criterion tests: temp folders, files, CLI runs, references. */
#ifndef KN_TESTUTIL_H
#define KN_TESTUTIL_H

#include <stddef.h>

#include "kernest.h"

/* A fresh temporary folder per test: tu_dir_setup creates it in tu_dir, tu_dir_teardown removes
 * it. Use as TestSuite(name, .init = tu_dir_setup, .fini = tu_dir_teardown). */
extern char *tu_dir;
void tu_dir_setup(void);
void tu_dir_teardown(void);

/* Creates a fresh temporary folder; returns a malloc'd path (caller frees). */
char *tu_tmpdir(void);
/* Removes a folder created by tu_tmpdir and everything in it. */
void tu_rmtree(const char *dir);
/* malloc'd "dir/name". */
char *tu_path(const char *dir, const char *name);
/* Writes len bytes to path; returns 0 on success. */
int tu_write_bytes(const char *path, const void *data, size_t len);
/* 1 when path exists. */
int tu_exists(const char *path);
/* Number of entries in dir (excluding . and ..). */
int tu_count_entries(const char *dir);

/* Runs the kernest CLI with the given shell-quoted argument string; returns its exit code and
 * stores (at most cap bytes of) its stderr in err when err is not NULL. */
int tu_run_cli(const char *args, char *err, size_t cap);
/* The rmse `kernest score ARGS` prints (a Criterion assertion when it fails or prints none). */
double tu_score_rmse(const char *args);

/* Deterministic pseudo-random numbers (xorshift), uniform in [0,1). */
double tu_rand(unsigned long long *state);
/* New 2-D array filled with uniform values in [lo, hi). */
kernest_array *tu_random_array(size_t h, size_t w, double lo, double hi, unsigned long long *state);
/* The default options for a kh×kw kernel (0: from the data) on one CPU thread, the set-up most
 * tests start from (one thread: reductions in a fixed order, no spinning on a loaded machine). */
kernest_options tu_cpu_options(size_t kh, size_t kw);
/* The whole file as a NUL-terminated string (malloc'd; a Criterion assertion when it cannot be
 * read). */
char *tu_read_text(const char *path);
/* n values uniform in [lo, hi) from tu_rand */
void tu_random_vec(double *v, size_t n, double lo, double hi, unsigned long long *state);
/* A single-thread CPU backend of precision p (a Criterion assertion on failure); destroy with
 * kn_backend_destroy. */
struct kn_backend;
struct kn_backend *tu_cpu(kernest_precision p);

/* Reference full 2-D convolution by the direct sum (O(ha wa kh kw)), then cropped as mode. */
kernest_array *tu_direct_convolve(const kernest_array *A, const kernest_array *K, kernest_mode mode);

/* Relative difference ‖a − b‖ / ‖b‖ (arrays of equal size); ‖a − b‖ where ‖b‖ = 0. */
double tu_rel_diff(const kernest_array *a, const kernest_array *b);
/* The same for two vectors of n values. */
double tu_rel_diff_vec(const double *a, const double *b, size_t n);

/* n new values uniform in [lo, hi) from tu_rand (malloc'd, at least one slot; a Criterion
 * assertion when it cannot be allocated). */
double *tu_random_vec_new(size_t n, double lo, double hi, unsigned long long *state);
/* Σ a[i] b[i], in index order. */
double tu_dot(const double *a, const double *b, size_t n);

/* ---- a backend's operations applied to host data (Criterion assertions on every step) ---- */
struct kn_vec;
/* A new vector of be holding the n values of x. */
struct kn_vec *tu_upload(struct kn_backend *be, const double *x, size_t n);
/* out (nout values) = H in (adjoint 0) or Hᵀ in (adjoint 1) with be's operator, set up by the
 * caller: upload, op_apply or op_adjoint, download. The output vector is poisoned first, so an
 * operation that leaves an entry unwritten is caught. For H of a fresh CPU backend in double,
 * see kn_cpu_apply_once (backend/cpu/cpu_apply.h). */
void tu_apply(struct kn_backend *be, int adjoint, const double *in, size_t nin, double *out, size_t nout);
/* out = LᵀL in (n values) for the regulariser reg with be's reg_gram, the output poisoned first. */
void tu_gram(struct kn_backend *be, kernest_reg reg, const double *in, double *out, size_t n);

/* The dot test of an operator H (m×n) against its adjoint: from x (n values), hty = Hᵀ y (n),
 * hx = H x (m) and y (m), stores lhs = ⟨H x, y⟩ and rhs = ⟨x, Hᵀ y⟩ (each where not NULL) and
 * returns the relative mismatch |lhs − rhs| / max(‖H x‖‖y‖, ‖x‖‖Hᵀ y‖); NaN where that scale is
 * 0, so that `rel <= tol` fails. A self-adjoint G (a Gram matrix) is H = Hᵀ = G with m = n.
 * Tests whose tolerance is on another scale assert on lhs and rhs themselves. */
double tu_dot_test(size_t n, const double *x, const double *hty, size_t m, const double *hx, const double *y,
                   double *lhs, double *rhs);

/* v (n values) rounded to what be stores (its precision's values): an upload and a download. */
void tu_stored(struct kn_backend *be, double *v, size_t n);
/* The dot test of be's operator (set up: n unknowns, m data values) on random k and r (uniform in
 * [−1, 1) from *seed, rounded to what be stores: its precision's values): stores ⟨H k, r⟩ and
 * ⟨k, Hᵀ r⟩ in *lhs and *rhs and returns tu_dot_test's relative mismatch. hk (may be NULL)
 * receives H k (m values, malloc'd: the caller frees). */
double tu_operator_dot_test(struct kn_backend *be, size_t n, size_t m, unsigned long long *seed, double *lhs,
                            double *rhs, double **hk);

/* ---- problems ---------------------------------------------------------------------------- */
struct kn_rng;
/* B = same(A ⊛ K) by kernest_convolve, plus kn_synth_noise(rng, sigma) where rng is not NULL (a
 * Criterion assertion on failure). */
kernest_array *tu_observe(const kernest_array *A, const kernest_array *K, double sigma, struct kn_rng *rng);
/* kernest_estimate of K from one pair (A, B) with o, stopped by its progress callback once the
 * iteration count reaches stop (0: run to completion, o.progress replaced either way); returns
 * the status. */
int tu_estimate_stopping(const kernest_array *A, const kernest_array *B, kernest_options o, int stop,
                         kernest_array **K, kernest_report **r);
/* A fresh temporary folder holding the small problem of `kernest synth --n 8 --kernel
 * gaussian:2,1,30 --noise-rel 0.05` (A.npy, B.npy, ...), Criterion assertions on failure; remove
 * it with tu_rmtree and free the path. */
char *tu_synth_dir(void);

/* A 16×16 random A in [0, scale] drawn from *seed, a smooth positive 31×31 K (a Gaussian of
 * width 3), B = same(A ⊛ K) + offset + 1e-3·scale uniform noise from the same stream: the small
 * problem the hook and checkpoint suites stop and resume. */
void tu_smooth_problem(unsigned long long seed, double scale, double offset, kernest_array **A,
                       kernest_array **B);

#endif
