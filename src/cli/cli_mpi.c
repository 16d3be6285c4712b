/* cli_mpi.c — the command line under an MPI launcher (mpirun, srun): MPI is started only when a
 * launcher started this process, and `estimate` then spreads its pairs over the ranks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- batch jobs across ranks ------------------------------------------------------------------ */

static int g_local = 0; /* 1: estimates stay in this rank (batch jobs) */

void cli_mpi_set_local(int local)
{
    g_local = local;
}

int cli_mpi_spread_pairs(void)
{
    return g_size > 1 && !g_local;
}

#ifdef KERNEST_WITH_MPI
static MPI_Win g_win = MPI_WIN_NULL;
static long *g_counter = NULL;
#endif

int cli_mpi_queue_open(void)
{
#ifdef KERNEST_WITH_MPI
    if (g_size == 1)
        return 0;
    /* the next job to hand out lives on rank 0; every rank takes one with an atomic fetch-and-add,
     * so a slow job holds nobody back */
    MPI_Aint bytes = g_rank == 0 ? (MPI_Aint)sizeof(long) : 0;
    if (MPI_Win_allocate(bytes, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &g_counter, &g_win) != MPI_SUCCESS)
        return cli_usage_error("batch: MPI_Win_allocate failed (the job queue across ranks)");
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, g_rank, 0, g_win);
    if (g_rank == 0)
        *g_counter = 0;
    MPI_Win_unlock(g_rank, g_win);
    MPI_Barrier(MPI_COMM_WORLD);
#endif
    return 0;
}

int cli_mpi_queue_next(long total, long *index)
{
#ifdef KERNEST_WITH_MPI
    if (g_size > 1) {
        const long one = 1;
        long got = total;
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, g_win);
        MPI_Fetch_and_op(&one, &got, MPI_LONG, 0, 0, MPI_SUM, g_win);
        MPI_Win_unlock(0, g_win);
        *index = got;
        return got < total;
    }
#endif
    (void)total, (void)index;
    return -1; /* not under MPI: the caller walks the jobs itself */
}

void cli_mpi_queue_close(void)
{
#ifdef KERNEST_WITH_MPI
    if (g_win != MPI_WIN_NULL)
        MPI_Win_free(&g_win);
    g_counter = NULL;
#endif
}

void cli_mpi_collect(void *items, size_t n, size_t size, const unsigned char *mine)
{
#ifdef KERNEST_WITH_MPI
    if (g_size == 1 || n == 0)
        return;
    const size_t bytes = n * size;
    unsigned char *all = NULL, *flags = NULL;
    if (g_rank == 0) {
        all = malloc(bytes * (size_t)g_size);
        flags = malloc(n * (size_t)g_size);
        if (!all || !flags) {
            fputs("kernest: batch: out of memory gathering the jobs' results\n", stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    MPI_Gather(items, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    MPI_Gather(mine, (int)n, MPI_BYTE, flags, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (g_rank == 0)
        for (int r = 1; r < g_size; r++)
            for (size_t i = 0; i < n; i++)
                if (flags[(size_t)r * n + i])
                    memcpy((unsigned char *)items + i * size, all + (size_t)r * bytes + i * size, size);
    free(all);
    free(flags);
#else
    (void)items, (void)n, (void)size, (void)mine;
#endif
}

int cli_mpi_max(int v)
{
#ifdef KERNEST_WITH_MPI
    if (g_size > 1)
        MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#endif
    return v;
}
