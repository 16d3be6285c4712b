/* plot.c — PNG heat maps (with axes and a colour bar) and line plots drawn with cairo; written
 * through a temporary file and renamed, like every output. Compiled only when cairo is found. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "plot.h"


#include <cairo.h>

#include "base/atomic_file.h"


static const double grey_missing[3] = {0.62, 0.62, 0.62};
#define FONT "DejaVu Sans"

/* ---- output -------------------------------------------------------------------------------- */

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, (FILE *)closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Writes the surface as PNG through a temporary file; a kernest status. */
static int write_png(cairo_surface_t *s, const char *path)
{
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return kn_error(KERNEST_E_NOMEM, "%s: cairo: %s", path, cairo_status_to_string(cairo_surface_status(s)));
    kn_atomic_file f;
    int st = kn_atomic_open(&f, path);
    if (st)
        return st;
    cairo_status_t cs = cairo_surface_write_to_png_stream(s, write_cb, f.fp);
    if (cs != CAIRO_STATUS_SUCCESS) {
        kn_atomic_abort(&f);
        return kn_error(KERNEST_E_IO, "%s: cairo_surface_write_to_png_stream: %s", path, cairo_status_to_string(cs));
    }
    return kn_atomic_commit(&f);
}

/* ---- text ---------------------------------------------------------------------------------- */

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Height of a digit in the current font: numbers are centred on it. */
static double digit_height(cairo_t *cr)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, "0", &e);
    return e.height;
}

/* Draws s with its anchor at (x, y): ha 0 left, 0.5 centre, 1 right; va 0 top, 0.5 middle,
 * 1 baseline (vertical placement by the height of a digit). */
static void text_at(cairo_t *cr, double x, double y, const char *s, double ha, double va)
{
    double h = digit_height(cr);
    cairo_move_to(cr, x - ha * text_width(cr, s), y + (1.0 - va) * h);
    cairo_show_text(cr, s);
}

/* A tick label: a plain number, or "10" with a superscript exponent when pow10 is set. */
typedef struct label {
    char base[48];
    char exp[16]; /* superscript; empty for none */
} label;

/* the x axis title centred at (xc, xt), its top there; the y axis title turned a quarter left,
 * centred at (yx, yc) */
static void axis_titles(cairo_t *cr, double xc, double xt, double yx, double yc, const char *xlabel,
                        const char *ylabel)
{
    font(cr, 13, 0);
    text_at(cr, xc, xt, xlabel, 0.5, 0);
    cairo_save(cr);
    cairo_translate(cr, yx, yc);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, ylabel, 0.5, 1);
    cairo_restore(cr);
}

static double font_size(cairo_t *cr)
{
    cairo_matrix_t m;
    cairo_get_font_matrix(cr, &m);
    return m.xx;
}

/* Width of the superscript of l, drawn at 0.72 of the font size. */
static double exp_width(cairo_t *cr, const label *l)
{
    if (!l->exp[0])
        return 0;
    double fs = font_size(cr);
    cairo_set_font_size(cr, fs * 0.72);
    double w = text_width(cr, l->exp) + 1;
    cairo_set_font_size(cr, fs);
    return w;
}

static double label_width(cairo_t *cr, const label *l)
{
    return text_width(cr, l->base) + exp_width(cr, l);
}

static void label_at(cairo_t *cr, double x, double y, const label *l, double ha, double va)
{
    double w = label_width(cr, l), h = digit_height(cr);
    double x0 = x - ha * w, base = y + (1.0 - va) * h, bw = text_width(cr, l->base);
    cairo_move_to(cr, x0, base);
    cairo_show_text(cr, l->base);
    if (l->exp[0]) {
        double fs = font_size(cr);
        cairo_set_font_size(cr, fs * 0.72);
        cairo_move_to(cr, x0 + bw + 1, base - 0.45 * h);
        cairo_show_text(cr, l->exp);
        cairo_set_font_size(cr, fs);
    }
}

/* ---- numbers ------------------------------------------------------------------------------- */

/* A number for a linear axis with ticks step apart: fixed decimals as the step needs, or a short
 * exponent form for very large or small values. Strips "-0". */
