#!/usr/bin/env python3
"""channels.py — what batching the channels saves: the cost of one iteration of a C_in -> C_out channel solve against C_out x C_in single-kernel solves of the same grids.

Through the CLI and its reports only. For every case (C_in, C_out, N, kernel size):
  1. data written with NumPy (seeded): A of shape (C_in, N, N) and B of shape (C_out, N, N),
     standard normal (the cost of an iteration does not depend on the values: the same FFTs and
     vector operations run whatever the data), and each channel as its own 2-D file;
  2. the memory estimate: a probe `kernest estimate ... --maxiter 0` gives the report's
     solve.bytes_needed (the library computes it before allocating, and itself refuses a solve
     larger than the free memory: that refusal's byte count is taken from its message). A case
     whose estimate exceeds the limit (--mem-limit-gib, default this machine's RAM) is not run and
     is recorded as skipped with the number. The probe also makes the FFTW plans (a fresh wisdom
     folder for the whole run), so the timed runs' set-up is planning-from-wisdom plus the FFTs of A;
  3. the channel solve, --reps times: `kernest estimate A.npy B.npy -o K.npy --ksize KxK --fast
     --reg ridge --lambda L --tol 0 --maxiter ITERS --precision P --threads T [--device cuda]`;
     per iteration = the report's time_seconds.per_iteration (solve time / iterations; the median
     over the reps is quoted), set-up = time_seconds.setup, the process's peak RSS (GNU time);
  4. THE BASELINE. Without channel support one cannot even pose B[o] = sum_i A[i] * K[o,i] as
     separate single-kernel problems (every output channel mixes all inputs), so no sequence of
     single-kernel solves gives the same answer. What is compared is the cost of the same amount
     of convolution work done unbatched: one iteration of the channel solve applies the C_out x C_in
     kernels once forward and once adjoint; unbatched, that is C_out x C_in single-kernel operator
     applications, i.e. one iteration of each of the C_out x C_in single-pair, single-kernel solves
     `kernest estimate A_i.npy B_o.npy --ksize KxK` (same grid, kernel size, mode, options, threads,
     precision, device, iteration count) for every (o, i). The baseline per iteration is the SUM
     of those solves' per-iteration times (with --single-runs R < C_out x C_in: R of the pairs, in
     order, and their mean times C_out x C_in, recorded as scaled). Its set-up is the sum of their
     set-ups (each recomputes FFT(A_i), which the channel solve does once). The single solves run
     one after another with the same thread count (not several at once on separate cores).
     saving = baseline per iteration / channel per iteration.
Writes bench/results/channels-<label>.json (machine, versions, the exact commands, every raw row,
the baseline's definition) atomically. Run it on a quiet machine: timings on a loaded one are
meaningless.

Default cases (--cases, CINxCOUT:N:K[:S] with K = full for (2N-1)^2 kernels and S samples, default 1;
the issue 22 case, a 64 -> 64 layer of 3x3 kernels on 32 samples of 64^2, is 64x64:64:3:32 — run it
with --single-runs 16, its baseline being 4096 single-kernel solves):
  3x2:256:full, 3x2:1024:full     the issue's 3 -> 2 layer with the full kernels kernest is for;
  16x16:256:31, 16x16:1024:31     a small conv layer: 256 kernels of 31x31 (a layer's kernels are
                                  small, 3x3 .. 31x31; 31x31 is the receptive field of a few stacked
                                  layers, the size one identifies a layer's response over; 256 full
                                  (2N-1)^2 kernels at N = 1024 would be 1.07e9 unknowns: the library's
                                  estimate is 43.9 GiB in double, above a 24 GiB machine; add
                                  16x16:256:full, 2.7 GiB, to see full kernels on 256 channels).
The reports' bytes_needed of the defaults (double, CPU): 3x2:256:full 0.11 GiB, 3x2:1024:full
1.76 GiB (so the 3 -> 2 layer runs with full kernels at N = 1024), 16x16:256:31 0.06 GiB,
16x16:1024:31 0.82 GiB.
"""
import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIME = os.access("/usr/bin/time", os.X_OK)  # GNU time, for the peak RSS of each run
DEFAULT_CASES = "3x2:256:full,3x2:1024:full,16x16:256:31,16x16:1024:31"


