/* cli_common.c — option parsing and error reporting shared by the kernest commands. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "plot/plot.h"

int cli_stop_before_work = 0;

/* the last error message, and whether errors are kept (for a batch summary) instead of printed */
static char last_message[1024];
static int capturing;

static void report_error(void)
{
    if (!capturing)
        fprintf(stderr, "kernest: %s\n", last_message);
}

void cli_capture_errors(int on)
{
    capturing = on;
    if (on)
        last_message[0] = '\0';
}

const char *cli_last_message(void)
{
    return last_message;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    report_error();
    return CLI_USAGE;
}

int cli_fail(int status)
{
    const char *detail = kernest_last_error();
    snprintf(last_message, sizeof last_message, "%s", *detail ? detail : kernest_strerror(status));
    report_error();
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

/* The file a path names: "a.npz:K" is a.npz (malloc'd copy; NULL when out of memory). */
static char *file_part(const char *path)
{
    char *f = strdup(path);
    if (!f)
        return NULL;
    char *found = NULL;
    for (char *p = f; (p = strchr(p, ':')); p++)
        if (p - f >= 4 && !strncasecmp(p - 4, ".npz", 4))
            found = p;
    if (found)
        *found = '\0';
    return f;
}

/* ".tmp.XXXXXX", what the atomic writer (base/atomic_file.c) appends for an output's temporary: a
 * name longer than NAME_MAX less this would fail only when the output is written, after the solve */
enum { TEMP_SUFFIX_LEN = 11 };

int cli_check_output(const char *opt, const char *path)
{
    if (!path || !*path)
        return cli_usage_error("%s: an output file is required", opt);
    char *file = file_part(path);
    char *copy = file ? strdup(file) : NULL;
    char *base_copy = file ? strdup(file) : NULL;
    if (!file || !copy || !base_copy) {
        free(file);
        free(copy);
        free(base_copy);
        return cli_usage_error("out of memory");
    }
    const char *dir = dirname(copy);
    const char *base = basename(base_copy);
    struct stat st;
    int rc = 0;
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0)
        name_max = 255;
    if (!*file)
        rc = cli_usage_error("%s: %s: the file name is empty", opt, path);
    else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = cli_usage_error("%s: %s: folder '%s' does not exist", opt, path, dir);
    else if (access(dir, W_OK) != 0)
        rc = cli_usage_error("%s: %s: folder '%s' is not writable", opt, path, dir);
    else if (stat(file, &st) == 0 && S_ISDIR(st.st_mode))
        rc = cli_usage_error("%s: %s is a folder, not a file", opt, file);
    else if ((long)strlen(base) + TEMP_SUFFIX_LEN > name_max)
        rc = cli_usage_error("%s: %s: the file name is too long (%zu characters; at most %ld here, "
                             "as the temporary file adds %d)", opt, path,
                             strlen(base), name_max - TEMP_SUFFIX_LEN, (int)TEMP_SUFFIX_LEN);
    else if (strlen(file) + TEMP_SUFFIX_LEN >= 4096)
        rc = cli_usage_error("%s: the path is too long (%zu characters)", opt, strlen(file));
    free(file);
    free(copy);
    free(base_copy);
    return rc;
}

/* One file's identity: its folder resolved (symbolic links, "." and "..") plus its name; and, when
 * it exists, its device and inode (hard links, a symbolic link as the file itself). */
typedef struct {
    char *key;
    int exists;
    dev_t dev;
    ino_t ino;
} file_id;

static int file_id_of(const char *path, file_id *id)
{
    memset(id, 0, sizeof *id);
    char *file = file_part(path);
    if (!file)
        return -1;
    struct stat st;
    if (stat(file, &st) == 0) {
        id->exists = 1;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    }
    char *d = strdup(file), *b = strdup(file);
    char *real = d ? realpath(dirname(d), NULL) : NULL;
    if (b && real && asprintf(&id->key, "%s/%s", real, basename(b)) < 0)
        id->key = NULL;
    if (!id->key)
        id->key = strdup(file); /* a folder that does not resolve: the name as given */
    free(d);
    free(b);
    free(real);
    free(file);
    return id->key ? 0 : -1;
}

char *cli_path_key(const char *path)
{
    file_id id;
    return file_id_of(path, &id) == 0 ? id.key : NULL;
}

