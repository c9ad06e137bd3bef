"""A labelling session: the state behind the Labeller widget, with no widget in it.

:class:`LabelSession` owns an :class:`~anchoral_widget.engine.loop.ActiveLoop`, the batch on screen and
the answers given to it so far (drafts until submitted), and one worker thread that does
everything slow: storing a submitted batch, training, selecting the next batch, searching.

Two locks keep it safe and responsive:

- ``_state`` guards the batch, the answers and the undo stack. It is held only for moments, so
  the kernel's message handler, which takes it, never waits on training.
- ``_loop_lock`` serialises every call into the loop (which is not thread-safe). Only the worker
  takes it for long; readers such as :attr:`LabelSession.labels` use snapshots instead.

A command about a batch carries the batch's iteration; once a batch is submitted its iteration is
gone, so a late click from a second view, a double submit or a label that races a retrain is
rejected with a message instead of being lost or counted twice.

Everything the front end shows comes out of :meth:`LabelSession.snapshot` as plain JSON, and every
change is announced to the listeners added with :meth:`LabelSession.on_change`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from ..engine.loop import ActiveLoop
from ..errors import AnchorALError, EmptyPoolError, InputError
from .cards import batch_cards
from .drafts import BatchDrafts
from .search import encode_query, nearest_texts, quiet_encoder

log = logging.getLogger(__name__)

#: The commands a front end may send, as ``{"kind": ..., ...}`` (see :meth:`LabelSession.handle`).
COMMANDS = ("label", "skip", "rest", "undo", "submit", "search", "seed", "retry", "map_sync", "map_text")


class LabelSession:
    """Label an active loop's batches, one at a time, from any front end.

    Parameters
    ----------
    texts : sequence of str
        The pool's texts, aligned with the loop's embeddings (ids are row indices).
    loop : ActiveLoop
        The engine. It is driven from one worker thread; leave it alone while the session runs.
    encoder : object with ``encode(list[str]) -> (n, d) array``, optional
        Turns a search query into a vector comparable with the loop's embeddings. Without one,
        search reports that it needs one.
    budget : int, optional
        Stop proposing once this many items are labelled. ``None``: until the pool runs out.
    map : MapView, optional
        The map and curves (see :mod:`~anchoral_widget.views.mapview`); fitted in the background
        from :meth:`start`, updated after each batch and sent to :meth:`on_map` listeners.
    """

    def __init__(self, texts: Sequence[str], loop: ActiveLoop, *, encoder=None, budget: int | None = None, map=None):
        if len(texts) != len(loop.embeddings):
            raise InputError(f"{len(texts)} texts but {len(loop.embeddings)} embeddings")
        self.texts = texts
        self.loop = loop
        self.encoder = encoder
        self._budget = _check_budget(budget)
        self.class_names = [str(c) for c in loop.classes]
        if len(set(self.class_names)) != len(self.class_names):
            raise InputError(f"class names must differ as text, got {self.class_names}")
        self._class_of = dict(zip(self.class_names, loop.classes))

        self._state = threading.RLock()
        self._loop_lock = threading.RLock()
        self._publish_lock = threading.Lock()
        self._writes = threading.Condition()
        self._pending_writes = 0  # submits and seeds sent but not yet stored in the loop
        self._jobs = 0  # worker jobs queued or running
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anchoral-labeller")
        self._listeners: list[Callable[[dict], None]] = []
        self._map_listeners: list[Callable[[dict, list], None]] = []
        self._map_lock = threading.Lock()  # held while a map message is built and sent: in order
        self._map = map
        self._estimating = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anchoral-estimate")
        self._curves: dict = {}
        self._query_encoder = None if encoder is None else quiet_encoder(encoder)

        self._drafts = BatchDrafts()
        self._phase, self._status, self._seconds, self._error = "starting", "starting…", {}, ""
        self._search = {"query": "", "busy": False, "results": [], "seconds": None}
        with self._loop_lock:
            self._refresh_from_loop()

    # ---- reading ------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Everything a front end shows, as JSON-ready values keyed by trait name."""
        with self._state:
            return {
                "classes": list(self.class_names),
                "minority": list(self._minority),
                "batch": list(self._drafts.cards),
                "answers": {str(i): a for i, a in self._drafts.answers.items()},
                "iteration": self._drafts.iteration,
                "phase": self._phase,
                "status": self._status,
                "seconds": dict(self._seconds),
                "progress": dict(self._progress),
                "search": dict(self._search),
                "error": self._error,
                "map_status": {"status": "off", "fraction": 0.0, "text": ""}
                if self._map is None
                else self._map.status(),
                "curves": self._curves,
            }

    @property
    def labels(self) -> pd.DataFrame:
        """Every label stored in the loop: id, text, label, iteration, time (UTC).

        Waits for labels already sent but not yet stored (a submit is stored within
        milliseconds, before the retrain), so what was submitted is always in it.
        """
        with self._writes:
            self._writes.wait_for(lambda: self._pending_writes == 0, timeout=60)
        rows = self._label_rows
        return pd.DataFrame(
            {
                "id": pd.Series([r[0] for r in rows], dtype="int64"),
                "text": pd.Series([r[1] for r in rows], dtype="object"),
                "label": pd.Series([r[2] for r in rows], dtype="object"),
                "iteration": pd.Series([r[3] for r in rows], dtype="int64"),
                "time": pd.to_datetime(pd.Series([r[4] for r in rows], dtype="float64"), unit="s", utc=True),
            }
        )

    @property
    def phase(self) -> str:
        return self._phase

    @property
    def budget(self) -> int | None:
        return self._budget

    @budget.setter
    def budget(self, value: int | None) -> None:
        self._budget = _check_budget(value)
        with self._state:
            self._progress = {**self._progress, "budget": self._budget}
            restart = self._phase == "done" and not self._drafts
        self._publish("progress")
        if restart:
            self._enqueue(self._propose)

    def on_change(self, callback: Callable[[dict], None]) -> None:
        """Call ``callback(changes)`` (trait name -> new value) after every change of state.

        Called from the thread that made the change: the kernel's or the worker.
        """
        self._listeners.append(callback)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has nothing left to do; False if ``timeout`` ran out first."""
        with self._writes:
            return self._writes.wait_for(lambda: self._jobs == 0, timeout=timeout)

    def on_map(self, callback: Callable[[dict, list], None]) -> None:
        """Call ``callback(header, buffers)`` with each map message (see :mod:`mapview`)."""
        self._map_listeners.append(callback)

    def start(self) -> None:
        """Propose the first batch in the background, or wait for seed labels (cold start);
        start fitting the map in the background."""
        self._enqueue(self._propose)
        if self._map is not None:
            self._map.start(
                on_status=lambda: self._publish("map_status"), on_ready=lambda: self._enqueue(self._update_map)
            )

    def close(self, wait: bool = False) -> None:
        """Stop the worker once its queued work is done (``wait=True``: block until then)."""
        if self._map is not None:
            self._map.stop()
        self._worker.shutdown(wait=wait)
        self._estimating.shutdown(wait=wait)

    # ---- commands -----------------------------------------------------------------------

    def handle(self, msg: Any) -> None:
        """Carry out one command from the front end, ``{"kind": ..., ...}``.

        Every field is checked before anything changes; a bad command raises
        :class:`InputError` and leaves the session as it was.
        """
        if not isinstance(msg, dict) or msg.get("kind") not in COMMANDS:
            kind = msg.get("kind") if isinstance(msg, dict) else msg
            raise InputError(f"unknown command {kind!r}; expected one of {', '.join(COMMANDS)}")
        kind, iteration = msg["kind"], msg.get("iteration")
        if kind in ("label", "skip", "rest", "undo", "submit") and (
            not isinstance(iteration, int) or isinstance(iteration, bool)
        ):
            raise InputError(f"a {kind!r} command must name the batch it is for ('iteration')")
        if kind == "search":
            self.search(msg.get("query"))
        elif kind == "seed":
            self.seed(_ids(msg), self._label(msg))
        elif kind == "retry":
            self.retry()
        elif kind in ("map_sync", "map_text"):
            self._map_command(msg)
        elif kind == "label":
            self.label(_ids(msg), self._label(msg), iteration=iteration)
        elif kind == "skip":
            self.skip(_ids(msg), iteration=iteration)
        elif kind == "rest":
            self.rest(self._label(msg), iteration=iteration)
        elif kind == "undo":
            self.undo(iteration=iteration)
        else:
            self.submit(iteration=iteration)

    def label(self, ids: list[int], label: str, *, iteration: int | None = None) -> None:
        """Answer cards of the current batch with class ``label`` (a draft until submit)."""
        self._check_class(label)
        self._answer(ids, label, iteration)

    def skip(self, ids: list[int], *, iteration: int | None = None) -> None:
        """Mark cards of the current batch as skipped (a draft until submit)."""
        self._answer(ids, None, iteration)

    def rest(self, label: str, *, iteration: int | None = None) -> None:
        """Give every card of the batch without an answer the class ``label``, as one action."""
        self._check_class(label)
        self._answer(None, label, iteration)

    def undo(self, *, iteration: int | None = None) -> None:
        """Take back the last action on the current batch (one card, or a whole "rest are")."""
        with self._state:
            self._drafts.check(iteration, self._status)
            self._drafts.undo()
        self._publish("answers", error="")

    def submit(self, *, iteration: int | None = None) -> None:
        """Send the answered batch: it is stored, then the next batch is prepared in the
        background. Every card needs an answer (a class or skip)."""
        with self._state:
            self._drafts.check(iteration, self._status)
            answers, batch, iteration = self._drafts.take()
            self._set_phase("training", "storing the labels…")
            with self._writes:
                self._pending_writes += 1
        self._publish("batch", "answers", "phase", "status", error="")
        self._enqueue(self._store_and_propose, answers, batch, iteration)

    def search(self, query: Any) -> None:
        """Find the texts nearest in meaning to ``query`` (runs in the background)."""
        if not isinstance(query, str) or not query.strip():
            raise InputError("type some words to search for")
        if self.encoder is None:
            raise InputError(
                "search needs the encoder that made the embeddings: pass encoder= "
                "(an object with encode(list_of_texts))"
            )
        query = query.strip()
        with self._state:
            self._search = {**self._search, "query": query, "busy": True}
        self._publish("search", error="")
        self._enqueue(self._run_search, query)

    def seed(self, ids: list[int], label: str) -> None:
        """Label texts found by search (outside any batch); stored in the background, and the
        loop starts once every class has a label."""
        self._check_class(label)
        n = len(self.texts)
        bad = [i for i in ids if not 0 <= i < n]
        if bad:
            raise InputError(f"no text has id {bad[0]} (the pool has ids 0 to {n - 1})")
        with self._state:
            taken = [i for i in ids if i in self._taken]
            if taken:
                raise InputError(f"text {taken[0]} is already labelled or skipped")
            in_batch = [i for i in ids if i in self._drafts.ids]
            if in_batch:
                raise InputError(f"text {in_batch[0]} is in the current batch: label it on its card")
            self._taken.update(ids)  # reserved now, so a second click cannot label it twice
            with self._writes:
                self._pending_writes += 1
        self._publish(error="")
        self._enqueue(self._store_seed, list(ids), label)

    def retry(self) -> None:
        """Try again to prepare the next batch after an error."""
        with self._state:
            if self._phase != "error":
                raise InputError("nothing to retry: no batch failed")
            self._set_phase("training", "training…")
        self._publish("phase", "status", error="")
        self._enqueue(self._propose)

    def _map_command(self, msg: dict) -> None:
        """``map_sync``: send the whole map (a view opened); ``map_text``: the whole texts of
        clicked points."""
        if self._map is None:
            raise InputError("this labeller has no map (map=False)")
        with self._map_lock:
            message = self._map.sync() if msg["kind"] == "map_sync" else (self._map.texts_of(_ids(msg)), [])
            if message is not None:
                for callback in self._map_listeners:
                    callback(*message)

    def report(self, exc: BaseException) -> None:
        """Show an error under the widget, in plain words."""
        self._publish(error=_plain(exc))

    # ---- checks -------------------------------------------------------------------------

    def _label(self, msg: dict) -> str:
        label = msg.get("label")
        self._check_class(label)
        return label

    def _check_class(self, label) -> None:
        if not isinstance(label, str) or label not in self._class_of:
            raise InputError(f"unknown class {label!r}; the classes are {', '.join(self.class_names)}")

    def _answer(self, ids: list[int] | None, label: str | None, iteration) -> None:
        with self._state:
            self._drafts.check(iteration, self._status)
            self._drafts.answer(ids, label)
        self._publish("answers", error="")

    # ---- worker jobs ----------------------------------------------------------------------

    def _enqueue(self, job, *args) -> None:
        with self._writes:
            self._jobs += 1
        self._worker.submit(self._run, job, *args)

    def _run(self, job, *args) -> None:
        try:
            job(*args)
        except Exception as exc:  # shown under the widget; the traceback goes to the log
            log.exception("the labelling worker failed")
            self._fail(exc)
        finally:
            with self._writes:
                self._jobs -= 1
                self._writes.notify_all()

    def _done_writing(self) -> None:
        with self._writes:
            self._pending_writes -= 1
            self._writes.notify_all()

    def _store_and_propose(self, answers: dict, batch: list, iteration: int) -> None:
        labelled = [(i, a) for i, a in answers.items() if a is not None]
        skipped = [i for i, a in answers.items() if a is None]
        try:
            with self._loop_lock:
                stored = False
                try:
                    if labelled:
                        self.loop.label([i for i, _ in labelled], [self._class_of[a] for _, a in labelled])
                        stored = True
                    if skipped:
                        self.loop.skip(skipped)
                except AnchorALError:
                    if stored:
                        self.loop.undo()  # the labels went in but the skips did not: neither
                    with self._state:  # the batch comes back as it was, answers and all
                        self._drafts.show(batch, iteration, answers)
                        self._set_phase("ready", "ready: the batch could not be stored (see below)")
                    self._publish("batch", "answers", "iteration", "phase", "status")
                    raise
                finally:
                    self._refresh_from_loop()
        finally:
            self._done_writing()
        self._publish("progress")
        self._propose()

    def _store_seed(self, ids: list[int], label: str) -> None:
        try:
            with self._loop_lock:
                try:
                    self.loop.label(ids, [self._class_of[label]] * len(ids))
                finally:
                    self._refresh_from_loop()
        finally:
            self._done_writing()
        with self._state:
            new = dict.fromkeys(ids, label)
            results = [{**hit, "label": new.get(hit["id"], hit["label"])} for hit in self._search["results"]]
            self._search = {**self._search, "results": results}
            cold = self._phase == "cold"
        self._publish("progress", "minority", "search")
        self._update_map()
        if cold:  # starts the loop, or says which classes still lack a label
            self._propose()

    def _propose(self) -> None:
        with self._state:
            if self._drafts:
                return
        with self._loop_lock:
            missing = self._progress["missing"]
            if missing:
                names = ", ".join(repr(c) for c in missing)
                self._announce(
                    "cold",
                    f"cold start: no label yet for {names}. Search for examples below and label "
                    "them; batches start once every class has a label.",
                )
                return
            if self._budget is not None and self._progress["labelled"] >= self._budget:
                self._announce("done", f"budget reached: {self._progress['labelled']} of {self._budget} labelled")
                return
            self._announce("training", "training…")
            start = time.perf_counter()
            on_stage = lambda stage: stage == "selecting" and self._announce_selecting(start)
            try:
                proposal = self.loop.propose(on_stage=on_stage)
            except EmptyPoolError:
                self._announce("done", "the pool is exhausted: every text is labelled or skipped")
                return
            cards = batch_cards(proposal, self.loop, self.texts, self.class_names)
            wall = time.perf_counter() - start
        secs = proposal.seconds
        with self._state:
            self._drafts.show(cards, proposal.iteration)
            self._seconds = {
                "train": round(secs["train"], 3),
                "select": round(secs["subpool"] + secs["strategy"], 3),
                "total": round(wall, 3),
            }
            self._set_phase(
                "ready",
                f"ready: {len(cards)} texts in {wall:.2f} s "
                f"(training {self._seconds['train']:.2f} s, selecting {self._seconds['select']:.2f} s)",
            )
        self._publish("batch", "answers", "iteration", "seconds", "progress", "phase", "status")
        self._update_map(proposal)

    def _update_map(self, proposal=None) -> None:
        """After a batch or a seed, once the cards are out: send what changed on the map and
        the curves (worker thread)."""
        if self._map is None:
            return
        estimate = None
        with self._loop_lock:
            if proposal is not None:
                estimate = self._map.observe(proposal)
            curves = self._map.curves()
            with self._map_lock:
                message = self._map.update(proposal)
                if message is not None:
                    for callback in self._map_listeners:
                        callback(*message)
        with self._state:
            self._curves = curves
        self._publish("curves", "map_status")
        if estimate is not None:  # seconds of cross-validation: never in the way of a submit
            with self._writes:
                self._jobs += 1  # wait() waits for it too
            try:
                self._estimating.submit(self._run, self._estimate_f1, estimate)
            except RuntimeError:  # closed meanwhile: no curves to update
                with self._writes:
                    self._jobs -= 1
                    self._writes.notify_all()

    def _estimate_f1(self, estimate) -> None:
        estimate()
        with self._loop_lock:
            curves = self._map.curves()
        with self._state:
            self._curves = curves
        self._publish("curves")

    def _announce_selecting(self, start: float) -> None:
        self._announce("selecting", f"selecting… (trained in {time.perf_counter() - start:.2f} s)")

    def _run_search(self, query: str) -> None:
        start = time.perf_counter()
        try:
            vector = encode_query(self._query_encoder, query, self.loop.embeddings.shape[1])  # outside the lock
            with self._loop_lock:
                results = nearest_texts(self.loop, self.texts, vector)
        except Exception:
            with self._state:
                self._search = {**self._search, "busy": False}
            raise
        with self._state:
            if self._search["query"] == query:  # a newer search may be waiting: keep its query
                self._search = {
                    "query": query,
                    "busy": False,
                    "results": results,
                    "seconds": round(time.perf_counter() - start, 3),
                }
        self._publish("search")

    # ---- state helpers --------------------------------------------------------------------

    def _refresh_from_loop(self) -> None:
        """Re-read labels, skips and counts from the loop (caller holds ``_loop_lock``)."""
        labels = self.loop.labels
        rows = []
        for item, cls in labels.items():
            iteration, when = self.loop.label_time(item)
            rows.append((int(item), str(self.texts[item]), cls, int(iteration), float(when)))
        counts = {str(c): k for c, k in self.loop.class_counts().items()}
        skipped = self.loop.skipped_ids.tolist()
        minority = [str(c) for c in self.loop.minority]
        with self._state:
            self._label_rows = rows
            self._minority = minority
            self._taken = set(labels) | set(skipped)
            self._progress = {
                "labelled": len(labels),
                "skipped": len(skipped),
                "budget": self._budget,
                "pool": len(self.texts),
                "counts": counts,
                "missing": [c for c in self.class_names if counts[c] == 0],
                "iteration": self.loop.iteration,
            }

    def _set_phase(self, phase: str, status: str) -> None:
        self._phase, self._status = phase, status

    def _announce(self, phase: str, status: str) -> None:
        with self._state:
            self._set_phase(phase, status)
        self._publish("phase", "status", "progress")

    def _fail(self, exc: BaseException) -> None:
        with self._state:
            if not self._drafts and self._phase in ("training", "selecting", "starting"):
                self._set_phase("error", "could not prepare the next batch: press Retry")
        self._publish("phase", "status", "search", error=_plain(exc))

    def _publish(self, *keys: str, error: str | None = None) -> None:
        """Tell the listeners the current value of ``keys`` (and set the error line first).

        Values are read under one lock held while the listeners run, so two threads publishing
        the same key can never leave an older value last. Never call it holding ``_state``.
        """
        with self._publish_lock:
            if error is not None:
                with self._state:
                    self._error = error
                keys = (*keys, "error")
            snap = self.snapshot()
            changes = {k: snap[k] for k in dict.fromkeys(keys)}
            for callback in self._listeners:
                callback(changes)


def _plain(exc: BaseException) -> str:
    """An exception in plain words: our own errors say what to fix; others name their type."""
    if isinstance(exc, AnchorALError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def _ids(msg: dict) -> list[int]:
    ids = msg.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InputError(f"'ids' must be a non-empty list of integer ids, got {ids!r}")
    if len(set(ids)) != len(ids):
        raise InputError("the same id appears twice in one command")
    return ids


def _check_budget(budget) -> int | None:
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InputError(f"budget must be a positive number of labels or None, got {budget!r}")
    return int(budget)
