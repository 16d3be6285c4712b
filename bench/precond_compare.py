#!/usr/bin/env python3
"""precond_compare.py — CGLS's preconditioners on one plain solve of the original question's problem.

Per N: `kernest synth --n N --seed 11` (binary A, 1/r kernel of (2N-1)^2, sigma = 1, and a fresh
test pair), then `kernest estimate A.npy B.npy -o K.npy --model M --reg grad --lambda L --precond P`
from zero at the default tolerance for each P, and the held-out RMSE/sigma of `kernest score` on
the test pair. Prints one row per (N, P): iterations, stop reason, the solve's and the whole
command's seconds (the preconditioner's construction is in the latter; medians over --repeat runs
taken in turn), peak RSS, held-out.
"""
import argparse
import json
import statistics
import subprocess
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default="build/kernest")
    ap.add_argument("--n", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--model", default="radial")
    ap.add_argument("--lambda", dest="lam", type=float, nargs="+", default=[8.0],
                    help="one per N, or one for all")
    ap.add_argument("--precond", nargs="+", default=["jacobi", "mean"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each command this many times, in turn, and report the median seconds")
    args = ap.parse_args()
    k = args.kernest
    print(f"# {args.model}+grad, --threads {args.threads}, median of {args.repeat}; "
          f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
    print("N     lambda   precond  iterations  stop        solve s  command s  peak GiB  held-out")
    for i, n in enumerate(args.n):
        lam = args.lam[i] if len(args.lam) > 1 else args.lam[0]
        with tempfile.TemporaryDirectory(prefix="kernest-precond-") as d:
            subprocess.run([k, "synth", "-o", d, "--n", str(n), "--seed", "11"], check=True, capture_output=True)
            times = {p: [] for p in args.precond}
            for _ in range(args.repeat):  # in turn, so that a slow spell of the machine hits all
                for p in args.precond:
                    t0 = time.time()
                    out = subprocess.run(["/usr/bin/time", "-f", "%M", k, "estimate", f"{d}/A.npy", f"{d}/B.npy",
                                          "-o", f"{d}/K-{p}.npy", "--model", args.model, "--reg", "grad",
                                          "--lambda", repr(lam), "--precond", p, "--device", "cpu", "--threads",
                                          str(args.threads), "-q", "--report", f"{d}/r-{p}.json"],
                                         check=True, capture_output=True, text=True)
                    wall = time.time() - t0
                    with open(f"{d}/r-{p}.json") as f:
                        solve = json.load(f)["time_seconds"]["solve"]
                    times[p].append((wall, solve, int(out.stderr.strip().splitlines()[-1]) / 2**20))
            for p in args.precond:
                with open(f"{d}/r-{p}.json") as f:
                    s = json.load(f)["solve"]
                sc = subprocess.run([k, "score", f"{d}/A_test.npy", f"{d}/B_test.npy", f"{d}/K-{p}.npy", "--sigma",
                                     "1"], check=True, capture_output=True, text=True).stdout
                held = float([ln for ln in sc.splitlines() if ln.startswith("rmse_over_sigma")][0].split()[1])
                wall = statistics.median(t[0] for t in times[p])
                solve = statistics.median(t[1] for t in times[p])
                peak = max(t[2] for t in times[p])
                print(f"{n:<5} {lam:<8.4g} {s.get('preconditioner', p):<8} {s['iterations']:<11} "
                      f"{s['stop_reason']:<11} {solve:<8.2f} {wall:<10.2f} {peak:<9.2f} {held:.5f}", flush=True)

if __name__ == "__main__":
    main()
