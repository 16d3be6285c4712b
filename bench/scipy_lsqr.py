#!/usr/bin/env python3
"""scipy_lsqr.py — the SciPy baseline: scipy.sparse.linalg.lsqr over an fftconvolve LinearOperator, on kernest's problem.

Reads A.npy and B.npy written by `kernest synth --n N --seed S` (the same files bench_cpu checks its
problem against), so both tools solve the same data for the full (2N-1)x(2N-1) kernel:

    H k  = fftconvolve(A, k, mode='same')            (N x N)
    Hᵀ r = fftconvolve(r, A[::-1, ::-1], mode='full') ((2N-1) x (2N-1)), the exact adjoint

The adjoint identity <Hx, y> = <x, Hᵀy> and the 'same' window (against scipy.signal.convolve2d)
are checked before any timing; the script exits 1 when either fails.

Timed, as bench_cpu times kernest's CGLS:
  - per iteration: lsqr with atol = btol = 0, conlim = 0 (no early stop) and iter_lim = --iters;
    the marginal cost (t(iters) - t(0)) / iters, median of --reps, and t(iters)/iters;
  - to tolerance: lsqr with iter_lim = --iters-tol (kernest's iterations to its tolerance; CGLS
    and LSQR build the same Krylov iterates in exact arithmetic), reporting the seconds and the
    criterion kernest stops on, ||Hᵀ(b - Hx)|| / ||Hᵀb||, reached by SciPy's x (computed untimed).
Prints one JSON object on stdout.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy
import scipy.fft
import scipy.signal
from scipy.sparse.linalg import LinearOperator, lsqr


def make_operator(A):
    n0, n1 = A.shape
    kh, kw = 2 * n0 - 1, 2 * n1 - 1
    Aflip = np.ascontiguousarray(A[::-1, ::-1])

    def matvec(k):
        return scipy.signal.fftconvolve(A, k.reshape(kh, kw), mode="same").ravel()

    def rmatvec(r):
        return scipy.signal.fftconvolve(r.reshape(n0, n1), Aflip, mode="full").ravel()

    op = LinearOperator((n0 * n1, kh * kw), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
    return op, (kh, kw)


def check_operator(A, rng):
    """Returns a dict of checks; raises SystemExit when the operator is not what kernest solves."""
    op, _ = make_operator(A)
    x = rng.standard_normal(op.shape[1])
    y = rng.standard_normal(op.shape[0])
    lhs = float(np.dot(op.matvec(x), y))
    rhs = float(np.dot(x, op.rmatvec(y)))
    adj_err = abs(lhs - rhs) / max(abs(lhs), abs(rhs), 1e-300)
    # the 'same' window against the direct sum on a small case with the same shapes
    As = (rng.random((9, 7)) < 0.2).astype(float)
    ks = rng.standard_normal((17, 13))
    same_err = float(np.max(np.abs(scipy.signal.fftconvolve(As, ks, mode="same")
                                   - scipy.signal.convolve2d(As, ks, mode="same"))))
    checks = {"adjoint_relative_error": adj_err, "same_window_max_error": same_err}
    if not (adj_err < 1e-10 and same_err < 1e-10):
        print(f"scipy_lsqr: operator check failed: {checks}", file=sys.stderr)
        sys.exit(1)
    return checks


def run_lsqr(op, b, iters):
    t0 = time.perf_counter()
    out = lsqr(op, b, damp=0.0, atol=0.0, btol=0.0, conlim=0.0, iter_lim=iters)
    t = time.perf_counter() - t0
    return t, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="folder with A.npy, B.npy from kernest synth")
    ap.add_argument("--n", type=int, default=128, help="without --data: synthesise this N")
    ap.add_argument("--seed", type=int, default=1, help="without --data: synth seed (default 1)")
    ap.add_argument("--kernest", default="build/kernest", help="the kernest CLI (for synth)")
    ap.add_argument("--iters", type=int, default=20, help="fixed iterations per timed solve")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of the fixed-iteration solve (median)")
    ap.add_argument("--iters-tol", type=int, default=0,
                    help="iterations of the time-to-tolerance solve (kernest's count); 0 = skip")
    ap.add_argument("--threads", type=int, default=0,
                    help="scipy.fft workers, 0 = all cores (default)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(args.kernest) and os.path.exists(os.path.join(root, args.kernest)):
        args.kernest = os.path.join(root, args.kernest)  # relative to the repository root

    tmp = None
    data = args.data
    if not data:
        tmp = tempfile.TemporaryDirectory(prefix="kernest-bench-")
        data = tmp.name
        subprocess.run([args.kernest, "synth", "-o", data, "--n", str(args.n),
                        "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
    A = np.load(os.path.join(data, "A.npy")).astype(np.float64)
    B = np.load(os.path.join(data, "B.npy")).astype(np.float64)
    b = np.ascontiguousarray(B.ravel())
    threads = args.threads if args.threads > 0 else (os.cpu_count() or 1)

    rng = np.random.default_rng(12345)
    checks = check_operator(A, rng)
    op, kshape = make_operator(A)
    ktrue = os.path.join(data, "K_true.npy")
    if os.path.exists(ktrue):
        # B - H K_true is the noise (sigma = 1): confirms the operator is kernest's model
        checks["rms_B_minus_H_Ktrue"] = float(np.sqrt(np.mean((b - op.matvec(np.load(ktrue).ravel())) ** 2)))

    res = {"bench": "scipy_lsqr", "N": int(A.shape[0]), "kernel": list(kshape),
           "fft_shape": [scipy.fft.next_fast_len(A.shape[0] + kshape[0] - 1, True),
                         scipy.fft.next_fast_len(A.shape[1] + kshape[1] - 1, True)],
           "data": data if args.data else None, "scipy_version": scipy.__version__,
           "numpy_version": np.__version__, "python_version": sys.version.split()[0],
           "fft_workers": threads, "precision": "double",
           "env_threads": {k: os.environ.get(k) for k in
                           ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
           "checks": checks, "iters": args.iters, "reps": args.reps}

    with scipy.fft.set_workers(threads):
        res["fft_workers_in_effect"] = scipy.fft.get_workers()
        run_lsqr(op, b, args.iters)  # warm-up
        full, start = [], []
        for _ in range(args.reps):
            t, out = run_lsqr(op, b, args.iters)
            if out[2] != args.iters:
                print(f"scipy_lsqr: lsqr stopped after {out[2]} of {args.iters} iterations "
                      f"(istop {out[1]})", file=sys.stderr)
                sys.exit(1)
            full.append(t)
            start.append(run_lsqr(op, b, 0)[0])
        mf, ms = statistics.median(full), statistics.median(start)
        res.update({"iter_s": (mf - ms) / args.iters, "iter_s_incl_start": mf / args.iters,
                    "iter_s_min": (min(full) - min(start)) / args.iters,
                    "lsqr_s_raw": full, "lsqr_start_s_raw": start})

        if args.iters_tol > 0:
            t, out = run_lsqr(op, b, args.iters_tol)
            x, istop, itn = out[0], out[1], out[2]
            s0 = np.linalg.norm(op.rmatvec(b))
            s = np.linalg.norm(op.rmatvec(b - op.matvec(x)))
            res.update({"iterations_to_tol": int(itn), "time_to_tol_s": t, "lsqr_istop": int(istop),
                        "relative_normal_residual": float(s / s0),
                        "relative_normal_residual_lsqr_estimate": float(out[7] / s0),
                        "rms_misfit": float(np.sqrt(np.mean((b - op.matvec(x)) ** 2)))})
    print(json.dumps(res))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
