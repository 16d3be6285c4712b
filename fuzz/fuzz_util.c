/* fuzz_util.c — helpers shared by the fuzz harnesses: input bytes as a file, as argv strings. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "kernest.h"

const char *fuzz_bytes_as_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("kernest-fuzz", 0);
        if (fd < 0)
            return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return NULL;
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0)
            return NULL;
        done += (size_t)w;
    }
    return path;
}

static char scratch[4096];

/* Removes the files the harnesses make, then the folder if nothing else is in it (libFuzzer
 * writes crash-* files into the working folder when no -artifact_prefix is given: they stay). */
static void remove_scratch(void)
{
    static const char *const ours[] = {"a.npy", "b.npy", "k.npy", "m.npy", "r.npy", "rt.npy",
                                       "rt.csv", "rt.txt", "in.raw", "jobs.jsonl"};
    if (!scratch[0])
        return;
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", scratch, ours[i]);
        unlink(p);
    }
    if (chdir("/") == 0)
        rmdir(scratch);
}

const char *fuzz_scratch_dir(void)
{
    char *dir = scratch;
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof scratch, "%s/kernest-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir) || chdir(dir) != 0) {
            perror("fuzz_scratch_dir");
            abort();
        }
        atexit(remove_scratch);
    }
    return dir;
}

int fuzz_split_argv(const uint8_t *data, size_t size, const char *name, char **argv, int max,
                    char **buf)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    *buf = s;
    int argc = 0;
    argv[argc++] = (char *)name;
    char *p = s, *end = s + size;
    while (p <= end && argc < max - 1) {
        char *q = p;
        while (q < end && *q != '\0' && *q != '\n')
            q++;
        *q = '\0';
        argv[argc++] = p;
        p = q + 1;
    }
    argv[argc] = NULL;
    /* glibc's getopt keeps a pointer into the previous argv; optind = 0 makes it start over */
    optind = 0;
    static char *none[] = {"x", NULL};
    (void)getopt(1, none, "");
    optind = 1;
    return argc;
}

void fuzz_check_array(const kernest_array *a)
{
    if (!a || a->ndim < 1 || a->ndim > KERNEST_MAX_NDIM || (a->size && !a->data))
        abort();
    size_t n = 1;
    for (int d = 0; d < a->ndim; d++)
        if (__builtin_mul_overflow(n, a->shape[d], &n))
            abort();
    if (n != a->size)
        abort();
    volatile double sink = 0;
    for (size_t i = 0; i < a->size; i++)
        sink += a->data[i];
    (void)sink;
}

void fuzz_write_npy(const char *name, size_t rows, size_t cols, const double *values)
{
    kernest_array *a = NULL;
    if (kernest_array_create2(rows, cols, &a))
        abort();
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = values ? values[i] : (double)((i * 7) % 5) - 1.0;
    if (kernest_npy_write(name, a, KERNEST_DOUBLE))
        abort();
    kernest_array_destroy(&a);
}

void fuzz_cli_setup(void)
{
    fuzz_scratch_dir();
    extern int cli_stop_before_work;
    cli_stop_before_work = 1;
    fuzz_write_npy("a.npy", 4, 4, NULL);
    fuzz_write_npy("b.npy", 4, 4, NULL);
    fuzz_write_npy("k.npy", 3, 3, NULL);
    fuzz_write_npy("m.npy", 7, 7, NULL);
    fuzz_write_npy("r.npy", 1, 5, NULL);
}

void fuzz_cli_run(int (*cmd)(int, char **), const char *name, const uint8_t *data, size_t size)
{
    char *argv[64], *buf;
    int argc = fuzz_split_argv(data, size, name, argv, 64, &buf);
    int rc = cmd(argc, argv);
    free(buf);
    if (rc < 0 || rc > 2)
        abort(); /* exit codes are 0, 1 or 2 */
}
