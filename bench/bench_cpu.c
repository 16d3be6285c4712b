/* bench_cpu.c — CPU speed of one CGLS iteration against the FFTW transforms it needs (the floor), and time to tolerance. */
#define _GNU_SOURCE
#include <fftw3.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "base/clock.h"
#include "backend/cpu/fftw_wisdom.h"
#include "kernest.h"
#include "backend/problem.h"
#include "solve/cgls.h"
#include "base/synth.h"

static const char usage[] =
    "usage: bench_cpu [options]\n"
    "\n"
    "Builds the original question at size N exactly as `kernest synth --n N --seed S` does\n"
    "(binary A with 20%% ones, 1/r kernel on (2N-1)x(2N-1), B = same(A (*) K) + N(0,1) noise),\n"
    "then measures in one process:\n"
    "  floor   median time of one FFTW R2C and one C2R execute on the problem's FFT grid\n"
    "          (same planner flags, threads and precision as kernest); one CGLS iteration\n"
    "          with P pairs needs (1+P) R2C + (P+1) C2R;\n"
    "  iter    kernest's CGLS (tol 0, fixed iteration count) per iteration, set-up excluded;\n"
    "  tol     kernest_estimate to the tolerance: iterations and seconds.\n"
    "Prints one JSON object on stdout.\n"
    "\n"
    "options:\n"
    "  --n N               A is NxN (default 128)\n"
    "  --threads T         CPU threads, 0 = all cores (default 0)\n"
    "  --precision P       double | single (default double)\n"
    "  --iters M           fixed CGLS iterations per timed solve (default 20)\n"
    "  --reps R            rounds of (floor, fixed-iteration solve); medians (default 5)\n"
    "  --floor-min-reps F  per round, at least F timed executes of each transform (default 10)\n"
    "  --floor-min-time S  and at least S seconds of them (default 0.2)\n"
    "  --tol T             tolerance of the time-to-tolerance solve (default 1e-6)\n"
    "  --maxiter N         iteration cap of that solve (default 500)\n"
    "  --tol-reps R        repetitions of that solve; median (default 1)\n"
    "  --seed S            seed, as kernest synth --seed (default 1)\n"
    "  --check-data DIR    compare the problem with DIR/A.npy, DIR/B.npy written by\n"
    "                      `kernest synth -o DIR --n N --seed S`, exit 1 when they differ,\n"
    "                      and solve the files' data (what scipy_lsqr.py reads)\n";

typedef struct args {
    long n, threads, iters, reps, floor_min_reps, maxiter, tol_reps, seed;
    double floor_min_time, tol;
    kernest_precision precision;
    const char *check_dir;
} args;

static int die(const char *what, int st)
{
    fprintf(stderr, "bench_cpu: %s: %s (%s)\n", what, kernest_strerror(st), kernest_last_error());
    return 1;
}

/* ---- the floor: FFTW transforms alone on the problem's grid ------------------------------ */

/* Both precisions' plans and arrays; only the one of the run's precision is used. */
typedef struct floor_ctx {
    kernest_precision precision;
    size_t nreal, ncplx;
    double *real_d;
    fftw_complex *spec_d, *src_d;
    fftw_plan r2c_d, c2r_d;
    float *real_f;
    fftwf_complex *spec_f, *src_f;
    fftwf_plan r2c_f, c2r_f;
} floor_ctx;

static void floor_free(floor_ctx *f)
{
    if (f->r2c_d) fftw_destroy_plan(f->r2c_d);
    if (f->c2r_d) fftw_destroy_plan(f->c2r_d);
    if (f->r2c_f) fftwf_destroy_plan(f->r2c_f);
    if (f->c2r_f) fftwf_destroy_plan(f->c2r_f);
    fftw_free(f->real_d);
    fftw_free(f->spec_d);
    fftw_free(f->src_d);
    fftwf_free(f->real_f);
    fftwf_free(f->spec_f);
    fftwf_free(f->src_f);
    memset(f, 0, sizeof *f);
}

