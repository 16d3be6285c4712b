/* cmd_estimate.c — `kernest estimate`: read the pairs, solve for K, write K.npy and the report. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_priors.h"

static const char usage[] =
    "usage: kernest estimate A.npy B.npy [A2.npy B2.npy ...] -o K.npy [options]\n"
    "\n"
    "Estimate the kernel K shared by every pair, B = crop_mode(A (*) K) + noise, minimising\n"
    "  1/2 sum_i ||crop(A_i (*) K) - B_i||^2 + lambda R(K) + l1 ||K||_1  subject to the constraints,\n"
    "by CGLS, or by FISTA (accelerated proximal gradient) when l1 or a constraint other than\n"
    "--support/--fix is given (those two alone are solved exactly by CGLS over the free pixels).\n"
    "NaN in B marks a missing pixel (left out of the fit). A must be finite.\n"
    "\n"
    "options:\n"
    "  -o, --output K.npy       where to write the kernel (required)\n"
    "      --ksize HxW          kernel shape (default: same -> (2Ha-1)x(2Wa-1);\n"
    "                           full/valid -> what makes A and B fit)\n"
    "      --mode M             same | full | valid, as scipy.signal.convolve2d (default same)\n"
    "      --reg LIST           NAME[:LAMBDA],... with at most one of none | ridge (1/2||K||^2) |\n"
    "                           grad (1/2||grad K||^2), plus l1:L1 (sparsity), e.g. grad:1e2,l1:1e-3\n"
    "                           (default none)\n"
    "      --lambda X           weight of ridge or grad when --reg gives none (default 0)\n"
    "      --model M            pixel | radial (default pixel). radial: K = Phi(f), a profile f(r) on\n"
    "                           knots 1 px apart, r = distance from the centre, linear interpolation;\n"
    "                           grad then smooths f along r, ridge is 1/2||f||^2, constraints act on f\n"
    "      --profile FILE.npy   with --model radial, also write the profile f (f[j] at r = j px)\n"
    "constraints:\n"
    "      --nonneg             K >= 0\n"
    "      --bounds LO,HI       LO <= K <= HI (inf, -inf allowed)\n"
    "      --sum S              sum of K = S (exact projection, with the bounds and fixed pixels)\n"
    "      --support SPEC       disk:R | box:HxW | MASK.npy (kh x kw, non-zero = free): pixels outside\n"
    "                           are 0; disk and box are centred on the kernel centre\n"
    "      --fix ROW,COL=VALUE  hold one pixel at VALUE; ROW,COL are offsets from the kernel centre\n"
    "                           ((Kh-1)/2, (Kw-1)/2), e.g. 0,0=0 for a kernel whose centre is 0;\n"
    "                           repeatable. radial: only pixels at a whole-number distance\n"
    "      --solver S           auto | cgls | fista (default auto)\n"
    "solve:\n"
    "      --tol T              cgls: stop when ||H'r - lambda L'L K|| / initial <= T; fista: when\n"
    "                           ||K_t - K_t-1|| / ||K_t-1|| <= T (default 1e-6)\n"
    "      --maxiter N          iteration cap (default 500)\n"
    "      --threads N          CPU threads (default: all cores)\n"
    "      --precision P        double | single (default: double on CPU, single on GPU)\n"
    "      --device D           auto | cpu | cuda | cuda:N (default auto: a CUDA GPU if usable)\n"
    "      --report FILE.json   write a report: options, solver, iterations, stop reason, misfit\n"
    "                           per pair, device, times (and the radial profile)\n"
    "  -q, --quiet              print nothing on success\n"
    "  -h, --help               this help\n";

int cmd_estimate(int argc, char **argv)
{
    kernest_options opt;
    kernest_options_default(&opt);
    const char *output = NULL, *report_path = NULL, *profile_path = NULL;
    int quiet = 0, reg_given = 0, lambda_given = 0, lambda_in_reg = 0, rc;
    kernest_array *mask = NULL, **A = NULL, **B = NULL, *K = NULL;
    kernest_report *rep = NULL;
    size_t np = 0;
    kernest_fixed_pixel *fixed = NULL;
    size_t nfixed = 0;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"ksize", required_argument, 0, 'k'},
        {"mode", required_argument, 0, 'm'},   {"reg", required_argument, 0, 'r'},
        {"lambda", required_argument, 0, 'l'}, {"tol", required_argument, 0, 't'},
        {"maxiter", required_argument, 0, 'i'}, {"threads", required_argument, 0, 'j'},
        {"precision", required_argument, 0, 'p'}, {"device", required_argument, 0, 'd'},
        {"report", required_argument, 0, 'R'}, {"quiet", no_argument, 0, 'q'},
        {"model", required_argument, 0, 'M'},  {"profile", required_argument, 0, 'P'},
        {"nonneg", no_argument, 0, 'N'},       {"bounds", required_argument, 0, 'b'},
        {"sum", required_argument, 0, 's'},    {"support", required_argument, 0, 'S'},
        {"fix", required_argument, 0, 'f'},    {"solver", required_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    long v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
        rc = CLI_USAGE;
        switch (c) {
        case 'o': output = optarg; break;
        case 'k': if (cli_parse_ksize(optarg, &opt.kh, &opt.kw)) goto done; break;
        case 'm': if (cli_parse_mode(optarg, &opt.mode)) goto done; break;
        case 'r':
            if (cli_parse_reg_list(optarg, &opt, &lambda_in_reg)) goto done;
            reg_given = 1;
            break;
        case 'l':
            if (cli_parse_double("--lambda", optarg, &opt.lambda)) goto done;
            if (opt.lambda < 0) { cli_usage_error("--lambda: must be >= 0, got %s", optarg); goto done; }
            lambda_given = 1;
            break;
        case 't':
            if (cli_parse_double("--tol", optarg, &opt.tol)) goto done;
            if (opt.tol < 0) { cli_usage_error("--tol: must be >= 0, got %s", optarg); goto done; }
            break;
        case 'i': if (cli_parse_int("--maxiter", optarg, 0, 100000000, &v)) goto done; opt.maxiter = (int)v; break;
        case 'j': if (cli_parse_int("--threads", optarg, 1, 4096, &v)) goto done; opt.threads = (int)v; break;
        case 'p': if (cli_parse_precision(optarg, &opt.precision)) goto done; break;
        case 'd': if (cli_parse_device(optarg, &opt.device, &opt.device_index)) goto done; break;
        case 'R': report_path = optarg; break;
        case 'M': {
            int m = kernest_model_parse(optarg);
            if (m < 0) { cli_usage_error("--model: '%s' is not pixel or radial", optarg); goto done; }
            opt.model = (kernest_model)m;
            break;
        }
        case 'v': {
            int v2 = kernest_solver_parse(optarg);
            if (v2 < 0) { cli_usage_error("--solver: '%s' is not auto, cgls or fista", optarg); goto done; }
            opt.solver = (kernest_solver)v2;
            break;
        }
        case 'P': profile_path = optarg; break;
        case 'N': opt.nonneg = 1; break;
        case 'b': if (cli_parse_bounds(optarg, &opt)) goto done; break;
        case 's':
            if (cli_parse_double("--sum", optarg, &opt.sum)) goto done;
            opt.has_sum = 1;
            break;
        case 'S': if (cli_parse_support(optarg, &opt, &mask)) goto done; break;
        case 'f': if (cli_parse_fix(optarg, &fixed, &nfixed)) goto done; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); rc = CLI_OK; goto done;
        case ':': cli_usage_error("estimate: option %s needs a value", argv[optind - 1]); goto done;
        default: cli_usage_error("estimate: unknown option '%s' (see kernest estimate --help)", argv[optind - 1]); goto done;
        }
    }
    rc = CLI_USAGE;
    int npos = argc - optind;
    if (npos < 2 || npos % 2) {
        cli_usage_error("estimate: expected pairs of input files A.npy B.npy, got %d file%s", npos,
                        npos == 1 ? "" : "s");
        goto done;
    }
    if (!output) {
        cli_usage_error("estimate: -o K.npy is required");
        goto done;
    }
    if (lambda_in_reg && lambda_given) {
        cli_usage_error("--lambda: the weight is already given in --reg");
        goto done;
    }
    if ((lambda_given || lambda_in_reg) && opt.lambda > 0 && (!reg_given || opt.reg == KERNEST_REG_NONE)) {
        cli_usage_error("--lambda: needs --reg ridge or --reg grad");
        goto done;
    }
    if (profile_path && opt.model != KERNEST_MODEL_RADIAL) {
        cli_usage_error("--profile: needs --model radial");
        goto done;
    }
    opt.fixed = fixed;
    opt.nfixed = nfixed;
    if ((rc = cli_check_output("-o", output)) || (report_path && (rc = cli_check_output("--report", report_path))) ||
        (profile_path && (rc = cli_check_output("--profile", profile_path))))
        goto done;

    np = (size_t)npos / 2;
    A = calloc(np, sizeof *A);
    B = calloc(np, sizeof *B);
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
    if (cli_stop_before_work)
        goto done;
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
    if (profile_path && (rc = cli_write_profile(profile_path, rep))) {
        unlink(output);
        if (report_path)
            unlink(report_path);
        goto done;
    }
    if (!quiet) {
        double sse = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < rep->npairs; i++) {
            sse += rep->misfit[i].sse;
            cnt += rep->misfit[i].count;
        }
        const int fista = !strcmp(rep->solver, "fista");
        printf("kernest: wrote %s (%zux%zu kernel%s) — %s %s after %d iterations "
               "(relative %s %.3g), rms misfit %.6g, %.2f s on %s\n",
               output, rep->kh, rep->kw, rep->profile ? ", radial" : "", rep->solver,
               kernest_stop_reason_name(rep->reason), rep->iterations, fista ? "change" : "residual",
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
    kernest_array_destroy(&mask);
    free(fixed);
    kernest_report_destroy(&rep);
    return rc;
}
