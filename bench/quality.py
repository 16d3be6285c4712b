#!/usr/bin/env python3
"""quality.py — quality of kernest on the original example (N = 100): held-out RMSE/sigma and kernel error per --reg at its best lambda.

Through the CLI only (kernest synth, estimate --report, score --truth):
  1. `kernest synth --n 100 --seed S --pairs 2`: the fit pair A.npy/B.npy (the same as with
     --pairs 1: it is drawn first), a validation pair A_2/B_2 that is never fitted, a fresh test
     pair A_test/B_test and K_true (1/r on 199x199, noise sigma = 1);
  2. for reg none (lambda 0) and for ridge and grad over a log scan of lambda (decades, then the
     half decades either side of the best), fit K on (A, B) alone and score it on both fresh pairs;
  3. each reg's best lambda is the one with the lowest RMSE/sigma on the validation pair; the
     numbers quoted for it are on the test pair, which took no part in the choice.
Writes bench/results/quality.json (machine, versions, the exact command, every row, the best per
reg, and the true kernel's own score: the physical limit, 1.0 up to sampling).
"""
import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    u = platform.uname()
    return {"hostname": u.node, "uname": " ".join([u.system, u.release, u.version, u.machine]),
            "cpu_model": cpu, "cores": os.cpu_count()}