def machine():
    cpu, mem = "", None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    u = platform.uname()
    return {"hostname": u.node, "uname": " ".join([u.system, u.release, u.version, u.machine]),
            "cpu_model": cpu, "cores": os.cpu_count(), "ram_bytes": mem,
            "load_average": " ".join(open("/proc/loadavg").read().split()[:3])
            if os.path.exists("/proc/loadavg") else None}


def git(*args):
    p = subprocess.run(["git", "-C", HERE] + list(args), capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else ""


def parse_case(s):
    m = re.fullmatch(r"(\d+)x(\d+):(\d+):(full|\d+)(?::(\d+))?", s.strip())
    if not m:
        sys.exit(f"channels.py: --cases: expected CINxCOUT:N:K[:S] (K an integer or 'full', S samples), got '{s}'")
    cin, cout, n = int(m.group(1)), int(m.group(2)), int(m.group(3))
    k = 2 * n - 1 if m.group(4) == "full" else int(m.group(4))
    samples = int(m.group(5)) if m.group(5) else 1
    if min(cin, cout, n, k, samples) < 1 or k > 2 * n - 1:
        sys.exit(f"channels.py: --cases: '{s}': counts must be >= 1 and the kernel 1..2N-1")
    return {"name": s.strip(), "c_in": cin, "c_out": cout, "n": n, "k": k, "full": m.group(4) == "full",
            "samples": samples}


class Runner:
    def __init__(self, env):
        self.env = env
        self.commands = []
        self.data = None  # the case's data folder, written DATA in the recorded commands

    def run(self, cmd, record=True):
        """Runs cmd; returns (exit code, stderr, peak RSS in bytes of that process or None).

        The peak RSS comes from GNU time (/usr/bin/time -f %M): the rusage of a child of this
        Python process would include this process's own size (Linux keeps the larger high-water
        mark across fork and exec), so a small launcher is put in between."""
        if record:
            c = shlex.join(cmd)
            self.commands.append(c.replace(self.data + os.sep, "DATA/") if self.data else c)
        with tempfile.TemporaryDirectory() as t:
            rss_file = os.path.join(t, "rss")
            pre = ["/usr/bin/time", "-f", "%M", "-o", rss_file] if TIME else []
            with open(os.path.join(t, "err"), "w+b") as err:
                rc = subprocess.run(pre + cmd, stdout=subprocess.DEVNULL, stderr=err, env=self.env).returncode
                err.seek(0)
                text = err.read().decode(errors="replace")
            rss = None
            if TIME and os.path.exists(rss_file):
                lines = open(rss_file).read().split()
                rss = int(lines[-1]) * 1024 if lines and lines[-1].isdigit() else None  # KiB
        return rc, text, rss


def estimate_cmd(args, a, b, k, out, rep, maxiter, nchw=False):
    cmd = [args.kernest, "estimate", a, b, "-o", out, "--report", rep, "--ksize", f"{k}x{k}", "--fast",
           "--reg", "ridge", "--lambda", repr(args.lam), "--tol", "0", "--maxiter", str(maxiter),
           "--precision", args.precision, "--threads", str(args.threads), "-q"]
    if args.gpu:
        cmd += ["--device", "cuda"]
    if nchw:  # a single channel's samples, S x H x W
        cmd += ["--layout", "nchw"]
    return cmd


def timed(runner, cmd, rep):
    t0 = time.perf_counter()
    rc, err, rss = runner.run(cmd)
    wall = time.perf_counter() - t0
    if rc != 0:
        sys.exit(f"channels.py: {shlex.join(cmd)} failed ({rc}):\n{err}")
    with open(rep) as f:
        j = json.load(f)
    t = j["time_seconds"]
    return {"per_iteration_s": t["per_iteration"], "setup_s": t["setup"], "solve_s": t["solve"],
            "report_wall_s": t["wall"], "process_wall_s": wall, "peak_rss_bytes": rss,
            "iterations": j["solve"]["iterations"], "stop_reason": j["solve"]["stop_reason"],
            "bytes_needed": j["solve"]["bytes_needed"], "fft_grid": j["solve"]["fft_grid"],
            "device": j["device"]["description"], "backend": j["device"]["backend"]}


def probe(runner, args, a, b, k, d, tag, nchw=False):
    """The report's bytes_needed from a --maxiter 0 run, or the library's refusal with its count."""
    rep = os.path.join(d, f"probe_{tag}.json")
    cmd = estimate_cmd(args, a, b, k, os.path.join(d, f"probe_{tag}.npy"), rep, 0, nchw)
    rc, err, rss = runner.run(cmd)
    if rc == 0:
        with open(rep) as f:
            j = json.load(f)
        return {"bytes_needed": j["solve"]["bytes_needed"], "refused": None, "peak_rss_bytes": rss,
                "fft_grid": j["solve"]["fft_grid"]}
    m = re.search(r"\((\d+) bytes\)", err)
    if m:  # the library's own memory check (before any allocation)
        return {"bytes_needed": int(m.group(1)), "refused": err.strip().splitlines()[-1], "peak_rss_bytes": rss}
    sys.exit(f"channels.py: {shlex.join(cmd)} failed ({rc}):\n{err}")


def run_case(runner, args, c, limit):
    import numpy as np

    cin, cout, n, k, S = c["c_in"], c["c_out"], c["n"], c["k"], c["samples"]
    row = dict(c, kernel=[k, k], mode="same", iterations_asked=args.iters)
    nchw = S > 1  # the single-kernel solves read S x H x W files
    with tempfile.TemporaryDirectory(prefix="kernest-channels-", dir=args.tmpdir) as d:
        runner.data = d
        rng = np.random.default_rng(args.seed)
        A = rng.standard_normal((S, cin, n, n) if S > 1 else (cin, n, n))
        B = rng.standard_normal((S, cout, n, n) if S > 1 else (cout, n, n))
        a, b = os.path.join(d, "A.npy"), os.path.join(d, "B.npy")
        np.save(a, A)
        np.save(b, B)
        for i in range(cin):
            np.save(os.path.join(d, f"A_{i}.npy"), A[:, i] if S > 1 else A[i])
        for o in range(cout):
            np.save(os.path.join(d, f"B_{o}.npy"), B[:, o] if S > 1 else B[o])
        del A, B
        pr = probe(runner, args, a, b, k, d, "channels")
        row["bytes_needed"] = pr["bytes_needed"]
        if pr["refused"] or pr["bytes_needed"] > limit:
            why = (f"kernest refused it: {pr['refused']}" if pr["refused"] else
                   f"the estimate {pr['bytes_needed']} bytes ({pr['bytes_needed'] / 2**30:.1f} GiB) exceeds "
                   f"the limit {limit} bytes ({limit / 2**30:.1f} GiB)")
            row["skipped"] = why
            print(f"{c['name']}: skipped: {why}", file=sys.stderr)
            return row
        row["fft_grid"] = pr["fft_grid"]
        reps = []
        for r in range(args.reps):
            rep = os.path.join(d, f"rep_channels_{r}.json")
            reps.append(timed(runner, estimate_cmd(args, a, b, k, os.path.join(d, "K.npy"), rep, args.iters), rep))
        row["channel_runs"] = reps
        row["channel_per_iteration_s"] = statistics.median(x["per_iteration_s"] for x in reps)
        row["channel_setup_s"] = statistics.median(x["setup_s"] for x in reps)
        row["channel_peak_rss_bytes"] = max((x["peak_rss_bytes"] or 0 for x in reps), default=0) or None
        print(f"{c['name']}: channels {1e3 * row['channel_per_iteration_s']:.4g} ms/iteration "
              f"(set-up {row['channel_setup_s']:.3g} s, {len(reps)} reps)", file=sys.stderr)

        pairs = [(o, i) for o in range(cout) for i in range(cin)]
        nrun = len(pairs) if args.single_runs <= 0 else min(args.single_runs, len(pairs))
        a0, b0 = os.path.join(d, "A_0.npy"), os.path.join(d, "B_0.npy")
        sp = probe(runner, args, a0, b0, k, d, "single", nchw)
        row["single_bytes_needed"] = sp["bytes_needed"]
        if sp["refused"]:
            row["skipped"] = f"the single-kernel baseline: kernest refused it: {sp['refused']}"
            return row
        singles = []
        for o, i in pairs[:nrun]:
            rep = os.path.join(d, f"rep_single_{o}_{i}.json")
            s = timed(runner, estimate_cmd(args, os.path.join(d, f"A_{i}.npy"), os.path.join(d, f"B_{o}.npy"), k,
                                           os.path.join(d, "K1.npy"), rep, args.iters, nchw), rep)
            s.update(o=o, i=i)
            singles.append(s)
        scale = len(pairs) / nrun
        row["single_runs"] = singles
        row["single_runs_timed"] = nrun
        row["single_runs_needed"] = len(pairs)
        row["baseline_scaled"] = nrun < len(pairs)
        row["baseline_per_iteration_s"] = scale * sum(x["per_iteration_s"] for x in singles)
        row["baseline_setup_s"] = scale * sum(x["setup_s"] for x in singles)
        row["single_peak_rss_bytes"] = max((x["peak_rss_bytes"] or 0 for x in singles), default=0) or None
        row["saving_per_iteration"] = (row["baseline_per_iteration_s"] / row["channel_per_iteration_s"]
                                       if row["channel_per_iteration_s"] > 0 else None)
        bad = [x for x in reps + singles if x["iterations"] != args.iters]
        if bad:
            row["warning"] = (f"{len(bad)} run(s) stopped before {args.iters} iterations "
                              f"({', '.join(sorted({x['stop_reason'] for x in bad}))})")
        print(f"{c['name']}: {len(pairs)} single-kernel solves {1e3 * row['baseline_per_iteration_s']:.4g} "
              f"ms/iteration{' (scaled from %d)' % nrun if row['baseline_scaled'] else ''}; saving "
              f"{row['saving_per_iteration']:.3g}x", file=sys.stderr)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="The module docstring (head -40 bench/channels.py) states the baseline.")
    ap.add_argument("--kernest", default=os.path.join(ROOT, "build", "kernest"), help="the CLI (default build/kernest)")
    ap.add_argument("--cases", default=DEFAULT_CASES,
                    help=f"comma-separated CINxCOUT:N:K, K an odd size or 'full' = 2N-1 (default {DEFAULT_CASES})")
    ap.add_argument("--iters", type=int, default=20, help="fixed iteration count (--tol 0 --maxiter ITERS; default 20)")
    ap.add_argument("--reps", type=int, default=3, help="channel solves per case, median quoted (default 3)")
    ap.add_argument("--single-runs", type=int, default=0,
                    help="single-kernel solves timed per case (default 0 = all C_out x C_in; fewer: scaled)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="--threads of every solve (default all cores)")
    ap.add_argument("--precision", default="double", choices=["double", "single"], help="default double")
    ap.add_argument("--lambda", dest="lam", type=float, default=1e-3, help="ridge lambda (default 1e-3)")
    ap.add_argument("--gpu", action="store_true", help="pass --device cuda to every solve")
    ap.add_argument("--mem-limit-gib", type=float, default=None,
                    help="skip cases whose bytes_needed exceeds this (default: this machine's RAM)")
    ap.add_argument("--seed", type=int, default=1, help="NumPy seed of the data (default 1)")
    ap.add_argument("--label", default=platform.node(), help="result file bench/results/channels-LABEL.json "
                    "(default the hostname)")
    ap.add_argument("--tmpdir", default=None, help="where the data files go (default $TMPDIR or /tmp)")
    args = ap.parse_args()
    if args.iters < 1 or args.reps < 1:
        sys.exit("channels.py: --iters and --reps must be >= 1")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", args.label):
        sys.exit(f"channels.py: --label: letters, digits, '.', '_' and '-' only, got '{args.label}'")
    if not os.path.exists(args.kernest):
        sys.exit(f"channels.py: --kernest: {args.kernest} does not exist (build it: scripts/build)")
    cases = [parse_case(s) for s in args.cases.split(",") if s.strip()]
    mach = machine()
    limit = int(args.mem_limit_gib * 2**30) if args.mem_limit_gib else (mach["ram_bytes"] or 2**62)
    version = subprocess.run([args.kernest, "--version"], capture_output=True, text=True).stdout.split()
    commit, dirty = git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = []
    with tempfile.TemporaryDirectory(prefix="kernest-channels-wisdom-") as wis:
        env = dict(os.environ, KERNEST_WISDOM_DIR=wis)  # plans made in this run only
        runner = Runner(env)
        for c in cases:
            rows.append(run_case(runner, args, c, limit))
    mach["load_average_before"] = mach.pop("load_average")
    mach["load_average_after"] = machine()["load_average"]
    out = {
        "bench": "channels",
        "command": shlex.join(["python3"] + sys.argv),
        "date_utc": started,
        "machine": mach,
        "kernest_version": version[-1] if version else None,
        "git_commit": commit, "git_dirty": dirty,
        "device": "cuda" if args.gpu else "cpu",
        "estimate_options": {"fast": True, "reg": "ridge", "lambda": args.lam, "tol": 0, "maxiter": args.iters,
                             "precision": args.precision, "threads": args.threads, "mode": "same",
                             "device": "cuda" if args.gpu else "cpu"},
        "reps": args.reps, "seed": args.seed, "mem_limit_bytes": limit,
        "fftw_planner": os.environ.get("KERNEST_FFTW_PLANNER", "measure (default)"),
        "data": "NumPy standard normal A (C_in, N, N) and B (C_out, N, N), or (S, C_in, N, N) and (S, C_out, N, N) "
                "with S samples, seeded; each channel also as its own file (N x N, or S x N x N read with --layout nchw)",
        "per_iteration": "the report's time_seconds.per_iteration = solve time / iterations (median over reps)",
        "baseline": "sum over all (o, i) of the per-iteration time of the single-pair, single-kernel solve "
                    "A_i.npy B_o.npy with the same kernel size, grid, options, threads, precision, device and "
                    "iteration count, run one after another: the same C_out x C_in kernel applications (forward "
                    "and adjoint) per iteration, unbatched; not an equivalent estimate (the channel problem "
                    "cannot be split into single-kernel problems). With --single-runs R < C_out x C_in: the mean "
                    "of R of them times C_out x C_in (baseline_scaled). saving = baseline / channel per iteration.",
        "memory": "bytes_needed = the report's solve.bytes_needed from a --maxiter 0 probe (or the count in the "
                  "library's refusal); cases above mem_limit_bytes are skipped. peak_rss_bytes: each kernest process's maximum resident set (GNU time's %M; null without /usr/bin/time).",
        "commands": runner.commands,
        "rows": rows,
    }
    path = os.path.join(HERE, "results", f"channels-{args.label}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print("wrote", path)


if __name__ == "__main__":
    main()
