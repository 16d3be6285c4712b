#!/usr/bin/env python3
"""mpi_scaling.py — the pairs-across-ranks solve for R = 1, 2, ... ranks, with the communication time split out.

Through the CLI only:
  1. `kernest synth --n N --pairs P` (binary A, 1/r kernel on (2N-1)^2, sigma 1);
  2. the same fixed-work solve (CGLS, --reg grad, --maxiter ITERS --tol 0, double, 1 thread per
     rank) in one process, then under `mpirun -np R` for every R asked for;
  3. from each report: the solve time per iteration, rank 0's time inside MPI calls (the sums
     over ranks: this includes waiting for the slowest rank) and its host staging time, and the
     largest difference from the one-process kernel.
Writes bench/results/mpi-<label>.json (machine, versions, the exact commands, every row).
Run it on a quiet machine: with fewer cores than ranks the numbers measure the scheduler.
"""
import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernest", default=os.path.join(ROOT, "build", "kernest"))
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--label", default="vm")
    ap.add_argument("--mpirun", default="mpirun")
    args = ap.parse_args()
    import numpy as np

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    rows, cmds = [], []
    load_before = open("/proc/loadavg").read().split()[:3]
    with tempfile.TemporaryDirectory() as tmp:
        def run(cmd):
            cmds.append(" ".join(shlex.quote(c) for c in cmd))
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)

        run([args.kernest, "synth", "--n", str(args.n), "--pairs", str(args.pairs), "--seed", "1",
             "-o", os.path.join(tmp, "d")])
        names = []
        for i in range(1, args.pairs + 1):
            sfx = "" if i == 1 else f"_{i}"
            names += [os.path.join(tmp, "d", f"A{sfx}.npy"), os.path.join(tmp, "d", f"B{sfx}.npy")]
        common = ["--reg", "grad", "--lambda", "100", "--maxiter", str(args.iters), "--tol", "0",
                  "--precision", "double", "--threads", "1", "-q"]
        ref = None
        for r in [int(x) for x in args.ranks.split(",")]:
            k = os.path.join(tmp, f"k{r}.npy")
            rep = os.path.join(tmp, f"r{r}.json")
            pre = [] if r == 1 else [args.mpirun, "-np", str(r)]
            run(pre + [args.kernest, "estimate"] + names + common + ["-o", k, "--report", rep])
            with open(rep) as f:
                j = json.load(f)
            K = np.load(k)
            if ref is None:
                ref = K
            t = j["time_seconds"]
            mpi = j.get("mpi", {})
            rows.append({
                "ranks": r, "iterations": j["solve"]["iterations"],
                "solve_s": t["solve"], "per_iteration_s": t["per_iteration"], "setup_s": t["setup"],
                "comm_s": mpi.get("comm_seconds", 0.0), "stage_s": mpi.get("stage_seconds", 0.0),
                "rel_diff_vs_one_process": float(np.abs(K - ref).max() / np.abs(ref).max()),
                "device": j["device"]["description"]})
            print(json.dumps(rows[-1]))
    out = {
        "benchmark": "mpi_scaling", "command": " ".join(shlex.quote(a) for a in sys.argv),
        "machine": {"uname": " ".join(platform.uname()), "cores": os.cpu_count(), "load_before": load_before,
                    "load_after": open("/proc/loadavg").read().split()[:3]},
        "problem": {"n": args.n, "pairs": args.pairs, "kernel": [2 * args.n - 1] * 2,
                    "iterations": args.iters, "reg": "grad", "lambda": 100},
        "commands": cmds, "rows": rows}
    path = os.path.join(HERE, "results", f"mpi-{args.label}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
    os.replace(path + ".tmp", path)
    print("wrote", path)


if __name__ == "__main__":
    main()
