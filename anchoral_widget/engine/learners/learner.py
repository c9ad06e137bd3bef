"""Learners: what the loop trains on the labelled set each iteration.

A learner's ``fit(X, y, n_classes, seed)`` returns a fresh fitted model (re-initialised every
iteration, as in the paper) with ``predict_proba(X) -> (n, n_classes)`` and
``represent(X) -> (n, d)``, the representation h(x) that feeds the last layer (BADGE,
FT-BERTKM). ``inputs`` says what X is: ``"embeddings"`` (rows of the pool's embeddings) or
``"texts"`` (a list of strings). A fit may also take the keywords ``minority``, ``init``,
``checkpoint`` and ``unlabelled``; :func:`fit_learner` passes those it takes. A fitted model may
have ``predict(X)``, the classes it decides when they are not simply the most probable ones.

- :class:`EmbeddingClassifier` (default): class-weighted logistic regression on the frozen
  sentence embeddings; trains in milliseconds on thousands of labels.
- :class:`~.transformer.TransformerClassifier` (its own module): the paper's fine-tuned Hugging
  Face model, from a local path, on the GPU when there is one; optionally warm started.
- :class:`Trained`: a model and the labelled count it was fitted on, for a proposal scored by a
  model fitted in the background; :class:`Remembering`: a model that scores an input once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import AnchorALError, InputError


def take(features: Any, ids: Any) -> Any:
    """Rows ``ids`` of an embeddings array, a sparse matrix or a list of texts."""
    if isinstance(features, np.ndarray) or hasattr(features, "tocsr"):
        return features[ids]
    return [features[int(i)] for i in ids]


class BoundModel:
    """A fitted model bound to the pool, so strategies can ask by id; works in chunks so that
    scoring a million-item pool never copies the whole pool at once."""

    def __init__(self, model: Any, features: Any, chunk: int = 65_536) -> None:
        self.model = model
        self._features = features
        self._chunk = chunk

    def _map(self, method: Callable[[Any], np.ndarray], ids: Any) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        parts = [method(take(self._features, ids[s : s + self._chunk])) for s in range(0, len(ids), self._chunk)]
        return np.concatenate(parts) if parts else np.empty((0, 0))

    def proba(self, ids: Any) -> np.ndarray:
        return self._map(self.model.predict_proba, ids)

    def represent(self, ids: Any) -> np.ndarray:
        return self._map(self.model.represent, ids)

    def predicted(self, ids: Any) -> np.ndarray:
        """The class the model decides for each item (see :func:`predicted`)."""
        return self._map(lambda X: predicted(self.model, X), ids).astype(np.int64)

    def proba_and_represent(self, ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """Both at once: one forward pass for a model that can (a transformer), two otherwise."""
        both = getattr(self.model, "predict_proba_and_represent", None)
        if both is None:
            return self.proba(ids), self.represent(ids)
        ids = np.asarray(ids, dtype=np.int64)
        parts = [both(take(self._features, ids[s : s + self._chunk])) for s in range(0, len(ids), self._chunk)]
        return np.concatenate([p for p, _ in parts]), np.concatenate([h for _, h in parts])


def over_all_classes(probs: np.ndarray, present: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over the classes seen in training -> over all classes (0 for unseen)."""
    full = np.zeros((len(probs), n_classes), dtype=np.float64)
    full[:, present] = probs
    return full


class _ConstantModel:
    """What a learner gives when the labels hold a single class: certain of that class."""

    def __init__(self, cls: int, n_classes: int, represent: Callable[[Any], np.ndarray]) -> None:
        self._cls, self._n = cls, n_classes
        self._represent = represent

    def predict_proba(self, X: Any) -> np.ndarray:
        probs = np.zeros((len(X), self._n))
        probs[:, self._cls] = 1.0
        return probs

    def represent(self, X: Any) -> np.ndarray:
        return self._represent(X)


