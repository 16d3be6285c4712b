/* cuda_operator.c — the cuda backend's operator H and its adjoint with cuFFT (spectra of A kept on the device). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_impl.h"
#include "cuda_kernels.h"
#include "base/error.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static kn_cuda *impl(const kn_backend *be)
{
    return (kn_cuda *)be->impl;
}

/* Entries of one r2c half spectrum. */
static size_t spec_len(const kn_problem *pb)
{
    return pb->grid_h * (pb->grid_w / 2 + 1);
}

/* Bytes the batched samples' buffers may take: enough for dozens of samples of a layer's small
 * grids, while problems of large grids (where one transform fills the GPU anyway) keep one
 * sample at a time and no extra buffer. */
#define BATCH_BYTES ((size_t)256 << 20)

/* Samples per batched transform: as many as BATCH_BYTES holds (a grid and a spectrum each), at
 * most KN_CU_MAX_BATCH and at most KERNEST_CUDA_BATCH when set (a test hook: 1 turns batching
 * off, a small cap makes several batches and a remainder); 1 when fewer than two fit or there is
 * one sample. */
static size_t batch_of(const kn_cuda *c, const kn_problem *pb)
{
    const double per = ((double)pb->grid_h * (double)pb->grid_w + 2.0 * (double)spec_len(pb)) * (double)c->es;
    double nb = (double)BATCH_BYTES / per;
    const char *cap = getenv("KERNEST_CUDA_BATCH");
    if (cap && atof(cap) >= 1 && nb > atof(cap))
        nb = atof(cap);
    if (nb > (double)pb->npairs)
        nb = (double)pb->npairs;
    if (nb > KN_CU_MAX_BATCH)
        nb = KN_CU_MAX_BATCH;
    return nb >= 2 ? (size_t)nb : 1;
}

/* ---- cuFFT entry points by precision: the only place that branches on float/double ------ */

static cufftType r2c_type(const kn_cuda *c)
{
    return c->dbl ? CUFFT_D2Z : CUFFT_R2C;
}

static cufftType c2r_type(const kn_cuda *c)
{
    return c->dbl ? CUFFT_Z2D : CUFFT_C2R;
}

static int fft_r2c_on(kn_cuda *c, cufftHandle plan, void *in, void *out)
{
    if (c->dbl)
        KN_CUFFT_TRY(cufftExecD2Z(plan, in, out));
    else
        KN_CUFFT_TRY(cufftExecR2C(plan, in, out));
    return KERNEST_OK;
}

/* Overwrites `in` (cuFFT's multi-dimensional c2r always does). */
static int fft_c2r_on(kn_cuda *c, cufftHandle plan, void *in, void *out)
{
    if (c->dbl)
        KN_CUFFT_TRY(cufftExecZ2D(plan, in, out));
    else
        KN_CUFFT_TRY(cufftExecC2R(plan, in, out));
    return KERNEST_OK;
}

static int fft_r2c(kn_cuda *c, void *in, void *out)
{
    return fft_r2c_on(c, c->r2c, in, out);
}

static int fft_c2r(kn_cuda *c, void *in, void *out)
{
    return fft_c2r_on(c, c->c2r, in, out);
}

/* The kernels' transforms: kin grids at once (the single plans when kin = 1). */
static int fft_r2c_k(kn_cuda *c, void *in, void *out)
{
    return fft_r2c_on(c, c->have_r2c_k ? c->r2c_k : c->r2c, in, out);
}

static int fft_c2r_k(kn_cuda *c, void *in, void *out)
{
    return fft_c2r_on(c, c->have_c2r_k ? c->c2r_k : c->c2r, in, out);
}

/* ---- sizes -------------------------------------------------------------------------------- */

/* Work area of one plan type on pb's grid, asked of cuFFT (cufftGetSizeMany64 on a fresh handle,
 * no plan made); a full complex grid when cuFFT cannot say. */
