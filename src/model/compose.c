/* compose.c — the operator the solvers see for a model: H∘Φ∘diag(keep) as a wrapped backend,
 * with the background offsets projected out (variable projection), and the offsets themselves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "compose.h"

size_t kn_background_bytes(const kn_problem *pb, size_t elem_size)
{
    /* E and (EᵀE)⁻¹Eᵀ (one entry per observed pixel each), a data-sized and a pair-sized vector */
    const double per = (double)elem_size + sizeof(size_t);
    const double ng = (double)kn_background_count(pb);
    double b = 2.0 * (double)pb->m * per + ((double)pb->m + ng + 2) * sizeof(size_t) +
               ((double)pb->m + ng) * elem_size;
    return b >= (double)SIZE_MAX ? SIZE_MAX : (size_t)b;
}

size_t kn_background_count(const kn_problem *pb)
{
    /* bounded: each group has at least one data value */
    return pb->shared_offsets ? pb->cout : pb->npairs * pb->cout;
}

/* the group of output plane o of pair i: its own (--background), or that plane over every pair
 * (--bias: a layer's bias, one per output channel) */
static size_t group_of(const kn_problem *pb, size_t i, size_t o)
{
    return pb->shared_offsets ? o : i * pb->cout + o;
}

/* observed pixels of each group (ng = kn_background_count values, malloc'd; NULL: out of memory) */
static size_t *group_counts(const kn_problem *pb)
{
    size_t *n = calloc(kn_background_count(pb) ? kn_background_count(pb) : 1, sizeof *n);
    for (size_t i = 0; n && i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        const size_t win = p->hb * p->wb;
        for (size_t o = 0; o < pb->cout; o++)
            for (size_t j = o * win; j < (o + 1) * win; j++)
                n[group_of(pb, i, o)] += !p->B || !isnan(p->B[j]);
    }
    return n;
}

int kn_background_offsets(const kn_problem *pb, const double *b, const double *hx, double *beta)
{
    const size_t ng = kn_background_count(pb);
    size_t *n = group_counts(pb);
    if (!n)
        return kn_error(KERNEST_E_NOMEM, "--background: out of memory");
    for (size_t g = 0; g < ng; g++)
        beta[g] = 0.0;
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        const size_t win = p->hb * p->wb;
        for (size_t o = 0; o < pb->cout; o++) {
            double *s = &beta[group_of(pb, i, o)];
            for (size_t j = o * win; j < (o + 1) * win; j++)
                if (!isnan(p->B[j]))
                    *s += b[p->offset + j] - hx[p->offset + j];
        }
    }
    for (size_t g = 0; g < ng; g++)
        beta[g] = n[g] ? beta[g] / (double)n[g] : 0.0;
    free(n);
    return KERNEST_OK;
}

void kn_background_add(const kn_problem *pb, const double *beta, double *hx)
{
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        const size_t win = p->hb * p->wb;
        for (size_t j = 0; j < p->len; j++)
            if (!isnan(p->B[j]))
                hx[p->offset + j] += beta[group_of(pb, i, j / win)];
    }
}

/* ---- the composed backend ------------------------------------------------------------------ */

typedef struct composed {
    kn_backend_wrapper w; /* first member: what the solvers get. The inner table's vector
                             operations work on it unchanged; op_apply, op_adjoint, reg_gram and
                             destroy are replaced. The inner backend is borrowed. */
    kn_sparse *phi, *phit, *gram; /* models: Φ (n×p), Φᵀ (p×n), G (p×p); NULL for pixel */
    kn_vec *tmp;                  /* models, n = kh*kw: Φc, or Hᵀr */
    kn_vec *keep;                 /* 1 free / 0 held; NULL when nothing is held */
    kn_vec *kc;                   /* keep ⊙ c */
    kn_sparse *e, *f;             /* background: E (m×P) and (EᵀE)⁻¹Eᵀ (P×m); NULL without */
    kn_vec *bp, *bm;              /* background work: P and m values */
    kn_vec *pr;                   /* background: P r for the adjoint (m values) */
    /* what it was built for (kn_model_backend_refill): the model's header and sizes (no arrays),
     * keep on the host (nx values; NULL: none) and the background's problem (NULL: none) */
    kn_model shape;
    double *keep_host;
    const kn_problem *bg;
} composed;

