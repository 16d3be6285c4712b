"""One convolution layer identified from its inputs and outputs, exactly as the framework defines it:
stride 2, padding 1, dilation 2, 4 groups and a bias. With PyTorch installed the layer is a real
torch.nn.Conv2d and the estimate goes straight back into it; without, the same layer is computed by
kernest.convolve (which python/tests/test_layers.py checks against PyTorch's conv2d)."""
import numpy as np
import kernest

rng = np.random.default_rng(0)
C_in, C_out, k, S, H = 8, 16, 3, 16, 32
layer_args = dict(stride=2, padding=1, dilation=2, groups=4)
try:
    import torch
    layer = torch.nn.Conv2d(C_in, C_out, k, **layer_args).double()
    weight, bias = layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()
except ImportError:
    torch = layer = None
    weight = rng.standard_normal((C_out, C_in // layer_args["groups"], k, k)) / k
    bias = rng.standard_normal(C_out)


def forward(x):
    """The layer's output for x (S, C_in, H, W), with a little measurement noise."""
    if layer is not None:
        with torch.no_grad():
            y = layer(torch.from_numpy(x)).numpy()
    else:
        y = kernest.convolve(x, weight, correlate=True, **layer_args) + bias[:, None, None]
    return y + 1e-3 * rng.standard_normal(y.shape)


x = rng.standard_normal((S, C_in, H, H))
r = kernest.estimate(x, forward(x), ksize=(k, k), correlate=True, bias=True, fast=True, tol=1e-10, maxiter=2000,
                     **layer_args)
x_test = rng.standard_normal((S, C_in, H, H))  # fresh inputs: the noise floor is 1.0
print("weight %s: max error %.2e; bias: max error %.2e; held-out RMSE/sigma %.3f" % (
    r.kernel.shape, np.abs(r.kernel - weight).max(), np.abs(r.bias - bias).max(),
    r.score(x_test, forward(x_test), sigma=1e-3)["rmse_over_sigma"]))
if layer is not None:  # the estimate, ready for the layer
    layer.weight.data.copy_(torch.from_numpy(r.kernel))
    layer.bias.data.copy_(torch.from_numpy(r.bias))