static size_t fft_work_bytes(const kn_cuda *c, const kn_problem *pb, cufftType type, size_t batch)
{
    long long n[2] = {(long long)pb->grid_h, (long long)pb->grid_w};
    size_t ws = 0, fallback = spec_len(pb) * 2 * c->es * batch;
    cufftHandle h;
    if (cufftCreate(&h) != CUFFT_SUCCESS)
        return fallback;
    cufftResult r = cufftGetSizeMany64(h, 2, n, NULL, 1, 0, NULL, 1, 0, type, (long long)batch, &ws);
    (void)cufftDestroy(h);
    return r == CUFFT_SUCCESS ? ws : fallback;
}

/*
 * Device bytes op_setup allocates: npairs·cin spectra of A, kin + 1 work spectra, kin real grids,
 * the mask, and the work area the plans share (asked of cuFFT; plans' own small tables are not
 * counted). A itself is not kept on the device. SIZE_MAX when the count overflows.
 */
size_t kn_cuda_op_bytes(const kn_backend *be, const kn_problem *pb)
{
    const kn_cuda *c = impl(be);
    size_t spec, spectra, nspec, grid, mask = 0, total;
    if (pb->grid_h > INT_MAX || pb->grid_w > INT_MAX)
        return SIZE_MAX;
    if (kn_mul_size(pb->grid_w / 2 + 1, pb->grid_h, &spec) || kn_mul_size(spec, 2 * c->es, &spec) ||
        kn_mul_size(pb->npairs, pb->cin, &nspec) || kn_add_size(nspec, pb->kin + 1, &nspec) ||
        kn_mul_size(spec, nspec, &spectra) ||
        kn_mul_size(pb->grid_h, pb->grid_w, &grid) || kn_mul_size(grid, c->es * pb->kin, &grid) ||
        (pb->has_mask && kn_mul_size(pb->m, c->es, &mask)))
        return SIZE_MAX;
    if (cudaSetDevice(c->device) != cudaSuccess)
        (void)cudaGetLastError(); /* not left for a later call to report; the sizes fall back */
    size_t w1 = fft_work_bytes(c, pb, r2c_type(c), 1), w2 = fft_work_bytes(c, pb, c2r_type(c), 1);
    size_t w = w1 > w2 ? w1 : w2;
    if (pb->kin > 1) {
        size_t w3 = fft_work_bytes(c, pb, r2c_type(c), pb->kin), w4 = fft_work_bytes(c, pb, c2r_type(c), pb->kin);
        if (w3 > w) w = w3;
        if (w4 > w) w = w4;
    }
    const size_t nb = batch_of(c, pb);
    size_t batch = 0;
    if (nb > 1) { /* its grids and spectra, the windows, and the batched plans' work area */
        size_t w5 = fft_work_bytes(c, pb, r2c_type(c), nb), w6 = fft_work_bytes(c, pb, c2r_type(c), nb);
        if (w5 > w) w = w5;
        if (w6 > w) w = w6;
        batch = nb * (pb->grid_h * pb->grid_w * c->es + spec) + pb->npairs * sizeof(kn_cu_window);
    }
    if (kn_add_size(spectra, grid, &total) || kn_add_size(total, mask, &total) ||
        kn_add_size(total, w, &total) || kn_add_size(total, batch, &total))
        return SIZE_MAX;
    return total;
}

/* ---- set-up ------------------------------------------------------------------------------- */

/* Device memory kept free beyond the buffers op_setup counts: cuBLAS's workspace, the kernels
 * cuFFT and cuBLAS load on first use and the allocator's granularity (64 MiB + 1/256 of the card). */
static size_t headroom_bytes(void)
{
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        (void)cudaGetLastError();
        total_b = 0;
    }
    return ((size_t)64 << 20) + total_b / 256;
}

