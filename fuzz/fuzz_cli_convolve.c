/* fuzz_cli_convolve.c — fuzzes the options of `kernest convolve`: the input is split into argv strings
 * at NUL and newline; small inputs a.npy b.npy k.npy m.npy r.npy exist; no work is done. */
#include "cli/cli.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_cli_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_cli_run(cmd_convolve, "convolve", data, size);
    return 0;
}
