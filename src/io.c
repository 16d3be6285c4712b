/* io.c — choose an array file format by extension and dispatch to its reader or writer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "sysmem.h"

static const struct {
    const char *ext;
    kernest_format format;
} extensions[] = {
    {".npy", KERNEST_FORMAT_NPY},   {".npz", KERNEST_FORMAT_NPZ},   {".fits", KERNEST_FORMAT_FITS},
    {".fit", KERNEST_FORMAT_FITS},  {".fts", KERNEST_FORMAT_FITS},  {".tif", KERNEST_FORMAT_TIFF},
    {".tiff", KERNEST_FORMAT_TIFF}, {".csv", KERNEST_FORMAT_TEXT},  {".txt", KERNEST_FORMAT_TEXT},
    {".tsv", KERNEST_FORMAT_TEXT},  {".raw", KERNEST_FORMAT_RAW},   {".bin", KERNEST_FORMAT_RAW},
};

static const char *const names[KERNEST_FORMAT_COUNT] = {"unknown", "npy", "npz", "fits",
                                                        "tiff",    "text", "raw"};

void kernest_read_options_default(kernest_read_options *ro)
{
    if (!ro)
        return;
    memset(ro, 0, sizeof *ro);
    ro->text_max_elements = KERNEST_TEXT_MAX_ELEMENTS;
}

/* Where "file.npz:member" splits: the ':' after the last ".npz" (case-insensitive), or NULL. */
static const char *npz_member_colon(const char *path)
{
    const char *found = NULL;
    for (const char *p = path; (p = strchr(p, ':')); p++)
        if (p - path >= 4 && !strncasecmp(p - 4, ".npz", 4))
            found = p;
    return found;
}

static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), m = strlen(ext);
    return n > m && !strcasecmp(path + n - m, ext);
}

kernest_format kernest_format_of_path(const char *path)
{
    if (!path)
        return KERNEST_FORMAT_UNKNOWN;
    /* "file.npz:name.npy" names a member, whatever the member's own extension */
    if (npz_member_colon(path))
        return KERNEST_FORMAT_NPZ;
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (has_ext(path, extensions[i].ext))
            return extensions[i].format;
    return KERNEST_FORMAT_UNKNOWN;
}

const char *kernest_format_name(kernest_format format)
{
    return (int)format >= 0 && format < KERNEST_FORMAT_COUNT ? names[format] : "unknown";
}

int kernest_format_available(kernest_format format)
{
    switch (format) {
    case KERNEST_FORMAT_NPY:
    case KERNEST_FORMAT_TEXT:
    case KERNEST_FORMAT_RAW:
        return 1;
    case KERNEST_FORMAT_NPZ:
        return kn_npz_available();
    case KERNEST_FORMAT_FITS:
        return kn_fits_available();
    case KERNEST_FORMAT_TIFF:
        return kn_tiff_available();
    default:
        return 0;
    }
}

static int unknown_format(const char *path)
{
    return kn_error(KERNEST_E_FORMAT, "%s: unknown file format (extensions: .npy .npz[:NAME] "
                    ".fits .fit .fts .tif .tiff .csv .txt .tsv .raw .bin)", path);
}

/* Splits "file.npz:name" into a malloc'd file part and a pointer to the member (or NULL). */
static int npz_split(const char *path, char **file, const char **member)
{
    const char *colon = npz_member_colon(path);
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    *member = len < strlen(path) ? path + len + 1 : NULL;
    *file = strndup(path, len);
    if (!*file)
        return kn_error(KERNEST_E_NOMEM, "%s: out of memory", path);
    if (*member && !**member) {
        free(*file);
        return kn_error(KERNEST_E_INVALID, "%s: the member name after ':' is empty", path);
    }
    return KERNEST_OK;
}

int kernest_array_read(const char *path, const kernest_read_options *ro, kernest_array **out)
{
    if (!path || !*path || !out)
        return kn_error(KERNEST_E_INVALID, "array read: path and out must not be NULL or empty");
    kernest_read_options def;
    if (!ro) {
        kernest_read_options_default(&def);
        ro = &def;
    }
    switch (kernest_format_of_path(path)) {
    case KERNEST_FORMAT_NPY:
        return kernest_npy_read(path, out);
    case KERNEST_FORMAT_NPZ: {
        char *file;
        const char *member;
        int st = npz_split(path, &file, &member);
        if (st)
            return st;
        st = kn_npz_read(path, file, member, out);
        free(file);
        return st;
    }
    case KERNEST_FORMAT_FITS:
        return kn_fits_read(path, out);
    case KERNEST_FORMAT_TIFF:
        return kn_tiff_read(path, out);
    case KERNEST_FORMAT_TEXT:
        return kn_text_read(path, ro->text_max_elements ? ro->text_max_elements
                                                        : KERNEST_TEXT_MAX_ELEMENTS, out);
    case KERNEST_FORMAT_RAW:
        return kn_raw_read(path, ro, out);
    default:
        return unknown_format(path);
    }
}

