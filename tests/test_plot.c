/* test_plot.c — the pictures: colour maps (lightness), PNGs read back with cairo (size,
 * orientation), the radial profile, and `kernest estimate --plot` end to end with its errors. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef KERNEST_WITH_CAIRO
#include <cairo.h>
#endif

#include "kernest.h"
#include "plot/plot.h"
#include "testutil.h"

TestSuite(plot, .init = tu_dir_setup, .fini = tu_dir_teardown, .timeout = 120);

/* ---- colour maps ---------------------------------------------------------------------------- */

Test(plot, viridis_lightness_increases)
{
    double prev = -1;
    for (int i = 0; i <= 255; i++) {
        double rgb[3];
        kn_colormap_rgb(KN_CMAP_VIRIDIS, i / 255.0, rgb);
        double L = kn_srgb_lightness(rgb);
        cr_assert_gt(L, prev, "viridis L* not increasing at %d/255: %g after %g", i, L, prev);
        prev = L;
    }
    /* the ends are viridis' published first and last entries */
    double a[3], b[3];
    kn_colormap_rgb(KN_CMAP_VIRIDIS, 0, a);
    kn_colormap_rgb(KN_CMAP_VIRIDIS, 1, b);
    cr_assert_float_eq(a[0], 0.267004, 1e-9);
    cr_assert_float_eq(a[2], 0.329415, 1e-9);
    cr_assert_float_eq(b[0], 0.993248, 1e-9);
    cr_assert_float_eq(b[1], 0.906157, 1e-9);
}

Test(plot, diverging_lightness_peaks_at_zero)
{
    double prev = -1;
    for (int i = 0; i <= 256; i++) {
        double rgb[3];
        kn_colormap_rgb(KN_CMAP_DIVERGING, i / 256.0, rgb);
        double L = kn_srgb_lightness(rgb);
        if (i <= 128)
            cr_assert_gt(L, prev, "diverging L* not increasing towards the centre at %d/256", i);
        else
            cr_assert_lt(L, prev, "diverging L* not decreasing away from the centre at %d/256", i);
        prev = L;
    }
    double lo[3], hi[3];
    kn_colormap_rgb(KN_CMAP_DIVERGING, 0, lo);
    kn_colormap_rgb(KN_CMAP_DIVERGING, 1, hi);
    cr_assert_gt(lo[2], lo[0], "the negative end is blue");
    cr_assert_gt(hi[0], hi[2], "the positive end is red");
}

Test(plot, lightness_reference_values)
{
    double black[3] = {0, 0, 0}, white[3] = {1, 1, 1}, grey[3] = {0.5, 0.5, 0.5};
    cr_assert_float_eq(kn_srgb_lightness(black), 0.0, 1e-9);
    cr_assert_float_eq(kn_srgb_lightness(white), 100.0, 1e-9);
    cr_assert_float_eq(kn_srgb_lightness(grey), 53.39, 0.01); /* CIE L* of sRGB #808080-ish */
}

Test(plot, scale_names)
{
    cr_assert_eq(kn_plot_scale_parse("symlog"), KN_PLOT_SYMLOG);
    cr_assert_eq(kn_plot_scale_parse("log"), KN_PLOT_LOG);
    cr_assert_eq(kn_plot_scale_parse("linear"), KN_PLOT_LINEAR);
    cr_assert_eq(kn_plot_scale_parse("auto"), KN_PLOT_AUTO);
    cr_assert_eq(kn_plot_scale_parse("Log"), -1);
    cr_assert_eq(kn_plot_scale_parse(""), -1);
}

/* ---- the radial profile --------------------------------------------------------------------- */

