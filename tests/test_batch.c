/* test_batch.c — `kernest batch`: several jobs, a failing job among good ones, resume, task index
 * (option and $SLURM_ARRAY_TASK_ID), malformed manifests, paths relative to the manifest. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
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

TestSuite(batch, .init = tu_dir_setup, .fini = tu_dir_teardown, .timeout = 120);

/* ---- helpers -------------------------------------------------------------------------------- */

static char *in_dir(const char *name)
{
    char *p = tu_path(tu_dir, name);
    cr_assert_not_null(p);
    return p;
}

/* data/A.npy and data/B.npy (12x12, same mode, a 5x5 kernel) under the test folder. */
static void write_pair(void)
{
    char *data = in_dir("data");
    cr_assert_eq(mkdir(data, 0777), 0);
    unsigned long long seed = 11;
    kernest_array *A = tu_random_array(12, 12, 0, 1, &seed), *K = tu_random_array(5, 5, 0, 1, &seed);
    kernest_array *B = tu_direct_convolve(A, K, KERNEST_MODE_SAME);
    char *pa = in_dir("data/A.npy"), *pb = in_dir("data/B.npy");
    cr_assert_eq(kernest_npy_write(pa, A, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_npy_write(pb, B, KERNEST_DOUBLE), KERNEST_OK);
    free(pa);
    free(pb);
    free(data);
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    kernest_array_destroy(&B);
}

static void write_text(const char *name, const char *text)
{
    char *p = in_dir(name);
    cr_assert_eq(tu_write_bytes(p, text, strlen(text)), 0);
    free(p);
}

static int exists(const char *name)
{
    char *p = in_dir(name);
    int e = tu_exists(p);
    free(p);
    return e;
}

/* Runs `kernest batch DIR/MANIFEST EXTRA` from the build folder (not the manifest's). */
static int batch(const char *manifest, const char *extra, char *err, size_t cap)
{
    char args[2048];
    snprintf(args, sizeof args, "batch '%s/%s' %s", tu_dir, manifest, extra ? extra : "");
    return tu_run_cli(args, err, cap);
}

static cJSON *read_json(const char *name)
{
    char *p = in_dir(name);
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "cannot open %s", p);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    free(p);
    cJSON *j = cJSON_Parse(buf);
    cr_assert_not_null(j, "not JSON: %s", buf);
    return j;
}

static const cJSON *summary_job(const cJSON *s, int i)
{
    const cJSON *j = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "jobs"), i);
    cr_assert_not_null(j, "no job %d in the summary", i);
    return j;
}

static const char *job_status(const cJSON *s, int i)
{
    return cJSON_GetObjectItem(summary_job(s, i), "status")->valuestring;
}

#define GOOD(out) "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"" out "\", \"options\": {\"maxiter\": 40, \"threads\": 1}}\n"

/* ---- tests ---------------------------------------------------------------------------------- */

