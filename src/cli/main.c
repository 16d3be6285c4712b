/* main.c — the kernest command: dispatch to estimate, batch, convolve, synth, score and info. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: kernest COMMAND [options]\n"
    "\n"
    "Estimate a 2-D convolution kernel K from a known input A and an observed output\n"
    "B = crop_mode(A (*) K) + noise, exactly (linear convolution, no wrap), when K is huge.\n"
    "\n"
    "commands:\n"
    "  estimate   estimate K from pairs A.npy B.npy ...\n"
    "  batch      run many estimates from a JSON-lines manifest, one job per line\n"
    "  convolve   apply the forward model B = crop_mode(A (*) K)\n"
    "  synth      write a synthetic problem with a known kernel\n"
    "  score      held-out error and kernel error of an estimate\n"
    "  info       backends, devices, file formats, library versions, MPI\n"
    "\n"
    "Array files: .npy .npz[:NAME] .fits .tif .csv .txt .tsv .raw/.bin, chosen by extension for\n"
    "input and output; raw inputs need --shape HxW --dtype f4|f8|i1..i8|u1..u8 (any command).\n"
    "\n"
    "kernest COMMAND --help shows a command's options; kernest --version its version; man kernest\n"
    "the whole manual. Under mpirun, estimate spreads its pairs and batch its jobs over the ranks.\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or input.\n";

static int run(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {{"estimate", cmd_estimate}, {"convolve", cmd_convolve}, {"synth", cmd_synth},
                    {"score", cmd_score},       {"info", cmd_info},         {"batch", cmd_batch}};
    if (argc < 2)
        return fputs(usage, stderr), CLI_USAGE;
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return fputs(usage, stdout), CLI_OK;
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
        return printf("kernest %s\n", KERNEST_VERSION_STRING), CLI_OK;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            int rc = cli_take_read_options(&argc, argv);
            return rc ? rc : commands[i].run(argc - 1, argv + 1);
        }
    return cli_usage_error("unknown command '%s' (see kernest --help)", argv[1]);
}

/* OpenMP threads that spin at every barrier (libgomp's default, about 300000 spins before they
 * sleep) lose their core to any other busy process and then wait for it at each of an
 * iteration's parallel loops; threads that sleep at once (OMP_WAIT_POLICY=passive) pay a wake-up
 * at each loop instead. Measured at N = 256 on a 2-core machine (bench/results/omp-wait-policy-*):
 * a CGLS iteration took 4.0 ms spinning, 8.1 passive and 3.0 with 1000 spins when the machine was
 * idle, and 234, 4.6 and 7.8 ms with a test run busy on one core (the default command: 37, 3.0
 * and 8.4 s).
 * So the command runs with GOMP_SPINCOUNT=1000 unless a policy was chosen (OMP_WAIT_POLICY or
 * GOMP_SPINCOUNT set: kept as given). The runtime reads it when it loads, before main: the
 * command runs itself again with it set; where it cannot (no /proc), it goes on as it is. */
static void short_spins(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || setenv("GOMP_SPINCOUNT", "1000", 1))
        return;
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT"); /* execv failed: the environment says what the runtime does */
}

int main(int argc, char **argv)
{
    short_spins(argv);
    /* a file-size limit (ulimit -f) is a write error like a full disk: write() fails with EFBIG and
     * the temporary file is removed, instead of SIGXFSZ killing the process and leaving it */
    signal(SIGXFSZ, SIG_IGN);
    cli_mpi_start(&argc, &argv); /* under mpirun/srun only */
    const int rc = run(argc, argv);
    cli_mpi_end();
    return rc;
}
