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
int cmd_batch(int argc, char **argv);

/* Set by the fuzz harnesses (fuzz/): estimate, convolve and synth return 0 once their options are
 * checked and their inputs read, before any work, folder or output file. 0 in the kernest CLI. */
extern int cli_stop_before_work;

/* Prints "kernest: MESSAGE" (one line) to stderr and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the library's detail message for status and returns the exit code it maps to. */
int cli_fail(int status);
/* With on = 1 the two above keep their message (cli_last_message) instead of printing it: a batch
 * shows each job's error in its summary. Turning it on clears the last message. */
void cli_capture_errors(int on);
const char *cli_last_message(void);

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
/* 1 when the two paths name one file: the same resolved folder and name ("K.npy", "./K.npy" and
 * the absolute path; "a.npz:K" is a.npz), or, for files that exist, one device and inode. */
int cli_same_file(const char *a, const char *b);
/* The resolved name cli_same_file compares (the folder through realpath, then the name); malloc'd,
 * NULL when out of memory. */
char *cli_path_key(const char *path);
/* Refuses (exit code 2, naming both) two of the n paths that name one file, where the first
 * ninputs are inputs (they may repeat among themselves) and the rest outputs; what[i] names the
 * option or role of path[i] ("-o", "input"); a NULL path is skipped. Returns 0 or the exit code. */
int cli_check_distinct(size_t n, const char *const *what, const char *const *path, size_t ninputs);

/* MPI (cli_mpi.c): started only when an MPI launcher started this process; rank 0 of 1
 * otherwise. cli_estimate_dist reads this rank's share of the np pairs (names: A1 B1 A2 ...)
 * and runs the distributed estimate; K and rep are set on rank 0 only. Returns the exit code
 * (errors printed). */
void cli_mpi_start(int *argc, char ***argv);
void cli_mpi_end(void);
int cli_mpi_rank(void);
int cli_mpi_size(void);
int cli_estimate_dist(const char *const *names, size_t np, const kernest_options *opt, kernest_array **K,
                      kernest_report **rep);
/* 1 when estimate should spread its pairs over the ranks: more than one rank, and not inside a
 * batch (whose jobs each run on one rank: cli_mpi_set_local(1)). */
int cli_mpi_spread_pairs(void);
void cli_mpi_set_local(int local);
/* Batch jobs across ranks: a shared counter on rank 0 hands out job numbers (open and close are
 * collective). cli_mpi_queue_next returns 1 with *index set while jobs remain, 0 when none
 * remain, -1 when not under MPI (the caller walks the jobs itself). */
int cli_mpi_queue_open(void);
int cli_mpi_queue_next(long total, long *index);
void cli_mpi_queue_close(void);
/* Collective: rank 0's items[i] (n items of size bytes) become the copy from the rank that has
 * mine[i] = 1. */
void cli_mpi_collect(void *items, size_t n, size_t size, const unsigned char *mine);
/* Collective: the largest v over the ranks (v itself in one process). */
int cli_mpi_max(int v);

/* Reads an array file (format by extension; raw files use --shape/--dtype) into a new 2-D
 * array (error printed); returns 0 or the exit code. */
int cli_read_2d(const char *path, kernest_array **out);
/* Takes --shape HxW and --dtype T (for raw inputs, any command) out of argv before the command
 * parses it; returns 0 or the exit code. */
int cli_take_read_options(int *argc, char **argv);
/* Refuses (exit code 2) an output path whose extension names no format, or one not compiled in,
 * before any work is done. */
int cli_check_format(const char *opt, const char *path);
/* Reads a .npy of 2 to 4 dimensions (channels, see kernest_layout); returns 0 or the exit code. */
int cli_read_channels(const char *path, kernest_array **out);
/* Checks --plot DIR before any work: refuses a non-folder or an unwritable one, a missing one
 * whose parent is not a writable folder, and a build without cairo ("--plot: not compiled in
 * (install libcairo2-dev)"). It creates nothing. Returns 0 or the exit code with the error printed. */
int cli_plot_prepare_dir(const char *dir);
/* Parses --padding same|valid|N|PHxPW into *pad_h, *pad_w (-1: same) and --padding-mode into
 * *mode; either text may be NULL (then left as it is). Returns 0 or the exit code. */
int cli_parse_padding(const char *padding, const char *mode_text, int *pad_h, int *pad_w,
                      kernest_padding_mode *mode);
/* A layer's padding of *A for the kernel K (kernest_pad_layer with geometry g): *A is replaced by
 * the padded array and *mode becomes valid. Returns 0 or the exit code (error printed). */
int cli_pad_input(kernest_array **A, const kernest_array *K, int pad_h, int pad_w, kernest_padding_mode pmode,
                  const kernest_geometry *g, kernest_mode *mode);
/* Parses N or HxW (integers lo..2^30) for option opt into *h, *w; returns 0 or the exit code. */
int cli_parse_pair(const char *opt, const char *s, long lo, int *h, int *w);
/* A layer's --stride S|SHxSW, --dilation D|DHxDW and --groups G (the getopt keys below), every
 * number >= 1, into g; returns 0 or the exit code (error printed). */
enum { CLI_OPT_STRIDE = 4001, CLI_OPT_DILATION = 4002, CLI_OPT_GROUPS = 4003 };
#define CLI_GEOMETRY_LONGOPTS                                                                       \
    {"stride", required_argument, 0, CLI_OPT_STRIDE}, {"dilation", required_argument, 0, CLI_OPT_DILATION}, \
        {"groups", required_argument, 0, CLI_OPT_GROUPS}
int cli_parse_geometry(int key, const char *arg, kernest_geometry *g);
/* Creates --plot DIR when missing, once the pictures are about to be drawn; *created says whether
 * it did (so that a failure can remove it again). Returns 0 or the exit code. */
int cli_plot_make_dir(const char *dir, int *created);
/* Parses --layout auto|chw|nchw. */
int cli_parse_layout(const char *s, kernest_layout *layout);

#endif
