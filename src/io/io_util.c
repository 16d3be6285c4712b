/* io_util.c — what every format's reader and writer shares: shape checks, bounded allocation,
 * opening regular files, committing a temporary file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/sysmem.h"
#include "io_util.h"

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
