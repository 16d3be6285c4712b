/* fuzz_util.h — helpers shared by the fuzz harnesses: input bytes as a file, as argv strings. */
#ifndef KN_FUZZ_UTIL_H
#define KN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kernest.h"

/* The libFuzzer entry point every harness defines (replay_main.c calls it in normal builds). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data into an in-memory file (memfd) and returns a path that opens it
 * ("/proc/self/fd/N"), valid until the next call. A reader harness is then one call:
 * `kernest_xxx_read(fuzz_bytes_as_file(data, size), &out)`. NULL when the file cannot be made. */
const char *fuzz_bytes_as_file(const uint8_t *data, size_t size);

/* A scratch folder of this process (made once, under $TMPDIR or /tmp), for outputs and for the
 * small input files the CLI harnesses may name; the process works inside it (chdir). */
const char *fuzz_scratch_dir(void);

/* Splits data at NUL bytes (and at '\n') into at most max-1 strings after argv[0] = name;
 * returns argc. The strings live in one buffer owned by the caller (*buf, free it); argv[argc]
 * is NULL. Also resets getopt's hidden state so every call parses from scratch. */
int fuzz_split_argv(const uint8_t *data, size_t size, const char *name, char **argv, int max,
                    char **buf);

/* Writes a small .npy of shape rows x cols with the given values (or a ramp when NULL) into the
 * scratch folder under name, for the CLI harnesses. */
void fuzz_write_npy(const char *name, size_t rows, size_t cols, const double *values);

/* Aborts unless a is a well-formed array (1..KERNEST_MAX_NDIM dimensions, size the product of
 * the shape, data for every element); reads every element, so ASan sees a short buffer. */
void fuzz_check_array(const kernest_array *a);

/* For the CLI harnesses: makes the scratch folder with small inputs a.npy, b.npy (4x4), k.npy
 * (3x3), m.npy (7x7) and r.npy (1x5) that fuzz inputs can name; commands stop before any work
 * (cli_stop_before_work). Call from LLVMFuzzerInitialize. */
void fuzz_cli_setup(void);
/* Runs cmd(argc, argv) on the input split into argv strings (fuzz_split_argv); the exit code
 * must be 0, 1 or 2. */
void fuzz_cli_run(int (*cmd)(int, char **), const char *name, const uint8_t *data, size_t size);

#endif
