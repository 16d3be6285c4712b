/* test_formats.c — array files by extension: round trips, fixtures made by NumPy and written
 * from the FITS/TIFF specifications, malformed files of every format, the CLI's choice. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernest.h"
#include "testutil.h"
#ifdef KERNEST_HAVE_LIBTIFF
#include <tiffio.h>
#endif
#ifdef KERNEST_HAVE_CFITSIO
#include <fitsio.h>
#endif

#define dir tu_dir
#define FIX KERNEST_FIXTURES "/formats/"

TestSuite(formats, .init = tu_dir_setup, .fini = tu_dir_teardown);

/* ---- helpers -------------------------------------------------------------------------------- */

static char *in_dir(const char *name)
{
    char *p = tu_path(dir, name);
    cr_assert_not_null(p);
    return p;
}

/* 1 when the format of path is compiled in; otherwise checks that reading and writing it fail
 * with KERNEST_E_UNSUPPORTED and a message that names the file and the package. */
static int have(const char *path)
{
    kernest_format f = kernest_format_of_path(path);
    if (kernest_format_available(f))
        return 1;
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_read(path, NULL, &a), KERNEST_E_UNSUPPORTED);
    cr_assert(strstr(kernest_last_error(), "not compiled in") &&
                  strstr(kernest_last_error(), "-dev"),
              "message: %s", kernest_last_error());
    cr_log_warn("%s: %s support not compiled in; checked the error only", path,
                kernest_format_name(f));
    return 0;
}

static kernest_array *sample_array(size_t h, size_t w, unsigned long long seed)
{
    unsigned long long s = seed;
    kernest_array *a = tu_random_array(h, w, -3.0, 5.0, &s);
    cr_assert_not_null(a);
    a->data[0] = 1.0 / 3.0; /* not representable in a short decimal or in float */
    return a;
}

static kernest_array *read_ok(const char *path, const kernest_read_options *ro)
{
    kernest_array *a = NULL;
    int st = kernest_array_read(path, ro, &a);
    cr_assert_eq(st, KERNEST_OK, "read %s: %s (%s)", path, kernest_status_name(st),
                 kernest_last_error());
    return a;
}

/* single: want is rounded to float first; single == 2 (text): got is too, since the decimal
 * text of a float reads back as the nearest double, not the float itself */
static void expect_equal(const kernest_array *got, const kernest_array *want, int single,
                         const char *what)
{
    cr_assert_eq(got->ndim, want->ndim, "%s: ndim %d, want %d", what, got->ndim, want->ndim);
    for (int d = 0; d < want->ndim; d++)
        cr_assert_eq(got->shape[d], want->shape[d], "%s: shape[%d] %zu, want %zu", what, d,
                     got->shape[d], want->shape[d]);
    for (size_t i = 0; i < want->size; i++) {
        double w = single ? (double)(float)want->data[i] : want->data[i];
        if (isnan(w))
            cr_assert(isnan(got->data[i]), "%s: [%zu] = %g, want NaN", what, i, got->data[i]);
        else
            cr_assert_eq(single == 2 ? (double)(float)got->data[i] : got->data[i], w,
                         "%s: [%zu] = %.17g, want %.17g", what, i, got->data[i], w);
    }
}

/* The fixtures' reference array: R = arange(12).reshape(3, 4) * scale + offset. */
static void expect_arange(const kernest_array *a, size_t h, size_t w, double scale, double offset,
                          const char *what)
{
    cr_assert_eq(a->ndim, 2, "%s: ndim %d", what, a->ndim);
    cr_assert(a->shape[0] == h && a->shape[1] == w, "%s: shape %zux%zu, want %zux%zu", what,
              a->shape[0], a->shape[1], h, w);
    for (size_t i = 0; i < h * w; i++)
        cr_assert_eq(a->data[i], (double)i * scale + offset, "%s: [%zu] = %.17g, want %.17g", what,
                     i, a->data[i], (double)i * scale + offset);
}

