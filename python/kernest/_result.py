"""kernest.Result, what estimate returns, and kernest.plot, its matplotlib pictures."""
import numpy as np


def ring_means(K):
    """Mean of K over rings 1 px wide around the centre ((Kh-1)//2, (Kw-1)//2), r = 0, 1, 2, ...
    up to the nearest edge (the profile of the CLI's profile.png); leading axes are kept."""
    K = np.asarray(K, dtype=float)
    h, w = K.shape[-2:]
    ch, cw = (h - 1) // 2, (w - 1) // 2
    m = 1 + min(ch, cw)
    y, x = np.mgrid[0:h, 0:w]
    r = np.rint(np.hypot(y - ch, x - cw)).astype(int)
    planes = K.reshape(-1, h, w)
    out = np.full((planes.shape[0], m), np.nan)
    inside = r < m
    for q, plane in enumerate(planes):
        ok = inside & np.isfinite(plane)
        sums = np.bincount(r[ok], weights=plane[ok], minlength=m)[:m]
        counts = np.bincount(r[ok], minlength=m)[:m]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[q] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return out.reshape(K.shape[:-2] + (m,))


class Result(tuple):
    """What kernest.estimate returns: unpacks as (kernel, report), like earlier versions.

    .kernel       the estimate K (float64; (C_out, C_in, Kh, Kw) with channels)
    .report       the report dict (as `kernest estimate --report` writes it)
    .background   the fitted offset per pair (an array; None unless background=True)
    .bias         the fitted offset per output channel (an array, C_out values, with bias=True: a
                  layer's bias); without bias=True, the same as .background
    .profile      the radial profile: the model's f(r) at r = 0, 1, 2, ... px for model "radial",
                  else the mean of K over rings 1 px wide (as the CLI's profile.png)
    .uncertainty  report["uncertainty"] (coverage and std maps when uncertainty=S), or None
    .predict(A)   crop_mode(A ⊛ K) (+ the fitted offset), through the library's convolve
    .score(A_test, B_test)  held-out error as `kernest score`
    kernest.plot(result) draws kernel, residual, profile and convergence.
    """

    def __new__(cls, kernel, report, mode="same", layout="auto", correlate=False, first_pair=None, padding=None,
                geometry=(1, 1, 1)):
        self = super().__new__(cls, (kernel, report))
        self._mode, self._layout, self._correlate = mode, layout, correlate
        self._first_pair = first_pair
        self._padding = padding  # (padding, padding_mode) as given to estimate, or None
        self._geometry = geometry  # (stride, dilation, groups) as given to estimate
        return self

    def __getnewargs__(self):
        return (self[0], self[1], self._mode, self._layout, self._correlate, self._first_pair, self._padding,
                self._geometry)

    @property
    def kernel(self):
        return self[0]

    @property
    def report(self):
        return self[1]

    @property
    def background(self):
        b = self[1].get("background")
        return None if b is None else np.asarray(b, dtype=float)

    @property
    def bias(self):
        b = self[1].get("bias")
        return self.background if b is None else np.asarray(b, dtype=float)

    @property
    def profile(self):
        model = self[1].get("model", {})
        if model.get("kind") == "radial" and "profile" in model:
            return np.asarray(model["profile"], dtype=float)
        return ring_means(self[0])

    @property
    def uncertainty(self):
        return self[1].get("uncertainty")

    def _offset(self, offset):
        if offset is not None:
            return offset
        if self[1].get("bias") is not None: # a bias per output channel: broadcast over the planes
            b = self.bias
            if self[0].ndim == 4:
                return b.reshape(-1, 1, 1)
            return float(b.reshape(-1)[0]) if b.size == 1 else b.reshape(-1, 1, 1)
        b = self.background
        if b is None:
            return 0.0
        if b.size == 1:
            return float(b.reshape(-1)[0])
        from . import KernestInputError
        raise KernestInputError("predict: the fit has %d offsets (one per pair, sample or channel); pass "
                                "offset= (a number, or an array that broadcasts against the prediction)"
                                % b.size, "E_INVALID")

    def predict(self, A, offset=None, mode=None):
        """The forward model at the estimate: crop_mode(A ⊛ K) plus the fitted offset (background=True
        with one pair; with several, pass offset=). mode defaults to the fit's; layout and correlate
        are the fit's."""
        from . import convolve
        stride, dilation, groups = self._geometry
        padding = self._padding if mode is None else None  # the fit's framework padding, then valid
        P = convolve(A, self[0], mode=mode or self._mode, layout=self._layout, correlate=self._correlate,
                     padding=None if padding is None else padding[0],
                     padding_mode="zeros" if padding is None else padding[1],
                     stride=stride, dilation=dilation, groups=groups)
        return P + self._offset(offset)

    def score(self, A_test, B_test, sigma=1.0, truth=None, offset=None):
        """Score on a held-out pair, as `kernest score A_test B_test K [--sigma S] [--truth T]`:
        a dict with rmse = RMS(B_test − predict(A_test)) over the non-NaN pixels of B_test,
        rmse_over_sigma = rmse / sigma (1.0 is the noise floor; the CLI's default sigma is 1 too),
        and with truth also kernel_rel_error and kernel_rel_error_central (‖K − T‖/‖T‖ over the
        whole kernel and over its middle ceil(Kh/2) × ceil(Kw/2) window). The prediction adds the
        fitted offset (kernest score does not fit one)."""
        B = np.asarray(B_test, dtype=float)
        P = self.predict(A_test, offset=offset)
        if P.shape != B.shape:
            from . import KernestInputError
            raise KernestInputError("score: B_test is %s but the prediction from A_test is %s"
                                    % (B.shape, P.shape), "E_SHAPE")
        ok = ~np.isnan(B)
        rmse = float(np.sqrt(np.mean((B[ok] - P[ok]) ** 2))) if ok.any() else 0.0
        out = {"rmse": rmse, "rmse_over_sigma": rmse / float(sigma), "sigma": float(sigma)}
        if truth is not None:
            K, T = self[0], np.asarray(truth, dtype=float)
            if T.shape != K.shape:
                from . import KernestInputError
                raise KernestInputError("score: truth is %s but the kernel is %s" % (T.shape, K.shape),
                                        "E_SHAPE")
            kh, kw = K.shape[-2:]
            ch, cw = (kh + 1) // 2, (kw + 1) // 2
            r0, c0 = (kh - ch) // 2, (kw - cw) // 2

            def rel(a, b):
                num, den = np.sum((a - b) ** 2), np.sum(b ** 2)
                return float(np.sqrt(num / den) if den > 0 else np.sqrt(num))

            out["kernel_rel_error"] = rel(K, T)
            out["kernel_rel_error_central"] = rel(K[..., r0:r0 + ch, c0:c0 + cw], T[..., r0:r0 + ch, c0:c0 + cw])
        return out

    def residual(self):
        """B − predict(A) of the first pair, with its fitted offset (NaN where B is missing); None
        with channels (3-D or 4-D pairs)."""
        if self._first_pair is None:
            return None
        A, B = (np.asarray(x, dtype=float) for x in self._first_pair)
        if A.ndim != 2 or B.ndim != 2:
            return None
        b = self.background
        return B - self.predict(A, offset=0.0 if b is None else float(b[0]))

    def __repr__(self):
        rep = self[1]
        what = rep.get("model", {}).get("kind", "?")
        final = rep.get("final")
        if final:
            what = "%s+%s, lambda %.4g" % (final.get("model"), final.get("reg"), final.get("lambda", 0.0))
        auto = rep.get("automatic")
        cost = " (automatic: %d solves, %d iterations)" % (auto["solves"], auto["iterations"]) if auto else ""
        solve = rep.get("solve", {})
        return "kernest.Result(kernel %s, %s, %s after %s iterations%s)" % (
            "x".join(str(s) for s in self[0].shape), what, solve.get("stop_reason"), solve.get("iterations"), cost)


