/* test_scipy.c — kernest_convolve and `kernest convolve` against scipy.signal.convolve2d fixtures. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernest.h"
#include "testutil.h"

/* The fixtures come from scripts/make_fixtures.py (see tests/fixtures/README.md). FFT
 * convolution in double agrees with SciPy's direct sums to a few ulps of max |B|. */
#define REL_TOL 1e-12
#define MAX_CASES 128

typedef struct fixture_case {
    char name[64];
    char mode[16];
} fixture_case;

static fixture_case cases[MAX_CASES];
static int ncases;
#define dir tu_dir /* the per-test folder of testutil */

/* Reads cases.txt: one "case mode" per line; '#' starts a comment line. */
static void load_manifest(void)
{
    ncases = 0;
    const char *path = KERNEST_FIXTURES "/cases.txt";
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s: regenerate with python3 scripts/make_fixtures.py", path);
    char line[256];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line + strspn(line, " \t");
        if (*s == '#' || *s == '\n' || *s == '\0')
            continue;
        cr_assert_lt(ncases, MAX_CASES, "%s: more than %d cases", path, MAX_CASES);
        fixture_case *c = &cases[ncases];
        char extra[8];
        int n = sscanf(s, "%63s %15s %7s", c->name, c->mode, extra);
        cr_assert_eq(n, 2, "%s:%d: expected 'case mode', got '%s'", path, lineno, s);
        cr_assert_geq(kernest_mode_parse(c->mode), 0, "%s:%d: unknown mode '%s'", path, lineno,
                      c->mode);
        ncases++;
    }
    fclose(f);
    cr_assert_gt(ncases, 0, "%s lists no cases", path);
}

static void setup(void)
{
    load_manifest();
    tu_dir_setup();
}

TestSuite(scipy, .init = setup, .fini = tu_dir_teardown);

static char *fixture_path(const char *name, const char *suffix)
{
    char *p = NULL;
    cr_assert_geq(asprintf(&p, "%s/%s_%s.npy", KERNEST_FIXTURES, name, suffix), 0);
    return p;
}

static kernest_array *read_fixture(const char *name, const char *suffix)
{
    char *p = fixture_path(name, suffix);
    kernest_array *a = NULL;
    int st = kernest_npy_read(p, &a);
    cr_assert_eq(st, KERNEST_OK, "kernest_npy_read(%s): %s (%s)", p, kernest_strerror(st),
                 kernest_last_error());
    free(p);
    return a;
}

/* max |got - want| / max |want| (absolute when want is all zeros); shapes must agree. */
static double rel_max_diff(const kernest_array *got, const kernest_array *want, const char *what)
{
    cr_assert_eq(got->ndim, 2, "%s: result is %d-D", what, got->ndim);
    cr_assert(got->shape[0] == want->shape[0] && got->shape[1] == want->shape[1],
              "%s: shape %zux%zu, SciPy %zux%zu", what, got->shape[0], got->shape[1],
              want->shape[0], want->shape[1]);
    double diff = 0, scale = 0;
    for (size_t i = 0; i < want->size; i++) {
        double d = fabs(got->data[i] - want->data[i]);
        if (!(d <= diff)) /* also catches NaN */
            diff = isnan(d) ? INFINITY : d;
        if (fabs(want->data[i]) > scale)
            scale = fabs(want->data[i]);
    }
    return scale > 0 ? diff / scale : diff;
}

