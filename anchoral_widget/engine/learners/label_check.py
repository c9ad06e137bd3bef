"""Which labels are probably wrong: confident learning's label quality and thresholds (Northcutt,
Jiang & Chuang, JAIR 2021) on out-of-fold probabilities, written on scikit-learn's folds and the
project's learners.

Every labelled item is scored by models that did not see it (k-fold): by default the mean of two
that err differently, a logistic regression on an RBF kernel's features (Nystroem) and a vote of
the 5 nearest labelled items (as in deep kNN, Bahri et al. 2020). A session's labels crowd where
the classes meet, and there a straight boundary doubts many right labels: against the plain
logistic regression beside the same vote, the kernel raised the average precision of planted
wrong labels on AnchorAL's labelled sets of icd10-eye from 0.59 to 0.69 (1%) and from 0.69 to
0.75 (0.1%), lost nothing on tweets or on random sets (10 seeds, `benchmarks/label_check.py`
compares both), and costs linear time in the labels. Given the texts, two models that read them
join the pair, each counting as much as it (:class:`TextsClassifier` on the words and word
pairs, and on the characters within words: :func:`text_views`): a wrong label that MiniLM's
vectors place among its class's neighbours often still says a word of its true class. On
AnchorAL's labelled sets they raised the average precision from 0.69 to 0.82 on icd10-eye at 1%
and from 0.75 to 0.81 at 0.1% (10 seeds, `benchmarks/label_check.py`), left tweets level (0.33, 0.62),
and cost 0.003-0.017 on uniform random sets (n.s.). The review order is by quality, the
out-of-fold probability of the label given (self-confidence), least first. Each class gets a threshold, the
mean probability its own items give it; an item is *flagged* when the models prefer another
class and its label's probability is under its class's threshold (cleanlab's "both" filter).
Confident learning's own flag (the most probable class among those at or above their
thresholds) flagged 6-14 labels for each planted one on sets with a rare class. Each class's
*separation* (ROC AUC of its out-of-fold probability between its labels and the rest) says how
far the doubts can be trusted: low where the models cannot see the class, or where many of its
labels are wrong.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..search.exact import unit_rows
from .estimates import DEFAULT_FOLDS, out_of_fold_proba
from .learner import EmbeddingClassifier, blas_controller, over_all_classes

CHECK_C = 10.0  # the linear check's: less regularised than the loop's learner, its probabilities separate more
VOTERS = 5
KERNEL_C = 100.0
KERNEL_GAMMA = 1.0  # on unit-length rows: exp(-2 (1 - cosine))
KERNEL_FEATURES = 400
TEXTS_C = 10.0
WEAK_SEPARATION = 0.75  # see LabelCheck.separation and benchmarks/label_check.py
# a label's doubt depends on which labels share its fold: averaged over three splits, the planted
# wrong labels' average precision rose on every session set (20 seeds, benchmarks/label_check.py)
REPEATS = 3
SPLIT_STRIDE = 7919  # the seeds of a check's splits: seed, seed + stride, ...


class KernelClassifier:
    """Class-weighted logistic regression on RBF kernel features of the unit-length rows
    (Nystroem's approximation: ``features`` landmarks drawn from the training rows), so that it
    fits a curved boundary and its cost grows linearly with the labels."""

    def __init__(self, C: float = KERNEL_C, gamma: float = KERNEL_GAMMA, features: int = KERNEL_FEATURES) -> None:
        self.C, self.gamma, self.features = C, gamma, features

    def fit(self, X: Any, y: np.ndarray, n_classes: int, seed: int = 0) -> _FittedLogistic:
        from sklearn.kernel_approximation import Nystroem

        rows = unit_rows(X)
        kernel = Nystroem(gamma=self.gamma, n_components=min(self.features, len(rows)), random_state=seed)
        return _fit_balanced(kernel.fit_transform(rows), y, n_classes, self.C, seed, kernel)


class TextsClassifier:
    """Class-weighted logistic regression on sparse tf-idf rows of the texts (see
    :func:`text_views`): it sees what the texts say rather than where MiniLM puts them."""

    def __init__(self, C: float = TEXTS_C) -> None:
        self.C = C

    def fit(self, X: Any, y: np.ndarray, n_classes: int, seed: int = 0) -> _FittedLogistic:
        return _fit_balanced(X, y, n_classes, self.C, seed)


def _fit_balanced(
    features: Any, y: np.ndarray, n_classes: int, C: float, seed: int, kernel: Any = None
) -> _FittedLogistic:
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(y, dtype=np.int64)
    present = np.unique(labels)
    if len(present) == 1:
        return _FittedLogistic(None, present, n_classes, kernel)
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
    with blas_controller().limit(limits=1, user_api="blas"):
        clf.fit(features, labels)
    return _FittedLogistic(clf, clf.classes_, n_classes, kernel)


class _FittedLogistic:
    """A logistic regression's probabilities over every class, on the rows themselves or on
    ``kernel``'s features of their unit-length rows; one class seen in training: that one, surely."""

    def __init__(self, clf: Any, present: np.ndarray, n_classes: int, kernel: Any = None) -> None:
        self.clf, self.present, self.n_classes, self.kernel = clf, present, n_classes, kernel

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.clf is None:
            return over_all_classes(np.ones((X.shape[0], 1)), self.present, self.n_classes)
        features = X if self.kernel is None else self.kernel.transform(unit_rows(X))
        return over_all_classes(self.clf.predict_proba(features), self.present, self.n_classes)


def text_views(texts: Sequence[str | None]) -> list[Any]:
    """Sparse tf-idf rows of the texts' words and word pairs, and of their characters within words
    (2 to 5), the vocabulary and weights taken from these texts alone (no label): every held-out
    text's words are known to the folds that score it. A view the texts give nothing to is left out."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    said = ["" if t is None else str(t) for t in texts]
    views = []
    for vectorizer in (
        TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)),
        TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(2, 5)),
    ):
        with contextlib.suppress(ValueError):  # an empty vocabulary: nothing for this view's model to read
            views.append(vectorizer.fit_transform(said))
    return views


class NeighbourVote:
    """A learner whose probability of a class is its share among the item's nearest labelled items."""

    def __init__(self, k: int = VOTERS) -> None:
        self.k = k

    def fit(self, X: Any, y: np.ndarray, n_classes: int, seed: int = 0) -> _FittedVote:
        from sklearn.neighbors import NearestNeighbors

        rows = np.asarray(X, dtype=np.float32)
        return _FittedVote(NearestNeighbors(n_neighbors=min(self.k, len(rows))).fit(rows), np.asarray(y), n_classes)


class _FittedVote:
    def __init__(self, index: Any, y: np.ndarray, n_classes: int) -> None:
        self.index, self.y, self.n_classes = index, y, n_classes

    def predict_proba(self, X: Any) -> np.ndarray:
        _, near = self.index.kneighbors(np.asarray(X, dtype=np.float32))
        votes = self.y[near]
        return np.stack([(votes == c).mean(axis=1) for c in range(self.n_classes)], axis=1)


class Pair:
    """The mean of two learners' probabilities."""

    def __init__(self, first: Any, second: Any) -> None:
        self.first, self.second = first, second

    def fit(self, X: Any, y: np.ndarray, n_classes: int, seed: int = 0) -> _FittedPair:
        return _FittedPair(self.first.fit(X, y, n_classes, seed), self.second.fit(X, y, n_classes, seed))


class _FittedPair:
    def __init__(self, first: Any, second: Any) -> None:
        self.first, self.second = first, second

    def predict_proba(self, X: Any) -> np.ndarray:
        first, second = np.asarray(self.first.predict_proba(X)), np.asarray(self.second.predict_proba(X))
        return np.asarray((first + second) / 2)


def default_checker() -> Pair:
    return Pair(KernelClassifier(), NeighbourVote())


def linear_checker() -> Pair:
    """The check before the kernel: a plain logistic regression beside the neighbours' vote."""
    return Pair(EmbeddingClassifier(C=CHECK_C), NeighbourVote())


@dataclass(frozen=True)
class LabelCheck:
    """The labelled items in review order (least probable label first).

    ``order`` indexes the labels given to :func:`check_labels`; ``quality`` is the out-of-fold
    probability of the given label, ``suggested`` the most probable class, ``flagged`` whether
    it differs and the label's probability is under its class's threshold. ``thresholds``: per
    class, the mean out-of-fold probability of that class over its own items.
    """

    order: np.ndarray
    quality: np.ndarray
    suggested: np.ndarray
    flagged: np.ndarray
    thresholds: np.ndarray
    folds: int
    unchecked: np.ndarray  # items of classes with too few labels to hold out: never flagged
    # per class, how well the out-of-fold probabilities tell its labels from the rest (ROC AUC,
    # NaN where a side is empty): near 0.5 the models cannot see the class (sentiment on MiniLM's
    # vectors: about 0.6) and their doubts are guesses, or many of its labels are wrong
    separation: np.ndarray = field(default_factory=lambda: np.empty(0))

    def weak_classes(self, below: float = WEAK_SEPARATION) -> list[int]:
        """The classes whose labels the models tell from the rest with a ROC AUC under ``below``."""
        return [c for c, auc in enumerate(self.separation.tolist()) if auc == auc and auc < below]

    @property
    def flagged_order(self) -> np.ndarray:
        return np.asarray(self.order[self.flagged[self.order]])


def check_labels(
    X: Any,
    y: Sequence[int] | np.ndarray,
    n_classes: int,
    *,
    learner: Any = None,
    texts: Sequence[str | None] | None = None,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    repeats: int = REPEATS,
) -> LabelCheck:
    """Rank labelled items (rows of ``X``, class indices ``y``) by how likely their label is wrong.

    ``texts`` (one per item): the texts' models (:class:`TextsClassifier` on each of
    :func:`text_views`) join ``learner`` on the same folds, every model's probabilities averaged.
    ``repeats``: how many different splits into folds (the first ``seed``'s) the out-of-fold
    probabilities are averaged over."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    labels = np.asarray(y, dtype=np.int64)
    if labels.ndim != 1 or (len(labels) and (labels.min() < 0 or labels.max() >= n_classes)):
        raise ValueError(f"labels must be class indices in [0, {n_classes}), one per item")
    if texts is not None and len(texts) != len(labels):
        raise ValueError(f"texts must be one per label: {len(texts)} texts for {len(labels)} labels")
    learner = default_checker() if learner is None else learner
    views = None
    proba = np.zeros((len(labels), n_classes))
    for split in range(repeats):
        at = seed + SPLIT_STRIDE * split
        read, k, checked = out_of_fold_proba(X, labels, n_classes, learner=learner, folds=folds, seed=at)
        if views is None:
            views = [] if texts is None or not checked.any() else text_views(texts)
        for view in views:  # the same folds: the fold split depends on the labels and the seed alone
            read = read + out_of_fold_proba(view, labels, n_classes, learner=TextsClassifier(), folds=folds, seed=at)[0]
        proba = proba + read / (1 + len(views))
    proba = proba / repeats
    thresholds = np.full(n_classes, np.nan)
    for c in range(n_classes):
        own = checked & (labels == c)
        if own.any():
            thresholds[c] = proba[own, c].mean()
    quality = np.ones(len(labels))
    suggested = labels.copy()
    rows = np.flatnonzero(checked)
    quality[rows] = proba[rows, labels[rows]]
    suggested[rows] = proba[rows].argmax(axis=1)
    below = np.zeros(len(labels), dtype=bool)
    below[rows] = quality[rows] < thresholds[labels[rows]]
    flagged = (suggested != labels) & below
    order = np.lexsort((np.arange(len(labels)), quality))  # ties by position: a stable order
    separation = class_separation(proba[rows], labels[rows], n_classes)
    return LabelCheck(order, quality, suggested, flagged, thresholds, k, np.flatnonzero(~checked), separation)


def class_separation(proba: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per class, the ROC AUC of its probability between the items labelled with it and the rest
    (the labels given, most of them right); NaN where either side is empty."""
    from sklearn.metrics import roc_auc_score

    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        own = labels == c
        if own.any() and not own.all():
            out[c] = roc_auc_score(own, proba[:, c])
    return out