Test(batch, runs_every_job_and_a_failing_one_does_not_stop_the_others)
{
    write_pair();
    write_text("jobs.jsonl",
               "# three good jobs, two bad ones\n"
               "\n" GOOD("K0.npy")
               "{\"inputs\": [\"data/missing.npy\", \"data/B.npy\"], \"output\": \"K1.npy\"}\n"
               "   # an indented comment\n"
               "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"out/K2.npy\", \"options\": "
               "{\"reg\": \"grad\", \"lambda\": 1e-3, \"nonneg\": true, \"maxiter\": 30, \"report\": \"out/r2.json\"}}\n"
               "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K3.npy\", \"options\": {\"lambada\": 3}}\n"
               "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K4.npy\", \"options\": "
               "{\"fix\": [\"0,0=0.5\", \"1,1=0\"], \"nonneg\": false, \"maxiter\": 20}}\n");
    char *out = in_dir("out");
    cr_assert_eq(mkdir(out, 0777), 0);
    free(out);
    char err[8192];
    int rc = batch("jobs.jsonl", "--summary summary-batch.json --device cpu", err, sizeof err);
    cr_assert_eq(rc, 1, "one job failed: exit 1, got %d (%s)", rc, err);
    /* outputs and the report lie beside the manifest, not in the current folder */
    cr_assert(exists("K0.npy") && exists("out/K2.npy") && exists("out/r2.json") && exists("K4.npy"), "%s", err);
    cr_assert_not(exists("K1.npy") || exists("K3.npy"));
    cr_assert(strstr(err, "missing.npy"), "%s", err);
    cr_assert(strstr(err, "lambada"), "%s", err);
    /* the summary was written relative to the current folder */
    cr_assert(tu_exists("summary-batch.json"));
    cJSON *s = NULL;
    {
        FILE *f = fopen("summary-batch.json", "rb");
        static char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        remove("summary-batch.json");
        s = cJSON_Parse(buf);
        cr_assert_not_null(s);
    }
    const char *want[] = {"ok", "failed", "ok", "failed", "ok"};
    const int lines[] = {3, 4, 6, 7, 8};
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(job_status(s, i), want[i], "job %d", i);
        cr_assert_eq(cJSON_GetObjectItem(summary_job(s, i), "line")->valueint, lines[i], "job %d line", i);
    }
    cr_assert_gt(cJSON_GetObjectItem(summary_job(s, 0), "iterations")->valueint, 0);
    cr_assert(strstr(cJSON_GetObjectItem(summary_job(s, 1), "message")->valuestring, "missing.npy"));
    cr_assert_eq(cJSON_GetObjectItem(s, "ok")->valueint, 3);
    cr_assert_eq(cJSON_GetObjectItem(s, "failed")->valueint, 2);
    cJSON_Delete(s);
    /* the options reached the solver: the fixed pixel holds its value, the report has the options */
    kernest_array *K4 = NULL;
    char *p = in_dir("K4.npy");
    cr_assert_eq(kernest_npy_read(p, &K4), KERNEST_OK);
    free(p);
    size_t c = (K4->shape[0] - 1) / 2 * K4->shape[1] + (K4->shape[1] - 1) / 2;
    cr_assert_float_eq(K4->data[c], 0.5, 1e-12);
    kernest_array_destroy(&K4);
    cJSON *r = read_json("out/r2.json");
    char *txt = cJSON_PrintUnformatted(r);
    cr_assert(strstr(txt, "grad"), "%s", txt);
    free(txt);
    cJSON_Delete(r);
}

