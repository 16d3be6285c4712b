/* npy.c — read NumPy .npy files (1.0/2.0/3.0, simple little-endian dtypes) into doubles, write f8/f4. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "base/error.h"
#include "io.h"
#include "npy.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Real headers are a few hundred bytes; the cap only stops a corrupt length from costing memory. */
#define NPY_MAX_HEADER (1u << 20)
/* NumPy aligns the data to 64 bytes; we do the same so np.load can memory-map our files. */
#define NPY_ALIGN 64
/* np.save leaves room for the first axis to grow to this many digits; copying it keeps our
 * files byte-identical to NumPy's. */
#define NPY_GROWTH_DIGITS 21
/* Conversion buffer: a multiple of every item size, small enough to stay in cache. */
#define NPY_CHUNK (64u * 1024u)

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NPY_NATIVE_LITTLE 0
#else
#define NPY_NATIVE_LITTLE 1
#endif

typedef enum npy_kind { NPY_F8, NPY_F4, NPY_I1, NPY_I2, NPY_I4, NPY_I8,
                        NPY_U1, NPY_U2, NPY_U4, NPY_U8, NPY_B1 } npy_kind;

typedef struct npy_header {
    npy_kind kind;
    size_t itemsize;
    int ndim; /* as stored: 0..KERNEST_MAX_NDIM */
    size_t shape[KERNEST_MAX_NDIM];
} npy_header;

/* ---- header parsing ------------------------------------------------------------------------ */

/* The header is a Python dict literal; this is a small recursive-descent reader of just the
 * subset NumPy writes (and hand-written variants of it), so no eval is ever needed. */
typedef struct hparser {
    const char *s;
    size_t len, pos;
    const char *path;
} hparser;

static void skip_ws(hparser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int peek(hparser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int expect_char(hparser *p, char c, const char *where)
{
    skip_ws(p);
    if (peek(p) != (unsigned char)c)
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: expected '%c' %s (offset %zu)",
                        p->path, c, where, p->pos);
    p->pos++;
    return KERNEST_OK;
}

/* A quoted string without escapes (none of the keys or simple dtypes need any). Points into the
 * header; *n receives its length. */
static int parse_string(hparser *p, const char **str, size_t *n, const char *what)
{
    skip_ws(p);
    int q = peek(p);
    if (q != '\'' && q != '"')
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: expected a quoted %s (offset %zu)",
                        p->path, what, p->pos);
    size_t start = ++p->pos;
    while (p->pos < p->len && p->s[p->pos] != q) {
        if (p->s[p->pos] == '\\' || p->s[p->pos] == '\n' || p->s[p->pos] == '\0')
            return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: bad character in %s "
                            "(offset %zu)", p->path, what, p->pos);
        p->pos++;
    }
    if (p->pos >= p->len)
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: unterminated %s", p->path, what);
    *str = p->s + start;
    *n = p->pos - start;
    p->pos++;
    return KERNEST_OK;
}

static int parse_bool(hparser *p, int *v)
{
    skip_ws(p);
    if (p->len - p->pos >= 4 && !memcmp(p->s + p->pos, "True", 4)) {
        *v = 1;
        p->pos += 4;
    } else if (p->len - p->pos >= 5 && !memcmp(p->s + p->pos, "False", 5)) {
        *v = 0;
        p->pos += 5;
    } else {
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: 'fortran_order' must be True "
                        "or False (offset %zu)", p->path, p->pos);
    }
    return KERNEST_OK;
}

/* "(a, b, ...)" with an optional trailing comma; "()" is a 0-d array. Dimensions past
 * KERNEST_MAX_NDIM are counted but not stored, so the error can say how many there were. */
