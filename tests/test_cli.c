/* test_cli.c — the kernest command end to end: synth, estimate, convolve, score, help, bad input. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernest.h"
#include "testutil.h"

#define dir tu_dir /* the per-test folder of testutil */


TestSuite(cli, .init = tu_dir_setup, .fini = tu_dir_teardown, .timeout = 300);

/* ---- helpers -------------------------------------------------------------------------------- */

/* Like tu_run_cli, but keeps stdout too (at most cap bytes each). */
static int run_cli_out(const char *args, char *out, size_t ocap, char *err, size_t ecap)
{
    char of[] = "/tmp/kernest-cli-out-XXXXXX", ef[] = "/tmp/kernest-cli-err-XXXXXX";
    int fo = mkstemp(of), fe = mkstemp(ef);
    cr_assert(fo >= 0 && fe >= 0);
    close(fo);
    close(fe);
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "'%s' %s >'%s' 2>'%s' </dev/null", KERNEST_CLI, args, of, ef) >= 0);
    int st = system(cmd);
    free(cmd);
    const char *files[2] = {of, ef};
    char *bufs[2] = {out, err};
    size_t caps[2] = {ocap, ecap};
    for (int i = 0; i < 2; i++) {
        if (bufs[i] && caps[i]) {
            bufs[i][0] = '\0';
            FILE *f = fopen(files[i], "rb");
            if (f) {
                size_t n = fread(bufs[i], 1, caps[i] - 1, f);
                bufs[i][n] = '\0';
                fclose(f);
            }
        }
        unlink(files[i]);
    }
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static char *path_in(const char *name)
{
    char *p = tu_path(dir, name);
    cr_assert_not_null(p);
    return p;
}

static void write_npy(const char *name, const kernest_array *a)
{
    char *p = path_in(name);
    int st = kernest_npy_write(p, a, KERNEST_DOUBLE);
    cr_assert_eq(st, KERNEST_OK, "writing %s: %d (%s)", p, st, kernest_last_error());
    free(p);
}

static kernest_array *read_npy(const char *name)
{
    char *p = path_in(name);
    kernest_array *a = NULL;
    int st = kernest_npy_read(p, &a);
    cr_assert_eq(st, KERNEST_OK, "reading %s: %d (%s)", p, st, kernest_last_error());
    free(p);
    return a;
}

static char *read_text(const char *name)
{
    char *p = path_in(name);
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "cannot open %s", p);
    char *buf = calloc(1, 1 << 20);
    cr_assert_not_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    free(p);
    return buf;
}

/* Writes the valid inputs A.npy (8×8) and B.npy (8×8, same mode, 3×3 kernel) into dir. */
static void write_good_pair(void)
{
    unsigned long long seed = 3;
    kernest_array *A = tu_random_array(8, 8, 0, 1, &seed), *K = tu_random_array(3, 3, 0, 1, &seed);
    kernest_array *B = tu_direct_convolve(A, K, KERNEST_MODE_SAME);
    cr_assert(A && K && B);
    write_npy("A.npy", A);
    write_npy("B.npy", B);
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    kernest_array_destroy(&B);
}

/* Runs args (with every "@" replaced by dir) and checks a usage error: exit code 2, exactly one
 * line "kernest: ..." on stderr holding each needle, and only `entries` files left in dir. */
