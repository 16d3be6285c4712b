/* cmd_batch.c — `kernest batch`: many estimates from a JSON-lines manifest, one after another in
 * one process, each job's options parsed and run by the estimate command's own code. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "batch_manifest.h"
#include "cli.h"
#include "base/clock.h"
#include "cmd_estimate.h"
#include "progress.h"

static const char usage[] =
    "usage: kernest batch JOBS.jsonl [options]\n"
    "\n"
    "Run many estimates one after another in this process. Each line of JOBS.jsonl is one job:\n"
    "  {\"inputs\": [\"A.npy\", \"B.npy\"], \"output\": \"K.npy\", \"options\": {\"reg\": \"grad\", \"lambda\": 1e3}}\n"
    "inputs are pairs A B [A2 B2 ...] as for kernest estimate; options (optional) has the long\n"
    "options of kernest estimate as keys, without the dashes: a number or string is the value, true\n"
    "sets a flag (false leaves it out), an array repeats the option (\"fix\": [\"0,0=0\", \"1,0=0\"]).\n"
    "Relative paths in the manifest (inputs, output and file options such as report, profile,\n"
    "support, plot, truth) are relative to the manifest's folder. Blank lines and lines starting\n"
    "with # are ignored.\n"
    "\n"
    "A job whose output already exists is skipped, so rerunning the batch resumes it. A failing job\n"
    "(bad input, bad option) does not stop the others. At the end a table on stdout: each job's\n"
    "status (ok, skipped, failed), iterations, seconds and message.\n"
    "\n"
    "options:\n"
    "      --device D          auto | cpu | cuda | cuda:N for every job (default auto; a job's own\n"
    "                          \"device\" option wins)\n"
    "      --task-index I      run only job I: 0-based, counting job lines only (not blank or #\n"
    "                          lines); default $SLURM_ARRAY_TASK_ID when it is set, so that a Slurm\n"
    "                          job array (sbatch --array=0-N) runs one job per task\n"
    "      --summary FILE.json also write the summary as JSON\n"
    "  -q, --quiet             no progress lines on stderr and no table\n"
    "  -h, --help              this help\n"
    "\n"
    "Under mpirun (a kernest built with MPI) the ranks share the jobs: each job runs on the next free\n"
    "rank, and rank 0 prints the table and writes the summary for all of them.\n"
    "\n"
    "Exit codes: 0 every job ok or skipped, 1 a job failed, 2 bad usage or a malformed manifest\n"
    "(nothing is run then; the message names the line).\n";

static const char *const status_name[JOB_NSTATUS] = {"pending", "ok", "skipped", "failed", "interrupted"};

/* ---- one job ------------------------------------------------------------------------------- */