Test(plot, radial_profile_of_distance)
{
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_create2(21, 31, &a), KERNEST_OK);
    for (size_t i = 0; i < 21; i++)
        for (size_t j = 0; j < 31; j++)
            a->data[i * 31 + j] = hypot((double)i - 10, (double)j - 15);
    size_t n = 0;
    double *p = kn_radial_profile(a, &n);
    cr_assert_not_null(p);
    cr_assert_eq(n, 11, "full rings up to the nearest edge: %zu", n);
    cr_assert_float_eq(p[0], 0.0, 1e-12);
    for (size_t r = 1; r < n; r++)
        cr_assert(fabs(p[r] - (double)r) < 0.5, "ring %zu: mean distance %g", r, p[r]);
    free(p);
    a->data[10 * 31 + 15] = NAN; /* a missing centre leaves ring 0 empty */
    p = kn_radial_profile(a, &n);
    cr_assert(isnan(p[0]));
    free(p);
    kernest_array_destroy(&a);
}

/* ---- PNGs ----------------------------------------------------------------------------------- */

#ifdef KERNEST_WITH_CAIRO
/* Reads a PNG back; asserts it is one of w x h. The caller destroys the surface. */
static cairo_surface_t *read_png(const char *path, int w, int h)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    cr_assert_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS, "%s: not a readable PNG: %s", path,
                 cairo_status_to_string(cairo_surface_status(s)));
    cr_assert_eq(cairo_image_surface_get_width(s), w, "%s: width %d", path, cairo_image_surface_get_width(s));
    cr_assert_eq(cairo_image_surface_get_height(s), h, "%s: height %d", path, cairo_image_surface_get_height(s));
    return s;
}

static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
    cairo_surface_flush(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    return *(const uint32_t *)(d + (size_t)y * (size_t)cairo_image_surface_get_stride(s) + 4 * (size_t)x) & 0xffffffu;
}

static uint32_t cmap_pixel(kn_colormap cm, double t)
{
    double c[3];
    kn_colormap_rgb(cm, t, c);
    return (uint32_t)lround(c[0] * 255) << 16 | (uint32_t)lround(c[1] * 255) << 8 | (uint32_t)lround(c[2] * 255);
}

/* First y (from the top) on column x whose colour is exactly col; -1 if none. */
static int first_y(cairo_surface_t *s, int x, uint32_t col)
{
    for (int y = 0; y < cairo_image_surface_get_height(s); y++)
        if (pixel(s, x, y) == col)
            return y;
    return -1;
}
#endif

Test(plot, heat_map_png_size_and_orientation)
{
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_create2(9, 9, &a), KERNEST_OK);
    for (size_t j = 0; j < 9; j++) {
        a->data[j] = 10.0;          /* row 0: the largest value, the top of the colour map */
        a->data[8 * 9 + j] = -10.0; /* last row: the smallest */
    }
    char *path = tu_path(tu_dir, "map.png");
    int st = kn_plot_map(path, a, "test", KN_PLOT_LINEAR, KN_CMAP_VIRIDIS);
    if (!kn_plot_available()) {
        cr_assert_eq(st, KERNEST_E_UNSUPPORTED);
        cr_assert_not(tu_exists(path));
        free(path);
        kernest_array_destroy(&a);
        cr_skip_test("pictures not compiled in (no cairo)");
    }
#ifdef KERNEST_WITH_CAIRO
    cr_assert_eq(st, KERNEST_OK, "%s", kernest_last_error());
    cairo_surface_t *s = read_png(path, KN_PLOT_MAP_W, KN_PLOT_MAP_H);
    /* the image is centred in the plot area; its middle column crosses every row */
    int x = 92 + (KN_PLOT_MAP_W - 92 - 168) / 2;
    int top = first_y(s, x, cmap_pixel(KN_CMAP_VIRIDIS, 1.0)), bottom = first_y(s, x, cmap_pixel(KN_CMAP_VIRIDIS, 0.0));
    cr_assert(top >= 0 && bottom >= 0, "both ends of the colour map are drawn (%d, %d)", top, bottom);
    cr_assert_lt(top, bottom, "row 0 is drawn at the top, like an image");
    cairo_surface_destroy(s);
#endif
    free(path);
    kernest_array_destroy(&a);
}

