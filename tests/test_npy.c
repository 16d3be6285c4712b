/* test_npy.c — .npy reading and writing: round trips, every dtype and version, malformed files. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernest.h"
#include "testutil.h"

#define dir tu_dir /* the per-test folder of testutil */


TestSuite(npy, .init = tu_dir_setup, .fini = tu_dir_teardown);

/* ---- helpers -------------------------------------------------------------------------------- */

/* A growable byte buffer for hand-built files. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n)
{
    if (!b->p || b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_le(bytes *b, uint64_t v, int size)
{
    for (int i = 0; i < size; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        put(b, &c, 1);
    }
}

/* Prefix + dict, padded with spaces and '\n' to 64 bytes as NumPy does, for format major.0. */
static void put_header(bytes *b, int major, const char *dict)
{
    size_t lenbytes = major == 1 ? 2 : 4;
    size_t hlen = strlen(dict) + 1;
    size_t pad = 64 - (6 + 2 + lenbytes + hlen) % 64;
    put(b, "\x93NUMPY", 6);
    unsigned char ver[2] = {(unsigned char)major, 0};
    put(b, ver, 2);
    put_le(b, hlen + pad, (int)lenbytes);
    put(b, dict, strlen(dict));
    for (size_t i = 0; i < pad; i++)
        put(b, " ", 1);
    put(b, "\n", 1);
}

/* Writes b to dir/name and returns the malloc'd path. Frees b. */
static char *save(const char *name, bytes *b)
{
    char *path = tu_path(dir, name);
    cr_assert_not_null(path);
    if (!b->p)
        put(b, "", 0); /* fwrite wants a real pointer even for zero bytes */
    cr_assert_eq(tu_write_bytes(path, b->p, b->n), 0, "cannot write %s", path);
    free(b->p);
    memset(b, 0, sizeof *b);
    return path;
}

/* A v1 file with the given dict and raw data. */
static char *make_file(const char *name, int major, const char *dict, const void *data, size_t n)
{
    bytes b = {0};
    put_header(&b, major, dict);
    put(&b, data, n);
    return save(name, &b);
}

/* Reading path must fail with status, and the message must name the file and contain what. */
static void expect_fail(const char *path, int status, const char *what)
{
    kernest_array *a = NULL;
    int st = kernest_npy_read(path, &a);
    const char *msg = kernest_last_error();
    cr_expect_eq(st, status, "%s: status %s, expected %s (%s)", path, kernest_status_name(st),
                 kernest_status_name(status), msg);
    cr_expect_null(a);
    cr_expect(strncmp(msg, path, strlen(path)) == 0, "message does not start with the path: %s", msg);
    cr_expect(strchr(msg, '\n') == NULL, "message is not one line: %s", msg);
    if (what)
        cr_expect(strstr(msg, what) != NULL, "message lacks \"%s\": %s", what, msg);
    kernest_array_destroy(&a);
}

static kernest_array *read_ok(const char *path)
{
    kernest_array *a = NULL;
    int st = kernest_npy_read(path, &a);
    cr_assert_eq(st, KERNEST_OK, "%s: %s", path, kernest_last_error());
    cr_assert_not_null(a);
    return a;
}

static void expect_shape(const kernest_array *a, int ndim, size_t s0, size_t s1, size_t s2,
                         size_t s3)
{
    size_t want[KERNEST_MAX_NDIM] = {s0, s1, s2, s3};
    cr_expect_eq(a->ndim, ndim);
    size_t n = 1;
    for (int d = 0; d < KERNEST_MAX_NDIM; d++) {
        size_t w = d < ndim ? want[d] : 1;
        cr_expect_eq(a->shape[d], w, "dim %d: %zu, expected %zu", d, a->shape[d], w);
        n *= w;
    }
    cr_expect_eq(a->size, n);
}

static kernest_array *make_array(int ndim, const size_t *shape)
{
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_create(ndim, shape, &a), KERNEST_OK);
    unsigned long long s = 12345;
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = (tu_rand(&s) - 0.5) * pow(10.0, (double)(i % 13) - 6);
    return a;
}

