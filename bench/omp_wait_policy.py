#!/usr/bin/env python3
"""omp_wait_policy.py — what OpenMP's wait policy costs kernest on an idle and on a shared machine.

For N = 256 (`kernest synth --n 256 --seed 11`, a 511² kernel on a 512² grid): the per-iteration
time of `kernest estimate A B -o K --fast --tol 0 --maxiter 30` (the report's
time_seconds.per_iteration) and the wall time of the default command (the automatic choice), with
OMP_WAIT_POLICY=active (libgomp's long spinning, what kernest ran with before), OMP_WAIT_POLICY=passive,
GOMP_SPINCOUNT=1000 (kernest's default now), and --threads 1; first on
the machine as it is, then with one extra busy process per --busy (a Python loop) competing for
the cores — what a shared node, a CI runner or a notebook with other work looks like. A default
command still running after 120 s is stopped and recorded so.
Writes bench/results/omp-wait-policy-LABEL.txt (the commands and every number).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 120  # seconds a default command may run before it is stopped (recorded as such)
ROOT = os.path.dirname(HERE)
POLICIES = [("active", {"OMP_WAIT_POLICY": "active"}, []), ("passive", {"OMP_WAIT_POLICY": "passive"}, []),
            ("GOMP_SPINCOUNT=1000", {"GOMP_SPINCOUNT": "1000"}, []),
            ("one thread", {"OMP_WAIT_POLICY": "passive"}, ["--threads", "1"])]


def run(k, d, env, extra, fast):
    rep = os.path.join(d, "r.json")
    cmd = [k, "estimate", f"{d}/A.npy", f"{d}/B.npy", "-o", f"{d}/K.npy", "--report", rep, "-q"] + extra
    if fast:
        cmd += ["--fast", "--tol", "0", "--maxiter", "30"]
    e = {x: v for x, v in os.environ.items() if x not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    e.update(env)
    t = time.perf_counter()
    try:
        subprocess.run(cmd, env=e, check=True, timeout=None if fast else LIMIT)
    except subprocess.TimeoutExpired:
        return None, None, " ".join(cmd).replace(d + "/", "DATA/")
    wall = time.perf_counter() - t
    with open(rep) as f:
        r = json.load(f)
    return wall, r["time_seconds"]["per_iteration"], " ".join(f"{x}={v}" for x, v in env.items()) + " " + \
        " ".join(cmd).replace(d + "/", "DATA/")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernest", default=os.path.join(ROOT, "build", "kernest"))
    ap.add_argument("--busy", type=int, default=1, help="busy processes in the loaded runs (default 1)")
    ap.add_argument("--label", default=platform.node())
    args = ap.parse_args()
    lines = [f"# python3 bench/omp_wait_policy.py {' '.join(sys.argv[1:])}",
             f"# {platform.node()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, "
             f"load average before {open('/proc/loadavg').read().split()[:3]}",
             "# columns: machine state, policy, per iteration of the --fast solve (ms), the default command's wall (s)"]
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([args.kernest, "synth", "-o", d, "--n", "256", "--seed", "11"], check=True,
                       stdout=subprocess.DEVNULL)
        run(args.kernest, d, {"OMP_WAIT_POLICY": "passive"}, [], True)  # plans made once (wisdom)
        for state in ("as it is", f"{args.busy} busy process{'es' if args.busy > 1 else ''}"):
            busy = [] if state == "as it is" else [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                                                   for _ in range(args.busy)]
            try:
                for name, env, extra in POLICIES:
                    _, per, cmd = run(args.kernest, d, env, extra, True)
                    wall, _, cmd2 = run(args.kernest, d, env, extra, False)
                    w = f"{wall:9.2f} s" if wall is not None else f"> {LIMIT} s (stopped)"
                    lines.append(f"{state:18s} {name:22s} {1e3 * per:9.2f} ms {w}")
                    lines.append(f"#   {cmd}\n#   {cmd2}")
                    print(lines[-2], flush=True)
            finally:
                for p in busy:
                    p.kill()
    path = os.path.join(HERE, "results", f"omp-wait-policy-{args.label}.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