/* Reading must fail with one of the allowed statuses and a message naming the file. */
static void expect_fail(const char *path, const kernest_read_options *ro, int status,
                        const char *needle)
{
    kernest_array *a = NULL;
    int st = kernest_array_read(path, ro, &a);
    const char *msg = kernest_last_error();
    cr_assert_eq(st, status, "read %s: %s, want %s (%s)", path, kernest_status_name(st),
                 kernest_status_name(status), msg);
    cr_assert_null(a);
    char base[256];
    snprintf(base, sizeof base, "%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    char *colon = strstr(base, ".npz:");
    if (colon)
        colon[4] = '\0'; /* "file.npz:member": the file is named */
    cr_assert(strstr(msg, base), "message does not name %s: %s", base, msg);
    cr_assert(!strchr(msg, '\n'), "message is not one line: %s", msg);
    if (needle)
        cr_assert(strstr(msg, needle), "message lacks '%s': %s", needle, msg);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    cr_assert_eq(fread(b, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return b;
}

/* Copies the fixture's first keep bytes into dir/name (a truncated file). */
static char *truncated(const char *fixture, const char *name, size_t keep)
{
    size_t n;
    unsigned char *b = slurp(fixture, &n);
    char *p = in_dir(name);
    cr_assert_eq(tu_write_bytes(p, b, keep < n ? keep : n), 0);
    free(b);
    return p;
}

/* ---- round trips ---------------------------------------------------------------------------- */

static void round_trip(const char *name, const kernest_read_options *ro, int ndim3)
{
    char *p = in_dir(name);
    if (!have(p)) {
        free(p);
        return;
    }
    kernest_array *a = sample_array(5, 7, 7);
    a->data[3] = NAN; /* missing pixels survive every format */
    for (int single = 0; single < 2; single++) {
        int st = kernest_array_write(p, a, single ? KERNEST_SINGLE : KERNEST_DOUBLE);
        cr_assert_eq(st, KERNEST_OK, "write %s: %s", name, kernest_last_error());
        kernest_array *b = read_ok(p, ro);
        char what[128];
        snprintf(what, sizeof what, "%s %s", name, single ? "single" : "double");
        int text = kernest_format_of_path(p) == KERNEST_FORMAT_TEXT;
        expect_equal(b, a, single && text ? 2 : single, what);
        kernest_array_destroy(&b);
    }
    if (ndim3) {
        size_t shape[3] = {2, 3, 4};
        kernest_array *c = NULL;
        cr_assert_eq(kernest_array_create(3, shape, &c), KERNEST_OK);
        for (size_t i = 0; i < c->size; i++)
            c->data[i] = (double)i - 0.25;
        cr_assert_eq(kernest_array_write(p, c, KERNEST_DOUBLE), KERNEST_OK, "%s",
                     kernest_last_error());
        kernest_array *b = read_ok(p, ro);
        expect_equal(b, c, 0, name);
        kernest_array_destroy(&b);
        kernest_array_destroy(&c);
    }
    /* nothing but the file itself is left in the folder: no temporaries */
    cr_assert_eq(tu_count_entries(dir), 1, "%s: %d entries in the folder", name,
                 tu_count_entries(dir));
    kernest_array_destroy(&a);
    free(p);
}

Test(formats, round_trip_npy) { round_trip("a.npy", NULL, 1); }
Test(formats, round_trip_npz) { round_trip("a.npz", NULL, 1); }
Test(formats, round_trip_npz_member) { round_trip("a.npz:kernel", NULL, 1); }
Test(formats, round_trip_fits) { round_trip("a.fits", NULL, 1); }
Test(formats, round_trip_fit_fts_uppercase)
{
    round_trip("a.FIT", NULL, 0);
}
Test(formats, round_trip_tiff) { round_trip("a.tif", NULL, 0); }
Test(formats, round_trip_csv) { round_trip("a.csv", NULL, 0); }
Test(formats, round_trip_txt) { round_trip("a.txt", NULL, 0); }
Test(formats, round_trip_tsv) { round_trip("a.tsv", NULL, 0); }

Test(formats, round_trip_raw)
{
    char *p = in_dir("a.raw");
    kernest_array *a = sample_array(5, 7, 3);
    for (int single = 0; single < 2; single++) {
        cr_assert_eq(kernest_array_write(p, a, single ? KERNEST_SINGLE : KERNEST_DOUBLE),
                     KERNEST_OK);
        struct stat sb;
        cr_assert_eq(stat(p, &sb), 0);
        cr_assert_eq((size_t)sb.st_size, 35u * (single ? 4 : 8));
        kernest_read_options ro;
        kernest_read_options_default(&ro);
        ro.raw_ndim = 2;
        ro.raw_shape[0] = 5;
        ro.raw_shape[1] = 7;
        ro.raw_dtype = single ? "f4" : "f8";
        kernest_array *b = read_ok(p, &ro);
        expect_equal(b, a, single, single ? "raw f4" : "raw f8");
        kernest_array_destroy(&b);
    }
    kernest_array_destroy(&a);
    free(p);
}

Test(formats, raw_integer_dtypes_little_endian)
{
    /* bytes 0x80 0xff 0x01 0x02 0x03 0x04 0x05 0x86: the same 8 bytes as every integer dtype */
    const unsigned char bytes[8] = {0x80, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x86};
    char *p = in_dir("b.bin");
    cr_assert_eq(tu_write_bytes(p, bytes, 8), 0);
    static const struct {
        const char *dtype;
        size_t n;
        double first, last;
    } cases[] = {
        {"u1", 8, 128, 134},           {"i1", 8, -128, -122},
        {"u2", 4, 65408, 34309},       {"i2", 4, -128, -31227},
        {"u4", 2, 33685376, 2248475651.0}, {"i4", 2, 33685376, -2046491645.0},
        /* 0x8605040302 01ff80 as u8 and i8 (values from NumPy's frombuffer) */
        {"u8", 1, 9.657129386930995e+18, 9.657129386930995e+18},
        {"i8", 1, -8.789614686778556e+18, -8.789614686778556e+18},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kernest_read_options ro;
        kernest_read_options_default(&ro);
        ro.raw_ndim = 1;
        ro.raw_shape[0] = cases[i].n;
        ro.raw_dtype = cases[i].dtype;
        kernest_array *a = read_ok(p, &ro);
        cr_assert_eq(a->data[0], cases[i].first, "%s first %.17g", cases[i].dtype, a->data[0]);
        cr_assert_eq(a->data[cases[i].n - 1], cases[i].last, "%s last %.17g", cases[i].dtype,
                     a->data[cases[i].n - 1]);
        kernest_array_destroy(&a);
    }
    free(p);
}

/* ---- files made by NumPy and by the specification-level writers -------------------------- */

Test(formats, npz_made_by_numpy)
{
    if (!have(FIX "stored.npz"))
        return;
    kernest_array *a = read_ok(FIX "stored.npz:a", NULL);
    expect_arange(a, 3, 4, 0.5, -1.0, "stored.npz:a");
    kernest_array_destroy(&a);
    a = read_ok(FIX "stored.npz:b.npy", NULL); /* the member's own name works too */
    expect_arange(a, 3, 4, 1.0, -2.0, "stored.npz:b");
    kernest_array_destroy(&a);
    a = read_ok(FIX "deflated.npz", NULL); /* np.savez_compressed, one member: no name needed */
    expect_arange(a, 3, 4, 0.5, -1.0, "deflated.npz");
    kernest_array_destroy(&a);
    a = read_ok(FIX "deflated.npz:arr_0", NULL);
    kernest_array_destroy(&a);
    a = read_ok(FIX "int16.npz:img", NULL);
    expect_arange(a, 3, 4, 1.0, -6.0, "int16.npz:img");
    kernest_array_destroy(&a);
    /* two members and no name: the message lists them */
    expect_fail(FIX "stored.npz", NULL, KERNEST_E_INVALID, "(a, b)");
    expect_fail(FIX "stored.npz:c", NULL, KERNEST_E_FORMAT, "no array named 'c'");
    expect_fail(FIX "stored.npz:", NULL, KERNEST_E_INVALID, "empty");
}

Test(formats, npz_written_is_read_by_numpy)
{
    /* np.load is the reference reader; skipped where python3 with NumPy is missing */
    if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        cr_log_warn("python3 with NumPy not found; np.load check skipped");
        return;
    }
    char *p = in_dir("k.npz:kern");
    if (!have(p))
        return;
    kernest_array *a = sample_array(4, 6, 11);
    cr_assert_eq(kernest_array_write(p, a, KERNEST_DOUBLE), KERNEST_OK);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 -c \"import numpy as np, sys; z = np.load('%s/k.npz'); "
             "k = z['kern']; sys.exit(0 if k.shape == (4, 6) and k.dtype == np.float64 and "
             "k[0, 0] == 1.0 / 3.0 and abs(k[3, 5] - %.17g) == 0 else 1)\"", dir, a->data[23]);
    cr_assert_eq(system(cmd), 0, "np.load disagrees: %s", cmd);
    kernest_array_destroy(&a);
    free(p);
}

Test(formats, fits_every_bitpix_and_bscale)
{
    if (!have(FIX "f64.fits"))
        return;
    static const struct {
        const char *file;
        double scale, offset;
    } cases[] = {{"i16_scaled.fits", 0.5, -1.0}, {"int8.fits", 1, 0}, {"int32.fits", 1, 0},
                 {"int64.fits", 1, 0},          {"f64.fits", 0.5, -1.0},
                 {"ext_f32.fits", 0.5, -1.0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[4096];
        snprintf(p, sizeof p, FIX "%s", cases[i].file);
        kernest_array *a = read_ok(p, NULL);
        expect_arange(a, 3, 4, cases[i].scale, cases[i].offset, cases[i].file);
        kernest_array_destroy(&a);
    }
    kernest_array *a = read_ok(FIX "blank.fits", NULL);
    cr_assert(isnan(a->data[6]), "BLANK pixel read as %g", a->data[6]);
    cr_assert_eq(a->data[7], 7.0);
    kernest_array_destroy(&a);
}

Test(formats, tiff_strips_tiles_and_sample_types)
{
    if (!have(FIX "f32_strips.tif"))
        return;
    kernest_array *a = read_ok(FIX "f32_strips.tif", NULL);
    expect_arange(a, 3, 4, 0.5, -1.0, "f32_strips.tif");
    kernest_array_destroy(&a);
    a = read_ok(FIX "f64_strips.tif", NULL);
    expect_arange(a, 3, 4, 0.5, -1.0, "f64_strips.tif");
    kernest_array_destroy(&a);
    a = read_ok(FIX "u16_tiles_be.tif", NULL);
    expect_arange(a, 20, 35, 1.0, 0.0, "u16_tiles_be.tif");
    kernest_array_destroy(&a);
    a = read_ok(FIX "f32_deflate.tif", NULL);
    expect_arange(a, 20, 35, 0.25, -3.0, "f32_deflate.tif");
    kernest_array_destroy(&a);
    a = read_ok(FIX "i8_strips.tif", NULL);
    expect_arange(a, 3, 4, 1.0, -6.0, "i8_strips.tif");
    kernest_array_destroy(&a);
    a = read_ok(FIX "u32_strips.tif", NULL);
    expect_arange(a, 3, 4, 100000.0, 0.0, "u32_strips.tif");
    kernest_array_destroy(&a);
    expect_fail(FIX "rgb8.tif", NULL, KERNEST_E_FORMAT, "3 samples per pixel");
}

Test(formats, text_separators_comments_and_layout)
{
    char *p = in_dir("t.csv");
    const char *csv = "# a comment line\n1, 2.5 ,-3\n\n4,5e-1,nan # trailing comment\r\n";
    cr_assert_eq(tu_write_bytes(p, csv, strlen(csv)), 0);
    kernest_array *a = read_ok(p, NULL);
    cr_assert(a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3);
    cr_assert(a->data[0] == 1 && a->data[1] == 2.5 && a->data[2] == -3 && a->data[3] == 4 &&
              a->data[4] == 0.5 && isnan(a->data[5]));
    kernest_array_destroy(&a);
    char *q = in_dir("t.txt");
    const char *txt = "1\t2   3\n  4 5\t\t6\n";
    cr_assert_eq(tu_write_bytes(q, txt, strlen(txt)), 0);
    a = read_ok(q, NULL);
    cr_assert(a->shape[0] == 2 && a->shape[1] == 3 && a->data[5] == 6);
    kernest_array_destroy(&a);
    free(p);
    free(q);
}

/* ---- malformed files ------------------------------------------------------------------------ */

Test(formats, truncated_binary_files)
{
    static const char *const fixtures[] = {"stored.npz", "deflated.npz", "f64.fits",
                                           "ext_f32.fits", "f32_strips.tif",
                                           "u16_tiles_be.tif", "f32_deflate.tif"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char src[4096];
        snprintf(src, sizeof src, FIX "%s", fixtures[i]);
        if (!have(src))
            continue;
        size_t n;
        free(slurp(src, &n));
        /* FITS: the header block, then half the data; TIFF/zip: their directories are at the
         * end, so any cut loses them */
        size_t keep[] = {0, 1, 7, 100, n / 2, n - 1};
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
            if (strstr(fixtures[i], ".fits") && keep[k] == n - 1)
                continue; /* the last byte of a FITS file is block padding */
            char name[128];
            snprintf(name, sizeof name, "cut%zu_%s", keep[k], fixtures[i]);
            char *p = truncated(src, name, keep[k]);
            expect_fail(p, NULL, KERNEST_E_FORMAT, NULL);
            free(p);
        }
    }
    /* a FITS file cut inside its data (after the first header block of 2880 bytes) */
    if (have(FIX "f64.fits")) {
        char *p = truncated(FIX "f64.fits", "cutdata.fits", 2880 + 40);
        expect_fail(p, NULL, KERNEST_E_FORMAT, "truncated");
        free(p);
    }
}

Test(formats, garbage_with_every_extension)
{
    static const char *const exts[] = {".npy", ".npz", ".fits", ".tif", ".csv", ".txt"};
    unsigned char junk[4096];
    unsigned long long s = 99;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(tu_rand(&s) * 256);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "junk%s", exts[i]);
        char *p = in_dir(name);
        cr_assert_eq(tu_write_bytes(p, junk, sizeof junk), 0);
        if (have(p))
            expect_fail(p, NULL, KERNEST_E_FORMAT, NULL);
        free(p);
    }
}