static int parse_shape(hparser *p, int *ndim, size_t *shape)
{
    int st = expect_char(p, '(', "to open 'shape'");
    if (st)
        return st;
    int n = 0;
    for (;;) {
        skip_ws(p);
        if (peek(p) == ')') {
            p->pos++;
            break;
        }
        int c = peek(p);
        if (c == '-')
            return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: negative dimension in "
                            "'shape'", p->path);
        if (c < '0' || c > '9')
            return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: expected a dimension or "
                            "')' in 'shape' (offset %zu)", p->path, p->pos);
        size_t v = 0;
        while ((c = peek(p)) >= '0' && c <= '9') {
            if (kn_mul_size(v, 10, &v) || kn_add_size(v, (size_t)(c - '0'), &v))
                return kn_error(KERNEST_E_TOOBIG, "%s: a dimension in 'shape' overflows size_t",
                                p->path);
            p->pos++;
        }
        if (c == 'L' || c == 'l') /* Python 2 long literals, still found in old files */
            p->pos++;
        if (n < KERNEST_MAX_NDIM)
            shape[n] = v;
        n++;
        skip_ws(p);
        if (peek(p) == ',') {
            p->pos++;
        } else if (peek(p) == ')') {
            p->pos++;
            break;
        } else {
            return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: expected ',' or ')' in "
                            "'shape' (offset %zu)", p->path, p->pos);
        }
    }
    *ndim = n;
    return KERNEST_OK;
}

/* Copies s into buf for an error message, replacing anything unprintable so the message stays
 * one line. */
static const char *printable(char *buf, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++)
        buf[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > k && k + 4 >= cap) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

static int parse_descr(const char *path, const char *d, size_t n, npy_header *h)
{
    char shown[48];
    printable(shown, sizeof shown, d, n);
    char order = '=';
    const char *t = d;
    size_t tn = n;
    if (tn > 0 && (t[0] == '<' || t[0] == '>' || t[0] == '|' || t[0] == '=')) {
        order = t[0];
        t++;
        tn--;
    }
    if (tn >= 1 && (t[0] == 'O' || t[0] == 'o'))
        return kn_error(KERNEST_E_FORMAT, "%s: object arrays (dtype '%s') are not supported", path,
                        shown);
    static const struct {
        const char *code;
        npy_kind kind;
        size_t size;
    } types[] = {
        {"f8", NPY_F8, 8}, {"f4", NPY_F4, 4}, {"i1", NPY_I1, 1}, {"i2", NPY_I2, 2},
        {"i4", NPY_I4, 4}, {"i8", NPY_I8, 8}, {"u1", NPY_U1, 1}, {"u2", NPY_U2, 2},
        {"u4", NPY_U4, 4}, {"u8", NPY_U8, 8}, {"b1", NPY_B1, 1},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (tn != 2 || memcmp(t, types[i].code, 2) != 0)
            continue;
        int little = order == '<' || (order == '=' && NPY_NATIVE_LITTLE);
        /* byte order means nothing for one byte; for wider types '|' is ambiguous */
        if (types[i].size > 1 && !little) {
            if (order == '|')
                return kn_error(KERNEST_E_FORMAT, "%s: dtype '%s' has no byte order; expected '<%s'",
                                path, shown, types[i].code);
            return kn_error(KERNEST_E_FORMAT, "%s: big-endian data (dtype '%s') is not supported; "
                            "save it as '<%s'", path, shown, types[i].code);
        }
        h->kind = types[i].kind;
        h->itemsize = types[i].size;
        return KERNEST_OK;
    }
    return kn_error(KERNEST_E_FORMAT, "%s: unsupported dtype '%s' (supported: f8 f4 i1 i2 i4 i8 "
                    "u1 u2 u4 u8 b1, little-endian)", path, shown);
}