static void fmt_linear(label *l, double v, double step)
{
    l->exp[0] = '\0';
    if (fabs(v) < 1e-9 * step)
        v = 0;
    double av = fabs(v);
    if (v != 0 && (av >= 1e5 || av < 1e-3)) {
        int digits = (int)ceil(log10(av / step) - 1e-9);
        if (digits < 0)
            digits = 0;
        char buf[24];
        snprintf(buf, sizeof buf, "%.*e", digits > 3 ? 3 : digits, v);
        char *e = strchr(buf, 'e');
        int ex = atoi(e + 1);
        *e = '\0';
        snprintf(l->base, sizeof l->base, "%s\xc3\x97" "10", buf); /* "m×10" */
        snprintf(l->exp, sizeof l->exp, "%s%d", ex < 0 ? "\xe2\x88\x92" : "", abs(ex));
        if (!strcmp(buf, "1") || !strcmp(buf, "-1")) {
            snprintf(l->base, sizeof l->base, "%s10", v < 0 ? "\xe2\x88\x92" : "");
        }
        return;
    }
    int dec = (int)ceil(-log10(step) - 1e-9);
    if (dec < 0)
        dec = 0;
    snprintf(l->base, sizeof l->base, "%.*f", dec, v);
    if (l->base[0] == '-') { /* a real minus sign reads better than a hyphen */
        memmove(l->base + 3, l->base + 1, strlen(l->base));
        memcpy(l->base, "\xe2\x88\x92", 3);
    }
}

/* sign * 10^k: plain ("0.01", "100") for -3 <= k <= 4, else "10" with superscript k. */
static void fmt_pow10(label *l, int sign, int k)
{
    const char *minus = sign < 0 ? "\xe2\x88\x92" : "";
    l->exp[0] = '\0';
    if (k >= -3 && k <= 4) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.*f", k < 0 ? -k : 0, pow(10.0, k));
        snprintf(l->base, sizeof l->base, "%s%s", minus, buf);
    } else {
        snprintf(l->base, sizeof l->base, "%s10", minus);
        snprintf(l->exp, sizeof l->exp, "%s%d", k < 0 ? "\xe2\x88\x92" : "", abs(k));
    }
}

/* 1, 2 or 5 times a power of ten, at least span/target. */
static double nice_step(double span, double target)
{
    double raw = span / target;
    if (!(raw > 0))
        return 1;
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
}

static double next_nice(double step)
{
    double p = pow(10.0, floor(log10(step) + 1e-9));
    double m = step / p;
    return p * (m < 1.5 ? 2 : m < 3.5 ? 5 : 10);
}

/* ---- colour scales ------------------------------------------------------------------------- */

typedef struct norm {
    kn_plot_scale scale;
    double lo, hi;   /* range in transformed units */
    double t;        /* symlog: linear threshold (a power of ten) */
    double vmin, vmax; /* range in data units */
} norm;

static double transform(const norm *n, double v)
{
    switch (n->scale) {
    case KN_PLOT_LOG: return v > 0 ? log10(v) : NAN;
    case KN_PLOT_SYMLOG: return copysign(log10(1.0 + fabs(v) / n->t), v);
    default: return v;
    }
}