/* Mutants per fixture: 3000 ran clean under ASan once; 150 keep the suite quick. */
enum { MUTANTS = 150 };

Test(formats, mutated_files_fail_cleanly)
{
    /* random bytes changed in every binary fixture: each read either succeeds or fails with a
     * one-line message naming the file; none crashes (the ASan build checks the memory) */
    static const char *const fixtures[] = {"int16.npz", "deflated.npz", "i16_scaled.fits",
                                           "ext_f32.fits", "f32_strips.tif", "u16_tiles_be.tif",
                                           "f32_deflate.tif"};
    unsigned long long s = 2026;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char src[4096];
        snprintf(src, sizeof src, FIX "%s", fixtures[i]);
        if (!have(src))
            continue;
        size_t n;
        unsigned char *orig = slurp(src, &n);
        unsigned char *b = malloc(n);
        char name[64];
        snprintf(name, sizeof name, "m_%s", fixtures[i]);
        char *p = in_dir(name);
        int failed = 0;
        for (int trial = 0; trial < MUTANTS; trial++) {
            memcpy(b, orig, n);
            int flips = 1 + (int)(tu_rand(&s) * 4);
            for (int f = 0; f < flips; f++)
                b[(size_t)(tu_rand(&s) * (double)n)] = (unsigned char)(tu_rand(&s) * 256);
            cr_assert_eq(tu_write_bytes(p, b, n), 0);
            kernest_array *a = NULL;
            int st = kernest_array_read(p, NULL, &a);
            if (st) {
                failed++;
                cr_assert_null(a);
                cr_assert(strstr(kernest_last_error(), name) && !strchr(kernest_last_error(), '\n'),
                          "%s: %s", name, kernest_last_error());
            } else {
                cr_assert(a && a->ndim >= 1 && a->data, "%s: OK without an array", name);
            }
            kernest_array_destroy(&a);
        }
        cr_log_info("%s: %d of %d mutants refused", fixtures[i], failed, MUTANTS);
        free(p);
        free(b);
        free(orig);
    }
}

