/* raw.c — headerless little-endian binary arrays; the shape and dtype come from the caller. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "io.h"

#define RAW_CHUNK (64u * 1024u) /* a multiple of every item size */

typedef enum { RAW_F, RAW_I, RAW_U } raw_kind;

static int parse_dtype(const char *path, const char *s, raw_kind *kind, size_t *item)
{
    static const char *const ok[] = {"f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"};
    for (size_t i = 0; s && i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(s, ok[i])) {
            *kind = s[0] == 'f' ? RAW_F : s[0] == 'i' ? RAW_I : RAW_U;
            *item = (size_t)(s[1] - '0');
            return KERNEST_OK;
        }
    return kn_error(KERNEST_E_INVALID, "%s: raw dtype '%s' is not one of f4 f8 i1 i2 i4 i8 u1 u2 "
                    "u4 u8", path, s ? s : "(none)");
}

static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double convert(raw_kind kind, size_t item, const unsigned char *p)
{
    uint64_t u = load_le(p, item);
    if (kind == RAW_F) {
        if (item == 4) {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, 4);
            return f;
        }
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    if (kind == RAW_U)
        return (double)u;
    /* sign-extend the item's top bit */
    unsigned bits = (unsigned)(8 * item);
    if (bits < 64 && (u >> (bits - 1)) & 1)
        u |= ~(uint64_t)0 << bits;
    int64_t s;
    memcpy(&s, &u, 8);
    return (double)s;
}

int kn_raw_read(const char *path, const kernest_read_options *ro, kernest_array **out)
{
    if (ro->raw_ndim < 1 || ro->raw_ndim > KERNEST_MAX_NDIM || !ro->raw_dtype)
        return kn_error(KERNEST_E_INVALID, "%s: a raw file needs its shape and dtype (kernest: "
                        "--shape HxW --dtype f4)", path);
    raw_kind kind = RAW_F;
    size_t item = 0;
    int st = parse_dtype(path, ro->raw_dtype, &kind, &item);
    if (st)
        return st;
    char txt[128];
    kn_io_shape_text(ro->raw_ndim, ro->raw_shape, txt, sizeof txt);
    size_t n = 1, bytes;
    for (int d = 0; d < ro->raw_ndim; d++)
        if (kn_mul_size(n, ro->raw_shape[d], &n))
            return kn_error(KERNEST_E_TOOBIG, "%s: shape %s has more elements than size_t can count",
                            path, txt);
    if (kn_mul_size(n, item, &bytes))
        return kn_error(KERNEST_E_TOOBIG, "%s: shape %s needs more bytes than size_t can count",
                        path, txt);

    FILE *fp = NULL;
    struct stat sb;
    if ((st = kn_io_open_regular(path, &fp, &sb)))
        return st;
    if ((unsigned long long)sb.st_size != (unsigned long long)bytes) {
        fclose(fp);
        return kn_error(KERNEST_E_FORMAT, "%s: raw file has %lld bytes, but shape %s of %s needs "
                        "%zu", path, (long long)sb.st_size, txt, ro->raw_dtype, bytes);
    }
    kernest_array *a = NULL;
    if ((st = kn_io_alloc(path, ro->raw_ndim, ro->raw_shape, &a))) {
        fclose(fp);
        return st;
    }
    unsigned char *buf = malloc(RAW_CHUNK);
    if (!buf) {
        fclose(fp);
        kernest_array_destroy(&a);
        return kn_error(KERNEST_E_NOMEM, "%s: out of memory", path);
    }
    size_t done = 0;
    while (!st && done < n) {
        size_t m = n - done < RAW_CHUNK / item ? n - done : RAW_CHUNK / item;
        size_t got = fread(buf, item, m, fp);
        if (got < m)
            st = ferror(fp) ? kn_error(KERNEST_E_IO, "%s: read failed: %s", path, strerror(errno))
                            : kn_error(KERNEST_E_FORMAT, "%s: truncated: the file shrank while "
                                       "being read", path);
        for (size_t j = 0; j < got; j++)
            a->data[done + j] = convert(kind, item, buf + j * item);
        done += got;
    }
    free(buf);
    fclose(fp);
    if (st) {
        kernest_array_destroy(&a);
        return st;
    }
    *out = a;
    return KERNEST_OK;
}

int kn_raw_write(const char *path, const kernest_array *a, kernest_precision precision)
{
    size_t item = precision == KERNEST_SINGLE ? 4 : 8;
    unsigned char *buf = malloc(RAW_CHUNK);
    if (!buf)
        return kn_error(KERNEST_E_NOMEM, "%s: out of memory", path);
    kn_atomic_file f;
    int st = kn_atomic_open(&f, path);
    if (st) {
        free(buf);
        return st;
    }
    int e = 0;
    size_t per = RAW_CHUNK / item;
    for (size_t i = 0; !e && i < a->size; i += per) {
        size_t m = a->size - i < per ? a->size - i : per;
        for (size_t j = 0; j < m; j++) {
            uint64_t u;
            if (item == 8) {
                memcpy(&u, &a->data[i + j], 8);
            } else {
                float fv = (float)a->data[i + j];
                uint32_t w;
                memcpy(&w, &fv, 4);
                u = w;
            }
            for (size_t b = 0; b < item; b++)
                buf[j * item + b] = (unsigned char)(u >> (8 * b));
        }
        if (fwrite(buf, item, m, f.fp) != m)
            e = errno ? errno : EIO;
    }
    free(buf);
    if (e) {
        kn_atomic_abort(&f);
        return kn_error(KERNEST_E_IO, "%s: write failed: %s", path, strerror(e));
    }
    return kn_atomic_commit(&f);
}

/* the row of the format table (formats.c) */
static int row_read(const char *path, const char *file, const char *member,
                    const kernest_read_options *ro, kernest_array **out)
{
    return kn_raw_read(path, ro, out);
}

static int row_write(const char *path, const char *file, const char *member, const kernest_array *a,
                     kernest_precision precision)
{
    return kn_raw_write(path, a, precision);
}

const kn_format_io kn_format_raw = {row_read, row_write};
