/* batch_manifest.c — the manifest of `kernest batch` (JSON lines): read and check its jobs, and
 * turn a job into its estimate command line. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libgen.h>
#include <fcntl.h>

#include "batch_manifest.h"
#include "cli.h"

/* ---- the manifest -------------------------------------------------------------------------- */

/* A name from the manifest as a message shows it: control bytes (a JSON "\n" in a key, say) as
 * '?', so that the message stays one line; "..." when it does not fit in buf. */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t k = 0;
    for (; *s && k + 4 < cap; s++)
        buf[k++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (*s && k + 3 < cap)
        buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

/* Checks one option value: a string, a number, a boolean, or an array of strings and numbers. */
static const char *bad_option_value(const cJSON *v)
{
    if (cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v))
        return NULL;
    if (cJSON_IsArray(v)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        if (!cJSON_IsString(e) && !cJSON_IsNumber(e))
            return "an array may hold only strings and numbers";
        return NULL;
    }
    return "must be a string, a number, true/false or an array";
}

/* Parses and checks one job line; returns 0, or prints "FILE:LINE: what" and returns CLI_USAGE. */
static int parse_job(const char *manifest, int line, const char *text, batch_job *j)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithOpts(text, &end, 1);
    if (!o) {
        const char *at = cJSON_GetErrorPtr();
        return cli_usage_error("%s:%d: not valid JSON (at column %ld)", manifest, line,
                               at && at >= text ? (long)(at - text) + 1 : 1L);
    }
    *j = (batch_job){.line = line, .json = o, .iterations = -1};
    if (!cJSON_IsObject(o))
        return cli_usage_error("%s:%d: a job must be a JSON object {\"inputs\": [...], \"output\": ...}", manifest, line);
    const cJSON *item;
    char name[128];
    cJSON_ArrayForEach(item, o)
    if (strcmp(item->string, "inputs") && strcmp(item->string, "output") && strcmp(item->string, "options"))
        return cli_usage_error("%s:%d: unknown key \"%s\" (a job has inputs, output, options)", manifest, line,
                               shown(item->string, name, sizeof name));
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "inputs");
    if (!cJSON_IsArray(in) || cJSON_GetArraySize(in) == 0)
        return cli_usage_error("%s:%d: \"inputs\" must be a non-empty array of file names", manifest, line);
    cJSON_ArrayForEach(item, in)
    if (!cJSON_IsString(item) || !*item->valuestring)
        return cli_usage_error("%s:%d: \"inputs\" must hold file names (strings)", manifest, line);
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(o, "output");
    if (!cJSON_IsString(out) || !*out->valuestring)
        return cli_usage_error("%s:%d: \"output\" must be a file name (a string)", manifest, line);
    j->output = out->valuestring;
    if (!(j->output_key = cli_path_key(j->output)))
        return cli_usage_error("out of memory");
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(o, "options");
    if (opts && !cJSON_IsObject(opts))
        return cli_usage_error("%s:%d: \"options\" must be an object", manifest, line);
    /* no file the job writes may be one it reads or another it writes: found here, before any job
     * runs (the job's own estimate checks the same again) */
    {
        static const char *const readers[] = {"truth", "support"};
        static const char *const writers[] = {"report", "profile", "log", "checkpoint", "bias-out"};
        const int nin = cJSON_GetArraySize(in);
        const size_t cap = (size_t)nin + 2 + 1 + 5 + 2;
        char *unc[2] = {NULL, NULL}; /* "uncertainty": PREFIX_coverage.npy and PREFIX_std.npy */
        const char **what = calloc(cap, sizeof *what), **path = calloc(cap, sizeof *path);
        char (*labels)[48] = calloc(cap, sizeof *labels);
        int rc = 0;
        if (!what || !path || !labels)
            rc = cli_usage_error("out of memory");
        size_t k = 0;
        cJSON_ArrayForEach(item, in)
        {
            if (rc)
                break;
            snprintf(labels[k], sizeof labels[k], "input %zu", k + 1);
            what[k] = labels[k];
            path[k++] = item->valuestring;
        }
        for (size_t i = 0; !rc && i < 2; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, readers[i]);
            if (cJSON_IsString(v) && strncmp(v->valuestring, "disk:", 5) && strncmp(v->valuestring, "box:", 4)) {
                snprintf(labels[k], sizeof labels[k], "\"%s\"", readers[i]);
                what[k] = labels[k];
                path[k++] = v->valuestring;
            }
        }
        const size_t ninputs = k;
        if (!rc) {
            what[k] = "\"output\"";
            path[k++] = j->output;
        }
        for (size_t i = 0; !rc && i < sizeof writers / sizeof *writers; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, writers[i]);
            if (cJSON_IsString(v)) {
                snprintf(labels[k], sizeof labels[k], "\"%s\"", writers[i]);
                what[k] = labels[k];
                path[k++] = v->valuestring;
            }
        }
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(opts, "uncertainty");
        if (!rc && cJSON_IsString(u)) {
            if (asprintf(&unc[0], "%s_coverage.npy", u->valuestring) < 0 ||
                asprintf(&unc[1], "%s_std.npy", u->valuestring) < 0)
                rc = cli_usage_error("out of memory");
            for (int i = 0; !rc && i < 2; i++) {
                what[k] = "\"uncertainty\"";
                path[k++] = unc[i];
            }
        }
        if (!rc) {
            char why[1024];
            cli_capture_errors(1);
            rc = cli_check_distinct(k, what, path, ninputs);
            snprintf(why, sizeof why, "%s", cli_last_message());
            cli_capture_errors(0);
            if (rc)
                rc = cli_usage_error("%s:%d: %s", manifest, line, why);
        }
        free(what);
        free(path);
        free(labels);
        free(unc[0]);
        free(unc[1]);
        if (rc)
            return rc;
    }
    cJSON_ArrayForEach(item, opts)
    {
        const char *why = bad_option_value(item);
        if (!strcmp(item->string, "output") || !strcmp(item->string, "o"))
            why = "give the kernel's file as the job's \"output\"";
        if (!*item->string || item->string[0] == '-')
            why = "option names are the long names without dashes, e.g. \"lambda\"";
        if (why)
            return cli_usage_error("%s:%d: option \"%s\": %s", manifest, line,
                                   shown(item->string, name, sizeof name), why);
    }
    return 0;
}

