/* fits.c — FITS images through cfitsio: read the first image HDU with data, write one image. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/sysmem.h"
#include "io.h"


#include <fitsio.h>


/* cfitsio keeps a stack of messages; the first is the most specific. Clears the stack. */
static int fits_fail(int kst, const char *path, const char *what, int status)
{
    char msg[FLEN_ERRMSG] = "", first[FLEN_ERRMSG] = "";
    fits_get_errstatus(status, msg);
    if (fits_read_errmsg(first) && *first && strcmp(first, msg))
        kst = kn_error(kst, "%s: %s: %s (%s)", path, what, msg, first);
    else
        kst = kn_error(kst, "%s: %s: %s", path, what, msg);
    fits_clear_errmsg();
    return kst;
}

/* cfitsio decompresses a tile-compressed image tile by tile into buffers of its own, besides the
 * array: measured about 16 bytes per pixel of a tile (the decompressed tile and its cache in the
 * requested type) whatever the type and algorithm, taken as 24 here, plus the tile's compressed
 * bytes (at most the file). A file of one tile for the whole image therefore needs three times
 * what the array does; those bytes are counted with the array's before anything is read.
 * ZTILEn absent: cfitsio's default, one row per tile. */
enum { TILE_BYTES_PER_PIXEL = 24 };

static int check_tiles(fitsfile *f, const char *path, int naxis, const LONGLONG *naxes, size_t array_bytes,
                       size_t file_bytes)
{
    size_t tile = 1, work, need;
    for (int d = 0; d < naxis; d++) {
        char key[FLEN_KEYWORD];
        long z = 0;
        int status = 0;
        snprintf(key, sizeof key, "ZTILE%d", d + 1);
        if (fits_read_key(f, TLONG, key, &z, NULL, &status) || z < 1)
            z = d == 0 ? (long)naxes[0] : 1;
        fits_clear_errmsg();
        const LONGLONG t = (LONGLONG)z < naxes[d] ? (LONGLONG)z : naxes[d];
        if (kn_mul_size(tile, (size_t)t, &tile))
            tile = SIZE_MAX;
    }
    if (kn_mul_size(tile, TILE_BYTES_PER_PIXEL, &work) || kn_add_size(work, array_bytes, &need) ||
        kn_add_size(need, file_bytes, &need))
        need = SIZE_MAX;
    char what[PATH_MAX + 128];
    snprintf(what, sizeof what, "%s: the image (%zu bytes as doubles) with cfitsio's buffers for its "
             "compressed tiles of %zu pixels", path, array_bytes, tile);
    return kn_host_check(what, 1, need);
}

int kn_fits_read(const char *path, kernest_array **out)
{
    struct stat sb;
    int st = kn_io_stat_regular(path, &sb);
    if (st)
        return st;
    fitsfile *f = NULL;
    int status = 0;
    /* the disk-file variant: no extended file-name syntax, a name is just a name */
    if (fits_open_diskfile(&f, path, READONLY, &status))
        return fits_fail(KERNEST_E_FORMAT, path, "not a readable FITS file", status);

    int nhdu = 0, bitpix = 0, naxis = 0, hdu = 0;
    LONGLONG naxes[KERNEST_MAX_NDIM + 1] = {0};
    fits_get_num_hdus(f, &nhdu, &status);
    for (int i = 1; !status && i <= nhdu; i++) {
        int type;
        if (fits_movabs_hdu(f, i, &type, &status) || type != IMAGE_HDU)
            continue;
        if (fits_get_img_paramll(f, KERNEST_MAX_NDIM + 1, &bitpix, &naxis, naxes, &status))
            break;
        if (naxis > 0) {
            hdu = i;
            break;
        }
    }
    if (status) {
        st = fits_fail(KERNEST_E_FORMAT, path, "malformed FITS header", status);
        goto done;
    }
    if (!hdu) {
        st = kn_error(KERNEST_E_FORMAT, "%s: no image with data in any of the %d HDU%s", path,
                      nhdu, nhdu == 1 ? "" : "s");
        goto done;
    }
    if (naxis > KERNEST_MAX_NDIM) {
        st = kn_error(KERNEST_E_FORMAT, "%s: HDU %d is a %d-dimensional image (at most %d)", path,
                      hdu, naxis, KERNEST_MAX_NDIM);
        goto done;
    }
    if (bitpix != 8 && bitpix != 16 && bitpix != 32 && bitpix != 64 && bitpix != -32 &&
        bitpix != -64) {
        st = kn_error(KERNEST_E_FORMAT, "%s: unsupported BITPIX %d", path, bitpix);
        goto done;
    }
    /* FITS lists the fastest axis first (NAXIS1 = columns); C order lists it last */
    size_t shape[KERNEST_MAX_NDIM];
    size_t n = 1, bytes;
    for (int d = 0; d < naxis; d++) {
        LONGLONG v = naxes[naxis - 1 - d];
        if (v < 0 || (unsigned long long)v > SIZE_MAX) {
            st = kn_error(KERNEST_E_FORMAT, "%s: NAXIS%d = %lld is not a valid size", path,
                          naxis - d, (long long)v);
            goto done;
        }
        shape[d] = (size_t)v;
        if (kn_mul_size(n, shape[d], &n)) {
            st = kn_error(KERNEST_E_TOOBIG, "%s: the image's element count overflows", path);
            goto done;
        }
    }
    int compressed = fits_is_compressed_image(f, &status);
    if (kn_mul_size(n, (size_t)abs(bitpix) / 8, &bytes)) {
        st = kn_error(KERNEST_E_TOOBIG, "%s: the image's byte count overflows", path);
        goto done;
    }
    /* an uncompressed image's data is in the file: a header that promises more is a lie (or a
     * truncated file), found before anything is allocated */
    LONGLONG headstart, datastart, dataend;
    if (!compressed && !fits_get_hduaddrll(f, &headstart, &datastart, &dataend, &status) &&
        (unsigned long long)datastart + bytes > (unsigned long long)sb.st_size) {
        st = kn_error(KERNEST_E_FORMAT, "%s: truncated: the image needs %zu bytes of data, the "
                      "file has %lld after the header", path, bytes,
                      (long long)sb.st_size - (long long)datastart);
        goto done;
    }
    /* the shape declared (ZNAXISn for a compressed image) against the memory available, and for
     * a compressed one its tiles' buffers too, before cfitsio decompresses anything */
    size_t n_chk, array_bytes;
    if ((st = kn_io_check_size(path, naxis, shape, &n_chk, &array_bytes)) ||
        (compressed &&
         (st = check_tiles(f, path, naxis, naxes, array_bytes, (size_t)sb.st_size))))
        goto done;
    kernest_array *a = NULL;
    if ((st = kn_io_alloc(path, naxis, shape, &a)))
        goto done;
    LONGLONG first[KERNEST_MAX_NDIM] = {1, 1, 1, 1};
    double nulval = NAN; /* BLANK pixels of integer images become NaN: missing, as in B */
    int anynul = 0;
    if (n && fits_read_pixll(f, TDOUBLE, first, (LONGLONG)n, &nulval, a->data, &anynul, &status)) {
        kernest_array_destroy(&a);
        st = fits_fail(KERNEST_E_FORMAT, path, "cannot read the image", status);
        goto done;
    }
    *out = a;
done:
    status = 0;
    fits_close_file(f, &status);
    fits_clear_errmsg();
    return st;
}

