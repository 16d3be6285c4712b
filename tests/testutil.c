/* testutil.c — helpers shared by the Criterion tests (see testutil.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "base/rng.h"
#include "base/synth.h"
#include "testutil.h"

/* Every test program (and the CLI it runs) plans with FFTW_ESTIMATE unless told otherwise:
 * FFTW's measuring planner would cost seconds per run and tests do not time anything. */
__attribute__((constructor)) static void fast_planner(void)
{
    setenv("KERNEST_FFTW_PLANNER", "estimate", 0);
}

char *tu_dir;

void tu_dir_setup(void)
{
    tu_dir = tu_tmpdir();
    cr_assert_not_null(tu_dir, "cannot create a temporary folder");
}

void tu_dir_teardown(void)
{
    tu_rmtree(tu_dir);
    free(tu_dir);
    tu_dir = NULL;
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = NULL;
    if (asprintf(&tmpl, "%s/kernest-test-XXXXXX", base && *base ? base : "/tmp") < 0)
        return NULL;
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

void tu_rmtree(const char *dir)
{
    if (!dir)
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = tu_path(dir, e->d_name);
            struct stat st;
            if (p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                tu_rmtree(p);
            else if (p)
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

char *tu_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

int tu_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

int tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

int tu_run_cli(const char *args, char *err, size_t cap)
{
    char errfile[] = "/tmp/kernest-cli-err-XXXXXX";
    int fd = mkstemp(errfile);
    if (fd < 0)
        return -1;
    close(fd);
    char *cmd = NULL;
    if (asprintf(&cmd, "'%s' %s >/dev/null 2>'%s' </dev/null", KERNEST_CLI, args, errfile) < 0)
        return -1;
    int st = system(cmd);
    free(cmd);
    if (err && cap) {
        err[0] = '\0';
        FILE *f = fopen(errfile, "rb");
        if (f) {
            size_t n = fread(err, 1, cap - 1, f);
            err[n] = '\0';
            fclose(f);
        }
    }
    unlink(errfile);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

kernest_options tu_cpu_options(size_t kh, size_t kw)
{
    kernest_options o;
    kernest_options_default(&o);
    o.kh = kh;
    o.kw = kw;
    o.device = KERNEST_DEVICE_CPU;
    o.threads = 1;
    return o;
}

char *tu_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: cannot open", path);
    size_t cap = 4096, len = 0, got;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    while ((got = fread(s + len, 1, cap - 1 - len, f)) > 0) {
        len += got;
        if (len == cap - 1) {
            s = realloc(s, cap *= 2);
            cr_assert_not_null(s);
        }
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

void tu_random_vec(double *v, size_t n, double lo, double hi, unsigned long long *s)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * tu_rand(s);
}

struct kn_backend *tu_cpu(kernest_precision p)
{
    kn_backend *be = NULL;
    cr_assert_eq(kn_backend_cpu_create(p, 1, &be), KERNEST_OK, "%s", kernest_last_error());
    return be;
}

double tu_rand(unsigned long long *s)
{
    unsigned long long x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

kernest_array *tu_random_array(size_t h, size_t w, double lo, double hi, unsigned long long *state)
{
    kernest_array *a = NULL;
    if (kernest_array_create2(h, w, &a) != KERNEST_OK)
        return NULL;
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = lo + (hi - lo) * tu_rand(state);
    return a;
}

kernest_array *tu_direct_convolve(const kernest_array *A, const kernest_array *K, kernest_mode mode)
{
    size_t ha = A->shape[0], wa = A->shape[1], kh = K->shape[0], kw = K->shape[1];
    size_t fh = ha + kh - 1, fw = wa + kw - 1;
    double *full = calloc(fh * fw, sizeof *full);
    if (!full)
        return NULL;
    for (size_t i = 0; i < ha; i++)
        for (size_t j = 0; j < wa; j++)
            for (size_t u = 0; u < kh; u++)
                for (size_t v = 0; v < kw; v++)
                    full[(i + u) * fw + (j + v)] += A->data[i * wa + j] * K->data[u * kw + v];
    size_t hb, wb, r0, c0;
    if (kernest_output_shape(mode, ha, wa, kh, kw, &hb, &wb, &r0, &c0) != KERNEST_OK) {
        free(full);
        return NULL;
    }
    kernest_array *out = NULL;
    if (kernest_array_create2(hb, wb, &out) == KERNEST_OK)
        for (size_t i = 0; i < hb; i++)
            for (size_t j = 0; j < wb; j++)
                out->data[i * wb + j] = full[(i + r0) * fw + (j + c0)];
    free(full);
    return out;
}

double tu_rel_diff(const kernest_array *a, const kernest_array *b)
{
    return tu_rel_diff_vec(a->data, b->data, b->size);
}

double tu_rel_diff_vec(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

double *tu_random_vec_new(size_t n, double lo, double hi, unsigned long long *state)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    cr_assert_not_null(v);
    tu_random_vec(v, n, lo, hi, state);
    return v;
}

double tu_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

struct kn_vec *tu_upload(struct kn_backend *be, const double *x, size_t n)
{
    kn_vec *v = NULL;
    cr_assert_eq(be->ops->vec_create(be, n, &v), KERNEST_OK, "%s", kernest_last_error());
    cr_assert_eq(be->ops->vec_upload(be, v, x), KERNEST_OK, "%s", kernest_last_error());
    return v;
}

void tu_apply(struct kn_backend *be, int adjoint, const double *in, size_t nin, double *out, size_t nout)
{
    const kn_backend_ops *o = be->ops;
    kn_vec *vi = NULL, *vo = NULL;
    cr_assert_eq(o->vec_create(be, nin, &vi), KERNEST_OK);
    cr_assert_eq(o->vec_create(be, nout, &vo), KERNEST_OK);
    cr_assert_eq(vi->n, nin);
    cr_assert_eq(vo->n, nout);
    /* poison the output so an operation that forgets to write some entries is caught */
    cr_assert_eq(o->vec_fill(be, vo, 12345.0), KERNEST_OK);
    cr_assert_eq(o->vec_upload(be, vi, in), KERNEST_OK);
    int st = adjoint ? o->op_adjoint(be, vi, vo) : o->op_apply(be, vi, vo);
    cr_assert_eq(st, KERNEST_OK, "op -> %d (%s)", st, kernest_last_error());
    cr_assert_eq(o->vec_download(be, vo, out), KERNEST_OK);
    o->vec_destroy(be, &vi);
    o->vec_destroy(be, &vo);
    cr_assert_null(vi);
}

void tu_gram(struct kn_backend *be, kernest_reg reg, const double *in, double *out, size_t n)
{
    const kn_backend_ops *o = be->ops;
    kn_vec *vi = NULL, *vo = NULL;
    cr_assert_eq(o->vec_create(be, n, &vi), KERNEST_OK);
    cr_assert_eq(o->vec_create(be, n, &vo), KERNEST_OK);
    cr_assert_eq(o->vec_fill(be, vo, -777.0), KERNEST_OK);
    cr_assert_eq(o->vec_upload(be, vi, in), KERNEST_OK);
    cr_assert_eq(o->reg_gram(be, reg, vi, vo), KERNEST_OK);
    cr_assert_eq(o->vec_download(be, vo, out), KERNEST_OK);
    o->vec_destroy(be, &vi);
    o->vec_destroy(be, &vo);
}

double tu_dot_test(size_t n, const double *x, const double *hty, size_t m, const double *hx, const double *y,
                   double *lhs, double *rhs)
{
    const double l = tu_dot(hx, y, m), r = tu_dot(x, hty, n);
    const double scale = fmax(sqrt(tu_dot(hx, hx, m)) * sqrt(tu_dot(y, y, m)),
                              sqrt(tu_dot(x, x, n)) * sqrt(tu_dot(hty, hty, n)));
    if (lhs)
        *lhs = l;
    if (rhs)
        *rhs = r;
    return scale > 0 ? fabs(l - r) / scale : NAN;
}

void tu_stored(struct kn_backend *be, double *v, size_t n)
{
    kn_vec *t = NULL;
    cr_assert_eq(be->ops->vec_create(be, n, &t), KERNEST_OK);
    cr_assert_eq(be->ops->vec_upload(be, t, v), KERNEST_OK);
    cr_assert_eq(be->ops->vec_download(be, t, v), KERNEST_OK);
    be->ops->vec_destroy(be, &t);
}

double tu_score_rmse(const char *args)
{
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "'%s' score %s 2>/dev/null </dev/null", KERNEST_CLI, args) >= 0);
    FILE *pipe = popen(cmd, "r");
    cr_assert(pipe, "%s", cmd);
    double rmse = NAN;
    const int got = fscanf(pipe, "rmse %lf", &rmse);
    cr_assert_eq(pclose(pipe), 0, "%s failed", cmd);
    cr_assert_eq(got, 1, "%s printed no rmse", cmd);
    free(cmd);
    return rmse;
}

double tu_operator_dot_test(struct kn_backend *be, size_t n, size_t m, unsigned long long *seed, double *lhs,
                            double *rhs, double **hk_out)
{
    double *k = tu_random_vec_new(n, -1.0, 1.0, seed), *r = tu_random_vec_new(m, -1.0, 1.0, seed);
    double *hk = malloc((m ? m : 1) * sizeof *hk), *htr = malloc((n ? n : 1) * sizeof *htr);
    cr_assert(hk && htr);
    tu_stored(be, k, n);
    tu_stored(be, r, m);
    tu_apply(be, 0, k, n, hk, m);
    tu_apply(be, 1, r, m, htr, n);
    const double rel = tu_dot_test(n, k, htr, m, hk, r, lhs, rhs); /* NaN where the scale is 0 */
    free(k);
    free(r);
    free(htr);
    if (hk_out)
        *hk_out = hk;
    else
        free(hk);
    return rel;
}

kernest_array *tu_observe(const kernest_array *A, const kernest_array *K, double sigma, struct kn_rng *rng)
{
    kernest_array *B = NULL;
    cr_assert_eq(kernest_convolve(A, K, KERNEST_MODE_SAME, &B), KERNEST_OK);
    if (rng)
        kn_synth_noise(rng, sigma, B);
    return B;
}

char *tu_synth_dir(void)
{
    char *dir = tu_tmpdir(), args[2048], err[1024];
    cr_assert_not_null(dir);
    snprintf(args, sizeof args, "synth -o '%s' --n 8 --kernel gaussian:2,1,30 --noise-rel 0.05", dir);
    cr_assert_eq(tu_run_cli(args, err, sizeof err), 0, "%s", err);
    return dir;
}

void tu_smooth_problem(unsigned long long seed, double scale, double offset, kernest_array **A,
                       kernest_array **B)
{
    *A = tu_random_array(16, 16, 0, scale, &seed);
    kernest_array *K = NULL;
    cr_assert_eq(kernest_array_create2(31, 31, &K), KERNEST_OK);
    for (size_t y = 0; y < 31; y++)
        for (size_t x = 0; x < 31; x++) {
            double dy = (double)y - 15, dx = (double)x - 15;
            K->data[y * 31 + x] = exp(-(dy * dy + dx * dx) / 18.0);
        }
    cr_assert_eq(kernest_convolve(*A, K, KERNEST_MODE_SAME, B), KERNEST_OK, "%s", kernest_last_error());
    for (size_t i = 0; i < (*B)->size; i++)
        (*B)->data[i] += offset + 1e-3 * scale * (tu_rand(&seed) - 0.5);
    kernest_array_destroy(&K);
}

static int stop_at_iteration(void *user, const kernest_progress *p)
{
    const int *stop = user;
    return *stop > 0 && p->iteration >= *stop;
}

int tu_estimate_stopping(const kernest_array *A, const kernest_array *B, kernest_options o, int stop,
                         kernest_array **K, kernest_report **r)
{
    o.progress = stop_at_iteration;
    o.progress_user = &stop;
    return kernest_estimate((const kernest_array *const *)&A, (const kernest_array *const *)&B, 1, &o, K, r);
}
