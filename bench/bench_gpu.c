/* bench_gpu.c — GPU speed of the CUDA backend: cuFFT floor, H and Hᵀ, CGLS per iteration, time to tolerance and device memory. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "kernest.h"

static const char usage[] =
    "usage: bench_gpu [options]\n"
    "\n"
    "The original question at each size N, as `kernest synth --n N --seed S` draws it (binary A\n"
    "with 20%% ones, 1/r kernel on (2N-1)x(2N-1), B = same(A (*) K) + N(0,1) noise; B is made on\n"
    "the GPU in double), then, for each precision, in one process:\n"
    "  floor    median time of one cuFFT R2C and one C2R on the problem's FFT grid (CUDA events);\n"
    "           one CGLS iteration with one pair needs 2 R2C + 2 C2R;\n"
    "  op       op_apply and op_adjoint of the cuda backend (mean of --op-reps, synchronised);\n"
    "  iter     CGLS per iteration, (t(iters) - t(0)) / iters, median of --reps rounds;\n"
    "  tol      kernest_estimate on the GPU to --tol: iterations and seconds;\n"
    "  memory   the backend's op_bytes against the cudaMemGetInfo difference over op_setup, and\n"
    "           the most device memory in use between phases.\n"
    "Writes one JSON object to --json FILE (rewritten after every case, so that a run stopped by a\n"
    "time limit keeps what it measured) and to stdout at the end. Exit 77 without a usable GPU.\n"
    "\n"
    "options:\n"
    "  --sizes LIST        comma-separated N (default 512,1024,2048,4096,8192)\n"
    "  --precisions LIST   single,double (default single,double)\n"
    "  --iters M           fixed CGLS iterations (default 20)\n"
    "  --reps R            rounds of the fixed-iteration solve; median (default 3)\n"
    "  --op-reps R         applications timed together (default 10)\n"
    "  --floor-reps F      timed executes of each transform; median (default 20)\n"
    "  --tol T             tolerance of the time-to-tolerance solve (default 1e-4)\n"
    "  --maxiter N         its iteration cap (default 1000)\n"
    "  --budget S          start no new case after S seconds (default 120)\n"
    "  --seed S            seed, as kernest synth --seed (default 1)\n"
    "  --json FILE         where the JSON goes (default: stdout only)\n"
    "  --save-data DIR     write each size's problem as DIR/A_N.npy, DIR/B_N.npy (double), the\n"
    "                      data bench/torch_cgls.py --data DIR solves\n";

#ifndef KERNEST_WITH_CUDA

int main(void)
{
    (void)usage;
    fprintf(stderr, "bench_gpu: skipped: the CUDA backend is not compiled in (configure with nvcc found)\n");
    return 77;
}

#else

#include <cuda_runtime_api.h>
#include <cufft.h>

#include "backend/backend.h"
#include "backend/problem.h"
#include "base/clock.h"
#include "base/rng.h"
#include "base/synth.h"
#include "cuda/kn_cuda.h"
#include "solve/cgls.h"

typedef struct args {
    long sizes[16];
    int nsizes, prec[2], nprec;
    long iters, reps, op_reps, floor_reps, maxiter, seed;
    double tol, budget;
    const char *json, *save_dir;
} args;

/* ---- the results: one JSON object per case, the file rewritten after each ------------------ */

static char *cases_json[64];
static int ncases;
static char device_line[512];

static void json_write(const args *a, FILE *f)
{
    fprintf(f, "{\"bench\": \"bench_gpu\", \"kernest_version\": \"%s\", \"device\": \"%s\", "
               "\"iters\": %ld, \"reps\": %ld, \"tol\": %g, \"seed\": %ld, \"cases\": [",
            KERNEST_VERSION_STRING, device_line, a->iters, a->reps, a->tol, a->seed);
    for (int i = 0; i < ncases; i++)
        fprintf(f, "%s\n  %s", i ? "," : "", cases_json[i]);
    fprintf(f, "]}\n");
}

static void json_flush(const args *a)
{
    if (!a->json)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", a->json);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "bench_gpu: cannot write %s\n", tmp);
        return;
    }
    json_write(a, f);
    if (fclose(f) == 0)
        rename(tmp, a->json);
}

static void add_case(const args *a, const char *text)
{
    if (ncases < 64 && (cases_json[ncases] = strdup(text)))
        ncases++;
    json_flush(a);
}

