"""The binding checks its arguments before the library sees them (issue 21, item 6): nothing wraps
into a C type, no array of complex numbers, strings or dates is taken, malformed tuples are
refused with the argument's name, and the struct mirror matches the library."""
import ctypes

import numpy as np
import pytest

import kernest


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    A = (rng.random((12, 12)) < 0.2).astype(float)
    K = rng.random((5, 5))
    B = kernest.convolve(A, K, mode="same")
    return A, B


def refused(match, **kw):
    return pytest.raises(kernest.KernestInputError, match=match)


@pytest.mark.parametrize("kw, name", [
    ({"threads": 100000}, "threads"),
    ({"threads": 2**31 - 1}, "threads"),
    ({"threads": -1}, "threads"),
    ({"maxiter": 2**32 + 5}, "maxiter"),
    ({"maxiter": -1}, "maxiter"),
    ({"ksize": (2**64 + 3, 3)}, "ksize"),
    ({"ksize": (3,)}, "ksize"),
    ({"ksize": (3.5, 3)}, "ksize"),
    ({"model": "harmonic:4294967298"}, "harmonic"),
    ({"model": "lowrank:0"}, "lowrank"),
    ({"fixed": {(2**70, 0): 1.0}}, "fixed row"),
    ({"support": ("disk",)}, "support"),
    ({"support": ("box", 3)}, "support"),
    ({"support": ("circle", 3)}, "support"),
    ({"sigma": -1.0}, "sigma"),
    ({"tol": float("nan")}, "tol"),
    ({"probes": 9}, "probes"),
    ({"uncertainty": 1}, "uncertainty"),
    ({"seed": -1}, "seed"),
    ({"outer_maxiter": 0}, "outer_maxiter"),
    ({"lam": True}, "lam"),
    ({"maxiter": True}, "maxiter"),
])
def test_out_of_range_arguments_are_refused_by_name(pair, kw, name):
    A, B = pair
    args = {"fast": True, "progress": False}
    if "model" in kw:
        args = {"progress": False}
    args.update(kw)
    with pytest.raises(kernest.KernestInputError, match=name):
        kernest.estimate(A, B, **args)


@pytest.mark.parametrize("bad", [
    lambda A: A.astype(complex) + 1j,
    lambda A: A.astype(str),
    lambda A: np.full(A.shape, np.datetime64("2026-01-01")),
    lambda A: A.astype(object),
])
def test_arrays_of_other_than_real_numbers_are_refused(pair, bad):
    A, B = pair
    with pytest.raises(kernest.KernestInputError, match="real numbers"):
        kernest.estimate(bad(A), B, fast=True, progress=False)
    with pytest.raises(kernest.KernestInputError, match="real numbers"):
        kernest.convolve(bad(A), np.ones((3, 3)))


def test_integral_floats_and_numpy_integers_are_taken(pair):
    A, B = pair
    K, rep = kernest.estimate(A, B, fast=True, progress=False, maxiter=np.int64(7), ksize=(5.0, np.int32(5)),
                              threads=1.0)
    assert K.shape == (5, 5)
    assert rep["solve"]["iterations"] <= 7


def test_struct_mirror_matches_the_library():
    assert kernest._lib.kernest_options_size() == ctypes.sizeof(kernest._Options)
