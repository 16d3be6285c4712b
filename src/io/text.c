/* text.c — small arrays as text rows (CSV, TSV or whitespace); '#' starts a comment. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "io.h"

/* Bytes a text value may take on average, counting separators and comments; the file-size cap
 * is this times the element cap, so a huge file is refused before it is read. */
#define TEXT_BYTES_PER_VALUE 64u

/* A token quoted in an error: at most 24 characters, non-printing bytes as '?'. */
static const char *quote(const char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap && i < 24; i++)
        buf[k++] = isprint((unsigned char)s[i]) ? s[i] : '?';
    if (n > 24 && k + 4 < cap)
        buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

typedef struct values {
    double *v;
    size_t n, cap, max;
} values;

static int push(const char *path, values *vs, double x)
{
    if (vs->n == vs->max)
        return kn_error(KERNEST_E_TOOBIG, "%s: more than %zu values; text formats are for small "
                        "arrays (use .npy)", path, vs->max);
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? 2 * vs->cap : 1024;
        double *v = realloc(vs->v, cap * sizeof *v);
        if (!v)
            return kn_error(KERNEST_E_NOMEM, "%s: out of memory after %zu values", path, vs->n);
        vs->v = v;
        vs->cap = cap;
    }
    vs->v[vs->n++] = x;
    return KERNEST_OK;
}

/* Parses one token [s, s+n) as a number. */
static int number(const char *path, size_t line, const char *s, size_t n, double *x)
{
    char tok[64], q[40];
    if (n == 0)
        return kn_error(KERNEST_E_FORMAT, "%s: line %zu: empty field", path, line);
    if (n >= sizeof tok)
        return kn_error(KERNEST_E_FORMAT, "%s: line %zu: '%s' is not a number", path, line,
                        quote(s, n, q, sizeof q));
    memcpy(tok, s, n);
    tok[n] = '\0';
    char *end;
    errno = 0;
    *x = strtod(tok, &end);
    if (end != tok + n || (errno == ERANGE && (*x > 1 || *x < -1)))
        return kn_error(KERNEST_E_FORMAT, "%s: line %zu: '%s' is not a number%s", path, line,
                        quote(s, n, q, sizeof q), errno == ERANGE ? " (out of range)" : "");
    return KERNEST_OK;
}

/* Splits one line (comment removed) into values; returns the count in *cols. */
static int parse_line(const char *path, size_t line, const char *s, size_t len, int comma,
                      values *vs, size_t *cols)
{
    size_t count = 0, i = 0;
    int st;
    if (comma) {
        for (;;) {
            size_t j = i;
            while (j < len && s[j] != ',')
                j++;
            size_t a = i, b = j;
            while (a < b && isspace((unsigned char)s[a]))
                a++;
            while (b > a && isspace((unsigned char)s[b - 1]))
                b--;
            double x;
            if ((st = number(path, line, s + a, b - a, &x)) || (st = push(path, vs, x)))
                return st;
            count++;
            if (j >= len)
                break;
            i = j + 1;
        }
    } else {
        while (i < len) {
            while (i < len && isspace((unsigned char)s[i]))
                i++;
            if (i >= len)
                break;
            size_t j = i;
            while (j < len && !isspace((unsigned char)s[j]))
                j++;
            double x;
            if ((st = number(path, line, s + i, j - i, &x)) || (st = push(path, vs, x)))
                return st;
            count++;
            i = j;
        }
    }
    *cols = count;
    return KERNEST_OK;
}

static int parse(const char *path, const char *text, size_t len, values *vs, size_t *rows,
                 size_t *cols)
{
    size_t line = 0, pos = 0;
    int comma = -1;
    *rows = *cols = 0;
    while (pos < len) {
        line++;
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL);
        if (memchr(s, '\0', n))
            return kn_error(KERNEST_E_FORMAT, "%s: line %zu: a NUL byte (not a text file)", path,
                            line);
        const char *hash = memchr(s, '#', n);
        if (hash)
            n = (size_t)(hash - s);
        size_t k = 0;
        while (k < n && isspace((unsigned char)s[k]))
            k++;
        if (k == n)
            continue; /* blank or comment only */
        if (comma < 0)
            comma = memchr(s, ',', n) != NULL;
        size_t c;
        int st = parse_line(path, line, s, n, comma, vs, &c);
        if (st)
            return st;
        if (*rows == 0)
            *cols = c;
        else if (c != *cols)
            return kn_error(KERNEST_E_FORMAT, "%s: line %zu has %zu value%s, the first row has %zu",
                            path, line, c, c == 1 ? "" : "s", *cols);
        (*rows)++;
    }
    if (*rows == 0)
        return kn_error(KERNEST_E_FORMAT, "%s: no numbers in the file", path);
    return KERNEST_OK;
}

