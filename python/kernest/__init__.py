"""kernest — estimate a 2-D convolution kernel K from pairs (A, B = crop_mode(A ⊛ K) + noise).

A ctypes binding of libkernest; arrays are NumPy arrays, the report is a dict.

    result = kernest.estimate(A, B)     # as `kernest estimate A B -o K`: model and lambda chosen
    K, report = result                  # from the data; (2Ha-1)x(2Wa-1) kernel; progress bar
    result.kernel, result.profile, result.predict(A2), result.score(A_test, B_test)
    kernest.plot(result)                                 # matplotlib: kernel, residual, profile, convergence
    K, report = kernest.estimate(A, B, fast=True)        # one plain solve, as --fast
    K, report = kernest.estimate([A1, A2], [B1, B2], reg="grad", lam=100.0)  # one solve, as given
    B_hat = kernest.convolve(A, K, mode="same")          # scipy.signal.convolve2d semantics
    W, report = kernest.estimate(X, Y, ksize=(3, 3), correlate=True)  # a conv layer: X (S, C_in, H, W),
                                                         # Y (S, C_out, H, W) -> W (C_out, C_in, 3, 3)

    A = kernest.read("A.fits"); kernest.write("K.tif", K)  # the CLI's file formats

estimate's default is the kernest command's: the automatic choice of model and λ when none of
model, reg, lam, l1, tv is given; fast=True makes one plain solve (--fast; the C library's default).
NaN in B marks a missing pixel. Library errors raise KernestError, or KernestInputError (also a
ValueError) for bad input, carrying the library's message. Solves release the GIL (ctypes does
so for every call).
"""
import ctypes
import ctypes.util
import json
import os
import signal
import threading

import numpy as np

from . import _progress
from ._result import Result, plot

__all__ = ["estimate", "convolve", "plot", "Result", "KernestError", "KernestInputError", "version"]

_MAX_NDIM = 4


class KernestError(RuntimeError):
    """A failure inside libkernest; .status holds the library's status name."""

    def __init__(self, message, status=""):
        super().__init__(message)
        self.status = status


class KernestInputError(KernestError, ValueError):
    """Bad usage or bad input (the CLI's exit code 2)."""


class _Array(ctypes.Structure):
    _fields_ = [("ndim", ctypes.c_int),
                ("shape", ctypes.c_size_t * _MAX_NDIM),
                ("size", ctypes.c_size_t),
                ("data", ctypes.POINTER(ctypes.c_double))]


class _Progress(ctypes.Structure):
    _fields_ = [("iteration", ctypes.c_int), ("first_iteration", ctypes.c_int), ("maxiter", ctypes.c_int),
                ("residual", ctypes.c_double), ("tol", ctypes.c_double), ("elapsed", ctypes.c_double),
                ("solver", ctypes.c_char_p), ("phase", ctypes.c_char_p)]


# int (*)(void *user, const kernest_progress *p)
_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_Progress))


class _Geometry(ctypes.Structure):
    """kernest_geometry: a layer's stride, dilation and groups."""
    _fields_ = [("stride_h", ctypes.c_int), ("stride_w", ctypes.c_int),
                ("dilation_h", ctypes.c_int), ("dilation_w", ctypes.c_int),
                ("groups", ctypes.c_int)]


class _Options(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int),
                ("kh", ctypes.c_size_t), ("kw", ctypes.c_size_t),
                ("reg", ctypes.c_int),
                ("lambda_", ctypes.c_double),
                ("tol", ctypes.c_double),
                ("maxiter", ctypes.c_int),
                ("threads", ctypes.c_int),
                ("precision", ctypes.c_int),
                ("device", ctypes.c_int),
                ("device_index", ctypes.c_int),
                ("input_names", ctypes.POINTER(ctypes.c_char_p)),
                # priors, in kernest.h's order
                ("model", ctypes.c_int),
                ("solver", ctypes.c_int),
                ("l1", ctypes.c_double),
                ("nonneg", ctypes.c_int),
                ("has_bounds", ctypes.c_int),
                ("lower", ctypes.c_double), ("upper", ctypes.c_double),
                ("has_sum", ctypes.c_int),
                ("sum", ctypes.c_double),
                ("support", ctypes.c_int),
                ("support_radius", ctypes.c_double),
                ("support_h", ctypes.c_size_t), ("support_w", ctypes.c_size_t),
                ("support_mask", ctypes.c_void_p),
                ("nfixed", ctypes.c_size_t),
                ("fixed", ctypes.c_void_p),
                # progress and checkpoints, in kernest.h's order
                ("progress", _PROGRESS_FN),
                ("progress_user", ctypes.c_void_p),
                ("checkpoint", ctypes.c_char_p),
                ("checkpoint_every", ctypes.c_double),
                ("resume", ctypes.c_char_p),
                # total variation
                ("tv", ctypes.c_double),
                # several channels
                ("layout", ctypes.c_int),
                ("correlate", ctypes.c_int),
                # automatic choices and uncertainty, in kernest.h's order
                ("auto_lambda", ctypes.c_int),
                ("auto_model", ctypes.c_int),
                ("select", ctypes.c_int),
                ("cv_folds", ctypes.c_int),
                ("sigma", ctypes.c_double),
                ("probes", ctypes.c_int),
                ("uncertainty", ctypes.c_int),
                ("seed", ctypes.c_ulonglong),
                ("auto_l1", ctypes.c_int),
                # harmonic and low-rank models, background, in kernest.h's order
                ("order", ctypes.c_int),
                ("outer_maxiter", ctypes.c_int),
                ("outer_tol", ctypes.c_double),
                ("background", ctypes.c_int),
                ("bias", ctypes.c_int),
                # a framework's padding, in kernest.h's order
                ("padding", ctypes.c_int),
                ("pad_h", ctypes.c_int),
                ("pad_w", ctypes.c_int),
                ("padding_mode", ctypes.c_int),
                # a layer's stride, dilation and groups
                ("geometry", _Geometry),
                # CGLS's preconditioner
                ("precond", ctypes.c_int)]