static composed *outer(kn_backend *be)
{
    return (composed *)be; /* be is the first member */
}

/* r = H Φ c, without the mask or the projection */
static int predict(composed *m, const kn_vec *c, kn_vec *r)
{
    kn_backend *in = m->w.inner;
    if (!m->phi)
        return in->ops->op_apply(in, c, r);
    int st = in->ops->sparse_apply(in, m->phi, c, m->tmp); /* tmp = Φ c */
    return st ? st : in->ops->op_apply(in, m->tmp, r);    /* r = H tmp */
}

/* v = P v = v − E (EᵀE)⁻¹ Eᵀ v: each pair's observed pixels lose their mean */
static int project(composed *m, kn_vec *v)
{
    kn_backend *in = m->w.inner;
    int st = KERNEST_OK;
    if (m->e && !(st = in->ops->sparse_apply(in, m->f, v, m->bp)) &&
        !(st = in->ops->sparse_apply(in, m->e, m->bp, m->bm)))
        st = in->ops->vec_axpy(in, v, -1.0, m->bm);
    return st;
}

/* r = P H Φ c, without the mask */
static int forward(composed *m, const kn_vec *c, kn_vec *r)
{
    int st = predict(m, c, r);
    return st ? st : project(m, r);
}

/* the unknowns the operator sees: c, or keep ⊙ c */
static int masked(composed *m, const kn_vec *c, const kn_vec **out)
{
    kn_backend *in = m->w.inner;
    int st = KERNEST_OK;
    *out = c;
    if (m->keep && !(st = in->ops->vec_copy(in, m->kc, c)) && !(st = in->ops->vec_mul(in, m->kc, m->keep)))
        *out = m->kc;
    return st;
}

static int composed_apply(kn_backend *be, const kn_vec *c, kn_vec *r)
{
    composed *m = outer(be);
    const kn_vec *src;
    int st = masked(m, c, &src);
    return st ? st : forward(m, src, r);
}

static int composed_adjoint(kn_backend *be, const kn_vec *r, kn_vec *c)
{
    composed *m = outer(be);
    kn_backend *in = m->w.inner;
    int st = KERNEST_OK;
    if (m->e) { /* P is symmetric: Φᵀ Hᵀ P r */
        if ((st = in->ops->vec_copy(in, m->pr, r)) || (st = project(m, m->pr)))
            return st;
        r = m->pr;
    }
    st = m->phi ? in->ops->op_adjoint(in, r, m->tmp)                     /* tmp = Hᵀ r */
                : in->ops->op_adjoint(in, r, c);
    if (!st && m->phi)
        st = in->ops->sparse_apply(in, m->phit, m->tmp, c);             /* c = Φᵀ tmp */
    if (!st && m->keep)
        st = in->ops->vec_mul(in, c, m->keep);
    return st;
}

static int composed_reg_gram(kn_backend *be, kernest_reg reg, const kn_vec *c, kn_vec *out)
{
    composed *m = outer(be);
    kn_backend *in = m->w.inner;
    const kn_vec *src;
    int st = masked(m, c, &src);
    if (st)
        return st;
    if (!m->phi)
        st = in->ops->reg_gram(in, reg, src, out);
    else if (reg == KERNEST_REG_RIDGE)
        st = in->ops->vec_copy(in, out, src);
    else if (reg == KERNEST_REG_GRAD)
        st = in->ops->sparse_apply(in, m->gram, src, out);
    else
        st = in->ops->vec_fill(in, out, 0.0);
    if (!st && m->keep)
        st = in->ops->vec_mul(in, out, m->keep);
    return st;
}

/* Frees what the wrapper owns; kn_backend_destroy then frees the struct (be is its first member). */
static void composed_destroy(kn_backend *be)
{
    composed *m = outer(be);
    kn_backend *in = m->w.inner;
    in->ops->sparse_destroy(in, &m->phi);
    in->ops->sparse_destroy(in, &m->phit);
    in->ops->sparse_destroy(in, &m->gram);
    in->ops->vec_destroy(in, &m->tmp);
    in->ops->vec_destroy(in, &m->keep);
    in->ops->vec_destroy(in, &m->kc);
    in->ops->sparse_destroy(in, &m->e);
    in->ops->sparse_destroy(in, &m->f);
    in->ops->vec_destroy(in, &m->bp);
    in->ops->vec_destroy(in, &m->bm);
    in->ops->vec_destroy(in, &m->pr);
    free(m->keep_host);
}

