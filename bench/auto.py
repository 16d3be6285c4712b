#!/usr/bin/env python3
"""auto.py — the automatic choice (kernest estimate with no options: --model auto --lambda auto, cv:5) against the best (model, λ) of an exhaustive scan, on synthetic cases.

Through the CLI only. Per case: `kernest synth --pairs 2` writes the fit pair (A, B), a validation
pair (A_2, B_2) and a test pair (A_test, B_test). The automatic estimate sees (A, B) alone. The scan
fits every model of the automatic choice (pixel+grad, pixel+nonneg+grad, radial+grad,
harmonic:2+grad, lowrank:2+grad: the table's two lowrank lines differ only in their start within the
choice) and, unless --no-extra, a model left out of its table (harmonic:4+grad) at
λ on decades 1e-3 … 1e4 and then the half decades either side of that candidate's best; the best
(model, λ) is the one with the lowest RMSE/σ on the validation pair. Both are quoted on the test pair
(held-out RMSE/σ, limit 1.0), with the automatic choice's cost (solver runs and iterations).
Writes bench/results/auto.json.
"""
import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from quality import write_result  # noqa: E402

CASES = [  # (name, synth kernel, noise option); the first five are the priors benchmark's
    ("original 1/r", "inv-r", ["--noise", "1"]),
    ("gaussian", "gaussian:4,2,30", ["--noise-rel", "0.02"]),
    ("line", "line:15,30", ["--noise-rel", "0.02"]),
    ("exp", "exp:6,3,30", ["--noise-rel", "0.02"]),
    ("power", "power:1.5", ["--noise-rel", "0.05"]),
    ("isotropic gaussian, 10 % noise", "gaussian:3", ["--noise-rel", "0.1"]),
    ("short line, 5 % noise", "line:9,0", ["--noise-rel", "0.05"]),
    ("isotropic exp, 2 % noise", "exp:3,3,0", ["--noise-rel", "0.02"]),
    ("anisotropic 1/r (harmonic:2)", "power:1,0.8,2,30", ["--noise", "1"]),
    ("gabor (rank 2), 5 % noise", "gabor:6,0.08,30", ["--noise-rel", "0.05"]),
]
CANDIDATES = [("pixel+grad", ["--model", "pixel", "--reg", "grad"]),
              ("pixel+nonneg+grad", ["--model", "pixel", "--reg", "grad", "--nonneg"]),
              ("radial+grad", ["--model", "radial", "--reg", "grad"]),
              ("harmonic:2+grad", ["--model", "harmonic:2", "--reg", "grad"]),
              ("lowrank:2+grad", ["--model", "lowrank:2", "--reg", "grad"])]
# the automatic choice's table (src/select/select_models.c)
AUTO_TABLE = [c for c, _ in CANDIDATES] + ["lowrank:2+grad@best"]
# scanned too (--no-extra leaves it out), though not in the automatic choice's table: the best
# of the whole scan may be it, and then the automatic choice is measured against it
EXTRA = [("harmonic:4+grad", ["--model", "harmonic:4", "--reg", "grad"])]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"auto.py: {shlex.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def keep_report(path, folder, name):
    """a copy of the report at path as folder/<name>.json (name's spaces and slashes as '-'), when folder is given"""
    if folder:
        os.makedirs(folder, exist_ok=True)
        shutil.copyfile(path, os.path.join(folder, name.replace("/", "-").replace(" ", "-") + ".json"))