static int parse_header(const char *path, const char *text, size_t len, npy_header *h)
{
    hparser p = {text, len, 0, path};
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    const char *descr = NULL;
    size_t descr_len = 0;
    int st;

    skip_ws(&p);
    if (peek(&p) != '{')
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: not a dict", path);
    p.pos++;
    for (;;) {
        skip_ws(&p);
        if (peek(&p) == '}') {
            p.pos++;
            break;
        }
        const char *key;
        size_t klen;
        if ((st = parse_string(&p, &key, &klen, "key")))
            return st;
        if ((st = expect_char(&p, ':', "after a key")))
            return st;
        int *seen;
        if (klen == 5 && !memcmp(key, "descr", 5)) {
            seen = &have_descr;
            skip_ws(&p);
            if (peek(&p) == '[')
                return kn_error(KERNEST_E_FORMAT, "%s: structured arrays (a list 'descr') are not "
                                "supported", path);
            if ((st = parse_string(&p, &descr, &descr_len, "'descr'")))
                return st;
        } else if (klen == 13 && !memcmp(key, "fortran_order", 13)) {
            seen = &have_fortran;
            if ((st = parse_bool(&p, &fortran)))
                return st;
        } else if (klen == 5 && !memcmp(key, "shape", 5)) {
            seen = &have_shape;
            if ((st = parse_shape(&p, &h->ndim, h->shape)))
                return st;
        } else {
            char shown[48];
            return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: unexpected key '%s'", path,
                            printable(shown, sizeof shown, key, klen));
        }
        if (*seen)
            return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: repeated key '%.*s'", path,
                            (int)klen, key);
        *seen = 1;
        skip_ws(&p);
        if (peek(&p) == ',') {
            p.pos++;
        } else if (peek(&p) == '}') {
            p.pos++;
            break;
        } else {
            return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: expected ',' or '}' "
                            "(offset %zu)", path, p.pos);
        }
    }
    skip_ws(&p);
    if (p.pos != len)
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: unexpected text after the "
                        "dict (offset %zu)", path, p.pos);
    if (!have_descr || !have_fortran || !have_shape)
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: missing key '%s'", path,
                        !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    if ((st = parse_descr(path, descr, descr_len, h)))
        return st;
    if (h->ndim > KERNEST_MAX_NDIM)
        return kn_error(KERNEST_E_FORMAT, "%s: %d-dimensional arrays are not supported (at most %d)",
                        path, h->ndim, KERNEST_MAX_NDIM);
    /* a 1-element or 0-d array is the same in either order; NumPy still may write True */
    if (fortran && h->ndim > 1)
        return kn_error(KERNEST_E_FORMAT, "%s: Fortran-order arrays are not supported (use "
                        "np.ascontiguousarray)", path);
    return KERNEST_OK;
}

/* ---- reading -------------------------------------------------------------------------------- */

static void convert(npy_kind kind, const unsigned char *s, size_t n, double *d)
{
    size_t i;
    switch (kind) {
    case NPY_F8:
        for (i = 0; i < n; i++) {
            uint64_t u = kn_ld_le64(s + 8 * i);
            memcpy(&d[i], &u, 8);
        }
        break;
    case NPY_F4:
        for (i = 0; i < n; i++) {
            uint32_t u = kn_ld_le32(s + 4 * i);
            float f;
            memcpy(&f, &u, 4);
            d[i] = f;
        }
        break;
    case NPY_I1:
        for (i = 0; i < n; i++) {
            int8_t v;
            memcpy(&v, s + i, 1);
            d[i] = v;
        }
        break;
    case NPY_I2:
        for (i = 0; i < n; i++) {
            uint16_t u = kn_ld_le16(s + 2 * i);
            int16_t v;
            memcpy(&v, &u, 2);
            d[i] = v;
        }
        break;
    case NPY_I4:
        for (i = 0; i < n; i++) {
            uint32_t u = kn_ld_le32(s + 4 * i);
            int32_t v;
            memcpy(&v, &u, 4);
            d[i] = v;
        }
        break;
    case NPY_I8:
        for (i = 0; i < n; i++) {
            uint64_t u = kn_ld_le64(s + 8 * i);
            int64_t v;
            memcpy(&v, &u, 8);
            d[i] = (double)v;
        }
        break;
    case NPY_U1:
        for (i = 0; i < n; i++)
            d[i] = s[i];
        break;
    case NPY_U2:
        for (i = 0; i < n; i++)
            d[i] = kn_ld_le16(s + 2 * i);
        break;
    case NPY_U4:
        for (i = 0; i < n; i++)
            d[i] = kn_ld_le32(s + 4 * i);
        break;
    case NPY_U8:
        for (i = 0; i < n; i++)
            d[i] = (double)kn_ld_le64(s + 8 * i);
        break;
    case NPY_B1:
        for (i = 0; i < n; i++)
            d[i] = s[i] ? 1.0 : 0.0;
        break;
    }
}

