"""One background thread that runs a session's slow jobs in the order they were given, and
counts them, so that a caller can wait until they (or those of one kind) are done."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class Worker:
    """Jobs run one at a time on one thread, first in first out.

    Parameters
    ----------
    name : str
        The thread's name (seen in a debugger and in the log).
    on_error : callable
        ``on_error(exc)`` for a job that raised (the traceback goes to the log first).
    """

    def __init__(self, name: str, on_error: Callable[[BaseException], None]):
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._on_error = on_error
        self._counts = threading.Condition()  # guards _queued; notified whenever a job ends
        self._queued: Counter[str | None] = Counter()  # tag -> jobs queued or running (None: all)
        self.closed = False

    def submit(self, job: Callable, *args, tag: str | None = None) -> bool:
        """Queue ``job(*args)``; ``tag`` names a kind of job that :meth:`wait` can wait for alone.
        False when the worker is closed (the job will not run)."""
        with self._counts:
            self._queued[None] += 1
            if tag is not None:
                self._queued[tag] += 1
        try:
            self._pool.submit(self._run, job, args, tag)
        except RuntimeError:  # shut down meanwhile
            self._finished(tag)
            return False
        return True

    def wait(self, timeout: float | None = None, *, tag: str | None = None) -> bool:
        """Block until no job (with ``tag``: no job of that kind) is queued or running; False if
        ``timeout`` ran out first."""
        with self._counts:
            return self._counts.wait_for(lambda: self._queued[tag] == 0, timeout=timeout)

    def close(self, wait: bool = False) -> None:
        """Run what is queued, accept nothing more (``wait=True``: block until it has run)."""
        self.closed = True
        self._pool.shutdown(wait=wait)

    def _run(self, job: Callable, args: tuple, tag: str | None) -> None:
        try:
            job(*args)
        except Exception as exc:  # shown to the user by on_error; the traceback goes to the log
            log.exception("%s: a background job failed", self.name)
            self._on_error(exc)
        finally:
            self._finished(tag)

    def _finished(self, tag: str | None) -> None:
        with self._counts:
            self._queued[None] -= 1
            if tag is not None:
                self._queued[tag] -= 1
            self._counts.notify_all()
