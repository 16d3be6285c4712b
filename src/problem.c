/* problem.c — validates pairs and shapes and derives crop windows, data offsets and the FFT grid. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "problem.h"

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
static int default_kernel(const kernest_array *A, const kernest_array *B, kernest_mode mode,
                          size_t *kh, size_t *kw)
{
    size_t ha = A->shape[0], wa = A->shape[1];
    if (mode == KERNEST_MODE_SAME) {
        *kh = 2 * ha - 1;
        *kw = 2 * wa - 1;
        return KERNEST_OK;
    }
    if (!B)
        return kn_error(KERNEST_E_INVALID, "--ksize: a kernel shape is needed with mode %s",
                        kernest_mode_name(mode));
    size_t hb = B->shape[0], wb = B->shape[1];
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

int kn_problem_init(kn_problem *pb, const kernest_array *const *A, const kernest_array *const *B,
                    size_t npairs, kernest_mode mode, size_t kh, size_t kw,
                    const char *const *names)
{
    memset(pb, 0, sizeof *pb);
    if (!A || npairs == 0)
        return kn_error(KERNEST_E_INVALID, "no input pairs");
    if ((unsigned)mode > KERNEST_MODE_VALID)
        return kn_error(KERNEST_E_INVALID, "--mode: unknown mode %d", (int)mode);
    for (size_t i = 0; i < npairs; i++) {
        int st = check_2d(A[i], name_of(names, 2 * i, "A"));
        if (st == KERNEST_OK && B)
            st = check_2d(B[i], name_of(names, 2 * i + 1, "B"));
        if (st)
            return st;
    }
    if ((kh == 0) != (kw == 0))
        return kn_error(KERNEST_E_INVALID, "--ksize: both kernel dimensions must be given");
    if (kh == 0) {
        int st = default_kernel(A[0], B ? B[0] : NULL, mode, &kh, &kw);
        if (st)
            return st;
    }
    pb->pairs = calloc(npairs, sizeof *pb->pairs);
    if (!pb->pairs)
        return kn_error(KERNEST_E_NOMEM, "out of memory");
    pb->npairs = npairs;
    pb->mode = mode;
    pb->kh = kh;
    pb->kw = kw;
    int st = KERNEST_OK;
    size_t m = 0, need_h = 0, need_w = 0, nobs_all = 0;
    if (kn_mul_size(kh, kw, &pb->n)) {
        st = kn_error(KERNEST_E_TOOBIG, "--ksize: %zux%zu kernel overflows", kh, kw);
        goto fail;
    }
    for (size_t i = 0; i < npairs && !st; i++) {
        kn_pair *p = &pb->pairs[i];
        const char *an = name_of(names, 2 * i, "A"), *bn = name_of(names, 2 * i + 1, "B");
        p->A = A[i]->data;
        p->ha = A[i]->shape[0];
        p->wa = A[i]->shape[1];
        for (size_t j = 0; j < A[i]->size; j++)
            if (!isfinite(p->A[j])) {
                st = kn_error(KERNEST_E_VALUE, "%s: holds NaN or Inf at element %zu (row %zu, "
                              "column %zu); A must be finite", an, j, j / p->wa, j % p->wa);
                goto fail;
            }
        st = kernest_output_shape(mode, p->ha, p->wa, kh, kw, &p->hb, &p->wb, &p->row0, &p->col0);
        if (st) {
            st = kn_error(st, "%s: %s", an, kernest_last_error());
            goto fail;
        }
        size_t seg;
        if (kn_mul_size(p->hb, p->wb, &seg)) {
            st = kn_error(KERNEST_E_TOOBIG, "%s: a %zux%zu output overflows", bn, p->hb, p->wb);
            goto fail;
        }
        p->nobs = seg;
        if (B) {
            p->B = B[i]->data;
            if (B[i]->shape[0] != p->hb || B[i]->shape[1] != p->wb) {
                st = kn_error(KERNEST_E_SHAPE, "%s: B is %zux%zu but mode %s with A %zux%zu (%s) and a "
                              "%zux%zu kernel gives %zux%zu", bn, B[i]->shape[0], B[i]->shape[1],
                              kernest_mode_name(mode), p->ha, p->wa, an, kh, kw, p->hb, p->wb);
                goto fail;
            }
            p->nobs = 0;
            for (size_t j = 0; j < seg; j++) {
                double v = p->B[j];
                if (isnan(v))
                    pb->has_mask = 1;
                else if (!isfinite(v)) {
                    st = kn_error(KERNEST_E_VALUE, "%s: holds Inf at element %zu; use NaN to mark "
                                  "a missing pixel of B", bn, j);
                    goto fail;
                } else
                    p->nobs++;
            }
        }
        nobs_all += p->nobs;
        p->offset = m;
        if (kn_add_size(m, seg, &m)) {
            st = kn_error(KERNEST_E_TOOBIG, "total data size overflows");
            goto fail;
        }
        size_t fh, fw;
        if (kn_add_size(p->ha, kh - 1, &fh) || kn_add_size(p->wa, kw - 1, &fw)) {
            st = kn_error(KERNEST_E_TOOBIG, "--ksize: FFT grid size overflows");
            goto fail;
        }
        if (fh > need_h) need_h = fh;
        if (fw > need_w) need_w = fw;
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

void kn_problem_free(kn_problem *pb)
{
    if (!pb)
        return;
    free(pb->pairs);
    memset(pb, 0, sizeof *pb);
}
