/* npz.c — NumPy .npz archives through libzip: read one member (stored or deflated), write one. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "io.h"


#include <zip.h>

#include "npy.h"


/* A member read on demand through a FILE (fopencookie), for the .npy reader. */
typedef struct {
    zip_file_t *zf;
    int failed;
} member_stream;

static ssize_t member_read(void *cookie, char *buf, size_t size)
{
    member_stream *m = cookie;
    zip_int64_t got = zip_fread(m->zf, buf, size);
    if (got < 0) {
        m->failed = 1;
        errno = EIO;
        return -1;
    }
    return (ssize_t)got;
}

static int ends_with_npy(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && !strcmp(s + n - 4, ".npy");
}

static int open_error(const char *path, int code)
{
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    int st = code == ZIP_ER_NOENT || code == ZIP_ER_OPEN ? KERNEST_E_NOFILE
             : code == ZIP_ER_MEMORY                     ? KERNEST_E_NOMEM
             : code == ZIP_ER_READ                       ? KERNEST_E_IO
                                                         : KERNEST_E_FORMAT;
    st = kn_error(st, "%s: %s%s", path, code == ZIP_ER_NOZIP ? "not a .npz (zip) archive: " : "",
                  zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return st;
}

/* Picks the member: the named one ("name" or "name.npy"), else the archive's only .npy. */
static int locate(zip_t *z, const char *path, const char *member, zip_int64_t *index)
{
    if (member) {
        zip_int64_t i = zip_name_locate(z, member, 0);
        if (i < 0) {
            size_t n = strlen(member) + 5;
            char *withext = malloc(n);
            if (!withext)
                return kn_error(KERNEST_E_NOMEM, "%s: out of memory", path);
            snprintf(withext, n, "%s.npy", member);
            i = zip_name_locate(z, withext, 0);
            free(withext);
        }
        if (i < 0)
            return kn_error(KERNEST_E_FORMAT, "%s: the archive has no array named '%s'", path,
                            member);
        *index = i;
        return KERNEST_OK;
    }
    zip_int64_t count = zip_get_num_entries(z, 0), found = -1, arrays = 0;
    char list[256] = "";
    size_t k = 0;
    for (zip_int64_t i = 0; i < count; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!name || !ends_with_npy(name))
            continue;
        if (arrays++ == 0)
            found = i;
        if (k < sizeof list - 1)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%.*s", arrays > 1 ? ", " : "",
                                  (int)(strlen(name) - 4), name);
    }
    if (arrays == 0)
        return kn_error(KERNEST_E_FORMAT, "%s: the archive holds no .npy arrays", path);
    if (arrays > 1)
        return kn_error(KERNEST_E_INVALID, "%s: the archive holds %lld arrays (%s); name one as "
                        "%s:NAME", path, (long long)arrays, list, path);
    *index = found;
    return KERNEST_OK;
}