def score(k, d, pair, kfile, sigma):
    a, b = {"val": ("A_2.npy", "B_2.npy"), "test": ("A_test.npy", "B_test.npy")}[pair]
    out = run([k, "score", os.path.join(d, a), os.path.join(d, b), kfile, "--sigma", repr(sigma)])
    return float([l.split()[1] for l in out.splitlines() if l.startswith("rmse_over_sigma")][0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default="build/kernest")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "auto.json"))
    ap.add_argument("--no-extra", action="store_true", help="scan the automatic choice's candidates only")
    args = ap.parse_args()
    root = os.path.dirname(HERE)
    if not os.path.exists(args.kernest) and os.path.exists(os.path.join(root, args.kernest)):
        args.kernest = os.path.join(root, args.kernest)
    k = args.kernest
    common = ["--device", "cpu", "--threads", str(args.threads), "-q"]
    rows = []
    for name, spec, noise in CASES:
        with tempfile.TemporaryDirectory(prefix="kernest-auto-") as d:
            out = run([k, "synth", "-o", d, "--n", str(args.n), "--seed", str(args.seed), "--pairs", "2",
                       "--kernel", spec] + noise)
            sigma = float(noise[1])
            for line in out.splitlines():  # --noise-rel prints the sigma it used
                if "sigma" in line:
                    sigma = float(line.replace("=", " ").split("sigma")[1].split()[0].rstrip(","))
            true_test = score(k, d, "test", os.path.join(d, "K_true.npy"), sigma)
            ka, rep = os.path.join(d, "K_auto.npy"), os.path.join(d, "auto.json")
            t0 = time.perf_counter()
            run([k, "estimate", os.path.join(d, "A.npy"), os.path.join(d, "B.npy"), "-o", ka, "--report", rep] + common)
            seconds = time.perf_counter() - t0
            with open(rep) as f:
                r = json.load(f)
            auto = {"chosen": r["automatic"]["chosen"], "lambda": r["final"]["lambda"],
                    "rule": r["automatic"]["rule"], "solves": r["automatic"]["solves"],
                    "iterations": r["automatic"]["iterations"], "seconds": seconds,
                    "candidates": r["automatic"]["candidates"],
                    "rmse_over_sigma_test": score(k, d, "test", ka, sigma)}
            scan = []

            def fit(cname, copt, lam):
                kf = os.path.join(d, "K_scan.npy")
                run([k, "estimate", os.path.join(d, "A.npy"), os.path.join(d, "B.npy"), "-o", kf,
                     "--lambda", repr(lam)] + copt + common)
                row = {"candidate": cname, "lambda": lam, "rmse_over_sigma_validation": score(k, d, "val", kf, sigma),
                       "rmse_over_sigma_test": score(k, d, "test", kf, sigma)}
                scan.append(row)
                return row

            for cname, copt in CANDIDATES + ([] if args.no_extra else EXTRA):
                rs = [fit(cname, copt, 10.0 ** e) for e in range(-3, 5)]
                b = min(rs, key=lambda x: x["rmse_over_sigma_validation"])["lambda"]
                for lam in (b / math.sqrt(10), b * math.sqrt(10)):
                    fit(cname, copt, float(f"{lam:.3g}"))
            best = min(scan, key=lambda x: x["rmse_over_sigma_validation"])
            row = {"case": name, "kernel": spec, "noise": " ".join(noise), "sigma": sigma,
                   "true_kernel_rmse_over_sigma_test": true_test, "auto": auto, "best_scan": best,
                   "ratio_auto_over_best": auto["rmse_over_sigma_test"] / best["rmse_over_sigma_test"],
                   "best_per_candidate": {c: min((x for x in scan if x["candidate"] == c),
                                                 key=lambda x: x["rmse_over_sigma_validation"])
                                          for c in dict.fromkeys(x["candidate"] for x in scan)},
                   "scan": scan}
            rows.append(row)
            print(f"{name:32s} auto {auto['chosen']:18s} λ {auto['lambda']:<9.3g} {auto['rmse_over_sigma_test']:.4f}"
                  f"  best {best['candidate']:18s} λ {best['lambda']:<9.3g} {best['rmse_over_sigma_test']:.4f}"
                  f"  ratio {row['ratio_auto_over_best']:.3f}  {auto['solves']} solves, {auto['iterations']} it",
                  file=sys.stderr, flush=True)
    write_result(args.out, "auto", {
        "n": args.n, "seed": args.seed,
        "selection": "best scan (model, λ) = lowest RMSE/σ on the validation pair; quoted numbers on the test pair",
        "scanned": [c for c, _ in CANDIDATES + ([] if args.no_extra else EXTRA)], "auto_table": AUTO_TABLE,
        "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
