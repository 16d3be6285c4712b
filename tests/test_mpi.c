/* test_mpi.c — pairs spread over MPI ranks: `mpirun -np R kernest estimate` against one process
 * (skips when kernest is built without MPI or mpirun is missing). */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#ifdef KERNEST_WITH_MPI
#include "kernest_mpi.h"
#endif

#ifndef KERNEST_MPIEXEC
#define KERNEST_MPIEXEC ""
#endif

static void need_mpi(void)
{
    if (!kernest_have_mpi())
        cr_skip_test("kernest is built without MPI (apt-get install libopenmpi-dev, reconfigure)");
    if (!KERNEST_MPIEXEC[0] || access(KERNEST_MPIEXEC, X_OK) != 0)
        cr_skip_test("no mpiexec found by CMake");
    /* Open MPI refuses root unless told; two cores: let R ranks share them; Open MPI keeps
     * allocations until exit, which LeakSanitizer would report in the sanitizer build */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    setenv("ASAN_OPTIONS", "detect_leaks=0:protect_shadow_gap=0", 1);
}

/* Runs `mpiexec -np R kernest ARGS` (R = 0: plain kernest) in tu_dir; returns the exit code. */
static int run(int ranks, const char *args, char *err, size_t cap)
{
    char *full = NULL;
    int rc;
    if (ranks == 0)
        rc = asprintf(&full, "-q %s", args) < 0 ? -1 : 0;
    else
        rc = asprintf(&full, "'%s' -np %d '%s' %s", KERNEST_MPIEXEC, ranks, KERNEST_CLI, args) < 0 ? -1 : 0;
    cr_assert_eq(rc, 0);
    if (ranks == 0) {
        free(full);
        rc = asprintf(&full, "%s", args) < 0 ? -1 : 0;
        cr_assert_eq(rc, 0);
        rc = tu_run_cli(full, err, cap);
    } else {
        char *cmd = NULL, *errf = tu_path(tu_dir, "mpi.err");
        cr_assert(asprintf(&cmd, "cd '%s' && %s >/dev/null 2>'%s' </dev/null", tu_dir, full, errf) > 0);
        int st = system(cmd);
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (err && cap) {
            err[0] = '\0';
            FILE *f = fopen(errf, "rb");
            if (f) {
                err[fread(err, 1, cap - 1, f)] = '\0';
                fclose(f);
            }
        }
        free(cmd);
        free(errf);
    }
    free(full);
    return rc;
}

/* synth data with npairs pairs in tu_dir/d; returns the "A B A_2 B_2 ..." argument string */
static char *make_pairs(int npairs, const char *kernel)
{
    char cmd[512], err[512];
    snprintf(cmd, sizeof cmd, "synth --n 20 --pairs %d --kernel %s --noise 0.01 --seed 7 -o '%s/d'",
             npairs, kernel, tu_dir);
    cr_assert_eq(tu_run_cli(cmd, err, sizeof err), 0, "synth failed: %s", err);
    size_t cap = 64 + (size_t)npairs * 2 * (strlen(tu_dir) + 32);
    char *s = calloc(1, cap);
    for (int i = 1; i <= npairs; i++) {
        char a[16] = "", b[16] = "";
        if (i > 1)
            snprintf(a, sizeof a, "_%d", i);
        snprintf(b, sizeof b, "%s", a);
        size_t len = strlen(s);
        snprintf(s + len, cap - len, " '%s/d/A%s.npy' '%s/d/B%s.npy'", tu_dir, a, tu_dir, b);
    }
    return s;
}

static kernest_array *load(const char *name)
{
    char *p = tu_path(tu_dir, name);
    kernest_array *a = NULL;
    cr_assert_eq(kernest_npy_read(p, &a), KERNEST_OK, "%s: %s", name, kernest_last_error());
    free(p);
    return a;
}

/* the same solve on `ranks` ranks and in one process; relative difference of the kernels */
static double compare(int ranks, const char *pairs, const char *opts)
{
    char args[4096], err[2048];
    snprintf(args, sizeof args, "estimate %s %s --precision double --threads 1 -o '%s/one.npy'", pairs, opts, tu_dir);
    cr_assert_eq(run(0, args, err, sizeof err), 0, "one process: %s", err);
    snprintf(args, sizeof args, "estimate %s %s --precision double -q -o '%s/many.npy' --report '%s/many.json'",
             pairs, opts, tu_dir, tu_dir);
    cr_assert_eq(run(ranks, args, err, sizeof err), 0, "%d ranks: %s", ranks, err);
    kernest_array *a = load("one.npy"), *b = load("many.npy");
    double d = tu_rel_diff(b, a);
    kernest_array_destroy(&a);
    kernest_array_destroy(&b);
    return d;
}

