"""Work ahead of the next proposal, on a thread of its own while the person reads the batch: the
anchors' neighbour lists the next subpool reads (see
:func:`~..engine.loop.proposing.neighbours_ahead`), so that the wait after a submit holds no
sweep of the pool, however large.

One job at a time; a job given while one runs replaces any job still waiting (the newest batch is
the one that matters). A job changes no answer, only the wait: one that fails is logged and
dropped, and the proposal that needs its lists fetches them itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Lookahead:
    """A thread that runs the newest job it was given, then waits for the next."""

    def __init__(self) -> None:
        self._cond = threading.Condition()  # guards the fields below; notified on every change
        self._job: Callable[[], None] | None = None
        self._running = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="anchoral-lookahead", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None] | None) -> None:
        """Run ``job`` once the one running (if any) is done, in place of any job waiting."""
        if job is None:
            return
        with self._cond:
            if not self._closed:
                self._job = job
                self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job runs or waits (tests, benchmarks); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._job is None and not self._running, timeout)

    def close(self) -> None:
        """Drop the job waiting; the one running finishes on its own (it holds nothing)."""
        with self._cond:
            self._closed, self._job = True, None
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._job is not None or self._closed)
                if self._closed:
                    return
                job, self._job, self._running = self._job, None, True
            try:
                assert job is not None
                job()
            except Exception:  # only the wait depends on it: the next proposal searches itself
                log.warning("fetching neighbour lists ahead failed", exc_info=True)
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()
