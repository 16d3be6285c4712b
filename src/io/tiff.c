/* tiff.c — grayscale TIFF through libtiff: read float or integer images (strips or tiles),
 * write float32 or float64. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "io.h"


#include <tiffio.h>


/* libtiff's messages go here instead of stderr: the library never prints. */
typedef struct tiff_msg {
    char text[256];
} tiff_msg;

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    tiff_msg *m = user;
    if (m && !m->text[0]) { /* the first error is the cause; later ones are consequences */
        vsnprintf(m->text, sizeof m->text, fmt, ap);
        for (char *c = m->text; *c; c++) /* our messages are one line */
            if ((unsigned char)*c < 0x20)
                *c = ' ';
    }
    return 1;
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    return 1; /* unknown tags and the like: not our business */
}

static TIFF *open_tiff(const char *path, const char *mode, tiff_msg *m)
{
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o)
        return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, m);
    TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, NULL);
    TIFF *t = TIFFOpenExt(path, mode, o);
    TIFFOpenOptionsFree(o);
    return t;
}

/* The most bytes one stored byte can decode to: none 1; PackBits 64 (2 bytes repeat one 128
 * times); Deflate about 1032; LZW under 4096·8/9 (a code of 9 bits or more yields at most 4096
 * bytes). Zstandard's RLE blocks reach about 32768 and LZMA about 7000 on constant images (a
 * mask, say): the other codecs get 65536, which a 4096×4096 ZSTD constant image (31716:1) passes. */
static double max_expansion(uint16_t comp)
{
    switch (comp) {
    case COMPRESSION_NONE:
        return 1.0;
    case COMPRESSION_PACKBITS:
        return 64.0;
    case COMPRESSION_DEFLATE:
    case COMPRESSION_ADOBE_DEFLATE:
        return 1100.0;
    case COMPRESSION_LZW:
        return 3700.0;
    default:
        return 65536.0;
    }
}

static int tiff_fail(int st, const char *path, const char *what, const tiff_msg *m)
{
    if (m->text[0])
        return kn_error(st, "%s: %s: %s", path, what, m->text);
    return kn_error(st, "%s: %s", path, what);
}

/* One sample of the given format and width (native byte order after libtiff decodes). */
static double sample(const unsigned char *p, int fmt, int bits)
{
    switch (fmt * 100 + bits) {
    case SAMPLEFORMAT_UINT * 100 + 8: return *p;
    case SAMPLEFORMAT_INT * 100 + 8: return (double)*(const int8_t *)p;
    case SAMPLEFORMAT_UINT * 100 + 16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case SAMPLEFORMAT_INT * 100 + 16: { int16_t v; memcpy(&v, p, 2); return v; }
    case SAMPLEFORMAT_UINT * 100 + 32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case SAMPLEFORMAT_INT * 100 + 32: { int32_t v; memcpy(&v, p, 4); return v; }
    case SAMPLEFORMAT_IEEEFP * 100 + 32: { float v; memcpy(&v, p, 4); return v; }
    default: { double v; memcpy(&v, p, 8); return v; } /* IEEEFP 64 */
    }
}

/* Copies a decoded block (strip or tile) of bw×bh samples at (r0, c0) into the image, clipped. */
static void put_block(kernest_array *a, const unsigned char *buf, size_t r0, size_t c0, size_t bh,
                      size_t bw, int fmt, int bits)
{
    size_t H = a->shape[0], W = a->shape[1], item = (size_t)bits / 8;
    for (size_t r = 0; r < bh && r0 + r < H; r++)
        for (size_t c = 0; c < bw && c0 + c < W; c++)
            a->data[(r0 + r) * W + c0 + c] = sample(buf + (r * bw + c) * item, fmt, bits);
}

