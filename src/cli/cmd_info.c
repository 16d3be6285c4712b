/* cmd_info.c — `kernest info`: the backends compiled in, the devices and the library versions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#ifdef KERNEST_WITH_MPI
#include <mpi.h>
#endif

int cmd_info(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        puts("usage: kernest info\n\nPrint the backends compiled in, the devices with their memory "
             "and compute capability,\nthe array file formats compiled in, the FFTW, cuFFT and cuBLAS versions, the FFTW\n"
             "wisdom cache folder, the OpenMP wait policy, and whether MPI is compiled in (with this process's rank).");
        return CLI_OK;
    }
    if (argc > 1)
        return cli_usage_error("info: unexpected argument '%s'", argv[1]);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("kernest %s\n", KERNEST_VERSION_STRING);
    printf("backends: cpu%s\n", kernest_have_cuda() ? ", cuda" : "");
    printf("formats:");
    for (int f = KERNEST_FORMAT_NPY; f < KERNEST_FORMAT_COUNT; f++)
        if (kernest_format_available((kernest_format)f))
            printf(" %s", kernest_format_name((kernest_format)f));
    printf("\n");
    printf("cpu: %ld core%s, %s (OpenMP threads), wisdom cache %s\n", cores, cores == 1 ? "" : "s",
           kernest_fftw_version(), *kernest_fftw_wisdom_dir() ? kernest_fftw_wisdom_dir() : "(none)");
    const char *policy = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    printf("openmp: wait policy %s%s%s\n", policy ? policy : "(runtime default)", spin ? ", GOMP_SPINCOUNT " : "",
           spin ? spin : "");
    char buf[8192] = "";
    int st = kernest_cuda_info(buf, sizeof buf);
    fputs(buf, stdout); /* the library versions, even when no device is usable */
    if (st && st != KERNEST_E_UNSUPPORTED)
        printf("cuda: compiled in, no usable device (%s)\n", kernest_last_error());
#ifdef KERNEST_WITH_MPI
    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, "\n,")] = '\0';
    printf("mpi: compiled in (%s); this process is rank %d of %d\n", lib, cli_mpi_rank(), cli_mpi_size());
#else
    puts("mpi: not compiled in");
#endif
    return CLI_OK;
}