def check_training_set(X: Any, y: Any, n_classes: int) -> np.ndarray:
    labels = np.asarray(y, dtype=np.int64)
    if len(labels) == 0:
        raise InputError("cannot train on an empty labelled set")
    if len(X) != len(labels):
        raise InputError(f"{len(X)} training items but {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise InputError(f"labels must be class indices in [0, {n_classes})")
    return labels


@functools.cache
def blas_controller() -> Any:
    """The BLAS libraries loaded (found once: a scan of the process's libraries costs 2 ms).

    numpy and scipy each bring an OpenBLAS, and their threads contend over a solver's small
    products: on 2 cores a fit on 5,000 labels took 0.15 s with two BLAS threads and 0.018 s with
    one (the same 16 steps), so fits run with one. threadpoolctl lets one thread at a time set the
    limit; a fit that overlaps another's runs with the threads as they are."""
    import sklearn.linear_model  # noqa: F401  (loads scipy's OpenBLAS beside numpy's)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class EmbeddingClassifier:
    """Logistic regression on frozen embeddings, class-weighted ("balanced") so that a 1%
    minority is not ignored. h(x) is the embedding itself.

    ``unlabelled_sample`` > 0 (the default) asks the loop for that many unlabelled items drawn
    at random (``unlabelled=`` their rows): AnchorAL's labels crowd around the anchors, so a
    model fitted on them alone calls much of the pool rare. A second model is fitted with the
    sample as the majority (it holds the rare class at its prevalence: a few wrong labels),
    weighing ``unlabelled_weight`` of the labelled set once ``unlabelled_ramp`` rare labels are
    in, less before, none before ``unlabelled_from`` (see :meth:`unlabelled_share`). Its
    probabilities score the pool for the strategy; the two models' mean makes the decisions
    (:func:`predicted`). On MiniLM's vectors, 500 labels after the paper's initial set, icd10-eye
    at 1%: 187 rare items found where the balanced model found 96 and randsub 76, and minority-F1
    AUC level with randsub's instead of 2.1 below it (``benchmarks/subpool_breadth.py``).
    ``unlabelled_sample=0`` is the balanced model alone, as the paper's method.
    """

    inputs = "embeddings"

    def __init__(
        self,
        C: float = 1.0,
        max_iter: int = 1000,
        unlabelled_sample: int = 2000,
        unlabelled_weight: float = 1.0,
        unlabelled_ramp: int = 40,
        unlabelled_from: int = 10,
    ) -> None:
        settings = {"unlabelled_sample": unlabelled_sample, "unlabelled_weight": unlabelled_weight}
        counts = {"unlabelled_ramp": unlabelled_ramp, "unlabelled_from": unlabelled_from}
        for name, value in {**settings, **counts}.items():
            if value < 0:
                raise InputError(f"{name} must be >= 0, got {value}")
        self.C = C
        self.max_iter = max_iter
        self.unlabelled_sample = int(unlabelled_sample)
        self.unlabelled_weight = float(unlabelled_weight)
        self.unlabelled_ramp = int(unlabelled_ramp)
        self.unlabelled_from = int(unlabelled_from)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        n_classes: int,
        seed: int = 0,
        minority: list[int] | None = None,
        unlabelled: np.ndarray | None = None,
    ) -> Any:
        y = check_training_set(X, y, n_classes)
        present = np.unique(y)
        if len(present) == 1:
            return _ConstantModel(int(present[0]), n_classes, lambda X: np.asarray(X, dtype=np.float32))
        # a memory-mapped pool's float16 rows: scikit-learn would solve in float64
        X = X.astype(np.float32) if X.dtype == np.float16 else X
        if unlabelled is not None and unlabelled.dtype == np.float16:
            unlabelled = unlabelled.astype(np.float32)
        balanced = self._fit(X, y, seed, class_weight="balanced")
        share = self.unlabelled_share(y, minority)
        majority = np.setdiff1d(present, minority if minority is not None else [])
        if not share or unlabelled is None or not len(unlabelled) or not len(majority):
            return _FittedEmbeddingClassifier(balanced, n_classes)
        # each unlabelled row stands for the majority class the balanced model finds likelier
        proba = balanced.predict_proba(unlabelled)[:, np.searchsorted(balanced.classes_, majority)]
        guessed = majority[proba.argmax(axis=1)]
        counts = np.bincount(y, minlength=n_classes)
        weights = len(y) / (len(present) * counts[y])
        unlabelled_weights = np.full(len(unlabelled), share * weights.sum() / len(unlabelled))
        against_pool = self._fit(
            np.concatenate([X, unlabelled]), np.r_[y, guessed], seed, sample_weight=np.r_[weights, unlabelled_weights]
        )
        return _FittedAgainstPool(against_pool, balanced, n_classes)

    def unlabelled_share(self, y: np.ndarray, minority: list[int] | None) -> float:
        """The sample's weight against the labelled set's. It stands against the rare class: a
        handful of rare labels would be buried, and a class the vectors barely separate (sentiment
        at 0.1%) then never called, so it grows with the rare labels to its full weight at
        ``unlabelled_ramp`` of them. Below ``unlabelled_from`` rare labels it has none: on
        sentiment at 0.1% (5 rare labels, then 7) even a sixth of the weight cost minority F1
        against randsub (AUC -0.16, p=0.015), and none cost nothing there."""
        if not self.unlabelled_sample or minority is None:
            return 0.0
        rare = int(np.isin(y, minority).sum())
        if rare < self.unlabelled_from:
            return 0.0
        return self.unlabelled_weight * (min(1.0, rare / self.unlabelled_ramp) if self.unlabelled_ramp else 1.0)

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int, **weights: Any) -> Any:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(
            C=self.C, max_iter=self.max_iter, class_weight=weights.pop("class_weight", None), random_state=seed
        )
        with blas_controller().limit(limits=1, user_api="blas"):
            clf.fit(X, y, **weights)
        return clf


