"""The active-learning loop as one plain object: label, propose, skip, correct, undo, simulate.

No UI here. The loop holds the labelled set, the pending proposal and the history; everything
random in an iteration is drawn from generators seeded by ``(seed, iteration)``, so the same
labelled set at the same iteration always gives the same proposal, after an undo or a resume.
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...errors import EmptyPoolError, InputError
from ..learners.learner import Trained
from ..pool import Pool, learner_reads_texts
from .classes import Classes
from .follow import LogFollower
from .labelled import LabelledSet
from .labels_io import export_labels, import_labels, labels_frame
from .oracle import run_oracle
from .proposing import evaluate_model, propose_batch, train
from .records import Event, IterationRecord, Proposal, kept_subpool
from .settings import checked_overlap, loop_settings, method_parts
from .state import LoopState

if TYPE_CHECKING:
    import pandas as pd

    from .oracle import Oracle
    from .store import LabelStore

__all__ = ["SEED_ITERATION", "ActiveLoop", "Event", "IterationRecord", "Proposal"]

SEED_ITERATION = -1  # the iteration recorded for labels given outside a proposed batch
MAX_ATTEMPTS = 3  # proposals in a row that someone else's, logged first, may cut short
RECENT_FOR_OVERLAP = 200  # second answers are asked for among the others' latest labels


class ActiveLoop(LoopState):
    """AnchorAL's loop over a pool of embeddings.

    Parameters
    ----------
    embeddings : (n, d) array or Pool
        One row per pool item; ids are row indices. A :class:`~.pool.Pool` brings its texts,
        index and fingerprint along (then ``texts``, ``index``, ``cache_dir`` and
        ``fingerprint`` are not given).
    classes : sequence
        The class names (strings or integers), unique.
    minority : sequence, optional
        The minority classes. If omitted, every class but the most frequent labelled one.
    pool_filter : {"anchoral", "randsub", "seals", "none"}
    strategy : {"entropy", "margin", "least_confidence", "random", "badge", "ftbertkm"}
    learner : "logreg", "transformer" or a learner object (see ``learners``)
    batch_size, anchors_per_class, neighbours : int
        b, A and K of the paper.
    subpool_size, outside_sample : int, optional
        M (default 1,000; 10,000 for ``randsub``: the paper's) and, with ``anchoral``, the items
        drawn from outside the anchors' neighbourhoods into each subpool (default 5,000; 0: the paper's).
    anchor_strategy, minority_anchor_strategy : {"kmeans++", "random", "entropy"}
        How anchors are chosen; the second, if given, applies to minority classes only.
    index : "auto", "hnsw", "exact" or a built index
        Built lazily, only for the filters that query it.
    texts : sequence of str, optional
        The pool's texts; needed by learners that read text.
    test : (X, y), optional
        A held-out set (X in the learner's inputs, y class names) evaluated each iteration.
    seed : int
    store : path, URL or LabelStore, optional
        A SQLite file or a ``postgresql://`` URL that keeps every label (each call committed
        before it returns); reopened on the same pool, it resumes where the last session stopped.
        Kernels sharing one store see each other's labels before each proposal.
    annotator : str, optional
        Who labels through this loop (default: the OS user); kept with every logged row.
    overlap : float
        With a shared store, the share of each batch given to items someone else labelled, for a
        second answer: what :meth:`agreement` is measured on (0.1: one item in ten). Default 0.
    fingerprint, cache_dir : optional
        The pool's identity for the store (default: a hash of the embeddings); where a built
        HNSW index is saved and found again (checked against the pool).
    """

    def __init__(
        self,
        embeddings: np.ndarray | Pool,
        classes: Iterable[Any],
        minority: Iterable[Any] | None = None,
        *,
        pool_filter: str = "anchoral",
        strategy: str = "entropy",
        learner: str | object = "logreg",
        batch_size: int = 25,
        anchors_per_class: int = 10,
        neighbours: int = 50,
        subpool_size: int | None = None,
        outside_sample: int | None = None,
        anchor_strategy: str = "kmeans++",
        minority_anchor_strategy: str | None = None,
        index: str | object = "auto",
        texts: Sequence[str] | None = None,
        test: tuple[Any, Any] | None = None,
        seed: int = 0,
        store: str | os.PathLike[str] | LabelStore | None = None,
        annotator: str | None = None,
        overlap: float = 0.0,
        fingerprint: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        # The index is built with a fixed seed, not the loop's: runs with other seeds share it.
        self.pool = Pool.of(embeddings, texts=texts, index=index, cache_dir=cache_dir, fingerprint=fingerprint)
        self._classes = Classes(classes, minority)
        self.classes = self._classes.names
        self.config = loop_settings(
            len(self.embeddings),
            pool_filter=pool_filter,
            strategy=strategy,
            learner=learner if isinstance(learner, str) else type(learner).__name__,
            batch_size=batch_size,
            anchors_per_class=anchors_per_class,
            neighbours=neighbours,
            subpool_size=subpool_size,
            anchor_strategy=anchor_strategy,
            minority_anchor_strategy=minority_anchor_strategy or anchor_strategy,
            seed=seed,
            outside_sample=outside_sample,
        )
        self.pool_filter, self.strategy, self.learner = method_parts(self.config, learner)
        if self.pool.texts is None and learner_reads_texts(self.learner):
            raise InputError("this learner reads text: pass texts=")
        self.seed = int(seed)
        self.annotator = getpass.getuser() if annotator is None else str(annotator)
        self.overlap = checked_overlap(overlap)
        self.test = None if test is None else (test[0], self.class_indices(test[1], what="test label"))

        self._labelled = LabelledSet(len(self.embeddings))
        # iterations proposed in a store's log keep their logged subpools (whole SEALS ones, at first)
        self._replayed_iterations: set[int] = set()
        self._pending: Proposal | None = None
        self._subpool_kept = {"pool_filter": self.config["pool_filter"], "subpool_size": self.config["subpool_size"]}
        self.history: list[IterationRecord] = []
        self.model_: Any = None  # the model trained by the last proposal
        self._follower: LogFollower | None = None
        if store is not None:
            self.open_store(store)

    # ---- labelling --------------------------------------------------------------------

    def label(self, ids: npt.ArrayLike, labels: Iterable[Any], *, source: str | None = None) -> None:
        """Record labels (class names) for ``ids``: seed labels, or answers to the batch.

        Everything is checked before anything changes: unknown classes, ids out of range or
        already labelled raise :class:`InputError` and leave the loop as it was. ``source``
        says where a call from outside the batch came from (``"map"``: a selection labelled at
        once); it is kept with the event, in the store and in :attr:`events`.
        """
        arr, classes = self._ids_and_classes(ids, labels)
        self._labelled.check_open_for_labels(arr, self.annotator)
        event = Event("label", arr, classes, self._iteration_of(arr), time.time(), source=source)
        self._apply(event)

    def skip(self, ids: npt.ArrayLike, *, source: str | None = None) -> None:
        """Leave ``ids`` unlabelled and out of every future subpool (undo brings them back)."""
        arr = self._labelled.checked_ids(ids)
        self._labelled.check_open_for_skips(arr)
        self._apply(Event("skip", arr, None, self._iteration_of(arr), time.time(), source=source))

    def remove(self, ids: npt.ArrayLike, *, source: str | None = None) -> None:
        """Take the labels of ``ids`` away (they are unlabelled again, and may be proposed): one
        event, undone exactly; the store keeps the answers removed."""
        arr = self._labelled.checked_ids(ids)
        unlabelled = [int(i) for i in arr if int(i) not in self._labelled.classes]
        if unlabelled:
            raise InputError(f"not labelled, so nothing to remove: {unlabelled[:5]}")
        event = Event("remove", arr, None, self.iteration, time.time(), source=source)
        event.previous = self.class_indices([self.labels[int(i)] for i in arr])  # logged: nothing is erased
        self._apply(event)

    def resolve(self, ids: npt.ArrayLike, labels: Iterable[Any]) -> None:
        """Decide the class of labelled items people disagreed on: one event of its own, logged
        whether or not the class changes (undone like any call)."""
        event = self._labelled.correction(*self._ids_and_classes(ids, labels), self.iteration, None, kind="resolve")
        assert event is not None  # a resolve keeps every item
        self._apply(event)

    def correct(self, ids: npt.ArrayLike, labels: Iterable[Any], *, source: str | None = None) -> int:
        """Change the class of labelled items as one event (undone exactly; the store keeps the
        answers replaced). Returns how many changed; the pending batch stays."""
        event = self._labelled.correction(*self._ids_and_classes(ids, labels), self.iteration, source)
        if event is not None:
            self._apply(event)
        return 0 if event is None else len(event.ids)

    def _ids_and_classes(self, ids: npt.ArrayLike, labels: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        arr, classes = self._labelled.checked_ids(ids), self.class_indices(labels)
        if len(classes) != len(arr):
            raise InputError(f"{len(arr)} ids but {len(classes)} labels")
        return arr, classes

    def _iteration_of(self, ids: np.ndarray) -> int:
        if self._pending is not None and np.isin(ids, self._pending.batch_ids).any():
            return self._pending.iteration
        return SEED_ITERATION

    def _apply(self, event: Event, persist: bool = True) -> None:
        event.annotator = self.annotator if persist else event.annotator  # a replayed call keeps its own
        if persist and self._follower is not None:
            self._follower.write(event.kind, event.payload(self.classes), lambda: self._apply(event, persist=False))
            return
        self._labelled.apply(event)
        if self._pending is not None and len(self.unanswered()) == 0:
            event.completed = self._pending
            replayed = self._pending.iteration in self._replayed_iterations
            kept = self._pending if replayed else kept_subpool(self._pending, **self._subpool_kept)
            self.history.append(IterationRecord.of(kept, self._labelled.classes, self._labelled.skipped, self.classes))
            self._pending = None

    def undo(self) -> Event | None:
        """Revert this annotator's last ``label``, ``skip``, ``correct`` or ``resolve`` call exactly,
        reopening its iteration if it finished one. Returns the reverted event, or None if there
        is nothing to undo."""
        event = self._labelled.last_of(self.annotator)
        if event is None:
            return None
        if self._follower is not None:
            self._follower.write("undo", {}, lambda: self.revert_last(self.annotator))
        else:
            self.revert_last(self.annotator)
        return event

    def revert_last(self, annotator: str) -> Event | None:
        """Take back ``annotator``'s last call, writing nothing (an undo replayed from the log)."""
        event = self._labelled.last_of(annotator)
        if event is None:
            return None
        self._labelled.revert(event)
        if event.completed is not None:
            self.history.pop()
            self._pending = event.completed
            event.completed = None
        elif self._pending is not None and self._pending.events_seen > len(self._labelled.events):
            self._pending = None  # proposed after the call being undone: stale now
        return event

    # ---- the store ----------------------------------------------------------------------

    def open_store(self, store: str | os.PathLike[str] | LabelStore) -> None:
        """Keep every label in ``store`` (a path, URL or :class:`~.store.LabelStore`) from now on,
        first replaying what it holds: the same labels, history and pending batch as when it was
        last written."""
        from .store import LabelStore

        if self.store is not None:
            raise InputError(f"this loop keeps its labels in {self.store.location} already")
        if not isinstance(store, LabelStore):
            store = LabelStore(store, fingerprint=self.pool.identities, classes=self.classes, config=self.config)
        self._follower = LogFollower(self, store, self.annotator)
        self._follower.catch_up()

    @property
    def store(self) -> LabelStore | None:
        """The store that keeps every label, or None. Set it to None to stop writing to it."""
        return None if self._follower is None else self._follower.store

    @store.setter
    def store(self, value: None) -> None:
        if value is not None:
            raise InputError("open a store with open_store(), which replays it first")
        self._follower = None

    def sync(self) -> int:
        """Take in what other kernels wrote to the shared store since the last look (labels,
        corrections, their batches); returns how many rows. Proposing does it first."""
        return 0 if self._follower is None else self._follower.catch_up()

    def held_for_others(self) -> np.ndarray:
        """Items in someone else's open batch (a shared store): never proposed here."""
        return np.zeros(0, dtype=np.int64) if self._follower is None else self._follower.held_for_others()

    def second_opinions(self, b: int) -> np.ndarray:
        """The items of a batch of ``b`` given to second answers (see ``overlap``): some of those
        someone else labelled lately and no one has answered again; none without a shared store."""
        k = round(self.overlap * b)
        theirs = self._labelled.answered_once_by_others(self.annotator)[-RECENT_FOR_OVERLAP:]
        if self._follower is None or k == 0 or not theirs:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self.rng(2).choice(np.array(theirs, dtype=np.int64), min(k, len(theirs)), replace=False))

    def apply_event(self, event: Event) -> None:
        """Apply a logged call, writing nothing."""
        self._apply(event, persist=False)

    def take_pending(self, proposal: Proposal, replayed: bool = False) -> None:
        """Make ``proposal`` the batch waiting for answers, writing nothing."""
        self._pending = proposal
        if replayed:
            self._replayed_iterations.add(proposal.iteration)
        else:
            self._replayed_iterations.discard(proposal.iteration)

    # ---- one iteration ------------------------------------------------------------------

    def rng(self, stream: int) -> np.random.Generator:
        """The generator of ``stream`` in this iteration: seeded by ``(seed, iteration, stream)``."""
        return np.random.default_rng([self.seed, self.iteration, stream])

    def labelled_in_id_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The labelled ids and their classes in id order, less those still to be encoded: what
        training and the filters see (the order labels came in never steers a proposal)."""
        return self._labelled.in_id_order(self.pool.missing)

    def train(self) -> Any:
        """Fit the learner on the labelled set (in id order); None if nothing is labelled. A
        learner whose fit takes ``minority`` is told the minority classes (its best epoch is
        chosen on them)."""
        return train(self)

    def propose(
        self,
        batch_size: int | None = None,
        on_stage: Callable[[str], object] | None = None,
        *,
        trained: Trained | None = None,
        _attempt: int = 0,
    ) -> Proposal:
        """Train, filter, select: the next batch to label.

        While a proposal has unanswered items it is returned again unchanged, so asking twice
        never moves the loop on. Raises :class:`EmptyPoolError` when nothing is left to label.
        ``on_stage(name)``, if given, is called with ``"training"`` and then ``"selecting"``.

        ``trained``: score with this model instead of training one (label-ahead: a model fitted
        in the background, maybe on fewer labels than the loop holds now; ``Trained(None, 0)``
        draws the batch at random from the subpool; a stand-in scores the embeddings). The
        anchors and the subpool are those of the current labelled set either way; the proposal
        records the model's labelled count.
        """
        self.sync()
        if self._pending is not None and len(self.unanswered()):
            return self._pending
        if self.unlabelled_count == 0:
            raise EmptyPoolError("every item of the pool is labelled or skipped: the loop is done")
        if self.unlabelled_count == len(self.held_for_others()):
            raise EmptyPoolError("every item left is in someone else's open batch: nothing to propose here")
        b = self.config["batch_size"] if batch_size is None else int(batch_size)
        if b < 1:
            raise InputError(f"batch size must be at least 1, got {b}")

        proposal, trained = propose_batch(self, b, on_stage, trained)
        self.model_ = None if trained.stand_in else trained.model
        if self._follower is None:
            self.take_pending(proposal)
            return proposal
        follower, kept = self._follower, kept_subpool(proposal, **self._subpool_kept)
        follower.write("propose", kept.payload(), lambda: self.take_pending(follower.proposed(proposal)))
        assert self._pending is not None
        if len(self._pending.batch_ids) < len(proposal.batch_ids) and _attempt < MAX_ATTEMPTS:
            self._pending = None  # someone else's batch, logged first, took some items: choose again
            return self.propose(batch_size, on_stage, trained=trained, _attempt=_attempt + 1)  # same model
        return self._pending

    def evaluate(self, model: Any = None) -> dict[str, Any] | None:
        """Minority, majority and per-class F1 of ``model`` (default: the last one) on the test
        set; None without a test set or a model."""
        return evaluate_model(self, self.model_ if model is None else model)

    def simulate(
        self, oracle: Oracle | Sequence[Any] | np.ndarray, budget: int, *, progress: bool = False
    ) -> list[IterationRecord]:
        """Run the loop with an oracle until ``budget`` more items are labelled. ``oracle`` is a
        sequence of every pool item's class name, or a callable ids -> names. Returns the
        history records added by this run."""
        return run_oracle(self, oracle, budget, progress=progress)

    def labels_frame(self) -> pd.DataFrame:
        """The labels as a DataFrame: id, text, label, iteration, time."""
        return labels_frame(self)

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the labels to a .csv, .parquet or .jsonl file."""
        return export_labels(self, path)

    def import_labels(self, path: str | os.PathLike[str]) -> int:
        """Add labels from a .csv, .parquet or .jsonl file (all or nothing); returns how many."""
        return import_labels(self, path)

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"ActiveLoop(pool={len(self.embeddings)}, classes={self.classes}, minority={self.minority}, "
            f"filter={cfg['pool_filter']!r}, strategy={cfg['strategy']!r}, labelled={len(self._labelled)}, "
            f"iteration={self.iteration})"
        )
