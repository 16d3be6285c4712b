#!/usr/bin/env python3
"""auto_only.py — the automatic choice alone on bench/auto.py's cases, against the scan's best already in bench/results/auto.json.

For trying a change to the automatic choice (a candidate, the budget) without rerunning the
exhaustive scan: the same synthetic data as auto.py (same N, seed, kernels, noise), the default
`kernest estimate A.npy B.npy -o K.npy`, its held-out RMSE/σ on the test pair, and the ratio to
the scan's best test RMSE/σ of auto.json. Prints one line per case and the candidates' λ and
cross-validation scores; writes nothing but, with --reports, each case's report.
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
from auto import CASES, keep_report  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default="build/kernest")
    ap.add_argument("--results", default=os.path.join(HERE, "results", "auto.json"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reports", help="a folder to keep each case's report in (<case>.json; for trials)")
    ap.add_argument("cases", nargs="*", help="substrings of case names (default: all)")
    args = ap.parse_args()
    k = args.kernest
    with open(args.results) as f:
        res = json.load(f)
    best = {r["case"]: r["best_scan"] for r in res["rows"]}
    for name, spec, noise in CASES:
        if args.cases and not any(s in name for s in args.cases):
            continue
        with tempfile.TemporaryDirectory(prefix="kernest-auto-only-") as d:
            out = subprocess.run([k, "synth", "-o", d, "--n", str(res["n"]), "--seed", str(res["seed"]),
                                  "--pairs", "2", "--kernel", spec] + noise,
                                 capture_output=True, text=True, check=True).stdout
            sigma = float(noise[1])
            for line in out.splitlines():  # --noise-rel prints the sigma it used
                if "sigma" in line:
                    sigma = float(line.replace("=", " ").split("sigma")[1].split()[0].rstrip(","))
            t = time.time()
            subprocess.run([k, "estimate", f"{d}/A.npy", f"{d}/B.npy", "-o", f"{d}/K.npy", "--report",
                            f"{d}/r.json", "--device", "cpu", "--threads", str(args.threads), "-q"], check=True)
            t = time.time() - t
            keep_report(f"{d}/r.json", args.reports, name)
            with open(f"{d}/r.json") as f:
                r = json.load(f)["automatic"]
            o = subprocess.run([k, "score", f"{d}/A_test.npy", f"{d}/B_test.npy", f"{d}/K.npy", "--sigma",
                                repr(sigma)], capture_output=True, text=True, check=True).stdout
            s = float([l.split()[1] for l in o.splitlines() if l.startswith("rmse_over_sigma")][0])
            b = best[name]
            print(f"{name:32s} auto {r['chosen']:18s} {s:.4f}  scan best {b['candidate']:18s} "
                  f"{b['rmse_over_sigma_test']:.4f}  ratio {s / b['rmse_over_sigma_test']:.3f}  "
                  f"{r['solves']} solves, {r['iterations']} it, {r['ratio_to_final_applications']:.1f}x the final "
                  f"solve's applications, {t:.1f} s", flush=True)
            print("   ", ", ".join(f"{c['name']} λ {c['lambda']:.3g} cv {c['score']:.4g}" for c in r["candidates"]),
                  flush=True)


if __name__ == "__main__":
    main()
