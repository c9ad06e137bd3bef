"""Fine-tuning in the background: the session's one fit at a time, on a thread it owns.

A fine-tuned transformer takes a minute or more per fit on a CPU, and the paper refits it after
every batch. With label-ahead the person does not wait for it: the :class:`Trainer` fits the
labelled set as it was at the last submit while the next batch is proposed by the latest model
that finished (over AnchorAL's subpool of the current labelled set); when a fit ends, the next
proposal uses it. Strict mode asks for the same fit and waits for it (:meth:`Trainer.wait_for`),
as in the paper.

- One fit at a time. A request made while a fit runs waits for it, replacing any older request
  still waiting: the next fit is always of the newest labelled set.
- A fit is told ``checkpoint``, which it calls between optimisation steps: :meth:`paused`
  holds it there while the session proposes (on a CPU the two would share the cores), and
  :meth:`close` makes it raise :class:`~anchoral_widget.engine.learners.learner.FitCancelled`.
- A fit that raises (out of memory, a NaN loss) leaves the latest good model in place and is
  reported to ``on_error``; strict mode's :meth:`wait_for` raises it.
- After each fit, ``prepare(model, checkpoint, ready)`` runs on the same thread: the session
  scores the items the next proposal will likely need (:func:`score_ahead`), so that it finds
  them done. Label-ahead proposes with a new model only once it is ready (``ready()`` called, or
  ``prepare`` returned): a model that had to score the whole subpool while the person waits
  would make the wait after a submit as long as those forward passes (seconds on a CPU).
- The thread holds no label: a kernel that dies mid-fit loses the fit only; the labels are in
  the loop's store, and the next session fits them again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..engine.learners.learner import EmbeddingClassifier, FitCancelled, Remembering, Trained, fit_learner, take
from ..engine.loop.proposing import unlabelled_rows
from ..engine.pool import learner_reads_texts
from ..errors import InputError

log = logging.getLogger(__name__)

#: How a session gets its models (see :func:`label_ahead`).
TRAINING = ("auto", "ahead", "strict")


def label_ahead(training: str, learner) -> bool:
    """Whether a session labels ahead: ``"ahead"`` always, ``"strict"`` never, ``"auto"`` for a
    learner that reads text (a fine-tuned transformer: a minute or more per fit on a CPU), not
    for one that fits on embeddings in milliseconds."""
    if training not in TRAINING:
        raise InputError(f"unknown training {training!r}; choose from {', '.join(TRAINING)}")
    return training == "ahead" or (training == "auto" and learner_reads_texts(learner))


def score_ahead(
    model, loop, subpools: list[np.ndarray], checkpoint: Callable[[], None], ready: Callable[[], None] = lambda: None
) -> None:
    """After a fit, on the trainer's thread: score with the new model what the next proposal will
    likely ask for, so that it finds it scored: the last subpool first (a small class's anchors
    are all of its labels, so their neighbours come back), then the test set, then the earlier
    ``subpools`` (a large class's anchors are drawn afresh each batch from labels that anchored
    before). Reads only what never changes: the pool and the test set."""
    if not isinstance(model, Remembering) or not subpools:
        return
    features = loop.pool.features(loop.learner)
    model.remember([features[int(i)] for i in subpools[-1]], checkpoint)
    ready()  # most of the next subpool is the last one: the model can propose now
    if loop.test is not None:
        model.remember(list(loop.test[0]), checkpoint)
    earlier = np.concatenate(subpools[::-1])
    _, first = np.unique(earlier, return_index=True)
    model.remember([features[int(i)] for i in earlier[np.sort(first)]], checkpoint)


def stand_in(loop) -> Trained:
    """A model to propose with until the learner's first fit finishes: logistic regression on
    the pool's embeddings, fitted now on every label (milliseconds), so the first batches of a
    label-ahead session are chosen by uncertainty over AnchorAL's subpool rather than drawn at
    random while the transformer fine-tunes for minutes. A learner that reads embeddings is its
    own stand-in: the batch is drawn at random until it has fitted (it never waits long)."""
    if not learner_reads_texts(loop.learner) or not len(loop.labelled_ids):
        return Trained(None, 0)
    ids, y = loop.labelled_in_id_order()
    t0 = time.perf_counter()
    model = fit_learner(EmbeddingClassifier(), take(loop.embeddings, ids), y, len(loop.classes), loop.seed)
    return Trained(model, len(ids), time.perf_counter() - t0, stand_in=True)


@dataclass(frozen=True)
class FitRequest:
    """What one fit needs, copied from the loop so that the fit never touches it."""

    X: Any  # the labelled items' texts or embeddings
    y: np.ndarray
    n_classes: int
    seed: int
    minority: list[int]
    key: str  # the labelled set's identity: the same ids with the same classes, the same key
    unlabelled: dict[str, Any] = field(default_factory=dict)  # the fit's keywords for a sample of the pool

    @property
    def labelled(self) -> int:
        return len(self.y)

    @classmethod
    def of(cls, loop) -> FitRequest:
        """The loop's labelled set now (call holding the loop)."""
        ids, y = loop.labelled_in_id_order()  # the order labels came in never steers the model
        key = hashlib.sha1(ids.tobytes() + y.tobytes()).hexdigest()
        features = loop.pool.features(loop.learner)
        X, unlabelled = take(features, ids), unlabelled_rows(loop, features)
        return cls(X, y, len(loop.classes), loop.seed, sorted(loop.minority_indices), key, unlabelled)