class _Fixed(ctypes.Structure):
    _fields_ = [("row", ctypes.c_long), ("col", ctypes.c_long), ("value", ctypes.c_double)]


def _candidates():
    env = os.environ.get("KERNEST_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libkernest.so")
    yield os.path.join(here, "..", "..", "build", "libkernest.so")
    found = ctypes.util.find_library("kernest")
    if found:
        yield found


def _load():
    # OpenMP threads that spin long at their barriers (libgomp's default) collapse when another
    # process is busy on the machine (README "Threads on a shared machine"); the policy is read
    # once, when the OpenMP runtime loads: so, unless one was chosen, short spins — effective when
    # this import is what loads it (not when another library in this process loaded libgomp first).
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = "1000"
    errors = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            errors.append(path + ": not found")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(str(e))
    raise ImportError("kernest: cannot load libkernest.so; install the package with `pip install .` "
                      "from the repository (it builds the library into the package), or set KERNEST_LIB "
                      "to a built libkernest.so (tried: " + "; ".join(errors) + ")")


_lib, _lib_path = _load()  # _lib_path: the file loaded (KERNEST_LIB, the package's, or the checkout's)
_P_Array = ctypes.POINTER(_Array)
_lib.kernest_last_error.restype = ctypes.c_char_p
_lib.kernest_status_name.restype = ctypes.c_char_p
_lib.kernest_version.restype = ctypes.c_char_p
_lib.kernest_status_is_input_error.argtypes = [ctypes.c_int]
_lib.kernest_options_default.argtypes = [ctypes.POINTER(_Options)]
_lib.kernest_array_destroy.argtypes = [ctypes.POINTER(_P_Array)]
_lib.kernest_estimate.argtypes = [ctypes.POINTER(_P_Array), ctypes.POINTER(_P_Array), ctypes.c_size_t,
                                  ctypes.POINTER(_Options), ctypes.POINTER(_P_Array),
                                  ctypes.POINTER(ctypes.c_void_p)]
_lib.kernest_convolve.argtypes = [_P_Array, _P_Array, ctypes.c_int, ctypes.POINTER(_P_Array)]
_lib.kernest_report_to_json.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Options),
                                        ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_void_p)]
_lib.kernest_report_destroy.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
_lib.kernest_free.argtypes = [ctypes.c_void_p]
_lib.kernest_select_parse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
_lib.kernest_pad_layer.argtypes = [ctypes.POINTER(_Array), ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
                                   ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Geometry), ctypes.POINTER(_P_Array)]
_lib.kernest_convolve_layer.argtypes = [_P_Array, _P_Array, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                        ctypes.POINTER(_Geometry), ctypes.c_char_p, ctypes.c_char_p,
                                        ctypes.POINTER(_P_Array)]
_lib.kernest_report_uncertainty.argtypes = [ctypes.c_void_p, ctypes.POINTER(_P_Array), ctypes.POINTER(_P_Array)]

# the mirror must match the library's struct exactly: a field added on one side only would make the
# library read past (or beside) what Python passes
_lib.kernest_options_size.restype = ctypes.c_size_t
if _lib.kernest_options_size() != ctypes.sizeof(_Options):
    raise ImportError("kernest: %s has a kernest_options of %d bytes but this package mirrors %d: the "
                      "package and the library come from different versions (reinstall with `pip install .`)"
                      % (_lib_path, _lib.kernest_options_size(), ctypes.sizeof(_Options)))

_MODES = {"full": 0, "same": 1, "valid": 2}
_REGS = {"none": 0, "ridge": 1, "grad": 2}
_PRECISIONS = {"double": 0, "single": 1, None: 2}
_MODELS = {"pixel": 0, "radial": 1, "harmonic": 2, "lowrank": 3}
_SOLVERS = {"auto": 0, "cgls": 1, "fista": 2, "gpcg": 3}
_PRECONDS = {"auto": 0, "jacobi": 1, "none": 2, "mean": 3}
_LAYOUTS = {"auto": 0, "chw": 1, "nchw": 2}
_PADDING_MODES = {"zeros": 0, "reflect": 1, "replicate": 2, "circular": 3}


def version():
    """The library's version string."""
    return _lib.kernest_version().decode()


def _check(status):
    if status != 0:
        msg = _lib.kernest_last_error().decode("utf-8", "replace")
        name = _lib.kernest_status_name(status).decode()
        cls = KernestInputError if _lib.kernest_status_is_input_error(status) else KernestError
        raise cls(msg or name, name)


