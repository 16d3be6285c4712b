/* fuzz_text.c — fuzzes the CSV/TSV/whitespace text reader: any bytes as a file, under the default
 * element cap, or a cap of 16 when the first byte is odd; what reads must write as .csv and .txt
 * and read back to the same shape and values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/io.h"
#include "kernest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_scratch_dir();
    return 0;
}

static void round_trip(const kernest_array *a, const char *name)
{
    kernest_array *b = NULL;
    if (kernest_array_write(name, a, KERNEST_DOUBLE) || kernest_array_read(name, NULL, &b))
        abort(); /* what was read must write and read again */
    if (b->ndim != 2 || memcmp(b->shape, a->shape, 2 * sizeof a->shape[0]) || b->size != a->size)
        abort();
    for (size_t i = 0; i < a->size; i++)
        if (!(b->data[i] == a->data[i] || (isnan(a->data[i]) && isnan(b->data[i]))))
            abort();
    kernest_array_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kernest_array *a = NULL;
    const char *path = fuzz_bytes_as_file(data, size);
    size_t cap = size && (data[0] & 1) ? 16 : KERNEST_TEXT_MAX_ELEMENTS;
    if (!path || kn_text_read(path, cap, &a))
        return 0;
    fuzz_check_array(a);
    if (a->ndim != 2 || a->size > cap)
        abort();
    if (a->size <= 1024) {
        round_trip(a, "rt.csv");
        round_trip(a, "rt.txt");
    }
    kernest_array_destroy(&a);
    return 0;
}
