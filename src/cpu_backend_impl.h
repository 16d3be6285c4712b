/* cpu_backend_impl.h — the FFTW backend's operations, written once and included by cpu_backend.c
 * for each precision with R (real type), FFTW_(name) (fftw_/fftwf_ prefix) and SFX(name). */

typedef struct SFX(cpu_op) {
    const kn_problem *pb;
    size_t gh, gw, gc, ncplx;  /* grid, half-spectrum columns, complex cells */
    size_t cin, cout;          /* channels */
    size_t npairs;             /* samples: entries of ahat (pb may be gone when op is freed) */
    R *real;                   /* cin real grids of gh*gw (one is used by the per-sample transforms) */
    FFTW_(complex) *spec;      /* gh*gc work spectrum */
    FFTW_(complex) *acc;       /* cin spectra of gh*gc: FFT(K[o,i]) in apply, Σ_s conj(Â[s,i])·R̂[s,o]
                                  in adjoint */
    FFTW_(complex) **ahat;     /* per sample, cin spectra FFT(A[s,i]) on the grid */
    R *mask;                   /* m entries, 1 observed / 0 missing; NULL when nothing is missing */
    FFTW_(plan) r2c, c2r;      /* one grid */
    FFTW_(plan) r2c_k, c2r_k;  /* cin grids in one batched transform (the plans above when cin = 1) */
} SFX(cpu_op);

static R *SFX(vdata)(const kn_vec *v)
{
    return (R *)v->data;
}

static int SFX(vec_create)(kn_backend *be, size_t n, kn_vec **out)
{
    kn_vec *v = calloc(1, sizeof *v);
    R *d = FFTW_(malloc)((n ? n : 1) * sizeof(R));
    if (!v || !d) {
        free(v);
        FFTW_(free)(d);
        return kn_error(KERNEST_E_NOMEM, "cpu: cannot allocate a vector of %zu elements", n);
    }
    memset(d, 0, (n ? n : 1) * sizeof(R));
    v->n = n;
    v->data = d;
    *out = v;
    return KERNEST_OK;
}

static void SFX(vec_destroy)(kn_backend *be, kn_vec **v)
{
    if (!v || !*v)
        return;
    FFTW_(free)((*v)->data);
    free(*v);
    *v = NULL;
}

static int SFX(vec_upload)(kn_backend *be, kn_vec *dst, const double *src)
{
    R *d = SFX(vdata)(dst);
    for (size_t i = 0; i < dst->n; i++)
        d[i] = (R)src[i];
    return KERNEST_OK;
}

static int SFX(vec_download)(kn_backend *be, const kn_vec *src, double *dst)
{
    const R *s = SFX(vdata)(src);
    for (size_t i = 0; i < src->n; i++)
        dst[i] = (double)s[i];
    return KERNEST_OK;
}

static int SFX(vec_copy)(kn_backend *be, kn_vec *dst, const kn_vec *src)
{
    memcpy(dst->data, src->data, src->n * sizeof(R));
    return KERNEST_OK;
}

static int SFX(vec_fill)(kn_backend *be, kn_vec *v, double a)
{
    R *d = SFX(vdata)(v);
    const R ra = (R)a;
    long n = (long)v->n;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++)
        d[i] = ra;
    return KERNEST_OK;
}

static int SFX(vec_scale)(kn_backend *be, kn_vec *v, double a)
{
    R *d = SFX(vdata)(v);
    const R ra = (R)a;
    long n = (long)v->n;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++)
        d[i] *= ra;
    return KERNEST_OK;
}

static int SFX(vec_axpy)(kn_backend *be, kn_vec *y, double a, const kn_vec *x)
{
    R *yd = SFX(vdata)(y);
    const R *xd = SFX(vdata)(x);
    const R ra = (R)a;
    long n = (long)y->n;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++)
        yd[i] += ra * xd[i];
    return KERNEST_OK;
}

static int SFX(vec_aypx)(kn_backend *be, kn_vec *y, double a, const kn_vec *x)
{
    R *yd = SFX(vdata)(y);
    const R *xd = SFX(vdata)(x);
    const R ra = (R)a;
    long n = (long)y->n;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++)
        yd[i] = xd[i] + ra * yd[i];
    return KERNEST_OK;
}