/* Position in [0, 1] along the colour map; NaN for a value to draw grey. */
static double normalise(const norm *n, double v)
{
    if (!isfinite(v))
        return NAN;
    double u = transform(n, v);
    if (isnan(u))
        return NAN;
    double f = (u - n->lo) / (n->hi - n->lo);
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Chooses the scale (auto) and its range from the finite values of a. */
static void make_norm(norm *n, const kernest_array *a, kn_plot_scale scale, kn_colormap cm)
{
    double mn = INFINITY, mx = -INFINITY, maxabs = 0, minpos = INFINITY;
    for (size_t i = 0; i < a->size; i++) {
        double v = a->data[i];
        if (!isfinite(v))
            continue;
        mn = fmin(mn, v);
        mx = fmax(mx, v);
        maxabs = fmax(maxabs, fabs(v));
        if (v > 0)
            minpos = fmin(minpos, v);
    }
    if (mn > mx) /* nothing finite */
        mn = 0, mx = 1, maxabs = 1;
    if (!(minpos < INFINITY))
        minpos = mx;
    if (scale == KN_PLOT_AUTO) {
        if (mn < 0 && mx > 0)
            scale = KN_PLOT_SYMLOG;
        else if (mn >= 0 && mx > 0) {
            /* median of the positive values against the largest */
            size_t np = 0;
            double *pos = malloc(a->size * sizeof *pos);
            for (size_t i = 0; pos && i < a->size; i++)
                if (isfinite(a->data[i]) && a->data[i] > 0)
                    pos[np++] = a->data[i];
            double med = mx;
            if (pos && np) {
                qsort(pos, np, sizeof *pos, cmp_double);
                med = pos[np / 2];
            }
            free(pos);
            scale = mx > 100.0 * med ? KN_PLOT_LOG : KN_PLOT_LINEAR;
        } else
            scale = KN_PLOT_LINEAR;
    }
    if (scale == KN_PLOT_LOG && !(mx > 0))
        scale = KN_PLOT_LINEAR; /* nothing positive to show on a log scale */
    n->scale = scale;
    n->vmin = mn;
    n->vmax = mx;
    n->t = 1;
    if (scale == KN_PLOT_LINEAR) {
        if (cm == KN_CMAP_DIVERGING)
            n->vmin = -maxabs, n->vmax = maxabs;
        if (n->vmin == n->vmax)
            n->vmin -= n->vmin ? fabs(n->vmin) * 0.5 : 1, n->vmax += n->vmax ? fabs(n->vmax) * 0.5 : 1;
        n->lo = n->vmin, n->hi = n->vmax;
    } else if (scale == KN_PLOT_LOG) {
        n->vmax = mx;
        n->vmin = fmax(minpos, mx * 1e-8);
        n->lo = log10(n->vmin), n->hi = log10(n->vmax);
        if (n->hi - n->lo < 1e-12)
            n->lo -= 1, n->hi += 1;
    } else {
        /* symlog: linear within +-t, t the power of ten at or below the median |v| (non-zero
         * values), between 6 and 1 decades under max |v|: the many small values of a noisy
         * estimate stay in the linear middle, the structure above them is spread by the log */
        if (!(maxabs > 0))
            maxabs = 1;
        size_t nz = 0;
        double *mag = malloc(a->size * sizeof *mag), med = maxabs * 1e-3;
        for (size_t i = 0; mag && i < a->size; i++)
            if (isfinite(a->data[i]) && a->data[i] != 0)
                mag[nz++] = fabs(a->data[i]);
        if (mag && nz) {
            qsort(mag, nz, sizeof *mag, cmp_double);
            med = mag[nz / 2];
        }
        free(mag);
        double top = floor(log10(maxabs));
        n->t = pow(10.0, fmin(fmax(floor(log10(med)), top - 6), top - 1));
        if (cm == KN_CMAP_DIVERGING) /* 0 at the white middle */
            n->vmin = -maxabs, n->vmax = maxabs;
        if (n->vmin == n->vmax)
            n->vmin = fmin(n->vmin, 0), n->vmax = fmax(n->vmax, 0) + (n->vmax == 0);
        n->lo = transform(n, n->vmin), n->hi = transform(n, n->vmax);
    }
}

/* Tick values of the colour bar (data units) with their labels; returns the count. */
static int colourbar_ticks(const norm *n, double *val, label *lab, int cap)
{
    int k = 0;
    if (n->scale == KN_PLOT_LINEAR) {
        double step = nice_step(n->vmax - n->vmin, 6);
        for (double v = ceil(n->vmin / step - 1e-9) * step; v <= n->vmax + 1e-9 * step && k < cap; v += step) {
            val[k] = v;
            fmt_linear(&lab[k++], v, step);
        }
        return k;
    }
    if (n->scale == KN_PLOT_LOG) {
        int k0 = (int)ceil(n->lo - 1e-9), k1 = (int)floor(n->hi + 1e-9);
        int every = (k1 - k0) / 10 + 1;
        for (int e = k0; e <= k1 && k < cap; e++) {
            if (e % every)
                continue;
            val[k] = pow(10.0, e);
            fmt_pow10(&lab[k++], 1, e);
        }
        return k;
    }
    /* symlog: 0 and +-10^e for t <= 10^e <= max |v| */
    int e0 = (int)lround(log10(n->t)), e1 = (int)floor(log10(fmax(fabs(n->vmin), fabs(n->vmax))) + 1e-9);
    int sides = (n->vmin < 0) + (n->vmax > 0);
    int every = sides * (e1 - e0 + 1) / 12 + 1;
    for (int e = e1; e >= e0 && k < cap; e--)
        if (e % every == 0 && n->vmin <= -pow(10.0, e) * (1 - 1e-9)) {
            val[k] = -pow(10.0, e);
            fmt_pow10(&lab[k++], -1, e);
        }
    if (k < cap && n->vmin <= 0 && n->vmax >= 0) {
        val[k] = 0;
        fmt_pow10(&lab[k], 1, 0);
        strcpy(lab[k++].base, "0");
    }
    for (int e = e1; e >= e0 && k < cap; e--)
        if (e % every == 0 && n->vmax >= pow(10.0, e) * (1 - 1e-9)) {
            val[k] = pow(10.0, e);
            fmt_pow10(&lab[k++], 1, e);
        }
    return k;
}

/* ---- heat maps ----------------------------------------------------------------------------- */

int kn_plot_map(const char *path, const kernest_array *a, const char *title, kn_plot_scale scale,
                kn_colormap cmap)
{
    kn_map_style st = {.title = title, .scale = scale, .cmap = cmap};
    if (a && a->ndim == 2) {
        st.x0 = -(double)((a->shape[1] - 1) / 2);
        st.y0 = -(double)((a->shape[0] - 1) / 2);
    }
    return kn_plot_map_style(path, a, &st);
}

/* Axis ticks along one image axis: values x0 .. x0+n-1 drawn over len px; returns the step with
 * labels at least minsep px apart. */
static double axis_step(cairo_t *cr, double x0, size_t n, double len, int horizontal)
{
    double px = len / (double)n;
    double step = nice_step((double)n, 6);
    if (step < 1)
        step = 1;
    for (int guard = 0; guard < 40; guard++) {
        double need = 14; /* vertical axis: the text height plus a gap */
        if (horizontal) {
            label l1, l2;
            fmt_linear(&l1, x0, step);
            fmt_linear(&l2, x0 + (double)n, step);
            need = fmax(label_width(cr, &l1), label_width(cr, &l2)) + 12;
        }
        if (step * px >= need)
            break;
        step = next_nice(step);
    }
    return step;
}

int kn_plot_map_style(const char *path, const kernest_array *a, const kn_map_style *style)
{
    if (!a || a->ndim != 2 || !a->size)
        return kn_error(KERNEST_E_INVALID, "%s: a heat map needs a non-empty 2-D array", path);
    const size_t h = a->shape[0], w = a->shape[1];
    norm n;
    make_norm(&n, a, style->scale, style->cmap);

    /* arrays larger than the plot area are averaged over s x s blocks first (NaN left out) */
    size_t s = 1;
    while ((h + s - 1) / s > 1024 || (w + s - 1) / s > 1024)
        s++;
    const int iw = (int)((w + s - 1) / s), ih = (int)((h + s - 1) / s);
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, iw, ih);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return kn_error(KERNEST_E_NOMEM, "%s: cairo image surface %dx%d: out of memory", path, iw, ih);
    }
    cairo_surface_flush(img);
    unsigned char *pix = cairo_image_surface_get_data(img);
    const int stride = cairo_image_surface_get_stride(img);
    int any_grey = 0;
    for (int r = 0; r < ih; r++) {
        uint32_t *row = (uint32_t *)(pix + (size_t)r * (size_t)stride);
        for (int c = 0; c < iw; c++) {
            double sum = 0;
            size_t cnt = 0;
            for (size_t i = (size_t)r * s; i < h && i < (size_t)(r + 1) * s; i++)
                for (size_t j = (size_t)c * s; j < w && j < (size_t)(c + 1) * s; j++) {
                    double v = a->data[i * w + j];
                    if (isfinite(v))
                        sum += v, cnt++;
                }
            double f = cnt ? normalise(&n, sum / (double)cnt) : NAN;
            double rgb[3];
            if (isnan(f)) {
                memcpy(rgb, grey_missing, sizeof rgb);
                any_grey = 1;
            } else
                kn_colormap_rgb(style->cmap, f, rgb);
            row[c] = 0xff000000u | (uint32_t)lround(rgb[0] * 255) << 16 | (uint32_t)lround(rgb[1] * 255) << 8 |
                     (uint32_t)lround(rgb[2] * 255);
        }
    }
    cairo_surface_mark_dirty(img);

    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, KN_PLOT_MAP_W, KN_PLOT_MAP_H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);

    /* the plot area; the image keeps square pixels */
    const double ax = 92, ay = 56, aw = KN_PLOT_MAP_W - ax - 168, ah = KN_PLOT_MAP_H - ay - 70;
    const double px = fmin(aw / (double)w, ah / (double)h);
    const double rw = px * (double)w, rh = px * (double)h;
    const double rx = ax + (aw - rw) / 2, ry = ay + (ah - rh) / 2;

    cairo_save(cr);
    cairo_rectangle(cr, rx, ry, rw, rh);
    cairo_clip(cr);
    cairo_translate(cr, rx, ry);
    cairo_scale(cr, px * (double)s, px * (double)s);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), px * (double)s >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);

    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, floor(rx) + 0.5, floor(ry) + 0.5, round(rw), round(rh));
    cairo_stroke(cr);

    /* axes: tick at the centre of the pixel with that offset */
    font(cr, 12, 0);
    const double xstep = axis_step(cr, style->x0, w, rw, 1), ystep = axis_step(cr, style->y0, h, rh, 0);
    for (double v = ceil(style->x0 / xstep) * xstep; v <= style->x0 + (double)(w - 1) + 1e-9; v += xstep) {
        double x = rx + (v - style->x0 + 0.5) * px;
        cairo_move_to(cr, x, ry + rh);
        cairo_line_to(cr, x, ry + rh + 5);
        cairo_stroke(cr);
        label l;
        fmt_linear(&l, v, xstep);
        label_at(cr, x, ry + rh + 9, &l, 0.5, 0);
    }
    double ylab_w = 0;
    for (double v = ceil(style->y0 / ystep) * ystep; v <= style->y0 + (double)(h - 1) + 1e-9; v += ystep) {
        double y = ry + (v - style->y0 + 0.5) * px;
        cairo_move_to(cr, rx, y);
        cairo_line_to(cr, rx - 5, y);
        cairo_stroke(cr);
        label l;
        fmt_linear(&l, v, ystep);
        label_at(cr, rx - 8, y, &l, 1, 0.5);
        ylab_w = fmax(ylab_w, label_width(cr, &l));
    }
    axis_titles(cr, rx + rw / 2, ry + rh + 34, rx - 14 - ylab_w - 8, ry + rh / 2,
                style->xlabel ? style->xlabel : "column offset from centre (px)",
                style->ylabel ? style->ylabel : "row offset from centre (px)");

    /* colour bar */
    const double bw = 20, bh = fmax(rh, 240), bx = rx + rw + 24, by = ry + (rh - bh) / 2;
    for (int i = 0; i < 256; i++) {
        double rgb[3];
        kn_colormap_rgb(style->cmap, (i + 0.5) / 256.0, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, bx, by + bh * (255 - i) / 256.0, bw, bh / 256.0 + 0.6);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, floor(bx) + 0.5, floor(by) + 0.5, bw, round(bh));
    cairo_stroke(cr);
    font(cr, 12, 0);
    double tv[32];
    label tl[32];
    int nt = colourbar_ticks(&n, tv, tl, 32);
    double lab_w = 0, last_y = INFINITY;
    for (int i = 0; i < nt; i++) {
        double f = (transform(&n, tv[i]) - n.lo) / (n.hi - n.lo);
        if (!(f >= -1e-9 && f <= 1 + 1e-9))
            continue;
        double y = by + bh * (1 - f);
        if (fabs(y - last_y) < 15) /* keep labels apart (ticks near 0 of a symlog bar) */
            continue;
        last_y = y;
        cairo_move_to(cr, bx + bw, y);
        cairo_line_to(cr, bx + bw + 5, y);
        cairo_stroke(cr);
        label_at(cr, bx + bw + 8, y, &tl[i], 0, 0.5);
        lab_w = fmax(lab_w, label_width(cr, &tl[i]));
    }
    char note[160];
    const char *vl = style->value_label ? style->value_label : "value";
    if (n.scale == KN_PLOT_SYMLOG) {
        label t;
        fmt_pow10(&t, 1, (int)lround(log10(n.t)));
        char sup[48] = "";
        for (const char *c = t.exp; *c; c++) { /* the exponent in Unicode superscripts */
            static const char *const digit[] = {"\xe2\x81\xb0", "\xc2\xb9", "\xc2\xb2", "\xc2\xb3",
                                                "\xe2\x81\xb4", "\xe2\x81\xb5", "\xe2\x81\xb6",
                                                "\xe2\x81\xb7", "\xe2\x81\xb8", "\xe2\x81\xb9"};
            if (*c >= '0' && *c <= '9')
                strcat(sup, digit[*c - '0']);
            else if ((unsigned char)*c == 0xe2) { /* U+2212 minus -> superscript minus U+207B */
                strcat(sup, "\xe2\x81\xbb");
                c += 2;
            }
        }
        snprintf(note, sizeof note, "%s (symlog: linear within \xc2\xb1%s%s)", vl, t.base, sup);
    } else
        snprintf(note, sizeof note, "%s (%s)", vl, kn_plot_scale_name(n.scale));
    font(cr, 12, 0);
    cairo_save(cr);
    cairo_translate(cr, bx + bw + 8 + lab_w + 10, by + bh / 2);
    cairo_rotate(cr, M_PI / 2);
    text_at(cr, 0, 0, note, 0.5, 1);
    cairo_restore(cr);

    /* title, and what grey means when there is any */
    font(cr, 16, 1);
    text_at(cr, KN_PLOT_MAP_W / 2.0, 22, style->title ? style->title : "", 0.5, 0.5);
    if (any_grey) {
        font(cr, 11, 0);
        cairo_set_source_rgb(cr, grey_missing[0], grey_missing[1], grey_missing[2]);
        cairo_rectangle(cr, rx, ry - 18, 10, 10);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, rx + 14, ry - 13, style->grey_label ? style->grey_label
                : n.scale == KN_PLOT_LOG ? "missing or \xe2\x89\xa4 0" : "missing (NaN)", 0, 0.5);
    }
    cairo_destroy(cr);
    int st = write_png(surf, path);
    cairo_surface_destroy(surf);
    return st;
}