/* c's head over be: be's table with the composed operator in place of be's */
static void bind(composed *c, kn_backend *be)
{
    kn_backend_wrap_init(&c->w, be);
    c->w.ops.op_apply = composed_apply;
    c->w.ops.op_adjoint = composed_adjoint;
    c->w.ops.reg_gram = composed_reg_gram;
    c->w.ops.destroy = composed_destroy;
}

static int model_parts(const kn_model *m, kn_backend *be, composed *c)
{
    kn_csr phit = {0};
    int st;
    if (!(st = kn_csr_transpose(&m->phi, &phit)) && !(st = kn_csr_upload(be, &m->phi, &c->phi)) &&
        !(st = kn_csr_upload(be, &phit, &c->phit)) && !(st = kn_csr_upload(be, &m->gram, &c->gram)))
        st = be->ops->vec_create(be, m->phi.rows, &c->tmp);
    kn_csr_free(&phit);
    return st;
}

/* E (m×G, 1 at each observed pixel of group g in column g; a group is (pair i, output o), or
 * output o over every pair with --bias) and (EᵀE)⁻¹Eᵀ (row g: 1/n_g at each of g's pixels),
 * uploaded */
static int background_parts(const kn_problem *pb, kn_backend *be, composed *c)
{
    kn_csr e = {0}, f = {0};
    const size_t ng = kn_background_count(pb);
    size_t nobs = 0, *n = group_counts(pb), *at = calloc(ng ? ng : 1, sizeof *at);
    for (size_t i = 0; i < pb->npairs; i++)
        nobs += pb->pairs[i].nobs;
    int st = !n || !at ? kn_error(KERNEST_E_NOMEM, "--background: out of memory") : KERNEST_OK;
    if (!st)
        st = kn_csr_alloc(&e, pb->m, ng, nobs);
    if (!st)
        st = kn_csr_alloc(&f, ng, pb->m, nobs);
    if (st)
        goto done;
    for (size_t g = 0; g < ng; g++) { /* F's rows: each group's pixels together */
        f.row_ptr[g + 1] = f.row_ptr[g] + n[g];
        at[g] = f.row_ptr[g];
    }
    size_t k = 0;
    for (size_t i = 0; i < pb->npairs; i++) {
        const kn_pair *p = &pb->pairs[i];
        const size_t win = p->hb * p->wb;
        for (size_t o = 0; o < pb->cout; o++) {
            const size_t g = group_of(pb, i, o);
            for (size_t j = o * win; j < (o + 1) * win; j++) {
                if (!p->B || !isnan(p->B[j])) {
                    e.col[k] = g;
                    e.val[k] = 1.0;
                    k++;
                    f.col[at[g]] = p->offset + j;
                    f.val[at[g]] = 1.0 / (double)n[g];
                    at[g]++;
                }
                e.row_ptr[p->offset + j + 1] = k;
            }
        }
    }
    if (!(st = kn_csr_upload(be, &e, &c->e)) && !(st = kn_csr_upload(be, &f, &c->f)) &&
        !(st = be->ops->vec_create(be, ng, &c->bp)) && !(st = be->ops->vec_create(be, pb->m, &c->bm)))
        st = be->ops->vec_create(be, pb->m, &c->pr);
done:
    kn_csr_free(&e);
    kn_csr_free(&f);
    free(n);
    free(at);
    return st;
}