int batch_read_manifest(const char *path, batch_job **jobs_out, size_t *njobs)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_usage_error("%s: cannot open the manifest: %s", path, strerror(errno));
    /* the jobs' paths are relative to the manifest's folder: resolve them there (duplicates,
     * outputs that are inputs), then come back */
    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    char *dir_copy = strdup(path);
    if (cwd >= 0 && dir_copy && chdir(dirname(dir_copy)) != 0) {
        close(cwd);
        cwd = -1;
    }
    free(dir_copy);
    batch_job *jobs = NULL;
    size_t n = 0, cap = 0, len = 0;
    char *buf = NULL;
    ssize_t got;
    int line = 0, rc = 0;
    char name[1024];
    while (!rc && (got = getline(&buf, &len, f)) >= 0) {
        line++;
        if (strlen(buf) != (size_t)got) {
            rc = cli_usage_error("%s:%d: a NUL byte in the line", path, line);
            break;
        }
        const char *s = buf + strspn(buf, " \t\r\n");
        if (!*s || *s == '#')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            batch_job *grown = realloc(jobs, cap * sizeof *grown);
            if (!grown) {
                rc = cli_usage_error("out of memory");
                break;
            }
            jobs = grown;
        }
        jobs[n] = (batch_job){0};
        rc = parse_job(path, line, s, &jobs[n]);
        n++; /* its json is freed with the others, also on failure */
        if (!rc)
            for (size_t k = 0; k + 1 < n && !rc; k++)
                if (jobs[k].output_key && jobs[n - 1].output_key &&
                    !strcmp(jobs[k].output_key, jobs[n - 1].output_key)) /* K.npy, ./K.npy, /abs/K.npy */
                    rc = cli_usage_error("%s:%d: output \"%s\" is also the output of line %d", path, line,
                                         shown(jobs[n - 1].output, name, sizeof name), jobs[k].line);
    }
    if (!rc && ferror(f))
        rc = cli_usage_error("%s: read error: %s", path, strerror(errno));
    if (!rc && n == 0)
        rc = cli_usage_error("%s: no jobs (one JSON object per line)", path);
    free(buf);
    fclose(f);
    if (cwd >= 0) {
        if (fchdir(cwd) != 0 && !rc)
            rc = cli_usage_error("%s: cannot come back to the current folder: %s", path, strerror(errno));
        close(cwd);
    }
    *jobs_out = jobs;
    *njobs = n;
    return rc;
}