TestSuite(mpi, .init = tu_dir_setup, .fini = tu_dir_teardown, .timeout = 300);

Test(mpi, share_blocks)
{
#ifdef KERNEST_WITH_MPI
    size_t first, count, next = 0;
    for (int R = 1; R <= 5; R++)
        for (size_t n = 0; n <= 7; n++) {
            next = 0;
            for (int r = 0; r < R; r++) {
                kernest_mpi_share(n, r, R, &first, &count);
                cr_assert_eq(first, next, "n=%zu R=%d r=%d", n, R, r);
                cr_assert(count <= n / R + 1);
                next = first + count;
            }
            cr_assert_eq(next, n);
            if (n) {
                kernest_mpi_share(n, 0, R, &first, &count);
                cr_assert(count >= 1, "rank 0 must hold pair 0");
            }
        }
#else
    cr_skip_test("kernest is built without MPI");
#endif
}

/* well-conditioned solves (ridge), where rounding is all that separates the runs: a solve with an
 * ill-conditioned operator amplifies any change in the order of sums (threads or ranks) */
Test(mpi, two_ranks_equal_one_process)
{
    need_mpi();
    char *p = make_pairs(4, "gaussian:2");
    cr_expect_lt(compare(2, p, "--reg ridge --lambda 1e4 --tol 1e-13 --maxiter 200"), 1e-10);
    free(p);
}

Test(mpi, uneven_split_and_report_lists_every_pair)
{
    need_mpi();
    char *p = make_pairs(3, "gaussian:2");
    cr_expect_lt(compare(2, p, "--reg ridge --lambda 1e4 --tol 1e-13 --maxiter 200"), 1e-10);
    char *rj = tu_path(tu_dir, "many.json"), buf[65536] = "";
    FILE *f = fopen(rj, "rb");
    cr_assert(f);
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    free(rj);
    int n = 0;
    for (const char *q = buf; (q = strstr(q, "\"observed_pixels\"")); q++)
        n++;
    cr_expect_eq(n, 3, "the report should list 3 pairs, got %d:\n%.2000s", n, buf);
    free(p);
}

Test(mpi, rank_without_pairs)
{
    need_mpi();
    char *p = make_pairs(1, "gaussian:2");
    cr_expect_lt(compare(2, p, "--reg ridge --lambda 1e4 --tol 1e-13 --maxiter 200"), 1e-10);
    free(p);
    p = make_pairs(2, "gaussian:2");
    cr_expect_lt(compare(3, p, "--reg ridge --lambda 1e4 --tol 1e-13 --maxiter 200"), 1e-10);
    free(p);
}

Test(mpi, priors_and_models_across_ranks)
{
    need_mpi();
    char *p = make_pairs(3, "gaussian:2");
    cr_expect_lt(compare(2, p, "--nonneg --reg ridge --lambda 1e4 --maxiter 60 --tol 0"), 1e-10);
    cr_expect_lt(compare(2, p, "--model radial --reg ridge --lambda 1e3 --tol 1e-13 --maxiter 200"), 1e-10);
    /* a fixed count of iterations: the same only if the ranks build the preconditioner of one
     * process (its diagonal and its mean part summed over them) */
    cr_expect_lt(compare(2, p, "--model radial --reg grad --lambda 1 --precond mean --tol 0 --maxiter 12"), 1e-10);
    free(p);
}

/* data far from 1 (A and B ·2^-300: the solver's ‖Hᵀr‖² ~ 2^-1200 underflowed) are solved in the
 * units of the largest |A| and |B| over every rank, as in one process (before, the ranks solved
 * them unscaled: K = 0) */
Test(mpi, scaled_data_in_the_units_of_every_rank)
{
    need_mpi();
    char *p = make_pairs(3, "gaussian:2");
    cr_expect_lt(compare(2, p, "--reg ridge --lambda 1e4 --tol 1e-13 --maxiter 200"), 1e-10);
    kernest_array *ref = load("many.npy");
    const char *names[] = {"d/A.npy", "d/B.npy", "d/A_2.npy", "d/B_2.npy", "d/A_3.npy", "d/B_3.npy"};
    for (int i = 0; i < 6; i++) {
        kernest_array *a = load(names[i]);
        for (size_t j = 0; j < a->size; j++)
            a->data[j] = ldexp(a->data[j], -300);
        char *path = tu_path(tu_dir, names[i]);
        cr_assert_eq(kernest_npy_write(path, a, KERNEST_DOUBLE), KERNEST_OK);
        free(path);
        kernest_array_destroy(&a);
    }
    char opts[256]; /* λ·2^-600 */
    snprintf(opts, sizeof opts, "--reg ridge --lambda %.17g --tol 1e-13 --maxiter 200", ldexp(1e4, -600));
    cr_expect_lt(compare(2, p, opts), 1e-10);
    kernest_array *k = load("many.npy");
    const double d = tu_rel_diff(k, ref);
    cr_expect_lt(d, 1e-12, "2 ranks: K is off the unscaled problem's by %g", d);
    kernest_array_destroy(&k);
    kernest_array_destroy(&ref);
    free(p);
}