static void run_job(batch_job *j, const char *device, kernest_context *ctx)
{
    double t0 = kn_now();
    struct stat st;
    if (stat(j->output, &st) == 0) {
        j->status = JOB_SKIPPED;
        snprintf(j->message, sizeof j->message, "output exists");
        return;
    }
    int argc = 0;
    char **argv = batch_job_argv(j->json, device, &argc);
    char **keep = argv ? malloc((size_t)(argc + 1) * sizeof *keep) : NULL; /* getopt permutes argv */
    int rc, interrupted = 0;
    cli_estimate_result res = {.iterations = -1};
    cli_capture_errors(1);
    if (!keep)
        rc = cli_usage_error("out of memory");
    else {
        memcpy(keep, argv, (size_t)(argc + 1) * sizeof *keep);
        cli_estimate est;
        rc = cli_estimate_parse(argc, argv, &est);
        if (rc == CLI_ESTIMATE_HELP)
            rc = cli_usage_error("\"help\" is not a job option");
        else if (rc == CLI_OK) {
            /* a rerun: temporaries that a killed run of this job left (its log streams to one) */
            const char *outs[] = {est.output, est.report_path, est.profile_path, est.log_path,
                                  est.cov_path, est.std_path, est.opt.checkpoint, est.bias_out};
            for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
                if (outs[i])
                    kn_atomic_remove_stale(outs[i]);
            rc = cli_estimate_run(&est, ctx, &res);
            if (cli_signal_received()) { /* interrupted: no result of it may look final (its
                                            checkpoint stays, for a job that resumes) */
                const char *finals[] = {est.output, est.report_path, est.profile_path, est.cov_path,
                                        est.std_path, est.bias_out};
                for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++)
                    if (finals[i])
                        unlink(finals[i]);
                interrupted = cli_signal_received();
            }
        }
        cli_estimate_free(&est);
    }
    cli_capture_errors(0);
    j->seconds = kn_now() - t0;
    if (interrupted) {
        j->status = JOB_INTERRUPTED;
        snprintf(j->message, sizeof j->message, "stopped by %s; its outputs were removed (rerun the "
                 "batch to run it again)", interrupted == SIGTERM ? "SIGTERM" : "SIGINT");
    } else if (rc == CLI_OK) {
        j->status = JOB_OK;
        j->iterations = res.iterations;
        snprintf(j->message, sizeof j->message, "%s", kernest_stop_reason_name(res.reason));
    } else {
        j->status = JOB_FAILED;
        snprintf(j->message, sizeof j->message, "%s", cli_last_message());
    }
    for (int i = 0; keep && i < argc; i++)
        free(keep[i]);
    free(keep);
    free(argv);
}

/* ---- the summary --------------------------------------------------------------------------- */

static void print_table(const batch_job *jobs, size_t first, size_t last)
{
    int ow = 6;
    for (size_t i = first; i < last; i++)
        if ((int)strlen(jobs[i].output) > ow)
            ow = (int)strlen(jobs[i].output);
    if (ow > 40)
        ow = 40;
    printf("%4s %5s  %-7s %6s %9s  %-*s  %s\n", "job", "line", "status", "iters", "seconds", ow, "output", "message");
    for (size_t i = first; i < last; i++) {
        const batch_job *j = &jobs[i];
        char it[16] = "-", sec[24] = "-";
        if (j->iterations >= 0)
            snprintf(it, sizeof it, "%d", j->iterations);
        if (j->status != JOB_SKIPPED)
            snprintf(sec, sizeof sec, "%.2f", j->seconds);
        printf("%4zu %5d  %-7s %6s %9s  %-*s  %s\n", i, j->line, status_name[j->status], it, sec, ow, j->output,
               j->message);
    }
}

static int write_summary(const char *path, const char *manifest, const batch_job *jobs, size_t first, size_t last,
                         const int count[JOB_NSTATUS])
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "manifest", manifest);
    cJSON *arr = cJSON_AddArrayToObject(root, "jobs");
    for (size_t i = first; i < last; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "job", (double)i);
        cJSON_AddNumberToObject(o, "line", jobs[i].line);
        cJSON_AddStringToObject(o, "output", jobs[i].output);
        cJSON_AddStringToObject(o, "status", status_name[jobs[i].status]);
        if (jobs[i].iterations >= 0)
            cJSON_AddNumberToObject(o, "iterations", jobs[i].iterations);
        else
            cJSON_AddNullToObject(o, "iterations");
        cJSON_AddNumberToObject(o, "seconds", jobs[i].status == JOB_SKIPPED ? 0.0 : round(jobs[i].seconds * 1e3) / 1e3);
        cJSON_AddStringToObject(o, "message", jobs[i].message);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddNumberToObject(root, "ok", count[JOB_OK]);
    cJSON_AddNumberToObject(root, "skipped", count[JOB_SKIPPED]);
    cJSON_AddNumberToObject(root, "failed", count[JOB_FAILED]);
    cJSON_AddNumberToObject(root, "interrupted", count[JOB_INTERRUPTED]);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    kn_atomic_file f;
    int st = text ? kn_atomic_open(&f, path) : KERNEST_E_NOMEM;
    if (!st) {
        fputs(text, f.fp);
        fputc('\n', f.fp);
        st = kn_atomic_commit(&f);
    }
    free(text);
    return st ? cli_fail(st) : 0;
}

