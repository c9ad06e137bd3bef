"""A labelling session: the state behind the Labeller widget, with no widget in it.

:class:`LabelSession` is the face of a few parts, each with at most one lock:

- :class:`~.guarded.GuardedLoop`: the :class:`~anchoral_widget.engine.loop.active.ActiveLoop` and the
  lock that serialises every call into it. Only the worker holds it for long (training);
  readers such as :attr:`LabelSession.labels` use the snapshot it takes after each write.
- :class:`~.screen.Screen`: the batch on screen and its drafts, phase, status, search, error and
  curves. Its lock is held for moments only, so the kernel's message handler, which takes it,
  never waits on training; listeners hear of changes under it, so they see values in order.
- :class:`~.worker.Worker`: one thread that does everything slow (storing a submitted batch,
  selecting the next batch, searching), in order.
- :class:`~.proposer.Proposer`: the next batch, proposed on the worker, and the
  :class:`~.trainer.Trainer` that fits the learner, one fit at a time. Strict mode waits for the
  fit of the labelled set (the paper); label-ahead proposes with the latest model that finished
  and lets the next fit run in the background (see :mod:`~.trainer`).
- :class:`~.mapchannel.MapChannel`: the map, its messages and the F1 estimate.
- :class:`~.selection.Selection`: texts selected on the map, labelled or skipped as one event.
- :class:`~.search.Search`: search by meaning, its query encoder and the pool it searches.
- :class:`~.review.Review` (``review``): label checks, check samples, the stopping report.
- :mod:`~.commands`: a front end's message, checked against the protocol, to a method here.

A command about a batch carries the batch's iteration; once a batch is submitted its iteration is
gone, so a late click from a second view, a double submit or a label that races a retrain is
rejected with a message instead of being lost or counted twice. A submitted batch is stored
before anything else runs and comes back on screen, answers and all, if storing fails; a seed
label holds its text until stored.

Everything the front end shows comes out of :meth:`LabelSession.snapshot` as plain JSON, and every
change is announced to the listeners added with :meth:`LabelSession.on_change`.

A session may start before its loop exists (``loop=None`` and a ``startup``, see :mod:`.startup`):
the worker's first job then makes the loop (encoding the pool, with progress) in phase
``preparing``; a search sent meanwhile runs once the pool can answer it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..engine.loop.active import ActiveLoop
from ..errors import InputError
from .access import SessionAccess
from .commands import dispatch
from .guarded import GuardedLoop, give_texts
from .lookahead import Lookahead
from .mapchannel import MapChannel
from .proposer import Proposer
from .review import Review
from .screen import Screen, check_budget, plain
from .search import Search
from .selection import Selection, check_ready_ids
from .storepath import session_notes, shown
from .trainer import Trainer
from .worker import Worker

log = logging.getLogger(__name__)
WRITES = "writes"  # the worker's jobs that store labels: `labels` waits for them
PREPARE = "prepare"  # the job that makes the loop: reading the loop waits for it


class LabelSession:
    """Label an active loop's batches, one at a time, from any front end (and selections of
    texts from the map at once: :class:`~.selection.Selection`).

    Parameters
    ----------
    texts : sequence of str
        The pool's texts, aligned with the loop's embeddings (ids are row indices); the loop's
        pool holds them (see :func:`~.guarded.give_texts`), the session only their count.
    loop : ActiveLoop or None
        The engine. It is driven from one worker thread; leave it alone while the session runs.
        None: ``startup.run(show)`` makes it in the background, from :meth:`start` on.
    encoder : object with ``encode(list[str]) -> (n, d) array``, optional
        Turns a search query into a vector comparable with the loop's embeddings. Without one,
        search reports that it needs one.
    budget : int, optional
        Stop proposing once this many items are labelled. ``None``: until the pool runs out.
    map : MapView, optional
        The map and curves (see :mod:`~anchoral_widget.views.mapview`); fitted in the background
        from :meth:`start`, updated after each batch and sent to :meth:`on_map` listeners.
    training : {"auto", "ahead", "strict"}
        Wait for the model fitted on every label (strict, the paper's), or propose at once with
        the latest model that finished (label-ahead); auto: ahead for a learner that reads text.
    classes : sequence, optional
        The class names, when there is no loop yet.
    startup : Startup, optional
        Makes the loop when there is none (:class:`~.startup.Startup`): ``run(show)`` returns
        ``(loop, encoder, map)``; ``background(access)`` then starts what may follow, with the
        session's :class:`~.access.SessionAccess` (all that background work may do to it).
    """

    def __init__(
        self,
        texts: Sequence[str],
        loop: ActiveLoop | None,
        *,
        encoder=None,
        budget: int | None = None,
        map=None,
        training: str = "auto",
        classes: Sequence | None = None,
        startup=None,
    ):
        if loop is None and (classes is None or startup is None):
            raise TypeError("a session without a loop needs classes= and the startup= that makes it")
        self._size = len(texts)  # the texts themselves are the pool's (see give_texts)
        self._budget = check_budget(budget)
        class_source = classes if loop is None else loop.classes
        assert class_source is not None  # checked above
        self.class_names = [str(c) for c in class_source]
        if len(set(self.class_names)) != len(self.class_names):
            raise InputError(f"class names must differ as text, got {self.class_names}")
        self._startup, self._map = startup, None
        self._guarded = GuardedLoop(None, self.class_names)
        self._channel = MapChannel(None, self._guarded, on_curves=self._curves_changed, on_error=self._fail)
        self._screen = Screen(
            self.class_names,
            self._size,
            self._budget,
            lambda: self._guarded.facts,
            self._channel.status,
            phase="starting" if loop is not None else "preparing",
        )
        self._worker = Worker("anchoral-labeller", on_error=self._fail)
        self._selection = Selection(
            self._guarded, self._screen, self._worker, self._channel, propose=self._propose, report=self.report
        )
        self._training = training
        self._proposer: Proposer | None = None  # made with the loop (its learner decides label-ahead)
        self._search = Search(self._guarded, self._screen, self._worker, encoder)
        self.review = Review(self._guarded, self._screen, self._channel, lambda: self._worker.submit(self._propose))
        if loop is not None:
            give_texts(loop, texts)
            self._attach(loop, encoder, map)

    def _attach(self, loop: ActiveLoop, encoder, map) -> None:
        if self._size != len(loop.embeddings):
            raise InputError(f"{self._size} texts but {len(loop.embeddings)} embeddings")
        self._proposer = Proposer(
            loop, self._guarded, self._screen, self._channel, training=self._training, on_error=self._fail
        )
        self._proposer.on_proposed = self.review.observe
        self._search.use(encoder)
        self._map = self._channel.view = map
        self._notes = session_notes(loop.store, loop.annotator, Path.cwd())  # drafts, curves
        self._screen.keep_drafts(self._notes)
        self.review.attach(loop, self._notes)
        self._screen.show_store(None if loop.store is None else shown(loop.store, Path.cwd()))
        self._channel.keep_curves(self._notes)
        self._guarded.attach(loop)
        self._screen.publish("minority", "progress")

    @property
    def loop(self) -> ActiveLoop:
        """The engine. While the pool is being prepared, waits for it (an InputError if that
        failed: the widget shows why, and Retry)."""
        self._worker.wait(None, tag=PREPARE)
        if self._guarded.loop is None:
            raise InputError(f"the pool could not be prepared: {self._screen.snapshot()['error']}")
        return self._guarded.loop

    @property
    def texts(self) -> Sequence[str]:
        """The pool's texts, read from the loop's pool (waits for it, as :attr:`loop`)."""
        texts = self.loop.pool.texts
        assert texts is not None  # a session's pool has its texts (give_texts)
        return texts

    @property
    def ahead(self) -> bool:
        """Whether the session labels ahead (:func:`~.trainer.label_ahead`); False until the loop is there."""
        return self._proposer is not None and self._proposer.ahead

    @property
    def _trainer(self) -> Trainer | None:
        return None if self._proposer is None else self._proposer.trainer

    @property
    def _lookahead(self) -> Lookahead | None:
        return None if self._proposer is None else self._proposer.lookahead

    @property
    def encoder(self):
        """The encoder of search queries: the one that made the embeddings searched (None: no search)."""
        return self._search.encoder

    # ---- reading ------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Everything a front end shows, as JSON-ready values keyed by trait name."""
        return self._screen.snapshot()

    @property
    def labels(self) -> pd.DataFrame:
        """Every label stored in the loop: id, text, label, iteration, time (UTC).

        Waits for labels already sent but not yet stored (a submit is stored within
        milliseconds, before the retrain), so what was submitted is always in it; while the
        pool is being prepared, waits for it (labels kept from an earlier session come with it).
        """
        self._worker.wait(None, tag=PREPARE)
        self._worker.wait(60, tag=WRITES)
        return self._guarded.facts.frame()

    @property
    def phase(self) -> str:
        return self._screen.phase

    @property
    def budget(self) -> int | None:
        return self._budget

    @budget.setter
    def budget(self, value: int | None) -> None:
        self._budget = check_budget(value)
        if self._screen.set_budget(self._budget):
            self._worker.submit(self._propose)

    def on_change(self, callback: Callable[[dict], None]) -> None:
        """Call ``callback(changes)`` (trait name -> new value) after every change of state.

        Called from the thread that made the change: the kernel's or the worker.
        """
        self._screen.on_change(callback)

    def on_map(self, callback: Callable[[dict, list], None]) -> None:
        """Call ``callback(header, buffers)`` with each map message (see :mod:`mapview`)."""
        self._channel.on_map(callback)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker is done (a first batch held for the upgrade's move too); False on timeout."""
        end = None if timeout is None else time.monotonic() + timeout
        left = lambda: None if end is None else max(0.0, end - time.monotonic())
        for _ in range(2):  # the start-up, then the held first batch's proposal
            if not self._worker.wait(left()) or not (self._startup is None or self._startup.released(end)):
                return False
        return self._channel.wait(left())

    def start(self) -> None:
        """Propose the first batch in the background, or wait for seed labels (cold start);
        start fitting the map in the background. Without a loop yet: make it first."""
        if self._guarded.loop is None:
            self._worker.submit(self._prepare, tag=PREPARE)
            return
        self._worker.submit(self._propose)
        self._channel.start(
            on_status=lambda: self._screen.publish("map_status"),
            on_ready=lambda: self._worker.submit(self._channel.update),
        )

    def close(self, wait: bool = False) -> None:
        """Cancel the fit in the background; stop the worker once its queued work is done
        (``wait=True``: block until then)."""
        if self._proposer is not None:
            self._proposer.close(wait)
        self._channel.stop()
        self._worker.close(wait)
        self._channel.close(wait)

    # ---- commands -----------------------------------------------------------------------

    def handle(self, msg: Any) -> None:
        """Carry out one command from the front end, ``{"kind": ..., ...}`` (see
        :data:`anchoral_widget.protocol.COMMANDS`).

        Every field is checked before anything changes; a bad command raises
        :class:`InputError` and leaves the session as it was.
        """
        if self._worker.closed:
            raise InputError("this labeller is closed: make a new one to go on")
        dispatch(self, msg)

    def label(self, ids: list[int], label: str, *, iteration: int | None = None) -> None:
        """Answer cards of the current batch with class ``label`` (a draft until submit)."""
        self._screen.answer(ids, self._check_class(label), iteration)

    def skip(self, ids: list[int], *, iteration: int | None = None) -> None:
        """Mark cards of the current batch as skipped (a draft until submit)."""
        self._screen.answer(ids, None, iteration)

    def rest(self, label: str, *, iteration: int | None = None) -> None:
        """Give every card of the batch without an answer the class ``label``, as one action."""
        self._screen.answer(None, self._check_class(label), iteration)

    def undo(self, *, iteration: int | None = None) -> None:
        """Take back the last action on the current batch (one card, or a whole "rest are")."""
        self._screen.undo(iteration)

    def submit(self, *, iteration: int | None = None) -> None:
        """Store the answered batch (every card needs a class or skip), then prepare the next one."""
        answers, cards, iteration = self._screen.take(iteration)
        self._worker.submit(self._store_batch, answers, cards, iteration, tag=WRITES)

    def search(self, query: Any) -> None:
        """Find the texts nearest in meaning to ``query`` (runs in the background)."""
        self._search.start(query)

    def seed(self, ids: list[int], label: str) -> None:
        """Label texts found by search, outside any batch; the loop starts once each class has one."""
        self._check_class(label)
        check_ready_ids(self._guarded.loop, ids)
        self._screen.reserve(ids)
        self._worker.submit(self._store_seed, list(ids), label, tag=WRITES)

    def retry(self) -> None:
        """Try again to prepare the next batch (or the pool) after an error."""
        if self._guarded.loop is None:
            self._screen.retry("preparing", "preparing the pool…")
            self._worker.submit(self._prepare, tag=PREPARE)
            return
        self._screen.retry()
        self._worker.submit(self._propose)

    def label_selection(self, ids: Sequence[int], label: str) -> None:
        """Label the open texts among ``ids`` with class ``label``, as one undoable event
        (stored in the background; the others are left as they were)."""
        self._selection.label(ids, self._check_class(label))

    def skip_selection(self, ids: Sequence[int]) -> None:
        """Skip the open texts among ``ids``, as one undoable event (stored in the background)."""
        self._selection.label(ids, None)

    def undo_selection(self) -> None:
        """Take back the last selection labelled or skipped (InputError if anything was stored since)."""
        self._selection.undo()

    def map_sync(self) -> None:
        """Send the whole map to the :meth:`on_map` listeners (a view opened)."""
        self._channel.sync()

    def map_text(self, ids: list[int]) -> None:
        """Send the whole texts of clicked points to the :meth:`on_map` listeners."""
        self._channel.texts(ids)

    def hello(self) -> None:
        """Answer a view's first message, with a binary buffer: it checks that both arrive."""
        self._channel.hello()

    def report(self, exc: BaseException, command: Any = None) -> None:
        """Show an error under the widget, in plain words (one that is not about bad input
        also goes to the log, with its traceback and the ``command`` that raised it)."""
        if not isinstance(exc, ValueError):
            log.error("command %r failed", command, exc_info=exc)
        self._screen.publish(error=plain(exc))

    def _check_class(self, label) -> str:
        if not isinstance(label, str) or label not in self.class_names:
            raise InputError(f"unknown class {label!r}; the classes are {', '.join(self.class_names)}")
        return label

    # ---- worker jobs ----------------------------------------------------------------------

    def _prepare(self) -> None:
        loop, encoder, view = self._startup.run(self._screen.set_startup)
        self._attach(loop, encoder, view)
        if not self._worker.closed:  # closed meanwhile: nothing more to start
            assert self._trainer is not None  # made with the loop
            access = SessionAccess(self._guarded, self._screen, self._worker, self._search, self._trainer, self.report)
            self._startup.background(access, first_batch=self.start)

    def _store_batch(self, answers: dict, cards: list, iteration: int) -> None:
        labelled = {i: self._guarded.class_of(a) for i, a in answers.items() if a is not None}
        try:
            self._guarded.store(labelled, [i for i, a in answers.items() if a is None])
        except Exception:
            self._screen.restore(cards, iteration, answers)  # nothing is lost: it can be sent again
            raise
        self._worker.submit(self._propose)

    def _store_seed(self, ids: list[int], label: str) -> None:
        try:
            self._guarded.store(dict.fromkeys(ids, self._guarded.class_of(label)))
        except BaseException:
            self._screen.release(ids)  # not stored: free to label again
            raise
        self._worker.submit(self._after_seed, ids, label)

    def _after_seed(self, ids: list[int], label: str) -> None:
        cold = self._screen.release(ids, label)
        self._channel.update()
        if cold:  # starts the loop, or says which classes still lack a label
            self._propose()

    def _propose(self) -> None:
        if self._proposer is not None:
            self._proposer.propose(self._budget)

    def _curves_changed(self, curves: dict) -> None:
        self._screen.set_curves(curves)

    def _fail(self, exc: BaseException) -> None:
        self._screen.fail(plain(exc))