static int SFX(vec_dot)(kn_backend *be, const kn_vec *x, const kn_vec *y, double *out)
{
    const R *xd = SFX(vdata)(x), *yd = SFX(vdata)(y);
    double s = 0.0;
    long n = (long)x->n;
#pragma omp parallel for num_threads(be->threads) schedule(static) reduction(+ : s)
    for (long i = 0; i < n; i++)
        s += (double)xd[i] * (double)yd[i];
    *out = s;
    return KERNEST_OK;
}

static int SFX(vec_nrm2)(kn_backend *be, const kn_vec *x, double *out)
{
    double s;
    SFX(vec_dot)(be, x, x, &s);
    *out = sqrt(s);
    return KERNEST_OK;
}

static size_t SFX(op_bytes)(const kn_backend *be, const kn_problem *pb)
{
    size_t gc = pb->grid_w / 2 + 1, ncplx = pb->grid_h * gc;
    size_t cb = ncplx * sizeof(FFTW_(complex));
    const double cin = (double)pb->cin;
    /* cin real grids + work + cin accumulators + cin spectra per sample + mask; FFTW's own
     * scratch is about one more spectrum (counted once as a margin) */
    double total = cin * pb->grid_h * pb->grid_w * sizeof(R) + (2.0 + cin + cin * pb->npairs) * cb +
                   (pb->has_mask ? (double)pb->m * sizeof(R) : 0.0);
    return total >= (double)SIZE_MAX ? SIZE_MAX : (size_t)total;
}

static void SFX(op_free)(SFX(cpu_op) *op)
{
    if (!op)
        return;
    if (op->r2c_k && op->r2c_k != op->r2c)
        FFTW_(destroy_plan)(op->r2c_k);
    if (op->c2r_k && op->c2r_k != op->c2r)
        FFTW_(destroy_plan)(op->c2r_k);
    if (op->r2c)
        FFTW_(destroy_plan)(op->r2c);
    if (op->c2r)
        FFTW_(destroy_plan)(op->c2r);
    if (op->ahat)
        for (size_t i = 0; i < op->npairs; i++)
            FFTW_(free)(op->ahat[i]);
    free(op->ahat);
    FFTW_(free)(op->real);
    FFTW_(free)(op->spec);
    FFTW_(free)(op->acc);
    free(op->mask);
    free(op);
}

/* Places rows×cols values of src (scaled by w[] when given) at (r0, c0) of the real grid `grid`
 * and zeroes every other cell, in one pass over the grid. */
static void SFX(place_at)(kn_backend *be, SFX(cpu_op) *op, R *grid, const R *src, const R *w,
                          size_t rows, size_t cols, size_t r0, size_t c0)
{
    const size_t gw = op->gw;
    long gh = (long)op->gh;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long y = 0; y < gh; y++) {
        R *row = grid + (size_t)y * gw;
        if ((size_t)y < r0 || (size_t)y >= r0 + rows) {
            memset(row, 0, gw * sizeof(R));
            continue;
        }
        const size_t sy = (size_t)y - r0;
        const R *s = src + sy * cols;
        memset(row, 0, c0 * sizeof(R));
        if (w) {
            const R *ws = w + sy * cols;
            for (size_t x = 0; x < cols; x++)
                row[c0 + x] = s[x] * ws[x];
        } else
            memcpy(row + c0, s, cols * sizeof(R));
        memset(row + c0 + cols, 0, (gw - c0 - cols) * sizeof(R));
    }
}

static void SFX(place)(kn_backend *be, SFX(cpu_op) *op, const R *src, const R *w, size_t rows,
                       size_t cols, size_t r0, size_t c0)
{
    SFX(place_at)(be, op, op->real, src, w, rows, cols, r0, c0);
}

