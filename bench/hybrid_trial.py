#!/usr/bin/env python3
"""hybrid_trial.py — what a hybrid Krylov λ path would cost against the warm-started CGLS path.

Issue 18's lever "choose λ inside the Golub–Kahan subspace as it grows" (Chung, Nagy & O'Leary
2008; IR Tools' IRhybrid_lsqr), measured in NumPy before building it: one fold of the automatic
choice's cross-validation (B's pixels in 4×4 blocks, one block in five held out), the pixel model
with ½λ‖∇K‖², the coarse λ grid λ₀·{10, 1/10, 1/1000} and two refinements around the best, λ₀ =
tr(HᵀH)/tr(∇ᵀ∇) as kernest computes it.

- CGLS path: each λ solved in turn, warm-started from the previous λ's solution, stopped when
  ‖Hᵀr − λ∇ᵀ∇K‖ <= tol · its value at the start (tol 1e-4, the path tolerance; kernest's CGLS
  also wants the objective flat, so its path solves run longer and end nearer); 2 operator
  applications per iteration, plus one application per λ for the held-out prediction.
- Hybrid: k steps of Golub–Kahan bidiagonalisation of the fit rows' operator P H S (full
  reorthogonalisation; S = I in standard form, or with `prior` S = (∇ᵀ∇ + δ)^(−1/2) by the DCT
  that diagonalises ∇ᵀ∇, priorconditioning), then at every λ the projected problem
  min_y ‖B_k y − β e₁‖² + λ‖∇ V_k y‖² (least squares with V_kᵀ∇ᵀ∇V_k's square root, so a λ
  costs no application), K = S V_k y,
  and its held-out prediction (one application), scored at a few k.

The converged score at each λ is that of the solution with the lower objective of two: a CGLS
solve from zero to 1e-8 (at most 5000 iterations) and the hybrid's at the largest k. Both
printed; errors are |score / converged − 1|.

Prints, per λ, the CGLS iterations and the held-out score, and each k's errors; writes nothing
but its cache of the reference solves (DIR/hybrid-trial-ref.npz).
usage: python3 bench/hybrid_trial.py DIR [prior [DELTA [ALPHA]]]   (DIR from `kernest synth -o DIR --n 64 --seed 1 --kernel inv-r --noise 1`)
"""
import sys

