"""The teaching replay: run the loop with an oracle for several pool filters on the same data,
initial set and seed, and replay them side by side.

Every filter starts from the same labelled items, so whatever differs later comes from the
filter alone: where its subpools lie, which items the strategy then picks, and which pick the
next ones depend on. That is path dependence, and with ``groups`` (the toy's clusters) the
replay counts how many minority clusters no initial label touched each filter has found.

:func:`compare` runs them (``aw.compare``) and returns a :class:`Comparison`
(:mod:`.comparison`), whose views are

- :meth:`Comparison.replay`: every run's map and the progress curves in one figure, moved
  together by an iteration slider (a teacher's view);
- :meth:`Comparison.inspect`: one run's map at any iteration, whose points tell all about
  themselves on hover and click, and :meth:`~Comparison.anchors_table`,
  :meth:`~Comparison.subpool_table`, :meth:`~Comparison.batch_table` (a researcher's view);
- :meth:`Comparison.summary` and :meth:`Comparison.describe`: what each run found, as a table
  and in words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..engine.learners.estimates import cross_validated_f1
from ..engine.loop.active import ActiveLoop
from ..engine.pool import Pool, learner_reads_texts
from ..errors import InputError
from ..views.projection import Projection
from .comparison import Comparison, Run
from .simulation import initial_sample


def compare(
    embeddings: np.ndarray,
    labels: Sequence | np.ndarray,
    *,
    classes: Sequence | None = None,
    minority: Sequence | None = None,
    filters: Sequence[str] = ("anchoral", "randsub", "none"),
    budget: int = 200,
    initial_ids: Sequence[int] | np.ndarray | None = None,
    initial_size: int = 100,
    per_minority_class: int = 5,
    seed: int = 0,
    test: tuple | None = None,
    texts: Sequence[str] | None = None,
    coords: np.ndarray | None = None,
    groups: Sequence[int] | None = None,
    subpool_size: int | dict | None = 1000,
    outside_sample: int | None = 0,
    estimate_f1: bool = True,
    projection: Projection | None = None,
    progress: bool = False,
    **loop_kwargs,
) -> Comparison:
    """Simulate the loop once per pool filter, with an oracle, from the same start.

    Parameters
    ----------
    embeddings : (n, d) array; labels : every pool item's true class name (the oracle).
    classes : default the sorted distinct labels. minority : default every class but the most
        frequent one.
    filters : pool filters to compare.
    budget : items each run labels after the initial set.
    initial_ids : the initial labelled set; default ``initial_sample(labels, minority,
        initial_size, per_minority_class, seed)`` (the paper's).
    test : (X, y) held-out set, evaluated every iteration; without it, with ``estimate_f1``,
        each iteration gets a cross-validated F1 estimate on its labelled set.
    texts : the pool's texts, for hover text (and for learners that read text).
    coords : (n, 2) positions for the map (the toy's); default a UMAP :class:`Projection`
        (fitted on first use of a map), or ``projection`` if given.
    groups : a group id per item (the toy's clusters; -1 for none): the replay counts the
        groups with no initial label ("hidden") that each run has found.
    subpool_size : M for every filter (default 1,000 for all, so that only how the subpool is
        chosen differs), a dict filter -> M, or None for the loop's defaults.
    outside_sample : items AnchorAL draws from beyond its anchors' neighbourhoods into each
        subpool (default 0, the paper's filter: every filter chooses among M items; None: the
        session's default).
    **loop_kwargs : passed to every :class:`ActiveLoop` (strategy, batch_size, learner, ...).
    """
    labels = np.asarray(labels, dtype=object)
    if len(labels) != len(embeddings):
        raise InputError(f"{len(labels)} labels but {len(embeddings)} embeddings")
    if not filters:
        raise InputError("give at least one pool filter")
    values, counts = np.unique(labels, return_counts=True)
    classes = sorted(values.tolist()) if classes is None else list(classes)
    if minority is None:
        minority = [c for c in classes if c != values[np.argmax(counts)]]
    minority = list(minority)
    if initial_ids is None:
        initial_ids = initial_sample(labels, minority, initial_size, per_minority_class, seed)
    initial_ids = np.asarray(initial_ids, dtype=np.int64)
    # One pool shared by every run: one index, one fingerprint, one copy of the texts.
    pool = Pool(
        embeddings,
        texts,
        index=loop_kwargs.pop("index", "auto"),
        seed=seed,
        cache_dir=loop_kwargs.pop("cache_dir", None),
    )
    runs = {}
    for name in filters:
        size = subpool_size.get(name) if isinstance(subpool_size, dict) else subpool_size
        if size is not None:
            size = min(size, len(labels) - len(initial_ids))
        outside = outside_sample if name == "anchoral" else None  # the others have no subpool to add to
        loop = ActiveLoop(
            pool,
            classes,
            minority,
            pool_filter=name,
            subpool_size=size,
            outside_sample=outside,
            seed=seed,
            test=test,
            **loop_kwargs,
        )
        loop.label(initial_ids, labels[initial_ids])
        loop.simulate(labels, budget, progress=progress)
        runs[name] = Run(name, loop, initial_ids)
    if test is None and estimate_f1:
        for run in runs.values():
            _estimate_f1(run, labels)
    if projection is None and coords is not None:
        projection = Projection.from_coords(coords)
    return Comparison(runs, labels, classes, minority, projection=projection, groups=groups, texts=texts, seed=seed)


def _estimate_f1(run: Run, labels: np.ndarray) -> None:
    """Each record gets the CV F1 of the labelled set its model was trained on."""
    loop = run.loop
    learner = None if learner_reads_texts(loop.learner) else loop.learner
    features = loop.embeddings
    for t, record in enumerate(loop.history):
        ids = run.labelled_before(t)
        y = loop.class_indices(labels[ids])
        record.extra["f1_estimate"] = cross_validated_f1(
            features[ids],
            y,
            loop.minority_indices,
            len(loop.classes),
            learner=learner,
            seed=loop.seed,
            class_names=loop.classes,
        )