def plot(result, truth=None, scale="auto", fig=None):
    """Draw an estimate with matplotlib: the kernel (axes in pixel offsets from the centre), the
    residual B − crop(A ⊛ K) of the first pair, the radial profile (ring means of K; with truth,
    the true kernel's too) and the convergence history. With channels, the first kernel.
    scale: "auto" (symmetric-log colours when K has both signs, else linear) | "linear" | "symlog".
    Returns the matplotlib Figure (fig: an existing Figure to draw into)."""
    try:
        import matplotlib.pyplot as plt
        from matplotlib import colors
    except ImportError as e:
        raise ImportError("kernest.plot needs matplotlib: pip install matplotlib "
                          "(the kernest command draws PNGs itself: kernest estimate --plot DIR)") from e
    if not isinstance(result, Result):
        raise TypeError("kernest.plot: expected what kernest.estimate returns, got %s" % type(result).__name__)
    K = result.kernel
    K2 = K.reshape(-1, *K.shape[-2:])[0]
    kh, kw = K2.shape
    ch, cw = (kh - 1) // 2, (kw - 1) // 2
    if fig is None:
        fig = plt.figure(figsize=(10, 8))
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    if scale not in ("auto", "linear", "symlog"):
        raise ValueError("scale: %r is not auto, linear or symlog" % (scale,))
    both = np.nanmin(K2) < 0 < np.nanmax(K2)
    vmax = float(np.nanmax(np.abs(K2))) or 1.0
    if scale == "symlog" or (scale == "auto" and both):
        norm = colors.SymLogNorm(linthresh=vmax * 1e-2, vmin=-vmax, vmax=vmax)
        cmap = "RdBu_r"
    else:
        norm, cmap = None, "viridis"
    im = ax.imshow(K2, origin="upper", cmap=cmap, norm=norm, interpolation="nearest",
                   extent=(-cw - 0.5, kw - 1 - cw + 0.5, kh - 1 - ch + 0.5, -ch - 0.5))
    fig.colorbar(im, ax=ax)
    title = "kernel %dx%d" % (kh, kw) + (" (first of %d)" % (K.size // K2.size) if K.ndim > 2 else "")
    ax.set_title(title)
    ax.set_xlabel("column offset (px)")
    ax.set_ylabel("row offset (px)")
    ax = axes[0, 1]
    R = result.residual()
    if R is not None and R.ndim == 2:
        lim = float(np.nanmax(np.abs(R))) or 1.0
        im = ax.imshow(R, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        fig.colorbar(im, ax=ax)
        ax.set_title("residual B - crop(A * K), first pair (rms %.3g)" % float(np.sqrt(np.nanmean(R ** 2))))
    else:
        ax.set_axis_off()
        ax.set_title("residual: 2-D pairs only")
    ax = axes[1, 0]
    p = ring_means(K2)
    ax.plot(np.arange(p.size), p, label="estimate (ring means)")
    if truth is not None:
        t = ring_means(np.asarray(truth, dtype=float).reshape(-1, kh, kw)[0])
        ax.plot(np.arange(t.size), t, label="truth", linestyle="--")
    pos = p[1:][np.isfinite(p[1:])]
    if pos.size and np.all(pos > 0) and pos.max() / pos.min() > 10:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("r (px)")
    ax.set_ylabel("mean of K on the ring")
    ax.set_title("radial profile")
    ax.legend()
    ax = axes[1, 1]
    hist = np.asarray(result.report["solve"]["residual_history"], dtype=float)
    ax.semilogy(np.arange(hist.size), np.where(hist > 0, hist, np.nan))
    ax.set_xlabel("iteration")
    ax.set_ylabel(result.report["solve"].get("history", "residual").replace("_", " "))
    ax.set_title("convergence (%s, %s)" % (result.report["solve"]["solver"], result.report["solve"]["stop_reason"]))
    fig.tight_layout()
    return fig