/* A copy of the fixture in dir/name with the first len bytes equal to from replaced by to
 * (len 0: strlen(from)). */
static char *patched_n(const char *fixture, const char *name, const char *from, const char *to,
                       size_t len)
{
    size_t n;
    unsigned char *b = slurp(fixture, &n);
    if (!len)
        len = strlen(from);
    unsigned char *at = memmem(b, n, from, len);
    cr_assert_not_null(at, "pattern not in %s", fixture);
    memcpy(at, to, len);
    char *p = in_dir(name);
    cr_assert_eq(tu_write_bytes(p, b, n), 0);
    free(b);
    return p;
}

static char *patched(const char *fixture, const char *name, const char *from, const char *to)
{
    cr_assert_eq(strlen(from), strlen(to));
    return patched_n(fixture, name, from, to, 0);
}

Test(formats, fits_lying_and_unsupported_headers)
{
    if (!have(FIX "f64.fits"))
        return;
    /* NAXIS1 = 2^31: the data the header promises is not in the file */
    char *p = patched(FIX "f64.fits", "wide.fits", "NAXIS1  =                    4",
                      "NAXIS1  =           2147483647");
    expect_fail(p, NULL, KERNEST_E_FORMAT, "truncated");
    free(p);
    p = patched(FIX "f64.fits", "bitpix.fits", "BITPIX  =                  -64",
                "BITPIX  =                   12");
    expect_fail(p, NULL, KERNEST_E_FORMAT, NULL);
    free(p);
    p = patched(FIX "f64.fits", "naxis0.fits", "NAXIS   =                    2",
                "NAXIS   =                    0");
    expect_fail(p, NULL, KERNEST_E_FORMAT, NULL);
    free(p);
    p = patched(FIX "f64.fits", "nosimple.fits", "SIMPLE", "XIMPLE");
    expect_fail(p, NULL, KERNEST_E_FORMAT, NULL);
    free(p);
}

Test(formats, tiff_lying_and_unsupported_headers)
{
    if (!have(FIX "f32_strips.tif"))
        return;
    /* ImageWidth (tag 256, LONG, count 1) = 0x7fffffff: far more than the strips hold */
    char *p = patched_n(FIX "f32_strips.tif", "wide.tif", "\x00\x01\x04\x00\x01\x00\x00\x00\x04\x00\x00\x00",
                        "\x00\x01\x04\x00\x01\x00\x00\x00\xff\xff\xff\x7f", 12);
    expect_fail(p, NULL, KERNEST_E_FORMAT, NULL);
    free(p);
    /* BitsPerSample 32 -> 24 (tag 258, SHORT, count 1, value 32) */
    p = patched_n(FIX "f32_strips.tif", "bits.tif", "\x02\x01\x03\x00\x01\x00\x00\x00\x20",
                  "\x02\x01\x03\x00\x01\x00\x00\x00\x18", 9);
    expect_fail(p, NULL, KERNEST_E_FORMAT, "not supported");
    free(p);
}

