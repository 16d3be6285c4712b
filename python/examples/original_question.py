"""The original question, end to end: binary A (20 % ones), a 1/r kernel of (2N-1)^2 with centre 0,
B = oaconvolve(A, K, 'same') + N(0, 1) noise; estimate K from A and B and score it on a fresh pair."""
import numpy as np
import kernest

N, rng = 100, np.random.default_rng(0)
y, x = np.mgrid[-(N - 1):N, -(N - 1):N]
r = np.hypot(y, x)
K_true = np.divide(1.0, r, out=np.zeros_like(r), where=r > 0)

def pair():
    A = (rng.random((N, N)) < 0.2).astype(float)
    return A, kernest.convolve(A, K_true, mode="same") + rng.normal(0.0, 1.0, (N, N))

A, B = pair()
K, report = kernest.estimate(A, B, reg="grad", lam=100.0)
A2, B2 = pair()  # fresh data, same kernel: the noise floor is 1.0
heldout = np.sqrt(np.mean((B2 - kernest.convolve(A2, K)) ** 2))
print("%s after %d iterations; held-out RMSE/sigma = %.3f; kernel error = %.3f" % (
    report["solve"]["stop_reason"], report["solve"]["iterations"], heldout,
    np.linalg.norm(K - K_true) / np.linalg.norm(K_true)))
