/* cmd_estimate.c — `kernest estimate`: read the pairs, solve for K, write K.npy and the report. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_priors.h"
#include "cmd_estimate.h"
#include "plot/plot.h"
#include "plot_estimate.h"
#include "progress.h"

static const char usage[] =
    "usage: kernest estimate A.npy B.npy [A2.npy B2.npy ...] -o K.npy [options]\n"
    "\n"
    "Estimate the kernel K shared by every pair, B = crop_mode(A (*) K) + noise, minimising\n"
    "  1/2 sum_i ||crop(A_i (*) K) - B_i||^2 + lambda R(K) + l1 ||K||_1 + tv TV(K)\n"
    "subject to the constraints, by CGLS, or by FISTA (accelerated proximal gradient) when l1, tv or\n"
    "a constraint other than --support/--fix is given (those two alone are solved exactly by CGLS\n"
    "over the free pixels).\n"
    "NaN in B marks a missing pixel (left out of the fit). A must be finite.\n"
    "Several channels: A of C_in x H x W or S x C_in x H x W, B of C_out x Hb x Wb or\n"
    "S x C_out x Hb x Wb give B[s,o] = sum_i crop(A[s,i] (*) K[o,i]); K is written as\n"
    "C_out x C_in x Kh x Kw (a framework's conv weight layout); the priors act on each kernel.\n"
    "With several channels: every model gives each kernel its own profile, coefficients or\n"
    "factors (--profile and the report: C_out x C_in of them); tv and --sum act on each kernel;\n"
    "--background fits one offset per sample and output channel; --uncertainty writes\n"
    "C_out x C_in maps like K; --plot draws the kernels as a mosaic.\n"
    "\n"
    "options:\n"
    "  -o, --output K.npy       where to write the kernel (required)\n"
    "      --ksize HxW          kernel shape (default: same -> (2Ha-1)x(2Wa-1);\n"
    "                           full/valid -> what makes A and B fit)\n"
    "      --mode M             same | full | valid, as scipy.signal.convolve2d (default same)\n"
    "      --layout L           auto | chw | nchw: how 3-D arrays are read (default auto = chw:\n"
    "                           C x H x W, one sample; nchw: S x H x W, one channel). 4-D arrays\n"
    "                           are S x C x H x W\n"
    "      --correlate          write (and take --support/--fix for) cross-correlation kernels, as\n"
    "                           deep-learning frameworks store conv weights: each kernel flipped in\n"
    "                           both axes. The --mode windows are those of the full result as\n"
    "                           above (= scipy.signal.correlate's); for even kernels 'same' starts\n"
    "                           one pixel earlier than PyTorch's padding='same' (and correlate2d)\n"
    "      --reg LIST           NAME[:LAMBDA],... with at most one of none | ridge (1/2||K||^2) |\n"
    "                           grad (1/2||grad K||^2), plus l1:L1 (sparsity) and tv:TV (isotropic\n"
    "                           total variation TV(K) = sum over pixels of sqrt(dxK^2 + dyK^2), forward\n"
    "                           differences inside the kernel: favours piecewise-constant kernels;\n"
    "                           pixel model only, any constraint), e.g. grad:1e2,l1:1e-3 or l1:1e-3,tv:1\n"
    "                           (default none; but see automatic choices). tv's prox is computed by an inner dual iteration (FGP)\n"
    "                           that includes l1 and the constraints exactly. Every prior runs on the\n"
    "                           CPU and on a CUDA GPU\n"
    "      --lambda X|auto      weight of ridge or grad when --reg gives none (default 0; auto: below)\n"
    "      --model M            pixel | radial | harmonic:M | lowrank:R | auto (default: auto when\n"
    "                           none of --model, --reg, --lambda is given, else pixel); see below\n"
    "      --profile FILE.npy   radial: write the profile f (f[j] at r = j px); harmonic: the\n"
    "                           (2M+1) x p profiles, rows f_0, f_1, g_1, ..., f_M, g_M; with\n"
    "                           channels C_out x C_in of them in front, like K\n"
    "      --background         also fit a constant offset per pair (B_i = crop(A_i (*) K) + beta_i);\n"
    "                           beta is neither regularised nor constrained; any model; in the report\n"
    "      --bias               a layer's bias: one offset per output channel, shared by every\n"
    "                           sample, fitted jointly and unregularised (not with --background)\n"
    "      --bias-out FILE.npy  write the bias (C_out values) there (needs --bias)\n"
    "      --padding P          a layer's padding instead of --mode: same | valid | N | PHxPW, as\n"
    "                           PyTorch's Conv2d (same: (k-1)//2 before, the rest after, even k\n"
    "                           too); A is padded, then the window is valid; needs --ksize\n"
    "      --padding-mode M     zeros (default) | reflect | replicate | circular\n"
    "      --stride S|SHxSW     a layer's stride: B holds every S-th row and column of the window\n"
    "                           (PyTorch's Conv2d: out = (H + 2P - D(k-1) - 1)//S + 1; with\n"
    "                           --padding same, JAX's/TensorFlow's SAME: out = ceil(H/S)); needs --ksize\n"
    "      --dilation D|DHxDW   a layer's dilation: the kernel's taps D pixels apart; needs --ksize\n"
    "      --groups G           a layer's groups: C_in and C_out split into G groups, output channel o\n"
    "                           sees the C_in/G inputs of its group; K is C_out x C_in/G x Kh x Kw\n"
    "                           (depthwise: G = C_in). The unknowns are exactly the layer's weights\n"
    "      --outer-maxiter N    lowrank: cap on ALS sweeps (default 30)\n"
    "      --outer-tol T        lowrank: stop when ||K_t - K_t-1|| / ||K_t-1|| <= T (default 1e-4)\n"
    "constraints:\n"
    "      --nonneg             K >= 0\n"
    "      --bounds LO,HI       LO <= K <= HI (inf, -inf allowed)\n"
    "      --sum S              sum of K = S (exact projection, with the bounds and fixed pixels)\n"
    "      --support SPEC       disk:R | box:HxW | MASK.npy (kh x kw, non-zero = free): pixels outside\n"
    "                           are 0; disk and box are centred on the kernel centre\n"
    "      --fix ROW,COL=VALUE  hold one pixel at VALUE; ROW,COL are offsets from the kernel centre\n"
    "                           ((Kh-1)/2, (Kw-1)/2), e.g. 0,0=0 for a kernel whose centre is 0;\n"
    "                           repeatable. radial: only pixels at a whole-number distance\n"
    "      --solver S           auto | cgls | fista | gpcg. auto (default): cgls without constraints,\n"
    "                           fista with them. gpcg: --nonneg/--bounds (with --support, --fix,\n"
    "                           l1 when the bounds are >= 0; not --sum, tv), solved to the\n"
    "                           minimiser (README, \"Priors\")\n"
    "      --precond P          auto | jacobi | mean | none: CGLS's preconditioner (from A and the\n"
    "                           prior; --tol is then measured in its norm). jacobi: a diagonal.\n"
    "                           mean (radial, one kernel, no --background; jacobi elsewhere):\n"
    "                           jacobi of A less its mean plus A's mean's share as a rank-64\n"
    "                           correction. auto (default): for radial mean from 2^19 kernel\n"
    "                           pixels (jacobi below), jacobi for lowrank, none for pixel and\n"
    "                           harmonic\n"
    "models (r = distance from the kernel centre ((Kh-1)/2, (Kw-1)/2); theta = atan2(row offset,\n"
    "column offset), rows down: it turns from the +column axis towards +row, as synth's ANGLE):\n"
    "  radial       K = f(r), f on knots 1 px apart, linear interpolation. grad: smoothness of f along\n"
    "               r; ridge: 1/2||f||^2. Takes --nonneg, --bounds (on f, hence on K), --fix at a\n"
    "               whole-number distance, l1, --support disk:R (f = 0 on knots r > R); refuses\n"
    "               --sum and box/mask supports\n"
    "  harmonic:M   K = f_0(r) + sum_{m=1..M} f_m(r) cos(m theta) + g_m(r) sin(m theta), every\n"
    "               profile on the radial knots (f_m(0) = g_m(0) = 0 for m >= 1). grad: smoothness\n"
    "               along r of every profile, + m^2 f_m(r)^2/r for the angular ones (the angular\n"
    "               part of |grad K|^2); ridge: 1/2||coefficients||^2. Takes --fix 0,0=V and\n"
    "               --support disk:R (every profile 0 on knots r > R); refuses --nonneg, --bounds,\n"
    "               --sum, box/mask supports, l1 (K >= 0 is not a bound on the coefficients)\n"
    "  lowrank:R    K = sum_{r<R} u_r v_r^T by alternating least squares: U with V held, V with U\n"
    "               held (each an ordinary solve), from the leading singular vectors of a short\n"
    "               pixel estimate, until --outer-tol or --outer-maxiter. grad: 1/2 lambda sum_r\n"
    "               (||D u_r||^2 + ||D v_r||^2); ridge: the same with ||u_r||^2 + ||v_r||^2.\n"
    "               --nonneg makes u_r, v_r >= 0 (so K >= 0); --support box:HxW only; refuses\n"
    "               --bounds, --sum, --fix, disk/mask supports, l1\n"
    "solve:\n"
    "      --tol T              cgls: stop when ||H'r - lambda L'L K|| / initial <= T; gpcg: when\n"
    "                           the projected gradient / initial <= T; both also need a flat\n"
    "                           objective; fista: when its gradient mapping / ||H'b|| and\n"
    "                           ||K_t - K_t-1|| / ||K_t-1|| are both <= T\n"
    "                           (default 1e-6)\n"
    "      --maxiter N          iteration cap (default 500)\n"
    "      --threads N          CPU threads (default: all cores)\n"
    "      --precision P        double | single (default: double on CPU, single on GPU)\n"
    "      --device D           auto | cpu | cuda | cuda:N (default auto: a CUDA GPU if usable)\n"
    "      --report FILE.json   write a report: options, solver, iterations, stop reason, misfit\n"
    "                           per pair, device, times (and the model's unknowns, offsets)\n"
    "automatic choices (README: Automatic choices and uncertainty):\n"
    "      (default)            with none of --model, --reg, --lambda: --model auto --lambda auto\n"
    "      --fast               skip the automatic choice: one solve, pixel model, no regulariser\n"
    "                           (CGLS stopped by --tol/--maxiter), the library's default\n"
    "      --lambda auto        choose lambda of --reg (grad when none) by --select; with\n"
    "                           --reg grad,l1:auto also the l1 weight, after lambda (cv only)\n"
    "      --model auto         compare pixel+grad, pixel+nonneg+grad, radial+grad,\n"
    "                           harmonic:2+grad, lowrank:2+grad (two starts) by cross-validation,\n"
    "                           each at its own chosen lambda (needs --select cv[:K])\n"
    "      --select RULE        cv[:K] (default cv:5, held-out pixels of B) | gcv | discrepancy |\n"
    "                           lcurve; at most 15 solves in all, reported (operator\n"
    "                           applications per candidate and phase). A of 190 px a side\n"
    "                           or more (2-D, same, default kernel, no support/fix): chosen\n"
    "                           on B's central 64x64 window, far field subtracted (not when\n"
    "                           its quick solve is capped and A is white; capped\n"
    "                           fits of close contenders finished; a choice from capped fits\n"
    "                           checked on four held windows of B), then one full solve from\n"
    "                           the window's estimate (a 16th solve)\n"
    "      --sigma S            noise standard deviation if known (discrepancy, uncertainty);\n"
    "                           default: estimated by the rule (cv: from the held-out error), else\n"
    "                           as ||r||^2/(m - trace of the influence matrix)\n"
    "      --probes P           Rademacher probes of the trace estimate (default 2, at most 8)\n"
    "      --uncertainty PREFIX write PREFIX_coverage.npy (sum of |A| over the measurements each\n"
    "                           kernel pixel enters) and PREFIX_std.npy (posterior std per pixel by\n"
    "                           randomize-then-optimize samples; needs ridge or grad, lambda > 0;\n"
    "                           lowrank: the posterior linearised at the estimate)\n"
    "      --samples S          samples for PREFIX_std.npy (default 16; relative error 1/sqrt(2(S-1)))\n"
    "      --seed S             folds, probes and samples (default 1)\n"
    "pictures (PNG; needs a build with cairo):\n"
    "      --plot DIR           write into DIR (created if missing) kernel.png (heat map, axes in\n"
    "                           pixel offsets from the centre), residual.png (B - crop(A (*) K) of\n"
    "                           the first pair), profile.png (mean of K over rings 1 px wide against\n"
    "                           r) and convergence.png (residual history)\n"
    "      --plot-scale S       colour scale of kernel.png: auto | linear | log | symlog (default\n"
    "                           auto: symlog when K has both signs, log when its positive values span\n"
    "                           more than two decades, else linear)\n"
    "      --truth K_true.npy   also draw the true kernel's radial profile in profile.png\n"
    "progress, logs and checkpoints:\n"
    "  -q, --quiet              no progress line, nothing printed on success (errors only)\n"
    "      --log FILE.jsonl     one JSON object per iteration: iter, residual, elapsed (s), solver\n"
    "                           (streamed to a temporary file, renamed into place at the end)\n"
    "      --checkpoint FILE    save the solver state to FILE (atomically) every --checkpoint-every\n"
    "                           seconds, at the last iteration and on SIGINT/SIGTERM (not with\n"
    "                           the automatic choice: give --model, --reg or --lambda, or --fast)\n"
    "      --checkpoint-every S seconds between checkpoints (default 60; 0 = every iteration)\n"
    "      --resume FILE        continue from a checkpoint of the same inputs and options (--tol and\n"
    "                           --maxiter may differ) to the result of an uninterrupted run\n"
    "  A progress line (iteration, residual, rate, time left) is drawn on stderr when it is a\n"
    "  terminal. SIGINT (Ctrl-C) or SIGTERM stops after the current iteration, writes -o, --report,\n"
    "  --log and the checkpoint, and exits 130 (SIGINT) or 143 (SIGTERM); a second Ctrl-C ends at once.\n"
    "  -h, --help               this help\n"
    "\n"
    "Under mpirun (a kernest built with MPI) the pairs are spread over the ranks and rank 0 writes\n"
    "the outputs; not yet with channels, the automatic choice, --uncertainty, --checkpoint/--resume,\n"
    "--background or --model lowrank. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or input,\n"
    "130/143 stopped by SIGINT/SIGTERM. Environment: KERNEST_FFTW_PLANNER, KERNEST_WISDOM_DIR\n"
    "(man kernest).\n";

int cli_estimate_parse(int argc, char **argv, cli_estimate *job)
{
    kernest_options opt;
    kernest_options_default(&opt);
    const char *output = NULL, *report_path = NULL, *profile_path = NULL;
    const char *plot_dir = NULL, *truth_path = NULL, *plot_scale_arg = NULL;
    int quiet = 0, reg_given = 0, lambda_given = 0, lambda_in_reg = 0, rc;
    int plot_scale = KN_PLOT_AUTO;
    int model_given = 0, fast = 0, samples = 16, lambda_value_given = 0, mode_given = 0;
    const char *support_file = NULL;
    const char *unc_prefix = NULL;
    char *cov_path = NULL, *std_path = NULL;
    kernest_array *mask = NULL;
    kernest_fixed_pixel *fixed = NULL;
    size_t nfixed = 0;
    int npos = 0;
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
        {"plot", required_argument, 0, 'G'},   {"plot-scale", required_argument, 0, 'g'},
        {"truth", required_argument, 0, 'T'},
        {"log", required_argument, 0, 1001},   {"checkpoint", required_argument, 0, 1002},
        {"checkpoint-every", required_argument, 0, 1003}, {"resume", required_argument, 0, 1004},
        {"layout", required_argument, 0, 'L'}, {"correlate", no_argument, 0, 'C'},
        {"select", required_argument, 0, 2001}, {"sigma", required_argument, 0, 2002},
        {"probes", required_argument, 0, 2003}, {"uncertainty", required_argument, 0, 2004},
        {"samples", required_argument, 0, 2005}, {"seed", required_argument, 0, 2006},
        {"fast", no_argument, 0, 2007},
        {"background", no_argument, 0, 3001}, {"outer-maxiter", required_argument, 0, 3002},
        {"outer-tol", required_argument, 0, 3003},
        {"bias", no_argument, 0, 3004}, {"bias-out", required_argument, 0, 3005},
        {"padding", required_argument, 0, 3006}, {"padding-mode", required_argument, 0, 3007},
        {"precond", required_argument, 0, 3008},
        CLI_GEOMETRY_LONGOPTS,
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *log_path = NULL, *bias_out = NULL, *padding = NULL, *padding_mode = NULL;
    int c;
    long v;
    optind = 0; /* 0, not 1: glibc then starts afresh on a new argv (batch parses many) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
        rc = CLI_USAGE;
        switch (c) {
        case 'o': output = optarg; break;
        case 'k': if (cli_parse_ksize(optarg, &opt.kh, &opt.kw)) goto done; break;
        case 'm': if (cli_parse_mode(optarg, &opt.mode)) goto done; mode_given = 1; break;
        case 'r':
            if (cli_parse_reg_list(optarg, &opt, &lambda_in_reg)) goto done;
            reg_given = 1;
            break;
        case 'l':
            lambda_given = 1;
            if (!strcmp(optarg, "auto")) { opt.auto_lambda = 1; break; }
            lambda_value_given = 1;
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
        case 'M':
            model_given = 1;
            if (!strcmp(optarg, "auto")) { opt.auto_model = opt.auto_lambda = 1; break; }
            if (cli_parse_model(optarg, &opt)) goto done;
            break;
        case 3001: opt.background = 1; break;
        case 3004: opt.bias = 1; break;
        case 3005: bias_out = optarg; break;
        case 3006: padding = optarg; break;
        case 3007: padding_mode = optarg; break;
        case CLI_OPT_STRIDE: case CLI_OPT_DILATION: case CLI_OPT_GROUPS:
            if (cli_parse_geometry(c, optarg, &opt.geometry)) goto done;
            break;
        case 3002: if (cli_parse_int("--outer-maxiter", optarg, 1, 100000, &v)) goto done; opt.outer_maxiter = (int)v; break;
        case 3003:
            if (cli_parse_double("--outer-tol", optarg, &opt.outer_tol)) goto done;
            if (opt.outer_tol < 0) { cli_usage_error("--outer-tol: must be >= 0, got %s", optarg); goto done; }
            break;
        case 'v': {
            int v2 = kernest_solver_parse(optarg);
            if (v2 < 0) { cli_usage_error("--solver: '%s' is not auto, cgls, fista or gpcg", optarg); goto done; }
            opt.solver = (kernest_solver)v2;
            break;
        }
        case 3008: {
            int v2 = kernest_precond_parse(optarg);
            if (v2 < 0) { cli_usage_error("--precond: '%s' is not auto, jacobi, mean or none", optarg); goto done; }
            opt.precond = (kernest_precond)v2;
            break;
        }
        case 'P': profile_path = optarg; break;
        case 'N': opt.nonneg = 1; break;
        case 'b': if (cli_parse_bounds(optarg, &opt)) goto done; break;
        case 's':
            if (cli_parse_double("--sum", optarg, &opt.sum)) goto done;
            opt.has_sum = 1;
            break;
        case 'S':
            if (cli_parse_support(optarg, &opt, &mask)) goto done;
            support_file = opt.support == KERNEST_SUPPORT_MASK ? optarg : NULL;
            break;
        case 'f': if (cli_parse_fix(optarg, &fixed, &nfixed)) goto done; break;
        case 'G': plot_dir = optarg; break;
        case 'g':
            plot_scale = kn_plot_scale_parse(optarg);
            plot_scale_arg = optarg;
            if (plot_scale < 0) { cli_usage_error("--plot-scale: '%s' is not auto, linear, log or symlog", optarg); goto done; }
            break;
        case 'T': truth_path = optarg; break;
        case 'L': if (cli_parse_layout(optarg, &opt.layout)) goto done; break;
        case 'C': opt.correlate = 1; break;
        case 2001: {
            int k = kernest_select_parse(optarg, &opt.cv_folds);
            if (k < 0) { cli_usage_error("--select: '%s' is not cv, cv:K (K = 2..100), gcv, discrepancy or lcurve", optarg); goto done; }
            opt.select = (kernest_select)k;
            break;
        }
        case 2002:
            if (cli_parse_double("--sigma", optarg, &opt.sigma)) goto done;
            if (!(opt.sigma > 0)) { cli_usage_error("--sigma: must be > 0, got %s", optarg); goto done; }
            break;
        case 2003: if (cli_parse_int("--probes", optarg, 1, 8, &v)) goto done; opt.probes = (int)v; break;
        case 2004: unc_prefix = optarg; break;
        case 2005: if (cli_parse_int("--samples", optarg, 2, 100000, &v)) goto done; samples = (int)v; break;
        case 2006: if (cli_parse_int("--seed", optarg, 0, 2147483647L, &v)) goto done; opt.seed = (unsigned long long)v; break;
        case 2007: fast = 1; break;
        case 'q': quiet = 1; break;
        case 1001: log_path = optarg; break;
        case 1002: opt.checkpoint = optarg; break;
        case 1003:
            if (cli_parse_double("--checkpoint-every", optarg, &opt.checkpoint_every)) goto done;
            if (opt.checkpoint_every < 0) { cli_usage_error("--checkpoint-every: must be >= 0, got %s", optarg); goto done; }
            break;
        case 1004: opt.resume = optarg; break;
        case 'h': fputs(usage, stdout); rc = CLI_ESTIMATE_HELP; goto done;
        case ':': cli_usage_error("estimate: option %s needs a value", argv[optind - 1]); goto done;
        default:
            if (optopt && !strncmp(argv[optind - 1], "--", 2) && strchr(argv[optind - 1], '='))
                /* glibc: a known long option given a value it does not take */
                cli_usage_error("estimate: option '%s' takes no value", argv[optind - 1]);
            else
                cli_usage_error("estimate: unknown option '%s' (see kernest estimate --help)", argv[optind - 1]);
            goto done;
        }
    }
    rc = CLI_USAGE;
    npos = argc - optind;
    if (npos < 2 || npos % 2) {
        cli_usage_error("estimate: expected pairs of input files A.npy B.npy, got %d file%s", npos,
                        npos == 1 ? "" : "s");
        goto done;
    }
    if (!output) {
        cli_usage_error("estimate: -o K.npy is required");
        goto done;
    }
    if (!model_given && !reg_given && !lambda_given && !fast)
        opt.auto_model = opt.auto_lambda = 1; /* the default: choose from the data */
    if (fast && (opt.auto_model || opt.auto_lambda)) {
        cli_usage_error("--fast: cannot be combined with --model auto or --lambda auto");
        goto done;
    }
    if (opt.auto_model && lambda_value_given) { /* in either order: --lambda 5 --model auto too */
        cli_usage_error("--model auto: chooses lambda too; drop --lambda");
        goto done;
    }
    if (opt.auto_l1 && !opt.auto_lambda) {
        cli_usage_error("--reg l1:auto: needs --lambda auto (the l1 weight is chosen after lambda)");
        goto done;
    }
    if (opt.auto_lambda && lambda_in_reg) {
        cli_usage_error("--lambda auto: the weight is already given in --reg");
        goto done;
    }
    if (unc_prefix) {
        opt.uncertainty = samples;
        if (asprintf(&cov_path, "%s_coverage.npy", unc_prefix) < 0 || asprintf(&std_path, "%s_std.npy", unc_prefix) < 0) {
            cli_usage_error("out of memory");
            goto done;
        }
        if ((rc = cli_check_output("--uncertainty", cov_path)))
            goto done;
        rc = CLI_USAGE;
    }
    if (lambda_in_reg && lambda_given) {
        cli_usage_error("--lambda: the weight is already given in --reg");
        goto done;
    }
    if (!opt.auto_lambda && (lambda_given || lambda_in_reg) && opt.lambda > 0 && (!reg_given || opt.reg == KERNEST_REG_NONE)) {
        cli_usage_error("--lambda: needs --reg ridge or --reg grad");
        goto done;
    }
    if (profile_path && ((opt.model != KERNEST_MODEL_RADIAL && opt.model != KERNEST_MODEL_HARMONIC) || opt.auto_model)) {
        cli_usage_error("--profile: needs --model radial or harmonic:M (lowrank factors are in --report)");
        goto done;
    }
    if (!plot_dir && (truth_path || plot_scale_arg)) {
        cli_usage_error("%s: needs --plot DIR", truth_path ? "--truth" : "--plot-scale");
        goto done;
    }
    if (bias_out && !opt.bias) {
        cli_usage_error("--bias-out: needs --bias");
        goto done;
    }
    if (padding_mode && !padding) {
        cli_usage_error("--padding-mode: needs --padding");
        goto done;
    }
    if (padding) { /* a framework's padding replaces --mode's window */
        if (mode_given) {
            cli_usage_error("--padding: not with --mode (the padded input's window is valid)");
            goto done;
        }
        if (!opt.kh) {
            cli_usage_error("--padding: needs --ksize HxW (the kernel's size decides 'same')");
            goto done;
        }
        if (cli_parse_padding(padding, padding_mode, &opt.pad_h, &opt.pad_w, &opt.padding_mode))
            goto done;
        opt.padding = 1;
    }
    opt.fixed = fixed;
    opt.nfixed = nfixed;
    if ((bias_out && ((rc = cli_check_output("--bias-out", bias_out)) || (rc = cli_check_format("--bias-out", bias_out)))))
        goto done;
    if ((rc = cli_check_output("-o", output)) || (report_path && (rc = cli_check_output("--report", report_path))) ||
        (profile_path && (rc = cli_check_output("--profile", profile_path))) ||
        (plot_dir && (rc = cli_plot_prepare_dir(plot_dir))) ||
        (log_path && (rc = cli_check_output("--log", log_path))) ||
        (opt.checkpoint && (rc = cli_check_output("--checkpoint", opt.checkpoint))) ||
        (rc = cli_check_format("-o", output)) || (profile_path && (rc = cli_check_format("--profile", profile_path))))
        goto done;
    /* no output may be an input or another output (K.npy, ./K.npy and its absolute path alike) */
    {
        enum { NPICS = 4 };
        static const char *const pics[NPICS] = {"kernel.png", "residual.png", "profile.png", "convergence.png"};
        const size_t nin = (size_t)npos + 2, n = nin + 8 + NPICS;
        const char **what = calloc(n + 1, sizeof *what), **path = calloc(n + 1, sizeof *path);
        char *pic_paths[NPICS] = {NULL};
        rc = CLI_USAGE;
        if (!what || !path)
            cli_usage_error("out of memory");
        else {
            size_t k = 0;
            for (int i = 0; i < npos; i++, k++) {
                what[k] = "input";
                path[k] = argv[optind + i];
            }
            what[k] = "--truth", path[k++] = truth_path;
            what[k] = "--support", path[k++] = support_file;
            what[k] = "-o", path[k++] = output;
            what[k] = "--report", path[k++] = report_path;
            what[k] = "--profile", path[k++] = profile_path;
            what[k] = "--log", path[k++] = log_path;
            what[k] = "--uncertainty", path[k++] = cov_path;
            what[k] = "--uncertainty", path[k++] = std_path;
            what[k] = "--checkpoint", path[k++] = opt.checkpoint;
            what[k] = "--bias-out", path[k++] = bias_out;
            for (int i = 0; plot_dir && i < NPICS; i++) {
                if (asprintf(&pic_paths[i], "%s/%s", plot_dir, pics[i]) < 0)
                    pic_paths[i] = NULL;
                what[k] = "--plot", path[k++] = pic_paths[i];
            }
            rc = cli_check_distinct(k, what, path, nin);
            /* --resume is read and may be --checkpoint (continue, keep saving), but no other output */
            for (size_t i = nin; !rc && opt.resume && i < k; i++)
                if (path[i] && path[i] != opt.checkpoint && cli_same_file(opt.resume, path[i]))
                    rc = cli_usage_error("%s %s: is the same file as --resume %s (the checkpoint would be "
                                         "overwritten)", what[i], path[i], opt.resume);
        }
        for (int i = 0; i < NPICS; i++)
            free(pic_paths[i]);
        free(what);
        free(path);
        if (rc)
            goto done;
    }
    rc = CLI_OK;
