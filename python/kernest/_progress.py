"""The progress display of kernest.estimate: a tqdm bar when tqdm is installed, a plain line on
stderr otherwise. It appears only once a call has run for `delay` seconds, so short solves print
nothing; the automatic choice shows its cost so far (solves, iterations, time)."""
import sys
import time

_DRAW_INTERVAL = 0.1  # seconds between plain-line redraws, as the CLI's progress line
DELAY = 1.0  # seconds a call runs before the display appears


def interactive():
    """True in a terminal or a Jupyter kernel: where a progress display is wanted by default."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class Bar:
    """Progress of one estimate call. update() takes the dict a progress callback receives
    (with the call-wide "run" and "total_iterations" keys); close() ends the display."""

    def __init__(self, automatic, delay=None, file=None, use_tqdm=True):
        self.automatic = automatic
        self.delay = DELAY if delay is None else delay
        self.file = file
        self.t0 = time.monotonic()
        self.tqdm = _tqdm() if use_tqdm else None
        self.bar = None
        self.width = 0
        self.last_draw = 0.0
        self.info = None

    def _text(self, info):
        if self.automatic:
            return "kernest automatic choice: run %d, %s%s iteration %d, %d iterations in all, %.1f s" % (
                info["run"], info["phase"] + " | " if info.get("phase") else "", info["solver"], info["iteration"],
                info["total_iterations"], time.monotonic() - self.t0)
        return "kernest: %s iteration %d/%d  residual %.3e  %.1f s" % (
            info["solver"], info["iteration"], info["maxiter"], info["residual"], time.monotonic() - self.t0)

    def update(self, info):
        self.info = info
        now = time.monotonic()
        if now - self.t0 < self.delay:
            return
        out = self.file if self.file is not None else sys.stderr
        if self.tqdm is not None:
            if self.bar is None:
                if self.automatic:  # the number of solves and their lengths are not known ahead
                    self.bar = self.tqdm(total=None, unit="it", desc="kernest automatic choice", file=out,
                                         leave=True)
                else:
                    self.bar = self.tqdm(total=info["maxiter"], initial=info["first_iteration"], unit="it",
                                         desc="kernest " + info["solver"], file=out, leave=True)
            if self.automatic:
                self.bar.update(info["total_iterations"] - self.bar.n)
                self.bar.set_postfix_str("run %d, %sresidual %.2e" % (
                    info["run"], info["phase"] + ", " if info.get("phase") else "", info["residual"]), refresh=False)
            else:
                if info["iteration"] < self.bar.n:  # lowrank: a new inner solve starts over
                    self.bar.reset(total=info["maxiter"])
                self.bar.update(info["iteration"] - self.bar.n)
                self.bar.set_postfix_str("residual %.2e" % info["residual"], refresh=False)
            return
        if now - self.last_draw < _DRAW_INTERVAL:
            return
        self.last_draw = now
        line = self._text(info)
        out.write("\r%s%s" % (line, " " * max(0, self.width - len(line))))
        out.flush()
        self.width = len(line)

    def close(self, summary=None):
        """End the display; summary (a line) replaces it when the display was shown."""
        out = self.file if self.file is not None else sys.stderr
        if self.bar is not None:
            if summary:
                self.bar.set_description_str(summary, refresh=False)
                self.bar.set_postfix_str("", refresh=False)
            self.bar.close()
            self.bar = None
        elif self.width:
            line = summary or ""
            out.write("\r%s%s%s" % (line, " " * max(0, self.width - len(line)), "\n" if summary else "\r"))
            out.flush()
            self.width = 0