/* Device memory in use now (total − free); 0 when it cannot be read. */
static size_t used_bytes(void)
{
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return total_b - free_b;
}

/* ---- the floor: one cuFFT R2C and one C2R on the grid, timed with events ------------------- */

/* Fills n bytes of device memory with a pseudo-random pattern (never zeros, which can time
 * faster): one random megabyte uploaded, then doubled in place. */
static int fill_random(void *dev, size_t bytes, int dbl, unsigned long long seed)
{
    size_t chunk = bytes < ((size_t)1 << 20) ? bytes : ((size_t)1 << 20);
    size_t es = dbl ? 8 : 4, n = chunk / es;
    void *host = malloc(chunk);
    if (!host)
        return 1;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double v = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
        if (dbl)
            ((double *)host)[i] = v;
        else
            ((float *)host)[i] = (float)v;
    }
    cudaError_t e = cudaMemcpy(dev, host, n * es, cudaMemcpyHostToDevice);
    free(host);
    for (size_t done = n * es; e == cudaSuccess && done < bytes;) {
        size_t len = done < bytes - done ? done : bytes - done;
        e = cudaMemcpy((char *)dev + done, dev, len, cudaMemcpyDeviceToDevice);
        done += len;
    }
    return e != cudaSuccess;
}

/* Median seconds of one R2C (*r2c) and one C2R (*c2r) on gh×gw; 0 on success. */
static int floor_time(size_t gh, size_t gw, int dbl, long reps, double *r2c, double *c2r, char *err,
                      size_t errcap)
{
    size_t es = dbl ? 8 : 4, nreal = gh * gw, nspec = gh * (gw / 2 + 1);
    void *real = NULL, *spec = NULL, *spec0 = NULL;
    cufftHandle pf = 0, pi = 0;
    int have_pf = 0, have_pi = 0, rc = 1;
    cudaStream_t s = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    double *t = calloc((size_t)reps, sizeof *t);
    cudaError_t ce;
    if (!t)
        goto out;
    if ((ce = cudaMalloc(&real, nreal * es)) || (ce = cudaMalloc(&spec, nspec * 2 * es)) ||
        (ce = cudaMalloc(&spec0, nspec * 2 * es)) || (ce = cudaStreamCreate(&s)) ||
        (ce = cudaEventCreate(&e0)) || (ce = cudaEventCreate(&e1))) {
        snprintf(err, errcap, "floor: %s", cudaGetErrorString(ce));
        goto out;
    }
    if (fill_random(real, nreal * es, dbl, 7) || fill_random(spec0, nspec * 2 * es, dbl, 8)) {
        snprintf(err, errcap, "floor: filling the buffers failed");
        goto out;
    }
    cufftResult fr;
    if ((fr = cufftPlan2d(&pf, (int)gh, (int)gw, dbl ? CUFFT_D2Z : CUFFT_R2C)) || !(have_pf = 1) ||
        (fr = cufftPlan2d(&pi, (int)gh, (int)gw, dbl ? CUFFT_Z2D : CUFFT_C2R)) || !(have_pi = 1) ||
        (fr = cufftSetStream(pf, s)) || (fr = cufftSetStream(pi, s))) {
        snprintf(err, errcap, "floor: cufftPlan2d/cufftSetStream failed (%d)", (int)fr);
        goto out;
    }
    for (int which = 0; which < 2; which++) {
        for (long r = -3; r < reps; r++) { /* 3 untimed warm-ups */
            if (which) /* an out-of-place C2R overwrites its input: restore it, untimed */
                cudaMemcpyAsync(spec, spec0, nspec * 2 * es, cudaMemcpyDeviceToDevice, s);
            cudaEventRecord(e0, s);
            if (!which)
                fr = dbl ? cufftExecD2Z(pf, real, spec) : cufftExecR2C(pf, real, spec);
            else
                fr = dbl ? cufftExecZ2D(pi, spec, real) : cufftExecC2R(pi, spec, real);
            cudaEventRecord(e1, s);
            float ms = 0;
            if (fr || (ce = cudaEventSynchronize(e1)) || (ce = cudaEventElapsedTime(&ms, e0, e1))) {
                snprintf(err, errcap, "floor: %s failed (%s)", which ? "C2R" : "R2C",
                         fr ? "cufftExec" : cudaGetErrorString(ce));
                goto out;
            }
            if (r >= 0)
                t[r] = ms * 1e-3;
        }
        *(which ? c2r : r2c) = bench_median(t, (size_t)reps);
    }
    rc = 0;
out:
    if (have_pf) cufftDestroy(pf);
    if (have_pi) cufftDestroy(pi);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    if (s) cudaStreamDestroy(s);
    cudaFree(real);
    cudaFree(spec);
    cudaFree(spec0);
    (void)cudaGetLastError();
    free(t);
    return rc;
}

