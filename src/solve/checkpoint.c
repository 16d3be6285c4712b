/* checkpoint.c — the solver state file: header with a fingerprint, named vectors and scalars,
 * the residual history, and a checksum; written atomically, read with every size checked.
 *
 * Layout (version 3; every integer and double little-endian):
 *   magic "KNCKPT\r\n" (8) | u32 version | u32 solver | u32 precision | u32 mode | u32 model |
 *   i32 iteration | u64 kh | u64 kw | u64 npairs | u64 data_hash | u64 options_hash |
 *   u32 nvec | u32 nscal |
 *   nvec × (name[16] NUL-padded | u64 n | n × f64) | nscal × (name[16] | f64) |
 *   (iteration+1) × f64 history | u64 FNV-1a 64 of every byte before it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "checkpoint.h"
#include "base/bytes.h"
#include "base/error.h"
#include "base/options.h"

static const char magic[8] = {'K', 'N', 'C', 'K', 'P', 'T', '\r', '\n'};
enum { HEADER_BYTES = 8 + 6 * 4 + 5 * 8 + 2 * 4 };

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * FNV_PRIME;
    return h;
}

/* word-wise mixing for the data hash (8 bytes per multiply: inputs can be large) */
static uint64_t mix_u64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * FNV_PRIME;
}

static uint64_t mix_f64(uint64_t h, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return mix_u64(h, u);
}

static uint64_t mix_array(uint64_t h, const double *a, size_t n)
{
    h = mix_u64(h, n);
    for (size_t i = 0; a && i < n; i++)
        h = mix_f64(h, a[i]);
    return h;
}

static int fixed_order(const void *a, const void *b)
{
    const kernest_fixed_pixel *p = a, *q = b;
    if (p->row != q->row)
        return p->row < q->row ? -1 : 1;
    if (p->col != q->col)
        return p->col < q->col ? -1 : 1;
    return p->value < q->value ? -1 : p->value > q->value;
}

/* The fixed pixels as a set: the same --fix options in any order make the same hash. */
static uint64_t mix_fixed(uint64_t h, const kernest_fixed_pixel *fixed, size_t n)
{
    h = mix_u64(h, n);
    kernest_fixed_pixel *sorted = fixed && n ? malloc(n * sizeof *sorted) : NULL;
    if (sorted) {
        memcpy(sorted, fixed, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, fixed_order);
        fixed = sorted;
    } /* out of memory: the given order, which at worst refuses a resume it could have taken */
    for (size_t i = 0; fixed && i < n; i++)
        h = mix_f64(mix_u64(mix_u64(h, (uint64_t)fixed[i].row), (uint64_t)fixed[i].col), fixed[i].value);
    free(sorted);
    return h;
}

