#!/usr/bin/env python3
"""quality.py — quality of kernest per prior and model: held-out RMSE/sigma and kernel error on the original example (N = 100, 1/r) and on synthetic compact, line, exponential and power-law kernels.

Through the CLI only (kernest synth, estimate --report, score --truth). For every case:
  1. `kernest synth --pairs 2`: the fit pair A.npy/B.npy, a validation pair A_2/B_2 that is never
     fitted, a fresh test pair A_test/B_test and K_true (full (2N-1)^2 kernel);
  2. every prior of the case is fitted on (A, B) alone, over its lambda scan when it has one, and
     scored on both fresh pairs;
  3. a prior's best lambda is the one with the lowest RMSE/sigma on the validation pair; the numbers
     quoted for it are on the test pair, which took no part in the choice.
Writes bench/results/quality.json (machine, versions, the exact commands, every row, the best per
prior, the true kernel's own score: the physical limit, 1.0 up to sampling, and the targets).
"""
import argparse
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name, synth arguments, [(prior label, estimate arguments, lambda scan or None)], targets
# targets: (prior label, bound on the test RMSE/sigma, the wording)
ORIGINAL = ("original", ["--n", "100", "--noise", "1.0"], [
    ("none", ["--reg", "none"], None),
    ("ridge", ["--reg", "ridge"], "1e-1,1,10,100,1e3"),
    ("grad", ["--reg", "grad"], "1e-1,1,10,100,1e3"),
    ("radial", ["--model", "radial"], None),
    ("radial+grad", ["--model", "radial", "--reg", "grad"], "10,1e3"),
    ("harmonic:2+grad", ["--model", "harmonic:2", "--reg", "grad"], "10,1e3"),
    ("lowrank:2", ["--model", "lowrank:2", "--maxiter", "40", "--outer-maxiter", "5"], None),
    ("nonneg", ["--nonneg"], None),
], [("radial", 1.04, "original example with --model radial <= 1.04")])

CASES = [
    ("gaussian", ["--n", "100", "--kernel", "gaussian:6,2,30", "--noise-rel", "0.02"], [
        ("grad", ["--reg", "grad"], "1,100"),
        ("nonneg", ["--nonneg", "--maxiter", "1500"], None),
        ("nonneg+disk:25", ["--nonneg", "--support", "disk:25"], None),
        ("harmonic:4+disk:25", ["--model", "harmonic:4", "--support", "disk:25"], None),
        ("lowrank:2+nonneg", ["--model", "lowrank:2", "--nonneg", "--maxiter", "40", "--outer-maxiter", "5"], None),
    ], [("nonneg", 1.3, "compact Gaussian with --nonneg <= 1.3")]),
    ("line", ["--n", "100", "--kernel", "line:21,30", "--noise-rel", "0.02"], [
        ("grad", ["--reg", "grad"], "1,100"),
        ("nonneg", ["--nonneg", "--maxiter", "1500"], None),
        ("nonneg+disk:15", ["--nonneg", "--support", "disk:15"], None),
        ("lowrank:2+nonneg", ["--model", "lowrank:2", "--nonneg", "--maxiter", "40", "--outer-maxiter", "5"], None),
    ], [("nonneg", 1.1, "motion line with --nonneg <= 1.1")]),
    ("exp", ["--n", "100", "--kernel", "exp:8,3,30", "--noise-rel", "0.02"], [
        ("grad", ["--reg", "grad"], "1,100"),
        ("nonneg", ["--nonneg"], None),
        ("nonneg+disk:40", ["--nonneg", "--support", "disk:40"], None),
        ("radial+disk:40", ["--model", "radial", "--support", "disk:40"], None),
        ("harmonic:4+disk:40", ["--model", "harmonic:4", "--support", "disk:40"], None),
        ("harmonic:6+disk:40", ["--model", "harmonic:6", "--support", "disk:40"], None),
    ], [("*", 2.0, "anisotropic exponential <= 2.0 with the best prior")]),
    ("power", ["--n", "100", "--kernel", "power:1.5", "--noise-rel", "0.02"], [
        ("grad", ["--reg", "grad"], "1,100"),
        ("nonneg", ["--nonneg"], None),
        ("radial", ["--model", "radial"], None),
        ("harmonic:2+grad", ["--model", "harmonic:2", "--reg", "grad"], "10,1e3"),
    ], []),
]


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