void batch_free_jobs(batch_job *jobs, size_t njobs)
{
    for (size_t i = 0; i < njobs; i++) {
        cJSON_Delete(jobs[i].json);
        free(jobs[i].output_key);
    }
    free(jobs);
}

/* ---- a job's command line ------------------------------------------------------------------ */

/* A number as the shortest text that reads back as the same double. */
static void format_number(double v, char *out, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Appends "--name=value" (or "--name" for true) to argv; 0 or -1 when out of memory. */
static int push(char ***argv, int *argc, const char *name, const cJSON *v)
{
    char num[40], *arg = NULL;
    int n;
    if (cJSON_IsBool(v)) {
        if (cJSON_IsFalse(v))
            return 0;
        n = asprintf(&arg, "--%s", name);
    } else if (cJSON_IsNumber(v)) {
        format_number(v->valuedouble, num, sizeof num);
        n = asprintf(&arg, "--%s=%s", name, num);
    } else
        n = asprintf(&arg, "--%s=%s", name, v->valuestring);
    char **grown = n < 0 ? NULL : realloc(*argv, (size_t)(*argc + 2) * sizeof *grown);
    if (!grown) {
        free(n < 0 ? NULL : arg);
        return -1;
    }
    grown[(*argc)++] = arg;
    grown[*argc] = NULL;
    *argv = grown;
    return 0;
}

static int push_str(char ***argv, int *argc, const char *s)
{
    char *copy = strdup(s);
    char **grown = copy ? realloc(*argv, (size_t)(*argc + 2) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        return -1;
    }
    grown[(*argc)++] = copy;
    grown[*argc] = NULL;
    *argv = grown;
    return 0;
}

char **batch_job_argv(const cJSON *o, const char *device, int *argc)
{
    char **argv = NULL;
    int n = 0, bad = push_str(&argv, &n, "estimate");
    if (!bad && device) {
        cJSON d = {.type = cJSON_String, .valuestring = (char *)device};
        bad = push(&argv, &n, "device", &d);
    }
    const cJSON *opt, *e;
    cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(o, "options"))
    {
        if (cJSON_IsArray(opt)) {
            cJSON_ArrayForEach(e, opt)
            if (!bad)
                bad = push(&argv, &n, opt->string, e);
        } else if (!bad)
            bad = push(&argv, &n, opt->string, opt);
    }
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(o, "output");
    if (!bad)
        bad = push_str(&argv, &n, "-q") || push_str(&argv, &n, "-o") ||
              push_str(&argv, &n, out->valuestring) || push_str(&argv, &n, "--");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "inputs"))
    if (!bad)
        bad = push_str(&argv, &n, e->valuestring);
    if (bad) {
        for (int i = 0; i < n; i++)
            free(argv[i]);
        free(argv);
        return NULL;
    }
    *argc = n;
    return argv;
}