static void expect_usage_error(const char *args, int entries, const char *const *needles)
{
    char *full = malloc(strlen(args) * 2 + strlen(dir) * 16 + 16), *o = full;
    cr_assert_not_null(full);
    for (const char *s = args; *s; s++) {
        if (*s == '@') {
            strcpy(o, dir);
            o += strlen(dir);
        } else
            *o++ = *s;
    }
    *o = '\0';
    char err[4096], out[4096];
    int rc = run_cli_out(full, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "kernest %s: exit %d, want 2 (stderr: %s)", args, rc, err);
    size_t len = strlen(err);
    cr_assert(len > 10 && err[len - 1] == '\n', "kernest %s: stderr should be one line: '%s'", args, err);
    cr_assert(strchr(err, '\n') == err + len - 1, "kernest %s: stderr has more than one line: '%s'", args, err);
    cr_assert(!strncmp(err, "kernest: ", 9), "kernest %s: stderr should start with 'kernest: ': '%s'", args, err);
    for (size_t i = 0; needles && needles[i]; i++)
        cr_assert(strstr(err, needles[i]), "kernest %s: stderr should mention '%s': '%s'", args, needles[i], err);
    int n = tu_count_entries(dir);
    cr_assert_eq(n, entries, "kernest %s: %d entries in the folder, want %d (output or temp file left)",
                 args, n, entries);
    free(full);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the happy paths ------------------------------------------------------------------------- */

Test(cli, synth_estimate_score)
{
    char cmd[8192], out[8192], err[8192];
    snprintf(cmd, sizeof cmd, "synth -o '%s' --n 12", dir);
    int rc = run_cli_out(cmd, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "synth: exit %d, stderr: %s", rc, err);
    static const char *const made[] = {"A.npy", "B.npy", "K_true.npy", "A_test.npy", "B_test.npy"};
    for (int i = 0; i < 5; i++) {
        char *p = path_in(made[i]);
        cr_assert(tu_exists(p), "synth did not write %s", made[i]);
        free(p);
    }
    cr_assert_eq(tu_count_entries(dir), 5, "synth wrote %d entries", tu_count_entries(dir));
    kernest_array *A = read_npy("A.npy"), *Kt = read_npy("K_true.npy");
    cr_assert(A->ndim == 2 && A->shape[0] == 12 && A->shape[1] == 12, "A is %zux%zu", A->shape[0], A->shape[1]);
    cr_assert(Kt->shape[0] == 23 && Kt->shape[1] == 23, "K_true is %zux%zu", Kt->shape[0], Kt->shape[1]);

    snprintf(cmd, sizeof cmd, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --report '%s/r.json'", dir,
             dir, dir, dir);
    rc = run_cli_out(cmd, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "estimate: exit %d, stderr: %s", rc, err);
    cr_assert(strstr(out, "K.npy") && strstr(out, "23x23"), "estimate's summary: '%s'", out);
    kernest_array *K = read_npy("K.npy");
    cr_assert(K->ndim == 2 && K->shape[0] == 23 && K->shape[1] == 23, "K.npy is %zux%zu",
              K->shape[0], K->shape[1]);
    for (size_t i = 0; i < K->size; i++)
        cr_assert(isfinite(K->data[i]), "K[%zu] = %g", i, K->data[i]);

    char *json = read_text("r.json");
    cr_assert(strstr(json, "\"stop_reason\""), "report without stop_reason: %s", json);
    cJSON *root = cJSON_Parse(json);
    cr_assert_not_null(root, "the report is not valid JSON: %s", json);
    cJSON *solve = cJSON_GetObjectItemCaseSensitive(root, "solve");
    cJSON *reason = cJSON_GetObjectItemCaseSensitive(solve, "stop_reason");
    cr_assert(cJSON_IsString(reason), "solve.stop_reason missing");
    cr_assert(!strcmp(reason->valuestring, "converged") || !strcmp(reason->valuestring, "max-iterations"),
              "stop_reason '%s'", reason->valuestring);
    cJSON *ks = cJSON_GetObjectItemCaseSensitive(solve, "kernel_shape");
    cr_assert(cJSON_GetArraySize(ks) == 2 && cJSON_GetArrayItem(ks, 0)->valuedouble == 23 &&
              cJSON_GetArrayItem(ks, 1)->valuedouble == 23, "kernel_shape");
    cJSON *pairs = cJSON_GetObjectItemCaseSensitive(root, "pairs");
    cr_assert_eq(cJSON_GetArraySize(pairs), 1);
    cJSON *obs = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pairs, 0), "observed_pixels");
    cr_assert(cJSON_IsNumber(obs) && obs->valuedouble == 144, "observed_pixels");
    cJSON_Delete(root);
    free(json);
    cr_assert_eq(tu_count_entries(dir), 7, "%d entries after estimate (temp files left?)", tu_count_entries(dir));

    snprintf(cmd, sizeof cmd, "score '%s/A_test.npy' '%s/B_test.npy' '%s/K.npy' --truth '%s/K_true.npy'",
             dir, dir, dir, dir);
    rc = run_cli_out(cmd, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "score: exit %d, stderr: %s", rc, err);
    static const char *const names[] = {"rmse", "rmse_over_sigma", "kernel_rel_error", "kernel_rel_error_central"};
    for (int i = 0; i < 4; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s ", names[i]);
        const char *p = strstr(out, key);
        cr_assert(p && (p == out || p[-1] == '\n'), "score output lacks a '%s' line: '%s'", names[i], out);
        double v = strtod(p + strlen(key), NULL);
        cr_assert(isfinite(v) && v >= 0, "%s = %g", names[i], v);
    }
    /* the true kernel scores rmse ≈ σ = 1 on the held-out pair */
    snprintf(cmd, sizeof cmd, "score '%s/A_test.npy' '%s/B_test.npy' '%s/K_true.npy' --truth '%s/K_true.npy'",
             dir, dir, dir, dir);
    rc = run_cli_out(cmd, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "score: exit %d, stderr: %s", rc, err);
    const char *p = strstr(out, "rmse_over_sigma ");
    cr_assert_not_null(p);
    double r = strtod(p + 16, NULL);
    cr_assert(r > 0.7 && r < 1.3, "true kernel: rmse/σ = %g, want about 1", r);
    p = strstr(out, "kernel_rel_error ");
    cr_assert(p && strtod(p + 17, NULL) == 0.0, "the truth against itself: '%s'", out);
    kernest_array_destroy(&A);
    kernest_array_destroy(&Kt);
    kernest_array_destroy(&K);
}

