/* replay_main.c — runs a fuzz harness over files and folders of inputs without libFuzzer, so the
 * committed corpus and regression inputs run as ordinary tests (ctest) in every build. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of a folder (sorted, not recursive), or the file itself. */
static int run_path(const char *path, size_t *count)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(sb.st_mode))
        return ++*count, run_file(path);
    struct dirent **list;
    int n = scandir(path, &list, NULL, NULL), rc = 0;
    if (n < 0) {
        perror(path);
        return 1;
    }
    qsort(list, (size_t)n, sizeof *list, cmp);
    for (int i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, list[i]->d_name);
        if (list[i]->d_name[0] != '.' && stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) {
            ++*count;
            rc |= run_file(full);
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
        return 2;
    }
    /* the harness may chdir into its scratch folder: make the paths absolute first */
    char **paths = calloc((size_t)argc, sizeof *paths);
    for (int i = 1; i < argc; i++)
        if (!paths || !(paths[i] = realpath(argv[i], NULL))) {
            perror(argv[i]);
            return 1;
        }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        rc |= run_path(paths[i], &count);
        free(paths[i]);
    }
    free(paths);
    fprintf(stderr, "%s: ran %zu input%s\n", argv[0], count, count == 1 ? "" : "s");
    return rc || !count;
}