int kn_npz_read(const char *path, const char *file, const char *member, kernest_array **out)
{
    struct stat sb;
    int st = kn_io_stat_regular(file, &sb);
    if (st)
        return st;
    int code = 0;
    zip_t *z = zip_open(file, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!z)
        return open_error(file, code);
    zip_int64_t index = -1;
    st = locate(z, file, member, &index);
    if (st) {
        zip_discard(z);
        return st;
    }
    const char *name = zip_get_name(z, (zip_uint64_t)index, 0);
    char label[1024];
    snprintf(label, sizeof label, "%s:%.*s", file, (int)(strlen(name) - (ends_with_npy(name) ? 4 : 0)),
             name);

    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(z, (zip_uint64_t)index, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE)) {
        st = kn_error(KERNEST_E_FORMAT, "%s: cannot read the member's size: %s", label,
                      zip_strerror(z));
        zip_discard(z);
        return st;
    }
    if (zs.size == 0 || zs.size > (zip_uint64_t)INT64_MAX) {
        st = zs.size == 0 ? kn_error(KERNEST_E_FORMAT, "%s: the member is empty", label)
                          : kn_error(KERNEST_E_FORMAT, "%s: the member's size %llu is not a file "
                                     "size", label, (unsigned long long)zs.size);
        zip_discard(z);
        return st;
    }
    zip_file_t *zf = zip_fopen_index(z, (zip_uint64_t)index, 0);
    if (!zf) {
        st = kn_error(KERNEST_E_FORMAT, "%s: cannot open the member: %s", label, zip_strerror(z));
        zip_discard(z);
        return st;
    }
    /* The member is streamed, never inflated whole: the .npy reader checks the shape its header
     * declares against the member's size before it allocates, allocates the array alone, and reads
     * no byte past the data, so a small archive cannot expand into memory beyond its shape. */
    member_stream ms_cookie = {zf, 0};
    cookie_io_functions_t io = {.read = member_read};
    FILE *mf = fopencookie(&ms_cookie, "rb", io);
    if (!mf) {
        zip_fclose(zf);
        zip_discard(z);
        return kn_error(KERNEST_E_NOMEM, "%s: fopencookie failed: %s", label, strerror(errno));
    }
    struct stat ms;
    memset(&ms, 0, sizeof ms);
    ms.st_mode = S_IFREG;
    ms.st_size = (off_t)zs.size;
    st = kn_npy_read_stream(mf, label, &ms, out);
    if (st && ms_cookie.failed)
        st = kn_error(KERNEST_E_FORMAT, "%s: corrupt member: %s", label, zip_file_strerror(zf));
    fclose(mf);
    zip_fclose(zf);
    zip_discard(z);
    return st;
}

int kn_npz_write(const char *path, const char *file, const char *member, const kernest_array *a,
                 kernest_precision precision)
{
    /* the .npy bytes first, in memory: nothing is created if they cannot be made */
    char *npy = NULL;
    size_t npy_len = 0;
    FILE *ms = open_memstream(&npy, &npy_len);
    if (!ms)
        return kn_error(KERNEST_E_NOMEM, "%s: open_memstream failed: %s", path, strerror(errno));
    int st = kn_npy_write_stream(ms, path, a, precision);
    if (fclose(ms) != 0 && !st)
        st = kn_error(KERNEST_E_NOMEM, "%s: cannot build the member in memory", path);
    if (st) {
        free(npy);
        return st;
    }
    char entry[512];
    int n = snprintf(entry, sizeof entry, "%s.npy", member ? member : "arr_0");
    if (n < 0 || (size_t)n >= sizeof entry) {
        free(npy);
        return kn_error(KERNEST_E_INVALID, "%s: the member name is too long", path);
    }

    char *tmp = NULL;
    if ((st = kn_atomic_temp(file, &tmp, NULL))) {
        free(npy);
        return st;
    }
    int code = 0;
    zip_t *z = zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!z) {
        st = open_error(file, code);
        goto fail;
    }
    zip_source_t *src = zip_source_buffer(z, npy, npy_len, 0);
    zip_int64_t idx = src ? zip_file_add(z, entry, src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
        st = kn_error(KERNEST_E_IO, "%s: cannot add %s: %s", file, entry, zip_strerror(z));
        if (src)
            zip_source_free(src);
        zip_discard(z);
        goto fail;
    }
    /* stored, as np.savez writes it (np.load reads stored and deflated alike) */
    if (zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0 || zip_close(z) != 0) {
        st = kn_error(KERNEST_E_IO, "%s: write failed: %s", file, zip_strerror(z));
        zip_discard(z);
        goto fail;
    }
    free(npy);
    st = kn_io_commit_temp(tmp, file);
    free(tmp);
    return st;
fail:
    unlink(tmp);
    free(tmp);
    free(npy);
    return st;
}

/* the row of the format table (formats.c) */
static int row_read(const char *path, const char *file, const char *member,
                    const kernest_read_options *ro, kernest_array **out)
{
    return kn_npz_read(path, file, member, out);
}

const kn_format_io kn_format_npz = {row_read, kn_npz_write};
