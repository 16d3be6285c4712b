/* plot_estimate.c — the pictures of `kernest estimate --plot DIR`: the kernel, the residual of the
 * first pair, the kernel's radial profile (and the truth's) and the convergence curve. With
 * several channels the kernels and the output channels are drawn side by side (a mosaic).
 * Compiled only when cairo is found. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "plot/plot.h"
#include "plot_estimate.h"

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

/* nr×nc planes of h×w (row-major, plane (r, c) at index r·nc + c) side by side in one 2-D array,
 * NaN (grey) between them; NULL when out of memory */
static kernest_array *mosaic(const double *planes, size_t nr, size_t nc, size_t h, size_t w)
{
    const size_t gap = h / 12 + 1 > w / 12 + 1 ? h / 12 + 1 : w / 12 + 1;
    kernest_array *m = NULL;
    if (kernest_array_create2(nr * (h + gap) - gap, nc * (w + gap) - gap, &m))
        return NULL;
    const size_t W = m->shape[1];
    for (size_t i = 0; i < m->size; i++)
        m->data[i] = NAN;
    for (size_t r = 0; r < nr; r++)
        for (size_t c = 0; c < nc; c++)
            for (size_t y = 0; y < h; y++)
                memcpy(m->data + (r * (h + gap) + y) * W + c * (w + gap),
                       planes + ((r * nc + c) * h + y) * w, w * sizeof(double));
    return m;
}

static int plot_kernel(const char *dir, int scale, const kernest_array *K)
{
    char *path = join(dir, "kernel.png"), title[200];
    if (!path)
        return cli_usage_error("--plot: out of memory");
    const int nd = K->ndim;
    const size_t kh = K->shape[nd - 2], kw = K->shape[nd - 1];
    kn_map_style st = {.title = title, .x0 = -(double)((kw - 1) / 2), .y0 = -(double)((kh - 1) / 2),
                       .scale = (kn_plot_scale)scale, .cmap = KN_CMAP_VIRIDIS, .value_label = "K"};
    kernest_array *m = NULL;
    if (nd == 4) { /* one colour scale for every kernel, so they compare */
        snprintf(title, sizeof title, "estimated kernels K[o,i] (%zu\xc3\x97%zu each): output o down, "
                 "input i across", kh, kw);
        st.x0 = st.y0 = 0;
        st.xlabel = "input channel i (blocks of Kw px, left to right)";
        st.ylabel = "output channel o (blocks of Kh px, top to bottom)";
        st.grey_label = "between kernels";
        if (!(m = mosaic(K->data, K->shape[0], K->shape[1], kh, kw))) {
            free(path);
            return cli_usage_error("--plot: out of memory");
        }
    } else
        snprintf(title, sizeof title, "estimated kernel K (%zu\xc3\x97%zu)", kh, kw);
    int rc = check(kn_plot_map_style(path, m ? m : K, &st));
    kernest_array_destroy(&m);
    free(path);
    return rc;
}

/* the residual of the first pair (its first sample, every output channel side by side) */
static int plot_residual(const char *dir, const kernest_array *K, const kernest_array *A0,
                         const kernest_array *B0, kernest_mode mode, kernest_layout layout, int correlate)
{
    kernest_array *R = NULL, *m = NULL;
    int st = kernest_convolve_channels(A0, K, mode, layout, correlate, &R);
    if (st)
        return cli_fail(st);
    double ss = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < R->size; i++) {
        R->data[i] = B0->data[i] - R->data[i]; /* NaN in B stays NaN: a missing pixel */
        if (isfinite(R->data[i]))
            ss += R->data[i] * R->data[i], cnt++;
    }
    const int nd = R->ndim;
    const size_t hb = R->shape[nd - 2], wb = R->shape[nd - 1], cout = nd > 2 ? R->shape[nd - 3] : 1;
    char *path = join(dir, "residual.png"), title[200];
    int rc = 0;
    if (!path || (nd > 2 && !(m = mosaic(R->data, 1, cout, hb, wb))))
        rc = cli_usage_error("--plot: out of memory");
    else {
        if (nd > 2)
            snprintf(title, sizeof title, "residual B \xe2\x88\x92 model of pair 1, sample 1, outputs "
                     "1..%zu left to right (rms %.3g)", cout, cnt ? sqrt(ss / (double)cnt) : 0.0);
        else
            snprintf(title, sizeof title, "residual B \xe2\x88\x92 %s(A \xe2\x8a\x9b K) of pair 1 (rms %.3g)",
                     kernest_mode_name(mode), cnt ? sqrt(ss / (double)cnt) : 0.0);
        kn_map_style style = {.title = title, .xlabel = "column (px)", .ylabel = "row (px)",
                              .scale = KN_PLOT_LINEAR, .cmap = KN_CMAP_DIVERGING,
                              .value_label = "B \xe2\x88\x92 model",
                              .grey_label = nd > 2 ? "missing, or between outputs" : NULL};
        rc = check(kn_plot_map_style(path, m ? m : R, &style));
    }
    free(path);
    kernest_array_destroy(&m);
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

