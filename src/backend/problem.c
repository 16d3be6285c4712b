/* problem.c — validates pairs and shapes and derives crop windows, data offsets and the FFT grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/array.h"
#include "base/options.h"
#include "problem.h"

size_t kn_problem_kernels(const kn_problem *pb)
{
    return pb->cout * pb->kin;
}

size_t kn_problem_channel(const kn_problem *pb, size_t o, size_t i)
{
    return o / (pb->cout / pb->groups) * pb->kin + i;
}

kernest_geometry kn_problem_geometry(const kn_problem *pb)
{
    return (kernest_geometry){(int)pb->sh, (int)pb->sw, (int)pb->dh, (int)pb->dw, (int)pb->groups};
}

/* (k−1)·d + 1: the footprint of k taps d apart; 0 on overflow */
static size_t dilated(size_t k, int d)
{
    size_t f;
    if (kn_mul_size(k - 1, (size_t)d, &f) || kn_add_size(f, 1, &f))
        return 0;
    return f;
}

int kn_layer_window(kernest_mode mode, size_t ha, size_t wa, size_t kh, size_t kw,
                    const kernest_geometry *g, size_t *hb, size_t *wb, size_t *row0, size_t *col0)
{
    if (kn_geometry_is_plain(g))
        return kernest_output_shape(mode, ha, wa, kh, kw, hb, wb, row0, col0);
    int st = kn_geometry_check(g);
    if (st)
        return st;
    const size_t fh = kh ? dilated(kh, g->dilation_h) : 0, fw = kw ? dilated(kw, g->dilation_w) : 0;
    if ((kh && !fh) || (kw && !fw))
        return kn_error(KERNEST_E_TOOBIG, "--dilation: a %zux%zu kernel dilated %dx%d overflows", kh, kw,
                        g->dilation_h, g->dilation_w);
    size_t h, w;
    if ((st = kernest_output_shape(mode, ha, wa, fh, fw, &h, &w, row0, col0)))
        return st;
    if (hb) *hb = (h - 1) / (size_t)g->stride_h + 1;
    if (wb) *wb = (w - 1) / (size_t)g->stride_w + 1;
    return KERNEST_OK;
}

size_t kn_good_fft_size(size_t n, int want_even)
{
    if (n < 1)
        n = 1;
    for (size_t c = n; c >= n; c++) { /* c >= n stops at wrap-around */
        if (want_even && (c & 1))
            continue;
        size_t r = c;
        static const size_t primes[] = {2, 3, 5, 7};
        for (int i = 0; i < 4; i++)
            while (r % primes[i] == 0)
                r /= primes[i];
        if (r == 1)
            return c;
    }
    return 0;
}

/* One axis: A of length a at [0,a), K of length k at [0,k), the window [r0, r0+b) of the full
 * result (length a+k-1) read back. A circular convolution of length L equals the linear one on
 * that window when the window fits (r0+b <= L) and no other full index q = p+L of a window pixel
 * p exists (r0+L >= a+k-1); both inputs must fit too. 'same' with the (2N-1) kernel needs
 * L >= 2N-1 instead of the full 3N-2; 'valid' needs max(a,k); 'full' the full length. The adjoint
 * is the exact transpose of the same circular map, so the bound holds for it as well. */
int kn_alias_free_size(size_t a, size_t k, size_t r0, size_t b, size_t *out)
{
    size_t full, need;
    if (kn_add_size(a, k - 1, &full) || kn_add_size(r0, b, &need))
        return 1;
    if (full - r0 > need) need = full - r0;
    if (k > need) need = k;
    if (a > need) need = a;
    *out = need;
    return 0;
}

static const char *name_of(const char *const *names, size_t idx, const char *fallback)
{
    return names && names[idx] ? names[idx] : fallback;
}

static int check_2d(const kernest_array *a, const char *name)
{
    if (!a || !a->data)
        return kn_error(KERNEST_E_INVALID, "%s: missing array", name);
    if (a->ndim != 2)
        return kn_error(KERNEST_E_SHAPE, "%s: expected a 2-D array, got %d dimensions", name, a->ndim);
    if (!a->shape[0] || !a->shape[1])
        return kn_error(KERNEST_E_SHAPE, "%s: array is empty (%zux%zu)", name, a->shape[0], a->shape[1]);
    return KERNEST_OK;
}

/* Kernel shape the data implies when none is given: same -> every displacement between two
 * pixels of A; full/valid -> what makes A and B fit. */
