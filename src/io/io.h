/* io.h — the io layer's index: the per-format readers and writers behind kernest_array_read/write
 * (one file per format; formats.c keeps the table), and the helpers they share (io_util.h). */
#ifndef KN_IO_H
#define KN_IO_H

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "kernest.h"
#include "io_util.h"

/* One row of the format table (formats.c): a format's reader and writer behind one signature.
 * path is what the user named; file and member split "a.npz:K" (file = path, member = NULL for
 * every other format); ro holds the read options (never NULL). write gets an array already
 * checked by kn_io_check_array. A format whose library is not compiled in has no row. */
typedef struct kn_format_io {
    int (*read)(const char *path, const char *file, const char *member,
                const kernest_read_options *ro, kernest_array **out);
    int (*write)(const char *path, const char *file, const char *member, const kernest_array *a,
                 kernest_precision precision);
} kn_format_io;

extern const kn_format_io kn_format_npy, kn_format_text, kn_format_raw;
#ifdef KERNEST_HAVE_LIBZIP
extern const kn_format_io kn_format_npz;
#endif
#ifdef KERNEST_HAVE_CFITSIO
extern const kn_format_io kn_format_fits;
#endif
#ifdef KERNEST_HAVE_LIBTIFF
extern const kn_format_io kn_format_tiff;
#endif

/* Each format's own functions: read into a new array; write a (already checked). member may be
 * NULL (npz). */
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

#endif
