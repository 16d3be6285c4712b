"""pytest: a convolution layer as a framework defines it — stride, dilation, groups (depthwise
included), padding and padding modes, bias — against a NumPy reference written from PyTorch's
nn.Conv2d documentation, and against torch.nn.functional.conv2d itself where PyTorch is installed."""
import numpy as np
import pytest

import kernest

_NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv2d_reference(x, w, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """torch.nn.functional.conv2d (padding_mode as nn.Conv2d's) in NumPy, term by term:
    out[s, o, y, x] = sum_i sum_u,v w[o, i, u, v] xp[s, g*C_in/G + i, y*sh + u*dh, x*sw + v*dw]
    with g = o // (C_out/G) and xp the padded input. padding: int, (ph, pw) or "same" (stride 1:
    d(k-1) in all, the smaller half before)."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    cout, kin, kh, kw = w.shape
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    else:
        ph, pw = _pair(padding)
        pads = ((ph, ph), (pw, pw))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads, mode=_NP_MODES[padding_mode])
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], cout, ho, wo))
    per = cout // groups
    for o in range(cout):
        g = o // per
        for i in range(kin):
            for u in range(kh):
                for v in range(kw):
                    patch = xp[:, g * kin + i, u * dh:u * dh + (ho - 1) * sh + 1:sh, v * dw:v * dw + (wo - 1) * sw + 1:sw]
                    out[:, o] += w[o, i, u, v] * patch
    return out


LAYERS = [  # cin, cout, groups, k, stride, dilation, padding, padding_mode
    (4, 6, 2, (3, 3), 2, 1, 1, "zeros"),
    (3, 3, 3, (3, 2), (1, 2), (2, 1), (2, 1), "reflect"),      # depthwise
    (2, 4, 1, (4, 4), 3, 2, 0, "zeros"),
    (4, 8, 4, (5, 5), (2, 1), (1, 3), (3, 2), "circular"),     # depthwise, multiplier 2
    (2, 2, 1, (3, 3), 1, 2, "same", "replicate"),
    (2, 4, 2, (4, 2), 1, (1, 2), "same", "zeros"),             # even kernel, 'same'
]


@pytest.mark.parametrize("cin, cout, groups, k, stride, dilation, padding, pmode", LAYERS)
def test_convolve_is_the_layer(cin, cout, groups, k, stride, dilation, padding, pmode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, cin, 13, 11))
    w = rng.standard_normal((cout, cin // groups) + k)
    ref = conv2d_reference(x, w, stride, padding, dilation, groups, pmode)
    got = kernest.convolve(x, w, correlate=True, padding=padding, padding_mode=pmode, stride=stride,
                           dilation=dilation, groups=groups)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-11)


@pytest.mark.parametrize("cin, cout, groups, k, stride, dilation, padding, pmode", LAYERS)
def test_estimate_returns_weight_and_bias(cin, cout, groups, k, stride, dilation, padding, pmode):
    """The recipe: X (S, C_in, H, W), Y = layer(X); one call gives weight (C_out, C_in/G, kh, kw)
    and bias (C_out,), ready for layer.weight.data.copy_(...)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, cin, 20, 19))
    w = rng.standard_normal((cout, cin // groups) + k)
    b = rng.standard_normal(cout)
    y = conv2d_reference(x, w, stride, padding, dilation, groups, pmode) + b[None, :, None, None]
    r = kernest.estimate(x, y, ksize=k, correlate=True, padding=padding, padding_mode=pmode, stride=stride,
                         dilation=dilation, groups=groups, bias=True, fast=True, tol=1e-12, maxiter=3000,
                         device="cpu", progress=False)
    assert r.kernel.shape == w.shape  # the layer's parameters, no more
    np.testing.assert_allclose(r.kernel, w, atol=1e-6)
    np.testing.assert_allclose(r.bias, b, atol=1e-6)
    np.testing.assert_allclose(r.predict(x), y, atol=1e-6)
    opts = r.report["options"]
    assert opts["stride"] == list(_pair(stride)) and opts["dilation"] == list(_pair(dilation))
    assert opts["groups"] == groups and r.report["channels"]["groups"] == groups


def test_same_with_a_stride_is_jax_same():
    """PyTorch refuses padding='same' with a stride; kernest takes JAX's/TensorFlow's SAME: the
    output has ceil(H/s) rows, padding max((ceil(H/s)-1)s + d(k-1) + 1 - H, 0), the smaller half
    before."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 1, 10, 11))
    w = rng.standard_normal((1, 1, 3, 3))
    got = kernest.convolve(x, w, correlate=True, padding="same", stride=2)
    assert got.shape == (1, 1, 5, 6)
    # H 10: (5-1)*2 + 3 - 10 = 1 -> (0, 1); W 11: (6-1)*2 + 3 - 11 = 2 -> (1, 1)
    xp = np.pad(x, ((0, 0), (0, 0), (0, 1), (1, 1)))
    np.testing.assert_allclose(got, conv2d_reference(xp, w, stride=2), atol=1e-12)


def test_uncertainty_and_automatic_choice_take_the_geometry():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 2, 16, 16))
    w = rng.standard_normal((4, 1, 3, 3))
    y = conv2d_reference(x, w, stride=2, padding=1, groups=2) + 0.01 * rng.standard_normal((4, 4, 8, 8))
    r = kernest.estimate(x, y, ksize=(3, 3), correlate=True, padding=1, stride=2, groups=2, uncertainty=4,
                         device="cpu", progress=False)  # the automatic choice, then 4 samples
    assert r.kernel.shape == (4, 1, 3, 3)
    assert r.report["uncertainty"]["std"].shape == (4, 1, 3, 3)
    assert r.report["uncertainty"]["coverage"].shape == (4, 1, 3, 3)
    assert np.abs(r.kernel - w).max() < 0.1


@pytest.mark.parametrize("kwargs, message", [
    (dict(stride=0), "stride"), (dict(dilation=(1, 0)), "dilation"), (dict(groups=0), "groups"),
    (dict(stride=(1, 2, 3)), "stride"), (dict(groups=2**40), "groups"),
])
def test_bad_geometry_is_an_input_error(kwargs, message):
    x, y = np.zeros((1, 2, 8, 8)), np.zeros((1, 2, 8, 8))
    with pytest.raises(kernest.KernestInputError, match=message):
        kernest.estimate(x, y, ksize=(3, 3), fast=True, **kwargs)


def test_groups_must_divide_the_channels():
    x, y = np.ones((1, 4, 8, 8)), np.ones((1, 6, 8, 8))
    with pytest.raises(kernest.KernestInputError, match="--groups 3"):
        kernest.estimate(x, y, ksize=(3, 3), groups=3, fast=True)


def test_stride_needs_ksize():
    with pytest.raises(kernest.KernestInputError, match="ksize"):
        kernest.estimate(np.ones((8, 8)), np.ones((4, 4)), stride=2, fast=True)


def test_the_layer_example_runs():
    """python/examples/conv_layer.py, the recipe end to end (PyTorch's layer where installed)."""
    import os
    import re
    import subprocess
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, os.path.join(here, "..", "examples", "conv_layer.py")],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"weight \(16, 2, 3, 3\): max error (\S+); bias: max error (\S+); held-out RMSE/sigma (\S+)", out)
    assert m, out
    assert float(m.group(1)) < 1e-3 and float(m.group(2)) < 1e-3 and 0.95 < float(m.group(3)) < 1.05, out


try:
    import torch
except ImportError:
    torch = None


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed: the comparison with "
                                          "torch.nn.functional.conv2d itself is skipped")