enum { PROFILE_CURVES = 8 }; /* with channels: the first kernels' profiles, one colour each */

static int plot_profile(const char *dir, const kernest_array *K, const kernest_array *truth)
{
    const int nd = K->ndim;
    const size_t kh = K->shape[nd - 2], kw = K->shape[nd - 1], cin = nd == 4 ? K->shape[1] : 1;
    const size_t nk = nd == 4 ? K->shape[0] * cin : 1, nc = nk < PROFILE_CURVES ? nk : PROFILE_CURVES;
    size_t n = 0, nt = 0;
    double *p[PROFILE_CURVES] = {0}, *pt = truth ? kn_radial_profile(truth, &nt) : NULL;
    kernest_array plane = {.ndim = 2, .size = kh * kw};
    for (int d = 0; d < KERNEST_MAX_NDIM; d++)
        plane.shape[d] = d == 0 ? kh : d == 1 ? kw : 1;
    int ok = !truth || pt;
    for (size_t k = 0; k < nc && ok; k++) {
        plane.data = K->data + k * kh * kw;
        ok = (p[k] = kn_radial_profile(&plane, &n)) != NULL;
    }
    size_t nr = n > nt ? n : nt;
    double *r = malloc(nr * sizeof *r);
    char *path = join(dir, "profile.png"), labels[PROFILE_CURVES][32], title[200];
    int rc = 0;
    if (!ok || !r || !path) {
        rc = cli_usage_error("--plot: out of memory");
        goto done;
    }
    for (size_t i = 0; i < nr; i++)
        r[i] = (double)i;
    int loglog = !pt || profile_loglog(pt, nt);
    kn_curve c[PROFILE_CURVES + 1];
    for (size_t k = 0; k < nc; k++) {
        loglog = loglog && profile_loglog(p[k], n);
        snprintf(labels[k], sizeof labels[k], "K[%zu,%zu]", k / cin, k % cin);
        c[k] = (kn_curve){r, p[k], n, nd == 4 ? labels[k] : truth ? "estimate" : NULL, 0};
    }
    c[nc] = (kn_curve){r, pt, nt, "truth", 1};
    if (nk > nc)
        snprintf(title, sizeof title, "radial profiles of the first %zu of %zu kernels (ring means%s)", nc, nk,
                 loglog ? "; log-log, r \xe2\x89\xa5 1" : "");
    else
        snprintf(title, sizeof title, "radial profile%s of K (mean over rings 1 px wide%s)", nk > 1 ? "s" : "",
                 loglog ? "; log-log, r \xe2\x89\xa5 1" : "");
    kn_lines_style st = {.title = title, .xlabel = "r, distance from the kernel centre (px)",
                         .ylabel = "mean of K on the ring", .logx = loglog, .logy = loglog};
    rc = check(kn_plot_lines(path, c, nc + (truth != NULL), &st));
done:
    for (size_t k = 0; k < nc; k++)
        free(p[k]);
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
                             .ylabel = fista ? "max(gradient mapping / \xe2\x80\x96H'b\xe2\x80\x96, relative change of K)"
                                             : !strcmp(rep->solver, "gpcg") ? "relative projected gradient (on a face: its residual)"
                                             : "relative residual \xe2\x80\x96s\xe2\x82\x96\xe2\x80\x96 / \xe2\x80\x96s\xe2\x82\x80\xe2\x80\x96 (normal equations)",
                             .logy = 1};
        rc = check(kn_plot_lines(path, &c, 1, &st));
    }
    free(it);
    free(path);
    return rc;
}

int cli_plot_estimate(const char *dir, int scale, const kernest_array *K, const kernest_report *rep,
                      const kernest_array *A0, const kernest_array *B0, const kernest_options *opt,
                      const kernest_array *truth)
{
    int created, rc = cli_plot_make_dir(dir, &created), drawn = 0;
    if (!rc && !(rc = plot_kernel(dir, scale, K)))
        drawn++;
    if (!rc && !(rc = plot_residual(dir, K, A0, B0, opt->mode, opt->layout, opt->correlate)))
        drawn++;
    if (!rc && !(rc = plot_profile(dir, K, truth)))
        drawn++;
    if (!rc && !(rc = plot_convergence(dir, rep)))
        drawn++;
    if (rc) { /* all the pictures or none: remove those drawn before the failure, and a new folder */
        static const char *const names[] = {"kernel.png", "residual.png", "profile.png"};
        for (int i = 0; i < drawn && i < 3; i++) {
            char *path = join(dir, names[i]);
            if (path)
                unlink(path);
            free(path);
        }
        if (created)
            rmdir(dir);
    }
    return rc;
}