def write_result(path, bench, fields):
    """Writes a benchmark's result file whole: its fields between the machine, commit and command
    it came from and the date."""
    result = {"bench": bench, "machine": machine(), "git_commit": git("rev-parse", "HEAD"),
              "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
              "command": shlex.join(["python3"] + sys.argv), **fields,
              "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


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


def fit_and_score(args, d, sigma, label, extra, lam):
    tag = re.sub(r"[^A-Za-z0-9]+", "_", label) + ("" if lam is None else f"_{lam:g}")
    k = os.path.join(d, f"K_{tag}.npy")
    rep = os.path.join(d, f"report_{tag}.json")
    cmd = [args.kernest, "estimate", os.path.join(d, "A.npy"), os.path.join(d, "B.npy"), "-o", k,
           "--tol", repr(args.tol), "--maxiter", str(args.maxiter), "--device", args.device, "-q",
           "--report", rep] + extra
    if lam is not None:
        cmd += ["--lambda", repr(lam)]
    run(cmd)
    with open(rep) as f:
        r = json.load(f)
    val = score(args.kernest, d, "A_2.npy", "B_2.npy", k, sigma)
    test = score(args.kernest, d, "A_test.npy", "B_test.npy", k, sigma)
    row = {"prior": label, "arguments": shlex.join(extra), "lambda": lam,
           "rmse_over_sigma_validation": val["rmse_over_sigma"],
           "rmse_over_sigma_test": test["rmse_over_sigma"],
           "kernel_rel_error": test["kernel_rel_error"],
           "kernel_rel_error_central": test["kernel_rel_error_central"],
           "fit_rms": r["pairs"][0]["rms"], "solver": r["solve"]["solver"],
           "iterations": r["solve"]["iterations"], "stop_reason": r["solve"]["stop_reason"],
           "relative_residual": r["solve"]["relative_residual"],
           "device": r["device"]["description"]}
    als = r.get("model", {}).get("als")
    if als:
        row["als_sweeps"] = als["sweeps"]
        row["als_stop_reason"] = als["stop_reason"]
        row["als_relative_change"] = als["relative_change"]
    print(f"  {label:20s} lambda {'-' if lam is None else f'{lam:g}':6s} held-out RMSE/sigma "
          f"{row['rmse_over_sigma_test']:.4f} (validation {row['rmse_over_sigma_validation']:.4f})  "
          f"kernel error {row['kernel_rel_error']:.4f}  {row['iterations']} it, {row['stop_reason']}"
          + (f", {als['sweeps']} ALS sweeps ({als['stop_reason']})" if als else ""), file=sys.stderr)
    return row


def run_case(args, name, synth_args, priors, targets, old=None):
    """Runs the case's priors (only those in args.only, when given, keeping old's other rows)."""
    with tempfile.TemporaryDirectory(prefix="kernest-quality-") as d:
        synth_cmd = [args.kernest, "synth", "-o", d, "--seed", str(args.seed), "--pairs", "2"] + synth_args
        out = run(synth_cmd)
        m = re.search(r"noise sigma ([0-9.eE+-]+)", out)
        sigma = float(m.group(1)) if m else 1.0
        truth = score(args.kernest, d, "A_test.npy", "B_test.npy", os.path.join(d, "K_true.npy"), sigma)
        print(f"{name}: sigma {sigma:g}; true kernel held-out RMSE/sigma {truth['rmse_over_sigma']:.4f}",
              file=sys.stderr)
        rows, best = [], {}
        for label, extra, scan in priors:
            if args.only and label not in args.only and old:
                pr = [r for r in old["rows"] if r["prior"] == label]
            else:
                lams = [None] if scan is None else [float(x) for x in scan.split(",")]
                pr = [fit_and_score(args, d, sigma, label, extra, lam) for lam in lams]
            rows += pr
            if pr:
                best[label] = min(pr, key=lambda r: r["rmse_over_sigma_validation"])
    res = []
    for label, bound, text in targets:
        cands = list(best.values()) if label == "*" else [best[label]]
        b = min(cands, key=lambda r: r["rmse_over_sigma_validation"])
        res.append({"text": text, "prior": b["prior"], "bound": bound,
                    "rmse_over_sigma_test": b["rmse_over_sigma_test"],
                    "met": b["rmse_over_sigma_test"] <= bound})
    return {"name": name, "synth_command": shlex.join(["kernest", "synth", "-o", "DIR"] + synth_cmd[4:]),
            "command": shlex.join(["python3"] + sys.argv),
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sigma": sigma, "true_kernel_rmse_over_sigma_test": truth["rmse_over_sigma"],
            "rows": rows, "best": best, "targets": res}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default="build/kernest", help="the kernest CLI (default build/kernest)")
    ap.add_argument("--seed", type=int, default=1, help="synth seed (default 1)")
    ap.add_argument("--tol", type=float, default=1e-5, help="estimate --tol (default 1e-5)")
    ap.add_argument("--maxiter", type=int, default=300,
                    help="estimate --maxiter (default 300; lowrank rows set their own per half-step)")
    ap.add_argument("--device", default="cpu", help="estimate --device (default cpu)")
    ap.add_argument("--cases", default="original,gaussian,line,exp,power",
                    help="comma-separated cases to run (default all)")
    ap.add_argument("--only", default="",
                    help="comma-separated prior labels to rerun; the case's other rows are kept from --out")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "quality.json"),
                    help="result file (default bench/results/quality.json)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(args.kernest) and os.path.exists(os.path.join(root, args.kernest)):
        args.kernest = os.path.join(root, args.kernest)  # relative to the repository root
    version = run([args.kernest, "--version"]).split()[-1]
    # the source the run starts from (commits made while it runs must not be credited to it)
    commit, dirty = git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    wanted = args.cases.split(",")
    args.only = [x for x in args.only.split(",") if x]
    previous, earlier = {}, []
    if os.path.exists(args.out):
        with open(args.out) as f:
            old = json.load(f)
        previous = {c["name"]: c for c in old.get("cases", [])}
        if args.only:  # the runs whose rows are kept
            earlier = old.get("earlier_commands", []) + [{k: old.get(k) for k in ("command", "git_commit", "date_utc")}]
    cases = []
    for c in [ORIGINAL] + CASES:
        if c[0] in wanted:
            cases.append(run_case(args, *c, old=previous.get(c[0])))
        elif args.only and c[0] in previous:  # a partial rerun keeps the other cases
            cases.append(previous[c[0]])
    result = {
        "bench": "quality",
        "machine": machine(),
        "kernest_version": version,
        "git_commit": commit,
        "git_dirty": dirty,
        "command": shlex.join(["python3"] + sys.argv),
        "selection": "best lambda per prior = lowest RMSE/sigma on the validation pair; "
                     "quoted numbers are on the test pair",
        "estimate_options": {"tol": args.tol, "maxiter": args.maxiter, "device": args.device},
        "seed": args.seed,
        "cases": cases,
        "earlier_commands": earlier,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)
    for c in cases:
        for label, r in c["best"].items():
            print(f"{c['name']:9s} best {label:20s} held-out RMSE/sigma {r['rmse_over_sigma_test']:.4f}  "
                  f"kernel error {r['kernel_rel_error']:.4f}")
        for t in c["targets"]:
            print(f"target {t['text']}: {t['prior']} {t['rmse_over_sigma_test']:.4f} "
                  f"({'met' if t['met'] else 'not met'})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