/* The mask and the input spectra FFT(A[s,i]) of pb into op (its plans and buffers made). */
static int SFX(op_fill)(SFX(cpu_op) *op, const kn_problem *pb)
{
    const size_t cin = op->cin, ng = op->gh * op->gw;
    free(op->mask);
    op->mask = NULL;
    if (pb->has_mask) {
        if (!(op->mask = malloc(pb->m * sizeof(R))))
            return kn_error(KERNEST_E_NOMEM, "cpu: cannot allocate the mask");
        for (size_t i = 0; i < pb->npairs; i++) {
            const kn_pair *p = &pb->pairs[i];
            for (size_t j = 0; j < p->len; j++)
                op->mask[p->offset + j] = (p->B && isnan(p->B[j])) ? (R)0 : (R)1;
        }
    }
    /* the input spectra FFT(A[s,i]), computed once */
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        const size_t gw = op->gw;
        for (size_t c = 0; c < cin; c++) {
            const double *a = p->A + c * p->ha * p->wa;
            memset(op->real, 0, ng * sizeof(R));
            for (size_t y = 0; y < p->ha; y++)
                for (size_t x = 0; x < p->wa; x++)
                    op->real[y * gw + x] = (R)a[y * p->wa + x];
            FFTW_(execute_dft_r2c)(op->r2c, op->real, op->ahat[i] + c * op->ncplx);
        }
    }
    op->pb = pb;
    op->cout = pb->cout;
    return KERNEST_OK;
}

static int SFX(op_setup)(kn_backend *be, const kn_problem *pb)
{
    SFX(cpu_impl) *impl = be->impl;
    SFX(cpu_op) *old = impl->op;
    /* a backend kept from an earlier problem of the same grid, channels and sample count (batch
     * jobs) keeps its plans and buffers: only the mask and the spectra are new */
    be->setup_reused = old && old->gh == pb->grid_h && old->gw == pb->grid_w && old->cin == pb->cin &&
                       old->npairs == pb->npairs;
    if (be->setup_reused)
        return SFX(op_fill)(old, pb);
    SFX(cpu_op) *op = calloc(1, sizeof *op);
    if (!op)
        return kn_error(KERNEST_E_NOMEM, "cpu: out of memory");
    op->pb = pb;
    op->gh = pb->grid_h;
    op->gw = pb->grid_w;
    op->gc = op->gw / 2 + 1;
    op->ncplx = op->gh * op->gc;
    op->cin = pb->cin;
    op->cout = pb->cout;
    op->npairs = pb->npairs;
    const size_t cin = op->cin, ng = op->gh * op->gw;
    op->real = FFTW_(malloc)(cin * ng * sizeof(R));
    op->spec = FFTW_(malloc)(op->ncplx * sizeof(FFTW_(complex)));
    op->acc = FFTW_(malloc)(cin * op->ncplx * sizeof(FFTW_(complex)));
    op->ahat = calloc(pb->npairs, sizeof *op->ahat);
    int st = KERNEST_OK;
    if (!op->real || !op->spec || !op->acc || !op->ahat) {
        st = kn_error(KERNEST_E_NOMEM, "cpu: cannot allocate the %zux%zu FFT grid", op->gh, op->gw);
        goto fail;
    }
    for (size_t i = 0; i < pb->npairs; i++)
        if (!(op->ahat[i] = FFTW_(malloc)(cin * op->ncplx * sizeof(FFTW_(complex))))) {
            st = kn_error(KERNEST_E_NOMEM, "cpu: cannot allocate the spectrum of pair %zu", i + 1);
            goto fail;
        }
    /* planning may scribble on the arrays, so it comes before any data is placed */
    FFTW_(plan_with_nthreads)(be->threads);
    op->r2c = FFTW_(plan_dft_r2c_2d)((int)op->gh, (int)op->gw, op->real, op->spec, kn_fftw_flags());
    op->c2r = FFTW_(plan_dft_c2r_2d)((int)op->gh, (int)op->gw, op->spec, op->real, kn_fftw_flags());
    if (cin == 1) {
        op->r2c_k = op->r2c;
        op->c2r_k = op->c2r;
    } else if (ng > INT_MAX || op->ncplx > INT_MAX || cin > INT_MAX) {
        st = kn_error(KERNEST_E_TOOBIG, "cpu: a %zux%zu grid is too large for FFTW's batched plans (%zu "
                      "input channels)", op->gh, op->gw, cin);
        goto fail;
    } else if (op->r2c && op->c2r) {
        /* the kernels' transforms, one per input channel, batched: cin grids in a row */
        int dims[2] = {(int)op->gh, (int)op->gw};
        op->r2c_k = FFTW_(plan_many_dft_r2c)(2, dims, (int)cin, op->real, NULL, 1, (int)ng, op->acc,
                                             NULL, 1, (int)op->ncplx, kn_fftw_flags());
        op->c2r_k = FFTW_(plan_many_dft_c2r)(2, dims, (int)cin, op->acc, NULL, 1, (int)op->ncplx,
                                             op->real, NULL, 1, (int)ng, kn_fftw_flags());
    }
    if (!op->r2c || !op->c2r || !op->r2c_k || !op->c2r_k) {
        st = kn_error(KERNEST_E_FFT, "cpu: FFTW could not plan a %zux%zu transform (%zu channel%s)",
                      op->gh, op->gw, cin, cin == 1 ? "" : "s");
        goto fail;
    }
    kn_fftw_save_wisdom(be->precision);
    if ((st = SFX(op_fill)(op, pb)))
        goto fail;
    SFX(op_free)(impl->op);
    impl->op = op;
    return KERNEST_OK;
fail:
    SFX(op_free)(op);
    return st;
}