def git(*args):
    p = subprocess.run(["git", "-C", HERE] + list(args), capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else ""


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"quality.py: {shlex.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def score(kernest, d, a, b, k, sigma):
    out = run([kernest, "score", os.path.join(d, a), os.path.join(d, b), k,
               "--sigma", repr(sigma), "--truth", os.path.join(d, "K_true.npy")])
    vals = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            vals[parts[0]] = float(parts[1])
    return vals


def fit_and_score(args, d, reg, lam):
    k = os.path.join(d, f"K_{reg}_{lam:g}.npy")
    rep = os.path.join(d, f"report_{reg}_{lam:g}.json")
    cmd = [args.kernest, "estimate", os.path.join(d, "A.npy"), os.path.join(d, "B.npy"), "-o", k,
           "--reg", reg, "--lambda", repr(lam), "--tol", repr(args.tol),
           "--maxiter", str(args.maxiter), "--device", args.device, "-q", "--report", rep]
    t0 = time.perf_counter()
    run(cmd)
    wall = time.perf_counter() - t0
    with open(rep) as f:
        r = json.load(f)
    val = score(args.kernest, d, "A_2.npy", "B_2.npy", k, args.sigma)
    test = score(args.kernest, d, "A_test.npy", "B_test.npy", k, args.sigma)
    row = {"reg": reg, "lambda": lam,
           "rmse_over_sigma_validation": val["rmse_over_sigma"],
           "rmse_over_sigma_test": test["rmse_over_sigma"],
           "kernel_rel_error": test["kernel_rel_error"],
           "kernel_rel_error_central": test["kernel_rel_error_central"],
           "fit_rms": r["pairs"][0]["rms"],
           "iterations": r["solve"]["iterations"], "stop_reason": r["solve"]["stop_reason"],
           "relative_residual": r["solve"]["relative_residual"],
           "solve_s": r["time_seconds"]["solve"], "wall_s": wall,
           "device": r["device"]["description"]}
    print(f"  {reg:5s} lambda {lam:<8g} held-out RMSE/sigma {row['rmse_over_sigma_test']:.4f} "
          f"(validation {row['rmse_over_sigma_validation']:.4f})  kernel error "
          f"{row['kernel_rel_error']:.4f} (central {row['kernel_rel_error_central']:.4f})  "
          f"{row['iterations']} it, {row['stop_reason']}", file=sys.stderr)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default="build/kernest", help="the kernest CLI (default build/kernest)")
    ap.add_argument("--n", type=int, default=100, help="A is NxN (default 100, the original example)")
    ap.add_argument("--seed", type=int, default=1, help="synth seed (default 1)")
    ap.add_argument("--lambdas", default="1e-2,1e-1,1,10,100,1e3,1e4",
                    help="comma-separated scan of lambda for ridge and grad (default decades 1e-2..1e4)")
    ap.add_argument("--no-refine", action="store_true",
                    help="do not add the half decades either side of the best lambda")
    ap.add_argument("--tol", type=float, default=1e-6, help="estimate --tol (default 1e-6)")
    ap.add_argument("--maxiter", type=int, default=500, help="estimate --maxiter (default 500)")
    ap.add_argument("--device", default="cpu", help="estimate --device (default cpu)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "quality.json"),
                    help="result file (default bench/results/quality.json)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(args.kernest) and os.path.exists(os.path.join(root, args.kernest)):
        args.kernest = os.path.join(root, args.kernest)  # relative to the repository root
    args.sigma = 1.0  # kernest synth's default noise
    lambdas = [float(x) for x in args.lambdas.split(",")]
    version = run([args.kernest, "--version"]).split()[-1]

    rows, best = [], {}
    with tempfile.TemporaryDirectory(prefix="kernest-quality-") as d:
        synth_cmd = [args.kernest, "synth", "-o", d, "--n", str(args.n), "--seed", str(args.seed),
                     "--pairs", "2", "--noise", repr(args.sigma)]
        run(synth_cmd)
        truth_test = score(args.kernest, d, "A_test.npy", "B_test.npy",
                           os.path.join(d, "K_true.npy"), args.sigma)
        truth_val = score(args.kernest, d, "A_2.npy", "B_2.npy",
                          os.path.join(d, "K_true.npy"), args.sigma)
        print(f"true kernel: held-out RMSE/sigma {truth_test['rmse_over_sigma']:.4f} (the limit)",
              file=sys.stderr)
        for reg in ("none", "ridge", "grad"):
            reg_rows = []
            scan = [0.0] if reg == "none" else list(lambdas)
            for lam in scan:
                reg_rows.append(fit_and_score(args, d, reg, lam))
            if reg != "none" and not args.no_refine:
                b = min(reg_rows, key=lambda r: r["rmse_over_sigma_validation"])["lambda"]
                for lam in (b / math.sqrt(10), b * math.sqrt(10)):
                    lam = float(f"{lam:.3g}")
                    if all(abs(lam - r["lambda"]) > 1e-12 * lam for r in reg_rows):
                        reg_rows.append(fit_and_score(args, d, reg, lam))
            reg_rows.sort(key=lambda r: r["lambda"])
            rows += reg_rows
            best[reg] = min(reg_rows, key=lambda r: r["rmse_over_sigma_validation"])

    result = {
        "bench": "quality",
        "machine": machine(),
        "kernest_version": version,
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "command": shlex.join(["python3"] + sys.argv),
        "synth_command": shlex.join(["kernest"] + synth_cmd[1:3] + ["DIR"] + synth_cmd[4:]),
        "problem": {"n": args.n, "kernel": [2 * args.n - 1, 2 * args.n - 1], "kernel_spec": "inv-r",
                    "density": 0.2, "sigma": args.sigma, "seed": args.seed,
                    "fit_pair": "A.npy/B.npy", "validation_pair": "A_2.npy/B_2.npy",
                    "test_pair": "A_test.npy/B_test.npy"},
        "selection": "best lambda per reg = lowest RMSE/sigma on the validation pair; "
                     "quoted numbers are on the test pair",
        "estimate_options": {"tol": args.tol, "maxiter": args.maxiter, "device": args.device},
        "true_kernel": {"rmse_over_sigma_test": truth_test["rmse_over_sigma"],
                        "rmse_over_sigma_validation": truth_val["rmse_over_sigma"]},
        "rows": rows,
        "best": best,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    for reg, r in best.items():
        print(f"best {reg:5s} lambda {r['lambda']:<8g} held-out RMSE/sigma "
              f"{r['rmse_over_sigma_test']:.4f}  kernel error {r['kernel_rel_error']:.4f} "
              f"(central {r['kernel_rel_error_central']:.4f})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