/* ---- round trips ---------------------------------------------------------------------------- */

static void roundtrip(int ndim, const size_t *shape, kernest_precision prec)
{
    kernest_array *a = make_array(ndim, shape);
    if (a->size >= 4) {
        /* values whose bits must survive */
        a->data[0] = -0.0;
        a->data[1] = INFINITY;
        a->data[2] = 4.9e-324;
        a->data[3] = -1.7976931348623157e308;
    }
    char *path = tu_path(dir, "rt.npy");
    cr_assert_eq(kernest_npy_write(path, a, prec), KERNEST_OK, "%s", kernest_last_error());
    kernest_array *b = read_ok(path);
    cr_assert_eq(b->ndim, ndim);
    for (int d = 0; d < KERNEST_MAX_NDIM; d++)
        cr_expect_eq(b->shape[d], a->shape[d]);
    cr_assert_eq(b->size, a->size);
    for (size_t i = 0; i < a->size; i++) {
        double want = prec == KERNEST_SINGLE ? (double)(float)a->data[i] : a->data[i];
        cr_expect(memcmp(&b->data[i], &want, sizeof want) == 0, "element %zu: %.17g, expected %.17g",
                  i, b->data[i], want);
    }
    /* NumPy aligns the data to 64 bytes and ends the header with '\n' */
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    size_t item = prec == KERNEST_SINGLE ? 4 : 8;
    size_t header = (size_t)sb.st_size - a->size * item;
    cr_expect_eq(header % 64, 0, "header of %zu bytes", header);
    cr_expect_eq(tu_count_entries(dir), 1);
    kernest_array_destroy(&a);
    kernest_array_destroy(&b);
    free(path);
}

Test(npy, roundtrip_f8_1d)
{
    size_t s[] = {17};
    roundtrip(1, s, KERNEST_DOUBLE);
}

Test(npy, roundtrip_f8_2d)
{
    size_t s[] = {7, 9};
    roundtrip(2, s, KERNEST_DOUBLE);
}

Test(npy, roundtrip_f8_3d)
{
    size_t s[] = {3, 4, 5};
    roundtrip(3, s, KERNEST_DOUBLE);
}

Test(npy, roundtrip_f8_4d)
{
    size_t s[] = {2, 3, 1, 4};
    roundtrip(4, s, KERNEST_DOUBLE);
}

Test(npy, roundtrip_f8_larger_than_one_chunk)
{
    size_t s[] = {129, 131}; /* > 64 KiB of data, several conversion chunks */
    roundtrip(2, s, KERNEST_DOUBLE);
}

Test(npy, roundtrip_f4_1d)
{
    size_t s[] = {10};
    roundtrip(1, s, KERNEST_SINGLE);
}

Test(npy, roundtrip_f4_2d)
{
    size_t s[] = {129, 131};
    roundtrip(2, s, KERNEST_SINGLE);
}

Test(npy, roundtrip_f4_3d)
{
    size_t s[] = {2, 5, 3};
    roundtrip(3, s, KERNEST_SINGLE);
}

Test(npy, roundtrip_empty_array)
{
    size_t s[] = {0, 3};
    roundtrip(2, s, KERNEST_DOUBLE);
}

/* The exact bytes np.save writes for np.arange(6.).reshape(2, 3) (NumPy 2.x). */
Test(npy, write_f8_exact_bytes)
{
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_create2(2, 3, &a), KERNEST_OK);
    for (int i = 0; i < 6; i++)
        a->data[i] = i;
    char *path = tu_path(dir, "a.npy");
    cr_assert_eq(kernest_npy_write(path, a, KERNEST_DOUBLE), KERNEST_OK, "%s", kernest_last_error());

    bytes want = {0};
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    put(&want, "\x93NUMPY\x01\x00\x76\x00", 10); /* header length 118: 10 + 118 = 128 */
    put(&want, dict, strlen(dict));
    while (want.n < 127)
        put(&want, " ", 1);
    put(&want, "\n", 1);
    for (int i = 0; i < 6; i++) {
        double v = i;
        uint64_t u;
        memcpy(&u, &v, 8);
        put_le(&want, u, 8);
    }

    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char got[512];
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    cr_assert_eq(n, want.n, "file has %zu bytes, expected %zu", n, want.n);
    cr_expect(memcmp(got, want.p, n) == 0, "bytes differ from np.save's");
    free(want.p);
    free(path);
    kernest_array_destroy(&a);
}