int kn_tiff_read(const char *path, kernest_array **out)
{
    struct stat sb;
    int st = kn_io_stat_regular(path, &sb);
    if (st)
        return st;
    tiff_msg m = {""};
    TIFF *t = open_tiff(path, "r", &m);
    if (!t)
        return tiff_fail(KERNEST_E_FORMAT, path, "not a readable TIFF file", &m);
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bits = 1, fmt = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
    unsigned char *buf = NULL;
    kernest_array *a = NULL;
    if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h)) {
        st = tiff_fail(KERNEST_E_FORMAT, path, "no image width or length", &m);
        goto done;
    }
    if (!TIFFLastDirectory(t)) { /* a stack (pages, a z-series): page 1 alone would be a silent guess */
        st = kn_error(KERNEST_E_FORMAT, "%s: the file holds %u pages (images); kernest reads "
                      "single-page TIFFs only: save the page wanted on its own (e.g. tiffsplit)",
                      path, (unsigned)TIFFNumberOfDirectories(t));
        goto done;
    }
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
    if (spp != 1) {
        st = kn_error(KERNEST_E_FORMAT, "%s: %u samples per pixel; only single-sample (grayscale) "
                      "images are supported", path, spp);
        goto done;
    }
    int ok = (fmt == SAMPLEFORMAT_IEEEFP && (bits == 32 || bits == 64)) ||
             ((fmt == SAMPLEFORMAT_UINT || fmt == SAMPLEFORMAT_INT) &&
              (bits == 8 || bits == 16 || bits == 32));
    if (!ok) {
        st = kn_error(KERNEST_E_FORMAT, "%s: %u-bit %s samples are not supported (float 32/64, "
                      "integer 8/16/32)", path, bits,
                      fmt == SAMPLEFORMAT_IEEEFP ? "float" : fmt == SAMPLEFORMAT_INT ? "signed"
                      : fmt == SAMPLEFORMAT_UINT ? "unsigned" : "other");
        goto done;
    }
    size_t item = bits / 8u;
    /* the strips (or tiles) must hold the image: a header promising more than the file has is
     * found before the image is allocated, compressed data by its codec's largest expansion */
    uint16_t comp = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &comp);
    const double expand = max_expansion(comp);
    uint64_t stored = 0, largest = 0;
    uint32_t nstrile = TIFFIsTiled(t) ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);
    for (uint32_t i = 0; i < nstrile; i++) {
        uint64_t c = TIFFGetStrileByteCount(t, i);
        stored = stored + c < stored ? UINT64_MAX : stored + c;
        largest = c > largest ? c : largest;
    }
    /* the same bound for one decoded strip or tile, so a lying tile size cannot make us
     * allocate either */
    double block_room = expand * (double)largest;
    double need = (double)h * (double)w * (double)item;
    double room = expand * (double)stored;
    if (need > room || (double)stored > (double)sb.st_size) {
        st = kn_error(KERNEST_E_FORMAT, "%s: truncated or corrupt: a %ux%u image of %u-bit samples "
                      "needs %.0f bytes, its %u strip%s hold %llu (file: %lld bytes)", path, w, h,
                      bits, need, nstrile, nstrile == 1 ? "" : "s", (unsigned long long)stored,
                      (long long)sb.st_size);
        goto done;
    }
    size_t shape[2] = {h, w};
    if ((st = kn_io_alloc(path, 2, shape, &a)))
        goto done;
    if (TIFFIsTiled(t)) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
        tmsize_t ts = TIFFTileSize(t);
        size_t need;
        if (!tw || !th || ts <= 0 || kn_mul_size((size_t)tw * th, item, &need) ||
            (size_t)ts < need || (double)ts > block_room) {
            st = tiff_fail(KERNEST_E_FORMAT, path, "bad tile size", &m);
            goto done;
        }
        if (!(buf = malloc((size_t)ts))) {
            st = kn_error(KERNEST_E_NOMEM, "%s: cannot allocate a %lld-byte tile", path,
                          (long long)ts);
            goto done;
        }
        for (uint32_t r = 0; r < h; r += th)
            for (uint32_t c = 0; c < w; c += tw) {
                ttile_t k = TIFFComputeTile(t, c, r, 0, 0);
                if (TIFFReadEncodedTile(t, k, buf, ts) < (tmsize_t)need) {
                    st = tiff_fail(KERNEST_E_FORMAT, path, "cannot read a tile", &m);
                    goto done;
                }
                put_block(a, buf, r, c, th, tw, fmt, bits);
            }
    } else {
        uint32_t rps = h;
        TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0 || rps > h)
            rps = h;
        tmsize_t ss = TIFFStripSize(t);
        if ((ss <= 0 || (double)ss > block_room) && h) {
            st = tiff_fail(KERNEST_E_FORMAT, path, "bad strip size", &m);
            goto done;
        }
        if (h && !(buf = malloc((size_t)ss))) {
            st = kn_error(KERNEST_E_NOMEM, "%s: cannot allocate a %lld-byte strip", path,
                          (long long)ss);
            goto done;
        }
        for (uint32_t r = 0; r < h; r += rps) {
            size_t rows = h - r < rps ? h - r : rps;
            tstrip_t k = TIFFComputeStrip(t, r, 0);
            tmsize_t got = TIFFReadEncodedStrip(t, k, buf, ss);
            if (got < 0 || (size_t)got < rows * w * item) {
                st = tiff_fail(KERNEST_E_FORMAT, path, got < 0 ? "cannot read a strip"
                               : "truncated strip", &m);
                goto done;
            }
            put_block(a, buf, r, 0, rows, w, fmt, bits);
        }
    }
