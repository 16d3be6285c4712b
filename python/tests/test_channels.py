"""pytest: several input and output channels — arrays of 3 and 4 dimensions, the 4-D kernel,
--correlate against a NumPy emulation of a deep-learning framework's conv2d (torch padding rules)."""
import numpy as np
import pytest

import kernest


def conv2d_like_torch(x, w, padding):
    """torch.nn.functional.conv2d(x, w, padding=...) with stride 1, in NumPy: a cross-correlation
    of x (S, C_in, H, W) with w (C_out, C_in, kh, kw). padding: an int, or "same" (PyTorch pads
    (k-1)//2 before and the rest after)."""
    kh, kw = w.shape[2:]
    if padding == "same":
        pads = (((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2))
    else:
        pads = ((padding, padding), (padding, padding))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    ho, wo = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for u in range(kh):
        for v in range(kw):
            out += np.einsum("sihw,oi->sohw", xp[:, :, u:u + ho, v:v + wo], w[:, :, u, v])
    return out


def layer(rng, s=2, cin=3, cout=2, n=16, k=3):
    A = rng.standard_normal((s, cin, n, n))
    W = rng.standard_normal((cout, cin, k, k))
    return A, W


def test_convolve_4d_is_sum_over_input_channels():
    rng = np.random.default_rng(1)
    A, K = layer(rng, k=4)
    B = kernest.convolve(A, K, mode="full")
    assert B.shape == (2, 2, 19, 19)
    for s in range(2):
        for o in range(2):
            ref = sum(kernest.convolve(A[s, i], K[o, i], mode="full") for i in range(3))
            np.testing.assert_allclose(B[s, o], ref, atol=1e-12)
    # one sample as (C, H, W) gives (C_out, H, W)
    B1 = kernest.convolve(A[0], K, mode="same")
    assert B1.shape == (2, 16, 16)
    # nchw reads a 3-D array as samples of one channel
    B2 = kernest.convolve(A[:, 0], K[:1, :1], mode="same", layout="nchw")
    assert B2.shape == (2, 1, 16, 16)
    np.testing.assert_allclose(B2[1, 0], kernest.convolve(A[1, 0], K[0, 0], mode="same"), atol=1e-12)


@pytest.mark.parametrize("k,padding,mode,prepad", [
    (3, 0, "valid", False),
    (3, 2, "full", False),
    (3, "same", "same", False),
    (5, "same", "same", False),
    (4, "same", "valid", True),   # even kernels: PyTorch's 'same' is not SciPy's; pad A yourself
    (4, 0, "valid", False),
])
def test_correlate_matches_torch_padding(k, padding, mode, prepad):
    rng = np.random.default_rng(k)
    A, W = layer(rng, k=k)
    ref = conv2d_like_torch(A, W, padding)
    Ain = np.pad(A, ((0, 0), (0, 0), ((k - 1) // 2, k // 2), ((k - 1) // 2, k // 2))) if prepad else A
    B = kernest.convolve(Ain, W, mode=mode, correlate=True)
    np.testing.assert_allclose(B, ref, atol=1e-11)


def test_even_kernel_same_differs_from_torch_by_one_pixel():
    """SciPy/kernest 'same' for an even kernel starts one pixel earlier than PyTorch's."""
    rng = np.random.default_rng(7)
    A, W = layer(rng, k=4)
    ours = kernest.convolve(A, W, mode="same", correlate=True)
    torch_same = conv2d_like_torch(A, W, "same")
    assert not np.allclose(ours, torch_same)
    full = kernest.convolve(A, W, mode="full", correlate=True)
    np.testing.assert_allclose(full[:, :, 2:18, 2:18], torch_same, atol=1e-11)  # k//2 = 2
    np.testing.assert_allclose(full[:, :, 1:17, 1:17], ours, atol=1e-11)        # (k-1)//2 = 1


def test_estimate_recovers_framework_weights():
    rng = np.random.default_rng(3)
    A, W = layer(rng, s=2, cin=3, cout=2, n=20, k=3)
    B = conv2d_like_torch(A, W, 1)  # padding=1: 'same' for k = 3
    K, rep = kernest.estimate(A, B, ksize=(3, 3), correlate=True, tol=1e-12, maxiter=2000, device="cpu", fast=True)
    assert K.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(K, W, atol=1e-8)
    assert rep["channels"] == {"in": 3, "out": 2, "groups": 1, "samples": 2, "layout": "auto", "correlate": True}
    # without --correlate the same data give the convolution kernels: each one flipped
    Kc, _ = kernest.estimate(A, B, ksize=(3, 3), tol=1e-12, maxiter=2000, device="cpu", fast=True)
    np.testing.assert_allclose(Kc, W[:, :, ::-1, ::-1], atol=1e-8)


def test_estimate_several_pairs_and_3d():
    rng = np.random.default_rng(4)
    A, W = layer(rng, s=1, cin=2, cout=1, n=14, k=3)
    A2 = rng.standard_normal((2, 11, 12))
    B = kernest.convolve(A[0], W, mode="same")
    B2 = kernest.convolve(A2, W, mode="same")
    assert B.shape == (1, 14, 14) and B2.shape == (1, 11, 12)
    K, rep = kernest.estimate([A[0], A2], [B, B2], ksize=(3, 3), tol=1e-12, maxiter=2000, device="cpu", fast=True)
    assert K.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(K, W, atol=1e-8)
    assert len(rep["pairs"]) == 2 and rep["pairs"][1]["observed_pixels"] == 11 * 12


def test_channel_mismatch_is_input_error():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 8, 8))
    B = rng.standard_normal((2, 2, 8, 8))  # 2 samples, A has 1
    with pytest.raises(kernest.KernestInputError) as e:
        kernest.estimate(A, B, ksize=(3, 3))
    assert "2x2x8x8" in str(e.value) and "3x8x8" in str(e.value)
    with pytest.raises(kernest.KernestInputError):
        kernest.convolve(A, rng.standard_normal((2, 2, 3, 3)))  # C_in 2 against 3 channels
    with pytest.raises(kernest.KernestInputError):
        kernest.estimate(A, B, ksize=(3, 3), layout="hwc")


def test_2d_unchanged():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((10, 9))
    K = rng.standard_normal((3, 3))
    B = kernest.convolve(A, K)
    Kh, rep = kernest.estimate(A, B, ksize=(3, 3), tol=1e-12, device="cpu", fast=True)
    assert Kh.shape == (3, 3)
    assert rep["channels"]["in"] == 1 and rep["channels"]["samples"] == 1
    np.testing.assert_allclose(Kh, K, atol=1e-8)


def test_uncertainty_maps_are_shaped_like_the_kernels():
    """uncertainty=S with channels: C_out x C_in maps like K; the coverage of kernel (o, i) is the
    single-kernel coverage of the pairs (A[s, i], B[s, o])."""
    rng = np.random.default_rng(5)
    A, W = layer(rng)
    B = kernest.convolve(A, W, mode="same") + 0.01 * rng.standard_normal((2, 2, 16, 16))
    opts = dict(ksize=(3, 3), reg="grad", lam=1.0, sigma=0.01, uncertainty=4, device="cpu", threads=1)
    K, rep = kernest.estimate(A, B, **opts)
    cov, std = rep["uncertainty"]["coverage"], rep["uncertainty"]["std"]
    assert cov.shape == std.shape == K.shape == (2, 3, 3, 3)
    assert np.all(std > 0)
    _, rep1 = kernest.estimate([A[0, 1], A[1, 1]], [B[0, 0], B[1, 0]], **opts)
    np.testing.assert_allclose(cov[0, 1], rep1["uncertainty"]["coverage"], rtol=1e-9)


def test_profile_models_give_each_kernel_its_own_unknowns():
    """radial, harmonic:M and lowrank:R with channels: the report's unknowns carry K's (C_out, C_in)
    axes in front, and a layer of radial kernels comes back with each kernel's own profile."""
    rng = np.random.default_rng(8)
    A, _ = layer(rng, n=16, k=5)
    r = np.hypot(*np.mgrid[-2:3, -2:3])
    f = rng.standard_normal((2, 3, 4))  # a profile per kernel on knots r = 0..3 px
    W = np.stack([np.stack([np.interp(r, np.arange(4), f[o, i]) for i in range(3)]) for o in range(2)])
    B = kernest.convolve(A, W, mode="same")
    opts = dict(ksize=(5, 5), tol=1e-12, maxiter=2000, device="cpu", threads=1)
    K, rep = kernest.estimate(A, B, model="radial", **opts)
    prof = np.array(rep["model"]["profile"])
    assert K.shape == (2, 3, 5, 5) and prof.shape == (2, 3, 4)
    np.testing.assert_allclose(prof, f, atol=1e-8)
    _, rep = kernest.estimate(A, B, model="harmonic:1", **opts)
    assert np.array(rep["model"]["coefficients"]).shape == (2, 3, 4 + 2 * 3)
    _, rep = kernest.estimate(A, B, model="lowrank:1", outer_maxiter=3, **opts)
    assert np.array(rep["model"]["u"]).shape == (2, 3, 1, 5)
    assert np.array(rep["model"]["v"]).shape == (2, 3, 1, 5)


def test_bias_is_one_offset_per_output_channel():
    """A layer with a bias (issue 22, item 1): Y = conv2d(X, W) + b[o]; bias=True recovers W and b
    (C_out numbers, shared by every sample), where the same fit without it is far off."""
    rng = np.random.default_rng(8)
    A, W = layer(rng, s=4, cin=2, cout=3, n=16, k=3)
    b = np.array([0.7, -1.3, 2.1])
    B = conv2d_like_torch(A, W, 1) + b[None, :, None, None]
    r = kernest.estimate(A, B, ksize=(3, 3), correlate=True, bias=True, tol=1e-12, maxiter=2000, device="cpu",
                         fast=True)
    np.testing.assert_allclose(r.kernel, W, atol=1e-7)
    np.testing.assert_allclose(r.bias, b, atol=1e-7)
    assert r.report["bias"] == pytest.approx(list(b), abs=1e-7)
    assert "background" not in r.report
    np.testing.assert_allclose(r.predict(A), B, atol=1e-6)
    K0, _ = kernest.estimate(A, B, ksize=(3, 3), correlate=True, tol=1e-12, maxiter=2000, device="cpu", fast=True)
    assert np.abs(K0 - W).max() > 100 * np.abs(r.kernel - W).max()
    with pytest.raises(kernest.KernestInputError, match="--bias"):
        kernest.estimate(A, B, ksize=(3, 3), correlate=True, bias=True, background=True, device="cpu", fast=True)


def test_even_kernel_same_with_correlate_warns():
    """--mode same with an even kernel is SciPy's window, one pixel off PyTorch's padding='same':
    the run says so (issue 22), and an odd kernel does not."""
    rng = np.random.default_rng(4)
    A, W = layer(rng, s=1, cin=1, cout=1, n=12, k=3)
    B = conv2d_like_torch(A, W, 1)
    _, rep = kernest.estimate(A, B, ksize=(4, 4), correlate=True, maxiter=3, device="cpu", fast=True)
    assert any("one pixel off" in w for w in rep.get("warnings", [])), rep.get("warnings")
    _, rep = kernest.estimate(A, B, ksize=(3, 3), correlate=True, maxiter=3, device="cpu", fast=True)
    assert not any("one pixel off" in w for w in rep.get("warnings", []))


@pytest.mark.parametrize("mode, npmode", [("zeros", "constant"), ("reflect", "reflect"),
                                          ("replicate", "edge"), ("circular", "wrap")])
@pytest.mark.parametrize("padding, k", [(1, 3), ("same", 4), ((2, 1), 3)])
def test_framework_padding_maps_option_for_option(mode, npmode, padding, k):
    """A layer defined with PyTorch's padding and padding_mode (issue 22, item 3): the estimate
    with the same padding recovers its weights; 'same' for an even kernel pads (k-1)//2 before."""
    rng = np.random.default_rng(11)
    A, W = layer(rng, s=3, cin=2, cout=2, n=14, k=k)
    if padding == "same":
        pads = ((k - 1) // 2, k - 1 - (k - 1) // 2), ((k - 1) // 2, k - 1 - (k - 1) // 2)
    elif isinstance(padding, tuple):
        pads = (padding[0], padding[0]), (padding[1], padding[1])
    else:
        pads = (padding, padding), (padding, padding)
    Ap = np.pad(A, ((0, 0), (0, 0)) + pads, mode=npmode)
    B = conv2d_like_torch(Ap, W, 0)
    r = kernest.estimate(A, B, ksize=(k, k), correlate=True, padding=padding, padding_mode=mode, tol=1e-12,
                         maxiter=3000, device="cpu", fast=True)
    np.testing.assert_allclose(r.kernel, W, atol=1e-6)
    np.testing.assert_allclose(r.predict(A), B, atol=1e-6)
    assert r.report["options"]["padding"]["mode"] == mode
