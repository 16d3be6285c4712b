/* atomic_file.c — temporary file plus rename, so a failed run never leaves a half-written file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