int kernest_array_write(const char *path, const kernest_array *a, kernest_precision precision)
{
    if (!path || !*path)
        return kn_error(KERNEST_E_INVALID, "array write: the output path is empty");
    kernest_format f = kernest_format_of_path(path);
    if (f == KERNEST_FORMAT_UNKNOWN)
        return unknown_format(path);
    int st = kn_io_check_array(path, a, precision);
    if (st)
        return st;
    switch (f) {
    case KERNEST_FORMAT_NPY:
        return kernest_npy_write(path, a, precision);
    case KERNEST_FORMAT_NPZ: {
        char *file;
        const char *member;
        if ((st = npz_split(path, &file, &member)))
            return st;
        st = kn_npz_write(path, file, member, a, precision);
        free(file);
        return st;
    }
    case KERNEST_FORMAT_FITS:
        return kn_fits_write(path, a, precision);
    case KERNEST_FORMAT_TIFF:
        return kn_tiff_write(path, a, precision);
    case KERNEST_FORMAT_TEXT:
        return kn_text_write(path, a, precision);
    default:
        return kn_raw_write(path, a, precision);
    }
}

/* ---- helpers shared by the formats ---------------------------------------------------------- */

const char *kn_io_shape_text(int ndim, const size_t *shape, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < ndim && d < KERNEST_MAX_NDIM && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, d ? ", %zu" : "%zu", shape[d]);
    if (k < cap)
        snprintf(buf + k, cap - k, ndim == 1 ? ",)" : ")");
    return buf;
}

int kn_io_check_array(const char *path, const kernest_array *a, kernest_precision precision)
{
    if (!a)
        return kn_error(KERNEST_E_INVALID, "%s: no array to write", path);
    if (precision != KERNEST_DOUBLE && precision != KERNEST_SINGLE)
        return kn_error(KERNEST_E_INVALID, "%s: unknown precision %d", path, (int)precision);
    if (a->ndim < 1 || a->ndim > KERNEST_MAX_NDIM)
        return kn_error(KERNEST_E_INVALID, "%s: array has %d dimensions (1..%d allowed)", path,
                        a->ndim, KERNEST_MAX_NDIM);
    size_t n = 1;
    for (int d = 0; d < a->ndim; d++)
        if (kn_mul_size(n, a->shape[d], &n))
            return kn_error(KERNEST_E_INVALID, "%s: array shape overflows", path);
    if (n != a->size || (n && !a->data))
        return kn_error(KERNEST_E_INVALID, "%s: array size does not match its shape or has no data",
                        path);
    return KERNEST_OK;
}

int kn_io_check_size(const char *path, int ndim, const size_t *shape, size_t *n_out, size_t *bytes_out)
{
    char txt[128];
    kn_io_shape_text(ndim, shape, txt, sizeof txt);
    size_t n = 1, bytes;
    for (int d = 0; d < ndim; d++)
        if (kn_mul_size(n, shape[d], &n))
            return kn_error(KERNEST_E_TOOBIG, "%s: shape %s has more elements than size_t can count",
                            path, txt);
    if (kn_mul_size(n, sizeof(double), &bytes))
        return kn_error(KERNEST_E_TOOBIG, "%s: shape %s needs more bytes than size_t can count",
                        path, txt);
    size_t avail;
    kn_host_mem_available(&avail);
    if (bytes > avail)
        return kn_error(KERNEST_E_TOOBIG, "%s: shape %s needs %zu bytes but only %zu bytes of "
                        "memory are available", path, txt, bytes, avail);
    *n_out = n;
    *bytes_out = bytes;
    return KERNEST_OK;
}

int kn_io_alloc(const char *path, int ndim, const size_t *shape, kernest_array **out)
{
    char txt[128];
    kn_io_shape_text(ndim, shape, txt, sizeof txt);
    if (ndim < 1 || ndim > KERNEST_MAX_NDIM)
        return kn_error(KERNEST_E_FORMAT, "%s: %d-dimensional arrays are not supported (1..%d)",
                        path, ndim, KERNEST_MAX_NDIM);
    size_t n, bytes;
    int st = kn_io_check_size(path, ndim, shape, &n, &bytes);
    if (st)
        return st;
    st = kernest_array_create(ndim, shape, out);
    if (st)
        return kn_error(st, "%s: cannot create an array of shape %s (%zu bytes)", path, txt, bytes);
    return KERNEST_OK;
}

int kn_io_stat_regular(const char *path, struct stat *sb)
{
    if (stat(path, sb) != 0)
        return kn_error(KERNEST_E_NOFILE, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb->st_mode))
        return kn_error(KERNEST_E_NOFILE, "%s: cannot open: not a regular file", path);
    return KERNEST_OK;
}

int kn_io_open_regular(const char *path, FILE **fp, struct stat *sb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kn_error(KERNEST_E_NOFILE, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), sb) != 0 || !S_ISREG(sb->st_mode)) {
        fclose(f);
        return kn_error(KERNEST_E_NOFILE, "%s: cannot open: not a regular file", path);
    }
    *fp = f;
    return KERNEST_OK;
}

int kn_io_commit_temp(const char *tmp, const char *path)
{
    int e = 0;
    int fd = open(tmp, O_RDONLY);
    if (fd < 0)
        e = errno;
    else {
        if (fsync(fd) != 0 && errno != EINVAL)
            e = errno;
        close(fd);
    }
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        return kn_error(KERNEST_E_IO, "%s: write failed: %s", path, strerror(e));
    }
    return KERNEST_OK;
}