Test(npy, write_header_text)
{
    size_t s1[] = {5};
    kernest_array *a = make_array(1, s1);
    char *path = tu_path(dir, "h.npy");
    cr_assert_eq(kernest_npy_write(path, a, KERNEST_SINGLE), KERNEST_OK);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char buf[129] = {0};
    cr_assert_eq(fread(buf, 1, 128, f), 128);
    fclose(f);
    cr_expect(strstr(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }") == buf + 10,
              "header: %s", buf + 10);
    cr_expect_eq(buf[127], '\n');
    kernest_array_destroy(&a);

    size_t s3[] = {2, 3, 4};
    a = make_array(3, s3);
    cr_assert_eq(kernest_npy_write(path, a, KERNEST_DOUBLE), KERNEST_OK);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(buf, 1, 128, f), 128);
    fclose(f);
    cr_expect(strstr(buf + 10, "'shape': (2, 3, 4), }") != NULL, "header: %s", buf + 10);
    kernest_array_destroy(&a);
    free(path);
}

/* ---- every dtype, from hand-built files ----------------------------------------------------- */

static void check_values(const char *descr, int size, const uint64_t *raw, const double *want,
                         size_t n)
{
    bytes data = {0};
    for (size_t i = 0; i < n; i++)
        put_le(&data, raw[i], size);
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }", descr,
             n);
    char *path = make_file("t.npy", 1, dict, data.p, data.n);
    kernest_array *a = read_ok(path);
    expect_shape(a, 1, n, 0, 0, 0);
    for (size_t i = 0; i < n && i < a->size; i++)
        cr_expect(a->data[i] == want[i], "%s[%zu] = %.17g, expected %.17g", descr, i, a->data[i],
                  want[i]);
    kernest_array_destroy(&a);
    free(data.p);
    free(path);
}

Test(npy, read_f8)
{
    double v[] = {0.5, -3.25, 1e300, 5e-324};
    uint64_t raw[4];
    memcpy(raw, v, sizeof v);
    check_values("<f8", 8, raw, v, 4);
    check_values("=f8", 8, raw, v, 4);
}

Test(npy, read_f4)
{
    float f[] = {0.5f, -3.25f, 3.4028235e38f, 1.17549435e-38f};
    double want[4];
    uint64_t raw[4];
    for (int i = 0; i < 4; i++) {
        uint32_t u;
        memcpy(&u, &f[i], 4);
        raw[i] = u;
        want[i] = f[i];
    }
    check_values("<f4", 4, raw, want, 4);
}

Test(npy, read_signed_integers)
{
    uint64_t r1[] = {0x80, 0x7f, 0xff, 0};
    double w1[] = {-128, 127, -1, 0};
    check_values("|i1", 1, r1, w1, 4);
    check_values("<i1", 1, r1, w1, 4);
    uint64_t r2[] = {0x8000, 0x7fff, 0xffff, 0x0102};
    double w2[] = {-32768, 32767, -1, 258};
    check_values("<i2", 2, r2, w2, 4);
    uint64_t r4[] = {0x80000000u, 0x7fffffffu, 0xffffffffu, 0x01020304u};
    double w4[] = {-2147483648.0, 2147483647.0, -1, 16909060};
    check_values("<i4", 4, r4, w4, 4);
    uint64_t r8[] = {0x8000000000000000ull, 0x0010000000000000ull, 0xffffffffffffffffull, 7};
    double w8[] = {-9223372036854775808.0, 4503599627370496.0, -1, 7};
    check_values("<i8", 8, r8, w8, 4);
}