class _FittedEmbeddingClassifier:
    def __init__(self, clf: Any, n_classes: int) -> None:
        self.clf = clf
        self.n_classes = n_classes

    def predict_proba(self, X: Any) -> np.ndarray:
        return over_all_classes(self.clf.predict_proba(X), self.clf.classes_, self.n_classes)

    def represent(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)


class _FittedAgainstPool(_FittedEmbeddingClassifier):
    """Scores from the model fitted against the pool's sample; decisions from its mean with the
    balanced model's (the first alone under-calls a rare class it cannot separate well, the
    second over-calls one that AnchorAL's labels crowd around)."""

    def __init__(self, clf: Any, balanced: Any, n_classes: int) -> None:
        super().__init__(clf, n_classes)
        self.balanced = _FittedEmbeddingClassifier(balanced, n_classes)

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray((self.predict_proba(X) + self.balanced.predict_proba(X)).argmax(axis=1))


def predicted(model: Any, X: Any) -> np.ndarray:
    """The class ``model`` decides for each row: its ``predict`` where it has one, else the most
    probable class."""
    predict = getattr(model, "predict", None)
    return np.asarray(predict(X) if predict is not None else model.predict_proba(X).argmax(axis=1))


def fit_learner(learner: Any, X: Any, y: np.ndarray, n_classes: int, seed: int = 0, **optional: Any) -> Any:
    """``learner.fit(X, y, n_classes, seed)`` with those of ``optional`` its ``fit`` takes.

    The loop and the session's trainer offer ``minority`` (the class indices to choose the best
    epoch on), ``init`` (the last model fitted, to warm start from) and ``checkpoint`` (called
    between optimisation steps; it may block to lend the CPU, or raise :class:`FitCancelled`),
    so that a learner written for the plain four arguments still works.
    """
    try:
        params = inspect.signature(learner.fit).parameters
    except (TypeError, ValueError):  # a builtin or C-level fit: the plain call only
        params = {}  # type: ignore[assignment]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    given = {k: v for k, v in optional.items() if takes_any or k in params}
    return learner.fit(X, y, n_classes, seed, **given)


class FitCancelled(Exception):
    """Raised by a fit's ``checkpoint`` to stop it: its session closed."""


class TrainingError(AnchorALError):
    """A fit that cannot go on: the loss became NaN or infinite, or the device ran out of memory."""


