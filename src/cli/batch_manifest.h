/* batch_manifest.h — the manifest of `kernest batch`: its jobs read and checked, and each job's
 * estimate command line. Apart from cmd_batch.c so that it can be tested (fuzz/fuzz_batch_manifest.c)
 * without running any job. */
#ifndef KN_BATCH_MANIFEST_H
#define KN_BATCH_MANIFEST_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum { JOB_PENDING, JOB_OK, JOB_SKIPPED, JOB_FAILED, JOB_INTERRUPTED, JOB_NSTATUS } batch_job_status;

typedef struct batch_job {
    int line;           /* 1-based line in the manifest */
    cJSON *json;        /* the parsed line (owned) */
    const char *output; /* inside json */
    char *output_key;   /* output's resolved path (cli_path_key; owned): duplicates are found by it */
    batch_job_status status;
    int iterations;     /* -1 when none */
    double seconds;
    char message[512];
} batch_job;

/* Reads and checks every job of the manifest at path; returns 0 or an exit code (CLI_USAGE, the
 * message printed: "FILE:LINE: what"). *jobs_out and *njobs are set in both cases (the jobs parsed
 * so far); free them with batch_free_jobs. */
int batch_read_manifest(const char *path, batch_job **jobs_out, size_t *njobs);
void batch_free_jobs(batch_job *jobs, size_t njobs);

/* The estimate command line of a checked job: estimate [--device D] OPTIONS -q -o OUT -- INPUTS.
 * argv[*argc] is NULL; each string and the array are malloc'd. NULL when out of memory. */
char **batch_job_argv(const cJSON *job, const char *device, int *argc);

#endif
