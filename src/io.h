/* io.h — internal: the per-format readers and writers behind kernest_array_read/write. */
#ifndef KN_IO_H
#define KN_IO_H

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

/* Each format: read into a new array; write a (already checked). member may be NULL (npz). */
int kn_npz_read(const char *path, const char *file, const char *member, kernest_array **out);
int kn_npz_write(const char *path, const char *file, const char *member, const kernest_array *a,
                 kernest_precision precision);
int kn_fits_read(const char *path, kernest_array **out);
int kn_fits_write(const char *path, const kernest_array *a, kernest_precision precision);
int kn_tiff_read(const char *path, kernest_array **out);
int kn_tiff_write(const char *path, const kernest_array *a, kernest_precision precision);
int kn_text_read(const char *path, size_t max_elements, kernest_array **out);
int kn_text_write(const char *path, const kernest_array *a, kernest_precision precision);
int kn_raw_read(const char *path, const kernest_read_options *ro, kernest_array **out);
int kn_raw_write(const char *path, const kernest_array *a, kernest_precision precision);

/* 1 when the library behind a format is compiled in. */
int kn_npz_available(void);
int kn_fits_available(void);
int kn_tiff_available(void);

#endif
