/* atomic_file.h — internal: write a file through a temporary in the same folder, then rename. */
#ifndef KN_ATOMIC_FILE_H
#define KN_ATOMIC_FILE_H

#include <stdio.h>

typedef struct kn_atomic_file {
    FILE *fp;          /* where to write */
    char *path;        /* final path (owned) */
    char *tmp_path;    /* temporary path in the same folder (owned) */
} kn_atomic_file;

/* Creates an empty temporary file beside path (mode as fopen would give): *tmp its malloc'd name;
 * its descriptor in *fd when fd is not NULL, else closed (for libraries that open the file
 * themselves: libtiff, libzip). On failure returns a status with the detail set. */
int kn_atomic_temp(const char *path, char **tmp, int *fd);
/* Opens a temporary file beside path. On failure returns a status with the detail set. */
int kn_atomic_open(kn_atomic_file *f, const char *path);
/* Flushes, syncs, closes and renames into place; on any failure removes the temporary file. */
int kn_atomic_commit(kn_atomic_file *f);
/* Closes and removes the temporary file (safe after a failed open or commit). */
void kn_atomic_abort(kn_atomic_file *f);
/* Removes the temporaries "PATH.tmp.XXXXXX" that a killed process left beside path (a temporary
 * is locked while its writer has it open; only unlocked ones go). Returns how many it removed. */
int kn_atomic_remove_stale(const char *path);

#endif
