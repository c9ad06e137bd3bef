"""Learners: what the loop trains on the labelled set each iteration.

A learner's ``fit(X, y, n_classes, seed)`` returns a fresh fitted model (re-initialised every
iteration, as in the paper) with ``predict_proba(X) -> (n, n_classes)`` and
``represent(X) -> (n, d)``, the representation h(x) that feeds the last layer (BADGE,
FT-BERTKM). ``inputs`` says what X is: ``"embeddings"`` (rows of the pool's embeddings) or
``"texts"`` (a list of strings). A fit may also take the keywords ``minority``, ``init`` and
``checkpoint``; :func:`fit_learner` passes those it takes.

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
    """Rows ``ids`` of an embeddings array or a list of texts."""
    if isinstance(features, np.ndarray):
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

    def proba_and_represent(self, ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """Both at once: one forward pass for a model that can (a transformer), two otherwise."""
        both = getattr(self.model, "predict_proba_and_represent", None)
        if both is None:
            return self.proba(ids), self.represent(ids)
        ids = np.asarray(ids, dtype=np.int64)
        parts = [both(take(self._features, ids[s : s + self._chunk])) for s in range(0, len(ids), self._chunk)]
        return np.concatenate([p for p, _ in parts]), np.concatenate([h for _, h in parts])


def _expand(probs: np.ndarray, present: np.ndarray, n_classes: int) -> np.ndarray:
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
    minority is not ignored. h(x) is the embedding itself."""

    inputs = "embeddings"

    def __init__(self, C: float = 1.0, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> Any:
        from sklearn.linear_model import LogisticRegression

        y = check_training_set(X, y, n_classes)
        present = np.unique(y)
        if len(present) == 1:
            return _ConstantModel(int(present[0]), n_classes, lambda X: np.asarray(X, dtype=np.float32))
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight="balanced", random_state=seed)
        with blas_controller().limit(limits=1, user_api="blas"):
            clf.fit(X, y)
        return _FittedEmbeddingClassifier(clf, n_classes)


class _FittedEmbeddingClassifier:
    def __init__(self, clf: Any, n_classes: int) -> None:
        self.clf = clf
        self.n_classes = n_classes

    def predict_proba(self, X: Any) -> np.ndarray:
        return _expand(self.clf.predict_proba(X), self.clf.classes_, self.n_classes)

    def represent(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)


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