Test(plot, every_scale_draws_awkward_arrays)
{
    if (!kn_plot_available())
        cr_skip_test("pictures not compiled in (no cairo)");
    /* both signs, zeros, NaN, a constant, a single pixel, a very wide one, one too big to draw 1:1 */
    const size_t shapes[][2] = {{15, 15}, {1, 1}, {3, 200}, {1500, 1300}};
    unsigned long long seed = 7;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        kernest_array *a = tu_random_array(shapes[k][0], shapes[k][1], -1, 1, &seed);
        a->data[0] = NAN;
        if (a->size > 2)
            a->data[1] = 0;
        for (int sc = KN_PLOT_AUTO; sc <= KN_PLOT_SYMLOG; sc++)
            for (int cm = 0; cm < 2; cm++) {
                char name[64];
                snprintf(name, sizeof name, "m%zu_%d_%d.png", k, sc, cm);
                char *path = tu_path(tu_dir, name);
                int st = kn_plot_map(path, a, name, (kn_plot_scale)sc, (kn_colormap)cm);
                cr_assert_eq(st, KERNEST_OK, "%s: %s", name, kernest_last_error());
#ifdef KERNEST_WITH_CAIRO
                cairo_surface_destroy(read_png(path, KN_PLOT_MAP_W, KN_PLOT_MAP_H));
#endif
                free(path);
            }
        kernest_array_destroy(&a);
    }
    kernest_array *c = NULL;
    cr_assert_eq(kernest_array_create2(4, 4, &c), KERNEST_OK); /* all zero */
    char *path = tu_path(tu_dir, "zero.png");
    cr_assert_eq(kn_plot_map(path, c, "zero", KN_PLOT_LOG, KN_CMAP_VIRIDIS), KERNEST_OK);
    free(path);
    kernest_array_destroy(&c);
}

Test(plot, line_plot_png)
{
    if (!kn_plot_available())
        cr_skip_test("pictures not compiled in (no cairo)");
    double x[50], y[50], y2[50];
    for (int i = 0; i < 50; i++) {
        x[i] = i;
        y[i] = pow(0.8, i);
        y2[i] = i % 7 ? 1.0 / (i + 1) : -1; /* non-positive points break a log line */
    }
    kn_curve c[2] = {{x, y, 50, "geometric", 0}, {x, y2, 50, "1/(i+1)", 1}};
    kn_lines_style st = {.title = "t", .xlabel = "x", .ylabel = "y", .logy = 1};
    char *path = tu_path(tu_dir, "lines.png");
    cr_assert_eq(kn_plot_lines(path, c, 2, &st), KERNEST_OK, "%s", kernest_last_error());
#ifdef KERNEST_WITH_CAIRO
    cairo_surface_destroy(read_png(path, KN_PLOT_LINES_W, KN_PLOT_LINES_H));
#endif
    free(path);
}

Test(plot, unwritable_path_is_an_error)
{
    if (!kn_plot_available())
        cr_skip_test("pictures not compiled in (no cairo)");
    kernest_array *a = NULL;
    cr_assert_eq(kernest_array_create2(3, 3, &a), KERNEST_OK);
    int st = kn_plot_map("/nonexistent-folder/k.png", a, "x", KN_PLOT_LINEAR, KN_CMAP_VIRIDIS);
    cr_assert_neq(st, KERNEST_OK);
    cr_assert(strstr(kernest_last_error(), "/nonexistent-folder"), "%s", kernest_last_error());
    kernest_array_destroy(&a);
}

/* ---- kernest estimate --plot ---------------------------------------------------------------- */

static void synth(void)
{
    char args[1024], err[1024];
    snprintf(args, sizeof args, "synth -o '%s' --n 24 --noise 0.01 --seed 3", tu_dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "synth: %s", err);
}

/* the four PNGs of --plot in tu_dir/sub, each a PNG of its canvas size (when cairo can read) */
static void expect_pictures(const char *sub)
{
    static const char *const names[] = {"kernel.png", "residual.png", "profile.png", "convergence.png"};
    for (int i = 0; i < 4; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "%s/%s", sub, names[i]);
        char *p = tu_path(tu_dir, rel);
        cr_assert(tu_exists(p), "%s missing", p);
#ifdef KERNEST_WITH_CAIRO
        int lines = i >= 2;
        cairo_surface_destroy(read_png(p, lines ? KN_PLOT_LINES_W : KN_PLOT_MAP_W, lines ? KN_PLOT_LINES_H : KN_PLOT_MAP_H));
#endif
        free(p);
    }
}

