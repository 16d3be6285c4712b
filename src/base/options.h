/* options.h — internal: the checks of kernest_options that do not depend on the data
 * (options.c, which also holds the public defaults and the output shapes). */
#ifndef KN_OPTIONS_H
#define KN_OPTIONS_H

#include "kernest.h"

/* Checks the options that do not depend on the data (ranges, enums, NULL lists). */
int kn_options_check(const kernest_options *opt);
/* Checks a layer's geometry (every field >= 1; NULL is all ones). */
int kn_geometry_check(const kernest_geometry *g);
/* *out = g checked (every field >= 1), or all ones for NULL. */
int kn_geometry_resolve(const kernest_geometry *g, kernest_geometry *out);
/* 1 when g is NULL or all ones: stride, dilation and groups 1. */
int kn_geometry_is_plain(const kernest_geometry *g);
/* The checks of the automatic choice's options (the rule, folds, probes, σ, which automatic
 * choices go together); kn_options_check runs them when an automatic choice is asked for. */
int kn_options_check_select(const kernest_options *opt);

/* *out = opt without the priors that need a proximal solver (non-negativity, bounds, sum, ℓ1,
 * TV) and with the solver left to choose: the quadratic problem that remains is linear in the
 * data, what the Gaussian posterior's samples and the influence matrix's trace are about. These
 * auxiliary solves neither checkpoint nor resume (checkpoint and resume are cleared). */
void kn_options_linear(const kernest_options *opt, kernest_options *out);
/* 1 when opt is such a linear fit already (nothing kn_options_linear drops, no FISTA or GPCG by
 * name). */
int kn_options_is_linear(const kernest_options *opt);

#endif
