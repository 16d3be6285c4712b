#!/usr/bin/env python3
"""make_channel_fixtures.py — writes the cross-correlation fixtures of tests/test_channels.c into
tests/fixtures/channels/: a layer's inputs, weights and outputs computed by NumPy/SciPy as a
deep-learning framework's conv2d does (a cross-correlation summed over input channels).

For each case: CASE_A.npy (S, C_in, H, W), CASE_W.npy (C_out, C_in, kh, kw) and, for each mode,
CASE_B_MODE.npy[s, o] = sum_i scipy.signal.correlate(A[s, i], W[o, i], mode=MODE), plus
CASE_B_same2d.npy from scipy.signal.correlate2d(..., mode="same"), which differs from
scipy.signal.correlate for even kernel sizes (its window is one pixel later, as PyTorch's
padding='same'). cases.txt lists the cases. Run from anywhere:

    python3 scripts/make_channel_fixtures.py [OUTDIR]
"""
import os
import sys

import numpy as np
import scipy
import scipy.signal

SEED = 20261121
MODES = ("full", "same", "valid")
# name: (S, C_in, C_out, H, W, kh, kw): odd and even kernels
CASES = {
    "odd": (2, 3, 2, 9, 8, 3, 3),
    "even": (1, 2, 3, 8, 10, 4, 2),
}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fixtures", "channels")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for name, (s, cin, cout, h, w, kh, kw) in CASES.items():
        A = rng.uniform(-1.0, 1.0, size=(s, cin, h, w))
        W = rng.uniform(-1.0, 1.0, size=(cout, cin, kh, kw))
        np.save(os.path.join(out, name + "_A.npy"), A)
        np.save(os.path.join(out, name + "_W.npy"), W)
        def layer(fn, mode):
            return np.stack([np.stack([sum(fn(A[si, i], W[o, i], mode=mode) for i in range(cin))
                                       for o in range(cout)]) for si in range(s)])
        for mode in MODES:
            np.save(os.path.join(out, "%s_B_%s.npy" % (name, mode)), layer(scipy.signal.correlate, mode))
        np.save(os.path.join(out, "%s_B_same2d.npy" % name), layer(scipy.signal.correlate2d, "same"))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        for name in CASES:
            f.write(name + "\n")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("# Cross-correlation fixtures (several channels)\n\n"
                "Written by `python3 scripts/make_channel_fixtures.py` (seed %d) with NumPy %s, SciPy %s,\n"
                "Python %s. For each case in `cases.txt` and each mode:\n\n"
                "    CASE_B_MODE[s, o] = sum_i scipy.signal.correlate(CASE_A[s, i], CASE_W[o, i], mode)\n"
                "    CASE_B_same2d[s, o] = sum_i scipy.signal.correlate2d(CASE_A[s, i], CASE_W[o, i], 'same')\n\n"
                "B_valid and B_full are torch.nn.functional.conv2d(A, W) with padding 0 and k-1. For odd\n"
                "kernels B_same = B_same2d = padding 'same'; for even kernels scipy.signal.correlate2d\n"
                "and PyTorch start the 'same' window one pixel later than scipy.signal.correlate and\n"
                "kernest (`--correlate --mode same`).\n"
                "`tests/test_channels.c` checks `kernest_convolve_channels(..., correlate=1)` and\n"
                "`kernest estimate --correlate` against them.\n"
                % (SEED, np.__version__, scipy.__version__, sys.version.split()[0]))


if __name__ == "__main__":
    main()
