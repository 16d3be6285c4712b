/* cli_common.c — option parsing and error reporting shared by the kernest commands. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_stop_before_work = 0;

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kernest: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_USAGE;
}

int cli_fail(int status)
{
    const char *detail = kernest_last_error();
    fprintf(stderr, "kernest: %s\n", *detail ? detail : kernest_strerror(status));
    return kernest_status_is_input_error(status) ? CLI_USAGE : CLI_RUNTIME;
}

int cli_parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) {
        cli_usage_error("%s: '%s' is not a finite number", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        cli_usage_error("%s: '%s' is not an integer in [%ld, %ld]", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_ksize(const char *s, size_t *h, size_t *w)
{
    unsigned long long a, b;
    char x, tail;
    if (sscanf(s, "%llu%c%llu%c", &a, &x, &b, &tail) != 3 || (x != 'x' && x != 'X') || !a || !b ||
        a > (1ull << 31) || b > (1ull << 31) || s[0] == '-' || strchr(s, '-')) {
        cli_usage_error("--ksize: '%s' is not HxW with positive integers (e.g. 199x199)", s);
        return -1;
    }
    *h = (size_t)a;
    *w = (size_t)b;
    return 0;
}

int cli_parse_mode(const char *s, kernest_mode *mode)
{
    int m = kernest_mode_parse(s);
    if (m < 0) {
        cli_usage_error("--mode: '%s' is not one of full, same, valid", s);
        return -1;
    }
    *mode = (kernest_mode)m;
    return 0;
}

int cli_parse_precision(const char *s, kernest_precision *p)
{
    if (!strcmp(s, "double"))
        *p = KERNEST_DOUBLE;
    else if (!strcmp(s, "single"))
        *p = KERNEST_SINGLE;
    else {
        cli_usage_error("--precision: '%s' is not double or single", s);
        return -1;
    }
    return 0;
}

int cli_parse_device(const char *s, kernest_device_kind *kind, int *index)
{
    long idx = -1;
    if (!strcmp(s, "auto"))
        *kind = KERNEST_DEVICE_AUTO;
    else if (!strcmp(s, "cpu"))
        *kind = KERNEST_DEVICE_CPU;
    else if (!strcmp(s, "cuda"))
        *kind = KERNEST_DEVICE_CUDA;
    else if (!strncmp(s, "cuda:", 5)) {
        char *end;
        errno = 0;
        idx = strtol(s + 5, &end, 10);
        if (!s[5] || *end || errno || idx < 0 || idx > 1024) {
            cli_usage_error("--device: '%s' is not auto, cpu, cuda or cuda:N", s);
            return -1;
        }
        *kind = KERNEST_DEVICE_CUDA;
    } else {
        cli_usage_error("--device: '%s' is not auto, cpu, cuda or cuda:N", s);
        return -1;
    }
    *index = (int)idx;
    return 0;
}

int cli_check_output(const char *opt, const char *path)
{
    if (!path || !*path)
        return cli_usage_error("%s: an output file is required", opt);
    char *copy = strdup(path);
    if (!copy)
        return CLI_RUNTIME;
    const char *dir = dirname(copy);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = cli_usage_error("%s: %s: folder '%s' does not exist", opt, path, dir);
    else if (access(dir, W_OK) != 0)
        rc = cli_usage_error("%s: %s: folder '%s' is not writable", opt, path, dir);
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        rc = cli_usage_error("%s: %s is a folder, not a file", opt, path);
    free(copy);
    return rc;
}

int cli_read_2d(const char *path, kernest_array **out)
{
    int st = kernest_npy_read(path, out);
    if (st)
        return cli_fail(st);
    if ((*out)->ndim != 2) {
        int nd = (*out)->ndim;
        kernest_array_destroy(out);
        return cli_usage_error("%s: expected a 2-D array, got %d dimension%s", path, nd, nd == 1 ? "" : "s");
    }
    return 0;
}
