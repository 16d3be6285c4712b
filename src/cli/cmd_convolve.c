/* cmd_convolve.c — `kernest convolve`: the forward model B = crop_mode(A ⊛ K) alone. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "base/array.h"

static const char usage[] =
    "usage: kernest convolve A.npy K.npy -o B.npy [--mode same|full|valid] [--precision P]\n"
    "                        [--layout auto|chw|nchw] [--correlate]\n"
    "                        [--padding same|valid|N|PHxPW [--padding-mode M]]\n"
    "                        [--stride S|SHxSW] [--dilation D|DHxDW] [--groups G]\n"
    "\n"
    "Write B = crop_mode(A (*) K), the exact linear convolution (kernel flipped, no wrap) with\n"
    "scipy.signal.convolve2d's modes: same keeps A's shape from ((Kh-1)//2, (Kw-1)//2) of the\n"
    "full result; valid keeps what does not touch the zero padding. Computed in double;\n"
    "--precision single writes f4.\n"
    "Several channels: K of C_out x C_in x Kh x Kw and A of C_in x H x W (B: C_out x Hb x Wb) or\n"
    "S x C_in x H x W (B: S x C_out x Hb x Wb) give B[s,o] = sum_i crop(A[s,i] (*) K[o,i]).\n"
    "--layout nchw reads a 3-D A as S x H x W (one channel; default: C x H x W).\n"
    "--correlate: K holds cross-correlation kernels (PyTorch/TensorFlow conv weights), so B is\n"
    "sum_i scipy.signal.correlate(A[s,i], K[o,i], mode) (the same as correlate2d except 'same' with\n"
    "an even kernel size, where correlate2d and PyTorch start one pixel later).\n"
    "A layer (see kernest estimate --help): --padding and --padding-mode pad A as a framework\n"
    "does and take the valid window; --stride, --dilation and --groups as PyTorch's Conv2d (K is\n"
    "C_out x C_in/G x Kh x Kw). With --correlate this is torch.nn.functional.conv2d.\n";

int cmd_convolve(int argc, char **argv)
{
    kernest_mode mode = KERNEST_MODE_SAME;
    kernest_precision prec = KERNEST_DOUBLE;
    kernest_layout layout = KERNEST_LAYOUT_AUTO;
    int correlate = 0, pad_h = 0, pad_w = 0, mode_given = 0;
    const char *output = NULL, *padding = NULL, *padding_mode = NULL;
    kernest_padding_mode pmode = KERNEST_PAD_ZEROS;
    kernest_geometry geom = {1, 1, 1, 1, 1};
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"mode", required_argument, 0, 'm'},
                                             {"precision", required_argument, 0, 'p'},
                                             {"layout", required_argument, 0, 'L'},
                                             {"correlate", no_argument, 0, 'C'},
                                             {"padding", required_argument, 0, 'P'},
                                             {"padding-mode", required_argument, 0, 'M'},
                                             CLI_GEOMETRY_LONGOPTS,
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'm': if (cli_parse_mode(optarg, &mode)) return CLI_USAGE; mode_given = 1; break;
        case 'p': if (cli_parse_precision(optarg, &prec)) return CLI_USAGE; break;
        case 'L': if (cli_parse_layout(optarg, &layout)) return CLI_USAGE; break;
        case 'C': correlate = 1; break;
        case 'P': padding = optarg; break;
        case 'M': padding_mode = optarg; break;
        case CLI_OPT_STRIDE: case CLI_OPT_DILATION: case CLI_OPT_GROUPS:
            if (cli_parse_geometry(c, optarg, &geom)) return CLI_USAGE;
            break;
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
    if (padding_mode && !padding)
        return cli_usage_error("--padding-mode: needs --padding");
    if (padding && mode_given)
        return cli_usage_error("--padding: not with --mode (the padded input's window is valid)");
    if (cli_parse_padding(padding, padding_mode, &pad_h, &pad_w, &pmode))
        return CLI_USAGE;
    int rc = cli_check_output("-o", output);
    if (!rc)
        rc = cli_check_format("-o", output);
    if (!rc) {
        const char *what[3] = {"input", "input", "-o"}, *path[3] = {argv[optind], argv[optind + 1], output};
        rc = cli_check_distinct(3, what, path, 2);
    }
    if (rc)
        return rc;
    kernest_array *A = NULL, *K = NULL, *B = NULL;
    const char *an = argv[optind], *kn = argv[optind + 1];
    if (!(rc = cli_read_channels(an, &A)) && !(rc = cli_read_channels(kn, &K)) &&
        !cli_stop_before_work &&
        !(padding && (rc = cli_pad_input(&A, K, pad_h, pad_w, pmode, &geom, &mode)))) { /* a layer's padding */
        int st = kernest_convolve_layer(A, K, mode, layout, correlate, &geom, an, kn, &B);
        if (!st)
            st = kernest_array_write(output, B, prec);
        if (st)
            rc = cli_fail(st);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    kernest_array_destroy(&B);
    return rc;
}
