/* cmd_score.c — `kernest score`: held-out prediction error and kernel error of an estimate. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "problem.h"

static const char usage[] =
    "usage: kernest score A_test.npy B_test.npy K.npy [--mode M] [--sigma S] [--truth K_true.npy]\n"
    "\n"
    "Score an estimate K on a fresh pair that was not used to fit it (kernest synth writes one):\n"
    "  rmse              RMS(B_test - crop_mode(A_test (*) K)) over non-NaN pixels\n"
    "  rmse_over_sigma   rmse / S: the physical limit is 1.0 (default S = 1)\n"
    "With --truth, also the relative kernel error ||K - K_true|| / ||K_true|| over the whole\n"
    "kernel and over its central half (the middle ceil(Kh/2) x ceil(Kw/2) window).\n"
    "Prints one 'name value' line per number.\n";

/* ‖a − b‖ / ‖b‖ over the window of rh×rw starting at (r0, c0) */
static double rel_error(const kernest_array *a, const kernest_array *b, size_t r0, size_t c0,
                        size_t rh, size_t rw)
{
    double num = 0, den = 0;
    size_t w = b->shape[1];
    for (size_t y = r0; y < r0 + rh; y++)
        for (size_t x = c0; x < c0 + rw; x++) {
            double d = a->data[y * w + x] - b->data[y * w + x];
            num += d * d;
            den += b->data[y * w + x] * b->data[y * w + x];
        }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

int cmd_score(int argc, char **argv)
{
    kernest_mode mode = KERNEST_MODE_SAME;
    double sigma = 1.0;
    const char *truth = NULL;
    static const struct option longopts[] = {{"mode", required_argument, 0, 'm'},
                                             {"sigma", required_argument, 0, 's'},
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
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("score: option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error("score: unknown option '%s' (see kernest score --help)", argv[optind - 1]);
        }
    }
    if (argc - optind != 3)
        return cli_usage_error("score: expected A_test.npy B_test.npy K.npy, got %d file%s",
                               argc - optind, argc - optind == 1 ? "" : "s");
    const char *an = argv[optind], *bn = argv[optind + 1], *kn = argv[optind + 2];
    kernest_array *A = NULL, *B = NULL, *K = NULL, *P = NULL, *T = NULL;
    int rc;
    if ((rc = cli_read_2d(an, &A)) || (rc = cli_read_2d(bn, &B)) || (rc = cli_read_2d(kn, &K)) ||
        (truth && (rc = cli_read_2d(truth, &T))))
        goto done;
    int st = kn_convolve_named(A, K, mode, an, kn, &P);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    if (P->shape[0] != B->shape[0] || P->shape[1] != B->shape[1]) {
        rc = cli_usage_error("%s: B is %zux%zu but mode %s of A (%s) and K (%s) gives %zux%zu", bn,
                             B->shape[0], B->shape[1], kernest_mode_name(mode), an, kn, P->shape[0],
                             P->shape[1]);
        goto done;
    }
    if (T && (T->shape[0] != K->shape[0] || T->shape[1] != K->shape[1])) {
        rc = cli_usage_error("--truth: %s is %zux%zu but %s is %zux%zu", truth, T->shape[0],
                             T->shape[1], kn, K->shape[0], K->shape[1]);
        goto done;
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
        size_t kh = K->shape[0], kw = K->shape[1], ch = (kh + 1) / 2, cw = (kw + 1) / 2;
        printf("kernel_rel_error %.6g\n", rel_error(K, T, 0, 0, kh, kw));
        printf("kernel_rel_error_central %.6g\n", rel_error(K, T, (kh - ch) / 2, (kw - cw) / 2, ch, cw));
    }
done:
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    kernest_array_destroy(&P);
    kernest_array_destroy(&T);
    return rc;
}
