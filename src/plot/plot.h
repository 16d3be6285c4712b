/* plot.h — the plot layer's index: PNG pictures drawn with cairo (heat maps of 2-D arrays with a
 * colour bar, line plots; plot.c, built only when cairo is found), the colour maps
 * (colormap.c) and radial profiles (profile.c), which need no cairo. */
#ifndef KN_PLOT_H
#define KN_PLOT_H

#include <stddef.h>

#include "kernest.h"

/* Colour scale of a heat map. */
typedef enum kn_plot_scale {
    KN_PLOT_AUTO = 0,   /* symlog when both signs, log when positive values span > 2 decades, else linear */
    KN_PLOT_LINEAR = 1,
    KN_PLOT_LOG = 2,    /* values <= 0 drawn grey */
    KN_PLOT_SYMLOG = 3  /* sign(v) log10(1 + |v|/t), t a power of ten near the median |v| */
} kn_plot_scale;

/* "auto" | "linear" | "log" | "symlog"; -1 otherwise. */
int kn_plot_scale_parse(const char *s);
const char *kn_plot_scale_name(kn_plot_scale s);

typedef enum kn_colormap {
    KN_CMAP_VIRIDIS = 0,  /* sequential, perceptually uniform (van der Walt & Smith, CC0) */
    KN_CMAP_DIVERGING = 1 /* blue - white - red, ColorBrewer RdBu reversed; centred on 0 */
} kn_colormap;

/* ---- colour maps (colormap.c; no cairo needed) ---------------------------------------- */

/* Colour at t in [0, 1] (clamped) as sRGB components in [0, 1]. */
void kn_colormap_rgb(kn_colormap cm, double t, double rgb[3]);
/* CIE L* (0 black .. 100 white) of an sRGB colour. */
double kn_srgb_lightness(const double rgb[3]);

/* ---- pictures (plot.c; cairo) -------------------------------------------------------------- */

/* Canvas sizes of the PNGs, whatever the array's size. */
enum { KN_PLOT_MAP_W = 760, KN_PLOT_MAP_H = 640, KN_PLOT_LINES_W = 760, KN_PLOT_LINES_H = 520 };

/* 1 when the pictures are compiled in (cairo found at build time: KERNEST_WITH_CAIRO, which the
 * plot library passes on to whatever links it); the functions below exist only then. */
static inline int kn_plot_available(void)
{
#ifdef KERNEST_WITH_CAIRO
    return 1;
#else
    return 0;
#endif
}

/* How a heat map is drawn. Row 0 of the array is at the top, like an image. */
typedef struct kn_map_style {
    const char *title;
    const char *xlabel, *ylabel; /* NULL: "column offset from centre (px)" / "row offset ..." */
    double x0, y0;               /* axis value at column 0 and row 0 (e.g. -(kw-1)/2) */
    kn_plot_scale scale;
    kn_colormap cmap;
    const char *value_label;     /* beside the colour bar, e.g. "K"; may be NULL */
    const char *grey_label;      /* what grey (NaN) stands for; NULL: "missing (NaN)" */
} kn_map_style;

/* Heat map of the 2-D array a with axes in pixel offsets from its centre ((h-1)/2, (w-1)/2, as
 * the kernel's), a colour bar and title; written atomically to path. NaN is drawn grey. Returns
 * a kernest status (detail in kernest_last_error()); KERNEST_E_UNSUPPORTED without cairo. */
int kn_plot_map(const char *path, const kernest_array *a, const char *title, kn_plot_scale scale,
                kn_colormap cmap);
/* The same with every detail chosen by style. */
int kn_plot_map_style(const char *path, const kernest_array *a, const kn_map_style *style);

/* One curve of a line plot; points with a non-finite coordinate (or <= 0 on a log axis) are
 * left out and break the line. */
typedef struct kn_curve {
    const double *x, *y;
    size_t n;
    const char *label; /* in the legend; NULL: no legend entry */
    int dashed;
} kn_curve;

typedef struct kn_lines_style {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
} kn_lines_style;

/* Line plot of ncurves curves (colours from a fixed palette), axes with ticks and labels, a legend
 * when a curve has a label; written atomically to path. */
int kn_plot_lines(const char *path, const kn_curve *curves, size_t ncurves, const kn_lines_style *style);

/* ---- profile.c (no cairo needed) ---------------------------------------------------------- */

/* Radial profile: prof[j] = mean of a over the pixels whose distance from the centre
 * ((h-1)/2, (w-1)/2) rounds to j, for j < n, n = 1 + min((h-1)/2, (w-1)/2) (full rings only);
 * NaN where a ring has no finite value. Returns a new array (NULL when out of memory); *n set. */
double *kn_radial_profile(const kernest_array *a, size_t *n);

#endif