@dataclass(frozen=True)
class Trained:
    """A model fitted on the labelled set as it was, for :meth:`ActiveLoop.propose` to score with.

    ``model`` None: no model yet (the batch is drawn at random from the subpool). ``labelled``:
    how many labels it was fitted on (with label-ahead, maybe fewer than the loop holds now).
    ``waited``: seconds the caller waited for it, counted as the proposal's training time.
    ``stand_in``: fitted on the pool's embeddings by :class:`EmbeddingClassifier` (milliseconds)
    while the session's own learner, a fine-tuned transformer, has no model yet; it scores the
    embeddings, not the texts.
    """

    model: Any
    labelled: int
    waited: float = 0.0
    stand_in: bool = False


class Remembering:
    """A fitted model that keeps what it computed for each input (a text, or an embedding row's
    bytes), so that a model kept for several proposals scores an item once.

    Consecutive subpools overlap, and a model fitted in the background proposes until the next
    one is ready: with a transformer (milliseconds per item on a CPU) this is most of the wait
    after a submit. :meth:`remember` scores items ahead of time, in chunks, between calls to a
    ``checkpoint``. Holds at most ``limit`` inputs; beyond that it starts again empty.
    """

    def __init__(self, model: Any, limit: int = 200_000) -> None:
        self.model = model
        self.limit = limit
        self._proba: dict[Any, np.ndarray] = {}
        self._h: dict[Any, np.ndarray] = {}
        self.asked = 0  # inputs asked for, and of those computed here: what scoring ahead saved
        self.computed = 0

    def __getattr__(self, name: str) -> Any:  # train_minority_f1, seconds, ... of the model
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    @staticmethod
    def _key(x: Any) -> Any:
        return x if isinstance(x, str) else np.asarray(x).tobytes()

    def _fill(self, X: Any, represent: bool) -> list[Any]:
        keys = [self._key(x) for x in X]
        have = self._h if represent else self._proba
        missing = list({k: i for i, k in enumerate(keys) if k not in have}.values())
        self.asked += len(keys)
        self.computed += len(missing)
        if missing:
            if len(self._proba) + len(missing) > self.limit:
                self._proba, self._h = {}, {}
            rows = take(X, np.asarray(missing, dtype=np.int64))
            both = getattr(self.model, "predict_proba_and_represent", None)
            if both is not None:  # one forward pass gives both: keep both
                proba, h = both(rows)
            elif represent:
                proba, h = self.model.predict_proba(rows), self.model.represent(rows)
            else:
                proba, h = self.model.predict_proba(rows), None
            for j, i in enumerate(missing):
                self._proba[keys[i]] = proba[j]
                if h is not None:
                    self._h[keys[i]] = h[j]
        return keys

    def predict_proba(self, X: Any) -> np.ndarray:
        keys = self._fill(X, represent=False)
        return np.stack([self._proba[k] for k in keys]) if keys else self.model.predict_proba(X)

    def represent(self, X: Any) -> np.ndarray:
        keys = self._fill(X, represent=True)
        return np.stack([self._h[k] for k in keys]) if keys else self.model.represent(X)

    def predict_proba_and_represent(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        keys = self._fill(X, represent=True)
        if not keys:
            return self.predict_proba(X), self.represent(X)
        return np.stack([self._proba[k] for k in keys]), np.stack([self._h[k] for k in keys])

    def remember(self, X: Any, checkpoint: Callable[[], None] | None = None, chunk: int = 64) -> None:
        """Score ``X`` now, ``chunk`` inputs at a time, calling ``checkpoint()`` between chunks."""
        for start in range(0, len(X), chunk):
            if checkpoint is not None:
                checkpoint()
            self._fill(X[start : start + chunk], represent=True)

    def __len__(self) -> int:
        return len(self._proba)


def make_learner(name: str | object = "logreg", **kwargs: Any) -> Any:
    """A learner by name (``"logreg"`` or ``"transformer"``) or an object passed through."""
    if not isinstance(name, str):
        return name
    if name == "logreg":
        return EmbeddingClassifier(**kwargs)
    if name == "transformer":
        from .transformer import TransformerClassifier  # torch is imported only for it

        return TransformerClassifier(**kwargs)
    raise InputError(f"unknown learner {name!r}; use 'logreg', 'transformer' or a learner object")