/* Plans as the CPU backend does: out of place, fftw_malloc'd arrays, kn_fftw_flags(), the same
 * thread count and precision. The R2C input is A zero-padded on the grid, like the data kernest
 * transforms; the C2R input is its spectrum over the grid size (restored before each execute,
 * since an out-of-place C2R destroys its input). */
static int floor_init(floor_ctx *f, kernest_precision precision, const kernest_array *A, size_t gh,
                      size_t gw, int threads)
{
    const size_t gc = gw / 2 + 1;
    memset(f, 0, sizeof *f);
    f->precision = precision;
    f->nreal = gh * gw;
    f->ncplx = gh * gc;
    kn_fftw_init(precision);
    int ok = 0;
    if (precision == KERNEST_DOUBLE) {
        f->real_d = fftw_malloc(f->nreal * sizeof(double));
        f->spec_d = fftw_malloc(f->ncplx * sizeof(fftw_complex));
        f->src_d = fftw_malloc(f->ncplx * sizeof(fftw_complex));
        if (f->real_d && f->spec_d && f->src_d) {
            fftw_plan_with_nthreads(threads);
            f->r2c_d = fftw_plan_dft_r2c_2d((int)gh, (int)gw, f->real_d, f->spec_d, kn_fftw_flags());
            f->c2r_d = fftw_plan_dft_c2r_2d((int)gh, (int)gw, f->spec_d, f->real_d, kn_fftw_flags());
        }
        if ((ok = f->r2c_d && f->c2r_d)) {
            memset(f->real_d, 0, f->nreal * sizeof(double));
            for (size_t y = 0; y < A->shape[0]; y++)
                for (size_t x = 0; x < A->shape[1]; x++)
                    f->real_d[y * gw + x] = A->data[y * A->shape[1] + x];
            fftw_execute_dft_r2c(f->r2c_d, f->real_d, f->src_d);
            const double s = 1.0 / (double)f->nreal;
            for (size_t j = 0; j < f->ncplx; j++) {
                f->src_d[j][0] *= s;
                f->src_d[j][1] *= s;
            }
        }
    } else {
        f->real_f = fftwf_malloc(f->nreal * sizeof(float));
        f->spec_f = fftwf_malloc(f->ncplx * sizeof(fftwf_complex));
        f->src_f = fftwf_malloc(f->ncplx * sizeof(fftwf_complex));
        if (f->real_f && f->spec_f && f->src_f) {
            fftwf_plan_with_nthreads(threads);
            f->r2c_f = fftwf_plan_dft_r2c_2d((int)gh, (int)gw, f->real_f, f->spec_f, kn_fftw_flags());
            f->c2r_f = fftwf_plan_dft_c2r_2d((int)gh, (int)gw, f->spec_f, f->real_f, kn_fftw_flags());
        }
        if ((ok = f->r2c_f && f->c2r_f)) {
            memset(f->real_f, 0, f->nreal * sizeof(float));
            for (size_t y = 0; y < A->shape[0]; y++)
                for (size_t x = 0; x < A->shape[1]; x++)
                    f->real_f[y * gw + x] = (float)A->data[y * A->shape[1] + x];
            fftwf_execute_dft_r2c(f->r2c_f, f->real_f, f->src_f);
            const float s = (float)(1.0 / (double)f->nreal);
            for (size_t j = 0; j < f->ncplx; j++) {
                f->src_f[j][0] *= s;
                f->src_f[j][1] *= s;
            }
        }
    }
    if (!ok) {
        fprintf(stderr, "bench_cpu: FFTW could not plan or allocate a %zux%zu transform\n", gh, gw);
        floor_free(f);
        return 1;
    }
    return 0;
}

/* One execute of the R2C (c2r = 0) or the C2R (c2r = 1); returns its seconds. */
static double floor_exec(floor_ctx *f, int c2r)
{
    double t0;
    if (f->precision == KERNEST_DOUBLE) {
        if (!c2r) {
            t0 = kn_now();
            fftw_execute_dft_r2c(f->r2c_d, f->real_d, f->spec_d);
        } else {
            memcpy(f->spec_d, f->src_d, f->ncplx * sizeof(fftw_complex));
            t0 = kn_now();
            fftw_execute_dft_c2r(f->c2r_d, f->spec_d, f->real_d);
        }
    } else {
        if (!c2r) {
            t0 = kn_now();
            fftwf_execute_dft_r2c(f->r2c_f, f->real_f, f->spec_f);
        } else {
            memcpy(f->spec_f, f->src_f, f->ncplx * sizeof(fftwf_complex));
            t0 = kn_now();
            fftwf_execute_dft_c2r(f->c2r_f, f->spec_f, f->real_f);
        }
    }
    return kn_now() - t0;
}

