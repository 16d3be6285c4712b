/* colormap.c — the colour maps of the pictures, tabulated from their published definitions,
 * and CIE lightness (the tests check that it is monotonic along the maps). */
#include <math.h>
#include <string.h>

#include "base/names.h"
#include "plot.h"

/* viridis (Stéfan van der Walt and Nathaniel Smith, 2015; CC0, as published in matplotlib's
 * _cm_listed.py): every 8th of its 256 entries (0, 8, ..., 248) and the last one (255). The map is
 * smooth; linear interpolation between these knots stays within 0.003 of the full table. */
static const double viridis_knots[33][3] = {
    {0.267004, 0.004874, 0.329415}, {0.277018, 0.050344, 0.375715}, {0.282327, 0.094955, 0.417331},
    {0.282884, 0.135920, 0.453427}, {0.278826, 0.175490, 0.483397}, {0.270595, 0.214069, 0.507052},
    {0.258965, 0.251537, 0.524736}, {0.244972, 0.287675, 0.537260}, {0.229739, 0.322361, 0.545706},
    {0.214298, 0.355619, 0.551184}, {0.199430, 0.387607, 0.554642}, {0.185556, 0.418570, 0.556753},
    {0.172719, 0.448791, 0.557885}, {0.160665, 0.478540, 0.558115}, {0.149039, 0.508051, 0.557250},
    {0.137770, 0.537492, 0.554906}, {0.127568, 0.566949, 0.550556}, {0.120565, 0.596422, 0.543611},
    {0.120638, 0.625828, 0.533488}, {0.132268, 0.655014, 0.519661}, {0.157851, 0.683765, 0.501686},
    {0.196571, 0.711827, 0.479221}, {0.246070, 0.738910, 0.452024}, {0.304148, 0.764704, 0.419943},
    {0.369214, 0.788888, 0.382914}, {0.440137, 0.811138, 0.340967}, {0.515992, 0.831158, 0.294279},
    {0.595839, 0.848717, 0.243329}, {0.678489, 0.863742, 0.189503}, {0.762373, 0.876424, 0.137064},
    {0.845561, 0.887322, 0.099702}, {0.926106, 0.897330, 0.104071}, {0.993248, 0.906157, 0.143936}};

/* ColorBrewer RdBu, 11 classes (Cynthia Brewer, colorbrewer2.org), reversed so that negative is
 * blue: #053061 #2166ac #4393c3 #92c5de #d1e5f0 #f7f7f7 #fddbc7 #f4a582 #d6604d #b2182b #67001f */
static const unsigned char rdbu_r[11][3] = {
    {0x05, 0x30, 0x61}, {0x21, 0x66, 0xac}, {0x43, 0x93, 0xc3}, {0x92, 0xc5, 0xde},
    {0xd1, 0xe5, 0xf0}, {0xf7, 0xf7, 0xf7}, {0xfd, 0xdb, 0xc7}, {0xf4, 0xa5, 0x82},
    {0xd6, 0x60, 0x4d}, {0xb2, 0x18, 0x2b}, {0x67, 0x00, 0x1f}};

void kn_colormap_rgb(kn_colormap cm, double t, double rgb[3])
{
    if (!(t > 0)) /* also NaN */
        t = 0;
    if (t > 1)
        t = 1;
    if (cm == KN_CMAP_DIVERGING) {
        double x = t * 10.0;
        int i = x >= 10.0 ? 9 : (int)x;
        double f = x - i;
        for (int c = 0; c < 3; c++)
            rgb[c] = ((1 - f) * rdbu_r[i][c] + f * rdbu_r[i + 1][c]) / 255.0;
        return;
    }
    /* viridis: knot k sits at entry 8k (k < 32), knot 32 at entry 255 */
    double e = t * 255.0;
    int k = e >= 248.0 ? 31 : (int)(e / 8.0);
    double lo = 8.0 * k, hi = k == 31 ? 255.0 : lo + 8.0;
    double f = (e - lo) / (hi - lo);
    for (int c = 0; c < 3; c++)
        rgb[c] = (1 - f) * viridis_knots[k][c] + f * viridis_knots[k + 1][c];
}

double kn_srgb_lightness(const double rgb[3])
{
    double lin[3];
    for (int c = 0; c < 3; c++)
        lin[c] = rgb[c] <= 0.04045 ? rgb[c] / 12.92 : pow((rgb[c] + 0.055) / 1.055, 2.4);
    double y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    double f = y > 216.0 / 24389.0 ? cbrt(y) : (24389.0 / 27.0 * y + 16.0) / 116.0;
    return 116.0 * f - 16.0;
}

static const char *const scale_names[] = {"auto", "linear", "log", "symlog"};

int kn_plot_scale_parse(const char *s)
{
    return kn_name_parse(s, KN_NAMES(scale_names));
}

const char *kn_plot_scale_name(kn_plot_scale s)
{
    return kn_name_of((int)s, KN_NAMES(scale_names));
}
