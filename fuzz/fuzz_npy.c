/* fuzz_npy.c — fuzzes the .npy reader: any bytes as a file; what reads back must write and read
 * again to the same shape and values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "kernest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_scratch_dir();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_bytes_as_file(data, size);
    kernest_array *a = NULL, *b = NULL;
    if (!path || kernest_npy_read(path, &a))
        return 0;
    if (a->size <= 4096) {
        if (kernest_npy_write("rt.npy", a, KERNEST_DOUBLE) || kernest_npy_read("rt.npy", &b))
            abort(); /* what was read must write and read again */
        if (b->ndim != a->ndim || memcmp(b->shape, a->shape, sizeof a->shape) || b->size != a->size)
            abort();
        for (size_t i = 0; i < a->size; i++)
            if (!(b->data[i] == a->data[i] || (isnan(a->data[i]) && isnan(b->data[i]))))
                abort();
    }
    kernest_array_destroy(&a);
    kernest_array_destroy(&b);
    return 0;
}