/* Constant images compress far beyond Deflate's ~1032:1 with other codecs (a 4096×4096 mask:
 * LZW 1230:1, LZMA 6200:1, ZSTD 31700:1): they are valid and must read, while a strip that
 * claims more than its codec can expand to stays refused. */
Test(formats, tiff_highly_compressed_constant_images)
{
#ifndef KERNEST_HAVE_LIBTIFF
    cr_log_warn("TIFF support not compiled in; nothing to check");
#else
    static const struct {
        uint16_t comp;
        const char *name;
    } codecs[] = {{COMPRESSION_LZW, "lzw"}, {COMPRESSION_ADOBE_DEFLATE, "deflate"},
                  {COMPRESSION_PACKBITS, "packbits"}, {COMPRESSION_LZMA, "lzma"},
                  {COMPRESSION_ZSTD, "zstd"}};
    const uint32_t n = 4096;
    unsigned char *img = malloc((size_t)n * n);
    cr_assert_not_null(img);
    memset(img, 7, (size_t)n * n);
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        if (!TIFFIsCODECConfigured(codecs[c].comp)) {
            cr_log_warn("libtiff here has no %s codec; skipped", codecs[c].name);
            continue;
        }
        char file[64];
        snprintf(file, sizeof file, "const_%s.tif", codecs[c].name);
        char *p = in_dir(file);
        TIFF *t = TIFFOpen(p, "w");
        cr_assert_not_null(t);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, n);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, n);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_COMPRESSION, codecs[c].comp);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, n);
        cr_assert(TIFFWriteEncodedStrip(t, 0, img, (tmsize_t)n * n) > 0, "%s: write failed", file);
        TIFFClose(t);
        kernest_array *a = read_ok(p, NULL);
        cr_assert(a->ndim == 2 && a->shape[0] == n && a->shape[1] == n, "%s: shape", file);
        for (size_t i = 0; i < a->size; i += 4099)
            cr_assert_eq(a->data[i], 7.0, "%s: element %zu is %g", file, i, a->data[i]);
        kernest_array_destroy(&a);
        free(p);
    }
    free(img);
#endif
}

Test(formats, npz_corrupt_and_lying_members)
{
    if (!have(FIX "stored.npz"))
        return;
    /* flip a data byte of the stored member 'a': the CRC no longer matches */
    size_t n;
    unsigned char *b = slurp(FIX "stored.npz", &n);
    unsigned char *hdr = memmem(b, n, "'descr'", 7);
    cr_assert_not_null(hdr);
    unsigned char *data = memmem(hdr, n - (size_t)(hdr - b), "\n", 1);
    data[8] ^= 0x40;
    char *p = in_dir("crc.npz");
    cr_assert_eq(tu_write_bytes(p, b, n), 0);
    char *pa = in_dir("crc.npz:a");
    expect_fail(pa, NULL, KERNEST_E_FORMAT, NULL);
    free(b);
    free(p);
    free(pa);
    /* a member whose .npy header promises an overflowing shape */
    if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0)
        return;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && python3 -c \"import numpy as np, zipfile, io; b = io.BytesIO(); "
             "np.save(b, np.zeros(3)); s = b.getvalue().replace(b'(3,)', b'(3000000000000, 3000000000000)'.ljust(4, b' ')); "
             "z = zipfile.ZipFile('huge.npz', 'w'); z.writestr('x.npy', s); z.close()\"", dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    p = in_dir("huge.npz");
    expect_fail(p, NULL, KERNEST_E_TOOBIG, NULL);
    free(p);
}

Test(formats, raw_size_shape_and_dtype_errors)
{
    char *p = in_dir("r.raw");
    unsigned char zeros[47] = {0};
    cr_assert_eq(tu_write_bytes(p, zeros, sizeof zeros), 0);
    kernest_read_options ro;
    kernest_read_options_default(&ro);
    expect_fail(p, &ro, KERNEST_E_INVALID, "--shape");
    expect_fail(p, NULL, KERNEST_E_INVALID, "--shape");
    ro.raw_ndim = 2;
    ro.raw_shape[0] = 3;
    ro.raw_shape[1] = 4;
    ro.raw_dtype = "f4";
    expect_fail(p, &ro, KERNEST_E_FORMAT, "47 bytes");
    ro.raw_dtype = "f3";
    expect_fail(p, &ro, KERNEST_E_INVALID, "f3");
    ro.raw_dtype = "u8";
    ro.raw_shape[0] = ro.raw_shape[1] = (size_t)1 << 40;
    expect_fail(p, &ro, KERNEST_E_TOOBIG, NULL);
    free(p);
}

