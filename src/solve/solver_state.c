/* solver_state.c — a solver's state as named host vectors and scalars (checkpoints, resume). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "solver_state.h"

void kn_state_free(kn_solver_state *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->nvec; i++)
        free(st->vec[i]);
    free(st->history);
    memset(st, 0, sizeof *st);
}

/* Appends the n values of h (malloc'd, taken over: freed on failure) under name. */
static int adopt(kn_solver_state *st, const char *name, double *h, size_t n)
{
    if (st->nvec >= KN_STATE_MAXVEC) {
        free(h);
        return kn_error(KERNEST_E_INVALID, "solver state: more than %d vectors", KN_STATE_MAXVEC);
    }
    snprintf(st->vec_name[st->nvec], KN_STATE_NAME, "%s", name);
    st->vec_len[st->nvec] = n;
    st->vec[st->nvec++] = h;
    return KERNEST_OK;
}

int kn_state_put_vec(kn_backend *be, kn_solver_state *st, const char *name, const kn_vec *v)
{
    if (st->nvec >= KN_STATE_MAXVEC)
        return kn_error(KERNEST_E_INVALID, "solver state: more than %d vectors", KN_STATE_MAXVEC);
    double *h = malloc((v->n ? v->n : 1) * sizeof *h);
    if (!h)
        return kn_error(KERNEST_E_NOMEM, "checkpoint: out of memory for %zu values", v->n);
    int st2 = be->ops->vec_download(be, v, h);
    if (st2) {
        free(h);
        return st2;
    }
    return adopt(st, name, h, v->n);
}

int kn_state_put_values(kn_solver_state *st, const char *name, const double *v, size_t n)
{
    double *h = malloc((n ? n : 1) * sizeof *h);
    if (!h)
        return kn_error(KERNEST_E_NOMEM, "checkpoint: out of memory for %zu values", n);
    if (n)
        memcpy(h, v, n * sizeof *h);
    return adopt(st, name, h, n);
}

void kn_state_put_scalar(kn_solver_state *st, const char *name, double v)
{
    if (st->nscal >= KN_STATE_MAXSCAL)
        return; /* a programming error caught by the resume check (missing scalar) */
    snprintf(st->scal_name[st->nscal], KN_STATE_NAME, "%s", name);
    st->scal[st->nscal++] = v;
}

int kn_state_put_history(kn_solver_state *st, const double *history, int iteration)
{
    free(st->history);
    st->history = malloc(((size_t)iteration + 1) * sizeof *st->history);
    if (!st->history)
        return kn_error(KERNEST_E_NOMEM, "checkpoint: out of memory");
    memcpy(st->history, history, ((size_t)iteration + 1) * sizeof *st->history);
    st->iteration = iteration;
    return KERNEST_OK;
}

/* The state's vector called name, of n values (NULL, with the error set, when none fits). */
static const double *find_vec(const kn_solver_state *st, const char *name, size_t n)
{
    for (int i = 0; i < st->nvec; i++)
        if (!strncmp(st->vec_name[i], name, KN_STATE_NAME)) {
            if (st->vec_len[i] != n) {
                kn_error(KERNEST_E_INVALID, "--resume: the checkpoint's vector '%s' has %zu values, "
                         "the solve needs %zu", name, st->vec_len[i], n);
                return NULL;
            }
            return st->vec[i];
        }
    kn_error(KERNEST_E_INVALID, "--resume: the checkpoint has no vector '%s'", name);
    return NULL;
}

int kn_state_get_vec(kn_backend *be, const kn_solver_state *st, const char *name, kn_vec *v)
{
    const double *h = find_vec(st, name, v->n);
    return h ? be->ops->vec_upload(be, v, h) : KERNEST_E_INVALID;
}

int kn_state_get_values(const kn_solver_state *st, const char *name, double *v, size_t n)
{
    const double *h = find_vec(st, name, n);
    if (!h)
        return KERNEST_E_INVALID;
    if (n)
        memcpy(v, h, n * sizeof *v);
    return KERNEST_OK;
}

int kn_state_get_scalar(const kn_solver_state *st, const char *name, double *out)
{
    for (int i = 0; i < st->nscal; i++)
        if (!strncmp(st->scal_name[i], name, KN_STATE_NAME)) {
            *out = st->scal[i];
            return KERNEST_OK;
        }
    return kn_error(KERNEST_E_INVALID, "--resume: the checkpoint has no value '%s'", name);
}

int kn_state_check(const kn_solver_state *st, kernest_solver solver, int maxiter)
{
    if (st->solver != (int)solver)
        return kn_error(KERNEST_E_INVALID, "--resume: the checkpoint was written by %s, this solve runs %s",
                        kernest_solver_name((kernest_solver)st->solver), kernest_solver_name(solver));
    if (st->iteration < 0 || st->iteration > maxiter || !st->history)
        return kn_error(KERNEST_E_INVALID, "--resume: the checkpoint is at iteration %d, beyond --maxiter %d",
                        st->iteration, maxiter);
    return KERNEST_OK;
}
