/* fftw_wisdom.c — FFTW set-up shared by both precisions: threads, planner flags, wisdom cache. */
#define _GNU_SOURCE
#include <errno.h>
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "fftw_wisdom.h"

static int initialised[2];

const char *kn_fftw_wisdom_dir(void)
{
    static char dir[4096];
    const char *e = getenv("KERNEST_WISDOM_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    if (e && *e)
        snprintf(dir, sizeof dir, "%s", e);
    else if (x && *x)
        snprintf(dir, sizeof dir, "%s/kernest", x);
    else if (h && *h)
        snprintf(dir, sizeof dir, "%s/.cache/kernest", h);
    else
        dir[0] = '\0';
    return dir;
}

static int wisdom_path(kernest_precision p, char *buf, size_t cap)
{
    const char *dir = kn_fftw_wisdom_dir();
    if (!*dir)
        return -1;
    int n = snprintf(buf, cap, "%s/fftw-wisdom-%s", dir, p == KERNEST_SINGLE ? "single" : "double");
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* mkdir -p, ignoring errors: a missing cache only costs planning time */
static void make_dirs(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *s = tmp + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(tmp, 0755);
            *s = '/';
        }
    mkdir(tmp, 0755);
}

void kn_fftw_init(kernest_precision p)
{
    int i = p == KERNEST_SINGLE;
    if (initialised[i])
        return;
    initialised[i] = 1;
    char path[4200];
    if (i) {
        fftwf_init_threads();
        fftwf_make_planner_thread_safe();
        if (!wisdom_path(p, path, sizeof path))
            fftwf_import_wisdom_from_filename(path);
    } else {
        fftw_init_threads();
        fftw_make_planner_thread_safe();
        if (!wisdom_path(p, path, sizeof path))
            fftw_import_wisdom_from_filename(path);
    }
}

unsigned kn_fftw_flags(void)
{
    const char *e = getenv("KERNEST_FFTW_PLANNER");
    if (e && !strcmp(e, "estimate"))
        return FFTW_ESTIMATE;
    if (e && !strcmp(e, "patient"))
        return FFTW_PATIENT;
    return FFTW_MEASURE;
}

void kn_fftw_save_wisdom(kernest_precision p)
{
    char path[4200];
    if (wisdom_path(p, path, sizeof path))
        return;
    char *w = p == KERNEST_SINGLE ? fftwf_export_wisdom_to_string() : fftw_export_wisdom_to_string();
    if (!w)
        return;
    make_dirs(kn_fftw_wisdom_dir());
    kn_atomic_file f;
    if (kn_atomic_open(&f, path) == 0) {
        if (fputs(w, f.fp) < 0)
            kn_atomic_abort(&f);
        else
            kn_atomic_commit(&f);
    }
    free(w);
}
