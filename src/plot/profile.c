/* profile.c — the radial profile of a kernel: ring means around its centre (no cairo needed). */
#include <math.h>
#include <stdlib.h>

#include "plot.h"

double *kn_radial_profile(const kernest_array *a, size_t *n)
{
    const size_t h = a->shape[0], w = a->shape[1], ch = (h - 1) / 2, cw = (w - 1) / 2;
    /* rings that are whole circles inside the array: up to the nearest edge from the centre */
    const size_t m = 1 + (ch < cw ? ch : cw);
    double *sum = calloc(m, sizeof *sum);
    size_t *cnt = calloc(m, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return NULL;
    }
    for (size_t i = 0; i < h; i++)
        for (size_t j = 0; j < w; j++) {
            double du = (double)i - (double)ch, dv = (double)j - (double)cw, v = a->data[i * w + j];
            size_t r = (size_t)lround(sqrt(du * du + dv * dv));
            if (r < m && isfinite(v))
                sum[r] += v, cnt[r]++;
        }
    for (size_t r = 0; r < m; r++)
        sum[r] = cnt[r] ? sum[r] / (double)cnt[r] : NAN;
    free(cnt);
    *n = m;
    return sum;
}
