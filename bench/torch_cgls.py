#!/usr/bin/env python3
"""torch_cgls.py — the CGLS a GPU user would write with torch.fft, on kernest's problem, grid and iteration count.

The original question at size N (binary A with 20% ones, 1/r kernel on (2N-1)x(2N-1),
B = same(A (*) K) + N(0,1) noise): read from DIR/A_N.npy, DIR/B_N.npy when --data DIR holds them
(bench_gpu --save-data writes them: the same data kernest solved), else drawn here with NumPy.
For each precision: the floor (one rfft2 and one irfft2 on the grid, timed with CUDA events or
the clock on the CPU), CGLS per iteration as (t(iters) - t(0)) / iters, and the time to a
relative normal-equation residual ‖Hᵀr‖/‖Hᵀb‖ <= --tol (kernest's own stopping rule).
Runs on the CPU too (--device cpu), so that CI can check it on a tiny problem (--check compares
H and Hᵀ with a direct convolution and checks the adjoint identity).
Writes one JSON object (to --json FILE, rewritten after every case, and to stdout).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

try:
    import torch
except ImportError:  # the caller decides what a missing torch means (the ctest check skips)
    torch = None


def smooth_size(n):
    """Smallest 2·3·5·7-smooth integer >= n (cuFFT's fast sizes)."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5, 7):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def synth(n, seed):
    rng = np.random.default_rng(seed)
    a = (rng.random((n, n)) < 0.2).astype(np.float64)
    c = n - 1
    y, x = np.mgrid[-c:c + 1, -c:c + 1]
    r = np.hypot(y, x)
    k = np.where(r > 0, 1.0 / np.maximum(r, 1.0), 1.0)
    k /= k.sum()
    return a, k


class Op:
    """H k = same(A ⊛ k) and its adjoint through rfft2/irfft2 on one gh×gw grid."""

    def __init__(self, a, kh, kw, grid, dtype, device):
        self.ha, self.wa = a.shape
        self.kh, self.kw = kh, kw
        self.gh, self.gw = grid
        self.r0, self.c0 = (kh - 1) // 2, (kw - 1) // 2
        self.dtype, self.device = dtype, device
        at = torch.as_tensor(a, dtype=dtype, device=device)
        self.ahat = torch.fft.rfft2(at, s=(self.gh, self.gw))
        self.ahat_conj = self.ahat.conj()

    def apply(self, k):
        full = torch.fft.irfft2(torch.fft.rfft2(k, s=(self.gh, self.gw)) * self.ahat, s=(self.gh, self.gw))
        return full[self.r0:self.r0 + self.ha, self.c0:self.c0 + self.wa]

    def adjoint(self, r):
        pad = torch.zeros((self.gh, self.gw), dtype=self.dtype, device=self.device)
        pad[self.r0:self.r0 + self.ha, self.c0:self.c0 + self.wa] = r
        corr = torch.fft.irfft2(torch.fft.rfft2(pad) * self.ahat_conj, s=(self.gh, self.gw))
        return corr[:self.kh, :self.kw]


def cgls(op, b, iters, tol):
    """Plain CGLS from x = 0; returns (x, iterations, relative normal residual)."""
    x = torch.zeros((op.kh, op.kw), dtype=op.dtype, device=op.device)
    r = b.clone()
    s = op.adjoint(r)
    p = s.clone()
    gamma = float(torch.sum(s * s))
    gamma0 = gamma
    k = 0
    rel = 1.0 if gamma0 > 0 else 0.0
    while k < iters and rel > tol:
        q = op.apply(p)
        qq = float(torch.sum(q * q))
        if qq == 0:
            break
        alpha = gamma / qq
        x.add_(p, alpha=alpha)
        r.sub_(q, alpha=alpha)
        s = op.adjoint(r)
        gnew = float(torch.sum(s * s))
        k += 1
        rel = math.sqrt(gnew / gamma0)
        p = s + (gnew / gamma) * p
        gamma = gnew
    return x, k, rel


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device):
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


def floor_time(grid, dtype, device, reps):
    """Median seconds of one rfft2 and one irfft2 on the grid (events on a GPU)."""
    gen = torch.Generator(device="cpu").manual_seed(7)
    real = (torch.rand(grid, generator=gen, dtype=dtype) - 0.5).to(device)
    spec = torch.fft.rfft2(real)
    out = []
    for which in range(2):
        ts = []
        for i in range(reps + 3):
            f = (lambda: torch.fft.rfft2(real)) if which == 0 else (lambda: torch.fft.irfft2(spec, s=grid))
            if device.type == "cuda":
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                e0.record()
                f()
                e1.record()
                e1.synchronize()
                t = e0.elapsed_time(e1) * 1e-3
            else:
                t, _ = timed(f, device)
            if i >= 3:
                ts.append(t)
        out.append(float(np.median(ts)))
    return out


def direct_same(a, k):
    """same(A ⊛ K) by direct sums (tiny problems only)."""
    ha, wa = a.shape
    kh, kw = k.shape
    full = np.zeros((ha + kh - 1, wa + kw - 1))
    for u in range(kh):
        for v in range(kw):
            full[u:u + ha, v:v + wa] += k[u, v] * a
    r0, c0 = (kh - 1) // 2, (kw - 1) // 2
    return full[r0:r0 + ha, c0:c0 + wa]


