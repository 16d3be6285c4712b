/* fuzz_cli_values.c — fuzzes the option value parsers of the CLI (numbers, HxW, lists, --reg,
 * --bounds, --support disk/box, --fix, --device) and the --kernel specs of synth. The first
 * byte picks the parser, the rest is the value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_priors.h"
#include "fuzz_util.h"
#include "base/synth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_scratch_dir();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    kernest_options opt;
    kernest_options_default(&opt);
    double d;
    long l;
    size_t h, w;
    int given;
    kernest_mode mode;
    kernest_precision prec;
    kernest_device_kind dev;
    kernest_array *mask = NULL, *k = NULL;
    kernest_fixed_pixel *fixed = NULL;
    size_t nfixed = 0;
    switch (data[0] % 11) {
    case 0: cli_parse_double("--x", s, &d); break;
    case 1: cli_parse_int("--x", s, -1000, 1000000, &l); break;
    case 2:
        if (!cli_parse_ksize(s, &h, &w) && (!h || !w || h > (1u << 31) || w > (1u << 31)))
            abort(); /* accepted sizes are in range */
        break;
    case 3: cli_parse_mode(s, &mode); break;
    case 4: cli_parse_precision(s, &prec); break;
    case 5: cli_parse_device(s, &dev, &given); break;
    case 6: cli_parse_reg_list(s, &opt, &given); break;
    case 7: cli_parse_bounds(s, &opt); break;
    case 8:
        /* a mask file name would read a file: only the disk:/box: forms are fuzzed here */
        if (!strncmp(s, "disk:", 5) || !strncmp(s, "box:", 4))
            cli_parse_support(s, &opt, &mask);
        break;
    case 9:
        cli_parse_fix(s, &fixed, &nfixed);
        cli_parse_fix(s, &fixed, &nfixed);
        break;
    case 10:
        if (!kernest_array_create2(9, 8, &k) && !kn_synth_kernel(s, k)) {
            /* a kernel that was made is finite, and a line kernel sums to 1 */
            double sum = 0.0;
            for (size_t i = 0; i < k->size; i++) {
                if (!isfinite(k->data[i]))
                    abort();
                sum += k->data[i];
            }
            if (!strncmp(s, "line:", 5) && !(fabs(sum - 1.0) < 1e-9))
                abort();
        }
        break;
    }
    kernest_array_destroy(&mask);
    kernest_array_destroy(&k);
    free(fixed);
    free(s);
    return 0;
}