Test(npy, read_unsigned_integers)
{
    uint64_t r1[] = {0xff, 0x80, 0, 1};
    double w1[] = {255, 128, 0, 1};
    check_values("|u1", 1, r1, w1, 4);
    uint64_t r2[] = {0xffff, 0x8000, 0x0102};
    double w2[] = {65535, 32768, 258};
    check_values("<u2", 2, r2, w2, 3);
    uint64_t r4[] = {0xffffffffu, 0x80000000u};
    double w4[] = {4294967295.0, 2147483648.0};
    check_values("<u4", 4, r4, w4, 2);
    uint64_t r8[] = {0xffffffffffffffffull, 0x8000000000000000ull, 3};
    double w8[] = {18446744073709551615.0, 9223372036854775808.0, 3};
    check_values("<u8", 8, r8, w8, 3);
}

Test(npy, read_bool)
{
    uint64_t r[] = {0, 1, 1, 0, 2};
    double w[] = {0, 1, 1, 0, 1};
    check_values("|b1", 1, r, w, 5);
}

Test(npy, read_2d_integer_shape)
{
    unsigned char d[6] = {1, 2, 3, 4, 5, 6};
    char *path = make_file("m.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }",
                           d, 6);
    kernest_array *a = read_ok(path);
    expect_shape(a, 2, 2, 3, 0, 0);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(a->data[i], i + 1);
    kernest_array_destroy(&a);
    free(path);
}

/* ---- versions and header syntax ------------------------------------------------------------- */

static void check_f8_file(const char *name, int major, const char *dict, size_t n, int ndim,
                          size_t s0, size_t s1, size_t s2, size_t s3)
{
    bytes data = {0};
    for (size_t i = 0; i < n; i++) {
        double v = 1.5 * (double)i - 2;
        uint64_t u;
        memcpy(&u, &v, 8);
        put_le(&data, u, 8);
    }
    char *path = make_file(name, major, dict, data.p, data.n);
    kernest_array *a = read_ok(path);
    expect_shape(a, ndim, s0, s1, s2, s3);
    for (size_t i = 0; i < n && i < a->size; i++)
        cr_expect_eq(a->data[i], 1.5 * (double)i - 2);
    kernest_array_destroy(&a);
    free(data.p);
    free(path);
}

Test(npy, version_2_0)
{
    check_f8_file("v2.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", 12, 2,
                  3, 4, 0, 0);
}

Test(npy, version_3_0)
{
    check_f8_file("v3.npy", 3, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }", 8,
                  3, 2, 2, 2, 0);
}

Test(npy, header_variants)
{
    /* keys in any order, no trailing comma, double quotes, odd spacing */
    check_f8_file("a.npy", 1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}", 6, 2, 2, 3,
                  0, 0);
    check_f8_file("b.npy", 1, "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (6,)}", 6, 1,
                  6, 0, 0, 0);
    check_f8_file("c.npy", 1, "  {  'descr' :'<f8' ,'fortran_order':False,'shape':( 2 , 3 , ) , }  ",
                  6, 2, 2, 3, 0, 0);
    check_f8_file("d.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }", 6, 2,
                  2, 3, 0, 0);
    check_f8_file("e.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 1, 3), }", 6,
                  4, 1, 2, 1, 3);
    /* Fortran order of a 1-D array is the same layout */
    check_f8_file("f.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (4,), }", 4, 1, 4, 0,
                  0, 0);
}

Test(npy, zero_d_becomes_1d_of_one)
{
    check_f8_file("z.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 1, 1, 1, 0,
                  0, 0);
}

Test(npy, zero_size_array)
{
    char *path = make_file("e.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (0, 5), }",
                           NULL, 0);
    kernest_array *a = read_ok(path);
    expect_shape(a, 2, 0, 5, 0, 0);
    kernest_array_destroy(&a);
    free(path);
}

/* ---- malformed files ------------------------------------------------------------------------ */

static const char *F8_2x3 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";

