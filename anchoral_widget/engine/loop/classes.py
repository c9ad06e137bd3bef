"""The loop's classes: their names (each once), an index for each, and which are the minority
(given, or every class but the most frequent labelled one)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ...errors import InputError


class Classes:
    """Class names and their indices; ``minority`` names the minority classes, if given."""

    def __init__(self, names: Iterable[Any], minority: Iterable[Any] | None = None) -> None:
        self.names = check_classes(names)
        self._index = {c: i for i, c in enumerate(self.names)}
        self._minority_given = None if minority is None else self.indices(minority, what="minority class")

    def indices(self, names: Iterable[Any], *, what: str = "label") -> np.ndarray:
        """The class index of each class name; an InputError names one that is not a class."""
        values = list(names) if not isinstance(names, (str, bytes)) else [names]
        out = np.empty(len(values), dtype=np.int64)
        for i, name in enumerate(values):
            key = name.item() if isinstance(name, np.generic) else name
            if key not in self._index:
                raise InputError(f"{what} {key!r} is not among the classes {self.names}")
            out[i] = self._index[key]
        return out

    def minority_indices(self, labelled: np.ndarray) -> set[int]:
        """The minority classes' indices, given the labelled items' class indices."""
        if self._minority_given is not None:
            return set(int(c) for c in self._minority_given)
        counts = np.bincount(labelled, minlength=len(self.names))
        if counts.sum() == 0:
            return set(range(len(self.names)))
        return set(range(len(self.names))) - {int(counts.argmax())}

    def counts(self, labelled: np.ndarray) -> dict[Any, int]:
        """Class name -> how many of the labelled items (class indices) it has."""
        counts = np.bincount(labelled, minlength=len(self.names))
        return {c: int(k) for c, k in zip(self.names, counts)}


def check_classes(classes: Iterable[Any]) -> list[Any]:
    """At least two class names, each once, as plain Python values."""
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
