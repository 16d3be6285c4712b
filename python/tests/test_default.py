"""pytest: the default estimate is the CLI's, fast=True is --fast, the Result object, kernest.plot
and the progress display."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kernest
from kernest import _progress

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def cli():
    """The kernest command of the checkout's build (KERNEST_CLI overrides)."""
    path = os.environ.get("KERNEST_CLI") or os.path.join(ROOT, "build", "kernest")
    if not os.access(path, os.X_OK):
        pytest.skip("no kernest command at %s (build the checkout, or set KERNEST_CLI)" % path)
    return path


def problem(n=16, seed=3, sigma=0.1):
    """The original question at a small size: binary A, a 1/r kernel (2n-1)x(2n-1), noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[-(n - 1):n, -(n - 1):n]
    Kt = 1.0 / np.maximum(np.hypot(x, y), 1.0)

    def pair():
        A = (rng.random((n, n)) < 0.2).astype(float)
        return A, kernest.convolve(A, Kt) + sigma * rng.standard_normal((n, n))

    (A, B), (At, Bt) = pair(), pair()
    return A, B, At, Bt, Kt


def run_cli(tmp_path, A, B, *args):
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", B)
    subprocess.run([cli(), "estimate", str(tmp_path / "A.npy"), str(tmp_path / "B.npy"), "-o",
                    str(tmp_path / "K.npy"), "--report", str(tmp_path / "r.json"), "-q", *args], check=True)
    return np.load(tmp_path / "K.npy"), json.loads((tmp_path / "r.json").read_text())


def test_default_is_the_clis_default(tmp_path):
    """kernest.estimate(A, B) == kernest estimate A B -o K: the same automatic choice, the same K."""
    A, B, _, _, _ = problem()
    Kc, rc = run_cli(tmp_path, A, B, "--threads", "1", "--device", "cpu")
    res = kernest.estimate(A, B, threads=1, device="cpu", progress=False)
    K, rep = res
    assert rep["automatic"]["chosen"] == rc["automatic"]["chosen"]
    # the two processes may plan their FFTs differently (FFTW measures, unless one found the
    # other's wisdom): the same choice, with λ and the iterations equal up to that rounding
    final, final_c = dict(rep["final"]), dict(rc["final"])
    lam, lam_c = final.pop("lambda"), final_c.pop("lambda")
    assert final == final_c
    assert lam == pytest.approx(lam_c, rel=1e-9)
    it, it_c = rep["automatic"]["iterations"], rc["automatic"]["iterations"]
    assert abs(it - it_c) <= max(2, it_c // 100), (it, it_c)
    # and K equal to the final solve's accuracy (its tolerance is 1e-6; CI saw 1.5e-8 between the
    # pip-installed library and the command of another build, their FFT plans measured apart)
    np.testing.assert_allclose(K, Kc, rtol=1e-6, atol=1e-6 * np.abs(Kc).max())


def test_fast_is_one_plain_solve_as_the_clis(tmp_path):
    A, B, _, _, _ = problem()
    Kc, rc = run_cli(tmp_path, A, B, "--fast", "--threads", "1", "--device", "cpu", "--maxiter", "50")
    K, rep = kernest.estimate(A, B, fast=True, threads=1, device="cpu", maxiter=50, progress=False)
    assert "automatic" not in rep and "automatic" not in rc
    assert rep["model"]["kind"] == "pixel" and rep["options"]["reg"] == "none"
    assert rep["solve"]["iterations"] == rc["solve"]["iterations"]
    np.testing.assert_allclose(K, Kc, rtol=1e-12, atol=1e-12 * np.abs(Kc).max())


def test_what_turns_the_automatic_choice_off():
    """As on the command line: a model, a regulariser or a weight makes one solve with it."""
    A, B, _, _, _ = problem(n=8)
    for kw in (dict(model="radial"), dict(reg="grad", lam=1.0), dict(lam=0.0), dict(tv=0.01), dict(l1=1e-3)):
        _, rep = kernest.estimate(A, B, progress=False, maxiter=20, **kw)
        assert "automatic" not in rep, kw
    _, rep = kernest.estimate(A, B, progress=False, lam="auto")
    assert rep["automatic"]["candidates"][0]["name"] == "pixel+grad" and len(rep["automatic"]["candidates"]) == 1
    with pytest.raises(kernest.KernestInputError, match="fast"):
        kernest.estimate(A, B, fast=True, model="auto")
    with pytest.raises(kernest.KernestInputError, match="fast"):
        kernest.estimate(A, B, fast=True, lam="auto")
    with pytest.raises(kernest.KernestInputError, match="drop lam"):
        kernest.estimate(A, B, model="auto", lam=1.0)
    with pytest.raises(kernest.KernestInputError, match="fast=True"):
        kernest.estimate(A, B, checkpoint="never-written.ckpt")


def test_result_unpacks_and_predicts_and_scores_as_the_cli(tmp_path):
    A, B, At, Bt, Kt = problem()
    res = kernest.estimate(A, B, model="radial", reg="grad", lam=1.0, progress=False)
    K, rep = res
    assert isinstance(res, tuple) and len(res) == 2 and res.kernel is K and res.report is rep
    assert res.background is None and res.bias is None and res.uncertainty is None
    np.testing.assert_array_equal(res.profile, rep["model"]["profile"])
    np.testing.assert_array_equal(res.predict(At), kernest.convolve(At, K))
    got = res.score(At, Bt, sigma=0.1, truth=Kt)
    np.save(tmp_path / "At.npy", At)
    np.save(tmp_path / "Bt.npy", Bt)
    np.save(tmp_path / "K.npy", K)
    np.save(tmp_path / "Kt.npy", Kt)
    out = subprocess.run([cli(), "score", str(tmp_path / "At.npy"), str(tmp_path / "Bt.npy"), str(tmp_path / "K.npy"),
                          "--sigma", "0.1", "--truth", str(tmp_path / "Kt.npy")], check=True,
                         capture_output=True, text=True).stdout
    want = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}
    for name in ("rmse", "rmse_over_sigma", "kernel_rel_error", "kernel_rel_error_central"):
        assert got[name] == pytest.approx(want[name], rel=1e-5)  # the CLI prints 6 digits
    r = np.asarray(res.residual())
    np.testing.assert_allclose(r, B - kernest.convolve(A, K), atol=1e-12)
    assert "31x31" in repr(res) and "radial" in repr(res)


def test_background_profile_and_uncertainty_attributes():
    rng = np.random.default_rng(5)
    y, x = np.mgrid[-3:4, -3:4]
    K = np.exp(-(x * x + y * y) / 4.0)
    A = rng.random((16, 16))
    B = kernest.convolve(A, K) + 2.5
    res = kernest.estimate(A, B, ksize=(7, 7), reg="ridge", lam=1e-9, background=True, tol=1e-13,
                           maxiter=3000, uncertainty=4, device="cpu", progress=False)
    assert res.background.shape == (1,) and abs(res.bias[0] - 2.5) < 1e-5
    np.testing.assert_allclose(res.predict(A), B, atol=1e-5)  # the offset is added back
    assert res.uncertainty["std"].shape == K.shape
    # ring means, distances rounded: r = 0 the centre, r = 1 its 8 neighbours (sqrt 2 rounds to 1)
    p = res.profile
    assert p.shape == (4,)
    k = res.kernel
    assert p[0] == k[3, 3] and p[1] == pytest.approx((k[2:5, 2:5].sum() - k[3, 3]) / 8)
    two = kernest.estimate([A, A], [B, B + 1.0], ksize=(7, 7), background=True, fast=True, maxiter=5,
                           device="cpu", progress=False)
    with pytest.raises(kernest.KernestInputError, match="offset="):
        two.predict(A)
    np.testing.assert_array_equal(two.predict(A, offset=0.0), kernest.convolve(A, two.kernel))


def test_plot_draws_four_panels(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    A, B, _, _, Kt = problem()
    res = kernest.estimate(A, B, model="radial", reg="grad", lam=1.0, progress=False)
    fig = kernest.plot(res, truth=Kt)
    assert len(fig.axes) == 6  # four panels and two colour bars
    fig.savefig(tmp_path / "k.png")
    assert (tmp_path / "k.png").stat().st_size > 10000
    with pytest.raises(TypeError):
        kernest.plot(res.kernel)


def test_plot_without_matplotlib_says_what_to_install(monkeypatch):
    A, B, _, _, _ = problem(n=8)
    res = kernest.estimate(A, B, fast=True, maxiter=3, progress=False)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        kernest.plot(res)


def test_progress_runs_add_up_to_the_automatic_cost():
    A, B, _, _, _ = problem()
    seen = []
    _, rep = kernest.estimate(A, B, threads=1, progress=seen.append)
    assert seen[-1]["total_iterations"] == rep["automatic"]["iterations"]
    assert seen[-1]["run"] >= rep["automatic"]["solves"] > 1
    assert [p["run"] for p in seen] == sorted(p["run"] for p in seen)


@pytest.mark.parametrize("use_tqdm", [False, True])
def test_progress_display(monkeypatch, capsys, use_tqdm):
    if use_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setattr(_progress, "_tqdm", lambda: None)
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    A, B, _, _, _ = problem()
    kernest.estimate(A, B, fast=True, maxiter=30, tol=0, progress=True)
    err = capsys.readouterr().err
    assert "cgls" in err and "after 30 iterations" in err
    kernest.estimate(A, B, threads=1, progress=True)
    err = capsys.readouterr().err
    assert "kernest: chose" in err and "automatic choice" in err
    kernest.estimate(A, B, fast=True, maxiter=30, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(_progress, "DELAY", 1e9)  # short solves print nothing by default
    kernest.estimate(A, B, fast=True, maxiter=30, progress=True)
    assert capsys.readouterr().err == ""


def test_ctrl_c_through_the_display_stops_cleanly(monkeypatch):
    """KeyboardInterrupt raised while the display draws stops the solve and is raised again."""
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    calls = []

    def interrupt(self, info):
        calls.append(info["iteration"])
        if info["iteration"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(_progress.Bar, "update", interrupt)
    A, B, _, _, _ = problem()
    with pytest.raises(KeyboardInterrupt):
        kernest.estimate(A, B, fast=True, maxiter=50, tol=0, progress=True)
    assert calls == [1, 2, 3]


@pytest.mark.parametrize("fast", [True, False])
def test_sigint_stops_a_long_solve_promptly(fast):
    """A real Ctrl-C (SIGINT) during a solve with the progress display: KeyboardInterrupt within
    seconds, for one solve and for the automatic choice."""
    import signal
    import time
    code = """
import signal, sys, numpy as np, kernest
# Python's own Ctrl-C handler even where the parent ignores SIGINT (a shell's background job)
signal.signal(signal.SIGINT, signal.default_int_handler)
rng = np.random.default_rng(1)
A = (rng.random((96, 96)) < 0.2).astype(float)
B = rng.standard_normal((96, 96))
# FISTA (nonneg) with tol 0 never stops by itself; the automatic choice runs for minutes here
opts = dict(tol=0, maxiter=10**8, nonneg=True, fast=True) if %r else dict(model="auto", maxiter=10**6, tol=0)
print("start", flush=True)
try:
    kernest.estimate(A, B, threads=1, device="cpu", progress=True, **opts)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
print("finished", flush=True)
""" % (fast,)
    env = dict(os.environ)
    if not os.environ.get("KERNEST_TEST_INSTALLED"):
        env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.5)  # into the solve
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 3, (out, err)
    assert "interrupted" in out
    assert time.monotonic() - t0 < 20