Test(cli, estimate_recovers_a_small_kernel_exactly)
{
    unsigned long long seed = 11;
    kernest_array *A = tu_random_array(14, 13, -1, 1, &seed), *K = tu_random_array(5, 4, -1, 1, &seed);
    kernest_array *B = tu_direct_convolve(A, K, KERNEST_MODE_VALID);
    write_npy("A.npy", A);
    write_npy("B.npy", B);
    char cmd[4096], err[4096], out[4096];
    /* valid mode infers the kernel shape from A and B */
    snprintf(cmd, sizeof cmd, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --mode valid --tol 1e-13 "
             "--fast --device cpu --threads 1 -q", dir, dir, dir);
    int rc = run_cli_out(cmd, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d, stderr: %s", rc, err);
    cr_assert_str_eq(out, "", "-q should print nothing: '%s'", out);
    kernest_array *Kh = read_npy("K.npy");
    cr_assert(Kh->shape[0] == 5 && Kh->shape[1] == 4, "K.npy %zux%zu", Kh->shape[0], Kh->shape[1]);
    double e = tu_rel_diff(Kh, K);
    cr_assert(e < 1e-8, "relative kernel error %.3g", e);
    kernest_array_destroy(&Kh);
    /* --precision single writes f4 and is still close */
    snprintf(cmd, sizeof cmd, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K1.npy' --mode valid --ksize 5x4 --fast "
             "--precision single --device cpu -q", dir, dir, dir);
    rc = run_cli_out(cmd, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d, stderr: %s", rc, err);
    Kh = read_npy("K1.npy");
    e = tu_rel_diff(Kh, K);
    cr_assert(e < 1e-4, "single: relative kernel error %.3g", e);
    kernest_array_destroy(&Kh);
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    kernest_array_destroy(&B);
}

Test(cli, convolve_every_mode)
{
    unsigned long long seed = 21;
    kernest_array *A = tu_random_array(7, 6, -1, 1, &seed), *K = tu_random_array(3, 4, -1, 1, &seed);
    write_npy("A.npy", A);
    write_npy("K.npy", K);
    static const char *const modes[] = {"full", "same", "valid"};
    static const size_t want[3][2] = {{9, 9}, {7, 6}, {5, 3}};
    for (int m = 0; m < 3; m++) {
        char cmd[4096], err[4096], name[64];
        snprintf(name, sizeof name, "B_%s.npy", modes[m]);
        snprintf(cmd, sizeof cmd, "convolve '%s/A.npy' '%s/K.npy' -o '%s/%s' --mode %s", dir, dir, dir, name,
                 modes[m]);
        int rc = run_cli_out(cmd, NULL, 0, err, sizeof err);
        cr_assert_eq(rc, 0, "convolve --mode %s: exit %d, stderr: %s", modes[m], rc, err);
        kernest_array *B = read_npy(name), *D = tu_direct_convolve(A, K, (kernest_mode)m);
        cr_assert(B->ndim == 2 && B->shape[0] == want[m][0] && B->shape[1] == want[m][1],
                  "%s: B is %zux%zu, want %zux%zu", modes[m], B->shape[0], B->shape[1], want[m][0], want[m][1]);
        double e = tu_rel_diff(B, D);
        cr_assert(e < 1e-12, "%s: relative error against the direct sum %.3g", modes[m], e);
        kernest_array_destroy(&B);
        kernest_array_destroy(&D);
    }
    /* the default mode is same */
    char cmd[4096], err[4096];
    snprintf(cmd, sizeof cmd, "convolve '%s/A.npy' '%s/K.npy' -o '%s/B_default.npy'", dir, dir, dir);
    cr_assert_eq(run_cli_out(cmd, NULL, 0, err, sizeof err), 0, "%s", err);
    kernest_array *B = read_npy("B_default.npy");
    cr_assert(B->shape[0] == 7 && B->shape[1] == 6, "default mode gives %zux%zu", B->shape[0], B->shape[1]);
    kernest_array_destroy(&B);
    cr_assert_eq(tu_count_entries(dir), 6, "%d entries (temp files left?)", tu_count_entries(dir));
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
}

Test(cli, help_and_version)
{
    static const char *const helps[] = {"--help", "-h", "help", "estimate --help", "convolve --help",
                                        "synth --help", "score --help", "info --help", "batch --help"};
    char out[16384], err[4096];
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        int rc = run_cli_out(helps[i], out, sizeof out, err, sizeof err);
        cr_assert_eq(rc, 0, "kernest %s: exit %d (%s)", helps[i], rc, err);
        cr_assert(strstr(out, "usage"), "kernest %s: no usage on stdout: '%s'", helps[i], out);
        cr_assert_str_eq(err, "", "kernest %s wrote to stderr: '%s'", helps[i], err);
        /* help texts are printed as they are, not through printf: no format escapes left */
        cr_assert(!strstr(out, "%%"), "kernest %s prints a literal '%%%%': '%s'", helps[i], out);
    }
    /* kernest --help lists every command */
    static const char *const commands[] = {"estimate", "batch", "convolve", "synth", "score", "info"};
    run_cli_out("--help", out, sizeof out, err, sizeof err);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "\n  %s ", commands[i]);
        cr_assert(strstr(out, line), "kernest --help does not list '%s': '%s'", commands[i], out);
    }
    int rc = run_cli_out("--version", out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "--version: exit %d", rc);
    cr_assert(strstr(out, KERNEST_VERSION_STRING), "--version printed '%s'", out);
    rc = run_cli_out("info", out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "info: exit %d (%s)", rc, err);
    cr_assert(strstr(out, "cpu"), "info: '%s'", out);
    /* no command at all is a usage error */
    rc = run_cli_out("", out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "no command: exit %d", rc);
    cr_assert(strstr(err, "usage"), "no command: stderr '%s'", err);
}