/* One round: executes of one transform, one at a time, until min_reps and min_time are both
 * reached (at most 20000), after 3 untimed warm-ups; returns the median, *reps the count. */
static double floor_round(floor_ctx *f, int c2r, long min_reps, double min_time, long *reps)
{
    size_t cap = 20000, n = 0;
    double *t = malloc(cap * sizeof *t), total = 0.0;
    if (!t)
        return NAN;
    for (int w = 0; w < 3; w++)
        floor_exec(f, c2r);
    while (n < cap && ((long)n < min_reps || total < min_time)) {
        t[n] = floor_exec(f, c2r);
        total += t[n++];
    }
    double m = bench_median(t, n);
    free(t);
    *reps += (long)n;
    return m;
}

/* ---- the problem --------------------------------------------------------------------------- */

/* The original question, in the order kernest synth draws it: A, then B's noise, from one stream. */
static int make_problem(const args *a, kernest_array **A, kernest_array **B, kernest_array **K)
{
    const size_t n = (size_t)a->n;
    int st = kernest_array_create2(2 * n - 1, 2 * n - 1, K);
    if (!st)
        st = kn_synth_kernel("inv-r", *K);
    if (!st)
        st = kernest_array_create2(n, n, A);
    if (st)
        return die("making the problem", st);
    kn_rng rng;
    kn_rng_seed(&rng, (uint64_t)a->seed);
    kn_synth_binary(&rng, 0.2, *A);
    if ((st = kernest_convolve(*A, *K, KERNEST_MODE_SAME, B)))
        return die("kernest_convolve", st);
    kn_synth_noise(&rng, 1.0, *B);
    return 0;
}

/* Reads DIR/name into *y and returns the largest |x − y| relative to max |x|; <0 on failure. */
static double compare_with(const char *dir, const char *name, const kernest_array *x,
                           kernest_array **y)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int st = kernest_npy_read(path, y);
    if (st) {
        die(path, st);
        return -1.0;
    }
    if ((*y)->size != x->size || (*y)->ndim != 2 || (*y)->shape[0] != x->shape[0]) {
        fprintf(stderr, "bench_cpu: %s: shape differs from the problem\n", path);
        return -1.0;
    }
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < x->size; i++) {
        d = fmax(d, fabs(x->data[i] - (*y)->data[i]));
        m = fmax(m, fabs(x->data[i]));
    }
    return m > 0 ? d / m : d;
}

