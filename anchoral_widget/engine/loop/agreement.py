"""How far the people labelling one pool agree, on the items two or more of them answered (the
overlap a team asks for, or two answers given at once): Cohen's kappa for each pair of people,
Fleiss' kappa over everyone, and the conflicts, items whose answers differ and that no one has
resolved yet (a ``resolve`` call: a decision of its own, logged)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from ..learners.metrics import cohen_kappa
from .labelled import LabelledSet


@dataclass
class Agreement:
    """Agreement on the items answered by two people or more.

    ``answers``: item -> {annotator: class name}, first answers first. ``cohen``: (annotator,
    annotator) -> kappa on the items both answered (pairs with at least ``MIN_SHARED`` items).
    ``fleiss``: Fleiss' kappa (items with any number of answers, two or more), NaN with fewer
    than two items. ``conflicts``: items answered differently and not resolved since, oldest first.
    """

    answers: dict[int, dict[str, Any]]
    cohen: dict[tuple[str, str], float] = field(default_factory=dict)
    fleiss: float = float("nan")
    conflicts: list[int] = field(default_factory=list)

    @property
    def items(self) -> int:
        return len(self.answers)

    def __str__(self) -> str:
        if not self.answers:
            return "no item answered by two people yet: ask for overlap=0.1 to measure agreement"
        pairs = ", ".join(f"{a} & {b}: {k:.2f}" for (a, b), k in sorted(self.cohen.items()))
        return (
            f"{self.items} items answered by two people or more; Fleiss' kappa {self.fleiss:.2f}"
            + (f"; Cohen's kappa {pairs}" if pairs else "")
            + f"; {len(self.conflicts)} {'conflict' if len(self.conflicts) == 1 else 'conflicts'} to resolve"
        )


MIN_SHARED = 2


def agreement(labelled: LabelledSet, class_names: list[Any]) -> Agreement:
    """The agreement of everyone who answered items of ``labelled`` (a person counted once per item)."""
    answers: dict[int, dict[str, int]] = {}
    for item, later in labelled.opinions.items():
        if not later or item not in labelled.first:
            continue
        who, first = labelled.first[item]
        given = {who: first}
        for annotator, cls in later:
            given.setdefault(annotator, cls)
        if len(given) > 1:
            answers[item] = given
    resolved = {i for e in labelled.events if e.kind == "resolve" for i in e.ids.tolist()}
    conflicts = [i for i, given in answers.items() if len(set(given.values())) > 1 and i not in resolved]
    names = {i: {a: class_names[c] for a, c in given.items()} for i, given in answers.items()}
    return Agreement(names, _cohen(answers), _fleiss(answers, len(class_names)), sorted(conflicts))


def _cohen(answers: dict[int, dict[str, int]]) -> dict[tuple[str, str], float]:
    people = sorted({a for given in answers.values() for a in given})
    kappas = {}
    for a, b in combinations(people, 2):
        both = [(given[a], given[b]) for given in answers.values() if a in given and b in given]
        if len(both) >= MIN_SHARED:
            pairs = np.array(both)
            kappas[(a, b)] = cohen_kappa(pairs[:, 0], pairs[:, 1])
    return kappas


def _fleiss(answers: dict[int, dict[str, int]], n_classes: int) -> float:
    """Fleiss' kappa, for items with unequal numbers of answers (each item's agreement is the
    share of its pairs of answers that agree)."""
    if len(answers) < 2:
        return float("nan")
    counts = np.zeros((len(answers), n_classes))
    for row, given in enumerate(answers.values()):
        for cls, n in Counter(given.values()).items():
            counts[row, cls] = n
    raters = counts.sum(axis=1)
    observed = float(np.mean(((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))))
    shares = counts.sum(axis=0) / raters.sum()
    expected = float((shares**2).sum())
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else float("nan")
    return (observed - expected) / (1.0 - expected)
