/* atomic_file.c — temporary file plus rename, so a failed run never leaves a half-written file. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "error.h"

static void release(kn_atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    f->fp = NULL;
}

int kn_atomic_temp(const char *path, char **tmp, int *fd_out)
{
    size_t len = strlen(path) + 32;
    char *t = malloc(len);
    if (!t)
        return kn_error(KERNEST_E_NOMEM, "%s: out of memory", path);
    /* same folder as the target, so rename() stays on one file system */
    snprintf(t, len, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(t);
    if (fd < 0) {
        int e = errno;
        free(t);
        return kn_error(KERNEST_E_IO, "%s: cannot create file: %s", path, strerror(e));
    }
    /* locked while open: a rerun removes a temporary left by a killed process (no lock held) and
     * never one that a live writer holds (kn_atomic_remove_stale) */
    (void)flock(fd, LOCK_EX | LOCK_NB);
    /* mkstemp makes the file 0600; give it the mode a plain fopen() would */
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    *tmp = t;
    return KERNEST_OK;
}

int kn_atomic_open(kn_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return kn_error(KERNEST_E_INVALID, "output path is empty");
    if (!(f->path = strdup(path)))
        return kn_error(KERNEST_E_NOMEM, "%s: out of memory", path);
    int fd, st = kn_atomic_temp(path, &f->tmp_path, &fd);
    if (st) {
        release(f);
        return st;
    }
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->tmp_path);
        release(f);
        return kn_error(KERNEST_E_IO, "%s: cannot open file: %s", path, strerror(e));
    }
    return 0;
}

int kn_atomic_commit(kn_atomic_file *f)
{
    int e = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp))
        e = errno ? errno : EIO;
    if (!e && fsync(fileno(f->fp)) != 0 && errno != EINVAL)
        e = errno;
    if (fclose(f->fp) != 0 && !e)
        e = errno;
    f->fp = NULL;
    if (!e && rename(f->tmp_path, f->path) != 0)
        e = errno;
    if (e) {
        unlink(f->tmp_path);
        int st = kn_error(KERNEST_E_IO, "%s: write failed: %s", f->path, strerror(e));
        release(f);
        return st;
    }
    release(f);
    return 0;
}

void kn_atomic_abort(kn_atomic_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    release(f);
}

int kn_atomic_remove_stale(const char *path)
{
    char *d = strdup(path), *b = strdup(path);
    int removed = 0;
    if (!d || !b) {
        free(d);
        free(b);
        return 0;
    }
    const char *dir = dirname(d), *base = basename(b);
    const size_t blen = strlen(base);
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        /* exactly "NAME.tmp.XXXXXX", as kn_atomic_temp makes them */
        if (strlen(e->d_name) != blen + 11 || strncmp(e->d_name, base, blen) ||
            strncmp(e->d_name + blen, ".tmp.", 5))
            continue;
        char *full = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!full)
            break;
        sprintf(full, "%s/%s", dir, e->d_name);
        int fd = open(full, O_RDONLY | O_NOFOLLOW);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            unlink(full) == 0)
            removed++;
        if (fd >= 0)
            close(fd);
        free(full);
    }
    if (dp)
        closedir(dp);
    free(d);
    free(b);
    return removed;
}