/* ---- main ---------------------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option lo[] = {
        {"n", required_argument, 0, 'n'},           {"threads", required_argument, 0, 't'},
        {"precision", required_argument, 0, 'p'},   {"iters", required_argument, 0, 'i'},
        {"reps", required_argument, 0, 'r'},        {"floor-min-reps", required_argument, 0, 'F'},
        {"floor-min-time", required_argument, 0, 'T'}, {"tol", required_argument, 0, 'o'},
        {"maxiter", required_argument, 0, 'm'},     {"tol-reps", required_argument, 0, 'R'},
        {"seed", required_argument, 0, 's'},        {"check-data", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    *a = (args){.n = 128, .threads = 0, .iters = 20, .reps = 5, .floor_min_reps = 10,
                .maxiter = 500, .tol_reps = 1, .seed = 1, .floor_min_time = 0.2, .tol = 1e-6,
                .precision = KERNEST_DOUBLE, .check_dir = NULL};
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'n': a->n = atol(optarg); break;
        case 't': a->threads = atol(optarg); break;
        case 'p':
            if (!strcmp(optarg, "double")) a->precision = KERNEST_DOUBLE;
            else if (!strcmp(optarg, "single")) a->precision = KERNEST_SINGLE;
            else { fprintf(stderr, "bench_cpu: --precision: double or single\n"); return 2; }
            break;
        case 'i': a->iters = atol(optarg); break;
        case 'r': a->reps = atol(optarg); break;
        case 'F': a->floor_min_reps = atol(optarg); break;
        case 'T': a->floor_min_time = atof(optarg); break;
        case 'o': a->tol = atof(optarg); break;
        case 'm': a->maxiter = atol(optarg); break;
        case 'R': a->tol_reps = atol(optarg); break;
        case 's': a->seed = atol(optarg); break;
        case 'c': a->check_dir = optarg; break;
        case 'h': fputs(usage, stdout); exit(0);
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind != argc || a->n < 1 || a->iters < 1 || a->reps < 1 || a->tol_reps < 1 ||
        a->maxiter < 1 || a->threads < 0 || !(a->tol >= 0) || a->seed < 0) {
        fputs(usage, stderr);
        return 2;
    }
    return 0;
}

/* One kn_cgls from x = 0 with tol 0: exactly `iters` iterations; returns seconds or <0. */
static double timed_cgls(kn_backend *be, const kn_vec *b, kn_vec *x, int iters)
{
    kn_solve_params prm = {.reg = KERNEST_REG_NONE, .maxiter = iters};
    kn_solve_result res = {0};
    be->ops->vec_fill(be, x, 0.0);
    double t0 = kn_now();
    int st = kn_cgls(be, b, &prm, x, &res);
    double t = kn_now() - t0;
    free(res.history);
    if (st) {
        die("kn_cgls", st);
        return -1.0;
    }
    if (res.iterations != iters) {
        fprintf(stderr, "bench_cpu: kn_cgls stopped after %d of %d iterations (%s)\n",
                res.iterations, iters, kernest_stop_reason_name(res.reason));
        return -1.0;
    }
    return t;
}

int main(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    int threads = (int)a.threads;
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)nc : 1;
    }
    kernest_array *A = NULL, *B = NULL, *K = NULL;
    if (make_problem(&a, &A, &B, &K))
        return 1;
    /* With --check-data the files are what both tools solve (bit for bit): the problem made here
     * must equal them, up to the rounding of the FFT plans FFTW picked for each */
    double diff_a = -1.0, diff_b = -1.0;
    if (a.check_dir) {
        kernest_array *fa = NULL, *fb = NULL;
        diff_a = compare_with(a.check_dir, "A.npy", A, &fa);
        diff_b = diff_a < 0 ? -1.0 : compare_with(a.check_dir, "B.npy", B, &fb);
        if (!(diff_a == 0.0 && diff_b >= 0.0 && diff_b <= 1e-10)) {
            fprintf(stderr, "bench_cpu: the problem differs from %s (max relative |dA| %g, |dB| %g)\n",
                    a.check_dir, diff_a, diff_b);
            return 1;
        }
        kernest_array_destroy(&A);
        kernest_array_destroy(&B);
        A = fa;
        B = fb;
    }

    const kernest_array *Ap[1] = {A}, *Bp[1] = {B};
    kn_problem pb;
    int st = kn_problem_init(&pb, Ap, Bp, 1, KERNEST_MODE_SAME, 0, 0, NULL);
    if (st)
        return die("kn_problem_init", st);
    const size_t P = pb.npairs;

    /* (i) the floor and (ii) kernest per iteration, in alternating rounds so that both see the
     * same machine: round r times the R2C, the C2R, kn_cgls(iters) and kn_cgls(0). The marginal
     * cost of an iteration is (t(iters) − t(0)) / iters: kn_cgls(0) is the solver's start (its
     * vectors, r = b − Hx, s = Hᵀr). Set-up (planning, FFT of A) is timed apart. */
    floor_ctx fc;
    if (floor_init(&fc, a.precision, A, pb.grid_h, pb.grid_w, threads))
        return 1;
    kn_backend *be = NULL;
    kn_vec *x = NULL, *b = NULL;
    double t0 = kn_now();
    if ((st = kn_backend_cpu_create(a.precision, threads, &be)))
        return die("kn_backend_cpu_create", st);
    if ((st = be->ops->op_setup(be, &pb)))
        return die("op_setup", st);
    const double setup_s = kn_now() - t0;
    if ((st = be->ops->vec_create(be, pb.n, &x)) || (st = be->ops->vec_create(be, pb.m, &b)) ||
        (st = be->ops->vec_upload(be, b, B->data)))
        return die("vectors", st);
    const size_t R = (size_t)a.reps;
    double *t_full = calloc(R, sizeof(double)), *t_init = calloc(R, sizeof(double));
    double *f_r2c = calloc(R, sizeof(double)), *f_c2r = calloc(R, sizeof(double));
    double *ratio = calloc(R, sizeof(double)), *tmp = calloc(R, sizeof(double));
    if (!t_full || !t_init || !f_r2c || !f_c2r || !ratio || !tmp)
        return die("timings", KERNEST_E_NOMEM);
    long r2c_reps = 0, c2r_reps = 0;
    if (timed_cgls(be, b, x, (int)a.iters) < 0) /* warm-up */
        return 1;
    for (size_t r = 0; r < R; r++) {
        f_r2c[r] = floor_round(&fc, 0, a.floor_min_reps, a.floor_min_time, &r2c_reps);
        f_c2r[r] = floor_round(&fc, 1, a.floor_min_reps, a.floor_min_time, &c2r_reps);
        if ((t_full[r] = timed_cgls(be, b, x, (int)a.iters)) < 0 ||
            (t_init[r] = timed_cgls(be, b, x, 0)) < 0)
            return 1;
        ratio[r] = ((t_full[r] - t_init[r]) / (double)a.iters) /
                   ((double)(1 + P) * f_r2c[r] + (double)(P + 1) * f_c2r[r]);
    }
