#!/usr/bin/env python3
"""make_format_fixtures.py — writes the file-format fixtures of tests/test_formats.c.

.npz files come from NumPy itself (np.savez stores, np.savez_compressed deflates). FITS and TIFF
files are written here byte by byte from the format specifications (FITS 4.0; TIFF 6.0), not by
the libraries kernest reads them with, so a reader bug cannot cancel out a writer bug. Every
fixture holds a known array; tests/fixtures/formats/README.md lists them. Run from anywhere:

    python3 scripts/make_format_fixtures.py [OUTDIR]
"""
import os
import struct
import sys
import zlib

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "formats")

# the reference array: exactly representable in every format used below
R = (np.arange(12, dtype=np.float64).reshape(3, 4) * 0.5 - 1.0)


def path(name):
    return os.path.join(OUT, name)


# ---- npz ---------------------------------------------------------------------------------------

def make_npz():
    np.savez(path("stored.npz"), a=R, b=2 * R)               # two members, stored
    np.savez_compressed(path("deflated.npz"), R.astype("<f4"))  # one member arr_0, deflated
    np.savez(path("int16.npz"), img=(np.arange(12).reshape(3, 4) - 6).astype("<i2"))


# ---- FITS --------------------------------------------------------------------------------------

def card(key, value=None, comment=""):
    if value is None:
        return f"{key:<80}"[:80]
    if isinstance(value, bool):
        v = f"{'T' if value else 'F':>20}"
    elif isinstance(value, str):
        v = f"'{value:<8}'"
    else:
        v = f"{value:>20}"
    return f"{key:<8}= {v} / {comment}"[:80].ljust(80)


def block(b, fill):
    return b + fill * ((-len(b)) % 2880)


def header(cards):
    text = "".join(cards) + "END".ljust(80)
    return block(text.encode("ascii"), b" ")


def fits_image(bitpix, data, extra=(), primary=True):
    """One HDU: data is a C-order array (rows = NAXIS2) written big-endian."""
    first = card("SIMPLE", True) if primary else card("XTENSION", "IMAGE")
    cards = [first, card("BITPIX", bitpix), card("NAXIS", data.ndim)]
    for d in range(data.ndim):
        cards.append(card(f"NAXIS{d + 1}", data.shape[data.ndim - 1 - d]))
    if not primary:
        cards += [card("PCOUNT", 0), card("GCOUNT", 1)]
    cards += list(extra)
    dt = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}[bitpix]
    return header(cards) + block(np.ascontiguousarray(data, dtype=dt).tobytes(), b"\0")


def make_fits():
    n = np.arange(12).reshape(3, 4)
    # BITPIX 16 with BSCALE/BZERO: physical = 0.5 * stored - 1 = R
    with open(path("i16_scaled.fits"), "wb") as f:
        f.write(fits_image(16, n, [card("BSCALE", 0.5), card("BZERO", -1.0)]))
    for bitpix in (8, 32, 64):
        with open(path(f"int{bitpix}.fits"), "wb") as f:
            f.write(fits_image(bitpix, n))           # values 0..11
    with open(path("f64.fits"), "wb") as f:
        f.write(fits_image(-64, R))
    # empty primary HDU, the image in the first extension (as many instruments write it)
    with open(path("ext_f32.fits"), "wb") as f:
        prim = header([card("SIMPLE", True), card("BITPIX", 8), card("NAXIS", 0),
                       card("EXTEND", True)])
        f.write(prim + fits_image(-32, R, primary=False))
    # BLANK marks an undefined integer pixel: it must read as NaN
    b = n.copy()
    b[1, 2] = -32768
    with open(path("blank.fits"), "wb") as f:
        f.write(fits_image(16, b, [card("BLANK", -32768)]))


# ---- TIFF --------------------------------------------------------------------------------------

SHORT, LONG = 3, 4