/* ---- several ranks ------------------------------------------------------------------------- */

/* What a rank learnt about a job, as plain bytes that can cross to rank 0. */
typedef struct job_result {
    batch_job_status status;
    int iterations;
    double seconds;
    char message[sizeof ((batch_job *)0)->message];
} job_result;

/* Collective: rank 0's jobs get the results of the ranks that ran them. */
static int collect_results(batch_job *jobs, size_t njobs, const unsigned char *mine)
{
    job_result *r = calloc(njobs ? njobs : 1, sizeof *r);
    if (!r)
        return cli_usage_error("batch: out of memory"); /* the other ranks then wait: unlikely */
    for (size_t i = 0; i < njobs; i++) {
        r[i] = (job_result){jobs[i].status, jobs[i].iterations, jobs[i].seconds, ""};
        memcpy(r[i].message, jobs[i].message, sizeof r[i].message);
    }
    cli_mpi_collect(r, njobs, sizeof *r, mine);
    for (size_t i = 0; i < njobs; i++) {
        jobs[i].status = r[i].status;
        jobs[i].iterations = r[i].iterations;
        jobs[i].seconds = r[i].seconds;
        memcpy(jobs[i].message, r[i].message, sizeof r[i].message);
    }
    free(r);
    return CLI_OK;
}

/* ---- the command --------------------------------------------------------------------------- */

static int parse_index(const char *what, const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 100000000)
        return cli_usage_error("%s: '%s' is not a job index (an integer >= 0)", what, s);
    *out = v;
    return 0;
}

