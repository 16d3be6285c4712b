/* fuzz_raw.c — fuzzes the headerless raw reader with its shape and dtype taken from the input:
 * - first byte < 0x80: the first line is "SHAPE DTYPE" as given to kernest --shape/--dtype
 *   (parsed by cli_take_read_options), the rest is the file, read as in.raw by the CLI's reader;
 * - first byte >= 0x80: byte 1 picks the dtype (10 valid ones, none, or a bad one), byte 2 the
 *   number of dimensions (0 to KERNEST_MAX_NDIM + 1), then 2 bytes per dimension (0xfff0 and up:
 *   SIZE_MAX >> (v - 0xfff0), for the overflow checks); the rest is the file, read by
 *   kn_raw_read. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fuzz_util.h"
#include "io/io.h"
#include "kernest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_scratch_dir();
    return 0;
}

static void from_options(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 64 ? size : 64);
    if (!nl)
        return;
    char head[65];
    size_t hn = (size_t)(nl - data);
    memcpy(head, data, hn);
    head[hn] = '\0';
    char *sp = strchr(head, ' ');
    if (!sp)
        return;
    *sp = '\0';
    char *argv[] = {"x", "--shape", head, "--dtype", sp + 1, NULL};
    int argc = 5;
    if (cli_take_read_options(&argc, argv))
        return;
    const char *path = fuzz_bytes_as_file(nl + 1, size - hn - 1);
    unlink("in.raw");
    if (!path || symlink(path, "in.raw") != 0)
        abort();
    kernest_array *a = NULL;
    if (!cli_read_channels("in.raw", &a)) {
        fuzz_check_array(a);
        kernest_array_destroy(&a);
    }
}

static void from_bytes(const uint8_t *data, size_t size)
{
    static const char *const dtypes[] = {"f4", "f8", "i1", "i2", "i4", "i8",
                                         "u1", "u2", "u4", "u8", NULL, "f3"};
    if (size < 3)
        return;
    kernest_read_options ro;
    kernest_read_options_default(&ro);
    ro.raw_dtype = dtypes[data[1] % 12];
    ro.raw_ndim = data[2] % (KERNEST_MAX_NDIM + 2);
    size_t at = 3;
    for (int d = 0; d < ro.raw_ndim && d < KERNEST_MAX_NDIM; d++, at += 2) {
        if (at + 2 > size)
            return;
        unsigned v = data[at] | (unsigned)data[at + 1] << 8;
        ro.raw_shape[d] = v >= 0xfff0 ? SIZE_MAX >> (v - 0xfff0) : v;
    }
    const char *path = fuzz_bytes_as_file(data + at, size - at);
    kernest_array *a = NULL;
    if (path && !kn_raw_read(path, &ro, &a)) {
        fuzz_check_array(a);
        if (a->size * (size_t)(ro.raw_dtype[1] - '0') != size - at)
            abort(); /* the file is exactly the array */
        kernest_array_destroy(&a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] < 0x80)
        from_options(data, size);
    else if (size)
        from_bytes(data, size);
    return 0;
}