void kn_cuda_op_free(kn_cuda *c)
{
    void **bufs[] = {&c->fft_work, &c->spec_a, &c->spec_main, &c->spec_tmp, &c->grid, &c->mask,
                     &c->spec_batch, &c->grid_batch, (void **)&c->windows};
    for (int b = 0; b < 2; b++) {
        if (c->have_r2c_s[b])
            (void)cufftDestroy(c->r2c_s[b]);
        if (c->have_c2r_s[b])
            (void)cufftDestroy(c->c2r_s[b]);
        c->have_r2c_s[b] = c->have_c2r_s[b] = 0;
    }
    c->batch = 1;
    if (c->have_r2c)
        (void)cufftDestroy(c->r2c);
    if (c->have_c2r)
        (void)cufftDestroy(c->c2r);
    if (c->have_r2c_k)
        (void)cufftDestroy(c->r2c_k);
    if (c->have_c2r_k)
        (void)cufftDestroy(c->c2r_k);
    c->have_r2c = c->have_c2r = c->have_r2c_k = c->have_c2r_k = 0;
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (*bufs[i])
            (void)cudaFree(*bufs[i]);
        *bufs[i] = NULL;
    }
    (void)cudaGetLastError(); /* a failed free is not the next call's error */
    c->pb = NULL;
    c->made_gh = c->made_gw = c->made_cin = c->made_kin = c->made_npairs = 0;
}

/* One plan of `batch` contiguous grids with auto-allocation off; *ws receives its work-area size. */
static int make_plan(kn_cuda *c, const kn_problem *pb, cufftType type, size_t batch, cufftHandle *plan,
                     int *have, size_t *ws)
{
    long long n[2] = {(long long)pb->grid_h, (long long)pb->grid_w};
    KN_CUFFT_TRY(cufftCreate(plan));
    *have = 1;
    KN_CUFFT_TRY(cufftSetAutoAllocation(*plan, 0));
    KN_CUFFT_TRY(cufftMakePlanMany64(*plan, 2, n, NULL, 1, 0, NULL, 1, 0, type, (long long)batch, ws));
    KN_CUFFT_TRY(cufftSetStream(*plan, c->stream));
    return KERNEST_OK;
}

static int make_plans(kn_cuda *c, const kn_problem *pb)
{
    size_t ws[8] = {0};
    int st = make_plan(c, pb, r2c_type(c), 1, &c->r2c, &c->have_r2c, &ws[0]);
    if (!st)
        st = make_plan(c, pb, c2r_type(c), 1, &c->c2r, &c->have_c2r, &ws[1]);
    if (!st && pb->kin > 1)
        st = make_plan(c, pb, r2c_type(c), pb->kin, &c->r2c_k, &c->have_r2c_k, &ws[2]);
    if (!st && pb->kin > 1)
        st = make_plan(c, pb, c2r_type(c), pb->kin, &c->c2r_k, &c->have_c2r_k, &ws[3]);
    /* the samples batched: a full batch, and the remainder's own size */
    const size_t nb[2] = {c->batch, c->batch > 1 ? pb->npairs % c->batch : 0};
    for (int b = 0; b < 2 && !st; b++)
        if (nb[b] > 1) { /* a remainder of one sample uses the single plans */
            if (!(st = make_plan(c, pb, r2c_type(c), nb[b], &c->r2c_s[b], &c->have_r2c_s[b], &ws[4 + 2 * b])))
                st = make_plan(c, pb, c2r_type(c), nb[b], &c->c2r_s[b], &c->have_c2r_s[b], &ws[5 + 2 * b]);
        }
    /* the plans run on the one stream, never at once: one work area serves them all */
    size_t most = 0;
    for (int i = 0; i < 8; i++)
        most = ws[i] > most ? ws[i] : most;
    if (!st)
        st = kn_cuda_alloc(c, &c->fft_work, most, "the cuFFT work area");
    if (!st && c->fft_work) {
        cufftHandle *plans[] = {&c->r2c, &c->c2r, &c->r2c_k, &c->c2r_k, &c->r2c_s[0], &c->c2r_s[0], &c->r2c_s[1],
                                &c->c2r_s[1]};
        const int have[] = {c->have_r2c, c->have_c2r, c->have_r2c_k, c->have_c2r_k, c->have_r2c_s[0],
                            c->have_c2r_s[0], c->have_r2c_s[1], c->have_c2r_s[1]};
        for (int i = 0; i < 8; i++)
            if (have[i])
                KN_CUFFT_TRY(cufftSetWorkArea(*plans[i], c->fft_work));
    }
    return st;
}

