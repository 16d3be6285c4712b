#!/usr/bin/env bash
# run_cpu.sh — the CPU speed benchmark in one run: kernest (bench_cpu) against its FFTW floor and SciPy's lsqr, N = 128 256 512.
#
# Builds a Release tree (build-bench/, CPU only), then for each N writes the original question with
# `kernest synth --n N --seed 1`, runs bench_cpu on it (it rebuilds the problem in C and checks it
# equals those files; double, and single at the largest N) and bench/scipy_lsqr.py on the same
# files with the same thread count, the same fixed iteration count and, for time to tolerance,
# kernest's iteration count. Everything goes to bench/results/cpu-<hostname>.json (machine,
# versions, the exact command, load average before and after, raw timings) and a table is printed.
#
# Settings (environment): SIZES ("128 256 512"), THREADS (all cores), ITERS (20), REPS (5),
# SINGLE_AT (largest N; "" for none), BUILD_DIR (build-bench), OUT (the result file),
# CMAKE_ARGS (-DKERNEST_CUDA=OFF), KEEP_WISDOM (unset: a fresh FFTW wisdom folder for the run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIZES=${SIZES:-"128 256 512"}
THREADS=${THREADS:-$(nproc)}
ITERS=${ITERS:-20}
REPS=${REPS:-5}
# shellcheck disable=SC2086 # SIZES is a list of words
LARGEST=$(printf "%s\n" $SIZES | sort -n | tail -1)
SINGLE_AT=${SINGLE_AT-$LARGEST}
BUILD_DIR=${BUILD_DIR:-build-bench}
CMAKE_ARGS=${CMAKE_ARGS:-"-DKERNEST_CUDA=OFF"}
HOST=$(hostname)
OUT=${OUT:-bench/results/cpu-$HOST.json}
COMMAND="SIZES=\"$SIZES\" THREADS=$THREADS ITERS=$ITERS REPS=$REPS SINGLE_AT=\"$SINGLE_AT\" bench/run_cpu.sh${*:+ $*}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kernest-bench-cpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [[ -z ${KEEP_WISDOM:-} ]]; then
    export KERNEST_WISDOM_DIR=$WORK/wisdom # plans made in this run, not inherited from another
fi

echo "== building ($BUILD_DIR, Release, $CMAKE_ARGS)" >&2
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DKERNEST_TESTS=OFF $CMAKE_ARGS >"$WORK/cmake.log" 2>&1 ||
    { cat "$WORK/cmake.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j"$(nproc)" --target kernest_cli bench_cpu >"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; exit 1; }
KERNEST=$BUILD_DIR/kernest
BENCH=$BUILD_DIR/bench/bench_cpu

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RAW=$WORK/raw.jsonl
: >"$RAW"
for N in $SIZES; do
    DATA=$WORK/n$N
    "$KERNEST" synth -o "$DATA" --n "$N" --seed 1 >/dev/null
    echo "== N=$N: bench_cpu double, $THREADS threads (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    "$BENCH" --n "$N" --threads "$THREADS" --precision double --iters "$ITERS" --reps "$REPS" \
        --check-data "$DATA" | tee -a "$RAW" >"$WORK/kernest-$N.json"
    TOL_ITERS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["iterations_to_tol"])' "$WORK/kernest-$N.json")
    if [[ " $SINGLE_AT " == *" $N "* ]]; then
        echo "== N=$N: bench_cpu single, $THREADS threads" >&2
        "$BENCH" --n "$N" --threads "$THREADS" --precision single --iters "$ITERS" --reps "$REPS" \
            --check-data "$DATA" >>"$RAW"
    fi
    echo "== N=$N: scipy lsqr, $THREADS fft workers, $ITERS iterations and $TOL_ITERS to tolerance" >&2
    python3 bench/scipy_lsqr.py --data "$DATA" --threads "$THREADS" --iters "$ITERS" --reps "$REPS" \
        --iters-tol "$TOL_ITERS" >>"$RAW"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$(dirname "$OUT")"
python3 - "$RAW" "$OUT" "$COMMAND" "$LOAD_BEFORE" "$LOAD_AFTER" "$KERNEST" "$BUILD_DIR" <<'EOF'
import json, os, platform, subprocess, sys, time
raw, out, command, load_before, load_after, kernest, build_dir = sys.argv[1:8]
runs = [json.loads(l) for l in open(raw) if l.strip()]
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return ""
cpu = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
u = platform.uname()
kern = [r for r in runs if r["bench"] == "bench_cpu"]
sp = [r for r in runs if r["bench"] == "scipy_lsqr"]
cc = sh("grep", "-m1", "CMAKE_C_COMPILER:", os.path.join(build_dir, "CMakeCache.txt")).split("=", 1)[-1]
result = {
    "bench": "cpu",
    "machine": {"hostname": u.node, "uname": " ".join([u.system, u.release, u.version, u.machine]),
                "cpu_model": cpu, "cores": os.cpu_count(),
                "load_average_before": load_before, "load_average_after": load_after},
    "versions": {"kernest": (sh(kernest, "--version").split() or [""])[-1],
                 "fftw": kern[0]["fftw_version"] if kern else "",
                 "numpy": sp[0]["numpy_version"] if sp else "",
                 "scipy": sp[0]["scipy_version"] if sp else "",
                 "python": sp[0]["python_version"] if sp else "",
                 "compiler": sh(cc or "cc", "--version").splitlines()[0] if sh(cc or "cc", "--version") else "",
                 "git_commit": sh("git", "rev-parse", "HEAD"),
                 "git_dirty": bool(sh("git", "status", "--porcelain", "--untracked-files=no"))},
    "command": command,
    "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "notes": "iter_s is the marginal cost of one iteration, (t(iters) - t(0)) / iters, median of reps, "
             "for both tools; floor_iter_s = (1+P) R2C + (P+1) C2R FFTW executes on kernest's grid; "
             "SciPy's time to tolerance runs kernest's iteration count and reports the criterion reached",
    "kernest": kern,
    "scipy": sp,
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")
os.replace(tmp, out)
EOF
echo "== wrote $OUT (load average before: $LOAD_BEFORE, after: $LOAD_AFTER)" >&2
python3 bench/make_tables.py --print "$OUT"