def check_operator(op, a, k, dtype):
    """H against direct sums and <Hk, r> = <k, Hᵀr>; returns the two relative errors."""
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    kt = torch.as_tensor(k, dtype=dtype, device=op.device)
    got = op.apply(kt).double().cpu().numpy()
    want = direct_same(a, k)
    e_h = np.linalg.norm(got - want) / np.linalg.norm(want)
    r = torch.as_tensor(np.random.default_rng(3).standard_normal(a.shape), dtype=dtype, device=op.device)
    lhs = float(torch.sum(op.apply(kt) * r))
    rhs = float(torch.sum(kt * op.adjoint(r)))
    e_adj = abs(lhs - rhs) / max(abs(lhs), 1e-300)
    if not (e_h <= tol and e_adj <= 10 * tol):
        sys.exit(f"torch_cgls: operator check failed: |H - direct| {e_h:.3g}, adjoint identity {e_adj:.3g} (tol {tol:g})")
    return e_h, e_adj


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="512,1024,2048,4096,8192")
    ap.add_argument("--precisions", default="single,double")
    ap.add_argument("--device", default="cuda", help="cuda or cpu")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--floor-reps", type=int, default=20)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--maxiter", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=math.inf, help="start no new case after S seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", help="folder of A_N.npy, B_N.npy (bench_gpu --save-data)")
    ap.add_argument("--grid-from", help="bench_gpu's JSON: use the FFT grid kernest used for each N")
    ap.add_argument("--check", action="store_true", help="check H against direct sums (tiny N only)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if torch is None:
        print("torch_cgls: skipped: PyTorch is not installed", file=sys.stderr)
        return 77
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("torch_cgls: no usable CUDA device for PyTorch", file=sys.stderr)
        return 1
    result = {"bench": "torch_cgls", "torch_version": torch.__version__, "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "iters": args.iters, "reps": args.reps, "tol": args.tol, "cases": []}

    def flush():
        if args.json:
            with open(args.json + ".tmp", "w") as f:
                json.dump(result, f, indent=1)
            os.replace(args.json + ".tmp", args.json)

    grids = {}
    if args.grid_from and os.path.exists(args.grid_from):
        with open(args.grid_from) as f:
            grids = {c["N"]: tuple(c["grid"]) for c in json.load(f).get("cases", []) if "grid" in c}
    start = time.perf_counter()
    failed = False
    for n in [int(s) for s in args.sizes.split(",")]:
        if time.perf_counter() - start > args.budget:
            result["cases"].append({"N": n, "skipped": f"the --budget of {args.budget:g} s was spent"})
            flush()
            continue
        pa = os.path.join(args.data, f"A_{n}.npy") if args.data else None
        if pa and os.path.exists(pa):
            a = np.load(pa)
            b = np.load(os.path.join(args.data, f"B_{n}.npy"))
            source, k_true = pa, None
        else:
            a, k_true = synth(n, args.seed)
            b = None
            source = "numpy"
        kh, kw = 2 * n - 1, 2 * n - 1
        grid = grids.get(n) or (smooth_size(n + kh - 1), smooth_size(n + kw - 1))
        for prec in args.precisions.split(","):
            dtype = {"single": torch.float32, "double": torch.float64}[prec]
            case = {"N": n, "precision": prec, "kernel": [kh, kw], "grid": list(grid), "data": source,
                    "grid_from": "kernest" if n in grids else "smooth size here"}
            try:
                op = Op(a, kh, kw, grid, dtype, device)
                if b is None:  # B = same(A ⊛ K) + noise, made in double on the same device
                    op64 = Op(a, kh, kw, grid, torch.float64, device)
                    b = (op64.apply(torch.as_tensor(k_true, dtype=torch.float64, device=device)).cpu().numpy()
                         + np.random.default_rng(args.seed + 1).standard_normal(a.shape))
                    del op64
                if args.check:
                    case["check_rel_err_H"], case["check_adjoint"] = check_operator(op, a, k_true if k_true is not None
                                                                                    else synth(n, 0)[1], dtype)
                bt = torch.as_tensor(b, dtype=dtype, device=device)
                r2c, c2r = floor_time(grid, dtype, device, args.floor_reps)
                cgls(op, bt, args.iters, 0.0)  # warm-up
                tf = [timed(lambda: cgls(op, bt, args.iters, 0.0), device)[0] for _ in range(args.reps)]
                ti = [timed(lambda: cgls(op, bt, 0, 0.0), device)[0] for _ in range(args.reps)]
                iter_s = (float(np.median(tf)) - float(np.median(ti))) / args.iters
                t_tol, (_, its, rel) = timed(lambda: cgls(op, bt, args.maxiter, args.tol), device)
                floor_iter = 2 * r2c + 2 * c2r
                case.update({"floor_r2c_s": r2c, "floor_c2r_s": c2r, "floor_iter_s": floor_iter,
                             "iter_s": iter_s, "ratio_iter_over_floor": iter_s / floor_iter,
                             "iterations_to_tol": its, "final_relative_residual": rel,
                             "stop_reason": "converged" if rel <= args.tol else "maxiter",
                             "time_to_tol_s": t_tol})
                print(f"torch_cgls: N = {n} {prec}: floor {1e3 * floor_iter:.3g} ms/iter, CGLS "
                      f"{1e3 * iter_s:.3g} ms/iter, {its} iterations to {args.tol:g} in {t_tol:.3g} s",
                      file=sys.stderr)
                del op, bt
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            except Exception as e:  # recorded, and the exit status says so
                case["error"] = f"{type(e).__name__}: {e}"
                print(f"torch_cgls: N = {n} {prec} FAILED: {case['error']}", file=sys.stderr)
                failed = True
            result["cases"].append(case)
            flush()
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
