"""How far a session's start-up is, in the words of its ``startup`` field.

:class:`Progress` turns the start-up's ``(stage, done, total)`` reports (see :mod:`.startup`)
into what the widget's ``startup`` trait holds::

    {"stage": "encoding", "text": "encoding 12,288 / 58,000 texts · 2,950 texts/s · 16 s left",
     "done": 12288, "total": 58000, "rate": 2950.1, "left": 15.5,
     "seconds": {"encoding": 4.2, ...}}

``stage`` is ``starting``, ``encoding``, ``pool`` (hashing it), ``store``, ``map``, then
``ready``; ``index`` while the index is built behind the user's back, ``upgrade`` while a better
encoder encodes the pool (:mod:`.upgrade`: "fast embeddings; MiniLM's vectors behind you,
labelling is not waiting on them: 12,000 / 58,000 · 70 texts/s · 11 min left"); ``error`` when
the start-up failed (the error line says why; Retry goes on). ``seconds`` holds how long each
finished stage took; ``embeddings`` names the embeddings that serve the batches once an upgrade
is on (``fast``, then ``MiniLM``; None without one).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from ..errors import AnchorALError

#: Seconds between two reports of the same stage (the last one of a stage always goes out).
EVERY = 0.25
#: The background encode's rate is read over the last WINDOW seconds, and given only once its
#: counts span SETTLE seconds: its first seconds (the model loading, the labels' neighbourhoods
#: in small parts, one low-priority core) once read "2 texts/s · 8 h 28 min left" for ~10 min.
WINDOW, SETTLE = 60.0, 20.0

_TEXTS = {
    "starting": "starting…",
    # the first session on a machine where bin/setup did not run: nothing is downloaded
    "building": "building the encoder from the bundled MiniLM, once for this machine (then encoding)…",
    "pool": "hashing the pool…",
    "store": "opening the label store…",
    "map": "preparing the map…",
    "ready": "",
}


class Progress:
    """``(stage, done, total)`` reports turned into what the ``startup`` field shows, at most
    every :data:`EVERY` seconds within a stage.

    Parameters
    ----------
    show : callable
        ``show(startup)`` with the new value.
    clock : callable
        Seconds, for the rates (a test passes its own).
    """

    def __init__(self, show: Callable[[dict], None], *, clock: Callable[[], float] = time.monotonic):
        self._show, self._clock = show, clock
        self.stage: str | None = None
        self._since = self._shown = 0.0  # when the stage's count started; when last shown
        self._first: int | None = None  # the stage's first count (found in a cache): not in the rate
        self._points: deque[tuple[float, int]] = deque()  # the background encode's recent (time, done)
        self._done: int | None = None
        self._total: int | None = None
        self._seconds: dict[str, float] = {}
        self.embeddings: str | None = None  # which embeddings serve the batches, once an upgrade is on
        self.upgrading: str | None = None  # the encoder an upgrade encodes the pool with
        self.holding = False  # the first batch waits for the upgrade's move (.startup.holds_first_batch)

    def serving(self, embeddings: str) -> None:
        """Which embeddings serve the batches from now on: shown at once, in whatever stage."""
        self.embeddings = embeddings
        self._again()

    def hold(self, holding: bool) -> None:
        """Whether the first batch waits for the upgrade's move: shown at once, in whatever stage."""
        self.holding = holding
        self._again()

    def _again(self) -> None:
        if self.stage is not None:
            self._shown = float("-inf")  # not held back as a repeat
            self(self.stage, self._done, self._total)

    def __call__(self, stage: str, done: int | None, total: int | None) -> None:
        self._total = total
        now = self._clock()
        if stage != self.stage:
            self._points.clear()
        if done is not None:
            self._points.append((now, done))
            while now - self._points[0][0] > WINDOW:
                self._points.popleft()
        if stage != self.stage:
            if self.stage is not None and self.stage != "ready":
                self._seconds[self.stage] = round(self._seconds.get(self.stage, 0.0) + now - self._since, 3)
            self.stage, self._since, self._first = stage, now, done
        elif self._first is None and done is not None:
            self._since, self._first = now, done
        elif done != total and now - self._shown < EVERY:
            self._done = done
            return
        self._done, self._shown = done, now
        rate = left = None
        if stage == "upgrade":
            rate = self._recent_rate()
        elif done is not None and self._first is not None and done > self._first and now > self._since:
            rate = (done - self._first) / (now - self._since)
        if rate and done is not None and total is not None:
            left = (total - done) / rate
        self._show(
            {
                "stage": stage,
                "text": self._text(stage, done, total, rate, left),
                "done": done,
                "total": total,
                "rate": None if rate is None else round(rate, 1),
                "left": None if left is None else round(left, 1),
                "seconds": dict(self._seconds),
                "embeddings": self.embeddings,
            }
        )

    def _recent_rate(self) -> float | None:
        if not self._points:
            return None
        (start, first), (end, last) = self._points[0], self._points[-1]
        if end - start < SETTLE or last <= first:
            return None
        return (last - first) / (end - start)

    def _text(self, stage, done, total, rate, left) -> str:
        if stage == "ready" and self.embeddings:
            return f"{self.embeddings} embeddings"
        if stage == "upgrade":
            return self._upgrade_text(done, total, rate, left)
        if stage not in ("encoding", "index"):
            return _TEXTS.get(stage, f"{stage}…")
        if stage == "encoding" and done == total:
            return f"{total:,} texts encoded"
        if stage == "encoding" and rate is None:
            cached = f" ({done:,} found in the cache)" if done else ""
            return f"loading the encoder, then encoding {total:,} texts{cached}…"
        what = "encoding" if stage == "encoding" else "indexing (exact search meanwhile)"
        parts = [f"{what} {done:,} / {total:,}" + (" texts" if stage == "encoding" else "")]
        if rate is not None:
            parts.append(f"{rate:,.0f} texts/s" if stage == "encoding" else f"{rate:,.0f}/s")
        if left is not None:
            parts.append(f"{duration(left)} left")
        return " · ".join(parts)

    def _upgrade_text(self, done, total, rate, left) -> str:
        if self.holding:
            return f"{self.upgrading} encodes the labels' neighbourhoods first: the first batch comes from them"
        behind = (
            f"{self.embeddings} embeddings; {self.upgrading}'s vectors behind you, labelling is not waiting on them"
        )
        if rate is None and not done:
            return f"{behind}: loading {self.upgrading}"
        parts = [f"{behind}: {done or 0:,} / {total:,}"]
        if rate is None:
            parts.append("estimating the time left")
        else:
            parts.append(f"{rate:,.0f} texts/s")
        if left is not None:
            parts.append(f"{duration(left)} left")
        return " · ".join(parts)

    def encode_failed(self, exc: BaseException, caches: bool) -> str:
        """What to say when the encoder raised part-way (``caches``: what it encoded is kept)."""
        why = str(exc) if isinstance(exc, AnchorALError) else f"{type(exc).__name__}: {exc}"
        if not self._done:
            return f"the encoder failed ({why}); Retry starts it again"
        kept = "are cached: Retry goes on from there" if caches else "are lost: Retry starts again"
        return f"the encoder failed after {self._done:,} texts ({why}); the texts encoded before it {kept}"


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"