def _view(a):
    """A kernest_array struct over the float64 C-contiguous array a (which must outlive it)."""
    s = _Array()
    s.ndim = a.ndim
    for d in range(_MAX_NDIM):
        s.shape[d] = a.shape[d] if d < a.ndim else 1
    s.size = a.size
    s.data = a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    return s


_INT_MAX = 2**31 - 1
_SIZE_MAX = 2**63 - 1


def _int(value, name, lo, hi):
    """value as an int in lo..hi (the CLI's range), else KernestInputError naming the argument:
    nothing wraps silently into a C type."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise KernestInputError("%s: must be an integer, got %r" % (name, value), "E_INVALID")
    v = int(value)
    if not lo <= v <= hi:
        raise KernestInputError("%s: must be %d..%d, got %d" % (name, lo, hi, v), "E_INVALID")
    return v


def _float(value, name, lo=None):
    """value as a finite float (>= lo when given), else KernestInputError naming the argument."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or np.iscomplexobj(value):
        raise KernestInputError("%s: must be a real number, got %r" % (name, value), "E_INVALID")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise KernestInputError("%s: must be a real number, got %r" % (name, value), "E_INVALID") from None
    if not np.isfinite(v) or (lo is not None and v < lo):
        raise KernestInputError("%s: must be a finite number%s, got %r" % (name, "" if lo is None else " >= %g" % lo,
                                                                            value), "E_INVALID")
    return v