def tiff(name, data, bps, fmt, order="<", spp=1, tile=None, rows_per_strip=None, deflate=False):
    """TIFF of a 2-D (or H×W×spp) array, strips or tiles, chosen byte order; uncompressed, or
    Adobe Deflate (compression 8, zlib streams) with deflate=True."""
    h, w = data.shape[:2]
    item = bps // 8
    kind = {1: "u", 2: "i", 3: "f"}[fmt]
    arr = np.ascontiguousarray(data, dtype=f"{order}{kind}{item}")
    blocks = []
    if tile:
        th, tw = tile
        for r in range(0, h, th):
            for c in range(0, w, tw):
                t = np.zeros((th, tw) + arr.shape[2:], dtype=arr.dtype)
                part = arr[r:r + th, c:c + tw]
                t[:part.shape[0], :part.shape[1]] = part
                blocks.append(t.tobytes())
    else:
        rps = rows_per_strip or h
        for r in range(0, h, rps):
            blocks.append(arr[r:r + rps].tobytes())
    if deflate:
        blocks = [zlib.compress(b) for b in blocks]
    body = b"".join(blocks)
    offsets, pos = [], 8
    for blk in blocks:
        offsets.append(pos)
        pos += len(blk)
    entries = [(256, LONG, [w]), (257, LONG, [h]), (258, SHORT, [bps] * spp), (259, SHORT, [8 if deflate else 1]),
               (262, SHORT, [2 if spp == 3 else 1]), (277, SHORT, [spp]),
               (284, SHORT, [1]), (339, SHORT, [fmt] * spp)]
    if tile:
        entries += [(322, LONG, [tile[1]]), (323, LONG, [tile[0]]),
                    (324, LONG, offsets), (325, LONG, [len(b) for b in blocks])]
    else:
        entries += [(273, LONG, offsets), (278, LONG, [rows_per_strip or h]),
                    (279, LONG, [len(b) for b in blocks])]
    entries.sort()
    ifd_pos = pos + (pos & 1)
    extra_pos = ifd_pos + 2 + 12 * len(entries) + 4
    ifd, extra = b"", b""
    for tag, typ, vals in entries:
        code = "H" if typ == SHORT else "I"
        raw = struct.pack(order + code * len(vals), *vals)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack(order + "I", extra_pos + len(extra))
            extra += raw + b"\0" * (len(raw) & 1)
        ifd += struct.pack(order + "HHI", tag, typ, len(vals)) + field
    head = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, ifd_pos)
    out = head + body + b"\0" * (ifd_pos - pos)
    out += struct.pack(order + "H", len(entries)) + ifd + struct.pack(order + "I", 0) + extra
    with open(path(name), "wb") as f:
        f.write(out)


def make_tiff():
    tiff("f32_strips.tif", R, 32, 3, rows_per_strip=2)           # 2 strips, the last one short
    big = np.arange(20 * 35).reshape(20, 35)
    tiff("u16_tiles_be.tif", big, 16, 1, order=">", tile=(16, 16))  # 2×3 tiles, big-endian
    tiff("i8_strips.tif", np.arange(12).reshape(3, 4) - 6, 8, 2, rows_per_strip=1)
    tiff("f64_strips.tif", R, 64, 3)
    tiff("f32_deflate.tif", big * 0.25 - 3, 32, 3, rows_per_strip=8, deflate=True)
    tiff("u32_strips.tif", np.arange(12).reshape(3, 4) * 100000, 32, 1)
    tiff("rgb8.tif", np.zeros((3, 4, 3)), 8, 1, spp=3)           # must be refused: 3 samples


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_npz()
    make_fits()
    make_tiff()
    with open(path("README.md"), "w") as f:
        f.write("# File-format fixtures\n\nWritten by `scripts/make_format_fixtures.py` "
                f"(NumPy {np.__version__}); do not edit by hand.\n\n"
                "R = np.arange(12).reshape(3, 4) * 0.5 - 1\n\n"
                "- stored.npz: np.savez a=R, b=2R (stored); deflated.npz: np.savez_compressed "
                "arr_0=R as f4; int16.npz: img = arange(12).reshape(3,4) - 6 as <i2\n"
                "- i16_scaled.fits: BITPIX 16, BSCALE 0.5, BZERO -1 (= R); int8/int32/int64.fits: "
                "arange(12).reshape(3,4); f64.fits: R; ext_f32.fits: empty primary, R as -32 in "
                "the first IMAGE extension; blank.fits: BITPIX 16 arange with BLANK at [1, 2]\n"
                "- f32_strips.tif: R, 2 rows per strip; u16_tiles_be.tif: arange(700).reshape(20,"
                " 35), big-endian, 16x16 tiles; i8_strips.tif: arange(12).reshape(3,4) - 6; "
                "f64_strips.tif: R; f32_deflate.tif: arange(700).reshape(20, 35) * 0.25 - 3, Deflate, 8 rows per strip; u32_strips.tif: 100000 * arange(12).reshape(3,4); rgb8.tif: "
                "3 samples per pixel (refused)\n")
    print("wrote fixtures into", os.path.abspath(OUT))
