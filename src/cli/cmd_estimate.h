/* cmd_estimate.h — `kernest estimate` in two steps, parse and run, so that `kernest batch` runs a
 * job's options through exactly the code the estimate command uses. */
#ifndef KN_CMD_ESTIMATE_H
#define KN_CMD_ESTIMATE_H

#include <stddef.h>

#include "kernest.h"

/* cli_estimate_parse's return value when it printed the help (exit 0, nothing to run). */
enum { CLI_ESTIMATE_HELP = -1 };

/* One parsed estimate: the options and the file names. Strings are borrowed from the argv given
 * to cli_estimate_parse (keep it alive until cli_estimate_free); mask and fixed are owned. */
typedef struct cli_estimate {
    kernest_options opt;          /* opt.support_mask and opt.fixed point into this struct */
    const char *const *inputs;    /* A1 B1 A2 B2 ... (2*npairs names) */
    size_t npairs;
    const char *output;           /* -o K.npy */
    const char *report_path;      /* --report, or NULL */
    const char *profile_path;     /* --profile, or NULL */
    const char *plot_dir;         /* --plot DIR, or NULL */
    const char *truth_path;       /* --truth K_true.npy (pictures only), or NULL */
    int plot_scale;               /* --plot-scale: a kn_plot_scale (plot.h) */
    const char *log_path;         /* --log FILE.jsonl, or NULL */
    char *cov_path, *std_path;    /* --uncertainty PREFIX: PREFIX_coverage.npy, PREFIX_std.npy
                                     (owned), or NULL */
    int quiet;                    /* -q */
    kernest_array *mask;          /* --support MASK.npy */
    kernest_fixed_pixel *fixed;   /* --fix, nfixed entries */
    size_t nfixed;
    const char *bias_out;         /* --bias-out BIAS.npy (C_out values), or NULL */
} cli_estimate;

/* What a run did, for the batch summary. */
typedef struct cli_estimate_result {
    int iterations;
    kernest_stop_reason reason;
    double wall_seconds; /* the library call */
} cli_estimate_result;

/* Parses `estimate [options] A B ...` (argv[0] is the command name; argv is permuted). Returns
 * CLI_OK, CLI_ESTIMATE_HELP (help printed) or an exit code with the error printed. Always call
 * cli_estimate_free afterwards. */
int cli_estimate_parse(int argc, char **argv, cli_estimate *job);
/* Reads the inputs, solves (through ctx, which may be NULL: see kernest_estimate_in), writes the
 * outputs (all or nothing) and prints the summary line unless quiet. Returns an exit code; res
 * (may be NULL) is filled on success. */
int cli_estimate_run(const cli_estimate *job, kernest_context *ctx, cli_estimate_result *res);
/* Frees what job owns (NULL allowed) and clears it. */
void cli_estimate_free(cli_estimate *job);

#endif
