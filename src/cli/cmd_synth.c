/* cmd_synth.c — `kernest synth`: a synthetic problem with a known kernel (the original question). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "base/synth.h"

static const char usage[] =
    "usage: kernest synth -o DIR [options]\n"
    "\n"
    "Write a synthetic problem with a known kernel into DIR: A.npy, B.npy and K_true.npy (A_2.npy,\n"
    "B_2.npy, ... for more pairs) plus a fresh held-out pair A_test.npy, B_test.npy drawn with the\n"
    "same kernel and noise, for scoring (kernest score). The defaults reproduce the original\n"
    "question: binary A (20% ones) of NxN, a 1/r kernel on (2N-1)x(2N-1) with centre 0,\n"
    "B = same(A (*) K) + N(0, 1) noise.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR     output folder (created if missing)\n"
    "      --n N            A is NxN (default 100)\n"
    "      --input KIND     binary (default: 0/1 pixels, --density of them 1) or fractal (a texture\n"
    "                       in [0, 1] whose power spectrum falls as 1/f^2, like natural images')\n"
    "      --density F      fraction of ones in a binary A (default 0.2)\n"
    "      --kernel SPEC    (default inv-r); ANGLE in degrees from the +column axis towards +row:\n"
    "                         inv-r                 1/r, centre 0\n"
    "                         power:P               r^-P, centre 0\n"
    "                         power:P,A,M,ANGLE     r^-P (1 + A cos(M (theta - ANGLE))), centre 0\n"
    "                                               (a harmonic:M kernel)\n"
    "                         gabor:S,F,ANGLE       exp(-r^2/(2 S^2)) cos(2 pi F u), u along ANGLE,\n"
    "                                               F cycles per pixel (a rank-2 kernel; rank 1 at\n"
    "                                               ANGLE 0 or 90)\n"
    "                         gaussian:S            exp(-r^2/(2 S^2)), peak 1\n"
    "                         gaussian:SX,SY,ANGLE  anisotropic Gaussian, SX along ANGLE, peak 1\n"
    "                         exp:LX,LY,ANGLE       exp(-sqrt((u/LX)^2 + (v/LY)^2)), peak 1\n"
    "                         line:LENGTH,ANGLE     motion line, anti-aliased, unit sum\n"
    "                         moffat:ALPHA,BETA     (1 + r^2/ALPHA^2)^-BETA, unit sum: an optical\n"
    "                                               PSF with heavy wings (moffat:1,1.5: 90 % of\n"
    "                                               the flux within r = 10, 98 % within 50)\n"
    "      --noise S        noise standard deviation (default 1.0)\n"
    "      --noise-rel F    noise standard deviation F x std(clean B of the first pair); the sigma\n"
    "                       used is printed (pass it to kernest score --sigma)\n"
    "      --pairs P        number of pairs sharing the kernel (default 1)\n"
    "      --seed S         random seed (default 1)\n"
    "      --channels CIN,COUT  a convolution layer: A is CIN x N x N, B is COUT x N x N with\n"
    "                       B[o] = sum_i same(A[i] (*) K[o,i]) + noise, K_true is COUT x CIN x\n"
    "                       (2N-1) x (2N-1): kernel (o,i) is the --kernel shape times\n"
    "                       (-1)^(o+i) (1 + o CIN + i) / (CIN COUT) (default 1,1: 2-D files)\n";

/* The set is written as a whole: each file first as NAME.partial (itself through a temporary and a
 * rename; A.npy is staged as A.partial.npy), and only once every file is written are they renamed
 * to their names, K_true.npy last.
 * A failure (a full disk, a file-size limit) removes the .partial files, so a folder never holds
 * A/B without their K_true.npy; a process killed meanwhile leaves only *.partial.npy files, which say
 * that the set is incomplete. */
enum { SET_MAX = 2 * 10002 + 1 };
static char *staged[SET_MAX], *finals[SET_MAX];
static size_t nstaged;