/* ---- the problem ----------------------------------------------------------------------------- */

/* A, K as `kernest synth` draws them; B = same(A ⊛ K) made by the cuda backend in double, then
 * the noise from the same random stream. */
static int make_problem(long n, long seed, kernest_array **A, kernest_array **B, char *err, size_t errcap)
{
    kernest_array *K = NULL;
    kn_backend *be = NULL;
    kn_vec *k = NULL, *r = NULL;
    kn_problem pb;
    int pb_made = 0;
    int st = kernest_array_create2((size_t)(2 * n - 1), (size_t)(2 * n - 1), &K);
    if (!st)
        st = kn_synth_kernel("inv-r", K);
    if (!st)
        st = kernest_array_create2((size_t)n, (size_t)n, A);
    if (!st)
        st = kernest_array_create2((size_t)n, (size_t)n, B); /* zeros: no mask */
    kn_rng rng;
    kn_rng_seed(&rng, (uint64_t)seed);
    if (!st) {
        kn_synth_binary(&rng, 0.2, *A);
        const kernest_array *Ap[1] = {*A}, *Bp[1] = {*B};
        st = kn_problem_init(&pb, Ap, Bp, 1, KERNEST_MODE_SAME, 0, 0, NULL);
        pb_made = !st;
    }
    if (!st)
        st = kn_backend_cuda_create(KERNEST_DOUBLE, -1, &be);
    if (!st)
        st = be->ops->op_setup(be, &pb);
    if (!st)
        st = be->ops->vec_create(be, pb.n, &k);
    if (!st)
        st = be->ops->vec_create(be, pb.m, &r);
    if (!st)
        st = be->ops->vec_upload(be, k, K->data);
    if (!st)
        st = be->ops->op_apply(be, k, r);
    if (!st)
        st = be->ops->vec_download(be, r, (*B)->data);
    if (be) {
        be->ops->vec_destroy(be, &k);
        be->ops->vec_destroy(be, &r);
        kn_backend_destroy(&be);
    }
    if (pb_made)
        kn_problem_free(&pb);
    kernest_array_destroy(&K);
    if (st) {
        snprintf(err, errcap, "making the problem: %s (%s)", kernest_strerror(st), kernest_last_error());
        return 1;
    }
    kn_synth_noise(&rng, 1.0, *B);
    return 0;
}

/* ---- one case: one size, one precision ------------------------------------------------------ */

/* One kn_cgls from x = 0 with tol 0: exactly iters iterations; seconds, or < 0. */
static double timed_cgls(kn_backend *be, const kn_vec *b, kn_vec *x, int iters)
{
    kn_solve_params prm = {.reg = KERNEST_REG_NONE, .maxiter = iters};
    kn_solve_result res = {0};
    be->ops->vec_fill(be, x, 0.0);
    cudaDeviceSynchronize();
    double t0 = kn_now();
    int st = kn_cgls(be, b, &prm, x, &res);
    cudaDeviceSynchronize();
    double t = kn_now() - t0;
    free(res.history);
    return st || res.iterations != iters ? -1.0 : t;
}

/* Mean seconds of reps applications (adjoint: Hᵀ) after one warm-up; < 0 on failure. */
static double timed_op(kn_backend *be, int adjoint, kn_vec *k, kn_vec *r, long reps)
{
    int st = adjoint ? be->ops->op_adjoint(be, r, k) : be->ops->op_apply(be, k, r);
    cudaDeviceSynchronize();
    double t0 = kn_now();
    for (long i = 0; !st && i < reps; i++)
        st = adjoint ? be->ops->op_adjoint(be, r, k) : be->ops->op_apply(be, k, r);
    cudaDeviceSynchronize();
    return st ? -1.0 : (kn_now() - t0) / (double)reps;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, sizeof err, __VA_ARGS__);                                                    \
        goto done;                                                                                 \
    } while (0)