static void expect_dict_fails(const char *dict, size_t ndata, int status, const char *what)
{
    unsigned char *data = calloc(ndata ? ndata : 1, 1);
    cr_assert_not_null(data);
    char *path = make_file("bad.npy", 1, dict, data, ndata);
    expect_fail(path, status, what);
    free(data);
    free(path);
}

Test(npy, missing_file)
{
    char *path = tu_path(dir, "nothere.npy");
    expect_fail(path, KERNEST_E_NOFILE, "No such file");
    free(path);
}

Test(npy, directory_is_not_a_file)
{
    char *path = tu_path(dir, "sub.npy");
    cr_assert_eq(mkdir(path, 0700), 0);
    expect_fail(path, KERNEST_E_NOFILE, NULL);
    free(path);
}

Test(npy, empty_file)
{
    bytes b = {0};
    char *path = save("empty.npy", &b);
    expect_fail(path, KERNEST_E_FORMAT, "not a .npy file");
    free(path);
}

Test(npy, wrong_magic)
{
    bytes b = {0};
    put(&b, "PK\x03\x04 this is a zip file, not an array......................", 60);
    char *path = save("zip.npy", &b);
    expect_fail(path, KERNEST_E_FORMAT, "not a .npy file");
    free(path);
}

Test(npy, magic_only)
{
    bytes b = {0};
    put(&b, "\x93NUMPY\x01", 7);
    char *path = save("short.npy", &b);
    expect_fail(path, KERNEST_E_FORMAT, "truncated");
    free(path);

    put(&b, "\x93NUMPY\x01\x00\x10", 9); /* ends inside the header length */
    path = save("short2.npy", &b);
    expect_fail(path, KERNEST_E_FORMAT, "truncated");
    free(path);
}

Test(npy, unsupported_versions)
{
    static const unsigned char vers[][2] = {{0, 0}, {1, 1}, {4, 0}, {2, 5}, {255, 0}};
    for (size_t i = 0; i < sizeof vers / sizeof vers[0]; i++) {
        bytes b = {0};
        put_header(&b, 1, F8_2x3);
        b.p[6] = vers[i][0];
        b.p[7] = vers[i][1];
        put(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                "\0\0\0\0\0\0\0\0", 48);
        char *path = save("ver.npy", &b);
        expect_fail(path, KERNEST_E_FORMAT, "version");
        free(path);
    }
}

Test(npy, header_length_beyond_file)
{
    bytes b = {0};
    put(&b, "\x93NUMPY\x01\x00", 8);
    put_le(&b, 1000, 2);
    put(&b, F8_2x3, strlen(F8_2x3));
    char *path = save("hdr.npy", &b);
    expect_fail(path, KERNEST_E_FORMAT, "truncated .npy header");
    free(path);
}

Test(npy, header_length_zero)
{
    bytes b = {0};
    put(&b, "\x93NUMPY\x01\x00\x00\x00", 10);
    char *path = save("hdr0.npy", &b);
    expect_fail(path, KERNEST_E_FORMAT, "header");
    free(path);
}

Test(npy, header_not_a_dict)
{
    expect_dict_fails("[1, 2, 3]", 48, KERNEST_E_FORMAT, "not a dict");
    expect_dict_fails("", 48, KERNEST_E_FORMAT, "not a dict");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), ", 48,
                      KERNEST_E_FORMAT, "malformed");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)} extra", 48,
                      KERNEST_E_FORMAT, "after the dict");
    expect_dict_fails("{'descr' '<f8', 'fortran_order': False, 'shape': (2, 3)}", 48,
                      KERNEST_E_FORMAT, "':'");
    expect_dict_fails("{'descr': '<f8, 'fortran_order': False, 'shape': (2, 3)}", 48,
                      KERNEST_E_FORMAT, "malformed");
    expect_dict_fails("{descr: '<f8', 'fortran_order': False, 'shape': (2, 3)}", 48,
                      KERNEST_E_FORMAT, "malformed");
}

