/* fuzz_tiff.c — fuzzes the TIFF reader (libtiff; strips, tiles, compression): any bytes as a
 * file; what reads is a 2-D image. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "io/io.h"
#include "kernest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_scratch_dir();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kernest_array *a = NULL;
    const char *path = fuzz_bytes_as_file(data, size);
    if (path && !kn_tiff_read(path, &a)) {
        fuzz_check_array(a);
        if (a->ndim != 2)
            abort();
        kernest_array_destroy(&a);
    }
    return 0;
}
