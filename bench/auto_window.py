#!/usr/bin/env python3
"""auto_window.py — the default command where the automatic choice runs on a window (issue 18): bench/auto.py's ten kernels at N = 256, a fractal and three binary inputs at N = 512, three fractal ones and a dense and a sparse binary one at N = 256, before and after a change.

bench/auto.py measures the automatic choice at N = 64, where it runs on all the data; from 190 px
a side it runs on B's central 64² window instead (README, "Large problems"), where capped fits and
the far field's error can mislead it. Each case is `kernest synth --n N --seed S --pairs 1 --kernel
SPEC NOISE` (the ten auto.py cases at N = 256, seed 1; `--n 512 --seed 3 --input fractal
--kernel moffat:2,1.5 --noise-rel 0.01`, a 1/f² texture as A, whose default ran past 15 minutes;
three more such textures at N = 256, `--noise-rel 0.01`, seeds 6, 9 and 8, with a compact
Gaussian (`gaussian:3`), an anisotropic exponential (`exp:4,2,20`) and a Moffat PSF
(`moffat:2,2`), where a pixel quick solve's far field misled the choice (the first two);
and three binary inputs at N = 512, seed 1, where the far field's quick solve stops at its cap,
and a binary A of density 0.5 at N = 256, seed 2, where FISTA on the window needed its metric,
and one of density 0.05 at N = 256, seed 2, whose quick solve's far field is noise),
the default `kernest estimate A.npy B.npy -o K.npy` (stopped by SIGTERM after --timeout seconds:
the report and the interrupted estimate are kept and marked), and its held-out RMSE/σ on the test
pair (`kernest score`). With --baseline the same for a second build ("before"). Per build: the
choice, λ, held-out RMSE/σ, seconds, applications by phase and the select phase in full-grid
applications over the final solve's, and the candidates the window's checks touched (finished:
capped FISTA fits scored again; held: scored on B's held windows) and the window's far field
(subtracted or not, README *White inputs*). Writes
bench/results/auto-window.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from auto import CASES, keep_report, run, score  # noqa: E402
from quality import write_result  # noqa: E402

# 1/f² textures as A: the first ran past 15 minutes; on the next two the far field of a pixel quick
# solve was hundreds of σ off and the default landed at 4.4-4.6σ (bench/results/far-field-textured.txt)
FRACTAL = ["--input", "fractal"]
TEXTURED = [("fractal A, moffat PSF", "moffat:2,1.5", ["--noise-rel", "0.01"], FRACTAL, 512, 3),
            ("fractal A, compact gaussian", "gaussian:3", ["--noise-rel", "0.01"], FRACTAL, 256, 6),
            ("fractal A, anisotropic exp", "exp:4,2,20", ["--noise-rel", "0.01"], FRACTAL, 256, 9),
            ("fractal A, moffat:2,2", "moffat:2,2", ["--noise-rel", "0.01"], FRACTAL, 256, 8)]
# binary A: three at N = 512 where the far field's quick solve stops at its cap (README, *White
# inputs*), and a dense one at N = 256
WHITE = [("binary A, moffat PSF", "moffat:1,1.5", ["--noise-rel", "0.01"], [], 512, 1),
         ("binary A, gaussian", "gaussian:4,2,30", ["--noise-rel", "0.02"], [], 512, 1),
         ("binary A, isotropic exp, 1 % noise", "exp:3,3,0", ["--noise-rel", "0.01"], [], 512, 1),
         # a dense binary A (half ones), where the window's non-negative FISTA fits stopped at their
         # cap far from converged before FISTA's rank-one metric (bench/results/fista-metric.txt)
         ("dense binary A (density 0.5), gaussian", "gaussian:4,2,30", ["--noise-rel", "0.01"],
          ["--density", "0.5"], 256, 2),
         # a sparse one (5 % ones, a pinhole-like target), whose quick solve converges to a far field
         # that fluctuates by 42 % of its mean (bench/results/far-field-fluctuation.txt)
         ("sparse binary A (density 0.05), moffat PSF", "moffat:1,1.5", ["--noise-rel", "0.01"],
          ["--density", "0.05"], 256, 2)]


def default(k, d, timeout, threads, reports=None, tag=""):
    """the default command on d's pair: its report's figures and the test pair's RMSE/σ"""
    kf, rf = os.path.join(d, "K.npy"), os.path.join(d, "r.json")
    for f in (kf, rf):
        if os.path.exists(f):
            os.remove(f)
    t = time.perf_counter()
    p = subprocess.run(["timeout", "-s", "TERM", str(timeout), k, "estimate", os.path.join(d, "A.npy"),
                        os.path.join(d, "B.npy"), "-o", kf, "--report", rf, "--device", "cpu", "--threads",
                        str(threads), "-q"], capture_output=True, text=True)
    secs = time.perf_counter() - t
    if not os.path.exists(rf) or not os.path.exists(kf):
        sys.exit(f"auto_window.py: {k} estimate in {d} failed ({p.returncode}):\n{p.stderr}")
    keep_report(rf, reports, tag)
    with open(rf) as f:
        r = json.load(f)
    a = r["automatic"]
    ph = a["phases"]
    cands = a["candidates"]
    return {"chosen": a["chosen"], "lambda": r["final"]["lambda"], "rule": a["rule"], "seconds": secs,
            "interrupted": p.returncode != 0 or r["solve"]["stop_reason"] == "interrupted",
            "applications": {n: ph[n]["applications"] for n in ("prepare", "select", "final")},
            "ratio_to_final_full_grid_equivalent": a.get("ratio_to_final_full_grid_equivalent"),
            "finished": [c["name"] for c in cands if c.get("finished")],
            "held": {c["name"]: c["held_score"] for c in cands if "held_score" in c},
            "far_field": a.get("window", {}).get("far_field")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default="build/kernest")
    ap.add_argument("--baseline", help="a second build to run on the same data (\"before\")")
    ap.add_argument("--baseline-commit", default="", help="the commit the baseline was built from (recorded)")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=600, help="seconds before SIGTERM stops a default command")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "auto-window.json"))
    ap.add_argument("--reports", help="a folder to keep each run's report in (<case> <build>.json; for trials)")
    ap.add_argument("cases", nargs="*", help="substrings of case names (default: all)")
    args = ap.parse_args()
    builds = [("after", args.kernest)] + ([("before", args.baseline)] if args.baseline else [])
    cases = [(name, spec, noise, [], args.n, 1) for name, spec, noise in CASES] + TEXTURED + WHITE
    rows = []
    for name, spec, noise, extra, n, seed in cases:
        if args.cases and not any(s in name for s in args.cases):
            continue
        with tempfile.TemporaryDirectory(prefix="kernest-auto-window-") as d:
            out = run([args.kernest, "synth", "-o", d, "--n", str(n), "--seed", str(seed), "--pairs", "1",
                       "--kernel", spec] + noise + extra)
            sigma = float(noise[1])
            if "noise sigma " in out:  # --noise-rel prints the sigma it used
                sigma = float(out.split("noise sigma ")[1].split()[0].rstrip(","))
            row = {"case": name, "kernel": spec, "noise": " ".join(noise + extra), "n": n, "seed": seed,
                   "sigma": sigma,
                   "true_kernel_rmse_over_sigma_test": score(args.kernest, d, "test", os.path.join(d, "K_true.npy"),
                                                             sigma)}
            for label, k in builds:
                res = default(k, d, args.timeout, args.threads, args.reports, f"{name} {label}")
                res["rmse_over_sigma_test"] = score(k, d, "test", os.path.join(d, "K.npy"), sigma)
                row[label] = res
                print(f"{name} (N = {n}) {label}: {res['chosen']} λ {res['lambda']:.3g} "
                      f"{res['rmse_over_sigma_test']:.4f} in {res['seconds']:.1f} s"
                      f"{' (interrupted)' if res['interrupted'] else ''}; finished {res['finished']}, "
                      f"held {sorted(res['held'])}", file=sys.stderr, flush=True)
            rows.append(row)
    write_result(args.out, "auto_window", {
        "rows": rows, "builds": {label: k for label, k in builds}, "baseline_commit": args.baseline_commit,
        "timeout_s": args.timeout,
        "threads": args.threads})


if __name__ == "__main__":
    main()
