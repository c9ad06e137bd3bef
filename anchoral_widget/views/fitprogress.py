"""Where the map's fit stands: its status, phase, the fraction done (approximate), elapsed and
estimated remaining seconds, and the error that ended it. The fit of
:class:`~anchoral_widget.views.projection.Projection` moves it on, from its background thread;
``Projection.progress()`` and ``describe()`` read it.
"""

from __future__ import annotations

import time

STATUSES = ("idle", "fitting", "ready", "error")


class FitProgress:
    """One fit's progress at a time (a new fit begins it again)."""

    def __init__(self) -> None:
        self.status = "idle"
        self.phase = ""
        self.fraction = 0.0
        self.started: float | None = None
        self.layout_started: float | None = None
        self.eta: float | None = None
        self.error: BaseException | None = None

    def begin(self) -> None:
        """A fit starts now."""
        self.status, self.phase, self.fraction = "fitting", "starting", 0.0
        self.error, self.eta = None, None
        self.started = time.perf_counter()

    def on_epochs(self, n: int, total: int) -> None:
        """UMAP's layout has run ``n`` of its ``total`` epochs (30% to 90% of the fit)."""
        now = time.perf_counter()
        if self.phase != "layout":
            self.phase, self.layout_started = "layout", now
        self.fraction = 0.3 + 0.6 * n / max(total, 1)
        if n:
            assert self.layout_started is not None  # set when the layout phase began, above
            self.eta = (now - self.layout_started) / n * (total - n)

    def elapsed(self) -> float | None:
        """Seconds since the fit began (None before)."""
        return None if self.started is None else time.perf_counter() - self.started

    def finish(self) -> None:
        self.status, self.phase, self.fraction, self.eta = "ready", "", 1.0, 0.0

    def stop(self) -> None:
        """The fit was cancelled: as if it had not started."""
        self.status, self.phase, self.eta = "idle", "", None

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.status, self.eta = "error", None

    def report(self, *, fit_seconds: float | None, from_cache: bool) -> dict:
        """What ``Projection.progress()`` returns: the elapsed time is the whole fit's once
        ready (``fit_seconds``)."""
        elapsed = self.elapsed()
        if self.status == "ready" and fit_seconds is not None:
            elapsed = fit_seconds
        return {
            "status": self.status,
            "phase": self.phase,
            "fraction": float(self.fraction),
            "elapsed_s": elapsed,
            "eta_s": self.eta,
            "from_cache": from_cache,
            "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}",
        }
