"""pytest: where the package found its library, and (after pip install) that the installed
package stands alone: its own libkernest.so, loadable from any folder, no build-tree paths."""
import os
import shutil
import subprocess
import sys

import pytest

import kernest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
INSTALLED = bool(os.environ.get("KERNEST_TEST_INSTALLED"))
PACKAGE_DIR = os.path.dirname(os.path.abspath(kernest.__file__))


def test_library_is_the_one_documented():
    if os.environ.get("KERNEST_LIB"):
        assert kernest._lib_path == os.environ["KERNEST_LIB"]
    elif INSTALLED:
        assert kernest._lib_path == os.path.join(PACKAGE_DIR, "libkernest.so")
    else:
        assert os.path.exists(kernest._lib_path)


@pytest.fixture
def installed():
    if not INSTALLED:
        pytest.skip("runs against the pip-installed package (scripts/pip-check)")


def test_installed_package_is_not_the_checkouts(installed):
    assert not PACKAGE_DIR.startswith(os.path.join(ROOT, "python") + os.sep)
    assert os.path.isfile(os.path.join(PACKAGE_DIR, "libkernest.so"))


def test_import_from_any_folder_without_environment(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("KERNEST_LIB", "PYTHONPATH", "LD_LIBRARY_PATH")}
    out = subprocess.run([sys.executable, "-c", "import kernest; print(kernest.version())"], cwd=tmp_path,
                         env=env, check=True, capture_output=True, text=True).stdout
    assert out.strip() == kernest.version()


def test_library_has_no_build_tree_paths(installed):
    readelf = shutil.which("readelf")
    if not readelf:
        pytest.skip("readelf (binutils) is not installed")
    lib = os.path.join(PACKAGE_DIR, "libkernest.so")
    dyn = subprocess.run([readelf, "-d", lib], check=True, capture_output=True, text=True).stdout
    paths = [line.split("[", 1)[1].rstrip("]") for line in dyn.splitlines() if "PATH)" in line]
    for entry in paths:
        for p in entry.split(":"):
            assert p and not p.startswith(ROOT) and "/tmp" not in p and os.path.isdir(p), (p, dyn)
    if "libcudart" in dyn:  # a CUDA build: the toolkit's folder is in the RUNPATH
        assert paths, dyn