Test(batch, same_result_as_estimate)
{
    write_pair();
    write_text("jobs.jsonl", "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"Kb.npy\", "
                             "\"options\": {\"reg\": \"ridge\", \"lambda\": 0.001, \"maxiter\": 25, \"threads\": 1}}\n");
    char err[4096], args[2048];
    cr_assert_eq(batch("jobs.jsonl", "--device cpu", err, sizeof err), 0, "%s", err);
    snprintf(args, sizeof args,
             "estimate '%1$s/data/A.npy' '%1$s/data/B.npy' -o '%1$s/Ke.npy' --reg ridge --lambda 0.001 "
             "--maxiter 25 --threads 1 --device cpu",
             tu_dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    kernest_array *a = NULL, *b = NULL;
    char *pa = in_dir("Kb.npy"), *pe = in_dir("Ke.npy");
    cr_assert_eq(kernest_npy_read(pa, &a), KERNEST_OK);
    cr_assert_eq(kernest_npy_read(pe, &b), KERNEST_OK);
    cr_assert_eq(a->size, b->size);
    cr_assert_lt(tu_rel_diff(a, b), 1e-12);
    free(pa);
    free(pe);
    kernest_array_destroy(&a);
    kernest_array_destroy(&b);
}

/* jobs of one shape keep the operator's plans and buffers; a job of another shape makes its own;
 * a kept operator gives exactly what a fresh one gives */
Test(batch, jobs_of_one_shape_reuse_the_setup)
{
    write_pair();
    write_text("jobs.jsonl",
               "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K1.npy\", \"options\": "
               "{\"reg\": \"ridge\", \"lambda\": 0.001, \"maxiter\": 25, \"threads\": 1, \"report\": \"r1.json\"}}\n"
               "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K2.npy\", \"options\": "
               "{\"reg\": \"ridge\", \"lambda\": 0.001, \"maxiter\": 25, \"threads\": 1, \"report\": \"r2.json\"}}\n"
               "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K3.npy\", \"options\": "
               "{\"reg\": \"ridge\", \"lambda\": 0.001, \"maxiter\": 25, \"threads\": 1, \"ksize\": \"5x5\", "
               "\"report\": \"r3.json\"}}\n");
    char err[4096];
    cr_assert_eq(batch("jobs.jsonl", "--device cpu", err, sizeof err), 0, "%s", err);
    const char *names[] = {"r1.json", "r2.json", "r3.json"};
    const int want[] = {0, 1, 0};
    for (int i = 0; i < 3; i++) {
        cJSON *r = read_json(names[i]);
        const cJSON *d = cJSON_GetObjectItem(r, "device");
        cr_assert(cJSON_IsBool(cJSON_GetObjectItem(d, "reused_setup")), "%s: no device.reused_setup", names[i]);
        cr_expect_eq(cJSON_IsTrue(cJSON_GetObjectItem(d, "reused_setup")), want[i], "%s", names[i]);
        cJSON_Delete(r);
    }
    kernest_array *a = NULL, *b = NULL;
    char *p1 = in_dir("K1.npy"), *p2 = in_dir("K2.npy");
    cr_assert_eq(kernest_npy_read(p1, &a), KERNEST_OK);
    cr_assert_eq(kernest_npy_read(p2, &b), KERNEST_OK);
    cr_assert_eq(a->size, b->size);
    cr_expect_eq(memcmp(a->data, b->data, a->size * sizeof *a->data), 0, "a kept setup changed the result");
    free(p1);
    free(p2);
    kernest_array_destroy(&a);
    kernest_array_destroy(&b);
}

Test(batch, rerun_skips_finished_jobs)
{
    write_pair();
    write_text("jobs.jsonl", GOOD("K0.npy") GOOD("K1.npy") GOOD("K2.npy"));
    write_text("K1.npy", "sentinel"); /* already there: never touched */
    char err[4096];
    cr_assert_eq(batch("jobs.jsonl", NULL, err, sizeof err), 0, "%s", err);
    cr_assert(exists("K0.npy") && exists("K2.npy"));
    char *p = in_dir("K1.npy");
    FILE *f = fopen(p, "rb");
    char buf[16] = {0};
    cr_assert_eq(fread(buf, 1, sizeof buf - 1, f), 8);
    fclose(f);
    cr_assert_str_eq(buf, "sentinel");
    free(p);
    /* resume after an interruption: K2 lost, the rest skipped */
    p = in_dir("K2.npy");
    remove(p);
    free(p);
    char summary[1024];
    snprintf(summary, sizeof summary, "--summary '%s/s2.json'", tu_dir);
    cr_assert_eq(batch("jobs.jsonl", summary, err, sizeof err), 0, "%s", err);
    cJSON *s = read_json("s2.json");
    cr_assert_str_eq(job_status(s, 0), "skipped");
    cr_assert_str_eq(job_status(s, 1), "skipped");
    cr_assert_str_eq(job_status(s, 2), "ok");
    cr_assert_eq(cJSON_GetObjectItem(s, "skipped")->valueint, 2);
    cJSON_Delete(s);
}

Test(batch, task_index_runs_one_job)
{
    write_pair();
    write_text("jobs.jsonl", "# header\n" GOOD("K0.npy") "\n" GOOD("K1.npy") "# between\n" GOOD("K2.npy"));
    char err[4096];
    cr_assert_eq(batch("jobs.jsonl", "--task-index 1", err, sizeof err), 0, "%s", err);
    cr_assert(exists("K1.npy") && !exists("K0.npy") && !exists("K2.npy"), "only job 1 (the second job line)");

    setenv("SLURM_ARRAY_TASK_ID", "2", 1);
    int rc = batch("jobs.jsonl", NULL, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(exists("K2.npy") && !exists("K0.npy"), "$SLURM_ARRAY_TASK_ID=2 runs job 2");
    rc = batch("jobs.jsonl", "--task-index 0", err, sizeof err); /* the option wins */
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(exists("K0.npy"));
    setenv("SLURM_ARRAY_TASK_ID", "x1", 1);
    rc = batch("jobs.jsonl", NULL, err, sizeof err);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err, "SLURM_ARRAY_TASK_ID"), "%s", err);
    unsetenv("SLURM_ARRAY_TASK_ID");

    rc = batch("jobs.jsonl", "--task-index 3", err, sizeof err);
    cr_assert_eq(rc, 2, "out of range: %s", err);
    cr_assert(strstr(err, "3 jobs"), "%s", err);
    cr_assert_eq(batch("jobs.jsonl", "--task-index -1", err, sizeof err), 2);
}

