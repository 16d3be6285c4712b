/* cmd_estimate.c — `kernest estimate`: read the pairs, solve for K, write K.npy and the report. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: kernest estimate A.npy B.npy [A2.npy B2.npy ...] -o K.npy [options]\n"
    "\n"
    "Estimate the kernel K shared by every pair, B = crop_mode(A (*) K) + noise, by CGLS on\n"
    "  1/2 sum_i ||crop(A_i (*) K) - B_i||^2 + lambda R(K).\n"
    "NaN in B marks a missing pixel (left out of the fit). A must be finite.\n"
    "\n"
    "options:\n"
    "  -o, --output K.npy       where to write the kernel (required)\n"
    "      --ksize HxW          kernel shape (default: same -> (2Ha-1)x(2Wa-1);\n"
    "                           full/valid -> what makes A and B fit)\n"
    "      --mode M             same | full | valid, as scipy.signal.convolve2d (default same)\n"
    "      --reg R              none | ridge (1/2||K||^2) | grad (1/2||grad K||^2) (default none)\n"
    "      --lambda X           regularisation weight >= 0 (default 0)\n"
    "      --tol T              stop when ||H'r - lambda L'L K|| / initial <= T (default 1e-6)\n"
    "      --maxiter N          iteration cap (default 500)\n"
    "      --threads N          CPU threads (default: all cores)\n"
    "      --precision P        double | single (default: double on CPU, single on GPU)\n"
    "      --device D           auto | cpu | cuda | cuda:N (default auto: a CUDA GPU if usable)\n"
    "      --report FILE.json   write a report: options, iterations, stop reason, misfit per\n"
    "                           pair, device, times\n"
    "  -q, --quiet              print nothing on success\n"
    "  -h, --help               this help\n";

int cmd_estimate(int argc, char **argv)
{
    kernest_options opt;
    kernest_options_default(&opt);
    const char *output = NULL, *report_path = NULL;
    int quiet = 0, reg_given = 0, lambda_given = 0;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"ksize", required_argument, 0, 'k'},
        {"mode", required_argument, 0, 'm'},   {"reg", required_argument, 0, 'r'},
        {"lambda", required_argument, 0, 'l'}, {"tol", required_argument, 0, 't'},
        {"maxiter", required_argument, 0, 'i'}, {"threads", required_argument, 0, 'j'},
        {"precision", required_argument, 0, 'p'}, {"device", required_argument, 0, 'd'},
        {"report", required_argument, 0, 'R'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    long v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'k': if (cli_parse_ksize(optarg, &opt.kh, &opt.kw)) return CLI_USAGE; break;
        case 'm': if (cli_parse_mode(optarg, &opt.mode)) return CLI_USAGE; break;
        case 'r': {
            int r = kernest_reg_parse(optarg);
            if (r < 0)
                return cli_usage_error("--reg: '%s' is not one of none, ridge, grad", optarg);
            opt.reg = (kernest_reg)r;
            reg_given = 1;
            break;
        }
        case 'l':
            if (cli_parse_double("--lambda", optarg, &opt.lambda)) return CLI_USAGE;
            if (opt.lambda < 0) return cli_usage_error("--lambda: must be >= 0, got %s", optarg);
            lambda_given = 1;
            break;
        case 't':
            if (cli_parse_double("--tol", optarg, &opt.tol)) return CLI_USAGE;
            if (opt.tol < 0) return cli_usage_error("--tol: must be >= 0, got %s", optarg);
            break;
        case 'i': if (cli_parse_int("--maxiter", optarg, 0, 100000000, &v)) return CLI_USAGE; opt.maxiter = (int)v; break;
        case 'j': if (cli_parse_int("--threads", optarg, 1, 4096, &v)) return CLI_USAGE; opt.threads = (int)v; break;
        case 'p': if (cli_parse_precision(optarg, &opt.precision)) return CLI_USAGE; break;
        case 'd': if (cli_parse_device(optarg, &opt.device, &opt.device_index)) return CLI_USAGE; break;
        case 'R': report_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("estimate: option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error("estimate: unknown option '%s' (see kernest estimate --help)", argv[optind - 1]);
        }
    }
    int npos = argc - optind;
    if (npos < 2 || npos % 2)
        return cli_usage_error("estimate: expected pairs of input files A.npy B.npy, got %d file%s",
                               npos, npos == 1 ? "" : "s");
    if (!output)
        return cli_usage_error("estimate: -o K.npy is required");
    if (lambda_given && opt.lambda > 0 && (!reg_given || opt.reg == KERNEST_REG_NONE))
        return cli_usage_error("--lambda: needs --reg ridge or --reg grad");
    int rc;
    if ((rc = cli_check_output("-o", output)) || (report_path && (rc = cli_check_output("--report", report_path))))
        return rc;

    size_t np = (size_t)npos / 2;
    kernest_array **A = calloc(np, sizeof *A), **B = calloc(np, sizeof *B);
    kernest_array *K = NULL;
    kernest_report *rep = NULL;
    const char **names = (const char **)(argv + optind);
    rc = CLI_OK;
    if (!A || !B) {
        rc = cli_usage_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < np && !rc; i++) {
        rc = cli_read_2d(names[2 * i], &A[i]);
        if (!rc)
            rc = cli_read_2d(names[2 * i + 1], &B[i]);
    }
    if (rc)
        goto done;
    opt.input_names = names;
    int st = kernest_estimate((const kernest_array *const *)A, (const kernest_array *const *)B, np,
                              &opt, &K, &rep);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    if ((st = kernest_npy_write(output, K, rep->precision))) {
        rc = cli_fail(st);
        goto done;
    }
    if (report_path && (st = kernest_report_write_json(report_path, rep, &opt, names))) {
        unlink(output); /* all or nothing */
        rc = cli_fail(st);
        goto done;
    }
    if (!quiet) {
        double sse = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < rep->npairs; i++) {
            sse += rep->misfit[i].sse;
            cnt += rep->misfit[i].count;
        }
        printf("kernest: wrote %s (%zux%zu kernel) — %s after %d iterations "
               "(relative residual %.3g), rms misfit %.6g, %.2f s on %s\n",
               output, rep->kh, rep->kw, kernest_stop_reason_name(rep->reason), rep->iterations,
               rep->residual_history[rep->iterations], cnt ? sqrt(sse / (double)cnt) : 0.0,
               rep->wall_seconds, rep->device);
    }
done:
    for (size_t i = 0; A && B && i < np; i++) {
        kernest_array_destroy(&A[i]);
        kernest_array_destroy(&B[i]);
    }
    free(A);
    free(B);
    kernest_array_destroy(&K);
    kernest_report_destroy(&rep);
    return rc;
}
