/* cli_priors.h — parsing of the prior options of `kernest estimate` (--reg lists, --bounds,
 * --support, --fix) and writing of the radial profile. */
#ifndef KN_CLI_PRIORS_H
#define KN_CLI_PRIORS_H

#include "kernest.h"

/* "--reg NAME[:LAMBDA],...": one of none/ridge/grad (its λ into opt->lambda), l1:λ₁ and tv:λ_tv.
 * Resets opt->reg, opt->l1 and opt->tv first; *lambda_given is set when a quadratic λ was in the list.
 * Returns 0 or prints an error and returns -1. */
int cli_parse_reg_list(const char *s, kernest_options *opt, int *lambda_given);
/* "--bounds LO,HI" (either may be -inf / inf). */
int cli_parse_bounds(const char *s, kernest_options *opt);
/* "--support disk:R | box:HxW | MASK.npy"; a mask is read into *mask (caller frees). */
int cli_parse_support(const char *s, kernest_options *opt, kernest_array **mask);
/* "--fix ROW,COL=VALUE" appended to *list (realloc'd; caller frees). */
int cli_parse_fix(const char *s, kernest_fixed_pixel **list, size_t *n);
/* "--model pixel | radial | harmonic:M | lowrank:R" into opt->model and opt->order. */
int cli_parse_model(const char *s, kernest_options *opt);
/* Writes the report's radial profile as a 1-D .npy (harmonic: (2M+1)×p, rows f_0, f_1, g_1, ...,
 * f_M, g_M at r = 0, 1, ... px); returns 0 or the exit code. */
int cli_write_profile(const char *path, const kernest_report *rep);

/* Writes the coverage and std maps of rep (both or neither); 0 or the exit code. */
int cli_write_uncertainty(const kernest_report *rep, const char *cov_path, const char *std_path);

/* Writes the estimate's bias (rep->background with rep->bias: one value per output channel) to
 * path as a 1-D array; returns 0 or the exit code with the error printed. */
int cli_write_bias(const char *path, const kernest_report *rep);

#endif
