"""The :class:`Dataset` value (a labelled pool and a held-out test set) and how every dataset is
finished: rare classes subsampled to their share, an optional size cap, and a stratified split,
all from one seeded generator (:func:`finish`). :mod:`.datasets` builds the bundled datasets and
a user's own tables with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .sampling import make_rare, stratified_take

#: Share of the pool given to each rare class in the built-in imbalanced datasets.
RARE_SHARE = 0.01


@dataclass
class Dataset:
    """A labelled pool and a held-out test set.

    ``labels`` and ``test_labels`` are arrays of class names (strings); ``classes`` lists every
    class in sorted order, and the integer views ``y`` / ``y_test`` / ``minority_ids`` index it.
    """

    name: str
    texts: list[str]
    labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray
    classes: list[str]
    minority: list[str]
    description: str

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise InputError(f"{self.name}: {len(self.texts)} texts but {len(self.labels)} labels")
        if len(self.test_texts) != len(self.test_labels):
            raise InputError(f"{self.name}: {len(self.test_texts)} test texts but {len(self.test_labels)} test labels")
        known = set(self.classes)
        unknown = sorted((set(self.labels.tolist()) | set(self.test_labels.tolist())) - known)
        if unknown:
            raise InputError(f"{self.name}: labels {unknown} are not among classes {self.classes}")
        bad = [m for m in self.minority if m not in known]
        if bad:
            raise InputError(f"{self.name}: minority {bad} not among classes {self.classes}")

    @property
    def y(self) -> np.ndarray:
        """Pool labels as indices into ``classes``."""
        return _to_ids(self.labels, self.classes)

    @property
    def y_test(self) -> np.ndarray:
        """Test labels as indices into ``classes``."""
        return _to_ids(self.test_labels, self.classes)

    @property
    def minority_ids(self) -> list[int]:
        """Indices of the minority classes in ``classes``."""
        return [self.classes.index(m) for m in self.minority]

    @property
    def minority_share(self) -> float:
        """Fraction of the pool whose label is a minority class."""
        if len(self.labels) == 0:
            return float("nan")
        return float(np.isin(self.labels, self.minority).mean())

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, pool={len(self.texts)}, test={len(self.test_texts)}, "
            f"classes={len(self.classes)}, minority={self.minority}, "
            f"minority_share={self.minority_share:.4f})"
        )


def _to_ids(labels: np.ndarray, classes: list[str]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    return np.fromiter((lookup[x] for x in labels.tolist()), dtype=np.int64, count=len(labels))


# --------------------------------------------------------------------------------------------
# Cleaning, rare-class subsampling and stratified splitting
# --------------------------------------------------------------------------------------------


def finish(
    name: str,
    texts: list[str],
    labels: list[str],
    *,
    minority: Sequence[str],
    description: str,
    seed: int,
    test_size: float,
    max_size: int | None,
    rare: Sequence[str] = (),
    share: float = RARE_SHARE,
    shuffle: bool = True,
) -> Dataset:
    """Rare-class subsampling, optional size cap and a stratified split, all from one generator."""
    check_split_args(test_size, max_size)
    rng = np.random.default_rng(seed)
    text_arr = np.asarray(texts, dtype=object)
    label_arr = np.asarray(labels, dtype=str)
    classes = sorted(set(label_arr.tolist()))

    if rare:
        keep = make_rare(label_arr, rare, share, rng)
        text_arr, label_arr = text_arr[keep], label_arr[keep]

    n = len(label_arr)
    n_test = round(n * test_size)
    if max_size is not None and n - n_test > max_size:
        n_test = round(max_size * test_size / (1 - test_size))
        keep = stratified_take(label_arr, max_size + n_test, rng)
        text_arr, label_arr = text_arr[keep], label_arr[keep]

    # the pool is drawn first so that, in a tiny sample, a rare class keeps its item in the pool
    pool_idx = stratified_take(label_arr, len(label_arr) - n_test, rng)
    in_pool = np.zeros(len(label_arr), dtype=bool)
    in_pool[pool_idx] = True
    test_idx = np.flatnonzero(~in_pool)
    if shuffle:  # a source grouped by class would otherwise show its order in the pool
        pool_idx, test_idx = rng.permutation(pool_idx), rng.permutation(test_idx)
    return Dataset(
        name=name,
        texts=text_arr[pool_idx].tolist(),
        labels=label_arr[pool_idx],
        test_texts=text_arr[test_idx].tolist(),
        test_labels=label_arr[test_idx],
        classes=classes,
        minority=list(minority),
        description=description,
    )


def check_split_args(test_size: float, max_size: int | None) -> None:
    if not (isinstance(test_size, (int, float)) and 0 <= test_size < 1):
        raise InputError(f"test_size must be a fraction in [0, 1), got {test_size!r}")
    if max_size is not None and (not isinstance(max_size, (int, np.integer)) or max_size < 1):
        raise InputError(f"max_size must be a positive integer or None, got {max_size!r}")


def clean_note(stats: dict) -> str:
    return (
        f"Cleaned: {stats['duplicates']} exact duplicate texts kept once, "
        f"{stats['conflicting']} texts with conflicting labels and {stats['empty']} empty texts "
        f"dropped ({stats['kept']} distinct texts left)."
    )