Test(plot, estimate_writes_the_pictures)
{
    synth();
    char args[2048], err[2048];
    snprintf(args, sizeof args,
             "estimate '%1$s/A.npy' '%1$s/B.npy' -o '%1$s/K.npy' --reg grad:1e-2 --maxiter 60 --threads 1 "
             "--plot '%1$s/pics' --truth '%1$s/K_true.npy'",
             tu_dir);
    int rc = tu_run_cli(args, err, sizeof err);
    if (!kn_plot_available()) {
        cr_assert_eq(rc, 2, "without cairo --plot is a usage error: %s", err);
        cr_assert(strstr(err, "--plot: not compiled in (install libcairo2-dev)"), "%s", err);
        return;
    }
    cr_assert_eq(rc, 0, "%s", err);
    expect_pictures("pics");
    /* every scale is accepted */
    snprintf(args, sizeof args,
             "estimate '%1$s/A.npy' '%1$s/B.npy' -o '%1$s/K2.npy' --maxiter 5 --threads 1 --plot '%1$s/pics2' "
             "--plot-scale log",
             tu_dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
}

/* several channels: the kernels as one mosaic, the outputs side by side, a profile per kernel */
Test(plot, estimate_with_channels_writes_the_pictures)
{
    char args[2048], err[2048];
    snprintf(args, sizeof args, "synth -o '%s/ch' --n 16 --channels 2,3 --noise 0.01 --seed 4", tu_dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "synth: %s", err);
    snprintf(args, sizeof args,
             "estimate '%1$s/ch/A.npy' '%1$s/ch/B.npy' -o '%1$s/ch/K.npy' --ksize 5x5 --fast --maxiter 30 "
             "--threads 1 --correlate --plot '%1$s/chpics'",
             tu_dir);
    int rc = tu_run_cli(args, err, sizeof err);
    if (!kn_plot_available()) {
        cr_assert_eq(rc, 2, "without cairo --plot is a usage error: %s", err);
        return;
    }
    cr_assert_eq(rc, 0, "%s", err);
    expect_pictures("chpics");
}

Test(plot, estimate_plot_option_errors)
{
    synth();
    char args[2048], err[2048];
    const char *bad[][2] = {
        {"--plot '%1$s/p' --plot-scale cubic", "--plot-scale: 'cubic'"},
        {"--truth '%1$s/K_true.npy'", "--truth: needs --plot"},
        {"--plot-scale log", "--plot-scale: needs --plot"},
        {"--plot '%1$s/A.npy'", "is not a folder"},
        {"--plot '%1$s/no/such/dir'", "cannot create folder"},
        {"--plot '%1$s/p' --truth '%1$s/missing.npy'", "missing.npy"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char extra[512];
        snprintf(extra, sizeof extra, bad[i][0], tu_dir);
        snprintf(args, sizeof args, "estimate '%1$s/A.npy' '%1$s/B.npy' -o '%1$s/K.npy' --maxiter 3 %2$s", tu_dir, extra);
        int rc = tu_run_cli(args, err, sizeof err);
        cr_assert_eq(rc, 2, "%s: exit %d (%s)", extra, rc, err);
        cr_assert(strstr(err, bad[i][1]) || (!kn_plot_available() && strstr(err, "--plot: not compiled in")),
                  "%s: expected '%s' in: %s", extra, bad[i][1], err);
        char *k = tu_path(tu_dir, "K.npy");
        cr_assert_not(tu_exists(k), "%s: no output after an error", extra);
        free(k);
    }
}

Test(plot, estimate_help_lists_the_picture_options)
{
    char cmd[1024], help[16384];
    snprintf(cmd, sizeof cmd, "'%s' estimate --help", KERNEST_CLI);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(help, 1, sizeof help - 1, p);
    help[n] = '\0';
    cr_assert_eq(pclose(p), 0);
    cr_assert(strstr(help, "--plot DIR") && strstr(help, "--plot-scale") && strstr(help, "--truth"), "%s", help);
}