/* Reads the fixed prefix and the header text; on success *data_offset is where the array
 * starts. */
static int read_header(FILE *fp, const char *path, const struct stat *sb, npy_header *h,
                       size_t *data_offset)
{
    unsigned char pre[12];
    size_t got = fread(pre, 1, 8, fp);
    if (ferror(fp))
        return kn_error(KERNEST_E_IO, "%s: read failed: %s", path, strerror(errno));
    if (got < NPY_MAGIC_LEN || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return kn_error(KERNEST_E_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", path);
    if (got < 8)
        return kn_error(KERNEST_E_FORMAT, "%s: truncated .npy header (file ends after the magic)",
                        path);
    unsigned major = pre[6], minor = pre[7];
    size_t lenbytes;
    if (major == 1 && minor == 0)
        lenbytes = 2;
    else if ((major == 2 || major == 3) && minor == 0)
        lenbytes = 4;
    else
        return kn_error(KERNEST_E_FORMAT, "%s: unsupported .npy format version %u.%u (supported: "
                        "1.0, 2.0, 3.0)", path, major, minor);
    got = fread(pre + 8, 1, lenbytes, fp);
    if (ferror(fp))
        return kn_error(KERNEST_E_IO, "%s: read failed: %s", path, strerror(errno));
    if (got < lenbytes)
        return kn_error(KERNEST_E_FORMAT, "%s: truncated .npy header (file ends in the header "
                        "length)", path);
    size_t hlen = lenbytes == 2 ? kn_ld_le16(pre + 8) : kn_ld_le32(pre + 8);
    size_t prefix = 8 + lenbytes;
    if (hlen == 0)
        return kn_error(KERNEST_E_FORMAT, "%s: malformed .npy header: header length is 0", path);
    if (hlen > NPY_MAX_HEADER)
        return kn_error(KERNEST_E_FORMAT, "%s: .npy header length %zu exceeds the %u-byte limit",
                        path, hlen, NPY_MAX_HEADER);
    unsigned long long fsize = (unsigned long long)sb->st_size;
    if (S_ISREG(sb->st_mode) && fsize < prefix + hlen)
        return kn_error(KERNEST_E_FORMAT, "%s: truncated .npy header: expected %zu bytes, found %llu",
                        path, hlen, fsize > prefix ? fsize - prefix : 0);
    char *text = malloc(hlen);
    if (!text)
        return kn_error(KERNEST_E_NOMEM, "%s: cannot allocate %zu bytes for the header", path, hlen);
    got = fread(text, 1, hlen, fp);
    int st = KERNEST_OK;
    if (ferror(fp))
        st = kn_error(KERNEST_E_IO, "%s: read failed: %s", path, strerror(errno));
    else if (got < hlen)
        st = kn_error(KERNEST_E_FORMAT, "%s: truncated .npy header: expected %zu bytes, found %zu",
                      path, hlen, got);
    else
        st = parse_header(path, text, hlen, h);
    free(text);
    *data_offset = prefix + hlen;
    return st;
}

/* Converts the data section in chunks so the only large allocation is the result itself. */
static int read_data(FILE *fp, const char *path, const npy_header *h, size_t data_bytes,
                     kernest_array *a)
{
    unsigned char *buf = malloc(NPY_CHUNK);
    if (!buf)
        return kn_error(KERNEST_E_NOMEM, "%s: cannot allocate %u bytes", path, NPY_CHUNK);
    size_t done = 0, elem = 0;
    int st = KERNEST_OK;
    while (done < data_bytes) {
        size_t want = data_bytes - done < NPY_CHUNK ? data_bytes - done : NPY_CHUNK;
        size_t got = fread(buf, 1, want, fp);
        if (got < want) {
            /* the file changed under us, or it is not a regular file */
            if (ferror(fp))
                st = kn_error(KERNEST_E_IO, "%s: read failed: %s", path, strerror(errno));
            else
                st = kn_error(KERNEST_E_FORMAT, "%s: truncated: expected %zu bytes of data, found %zu",
                              path, data_bytes, done + got);
            break;
        }
        convert(h->kind, buf, want / h->itemsize, a->data + elem);
        elem += want / h->itemsize;
        done += want;
    }
    free(buf);
    if (st)
        return st;
    if (fgetc(fp) != EOF)
        return kn_error(KERNEST_E_FORMAT, "%s: unexpected bytes after the %zu bytes of data", path,
                        data_bytes);
    if (ferror(fp))
        return kn_error(KERNEST_E_IO, "%s: read failed: %s", path, strerror(errno));
    return KERNEST_OK;
}

/* The reader proper, on an open stream: sb describes it (a regular file's size is checked
 * against the header before anything is allocated); npz members come here through fmemopen. */
int kn_npy_read_stream(FILE *fp, const char *path, const struct stat *sbp, kernest_array **out)
{
    struct stat sb = *sbp;
    npy_header h;
    memset(&h, 0, sizeof h);
    size_t offset = 0;
    int st = read_header(fp, path, &sb, &h, &offset);
    if (st)
        return st;

    char shape_txt[128];
    kn_io_shape_text(h.ndim, h.shape, shape_txt, sizeof shape_txt);
    size_t n, out_bytes;
    if ((st = kn_io_check_size(path, h.ndim, h.shape, &n, &out_bytes)))
        return st;
    const size_t data_bytes = n * h.itemsize; /* itemsize <= sizeof(double): no overflow */
    /* compare with the file size first, so a lying header cannot make us allocate */
    if (S_ISREG(sb.st_mode)) {
        unsigned long long fsize = (unsigned long long)sb.st_size;
        unsigned long long have = fsize > offset ? fsize - offset : 0;
        if (have < data_bytes)
            return kn_error(KERNEST_E_FORMAT, "%s: truncated: expected %zu bytes of data, found %llu",
                            path, data_bytes, have);
        if (have > data_bytes)
            return kn_error(KERNEST_E_FORMAT, "%s: %llu unexpected bytes after the %zu bytes of data "
                            "(shape %s)", path, have - data_bytes, data_bytes, shape_txt);
    }

    /* 0-d arrays become 1-D of one element: the library has no 0-d arrays */
    size_t one = 1;
    kernest_array *a = NULL;
    st = h.ndim == 0 ? kernest_array_create(1, &one, &a) : kernest_array_create(h.ndim, h.shape, &a);
    if (st)
        return kn_error(st, "%s: cannot create an array of shape %s (%zu bytes)", path, shape_txt,
                        out_bytes);
    st = read_data(fp, path, &h, data_bytes, a);
    if (st) {
        kernest_array_destroy(&a);
        return st;
    }
    *out = a;
    return KERNEST_OK;
}

int kernest_npy_read(const char *path, kernest_array **out)
{
    if (!path || !out)
        return kn_error(KERNEST_E_INVALID, "npy read: path and out must not be NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return kn_error(KERNEST_E_NOFILE, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        int e = errno;
        fclose(fp);
        return kn_error(KERNEST_E_NOFILE, "%s: cannot open: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        fclose(fp);
        return kn_error(KERNEST_E_NOFILE, "%s: cannot open: %s", path, strerror(EISDIR));
    }
    int st = kn_npy_read_stream(fp, path, &sb, out);
    fclose(fp);
    return st;
}

/* ---- writing -------------------------------------------------------------------------------- */

/* Builds the version 1.0 prefix and header exactly as np.save does; returns its length. */
static size_t build_header(char *buf, size_t cap, const kernest_array *a, const char *descr)
{
    char shape_txt[128];
    kn_io_shape_text(a->ndim, a->shape, shape_txt, sizeof shape_txt);
    char dict[256];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape_txt);
    char first[32];
    int digits = snprintf(first, sizeof first, "%zu", a->shape[0]);
    for (int i = digits; i < NPY_GROWTH_DIGITS && k < (int)sizeof dict - 1; i++)
        dict[k++] = ' ';
    dict[k] = '\0';
    size_t hlen = (size_t)k + 1; /* the final '\n' */
    size_t pad = NPY_ALIGN - (10 + hlen) % NPY_ALIGN;
    size_t total = 10 + hlen + pad;
    if (total > cap)
        return 0;
    memcpy(buf, NPY_MAGIC "\x01\x00", 8);
    buf[8] = (char)((hlen + pad) & 0xff);
    buf[9] = (char)((hlen + pad) >> 8);
    memcpy(buf + 10, dict, (size_t)k);
    memset(buf + 10 + k, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

/* Writes the .npy bytes of a to fp (validating a first); the caller owns fp. npz members are
 * written through open_memstream. */
int kn_npy_write_stream(FILE *fp, const char *path, const kernest_array *a,
                        kernest_precision precision)
{
    if (!path || !*path)
        return kn_error(KERNEST_E_INVALID, "npy write: the output path is empty");
    int cst = kn_io_check_array(path, a, precision);
    if (cst)
        return cst;
    const size_t n = a->size;

    size_t item = precision == KERNEST_SINGLE ? 4 : 8;
    char header[512];
    size_t hbytes = build_header(header, sizeof header, a, item == 4 ? "<f4" : "<f8");
    if (!hbytes)
        return kn_error(KERNEST_E_INVALID, "%s: header does not fit", path);
    unsigned char *buf = malloc(NPY_CHUNK);
    if (!buf)
        return kn_error(KERNEST_E_NOMEM, "%s: cannot allocate %u bytes", path, NPY_CHUNK);
    int e = 0;
    errno = 0;
    if (fwrite(header, 1, hbytes, fp) != hbytes)
        e = errno ? errno : EIO;
    size_t per = NPY_CHUNK / item;
    for (size_t i = 0; !e && i < n; i += per) {
        size_t m = n - i < per ? n - i : per;
        for (size_t j = 0; j < m; j++) {
            double v = a->data[i + j];
            if (item == 8) {
                uint64_t u;
                memcpy(&u, &v, 8);
                kn_st_le(buf + 8 * j, u, 8);
            } else {
                float fv = (float)v;
                uint32_t u;
                memcpy(&u, &fv, 4);
                kn_st_le(buf + 4 * j, u, 4);
            }
        }
        if (fwrite(buf, item, m, fp) != m)
            e = errno ? errno : EIO;
    }
    free(buf);
    if (e)
        return kn_error(KERNEST_E_IO, "%s: write failed: %s", path, strerror(e));
    return KERNEST_OK;
}

int kernest_npy_write(const char *path, const kernest_array *a, kernest_precision precision)
{
    if (!path || !*path)
        return kn_error(KERNEST_E_INVALID, "npy write: the output path is empty");
    /* validate before creating anything */
    if (!a)
        return kn_error(KERNEST_E_INVALID, "%s: no array to write", path);
    kn_atomic_file f;
    int st = kn_atomic_open(&f, path);
    if (st)
        return st;
    if ((st = kn_npy_write_stream(f.fp, path, a, precision))) {
        kn_atomic_abort(&f);
        return st;
    }
    return kn_atomic_commit(&f);
}

/* the row of the format table (formats.c) */
static int row_read(const char *path, const char *file, const char *member,
                    const kernest_read_options *ro, kernest_array **out)
{
    return kernest_npy_read(path, out);
}

static int row_write(const char *path, const char *file, const char *member, const kernest_array *a,
                     kernest_precision precision)
{
    return kernest_npy_write(path, a, precision);
}

const kn_format_io kn_format_npy = {row_read, row_write};