class Trainer:
    """The session's background fine-tuning.

    Parameters
    ----------
    learner : learner object
        The loop's learner. Its fit is given ``minority``, ``init`` (the last model fitted: a
        learner with warm start on continues from it) and ``checkpoint`` where it takes them.
    on_error : callable
        ``on_error(exc)`` for a fit that raised.
    on_change : callable, optional
        ``on_change()`` when a fit starts or ends (the status line says so).
    prepare : callable, optional
        ``prepare(model, checkpoint, ready)`` after each fit, on the trainer's thread; label-ahead
        proposes with the model once it calls ``ready()`` or returns.
    """

    def __init__(
        self,
        learner,
        *,
        on_error: Callable[[BaseException], None],
        on_change: Callable[[], None] = lambda: None,
        prepare: Callable[[Any, Callable[[], None], Callable[[], None]], None] | None = None,
        name: str = "anchoral-trainer",
    ):
        self.learner = learner
        self.name = name
        self._on_error, self._on_change, self._prepare = on_error, on_change, prepare
        self._cond = threading.Condition()  # guards everything below; notified on every change
        self._queued: FitRequest | None = None
        self._running: FitRequest | None = None
        self._latest: Trained | None = None
        self._latest_key: str | None = None
        self._ready: Trained | None = None  # the latest model that has scored ahead (label-ahead)
        self._preparing = False  # a finished fit's scoring ahead runs
        self._failure: tuple[str, BaseException] | None = None
        self._init: Any = None  # the last model fitted, unwrapped: what a warm start goes on from
        self._era = 0  # bumped by forget(): a fit started before it is dropped
        self._pauses = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.fits: list[dict] = []  # one row per finished fit: labelled, seconds, warm

    # ---- reading --------------------------------------------------------------------------

    @property
    def latest(self) -> Trained | None:
        """The latest model that finished, or None before the first."""
        return self._latest

    @property
    def ready(self) -> Trained | None:
        """The model label-ahead proposes with: the latest that finished and scored ahead."""
        return self._ready

    @property
    def fitting(self) -> int | None:
        """The labelled count of the fit running now, or None."""
        running = self._running
        return None if running is None else running.labelled

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- asking -----------------------------------------------------------------------------

    def for_proposal(self, loop, *, fresh: bool) -> Trained | None:
        """The model to propose with: fitted on every label now (``fresh``, strict mode: waits
        for it; None if closed meanwhile), else the latest that finished (label-ahead, or a
        resumed batch that needs none) once it has scored ahead; before the first one is ready,
        :func:`stand_in`."""
        if fresh:
            return self.wait_for(FitRequest.of(loop))
        return self.ready or stand_in(loop)

    def request(self, request: FitRequest) -> None:
        """Fit ``request`` once the running fit (if any) is done; nothing if its labelled set is
        fitted, running or waiting already (unless that fit failed: then it is tried again)."""
        with self._cond:
            if self._closed:
                return
            if self._failure is not None and self._failure[0] == request.key:
                self._failure = None  # asked again: a retry
            elif request.key in (self._latest_key, getattr(self._running, "key", None)):
                self._queued = None  # a request for a newer set is stale now (an undo went back)
                return
            self._queued = request
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_for(self, request: FitRequest, timeout: float | None = None) -> Trained | None:
        """Block until ``request``'s model is fitted (strict mode) and return it, with the seconds
        waited; raise what its fit raised; None if the trainer closed (or ``timeout`` ran out)."""
        started = time.perf_counter()
        end = None if timeout is None else time.monotonic() + timeout
        self.request(request)
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self._latest is not None and self._latest_key == request.key:
                    return replace(self._latest, waited=time.perf_counter() - started)
                if self._failure is not None and self._failure[0] == request.key:
                    raise self._failure[1]
                if self._queued is None and self._running is None:  # replaced meanwhile: ask again
                    self.request(request)
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)

    def idle(self, timeout: float | None = None) -> bool:
        """Block until no fit is running, waiting or scoring ahead; False if ``timeout`` ran out first."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._queued is None and self._running is None and not self._preparing, timeout
            )

    @contextmanager
    def paused(self) -> Iterator[None]:
        """``with trainer.paused():`` a running fit stops at its next checkpoint until the block
        ends (the session proposes meanwhile, with the CPU to itself)."""
        with self._cond:
            self._pauses += 1
        try:
            yield
        finally:
            with self._cond:
                self._pauses -= 1
                self._cond.notify_all()

    def forget(self) -> None:
        """Drop every model fitted so far and any waiting request: the features changed (the
        pool moved to an upgraded encoder's embeddings). A fit running now is dropped when done."""
        with self._cond:
            self._latest = self._latest_key = self._failure = self._init = self._queued = self._ready = None
            self._era += 1
            self._cond.notify_all()

    def close(self, wait: float | None = None) -> bool:
        """Cancel the running fit at its next checkpoint and drop any waiting request. ``wait``:
        seconds to wait for the thread to end; True once it has (or never started)."""
        with self._cond:
            self._closed = True
            self._queued = None
            self._cond.notify_all()
            thread = self._thread
        if thread is None:
            return True
        if wait:
            thread.join(wait)
        return not thread.is_alive()

    # ---- the thread ---------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Called by a fit between its steps: blocks while paused, raises once closed."""
        with self._cond:
            while self._pauses and not self._closed:
                self._cond.wait()
            if self._closed:
                raise FitCancelled("the session closed")

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._queued is None and not self._closed:
                    self._cond.wait()
                request = self._queued
                if self._closed or request is None:
                    return
                self._queued, self._running = None, request
            self._tell()
            try:
                model = self._fit(request)
            finally:
                with self._cond:
                    self._running = None
                    self._preparing = True
                    self._cond.notify_all()
            try:
                self._tell()
                if model is not None and not self._get_ready(model):
                    return
            finally:
                with self._cond:
                    self._preparing = False
                    self._cond.notify_all()

    def _get_ready(self, model) -> bool:
        """Score ahead with a new model, publishing it for label-ahead once ready. False: the
        session closed meanwhile."""
        with self._cond:
            trained, era = self._latest, self._era
        publish = lambda: self._publish(trained, era)
        if self._prepare is not None:
            try:
                self._prepare(model, self.checkpoint, publish)
            except FitCancelled:
                return False
            except Exception:  # scoring ahead only saves time later: never worth an error line
                log.exception("%s: scoring ahead with the new model failed", self.name)
        publish()  # a prepare that said ready already made this a no-op
        return True

    def _publish(self, trained: Trained | None, era: int) -> None:
        with self._cond:
            if trained is None or self._ready is trained or era != self._era:  # forgotten meanwhile
                return
            self._ready = trained
            self._cond.notify_all()
        self._tell()

    def _tell(self) -> None:
        try:
            self._on_change()
        except Exception:  # a listener's fault must not stop the fits
            log.exception("%s: a listener failed", self.name)

    def _fit(self, request: FitRequest):
        started, era = time.perf_counter(), self._era
        try:
            fitted = fit_learner(
                self.learner,
                request.X,
                request.y,
                request.n_classes,
                request.seed,
                minority=request.minority,
                **request.unlabelled,
                init=self._init,
                checkpoint=self.checkpoint,
            )
        except FitCancelled:
            return None
        except Exception as exc:  # the last good model stays; the error is shown
            log.exception("%s: the fit on %d labels failed", self.name, request.labelled)
            with self._cond:
                self._failure = (request.key, exc)
                self._cond.notify_all()
            self._on_error(exc)
            return None
        seconds = time.perf_counter() - started
        model = Remembering(fitted) if learner_reads_texts(self.learner) else fitted
        with self._cond:
            if self._closed or era != self._era:
                return None
            self._init = fitted
            self._latest, self._latest_key = Trained(model, request.labelled), request.key
            self._failure = None
            self.fits.append(
                {"labelled": request.labelled, "seconds": seconds, "warm": bool(getattr(fitted, "warm", False))}
            )
            self._cond.notify_all()
        return model
