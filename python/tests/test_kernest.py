"""pytest suite of the Python binding: results against NumPy/SciPy references, errors, threads."""
import threading

import numpy as np
import pytest

import kernest


def direct_full(A, K):
    """Full linear convolution by the direct sum (reference, no FFT)."""
    ha, wa = A.shape
    kh, kw = K.shape
    out = np.zeros((ha + kh - 1, wa + kw - 1))
    for u in range(kh):
        for v in range(kw):
            out[u:u + ha, v:v + wa] += K[u, v] * A
    return out


def crop(full, A, K, mode):
    ha, wa = A.shape
    kh, kw = K.shape
    if mode == "full":
        return full
    if mode == "same":
        r, c = (kh - 1) // 2, (kw - 1) // 2
        return full[r:r + ha, c:c + wa]
    r, c = min(ha, kh) - 1, min(wa, kw) - 1
    return full[r:r + abs(ha - kh) + 1, c:c + abs(wa - kw) + 1]


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("kshape", [(3, 4), (4, 4), (5, 3)])
def test_convolve_matches_direct_sum(mode, kshape):
    rng = np.random.default_rng(1)
    A, K = rng.random((9, 7)), rng.random(kshape)
    got = kernest.convolve(A, K, mode=mode)
    assert np.allclose(got, crop(direct_full(A, K), A, K, mode), rtol=1e-12, atol=1e-12)


def test_convolve_matches_scipy_same_even_kernel():
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(2)
    A, K = rng.random((10, 12)), rng.random((6, 4))
    assert np.allclose(kernest.convolve(A, K), signal.convolve2d(A, K, mode="same"), atol=1e-12)


def test_estimate_recovers_kernel_from_noiseless_pairs():
    rng = np.random.default_rng(3)
    K = rng.standard_normal((5, 4))
    As = [rng.random((12, 11)) for _ in range(3)]
    Bs = [kernest.convolve(A, K, mode="same") for A in As]
    Khat, report = kernest.estimate(As, Bs, ksize=(5, 4), tol=1e-14, maxiter=2000, device="cpu",
                                    precision="double", fast=True)
    assert np.linalg.norm(Khat - K) / np.linalg.norm(K) < 1e-8
    assert report["solve"]["stop_reason"] in ("converged", "max-iterations")
    assert len(report["pairs"]) == 3
    assert report["device"]["backend"] == "cpu"


def test_nan_pixels_are_left_out():
    rng = np.random.default_rng(4)
    K = rng.standard_normal((3, 3))
    A = rng.random((14, 14))
    B = kernest.convolve(A, K)
    B[2, 3] = B[7, 7] = np.nan
    Khat, report = kernest.estimate(A, B, ksize=(3, 3), tol=1e-14, device="cpu", fast=True)
    assert np.linalg.norm(Khat - K) / np.linalg.norm(K) < 1e-8
    assert report["pairs"][0]["observed_pixels"] == 14 * 14 - 2


def test_bad_input_raises_with_library_message():
    A = np.ones((5, 5))
    A[0, 0] = np.inf
    with pytest.raises(kernest.KernestInputError, match="finite"):
        kernest.estimate(A, np.zeros((5, 5)), device="cpu")
    with pytest.raises(kernest.KernestInputError, match="5x5"):
        kernest.estimate(np.ones((5, 5)), np.zeros((4, 4)), device="cpu")
    with pytest.raises(ValueError):
        kernest.estimate(np.ones((5, 5)), np.zeros((5, 5)), mode="circular")
    with pytest.raises(kernest.KernestInputError, match="lambda"):
        kernest.estimate(np.ones((5, 5)), np.zeros((5, 5)), reg="ridge", lam=-1.0)


def test_solve_releases_the_gil():
    rng = np.random.default_rng(5)
    A = (rng.random((64, 64)) < 0.2).astype(float)
    B = rng.standard_normal((64, 64))
    ticks = []
    done = threading.Event()

    def solve():
        kernest.estimate(A, B, tol=0, maxiter=60, device="cpu", threads=1, fast=True)
        done.set()

    t = threading.Thread(target=solve)
    t.start()
    while not done.is_set():
        ticks.append(1)  # only runs while the solver thread does not hold the GIL
        done.wait(0.001)
    t.join()
    assert len(ticks) > 5


def test_version():
    assert kernest.version().count(".") == 2


def test_tv_option_reaches_the_solver():
    rng = np.random.default_rng(5)
    K = np.zeros((9, 9))
    K[2:7, 2:7] = 1.0
    A = rng.random((14, 14))
    B = kernest.convolve(A, K, mode="same") + 0.01 * rng.standard_normal((14, 14))
    Khat, report = kernest.estimate(A, B, ksize=(9, 9), tv=0.05, nonneg=True, maxiter=300,
                                    device="cpu", precision="double")
    assert report["solve"]["solver"] == "fista"
    assert report["options"]["tv"] == 0.05
    assert Khat.min() >= 0.0
    assert np.linalg.norm(Khat - K) / np.linalg.norm(K) < 0.2
    with pytest.raises(kernest.KernestInputError):
        kernest.estimate(A, B, ksize=(9, 9), tv=1.0, model="radial", device="cpu")


