/* npy.h — internal: the .npy reader and writer on open streams (used by the .npz format). */
#ifndef KN_NPY_H
#define KN_NPY_H

#include <stdio.h>
#include <sys/stat.h>

#include "kernest.h"

/* Reads one .npy from fp; sb gives its size when S_ISREG (checked against the header before
 * allocating). path names the source in errors. *out receives the array (caller owns). */
int kn_npy_read_stream(FILE *fp, const char *path, const struct stat *sb, kernest_array **out);
/* Writes a as .npy (f8 or f4) to fp; does not close it. */
int kn_npy_write_stream(FILE *fp, const char *path, const kernest_array *a,
                        kernest_precision precision);

#endif
