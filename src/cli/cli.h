/* cli.h — shared pieces of the kernest command line: commands, option parsing, error reporting. */
#ifndef KN_CLI_H
#define KN_CLI_H

#include <stddef.h>

#include "kernest.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 bad usage or input. */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

int cmd_estimate(int argc, char **argv);
int cmd_convolve(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_info(int argc, char **argv);

/* Set by the fuzz harnesses (fuzz/): estimate, convolve and synth return 0 once their options are
 * checked and their inputs read, before any work, folder or output file. 0 in the kernest CLI. */
extern int cli_stop_before_work;

/* Prints "kernest: MESSAGE" (one line) to stderr and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the library's detail message for status and returns the exit code it maps to. */
int cli_fail(int status);

/* Option value parsers: return 0 on success, else print an error naming the option, return -1. */
int cli_parse_double(const char *opt, const char *s, double *out);
int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_ksize(const char *s, size_t *h, size_t *w);
int cli_parse_mode(const char *s, kernest_mode *mode);
int cli_parse_precision(const char *s, kernest_precision *p);
int cli_parse_device(const char *s, kernest_device_kind *kind, int *index);

/* Refuses (exit-code-2 error) an output path whose folder does not exist or is not writable, so
 * that a long solve is not wasted on an unwritable output. */
int cli_check_output(const char *opt, const char *path);

/* Reads a .npy into a new 2-D array (error printed); returns 0 or the exit code. */
int cli_read_2d(const char *path, kernest_array **out);

#endif