def test_gpcg_solver_reaches_fistas_minimiser():
    """solver='gpcg' solves --nonneg to the minimiser FISTA reaches at a tight tolerance."""
    rng = np.random.default_rng(6)
    K = np.zeros((9, 9))
    K[3:6, 2:7] = 1.0
    A = rng.random((14, 14))
    B = kernest.convolve(A, K, mode="same") + 0.05 * rng.standard_normal((14, 14))
    common = dict(ksize=(9, 9), nonneg=True, reg="grad", lam=0.1, device="cpu", precision="double")
    Kg, rg = kernest.estimate(A, B, solver="gpcg", tol=1e-11, maxiter=5000, **common)
    Kf, rf = kernest.estimate(A, B, solver="fista", tol=1e-13, maxiter=100000, **common)
    assert rg["solve"]["solver"] == "gpcg" and rg["solve"]["stop_reason"] == "converged"
    assert rg["solve"]["gp_steps"] + rg["solve"]["cg_steps"] == rg["solve"]["iterations"]
    assert Kg.min() >= 0.0 and (Kg == 0).any()
    assert np.linalg.norm(Kg - Kf) / np.linalg.norm(Kf) < 1e-6
    with pytest.raises(kernest.KernestInputError):
        kernest.estimate(A, B, solver="gpcg", sum=1.0, **common)


def test_automatic_choice_and_uncertainty():
    """model='auto' lists every candidate with its λ and score; uncertainty maps come back shaped like K."""
    rng = np.random.default_rng(3)
    A = (rng.random((16, 16)) < 0.2).astype(float)
    y, x = np.mgrid[-15:16, -15:16]
    Ktrue = np.exp(-(x ** 2 + y ** 2) / 8.0)
    B = kernest.convolve(A, Ktrue)
    B += 0.05 * B.std() * rng.standard_normal(B.shape)
    K, rep = kernest.estimate(A, B, model="auto", uncertainty=4, device="cpu", threads=1)
    auto = rep["automatic"]
    names = [c["name"] for c in auto["candidates"]]
    assert names == ["pixel+grad", "pixel+nonneg+grad", "radial+grad", "harmonic:2+grad", "lowrank:2+grad",
                     "lowrank:2+grad@best"] and auto["solves"] <= 15 + 6 * 5  # the finalists on 5 folds
    assert sum(c["chosen"] for c in auto["candidates"]) == 1
    assert rep["uncertainty"]["coverage"].shape == K.shape == rep["uncertainty"]["std"].shape
    assert np.all(rep["uncertainty"]["std"] > 0)
    K4, rep4 = kernest.estimate(A, B, model="lowrank:1", reg="grad", lam="auto", device="cpu", threads=1)
    assert rep4["final"]["model"] == "lowrank" and rep4["automatic"]["solves"] <= 15  # was refused
    K2, rep2 = kernest.estimate(A, B, lam="auto", select="gcv", device="cpu", threads=1)
    assert rep2["final"]["reg"] == "grad" and rep2["final"]["lambda"] > 0
    K3, rep3 = kernest.estimate(A, B, reg="grad", lam="auto", l1="auto", device="cpu", threads=1)
    assert any(p["l1"] > 0 for p in rep3["automatic"]["path"]) and rep3["automatic"]["solves"] <= 15
    with pytest.raises(kernest.KernestInputError):
        kernest.estimate(A, B, lam="auto", select="nope")


def test_models_and_background_through_the_binding():
    rng = np.random.default_rng(5)
    u, v = np.exp(-0.5 * (np.arange(7) - 3) ** 2 / 2.0), np.exp(-0.5 * (np.arange(5) - 2) ** 2)
    K = np.outer(u, v)  # separable: rank 1
    A = rng.random((16, 16))
    B = kernest.convolve(A, K) + 2.5
    Khat, report = kernest.estimate(A, B, ksize=(7, 5), model="lowrank:1", background=True, tol=1e-12,
                                    maxiter=2000, outer_tol=1e-10, outer_maxiter=200, device="cpu")
    assert np.linalg.norm(Khat - K) / np.linalg.norm(K) < 1e-6
    assert abs(report["background"][0] - 2.5) < 1e-6
    assert report["model"]["kind"] == "lowrank" and len(report["model"]["u"]) == 1
    assert report["model"]["als"]["sweeps"] >= 1
    Khat, report = kernest.estimate(A, B - 2.5, ksize=(7, 5), model="harmonic:2", reg="grad", lam=1e-3,
                                    device="cpu")
    assert report["model"]["kind"] == "harmonic" and report["options"]["order"] == 2
    assert "background" not in report
    with pytest.raises(kernest.KernestInputError, match="lowrank"):
        kernest.estimate(A, B, ksize=(7, 5), model="lowrank:1", bounds=(0, 1), device="cpu")
    with pytest.raises(kernest.KernestInputError, match="order"):
        kernest.estimate(A, B, ksize=(7, 5), model="harmonic", device="cpu")


def test_precond_option_reaches_cgls():
    rng = np.random.default_rng(6)
    A = rng.random((16, 16))
    B = rng.standard_normal((16, 16))
    seen = {}
    for model, precond in (("radial", "auto"), ("radial", "none"), ("radial", "mean"), ("pixel", "auto"),
                           ("pixel", "jacobi")):
        K, report = kernest.estimate(A, B, model=model, reg="grad", lam=1.0, precond=precond, device="cpu",
                                     tol=1e-10, maxiter=2000)
        assert report["options"]["precond"] == precond
        seen[model, precond] = (report["solve"]["preconditioner"], K)
    assert seen["radial", "auto"][0] == "jacobi" and seen["radial", "none"][0] == "none"  # a small kernel
    assert seen["radial", "mean"][0] == "mean"
    assert seen["pixel", "auto"][0] == "none" and seen["pixel", "jacobi"][0] == "jacobi"
    for model in ("radial", "pixel"):  # the same minimiser whatever the preconditioner
        Ks = [K for (m, _), (_, K) in seen.items() if m == model]
        for K1 in Ks[1:]:
            assert np.linalg.norm(K1 - Ks[0]) <= 1e-6 * np.linalg.norm(Ks[0])
    with pytest.raises(kernest.KernestInputError):
        kernest.estimate(A, B, model="radial", reg="grad", lam=1.0, precond="diagonal", device="cpu")
