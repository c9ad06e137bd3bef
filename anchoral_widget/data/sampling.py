"""Cleaning and sampling labelled text: exact duplicates kept once, rare classes subsampled to
a share, stratified draws. Every random choice comes from the generator passed in."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InputError


def clean(texts: Iterable, labels: Iterable) -> tuple[list[str], list[str], dict]:
    """Strip, drop empty texts, keep each distinct text once; drop texts with conflicting labels."""
    first: dict[str, str] = {}
    conflicting: set[str] = set()
    n_in = n_empty = 0
    for text, label in zip(texts, labels):
        n_in += 1
        if not isinstance(text, str) or not text.strip():
            n_empty += 1
            continue
        text = text.strip()
        seen = first.get(text)
        if seen is None:
            first[text] = label
        elif seen != label:
            conflicting.add(text)
    kept = [(t, lab) for t, lab in first.items() if t not in conflicting]
    stats = {
        "rows": n_in,
        "empty": n_empty,
        "duplicates": n_in - n_empty - len(first),
        "conflicting": len(conflicting),
        "kept": len(kept),
    }
    return [t for t, _ in kept], [lab for _, lab in kept], stats


def allocate(counts: np.ndarray, n: int) -> np.ndarray:
    """Split ``n`` over classes in proportion to ``counts`` (largest remainder), at least one per
    class while ``n`` allows, never more than a class holds."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if n >= total:
        return counts.copy()
    exact = counts * (n / total)
    take = np.floor(exact).astype(np.int64)
    # a class present in the data should stay present in a small sample when it can
    if n >= np.count_nonzero(counts):
        take = np.maximum(take, (counts > 0).astype(np.int64))
    # largest remainders first; ties broken by class order so the result is deterministic
    remainder = exact - np.floor(exact)
    order = np.lexsort((np.arange(len(counts)), -remainder))
    while take.sum() < n:
        for c in order:
            if take.sum() >= n:
                break
            if take[c] < counts[c]:
                take[c] += 1
    while take.sum() > n:  # only when the at-least-one rule overshot: trim the largest classes
        c = int(np.argmax(take))
        take[c] -= 1
    return take


def stratified_take(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a stratified random sample of size ``n`` (sorted)."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    take = allocate(counts, n)
    chosen = []
    for c in range(len(classes)):
        members = np.flatnonzero(inverse == c)
        chosen.append(rng.choice(members, size=int(take[c]), replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def make_rare(labels: np.ndarray, rare: Sequence[str], share: float, rng: np.random.Generator) -> np.ndarray:
    """Indices (sorted) of a subsample where each class in ``rare`` makes up ``share`` of it.

    Rare classes are subsampled; when one is too small to reach the share, the other classes are
    subsampled instead, so the promised share holds either way.
    """
    rare = list(rare)
    if share * len(rare) >= 1:
        raise InputError(f"{len(rare)} rare classes at share {share} leave nothing for the others")
    is_rare = np.isin(labels, rare)
    n_rest = int((~is_rare).sum())
    ratio = share / (1 - share * len(rare))  # rare items per non-rare item
    for c in rare:
        n_c = int((labels == c).sum())
        if n_c == 0:
            raise InputError(f"rare class {c!r} has no items")
        n_rest = min(n_rest, math.floor(n_c / ratio))
    keep_rest = rng.choice(np.flatnonzero(~is_rare), size=n_rest, replace=False)
    parts = [keep_rest]
    for c in rare:
        members = np.flatnonzero(labels == c)
        parts.append(rng.choice(members, size=max(1, round(ratio * n_rest)), replace=False))
    return np.sort(np.concatenate(parts))
