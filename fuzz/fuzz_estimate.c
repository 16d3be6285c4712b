/* fuzz_estimate.c — fuzzes kernest_estimate on tiny problems: the input picks the shapes (A up
 * to 6x6, a kernel up to 9x9 or the default), the values of A and B (NaN and Inf included), the
 * mode, model, solver, regulariser and every constraint (bounds, sum, support disk/box/mask,
 * fixed pixels anywhere), with a few iterations. The call must succeed or fail with a message;
 * a kernel that comes back has the shape asked for. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "kernest.h"

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static unsigned byte(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

/* a double from a small table of interesting values, or from 8 raw bytes */
static double number(reader *r)
{
    static const double table[] = {0.0, 1.0, -1.0, 0.5, 1e-3, 1e3, 1e300, -1e300, 1e-300, 2.0};
    unsigned b = byte(r);
    if (b < 200)
        return table[b % 10] * (b >= 100 ? -1 : 1);
    if (b < 210)
        return b < 205 ? INFINITY : -INFINITY;
    if (b < 215)
        return NAN;
    double v = 0.0;
    unsigned char raw[8];
    for (int i = 0; i < 8; i++)
        raw[i] = (unsigned char)byte(r);
    memcpy(&v, raw, sizeof v);
    return v;
}

static kernest_array *array(reader *r, size_t h, size_t w)
{
    kernest_array *a = NULL;
    if (kernest_array_create2(h, w, &a))
        abort();
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = number(r);
    return a;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("KERNEST_FFTW_PLANNER", "estimate", 1);
    setenv("KERNEST_WISDOM_DIR", "", 1);
    setenv("XDG_CACHE_HOME", "", 1);
    setenv("HOME", "", 1); /* no wisdom cache: nothing is written */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    kernest_options opt;
    kernest_options_default(&opt);
    opt.device = KERNEST_DEVICE_CPU;
    opt.threads = 1;
    opt.maxiter = (int)(byte(&r) % 6);
    unsigned flags = byte(&r) | byte(&r) << 8;
    opt.mode = (kernest_mode)(flags % 3);
    opt.model = (kernest_model)(flags >> 2 & 1);
    opt.solver = (kernest_solver)((flags >> 3 & 3) % 3);
    opt.reg = (kernest_reg)((flags >> 5 & 3) % 3);
    opt.precision = (kernest_precision)(flags >> 7 & 1);
    opt.nonneg = flags >> 8 & 1;
    opt.has_bounds = flags >> 9 & 1;
    opt.has_sum = flags >> 10 & 1;
    opt.support = (kernest_support_kind)((flags >> 11 & 3));
    const int npairs = 1 + (flags >> 13 & 1);
    const int given_k = flags >> 14 & 1;
    opt.lambda = fabs(number(&r));
    opt.tol = fabs(number(&r));
    if (flags >> 15 & 1)
        opt.l1 = fabs(number(&r));
    if (opt.has_bounds) {
        opt.lower = number(&r);
        opt.upper = number(&r);
    }
    if (opt.has_sum)
        opt.sum = number(&r);
    size_t ha = 1 + byte(&r) % 6, wa = 1 + byte(&r) % 6;
    if (given_k) {
        opt.kh = 1 + byte(&r) % 9;
        opt.kw = 1 + byte(&r) % 9;
    }
    kernest_array *mask = NULL;
    if (opt.support == KERNEST_SUPPORT_DISK)
        opt.support_radius = number(&r);
    else if (opt.support == KERNEST_SUPPORT_BOX) {
        opt.support_h = byte(&r) % 12;
        opt.support_w = byte(&r) % 12;
    } else if (opt.support == KERNEST_SUPPORT_MASK) {
        mask = array(&r, 1 + byte(&r) % 12, 1 + byte(&r) % 12);
        opt.support_mask = mask;
    }
    kernest_fixed_pixel fixed[3];
    opt.nfixed = byte(&r) % 4;
    for (size_t i = 0; i < opt.nfixed; i++)
        fixed[i] = (kernest_fixed_pixel){(long)(signed char)byte(&r) % 12, (long)(signed char)byte(&r) % 12,
                                         number(&r)};
    opt.fixed = opt.nfixed ? fixed : NULL;
    /* B's shape: what the mode gives for the kernel (so the data can reach the solver), or off */
    size_t kh = opt.kh ? opt.kh : 2 * ha - 1, kw = opt.kw ? opt.kw : 2 * wa - 1, hb, wb;
    if (kernest_output_shape(opt.mode, ha, wa, kh, kw, &hb, &wb, NULL, NULL)) {
        hb = 1 + byte(&r) % 8;
        wb = 1 + byte(&r) % 8;
    } else if (byte(&r) == 0xff) {
        hb += 1; /* a shape that does not fit */
    }
    kernest_array *A[2] = {NULL, NULL}, *B[2] = {NULL, NULL};
    for (int i = 0; i < npairs; i++) {
        A[i] = array(&r, ha, wa);
        B[i] = array(&r, hb, wb);
    }
    kernest_array *K = NULL;
    kernest_report *rep = NULL;
    int st = kernest_estimate((const kernest_array *const *)A, (const kernest_array *const *)B,
                              (size_t)npairs, &opt, &K, &rep);
    if (st) {
        if (K || rep || !*kernest_last_error())
            abort(); /* a failure returns nothing and says why */
    } else {
        if (!K || !rep || K->ndim != 2 || (opt.kh && (K->shape[0] != opt.kh || K->shape[1] != opt.kw)))
            abort();
        if (rep->iterations < 0 || rep->iterations > opt.maxiter)
            abort();
    }
    kernest_array_destroy(&K);
    kernest_report_destroy(&rep);
    for (int i = 0; i < npairs; i++) {
        kernest_array_destroy(&A[i]);
        kernest_array_destroy(&B[i]);
    }
    kernest_array_destroy(&mask);
    return 0;
}
