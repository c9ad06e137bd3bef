"""The labelled set: which items of the pool are labelled (with which class, when, by whom) or
skipped, and the ``label``, ``skip``, ``correct`` and ``resolve`` calls that made it so, oldest
first, each undone exactly.

Several people may label one pool through a shared store. The log's order decides: the first
answer an item gets is its label, a later answer from someone else is a second opinion (kept for
agreement, changing nothing), a correction replaces the class whoever gave it. Replaying a log
never fails on such a race: what each call means is worked out when it is applied.

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
        self.first: dict[int, tuple[str, int]] = {}  # id -> (annotator, class) of its first answer
        self.opinions: dict[int, list[tuple[str, int]]] = {}  # id -> later answers by others

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

    def answered_by(self, item: int, annotator: str) -> bool:
        """Whether ``annotator`` answered ``item`` already (first or as a second opinion); an
        answer from a store older than annotators ("") counts as anyone's."""
        if item not in self.classes:
            return False
        return self.first[item][0] in (annotator, "") or any(a == annotator for a, _ in self.opinions.get(item, []))

    def check_open_for_labels(self, ids: np.ndarray, annotator: str = "") -> None:
        already = [int(i) for i in ids if self.answered_by(int(i), annotator)]
        if already:
            raise InputError(f"already labelled: {already[:5]}")

    def correction(
        self, ids: np.ndarray, classes: np.ndarray, iteration: int, source: str | None, *, kind: str = "correct"
    ) -> Event | None:
        """The event that gives labelled ``ids`` the ``classes``, less those of that class already;
        None when nothing changes. A ``resolve`` (a decision on items people disagree on) keeps
        every item, changed or not: the decision is an event of its own. An InputError names an
        item that is not labelled."""
        unlabelled = [int(i) for i in ids if int(i) not in self.classes]
        if unlabelled:
            raise InputError(f"not labelled, so nothing to {kind}: {unlabelled[:5]}")
        changed = np.array([self.classes[i] != c for i, c in zip(ids.tolist(), classes.tolist(), strict=True)], bool)
        if kind == "resolve":
            changed[:] = True
        if not changed.any():
            return None
        event = Event(kind, ids[changed], classes[changed], iteration, time.time(), source=source)
        event.previous = np.array([self.classes[i] for i in event.ids.tolist()], dtype=np.int64)  # logged with it
        return event

    def check_open_for_skips(self, ids: np.ndarray) -> None:
        taken = [int(i) for i in ids if self.excluded[i]]
        if taken:
            raise InputError(f"already labelled or skipped: {taken[:5]}")

    def apply(self, event: Event) -> None:
        """Take in one checked call. A label given to a skipped item unskips it; a label given to
        an item someone else labelled first is a second opinion; a skip of an item labelled or
        skipped meanwhile is dropped; a correction replaces classes (the event remembers which,
        for its undo). A corrected label keeps its place in the labelling order and its time."""
        if event.kind == "remove":
            event.ids = np.array([i for i in event.ids.tolist() if i in self.classes], dtype=np.int64)
            event.previous = np.array([self.classes[i] for i in event.ids.tolist()], dtype=np.int64)
            for item in event.ids.tolist():
                event.taken[item] = (self.classes.pop(item), self.times.pop(item), self.first.pop(item))
            self.excluded[event.ids] = False
            self.events.append(event)
            return
        if event.kind in ("correct", "resolve"):
            assert event.classes is not None  # a correction always carries its classes
            labelled = np.array([i in self.classes for i in event.ids.tolist()], dtype=bool)
            event.ids, event.classes = event.ids[labelled], event.classes[labelled]  # removed meanwhile: moot
            # what it replaces is what is here now, in the log's order (someone may have corrected it since)
            event.previous = np.array([self.classes[i] for i in event.ids.tolist()], dtype=np.int64)
            self.classes.update(zip(event.ids.tolist(), event.classes.tolist(), strict=True))
            self.events.append(event)
            return
        if event.kind == "label":
            assert event.classes is not None  # a label event always carries its classes
            for item, cls in zip(event.ids.tolist(), event.classes.tolist()):
                if item in self.classes:
                    self.opinions.setdefault(item, []).append((event.annotator, cls))
                    event.second.append(item)
                    continue
                self.classes[item] = cls
                self.times[item] = (event.iteration, event.time)
                self.first[item] = (event.annotator, cls)
            event.unskipped = [i for i in event.ids.tolist() if i in self.skipped]
            self.skipped.difference_update(event.unskipped)
        else:
            event.ids = event.ids[~self.excluded[event.ids]]
            self.skipped.update(event.ids.tolist())
        self.excluded[event.ids] = True
        self.events.append(event)

    def revert(self, event: Event | None = None) -> Event | None:
        """Take back ``event`` (default: the last call) exactly; None if there is none. An
        earlier call (someone's own last one, in a shared store) is taken back as far as the
        calls after it left its items alone."""
        if not self.events:
            return None
        event = self.events[-1] if event is None else event
        del self.events[next(i for i, e in enumerate(self.events) if e is event)]  # by identity: arrays in it
        ids = event.ids.tolist()
        if event.kind == "remove":
            for item, (cls, when, first) in event.taken.items():
                if item not in self.classes:  # not labelled again since
                    self.classes[item], self.times[item], self.first[item] = cls, when, first
                    self.excluded[item] = True
            return event
        if event.kind in ("correct", "resolve"):
            assert event.previous is not None and event.classes is not None  # set when it was applied
            for item, before, after in zip(ids, event.previous.tolist(), event.classes.tolist(), strict=True):
                if self.classes.get(item) == after:
                    self.classes[item] = before
            return event
        if event.kind == "label":
            assert event.classes is not None
            for item, cls in zip(ids, event.classes.tolist(), strict=True):
                if item in event.second:
                    self.opinions[item].remove((event.annotator, cls))
                    continue
                self.classes.pop(item, None)
                self.times.pop(item, None)
                self.first.pop(item, None)
            fresh = [i for i in ids if i not in event.second]
            self.excluded[fresh] = False
            self.skipped.update(event.unskipped)
            self.excluded[event.unskipped] = True
            return event
        self.skipped.difference_update(ids)
        self.excluded[[i for i in ids if i not in self.classes]] = False
        return event

    def answered_once_by_others(self, annotator: str) -> list[int]:
        """Items someone other than ``annotator`` labelled that no one has answered again, in
        labelling order (where a team's second answers are asked for)."""
        return [i for i, (who, _) in self.first.items() if who not in (annotator, "") and not self.opinions.get(i)]

    def last_of(self, annotator: str) -> Event | None:
        """``annotator``'s last call still in effect (one from before annotators counts as anyone's)."""
        return next((e for e in reversed(self.events) if e.annotator in (annotator, "")), None)

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

    def unlabelled_sample(self, size: int, seed: int, missing: np.ndarray | None) -> np.ndarray:
        """About ``size`` unlabelled, unskipped items with a vector, at random (see
        :func:`unlabelled_sample`)."""
        return unlabelled_sample(size, seed, self.excluded, missing)


def unlabelled_sample(size: int, seed: int, excluded: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """About ``size`` items neither ``excluded`` nor ``missing``, drawn at random (sorted ids).

    The same candidates for every fit of a loop (seeded by its seed alone), less those labelled
    or skipped since, so the same labelled set gets the same sample whatever order its labels came
    in, and the rows read stay in memory between fits (2,000 scattered rows of a memory-mapped
    10M pool: 20 ms read cold, under 1 ms once read). Drawn with replacement and thinned: no
    sweep of the pool's mask."""
    n = len(excluded)
    if size <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    draws = size + size // 4
    if missing is not None:  # a pool arriving in parts: as many draws again as its rows still to come
        present = n - int(missing.sum())
        draws = draws * n // max(present, 1)
    candidates = np.random.default_rng([seed, 5011]).integers(n, size=min(n, draws))
    keep = ~excluded[candidates]
    if missing is not None:
        keep &= ~missing[candidates]
    return np.unique(candidates[keep][:size]).astype(np.int64)