Test(mpi, failing_rank_ends_every_rank_without_output)
{
    need_mpi();
    char *p = make_pairs(3, "gaussian:2");
    char *bad = tu_path(tu_dir, "d/B_3.npy"); /* pair 3 lives on rank 1 of 2 */
    cr_assert_eq(tu_write_bytes(bad, "not an npy file", 15), 0);
    char args[4096], err[4096];
    snprintf(args, sizeof args, "estimate %s --reg ridge --lambda 1 -o '%s/k.npy'", p, tu_dir);
    int rc = run(2, args, err, sizeof err);
    cr_expect_eq(rc, 2, "exit %d, stderr:\n%s", rc, err);
    cr_expect(strstr(err, "B_3.npy"), "the message should name the file:\n%s", err);
    cr_expect(strstr(err, "rank 1 of 2 failed"), "rank 0 should say which rank failed:\n%s", err);
    char *k = tu_path(tu_dir, "k.npy");
    cr_expect(!tu_exists(k), "no output after a failure");
    free(k);
    free(bad);
    free(p);
}

Test(mpi, batch_jobs_shared_by_ranks)
{
    need_mpi();
    char *p = make_pairs(3, "gaussian:2");
    free(p);
    char *man = tu_path(tu_dir, "jobs.jsonl");
    FILE *f = fopen(man, "w");
    cr_assert(f);
    fputs("{\"inputs\": [\"d/A.npy\", \"d/B.npy\"], \"output\": \"k1.npy\", \"options\": {\"reg\": \"ridge\", \"lambda\": 10}}\n"
          "{\"inputs\": [\"d/A_2.npy\", \"d/B_2.npy\"], \"output\": \"k2.npy\"}\n"
          "{\"inputs\": [\"d/A_3.npy\", \"d/missing.npy\"], \"output\": \"k3.npy\"}\n"
          "{\"inputs\": [\"d/A_3.npy\", \"d/B_3.npy\"], \"output\": \"k4.npy\", \"options\": {\"nonneg\": true}}\n"
          "{\"inputs\": [\"d/A.npy\", \"d/B.npy\", \"d/A_2.npy\", \"d/B_2.npy\"], \"output\": \"k5.npy\"}\n", f);
    fclose(f);
    char args[2048], err[8192];
    snprintf(args, sizeof args, "batch '%s' -q --summary '%s/sum.json'", man, tu_dir);
    int rc = run(2, args, err, sizeof err);
    cr_expect_eq(rc, 1, "one job fails: exit 1 (got %d)\n%s", rc, err);
    const char *outs[] = {"k1.npy", "k2.npy", "k4.npy", "k5.npy"};
    for (size_t i = 0; i < 4; i++) {
        char *o = tu_path(tu_dir, outs[i]);
        cr_expect(tu_exists(o), "%s missing", outs[i]);
        free(o);
    }
    /* rank 0's summary holds every job, whichever rank ran it */
    char *sj = tu_path(tu_dir, "sum.json"), buf[16384] = "";
    f = fopen(sj, "rb");
    cr_assert(f, "no summary");
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    cJSON *root = cJSON_Parse(buf), *jobs = cJSON_GetObjectItem(root, "jobs"), *j;
    cr_assert(cJSON_IsArray(jobs), "summary without jobs:\n%s", buf);
    int ok = 0, failed = 0;
    cJSON_ArrayForEach(j, jobs) {
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(j, "status"));
        ok += st && !strcmp(st, "ok");
        failed += st && !strcmp(st, "failed");
    }
    cJSON_Delete(root);
    cr_expect_eq(ok, 4, "4 jobs ok in the summary:\n%s", buf);
    cr_expect_eq(failed, 1, "1 job failed in the summary:\n%s", buf);
    /* rerun: done jobs are skipped, the failing one fails again */
    rc = run(2, args, err, sizeof err);
    cr_expect_eq(rc, 1);
    f = fopen(sj, "rb");
    cr_assert(f);
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    root = cJSON_Parse(buf);
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(root, "skipped")), 4.0, "4 skipped on rerun:\n%s", buf);
    cJSON_Delete(root);
    free(sj);
    free(man);
}