/* r[s,o] = mask ⊙ crop(IFFT(Σ_i Â[s,i] · FFT(K[o,i]))): per output channel the cin kernel spectra
 * in one batched transform, then one inverse transform per sample */
static int SFX(op_apply)(kn_backend *be, const kn_vec *k, kn_vec *r)
{
    SFX(cpu_op) *op = ((SFX(cpu_impl) *)be->impl)->op;
    be->applications++;
    const kn_problem *pb = op->pb;
    const R scale = (R)(1.0 / ((double)op->gh * (double)op->gw));
    const long nc = (long)op->ncplx;
    const size_t cin = op->cin, ng = op->gh * op->gw, nker = pb->kh * pb->kw;
    const R *kd = SFX(vdata)(k);
    R *rd = SFX(vdata)(r);
    for (size_t o = 0; o < op->cout; o++) {
        for (size_t c = 0; c < cin; c++)
            SFX(place_at)(be, op, op->real + c * ng, kd + (o * cin + c) * nker, NULL, pb->kh, pb->kw, 0, 0);
        FFTW_(execute_dft_r2c)(op->r2c_k, op->real, op->acc); /* acc[c] = FFT(K[o,c]) */
        for (size_t i = 0; i < pb->npairs; i++) {
            const kn_pair *p = &pb->pairs[i];
            const FFTW_(complex) *a = op->ahat[i], *kf = op->acc;
            FFTW_(complex) *s = op->spec;
            /* spec = Σ_c Â[s,c] · FFT(K[o,c]) / (gh gw): the inverse's normalisation folded in */
#pragma omp parallel for num_threads(be->threads) schedule(static)
            for (long j = 0; j < nc; j++) {
                R re = a[j][0] * kf[j][0] - a[j][1] * kf[j][1];
                R im = a[j][0] * kf[j][1] + a[j][1] * kf[j][0];
                for (size_t c = 1; c < cin; c++) {
                    const size_t q = c * (size_t)nc + (size_t)j;
                    re += a[q][0] * kf[q][0] - a[q][1] * kf[q][1];
                    im += a[q][0] * kf[q][1] + a[q][1] * kf[q][0];
                }
                s[j][0] = re * scale;
                s[j][1] = im * scale;
            }
            FFTW_(execute_dft_c2r)(op->c2r, op->spec, op->real);
            const size_t off = p->offset + o * p->hb * p->wb;
            R *seg = rd + off;
            const R *m = op->mask ? op->mask + off : NULL;
            long hb = (long)p->hb;
#pragma omp parallel for num_threads(be->threads) schedule(static)
            for (long y = 0; y < hb; y++) {
                const R *src = op->real + (p->row0 + (size_t)y) * op->gw + p->col0;
                R *dst = seg + (size_t)y * p->wb;
                if (m)
                    for (size_t x = 0; x < p->wb; x++)
                        dst[x] = src[x] * m[(size_t)y * p->wb + x];
                else
                    memcpy(dst, src, p->wb * sizeof(R));
            }
        }
    }
    return KERNEST_OK;
}

