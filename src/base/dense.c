/* dense.c — small dense linear algebra on the host (see dense.h). */
#include <math.h>

#include "dense.h"

double kn_dense_orthonormalise(double *Q, size_t len, size_t k)
{
    double *q = Q + k * len;
    for (int pass = 0; pass < 2; pass++) /* twice is enough (Kahan) */
        for (size_t j = 0; j < k; j++) {
            const double *p = Q + j * len;
            double d = 0.0;
            for (size_t i = 0; i < len; i++)
                d += p[i] * q[i];
            for (size_t i = 0; i < len; i++)
                q[i] -= d * p[i];
        }
    double nrm = 0.0;
    for (size_t i = 0; i < len; i++)
        nrm += q[i] * q[i];
    nrm = sqrt(nrm);
    for (size_t i = 0; nrm > 0 && i < len; i++)
        q[i] /= nrm;
    return nrm;
}

int kn_dense_cholesky(double *a, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        double d = a[j * k + j];
        for (size_t l = 0; l < j; l++)
            d -= a[j * k + l] * a[j * k + l];
        if (!(d > 0))
            return 0;
        a[j * k + j] = sqrt(d);
        for (size_t i = j + 1; i < k; i++) {
            double s = a[i * k + j];
            for (size_t l = 0; l < j; l++)
                s -= a[i * k + l] * a[j * k + l];
            a[i * k + j] = s / a[j * k + j];
        }
    }
    return 1;
}

void kn_dense_cholesky_solve(const double *L, size_t k, double *y)
{
    for (size_t i = 0; i < k; i++) { /* L z = y */
        double s = y[i];
        for (size_t l = 0; l < i; l++)
            s -= L[i * k + l] * y[l];
        y[i] = s / L[i * k + i];
    }
    for (size_t i = k; i-- > 0;) { /* Lᵀ x = z */
        double s = y[i];
        for (size_t l = i + 1; l < k; l++)
            s -= L[l * k + i] * y[l];
        y[i] = s / L[i * k + i];
    }
}

void kn_dense_cholesky_inverse(const double *L, size_t k, double *inv, double *col)
{
    for (size_t c = 0; c < k; c++) {
        for (size_t i = 0; i < k; i++)
            col[i] = i == c;
        kn_dense_cholesky_solve(L, k, col);
        for (size_t i = 0; i < k; i++)
            inv[i * k + c] = col[i];
    }
}

/* columns p and q of the k×k m rotated by (c, s): m_p ← c m_p − s m_q, m_q ← s m_p + c m_q */
static void rotate_columns(double *m, size_t k, size_t p, size_t q, double c, double s)
{
    for (size_t r = 0; r < k; r++) {
        const double x = m[r * k + p], y = m[r * k + q];
        m[r * k + p] = c * x - s * y;
        m[r * k + q] = s * x + c * y;
    }
}

void kn_dense_sym_eigen(double *a, size_t k, double *ev, double *V)
{
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            V[i * k + j] = i == j;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0, all = 0.0;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                all += a[i * k + j] * a[i * k + j];
                off += i != j ? a[i * k + j] * a[i * k + j] : 0.0;
            }
        if (off <= 1e-30 * all)
            break;
        for (size_t p = 0; p + 1 < k; p++)
            for (size_t q = p + 1; q < k; q++) {
                const double apq = a[p * k + q];
                if (apq == 0.0)
                    continue;
                const double th = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                const double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1.0));
                const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                rotate_columns(a, k, p, q, c, s);
                for (size_t r = 0; r < k; r++) { /* rows p and q: Jᵀ a */
                    const double x = a[p * k + r], y = a[q * k + r];
                    a[p * k + r] = c * x - s * y;
                    a[q * k + r] = s * x + c * y;
                }
                rotate_columns(V, k, p, q, c, s);
            }
    }
    for (size_t i = 0; i < k; i++)
        ev[i] = a[i * k + i];
}
