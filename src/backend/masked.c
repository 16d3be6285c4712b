/* masked.c — another backend's operator with more pixels of B left out: H_f = M_f H. */
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "masked.h"
#include "wrap.h"

typedef struct masked {
    kn_backend_wrapper w; /* first member: what the solvers get; vector operations are inner's */
    kn_vec *mask;         /* M_f: m values, 0 at the pixels left out */
    kn_vec *tmp;          /* M_f ⊙ r for the adjoint */
} masked;

static masked *outer(kn_backend *be)
{
    return (masked *)be; /* be is the first member */
}

static int masked_setup(kn_backend *be, const kn_problem *pb)
{
    (void)be;
    (void)pb; /* inner was set up for the same pairs: nothing to plan or transform */
    return KERNEST_OK;
}

static int masked_apply(kn_backend *be, const kn_vec *k, kn_vec *r)
{
    masked *m = outer(be);
    kn_backend *in = m->w.inner;
    int st = in->ops->op_apply(in, k, r);
    return st ? st : in->ops->vec_mul(in, r, m->mask);
}

static int masked_adjoint(kn_backend *be, const kn_vec *r, kn_vec *k)
{
    masked *m = outer(be);
    kn_backend *in = m->w.inner;
    int st = in->ops->vec_copy(in, m->tmp, r);
    if (!st)
        st = in->ops->vec_mul(in, m->tmp, m->mask);
    return st ? st : in->ops->op_adjoint(in, m->tmp, k);
}

/* the two m-vectors on top of inner's operator */
static size_t masked_bytes(const kn_backend *be, const kn_problem *pb)
{
    return 2 * pb->m * be->elem_size;
}

static void masked_destroy(kn_backend *be)
{
    masked *m = outer(be);
    kn_backend *in = m->w.inner;
    in->ops->vec_destroy(in, &m->mask);
    in->ops->vec_destroy(in, &m->tmp);
}

int kn_backend_masked(kn_backend *inner, const kn_problem *pb, kn_backend **out)
{
    if (!inner->ops->vec_mul)
        return kn_error(KERNEST_E_UNSUPPORTED, "the %s backend cannot mask its operator", inner->ops->name);
    masked *m = calloc(1, sizeof *m);
    double *w = malloc((pb->m ? pb->m : 1) * sizeof *w);
    int st = m && w ? KERNEST_OK : kn_error(KERNEST_E_NOMEM, "out of memory for a fold's mask");
    if (!st) {
        kn_backend_wrap_init(&m->w, inner);
        m->w.ops.op_setup = masked_setup;
        m->w.ops.op_apply = masked_apply;
        m->w.ops.op_adjoint = masked_adjoint;
        m->w.ops.op_bytes = masked_bytes;
        m->w.ops.destroy = masked_destroy;
        for (size_t i = 0; i < pb->npairs; i++) {
            const kn_pair *p = &pb->pairs[i];
            for (size_t j = 0; j < p->len; j++)
                w[p->offset + j] = p->B && isnan(p->B[j]) ? 0.0 : 1.0;
        }
        if (!(st = inner->ops->vec_create(inner, pb->m, &m->mask)) &&
            !(st = inner->ops->vec_upload(inner, m->mask, w)))
            st = inner->ops->vec_create(inner, pb->m, &m->tmp);
    }
    free(w);
    if (st) {
        if (m && m->w.inner)
            masked_destroy(&m->w.be);
        free(m);
        return st;
    }
    *out = &m->w.be;
    return KERNEST_OK;
}
