#!/usr/bin/env python3
"""auto_cost.py — the cost of the default command (the automatic choice) against one solve of what it chose, on the original question's problem.

Through the CLI. Per N: `kernest synth --n N --seed 11` (binary A, 1/r kernel, σ = 1, and a fresh
test pair), then the default `kernest estimate A.npy B.npy -o K.npy --report r.json`, timed, with
the peak resident memory of the process (/usr/bin/time %M). From the report: the chosen candidate and
λ, the operator applications by phase (prepare, select, final) and their ratio to the final solve.
Then the same options solved once from zero (`--model M --reg R --lambda L`), the plain solve the
choice is measured against: its iterations (one H and one Hᵀ each) and wall time. Held-out
RMSE/σ on the test pair for both. Writes bench/results/auto-cost-<host>.json with the rows given
by --n (make_tables.py turns it into BENCHMARKS.md's table).
"""
import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from quality import write_result  # noqa: E402


def timed(cmd):
    """runs cmd under /usr/bin/time: its stdout, wall seconds and peak resident memory (KiB)"""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "PEAK_RSS_KIB %M"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"auto_cost.py: {shlex.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    peak = [int(l.split()[1]) for l in p.stderr.splitlines() if l.startswith("PEAK_RSS_KIB")]
    return p.stdout, wall, peak[-1] if peak else None


def held_out(k, d, kfile, sigma=1.0):
    out = subprocess.run([k, "score", f"{d}/A_test.npy", f"{d}/B_test.npy", kfile, "--sigma", repr(sigma)],
                         capture_output=True, text=True, check=True).stdout
    return float([l.split()[1] for l in out.splitlines() if l.startswith("rmse_over_sigma")][0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default="build/kernest")
    ap.add_argument("--n", type=int, nargs="+", default=[128, 256, 512, 1024])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-plain", action="store_true", help="skip the plain solve of the choice")
    ap.add_argument("--out", default=os.path.join(HERE, "results", f"auto-cost-{socket.gethostname()}.json"))
    args = ap.parse_args()
    k = args.kernest
    common = ["--device", "cpu", "--threads", str(args.threads), "-q"]
    rows = []
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="kernest-auto-cost-") as d:
            subprocess.run([k, "synth", "-o", d, "--n", str(n), "--seed", "11"], check=True, capture_output=True)
            _, wall, peak = timed([k, "estimate", f"{d}/A.npy", f"{d}/B.npy", "-o", f"{d}/K.npy",
                                   "--report", f"{d}/r.json"] + common)
            with open(f"{d}/r.json") as f:
                r = json.load(f)
            a, fin = r["automatic"], r["final"]
            row = {"n": n, "kernel": [2 * n - 1, 2 * n - 1], "wall_seconds": wall, "peak_rss_kib": peak,
                   "chosen": a["chosen"], "lambda": fin["lambda"], "rule": a["rule"], "solves": a["solves"],
                   "iterations": a["iterations"], "applications": a.get("applications"),
                   "phases": a.get("phases"), "ratio_to_final_applications": a.get("ratio_to_final_applications"),
                   "ratio_to_final_full_grid_equivalent": a.get("ratio_to_final_full_grid_equivalent"),
                   "ratio_to_final_seconds": a.get("ratio_to_final_seconds"), "window": a.get("window"),
                   "final_iterations": r["solve"]["iterations"], "final_stop": r["solve"]["stop_reason"],
                   "candidates": a["candidates"], "rmse_over_sigma_test": held_out(k, d, f"{d}/K.npy")}
            if not args.no_plain:  # one solve of the choice from zero, to the same (default) tolerance
                model = a["candidates"][[c["chosen"] for c in a["candidates"]].index(True)]["model"]
                if model in ("harmonic", "lowrank"):
                    model += ":2"
                opts = ["--model", model, "--reg", fin["reg"], "--lambda", repr(fin["lambda"])]
                if fin["nonneg"]:
                    opts.append("--nonneg")
                _, pwall, ppeak = timed([k, "estimate", f"{d}/A.npy", f"{d}/B.npy", "-o", f"{d}/Kp.npy",
                                         "--report", f"{d}/rp.json"] + opts + common)
                with open(f"{d}/rp.json") as f:
                    rp = json.load(f)
                it = rp["solve"]["iterations"]
                row["plain"] = {"options": opts, "iterations": it, "stop": rp["solve"]["stop_reason"],
                                "wall_seconds": pwall, "peak_rss_kib": ppeak,
                                "rmse_over_sigma_test": held_out(k, d, f"{d}/Kp.npy")}
                # CGLS: one H and one Hᵀ per iteration (the start's Hᵀ b and final H x aside)
                row["ratio_to_plain_applications"] = (row["applications"] or 0) / (2.0 * it) if it else None
                row["ratio_to_plain_seconds"] = wall / pwall
                w = (row["window"] or {}).get("grid_fraction")
                if it and w and row["phases"]:
                    ph = row["phases"]
                    eq = ph["prepare"]["applications"] + w * ph["select"]["applications"] + ph["final"]["applications"]
                    row["ratio_to_plain_full_grid_equivalent"] = eq / (2.0 * it)
            rows.append(row)
            print(f"N={n:5d} {wall:8.1f} s  {row['chosen']:20s} λ {row['lambda']:<9.3g} "
                  f"RMSE/σ {row['rmse_over_sigma_test']:.4f}  apps {row['applications']}  "
                  f"ratio(final) {row['ratio_to_final_applications']}  "
                  f"ratio(plain) {row.get('ratio_to_plain_applications')}", file=sys.stderr, flush=True)
    write_result(args.out, "auto_cost", {"problem": "kernest synth --n N --seed 11", "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