static int write_array(const char *dir, const char *name, const kernest_array *a)
{
    char *path = NULL, *final = NULL;
    const size_t stem = strlen(name) - strlen(".npy"); /* every name of the set ends in .npy */
    if (nstaged == SET_MAX || asprintf(&path, "%s/%.*s.partial.npy", dir, (int)stem, name) < 0)
        return cli_usage_error("out of memory");
    if (asprintf(&final, "%s/%s", dir, name) < 0) {
        free(path);
        return cli_usage_error("out of memory");
    }
    int st = kernest_array_write(path, a, KERNEST_DOUBLE);
    if (st) {
        free(path);
        free(final);
        return cli_fail(st);
    }
    staged[nstaged] = path;
    finals[nstaged++] = final;
    return 0;
}

/* commit = 1: rename every staged file to its name (in order); 0: remove them. */
static int finish_set(int commit)
{
    int rc = 0;
    for (size_t i = 0; i < nstaged; i++) {
        if (!rc && commit && rename(staged[i], finals[i]) != 0)
            rc = cli_usage_error("-o: %s: cannot rename into place: %s", finals[i], strerror(errno));
        if (rc || !commit)
            unlink(staged[i]);
        free(finals[i]);
        free(staged[i]);
    }
    nstaged = 0;
    return rc;
}

/* One pair: binary A, B = same(A ⊛ K) + noise; names like "A.npy"/"B.npy" or "A_2.npy". A
 * negative *noise is a relative level -F, turned into F × std(clean B) on the first call. With
 * a 4-D K, A has K's C_in channels and B its C_out. */
static int make_pair(const char *dir, const char *suffix, size_t n, int fractal, double density, double *noise,
                     const kernest_array *K, kn_rng *rng)
{
    kernest_array *A = NULL, *B = NULL;
    size_t shape[3] = {K->ndim == 4 ? K->shape[1] : 1, n, n};
    int rc = 0, st = K->ndim == 4 ? kernest_array_create(3, shape, &A) : kernest_array_create2(n, n, &A);
    if (!st) {
        if (fractal)
            kn_synth_fractal(rng, A);
        else
            kn_synth_binary(rng, density, A);
        st = K->ndim == 4 ? kernest_convolve_channels(A, K, KERNEST_MODE_SAME, KERNEST_LAYOUT_CHW, 0, &B)
                          : kernest_convolve(A, K, KERNEST_MODE_SAME, &B);
    }
    if (st)
        rc = cli_fail(st);
    else {
        if (*noise < 0)
            *noise = -*noise * kn_synth_std(B);
        kn_synth_noise(rng, *noise, B);
        char an[64], bn[64];
        snprintf(an, sizeof an, "A%s.npy", suffix);
        snprintf(bn, sizeof bn, "B%s.npy", suffix);
        if (!(rc = write_array(dir, an, A)))
            rc = write_array(dir, bn, B);
    }
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    return rc;
}