#define MED(v) (memcpy(tmp, (v), R * sizeof(double)), bench_median(tmp, R))
    const double r2c_s = MED(f_r2c), c2r_s = MED(f_c2r);
    const double floor_iter = (double)(1 + P) * r2c_s + (double)(P + 1) * c2r_s;
    const double med_full = MED(t_full), med_init = MED(t_init);
    const double iter_s = (med_full - med_init) / (double)a.iters;
    const double iter_s_incl_start = med_full / (double)a.iters;
    const double ratio_rounds = MED(ratio);
    double fmin_r2c = f_r2c[0], fmin_c2r = f_c2r[0], tmin_full = t_full[0], tmin_init = t_init[0];
    for (size_t r = 1; r < R; r++) {
        fmin_r2c = fmin(fmin_r2c, f_r2c[r]);
        fmin_c2r = fmin(fmin_c2r, f_c2r[r]);
        tmin_full = fmin(tmin_full, t_full[r]);
        tmin_init = fmin(tmin_init, t_init[r]);
    }
    const double iter_s_min = (tmin_full - tmin_init) / (double)a.iters;
    const double floor_iter_min = (double)(1 + P) * fmin_r2c + (double)(P + 1) * fmin_c2r;
#undef MED
    be->ops->vec_destroy(be, &x);
    be->ops->vec_destroy(be, &b);
    kn_backend_destroy(&be);
    floor_free(&fc);

    /* (iii) time to tolerance through the public API */
    kernest_options opt;
    kernest_options_default(&opt);
    opt.mode = KERNEST_MODE_SAME;
    opt.tol = a.tol;
    opt.maxiter = (int)a.maxiter;
    opt.threads = threads;
    opt.precision = a.precision;
    opt.device = KERNEST_DEVICE_CPU;
    double *t_tol = calloc((size_t)a.tol_reps, sizeof *t_tol);
    double *t_tol_wall = calloc((size_t)a.tol_reps, sizeof *t_tol_wall);
    double *t_tol_setup = calloc((size_t)a.tol_reps, sizeof *t_tol_setup);
    int tol_iters = -1;
    double tol_res = NAN, tol_rms = NAN;
    const char *tol_reason = "";
    for (long r = 0; r < a.tol_reps; r++) {
        kernest_array *Kh = NULL;
        kernest_report *rep = NULL;
        if ((st = kernest_estimate(Ap, Bp, 1, &opt, &Kh, &rep)))
            return die("kernest_estimate", st);
        t_tol[r] = rep->solve_seconds;
        t_tol_wall[r] = rep->wall_seconds;
        t_tol_setup[r] = rep->setup_seconds;
        tol_iters = rep->iterations;
        tol_reason = kernest_stop_reason_name(rep->reason);
        tol_res = rep->residual_history[rep->iterations];
        tol_rms = rep->misfit[0].rms;
        kernest_array_destroy(&Kh);
        kernest_report_destroy(&rep);
    }
    const double tol_solve = bench_median(t_tol, (size_t)a.tol_reps);
    const double tol_wall = bench_median(t_tol_wall, (size_t)a.tol_reps);
    const double tol_setup = bench_median(t_tol_setup, (size_t)a.tol_reps);

    const char *planner = getenv("KERNEST_FFTW_PLANNER");
    printf("{\"bench\": \"bench_cpu\", \"kernest_version\": \"%s\", \"fftw_version\": \"%s\", "
           "\"N\": %ld, \"kernel\": [%zu, %zu], \"grid\": [%zu, %zu], \"pairs\": %zu, "
           "\"threads\": %d, \"precision\": \"%s\", \"planner\": \"%s\", \"seed\": %ld, "
           "\"data_checked_against\": %s%s%s, \"data_max_rel_diff_B\": %.3g, ",
           KERNEST_VERSION_STRING, kernest_fftw_version(), a.n, pb.kh, pb.kw, pb.grid_h,
           pb.grid_w, P, threads, a.precision == KERNEST_SINGLE ? "single" : "double",
           planner && *planner ? planner : "measure", a.seed, a.check_dir ? "\"" : "",
           a.check_dir ? a.check_dir : "null", a.check_dir ? "\"" : "", diff_b);
    printf("\"floor_r2c_s\": %.6e, \"floor_c2r_s\": %.6e, \"floor_r2c_reps\": %ld, "
           "\"floor_c2r_reps\": %ld, \"floor_iter_s\": %.6e, \"floor_iter_s_min\": %.6e, ",
           r2c_s, c2r_s, r2c_reps, c2r_reps, floor_iter, floor_iter_min);
    printf("\"iters\": %ld, \"reps\": %ld, \"iter_s\": %.6e, \"iter_s_incl_start\": %.6e, "
           "\"iter_s_min\": %.6e, \"ratio_iter_over_floor\": %.4f, "
           "\"ratio_iter_over_floor_rounds\": %.4f, \"ratio_iter_over_floor_min\": %.4f, "
           "\"setup_s\": %.6e, ",
           a.iters, a.reps, iter_s, iter_s_incl_start, iter_s_min, iter_s / floor_iter,
           ratio_rounds, iter_s_min / floor_iter_min, setup_s);
    const char *names[4] = {"floor_r2c_s_rounds", "floor_c2r_s_rounds", "cgls_s_raw", "cgls_start_s_raw"};
    const double *vals[4] = {f_r2c, f_c2r, t_full, t_init};
    for (int v = 0; v < 4; v++) {
        printf("\"%s\": [", names[v]);
        for (size_t r = 0; r < R; r++)
            printf("%s%.6e", r ? ", " : "", vals[v][r]);
        printf("], ");
    }
    printf("\"tol\": %g, \"maxiter\": %ld, \"iterations_to_tol\": %d, \"stop_reason\": \"%s\", "
           "\"final_relative_residual\": %.6e, \"rms_misfit\": %.6e, \"time_to_tol_s\": %.6e, "
           "\"time_to_tol_wall_s\": %.6e, \"time_to_tol_setup_s\": %.6e, \"tol_reps\": %ld}\n",
           a.tol, a.maxiter, tol_iters, tol_reason, tol_res, tol_rms, tol_solve, tol_wall,
           tol_setup, a.tol_reps);

    free(t_full);
    free(t_init);
    free(f_r2c);
    free(f_c2r);
    free(ratio);
    free(tmp);
    free(t_tol);
    free(t_tol_wall);
    free(t_tol_setup);
    kn_problem_free(&pb);
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
    kernest_array_destroy(&K);
    return 0;
}
