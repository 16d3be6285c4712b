/* gk.h — internal: Golub–Kahan bidiagonalisation of a linear operator A (m × n, applied by the
 * caller on host vectors), reorthogonalised on one side, and the Tikhonov solutions
 * min ‖A z − b‖² + λ‖z‖² in its Krylov subspace for any λ (gk.c). One bidiagonalisation serves a
 * whole λ path: after k steps A V_k = U_{k+1} B_k with B_k (k+1)×k lower bidiagonal, and
 * z_λ = V_k y_λ, (B_kᵀB_k + λI) y_λ = α₁β₁ e₁ (a tridiagonal solve). The hybrid methods of
 * Chung, Nagy & O'Leary (2008) and of IR Tools' IRhybrid_lsqr choose λ this way. */
#ifndef KN_GK_H
#define KN_GK_H

#include <stddef.h>

/* The operator, on host doubles: r (m) = A x (x: n values), x (n) = Aᵀ r (r: m values). The
 * caller's user pointer comes back; a non-zero return is a kernest_status and stops the step. */
typedef struct kn_gk_operator {
    int (*forward)(void *user, const double *x, double *r);
    int (*adjoint)(void *user, const double *r, double *x);
    void *user;
} kn_gk_operator;

typedef struct kn_gk {
    size_t n, m;
    int kmax;      /* the most steps the storage holds */
    int k;         /* steps taken: V holds v_1..v_{k+1}, U u_1..u_{k+1} */
    int exhausted; /* 1: A's Krylov subspace is complete (a zero α or β): z_λ is exact */
    double *V, *U; /* (kmax+1) × n and (kmax+1) × m, one vector after another */
    double *alpha; /* α_1..α_{k+1} (alpha[j] = α_{j+1}) */
    double *beta;  /* β_1..β_{k+1} (beta[j] = β_{j+1}) */
    int threads;   /* for the reorthogonalisation */
    double *work;  /* kmax+1 values: kn_gk_solve's elimination */
} kn_gk;

/* Bytes kn_gk_init allocates for kmax steps. */
size_t kn_gk_bytes(size_t n, size_t m, int kmax);
/* u_1 = b/β₁, v_1 = Aᵀu_1/α₁ (one adjoint). b (m values) is copied. A zero b or Aᵀb leaves an
 * exhausted bidiagonalisation whose solutions are 0. Free with kn_gk_free (also on failure). */
int kn_gk_init(kn_gk *g, size_t n, size_t m, int kmax, int threads, const kn_gk_operator *op, const double *b);
/* One step (one forward, one adjoint): u_{k+2}, β_{k+2}, v_{k+2}, α_{k+2}. The vectors of the
 * shorter side (u when m < n, else v) are orthogonalised against all earlier ones: one-sided
 * reorthogonalisation (Simon & Zha 2000) for the cost of the shorter side (kernest's kernels have
 * about 4× more unknowns than data); on the original problem at N = 64 and 128 the λ paths'
 * scores were those of both sides reorthogonalised to 5 digits. Nothing when the subspace is
 * exhausted or k = kmax. */
int kn_gk_step(kn_gk *g, const kn_gk_operator *op);
void kn_gk_free(kn_gk *g);

/* The Tikhonov solution in the first k <= g->k steps at λ > 0: y (k values), and
 *  *rss: ‖A V_k y − b‖², exactly (orthogonality kept);
 *  *resid: the normal equations' residual on the whole space for z = V_k y, which lies along
 *          v_{k+1}: Aᵀ(b − A z) − λ z = *resid · v_{k+1} (α_{k+1} (β₁e₁ − B_k y)_{k+1}; 0 when
 *          exhausted). Against ‖Aᵀb‖ = α₁β₁ it is CGLS's relative residual in z.
 * Either pointer may be NULL. k = 0 gives y empty, rss = ‖b‖², resid α₁β₁ (along v_1). */
void kn_gk_solve(const kn_gk *g, int k, double lambda, double *y, double *rss, double *resid);
/* out (len values) = Σ_j y_j cols[j*len ...]: a combination of k stored vectors (V_k y: the
 * solution, with cols = g->V and len = n). */
void kn_gk_combine(const double *cols, size_t len, int k, const double *y, double *out, int threads);

#endif