Test(npy, header_keys)
{
    expect_dict_fails("{'descr': '<f8', 'shape': (2, 3), }", 48, KERNEST_E_FORMAT, "fortran_order");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, }", 48, KERNEST_E_FORMAT, "shape");
    expect_dict_fails("{'fortran_order': False, 'shape': (2, 3), }", 48, KERNEST_E_FORMAT, "descr");
    expect_dict_fails("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", 48,
                      KERNEST_E_FORMAT, "repeated");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 48,
                      KERNEST_E_FORMAT, "'x'");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}", 48, KERNEST_E_FORMAT,
                      "True or False");
    expect_dict_fails("{'descr': 8, 'fortran_order': False, 'shape': (2, 3)}", 48, KERNEST_E_FORMAT,
                      "descr");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3]}", 48,
                      KERNEST_E_FORMAT, "'('");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3)}", 48,
                      KERNEST_E_FORMAT, "negative");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (2 3)}", 48,
                      KERNEST_E_FORMAT, "shape");
}

Test(npy, fortran_order)
{
    expect_dict_fails("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", 48,
                      KERNEST_E_FORMAT,
                      "Fortran-order arrays are not supported (use np.ascontiguousarray)");
}

Test(npy, big_endian)
{
    expect_dict_fails("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", 48,
                      KERNEST_E_FORMAT, "big-endian");
    expect_dict_fails("{'descr': '>i2', 'fortran_order': False, 'shape': (2, 3), }", 12,
                      KERNEST_E_FORMAT, "big-endian");
    expect_dict_fails("{'descr': '|f8', 'fortran_order': False, 'shape': (2, 3), }", 48,
                      KERNEST_E_FORMAT, "'|f8'");
}

Test(npy, unsupported_dtypes)
{
    static const char *const descrs[] = {"|O", "<c16", "<c8", "|S5", "<U3", "<f2", "<f16", "|V8",
                                         "<M8[ns]", "<i3", "", "<"};
    for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
        char dict[128], want[32];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3), }",
                 descrs[i]);
        snprintf(want, sizeof want, "'%s'", descrs[i]);
        expect_dict_fails(dict, 48, KERNEST_E_FORMAT, want);
    }
    expect_dict_fails("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", 48,
                      KERNEST_E_FORMAT, "object arrays");
    expect_dict_fails("{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }",
                      24, KERNEST_E_FORMAT, "structured");
}

Test(npy, too_many_dimensions)
{
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }", 16,
                      KERNEST_E_FORMAT, "5-dimensional");
}

Test(npy, element_count_overflows)
{
    expect_dict_fails(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", 0,
        KERNEST_E_TOOBIG, "elements");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
                      0, KERNEST_E_TOOBIG, "overflows");
}

Test(npy, byte_count_overflows)
{
    /* 2^61 elements fit in size_t; 2^61 * 8 bytes do not */
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }",
                      0, KERNEST_E_TOOBIG, "bytes");
    /* even 1-byte items need 8 bytes each as doubles */
    expect_dict_fails("{'descr': '|u1', 'fortran_order': False, 'shape': (2305843009213693952,), }",
                      0, KERNEST_E_TOOBIG, "bytes");
}

Test(npy, more_than_available_memory)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        cr_skip_test("/proc/meminfo is not readable, so the memory check is skipped");
    fclose(f);
    /* 2^47 doubles = 1 PiB: no overflow, but no machine has it free */
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (131072, 1073741824), }", 0,
                      KERNEST_E_TOOBIG, "1125899906842624 bytes");
}

Test(npy, truncated_data)
{
    expect_dict_fails(F8_2x3, 40, KERNEST_E_FORMAT, "truncated: expected 48 bytes of data, found 40");
    expect_dict_fails(F8_2x3, 0, KERNEST_E_FORMAT, "truncated: expected 48 bytes of data, found 0");
}

Test(npy, trailing_bytes)
{
    expect_dict_fails(F8_2x3, 49, KERNEST_E_FORMAT, "unexpected bytes");
    expect_dict_fails(F8_2x3, 96, KERNEST_E_FORMAT, "unexpected bytes");
}

