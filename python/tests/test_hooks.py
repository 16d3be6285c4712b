"""pytest: progress callback, stop, checkpoint and resume, and the device fallback warning."""
import numpy as np
import pytest

import kernest


def problem():
    rng = np.random.default_rng(11)
    A = rng.random((16, 16))
    y, x = np.mgrid[-15:16, -15:16]
    K = np.exp(-(x * x + y * y) / 18.0)
    B = kernest.convolve(A, K) + 1e-3 * rng.standard_normal((16, 16))
    return A, B


def test_progress_sees_every_iteration():
    A, B = problem()
    seen = []
    K, rep = kernest.estimate(A, B, device="cpu", threads=1, maxiter=40, tol=1e-8,
                              progress=seen.append, fast=True)
    assert [p["iteration"] for p in seen] == list(range(1, rep["solve"]["iterations"] + 1))
    # the report went through cJSON, which prints 15 significant digits
    assert [p["residual"] for p in seen] == pytest.approx(rep["solve"]["residual_history"][1:], rel=1e-13)
    assert all(p["solver"] == "cgls" and p["first_iteration"] == 0 for p in seen)
    assert all(p["phase"] is None for p in seen)  # a plain solve has no phase


def test_progress_names_the_phase():
    """The automatic choice says which candidate, λ and fold each run is for, then the final solve
    and the uncertainty samples (issue 18: the progress line names the phase)."""
    A, B = problem()
    seen = []
    r = kernest.estimate(A, B, device="cpu", threads=1, uncertainty=2, progress=seen.append)
    phases = [p["phase"] for p in seen]
    assert all(ph for ph in phases)
    chosen = r.report["automatic"]["chosen"]
    assert any(ph.startswith("choosing: pixel+grad, lambda ") and ", fold 1/" in ph for ph in phases)
    finals = [ph for ph in phases if ph.startswith("final: ")]
    assert finals and all(ph.startswith("final: %s, " % chosen) for ph in finals)
    assert phases.index(finals[0]) > max(i for i, ph in enumerate(phases) if ph.startswith("choosing: "))
    assert {ph for ph in phases if ph.startswith("uncertainty: ")} == {"uncertainty: sample 1/2",
                                                                       "uncertainty: sample 2/2"}


def test_stop_resume_equals_uninterrupted(tmp_path):
    A, B = problem()
    opts = dict(device="cpu", threads=1, maxiter=40, tol=1e-14, nonneg=True, fast=True)
    Kref, rref = kernest.estimate(A, B, **opts)
    ck = tmp_path / "state.ckpt"
    Kint, rint = kernest.estimate(A, B, checkpoint=ck, checkpoint_every=1e9,
                                  progress=lambda p: p["iteration"] >= 9, **opts)
    assert rint["solve"]["stop_reason"] == "interrupted"
    assert rint["solve"]["iterations"] == 9
    Kres, rres = kernest.estimate(A, B, resume=ck, **opts)
    assert rres["solve"]["resumed_from"] == 9
    assert rres["solve"]["iterations"] == rref["solve"]["iterations"]
    assert np.array_equal(Kres, Kref)  # bit for bit
    with pytest.raises(kernest.KernestInputError, match="--resume"):
        kernest.estimate(A, B, resume=ck, **dict(opts, nonneg=False, bounds=(0, 1)))


def test_exception_in_progress_stops_and_is_raised(tmp_path):
    A, B = problem()
    ck = tmp_path / "s.ckpt"

    def boom(p):
        if p["iteration"] == 3:
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        kernest.estimate(A, B, device="cpu", threads=1, maxiter=50, tol=0, checkpoint=ck,
                         checkpoint_every=1e9, progress=boom, fast=True)
    assert ck.exists()  # the solve stopped cleanly and saved its state


def test_auto_fallback_warning(monkeypatch):
    A, B = problem()
    monkeypatch.setenv("KERNEST_TEST_FAIL_CUDA", "1")
    K, rep = kernest.estimate(A, B, device="auto", maxiter=5, fast=True)
    assert rep["device"]["backend"] == "cpu"
    assert len(rep["warnings"]) == 1 and "KERNEST_TEST_FAIL_CUDA" in rep["warnings"][0]
    with pytest.raises(kernest.KernestError, match="KERNEST_TEST_FAIL_CUDA"):
        kernest.estimate(A, B, device="cuda", maxiter=5, fast=True)


def test_lowrank_candidates_are_scored_after_a_few_sweeps():
    """The automatic choice scores a lowrank candidate after at most 5 ALS sweeps (2 half-steps
    each, plus its start); the final solve runs outer_maxiter. Solves that stop at a cap are
    counted per candidate (capped_solves)."""
    import collections
    rng = np.random.default_rng(4)
    A = rng.random((24, 24))
    y, x = np.mgrid[-12:13, -12:13]
    B = kernest.convolve(A, np.exp(-x * x / 20.0) * np.cos(y / 3.0)) + 1e-2 * rng.standard_normal((24, 24))
    runs = collections.Counter()

    def count(p):
        if p["iteration"] == p["first_iteration"] + 1:
            runs[p["phase"]] += 1

    r = kernest.estimate(A, B, ksize=(25, 25), device="cpu", threads=1, progress=count, outer_tol=1e-12,
                         outer_maxiter=12)
    lowrank = {ph: n for ph, n in runs.items() if ph.startswith("choosing: lowrank")}
    assert lowrank and all(n <= 1 + 2 * 5 for n in lowrank.values()), lowrank
    cands = {c["name"]: c for c in r.report["automatic"]["candidates"]}
    for name in ("lowrank:2+grad", "lowrank:2+grad@best"):  # ALS never meets outer_tol=1e-12
        assert cands[name]["capped_solves"] == cands[name]["solves"] > 0
    if r.report["automatic"]["chosen"].startswith("lowrank"):
        final = [n for ph, n in runs.items() if ph.startswith("final: ")]
        assert final == [2 * 12]


def test_openmp_short_spins_unless_a_policy_was_chosen():
    """Importing kernest loads the OpenMP runtime with short spins (GOMP_SPINCOUNT=1000) unless the
    caller chose a policy (long-spinning threads collapse on a shared machine: README)."""
    import os
    import subprocess
    import sys
    code = "import os, kernest; print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1000", "None"]
    out = subprocess.run([sys.executable, "-c", code], env=dict(env, OMP_WAIT_POLICY="active"),
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "active"]