Test(formats, text_errors_and_size_cap)
{
    static const struct {
        const char *text, *needle;
        int status;
    } cases[] = {
        {"1,2,3\n4,5\n", "line 2 has 2 values", KERNEST_E_FORMAT},
        {"1 2\nx 4\n", "'x' is not a number", KERNEST_E_FORMAT},
        {"1,,3\n", "empty field", KERNEST_E_FORMAT},
        {"# only a comment\n\n", "no numbers", KERNEST_E_FORMAT},
        {"", "no numbers", KERNEST_E_FORMAT},
        {"1 2\0 3\n", "NUL", KERNEST_E_FORMAT},
        {"1e999 2\n", "out of range", KERNEST_E_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.txt", i);
        char *p = in_dir(name);
        size_t len = i == 5 ? 7 : strlen(cases[i].text);
        cr_assert_eq(tu_write_bytes(p, cases[i].text, len), 0);
        expect_fail(p, NULL, cases[i].status, cases[i].needle);
        free(p);
    }
    /* the cap: 12 values with a cap of 10 */
    char *p = in_dir("cap.csv");
    const char *t = "1,2,3,4\n5,6,7,8\n9,10,11,12\n";
    cr_assert_eq(tu_write_bytes(p, t, strlen(t)), 0);
    kernest_read_options ro;
    kernest_read_options_default(&ro);
    ro.text_max_elements = 10;
    expect_fail(p, &ro, KERNEST_E_TOOBIG, "use .npy");
    /* and writing more than KERNEST_TEXT_MAX_ELEMENTS values is refused before a file exists */
    kernest_array *big = NULL;
    cr_assert_eq(kernest_array_create2(1, (size_t)KERNEST_TEXT_MAX_ELEMENTS + 1, &big), KERNEST_OK);
    char *q = in_dir("big.csv");
    cr_assert_eq(kernest_array_write(q, big, KERNEST_DOUBLE), KERNEST_E_TOOBIG);
    cr_assert(!tu_exists(q));
    kernest_array_destroy(&big);
    free(p);
    free(q);
}

Test(formats, unknown_extensions_and_failed_writes_leave_nothing)
{
    kernest_array *a = sample_array(3, 3, 5);
    char *p = in_dir("k.xyz");
    cr_assert_eq(kernest_array_write(p, a, KERNEST_DOUBLE), KERNEST_E_FORMAT);
    cr_assert(strstr(kernest_last_error(), "unknown file format"));
    cr_assert_eq(tu_write_bytes(p, "1", 1), 0);
    expect_fail(p, NULL, KERNEST_E_FORMAT, "unknown file format");
    free(p);
    /* a failed write keeps the old file whole: a 3-D array cannot be a TIFF or a text file */
    size_t shape[3] = {2, 2, 2};
    kernest_array *c = NULL;
    cr_assert_eq(kernest_array_create(3, shape, &c), KERNEST_OK);
    static const char *const names[] = {"old.tif", "old.csv"};
    int files = 1; /* k.xyz */
    for (int i = 0; i < 2; i++) {
        char *q = in_dir(names[i]);
        if (!have(q)) {
            free(q);
            continue;
        }
        cr_assert_eq(kernest_array_write(q, a, KERNEST_DOUBLE), KERNEST_OK);
        files++;
        cr_assert_eq(kernest_array_write(q, c, KERNEST_DOUBLE), KERNEST_E_INVALID);
        kernest_array *b = read_ok(q, NULL);
        expect_equal(b, a, 0, names[i]);
        kernest_array_destroy(&b);
        free(q);
    }
    cr_assert_eq(tu_count_entries(dir), files, "temporaries left: %d entries, %d files",
                 tu_count_entries(dir), files);
    /* a folder that does not exist */
    char *r = in_dir("nowhere/k.fits");
    if (kernest_format_available(KERNEST_FORMAT_FITS))
        cr_assert_neq(kernest_array_write(r, a, KERNEST_DOUBLE), KERNEST_OK);
    free(r);
    kernest_array_destroy(&a);
    kernest_array_destroy(&c);
}

Test(formats, missing_files_are_nofile)
{
    static const char *const names[] = {"none.npy", "none.npz", "none.fits", "none.tif",
                                        "none.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *p = in_dir(names[i]);
        if (have(p))
            expect_fail(p, NULL, KERNEST_E_NOFILE, NULL);
        free(p);
    }
}

/* ---- the CLI -------------------------------------------------------------------------------- */

Test(formats, cli_chooses_the_format_by_extension)
{
    /* the same convolution from inputs and to outputs in every format */
    kernest_array *A = sample_array(6, 5, 21), *K = sample_array(3, 3, 22);
    char *an = in_dir("A.npy"), *kn = in_dir("K.npy");
    cr_assert_eq(kernest_npy_write(an, A, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_npy_write(kn, K, KERNEST_DOUBLE), KERNEST_OK);
    char args[8192], err[2048];
    snprintf(args, sizeof args, "convolve '%s' '%s' -o '%s/ref.npy' --mode full", an, kn, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *refp = in_dir("ref.npy");
    kernest_array *ref = read_ok(refp, NULL);
    static const char *const exts[] = {"npz", "npz:B", "fits", "tif", "csv", "txt"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        char ain[64], bout[64];
        snprintf(ain, sizeof ain, "A_in.%s", exts[i]);
        snprintf(bout, sizeof bout, "B_out.%s", exts[i]);
        char *ap = in_dir(ain), *bp = in_dir(bout);
        if (!have(ap)) {
            free(ap);
            free(bp);
            continue;
        }
        cr_assert_eq(kernest_array_write(ap, A, KERNEST_DOUBLE), KERNEST_OK);
        snprintf(args, sizeof args, "convolve '%s' '%s' -o '%s' --mode full", ap, kn, bp);
        cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s: %s", exts[i], err);
        kernest_array *b = read_ok(bp, NULL);
        expect_equal(b, ref, 0, bout);
        kernest_array_destroy(&b);
        free(ap);
        free(bp);
    }
    /* raw input with --shape and --dtype, in both spellings and positions */
    char *rp = in_dir("A.raw");
    cr_assert_eq(kernest_array_write(rp, A, KERNEST_DOUBLE), KERNEST_OK);
    snprintf(args, sizeof args, "convolve --shape 6x5 '%s' '%s' --dtype=f8 -o '%s/B_raw.npy' "
             "--mode full", rp, kn, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *brp = in_dir("B_raw.npy");
    kernest_array *b = read_ok(brp, NULL);
    expect_equal(b, ref, 0, "raw input");
    kernest_array_destroy(&b);

    /* raw without a shape, a bad shape, a bad dtype, an unknown output extension: exit 2 */
    static const struct {
        const char *extra, *needle;
    } bad[] = {{"", "--shape HxW"}, {"--shape 6x --dtype f8", "--shape"},
               {"--shape 6x5 --dtype f5", "--dtype"}, {"--shape 0x5 --dtype f8", "--shape"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "convolve '%s' '%s' -o '%s/x.npy' %s", rp, kn, dir,
                 bad[i].extra);
        cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "%s: %s", bad[i].extra, err);
        cr_assert(strstr(err, bad[i].needle), "'%s': %s", bad[i].extra, err);
    }
    snprintf(args, sizeof args, "convolve '%s' '%s' -o '%s/B.png'", an, kn, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 2, "%s", err);
    cr_assert(strstr(err, "unknown file format"), "%s", err);
    char *png = in_dir("B.png");
    cr_assert(!tu_exists(png));
    free(png);
    kernest_array_destroy(&ref);
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    free(an);
    free(kn);
    free(refp);
    free(rp);
    free(brp);
}

Test(formats, cli_estimate_with_support_mask_and_fits_output)
{
    /* estimate reads CSV pairs and a TIFF support mask, writes a FITS kernel */
    if (!kernest_format_available(KERNEST_FORMAT_FITS) ||
        !kernest_format_available(KERNEST_FORMAT_TIFF)) {
        cr_log_warn("FITS or TIFF not compiled in; skipped");
        return;
    }
    kernest_array *A = sample_array(8, 8, 31), *K = NULL, *mask = NULL;
    cr_assert_eq(kernest_array_create2(3, 3, &K), KERNEST_OK);
    K->data[4] = 1.0;
    K->data[5] = 0.5;
    kernest_array *B = NULL;
    cr_assert_eq(kernest_convolve(A, K, KERNEST_MODE_FULL, &B), KERNEST_OK);
    cr_assert_eq(kernest_array_create2(3, 3, &mask), KERNEST_OK);
    mask->data[4] = mask->data[5] = 1.0;
    char *ap = in_dir("A.csv"), *bp = in_dir("B.txt"), *mp = in_dir("mask.tif");
    cr_assert_eq(kernest_array_write(ap, A, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_array_write(bp, B, KERNEST_DOUBLE), KERNEST_OK);
    cr_assert_eq(kernest_array_write(mp, mask, KERNEST_DOUBLE), KERNEST_OK);
    char args[8192], err[2048];
    snprintf(args, sizeof args, "estimate '%s' '%s' --mode full --ksize 3x3 --support '%s' "
             "-o '%s/K.fits' --device cpu", ap, bp, mp, dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    char *kp = in_dir("K.fits");
    kernest_array *got = read_ok(kp, NULL);
    cr_assert(got->shape[0] == 3 && got->shape[1] == 3);
    for (size_t i = 0; i < 9; i++)
        cr_assert(fabs(got->data[i] - K->data[i]) < 1e-9, "K[%zu] = %g, want %g", i, got->data[i],
                  K->data[i]);
    kernest_array_destroy(&got);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_array_destroy(&mask);
    free(ap);
    free(bp);
    free(mp);
    free(kp);
}

Test(formats, cli_info_lists_the_formats)
{
    char *out = in_dir("info.txt");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' info > '%s'", KERNEST_CLI, out);
    cr_assert_eq(system(cmd), 0);
    size_t n;
    unsigned char *b = slurp(out, &n);
    b[n] = 0;
    char *line = strstr((char *)b, "formats: npy");
    cr_assert_not_null(line, "%s", b);
    cr_assert_eq(strstr(line, " fits") != NULL && strstr(line, " fits") < strchr(line, '\n'),
                 kernest_format_available(KERNEST_FORMAT_FITS));
    free(b);
    free(out);
}

/* Reads path in a child after limit(arg) (the memory it may use); 1 when the read failed with
 * status and a message holding both needles (needle2 may be NULL). */
static int refused_in_child(const char *path, void (*limit)(const void *), const void *arg, int status,
                            const char *needle1, const char *needle2)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        limit(arg);
        kernest_array *a = NULL;
        int st = kernest_array_read(path, NULL, &a);
        const char *m = kernest_last_error();
        _exit(st == status && strstr(m, needle1) && (!needle2 || strstr(m, needle2)) ? 0 : 10 + st);
    }
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

/* 100 MB more address space than the child maps now */
static void limit_address_space(const void *arg)
{
    (void)arg;
    unsigned long long vm = 0, kb;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
            vm = kb * 1024ull;
    if (f)
        fclose(f);
    struct rlimit rl = {vm + (100ull << 20), vm + (100ull << 20)};
    setrlimit(RLIMIT_AS, &rl);
}

/* Issue 21, item 8: a deflated npz member that declares a small shape but inflates to 200 MB (a
 * 200 KB file) is refused without inflating it: in a child limited to 100 MB more address space,
 * the read fails as a format error ("unexpected bytes"), not as an allocation failure. */
Test(formats, npz_member_does_not_expand_beyond_its_shape, .timeout = 120)
{
    if (!kernest_format_available(KERNEST_FORMAT_NPZ))
        cr_skip_test("no libzip in this build");
    char *p = in_dir("bomb.npz");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import zipfile,sys\n"
             "h=b\\\"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }\\\"\n"
             "h=h+b' '*(117-len(h))+b'\\\\n'\n"
             "z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\n"
             "w=z.open('a.npy','w',force_zip64=True)\n"
             "w.write(b'\\\\x93NUMPY\\\\x01\\\\x00'+bytes([118,0])+h+bytes(32))\n"
             "[w.write(bytes(1<<20)) for i in range(200)]\n"
             "w.close();z.close()\" '%s' 2>/dev/null", p);
    if (system(cmd) != 0)
        cr_skip_test("python3 (zipfile) is needed to build the archive");
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_lt(sb.st_size, 2 << 20, "the archive should be small: %lld bytes", (long long)sb.st_size);
    cr_assert(refused_in_child(p, limit_address_space, NULL, KERNEST_E_FORMAT, "unexpected bytes", NULL),
              "the read did not refuse the archive as a format error before inflating it");
    free(p);
}

/* Issue 21, item 10: a multi-page TIFF is refused, saying how many pages, not read as page 1. */
Test(formats, tiff_multi_page_is_refused)
{
#ifndef KERNEST_HAVE_LIBTIFF
    cr_skip_test("no libtiff in this build");
#else
    char *p = in_dir("stack.tif");
    TIFF *t = TIFFOpen(p, "w");
    cr_assert_not_null(t);
    unsigned char row[4] = {1, 2, 3, 4};
    for (int page = 0; page < 3; page++) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1);
        cr_assert(TIFFWriteEncodedStrip(t, 0, row, 4) > 0);
        cr_assert(TIFFWriteDirectory(t));
    }
    TIFFClose(t);
    expect_fail(p, NULL, KERNEST_E_FORMAT, "3 pages");
    free(p);
#endif
}

#ifdef KERNEST_HAVE_CFITSIO
/* A tile-compressed FITS image of n×n int16 7s, tiles of n × tile_rows, written by cfitsio. */
static char *compressed_fits(const char *name, long n, long tile_rows)
{
    char *p = in_dir(name);
    fitsfile *f = NULL;
    int status = 0;
    long naxes[2] = {n, n}, tile[2] = {n, tile_rows};
    short *img = malloc((size_t)n * (size_t)n * sizeof *img);
    cr_assert_not_null(img);
    for (long i = 0; i < n * n; i++)
        img[i] = 7;
    fits_create_diskfile(&f, p, &status);
    fits_set_compression_type(f, GZIP_1, &status);
    fits_set_tile_dim(f, 2, tile, &status);
    fits_create_img(f, SHORT_IMG, 2, naxes, &status);
    fits_write_img(f, TSHORT, 1, (LONGLONG)n * n, img, &status);
    fits_close_file(f, &status);
    free(img);
    cr_assert_eq(status, 0, "%s: cfitsio status %d", name, status);
    return p;
}

static void set_cgroup_root(const void *dir)
{
    setenv("KERNEST_CGROUP_ROOT", dir, 1);
}

/* Sets the integer value of header card `key` in the file (the value field, columns 11..30). */
static void set_card(const char *path, const char *key, long value)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    char card[81] = "";
    for (long at = 0; fread(card, 1, 80, f) == 80; at += 80) {
        if (!strncmp(card, key, strlen(key)) && card[strlen(key)] == ' ' && card[8] == '=') {
            char v[21];
            snprintf(v, sizeof v, "%20ld", value);
            fseek(f, at + 10, SEEK_SET);
            fwrite(v, 1, 20, f);
            fclose(f);
            return;
        }
    }
    fclose(f);
    cr_assert_fail("%s: no card %s", path, key);
}
#endif

