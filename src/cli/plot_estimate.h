/* plot_estimate.h — the pictures of `kernest estimate --plot DIR` (plot_estimate.c, built only
 * when cairo is found: KERNEST_WITH_CAIRO). */
#ifndef CLI_PLOT_ESTIMATE_H
#define CLI_PLOT_ESTIMATE_H

#include "kernest.h"

/* Writes kernel.png, residual.png (B0 - crop_mode(A0 (*) K), with opt's mode, layout and
 * correlate), profile.png (ring means of K, and of truth when not NULL) and convergence.png into
 * dir. With several channels (K 4-D): the kernels as a mosaic (output o down, input i across, one
 * colour scale), the output channels of pair 1's first sample side by side, and the profiles of
 * the first 8 kernels. scale is a kn_plot_scale. Returns 0 or the exit code with the error printed. */
int cli_plot_estimate(const char *dir, int scale, const kernest_array *K, const kernest_report *rep,
                      const kernest_array *A0, const kernest_array *B0, const kernest_options *opt,
                      const kernest_array *truth);

#endif
