/* test_fold.c — a cross-validation fold's session on its session's backend (kn_session_open_fold):
 * the same estimates as a fold with a backend of its own, for every model kind, with channels, a
 * layer's geometry and the background, and its operator applications counted on the one backend. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "fit/fit.h"
#include "kernest.h"
#include "testutil.h"

/* B with every pixel whose index is 1 mod 5 NaN (a fold's held-out pixels) */
static kernest_array *fold_of(const kernest_array *B)
{
    kernest_array *F = NULL;
    cr_assert_eq(kernest_array_create(B->ndim, B->shape, &F), KERNEST_OK);
    for (size_t j = 0; j < B->size; j++)
        F->data[j] = j % 5 == 1 ? NAN : B->data[j];
    return F;
}

static void same_fit(const kernest_array *A, const kernest_array *B, kernest_options o, const char *what)
{
    kernest_array *F = fold_of(B);
    const kernest_array *As[1] = {A}, *Bs[1] = {B}, *Fs[1] = {F};
    kn_session base, shared, own;
    cr_assert_eq(kn_session_open(&base, As, Bs, 1, &o, NULL), KERNEST_OK, "%s: %s", what, kernest_last_error());
    cr_assert_eq(kn_session_open_fold(&shared, &base, As, Fs, 1, &o), KERNEST_OK, "%s: %s", what,
                 kernest_last_error());
    cr_assert_eq(kn_session_open(&own, As, Fs, 1, &o, NULL), KERNEST_OK, "%s: %s", what, kernest_last_error());
    kn_fit a = {0}, b = {0};
    /* the base session solves first: without a background the fold then takes its operator over
     * (the same backend seen through the fold's mask) instead of building one */
    cr_assert_eq(kn_session_solve(&base, &o, NULL, &a), KERNEST_OK, "%s: %s", what, kernest_last_error());
    kn_fit_free(&a);
    const long before = base.be->applications, built = base.ops_built;
    cr_assert_eq(kn_session_solve(&shared, &o, NULL, &a), KERNEST_OK, "%s: %s", what, kernest_last_error());
    cr_assert_eq(kn_session_solve(&own, &o, NULL, &b), KERNEST_OK, "%s: %s", what, kernest_last_error());
    cr_assert_eq(a.res.iterations, b.res.iterations, "%s: %d vs %d iterations", what, a.res.iterations,
                 b.res.iterations);
    const double d = tu_rel_diff_vec(a.K, b.K, base.pb.n), dh = tu_rel_diff_vec(a.hx, b.hx, base.pb.m);
    cr_assert(d < 1e-12 && dh < 1e-12, "%s: K differs by %.3g, H K by %.3g", what, d, dh);
    for (size_t j = 0; j < base.pb.m; j++) /* the held-out pixels are out of the fold's fit */
        if (isnan(F->data[j]))
            cr_assert_eq(a.hx[j], 0.0, "%s", what);
    cr_assert(base.be->applications - before >= a.res.iterations, "%s: the fold's applications are the "
              "session backend's", what);
    /* the fold's model operators are kept by its base (two in all, however many folds) */
    cr_assert(!shared.ops[0] && !shared.ops_built && !shared.ops_reused, "%s: the fold kept its own operators", what);
    if (o.background || o.bias)
        cr_assert_eq(base.ops_built - built, own.ops_built, "%s: a background's parts are the fold's own", what);
    else
        cr_assert_eq(base.ops_built, own.ops_built, "%s: the fold built %ld operators after its base's %ld", what,
                     base.ops_built - built, built);
    if (o.model == KERNEST_MODEL_LOWRANK && o.outer_tol == 0) /* one per side, refilled every later sweep */
        cr_assert(own.ops_built == 2 && own.ops_reused == 2 * (o.outer_maxiter - 1) &&
                  base.ops_reused == 2 * own.ops_reused + 2, "%s: %ld built, %ld refilled; base %ld refilled", what,
                  own.ops_built, own.ops_reused, base.ops_reused);
    kn_fit_free(&a);
    kn_fit_free(&b);
    kn_session_close(&own);
    kn_session_close(&shared); /* before its base: the operators over its backend go with it */
    cr_assert(!base.ops[0] && !base.ops[1], "%s: an operator over a closed fold's backend was kept", what);
    kn_session_close(&base);
    kernest_array_destroy(&F);
}

Test(fold, shares_the_backend_and_fits_the_same)
{
    unsigned long long seed = 31;
    kernest_array *A = tu_random_array(18, 17, -1, 1, &seed), *B = tu_random_array(18, 17, -1, 1, &seed);
    kernest_options o = tu_cpu_options(7, 5);
    o.reg = KERNEST_REG_GRAD;
    o.lambda = 0.5;
    o.tol = 1e-10;
    same_fit(A, B, o, "pixel grad");
    o.background = 1;
    same_fit(A, B, o, "pixel grad, background");
    o.background = 0;
    o.nonneg = 1;
    o.maxiter = 200;
    same_fit(A, B, o, "pixel nonneg (FISTA)");
    o.nonneg = 0;
    o.model = KERNEST_MODEL_RADIAL;
    same_fit(A, B, o, "radial");
    o.model = KERNEST_MODEL_LOWRANK;
    o.order = 2;
    o.outer_maxiter = 3;
    o.outer_tol = 0;
    same_fit(A, B, o, "lowrank:2"); /* its three sweeps: two operators built, four refilled */
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}

Test(fold, channels_and_a_layer)
{
    unsigned long long seed = 32;
    const size_t sa[4] = {2, 4, 13, 12}, sb[4] = {2, 6, 6, 5};
    kernest_array *A = NULL, *B = NULL;
    cr_assert_eq(kernest_array_create(4, sa, &A), KERNEST_OK);
    cr_assert_eq(kernest_array_create(4, sb, &B), KERNEST_OK);
    tu_random_vec(A->data, A->size, -1, 1, &seed);
    tu_random_vec(B->data, B->size, -1, 1, &seed);
    kernest_options o = tu_cpu_options(3, 3);
    o.mode = KERNEST_MODE_VALID;
    o.geometry = (kernest_geometry){2, 2, 1, 1, 2};
    o.reg = KERNEST_REG_RIDGE;
    o.lambda = 0.1;
    o.tol = 1e-10;
    o.bias = 1;
    same_fit(A, B, o, "4 -> 6 in 2 groups, stride 2, bias");
    kernest_array_destroy(&A);
    kernest_array_destroy(&B);
}
