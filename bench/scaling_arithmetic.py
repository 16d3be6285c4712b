#!/usr/bin/env python3
"""scaling_arithmetic.py — the memory and communication arithmetic of docs/scaling.md (no measurement: formulas from the code).

For the original problem shape (N×N inputs, the (2N−1)² kernel, mode same) it prints, per N and
pairs P: the FFT grid G (the smallest 2,3,5,7-smooth even size >= 2N−1: the alias-free length
of a same-mode window, kn_alias_free_size in src/backend/problem.c), the bytes one
single-precision CUDA solve needs (the operator as kn_cuda_op_bytes counts it, cuFFT's work area
taken as one complex grid, and CGLS with grad: 5 kernel-space and 3 data-space vectors), the
bytes the pairs-across-ranks sum moves per iteration (one MPI_Allreduce of the kernel in double),
its time on two interconnects by the ring-allreduce bound 2(R−1)/R · bytes / bandwidth, and the
volume a slab-decomposed FFT moves per iteration (4 transforms, each with one all-to-all of the
complex grid) when a single grid no longer fits.
  python3 bench/scaling_arithmetic.py            Markdown table on stdout
"""


def smooth(n, even=False):
    while True:
        m = n
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        if m == 1 and (not even or n % 2 == 0):
            return n
        n += 1


def gib(b):
    return f"{b / 2**30:,.1f}"


def main():
    H200 = 139 * 2**30  # usable device memory of the card the GPU runs used
    rows = []
    print("| N | pairs P | grid G | one spectrum GiB | one-GPU solve GiB (single) | fits one H200 | "
          "allreduce per iter GiB | ring time R=8 @ 12.5 GB/s | @ 50 GB/s | slab FFT all-to-all per iter GiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in (1024, 2048, 4096, 8192, 16384, 32768):
        g = smooth(2 * n - 1, even=True)
        spec = g * (g // 2 + 1) * 8           # complex64 half spectrum
        grid = g * g * 4
        work = spec                             # cuFFT work area ~ one complex grid
        k = (2 * n - 1) ** 2
        for p in (1, 8):
            m = p * n * n
            op = (p + 2) * spec + grid + work
            solver = 5 * k * 4 + 3 * m * 4
            total = op + solver
            allred = 8 * k
            r = 8
            t125 = 2 * (r - 1) / r * allred / 12.5e9
            t50 = 2 * (r - 1) / r * allred / 50e9
            slab = 4 * spec
            print(f"| {n} | {p} | {g} | {gib(spec)} | {gib(total)} | {'yes' if total <= H200 else 'no'} | "
                  f"{gib(allred)} | {t125 * 1e3:,.0f} ms | {t50 * 1e3:,.0f} ms | {gib(slab)} |")


if __name__ == "__main__":
    main()
