"""The original question, end to end: binary A (20 % ones), a 1/r kernel of (2N-1)^2 with centre 0,
B = oaconvolve(A, K, 'same') + N(0, 1) noise; estimate K from A and B with kernest's default (the
model and lambda chosen from the data, as the kernest command), score it on a fresh pair, and draw
it (original_question.png) when matplotlib is installed."""
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
result = kernest.estimate(A, B)
A2, B2 = pair()  # fresh data, same kernel: the noise floor is 1.0
s = result.score(A2, B2, sigma=1.0, truth=K_true)
auto = result.report["automatic"]
print("chose %s (lambda %.4g) after %d solves, %d iterations; held-out RMSE/sigma = %.3f; kernel error = %.3f "
      "(central half %.3f)" % (auto["chosen"], result.report["final"]["lambda"], auto["solves"], auto["iterations"],
                               s["rmse_over_sigma"], s["kernel_rel_error"], s["kernel_rel_error_central"]))
try:
    import matplotlib
    matplotlib.use("Agg")
    kernest.plot(result, truth=K_true).savefig("original_question.png", dpi=80)
    print("wrote original_question.png")
except ImportError:
    print("(pip install matplotlib to draw the estimate)")
