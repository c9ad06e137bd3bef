"""The active-learning loop as one plain object: label, propose, skip, undo, simulate.

No UI here. The loop holds the labelled set, the pending proposal and the history; everything
random in an iteration is drawn from generators seeded by ``(seed, iteration)``, so the same
labelled set at the same iteration always gives the same proposal (after an undo, after a
resume).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...errors import EmptyPoolError, InputError
from ..learners.learner import BoundModel, Trained, fit_learner, make_learner, take
from ..learners.metrics import evaluate, minority_proportion
from ..method.filters import POOL_FILTERS, PoolState, make_filter
from ..method.strategies import Random, entropy, make_strategy
from ..pool import Pool, learner_reads_texts
from .records import Event, IterationRecord, Proposal

if TYPE_CHECKING:
    import pandas as pd

    from ..search.index import VectorIndex
    from .oracle import Oracle
    from .store import LabelStore

__all__ = ["SEED_ITERATION", "ActiveLoop", "Event", "IterationRecord", "Proposal"]

SEED_ITERATION = -1  # the iteration recorded for labels given outside a proposed batch


class ActiveLoop:
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
    subpool_size : int, optional
        M. Defaults to 1,000, or 10,000 for ``randsub`` (the paper's settings).
    anchor_strategy, minority_anchor_strategy : {"kmeans++", "random", "entropy"}
        How anchors are chosen; the second, if given, applies to minority classes only.
    index : "auto", "hnsw", "exact" or a built index
        Built lazily, only for the filters that query it.
    cache_dir : path, optional
        Where a built HNSW index is saved and found again (checked against the pool).
    texts : sequence of str, optional
        The pool's texts; needed by learners that read text.
    test : (X, y), optional
        A held-out set (X in the learner's inputs, y class names) evaluated each iteration.
    seed : int
    store : path or LabelStore, optional
        A SQLite file that keeps every label: each call is committed before it returns, and
        reopening the file on the same pool resumes where the last session stopped.
    fingerprint : str, optional
        The pool's identity for the store; by default a hash of the embeddings.
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
        anchor_strategy: str = "kmeans++",
        minority_anchor_strategy: str | None = None,
        index: str | object = "auto",
        texts: Sequence[str] | None = None,
        test: tuple[Any, Any] | None = None,
        seed: int = 0,
        store: str | os.PathLike[str] | LabelStore | None = None,
        fingerprint: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        # The index is built with a fixed seed, not the loop's: runs with other seeds share it.
        self.pool = Pool.of(embeddings, texts=texts, index=index, cache_dir=cache_dir, fingerprint=fingerprint)
        self.classes = _check_classes(classes)
        self._class_index = {c: i for i, c in enumerate(self.classes)}
        self._minority_given = None if minority is None else self.class_indices(minority, what="minority class")
        if pool_filter not in POOL_FILTERS:
            raise InputError(f"unknown pool filter {pool_filter!r}; choose from {', '.join(POOL_FILTERS)}")
        if subpool_size is None:  # the paper's defaults, never more than the pool
            subpool_size = min(10_000 if pool_filter == "randsub" else 1_000, len(self.embeddings))
        self.config: dict[str, Any] = {
            "pool_filter": pool_filter,
            "strategy": strategy,
            "learner": learner if isinstance(learner, str) else type(learner).__name__,
            "batch_size": int(batch_size),
            "anchors_per_class": int(anchors_per_class),
            "neighbours": int(neighbours),
            "subpool_size": int(subpool_size),
            "anchor_strategy": anchor_strategy,
            "minority_anchor_strategy": minority_anchor_strategy or anchor_strategy,
            "seed": int(seed),
        }
        self._check_sizes()
        self.pool_filter = make_filter(
            pool_filter,
            anchors_per_class=anchors_per_class,
            neighbours=neighbours,
            subpool_size=subpool_size,
            minority_anchor_strategy=minority_anchor_strategy or anchor_strategy,
            majority_anchor_strategy=anchor_strategy,
        )
        self.strategy = make_strategy(strategy)
        self.learner = make_learner(learner)
        if self.pool.texts is None and learner_reads_texts(self.learner):
            raise InputError("this learner reads text: pass texts=")
        self.seed = int(seed)
        self.test = None if test is None else (test[0], self.class_indices(test[1], what="test label"))

        n = len(self.embeddings)
        self._labels: dict[int, int] = {}  # id -> class index, in labelling order
        self._label_meta: dict[int, tuple[int, float]] = {}  # id -> (iteration, time)
        self._excluded = np.zeros(n, dtype=bool)  # labelled or skipped
        self._skipped: set[int] = set()
        self._events: list[Event] = []
        # Iterations whose proposal came from a store's log: recorded as logged (a store from
        # the first release logged whole SEALS subpools; its history keeps them).
        self._replayed_iterations: set[int] = set()
        self._pending: Proposal | None = None
        self.history: list[IterationRecord] = []
        self.model_: Any = None  # the model trained by the last proposal
        self.store: LabelStore | None = None
        if store is not None:
            self.open_store(store)

    # ---- input checks -------------------------------------------------------------------

    def _check_sizes(self) -> None:
        n, cfg = len(self.embeddings), self.config
        if cfg["batch_size"] < 1:
            raise InputError(f"batch_size must be at least 1, got {cfg['batch_size']}")
        if n < cfg["batch_size"]:
            raise InputError(f"the pool has {n} items, fewer than one batch (batch_size={cfg['batch_size']})")
        if cfg["pool_filter"] in ("anchoral", "seals") and n < cfg["neighbours"]:
            raise InputError(f"the pool has {n} items, fewer than neighbours={cfg['neighbours']}")
        if cfg["pool_filter"] in ("anchoral", "randsub") and n < cfg["subpool_size"]:
            raise InputError(f"the pool has {n} items, fewer than subpool_size={cfg['subpool_size']}")
        if cfg["anchors_per_class"] < 1 or cfg["neighbours"] < 1 or cfg["subpool_size"] < 1:
            raise InputError("anchors_per_class, neighbours and subpool_size must be at least 1")

    def class_indices(self, names: Iterable[Any], *, what: str = "label") -> np.ndarray:
        """The class index of each class name; an InputError names one that is not a class."""
        values = list(names) if not isinstance(names, (str, bytes)) else [names]
        out = np.empty(len(values), dtype=np.int64)
        for i, name in enumerate(values):
            key = name.item() if isinstance(name, np.generic) else name
            if key not in self._class_index:
                raise InputError(f"{what} {key!r} is not among the classes {self.classes}")
            out[i] = self._class_index[key]
        return out

    def _check_ids(self, ids: npt.ArrayLike) -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim == 0:
            arr = arr[None]
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"ids must be integers (row indices), got {arr.dtype}")
        arr = arr.astype(np.int64)
        n = len(self.embeddings)
        bad = arr[(arr < 0) | (arr >= n)]
        if len(bad):
            raise InputError(f"ids out of range [0, {n}): {bad[:5].tolist()}")
        if len(np.unique(arr)) != len(arr):
            raise InputError("the same id appears twice in one call")
        return arr

    # ---- state ------------------------------------------------------------------------

    @property
    def iteration(self) -> int:
        """How many iterations are finished."""
        return len(self.history)

    @property
    def labelled_ids(self) -> np.ndarray:
        return np.fromiter(self._labels.keys(), dtype=np.int64, count=len(self._labels))

    @property
    def labelled_classes(self) -> np.ndarray:
        """Class indices aligned with ``labelled_ids``."""
        return np.fromiter(self._labels.values(), dtype=np.int64, count=len(self._labels))

    @property
    def labels(self) -> dict[int, Any]:
        """id -> class name of every labelled item, in labelling order."""
        return {i: self.classes[c] for i, c in self._labels.items()}

    @property
    def skipped_ids(self) -> np.ndarray:
        return np.array(sorted(self._skipped), dtype=np.int64)

    @property
    def excluded(self) -> np.ndarray:
        """A read-only boolean mask over the pool: True for items labelled or skipped."""
        view = self._excluded.view()
        view.flags.writeable = False
        return view

    @property
    def events(self) -> tuple[Event, ...]:
        """Every ``label`` and ``skip`` call still in effect (undone ones are gone), oldest first:
        what :meth:`undo` takes back, last first. Read them, do not change them."""
        return tuple(self._events)

    @property
    def unlabelled_count(self) -> int:
        return int((~self._excluded).sum())

    @property
    def pending(self) -> Proposal | None:
        """The proposal waiting for answers, if any."""
        return self._pending

    @property
    def minority(self) -> list[Any]:
        return [self.classes[c] for c in sorted(self.minority_indices)]

    @property
    def minority_indices(self) -> set[int]:
        if self._minority_given is not None:
            return set(int(c) for c in self._minority_given)
        counts = np.bincount(self.labelled_classes, minlength=len(self.classes))
        if counts.sum() == 0:
            return set(range(len(self.classes)))
        return set(range(len(self.classes))) - {int(counts.argmax())}

    def class_counts(self) -> dict[Any, int]:
        counts = np.bincount(self.labelled_classes, minlength=len(self.classes))
        return {c: int(k) for c, k in zip(self.classes, counts)}

    def label_time(self, item: int) -> tuple[int, float]:
        """(iteration, unix time) at which ``item`` was labelled."""
        return self._label_meta[int(item)]

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

    # ---- labelling --------------------------------------------------------------------

    def label(self, ids: npt.ArrayLike, labels: Iterable[Any], *, source: str | None = None) -> None:
        """Record labels (class names) for ``ids``: seed labels, or answers to the batch.

        Everything is checked before anything changes: unknown classes, ids out of range or
        already labelled raise :class:`InputError` and leave the loop as it was. ``source``
        says where a call from outside the batch came from (``"map"``: a selection labelled at
        once); it is kept with the event, in the store and in :attr:`events`.
        """
        arr = self._check_ids(ids)
        classes = self.class_indices(labels)
        if len(classes) != len(arr):
            raise InputError(f"{len(arr)} ids but {len(classes)} labels")
        already = [int(i) for i in arr if int(i) in self._labels]
        if already:
            raise InputError(f"already labelled: {already[:5]}")
        self._apply(Event("label", arr, classes, self._iteration_of(arr), time.time(), source=source))

    def skip(self, ids: npt.ArrayLike, *, source: str | None = None) -> None:
        """Leave ``ids`` unlabelled and out of every future subpool (undo brings them back)."""
        arr = self._check_ids(ids)
        taken = [int(i) for i in arr if self._excluded[i]]
        if taken:
            raise InputError(f"already labelled or skipped: {taken[:5]}")
        self._apply(Event("skip", arr, None, self._iteration_of(arr), time.time(), source=source))

    def _iteration_of(self, ids: np.ndarray) -> int:
        if self._pending is not None and np.isin(ids, self._pending.batch_ids).any():
            return self._pending.iteration
        return SEED_ITERATION

    def _apply(self, event: Event, persist: bool = True) -> None:
        if persist and self.store is not None:
            payload: dict[str, Any] = {
                "ids": event.ids,
                "labels": None if event.classes is None else [self.classes[c] for c in event.classes.tolist()],
                "iteration": event.iteration,
                "time": event.time,
            }
            if event.source is not None:  # absent from batch and seed rows, as in every older store
                payload["source"] = event.source
            self.store.append(event.kind, payload)
        if event.kind == "label":
            assert event.classes is not None  # a label event always carries its classes
            for item, cls in zip(event.ids.tolist(), event.classes.tolist()):
                self._labels[item] = cls
                self._label_meta[item] = (event.iteration, event.time)
            event.unskipped = [i for i in event.ids.tolist() if i in self._skipped]
            self._skipped.difference_update(event.unskipped)
        else:
            self._skipped.update(event.ids.tolist())
        self._excluded[event.ids] = True
        if self._pending is not None and len(self._pending.unanswered(self._excluded)) == 0:
            event.completed = self._pending
            self.history.append(self._record(self._pending))
            self._pending = None
        self._events.append(event)

    def _kept_subpool(self, proposal: Proposal) -> Proposal:
        """The proposal as the history and the store keep it: the full pool as a subpool is not
        worth a copy per iteration, and a subpool that grows with the labelled set (SEALS: K
        neighbours of every label) is kept as its ``subpool_size`` best-scored items and the
        batch, or the history would grow with the square of the labels. The strategy saw all
        of it."""
        if self.config["pool_filter"] == "none":
            return replace(proposal, subpool_ids=proposal.subpool_ids[:0], subpool_scores=None)
        keep = self.config["subpool_size"]
        if len(proposal.subpool_ids) <= keep:
            return proposal
        # Filters list a scored subpool best first (filters.top_by_score).
        kept = np.arange(len(proposal.subpool_ids)) < keep
        kept |= np.isin(proposal.subpool_ids, proposal.batch_ids)
        scores = None if proposal.subpool_scores is None else proposal.subpool_scores[kept]
        return replace(proposal, subpool_ids=proposal.subpool_ids[kept], subpool_scores=scores)

    def _record(self, proposal: Proposal) -> IterationRecord:
        batch = proposal.batch_ids.tolist()
        answered = [i for i in batch if i in self._labels]
        kept = proposal if proposal.iteration in self._replayed_iterations else self._kept_subpool(proposal)
        return IterationRecord(
            iteration=proposal.iteration,
            labelled_count=proposal.labelled_count,
            anchor_ids=proposal.anchor_ids.tolist(),
            anchor_classes=[self.classes[c] for c in proposal.anchor_classes.tolist()],
            subpool_ids=kept.subpool_ids.tolist(),
            subpool_scores=[] if kept.subpool_scores is None else kept.subpool_scores.tolist(),
            batch_ids=answered,
            batch_labels=[self.classes[self._labels[i]] for i in answered],
            skipped_ids=[i for i in batch if i in self._skipped],
            minority_in_labelled=proposal.minority_in_labelled,
            minority_in_subpool=None,
            seconds=dict(proposal.seconds),
            test=proposal.test,
            model_labelled=proposal.model_labelled,
        )

    def undo(self, persist: bool = True) -> Event | None:
        """Revert the last ``label`` or ``skip`` call exactly, reopening its iteration if it
        finished one. Returns the reverted event, or None if there is nothing to undo."""
        if not self._events:
            return None
        if persist and self.store is not None:
            self.store.append("undo", {})
        event = self._events.pop()
        ids = event.ids.tolist()
        if event.kind == "label":
            for item in ids:
                del self._labels[item]
                del self._label_meta[item]
            self._skipped.update(event.unskipped)
        else:
            self._skipped.difference_update(ids)
        self._excluded[event.ids] = False
        self._excluded[event.unskipped] = True
        if event.completed is not None:
            self.history.pop()
            self._pending = event.completed
            event.completed = None
        elif self._pending is not None and self._pending.events_seen > len(self._events):
            self._pending = None  # proposed after the call being undone: stale now
        return event

    # ---- the store ----------------------------------------------------------------------

    def open_store(self, store: str | os.PathLike[str] | LabelStore) -> None:
        """Keep every label in ``store`` (a path or a :class:`~.store.LabelStore`) from now on,
        first replaying what it holds: the same labels, history and pending batch as when it was
        last written."""
        from .store import LabelStore, replay

        if self.store is not None:
            raise InputError(f"this loop keeps its labels in {self.store.path} already")
        if not isinstance(store, LabelStore):
            store = LabelStore(store, fingerprint=self.pool.identities, classes=self.classes, config=self.config)
        replay(self, store.log())
        self.store = store

    def restore(self, kind: str, payload: dict[str, Any]) -> None:
        """Apply one logged step (``label``, ``skip``, ``undo`` or ``propose``) as it was recorded,
        writing nothing: how a label store rebuilds the loop (see :func:`~.store.replay`)."""
        if kind == "propose":
            self._pending = Proposal.from_payload(payload)
            self._replayed_iterations.add(self._pending.iteration)
        elif kind in ("label", "skip"):
            ids = self._check_ids(payload["ids"])
            classes = None if kind == "skip" else self.class_indices(payload["labels"])
            event = Event(kind, ids, classes, payload["iteration"], payload["time"], source=payload.get("source"))
            self._apply(event, persist=False)
        elif kind == "undo":
            self.undo(persist=False)
        else:
            raise InputError(f"unknown logged step {kind!r}: expected label, skip, undo or propose")

    # ---- one iteration ------------------------------------------------------------------

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.iteration, stream])

    def _features(self) -> Any:
        return self.pool.features(self.learner)

    def labelled_in_id_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The labelled ids and their classes, sorted by id: what training and the filters see,
        so that a proposal depends on the labelled set and never on the order labels came in
        (a solver sums its rows in order; k-means++ seeds over its points in order)."""
        ids, classes = self.labelled_ids, self.labelled_classes
        order = np.argsort(ids, kind="stable")
        ids, classes = ids[order], classes[order]
        missing = self.pool.missing
        if missing is not None:  # a pool arriving in parts: a label counts once its item's vector is in
            has = ~missing[ids]
            ids, classes = ids[has], classes[has]
        return ids, classes

    def train(self) -> Any:
        """Fit the learner on the labelled set (in id order); None if nothing is labelled. A
        learner whose fit takes ``minority`` is told the minority classes (its best epoch is
        chosen on them)."""
        if not self._labels:
            return None
        ids, classes = self.labelled_in_id_order()
        if not len(ids):  # every label's vector is still to come (a pool arriving in parts)
            return None
        X = take(self._features(), ids)
        return fit_learner(
            self.learner, X, classes, len(self.classes), self.seed, minority=sorted(self.minority_indices)
        )

    def propose(
        self,
        batch_size: int | None = None,
        on_stage: Callable[[str], object] | None = None,
        *,
        trained: Trained | None = None,
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
        if self._pending is not None and len(self._pending.unanswered(self._excluded)):
            return self._pending
        if self.unlabelled_count == 0:
            raise EmptyPoolError("every item of the pool is labelled or skipped: the loop is done")
        b = self.config["batch_size"] if batch_size is None else int(batch_size)
        if b < 1:
            raise InputError(f"batch size must be at least 1, got {b}")

        t0 = time.perf_counter()
        if trained is None:
            if on_stage:
                on_stage("training")
            model = self.train()
            train_s = time.perf_counter() - t0
            trained = Trained(model, len(self._labels), train_s)
        model = trained.model
        t1 = time.perf_counter()
        if on_stage:
            on_stage("selecting")
        features = self.embeddings if trained.stand_in else self._features()
        bound = None if model is None else BoundModel(model, features)
        subpool = self.pool_filter(self._pool_state(bound))
        t2 = time.perf_counter()
        # With no model yet, uncertainty means nothing: pick at random from the subpool.
        strategy = self.strategy if bound is not None else Random()
        batch = np.asarray(strategy.select(bound, subpool.ids, b, self._rng(1)), dtype=np.int64)
        t3 = time.perf_counter()

        retrieved_by = None
        if subpool.retrieved_by is not None:
            position = {int(i): k for k, i in enumerate(subpool.ids.tolist())}
            retrieved_by = subpool.retrieved_by[[position[int(i)] for i in batch]]
        probs = (
            bound.proba(batch) if bound is not None else np.full((len(batch), len(self.classes)), 1 / len(self.classes))
        )
        self.model_ = None if trained.stand_in else model
        self._replayed_iterations.discard(self.iteration)
        proposal = Proposal(
            iteration=self.iteration,
            batch_ids=batch,
            subpool_ids=subpool.ids,
            subpool_scores=subpool.scores,
            anchor_ids=subpool.anchor_ids,
            anchor_classes=subpool.anchor_classes,
            batch_proba=probs,
            seconds={
                "train": trained.waited,
                "subpool": t2 - t1,
                "strategy": t3 - t2,
                "total": trained.waited + t3 - t1,
            },
            labelled_count=len(self._labels),
            minority_in_labelled=minority_proportion(self.labelled_classes, self.minority_indices),
            # the test set is held as the learner's features: a stand-in cannot read them
            test=None if trained.stand_in else self.evaluate(model),
            events_seen=len(self._events),
            batch_retrieved_by=retrieved_by,
            model_labelled=None if model is None else int(trained.labelled),
            model_stand_in=trained.stand_in,
        )
        if self.store is not None:
            self.store.append("propose", self._kept_subpool(proposal).payload())
        self._pending = proposal
        return proposal

    def _pool_state(self, bound: BoundModel | None) -> PoolState:
        needs_index = self.config["pool_filter"] in ("anchoral", "seals") and len(self._labels) > 0
        ids, classes = self.labelled_in_id_order()
        labelled_entropy: Callable[[], np.ndarray] | None = None
        if bound is not None:
            labelled_entropy = lambda: entropy(bound.proba(ids))
        missing = self.pool.missing
        return PoolState(
            embeddings=self.embeddings,
            index=self.index if needs_index else None,
            excluded=self._excluded if missing is None else self._excluded | missing,
            labelled_ids=ids,
            labelled_classes=classes,
            n_classes=len(self.classes),
            minority=self.minority_indices,
            rng=self._rng(0),
            labelled_entropy=labelled_entropy,
        )

    def evaluate(self, model: Any = None) -> dict[str, Any] | None:
        """Minority, majority and per-class F1 of ``model`` (default: the last one) on the test
        set; None without a test set or a model."""
        model = self.model_ if model is None else model
        if self.test is None or model is None:
            return None
        X, y = self.test
        predicted = BoundModel(model, X).proba(np.arange(len(y))).argmax(axis=1)
        return evaluate(y, predicted, sorted(self.minority_indices), self.classes)

    def simulate(
        self, oracle: Oracle | Sequence[Any] | np.ndarray, budget: int, *, progress: bool = False
    ) -> list[IterationRecord]:
        """Run the loop with an oracle until ``budget`` more items are labelled.

        ``oracle`` is a sequence of every pool item's class name, or a callable ids -> names.
        Returns the history records added by this run.
        """
        from .oracle import run_oracle

        return run_oracle(self, oracle, budget, progress=progress)

    def labels_frame(self) -> pd.DataFrame:
        """The labels as a DataFrame: id, text, label, iteration, time."""
        from .labels_io import labels_frame

        return labels_frame(self)

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the labels to a .csv, .parquet or .jsonl file."""
        from .labels_io import export_labels

        return export_labels(self, path)

    def import_labels(self, path: str | os.PathLike[str]) -> int:
        """Add labels from a .csv, .parquet or .jsonl file (all or nothing); returns how many."""
        from .labels_io import import_labels

        return import_labels(self, path)

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"ActiveLoop(pool={len(self.embeddings)}, classes={self.classes}, minority={self.minority}, "
            f"filter={cfg['pool_filter']!r}, strategy={cfg['strategy']!r}, labelled={len(self._labels)}, "
            f"iteration={self.iteration})"
        )


def _check_classes(classes: Iterable[Any]) -> list[Any]:
    if isinstance(classes, (str, bytes)):
        raise InputError("classes must be a list of class names, not a single string")
    names = [c.item() if isinstance(c, np.generic) else c for c in classes]
    if len(names) < 2:
        raise InputError(f"at least two classes are needed, got {names}")
    seen: set[Any] = set()
    dupes: list[Any] = []
    for c in names:
        if c in seen:
            dupes.append(c)
        seen.add(c)
    if dupes:
        raise InputError(f"duplicate classes: {dupes}")
    return names