int kn_text_read(const char *path, size_t max_elements, kernest_array **out)
{
    FILE *fp = NULL;
    struct stat sb;
    int st = kn_io_open_regular(path, &fp, &sb);
    if (st)
        return st;
    size_t cap_bytes;
    if (kn_mul_size(max_elements, TEXT_BYTES_PER_VALUE, &cap_bytes))
        cap_bytes = (size_t)-1;
    if ((unsigned long long)sb.st_size > cap_bytes) {
        fclose(fp);
        return kn_error(KERNEST_E_TOOBIG, "%s: %lld bytes is too large for a text array (limit "
                        "%zu values, %zu bytes); use .npy", path, (long long)sb.st_size,
                        max_elements, cap_bytes);
    }
    size_t len = (size_t)sb.st_size;
    char *text = malloc(len ? len : 1);
    if (!text) {
        fclose(fp);
        return kn_error(KERNEST_E_NOMEM, "%s: cannot allocate %zu bytes", path, len);
    }
    size_t got = fread(text, 1, len, fp);
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr || got != len) {
        free(text);
        return kn_error(KERNEST_E_IO, "%s: read failed%s", path, rerr ? "" : " (file shrank)");
    }
    values vs = {NULL, 0, 0, max_elements};
    size_t rows, cols;
    st = parse(path, text, len, &vs, &rows, &cols);
    free(text);
    kernest_array *a = NULL;
    size_t shape[2] = {rows, cols};
    if (!st && !(st = kn_io_alloc(path, 2, shape, &a)))
        memcpy(a->data, vs.v, vs.n * sizeof(double));
    free(vs.v);
    if (st)
        return st;
    *out = a;
    return KERNEST_OK;
}

static size_t ext_is(const char *path, const char *ext)
{
    size_t n = strlen(path), m = strlen(ext);
    return n > m && !strcasecmp(path + n - m, ext);
}

int kn_text_write(const char *path, const kernest_array *a, kernest_precision precision)
{
    if (a->ndim > 2)
        return kn_error(KERNEST_E_INVALID, "%s: text formats hold 1-D or 2-D arrays, this one has "
                        "%d dimensions (use .npy)", path, a->ndim);
    if (a->size > KERNEST_TEXT_MAX_ELEMENTS)
        return kn_error(KERNEST_E_TOOBIG, "%s: %zu values is more than the %u a text array may "
                        "hold (use .npy)", path, a->size, KERNEST_TEXT_MAX_ELEMENTS);
    const char *sep = ext_is(path, ".csv") ? "," : ext_is(path, ".tsv") ? "\t" : " ";
    /* %.17g and %.9g round-trip a double and a float exactly */
    const char *fmt = precision == KERNEST_SINGLE ? "%.9g" : "%.17g";
    size_t rows = a->ndim == 2 ? a->shape[0] : 1, cols = a->ndim == 2 ? a->shape[1] : a->size;
    kn_atomic_file f;
    int st = kn_atomic_open(&f, path);
    if (st)
        return st;
    int bad = 0;
    for (size_t r = 0; r < rows && !bad; r++) {
        for (size_t c = 0; c < cols && !bad; c++) {
            double v = a->data[r * cols + c];
            if (precision == KERNEST_SINGLE)
                v = (float)v;
            if ((c && fputs(sep, f.fp) < 0) || fprintf(f.fp, fmt, v) < 0)
                bad = 1;
        }
        if (fputc('\n', f.fp) == EOF)
            bad = 1;
    }
    if (bad) {
        int e = errno ? errno : EIO;
        kn_atomic_abort(&f);
        return kn_error(KERNEST_E_IO, "%s: write failed: %s", path, strerror(e));
    }
    return kn_atomic_commit(&f);
}

/* the row of the format table (formats.c) */
static int row_read(const char *path, const char *file, const char *member,
                    const kernest_read_options *ro, kernest_array **out)
{
    return kn_text_read(path, ro->text_max_elements ? ro->text_max_elements : KERNEST_TEXT_MAX_ELEMENTS,
                        out);
}

static int row_write(const char *path, const char *file, const char *member, const kernest_array *a,
                     kernest_precision precision)
{
    return kn_text_write(path, a, precision);
}

const kn_format_io kn_format_text = {row_read, row_write};