static int default_kernel(size_t ha, size_t wa, int hasB, size_t hb, size_t wb, kernest_mode mode,
                          size_t *kh, size_t *kw)
{
    if (mode == KERNEST_MODE_SAME) {
        *kh = 2 * ha - 1;
        *kw = 2 * wa - 1;
        return KERNEST_OK;
    }
    if (!hasB)
        return kn_error(KERNEST_E_INVALID, "--ksize: a kernel shape is needed with mode %s",
                        kernest_mode_name(mode));
    if (mode == KERNEST_MODE_FULL && hb >= ha && wb >= wa) {
        *kh = hb - ha + 1;
        *kw = wb - wa + 1;
        return KERNEST_OK;
    }
    if (mode == KERNEST_MODE_VALID && ha >= hb && wa >= wb) {
        *kh = ha - hb + 1;
        *kw = wa - wb + 1;
        return KERNEST_OK;
    }
    return kn_error(KERNEST_E_SHAPE, "mode %s: no kernel shape makes A (%zux%zu) and B (%zux%zu) fit",
                    kernest_mode_name(mode), ha, wa, hb, wb);
}

/* Samples, channels, rows, columns of a under layout (see kernest_layout). */
static int split_shape(const kernest_array *a, kernest_layout layout, const char *name, size_t d[4])
{
    char sb[96];
    if (!a || !a->data)
        return kn_error(KERNEST_E_INVALID, "%s: missing array", name);
    switch (a->ndim) {
    case 2:
        d[0] = 1, d[1] = 1, d[2] = a->shape[0], d[3] = a->shape[1];
        break;
    case 3:
        if (layout == KERNEST_LAYOUT_NCHW)
            d[0] = a->shape[0], d[1] = 1;
        else
            d[0] = 1, d[1] = a->shape[0];
        d[2] = a->shape[1], d[3] = a->shape[2];
        break;
    case 4:
        if (layout == KERNEST_LAYOUT_CHW)
            return kn_error(KERNEST_E_SHAPE, "%s: a 4-D array (%s) is samples x channels x H x W; "
                            "--layout chw takes 2-D or 3-D arrays (use --layout nchw)", name,
                            kn_shape_str(a, sb, sizeof sb));
        for (int i = 0; i < 4; i++)
            d[i] = a->shape[i];
        break;
    default:
        return kn_error(KERNEST_E_SHAPE, "%s: expected a 2-D, 3-D (CxHxW) or 4-D (SxCxHxW) array, got "
                        "%d dimensions", name, a->ndim);
    }
    for (int i = 0; i < 4; i++)
        if (!d[i])
            return kn_error(KERNEST_E_SHAPE, "%s: array is empty (%s)", name, kn_shape_str(a, sb, sizeof sb));
    return KERNEST_OK;
}

int kn_problem_init(kn_problem *pb, const kernest_array *const *A, const kernest_array *const *B,
                    size_t npairs, kernest_mode mode, size_t kh, size_t kw,
                    const char *const *names)
{
    memset(pb, 0, sizeof *pb);
    for (size_t i = 0; A && i < npairs; i++) {
        int st = check_2d(A[i], name_of(names, 2 * i, "A"));
        if (st == KERNEST_OK && B)
            st = check_2d(B[i], name_of(names, 2 * i + 1, "B"));
        if (st)
            return st;
    }
    return kn_problem_init_channels(pb, A, B, npairs, mode, kh, kw, KERNEST_LAYOUT_AUTO, 1, NULL, names);
}

