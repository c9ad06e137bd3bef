"""What work behind the person labelling may do to a session, and nothing more.

The start-up's background (the vector index built on a thread, then the encoder upgrade, see
:mod:`.startup` and :mod:`.upgrade`) is handed a :class:`SessionAccess` rather than the session:
it runs jobs on the session's worker, holds the loop, names the embeddings in the status line,
has the trainer forget its models, points search at other embeddings, and reports what failed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from ..engine.loop.active import ActiveLoop
from ..engine.pool import Pool
from .guarded import GuardedLoop
from .screen import Screen
from .search import Search
from .trainer import Trainer
from .worker import Worker


class SessionAccess:
    """The narrow face of a :class:`~.labeller.LabelSession` that its background work sees.

    Parameters
    ----------
    guarded : GuardedLoop
        The session's loop behind its lock.
    screen : Screen
        What the session shows: its phase and status line.
    worker : Worker
        The session's worker, which runs one job at a time (a batch stored, one proposed, a search).
    search : Search
        The session's search: its query encoder and the pool it searches.
    trainer : Trainer
        The session's trainer, whose models are forgotten when the embeddings change.
    report : callable
        ``report(exc)``: show an error under the widget.
    """

    def __init__(
        self,
        guarded: GuardedLoop,
        screen: Screen,
        worker: Worker,
        search: Search,
        trainer: Trainer,
        report: Callable[[BaseException], None],
    ):
        self._guarded, self._screen, self._worker, self._search = guarded, screen, worker, search
        self._trainer, self.report = trainer, report

    @property
    def phase(self) -> str:
        """The session's phase (``training`` and ``selecting`` while a batch is proposed)."""
        return self._screen.phase

    @property
    def closed(self) -> bool:
        """Whether the session is closed: its worker takes no more jobs."""
        return self._worker.closed

    def run(self, job: Callable, *args) -> bool:
        """Run ``job(*args)`` on the session's worker, between two of its jobs (so between two
        batches: no proposal runs meanwhile); False once the session is closed."""
        return self._worker.submit(job, *args)

    def held(self) -> AbstractContextManager[ActiveLoop | None]:
        """``with access.held() as loop:`` the loop (None before it exists), nothing else touching it."""
        return self._guarded.held()

    def forget_models(self) -> None:
        """Drop every model fitted so far: they read the embeddings the loop no longer serves."""
        self._trainer.forget()

    def show_embeddings(self, text: str) -> None:
        """Which embeddings serve the batches, at the end of the status line."""
        self._screen.set_embeddings(text)

    def search_in(self, pool: Pool | None) -> None:
        """Search ``pool`` instead of the loop's; None: the loop's again (on the worker)."""
        self._search.search_in(pool)

    def search_with(self, encoder) -> None:
        """Encode search queries with ``encoder`` from now on (on the worker)."""
        self._search.use(encoder)
