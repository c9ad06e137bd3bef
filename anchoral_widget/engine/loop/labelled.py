"""The labelled set: which items of the pool are labelled (with which class, when) or skipped,
and the ``label``, ``skip`` and ``correct`` calls that made it so, oldest first, each undone exactly.

Classes are held as indices; the loop turns names into indices and back. What a call means for
the batch on screen (finishing an iteration, reopening it) is the loop's business, not this.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from ...errors import InputError
from .records import Event


class LabelledSet:
    """Labels, skips and the events that made them over a pool of ``size`` items."""

    def __init__(self, size: int) -> None:
        self.classes: dict[int, int] = {}  # id -> class index, in labelling order
        self.times: dict[int, tuple[int, float]] = {}  # id -> (iteration, time)
        self.excluded = np.zeros(size, dtype=bool)  # labelled or skipped
        self.skipped: set[int] = set()
        self.events: list[Event] = []

    def __len__(self) -> int:
        return len(self.classes)

    def checked_ids(self, ids: npt.ArrayLike) -> np.ndarray:
        """``ids`` as distinct int64 row indices of the pool."""
        arr = np.asarray(ids)
        if arr.ndim == 0:
            arr = arr[None]
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"ids must be integers (row indices), got {arr.dtype}")
        arr = arr.astype(np.int64)
        n = len(self.excluded)
        bad = arr[(arr < 0) | (arr >= n)]
        if len(bad):
            raise InputError(f"ids out of range [0, {n}): {bad[:5].tolist()}")
        if len(np.unique(arr)) != len(arr):
            raise InputError("the same id appears twice in one call")
        return arr

    def check_open_for_labels(self, ids: np.ndarray) -> None:
        already = [int(i) for i in ids if int(i) in self.classes]
        if already:
            raise InputError(f"already labelled: {already[:5]}")

    def correction(self, ids: np.ndarray, classes: np.ndarray, iteration: int, source: str | None) -> Event | None:
        """The event that gives labelled ``ids`` the ``classes``, less those of that class already;
        None when nothing changes. An InputError names an item that is not labelled."""
        unlabelled = [int(i) for i in ids if int(i) not in self.classes]
        if unlabelled:
            raise InputError(f"not labelled, so nothing to correct: {unlabelled[:5]}")
        changed = np.array([self.classes[i] != c for i, c in zip(ids.tolist(), classes.tolist(), strict=True)], bool)
        if not changed.any():
            return None
        event = Event("correct", ids[changed], classes[changed], iteration, time.time(), source=source)
        event.previous = np.array([self.classes[i] for i in event.ids.tolist()], dtype=np.int64)  # logged with it
        return event

    def check_open_for_skips(self, ids: np.ndarray) -> None:
        taken = [int(i) for i in ids if self.excluded[i]]
        if taken:
            raise InputError(f"already labelled or skipped: {taken[:5]}")

    def apply(self, event: Event) -> None:
        """Take in one checked ``label``, ``skip`` or ``correct`` call; a label given to a skipped
        item unskips it, a correction replaces classes (the event remembers which, for its undo).
        A corrected label keeps its place in the labelling order and its time."""
        if event.kind == "correct":
            assert event.classes is not None  # a correction always carries its classes
            if event.previous is None:  # replayed from a store: what it replaces is what is here
                event.previous = np.array([self.classes[i] for i in event.ids.tolist()], dtype=np.int64)
            self.classes.update(zip(event.ids.tolist(), event.classes.tolist(), strict=True))
            self.events.append(event)
            return
        if event.kind == "label":
            assert event.classes is not None  # a label event always carries its classes
            for item, cls in zip(event.ids.tolist(), event.classes.tolist()):
                self.classes[item] = cls
                self.times[item] = (event.iteration, event.time)
            event.unskipped = [i for i in event.ids.tolist() if i in self.skipped]
            self.skipped.difference_update(event.unskipped)
        else:
            self.skipped.update(event.ids.tolist())
        self.excluded[event.ids] = True
        self.events.append(event)

    def revert(self) -> Event | None:
        """Take back the last call exactly; None if there is none."""
        if not self.events:
            return None
        event = self.events.pop()
        ids = event.ids.tolist()
        if event.kind == "correct":
            assert event.previous is not None  # set when it was applied
            self.classes.update(zip(ids, event.previous.tolist(), strict=True))
            return event
        if event.kind == "label":
            for item in ids:
                del self.classes[item]
                del self.times[item]
            self.skipped.update(event.unskipped)
        else:
            self.skipped.difference_update(ids)
        self.excluded[event.ids] = False
        self.excluded[event.unskipped] = True
        return event

    def ids(self) -> np.ndarray:
        """Labelled ids, in labelling order."""
        return np.fromiter(self.classes.keys(), dtype=np.int64, count=len(self.classes))

    def class_indices(self) -> np.ndarray:
        """Class indices aligned with :meth:`ids`."""
        return np.fromiter(self.classes.values(), dtype=np.int64, count=len(self.classes))

    def in_id_order(self, missing: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The labelled ids and their classes, sorted by id, less those whose vector is
        ``missing`` (a pool arriving in parts: a label counts once its item's vector is in).
        Sorted, so that a proposal never depends on the order labels came in: a solver sums its
        rows in order, and k-means++ seeds over its points in order."""
        ids, classes = self.ids(), self.class_indices()
        order = np.argsort(ids, kind="stable")
        ids, classes = ids[order], classes[order]
        if missing is not None:
            has = ~missing[ids]
            ids, classes = ids[has], classes[has]
        return ids, classes
