/* plot_estimate.c — the pictures of `kernest estimate --plot DIR`: the kernel, the residual of the
 * first pair, the kernel's radial profile (and the truth's) and the convergence curve. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "plot.h"

int cli_plot_prepare_dir(const char *dir)
{
    if (!kn_plot_available())
        return cli_usage_error("--plot: not compiled in (install libcairo2-dev)");
    struct stat st;
    if (!*dir)
        return cli_usage_error("--plot: a folder is required");
    if (stat(dir, &st) != 0) {
        if (mkdir(dir, 0777) != 0)
            return cli_usage_error("--plot: cannot create folder '%s': %s", dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode))
        return cli_usage_error("--plot: '%s' is not a folder", dir);
    if (access(dir, W_OK) != 0)
        return cli_usage_error("--plot: folder '%s' is not writable", dir);
    return 0;
}

static char *join(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* Writes one picture through fn's status; prints the error and returns the exit code. */
static int check(int st)
{
    return st ? cli_fail(st) : 0;
}

static int plot_kernel(const char *dir, int scale, const kernest_array *K)
{
    char *path = join(dir, "kernel.png"), title[160];
    if (!path)
        return cli_usage_error("--plot: out of memory");
    snprintf(title, sizeof title, "estimated kernel K (%zu\xc3\x97%zu)", K->shape[0], K->shape[1]);
    kn_map_style st = {.title = title, .x0 = -(double)((K->shape[1] - 1) / 2),
                       .y0 = -(double)((K->shape[0] - 1) / 2), .scale = (kn_plot_scale)scale,
                       .cmap = KN_CMAP_VIRIDIS, .value_label = "K"};
    int rc = check(kn_plot_map_style(path, K, &st));
    free(path);
    return rc;
}

static int plot_residual(const char *dir, const kernest_array *K, const kernest_array *A0,
                         const kernest_array *B0, kernest_mode mode)
{
    kernest_array *R = NULL;
    int st = kernest_convolve(A0, K, mode, &R);
    if (st)
        return cli_fail(st);
    double ss = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < R->size; i++) {
        R->data[i] = B0->data[i] - R->data[i]; /* NaN in B stays NaN: a missing pixel */
        if (isfinite(R->data[i]))
            ss += R->data[i] * R->data[i], cnt++;
    }
    char *path = join(dir, "residual.png"), title[160];
    int rc = 0;
    if (!path)
        rc = cli_usage_error("--plot: out of memory");
    else {
        snprintf(title, sizeof title, "residual B \xe2\x88\x92 %s(A \xe2\x8a\x9b K) of pair 1 (rms %.3g)",
                 kernest_mode_name(mode), cnt ? sqrt(ss / (double)cnt) : 0.0);
        kn_map_style style = {.title = title, .xlabel = "column (px)", .ylabel = "row (px)",
                              .scale = KN_PLOT_LINEAR, .cmap = KN_CMAP_DIVERGING,
                              .value_label = "B \xe2\x88\x92 model"};
        rc = check(kn_plot_map_style(path, R, &style));
    }
    free(path);
    kernest_array_destroy(&R);
    return rc;
}

/* log-log when the ring means at r >= 1 are mostly positive and span more than a decade */
static int profile_loglog(const double *p, size_t n)
{
    size_t pos = 0, fin = 0;
    double lo = INFINITY, hi = 0;
    for (size_t r = 1; r < n; r++) {
        if (!isfinite(p[r]))
            continue;
        fin++;
        if (p[r] > 0)
            pos++, lo = fmin(lo, p[r]), hi = fmax(hi, p[r]);
    }
    return fin >= 3 && pos >= fin * 9 / 10 && hi > 10 * lo;
}

static int plot_profile(const char *dir, const kernest_array *K, const kernest_array *truth)
{
    size_t n = 0, nt = 0;
    double *p = kn_radial_profile(K, &n), *pt = truth ? kn_radial_profile(truth, &nt) : NULL;
    size_t nr = n > nt ? n : nt;
    double *r = malloc(nr * sizeof *r);
    char *path = join(dir, "profile.png");
    int rc = 0;
    if (!p || (truth && !pt) || !r || !path) {
        rc = cli_usage_error("--plot: out of memory");
        goto done;
    }
    for (size_t i = 0; i < nr; i++)
        r[i] = (double)i;
    int loglog = profile_loglog(p, n) && (!pt || profile_loglog(pt, nt));
    kn_curve c[2] = {{r, p, n, truth ? "estimate" : NULL, 0}, {r, pt, nt, "truth", 1}};
    kn_lines_style st = {.title = "radial profile of K (mean over rings 1 px wide)",
                         .xlabel = "r, distance from the kernel centre (px)",
                         .ylabel = "mean of K on the ring", .logx = loglog, .logy = loglog};
    if (loglog)
        st.title = "radial profile of K (mean over rings 1 px wide; log-log, r \xe2\x89\xa5 1)";
    rc = check(kn_plot_lines(path, c, truth ? 2 : 1, &st));
done:
    free(p);
    free(pt);
    free(r);
    free(path);
    return rc;
}

static int plot_convergence(const char *dir, const kernest_report *rep)
{
    size_t n = (size_t)rep->iterations + 1;
    double *it = malloc(n * sizeof *it);
    char *path = join(dir, "convergence.png"), title[160];
    int rc = 0;
    if (!it || !path)
        rc = cli_usage_error("--plot: out of memory");
    else {
        for (size_t i = 0; i < n; i++)
            it[i] = (double)i;
        const int fista = !strcmp(rep->solver, "fista");
        snprintf(title, sizeof title, "convergence: %s, %s after %d iterations", rep->solver,
                 kernest_stop_reason_name(rep->reason), rep->iterations);
        kn_curve c = {it, rep->residual_history, n, NULL, 0};
        kn_lines_style st = {.title = title, .xlabel = "iteration",
                             .ylabel = fista ? "relative change \xe2\x80\x96K\xe2\x82\x9c \xe2\x88\x92 K\xe2\x82\x9c\xe2\x82\x8b\xe2\x82\x81\xe2\x80\x96 / \xe2\x80\x96K\xe2\x82\x9c\xe2\x82\x8b\xe2\x82\x81\xe2\x80\x96"
                                             : "relative residual \xe2\x80\x96s\xe2\x82\x96\xe2\x80\x96 / \xe2\x80\x96s\xe2\x82\x80\xe2\x80\x96 (normal equations)",
                             .logy = 1};
        rc = check(kn_plot_lines(path, &c, 1, &st));
    }
    free(it);
    free(path);
    return rc;
}

int cli_plot_estimate(const char *dir, int scale, const kernest_array *K, const kernest_report *rep,
                      const kernest_array *A0, const kernest_array *B0, kernest_mode mode,
                      const kernest_array *truth)
{
    int rc = plot_kernel(dir, scale, K);
    if (!rc)
        rc = plot_residual(dir, K, A0, B0, mode);
    if (!rc)
        rc = plot_profile(dir, K, truth);
    if (!rc)
        rc = plot_convergence(dir, rep);
    return rc;
}
