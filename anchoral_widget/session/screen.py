"""What a front end shows of a labelling session, and the order in which it learns of changes.

:class:`Screen` keeps the batch on screen with its drafts, the phase and status line, the last
search, the error line and the curves; the loop's counts come from its latest
:class:`~anchoral_widget.session.guarded.LoopFacts` and the map's status from the map. One lock
guards it all and is held while the listeners hear of a change, so that two threads changing the
same value can never leave the older one last. It is held for moments only: nothing slow (no
training, no search) ever runs under it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import AnchorALError, InputError
from .drafts import BatchDrafts
from .guarded import LoopFacts
from .notes import DRAFTS, SessionNotes

#: Phases in which the worker prepares a batch (or, first, the pool).
BUSY = ("preparing", "starting", "training", "selecting")
#: What the start-up shows once nothing is left to do (see :mod:`.progress`).
STARTED: dict = {"stage": "ready", "text": "", "done": None, "total": None, "rate": None, "left": None, "seconds": {}}


class Screen:
    """The session's state as a front end shows it: :meth:`snapshot` (JSON-ready, keyed by trait
    name) and :meth:`on_change` listeners.

    Parameters
    ----------
    class_names : sequence of str
    pool : int
        How many texts the pool has.
    budget : int or None
    facts : callable
        ``facts()``: the loop's latest :class:`LoopFacts` (read without a lock).
    map_status : callable
        ``map_status()``: the map's ``{"status", "fraction", "text"}``.
    phase : str
        The first phase: ``starting``, or ``preparing`` while the pool is made (see :meth:`set_startup`).
    """

    def __init__(
        self,
        class_names: Sequence[str],
        pool: int,
        budget: int | None,
        facts: Callable[[], LoopFacts],
        map_status: Callable[[], dict],
        phase: str = "starting",
    ):
        self._lock = threading.RLock()
        self._listeners: list[Callable[[dict], None]] = []
        self._class_names = list(class_names)
        self._pool, self._budget = pool, budget
        self._facts, self._map_status = facts, map_status
        self._drafts = BatchDrafts()
        self._notes: SessionNotes | None = None  # where the drafts are kept (beside the label store)
        self._reserved: set[int] = set()  # seed labels sent but not yet stored
        self._phase, self._status, self._error = phase, f"{phase}…", ""
        self._seconds: dict[str, float] = {}
        self._note = ""  # label-ahead: what the fine-tuning in the background is doing
        self._embeddings = ""  # which embeddings serve the batches, while an encoder upgrade is on
        self._startup = dict(STARTED) if phase != "preparing" else {**STARTED, "stage": "starting"}
        self._search: dict[str, Any] = {"query": "", "busy": False, "results": [], "seconds": None}
        self._curves: dict = {}
        self._store: str | None = None  # where the labels are kept, as a person finds it

    # ---- reading ------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Everything a front end shows, as JSON-ready values keyed by trait name."""
        with self._lock:
            f = self._facts()
            return {
                "classes": list(self._class_names),
                "minority": list(f.minority),
                "batch": list(self._drafts.cards),
                "answers": {str(i): a for i, a in self._drafts.answers.items()},
                "iteration": self._drafts.iteration,
                "phase": self._phase,
                "status": " · ".join(part for part in (self._status, self._note, self._embeddings) if part),
                "seconds": dict(self._seconds),
                "progress": {
                    "labelled": len(f.rows),
                    "skipped": f.skipped,
                    "budget": self._budget,
                    "pool": self._pool,
                    "counts": dict(f.counts),
                    "missing": list(f.missing),
                    "iteration": f.iteration,
                    "store": self._store,
                },
                "search": dict(self._search),
                "error": self._error,
                "map_status": self._map_status(),
                "curves": self._curves,
                "startup": dict(self._startup),
            }

    @property
    def phase(self) -> str:
        return self._phase

    def show_store(self, where: str | None) -> None:
        """Say where the labels are kept (None: in memory only)."""
        with self._lock:
            self._store = where
        self.publish("progress")

    def has_batch(self) -> bool:
        with self._lock:
            return bool(self._drafts)

    def on_change(self, callback: Callable[[dict], None]) -> None:
        """Call ``callback(changes)`` (trait name -> new value) after every change, from the
        thread that made it."""
        self._listeners.append(callback)

    def publish(self, *keys: str, error: str | None = None) -> None:
        """Tell the listeners the current value of ``keys`` (and set the error line first)."""
        with self._lock:
            if error is not None:
                self._error = error
                keys = (*keys, "error")
            snap = self.snapshot()
            changes = {k: snap[k] for k in dict.fromkeys(keys)}
            for callback in self._listeners:
                callback(changes)

    # ---- the batch on screen --------------------------------------------------------------

    def keep_drafts(self, notes: SessionNotes | None) -> None:
        """Keep the drafts in ``notes`` after every change; a batch shown again (after a restart)
        gets back the drafts kept for it."""
        with self._lock:
            self._notes = notes

    def _keep(self) -> None:
        if self._notes is not None:
            self._notes.put(DRAFTS, self._drafts.to_json())

    def answer(self, ids: list[int] | None, label: str | None, iteration: int | None) -> None:
        """A draft answer (``label`` None: skipped; ``ids`` None: every card without one)."""
        with self._lock:
            self._drafts.check(iteration, self._status)
            self._drafts.answer(ids, label)
            self._keep()
            self.publish("answers", error="")

    def undo(self, iteration: int | None) -> None:
        with self._lock:
            self._drafts.check(iteration, self._status)
            self._drafts.undo()
            self._keep()
            self.publish("answers", error="")

    def take(self, iteration: int | None) -> tuple[dict, list[dict], int]:
        """The answered batch, off the screen: ``(answers, cards, iteration)``; from now on a
        command for it is rejected."""
        with self._lock:
            self._drafts.check(iteration, self._status)
            taken = self._drafts.take()
            self._keep()
            self._phase, self._status = "training", "storing the labels…"
            self.publish("batch", "answers", "phase", "status", error="")
            return taken

    def restore(self, cards: list[dict], iteration: int, answers: dict) -> None:
        """Put back a batch whose storing failed, answers and all."""
        with self._lock:
            self._drafts.show(cards, iteration, answers)
            self._keep()
            self._phase, self._status = "ready", "ready: the batch could not be stored (see below)"
            self.publish("batch", "answers", "iteration", "phase", "status")

    def show(self, cards: list[dict], iteration: int, seconds: dict, status: str) -> None:
        """A new batch, ready to label."""
        with self._lock:
            self._drafts.show(cards, iteration)
            if self._notes is not None:  # the drafts kept for this batch (a restarted kernel)
                self._drafts.restore(self._notes.get(DRAFTS))
            self._keep()
            self._seconds = dict(seconds)
            self._phase, self._status = "ready", status
            self.publish("batch", "answers", "iteration", "seconds", "progress", "phase", "status")

    # ---- phases ---------------------------------------------------------------------------

    def waiting(self, facts: LoopFacts, budget: int | None) -> bool:
        """Whether no batch can come yet, and if so say why: a class without a label (cold
        start: search finds one), or the budget reached."""
        if facts.missing:
            names = ", ".join(repr(c) for c in facts.missing)
            self.announce(
                "cold",
                f"cold start: no label yet for {names}. Search for examples below and label "
                "them; batches start once every class has a label.",
            )
            return True
        if budget is not None and len(facts.rows) >= budget:
            self.announce("done", f"budget reached: {len(facts.rows)} of {budget} labelled")
            return True
        return False

    def announce(self, phase: str, status: str) -> None:
        with self._lock:
            self._phase, self._status = phase, status
            self.publish("phase", "status", "progress")

    def retry(self, phase: str = "training", status: str = "training…") -> None:
        with self._lock:
            if self._phase != "error":
                raise InputError("nothing to retry: no batch failed")
            self._phase, self._status = phase, status
            self.publish("phase", "status", error="")

    def fail(self, message: str) -> None:
        """A background job failed: say so; a batch (or the pool) that could not be prepared
        can be retried."""
        with self._lock:
            if not self._drafts and self._phase in BUSY:
                what = "the pool" if self._phase == "preparing" else "the next batch"
                self._phase, self._status = "error", f"could not prepare {what}: press Retry"
                if self._startup["stage"] not in ("ready", "index"):
                    self._startup = {**self._startup, "stage": "error", "rate": None, "left": None}
            self.publish("phase", "status", "search", "startup", error=message)

    def set_startup(self, startup: dict) -> None:
        """How far the start-up is (see :mod:`.progress`)."""
        with self._lock:
            self._startup = dict(startup)
            self.publish("startup")

    def set_note(self, note: str) -> None:
        """The status line's last part, from the fine-tuning in the background ('' for none)."""
        with self._lock:
            if note != self._note:
                self._note = note
                self.publish("status")

    def set_embeddings(self, text: str) -> None:
        """The status line's part that says which embeddings serve the batch (see :mod:`.upgrade`)."""
        with self._lock:
            if text != self._embeddings:
                self._embeddings = text
                self.publish("status")

    def set_budget(self, budget: int | None) -> bool:
        """True when the loop stopped at the old budget and may go on."""
        with self._lock:
            self._budget = budget
            self.publish("progress")
            return self._phase == "done" and not self._drafts

    # ---- seed labels --------------------------------------------------------------------------

    def reserve(self, ids: list[int]) -> None:
        """Hold texts for seed labels until they are stored, so that a second click cannot label
        one twice; refused for a text labelled, skipped, held or in the batch."""
        with self._lock:
            taken = [i for i in ids if i in self._facts().taken or i in self._reserved]
            if taken:
                raise InputError(f"text {taken[0]} is already labelled or skipped")
            in_batch = [i for i in ids if i in self._drafts.ids]
            if in_batch:
                raise InputError(f"text {in_batch[0]} is in the current batch: label it on its card")
            self._reserved.update(ids)
            self.publish(error="")

    def release(self, ids: list[int], label: str | None = None) -> bool:
        """Seed labels stored (``label``: search results show it) or not (None: free again).
        True when the session waits for seed labels (cold start)."""
        with self._lock:
            self._reserved.difference_update(ids)
            if label is not None:
                new = dict.fromkeys(ids, label)
                results = [{**hit, "label": new.get(hit["id"], hit["label"])} for hit in self._search["results"]]
                self._search = {**self._search, "results": results}
                self.publish("progress", "minority", "search")
            return self._phase == "cold"

    # ---- selections (from the map) -------------------------------------------------------------

    def hold_selection(self, ids: list[int]) -> tuple[list[int], dict[str, int]]:
        """The open texts of a selection, held until stored like seed labels, and how many of the
        others were left out, by reason; an InputError when none is open."""
        with self._lock:
            taken, batch, held = self._facts().taken, self._drafts.ids, self._reserved
            reasons = ["labelled or skipped", "in the batch on screen (answer them on their cards)", "being stored"]
            left = dict.fromkeys(reasons, 0)
            chosen = []
            for i in ids:
                if i in taken:
                    left[reasons[0]] += 1
                elif i in batch:
                    left[reasons[1]] += 1
                elif i in held:
                    left[reasons[2]] += 1
                else:
                    chosen.append(i)
            if not chosen:
                parts = ", ".join(f"{n:,} {why}" for why, n in left.items() if n)
                raise InputError(f"none of the {len(ids):,} selected texts is open ({parts}): nothing was stored")
            self._reserved.update(chosen)
            self.publish(error="")
            return chosen, left

    def settle(self, held: list[int], stored: list[int], label: str | None) -> bool:
        """A selection stored: ``stored`` of the ``held`` texts got ``label`` (None: skipped);
        search results say so. True when the session waits for labels (cold start)."""
        with self._lock:
            self._reserved.difference_update(held)
            self._mark_results(set(stored), label, label is None)
            self.publish("progress", "minority", "search")
            return self._phase == "cold"

    def unsettle(self, ids: list[int]) -> None:
        """A selection taken back: its texts are open again."""
        with self._lock:
            self._mark_results(set(ids), None, False)
            self.publish("progress", "minority", "search", error="")

    def _mark_results(self, ids: set[int], label: str | None, skipped: bool) -> None:
        marked = {"label": label, "skipped": skipped}
        results = [{**hit, **marked} if hit["id"] in ids else hit for hit in self._search["results"]]
        self._search = {**self._search, "results": results}

    # ---- search and curves ------------------------------------------------------------------

    def begin_search(self, query: str) -> None:
        with self._lock:
            self._search = {**self._search, "query": query, "busy": True}
            self.publish("search", error="")

    def end_search(self, query: str, results: list[dict] | None = None, seconds: float | None = None) -> None:
        """Results for ``query`` (None: it failed); a newer query waiting keeps its own."""
        with self._lock:
            if results is None:
                self._search = {**self._search, "busy": False}
                return  # the failure is published with its error
            if self._search["query"] == query:
                self._search = {"query": query, "busy": False, "results": results, "seconds": seconds}
            self.publish("search")

    def set_curves(self, curves: dict) -> None:
        with self._lock:
            self._curves = curves
            self.publish("curves", "map_status")


def plain(exc: BaseException) -> str:
    """An exception in plain words: our own errors say what to fix; others name their type."""
    if isinstance(exc, AnchorALError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def check_budget(budget) -> int | None:
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InputError(f"budget must be a positive number of labels or None, got {budget!r}")
    return int(budget)