Test(batch, malformed_manifest_runs_nothing)
{
    write_pair();
    static const struct {
        const char *line, *why;
    } bad[] = {
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\"", "not valid JSON"},
        {"[1, 2]", "JSON object"},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"]}", "\"output\""},
        {"{\"inputs\": \"data/A.npy\", \"output\": \"K9.npy\"}", "\"inputs\""},
        {"{\"inputs\": [], \"output\": \"K9.npy\"}", "\"inputs\""},
        {"{\"inputs\": [\"data/A.npy\", 3], \"output\": \"K9.npy\"}", "\"inputs\""},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\", \"opts\": {}}", "unknown key"},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\", \"options\": [1]}", "\"options\""},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\", \"options\": {\"reg\": {}}}", "\"reg\""},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\", \"options\": {\"lambda\": null}}", "\"lambda\""},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\", \"options\": {\"output\": \"x\"}}", "\"output\""},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K0.npy\"}", "also the output of line 2"},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\"} trailing", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[2048], err[4096];
        snprintf(text, sizeof text, "# job 0 is good\n%s%s\n", GOOD("K0.npy"), bad[i].line);
        write_text("jobs.jsonl", text);
        int rc = batch("jobs.jsonl", NULL, err, sizeof err);
        cr_assert_eq(rc, 2, "case %zu (%s): exit %d, %s", i, bad[i].line, rc, err);
        cr_assert(strstr(err, "jobs.jsonl:3:"), "case %zu names the line: %s", i, err);
        cr_assert(strstr(err, bad[i].why), "case %zu: expected '%s' in %s", i, bad[i].why, err);
        cr_assert_not(exists("K0.npy"), "case %zu: nothing runs", i);
    }
    char err[4096];
    write_text("empty.jsonl", "# nothing\n\n");
    cr_assert_eq(batch("empty.jsonl", NULL, err, sizeof err), 2);
    cr_assert(strstr(err, "no jobs"), "%s", err);
    cr_assert_eq(batch("absent.jsonl", NULL, err, sizeof err), 2);
    cr_assert(strstr(err, "absent.jsonl"), "%s", err);
}

Test(batch, usage_errors)
{
    write_pair();
    write_text("jobs.jsonl", GOOD("K0.npy"));
    char err[4096];
    cr_assert_eq(batch("jobs.jsonl", "--device gpu", err, sizeof err), 2);
    cr_assert(strstr(err, "--device"), "%s", err);
    cr_assert_eq(batch("jobs.jsonl", "--bogus", err, sizeof err), 2);
    cr_assert_eq(batch("jobs.jsonl", "second.jsonl", err, sizeof err), 2);
    char args[1024];
    snprintf(args, sizeof args, "batch '%s/jobs.jsonl' --summary /nonexistent-dir/s.json", tu_dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 2);
    cr_assert_not(exists("K0.npy"), "nothing runs when the summary cannot be written");
    /* --help names the task index and the Slurm variable */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' batch --help", KERNEST_CLI);
    FILE *p = popen(cmd, "r");
    char help[8192];
    size_t n = fread(help, 1, sizeof help - 1, p);
    help[n] = '\0';
    cr_assert_eq(pclose(p), 0);
    cr_assert(strstr(help, "--task-index") && strstr(help, "SLURM_ARRAY_TASK_ID") && strstr(help, "0-based"), "%s", help);
}

/* Issue 21, item 2: an output that is an input or another job's output (compared as resolved
 * paths: K1.npy, ./K1.npy and the absolute path alike) is refused before any job runs. */
Test(batch, outputs_compared_as_resolved_paths)
{
    write_pair();
    static const struct {
        const char *line, *why;
    } bad[] = {
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"./K0.npy\"}", "also the output of line 2"},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"data/../K0.npy\"}", "also the output of line 2"},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"./data/A.npy\"}", "input 1"},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\", \"options\": {\"report\": \"data/B.npy\"}}", "input 2"},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K9.npy\", \"options\": {\"log\": \"./K9.npy\"}}", "\"log\""},
        {"{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K_std.npy\", \"options\": {\"reg\": \"grad\", \"lambda\": 1, \"uncertainty\": \"K\"}}", "\"uncertainty\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[2048], err[4096];
        snprintf(text, sizeof text, "# job 0 is good\n%s%s\n", GOOD("K0.npy"), bad[i].line);
        write_text("jobs.jsonl", text);
        int rc = batch("jobs.jsonl", NULL, err, sizeof err);
        cr_assert_eq(rc, 2, "case %zu (%s): exit %d, %s", i, bad[i].line, rc, err);
        cr_assert(strstr(err, "jobs.jsonl:3:"), "case %zu names the line: %s", i, err);
        cr_assert(strstr(err, bad[i].why), "case %zu: expected '%s' in %s", i, bad[i].why, err);
        cr_assert_not(exists("K0.npy"), "case %zu: nothing runs", i);
        cr_assert_not(exists("K9.npy"), "case %zu: nothing runs", i);
    }
    /* the absolute path of another job's output */
    char text[4096], err[4096];
    snprintf(text, sizeof text, "%s{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"%s/K0.npy\"}\n",
             GOOD("K0.npy"), tu_dir);
    write_text("jobs.jsonl", text);
    cr_assert_eq(batch("jobs.jsonl", NULL, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "also the output of line 1"), "%s", err);
}