int cli_same_file(const char *a, const char *b)
{
    file_id x, y;
    int same = 0;
    if (file_id_of(a, &x) == 0 && file_id_of(b, &y) == 0) {
        same = !strcmp(x.key, y.key) || (x.exists && y.exists && x.dev == y.dev && x.ino == y.ino);
        free(y.key);
    }
    free(x.key);
    return same;
}

int cli_check_distinct(size_t n, const char *const *what, const char *const *path, size_t ninputs)
{
    for (size_t j = ninputs; j < n; j++) {
        if (!path[j])
            continue;
        for (size_t i = 0; i < j; i++)
            if (path[i] && cli_same_file(path[i], path[j]))
                return cli_usage_error("%s %s: is the same file as %s %s%s", what[j], path[j], what[i],
                                       path[i], i < ninputs ? " (an input would be overwritten)" : "");
    }
    return 0;
}

/* --shape and --dtype, for raw inputs, taken out of argv by cli_take_read_options */
static kernest_read_options read_opts = {0, {0}, NULL, KERNEST_TEXT_MAX_ELEMENTS};

static int parse_shape(const char *s)
{
    kernest_read_options ro;
    kernest_read_options_default(&ro);
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || *p == '-' || *p == '+' || errno || v == 0 || v > (1ull << 40) ||
            ro.raw_ndim == KERNEST_MAX_NDIM || (*end && *end != 'x' && *end != 'X') ||
            (*end && !end[1]))
            return cli_usage_error("--shape: '%s' is not HxW (1 to %d positive integers joined by "
                                   "'x', e.g. 512x512)", s, KERNEST_MAX_NDIM);
        ro.raw_shape[ro.raw_ndim++] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    if (!ro.raw_ndim)
        return cli_usage_error("--shape: the shape is empty");
    read_opts.raw_ndim = ro.raw_ndim;
    memcpy(read_opts.raw_shape, ro.raw_shape, sizeof ro.raw_shape);
    return 0;
}

static int parse_dtype(const char *s)
{
    static const char *const ok[] = {"f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(s, ok[i])) {
            read_opts.raw_dtype = ok[i];
            return 0;
        }
    return cli_usage_error("--dtype: '%s' is not one of f4 f8 i1 i2 i4 i8 u1 u2 u4 u8", s);
}

