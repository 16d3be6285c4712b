/* cmd_convolve.c — `kernest convolve`: the forward model B = crop_mode(A ⊛ K) alone. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "problem.h"

static const char usage[] =
    "usage: kernest convolve A.npy K.npy -o B.npy [--mode same|full|valid] [--precision P]\n"
    "\n"
    "Write B = crop_mode(A (*) K), the exact linear convolution (kernel flipped, no wrap) with\n"
    "scipy.signal.convolve2d's modes: same keeps A's shape from ((Kh-1)//2, (Kw-1)//2) of the\n"
    "full result; valid keeps what does not touch the zero padding. Computed in double;\n"
    "--precision single writes f4.\n";

int cmd_convolve(int argc, char **argv)
{
    kernest_mode mode = KERNEST_MODE_SAME;
    kernest_precision prec = KERNEST_DOUBLE;
    const char *output = NULL;
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"mode", required_argument, 0, 'm'},
                                             {"precision", required_argument, 0, 'p'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'm': if (cli_parse_mode(optarg, &mode)) return CLI_USAGE; break;
        case 'p': if (cli_parse_precision(optarg, &prec)) return CLI_USAGE; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("convolve: option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error("convolve: unknown option '%s' (see kernest convolve --help)", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convolve: expected A.npy K.npy, got %d file%s", argc - optind,
                               argc - optind == 1 ? "" : "s");
    if (!output)
        return cli_usage_error("convolve: -o B.npy is required");
    int rc = cli_check_output("-o", output);
    if (rc)
        return rc;
    kernest_array *A = NULL, *K = NULL, *B = NULL;
    const char *an = argv[optind], *kn = argv[optind + 1];
    if (!(rc = cli_read_2d(an, &A)) && !(rc = cli_read_2d(kn, &K)) && !cli_stop_before_work) {
        int st = kn_convolve_named(A, K, mode, an, kn, &B);
        if (!st)
            st = kernest_npy_write(output, B, prec);
        if (st)
            rc = cli_fail(st);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    kernest_array_destroy(&B);
    return rc;
}