int kn_problem_init_channels(kn_problem *pb, const kernest_array *const *A,
                             const kernest_array *const *B, size_t npairs, kernest_mode mode,
                             size_t kh, size_t kw, kernest_layout layout, size_t cout_noB,
                             const kernest_geometry *g_in, const char *const *names)
{
    memset(pb, 0, sizeof *pb);
    kernest_geometry geom;
    const kernest_geometry *g = &geom;
    int gst = kn_geometry_resolve(g_in, &geom);
    if (gst)
        return gst;
    if (!A || npairs == 0)
        return kn_error(KERNEST_E_INVALID, "no input pairs");
    if ((unsigned)mode > KERNEST_MODE_VALID)
        return kn_error(KERNEST_E_INVALID, "--mode: unknown mode %d", (int)mode);
    if ((unsigned)layout > KERNEST_LAYOUT_NCHW)
        return kn_error(KERNEST_E_INVALID, "--layout: unknown layout %d", (int)layout);
    size_t da0[4] = {0}, db0[4] = {0}, nsamples = 0, cin = 0, cout = B ? 0 : (cout_noB ? cout_noB : 1);
    int channels = 0;
    char s1[96], s2[96];
    for (size_t i = 0; i < npairs; i++) {
        const char *an = name_of(names, 2 * i, "A"), *bn = name_of(names, 2 * i + 1, "B");
        size_t da[4] = {0}, db[4] = {0};
        int st = split_shape(A[i], layout, an, da);
        if (st == KERNEST_OK && B)
            st = split_shape(B[i], layout, bn, db);
        if (st)
            return st;
        channels |= A[i]->ndim > 2 || (B && B[i]->ndim > 2);
        if (B && da[0] != db[0])
            return kn_error(KERNEST_E_SHAPE, "%s: %zu sample%s (%s) but %s has %zu (%s)", bn, db[0],
                            db[0] == 1 ? "" : "s", kn_shape_str(B[i], s1, sizeof s1), an, da[0],
                            kn_shape_str(A[i], s2, sizeof s2));
        if (i == 0) {
            memcpy(da0, da, sizeof da0);
            if (B)
                memcpy(db0, db, sizeof db0);
            cin = da[1];
            if (B)
                cout = db[1];
        } else if (da[1] != cin)
            return kn_error(KERNEST_E_SHAPE, "%s: %zu input channel%s (%s) but %s has %zu (%s)", an,
                            da[1], da[1] == 1 ? "" : "s", kn_shape_str(A[i], s1, sizeof s1),
                            name_of(names, 0, "A"), cin, kn_shape_str(A[0], s2, sizeof s2));
        else if (B && db[1] != cout)
            return kn_error(KERNEST_E_SHAPE, "%s: %zu output channel%s (%s) but %s has %zu (%s)", bn,
                            db[1], db[1] == 1 ? "" : "s", kn_shape_str(B[i], s1, sizeof s1),
                            name_of(names, 1, "B"), cout, kn_shape_str(B[0], s2, sizeof s2));
        if (kn_add_size(nsamples, da[0], &nsamples))
            return kn_error(KERNEST_E_TOOBIG, "number of samples overflows");
    }
    if ((kh == 0) != (kw == 0))
        return kn_error(KERNEST_E_INVALID, "--ksize: both kernel dimensions must be given");
    if (kh == 0 && (g->stride_h > 1 || g->stride_w > 1 || g->dilation_h > 1 || g->dilation_w > 1))
        return kn_error(KERNEST_E_INVALID, "--ksize: needed with --stride or --dilation");
    if (cin % (size_t)g->groups || cout % (size_t)g->groups)
        return kn_error(KERNEST_E_SHAPE, "--groups %d: must divide the input channels (%zu) and the output "
                        "channels (%zu)", g->groups, cin, cout);
    if (kh == 0) {
        int st = default_kernel(da0[2], da0[3], B != NULL, db0[2], db0[3], mode, &kh, &kw);
        if (st)
            return st;
    }
    pb->pairs = calloc(nsamples, sizeof *pb->pairs);
    if (!pb->pairs)
        return kn_error(KERNEST_E_NOMEM, "out of memory");
    pb->npairs = nsamples;
    pb->mode = mode;
    pb->kh = kh;
    pb->kw = kw;
    pb->cin = cin;
    pb->cout = cout;
    pb->channels = channels;
    pb->sh = (size_t)g->stride_h;
    pb->sw = (size_t)g->stride_w;
    pb->dh = (size_t)g->dilation_h;
    pb->dw = (size_t)g->dilation_w;
    pb->groups = (size_t)g->groups;
    pb->kin = cin / pb->groups;
    int st = KERNEST_OK;
    size_t m = 0, need_h = 0, need_w = 0, nobs_all = 0, nk;
    const size_t fkh = dilated(kh, g->dilation_h), fkw = dilated(kw, g->dilation_w);
    if (!fkh || !fkw || kn_mul_size(kh, kw, &pb->n) || kn_mul_size(pb->kin, cout, &nk) ||
        kn_mul_size(pb->n, nk, &pb->n)) {
        st = kn_error(KERNEST_E_TOOBIG, "--ksize: %zux%zu kernels (%zu x %zu channels) overflow", kh, kw,
                      cout, cin);
        goto fail;
    }
    size_t si = 0;
    for (size_t i = 0; i < npairs && !st; i++) {
        const char *an = name_of(names, 2 * i, "A"), *bn = name_of(names, 2 * i + 1, "B");
        size_t da[4] = {0};
        split_shape(A[i], layout, an, da); /* checked above */
        for (size_t s = 0; s < da[0]; s++, si++) {
            kn_pair *p = &pb->pairs[si];
            p->src = i;
            p->ha = da[2];
            p->wa = da[3];
            const size_t plane = p->ha * p->wa, alen = cin * plane; /* bounded by A's size */
            p->A = A[i]->data + s * alen;
            for (size_t j = 0; j < alen; j++)
                if (!isfinite(p->A[j])) {
                    if (!channels)
                        st = kn_error(KERNEST_E_VALUE, "%s: holds NaN or Inf at element %zu (row %zu, "
                                      "column %zu); A must be finite", an, j, j / p->wa, j % p->wa);
                    else
                        st = kn_error(KERNEST_E_VALUE, "%s: holds NaN or Inf at sample %zu, channel %zu, "
                                      "row %zu, column %zu; A must be finite", an, s, j / plane,
                                      j % plane / p->wa, j % p->wa);
                    goto fail;
                }
            st = kn_layer_window(mode, p->ha, p->wa, kh, kw, g, &p->hb, &p->wb, &p->row0, &p->col0);
            if (st) {
                st = kn_error(st, "%s: %s", an, kernest_last_error());
                goto fail;
            }
            size_t win;
            if (kn_mul_size(p->hb, p->wb, &win) || kn_mul_size(win, cout, &p->len)) {
                st = kn_error(KERNEST_E_TOOBIG, "total data size overflows");
                goto fail;
            }
            p->nobs = p->len;
            if (B) {
                const size_t *bs = B[i]->shape + B[i]->ndim - 2;
                if (bs[0] != p->hb || bs[1] != p->wb) {
                    char gs[96] = "";
                    if (!kn_geometry_is_plain(g))
                        snprintf(gs, sizeof gs, ", stride %dx%d, dilation %dx%d", g->stride_h, g->stride_w,
                                 g->dilation_h, g->dilation_w);
                    st = kn_error(KERNEST_E_SHAPE, "%s: B is %zux%zu but mode %s with A %zux%zu (%s)%s and a "
                                  "%zux%zu kernel gives %zux%zu", bn, bs[0], bs[1],
                                  kernest_mode_name(mode), p->ha, p->wa, an, gs, kh, kw, p->hb, p->wb);
                    goto fail;
                }
                p->B = B[i]->data + s * p->len;
                p->nobs = 0;
                for (size_t j = 0; j < p->len; j++) {
                    double v = p->B[j];
                    if (isnan(v))
                        pb->has_mask = 1;
                    else if (!isfinite(v)) {
                        st = kn_error(KERNEST_E_VALUE, "%s: holds Inf at element %zu; use NaN to mark "
                                      "a missing pixel of B", bn, s * p->len + j);
                        goto fail;
                    } else
                        p->nobs++;
                }
            }
            nobs_all += p->nobs;
            p->offset = m;
            if (kn_add_size(m, p->len, &m)) {
                st = kn_error(KERNEST_E_TOOBIG, "total data size overflows");
                goto fail;
            }
            /* the rows and columns the strided window spans: (hb−1)·sh + 1 of the full result */
            size_t fh, fw;
            if (kn_alias_free_size(p->ha, fkh, p->row0, (p->hb - 1) * pb->sh + 1, &fh) ||
                kn_alias_free_size(p->wa, fkw, p->col0, (p->wb - 1) * pb->sw + 1, &fw)) {
                st = kn_error(KERNEST_E_TOOBIG, "--ksize: FFT grid size overflows");
                goto fail;
            }
            if (fh > need_h) need_h = fh;
            if (fw > need_w) need_w = fw;
        }
    }
    if (B && nobs_all == 0) {
        st = kn_error(KERNEST_E_VALUE, "%s: every pixel of B is NaN; nothing to fit", name_of(names, 1, "B"));
        goto fail;
    }
    pb->m = m;
    pb->grid_h = kn_good_fft_size(need_h, 0);
    pb->grid_w = kn_good_fft_size(need_w, 1);
    size_t cells;
    if (!pb->grid_h || !pb->grid_w || kn_mul_size(pb->grid_h, pb->grid_w, &cells)) {
        st = kn_error(KERNEST_E_TOOBIG, "--ksize: FFT grid for a %zux%zu kernel overflows", kh, kw);
        goto fail;
    }
    return KERNEST_OK;
fail:
    kn_problem_free(pb);
    return st;
}

int kn_kernel_array(const kn_problem *pb, kernest_array **out)
{
    if (!pb->channels)
        return kernest_array_create2(pb->kh, pb->kw, out);
    size_t shape[4] = {pb->cout, pb->kin, pb->kh, pb->kw};
    return kernest_array_create(4, shape, out);
}

void kn_flip_kernels(double *k, size_t nk, size_t kh, size_t kw)
{
    const size_t n = kh * kw;
    for (size_t c = 0; c < nk; c++) {
        double *a = k + c * n;
        for (size_t i = 0, j = n - 1; i < j; i++, j--) { /* flipping both axes reverses the plane */
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}

void kn_problem_free(kn_problem *pb)
{
    if (!pb)
        return;
    free(pb->pairs);
    memset(pb, 0, sizeof *pb);
}
