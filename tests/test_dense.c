/* test_dense.c — base/dense.c: Gram–Schmidt gives orthonormal columns, the Cholesky factor and its
 * inverse invert a positive definite matrix and refuse an indefinite one, and the Jacobi
 * eigendecomposition satisfies A V = V Λ with orthonormal V. */
#include <criterion/criterion.h>
#include <math.h>

#include "base/dense.h"
#include "testutil.h"

enum { K = 7, LEN = 40 };

/* a = Bᵀ B + shift·I for a random B (K×K): symmetric, positive definite for shift > 0 */
static void spd(double *a, double shift, unsigned long long *seed)
{
    double b[K * K];
    tu_random_vec(b, K * K, -1, 1, seed);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double s = i == j ? shift : 0.0;
            for (int l = 0; l < K; l++)
                s += b[l * K + i] * b[l * K + j];
            a[i * K + j] = s;
        }
}

Test(dense, orthonormalise_gives_orthonormal_columns)
{
    unsigned long long seed = 71;
    double q[K * LEN];
    tu_random_vec(q, K * LEN, -1, 1, &seed);
    for (size_t j = 0; j < K; j++)
        cr_assert_gt(kn_dense_orthonormalise(q, LEN, j), 0.0);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            cr_assert_float_eq(tu_dot(q + i * LEN, q + j * LEN, LEN), i == j ? 1.0 : 0.0, 1e-13, "q%d·q%d", i, j);
    double dep[2 * LEN]; /* a column in the span of the one before it */
    for (int i = 0; i < LEN; i++)
        dep[i] = q[i], dep[LEN + i] = 3.0 * q[i];
    cr_assert_lt(kn_dense_orthonormalise(dep, LEN, 1), 1e-13);
}

Test(dense, cholesky_inverse_inverts)
{
    unsigned long long seed = 72;
    double a[K * K], l[K * K], inv[K * K], col[K];
    spd(a, 0.1, &seed);
    for (int i = 0; i < K * K; i++)
        l[i] = a[i];
    cr_assert_eq(kn_dense_cholesky(l, K), 1);
    kn_dense_cholesky_inverse(l, K, inv, col);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double s = 0.0;
            for (int m = 0; m < K; m++)
                s += a[i * K + m] * inv[m * K + j];
            cr_assert_float_eq(s, i == j ? 1.0 : 0.0, 1e-10, "(A A⁻¹)[%d][%d] = %g", i, j, s);
        }
    spd(a, 0.1, &seed);
    a[3 * K + 3] = -1.0; /* indefinite */
    cr_assert_eq(kn_dense_cholesky(a, K), 0);
}

Test(dense, sym_eigen_diagonalises)
{
    unsigned long long seed = 73;
    double a[K * K], w[K * K], ev[K], v[K * K];
    spd(a, 0.0, &seed);
    for (int i = 0; i < K * K; i++)
        w[i] = a[i];
    kn_dense_sym_eigen(w, K, ev, v);
    for (int j = 0; j < K; j++)
        for (int i = 0; i < K; i++) {
            double av = 0.0;
            for (int m = 0; m < K; m++)
                av += a[i * K + m] * v[m * K + j];
            cr_assert_float_eq(av, ev[j] * v[i * K + j], 1e-10, "(A V − V Λ)[%d][%d]", i, j);
        }
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double s = 0.0;
            for (int m = 0; m < K; m++)
                s += v[m * K + i] * v[m * K + j];
            cr_assert_float_eq(s, i == j ? 1.0 : 0.0, 1e-12, "(VᵀV)[%d][%d]", i, j);
        }
}
