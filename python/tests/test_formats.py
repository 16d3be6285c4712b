"""pytest: kernest.read / kernest.write against NumPy's own files, every format, and errors."""
import numpy as np
import pytest

import kernest


@pytest.fixture
def R():
    return np.arange(12, dtype=np.float64).reshape(3, 4) / 7 - 0.5


@pytest.mark.parametrize("ext", ["npy", "npz", "npz:kern", "fits", "tif", "csv", "txt", "tsv"])
def test_round_trip(tmp_path, R, ext):
    fmt = {"npz:kern": "npz", "tif": "tiff", "csv": "text", "txt": "text", "tsv": "text"}.get(ext, ext)
    if fmt not in kernest.formats():
        pytest.skip("%s not compiled in" % fmt)
    p = str(tmp_path / ("a." + ext))
    kernest.write(p, R)
    np.testing.assert_array_equal(kernest.read(p), R)
    kernest.write(p, R, precision="single")
    np.testing.assert_array_equal(kernest.read(p).astype(np.float32), R.astype(np.float32))


def test_numpy_reads_ours_and_we_read_numpys(tmp_path, R):
    if "npz" not in kernest.formats():
        pytest.skip("npz not compiled in")
    np.savez_compressed(tmp_path / "c.npz", x=R, y=2 * R)
    np.testing.assert_array_equal(kernest.read(str(tmp_path / "c.npz:y")), 2 * R)
    kernest.write(str(tmp_path / "k.npz:kern"), R)
    np.testing.assert_array_equal(np.load(tmp_path / "k.npz")["kern"], R)
    np.savetxt(tmp_path / "t.csv", R, delimiter=",")
    np.testing.assert_array_equal(kernest.read(str(tmp_path / "t.csv")), R)


def test_raw(tmp_path, R):
    R.astype("<u2").tofile(tmp_path / "r.raw")
    np.testing.assert_array_equal(kernest.read(str(tmp_path / "r.raw"), shape=(3, 4), dtype="u2"),
                                  R.astype("<u2"))
    with pytest.raises(kernest.KernestInputError, match="47|needs 12"):
        kernest.read(str(tmp_path / "r.raw"), shape=(2, 3), dtype="u2")
    with pytest.raises(kernest.KernestInputError, match="--shape"):
        kernest.read(str(tmp_path / "r.raw"))


def test_errors_name_the_file(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("1,2\n3\n")
    with pytest.raises(kernest.KernestInputError, match="bad.csv: line 2 has 1 value"):
        kernest.read(str(p))
    with pytest.raises(kernest.KernestInputError, match="unknown file format"):
        kernest.write(str(tmp_path / "x.png"), np.zeros((2, 2)))
