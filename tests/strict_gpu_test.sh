#!/bin/sh
# strict_gpu_test.sh — KERNEST_REQUIRE_GPU=1 turns test_cuda's "no usable GPU" skips into failures:
# without a GPU the strict run must fail and say why; with one it must pass.
# usage: strict_gpu_test.sh TEST_CUDA
test_cuda=$1
out=$(KERNEST_REQUIRE_GPU=1 "$test_cuda" --jobs 1 --filter 'cuda/@(vector_ops_double|not_compiled_in)' 2>&1)
rc=$?
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    [ $rc -eq 0 ] && exit 0
    echo "strict test_cuda failed on a machine with a GPU (exit $rc):"; echo "$out"; exit 1
fi
if [ $rc -eq 0 ]; then
    echo "KERNEST_REQUIRE_GPU=1 without a GPU passed; it must fail:"; echo "$out"; exit 1
fi
case $out in
*KERNEST_REQUIRE_GPU*) echo "without a GPU the strict mode fails, as it should (exit $rc)"; exit 0 ;;
esac
echo "the strict run failed (exit $rc) without naming KERNEST_REQUIRE_GPU:"; echo "$out"; exit 1