/* K[o,i] = crop_K(IFFT(Σ_s conj(Â[s,i]) · FFT(pad mask ⊙ r[s,o]))): per output channel one forward
 * transform per sample, the samples summed in the frequency domain, then the cin inverses batched */
static int SFX(op_adjoint)(kn_backend *be, const kn_vec *r, kn_vec *k)
{
    SFX(cpu_op) *op = ((SFX(cpu_impl) *)be->impl)->op;
    be->applications++;
    const kn_problem *pb = op->pb;
    const R scale = (R)(1.0 / ((double)op->gh * (double)op->gw));
    const long nc = (long)op->ncplx;
    const size_t cin = op->cin, ng = op->gh * op->gw, nker = pb->kh * pb->kw;
    const R *rd = SFX(vdata)(r);
    R *kd = SFX(vdata)(k);
    for (size_t o = 0; o < op->cout; o++) {
        for (size_t i = 0; i < pb->npairs; i++) {
            const kn_pair *p = &pb->pairs[i];
            const size_t off = p->offset + o * p->hb * p->wb;
            SFX(place)(be, op, rd + off, op->mask ? op->mask + off : NULL, p->hb, p->wb, p->row0, p->col0);
            FFTW_(execute_dft_r2c)(op->r2c, op->real, op->spec);
            const FFTW_(complex) *a = op->ahat[i], *s = op->spec;
            FFTW_(complex) *acc = op->acc;
            const int first = i == 0;
            /* acc[c] (+)= conj(Â[s,c]) · FFT(r[s,o]) / (gh gw): correlation with A[s,c], samples
             * summed in the frequency domain so one inverse transform serves them all */
#pragma omp parallel for num_threads(be->threads) schedule(static)
            for (long j = 0; j < nc; j++) {
                for (size_t c = 0; c < cin; c++) {
                    const size_t q = c * (size_t)nc + (size_t)j;
                    R re = (a[q][0] * s[j][0] + a[q][1] * s[j][1]) * scale;
                    R im = (a[q][0] * s[j][1] - a[q][1] * s[j][0]) * scale;
                    if (first) {
                        acc[q][0] = re;
                        acc[q][1] = im;
                    } else {
                        acc[q][0] += re;
                        acc[q][1] += im;
                    }
                }
            }
        }
        FFTW_(execute_dft_c2r)(op->c2r_k, op->acc, op->real);
        for (size_t c = 0; c < cin; c++) {
            R *dst = kd + (o * cin + c) * nker;
            const R *grid = op->real + c * ng;
            long kh = (long)pb->kh;
#pragma omp parallel for num_threads(be->threads) schedule(static)
            for (long y = 0; y < kh; y++)
                memcpy(dst + (size_t)y * pb->kw, grid + (size_t)y * op->gw, pb->kw * sizeof(R));
        }
    }
    return KERNEST_OK;
}

/* per kernel (cout*cin of them): no difference crosses from one kernel to the next */
static int SFX(reg_gram)(kn_backend *be, kernest_reg reg, const kn_vec *k, kn_vec *out)
{
    SFX(cpu_op) *op = ((SFX(cpu_impl) *)be->impl)->op;
    const size_t kh = op->pb->kh, kw = op->pb->kw, nk = op->cin * op->cout;
    const R *kd0 = SFX(vdata)(k);
    R *o0 = SFX(vdata)(out);
    if (reg == KERNEST_REG_NONE) {
        memset(o0, 0, k->n * sizeof(R));
        return KERNEST_OK;
    }
    if (reg == KERNEST_REG_RIDGE) {
        memcpy(o0, kd0, k->n * sizeof(R));
        return KERNEST_OK;
    }
    /* LᵀL of forward differences with no wrap: the graph Laplacian of each kernel's grid */
    for (size_t ch = 0; ch < nk; ch++) {
        const R *kd = kd0 + ch * kh * kw;
        R *o = o0 + ch * kh * kw;
#pragma omp parallel for num_threads(be->threads) schedule(static)
        for (long yl = 0; yl < (long)kh; yl++) {
            size_t y = (size_t)yl;
            for (size_t x = 0; x < kw; x++) {
                R c = kd[y * kw + x], s = 0;
                if (y > 0) s += c - kd[(y - 1) * kw + x];
                if (y + 1 < kh) s += c - kd[(y + 1) * kw + x];
                if (x > 0) s += c - kd[y * kw + x - 1];
                if (x + 1 < kw) s += c - kd[y * kw + x + 1];
                o[y * kw + x] = s;
            }
        }
    }
    return KERNEST_OK;
}