int kn_model_backend_bg(const kn_model *m, kn_backend *be, const double *keep, const kn_problem *bg,
                        kn_backend **out)
{
    if (m->side < 0) /* lowrank's [U; V]: not linear */
        return kn_error(KERNEST_E_INVALID, "--model lowrank: K = U Vᵀ is solved by half-steps, not as one operator");
    const int identity = !m->phi.row_ptr; /* pixel: x is K */
    if (identity && !keep && !bg) {
        *out = be;
        return KERNEST_OK;
    }
    composed *c = calloc(1, sizeof *c);
    if (!c)
        return kn_error(KERNEST_E_NOMEM, "--model: out of memory");
    bind(c, be);
    int st = identity ? KERNEST_OK : model_parts(m, be, c);
    if (!st && keep && !(st = be->ops->vec_create(be, m->nx, &c->keep)) &&
        !(st = be->ops->vec_upload(be, c->keep, keep)))
        st = be->ops->vec_create(be, m->nx, &c->kc);
    if (!st && bg)
        st = background_parts(bg, be, c);
    c->shape = *m; /* the header; Φ's and G's arrays are the caller's (their sizes: c->phi, c->gram) */
    c->shape.phi.row_ptr = c->shape.gram.row_ptr = NULL;
    c->shape.phi.col = c->shape.gram.col = NULL;
    c->shape.phi.val = c->shape.gram.val = NULL;
    c->bg = bg;
    if (!st && keep && !(c->keep_host = malloc(m->nx * sizeof *keep)))
        st = kn_error(KERNEST_E_NOMEM, "--model: out of memory");
    if (!st && keep)
        memcpy(c->keep_host, keep, m->nx * sizeof *keep);
    if (st) {
        composed_destroy(&c->w.be);
        free(c);
        return st;
    }
    *out = &c->w.be;
    return KERNEST_OK;
}

/* the uploaded s has a's sizes (both absent, or both present with the same rows, columns, entries) */
static int same_size(const kn_sparse *s, const kn_csr *a)
{
    if (!s || !a->row_ptr)
        return !s && !a->row_ptr;
    return s->rows == a->rows && s->cols == a->cols && s->nnz == a->row_ptr[a->rows];
}

/* c was built for m's shape with keep and bg (Φ's and G's patterns follow from the header,
 * kind.h; their sizes are compared as well) over be, or over another view of be's backend (a
 * fold's: the same impl) when there is no background (whose parts are the problem's) */
static int built_for(const composed *c, const kn_model *m, const kn_backend *be, const double *keep,
                     const kn_problem *bg)
{
    const kn_model *s = &c->shape;
    if ((c->w.inner != be && (bg || c->w.inner->impl != be->impl)) || c->bg != bg || s->kind != m->kind ||
        s->order != m->order || s->side != m->side ||
        s->kh != m->kh || s->kw != m->kw || s->nk != m->nk || s->nx != m->nx || !same_size(c->phi, &m->phi) ||
        !same_size(c->gram, &m->gram) || !keep != !c->keep_host)
        return 0;
    return !keep || !memcmp(keep, c->keep_host, m->nx * sizeof *keep);
}

int kn_model_backend_refill(kn_backend *sbe, const kn_model *m, kn_backend *be, const double *keep,
                            const kn_problem *bg, int *reused)
{
    *reused = 0;
    if (sbe == be || sbe->ops->op_apply != composed_apply || !built_for(outer(sbe), m, be, keep, bg))
        return KERNEST_OK;
    composed *c = outer(sbe);
    if (c->w.inner != be) /* another view of the same backend: its operator from now on */
        bind(c, be);
    kn_csr phit = {0};
    int st = KERNEST_OK;
    if (c->phi && !(st = kn_csr_transpose(&m->phi, &phit)) &&
        !(st = be->ops->sparse_values(be, c->phi, m->phi.val)) &&
        !(st = be->ops->sparse_values(be, c->phit, phit.val)))
        st = be->ops->sparse_values(be, c->gram, m->gram.val);
    kn_csr_free(&phit);
    *reused = !st;
    return st;
}


int kn_model_forward(kn_backend *sbe, const kn_vec *x, kn_vec *r)
{
    if (sbe->ops->op_apply != composed_apply)
        return sbe->ops->op_apply(sbe, x, r);
    return forward(outer(sbe), x, r);
}

int kn_model_predict(kn_backend *sbe, const kn_vec *x, kn_vec *r)
{
    if (sbe->ops->op_apply != composed_apply)
        return sbe->ops->op_apply(sbe, x, r);
    return predict(outer(sbe), x, r);
}

int kn_model_project(kn_backend *sbe, kn_vec *v)
{
    if (sbe->ops->op_apply != composed_apply)
        return KERNEST_OK;
    return project(outer(sbe), v);
}