int cmd_batch(int argc, char **argv)
{
    static const struct option longopts[] = {{"device", required_argument, 0, 'd'},
                                             {"task-index", required_argument, 0, 't'},
                                             {"summary", required_argument, 0, 's'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *device = NULL, *summary = NULL;
    long task = -1;
    const char *task_from = "--task-index";
    int quiet = 0, c, rc = CLI_OK;
    kernest_device_kind kind;
    int index;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (cli_parse_device(optarg, &kind, &index))
                return CLI_USAGE;
            device = optarg;
            break;
        case 't':
            if (parse_index("--task-index", optarg, &task))
                return CLI_USAGE;
            break;
        case 's': summary = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("batch: option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error("batch: unknown option '%s' (see kernest batch --help)", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("batch: expected one manifest JOBS.jsonl, got %d file%s", argc - optind,
                               argc - optind == 1 ? "" : "s");
    const char *manifest = argv[optind];
    const char *env = getenv("SLURM_ARRAY_TASK_ID");
    if (task < 0 && env && *env) {
        task_from = "$SLURM_ARRAY_TASK_ID";
        if (parse_index(task_from, env, &task))
            return CLI_USAGE;
    }

    /* paths given here are relative to the current folder; the jobs run in the manifest's */
    char *summary_abs = NULL, *dir_copy = NULL;
    batch_job *jobs = NULL;
    unsigned char *mine = NULL; /* the jobs this rank ran */
    kernest_context *ctx = NULL;
    size_t njobs = 0;
    int cwd = -1;
    if (summary) {
        if ((rc = cli_check_output("--summary", summary)))
            goto done;
        summary_abs = summary[0] == '/' ? strdup(summary) : realpath(".", NULL);
        if (summary_abs && summary[0] != '/') {
            char *full = NULL;
            if (asprintf(&full, "%s/%s", summary_abs, summary) < 0)
                full = NULL;
            free(summary_abs);
            summary_abs = full;
        }
        if (!summary_abs) {
            rc = cli_usage_error("--summary: out of memory");
            goto done;
        }
    }
    if ((rc = batch_read_manifest(manifest, &jobs, &njobs)))
        goto done;
    size_t first = 0, last = njobs;
    if (task >= 0) {
        if ((size_t)task >= njobs) {
            rc = cli_usage_error("%s %ld: %s has %zu job%s (0..%zu)", task_from, task, manifest, njobs,
                                 njobs == 1 ? "" : "s", njobs - 1);
            goto done;
        }
        first = (size_t)task;
        last = first + 1;
    }
    dir_copy = strdup(manifest);
    cwd = open(".", O_RDONLY | O_DIRECTORY);
    if (!dir_copy || cwd < 0) {
        rc = cli_usage_error("batch: cannot note the current folder: %s", strerror(errno));
        goto done;
    }
    if (chdir(dirname(dir_copy)) != 0) {
        rc = cli_usage_error("%s: cannot enter the manifest's folder: %s", manifest, strerror(errno));
        goto done;
    }
    /* under mpirun the ranks share the jobs through a queue, each job on one rank */
    const int spread = cli_mpi_size() > 1;
    if (spread) {
        cli_mpi_set_local(1);
        if ((rc = cli_mpi_queue_open()))
            goto done;
    }
    mine = calloc(njobs ? njobs : 1, 1);
    if (!mine) {
        rc = cli_usage_error("batch: out of memory");
        goto done;
    }
    /* jobs of one shape share the FFT plans and device buffers */
    if (kernest_context_create(&ctx)) {
        rc = cli_usage_error("batch: out of memory");
        goto done;
    }
    for (size_t i = first;;) {
        long next;
        const int q = cli_mpi_queue_next((long)(last - first), &next);
        if (q == 0 || (q < 0 && i >= last))
            break;
        if (q > 0)
            i = first + (size_t)next;
        run_job(&jobs[i], device, ctx);
        mine[i] = 1;
        if (!quiet) {
            if (spread)
                fprintf(stderr, "kernest batch: rank %d: ", cli_mpi_rank());
            else
                fputs("kernest batch: ", stderr);
            fprintf(stderr, "job %zu (line %d) %s", i, jobs[i].line, status_name[jobs[i].status]);
            if (jobs[i].status == JOB_SKIPPED)
                fprintf(stderr, ": %s exists\n", jobs[i].output);
            else if (jobs[i].status == JOB_FAILED || jobs[i].status == JOB_INTERRUPTED)
                fprintf(stderr, ": %s\n", jobs[i].message);
            else
                fprintf(stderr, " in %.2f s: %s\n", jobs[i].seconds, jobs[i].output);
        }
        if (q < 0)
            i++;
        if (!spread && cli_signal_received()) /* no job starts after a signal */
            break;
    }
    kernest_context_destroy(&ctx);
    if (spread) {
        cli_mpi_queue_close();
        if ((rc = collect_results(jobs, njobs, mine)))
            goto done;
    }
    int count[JOB_NSTATUS] = {0};
    for (size_t i = first; i < last; i++)
        count[jobs[i].status]++;
    if (fchdir(cwd) != 0) {
        rc = cli_usage_error("batch: cannot return to the starting folder: %s", strerror(errno));
        goto done;
    }
    if (cli_mpi_rank() != 0) { /* rank 0 reports for every rank */
        rc = cli_mpi_max(count[JOB_FAILED] ? CLI_RUNTIME : CLI_OK);
        goto done;
    }
    if (!quiet) {
        print_table(jobs, first, last);
        printf("%zu job%s: %d ok, %d skipped, %d failed%s\n", last - first, last - first == 1 ? "" : "s",
               count[JOB_OK], count[JOB_SKIPPED], count[JOB_FAILED],
               count[JOB_INTERRUPTED] ? ", stopped by a signal (rerun the batch to finish)" : "");
        fflush(stdout);
    }
    rc = summary_abs ? write_summary(summary_abs, manifest, jobs, first, last, count) : CLI_OK;
    if (!rc)
        rc = cli_signal_received() ? 128 + cli_signal_received() : count[JOB_FAILED] ? CLI_RUNTIME : CLI_OK;
    if (spread)
        rc = cli_mpi_max(rc);
done:
    kernest_context_destroy(&ctx);
    if (cwd >= 0)
        close(cwd);
    batch_free_jobs(jobs, njobs);
    free(mine);
    free(dir_copy);
    free(summary_abs);
    return rc;
}
