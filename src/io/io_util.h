/* io_util.h — internal: the helpers every format's reader and writer shares (io_util.c). */
#ifndef KN_IO_UTIL_H
#define KN_IO_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "kernest.h"

/* Checks that a can be written (shape, size, data, precision); errors name path. */
int kn_io_check_array(const char *path, const kernest_array *a, kernest_precision precision);
/* Allocates an array of the shape a file declared, after checking the element count and the
 * memory it needs; errors name path. */
int kn_io_alloc(const char *path, int ndim, const size_t *shape, kernest_array **out);
/* kn_io_alloc's checks alone: the element count *n and the bytes *bytes of doubles it needs, both
 * counted without overflow, and those bytes against the memory available. */
int kn_io_check_size(const char *path, int ndim, const size_t *shape, size_t *n, size_t *bytes);
/* "(3, 4)" into buf. */
const char *kn_io_shape_text(int ndim, const size_t *shape, char *buf, size_t cap);

/* stat(path) into *sb, refusing what is not a regular file ("PATH: cannot open: ..."), for the
 * readers whose library opens the file itself. */
int kn_io_stat_regular(const char *path, struct stat *sb);
/* fopen(path, "rb") into *fp with fstat into *sb, refusing what is not a regular file. */
int kn_io_open_regular(const char *path, FILE **fp, struct stat *sb);
/* Renames tmp (made by kn_atomic_temp) onto path after syncing it; on failure removes tmp. Frees nothing. */
int kn_io_commit_temp(const char *tmp, const char *path);

#endif
