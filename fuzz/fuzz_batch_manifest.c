/* fuzz_batch_manifest.c — fuzzes the `kernest batch` manifest reader (JSON lines, cJSON) and each
 * checked job's estimate command line, without running any job: a bad manifest must give exit
 * code 2 and a one-line message; a good one, command lines ending in "--" and the inputs. */
#include <stdlib.h>
#include <string.h>

#include "cli/batch_manifest.h"
#include "cli/cli.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_scratch_dir();
    return 0;
}

static void check_argv(const batch_job *j, const char *device)
{
    int argc = -1;
    char **argv = batch_job_argv(j->json, device, &argc);
    if (!argv || argc < 6 || argv[argc] || strcmp(argv[0], "estimate"))
        abort();
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j->json, "inputs");
    int nin = cJSON_GetArraySize(in);
    if (strcmp(argv[argc - nin - 1], "--") || strcmp(argv[argc - nin - 2], j->output))
        abort();
    for (int i = 0; i < nin; i++)
        if (strcmp(argv[argc - nin + i], cJSON_GetArrayItem(in, i)->valuestring))
            abort();
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_bytes_as_file(data, size);
    if (!path)
        return 0;
    batch_job *jobs = NULL;
    size_t n = 0;
    cli_capture_errors(1);
    int rc = batch_read_manifest(path, &jobs, &n);
    cli_capture_errors(0);
    if (rc != 0 && (rc != CLI_USAGE || !cli_last_message()[0] || strchr(cli_last_message(), '\n')))
        abort(); /* a bad manifest: exit code 2, one line that says why */
    for (size_t i = 0; !rc && i < n; i++)
        check_argv(&jobs[i], i % 2 ? "cpu" : NULL);
    batch_free_jobs(jobs, n);
    return 0;
}