Test(npy, read_invalid_arguments)
{
    kernest_array *a = NULL;
    cr_expect_eq(kernest_npy_read(NULL, &a), KERNEST_E_INVALID);
    cr_expect_eq(kernest_npy_read("x.npy", NULL), KERNEST_E_INVALID);
    cr_expect_null(a);
}

/* ---- writing failures ----------------------------------------------------------------------- */

Test(npy, write_into_missing_folder)
{
    size_t s[] = {2, 2};
    kernest_array *a = make_array(2, s);
    char *sub = tu_path(dir, "no-such-folder");
    char *path = tu_path(sub, "out.npy");
    int st = kernest_npy_write(path, a, KERNEST_DOUBLE);
    cr_expect_eq(st, KERNEST_E_IO, "status %s", kernest_status_name(st));
    cr_expect(strstr(kernest_last_error(), path) != NULL, "message: %s", kernest_last_error());
    cr_expect(!tu_exists(sub));
    cr_expect(!tu_exists(path));
    cr_expect_eq(tu_count_entries(dir), 0);
    kernest_array_destroy(&a);
    free(path);
    free(sub);
}

Test(npy, write_onto_a_directory_leaves_no_temporary)
{
    size_t s[] = {3};
    kernest_array *a = make_array(1, s);
    char *path = tu_path(dir, "taken.npy");
    cr_assert_eq(mkdir(path, 0700), 0);
    int st = kernest_npy_write(path, a, KERNEST_DOUBLE);
    cr_expect_eq(st, KERNEST_E_IO, "status %s", kernest_status_name(st));
    cr_expect(strstr(kernest_last_error(), path) != NULL, "message: %s", kernest_last_error());
    cr_expect_eq(tu_count_entries(dir), 1, "a temporary file was left behind");
    kernest_array_destroy(&a);
    free(path);
}

Test(npy, write_leaves_exactly_one_file_and_replaces)
{
    size_t s[] = {4, 4};
    kernest_array *a = make_array(2, s);
    char *path = tu_path(dir, "out.npy");
    cr_assert_eq(kernest_npy_write(path, a, KERNEST_DOUBLE), KERNEST_OK);
    cr_expect_eq(tu_count_entries(dir), 1);
    a->data[5] = 42;
    cr_assert_eq(kernest_npy_write(path, a, KERNEST_SINGLE), KERNEST_OK);
    cr_expect_eq(tu_count_entries(dir), 1);
    kernest_array *b = read_ok(path);
    cr_expect_eq(b->data[5], 42);
    kernest_array_destroy(&a);
    kernest_array_destroy(&b);
    free(path);
}

Test(npy, write_invalid_arguments)
{
    size_t s[] = {2, 2};
    kernest_array *a = make_array(2, s);
    char *path = tu_path(dir, "x.npy");
    cr_expect_eq(kernest_npy_write(NULL, a, KERNEST_DOUBLE), KERNEST_E_INVALID);
    cr_expect_eq(kernest_npy_write("", a, KERNEST_DOUBLE), KERNEST_E_INVALID);
    cr_expect_eq(kernest_npy_write(path, NULL, KERNEST_DOUBLE), KERNEST_E_INVALID);
    cr_expect_eq(kernest_npy_write(path, a, (kernest_precision)7), KERNEST_E_INVALID);
    kernest_array bad = *a;
    bad.ndim = 0;
    cr_expect_eq(kernest_npy_write(path, &bad, KERNEST_DOUBLE), KERNEST_E_INVALID);
    bad = *a;
    bad.size = 5;
    cr_expect_eq(kernest_npy_write(path, &bad, KERNEST_DOUBLE), KERNEST_E_INVALID);
    bad = *a;
    bad.data = NULL;
    cr_expect_eq(kernest_npy_write(path, &bad, KERNEST_DOUBLE), KERNEST_E_INVALID);
    cr_expect_eq(tu_count_entries(dir), 0);
    kernest_array_destroy(&a);
    free(path);
}