/* Measures one case and records it; returns 0 when every measurement succeeded. */
static int run_case(const args *a, long n, kernest_precision p, const kernest_array *A,
                    const kernest_array *B)
{
    const int dbl = p == KERNEST_DOUBLE;
    const char *pname = dbl ? "double" : "single";
    char err[1024] = "", text[4096];
    double r2c = NAN, c2r = NAN, apply_s = NAN, adjoint_s = NAN, iter_s = NAN, setup_s = NAN;
    double tol_wall = NAN, tol_solve = NAN, tol_res = NAN;
    int tol_iters = -1;
    const char *tol_reason = "";
    size_t op_bytes = 0, setup_measured = 0, used0 = used_bytes(), peak = used0;
    kn_backend *be = NULL;
    kn_vec *x = NULL, *b = NULL, *k = NULL, *r = NULL;
    kn_problem pb;
    const kernest_array *Ap[1] = {A}, *Bp[1] = {B};
    int pb_made = 0;
    fprintf(stderr, "bench_gpu: N = %ld, %s\n", n, pname);
    int st = kn_problem_init(&pb, Ap, Bp, 1, KERNEST_MODE_SAME, 0, 0, NULL);
    if (st)
        FAIL("kn_problem_init: %s", kernest_last_error());
    pb_made = 1;

    if (floor_time(pb.grid_h, pb.grid_w, dbl, a->floor_reps, &r2c, &c2r, err, sizeof err))
        goto done;
    const double floor_iter = 2 * r2c + 2 * c2r;

    if ((st = kn_backend_cuda_create(p, -1, &be)))
        FAIL("kn_backend_cuda_create: %s", kernest_last_error());
    cudaDeviceSynchronize();
    size_t before = used_bytes();
    op_bytes = be->ops->op_bytes(be, &pb);
    double t0 = kn_now();
    if ((st = be->ops->op_setup(be, &pb)))
        FAIL("op_setup: %s", kernest_last_error());
    cudaDeviceSynchronize();
    setup_s = kn_now() - t0;
    size_t after = used_bytes();
    setup_measured = after > before ? after - before : 0;
    if ((st = be->ops->vec_create(be, pb.n, &x)) || (st = be->ops->vec_create(be, pb.m, &b)) ||
        (st = be->ops->vec_create(be, pb.n, &k)) || (st = be->ops->vec_create(be, pb.m, &r)) ||
        (st = be->ops->vec_upload(be, b, B->data)) || (st = be->ops->vec_copy(be, r, b)) ||
        (st = be->ops->op_adjoint(be, b, k)))
        FAIL("vectors: %s", kernest_last_error());
    if ((apply_s = timed_op(be, 0, k, r, a->op_reps)) < 0 || (adjoint_s = timed_op(be, 1, k, r, a->op_reps)) < 0)
        FAIL("op_apply/op_adjoint: %s", kernest_last_error());
    if (timed_cgls(be, b, x, (int)a->iters) < 0) /* warm-up */
        FAIL("kn_cgls: %s", kernest_last_error());
    double *tf = calloc((size_t)a->reps, sizeof *tf), *ti = calloc((size_t)a->reps, sizeof *ti);
    if (!tf || !ti) {
        free(tf);
        free(ti);
        FAIL("out of host memory");
    }
    for (long i = 0; i < a->reps; i++) {
        tf[i] = timed_cgls(be, b, x, (int)a->iters);
        ti[i] = timed_cgls(be, b, x, 0);
        if (tf[i] < 0 || ti[i] < 0) {
            free(tf);
            free(ti);
            FAIL("kn_cgls: %s", kernest_last_error());
        }
    }
    iter_s = (bench_median(tf, (size_t)a->reps) - bench_median(ti, (size_t)a->reps)) / (double)a->iters;
    free(tf);
    free(ti);
    size_t u = used_bytes();
    if (u > peak)
        peak = u;
    be->ops->vec_destroy(be, &x);
    be->ops->vec_destroy(be, &b);
    be->ops->vec_destroy(be, &k);
    be->ops->vec_destroy(be, &r);
    kn_backend_destroy(&be);

    /* time to tolerance through the public API, as a user runs it */
    kernest_options opt;
    kernest_options_default(&opt);
    opt.mode = KERNEST_MODE_SAME;
    opt.tol = a->tol;
    opt.maxiter = (int)a->maxiter;
    opt.precision = p;
    opt.device = KERNEST_DEVICE_CUDA;
    opt.device_index = -1;
    kernest_array *Kh = NULL;
    kernest_report *rep = NULL;
    if ((st = kernest_estimate(Ap, Bp, 1, &opt, &Kh, &rep)))
        FAIL("kernest_estimate: %s", kernest_last_error());
    tol_wall = rep->wall_seconds;
    tol_solve = rep->solve_seconds;
    tol_iters = rep->iterations;
    tol_reason = kernest_stop_reason_name(rep->reason);
    tol_res = rep->residual_history[rep->iterations];
    kernest_array_destroy(&Kh);
    kernest_report_destroy(&rep);

    snprintf(text, sizeof text,
             "{\"N\": %ld, \"precision\": \"%s\", \"kernel\": [%zu, %zu], \"grid\": [%zu, %zu], "
             "\"floor_r2c_s\": %.6e, \"floor_c2r_s\": %.6e, \"floor_iter_s\": %.6e, "
             "\"op_apply_s\": %.6e, \"op_adjoint_s\": %.6e, \"iter_s\": %.6e, "
             "\"ratio_iter_over_floor\": %.4f, \"setup_s\": %.6e, \"op_bytes\": %zu, "
             "\"setup_bytes_measured\": %zu, \"peak_bytes_between_phases\": %zu, "
             "\"baseline_bytes\": %zu, \"iterations_to_tol\": %d, \"stop_reason\": \"%s\", "
             "\"final_relative_residual\": %.6e, \"time_to_tol_s\": %.6e, \"time_to_tol_wall_s\": %.6e}",
             n, pname, pb.kh, pb.kw, pb.grid_h, pb.grid_w, r2c, c2r, floor_iter, apply_s, adjoint_s,
             iter_s, iter_s / floor_iter, setup_s, op_bytes, setup_measured, peak, used0, tol_iters,
             tol_reason, tol_res, tol_solve, tol_wall);
    add_case(a, text);
    fprintf(stderr, "bench_gpu: N = %ld %s: floor %.3g ms/iter, CGLS %.3g ms/iter (%.2fx), "
                    "%d iterations to %g in %.3g s; op_bytes %zu, measured %zu\n",
            n, pname, 1e3 * floor_iter, 1e3 * iter_s, iter_s / floor_iter, tol_iters, a->tol,
            tol_wall, op_bytes, setup_measured);
done:
    if (be) {
        be->ops->vec_destroy(be, &x);
        be->ops->vec_destroy(be, &b);
        be->ops->vec_destroy(be, &k);
        be->ops->vec_destroy(be, &r);
        kn_backend_destroy(&be);
    }
    if (pb_made)
        kn_problem_free(&pb);
    if (*err) {
        /* quotes and backslashes would break the JSON string */
        for (char *c = err; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                *c = '\'';
        snprintf(text, sizeof text, "{\"N\": %ld, \"precision\": \"%s\", \"error\": \"%s\"}", n, pname, err);
        add_case(a, text);
        fprintf(stderr, "bench_gpu: N = %ld %s FAILED: %s\n", n, pname, err);
        return 1;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------- */

static int parse_list(const char *s, args *a, int precisions)
{
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return 1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (precisions) {
            if (a->nprec == 2 || (strcmp(tok, "single") && strcmp(tok, "double"))) {
                free(copy);
                return 1;
            }
            a->prec[a->nprec++] = !strcmp(tok, "double") ? KERNEST_DOUBLE : KERNEST_SINGLE;
        } else {
            long v = atol(tok);
            if (a->nsizes == 16 || v < 2) {
                free(copy);
                return 1;
            }
            a->sizes[a->nsizes++] = v;
        }
    }
    free(copy);
    return precisions ? a->nprec == 0 : a->nsizes == 0;
}

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option lo[] = {
        {"sizes", required_argument, 0, 'S'},      {"precisions", required_argument, 0, 'P'},
        {"iters", required_argument, 0, 'i'},      {"reps", required_argument, 0, 'r'},
        {"op-reps", required_argument, 0, 'O'},    {"floor-reps", required_argument, 0, 'F'},
        {"tol", required_argument, 0, 'o'},        {"maxiter", required_argument, 0, 'm'},
        {"budget", required_argument, 0, 'b'},     {"seed", required_argument, 0, 's'},
        {"json", required_argument, 0, 'j'},       {"save-data", required_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *a = (args){.iters = 20, .reps = 3, .op_reps = 10, .floor_reps = 20, .maxiter = 1000, .seed = 1,
                .tol = 1e-4, .budget = 120};
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'S': bad |= parse_list(optarg, a, 0); break;
        case 'P': bad |= parse_list(optarg, a, 1); break;
        case 'i': a->iters = atol(optarg); break;
        case 'r': a->reps = atol(optarg); break;
        case 'O': a->op_reps = atol(optarg); break;
        case 'F': a->floor_reps = atol(optarg); break;
        case 'o': a->tol = atof(optarg); break;
        case 'm': a->maxiter = atol(optarg); break;
        case 'b': a->budget = atof(optarg); break;
        case 's': a->seed = atol(optarg); break;
        case 'j': a->json = optarg; break;
        case 'D': a->save_dir = optarg; break;
        case 'h': fputs(usage, stdout); exit(0);
        default: bad = 1;
        }
    }
    if (!a->nsizes) {
        long d[5] = {512, 1024, 2048, 4096, 8192};
        for (int i = 0; i < 5; i++)
            a->sizes[a->nsizes++] = d[i];
    }
    if (!a->nprec) {
        a->prec[a->nprec++] = KERNEST_SINGLE;
        a->prec[a->nprec++] = KERNEST_DOUBLE;
    }
    if (bad || optind != argc || a->iters < 1 || a->reps < 1 || a->op_reps < 1 || a->floor_reps < 1 ||
        a->maxiter < 1 || !(a->tol >= 0) || a->seed < 0) {
        fputs(usage, stderr);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    int count = 0;
    if (kn_cuda_device_count(&count) || count == 0) {
        char info[2048];
        (void)kn_cuda_info_string(info, sizeof info);
        fprintf(stderr, "bench_gpu: skipped: %s\n", kernest_last_error());
        return 77;
    }
    char info[4096];
    if (kn_cuda_info_string(info, sizeof info) == KERNEST_OK) {
        char *line = strstr(info, "cuda:0 ");
        snprintf(device_line, sizeof device_line, "%.*s", line ? (int)strcspn(line, "\n") : 0, line ? line : "");
        for (char *c = device_line; *c; c++)
            if (*c == '"' || *c == '\\')
                *c = '\'';
    }
    const double start = kn_now();
    int failed = 0;
    json_flush(&a);
    for (int i = 0; i < a.nsizes; i++) {
        long n = a.sizes[i];
        if (kn_now() - start > a.budget) {
            fprintf(stderr, "bench_gpu: budget of %g s spent: N = %ld and above left out\n", a.budget, n);
            char text[256];
            snprintf(text, sizeof text, "{\"N\": %ld, \"skipped\": \"the --budget of %g s was spent\"}", n, a.budget);
            add_case(&a, text);
            continue;
        }
        kernest_array *A = NULL, *B = NULL;
        char err[1024];
        if (make_problem(n, a.seed, &A, &B, err, sizeof err)) {
            fprintf(stderr, "bench_gpu: N = %ld: %s\n", n, err);
            char text[1400];
            for (char *c = err; *c; c++)
                if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                    *c = '\'';
            snprintf(text, sizeof text, "{\"N\": %ld, \"error\": \"%s\"}", n, err);
            add_case(&a, text);
            failed = 1;
            continue;
        }
        if (a.save_dir) {
            char path[4096];
            const char *names[2] = {"A", "B"};
            const kernest_array *arrs[2] = {A, B};
            for (int j = 0; j < 2; j++) {
                snprintf(path, sizeof path, "%s/%s_%ld.npy", a.save_dir, names[j], n);
                if (kernest_npy_write(path, arrs[j], KERNEST_DOUBLE)) {
                    fprintf(stderr, "bench_gpu: %s: %s\n", path, kernest_last_error());
                    failed = 1;
                }
            }
        }
        for (int j = 0; j < a.nprec; j++)
            failed |= run_case(&a, n, (kernest_precision)a.prec[j], A, B);
        kernest_array_destroy(&A);
        kernest_array_destroy(&B);
    }
    json_write(&a, stdout);
    for (int i = 0; i < ncases; i++)
        free(cases_json[i]);
    return failed;
}

#endif