/* Checks every case of one mode through the library. Returns how many were checked. */
static int check_library(const char *mode)
{
    int checked = 0;
    for (int i = 0; i < ncases; i++) {
        const fixture_case *c = &cases[i];
        if (strcmp(c->mode, mode))
            continue;
        kernest_array *A = read_fixture(c->name, "A");
        kernest_array *K = read_fixture(c->name, "K");
        char bsuffix[32];
        snprintf(bsuffix, sizeof bsuffix, "B_%s", mode);
        kernest_array *B = read_fixture(c->name, bsuffix);
        kernest_array *got = NULL;
        int st = kernest_convolve(A, K, (kernest_mode)kernest_mode_parse(mode), &got);
        cr_expect_eq(st, KERNEST_OK, "%s %s: kernest_convolve: %s (%s)", c->name, mode,
                     kernest_strerror(st), kernest_last_error());
        if (st == KERNEST_OK) {
            char what[128];
            snprintf(what, sizeof what, "%s %s (A %zux%zu, K %zux%zu)", c->name, mode,
                     A->shape[0], A->shape[1], K->shape[0], K->shape[1]);
            double r = rel_max_diff(got, B, what);
            cr_expect_lt(r, REL_TOL, "%s: max |B - SciPy| / max |SciPy| = %.3g", what, r);
        }
        kernest_array_destroy(&got);
        kernest_array_destroy(&A);
        kernest_array_destroy(&K);
        kernest_array_destroy(&B);
        checked++;
    }
    return checked;
}

/* Same through the CLI: kernest convolve A K -o OUT --mode MODE, then compare OUT. */
static int check_cli(const char *mode)
{
    int checked = 0;
    for (int i = 0; i < ncases; i++) {
        const fixture_case *c = &cases[i];
        if (strcmp(c->mode, mode))
            continue;
        char *a = fixture_path(c->name, "A"), *k = fixture_path(c->name, "K");
        char bsuffix[32], outname[128];
        snprintf(bsuffix, sizeof bsuffix, "B_%s", mode);
        snprintf(outname, sizeof outname, "%s_%s.npy", c->name, mode);
        char *out = tu_path(dir, outname), *args = NULL;
        cr_assert_geq(asprintf(&args, "convolve '%s' '%s' -o '%s' --mode %s", a, k, out, mode), 0);
        char err[1024];
        int rc = tu_run_cli(args, err, sizeof err);
        cr_expect_eq(rc, 0, "kernest %s: exit %d: %s", args, rc, err);
        if (rc == 0) {
            kernest_array *got = NULL, *B = read_fixture(c->name, bsuffix);
            int st = kernest_npy_read(out, &got);
            cr_expect_eq(st, KERNEST_OK, "%s %s: cannot read the CLI output %s: %s", c->name,
                         mode, out, kernest_last_error());
            if (st == KERNEST_OK) {
                char what[128];
                snprintf(what, sizeof what, "CLI %s %s", c->name, mode);
                double r = rel_max_diff(got, B, what);
                cr_expect_lt(r, REL_TOL, "%s: max |B - SciPy| / max |SciPy| = %.3g", what, r);
            }
            kernest_array_destroy(&got);
            kernest_array_destroy(&B);
        }
        free(args);
        free(out);
        free(a);
        free(k);
        checked++;
    }
    return checked;
}

/* The manifest covers every mode, and every file it names is there. */
Test(scipy, manifest_complete)
{
    const char *modes[] = {"full", "same", "valid"};
    for (int m = 0; m < 3; m++) {
        int n = 0;
        for (int i = 0; i < ncases; i++)
            n += !strcmp(cases[i].mode, modes[m]);
        cr_expect_gt(n, 0, "cases.txt has no '%s' case", modes[m]);
    }
    for (int i = 0; i < ncases; i++) {
        char bsuffix[32];
        snprintf(bsuffix, sizeof bsuffix, "B_%s", cases[i].mode);
        const char *suffixes[] = {"A", "K", bsuffix};
        for (int s = 0; s < 3; s++) {
            char *p = fixture_path(cases[i].name, suffixes[s]);
            cr_expect(tu_exists(p), "missing fixture %s", p);
            free(p);
        }
    }
}

Test(scipy, library_full) { cr_assert_gt(check_library("full"), 0); }
Test(scipy, library_same) { cr_assert_gt(check_library("same"), 0); }
Test(scipy, library_valid) { cr_assert_gt(check_library("valid"), 0); }

Test(scipy, cli_full) { cr_assert_gt(check_cli("full"), 0); }
Test(scipy, cli_same) { cr_assert_gt(check_cli("same"), 0); }
Test(scipy, cli_valid) { cr_assert_gt(check_cli("valid"), 0); }