int cli_take_read_options(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { /* the rest are operands */
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        int shape = !strcmp(a, "--shape") || !strncmp(a, "--shape=", 8);
        int dtype = !strcmp(a, "--dtype") || !strncmp(a, "--dtype=", 8);
        if (!shape && !dtype) {
            argv[out++] = argv[i];
            continue;
        }
        const char *v = strchr(a, '=');
        if (v)
            v++;
        else if (i + 1 < *argc)
            v = argv[++i];
        else
            return cli_usage_error("%s needs a value", a);
        if (shape ? parse_shape(v) : parse_dtype(v))
            return CLI_USAGE;
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int cli_read_2d(const char *path, kernest_array **out)
{
    int st = kernest_array_read(path, &read_opts, out);
    if (st)
        return cli_fail(st);
    if ((*out)->ndim != 2) {
        int nd = (*out)->ndim;
        kernest_array_destroy(out);
        return cli_usage_error("%s: expected a 2-D array, got %d dimension%s", path, nd, nd == 1 ? "" : "s");
    }
    return 0;
}

int cli_check_format(const char *opt, const char *path)
{
    kernest_format f = kernest_format_of_path(path);
    if (f == KERNEST_FORMAT_UNKNOWN)
        return cli_usage_error("%s: %s: unknown file format (extensions: .npy .npz[:NAME] .fits "
                               ".fit .fts .tif .tiff .csv .txt .tsv .raw .bin)", opt, path);
    if (!kernest_format_available(f))
        return cli_usage_error("%s: %s: %s support is not compiled in (kernest info lists the "
                               "formats of this build)", opt, path, kernest_format_name(f));
    return 0;
}

int cli_read_channels(const char *path, kernest_array **out)
{
    int st = kernest_array_read(path, &read_opts, out);
    if (st)
        return cli_fail(st);
    if ((*out)->ndim < 2) {
        int nd = (*out)->ndim;
        kernest_array_destroy(out);
        return cli_usage_error("%s: expected a 2-D (HxW), 3-D (CxHxW) or 4-D (SxCxHxW) array, got %d "
                               "dimension%s", path, nd, nd == 1 ? "" : "s");
    }
    return 0;
}

int cli_parse_layout(const char *s, kernest_layout *layout)
{
    int l = kernest_layout_parse(s);
    if (l < 0) {
        cli_usage_error("--layout: '%s' is not auto, chw or nchw", s);
        return -1;
    }
    *layout = (kernest_layout)l;
    return 0;
}

int cli_plot_prepare_dir(const char *dir)
{
    if (!kn_plot_available())
        return cli_usage_error("--plot: not compiled in (install libcairo2-dev)");
    struct stat st;
    if (!*dir)
        return cli_usage_error("--plot: a folder is required");
    if (stat(dir, &st) != 0) {
        /* made only once there is something to draw (cli_plot_make_dir): bad input leaves none */
        char *copy = strdup(dir);
        if (!copy)
            return cli_usage_error("out of memory");
        const char *parent = dirname(copy);
        int rc = 0;
        if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = cli_usage_error("--plot: cannot create folder '%s': folder '%s' does not exist", dir, parent);
        else if (access(parent, W_OK) != 0)
            rc = cli_usage_error("--plot: cannot create folder '%s': folder '%s' is not writable", dir, parent);
        free(copy);
        return rc;
    }
    if (!S_ISDIR(st.st_mode))
        return cli_usage_error("--plot: '%s' is not a folder", dir);
    if (access(dir, W_OK) != 0)
        return cli_usage_error("--plot: folder '%s' is not writable", dir);
    return 0;
}

int cli_parse_padding(const char *padding, const char *mode_text, int *pad_h, int *pad_w,
                      kernest_padding_mode *mode)
{
    if (mode_text) {
        const int m = kernest_padding_mode_parse(mode_text);
        if (m < 0)
            return cli_usage_error("--padding-mode: '%s' is not zeros, reflect, replicate or circular", mode_text);
        *mode = (kernest_padding_mode)m;
    }
    if (!padding)
        return 0;
    if (!strcmp(padding, "same")) {
        *pad_h = *pad_w = -1;
        return 0;
    }
    if (!strcmp(padding, "valid")) {
        *pad_h = *pad_w = 0;
        return 0;
    }
    return cli_parse_pair("--padding", padding, 0, pad_h, pad_w);
}

int cli_pad_input(kernest_array **A, const kernest_array *K, int pad_h, int pad_w, kernest_padding_mode pmode,
                  const kernest_geometry *g, kernest_mode *mode)
{
    kernest_array *padded = NULL;
    const int st = kernest_pad_layer(*A, K->shape[K->ndim - 2], K->shape[K->ndim - 1], pad_h, pad_w, pmode, g,
                                     &padded);
    if (st)
        return cli_fail(st);
    kernest_array_destroy(A);
    *A = padded;
    *mode = KERNEST_MODE_VALID;
    return 0;
}

int cli_parse_pair(const char *opt, const char *s, long lo, int *h, int *w)
{
    long a, b;
    const char *x = strpbrk(s, "xX");
    if (x) {
        char first[32];
        const size_t len = (size_t)(x - s);
        if (len >= sizeof first)
            return cli_usage_error("%s: '%s' is not N or HxW", opt, s);
        memcpy(first, s, len);
        first[len] = '\0';
        if (cli_parse_int(opt, first, lo, 1 << 30, &a) || cli_parse_int(opt, x + 1, lo, 1 << 30, &b))
            return CLI_USAGE;
    } else {
        if (cli_parse_int(opt, s, lo, 1 << 30, &a))
            return CLI_USAGE;
        b = a;
    }
    *h = (int)a;
    *w = (int)b;
    return 0;
}

int cli_parse_geometry(int key, const char *arg, kernest_geometry *g)
{
    long v;
    switch (key) {
    case CLI_OPT_STRIDE:
        return cli_parse_pair("--stride", arg, 1, &g->stride_h, &g->stride_w);
    case CLI_OPT_DILATION:
        return cli_parse_pair("--dilation", arg, 1, &g->dilation_h, &g->dilation_w);
    default:
        if (cli_parse_int("--groups", arg, 1, 1 << 20, &v))
            return CLI_USAGE;
        g->groups = (int)v;
        return 0;
    }
}

int cli_plot_make_dir(const char *dir, int *created)
{
    *created = 0;
    if (mkdir(dir, 0777) == 0)
        *created = 1;
    else if (errno != EEXIST)
        return cli_usage_error("--plot: cannot create folder '%s': %s", dir, strerror(errno));
    return 0;
}