/* Issue 21, item 8: a tile-compressed FITS expands only as far as its declared shape, checked
 * before cfitsio decompresses anything: a 10 KB file declaring 200000×200000 (320 GB as doubles)
 * is refused by the CLI, exit 2, one line naming the file, under a 1 GB address space; and a
 * file of one tile for the whole image counts cfitsio's tile buffers (about twice the array) with
 * the array, so that under a limit the array alone would meet it is refused as too big (before,
 * the array was allocated and cfitsio's buffers took the rest: under a container's limit, an OOM
 * kill), while it reads without the limit. */
Test(formats, fits_tile_compressed_bounded_by_its_declared_shape, .timeout = 120)
{
#ifndef KERNEST_HAVE_CFITSIO
    cr_skip_test("no cfitsio in this build");
#else
    char *huge = compressed_fits("huge.fits", 100, 100); /* one tile, then the shape patched */
    const char *keys[] = {"ZNAXIS1", "ZNAXIS2", "ZTILE1", "ZTILE2"};
    for (int i = 0; i < 4; i++)
        set_card(huge, keys[i], 200000);
    struct stat sb;
    cr_assert_eq(stat(huge, &sb), 0);
    cr_assert_lt(sb.st_size, 64 << 10);
#if !defined(__SANITIZE_ADDRESS__) /* AddressSanitizer's shadow memory: nothing starts under ulimit -v */
    char cmd[4096], err[4096];
#ifdef KERNEST_WITH_CUDA
    const long limit = 4000000; /* the CUDA libraries the program links alone map more than 1 GB */
#else
    const long limit = 1000000;
#endif
    snprintf(cmd, sizeof cmd, "sh -c \"ulimit -v %ld; exec '%s' estimate '%s' '%s' -o '%s/K.npy' --fast\" "
             "2>'%s/err.txt' >/dev/null", limit, KERNEST_CLI, huge, huge, dir, dir);
    int rc = system(cmd);
    char *ef = in_dir("err.txt");
    FILE *f = fopen(ef, "rb");
    cr_assert_not_null(f);
    err[fread(err, 1, sizeof err - 1, f)] = '\0';
    fclose(f);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "exit %d: %s", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, err);
    cr_assert(strstr(err, "huge.fits") && strstr(err, "200000") && strchr(err, '\n') == err + strlen(err) - 1,
              "one line naming the file and its shape: '%s'", err);
    free(ef);
#endif
    free(huge);

    char *one = compressed_fits("one.fits", 3000, 3000); /* 72 MB as doubles, ~144 MB of tile buffers */
    kernest_array *a = read_ok(one, NULL);
    cr_assert(a->shape[0] == 3000 && a->shape[1] == 3000 && a->data[4500000] == 7.0);
    kernest_array_destroy(&a);
    /* a container's limit of 150 MB (KERNEST_CGROUP_ROOT stands for /sys/fs/cgroup): the array
     * fits, the array and the tiles' buffers (measured peak: 219 MB) do not */
    char *cg = in_dir("cg"), *mf = in_dir("cg/memory.max"), *cf = in_dir("cg/memory.current");
    cr_assert_eq(mkdir(cg, 0777), 0);
    cr_assert_eq(tu_write_bytes(mf, "157286400\n", 10), 0);
    cr_assert_eq(tu_write_bytes(cf, "0\n", 2), 0);
    cr_assert(refused_in_child(one, set_cgroup_root, cg, KERNEST_E_TOOBIG, "one.fits", "tiles"),
              "the read of one tile of 3000x3000 under a 150 MB limit was not refused as too big");
    free(cg);
    free(mf);
    free(cf);
    free(one);
#endif
}
