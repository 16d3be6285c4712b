/* formats.c — the format table: choose an array file format by extension and dispatch to its
 * reader or writer; a format whose library is not compiled in names the package to install. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "io.h"
#include "base/sysmem.h"

static const struct {
    const char *ext;
    kernest_format format;
} extensions[] = {
    {".npy", KERNEST_FORMAT_NPY},   {".npz", KERNEST_FORMAT_NPZ},   {".fits", KERNEST_FORMAT_FITS},
    {".fit", KERNEST_FORMAT_FITS},  {".fts", KERNEST_FORMAT_FITS},  {".tif", KERNEST_FORMAT_TIFF},
    {".tiff", KERNEST_FORMAT_TIFF}, {".csv", KERNEST_FORMAT_TEXT},  {".txt", KERNEST_FORMAT_TEXT},
    {".tsv", KERNEST_FORMAT_TEXT},  {".raw", KERNEST_FORMAT_RAW},   {".bin", KERNEST_FORMAT_RAW},
};

/* One row per kernest_format: its name, its reader and writer (NULL when the library behind it is
 * not compiled in) and, then, the Debian package that brings it. */
#ifdef KERNEST_HAVE_LIBZIP
#define NPZ_IO &kn_format_npz
#else
#define NPZ_IO NULL
#endif
#ifdef KERNEST_HAVE_CFITSIO
#define FITS_IO &kn_format_fits
#else
#define FITS_IO NULL
#endif
#ifdef KERNEST_HAVE_LIBTIFF
#define TIFF_IO &kn_format_tiff
#else
#define TIFF_IO NULL
#endif
static const struct {
    const char *name;
    const kn_format_io *io;
    const char *label;   /* in "LABEL support is not compiled in" */
    const char *package; /* what to install to compile it in */
} formats[KERNEST_FORMAT_COUNT] = {
    [KERNEST_FORMAT_UNKNOWN] = {"unknown", NULL, NULL, NULL},
    [KERNEST_FORMAT_NPY] = {"npy", &kn_format_npy, ".npy", NULL},
    [KERNEST_FORMAT_NPZ] = {"npz", NPZ_IO, ".npz", "libzip-dev"},
    [KERNEST_FORMAT_FITS] = {"fits", FITS_IO, "FITS", "libcfitsio-dev"},
    [KERNEST_FORMAT_TIFF] = {"tiff", TIFF_IO, "TIFF", "libtiff-dev"},
    [KERNEST_FORMAT_TEXT] = {"text", &kn_format_text, "text", NULL},
    [KERNEST_FORMAT_RAW] = {"raw", &kn_format_raw, "raw", NULL},
};

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
    return (int)format >= 0 && format < KERNEST_FORMAT_COUNT ? formats[format].name : "unknown";
}

int kernest_format_available(kernest_format format)
{
    return (int)format > 0 && format < KERNEST_FORMAT_COUNT && formats[format].io != NULL;
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

/* The row of path's format, or an error: unknown extension, or a library not compiled in. */
static int format_row(const char *path, const kn_format_io **io)
{
    kernest_format f = kernest_format_of_path(path);
    if (f == KERNEST_FORMAT_UNKNOWN)
        return unknown_format(path);
    if (!formats[f].io)
        return kn_error(KERNEST_E_UNSUPPORTED, "%s: %s support is not compiled in (install %s "
                        "and rebuild)", path, formats[f].label, formats[f].package);
    *io = formats[f].io;
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
    const kn_format_io *io = NULL;
    char *file;
    const char *member;
    int st = format_row(path, &io);
    if (st || (st = npz_split(path, &file, &member)))
        return st;
    st = io->read(path, file, member, ro, out);
    free(file);
    return st;
}

int kernest_array_write(const char *path, const kernest_array *a, kernest_precision precision)
{
    if (!path || !*path)
        return kn_error(KERNEST_E_INVALID, "array write: the output path is empty");
    const kn_format_io *io = NULL;
    char *file;
    const char *member;
    int st = format_row(path, &io);
    if (st || (st = kn_io_check_array(path, a, precision)) || (st = npz_split(path, &file, &member)))
        return st;
    st = io->write(path, file, member, a, precision);
    free(file);
    return st;
}
