/* example.c — the kernest C API in a few lines: make B = A ⊛ K, estimate K back from (A, B),
 * write it in the format its name asks for. Built against an installed kernest by
 * tests/install_test.sh (pkg-config and find_package) and shown in README.md. */
#include <kernest.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    kernest_array *A = NULL, *K = NULL, *B = NULL, *Kest = NULL;
    if (kernest_array_create2(64, 64, &A) || kernest_array_create2(7, 7, &K))
        return 1;
    srand(1);
    for (size_t i = 0; i < A->size; i++)
        A->data[i] = rand() / (double)RAND_MAX;
    for (size_t r = 0; r < 7; r++)
        for (size_t c = 0; c < 7; c++)
            K->data[r * 7 + c] = exp(-((r - 3.0) * (r - 3.0) + (c - 3.0) * (c - 3.0)) / 4.0);
    if (kernest_convolve(A, K, KERNEST_MODE_FULL, &B))
        return fprintf(stderr, "%s\n", kernest_last_error()), 1;

    kernest_options opt;
    kernest_options_default(&opt);
    opt.mode = KERNEST_MODE_FULL;
    opt.kh = opt.kw = 7;
    opt.device = KERNEST_DEVICE_CPU;
    opt.tol = 1e-12; /* noiseless data: solve to rounding */
    const kernest_array *As[] = {A}, *Bs[] = {B};
    if (kernest_estimate(As, Bs, 1, &opt, &Kest, NULL))
        return fprintf(stderr, "%s\n", kernest_last_error()), 1;

    double err = 0;
    for (size_t i = 0; i < K->size; i++)
        err = fmax(err, fabs(Kest->data[i] - K->data[i]));
    printf("kernest %s: max |K_est - K| = %.1e\n", kernest_version(), err);
    if (argc > 1 && kernest_array_write(argv[1], Kest, KERNEST_DOUBLE))
        return fprintf(stderr, "%s\n", kernest_last_error()), 1;
    kernest_array_destroy(&A);
    kernest_array_destroy(&K);
    kernest_array_destroy(&B);
    kernest_array_destroy(&Kest);
    return err < 1e-6 ? 0 : 1;
}
