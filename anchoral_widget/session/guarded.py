"""The active loop behind a session and the one lock that serialises every call into it.

The loop is not thread-safe and training holds it for seconds, so only the worker takes the
lock for long. Everything the screen and :attr:`LabelSession.labels` need from the loop is read
after each write into :class:`LoopFacts`, an immutable snapshot that readers use without the lock.
A session whose pool is still being prepared has no loop yet: its facts say nothing is labelled
until :meth:`GuardedLoop.attach` gives it one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from ..engine.loop.active import ActiveLoop
from ..errors import InputError


@dataclass(frozen=True)
class LoopFacts:
    """What the loop holds, as of its last write."""

    rows: list[tuple[int, str, object, int, float]]  # id, text, label, iteration, time: every label
    counts: dict[str, int]  # labels per class name
    skipped: int
    taken: frozenset[int]  # labelled or skipped
    minority: list[str]
    iteration: int
    missing: list[str]  # classes without a label yet

    def frame(self) -> pd.DataFrame:
        """The labels as a DataFrame: id, text, label, iteration, time (UTC)."""
        rows = self.rows
        return pd.DataFrame(
            {
                "id": pd.Series([r[0] for r in rows], dtype="int64"),
                "text": pd.Series([r[1] for r in rows], dtype="object"),
                "label": pd.Series([r[2] for r in rows], dtype="object"),
                "iteration": pd.Series([r[3] for r in rows], dtype="int64"),
                "time": pd.to_datetime(pd.Series([r[4] for r in rows], dtype="float64"), unit="s", utc=True),
            }
        )


class GuardedLoop:
    """An :class:`ActiveLoop` used from several threads, one call at a time.

    Parameters
    ----------
    loop : ActiveLoop or None
        None until :meth:`attach` (a pool being prepared). Its pool holds the texts that the
        label rows carry (see :func:`give_texts`).
    class_names : sequence of str
        The loop's classes as text, in its order.
    """

    def __init__(self, loop: ActiveLoop | None, class_names: Sequence[str]):
        self.loop = loop
        self.class_names = list(class_names)
        self._lock = threading.RLock()
        self.facts: LoopFacts  # replaced whole after every write: read it without the lock
        self.refresh()

    def attach(self, loop: ActiveLoop) -> None:
        """The loop, once made."""
        with self._lock:
            self.loop = loop
            self.refresh()

    def class_of(self, name: str) -> object:
        """The loop's class that ``name`` (one of :attr:`class_names`) stands for."""
        assert self.loop is not None  # nothing is labelled before the loop is attached
        return self.loop.classes[self.class_names.index(name)]

    @contextmanager
    def held(self) -> Iterator[ActiveLoop | None]:
        """``with guarded.held() as loop:`` the loop (None before :meth:`attach`), for as long as
        nothing else may touch it."""
        with self._lock:
            yield self.loop

    def store(self, labelled: dict[int, object], skipped: Sequence[int] = (), *, source: str | None = None) -> None:
        """Store labels (id -> the loop's class) then skips, all or nothing (``source``: where
        they came from, when not a batch or a seed; see :meth:`ActiveLoop.label`)."""
        with self._lock:
            loop = self.loop
            assert loop is not None  # nothing is stored before the loop is attached
            stored, where = False, {} if source is None else {"source": source}
            # sent again after a store that went down halfway: what went in then is not given twice
            labelled = {i: c for i, c in labelled.items() if not loop.answered_here(i)}
            already = set(loop.skipped_ids.tolist())
            skipped = [i for i in skipped if i not in already]
            try:
                if labelled:
                    loop.label(list(labelled), list(labelled.values()), **where)
                    stored = True
                if skipped:
                    loop.skip(list(skipped), **where)
            except Exception:
                if stored:
                    loop.undo()  # the labels went in but the skips did not: neither
                raise
            finally:
                self.refresh()

    def correct(self, ids: Sequence[int], label: str, *, source: str | None = None) -> int:
        """Give labelled ``ids`` the class ``label`` (a class name), as one event; how many changed."""
        with self._lock:
            assert self.loop is not None  # nothing is corrected before the loop is attached
            try:
                return self.loop.correct(list(ids), [self.class_of(label)] * len(ids), source=source)
            finally:
                self.refresh()

    def undo(self):
        """Take back the loop's last label, skip or correction; returns its event (None: nothing to undo)."""
        with self._lock:
            assert self.loop is not None  # nothing is undone before the loop is attached
            try:
                return self.loop.undo()
            finally:
                self.refresh()

    def refresh(self) -> LoopFacts:
        """Re-read labels, skips and counts from the loop (after a write; the facts are replaced
        whole, under the lock, so that they never go back in time)."""
        with self._lock:
            loop = self.loop
            if loop is None:
                self.facts = LoopFacts([], dict.fromkeys(self.class_names, 0), 0, frozenset(), [], 0, self.class_names)
                return self.facts
            labels, texts = loop.labels, loop.pool.texts
            assert texts is not None  # a session's pool has its texts (give_texts)
            rows = []
            for item, cls in labels.items():
                iteration, when = loop.label_time(item)
                rows.append((int(item), str(texts[item]), cls, int(iteration), float(when)))
            counts = {str(c): k for c, k in loop.class_counts().items()}
            skipped = loop.skipped_ids.tolist()
            self.facts = LoopFacts(
                rows=rows,
                counts=counts,
                skipped=len(skipped),
                taken=frozenset(labels) | frozenset(skipped),
                minority=[str(c) for c in loop.minority],
                iteration=loop.iteration,
                missing=[c for c in self.class_names if counts[c] == 0],
            )
            return self.facts


def give_texts(loop: ActiveLoop, texts: Sequence[str]) -> None:
    """Make the loop's pool the one holder of the session's texts: a pool made from embeddings
    alone is handed them; a pool with texts of its own keeps them, and they must be these
    (the cards, search, the label rows and the map all read ``loop.pool.texts``)."""
    pool = loop.pool
    if len(texts) != len(pool):
        raise InputError(f"{len(texts)} texts but {len(pool)} embeddings")
    if pool.texts is None:
        pool.texts = texts
    elif pool.texts is not texts and any(a != b for a, b in zip(pool.texts, texts)):
        raise InputError("the texts differ from those of the loop's pool: pass the loop's own texts (loop.texts)")
