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

/* Deterministic pseudo-random numbers (xorshift), uniform in [0,1). */
double tu_rand(unsigned long long *state);
/* New 2-D array filled with uniform values in [lo, hi). */
kernest_array *tu_random_array(size_t h, size_t w, double lo, double hi, unsigned long long *state);
/* The default options for a kh×kw kernel (0: from the data) on one CPU thread, the set-up most
 * tests start from. */
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

/* Relative difference ‖a − b‖ / ‖b‖ (arrays of equal size). */
double tu_rel_diff(const kernest_array *a, const kernest_array *b);

#endif