@pytest.mark.parametrize("cin, cout, groups, k, stride, dilation, padding, pmode", LAYERS)
def test_matches_torch_conv2d(cin, cout, groups, k, stride, dilation, padding, pmode):
    if padding == "same" and stride not in (1, (1, 1)):
        pytest.skip("PyTorch refuses padding='same' with a stride")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, cin, 13, 11))
    w = rng.standard_normal((cout, cin // groups) + k)
    b = rng.standard_normal(cout)
    layer = torch.nn.Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups,
                            padding_mode=pmode, bias=True).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        layer.bias.copy_(torch.from_numpy(b))
        y = layer(torch.from_numpy(x)).numpy()
    got = kernest.convolve(x, w, correlate=True, padding=padding, padding_mode=pmode, stride=stride,
                           dilation=dilation, groups=groups) + b[None, :, None, None]
    np.testing.assert_allclose(got, y, atol=1e-10)
    r = kernest.estimate(x, y, ksize=k, correlate=True, padding=padding, padding_mode=pmode, stride=stride,
                         dilation=dilation, groups=groups, bias=True, fast=True, tol=1e-12, maxiter=3000,
                         device="cpu", progress=False)
    with torch.no_grad():  # the recipe: the estimate goes straight into the layer
        layer.weight.data.copy_(torch.from_numpy(r.kernel))
        layer.bias.data.copy_(torch.from_numpy(r.bias))
        np.testing.assert_allclose(layer(torch.from_numpy(x)).numpy(), y, atol=1e-6)