/* ---- priors: projections, shrinkage, sparse maps ---------------------------------------- */

static int SFX(vec_clip)(kn_backend *be, kn_vec *v, double lo, double hi)
{
    R *d = SFX(vdata)(v);
    const R rl = (R)lo, rh = (R)hi;
    long n = (long)v->n;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++)
        d[i] = d[i] < rl ? rl : d[i] > rh ? rh : d[i];
    return KERNEST_OK;
}

static int SFX(vec_mul)(kn_backend *be, kn_vec *v, const kn_vec *w)
{
    R *d = SFX(vdata)(v);
    const R *wd = SFX(vdata)(w);
    long n = (long)v->n;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++)
        d[i] *= wd[i];
    return KERNEST_OK;
}

static int SFX(vec_soft)(kn_backend *be, kn_vec *v, double t)
{
    R *d = SFX(vdata)(v);
    const R rt = (R)t;
    long n = (long)v->n;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++)
        d[i] = d[i] > rt ? d[i] - rt : d[i] < -rt ? d[i] + rt : (R)0;
    return KERNEST_OK;
}

typedef struct SFX(cpu_sparse) {
    size_t *row_ptr, *col;
    R *val;
} SFX(cpu_sparse);

static void SFX(sparse_destroy)(kn_backend *be, kn_sparse **s)
{
    if (!s || !*s)
        return;
    SFX(cpu_sparse) *d = (*s)->data;
    if (d) {
        free(d->row_ptr);
        free(d->col);
        free(d->val);
        free(d);
    }
    free(*s);
    *s = NULL;
}

static int SFX(sparse_create)(kn_backend *be, size_t rows, size_t cols, const size_t *row_ptr,
                              const size_t *col, const double *val, kn_sparse **out)
{
    const size_t nnz = row_ptr[rows];
    kn_sparse *s = calloc(1, sizeof *s);
    SFX(cpu_sparse) *d = calloc(1, sizeof *d);
    if (s)
        s->data = d;
    if (!s || !d || !(d->row_ptr = malloc((rows + 1) * sizeof *d->row_ptr)) ||
        !(d->col = malloc((nnz ? nnz : 1) * sizeof *d->col)) ||
        !(d->val = malloc((nnz ? nnz : 1) * sizeof *d->val))) {
        if (s)
            SFX(sparse_destroy)(be, &s);
        else
            free(d);
        return kn_error(KERNEST_E_NOMEM, "cpu: cannot allocate a %zux%zu sparse matrix (%zu entries)",
                        rows, cols, nnz);
    }
    memcpy(d->row_ptr, row_ptr, (rows + 1) * sizeof *d->row_ptr);
    memcpy(d->col, col, nnz * sizeof *d->col);
    for (size_t i = 0; i < nnz; i++)
        d->val[i] = (R)val[i];
    s->rows = rows;
    s->cols = cols;
    s->nnz = nnz;
    *out = s;
    return KERNEST_OK;
}

static int SFX(sparse_apply)(kn_backend *be, const kn_sparse *s, const kn_vec *x, kn_vec *y)
{
    const SFX(cpu_sparse) *d = s->data;
    const R *xd = SFX(vdata)(x);
    R *yd = SFX(vdata)(y);
    long rows = (long)s->rows;
    /* one output row per thread iteration: a gather, no write conflicts */
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < rows; i++) {
        R acc = 0;
        for (size_t j = d->row_ptr[i]; j < d->row_ptr[i + 1]; j++)
            acc += d->val[j] * xd[d->col[j]];
        yd[i] = acc;
    }
    return KERNEST_OK;
}

/* ---- total variation: forward differences inside each of the nimg stacked kernel grids and
 * their adjoint (row Y of the stack is row Y mod kh of its kernel) ------------------------- */

