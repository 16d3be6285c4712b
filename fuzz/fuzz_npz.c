/* fuzz_npz.c — fuzzes the .npz reader (libzip, then the .npy reader on the member): any bytes as
 * an archive, read once for its only array and once for the member named "b". */
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
    static const char *const members[] = {NULL, "b"};
    const char *path = fuzz_bytes_as_file(data, size);
    for (size_t i = 0; path && i < 2; i++) {
        kernest_array *a = NULL;
        if (kn_npz_read(path, path, members[i], &a))
            continue;
        fuzz_check_array(a);
        kernest_array_destroy(&a);
    }
    return 0;
}