void kn_fingerprint_make(const kn_problem *pb, const kernest_options *opt, kernest_solver solver,
                         kernest_precision precision, kn_fingerprint *fp)
{
    memset(fp, 0, sizeof *fp);
    fp->mode = (uint32_t)pb->mode;
    fp->model = (uint32_t)opt->model;
    fp->solver = (uint32_t)solver;
    fp->precision = (uint32_t)precision;
    fp->kh = pb->kh;
    fp->kw = pb->kw;
    fp->npairs = pb->npairs;
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        h = mix_u64(mix_u64(mix_u64(h, p->ha), p->wa), pb->cin);
        h = mix_array(h, p->A, pb->cin * p->ha * p->wa);
        h = mix_u64(mix_u64(mix_u64(h, p->hb), p->wb), pb->cout);
        h = mix_array(h, p->B, p->B ? p->len : 0);
    }
    const kernest_geometry g = kn_problem_geometry(pb);
    if (!kn_geometry_is_plain(&g)) /* a layer's geometry (plain: as before) */
        h = mix_u64(mix_u64(mix_u64(mix_u64(mix_u64(h, pb->sh), pb->sw), pb->dh), pb->dw), pb->groups);
    fp->data_hash = h;
    h = FNV_OFFSET;
    h = mix_u64(h, (uint64_t)opt->reg);
    h = mix_f64(h, opt->lambda);
    h = mix_f64(h, opt->l1);
    h = mix_f64(h, opt->tv);
    h = mix_u64(h, (uint64_t)opt->correlate);
    h = mix_u64(h, (uint64_t)opt->nonneg);
    h = mix_u64(h, (uint64_t)opt->has_bounds);
    if (opt->has_bounds)
        h = mix_f64(mix_f64(h, opt->lower), opt->upper);
    h = mix_u64(h, (uint64_t)opt->has_sum);
    if (opt->has_sum)
        h = mix_f64(h, opt->sum);
    h = mix_u64(h, (uint64_t)opt->support);
    if (opt->support == KERNEST_SUPPORT_DISK)
        h = mix_f64(h, opt->support_radius);
    if (opt->support == KERNEST_SUPPORT_BOX)
        h = mix_u64(mix_u64(h, opt->support_h), opt->support_w);
    if (opt->support == KERNEST_SUPPORT_MASK && opt->support_mask)
        h = mix_array(h, opt->support_mask->data, opt->support_mask->size);
    h = mix_fixed(h, opt->fixed, opt->nfixed);
    h = mix_u64(h, (uint64_t)opt->background);
    h = mix_u64(h, (uint64_t)opt->bias);
    h = mix_u64(h, (uint64_t)opt->order);
    fp->options_hash = h;
}

/* ---- writing ---- */

typedef struct writer {
    FILE *f;
    uint64_t h;
    int err;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->err)
        return;
    w->h = fnv_bytes(w->h, p, n);
    if (fwrite(p, 1, n, w->f) != n)
        w->err = errno ? errno : EIO;
}

/* v in nbytes (4 or 8) little-endian bytes */
static void put_le(writer *w, uint64_t v, int nbytes)
{
    unsigned char b[8];
    kn_st_le(b, v, nbytes);
    put(w, b, (size_t)nbytes);
}

static void put_u32(writer *w, uint32_t v)
{
    put_le(w, v, 4);
}

static void put_u64(writer *w, uint64_t v)
{
    put_le(w, v, 8);
}

static void put_f64(writer *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_u64(w, u);
}

static void put_name(writer *w, const char *name)
{
    char b[KN_STATE_NAME] = {0};
    strncpy(b, name, KN_STATE_NAME - 1);
    put(w, b, KN_STATE_NAME);
}

int kn_checkpoint_write(const char *path, const kn_fingerprint *fp, const kn_solver_state *st)
{
    kn_atomic_file af;
    int e = kn_atomic_open(&af, path);
    if (e)
        return e;
    writer w = {af.fp, FNV_OFFSET, 0};
    put(&w, magic, sizeof magic);
    put_u32(&w, KN_CHECKPOINT_VERSION);
    put_u32(&w, fp->solver);
    put_u32(&w, fp->precision);
    put_u32(&w, fp->mode);
    put_u32(&w, fp->model);
    put_u32(&w, (uint32_t)st->iteration);
    put_u64(&w, fp->kh);
    put_u64(&w, fp->kw);
    put_u64(&w, fp->npairs);
    put_u64(&w, fp->data_hash);
    put_u64(&w, fp->options_hash);
    put_u32(&w, (uint32_t)st->nvec);
    put_u32(&w, (uint32_t)st->nscal);
    for (int i = 0; i < st->nvec; i++) {
        put_name(&w, st->vec_name[i]);
        put_u64(&w, st->vec_len[i]);
        for (size_t j = 0; j < st->vec_len[i]; j++)
            put_f64(&w, st->vec[i][j]);
    }
    for (int i = 0; i < st->nscal; i++) {
        put_name(&w, st->scal_name[i]);
        put_f64(&w, st->scal[i]);
    }
    for (int i = 0; i <= st->iteration; i++)
        put_f64(&w, st->history[i]);
    const uint64_t sum = w.h;
    put_u64(&w, sum);
    if (w.err) {
        kn_atomic_abort(&af);
        return kn_error(KERNEST_E_IO, "--checkpoint: %s: write failed: %s", path, strerror(w.err));
    }
    return kn_atomic_commit(&af);
}