/* ---- line plots ---------------------------------------------------------------------------- */

/* eight colours: the profiles of up to eight kernels stay apart (plot_estimate.c) */
static const double palette[][3] = {{0.12, 0.36, 0.70}, {0.89, 0.40, 0.05}, {0.15, 0.60, 0.25},
                                    {0.80, 0.15, 0.20}, {0.50, 0.30, 0.65}, {0.55, 0.34, 0.16},
                                    {0.00, 0.62, 0.65}, {0.85, 0.40, 0.68}};

typedef struct axis {
    int log;
    double lo, hi; /* in axis units (log10 for a log axis) */
} axis;

static double axis_unit(const axis *a, double v)
{
    return a->log ? (v > 0 ? log10(v) : NAN) : v;
}

/* Ticks of a line-plot axis: value, label, major. */
static int axis_ticks(const axis *a, double *val, label *lab, int cap)
{
    int k = 0;
    if (!a->log) {
        double step = nice_step(a->hi - a->lo, 6);
        for (double v = ceil(a->lo / step - 1e-9) * step; v <= a->hi + 1e-9 * step && k < cap; v += step) {
            val[k] = v;
            fmt_linear(&lab[k++], v, step);
        }
        return k;
    }
    int e0 = (int)floor(a->lo), e1 = (int)ceil(a->hi);
    int every = (e1 - e0) / 8 + 1;
    int few = (int)floor(a->hi + 1e-9) - (int)ceil(a->lo - 1e-9) < 1; /* under two decades shown */
    for (int e = e0; e <= e1 && k < cap; e++) {
        static const int mult[] = {1, 2, 5};
        for (int m = 0; m < (few ? 3 : 1) && k < cap; m++) {
            double u = e + log10(mult[m]);
            if (u < a->lo - 1e-9 || u > a->hi + 1e-9 || (!few && e % every))
                continue;
            val[k] = u;
            if (mult[m] == 1)
                fmt_pow10(&lab[k], 1, e);
            else {
                fmt_linear(&lab[k], mult[m] * pow(10.0, e), pow(10.0, e));
            }
            k++;
        }
    }
    return k;
}