static int SFX(tv_grad)(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *x, kn_vec *g)
{
    const R *k = SFX(vdata)(x);
    R *gx = SFX(vdata)(g), *gy = gx + nimg * kh * kw;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long yl = 0; yl < (long)(nimg * kh); yl++) {
        size_t y = (size_t)yl % kh, row = (size_t)yl * kw;
        for (size_t c = 0; c < kw; c++) {
            size_t i = row + c;
            gx[i] = c + 1 < kw ? k[i + 1] - k[i] : (R)0;
            gy[i] = y + 1 < kh ? k[i + kw] - k[i] : (R)0;
        }
    }
    return KERNEST_OK;
}

static int SFX(tv_grad_adjoint)(kn_backend *be, size_t nimg, size_t kh, size_t kw, const kn_vec *g, kn_vec *x)
{
    const R *gx = SFX(vdata)(g), *gy = gx + nimg * kh * kw;
    R *o = SFX(vdata)(x);
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long yl = 0; yl < (long)(nimg * kh); yl++) {
        size_t y = (size_t)yl % kh, row = (size_t)yl * kw;
        for (size_t c = 0; c < kw; c++) {
            size_t i = row + c;
            R s = 0;
            if (c + 1 < kw) s -= gx[i];
            if (c > 0) s += gx[i - 1];
            if (y + 1 < kh) s -= gy[i];
            if (y > 0) s += gy[i - kw];
            o[i] = s;
        }
    }
    return KERNEST_OK;
}

static int SFX(vec_ball_proj)(kn_backend *be, kn_vec *p, double t)
{
    R *a = SFX(vdata)(p);
    const size_t half = p->n / 2;
    R *b = a + half;
    long n = (long)half;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long i = 0; i < n; i++) {
        double r = sqrt((double)a[i] * a[i] + (double)b[i] * b[i]);
        if (r > t) {
            const R s = (R)(t / r);
            a[i] *= s;
            b[i] *= s;
        }
    }
    return KERNEST_OK;
}

static int SFX(vec_pair_nrm_sum)(kn_backend *be, const kn_vec *p, double *out)
{
    const R *a = SFX(vdata)(p);
    const size_t half = p->n / 2;
    const R *b = a + half;
    long n = (long)half;
    double s = 0.0;
#pragma omp parallel for num_threads(be->threads) schedule(static) reduction(+ : s)
    for (long i = 0; i < n; i++)
        s += sqrt((double)a[i] * a[i] + (double)b[i] * b[i]);
    *out = s;
    return KERNEST_OK;
}

static void SFX(destroy)(kn_backend *be)
{
    SFX(cpu_impl) *impl = be->impl;
    if (!impl)
        return;
    SFX(op_free)(impl->op);
    free(impl);
    be->impl = NULL;
}

static const kn_backend_ops SFX(cpu_ops) = {
    .name = "cpu",
    .destroy = SFX(destroy),
    .mem_available = cpu_mem_available,
    .op_bytes = SFX(op_bytes),
    .vec_create = SFX(vec_create),
    .vec_destroy = SFX(vec_destroy),
    .vec_upload = SFX(vec_upload),
    .vec_download = SFX(vec_download),
    .vec_copy = SFX(vec_copy),
    .vec_fill = SFX(vec_fill),
    .vec_scale = SFX(vec_scale),
    .vec_axpy = SFX(vec_axpy),
    .vec_aypx = SFX(vec_aypx),
    .vec_dot = SFX(vec_dot),
    .vec_nrm2 = SFX(vec_nrm2),
    .op_setup = SFX(op_setup),
    .op_apply = SFX(op_apply),
    .op_adjoint = SFX(op_adjoint),
    .reg_gram = SFX(reg_gram),
    .vec_clip = SFX(vec_clip),
    .vec_mul = SFX(vec_mul),
    .vec_soft = SFX(vec_soft),
    .sparse_create = SFX(sparse_create),
    .sparse_destroy = SFX(sparse_destroy),
    .sparse_apply = SFX(sparse_apply),
    .tv_grad = SFX(tv_grad),
    .tv_grad_adjoint = SFX(tv_grad_adjoint),
    .vec_ball_proj = SFX(vec_ball_proj),
    .vec_pair_nrm_sum = SFX(vec_pair_nrm_sum),
};