/* Â[s,i] = FFT(A[s,i] zero-padded to the grid), for every sample and input channel. A goes up
 * row by row into the zeroed grid (converted to float on the host first in single precision). */
static int spectra_of_a(kn_cuda *c, const kn_problem *pb)
{
    size_t most = 0;
    for (size_t i = 0; i < pb->npairs; i++)
        if (pb->pairs[i].ha * pb->pairs[i].wa > most)
            most = pb->pairs[i].ha * pb->pairs[i].wa;
    float *buf = NULL;
    if (!c->dbl && !(buf = malloc(most * sizeof *buf)))
        return kn_error(KERNEST_E_NOMEM, "out of host memory converting A to float");
    int st = KERNEST_OK;
    for (size_t q = 0; q < pb->npairs * pb->cin && !st; q++) {
        const size_t i = q / pb->cin, ch = q % pb->cin;
        const kn_pair *p = &pb->pairs[i];
        const double *plane = p->A + ch * p->ha * p->wa;
        const void *src = plane;
        if (buf) {
            for (size_t j = 0; j < p->ha * p->wa; j++)
                buf[j] = (float)plane[j];
            src = buf;
        }
        st = kn_cuda_check(cudaMemsetAsync(c->grid, 0, pb->grid_h * pb->grid_w * c->es, c->stream),
                           "cudaMemsetAsync");
        if (!st)
            st = kn_cuda_check(cudaMemcpy2DAsync(c->grid, pb->grid_w * c->es, src, p->wa * c->es,
                                                 p->wa * c->es, p->ha, cudaMemcpyHostToDevice,
                                                 c->stream),
                               "cudaMemcpy2DAsync");
        if (!st)
            st = fft_r2c(c, c->grid, (char *)c->spec_a + q * spec_len(pb) * 2 * c->es);
        if (!st) /* buf is refilled for the next pair */
            st = kn_cuda_check(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
    }
    free(buf);
    return st;
}

/* mask = 0 where B is NaN, 1 elsewhere, over the concatenated windows. */
static int upload_mask(kn_cuda *c, const kn_problem *pb)
{
    unsigned char *buf = malloc(pb->m * c->es);
    if (!buf)
        return kn_error(KERNEST_E_NOMEM, "out of host memory building the NaN mask");
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        for (size_t j = 0; j < p->len; j++) {
            double w = (p->B && isnan(p->B[j])) ? 0.0 : 1.0;
            if (c->dbl)
                ((double *)buf)[p->offset + j] = w;
            else
                ((float *)buf)[p->offset + j] = (float)w;
        }
    }
    int st = kn_cuda_check(cudaMemcpyAsync(c->mask, buf, pb->m * c->es, cudaMemcpyHostToDevice,
                                           c->stream),
                           "cudaMemcpyAsync");
    if (!st)
        st = kn_cuda_check(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
    free(buf);
    return st;
}

/* Every sample's window for the batched gather and scatter, and the largest window. */
static int upload_windows(kn_cuda *c, const kn_problem *pb)
{
    kn_cu_window *w = malloc(pb->npairs * sizeof *w);
    if (!w)
        return kn_error(KERNEST_E_NOMEM, "out of host memory for the samples' windows");
    c->max_hb = c->max_wb = 0;
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        w[i] = (kn_cu_window){p->row0, p->col0, p->hb, p->wb, p->offset};
        c->max_hb = p->hb > c->max_hb ? p->hb : c->max_hb;
        c->max_wb = p->wb > c->max_wb ? p->wb : c->max_wb;
    }
    int st = kn_cuda_check(cudaMemcpyAsync(c->windows, w, pb->npairs * sizeof *w, cudaMemcpyHostToDevice, c->stream),
                           "cudaMemcpyAsync");
    if (!st)
        st = kn_cuda_check(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
    free(w);
    return st;
}

/* What belongs to pb itself: the NaN mask (allocated again: m may differ) and the spectra of A,
 * on plans and buffers made for its shape; c->pb is set on success, everything freed on failure. */
static int fill_problem(kn_cuda *c, const kn_problem *pb)
{
    int st = KERNEST_OK;
    c->pb = NULL;
    if (c->mask) {
        st = kn_cuda_check(cudaFree(c->mask), "cudaFree");
        c->mask = NULL;
    }
    if (!st && pb->has_mask)
        st = kn_cuda_alloc(c, &c->mask, pb->m * c->es, "the NaN mask");
    if (!st)
        st = spectra_of_a(c, pb);
    if (!st && pb->has_mask)
        st = upload_mask(c, pb);
    if (!st && c->windows)
        st = upload_windows(c, pb);
    if (st) {
        kn_cuda_op_free(c);
        return st;
    }
    c->pb = pb;
    return KERNEST_OK;
}

int kn_cuda_op_setup(kn_backend *be, const kn_problem *pb)
{
    kn_cuda *c = impl(be);
    size_t need = kn_cuda_op_bytes(be, pb), avail = 0;
    int st = kn_cuda_use(c);
    if (st)
        return st;
    /* a backend kept from an earlier problem of the same grid, channels and sample count (batch
     * jobs) keeps its plans and buffers: only the mask and the spectra of A are new */
    be->setup_reused = c->made_gh && c->made_gh == pb->grid_h && c->made_gw == pb->grid_w &&
                       c->made_cin == pb->cin && c->made_kin == pb->kin && c->made_npairs == pb->npairs;
    if (be->setup_reused)
        return fill_problem(c, pb);
    kn_cuda_op_free(c);
    if (need == SIZE_MAX)
        return kn_error(KERNEST_E_TOOBIG, "the FFT grid %zux%zu with %zu pairs is too large for cuFFT "
                        "or overflows size_t", pb->grid_h, pb->grid_w, pb->npairs);
    /* refuse before allocating anything */
    st = be->ops->mem_available(be, &avail);
    if (st)
        return st;
    const size_t room = headroom_bytes();
    if (need > avail || avail - need < room)
        return kn_error(KERNEST_E_TOOBIG,
                        "the operator needs %zu bytes (%.2f GiB) on %s, plus %.2f GiB of headroom for "
                        "cuFFT and cuBLAS, but only %zu bytes (%.2f GiB) are free",
                        need, need / GIB, be->device, room / GIB, avail, avail / GIB);
    size_t spec_bytes = spec_len(pb) * 2 * c->es, grid_bytes = pb->grid_h * pb->grid_w * c->es * pb->kin;
    c->batch = batch_of(c, pb);
    st = make_plans(c, pb);
    /* measured again once the plans, their work area and the libraries' kernels are in: what the
     * buffers still need must fit in what is free now, headroom kept */
    size_t rest = 0, avail2 = 0;
    if (!st && !(st = be->ops->mem_available(be, &avail2))) {
        size_t bufs = spec_bytes * (pb->npairs * pb->cin + pb->kin + 1) + grid_bytes;
        if (c->batch > 1)
            bufs += c->batch * (spec_bytes + pb->grid_h * pb->grid_w * c->es) + pb->npairs * sizeof(kn_cu_window);
        rest = bufs + (pb->has_mask ? pb->m * c->es : 0);
        if (rest > avail2 || avail2 - rest < room)
            st = kn_error(KERNEST_E_TOOBIG,
                          "after cuFFT's plans the operator's buffers need %zu bytes (%.2f GiB) on %s, "
                          "plus %.2f GiB of headroom, but only %.2f GiB are free",
                          rest, rest / GIB, be->device, room / GIB, avail2 / GIB);
    }
    if (!st) /* the products cannot overflow: kn_cuda_op_bytes checked them */
        st = kn_cuda_alloc(c, &c->spec_a, spec_bytes * pb->npairs * pb->cin, "the spectra of A");
    if (!st)
        st = kn_cuda_alloc(c, &c->spec_main, spec_bytes * pb->kin, "the kernels' spectra");
    if (!st)
        st = kn_cuda_alloc(c, &c->spec_tmp, spec_bytes, "a work spectrum");
    if (!st)
        st = kn_cuda_alloc(c, &c->grid, grid_bytes, "the real work grid");
    if (!st && c->batch > 1) {
        st = kn_cuda_alloc(c, &c->spec_batch, spec_bytes * c->batch, "the batched samples' spectra");
        if (!st)
            st = kn_cuda_alloc(c, &c->grid_batch, pb->grid_h * pb->grid_w * c->es * c->batch,
                               "the batched samples' grids");
        if (!st)
            st = kn_cuda_alloc(c, (void **)&c->windows, pb->npairs * sizeof(kn_cu_window), "the samples' windows");
    }
    if (st) {
        kn_cuda_op_free(c);
        return st;
    }
    if ((st = fill_problem(c, pb)))
        return st;
    c->made_gh = pb->grid_h;
    c->made_gw = pb->grid_w;
    c->made_cin = pb->cin;
    c->made_kin = pb->kin;
    c->made_npairs = pb->npairs;
    return KERNEST_OK;
}

/* ---- apply, adjoint, regulariser ---------------------------------------------------------- */

/* Byte address of element `at` of a vector. */
static void *elem(const kn_cuda *c, const void *base, size_t at)
{
    return base ? (char *)base + at * c->es : NULL;
}

/* The operator calls need op_setup first (a status rather than a NULL dereference). */
static int need_operator(kn_cuda *c, const char *what)
{
    if (!c->pb)
        return kn_error(KERNEST_E_INVALID, "cuda backend: %s before op_setup", what);
    return kn_cuda_use(c);
}

/* the kin spectra of sample `pair` that output channel o's kernels read (its group's inputs) */
static void *spectrum_of_a(const kn_cuda *c, size_t pair, size_t o)
{
    const size_t first = pair * c->pb->cin + kn_problem_channel(c->pb, o, 0);
    return (char *)c->spec_a + first * spec_len(c->pb) * 2 * c->es;
}

/* The transforms of cnt samples batched: a full batch's plans, the remainder's, or (one sample)
 * the single plans. */
static cufftHandle batch_r2c(const kn_cuda *c, size_t cnt)
{
    return cnt == c->batch ? c->r2c_s[0] : cnt == 1 ? c->r2c : c->r2c_s[1];
}

static cufftHandle batch_c2r(const kn_cuda *c, size_t cnt)
{
    return cnt == c->batch ? c->c2r_s[0] : cnt == 1 ? c->c2r : c->c2r_s[1];
}

/* Output channel o of r for the samples in batches (c->batch > 1; spec_main holds o's kernel
 * spectra): per batch one product kernel, one inverse transform, one gather. */
static int apply_batched(kn_cuda *c, size_t o, double scale, kn_vec *r)
{
    const kn_problem *pb = c->pb;
    const size_t ns = spec_len(pb);
    int st = KERNEST_OK;
    for (size_t i0 = 0; i0 < pb->npairs && !st; i0 += c->batch) {
        const size_t cnt = pb->npairs - i0 < c->batch ? pb->npairs - i0 : c->batch;
        st = kn_cuda_check(kn_cu_spec_mul_sum_batch(c->dbl, c->spec_batch, c->spec_main, spectrum_of_a(c, i0, o), ns,
                                                    pb->kin, cnt, pb->cin * ns, scale, c->stream),
                           "kn_cu_spec_mul_sum_batch");
        if (!st)
            st = fft_c2r_on(c, batch_c2r(c, cnt), c->spec_batch, c->grid_batch);
        if (!st)
            st = kn_cuda_check(kn_cu_gather_batch(c->dbl, r->data, c->mask, c->grid_batch, pb->grid_h, pb->grid_w,
                                                  c->windows, i0, cnt, o, pb->sh, pb->sw, c->max_hb, c->max_wb,
                                                  c->stream),
                               "kn_cu_gather_batch");
    }
    return st;
}

/* The adjoint's part for output channel o in batches: spec_main = Σ_s conj(Â[s,·]) · FFT(pad r[s,o])
 * with one scatter, one forward transform and one reduction per batch. */
static int adjoint_batched(kn_cuda *c, size_t o, double scale, const kn_vec *r)
{
    const kn_problem *pb = c->pb;
    const size_t ns = spec_len(pb);
    int st = KERNEST_OK;
    for (size_t i0 = 0; i0 < pb->npairs && !st; i0 += c->batch) {
        const size_t cnt = pb->npairs - i0 < c->batch ? pb->npairs - i0 : c->batch;
        st = kn_cuda_check(kn_cu_scatter_batch(c->dbl, c->grid_batch, pb->grid_h, pb->grid_w, r->data, c->mask,
                                               c->windows, i0, cnt, o, pb->sh, pb->sw, c->stream),
                           "kn_cu_scatter_batch");
        if (!st)
            st = fft_r2c_on(c, batch_r2c(c, cnt), c->grid_batch, c->spec_batch);
        if (!st) /* the first batch writes the accumulators, the others add */
            st = kn_cuda_check(kn_cu_spec_conj_sum_batch(c->dbl, c->spec_main, c->spec_batch, spectrum_of_a(c, i0, o),
                                                         ns, pb->kin, cnt, pb->cin * ns, scale, i0 > 0, c->stream),
                               "kn_cu_spec_conj_sum_batch");
    }
    return st;
}

/* r[s,o] = mask ⊙ stride(crop(IFFT(Σ_i Â[s, g·kin+i] · FFT(dilate K[o,i])))): per output channel
 * the kin kernel spectra in one batched transform, the channel sum in the frequency domain, one
 * inverse per sample. */
int kn_cuda_op_apply(kn_backend *be, const kn_vec *k, kn_vec *r)
{
    kn_cuda *c = impl(be);
    be->applications++;
    int st = need_operator(c, "op_apply");
    if (st)
        return st;
    const kn_problem *pb = c->pb;
    const size_t gh = pb->grid_h, gw = pb->grid_w, ns = spec_len(pb), kin = pb->kin;
    const size_t nker = pb->kh * pb->kw, ng = gh * gw;
    double scale = 1.0 / ((double)gh * (double)gw); /* of the inverse transform */
    for (size_t o = 0; o < pb->cout && !st; o++) {
        for (size_t ch = 0; ch < kin && !st; ch++)
            st = kn_cuda_check(kn_cu_pad(c->dbl, elem(c, c->grid, ch * ng), gh, gw,
                                         elem(c, k->data, (o * kin + ch) * nker), pb->kh, pb->kw, pb->dh,
                                         pb->dw, c->stream),
                               "kn_cu_pad");
        if (!st)
            st = fft_r2c_k(c, c->grid, c->spec_main);
        if (!st && c->batch > 1) {
            st = apply_batched(c, o, scale, r);
            continue;
        }
        for (size_t i = 0; i < pb->npairs && !st; i++) {
            const kn_pair *p = &pb->pairs[i];
            const size_t off = p->offset + o * p->hb * p->wb;
            if (kin == 1)
                st = kn_cuda_check(kn_cu_spec_mul(c->dbl, c->spec_tmp, c->spec_main, spectrum_of_a(c, i, o),
                                                  ns, scale, c->stream),
                                   "kn_cu_spec_mul");
            else
                st = kn_cuda_check(kn_cu_spec_mul_sum(c->dbl, c->spec_tmp, c->spec_main,
                                                      spectrum_of_a(c, i, o), ns, kin, scale, c->stream),
                                   "kn_cu_spec_mul_sum");
            if (!st)
                st = fft_c2r(c, c->spec_tmp, c->grid);
            if (!st)
                st = kn_cuda_check(kn_cu_gather(c->dbl, elem(c, r->data, off), elem(c, c->mask, off),
                                                c->grid, gw, p->row0, p->col0, p->hb, p->wb, pb->sh, pb->sw,
                                                c->stream),
                                   "kn_cu_gather");
        }
    }
    return st;
}

/* K[o,i] = undilate(crop_K(IFFT(Σ_s conj(Â[s, g·kin+i]) · FFT(pad unstride(r[s,o]))))): one forward
 * transform per sample and output channel, the samples summed in the frequency domain, the kin
 * inverses batched. */
int kn_cuda_op_adjoint(kn_backend *be, const kn_vec *r, kn_vec *k)
{
    kn_cuda *c = impl(be);
    be->applications++;
    int st = need_operator(c, "op_adjoint");
    if (st)
        return st;
    const kn_problem *pb = c->pb;
    const size_t gh = pb->grid_h, gw = pb->grid_w, ns = spec_len(pb), kin = pb->kin;
    const size_t nker = pb->kh * pb->kw, ng = gh * gw;
    double scale = 1.0 / ((double)gh * (double)gw); /* of the inverse transform */
    for (size_t o = 0; o < pb->cout && !st; o++) {
        if (c->batch > 1)
            st = adjoint_batched(c, o, scale, r);
        for (size_t i = 0; i < pb->npairs && !st && c->batch <= 1; i++) {
            const kn_pair *p = &pb->pairs[i];
            const size_t off = p->offset + o * p->hb * p->wb;
            st = kn_cuda_check(kn_cu_scatter(c->dbl, c->grid, gh, gw, elem(c, r->data, off),
                                             elem(c, c->mask, off), p->row0, p->col0, p->hb, p->wb,
                                             pb->sh, pb->sw, c->stream),
                               "kn_cu_scatter");
            if (!st)
                st = fft_r2c(c, c->grid, c->spec_tmp);
            /* the first sample writes the accumulators, the others add: one inverse per kernel */
            if (!st && kin == 1)
                st = kn_cuda_check(kn_cu_spec_mul_conj(c->dbl, c->spec_main, c->spec_tmp,
                                                       spectrum_of_a(c, i, o), ns, scale, i > 0, c->stream),
                                   "kn_cu_spec_mul_conj");
            else if (!st)
                st = kn_cuda_check(kn_cu_spec_mul_conj_multi(c->dbl, c->spec_main, c->spec_tmp,
                                                             spectrum_of_a(c, i, o), ns, kin, scale, i > 0,
                                                             c->stream),
                                   "kn_cu_spec_mul_conj_multi");
        }
        if (!st)
            st = fft_c2r_k(c, c->spec_main, c->grid);
        for (size_t ch = 0; ch < kin && !st; ch++)
            st = kn_cuda_check(kn_cu_crop(c->dbl, elem(c, k->data, (o * kin + ch) * nker), pb->kh, pb->kw,
                                          elem(c, c->grid, ch * ng), gw, pb->dh, pb->dw, c->stream),
                               "kn_cu_crop");
    }
    return st;
}

/* per kernel: no difference crosses from one of the cout·kin kernels to the next */
int kn_cuda_reg_gram(kn_backend *be, kernest_reg reg, const kn_vec *k, kn_vec *out)
{
    kn_cuda *c = impl(be);
    int st = need_operator(c, "reg_gram");
    if (st)
        return st;
    const size_t nk = kn_problem_kernels(c->pb); /* the kernels, stacked: one launch */
    KN_CUDA_TRY(kn_cu_reg_gram(c->dbl, (int)reg, out->data, k->data, nk, c->pb->kh, c->pb->kw, c->stream));
    return KERNEST_OK;
}