int kn_fits_write(const char *path, const kernest_array *a, kernest_precision precision)
{
    /* cfitsio builds the file in memory; it reaches the disk through the atomic writer */
    void *mem = NULL;
    size_t memsize = 0;
    fitsfile *f = NULL;
    int status = 0, st = KERNEST_OK;
    LONGLONG naxes[KERNEST_MAX_NDIM];
    for (int d = 0; d < a->ndim; d++)
        naxes[d] = (LONGLONG)a->shape[a->ndim - 1 - d];
    LONGLONG headstart = 0, datastart = 0, dataend = 0;
    if (fits_create_memfile(&f, &mem, &memsize, 2880, realloc, &status) ||
        fits_create_imgll(f, precision == KERNEST_SINGLE ? FLOAT_IMG : DOUBLE_IMG, a->ndim, naxes,
                          &status) ||
        (a->size && fits_write_img(f, TDOUBLE, 1, (LONGLONG)a->size, a->data, &status)) ||
        fits_write_chksum(f, &status) ||
        fits_get_hduaddrll(f, &headstart, &datastart, &dataend, &status)) {
        st = fits_fail(KERNEST_E_IO, path, "cannot build the FITS image", status);
        status = 0;
        if (f)
            fits_close_file(f, &status);
        fits_clear_errmsg();
        free(mem);
        return st;
    }
    if (fits_close_file(f, &status)) {
        free(mem);
        return fits_fail(KERNEST_E_IO, path, "cannot build the FITS image", status);
    }
    /* the file ends where the data ends, padded to a whole 2880-byte block */
    size_t len = ((size_t)dataend + 2879) / 2880 * 2880;
    if (len > memsize) {
        free(mem);
        return kn_error(KERNEST_E_IO, "%s: cfitsio built %zu bytes, %zu expected", path, memsize,
                        len);
    }
    kn_atomic_file af;
    if ((st = kn_atomic_open(&af, path))) {
        free(mem);
        return st;
    }
    if (fwrite(mem, 1, len, af.fp) != len) {
        int e = errno ? errno : EIO;
        free(mem);
        kn_atomic_abort(&af);
        return kn_error(KERNEST_E_IO, "%s: write failed: %s", path, strerror(e));
    }
    free(mem);
    return kn_atomic_commit(&af);
}

/* the row of the format table (formats.c) */
static int row_read(const char *path, const char *file, const char *member,
                    const kernest_read_options *ro, kernest_array **out)
{
    return kn_fits_read(path, out);
}

static int row_write(const char *path, const char *file, const char *member, const kernest_array *a,
                     kernest_precision precision)
{
    return kn_fits_write(path, a, precision);
}

const kn_format_io kn_format_fits = {row_read, row_write};