done:
    *job = (cli_estimate){.opt = opt, .inputs = (const char *const *)(argv + optind),
                          .npairs = rc ? 0 : (size_t)npos / 2, .output = output,
                          .report_path = report_path, .profile_path = profile_path,
                          .plot_dir = plot_dir, .truth_path = truth_path, .plot_scale = plot_scale,
                          .log_path = log_path, .cov_path = cov_path, .std_path = std_path,
                          .quiet = quiet, .mask = mask, .fixed = fixed, .nfixed = nfixed,
                          .bias_out = bias_out};
    return rc;
}

void cli_estimate_free(cli_estimate *job)
{
    if (!job)
        return;
    kernest_array_destroy(&job->mask);
    free(job->fixed);
    free(job->cov_path);
    free(job->std_path);
    memset(job, 0, sizeof *job);
}

int cli_estimate_run(const cli_estimate *job, kernest_context *ctx, cli_estimate_result *res)
{
    kernest_options opt = job->opt;
    const char *output = job->output, *report_path = job->report_path, *profile_path = job->profile_path;
    const int quiet = job->quiet;
    kernest_array **A = NULL, **B = NULL, *K = NULL, *truth = NULL;
    kernest_report *rep = NULL;
    size_t np = job->npairs;
    const char **names = (const char **)job->inputs;
    int rc = CLI_OK;
    cli_progress prog = {0};
    A = calloc(np, sizeof *A);
    B = calloc(np, sizeof *B);
    if (!A || !B) {
        rc = cli_usage_error("out of memory");
        goto done;
    }
    int st;
    const int spread = cli_mpi_spread_pairs(); /* under mpirun: this rank's share; rank 0 writes */
    if (spread && (opt.checkpoint || opt.resume)) {
        rc = cli_usage_error("%s: not with the pairs spread over MPI ranks (run it in one process)",
                             opt.checkpoint ? "--checkpoint" : "--resume");
        goto done;
    }
    for (size_t i = 0; !spread && i < np && !rc; i++) {
        rc = cli_read_channels(names[2 * i], &A[i]);
        if (!rc)
            rc = cli_read_channels(names[2 * i + 1], &B[i]);
    }
    if (!rc && job->truth_path)
        rc = cli_read_2d(job->truth_path, &truth);
    if (rc)
        goto done;
    if (cli_stop_before_work)
        goto done;
    /* ranks must iterate in step: a signal ends them all the default way, never one alone */
    if (!spread)
        cli_signals_install();
    if (!spread || cli_mpi_rank() == 0) {
        if ((rc = cli_progress_start(&prog, quiet, job->log_path)))
            goto done;
        opt.progress = cli_progress_callback;
        opt.progress_user = &prog;
    }
    if (spread) {
        rc = cli_estimate_dist(names, np, &opt, &K, &rep);
        cli_progress_clear(&prog);
        if (rc || cli_mpi_rank() != 0)
            goto done;
        /* rank 0 holds pair 1, which the residual picture shows */
        if (job->plot_dir && (rc = cli_read_2d(names[0], &A[0])) == 0)
            rc = cli_read_2d(names[1], &B[0]);
        if (rc)
            goto done;
    } else {
        opt.input_names = names;
        st = kernest_estimate_in(ctx, (const kernest_array *const *)A, (const kernest_array *const *)B,
                                 np, &opt, &K, &rep);
        cli_progress_clear(&prog);
        if (st) {
            rc = cli_fail(st);
            goto done;
        }
    }
    /* the outputs, all or nothing: a failure removes what was written before it */
    const char *written[6] = {NULL};
    int nw = 0;
    if ((st = kernest_array_write(output, K, rep->precision))) {
        rc = cli_fail(st);
        goto done;
    }
    written[nw++] = output;
    if (!rc && report_path && (st = kernest_report_write_json(report_path, rep, &opt, names)))
        rc = cli_fail(st);
    if (!rc && report_path)
        written[nw++] = report_path;
    if (!rc && profile_path && !(rc = cli_write_profile(profile_path, rep)))
        written[nw++] = profile_path;
    if (!rc && job->bias_out && !(rc = cli_write_bias(job->bias_out, rep)))
        written[nw++] = job->bias_out;
    /* an interrupted run's maps (none, or from the samples that finished) are not written as if whole */
    if (!rc && job->cov_path && rep->reason != KERNEST_STOP_INTERRUPTED &&
        !(rc = cli_write_uncertainty(rep, job->cov_path, job->std_path))) {
        written[nw++] = job->cov_path; /* cli_write_uncertainty writes both or neither */
        written[nw++] = job->std_path;
    }
#ifdef KERNEST_WITH_CAIRO /* without it, cli_plot_prepare_dir refused --plot before any work */
    if (!rc && job->plot_dir)
        rc = cli_plot_estimate(job->plot_dir, job->plot_scale, K, rep, A[0], B[0], &opt, truth);
#endif
    if (!rc)
        rc = cli_progress_finish(&prog, 1);
    if (rc) {
        for (int i = 0; i < nw; i++)
            unlink(written[i]);
        goto done;
    }
    if (res)
        *res = (cli_estimate_result){rep->iterations, rep->reason, rep->wall_seconds};
    for (size_t i = 0; !quiet && i < rep->nwarnings; i++)
        fprintf(stderr, "kernest: warning: %s\n", rep->warnings[i]);
    if (rep->reason == KERNEST_STOP_INTERRUPTED) {
        const int sig = cli_signal_received();
        if (!quiet)
            fprintf(stderr, "kernest: stopped by %s after %d iterations; wrote %s%s%s\n",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT", rep->iterations, output,
                    opt.checkpoint ? " and the checkpoint " : "", opt.checkpoint ? opt.checkpoint : "");
        rc = 128 + (sig ? sig : SIGINT);
        goto done;
    }
    if (!quiet) {
        double sse = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < rep->npairs; i++) {
            sse += rep->misfit[i].sse;
            cnt += rep->misfit[i].count;
        }
        const int fista = !strcmp(rep->solver, "fista"), gpcg = !strcmp(rep->solver, "gpcg");
        if (rep->automatic) {
            const long apps = rep->applications_prepare + rep->applications_select + rep->applications_final;
            printf("kernest: chose %s, lambda %.4g by %s (%d solves, %ld iterations; %ld operator "
                   "applications, %.3g x the final solve's, %.1f s choosing + %.1f s final)\n",
                   rep->candidates[rep->chosen].name, rep->lambda, rep->select_rule,
                   rep->selection_solves, rep->selection_iterations, apps,
                   rep->applications_final > 0 ? (double)apps / (double)rep->applications_final : 0.0,
                   rep->seconds_prepare + rep->seconds_select, rep->seconds_final);
        }
        char shape[96];
        if (K->ndim == 4)
            snprintf(shape, sizeof shape, "%zux%zux%zux%zu kernels%s", K->shape[0], K->shape[1], K->shape[2],
                     K->shape[3], opt.correlate ? ", cross-correlation" : "");
        else
            snprintf(shape, sizeof shape, "%zux%zu kernel%s%s", rep->kh, rep->kw,
                     rep->model == KERNEST_MODEL_PIXEL    ? ""
                     : rep->model == KERNEST_MODEL_RADIAL ? ", radial"
                     : rep->model == KERNEST_MODEL_HARMONIC ? ", harmonic"
                                                          : ", low rank",
                     opt.correlate ? ", cross-correlation" : "");
        printf("kernest: wrote %s (%s) — %s %s after %d iterations "
               "(relative %s %.3g), rms misfit %.6g, %.2f s on %s\n",
               output, shape, rep->solver,
               kernest_stop_reason_name(rep->reason), rep->iterations, fista ? "change" : gpcg ? "projected gradient" : "residual",
               rep->residual_history[rep->iterations], cnt ? sqrt(sse / (double)cnt) : 0.0,
               rep->wall_seconds, rep->device);
    }
done:
    cli_progress_finish(&prog, 0); /* a no-op once the log is kept */
    for (size_t i = 0; A && B && i < np; i++) {
        kernest_array_destroy(&A[i]);
        kernest_array_destroy(&B[i]);
    }
    free(A);
    free(B);
    kernest_array_destroy(&K);
    kernest_array_destroy(&truth);
    kernest_report_destroy(&rep);
    return rc;
}

int cmd_estimate(int argc, char **argv)
{
    cli_estimate job;
    int rc = cli_estimate_parse(argc, argv, &job);
    if (rc == CLI_OK)
        rc = cli_estimate_run(&job, NULL, NULL);
    else if (rc == CLI_ESTIMATE_HELP)
        rc = CLI_OK;
    cli_estimate_free(&job);
    return rc;
}