int cmd_synth(int argc, char **argv)
{
    const char *dir = NULL, *kspec = "inv-r";
    long n = 100, pairs = 1, seed = 1;
    double density = 0.2, noise = 1.0, noise_rel = 0.0;
    int noise_given = 0, fractal = 0;
    long cin = 1, cout = 1;
    int channels = 0;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"n", required_argument, 0, 'n'},
        {"density", required_argument, 0, 'd'}, {"kernel", required_argument, 0, 'k'},
        {"noise", required_argument, 0, 's'},  {"pairs", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 'S'},   {"noise-rel", required_argument, 0, 'r'},
        {"channels", required_argument, 0, 'c'}, {"input", required_argument, 0, 'i'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 'n': if (cli_parse_int("--n", optarg, 1, 1 << 20, &n)) return CLI_USAGE; break;
        case 'd':
            if (cli_parse_double("--density", optarg, &density)) return CLI_USAGE;
            if (density < 0 || density > 1) return cli_usage_error("--density: must be in [0, 1], got %s", optarg);
            break;
        case 'k': kspec = optarg; break;
        case 'i':
            if (strcmp(optarg, "binary") && strcmp(optarg, "fractal"))
                return cli_usage_error("--input: '%s' is not binary or fractal", optarg);
            fractal = !strcmp(optarg, "fractal");
            break;
        case 's':
            if (cli_parse_double("--noise", optarg, &noise)) return CLI_USAGE;
            if (noise < 0) return cli_usage_error("--noise: must be >= 0, got %s", optarg);
            noise_given = 1;
            break;
        case 'r':
            if (cli_parse_double("--noise-rel", optarg, &noise_rel)) return CLI_USAGE;
            if (!(noise_rel > 0)) return cli_usage_error("--noise-rel: must be > 0, got %s", optarg);
            break;
        case 'p': if (cli_parse_int("--pairs", optarg, 1, 10000, &pairs)) return CLI_USAGE; break;
        case 'S': if (cli_parse_int("--seed", optarg, 0, 0x7fffffffL, &seed)) return CLI_USAGE; break;
        case 'c': {
            char *end;
            errno = 0;
            cin = strtol(optarg, &end, 10);
            if (end != optarg && *end == ',') {
                const char *s2 = end + 1;
                cout = strtol(s2, &end, 10);
                if (end == s2)
                    cout = 0;
            } else
                cout = 0;
            if (errno || *end || cin < 1 || cout < 1 || cin > 4096 || cout > 4096)
                return cli_usage_error("--channels: expected CIN,COUT (two integers 1..4096), got '%s'", optarg);
            channels = 1;
            break;
        }
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("synth: option %s needs a value", argv[optind - 1]);
        default: return cli_usage_error("synth: unknown option '%s' (see kernest synth --help)", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("synth: unexpected argument '%s'", argv[optind]);
    if (!dir)
        return cli_usage_error("synth: -o DIR is required");
    if (noise_given && noise_rel > 0)
        return cli_usage_error("--noise-rel: give either --noise or --noise-rel");
    if (noise_rel > 0)
        noise = -noise_rel;
    if (cli_stop_before_work)
        return CLI_OK;
    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return cli_usage_error("-o: '%s' is not a folder", dir);
    int created = 0;

    kernest_array *K = NULL, *K1 = NULL;
    int rc = 0, st = kernest_array_create2(2 * (size_t)n - 1, 2 * (size_t)n - 1, &K1);
    if (!st)
        st = kn_synth_kernel(kspec, K1);
    if (st) { /* a bad --kernel: before the folder is made */
        rc = cli_fail(st);
        goto done;
    }
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0755) != 0) {
            rc = cli_usage_error("-o: cannot create folder '%s': %s", dir, strerror(errno));
            goto done;
        }
        created = 1;
    }
    if (!st && channels) {
        size_t shape[4] = {(size_t)cout, (size_t)cin, K1->shape[0], K1->shape[1]};
        if (!(st = kernest_array_create(4, shape, &K)))
            for (size_t c = 0; c < (size_t)(cin * cout); c++) {
                const size_t o = c / (size_t)cin, i = c % (size_t)cin;
                const double w = ((o + i) % 2 ? -1.0 : 1.0) * (double)(1 + c) / (double)(cin * cout);
                for (size_t j = 0; j < K1->size; j++)
                    K->data[c * K1->size + j] = w * K1->data[j];
            }
    } else if (!st) {
        K = K1;
        K1 = NULL;
    }
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    kn_rng rng;
    kn_rng_seed(&rng, (uint64_t)seed);
    for (long p = 1; p <= pairs && !rc; p++) {
        char suffix[32] = "";
        if (p > 1)
            snprintf(suffix, sizeof suffix, "_%ld", p);
        rc = make_pair(dir, suffix, (size_t)n, fractal, density, &noise, K, &rng);
    }
    if (!rc)
        rc = make_pair(dir, "_test", (size_t)n, fractal, density, &noise, K, &rng);
    if (!rc)
        rc = write_array(dir, "K_true.npy", K);
    rc = rc ? (finish_set(0), rc) : finish_set(1);
    if (rc && created)
        rmdir(dir);
    if (!rc)
        printf("kernest: wrote %ld pair%s of %s%ldx%ld, K_true.npy (%s%ldx%ld, %s), held-out pair "
               "A_test.npy/B_test.npy, noise sigma %.6g%s, in %s\n", pairs, pairs == 1 ? "" : "s",
               channels ? "channels x " : "", n, n, channels ? "C_out x C_in x " : "", 2 * n - 1,
               2 * n - 1, kspec, noise, noise_rel > 0 ? " (from --noise-rel)" : "", dir);
done:
    kernest_array_destroy(&K);
    kernest_array_destroy(&K1);
    return rc;
}
