#!/usr/bin/env python3
"""make_fixtures.py — writes the SciPy reference fixtures of tests/test_scipy.c into tests/fixtures/.

For each case: CASE_A.npy, CASE_K.npy (random, fixed seed) and, for each mode SciPy accepts,
CASE_B_MODE.npy = scipy.signal.convolve2d(A, K, mode=MODE); cases.txt lists the "case mode" pairs;
README.md records the NumPy and SciPy versions. Run from anywhere:

    python3 scripts/make_fixtures.py [OUTDIR]
"""
import os
import sys

import numpy as np
import scipy
import scipy.signal

SEED = 20240531
MODES = ("full", "same", "valid")

# name: (A shape, K shape, A kind). Odd and even kernels, K larger than A, rectangular A,
# the default 'same' kernel (2H-1)x(2W-1), and shapes where 'valid' does not apply.
CASES = {
    "odd":       ((9, 11), (3, 5), "uniform"),
    "even":      ((8, 10), (4, 6), "uniform"),
    "mixed":     ((7, 9), (4, 3), "uniform"),  # even rows, odd columns
    "bigk":      ((6, 5), (11, 9), "uniform"),  # K larger than A in both directions
    "rect":      ((5, 16), (3, 3), "uniform"),
    "default":   ((7, 6), (13, 11), "binary"),  # 'same' default kernel, binary uint8 A
    "cross":     ((4, 12), (7, 3), "uniform"),  # K taller, A wider: no 'valid' window
    "row":       ((1, 12), (1, 5), "uniform"),
    "unit":      ((5, 4), (1, 1), "uniform"),
}


def make_a(rng, shape, kind):
    if kind == "binary":
        return (rng.random(shape) < 0.2).astype(np.uint8)
    return rng.uniform(-1.0, 1.0, size=shape)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    lines = []
    for name, (ashape, kshape, kind) in CASES.items():
        A = make_a(rng, ashape, kind)
        K = rng.uniform(-1.0, 1.0, size=kshape)
        np.save(os.path.join(out, f"{name}_A.npy"), A)
        np.save(os.path.join(out, f"{name}_K.npy"), K)
        for mode in MODES:
            try:
                B = scipy.signal.convolve2d(A, K, mode=mode)
            except ValueError:
                # SciPy: for 'valid' one input must be at least as large as the other in
                # every dimension; such (case, mode) pairs are left out of the manifest
                continue
            np.save(os.path.join(out, f"{name}_B_{mode}.npy"), np.ascontiguousarray(B, np.float64))
            lines.append(f"{name} {mode}")
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("# case mode: B = scipy.signal.convolve2d(CASE_A, CASE_K, mode=MODE); "
                "written by scripts/make_fixtures.py\n")
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(
            "# SciPy reference fixtures\n\n"
            "Inputs and outputs of `scipy.signal.convolve2d` that `tests/test_scipy.c` compares\n"
            "`kernest_convolve` and `kernest convolve` against. For each line `CASE MODE` of\n"
            "`cases.txt`:\n\n"
            "    CASE_B_MODE.npy = scipy.signal.convolve2d(CASE_A.npy, CASE_K.npy, mode=MODE)\n\n"
            f"A and K are random with a fixed seed ({SEED}); A is float64 except the `default`\n"
            "case (binary uint8, like the original problem). Generated with\n"
            f"NumPy {np.__version__}, SciPy {scipy.__version__}, "
            f"Python {sys.version.split()[0]}.\n\n"
            "Regenerate (from the repository root):\n\n"
            "    python3 scripts/make_fixtures.py\n"
        )
    print(f"wrote {len(lines)} (case, mode) pairs to {out}")


if __name__ == "__main__":
    main()