/* OpenMP's threads spin briefly (GOMP_SPINCOUNT=1000) unless a policy was chosen (the command runs
 * itself again with it, as the runtime reads it before main); `info` prints the policy in effect */
Test(cli, openmp_short_spins_unless_a_policy_was_chosen)
{
    char out[16384], err[4096];
    const char *unset = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    char *saved = unset ? strdup(unset) : NULL, *saved_spin = spin ? strdup(spin) : NULL;
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("GOMP_SPINCOUNT");
    cr_assert_eq(run_cli_out("info", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert(strstr(out, "openmp: wait policy (runtime default), GOMP_SPINCOUNT 1000\n"), "%s", out);
    setenv("OMP_WAIT_POLICY", "active", 1);
    cr_assert_eq(run_cli_out("info", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert(strstr(out, "openmp: wait policy active\n"), "%s", out);
    unsetenv("OMP_WAIT_POLICY");
    setenv("GOMP_SPINCOUNT", "20", 1);
    cr_assert_eq(run_cli_out("info", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert(strstr(out, "openmp: wait policy (runtime default), GOMP_SPINCOUNT 20\n"), "%s", out);
    unsetenv("GOMP_SPINCOUNT");
    if (saved)
        setenv("OMP_WAIT_POLICY", saved, 1);
    if (saved_spin)
        setenv("GOMP_SPINCOUNT", saved_spin, 1);
    free(saved);
    free(saved_spin);
}

/* ---- bad input: exit 2, one line naming the culprit, nothing written -------------------------- */

Test(cli, missing_input_file)
{
    write_good_pair();
    expect_usage_error("estimate @/nothere.npy @/B.npy -o @/K.npy", 2, NEEDLES("nothere.npy"));
    expect_usage_error("estimate @/A.npy @/nothere_b.npy -o @/K.npy", 2, NEEDLES("nothere_b.npy"));
    expect_usage_error("convolve @/A.npy @/nothere_k.npy -o @/C.npy", 2, NEEDLES("nothere_k.npy"));
    expect_usage_error("score @/A.npy @/B.npy @/nothere_k.npy", 2, NEEDLES("nothere_k.npy"));
}

Test(cli, text_file_is_not_npy)
{
    write_good_pair();
    char *p = path_in("T.npy");
    const char text[] = "this is not a numpy file\n1 2 3\n";
    cr_assert_eq(tu_write_bytes(p, text, sizeof text - 1), 0);
    free(p);
    expect_usage_error("estimate @/T.npy @/B.npy -o @/K.npy", 3, NEEDLES("T.npy"));
    expect_usage_error("estimate @/A.npy @/T.npy -o @/K.npy", 3, NEEDLES("T.npy"));
}

Test(cli, nan_in_A)
{
    write_good_pair();
    unsigned long long seed = 5;
    kernest_array *A = tu_random_array(8, 8, 0, 1, &seed);
    A->data[19] = NAN;
    write_npy("A_nan.npy", A);
    kernest_array_destroy(&A);
    expect_usage_error("estimate @/A_nan.npy @/B.npy -o @/K.npy", 3, NEEDLES("A_nan.npy"));
    expect_usage_error("estimate @/A_nan.npy @/B.npy -o @/K.npy --report @/r.json", 3, NEEDLES("A_nan.npy"));
    expect_usage_error("convolve @/A_nan.npy @/B.npy -o @/C.npy", 3, NEEDLES("NaN"));
}

Test(cli, odd_number_of_files)
{
    write_good_pair();
    expect_usage_error("estimate @/A.npy @/B.npy @/A.npy -o @/K.npy", 2, NEEDLES("3 files"));
    expect_usage_error("estimate @/A.npy -o @/K.npy", 2, NEEDLES("1 file"));
    expect_usage_error("estimate -o @/K.npy", 2, NEEDLES("0 files"));
}

Test(cli, shapes_no_mode_can_satisfy)
{
    write_good_pair();
    unsigned long long seed = 6;
    kernest_array *B = tu_random_array(5, 7, 0, 1, &seed);
    write_npy("B57.npy", B);
    kernest_array_destroy(&B);
    /* same: B must be A's shape */
    expect_usage_error("estimate @/A.npy @/B57.npy -o @/K.npy", 3, NEEDLES("B57.npy", "5x7", "8x8"));
    /* full: B smaller than A; valid: wrong kernel */
    expect_usage_error("estimate @/A.npy @/B57.npy -o @/K.npy --mode full", 3, NEEDLES("5x7"));
    expect_usage_error("estimate @/A.npy @/B57.npy -o @/K.npy --mode valid --ksize 3x3", 3, NEEDLES("B57.npy", "5x7"));
    /* valid with A taller but narrower than K */
    expect_usage_error("estimate @/A.npy @/B57.npy -o @/K.npy --mode valid --ksize 4x9", 3, NEEDLES("4x9"));
}

Test(cli, unknown_option)
{
    write_good_pair();
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --frobnicate", 2, NEEDLES("--frobnicate"));
    expect_usage_error("convolve @/A.npy @/B.npy -o @/C.npy --frobnicate", 2, NEEDLES("--frobnicate"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --maxiter", 2, NEEDLES("--maxiter"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --maxiter lots", 2, NEEDLES("--maxiter", "lots"));
    expect_usage_error("estimate @/A.npy @/B.npy", 2, NEEDLES("-o"));
}

Test(cli, ksize_garbage)
{
    write_good_pair();
    static const char *const bad[] = {"3y4", "0x5", "-3x3", "3x", "x3", "3x3x3", "3x-3", "abc", "3.5x3", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[512];
        snprintf(args, sizeof args, "estimate @/A.npy @/B.npy -o @/K.npy --ksize '%s'", bad[i]);
        expect_usage_error(args, 2, NEEDLES("--ksize"));
    }
}

Test(cli, bad_mode_lambda_device)
{
    write_good_pair();
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --mode bogus", 2, NEEDLES("--mode", "bogus"));
    expect_usage_error("convolve @/A.npy @/B.npy -o @/C.npy --mode bogus", 2, NEEDLES("--mode", "bogus"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --reg ridge --lambda -1", 2, NEEDLES("--lambda"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --reg ridge --lambda nan", 2, NEEDLES("--lambda"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --lambda 1", 2, NEEDLES("--lambda", "--reg"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --reg none --lambda 1", 2, NEEDLES("--lambda"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --reg bogus", 2, NEEDLES("--reg", "bogus"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --device bogus", 2, NEEDLES("--device", "bogus"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --device cuda:x", 2, NEEDLES("--device"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --precision half", 2, NEEDLES("--precision", "half"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --tol -1", 2, NEEDLES("--tol"));
}

Test(cli, output_into_missing_folder)
{
    write_good_pair();
    expect_usage_error("estimate @/A.npy @/B.npy -o @/nodir/K.npy", 2, NEEDLES("-o", "nodir"));
    expect_usage_error("convolve @/A.npy @/B.npy -o @/nodir/C.npy", 2, NEEDLES("nodir"));
    /* a report that cannot be written: the kernel must not be left behind either */
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --report @/nodir/r.json", 2,
                       NEEDLES("--report", "nodir"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @", 2, NEEDLES("-o"));
}

Test(cli, kernel_too_big_for_memory)
{
    write_good_pair();
    char err[4096];
    char args[1024];
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --ksize 400000x400000", dir, dir, dir);
    int rc = tu_run_cli(args, err, sizeof err);
    cr_assert_eq(rc, 2, "exit %d, stderr: %s", rc, err);
    /* the message holds the byte count: 3 kernel vectors of 1.6e11 doubles alone are 3.84e12 bytes */
    const char *p = strstr(err, " bytes");
    cr_assert_not_null(p, "no byte count in '%s'", err);
    const char *q = p;
    while (q > err && q[-1] >= '0' && q[-1] <= '9')
        q--;
    cr_assert(q < p, "no number before 'bytes' in '%s'", err);
    double bytes = strtod(q, NULL);
    cr_assert(bytes >= 3.84e12, "byte count %.4g in '%s'", bytes, err);
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --ksize 400000x400000", 2, NEEDLES("bytes"));
}

Test(cli, unknown_command)
{
    write_good_pair();
    expect_usage_error("frobnicate @/A.npy", 2, NEEDLES("frobnicate"));
    expect_usage_error("info extra", 2, NEEDLES("extra"));
    expect_usage_error("synth", 2, NEEDLES("-o"));
}

/* ---- issue 21: nothing lost, nothing half-written, clear messages -------------------------- */

/* Runs `sh -c 'LIMITS; kernest ARGS'` (every "@" in args replaced by dir) and returns the exit
 * code; stderr into err. */
static int run_limited(const char *limits, const char *args, char *err, size_t cap)
{
    char *full = malloc(strlen(args) * 2 + strlen(dir) * 16 + 16), *o = full;
    cr_assert_not_null(full);
    for (const char *s = args; *s; s++) {
        if (*s == '@') {
            strcpy(o, dir);
            o += strlen(dir);
        } else
            *o++ = *s;
    }
    *o = '\0';
    char ef[] = "/tmp/kernest-cli-err-XXXXXX";
    int fe = mkstemp(ef);
    cr_assert(fe >= 0);
    close(fe);
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "sh -c \"%s; exec '%s' %s\" 2>'%s' </dev/null >/dev/null", limits, KERNEST_CLI,
                       full, ef) >= 0);
    int st = system(cmd);
    free(cmd);
    free(full);
    err[0] = '\0';
    FILE *f = fopen(ef, "rb");
    if (f) {
        size_t n = fread(err, 1, cap - 1, f);
        err[n] = '\0';
        fclose(f);
    }
    unlink(ef);
    if (st == -1)
        return -1;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    int rc = WEXITSTATUS(st);
    return rc;
}

/* Item 2: an output that would overwrite an input or another output is refused before any work,
 * naming both; the paths are compared resolved (./K.npy is K.npy). */
Test(cli, output_may_not_overwrite_an_input_or_another_output)
{
    write_good_pair();
    expect_usage_error("estimate @/A.npy @/B.npy -o @/A.npy --fast", 2, NEEDLES("-o", "A.npy", "input"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --fast --report @/./B.npy", 2,
                       NEEDLES("--report", "B.npy"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --fast --report @/K.npy", 2,
                       NEEDLES("--report", "-o", "K.npy"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --fast --log @/../$(basename @)/K.npy", 2,
                       NEEDLES("--log", "-o"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K_std.npy --reg grad --lambda 1 --uncertainty @/K", 2,
                       NEEDLES("--uncertainty", "K_std.npy"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --fast --checkpoint @/A.npy", 2,
                       NEEDLES("--checkpoint", "A.npy"));
    expect_usage_error("convolve @/A.npy @/B.npy -o @/./A.npy", 2, NEEDLES("-o", "A.npy", "input"));
}

/* Item 10: the option that is wrong is the one named, with a message of its own. */
Test(cli, messages_name_the_right_option)
{
    write_good_pair();
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --support box:0x0", 2, NEEDLES("--support", "box:0x0"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --support ''", 2, NEEDLES("--support", "empty"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --support circle:3", 2,
                       NEEDLES("--support", "circle:3", "disk:R"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --model auto --lambda 5", 2, NEEDLES("--model auto", "--lambda"));
    expect_usage_error("estimate @/A.npy @/B.npy -o @/K.npy --lambda 5 --model auto", 2, NEEDLES("--model auto", "--lambda"));
    char *d = path_in("dir.npz");
    cr_assert_eq(mkdir(d, 0777), 0);
    free(d);
    expect_usage_error("estimate @/A.npy @/B.npy -o @/dir.npz:K --fast", 3, NEEDLES("-o", "dir.npz", "folder"));
    /* a name that fits only without the temporary's suffix: refused before the solve */
    char name[300], args[600];
    memset(name, 'k', 246); /* 250 characters: a valid name, but not with ".tmp.XXXXXX" after it */
    strcpy(name + 246, ".npy");
    snprintf(args, sizeof args, "estimate @/A.npy @/B.npy -o @/%s --fast", name);
    expect_usage_error(args, 3, NEEDLES("-o", "too long"));
}

/* Item 10: --threads beyond what the problem can use is capped (the report says how many ran). */
Test(cli, threads_capped_by_the_work)
{
    write_good_pair();
    char err[4096], args[1024];
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --fast --threads 4096 "
             "--report '%s/r.json' --device cpu -q", dir, dir, dir, dir);
    int rc = tu_run_cli(args, err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    char *r = read_text("r.json");
    cJSON *j = cJSON_Parse(r);
    cr_assert_not_null(j);
    const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "options"), "threads");
    if (!t)
        t = cJSON_GetObjectItem(j, "threads");
    cr_assert(cJSON_IsNumber(t), "no threads in the report: %s", r);
    cr_assert_eq(t->valueint, 1, "an 8x8 problem ran on %d threads", t->valueint);
    cJSON_Delete(j);
    free(r);
}

/* Item 8: a cgroup memory limit (KERNEST_CGROUP_ROOT stands for /sys/fs/cgroup) and ulimit -v are
 * consulted: a solve that needs more is refused with the byte count, exit 2, nothing written. */
Test(cli, memory_limits_of_cgroups_and_ulimit)
{
    write_good_pair();
    char *cg = path_in("cg"), *f;
    cr_assert_eq(mkdir(cg, 0777), 0);
    f = path_in("cg/memory.max");
    cr_assert_eq(tu_write_bytes(f, "50000000\n", 9), 0);
    free(f);
    f = path_in("cg/memory.current");
    cr_assert_eq(tu_write_bytes(f, "0\n", 2), 0);
    free(f);
    char err[4096], limits[1200];
    snprintf(limits, sizeof limits, "export KERNEST_CGROUP_ROOT='%s'", cg);
    int rc = run_limited(limits, "estimate @/A.npy @/B.npy -o @/K.npy --ksize 3001x3001 --fast --maxiter 1 --device cpu",
                         err, sizeof err);
    cr_assert_eq(rc, 2, "exit %d under a 50 MB cgroup limit: %s", rc, err);
    cr_assert(strstr(err, "bytes"), "%s", err);
    cr_assert_not(tu_exists(path_in("K.npy")));
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer reserves terabytes of shadow address space: no program of this build starts
     * under ulimit -v; the cgroup limit above is the check here */
    free(cg);
    return;
#endif
#ifdef KERNEST_WITH_CUDA
    /* the CUDA libraries the program links alone map more than 400 MB of address space */
    rc = run_limited("ulimit -v 4000000", "estimate @/A.npy @/B.npy -o @/K.npy --ksize 12001x12001 --fast --device cpu",
                     err, sizeof err);
#else
    rc = run_limited("ulimit -v 400000", "estimate @/A.npy @/B.npy -o @/K.npy --ksize 5001x5001 --fast --device cpu",
                     err, sizeof err);
#endif
    cr_assert_eq(rc, 2, "exit %d under ulimit -v: %s", rc, err);
    cr_assert(strstr(err, "bytes"), "%s", err);
    cr_assert_not(tu_exists(path_in("K.npy")));
    free(cg);
}

/* Item 9: a file-size limit is a write error: exit 1, no temporary file left (SIGXFSZ ignored). */
Test(cli, file_size_limit_leaves_no_temporary)
{
    write_good_pair();
    char err[4096];
    int rc = run_limited("ulimit -f 1", "estimate @/A.npy @/B.npy -o @/K.npy --fast --log @/log.jsonl --maxiter 3",
                         err, sizeof err);
    cr_assert_eq(rc, 1, "exit %d (153 = killed by SIGXFSZ): %s", rc, err);
    cr_assert(strstr(err, "K.npy"), "%s", err);
    cr_assert_eq(tu_count_entries(dir), 2, "files left beside A.npy and B.npy");
}

/* Item 9: synth writes its set whole: under a file-size limit that K_true.npy exceeds, no A/B
 * without K_true.npy stays (a new folder is removed again; an existing one is left as it was). */
Test(cli, synth_set_is_whole_or_absent)
{
    char err[4096];
    int rc = run_limited("ulimit -f 20", "synth -o @/s --n 40", err, sizeof err);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    char *s = path_in("s");
    cr_assert_not(tu_exists(s), "the new folder is left");
    cr_assert_eq(mkdir(s, 0777), 0);
    rc = run_limited("ulimit -f 20", "synth -o @/s --n 40", err, sizeof err);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    cr_assert_eq(tu_count_entries(s), 0, "part of the set is left");
    free(s);
    /* a bad --kernel makes no folder */
    expect_usage_error("synth -o @/t --kernel bogus", 1, NEEDLES("--kernel"));
    expect_usage_error("synth -o @/t --input photo", 1, NEEDLES("--input", "photo"));
    expect_usage_error("synth -o @/t --kernel moffat:1,1", 1, NEEDLES("moffat:ALPHA,BETA", "BETA > 1"));
}

/* Item 9: a failed --plot leaves no picture (nor K), and bad input makes no --plot folder. */
Test(cli, plot_is_whole_or_absent)
{
    write_good_pair();
    char err[4096], args[1024];
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K.npy' --fast --plot '%s/p0' -q", dir, dir, dir, dir);
    int rc = tu_run_cli(args, err, sizeof err);
    if (rc == 2 && strstr(err, "not compiled in"))
        cr_skip_test("no cairo in this build");
    cr_assert_eq(rc, 0, "%s", err);
    expect_usage_error("estimate @/A.npy @/nothere.npy -o @/K2.npy --fast --plot @/p1", 4, NEEDLES("nothere.npy"));
    /* residual.png cannot be written (a folder of that name): kernel.png must not stay */
    char *p = path_in("p2"), *q = path_in("p2/residual.png");
    cr_assert_eq(mkdir(p, 0777), 0);
    cr_assert_eq(mkdir(q, 0777), 0);
    snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K2.npy' --fast --plot '%s' -q", dir, dir, dir, p);
    rc = tu_run_cli(args, err, sizeof err);
    cr_assert_neq(rc, 0);
    cr_assert_eq(tu_count_entries(p), 1, "pictures left after a failed --plot");
    cr_assert_not(tu_exists(path_in("K2.npy")));
    free(p);
    free(q);
}

/* Item 5: data far from 1 give the estimate of the same problem at scale 1 (the solve works in
 * scaled units), the default command included; a K = 0 that degenerate data or support give is a
 * warning on stderr and in the report, with exit 0. */
Test(cli, data_scale_and_zero_kernels)
{
    write_good_pair();
    kernest_array *A = read_npy("A.npy"), *B = read_npy("B.npy");
    for (size_t i = 0; i < A->size; i++) {
        A->data[i] *= 1e-150;
        B->data[i] *= 1e150;
    }
    write_npy("As.npy", A);
    write_npy("Bs.npy", B);
    for (size_t i = 0; i < A->size; i++)
        A->data[i] = 0.0;
    write_npy("A0.npy", A);
    kernest_array *mask = NULL;
    cr_assert_eq(kernest_array_create2(15, 15, &mask), KERNEST_OK);
    write_npy("m0.npy", mask);
    const char *modes[] = {"--fast", "", "--reg grad --lambda 1"};
    for (int m = 0; m < 3; m++) {
        char err[4096], args[1024];
        snprintf(args, sizeof args, "estimate '%s/A.npy' '%s/B.npy' -o '%s/K1.npy' %s -q", dir, dir, dir, modes[m]);
        cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
        /* λ given for A·1e-150: λ·1e-300 */
        snprintf(args, sizeof args, "estimate '%s/As.npy' '%s/Bs.npy' -o '%s/Ks.npy' %s -q", dir, dir, dir,
                 m == 2 ? "--reg grad --lambda 1e-300" : modes[m]);
        cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
        kernest_array *k1 = read_npy("K1.npy"), *ks = read_npy("Ks.npy");
        for (size_t i = 0; i < ks->size; i++)
            ks->data[i] *= 1e-300;
        const double d = tu_rel_diff(ks, k1);
        cr_expect(d < 1e-6, "'%s' at A·1e-150, B·1e150: K·1e-300 off by %g", modes[m], d);
        kernest_array_destroy(&k1);
        kernest_array_destroy(&ks);
    }
    const char *cases[][2] = {{"estimate '@/A0.npy' '@/B.npy'", "every A is 0"},
                              {"estimate '@/A.npy' '@/B.npy' --support '@/m0.npy'", "--support leaves no kernel pixel free"}};
    for (int c = 0; c < 2; c++) {
        char err[4096], args[1024], *o = args;
        for (const char *s = cases[c][0]; *s; s++)
            o += *s == '@' ? sprintf(o, "%s", dir) : sprintf(o, "%c", *s);
        snprintf(o, sizeof args - (size_t)(o - args), " -o '%s/K0.npy' --fast --report '%s/r0.json'", dir, dir);
        cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
        cr_expect(strstr(err, "kernest: warning: the estimate is 0") && strstr(err, cases[c][1]),
                  "%s: stderr '%s'", cases[c][1], err);
        char *r = read_text("r0.json");
        cr_expect(strstr(r, cases[c][1]), "%s: not in the report's warnings:\n%.2000s", cases[c][1], r);
        free(r);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&mask);
}
