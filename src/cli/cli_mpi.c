/* cli_mpi.c — the command line under an MPI launcher (mpirun, srun): MPI is started only when a
 * launcher started this process, and `estimate` then spreads its pairs over the ranks. */
#include <stdlib.h>

#include "cli.h"
#ifdef KERNEST_WITH_MPI
#include "kernest_mpi.h"
#endif

static int g_rank = 0, g_size = 1, g_started = 0;

/* Environment variables that Open MPI, MPICH/PMI and PMIx launchers set in each rank. */
static int under_launcher(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

void cli_mpi_start(int *argc, char ***argv)
{
#ifdef KERNEST_WITH_MPI
    if (!under_launcher() || MPI_Init(argc, argv) != MPI_SUCCESS)
        return;
    g_started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
#endif
}

void cli_mpi_end(void)
{
#ifdef KERNEST_WITH_MPI
    if (g_started)
        MPI_Finalize();
    g_started = 0;
#endif
}

int cli_mpi_rank(void)
{
    return g_rank;
}

int cli_mpi_size(void)
{
    return g_size;
}

int cli_estimate_dist(const char *const *names, size_t np, const kernest_options *opt, kernest_array **K,
                      kernest_report **rep)
{
#ifdef KERNEST_WITH_MPI
    size_t first, count;
    kernest_mpi_share(np, g_rank, g_size, &first, &count);
    kernest_array **A = calloc(count + 1, sizeof *A), **B = calloc(count + 1, sizeof *B);
    if (!A || !B) {
        free(A);
        free(B);
        return cli_usage_error("out of memory"); /* MPI_Abort would be kinder; this is unlikely */
    }
    /* a bad file on this rank must reach every rank: its error is printed here, and the
     * collective call goes ahead with no pair list, which kernest_estimate_mpi refuses on this
     * rank and reports to the others as "rank R failed" */
    int rc = CLI_OK, st;
    for (size_t i = 0; i < count && !rc; i++)
        if (!(rc = cli_read_2d(names[2 * (first + i)], &A[i])))
            rc = cli_read_2d(names[2 * (first + i) + 1], &B[i]);
    kernest_options o = *opt;
    o.input_names = names + 2 * first;
    if (rc)
        kernest_estimate_mpi(MPI_COMM_WORLD, NULL, NULL, 1, &o, K, rep);
    else if ((st = kernest_estimate_mpi(MPI_COMM_WORLD, (const kernest_array *const *)A,
                                        (const kernest_array *const *)B, count, &o, K, rep)))
        rc = cli_fail(st);
    for (size_t i = 0; A && B && i < count; i++) {
        kernest_array_destroy(&A[i]);
        kernest_array_destroy(&B[i]);
    }
    free(A);
    free(B);
    return rc;
#else
    (void)names, (void)np, (void)opt, (void)K, (void)rep;
    return cli_usage_error("mpirun: this kernest was built without MPI");
#endif
}
