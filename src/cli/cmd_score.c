/* cmd_score.c — `kernest score`: held-out prediction error and kernel error of an estimate. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "base/array.h"

static const char usage[] =
    "usage: kernest score A_test.npy B_test.npy K.npy [--mode M] [--sigma S] [--truth K_true.npy]\n"
    "                     [--layout auto|chw|nchw] [--correlate] [--bias BIAS.npy | --background]\n"
    "                     [--padding same|valid|N|PHxPW [--padding-mode M]]\n"
    "                     [--stride S|SHxSW] [--dilation D|DHxDW] [--groups G]\n"
    "\n"
    "Score an estimate K on a fresh pair that was not used to fit it (kernest synth writes one):\n"
    "  rmse              RMS(B_test - crop_mode(A_test (*) K)) over non-NaN pixels\n"
    "  rmse_over_sigma   rmse / S: the physical limit is 1.0 (default S = 1)\n"
    "With --truth, also the relative kernel error ||K - K_true|| / ||K_true|| over the whole\n"
    "kernel and over its central half (the middle ceil(Kh/2) x ceil(Kw/2) window).\n"
    "Prints one 'name value' line per number. Several channels (a 4-D K, 3-D/4-D A and B, see\n"
    "kernest estimate --help): the numbers cover every output channel and every kernel; the\n"
    "central half is taken in each kernel.\n"
    "  --bias BIAS.npy   add the fitted bias (one value per output channel: estimate --bias-out)\n"
    "                    to the prediction, as a layer does\n"
    "  --background      fit one offset per sample and output channel of the test pair (its mean\n"
    "                    residual) before scoring, as estimate --background fits them\n"
    "  --padding, --padding-mode   the layer's padding, as estimate takes it (A padded, then the\n"
    "                    valid window; --mode is then not used)\n"
    "  --stride, --dilation, --groups   the layer's geometry, as estimate takes it\n";

/* ‖a − b‖ / ‖b‖ over the window of rh×rw starting at (r0, c0) of every kernel plane */
static double rel_error(const kernest_array *a, const kernest_array *b, size_t r0, size_t c0,
                        size_t rh, size_t rw)
{
    double num = 0, den = 0;
    const size_t h = b->shape[b->ndim - 2], w = b->shape[b->ndim - 1], np = b->size / (h * w);
    for (size_t q = 0; q < np; q++) {
        const double *pa = a->data + q * h * w, *pb = b->data + q * h * w;
        for (size_t y = r0; y < r0 + rh; y++)
            for (size_t x = c0; x < c0 + rw; x++) {
                double d = pa[y * w + x] - pb[y * w + x];
                num += d * d;
                den += pb[y * w + x] * pb[y * w + x];
            }
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static int same_shape(const kernest_array *a, const kernest_array *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

int cmd_score(int argc, char **argv)
{
    kernest_mode mode = KERNEST_MODE_SAME;
    double sigma = 1.0;
    const char *truth = NULL;
    kernest_layout layout = KERNEST_LAYOUT_AUTO;
    int correlate = 0, background = 0, pad_h = 0, pad_w = 0;
    const char *bias_path = NULL, *padding = NULL, *padding_mode = NULL;
    kernest_padding_mode pmode = KERNEST_PAD_ZEROS;
    kernest_geometry geom = {1, 1, 1, 1, 1};
    static const struct option longopts[] = {{"mode", required_argument, 0, 'm'},
                                             {"bias", required_argument, 0, 'b'},
                                             {"background", no_argument, 0, 'g'},
                                             {"padding", required_argument, 0, 'P'},
                                             {"padding-mode", required_argument, 0, 'M'},
                                             {"layout", required_argument, 0, 'L'},
                                             {"correlate", no_argument, 0, 'C'},
                                             {"sigma", required_argument, 0, 's'},
                                             CLI_GEOMETRY_LONGOPTS,
                                             {"truth", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': if (cli_parse_mode(optarg, &mode)) return CLI_USAGE; break;
        case 's':
            if (cli_parse_double("--sigma", optarg, &sigma)) return CLI_USAGE;
            if (!(sigma > 0)) return cli_usage_error("--sigma: must be > 0, got %s", optarg);
            break;
        case 't': truth = optarg; break;
        case 'L': if (cli_parse_layout(optarg, &layout)) return CLI_USAGE; break;
        case 'C': correlate = 1; break;
        case 'b': bias_path = optarg; break;
        case 'g': background = 1; break;
        case 'P': padding = optarg; break;
        case 'M': padding_mode = optarg; break;
        case CLI_OPT_STRIDE: case CLI_OPT_DILATION: case CLI_OPT_GROUPS:
            if (cli_parse_geometry(c, optarg, &geom)) return CLI_USAGE;
            break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("score: option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error("score: unknown option '%s' (see kernest score --help)", argv[optind - 1]);
        }
    }
    if (bias_path && background)
        return cli_usage_error("--bias: not with --background (the background's offsets hold a bias)");
    if (padding_mode && !padding)
        return cli_usage_error("--padding-mode: needs --padding");
    if (cli_parse_padding(padding, padding_mode, &pad_h, &pad_w, &pmode))
        return CLI_USAGE;
    if (argc - optind != 3)
        return cli_usage_error("score: expected A_test.npy B_test.npy K.npy, got %d file%s",
                               argc - optind, argc - optind == 1 ? "" : "s");
    const char *an = argv[optind], *bn = argv[optind + 1], *kn = argv[optind + 2];
    kernest_array *A = NULL, *B = NULL, *K = NULL, *P = NULL, *T = NULL, *bias = NULL;
    int rc;
    char s1[96], s2[96];
    if ((rc = cli_read_channels(an, &A)) || (rc = cli_read_channels(bn, &B)) ||
        (rc = cli_read_channels(kn, &K)) || (truth && (rc = cli_read_channels(truth, &T))))
        goto done;
    if (bias_path) {
        const int st = kernest_array_read(bias_path, NULL, &bias);
        if (st) {
            rc = cli_fail(st);
            goto done;
        }
    }
    if (padding && (rc = cli_pad_input(&A, K, pad_h, pad_w, pmode, &geom, &mode))) /* a layer's padding */
        goto done;
    const int plain = A->ndim == 2 && B->ndim == 2 && K->ndim == 2 && !correlate && layout == KERNEST_LAYOUT_AUTO;
    int st = kernest_convolve_layer(A, K, mode, layout, correlate, &geom, an, kn, &P);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    if (P->size != B->size || (plain && !same_shape(P, B)) || P->shape[P->ndim - 1] != B->shape[B->ndim - 1] ||
        P->shape[P->ndim - 2] != B->shape[B->ndim - 2]) {
        rc = cli_usage_error("%s: B is %s but mode %s of A (%s) and K (%s) gives %s", bn,
                             kn_shape_str(B, s1, sizeof s1), kernest_mode_name(mode), an, kn,
                             kn_shape_str(P, s2, sizeof s2));
        goto done;
    }
    if (T && !same_shape(T, K)) {
        rc = cli_usage_error("--truth: %s is %s but %s is %s", truth, kn_shape_str(T, s1, sizeof s1), kn,
                             kn_shape_str(K, s2, sizeof s2));
        goto done;
    }
    /* the prediction's planes: C_out of them per sample (one for 2-D pairs) */
    const size_t plane = P->shape[P->ndim - 2] * P->shape[P->ndim - 1], nplanes = P->size / plane;
    const size_t cout = K->ndim == 4 ? K->shape[0] : 1;
    if (bias) {
        if (bias->size != cout) {
            rc = cli_usage_error("--bias: %s holds %zu values but K has %zu output channel%s", bias_path, bias->size,
                                 cout, cout == 1 ? "" : "s");
            goto done;
        }
        for (size_t q = 0; q < nplanes; q++)
            for (size_t j = 0; j < plane; j++)
                P->data[q * plane + j] += bias->data[q % cout];
    }
    for (size_t q = 0; background && q < nplanes; q++) { /* each plane's mean residual removed */
        double s = 0;
        size_t n = 0;
        for (size_t j = q * plane; j < (q + 1) * plane; j++)
            if (!isnan(B->data[j]))
                s += B->data[j] - P->data[j], n++;
        for (size_t j = q * plane; n && j < (q + 1) * plane; j++)
            P->data[j] += s / (double)n;
    }
    double sse = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < B->size; i++)
        if (!isnan(B->data[i])) {
            double d = B->data[i] - P->data[i];
            sse += d * d;
            cnt++;
        }
    double rmse = cnt ? sqrt(sse / (double)cnt) : 0.0;
    printf("rmse %.6g\nrmse_over_sigma %.6g\n", rmse, rmse / sigma);
    if (T) {
        size_t kh = K->shape[K->ndim - 2], kw = K->shape[K->ndim - 1], ch = (kh + 1) / 2, cw = (kw + 1) / 2;
        printf("kernel_rel_error %.6g\n", rel_error(K, T, 0, 0, kh, kw));
        printf("kernel_rel_error_central %.6g\n", rel_error(K, T, (kh - ch) / 2, (kw - cw) / 2, ch, cw));
    }
done:
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_array_destroy(&P);
    kernest_array_destroy(&T);
    kernest_array_destroy(&bias);
    return rc;
}