done:
    free(buf);
    TIFFClose(t);
    if (st) {
        kernest_array_destroy(&a);
        return st;
    }
    *out = a;
    return KERNEST_OK;
}

int kn_tiff_write(const char *path, const kernest_array *a, kernest_precision precision)
{
    if (a->ndim > 2)
        return kn_error(KERNEST_E_INVALID, "%s: a TIFF image is 1-D or 2-D, this array has %d "
                        "dimensions", path, a->ndim);
    size_t h = a->ndim == 2 ? a->shape[0] : 1, w = a->ndim == 2 ? a->shape[1] : a->size;
    if (h == 0 || w == 0 || h > UINT32_MAX || w > UINT32_MAX)
        return kn_error(KERNEST_E_INVALID, "%s: a TIFF image must be 1..%u pixels on each side",
                        path, UINT32_MAX);
    size_t item = precision == KERNEST_SINGLE ? 4 : 8;
    unsigned char *row = malloc(w * item);
    if (!row)
        return kn_error(KERNEST_E_NOMEM, "%s: out of memory", path);
    char *tmp = NULL;
    int st = kn_atomic_temp(path, &tmp, NULL);
    if (st) {
        free(row);
        return st;
    }
    tiff_msg m = {""};
    /* BigTIFF only when classic TIFF's 4 GiB offsets could not hold the data */
    int big = (double)h * (double)w * (double)item > 3.5e9;
    TIFF *t = open_tiff(tmp, big ? "w8" : "w", &m);
    if (!t) {
        st = tiff_fail(KERNEST_E_IO, path, "cannot create", &m);
        goto fail;
    }
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)(8 * item));
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, (uint16_t)SAMPLEFORMAT_IEEEFP);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, (uint16_t)PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, (uint16_t)PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, (uint16_t)COMPRESSION_NONE);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
    for (size_t r = 0; r < h; r++) {
        for (size_t c = 0; c < w; c++) {
            double v = a->data[r * w + c];
            if (item == 8) {
                memcpy(row + 8 * c, &v, 8);
            } else {
                float f = (float)v;
                memcpy(row + 4 * c, &f, 4);
            }
        }
        if (TIFFWriteScanline(t, row, (uint32_t)r, 0) < 0) {
            st = tiff_fail(KERNEST_E_IO, path, "write failed", &m);
            TIFFClose(t);
            goto fail;
        }
    }
    if (!TIFFWriteDirectory(t)) {
        st = tiff_fail(KERNEST_E_IO, path, "write failed", &m);
        TIFFClose(t);
        goto fail;
    }
    TIFFClose(t);
    free(row);
    st = kn_io_commit_temp(tmp, path);
    free(tmp);
    return st;
fail:
    unlink(tmp);
    free(tmp);
    free(row);
    return st;
}

/* the row of the format table (formats.c) */
static int row_read(const char *path, const char *file, const char *member,
                    const kernest_read_options *ro, kernest_array **out)
{
    return kn_tiff_read(path, out);
}

static int row_write(const char *path, const char *file, const char *member, const kernest_array *a,
                     kernest_precision precision)
{
    return kn_tiff_write(path, a, precision);
}

const kn_format_io kn_format_tiff = {row_read, row_write};