/* ---- reading ---- */

typedef struct reader {
    FILE *f;
    const char *path;
    uint64_t h;
    uint64_t left; /* bytes of the file not read yet */
    int bad;       /* short or failed read */
} reader;

static void get(reader *r, void *p, size_t n)
{
    if (r->bad || n > r->left || fread(p, 1, n, r->f) != n) {
        r->bad = 1;
        memset(p, 0, n);
        return;
    }
    r->left -= n;
    r->h = fnv_bytes(r->h, p, n);
}

/* nbytes (4 or 8) little-endian bytes */
static uint64_t get_le(reader *r, int nbytes)
{
    unsigned char b[8];
    get(r, b, (size_t)nbytes);
    return kn_ld_le(b, nbytes);
}

static uint32_t get_u32(reader *r)
{
    return (uint32_t)get_le(r, 4);
}

static uint64_t get_u64(reader *r)
{
    return get_le(r, 8);
}

static double get_f64(reader *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void get_name(reader *r, char *name)
{
    get(r, name, KN_STATE_NAME);
    name[KN_STATE_NAME - 1] = '\0';
}

static const char *prec_name(uint32_t p)
{
    return p == KERNEST_SINGLE ? "single" : p == KERNEST_DOUBLE ? "double" : "?";
}

/* KERNEST_E_INVALID naming the first difference between the file's fingerprint and the solve's */
static int compare(const char *path, const kn_fingerprint *f, const kn_fingerprint *want)
{
    const char *what = NULL;
    if (f->kh != want->kh || f->kw != want->kw)
        return kn_error(KERNEST_E_INVALID, "--resume: %s was written for a %llux%llu kernel, this solve has "
                        "%llux%llu", path, (unsigned long long)f->kh, (unsigned long long)f->kw,
                        (unsigned long long)want->kh, (unsigned long long)want->kw);
    if (f->solver != want->solver)
        return kn_error(KERNEST_E_INVALID, "--resume: %s was written by %s, this solve runs %s", path,
                        kernest_solver_name((kernest_solver)f->solver),
                        kernest_solver_name((kernest_solver)want->solver));
    if (f->precision != want->precision)
        return kn_error(KERNEST_E_INVALID, "--resume: %s was written in %s precision, this solve runs in %s",
                        path, prec_name(f->precision), prec_name(want->precision));
    if (f->npairs != want->npairs)
        what = "the number of input pairs";
    else if (f->mode != want->mode)
        what = "--mode";
    else if (f->model != want->model)
        what = "--model";
    else if (f->data_hash != want->data_hash)
        what = "the input data";
    else if (f->options_hash != want->options_hash)
        what = "the regulariser, lambda or constraints";
    if (what)
        return kn_error(KERNEST_E_INVALID, "--resume: %s was written for another problem (%s differ%s)", path,
                        what, !strcmp(what, "--mode") || !strcmp(what, "--model") ? "s" : "");
    return KERNEST_OK;
}

int kn_checkpoint_read(const char *path, const kn_fingerprint *want, kn_solver_state *st)
{
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "rb");
    if (!f)
        return kn_error(KERNEST_E_NOFILE, "--resume: %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return kn_error(KERNEST_E_NOFILE, "--resume: %s: not a regular file", path);
    }
    reader r = {f, path, FNV_OFFSET, (uint64_t)sb.st_size, 0};
    int e = KERNEST_OK;
    const char *nonfinite = NULL; /* the first vector holding NaN or infinity */
    char m[8];
    get(&r, m, sizeof m);
    if (r.bad || memcmp(m, magic, sizeof m)) {
        e = kn_error(KERNEST_E_FORMAT, "--resume: %s is not a kernest checkpoint", path);
        goto out;
    }
    const uint32_t version = get_u32(&r);
    if (version != KN_CHECKPOINT_VERSION) {
        e = kn_error(KERNEST_E_FORMAT, "--resume: %s is a version %u checkpoint; this kernest reads version %d",
                     path, version, KN_CHECKPOINT_VERSION);
        goto out;
    }
    kn_fingerprint fp = {0};
    fp.solver = get_u32(&r);
    fp.precision = get_u32(&r);
    fp.mode = get_u32(&r);
    fp.model = get_u32(&r);
    const uint32_t iteration = get_u32(&r);
    fp.kh = get_u64(&r);
    fp.kw = get_u64(&r);
    fp.npairs = get_u64(&r);
    fp.data_hash = get_u64(&r);
    fp.options_hash = get_u64(&r);
    const uint32_t nvec = get_u32(&r), nscal = get_u32(&r);
    if (r.bad) {
        e = kn_error(KERNEST_E_FORMAT, "--resume: %s: truncated header", path);
        goto out;
    }
    if ((e = compare(path, &fp, want)))
        goto out;
    if (nvec > KN_STATE_MAXVEC || nscal > KN_STATE_MAXSCAL || iteration > (uint32_t)INT32_MAX ||
        ((uint64_t)iteration + 1) > r.left / 8) {
        e = kn_error(KERNEST_E_FORMAT, "--resume: %s: damaged (%u vectors, %u values, iteration %u)", path,
                     nvec, nscal, iteration);
        goto out;
    }
    st->solver = (int)fp.solver;
    st->iteration = (int)iteration;
    for (uint32_t i = 0; i < nvec && !r.bad; i++) {
        get_name(&r, st->vec_name[i]);
        const uint64_t n = get_u64(&r);
        if (r.bad || n > r.left / 8) { /* never allocate more than the file can hold */
            r.bad = 1;
            break;
        }
        if (!(st->vec[i] = malloc((size_t)(n ? n : 1) * sizeof(double)))) {
            e = kn_error(KERNEST_E_NOMEM, "--resume: %s: out of memory for %llu values", path,
                         (unsigned long long)n);
            goto out;
        }
        st->vec_len[i] = (size_t)n;
        st->nvec = (int)i + 1;
        for (uint64_t j = 0; j < n; j++)
            st->vec[i][j] = get_f64(&r);
        for (uint64_t j = 0; j < n && !r.bad && !nonfinite; j++)
            if (!isfinite(st->vec[i][j]))
                nonfinite = st->vec_name[i];
    }
    for (uint32_t i = 0; i < nscal && !r.bad; i++) {
        get_name(&r, st->scal_name[i]);
        st->scal[i] = get_f64(&r);
        st->nscal = (int)i + 1;
    }
    if (!r.bad && !(st->history = malloc(((size_t)iteration + 1) * sizeof(double)))) {
        e = kn_error(KERNEST_E_NOMEM, "--resume: %s: out of memory", path);
        goto out;
    }
    for (uint32_t i = 0; i <= iteration && !r.bad; i++)
        st->history[i] = get_f64(&r);
    const uint64_t sum = r.h;
    const uint64_t stored = get_u64(&r);
    if (r.bad || r.left != 0 || stored != sum) {
        e = kn_error(KERNEST_E_FORMAT, "--resume: %s: damaged (%s)", path,
                     r.bad ? "truncated" : r.left ? "trailing bytes" : "checksum mismatch");
        goto out;
    }
    /* a state no finite iteration can leave: resuming it would only carry NaN on */
    if (nonfinite) {
        e = kn_error(KERNEST_E_FORMAT, "--resume: %s: damaged (vector '%.16s' holds NaN or infinity)",
                     path, nonfinite);
        goto out;
    }
out:
    fclose(f);
    if (e)
        kn_state_free(st);
    return e;
}
