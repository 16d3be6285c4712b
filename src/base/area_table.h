/* area_table.h — internal: summed-area tables of a row-major h×w array of doubles
 * (area_table.c): the box sums of the mean preconditioner (fit/precond_mean.c) and of A's box
 * spread (select/select_reduce.c). */
#ifndef KN_AREA_TABLE_H
#define KN_AREA_TABLE_H

#include <stddef.h>

/* P = the (h+1)×(w+1) summed-area table of v: P[r][c] = Σ v over rows < r, columns < c. Rows in
 * parallel on `threads` threads, each sum in a fixed order whatever their number. */
void kn_area_table(const double *v, size_t h, size_t w, double *P, int threads);

/* The second half of such a table: P's rows 1..h hold the running sums of each row (row 0 and
 * column 0 zero); each column is summed downwards, in blocks of columns in parallel. */
void kn_area_columns(double *P, size_t h, size_t w, int threads);

/* Σ v over rows [ra, rb] and columns [ca, cb] from its table (w: v's width) */
static inline double kn_area_sum(const double *P, size_t w, size_t ra, size_t rb, size_t ca, size_t cb)
{
    const size_t W = w + 1;
    return P[(rb + 1) * W + cb + 1] - P[ra * W + cb + 1] - P[(rb + 1) * W + ca] + P[ra * W + ca];
}

#endif