def _real(x, what):
    """np.asarray(x) refusing what is not real numbers (complex, strings, dates, objects)."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise KernestInputError("%s: expected an array of real numbers, got dtype %s" % (what, a.dtype), "E_INVALID")
    return a


def _as_array(x, what, max_ndim=2):
    """A float64 C-contiguous copy of 2..max_ndim dimensions (kept alive by the caller) and a
    view struct over it."""
    a = np.ascontiguousarray(_real(x, what).astype(np.float64, copy=False))
    if not 2 <= a.ndim <= max_ndim:
        want = "a 2-D" if max_ndim == 2 else "a 2-D to %d-D" % max_ndim
        raise KernestInputError("%s: expected %s array, got %d dimensions" % (what, want, a.ndim), "E_SHAPE")
    return a, _view(a)


def _take(ptr):
    """Copy a library-owned array into NumPy and free it."""
    a = ptr.contents
    shape = tuple(a.shape[d] for d in range(a.ndim))
    out = np.ctypeslib.as_array(a.data, shape=(a.size,)).copy().reshape(shape)
    _lib.kernest_array_destroy(ctypes.byref(ptr))
    return out


def _pick(table, value, option):
    if value not in table:
        raise KernestInputError("%s: %r is not one of %s" % (option, value, ", ".join(
            str(k) for k in table if k is not None)), "E_INVALID")
    return table[value]


def _device(dev):
    if dev in (None, "auto"):
        return 0, -1
    if dev == "cpu":
        return 1, -1
    if dev == "cuda":
        return 2, -1
    if isinstance(dev, str) and dev.startswith("cuda:") and dev[5:].isdigit():
        return 2, int(dev[5:])
    raise KernestInputError("device: %r is not auto, cpu, cuda or cuda:N" % (dev,), "E_INVALID")


def _model(model):
    """'pixel' | 'radial' | 'harmonic:M' | 'lowrank:R' -> (enum, order)."""
    name, _, order = str(model).partition(":")
    kind = _pick(_MODELS, name, "model")
    if kind in (2, 3):
        if not order.isdigit():
            raise KernestInputError("model: %r needs its order, e.g. %s:%d" % (model, name, 4 if kind == 2 else 1),
                                    "E_INVALID")
        return kind, _int(int(order), "model %s:%s" % (name, "M" if kind == 2 else "R"), 0 if kind == 2 else 1, 64)
    if order:
        raise KernestInputError("model: %r takes no order" % (model,), "E_INVALID")
    return kind, 0


def _padding_sides(padding):
    """padding= as estimate takes it -> (pad_h, pad_w) of kernest_options (-1: 'same')."""
    if padding == "same":
        return -1, -1
    if padding == "valid":
        return 0, 0
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        return _int(padding[0], "padding", 0, _INT_MAX), _int(padding[1], "padding", 0, _INT_MAX)
    p = _int(padding, "padding", 0, _INT_MAX)
    return p, p


def _geometry(stride=1, dilation=1, groups=1):
    """stride=, dilation= (an int or (rows, columns)) and groups= -> kernest_geometry."""
    def pair(value, name):
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise KernestInputError("%s: expected an int or (rows, columns), got %r" % (name, value),
                                        "E_INVALID")
            return _int(value[0], name, 1, 1 << 30), _int(value[1], name, 1, 1 << 30)
        v = _int(value, name, 1, 1 << 30)
        return v, v
    g = _Geometry()
    g.stride_h, g.stride_w = pair(stride, "stride")
    g.dilation_h, g.dilation_w = pair(dilation, "dilation")
    g.groups = _int(groups, "groups", 1, 1 << 20)
    return g


def _pad_layer(A, kh, kw, padding, padding_mode, geometry=None):
    """A padded as a layer (of geometry, a _Geometry or None) pads its input (kernest_pad_layer),
    e.g. for Result.predict."""
    an, asx = _as_array(A, "A", 4)
    pad_h, pad_w = _padding_sides(padding)
    out = _P_Array()
    _check(_lib.kernest_pad_layer(ctypes.byref(asx), kh, kw, pad_h, pad_w,
                                  _pick(_PADDING_MODES, padding_mode, "padding_mode"),
                                  None if geometry is None else ctypes.byref(geometry), ctypes.byref(out)))
    return _take(out)


def _set_priors(opt, keep, model, solver, l1, nonneg, bounds, sum, support, fixed):
    """Fill the prior fields of opt; arrays that the library borrows are appended to keep."""
    opt.model, opt.order = _model(model)
    opt.solver = _pick(_SOLVERS, solver, "solver")
    opt.l1 = _float(l1, "l1", 0.0)
    opt.nonneg = 1 if nonneg else 0
    if bounds is not None:
        if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
            raise KernestInputError("bounds: must be (lo, hi), got %r" % (bounds,), "E_INVALID")
        opt.has_bounds = 1
        opt.lower, opt.upper = float(bounds[0]), float(bounds[1])  # ±inf allowed: the library checks
    if sum is not None:
        opt.has_sum = 1
        opt.sum = _float(sum, "sum")
    if support is not None:
        if isinstance(support, tuple) and support and support[0] == "disk":
            if len(support) != 2:
                raise KernestInputError("support: ('disk', R) takes one radius, got %r" % (support,), "E_INVALID")
            opt.support, opt.support_radius = 1, _float(support[1], "support disk radius", 0.0)
        elif isinstance(support, tuple) and support and support[0] == "box":
            if len(support) != 3:
                raise KernestInputError("support: ('box', H, W) takes two sizes, got %r" % (support,), "E_INVALID")
            opt.support = 2
            opt.support_h = _int(support[1], "support box H", 1, _SIZE_MAX)
            opt.support_w = _int(support[2], "support box W", 1, _SIZE_MAX)
        elif isinstance(support, (tuple, str)):
            raise KernestInputError("support: %r is not ('disk', R), ('box', H, W) or a 2-D mask" % (support,),
                                    "E_INVALID")
        else:
            mn, msx = _as_array(support, "support")
            keep += [mn, msx]
            opt.support = 3
            opt.support_mask = ctypes.cast(ctypes.pointer(msx), ctypes.c_void_p)
    if fixed:
        items = list(fixed.items()) if isinstance(fixed, dict) else [((r, c), v) for r, c, v in fixed]
        lim = 2**63 - 1
        arr = (_Fixed * len(items))(*[_Fixed(_int(r, "fixed row", -lim, lim), _int(c, "fixed column", -lim, lim),
                                             _float(v, "fixed value")) for (r, c), v in items])
        keep.append(arr)
        opt.nfixed = len(items)
        opt.fixed = ctypes.cast(arr, ctypes.c_void_p)


def estimate(A, B, mode="same", ksize=None, reg=None, lam=None, tol=1e-6, maxiter=500,
             threads=0, precision=None, device="auto", model=None, solver="auto", l1=None,
             nonneg=False, bounds=None, sum=None, support=None, fixed=None, progress=None,
             checkpoint=None, checkpoint_every=60.0, resume=None, tv=None, layout="auto",
             correlate=False, lambda_=None, select="cv", sigma=None, probes=2, uncertainty=None,
             seed=1, background=False, outer_maxiter=30, outer_tol=1e-4, fast=False, bias=False,
             padding=None, padding_mode="zeros", stride=1, dilation=1, groups=1, precond="auto"):
    """Estimate the kernel K shared by the pairs (A_i, B_i); returns a Result (unpacks as (K, report)).

    The default is the kernest command's (`kernest estimate A B -o K`): when none of model, reg,
    lam (lambda_), l1 and tv is given, the model and λ are chosen from the data (model="auto",
    below); its cost (solves, iterations, time) shows in the progress display and in
    report["automatic"]. fast=True makes one plain solve instead (--fast: pixel model, no
    regulariser, CGLS; the C library's default). Giving model, reg, lam, l1 or tv makes one solve
    with what is given (as on the command line).

    A, B: arrays, or lists of arrays (one pair per entry; shapes may differ between pairs): 2-D,
    or with channels as described under "Several channels" below.
    mode: "same" | "full" | "valid" (scipy.signal.convolve2d windows).
    ksize: (Kh, Kw); default for "same" is (2Ha-1, 2Wa-1); for full/valid, what makes A and B fit.
    reg, lam: regulariser "none" | "ridge" (lam/2 ||K||^2) | "grad" (lam/2 ||grad K||^2).
    tol, maxiter: CGLS stops when ||normal-equation residual|| / initial <= tol and, with a prior
    (lam > 0), the objective fell by at most 300*tol of itself over the last 10 iterations (or, tol > 0, once that
    residual is down to the working precision's resolution: 10 eps of its value at K = 0), FISTA when its
    gradient mapping L*||y - prox(y - grad/L)|| is <= tol * ||H'b|| (whatever the start) and the
    relative change of K is <= tol; both after maxiter iterations at most (after the automatic choice
    ran on a window of a large problem, its final solve on all the data after 10*maxiter).
    precond: CGLS's preconditioner, "auto" (for radial mean from 2**19 kernel pixels, jacobi below;
    jacobi for lowrank; none for pixel and harmonic) | "jacobi" (a diagonal) | "mean" (radial, one kernel, no background: jacobi of A less
    its mean plus the mean's share as a rank-64 correction; jacobi elsewhere) | "none";
    preconditioned, tol is measured in its norm (README, "The preconditioner").
    threads: CPU threads (0 = all cores). precision: None (double on CPU, single on GPU),
    "double" or "single". device: "auto" | "cpu" | "cuda" | "cuda:N".
    Priors (any constraint, l1 or tv selects FISTA under solver="auto"):
    model: "pixel" (the default of one solve) | "radial" (K = Phi(f), a profile on knots 1 px apart; report["model"]["profile"])
    | "harmonic:M" (profiles times cos/sin of m*theta, m <= M; report["model"]["coefficients"])
    | "lowrank:R" (K = sum of R outer products u v^T by ALS; report["model"]["u"], ["v"], ["als"])
    | "auto" (see below). Which constraints each model takes: README "Priors" (others raise).
    solver: "auto" | "cgls" | "fista" | "gpcg". l1: weight of l1 ||K||_1. tv: weight of isotropic total
    variation sum sqrt(dxK^2 + dyK^2) (pixel model; combines with reg, l1 and constraints). nonneg: K >= 0.
    bounds: (lo, hi). sum: fixed sum of K (with channels, of each kernel). support: ("disk", R) |
    ("box", H, W) | a 0/1 array shaped like K. fixed: {(row, col): value} or [(row, col, value)],
    offsets from the centre.
    background: also fit one constant offset per pair (report["background"]).
    bias: also fit one offset per output channel shared by every sample, a convolution layer's
    bias (report["bias"], result.bias); not with background.
    padding, padding_mode: a layer's padding as PyTorch defines it, instead of mode: None (use
    mode), "valid" (none), "same" (P = dilation*(k-1) in all, P//2 before and the rest after), an
    int, or (rows, columns);
    padding_mode "zeros" | "reflect" | "replicate" | "circular". A is padded, then the window is
    valid; needs ksize. With stride > 1, "same" is JAX's and TensorFlow's SAME (output ceil(H/stride);
    PyTorch refuses padding='same' with a stride).
    stride, dilation, groups: a layer's, exactly as torch.nn.Conv2d (stride and dilation: an int or
    (rows, columns); JAX: window_strides, rhs_dilation, feature_group_count). The operator itself
    subsamples, dilates and blocks: K is (C_out, C_in/groups, Kh, Kw), the layer's weight, and the
    unknowns are exactly its parameters (depthwise: groups = C_in). stride or dilation need ksize.
    outer_maxiter, outer_tol: lowrank's ALS sweeps cap and relative change of K to stop at.
    progress: None (default): a progress display on stderr in a terminal or a notebook, once a
    call has run for a second (tqdm's bar when tqdm is installed, a plain line otherwise); True:
    the display wherever stderr goes; False: none. A callable is called instead after every
    iteration with a dict (iteration, first_iteration, maxiter, residual, tol, elapsed, solver of
    the current solver run; phase: what the run is for — None for a plain solve, else e.g.
    "choosing: radial+grad, lambda 53.2, fold 2/3", "final: radial+grad, lambda 53.2" or
    "uncertainty: sample 2/8"; run: which run of this call, from 1 — the automatic choice's λ path
    and folds and lowrank's sweeps make many; total_iterations: iterations of every run of this
    call so far, report["automatic"]["iterations"] at the end of an automatic choice); a true
    return value stops the solve (stop reason "interrupted", K is the current iterate). An
    exception raised in it, KeyboardInterrupt (Ctrl-C) included, stops the solve cleanly
    (writing the checkpoint) and is raised again; Ctrl-C works the same with the display.
    checkpoint: path of the solver state, written every checkpoint_every seconds, at the last
    iteration and when stopped. resume: a checkpoint of the same inputs and options to go on
    from; the result equals the uninterrupted solve's.
    Several channels: A of (C_in, H, W) or (S, C_in, H, W), B of (C_out, Hb, Wb) or
    (S, C_out, Hb, Wb) (one pair per list entry, as above) give B[s,o] = sum_i crop(A[s,i] ⊛ K[o,i]);
    K is then returned as (C_out, C_in, Kh, Kw), and every model's report entries (profile,
    coefficients, u, v) gain the same two leading axes: one profile per kernel. layout: "auto" | "chw" | "nchw" — how 3-D arrays
    are read (auto = chw: (C, H, W), one sample; nchw: (S, H, W), one channel). correlate=True
    returns cross-correlation kernels (each flipped in both axes), the weights torch.nn.Conv2d
    stores; support and fixed are then read in that frame too.

    Automatic choices (README "Automatic choices and uncertainty"); the default, as the CLI's:
    lam="auto" (or lambda_="auto"): choose λ of reg (grad when reg="none") by select:
    "cv" | "cv:K" | "gcv" | "discrepancy" | "lcurve". model="auto": choose among pixel+grad,
    pixel+nonneg+grad, radial+grad, harmonic:2+grad and lowrank:2+grad (from two starts) by
    cross-validation (implies lam="auto").
    sigma: noise standard deviation if known (else estimated). probes: Hutchinson probes.
    l1="auto" with lam="auto": also choose the ℓ1 weight, after λ, by cv.
    uncertainty=S: S randomize-then-optimize samples; report["uncertainty"] then also holds
    "coverage" and "std" (arrays shaped like K). seed: folds, probes and samples.
    The report's "automatic" entry lists every candidate with its λ and score, and the choice;
    report["final"] holds the model, reg and λ of the estimate.

    Returns a kernest.Result: it unpacks as (K, report) — K a float64 array, report a dict (stop
    reason, iterations, residual history, misfit per pair, device, times) — and has .kernel,
    .report, .background (.bias), .profile, .uncertainty, .predict(A), .score(A_test, B_test);
    kernest.plot(result) draws it. Not converging is reported, not raised.
    """
    As = list(A) if isinstance(A, (list, tuple)) else [A]
    Bs = list(B) if isinstance(B, (list, tuple)) else [B]
    if len(As) != len(Bs) or not As:
        raise KernestInputError("estimate: got %d A arrays and %d B arrays" % (len(As), len(Bs)), "E_INVALID")
    keep, a_structs, b_structs = [], [], []
    for i, (a, b) in enumerate(zip(As, Bs)):
        an, asx = _as_array(a, "A[%d]" % i, 4)
        bn, bsx = _as_array(b, "B[%d]" % i, 4)
        keep += [an, bn]
        a_structs.append(asx)
        b_structs.append(bsx)
    n = len(As)
    pa = (_P_Array * n)(*[ctypes.pointer(s) for s in a_structs])
    pb = (_P_Array * n)(*[ctypes.pointer(s) for s in b_structs])
    opt = _Options()
    _lib.kernest_options_default(ctypes.byref(opt))
    opt.mode = _pick(_MODES, mode, "mode")
    if ksize is not None:
        if not isinstance(ksize, (tuple, list)) or len(ksize) != 2:
            raise KernestInputError("ksize: must be two positive integers, got %r" % (ksize,), "E_INVALID")
        opt.kh, opt.kw = _int(ksize[0], "ksize", 1, _INT_MAX), _int(ksize[1], "ksize", 1, _INT_MAX)
    if lambda_ is not None:
        lam = lambda_
    # the CLI's rule (cmd_estimate.c): automatic unless a model, a regulariser or a weight is given
    # (l1 and tv are parts of --reg there), or fast
    automatic = not fast and model is None and reg is None and lam is None and l1 is None and tv is None
    if fast and (model == "auto" or lam == "auto" or l1 == "auto"):
        raise KernestInputError("fast=True: cannot be combined with model='auto', lam='auto' or l1='auto'",
                                "E_INVALID")
    if model == "auto" and lam is not None and lam != "auto":
        raise KernestInputError("model='auto': chooses lambda too; drop lam", "E_INVALID")
    if automatic and (checkpoint is not None or resume is not None):
        raise KernestInputError("%s: not with the automatic choice, the default (it runs many solves); give "
                                "model, reg and lam, or fast=True" % ("checkpoint" if checkpoint is not None
                                                                      else "resume"), "E_INVALID")
    reg = "none" if reg is None else reg
    lam = 0.0 if lam is None else lam
    l1 = 0.0 if l1 is None else l1
    tv = 0.0 if tv is None else tv
    if automatic:
        model = "auto"
    elif model is None:
        model = "pixel"
    opt.reg = _pick(_REGS, reg, "reg")
    auto_model = model == "auto"
    if auto_model:
        model = "pixel"
        opt.auto_model = opt.auto_lambda = 1
    if isinstance(lam, str):
        if lam != "auto":
            raise KernestInputError("lam: %r is not a number or 'auto'" % (lam,), "E_INVALID")
        opt.auto_lambda = 1
        lam = 0.0
    folds = ctypes.c_int(opt.cv_folds)
    sel = _lib.kernest_select_parse(str(select).encode(), ctypes.byref(folds))
    if sel < 0:
        raise KernestInputError("select: %r is not cv, cv:K, gcv, discrepancy or lcurve" % (select,), "E_INVALID")
    opt.select, opt.cv_folds = sel, folds.value
    opt.sigma = 0.0 if sigma is None else _float(sigma, "sigma", 0.0)
    opt.probes = _int(probes, "probes", 1, 8)
    opt.uncertainty = 0 if not uncertainty else _int(uncertainty, "uncertainty", 2, 100000)
    opt.seed = _int(seed, "seed", 0, 2**64 - 1)
    opt.lambda_ = _float(lam, "lam")  # its range: the library's check (--lambda)
    if isinstance(l1, str):
        if l1 != "auto":
            raise KernestInputError("l1: %r is not a number or 'auto'" % (l1,), "E_INVALID")
        opt.auto_l1 = 1
        l1 = 0.0
    opt.tol = _float(tol, "tol", 0.0)
    opt.maxiter = _int(maxiter, "maxiter", 0, 100000000)
    opt.threads = _int(threads, "threads", 0, 4096)  # 0: all cores
    opt.precision = _pick(_PRECISIONS, precision, "precision")
    opt.device, opt.device_index = _device(device)
    _set_priors(opt, keep, model, solver, l1, nonneg, bounds, sum, support, fixed)
    if checkpoint is not None:
        opt.checkpoint = os.fsencode(checkpoint)
    opt.checkpoint_every = _float(checkpoint_every, "checkpoint_every", 0.0)
    if resume is not None:
        opt.resume = os.fsencode(resume)
    raised = []
    if progress is None or progress is True or progress is False:
        show = progress is True or (progress is None and _progress.interactive())
        bar = _progress.Bar(opt.auto_model or opt.auto_lambda) if show else None
        callback = bar.update if bar else None
    elif callable(progress):
        bar, callback = None, progress
    else:
        raise KernestInputError("progress: %r is not None, True, False or a callable" % (progress,), "E_INVALID")
    count = {"solve": 0, "total": 0, "last": None}

    sigint = []

    def on_progress(_user, p):
        # always installed: the solve runs without the GIL, and this is where Python runs its
        # signal handlers; Ctrl-C stops the solve cleanly (see on_sigint below)
        try:
            if sigint:
                return 1
            q = p.contents
            # a solve's first call has iteration first_iteration + 1 (the count starts over)
            new = count["last"] is None or q.iteration <= count["last"] or q.iteration == q.first_iteration + 1
            count["solve"] += new
            count["total"] += q.iteration - (q.first_iteration if new else count["last"])
            count["last"] = q.iteration
            if callback is None:
                return 0
            return 1 if callback({"iteration": q.iteration, "first_iteration": q.first_iteration,
                                  "maxiter": q.maxiter, "residual": q.residual, "tol": q.tol,
                                  "elapsed": q.elapsed, "solver": q.solver.decode(),
                                  "phase": q.phase.decode() if q.phase else None,
                                  "run": count["solve"], "total_iterations": count["total"]}) else 0
        except BaseException as e:  # noqa: B036 - re-raised after the solve
            raised.append(e)
            return 1

    opt.progress = _PROGRESS_FN(on_progress)
    keep.append(opt.progress)
    opt.tv = _float(tv, "tv", 0.0)
    opt.layout = _pick(_LAYOUTS, layout, "layout")
    opt.correlate = 1 if correlate else 0
    opt.background = 1 if background else 0
    opt.bias = 1 if bias else 0
    if padding is not None:
        opt.padding = 1
        opt.padding_mode = _pick(_PADDING_MODES, padding_mode, "padding_mode")
        opt.pad_h, opt.pad_w = _padding_sides(padding)
    opt.geometry = _geometry(stride, dilation, groups)
    opt.precond = _pick(_PRECONDS, precond, "precond")
    opt.outer_maxiter = _int(outer_maxiter, "outer_maxiter", 1, 100000)
    opt.outer_tol = _float(outer_tol, "outer_tol", 0.0)
    K = _P_Array()
    rep = ctypes.c_void_p()
    # Ctrl-C: Python's own handler raises KeyboardInterrupt wherever the main thread is, and in a
    # ctypes callback that can be before any try (ctypes then prints and drops it, and the solve
    # goes on). So during the solve a handler that only records it; the next progress call stops
    # the solve (the checkpoint is written) and KeyboardInterrupt is raised here afterwards.
    def on_sigint(signum, frame):
        sigint.append(signum)

    previous = None
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        previous = signal.signal(signal.SIGINT, on_sigint)
    status = None
    try:
        status = _lib.kernest_estimate(pa, pb, n, ctypes.byref(opt), ctypes.byref(K), ctypes.byref(rep))
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if bar is not None and (status != 0 or raised or sigint):  # stopped or failed: no summary
            bar.close()
    if status == 0 and sigint and not raised:
        raised.append(KeyboardInterrupt())
    if status == 0 and raised:
        _lib.kernest_array_destroy(ctypes.byref(K))
        _lib.kernest_report_destroy(ctypes.byref(rep))
        raise raised[0]
    _check(status)
    try:
        text = ctypes.c_void_p()
        _check(_lib.kernest_report_to_json(rep, ctypes.byref(opt), None, ctypes.byref(text)))
        report = json.loads(ctypes.string_at(text.value).decode())
        _lib.kernest_free(text)
        if opt.uncertainty:
            cov, std = _P_Array(), _P_Array()
            _check(_lib.kernest_report_uncertainty(rep, ctypes.byref(cov), ctypes.byref(std)))
            report["uncertainty"]["coverage"] = _take(cov)
            report["uncertainty"]["std"] = _take(std)
    finally:
        _lib.kernest_report_destroy(ctypes.byref(rep))
    if bar is not None:
        bar.close(_summary(report))
    return Result(_take(K), report, mode=mode, layout=layout, correlate=correlate, first_pair=(As[0], Bs[0]),
                  padding=None if padding is None else (padding, padding_mode),
                  geometry=(stride, dilation, groups))


def _summary(report):
    """One line on what a call did, as the kernest command prints it."""
    auto, solve = report.get("automatic"), report["solve"]
    head = ""
    if auto:
        final = report.get("final", {})
        head = "kernest: chose %s, lambda %.4g by %s (%d solves, %d iterations); " % (
            auto["chosen"], final.get("lambda", 0.0), auto["rule"], auto["solves"], auto["iterations"])
    return "%s%s %s after %d iterations, %.2f s" % (head or "kernest: ", solve["solver"], solve["stop_reason"],
                                                    solve["iterations"], report["time_seconds"]["wall"])


def convolve(A, K, mode="same", layout="auto", correlate=False, padding=None, padding_mode="zeros",
             stride=1, dilation=1, groups=1):
    """B = crop_mode(A ⊛ K): exact linear convolution (kernel flipped) as scipy.signal.convolve2d.

    Several channels: K of (C_out, C_in, Kh, Kw) and A of (C_in, H, W) or (S, C_in, H, W) give
    B[s,o] = sum_i crop(A[s,i] ⊛ K[o,i]), shaped (C_out, Hb, Wb) or (S, C_out, Hb, Wb). layout as in
    estimate. correlate=True: K holds cross-correlation kernels (sum of scipy.signal.correlate2d).
    A layer: padding, padding_mode, stride, dilation and groups as estimate takes them (padding
    replaces mode: A padded, then the valid window); with correlate=True this is
    torch.nn.functional.conv2d(A, K, stride=, padding=, dilation=, groups=).
    """
    kn, ksx = _as_array(K, "K", 4)
    g = _geometry(stride, dilation, groups)
    if padding is not None:
        A = _pad_layer(A, kn.shape[-2], kn.shape[-1], padding, padding_mode, g)
        mode = "valid"
    an, asx = _as_array(A, "A", 4)
    m = _pick(_MODES, mode, "mode")
    lay = _pick(_LAYOUTS, layout, "layout")
    out = _P_Array()
    if an.ndim == 2 and kn.ndim == 2 and not correlate and lay == 0 and padding is None and \
            (stride, dilation, groups) == (1, 1, 1):
        _check(_lib.kernest_convolve(ctypes.byref(asx), ctypes.byref(ksx), m, ctypes.byref(out)))
    else:
        _check(_lib.kernest_convolve_layer(ctypes.byref(asx), ctypes.byref(ksx), m, lay, 1 if correlate else 0,
                                           ctypes.byref(g), None, None, ctypes.byref(out)))
    return _take(out)


# ---- array files in every format the library reads (kernest_array_read / kernest_array_write) --

class _ReadOptions(ctypes.Structure):
    _fields_ = [("raw_ndim", ctypes.c_int),
                ("raw_shape", ctypes.c_size_t * _MAX_NDIM),
                ("raw_dtype", ctypes.c_char_p),
                ("text_max_elements", ctypes.c_size_t)]


_lib.kernest_read_options_default.argtypes = [ctypes.POINTER(_ReadOptions)]
_lib.kernest_array_read.argtypes = [ctypes.c_char_p, ctypes.POINTER(_ReadOptions), ctypes.POINTER(_P_Array)]
_lib.kernest_array_write.argtypes = [ctypes.c_char_p, _P_Array, ctypes.c_int]
_lib.kernest_format_available.argtypes = [ctypes.c_int]
_lib.kernest_format_name.restype = ctypes.c_char_p
_lib.kernest_format_name.argtypes = [ctypes.c_int]


def read(path, shape=None, dtype=None):
    """Read an array file; the format follows the extension: .npy, .npz or .npz:NAME, .fits,
    .tif, .csv/.txt/.tsv, or .raw/.bin with shape=(H, W) and dtype="f4" (f4 f8 i1..i8 u1..u8,
    little-endian). Returns a float64 NumPy array."""
    ro = _ReadOptions()
    _lib.kernest_read_options_default(ctypes.byref(ro))
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if not 1 <= len(shape) <= _MAX_NDIM:
            raise KernestInputError("shape: 1 to %d dimensions" % _MAX_NDIM, "E_INVALID")
        ro.raw_ndim = len(shape)
        for d, s in enumerate(shape):
            ro.raw_shape[d] = s
    keep = dtype.encode() if dtype is not None else None
    ro.raw_dtype = keep
    out = _P_Array()
    _check(_lib.kernest_array_read(os.fsencode(path), ctypes.byref(ro), ctypes.byref(out)))
    return _take(out)


def write(path, array, precision="double"):
    """Write a 1-D to 4-D array in the format the extension names (as read), as float64
    (precision="double") or float32 ("single"), atomically (temporary file, then rename)."""
    a = np.ascontiguousarray(_real(array, "array").astype(np.float64, copy=False))
    if not 1 <= a.ndim <= _MAX_NDIM:
        raise KernestInputError("array: 1 to %d dimensions, got %d" % (_MAX_NDIM, a.ndim), "E_INVALID")
    s = _view(a)
    prec = _pick({"double": 0, "single": 1}, precision, "precision")
    _check(_lib.kernest_array_write(os.fsencode(path), ctypes.byref(s), prec))


def formats():
    """The array file formats this build of the library reads and writes."""
    return [_lib.kernest_format_name(f).decode() for f in range(1, 7) if _lib.kernest_format_available(f)]


__all__ += ["read", "write", "formats"]