import numpy as np
from numpy.fft import irfft2, rfft2
from scipy.fft import dctn, idctn


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "."
    DELTA = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-8  # keeps the constant mode finite
    A = np.load(f"{d}/A.npy")
    B = np.load(f"{d}/B.npy")
    n = A.shape[0]
    k = 2 * n - 1
    g = 4 * n  # alias-free grid for the full convolution (n + k - 1 <= g)
    FA = rfft2(A, (g, g))
    c = (k - 1) // 2  # 'same' keeps rows c .. c+n-1 of the full result

    def H(K):
        return irfft2(FA * rfft2(K, (g, g)), (g, g))[c:c + n, c:c + n]

    def Ht(R):
        Z = np.zeros((g, g))
        Z[c:c + n, c:c + n] = R
        return irfft2(np.conj(FA) * rfft2(Z), (g, g))[:k, :k]

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((k, k)), rng.standard_normal((n, n))
    assert abs(np.sum(H(x) * y) - np.sum(x * Ht(y))) < 1e-8 * abs(np.sum(H(x) * y))

    # one fold: 4×4 blocks dealt to 5 folds, fold 0 held out
    blocks = rng.permutation(16) % 5
    bs = (n + 3) // 4
    fold = np.array([[blocks[(i // bs) * 4 + j // bs] for j in range(n)] for i in range(n)])
    fit, held = fold != 0, fold == 0

    def grad(K):
        return np.concatenate([np.diff(K, axis=0).ravel(), np.diff(K, axis=1).ravel()])

    def gradT(v):
        gy = v[:(k - 1) * k].reshape(k - 1, k)
        gx = v[(k - 1) * k:].reshape(k, k - 1)
        out = np.zeros((k, k))
        out[:-1, :] -= gy
        out[1:, :] += gy
        out[:, :-1] -= gx
        out[:, 1:] += gx
        return out

    # λ₀ = tr(HᵀH)/tr(∇ᵀ∇): Σ of each tap's A² over the pixels it meets, against 4 per interior pixel
    trH = sum(np.sum(H(np.eye(1, k * k, j).reshape(k, k)) ** 2) for j in rng.choice(k * k, 200)) * k * k / 200
    lam0 = trH / (2 * 2 * k * (k - 1))
    b = np.where(fit, B, 0.0)

    def score(K):
        return np.mean((H(K) - B)[held] ** 2)

    def cgls(lam, x0, tol=1e-4, maxiter=5000):
        """CG on (HᵀPH + λ∇ᵀ∇) K = HᵀP b, from x0; iterations to ‖s‖ <= tol ‖s₀‖"""
        K = x0.copy()
        r = b - np.where(fit, H(K), 0.0)
        s = Ht(r) - lam * gradT(grad(K))
        p = s.copy()
        g0 = gam = np.sum(s * s)
        for it in range(1, maxiter + 1):
            q = np.where(fit, H(p), 0.0)
            a = gam / (np.sum(q * q) + lam * np.sum(grad(p) ** 2))
            K += a * p
            r -= a * q
            s = Ht(r) - lam * gradT(grad(K))
            gn = np.sum(s * s)
            if gn <= tol * tol * g0:
                return K, it
            p = s + gn / gam * p
            gam = gn
        return K, maxiter

    dmu = 2 - 2 * np.cos(np.pi * np.arange(k) / k)
    lap = dmu[:, None] + dmu[None, :]  # ∇ᵀ∇'s eigenvalues in the DCT-II basis
    alpha = float(sys.argv[4]) * trH / (k * k) if len(sys.argv) > 4 else 0.0  # a share of HᵀH's mean diagonal

    def pcg(lam, x0, tol=1e-4, maxiter=5000):
        """CG on the same normal equations preconditioned by M = α + λ(∇ᵀ∇ + δ) (diagonal in the
        DCT basis; α = 0 by default: the CG counterpart of the priorconditioned hybrid)"""
        K = x0.copy()
        s = Ht(b - np.where(fit, H(K), 0.0)) - lam * gradT(grad(K))
        z = idctn(dctn(s, norm="ortho") / (alpha + lam * (lap + DELTA)), norm="ortho")
        p = z.copy()
        gam = np.sum(s * z)
        g0 = np.sum(s * s)
        for it in range(1, maxiter + 1):
            q = np.where(fit, H(p), 0.0)
            a = gam / (np.sum(q * q) + lam * np.sum(grad(p) ** 2))
            K += a * p
            s -= a * (Ht(q) + lam * gradT(grad(p)))
            if np.sum(s * s) <= tol * tol * g0:
                return K, it
            z = idctn(dctn(s, norm="ortho") / (alpha + lam * (lap + DELTA)), norm="ortho")
            gn = np.sum(s * z)
            p = z + gn / gam * p
            gam = gn
        return K, maxiter

    # the path: coarse grid, then two points near the best (the log-midpoints to its neighbours, or
    # towards and past the grid edge it sits at)
    ts = [np.log10(lam0) + 1, np.log10(lam0) - 1, np.log10(lam0) - 3]
    K = np.zeros((k, k))
    path, its = [], 0
    for t in ts:
        K, it = cgls(10 ** t, K)
        its += it
        path.append((t, score(K), it))
    tb = min(path, key=lambda p: p[1])[0]
    ts2 = [tb + 1, tb - 1] if tb in (ts[1],) else ([tb - 0.5, tb - 1.5] if tb == ts[2] else [tb - 0.5, tb - 1.0])
    for t in ts2:
        K, it = cgls(10 ** t, K)
        its += it
        path.append((t, score(K), it))
    # the converged solve at each λ (tol 1e-8), the reference of the hybrid's scores
    cache = f"{d}/hybrid-trial-ref.npz"  # they take most of the run: kept beside the data
    try:
        z = np.load(cache)
        refK = {t: z[f"{t!r}"] for t, _, _ in path}
    except (OSError, KeyError):
        refK = {t: cgls(10 ** t, np.zeros((k, k)), tol=1e-8)[0] for t, _, _ in path}
        np.savez(cache, **{f"{t!r}": K for t, K in refK.items()})
    ref = {t: score(K) for t, K in refK.items()}

    K = np.zeros((k, k))
    pc = []
    for t, _, _ in path:
        K, it = pcg(10 ** t, K)
        pc.append((score(K), it))

    def objective(K, lam):
        return 0.5 * np.sum(np.where(fit, H(K) - B, 0.0) ** 2) + 0.5 * lam * np.sum(grad(K) ** 2)

    # hybrid: Golub–Kahan on P H S from P b, the bases kept as rows of arrays. S = I (standard
    # form), or with "prior" S = (∇ᵀ∇ + δ)^(-1/2) by the DCT that diagonalises ∇ᵀ∇ (priorconditioning,
    # Calvetti & Somersalo): K = S z puts smooth extensions into the subspace, which P H's range
    # (a fifth of K's unknowns here) lacks
    prior = len(sys.argv) > 2 and sys.argv[2] == "prior"
    mu = 2 - 2 * np.cos(np.pi * np.arange(k) / k)
    sdiag = 1 / np.sqrt(mu[:, None] + mu[None, :] + DELTA)

    def S(z):
        return idctn(dctn(z.reshape(k, k), norm="ortho") * sdiag, norm="ortho") if prior else z.reshape(k, k)
    napp = 2 * its + len(path)
    checks = sorted({25, 50, 100, 200, 400, its, 2 * its})  # k at which the projected solutions are scored
    kmax = max(checks) + 1
    U = np.zeros((kmax + 1, n * n))
    V = np.zeros((kmax, k * k))
    GV = np.zeros((kmax, 2 * k * (k - 1)))
    al, be = np.zeros(kmax), np.zeros(kmax)
    beta = np.linalg.norm(b)
    U[0] = b.ravel() / beta
    v = S(Ht(U[0].reshape(n, n))).ravel()
    al[0] = np.linalg.norm(v)
    V[0] = v / al[0]
    GV[0] = grad(S(V[0]))
    err = {}  # k -> per λ: |hybrid score / converged score - 1|
    obj = []
    for j in range(1, kmax):
        u = np.where(fit, H(S(V[j - 1])), 0.0).ravel() - al[j - 1] * U[j - 1]
        u -= U[:j].T @ (U[:j] @ u)  # full reorthogonalisation
        be[j - 1] = np.linalg.norm(u)
        U[j] = u / be[j - 1]
        if j in checks:  # V holds j vectors, U j + 1
            Bk = np.zeros((j + 1, j))
            Bk[np.arange(j), np.arange(j)] = al[:j]
            Bk[np.arange(1, j + 1), np.arange(j)] = be[:j]
            w, Q = np.linalg.eigh(GV[:j] @ GV[:j].T)  # R with RᵀR = Vₖᵀ∇ᵀ∇Vₖ
            R = np.sqrt(np.clip(w, 0, None))[:, None] * Q.T
            rhs = np.zeros(2 * j + 1)
            rhs[0] = beta
            err[j] = []
            for t, _, _ in path:
                # the projected problem as least squares: [Bₖ; √λ R] y ≈ [β e₁; 0]
                yk = np.linalg.lstsq(np.vstack([Bk, np.sqrt(10 ** t) * R]), rhs, rcond=None)[0]
                Kh = S(yk @ V[:j])
                err[j].append(score(Kh))
                if j == kmax - 1:  # the minimiser: the hybrid's last solution or the reference solve,
                    oh, orf = objective(Kh, 10 ** t), objective(refK[t], 10 ** t)  # the lower objective
                    obj.append((t, oh, orf))
                    if oh < orf:
                        ref[t] = err[j][-1]
        v = S(Ht(U[j].reshape(n, n))).ravel() - be[j - 1] * V[j - 1]
        v -= V[:j].T @ (V[:j] @ v)
        al[j] = np.linalg.norm(v)
        V[j] = v / al[j]
        GV[j] = grad(S(V[j]))
    print(f"N = {n}, kernel {k}x{k}, lambda0 = {lam0:.4g}; one fold (1/5 held out); hybrid "
          + (f"priorconditioned (delta {DELTA:g})" if prior else "in standard form"))
    for t, s_, it in path:
        print(f"  lambda {10 ** t:10.4g}  CGLS (warm) {it:5d} iterations  held-out MSE {s_:.5f}  converged {ref[t]:.5f}")
    print(f"CGLS path: {its} iterations, {napp} applications; |score / converged - 1| per lambda: "
          + "  ".join(f"{abs(s_ / ref[t] - 1):.2e}" for t, s_, _ in path))
    print(f"CG preconditioned by {alpha:.3g} + lambda (grad^T grad + delta) (DCT), the same path and test: "
          f"{sum(i for _, i in pc)} iterations ({', '.join(str(i) for _, i in pc)}); |score / converged - 1|: "
          + "  ".join(f"{abs(sc / ref[t] - 1):.2e}" for (sc, _), (t, _, _) in zip(pc, path)))
    for m in sorted(err):
        print(f"hybrid k = {m:5d} ({2 * m + len(path):5d} applications, {(2 * m + len(path)) / napp:.2f}x the path): "
              + "  ".join(f"{abs(e / ref[t] - 1):.2e}" for e, (t, _, _) in zip(err[m], path)))

    for t, oh, orf in obj:
        print(f"  lambda {10 ** t:10.4g}: objective of the hybrid's solution at k = {kmax - 1}: {oh:.10g}, "
              f"of the reference solve: {orf:.10g}")

if __name__ == "__main__":
    main()