/* Data range of the curves on one axis (x or y), in axis units. */
static void axis_range(axis *a, const kn_curve *c, size_t nc, int which)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < nc; i++)
        for (size_t j = 0; j < c[i].n; j++) {
            double u = axis_unit(a, which ? c[i].y[j] : c[i].x[j]);
            if (isfinite(u))
                lo = fmin(lo, u), hi = fmax(hi, u);
        }
    if (lo > hi)
        lo = 0, hi = 1;
    if (hi - lo < 1e-12 * fmax(1, fabs(hi)))
        lo -= a->log ? 0.5 : fmax(fabs(lo) * 0.1, 1), hi += a->log ? 0.5 : fmax(fabs(hi) * 0.1, 1);
    if (which && a->log && lo < hi - 8) /* at most 8 decades: a truth decaying to 1e-36 would flatten the rest */
        lo = hi - 8;
    if (which) { /* a margin above and below the curves */
        double m = 0.04 * (hi - lo);
        lo -= m, hi += m;
    }
    a->lo = lo, a->hi = hi;
}

int kn_plot_lines(const char *path, const kn_curve *curves, size_t ncurves, const kn_lines_style *style)
{
    axis X = {.log = style->logx}, Y = {.log = style->logy};
    axis_range(&X, curves, ncurves, 0);
    axis_range(&Y, curves, ncurves, 1);

    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, KN_PLOT_LINES_W, KN_PLOT_LINES_H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    const double ax = 96, ay = 50, aw = KN_PLOT_LINES_W - ax - 30, ah = KN_PLOT_LINES_H - ay - 66;
#define PX(u) (ax + ((u) - X.lo) / (X.hi - X.lo) * aw)
#define PY(u) (ay + ah - ((u) - Y.lo) / (Y.hi - Y.lo) * ah)

    /* grid and ticks */
    font(cr, 12, 0);
    double tv[64];
    label tl[64];
    int nt = axis_ticks(&X, tv, tl, 64);
    cairo_set_line_width(cr, 1);
    double last = -INFINITY;
    for (int i = 0; i < nt; i++) {
        double x = round(PX(tv[i])) + 0.5;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, x, ay);
        cairo_line_to(cr, x, ay + ah);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x, ay + ah);
        cairo_line_to(cr, x, ay + ah + 5);
        cairo_stroke(cr);
        double lw = label_width(cr, &tl[i]);
        if (x - lw / 2 < last + 8)
            continue; /* no overlapping labels */
        label_at(cr, x, ay + ah + 9, &tl[i], 0.5, 0);
        last = x + lw / 2;
    }
    nt = axis_ticks(&Y, tv, tl, 64);
    double ylab_w = 0;
    last = INFINITY;
    for (int i = 0; i < nt; i++) {
        double y = round(PY(tv[i])) + 0.5;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, ax, y);
        cairo_line_to(cr, ax + aw, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, ax, y);
        cairo_line_to(cr, ax - 5, y);
        cairo_stroke(cr);
        if (last - y < 16)
            continue;
        label_at(cr, ax - 8, y, &tl[i], 1, 0.5);
        ylab_w = fmax(ylab_w, label_width(cr, &tl[i]));
        last = y;
    }
    cairo_rectangle(cr, round(ax) + 0.5, round(ay) + 0.5, round(aw), round(ah));
    cairo_stroke(cr);

    /* curves */
    cairo_save(cr);
    cairo_rectangle(cr, ax, ay, aw, ah);
    cairo_clip(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t i = 0; i < ncurves; i++) {
        const double *col = palette[i % (sizeof palette / sizeof palette[0])];
        cairo_set_source_rgb(cr, col[0], col[1], col[2]);
        cairo_set_line_width(cr, 2);
        double dash[] = {7, 4};
        cairo_set_dash(cr, dash, curves[i].dashed ? 2 : 0, 0);
        int pen = 0;
        for (size_t j = 0; j < curves[i].n; j++) {
            double u = axis_unit(&X, curves[i].x[j]), v = axis_unit(&Y, curves[i].y[j]);
            if (!isfinite(u) || !isfinite(v)) {
                pen = 0;
                continue;
            }
            if (pen)
                cairo_line_to(cr, PX(u), PY(v));
            else
                cairo_move_to(cr, PX(u), PY(v));
            pen = 1;
        }
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        if (curves[i].n <= 60) /* few points: mark them */
            for (size_t j = 0; j < curves[i].n; j++) {
                double u = axis_unit(&X, curves[i].x[j]), v = axis_unit(&Y, curves[i].y[j]);
                if (isfinite(u) && isfinite(v)) {
                    cairo_arc(cr, PX(u), PY(v), 2.6, 0, 2 * M_PI);
                    cairo_fill(cr);
                }
            }
    }
    cairo_restore(cr);

    /* legend, top right */
    font(cr, 12, 0);
    double lw = 0;
    size_t nl = 0;
    for (size_t i = 0; i < ncurves; i++)
        if (curves[i].label)
            lw = fmax(lw, text_width(cr, curves[i].label)), nl++;
    if (nl) {
        /* in the corner of the plot area that hides the fewest points */
        const double bw = lw + 48, bh = 20.0 * (double)nl + 8;
        double bx = 0, by = 0;
        size_t best = (size_t)-1;
        for (int corner = 0; corner < 4; corner++) {
            double cx = corner & 1 ? ax + 10 : ax + aw - bw - 10, cy = corner & 2 ? ay + ah - bh - 10 : ay + 10;
            size_t hidden = 0;
            for (size_t i = 0; i < ncurves; i++)
                for (size_t j = 0; j < curves[i].n; j++) {
                    double u = axis_unit(&X, curves[i].x[j]), v = axis_unit(&Y, curves[i].y[j]);
                    if (isfinite(u) && isfinite(v) && PX(u) >= cx - 4 && PX(u) <= cx + bw + 4 && PY(v) >= cy - 4 &&
                        PY(v) <= cy + bh + 4)
                        hidden++;
                }
            if (hidden < best)
                best = hidden, bx = cx, by = cy;
        }
        cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
        cairo_rectangle(cr, bx, by, bw, bh);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
        size_t k = 0;
        for (size_t i = 0; i < ncurves; i++) {
            if (!curves[i].label)
                continue;
            const double *col = palette[i % (sizeof palette / sizeof palette[0])];
            double y = by + 14 + 20.0 * (double)k++;
            cairo_set_source_rgb(cr, col[0], col[1], col[2]);
            cairo_set_line_width(cr, 2);
            double dash[] = {7, 4};
            cairo_set_dash(cr, dash, curves[i].dashed ? 2 : 0, 0);
            cairo_move_to(cr, bx + 8, y);
            cairo_line_to(cr, bx + 36, y);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            cairo_set_source_rgb(cr, 0, 0, 0);
            text_at(cr, bx + 42, y, curves[i].label, 0, 0.5);
        }
    }

    /* labels and title */
    cairo_set_source_rgb(cr, 0, 0, 0);
    axis_titles(cr, ax + aw / 2, ay + ah + 36, ax - 14 - ylab_w - 8, ay + ah / 2,
                style->xlabel ? style->xlabel : "", style->ylabel ? style->ylabel : "");
    font(cr, 16, 1);
    text_at(cr, KN_PLOT_LINES_W / 2.0, 22, style->title ? style->title : "", 0.5, 0.5);
#undef PX
#undef PY
    cairo_destroy(cr);
    int st = write_png(surf, path);
    cairo_surface_destroy(surf);
    return st;
}
