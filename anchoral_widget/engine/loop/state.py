"""What the loop holds, read-only: the labelled set, the pending batch, the pool. The loop
(:class:`~.active.ActiveLoop`) changes it; everything else reads it through these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .agreement import Agreement, agreement
from .classes import Classes
from .labelled import LabelledSet
from .records import Event, IterationRecord, Proposal

if TYPE_CHECKING:
    from ..pool import Pool
    from ..search.index import VectorIndex


class LoopState:
    """The read-only side of :class:`~.active.ActiveLoop`."""

    pool: Pool
    classes: list[Any]
    _classes: Classes
    _labelled: LabelledSet
    _pending: Proposal | None
    history: list[IterationRecord]
    annotator: str
    seed: int

    def class_indices(self, names: Iterable[Any], *, what: str = "label") -> np.ndarray:
        """The class index of each class name; an InputError names one that is not a class."""
        return self._classes.indices(names, what=what)

    def checked_ids(self, ids: npt.ArrayLike) -> np.ndarray:
        """``ids`` as distinct int64 row indices of the pool; an InputError names a bad one."""
        return self._labelled.checked_ids(ids)

    # ---- state ------------------------------------------------------------------------

    @property
    def iteration(self) -> int:
        """How many iterations are finished."""
        return len(self.history)

    @property
    def labelled_count(self) -> int:
        return len(self._labelled)

    @property
    def labelled_ids(self) -> np.ndarray:
        return self._labelled.ids()

    @property
    def labelled_classes(self) -> np.ndarray:
        """Class indices aligned with ``labelled_ids``."""
        return self._labelled.class_indices()

    @property
    def labels(self) -> dict[int, Any]:
        """id -> class name of every labelled item, in labelling order."""
        return {i: self.classes[c] for i, c in self._labelled.classes.items()}

    @property
    def skipped_ids(self) -> np.ndarray:
        return np.array(sorted(self._labelled.skipped), dtype=np.int64)

    @property
    def excluded(self) -> np.ndarray:
        """A read-only boolean mask over the pool: True for items labelled or skipped."""
        view = self._labelled.excluded.view()
        view.flags.writeable = False
        return view

    def unlabelled_sample(self, size: int) -> np.ndarray:
        """About ``size`` unlabelled items with a vector, at random; the same for the same
        labelled set (see :meth:`.labelled.LabelledSet.unlabelled_sample`)."""
        return self._labelled.unlabelled_sample(size, self.seed, self.pool.missing)

    @property
    def events(self) -> tuple[Event, ...]:
        """Every ``label``, ``skip`` and ``correct`` call still in effect (undone ones are gone),
        oldest first: what :meth:`undo` takes back, last first. Read them, do not change them."""
        return tuple(self._labelled.events)

    @property
    def unlabelled_count(self) -> int:
        # labelled and skipped items are apart (a label unskips): counted without a sweep of the
        # pool's mask, which took 4 ms of each proposal's wait at 10M
        labelled = self._labelled
        return len(labelled.excluded) - len(labelled.classes) - len(labelled.skipped)

    @property
    def pending(self) -> Proposal | None:
        """The proposal waiting for answers, if any."""
        return self._pending

    @property
    def minority(self) -> list[Any]:
        return [self.classes[c] for c in sorted(self.minority_indices)]

    @property
    def minority_indices(self) -> set[int]:
        return self._classes.minority_indices(self.labelled_classes)

    def agreement(self) -> Agreement:
        """How far the people labelling through a shared store agree, on the items two or more
        of them answered (see :mod:`.agreement`)."""
        return agreement(self._labelled, self.classes)

    def answers(self, item: int) -> list[tuple[str, Any]]:
        """Everyone's answers to labelled ``item``, first answer first: ``(annotator, class name)``."""
        first = self._labelled.first[int(item)]
        later = self._labelled.opinions.get(int(item), [])
        return [(who, self.classes[c]) for who, c in [first, *later]]

    def answered_here(self, item: int) -> bool:
        """Whether this annotator has answered ``item`` already (labelled it, first or second)."""
        return self._labelled.answered_by(int(item), self.annotator)

    def unanswered(self) -> np.ndarray:
        """The pending batch's items this annotator has still to answer (none without a batch):
        its new items not labelled or skipped, and its second-answer items not answered here."""
        if self._pending is None:
            return np.zeros(0, dtype=np.int64)
        fresh = self._pending.unanswered(self._labelled.excluded)
        second = [i for i in self._pending.second_ids.tolist() if not self._labelled.answered_by(i, self.annotator)]
        return np.union1d(fresh, np.array(second, dtype=np.int64)) if second else fresh

    def class_counts(self) -> dict[Any, int]:
        return self._classes.counts(self.labelled_classes)

    def label_time(self, item: int) -> tuple[int, float]:
        """(iteration, unix time) at which ``item`` was labelled."""
        return self._labelled.times[int(item)]

    @property
    def embeddings(self) -> np.ndarray:
        """The pool's embeddings (see :attr:`pool`)."""
        return self.pool.embeddings

    @property
    def texts(self) -> Sequence[str] | None:
        """The pool's texts, or None (see :attr:`pool`)."""
        return self.pool.texts

    @property
    def index(self) -> VectorIndex:
        """The vector index over the pool, built on first use (see :attr:`pool`)."""
        return self.pool.index
