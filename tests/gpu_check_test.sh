#!/bin/sh
# gpu_check_test.sh — scripts/gpu-check without a GPU: `run` exits non-zero with one clear line;
# a folder made by `prepare`, when there is one, passes check-pack (no rebuild here: too slow).
# usage: gpu_check_test.sh SOURCE_DIR; exit 77 (skip) on a machine with a GPU.
src=$1
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "a GPU is present: the refusal cannot be checked"; exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$src/scripts/gpu-check" run "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ $rc -ne 0 ] || { echo "gpu-check run passed without a GPU"; exit 1; }
lines=$(wc -l <"$tmp/stderr")
[ "$lines" -eq 1 ] || { echo "expected one line on stderr, got $lines:"; cat "$tmp/stderr"; exit 1; }
grep -q '^gpu-check: ' "$tmp/stderr" || { echo "no 'gpu-check:' line:"; cat "$tmp/stderr"; exit 1; }
[ ! -s "$tmp/stdout" ] || { echo "unexpected output on stdout:"; cat "$tmp/stdout"; exit 1; }
[ ! -e "$tmp/out" ] || { echo "run made its OUTDIR without a GPU"; exit 1; }
cat "$tmp/stderr"
if [ -d "$src/gpu-pack" ]; then
    "$src/scripts/gpu-check" check-pack "$src/gpu-pack" || exit 1
fi
"$src/scripts/gpu-check" bogus >/dev/null 2>&1; [ $? -eq 2 ] || { echo "a bad verb must exit 2"; exit 1; }
exit 0
