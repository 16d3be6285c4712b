/* area_table.c — summed-area tables (area_table.h). */
#include <string.h>

#include "area_table.h"

void kn_area_columns(double *P, size_t h, size_t w, int threads)
{
    const size_t W = w + 1, nb = (W + 255) / 256;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t b = 0; b < nb; b++) {
        const size_t c0 = b * 256, c1 = c0 + 256 < W ? c0 + 256 : W;
        for (size_t r = 1; r <= h; r++)
            for (size_t c = c0; c < c1; c++)
                P[r * W + c] += P[(r - 1) * W + c];
    }
}

void kn_area_table(const double *v, size_t h, size_t w, double *P, int threads)
{
    const size_t W = w + 1;
    memset(P, 0, W * sizeof *P);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < h; r++) {
        double row = 0.0;
        P[(r + 1) * W] = 0.0;
        for (size_t c = 0; c < w; c++) {
            row += v[r * w + c];
            P[(r + 1) * W + c + 1] = row;
        }
    }
    kn_area_columns(P, h, w, threads);
}
