"""The encoder upgrade: start on fast embeddings, move to a better encoder's once they are ready.

A session that encodes its pool starts on the default encoder (``fast``: static embeddings,
seconds for 100k texts) and, unless told ``upgrade=None``, encodes the pool again with a better
one (``onnx``: MiniLM's own vectors) on one low-priority thread while the person labels. The
loop finds fewer rare items on the fast embeddings (benchmarks/RESULTS.md, the ``upgrade``
section); once MiniLM's are ready the session moves to them:

- **the labels' neighbourhoods first**: while it encodes the pool, the upgrade encodes each
  labelled item and the items nearest to it first (:mod:`.neighbourhoods`), and the loop moves to
  the new embeddings as soon as the labels and the minority labels' neighbourhoods are in,
  searching only what is encoded so far; more arrive between batches: new labels'
  neighbourhoods, and each chunk of the whole pool's pass as it is written (all in, the loop keeps
  them, and its lists). Search stays on the first embeddings until the whole pool is encoded.
- **between two batches**: the switch is a job on the session's worker, which runs one job at a
  time (storing a batch, proposing the next, a search), holding the loop's lock. The batch on
  screen and its drafts are the screen's and stay; the next proposal trains, anchors and
  searches on the new embeddings.
- **nothing of the labels moves**: the loop's labels, history and store hold ids, and the pool
  keeps its identity (:meth:`~anchoral_widget.engine.pool.Pool.swap`), so the same store file
  goes on. A restarted kernel finds the upgraded embeddings complete in the encoder's cache and
  starts on them at once (:func:`~.startup.make_loop`), with the same store.
- **resumable**: the upgrade encodes through the encoder's cache, chunk by chunk, so an
  interrupted upgrade (a kernel restart) goes on from its last chunk.
- **a failure changes nothing**: an encoder that raises leaves the session on the fast
  embeddings, with a warning in the error line and in the status line.

The status line ends with which embeddings serve the batch (``fast embeddings; MiniLM 21%
encoded``, ``MiniLM embeddings on 3,400 texts, the labels' neighbourhoods first; the whole pool
21% encoded``, then ``MiniLM embeddings``); the ``startup`` field shows the upgrade's progress as
its stage ``upgrade``, and names the embeddings in its ``embeddings`` field.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine.loop.switch import switch_loop
from ..engine.pool import Pool, learner_reads_texts
from ..errors import AnchorALError
from .access import SessionAccess
from .encoding import encode_pool, lower_priority
from .neighbourhoods import NEIGHBOURS, RARE_NEIGHBOURS, Neighbourhoods
from .upgrade_plan import UPGRADE_BATCH, embeddings_name, encodes_uncached

log = logging.getLogger(__name__)

#: The session's phases while a batch is proposed: the upgrade waits them out.
PROPOSING = ("training", "selecting")
_YIELD_SECONDS = 0.01
#: How often the upgrade looks for new labels, and hands what it encoded near them to the loop.
_LOOK_SECONDS = 1.0


class Upgrade:
    """The pool encoded again by a better encoder, behind a session, then switched to.

    Parameters
    ----------
    encoder : object with ``encode``
        The better encoder (see :func:`.upgrade_plan.plan_upgrade`). The texts it encodes are the
        pool's, read from the session's loop (or given to :meth:`encode`): the upgrade keeps none.
    test_texts : list of str, optional
        The held-out texts, when the session was given texts for its curves: encoded too, so
        that a learner on embeddings is tested on the same encoder's vectors.
    first : str
        What the session starts on (:func:`.upgrade_plan.embeddings_name`), for the status line.
    """

    #: Items encoded first around each label (:data:`~.neighbourhoods.NEIGHBOURS`); 0: none, the
    #: loop moves once the whole pool is encoded.
    neighbours = NEIGHBOURS
    rare_neighbours = RARE_NEIGHBOURS  #: around a minority label, in all
    #: Rows held for the move while the loop cannot move yet (~100 MB of MiniLM's): chunks of the
    #: whole pool's pass beyond it wait for the whole pool's switch (read from the encoder's cache).
    held_rows = 65_536
    #: Seconds a session starting with a label of every class holds its first batch for the move to
    #: the labels' neighbourhoods (0: none; see :func:`.startup.holds_first_batch`)
    head_start = 20.0

    def __init__(self, encoder: Any, *, test_texts: list[str] | None = None, first: str = "fast"):
        self.encoder, self.test_texts = encoder, test_texts
        self.first, self.name = first, embeddings_name(encoder)
        self.done = False  # the session serves the upgraded embeddings, the whole pool's
        self.failed: str | None = None  # why the upgrade stopped, if it did
        self.thread: threading.Thread | None = None
        self.near: Neighbourhoods | None = None  # what is encoded first (see .neighbourhoods)
        self.early = False  # the move to the labels' neighbourhoods is handed to the worker (done: _first)
        self._X_test: Any = None
        self._next_look = 0.0
        self._held: tuple[list[int], list[np.ndarray]] = ([], [])  # encoded, not handed over yet
        self._first: tuple[Any, Any] | None = None  # the first embeddings and held-out set, once moved
        self._on_switched: Callable[[], object] = lambda: None
        self._progress: Any = None  # the session's start-up progress (its ``embeddings`` field)
        self._share = 0.0  # of the whole pool encoded
        self._exiting = threading.Event()  # the interpreter exits: stop between two passes
        self._near_failed = False  # handing the neighbourhoods to the loop failed: the whole pool only
        self._every_class = False  # every class has a label (the loop can propose)
        self._served = 0  # rows the loop serves on the upgraded embeddings, once moved
        self._on_moved: Callable[[], object] = lambda: None  # told once the loop first serves the new embeddings

    def cached(self, texts: Sequence[str]) -> Any:
        """The upgraded embeddings of the pool's ``texts`` when the encoder's cache holds them
        whole (a restart after an upgrade), else None. Encodes nothing."""
        finder = getattr(self.encoder, "cached", None)
        return None if finder is None else finder(texts)

    def encode_test(self) -> Any:
        """The held-out texts' vectors from the upgraded encoder (None without held-out texts)."""
        if self._X_test is None and self.test_texts is not None:
            self._X_test = self.encoder.encode(self.test_texts)
        return self._X_test

    # ---- in a session -------------------------------------------------------------------------

    def start(
        self,
        session: SessionAccess,
        progress: Any,
        *,
        after: threading.Thread | None = None,
        on_switched: Callable[[], object] = lambda: None,
        on_moved: Callable[[], object] = lambda: None,
    ) -> threading.Thread:
        """Encode on a thread of its own (after ``after``, an index build with every core, ends), then
        hand the switch to the session's worker; ``on_switched()`` once the session serves the new
        embeddings, ``on_moved()`` once the loop first does (near the labels or whole) or will not
        soon. ``progress(stage, done, total)`` (a :class:`~.progress.Progress`) hears how far it is."""
        with session.held() as loop:
            assert loop is not None  # the upgrade starts once the loop exists
            pool = loop.pool  # the same pool, texts and all, across every switch: read, not copied
        session.show_embeddings(self._status(0, len(pool)))
        self._on_switched, self._progress, self._on_moved = on_switched, progress, on_moved

        def run() -> None:
            while after is not None and after.is_alive() and not self._exiting.is_set():
                after.join(0.5)
            lower_priority()
            try:
                X = self._encode(session, pool, progress)
                X_test = self.encode_test()
            except UpgradeStopped:
                return
            except Exception as exc:  # the session goes on as it was: say so
                log.exception("the encoder upgrade failed")
                self._fail(session, progress, exc)
                return
            finally:
                atexit.unregister(self._stop_at_exit)  # nothing left to stop: let the session go
                if self.failed or session.closed:
                    self._on_moved()  # a held first batch waits no more
            session.run(self._switch, session, X, X_test, progress, on_switched)

        self.thread = threading.Thread(target=run, name="anchoral-upgrade", daemon=True)
        atexit.register(self._stop_at_exit)  # before it starts: its end takes it off again
        self.thread.start()
        return self.thread

    def _stop_at_exit(self) -> None:
        """At interpreter exit, stop between two passes and wait for it: a thread still inside
        the encoder's runtime while the process tears it down aborts the process (onnxruntime)."""
        self._exiting.set()
        if self.thread is not None:
            self.thread.join(timeout=60)

    def _encode(self, session: SessionAccess, pool: Pool, progress: Any) -> Any:
        def told(done: int, total: int) -> None:
            progress("upgrade", done, total)
            session.show_embeddings(self._status(done, total))

        progress("upgrade", None, len(pool))
        assert pool.texts is not None  # a session's pool has its texts

        def busy() -> bool:
            return session.phase in PROPOSING

        def closed() -> bool:
            return session.closed or self._exiting.is_set()

        near = lambda: self._near_labels(session, pool, busy, closed)
        chunk = lambda first, rows: self._pool_chunk(session, first, rows)
        return self.encode(pool.texts, told, busy=busy, closed=closed, between=near, on_chunk=chunk)

    def encode(
        self,
        texts: Sequence[str],
        on_progress: Callable[[int, int], object],
        *,
        busy: Callable[[], bool] = lambda: False,
        closed: Callable[[], bool] = lambda: False,
        between: Callable[[], object] = lambda: None,
        on_chunk: Callable[[int, np.ndarray], object] | None = None,
    ) -> Any:
        """The upgraded embeddings of the pool's ``texts`` (through the encoder's cache:
        resumable), yielding to the session between two batches of texts: while ``busy()`` (a
        batch being proposed) it waits; once ``closed()`` it stops (raising
        :class:`UpgradeStopped`); then ``between()``. ``on_chunk(first_row, rows)`` hears each
        cache chunk as it is done (:func:`.encoding.encode_pool`)."""

        def wait() -> None:
            while busy() and not closed():
                time.sleep(_YIELD_SECONDS)
            if closed():
                raise UpgradeStopped

        def told(done: int, total: int) -> None:
            wait()
            between()
            wait()
            on_progress(done, total)

        return encode_pool(self.encoder, texts, told, on_chunk)

    # ---- the labels' neighbourhoods first -----------------------------------------------------

    def _near_labels(
        self, session: SessionAccess, pool: Pool, busy: Callable[[], bool], closed: Callable[[], bool]
    ) -> None:
        """Encode the labelled items and their neighbourhoods that are still to come (new labels
        first) and hand them to the loop: the first time once the labels and the minority labels'
        neighbourhoods are in (:meth:`_fill`), then every :data:`_LOOK_SECONDS`."""
        if self.done or self._near_failed or time.monotonic() < self._next_look or not self._look(session):
            return
        assert self.near is not None and pool.texts is not None  # made by _look; a session's pool has texts
        ids: list[int] = []
        rows: list[np.ndarray] = []
        while self.near.pending:
            while busy() and not closed():
                time.sleep(_YIELD_SECONDS)
            if closed():
                raise UpgradeStopped
            batch = self.near.take(UPGRADE_BATCH)
            rows.append(self._vectors([pool.texts[i] for i in batch]))
            self.near.done(batch)
            ids += batch
            if self._ready() and time.monotonic() >= self._next_look:
                self._hand_over(session, ids, rows)
                ids, rows = [], []
                self._look(session)
        self._hand_over(session, ids, rows)

    def _pool_chunk(self, session: SessionAccess, first: int, rows: np.ndarray) -> None:
        """A chunk of the whole pool's pass joins the neighbourhoods in the loop (held until the
        move): at 0.1% the neighbourhoods are mostly the majority's, and the loop finds more
        rare items with the rest of the pool coming in as it is encoded (benchmarks/near_labels.py)."""
        if self.neighbours and encodes_uncached(self.encoder):  # else the loop moves once, whole
            if not self._ready() and len(self._held[0]) + len(rows) > self.held_rows:
                return  # left to the whole pool's switch, and to the labels' neighbourhoods
            ids = list(range(first, first + len(rows)))
            if self.near is not None:  # not encoded again as a neighbour
                self.near.done(ids)
            self._hand_over(session, ids, [rows])

    def _look(self, session: SessionAccess) -> bool:
        """Queue the labels not seen yet (:class:`~.neighbourhoods.Neighbourhoods`); False while
        the session has no loop or labels, or the encoder cannot pick texts out of a pool."""
        self._next_look = time.monotonic() + _LOOK_SECONDS
        with session.held() as loop:
            if loop is None or not loop.labels:
                return False
            if self.near is None:
                if not self.neighbours or not encodes_uncached(self.encoder):
                    return False
                self.near = Neighbourhoods(loop.pool.embeddings, loop.pool.index, self.neighbours, self.rare_neighbours)
            labels, minority = loop.labels, loop.minority
            self._every_class = set(loop.classes) <= set(labels.values())
        self.near.add(labels, minority)
        return True

    def _ready(self) -> bool:
        """Whether the loop may serve the new embeddings: it does already, or it can propose (every
        class has a label) and the labels and the minority labels' neighbourhoods are in (not less)."""
        return self.early or (self._every_class and self.near is not None and not self.near.urgent)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.encoder.encode(texts, cache=False), dtype=np.float32)

    def _hand_over(self, session: SessionAccess, ids: list[int], rows: list[np.ndarray]) -> None:
        if not ids or not self._ready():
            if ids:  # kept for the move
                self._held = (self._held[0] + ids, self._held[1] + rows)
            return
        held_ids, held_rows = self._held
        self._held = ([], [])
        vectors = np.concatenate(held_rows + rows)
        X_test = self.encode_test() if not self.early else None
        session.run(self._fill, session, np.asarray(held_ids + ids), vectors, X_test)
        self.early = True

    def _fill(self, session: SessionAccess, ids: np.ndarray, vectors: np.ndarray, X_test: Any) -> None:
        """On the session's worker, between two jobs: the first time, move the loop to the new
        embeddings of what is encoded (search keeps the first embeddings); then add rows."""
        try:
            with session.held() as loop:
                assert loop is not None
                if self.done or self._near_failed:
                    return
                pool = loop.pool
                if self._first is None:
                    X = np.zeros((len(pool), vectors.shape[1]), dtype=np.float32)
                    X[ids] = vectors
                    missing = np.ones(len(pool), dtype=bool)
                    missing[ids] = False
                    first = Pool(pool.embeddings, index=pool.index)
                    self._first = (pool.embeddings, loop.test)
                    switch_loop(loop, X, X_test, missing=missing)
                    session.search_in(first)
                    if self._progress is not None:
                        self._progress.serving(self.name)
                    if not learner_reads_texts(loop.learner):
                        session.forget_models()  # they read the old embeddings
                elif pool.missing is not None:  # else every row is in already
                    pool.fill(ids, vectors)
                    if pool.missing is None:  # the neighbourhoods covered the pool: its index, behind
                        session.run(self._on_switched)
                self._served = len(pool) - (0 if pool.missing is None else int(pool.missing.sum()))
        except Exception as exc:  # the loop stays as it was; the whole pool's switch may still come
            log.exception("moving to the labels' neighbourhoods failed")
            self._near_failed = True
            session.report(AnchorALError(f"the {self.name} embeddings near the labels could not be used ({exc})"))
            return
        finally:
            self._on_moved()
        session.show_embeddings(self._status(None, None))

    def _switch(
        self, session: SessionAccess, X: Any, X_test: Any, progress: Any, on_switched: Callable[[], object]
    ) -> None:
        """On the session's worker, between two jobs: no proposal runs, the batch on screen stays."""
        try:
            with session.held() as loop:
                assert loop is not None  # the upgrade starts once the loop exists
                if loop.pool.missing is not None or self._first is None or self._near_failed:  # else every row is in
                    switch_loop(loop, X, X_test)
                reads_texts = learner_reads_texts(loop.learner)
        except Exception as exc:
            self._fail(session, progress, exc)
            return
        finally:
            self._on_moved()
        if not reads_texts:
            session.forget_models()  # they read the old embeddings
        session.search_with(self.encoder)
        session.search_in(None)
        self.done = True
        progress.embeddings = self.name
        progress("ready", None, None)
        session.show_embeddings(f"{self.name} embeddings")
        log.info("the session moved to %s embeddings", self.name)
        on_switched()

    def _fail(self, session: SessionAccess, progress: Any, exc: BaseException) -> None:
        why = str(exc) if isinstance(exc, AnchorALError) else f"{type(exc).__name__}: {exc}"
        caches = getattr(self.encoder, "cache_dir", False) is not False
        kept = "; what it encoded is cached: a restart goes on from there" if caches else ""
        self.failed = (
            f"the upgrade to {self.name} embeddings failed ({why}); the session stays on {self.first} embeddings{kept}"
        )
        progress("ready", None, None)
        session.show_embeddings(f"{self.first} embeddings (the upgrade to {self.name} failed)")
        session.report(AnchorALError(self.failed))
        if self.early:  # the loop moves (or moved) to the labels' neighbourhoods: back it goes
            session.run(self._back_to_first, session)

    def _back_to_first(self, session: SessionAccess) -> None:
        """On the session's worker: the loop serves its first embeddings again (whole), as before
        the move; their index is made again behind the person."""
        if self._first is None:  # the move itself failed: nothing moved
            return
        embeddings, test = self._first
        with session.held() as loop:
            assert loop is not None
            switch_loop(loop, embeddings, None if test is None else test[0])
            reads_texts = learner_reads_texts(loop.learner)
        if not reads_texts:
            session.forget_models()
        session.search_in(None)
        if self._progress is not None:
            self._progress.serving(self.first)
        self._on_switched()

    def _status(self, done: int | None, total: int | None) -> str:
        if done is not None and total is not None:
            self._share = done / max(total, 1)
        if self._first is not None:  # the loop moved
            near = f"{self.name} embeddings on {self._served:,} texts, the labels' neighbourhoods first"
            return f"{near}; the whole pool {self._share:.0%} encoded"
        return f"{self.first} embeddings; {self.name} {self._share:.0%} encoded"


class UpgradeStopped(Exception):
    """The session closed: the upgrade stops (what it encoded is cached)."""