/* Issue 21, item 9: a job killed by SIGKILL leaves its log's temporary file; rerunning the batch
 * removes it (the temporary no longer held by a live writer) and writes the log. */
Test(batch, rerun_removes_a_killed_jobs_temporaries)
{
    write_pair();
    write_text("jobs.jsonl", "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K0.npy\", "
                             "\"options\": {\"maxiter\": 5, \"threads\": 1, \"fast\": true, \"log\": \"K0.jsonl\"}}\n");
    write_text("K0.jsonl.tmp.Ab12Cd", "{\"iter\": 0}\n"); /* what a SIGKILL mid-job leaves */
    write_text("K0.npy.tmp.Zz99Yy", "partial");
    char err[4096];
    int rc = batch("jobs.jsonl", "-q", err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    cr_assert(exists("K0.npy") && exists("K0.jsonl"));
    cr_assert_not(exists("K0.jsonl.tmp.Ab12Cd"), "the killed run's log temporary is left");
    cr_assert_not(exists("K0.npy.tmp.Zz99Yy"), "the killed run's kernel temporary is left");
}

/* Issue 21, item 1: SIGTERM to a batch mid-job stops it: the running job leaves no output that
 * looks final, no further job starts, the summary says which job was stopped, the exit is 143,
 * and a rerun runs the unfinished jobs. */
Test(batch, signal_stops_the_batch_and_the_rerun_finishes_it)
{
    write_pair();
    /* jobs that run until stopped: ridge keeps CGLS going at tol 0 */
    const char *slow = "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"%s\", \"options\": {\"reg\": "
                       "\"ridge\", \"lambda\": 0.001, \"tol\": 0, \"maxiter\": 100000000, \"threads\": 1, "
                       "\"log\": \"%s.jsonl\"}}\n";
    char text[2048];
    snprintf(text, sizeof text, "%s", "");
    char line[1024];
    for (int j = 0; j < 2; j++) {
        char out[16];
        snprintf(out, sizeof out, "K%d.npy", j);
        snprintf(line, sizeof line, slow, out, out);
        strncat(text, line, sizeof text - strlen(text) - 1);
    }
    write_text("jobs.jsonl", text);
    char *manifest = in_dir("jobs.jsonl"), *summary = in_dir("s.json");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(KERNEST_CLI, "kernest", "batch", manifest, "--summary", summary, (char *)NULL);
        _exit(127);
    }
    /* wait until the first job iterates (its log streams to a temporary beside K0.npy.jsonl) */
    int started = 0;
    for (int t = 0; t < 400 && !started; t++) {
        DIR *d = opendir(tu_dir);
        struct dirent *e;
        while (d && (e = readdir(d)))
            started |= !strncmp(e->d_name, "K0.npy.jsonl", 12);
        if (d)
            closedir(d);
        if (!started)
            usleep(50000);
    }
    cr_assert(started, "the first job did not start");
    usleep(200000);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 143, "exit status %d", WEXITSTATUS(status));
    cr_assert_not(exists("K0.npy"), "the stopped job's estimate looks final");
    cr_assert_not(exists("K1.npy"), "a job started after the signal");
    cJSON *s = read_json("s.json");
    cr_assert_str_eq(job_status(s, 0), "interrupted");
    cr_assert_str_eq(job_status(s, 1), "pending");
    cJSON_Delete(s);
    /* the rerun (here with fewer iterations, to stay short) runs both */
    snprintf(text, sizeof text, "%s", "");
    for (int j = 0; j < 2; j++) {
        snprintf(line, sizeof line, "{\"inputs\": [\"data/A.npy\", \"data/B.npy\"], \"output\": \"K%d.npy\", "
                 "\"options\": {\"maxiter\": 20, \"threads\": 1, \"fast\": true}}\n", j);
        strncat(text, line, sizeof text - strlen(text) - 1);
    }
    write_text("jobs.jsonl", text);
    char err[4096];
    cr_assert_eq(batch("jobs.jsonl", "-q", err, sizeof err), 0, "%s", err);
    cr_assert(exists("K0.npy") && exists("K1.npy"));
    free(manifest);
    free(summary);
}
